#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='real programs of issue 4: python shutil.rmtree and tempfile, make -C of a C project that lives in the base, bash and env -i from a cwd in the union'
. "$(dirname "$0")/lib.sh"

# base (ro): tree/{a,b/c,b/d/e} (rmtree), tmpd/keep (tempfile), proj/ (a C
#            project: Makefile main.c util.c util.h), sub/script.sh whose #!
#            interpreter bin/mysh (a copy of /bin/sh) is in the base too, sub/data,
#            sub/abs.sh (the same, reading $M/sub/data)
# top (rw):  tree/top, tree/b/topc (so tree is merged)
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/m
mkdir -p "$BASE/tree/b/d" "$BASE/tmpd" "$BASE/proj" "$BASE/bin" "$BASE/sub" "$T/tree/b"
echo a >"$BASE/tree/a"
echo c >"$BASE/tree/b/c"
echo e >"$BASE/tree/b/d/e"
echo top >"$T/tree/top"
echo topc >"$T/tree/b/topc"
echo keep >"$BASE/tmpd/keep"
cp /bin/sh "$BASE/bin/mysh"
printf '%s\n' "#!$M/bin/mysh" 'echo "script $0 $* in $(pwd)"' 'cat data' >"$BASE/sub/script.sh"
printf '%s\n' "#!$M/bin/mysh" 'echo "abs $0 $*"' "cat \"$M/sub/data\"" >"$BASE/sub/abs.sh"
echo "sub data" >"$BASE/sub/data"
chmod 0755 "$BASE/bin/mysh" "$BASE/sub/script.sh" "$BASE/sub/abs.sh"
# (printf: a here-document with <<- would strip the recipes' tabs)
printf '%s\n' 'CC ?= cc' 'hello: main.o util.o' '\t$(CC) -o $@ main.o util.o' \
	'%.o: %.c util.h' '\t$(CC) -c -o $@ $<' 'clean:' '\trm -f hello main.o util.o' \
	'.PHONY: clean' | sed 's/\\t/\t/' >"$BASE/proj/Makefile"
printf '%s\n' '#include <stdio.h>' '#include "util.h"' \
	'int main(void) { printf("%s\n", greeting()); return 0; }' >"$BASE/proj/main.c"
printf '%s\n' '#include "util.h"' 'const char *greeting(void) { return "hello from the base"; }' \
	>"$BASE/proj/util.c"
echo 'const char *greeting(void);' >"$BASE/proj/util.h"
# sources older than anything make will write
touch -d '2020-01-01 00:00:00' "$BASE/proj/main.c" "$BASE/proj/util.c" "$BASE/proj/util.h" \
	"$BASE/proj/Makefile"
snapshot_branch "$BASE"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
have_cmd make && test_set_prereq MAKE

in_u() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- "$@"
}

# top_files DIR: what the top branch holds under DIR (names relative to it)
top_files() {
	(cd "$T/$1" && find . -mindepth 1 | sort)
}

test_expect_success PYTHON 'python3 shutil.rmtree of a merged tree' '
	in_u $PY -c "
import os, shutil
assert sorted(os.listdir(\"$M/tree\")) == [\"a\", \"b\", \"top\"], os.listdir(\"$M/tree\")
shutil.rmtree(\"$M/tree\")
print(os.path.exists(\"$M/tree\"), \"tree\" in os.listdir(\"$M\"))
" >actual &&
	echo "False False" >expect &&
	test_cmp expect actual &&
	test -e "$T/.wh.tree" &&
	test_path_is_missing "$T/tree" &&
	in_u sh -c "ls -A \"$M\"" >actual &&
	printf "%s\n" bin proj sub tmpd >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'python3 tempfile.mkstemp, mkdtemp and NamedTemporaryFile in a base dir' '
	in_u $PY -c "
import os, tempfile
fd, name = tempfile.mkstemp(dir=\"$M/tmpd\", prefix=\"pyf\")
os.write(fd, b\"mkstemp\\n\")
os.close(fd)
d = tempfile.mkdtemp(dir=\"$M/tmpd\", prefix=\"pyd\")
with tempfile.NamedTemporaryFile(dir=d, delete=False, prefix=\"ntf\") as f:
    f.write(b\"ntf\\n\")
print(os.path.dirname(name), os.path.basename(name).startswith(\"pyf\"), os.path.dirname(d))
print(sorted(os.listdir(\"$M/tmpd\")) == sorted([\"keep\", os.path.basename(name), os.path.basename(d)]))
print(open(name).read().strip(), open(f.name).read().strip())
" >actual &&
	printf "%s\n" "$M/tmpd True $M/tmpd" True "mkstemp ntf" >expect &&
	test_cmp expect actual &&
	top_files tmpd >names &&
	test_line_count = 3 names &&
	grep -q "^\./pyf" names && grep -q "^\./pyd[^/]*$" names && grep -q "^\./pyd[^/]*/ntf" names &&
	cat "$T"/tmpd/pyf* >actual &&
	echo mkstemp >expect &&
	test_cmp expect actual
'

test_expect_success CC,MAKE 'make -C builds a C project that lives in the base; objects land in the top branch' '
	in_u make -s -C "$M/proj" >out 2>&1 &&
	in_u sh -c "exec \"$M/proj/hello\"" >actual &&
	echo "hello from the base" >expect &&
	test_cmp expect actual &&
	top_files proj >actual &&
	printf "%s\n" ./hello ./main.o ./util.o >expect &&
	test_cmp expect actual
'

test_expect_success CC,MAKE 'make again: nothing to do; a touched base source rebuilds one object' '
	in_u make -C "$M/proj" >out 2>&1 &&
	grep -q "is up to date" out &&
	in_u touch "$M/proj/util.c" &&
	in_u make -C "$M/proj" >out 2>&1 &&
	grep -c -E "(^| )-c " out >n && echo 1 >one && test_cmp one n &&
	grep -q "util.c" out &&
	! grep -q "main.c" out &&
	test_path_is_file "$T/proj/util.c" &&
	in_u sh -c "exec \"$M/proj/hello\"" >actual &&
	echo "hello from the base" >expect &&
	test_cmp expect actual
'

test_expect_success CC,MAKE 'make clean removes what it built, and only that' '
	in_u make -s -C "$M/proj" clean &&
	top_files proj >actual &&
	echo ./util.c >expect &&
	test_cmp expect actual &&
	in_u sh -c "ls \"$M/proj\"" >actual &&
	printf "%s\n" Makefile main.c util.c util.h >expect &&
	test_cmp expect actual
'

# aufs-run once executed COMMAND with its own execvp, which sees no union: a
# COMMAND that exists only in a union was not found (127).
test_expect_success CC,MAKE 'aufs-run -- COMMAND, where COMMAND exists only in the union' '
	in_u make -s -C "$M/proj" &&
	in_u "$M/proj/hello" >actual &&
	echo "hello from the base" >expect &&
	test_cmp expect actual &&
	in_u "$M/sub/abs.sh" a >actual &&
	printf "%s\n" "abs $M/sub/abs.sh a" "sub data" >expect &&
	test_cmp expect actual &&
	(PATH="$M/sub:$PATH" && export PATH && in_u abs.sh p) >actual &&
	printf "%s\n" "abs $M/sub/abs.sh p" "sub data" >expect &&
	test_cmp expect actual
'

test_expect_success BASH 'bash -c "cd sub && ./script.sh" from a cwd in the union, interpreter in the base' '
	in_u sh -c "cd \"$M\" && exec bash -c \"cd sub && ./script.sh b\"" >actual &&
	printf "%s\n" "script ./script.sh b in $M/sub" "sub data" >expect &&
	test_cmp expect actual
'

test_expect_success 'env -i PATH=/usr/bin sh -c: the union, the cwd and relative names survive' '
	in_u sh -c "cd \"$M/sub\" && exec env -i PATH=/usr/bin sh -c \"pwd; cat data; ./script.sh e\"" >actual &&
	printf "%s\n" "$M/sub" "sub data" "script ./script.sh e in $M/sub" "sub data" >expect &&
	test_cmp expect actual
'

test_expect_success 'the base branch is untouched' '
	branch_untouched "$BASE"
'

test_done
