#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='aufsctl remount of the unions of aufs-run -o: the session fstab, followed by every process of the run (any uid); stale sessions removed; planted names passed over'
. "$(dirname "$0")/lib.sh"

# aufs-run -o writes its unions to a session fstab in AUFS_TABLE_DIR (lib.sh points
# it into this file's directory), aufs-run.UID.PID.fstab, with its image beside it;
# the command runs with AUFS_FSTAB/AUFS_TABLE naming them. `aufsctl remount -o ITEMS
# MNT` without --fstab edits every session in use that has a union at MNT. The host
# of aufs(5) EXAMPLES: a base day0 owned by root (0755), day1 to come, each tenant's
# branch owned by its user, the web server as aufs-www.
host_users_ready || true
reader_script
D=$AUFS_TABLE_DIR
UID_ME=$(id -u)
if test_have_prereq HOST_USERS; then
	T1=$AUFS_TENANT1 T2=$AUFS_TENANT2 WWW=$AUFS_WWW
else
	T1=$ME T2=$ME WWW=$ME
fi
setup_branches day0 day1 t1 t2 top
for m in m1 m2 m3 m4 m5; do mkdir "$TRASH/$m"; done
echo day0 >"$TRASH/day0/VERSION"
echo day1 >"$TRASH/day1/VERSION"
chmod -R a+rX,go-w "$TRASH/day0" "$TRASH/day1"
if test_have_prereq HOST_USERS; then
	chown "$T1:" "$TRASH/t1" && chown "$T2:" "$TRASH/t2"
fi
snapshot_branch "$TRASH/day0"
snapshot_branch "$TRASH/day1"

# The aufs-run program itself, for `exec` from a shell whose PID it must keep (the
# session's name carries the command's PID: a file planted at that name first).
if [ "$SANITIZE" = 1 ]; then
	RUN="env AUFS_LIBRARY=$AUFS_LIB LD_PRELOAD=$AUFS_ASAN_RT $AUFS_BUILD/aufs-run"
elif [ "$AUFS_BUILD" != "$AUFS_ROOT/build" ]; then
	RUN="env AUFS_LIBRARY=$AUFS_LIB $AUFS_BUILD/aufs-run"
else
	RUN=$AUFS_ROOT/bin/aufs-run
fi
export RUN D TRASH

# plant-run.sh PLANT MNT: run the shell command PLANT with P set to this shell's PID,
# then exec aufs-run (keeping that PID) for a union at MNT; its command prints
# MNT/VERSION, $AUFS_FSTAB and its own PID (aufs-run's).
cat >"$TRASH/plant-run.sh" <<'EOF2'
P=$$
export P
sh -c "$1" || exit 1
exec $RUN -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$2" -- \
	sh -c 'cat "$1/VERSION"; echo "$AUFS_FSTAB"; echo $$' sh "$2"
EOF2

# sessions: the session fstabs in the directory, one name a line.
sessions() {
	ls "$D" | grep '^aufs-run\..*\.fstab$' || true
}

# session_of MNT: the session fstab with a union at MNT (exactly one).
session_of() {
	_s=$(grep -l " $1 aufs " "$D"/aufs-run.*.fstab 2>/dev/null)
	[ "$(echo "$_s" | grep -c .)" = 1 ] || { echo "sessions at $1: $_s" >&2; return 1; }
	echo "$_s"
}

# bg_reader NAME CMD...: CMD (which ends in the reader of $TRASH/NAME) in the background,
# for the readers reader_start cannot start (env -i, a daemon, setpriv).
bg_reader() {
	_d=$TRASH/$1
	shift
	rm -rf "$_d" && mkdir "$_d" && chmod 0777 "$_d" || return 1
	"$@" 2>"$_d/err" &
	echo $! >"$_d/pid"
}

# gone PID: wait (up to 10 s) until process PID has exited (not our child: a daemon's).
gone() {
	_i=0
	while kill -0 "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -le 500 ] || return 1
		sleep 0.02
	done
}

test_expect_success 'aufs-run -o: the command gets a session fstab and its image, 0644, the caller'"'"'s' '
	sh "$TRASH/plant-run.sh" true "$TRASH/m1" >out 2>err &&
	test_must_be_empty err &&
	pid=$(sed -n 3p out) && f=$(sed -n 2p out) &&
	printf "%s\n" day0 "$D/aufs-run.$UID_ME.$pid.fstab" >expect &&
	head -n 2 out >got && test_cmp expect got &&
	i=$D/aufs-run.$UID_ME.$pid.image &&
	head -n 1 "$f" | grep "^# aufs-run session: pid $pid start [1-9][0-9]*\$" &&
	echo "none $TRASH/m1 aufs br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm 0 0" >expect &&
	sed 1d "$f" >got && test_cmp expect got &&
	test "$(stat -c "%a %u" "$f" "$i" | sort -u)" = "644 $UID_ME" &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro" "$TRASH/m1" -- \
		sh -c "echo \${AUFS_MOUNTS-unset} \$AUFS_TABLE" >out &&
	read -r m t <out && test "$m" = unset && case $t in "$D"/aufs-run.$UID_ME.*.image) ;; *) false ;; esac
'

test_expect_success 'no session file can be made: one line, and the unions go in AUFS_MOUNTS as before' '
	AUFS_TABLE_DIR=$TRASH/nonexistent aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro" "$TRASH/m1" -- \
		sh -c "cat \"$TRASH/m1/VERSION\"; echo \${AUFS_FSTAB-unset}; printf %s \"\$AUFS_MOUNTS\"" \
		>out 2>err &&
	printf "%s\n" day0 unset "none $TRASH/m1 aufs br:$TRASH/top=rw:$TRASH/day0=ro 0 0" >expect &&
	test_cmp expect out &&
	test_line_count = 1 err &&
	test_grep "^aufs-run: note: no session file ($TRASH/nonexistent: No such file or directory); the unions are in AUFS_MOUNTS and cannot be remounted\$" err
'

test_expect_success 'a reader of the session reads the new base at its next call after a remount, and the old one after del' '
	reader_start "$ME" r1 -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m1" &&
	expect r1 day0 read "$TRASH/m1/VERSION" &&
	aufsctl remount -o "prepend:$TRASH/day1=ro" "$TRASH/m1" >out &&
	test_grep "^session of pid [0-9]* (uid $UID_ME): .*1 union remounted" out &&
	expect r1 day1 read "$TRASH/m1/VERSION" &&
	f=$(session_of "$TRASH/m1") &&
	echo "none $TRASH/m1 aufs br:$TRASH/day1=ro:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm 0 0" >expect &&
	sed 1d "$f" >got && test_cmp expect got &&
	aufsctl remount -o "del:$TRASH/day1" "$TRASH/m1" >out &&
	expect r1 day0 read "$TRASH/m1/VERSION" &&
	reader_stop r1 &&
	test_must_be_empty "$TRASH/r1/err" &&
	branch_untouched "$TRASH/day0" && branch_untouched "$TRASH/day1"
'

# fstat of a descriptor the union opened takes its branch from what the open recorded
# (no readlink of /proc/self/fd/N); a remount that moves that branch to another index
# (prepend) must not leave fstat with the old index: it gives what stat gives.
cat >"$TRASH/fstat-remount.py" <<'EOF2'
import os, sys, time
m, go = sys.argv[1], sys.argv[2]
fd = os.open(m + "/only", os.O_RDONLY)
first = os.fstat(fd).st_ino
print(first == os.stat(m + "/only").st_ino, flush=True)
while not os.path.exists(go):
    time.sleep(0.01)
after = os.stat(m + "/only").st_ino
print(os.fstat(fd).st_ino == after, after != first, flush=True)
EOF2
test_expect_success PYTHON 'fstat of a descriptor opened before a remount that moved its branch: as stat after it' '
	mkdir "$TRASH/fs0" "$TRASH/m6" && echo only >"$TRASH/fs0/only" &&
	rm -f "$TRASH/go" &&
	$RUN -o "br:$TRASH/top=rw:$TRASH/fs0=ro,nowarn_perm" "$TRASH/m6" -- \
		python3 "$TRASH/fstat-remount.py" "$TRASH/m6" "$TRASH/go" >fstat.out 2>err &
	pid=$! &&
	i=0 && while ! test -s fstat.out && test $i -lt 500; do sleep 0.02; i=$((i + 1)); done &&
	aufsctl remount -o "prepend:$TRASH/day1=ro" "$TRASH/m6" >remount.out &&
	touch "$TRASH/go" &&
	wait $pid &&
	printf "True\nTrue True\n" >expect &&
	test_cmp expect fstat.out &&
	test_must_be_empty err
'

test_expect_success STRACE 'fstat of a descriptor the union opened: one system call, as native' '
	$RUN -o "br:$TRASH/top=rw:$TRASH/fs0=ro,nowarn_perm" "$TRASH/m6" -- \
		strace -f -qq -e trace=write,readlinkat,newfstatat,fstat,statx -o "$TRASH/fstat.trace" \
		python3 -c "import os, sys; fd = os.open(\"$TRASH/m6/only\", os.O_RDONLY); os.write(2, b\"MARK\\n\"); os.fstat(fd); os.write(2, b\"END\\n\")" 2>err &&
	test_grep MARK err &&
	sed -n "/MARK/,/END/p" "$TRASH/fstat.trace" | grep -c "(3, \"\", .*AT_EMPTY_PATH\|^[0-9]* fstat(3" >n &&
	echo 1 >expect && test_cmp expect n &&
	! sed -n "/MARK/,/END/p" "$TRASH/fstat.trace" | grep readlinkat
'

test_expect_success 'a child that scrubbed its environment (env -i) follows the remount too' '
	reader_start "$ME" r2 -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m1" &&
	expect r2 day0 read "$TRASH/m1/VERSION" &&
	bg_reader r3 aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m2" -- \
		env -i PATH=/usr/bin:/bin sh "$TRASH/reader.sh" "$TRASH/r3" &&
	expect r3 day0 read "$TRASH/m2/VERSION" &&
	aufsctl remount -o "append:$TRASH/day1=ro,del:$TRASH/day0" "$TRASH/m2" "$TRASH/m1" >out &&
	test_line_count = 2 out &&
	expect r3 day1 read "$TRASH/m2/VERSION" &&
	expect r2 day1 read "$TRASH/m1/VERSION" &&
	reader_stop r3 && reader_stop r2 &&
	test_must_be_empty "$TRASH/r3/err"
'

test_expect_success 'bad remounts of a session: exit 2, one line, nothing changed' '
	reader_start "$ME" r4 -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m3" &&
	expect r4 day0 read "$TRASH/m3/VERSION" &&
	f=$(session_of "$TRASH/m3") && cp "$f" before &&
	test_expect_code 2 aufsctl remount -o "prepend:$TRASH/nonexistent" "$TRASH/m3" 2>err &&
	test_line_count = 1 err && test_grep "nonexistent" err &&
	test_expect_code 2 aufsctl remount -o "del:$TRASH/day7" "$TRASH/m3" 2>err &&
	test_grep "no branch" err &&
	test_expect_code 2 aufsctl remount -o "prepend:$TRASH/day1" "$TRASH/m5" 2>err &&
	test_grep "no union at $TRASH/m5: not in AUFS_FSTAB, nor in a running aufs-run session" err &&
	test_expect_code 2 aufsctl remount -o "prepend:$TRASH/day1" --all 2>err &&
	test_grep "remount --all works on a host table" err &&
	test_expect_code 2 aufsctl remount --image "$TRASH/img" -o "prepend:$TRASH/day1" \
		"$TRASH/m3" 2>err &&
	test_grep "image needs --fstab" err &&
	test_cmp before "$f" &&
	expect r4 day0 read "$TRASH/m3/VERSION" &&
	reader_stop r4
'

test_expect_success 'a command that leaves a daemon behind: its session stays while the daemon maps it, and is followed' '
	rm -rf "$TRASH/d1" && mkdir "$TRASH/d1" &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m4" -- \
		sh -c "sh \"$TRASH/reader.sh\" \"$TRASH/d1\" >/dev/null 2>\"$TRASH/d1/err\" &
			echo \$! >\"$TRASH/d1/pid\"" &&
	expect d1 day0 read "$TRASH/m4/VERSION" &&
	f=$(session_of "$TRASH/m4") &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m5" -- true &&
	test -f "$f" &&
	aufsctl remount -o "prepend:$TRASH/day1=ro" "$TRASH/m4" >out &&
	expect d1 day1 read "$TRASH/m4/VERSION" &&
	expect d1 bye quit && gone "$(cat "$TRASH/d1/pid")" &&
	test_must_be_empty "$TRASH/d1/err" &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m5" -- true &&
	! test -e "$f" && ! test -e "${f%.fstab}.image"
'

test_expect_success 'stale sessions are removed by the next aufs-run: a dead command, a reused PID' '
	sh -c "echo \$\$" >dead && dead=$(cat dead) &&
	! kill -0 "$dead" 2>/dev/null &&
	s1=$D/aufs-run.$UID_ME.$dead.fstab s2=$D/aufs-run.$UID_ME.$$.7.fstab &&
	printf "# aufs-run session: pid %s start 12345\nnone %s aufs br:%s 0 0\n" \
		"$dead" "$TRASH/m5" "$TRASH/day0" >"$s1" &&
	: >"${s1%.fstab}.image" &&
	printf "# aufs-run session: pid %s start 1\nnone %s aufs br:%s 0 0\n" \
		"$$" "$TRASH/m5" "$TRASH/day0" >"$s2" &&
	chmod 0644 "$s1" "$s2" &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m5" -- true &&
	! test -e "$s1" && ! test -e "${s1%.fstab}.image" && ! test -e "$s2"
'

test_expect_success 'after 50 runs one session is left (the last one), with its image' '
	t0=$(date +%s%N) &&
	for i in $(seq 50); do
		aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m5" -- true || return 1
	done &&
	t1=$(date +%s%N) &&
	n=$(ls "$D" | grep -c "^aufs-run\.") &&
	echo "# after 50 runs: $n session files in $D; $(( (t1 - t0) / 50000000 )) ms a run" &&
	test "$n" = 2 &&
	test "$(sessions | wc -l)" = 1
'

test_expect_success 'a name already taken (a link planted by the caller) is passed over, never followed' '
	echo secret >"$TRASH/target" && cp "$TRASH/target" target.before &&
	sh "$TRASH/plant-run.sh" "ln -s $TRASH/target $D/aufs-run.$UID_ME.\$P.fstab &&
		ln -s $TRASH/target $D/aufs-run.$UID_ME.\$P.1.image" "$TRASH/m5" >out 2>err &&
	test_must_be_empty err &&
	pid=$(sed -n 3p out) &&
	printf "%s\n" day0 "$D/aufs-run.$UID_ME.$pid.2.fstab" "$pid" >expect &&
	test_cmp expect out &&
	test_cmp target.before "$TRASH/target" &&
	test -L "$D/aufs-run.$UID_ME.$pid.fstab" && test -L "$D/aufs-run.$UID_ME.$pid.1.image" &&
	! test -e "$D/aufs-run.$UID_ME.$pid.1.fstab" &&
	rm "$D/aufs-run.$UID_ME.$pid.fstab" "$D/aufs-run.$UID_ME.$pid.1.image"
'

test_expect_success HOST_USERS 'a file planted at root'"'"'s session name by another user does not block aufs-run, is not used, not removed' '
	sh "$TRASH/plant-run.sh" "runuser -u $T1 -- sh -c '"'"'printf \"# aufs-run session: pid \$P start 1\\nnone $TRASH/m5 aufs br:$TRASH/t1 0 0\\n\" >$D/aufs-run.0.\$P.fstab'"'"'" \
		"$TRASH/m5" >out 2>err &&
	test_must_be_empty err &&
	pid=$(sed -n 3p out) &&
	printf "%s\n" day0 "$D/aufs-run.0.$pid.1.fstab" "$pid" >expect &&
	test_cmp expect out &&
	p=$D/aufs-run.0.$pid.fstab &&
	test "$(stat -c %U "$p")" = "$T1" &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m5" -- true &&
	test -f "$p" &&
	test_expect_code 2 aufsctl remount -o "prepend:$TRASH/day1=ro" "$TRASH/m5" 2>err &&
	test_grep "no union at $TRASH/m5" err &&
	rm "$p"
'

test_expect_success HOST_USERS 'root'"'"'s session whose reader switched to aufs-www follows a remount' '
	bg_reader w1 aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m3" -- \
		setpriv --reuid="$WWW" --regid="$WWW" --clear-groups \
		sh "$TRASH/reader.sh" "$TRASH/w1" &&
	expect w1 day0 read "$TRASH/m3/VERSION" &&
	test "$(stat -c %U "$(session_of "$TRASH/m3")")" = root &&
	aufsctl remount -o "prepend:$TRASH/day1=ro" "$TRASH/m3" >out &&
	test_grep "(uid 0)" out &&
	expect w1 day1 read "$TRASH/m3/VERSION" &&
	aufsctl remount -o "del:$TRASH/day1" "$TRASH/m3" >out &&
	expect w1 day0 read "$TRASH/m3/VERSION" &&
	reader_stop w1 &&
	test_must_be_empty "$TRASH/w1/err"
'

test_expect_success HOST_USERS 'a tenant'"'"'s session: root remounts it, another tenant may not, the tenant may' '
	reader_start "$T1" t1r -o "br:$TRASH/t1=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m4" &&
	expect t1r day0 read "$TRASH/m4/VERSION" &&
	f=$(session_of "$TRASH/m4") &&
	T1_UID=$(id -u "$T1") &&
	case $f in "$D/aufs-run.$T1_UID."*) ;; *) echo "not $T1'"'"'s: $f"; false ;; esac &&
	aufsctl remount -o "prepend:$TRASH/day1=ro" "$TRASH/m4" >out &&
	test_grep "(uid $T1_UID)" out &&
	expect t1r day1 read "$TRASH/m4/VERSION" &&
	test "$(stat -c "%U %a" "$f" "${f%.fstab}.image" | sort -u)" = "$T1 644" &&
	cp "$f" before &&
	test_expect_code 1 user_aufsctl "$T2" remount -o "del:$TRASH/day1" "$TRASH/m4" 2>err &&
	test_grep "only its owner or root may remount it" err &&
	test_cmp before "$f" &&
	user_aufsctl "$T1" remount -o "del:$TRASH/day1" "$TRASH/m4" >out &&
	expect t1r day0 read "$TRASH/m4/VERSION" &&
	reader_stop t1r &&
	test_must_be_empty "$TRASH/t1r/err"
'

# The image root writes for the tenant's session is the tenant's from the instant it
# has its name: given to the tenant before the rename, not after it (else the
# tenant's own process, compiling it again meanwhile, finds a file of root's it
# cannot replace and writes a fallback, with a line on its stderr).
test_expect_success HOST_USERS,STRACE 'root'"'"'s remount of a tenant'"'"'s session gives the image to the tenant before it has its name' '
	reader_start "$T1" t1s -o "br:$TRASH/t1=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m5" &&
	expect t1s day0 read "$TRASH/m5/VERSION" &&
	f=$(session_of "$TRASH/m5") &&
	T1_UID=$(id -u "$T1") &&
	ctl=$AUFS_ROOT/bin/aufsctl &&
	{ [ "$AUFS_BUILD" = "$AUFS_ROOT/build" ] || ctl=$AUFS_BUILD/aufsctl; } &&
	strace -f -o "$TRASH/remount.st" -e trace=fchown,rename,renameat2 \
		"$ctl" remount -o "prepend:$TRASH/day1=ro" "$TRASH/m5" >out &&
	expect t1s day1 read "$TRASH/m5/VERSION" &&
	image=${f%.fstab}.image &&
	grep -n -e "fchown([0-9]*, $T1_UID, -1)" -e "rename.*\"$image\"" "$TRASH/remount.st" >order &&
	head -1 order | grep "fchown" &&
	test "$(stat -c %U "$image")" = "$T1" &&
	reader_stop t1s &&
	test_must_be_empty "$TRASH/t1s/err"
'

test_expect_success HOST_USERS 'root'"'"'s aufs-run removes a tenant'"'"'s stale session, not a file whose name lies about its owner' '
	sh -c "echo \$\$" >dead && dead=$(cat dead) &&
	T1_UID=$(id -u "$T1") &&
	s1=$D/aufs-run.$T1_UID.$dead.fstab s2=$D/aufs-run.$T1_UID.$dead.1.fstab &&
	as_user "$T1" sh -c "printf \"# aufs-run session: pid $dead start 5\\nnone $TRASH/m5 aufs br:$TRASH/t1 0 0\\n\" >$s1" &&
	printf "# aufs-run session: pid %s start 5\n" "$dead" >"$s2" &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m5" -- true &&
	! test -e "$s1" && test -f "$s2" && rm "$s2"
'

test_expect_success 'nested: an aufs-run -o inside a session makes its own with both unions; a remount reaches both' '
	reader_start "$ME" n1 -o "br:$TRASH/top=rw:$TRASH/day0=ro,nowarn_perm" "$TRASH/m1" &&
	expect n1 day0 read "$TRASH/m1/VERSION" &&
	bg_reader n2 aufs_run -o "br:$TRASH/day0=ro,nowarn_perm" "$TRASH/m2" -- \
		sh -c "exec \$RUN -o \"br:$TRASH/day1=ro,nowarn_perm\" \"$TRASH/m3\" -- \
			sh \"$TRASH/reader.sh\" \"$TRASH/n2\"" &&
	expect n2 day0 read "$TRASH/m2/VERSION" &&
	expect n2 day1 read "$TRASH/m3/VERSION" &&
	aufsctl remount -o "prepend:$TRASH/day1=ro" "$TRASH/m2" >out &&
	test_line_count = 2 out &&
	expect n2 day1 read "$TRASH/m2/VERSION" &&
	expect n1 day0 read "$TRASH/m1/VERSION" &&
	reader_stop n2 && reader_stop n1 &&
	test_must_be_empty "$TRASH/n2/err"
'

test_done
