#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the host table: 10,000 fstab lines compiled once into an image every process maps; bad images refused or rebuilt; aufsctl'
. "$(dirname "$0")/lib.sh"

# The host (lib.sh): the CMS base owned by root, 0755; tenant N's branch owned by
# aufs-tenant1 (N odd) or aufs-tenant2 (N even); the web server aufs-www reads.
# Every image of this file is in the trash directory (--image, AUFS_TABLE), never
# at the default /dev/shm path, so that parallel runs cannot share one; only
# `aufsctl image` names the default, and it makes nothing there.
host_users_ready

N=10000
CMS=$TRASH/cms
TEN=$TRASH/tenants
WWW=$TRASH/www
IMG=$TRASH/table.img
mkdir -p "$CMS/lib"
echo "cms index" >"$CMS/index.php"
echo "cms common" >"$CMS/lib/common.php"
chmod -R 0755 "$CMS"

# fstab_line K: tenant K's line, with nowarn_perm as aufs-preload(7) tells the host's
# administrator to add once the lines are checked (aufs-run warns about every
# branch a tenant owns otherwise).
fstab_line() {
	printf 'none %s/t%s aufs br:%s/t%s=rw:%s=ro,nowarn_perm 0 0\n' "$WWW" "$1" "$TEN" "$1" "$CMS"
}

# The image's status line for aufsctl load: "FILE: N unions, image PATH, B bytes, T ms".
load_line_re() {
	printf '^\\(.*/\\)\\{0,1\\}%s: %s unions, image %s, %s bytes, [0-9][0-9.]* ms$' "$1" "$2" "$3" "$4"
}

test_expect_success 'a 10,000-line fstab and its tenants, generated in a few seconds' '
	start=$(date +%s) &&
	awk -v w="$WWW" -v t="$TEN" -v c="$CMS" -v n=$N "BEGIN {
		for (i = 1; i <= n; i++)
			printf \"none %s/t%d aufs br:%s/t%d=rw:%s=ro,nowarn_perm 0 0\\n\", w, i, t, i, c
	}" >fstab &&
	awk -v t="$TEN" -v n=$N "BEGIN { for (i = 1; i <= n; i++) print t \"/t\" i }" | xargs mkdir -p &&
	for k in 1 2 3 4 5000 9999 10000; do echo "tenant $k" >"$TEN/t$k/own.txt" || return 1; done &&
	chmod 0755 "$TEN" &&
	if test_have_prereq HOST_USERS; then
		seq 1 2 $N | sed "s|^|$TEN/t|" | xargs chown -R "$AUFS_TENANT1:" &&
		seq 2 2 $N | sed "s|^|$TEN/t|" | xargs chown -R "$AUFS_TENANT2:"
	fi &&
	test_line_count = $N fstab &&
	fstab_line 5000 >line && sed -n 5000p fstab >got && test_cmp line got &&
	echo "# generated in $(($(date +%s) - start)) s"
'

test_expect_success 'aufsctl load: one line, and an image with the documented header, not writable by others' '
	aufsctl load --image "$IMG" fstab >out 2>err &&
	test_must_be_empty err &&
	test_line_count = 1 out &&
	size=$(stat -c %s "$IMG") &&
	test_grep "$(load_line_re fstab $N "$IMG" "$size")" out &&
	printf "AUFSTBL\000" >magic &&
	head -c 8 "$IMG" >got &&
	cmp magic got &&
	test "$(od -A n -t u4 -j 8 -N 4 "$IMG" | tr -d " ")" = 2 &&
	hsize=$(od -A n -t u4 -j 12 -N 4 "$IMG" | tr -d " ") &&
	test "$hsize" -ge 24 && test "$hsize" -lt "$size" &&
	test "$(od -A n -t u8 -j 16 -N 8 "$IMG" | tr -d " ")" = "$size" &&
	test_path_is_file "$IMG" &&
	test "$(stat -c %u "$IMG")" = "$AUFS_UID" &&
	test $((0$(stat -c %a "$IMG") & 022)) = 0
'

test_expect_success 'aufs-run --fstab: a child sees tenant 5000; its environment names the file and the image' '
	aufs_run --fstab fstab --image "$IMG" -- sh -c "
		cat \"\$1/own.txt\" \"\$1/index.php\" \"\$1/lib/common.php\" && ls \"\$1\" &&
		echo \"\$AUFS_FSTAB \$AUFS_TABLE\"" sh "$WWW/t5000" >out 2>err &&
	printf "%s\n" "tenant 5000" "cms index" "cms common" index.php lib own.txt \
		"$TRASH/fstab $IMG" >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'a grandchild (sh -c "sh -c cat") sees the unions too, the first and the last' '
	aufs_run --fstab fstab --image "$IMG" -- \
		sh -c "sh -c \"cat $WWW/t5000/own.txt $WWW/t1/own.txt $WWW/t10000/own.txt $WWW/t9999/index.php\"" \
		>out 2>err &&
	printf "%s\n" "tenant 5000" "tenant 1" "tenant 10000" "cms index" >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'AUFS_FSTAB and AUFS_TABLE without aufs-run: the image is mapped as it is' '
	cp -p "$IMG" img.before &&
	AUFS_FSTAB=$TRASH/fstab AUFS_TABLE=$IMG LD_PRELOAD=$(aufs_preload) \
		sh -c "cat $WWW/t5000/own.txt; test -e $WWW/t5000/no-such || echo no such" >out 2>err &&
	printf "%s\n" "tenant 5000" "no such" >expect &&
	test_cmp expect out &&
	test_must_be_empty err &&
	cmp img.before "$IMG" &&
	test "$(stat -c %Y "$IMG")" = "$(stat -c %Y img.before)"
'

test_expect_success HOST_USERS 'the web server and a tenant read through the image root compiled, which stays as it is' '
	cp -p "$IMG" img.before &&
	user_aufs_run "$AUFS_WWW" --fstab fstab --image "$IMG" -- \
		sh -c "sh -c \"cat $WWW/t5000/own.txt $WWW/t5000/index.php\"" >out 2>err &&
	printf "%s\n" "tenant 5000" "cms index" >expect &&
	test_cmp expect out &&
	test_must_be_empty err &&
	user_aufs_run "$AUFS_TENANT2" --fstab fstab --image "$IMG" -- \
		sh -c "echo upload >$WWW/t5000/upload.txt && cat $WWW/t5000/upload.txt" >out 2>err &&
	echo upload >expect &&
	test_cmp expect out &&
	test_must_be_empty err &&
	test "$(stat -c %U "$TEN/t5000/upload.txt")" = "$AUFS_TENANT2" &&
	test_path_is_missing "$CMS/upload.txt" &&
	cmp img.before "$IMG"
'

sed "9999s|=rw:|=bogus:|" fstab >fstab.bad 2>/dev/null

test_expect_success 'a bad line 9,999: aufs-run exits 2 naming line 9999, runs nothing and writes no image' '
	test_expect_code 2 aufs_run --fstab fstab.bad --image "$TRASH/bad.img" -- echo ran >out 2>err &&
	test_must_be_empty out &&
	test_line_count = 1 err &&
	test_grep "^aufs-run: \(.*/\)\{0,1\}fstab\.bad:9999: .*bogus" err &&
	test_path_is_missing bad.img
'

test_expect_success 'a bad line 9,999: aufsctl load exits 2 naming line 9999 and writes no image' '
	test_expect_code 2 aufsctl load --image "$TRASH/bad.img" fstab.bad >out 2>err &&
	test_must_be_empty out &&
	test_line_count = 1 err &&
	test_grep "^aufsctl: \(.*/\)\{0,1\}fstab\.bad:9999: .*bogus" err &&
	test_path_is_missing bad.img
'

# Issue 12: per-union shared state is attached at a union's first use, never for
# every union up front. The tests above used tenants 1, 5000, 9999 and 10000 only.
test_expect_success 'shared states only for the unions used: 4 of the 10,000 tenants have one' '
	find "$TEN" -maxdepth 2 -name ".wh..wh.aufs.shm.*" | sed -e "s|^$TEN/||" -e "s|/.*||" | sort >got &&
	printf "%s\n" t1 t10000 t5000 t9999 >expect &&
	test_cmp expect got
'

# ---------------------------------------------------------------- the default path
test_expect_success 'aufsctl image: DIR/aufs-table.UID.HASH (DIR: AUFS_TABLE_DIR, else /dev/shm), the same for the same file; --image as given' '
	head -n 3 fstab >small.fstab &&
	aufsctl image small.fstab >out 2>err &&
	test_must_be_empty err &&
	test_line_count = 1 out &&
	grep -E "^$AUFS_TABLE_DIR/aufs-table\.$AUFS_UID\.[0-9a-f]{16}\$" out &&
	aufsctl image "$TRASH/small.fstab" >out2 &&
	test_cmp out out2 &&
	cp small.fstab other.fstab &&
	aufsctl image other.fstab >out3 &&
	! cmp -s out out3 &&
	test_path_is_missing "$(cat out)" &&
	aufsctl image --image "$TRASH/x.img" small.fstab >out4 &&
	echo "$TRASH/x.img" >expect &&
	test_cmp expect out4 &&
	test_path_is_missing x.img
'

test_expect_success HOST_USERS 'aufsctl image: UID is the fstab owner'"'"'s, whoever asks' '
	cp small.fstab tenant.fstab &&
	chown "$AUFS_TENANT1:" tenant.fstab &&
	uid=$(id -u "$AUFS_TENANT1") &&
	aufsctl image tenant.fstab >out &&
	grep -E "^$AUFS_TABLE_DIR/aufs-table\.$uid\.[0-9a-f]{16}\$" out &&
	user_aufsctl "$AUFS_WWW" image "$TRASH/tenant.fstab" >out2 &&
	test_cmp out out2 &&
	test_path_is_missing "$(cat out)"
'

# ---------------------------------------------------------------- bad images
# Each case spoils a good image of small.fstab (tenants 1 to 3) in one way; then
# `aufsctl check` says why with exit 3; the web server (no right to the image)
# compiles the table privately and says so in one line, leaving the image alone;
# a process of the fstab's owner rebuilds the image and says so in one line; and
# the image checks again. Every process sees the right unions and none dies.
SIMG=$TRASH/small.img

# spoil KIND: a good image at $SIMG, made bad as KIND says.
spoil() {
	rm -f "$SIMG" &&
		aufsctl load --image "$SIMG" small.fstab >/dev/null &&
		_size=$(stat -c %s "$SIMG") &&
		case $1 in
		empty) : >"$SIMG" ;;
		half) truncate -s $((_size / 2)) "$SIMG" ;;
		random) head -c "$_size" /dev/urandom | dd of="$SIMG" conv=notrunc 2>/dev/null ;;
		body)
			# the last byte of tenant 1's branch path, which the processes of
			# these tests never look up: only the checksum can tell
			_at=$(grep -obUa -e "$TEN/t1" "$SIMG" | head -n 1 | cut -d: -f1) &&
				[ -n "$_at" ] &&
				printf "\377" | dd of="$SIMG" bs=1 seek=$((_at + ${#TEN} + 2)) conv=notrunc 2>/dev/null ;;
		version) printf "\003\000\000\000" | dd of="$SIMG" bs=1 seek=8 conv=notrunc 2>/dev/null ;;
		group-writable) chmod g+w "$SIMG" ;;
		other-writable) chmod o+w "$SIMG" ;;
		owner) chown "$AUFS_WWW:" "$SIMG" ;;
		missing) rm "$SIMG" ;;
		*) echo "spoil: bug in the test: $1"; return 1 ;;
		esac
}

# read_small [USER]: tenant 2's and tenant 3's files through small.fstab and $SIMG, in
# one process (each process under the library says its line) started with the
# environment alone, as USER (default: self).
read_small() {
	set -- ${1:+runuser -u "$1" --} env AUFS_FSTAB="$TRASH/small.fstab" AUFS_TABLE="$SIMG" \
		LD_PRELOAD="$(aufs_preload)" cat "$WWW/t2/own.txt" "$WWW/t2/index.php" "$WWW/t3/own.txt"
	"$@"
}
printf "%s\n" "tenant 2" "cms index" "tenant 3" >small.expect

# bad_image KIND REASON (a grep pattern: the brief's word for the reason, or the
# tool's equivalent wording)
bad_image() {
	spoil "$1" &&
		test_expect_code 3 aufsctl check --image "$SIMG" small.fstab >check.out 2>&1 &&
		test_line_count = 1 check.out &&
		test_grep "$2" check.out &&
		if test_have_prereq HOST_USERS; then
			cp -p "$SIMG" spoilt 2>/dev/null || : >spoilt
			read_small "$AUFS_WWW" >out 2>err &&
				test_cmp small.expect out &&
				test_line_count = 1 err &&
				test_grep "^aufs-preload: $SIMG: .*\($2\).*; compiled privately\$" err &&
				if [ "$1" = missing ]; then
					test_path_is_missing "$SIMG"
				else
					cmp spoilt "$SIMG" &&
						test "$(stat -c %U:%a "$SIMG")" = "$(stat -c %U:%a spoilt)"
				fi
		fi &&
		read_small >out 2>err &&
		test_cmp small.expect out &&
		if [ "$1" = missing ]; then
			test_must_be_empty err
		else
			test_line_count = 1 err &&
				test_grep "^aufs-preload: $SIMG: .*\($2\).*; rebuilt\$" err
		fi &&
		aufsctl check --image "$SIMG" small.fstab &&
		test "$(stat -c %u "$SIMG")" = "$AUFS_UID" &&
		test $((0$(stat -c %a "$SIMG") & 022)) = 0 &&
		read_small >out 2>err &&
		test_cmp small.expect out &&
		test_must_be_empty err
}

test_expect_success 'a good image checks, and a process maps it without a word' '
	rm -f "$SIMG" &&
	aufsctl load --image "$SIMG" small.fstab >/dev/null &&
	aufsctl check --image "$SIMG" small.fstab >out 2>&1 &&
	read_small >out 2>err &&
	test_cmp small.expect out &&
	test_must_be_empty err
'

test_expect_success 'a missing image: check says missing; the owner builds it silently' '
	bad_image missing "missing"
'

test_expect_success 'an image truncated to 0 bytes is refused, then rebuilt' '
	bad_image empty "truncated\|corrupt"
'

test_expect_success 'an image truncated to half its size is refused, then rebuilt' '
	bad_image half "truncated"
'

test_expect_success 'an image of random bytes is refused, then rebuilt' '
	bad_image random "corrupt\|not a union table image"
'

test_expect_success 'an image with one byte of a union'"'"'s record changed: aufsctl check says corrupt' '
	spoil body &&
	test_expect_code 3 aufsctl check --image "$SIMG" small.fstab >check.out 2>&1 &&
	test_line_count = 1 check.out &&
	test_grep corrupt check.out
'

# A process checks the header when it maps an image and each record when it reads
# it (aufsctl(8), TRUST): damage where it does not read changes nothing it sees; the
# lookup that meets it compiles the table again, answers from it and says so in one
# line (the web server keeps its table private, the owner rebuilds the image).
read_t1() {
	set -- ${1:+runuser -u "$1" --} env AUFS_FSTAB="$TRASH/small.fstab" AUFS_TABLE="$SIMG" \
		LD_PRELOAD="$(aufs_preload)" cat "$WWW/t1/own.txt"
	"$@"
}
echo "tenant 1" >t1.expect

test_expect_success 'a damaged record: processes that do not read it see right and say nothing; the one that reads it compiles again, answers right, says so' '
	spoil body &&
	cp -p "$SIMG" spoilt &&
	read_small >out 2>err &&
	test_cmp small.expect out &&
	test_must_be_empty err &&
	cmp spoilt "$SIMG" &&
	if test_have_prereq HOST_USERS; then
		read_t1 "$AUFS_WWW" >out 2>err &&
		test_cmp t1.expect out &&
		test_line_count = 1 err &&
		test_grep "^aufs-preload: $SIMG: corrupt (union record); compiled privately\$" err &&
		cmp spoilt "$SIMG"
	fi &&
	read_t1 >out 2>err &&
	test_cmp t1.expect out &&
	test_line_count = 1 err &&
	test_grep "^aufs-preload: $SIMG: corrupt (union record); rebuilt\$" err &&
	aufsctl check --image "$SIMG" small.fstab
'

test_expect_success 'an image of format version 3 is refused, then rebuilt' '
	bad_image version "wrong version\|another format version"
'

test_expect_success 'a group-writable image is refused, then rebuilt' '
	bad_image group-writable "writable by \(others\|group\)"
'

test_expect_success 'an image others may write is refused, then rebuilt' '
	bad_image other-writable "writable by \(group or \)\{0,1\}others"
'

test_expect_success HOST_USERS 'an image of another owner (neither root nor the fstab'"'"'s) is refused, then rebuilt' '
	bad_image owner "foreign"
'

test_expect_success 'a stale image (the fstab changed since): check says stale; a process sees the new line' '
	rm -f "$SIMG" &&
	aufsctl load --image "$SIMG" small.fstab >/dev/null &&
	fstab_line 4 >>small.fstab &&
	test_expect_code 3 aufsctl check --image "$SIMG" small.fstab >check.out 2>&1 &&
	test_line_count = 1 check.out &&
	test_grep stale check.out &&
	AUFS_FSTAB=$TRASH/small.fstab AUFS_TABLE=$SIMG LD_PRELOAD=$(aufs_preload) \
		cat "$WWW/t4/own.txt" >out 2>err &&
	echo "tenant 4" >expect &&
	test_cmp expect out &&
	test_line_count -le 1 err &&
	aufsctl check --image "$SIMG" small.fstab
'

# aufs_run_replaces KIND...: for each, a spoilt image that aufs-run replaces.
aufs_run_replaces() {
	for kind in "$@"; do
		spoil $kind &&
		aufs_run --fstab small.fstab --image "$SIMG" -- cat "$WWW/t2/own.txt" >out 2>err &&
		echo "tenant 2" >expect &&
		test_cmp expect out &&
		aufsctl check --image "$SIMG" small.fstab || { echo "case $kind"; cat err; return 1; }
	done
}

test_expect_success 'aufs-run replaces a bad image too, and the command runs' '
	aufs_run_replaces empty half random version other-writable
'

# aufs-run checks every byte (aufsctl(8)), so it also replaces an image whose record
# of a union the command does not use is damaged.
test_expect_success 'aufs-run replaces an image with a damaged record' '
	aufs_run_replaces body
'

# Not only the header: a bad word in any record or index slot must leave every
# process with the right unions (rebuilt or compiled privately), never with a union
# missing. The web server first (it cannot rebuild), then the owner.
test_expect_success 'an 8-byte word overwritten anywhere in the image: every process still sees every union' '
	rm -f "$SIMG" &&
	aufsctl load --image "$SIMG" small.fstab >/dev/null &&
	cp -p "$SIMG" good.img &&
	size=$(stat -c %s good.img) &&
	users=$(test_have_prereq HOST_USERS && echo "$AUFS_WWW" || :) &&
	off=24 fails=0 &&
	while [ $off -le $((size - 8)) ]; do
		cp -p good.img "$SIMG" &&
		printf "\377\377\377\377\377\377\377\377" |
			dd of="$SIMG" bs=1 seek=$off conv=notrunc 2>/dev/null || return 1
		for u in $users ""; do
			read_small $u >out 2>err
			st=$?
			if [ $st != 0 ] || ! cmp -s small.expect out; then
				fails=$((fails + 1))
				echo "offset $off, as ${u:-$(id -un)}: exit $st: $(tr "\n" " " <out)| $(tr "\n" " " <err)"
			fi
		done
		off=$((off + 16))
	done &&
	echo "$fails failures over $(( (size - 8 - 24) / 16 + 1 )) offsets" &&
	test $fails = 0
'

test_expect_success 'the 10,000-line image is still good after all that' '
	aufsctl check --image "$IMG" fstab
'

# ---------------------------------------------------------------- usage
# usage_error ARGS...: aufsctl ARGS exits 2, prints nothing on stdout and says
# what is wrong on stderr.
usage_error() {
	test_expect_code 2 aufsctl "$@" >out 2>err &&
		test_must_be_empty out &&
		test_grep "aufsctl" err
}

test_expect_success 'aufsctl usage errors exit 2 with a message' '
	usage_error &&
	usage_error frobnicate fstab && test_grep frobnicate err &&
	usage_error load &&
	usage_error load --image &&
	usage_error load --bogus small.fstab && test_grep "bogus" err &&
	usage_error load small.fstab other.fstab &&
	usage_error check &&
	usage_error image &&
	(unset AUFS_FSTAB; usage_error reload) &&
	test_path_is_missing "$TRASH/--image"
'

test_expect_success 'aufsctl load of a missing file exits 2 naming it' '
	usage_error load --image "$TRASH/none.img" no-such.fstab &&
	test_grep "no-such\.fstab" err &&
	test_path_is_missing none.img
'

test_expect_success 'aufsctl load exits 1 when the image cannot be written' '
	test_expect_code 1 aufsctl load --image "$TRASH/no/such/dir/x.img" small.fstab >out 2>err &&
	test_grep "^aufsctl: .*no/such/dir" err
'

test_done
