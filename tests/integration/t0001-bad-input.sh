#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='aufs-run refuses bad usage and configuration (exit 2, one line, command not run); exit statuses'
. "$(dirname "$0")/lib.sh"

setup_branches top base a a/b c d many
mkdir -p top/sub
echo data >base/file
: >afile
printf 'echo hi\n' >not-executable
chmod 0644 not-executable

# refuse ARGS... -- the union arguments, followed by the expected part of the
# message. aufs-run must exit 2 before the command runs (the command would
# create the marker), with exactly one line on stderr that contains the part.
refuse() {
	_expect=$1
	shift
	rm -f "$TRASH/marker"
	aufs_run "$@" -- sh -c ': >"$TRASH/marker"' >out 2>err
	_st=$?
	_ok=true
	if [ "$_st" != 2 ]; then
		echo "exit status $_st, expected 2"
		_ok=false
	fi
	if [ -e "$TRASH/marker" ]; then
		echo "the command ran"
		_ok=false
	fi
	if [ "$(wc -l <err)" != 1 ]; then
		echo "stderr has $(wc -l <err) lines, expected 1"
		_ok=false
	fi
	if ! grep -q -F -e "$_expect" err; then
		echo "stderr does not contain: $_expect"
		_ok=false
	fi
	if [ -s out ]; then
		echo "unexpected stdout"
		_ok=false
	fi
	if ! $_ok; then
		echo "--- stderr:"
		cat err
		return 1
	fi
}

test_expect_success 'a good configuration runs the command' '
	rm -f marker &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$TRASH/mnt" -- sh -c ": >\"$TRASH/marker\"" 2>err &&
	test_path_is_file marker &&
	test_must_be_empty err
'

test_expect_success 'unknown option' '
	refuse "unknown option \"bogus\"" -o "br:$TRASH/a,bogus" "$TRASH/mnt"
'

test_expect_success 'unknown permission' '
	refuse "unknown permission \"rx\"" -o "br:$TRASH/a=rx" "$TRASH/mnt"
'

test_expect_success 'unknown attribute' '
	refuse "unknown attribute \"foo\"" -o "br:$TRASH/a=rw+foo" "$TRASH/mnt"
'

test_expect_success 'missing branch directory' '
	refuse "branch $TRASH/nonexistent: No such file or directory" \
		-o "br:$TRASH/top=rw:$TRASH/nonexistent=ro" "$TRASH/mnt"
'

test_expect_success 'a branch that is a file' '
	refuse "branch $TRASH/afile: Not a directory" -o "br:$TRASH/top:$TRASH/afile" "$TRASH/mnt"
'

test_expect_success 'overlapping branches (one inside the other)' '
	refuse "branches $TRASH/a and $TRASH/a/b overlap" -o "br:$TRASH/a:$TRASH/a/b" "$TRASH/mnt" &&
	refuse "overlap" -o "br:$TRASH/a/b:$TRASH/a" "$TRASH/mnt"
'

test_expect_success 'the same branch twice' '
	refuse "$TRASH/c is given twice" -o "br:$TRASH/c=rw:$TRASH/c=ro" "$TRASH/mnt"
'

test_expect_success '127 branches are accepted, 128 refused' '
	br=br && i=0 &&
	while [ $i -lt 128 ]; do
		i=$((i + 1)) && mkdir -p "many/$i" && br="$br:$TRASH/many/$i" || return 1
	done &&
	refuse "too many branches (128, at most 127)" -o "$br" "$TRASH/mnt" &&
	rm -f marker &&
	aufs_run -o "${br%:*}" "$TRASH/mnt" -- sh -c ": >\"$TRASH/marker\"" &&
	test_path_is_file marker
'

test_expect_success 'nested union: a branch inside the mount point of another union' '
	refuse "branch $TRASH/top/sub is inside the mount point $TRASH/top of another union" \
		-o "br:$TRASH/top=rw:$TRASH/base=ro" "$TRASH/top" \
		-o "br:$TRASH/top/sub" "$TRASH/mnt2" &&
	refuse "of another union" \
		-o "br:$TRASH/top/sub" "$TRASH/mnt2" \
		-o "br:$TRASH/top=rw:$TRASH/base=ro" "$TRASH/top"
'

test_expect_success 'nested union: a branch that is the mount point of another union' '
	mkdir -p realmnt &&
	refuse "branch $TRASH/realmnt is the mount point of another union" \
		-o "br:$TRASH/c" "$TRASH/realmnt" -o "br:$TRASH/realmnt" "$TRASH/mnt2"
'

test_expect_success 'the same mount point twice' '
	refuse "mount point $TRASH/mnt is used twice" \
		-o "br:$TRASH/c" "$TRASH/mnt" -o "br:$TRASH/d" "$TRASH/mnt"
'

# aufs(5): "A branch should not be shared as the writable branch between multiple
# aufs. A readonly branch can be shared." Refused with exactly this line.
test_expect_success 'two unions sharing one writable branch are refused (exit 2, one line)' '
	rm -f marker &&
	aufs_run -o "br:$TRASH/c=rw:$TRASH/base=ro" "$TRASH/mnt" \
		-o "br:$TRASH/c=rw:$TRASH/base=ro" "$TRASH/mnt2" -- sh -c ": >\"$TRASH/marker\"" \
		>out 2>err
	test $? = 2 &&
	test_path_is_missing marker &&
	test_must_be_empty out &&
	echo "aufs-run: writable branch $TRASH/c of $TRASH/mnt2 is also a writable branch of $TRASH/mnt (a writable branch must not be shared between unions)" >expect &&
	test_cmp expect err
'

test_expect_success 'the same writable directory under another name, or one inside another, is shared too' '
	ln -s c clink &&
	refuse "writable branch $TRASH/c of $TRASH/mnt2 is also a writable branch of $TRASH/mnt" \
		-o "br:$TRASH/c" "$TRASH/mnt" -o "br:$TRASH/clink" "$TRASH/mnt2" &&
	refuse "writable branch $TRASH/a/b of $TRASH/mnt2 and writable branch $TRASH/a of $TRASH/mnt overlap (a writable branch must not be shared between unions)" \
		-o "br:$TRASH/a" "$TRASH/mnt" -o "br:$TRASH/a/b" "$TRASH/mnt2" &&
	printf "%s\n" "none $TRASH/m1 aufs br:$TRASH/d=rw 0 0" "none $TRASH/m2 aufs br:$TRASH/top=rw:$TRASH/d=rw 0 0" >shared.fstab &&
	refuse "shared.fstab:2: writable branch $TRASH/d of $TRASH/m2 is also a writable branch of $TRASH/m1" \
		--fstab shared.fstab
'

test_expect_success 'an inner aufs-run may not write an inherited union'"'"'s writable branch' '
	rm -f marker &&
	aufs_run -o "br:$TRASH/c=rw:$TRASH/base=ro" "$TRASH/mnt" -- \
		"$AUFS_BUILD/aufs-run" -o "br:$TRASH/c" "$TRASH/mnt2" -- sh -c ": >\"$TRASH/marker\"" \
		2>err
	test $? = 2 &&
	test_path_is_missing marker &&
	test_line_count = 1 err &&
	test_grep "^aufs-run: writable branch $TRASH/c of $TRASH/mnt2 is also a writable branch of $TRASH/mnt " err
'

test_expect_success 'a writable branch of one union may be a read-only branch of another' '
	aufs_run -o "br:$TRASH/c=rw:$TRASH/base=ro" "$TRASH/mnt" \
		-o "br:$TRASH/d=rw:$TRASH/c=ro" "$TRASH/mnt2" -- cat "$TRASH/mnt/file" >out 2>err &&
	echo data >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'missing mount point after -o' '
	refuse "-o needs OPTIONS and a MOUNTPOINT" -o "br:$TRASH/c"
'

test_expect_success 'mount point not absolute' '
	refuse "mount point \"mnt\" is not an absolute path" -o "br:$TRASH/c" mnt
'

test_expect_success 'no command' '
	for args in "-o br:$TRASH/c $TRASH/mnt" "-o br:$TRASH/c $TRASH/mnt --" "--" ""; do
		# shellcheck disable=SC2086
		aufs_run $args >out 2>err
		st=$? &&
		echo "aufs-run $args: $st" &&
		test "$st" = 2 &&
		test_line_count = 1 err &&
		test_grep "no command given" err &&
		test_must_be_empty out || return 1
	done
'

test_expect_success 'unknown aufs-run flag' '
	refuse "unknown option \"--bogus\"" --bogus
'

test_expect_success 'remount-only options at mount time' '
	refuse "option \"del:$TRASH/c\" is only valid with remount" -o "del:$TRASH/c" "$TRASH/mnt" &&
	refuse "only valid with remount" -o "br:$TRASH/c,prepend:$TRASH/d" "$TRASH/mnt" &&
	refuse "only valid with remount" -o "br:$TRASH/c,remount" "$TRASH/mnt"
'

test_expect_success 'bad option values' '
	refuse "udba=sometimes" -o "br:$TRASH/c,udba=sometimes" "$TRASH/mnt" &&
	refuse "create" -o "br:$TRASH/c,create=bogus" "$TRASH/mnt" &&
	refuse "\"negttl=1s\": the value is milliseconds or \"never\"" \
		-o "br:$TRASH/c,negttl=1s" "$TRASH/mnt" &&
	refuse "\"posttl=-5\": the value is milliseconds or \"never\"" \
		-o "br:$TRASH/c,posttl=-5" "$TRASH/mnt" &&
	refuse "no branches" -o "udba=reval" "$TRASH/mnt"
'

test_expect_success '--fstab: a bad line names the file and line' '
	printf "%s\n" "# comment" "none $TRASH/m1 aufs br:$TRASH/c 0 0" \
		"none $TRASH/m2 aufs br:$TRASH/d=bogus 0 0" >bad.fstab &&
	refuse "bad.fstab:3: unknown permission \"bogus\"" --fstab bad.fstab &&
	printf "none %s ext4 defaults 0 0\n" "$TRASH/m1" >ext4.fstab &&
	refuse "is not aufs" --fstab ext4.fstab &&
	refuse "fstab $TRASH/nonexistent.fstab: No such file or directory" --fstab "$TRASH/nonexistent.fstab" &&
	aufs_run --fstab >out 2>err
	test $? = 2 &&
	test_line_count = 1 err &&
	test_grep "fstab needs a FILE" err
'

test_expect_success '--fstab: a good file runs the command with the union' '
	printf "none %s aufs br:%s=rw:%s=ro 0 0\n" "$TRASH/mnt" "$TRASH/top" "$TRASH/base" >good.fstab &&
	aufs_run --fstab good.fstab -- cat "$TRASH/mnt/file" >out &&
	echo data >expect &&
	test_cmp expect out
'

test_expect_success 'an inherited bad AUFS_MOUNTS is refused' '
	AUFS_MOUNTS="none $TRASH/mnt aufs br:$TRASH/c=bogus 0 0" &&
	export AUFS_MOUNTS &&
	refuse "unknown permission \"bogus\"" -o "br:$TRASH/d" "$TRASH/mnt2"
'

# The shared state of a union is a System V segment named by a link in its top
# writable branch (aufs-preload(7), SHARED STATE). A bad one is never trusted; the
# branch owner (here the tester) replaces it, and says so in one line. What another
# user's process does with one is in t1006-shared-view.sh.
SHM_PROBE=$AUFS_BUILD/helper/shm-probe

# bad_state TEST-NAME MUTATION...: run a union on a fresh branch (a process holds
# its state: a state goes with the last process that maps it), bend its state as
# asked (shm-probe copy), run again: one line naming the link and WHY, a new state.
bad_state() {
	_b=$TRASH/shm-$1 &&
	shift &&
	mkdir "$_b" &&
	echo data >"$_b/f" &&
	state_hold shm-hold "$ME" "$TRASH/shm-mnt" -o "br:$_b" "$TRASH/shm-mnt" &&
	_link=$(echo "$_b"/.wh..wh.aufs.shm.*) &&
	_id=$("$SHM_PROBE" id "$_link") &&
	_bad=$("$SHM_PROBE" copy "$_id" "$@") &&
	state_release shm-hold &&
	! "$SHM_PROBE" info "$_id" >/dev/null &&
	ln -sfn "shmid:$_bad" "$_link" &&
	aufs_run -o "br:$_b" "$TRASH/shm-mnt" -- cat "$TRASH/shm-mnt/f" >out 2>err &&
	echo data >expect &&
	test_cmp expect out &&
	cat err &&
	test_line_count = 1 err &&
	test_grep "^aufs-run: shared state of $TRASH/shm-mnt (segment $_bad, named by $_link): " err &&
	test_grep "not trusted: replaced by a new state" err &&
	_new=$("$SHM_PROBE" id "$_link") &&
	test "$_new" != "$_bad" &&
	"$SHM_PROBE" rmid "$_bad"
}

test_expect_success 'a corrupt shared state is never trusted: its owner replaces it, in one line' '
	bad_state magic magic &&
	test_grep "bad magic number" err
'

test_expect_success 'a shared state that group or others may write is replaced' '
	bad_state mode mode=0664 &&
	test_grep "group or others may write it (mode 0664)" err
'

test_expect_success 'a shared state of another size is replaced' '
	bad_state size size=65536 &&
	test_grep "65536 bytes, not 1703936" err
'

test_expect_success 'a link to no segment (after a reboot) is replaced silently' '
	mkdir "$TRASH/shm-stale" &&
	aufs_run -o "br:$TRASH/shm-stale" "$TRASH/shm-mnt" -- true &&
	link=$(echo "$TRASH/shm-stale"/.wh..wh.aufs.shm.*) &&
	# the state went with the last process that mapped it, as after a reboot
	! "$SHM_PROBE" info "$("$SHM_PROBE" id "$link")" >/dev/null &&
	ln -sfn shmid:2147483000 "$link" &&
	aufs_run -o "br:$TRASH/shm-stale" "$TRASH/shm-mnt" -- true 2>err &&
	test_must_be_empty err &&
	id=$("$SHM_PROBE" id "$link") &&
	test "$id" != 2147483000
'

test_expect_success '--help and --version exit 0 and print to stdout' '
	aufs_run --help >out 2>err &&
	test_grep "^usage: aufs-run" out &&
	test_must_be_empty err &&
	aufs_run --version >out 2>err &&
	test_grep "^aufs-run (aufs-preload) $(cat "$AUFS_ROOT/VERSION")\$" out &&
	test_must_be_empty err
'

test_expect_success 'a missing command exits 127' '
	aufs_run -- "$TRASH/no-such-command" 2>err
	test $? = 127 &&
	test_line_count = 1 err &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$TRASH/mnt" -- no-such-command-anywhere 2>err
	test $? = 127 &&
	test_line_count = 1 err
'

test_expect_success 'a non-executable file exits 126' '
	aufs_run -- "$TRASH/not-executable" 2>err
	test $? = 126 &&
	test_line_count = 1 err &&
	aufs_run -- "$TRASH" 2>err
	test $? = 126
'

test_expect_success 'the command exit status passes through' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$TRASH/mnt" -- sh -c "exit 7"
	test $? = 7 &&
	aufs_run -- sh -c "exit 0" &&
	aufs_run -- sh -c "exit 255"
	test $? = 255 &&
	aufs_run -- false
	test $? = 1
'

test_expect_success 'a command killed by a signal is reported as such' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$TRASH/mnt" -- sh -c "kill -TERM \$\$"
	test $? = 143
'

test_expect_success 'a command given without -- runs too' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$TRASH/mnt" cat "$TRASH/mnt/file" >out &&
	echo data >expect &&
	test_cmp expect out
'

test_done
