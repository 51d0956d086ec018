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

snapsim_packages=(cmake make gcc clang libyaml-dev libsqlite3-dev libcriterion-dev afl++)

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

snapsim_install_missing
snapsim_build "$SNAPSIM_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
