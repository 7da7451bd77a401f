#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='udba=inotify: a direct change of a branch is seen by every process of the union within 100 ms, with no aufsctl call; the watcher moves when its holder dies'
. "$(dirname "$0")/lib.sh"

# The host: a base owned by root, the tenant's branch owned by the tenant, a
# long-running process of the tenant (a php-fpm master: it may write the union's
# shared state, so it is the union's watcher) and a long-running reader as the web
# server (it maps the state read-only: never a watcher). The reader looked up a
# missing name and a present one; the test then changes the branches directly and
# the reader polls, with a deadline, until it sees each change.
host_users_ready || true
SHM_PROBE=$AUFS_BUILD/helper/shm-probe
ME=$(id -un)
if test_have_prereq HOST_USERS; then
	TENANT=$AUFS_TENANT1 WWW=$AUFS_WWW
else
	TENANT=$ME WWW=$ME
fi
# How late a direct change may be seen (aufs-preload(7), CACHING AND UDBA).
DEADLINE_MS=${AUFS_INOTIFY_DEADLINE_MS:-100}

setup_branches base t1
BASE=$TRASH/base T1=$TRASH/t1 M=$TRASH/m M2=$TRASH/m2 SYNC=$TRASH/sync
mkdir "$M" "$M2" "$SYNC" "$BASE/d"
echo present >"$BASE/present"
echo present2 >"$BASE/present2"
chmod -R a+rX,go-w "$BASE" && chmod 0777 "$SYNC"
test_have_prereq HOST_USERS && chown "$TENANT:" "$T1"
U="br:$T1=rw:$BASE=ro,nowarn_perm,udba=inotify"
# (negttl=never: the default bound of a miss, 1 s, is not what this control is about)
U_REVAL="br:$T1=rw:$BASE=ro,nowarn_perm,negttl=never"

# holder.py MNT NAME: a process of the union that stays (a pool master): it looks
# into the union, writes its pid to SYNC/NAME.pid and waits for SYNC/NAME.stop.
cat >"$TRASH/holder.py" <<'EOF'
import os, sys, time
mnt, name = sys.argv[1], sys.argv[2]
sync = os.path.join(os.path.dirname(mnt), "sync")
os.listdir(mnt)
with open(os.path.join(sync, name + ".pid.tmp"), "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(os.path.join(sync, name + ".pid.tmp"), os.path.join(sync, name + ".pid"))
for _ in range(1200):
    if os.path.exists(os.path.join(sync, name + ".stop")):
        break
    time.sleep(0.05)
EOF

# reader.py MNT DEADLINE_MS CASE...: CASE is PATH=yes|no, what PATH must become. It
# looks up every PATH first (a missing one is then cached as missing), then for
# each case in turn: writes SYNC/ready.N, waits for SYNC/go.N (the time the test
# made the change, written by the test), and polls PATH until it is as wanted or
# the deadline passed. Prints "PATH seen" or "PATH not seen" (stdout) and the
# time it took (stderr).
cat >"$TRASH/reader.py" <<'EOF'
import os, sys, time
mnt, deadline = sys.argv[1], float(sys.argv[2]) / 1000
sync = os.path.join(os.path.dirname(mnt), "sync")
cases = [c.split("=") for c in sys.argv[3:]]
os.chdir(mnt)
for path, _ in cases:
    print(path, "exists" if os.path.exists(path) else "missing", flush=True)
for n, (path, want) in enumerate(cases):
    open(os.path.join(sync, "ready.%d" % n), "w").close()
    go = os.path.join(sync, "go.%d" % n)
    for _ in range(3000):
        if os.path.exists(go):
            break
        time.sleep(0.01)
    with open(go) as f:
        t0 = float(f.read())
    while True:
        seen = os.path.exists(path) == (want == "yes")
        late = time.time() - t0
        if seen or late > deadline:
            break
        time.sleep(0.001)
    print(path, "seen" if seen else "not seen", flush=True)
    print("%s: %s after %.1f ms" % (path, "seen" if seen else "not seen", late * 1000),
          file=sys.stderr, flush=True)
EOF

# wait_file FILE: up to 15 s.
wait_file() {
	_i=0
	while ! [ -e "$1" ]; do
		_i=$((_i + 1))
		[ $_i -le 300 ] || { echo "timed out waiting for $1"; return 1; }
		sleep 0.05
	done
}

# state_id: the segment of the union at $M (its link is the first one made in T1;
# the control union at $M2 makes another there).
state_id() {
	[ -s "$TRASH/state.link" ] || ls -d "$T1"/.wh..wh.aufs.shm.* >"$TRASH/state.link" ||
		return 1
	"$SHM_PROBE" id "$(cat "$TRASH/state.link")"
}

# wait_watcher PID: until process PID watches the union at $M (at most 15 s), and
# at least one directory of each branch is watched.
wait_watcher() {
	_i=0
	while :; do
		_w=$("$SHM_PROBE" watcher "$(state_id 2>/dev/null)" 2>/dev/null)
		case $_w in
		"$1 "*) [ "${_w#* }" -ge 2 ] && return 0 ;;
		esac
		_i=$((_i + 1))
		[ $_i -le 300 ] || { echo "watcher is \"$_w\", not $1"; return 1; }
		sleep 0.05
	done
}

# change N CMD...: wait for the reader's ready.N, run CMD (directly in the
# branches), then tell the reader when.
change() {
	_n=$1
	shift
	wait_file "$SYNC/ready.$_n" && "$@" &&
		python3 -c 'import time; print(time.time())' >"$SYNC/go.$_n.tmp" &&
		mv "$SYNC/go.$_n.tmp" "$SYNC/go.$_n"
}

# union_as USER ARGS...: aufs_run as USER (as the tester itself without host users).
union_as() {
	if test_have_prereq HOST_USERS; then
		user_aufs_run "$@"
	else
		shift
		aufs_run "$@"
	fi
}

mkdir_with_file() {
	mkdir "$BASE/newdir" && echo f >"$BASE/newdir/f"
}

test_expect_success PYTHON 'the tenant'"'"'s long-running process becomes the watcher' '
	union_as "$TENANT" -o "$U" "$M" -- python3 "$TRASH/holder.py" "$M" a &
	wait_file "$SYNC/a.pid" &&
	wait_watcher "$(cat "$SYNC/a.pid")" &&
	"$SHM_PROBE" watcher "$(state_id)" >w &&
	# top, base and base/d
	echo "$(cat "$SYNC/a.pid") 3" >expect &&
	test_cmp expect w
'

test_expect_success PYTHON 'the web server sees direct changes within the deadline' '
	union_as "$WWW" -o "$U" "$M" -- python3 "$TRASH/reader.py" "$M" "$DEADLINE_MS" \
		missing=yes present=no newdir/f=yes upload=yes d/late=yes >actual 2>times &
	pid=$!
	{
		change 0 sh -c "echo new >\"$BASE/missing\"" &&
		change 1 rm "$BASE/present" &&
		change 2 mkdir_with_file &&
		change 3 sh -c "echo sftp >\"$T1/upload\"" &&
		change 4 sh -c "echo late >\"$BASE/d/late\""
	} || { kill $pid; cat actual times; exit 1; }
	wait $pid
	cat times &&
	cat >expect <<-\EOF &&
	missing missing
	present exists
	newdir/f missing
	upload missing
	d/late missing
	missing seen
	present seen
	newdir/f seen
	upload seen
	d/late seen
	EOF
	test_cmp expect actual
'

test_expect_success PYTHON 'udba=reval (control): a name cached as missing stays missing' '
	# (an && list ending in & would run wholly in the background)
	rm -f "$SYNC"/ready.* "$SYNC"/go.* || exit 1
	# a process of the tenant runs it, and so makes and keeps its shared state (else
	# the web server would run it uncached: every lookup probes the branches)
	state_hold pool "$TENANT" "$M2" -o "$U_REVAL" "$M2" || exit 1
	union_as "$WWW" -o "$U_REVAL" "$M2" -- python3 "$TRASH/reader.py" "$M2" 300 \
		missing2=yes >actual 2>times &
	pid=$!
	change 0 sh -c "echo new >\"$BASE/missing2\"" || { kill $pid; cat actual times; exit 1; }
	wait $pid
	state_release pool &&
	cat times &&
	printf "%s\n" "missing2 missing" "missing2 not seen" >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'the watcher moves to a waiting process when its holder dies' '
	rm -f "$SYNC"/ready.* "$SYNC"/go.* || exit 1
	# as root: a root process (a cron job) takes over from the tenant
	aufs_run -o "$U" "$M" -- python3 "$TRASH/holder.py" "$M" b &
	wait_file "$SYNC/b.pid" &&
	# past its candidate delay, it waits on the lock
	sleep 1.5 &&
	wait_watcher "$(cat "$SYNC/a.pid")" &&
	kill -9 "$(cat "$SYNC/a.pid")" &&
	wait_watcher "$(cat "$SYNC/b.pid")" || exit 1
	union_as "$WWW" -o "$U" "$M" -- python3 "$TRASH/reader.py" "$M" "$DEADLINE_MS" \
		after=yes newdir/g=yes >actual 2>times &
	pid=$!
	{
		change 0 sh -c "echo x >\"$BASE/after\"" &&
		change 1 sh -c "echo g >\"$BASE/newdir/g\""
	} || { kill $pid; cat actual times; exit 1; }
	wait $pid
	# the web server keeps the state for the next test, where the last process that
	# may write it ends (a state goes with the last process that maps it)
	state_hold www "$WWW" "$M" -o "$U" "$M" &&
	: >"$SYNC/b.stop" &&
	cat times &&
	printf "%s\n" "after missing" "newdir/g missing" "after seen" "newdir/g seen" >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'with no process left that may write the state, nobody watches' '
	: >"$SYNC/b.stop" &&
	b=$(cat "$SYNC/b.pid") &&
	i=0 &&
	while kill -0 "$b" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done &&
	# the last watcher exited without a word: the state names it still, but it is gone
	w=$("$SHM_PROBE" watcher "$(state_id)") &&
	echo "watcher: $w, b: $b" &&
	test "${w%% *}" = "$b" &&
	! kill -0 "$b" 2>/dev/null &&
	# and the state goes with the last process that maps it
	id=$(state_id) &&
	state_release www &&
	! "$SHM_PROBE" info "$id"
'

test_done
