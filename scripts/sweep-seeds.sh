#!/usr/bin/env bash
# sweep-seeds.sh - the crash explorer over every trace of traces/ for a range
# of seeds: each seed draws other latencies and completion orders, so other
# crash states than the traces' own seeds reach.
#
#   bash scripts/sweep-seeds.sh [FIRST] [LAST] [--minutes M]
#
#   FIRST, LAST   seeds FIRST..LAST (default 1..10; LAST defaults to FIRST + 9)
#   --minutes M   start no new (trace, seed) job after M minutes; the jobs
#                 running then finish, and the summary says how many were left
#
# One job per (trace, seed), seed by seed, nproc of them at a time; each
# writes its own database, merged at the end with `snapsim db merge` into
# $SWEEP_OUT/sweep.db (`snapsim report --db ... -o DIR` renders it).
# Prints one line per job that did not pass, then traces x seeds, crash
# points, states checked and failing states. Exit 0 when every job that ran
# passed (jobs the deadline left unrun are counted, not failed); 1 when a
# state failed or a job was a bad trace, tool crash or hang (its exit class
# is printed); 2 usage.
#
#   SWEEP_MODE     crash points (default completion: every disk write/flush)
#   SWEEP_BUDGET   states per crash point (default 16)
#   SWEEP_JOBS     jobs in parallel (default: nproc)
#   SWEEP_LONG     traces explored at their markers only (default "long-random":
#                  ~90,000 completion points, days at every one)
#   SWEEP_OUT      output directory (default out/sweep); replaced only if a
#                  previous sweep made it (anything else non-empty is refused)
#   SNAPSIM_BUILD_DIR  as for scripts/setup.sh (which installs and builds first)
#
# On a machine shared with others, run it under their lock, e.g.
#   flock /tmp/snapsim-cpu.lock bash scripts/sweep-seeds.sh 1 200 --minutes 30
set -euo pipefail

usage() { # exit code
	sed -n '6,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit "$1"
}

first= last= minutes=
while [ $# -gt 0 ]; do
	case $1 in
	--minutes)
		[ $# -ge 2 ] || usage 2
		minutes=$2
		shift 2
		;;
	--minutes=*)
		minutes=${1#--minutes=}
		shift
		;;
	-h | --help) usage 0 ;;
	-*)
		echo "sweep-seeds.sh: unknown option '$1'" >&2
		usage 2
		;;
	*)
		if [ -z "$first" ]; then first=$1; elif [ -z "$last" ]; then last=$1; else usage 2; fi
		shift
		;;
	esac
done
first=${first:-1}
last=${last:-$((first + 9))}
num='^[0-9]+$'
if ! [[ $first =~ $num && $last =~ $num ]] || [ "$first" -gt "$last" ]; then
	echo "sweep-seeds.sh: seeds must be FIRST <= LAST, unsigned integers (got '$first' '$last')" >&2
	exit 2
fi
if [ -n "$minutes" ] && ! [[ $minutes =~ $num ]]; then
	echo "sweep-seeds.sh: --minutes takes whole minutes (got '$minutes')" >&2
	exit 2
fi

source "$(dirname "${BASH_SOURCE[0]}")/setup.sh" >/dev/null
snapsim=$SNAPSIM_BUILD_DIR/snapsim
mode=${SWEEP_MODE:-completion}
budget=${SWEEP_BUDGET:-16}
jobs=${SWEEP_JOBS:-$(nproc)}
long=" ${SWEEP_LONG:-long-random} "
out=${SWEEP_OUT:-$SNAPSIM_ROOT/out/sweep}
snapsim_fresh_outdir "$out" || exit 2
mkdir -p "$out/jobs"

start=$(date +%s)
deadline=
[ -n "$minutes" ] && deadline=$((start + minutes * 60))
export snapsim mode budget long out deadline

# One job: "SEED TRACE". Its log ends with the explorer's summary line; its
# exit class goes to a .rc file (none: skipped at the deadline).
run_job() {
	local seed=$1 trace=$2 name m
	name=$(basename "$trace" .yaml)
	if [ -n "$deadline" ] && [ "$(date +%s)" -ge "$deadline" ]; then
		return 0
	fi
	m=$mode
	[[ $long == *" $name "* ]] && m=marked
	local stem=$out/jobs/$seed-$name rc=0
	"$snapsim" explore "$trace" --seed "$seed" --mode "$m" --budget "$budget" --keep-going \
		--db "$stem.db" --min-dir "$out/min" >"$stem.log" 2>&1 || rc=$?
	echo "$rc" >"$stem.rc"
	return 0
}
export -f run_job

traces=("$SNAPSIM_ROOT"/traces/*.yaml)
for ((s = first; s <= last; s++)); do
	for t in "${traces[@]}"; do
		printf '%s %s\n' "$s" "$t"
	done
done | xargs -P "$jobs" -L 1 bash -c 'run_job "$@"' _

# Gather: per job its exit class and summary line.
ran=0 skipped=0 points=0 states=0 failing=0 bad=0 done_seeds=0
for ((s = first; s <= last; s++)); do
	complete=1
	for t in "${traces[@]}"; do
		stem=$out/jobs/$s-$(basename "$t" .yaml)
		if [ ! -f "$stem.rc" ]; then
			skipped=$((skipped + 1))
			complete=0
			continue
		fi
		ran=$((ran + 1))
		rc=$(cat "$stem.rc")
		line=$(grep '^explored ' "$stem.log" | tail -1 || true)
		if [[ $line =~ :\ ([0-9]+)\ crash\ points,\ ([0-9]+)\ states\ checked,\ ([0-9]+)\ failing ]]; then
			points=$((points + BASH_REMATCH[1]))
			states=$((states + BASH_REMATCH[2]))
			failing=$((failing + BASH_REMATCH[3]))
		fi
		if [ "$rc" != 0 ]; then
			bad=$((bad + 1))
			echo "FAIL seed $s $(basename "$t") (exit class $rc):"
			grep '^  ' "$stem.log" | head -3
		fi
	done
	[ $complete = 1 ] && done_seeds=$((done_seeds + 1))
done

dbs=("$out"/jobs/*.db)
if [ -e "${dbs[0]}" ]; then
	"$snapsim" db merge "$out/sweep.db" "${dbs[@]}" >/dev/null
	rm -f "$out"/jobs/*.db*
fi
elapsed=$(($(date +%s) - start))
nseeds=$((last - first + 1))
echo "sweep: ${#traces[@]} traces x $nseeds seeds ($first..$last) = $((${#traces[@]} * nseeds)) jobs; $done_seeds seeds complete; mode $mode (long traces marked), budget $budget, $jobs in parallel"
echo "sweep: $ran jobs run, $skipped left at the deadline; $points crash points, $states states checked, $failing failing states, $bad jobs not ok; ${elapsed}s"
echo "sweep: database $out/sweep.db; minimized failures in $out/min"
[ $bad -gt 0 ] && exit 1
exit 0
