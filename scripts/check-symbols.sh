#!/bin/sh
# SPDX-License-Identifier: MIT
# The two mechanical rules of STYLE.md 3.5/3.7, derived from include/aufs/wrapfuncs.def:
#  1. every name in the table is exported by the library (nm -D), and nothing else
#     is, apart from the compiler's own symbols;
#  2. no object of the core references any name of the table (the raw-call rule);
#  3. man/aufs-preload.7 lists every name.
set -e
B=${B:-build}
names=$(mktemp)
trap 'rm -f "$names" "$names.exp" "$names.core"' EXIT
# row names: the second argument of SHIM/ALIAS/HAND
sed -n 's/^\(SHIM\|ALIAS\|HAND\)([^,]*, *\([A-Za-z0-9_]*\),.*/\2/p' include/aufs/wrapfuncs.def | sort -u >"$names"
nm -D --defined-only "$B/libaufs-preload.so" | awk '$2 ~ /^[TW]$/ {print $3}' | sed 's/@.*//' | sort -u >"$names.exp"
fail=0
missing=$(comm -23 "$names" "$names.exp")
extra=$(comm -13 "$names" "$names.exp" | grep -v -E '^(_init|_fini)$' || true)
if [ -n "$missing" ]; then echo "check-symbols: not exported:" $missing; fail=1; fi
if [ -n "$extra" ]; then echo "check-symbols: exported but not in wrapfuncs.def:" $extra; fail=1; fi
for o in "$B"/src/core/*.o; do
	nm -u "$o" | awk '{print $2}' | sed 's/@.*//' | sort -u >"$names.core"
	bad=$(comm -12 "$names" "$names.core")
	if [ -n "$bad" ]; then echo "check-symbols: $o calls interposed symbols:" $bad; fail=1; fi
done
# 3. the man page lists every one of them, and says how many
undocumented=$(while read -r n; do
	grep -q -E "^\.BR? $n( ,)?\$" man/aufs-preload.7 || echo "$n"
done <"$names")
if [ -n "$undocumented" ]; then echo "check-symbols: not in man/aufs-preload.7:" $undocumented; fail=1; fi
count=$(wc -l <"$names")
grep -q "exports these $count functions" man/aufs-preload.7 ||
	{ echo "check-symbols: man/aufs-preload.7 does not say \"exports these $count functions\""; fail=1; }
[ $fail = 0 ] && echo "check-symbols: $(wc -l <"$names") names exported, core clean"
exit $fail
