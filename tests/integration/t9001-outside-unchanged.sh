#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='outside every union nothing changes: same output, same syscalls'
. "$(dirname "$0")/lib.sh"

# A union on $TRASH/mnt (which does not exist on disk), and next to it plain
# trees the library must leave alone: outside/ (files, dirs, symlinks, a fifo, a
# .wh. name), mnt2/ and mnt-file (names that start with the mount point's name),
# and the branches themselves, which are outside the union when seen directly.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/mnt
mkdir -p "$T/d" "$BASE/d" outside/dir/sub outside/other mnt2/d
echo top >"$T/d/t"
echo base >"$BASE/d/b"
echo hidden >"$BASE/d/w"
mk_whiteout "$T/d" w
echo one >outside/one
echo two >outside/dir/two
echo three >outside/dir/sub/three
echo wh >outside/.wh.visible
: >outside/empty
ln -s one outside/rel-link
ln -s "$TRASH/outside/dir" outside/abs-dir-link
ln -s nowhere outside/dangling
ln -s loop outside/loop
mkfifo outside/fifo
chmod 0600 outside/one
chmod 0750 outside/dir
echo mnt2 >mnt2/d/f
echo x >mnt-file
i=0
while [ $i -lt 200 ]; do : >"outside/other/f$i"; i=$((i + 1)); done
touch -d "2020-01-02 03:04:05" outside/one outside/dir/two

# same_outside SCRIPT: SCRIPT (run by sh in $TRASH) prints the same natively and
# under the library with a union configured (and with no union at all). The
# system moves on meanwhile (the link count of /proc counts processes, /tmp gets
# new entries): each library run must match one of the two native runs around
# it, and a mismatch is tried again; a real difference shows every time.
same_outside() {
	_o=$TEST_TMP
	for _try in 1 2 3; do
		(cd "$TRASH" && sh -c "$1") >"$_o/native1" 2>&1
		aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c "cd \"\$1\" && $1" sh "$TRASH" >"$_o/union" 2>&1
		aufs_run -- sh -c "cd \"\$1\" && $1" sh "$TRASH" >"$_o/nounion" 2>&1
		(cd "$TRASH" && sh -c "$1") >"$_o/native2" 2>&1
		_ok=true
		for _run in union nounion; do
			cmp -s "$_o/native1" "$_o/$_run" || cmp -s "$_o/native2" "$_o/$_run" || _ok=false
		done
		$_ok && return 0
	done
	echo "differences in the last of 3 tries:"
	diff -u "$_o/native1" "$_o/union"
	diff -u "$_o/native1" "$_o/nounion"
	return 1
}

test_expect_success 'the union itself is active (control)' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c "ls \"$M/d\"" >actual &&
	printf "%s\n" b t >expect &&
	test_cmp expect actual
'

test_expect_success 'aufs-run -- true with no union' '
	aufs_run -- true &&
	aufs_run -- sh -c "echo ok" >actual &&
	echo ok >expect &&
	test_cmp expect actual
'

# /proc's link count follows the number of processes, and /tmp, /run and /dev change
# with whatever else runs on the machine: they are left out of the comparison.
test_expect_success 'ls -la /etc/..' '
	same_outside "ls -la /etc/.. | grep -v -E \" (proc|tmp|run|dev)\$\""
'

test_expect_success 'ls -laR of a tree next to the mount point' '
	same_outside "ls -laR --time-style=full-iso outside mnt2 mnt-file"
'

test_expect_success 'ls of the directory that holds the mount point' '
	same_outside "ls -la --time-style=full-iso . && ls -d mnt?* && test -e mnt3 || echo no mnt3"
'

test_expect_success 'the branches seen directly: whiteouts and all' '
	same_outside "find top base -printf \"%p %y %m %n %s %l\n\" | sort && cat base/d/w && ls -a top/d"
'

test_expect_success 'find over a temp tree' '
	same_outside "find outside mnt2 -printf \"%p %y %m %n %s %T@ %l\n\" | sort; find outside -type f | sort; find -L outside -name \"*\" 2>&1 | sort"
'

test_expect_success 'stat (every field but the access time)' '
	same_outside "stat -c \"%n %a %A %b %d %f %F %g %h %i %s %u %W %Y %Z %N\" outside outside/* outside/.wh.visible mnt2 mnt-file /etc/hostname /"
'

test_expect_success 'stat of missing names and through dangling links' '
	same_outside "stat outside/nothing; stat -L outside/dangling; stat -L outside/loop; stat mnt3; cat outside/loop; true"
'

test_expect_success 'cat, head, wc, md5sum' '
	same_outside "cat outside/one outside/dir/two outside/.wh.visible outside/rel-link mnt2/d/f mnt-file; head -c 2 outside/one; wc -c outside/dir/sub/three; md5sum outside/one /etc/hostname"
'

test_expect_success 'readlink and readlink -f, realpath' '
	same_outside "readlink outside/rel-link outside/abs-dir-link outside/dangling; readlink -f outside/rel-link outside/abs-dir-link/sub outside/dangling outside/abs-dir-link/../one; realpath outside/abs-dir-link/sub/.. mnt2/d/.. /etc/..; realpath -e outside/loop; true"
'

test_expect_success 'cd and pwd, through a symlinked dir' '
	same_outside "cd outside/abs-dir-link/sub && pwd && /bin/pwd && pwd -P && cd .. && pwd && cd ../.. && pwd && cd mnt2/d && pwd && /bin/pwd"
'

test_expect_success BASH 'cd and pwd in bash (logical and physical)' '
	same_outside "bash -c \"cd outside/abs-dir-link/sub && pwd && /bin/pwd && pwd -P && cd -P .. && pwd\""
'

test_expect_success PYTHON 'python os.walk, os.listdir, os.stat' '
	same_outside "python3 -c \"
import os
for root, dirs, files in sorted(os.walk(\\\"outside\\\")):
    print(root, sorted(dirs), sorted(files)[:5], len(files))
print(sorted(os.listdir(\\\".\\\")))
st = os.stat(\\\"outside/one\\\")
print(st.st_ino, st.st_dev, st.st_mode, st.st_nlink, st.st_size, st.st_mtime_ns)
print(os.path.realpath(\\\"outside/abs-dir-link/../rel-link\\\"))
\""
'

test_expect_success 'error messages for bad paths outside' '
	same_outside "cat outside/dir; ls outside/one/x; cd outside/nothing; cat \"\"; ls -d outside/dangling/; true"
'

# A syscall trace of stat-probe: what it does between its first marker and its
# output must be the same natively, under the library without a union, and under
# a union for paths outside it.
STAT_PROBE=$AUFS_BUILD/helper/stat-probe
[ -x "$STAT_PROBE" ] && test_set_prereq STAT_PROBE
calls_after_marker() {
	# syscall names and path arguments, addresses and results dropped; the allocator's
	# memory calls too (brk, anonymous maps: under SANITIZE=1 ASan's allocator maps a
	# region for printf's buffer whenever its size class was not used before)
	sed -n '/write(-1, "round 0/,/write(1, /p' "$1" |
		sed -E 's/^[0-9]+ +//; s/, 0x[0-9a-f]+/, ADDR/g; s/\{st_[^}]*\}/STAT/g; s/ = .*//; s/ +$//' |
		grep -v -E '^(brk|getrandom|ioctl|newfstatat\(1,|munmap|madvise)|^mmap\(.*MAP_ANONYMOUS'
}

test_expect_success STRACE,STAT_PROBE 'strace: the same syscalls for stat natively and under the library' '
	paths="/etc/hostname /etc/nonexistent $TRASH/outside/one $TRASH/outside/rel-link $TRASH/mnt2/d/f $TRASH/top/d/t" &&
	strace -f -o native.trace "$STAT_PROBE" -n 2 $paths >native.out &&
	aufs_run -- strace -f -o nounion.trace "$STAT_PROBE" -n 2 $paths >nounion.out &&
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- strace -f -o union.trace "$STAT_PROBE" -n 2 $paths >union.out &&
	test_cmp native.out nounion.out &&
	test_cmp native.out union.out &&
	calls_after_marker native.trace >native.calls &&
	calls_after_marker nounion.trace >nounion.calls &&
	calls_after_marker union.trace >union.calls &&
	cat native.calls &&
	test_line_count -ge 13 native.calls &&
	test_cmp native.calls nounion.calls &&
	test_cmp native.calls union.calls
'

test_expect_success STRACE 'strace -f -c: stat /etc/hostname makes the same stat calls' '
	strace -f -c -o native.count stat /etc/hostname >native.out &&
	aufs_run -- strace -f -c -o nounion.count stat /etc/hostname >nounion.out &&
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- strace -f -c -o union.count stat /etc/hostname >union.out &&
	sed -e "/^Access:/d" native.out >expect &&
	sed -e "/^Access:/d" union.out >actual &&
	test_cmp expect actual &&
	for f in native nounion union; do
		awk "\$NF == \"statx\" || \$NF == \"stat\" || \$NF == \"lstat\" { print \$NF, \$4 }" $f.count >$f.statx || return 1
	done &&
	cat native.statx &&
	test_line_count = 1 native.statx &&
	test_cmp native.statx nounion.statx &&
	test_cmp native.statx union.statx
'

test_expect_success 'the branches are untouched' '
	snapshot_branch "$BASE" &&
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c "ls -R \"$M\" >/dev/null; cat \"$M/d/b\" >/dev/null" &&
	branch_untouched "$BASE"
'

test_done
