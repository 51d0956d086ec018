#!/usr/bin/env bash
# run-main.sh - install what is missing, build, and run the main job.
#
# The main job today: the seed's eight-step snapshot recipe on image files,
# with a persistent and a transient snapshot, each checked before and after a
# restart from the files; the report goes to out/report.md. When the crash
# explorer lands, this script runs it over the bundled traces/ corpus and the
# command users type stays the same.
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
echo "report: $out/report.md"
exit $status
