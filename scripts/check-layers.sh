#!/bin/sh
# SPDX-License-Identifier: MIT
# The core's layers (doc/HACKING.md): every file of src/core/ names its layer in
# its prefix, and a file may only call files of its own layer or of a layer below:
#   util -> state -> resolve -> mutate -> ops
# (util at the bottom). Edges are read from the objects themselves: the symbols
# one object leaves undefined (nm -u) that another defines. Within a layer the
# edges must not form a cycle. Prints the graph, one file and its callees a line.
set -e
B=${B:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rank() {
	case $1 in
	util_*) echo 0 ;;
	state_*) echo 1 ;;
	resolve_*) echo 2 ;;
	mutate_*) echo 3 ;;
	ops_*) echo 4 ;;
	*) echo x ;;
	esac
}

fail=0
: >"$tmp/defs"
for c in src/core/*.c; do
	f=$(basename "$c" .c)
	o="$B/src/core/$f.o"
	[ -f "$o" ] || { echo "check-layers: $o is missing (build first)"; exit 1; }
	if [ "$(rank "$f")" = x ]; then
		echo "check-layers: src/core/$f.c has no layer prefix (util_ state_ resolve_ mutate_ ops_)"
		fail=1
	fi
	# The kernel seam's entry points (include/aufs/sys.h: every raw call on a path may
	# pass through util_root.c) sit under every layer, as the kernel does: not edges.
	nm --defined-only "$o" | awk -v f="$f" '$2 ~ /^[TDBRC]$/ &&
		$3 !~ /^(aufs_root_syscall6|aufs_roots_held)$/ {print $3, f}' >>"$tmp/defs"
done
LC_ALL=C sort -o "$tmp/defs" "$tmp/defs"
: >"$tmp/edges"
for c in src/core/*.c; do
	f=$(basename "$c" .c)
	nm -u "$B/src/core/$f.o" | awk '{print $2}' | LC_ALL=C sort -u |
		LC_ALL=C join - "$tmp/defs" | awk -v f="$f" '$2 != f {print f, $2}' >>"$tmp/edges"
done
LC_ALL=C sort -u -o "$tmp/edges" "$tmp/edges"
while read -r from to; do
	rf=$(rank "$from")
	rt=$(rank "$to")
	if [ "$rf" != x ] && [ "$rt" != x ] && [ "$rt" -gt "$rf" ]; then
		syms=$(nm -u "$B/src/core/$from.o" | awk '{print $2}' | LC_ALL=C sort -u |
			LC_ALL=C join - "$tmp/defs" | awk -v t="$to" '$2 == t {print $1}' | tr '\n' ' ')
		echo "check-layers: upward edge $from -> $to (calls: $syms)"
		fail=1
	fi
done <"$tmp/edges"
if ! tsort "$tmp/edges" >/dev/null 2>"$tmp/loop"; then
	echo "check-layers: the core's files form a cycle:" $(cat "$tmp/loop")
	fail=1
fi
echo "check-layers: the core's call graph (file -> files it calls):"
for c in src/core/*.c; do
	f=$(basename "$c" .c)
	printf '  %-15s -> %s\n' "$f" "$(awk -v f="$f" '$1 == f {print $2}' "$tmp/edges" | tr '\n' ' ')"
done
[ $fail = 0 ] && echo "check-layers: ok, util -> state -> resolve -> mutate -> ops, no upward edge, no cycle"
exit $fail
