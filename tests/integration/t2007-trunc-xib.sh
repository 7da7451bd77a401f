#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='trunc_xib, notrunc_xib: aufsctl remount -o del:BR gives back the xino entries of the deleted branch, unless notrunc_xib follows; trunc_xib frees what no branch holds'
. "$(dirname "$0")/lib.sh"

# aufs(5), External Inode Number Bitmap and Translation Table: deleting a branch
# truncates the table unless notrunc_xib is given after del; trunc_xib truncates at
# any time. A host union br:T1=rw:T2=rw:BASE=ro, the base root's (0755), both
# writable branches a tenant's, T1 on the test's file system and T2 on /dev/shm (a
# tmpfs): the entries a copy-up records carry the copy's st_dev, which is how the
# remount tells T2's apart. The copies of d/ go to T2 (only T2 has d/: create and
# copy-up policy tdp), those of keep/ to T1. The tenant's processes make them; root
# remounts; the web server reads the counters. (nowarn_perm: the base is root's.)
host_users_ready || true
CTL=$AUFS_BUILD/aufsctl
if test_have_prereq HOST_USERS; then
	T1U=$AUFS_TENANT1 T2U=$AUFS_TENANT2 WWW=$AUFS_WWW
else
	T1U=$ME T2U=$ME WWW=$ME
fi

SHM=$(mktemp -d /dev/shm/aufs-t2007.XXXXXX) || skip_all "no directory in /dev/shm"
trap 'rm -rf "$SHM"; cleanup' EXIT
chmod 0755 "$SHM"
BASE=$TRASH/base T1=$TRASH/t1 T2=$SHM/t2 M=$TRASH/mnt
mkdir -p "$BASE/d" "$BASE/keep" "$T1/keep" "$T2/d" "$M"
for i in 1 2 3 4 5 6 7; do echo "base $i" >"$BASE/d/f$i"; done
echo keep >"$BASE/keep/k1"
echo own >"$T1/own"
chmod -R a+rX,go-w "$BASE"
chmod 0666 "$BASE"/d/f* "$BASE/keep/k1"	# root's files the tenant may write (copy-ups)
if test_have_prereq HOST_USERS; then
	chown -R "$T1U:" "$T1" "$T2"
fi
snapshot_branch "$BASE"
if [ "$(stat -c %d "$T1")" != "$(stat -c %d "$T2")" ]; then
	test_set_prereq TWO_FS
fi
FSTAB=$TRASH/host.fstab IMAGE=$TRASH/host.image
echo "none $M aufs br:$T1=rw:$T2=rw:$BASE=ro,nowarn_perm 0 0" >"$FSTAB"

# as_tenant SCRIPT: SCRIPT (sh -c) as the tenant, in the union, in M.
as_tenant() {
	run_as "$T1U" --fstab "$FSTAB" --image "$IMAGE" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

# xino_field NAME: the counter NAME of the union's xino table, as the web server reads it.
xino_field() {
	if [ "$WWW" = "$ME" ]; then
		"$CTL" status --json --fstab "$FSTAB" "$M"
	else
		runuser -u "$WWW" -- "$CTL" status --json --fstab "$FSTAB" "$M"
	fi >status.json || return 1
	sed -n "s/.*\"xino\":{[^}]*\"$1\":\([0-9]*\).*/\1/p" status.json
}

remount() {
	"$CTL" remount --fstab "$FSTAB" --image "$IMAGE" "$@"
}

test_expect_success TWO_FS 'copy-ups into T2 and T1 are recorded in the table (status as the web server)' '
	"$CTL" load --image "$IMAGE" "$FSTAB" >/dev/null &&
	as_tenant "stat -c %i keep/k1 own" >kept.before &&
	as_tenant "for i in 1 2 3; do echo x >>d/f\$i; done; echo x >>keep/k1" &&
	test_path_is_file "$T2/d/f1" && test_path_is_file "$T2/d/f3" &&
	test_path_is_missing "$T1/d" &&
	test_path_is_file "$T1/keep/k1" &&
	as_tenant "stat -c %i keep/k1 own" >kept.after &&
	test_cmp kept.before kept.after &&
	test "$(xino_field entries)" = 4 &&
	test "$(xino_field freed)" = 0 &&
	branch_untouched "$BASE"
'

test_expect_success TWO_FS 'del:T2 as root frees the entries of T2, one line says so; T1 keeps its numbers' '
	remount -o "del:$T2" "$M" >out 2>err &&
	test_grep "^$M: 3 inode number entries freed (the deleted branches.)\$" out &&
	test_must_be_empty err &&
	test "$(xino_field entries)" = 1 &&
	test "$(xino_field freed)" = 3 &&
	as_tenant "stat -c %i keep/k1 own" >kept.after &&
	test_cmp kept.before kept.after &&
	as_tenant "cat d/f1" >out &&
	echo "base 1" >expect && test_cmp expect out &&
	branch_untouched "$BASE"
'

test_expect_success TWO_FS 'T2 back: new copy-ups there; del:T2,notrunc_xib keeps their entries' '
	remount -o "ins:1:$T2=rw" "$M" >/dev/null &&
	as_tenant "echo x >>d/f4; echo x >>d/f5" &&
	test_path_is_file "$T2/d/f5" &&
	test "$(xino_field entries)" = 3 &&
	remount -o "del:$T2,notrunc_xib" "$M" >out 2>err &&
	! grep -q freed out &&
	test_must_be_empty err &&
	test "$(xino_field entries)" = 3 &&
	test "$(xino_field freed)" = 3 &&
	grep -q "br:$T1=rw:$BASE=ro," "$FSTAB" &&
	! grep -q trunc_xib "$FSTAB" &&
	as_tenant "stat -c %i keep/k1 own" >kept.after &&
	test_cmp kept.before kept.after
'

test_expect_success TWO_FS 'trunc_xib at any time frees the entries of a device no branch has' '
	remount -o trunc_xib "$M" >out 2>err &&
	test_grep "^$M: 2 inode number entries freed (trunc_xib)\$" out &&
	test "$(xino_field entries)" = 1 &&
	test "$(xino_field freed)" = 5 &&
	! grep -q trunc_xib "$FSTAB" &&
	remount -o trunc_xib "$M" >out &&
	test_grep "^$M: 0 inode number entries freed (trunc_xib)\$" out &&
	as_tenant "stat -c %i keep/k1 own" >kept.after &&
	test_cmp kept.before kept.after
'

test_expect_success TWO_FS 'the freed slots are taken again: copy-ups keep their numbers after the truncations' '
	remount -o "ins:1:$T2=rw" "$M" >/dev/null &&
	as_tenant "stat -c %i d/f6" >f6.before &&
	as_tenant "echo x >>d/f6 && stat -c %i d/f6" >f6.after &&
	test_path_is_file "$T2/d/f6" &&
	test_cmp f6.before f6.after &&
	test "$(xino_field entries)" = 2 &&
	"$CTL" status --fstab "$FSTAB" "$M" >out &&
	test_grep "^  inode numbers: .*, entries 2, kept 7, full 0, freed 5\$" out
'

# aufs-run -o of the same mount point and top branch shares the table.
test_expect_success TWO_FS 'aufs-run -o ...,trunc_xib frees at start what its union has no branch for' '
	run_as "$T1U" -o "br:$T1=rw:$BASE=ro,nowarn_perm,trunc_xib" "$M" -- stat -c %i "$M/own" \
		>own.out 2>err &&
	test_grep "^aufs-run: $M: 1 inode number entry freed (trunc_xib)\$" err &&
	test "$(xino_field entries)" = 1 &&
	test "$(xino_field freed)" = 6 &&
	sed -n 2p kept.before >expect && test_cmp expect own.out &&
	run_as "$T1U" -o "br:$T1=rw:$BASE=ro,nowarn_perm,trunc_xib" "$M" -- true 2>err &&
	test_must_be_empty err
'

test_expect_success 'a del of a branch on the file system of a remaining one: its entries stay, said' '
	mkdir -p "$TRASH/t3/d" "$TRASH/m3" &&
	if test_have_prereq HOST_USERS; then chown -R "$T1U:" "$TRASH/t3"; fi &&
	echo "none $TRASH/m3 aufs br:$T1=rw:$TRASH/t3=rw:$BASE=ro,nowarn_perm 0 0" >f3.fstab &&
	run_as "$T1U" --fstab f3.fstab --image f3.image -- sh -c "echo y >>$TRASH/m3/d/f1" &&
	test_path_is_file "$TRASH/t3/d/f1" &&
	"$CTL" remount --fstab f3.fstab --image f3.image -o "del:$TRASH/t3" "$TRASH/m3" >out &&
	test_grep "^$TRASH/m3: 0 inode number entries freed (the deleted branches.); 1 deleted branch is on the file system of a remaining one: its entries stay\$" out
'

test_expect_success TWO_FS 'a del of a branch already removed from the disk is made; its entries stay, said' '
	mkdir -p "$SHM/t5/d" "$TRASH/m5" &&
	if test_have_prereq HOST_USERS; then chown -R "$T1U:" "$SHM/t5"; fi &&
	echo "none $TRASH/m5 aufs br:$T1=rw:$SHM/t5=rw:$BASE=ro,nowarn_perm 0 0" >f5.fstab &&
	run_as "$T1U" --fstab f5.fstab --image f5.image -- sh -c "echo y >>$TRASH/m5/d/f1" &&
	test_path_is_file "$SHM/t5/d/f1" &&
	rm -rf "$SHM/t5" &&
	"$CTL" remount --fstab f5.fstab --image f5.image -o "del:$SHM/t5" "$TRASH/m5" >out 2>err &&
	test_grep "1 union remounted" out &&
	test_grep "^aufsctl: note: $TRASH/m5: the deleted branches. devices are unknown (.*): their inode number entries stay until a remount -o trunc_xib\$" err &&
	"$CTL" remount --fstab f5.fstab --image f5.image -o trunc_xib "$TRASH/m5" >out &&
	test_grep "^$TRASH/m5: 1 inode number entry freed (trunc_xib)\$" out
'

# Another user who may remount (the fstab is theirs) but not write the table
# (the tenant's): the remount is made, the entries stay, a note says why.
test_expect_success HOST_USERS,TWO_FS 'a remount by a user who may not write the table: a note, the entries stay' '
	mkdir "$TRASH/other" "$TRASH/m4" && chown "$T2U:" "$TRASH/other" &&
	echo "none $TRASH/m4 aufs br:$T1=rw:$T2=rw:$BASE=ro,nowarn_perm 0 0" >"$TRASH/other/fstab" &&
	chown "$T2U:" "$TRASH/other/fstab" &&
	as_user "$T2U" "$CTL" load --image "$TRASH/other/image" "$TRASH/other/fstab" >/dev/null &&
	run_as "$T1U" --fstab "$TRASH/other/fstab" --image "$TRASH/other/image" -- \
		sh -c "echo z >>$TRASH/m4/d/f7" &&
	test_path_is_file "$T2/d/f7" &&
	as_user "$T2U" "$CTL" remount --fstab "$TRASH/other/fstab" --image "$TRASH/other/image" \
		-o "del:$T2" "$TRASH/m4" >out 2>err &&
	test_grep "^aufsctl: note: $TRASH/m4: the table of inode numbers of $TRASH/m4 (.*) is root.s or the branch owner.s (uid $(id -u "$T1U")) to truncate; its entries stay\$" err &&
	! grep -q freed out &&
	grep -q "br:$T1=rw:$BASE=ro," "$TRASH/other/fstab" &&
	"$CTL" status --json --fstab "$TRASH/other/fstab" "$TRASH/m4" >status.json &&
	grep -q "\"xino\":{[^}]*\"entries\":1,[^}]*\"freed\":0," status.json
'

test_done
