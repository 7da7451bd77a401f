#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the namespace calls answer what the kernel answers: "." and ".." as the last component, trailing slashes, open(O_CREAT) of a directory, directories renamed into themselves or onto emptied ones, and a removed directory that stays removed'
. "$(dirname "$0")/lib.sh"

# Each script below is a list of calls, one a line, for tests/helper/posix-ops.c,
# which prints every call with the kernel's (or the union's) answer:
# "rmdir a/b/. -> EINVAL". Every call runs in its own process (runlines.sh), in
# the root of a tree made from the same base three ways:
#   - a plain directory tree (a copy of the base): what the kernel answers;
#   - the union br:top=rw:base=ro, through aufs-run;
#   - as root, a kernel overlay mount of the same layers (lowerdir=copy of the
#     base), in a private mount namespace (unshare -m), as t6001 does.
# The union must give the plain tree's answers line by line, and the overlay's
# for every line (the one difference from the plain tree, a directory with
# lower content that does not move, is overlayfs's too: EXDEV, mv copes).
POSIX_OPS=$AUFS_BUILD/helper/posix-ops
[ -x "$POSIX_OPS" ] || skip_all "the helper $POSIX_OPS is missing (run make)"
export POSIX_OPS

cat >runlines.sh <<\EOF
# runlines.sh SCRIPT: every line of SCRIPT in its own posix-ops process
while IFS= read -r line; do
	printf '%s\n' "$line" | "$POSIX_OPS" || exit 1
done <"$1"
EOF

# The merged view of the tree in the cwd: names, types, link targets.
cat >dump.sh <<\EOF
find . -mindepth 1 -printf '%P %y %l\n' | sort
EOF

# mkbase DIR: the base layer every section starts from.
mkbase() {
	mkdir -p "$1/a/b" "$1/d" "$1/e" "$1/src/s" "$1/t8" "$1/empty" "$1/full/in" &&
	echo f >"$1/a/f" &&
	echo file >"$1/file" &&
	echo df >"$1/d/f" &&
	echo s >"$1/src/s/s" &&
	echo 1 >"$1/t8/f1" &&
	echo 2 >"$1/t8/f2" &&
	echo srcf >"$1/srcf" &&
	echo in >"$1/full/in/x" &&
	ln -s d "$1/dl" &&
	ln -s file "$1/fl"
}

# upper_of DIR: a writable branch as "PATH TYPE TARGET" lines, without the
# whiteout base every branch holds.
upper_of() {
	# the union's shared state link (.wh..wh.aufs.shm.*) is no entry of the tree
	(cd "$1" && find . -mindepth 1 ! -name .wh..wh.aufs ! -name '.wh..wh.aufs.shm.*' -printf '%P %y %l\n' | sort)
}

# -------------------------------------------------------------- the scripts
# 5. "." and ".." as the last component; trailing slashes.
cat >dots.calls <<\EOF
rmdir a/b/.
rmdir a/b/..
rmdir a/b/./
rmdir ./a/b/.
rmdir .
rmdir a/..
rmdir missing/..
rmdir file/..
unlink a/b/.
unlink a/b/..
unlink a/.
rename a/b/. c
rename a/b/.. c
rename a/b/. c noreplace
rename srcf a/b/.
rename srcf a/b/..
rename srcf a/. noreplace
rename a/b/. a/b/.
rename src a/b/.
mkdir a/b/.
mkdir a/b/..
mkdir missing/.
mkdir file/.
link file a/b/.
link file a/b/..
link a/. newlink
link a/b/.. newlink
symlink t a/b/.
symlink t a/b/..
mkfifo a/b/.
mkfifo a/b/..
open a/b/. rdonly,creat
open a/b/.. rdonly,creat
open a/b/. rdonly,creat,excl
open a/b/. wronly
open a/b/. rdonly
stat a/b/.
stat a/b/..
stat a/b/../f
stat file/
lstat fl/
stat dl/
lstat dl/
stat missing/
unlink file/
unlink a/b/
unlink dl/
unlink fl/
unlink missing/
rmdir file/
rmdir fl/
rmdir dl/
rmdir missing/
mkdir file/
mkdir a/b/
mkdir fl/
symlink t newsym/
symlink t file/
mkfifo newfifo/
mkfifo file/
link file newhl/
link file/ newhl
link fl/ newhl
link file a/b/
open file/ rdonly
open newf/ rdonly,creat
open newf/ wronly,creat
open file/ rdonly,creat
open fl/ rdonly
rename file newname/
rename file/ newname
rename file a/b/
rename fl/ newname
rename dl/ newname
rename a/f a/b/
rename missing/ x
rmdir a/b/
mkdir newd/
rename newd/ newd2/
rename newd2 newd3/
stat newd3
symlink t newsym
unlink newsym
mkdir a/b
rmdir a/b//
EOF

# 7. open(O_CREAT) of a directory.
cat >creat.calls <<\EOF
open d rdonly,creat
open d rdonly,creat,trunc
open dl rdonly,creat
open dl/ rdonly,creat
open d/ rdonly,creat
open d wronly
open d rdwr
open d wronly,creat
open d rdwr,creat,trunc
open d rdonly,creat,excl
open dl rdonly,creat,excl
open d rdonly,directory,creat
open newcd rdonly,directory,creat
open d rdonly,trunc
open d path,creat
open d rdonly
open d rdonly,directory
open file rdonly,directory
open e rdonly,creat
mkdir up7
open up7 rdonly,creat
open up7 wronly
open up7 rdonly,creat,excl
stat d
stat up7
EOF

# 8. Renaming directories (the base's t8 emptied through the union first).
cat >rendir.calls <<\EOF
mkdir up
write up/x x
unlink t8/f1
unlink t8/f2
rename up t8
stat t8/x
stat t8/f1
stat up
rename d d/a
rename d d/a/b
rename d/f d
rename a/b a
rename a a/b/c
rename dl dl/x
mkdir up2
rename up2 d
rename up2 file
rename srcf up2
rename up2 e noreplace
rename up2 missing/x
rename up2 e
stat up2
stat e
mkdir up3
mkdir up4
write up4/y y
rename up3 up4 exchange
stat up3/y
rename up3 e exchange
rename up3 file exchange
rename file srcf exchange
rename up3 up3
rename up3 up3/.
rename full/in full
EOF

# 8, where the union follows aufs and overlayfs, not a plain tree: a directory
# with content in a lower branch does not move.
cat >pinned.calls <<\EOF
rename src moved
rename full moved
stat src/s/s
rename src/s s2
EOF

# 6. A removed directory comes back: each step its own aufs-run.
cat >redo.calls <<\EOF
rmdir empty
mkdir empty
write empty/b x
unlink empty/b
rmdir empty
stat empty
EOF

# 5, on host paths that a walk reaches through the union ("M/../hostdir"):
# the kernel decides, given the last component as written.
cat >host.calls <<\EOF
rmdir ../hostdir/.
rmdir ../hostdir/..
rmdir ../hostdir/sub/.
unlink ../hostdir/.
unlink ../hostdir/hostfile/
rename ../hostdir/. ../hostdir/x
rename ../hostdir/hostfile ../hostdir/x/
mkdir ../hostdir/.
mkdir ../hostdir/hostfile/
symlink t ../hostdir/newsym/
mkfifo ../hostdir/newfifo/
link ../hostdir/hostfile ../hostdir/newhl/
open ../hostdir/newf/ rdonly,creat
open ../hostdir/hostfile/ rdonly
open ../hostdir/sub/.. rdonly,creat
stat ../hostdir/sub/.
EOF

# ---------------------------------------------------------------- the runs
# native NAME: the calls of NAME.calls on a plain copy of the base.
native() {
	mkbase "native-$1" &&
	(cd "native-$1" && sh "$TRASH/runlines.sh" "$TRASH/$1.calls" >"$TRASH/$1.native" &&
		sh "$TRASH/dump.sh" >"$TRASH/$1.native-view")
}

# union NAME: the same through the union of $TRASH/NAME-top over $TRASH/NAME-base.
union() {
	setup_branches "$1-top" "$1-base" &&
	mkbase "$TRASH/$1-base" &&
	snapshot_branch "$TRASH/$1-base" &&
	aufs_run -o "br:$TRASH/$1-top=rw:$TRASH/$1-base=ro" "$TRASH/$1-mnt" -- sh -c '
		cd "$1" && sh "$2/runlines.sh" "$2/$3.calls" >"$2/$3.aufs" &&
		sh "$2/dump.sh" >"$2/$3.aufs-view"' sh "$TRASH/$1-mnt" "$TRASH" "$1"
}

test_expect_success 'the kernel on a plain tree' '
	for s in dots creat rendir pinned redo; do
		native $s || return 1
	done &&
	test_line_count = 85 dots.native &&
	test_grep "^rmdir a/b/\\. -> EINVAL\$" dots.native &&
	test_grep "^open d rdonly,creat -> EISDIR\$" creat.native &&
	test_grep "^rename d d/a -> EINVAL\$" rendir.native &&
	test_grep "^stat empty -> ENOENT\$" redo.native
'

# -------------------------------------------------------------- section 5
test_expect_success '. and .. as the last component, trailing slashes: the kernel answers' '
	union dots &&
	test_cmp dots.native dots.aufs &&
	test_cmp dots.native-view dots.aufs-view &&
	branch_untouched "$TRASH/dots-base"
'

test_expect_success 'rmdir of d/. or d/.. removes nothing; rename and unlink of them neither' '
	for l in "rmdir a/b/. -> EINVAL" "rmdir a/b/.. -> ENOTEMPTY" "rmdir . -> EINVAL" \
		"rename a/b/. c -> EBUSY" "rename a/b/.. c -> EBUSY" "unlink a/b/. -> EISDIR" \
		"mkdir a/b/. -> EEXIST" "open a/b/. rdonly,creat -> EISDIR" \
		"unlink file/ -> ENOTDIR" "rmdir dl/ -> ENOTDIR" "mkdir file/ -> EEXIST" \
		"symlink t newsym/ -> ENOENT" "rename file newname/ -> ENOTDIR" \
		"open file/ rdonly,creat -> EISDIR" "rmdir a/b/ -> OK"; do
		grep -x -F "$l" dots.aufs || { echo "missing: $l"; return 1; }
	done &&
	# what the successful calls left: the whiteout of a/b (made and removed
	# again), the new directory; nothing of the refused ones
	printf "%s\n" "a d " "a/.wh.b f " "newd3 d " >expect &&
	upper_of dots-top >actual &&
	test_cmp expect actual &&
	branch_untouched "$TRASH/dots-base"
'

test_expect_success '. and .. and trailing slashes on a host path reached through the union' '
	mkdir -p hostdir/sub && echo h >hostdir/hostfile &&
	tree_snapshot hostdir >host.before &&
	(cd native-dots && sh "$TRASH/runlines.sh" "$TRASH/host.calls") >host.native &&
	grep -x -F "rmdir ../hostdir/. -> EINVAL" host.native &&
	union host &&
	test_cmp host.native host.aufs &&
	tree_snapshot hostdir >host.after &&
	test_cmp host.before host.after &&
	branch_untouched "$TRASH/host-base"
'

# -------------------------------------------------------------- section 7
test_expect_success 'open(O_CREAT) of a directory: EISDIR, as the kernel' '
	union creat &&
	test_cmp creat.native creat.aufs &&
	test_cmp creat.native-view creat.aufs-view &&
	grep -x -F "open d rdonly,creat -> EISDIR" creat.aufs &&
	grep -x -F "open dl rdonly,creat -> EISDIR" creat.aufs &&
	grep -x -F "open d rdonly,creat,trunc -> EISDIR" creat.aufs &&
	grep -x -F "open d rdonly,creat,excl -> EEXIST" creat.aufs &&
	echo "up7 d " >expect &&
	upper_of creat-top >actual &&
	test_cmp expect actual &&
	branch_untouched "$TRASH/creat-base"
'

# -------------------------------------------------------------- section 8
test_expect_success 'renaming directories: onto an emptied base dir, into itself, exchange' '
	union rendir &&
	test_cmp rendir.native rendir.aufs &&
	test_cmp rendir.native-view rendir.aufs-view &&
	grep -x -F "rename up t8 -> OK" rendir.aufs &&
	grep -x -F "stat t8/x -> file" rendir.aufs &&
	grep -x -F "rename d d/a -> EINVAL" rendir.aufs &&
	grep -x -F "rename d/f d -> ENOTEMPTY" rendir.aufs &&
	branch_untouched "$TRASH/rendir-base"
'

test_expect_success 'the replaced t8 is opaque, its old whiteouts gone; nothing left aside' '
	cat >expect <<-\EOF &&
	.wh.dl f 
	d d 
	d/x l d
	e d 
	e/.wh..wh..opq f 
	e/y f 
	file f 
	srcf d 
	srcf/.wh..wh..opq f 
	t8 d 
	t8/.wh..wh..opq f 
	t8/x f 
	up3 f 
	up4 d 
	EOF
	upper_of rendir-top >actual &&
	test_cmp expect actual &&
	branch_untouched "$TRASH/rendir-base"
'

test_expect_success 'a directory with content below does not move (EXDEV, as aufs and overlayfs)' '
	union pinned &&
	printf "%s\n" "rename src moved -> EXDEV" "rename full moved -> EXDEV" \
		"stat src/s/s -> file" "rename src/s s2 -> EXDEV" >expect &&
	test_cmp expect pinned.aufs &&
	grep -x -F "rename src moved -> OK" pinned.native &&
	upper_of pinned-top >actual &&
	test_must_be_empty actual &&
	branch_untouched "$TRASH/pinned-base"
'

# -------------------------------------------------------------- section 6
test_expect_success 'a removed directory stays removed (each step its own aufs-run)' '
	setup_branches redo-top redo-base &&
	mkbase "$TRASH/redo-base" &&
	snapshot_branch "$TRASH/redo-base" &&
	while IFS= read -r line; do
		printf "%s\n" "$line" | aufs_run -o "br:$TRASH/redo-top=rw:$TRASH/redo-base=ro" \
			"$TRASH/redo-mnt" -- sh -c "cd \"$TRASH/redo-mnt\" && \"$POSIX_OPS\"" ||
			return 1
	done <redo.calls >redo.aufs &&
	test_cmp redo.native redo.aufs &&
	aufs_run -o "br:$TRASH/redo-top=rw:$TRASH/redo-base=ro" "$TRASH/redo-mnt" -- \
		ls "$TRASH/redo-mnt" >ls.out &&
	! grep -x empty ls.out &&
	grep -x d ls.out &&
	echo ".wh.empty f " >expect &&
	upper_of redo-top >actual &&
	test_cmp expect actual &&
	branch_untouched "$TRASH/redo-base"
'

test_expect_success 'an rmdir temporary left in a directory does not block its rmdir' '
	setup_branches left-top left-base &&
	mkdir -p left-base/p left-top/p/.wh..wh.rmdir.1.0/.wh..wh.rmdir.1.1 &&
	echo a >left-base/p/a &&
	snapshot_branch "$TRASH/left-base" &&
	mk_whiteout left-top/p a &&
	mk_whiteout left-top/p/.wh..wh.rmdir.1.0 gone &&
	mk_opaque left-top/p/.wh..wh.rmdir.1.0/.wh..wh.rmdir.1.1 &&
	echo "rmdir p" | aufs_run -o "br:$TRASH/left-top=rw:$TRASH/left-base=ro" \
		"$TRASH/left-mnt" -- sh -c "cd \"$TRASH/left-mnt\" && \"$POSIX_OPS\"" >actual &&
	echo "rmdir p -> OK" >expect &&
	test_cmp expect actual &&
	echo ".wh.p f " >expect &&
	upper_of left-top >actual &&
	test_cmp expect actual &&
	branch_untouched "$TRASH/left-base"
'

# -------------------------------------------------------------- the kernel overlay
overlay_ready

prereq_reason() {
	case $1 in
	ROOT) echo "needs root (running as uid $AUFS_UID)" ;;
	OVERLAY) echo "${OVERLAY_WHY:-no overlay}" ;;
	HOST_USERS) echo "needs root and the users $AUFS_HOST_USERS (made by run.sh)" ;;
	TOPMOST_PERM) echo "the union does not yet decide write permission by the top-most directory copy (issue 11 section 1)" ;;
	*) echo "missing $1" ;;
	esac
}

# ovl NAME: the calls of NAME.calls on a kernel overlay of a copy of the base.
ovl() {
	mkdir -p "ovl-$1/upper" "ovl-$1/work" "ovl-$1/merged" &&
	mkbase "ovl-$1/lower" &&
	unshare -m --propagation private sh -c '
		mount -t overlay overlay -o "lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work" \
			"$1/merged" &&
		cd "$1/merged" && sh "$2/runlines.sh" "$2/$3.calls" >"$2/$3.ovl" &&
		sh "$2/dump.sh" >"$2/$3.ovl-view"' sh "$TRASH/ovl-$1" "$TRASH" "$1"
}

test_expect_success ROOT,OVERLAY 'the kernel overlay of the same layers answers every call alike' '
	for s in dots creat rendir pinned; do
		ovl $s &&
		test_cmp $s.ovl $s.aufs &&
		test_cmp $s.ovl-view $s.aufs-view || return 1
	done
'

test_expect_success ROOT,OVERLAY 'a removed directory stays removed in the overlay too' '
	mkdir -p ovl-redo/upper ovl-redo/work ovl-redo/merged &&
	mkbase ovl-redo/lower &&
	while IFS= read -r line; do
		printf "%s\n" "$line" | unshare -m --propagation private sh -c "
			mount -t overlay overlay -o lowerdir=$TRASH/ovl-redo/lower,upperdir=$TRASH/ovl-redo/upper,workdir=$TRASH/ovl-redo/work $TRASH/ovl-redo/merged &&
			cd $TRASH/ovl-redo/merged && \"$POSIX_OPS\"" || return 1
	done <redo.calls >redo.ovl &&
	test_cmp redo.ovl redo.aufs
'

# -------------------------------------------------------------- a tenant
# The host's layout: a base owned by root (0755), the tenant's branch owned by
# aufs-tenant1, with its own copy of the one base directory it must write in
# (t8). The tenant runs sections 6 and 8; the plain tree it is compared with
# is a copy of the base owned by the tenant.
host_users_ready
T1=$AUFS_TENANT1

# Writing a directory whose top-most copy is the tenant's, though the base's
# copy is root's, is the aufs rule of issue 11 section 1, which another change
# brings: until the union has it, every call here would be EACCES.
if test_have_prereq HOST_USERS; then
	mkdir -p permprobe/b/sub permprobe/t/sub permprobe/m && chown -R "$T1" permprobe/t &&
	user_aufs_run "$T1" -o "br:$TRASH/permprobe/t=rw:$TRASH/permprobe/b=ro" "$TRASH/permprobe/m" -- \
		mkdir "$TRASH/permprobe/m/sub/x" 2>/dev/null &&
	test_set_prereq TOPMOST_PERM
fi


grep -v -x "rename dl dl/x" rendir.calls >tenant-rendir.calls
cp redo.calls tenant-redo.calls

# tenant_native NAME: the calls as the tenant, on a copy of the base it owns.
tenant_native() {
	mkbase "tn-$1" && chown -R "$T1" "tn-$1" &&
	(cd "tn-$1" && as_user "$T1" sh "$TRASH/runlines.sh" "$TRASH/$1.calls") >"$1.native"
}

# tenant_union NAME: the calls as the tenant through its union over a root base.
tenant_union() {
	setup_branches "$1-top" "$1-base" &&
	mkbase "$TRASH/$1-base" &&
	mkdir "$TRASH/$1-top/t8" &&
	chown -R "$T1" "$TRASH/$1-top" &&
	snapshot_branch "$TRASH/$1-base" &&
	user_aufs_run "$T1" -o "br:$TRASH/$1-top=rw:$TRASH/$1-base=ro,nowarn_perm" "$TRASH/$1-mnt" -- sh -c '
		cd "$1" && sh "$2/runlines.sh" "$2/$3.calls"' sh "$TRASH/$1-mnt" "$TRASH" "$1" >"$1.aufs"
}

test_expect_success HOST_USERS,TOPMOST_PERM 'a tenant over a root base: a removed directory stays removed' '
	tenant_native tenant-redo &&
	tenant_union tenant-redo &&
	test_cmp tenant-redo.native tenant-redo.aufs &&
	grep -x -F "stat empty -> ENOENT" tenant-redo.aufs &&
	echo ".wh.empty f $T1" >expect &&
	(cd tenant-redo-top && find . -mindepth 1 ! -name .wh..wh.aufs ! -name '.wh..wh.aufs.shm.*' ! -name t8 -printf "%P %y %u\n") >actual &&
	test_cmp expect actual &&
	branch_untouched "$TRASH/tenant-redo-base"
'

test_expect_success HOST_USERS,TOPMOST_PERM 'a tenant over a root base: renaming directories' '
	tenant_native tenant-rendir &&
	tenant_union tenant-rendir &&
	test_cmp tenant-rendir.native tenant-rendir.aufs &&
	grep -x -F "rename up t8 -> OK" tenant-rendir.aufs &&
	grep -x -F "rename d d/a -> EINVAL" tenant-rendir.aufs &&
	test -f tenant-rendir-top/t8/.wh..wh..opq &&
	test -f tenant-rendir-top/t8/x &&
	! ls -a tenant-rendir-top | grep rmdir &&
	test "$(stat -c %U tenant-rendir-top/t8/x)" = "$T1" &&
	branch_untouched "$TRASH/tenant-rendir-base"
'

test_done
