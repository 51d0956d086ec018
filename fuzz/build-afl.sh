#!/usr/bin/env bash
# build-afl.sh [DIR] - build the AFL++ persistent-mode harnesses
# (fuzz_<name>_afl) with afl-clang-fast, plus a CMPLOG build for one
# secondary instance. Debian's afl-gcc-fast is broken; the clang modes work.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$root/build/afl}
for variant in plain cmplog; do
	d=$dir/$variant
	env_extra=()
	[ $variant = cmplog ] && env_extra=(AFL_LLVM_CMPLOG=1)
	env "${env_extra[@]}" CC=afl-clang-fast cmake -S "$root" -B "$d" -DCMAKE_BUILD_TYPE=Release \
		-DSNAPSIM_FUZZ_AFL=ON -DSNAPSIM_TESTS=OFF >/dev/null
	env "${env_extra[@]}" AFL_QUIET=1 cmake --build "$d" -j"$(nproc)" >/dev/null
done
echo "$dir"
