#!/bin/bash
# SPDX-License-Identifier: MIT
# calls.sh: system calls per warm operation of the write paths (and two read paths), native
# and through the union, from strace -c -f of bench/calls.c run with two counts: the
# difference of the totals divided by the difference of the counts, so that start-up,
# lookups of the list and warm-up cancel out. Two branches (top rw, base ro), the union's
# directory looked up first. Prints one row per operation and, with -v, the calls of each.
#
#   bench/calls.sh [-v] [OP...]     (OPs of bench/calls.c; default: all; B=build dir)
#   OPTS=negttl=0 bench/calls.sh miss  (OPTS: more options of the union)
#   CALLS_CSV=FILE bench/calls.sh   (also FILE: op,native,union,the union's calls; make bench)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
B=${B:-$root/build}
verbose=0
[ "${1:-}" = -v ] && { verbose=1; shift; }
ops=${*:-create mkdir rename append readdir stat miss read}
C1=100
C2=600

# the build's own aufs-run and library (bin/aufs-run would take build/'s)
RUN=(env AUFS_LIBRARY="$B/libaufs-preload.so" "$B/aufs-run")
command -v strace >/dev/null || { echo "calls.sh: strace is not installed" >&2; exit 2; }
[ -x "$B/aufs-run" ] && [ -x "$B/helper/shm-probe" ] || make -C "$root" -s B="$B" >/dev/null
W=$(mktemp -d /dev/shm/aufs-calls.XXXXXX)
# the unions' shared states (System V segments) name their mount point inside: remove them
# with the scratch tree
cleanup() {
	"$B/helper/shm-probe" sweep "$W"
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$B/bench"
cc -O2 -Wall -o "$B/bench/calls" "$here/calls.c"

# the template: base/d/f0..f999 (4 KiB), base/d/sub/b0..b9, top/d/sub/t0..t9; native merges them
python3 - "$W/tpl" <<'EOF'
import os, sys
t = sys.argv[1]
for br in ("base", "top", "native"):
    os.makedirs(f"{t}/{br}/d/sub")
data = b"x" * 4096
for i in range(1000):
    for br in ("base", "native"):
        with open(f"{t}/{br}/d/f{i}", "wb") as f:
            f.write(data)
for i in range(10):
    for br, pfx in (("base", "b"), ("top", "t"), ("native", "b"), ("native", "t")):
        open(f"{t}/{br}/d/sub/{pfx}{i}", "w").close()
EOF
chmod -R a-w "$W/tpl/base"
mkdir "$W/mnt"

# The unions' tables of inode numbers and aufs-run's session files go with each run's
# tree: no earlier run's session is left for aufs-run to look for in /proc (a cost that
# varies with the processes of the machine, and would not cancel out).
fresh() {
	rm -rf "$W/run"
	mkdir "$W/run"
	cp -a "$W/tpl/base" "$W/tpl/top" "$W/tpl/native" "$W/run/"
	mkdir -m 1777 "$W/run/state"
	export AUFS_XINO_DIR="$W/run/state" AUFS_TABLE_DIR="$W/run/state"
}
run() { # TARGET OP COUNT OUT
	fresh
	if [ "$1" = native ]; then
		strace -f -c -o "$4" "$B/bench/calls" "$2" "$3" "$W/run/native/d"
	else
		strace -f -c -o "$4" "${RUN[@]}" -o "br:$W/run/top=rw:$W/run/base=ro,nowarn_perm${OPTS:+,$OPTS}" "$W/mnt" -- \
			"$B/bench/calls" "$2" "$3" "$W/mnt/d"
	fi
}
counts() { # strace -c output -> "name calls" lines
	awk '/^-----/ { sect++; next } sect == 1 && NF >= 4 { print $NF, $4 } sect == 2 && $NF == "total" { print "total", $4 }' "$1"
}
per_op() { # A B -> "total detail"
	awk -v n=$((C2 - C1)) '
		FNR == NR { a[$1] = $2; next } { b[$1] = $2 }
		END {
			for (k in a) if (!(k in b)) b[k] = 0
			det = ""
			for (k in b) if (k != "total") { v = (b[k] - a[k]) / n; if (v >= 0.005 || v <= -0.005) det = det sprintf("%s %.2f; ", k, v) }
			printf "%.2f\t%s\n", (b["total"] - a["total"]) / n, det
		}' "$1" "$2"
}

# Each run makes the shared state of its fresh top branch (a link there, a segment): the same
# calls in both counts, which cancel.

printf '%-8s %8s %8s\n' op native union
for op in $ops; do
	res=()
	for t in native union; do
		run $t "$op" $C1 "$W/s1"
		run $t "$op" $C2 "$W/s2"
		counts "$W/s1" >"$W/c1"
		counts "$W/s2" >"$W/c2"
		res+=("$(per_op "$W/c1" "$W/c2")")
	done
	printf '%-8s %8s %8s\n' "$op" "${res[0]%%$'\t'*}" "${res[1]%%$'\t'*}"
	if [ -n "${CALLS_CSV:-}" ]; then
		printf '%s,%s,%s,%s\n' "$op" "${res[0]%%$'\t'*}" "${res[1]%%$'\t'*}" "${res[1]#*$'\t'}" >>"$CALLS_CSV"
	fi
	if [ $verbose = 1 ]; then
		printf '    native: %s\n    union:  %s\n' "${res[0]#*$'\t'}" "${res[1]#*$'\t'}"
	fi
done
