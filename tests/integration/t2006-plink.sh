#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='pseudo-links: the other names of a copied-up hard-linked file show the copy (plink), noplink, clean_plink, aufsctl flush; idle xino tables found and removed'
. "$(dirname "$0")/lib.sh"

# The manual's example (aufs(5), "The behaviours of plink and noplink"): a union
# br:rw=rw:ro=ro whose base has f_src_linked and f_src_linked2, two names of one
# file. Overlay does not keep hard links across a copy-up (without index=on), so
# the behaviour compared is aufs's own, as its manual shows it.
host_users_ready
have_cmd python3 && test_set_prereq PYTHON

# fresh NAME: a base with the pair (and a pair across two directories), an empty
# writable branch, a mount point; OPTS the union.
fresh() {
	BASE=$TRASH/$1/ro T=$TRASH/$1/rw M=$TRASH/$1/u &&
	rm -rf "$TRASH/$1" &&
	mkdir -p "$BASE/d1" "$BASE/d2" "$T" "$M" &&
	echo a >"$BASE/f_src_linked" &&
	ln "$BASE/f_src_linked" "$BASE/f_src_linked2" &&
	echo pair >"$BASE/d1/x" &&
	ln "$BASE/d1/x" "$BASE/d2/y" &&
	chmod -R a+rX "$BASE" &&
	snapshot_branch "$BASE" &&
	OPTS="br:$T=rw:$BASE=ro${2:+,$2}"
}

# u SCRIPT: SCRIPT in the union, in M.
u() {
	aufs_run -o "$OPTS" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

fresh plink
test_expect_success 'plink: the manual example, cmp copied f_src_linked2 finds them equal' '
	u "stat -c \"%i %h %s\" f_src_linked f_src_linked2" >before &&
	test "$(cut -d" " -f1 before | sort -u | wc -l)" = 1 &&
	u "echo abc >>f_src_linked && cp f_src_linked copied && cmp copied f_src_linked2 &&
	   cat f_src_linked2" >out &&
	printf "a\nabc\n" >expect &&
	test_cmp expect out &&
	# one number for both names, unchanged; the link count of the copy and its
	# pseudo-link (2, as aufs shows it); the new size through the other name
	u "stat -c \"%i %h %s\" f_src_linked f_src_linked2" >after &&
	n=$(cut -d" " -f1 before | head -n 1) &&
	printf "%s 2 6\n%s 2 6\n" "$n" "$n" >expect &&
	test_cmp expect after &&
	# on disk: the copy and a second name of it in .wh..wh.plnk, named by the number
	test "$(stat -c %i "$T/f_src_linked")" = "$(stat -c %i "$T/.wh..wh.plnk/$n")" &&
	test "$(stat -c %a "$T/.wh..wh.plnk")" = 711 &&
	test_path_is_missing "$T/f_src_linked2" &&
	branch_untouched "$BASE"
'

test_expect_success 'plink: another process writes through the other name into the copy' '
	u "echo def >>f_src_linked2" &&
	printf "a\nabc\ndef\n" >expect &&
	test_cmp expect "$T/f_src_linked" &&
	# the shell opens with O_CREAT: a copy-up of the name, made a link of the copy
	# (as aufs copies up a pseudo-linked name); without O_CREAT, no name is made
	test "$(stat -c %i "$T/f_src_linked2")" = "$(stat -c %i "$T/f_src_linked")" &&
	rm "$T/f_src_linked2" &&
	u "cat f_src_linked" >out &&
	test_cmp expect out &&
	u "chmod 600 f_src_linked2 && stat -c %a f_src_linked" >out &&
	echo 600 >expect &&
	test_cmp expect out &&
	branch_untouched "$BASE"
'

# append.py NAME TEXT: an append that opens NAME without O_CREAT (the shell's >> has it)
cat >"$TRASH/append.py" <<\EOF
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.write(fd, (sys.argv[2] + "\n").encode())
EOF

test_expect_success PYTHON 'plink: an open without O_CREAT writes into the copy, no name made' '
	u "python3 \"$TRASH/append.py\" f_src_linked2 ghi" &&
	test_path_is_missing "$T/f_src_linked2" &&
	printf "a\nabc\ndef\nghi\n" >expect &&
	test_cmp expect "$T/f_src_linked"
'

test_expect_success 'plink: the directory of the copies is never listed, nor found by find' '
	u "ls -a" >out &&
	! grep -q wh out &&
	u "find . -name \"*plnk*\"" >out &&
	test_must_be_empty out
'

test_expect_success 'plink: removing the other name whites it out and leaves the copy' '
	u "rm f_src_linked2 && ls" >out &&
	! grep -q "^f_src_linked2\$" out &&
	test_path_is_file "$T/.wh.f_src_linked2" &&
	u "cat f_src_linked" >out &&
	test_cmp "$T/f_src_linked" out &&
	branch_untouched "$BASE"
'

fresh noplink noplink
test_expect_success 'noplink: the manual example, cmp finds f_src_linked2 short' '
	u "echo abc >>f_src_linked && cp f_src_linked copied" &&
	test_must_fail u "cmp copied f_src_linked2" >out 2>&1 &&
	test_grep "EOF on f_src_linked2" out &&
	u "cat f_src_linked2" >out &&
	echo a >expect &&
	test_cmp expect out &&
	test_path_is_missing "$T/.wh..wh.plnk" &&
	test "$(stat -c %h "$T/f_src_linked")" = 1
'

fresh rename
test_expect_success 'a rename of the other name joins the copy: one file, three names on disk' '
	u "echo abc >>f_src_linked && mv f_src_linked2 moved && cat moved" >out &&
	printf "a\nabc\n" >expect &&
	test_cmp expect out &&
	test "$(stat -c %i "$T/f_src_linked")" = "$(stat -c %i "$T/moved")" &&
	test "$(stat -c %h "$T/moved")" = 3
'

test_expect_success 'aufsctl status counts the pseudo-links' '
	aufsctl status -o "$OPTS" "$M" >out &&
	test_grep "^  pseudo-links: 1 live (made 1, flushed 0 names, cleaned 0)\$" out &&
	aufsctl status --json -o "$OPTS" "$M" >out &&
	test_grep "\"plinks\":{\"live\":1,\"made\":1" out &&
	aufsctl status -o "$OPTS,noplink" "$M" >out &&
	test_grep "^  pseudo-links: off (noplink)\$" out
'

fresh flush
test_expect_success 'aufsctl flush: the other names become real hard links, even in a base-only directory' '
	u "echo abc >>f_src_linked && echo more >>d1/x" &&
	test_path_is_missing "$T/d2" &&
	aufsctl flush -o "$OPTS" "$M" >out &&
	test_grep "^linked $M/f_src_linked2\$" out &&
	test_grep "^linked $M/d2/y\$" out &&
	test_grep "^$M: 2 names linked, 2 pseudo-links flushed\$" out &&
	test "$(stat -c %i "$T/f_src_linked")" = "$(stat -c %i "$T/f_src_linked2")" &&
	test "$(stat -c %i "$T/d1/x")" = "$(stat -c %i "$T/d2/y")" &&
	test "$(stat -c %a "$T/d2")" = "$(stat -c %a "$BASE/d2")" &&
	test -z "$(ls -A "$T/.wh..wh.plnk")" &&
	aufsctl status -o "$OPTS" "$M" >out &&
	test_grep "^  pseudo-links: 0 live (made 2, flushed 2 names, cleaned 0)\$" out &&
	branch_untouched "$BASE" &&
	# the reason to flush: the writable branch alone (the base removed, or backed up
	# without it) has every name
	mkdir "$TRASH/flush/alone" &&
	aufs_run -o "br:$T=rw" "$TRASH/flush/alone" -- cat "$TRASH/flush/alone/f_src_linked2" \
		"$TRASH/flush/alone/d2/y" >out &&
	printf "a\nabc\npair\nmore\n" >expect &&
	test_cmp expect out &&
	aufsctl flush -o "$OPTS" "$M" >out &&
	test_grep "^$M: no pseudo-links\$" out
'

fresh flush2
test_expect_success 'aufsctl flush leaves a name that shows something else' '
	u "echo abc >>f_src_linked && rm f_src_linked2 && echo own >f_src_linked2" &&
	aufsctl flush -o "$OPTS" "$M" >out &&
	test_grep "^$M: 0 names linked, 1 pseudo-link flushed\$" out &&
	echo own >expect &&
	test_cmp expect "$T/f_src_linked2" &&
	test "$(stat -c %h "$T/f_src_linked")" = 1
'

fresh clean
test_expect_success 'aufsctl remount -o clean_plink drops them; the line keeps no clean_plink' '
	u "echo abc >>f_src_linked" &&
	echo "none $M aufs $OPTS 0 0" >"$TRASH/clean/fstab" &&
	aufsctl remount --fstab "$TRASH/clean/fstab" -o clean_plink "$M" >out &&
	test_grep "^$M: 1 pseudo-link dropped (clean_plink)\$" out &&
	! grep -q clean_plink "$TRASH/clean/fstab" &&
	u "cat f_src_linked2 f_src_linked" >out &&
	printf "a\na\nabc\n" >expect &&
	test_cmp expect out &&
	test -z "$(ls -A "$T/.wh..wh.plnk")" &&
	aufsctl status -o "$OPTS" "$M" >out &&
	test_grep "^  pseudo-links: 0 live (made 1, flushed 0 names, cleaned 1)\$" out
'

test_expect_success 'clean_plink with other items: both done' '
	u "echo ghi >>f_src_linked2" &&
	aufsctl remount --fstab "$TRASH/clean/fstab" -o clean_plink,nowarn_perm "$M" >out &&
	test_grep "1 pseudo-link dropped" out &&
	test_grep "nowarn_perm" "$TRASH/clean/fstab" &&
	! grep -q clean_plink "$TRASH/clean/fstab"
'

test_expect_success HOST_USERS 'a tenant copies up one name; the web server sees the copy through the other' '
	TB=$TRASH/host/base T1=$TRASH/host/tenant1 M1=$TRASH/host/www &&
	mkdir -p "$TB/site" "$T1" "$M1" &&
	echo v1 >"$TB/site/config.php" &&
	ln "$TB/site/config.php" "$TB/site/config.inc" &&
	chmod -R a+rX "$TB" && chmod 0666 "$TB/site/config.php" &&
	chown "$AUFS_TENANT1:" "$T1" && chmod 0755 "$T1" &&
	snapshot_branch "$TB" &&
	o="br:$T1=rw:$TB=ro,nowarn_perm" &&
	user_aufs_run "$AUFS_WWW" -o "$o" "$M1" -- cat "$M1/site/config.inc" >out &&
	echo v1 >expect && test_cmp expect out &&
	user_aufs_run "$AUFS_TENANT1" -o "$o" "$M1" -- sh -c "echo v2 >>$M1/site/config.php" &&
	user_aufs_run "$AUFS_WWW" -o "$o" "$M1" -- cat "$M1/site/config.inc" >out &&
	printf "v1\nv2\n" >expect && test_cmp expect out &&
	user_aufs_run "$AUFS_WWW" -o "$o" "$M1" -- stat -c %i "$M1/site/config.inc" >www &&
	user_aufs_run "$AUFS_TENANT1" -o "$o" "$M1" -- stat -c %i "$M1/site/config.php" >t1 &&
	test_cmp t1 www &&
	test "$(stat -c %U "$T1/.wh..wh.plnk")" = "$AUFS_TENANT1" &&
	# the web server may not change the tenant pseudo-links: flush and clean are the
	# owner s (and root s)
	test_expect_code 1 user_aufsctl "$AUFS_WWW" flush -o "$o" "$M1" 2>err &&
	test_grep "the branch owner" err &&
	user_aufsctl "$AUFS_TENANT1" flush -o "$o" "$M1" >out &&
	test_grep "1 name linked, 1 pseudo-link flushed" out &&
	test "$(stat -c %U "$T1/site/config.inc")" = "$AUFS_TENANT1" &&
	user_aufs_run "$AUFS_WWW" -o "$o" "$M1" -- cat "$M1/site/config.inc" >out &&
	test_cmp expect out &&
	branch_untouched "$TB"
'

fresh swapped
test_expect_success '.wh..wh.plnk swapped for a symlink: no link made through it, the copy is a plain copy' '
	mkdir "$TRASH/swapped/outside" &&
	ln -s "$TRASH/swapped/outside" "$T/.wh..wh.plnk" &&
	u "echo abc >>f_src_linked && cat f_src_linked2" >out &&
	echo a >expect &&
	test_cmp expect out &&
	test -z "$(ls -A "$TRASH/swapped/outside")" &&
	test "$(stat -c %h "$T/f_src_linked")" = 1 &&
	branch_untouched "$BASE"
'

fresh idle
test_expect_success 'check --xino: a table some process maps is not idle; one none maps is' '
	XD=$TRASH/idle/xino && mkdir "$XD" &&
	(AUFS_XINO_DIR=$XD && export AUFS_XINO_DIR && state_hold hold "$ME" "$M" -o "$OPTS" "$M") &&
	test "$(ls "$XD" | wc -l)" = 1 &&
	aufsctl check --xino "$XD" >out &&
	test_grep "^$XD: no idle table of inode numbers\$" out &&
	state_release hold &&
	if test_have_prereq ROOT; then
		test_expect_code 3 aufsctl check --xino "$XD" >out &&
		test_grep "^idle-xino $XD/aufs.xino.[0-9a-f]* (union $M): no process" out &&
		aufsctl check --xino --repair "$XD" >out &&
		test_grep "^removed $XD/aufs.xino" out &&
		test -z "$(ls "$XD")" &&
		aufsctl check --xino "$XD" >out &&
		test_grep "^$XD: no idle table" out
	else
		# another user cannot see every process: it says so and removes nothing
		aufsctl check --xino --repair "$XD" >out &&
		test_grep "^idle-xino? $XD/aufs.xino.* could not be read (root can tell)\$" out &&
		test "$(ls "$XD" | wc -l)" = 1
	fi
'

test_expect_success 'check --xino: a temporary of a maker that died is removed; other files are left' '
	XD=$TRASH/idle/xino2 && mkdir "$XD" &&
	echo x >"$XD/aufs.xino.0123456789abcdef.tmp.999999999" &&
	echo not-ours >"$XD/aufs.xino.foreign" &&
	test_expect_code 3 aufsctl check --xino "$XD" >out &&
	test_grep "^xino-temporary $XD/aufs.xino.0123456789abcdef.tmp.999999999: left by a process that is gone\$" out &&
	aufsctl check --xino --repair "$XD" >out &&
	test_path_is_missing "$XD/aufs.xino.0123456789abcdef.tmp.999999999" &&
	test_path_is_file "$XD/aufs.xino.foreign"
'

test_expect_success 'check --xino: usage errors' '
	test_expect_code 2 aufsctl check --xino -o "$OPTS" "$M" 2>err &&
	test_grep "check --xino takes" err &&
	test_expect_code 2 aufsctl check --xino "$TRASH/nonexistent" 2>err &&
	test_grep "No such file" err
'

test_done
