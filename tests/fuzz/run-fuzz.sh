#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run one libFuzzer harness for a bounded time (VP_FUZZ_TIME seconds, default 30) on a copy of
# its committed corpus and regression inputs, so the repository is never modified. Fails when
# the fuzzer finds a crash, a leak, a UBSan report, a timeout or an out-of-memory input, and
# then says where the input is and how to commit it. Prints one summary line either way.
#
# Usage: run-fuzz.sh FUZZER NAME FUZZ-SRCDIR WORKDIR
set -eu
[ $# -eq 4 ] || { echo "usage: $0 FUZZER NAME FUZZ-SRCDIR WORKDIR" >&2; exit 2; }
fuzzer=$1 name=$2 src=$3 work=$4
secs=${VP_FUZZ_TIME:-30}
case "$secs" in '' | *[!0-9]*) echo "VP_FUZZ_TIME must be a number of seconds" >&2; exit 2 ;; esac

# The corpus copy is kept between runs of the same build dir (it only grows: new inputs that
# reached new code); the seeds are copied in again each time, so edits to them count.
corpus=$work/corpus
artifacts=$work/artifacts
mkdir -p "$corpus" "$artifacts"
rm -f "$artifacts"/*
cp "$src/corpus/$name"/* "$corpus"/
if [ -d "$src/regressions/$name" ]; then
	find "$src/regressions/$name" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$corpus"/ \;
fi
seeds=$(find "$corpus" -type f | wc -l)

set -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	-error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$artifacts/"
[ ! -f "$src/$name.dict" ] || set -- "$@" -dict="$src/$name.dict"

log=$work/fuzz.log
rc=0
# libFuzzer's own exit codes (77 for a crash) would read as "skipped" to meson: any failure is 1.
# The outer timeout is a last resort should the fuzzer itself hang.
ASAN_OPTIONS=detect_leaks=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	timeout -k 10 $((secs + 300)) "$fuzzer" "$@" "$corpus" >"$log" 2>&1 || rc=1

# Executions: the final stats, or the last status line ("#12345 ...") when a crash cut it short.
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1/p' "$log" | tail -n 1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n 1)
rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
found=$(find "$artifacts" -type f | wc -l)
if [ "$rc" -eq 0 ]; then how="in $secs s (${speed:-?}/s)"; else how="then a failure"; fi
files=$(find "$corpus" -type f | wc -l)
summary="fuzz-$name: ${execs:-?} executions $how, ${new:-?} new inputs,"
summary="$summary corpus $seeds -> $files files, peak RSS ${rss:-?} MB, $found crash inputs"
echo "$summary" | tee "$work/summary.txt"

if [ "$rc" -ne 0 ]; then
	echo "FAILED: the fuzzer stopped with an error; its report (whole log: $log):"
	# From the sanitizer's or libFuzzer's first error line to the sanitizer's summary.
	first='==ERROR:\|runtime error:\|invariant broken\|ERROR: libFuzzer'
	report=$(sed -n "/$first/,/^SUMMARY:/p" "$log" | head -n 80)
	if [ -n "$report" ]; then echo "$report"; else tail -n 40 "$log"; fi
	for f in "$artifacts"/*; do
		[ -f "$f" ] || continue
		echo "input: $f"
		echo "  reproduce: $fuzzer $f"
		echo "  minimize:  $fuzzer -minimize_crash=1 -runs=100000 -exact_artifact_path=$f.min $f"
		echo "  then commit it as tests/fuzz/regressions/$name/WHAT-IT-BREAKS (replay-$name replays it)"
	done
fi
exit "$rc"
