#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='several hosts over one set of branches, each with its own /dev/shm and IPC namespace: a change through the union on one is seen on the other within negttl/posttl'
. "$(dirname "$0")/lib.sh"

# Two "hosts": two mount and IPC namespaces (unshare -m -i), each with a tmpfs of
# its own on /dev/shm, so that they share no state (System V segments belong to
# the IPC namespace), over one set of branches, as web hosts over NFS. On each, a
# long-running reader (one shell process: its caches stay warm) answers requests;
# host A's makes changes through the union, host B's must see them within the
# bound of aufs-preload(7), CACHING AND UDBA, Several hosts. Root only (namespaces).
if test_have_prereq ROOT && have_cmd unshare &&
	unshare -m -i --propagation private sh -c 'mount -t tmpfs tmpfs /dev/shm' 2>/dev/null; then
	test_set_prereq NAMESPACES
fi
setup_branches base t1
BASE=$TRASH/base T1=$TRASH/t1 M=$TRASH/m
mkdir "$M" "$BASE/w"
for f in a b gone; do echo "base-$f" >"$BASE/w/$f"; done
chmod -R a+rX,go-w "$BASE"
# the same options on every host; T = 1000 ms
U="br:$T1=rw:$BASE=ro,nowarn_perm,negttl=1000,posttl=1000"

reader_script

# host_reader NAME OPTIONS: a reader in $TRASH/NAME on a host of its own.
host_reader() {
	_d=$TRASH/$1
	rm -rf "$_d" && mkdir "$_d" || return 1
	if [ "$SANITIZE" = 1 ]; then
		set -- env AUFS_LIBRARY="$AUFS_LIB" LD_PRELOAD="$AUFS_ASAN_RT" "$AUFS_BUILD/aufs-run" -o "$2"
	else
		set -- env AUFS_LIBRARY="$AUFS_LIB" "$AUFS_BUILD/aufs-run" -o "$2"
	fi
	unshare -m -i --propagation private sh -c 'mount -t tmpfs tmpfs /dev/shm && exec "$@"' sh \
		"$@" "$M" -- sh "$TRASH/reader.sh" "$_d" 2>"$_d/err" &
	echo $! >"$_d/pid"
}


now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# within NAME MS WANT REQUEST...: the reader answers WANT within MS ms of now.
within() {
	_r=$1 _ms=$2 _want=$3
	shift 3
	_t0=$(now_ms)
	while :; do
		_got=$(ask "$_r" "$@") || return 1
		[ "$_got" = "$_want" ] && return 0
		if [ $(($(now_ms) - _t0)) -gt "$_ms" ]; then
			echo "reader $_r: $*: still \"$_got\" after $_ms ms, expected \"$_want\""
			return 1
		fi
		sleep 0.02
	done
}

# still NAME MS WANT REQUEST...: the reader answers WANT each time for MS ms.
still() {
	_r=$1 _ms=$2 _want=$3
	shift 3
	_t0=$(now_ms)
	while [ $(($(now_ms) - _t0)) -lt "$_ms" ]; do
		expect "$_r" "$_want" "$@" || return 1
		sleep 0.05
	done
}

# T (1000 ms) plus a second and a half for the round trips and the clock's tick.
test_expect_success NAMESPACES 'negttl=posttl=1000 on both hosts: new, removed, copied-up names and listings cross within the bound' '
	host_reader host-a "$U" &&
	host_reader host-b "$U" &&
	expect host-a base-a read "$M/w/a" &&
	expect host-b base-a read "$M/w/a" &&
	expect host-b exists stat "$M/w/gone" &&
	expect host-b missing stat "$M/w/new" &&
	expect host-b " a b gone" ls "$M/w" &&
	expect host-a ok write "$M/w/new" n1 &&
	expect host-a ok write "$M/w/a" a2 &&
	expect host-a ok rm "$M/w/gone" &&
	test -f "$T1/w/a" && test -f "$T1/w/.wh.gone" && test -f "$BASE/w/gone" &&
	within host-b 2500 n1 read "$M/w/new" &&
	within host-b 2500 a2 read "$M/w/a" &&
	within host-b 2500 missing stat "$M/w/gone" &&
	expect host-b " a b new" ls "$M/w" &&
	reader_stop host-a &&
	reader_stop host-b &&
	test_must_be_empty host-a/err &&
	test_must_be_empty host-b/err
'

# Why the bound on names found is needed across hosts: without it, a copy-up made
# on host A stays hidden from a process of host B that found the lower copy.
test_expect_success NAMESPACES 'posttl=never (the default): a copy-up on host A stays hidden on host B' '
	host_reader host-a2 "br:$T1=rw:$BASE=ro,nowarn_perm" &&
	host_reader host-b2 "br:$T1=rw:$BASE=ro,nowarn_perm" &&
	expect host-b2 base-b read "$M/w/b" &&
	expect host-a2 ok write "$M/w/b" b2 &&
	expect host-a2 b2 read "$M/w/b" &&
	still host-b2 2500 base-b read "$M/w/b" &&
	reader_stop host-a2 &&
	reader_stop host-b2
'

test_done
