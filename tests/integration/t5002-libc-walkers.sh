#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='libc functions that read directories internally: glob, nftw, ftw, fts, scandir'
. "$(dirname "$0")/lib.sh"

# glibc implements these with its own internal opendir/readdir/stat calls, which
# an LD_PRELOAD library cannot see: it must wrap them itself.
# top: d/t1, d/.wh.b2, d/sub/ts ; base: d/b1, d/b2, d/sub/bs, d/bdir/x, e/f
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
mkdir -p "$T/d/sub" "$BASE/d/sub" "$BASE/d/bdir" "$BASE/e"
echo t1 >"$T/d/t1"
echo ts >"$T/d/sub/ts"
echo b1 >"$BASE/d/b1"
echo b2 >"$BASE/d/b2"
echo bs >"$BASE/d/sub/bs"
echo x >"$BASE/d/bdir/x"
echo f >"$BASE/e/f"
mk_whiteout "$T/d" b2
snapshot_branch "$T"
snapshot_branch "$BASE"
build_libc_probe

M=$TRASH/mnt
in_m() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}
probe() {
	in_m "\"$LIBC_PROBE\" $*"
}

test_expect_success CC 'libc-probe.c compiles' '
	test -x "$LIBC_PROBE"
'

test_expect_success LIBC_PROBE 'opendir/readdir and fdopendir list the merged dir' '
	probe readdir d | sort >actual &&
	printf "%s\n" . .. b1 bdir sub t1 >expect &&
	test_cmp expect actual &&
	probe fdopendir d | sort >actual &&
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'scandir lists the merged dir, sorted' '
	probe scandir d >actual &&
	printf "%s\n" . .. b1 bdir sub t1 >expect &&
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'fopen and realpath of base files' '
	probe fopen d/sub/bs >actual &&
	probe realpath d/sub/../bdir/x >>actual &&
	printf "%s\n" bs "$M/d/bdir/x" >expect &&
	test_cmp expect actual
'

# glob(3) once listed the top branch only.
test_expect_success LIBC_PROBE 'glob(3) matches names from every branch' '
	probe glob "\"d/*\"" >actual &&
	printf "%s\n" d/b1 d/bdir d/sub d/t1 >expect &&
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'glob(3) of a pattern in a base-only dir' '
	probe glob "\"e/*\"" >actual &&
	echo e/f >expect &&
	test_cmp expect actual
'

# nftw(3), ftw(3) and fts(3) of glibc once walked the top branch only.
test_expect_success LIBC_PROBE 'nftw(3) walks the merged tree' '
	probe nftw d | sort >actual &&
	cat >expect <<-\EOF &&
	d d
	d d/bdir
	d d/sub
	f d/b1
	f d/bdir/x
	f d/sub/bs
	f d/sub/ts
	f d/t1
	EOF
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'ftw(3) walks the merged tree' '
	probe ftw d | sort >actual &&
	probe nftw d | sort >expect &&
	test_line_count = 8 actual &&
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'fts(3) walks the merged tree' '
	probe fts d | sort >actual &&
	cat >expect <<-\EOF &&
	d d
	d d/bdir
	d d/sub
	f d/b1
	f d/bdir/x
	f d/sub/bs
	f d/sub/ts
	f d/t1
	EOF
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'the probe tells a broken walk from a good one outside the union' '
	probe nftw "\"$TRASH/base/d\"" | sort >actual &&
	test_line_count = 7 actual &&
	probe glob "\"$TRASH/base/d/*\"" >actual &&
	test_line_count = 4 actual
'

test_expect_success 'the branches are untouched' '
	branch_untouched "$T" &&
	branch_untouched "$BASE"
'

test_done
