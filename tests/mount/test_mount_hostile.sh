#!/bin/bash
# snapsim mount used badly or concurrently: unaligned writes are read-
# modify-written, writes past the end fail like a block device's, punching
# holes and other fallocate modes, COW disks are read-only, a suspended
# device refuses I/O at once, bad control commands change nothing,
# snapshots taken and merged while mounted, two writers at once, a writer
# killed mid-way, SIGTERM unmounts and writes the recording, which replays;
# no file is written but the recording the user named.
. "$(dirname "$0")/lib.sh"
need_fuse dd cmp od fallocate mountpoint

M=$WORK/m
MB=$((1024 * 1024))
SIZE=$((16 * MB))
ls -A "$HERE" >"$WORK/src-before"
start_mount "$HERE/stack-two-cows.yaml" "$M" --record "$WORK/rec.yaml"
[ "$(stat -c %s "$M/X")" = $SIZE ] || fail "X is not 16 MiB: $(stat -c %s "$M/X")"
[ "$(stat -c %s "$M/cow1")" = $((8 * MB)) ] || fail "cow1 is not 8 MiB"
cp "$M/X" "$WORK/x0.img"

# Unaligned writes: five one-byte writes, each a read-modify-write of its sector.
printf hello | dd of="$M/X" bs=1 seek=1000 conv=notrunc status=none || fail "unaligned dd failed"
cp "$M/X" "$WORK/x1.img"
printf hello | dd of="$WORK/x0.img" bs=1 seek=1000 conv=notrunc status=none
cmp "$M/X" "$WORK/x0.img" || fail "an unaligned write changed more (or less) than its bytes"
# On a disk of 4 KiB blocks a 512-byte write is a read-modify-write of its block.
head -c $MB /dev/urandom >"$WORK/d4k.img"
dd if="$WORK/d4k.img" of="$M/d4k" bs=64k conv=notrunc status=none || fail "filling d4k failed"
printf 'sector-sized' | dd of="$M/d4k" bs=512 seek=9 conv=notrunc,sync status=none || fail "512-byte write to d4k failed"
printf 'sector-sized' | dd of="$WORK/d4k.img" bs=512 seek=9 conv=notrunc,sync status=none
cmp "$M/d4k" "$WORK/d4k.img" || fail "a 512-byte write to a 4 KiB-block disk changed its neighbours"
echo "unaligned writes: read-modify-written (512-byte and 4 KiB blocks), neighbours kept"

# Past the end: ENOSPC; a write crossing the end is cut there.
dd if=/dev/zero of="$M/X" bs=512 count=1 seek=$((SIZE / 512)) conv=notrunc status=none 2>"$WORK/e" &&
	fail "a write at the end of X succeeded"
grep -q "No space left" "$WORK/e" || fail "a write at the end: expected ENOSPC, got $(cat "$WORK/e")"
head -c 1024 /dev/zero | tr '\0' 'z' >"$WORK/z1k"
dd if="$WORK/z1k" of="$M/X" bs=1024 seek=$((SIZE - 512)) oflag=seek_bytes conv=notrunc \
	status=none 2>"$WORK/e" && fail "a write crossing the end reported success in full"
[ "$(tail -c 512 "$M/X" | tr -d z | wc -c)" = 0 ] || fail "the part of a crossing write before the end is missing"
[ "$(dd if="$M/X" bs=512 skip=$((SIZE / 512)) status=none | wc -c)" = 0 ] || fail "a read past the end returned data"
echo "past the end: ENOSPC, a crossing write is cut at the end, reads there return nothing"

# fallocate: punching whole blocks is a discard (these targets refuse it),
# unaligned punches are EINVAL, other modes EOPNOTSUPP.
fallocate -p -o 0 -l 4096 "$M/X" 2>"$WORK/e" && fail "punching a hole in X succeeded"
grep -Eq "not supported|unsupported" "$WORK/e" || fail "punch hole: expected EOPNOTSUPP, got $(cat "$WORK/e")"
fallocate -p -o 100 -l 4096 "$M/X" 2>"$WORK/e" && fail "an unaligned punch succeeded"
grep -q "Invalid argument" "$WORK/e" || fail "unaligned punch: expected EINVAL, got $(cat "$WORK/e")"
fallocate -o 0 -l 4096 "$M/X" 2>"$WORK/e" && fail "fallocate mode 0 succeeded"
grep -Eq "not supported|unsupported" "$WORK/e" || fail "fallocate mode 0: expected EOPNOTSUPP, got $(cat "$WORK/e")"
echo "fallocate: discard refused by the target (EOPNOTSUPP), unaligned EINVAL"

# A snapshot taken mid-workload through the control file.
cp "$M/X" "$WORK/pre1.img"
control "$M" "suspend X" >/dev/null
control "$M" "create S1 --table \"0 32768 snapshot /dev/mapper/X_org /dev/cow1 P 8\"" >/dev/null
control "$M" "resume X" >/dev/null
[ -e "$M/S1" ] || fail "S1 does not appear in the mount after its create"
cmp "$M/S1" "$WORK/pre1.img" || fail "the new snapshot S1 does not read the origin of its creation"
dd if=/dev/zero of="$M/cow1" bs=512 count=1 conv=notrunc status=none 2>"$WORK/e" && fail "a write to the COW disk succeeded"
grep -q "busy" "$WORK/e" || fail "COW disk write: expected EBUSY, got $(cat "$WORK/e")"

# Two writers at once (disjoint ranges), a reader of the snapshot beside them.
head -c $((2 * MB)) /dev/urandom >"$WORK/a.bin"
head -c $((2 * MB)) /dev/urandom >"$WORK/b.bin"
dd if="$WORK/a.bin" of="$M/X" bs=64k seek=16 conv=notrunc status=none &
P1=$!
dd if="$WORK/b.bin" of="$M/X" bs=4k seek=2048 conv=notrunc oflag=dsync status=none &
P2=$!
cmp "$M/S1" "$WORK/pre1.img" || fail "S1 changed while two writers wrote the origin"
wait $P1 || fail "writer 1 failed"
wait $P2 || fail "writer 2 failed"
cmp <(dd if="$M/X" bs=64k skip=16 count=32 status=none) "$WORK/a.bin" || fail "writer 1's data is not on X"
cmp <(dd if="$M/X" bs=4k skip=2048 count=512 status=none) "$WORK/b.bin" || fail "writer 2's data is not on X"
echo "two writers at once: both complete, both on X, S1 unchanged"

# A writer killed mid-way leaves the stack consistent.
dd if=/dev/urandom of="$M/X" bs=4k seek=3000 count=1000 conv=notrunc status=none &
P3=$!
sleep 0.05
kill -9 $P3 2>/dev/null
wait $P3 2>/dev/null
cmp "$M/S1" "$WORK/pre1.img" || fail "S1 changed after a writer was killed"
sync "$M/X" || fail "fsync of X after a killed writer failed"

# A suspended device refuses I/O at once; resumed, it serves again.
control "$M" "suspend X" >/dev/null
dd if=/dev/zero of="$M/X" bs=4k count=1 conv=notrunc status=none 2>"$WORK/e" && fail "a write to suspended X succeeded"
grep -q "temporarily unavailable" "$WORK/e" || fail "write to suspended X: expected EAGAIN, got $(cat "$WORK/e")"
control "$M" "resume X" >/dev/null
dd if="$M/X" of=/dev/null bs=4k count=1 status=none || fail "a read after resume failed"
echo "suspend: EAGAIN at once, served again after resume"

# Bad control commands: the write fails, the answer says why, nothing changes.
printf 'bogus X\n' >"$M/control" 2>/dev/null && fail "an unknown control verb was accepted"
grep -q "unknown dm verb 'bogus'" "$M/control" || fail "answer to a bad verb: $(cat "$M/control")"
printf 'create Y --table "0 100 linear /dev/data 99999999"\n' >"$M/control" 2>/dev/null &&
	fail "a create with a table beyond its disk succeeded"
grep -q "too small" "$M/control" || fail "answer to a bad table: $(cat "$M/control")"
[ -e "$M/Y" ] && fail "a failed create left a device"
control "$M" "create Y --table \"0 2048 linear /dev/data 0\"" >/dev/null
[ "$(stat -c %s "$M/Y")" = $MB ] || fail "Y is not 1 MiB"
cmp <(head -c $MB "$M/X_org") "$M/Y" || fail "Y does not read data's first MiB"
control "$M" "remove Y" >/dev/null
[ -e "$M/Y" ] && fail "Y is still there after remove"
echo "control: errors answered, nothing changed; create and remove show up at once"

# Merge S1 back into X through the control file.
control "$M" "suspend S1" >/dev/null
control "$M" "suspend X" >/dev/null
control "$M" "load X --table \"0 32768 snapshot-merge /dev/mapper/X_org /dev/cow1 P 8\"" >/dev/null
control "$M" "resume X" >/dev/null
control "$M" "remove S1" >/dev/null
cmp "$M/X" "$WORK/pre1.img" || fail "X does not read the snapshot's content after the merge started"
control "$M" "settle" >/dev/null
ST=$(control "$M" "status X")
case "$ST" in "0 32768 snapshot-merge "*) ;; *) fail "status X during the merge: $ST" ;; esac
control "$M" "suspend X" >/dev/null
control "$M" "table X_org | load X" >/dev/null
control "$M" "resume X" >/dev/null
cmp "$M/X" "$WORK/pre1.img" || fail "X after the merge finished is not the snapshot's content"
cmp "$M/X_org" "$WORK/pre1.img" || fail "X_org after the merge is not the snapshot's content"
echo "merge through the control file: X reads the snapshot, also once it is finished"
cp "$M/X" "$WORK/img.X"
cp "$M/data" "$WORK/img.data"
cp "$M/d4k" "$WORK/img.d4k"

# A recording is never replaced without --force.
"$SNAPSIM" mount -q "$HERE/stack-two-cows.yaml" "$WORK/m3" --record "$WORK/rec.yaml" 2>"$WORK/e" &&
	fail "a second mount recording to the same name ran"
# A mount point that is mounted already, or missing, is refused before anything runs.
"$SNAPSIM" mount -q "$HERE/stack-two-cows.yaml" "$M" --record "$WORK/other.yaml" 2>"$WORK/e"
[ $? = 4 ] || fail "mounting over a mounted $M: expected exit 4"
grep -q "already mounted" "$WORK/e" || fail "mount over a mount: $(cat "$WORK/e")"
"$SNAPSIM" mount -q "$HERE/stack-two-cows.yaml" "$WORK/nodir" --record "$WORK/other.yaml" 2>"$WORK/e"
[ $? = 4 ] || fail "mounting on a missing directory: expected exit 4"
[ -e "$WORK/other.yaml" ] || [ -e "$WORK/other.data" ] && fail "a refused mount created its recording"
# SIGTERM unmounts and writes the recording.
kill -TERM "$MOUNT_PID"
wait "$MOUNT_PID" || fail "snapsim mount exited with an error on SIGTERM: $(cat "$M.log")"
mountpoint -q "$M" && fail "$M is still mounted after SIGTERM"
echo "SIGTERM: unmounted, recording written"

ls -A "$HERE" >"$WORK/src-after"
cmp -s "$WORK/src-before" "$WORK/src-after" || fail "the mount wrote into the stack's directory: $(diff "$WORK/src-before" "$WORK/src-after")"
[ -s "$WORK/rec.yaml" ] && [ -s "$WORK/rec.data" ] || fail "recording missing after SIGTERM"
ls -A "$WORK" | grep -q snapsim- && fail "a temporary was left behind: $(ls -A "$WORK")"
"$SNAPSIM" replay "$WORK/rec.yaml" >"$WORK/replay.log" 2>&1 ||
	fail "the recording does not replay: $(cat "$WORK/replay.log")"
start_mount "$WORK/rec.yaml" "$WORK/m2"
cmp "$WORK/m2/X" "$WORK/img.X" || fail "the replayed recording's X differs"
cmp "$WORK/m2/data" "$WORK/img.data" || fail "the replayed recording's data differs"
cmp "$WORK/m2/d4k" "$WORK/img.d4k" || fail "the replayed recording's d4k differs"
grep -q '{write: "d4k", offset: 8s, length: 8s' "$WORK/rec.yaml" ||
	fail "the 512-byte write to d4k is not recorded as its whole 4 KiB block"
stop_mount "$WORK/m2"
echo "the recording replays (every read checked) to the same X and data"

# A killed server leaves a dead mount: a new mount there is refused and says what to do.
start_mount "$HERE/stack-two-cows.yaml" "$WORK/dead"
kill -9 "$MOUNT_PID"
wait "$MOUNT_PID" 2>/dev/null
"$SNAPSIM" mount -q "$HERE/stack-two-cows.yaml" "$WORK/dead" 2>"$WORK/e"
[ $? = 4 ] || fail "mounting on a dead mount: expected exit 4"
grep -q "dead FUSE mount" "$WORK/e" || fail "mount on a dead mount: $(cat "$WORK/e")"
fusermount3 -u "$WORK/dead" || fail "fusermount3 -u of the dead mount failed"
echo "a dead mount (server killed) is refused with what to do"
