#!/usr/bin/env bash
# setup.sh - install what snapsim needs on Debian 12 (only what is missing),
# then configure and build it. Sourced by run-main.sh and run-tests.sh.
#
#   SNAPSIM_BUILD_DIR   release build directory (default: build/release)
#   SNAPSIM_ASAN_DIR    sanitizer build directory (default: build/asan)
set -euo pipefail

SNAPSIM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SNAPSIM_BUILD_DIR=${SNAPSIM_BUILD_DIR:-$SNAPSIM_ROOT/build/release}
SNAPSIM_ASAN_DIR=${SNAPSIM_ASAN_DIR:-$SNAPSIM_ROOT/build/asan}
export SNAPSIM_ROOT SNAPSIM_BUILD_DIR SNAPSIM_ASAN_DIR

snapsim_packages=(cmake make gcc clang pkg-config libyaml-dev libsqlite3-dev libcriterion-dev afl++
	libfuse3-dev fuse3 e2fsprogs fuse2fs sqlite3 dosfstools mtools)

snapsim_install_missing() {
	local missing=() p
	for p in "${snapsim_packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	echo "setup: installing missing packages: ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

snapsim_build() { # dir, extra cmake args...
	local dir=$1
	shift
	cmake -S "$SNAPSIM_ROOT" -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
}

# snapsim_fresh_outdir DIR: empty DIR for a script's results. A directory
# this helper made before (it holds .snapsim-out) is replaced; anything else
# that exists and is not empty is refused, so a mistyped path is never wiped.
snapsim_fresh_outdir() {
	local dir=$1
	if [ -e "$dir" ] && [ ! -e "$dir/.snapsim-out" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
		echo "refusing to replace $dir: it exists, is not empty and was not made by snapsim's scripts" >&2
		return 2
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	: >"$dir/.snapsim-out"
}

snapsim_install_missing
snapsim_build "$SNAPSIM_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
