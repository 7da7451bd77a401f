#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the merged view: top wins, whiteouts, opaque dirs, non-dir over dir, ro vs ro+wh'
. "$(dirname "$0")/lib.sh"

# Two branches:
#   top (rw)                        base (ro)
#   t_only       "top-only"
#                                   b_only     "base-only"
#   both         "top-both"   0604  both       "base-both-longer" 0644
#   .wh.wh_file                     wh_file
#   .wh.wh_dir                      wh_dir/sub/f
#   d/a "top-a", d/c "top-c"        d/a "base-a", d/b "base-b", d/gone
#   d/.wh.gone
#   opq/visible, opq/.wh..wh..opq   opq/hidden, opq/sub/deep
#   fdir (a file)                   fdir/inner (a directory)
#                                   bdir/x, bdir/nested/y
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
echo top-only >"$T/t_only"
echo base-only >"$BASE/b_only"
echo top-both >"$T/both"
echo base-both-longer >"$BASE/both"
chmod 0604 "$T/both"
chmod 0644 "$BASE/both"
echo gone >"$BASE/wh_file"
mk_whiteout "$T" wh_file
mkdir -p "$BASE/wh_dir/sub" "$T/d" "$BASE/d" "$T/opq" "$BASE/opq/sub" "$BASE/fdir" "$BASE/bdir/nested"
echo f >"$BASE/wh_dir/sub/f"
mk_whiteout "$T" wh_dir
echo top-a >"$T/d/a"
echo top-c >"$T/d/c"
echo base-a >"$BASE/d/a"
echo base-b >"$BASE/d/b"
echo gone >"$BASE/d/gone"
mk_whiteout "$T/d" gone
echo visible >"$T/opq/visible"
mk_opaque "$T/opq"
echo hidden >"$BASE/opq/hidden"
echo deep >"$BASE/opq/sub/deep"
echo file >"$T/fdir"
echo inner >"$BASE/fdir/inner"
echo x >"$BASE/bdir/x"
echo y >"$BASE/bdir/nested/y"
chmod 0750 "$BASE/bdir"
snapshot_branch "$T"
snapshot_branch "$BASE"

# Three branches: top3 (rw), mid (ro+wh or plain ro), low (ro).
#   top3: x3 "top"  (above mid's whiteout of x3)
#   mid:  .wh.hidden3, .wh.x3, o/vis, o/.wh..wh..opq, m_only
#   low:  hidden3, x3 "low", o/hid, .wh.lowwh (a whiteout in the lowest branch)
setup_branches top3 mid low
T3=$TRASH/top3
MID=$TRASH/mid
LOW=$TRASH/low
mkdir -p "$MID/o" "$LOW/o"
echo top >"$T3/x3"
mk_whiteout "$MID" hidden3
mk_whiteout "$MID" x3
echo vis >"$MID/o/vis"
mk_opaque "$MID/o"
echo mid >"$MID/m_only"
echo hidden >"$LOW/hidden3"
echo low >"$LOW/x3"
echo hid >"$LOW/o/hid"
mk_whiteout "$LOW" lowwh
snapshot_branch "$T3"
snapshot_branch "$MID"
snapshot_branch "$LOW"

# in_m SCRIPT: run the shell SCRIPT in the two-branch union mounted on $M,
# with the mount point as its cwd.
in_m() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

# in_m3 MIDPERM SCRIPT: the same in the three-branch union.
in_m3() {
	aufs_run -o "br:$T3=rw:$MID=$1:$LOW=ro" "$M3" -- sh -c 'cd "$1" && eval "$2"' sh "$M3" "$2"
}

for mode in separate top; do
	if [ "$mode" = separate ]; then
		M=$TRASH/mnt M3=$TRASH/mnt3
	else
		M=$T M3=$T3
	fi

	test_expect_success "($mode mount point) find lists the merged tree" '
		in_m "find . | sort" >actual &&
		cat >expect <<-\EOF &&
		.
		./b_only
		./bdir
		./bdir/nested
		./bdir/nested/y
		./bdir/x
		./both
		./d
		./d/a
		./d/b
		./d/c
		./fdir
		./opq
		./opq/visible
		./t_only
		EOF
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) ls -A1, ls -la and stat of the top level" '
		in_m "ls -A1" >actual &&
		printf "%s\n" b_only bdir both d fdir opq t_only >expect &&
		test_cmp expect actual &&
		in_m "ls -la" >ls-la &&
		awk "NR > 1 { print \$1, \$NF }" ls-la >actual &&
		cat >expect <<-\EOF &&
		drwxr-xr-x .
		drwxr-xr-x ..
		-rw-r--r-- b_only
		drwxr-x--- bdir
		-rw----r-- both
		drwxr-xr-x d
		-rw-r--r-- fdir
		drwxr-xr-x opq
		-rw-r--r-- t_only
		EOF
		test_cmp expect actual &&
		in_m "stat -c \"%n %s %F %a\" b_only both fdir t_only d/a d/b d/c opq/visible bdir/x; stat -c \"%n %F %a\" . bdir d opq" >actual &&
		cat >expect <<-\EOF &&
		b_only 10 regular file 644
		both 9 regular file 604
		fdir 5 regular file 644
		t_only 9 regular file 644
		d/a 6 regular file 644
		d/b 7 regular file 644
		d/c 6 regular file 644
		opq/visible 8 regular file 644
		bdir/x 2 regular file 644
		. directory 755
		bdir directory 750
		d directory 755
		opq directory 755
		EOF
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) cat: the top copy wins, base-only files show" '
		in_m "cat both t_only b_only d/a d/b d/c fdir opq/visible bdir/nested/y" >actual &&
		printf "%s\n" top-both top-only base-only top-a base-b top-c file visible y >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) merged, opaque and hidden directories list right" '
		in_m "ls -A d; echo --; ls -A opq; echo --; ls -A bdir; echo --; ls -A opq/sub 2>&1; echo --; ls -A fdir/ 2>&1; echo --; ls -A wh_dir 2>&1; true" >actual &&
		cat >expect <<-\EOF &&
		a
		b
		c
		--
		visible
		--
		nested
		x
		--
		ls: cannot access '"'"'opq/sub'"'"': No such file or directory
		--
		ls: cannot access '"'"'fdir/'"'"': Not a directory
		--
		ls: cannot access '"'"'wh_dir'"'"': No such file or directory
		EOF
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) test -e: what exists and what does not" '
		in_m "for n in t_only b_only both d d/a d/b d/c bdir/nested/y fdir \
				wh_file wh_dir wh_dir/sub wh_dir/sub/f d/gone opq/hidden opq/sub opq/sub/deep \
				fdir/inner .wh.wh_file .wh.wh_dir .wh..wh.aufs d/.wh.gone opq/.wh..wh..opq \
				.wh.t_only; do
			if test -e \"\$n\"; then echo \"\$n yes\"; else echo \"\$n no\"; fi
		done" >actual &&
		cat >expect <<-\EOF &&
		t_only yes
		b_only yes
		both yes
		d yes
		d/a yes
		d/b yes
		d/c yes
		bdir/nested/y yes
		fdir yes
		wh_file no
		wh_dir no
		wh_dir/sub no
		wh_dir/sub/f no
		d/gone no
		opq/hidden no
		opq/sub no
		opq/sub/deep no
		fdir/inner no
		.wh.wh_file no
		.wh.wh_dir no
		.wh..wh.aufs no
		d/.wh.gone no
		opq/.wh..wh..opq no
		.wh.t_only no
		EOF
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) hidden names fail with the right errors" '
		in_m "cat wh_file; cat opq/hidden; cat d/gone; cd wh_dir; cat fdir/inner; stat wh_dir/sub/f; cat .wh.wh_file; ls .wh..wh.aufs; true" 2>err >out &&
		test_must_be_empty out &&
		sed -e "s/^sh: [0-9]*: //; s/^sh: line [0-9]*: //" err >actual &&
		cat >expect <<-\EOF &&
		cat: wh_file: No such file or directory
		cat: opq/hidden: No such file or directory
		cat: d/gone: No such file or directory
		cd: can'"'"'t cd to wh_dir
		cat: fdir/inner: Not a directory
		stat: cannot statx '"'"'wh_dir/sub/f'"'"': No such file or directory
		cat: .wh.wh_file: No such file or directory
		ls: cannot access '"'"'.wh..wh.aufs'"'"': No such file or directory
		EOF
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) .wh.* names are never listed" '
		in_m "find . -name \".wh.*\"; ls -a . d opq | grep \"^\.wh\.\"; true" >actual &&
		test_must_be_empty actual
	'

	test_expect_success "($mode mount point) du -a with apparent sizes" '
		in_m "du -a -b . | sort -k 2" >du &&
		grep -v -E "	\.(/bdir|/bdir/nested|/d|/opq)?\$" du >actual &&
		cat >expect <<-\EOF &&
		10	./b_only
		2	./bdir/nested/y
		2	./bdir/x
		9	./both
		6	./d/a
		7	./d/b
		6	./d/c
		5	./fdir
		8	./opq/visible
		9	./t_only
		EOF
		test_cmp expect actual &&
		in_m "stat -c %s . bdir bdir/nested d opq" >dirsizes &&
		total=$(awk "{ s += \$1 } END { print s }" dirsizes) &&
		total=$((total + 10 + 2 + 2 + 9 + 6 + 7 + 6 + 5 + 8 + 9)) &&
		echo "$total	." >expect &&
		grep -E "	\.\$" du >actual &&
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) grep -r reads every merged file" '
		in_m "grep -r -n . . | sort" >actual &&
		cat >expect <<-\EOF &&
		./b_only:1:base-only
		./bdir/nested/y:1:y
		./bdir/x:1:x
		./both:1:top-both
		./d/a:1:top-a
		./d/b:1:base-b
		./d/c:1:top-c
		./fdir:1:file
		./opq/visible:1:visible
		./t_only:1:top-only
		EOF
		test_cmp expect actual &&
		in_m "grep -r -l base ." | sort >actual &&
		printf "%s\n" ./b_only ./d/b >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) absolute paths work as relative ones" '
		aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- cat "$M/both" "$M/d/b" "$M/bdir/nested/y" >actual &&
		printf "%s\n" top-both base-b y >expect &&
		test_cmp expect actual &&
		aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- find "$M/d" "$M/opq" >actual &&
		printf "%s\n" "$M/d" "$M/d/a" "$M/d/b" "$M/d/c" "$M/opq" "$M/opq/visible" | sort >expect &&
		sort actual >actual.sorted &&
		test_cmp expect actual.sorted
	'

	test_expect_success "($mode mount point) ro+wh middle branch: its whiteouts and opaque dirs count" '
		in_m3 ro+wh "find . | sort; cat x3" >actual &&
		cat >expect <<-\EOF &&
		.
		./m_only
		./o
		./o/vis
		./x3
		top
		EOF
		test_cmp expect actual &&
		in_m3 ro+wh "test -e hidden3 || echo no hidden3; test -e o/hid || echo no o/hid; test -e .wh.x3 || echo no .wh.x3; test -e .wh.lowwh || echo no .wh.lowwh" >actual &&
		printf "%s\n" "no hidden3" "no o/hid" "no .wh.x3" "no .wh.lowwh" >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) plain ro middle branch: its whiteouts are ignored" '
		in_m3 ro "find . | sort; cat x3 hidden3" >actual &&
		cat >expect <<-\EOF &&
		.
		./hidden3
		./m_only
		./o
		./o/hid
		./o/vis
		./x3
		top
		hidden
		EOF
		test_cmp expect actual &&
		in_m3 ro "test -e .wh.x3 || echo no .wh.x3; test -e o/.wh..wh..opq || echo no opq mark; test -e .wh.lowwh || echo no .wh.lowwh; ls -a | grep -c \"^\.wh\.\"; true" >actual &&
		printf "%s\n" "no .wh.x3" "no opq mark" "no .wh.lowwh" 0 >expect &&
		test_cmp expect actual
	'

	test_expect_success "($mode mount point) rr middle branch behaves as ro, rr+wh as ro+wh" '
		in_m3 rr "find . | sort" >rr &&
		in_m3 ro "find . | sort" >ro &&
		test_cmp ro rr &&
		in_m3 rr+wh "find . | sort" >rrwh &&
		in_m3 ro+wh "find . | sort" >rowh &&
		test_cmp rowh rrwh
	'
done

test_expect_success 'the branches are untouched by all of this' '
	branch_untouched "$T" &&
	branch_untouched "$BASE" &&
	branch_untouched "$T3" &&
	branch_untouched "$MID" &&
	branch_untouched "$LOW"
'

test_expect_success 'creating a .wh.* file through the union is refused, nothing on disk' '
	test_must_fail in_m ": >.wh.new" 2>err &&
	test_grep "Operation not permitted" err &&
	test_path_is_missing "$T/.wh.new" &&
	branch_untouched "$BASE"
'

test_expect_success 'mkdir, symlink, mkfifo of a .wh.* name through the union are refused' '
	test_must_fail in_m "mkdir .wh.newdir" &&
	test_must_fail in_m "ln -s x .wh.sym" &&
	test_must_fail in_m "mkfifo .wh.fifo" &&
	test_must_fail in_m "mkdir d/.wh..wh..opq" &&
	test_path_is_missing "$T/.wh.newdir" &&
	test_path_is_missing "$T/.wh.sym" &&
	test_path_is_missing "$T/.wh.fifo" &&
	test_path_is_missing "$T/d/.wh..wh..opq"
'

# The walk moves to the mount point in one step when the path has no "." or ".."
# before it: every other spelling of a path into the union must land on the same
# merged names (doubled slashes before and after the mount point, a relative path
# from its parent, "." or ".." on the way, the mount point with a trailing slash).
test_expect_success 'paths into the union spelt every way: merged names, from outside and inside' '
	M=$TRASH/mnt &&
	P=$(dirname "$M") N=$(basename "$M") &&
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c "
		cat \"\$1/d/b\" \"/\$1//d//b\" \"\$1/./d/b\" \"\$1/../\$3/d/b\" &&
		cd \"\$2\" && cat \"\$3/d/b\" \"./\$3/d/b\" \"\$3//b_only\" &&
		ls -d \"\$3/\" \"\$1/\" >/dev/null && ls \"\$3/d/\" &&
		test ! -e \"\$3/d/gone\" && test ! -e \"/\$1//d/gone\"
	" sh "$M" "$P" "$N" >actual &&
	cat >expect <<-\EOF &&
	base-b
	base-b
	base-b
	base-b
	base-b
	base-b
	base-only
	a
	b
	c
	EOF
	test_cmp expect actual
'

test_done
