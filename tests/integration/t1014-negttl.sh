#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='negttl=: a name a running process looked up as missing, then created directly in a branch, is seen within the bound the host chose; never: not before aufsctl reval'
. "$(dirname "$0")/lib.sh"

# The host: a base owned by root (0755) with WordPress's directory, tenant1's branch
# owned by aufs-tenant1, the web server aufs-www reading. A long-running reader (one
# shell process, builtins only, so its caches stay warm) answers requests while the
# test changes the branches directly, bypassing the union: WordPress's .maintenance
# dropped into the base, an SFTP upload into the tenant's branch
# (aufs-preload(7), CACHING AND UDBA).
host_users_ready || true
if test_have_prereq HOST_USERS; then
	TENANT=$AUFS_TENANT1 WWW=$AUFS_WWW
else
	TENANT=$ME WWW=$ME
fi
setup_branches base t1
BASE=$TRASH/base T1=$TRASH/t1 M=$TRASH/m
mkdir "$M" "$BASE/wp" "$T1/uploads"
echo "<?php" >"$BASE/wp/index.php"
chmod -R a+rX,go-w "$BASE"
if test_have_prereq HOST_USERS; then
	chown -R "$TENANT:" "$T1"
fi
# (nowarn_perm: a tenant-owned branch over a root base is this host's layout)
U="br:$T1=rw:$BASE=ro,nowarn_perm"

# A process of the tenant (its pool) makes the union's shared state and keeps it
# for the whole file: without one the web server's processes run the union
# uncached (aufs-preload(7), SHARED STATE).
state_hold pool "$TENANT" "$M" -o "$U" "$M" || exit 1

reader_script

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# seen_within NAME MS PATH: the reader finds PATH within MS ms of now (it asks again
# and again); says how long it took.
seen_within() {
	_t0=$(now_ms)
	while :; do
		_got=$(ask "$1" stat "$3") || return 1
		_dt=$(($(now_ms) - _t0))
		if [ "$_got" = exists ]; then
			say "# $3: seen after $_dt ms (bound $2 ms)"
			return 0
		fi
		if [ $_dt -gt "$2" ]; then
			echo "reader $1: $3 still missing after $_dt ms"
			return 1
		fi
		sleep 0.02
	done
}

# missing_for NAME MS PATH: the reader still misses PATH each time it is asked for MS ms.
missing_for() {
	_t0=$(now_ms)
	while [ $(($(now_ms) - _t0)) -lt "$2" ]; do
		expect "$1" missing stat "$3" || return 1
		sleep 0.05
	done
}

# The default bound is 1000 ms; a second more for the reader's round trips and the
# coarse clock's tick.
test_expect_success 'default bound: .maintenance dropped into the base is seen within it' '
	reader_start "$WWW" r-def -o "$U" "$M" &&
	expect r-def exists stat "$M/wp/index.php" &&
	expect r-def missing stat "$M/wp/.maintenance" &&
	expect r-def missing stat "$M/wp/.maintenance" &&
	echo "<?php \$upgrading = 1;" >"$BASE/wp/.maintenance" &&
	seen_within r-def 2000 "$M/wp/.maintenance" &&
	expect r-def "<?php \$upgrading = 1;" read "$M/wp/.maintenance" &&
	reader_stop r-def &&
	test_must_be_empty r-def/err &&
	rm "$BASE/wp/.maintenance"
'

test_expect_success 'negttl=never: the miss stays for longer than the default bound, until aufsctl reval' '
	rm -f "$BASE/wp/.maintenance" &&
	reader_start "$WWW" r-never -o "$U,negttl=never" "$M" &&
	expect r-never missing stat "$M/wp/.maintenance" &&
	echo "<?php" >"$BASE/wp/.maintenance" &&
	missing_for r-never 2500 "$M/wp/.maintenance" &&
	if [ "$TENANT" = "$ME" ]; then
		aufsctl reval -o "$U,negttl=never" "$M" >out
	else
		user_aufsctl "$TENANT" reval -o "$U,negttl=never" "$M" >out
	fi &&
	expect r-never exists stat "$M/wp/.maintenance" &&
	reader_stop r-never &&
	test_must_be_empty r-never/err &&
	rm "$BASE/wp/.maintenance"
'

test_expect_success 'negttl=0: a miss is never trusted, a direct creation is seen at the next call' '
	rm -f "$BASE/wp/.maintenance" &&
	reader_start "$WWW" r-zero -o "$U,negttl=0" "$M" &&
	expect r-zero missing stat "$M/wp/.maintenance" &&
	expect r-zero missing stat "$M/wp/.maintenance" &&
	echo "<?php" >"$BASE/wp/.maintenance" &&
	expect r-zero exists stat "$M/wp/.maintenance" &&
	reader_stop r-zero &&
	rm "$BASE/wp/.maintenance"
'

# The tenant uploads over SFTP straight into its branch, as its own user; nginx
# (aufs-www) had answered 404 for the name. The new file is the tenant's, mode 0644.
test_expect_success 'an upload into the tenant'"'"'s branch is seen by the web server within negttl=500' '
	reader_start "$WWW" r-up -o "$U,negttl=500" "$M" &&
	expect r-up missing stat "$M/uploads/photo.jpg" &&
	expect r-up ENOENT read "$M/uploads/photo.jpg" &&
	as "$TENANT" sh -c "echo jpeg >\"\$0/uploads/photo.jpg\"" "$T1" &&
	seen_within r-up 1500 "$M/uploads/photo.jpg" &&
	expect r-up jpeg read "$M/uploads/photo.jpg" &&
	reader_stop r-up &&
	test_must_be_empty r-up/err
'

test_expect_success 'the same with a new directory: a whole tree uploaded under a missing name' '
	reader_start "$WWW" r-tree -o "$U,negttl=500" "$M" &&
	expect r-tree missing stat "$M/uploads/2024/05/a.jpg" &&
	as "$TENANT" sh -c "mkdir -p \"\$0/uploads/2024/05\" && echo a >\"\$0/uploads/2024/05/a.jpg\"" "$T1" &&
	seen_within r-tree 1500 "$M/uploads/2024/05/a.jpg" &&
	reader_stop r-tree &&
	test_must_be_empty r-tree/err
'

state_release pool
test_done
