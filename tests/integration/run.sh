#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh [PATTERN] - run the integration tests (every tNNNN-*.sh, or those whose
# name matches the shell glob PATTERN: `t1*`, `t1001`, `t5001-readdir.sh`, or one
# of its words: "t1005 t5002"), print
# each file's TAP, and end with one line "N passed, N failed[; ...]". Exits non-zero
# if any test failed (or a test file died without finishing its plan).
#
# Environment: B (build directory, default build), SANITIZE (1: sanitized library),
# VALGRIND (1: the programs of the unions under memcheck, lib.sh; make memcheck),
# AUFS_TEST_TIMEOUT (seconds per test file, default 90; 240 for a sanitized build, which
# runs two to three times slower and must not fail on a loaded machine; 900 under
# memcheck), AUFS_TEST_KEEP=1,
# AUFS_TEST_VERBOSE=1, AUFS_TEST_NO_UNPRIV=1 (as root: no second, unprivileged pass),
# STRESS=full and STRESS_* (make stress: t9003's full form, both passes).
#
# As root the suite runs twice: as root, then as the system user aufs-test
# (created with useradd when missing) through runuser; the final line adds both.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
pattern=${1:-}
B=${B:-build}
SANITIZE=${SANITIZE:-}
VALGRIND=${VALGRIND:-}
# memcheck runs each program some 20 to 50 times slower, a sanitized build two to three
default_timeout=90
[ -n "$SANITIZE" ] && default_timeout=240
[ "$VALGRIND" = 1 ] && default_timeout=900
timeout_s=${AUFS_TEST_TIMEOUT:-$default_timeout}
unpriv_user=aufs-test
export B SANITIZE VALGRIND

case $B in
/*) build=$B ;;
*) build=$root/$B ;;
esac
if ! [ -r "$build/libaufs-preload.so" ] || ! [ -x "$build/aufs-run" ]; then
	echo "run.sh: $build/libaufs-preload.so or $build/aufs-run is missing: run make first" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# As root, the second pass and the tests that switch to aufs-test need a checkout
# that user can read. One under a private directory (root's home, a 0700 CI
# workspace) is run from a readable temporary copy instead.
if [ "$(id -u)" = 0 ] && [ "${AUFS_TEST_NO_UNPRIV:-}" != 1 ] && [ -z "${AUFS_TEST_STAGED:-}" ]; then
	# aufs-test runs the second pass; the others play a host's tenants and web
	# server in the tests that cross users (lib.sh, HOST_USERS).
	for u in "$unpriv_user" aufs-tenant1 aufs-tenant2 aufs-www; do
		id -u "$u" >/dev/null 2>&1 && continue
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$u" ||
			echo "# cannot create the user $u"
	done
	if id -u "$unpriv_user" >/dev/null 2>&1 &&
	   ! runuser -u "$unpriv_user" -- test -r "$here/lib.sh" -a -r "$build/libaufs-preload.so"; then
		stage=$(mktemp -d "${TMPDIR:-/tmp}/aufs-stage.XXXXXX") || exit 1
		chmod 0755 "$stage"
		echo "# $unpriv_user cannot read $root: running from a copy in $stage"
		case $B in
		/*) sB=$stage/build-staged ;;
		*) sB=$B ;;
		esac
		(cd "$root" && tar --exclude=./.git --exclude='./build*' -cf - .) | tar -C "$stage" -xf - &&
			mkdir -p "$(dirname "$stage/$sB")" && cp -a "$build" "$stage/${sB#"$stage"/}" ||
			{ rm -rf "$stage"; echo "0 passed, 1 failed"; exit 1; }
		B=$sB AUFS_TEST_STAGED=1 sh "$stage/tests/integration/run.sh" "$pattern"
		rc=$?
		rm -rf "$stage"
		exit $rc
	fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aufs-run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed=0 failed=0 broken=0 skipped=0 vanished=0 failed_files=

# match FILE: is FILE selected by the pattern (or one of its words: "t1005 t5002")?
match() {
	[ -z "$pattern" ] && return 0
	set -f
	for _p in $pattern; do
		# shellcheck disable=SC2254
		case $1 in
		$_p | $_p.sh | $_p-*) set +f; return 0 ;;
		esac
	done
	set +f
	return 1
}

run_file() {
	f=$1
	log=$tmp/log status=$tmp/status
	echo "*** $f ***"
	{
		if command -v timeout >/dev/null 2>&1; then
			timeout -k 5 "$timeout_s" sh "$here/$f" 2>&1
		else
			sh "$here/$f" 2>&1
		fi
		echo $? >"$status"
	} | tee "$log"
	st=$(cat "$status")
	p=$(grep -c -E '^ok [0-9]+ - ' "$log" | tr -d ' ')
	v=$(grep -c -E '^ok [0-9]+ - .*# TODO known breakage vanished$' "$log" | tr -d ' ')
	fl=$(grep -E '^not ok [0-9]+ ' "$log" | grep -c -v -E '# TODO known breakage$' | tr -d ' ')
	k=$(grep -c -E '^not ok [0-9]+ - .*# TODO known breakage$' "$log" | tr -d ' ')
	s=$(grep -c -i -E '^ok [0-9]+ # skip' "$log" | tr -d ' ')
	s0=$(grep -c -i -E '^1\.\.0 # skip' "$log" | tr -d ' ')
	p=$((p - v))
	if ! grep -q -E '^1\.\.[0-9]+' "$log"; then
		case $st in
		124 | 137) echo "# $f: timed out after ${timeout_s}s" ;;
		*) echo "# $f: died (exit status $st) without printing its plan" ;;
		esac
		fl=$((fl + 1))
	elif [ "$st" != 0 ] && [ "$fl" = 0 ]; then
		echo "# $f: exit status $st, but no test failed"
		fl=1
	fi
	passed=$((passed + p + v))
	vanished=$((vanished + v))
	failed=$((failed + fl))
	broken=$((broken + k))
	skipped=$((skipped + s + s0))
	[ "$fl" -gt 0 ] && failed_files="$failed_files $f"
	return 0
}

started=$(date +%s)
cd "$here" || exit 1
nfiles=0
for f in t[0-9][0-9][0-9][0-9]-*.sh; do
	[ -f "$f" ] || continue
	match "$f" || continue
	nfiles=$((nfiles + 1))
	run_file "$f"
done
if [ "$nfiles" = 0 ]; then
	echo "run.sh: no test file matches '${pattern}'" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

summary_tail() {
	# the part after the semicolon
	extra=
	[ "$broken" -gt 0 ] && extra="$broken known breakage"
	[ "$vanished" -gt 0 ] && extra="${extra:+$extra, }$vanished known breakage vanished"
	[ "$skipped" -gt 0 ] && extra="${extra:+$extra, }$skipped skipped"
	[ -n "$extra" ] && printf '; %s' "$extra"
	return 0
}

# An inner (unprivileged) pass reports its counts to the outer one on one line.
if [ "${AUFS_TEST_INNER:-}" = 1 ]; then
	echo "# counts: $passed $failed $broken $vanished $skipped$failed_files"
	[ "$failed" = 0 ]
	exit
fi

if [ "$(id -u)" = 0 ] && [ "${AUFS_TEST_NO_UNPRIV:-}" != 1 ]; then
	echo "# pass 1 (root, uid 0): $passed passed, $failed failed$(summary_tail)"
	echo
	echo "*** running the whole suite again as the unprivileged user $unpriv_user (runuser) ***"
	if ! id -u "$unpriv_user" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$unpriv_user" ||
			echo "# cannot create the user $unpriv_user"
	fi
	if ! id -u "$unpriv_user" >/dev/null 2>&1; then
		echo "# the unprivileged pass could not run: no user $unpriv_user"
		failed=$((failed + 1))
	elif ! runuser -u "$unpriv_user" -- test -r "$here/lib.sh" -a -r "$build/libaufs-preload.so"; then
		echo "# the unprivileged pass could not run: $unpriv_user cannot read $here or $build"
		failed=$((failed + 1))
	else
		chmod 0755 "$tmp"
		runuser -u "$unpriv_user" -- env -i \
			PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
			HOME=/nonexistent LC_ALL=C TMPDIR="${TMPDIR:-/tmp}" \
			B="$B" SANITIZE="$SANITIZE" VALGRIND="$VALGRIND" AUFS_TEST_INNER=1 \
			STRESS="${STRESS:-}" STRESS_ROUNDS="${STRESS_ROUNDS:-}" \
			STRESS_SECONDS="${STRESS_SECONDS:-}" STRESS_RACE_SECONDS="${STRESS_RACE_SECONDS:-}" \
			AUFS_TEST_TIMEOUT="$timeout_s" AUFS_TEST_KEEP="${AUFS_TEST_KEEP:-0}" \
			AUFS_TEST_VERBOSE="${AUFS_TEST_VERBOSE:-0}" \
			sh "$here/run.sh" "$pattern" | tee "$tmp/unpriv"
		counts=$(sed -n 's/^# counts: //p' "$tmp/unpriv" | tail -n 1)
		if [ -z "$counts" ]; then
			echo "# the unprivileged pass died without its counts"
			failed=$((failed + 1))
		else
			# shellcheck disable=SC2086
			set -- $counts
			echo "# pass 2 ($unpriv_user, uid $(id -u "$unpriv_user")): $1 passed, $2 failed"
			passed=$((passed + $1)) failed=$((failed + $2)) broken=$((broken + $3))
			vanished=$((vanished + $4)) skipped=$((skipped + $5))
			shift 5
			for f in "$@"; do
				failed_files="$failed_files $f($unpriv_user)"
			done
		fi
	fi
fi

[ -n "$failed_files" ] && echo "# failed files:$failed_files"
echo "# $(($(date +%s) - started))s"
echo "$passed passed, $failed failed$(summary_tail)"
[ "$failed" = 0 ]
