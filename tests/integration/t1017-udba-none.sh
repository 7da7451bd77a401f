#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='udba=none: one lookup cache per union, shared by every process and user of it: a brand-new process starts warm; a direct change is not seen until aufsctl reval, a change through the union at once'
. "$(dirname "$0")/lib.sh"

# The host: a base owned by root (0755) with a tree six directories deep and a small
# site, tenant1's branch owned by aufs-tenant1, the web server aufs-www. The tenant's
# processes may write the union's shared state (and so fill its lookup cache); the web
# server's map it read-only and only read it (aufs-preload(7), CACHING AND UDBA).
host_users_ready || true
SHM_PROBE=$AUFS_BUILD/helper/shm-probe
STAT_PROBE=$AUFS_BUILD/helper/stat-probe
if test_have_prereq HOST_USERS; then
	TENANT=$AUFS_TENANT1 WWW=$AUFS_WWW
else
	TENANT=$ME WWW=$ME
fi
setup_branches base t1
BASE=$TRASH/base T1=$TRASH/t1 M=$TRASH/m
mkdir -p "$M" "$BASE/a/b/c/d/e" "$BASE/site"
echo deep >"$BASE/a/b/c/d/e/f"
for i in 1 2 3 4 5 6 7 8; do
	mkdir -p "$BASE/site/d$i/sub"
	for j in 1 2 3 4 5 6; do echo "$i.$j" >"$BASE/site/d$i/f$j.php"; done
	echo s >"$BASE/site/d$i/sub/s.php"
done
echo base >"$BASE/site/g"
# uploads: made in the tenant's branch too (its user writes there), with a base file
mkdir "$BASE/uploads" "$T1/uploads" "$T1/drop"
echo old >"$BASE/uploads/old.jpg"
chmod -R a+rX,go-w "$BASE"
if test_have_prereq HOST_USERS; then
	chown -R "$TENANT:" "$T1"
fi
chmod 0777 "$T1/drop"	# where the web server may write too
# what the programs under strace write, as whichever user they run as
O=$TRASH/traces
mkdir "$O" && chmod 1777 "$O"
# (nowarn_perm: a tenant-owned branch over a root base is this host's layout)
U="br:$T1=rw:$BASE=ro,nowarn_perm"
N="$U,udba=none"
DEEP=a/b/c/d/e/f MISS=a/b/c/d/e/nothere

# The tenant's long-running process (its php-fpm pool) makes the union's shared state
# and keeps it mapped: a state goes with the last process that maps it (one per mount
# point: each level below is mounted at its own directory, so each has its own state).
for l in none reval inotify; do
	mkdir "$TRASH/m-$l"
	state_hold "pool-$l" "$TENANT" "$TRASH/m-$l" -o "$U,udba=$l" "$TRASH/m-$l"
done
state_hold pool "$TENANT" "$M" -o "$N" "$M"

[ -x "$SHM_PROBE" ] && test_set_prereq SHM_PROBE
[ -x "$STAT_PROBE" ] && test_set_prereq STAT_PROBE
# (not for a sanitized build: the ASan runtime makes calls of its own)
[ "$SANITIZE" = 1 ] || test_set_prereq NOSAN
prereq_reason() {
	case $1 in
	NOSAN) echo "the sanitized build counts the ASan runtime's calls too" ;;
	STRACE | STAT_PROBE | SHM_PROBE) echo "$(echo "$1" | tr '[:upper:]' '[:lower:]') is missing" ;;
	HOST_USERS) echo "needs root and the users aufs-tenant1, aufs-www" ;;
	*) echo "missing $1" ;;
	esac
}

# calls TRACE ROUND: the system calls stat-probe's own thread made in ROUND (its
# markers, the writes, and printf's fstat of stdout left out), one name a line; a
# thread of the library's (udba=inotify's watcher) may run meanwhile, and is not it.
calls() {
	_pid=$(sed -n "s/^\([0-9][0-9]*\) *write(-1, \"round $2.*/\1/p" "$1" | head -n 1)
	grep "^$_pid " "$1" | grep -v "^$_pid *<\.\.\. .* resumed>" |
		sed -n "/write(-1, \"round $2/,/write(-1, \"round $(($2 + 1))\|write(1, /p" |
		sed -E 's/^[0-9]+ +//' | grep -v -E '^(write\(|newfstatat\(1,|brk\(|getrandom\()' |
		sed -E 's/\(.*//'
}

# probe_trace USER MNT UDBA TRACE [deep]: in a brand-new process of USER, the warm-up
# stat of the mount point (the library maps the state), then two rounds of a stat of
# the deep base file and of a missing name beside it (deep: the file only), under
# strace.
probe_trace() {
	if [ "${5:-}" = deep ]; then
		set -- "$1" "$2" "$3" "$4" "$2/$DEEP"
		printf "%s exists\n" "$2/$DEEP" >"$4.want"
	else
		set -- "$1" "$2" "$3" "$4" "$2/$DEEP" "$2/$MISS"
		printf "%s exists\n%s missing\n" "$2/$DEEP" "$2/$MISS" >"$4.want"
	fi
	_o=$4
	run_as "$1" -o "$U,udba=$3" "$2" -- strace -f -o "$O/$4" \
		"$STAT_PROBE" -w "$2" -n 2 "$5" ${6:+"$6"} >"$4.out" &&
	test_cmp "$_o.want" "$_o.out" &&
	cp "$O/$_o" "$_o"
}

test_expect_success STRACE,STAT_PROBE,NOSAN 'natively: a stat of the deep file costs one system call, of the missing name one' '
	strace -f -o native.trace "$STAT_PROBE" -w "$BASE" -n 2 "$BASE/$DEEP" "$BASE/$MISS" >out &&
	calls native.trace 0 >calls0 && calls native.trace 1 >calls1 &&
	printf "newfstatat\nnewfstatat\n" >expect &&
	test_cmp expect calls0 && test_cmp expect calls1
'

test_expect_success STRACE,STAT_PROBE,NOSAN 'udba=none: after another process warmed the union, a brand-new process pays one system call for the deep file and none for the miss' '
	run_as "$TENANT" -o "$N" "$TRASH/m-none" -- "$STAT_PROBE" "$TRASH/m-none/$DEEP" "$TRASH/m-none/$MISS" >warm.out &&
	probe_trace "$TENANT" "$TRASH/m-none" none none.trace &&
	calls none.trace 0 >calls0 && calls none.trace 1 >calls1 &&
	echo newfstatat >expect &&
	test_cmp expect calls0 &&
	test_cmp expect calls1
'

test_expect_success STRACE,STAT_PROBE,NOSAN 'udba=reval and inotify: a brand-new process probes what another warmed, then costs what none costs' '
	for l in reval inotify; do
		run_as "$TENANT" -o "$U,udba=$l" "$TRASH/m-$l" -- \
			"$STAT_PROBE" "$TRASH/m-$l/$DEEP" "$TRASH/m-$l/$MISS" >warm.out &&
		probe_trace "$TENANT" "$TRASH/m-$l" $l $l.trace &&
		calls $l.trace 0 >calls0 && calls $l.trace 1 >calls1 &&
		say "# udba=$l: a fresh process, first round: $(wc -l <calls0) system calls (none: 1, native: 2)" &&
		test "$(wc -l <calls0)" -gt 2 &&
		echo newfstatat >expect &&
		test_cmp expect calls1 || return 1
	done
'

# The web server's fresh process (a new php-fpm worker, a CGI, a cron job as www)
# finds what the tenant's process looked up: read-only, it writes nothing there. It
# probes a miss itself (once: then its own cache has it), since it may have created
# the name in a process before, unannounced.
test_expect_success HOST_USERS,STRACE,STAT_PROBE,SHM_PROBE,NOSAN 'cross-user: aufs-tenant1 warms the union, a brand-new aufs-www process pays what a native stat pays, and writes nothing in the state' '
	mkdir "$TRASH/m-x" &&
	state_hold pool-x "$TENANT" "$TRASH/m-x" -o "$N" "$TRASH/m-x" &&
	run_as "$TENANT" -o "$N" "$TRASH/m-x" -- "$STAT_PROBE" "$TRASH/m-x/$DEEP" "$TRASH/m-x/$MISS" >warm.out &&
	id= &&
	for l in "$T1"/.wh..wh.aufs.shm.*; do
		i=$("$SHM_PROBE" id "$l") || return 1
		if "$SHM_PROBE" info "$i" | grep -q " mnt=$TRASH/m-x\$"; then id=$i; fi
	done &&
	test -n "$id" &&
	test "$("$SHM_PROBE" cache "$id")" -ge 7 &&
	before=$("$SHM_PROBE" sum "$id") &&
	probe_trace "$WWW" "$TRASH/m-x" none www.trace deep &&
	calls www.trace 0 >calls0 && calls www.trace 1 >calls1 &&
	echo newfstatat >expect &&
	test_cmp expect calls0 &&
	test_cmp expect calls1 &&
	probe_trace "$WWW" "$TRASH/m-x" none www2.trace &&
	test "$("$SHM_PROBE" sum "$id")" = "$before" &&
	calls www2.trace 1 >calls1 &&
	test_cmp expect calls1
'

test_expect_success PYTHON 'aufsctl status: how much of the shared lookup cache is in use' '
	run_as "$TENANT" -o "$N" "$TRASH/m-none" -- test -e "$TRASH/m-none/$DEEP" &&
	aufsctl status -o "$N" "$TRASH/m-none" >out &&
	test_grep "^  shared lookup cache: [1-9][0-9]* of 16384 entries\$" out &&
	aufsctl status --json -o "$N" "$TRASH/m-none" >json &&
	python3 -c "
import json
s = json.load(open(\"json\"))[\"unions\"][0][\"state\"]
assert s[\"shared_entries\"] > 0 and s[\"shared_slots\"] == 16384, s
" &&
	aufsctl status -o "$U" "$TRASH/m-reval" >out &&
	! grep "shared lookup cache" out
'

# find, du, grep -r and tar in a fresh process, after another process ran them: system
# calls of the whole program (strace -c -f), natively on the base, under reval and none.
# A listing tells a thread which branch holds each name it shows, so a program that
# lists before it looks costs about native under both levels; none is never dearer.
syscalls_of() {
	awk '$NF == "total" { print $(NF - 2) == "" ? $3 : $(NF - 2) }' "$1" | tail -n 1
}
test_expect_success STRACE,NOSAN 'find, du, grep -r and tar in a fresh process cost no more under none than under reval' '
	for prog in find du "grep -r zz" "tar -cf -"; do
		f=$(echo $prog | cut -d" " -f1) &&
		strace -c -f -o "$O/native.$f" $prog "$BASE" >/dev/null 2>&1 ||
		test $? = 1 || return 1
		n=$(syscalls_of "$O/native.$f") &&
		for l in reval none; do
			run_as "$TENANT" -o "$U,udba=$l" "$TRASH/m-$l" -- $prog "$TRASH/m-$l" >/dev/null 2>&1
			run_as "$TENANT" -o "$U,udba=$l" "$TRASH/m-$l" -- \
				strace -c -f -o "$O/$l.$f" $prog "$TRASH/m-$l" >/dev/null 2>&1
			test -s "$O/$l.$f" || return 1
		done &&
		r=$(syscalls_of "$O/reval.$f") && o=$(syscalls_of "$O/none.$f") &&
		say "# $prog, fresh process, system calls: native $n, udba=reval $r, udba=none $o" &&
		test "$o" -le "$r" || return 1
	done
'

# A direct change to the branches, bypassing the union: under none, no process of the
# union sees it, not even a new one, until aufsctl reval; then every process does.
test_expect_success 'udba=none: a file dropped directly into the base is not seen by the tenant, even in a new process, until aufsctl reval' '
	expect_missing() {
		run_as "$1" -o "$N" "$M" -- sh -c "test -e \"\$0\" && echo exists || echo missing" "$2" >got &&
		echo "$3" >want && test_cmp want got
	} &&
	expect_missing "$TENANT" "$M/site/.maintenance" missing &&
	echo "<?php" >"$BASE/site/.maintenance" &&
	expect_missing "$TENANT" "$M/site/.maintenance" missing &&
	sleep 1.2 &&
	expect_missing "$TENANT" "$M/site/.maintenance" missing &&
	# the web server (read-only: it believes no shared miss) probes it in a new process
	if [ "$WWW" != "$TENANT" ]; then
		expect_missing "$WWW" "$M/site/.maintenance" exists
	fi &&
	if [ "$TENANT" = "$ME" ]; then
		aufsctl reval -o "$N" "$M" >out
	else
		user_aufsctl "$TENANT" reval -o "$N" "$M" >out
	fi &&
	expect_missing "$WWW" "$M/site/.maintenance" exists &&
	expect_missing "$TENANT" "$M/site/.maintenance" exists &&
	rm "$BASE/site/.maintenance"
'

test_expect_success 'udba=none: a copy written directly above a cached base file is not seen until aufsctl reval; under reval a new process sees it' '
	mkdir "$TRASH/m-r2" &&
	snapshot_branch "$BASE" &&
	run_as "$TENANT" -o "$N" "$M" -- cat "$M/site/g" >got && echo base >want && test_cmp want got &&
	run_as "$TENANT" -o "$U" "$TRASH/m-r2" -- cat "$TRASH/m-r2/site/g" >got && test_cmp want got &&
	as "$TENANT" sh -c "mkdir -p \"\$0/site\" && echo top >\"\$0/site/g\"" "$T1" &&
	run_as "$WWW" -o "$N" "$M" -- cat "$M/site/g" >got && test_cmp want got &&
	run_as "$WWW" -o "$U" "$TRASH/m-r2" -- cat "$TRASH/m-r2/site/g" >got &&
	echo top >want && test_cmp want got &&
	if [ "$TENANT" = "$ME" ]; then
		aufsctl reval -o "$N" "$M" >out
	else
		user_aufsctl "$TENANT" reval -o "$N" "$M" >out
	fi &&
	run_as "$WWW" -o "$N" "$M" -- cat "$M/site/g" >got && test_cmp want got &&
	as "$TENANT" rm "$T1/site/g" &&
	if [ "$TENANT" = "$ME" ]; then
		aufsctl reval -o "$N" "$M" >out
	else
		user_aufsctl "$TENANT" reval -o "$N" "$M" >out
	fi &&
	run_as "$WWW" -o "$N" "$M" -- cat "$M/site/g" >got && echo base >want && test_cmp want got &&
	branch_untouched "$BASE"
'

# A file removed directly is noticed by the operation itself (ENOENT: looked up again).
test_expect_success 'udba=none: a cached file removed directly from the base is looked up again by the operation that misses it' '
	echo gone >"$BASE/site/d1/tmp.php" &&
	run_as "$TENANT" -o "$N" "$M" -- cat "$M/site/d1/tmp.php" >got &&
	echo gone >want && test_cmp want got &&
	rm "$BASE/site/d1/tmp.php" &&
	test_must_fail run_as "$WWW" -o "$N" "$M" -- cat "$M/site/d1/tmp.php" 2>err &&
	test_grep "No such file or directory" err
'

# The web server maps the state read-only: a change it makes through the union cannot
# be announced there. Its own processes see it (that one stops asking the shared cache,
# and none of them believes a shared miss); for the processes that may write the state
# it is a direct change, seen after aufsctl reval.
test_expect_success HOST_USERS 'udba=none: the web server sees its own change through the union at once; the tenant after aufsctl reval' '
	test_must_fail run_as "$TENANT" -o "$N" "$M" -- test -e "$M/drop/w.txt" &&
	run_as "$WWW" -o "$N" "$M" -- sh -c "echo www >\"\$0/drop/w.txt\" && test -e \"\$0/drop/w.txt\" && cat \"\$0/drop/w.txt\"" "$M" >got &&
	echo www >want && test_cmp want got &&
	test -f "$T1/drop/w.txt" &&
	run_as "$WWW" -o "$N" "$M" -- cat "$M/drop/w.txt" >got &&
	test_cmp want got &&
	test_must_fail run_as "$TENANT" -o "$N" "$M" -- test -e "$M/drop/w.txt" &&
	user_aufsctl "$TENANT" reval -o "$N" "$M" >out &&
	run_as "$TENANT" -o "$N" "$M" -- cat "$M/drop/w.txt" >got &&
	test_cmp want got
'

reader_script

test_expect_success 'udba=none: a change through the union by one process is seen at once by a running one and by a new one' '
	snapshot_branch "$BASE" &&
	reader_start "$WWW" r-none -o "$N" "$M" &&
	expect r-none missing stat "$M/uploads/up.txt" &&
	expect r-none exists stat "$M/uploads/old.jpg" &&
	run_as "$TENANT" -o "$N" "$M" -- sh -c "echo up >\"\$0/uploads/up.txt\" && rm \"\$0/uploads/old.jpg\"" "$M" &&
	expect r-none exists stat "$M/uploads/up.txt" &&
	expect r-none up read "$M/uploads/up.txt" &&
	expect r-none missing stat "$M/uploads/old.jpg" &&
	run_as "$WWW" -o "$N" "$M" -- cat "$M/uploads/up.txt" >got &&
	echo up >want && test_cmp want got &&
	test_must_fail run_as "$WWW" -o "$N" "$M" -- test -e "$M/uploads/old.jpg" &&
	reader_stop r-none &&
	test_must_be_empty r-none/err &&
	test -e "$T1/uploads/.wh.old.jpg" && test -f "$T1/uploads/up.txt" &&
	branch_untouched "$BASE"
'

test_done
