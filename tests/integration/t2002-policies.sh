#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='create= and cpup= policies with two writable branches above the base'
. "$(dirname "$0")/lib.sh"

# Unions br:A=rw:B=rw:base=ro. Every test gets fresh A and B (made by fresh_ab)
# and its own mount point (the create=rr cursor lives in the union's shared
# state), and ends by checking that the base did not change.
#   base: f, deep/g, bonly/, inB/k, inAB/, inA/h
#   A:    inA/, inAB/
#   B:    inB/, inAB/
setup_branches A B base
A=$TRASH/A
BR_B=$TRASH/B
BASE=$TRASH/base
mkdir -p "$BASE/bonly" "$BASE/inB" "$BASE/inAB" "$BASE/inA" "$BASE/deep"
echo "base f" >"$BASE/f"
echo "base g" >"$BASE/deep/g"
echo "base h" >"$BASE/inA/h"
echo "base k" >"$BASE/inB/k"
snapshot_branch "$BASE"

fresh_ab() {
	rm -rf "$A" "$BR_B" &&
	mkdir -p "$A/inA" "$A/inAB" "$BR_B/inB" "$BR_B/inAB"
}

# in_p OPTS MNT SCRIPT: run SCRIPT in br:A=rw:B=rw:base=ro,OPTS mounted on MNT.
in_p() {
	aufs_run -o "br:$A=rw:$BR_B=rw:$BASE=ro${1:+,$1}" "$TRASH/$2" -- sh -c 'cd "$1" && eval "$2"' sh "$TRASH/$2" "$3"
}

# where PATH...: for each PATH, the branches (A, B) holding it.
where() {
	for _p in "$@"; do
		_w=
		[ -e "$A/$_p" ] && _w="${_w}A"
		[ -e "$BR_B/$_p" ] && _w="${_w}B"
		echo "$_p ${_w:-none}"
	done
}

test_expect_success 'create=tdp: a new file goes to the top-most writable branch holding its parent' '
	fresh_ab &&
	in_p "" m-tdp "touch inB/n1 inAB/n2 inA/n3 n4 && cat inB/n1 inAB/n2 inA/n3 n4" &&
	where inB/n1 inAB/n2 inA/n3 n4 >actual &&
	cat >expect <<-\EOF &&
	inB/n1 B
	inAB/n2 A
	inA/n3 A
	n4 A
	EOF
	test_cmp expect actual &&
	test_path_is_missing "$A/inB" &&
	branch_untouched "$BASE"
'

test_expect_success 'create=tdp explicitly, and mkdir follows it too' '
	fresh_ab &&
	in_p create=tdp m-tdp2 "mkdir inB/d1 inAB/d2 && touch inB/d1/x" &&
	where inB/d1 inAB/d2 inB/d1/x >actual &&
	cat >expect <<-\EOF &&
	inB/d1 B
	inAB/d2 A
	inB/d1/x B
	EOF
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

# aufs(5), create=tdp: "If the parent dir does not exist on a writable branch,
# then the internal copyup will happen. The policy for this copyup is always
# bottom-up." (au_wbr_create_tdp: "bottom up here", au_wbr_bu(sb, btop - 1)),
# so the parent is copied up into B, the writable branch nearest the base.
test_expect_success 'create=tdp with the parent only in the base: parent copied up bottom-up (into B)' '
	fresh_ab &&
	in_p "" m-tdp3 "touch bonly/n5" &&
	where bonly bonly/n5 >actual &&
	cat >expect <<-\EOF &&
	bonly B
	bonly/n5 B
	EOF
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'create=rr: new files alternate between A and B (one process)' '
	fresh_ab &&
	in_p create=rr m-rr "for i in 1 2 3 4 5 6; do echo \$i >r\$i; done; cat r1 r2 r3 r4 r5 r6" >actual &&
	seq 6 >expect &&
	test_cmp expect actual &&
	where r1 r2 r3 r4 r5 r6 >w &&
	cat w &&
	! grep -E " (AB|none)\$" w &&
	test "$(grep -c " A\$" w)" = 3 &&
	test "$(grep -c " B\$" w)" = 3 &&
	awk "NR > 1 && \$2 == prev { bad = 1 } { prev = \$2 } END { exit bad }" w &&
	branch_untouched "$BASE"
'

# The turn is in the union's shared state, which lives while a process of the union
# maps it (aufs-preload(7), SHARED STATE): one holds it, as a host's pool does.
test_expect_success 'create=rr: the turn is shared by separate processes of the union' '
	fresh_ab &&
	state_hold rr-hold "$ME" "$TRASH/m-rr2" -o "br:$A=rw:$BR_B=rw:$BASE=ro,create=rr" "$TRASH/m-rr2" &&
	for i in 1 2 3 4; do
		in_p create=rr m-rr2 "echo \$PPID >s$i" || exit 1
	done &&
	state_release rr-hold &&
	where s1 s2 s3 s4 >w &&
	cat w &&
	! grep -E " (AB|none)\$" w &&
	awk "NR > 1 && \$2 == prev { bad = 1 } { prev = \$2 } END { exit bad }" w &&
	branch_untouched "$BASE"
'

# aufs(5), create=rr: "mkdir(2) systemcall is an exception. When you create 10
# new directories, all are created on the same branch."
test_expect_success 'create=rr: mkdir is the exception, all new dirs go to one branch' '
	fresh_ab &&
	in_p create=rr m-rr3 "mkdir m1 m2 m3 m4" &&
	where m1 m2 m3 m4 >w &&
	cat w &&
	! grep -E " (AB|none)\$" w &&
	test "$(cut -d" " -f2 w | sort -u | wc -l)" = 1 &&
	branch_untouched "$BASE"
'

test_expect_success 'cpup=tdp (default): a base file is copied up into A' '
	fresh_ab &&
	in_p "" m-cpup "echo more >>f && cat f" >actual &&
	printf "%s\n" "base f" more >expect &&
	test_cmp expect actual &&
	where f >actual &&
	echo "f A" >expect &&
	test_cmp expect actual &&
	test_cmp "$A/f" - <<-\EOF &&
	base f
	more
	EOF
	branch_untouched "$BASE"
'

test_expect_success 'cpup=bu: a base file is copied up into B, the nearest writable branch above it' '
	fresh_ab &&
	in_p cpup=bu m-bu "echo more >>f && chmod 0600 deep/g && cat f && stat -c %a deep/g" >actual &&
	printf "%s\n" "base f" more 600 >expect &&
	test_cmp expect actual &&
	where f deep deep/g >actual &&
	printf "%s\n" "f B" "deep B" "deep/g B" >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'cpup=bu ignores where the parent is: inA/h goes to B all the same' '
	fresh_ab &&
	in_p cpup=bu m-bu2 "echo more >>inA/h" &&
	where inA/h >actual &&
	echo "inA/h B" >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'cpup=bup: the nearest writable branch that holds the parent (A for inA/h)' '
	fresh_ab &&
	in_p cpup=bup m-bup "echo more >>inA/h && echo more >>deep/g" &&
	where inA/h deep/g >actual &&
	printf "%s\n" "inA/h A" "deep/g B" >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'cpup=tdp: the top-most writable branch holding the parent (A for inA/h, B for inB)' '
	fresh_ab &&
	in_p "" m-tdp4 "echo more >>inA/h && echo more >>inB/k" &&
	where inA/h inB/k >actual &&
	printf "%s\n" "inA/h A" "inB/k B" >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

# aufs(5), Exceptions for Policies: "link(2) and rename(2) ... try selecting the
# branch where the source exists as possible since copyup a large file will
# take long time."
test_expect_success 'link and rename of a file in B stay in B; of a base file they follow cpup (A)' '
	fresh_ab &&
	echo "in B" >"$BR_B/bfile" &&
	echo "in B too" >"$BR_B/bfile2" &&
	in_p "" m-lr "mv bfile bfile-moved && ln bfile2 bfile2-link && mv f f-moved && cat bfile-moved bfile2-link f-moved" >actual &&
	printf "%s\n" "in B" "in B too" "base f" >expect &&
	test_cmp expect actual &&
	where bfile-moved bfile2-link f-moved >actual &&
	printf "%s\n" "bfile-moved B" "bfile2-link B" "f-moved A" >expect &&
	test_cmp expect actual &&
	test "$(stat -c %i "$BR_B/bfile2")" = "$(stat -c %i "$BR_B/bfile2-link")" &&
	test_path_is_missing "$BR_B/.wh.bfile" &&
	test_path_is_missing "$A/.wh.bfile" &&
	test_path_is_file "$A/.wh.f" &&
	branch_untouched "$BASE"
'

test_expect_success 'rm: the top-most copy goes, the whiteout lands in its branch when a copy is below' '
	fresh_ab &&
	echo "A" >"$A/both" &&
	echo "B" >"$BR_B/both" &&
	echo "B" >"$BR_B/f" &&
	echo "B only" >"$BR_B/bonly-file" &&
	in_p "" m-rm "rm both f bonly-file && ls -A" >actual &&
	printf "%s\n" bonly deep inA inAB inB >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$A/both" &&
	test_path_is_file "$A/.wh.both" &&
	test_path_is_file "$BR_B/both" &&
	test_path_is_missing "$BR_B/f" &&
	test_path_is_file "$BR_B/.wh.f" &&
	test_path_is_missing "$A/.wh.f" &&
	test_path_is_missing "$BR_B/bonly-file" &&
	test_path_is_missing "$BR_B/.wh.bonly-file" &&
	test_path_is_missing "$A/.wh.bonly-file" &&
	branch_untouched "$BASE"
'

# aufs(5), Exceptions for Policies: a name whiteouted on a ro+wh branch, or a
# parent opaque there, is created above it whatever the policy picks.
setup_branches MID
MID=$TRASH/MID
mkdir -p "$MID/od"
mk_whiteout "$MID" f
mk_opaque "$MID/od"
snapshot_branch "$MID"

test_expect_success 'create=rr never creates below a ro+wh whiteout or opaque dir' '
	fresh_ab &&
	mkdir -p "$BR_B/od" &&
	aufs_run -o "br:$A=rw:$MID=ro+wh:$BR_B=rw:$BASE=ro,create=rr" "$TRASH/m-exc" -- sh -c "
		cd \"$TRASH/m-exc\" || exit 1
		test ! -e f || exit 1
		for i in 1 2 3 4; do echo \$i >f && cat f && rm f || exit 1; done
		for i in 1 2 3 4; do echo \$i >od/n\$i || exit 1; done
		ls od" >actual &&
	printf "%s\n" 1 2 3 4 n1 n2 n3 n4 >expect &&
	test_cmp expect actual &&
	where od/n1 od/n2 od/n3 od/n4 >actual &&
	printf "%s\n" "od/n1 A" "od/n2 A" "od/n3 A" "od/n4 A" >expect &&
	test_cmp expect actual &&
	test_path_is_missing "$BR_B/f" &&
	branch_untouched "$MID" &&
	branch_untouched "$BASE"
'

test_done
