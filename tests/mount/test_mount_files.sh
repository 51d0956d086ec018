#!/bin/bash
# snapsim mount over image files (--disk NAME=PATH): mkfs.ext4 and e2fsck -fn
# on the origin while a persistent snapshot is active; after unmounting, the
# files are real volumes: the origin file holds a clean ext4, the COW file
# passes cow check, and cow export rebuilds exactly what the snapshot read.
. "$(dirname "$0")/lib.sh"
need_fuse mkfs.ext4 e2fsck

M=$WORK/m
# A file that is not there is refused without --create, and nothing is made.
"$SNAPSIM" mount "$HERE/stack-origin-snap.yaml" "$M" --disk data="$WORK/data.img" \
	--disk cow="$WORK/cow.img" >"$WORK/refused.log" 2>&1 && fail "a missing image file was accepted"
[ -e "$WORK/data.img" ] && fail "a refused mount created data.img"
mkdir -p "$M"
"$SNAPSIM" mount "$HERE/stack-origin-snap.yaml" "$M" --disk data="$WORK/data.img" \
	>"$WORK/refused2.log" 2>&1 && fail "a trace disk without --disk was accepted"

start_mount "$HERE/stack-origin-snap.yaml" "$M" --disk data="$WORK/data.img" \
	--disk cow="$WORK/cow.img" --create
[ -f "$WORK/data.img" ] && [ -f "$WORK/cow.img" ] || fail "--create made no image files"
cp "$M/X_snap" "$WORK/pre.img"
mkfs.ext4 -q -F -b 4096 "$M/X" || fail "mkfs.ext4 on $M/X failed"
e2fsck -fn "$M/X" >"$WORK/fsck1.log" 2>&1 || fail "e2fsck -fn on X: $(cat "$WORK/fsck1.log")"
cmp "$M/X_snap" "$WORK/pre.img" || fail "X_snap changed while mkfs wrote the origin"
cp "$M/X" "$WORK/x.img"
stop_mount "$M"

# The origin file is the ext4 X showed; the COW file is a store Linux's format.
cmp "$WORK/data.img" "$WORK/x.img" || fail "data.img is not what X read"
e2fsck -fn "$WORK/data.img" >"$WORK/fsck2.log" 2>&1 || fail "e2fsck -fn data.img: $(cat "$WORK/fsck2.log")"
"$SNAPSIM" cow check "$WORK/cow.img" --origin "$WORK/data.img" >"$WORK/check.log" 2>&1 ||
	fail "cow check of the mount's COW: $(cat "$WORK/check.log")"
"$SNAPSIM" cow export --origin "$WORK/data.img" --cow "$WORK/cow.img" -o "$WORK/export.img" -q \
	>"$WORK/export.log" 2>&1 || fail "cow export: $(cat "$WORK/export.log")"
cmp "$WORK/export.img" "$WORK/pre.img" || fail "cow export differs from what X_snap read"
echo "mount on image files: data.img a clean ext4, cow.img checks, export = the snapshot's image"
