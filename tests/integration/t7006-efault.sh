#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='hostile pointers: every path door answers as without the library (EFAULT), never a crash'
. "$(dirname "$0")/lib.sh"

# tests/helper/efault-doors calls every door of the library with 0xdeadc0de,
# NULL, a string that runs into an unreadable page and one in a file mapping
# past the file's end (SIGBUS), each call in a child, and prints one line per
# call. The same probe runs natively on a plain tree with the union's view
# (NATIVE) and under the union: the lines must be equal, errno by errno (and
# crash by crash where glibc itself reads the pointer: opendir, realpath, ftw).
# As root the calls run as a tenant (they attack the union); the base is
# root's, as on the host.
H=$AUFS_BUILD/helper
P=$H/efault-doors
[ -x "$P" ] || skip_all "the probe $P is missing (run make)"
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/m
NATIVE=$TRASH/native
mkdir -p "$BASE/d" "$BASE/run" "$T/d"
echo x >"$BASE/f"
echo x >"$BASE/d/x"
cp /bin/true "$BASE/true"
ln -s f "$BASE/l"
echo top >"$T/d/t"

RUNNER=
if host_users_ready; then
	RUNNER=$AUFS_TENANT1
	chown -R "$RUNNER" "$T"
fi
# the plain tree: the union's view, with the same owners
cp -a "$BASE" "$NATIVE"
cp -a "$T/d/t" "$NATIVE/d/t"
snapshot_branch "$BASE"

# in_union ARGS / natively ARGS: the probe under the union, or without the library
in_union() {
	if [ -n "$RUNNER" ]; then
		user_aufs_run "$RUNNER" -o "br:$T=rw:$BASE=ro" "$M" -- "$@"
	else
		aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- "$@"
	fi
}
natively() {
	if [ -n "$RUNNER" ]; then
		as_user "$RUNNER" "$@"
	else
		"$@"
	fi
}

test_expect_success 'every door: the same answers under the union as natively' '
	natively "$P" "$NATIVE" >expect &&
	in_union "$P" "$M" >actual &&
	test_line_count -ge 400 expect &&
	test_grep "^open(0xdeadc0de): -1 EFAULT" expect &&
	test_grep "^rename-new(NULL): -1 EFAULT" expect &&
	test_grep "^stat-buf(torn): -1 EFAULT" expect &&
	test_cmp expect actual
'

test_expect_success 'the doors the issue names: EFAULT for 0xdeadc0de and NULL' '
	for d in open mkdir rmdir unlink rename-old rename-new link-old link-new \
		symlink-target symlink-path chmod chown truncate mknod mkfifo stat; do
		for p in 0xdeadc0de NULL; do
			echo "$d($p): -1 EFAULT"
		done
	done | sort >expect &&
	grep -E "^(open|mkdir|rmdir|unlink|rename-old|rename-new|link-old|link-new|symlink-target|symlink-path|chmod|chown|truncate|mknod|mkfifo|stat)\((0xdeadc0de|NULL)\):" actual | sort >got &&
	test_cmp expect got
'

test_expect_success 'nothing was made or changed by the refused calls' '
	branch_untouched "$BASE" &&
	(cd "$NATIVE" && find . | sort) >expect &&
	in_union sh -c "cd \"$M\" && find . | sort" >actual &&
	test_cmp expect actual
'

# the repeats below try the two pointers of the issue (the run above, all four)
EFAULT_PTRS=0xdeadc0de,NULL
export EFAULT_PTRS

test_expect_success 'the fortified, large-file build of the probe (the *64, __*_2 names): the same' '
	natively "$H/../helper-lfs/efault-doors" "$NATIVE" >expect &&
	in_union "$H/../helper-lfs/efault-doors" "$M" >actual &&
	test_cmp expect actual
'

test_expect_success 'the program keeps its own SIGSEGV and SIGBUS handlers and faults' '
	natively "$P" "$NATIVE" signals >expect &&
	in_union "$P" "$M" signals >actual &&
	test_grep "open -> -1 EFAULT, handler calls 0" actual &&
	# a sanitized program reports its own faults and exits 1, with or without us
	if [ "$SANITIZE" != 1 ]; then
		test_grep "case 3: killed by SEGV" actual
	fi &&
	test_cmp expect actual
'

# The probe costs no system call: a warm stat of a union path makes the one
# newfstatat of the branch file, as natively.
STAT_PROBE=$H/stat-probe
[ -x "$STAT_PROBE" ] && test_set_prereq STAT_PROBE
# (not for a sanitized build: the ASan runtime makes calls and sets handlers of its own)
[ "$SANITIZE" = 1 ] || test_set_prereq NOSAN
test_expect_success STRACE,STAT_PROBE,NOSAN 'a warm stat of a union path: one system call, as natively' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- strace -f -o union.trace \
		"$STAT_PROBE" -w "$M/d/x" -n 3 "$M/d/x" "$M/f" "$M/d/t" >out &&
	sed -n "/write(-1, \"round 1/,/write(-1, \"round 2/p" union.trace |
		sed -E "s/^[0-9]+ +//; s/\(.*//" | grep -v "^write$" >calls &&
	printf "newfstatat\n%.0s" 1 2 3 >expect &&
	test_cmp expect calls &&
	test "$(grep -c "rt_sigaction(SIG\(SEGV\|BUS\)" union.trace)" -le 2
'

# As root: the kernel's overlay of the same layers answers as the plain tree.
overlay_ready
prereq_reason() {
	case $1 in
	OVERLAY) echo "$OVERLAY_WHY" ;;
	NOSAN) echo "the sanitized build counts the ASan runtime's calls too" ;;
	STRACE | STAT_PROBE) echo "$(echo "$1" | tr '[:upper:]' '[:lower:]') is missing" ;;
	*) echo "missing $1" ;;
	esac
}

test_expect_success OVERLAY 'the kernel overlay of the same layers answers as the union' '
	mkdir -p ovl/upper ovl/work ovl/merged &&
	cp -a "$BASE" ovl/lower &&
	cp -a "$T/." ovl/upper/ &&
	chmod 0755 ovl ovl/upper ovl/work ovl/merged &&
	if [ -n "$RUNNER" ]; then
		chown "$RUNNER" ovl/upper ovl/work
	fi &&
	unshare -m --propagation private sh -c "
		mount -t overlay overlay \
			-o lowerdir=\"$TRASH/ovl/lower\",upperdir=\"$TRASH/ovl/upper\",workdir=\"$TRASH/ovl/work\" \
			\"$TRASH/ovl/merged\" &&
		if [ -n \"$RUNNER\" ]; then
			runuser -u \"$RUNNER\" -- \"$P\" \"$TRASH/ovl/merged\"
		else
			\"$P\" \"$TRASH/ovl/merged\"
		fi
	" >overlay.out &&
	in_union "$P" "$M" >actual &&
	test_cmp overlay.out actual
'

test_done
