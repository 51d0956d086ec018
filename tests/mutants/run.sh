#!/usr/bin/env bash
# run.sh - does the crash explorer catch realistic store bugs?
#
# For each tests/mutants/*.patch: copy the tree to a scratch directory,
# apply the patch (patch -p1), build it (Release, tests off), run
# `snapsim explore` over the traces below, and print caught/missed with the
# first evidence. The unmodified tree is run first and must be clean.
# Exit status: 0 when the baseline is clean and every mutant is caught.
#
#   MUTANT_TRACES   traces to explore (default: the list below)
#   MUTANT_BUDGET   states per crash point (default 16)
#   MUTANT_KEEP     keep the scratch directory (default: removed)
#   MUTANT_COMPARE  1: also explore every tree with --keep-going twice, the
#                   default check and --full-check, each into a state
#                   database, and compare their states row by row (point,
#                   durable hash, survivors, verdict); a difference fails
#                   the tree ("differs")
set -uo pipefail
# Freed memory filled with a byte pattern (glibc): a mutant whose bug is a
# use after free (ctor-stale-link leaves a freed snapshot registered) then
# fails the same way whatever the earlier traces left on the heap, instead
# of being caught or missed by the allocator's reuse. The clean tree runs
# clean with it.
export MALLOC_PERTURB_=${MALLOC_PERTURB_:-165}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
traces=${MUTANT_TRACES:-"traces/explore-origin-writes.yaml traces/seed-recipe.yaml traces/cow-full.yaml traces/explore-cow-shrunk.yaml traces/cow-partial-chunk.yaml traces/invalid-before-commit.yaml traces/device-aliases.yaml traces/race-merge-own-writes.yaml traces/race-two-origin-writes.yaml traces/cow-not-zeroed.yaml traces/table-errors.yaml traces/cow-area-edge.yaml"}
# Traces of huge chunks (seconds per crash state): at their markers, one state each.
huge=${MUTANT_HUGE:-"traces/chunk-huge-io.yaml"}
budget=${MUTANT_BUDGET:-16}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/snapsim-mutants.XXXXXX")
[ -z "${MUTANT_KEEP:-}" ] && trap 'rm -rf "$scratch"' EXIT


# build + explore one tree; prints "rc<TAB>seconds<TAB>first evidence"
run_tree() { # dir label
	local dir=$1 label=$2 out
	if ! cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DSNAPSIM_TESTS=OFF \
		>"$scratch/$label.cmake.log" 2>&1 ||
	   ! cmake --build "$dir/build" -j"$(nproc)" --target snapsim >"$scratch/$label.build.log" 2>&1; then
		printf 'build-failed\t-\t%s\n' "see $scratch/$label.build.log"
		return
	fi
	local t0=$SECONDS
	out=$(cd "$dir" && ./build/snapsim explore $traces --budget "$budget" --no-minimize --quiet 2>&1)
	local rc=$?
	if [ "$rc" = 0 ] && [ -n "$huge" ]; then
		out=$(cd "$dir" && ./build/snapsim explore $huge --mode marked --budget 1 --no-minimize --quiet 2>&1)
		rc=$?
	fi
	local first
	first=$(printf '%s\n' "$out" | grep -m1 -A1 -E '^\S+\s+(violation|crash|hang|live)' | tail -1 | sed 's/^ *//')
	[ -z "$first" ] && first=$(printf '%s\n' "$out" | grep -m1 -E 'FAIL|failed|:[0-9]+: ' | cut -c1-200)
	local secs=$((SECONDS - t0))
	if [ "${MUTANT_COMPARE:-0}" = 1 ]; then
		local q="SELECT p.seq, s.hash, s.survivors, s.verdict FROM states s JOIN crash_points p ON p.id = s.point ORDER BY s.id"
		rm -f "$dir"/cmp-*.db
		(cd "$dir" && ./build/snapsim explore $traces --budget "$budget" --keep-going \
			--no-minimize -q --db cmp-fast.db >/dev/null 2>&1)
		(cd "$dir" && ./build/snapsim explore $traces --budget "$budget" --keep-going \
			--no-minimize -q --full-check --db cmp-full.db >/dev/null 2>&1)
		local a b nf
		a=$(sqlite3 "$dir/cmp-fast.db" "$q" | md5sum)
		b=$(sqlite3 "$dir/cmp-full.db" "$q" | md5sum)
		nf=$(sqlite3 "$dir/cmp-full.db" "SELECT count(*) || ' states, ' || sum(verdict != 'ok') || ' failing' FROM states")
		if [ "$a" != "$b" ]; then
			rc=differs
			first="the default check's states differ from --full-check's ($nf in full)"
		else
			first="${first:-} [default = --full-check: $nf]"
		fi
	fi
	printf '%s\t%s\t%s\n' "$rc" "$secs" "${first:-}"
}

source "$root/tests/mutants/lib.sh"
echo "explorer over: $traces (budget $budget)"
run_mutants "1 4" "first evidence"
