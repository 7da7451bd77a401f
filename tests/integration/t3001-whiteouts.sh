#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='removing base names makes whiteouts; mkdir over them makes opaque dirs; .wh. names are reserved; +nolwh, diropq=a'
. "$(dirname "$0")/lib.sh"

# One union br:top=rw:base=ro on a separate mount point (plus two more unions
# for +nolwh and diropq=a); every test ends by checking that the base did not change.
setup_branches top base top2 top3
T=$TRASH/top
T2=$TRASH/top2
T3=$TRASH/top3
BASE=$TRASH/base
M=$TRASH/mnt

mkdir -p "$BASE/rmr/sub/deep" "$BASE/le" "$BASE/ne/sub" "$BASE/od/sub" "$BASE/both" \
	"$BASE/nl" "$BASE/opq/keep" "$BASE/wh"
echo "rm me" >"$BASE/rmfile"
echo "both base" >"$BASE/both/f"
echo "r1" >"$BASE/rmr/r1"
echo "r2" >"$BASE/rmr/sub/r2"
echo "r3" >"$BASE/rmr/sub/deep/r3"
echo "la" >"$BASE/le/a"
echo "lb" >"$BASE/le/b"
echo "n" >"$BASE/ne/n"
echo "o1" >"$BASE/od/o1"
echo "o2" >"$BASE/od/sub/o2"
echo "old" >"$BASE/recreate"
echo "nl" >"$BASE/nl/f"
echo "k" >"$BASE/opq/keep/k"
echo "w" >"$BASE/wh/w"
mkdir "$BASE/lnk"
echo "src" >"$BASE/lnk/src"
# the top copy of le/ already hides both of its base files
mkdir -p "$T/le" "$T/both"
echo "both top" >"$T/both/f"
mk_whiteout "$T/le" a
mk_whiteout "$T/le" b
snapshot_branch "$BASE"

# in_u SCRIPT: run the shell SCRIPT in the union, cwd the mount point.
in_u() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

test_expect_success 'rm of a base file: .wh.NAME in top, a hard link of .wh..wh.aufs' '
	in_u "rm rmfile" &&
	test_path_is_file "$T/.wh.rmfile" &&
	test_path_is_file "$T/.wh..wh.aufs" &&
	test "$(stat -c %i "$T/.wh.rmfile")" = "$(stat -c %i "$T/.wh..wh.aufs")" &&
	test "$(stat -c %h "$T/.wh..wh.aufs")" -ge 2 &&
	test_path_is_missing "$T/rmfile" &&
	branch_untouched "$BASE"
'

test_expect_success 'the removed name is gone from ls, stat, cat and test -e; no .wh. name is listed' '
	in_u "ls -A; stat rmfile; cat rmfile; test -e rmfile && echo exists; ls -A | grep -c \"^\\.wh\\.\"" >actual 2>err;
	cat err &&
	! grep -x rmfile actual &&
	! grep -x exists actual &&
	test "$(tail -n 1 actual)" = 0 &&
	test_grep "stat: cannot statx* .rmfile.: No such file or directory" err &&
	test_grep "cat: rmfile: No such file or directory" err &&
	branch_untouched "$BASE"
'

test_expect_success 'rm of a file in top and base: top copy removed, whiteout made' '
	in_u "rm both/f && ls -A both && test ! -e both/f" >actual &&
	test_must_be_empty actual &&
	test_path_is_missing "$T/both/f" &&
	test "$(stat -c %i "$T/both/.wh.f")" = "$(stat -c %i "$T/.wh..wh.aufs")" &&
	branch_untouched "$BASE"
'

test_expect_success 'rm of a top-only file leaves no whiteout' '
	in_u "echo x >toponly && rm toponly && test ! -e toponly" &&
	test_path_is_missing "$T/toponly" &&
	test_path_is_missing "$T/.wh.toponly" &&
	branch_untouched "$BASE"
'

test_expect_success 'rm -r of a base dir: one whiteout for the dir, nothing of it in the union' '
	in_u "rm -r rmr && test ! -e rmr && find . -path \"*rmr*\"" >actual &&
	test_must_be_empty actual &&
	test_path_is_file "$T/.wh.rmr" &&
	test "$(stat -c %i "$T/.wh.rmr")" = "$(stat -c %i "$T/.wh..wh.aufs")" &&
	test_path_is_missing "$T/rmr" &&
	branch_untouched "$BASE"
'

test_expect_success 'rmdir of a merged dir that is logically empty: its whiteouts go, a whiteout for it comes' '
	in_u "ls -A le" >actual &&
	test_must_be_empty actual &&
	in_u "rmdir le && test ! -e le" &&
	test_path_is_missing "$T/le" &&
	test_path_is_file "$T/.wh.le" &&
	branch_untouched "$BASE"
'

test_expect_success 'rmdir of a non-empty merged dir fails with ENOTEMPTY, nothing changes' '
	in_u "rmdir ne" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_grep "Directory not empty" out &&
	in_u "rmdir ne/sub && ls -A ne" >actual 2>&1 &&
	echo n >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/.wh.ne" &&
	branch_untouched "$BASE"
'

test_expect_success PYTHON 'rmdir (python os.rmdir) of a non-empty merged dir: errno ENOTEMPTY' '
	in_u "python3 -c \"import os, errno
try:
    os.rmdir(\\\"od\\\")
except OSError as e:
    print(errno.errorcode[e.errno])\"" >actual &&
	echo ENOTEMPTY >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'mkdir over a whiteout makes an opaque dir; the lower content stays hidden' '
	in_u "rm -r od && mkdir od && ls -A od && echo new >od/new && ls -A od && test ! -e od/o1 && find od | sort" >actual &&
	printf "%s\n" new od od/new >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/od/.wh..wh..opq" &&
	test_path_is_missing "$T/.wh.od" &&
	branch_untouched "$BASE"
'

test_expect_success 'the opaque dir stays opaque for later processes, and .wh..wh..opq is not listed' '
	in_u "ls -A od; test -e od/sub && echo sub; test -e od/.wh..wh..opq && echo marker; true" >actual &&
	echo new >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'creating a file whose whiteout exists removes the whiteout' '
	in_u "rm recreate && test ! -e recreate && echo new >recreate && cat recreate" >actual &&
	echo new >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/.wh.recreate" &&
	echo new | test_cmp - "$T/recreate" &&
	branch_untouched "$BASE"
'

test_expect_success 'mkdir, ln -s and mkfifo over a whiteout also remove it' '
	in_u "rm wh/w && ln -s target wh/w && readlink wh/w" >actual &&
	echo target >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/wh/.wh.w" &&
	test -L "$T/wh/w" &&
	in_u "rm -r opq/keep && mkfifo opq/keep && test -p opq/keep" &&
	test_path_is_missing "$T/opq/.wh.keep" &&
	test -p "$T/opq/keep" &&
	branch_untouched "$BASE"
'

test_expect_success 'names starting with .wh. cannot be created: touch, mkdir, ln -s, ln, mv, mkfifo (EPERM)' '
	for cmd in "touch .wh.a" "mkdir .wh.b" "ln -s x .wh.c" "touch ne/.wh.d" "mkdir -p ne/.wh.e" \
		"ln ne/n .wh.f" "mkfifo .wh.g" "echo x >.wh.h"; do
		in_u "$cmd" >out 2>&1 && { echo "succeeded: $cmd"; exit 1; }
		cat out &&
		test_grep "Operation not permitted" out || exit 1
	done &&
	in_u "echo x >plain && mv plain .wh.plain" >out 2>&1 && { echo "mv succeeded"; exit 1; }
	cat out &&
	test_grep "Operation not permitted" out &&
	in_u "test -e plain && echo still" >actual &&
	echo still >expect &&
	test_cmp expect actual &&
	for n in .wh.a .wh.b .wh.c ne/.wh.d ne/.wh.e .wh.f .wh.g .wh.h .wh.plain; do
		test_path_is_missing "$T/$n" || exit 1
	done &&
	branch_untouched "$BASE"
'

# aufs refuses the name at lookup, before anything is copied: a refused change
# copies nothing (the source of the link stays in the base).
test_expect_success 'a refused ln of a base file to a .wh. name copies nothing up' '
	in_u "ln lnk/src lnk/.wh.x" >out 2>&1; st=$?
	cat out &&
	test "$st" != 0 &&
	test_path_is_missing "$T/lnk/.wh.x" &&
	test_path_is_missing "$T/lnk" &&
	branch_untouched "$BASE"
'

test_expect_success 'the whiteout prefix is refused even for names that exist nowhere below' '
	in_u "test ! -e .wh.zz && touch .wh.zz" >out 2>&1; st=$?
	test "$st" != 0 &&
	test_path_is_missing "$T/.wh.zz" &&
	branch_untouched "$BASE"
'

test_expect_success '+nolwh: whiteouts are plain files, not links of .wh..wh.aufs' '
	aufs_run -o "br:$T2=rw+nolwh:$BASE=ro" "$TRASH/mnt2" -- sh -c "cd \"$TRASH/mnt2\" && rm rmfile nl/f && rm -r rmr && ls -A; ls -A nl" >actual &&
	printf "%s\n" both le lnk ne nl od opq recreate wh >expect &&
	test_cmp expect actual &&
	for w in .wh.rmfile nl/.wh.f .wh.rmr; do
		test_path_is_file "$T2/$w" &&
		test "$(stat -c %h "$T2/$w")" = 1 || exit 1
	done &&
	if test -e "$T2/.wh..wh.aufs"; then
		test "$(stat -c %h "$T2/.wh..wh.aufs")" = 1
	fi &&
	branch_untouched "$BASE"
'

test_expect_success 'diropq=a: every new dir is opaque, copied-up parents are not' '
	aufs_run -o "br:$T3=rw:$BASE=ro,diropq=a" "$TRASH/mnt3" -- sh -c "cd \"$TRASH/mnt3\" && mkdir fresh && mkdir -p ne/sub/x ne/y && ls -A ne" >actual &&
	printf "%s\n" n sub y >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T3/fresh/.wh..wh..opq" &&
	test_path_is_file "$T3/ne/sub/x/.wh..wh..opq" &&
	test_path_is_file "$T3/ne/y/.wh..wh..opq" &&
	test_path_is_missing "$T3/ne/.wh..wh..opq" &&
	test_path_is_missing "$T3/ne/sub/.wh..wh..opq" &&
	branch_untouched "$BASE"
'

test_expect_success 'diropq=w (default): a new dir over nothing is not opaque' '
	in_u "mkdir plaindir" &&
	test_path_is_dir "$T/plaindir" &&
	test_path_is_missing "$T/plaindir/.wh..wh..opq" &&
	branch_untouched "$BASE"
'

test_expect_success 'the whole union view after all of the above' '
	in_u "find . | sort" >actual &&
	cat >expect <<-\EOF &&
	.
	./both
	./lnk
	./lnk/src
	./ne
	./ne/n
	./nl
	./nl/f
	./od
	./od/new
	./opq
	./opq/keep
	./plain
	./plaindir
	./recreate
	./wh
	./wh/w
	EOF
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

# One process: what a create or mkdir made is remembered (src/core/mutate_create.c,
# create_done), so removing it again costs no probe, and must still be right.
test_expect_success 'in one process: re-created over a whiteout, removed again: the whiteout is back' '
	echo "w3" >"$BASE/w3" && chmod a-w "$BASE/w3" && snapshot_branch "$BASE" &&
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- python3 -c "
import os, sys
os.chdir(sys.argv[1])
os.unlink(\"w3\")
open(\"w3\", \"w\").close()
print(os.path.exists(\"w3\"))
os.unlink(\"w3\")
print(os.path.exists(\"w3\"))
" "$M" >actual &&
	printf "%s\n" True False >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/.wh.w3" &&
	test_must_fail in_u "cat w3" &&
	branch_untouched "$BASE"
'

test_expect_success 'in one process: rmdir of a dir it made holding only a whiteout succeeds; with a file: ENOTEMPTY' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- python3 -c "
import errno, os, sys
os.chdir(sys.argv[1])
os.mkdir(\"nd1\")
os.mkdir(\"nd2\")
open(\"nd2/f\", \"w\").close()
open(os.path.join(sys.argv[2], \"nd1/.wh.zz\"), \"w\").close()
os.rmdir(\"nd1\")
print(os.path.exists(\"nd1\"))
try:
    os.rmdir(\"nd2\")
except OSError as e:
    print(errno.errorcode[e.errno])
os.unlink(\"nd2/f\")
os.rmdir(\"nd2\")
print(os.path.exists(\"nd2\"))
" "$M" "$T" >actual &&
	printf "%s\n" False ENOTEMPTY False >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/nd1" &&
	test_path_is_missing "$T/nd2" &&
	branch_untouched "$BASE"
'

# An O_EXCL create does not look for the name in the branch it creates it in: the
# create there is that test (src/core/ops_read.c, AUFS_RESOLVE_EXCL).
test_expect_success 'O_CREAT|O_EXCL: EEXIST for a name in top or base, new over a whiteout or nothing' '
	echo top >"$T/xtop" &&
	echo "x base" >"$BASE/xbase" && echo "x wh" >"$BASE/xwh" && snapshot_branch "$BASE" &&
	mk_whiteout "$T" xwh &&
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- python3 -c "
import errno, os, sys
os.chdir(sys.argv[1])
for n in (\"xtop\", \"xbase\", \"xwh\", \"xnew\", \"xtop\", \"xnew\"):
    try:
        os.close(os.open(n, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        print(n, \"created\")
    except OSError as e:
        print(n, errno.errorcode[e.errno])
" "$M" >actual &&
	printf "%s\n" "xtop EEXIST" "xbase EEXIST" "xwh created" "xnew created" "xtop EEXIST" \
		"xnew EEXIST" >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/.wh.xwh" &&
	test_path_is_file "$T/xnew" &&
	test_path_is_missing "$T/xbase" &&
	echo top >expect && test_cmp expect "$T/xtop" &&
	branch_untouched "$BASE"
'

test_done
