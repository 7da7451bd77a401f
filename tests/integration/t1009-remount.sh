#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='aufsctl remount: a new base under every tenant of a running host, without a restart, for processes of every user'
. "$(dirname "$0")/lib.sh"

# The host of aufs(5) EXAMPLES (day0 -> day1): a base day0 owned by root (0755),
# tenants' branches owned by their users, a host table of three unions. Twenty
# long-running readers (tenants' and the web server's, each one shell process
# under the library, reading VERSION with builtins) run while `aufsctl remount`
# switches every union to day1 and back: none of them may fail a read, each sees
# the new base from its next call, and the table on disk says what was done.
host_users_ready || true
CTL=$AUFS_BUILD/aufsctl

# expect_code CODE CMD...: CMD exits with CODE.
expect_code() {
	_want=$1
	shift
	"$@"
	_st=$?
	[ "$_st" = "$_want" ] || { echo "exit $_st, not $_want: $*"; return 1; }
}
ME=$(id -un)
if test_have_prereq HOST_USERS; then
	T1=$AUFS_TENANT1 T2=$AUFS_TENANT2 WWW=$AUFS_WWW
else
	T1=$ME T2=$ME WWW=$ME
fi
setup_branches day0 day1 t1 t2 t3
mkdir "$TRASH/m1" "$TRASH/m2" "$TRASH/m3" "$TRASH/logs"
echo day0 >"$TRASH/day0/VERSION"
echo day1 >"$TRASH/day1/VERSION"
echo shared >"$TRASH/day0/common"
echo shared >"$TRASH/day1/common"
chmod -R a+rX,go-w "$TRASH/day0" "$TRASH/day1"
chmod 0777 "$TRASH/logs"
if test_have_prereq HOST_USERS; then
	chown "$T1:" "$TRASH/t1" && chown "$T2:" "$TRASH/t2" && chown "$WWW:" "$TRASH/t3"
fi
FSTAB=$TRASH/host.fstab IMAGE=$TRASH/host.image
for i in 1 2 3; do
	echo "none $TRASH/m$i aufs br:$TRASH/t$i=rw:$TRASH/day0=ro,nowarn_perm 0 0"
done >"$FSTAB"

# reader.sh LOG MNT...: reads MNT/VERSION for each MNT in turn until $TRASH/stop exists,
# one line per read: the version, or ERR.
cat >"$TRASH/reader.sh" <<'EOF'
log=$1
shift
while ! [ -e "$STOP" ]; do
	for m in "$@"; do
		if read -r v <"$m/VERSION"; then echo "$m $v"; else echo "$m ERR"; fi
	done
	sleep 0.02
done >"$log"
EOF

start_readers() {
	rm -f "$TRASH/stop" "$TRASH"/logs/*
	n=0
	for who in "$T1 m1" "$T2 m2" "$WWW m1 m2 m3"; do
		set -- $who
		u=$1
		shift
		mnts=
		for m in "$@"; do mnts="$mnts $TRASH/$m"; done
		for k in 1 2 3 4 5 6 7; do
			n=$((n + 1))
			[ $n -le 20 ] || break
			if [ "$u" = "$ME" ]; then
				STOP=$TRASH/stop aufs_run --fstab "$FSTAB" --image "$IMAGE" -- \
					sh "$TRASH/reader.sh" "$TRASH/logs/r$n" $mnts &
			else
				user_aufs_run "$u" --fstab "$FSTAB" --image "$IMAGE" -- \
					env STOP="$TRASH/stop" sh "$TRASH/reader.sh" "$TRASH/logs/r$n" $mnts &
			fi
		done
	done
	# every reader has read at least once
	i=0
	while [ "$(cat "$TRASH"/logs/r* 2>/dev/null | wc -l)" -lt 40 ] || [ "$(ls "$TRASH/logs" | wc -l)" -lt 20 ]; do
		i=$((i + 1))
		[ $i -le 500 ] || return 1
		sleep 0.02
	done
}

stop_readers() {
	touch "$TRASH/stop"
	wait
}

# Each reader's last line for each mount point says VERSION (after its next round).
all_see() {
	_want=$1 _tries=0
	# a slow reader (a sanitizer build, a busy machine) may not have read since: wait
	# for its next round, up to 10 s, then check
	while :; do
		_late=
		for f in "$TRASH"/logs/r*; do
			for m in $(awk '{print $1}' "$f" | sort -u); do
				last=$(grep "^$m " "$f" | tail -n 1 | awk '{print $2}')
				[ "$last" = "$_want" ] || _late="$f $m: $last, not $_want"
			done
		done
		[ -z "$_late" ] && return 0
		_tries=$((_tries + 1))
		[ $_tries -le 100 ] || { echo "$_late"; return 1; }
		sleep 0.1
	done
}

test_expect_success 'aufsctl load makes the image the readers map' '
	"$CTL" load --image "$IMAGE" "$FSTAB" >out &&
	test_grep "3 unions" out &&
	aufs_run --fstab "$FSTAB" --image "$IMAGE" -- cat "$TRASH/m2/VERSION" >v &&
	echo day0 >expect && test_cmp expect v
'

test_expect_success 'twenty readers of three users follow a remount to day1 and back, and none fails a read' '
	start_readers &&
	"$CTL" remount --fstab "$FSTAB" --image "$IMAGE" \
		-o add:1:$TRASH/day1=ro,mod:$TRASH/day0=ro,del:$TRASH/day0 --all >out &&
	test_grep "3 unions remounted" out &&
	all_see day1 &&
	"$CTL" remount --fstab "$FSTAB" --image "$IMAGE" \
		-o ins:1:$TRASH/day0,del:$TRASH/day1 --all &&
	all_see day0 &&
	"$CTL" remount --fstab "$FSTAB" --image "$IMAGE" -o prepend:$TRASH/day1=ro $TRASH/m2 &&
	sleep 0.3 &&
	stop_readers &&
	! grep -h ERR "$TRASH"/logs/r* &&
	for f in "$TRASH"/logs/r*; do
		grep -q "m2 day1\$" "$f" || ! grep -q "m2 " "$f" || return 1
		tail -n 3 "$f" | grep -q "m1 day0\$" || ! grep -q "m1 " "$f" || return 1
	done
'

test_expect_success 'the table on disk says what was done, with its owner and mode' '
	cat >expect <<-EOF &&
	none $TRASH/m1 aufs br:$TRASH/t1=rw:$TRASH/day0=ro,nowarn_perm 0 0
	none $TRASH/m2 aufs br:$TRASH/day1=ro:$TRASH/t2=rw:$TRASH/day0=ro,nowarn_perm 0 0
	none $TRASH/m3 aufs br:$TRASH/t3=rw:$TRASH/day0=ro,nowarn_perm 0 0
	EOF
	test_cmp expect "$FSTAB" &&
	"$CTL" check --image "$IMAGE" "$FSTAB"
'

test_expect_success 'a bad remount changes nothing: a missing branch, a del of no branch, the last writable one' '
	cp "$FSTAB" before &&
	expect_code 2 "$CTL" remount --fstab "$FSTAB" --image "$IMAGE" \
		-o prepend:$TRASH/nonexistent --all 2>err &&
	test_grep "nonexistent" err &&
	expect_code 2 "$CTL" remount --fstab "$FSTAB" --image "$IMAGE" \
		-o del:$TRASH/day7 $TRASH/m1 2>err &&
	test_grep "no branch" err &&
	expect_code 2 "$CTL" remount --fstab "$FSTAB" --image "$IMAGE" \
		-o del:$TRASH/t3 $TRASH/m3 2>err &&
	test_grep "writable" err &&
	expect_code 2 "$CTL" remount --fstab "$FSTAB" --image "$IMAGE" \
		-o append:$TRASH/day1 $TRASH/m9 2>err &&
	test_grep "no union at" err &&
	expect_code 2 "$CTL" remount --fstab "$FSTAB" -o bogus:1 --all 2>err &&
	test_cmp before "$FSTAB" &&
	"$CTL" check --image "$IMAGE" "$FSTAB"
'

test_expect_success 'del of a branch aufsctl itself is in fails with EBUSY; a reader inside it keeps reading' '
	(cd "$TRASH/day0" && expect_code 1 "$CTL" remount --fstab "$FSTAB" --image "$IMAGE" \
		-o del:$TRASH/day0 $TRASH/m3 2>"$TRASH/err") &&
	test_grep "Device or resource busy" err &&
	# another process holding a file of the branch keeps it (the kernel descriptor)
	aufs_run --fstab "$FSTAB" --image "$IMAGE" -- sh -c "
		exec 9<\"$TRASH/m3/common\"; touch \"$TRASH/held\"; sleep 1
		read -r v <&9; echo \"\$v\" >\"$TRASH/held.out\"" &
	while ! [ -e "$TRASH/held" ]; do sleep 0.05; done &&
	"$CTL" remount --fstab "$FSTAB" --image "$IMAGE" -o append:$TRASH/day1,del:$TRASH/day0 \
		$TRASH/m3 >/dev/null 2>err &&
	wait &&
	echo shared >expect && test_cmp expect held.out &&
	aufs_run --fstab "$FSTAB" --image "$IMAGE" -- cat "$TRASH/m3/VERSION" >v &&
	echo day1 >expect && test_cmp expect v
'

test_done
