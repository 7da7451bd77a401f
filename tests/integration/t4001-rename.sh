#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='rename and link: copy-up + rename + whiteout, EXDEV for lower dirs, RENAME_NOREPLACE, hard and symbolic links'
. "$(dirname "$0")/lib.sh"

# One union br:top=rw:base=ro on a separate mount point; every test ends by
# checking that the base did not change.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/mnt

mkdir -p "$BASE/bd/s" "$BASE/pyd/s" "$BASE/into" "$BASE/whd/old" "$BASE/whd2/old" "$BASE/nr"
echo "a" >"$BASE/a"
echo "b" >"$BASE/b"
echo "c" >"$BASE/c"
echo "x" >"$BASE/bd/x"
echo "y" >"$BASE/bd/s/y"
echo "p" >"$BASE/pyd/p"
echo "hl" >"$BASE/hl"
echo "sl" >"$BASE/sl"
echo "moved" >"$BASE/tomove"
echo "old" >"$BASE/whd/old/o"
echo "old" >"$BASE/whd2/old/o"
echo "nr1" >"$BASE/nr/one"
echo "nr2" >"$BASE/nr/two"
echo "over" >"$BASE/over"
mkdir "$BASE/tmpd"
echo "t" >"$BASE/tmpd/base-t"
ln -s sl "$BASE/blink"
chmod 0640 "$BASE/a"
touch -d '2003-04-05 06:07:08' "$BASE/a"
mkdir -p "$T/tdir/u"
echo "top only" >"$T/tdir/u/f"
snapshot_branch "$BASE"

# in_u SCRIPT: run the shell SCRIPT in the union, cwd the mount point.
in_u() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

# rn2 FLAGS OLD NEW: renameat2 through glibc (so through the library); prints
# "ok" or the errno name. FLAGS: 0, noreplace, exchange.
if test_have_prereq CC; then
	cat >"$TEST_TMP/rn2.c" <<-\EOF
	#define _GNU_SOURCE
	#include <errno.h>
	#include <fcntl.h>
	#include <stdio.h>
	#include <string.h>
	int main(int argc, char **argv)
	{
		unsigned flags = 0;
		if (argc != 4)
			return 2;
		if (!strcmp(argv[1], "noreplace"))
			flags = RENAME_NOREPLACE;
		else if (!strcmp(argv[1], "exchange"))
			flags = RENAME_EXCHANGE;
		if (renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], flags) == 0) {
			puts("ok");
			return 0;
		}
		switch (errno) {
		case EEXIST: puts("EEXIST"); break;
		case ENOENT: puts("ENOENT"); break;
		case EXDEV: puts("EXDEV"); break;
		case EINVAL: puts("EINVAL"); break;
		case EPERM: puts("EPERM"); break;
		default: printf("errno %d\n", errno); break;
		}
		return 1;
	}
	EOF
	if "${CC:-cc}" -O1 -o "$TEST_TMP/rn2" "$TEST_TMP/rn2.c" >"$TEST_TMP/rn2.log" 2>&1; then
		test_set_prereq RN2
	else
		comment <"$TEST_TMP/rn2.log"
	fi
fi
RN2=$TEST_TMP/rn2

test_expect_success 'mv of a base file: copied up, renamed, whiteout for the old name' '
	in_u "mv a a2 && cat a2 && stat -c \"%a %Y\" a2 && test ! -e a && ls -A | grep -c \"^a\$\"" >actual;
	{ echo a && echo "640 $(date -d "2003-04-05 06:07:08" +%s)" && echo 0; } >expect &&
	test_cmp expect actual &&
	echo a | test_cmp - "$T/a2" &&
	test_path_is_file "$T/.wh.a" &&
	test "$(stat -c %i "$T/.wh.a")" = "$(stat -c %i "$T/.wh..wh.aufs")" &&
	test_path_is_missing "$T/a" &&
	branch_untouched "$BASE"
'

test_expect_success 'mv onto an existing base file: the target shows the source, the source is gone' '
	in_u "mv b c && cat c && test ! -e b && ls -A | grep -c \"^[bc]\$\"" >actual &&
	printf "%s\n" b 1 >expect &&
	test_cmp expect actual &&
	echo b | test_cmp - "$T/c" &&
	test_path_is_file "$T/.wh.b" &&
	test_path_is_missing "$T/.wh.c" &&
	branch_untouched "$BASE"
'

test_expect_success 'mv of a dir that lives only in top: a plain rename (same inode, no whiteout)' '
	ino=$(stat -c %i "$T/tdir") &&
	in_u "mv tdir tdir2 && cat tdir2/u/f && test ! -e tdir" >actual &&
	echo "top only" >expect &&
	test_cmp expect actual &&
	test "$(stat -c %i "$T/tdir2")" = "$ino" &&
	test_path_is_missing "$T/tdir" &&
	test_path_is_missing "$T/.wh.tdir" &&
	branch_untouched "$BASE"
'

test_expect_success 'mv of a base dir: rename gives EXDEV, mv copies and deletes; the final tree is right' '
	in_u "mv bd bd2 && find bd2 | sort && cat bd2/x bd2/s/y && test ! -e bd" >actual &&
	printf "%s\n" bd2 bd2/s bd2/s/y bd2/x x y >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/.wh.bd" &&
	test_path_is_missing "$T/bd" &&
	echo y | test_cmp - "$T/bd2/s/y" &&
	branch_untouched "$BASE"
'

test_expect_success PYTHON 'python3 os.rename of a base dir raises EXDEV (errno 18), nothing changes' '
	in_u "python3 -c \"import os
try:
    os.rename(\\\"pyd\\\", \\\"pyd2\\\")
    print(\\\"renamed\\\")
except OSError as e:
    print(e.errno)\"; ls -A pyd; test -e pyd2 && echo pyd2; true" >actual &&
	printf "%s\n" 18 p s >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/pyd" &&
	test_path_is_missing "$T/pyd2" &&
	test_path_is_missing "$T/.wh.pyd" &&
	branch_untouched "$BASE"
'

test_expect_success 'mv --no-clobber: an existing base target stays, the source stays' '
	in_u "mv --no-clobber nr/one nr/two; cat nr/one nr/two" >actual &&
	printf "%s\n" nr1 nr2 >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/nr/.wh.one" &&
	test_path_is_missing "$T/nr/two" &&
	branch_untouched "$BASE"
'

test_expect_success 'mv --no-clobber to a free name (renameat2 RENAME_NOREPLACE) moves a base file' '
	in_u "mv --no-clobber nr/one nr/three && cat nr/three && test ! -e nr/one" >actual &&
	echo nr1 >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/nr/.wh.one" &&
	branch_untouched "$BASE"
'

test_expect_success RN2 'renameat2(RENAME_NOREPLACE) onto a base file: EEXIST, nothing copied or hidden' '
	in_u "\"$RN2\" noreplace over nr/two; cat over nr/two" >actual &&
	printf "%s\n" EEXIST over nr2 >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/over" &&
	test_path_is_missing "$T/.wh.over" &&
	test_path_is_missing "$T/nr/two" &&
	branch_untouched "$BASE"
'

test_expect_success RN2 'renameat2(RENAME_NOREPLACE) to a whiteouted name succeeds' '
	in_u "rm nr/two && \"$RN2\" noreplace over nr/two && cat nr/two && test ! -e over" >actual &&
	printf "%s\n" ok over >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/nr/.wh.two" &&
	test_path_is_file "$T/.wh.over" &&
	branch_untouched "$BASE"
'

test_expect_success RN2 'renameat2(RENAME_NOREPLACE) of a missing source: ENOENT' '
	in_u "\"$RN2\" noreplace nosuch nr/new; test -e nr/new && echo made; true" >actual &&
	echo ENOENT >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'mv of a top file into a base-only dir: the dir is copied up, the file lands there' '
	in_u "echo new >newf && mv newf into/ && cat into/newf && test ! -e newf" >actual &&
	echo new >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/into/newf" &&
	test_path_is_missing "$T/.wh.newf" &&
	branch_untouched "$BASE"
'

test_expect_success 'mv of a base file into a base-only dir (both copied up), old name whiteouted' '
	in_u "mv tomove into/ && cat into/tomove && test ! -e tomove" >actual &&
	echo moved >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/.wh.tomove" &&
	branch_untouched "$BASE"
'

test_expect_success 'ln (hard link) of a base file: copied up, then linked: one inode in top' '
	in_u "ln hl hl2 && stat -c %h hl && cat hl2 && test \"\$(stat -c %i hl)\" = \"\$(stat -c %i hl2)\" && echo same" >actual &&
	printf "%s\n" 2 hl same >expect &&
	test_cmp expect actual &&
	test "$(stat -c %i "$T/hl")" = "$(stat -c %i "$T/hl2")" &&
	test "$(stat -c %h "$T/hl")" = 2 &&
	branch_untouched "$BASE"
'

test_expect_success 'a write through one hard link shows through the other' '
	in_u "echo more >>hl2 && cat hl" >actual &&
	printf "%s\n" hl more >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'ln -s to a base file: the link is in top, verbatim, and reads the base file' '
	in_u "ln -s sl sl-link && readlink sl-link && cat sl-link && ln -s ../sl into/rel && cat into/rel" >actual &&
	printf "%s\n" sl sl sl >expect &&
	test_cmp expect actual &&
	test "$(readlink "$T/sl-link")" = sl &&
	test "$(readlink "$T/into/rel")" = ../sl &&
	test_path_is_missing "$T/sl" &&
	branch_untouched "$BASE"
'

test_expect_success PYTHON 'O_TMPFILE in a base-only dir, then linkat(/proc/self/fd/N, AT_SYMLINK_FOLLOW) names it' '
	in_u "python3 -c \"import os
fd = os.open(\\\"tmpd\\\", os.O_TMPFILE | os.O_WRONLY, 0o640)
os.write(fd, b\\\"anonymous\\\\n\\\")
dfd = os.open(\\\"tmpd\\\", os.O_RDONLY | os.O_DIRECTORY)
os.link(\\\"/proc/self/fd/%d\\\" % fd, \\\"named\\\", dst_dir_fd=dfd, follow_symlinks=True)
print(open(\\\"tmpd/named\\\").read(), end=\\\"\\\")
print(oct(os.stat(\\\"tmpd/named\\\").st_mode & 0o777), *sorted(os.listdir(\\\"tmpd\\\")))\"" >actual &&
	printf "%s\n" anonymous "0o640 base-t named" >expect &&
	cat actual &&
	test_cmp expect actual &&
	test_path_is_file "$T/tmpd/named" &&
	test_path_is_missing "$T/tmpd/base-t" &&
	branch_untouched "$BASE"
'

test_expect_success 'mktemp and mktemp -d in a base-only dir' '
	in_u "f=\$(mktemp -p tmpd) && d=\$(mktemp -d -p tmpd) && test -f \"\$f\" && test -d \"\$d\" && ls tmpd | wc -l" >actual &&
	echo 4 >expect &&
	test_cmp expect actual &&
	test "$(ls "$T/tmpd" | wc -l)" = 3 &&
	branch_untouched "$BASE"
'

test_expect_success 'mv of symlinks: a top one, and a base one (copied up as a symlink, target verbatim)' '
	in_u "mv sl-link sl-link2 && readlink sl-link2 && mv blink blink2 && readlink blink2 && cat blink2 && test ! -L blink" >actual &&
	printf "%s\n" sl sl sl >expect &&
	test_cmp expect actual &&
	test -L "$T/sl-link2" &&
	test -L "$T/blink2" &&
	test "$(readlink "$T/blink2")" = sl &&
	test_path_is_file "$T/.wh.blink" &&
	branch_untouched "$BASE"
'

test_expect_success 'mv of a top file onto a whiteouted name: the whiteout goes' '
	in_u "rm c && echo t >tf && mv tf c && cat c" >actual &&
	echo t >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$T/.wh.c" &&
	branch_untouched "$BASE"
'

# aufs(5), diropq: "If the directory was whiteouted or opaqued, the created or
# renamed directory will be opaque." Without it the removed base dir comes back.
test_expect_success 'mv of a top dir onto a whiteouted dir name: the result is opaque (old content stays gone)' '
	in_u "rm -r whd/old && mkdir newd && echo n >newd/n && mv newd whd/old && ls -A whd/old" >actual &&
	echo n >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/whd/old/.wh..wh..opq" &&
	branch_untouched "$BASE"
'

test_expect_success PYTHON 'os.rename of a top dir onto a whiteouted dir name: opaque too' '
	in_u "rm -r whd2/old && mkdir newd2 && python3 -c \"import os; os.rename(\\\"newd2\\\", \\\"whd2/old\\\")\" && ls -A whd2/old" >actual &&
	test_must_be_empty actual &&
	branch_untouched "$BASE"
'

test_done
