#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/run.sh (make bench): aufs-preload against a plain directory, the kernel overlay and the
# FUSE unions, on one tree, in one run. See bench/README.md.
#
#   BENCH_QUICK=1        a smoke run of about 2 minutes (results in bench/results/quick/)
#   BENCH_ROUNDS=N       rounds of the interleaved runs (5; quick 2)
#   BENCH_SCALE_MAX=N    largest tree of the scale runs, 10^N files (6; quick 4)
#   BENCH_SCALE_MIN=N    smallest tree of the scale runs, 10^N files (3)
#   BENCH_TARGETS="..."  only these of: native aufs-reval aufs-none aufs-inotify overlay
#                        fuse-overlayfs unionfs-fuse
#   BENCH_PHASES="..."   only these of: micro workloads calls syscalls callgrind scale tenants
#                        wordpress
#   BENCH_TENANTS="..."  the host table sizes of the tenants phase (10 1000 10000 100000; quick: to 10000)
#   BENCH_TMP=DIR        scratch directory (default /dev/shm/aufs-bench.PID, tmpfs); no spaces
#   BENCH_OUT=DIR        where the results go (bench/results, quick: bench/results/quick)
#   BENCH_KEEP=1         keep the scratch directory
# Wall-clock numbers on a shared 2-core machine are noisy (20-30% run to run): compare targets
# within one run only. The repeatable numbers are the system calls and instructions per op.
set -u
export LC_ALL=C
umask 022

here=$(cd "$(dirname "$0")" && pwd)
topdir=$(dirname "$here")
cd "$topdir" || exit 1
B=${B:-build}
case $B in /*) ;; *) B=$topdir/$B ;; esac

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-2}; MULT=0.15; CAP=0.08
	WL_ROUNDS=$ROUNDS; PHP_FILES=20
	SC_C1=40; SC_C2=120; CG_C1=20; CG_C2=220
	CG_OPS="stat_top stat_base stat_missing stat_cold open_read readdir copyup create_unlink"
	SCALE_MAX=${BENCH_SCALE_MAX:-4}; SCALE_ROUNDS=1; BRANCH_FILES=1000; SMULT=0.2
	COPYUP_N=150; RENAME_N=120
	OUT=${BENCH_OUT:-$here/results/quick}
else
	ROUNDS=${BENCH_ROUNDS:-5}; MULT=1; CAP=0.4
	WL_ROUNDS=$ROUNDS; PHP_FILES=80
	SC_C1=100; SC_C2=300; CG_C1=50; CG_C2=550
	CG_OPS="stat_top stat_base stat_missing stat_whiteout stat_cold stat_d1 stat_d8 open_read readdir copyup append create_unlink rename mkdir_rmdir"
	SCALE_MAX=${BENCH_SCALE_MAX:-6}; SCALE_ROUNDS=3; BRANCH_FILES=10000; SMULT=1
	COPYUP_N=600; RENAME_N=300
	OUT=${BENCH_OUT:-$here/results}
fi
SC_OPS="stat_top stat_base stat_missing stat_whiteout stat_cold stat_d1 stat_d4 stat_d8 open_read readdir copyup append create_unlink rename mkdir_rmdir"
PHASES=${BENCH_PHASES:-micro workloads calls syscalls callgrind scale tenants wordpress}
SCALE_MIN=${BENCH_SCALE_MIN:-3}
W=${BENCH_TMP:-/dev/shm/aufs-bench.$$}
RAW=$OUT/raw
AUFS_RUN=$topdir/bin/aufs-run
BB=$B/bench
FSB=$BB/fsbench
MKTREE=$BB/mktree
ROOTUSER=0; [ "$(id -u)" = 0 ] && ROOTUSER=1
NOTES=()
SECONDS=0

log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }
note() { NOTES+=("$*"); log "note: $*"; }
has() { command -v "$1" >/dev/null 2>&1; }
phase_on() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

# ------------------------------------------------------------------ scratch space, cleanup
umount_under() { # every mount below $1, deepest first
	local m
	awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || fusermount3 -u "$m" 2>/dev/null || fusermount -u "$m" 2>/dev/null \
			|| umount -l "$m" 2>/dev/null
	done
}
rm_tree() {
	[ -e "$1" ] || return 0
	umount_under "$1"
	rm -rf --one-file-system "$1"
}
cleanup() {
	[ -d "$W" ] || return
	umount_under "$W"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then log "scratch kept in $W"; return; fi
	# the unions' shared states (System V segments) outlive the scratch tree
	[ -x "$B/helper/shm-probe" ] && "$B/helper/shm-probe" sweep "$W"
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ build, tools
log "bench: $([ "$QUICK" = 1 ] && echo quick || echo full) run, $ROUNDS rounds, scratch $W, results $OUT"
[ -x "$AUFS_RUN" ] && [ -r "$B/libaufs-preload.so" ] || { echo "bench: build the library first (make)" >&2; exit 1; }
mkdir -p "$BB" "$RAW" "$W" || exit 1
# the unions' tables of inode numbers go with the scratch tree, not to /dev/shm
export AUFS_XINO_DIR=$W/xino
mkdir -p "$AUFS_XINO_DIR" && chmod 1777 "$AUFS_XINO_DIR" || exit 1
CC=${CC:-cc}
$CC -O2 -Wall -Wextra -Wno-format-truncation -o "$FSB" bench/fsbench.c || exit 1
$CC -O2 -Wall -Wextra -Wno-format-truncation -o "$MKTREE" bench/mktree.c -lm || exit 1

want_pkgs=()
has fuse-overlayfs || want_pkgs+=(fuse-overlayfs)
has unionfs-fuse || want_pkgs+=(unionfs-fuse)
has gnuplot || want_pkgs+=(gnuplot-nox)
has strace || want_pkgs+=(strace)
has valgrind || want_pkgs+=(valgrind)
if [ ${#want_pkgs[@]} -gt 0 ]; then
	if [ $ROOTUSER = 1 ] && has apt-get; then
		log "installing ${want_pkgs[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${want_pkgs[@]}" >"$RAW/apt.log" 2>&1 \
			|| note "apt-get install ${want_pkgs[*]} failed (see raw/apt.log)"
	else
		note "not root: not installing ${want_pkgs[*]} (apt-get install ${want_pkgs[*]})"
	fi
fi

# ------------------------------------------------------------------ report (at the end)
finish() {
	log "report"
	REPORT_ARGS=(--out "$OUT" --raw "$RAW" --elapsed "$SECONDS" --quick "$QUICK" --rounds "$ROUNDS"
		--targets "${TARGETS[*]}" --tree "$TREE_DESC" --php "$PHP_FILES")
	{
		for t in "${TARGETS[@]}"; do echo "view $t ${VIEW[$t]:-?}"; done
		for n in "${NOTES[@]}"; do echo "note $n"; done
		echo "manifest $(cat "$RAW/manifest.txt" 2>/dev/null)"
		echo "counts sc $SC_C1 $SC_C2 cg $CG_C1 $CG_C2 mult $MULT cap $CAP scale_rounds $SCALE_ROUNDS branch_files $BRANCH_FILES"
	} >"$RAW/meta.txt"
	printf '%s\0' "${REPORT_ARGS[@]}" >"$RAW/report.args"
	"$here/report.sh" "${REPORT_ARGS[@]}"
	log "bench: done in $((SECONDS / 60))m$((SECONDS % 60))s; results in $OUT"
}

# ------------------------------------------------------------------ host tables (bench/tenants.sh)
# Before the tree, which it does not use: BENCH_PHASES=tenants makes no tree at all.
if phase_on tenants; then
	[ "$QUICK" = 1 ] && export BENCH_TENANTS=${BENCH_TENANTS:-10 1000 10000} BENCH_TENANTS_SPAWNS=${BENCH_TENANTS_SPAWNS:-200}
	log "tenants: host tables of ${BENCH_TENANTS:-10 1000 10000 100000} lines (bench/tenants.sh)"
	B=$B BENCH_TMP=$W/tenants BENCH_OUT=$OUT "$here/tenants.sh" 2>&1 | tee "$RAW/tenants.log" >&2
	[ "${PIPESTATUS[0]}" = 0 ] || note "tenants: bench/tenants.sh failed (raw/tenants.log)"
fi

# ------------------------------------------------------------------ the budget rows (bench/calls.sh)
# The write and read paths alone, in one directory of 1,000 4 KiB base files that both
# branches have: the shapes the system-call budgets are stated for (README.md). The tree's
# rows below also count what a tree adds (a directory copied up with a file, one in 13).
if phase_on calls; then
	if has strace; then
		log "calls: system calls per operation in one directory (bench/calls.sh)"
		rm -f "$RAW/calls.csv"
		B=$B CALLS_CSV=$RAW/calls.csv "$here/calls.sh" >"$RAW/calls.log" 2>&1 ||
			note "calls: bench/calls.sh failed (raw/calls.log)"
	else
		note "strace: not installed, bench/calls.sh skipped"
	fi
fi

# ------------------------------------------------------------------ WordPress (bench/wordpress.sh)
# One tenant's front page through nginx and php-fpm with the union against a native copy
# (root; it installs its Debian packages, about 4 minutes).
if phase_on wordpress; then
	log "wordpress: one tenant's front page, union against native (bench/wordpress.sh)"
	B=$B BENCH_OUT=$OUT "$here/wordpress.sh" 2>&1 | tee "$RAW/wordpress.log" >&2
	case ${PIPESTATUS[0]} in
	0) ;;
	77) note "wordpress: skipped ($(tail -1 "$RAW/wordpress.log"))" ;;
	*) note "wordpress: bench/wordpress.sh failed (raw/wordpress.log)" ;;
	esac
fi

TARGETS=()
TREE_DESC="none (no phase used it)"
tree_phase=0
for p in micro workloads syscalls callgrind scale; do phase_on $p && tree_phase=1; done
if [ $tree_phase = 0 ]; then
	finish
	exit 0
fi

# ------------------------------------------------------------------ the tree
L=$W/layers MAN=$W/man
mkdir -p "$L" "$MAN"
BASE=$L/base
if [ -d /usr/share/wordpress ]; then
	log "base: a copy of /usr/share/wordpress"
	cp -rL /usr/share/wordpress "$BASE" 2>/dev/null
	"$MKTREE" 24 "$W/chain" >/dev/null && cp -a "$W/chain/." "$BASE/" && rm -rf "$W/chain"
	TREE_DESC="a copy of /usr/share/wordpress ($(find "$BASE" -type f | wc -l) files)"
else
	"$MKTREE" -s 1 3000 "$BASE" >/dev/null || exit 1
	TREE_DESC="synthetic CMS-like tree (bench/mktree.c: 3000 .php/.css/.js files, $(find "$BASE" -type d | wc -l) directories, $(du -sm "$BASE" | cut -f1) MB)"
	log "base: $TREE_DESC"
fi
chmod -R a+rX,go-w "$BASE"

(cd "$BASE" && find . -type f | sed 's|^\./||' | sort) >"$W/base.files"
(cd "$BASE" && find . -mindepth 1 -type d | sed 's|^\./||' | sort) >"$W/base.dirs"
# The opaque directory: a leaf with 4 to 30 files, the middle one of the candidates.
OPQ=$(cd "$BASE" && find . -mindepth 1 -type f -printf '%h\n' | sed 's|^\./||' | sort | uniq -c |
	awk '$1 >= 4 && $1 <= 30 { print $2 }' | while read -r d; do
		[ -z "$(find "$d" -mindepth 1 -type d -print -quit)" ] && echo "$d"; done |
	awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }')
grep -v "^$OPQ/" "$W/base.files" | awk 'NR % 20 == 3' >"$W/override"
grep -v "^$OPQ/" "$W/base.files" | awk 'NR % 50 == 7' >"$W/whiteout"
grep "^$OPQ/" "$W/base.files" >"$W/opq.hidden"

TP=$L/top.plain
mkdir -p "$TP"
while read -r f; do # overridden files: the tenant's own copy, longer
	mkdir -p "$TP/$(dirname "$f")"
	{ cat "$BASE/$f"; printf '\n/* tenant override */\n'; } >"$TP/$f"
done <"$W/override"
awk 'NR % 8 == 1' "$W/base.dirs" | grep -v "^$OPQ\$" | while read -r d; do # new files in base dirs
	mkdir -p "$TP/$d"
	printf '<?php\n/* tenant file in %s */\nfunction tenant_%d() { return 1; }\n' "$d" "${#d}" >"$TP/$d/tenant-custom.php"
done
mkdir -p "$TP/wp-content/tenant-uploads" "$TP/$OPQ"
for i in $(seq 1 20); do
	printf '.tenant-%d { color: #%06x; }\n' "$i" "$((i * 4097))" >"$TP/wp-content/tenant-uploads/upload-$i.css"
done
printf '<?php\n/* replaces the whole directory */\n' >"$TP/$OPQ/tenant-a.php"
printf '<?php\n/* replaces it, too */\necho 2;\n' >"$TP/$OPQ/tenant-b.php"
chmod -R a+rX,go-w "$TP"

# Each union's own format of the same top branch.
cp -a "$TP" "$L/top.aufs"
touch "$L/top.aufs/.wh..wh.aufs"
while read -r f; do
	mkdir -p "$L/top.aufs/$(dirname "$f")"
	ln "$L/top.aufs/.wh..wh.aufs" "$L/top.aufs/$(dirname "$f")/.wh.$(basename "$f")"
done <"$W/whiteout"
ln "$L/top.aufs/.wh..wh.aufs" "$L/top.aufs/$OPQ/.wh..wh..opq"
if [ $ROOTUSER = 1 ]; then
	cp -a "$TP" "$L/top.ovl"
	while read -r f; do
		mkdir -p "$L/top.ovl/$(dirname "$f")"
		mknod "$L/top.ovl/$f" c 0 0
	done <"$W/whiteout"
	setfattr -n trusted.overlay.opaque -v y "$L/top.ovl/$OPQ" 2>/dev/null ||
		note "setfattr trusted.overlay.opaque failed: the overlay's opaque directory is wrong"
else
	ln -s top.aufs "$L/top.ovl" # fuse-overlayfs also reads .wh. files
fi
cp -a "$TP" "$L/top.unionfs"
mkdir -p "$L/top.unionfs/.unionfs-fuse"
while read -r f; do
	mkdir -p "$L/top.unionfs/.unionfs-fuse/$(dirname "$f")"
	: >"$L/top.unionfs/.unionfs-fuse/${f}_HIDDEN~"
done <"$W/whiteout"
mkdir -p "$L/top.unionfs/.unionfs-fuse/$(dirname "$OPQ")"
: >"$L/top.unionfs/.unionfs-fuse/${OPQ}_HIDDEN~"

# The native tree: the merged view as a plain directory.
MERGED=$L/merged
cp -a "$BASE" "$MERGED"
while read -r f; do rm -f "$MERGED/$f"; done <"$W/whiteout"
rm -rf "${MERGED:?}/$OPQ"
cp -a "$TP/." "$MERGED/"

# The manifest (paths relative to the root of the tree).
(cd "$MERGED" && find . -type f | sed 's|^\./||' | sort) >"$MAN/files.lst"
(cd "$MERGED" && find . -type d | sed 's|^\./||' | sort) >"$MAN/dirs.lst"
(cd "$TP" && find . -type f | sed 's|^\./||' | sort) >"$MAN/top.lst"
comm -23 "$MAN/files.lst" "$MAN/top.lst" >"$MAN/base.lst"
awk '{ printf "%s%sno-such-file-%d.php\n", $0 == "." ? "" : $0, $0 == "." ? "" : "/", NR }' "$MAN/dirs.lst" >"$MAN/missing.lst"
cat "$W/whiteout" "$W/opq.hidden" >"$MAN/whiteout.lst"
awk 'NR % 5 == 0' "$MAN/files.lst" >"$MAN/read.lst"
awk 'NR % 4 == 1' "$MAN/base.lst" | head -n "$COPYUP_N" >"$MAN/copyup.lst"
awk 'NR % 4 == 3' "$MAN/base.lst" | head -n "$RENAME_N" >"$MAN/rename.lst"
for d in 1 4 8; do awk -F/ -v d=$d 'NF == d' "$MAN/base.lst" | head -n 8 >"$MAN/depth$d.lst"; done
grep '\.php$' "$MAN/files.lst" | awk -v n="$PHP_FILES" -v t="$(grep -c '\.php$' "$MAN/files.lst")" \
	'NR % int(t / n > 1 ? t / n : 1) == 0' | head -n "$PHP_FILES" >"$W/php.lst"
"$FSB" -E "$MERGED" "$MAN" >"$MAN/expect" || exit 1
for f in "$MAN"/*.lst; do printf '%s=%s ' "$(basename "$f" .lst)" "$(wc -l <"$f")"; done >"$RAW/manifest.txt"
log "manifest: $(cat "$RAW/manifest.txt")"
log "top branch: $(wc -l <"$W/override") overridden, $(($(wc -l <"$MAN/top.lst") - $(wc -l <"$W/override"))) new files, $(wc -l <"$W/whiteout") whiteouts, opaque $OPQ"
view_sig() { find "$1" -path "$1/.git" -prune -o \( -type f -printf 'f %s %P\n' \) -o -printf '%y %P\n' 2>&1 | sort; }
view_sig "$MERGED" >"$W/view.native"
base_sig() { find "$BASE" -printf '%y %s %T@ %P\n' | sort | md5sum; }
BASE_SIG=$(base_sig)

# ------------------------------------------------------------------ targets
# The layer set the targets use: MERGED (native), TOP_AUFS/TOP_OVL/TOP_UN over LOWERS.
set_layers_main() {
	LAY_MERGED=$MERGED; LAY_TOP_AUFS=$L/top.aufs; LAY_TOP_OVL=$L/top.ovl; LAY_TOP_UN=$L/top.unionfs
	LAY_LOWERS=("$BASE")
}
set_layers_main

# prep TARGET DIR FRESH: mounts or prepares TARGET in DIR, sets ROOT and PFX (the command
# prefix). FRESH=1 copies the writable layer first (for the runs that write).
prep() {
	local t=$1 d=$2 fresh=$3 top lower br b
	rm_tree "$d"
	mkdir -p "$d/root"
	ROOT=$d/root PFX=()
	case $t in
	native)
		if [ "$fresh" = 1 ]; then rmdir "$d/root"; cp -a "$LAY_MERGED" "$ROOT"; else ROOT=$LAY_MERGED; fi ;;
	aufs-*)
		top=$LAY_TOP_AUFS
		[ "$fresh" = 1 ] && { cp -a "$top" "$d/top"; top=$d/top; }
		br="br:$top=rw"
		for b in "${LAY_LOWERS[@]}"; do br="$br:$b=ro"; done
		# aufs-run's session file goes with this run's tree: no earlier run's session is
		# left for it to look for in /proc, a cost that varies with the machine's processes
		mkdir -m 1777 "$d/state"
		PFX=(env AUFS_TABLE_DIR="$d/state" "$AUFS_RUN" -o "$br,udba=${t#aufs-},nowarn_perm" "$ROOT" --) ;;
	overlay|fuse-overlayfs)
		top=$LAY_TOP_OVL
		[ "$fresh" = 1 ] && { cp -a "$top/." "$d/top"; top=$d/top; }
		mkdir -p "$d/work"
		lower=$(IFS=:; echo "${LAY_LOWERS[*]}")
		if [ "$t" = overlay ]; then
			mount -t overlay overlay -o "lowerdir=$lower,upperdir=$top,workdir=$d/work" "$ROOT" || return 1
		else
			fuse-overlayfs -o "lowerdir=$lower,upperdir=$top,workdir=$d/work" "$ROOT" 2>>"$RAW/mount.err" || return 1
		fi ;;
	unionfs-fuse)
		top=$LAY_TOP_UN
		[ "$fresh" = 1 ] && { cp -a "$top" "$d/top"; top=$d/top; }
		br="$top=RW"
		for b in "${LAY_LOWERS[@]}"; do br="$br:$b=RO"; done
		unionfs-fuse -o cow,hide_meta_files "$br" "$ROOT" 2>>"$RAW/mount.err" || return 1 ;;
	esac
	return 0
}
release() { rm_tree "$1"; }

TARGETS=(native aufs-reval aufs-none aufs-inotify)
probe_target() {
	local t=$1
	if prep "$t" "$W/probe" 0 && [ -n "$(ls -A "$ROOT" 2>/dev/null)" ]; then
		TARGETS+=("$t")
	else
		note "$t: the test mount failed, skipped"
	fi
	release "$W/probe"
}
if [ $ROOTUSER = 1 ] && grep -qw overlay /proc/filesystems; then probe_target overlay
else note "overlay: needs root and the overlay file system, skipped"; fi
if has fuse-overlayfs && [ -c /dev/fuse ]; then probe_target fuse-overlayfs
else note "fuse-overlayfs: not installed or no /dev/fuse, skipped"; fi
if has unionfs-fuse && [ -c /dev/fuse ]; then probe_target unionfs-fuse
else note "unionfs-fuse: not installed or no /dev/fuse, skipped"; fi
if [ -n "${BENCH_TARGETS:-}" ]; then
	sel=()
	for t in "${TARGETS[@]}"; do case " $BENCH_TARGETS " in *" $t "*) sel+=("$t") ;; esac; done
	TARGETS=("${sel[@]}")
fi
log "targets: ${TARGETS[*]}"

# Does every target show the same tree as native? (names, types, file sizes)
declare -A VIEW
for t in "${TARGETS[@]}"; do
	[ "$t" = native ] && { VIEW[$t]=same; continue; }
	prep "$t" "$W/r/view" 0 || { VIEW[$t]="mount failed"; continue; }
	if [ ${#PFX[@]} -gt 0 ]; then
		"${PFX[@]}" /bin/bash -c "$(declare -f view_sig); view_sig $ROOT" >"$W/view.$t"
	else
		view_sig "$ROOT" >"$W/view.$t"
	fi
	n=$(diff "$W/view.native" "$W/view.$t" | grep -c '^[<>]')
	if [ "$n" = 0 ]; then VIEW[$t]=same; else
		VIEW[$t]="differs in $n lines"
		diff "$W/view.native" "$W/view.$t" | head -n 20 >"$RAW/view-diff.$t.txt"
		note "$t: the merged view differs from native in $n lines (raw/view-diff.$t.txt)"
	fi
	release "$W/r/view"
done

# run_fsbench TARGET FRESH ARGS...: the fsbench output lines
FSB_ERR=$RAW/fsbench.err
: >"$FSB_ERR"
run_fsbench() {
	local t=$1 fresh=$2
	shift 2
	prep "$t" "$W/r/$t" "$fresh" || { echo "# mount failed"; return 1; }
	echo "== $t $*" >>"$FSB_ERR"
	"${PFX[@]}" "$FSB" "$@" "$ROOT" "$MAN" 2>>"$FSB_ERR"
	release "$W/r/$t"
}

# ------------------------------------------------------------------ micro-benchmarks
if phase_on micro; then
	log "micro: ${#TARGETS[@]} targets x $ROUNDS rounds, interleaved, fresh layers each run"
	echo "round,target,op,ops_per_sec" >"$RAW/micro.csv"
	for r in $(seq 1 "$ROUNDS"); do
		for t in "${TARGETS[@]}"; do
			run_fsbench "$t" 1 -v -e "$MAN/expect" -n "$MULT" -t "$CAP" |
				awk -v r="$r" -v t="$t" 'NF == 2 && $1 !~ /^#/ { print r "," t "," $1 "," $2 }' >>"$RAW/micro.csv"
		done
		log "micro: round $r done"
	done
	[ "$(base_sig)" = "$BASE_SIG" ] || note "THE BASE BRANCH CHANGED during the micro-benchmarks"
fi

# ------------------------------------------------------------------ whole programs
us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }
if phase_on workloads; then
	log "workloads: sh -c true, find, tar, du, grep -r, php -l ($PHP_FILES files), git status; $WL_ROUNDS rounds"
	declare -A WROOT WPFX
	wl_targets=()
	i=0
	for t in "${TARGETS[@]}"; do
		if prep "$t" "$W/w/$i" 1; then
			WROOT[$t]=$ROOT WPFX[$t]="${PFX[*]}"; wl_targets+=("$t")
		else note "$t: mount for the workloads failed"; fi
		i=$((i + 1))
	done
	WL_NAMES=(find tar du grep php git_status)
	wl_cmd() {
		case $1 in
		startup) echo "true" ;;
		find) echo "find . | wc -l" ;;
		tar) echo "tar cf /dev/null ." ;;
		du) echo "du -s . | cut -f1" ;;
		grep) echo "grep -r aufs_bench_needle . | wc -l" ;;
		php) echo "xargs -n1 php -l <$W/php.lst | grep -c 'No syntax errors'" ;;
		git_status) echo "git status --porcelain | wc -l" ;;
		esac
	}
	wl_reps() { case $1 in startup) echo 10 ;; php) echo 1 ;; *) echo 3 ;; esac; }
	wl_run() { # target workload -> seconds per run (the mean of a few back-to-back runs); output in $W/wl.out
		local t=$1 cmd t0 t1 pfx i reps
		cmd=$(wl_cmd "$2")
		reps=$(wl_reps "$2")
		read -r -a pfx <<<"${WPFX[$t]}"
		t0=$(us)
		for ((i = 0; i < reps; i++)); do
			"${pfx[@]}" /bin/sh -c "cd ${WROOT[$t]} && $cmd" >"$W/wl.out" 2>"$W/wl.err"
		done
		t1=$(us)
		awk -v a="$t0" -v b="$t1" -v n="$reps" 'BEGIN { printf "%.5f\n", (b - a) / 1e6 / n }'
	}
	echo "round,target,workload,seconds,output" >"$RAW/workloads.csv"
	php_ok=1; has php || { php_ok=0; note "php: not installed, php -l skipped"; }
	for r in $(seq 0 "$WL_ROUNDS"); do # round 0 warms the caches and is not recorded
		for t in "${wl_targets[@]}"; do
			for w in startup find tar du grep php; do
				[ $w = php ] && { [ $php_ok = 0 ] || [ "$r" = 0 ]; } && continue
				[ "$r" = 0 ] && { wl_run "$t" $w >/dev/null; continue; }
				s=$(wl_run "$t" $w)
				echo "$r,$t,$w,$s,$(head -c 40 "$W/wl.out" | tr ',\n' '; ')" >>"$RAW/workloads.csv"
			done
		done
	done
	if has git; then
		for t in "${wl_targets[@]}"; do # a repository committed through the union (untimed)
			read -r -a pfx <<<"${WPFX[$t]}"
			"${pfx[@]}" /bin/sh -c "cd ${WROOT[$t]} && git init -q && git add -A &&
				git -c user.name=bench -c user.email=bench@localhost commit -q -m base &&
				git status --porcelain >/dev/null" >"$RAW/git-setup.$t.log" 2>&1 ||
				note "$t: git init/commit failed (raw/git-setup.$t.log)"
		done
		for r in $(seq 1 "$WL_ROUNDS"); do
			for t in "${wl_targets[@]}"; do
				s=$(wl_run "$t" git_status)
				echo "$r,$t,git_status,$s,$(head -c 40 "$W/wl.out" | tr ',\n' '; ')" >>"$RAW/workloads.csv"
			done
		done
	else
		note "git: not installed, git status skipped"
	fi
	rm_tree "$W/w"
	log "workloads: done"
fi

# ------------------------------------------------------------------ system calls per op
# Two runs of one operation with counts C1 and C2 under strace -c -f; the difference of the
# counts divided by C2-C1 is the cost of one warm operation (start-up and warm-up cancel).
# c2 OP C2: the larger count for OP, no more than its list holds (each file once)
c2() {
	case $1 in
	copyup|append) [ "$2" -gt "$COPYUP_N" ] && { echo "$COPYUP_N"; return; } ;;
	rename) [ "$2" -gt "$RENAME_N" ] && { echo "$RENAME_N"; return; } ;;
	esac
	echo "$2"
}
strace_counts() { # strace -c output file -> "name calls" lines
	awk '/^-----/ { sect++; next } sect == 1 && NF >= 4 { print $NF, $4 } sect == 2 && $NF == "total" { print "total", $4 }' "$1"
}
if phase_on syscalls && has strace; then
	log "syscalls: strace -c -f, counts $SC_C1 and $SC_C2"
	echo "target,op,syscalls_per_op,detail" >"$RAW/syscalls.csv"
	for t in native aufs-reval aufs-none aufs-inotify; do
		case " ${TARGETS[*]} " in *" $t "*) ;; *) continue ;; esac
		# a first run makes the library's shared state file, so that both counted runs find it
		prep "$t" "$W/r/$t" 1 && "${PFX[@]}" "$FSB" -o stat_d1 -c 1 "$ROOT" "$MAN" >/dev/null 2>&1
		release "$W/r/$t"
		for op in $SC_OPS; do
			C2=$(c2 "$op" "$SC_C2")
			for c in $SC_C1 $C2; do
				prep "$t" "$W/r/$t" 1 || continue
				strace -f -c -o "$W/strace.$c" "${PFX[@]}" "$FSB" -o "$op" -c "$c" "$ROOT" "$MAN" >/dev/null 2>>"$FSB_ERR"
				release "$W/r/$t"
				strace_counts "$W/strace.$c" >"$W/strace.$c.txt"
			done
			awk -v n=$((C2 - SC_C1)) -v t="$t" -v op="$op" '
				FNR == NR { a[$1] = $2; next } { b[$1] = $2 }
				END {
					for (k in a) if (!(k in b)) b[k] = 0
					det = ""
					for (k in b) if (k != "total") { v = (b[k] - a[k]) / n; if (v >= 0.005 || v <= -0.005) det = det sprintf("%s %.2f; ", k, v) }
					printf "%s,%s,%.2f,%s\n", t, op, (b["total"] - a["total"]) / n, det
				}' "$W/strace.$SC_C1.txt" "$W/strace.$C2.txt" >>"$RAW/syscalls.csv"
		done
	done
	log "syscalls: done"
elif phase_on syscalls; then note "strace: not installed, syscall counts skipped"; fi

# ------------------------------------------------------------------ instructions per op
if phase_on callgrind && has valgrind; then
	log "callgrind: counts $CG_C1 and $CG_C2, ops: $CG_OPS"
	NORAND=() # no address-space randomisation: fewer one-off differences between the two runs
	setarch "$(uname -m)" -R true 2>/dev/null && NORAND=(setarch "$(uname -m)" -R)
	echo "target,op,instructions_per_op" >"$RAW/callgrind.csv"
	for t in native aufs-reval; do
		case " ${TARGETS[*]} " in *" $t "*) ;; *) continue ;; esac
		prep "$t" "$W/r/$t" 1 && "${PFX[@]}" "$FSB" -o stat_d1 -c 1 "$ROOT" "$MAN" >/dev/null 2>&1
		release "$W/r/$t"
		for op in $CG_OPS; do
			ir=()
			C2=$(c2 "$op" "$CG_C2")
			for c in $CG_C1 $C2; do
				prep "$t" "$W/r/$t" 1 || continue
				"${PFX[@]}" "${NORAND[@]}" valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" \
					--toggle-collect='*_pass' \
					"$FSB" -o "$op" -c "$c" "$ROOT" "$MAN" >/dev/null 2>>"$RAW/callgrind.err"
				release "$W/r/$t"
				ir+=("$(awk '/^(summary|totals):/ { print $2; exit }' "$W/cg.out" 2>/dev/null)")
				rm -f "$W/cg.out"
			done
			if [ -n "${ir[0]:-}" ] && [ -n "${ir[1]:-}" ]; then
				echo "$t,$op,$(((ir[1] - ir[0]) / (C2 - CG_C1)))" >>"$RAW/callgrind.csv"
			else
				echo "$t,$op," >>"$RAW/callgrind.csv"
			fi
		done
	done
	log "callgrind: done"
elif phase_on callgrind; then note "valgrind: not installed, instruction counts skipped"; fi

# ------------------------------------------------------------------ scale
# stat of every file (the first touch in a new process, then warm) and readdir of every
# directory, on trees of 10^3.. files over 2 branches and of BRANCH_FILES files over 2..32.
scale_run() { # kind param nfiles nbranches [-u]
	local kind=$1 param=$2 n=$3 k=$4 u=${5:-} d=$W/scale i bs=() t r z=4096 rounds=$SCALE_ROUNDS
	# large trees: one round; a million names: empty files (stat and readdir do not read them)
	[ "$n" -ge 100000 ] && rounds=1
	[ "$n" -ge 1000000 ] && z=0
	rm_tree "$d"
	mkdir -p "$d"
	"$MKTREE" -s 7 -z $z "$n" "$d/merged" >/dev/null
	for i in $(seq 0 $((k - 1))); do bs+=("$d/b$i"); done
	"$MKTREE" -s 7 -z $z $u "$n" "${bs[@]}" >/dev/null
	chmod -R a+rX,go-w "$d"
	LAY_MERGED=$d/merged LAY_TOP_AUFS=$d/b0 LAY_TOP_OVL=$d/b0 LAY_TOP_UN=$d/b0
	LAY_LOWERS=("${bs[@]:1}")
	local man=$d/man
	mkdir -p "$man"
	# a million names: every 20th file and directory is measured, spread over the whole tree
	local every=1
	[ "$n" -ge 1000000 ] && every=20
	(cd "$d/merged" && find . -type f | sed 's|^\./||' | sort) |
		awk -v e=$every 'NR % e == 1 || e == 1' >"$man/files.lst"
	(cd "$d/merged" && find . -type d | sed 's|^\./||' | sort) |
		awk -v e=$every 'NR % e == 1 || e == 1' >"$man/dirs.lst"
	"$FSB" -E "$d/merged" "$man" >"$man/expect"
	for r in $(seq 1 "$rounds"); do
		for t in "${TARGETS[@]}"; do
			# unionfs-fuse needs minutes per pass over 10^5 names (0.04x native at 10^4)
			[ "$t" = unionfs-fuse ] && [ "$n" -ge 100000 ] && continue
			MAN=$man run_fsbench "$t" 0 -v -o stat_cold,stat_all,readdir -e "$man/expect" -n "$SMULT" -t "$CAP" |
				awk -v k="$kind" -v p="$param" -v r="$r" -v t="$t" \
					'NF == 2 && $1 !~ /^#/ { print k "," p "," r "," t "," $1 "," $2 }' >>"$RAW/scale.csv"
		done
	done
	# warm stat: system calls per operation of aufs-reval (every file was looked up once before)
	if [ "$kind" = files ] && has strace && case " ${TARGETS[*]} " in *" aufs-reval "*) true ;; *) false ;; esac; then
		local c sc=()
		for c in 2000 6000; do
			prep aufs-reval "$W/r/aufs-reval" 0 &&
				MAN=$man strace -f -c -o "$W/strace.scale" "${PFX[@]}" "$FSB" -o stat_all -c $c "$ROOT" "$man" >/dev/null 2>>"$FSB_ERR"
			release "$W/r/aufs-reval"
			sc+=("$(strace_counts "$W/strace.scale" | awk '$1 == "total" { print $2 }')")
		done
		[ -n "${sc[0]}" ] && [ -n "${sc[1]}" ] &&
			echo "$param,$(awk -v a="${sc[0]}" -v b="${sc[1]}" 'BEGIN { printf "%.2f", (b - a) / 4000 }')" >>"$RAW/scale-syscalls.csv"
	fi
	rm_tree "$d"
	log "scale: $kind=$param ($n files, $k branches) done"
}
if phase_on scale; then
	echo "kind,param,round,target,op,ops_per_sec" >"$RAW/scale.csv"
	echo "files,aufs_reval_syscalls_per_warm_stat" >"$RAW/scale-syscalls.csv"
	[ "$SCALE_MAX" -ge 6 ] || note "scale: 10^6 files skipped (BENCH_SCALE_MAX=6 enables it)"
	note "scale: 10^5 files and more in one round, without unionfs-fuse (minutes per pass); at 10^6 files (empty ones) every 20th file and directory is measured"
	for e in $(seq "$SCALE_MIN" "$SCALE_MAX"); do scale_run files $((10 ** e)) $((10 ** e)) 2; done
	for k in 2 8 32; do scale_run branches $k "$BRANCH_FILES" $k -u; done
	set_layers_main
fi

# ------------------------------------------------------------------ report
finish
