#!/usr/bin/env bash
# smoke.sh [SECONDS] - prove the AFL++ build works: build every harness with
# afl-clang-fast and run each under afl-fuzz for SECONDS (default 10), one
# core, from its committed corpus. Fails if a harness does not run, or if it
# finds a crash (triage it with fuzz/triage.sh, fix it, commit the case).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-10}
build=$("$root/fuzz/build-afl.sh")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
status=0
for src in "$root"/fuzz/fuzz_*.c; do
	h=$(basename "$src" .c)
	h=${h#fuzz_}
	dict=()
	[ -f "$root/fuzz/dict/$h.dict" ] && dict=(-x "$root/fuzz/dict/$h.dict")
	afl-fuzz -i "$root/fuzz/corpus/$h" -o "$out/$h" "${dict[@]}" -V "$seconds" \
		-- "$build/plain/fuzz/fuzz_${h}_afl" > "$out/$h.log" 2>&1 || true
	stats=$out/$h/default/fuzzer_stats
	if [ ! -f "$stats" ]; then
		echo "fuzz smoke: $h: afl-fuzz did not start"; tail -5 "$out/$h.log"; status=1; continue
	fi
	execs=$(awk '/^execs_done/ {print $3}' "$stats")
	eps=$(awk '/^execs_per_sec/ {print $3}' "$stats")
	edges=$(awk '/^edges_found/ {print $3}' "$stats")
	crashes=$(awk '/^saved_crashes/ {print $3}' "$stats")
	echo "fuzz smoke: $h: ${execs} execs (${eps}/s), ${edges} edges, ${crashes} crashes"
	if [ "${execs:-0}" -eq 0 ] || [ "${crashes:-0}" -ne 0 ]; then
		status=1
		ls "$out/$h/default/crashes" 2>/dev/null | head -3
	fi
done
exit $status
