#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/tenants.sh: the tenants scale step of make bench (bench/run.sh, phase "tenants"; it also
# runs alone). For host tables of 10 to 100,000 fstab lines, one a tenant,
#   none W/www/tN aufs br:W/tenants/tN=rw:W/cms=ro 0 0
# it measures the compile time (aufsctl load), the start-up an exec'd child adds over native
# /bin/true, the private memory the library adds to a child that stats one tenant's base file,
# and the cost of such a stat (ns in a loop; instructions with callgrind). See bench/README.md.
#
#   B=DIR                  the build (default build)
#   BENCH_TENANTS="..."    the table sizes (10 1000 10000 100000)
#   BENCH_TENANTS_SPAWNS=N spawns of /bin/true per size and side, interleaved (500)
#   BENCH_TMP=DIR          scratch (default /dev/shm/aufs-tenants.PID, removed at the end)
#   BENCH_OUT=DIR          results (bench/results): the table in DIR/raw/tenants.md, the numbers
#                          in DIR/raw/tenants.csv; bench/report.sh adds them to results.md
# The budgets of issue 12 are printed next to the figures, never enforced.
set -u
export LC_ALL=C
umask 022

here=$(cd "$(dirname "$0")" && pwd)
topdir=$(dirname "$here")
cd "$topdir" || exit 1
B=${B:-build}
case $B in /*) ;; *) B=$topdir/$B ;; esac
SIZES=${BENCH_TENANTS:-10 1000 10000 100000}
SPAWNS=${BENCH_TENANTS_SPAWNS:-500}
OUT=${BENCH_OUT:-$here/results}
RAW=$OUT/raw
W=${BENCH_TMP:-/dev/shm/aufs-tenants.$$}
LIB=$B/libaufs-preload.so
if [ -x "$B/aufsctl" ]; then AUFSCTL=$B/aufsctl; else AUFSCTL=; fi
PROBE=$B/bench/tenants
SECONDS=0
NOTES=()

log() { printf '[%4ds] tenants: %s\n' "$SECONDS" "$*" >&2; }
note() { NOTES+=("$*"); log "note: $*"; }
cleanup() {
	[ -d "$W" ] || return 0
	# the unions' shared states (System V segments) outlive the scratch tree
	[ -x "$B/helper/shm-probe" ] && "$B/helper/shm-probe" sweep "$W"
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -r "$LIB" ] || { echo "tenants: $LIB is missing (make first)" >&2; exit 1; }
mkdir -p "$RAW" "$B/bench" "$W" || exit 1
FSTYPE=$(stat -f -c %T "$W")
${CC:-cc} -O2 -Wall -Wextra -o "$PROBE" bench/tenants.c || exit 1
[ -n "$AUFSCTL" ] ||
	note "no $B/aufsctl: no image; every process parses the fstab itself (compile time not measured)"
has_cg=0
command -v valgrind >/dev/null 2>&1 && has_cg=1
[ $has_cg = 1 ] || note "valgrind is not installed: no instruction counts (apt-get install valgrind)"

# The CMS every tenant shares, and a file of it: the tenants' base file.
CMS=$W/cms
mkdir -p "$CMS/wp-includes"
for f in index.php wp-config-sample.php wp-includes/version.php wp-includes/load.php; do
	printf '<?php\n/* %s */\n' "$f" >"$CMS/$f"
done
BASEFILE=wp-includes/version.php

CSV=$RAW/tenants.csv
echo "tenants,compile_ms,tool_ms,image_bytes,spawn_native_us,spawn_lib_us,startup_added_us,startup_added_mean_us,private_native_kb,private_lib_kb,private_added_kb,dirty_added_kb,stat_ns,stat_native_ns,stat_instructions,anonymous_added_kb" >"$CSV"

# ms: milliseconds since the epoch, as a decimal
ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

for n in $SIZES; do
	d=$W/t$n
	mkdir -p "$d"
	# the fstab and n tenant directories: one awk, one xargs (a few seconds at 100,000)
	awk -v d="$d" -v c="$CMS" -v n="$n" 'BEGIN {
		for (i = 1; i <= n; i++) printf "none %s/www/t%d aufs br:%s/tenants/t%d=rw:%s=ro 0 0\n", d, i, d, i, c
	}' >"$d/fstab"
	awk -v d="$d" -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) print d "/tenants/t" i }' | xargs mkdir -p
	mid=$(((n + 1) / 2))
	path=$d/www/t$mid/$BASEFILE
	img=$d/table.img
	env_lib=(LD_PRELOAD="$LIB" AUFS_FSTAB="$d/fstab")
	compile_ms= tool_ms= bytes=
	if [ -n "$AUFSCTL" ]; then
		env_lib+=(AUFS_TABLE="$img")
		t0=$(ms)
		if "$AUFSCTL" load --image "$img" "$d/fstab" >"$RAW/tenants-load.$n.txt" 2>&1; then
			compile_ms=$(($(ms) - t0))
			tool_ms=$(sed -n 's/.* bytes, \([0-9.]*\) ms$/\1/p' "$RAW/tenants-load.$n.txt")
			bytes=$(stat -c %s "$img")
		else
			note "$n tenants: aufsctl load failed: $(head -n 1 "$RAW/tenants-load.$n.txt")"
		fi
	fi
	# the stat must work through the union before anything is timed
	if ! env "${env_lib[@]}" "$PROBE" stat 1 "$path" >/dev/null 2>"$RAW/tenants-err.$n.txt"; then
		note "$n tenants: a stat of $path fails through the union: $(head -n 1 "$RAW/tenants-err.$n.txt")"
		echo "$n,$compile_ms,$tool_ms,$bytes,,,,,,,,,,,," >>"$CSV"
		rm -rf "$d"
		continue
	fi
	# a start-up that takes seconds (a table parsed in every process) gets a few spawns only
	spawns=$SPAWNS slow=0
	t0=$(ms)
	env "${env_lib[@]}" /bin/true
	if [ $(($(ms) - t0)) -gt 200 ]; then
		spawns=3 slow=1
		note "$n tenants: a child under the library takes $(($(ms) - t0)) ms to start: 3 spawns, no callgrind"
	fi
	log "$n tenants: compiled in ${compile_ms:-?} ms; $spawns spawns of /bin/true each way"
	spawn_args=()
	for e in "${env_lib[@]}"; do spawn_args+=(-e "$e"); done
	read -r sn_med sn_mean sl_med sl_mean < <("$PROBE" spawn -n "$spawns" "${spawn_args[@]}" /bin/true)
	start_med=$(awk -v a="${sl_med:-}" -v b="${sn_med:-}" 'BEGIN { if (a != "" && b != "") printf "%.1f", a - b }')
	start_mean=$(awk -v a="${sl_mean:-}" -v b="${sn_mean:-}" 'BEGIN { if (a != "" && b != "") printf "%.1f", a - b }')
	# private memory: the median of 5 children each way
	pn=() pl=() dn=() dl=() an=() al=()
	for _ in 1 2 3 4 5; do
		read -r p q a < <(env -u LD_PRELOAD "$PROBE" mem "$CMS/$BASEFILE")
		pn+=("$p") dn+=("$q") an+=("$a")
		read -r p q a < <(env "${env_lib[@]}" "$PROBE" mem "$path")
		pl+=("$p") dl+=("$q") al+=("$a")
	done
	med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
	priv_n=$(med "${pn[@]}") priv_l=$(med "${pl[@]}")
	dirty_added=$(($(med "${dl[@]}") - $(med "${dn[@]}")))
	anon_added=$(($(med "${al[@]}") - $(med "${an[@]}")))
	# a stat of the tenant's base file: ns in a loop of 100,000, native and through the union
	stat_ns=$(env "${env_lib[@]}" "$PROBE" stat 100000 "$path")
	stat_native=$("$PROBE" stat 100000 "$CMS/$BASEFILE")
	instr=
	if [ $has_cg = 1 ] && [ $slow = 0 ]; then
		ir=()
		for c in 1000 11000; do
			env "${env_lib[@]}" valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" \
				"$PROBE" stat $c "$path" >/dev/null 2>>"$RAW/tenants-callgrind.err"
			ir+=("$(awk '/^(summary|totals):/ { print $2; exit }' "$W/cg.out" 2>/dev/null)")
			rm -f "$W/cg.out"
		done
		[ -n "${ir[0]}" ] && [ -n "${ir[1]}" ] && instr=$(((ir[1] - ir[0]) / 10000))
	fi
	echo "$n,$compile_ms,$tool_ms,$bytes,$sn_med,$sl_med,$start_med,$start_mean,$priv_n,$priv_l,$((priv_l - priv_n)),$dirty_added,$stat_ns,$stat_native,$instr,$anon_added" >>"$CSV"
	log "$n tenants: start-up +$start_med us, private +$((priv_l - priv_n)) kB, stat $stat_ns ns ${instr:+($instr instructions)}"
	[ -x "$B/helper/shm-probe" ] && "$B/helper/shm-probe" sweep "$d"
	rm -rf "$d"
done

# ------------------------------------------------------------------ the table
MD=$RAW/tenants.md
{
	echo "## Tenants: a host table of N fstab lines"
	echo
	echo "One line a tenant, \`none W/www/tN aufs br:W/tenants/tN=rw:W/cms=ro 0 0\`, on $FSTYPE$([ -n "$AUFSCTL" ] && echo ", compiled by \`aufsctl load\` into an image every process maps")."
	echo "Start-up: what a child under the library (LD_PRELOAD, AUFS_FSTAB$([ -n "$AUFSCTL" ] && echo ", AUFS_TABLE")) adds to a"
	echo "posix_spawn+waitpid of /bin/true (median of $SPAWNS, interleaved with native; mean in parentheses)."
	echo "Private: Private_Clean + Private_Dirty of /proc/self/smaps_rollup of a child that stats tenant"
	echo "N/2's base file, minus the same child without the library (median of 5; pages of the library"
	echo "and of the image that no other process maps count as private, and a page of tmpfs as dirty);"
	echo "dirty: Private_Dirty alone; anonymous: the Anonymous line, the memory the process allocated"
	echo "(the image's pages are the page cache of one file, whatever the number of processes)."
	echo "Stat: one stat of tenant N/2's base file \`$BASEFILE\`, warm: ns in a loop of 100,000 (native"
	echo "in parentheses) and user-space instructions (callgrind, 11,000 minus 1,000 stats)."
	echo
	echo "| tenants | compile (aufsctl load) | image | start-up added | private added (dirty) | anonymous added | stat | stat instructions |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F, 'NR > 1 {
		comp = $2 == "" ? "-" : sprintf("%d ms (tool: %s ms)", $2, $3)
		img = $4 == "" ? "-" : sprintf("%.1f MiB", $4 / 1048576)
		st = $7 == "" ? "failed" : sprintf("%.0f us (%.0f)", $7, $8)
		pr = $11 == "" ? "-" : sprintf("%d kB (%d kB)", $11, $12)
		sn = $13 == "" ? "-" : sprintf("%.0f ns (%.0f)", $13, $14)
		an = $16 == "" ? "-" : sprintf("%d kB", $16)
		printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, comp, img, st, pr, an, sn, $15 == "" ? "-" : $15
	}' "$CSV"
	echo
	# The budgets of issue 12, reported (make check never asserts them).
	awk -F, '
		NR > 1 && $1 == 10000 { c = $2; s = $7 }
		NR > 1 && $11 != "" && ($11 > pm || pm == "") { pm = $11 }
		NR > 1 && $15 != "" { if (lo == "" || $15 < lo) lo = $15; if ($15 > hi) hi = $15 }
		NR > 1 && $13 != "" { if (nlo == "" || $13 < nlo) nlo = $13; if ($13 > nhi) nhi = $13 }
		NR > 1 && $16 != "" { if (alo == "" || $16 < alo) alo = $16; if ($16 > ahi) ahi = $16 }
		END {
			printf "Budgets (issue 12): compile <= 1 s at 10,000: %s; start-up added <= 1 ms at 10,000: %s;",
				c == "" ? "not measured" : (c <= 1000 ? "met (" c " ms)" : "NOT met (" c " ms)"),
				s == "" ? "not measured" : (s <= 1000 ? "met (" s " us)" : "NOT met (" s " us)")
			printf " private added <= 1 MiB at every size: %s;",
				pm == "" ? "not measured" : (pm <= 1024 ? "met (at most " pm " kB)" : "NOT met (up to " pm " kB)")
			if (alo != "")
				printf " anonymous memory added: %s to %s kB;", alo, ahi
			if (lo != "")
				printf " stat flat in N: %s to %s instructions.\n", lo, hi
			else if (nlo != "")
				printf " stat flat in N: %s to %s ns.\n", nlo, nhi
			else
				printf " stat: not measured.\n"
		}' "$CSV"
	for n in "${NOTES[@]}"; do echo "- $n"; done
	echo
} >"$MD"
cat "$MD"
log "done in ${SECONDS}s; $MD, $CSV"
