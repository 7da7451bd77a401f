#!/bin/sh
# SPDX-License-Identifier: MIT
# The mechanical rules of doc/HACKING.md, derived from include/aufs/wrapfuncs.def:
#  1. every name in the table is exported by the library (nm -D), and nothing else
#     is, apart from the compiler's own symbols;
#  2. no object of the core references any name of the table (the raw-call rule);
#  3. man/aufs-preload.7 lists every name;
#  4. the coverage rule: every file function of glibc 2.36
#     (tests/glibc-2.36-file-functions.txt) is exported, or named with its reason
#     in the DELIBERATE LEAKS section of man/aufs-preload.7 - and not both.
set -e
B=${B:-build}
names=$(mktemp)
trap 'rm -f "$names" "$names.exp" "$names.core" "$names.libc" "$names.leak" "$names.gen"' EXIT
# row names: the third argument of SHIM (after the kind and the return type), the
# second of ALIAS and HAND
sed -n -e 's/^SHIM([A-Z]*, *[^,]*, *\([A-Za-z0-9_]*\),.*/\1/p' \
	-e 's/^\(ALIAS\|HAND\)([^,]*, *\([A-Za-z0-9_]*\),.*/\2/p' include/aufs/wrapfuncs.def |
	sort -u >"$names"
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
# 4. coverage. A leak line is "\fBname\fP \(em reason" between .SH DELIBERATE LEAKS
# and the next .SH.
list=tests/glibc-2.36-file-functions.txt
man=man/aufs-preload.7
grep -v '^#' "$list" | LC_ALL=C sort -u >"$names.libc"
sed -n '/^\.SH DELIBERATE LEAKS/,/^\.SH [^D]/s/^\\fB\([A-Za-z0-9_]*\)\\fP \\(em ..*/\1/p' "$man" |
	LC_ALL=C sort >"$names.leak"
dup=$(uniq -d "$names.leak")
[ -z "$dup" ] || { echo "check-symbols: listed twice in DELIBERATE LEAKS of $man:" $dup; fail=1; }
LC_ALL=C sort -u -o "$names.leak" "$names.leak"
LC_ALL=C sort -u -o "$names.exp" "$names.exp"
uncovered=$(LC_ALL=C comm -23 "$names.libc" "$names.exp" | LC_ALL=C comm -23 - "$names.leak")
for n in $uncovered; do
	printf '%s\n' "check-symbols: $n (in $list) is neither exported nor a deliberate leak: wrap it (include/aufs/wrapfuncs.def) or add the line '\\fB$n\\fP \\(em REASON' to DELIBERATE LEAKS in $man"
	fail=1
done
both=$(LC_ALL=C comm -12 "$names.exp" "$names.leak")
for n in $both; do
	echo "check-symbols: $n is exported but still a deliberate leak: delete its line" \
		"from DELIBERATE LEAKS in $man"
	fail=1
done
stray=$(LC_ALL=C comm -13 "$names.libc" "$names.leak")
for n in $stray; do
	echo "check-symbols: $n is a deliberate leak in $man but not a file function of $list"
	fail=1
done
# The list is generated from its #re lines (see its header); on glibc 2.36 it must
# still be what they generate, so an edited pattern cannot go unnoticed.
libc=/lib/x86_64-linux-gnu/libc.so.6
if [ -r "$libc" ] && ldd --version 2>/dev/null | head -n 1 | grep -q ' 2\.36$'; then
	re=$(sed -n 's/^#re //p' "$list" | paste -sd '|')
	nm -D --defined-only "$libc" |
		awk '$2 ~ /^[TWi]$/ && $3 !~ /@GLIBC_PRIVATE$/ {sub(/@.*/, "", $3); print $3}' |
		LC_ALL=C sort -u | grep -E -x "$re" >"$names.gen" || true
	if ! LC_ALL=C cmp -s "$names.gen" "$names.libc"; then
		echo "check-symbols: $list is stale (regenerate it, see its header):" \
			$(LC_ALL=C comm -3 "$names.gen" "$names.libc" | tr -d '\t')
		fail=1
	fi
fi
if [ $fail = 0 ]; then
	echo "check-symbols: $(wc -l <"$names") names exported, core clean," \
		"$(wc -l <"$names.libc") libc file functions covered ($(wc -l <"$names.leak") deliberate leaks)"
fi
exit $fail
