# SPDX-License-Identifier: MIT
# tests/e2e/lib.sh: the host of examples/host/ with WordPress, in a temporary directory:
# sourced by tests/e2e/wordpress.sh (make e2e) and bench/wordpress.sh (make bench).
# The caller sets topdir, B and E2E_NAME (the prefix of the temporary directory and of
# its lines) and is bash; it calls e2e_packages, e2e_scratch, e2e_mariadb, e2e_host, then
# starts the servers with e2e_start_servers.

kit=$topdir/examples/host
say() { printf '[%s %3ds] %s\n' "$E2E_NAME" "$SECONDS" "$*"; }
skip() { echo "$E2E_NAME: skipped: $*"; exit 77; }

FAILED=0
ok() { say "ok: $*"; }
fail() { say "FAIL: $*"; FAILED=$((FAILED + 1)); }
die() { say "FAIL: $*"; FAILED=$((FAILED + 1)); exit 1; }
check() { # TITLE CMD...: one assertion
	local t=$1; shift
	if "$@"; then ok "$t"; else fail "$t"; fi
}

# e2e_packages [PACKAGE...]: install what WordPress on nginx and php-fpm needs (and
# the packages given) when missing, or skip
e2e_packages() {
	local need='' p
	[ "$(id -u)" = 0 ] || skip "needs root (users, php-fpm pools, nginx as www-data)"
	[ -r "$B/libaufs-preload.so" ] && [ -x "$B/aufs-run" ] || { echo "$E2E_NAME: build first (make)" >&2; exit 1; }
	command -v php-fpm8.2 >/dev/null || need="$need php-fpm"
	command -v nginx >/dev/null || need="$need nginx"
	command -v mariadbd >/dev/null || need="$need mariadb-server"
	command -v curl >/dev/null || need="$need curl"
	[ -f /usr/share/wordpress/wp-settings.php ] || need="$need wordpress"
	php -m 2>/dev/null | grep -qx mysqli || need="$need php-mysql"
	php -m 2>/dev/null | grep -qx imagick || need="$need php-imagick"
	php -m 2>/dev/null | grep -qx zip || need="$need php-zip"
	for p in "$@"; do command -v "$p" >/dev/null || need="$need $p"; done
	[ -z "$need" ] && return 0
	command -v apt-get >/dev/null || skip "missing:$need, and no apt-get"
	say "installing:$need"
	# the packages' own services stay down: the test starts its own servers
	# shellcheck disable=SC2086 # one word per package
	{ DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q $need ||
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q $need; }
	} >/dev/null 2>&1 || skip "apt-get could not install:$need"
}

# free_port: a port of 127.0.0.1 nobody listens on
free_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 20); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}

# e2e_scratch: the temporary directory T, its cleanup (every PID of PIDS, by PID), and
# the host's layout in it (host.env's variables)
e2e_scratch() {
	T=$(mktemp -d "/tmp/aufs-$E2E_NAME.XXXXXX") || exit 1
	chmod 0755 "$T"
	PIDS=()
	E2E_USERS=()
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM
	export AUFS_TABLE_DIR=$T/images AUFS_XINO_DIR=$T/xino
	mkdir -m 1777 "$AUFS_TABLE_DIR" "$AUFS_XINO_DIR"
	export AUFS_HOST_FSTAB=$T/etc/aufs/tenants.fstab AUFS_HOST_CMS=$T/cms \
		AUFS_HOST_TENANTS=$T/tenants AUFS_HOST_WWW=$T/www AUFS_HOST_RUN=$T/run \
		AUFS_HOST_LOG=$T/log AUFS_HOST_POOLS=$T/etc/fpm/pool.d AUFS_HOST_SITES=$T/etc/nginx/sites \
		AUFS_HOST_FPM_CONF=$T/etc/fpm/php-fpm.conf AUFS_HOST_NGINX_CONF=$T/etc/nginx/nginx.conf \
		AUFS_HOST_FPM_PID=$T/run/php-fpm.pid AUFS_HOST_NGINX_PID=$T/run/nginx.pid \
		AUFS_HOST_DOMAIN=e2e.test AUFS_HOST_WEB_USER=www-data \
		AUFS_RUN=$topdir/bin/aufs-run AUFSCTL=$topdir/bin/aufsctl
	PORT=$(free_port) || die "no free port"
	export AUFS_HOST_LISTEN=127.0.0.1:$PORT
}
e2e_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	# the tenants' users go with their branches (a kept directory keeps them)
	if [ "${E2E_KEEP:-0}" != 1 ]; then
		for p in "${E2E_USERS[@]}"; do userdel "$p" >/dev/null 2>&1; done
	fi
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "$E2E_NAME: kept $T"
	else
		rm -rf "$T"
	fi
}

# e2e_mariadb: MariaDB on $T/mysql.sock, no network
e2e_mariadb() {
	say "MariaDB on $T/mysql.sock"
	mkdir -p "$T/db" "$T/log"
	mariadb-install-db --no-defaults --datadir="$T/db" --user=root --auth-root-authentication-method=socket \
		--skip-test-db >"$T/log/mariadb-install.log" 2>&1 || die "mariadb-install-db (see $T/log/mariadb-install.log)"
	mariadbd --no-defaults --datadir="$T/db" --socket="$T/mysql.sock" --skip-networking --user=root \
		--pid-file="$T/db.pid" --log-error="$T/log/mariadb.log" --innodb-buffer-pool-size=64M &
	PIDS+=($!)
	for _ in $(seq 100); do [ -S "$T/mysql.sock" ] && break; sleep 0.2; done
	[ -S "$T/mysql.sock" ] || die "MariaDB did not start (see $T/log/mariadb.log)"
}
sql() { mariadb --no-defaults -S "$T/mysql.sock" -u root -e "$1"; }
db_for() { # NAME: the tenant's own database and database user
	local db=${1//-/_}
	sql "CREATE DATABASE $db; CREATE USER '$1'@'localhost' IDENTIFIED BY 'pw-$1';
	     GRANT ALL ON $db.* TO '$1'@'localhost';"
}

# e2e_host N: host-init from /usr/share/wordpress (BASE1), and N tenant lines that no
# request reaches (idle/tNNN, owned by root)
e2e_host() {
	say "host-init: base from /usr/share/wordpress"
	"$kit/host-init" /usr/share/wordpress >/dev/null || die "host-init"
	BASE1=$(readlink -f "$AUFS_HOST_CMS/current")
	mkdir "$AUFS_HOST_TENANTS/idle"
	for i in $(seq -w 1 "$1"); do
		mkdir "$AUFS_HOST_TENANTS/idle/t$i"
		echo "none $AUFS_HOST_WWW/idle$i aufs br:$AUFS_HOST_TENANTS/idle/t$i=rw:$BASE1=ro,nowarn_perm 0 0"
	done >> "$AUFS_HOST_FSTAB"
	$AUFSCTL load "$AUFS_HOST_FSTAB" >/dev/null || die "aufsctl load of the idle tenants"
}

# e2e_tenant NAME: tenant-add, and its database
e2e_tenant() {
	userdel "$1" >/dev/null 2>&1	# a user left by an interrupted run
	E2E_USERS+=("$1")
	"$kit/tenant-add" "$1" >/dev/null || die "tenant-add $1"
	db_for "$1" || die "database of $1"
}

# e2e_start_servers NAME [PHP-FPM ARG...]: php-fpm and nginx of the kit; NAME's pool socket
# and nginx's pid file say they are up
e2e_start_servers() {
	local sock=$AUFS_HOST_RUN/php-$1.sock
	shift
	say "php-fpm and nginx on 127.0.0.1:$PORT"
	"$kit/start-php-fpm" "$@" >"$T/log/php-fpm.out" 2>&1 &
	PIDS+=($!)
	"$kit/start-nginx" >"$T/log/nginx.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -S "$sock" ] && [ -s "$AUFS_HOST_NGINX_PID" ] && break; sleep 0.2; done
	[ -S "$sock" ] || die "php-fpm did not start: $(tail -3 "$T/log/php-fpm.out" "$AUFS_HOST_LOG/php-fpm.log" 2>&1)"
	[ -s "$AUFS_HOST_NGINX_PID" ] || die "nginx did not start: $(tail -3 "$T/log/nginx.out" 2>&1)"
}

# curl NAME PATH [ARGS...]: a request to a tenant's site, with its cookies
get() {
	local n=$1 h=$1.$AUFS_HOST_DOMAIN p=$2; shift 2
	curl -sS --max-time 120 --resolve "$h:$PORT:127.0.0.1" -b "$T/cookies.$n" -c "$T/cookies.$n" \
		"$@" "http://$h:$PORT$p"
}
serves() { # PATTERN NAME PATH: the page holds PATTERN
	get "$2" "$3" > "$T/page" && grep -q -- "$1" "$T/page"
}
code() { local n=$1 p=$2; shift 2; get "$n" "$p" -o /dev/null -w '%{http_code}' "$@"; }
url() { echo "http://$1.$AUFS_HOST_DOMAIN:$PORT"; }

install_tenant() { # NAME TITLE: wp-config.php through setup-config.php, then install.php
	local n=$1 title=$2 db=${1//-/_}
	get "$n" "/wp-admin/setup-config.php?step=2" -o "$T/setup.$n" \
		--data-urlencode "dbname=$db" --data-urlencode "uname=$n" --data-urlencode "pwd=pw-$n" \
		--data-urlencode "dbhost=localhost:$T/mysql.sock" --data-urlencode "prefix=wp_" \
		--data-urlencode "language=" --data-urlencode "submit=Submit"
	[ -f "$AUFS_HOST_TENANTS/$n/wp-config.php" ] || { say "setup-config: $(grep -o '<p>[^<]*' "$T/setup.$n" | head -3)"; return 1; }
	# plugins are installed into the branch directly (its files are the tenant's own):
	# the base's files are root's, which makes WordPress ask for FTP credentials otherwise
	sed -i "s|^/\* That's all, stop editing|define( 'FS_METHOD', 'direct' );\n&|" "$AUFS_HOST_TENANTS/$n/wp-config.php"
	get "$n" "/wp-admin/install.php?step=2" -o "$T/install.$n" \
		--data-urlencode "weblog_title=$title" --data-urlencode "user_name=admin" \
		--data-urlencode "admin_password=pw-admin-$n" --data-urlencode "admin_password2=pw-admin-$n" \
		--data-urlencode "pw_weak=1" --data-urlencode "admin_email=admin@$n.test" \
		--data-urlencode "blog_public=0" --data-urlencode "Submit=Install WordPress"
	grep -q "Success!" "$T/install.$n" || { say "install.php: $(grep -o '<p>[^<]*' "$T/install.$n" | head -3)"; return 1; }
}
login() {
	get "$1" /wp-login.php -o /dev/null
	get "$1" /wp-login.php -o /dev/null --data-urlencode "log=admin" --data-urlencode "pwd=pw-admin-$1" \
		--data-urlencode "wp-submit=Log In" --data-urlencode "testcookie=1" \
		--data-urlencode "redirect_to=$(url "$1")/wp-admin/"
	grep -q wordpress_logged_in "$T/cookies.$1"
}
