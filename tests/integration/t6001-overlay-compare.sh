#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='one scripted sequence of changes through the union and through the kernel overlayfs gives the same merged tree'
. "$(dirname "$0")/lib.sh"

# The same base is used twice: as the ro branch of br:top=rw:base=ro (aufs-run)
# and, copied, as the lowerdir of a kernel overlay (upperdir, workdir), mounted
# in a private mount namespace (unshare -m) so nothing leaks. The script
# changes.sh runs in each merged root; the merged views are then compared
# (names, types, modes, link targets, link counts, sizes, contents), and so are
# the writable layers once whiteouts and opaque markers are normalised.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/mnt

mkdir -p "$BASE/gonedir/s" "$BASE/redo/s" "$BASE/pdir/in" "$BASE/sub/deep" "$BASE/tree/a/b" "$BASE/mvdir/s"
printf '%s\n' one two three >"$BASE/app.log"
printf '%s\n' '[main]' 'name = base' 'debug = 0' >"$BASE/conf.ini"
echo gone >"$BASE/gone.txt"
echo a >"$BASE/gonedir/a"
echo b >"$BASE/gonedir/s/b"
echo old >"$BASE/redo/old"
echo o >"$BASE/redo/s/o"
echo move >"$BASE/tomove"
echo secret >"$BASE/secret"
echo p >"$BASE/pdir/p"
echo in >"$BASE/pdir/in/i"
echo f >"$BASE/sub/deep/f"
echo f2 >"$BASE/sub/deep/f2"
echo g >"$BASE/sub/deep/g"
echo 0123456789 >"$BASE/trunc.txt"
echo hl >"$BASE/hl"
echo t1 >"$BASE/tree/t1"
echo t2 >"$BASE/tree/a/b/t2"
echo m >"$BASE/mvdir/m"
echo ms >"$BASE/mvdir/s/ms"
ln -s conf.ini "$BASE/conf-link"
chmod 0640 "$BASE/conf.ini"
chmod 0750 "$BASE/pdir/in"
snapshot_branch "$BASE"

# The changes, run with the merged root as the cwd; every step must succeed.
cat >changes.sh <<\EOF
set -e
echo appended >>app.log
sed -i 's/base/top/' conf.ini
rm gone.txt
rm -r gonedir
rm -r redo
mkdir redo
echo fresh >redo/new
mv tomove moved
mv sub/deep/f2 sub/f2-moved
mv mvdir mvdir2
chmod 0600 secret
chmod 0700 pdir
chmod -R go-rwx tree
ln -s app.log link
ln -s ../conf.ini sub/link2
ln hl hl2
touch newfile sub/deep/newfile2
mkdir -p newdir/x
echo n >newdir/x/f
echo more >>sub/deep/f
rm sub/deep/g
truncate -s 3 trunc.txt
echo replaced >conf-link
EOF

# The view of a merged tree, from its root (the cwd).
cat >dump.sh <<\EOF
find . -printf '%P %y %m %l\n' | sort
find . ! -type d -printf '%P %s %n\n' | sort
find . -type f -exec md5sum {} + | sort -k 2
EOF

# norm_aufs DIR / norm_ovl DIR: a writable layer as "PATH TYPE MODE" lines with
# the markers of each format spelled the same: "PATH whiteout", "PATH opaque".
norm_aufs() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 ! -name .wh..wh.aufs ! -name '.wh..wh.aufs.shm.*' -printf '%P %y %m\n' | while read -r p y m; do
			case $p in
			*/.wh..wh..opq | .wh..wh..opq) echo "${p%/.wh..wh..opq} opaque" ;;
			.wh.* | */.wh.*)
				d=$(dirname "$p") n=$(basename "$p")
				n=${n#.wh.}
				if [ "$d" = . ]; then echo "$n whiteout"; else echo "$d/$n whiteout"; fi ;;
			*) echo "$p $y $m" ;;
			esac
		done | sort
	)
}
norm_ovl() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 -printf '%P %y %m\n' | while read -r p y m; do
			if [ "$y" = c ] && [ "$(stat -c %t:%T "$p")" = 0:0 ]; then
				echo "$p whiteout"
				continue
			fi
			echo "$p $y $m"
			if [ "$y" = d ] && [ "$(python3 -c 'import os, sys
try:
    print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())
except OSError:
    print("")' "$p")" = y ]; then
				echo "$p opaque"
			fi
		done | sort
	)
}

overlay_ready
have_cmd python3 && test_set_prereq PYTHON
if ! test_have_prereq ROOT; then
	skip_all "needs root to mount the kernel overlay (running as uid $AUFS_UID)"
elif ! test_have_prereq OVERLAY; then
	skip_all "$OVERLAY_WHY"
fi

prereq_reason() {
	case $1 in
	ROOT) echo "needs root to mount the kernel overlay (running as uid $AUFS_UID)" ;;
	OVERLAY) echo "${OVERLAY_WHY:-no overlay}" ;;
	PYTHON) echo "python3 is not installed (to read trusted.overlay.opaque)" ;;
	*) echo "missing $1" ;;
	esac
}

test_expect_success ROOT,OVERLAY 'the changes through the kernel overlay' '
	mkdir -p ovl/upper ovl/work ovl/merged &&
	cp -a "$BASE" ovl/lower &&
	unshare -m --propagation private sh -c "
		mount -t overlay overlay \
			-o lowerdir=\"$TRASH/ovl/lower\",upperdir=\"$TRASH/ovl/upper\",workdir=\"$TRASH/ovl/work\" \
			\"$TRASH/ovl/merged\" &&
		cd \"$TRASH/ovl/merged\" && sh -x \"$TRASH/changes.sh\" &&
		sh \"$TRASH/dump.sh\" >\"$TRASH/ovl.view\"
	" &&
	test_grep "^app.log f 644" ovl.view &&
	branch_untouched "$BASE"
'

test_expect_success ROOT,OVERLAY 'the same changes through aufs-run' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c "cd \"$M\" && sh -x \"$TRASH/changes.sh\" && sh \"$TRASH/dump.sh\"" >aufs.view &&
	test_grep "^app.log f 644" aufs.view &&
	branch_untouched "$BASE"
'

test_expect_success ROOT,OVERLAY 'the same names, types, modes and link targets' '
	grep -E "^[^ ]* [a-z] [0-7]+ " ovl.view >expect &&
	grep -E "^[^ ]* [a-z] [0-7]+ " aufs.view >actual &&
	test_line_count -gt 30 expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success ROOT,OVERLAY 'the same sizes, link counts and contents' '
	grep -E "^[^ ]+ [0-9]+ [0-9]+\$|^[0-9a-f]{32}  " ovl.view >expect &&
	grep -E "^[^ ]+ [0-9]+ [0-9]+\$|^[0-9a-f]{32}  " aufs.view >actual &&
	test_line_count -gt 20 expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success ROOT,OVERLAY 'the whole views are identical' '
	test_cmp ovl.view aufs.view &&
	branch_untouched "$BASE"
'

test_expect_success ROOT,OVERLAY,PYTHON 'the writable layers hold the same objects (whiteouts and opaque dirs normalised)' '
	norm_ovl ovl/upper >expect &&
	norm_aufs "$T" >actual &&
	test_line_count -gt 10 expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success ROOT,OVERLAY 'the views after a second aufs-run (state on disk, not in a process)' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c "cd \"$M\" && sh \"$TRASH/dump.sh\"" >aufs2.view &&
	test_cmp ovl.view aufs2.view &&
	branch_untouched "$BASE"
'

# A second base and sequence, for two cases where the union and overlayfs part:
# a directory renamed onto a whiteouted name (overlayfs makes it opaque, as
# aufs(5) diropq=w says), and the mtimes of directories that only had
# something copied up in them (overlayfs restores the parent's times, as aufs
# does with au_dtime_store/revert).
setup_branches top2 base2
T2=$TRASH/top2
BASE2=$TRASH/base2
mkdir -p "$BASE2/whd/old/s" "$BASE2/meta/a/b" "$BASE2/meta/c" "$BASE2/meta/d" "$BASE2/meta/e"
echo o >"$BASE2/whd/old/o"
echo s >"$BASE2/whd/old/s/s"
echo f >"$BASE2/meta/a/b/f"
echo g >"$BASE2/meta/c/g"
echo h >"$BASE2/meta/d/h"
echo 0123 >"$BASE2/meta/e/i"
touch -d '2001-02-03 04:05:06' "$BASE2/meta/a/b" "$BASE2/meta/a" "$BASE2/meta/c" "$BASE2/meta/d" \
	"$BASE2/meta/e" "$BASE2/meta"
snapshot_branch "$BASE2"

cat >changes2.sh <<\EOF
set -e
rm -r whd/old
mkdir newd
echo n >newd/n
mv newd whd/old
chmod 0600 meta/a/b/f
echo more >>meta/c/g
touch -d '2011-01-01 00:00:00' meta/d/h
truncate -s 1 meta/e/i
EOF

cat >dump-mtimes.sh <<\EOF
find meta -type d -printf '%p %T@\n' | sort
EOF

test_expect_success ROOT,OVERLAY 'the second sequence through the kernel overlay and through aufs-run' '
	mkdir -p ovl2/upper ovl2/work ovl2/merged &&
	cp -a "$BASE2" ovl2/lower &&
	unshare -m --propagation private sh -c "
		mount -t overlay overlay \
			-o lowerdir=\"$TRASH/ovl2/lower\",upperdir=\"$TRASH/ovl2/upper\",workdir=\"$TRASH/ovl2/work\" \
			\"$TRASH/ovl2/merged\" &&
		cd \"$TRASH/ovl2/merged\" && sh -x \"$TRASH/changes2.sh\" &&
		sh \"$TRASH/dump.sh\" >\"$TRASH/ovl2.view\" &&
		sh \"$TRASH/dump-mtimes.sh\" >\"$TRASH/ovl2.mtimes\"
	" &&
	aufs_run -o "br:$T2=rw:$BASE2=ro" "$TRASH/mnt2" -- sh -c "cd \"$TRASH/mnt2\" && sh -x \"$TRASH/changes2.sh\" &&
		sh \"$TRASH/dump.sh\" >\"$TRASH/aufs2.view\" &&
		sh \"$TRASH/dump-mtimes.sh\" >\"$TRASH/aufs2.mtimes\"" &&
	test_grep "^whd/old/n f" ovl2.view &&
	test_grep "^whd/old/n f" aufs2.view &&
	branch_untouched "$BASE2"
'

test_expect_success ROOT,OVERLAY 'a dir renamed onto a whiteouted name hides the old content, as in overlayfs' '
	test_cmp ovl2.view aufs2.view &&
	branch_untouched "$BASE2"
'

test_expect_success ROOT,OVERLAY 'dirs that only had a copy-up in them keep their mtimes, as in overlayfs' '
	cat ovl2.mtimes &&
	test_cmp ovl2.mtimes aufs2.mtimes &&
	branch_untouched "$BASE2"
'

test_done
