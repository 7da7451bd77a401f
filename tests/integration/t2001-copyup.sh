#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='copy-up: writes to base files land in the top branch (data, holes, mode, owner, times, xattrs), never in the base'
. "$(dirname "$0")/lib.sh"

# One union br:top=rw:base=ro on a separate mount point; every test works in
# its own directory of the base, and every test ends by checking that the base
# (names, types, modes, owners, sizes, mtimes, contents) did not change.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/mnt

mkdir -p "$BASE/app" "$BASE/sed" "$BASE/trunc" "$BASE/times/dir/sub" \
	"$BASE/perm/a/b/c" "$BASE/permdir/d/e" "$BASE/permR/x/y" \
	"$BASE/cpa/sub" "$BASE/tarx/sub" "$BASE/sparse" "$BASE/xattr" "$BASE/conc" "$BASE/otrunc"
seq 5 >"$BASE/app/log.txt"
printf '%s\n' '[main]' 'name = base' 'port = 80' >"$BASE/sed/conf.ini"
chmod 0640 "$BASE/sed/conf.ini"
head -c 1000 /dev/urandom >"$BASE/trunc/shrink.bin"
printf 'short' >"$BASE/trunc/grow.bin"
echo "otrunc base content" >"$BASE/otrunc/f"
echo 0123456789 >"$BASE/otrunc/nt"
echo "times" >"$BASE/times/file"
echo "at the root" >"$BASE/rootfile"
echo "deep" >"$BASE/perm/a/b/c/file"
echo "in d" >"$BASE/permdir/d/file"
echo "in e" >"$BASE/permdir/d/e/file"
echo "r1" >"$BASE/permR/r1"
echo "r2" >"$BASE/permR/x/r2"
echo "r3" >"$BASE/permR/x/y/r3"
echo "base-x" >"$BASE/cpa/x"
echo "base-keep" >"$BASE/cpa/keep"
echo "base-z" >"$BASE/cpa/sub/z"
echo "base-x" >"$BASE/tarx/x"
echo "base-keep" >"$BASE/tarx/keep"
echo "base-y" >"$BASE/tarx/sub/y"
seq 100 | sed 's/^/base /' >"$BASE/conc/shared.log"
seq 100 | sed 's/^/base /' >"$BASE/conc/shared2.log"
for r in 1 2 3; do
	mkdir -p "$BASE/conc3/r$r/x/y/z"
	for i in $(seq 80); do
		echo "$i" >"$BASE/conc3/r$r/x/y/z/f$i"
	done
	touch -d '2001-02-03 04:05:06' "$BASE/conc3/r$r/x/y/z" "$BASE/conc3/r$r/x/y" "$BASE/conc3/r$r/x"
done
# parent directories with distinct modes (and owners when root) and old times
chmod 0751 "$BASE/perm/a"
chmod 0705 "$BASE/perm/a/b"
chmod 0770 "$BASE/perm/a/b/c"
chmod 0750 "$BASE/permdir/d"
chmod 0711 "$BASE/permR/x"
if test_have_prereq ROOT; then
	chown 1:2 "$BASE/perm/a/b"
	chown 3:4 "$BASE/perm/a/b/c" "$BASE/perm/a/b/c/file"
	chown 5:6 "$BASE/permR/x/y"
fi
touch -d '2001-02-03 04:05:06' "$BASE/perm/a/b/c/file" "$BASE/perm/a/b/c" "$BASE/perm/a/b" "$BASE/perm/a" \
	"$BASE/permR/x/y/r3" "$BASE/permR/x/y" "$BASE/permR/x" \
	"$BASE/times/file" "$BASE/times/dir/sub" "$BASE/times/dir"

# A sparse file: 8 MiB with 3 bytes of data at 4 MiB (when the file system makes holes).
truncate -s 8M "$BASE/sparse/holes.bin"
printf 'hi\n' | dd of="$BASE/sparse/holes.bin" bs=1 seek=4194304 conv=notrunc 2>/dev/null
if [ "$(du -k "$BASE/sparse/holes.bin" | cut -f1)" -lt 1024 ]; then
	test_set_prereq SPARSE
fi

# user.* extended attributes (setfattr, else python3), when the file system has them.
echo "xattr f" >"$BASE/xattr/f"
echo "xattr g" >"$BASE/xattr/g"
set_user_xattr() { # FILE NAME VALUE
	if have_cmd setfattr; then
		setfattr -n "$2" -v "$3" "$1"
	elif have_cmd python3; then
		python3 -c 'import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())' "$1" "$2" "$3"
	else
		return 1
	fi
}
# xattr.py get FILE NAME | set FILE NAME VALUE | list FILE (inside or outside the union)
cat >xattr.py <<\PY
import os, sys
op, path = sys.argv[1], sys.argv[2]
if op == "get":
    print(os.getxattr(path, sys.argv[3]).decode())
elif op == "set":
    os.setxattr(path, sys.argv[3], sys.argv[4].encode())
else:
    print(" ".join(sorted(n for n in os.listxattr(path) if n.startswith("user."))))
PY
get_user_xattr() {
	python3 "$TRASH/xattr.py" get "$1" "$2"
}
if have_cmd python3 && set_user_xattr "$BASE/xattr/f" user.origin base-f 2>/dev/null &&
	set_user_xattr "$BASE/xattr/g" user.origin base-g 2>/dev/null; then
	test_set_prereq XATTR
fi

# The source trees copied into the union by cp -a and tar, outside every branch.
mkdir -p src-cpa/sub src-tar/sub
echo "new-x" >src-cpa/x
echo "new-z" >src-cpa/sub/z
echo "new-n" >src-cpa/sub/new
chmod 0600 src-cpa/sub/new
touch -d '2005-06-07 08:09:10' src-cpa/x src-cpa/sub/new
echo "tar-x" >src-tar/x
echo "tar-y" >src-tar/sub/y
echo "tar-new" >src-tar/sub/new
touch -d '2006-01-02 03:04:05' src-tar/x src-tar/sub/y
if test_have_prereq TAR; then
	(cd src-tar && tar cf "$TRASH/src.tar" x sub) || exit 1
fi

# descriptors, and parents with special mode bits
mkdir -p "$BASE/fd/d" "$BASE/sgid" "$BASE/sticky"
echo "fd f" >"$BASE/fd/f"
echo "fd d x" >"$BASE/fd/d/x"
echo "s" >"$BASE/sgid/s"
echo "t" >"$BASE/sticky/t"
test_have_prereq ROOT && chgrp 2 "$BASE/sgid"
chmod 2775 "$BASE/sgid"
chmod 1777 "$BASE/sticky"
cat >fd.py <<\PY
import os, sys
fd = os.open("fd/f", os.O_RDONLY)
for name, call in (("fchmod", lambda: os.fchmod(fd, 0o600)),
                   ("futimens", lambda: os.utime(fd, (0, 0))),
                   ("ftruncate", lambda: os.ftruncate(fd, 0))):
    try:
        call()
        print(name, "ok")
    except OSError as e:
        print(name, e.errno)
print(open("fd/f").read(), end="")
dfd = os.open("fd/d", os.O_RDONLY | os.O_DIRECTORY)
os.fchmod(dfd, 0o700)
os.utime(dfd, (100, 200))
st = os.stat("fd/d")
print(oct(st.st_mode & 0o7777), int(st.st_mtime), " ".join(sorted(os.listdir("fd/d"))))
PY

snapshot_branch "$BASE"

# in_u SCRIPT: run the shell SCRIPT in the union, cwd the mount point.
in_u() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

# dir_attrs ROOT PATH...: mode, owner, group of each PATH below ROOT.
dir_attrs() {
	_r=$1
	shift
	for _p in "$@"; do
		stat -c "$_p %a %u:%g" "$_r/$_p" || return 1
	done
}

# dir_mtimes ROOT PATH...: the mtime of each PATH below ROOT.
dir_mtimes() {
	_r=$1
	shift
	for _p in "$@"; do
		stat -c "$_p %Y" "$_r/$_p" || return 1
	done
}

test_expect_success 'echo >> a base file: the union shows base + line, the top branch holds the copy' '
	in_u "echo appended >>app/log.txt && cat app/log.txt" >actual &&
	{ seq 5 && echo appended; } >expect &&
	test_cmp expect actual &&
	test_cmp expect "$T/app/log.txt" &&
	seq 5 | test_cmp - "$BASE/app/log.txt" &&
	branch_untouched "$BASE"
'

test_expect_success 'a second append goes to the top copy, not to a new copy of the base' '
	in_u "echo again >>app/log.txt && cat app/log.txt" >actual &&
	{ seq 5 && echo appended && echo again; } >expect &&
	test_cmp expect actual &&
	test_cmp expect "$T/app/log.txt" &&
	branch_untouched "$BASE"
'

test_expect_success 'sed -i on a base file: new content and the base mode in the top copy' '
	in_u "sed -i s/base/top/ sed/conf.ini && cat sed/conf.ini && stat -c %a sed/conf.ini && ls -A sed" >actual &&
	printf "%s\n" "[main]" "name = top" "port = 80" 640 conf.ini >expect &&
	test_cmp expect actual &&
	printf "%s\n" "[main]" "name = top" "port = 80" >expect &&
	test_cmp expect "$T/sed/conf.ini" &&
	ls -A "$T/sed" >actual &&
	echo conf.ini >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'truncate -s shrinks and grows base files (copied up, length right)' '
	in_u "truncate -s 10 trunc/shrink.bin && truncate -s 4000 trunc/grow.bin && stat -c \"%n %s\" trunc/shrink.bin trunc/grow.bin" >actual &&
	printf "%s\n" "trunc/shrink.bin 10" "trunc/grow.bin 4000" >expect &&
	test_cmp expect actual &&
	head -c 10 "$BASE/trunc/shrink.bin" >expect &&
	test_cmp expect "$T/trunc/shrink.bin" &&
	{ printf short && head -c 3995 /dev/zero; } >expect &&
	test_cmp expect "$T/trunc/grow.bin" &&
	branch_untouched "$BASE"
'

test_expect_success '> (O_TRUNC) on a base file: empty top copy, then new content' '
	in_u ": >otrunc/f && stat -c %s otrunc/f && echo new >otrunc/f && cat otrunc/f" >actual &&
	printf "%s\n" 0 new >expect &&
	test_cmp expect actual &&
	echo new | test_cmp - "$T/otrunc/f" &&
	branch_untouched "$BASE"
'

# (not dd conv=notrunc: its aligned_alloc(4096, 512) aborts under ASan)
test_expect_success 'O_RDWR write over the start of a base file (sh 1<>): the rest of the copy is the base data' '
	in_u "printf XY 1<>otrunc/nt && cat otrunc/nt" >actual &&
	echo XY23456789 >expect &&
	test_cmp expect actual &&
	test_cmp expect "$T/otrunc/nt" &&
	branch_untouched "$BASE"
'

test_expect_success 'touch -d on a base file and a base dir: copied up with the new times' '
	in_u "touch -d \"2010-05-06 07:08:09\" times/file times/dir && stat -c \"%n %Y\" times/file times/dir && ls times/dir" >actual &&
	t=$(date -d "2010-05-06 07:08:09" +%s) &&
	printf "%s\n" "times/file $t" "times/dir $t" sub >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/times/file" &&
	test_path_is_dir "$T/times/dir" &&
	stat -c "%Y" "$T/times/file" "$T/times/dir" >actual &&
	printf "%s\n" "$t" "$t" >expect &&
	test_cmp expect actual &&
	echo times | test_cmp - "$T/times/file" &&
	branch_untouched "$BASE"
'

test_expect_success 'chmod of a deep base file copies it up with its parents (content, owner kept)' '
	in_u "chmod 0604 perm/a/b/c/file && stat -c \"%a %u:%g\" perm/a/b/c/file && cat perm/a/b/c/file" >actual &&
	{ stat -c "604 %u:%g" "$BASE/perm/a/b/c/file" && echo deep; } >expect &&
	test_cmp expect actual &&
	stat -c "%a %u:%g %Y" "$T/perm/a/b/c/file" >actual &&
	stat -c "604 %u:%g %Y" "$BASE/perm/a/b/c/file" >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'the copied-up parents keep the base modes and owners' '
	dir_attrs "$BASE" perm perm/a perm/a/b perm/a/b/c >expect &&
	dir_attrs "$T" perm perm/a perm/a/b perm/a/b/c >actual &&
	test_cmp expect actual &&
	in_u "for d in perm perm/a perm/a/b perm/a/b/c; do stat -c \"\$d %a %u:%g\" \$d; done" >actual &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

# A copy-up is no change of the parent directory: aufs (au_dtime_store/revert)
# and overlayfs (ovl_set_timestamps on the parent) keep the parents' times.
test_expect_success 'the copied-up parents keep the base mtimes (top branch and union view)' '
	dir_mtimes "$BASE" perm/a perm/a/b perm/a/b/c >expect &&
	dir_mtimes "$T" perm/a perm/a/b perm/a/b/c >actual &&
	test_cmp expect actual &&
	in_u "for d in perm/a perm/a/b perm/a/b/c; do stat -c \"\$d %Y\" \$d; done" >actual &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

# A file at the union's root: its directory in the top branch is the branch's
# root, whose times the copy-up puts back too (they were once put back from an
# unset lstat: 1970, found by memcheck). A process holds the union's shared state,
# so that no fresh state link in the root changes its times meanwhile.
test_expect_success 'a copy-up at the union root keeps the top branch root'"'"'s times' '
	state_hold rootcp "$ME" "$M" -o "br:$T=rw:$BASE=ro" "$M" &&
	stat -c "%x %y" "$T" >expect &&
	in_u "echo appended >>rootfile" &&
	stat -c "%x %y" "$T" >actual &&
	state_release rootcp &&
	test_cmp expect actual &&
	printf "%s\n" "at the root" appended | test_cmp - "$T/rootfile" &&
	branch_untouched "$BASE"
'

test_expect_success 'chmod of a base dir: copied up alone, new mode, content still merged' '
	in_u "chmod 0700 permdir/d && stat -c %a permdir/d && find permdir | sort && cat permdir/d/e/file" >actual &&
	printf "%s\n" 700 permdir permdir/d permdir/d/e permdir/d/e/file permdir/d/file "in e" >expect &&
	test_cmp expect actual &&
	stat -c %a "$T/permdir/d" >actual &&
	echo 700 >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/permdir/d/file" &&
	test_path_is_missing "$T/permdir/d/e" &&
	branch_untouched "$BASE"
'

test_expect_success 'chmod -R on a base tree: every object copied up with its new mode' '
	in_u "chmod -R go-rwx permR && find permR -printf \"%p %m\n\" | sort && cat permR/x/y/r3" >actual &&
	cat >expect <<-\EOF &&
	permR 700
	permR/r1 600
	permR/x 700
	permR/x/r2 600
	permR/x/y 700
	permR/x/y/r3 600
	r3
	EOF
	test_cmp expect actual &&
	(cd "$T" && find permR -printf "%p %m\n" | sort) >actual &&
	sed -e "\$d" expect >expect.top &&
	test_cmp expect.top actual &&
	stat -c "%u:%g" "$BASE/permR/x/y" "$BASE/permR/x/y/r3" >expect &&
	stat -c "%u:%g" "$T/permR/x/y" "$T/permR/x/y/r3" >actual &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'chmod -R keeps the mtimes of the directories it copied up' '
	dir_mtimes "$BASE" permR/x permR/x/y >expect &&
	in_u "stat -c \"permR/x %Y\" permR/x && stat -c \"permR/x/y %Y\" permR/x/y" >actual &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'cp -a into the union over base content: new and replaced files, base kept' '
	in_u "cp -a \"$TRASH/src-cpa/.\" cpa/ && find cpa -type f -printf \"%p %m %s\n\" | sort && cat cpa/x cpa/keep cpa/sub/z cpa/sub/new && stat -c %Y cpa/x" >actual &&
	cat >expect <<-EOF &&
	cpa/keep 644 10
	cpa/sub/new 600 6
	cpa/sub/z 644 6
	cpa/x 644 6
	new-x
	base-keep
	new-z
	new-n
	$(date -d "2005-06-07 08:09:10" +%s)
	EOF
	test_cmp expect actual &&
	test_path_is_missing "$T/cpa/keep" &&
	echo new-x | test_cmp - "$T/cpa/x" &&
	branch_untouched "$BASE"
'

test_expect_success TAR 'tar x over base content: replaced and new files, untouched base files still visible' '
	in_u "cd tarx && tar xf \"$TRASH/src.tar\" && find . -type f | sort && cat x keep sub/y sub/new && stat -c %Y x sub/y" >actual &&
	t=$(date -d "2006-01-02 03:04:05" +%s) &&
	cat >expect <<-EOF &&
	./keep
	./sub/new
	./sub/y
	./x
	tar-x
	base-keep
	tar-y
	tar-new
	$t
	$t
	EOF
	test_cmp expect actual &&
	(cd "$T/tarx" && find . ! -name ".wh.*" -type f | sort) >actual &&
	printf "%s\n" ./sub/new ./sub/y ./x >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success SPARSE 'copy-up of a sparse file keeps it sparse' '
	in_u "echo tail >>sparse/holes.bin && du -k --apparent-size sparse/holes.bin | cut -f1 && du -k sparse/holes.bin | cut -f1" >actual &&
	apparent=$(sed -n 1p actual) && used=$(sed -n 2p actual) &&
	echo "apparent $apparent KiB, used $used KiB" &&
	test "$apparent" -ge 8192 &&
	test "$used" -lt 1024 &&
	test "$(du -k "$T/sparse/holes.bin" | cut -f1)" -lt 1024 &&
	{ cat "$BASE/sparse/holes.bin" && echo tail; } | cmp - "$T/sparse/holes.bin" &&
	branch_untouched "$BASE"
'

test_expect_success XATTR 'user.* xattrs survive a copy-up by append' '
	in_u "echo more >>xattr/f && python3 \"$TRASH/xattr.py\" get xattr/f user.origin" >actual &&
	echo base-f >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/xattr/f" &&
	get_user_xattr "$T/xattr/f" user.origin >actual &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success XATTR 'setxattr on a base file copies it up and keeps the old xattrs' '
	in_u "python3 \"$TRASH/xattr.py\" set xattr/g user.new n1 && python3 \"$TRASH/xattr.py\" list xattr/g" >actual &&
	echo "user.new user.origin" >expect &&
	test_cmp expect actual &&
	get_user_xattr "$T/xattr/g" user.new >actual &&
	echo n1 >expect &&
	test_cmp expect actual &&
	get_user_xattr "$T/xattr/g" user.origin >actual &&
	echo base-g >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success PYTHON 'changes through a read-only fd of a base file fail with EROFS (documented), base kept' '
	in_u "python3 \"$TRASH/fd.py\"" >actual &&
	cat >expect <<-\EOF &&
	fchmod 30
	futimens 30
	ftruncate 30
	fd f
	0o700 200 x
	EOF
	test_cmp expect actual &&
	test_path_is_missing "$T/fd/f" &&
	branch_untouched "$BASE"
'

test_expect_success PYTHON 'fchmod and futimens of a base dir fd copy the dir up (top copy 0700, mtime 200)' '
	stat -c "%a %Y" "$T/fd/d" >actual &&
	echo "700 200" >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/fd/d/x" &&
	branch_untouched "$BASE"
'

test_expect_success 'a sticky (1777) parent keeps its mode when a file in it is copied up' '
	in_u "echo more >>sticky/t && stat -c %a sticky" >actual &&
	echo 1777 >expect &&
	test_cmp expect actual &&
	stat -c %a "$T/sticky" >actual &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

# copy_mode() drops the set-id bits of every copy, directories included; a
# set-group-ID directory (group-shared upload dirs: 2775) is no privilege, and
# losing the bit changes the group of every file created in it afterwards.
test_expect_success 'a set-group-ID (2775) parent keeps its mode when a file in it is copied up' '
	in_u "echo more >>sgid/s && stat -c %a sgid && echo new >sgid/new && stat -c %g sgid/new" >actual &&
	printf "%s\n" 2775 "$(stat -c %g "$BASE/sgid")" >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

# ---------------------------------------------------------------- rights
# A base file the caller could not write on a real file system: no silent copy-up.
# As root, the case runs as the unprivileged user aufs-test on root-owned files;
# as another user, on a file of one's own with mode 0444 (no chmod case then).
UB=$TRASH/ubase
UT=$TRASH/utop
UM=$TRASH/umnt
mkdir -p "$UB/d" "$UB/open" "$UT"
chmod 0777 "$UB/open"
echo "root owned" >"$UB/d/f"
echo "root file" >"$UB/rootfile"
mkdir "$UB/sticky" "$UB/sticky2"
echo "root file" >"$UB/sticky/rootfile"
echo "root file" >"$UB/sticky2/rootfile"
chmod 1777 "$UB/sticky" "$UB/sticky2"
chmod 0644 "$UB/d/f"
if test_have_prereq ROOT; then
	if have_cmd runuser && id -u aufs-test >/dev/null 2>&1; then
		chmod 0755 "$TEST_TMP"
		chown aufs-test "$UT"
		if runuser -u aufs-test -- test -r "$AUFS_LIB" -a -x "$AUFS_BUILD/aufs-run" -a -w "$UT"; then
			test_set_prereq AUFS_TEST_USER
		fi
	fi
else
	chmod 0444 "$UB/d/f"
fi
snapshot_branch "$UB"

# in_uu SCRIPT: SCRIPT in the union of utop and ubase, as aufs-test when root.
in_uu() {
	if test_have_prereq ROOT; then
		user_aufs_run aufs-test -o "br:$UT=rw:$UB=ro" "$UM" -- sh -c 'cd "$1" && eval "$2"' sh "$UM" "$1"
	else
		aufs_run -o "br:$UT=rw:$UB=ro" "$UM" -- sh -c 'cd "$1" && eval "$2"' sh "$UM" "$1"
	fi
}

test_expect_success ROOT,AUFS_TEST_USER 'aufs-test cannot append to a root-owned 0644 base file: EACCES, no copy-up' '
	in_uu "echo x >>d/f" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_grep "Permission denied" out &&
	test_path_is_missing "$UT/d" &&
	in_uu "cat d/f" >actual &&
	echo "root owned" >expect &&
	test_cmp expect actual &&
	branch_untouched "$UB"
'

test_expect_success ROOT,AUFS_TEST_USER 'aufs-test cannot chmod it (EPERM), nor chown, truncate, touch -d, open O_RDWR: no copy-up' '
	in_uu "chmod 0666 d/f" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_grep "Operation not permitted" out &&
	test_must_fail in_uu "chown aufs-test d/f" &&
	test_must_fail in_uu "truncate -s 0 d/f" &&
	test_must_fail in_uu "touch -d 2001-01-01 d/f" &&
	test_must_fail in_uu "exec 3<>d/f" &&
	test_path_is_missing "$UT/d" &&
	in_uu "stat -c %a d/f" >actual &&
	echo 644 >expect &&
	test_cmp expect actual &&
	branch_untouched "$UB"
'

test_expect_success ROOT,AUFS_TEST_USER 'aufs-test may still read it, and create files in a base dir it may write' '
	in_uu "cat d/f && echo mine >open/mine && cat open/mine && stat -c %a open" >actual &&
	printf "%s\n" "root owned" mine 777 >expect &&
	test_cmp expect actual &&
	test_path_is_file "$UT/open/mine" &&
	test_path_is_missing "$UT/d" &&
	branch_untouched "$UB"
'

# The core keeps the caller's credentials (src/core/state_creds.c): a worker that
# drops root after fork, as php-fpm's do, must be checked as who it is now.
test_expect_success ROOT,AUFS_TEST_USER 'a fork child that drops root to aufs-test is checked as aufs-test' '
	uid=$(id -u aufs-test) && gid=$(id -g aufs-test) &&
	aufs_run -o "br:$UT=rw:$UB=ro" "$UM" -- python3 -c "
import errno, os, sys
os.chdir(sys.argv[1])
open(\"open/warm\", \"w\").close()	# root: the credentials are cached now
os.unlink(\"open/warm\")
pid = os.fork()
if pid == 0:
    os.setgroups([]); os.setresgid($gid, $gid, $gid); os.setresuid($uid, $uid, $uid)
    for what, call in ((\"append\", lambda: open(\"d/f\", \"a\")),
                       (\"unlink\", lambda: os.unlink(\"d/f\")),
                       (\"mkdir\", lambda: os.mkdir(\"d/newdir2\"))):
        try:
            call()
            print(what, \"allowed\")
        except OSError as e:
            print(what, errno.errorcode[e.errno])
    open(\"open/mine2\", \"w\").close()
    print(\"owner\", os.stat(\"open/mine2\").st_uid == $uid)
    sys.stdout.flush()
    os._exit(0)
os.waitpid(pid, 0)
" "$UM" >actual &&
	printf "%s\n" "append EACCES" "unlink EACCES" "mkdir EACCES" "owner True" >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$UT/d" &&
	rm -f "$UT/open/mine2" &&
	branch_untouched "$UB"
'

# The old aufs(5) of the seed says "aufs checks the permission bits of all
# existing directories ... including the lower branches", which the union used to
# do for write permission too: aufs-test could create nothing in the union root,
# its own top branch, because the base's copy is root's 0755. The later aufs
# (aufs_permission(), and the kernel overlay with its upper inode) decide write
# permission on a directory by its top-most copy alone, and only read and search
# permission on every copy (nodirperm1; t2003-tenant-perms.sh has the rest).
test_expect_success ROOT,AUFS_TEST_USER 'write permission on a dir follows its top-most copy: aufs-test may create and remove in its own top copy' '
	in_uu "echo x >newfile && mkdir newdir && rm rootfile && ls -a" >actual &&
	printf "%s\n" . .. d newdir newfile open sticky sticky2 >expect &&
	test_cmp expect actual &&
	test_path_is_file "$UT/newfile" &&
	test_path_is_dir "$UT/newdir" &&
	test_path_is_file "$UT/.wh.rootfile" &&
	rm -r "$UT/newfile" "$UT/newdir" "$UT/.wh.rootfile" &&
	branch_untouched "$UB"
'

test_expect_success ROOT,AUFS_TEST_USER 'but not in a dir whose top-most copy is the base copy, root 0755: EACCES, nothing copied up' '
	in_uu "echo x >d/newfile" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_grep "Permission denied" out &&
	in_uu "rm -f d/f" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_grep "Permission denied" out &&
	in_uu "mkdir d/newdir" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_grep "Permission denied" out &&
	test_path_is_missing "$UT/d" &&
	in_uu "cat d/f" >actual &&
	echo "root owned" >expect &&
	test_cmp expect actual &&
	branch_untouched "$UB"
'

test_expect_success ROOT,AUFS_TEST_USER 'aufs-test may create and remove its own files in a sticky (1777) base dir' '
	in_uu "echo mine >sticky/mine && mv sticky/mine sticky/mine2 && rm sticky/mine2 && ls sticky" >actual &&
	echo rootfile >expect &&
	test_cmp expect actual &&
	branch_untouched "$UB"
'

# unlink(2), rename(2): "The directory containing pathname has the sticky bit
# (S_ISVTX) set and the process's effective UID is neither the UID of the file
# to be deleted nor that of the directory containing it": EPERM. The directory's
# top-most copy says, as for write permission: sticky2 is only the base's.
test_expect_success ROOT,AUFS_TEST_USER 'a sticky (1777) base dir: aufs-test cannot remove or rename roots file (EPERM)' '
	in_uu "rm -f sticky2/rootfile" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_grep "Operation not permitted" out &&
	in_uu "mv sticky2/rootfile sticky2/moved" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_grep "Operation not permitted" out &&
	test_path_is_missing "$UT/sticky2" &&
	in_uu "cat sticky2/rootfile" >actual &&
	echo "root file" >expect &&
	test_cmp expect actual &&
	branch_untouched "$UB"
'

# aufs-test made its own copy of sticky above (creating sticky/mine copied it up).
# aufs copies a directory up as root, keeping its owner; a process cannot give a
# copy away, so that copy is aufs-test'"'"'s: the top-most copy, whose owner the
# sticky rule asks for. It is aufs-test'"'"'s own branch, which it could change
# directly anyway.
test_expect_success ROOT,AUFS_TEST_USER 'once aufs-test owns the top-most copy of the sticky dir, it may remove what the dir shows' '
	stat -c "%U %a" "$UT/sticky" >actual &&
	echo "aufs-test 1777" >expect &&
	test_cmp expect actual &&
	in_uu "rm sticky/rootfile && ls sticky" >actual &&
	test_must_be_empty actual &&
	test_path_is_file "$UT/sticky/.wh.rootfile" &&
	rm "$UT/sticky/.wh.rootfile" &&
	branch_untouched "$UB"
'

test_expect_success !ROOT 'a 0444 base file of ones own: append and O_RDWR fail with EACCES, no copy-up' '
	in_uu "echo x >>d/f" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_grep "Permission denied" out &&
	test_must_fail in_uu "exec 3<>d/f" &&
	test_path_is_missing "$UT/d" &&
	in_uu "cat d/f" >actual &&
	echo "root owned" >expect &&
	test_cmp expect actual &&
	branch_untouched "$UB"
'

# A file one owns and may write, in a base directory of mode 0555: on a real file
# system appending to it works (the directory's mode does not matter). The copy-up
# must not be stopped by the mode of the parent it copies up first. Runs as
# aufs-test when root (root ignores modes), else as the caller.
RB=$TRASH/robase
RT=$TRASH/rotop
RM=$TRASH/romnt
mkdir -p "$RB/ro/sub" "$RT"
echo "mine" >"$RB/ro/f"
echo "deep" >"$RB/ro/sub/g"
echo "write only" >"$RB/wonly"
chmod 0200 "$RB/wonly"
chmod 0555 "$RB/ro/sub" "$RB/ro"
if test_have_prereq ROOT; then
	chown -R aufs-test "$RB" "$RT" 2>/dev/null
	test_have_prereq AUFS_TEST_USER && test_set_prereq RO_PARENT
else
	test_set_prereq RO_PARENT
fi
# the snapshot reads every file: wonly is made readable for it, and only for it
rb_untouched() {
	chmod 0600 "$RB/wonly" &&
	branch_untouched "$RB"
	_st=$?
	chmod 0200 "$RB/wonly"
	return $_st
}
chmod 0600 "$RB/wonly"
snapshot_branch "$RB"
chmod 0200 "$RB/wonly"

in_ro() {
	if test_have_prereq ROOT; then
		user_aufs_run aufs-test -o "br:$RT=rw:$RB=ro" "$RM" -- sh -c 'cd "$1" && eval "$2"' sh "$RM" "$1"
	else
		aufs_run -o "br:$RT=rw:$RB=ro" "$RM" -- sh -c 'cd "$1" && eval "$2"' sh "$RM" "$1"
	fi
}

test_expect_success RO_PARENT 'appending to ones own file in a 0555 base dir works (the parent copy keeps 0555)' '
	in_ro "echo more >>ro/f && echo more >>ro/sub/g && cat ro/f ro/sub/g && stat -c %a ro ro/sub" >actual &&
	printf "%s\n" mine more deep more 555 555 >expect &&
	test_cmp expect actual &&
	stat -c %a "$RT/ro" "$RT/ro/sub" >actual &&
	printf "%s\n" 555 555 >expect &&
	test_cmp expect actual &&
	rb_untouched
'

# A file one owns with mode 0200: writable, not readable. Appending works on a
# real file system; the copy-up has to read it all the same.
test_expect_failure RO_PARENT 'appending to ones own write-only (0200) base file works' '
	in_ro "echo more >>wonly" &&
	printf "%s\n" "write only" more >expect &&
	chmod u+r "$RT/wonly" &&
	test_cmp expect "$RT/wonly" &&
	rb_untouched
'

# ---------------------------------------------------------------- concurrency
# append_many FILE N: 8 processes, each in its own aufs-run, append N lines at once.
append_many() {
	_pids=
	for p in 1 2 3 4 5 6 7 8; do
		aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c '
			cd "$1" || exit 1
			i=0
			while [ $i -lt "$3" ]; do
				i=$((i + 1))
				echo "p$2 $i" >>"$4" || exit 1
			done' sh "$M" "$p" "$2" "$1" &
		_pids="$_pids $!"
	done
	_fail=0
	for _pid in $_pids; do
		wait "$_pid" || _fail=1
	done
	return "$_fail"
}

# check_appended FILE N: the top copy of FILE holds the 100 base lines, then
# N lines of every writer, each writer's in order.
check_appended() {
	wc -l <"$T/$1" | tr -d " " >actual &&
	echo $((100 + 8 * $2)) >expect &&
	test_cmp expect actual &&
	head -n 100 "$T/$1" | test_cmp "$BASE/$1" - &&
	seq "$2" >expect &&
	for p in 1 2 3 4 5 6 7 8; do
		sed -n "s/^p$p //p" "$T/$1" >"actual.$p" &&
		test_cmp expect "actual.$p" || return 1
	done
}

test_expect_success '8 concurrent aufs-run processes append 1000 lines each to one base file' '
	append_many conc/shared.log 1000 &&
	check_appended conc/shared.log 1000 &&
	ls -A "$T/conc" >actual &&
	echo shared.log >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'again on a second base file (the copy-up race, not the appends, is the point)' '
	append_many conc/shared2.log 200 &&
	check_appended conc/shared2.log 200 &&
	in_u "wc -l <conc/shared2.log" >actual &&
	echo 1700 >expect &&
	test_cmp expect actual &&
	ls -A "$T/conc" >actual &&
	printf "%s\n" shared.log shared2.log >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

# 8 processes copy up 10 files each out of one base directory at once (three
# rounds, in three directories): every file copied, and the copied-up parents
# keep the base mtimes as a single process's copy-up does. The times are saved
# and restored around each copy-up by each process on its own, so one
# process's restore can put back a time another process's create had changed.
test_expect_failure 'concurrent copy-ups out of one dir keep the parents mtimes' '
	for r in 1 2 3; do
		_pids= &&
		for p in 1 2 3 4 5 6 7 8; do
			aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c "
				cd \"$M/conc3/r$r/x/y/z\" || exit 1
				for i in \$(seq $p 8 80); do echo more >>f\$i || exit 1; done" &
			_pids="$_pids $!"
		done &&
		for _pid in $_pids; do wait "$_pid" || exit 1; done &&
		test "$(cat "$T/conc3/r$r/x/y/z/"f* | grep -c "^more\$")" = 80 || exit 1
	done &&
	for r in 1 2 3; do
		dir_mtimes "$BASE" conc3/r$r/x conc3/r$r/x/y conc3/r$r/x/y/z
	done >expect &&
	for r in 1 2 3; do
		dir_mtimes "$T" conc3/r$r/x conc3/r$r/x/y conc3/r$r/x/y/z
	done >actual &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'no copy-up temporaries or stray whiteouts are left in the top branch' '
	(cd "$T" && find . -name ".wh.*" ! -name ".wh..wh.aufs" ! -name ".wh..wh.aufs.shm.*") >actual &&
	test_must_be_empty actual &&
	branch_untouched "$BASE"
'


# A copy is created with its final mode when the umask keeps every bit of it
# (no fchmod): the library tracks umask(). A process that learnt its umask (the
# first copy-up) and then narrows it must still get the base's mode on the next
# copies, in a subshell (fork) and after exec too; the base's modes differ.
test_expect_success 'copy-up after umask(): the copy keeps the base file mode' '
	mkdir -p "$BASE/umask" &&
	for f in a b c d e; do echo "base-$f" >"$BASE/umask/$f" || return 1; done &&
	chmod 0644 "$BASE/umask/a" "$BASE/umask/b" "$BASE/umask/d" &&
	chmod 0664 "$BASE/umask/c" "$BASE/umask/e" &&
	snapshot_branch "$BASE" &&
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c "
		umask 022 && echo 1 >>$M/umask/a &&
		umask 077 && echo 2 >>$M/umask/b &&
		(umask 002 && echo 3 >>$M/umask/c) &&
		umask 027 && sh -c \"echo 4 >>$M/umask/d; umask 0; echo 5 >>$M/umask/e\"
	" &&
	for f in a b c d e; do stat -c "%n %a" "$T/umask/$f" || return 1; done >actual &&
	cat >expect <<-EOF &&
	$T/umask/a 644
	$T/umask/b 644
	$T/umask/c 664
	$T/umask/d 644
	$T/umask/e 664
	EOF
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

# The copy a write's copy-up made is the descriptor the open returns when it can be
# (src/core/mutate_copyup.c, may_keep): it must behave as a fresh open of the copy.
# And a copy-up tells other processes only about the copied name.
test_expect_success 'the open that copies up: access mode, O_APPEND, O_CLOEXEC as asked; others see the copy' '
	mkdir -p "$BASE/keepfd" &&
	for f in a b c d e; do echo "base-$f" >"$BASE/keepfd/$f" || return 1; done &&
	snapshot_branch "$BASE" &&
	cat >"$TRASH/keepfd.py" <<-\EOF &&
	import fcntl, os, sys
	os.chdir(sys.argv[1])
	for f in "abcde":
	    os.stat("keepfd/" + f)      # cached in the parent, as base files
	pid = os.fork()
	if pid == 0:
	    fd = os.open("keepfd/a", os.O_WRONLY | os.O_APPEND)  # python adds O_CLOEXEC
	    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
	    print("a", fl & os.O_ACCMODE == os.O_WRONLY, bool(fl & os.O_APPEND),
	          bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
	    os.write(fd, b"more\n")
	    os.close(fd)
	    fd = os.open("keepfd/b", os.O_RDWR | os.O_CLOEXEC)
	    print("b", fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR,
	          bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC),
	          os.lseek(fd, 0, os.SEEK_CUR), os.read(fd, 100).split())
	    os.close(fd)
	    fd = os.open("keepfd/c", os.O_WRONLY | os.O_TRUNC)
	    os.write(fd, b"new\n")
	    os.close(fd)
	    sys.stdout.flush()
	    os._exit(0)
	os.waitpid(pid, 0)
	for f in "abcde":
	    print(f, open("keepfd/" + f).read().split())
	EOF
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- python3 "$TRASH/keepfd.py" "$M" >actual &&
	cat >expect <<-\EOF &&
	a True True True
	b True True 0 [b'"'"'base-b'"'"']
	a ['"'"'base-a'"'"', '"'"'more'"'"']
	b ['"'"'base-b'"'"']
	c ['"'"'new'"'"']
	d ['"'"'base-d'"'"']
	e ['"'"'base-e'"'"']
	EOF
	test_cmp expect actual &&
	test_path_is_file "$T/keepfd/a" &&
	test_path_is_file "$T/keepfd/b" &&
	test_path_is_missing "$T/keepfd/d" &&
	branch_untouched "$BASE"
'

# open(2) returns the lowest free descriptor: "close(1); open(log, O_APPEND)"
# makes the log stdout. An open that copies up keeps the temporary it copied
# into as the caller's descriptor: it must still be the lowest, whatever the
# copy-up opened around it (the source, a directory it made or writes in).
LB=$TRASH/lowbase
LT=$TRASH/lowtop
LM=$TRASH/lowmnt
mkdir -p "$LB/d" "$LB/only/sub" "$LB/ww" "$LT/d" "$LT/ww"
for f in a b c e; do echo "base-$f" >"$LB/d/$f" || exit 1; done
echo base-o >"$LB/only/sub/o"
echo base-w >"$LB/ww/w"
chmod 1777 "$LT/ww"
cat >"$TRASH/lowfd.py" <<\EOF
import os, sys
os.chdir(sys.argv[1])
cases = [("append", "d/a", os.O_WRONLY | os.O_APPEND),
         ("rdwr", "d/b", os.O_RDWR),
         ("trunc", "d/c", os.O_WRONLY | os.O_TRUNC),
         ("append, its directories copied up", "only/sub/o", os.O_WRONLY | os.O_APPEND),
         ("append in a directory all may write", "ww/w", os.O_WRONLY | os.O_APPEND),
         ("create, its directory copied up", "only/new", os.O_WRONLY | os.O_CREAT | os.O_EXCL),
         ("create in a directory all may write", "ww/new", os.O_WRONLY | os.O_CREAT | os.O_EXCL)]
for name, path, flags in cases:
    os.close(0)
    fd = os.open(path, flags, 0o644)
    os.write(fd, b"more\n")
    print(name, fd)
    if fd != 0:
        os.dup2(fd, 0)
        os.close(fd)
for path in ("d/a", "only/sub/o", "ww/w"):
    print(path, open(path).read().split())
EOF
cat >lowfd.expect <<\EOF
append 0
rdwr 0
trunc 0
append, its directories copied up 0
append in a directory all may write 0
create, its directory copied up 0
create in a directory all may write 0
d/a ['base-a', 'more']
only/sub/o ['base-o', 'more']
ww/w ['base-w', 'more']
EOF
test_expect_success 'an open that copies up or creates returns the lowest free descriptor' '
	aufs_run -o "br:$LT=rw:$LB=ro" "$LM" -- python3 "$TRASH/lowfd.py" "$LM" </dev/null >actual &&
	test_cmp lowfd.expect actual &&
	test_path_is_file "$LT/only/sub/o"
'

if test_have_prereq ROOT && test_have_prereq AUFS_TEST_USER; then
	# the tenant's files and directories in root's base, as uploads the host merged
	rm -rf "$LT" "$LB" && mkdir -p "$LB/d" "$LB/only/sub" "$LB/ww" "$LT/d" "$LT/ww" &&
		for f in a b c e; do echo "base-$f" >"$LB/d/$f" || exit 1; done &&
		echo base-o >"$LB/only/sub/o" && echo base-w >"$LB/ww/w" &&
		chown -R aufs-test "$LT" "$LB/d" "$LB/only" "$LB/ww/w" &&
		chown root "$LT/ww" && chmod 1777 "$LT/ww" && test_set_prereq LOWFD_TENANT
fi
test_expect_success LOWFD_TENANT 'the same as a tenant (aufs-test) in its own branch over root'"'"'s base' '
	user_aufs_run aufs-test -o "br:$LT=rw:$LB=ro" "$LM" -- python3 "$TRASH/lowfd.py" "$LM" </dev/null >actual &&
	test_cmp lowfd.expect actual &&
	test "$(stat -c %U "$LT/only/sub/o")" = aufs-test
'

# A default ACL in the top branch decides the mode of what is made there in place
# of the umask: the copies of the base directories and files must keep the base
# modes all the same (g::--- o::--- here would make them 0700 and 0600).
AB=$TRASH/aclbase
AT=$TRASH/acltop
AM=$TRASH/aclmnt
mkdir -p "$AB/a/b/c" "$AT"
echo acl >"$AB/a/b/c/f"
chmod 0755 "$AB/a" "$AB/a/b" "$AB/a/b/c"
chmod 0644 "$AB/a/b/c/f"
# system.posix_acl_default of u::rwx g::--- o::--- (no setfacl needed)
if python3 -c 'import os, struct, sys
e = lambda tag, perm: struct.pack("<HHI", tag, perm, 0xFFFFFFFF)
os.setxattr(sys.argv[1], "system.posix_acl_default",
            struct.pack("<I", 2) + e(0x01, 7) + e(0x04, 0) + e(0x20, 0))' "$AT" 2>/dev/null
then
	test_set_prereq DEFAULT_ACL
fi
test_expect_success DEFAULT_ACL 'a default ACL in the top branch: copied-up parents and file keep the base modes' '
	aufs_run -o "br:$AT=rw:$AB=ro" "$AM" -- sh -c "echo more >>\"\$1/a/b/c/f\"" sh "$AM" &&
	stat -c "%a %n" "$AT/a" "$AT/a/b" "$AT/a/b/c" "$AT/a/b/c/f" >actual &&
	cat >expect <<-EOF &&
	755 $AT/a
	755 $AT/a/b
	755 $AT/a/b/c
	644 $AT/a/b/c/f
	EOF
	test_cmp expect actual &&
	printf "acl\nmore\n" >expect &&
	test_cmp expect "$AT/a/b/c/f"
'

test_done
