#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='single entry points through the probes of tests/helper, plain and LFS+fortify builds: fstatat, statx, renameat2, readdir64+telldir/seekdir, O_TMPFILE, __open_2/__openat_2, readlinkat, realpath, getcwd, the old __xstat ABI'
. "$(dirname "$0")/lib.sh"

# Each build of the probes (build/helper: plain; build/helper-lfs: built with
# -D_FILE_OFFSET_BITS=64 -D_FORTIFY_SOURCE=2 -O2, so it calls fstatat64,
# __open64_2, __realpath_chk, ...) gets a fresh union of its own under $TRASH/NAME:
#   base (ro): d/b d/c d/e d/gone d/link->b d/sub/s ldir/x both/bx big/f000..f299
#   top (rw):  d/a d/t1 d/t2 d/.wh.gone both/tx big/f250..f349 big/.wh.f010
#              rel -> d/b (a relative link in top to a base file)
for sub in probe-fstatat probe-statx probe-renameat2 probe-readdir64 probe-tmpfile \
	probe-open2 probe-readlinkat probe-realpath probe-getcwd probe-xstat; do
	for h in helper helper-lfs; do
		[ -x "$AUFS_BUILD/$h/$sub" ] || skip_all "the probe $AUFS_BUILD/$h/$sub is missing (run make)"
	done
done

make_union() {
	_u=$TRASH/$1
	setup_branches "$1/top" "$1/base" || return 1
	mkdir -p "$_u/base/d/sub" "$_u/base/ldir" "$_u/base/both" "$_u/base/big" \
		"$_u/top/d" "$_u/top/both" "$_u/top/big" || return 1
	echo "base b" >"$_u/base/d/b"
	echo "base c" >"$_u/base/d/c"
	echo "base e" >"$_u/base/d/e"
	echo "base gone" >"$_u/base/d/gone"
	ln -s b "$_u/base/d/link"
	echo "base s" >"$_u/base/d/sub/s"
	echo x >"$_u/base/ldir/x"
	echo bx >"$_u/base/both/bx"
	echo "top a" >"$_u/top/d/a"
	echo "top t1" >"$_u/top/d/t1"
	echo "top t2" >"$_u/top/d/t2"
	echo tx >"$_u/top/both/tx"
	mk_whiteout "$_u/top/d" gone || return 1
	ln -s d/b "$_u/top/rel"
	i=0
	while [ $i -lt 300 ]; do
		: >"$_u/base/big/f$(printf %03d $i)"
		i=$((i + 1))
	done
	while [ $i -lt 400 ]; do
		: >"$_u/top/big/f$(printf %03d $((i - 50)))"
		i=$((i + 1))
	done
	mk_whiteout "$_u/top/big" f010 || return 1
	snapshot_branch "$_u/base"
}

for h in helper helper-lfs; do
	make_union "$h" || { echo "Bail out! cannot make the branches of $h"; exit 1; }
done

# in_u NAME CMD...: CMD in the union of the build NAME (mount point $TRASH/NAME/m)
in_u() {
	_n=$1
	shift
	aufs_run -o "br:$TRASH/$_n/top=rw:$TRASH/$_n/base=ro" "$TRASH/$_n/m" -- "$@"
}

# field N: the Nth word of each line of stdin
field() {
	awk -v n="$1" '{print $n}'
}

for h in helper helper-lfs; do
P=$AUFS_BUILD/$h
U=$TRASH/$h
M=$U/m

test_expect_success "$h: fstatat on a union dir fd: base, top, whiteout, symlink, .., AT_EMPTY_PATH" '
	for a in "b" "a" "gone" "nothere" "sub" "link nofollow" "link" "../d/c" "sub/s" "\"\" empty"; do
		eval "in_u $h $P/probe-fstatat $M/d $a"
	done >out; true &&
	field 1 <out | tr -d ":" | paste -sd " " - >actual &&
	echo "file file fstatat fstatat dir symlink file file file dir" >expect &&
	test_cmp expect actual &&
	sed -n "3p;4p" out >actual &&
	printf "%s\n" "fstatat: ENOENT" "fstatat: ENOENT" >expect &&
	test_cmp expect actual &&
	field 2 <out | sed -n "1p;2p;6p;7p;9p" | paste -sd " " - >actual &&
	echo "7 6 1 7 7" >expect &&
	test_cmp expect actual
'

test_expect_success "$h: statx agrees with fstatat, inode numbers included" '
	for a in "b" "a" "gone" "sub" "link nofollow" "link" "sub/s" "\"\" empty"; do
		eval "in_u $h $P/probe-fstatat $M/d $a" >>expect
		eval "in_u $h $P/probe-statx $M/d $a" | sed "s/^statx:/fstatat:/" >>actual
	done; true &&
	test_cmp expect actual &&
	grep -c ENOENT actual >n && echo 1 >one && test_cmp one n
'

test_expect_success "$h: the old ABI: __xstat, __lxstat, __fxstatat" '
	in_u $h $P/probe-xstat $M/d/link >actual &&
	in_u $h $P/probe-fstatat - $M/d/b >st &&
	in_u $h $P/probe-fstatat - $M/d/link nofollow >lst &&
	{ sed "s/^/xstat /" st; sed "s/^/lxstat /" lst; sed "s/^/fxstatat /" lst; } >expect &&
	test_cmp expect actual &&
	test_must_fail in_u $h $P/probe-xstat $M/d/gone >actual &&
	printf "%s\n" "xstat: ENOENT" "lxstat: ENOENT" "fxstatat: ENOENT" >expect &&
	test_cmp expect actual
'

test_expect_success "$h: readdir64 lists the merged dir; telldir/seekdir/rewinddir cookies hold" '
	in_u $h $P/probe-readdir64 $M/d >actual &&
	printf "%s\n" a b c e link sub t1 t2 "seek ok" "rewind ok" >expect &&
	test_cmp expect actual &&
	in_u $h $P/probe-readdir64 $M/big >actual &&
	i=0 && while [ $i -lt 350 ]; do
		[ $i = 10 ] || printf "f%03d\n" $i
		i=$((i + 1))
	done >expect &&
	printf "%s\n" "seek ok" "rewind ok" >>expect &&
	test_cmp expect actual
'

test_expect_success "$h: __open_2 reads a base file; appends copy it up" '
	in_u $h $P/probe-open2 $M/d/b rd >actual &&
	echo "read base b" >expect &&
	test_cmp expect actual &&
	in_u $h $P/probe-open2 $M/d/c append >actual &&
	echo wrote >expect &&
	test_cmp expect actual &&
	printf "%s\n" "base c" open2 >expect &&
	test_cmp expect "$U/top/d/c" &&
	echo "base c" >expect &&
	test_cmp expect "$U/base/d/c" &&
	test_must_fail in_u $h $P/probe-open2 $M/d/gone rd >actual &&
	test_must_fail in_u $h $P/probe-open2 $M/d/sub wr >>actual &&
	printf "%s\n" "__open_2: ENOENT" "__open_2: EISDIR" >expect &&
	test_cmp expect actual
'

test_expect_success "$h: __openat_2 relative to a union dir fd" '
	in_u $h $P/probe-open2 -at $M/d sub/s rd >actual &&
	in_u $h $P/probe-open2 -at $M/d/sub ../b rd >>actual &&
	printf "%s\n" "read base s" "read base b" >expect &&
	test_cmp expect actual &&
	in_u $h $P/probe-open2 -at $M/d/sub s wr &&
	echo open2 >expect &&
	test_cmp expect "$U/top/d/sub/s" &&
	test_must_fail in_u $h $P/probe-open2 -at $M/d gone wr >actual &&
	echo "__openat_2: ENOENT" >expect &&
	test_cmp expect actual
'

test_expect_success "$h: readlinkat: links of both branches, EINVAL, ENOENT" '
	in_u $h $P/probe-readlinkat $M/d link >actual &&
	in_u $h $P/probe-readlinkat $M rel >>actual &&
	printf "%s\n" b d/b >expect &&
	test_cmp expect actual &&
	test_must_fail in_u $h $P/probe-readlinkat $M/d b >actual &&
	test_must_fail in_u $h $P/probe-readlinkat $M/d gone >>actual &&
	printf "%s\n" "readlinkat: EINVAL" "readlinkat: ENOENT" >expect &&
	test_cmp expect actual
'

test_expect_success "$h: realpath through links in the union, and ENOENT" '
	in_u $h $P/probe-realpath $M/d/link >actual &&
	in_u $h $P/probe-realpath $M/rel >>actual &&
	in_u $h $P/probe-realpath $M/d/sub/../link >>actual &&
	in_u $h sh -c "cd $M/d/sub && exec $P/probe-realpath ../link" >>actual &&
	for i in 1 2 3 4; do echo "$M/d/b"; done >expect &&
	test_cmp expect actual &&
	test_must_fail in_u $h $P/probe-realpath $M/d/gone >actual &&
	echo "realpath: ENOENT" >expect &&
	test_cmp expect actual
'

test_expect_success "$h: getcwd after chdir into base-only and merged dirs; ERANGE" '
	in_u $h $P/probe-getcwd $M/d sub .. ../ldir >actual &&
	printf "%s\n" "$M/d" "$M/d/sub" "$M/d" "$M/ldir" "ERANGE ok" >expect &&
	test_cmp expect actual &&
	test_must_fail in_u $h $P/probe-getcwd $M/d/gone >actual &&
	echo "chdir: ENOENT" >expect &&
	test_cmp expect actual
'

test_expect_success "$h: openat(O_TMPFILE) + linkat(/proc/self/fd/N) name the file in the top branch" '
	if in_u $h $P/probe-tmpfile $M/d/sub tnew >actual; then
		printf "%s\n" unnamed linked >expect &&
		test_cmp expect actual &&
		echo tmpfile >expect &&
		test_cmp expect "$U/top/d/sub/tnew" &&
		in_u $h cat $M/d/sub/tnew >actual &&
		test_cmp expect actual &&
		test_path_is_missing "$U/base/d/sub/tnew"
	else
		# the branch file system has no O_TMPFILE: the errno the kernel gives
		cat actual && grep -E "^openat: (EOPNOTSUPP|EISDIR)$" actual
	fi
'

test_expect_success "$h: renameat2 of a base file: copy-up, whiteout, base untouched" '
	in_u $h $P/probe-renameat2 $M/d b $M/d/sub b2 noreplace >actual &&
	echo ok >expect &&
	test_cmp expect actual &&
	echo "base b" >expect &&
	test_cmp expect "$U/top/d/sub/b2" &&
	test -e "$U/top/d/.wh.b" &&
	test_cmp expect "$U/base/d/b" &&
	test_must_fail in_u $h $P/probe-fstatat $M/d b >actual &&
	echo "fstatat: ENOENT" >expect &&
	test_cmp expect actual
'

test_expect_success "$h: RENAME_NOREPLACE: EEXIST over a base name, allowed over a whiteout" '
	test_must_fail in_u $h $P/probe-renameat2 $M/d a $M/d c noreplace >actual &&
	echo "renameat2: EEXIST" >expect &&
	test_cmp expect actual &&
	test_path_is_file "$U/top/d/a" &&
	in_u $h $P/probe-renameat2 $M/d a $M/d gone noreplace &&
	in_u $h cat $M/d/gone >actual &&
	echo "top a" >expect &&
	test_cmp expect actual &&
	test_cmp expect "$U/top/d/gone" &&
	test_path_is_missing "$U/top/d/.wh.gone" &&
	test_path_is_missing "$U/top/d/a" &&
	echo "base gone" >expect &&
	test_cmp expect "$U/base/d/gone"
'

test_expect_success "$h: RENAME_EXCHANGE of two top files; a base file is copied up first" '
	in_u $h $P/probe-renameat2 $M/d t1 $M/d t2 exchange &&
	echo "top t2" >expect && test_cmp expect "$U/top/d/t1" &&
	echo "top t1" >expect && test_cmp expect "$U/top/d/t2" &&
	in_u $h $P/probe-renameat2 $M/d t1 $M/d e exchange &&
	echo "top t2" >expect && test_cmp expect "$U/top/d/e" &&
	echo "base e" >expect && test_cmp expect "$U/top/d/t1" &&
	test_cmp expect "$U/base/d/e" &&
	in_u $h $P/probe-renameat2 $M/d t1 $M/d e exchange &&
	echo "top t2" >expect && test_cmp expect "$U/top/d/t1" &&
	echo "base e" >expect && test_cmp expect "$U/top/d/e"
'

test_expect_success "$h: renameat2 of a lower or merged dir is EXDEV; missing names ENOENT" '
	for args in "ldir $M ldir2" "both $M both2" "gone $M/d g2" "nothere $M/d n2"; do
		set -- $args
		test_must_fail in_u $h $P/probe-renameat2 $M $1 $2 $3 || return 1
	done >actual &&
	printf "%s\n" "renameat2: EXDEV" "renameat2: EXDEV" "renameat2: ENOENT" "renameat2: ENOENT" >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$U/top/ldir2" &&
	test_path_is_missing "$U/top/both2" &&
	test_path_is_dir "$U/top/both"
'

test_expect_success "$h: the base branch is untouched" '
	branch_untouched "$U/base"
'
done

test_expect_success 'the LFS build reaches the *64, __*_2 and __*_chk names; the plain one does not' '
	L=$AUFS_BUILD/helper-lfs &&
	for x in "probe-fstatat fstatat64" "probe-open2 __open64_2" "probe-open2 __openat64_2" \
		"probe-realpath __realpath_chk" "probe-getcwd __getcwd_chk" \
		"probe-readlinkat __readlinkat_chk" "probe-xstat __xstat64" "probe-xstat __lxstat64" \
		"probe-xstat __fxstatat64"; do
		set -- $x
		# unversioned where a sanitizer runtime defines the name (SANITIZE=1)
		nm -u "$L/$1" | grep -q -E " $2(@|\$)" || { echo "$1 does not call $2"; return 1; }
	done &&
	nm -u "$AUFS_BUILD/helper/probe-fstatat" | grep -q -E " fstatat(@|\$)" &&
	nm -u "$AUFS_BUILD/helper/probe-open2" | grep -q -E " __open_2(@|\$)" &&
	nm -u "$AUFS_BUILD/helper/probe-xstat" | grep -q -E " __xstat(@|\$)"
'

test_done
