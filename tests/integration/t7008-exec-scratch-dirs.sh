#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='a program that scrubs its environment (php-fpm clear_env, env -i) starts children that keep AUFS_TABLE_DIR and AUFS_XINO_DIR'
. "$(dirname "$0")/lib.sh"

# php-fpm's workers clear their environment; the library puts AUFS_FSTAB back for
# the programs they start (sendmail through popen). Found by make e2e: without the
# scratch directories as well, such a child looked for the host table's image in
# /dev/shm: as the table's owner it wrote a second image there, as any other user
# it compiled the whole table privately on every exec and said so on stderr.
host_users_ready
setup_branches top base
M=$TRASH/m
echo "base file" >"$TRASH/base/f"
chmod -R a+rX "$TRASH/base"
FSTAB=$TRASH/tenants.fstab
echo "none $M aufs br:$TRASH/top=rw:$TRASH/base=ro,nowarn_perm 0 0" >"$FSTAB"
chmod a+r "$FSTAB"
# the image's name when AUFS_TABLE_DIR is lost: nothing may appear there
STRAY=$(AUFS_TABLE_DIR= aufsctl image "$FSTAB")
case $STRAY in /dev/shm/*) ;; *) skip_all "aufsctl image gave '$STRAY'" ;; esac
rm -f "$STRAY"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

test_expect_success 'env -i: the child reads the union and keeps the scratch directories' '
	aufs_run --fstab "$FSTAB" -- sh -c "env -i /bin/sh -c \"cat $M/f; env\"" >out 2>err &&
	grep -x "base file" out &&
	grep -x "AUFS_TABLE_DIR=$AUFS_TABLE_DIR" out &&
	grep -x "AUFS_XINO_DIR=$AUFS_XINO_DIR" out &&
	test_must_be_empty err &&
	test_path_is_missing "$STRAY"
'

test_expect_success 'environ cleared, then system(): the shell keeps them too' '
	aufs_run --fstab "$FSTAB" -- $PY -c "
import os
import ctypes; ctypes.CDLL(None).clearenv()
os.system(\"cat $M/f; env\")
" >out 2>err &&
	grep -x "base file" out &&
	grep -x "AUFS_TABLE_DIR=$AUFS_TABLE_DIR" out &&
	grep -x "AUFS_XINO_DIR=$AUFS_XINO_DIR" out &&
	test_must_be_empty err &&
	test_path_is_missing "$STRAY"
'

test_expect_success 'a variable the program set itself is its own' '
	mkdir -m 1777 "$TRASH/other" &&
	aufs_run --fstab "$FSTAB" -- env AUFS_XINO_DIR="$TRASH/other" sh -c "env" >out &&
	grep -x "AUFS_XINO_DIR=$TRASH/other" out
'

test_expect_success HOST_USERS 'a worker of another user (php-fpm pool): no private table, nothing in /dev/shm' '
	aufs_run --fstab "$FSTAB" -- true &&
	user_aufs_run "$AUFS_TENANT1" --fstab "$FSTAB" -- env -i /bin/sh -c "cat $M/f" >out 2>err &&
	grep -x "base file" out &&
	test_must_be_empty err &&
	test_path_is_missing "$STRAY"
'

# In the process itself: php-fpm's worker empties its environment before its first
# request, and the table of inode numbers is named when a copy-up first needs it.
# Read then, it went to /dev/shm while nginx kept the host's directory: the two
# kept different inode numbers for the same copies.
test_expect_success 'a process that emptied its environment, then copies up: its table of inode numbers is in AUFS_XINO_DIR' '
	(ls /dev/shm | grep "^aufs\.xino\." || :) >shm.before &&
	aufs_run --fstab "$FSTAB" -- $PY -c "
import os
import ctypes; ctypes.CDLL(None).clearenv()
with open(\"$M/f\", \"a\") as f:
    f.write(\"more\\n\")
" &&
	ls "$AUFS_XINO_DIR" >after &&
	# the union'"'"'s table is there (made now, or by the reader of the case before:
	# a lookup maps it to see whether the union has pseudo-links)
	test_line_count = 1 after &&
	(ls /dev/shm | grep "^aufs\.xino\." || :) >shm.after &&
	comm -13 shm.before shm.after >shm.new &&
	test_must_be_empty shm.new &&
	printf "base file\nmore\n" >want &&
	test_cmp want "$TRASH/top/f"
'

rm -f "$STRAY"
test_done
