#!/usr/bin/env bash
# explore-ci.sh - a CI-sized crash exploration (about 70 s on 2 cores):
# the traces whose crash states the main job's FLUSH/FUA points miss, at
# EVERY disk write/flush completion (--mode completion, 64 states a point).
#
#   bash scripts/explore-ci.sh
#
# Which traces (chosen from traces/*.yaml by what they hold, so new ones join):
#   - fault injection: a disk with `faults:` (a failed copy invalidates a
#     snapshot in the middle of an I/O step; its header write and the writes
#     it releases land at completions no flush brackets);
#   - COW disks: a trace that writes to a device it also gives a snapshot as
#     COW (that device holds the trace's data and the store's metadata);
#   - cow-full: invalidation for want of space, the same release path;
#   - traces listed in CI_LONG (default long-random: ~90,000 completion
#     points) only at their first CI_LONG_POINTS (default 32) completion
#     points, one `--point P` run each.
# Jobs run nproc at a time (CI_JOBS); databases are merged with `snapsim db
# merge` into $CI_OUT/explore-ci.db (default out/explore-ci). Prints each job
# that failed with its repro line, then the totals. Exit 0 all passed, else
# the worst exit status of `snapsim explore` (1 violation or hang, 2 usage,
# 3 bad trace, 4 tool error).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh" >/dev/null
snapsim=$SNAPSIM_BUILD_DIR/snapsim
jobs=${CI_JOBS:-$(nproc)}
long=" ${CI_LONG:-long-random} "
long_points=${CI_LONG_POINTS:-32}
out=${CI_OUT:-$SNAPSIM_ROOT/out/explore-ci}
snapsim_fresh_outdir "$out" || exit 2
mkdir -p "$out/jobs"

# Whether trace $1 writes (or discards) through a device one of its
# snapshot tables names as COW.
writes_its_cow() {
	local t=$1 cow
	for cow in $(grep -oE -- '--table "[0-9]+ [0-9]+ snapshot(-merge)? [^ ]+ [^ ]+' "$t" |
		awk '{print $NF}' | sed -e 's|^/dev/mapper/||' -e 's|^/dev/||' | sort -u); do
		grep -qE "^ *- *(write|discard): *(\{ *dev: *)?(/dev/(mapper/)?)?$cow([ ,}]|$)" "$t" &&
			return 0
	done
	return 1
}

selected=()
for t in "$SNAPSIM_ROOT"/traces/*.yaml; do
	n=$(basename "$t" .yaml)
	if [[ $long == *" $n "* ]] || grep -qE '^ *faults:' "$t" || writes_its_cow "$t" ||
		[ "$n" = cow-full ]; then
		selected+=("$t")
	fi
done

# Jobs: "TRACE" (every completion point) or "TRACE POINT" (that point only).
{
	for t in "${selected[@]}"; do
		if [[ $long == *" $(basename "$t" .yaml) "* ]]; then
			for ((p = 0; p < long_points; p++)); do echo "$t $p"; done
		else
			echo "$t"
		fi
	done
} >"$out/jobs.txt"

run_job() {
	local t=$1 p=${2:-} stem
	stem=$out/jobs/$(basename "$t" .yaml)${p:+-point$p}
	local args=(explore "$t" --mode completion --keep-going --db "$stem.db"
		--min-dir "$out/min")
	[ -n "$p" ] && args+=(--point "$p")
	local rc=0
	"$snapsim" "${args[@]}" >"$stem.log" 2>&1 || rc=$?
	echo "$rc" >"$stem.rc"
}
export -f run_job
export snapsim out

start=$(date +%s)
xargs -P "$jobs" -L 1 bash -c 'run_job "$@"' _ <"$out/jobs.txt"

worst=0 points=0 states=0 failing=0 n=0
for rcf in "$out"/jobs/*.rc; do
	stem=${rcf%.rc}
	rc=$(cat "$rcf")
	n=$((n + 1))
	line=$(grep '^explored ' "$stem.log" | tail -1 || true)
	if [[ $line =~ :\ ([0-9]+)\ crash\ points,\ ([0-9]+)\ states\ checked,\ ([0-9]+)\ failing ]]; then
		points=$((points + BASH_REMATCH[1]))
		states=$((states + BASH_REMATCH[2]))
		failing=$((failing + BASH_REMATCH[3]))
	fi
	if [ "$rc" != 0 ]; then
		echo "FAIL $(basename "$stem") (exit class $rc):"
		grep '^  ' "$stem.log" | head -3
		[ "$rc" -gt "$worst" ] && worst=$rc
	fi
done
"$snapsim" db merge "$out/explore-ci.db" "$out"/jobs/*.db >/dev/null
rm -f "$out"/jobs/*.db*
echo "explore-ci: ${#selected[@]} traces ($(for t in "${selected[@]}"; do basename "$t" .yaml; done | tr '\n' ' ' | sed 's/ $//')), $n jobs, $jobs in parallel"
echo "explore-ci: $points crash points, $states states checked, $failing failing; $(($(date +%s) - start))s; database $out/explore-ci.db"
exit "$worst"
