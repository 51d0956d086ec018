#!/bin/bash
# Real programs through snapsim mount: mkfs.ext4 and e2fsck -fn on the origin
# while a persistent snapshot is active (the snapshot stays byte-identical
# to its pre-image), sqlite3 filling a database in that ext4 mounted with
# fuse2fs on the origin file (PRAGMA integrity_check, then e2fsck -fn), all
# recorded; the recording replays with every read checked against the model
# and mounts again to the same images.
. "$(dirname "$0")/lib.sh"
need_fuse mkfs.ext4 e2fsck fuse2fs sqlite3

M=$WORK/m
start_mount "$HERE/stack-origin-snap.yaml" "$M" --record "$WORK/rec.yaml"
cp "$M/X_snap" "$WORK/pre.img"
cmp -s "$M/X_snap" "$M/X" || fail "before mkfs, X_snap and X differ"

mkfs.ext4 -q -F -b 4096 "$M/X" || fail "mkfs.ext4 on $M/X failed"
e2fsck -fn "$M/X" >"$WORK/fsck1.log" 2>&1 || fail "e2fsck -fn after mkfs: $(cat "$WORK/fsck1.log")"
cmp "$M/X_snap" "$WORK/pre.img" || fail "X_snap changed while mkfs wrote the origin"
cmp -s "$M/X" "$WORK/pre.img" && fail "mkfs wrote nothing to X"
echo "mkfs.ext4 + e2fsck -fn on X: clean; X_snap unchanged"
control "$M" "crash after-mkfs" >/dev/null

F=$WORK/fs
mkdir -p "$F"
fuse2fs -f -o fakeroot "$M/X" "$F" 2>"$WORK/fuse2fs.log" &
FPID=$!
PIDS+=("$FPID")
MOUNTS+=("$F")
for i in $(seq 100); do mountpoint -q "$F" && break; sleep 0.05; done
mountpoint -q "$F" || fail "fuse2fs did not mount $M/X: $(cat "$WORK/fuse2fs.log")"
sqlite3 "$F/test.db" "PRAGMA journal_mode=WAL;
  CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000)
    INSERT INTO t(v) SELECT printf('row %d %s', x, hex(zeroblob(40))) FROM c;
  BEGIN; UPDATE t SET v = 'updated' WHERE id % 7 = 0; COMMIT;" >/dev/null ||
	fail "sqlite3 could not create and fill $F/test.db"
IC=$(sqlite3 "$F/test.db" "PRAGMA integrity_check;") || fail "sqlite3 integrity_check did not run"
[ "$IC" = ok ] || fail "PRAGMA integrity_check: $IC"
N=$(sqlite3 "$F/test.db" "SELECT count(*) FROM t WHERE v = 'updated';")
[ "$N" = 714 ] || fail "expected 714 updated rows, found $N"
fusermount3 -u "$F" || fail "fusermount3 -u $F"
wait "$FPID" || fail "fuse2fs exited with an error: $(cat "$WORK/fuse2fs.log")"
e2fsck -fn "$M/X" >"$WORK/fsck2.log" 2>&1 || fail "e2fsck -fn after sqlite3: $(cat "$WORK/fsck2.log")"
cmp "$M/X_snap" "$WORK/pre.img" || fail "X_snap changed while fuse2fs and sqlite3 wrote the origin"
echo "sqlite3 in fuse2fs on X: integrity_check ok, e2fsck -fn clean, X_snap unchanged"

ST=$(control "$M" "status X_snap")
case "$ST" in "0 65536 snapshot "*) ;; *) fail "status X_snap: $ST" ;; esac
for d in X X_snap X_org data cow; do cp "$M/$d" "$WORK/img.$d"; done
stop_mount "$M"
[ -s "$WORK/rec.yaml" ] && [ -s "$WORK/rec.data" ] || fail "the recording or its data file is missing"
grep -q '^  - {crash: flush-1}' "$WORK/rec.yaml" || fail "no crash: marker after a flush in the recording"
grep -q '{crash: "after-mkfs"}' "$WORK/rec.yaml" || fail "the control crash marker is not recorded"

"$SNAPSIM" replay "$WORK/rec.yaml" >"$WORK/replay.log" 2>&1 ||
	fail "the recording does not replay: $(cat "$WORK/replay.log")"
grep -q PASS "$WORK/replay.log" || fail "replay did not pass: $(cat "$WORK/replay.log")"
echo "replay of the recording: $(cat "$WORK/replay.log")"

M2=$WORK/m2
start_mount "$WORK/rec.yaml" "$M2"
for d in X X_snap X_org data cow; do
	cmp "$M2/$d" "$WORK/img.$d" || fail "the replayed recording's $d differs from the mounted one"
done
stop_mount "$M2"
echo "the recording replays to the same images (X X_snap X_org data cow)"
