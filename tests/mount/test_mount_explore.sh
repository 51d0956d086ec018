#!/bin/bash
# A recording explores: mkfs.ext4 on the origin through snapsim mount, a
# flush and a crash marker from the control file, recorded and unmounted by
# SIGINT; the explorer
# cuts the power at every marker of the recording (one after each flush,
# and the control's) and every restarted stack checks against the model.
. "$(dirname "$0")/lib.sh"
need_fuse mkfs.ext4

M=$WORK/m
start_mount "$HERE/stack-origin-snap.yaml" "$M" --record "$WORK/mkfs.yaml"
mkfs.ext4 -q -F "$M/X" || fail "mkfs.ext4 on $M/X failed"
sync "$M/X" || fail "fsync of $M/X failed"
control "$M" "crash after-mkfs" >/dev/null
# SIGINT (Ctrl-C) unmounts cleanly and writes the recording.
kill -INT "$MOUNT_PID"
wait "$MOUNT_PID" || fail "snapsim mount exited with an error on SIGINT: $(cat "$M.log")"
mountpoint -q "$M" && fail "$M is still mounted after SIGINT"
N=$(grep -c '{crash: ' "$WORK/mkfs.yaml")
[ "$N" -ge 2 ] || fail "expected crash markers after the flushes and the control's, found $N"
"$SNAPSIM" explore "$WORK/mkfs.yaml" --mode marked --budget 8 --no-minimize -q \
	>"$WORK/explore.log" 2>&1 || fail "exploring the recording failed: $(cat "$WORK/explore.log")"
"$SNAPSIM" explore "$WORK/mkfs.yaml" --mode marked --budget 8 --no-minimize --json \
	>"$WORK/explore.json" 2>/dev/null || fail "explore --json failed"
grep -q '"failing": *0,' "$WORK/explore.json" || fail "the explorer found failing states: $(cat "$WORK/explore.json")"
grep -Eq '"crash_points": *[1-9]' "$WORK/explore.json" || fail "the explorer offered no crash point: $(cat "$WORK/explore.json")"
# The program's own checker on the crash states after mkfs finished: the
# control's marker and the end are the last two points (mkfs itself is not
# crash-atomic: at its earlier flushes the superblock is not written yet,
# which e2fsck rightly rejects). The origin must be a clean ext4 there.
P=$(sed -n 's/^  "crash_points": *\([0-9]*\),*$/\1/p' "$WORK/explore.json")
[ -n "$P" ] && [ "$P" -ge 2 ] || fail "no crash point count in $(cat "$WORK/explore.json")"
for p in $((P - 2)) $((P - 1)); do
	"$SNAPSIM" explore "$WORK/mkfs.yaml" --mode marked --budget 8 --no-minimize --json --point "$p" \
		--check-cmd 'e2fsck -fn {X}' >"$WORK/check.json" 2>"$WORK/check.log" ||
		fail "explore --point $p --check-cmd 'e2fsck -fn {X}': $(cat "$WORK/check.json" "$WORK/check.log")"
	grep -Eq '"check_runs": *[1-9]' "$WORK/check.json" || fail "e2fsck never ran: $(cat "$WORK/check.json")"
	grep -Eq '"check_failures": *0,' "$WORK/check.json" || fail "e2fsck failed a state: $(cat "$WORK/check.json")"
done
echo "explored the mkfs.ext4 recording at its $N markers: 0 failing; e2fsck -fn clean after mkfs"
