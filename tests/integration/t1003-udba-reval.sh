#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='udba=reval: one running process sees direct changes of the branches'
. "$(dirname "$0")/lib.sh"

# One process (python3, or bash with builtins only) looks at the union, then waits
# while the test changes the branches directly (bypassing the union), then looks
# again. What it must see (aufs(5) udba=reval, man/aufs-preload.7): a name it never
# looked up is found at its first lookup; a cached object that was removed is
# looked up again (a removed base file disappears; a removed top file uncovers the
# base one); listings are merged afresh; file contents are the real file's.
# Never tested here, because reval allows either answer: a name already cached
# as missing, or a file created directly above a cached one.

# wait_for FILE: up to 10 s.
wait_for() {
	_i=0
	while ! [ -e "$1" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 200 ]; then
			echo "timed out waiting for $1"
			return 1
		fi
		sleep 0.05
	done
}

# setup_layout: fresh branches top/ and base/, and an empty sync/.
setup_layout() {
	rm -rf top base sync && setup_branches top base && mkdir sync &&
	mkdir base/bd &&
	echo x >base/bd/x &&
	echo b1 >base/b1 &&
	echo gone >base/gone &&
	echo "base both" >base/both &&
	echo "top both" >top/both &&
	echo "version 1" >base/changing &&
	echo never >base/later_wh
}

# drive PID: the changes between the rounds of the probe, then wait for it.
drive() {
	_pid=$1
	{
		wait_for sync/ready0 &&
		echo top >top/newtop &&
		echo base >base/newbase &&
		echo "version 2" >base/changing &&
		: >sync/go0 &&
		wait_for sync/ready1 &&
		rm base/gone &&
		rm top/both &&
		mk_whiteout "$TRASH/top" later_wh &&
		: >sync/go1 &&
		wait_for sync/ready2 &&
		mkdir top/bd &&
		echo newf >top/bd/newf &&
		: >sync/go2
	} || {
		kill "$_pid"
		return 1
	}
	wait "$_pid"
}

cat >probe.py <<\EOF
import os, sys, time

mnt, sync = sys.argv[1], sys.argv[2]
os.chdir(mnt)

def step(n):
    sys.stdout.flush()
    open(os.path.join(sync, "ready%d" % n), "w").close()
    go = os.path.join(sync, "go%d" % n)
    for _ in range(500):
        if os.path.exists(go):
            print("-- round %d" % (n + 1))
            return
        time.sleep(0.02)
    print("timed out")
    sys.exit(3)

def show(name):
    try:
        st = os.stat(name)
        with open(name) as f:
            print(name, st.st_size, f.read().strip())
    except OSError as e:
        print(name, os.strerror(e.errno))

print(sorted(os.listdir(".")), sorted(os.listdir("bd")))
for n in ("b1", "gone", "both", "changing", "bd/x"):
    show(n)
step(0)
print(sorted(os.listdir(".")))
for n in ("newtop", "newbase", "changing"):
    show(n)
step(1)
print(sorted(os.listdir(".")))
for n in ("gone", "both", "later_wh"):
    show(n)
print("exists gone", os.path.exists("gone"), "later_wh", os.path.exists("later_wh"))
step(2)
print(sorted(os.listdir("bd")), os.path.isdir("bd"))
show("bd/newf")
show("bd/x")
EOF

test_expect_success PYTHON 'python3: one process sees direct changes of top and base' '
	# (an && list ending in & would run wholly in the background)
	setup_layout || exit 1
	M=$TRASH/mnt
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -- \
		python3 "$TRASH/probe.py" "$M" "$TRASH/sync" >actual 2>err &
	drive $! &&
	cat err &&
	cat >expect <<-\EOF &&
	['"'"'b1'"'"', '"'"'bd'"'"', '"'"'both'"'"', '"'"'changing'"'"', '"'"'gone'"'"', '"'"'later_wh'"'"'] ['"'"'x'"'"']
	b1 3 b1
	gone 5 gone
	both 9 top both
	changing 10 version 1
	bd/x 2 x
	-- round 1
	['"'"'b1'"'"', '"'"'bd'"'"', '"'"'both'"'"', '"'"'changing'"'"', '"'"'gone'"'"', '"'"'later_wh'"'"', '"'"'newbase'"'"', '"'"'newtop'"'"']
	newtop 4 top
	newbase 5 base
	changing 10 version 2
	-- round 2
	['"'"'b1'"'"', '"'"'bd'"'"', '"'"'both'"'"', '"'"'changing'"'"', '"'"'newbase'"'"', '"'"'newtop'"'"']
	gone No such file or directory
	both 10 base both
	later_wh No such file or directory
	exists gone False later_wh False
	-- round 3
	['"'"'newf'"'"', '"'"'x'"'"'] True
	bd/newf 5 newf
	bd/x 2 x
	EOF
	test_cmp expect actual
'

cat >probe.bash <<\EOF
# bash builtins only (glob, test, read, cd): everything happens in this process
cd "$1" || exit 1
sync=$2
step() {
	: >"$sync/ready$1"
	i=0
	while ! [ -e "$sync/go$1" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && { echo "timed out"; exit 3; }
		sleep 0.05
	done
	echo "-- round $(($1 + 1))"
}
show() {
	if [ -e "$1" ]; then
		read -r line <"$1" && echo "$1: $line"
	else
		echo "$1: missing"
	fi
}
echo * && echo bd/*
for n in b1 gone both changing bd/x; do show "$n"; done
step 0
echo *
for n in newtop newbase changing; do show "$n"; done
step 1
echo *
for n in gone both later_wh; do show "$n"; done
[ -f gone ] || echo "gone is not a file"
step 2
echo bd/*
[ -d bd ] && echo "bd is a dir"
cd bd && show newf && show x
EOF

test_expect_success BASH 'bash builtins: one process sees direct changes (mount point = top)' '
	setup_layout || exit 1
	M=$TRASH/top
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -- \
		bash "$TRASH/probe.bash" "$M" "$TRASH/sync" >actual 2>err &
	drive $! &&
	cat err &&
	cat >expect <<-\EOF &&
	b1 bd both changing gone later_wh
	bd/x
	b1: b1
	gone: gone
	both: top both
	changing: version 1
	bd/x: x
	-- round 1
	b1 bd both changing gone later_wh newbase newtop
	newtop: top
	newbase: base
	changing: version 2
	-- round 2
	b1 bd both changing newbase newtop
	gone: missing
	both: base both
	later_wh: missing
	gone is not a file
	-- round 3
	bd/newf bd/x
	bd is a dir
	newf: newf
	x: x
	EOF
	test_cmp expect actual
'

test_expect_success PYTHON 'a long-lived process: listings follow direct changes, round after round' '
	{ rm -rf top base sync && setup_branches top base && mkdir sync; } || exit 1
	cat >loop.py <<-\EOF &&
	import os, sys, time
	os.chdir(sys.argv[1])
	sync = sys.argv[2]
	for i in range(10):
	    # wait until the test changed the branches for round i
	    for _ in range(1000):
	        if os.path.exists(os.path.join(sync, "made%d" % i)):
	            break
	        time.sleep(0.01)
	    print(i, " ".join(sorted(os.listdir("."))), flush=True)
	    open(os.path.join(sync, "seen%d" % i), "w").close()
	EOF
	M=$TRASH/mnt
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -- \
		python3 "$TRASH/loop.py" "$M" "$TRASH/sync" >actual &
	pid=$! &&
	: >expect &&
	names= &&
	for i in 0 1 2 3 4 5 6 7 8 9; do
		# round i adds a$i (even: in base, odd: in top) and removes a$((i-2))
		if [ $((i % 2)) = 0 ]; then echo "$i" >"base/a$i"; else echo "$i" >"top/a$i"; fi &&
		rm -f "base/a$((i - 2))" "top/a$((i - 2))" &&
		names=$(ls -A base top | grep "^a" | sort | tr "\n" " ") &&
		echo "$i ${names% }" >>expect &&
		: >"sync/made$i" &&
		wait_for "sync/seen$i" || { kill $pid; exit 1; }
	done &&
	wait $pid &&
	test_cmp expect actual
'

test_done
