#!/usr/bin/env bash
# run-main.sh - install what is missing, build, and run the main job.
#
# The main job: first the seed's eight-step snapshot recipe on image files
# (persistent and transient snapshots, checked across a restart; quick), then
# the crash-consistency explorer over the bundled traces/*.yaml corpus
# (traces/bad excluded): every crash point's durable states restarted and
# checked, recorded in reports/out/explore.db and rendered to
# reports/out/report.html and report.md.
#
#   SNAPSIM_EXPLORE_MODE    crash points (default completion: every write/flush completion at a disk)
#   SNAPSIM_EXPLORE_BUDGET  states per crash point (default 64)
#   SNAPSIM_EXPLORE_JOBS    shards run in parallel (default: nproc)
#   SNAPSIM_EXPLORE_FULL    1: the long traces too in SNAPSIM_EXPLORE_MODE (slow: hours)
#
# Long traces (the list below: traces meant for replay speed and memory,
# e.g. long-random's 112,500 I/Os with a FLUSH every round, ~37,000 crash
# points) are explored at their `crash:` markers and their end only
# (--mode marked), in one job of their own beside the shards; every other
# trace at every write and flush completion. See reports/README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

out=${SNAPSIM_OUT:-$SNAPSIM_ROOT/out}
mkdir -p "$out"
snapsim=$SNAPSIM_BUILD_DIR/snapsim
status=0
: > "$out/report.md"
for store in p N; do
	"$snapsim" recipe --dir "$out/recipe-$store" --store "$store" --chunk 64 \
		--report "$out/recipe-$store.md" || status=1
	cat "$out/recipe-$store.md" >> "$out/report.md"
	echo >> "$out/report.md"
done
echo "recipe report: $out/report.md"

# The crash-consistency explorer, sharded over the cores, then merged.
rep=$SNAPSIM_ROOT/reports/out
jobs=${SNAPSIM_EXPLORE_JOBS:-$(nproc)}
mkdir -p "$rep"
rm -f "$rep"/explore.db* "$rep"/shard-*.db*
long_traces=" long-random "
traces=()
slow=()
for t in "$SNAPSIM_ROOT"/traces/*.yaml; do
	n=$(basename "$t" .yaml)
	# chunk-huge-io checks GiB-sized devices at every state (~4 s each):
	# replayed by the test suite, explored only with SNAPSIM_EXPLORE_FULL=1.
	if [ "${SNAPSIM_EXPLORE_FULL:-0}" != 1 ] && [ "$n" = chunk-huge-io ]; then
		continue
	elif [ "${SNAPSIM_EXPLORE_FULL:-0}" != 1 ] && [[ $long_traces == *" $n "* ]]; then
		slow+=("$t")
	else
		traces+=("$t")
	fi
done
pids=()
for ((k = 0; k < jobs; k++)); do
	"$snapsim" explore "${traces[@]}" --mode "${SNAPSIM_EXPLORE_MODE:-completion}" \
		--budget "${SNAPSIM_EXPLORE_BUDGET:-64}" --keep-going \
		--shard "$k/$jobs" --db "$rep/shard-$k.db" >"$rep/shard-$k.log" 2>&1 &
	pids+=($!)
done
if [ ${#slow[@]} -gt 0 ]; then
	"$snapsim" explore "${slow[@]}" --mode marked \
		--budget "${SNAPSIM_EXPLORE_BUDGET:-64}" --keep-going \
		--db "$rep/shard-long.db" >"$rep/shard-long.log" 2>&1 &
	pids+=($!)
fi
explore_status=0
for p in "${pids[@]}"; do
	wait "$p" || { rc=$?; [ $rc -gt $explore_status ] && explore_status=$rc; }
done
cat "$rep"/shard-*.log
"$snapsim" db merge "$rep/explore.db" "$rep"/shard-*.db >/dev/null
rm -f "$rep"/shard-*.db*
"$snapsim" report --db "$rep/explore.db" -o "$rep" >/dev/null
echo "explorer database: $rep/explore.db (exit status $explore_status: 0 ok, 1 violation or hang, 3 bad trace, 4 tool error)"
echo "explorer report:   $rep/report.html and $rep/report.md"
[ $explore_status -ne 0 ] && status=$explore_status
exit $status
