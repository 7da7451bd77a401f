#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the union shows what the kernel overlayfs shows for the same layers'
. "$(dirname "$0")/lib.sh"

# The same three layers are built twice: in aufs format (whiteouts .wh.NAME,
# opaque dirs .wh..wh..opq; union br:top=rw:mid=ro+wh:low=ro) and in overlayfs
# format (whiteouts are 0/0 character devices, opaque dirs carry the xattr
# trusted.overlay.opaque=y; lowerdir=mid:low, upperdir=top). The kernel overlay
# is mounted in a private mount namespace (unshare -m), so nothing leaks.
#
# spec: LAYER KIND PATH [ARG]   KIND: f (file, content ARG), d (dir),
#       wh (whiteout of PATH), opq (opaque dir), l (symlink to ARG)
cat >spec <<\SPEC
top  f   t_only top-only
top  f   both top-both
top  wh  wh_file
top  wh  wh_dir
top  d   d
top  f   d/a top-a
top  wh  d/gone
top  opq opq
top  f   opq/visible visible
top  f   fdir file-over-dir
top  d   newdir
top  f   newdir/n new
top  l   link_rel d/b
top  l   link_mid m_only
mid  f   m_only mid-only
mid  wh  x3
mid  opq o
mid  f   o/vis vis
mid  d   d
mid  f   d/mid_f mid-f
mid  wh  d/lw
mid  f   both mid-both
low  f   b_only base-only
low  f   both low-both
low  f   wh_file hidden
low  d   wh_dir/sub
low  f   wh_dir/sub/f hidden
low  d   d
low  f   d/b low-b
low  f   d/a low-a
low  f   d/gone hidden
low  f   d/lw hidden
low  d   opq/sub
low  f   opq/hidden hidden
low  f   opq/sub/deep hidden
low  d   fdir
low  f   fdir/inner hidden
low  f   x3 hidden
low  d   o
low  f   o/hid hidden
low  d   bdir/nested
low  f   bdir/nested/y y
SPEC

# set_opaque_xattr DIR
set_opaque_xattr() {
	if have_cmd setfattr; then
		setfattr -n trusted.overlay.opaque -v y "$1"
	elif have_cmd python3; then
		python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")' "$1"
	else
		echo "neither setfattr nor python3 to set trusted.overlay.opaque"
		return 1
	fi
}

# build FORMAT: FORMAT/top FORMAT/mid FORMAT/low from the spec.
build() {
	_fmt=$1
	while read -r _layer _kind _path _arg; do
		_p=$TRASH/$_fmt/$_layer/$_path
		_dir=$(dirname "$_p")
		mkdir -p "$_dir" || return 1
		case $_kind in
		f) printf '%s\n' "$_arg" >"$_p" ;;
		d) mkdir -p "$_p" ;;
		l) ln -s "$_arg" "$_p" ;;
		wh)
			if [ "$_fmt" = aufs ]; then
				mk_whiteout "$_dir" "$(basename "$_p")"
			else
				mknod "$_p" c 0 0
			fi ;;
		opq)
			mkdir -p "$_p" &&
			if [ "$_fmt" = aufs ]; then
				mk_opaque "$_p"
			else
				set_opaque_xattr "$_p"
			fi ;;
		*) echo "bad spec line: $_layer $_kind $_path"; false ;;
		esac || return 1
	done <spec
}

# The view of a merged tree, relative to the cwd: every entry with its type,
# mode and link target; file sizes; file checksums; which hidden names exist;
# contents read through symlinks.
DUMP='find . -printf "%p %y %m %l\n" | sort &&
	find . -type f -printf "%p %s\n" | sort &&
	find . -type f -exec md5sum {} + | sort -k 2 &&
	for n in wh_file wh_dir wh_dir/sub/f d/gone d/lw opq/hidden opq/sub fdir/inner x3 o/hid \
		.wh.wh_file .wh..wh..opq opq/.wh..wh..opq; do
		if test -e "$n" || test -L "$n"; then echo "$n exists"; else echo "$n missing"; fi
	done &&
	cat link_rel link_mid both d/a'

# the layers are written in overlay's own format too: whiteouts by mknod, opaque
# directories by an xattr
if ! have_cmd mknod; then
	OVERLAY_WHY="mknod(1) is missing"
elif ! have_cmd setfattr && ! have_cmd python3; then
	OVERLAY_WHY="neither setfattr nor python3 to set trusted.overlay.opaque"
else
	overlay_ready
fi

prereq_reason() {
	case $1 in
	ROOT) echo "needs root to mount the kernel overlay (running as uid $AUFS_UID)" ;;
	OVERLAY) echo "${OVERLAY_WHY:-no overlay}" ;;
	*) echo "missing $1" ;;
	esac
}

# the branch roots, for mk_whiteout (test bodies run in subshells)
setup_branches aufs/top aufs/mid aufs/low ovl/top ovl/mid ovl/low

test_expect_success ROOT,OVERLAY 'build the layers in both formats' '
	build aufs &&
	build ovl
'

test_expect_success ROOT,OVERLAY 'dump the kernel overlay view' '
	mkdir -p ovl/work ovl/merged &&
	unshare -m --propagation private sh -c "
		mount -t overlay overlay \
			-o lowerdir=\"$TRASH/ovl/mid:$TRASH/ovl/low\",upperdir=\"$TRASH/ovl/top\",workdir=\"$TRASH/ovl/work\" \
			\"$TRASH/ovl/merged\" &&
		cd \"$TRASH/ovl/merged\" && { $DUMP; } >\"$TRASH/ovl.view\" 2>&1
	" &&
	cat ovl.view &&
	test_grep "^\./b_only f" ovl.view &&
	test_grep "^wh_file missing" ovl.view
'

test_expect_success ROOT,OVERLAY 'dump the union view (separate mount point)' '
	snapshot_branch "$TRASH/aufs/mid" &&
	snapshot_branch "$TRASH/aufs/low" &&
	aufs_run -o "br:$TRASH/aufs/top=rw:$TRASH/aufs/mid=ro+wh:$TRASH/aufs/low=ro" "$TRASH/mnt" -- \
		sh -c "cd \"$TRASH/mnt\" && { $DUMP; }" >aufs.view 2>&1 &&
	test_grep "^\./b_only f" aufs.view
'

test_expect_success ROOT,OVERLAY 'the same entries, types, modes and link targets' '
	grep -E "^\.(/[^ ]*)? [a-z] [0-7]+ " ovl.view >expect &&
	grep -E "^\.(/[^ ]*)? [a-z] [0-7]+ " aufs.view >actual &&
	test_line_count -gt 20 expect &&
	test_cmp expect actual
'

test_expect_success ROOT,OVERLAY 'the same sizes and contents' '
	grep -E "^\./[^ ]+ [0-9]+\$|^[0-9a-f]{32}  " ovl.view >expect &&
	grep -E "^\./[^ ]+ [0-9]+\$|^[0-9a-f]{32}  " aufs.view >actual &&
	test_line_count -gt 20 expect &&
	test_cmp expect actual
'

test_expect_success ROOT,OVERLAY 'the whole views are identical (hidden names, symlinks through layers)' '
	test_cmp ovl.view aufs.view
'

test_expect_success ROOT,OVERLAY 'the union on its own top branch shows the same' '
	aufs_run -o "br:$TRASH/aufs/top=rw:$TRASH/aufs/mid=ro+wh:$TRASH/aufs/low=ro" "$TRASH/aufs/top" -- \
		sh -c "cd \"$TRASH/aufs/top\" && { $DUMP; }" >aufs-top.view 2>&1 &&
	test_cmp ovl.view aufs-top.view
'

test_expect_success ROOT,OVERLAY 'the lower aufs branches are untouched' '
	branch_untouched "$TRASH/aufs/mid" &&
	branch_untouched "$TRASH/aufs/low"
'

test_done
