#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the remaining libc doors: AF_UNIX sockets, dlopen, pathconf, inotify, file handles, chroot, temporary names, /proc/self/exe'
. "$(dirname "$0")/lib.sh"

# top (rw) and base (ro); base holds run/ (a directory for sockets) and
# lib/ (a shared object, built below). A second union has a branch whose real
# path is too long for sun_path (108 bytes) while its union path is short.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/m
H=$AUFS_BUILD/helper
LONG=$TRASH/$(printf 'l%.0s' $(seq 90))
LM=$TRASH/lm
setup_branches "$LONG/top" "$LONG/base"
mkdir -p "$BASE/run" "$BASE/lib" "$BASE/dir/sub" "$T/dir" "$LONG/base/run"
echo base >"$BASE/dir/file"
echo top >"$T/dir/topfile"
for p in sock-unix doors-probe; do
	[ -x "$H/$p" ] || skip_all "the probe $H/$p is missing (run make)"
done
P=$H/doors-probe
# the probe lives in the base too, to be started by its union path
cp "$P" "$BASE/bin-probe"
echo hidden >"$BASE/dir/gone.so"
mk_whiteout "$T/dir" gone.so
# a tiny shared object that exists only in the base
if test_have_prereq CC; then
	printf '%s\n' 'int aufs_t(void) { return 42; }' >"$TRASH/t.c" &&
	"${CC:-cc}" -shared -fPIC -o "$BASE/lib/libt.so" "$TRASH/t.c" >"$TRASH/cc.log" 2>&1 &&
	test_set_prereq SO
fi
snapshot_branch "$BASE"

in_m() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- "$@"
}

in_lm() {
	aufs_run -o "br:$LONG/top=rw:$LONG/base=ro" "$LM" -- "$@"
}

# ---------------------------------------------------------------- sockets

test_expect_success 'bind/connect/accept by union path: the socket is made in the rw branch' '
	in_m "$H/sock-unix" stream "$M/run/s" >actual &&
	printf "%s\n" "accept (unnamed)" "getsockname $M/run/s" "getpeername $M/run/s" \
		"short ${M%"${M#????}"} 1" "transfer ok" >expect &&
	test_cmp expect actual &&
	test -S "$T/run/s" &&
	test_path_is_missing "$BASE/run/s" &&
	test_path_is_missing "$M"
'

test_expect_success 'bind of a name that exists in the union is EADDRINUSE, in any branch' '
	in_m "$H/sock-unix" bind "$M/run/s" >actual1;
	in_m "$H/sock-unix" bind "$M/dir/file" >actual2;
	echo "bind EADDRINUSE" >expect &&
	test_cmp expect actual1 &&
	test_cmp expect actual2
'

test_expect_success 'connect to a missing name is ENOENT; to a whited-out socket too' '
	in_m "$H/sock-unix" connect "$M/run/none" >actual1;
	mk_whiteout "$T/run" gone &&
	python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"$BASE/run/gone\")" 2>/dev/null ||
		mkfifo "$BASE/run/gone" &&
	in_m "$H/sock-unix" connect "$M/run/gone" >actual2;
	echo "connect ENOENT" >expect &&
	test_cmp expect actual1 &&
	test_cmp expect actual2 &&
	rm -f "$BASE/run/gone" "$T/run/.wh.gone" &&
	snapshot_branch "$BASE"
'

test_expect_success 'bind over a whiteout: the name is new, the whiteout goes' '
	mk_whiteout "$T/run" w &&
	in_m "$H/sock-unix" bind "$M/run/w" >actual &&
	echo "bound $M/run/w" >expect &&
	test_cmp expect actual &&
	test -S "$T/run/w" &&
	test_path_is_missing "$T/run/.wh.w"
'

test_expect_success 'bind copies the parent directories up; the base stays untouched' '
	in_m "$H/sock-unix" bind "$M/dir/sub/s" >actual &&
	echo "bound $M/dir/sub/s" >expect &&
	test_cmp expect actual &&
	test -S "$T/dir/sub/s" &&
	branch_untouched "$BASE"
'

test_expect_success 'dgram: sendto, sendmsg, recvfrom, recvmsg by union path' '
	in_m "$H/sock-unix" dgram "$M/run/d" "$M/run/c" >actual &&
	printf "%s\n" "recvfrom to $M/run/c" "sendmsg msg $M/run/c" >expect &&
	test_cmp expect actual &&
	test -S "$T/run/d" && test -S "$T/run/c"
'

test_expect_success 'relative socket names resolve against the virtual cwd' '
	in_m sh -c "cd \"$M/run\" && \"$H/sock-unix\" bind rel" >actual &&
	echo "bound $M/run/rel" >expect &&
	test_cmp expect actual &&
	test -S "$T/run/rel"
'

test_expect_success PYTHON 'sockets outside every union and abstract names are untouched' '
	in_m "$H/sock-unix" stream "$TRASH/out.sock" >actual &&
	test_grep "getsockname $TRASH/out.sock" actual &&
	test -S "$TRASH/out.sock" &&
	in_m python3 -c "
import socket
s = socket.socket(socket.AF_UNIX); s.bind(b\"\\0aufs-t7002\")
print(s.getsockname() == b\"\\0aufs-t7002\")
" >actual &&
	echo True >expect &&
	test_cmp expect actual
'

test_expect_success 'a real path longer than sun_path goes through /proc/self/fd' '
	in_lm "$H/sock-unix" stream "$LM/run/s" >actual &&
	test_grep "transfer ok" actual &&
	test -S "$LONG/top/run/s" &&
	test_must_fail in_lm "$H/sock-unix" bind "$LM/run/s" >actual &&
	echo "bind EADDRINUSE" >expect &&
	test_cmp expect actual
'

test_expect_success 'getsockname of a socket bound through /proc/self/fd answers the union name' '
	in_lm "$H/sock-unix" bind "$LM/run/s2" >actual &&
	echo "bound $LM/run/s2" >expect &&
	test_cmp expect actual &&
	test -S "$LONG/top/run/s2"
'

test_expect_success PYTHON 'python socketserver with a long branch path: its address is the union name' '
	in_lm python3 -c "
import os, socket, socketserver
srv = socketserver.UnixStreamServer(\"$LM/run/py\", socketserver.BaseRequestHandler)
print(srv.server_address)
c = socket.socket(socket.AF_UNIX); c.connect(srv.server_address); c.close()
srv.server_close(); os.unlink(srv.server_address)
print(os.path.exists(\"$LM/run/py\"))
" >actual &&
	printf "%s\n" "$LM/run/py" False >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$LONG/top/run/py"
'

test_expect_failure 'getpeername of a peer bound through /proc/self/fd answers the union name' '
	in_lm "$H/sock-unix" stream "$LM/run/s3" >actual &&
	test_grep "getpeername $LM/run/s3" actual
'

test_expect_success PYTHON 'udba=reval: connect to a cached socket that moved up a branch looks again' '
	in_m python3 -c "
import os, socket
def srv(path):
    s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(); return s
a = srv(\"$BASE/run/moved\")
c = socket.socket(socket.AF_UNIX); c.connect(\"$M/run/moved\"); c.close()
a.close(); os.unlink(\"$BASE/run/moved\")
b = srv(\"$T/run/moved\")
c = socket.socket(socket.AF_UNIX); c.connect(\"$M/run/moved\")
print(\"connected\", b.accept()[0] is not None)
" >actual &&
	echo "connected True" >expect &&
	test_cmp expect actual &&
	snapshot_branch "$BASE"	# the direct change touched base/run
'

test_expect_success PYTHON 'python socket.AF_UNIX: bind, connect, getsockname in the union' '
	in_m python3 -c "
import os, socket
s = socket.socket(socket.AF_UNIX); s.bind(\"$M/run/py\"); s.listen()
c = socket.socket(socket.AF_UNIX); c.connect(\"$M/run/py\")
a, _ = s.accept(); c.sendall(b\"hi\")
print(s.getsockname(), c.getpeername(), a.recv(2).decode(), os.path.exists(\"$M/run/py\"))
" >actual &&
	echo "$M/run/py $M/run/py hi True" >expect &&
	test_cmp expect actual &&
	test -S "$T/run/py"
'

# ---------------------------------------------------------------- dlopen

test_expect_success SO 'dlopen(3) of a union path loads the base-only object' '
	in_m "$P" dlopen "$M/lib/libt.so" aufs_t >actual &&
	echo "aufs_t=42" >expect &&
	test_cmp expect actual &&
	in_m sh -c "cd \"$M\" && \"$P\" dlopen ./lib/libt.so aufs_t" >actual &&
	test_cmp expect actual
'

test_expect_success SO 'dlmopen(3) of a union path into a new namespace' '
	in_m "$P" dlmopen "$M/lib/libt.so" aufs_t >actual &&
	echo "aufs_t=42" >expect &&
	test_cmp expect actual
'

test_expect_success SO 'dlopen(3) of a name without a slash is left to ld.so' '
	LD_LIBRARY_PATH=$BASE/lib in_m "$P" dlopen libt.so aufs_t >actual &&
	echo "aufs_t=42" >expect &&
	test_cmp expect actual &&
	test_must_fail in_m "$P" dlopen libt.so aufs_t >actual &&
	echo "dlopen failed" >expect &&
	test_cmp expect actual
'

test_expect_success 'dlopen(3) of a missing or whited-out union path fails' '
	test_must_fail in_m "$P" dlopen "$M/lib/none.so" x >actual1 &&
	test_must_fail in_m "$P" dlopen "$M/dir/gone.so" x >actual2 &&
	echo "dlopen failed" >expect &&
	test_cmp expect actual1 &&
	test_cmp expect actual2
'

test_expect_success SO,PYTHON 'python ctypes.CDLL of a union path' '
	in_m python3 -c "import ctypes; print(ctypes.CDLL(\"$M/lib/libt.so\").aufs_t())" >actual &&
	echo 42 >expect &&
	test_cmp expect actual
'

# ---------------------------------------------------------------- pathconf, inotify, handles

test_expect_success 'pathconf(3): the branch holding the object, NAME_MAX shortened as statfs' '
	n=$("$P" pathconf "$BASE/dir/file") &&
	in_m "$P" pathconf "$M/dir/file" >actual &&
	echo $((n - 4)) >expect &&
	test_cmp expect actual &&
	test_must_fail in_m "$P" pathconf "$M/dir/gone.so" >actual &&
	echo "pathconf ENOENT" >expect &&
	test_cmp expect actual
'

test_expect_success 'inotify_add_watch(2) on a merged directory watches its top-most copy' '
	in_m "$P" inotify "$M/dir" new >actual &&
	echo "event new" >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/dir/new" &&
	test_must_fail in_m "$P" inotify "$M/nodir" x >actual &&
	echo "inotify_add_watch ENOENT" >expect &&
	test_cmp expect actual
'

test_expect_success 'name_to_handle_at(2): the handle of the branch file' '
	"$P" handle "$BASE/dir/file" >expect &&
	in_m "$P" handle "$M/dir/file" >actual &&
	test_cmp expect actual &&
	"$P" handle "$T/dir/topfile" >expect &&
	in_m "$P" handle "$M/dir/topfile" >actual &&
	test_cmp expect actual &&
	test_must_fail in_m "$P" handle "$M/dir/gone.so" >actual &&
	echo "name_to_handle_at ENOENT" >expect &&
	test_cmp expect actual
'

# ---------------------------------------------------------------- chroot, mount

test_expect_success ROOT 'chroot(2) of a union directory enters its top-most branch copy' '
	in_m "$P" chroot "$M/dir" topfile >actual &&
	echo top >expect &&
	test_cmp expect actual
'

test_expect_success UNPRIV 'chroot(2), mount(2), umount(2) of a union path: EPERM, as the kernel says' '
	test_must_fail in_m "$P" chroot "$M/dir" topfile >actual &&
	echo "chroot EPERM" >expect &&
	test_cmp expect actual &&
	test_must_fail in_m "$P" umount "$M/dir" >actual &&
	echo "umount EPERM" >expect &&
	test_cmp expect actual &&
	test_must_fail in_m "$P" mount-private "$M/dir" >actual &&
	echo "mount EPERM" >expect &&
	test_cmp expect actual
'

test_expect_success ROOT 'umount(2) and mount(2) reach the branch directory (not a mount point: EINVAL)' '
	test_must_fail in_m "$P" umount "$M/dir" >actual &&
	echo "umount EINVAL" >expect &&
	test_cmp expect actual &&
	test_must_fail in_m "$P" mount-private "$M/dir" >actual &&
	echo "mount EINVAL" >expect &&
	test_cmp expect actual
'

test_expect_success 'chroot(2) and umount(2) of a missing union path: ENOENT' '
	test_must_fail in_m "$P" chroot "$M/nodir" x >actual &&
	echo "chroot ENOENT" >expect &&
	test_cmp expect actual &&
	test_must_fail in_m "$P" umount "$M/nodir" >actual &&
	echo "umount ENOENT" >expect &&
	test_cmp expect actual
'

# ---------------------------------------------------------------- temporary names

test_expect_success 'mktemp(3) in a union: a name that no branch has' '
	in_m "$P" mktemp "$M/dir/sub/tXXXXXX" >actual &&
	name=$(basename "$(cat actual)") &&
	case $(cat actual) in "$M/dir/sub/t"??????) ;; *) false ;; esac &&
	test "$name" != tXXXXXX &&
	test_path_is_missing "$T/dir/sub/$name" &&
	test_path_is_missing "$BASE/dir/sub/$name" &&
	test_must_fail in_m "$P" mktemp "$M/dir/bad" >actual &&
	echo "mktemp EINVAL" >expect &&
	test_cmp expect actual
'

# (not under memcheck: valgrind makes its own files in $TMPDIR, outside the library)
test_expect_success NOVALGRIND 'tempnam(3): a directory that exists only in the union, and $TMPDIR there' '
	unset TMPDIR &&
	in_m "$P" tempnam "$M/dir/sub" prefixlong >actual &&
	case $(cat actual) in "$M/dir/sub/prefi"??????) ;; *) cat actual; false ;; esac &&
	TMPDIR=$M/dir/sub in_m "$P" tempnam - pfx >actual &&
	case $(cat actual) in "$M/dir/sub/pfx"??????) ;; *) cat actual; false ;; esac &&
	in_m "$P" tempnam "$M/nodir" pfx >actual &&
	case $(cat actual) in /tmp/pfx??????) ;; *) cat actual; false ;; esac
'

test_expect_success 'tmpnam(3), tmpnam_r(3) outside every union: as the C library' '
	in_m "$P" tmpnam >actual &&
	test_line_count = 2 actual &&
	! grep -v "^/tmp/file......$" actual
'

# tmpnam_traced: tmpnam and tmpnam_r under strace, in a union mounted on /tmp
# itself (P_tmpdir, the only directory they use) with its branches under
# /var/tmp, outside the union (the trash directory is hidden by it). Leaves the
# names in "names" and the probes of branch files in "probes"; the union's
# shared state (segment and link) is removed afterwards. The probe runs from a copy under
# /var/tmp: a checkout under /tmp is hidden by the union too.
tmpnam_traced() {
	_v=$(mktemp -d /var/tmp/aufs-t7002.XXXXXX) || return 1
	mkdir "$_v/top" "$_v/base" &&
	cp "$P" "$_v/probe" &&
	aufs_run -o "br:$_v/top=rw:$_v/base=ro" /tmp -- \
		strace -f -e trace=%file -o "$_v/log" "$_v/probe" tmpnam >"$_v/names"
	_st=$?
	cp "$_v/names" names
	# by the branch path, or relative to a branch root the process holds (768 and up)
	grep -E -e "$_v/(top|base)/file" \
		-e '[a-z0-9]+\((7[6-9][0-9]|[89][0-9][0-9]|[1-9][0-9]{3,}), "file' "$_v/log" >probes
	"$AUFS_BUILD/helper/shm-probe" remove "$_v"/top/.wh..wh.aufs.shm.*
	rm -rf "$_v"
	return $_st
}

test_expect_success STRACE 'tmpnam(3), tmpnam_r(3) in a union on /tmp probe every branch' '
	tmpnam_traced &&
	test_line_count = 2 names &&
	! grep -v "^/tmp/file......$" names &&
	test_line_count -ge 4 probes
'

# ---------------------------------------------------------------- /proc links

test_expect_success '/proc/self/exe and /proc/PID/exe of a program started from a union' '
	in_m sh -c "\"$M/bin-probe\" exe" >actual &&
	printf "%s\n" "$M/bin-probe" "$M/bin-probe" >expect &&
	test_cmp expect actual
'

test_expect_success '/dev/fd/N and /proc/self/fd/N of a file opened in a union' '
	in_m "$P" fdlink "$M/dir/file" >actual &&
	printf "%s\n" "$M/dir/file" "$M/dir/file" >expect &&
	test_cmp expect actual &&
	in_m "$P" fdlink "$M/dir" >actual &&
	printf "%s\n" "$M/dir" "$M/dir" >expect &&
	test_cmp expect actual
'

test_expect_success '/proc links that name no branch are the kernel answer' '
	in_m "$P" fdlink "$TRASH/t.c" >actual &&
	printf "%s\n" "$TRASH/t.c" "$TRASH/t.c" >expect &&
	test_cmp expect actual &&
	in_m sh -c "exec 3</dev/null; readlink /proc/self/fd/3 /dev/fd/3" >actual &&
	printf "%s\n" /dev/null /dev/null >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'readlink of a link inside /proc/self/fd/N/ is that link, not the fd' '
	ln -s target "$T/dir/lnk" &&
	in_m python3 -c "
import os
fd = os.open(\"$M/dir\", os.O_RDONLY)
print(os.readlink(\"/proc/self/fd/%d\" % fd), os.readlink(\"/proc/self/fd/%d/lnk\" % fd),
      os.readlink(\"/dev/fd/%d/lnk\" % fd))
" >actual &&
	echo "$M/dir target target" >expect &&
	test_cmp expect actual
'

test_expect_success 'the base branch is untouched' '
	branch_untouched "$BASE"
'

test_done
