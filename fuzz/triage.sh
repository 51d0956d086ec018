#!/usr/bin/env bash
# triage.sh HARNESS - minimize every crash and hang of a campaign with
# afl-tmin, drop duplicates (same minimized bytes or same failure message),
# and store the survivors as regression cases in fuzz/regressions/HARNESS,
# which CI replays through the sanitizer build (ctest fuzz_replay_HARNESS).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
harness=${1:?usage: triage.sh HARNESS}
build=$("$root/fuzz/build-afl.sh")
bin=$build/plain/fuzz/fuzz_${harness}_afl
out=$root/fuzz/out/$harness
reg=$root/fuzz/regressions/$harness
mkdir -p "$reg"
declare -A seen_msg
n=0
for f in "$out"/*/crashes/id:* "$out"/*/hangs/id:*; do
	[ -e "$f" ] || continue
	tmp=$(mktemp)
	AFL_SKIP_CPUFREQ=1 afl-tmin -i "$f" -o "$tmp" -- "$bin" >/dev/null 2>&1 || cp "$f" "$tmp"
	sum=$(sha1sum "$tmp" | cut -c1-16)
	msg=$("$bin" < "$tmp" 2>&1 | grep -m1 'property failed\|ERROR' || true)
	if [ -e "$reg/$sum" ] || { [ -n "$msg" ] && [ -n "${seen_msg[$msg]:-}" ]; }; then
		rm -f "$tmp"
		continue
	fi
	[ -n "$msg" ] && seen_msg[$msg]=1
	mv "$tmp" "$reg/$sum"
	echo "new regression case: $reg/$sum  ${msg}"
	n=$((n + 1))
done
echo "$n new regression case(s) in $reg"
