#!/usr/bin/env bash
# check-size.sh - fail when a source file outside tests/ grows past LIMIT
# lines (default 800): a file that long holds more than one job.
#
#   bash scripts/check-size.sh [LIMIT]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
limit=${1:-800}
over=$(git ls-files '*.c' '*.h' | grep -v '^tests/' | while read -r f; do
	n=$(wc -l <"$f")
	[ "$n" -gt "$limit" ] && echo "$f: $n lines"
done || true)
if [ -n "$over" ]; then
	echo "files over $limit lines (split by responsibility):"
	echo "$over"
	exit 1
fi
echo "no source file over $limit lines"
