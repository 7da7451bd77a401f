#!/bin/bash
# SPDX-License-Identifier: MIT
# make e2e: the host end to end (issue 15). A real WordPress (Debian's package, copied into
# a base branch) served to several tenants by one php-fpm master and one nginx, both started
# with the library and a host table of 1,000 lines through the kit of examples/host/, each
# tenant's PHP as its own user, nginx as www-data; MariaDB on a private socket. Everything
# lives in one temporary directory; the servers are stopped by their PIDs at the end.
#
#   E2E_KEEP=1   keep the temporary directory (and say where it is)
#   B=DIR        the build directory (build; build-san under SANITIZE=1)
# Exit status: 0 every step passed, 1 a step failed, 77 skipped (not root, or the packages
# cannot be installed).
set -u
export LC_ALL=C
umask 022
SECONDS=0

topdir=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$topdir/$B ;; esac
E2E_NAME=e2e
. "$topdir/tests/e2e/lib.sh"

e2e_packages
e2e_scratch
e2e_mariadb

# ------------------------------------------------------------------ the host
# 997 tenants of the table that no test request reaches, the 3 below make 1,000 lines
e2e_host 997
check "the base has no symbolic link left, is owned by root, 0755" \
	test -z "$(find "$BASE1" -type l | head -1)" -a "$(stat -c %u:%a "$BASE1")" = 0:755

TENANTS="aufs-wp1 aufs-wp2 aufs-wp3"
for t in $TENANTS; do e2e_tenant "$t"; done
check "the host table holds 1,000 tenant lines" \
	test "$(grep -c '^none ' "$AUFS_HOST_FSTAB")" = 1000
check "tenant-add made the branch and its uploads directory, owned by the tenant" \
	test "$(stat -c %U "$AUFS_HOST_TENANTS/aufs-wp1" "$AUFS_HOST_TENANTS/aufs-wp1/wp-content/uploads" | sort -u)" = aufs-wp1

# bad input: each refused with its own line and code, the table unchanged
refused() { # TITLE CODE PATTERN CMD...: CMD exits CODE and says PATTERN
	local t=$1 code=$2 pat=$3 rc; shift 3
	"$@" >"$T/out" 2>&1; rc=$?
	if [ $rc = "$code" ] && grep -q -- "$pat" "$T/out"; then ok "$t"
	else fail "$t (exit $rc: $(cat "$T/out"))"; fi
}
sum_fstab=$(md5sum < "$AUFS_HOST_FSTAB")
refused "tenant-add refuses a missing branch" 4 "branch $T/nowhere of tenant bad1 does not exist" \
	"$kit/tenant-add" bad1 "$T/nowhere"
mkdir -m 0700 "$T/locked"
refused "tenant-add refuses a branch its user cannot read" 5 "branch $T/locked of tenant bad2 is not readable by user bad2" \
	"$kit/tenant-add" bad2 "$T/locked"
refused "tenant-add refuses a branch inside another tenant's" 6 \
	"branch $AUFS_HOST_TENANTS/aufs-wp1/wp-content of tenant bad3 overlaps the branch $AUFS_HOST_TENANTS/aufs-wp1 of line" \
	"$kit/tenant-add" bad3 "$AUFS_HOST_TENANTS/aufs-wp1/wp-content"
refused "tenant-add refuses a tenant twice" 3 "tenant aufs-wp1 exists" "$kit/tenant-add" aufs-wp1
check "the refusals left the host table as it was" test "$(md5sum < "$AUFS_HOST_FSTAB")" = "$sum_fstab"
check "... and took back the user it made" sh -c '! id -u bad2 >/dev/null 2>&1'

( cd "$BASE1" && find . -type f -print0 | sort -z | xargs -0 sha256sum ) > "$T/base1.sum"

# ------------------------------------------------------------------ the servers
# OPcache on, every include checked against its file; mail goes nowhere, but through
# popen as on a host (the child of a worker that cleared its environment)
e2e_start_servers aufs-wp3 -d opcache.enable=1 -d opcache.validate_timestamps=1 \
	-d opcache.revalidate_freq=0 -d "sendmail_path=/bin/cat >/dev/null"

# ------------------------------------------------------------------ 1. install
for t in $TENANTS; do
	check "1. $t installs through setup-config.php and install.php" install_tenant "$t" "Blog of $t"
	check "1. $t's wp-config.php is in its branch, owned by $t" \
		test "$(stat -c %U "$AUFS_HOST_TENANTS/$t/wp-config.php" 2>/dev/null)" = "$t"
done
check "1. nothing landed in the base" test ! -e "$BASE1/wp-config.php"

# ------------------------------------------------------------------ 2. front page, asset
for t in $TENANTS; do
	get "$t" / -o "$T/front.$t" -w '%{http_code}' > "$T/code.$t"
	check "2. $t's front page: 200 with its own title" \
		grep -q "<title>Blog of $t" "$T/front.$t"
	check "2. ... status 200" test "$(cat "$T/code.$t")" = 200
	check "2. $t's static asset through nginx: 200, the base's bytes" \
		cmp -s <(get "$t" /wp-includes/css/dashicons.min.css) "$BASE1/wp-includes/css/dashicons.min.css"
done

# ------------------------------------------------------------------ 3. upload
php -r '$i = new Imagick(); $i->newImage(640, 480, new ImagickPixel("#3366cc"));
	$i->setImageFormat("png"); file_put_contents($argv[1], $i->getImageBlob());' "$T/e2e-photo.png"
upload() { # NAME FILE: the REST API's media endpoint, as the block editor does
	local nonce
	nonce=$(get "$1" "/wp-admin/admin-ajax.php?action=rest-nonce")
	get "$1" "/?rest_route=/wp/v2/media" -o "$T/upload.$1" -H "X-WP-Nonce: $nonce" \
		-H "Content-Disposition: attachment; filename=e2e-photo.png" -H "Content-Type: image/png" \
		--data-binary "@$2" -w '%{http_code}'
}
check "3. aufs-wp1's admin logs in" login aufs-wp1
rc=$(upload aufs-wp1 "$T/e2e-photo.png")
check "3. the REST upload of a PNG: 201 ($rc)" test "$rc" = 201
ym=$(date +%Y/%m)
updir=$AUFS_HOST_TENANTS/aufs-wp1/wp-content/uploads/$ym
check "3. the image and its thumbnails are in aufs-wp1's branch" \
	test -f "$updir/e2e-photo.png" -a -f "$updir/e2e-photo-150x150.png" -a -f "$updir/e2e-photo-300x225.png"
check "3. ... owned by aufs-wp1" \
	test "$(stat -c %U "$updir" "$updir"/e2e-photo* | sort -u)" = aufs-wp1
# the editor WordPress chose for the upload, asked of WordPress in the same pool
install -m 0644 -o aufs-wp1 -g aufs-wp1 /dev/stdin "$AUFS_HOST_TENANTS/aufs-wp1/e2e-editor.php" <<'PHP'
<?php require __DIR__ . '/wp-load.php'; echo _wp_image_editor_choose( array( 'mime_type' => 'image/png' ) );
PHP
check "3. ... made by WordPress's Imagick editor" \
	test "$(get aufs-wp1 /e2e-editor.php)" = WP_Image_Editor_Imagick
check "3. nothing of it in the other branches nor in the base" \
	test -z "$(find "$AUFS_HOST_TENANTS/aufs-wp2" "$AUFS_HOST_TENANTS/aufs-wp3" "$BASE1" -name 'e2e-photo*')"
served=$(for _ in $(seq 8); do code aufs-wp1 "/wp-content/uploads/$ym/e2e-photo-150x150.png"; echo; done | sort -u)
check "3. nginx serves the thumbnail to aufs-wp1 at once, on every request ($served)" test "$served" = 200
check "3. ... and the bytes are the branch's" \
	cmp -s <(get aufs-wp1 "/wp-content/uploads/$ym/e2e-photo.png") "$updir/e2e-photo.png"
check "3. aufs-wp2 gets 404 for it" \
	test "$(code aufs-wp2 "/wp-content/uploads/$ym/e2e-photo.png")" = 404


# ------------------------------------------------------------------ 4. plugin zip
mkdir -p "$T/plugin/e2e-hello"
cat > "$T/plugin/e2e-hello/e2e-hello.php" <<'PHP'
<?php
/*
 * Plugin Name: E2E Hello
 * Description: Marks the footer of the site that activated it.
 * Version: 1.0
 */
add_action( 'wp_footer', function () { echo '<!-- e2e-plugin-active -->'; } );
PHP
( cd "$T/plugin" && python3 -c 'import sys, zipfile
z = zipfile.ZipFile("e2e-hello.zip", "w")
z.write("e2e-hello/"); z.write("e2e-hello/e2e-hello.php"); z.close()' )
install_plugin() { # NAME ZIP: the admin's upload form, then the activation link it gives
	local nonce link
	get "$1" "/wp-admin/plugin-install.php?tab=upload" -o "$T/pi.$1"
	nonce=$(sed -n '/upload-plugin/,$p' "$T/pi.$1" | grep -o 'name="_wpnonce" value="[^"]*"' | head -1 | cut -d'"' -f4)
	[ -n "$nonce" ] || { say "no upload form: $(grep -o '<p>[^<]*' "$T/pi.$1" | head -2)"; return 1; }
	get "$1" "/wp-admin/update.php?action=upload-plugin" -o "$T/up.$1" -F "pluginzip=@$2" \
		-F "_wpnonce=$nonce" -F "_wp_http_referer=/wp-admin/plugin-install.php?tab=upload" \
		-F "install-plugin-submit=Install Now"
	grep -q "Plugin installed successfully" "$T/up.$1" || { say "upload: $(grep -o '<p>[^<]*' "$T/up.$1" | head -4)"; return 1; }
	link=$(grep -o 'href="plugins.php?action=activate[^"]*"' "$T/up.$1" | head -1 | cut -d'"' -f2 | sed 's/&amp;/\&/g')
	[ -n "$link" ] && test "$(get "$1" "/wp-admin/$link" -o /dev/null -w '%{http_code}')" = 302
}
check "4. aufs-wp2's admin logs in" login aufs-wp2
check "4. aufs-wp2 uploads the plugin zip and activates it" install_plugin aufs-wp2 "$T/plugin/e2e-hello.zip"
check "4. the plugin is in aufs-wp2's branch, owned by aufs-wp2" \
	test "$(stat -c %U "$AUFS_HOST_TENANTS/aufs-wp2/wp-content/plugins/e2e-hello/e2e-hello.php" 2>/dev/null)" = aufs-wp2
check "4. it runs for aufs-wp2" serves e2e-plugin-active aufs-wp2 /
check "4. ... and for nobody else" \
	test -z "$(get aufs-wp1 / | grep e2e-plugin-active; get aufs-wp3 / | grep e2e-plugin-active)"

# ------------------------------------------------------------------ 5. delete, rewrite
install -m 0644 -o aufs-wp3 -g aufs-wp3 /dev/stdin "$AUFS_HOST_TENANTS/aufs-wp3/e2e-edit.php" <<'PHP'
<?php
// the tenant's own PHP: a base file deleted, another replaced as editors do (a new
// file renamed over it: the base's file is root's, its directory is the tenant's)
$gone = unlink( __DIR__ . '/wp-trackback.php' );
$tmp = __DIR__ . '/.readme.html.new';
$new = file_put_contents( $tmp, "<html><body>readme of aufs-wp3</body></html>\n" ) && rename( $tmp, __DIR__ . '/readme.html' );
echo $gone && $new ? 'edited' : 'failed';
PHP
for _ in 1 2; do code aufs-wp3 /readme.html >/dev/null; code aufs-wp3 /wp-trackback.php >/dev/null; done
check "5. aufs-wp3's PHP deletes a base file and rewrites another" test "$(get aufs-wp3 /e2e-edit.php)" = edited
served=$(for _ in $(seq 6); do code aufs-wp3 /wp-trackback.php; echo; done | sort -u)
check "5. nginx answers 404 for the deleted file at once, on every request ($served)" test "$served" = 404
served=$(for _ in $(seq 6); do get aufs-wp3 /readme.html; done | sort -u)
check "5. nginx serves the new content at once, on every request" \
	test "$served" = "<html><body>readme of aufs-wp3</body></html>"
check "5. the other tenants keep the base's files" \
	test "$(code aufs-wp1 /wp-trackback.php)" != 404 -a "$(get aufs-wp2 /readme.html | md5sum)" = "$(md5sum < "$BASE1/readme.html")"
check "5. the deletion is a whiteout in aufs-wp3's branch" test -e "$AUFS_HOST_TENANTS/aufs-wp3/.wh.wp-trackback.php"

# ------------------------------------------------------------------ 6. base update
check "6. the base is as it was before the servers started" \
	cmp -s "$T/base1.sum" <(cd "$BASE1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
theme=wp-content/themes/twentytwentythree
mkdir "$T/newbase"
cp -a "$BASE1/." "$T/newbase/"
sed -i 's|Proudly powered by %s|Proudly powered by %s (e2e-base-v2)|' "$T/newbase/$theme/patterns/footer-default.php"
echo '/* e2e-base-v2 */' >> "$T/newbase/$theme/style.css"
pids_before="$(cat "$AUFS_HOST_FPM_PID" "$AUFS_HOST_NGINX_PID") $(pgrep -P "$(cat "$AUFS_HOST_NGINX_PID")" | sort)"
check "6. base-update switches the tenants to the new base" "$kit/base-update" "$T/newbase"
BASE2=$(readlink -f "$AUFS_HOST_CMS/current")
( cd "$BASE2" && find . -type f -print0 | sort -z | xargs -0 sha256sum ) > "$T/base2.sum"
check "6. the old base is gone, the table names the new one only" \
	test ! -e "$BASE1" -a "$(grep -c "$BASE2=ro" "$AUFS_HOST_FSTAB")" = 1000 -a -z "$(grep "$BASE1" "$AUFS_HOST_FSTAB")"
for t in $TENANTS; do
	check "6. $t's next page shows the new theme file (PHP)" serves 'e2e-base-v2' "$t" /
	check "6. $t's next style.css is the new one (nginx)" serves 'e2e-base-v2' "$t" "/$theme/style.css"
done
check "6. neither php-fpm nor nginx restarted" \
	test "$pids_before" = "$(cat "$AUFS_HOST_FPM_PID" "$AUFS_HOST_NGINX_PID") $(pgrep -P "$(cat "$AUFS_HOST_NGINX_PID")" | sort)"

# ------------------------------------------------------------------ 7. OPcache
for t in aufs-wp1 aufs-wp2; do
	printf '<?php echo "who:%s cached:", (int) opcache_is_script_cached( __FILE__ ), "\\n";\n' "$t" |
		install -m 0644 -o "$t" -g "$t" /dev/stdin "$AUFS_HOST_TENANTS/$t/e2e-who.php"
	# OPcache leaves alone a file changed in the last 2 s (opcache.file_update_protection)
	touch -d '1 minute ago' "$AUFS_HOST_TENANTS/$t/e2e-who.php"
done
for _ in 1 2 3; do get aufs-wp1 /e2e-who.php; get aufs-wp2 /e2e-who.php; done > "$T/who"
check "7. one master, OPcache on: each tenant runs its own e2e-who.php, from the cache" \
	test "$(sort -u "$T/who")" = "$(printf '%s\n' 'who:aufs-wp1 cached:0' 'who:aufs-wp1 cached:1' 'who:aufs-wp2 cached:0' 'who:aufs-wp2 cached:1')" -o \
	     "$(sort -u "$T/who")" = "$(printf '%s\n' 'who:aufs-wp1 cached:1' 'who:aufs-wp2 cached:1')"
check "7. ... both cached (an OPcache shared by the pools)" test "$(tail -2 "$T/who" | grep -c 'cached:1')" = 2

# ------------------------------------------------------------------ bad input at reload
mv "$AUFS_HOST_TENANTS/idle/t500" "$AUFS_HOST_TENANTS/idle/t500.away"
refused "reload refuses a table whose tenant's branch is missing, with its line" 2 \
	"$AUFS_HOST_FSTAB:.*$AUFS_HOST_TENANTS/idle/t500" $AUFSCTL reload "$AUFS_HOST_FSTAB"
for t in $TENANTS; do
	check "the broken tenant does not stop $t" serves "<title>Blog of $t" "$t" /
done
mv "$AUFS_HOST_TENANTS/idle/t500.away" "$AUFS_HOST_TENANTS/idle/t500"
chmod 000 "$AUFS_HOST_TENANTS/idle/t501"
refused "reload refuses a table whose tenant's branch is unreadable, with its line" 2 \
	"$AUFS_HOST_FSTAB:.*branch $AUFS_HOST_TENANTS/idle/t501 is unreadable" $AUFSCTL reload "$AUFS_HOST_FSTAB"
chmod 0755 "$AUFS_HOST_TENANTS/idle/t501"
cp "$AUFS_HOST_FSTAB" "$T/fstab.good"
echo "none $AUFS_HOST_WWW/intruder aufs br:$AUFS_HOST_TENANTS/aufs-wp1/wp-content=rw:$BASE2=ro,nowarn_perm 0 0" >> "$AUFS_HOST_FSTAB"
refused "reload refuses a tenant whose branch overlaps another's, with its line" 2 \
	"$AUFS_HOST_FSTAB:$(wc -l < "$AUFS_HOST_FSTAB"): writable branch $AUFS_HOST_TENANTS/aufs-wp1/wp-content .*overlap" $AUFSCTL reload "$AUFS_HOST_FSTAB"
cp "$T/fstab.good" "$AUFS_HOST_FSTAB"
for t in $TENANTS; do
	check "the broken tenants did not stop $t" serves "<title>Blog of $t" "$t" /
done

# ------------------------------------------------------------------ 8. a fourth tenant
db_for aufs-wp4 || fail "database of aufs-wp4"
userdel aufs-wp4 >/dev/null 2>&1
E2E_USERS+=(aufs-wp4)
check "8. tenant-add aufs-wp4 while the servers run" "$kit/tenant-add" aufs-wp4
for _ in $(seq 100); do [ -S "$AUFS_HOST_RUN/php-aufs-wp4.sock" ] && break; sleep 0.1; done
sleep 1	# nginx's new workers
check "8. aufs-wp4 installs" install_tenant aufs-wp4 "Blog of aufs-wp4"
check "8. aufs-wp4's front page" serves "<title>Blog of aufs-wp4" aufs-wp4 /
check "8. the others still serve" serves "<title>Blog of aufs-wp1" aufs-wp1 /

check "tenant-del aufs-wp4" "$kit/tenant-del" aufs-wp4
check "... its line, pool and server block are gone, its branch stays" \
	test -z "$(grep "$AUFS_HOST_WWW/aufs-wp4 " "$AUFS_HOST_FSTAB")" -a ! -e "$AUFS_HOST_POOLS/aufs-wp4.conf" \
	-a ! -e "$AUFS_HOST_SITES/aufs-wp4.conf" -a -f "$AUFS_HOST_TENANTS/aufs-wp4/wp-config.php"
sleep 1	# nginx's new workers
check "... and the others still serve" serves "<title>Blog of aufs-wp2" aufs-wp2 /

# ------------------------------------------------------------------ 9. base, logs
check "9. the base is byte-identical to its checksum from before" \
	cmp -s "$T/base2.sum" <(cd "$BASE2" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
check "9. /usr/share/wordpress untouched: no tenant file in it" \
	test -z "$(find /usr/share/wordpress -newer "$T/base1.sum" 2>/dev/null | head -1)"
# Two kinds of PHP warning are WordPress's own and are left out, each message by
# itself (nginx joins a request's messages into one line): Debian's patch of
# install.php (#430781) reads two variables it never sets, and the update checks
# that follow a plugin upload cannot reach api.wordpress.org from a test machine.
known='Undefined variable \$upload(_url)?_path in .*/wp-admin/install\.php|could not establish a secure connection to WordPress\.org'
logs=$(cat "$AUFS_HOST_LOG"/nginx-error.log "$AUFS_HOST_LOG"/php-fpm.log "$AUFS_HOST_LOG"/php-*.log \
	"$T/log/php-fpm.out" "$T/log/nginx.out" 2>/dev/null |
	KNOWN=$known perl -ne 'chomp; my @m = split /PHP message: /; my $head = shift @m;
		@m = grep { !/$ENV{KNOWN}/ } @m;
		print "$_\n" if @m || $head !~ /FastCGI sent in stderr|^NOTICE: $/;
		END { print "e2e: perl ran\n" }' |
	grep -E -i '\[(error|crit|alert|emerg)\]|ERROR|WARNING|PHP (Fatal|Warning|Parse|Notice|Deprecated)|aufs-preload|aufs-run|^e2e: perl ran$')
check "9. no error in the nginx and php-fpm logs" test "$logs" = "e2e: perl ran"
[ "$logs" = "e2e: perl ran" ] || printf '%s\n' "$logs" | head -20

say "done: $FAILED failed"
[ "$FAILED" = 0 ]
