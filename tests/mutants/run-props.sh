#!/usr/bin/env bash
# run-props.sh - does the property suite (tests/property, sim/prop/prop.h) catch
# each mutant on its own? The sibling of run.sh (which runs the explorer).
#
# For the unmodified tree and each tests/mutants/*.patch: copy the tree,
# apply the patch, build the property test executables (Release), run them
# with SNAPSIM_CASES cases each, and print caught/missed with the first
# failure. Exit 0 when the baseline passes and every mutant is caught.
#
#   SNAPSIM_CASES  cases per property test (default 12)
#   MUTANT_KEEP    keep the scratch directory
#   MUTANT_TREE    "head" (default): the committed tree (git archive HEAD),
#                  so work in progress elsewhere does not break the build;
#                  "worktree": the working tree as it is
set -uo pipefail
export MUTANT_TREE=${MUTANT_TREE:-head}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cases=${SNAPSIM_CASES:-12}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/snapsim-mutprops.XXXXXX")
[ -z "${MUTANT_KEEP:-}" ] && trap 'rm -rf "$scratch"' EXIT
tests="test_prop_crash test_prop_stores test_prop_clean"

# build + run one tree; prints "rc<TAB>first failure"
run_tree() { # dir label
	local dir=$1 label=$2 rc=0 first="" t
	if ! cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release >"$scratch/$label.cmake.log" 2>&1 ||
	   ! cmake --build "$dir/build" -j"$(nproc)" --target $tests >"$scratch/$label.build.log" 2>&1; then
		printf 'build-failed\t-\t%s\n' "see $scratch/$label.build.log"
		return
	fi
	local t0=$SECONDS
	mkdir -p "$scratch/$label.min"
	for t in $tests; do
		if ! SNAPSIM_CASES=$cases SNAPSIM_PROP_DIR=$scratch/$label.min \
			"$dir/build/$t" --jobs 2 >"$scratch/$label.$t.log" 2>&1; then
			rc=1
			[ -z "$first" ] && first="$t: $(grep -m1 '^FAILED' "$scratch/$label.$t.log" | cut -c1-200)"
			[ -z "$first" ] && first="$t: $(tail -3 "$scratch/$label.$t.log" | tr '\n' ' ')"
		fi
	done
	printf '%s\t%s\t%s\n' "$rc" "$((SECONDS - t0))" "$first"
}

source "$root/tests/mutants/lib.sh"
echo "property suite ($tests), $cases cases each"
run_mutants "1" "first failure"
