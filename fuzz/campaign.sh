#!/usr/bin/env bash
# campaign.sh HARNESS [CORES] [SECONDS] - run an AFL++ campaign on one harness.
#
# One main instance (-M) and CORES-1 secondaries (-S), the first secondary
# with a CMPLOG binary; resumable (AFL_AUTORESUME: run it again to continue);
# no UI, no CPU-frequency checks (containers). SECONDS bounds the run (0 or
# absent: until interrupted). Output in fuzz/out/HARNESS.
#
# Several machines: give each machine its own instance names (FUZZ_NAME_PREFIX)
# and share fuzz/out/HARNESS (e.g. rsync it both ways every few minutes, or
# mount it): AFL++ instances sync through the queue directories they find in
# the same -o directory.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
harness=${1:?usage: campaign.sh HARNESS [CORES] [SECONDS]}
cores=${2:-$(nproc)}
seconds=${3:-0}
prefix=${FUZZ_NAME_PREFIX:-$(hostname -s)}
build=$("$root/fuzz/build-afl.sh")
out=$root/fuzz/out/$harness
mkdir -p "$out"
dict=()
[ -f "$root/fuzz/dict/$harness.dict" ] && dict=(-x "$root/fuzz/dict/$harness.dict")
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_AUTORESUME=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
bound=()
[ "$seconds" -gt 0 ] && bound=(-V "$seconds")
bin=$build/plain/fuzz/fuzz_${harness}_afl
cmplog=$build/cmplog/fuzz/fuzz_${harness}_afl
[ -x "$bin" ] || { echo "campaign: no harness '$harness' ($bin)" >&2; exit 2; }
pids=()
for i in $(seq 0 $((cores - 1))); do
	if [ "$i" -eq 0 ]; then
		role=(-M "$prefix-main")
	elif [ "$i" -eq 1 ]; then
		role=(-S "$prefix-cmplog" -c "$cmplog")
	else
		role=(-S "$prefix-s$i")
	fi
	afl-fuzz "${role[@]}" -i "$root/fuzz/corpus/$harness" -o "$out" "${dict[@]}" "${bound[@]}" \
		-- "$bin" > "$out/${role[1]}.log" 2>&1 &
	pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
afl-whatsup -s "$out" || true
exit $status
