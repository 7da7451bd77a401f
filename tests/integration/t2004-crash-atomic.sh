#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='mkdir and rmdir over a whiteout killed at random moments never show the deleted lower directory; leftovers of dead processes are removed; a branch'"'"'s own entry wins over its whiteout'
. "$(dirname "$0")/lib.sh"

# The host: a base owned by root (0755) whose directory D has content, the tenant's
# branch (owned by aufs-tenant1 where the host users exist) with the whiteout .wh.D:
# D is deleted in the union. The tenant's processes make and remove D again and again
# and are killed with SIGKILL at random moments (tests/helper/kill-mkdir.c).
host_users_ready || true
if test_have_prereq HOST_USERS; then
	TENANT=$AUFS_TENANT1
else
	TENANT=$ME
fi
if [ "$AUFS_BUILD" = "$AUFS_ROOT/build" ]; then
	AUFSCTL=$AUFS_ROOT/bin/aufsctl
else
	AUFSCTL=$AUFS_BUILD/aufsctl
fi
KILLER=$AUFS_BUILD/helper/kill-mkdir

setup_branches base top
BASE=$TRASH/base T=$TRASH/top M=$TRASH/mnt
mkdir -p "$M" "$BASE/D/sub" "$BASE/E" "$BASE/c"
echo deleted >"$BASE/D/f"
echo deleted >"$BASE/D/sub/g"
echo e >"$BASE/E/e"
echo base-x >"$BASE/x"
dd if=/dev/zero of="$BASE/c/big" bs=1M count=8 2>/dev/null
chmod -R a+rX,go-w "$BASE"
chmod 0666 "$BASE/c/big" "$BASE/E/e"	# the tenant changes them: in copies of its own
mk_whiteout "$T" D
U="br:$T=rw:$BASE=ro,nowarn_perm"
if test_have_prereq HOST_USERS; then
	chown -R "$TENANT:" "$T"
fi
snapshot_branch "$BASE"

# as_tenant CMD...: CMD as the tenant (the tester where there are no host users).
as_tenant() {
	if test_have_prereq HOST_USERS; then
		as_user "$TENANT" "$@"
	else
		"$@"
	fi
}

# in_u CMD...: CMD in the union, as the tenant.
in_u() {
	if test_have_prereq HOST_USERS; then
		user_aufs_run "$TENANT" -o "$U" "$M" -- "$@"
	else
		aufs_run -o "$U" "$M" -- "$@"
	fi
}

# The temporaries of the union in the tenant's branch.
temporaries() {
	find "$T" -name '.wh..wh.cpup.*' -o -name '.wh..wh.mkdir.*' -o -name '.wh..wh.rmdir.*' |
		sort
}

# 200 rounds each, killed within 0 to 2 ms of the child's start (the bound halved
# at random down to 16 us): a few seconds.
test_expect_success 'mkdir D over the whiteout, killed 200 times: D is missing or empty, never the base content' '
	in_u "$KILLER" mkdir "$M/D" 200 2000 >out 2>&1;
	r=$?; cat out &&
	test $r = 0 &&
	grep -q "^rounds 200 killed [0-9]* done [0-9]* bad 0$" out &&
	test_path_is_file "$T/.wh.D" &&
	test_path_is_missing "$T/D" &&
	branch_untouched "$BASE"
'

test_expect_success 'rmdir of D made over the whiteout, killed 200 times: D is empty or missing, never the base content' '
	in_u mkdir "$M/D" &&
	test_path_is_file "$T/D/.wh..wh..opq" &&
	in_u "$KILLER" rmdir "$M/D" 200 2000 >out 2>&1;
	r=$?; cat out &&
	test $r = 0 &&
	grep -q "^rounds 200 killed [0-9]* done [0-9]* bad 0$" out &&
	branch_untouched "$BASE"
'

test_expect_success 'mkdir -m 0555 over the whiteout: the marker is made inside all the same, then the mode is the one asked for' '
	in_u sh -c "cd \"\$1\" && { test ! -d D || rmdir D; } && mkdir -m 0555 D && ls -A D && stat -c %a D" sh "$M" >out &&
	echo 555 >expect &&
	test_cmp expect out &&
	test_path_is_file "$T/D/.wh..wh..opq" &&
	test "$(stat -c %a "$T/D")" = 555 &&
	test_path_is_missing "$T/.wh.D" &&
	in_u rmdir "$M/D" &&
	test_path_is_file "$T/.wh.D" &&
	branch_untouched "$BASE"
'

test_expect_success 'after the kills: D is made and removed as usual, the view never depended on the leftovers' '
	in_u sh -c "cd \"\$1\" && { test -d D || mkdir D; } && ls -A D && rmdir D && test ! -e D && mkdir D && ls -A D && rmdir D" sh "$M" >out &&
	test_must_be_empty out &&
	test_path_is_file "$T/.wh.D" &&
	branch_untouched "$BASE"
'

test_expect_success 'aufsctl check --repair removes the temporaries the kills left, and nothing else' '
	temporaries >left &&
	cat left &&
	if test -s left; then
		test_expect_code 3 "$AUFSCTL" check -o "$U" "$M" >out &&
		cat out &&
		grep -q "interrupted mkdir\|interrupted rmdir\|interrupted copy-up" out
	fi &&
	as_tenant "$AUFSCTL" check --repair -o "$U" "$M" >out &&
	cat out &&
	temporaries >left &&
	test_must_be_empty left &&
	"$AUFSCTL" check -o "$U" "$M" >out &&
	grep -q ": clean$" out &&
	test_path_is_file "$T/.wh.D" &&
	branch_untouched "$BASE"
'

# A copy-up of 8 MiB killed at random: its temporary holds part of the data. The loop
# runs in the union (its children inherit the library), as the tenant.
cat >"$TRASH/append-kill.sh" <<'EOF'
i=0
while [ $i -lt 20 ]; do
	sh -c 'echo more >>"$1"' sh "$1" &
	p=$!
	sleep 0.00$((i % 10))
	kill -9 $p 2>/dev/null
	wait $p
	i=$((i + 1))
done
EOF
# Its first temporary is number 0 of its process number ($$, which exec keeps).
cat >"$TRASH/taken.sh" <<'EOF'
touch "$1/.wh..wh.cpup.$$.0" && exec sh -c 'echo more >>"$1"' sh "$2"
EOF

test_expect_success 'appends to a base file killed during the copy-up: the file is whole, the temporaries go with --repair' '
	in_u sh "$TRASH/append-kill.sh" "$M/c/big" &&
	size=$(in_u stat -c %s "$M/c/big") &&
	test $(( (size - 8388608) % 5 )) = 0 &&
	in_u cmp -n 8388608 "$BASE/c/big" "$M/c/big" &&
	temporaries >left &&
	cat left &&
	as_tenant "$AUFSCTL" check --repair -o "$U" "$M" >out;
	cat out &&
	temporaries >left &&
	test_must_be_empty left &&
	branch_untouched "$BASE"
'

test_expect_success 'a temporary name taken by a dead namesake process: the copy-up takes another' '
	as_tenant mkdir "$T/E" &&
	in_u sh "$TRASH/taken.sh" "$T/E" "$M/E/e" &&
	ls -A "$T/E" >out &&
	grep -q "^\.wh\.\.wh\.cpup\.[0-9]*\.0$" out &&
	in_u cat "$M/E/e" >out &&
	printf "e\nmore\n" >expect &&
	test_cmp expect out &&
	test_path_is_file "$T/E/e" &&
	branch_untouched "$BASE"
'

test_expect_success 'a whiteout beside its own branch'"'"'s entry: the entry shows; check --repair removes the whiteout' '
	echo top-x >"$T/x" &&
	mk_whiteout "$T" x &&
	mkdir -p "$T/D" &&
	mk_opaque "$T/D" &&
	chown -R "$(stat -c %u "$T")" "$T/x" "$T/D" &&
	in_u sh -c "cd \"\$1\" && cat x && ls -A D && ls" sh "$M" >out &&
	printf "top-x\nD\nE\nc\nx\n" >expect &&
	test_cmp expect out &&
	test_expect_code 3 "$AUFSCTL" check -o "$U" "$M" >out &&
	grep -q "^$T/.wh.x: whiteout of a name its own branch has" out &&
	grep -q "^$T/.wh.D: whiteout of a name its own branch has" out &&
	as_tenant "$AUFSCTL" check --repair -o "$U" "$M" >out &&
	test_path_is_missing "$T/.wh.x" &&
	test_path_is_missing "$T/.wh.D" &&
	in_u sh -c "cd \"\$1\" && cat x && ls -A D && ls" sh "$M" >out &&
	printf "top-x\nD\nE\nc\nx\n" >expect &&
	test_cmp expect out &&
	branch_untouched "$BASE"
'

test_expect_success 'a directory beside its whiteout without the marker (an older interrupted mkdir): check --repair makes it opaque first' '
	in_u rmdir "$M/D" &&
	test_path_is_file "$T/.wh.D" &&
	as_tenant mkdir "$T/D" &&
	in_u ls -A "$M/D" >out &&
	printf "f\nsub\n" >expect &&
	test_cmp expect out &&
	test_expect_code 3 "$AUFSCTL" check -o "$U" "$M" >out &&
	grep -q "^$T/D: directory beside its own whiteout without the opaque marker" out &&
	as_tenant "$AUFSCTL" check --repair -o "$U" "$M" >out &&
	cat out &&
	test_path_is_file "$T/D/.wh..wh..opq" &&
	test_path_is_missing "$T/.wh.D" &&
	in_u ls -A "$M/D" >out &&
	test_must_be_empty out &&
	branch_untouched "$BASE"
'

test_done
