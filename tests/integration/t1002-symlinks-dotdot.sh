#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='symlinks are resolved in the virtual namespace; .. inside and out of the union; cwd'
. "$(dirname "$0")/lib.sh"

# top (rw)                                  base (ro)
#   d/rel -> ../lib/real.txt                  lib/real.txt "data"
#   abs_m -> $TRASH/mnt/lib/real.txt          d/sub/deep/f "deep"
#   abs_t -> $TRASH/top/lib/real.txt          d/sub/g "g"
#   tosub -> d/sub                            blink -> tfile (a link in base to a top file)
#   tfile "top file"                          d/blink2 -> ../tfile
#   self -> self, loop1 -> loop2              loop2 -> loop1
#   out -> $TRASH/outside/o.txt               d/gone_link -> ../gone
#   .wh.gone                                  gone "gone"
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
mkdir -p "$T/d" "$BASE/lib" "$BASE/d/sub/deep" outside
echo data >"$BASE/lib/real.txt"
echo deep >"$BASE/d/sub/deep/f"
echo g >"$BASE/d/sub/g"
echo "top file" >"$T/tfile"
echo outside >outside/o.txt
ln -s ../lib/real.txt "$T/d/rel"
ln -s "$TRASH/mnt/lib/real.txt" "$T/abs_m"
ln -s "$TRASH/top/lib/real.txt" "$T/abs_t"
ln -s d/sub "$T/tosub"
ln -s self "$T/self"
ln -s loop2 "$T/loop1"
ln -s loop1 "$BASE/loop2"
ln -s "$TRASH/outside/o.txt" "$T/out"
ln -s tfile "$BASE/blink"
ln -s ../tfile "$BASE/d/blink2"
ln -s ../gone "$BASE/d/gone_link"
echo gone >"$BASE/gone"
mk_whiteout "$T" gone
snapshot_branch "$T"
snapshot_branch "$BASE"

# in_m SCRIPT: run SCRIPT with bash in the union on $M, cwd the mount point.
in_m() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- bash -c 'cd "$1" && eval "$2"' bash "$M" "$1"
}

for mode in separate top; do
	if [ "$mode" = separate ]; then
		M=$TRASH/mnt abs=abs_m
	else
		M=$T abs=abs_t
	fi

	test_expect_success "($mode) a relative symlink in top names a file that lives in base" '
		in_m "cat d/rel; readlink d/rel; stat -L -c \"%s %F\" d/rel; stat -c %F d/rel" >actual &&
		printf "%s\n" data ../lib/real.txt "5 regular file" "symbolic link" >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode) symlinks in base reach files in top" '
		in_m "cat blink d/blink2; test -L blink && echo link" >actual &&
		printf "%s\n" "top file" "top file" link >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode) an absolute symlink into the union" '
		in_m "cat $abs; readlink -f $abs" >actual &&
		printf "%s\n" data "$M/lib/real.txt" >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode) an absolute symlink out of the union" '
		in_m "cat out; readlink -f out" >actual &&
		printf "%s\n" outside "$TRASH/outside/o.txt" >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode) a symlink to a whited-out name dangles" '
		in_m "test -L d/gone_link && echo link; test -e d/gone_link || echo dangling; cat d/gone_link; true" >actual 2>err &&
		printf "%s\n" link dangling >expect &&
		test_cmp expect actual &&
		test_grep "No such file or directory" err
	'

	test_expect_success "($mode) a symlink to a dir, then .. (physical: the link target parent)" '
		in_m "ls tosub/..; echo --; cat tosub/../rel; realpath tosub/.. tosub/deep/../g" >actual &&
		cat >expect <<-EOF &&
		blink2
		gone_link
		rel
		sub
		--
		data
		$M/d
		$M/d/sub/g
		EOF
		test_cmp expect actual
	'

	test_expect_success "($mode) cd into a base-only dir and back up: pwd and /bin/pwd" '
		in_m "cd d/sub/deep && cat f && cd ../.. && pwd && /bin/pwd && ls" >actual &&
		cat >expect <<-EOF &&
		deep
		$M/d
		$M/d
		blink2
		gone_link
		rel
		sub
		EOF
		test_cmp expect actual
	'

	test_expect_success "($mode) cd through a symlinked dir: logical and physical pwd" '
		in_m "cd tosub && pwd && /bin/pwd && pwd -P && cat deep/f && cd .. && pwd && cd -P \"$M/tosub/..\" && pwd" >actual &&
		cat >expect <<-EOF &&
		$M/tosub
		$M/d/sub
		$M/d/sub
		deep
		$M
		$M/d
		EOF
		test_cmp expect actual
	'

	test_expect_success "($mode) readlink -f and realpath" '
		in_m "readlink -f d/rel; realpath d/rel tosub tosub/deep/f blink; readlink -f d/sub/../../tfile; realpath -m nothere/../d" >actual &&
		cat >expect <<-EOF &&
		$M/lib/real.txt
		$M/lib/real.txt
		$M/d/sub
		$M/d/sub/deep/f
		$M/tfile
		$M/tfile
		$M/d
		EOF
		test_cmp expect actual
	'

	test_expect_success "($mode) realpath -e of a whited-out, dangling or missing name fails" '
		in_m "realpath -e gone || realpath -e d/gone_link || realpath -e nothere || realpath -e gone/x" >actual 2>err
		test $? != 0 &&
		test_must_be_empty actual &&
		test_line_count = 4 err &&
		in_m "realpath gone d/gone_link nothere" >actual &&
		printf "%s\n" "$M/gone" "$M/gone" "$M/nothere" >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode) .. from inside the union leaves it (relative paths)" '
		ls -A "$TRASH" >expect &&
		in_m "ls -A ..; cd d/sub && ls -A ../../..; cd ../../.. && pwd && /bin/pwd" >actual &&
		{ cat expect && cat expect && echo "$TRASH" && echo "$TRASH"; } >expect2 &&
		test_cmp expect2 actual
	'

	test_expect_success "($mode) realpath of the mount point parent" '
		in_m "realpath \"$M/..\" \"$M/d/../..\"" >actual &&
		printf "%s\n" "$TRASH" "$TRASH" >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode) ELOOP on symlink loops" '
		in_m "cat self; cat loop1; cat loop2; stat -L self; ls self/x" 2>err >out
		test_must_be_empty out &&
		grep -c "Too many levels of symbolic links" err >count &&
		echo 5 >expect &&
		test_cmp expect count
	'

	test_expect_success PYTHON "($mode) ELOOP as an errno (python os.stat, os.open)" '
		in_m "python3 -c \"
import errno, os
for f in (\\\"self\\\", \\\"loop1\\\", \\\"self/x\\\"):
    for op in (os.stat, lambda p: os.open(p, os.O_RDONLY)):
        try:
            op(f)
            print(f, \\\"no error\\\")
        except OSError as e:
            print(f, errno.errorcode[e.errno])
\"" >actual &&
		cat >expect <<-\EOF &&
		self ELOOP
		self ELOOP
		loop1 ELOOP
		loop1 ELOOP
		self/x ELOOP
		self/x ELOOP
		EOF
		test_cmp expect actual
	'
done

# With a mount point that does not exist on disk, an absolute path whose ".."
# climbs out of the mount point must be resolved by the library for every call
# (opendir once handed it to the kernel unchanged, which said ENOENT).
M=$TRASH/mnt
test_expect_success '(separate) ls MOUNTPOINT/.. lists the parent directory' '
	ls -A "$TRASH" >expect &&
	in_m "ls -A \"$M/..\"" >actual &&
	test_cmp expect actual
'

test_expect_success PYTHON '(separate) os.listdir of MOUNTPOINT/d/../.. lists the parent' '
	ls -A "$TRASH" >expect &&
	in_m "python3 -c \"import os; print(chr(10).join(sorted(os.listdir(\\\"$M/d/../..\\\"))))\"" >actual &&
	test_cmp expect actual
'

test_expect_success '(separate) stat, open and cd of MOUNTPOINT/.. reach the parent' '
	in_m "stat -c %F \"$M/..\"; cat \"$M/../outside/o.txt\"; cd \"$M/..\" && pwd && /bin/pwd" >actual &&
	printf "%s\n" directory outside "$TRASH" "$TRASH" >expect &&
	test_cmp expect actual
'

M=$T
test_expect_success '(top) ls MOUNTPOINT/.. lists the parent directory' '
	ls -A "$TRASH" >expect &&
	in_m "ls -A \"$M/..\"" >actual &&
	test_cmp expect actual
'

test_expect_success 'the branches are untouched' '
	branch_untouched "$T" &&
	branch_untouched "$BASE"
'

test_done
