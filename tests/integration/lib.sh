# SPDX-License-Identifier: MIT
# lib.sh - the integration test library, modelled on git's test-lib.sh.
#
# Sourced by every tests/integration/tNNNN-*.sh after it sets test_description:
#
#   test_description='what this file tests'
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success [PREREQ,...] 'title' 'commands'
#   test_expect_failure [PREREQ,...] 'title' 'commands'   # a known library bug
#   test_skip 'title' 'reason'
#   test_done
#
# Every file runs in its own fresh directory ("trash", the cwd of every test body),
# created with mktemp -d under ${TMPDIR:-/tmp} and removed at the end unless
# AUFS_TEST_KEEP=1. Test bodies are eval'd in a subshell with stdin from /dev/null,
# so variables they set, `cd` and `exit` stay inside; state shared between tests
# lives on disk or in variables set at the top level of the test file.
# Output of the bodies is shown only on failure, or always with -v or
# AUFS_TEST_VERBOSE=1. -i (or AUFS_TEST_IMMEDIATE=1) stops at the first failure.
#
# Environment (from the Makefile): B, the build directory (build, build-san);
# SANITIZE=1 when the library was built with ASan/UBSan (the default for build-san).
# shellcheck shell=sh

set -u

# ---------------------------------------------------------------- setup
: "${test_description:?set test_description before sourcing lib.sh}"

for arg in "$@"; do
	case $arg in
	-v | --verbose) AUFS_TEST_VERBOSE=1 ;;
	-i | --immediate) AUFS_TEST_IMMEDIATE=1 ;;
	-k | --keep) AUFS_TEST_KEEP=1 ;;
	-h | --help)
		printf '%s\n' "$test_description" "options: -v (verbose) -i (immediate) -k (keep trash)"
		exit 0 ;;
	*) echo "Bail out! unknown option $arg" ; exit 1 ;;
	esac
done
AUFS_TEST_VERBOSE=${AUFS_TEST_VERBOSE:-0}
AUFS_TEST_IMMEDIATE=${AUFS_TEST_IMMEDIATE:-0}
AUFS_TEST_KEEP=${AUFS_TEST_KEEP:-0}

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(cd "$(dirname "$0")" && pwd -P)
AUFS_ROOT=$(cd "$TEST_DIR/../.." && pwd -P)
B=${B:-build}
case $B in
/*) AUFS_BUILD=$B ;;
*) AUFS_BUILD=$AUFS_ROOT/$B ;;
esac
case $B in
*-san) SANITIZE=${SANITIZE:-1} ;;
*) SANITIZE=${SANITIZE:-0} ;;
esac
[ -n "$SANITIZE" ] || SANITIZE=0
AUFS_LIB=$AUFS_BUILD/libaufs-preload.so
export AUFS_ROOT B SANITIZE AUFS_BUILD AUFS_LIB

if ! [ -r "$AUFS_LIB" ] || ! [ -x "$AUFS_BUILD/aufs-run" ]; then
	echo "Bail out! $AUFS_LIB or $AUFS_BUILD/aufs-run missing (run make first)"
	exit 1
fi

# A stable environment: C locale (sorting, messages), no union inherited from the
# caller, no preload of the caller's.
LC_ALL=C LANG=C TZ=UTC
export LC_ALL LANG TZ
umask 022
unset AUFS_MOUNTS AUFS_FSTAB AUFS_CWD AUFS_LIBRARY LD_PRELOAD CDPATH GREP_OPTIONS \
	LS_COLORS 2>/dev/null || true

# LD_PRELOAD prefix for a sanitized library: the ASan runtime must come first.
AUFS_ASAN_RT=
if [ "$SANITIZE" = 1 ]; then
	AUFS_ASAN_RT=$(${CC:-gcc} -print-file-name=libasan.so 2>/dev/null)
	case $AUFS_ASAN_RT in
	/*) ;;
	*) echo "Bail out! SANITIZE=1 but the ASan runtime was not found ($AUFS_ASAN_RT)"; exit 1 ;;
	esac
	ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
	UBSAN_OPTIONS=print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}
	export ASAN_OPTIONS UBSAN_OPTIONS
fi

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/aufs-$TEST_NAME.XXXXXX") || {
	echo "Bail out! mktemp -d failed"
	exit 1
}
TEST_TMP=$(cd "$TEST_TMP" && pwd -P)
TRASH=$TEST_TMP/trash
TEST_LOG=$TEST_TMP/log
mkdir "$TRASH" || exit 1
AUFS_UID=$(id -u)
export TRASH
# The default images of host tables (aufsctl(8)) go here, not to /dev/shm: they go
# with the test's directory. Sticky and open to all, as /dev/shm, since processes of
# the host users make them too.
AUFS_TABLE_DIR=$TEST_TMP/images
mkdir "$AUFS_TABLE_DIR" && chmod 1777 "$AUFS_TABLE_DIR" || exit 1
export AUFS_TABLE_DIR
# The unions' tables of inode numbers (xino, default /dev/shm) likewise.
AUFS_XINO_DIR=$TEST_TMP/xino
mkdir "$AUFS_XINO_DIR" && chmod 1777 "$AUFS_XINO_DIR" || exit 1
export AUFS_XINO_DIR

# The shared state of this file's unions: System V segments named by links
# BRANCH/.wh..wh.aufs.shm.HASH. A state goes with the last process that maps it; the
# segments a test made itself (shm-probe copy) and those of processes a test left
# running do not: each file removes its own, those named by the links in its
# temporary directory (and the links: a later process makes a fresh state) and those
# of its mount points whose branch a test removed.
remove_shm_files() {
	find "$TEST_TMP" -name '.wh..wh.aufs.shm.*' -type l -print0 2>/dev/null |
		xargs -0 -r "$AUFS_BUILD/helper/shm-probe" remove
	"$AUFS_BUILD/helper/shm-probe" sweep "$TEST_TMP"
}

cleanup() {
	cd / || true
	if [ "$AUFS_TEST_KEEP" = 1 ]; then
		echo "# kept $TEST_TMP"
	else
		chmod -R u+rwx "$TEST_TMP" 2>/dev/null
		remove_shm_files
		rm -rf "$TEST_TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$TRASH" || exit 1

test_count=0
test_success=0
test_failure=0
test_fixed=0
test_broken=0
test_skipped=0
test_failed_list=

say() {
	printf '%s\n' "$*"
}

# Print every line of stdin as a TAP comment.
comment() {
	sed -e 's/^/# /'
}

# ---------------------------------------------------------------- prerequisites
test_prereqs=" "

test_set_prereq() {
	test_prereqs="$test_prereqs$1 "
}

# test_have_prereq A,B,!C: all of A and B are set and C is not.
test_have_prereq() {
	_old_ifs=$IFS
	IFS=,
	# shellcheck disable=SC2086
	set -- $1
	IFS=$_old_ifs
	test_missing_prereq=
	for _p in "$@"; do
		case $_p in
		!*)
			case $test_prereqs in
			*" ${_p#!} "*) test_missing_prereq="${test_missing_prereq:+$test_missing_prereq,}$_p" ;;
			esac ;;
		*)
			case $test_prereqs in
			*" $_p "*) ;;
			*) test_missing_prereq="${test_missing_prereq:+$test_missing_prereq,}$_p" ;;
			esac ;;
		esac
	done
	[ -z "$test_missing_prereq" ]
}

have_cmd() {
	command -v "$1" >/dev/null 2>&1
}

[ "$AUFS_UID" = 0 ] && test_set_prereq ROOT
[ "$AUFS_UID" != 0 ] && test_set_prereq UNPRIV
have_cmd python3 && test_set_prereq PYTHON
have_cmd php && test_set_prereq PHP
# PHP loads opcache.so with RTLD_DEEPBIND, which the ASan runtime refuses: a
# sanitized run starts php without its ini files (so without extensions).
PHP=php
[ "$SANITIZE" = 1 ] && PHP="php -n"
have_cmd sqlite3 && test_set_prereq SQLITE
have_cmd strace && test_set_prereq STRACE
have_cmd bash && test_set_prereq BASH
have_cmd tar && test_set_prereq TAR
have_cmd "${CC:-cc}" && test_set_prereq CC

# Why a prerequisite is missing, for the skip line.
prereq_reason() {
	case $1 in
	ROOT) echo "needs root (running as uid $AUFS_UID)" ;;
	!ROOT) echo "must not run as root" ;;
	UNPRIV) echo "needs an unprivileged user (running as root)" ;;
	CC) echo "no C compiler (${CC:-cc})" ;;
	LIBC_PROBE) echo "libc-probe.c did not compile" ;;
	HOST_USERS) echo "needs root and the users $AUFS_HOST_USERS (made by run.sh)" ;;
	OVERLAY) echo "$OVERLAY_WHY" ;;
	NOVALGRIND) echo "valgrind itself cannot run it (VALGRIND=1)" ;;
	PYTHON | PHP | SQLITE | STRACE | BASH | TAR)
		echo "$(echo "$1" | tr '[:upper:]' '[:lower:]') is not installed" ;;
	*) echo "missing $1" ;;
	esac
}

# ---------------------------------------------------------------- running tests
test_run_() {
	# $1: the commands. Runs them in a subshell in the trash directory; returns
	# their status. Output goes to the log (and to stdout too when verbose).
	if [ "$AUFS_TEST_VERBOSE" = 1 ]; then
		rm -f "$TEST_TMP/status"
		{
			(cd "$TRASH" && eval "$1") </dev/null 2>&1
			echo $? >"$TEST_TMP/status"
		} | tee "$TEST_LOG"
		return "$(cat "$TEST_TMP/status")"
	fi
	(cd "$TRASH" && eval "$1") </dev/null >"$TEST_LOG" 2>&1
}

test_show_failure_() {
	# $1: the commands
	printf '%s\n' "$1" | sed -e 's/^/#	/'
	if [ "$AUFS_TEST_VERBOSE" != 1 ] && [ -s "$TEST_LOG" ]; then
		echo "# output:"
		tail -n 60 "$TEST_LOG" | comment
	fi
}

# Parse "[PREREQ] TITLE COMMANDS"; sets test_prereq_, test_title_, test_body_.
test_args_() {
	if [ $# = 3 ]; then
		test_prereq_=$1
		test_title_=$2
		test_body_=$3
	elif [ $# = 2 ]; then
		test_prereq_=
		test_title_=$1
		test_body_=$2
	else
		echo "Bail out! bug in the test script: $# arguments to test_expect_*"
		exit 1
	fi
}

test_skip_by_prereq_() {
	if [ -n "$test_prereq_" ] && ! test_have_prereq "$test_prereq_"; then
		_reasons=
		_old_ifs=$IFS
		IFS=,
		for _p in $test_missing_prereq; do
			_reasons="${_reasons:+$_reasons; }$(prereq_reason "$_p")"
		done
		IFS=$_old_ifs
		test_count=$((test_count + 1))
		test_skipped=$((test_skipped + 1))
		say "ok $test_count # skip $test_title_ ($_reasons)"
		return 0
	fi
	return 1
}

test_expect_success() {
	test_args_ "$@"
	test_skip_by_prereq_ && return 0
	test_count=$((test_count + 1))
	if test_run_ "$test_body_"; then
		test_success=$((test_success + 1))
		say "ok $test_count - $test_title_"
	else
		test_failure=$((test_failure + 1))
		test_failed_list="$test_failed_list $test_count"
		say "not ok $test_count - $test_title_"
		test_show_failure_ "$test_body_"
		if [ "$AUFS_TEST_IMMEDIATE" = 1 ]; then
			test_done
		fi
	fi
}

# A known breakage: the commands describe the correct behaviour, which the library
# does not have yet. Failing is expected (and not counted as a failure); passing
# means the bug was fixed and the test should become test_expect_success.
test_expect_failure() {
	test_args_ "$@"
	test_skip_by_prereq_ && return 0
	test_count=$((test_count + 1))
	if test_run_ "$test_body_"; then
		test_fixed=$((test_fixed + 1))
		say "ok $test_count - $test_title_ # TODO known breakage vanished"
	else
		test_broken=$((test_broken + 1))
		say "not ok $test_count - $test_title_ # TODO known breakage"
	fi
}

test_skip() {
	# test_skip TITLE REASON
	test_count=$((test_count + 1))
	test_skipped=$((test_skipped + 1))
	say "ok $test_count # skip $1 (${2:-no reason given})"
}

test_done() {
	memcheck_verdict_
	if [ "$test_fixed" -gt 0 ]; then
		say "# $test_fixed known breakage(s) vanished; please make them test_expect_success"
	fi
	if [ "$test_broken" -gt 0 ]; then
		say "# still have $test_broken known breakage(s)"
	fi
	if [ "$test_skipped" -gt 0 ]; then
		say "# skipped $test_skipped test(s)"
	fi
	if [ "$test_failure" -gt 0 ]; then
		say "# failed $test_failure among $test_count test(s):$test_failed_list"
	else
		say "# passed all $((test_count - test_broken - test_skipped)) test(s)"
	fi
	say "1..$test_count"
	[ "$test_failure" -eq 0 ] && exit 0
	exit 1
}

# Skip every test of the file: skip_all REASON (before any test ran).
skip_all() {
	say "1..0 # SKIP $*"
	exit 0
}

# ---------------------------------------------------------------- assertions
# test_cmp EXPECTED ACTUAL: identical, or a unified diff and failure.
# Under memcheck a traced program's argv[0] is the full path valgrind ran
# (/usr/bin/cat: for cat:): that prefix of a message is ignored.
test_cmp() {
	if [ "$VALGRIND" = 1 ]; then
		sed -E 's#^(/usr)?/s?bin/([^/: ]+): #\2: #' "$1" >"$TEST_TMP/cmp.1" &&
			sed -E 's#^(/usr)?/s?bin/([^/: ]+): #\2: #' "$2" >"$TEST_TMP/cmp.2" &&
			diff -u "$TEST_TMP/cmp.1" "$TEST_TMP/cmp.2"
		return
	fi
	diff -u "$1" "$2"
}

# test_compare_ A OP B: numeric comparison with OP one of = != -eq -ne -lt -le -gt -ge
test_compare_() {
	case $2 in
	= | -eq) [ "$1" -eq "$3" ] ;;
	!= | -ne) [ "$1" -ne "$3" ] ;;
	-lt) [ "$1" -lt "$3" ] ;;
	-le) [ "$1" -le "$3" ] ;;
	-gt) [ "$1" -gt "$3" ] ;;
	-ge) [ "$1" -ge "$3" ] ;;
	*) echo "bug in the test script: comparison operator $2"; return 1 ;;
	esac
}

# test_line_count OP N FILE (OP as for test_compare_)
test_line_count() {
	if [ $# != 3 ]; then
		echo "bug in the test script: test_line_count OP N FILE"
		return 1
	fi
	_n=$(wc -l <"$3" | tr -d ' ')
	if ! test_compare_ "$_n" "$1" "$2"; then
		echo "test_line_count: $3 has $_n lines, expected $1 $2:"
		cat "$3"
		return 1
	fi
}

# test_must_fail CMD...: CMD exits non-zero, but not by a signal (and not 125-127).
test_must_fail() {
	"$@"
	_st=$?
	if [ "$_st" = 0 ]; then
		echo "test_must_fail: command succeeded: $*"
		return 1
	elif [ "$_st" -gt 128 ]; then
		echo "test_must_fail: command died by a signal ($_st): $*"
		return 1
	fi
	return 0
}

# test_expect_code N CMD...: CMD exits with status N.
test_expect_code() {
	_want=$1
	shift
	"$@"
	_st=$?
	if [ "$_st" != "$_want" ]; then
		echo "test_expect_code: exit status $_st, expected $_want: $*"
		return 1
	fi
}

# test_path_is_missing PATH: neither exists nor is a dangling symlink.
test_path_is_missing() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		echo "test_path_is_missing: $1 exists"
		ls -ld "$1"
		return 1
	fi
}

test_path_is_file() {
	if ! [ -f "$1" ]; then
		echo "test_path_is_file: $1 is not a file"
		return 1
	fi
}

test_path_is_dir() {
	if ! [ -d "$1" ]; then
		echo "test_path_is_dir: $1 is not a directory"
		return 1
	fi
}

# test_must_be_empty FILE
test_must_be_empty() {
	if [ -s "$1" ]; then
		echo "test_must_be_empty: $1 is not empty:"
		cat "$1"
		return 1
	fi
}

# test_grep PATTERN FILE (grep -e, with the file shown on failure)
test_grep() {
	if ! grep -q -e "$1" "$2"; then
		echo "test_grep: no line of $2 matches '$1':"
		cat "$2"
		return 1
	fi
}

# ---------------------------------------------------------------- branches
# Branch roots made by setup_branches, one absolute path a line.
AUFS_BRANCHES=

# setup_branches NAME...: make the (empty) branch directories $TRASH/NAME.
setup_branches() {
	for _b in "$@"; do
		case $_b in
		/*) _p=$_b ;;
		*) _p=$TRASH/$_b ;;
		esac
		mkdir -p "$_p" || return 1
		AUFS_BRANCHES="$AUFS_BRANCHES$_p
"
	done
}

# branch_root PATH: the branch directory (made by setup_branches) holding PATH.
branch_root() {
	_d=$(cd "$1" && pwd -P) || return 1
	while :; do
		case $AUFS_BRANCHES in
		"$_d
"* | *"
$_d
"*)
			echo "$_d"
			return 0 ;;
		esac
		[ "$_d" = / ] && break
		_d=$(dirname "$_d")
	done
	echo "branch_root: $1 is in no branch made by setup_branches" >&2
	return 1
}

# mk_whiteout DIR NAME: DIR/.wh.NAME, a hard link to the .wh..wh.aufs of the
# branch DIR is in (created on first use), the aufs on-disk format.
mk_whiteout() {
	_root=$(branch_root "$1") || return 1
	if ! [ -e "$_root/.wh..wh.aufs" ]; then
		: >"$_root/.wh..wh.aufs" && chmod 0444 "$_root/.wh..wh.aufs" || return 1
	fi
	ln "$_root/.wh..wh.aufs" "$1/.wh.$2"
}

# mk_opaque DIR: mark DIR opaque (DIR/.wh..wh..opq, also a hard link to the base).
mk_opaque() {
	_root=$(branch_root "$1") || return 1
	if ! [ -e "$_root/.wh..wh.aufs" ]; then
		: >"$_root/.wh..wh.aufs" && chmod 0444 "$_root/.wh..wh.aufs" || return 1
	fi
	ln "$_root/.wh..wh.aufs" "$1/.wh..wh..opq"
}

# tree_snapshot DIR: a listing that changes when anything in DIR changes (names,
# types, modes, links, owners, sizes, mtimes, symlink targets, file contents).
tree_snapshot() {
	(
		cd "$1" || exit 1
		find . -printf '%p %y %m %n %U:%G %s %T@ %l\n' | sort
		find . -type f -exec md5sum {} + | sort -k 2
	)
}

# snapshot_branch DIR: remember DIR's state (in the test's temp dir);
# branch_untouched DIR: compare with it (diff -u on failure).
snapshot_branch() {
	_f=$TEST_TMP/snap.$(printf '%s' "$1" | md5sum | cut -c1-16)
	tree_snapshot "$1" >"$_f" || return 1
}

# A union makes the link to its shared state in the root of its top writable branch
# when it first runs (aufs-preload(7), SHARED STATE): in a branch root that holds one,
# that link and the root's own size and times, which making it changed, are not part
# of what a test calls untouched (every other change there shows as an entry).
without_state_link() {
	sed -e '/^\.\/\.wh\.\.wh\.aufs\.shm\./d' \
		-e 's/^\(\. d [^ ]* [^ ]* [^ ]*\) [^ ]* [^ ]* /\1 - - /'
}

branch_untouched() {
	_f=$TEST_TMP/snap.$(printf '%s' "$1" | md5sum | cut -c1-16)
	if ! [ -f "$_f" ]; then
		echo "branch_untouched: no snapshot of $1 (snapshot_branch first)"
		return 1
	fi
	tree_snapshot "$1" >"$_f.now" || return 1
	if ls -d "$1"/.wh..wh.aufs.shm.* >/dev/null 2>&1; then
		without_state_link <"$_f" >"$_f.was" &&
			without_state_link <"$_f.now" >"$_f.is" &&
			diff -u "$_f.was" "$_f.is"
	else
		diff -u "$_f" "$_f.now"
	fi
}

# ---------------------------------------------------------------- memcheck
# VALGRIND=1 (make memcheck): what aufs_run, user_aufs_run and aufs_env start runs
# under valgrind's memcheck, and every program it starts (--trace-children): the
# library runs in each of them. Every process image writes its reports to a log
# of its own in $AUFS_VG_DIR (%n: an exec'd image gets a new file), not to stderr,
# which tests compare; test_done turns any report into a failing test of the file.
# Exit status 97 marks a process with a report, so that the test that ran it fails
# too. tests/valgrind.supp holds the suppressions (glibc's and valgrind's noise).
VALGRIND=${VALGRIND:-0}
AUFS_VG=
AUFS_VG_DIR=
if [ "$VALGRIND" = 1 ]; then
	have_cmd valgrind || { echo "Bail out! VALGRIND=1 but valgrind is not installed"; exit 1; }
	AUFS_VG_DIR=$TEST_TMP/memcheck
	mkdir "$AUFS_VG_DIR" && chmod 1777 "$AUFS_VG_DIR" || exit 1
	AUFS_VG="valgrind --tool=memcheck -q --trace-children=yes --error-exitcode=97"
	AUFS_VG="$AUFS_VG --suppressions=$AUFS_ROOT/tests/valgrind.supp --num-callers=30"
	AUFS_VG="$AUFS_VG --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite"
	AUFS_VG="$AUFS_VG --log-file=$AUFS_VG_DIR/%p.%n.log"
	# no gdbserver: its pipes in /tmp cannot be removed after a chroot (t7002)
	AUFS_VG="$AUFS_VG --vgdb=no"
	# Not into the interpreters (and git): each takes 5 to 20 s to start under
	# memcheck, checking itself more than the library, whose doors the C
	# programs of the tests call too. They run preloaded as ever, unchecked.
	AUFS_VG="$AUFS_VG --trace-children-skip=*/python3*,*/php*,*/perl*,*/git"
fi
export VALGRIND
[ "$VALGRIND" = 1 ] || test_set_prereq NOVALGRIND

# memcheck_verdict_: one more test, failing when any process left a report.
memcheck_verdict_() {
	[ "$VALGRIND" = 1 ] || return 0
	_n=$(find "$AUFS_VG_DIR" -name '*.log' | wc -l | tr -d ' ')
	_bad=$(find "$AUFS_VG_DIR" -name '*.log' -size +0 | wc -l | tr -d ' ')
	test_count=$((test_count + 1))
	if [ "$_bad" = 0 ]; then
		test_success=$((test_success + 1))
		say "ok $test_count - memcheck: no report in the $_n process images traced"
	else
		test_failure=$((test_failure + 1))
		test_failed_list="$test_failed_list $test_count"
		say "not ok $test_count - memcheck: reports in $_bad of the $_n process images traced"
		find "$AUFS_VG_DIR" -name '*.log' -size +0 | sort | while read -r _l; do
			echo "== $_l"
			head -n 150 "$_l"
		done | comment
	fi
}

# ---------------------------------------------------------------- running unions
# aufs_run ARGS...: run aufs-run (the user-facing bin/aufs-run for the default
# build; the helper of $B directly for other builds, with AUFS_LIBRARY naming the
# library and, for a sanitized build, the ASan runtime first in LD_PRELOAD; under
# memcheck, valgrind runs the helper).
aufs_run() {
	if [ "$VALGRIND" = 1 ]; then
		# shellcheck disable=SC2086
		AUFS_LIBRARY=$AUFS_LIB $AUFS_VG "$AUFS_BUILD/aufs-run" "$@"
	elif [ "$SANITIZE" = 1 ]; then
		AUFS_LIBRARY=$AUFS_LIB LD_PRELOAD=$AUFS_ASAN_RT "$AUFS_BUILD/aufs-run" "$@"
	elif [ "$AUFS_BUILD" != "$AUFS_ROOT/build" ]; then
		AUFS_LIBRARY=$AUFS_LIB "$AUFS_BUILD/aufs-run" "$@"
	else
		"$AUFS_ROOT/bin/aufs-run" "$@"
	fi
}

# ---------------------------------------------------------------- the kernel overlay
# overlay_ready [PREREQ]: when PREREQ (default ROOT) holds, try a kernel overlay mount
# in a private mount namespace and set the prerequisite OVERLAY when it works, so that
# a test can compare the union with overlay on the same layers; OVERLAY_WHY says why not.
OVERLAY_WHY="not tried without root"
overlay_ready() {
	test_have_prereq "${1:-ROOT}" || return 0
	if ! have_cmd unshare; then
		OVERLAY_WHY="unshare(1) is missing"
	elif mkdir -p probe/l probe/u probe/w probe/m &&
		unshare -m --propagation private sh -c \
			'mount -t overlay overlay -o lowerdir=probe/l,upperdir=probe/u,workdir=probe/w probe/m' \
			>probe.err 2>&1; then
		test_set_prereq OVERLAY
	else
		OVERLAY_WHY="mount -t overlay failed: $(head -n 1 probe.err)"
	fi
	rm -rf probe probe.err
}

# ---------------------------------------------------------------- the host's users
# The host a union serves: a base owned by root, one writable branch per tenant owned
# by the tenant's user, a web server running as another user. run.sh (as root) makes
# these system users; tests that cross users need the prerequisite HOST_USERS (root,
# the users exist, and they can read the build), and run their commands with as_user.
AUFS_TENANT1=aufs-tenant1
AUFS_TENANT2=aufs-tenant2
AUFS_WWW=aufs-www
AUFS_HOST_USERS="$AUFS_TENANT1 $AUFS_TENANT2 $AUFS_WWW"

# host_users_ready: make the test's directories reachable by the host users and
# set HOST_USERS when everything is in place (called once, at the top level).
host_users_ready() {
	test_have_prereq ROOT && have_cmd runuser || return 1
	for _u in $AUFS_HOST_USERS; do
		id -u "$_u" >/dev/null 2>&1 || return 1
	done
	chmod 0755 "$TEST_TMP" "$TRASH" || return 1
	runuser -u "$AUFS_WWW" -- test -r "$AUFS_LIB" -a -x "$AUFS_BUILD/aufs-run" -a -x "$TRASH" ||
		return 1
	test_set_prereq HOST_USERS
}

# as_user USER CMD...: CMD as USER (its own uid, gid and groups), in the current
# directory, with the environment of the caller.
as_user() {
	_user=$1
	shift
	runuser -u "$_user" -- "$@"
}

# user_aufs_run USER ARGS...: aufs_run as USER.
user_aufs_run() {
	_user=$1
	shift
	if [ "$VALGRIND" = 1 ]; then
		# shellcheck disable=SC2086
		runuser -u "$_user" -- env AUFS_LIBRARY="$AUFS_LIB" $AUFS_VG "$AUFS_BUILD/aufs-run" "$@"
	elif [ "$SANITIZE" = 1 ]; then
		runuser -u "$_user" -- env AUFS_LIBRARY="$AUFS_LIB" LD_PRELOAD="$AUFS_ASAN_RT" \
			"$AUFS_BUILD/aufs-run" "$@"
	elif [ "$AUFS_BUILD" != "$AUFS_ROOT/build" ]; then
		runuser -u "$_user" -- env AUFS_LIBRARY="$AUFS_LIB" "$AUFS_BUILD/aufs-run" "$@"
	else
		runuser -u "$_user" -- "$AUFS_ROOT/bin/aufs-run" "$@"
	fi
}

# The LD_PRELOAD value that loads the library without aufs-run.
aufs_preload() {
	if [ "$SANITIZE" = 1 ]; then
		echo "$AUFS_ASAN_RT:$AUFS_LIB"
	else
		echo "$AUFS_LIB"
	fi
}

# aufs_env 'FSTAB LINES' CMD...: run CMD with the library and AUFS_MOUNTS set
# directly (the environment alternative to aufs-run).
aufs_env() {
	_mounts=$1
	shift
	if [ "$VALGRIND" = 1 ]; then
		# env(1) under valgrind sets the preload: not valgrind's own launcher
		# shellcheck disable=SC2086
		$AUFS_VG env AUFS_MOUNTS="$_mounts" LD_PRELOAD="$(aufs_preload)" "$@"
	else
		AUFS_MOUNTS=$_mounts LD_PRELOAD=$(aufs_preload) "$@"
	fi
}

# build_libc_probe: compile libc-probe.c (next to this file) to $LIBC_PROBE, and
# set the prerequisite LIBC_PROBE when that worked. Plain flags: it is a program
# that runs under the library, like any other.
LIBC_PROBE=$TEST_TMP/libc-probe
build_libc_probe() {
	test_have_prereq CC || return 1
	if "${CC:-cc}" -O1 -o "$LIBC_PROBE" "$TEST_DIR/libc-probe.c" >"$TEST_TMP/cc.log" 2>&1; then
		test_set_prereq LIBC_PROBE
	else
		comment <"$TEST_TMP/cc.log"
		return 1
	fi
}

# ---------------------------------------------------------------- the host table
# aufsctl ARGS...: the host table's tool (bin/aufsctl for the default build, the
# program of $B itself for the others, as aufs_run does); user_aufsctl USER ARGS...
# runs it as USER.
aufsctl() {
	if [ "$AUFS_BUILD" != "$AUFS_ROOT/build" ]; then
		"$AUFS_BUILD/aufsctl" "$@"
	else
		"$AUFS_ROOT/bin/aufsctl" "$@"
	fi
}

user_aufsctl() {
	_user=$1
	shift
	if [ "$AUFS_BUILD" != "$AUFS_ROOT/build" ]; then
		runuser -u "$_user" -- "$AUFS_BUILD/aufsctl" "$@"
	else
		runuser -u "$_user" -- "$AUFS_ROOT/bin/aufsctl" "$@"
	fi
}

# ---------------------------------------------------------------- long-running readers
# A process that keeps its library (and its caches) warm while other processes change
# a union, answering requests one by one: used by the tests of what crosses processes
# and users (t1006, t1010, t1014, t1015). A test calls reader_script once, then
# reader_start (or its own start, e.g. in a namespace), ask/expect, reader_stop. ME is
# the tester's user name.
ME=$(id -un)

# reader.sh DIR: answers DIR/cmd.N in DIR/resp.N, in order, from this one process:
#   read PATH (its first line or ENOENT), readerr PATH (its first line, or "failed"
#   and the error's text), stat PATH (exists or missing), ls DIR (the names), write
#   PATH TEXT (ok or failed), rm PATH (ok or failed), stats PATH N (N lookups), fork
#   PATH (its first line, read by a forked child that does not exec), run CMD (sh -c
#   CMD in a new process: its exit status; its output in DIR/out.N and DIR/err.N), quit.
# Gives up after about 30 s without a request. Its stderr is never redirected: what the
# library says there is the test's to see.
reader_script() {
	cat >"$TRASH/reader.sh" <<'EOF'
D=$1
n=1
while :; do
	i=0
	while ! [ -e "$D/cmd.$n" ]; do
		i=$((i + 1))
		[ $i -le 3000 ] || exit 1
		sleep 0.01
	done
	read -r op p rest <"$D/cmd.$n"
	case $op in
	read) if [ -r "$p" ]; then read -r a <"$p"; else a=ENOENT; fi ;;
	readerr)
		if { read -r a <"$p"; } 2>"$D/e"; then :; else a="failed $(sed -n '$s/.*: //p' "$D/e")"; fi ;;
	stat) if [ -e "$p" ]; then a=exists; else a=missing; fi ;;
	ls)
		a=
		for f in "$p"/*; do
			[ -e "$f" ] && a="$a ${f##*/}"
		done ;;
	write) if { echo "$rest" >"$p"; } 2>/dev/null; then a=ok; else a=failed; fi ;;
	rm) if rm "$p"; then a=ok; else a=failed; fi ;;
	stats)
		i=0
		while [ $i -lt "$rest" ]; do
			[ -e "$p" ]
			i=$((i + 1))
		done
		a=done ;;
	fork) a=$(read -r a <"$p" && echo "$a") || a=failed ;;
	run) sh -c "$p $rest" >"$D/out.$n" 2>"$D/err.$n"; a=$? ;;
	quit) a=bye ;;
	*) a="unknown request $op" ;;
	esac
	echo "$a" >"$D/resp.$n.tmp" && mv "$D/resp.$n.tmp" "$D/resp.$n"
	[ "$op" = quit ] && exit 0
	n=$((n + 1))
done
EOF
}

# as USER CMD...: CMD as USER (the tester itself without switching).
as() {
	_u=$1
	shift
	if [ "$_u" = "$ME" ]; then "$@"; else as_user "$_u" "$@"; fi
}

# run_as USER AUFS-RUN-ARGS...: aufs-run as USER.
run_as() {
	_u=$1
	shift
	if [ "$_u" = "$ME" ]; then aufs_run "$@"; else user_aufs_run "$_u" "$@"; fi
}

# reader_start USER NAME AUFS-RUN-ARGS...: a reader as USER in $TRASH/NAME; its
# stdout and stderr are $TRASH/NAME/out and err (no copy of the test's output stays
# open in the background: -v pipes it).
reader_start() {
	_u=$1 _d=$TRASH/$2
	shift 2
	rm -rf "$_d" && mkdir "$_d" || return 1
	if [ "$_u" != "$ME" ]; then chown "$_u" "$_d" || return 1; fi
	run_as "$_u" "$@" -- sh "$TRASH/reader.sh" "$_d" >"$_d/out" 2>"$_d/err" &
	echo $! >"$_d/pid"
}

# ask NAME REQUEST...: the reader's answer (on stdout), within 20 s.
ask() {
	_name=$1 _d=$TRASH/$1
	shift
	_n=$(($(cat "$_d/n" 2>/dev/null || echo 0) + 1))
	echo "$_n" >"$_d/n"
	printf '%s\n' "$*" >"$_d/cmd.tmp" && mv "$_d/cmd.tmp" "$_d/cmd.$_n" || return 1
	_i=0
	while ! [ -e "$_d/resp.$_n" ]; do
		_i=$((_i + 1))
		if [ $_i -gt 2000 ]; then
			echo "reader $_name: no answer to: $*" >&2
			return 1
		fi
		sleep 0.01
	done
	cat "$_d/resp.$_n"
}

# expect NAME WANT REQUEST...: the reader answers WANT.
expect() {
	_r=$1 _want=$2
	shift 2
	_got=$(ask "$_r" "$@") || return 1
	if [ "$_got" != "$_want" ]; then
		echo "reader $_r: $*: \"$_got\", expected \"$_want\""
		return 1
	fi
}

reader_stop() {
	expect "$1" bye quit && wait "$(cat "$TRASH/$1/pid")"
}

# state_hold NAME USER DIR AUFS-RUN-ARGS...: a process of USER in the union(s) of
# AUFS-RUN-ARGS that keeps their shared state mapped until state_release NAME (a
# state goes with the last process that maps it: aufs-preload(7), SHARED STATE), as
# a host's long-running pools do. Returns once it looked DIR up (and so attached).
# It ends by itself when $TRASH/NAME goes (the test's cleanup).
state_hold() {
	_d=$TRASH/$1 _u=$2 _dir=$3
	shift 3
	rm -rf "$_d" && mkdir "$_d" && : >"$_d/run" || return 1
	if [ "$_u" != "$ME" ]; then chown "$_u" "$_d" || return 1; fi
	run_as "$_u" "$@" -- sh -c '[ -e "$1" ]; : >"$0/ready"; while [ -e "$0/run" ]; do sleep 0.05; done' \
		"$_d" "$_dir" >"$_d/out" 2>"$_d/err" &
	echo $! >"$_d/pid"
	_i=0
	while ! [ -e "$_d/ready" ]; do
		_i=$((_i + 1))
		if [ $_i -gt 2000 ]; then
			echo "state_hold $1: not ready after 20 s" >&2
			return 1
		fi
		sleep 0.01
	done
}

# (a hold started in another test's subshell is no child of this one: wait returns
# at once there, and kill -0 tells when it ended)
state_release() {
	_pid=$(cat "$TRASH/$1/pid") && rm -f "$TRASH/$1/run" || return 1
	wait "$_pid" 2>/dev/null
	_i=0
	while kill -0 "$_pid" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 2000 ]; then
			echo "state_release $1: process $_pid still runs after 20 s" >&2
			return 1
		fi
		sleep 0.01
	done
}
