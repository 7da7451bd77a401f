#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='a process holds each branch root of its unions as a descriptor: a branch renamed or replaced on disk is never swapped under it, new processes get ESTALE until a remount, and the program cannot close or replace those descriptors'
. "$(dirname "$0")/lib.sh"

# The host of aufs(5) EXAMPLES: a base owned by root (0755), each tenant's branch
# owned by its user, the web server as aufs-www; the renames and replacements are
# the administrator's (root, or the tester in the unprivileged pass). Each test has
# its own directory $TRASH/cN holding base, top (the tenant's) and the mount point m,
# so that what one test renames is no other test's.
host_users_ready || true
if test_have_prereq HOST_USERS; then
	T1=$AUFS_TENANT1 T2=$AUFS_TENANT2 WWW=$AUFS_WWW
else
	T1=$ME T2=$ME WWW=$ME
fi

# layers DIR: DIR/base (VERSION, a.txt, sub/b.txt), DIR/top (own.txt, the tenant's)
# and the mount point DIR/m. a.txt and sub/b.txt are 0666, files every user may write:
# a tenant's write copies them up.
layers() {
	mkdir -p "$1/base/sub" "$1/top" "$1/m" &&
		echo base >"$1/base/VERSION" && echo a >"$1/base/a.txt" &&
		echo b >"$1/base/sub/b.txt" && echo own >"$1/top/own.txt" &&
		chmod -R a+rX,go-w "$1" && chmod 0666 "$1/base/a.txt" "$1/base/sub/b.txt" || return 1
	if test_have_prereq HOST_USERS; then chown -R "$T1:" "$1/top"; fi
}

# replace DIR/NAME: move it to DIR/NAME.old and make another directory at its path,
# with other contents (VERSION "replaced", evil.txt), owned as the one it replaces.
replace() {
	mv "$1/$2" "$1/$2.old" && mkdir "$1/$2" &&
		echo replaced >"$1/$2/VERSION" && echo evil >"$1/$2/evil.txt" &&
		chmod -R a+rX,go-w "$1/$2" &&
		chown -R "$(stat -c %u:%g "$1/$2.old")" "$1/$2"
}

# BR DIR: the options of DIR's union.
BR() {
	echo "br:$1/top=rw:$1/base=ro,nowarn_perm"
}

# The library's line for a branch that is no longer the directory of the table.
stale_line() { # BRANCH MNT
	echo "aufs-preload: branch $1 of $2 is not the directory it was mounted with (renamed or replaced on disk): its calls fail with ESTALE until a remount"
}

reader_script

# proc_stop NAME: quit the reader NAME started by an earlier test (not a child of
# this test's shell, which reader_stop waits for): until its process is gone.
proc_stop() {
	expect "$1" bye quit || return 1
	_pid=$(cat "$TRASH/$1/pid") _i=0
	while kill -0 "$_pid" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -le 2000 ] || { echo "reader $1 ($_pid) still runs after 20 s"; return 1; }
		sleep 0.01
	done
}

# ran NAME N: the output of the reader's request N (run), then its errors.
ran() {
	cat "$TRASH/$1/out.$2" "$TRASH/$1/err.$2"
}

# ---------------------------------------------------------------- 1. renamed
C1=$TRASH/c1
layers "$C1"

test_expect_success 'a running process keeps its renamed branches: reads the old base, its copy-up and create land in the renamed top' '
	reader_start "$T1" p1 -o "$(BR "$C1")" "$C1/m" &&
	reader_start "$WWW" w1 -o "$(BR "$C1")" "$C1/m" &&
	expect p1 base readerr "$C1/m/VERSION" &&
	expect w1 base readerr "$C1/m/VERSION" &&
	tree_snapshot "$C1/base" >base.before &&
	mv "$C1/base" "$C1/base.old" && mv "$C1/top" "$C1/top.old" &&
	expect p1 base readerr "$C1/m/VERSION" &&
	expect p1 base fork "$C1/m/VERSION" &&
	expect p1 b readerr "$C1/m/sub/b.txt" &&
	expect p1 " VERSION a.txt own.txt sub" ls "$C1/m" &&
	expect p1 ok write "$C1/m/a.txt" changed &&
	expect p1 ok write "$C1/m/new.txt" created &&
	expect p1 changed readerr "$C1/m/a.txt" &&
	expect w1 changed readerr "$C1/m/a.txt" &&
	expect w1 created readerr "$C1/m/new.txt" &&
	expect w1 " VERSION a.txt new.txt own.txt sub" ls "$C1/m" &&
	reader_stop p1 && reader_stop w1 &&
	test_must_be_empty "$TRASH/p1/err" && test_must_be_empty "$TRASH/w1/err" &&
	echo changed >expect && test_cmp expect "$C1/top.old/a.txt" &&
	echo created >expect && test_cmp expect "$C1/top.old/new.txt" &&
	test_path_is_missing "$C1/top" && test_path_is_missing "$C1/base" &&
	tree_snapshot "$C1/base.old" >base.after && test_cmp base.before base.after
'

# ---------------------------------------------------------------- 2. replaced
C2=$TRASH/c2
layers "$C2"

test_expect_success 'a running process never sees a replacement made at its branches'"'"' paths: reads, lookups, listing and writes stay on the old ones' '
	reader_start "$T1" p2 -o "$(BR "$C2")" "$C2/m" &&
	reader_start "$WWW" w2 -o "$(BR "$C2")" "$C2/m" &&
	reader_start "$T1" i2 -o "$(BR "$C2")" "$C2/m" &&
	expect i2 missing stat "$TRASH/nothing-here" &&
	expect p2 base readerr "$C2/m/VERSION" &&
	expect w2 own readerr "$C2/m/own.txt" &&
	tree_snapshot "$C2/base" >base.before &&
	replace "$C2" base && replace "$C2" top &&
	tree_snapshot "$C2/base" >new-base.before && tree_snapshot "$C2/top" >new-top.before &&
	expect p2 base readerr "$C2/m/VERSION" &&
	expect p2 own readerr "$C2/m/own.txt" &&
	expect p2 missing stat "$C2/m/evil.txt" &&
	expect p2 " VERSION a.txt own.txt sub" ls "$C2/m" &&
	expect p2 ok write "$C2/m/new.txt" created &&
	expect p2 ok write "$C2/m/sub/b.txt" changed &&
	expect w2 base readerr "$C2/m/VERSION" &&
	expect w2 missing stat "$C2/m/evil.txt" &&
	expect w2 created readerr "$C2/m/new.txt" &&
	expect w2 changed readerr "$C2/m/sub/b.txt" &&
	reader_stop p2 && reader_stop w2 &&
	test_must_be_empty "$TRASH/p2/err" && test_must_be_empty "$TRASH/w2/err" &&
	echo created >expect && test_cmp expect "$C2/top.old/new.txt" &&
	echo changed >expect && test_cmp expect "$C2/top.old/sub/b.txt" &&
	tree_snapshot "$C2/base.old" >base.after && test_cmp base.before base.after &&
	tree_snapshot "$C2/base" >new-base.after && test_cmp new-base.before new-base.after &&
	tree_snapshot "$C2/top" >new-top.after && test_cmp new-top.before new-top.after &&
	cp new-base.before "$TRASH/c2-new-base" && cp new-top.before "$TRASH/c2-new-top"
'

# i2 ran since before the replacement but looked nothing up in the union: its first
# lookup opens the branch roots, after the replacement. It is the tenant, who could
# write in the replacement of its branch.
test_expect_success 'a process that had not used the union before the replacement: ESTALE with one line per branch replaced, nothing made in the replacements' '
	expect i2 "failed Stale file handle" readerr "$C2/m/VERSION" &&
	expect i2 missing stat "$C2/m/evil.txt" &&
	proc_stop i2 && test_must_be_empty "$TRASH/i2/err" &&
	{ stale_line "$C2/top" "$C2/m" && stale_line "$C2/base" "$C2/m"; } >expect &&
	head -n 2 "$TRASH/i2/e" >got && test_cmp expect got &&
	test_line_count = 3 "$TRASH/i2/e" &&
	test_grep "$C2/m/VERSION: Stale file handle\$" "$TRASH/i2/e" &&
	tree_snapshot "$C2/base" >new-base.after && test_cmp "$TRASH/c2-new-base" new-base.after &&
	tree_snapshot "$C2/top" >new-top.after && test_cmp "$TRASH/c2-new-top" new-top.after
'

# ---------------------------------------------------------------- 3. new processes
# A host table of two tenants over one base: m1 (aufs-tenant1's branch t1) and m2
# (aufs-tenant2's t2); the web server runs one process for the whole file.
C3=$TRASH/c3
mkdir -p "$C3/t1" "$C3/t2" "$C3/m1" "$C3/m2"
layers "$C3"
echo t1 >"$C3/t1/own.txt" && echo t2 >"$C3/t2/own.txt"
chmod -R a+rX "$C3/t1" "$C3/t2"
if test_have_prereq HOST_USERS; then
	chown -R "$T1:" "$C3/t1" && chown -R "$T2:" "$C3/t2"
fi
F3=$C3/fstab IMG3=$TRASH/c3.img
for k in 1 2; do
	echo "none $C3/m$k aufs br:$C3/t$k=rw:$C3/base=ro,nowarn_perm 0 0"
done >"$F3"

# fresh USER CMD...: CMD as USER, a new process of the host table.
fresh() {
	_u=$1
	shift
	run_as "$_u" --fstab "$F3" --image "$IMG3" -- "$@"
}

# fresh_fails USER CMD...: fresh USER CMD... fails (not by a signal), its output in
# out and err; both are shown when it does not.
fresh_fails() {
	fresh "$@" >out 2>err
	_st=$?
	[ "$_st" != 0 ] && [ "$_st" -lt 128 ] && return 0
	echo "exit status $_st, expected a failure: $*"
	cat out err
	return 1
}

test_expect_success 'host table: aufsctl load, a long-running web server process, new processes read the base' '
	aufsctl load --image "$IMG3" "$F3" >out || { cat out; false; } &&
	reader_start "$WWW" w3 --fstab "$F3" --image "$IMG3" &&
	expect w3 base readerr "$C3/m1/VERSION" &&
	expect w3 base readerr "$C3/m2/VERSION" &&
	fresh "$T1" cat "$C3/m1/VERSION" "$C3/m1/own.txt" >out 2>err &&
	printf "base\nt1\n" >expect && test_cmp expect out && test_must_be_empty err
'

test_expect_success 'base replaced on disk: a new process of each user gets ESTALE with one line, never the replacement; the running one keeps the old base' '
	tree_snapshot "$C3/base" >"$TRASH/c3-base" &&
	replace "$C3" base &&
	tree_snapshot "$C3/base" >"$TRASH/c3-new-base" &&
	fresh_fails "$WWW" cat "$C3/m1/VERSION" "$C3/m1/evil.txt" "$C3/m1/a.txt" &&
	test_must_be_empty out &&
	{
		stale_line "$C3/base" "$C3/m1" &&
		for f in VERSION evil.txt a.txt; do
			echo "cat: $C3/m1/$f: Stale file handle"
		done
	} >expect &&
	test_cmp expect err &&
	fresh_fails "$T2" ls "$C3/m2" &&
	test_must_be_empty out &&
	test_line_count = 2 err &&
	stale_line "$C3/base" "$C3/m2" >expect && head -n 1 err >got && test_cmp expect got &&
	test_grep "^ls: .*$C3/m2.*: Stale file handle\$" err &&
	expect w3 base readerr "$C3/m1/VERSION" &&
	expect w3 base readerr "$C3/m2/VERSION" &&
	expect w3 missing stat "$C3/m1/evil.txt" &&
	tree_snapshot "$C3/base" >new-base.after && test_cmp "$TRASH/c3-new-base" new-base.after
'

test_expect_success 'aufsctl remount -o del:OLD,append:NEW of m1: new processes read the old base again; the running web server keeps the old base in m1 and m2' '
	aufsctl remount --fstab "$F3" --image "$IMG3" -o "del:$C3/base,append:$C3/base.old=ro" "$C3/m1" >out ||
		{ cat out; false; } &&
	fresh "$WWW" cat "$C3/m1/VERSION" "$C3/m1/own.txt" >out 2>err &&
	printf "base\nt1\n" >expect && test_cmp expect out && test_must_be_empty err &&
	expect w3 base readerr "$C3/m1/VERSION" &&
	expect w3 base readerr "$C3/m2/VERSION" &&
	expect w3 missing stat "$C3/m2/evil.txt"
'

test_expect_success 'that remount rewrote the whole table: m2, whose line did not change, still gets ESTALE, never the replacement' '
	fresh_fails "$T2" cat "$C3/m2/VERSION" &&
	test_must_be_empty out &&
	{ stale_line "$C3/base" "$C3/m2" && echo "cat: $C3/m2/VERSION: Stale file handle"; } >expect &&
	test_cmp expect err &&
	expect w3 base readerr "$C3/m1/VERSION" &&
	expect w3 base readerr "$C3/m2/VERSION" &&
	expect w3 missing stat "$C3/m2/evil.txt"
'

test_expect_success 'the fstab line of m2 fixed and aufsctl reload: new processes read the old base; the old base and the replacement untouched' '
	sed "s#:$C3/base=ro#:$C3/base.old=ro#" "$F3" >"$F3.new" && mv "$F3.new" "$F3" &&
	test "$(grep -c "$C3/base.old=ro" "$F3")" = 2 &&
	aufsctl reload --image "$IMG3" "$F3" >out || { cat out; false; } &&
	fresh "$T2" cat "$C3/m2/VERSION" "$C3/m2/own.txt" >out 2>err &&
	printf "base\nt2\n" >expect && test_cmp expect out && test_must_be_empty err &&
	fresh "$WWW" ls "$C3/m2" >out 2>err &&
	printf "%s\n" VERSION a.txt own.txt sub >expect && test_cmp expect out &&
	test_must_be_empty err &&
	expect w3 base readerr "$C3/m2/VERSION" &&
	proc_stop w3 && test_must_be_empty "$TRASH/w3/err" &&
	tree_snapshot "$C3/base" >new-base.after && test_cmp "$TRASH/c3-new-base" new-base.after &&
	tree_snapshot "$C3/base.old" >base.after && test_cmp "$TRASH/c3-base" base.after
'

test_expect_success 'a reload of an unchanged line keeps what the table recorded; a remount that deletes the branch and a later one that adds it adopt the new directory' '
	replace "$C3" base.old &&
	aufsctl reload --image "$IMG3" "$F3" >out || { cat out; false; } &&
	fresh_fails "$T1" cat "$C3/m1/VERSION" &&
	{ stale_line "$C3/base.old" "$C3/m1" && echo "cat: $C3/m1/VERSION: Stale file handle"; } >expect &&
	test_cmp expect err &&
	aufsctl remount --fstab "$F3" --image "$IMG3" -o "del:$C3/base.old" "$C3/m1" >out &&
	aufsctl remount --fstab "$F3" --image "$IMG3" -o "append:$C3/base.old=ro" "$C3/m1" >out &&
	fresh "$T1" cat "$C3/m1/VERSION" >out 2>err &&
	echo replaced >expect && test_cmp expect out && test_must_be_empty err &&
	fresh_fails "$T2" cat "$C3/m2/VERSION" &&
	{ stale_line "$C3/base.old" "$C3/m2" && echo "cat: $C3/m2/VERSION: Stale file handle"; } >expect &&
	test_cmp expect err
'

# A session of aufs-run -o: the tenant's process runs new processes (run) in it.
C4=$TRASH/c4
layers "$C4"

test_expect_success 'aufs-run session: a new process after the base was renamed gets ESTALE; after aufsctl remount of the session it reads it' '
	reader_start "$T1" p4 -o "$(BR "$C4")" "$C4/m" &&
	expect p4 base readerr "$C4/m/VERSION" &&
	expect p4 0 run cat "$C4/m/VERSION" &&
	echo base >expect && ran p4 2 >got && test_cmp expect got &&
	tree_snapshot "$C4/base" >base.before &&
	mv "$C4/base" "$C4/base.old" &&
	expect p4 1 run cat "$C4/m/VERSION" &&
	{ stale_line "$C4/base" "$C4/m" && echo "cat: $C4/m/VERSION: Stale file handle"; } >expect &&
	ran p4 3 >got && test_cmp expect got &&
	expect p4 base readerr "$C4/m/VERSION" &&
	aufsctl remount -o "del:$C4/base,append:$C4/base.old=ro" "$C4/m" >out &&
	test_grep "1 union remounted" out &&
	expect p4 0 run "cat $C4/m/VERSION $C4/m/sub/b.txt && echo x >$C4/m/x.txt" &&
	printf "base\nb\n" >expect && ran p4 5 >got && test_cmp expect got &&
	expect p4 base readerr "$C4/m/VERSION" &&
	reader_stop p4 && test_must_be_empty "$TRASH/p4/err" &&
	echo x >expect && test_cmp expect "$C4/top/x.txt" &&
	test_path_is_missing "$C4/base" &&
	tree_snapshot "$C4/base.old" >base.after && test_cmp base.before base.after
'

# ---------------------------------------------------------------- 4. the program
# fdwall.py M DIR GO: a program that closes and dup2s over everything it may (as a
# daemon or a spawn helper does) after reading the union at M, whose branches are in
# DIR; then, once GO exists (the test renamed the branches), reads and writes again.
# It does not use the union between the closes and the rename: a descriptor lost
# and opened again by path would then name no branch (ESTALE), not the old one.
cat >"$TRASH/fdwall.py" <<'EOF'
import ctypes, errno, os, sys, time
m, d, go = sys.argv[1:4]
libc = ctypes.CDLL(None, use_errno=True)


def link(fd):
    """/proc/self/fd/FD as the kernel has it (the raw readlinkat: the library's
    readlink shows a descriptor of a branch at its path in the union)."""
    buf = ctypes.create_string_buffer(4096)
    n = libc.syscall(267, -100, b"/proc/self/fd/%d" % fd, buf, 4096)
    if n < 0:
        raise OSError(ctypes.get_errno(), "readlinkat")
    return buf.raw[:n].decode()


def roots():
    """The descriptors of this process that link into DIR: number -> target."""
    r = {}
    for n in os.listdir("/proc/self/fd"):
        try:
            t = link(int(n))
        except OSError:
            continue
        if t.startswith(d + "/"):
            r[int(n)] = t
    return r


def version():
    with open(m + "/VERSION") as f:
        return f.readline().strip()


def say(*a):
    print(*a, flush=True)


say("first", version())
lib = roots()
say("roots", *sorted(lib.values()))
say("from 768", all(fd >= 768 for fd in lib))
for fd in lib:
    try:
        os.close(fd)
        say("close", fd, "succeeded")
    except OSError as e:
        if e.errno != errno.EBADF:
            say("close", fd, errno.errorcode[e.errno])
say("after close", roots() == lib)
os.closerange(3, 65536)
say("after closerange", roots() == lib)
for fd in range(3, 1024):
    try:
        os.close(fd)
    except OSError:
        pass
say("after a loop", roots() == lib)
r, w = os.pipe()
pipe = link(w)
a, b = sorted(lib)[:2]
os.dup2(w, a)
os.dup2(w, b, inheritable=False)
say("dup2 and dup3", link(a) == pipe, link(b) == pipe)
os.write(a, b"x")
os.write(b, b"y")
say("through them", os.read(r, 2))
say("moved", *sorted(roots().values()))
os.close(a)
os.close(b)
say("ready")
while not os.path.exists(go):
    time.sleep(0.01)
say("after the rename", version(), *sorted(roots().values()))
with open(m + "/written", "w") as f:
    f.write("by the program\n")
say("done")
EOF

C5=$TRASH/c5
layers "$C5"

test_expect_success PYTHON 'close, closerange, a loop closing 3..1023, dup2 and dup3 onto them: the descriptors stay, and keep the renamed branches' '
	rm -f "$TRASH/go5" &&
	{ run_as "$T1" -o "$(BR "$C5")" "$C5/m" -- \
		python3 "$TRASH/fdwall.py" "$C5/m" "$C5" "$TRASH/go5" >"$TRASH/fdwall.out" 2>err & } &&
	pid=$! &&
	i=0 && while ! grep -q "^ready\$" "$TRASH/fdwall.out" && test $i -lt 1000; do
		kill -0 $pid 2>/dev/null || break
		sleep 0.02; i=$((i + 1))
	done &&
	tree_snapshot "$C5/base" >base.before &&
	mv "$C5/base" "$C5/base.old" && mv "$C5/top" "$C5/top.old" &&
	touch "$TRASH/go5" &&
	wait $pid &&
	cat >expect <<-EOF &&
	first base
	roots $C5/base $C5/top
	from 768 True
	after close True
	after closerange True
	after a loop True
	dup2 and dup3 True True
	through them b'"'"'xy'"'"'
	moved $C5/base $C5/top
	ready
	after the rename base $C5/base.old $C5/top.old
	done
	EOF
	test_cmp expect "$TRASH/fdwall.out" &&
	test_must_be_empty err &&
	echo "by the program" >expect && test_cmp expect "$C5/top.old/written" &&
	test_path_is_missing "$C5/top" && test_path_is_missing "$C5/base" &&
	tree_snapshot "$C5/base.old" >base.after && test_cmp base.before base.after
'

# The program a process runs from its branch: its own, not the new occupant's. The
# base's bin/hello is a copy of echo; the replacement's a script saying "evil".
C7=$TRASH/c7
layers "$C7"
mkdir "$C7/base/bin" && cp /bin/echo "$C7/base/bin/hello" && chmod 0755 "$C7/base/bin/hello"

test_expect_success PYTHON 'posix_spawn and exec of a program in a replaced branch by a process that holds it run its own program' '
	rm -f "$TRASH/go7" "$TRASH/exec7.out" &&
	{ run_as "$T1" -o "$(BR "$C7")" "$C7/m" -- python3 -c "
import os, sys, time
m, go = sys.argv[1:3]
os.stat(m + \"/bin/hello\")
print(\"ready\", flush=True)
while not os.path.exists(go):
    time.sleep(0.02)
pid = os.posix_spawn(m + \"/bin/hello\", [\"hello\", \"spawned, its own\"], os.environ)
assert os.waitpid(pid, 0)[1] == 0
os.execv(m + \"/bin/hello\", [\"hello\", \"its own\"])
" "$C7/m" "$TRASH/go7" >"$TRASH/exec7.out" 2>err & } &&
	pid=$! &&
	i=0 && while ! grep -q "^ready\$" "$TRASH/exec7.out" && test $i -lt 1000; do
		kill -0 $pid 2>/dev/null || break
		sleep 0.02; i=$((i + 1))
	done &&
	replace "$C7" base && mkdir "$C7/base/bin" &&
	printf "#!/bin/sh\necho evil\n" >"$C7/base/bin/hello" && chmod 0755 "$C7/base/bin/hello" &&
	touch "$TRASH/go7" &&
	{ wait $pid || { echo "exit $?"; cat "$TRASH/exec7.out" err; false; }; } &&
	printf "ready\nspawned, its own\nits own\n" >expect && test_cmp expect "$TRASH/exec7.out" &&
	test_must_be_empty err
'

# ---------------------------------------------------------------- 5. the cost
C6=$TRASH/c6
layers "$C6"
# warmstat.py M: stats M/VERSION cold, warm, and warm between two marks on stderr;
# then prints its descriptors and their targets (the raw readlinkat: the library's
# readlink shows a descriptor of a branch at its path in the union).
cat >"$TRASH/warmstat.py" <<'EOF'
import ctypes, os, sys
m = sys.argv[1]
libc = ctypes.CDLL(None)
buf = ctypes.create_string_buffer(4096)
os.stat(m + "/VERSION")
os.stat(m + "/VERSION")
os.write(2, b"MARK\n")
os.stat(m + "/VERSION")
os.write(2, b"END\n")
for n in sorted(os.listdir("/proc/self/fd"), key=int):
    k = libc.syscall(267, -100, ("/proc/self/fd/" + n).encode(), buf, 4096)
    if k > 0:
        print(n, buf.raw[:k].decode())
EOF

test_expect_success STRACE,PYTHON 'a warm stat of a base file: one system call, newfstatat at the base'"'"'s descriptor with the relative name' '
	aufs_run -o "$(BR "$C6")" "$C6/m" -- strace -f -qq -o "$TRASH/stat.trace" \
		python3 "$TRASH/warmstat.py" "$C6/m" >fds 2>err &&
	printf "MARK\nEND\n" >expect && test_cmp expect err &&
	sed -n "/MARK/,/END/p" "$TRASH/stat.trace" | sed "1d;\$d" >between &&
	test_line_count = 1 between &&
	n=$(sed -n "s/^[0-9]* *newfstatat(\([0-9][0-9]*\), \"VERSION\", .*) = 0\$/\1/p" between) &&
	test -n "$n" &&
	grep -x "$n $C6/base" fds
'

# ---------------------------------------------------------------- 6. exec and /proc
C7=$TRASH/c7
layers "$C7"
# roots.sh M X: reads M/VERSION, writes its PID to X/pid and waits for X/go1; reads
# M/VERSION and a file in a subdirectory, makes X/read2 and waits for X/go2; then
# prints what an exec'd child (find) holds that links into M's directory or is 768
# or above.
cat >"$TRASH/roots.sh" <<'EOF'
m=$1 x=$2
wait_for() {
	i=0
	while ! [ -e "$x/$1" ]; do
		i=$((i + 1))
		[ $i -le 2000 ] || exit 1
		sleep 0.01
	done
}
read -r v <"$m/VERSION" && echo "$v"
echo $$ >"$x/pid.tmp" && mv "$x/pid.tmp" "$x/pid"
wait_for go1
read -r v <"$m/VERSION" && read -r v <"$m/sub/b.txt" && echo "$v"
: >"$x/read2"
wait_for go2
echo child
find /proc/self/fd/ -mindepth 1 -maxdepth 1 -printf '%f %l\n' |
	while read -r n l; do
		case $l in "${m%/*}"/*) echo "$n $l" ;; esac
		[ "$n" -lt 768 ] || echo "$n $l"
	done
EOF

# wait_file PATH: until PATH exists (20 s at most).
wait_file() {
	_i=0
	while ! [ -e "$1" ]; do
		_i=$((_i + 1))
		[ "$_i" -le 2000 ] || { echo "no $1 after 20 s"; return 1; }
		sleep 0.01
	done
}

# held PID DIR: the descriptors of process PID that link into DIR, as /proc/PID/fd
# shows them to a process outside the union: number, target, fdinfo flags.
held() {
	for _f in /proc/"$1"/fd/*; do
		_l=$(readlink "$_f") || continue
		case $_l in
		"$2"/*) echo "${_f##*/} $_l $(sed -n 's/^flags:[[:space:]]*//p' "/proc/$1/fdinfo/${_f##*/}")" ;;
		esac
	done
}

test_expect_success 'the descriptors: O_PATH and close-on-exec, links to the branch roots in /proc/PID/fd, opened once, not in an exec'"'"'d child' '
	x=$TRASH/x7 && rm -rf "$x" && mkdir "$x" && chmod 0777 "$x" &&
	{ run_as "$T1" -o "$(BR "$C7")" "$C7/m" -- sh "$TRASH/roots.sh" "$C7/m" "$x" >out 2>err & } &&
	bg=$! &&
	wait_file "$x/pid" && pid=$(cat "$x/pid") &&
	held "$pid" "$C7" >first &&
	touch "$x/go1" && wait_file "$x/read2" &&
	held "$pid" "$C7" >second &&
	touch "$x/go2" && wait $bg &&
	test_must_be_empty err &&
	printf "%s\n" base b child >expect && test_cmp expect out &&
	test_cmp first second &&
	cut -d" " -f2 first >links &&
	printf "%s\n" "$C7/base" "$C7/top" >expect && sort links >got && test_cmp expect got &&
	while read -r n l flags; do
		test "$n" -ge 768 &&
		test $((0$flags & 010000000)) != 0 &&
		test $((0$flags & 02000000)) != 0 || { echo "fd $n ($l): flags $flags"; return 1; }
	done <first
'

test_done
