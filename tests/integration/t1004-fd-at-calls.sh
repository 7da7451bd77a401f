#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='directory fds in the union: *at calls, dup/dup2/F_DUPFD, fchdir, fd reuse, fork'
. "$(dirname "$0")/lib.sh"

# top: d/a ; base: d/b, d/sub/s ; outside/b (a plain dir with the same name b)
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/mnt
mkdir -p "$T/d" "$BASE/d/sub" outside
echo a >"$T/d/a"
echo b >"$BASE/d/b"
echo s >"$BASE/d/sub/s"
echo outside-b >outside/b
snapshot_branch "$T"
snapshot_branch "$BASE"

# py SCRIPT: python3 in the union; helpers: rd(name, dirfd) reads a file or
# returns the errno name.
py() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- python3 -c "
import errno, fcntl, os, sys
M = '$M'
OUT = '$TRASH/outside'
def rd(name, fd):
    try:
        with open(os.open(name, os.O_RDONLY, dir_fd=fd)) as f:
            return f.read().strip()
    except OSError as e:
        return errno.errorcode[e.errno]
def dfd(path):
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
$1"
}

test_expect_success PYTHON 'openat/fstatat relative to a union dir fd reach base files' '
	py "
fd = dfd(M + \"/d\")
print(rd(\"b\", fd), rd(\"a\", fd), rd(\"sub/s\", fd), rd(\"nothere\", fd))
print(os.stat(\"b\", dir_fd=fd).st_size, os.path.exists(\"/proc/self/fd/%d\" % fd))
print(os.readlink(\"/proc/self/fd/%d\" % fd))
" >actual &&
	printf "%s\n" "b a s ENOENT" "2 True" "$M/d" >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'dup, F_DUPFD_CLOEXEC and dup2 copies of a union dir fd' '
	py "
fd = dfd(M + \"/d\")
d2 = os.dup(fd)
os.close(fd)
d3 = fcntl.fcntl(d2, fcntl.F_DUPFD_CLOEXEC, 100)
os.dup2(d3, 50)
print(rd(\"b\", d2), rd(\"b\", d3), rd(\"b\", 50), d3 >= 100)
print(sorted(os.listdir(d2)))
s = os.open(\"sub\", os.O_RDONLY | os.O_DIRECTORY, dir_fd=50)
print(sorted(os.listdir(s)))
" >actual &&
	cat >expect <<-\EOF &&
	b b b True
	['"'"'a'"'"', '"'"'b'"'"', '"'"'sub'"'"']
	['"'"'s'"'"']
	EOF
	test_cmp expect actual
'

test_expect_success PYTHON 'fchdir into a union dir, then relative paths and getcwd' '
	py "
fd = dfd(M + \"/d\")
os.fchdir(fd)
print(os.getcwd(), open(\"b\").read().strip(), sorted(os.listdir(\".\")))
os.chdir(\"sub\")
print(os.getcwd(), open(\"s\").read().strip())
os.chdir(\"../..\")
print(os.getcwd(), os.path.realpath(\"/proc/self/cwd\"))
" >actual &&
	printf "%s\n" "$M/d b ['"'"'a'"'"', '"'"'b'"'"', '"'"'sub'"'"']" "$M/d/sub s" "$M $M" >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'a closed union fd number reused for another dir or a file is that object' '
	py "
fd = dfd(M + \"/d\")
os.close(fd)
fd2 = dfd(OUT)
print(fd == fd2, rd(\"b\", fd2))
os.close(fd2)
fd3 = os.open(\"/etc/hostname\", os.O_RDONLY)
print(fd3 == fd, rd(\"b\", fd3))
" >actual &&
	printf "%s\n" "True outside-b" "True ENOTDIR" >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'dup2 of an outside fd over a union fd; close_range' '
	py "
u = dfd(M + \"/d\")
o = dfd(OUT)
os.dup2(o, u)
print(rd(\"b\", u))
u2 = dfd(M + \"/d\")
os.closerange(u2, u2 + 1)
o2 = dfd(OUT)
print(o2 == u2, rd(\"b\", o2))
" >actual &&
	printf "%s\n" outside-b "True outside-b" >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'a forked child keeps the union dir fds' '
	py "
u = dfd(M + \"/d\")
pid = os.fork()
if pid == 0:
    print(\"child\", rd(\"b\", u), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print(\"parent\", rd(\"b\", u))
" >actual &&
	printf "%s\n" "child b" "parent b" >expect &&
	test_cmp expect actual
'

# Known limitation: the fd table does not cross exec; an inherited directory fd
# of the union is then the top branch's real directory, and base names behind it
# are missing.
test_expect_success PYTHON 'an inherited union dir fd still resolves base names after exec' '
	py "
u = dfd(M + \"/d\")
os.set_inheritable(u, True)
sys.stdout.flush()
os.execv(sys.executable, [sys.executable, \"-c\", \"import os; print(open(os.open(\\\"b\\\", os.O_RDONLY, dir_fd=%d)).read().strip())\" % u])
" >actual &&
	echo b >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'd_ino from readdir equals st_ino from stat, for top and base entries' '
	py "
for e in sorted(os.scandir(M + \"/d\"), key=lambda e: e.name):
    print(e.name, e.inode() == os.lstat(e.path).st_ino)
" >actual &&
	printf "%s\n" "a True" "b True" "sub True" >expect &&
	test_cmp expect actual
'

test_expect_success 'the branches are untouched' '
	branch_untouched "$T" &&
	branch_untouched "$BASE"
'

test_done
