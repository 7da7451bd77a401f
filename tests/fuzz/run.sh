#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh - make fuzz: build the libFuzzer targets of tests/fuzz/ (clang, ASan, UBSan,
# into build-fuzz/) and run each for FUZZ_SECONDS (default 60) over its corpus.
#
# The seeds are tests/fuzz/corpus/NAME/ (kept small, in the repository); what a run
# finds goes to build-fuzz/corpus/NAME/ (kept between runs, never committed), and a
# crash, leak or timeout to build-fuzz/artifacts/ as crash-*, leak-*, timeout-*: to
# reproduce, run build-fuzz/fuzz_NAME FILE. Exit status 0 when every target ran
# clean, 1 when one found something, 2 when the targets could not be built.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
seconds=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}
fb=$root/build-fuzz

if ! command -v "$cc" >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "fuzz: $cc is missing: apt-get install clang"
		apt-get install -y clang >/dev/null || { echo "fuzz: apt-get install clang failed"; exit 2; }
		cc=clang
	else
		echo "fuzz: skipped: $cc (libFuzzer) is not installed; as root: apt-get install clang"
		exit 0
	fi
fi
cd "$root" || exit 2
make --no-print-directory -j2 FUZZ_CC="$cc" fuzz-build || { echo "fuzz: the targets did not build"; exit 2; }

mkdir -p "$fb/artifacts"
failed=0
summary=
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	name=${t#fuzz_}
	mkdir -p "$fb/corpus/$name"
	echo "*** $t: $seconds s ***"
	# -timeout: an input that takes 10 s is a hang (the resolver must terminate);
	# -rss_limit_mb: a leak that LeakSanitizer cannot see (mappings).
	"$fb/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 \
		-artifact_prefix="$fb/artifacts/$t-" -print_final_stats=1 \
		"$fb/corpus/$name" "tests/fuzz/corpus/$name" >"$fb/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$fb/$t.log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$fb/$t.log" | tail -n 1)
	if [ "$rc" = 0 ]; then
		line="$t: ${runs:-?} runs, $cov, clean"
	else
		failed=1
		line="$t: FAILED (exit $rc) after ${runs:-?} runs; see $fb/$t.log and $fb/artifacts/"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+:)' "$fb/$t.log" | head -n 5
	fi
	echo "$line"
	summary="$summary$line
"
done
echo "*** summary ***"
printf '%s' "$summary"
exit $failed
