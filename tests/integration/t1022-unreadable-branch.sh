#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='a branch no user but root may read or search is refused with its line, by aufs-run, aufsctl load and reload; the table in force stays'
. "$(dirname "$0")/lib.sh"

# A tenant's branch locked away (chmod 000, a branch moved in with the wrong mode)
# served root's processes and failed every other one file by file; the host's
# reload took it without a word (found by the host kit's tenant-add / reload).
setup_branches t1 t2 base
echo "base file" >"$TRASH/base/f"
echo "tenant 1" >"$TRASH/t1/own"
chmod -R a+rX "$TRASH/base" "$TRASH/t1" "$TRASH/t2"
IMG=$TRASH/table.img
line() { # N BRANCH: tenant N's line
	printf 'none %s/m%s aufs br:%s=rw:%s/base=ro,nowarn_perm 0 0\n' "$TRASH" "$1" "$2" "$TRASH"
}
{ line 1 "$TRASH/t1"; line 2 "$TRASH/t2"; } >fstab
# aufs-run compiles the file itself only when it has no current image: each run
# below gets a new one
run_fstab() {
	_img=$(mktemp -u "$TRASH/run.XXXXXX")
	aufs_run --fstab fstab --image "$_img" -- "$@"
}

test_expect_success 'the table loads while every branch is readable' '
	aufsctl load --image "$IMG" fstab >out &&
	run_fstab cat "$TRASH/m1/own" >got &&
	echo "tenant 1" >want && test_cmp want got
'

test_expect_success 'chmod 000: aufs-run and aufsctl load refuse the line, exit 2' '
	chmod 000 "$TRASH/t2" &&
	test_expect_code 2 run_fstab true 2>err &&
	test_grep "fstab:2: branch $TRASH/t2 is unreadable (mode 0000): no user but root may read and search it" err &&
	test_expect_code 2 aufsctl load --image "$TRASH/other.img" fstab 2>err &&
	test_grep "fstab:2: branch $TRASH/t2 is unreadable (mode 0000)" err &&
	test_path_is_missing "$TRASH/other.img"
'

test_expect_success 'reload refuses it and the image in force stays: tenant 1 is served' '
	cp "$IMG" img.before &&
	test_expect_code 2 aufsctl reload --image "$IMG" fstab 2>err &&
	test_grep "fstab:2: branch $TRASH/t2 is unreadable" err &&
	cmp "$IMG" img.before &&
	AUFS_FSTAB=$PWD/fstab AUFS_TABLE=$IMG LD_PRELOAD=$(aufs_preload) cat "$TRASH/m1/own" >got &&
	test_cmp want got
'

test_expect_success 'a mode with search but no read bit (0311) is refused too; 0700 is not' '
	chmod 0311 "$TRASH/t2" &&
	test_expect_code 2 run_fstab true 2>err &&
	test_grep "is unreadable (mode 0311)" err &&
	chmod 0700 "$TRASH/t2" &&
	run_fstab true &&
	chmod 0755 "$TRASH/t2"
'

test_expect_success 'aufs-run -o says the same, without a line number' '
	chmod 000 "$TRASH/t2" &&
	test_expect_code 2 aufs_run -o "br:$TRASH/t2=rw:$TRASH/base=ro" "$TRASH/m3" -- true 2>err &&
	test_grep "branch $TRASH/t2 is unreadable (mode 0000)" err &&
	chmod 0755 "$TRASH/t2"
'

test_done
