#!/bin/sh
# bench/run.sh - build the benchmarks (Release, in build/bench) and run them
# all; print one combined table, write bench/results.json and keep the
# latest table in bench/RESULTS.md. Every row shows a figure beside a
# baseline measured in the same run, and their ratio.
#
# Usage: bench/run.sh [--quick]   (--quick: smaller sizes, one repetition)
# Env: BUILD_DIR (default build/bench), JOBS (default 2).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build/bench}
JOBS=${JOBS:-2}
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1

BENCHES="bench_cow bench_extable bench_trace bench_sim_disk bench_sqlite bench_explore"
mkdir -p "$BUILD"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSNAPSIM_TESTS=OFF >/dev/null
fi
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $BENCHES >/dev/null

OUT=$(mktemp -d /tmp/snapsim-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
start=$(date +%s)
run() {
	name=$1
	shift
	printf 'running %s %s\n' "$name" "$*" >&2
	"$BUILD/$name" "$@" >"$OUT/$name.txt"
	grep -v '^@row' "$OUT/$name.txt" >&2 || true
	echo >&2
}
if [ "$QUICK" = 1 ]; then
	run bench_cow 16 1
	run bench_extable 1000000
	run bench_trace 40000
	run bench_sim_disk 0.3
	run bench_sqlite
	run bench_explore --quick "$ROOT/traces"
else
	run bench_cow 64 3
	run bench_extable 10000000
	run bench_trace 200000
	run bench_sim_disk 1
	run bench_sqlite
	run bench_explore "$ROOT/traces"
fi
elapsed=$(( $(date +%s) - start ))

ROWS=$OUT/rows.txt
for b in $BENCHES; do grep '^@row' "$OUT/$b.txt" || true; done >"$ROWS"

host="$(uname -srm), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

# Markdown table (also printed).
awk -F'|' -v host="$host" -v load="$load" -v secs="$elapsed" '
function fmt(v) {
	if (v == "") return ""
	v += 0
	if (v >= 1e6 || (v < 0.01 && v > 0)) return sprintf("%.3g", v)
	if (v >= 100) return sprintf("%.0f", v)
	return sprintf("%.3g", v)
}
BEGIN {
	print "Measured " host "; load average before the run " load "; " secs " s in all."
	print ""
	print "| section | case | value | unit | baseline (same run) | baseline | ratio | target | verdict |"
	print "|---|---|---:|---|---:|---|---:|---|---|"
}
{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, fmt($4), $5, fmt($6), $7, fmt($8), $9, $10 }
' "$ROWS" >"$ROOT/bench/RESULTS.md"

# JSON.
awk -F'|' -v host="$host" -v load="$load" -v secs="$elapsed" '
function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
BEGIN { printf "{\n  \"host\": %s,\n  \"loadavg_before\": %s,\n  \"seconds\": %d,\n  \"rows\": [", q(host), q(load), secs; n = 0 }
{
	printf "%s\n    {\"section\": %s, \"case\": %s, \"value\": %s, \"unit\": %s, \"baseline\": %s, \"baseline_label\": %s, \"ratio\": %s, \"target\": %s, \"verdict\": %s}", (n++ ? "," : ""), q($2), q($3), $4 + 0, q($5), $6 + 0, q($7), $8 + 0, q($9), q($10)
}
END { print "\n  ]\n}" }
' "$ROWS" >"$ROOT/bench/results.json"

cat "$ROOT/bench/RESULTS.md"
echo
echo "wrote bench/results.json and bench/RESULTS.md"
