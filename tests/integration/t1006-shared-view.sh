#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='one view for every user of a union: a change made through it by any process is seen by every other at its next call; no tenant can alter or plant the state of another'
. "$(dirname "$0")/lib.sh"

# The host: a base owned by root (0755), tenant1's branch owned by aufs-tenant1,
# the web server aufs-www reading, root's cron writing. A long-running reader (one
# shell process, builtins only: its opens, stats and globs go through the library
# of that one process, whose caches stay warm) answers requests while other
# processes change the union. The union's shared state is a System V segment named
# by a link in the top writable branch (aufs-preload(7), SHARED STATE); shm-probe
# looks at the segments from outside. A state goes with the last process that maps
# it: where a test needs one, a process of the tenant holds it (state_hold), as the
# tenant's pools do on a host.
host_users_ready || true
SHM_PROBE=$AUFS_BUILD/helper/shm-probe
if test_have_prereq HOST_USERS; then
	TENANT=$AUFS_TENANT1 OTHER=$AUFS_TENANT2 WWW=$AUFS_WWW
else
	TENANT=$ME OTHER=$ME WWW=$ME
fi

# The files that change are in w/, which the base gives to the tenant (the
# directory and its files): the base's root is root's, and what this file tests is
# the view, not who may write in root's directories or files.
setup_branches base t1 t2
BASE=$TRASH/base T1=$TRASH/t1 T2=$TRASH/t2
M1=$TRASH/m1 M2=$TRASH/m2
W1=$M1/w W2=$M2/w
mkdir "$M1" "$M2" "$BASE/w" "$BASE/w/d"
# (nowarn_perm: tenant-owned branches over a root base are this host's layout, checked)
U1="br:$T1=rw:$BASE=ro,nowarn_perm"
U2="br:$T2=rw:$BASE=ro,nowarn_perm"
for f in a b c d/x; do echo "base-$f" >"$BASE/w/$f"; done
chmod -R a+rX,go-w "$BASE"
if test_have_prereq HOST_USERS; then
	chown -R "$TENANT:" "$T1" "$BASE/w" && chown "$OTHER:" "$T2"
fi

reader_script


# link_of BRANCH: the link to the state of the union whose writable branch it is.
link_of() {
	echo "$1"/.wh..wh.aufs.shm.*
}

state_of() {
	"$SHM_PROBE" id "$(link_of "$1")"
}

# nattch ID: how many processes have segment ID mapped.
nattch() {
	"$SHM_PROBE" info "$1" | sed -n 's/.* nattch=\([0-9]*\) .*/\1/p'
}

# The view itself: READER watches, WRITER changes, each change seen at the next call.
# The tenant's branch has its own w/, the tenant's, as a host makes it.
view_test() {
	_rd=$1 _w=$2 _tag=$3
	rm -rf "$T1/w" && mkdir "$T1/w" && chown "$TENANT:" "$T1/w" &&
	state_hold hold "$TENANT" "$M1" -o "$U1" "$M1" &&
	reader_start "$_rd" "r-$_tag" -o "$U1" "$M1" &&
	# warm: the reader caches a, b, the missing new and the listing
	expect "r-$_tag" base-a read "$W1/a" &&
	expect "r-$_tag" base-a read "$W1/a" &&
	expect "r-$_tag" base-b read "$W1/b" &&
	expect "r-$_tag" missing stat "$W1/new" &&
	expect "r-$_tag" " a b c d" ls "$W1" &&
	# it is attached to the union's one state, whatever its user
	id=$(state_of "$T1") &&
	test "$(nattch "$id")" -ge 1 &&
	run_as "$_w" -o "$U1" "$M1" -- sh -c "echo $_tag-a >\"\$0/a\"" "$W1" &&
	expect "r-$_tag" "$_tag-a" read "$W1/a" &&
	run_as "$_w" -o "$U1" "$M1" -- rm "$W1/b" &&
	expect "r-$_tag" ENOENT read "$W1/b" &&
	expect "r-$_tag" missing stat "$W1/b" &&
	run_as "$_w" -o "$U1" "$M1" -- sh -c "echo $_tag-new >\"\$0/new\"" "$W1" &&
	expect "r-$_tag" exists stat "$W1/new" &&
	expect "r-$_tag" "$_tag-new" read "$W1/new" &&
	expect "r-$_tag" " a c d new" ls "$W1" &&
	run_as "$_w" -o "$U1" "$M1" -- rm "$W1/new" &&
	expect "r-$_tag" missing stat "$W1/new" &&
	expect "r-$_tag" " a c d" ls "$W1" &&
	reader_stop "r-$_tag" &&
	test_must_be_empty "$TRASH/r-$_tag/err" &&
	test "$(state_of "$T1")" = "$id" &&
	state_release hold &&
	test -e "$T1/w/.wh.b" &&
	branch_untouched "$BASE"
}
snapshot_branch "$BASE"

test_expect_success 'one user: a long-running reader sees another process copy up, whiteout, create, remove' '
	view_test "$TENANT" "$TENANT" same
'

test_expect_success HOST_USERS 'the web server sees the tenant copy up, whiteout, create and remove at its next call' '
	view_test "$WWW" "$TENANT" www
'

test_expect_success HOST_USERS 'the web server and the tenant see what root (cron) changes' '
	view_test "$WWW" root cron &&
	view_test "$TENANT" root cron2
'

test_expect_success HOST_USERS 'the state: one segment, owned by the tenant, that the web server maps read-only' '
	state_hold hold "$TENANT" "$M1" -o "$U1" "$M1" &&
	id=$(state_of "$T1") &&
	"$SHM_PROBE" info "$id" >info &&
	cat info &&
	grep "^uid=$(id -u "$TENANT") " info &&
	grep " mode=0644 size=1703936 " info &&
	grep " mnt=$M1\$" info &&
	test "$(ls -d "$T1"/.wh..wh.aufs.shm.* | wc -l)" = 1 &&
	test "$(stat -c %U "$T1")" = "$TENANT" &&
	state_release hold
'

# The web server may write where the tenant let it (an uploads directory of its
# branch), but not the tenant's state: its change empties its own caches only.
test_expect_success HOST_USERS 'the web server writing where the tenant lets it: it sees its change, the state is not written' '
	mkdir -p "$T1/up" && chown "$TENANT:" "$T1/up" && chmod 0777 "$T1/up" &&
	state_hold hold "$TENANT" "$M1" -o "$U1" "$M1" &&
	id=$(state_of "$T1") &&
	reader_start "$WWW" r-up -o "$U1" "$M1" &&
	expect r-up missing stat "$M1/up/f" &&
	expect r-up base-c read "$W1/c" &&
	before=$("$SHM_PROBE" sum "$id") &&
	expect r-up ok write "$M1/up/f" from-www &&
	expect r-up from-www read "$M1/up/f" &&
	expect r-up " f" ls "$M1/up" &&
	test "$("$SHM_PROBE" sum "$id")" = "$before" &&
	test "$(stat -c %U "$T1/up/f")" = "$WWW" &&
	# a process that never looked the name up finds it
	reader_start "$TENANT" r-up2 -o "$U1" "$M1" &&
	expect r-up2 from-www read "$M1/up/f" &&
	reader_stop r-up2 &&
	reader_stop r-up &&
	state_release hold &&
	test_must_be_empty r-up/err
'

test_expect_success HOST_USERS 'another tenant and the web server cannot write, re-own or remove the state' '
	state_hold hold "$TENANT" "$M1" -o "$U1" "$M1" &&
	id=$(state_of "$T1") &&
	for u in "$OTHER" "$WWW"; do
		as "$u" "$SHM_PROBE" write "$id" >out
		test $? = 1 && echo "shmat: EACCES" >expect && test_cmp expect out &&
		as "$u" "$SHM_PROBE" chmod "$id" 0666 >out
		test $? = 1 && echo "shmctl: EPERM" >expect && test_cmp expect out &&
		as "$u" "$SHM_PROBE" rmid "$id" >out
		test $? = 1 && echo "shmctl: EPERM" >expect && test_cmp expect out || return 1
	done &&
	"$SHM_PROBE" info "$id" | grep " mode=0644 " &&
	as "$TENANT" "$SHM_PROBE" write "$id" &&
	state_release hold
'

test_expect_success HOST_USERS 'another tenant cannot plant or replace the link, directly or through the union' '
	state_hold hold "$TENANT" "$M1" -o "$U1" "$M1" &&
	link=$(link_of "$T1") &&
	target=$(readlink "$link") &&
	! as "$OTHER" ln -sfn shmid:1 "$link" 2>err &&
	test_grep "Permission denied" err &&
	! as "$OTHER" rm -f "$link" &&
	! as "$OTHER" ln -s shmid:1 "$T1/.wh..wh.aufs.shm.0000000000000000" &&
	! run_as "$OTHER" -o "$U1" "$M1" -- sh -c "echo x >\"\$0\"" "$M1/${link##*/}" &&
	! run_as "$OTHER" -o "$U1" "$M1" -- rm "$M1/${link##*/}" &&
	! run_as "$TENANT" -o "$U1" "$M1" -- rm "$M1/${link##*/}" &&
	test "$(readlink "$link")" = "$target" &&
	run_as "$TENANT" -o "$U1" "$M1" -- ls -a "$M1" >names &&
	state_release hold &&
	! grep "^\.wh\." names
'

# refused_case WHY OWNER COPY-ARGS...: the link names a copy of the state made by
# OWNER and bent by COPY-ARGS (root stands in for a reused segment number: no
# other user can write the link). The web server refuses it with one line, never
# maps it, and serves the union right, uncached; the tenant replaces it.
refused_case() {
	_why=$1 _owner=$2
	shift 2
	state_hold hold "$TENANT" "$M1" -o "$U1" "$M1" &&
	link=$(link_of "$T1") &&
	good=$(state_of "$T1") &&
	bad=$(as "$_owner" "$SHM_PROBE" copy "$good" "$@") &&
	ln -sfn "shmid:$bad" "$link" &&
	rm -f "$T1/w/a" &&
	reader_start "$WWW" r-bad -o "$U1" "$M1" &&
	expect r-bad base-a read "$W1/a" &&
	expect r-bad base-a read "$W1/a" &&
	expect r-bad missing stat "$W1/bad" &&
	test "$(nattch "$bad")" = 0 &&
	as "$_owner" "$SHM_PROBE" write "$bad" &&
	run_as "$TENANT" -o "$U1" "$M1" -- sh -c "echo t-a >\"\$0/a\"; echo t-bad >\"\$0/bad\"" "$W1" 2>err.tenant &&
	expect r-bad t-a read "$W1/a" &&
	expect r-bad exists stat "$W1/bad" &&
	run_as "$TENANT" -o "$U1" "$M1" -- rm "$W1/bad" &&
	expect r-bad missing stat "$W1/bad" &&
	test "$(nattch "$bad")" = 0 &&
	reader_stop r-bad &&
	cat r-bad/err &&
	test_line_count = 1 r-bad/err &&
	test_grep "^aufs-preload: shared state of $M1 (segment $bad, named by $link): $_why" r-bad/err &&
	test_grep "not trusted: the union runs uncached in this process\$" r-bad/err &&
	# the tenant, who may, made a new one
	cat err.tenant &&
	test_line_count = 1 err.tenant &&
	test_grep "^aufs-run: shared state of $M1 (segment $bad, .*replaced by a new state\$" err.tenant &&
	new=$(state_of "$T1") &&
	test "$new" != "$bad" && test "$new" != "$good" &&
	"$SHM_PROBE" rmid "$bad" &&
	state_release hold &&
	rm -f "$T1/w/a" &&
	branch_untouched "$BASE"
}

test_expect_success HOST_USERS 'a state planted by another tenant is refused with one line, never trusted' '
	refused_case "owned by uid $(id -u "$OTHER"), made by uid $(id -u "$OTHER"): only root or the branch owner (uid $(id -u "$TENANT")) may own it" "$OTHER"
'

test_expect_success HOST_USERS 'a state that group or others may write is refused' '
	refused_case "group or others may write it (mode 0666)" "$TENANT" mode=0666
'

test_expect_success HOST_USERS 'a state with a bad magic number is refused' '
	refused_case "bad magic number" "$TENANT" magic
'

test_expect_success HOST_USERS 'a state of the wrong size is refused' '
	refused_case "65536 bytes, not 1703936" "$TENANT" size=65536
'

test_expect_success HOST_USERS 'a process that refused a state attaches once the tenant replaced it' '
	state_hold hold "$TENANT" "$M1" -o "$U1" "$M1" &&
	link=$(link_of "$T1") &&
	good=$(state_of "$T1") &&
	bad=$(as "$OTHER" "$SHM_PROBE" copy "$good") &&
	ln -sfn "shmid:$bad" "$link" &&
	reader_start "$WWW" r-retry -o "$U1" "$M1" &&
	expect r-retry base-c read "$W1/c" &&
	# a new process of the tenant replaces it, and keeps it while it runs
	state_hold hold2 "$TENANT" "$M1" -o "$U1" "$M1" &&
	new=$(state_of "$T1") &&
	test "$new" != "$bad" && test "$new" != "$good" &&
	test "$(nattch "$new")" = 1 &&
	expect r-retry done stats "$W1/c" 600 &&
	test "$(nattch "$new")" = 2 &&
	reader_stop r-retry &&
	test_line_count = 1 r-retry/err &&
	state_release hold2 && state_release hold &&
	"$SHM_PROBE" rmid "$bad"
'

# A tenant who breaks its own state makes only its own union run uncached.
test_expect_success HOST_USERS 'a bad state of one tenant leaves the other tenant of the same process cached' '
	mkdir -p "$T2/own" && chown "$OTHER:" "$T2/own" &&
	state_hold hold2 "$OTHER" "$M2" -o "$U2" "$M2" &&
	state_hold hold "$TENANT" "$M1" -o "$U1" "$M1" &&
	id2=$(state_of "$T2") &&
	link=$(link_of "$T1") &&
	good=$(state_of "$T1") &&
	bad=$(as "$TENANT" "$SHM_PROBE" copy "$good" magic) &&
	ln -sfn "shmid:$bad" "$link" &&
	reader_start "$WWW" r-two -o "$U1" "$M1" -o "$U2" "$M2" &&
	expect r-two base-c read "$W1/c" &&
	expect r-two base-c read "$W2/c" &&
	expect r-two missing stat "$M2/own/n" &&
	test "$(nattch "$id2")" = 2 &&
	test "$(nattch "$bad")" = 0 &&
	run_as "$OTHER" -o "$U2" "$M2" -- sh -c "echo t2-n >\"\$0/n\"" "$M2/own" &&
	expect r-two t2-n read "$M2/own/n" &&
	expect r-two base-c read "$W1/c" &&
	reader_stop r-two &&
	test_line_count = 1 r-two/err &&
	test_grep "shared state of $M1 " r-two/err &&
	ln -sfn "shmid:$good" "$link" &&
	"$SHM_PROBE" rmid "$bad" &&
	state_release hold && state_release hold2 &&
	branch_untouched "$BASE"
'

test_expect_success HOST_USERS 'a union with no writable branch: each process has its own state, no link anywhere' '
	reader_start "$WWW" r-ro -o "br:$BASE=ro" "$TRASH/m-ro" &&
	expect r-ro base-c read "$TRASH/m-ro/w/c" &&
	expect r-ro failed write "$TRASH/m-ro/w/new" x &&
	reader_stop r-ro &&
	test_must_be_empty r-ro/err &&
	branch_untouched "$BASE"
'

test_done
