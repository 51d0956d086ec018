#!/usr/bin/env bash
# run-tests.sh - install what is missing, build, and run the whole test
# suite twice: a release build, then an ASan+UBSan build. Any failure fails.
# CRITERION_NO_EARLY_EXIT=1 lets LeakSanitizer run at the end of each
# Criterion worker; ctest fails a test on any sanitizer report.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

jobs=$(nproc)
echo "== tests: release build ($SNAPSIM_BUILD_DIR)"
ctest --test-dir "$SNAPSIM_BUILD_DIR" --output-on-failure -j"$jobs"

echo "== layout: no file-level call cycles, no source file over 800 lines"
(cd "$SNAPSIM_ROOT" && bash scripts/check-cycles.sh -b "$SNAPSIM_BUILD_DIR" core models cli reports mount sim/*/)
bash "$SNAPSIM_ROOT/scripts/check-size.sh" 800

echo "== explore: fault-injection and COW-disk traces at every completion point"
bash "$SNAPSIM_ROOT/scripts/explore-ci.sh"

echo "== fuzz: AFL++ smoke campaign per harness (the corpora replay under ASan below)"
bash "$SNAPSIM_ROOT/fuzz/smoke.sh" "${SNAPSIM_FUZZ_SMOKE_SECONDS:-10}"

echo "== tests: ASan+UBSan build ($SNAPSIM_ASAN_DIR)"
snapsim_build "$SNAPSIM_ASAN_DIR" -DCMAKE_BUILD_TYPE=Debug -DSNAPSIM_SANITIZE=ON
CRITERION_NO_EARLY_EXIT=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir "$SNAPSIM_ASAN_DIR" --output-on-failure -j"$jobs"
