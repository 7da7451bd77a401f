#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='threads look up, read and list one union directory through dirfds, 16 first use one unknown dirfd; also under TSan'
. "$(dirname "$0")/lib.sh"

# base: d/f0..d/f15 (each holds its name), d/gone; top: d/.wh.gone.
# tests/helper/stress-threads.c: each thread stats, opens, reads, fstatat()s and
# openat()s through its own and a shared dirfd, lists the dir, and now and then
# creates and removes a file of its own and copies up one base file.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/m
mkdir -p "$T/d" "$BASE/d"
i=0
while [ $i -lt 16 ]; do
	echo "f$i" >"$BASE/d/f$i"
	i=$((i + 1))
done
echo gone >"$BASE/d/gone"
mk_whiteout "$T/d" gone
snapshot_branch "$BASE"
ROUNDS=1000
MOUNTS="none $M aufs br:$T=rw:$BASE=ro 0 0"

# after_stress: the top branch holds the copy-ups f0..f7 (unchanged), no w* file,
# no temporary of a copy-up; the base is untouched.
after_stress() {
	(cd "$T/d" && ls -A) >actual &&
	printf "%s\n" .wh.gone f0 f1 f2 f3 f4 f5 f6 f7 >expect &&
	test_cmp expect actual &&
	echo f3 >expect &&
	test_cmp expect "$T/d/f3" &&
	branch_untouched "$BASE"
}

test_expect_success 'stress-threads: 8 threads, plain build' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- "$AUFS_BUILD/helper/stress-threads" "$M/d" $ROUNDS 8 >actual &&
	echo ok >expect &&
	test_cmp expect actual &&
	after_stress
'

# tests/helper/stress-dirfd.c: each round 16 threads make their first *at()
# call through one directory fd the library never saw (a raw open of the
# branch directory, as if inherited), so each asks the kernel and enters the
# answer in the fd table while the others read that slot, and two threads
# churn other slots (open, dup, dup2, close). A string of the table freed under
# a reader is a use-after-free: ASan (SANITIZE=1) stops the program, and the
# TSan runs below report it. "cwd" adds chdir and getcwd on two more threads.
test_expect_success 'stress-dirfd: 16 threads first use one unknown dirfd at once' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- "$AUFS_BUILD/helper/stress-dirfd" "$M/d" 2000 16 \
		>actual &&
	echo ok >expect &&
	test_cmp expect actual &&
	after_stress
'

test_expect_success 'stress-dirfd: the same while the virtual cwd changes' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- "$AUFS_BUILD/helper/stress-dirfd" "$M/d" 1000 16 \
		cwd >actual &&
	echo ok >expect &&
	test_cmp expect actual &&
	after_stress
'

# The library and the probe both instrumented (build-tsan, make tsan): the probe
# links libtsan, so the runtime is loaded before the preloaded library, as TSan
# needs. ASan (SANITIZE=1) cannot share a process with TSan: this test always uses
# build-tsan. Every report makes the test fail (exitcode=66, and the log is checked).
TSAN_DIR=$AUFS_ROOT/build-tsan
if (cd "$AUFS_ROOT" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s tsan) >"$TEST_TMP/tsan-build.log" 2>&1 &&
	[ -x "$TSAN_DIR/helper/stress-threads" ] && [ -r "$TSAN_DIR/libaufs-preload.so" ]; then
	# TSan refuses some address-space layouts (high mmap randomisation): check
	# that an instrumented program runs at all, outside any union.
	mkdir -p "$TRASH/plain"
	i=0
	while [ $i -lt 16 ]; do
		echo "f$i" >"$TRASH/plain/f$i"
		i=$((i + 1))
	done
	if "$TSAN_DIR/helper/stress-threads" "$TRASH/plain" 1 2 >"$TEST_TMP/tsan-probe.log" 2>&1 ||
		grep -q '^thread' "$TEST_TMP/tsan-probe.log"; then
		test_set_prereq TSAN
	else
		comment <"$TEST_TMP/tsan-probe.log"
		TSAN_WHY="an instrumented program does not run here (see the log above)"
	fi
else
	comment <"$TEST_TMP/tsan-build.log"
	TSAN_WHY="make tsan failed (no libtsan? an unprivileged user cannot rebuild build-tsan/)"
fi

# tsan_run PROBE ARGS: the instrumented probe in the union, its stderr (the
# reports) in tsan.log. Not TSAN_OPTIONS=log_path: TSan would mkdir its directory
# during its own start, through the preloaded (instrumented) mkdir, before it can
# run it. A report made inside the library's cwd writer can wait on the library
# forever (TSan's report opens files through it), hence the timeout.
tsan_run() {
	_probe=$1
	shift
	AUFS_MOUNTS=$MOUNTS LD_PRELOAD=$TSAN_DIR/libaufs-preload.so \
		TSAN_OPTIONS="exitcode=66 halt_on_error=0" \
		timeout 60 "$TSAN_DIR/helper/$_probe" "$@" 2>"$TRASH/tsan.log"
}

if test_have_prereq TSAN; then
	test_expect_success 'stress-threads under ThreadSanitizer: no report' '
		rm -rf "$T/d"/f* &&
		tsan_run stress-threads "$M/d" $ROUNDS 8 >actual; st=$?
		head -n 80 "$TRASH/tsan.log"
		test_must_be_empty "$TRASH/tsan.log" &&
		test "$st" = 0 &&
		echo ok >expect &&
		test_cmp expect actual &&
		after_stress
	'

	test_expect_success 'stress-threads under ThreadSanitizer, 16 threads, from a fresh shared state' '
		rm -rf "$T/d"/f* &&
		remove_shm_files &&
		tsan_run stress-threads "$M/d" 300 16 >actual; st=$?
		head -n 80 "$TRASH/tsan.log"
		test_must_be_empty "$TRASH/tsan.log" &&
		test "$st" = 0 &&
		echo ok >expect &&
		test_cmp expect actual &&
		(cd "$T/d" && ls -A) >actual &&
		printf "%s\n" .wh.gone f0 f1 f10 f11 f12 f13 f14 f15 f2 f3 f4 f5 f6 f7 f8 f9 >expect &&
		test_cmp expect actual &&
		branch_untouched "$BASE"
	'

	test_expect_success 'stress-dirfd under ThreadSanitizer: one unknown dirfd, 16 threads' '
		tsan_run stress-dirfd "$M/d" 300 16 >actual; st=$?
		head -n 80 "$TRASH/tsan.log"
		test_must_be_empty "$TRASH/tsan.log" &&
		test "$st" = 0 &&
		echo ok >expect &&
		test_cmp expect actual &&
		branch_untouched "$BASE"
	'

	test_expect_success 'stress-dirfd under ThreadSanitizer, with chdir and getcwd' '
		tsan_run stress-dirfd "$M/d" 300 16 cwd >actual; st=$?
		head -n 80 "$TRASH/tsan.log"
		test_must_be_empty "$TRASH/tsan.log" &&
		test "$st" = 0 &&
		echo ok >expect &&
		test_cmp expect actual &&
		branch_untouched "$BASE"
	'

	# The union as one line of a host table of 200, whose image is replaced all the
	# while: the threads race adoption of each new image, the making of unions from
	# it and the hand-over of shared states, besides each other.
	test_expect_success 'stress-threads under ThreadSanitizer through a host table reloaded all the while' '
		rm -rf "$T/d"/f* &&
		i=0 &&
		while [ $i -lt 200 ]; do
			mkdir -p "$TRASH/ht/t$i" &&
			echo "none $TRASH/ht/m$i aufs br:$TRASH/ht/t$i=rw:$BASE=ro,nowarn_perm 0 0" ||
				return 1
			[ $i = 100 ] && echo "$MOUNTS"
			i=$((i + 1))
		done >host.fstab &&
		"$AUFS_BUILD/aufsctl" load --image "$TRASH/host.img" host.fstab >/dev/null &&
		rm -f stop || return 1
		# (not chained with &&: the & would send the whole chain to the background)
		(
			n=0
			while ! [ -e stop ] && [ $n -lt 400 ]; do
				echo "# $n" >>host.fstab &&
				"$AUFS_BUILD/aufsctl" reload --image "$TRASH/host.img" host.fstab >/dev/null
				n=$((n + 1))
			done
			echo $n >reloads
		) &
		AUFS_FSTAB=$TRASH/host.fstab AUFS_TABLE=$TRASH/host.img \
			LD_PRELOAD=$TSAN_DIR/libaufs-preload.so TSAN_OPTIONS="exitcode=66 halt_on_error=0" \
			timeout 120 "$TSAN_DIR/helper/stress-threads" "$M/d" 300 8 >actual 2>"$TRASH/tsan.log"
		st=$?
		touch stop && wait &&
		head -n 80 "$TRASH/tsan.log" &&
		echo "$(cat reloads) reloads during the run" &&
		test "$(cat reloads)" -gt 2 &&
		test_must_be_empty "$TRASH/tsan.log" &&
		test "$st" = 0 &&
		echo ok >expect &&
		test_cmp expect actual &&
		branch_untouched "$BASE"
	'
else
	test_skip 'stress-threads under ThreadSanitizer' "$TSAN_WHY"
fi

test_done
