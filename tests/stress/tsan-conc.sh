#!/bin/sh
# SPDX-License-Identifier: MIT
# tsan-conc.sh - make tsan-stress: the concurrency stress (conc.c: PROCS processes
# x THREADS threads changing one union directory, checked against a model) with
# the library and conc both built with -fsanitize=thread (build-tsan/), once per
# udba mode: reval (the default) for TSAN_SECONDS (60), none (the shared lookup
# cache) and inotify (the watcher thread) for a third of that each. Every
# ThreadSanitizer report, and any error conc finds, fails the run.
#
# Environment: B (build-tsan), TSAN_SECONDS (60), TSAN_PROCS (16), TSAN_THREADS (8).
# Exit 0: no report and no conc error; 1: a report or an error; 2: setup failed.
#
# conc is started directly with AUFS_MOUNTS and LD_PRELOAD, not by aufs-run (an
# uninstrumented program with the instrumented library preloaded): conc links
# libtsan, so the runtime is loaded before the library, as TSan needs. TSan sees
# the threads of one process; the processes share the union's state (SysV segment,
# xino file, lookup cache) through memory it does not follow across processes, so
# a race between processes is the model's to find (lost or torn appends), not TSan's.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
B=${B:-build-tsan}
case $B in
/*) build=$B ;;
*) build=$root/$B ;;
esac
seconds=${TSAN_SECONDS:-60}
procs=${TSAN_PROCS:-16}
threads=${TSAN_THREADS:-8}
lib=$build/libaufs-preload.so
conc=$build/stress/conc
probe=$build/helper/shm-probe
for f in "$lib" "$conc" "$probe"; do
	[ -e "$f" ] || { echo "tsan-conc: $f is missing: run make tsan-stress" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aufs-tsan.XXXXXX") || exit 2
cleanup() {
	# the unions' SysV segments go with their links (lib.sh's remove_shm_files)
	find "$tmp" -name '.wh..wh.aufs.shm.*' -type l -print0 2>/dev/null |
		xargs -0 -r "$probe" remove
	"$probe" sweep "$tmp"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
AUFS_XINO_DIR=$tmp/xino AUFS_TABLE_DIR=$tmp/images
export AUFS_XINO_DIR AUFS_TABLE_DIR
mkdir "$AUFS_XINO_DIR" "$AUFS_TABLE_DIR" || exit 2
unset AUFS_MOUNTS AUFS_FSTAB AUFS_CWD AUFS_LIBRARY LD_PRELOAD 2>/dev/null

# TSan's own stack depth for the earlier access of a race: enough to name the
# call sites in the core (the default 2 loses the older side of long runs).
tsan_options="exitcode=66 halt_on_error=0 history_size=4 second_deadlock_stack=1"
[ -r "$root/tests/tsan.supp" ] && tsan_options="$tsan_options suppressions=$root/tests/tsan.supp"

failed=0
total_reports=0
# round NAME UDBA SECONDS
round() {
	d=$tmp/$1
	mkdir -p "$d/base" "$d/top" "$d/m" || exit 2
	"$conc" setup "$d/base" "$procs" "$threads" || exit 2
	started=$(date +%s)
	AUFS_MOUNTS="none $d/m aufs br:$d/top=rw:$d/base=ro,udba=$2 0 0" LD_PRELOAD=$lib \
		TSAN_OPTIONS=$tsan_options \
		timeout -k 10 $(($3 * 4 + 300)) "$conc" run "$d/m" "$d/top" "$procs" "$threads" "$3" \
		>"$d/out" 2>"$d/log"
	rc=$?
	took=$(($(date +%s) - started))
	reports=$(grep -c '^WARNING: ThreadSanitizer:' "$d/log")
	total_reports=$((total_reports + reports))
	summary=$(grep '^conc:' "$d/out" | tail -n 1)
	echo "tsan-conc: udba=$2: ${summary:-conc printed no summary (exit $rc)}; $reports ThreadSanitizer reports; ${took} s"
	if [ "$reports" -gt 0 ]; then
		grep -A 40 '^WARNING: ThreadSanitizer:' "$d/log" | head -n 400
	fi
	if [ "$rc" != 0 ] || [ "$reports" != 0 ]; then
		grep -v '^WARNING: ThreadSanitizer:' "$d/log" | grep '^conc:' | head -n 20
		failed=1
	fi
}

echo "tsan-conc: $procs processes x $threads threads, library and conc under ThreadSanitizer ($B)"
round reval reval "$seconds"
round none none $((seconds / 3))
round inotify inotify $((seconds / 3))
echo "tsan-conc: $total_reports ThreadSanitizer reports in all"
exit $failed
