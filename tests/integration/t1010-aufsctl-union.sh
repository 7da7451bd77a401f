#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='aufsctl on a running union: status, reval [PATH], diff and check [--repair], named by -o or the host table'
. "$(dirname "$0")/lib.sh"

# The host: a base owned by root (0755), tenant1's branch owned by aufs-tenant1, the
# web server aufs-www reading. A long-running reader (one shell, builtins only, so
# that its lookups go through the caches of that one process) answers requests
# while the base changes behind the union's back and aufsctl acts.
host_users_ready || true
SHM_PROBE=$AUFS_BUILD/helper/shm-probe
if test_have_prereq HOST_USERS; then
	TENANT=$AUFS_TENANT1 WWW=$AUFS_WWW
else
	TENANT=$ME WWW=$ME
fi
if [ "$AUFS_BUILD" = "$AUFS_ROOT/build" ]; then
	AUFSCTL=$AUFS_ROOT/bin/aufsctl
else
	AUFSCTL=$AUFS_BUILD/aufsctl
fi

setup_branches base t1 ro2
BASE=$TRASH/base T1=$TRASH/t1 M=$TRASH/m
mkdir "$M" "$BASE/w" "$BASE/w/d1" "$BASE/w/d2" "$BASE/d" "$BASE/keep"
for f in a b c; do echo "base-$f" >"$BASE/$f"; done
echo x >"$BASE/d/x" && echo k >"$BASE/keep/k"
chmod -R a+rX,go-w "$BASE"
# negttl=never: a miss stays cached until reval, whatever the time the test takes
U="br:$T1=rw:$BASE=ro,nowarn_perm,negttl=never"
if test_have_prereq HOST_USERS; then
	chown -R "$TENANT:" "$T1" "$BASE/w"
fi
cat >"$TRASH/fstab" <<EOF
none $M aufs $U 0 0
none $TRASH/m2 aufs br:$TRASH/ro2=ro 0 0
EOF

json_ok() {
	python3 -c 'import json,sys; json.load(sys.stdin)'
}

reader_script

# reader_www NAME: the web server's reader in $TRASH/NAME over the union at M.
# pool: the tenant's long-running process that keeps the union's state (a state goes
# with the last process that maps it).
pool_start() {
	state_hold pool "$TENANT" "$M" -o "$U" "$M"
}

reader_www() {
	reader_start "$WWW" "$1" -o "$U" "$M"
}

# A process number that no process has now: one that just ended.
dead_pid() {
	sh -c 'echo $$'
}

# test_expect_code_ CODE CMD...: CMD exits CODE; its stderr is in ./err.
test_expect_code_() {
	_want=$1
	shift
	"$@" >out 2>err
	_st=$?
	if [ "$_st" != "$_want" ]; then
		echo "exit $_st, expected $_want: $*"
		cat out err
		return 1
	fi
}

test_expect_success 'bad input: no union at MNT, a missing branch, a missing MNT, a stray option (exit 2, one line)' '
	test_expect_code_ 2 "$AUFSCTL" status "$TRASH/nowhere" &&
	echo "aufsctl: no union at $TRASH/nowhere (give -o OPTIONS or --fstab FILE)" >expect &&
	test_cmp expect err &&
	test_expect_code_ 2 "$AUFSCTL" reval --fstab "$TRASH/fstab" "$TRASH/nowhere" &&
	echo "aufsctl: no union at $TRASH/nowhere in $TRASH/fstab (give -o OPTIONS or --fstab FILE)" >expect &&
	test_cmp expect err &&
	test_expect_code_ 2 "$AUFSCTL" diff -o "br:$TRASH/gone=rw:$BASE" "$M" &&
	test_grep "gone" err && test_line_count = 1 err &&
	test_expect_code_ 2 "$AUFSCTL" reval -o "$U" &&
	test_line_count = 1 err &&
	test_expect_code_ 2 "$AUFSCTL" diff --fstab "$TRASH/fstab" -o "$U" "$M" &&
	test_expect_code_ 2 "$AUFSCTL" status --repair "$M" &&
	test_expect_code_ 2 "$AUFSCTL" reval -o "$U" "$M" "$M/no/such/dir" &&
	test_grep "no branch of the union" err
'

test_expect_success 'status of a union no process ran yet, and of one without a writable branch' '
	"$AUFSCTL" status -o "$U" "$M" >out &&
	cat out &&
	test_grep "^$M\$" out &&
	test_grep "^  branch 0: $T1 rw\$" out &&
	test_grep "^  branch 1: $BASE ro\$" out &&
	test_grep "^  udba=reval create=tdp cpup=tdp\$" out &&
	test_grep "shared state: none: no process of the union maps one" out &&
	mkdir m2 &&
	"$AUFSCTL" status --fstab "$TRASH/fstab" >out &&
	test_grep "^$TRASH/m2\$" out &&
	test_grep "no writable branch" out &&
	test "$(grep -c "^/" out)" = 2
'

test_expect_success PYTHON 'status --json: one object, every union of the host table (AUFS_FSTAB)' '
	AUFS_FSTAB=$TRASH/fstab "$AUFSCTL" status --json >out &&
	json_ok <out &&
	python3 -c "
import json, sys
d = json.load(open(\"out\"))
u = [x for x in d[\"unions\"] if x[\"mount\"] == \"$M\"][0]
assert [b[\"perm\"] for b in u[\"branches\"]] == [\"rw\", \"ro\"], u
assert u[\"udba\"] == \"reval\" and u[\"state\"][\"status\"] == \"none\", u
assert len(d[\"unions\"]) == 2
"
'

test_expect_success PYTHON 'status: the processes attached and the counters of a running union' '
	pool_start &&
	reader_www r-st &&
	run_as "$TENANT" -o "$U" "$M" -- sh -c "echo new >\"\$0/w/a-new\"" "$M" &&
	expect r-st exists stat "$M/w/a-new" &&
	"$AUFSCTL" status -o "$U" "$M" >out &&
	cat out &&
	test_grep "^  shared state: segment [0-9]* ($T1/.wh..wh.aufs.shm.[0-9a-f]*), 2 processes attached\$" out &&
	test_grep "^  generation 1, lookups [1-9][0-9]*, copy-ups 0, whiteouts [0-9]*\$" out &&
	"$AUFSCTL" status --json -o "$U" "$M" >out &&
	python3 -c "
import json
s = json.load(open(\"out\"))[\"unions\"][0][\"state\"]
assert s[\"status\"] == \"present\" and s[\"attached\"] == 2 and s[\"lookups\"] > 0, s
" &&
	reader_stop r-st &&
	"$AUFSCTL" status -o "$U" "$M" >out &&
	test_grep ", 1 process attached\$" out &&
	state_release pool &&
	"$AUFSCTL" status -o "$U" "$M" >out &&
	test_grep "shared state: none: no process of the union maps one" out &&
	test_must_be_empty r-st/err
'

test_expect_success 'status reads the state and never writes it' '
	pool_start &&
	id=$("$SHM_PROBE" id "$T1"/.wh..wh.aufs.shm.*) &&
	before=$("$SHM_PROBE" sum "$id") &&
	"$AUFSCTL" status -o "$U" "$M" >/dev/null &&
	as "$WWW" "$AUFSCTL" status -o "$U" "$M" >/dev/null &&
	test "$("$SHM_PROBE" sum "$id")" = "$before" &&
	state_release pool
'

test_expect_success 'reval MNT: a name cached as missing, then created directly in the base, is seen at the next call' '
	pool_start &&
	reader_www r-rv &&
	expect r-rv missing stat "$M/w/late" &&
	echo late >"$BASE/w/late" &&
	expect r-rv missing stat "$M/w/late" &&
	expect r-rv missing stat "$M/w/late" &&
	as "$TENANT" "$AUFSCTL" reval -o "$U" "$M" >out &&
	echo "$M: every process drops what it cached at its next call" >expect &&
	test_cmp expect out &&
	expect r-rv exists stat "$M/w/late" &&
	reader_stop r-rv &&
	state_release pool &&
	test_must_be_empty r-rv/err
'

test_expect_success 'reval MNT PATH: only that directory'"'"'s names are dropped' '
	pool_start &&
	reader_www r-dir &&
	expect r-dir missing stat "$M/w/d1/n" &&
	expect r-dir missing stat "$M/w/d2/n" &&
	echo n >"$BASE/w/d1/n" && echo n >"$BASE/w/d2/n" &&
	expect r-dir missing stat "$M/w/d1/n" &&
	expect r-dir missing stat "$M/w/d2/n" &&
	"$AUFSCTL" reval --fstab "$TRASH/fstab" "$M" w/d1 >out &&
	echo "$M: every process drops what it cached in /w/d1 at its next call" >expect &&
	test_cmp expect out &&
	expect r-dir exists stat "$M/w/d1/n" &&
	expect r-dir missing stat "$M/w/d2/n" &&
	"$AUFSCTL" reval --fstab "$TRASH/fstab" "$M" "$M/w/d2/" &&
	expect r-dir exists stat "$M/w/d2/n" &&
	reader_stop r-dir &&
	state_release pool &&
	test_must_be_empty r-dir/err
'

test_expect_success HOST_USERS 'reval by a user who may not write the state fails (exit 1) and changes nothing' '
	pool_start &&
	id=$("$SHM_PROBE" id "$T1"/.wh..wh.aufs.shm.*) &&
	before=$("$SHM_PROBE" sum "$id") &&
	test_expect_code_ 1 as "$WWW" "$AUFSCTL" reval -o "$U" "$M" &&
	test_grep "only root or the owner of $T1 (uid $(id -u "$TENANT")) may write it" err &&
	test_line_count = 1 err &&
	test "$("$SHM_PROBE" sum "$id")" = "$before" &&
	state_release pool
'

test_expect_success 'reval of a union without a writable branch fails (exit 1); without a state there is nothing to drop' '
	test_expect_code_ 1 "$AUFSCTL" reval --fstab "$TRASH/fstab" "$TRASH/m2" &&
	test_grep "no writable branch" err &&
	mkdir -p fresh/t fresh/m &&
	"$AUFSCTL" reval -o "br:$TRASH/fresh/t=rw:$BASE" "$TRASH/fresh/m" >out &&
	test_grep "no shared state" out &&
	test_path_is_missing fresh/t/.wh..wh.aufs.shm.*
'

# diff and check work on unions of their own over the same base: the tenant's
# session is in s/, which the base gives to the tenant.
mkdir "$BASE/s" "$BASE/s/d" "$BASE/s/keep"
for f in a b c; do echo "base-$f" >"$BASE/s/$f"; done
echo x >"$BASE/s/d/x" && echo k >"$BASE/s/keep/k"
chmod -R a+rX,go-w "$BASE/s"
setup_branches t3 t4 ro4
T3=$TRASH/t3 T4=$TRASH/t4 RO4=$TRASH/ro4 M3=$TRASH/m3 M4=$TRASH/m4
mkdir "$M3" "$M4"
U3="br:$T3=rw:$BASE=ro,nowarn_perm"
U4="br:$T4=rw:$RO4=ro:$BASE=ro,nowarn_perm"
if test_have_prereq HOST_USERS; then
	chown -R "$TENANT:" "$BASE/s" "$T3" "$T4"
fi

test_expect_success 'diff: exactly the added, changed, deleted and opaque paths of a session, sorted' '
	run_as "$TENANT" -o "$U3" "$M3" -- sh -ec "
		cd \"\$0/s\"
		echo new >new.txt
		echo more >>a
		rm b
		rm d/x && rmdir d && mkdir d
		mkdir sub && echo f >sub/f
		echo more >>keep/k
	" "$M3" &&
	"$AUFSCTL" diff -o "$U3" "$M3" >out &&
	cat >expect <<-EOF &&
	M s/a
	D s/b
	O s/d
	M s/keep/k
	A s/new.txt
	A s/sub
	A s/sub/f
	EOF
	test_cmp expect out &&
	as "$WWW" "$AUFSCTL" diff -o "$U3" "$M3" >out &&
	test_cmp expect out
'

test_expect_success 'diff: a file in a new directory of an opaque one, a chmod of a lower directory, a whiteout hiding nothing' '
	run_as "$TENANT" -o "$U3" "$M3" -- sh -ec "
		cd \"\$0/s\"
		echo y >d/y
		chmod 0700 keep
	" "$M3" &&
	ln "$T3/.wh..wh.aufs" "$T3/s/.wh.never-was" &&
	"$AUFSCTL" diff -o "$U3" "$M3" >out &&
	cat >expect <<-EOF &&
	M s/a
	D s/b
	O s/d
	A s/d/y
	M s/keep
	M s/keep/k
	A s/new.txt
	A s/sub
	A s/sub/f
	EOF
	test_cmp expect out &&
	rm "$T3/s/.wh.never-was"
'

test_expect_success PYTHON 'diff --json: one object, a change per path' '
	"$AUFSCTL" diff --json -o "$U3" "$M3" >out &&
	json_ok <out &&
	python3 -c "
import json
d = json.load(open(\"out\"))
c = [(x[\"change\"], x[\"path\"]) for x in d[\"changes\"]]
assert (\"deleted\", \"s/b\") in c and (\"opaque\", \"s/d\") in c and (\"added\", \"s/sub/f\") in c, c
assert d[\"branch\"] == \"$T3\" and d[\"complete\"] is True and len(c) == 9, d
"
'

test_expect_success 'check: a planted interrupted copy-up and a whiteout with no target are found (exit 3), repaired, then clean' '
	mkdir -p "$T4/s" && echo half >"$T4/s/.wh..wh.cpup.$(dead_pid).0" &&
	: >"$T4/.wh..wh.aufs" && ln "$T4/.wh..wh.aufs" "$T4/s/.wh.ghost" &&
	ln "$T4/.wh..wh.aufs" "$T4/s/.wh.a" &&
	test_expect_code_ 3 "$AUFSCTL" check -o "$U4" "$M4" &&
	cat out &&
	test_line_count = 2 out &&
	test_grep "^$T4/s/.wh..wh.cpup.[0-9]*.0: interrupted copy-up (process [0-9]* no longer runs)\$" out &&
	test_grep "^$T4/s/.wh.ghost: whiteout with no target: no lower branch has the name\$" out &&
	"$AUFSCTL" check --repair -o "$U4" "$M4" >out &&
	test_line_count = 2 out &&
	test "$(grep -c "; removed\$" out)" = 2 &&
	test_path_is_missing "$T4/s/.wh.ghost" &&
	! ls "$T4/s" | grep cpup &&
	test -e "$T4/s/.wh.a" &&
	"$AUFSCTL" check -o "$U4" "$M4" >out &&
	echo "$M4: clean" >expect &&
	test_cmp expect out &&
	run_as "$TENANT" -o "$U4" "$M4" -- cat "$M4/s/c" >out &&
	echo base-c >expect && test_cmp expect out
'

test_expect_success 'check --repair leaves a live process'"'"'s temporary, and anything in a read-only branch' '
	sleep 30 &
	live=$! &&
	echo half >"$T4/.wh..wh.cpup.$live.1" &&
	mkdir -p "$RO4/s/gone" && echo half >"$RO4/.wh..wh.cpup.$(dead_pid).2" &&
	mkdir "$T4/s/newdir" && : >"$T4/s/newdir/.wh..wh..opq" &&
	snapshot_branch "$RO4" &&
	test_expect_code_ 3 "$AUFSCTL" check --repair -o "$U4" "$M4" &&
	cat out &&
	test_line_count = 2 out &&
	test_grep "^$RO4/.wh..wh.cpup.*no longer runs); left: read-only branch\$" out &&
	test_grep "^$T4/s/newdir/.wh..wh..opq: opaque marker in a directory that no lower branch has; removed\$" out &&
	test -e "$T4/.wh..wh.cpup.$live.1" &&
	branch_untouched "$RO4" &&
	kill $live && wait $live
	rm "$RO4"/.wh..wh.cpup.* "$T4/.wh..wh.cpup.$live.1" &&
	"$AUFSCTL" check -o "$U4" "$M4"
'

test_expect_success PYTHON 'check --json' '
	mkdir -p "$T4/s" && echo half >"$T4/s/.wh..wh.cpup.$(dead_pid).7" &&
	test_expect_code_ 3 "$AUFSCTL" check --json -o "$U4" "$M4" &&
	json_ok <out &&
	python3 -c "
import json
d = json.load(open(\"out\"))
assert d[\"found\"] == 1 and d[\"findings\"][0][\"kind\"] == \"copyup-temporary\", d
" &&
	"$AUFSCTL" check --repair --json -o "$U4" "$M4" >out &&
	python3 -c "
import json
d = json.load(open(\"out\"))
assert d[\"found\"] == 1 and d[\"repaired\"] == 1 and d[\"findings\"][0][\"repaired\"], d
"
'

test_expect_success 'check: warn_perm findings are reported and not repairable' '
	mkdir -p wp/t wp/m && chmod 0777 wp/t &&
	test_expect_code_ 3 "$AUFSCTL" check --repair -o "br:$TRASH/wp/t=rw:$BASE" "$TRASH/wp/m" &&
	cat out &&
	test_grep "^warning: $TRASH/wp/m: writable branch $TRASH/wp/t is writable by every user (mode 0777).*; left: not repairable\$" out &&
	test "$(grep -vc "; left: not repairable\$" out)" = 0
'

test_expect_success 'check FILE is still the host table image check (a regular file is an fstab)' '
	test_expect_code_ 3 env AUFS_TABLE="$TRASH/img" "$AUFSCTL" check "$TRASH/fstab" &&
	test_grep "missing" err &&
	"$AUFSCTL" load --image "$TRASH/img" "$TRASH/fstab" &&
	AUFS_TABLE="$TRASH/img" "$AUFSCTL" check "$TRASH/fstab" >out &&
	test_grep ": ok, 2 unions" out
'

test_done
