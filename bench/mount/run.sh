#!/bin/bash
# bench/mount/run.sh - throughput of snapsim mount against the FUSE floor,
# measured in the same run (not part of CI):
#   - dd bs=1M of 128 MiB (conv=notrunc,fsync) and 32768 random 4 KiB writes
#     (bench/mount/rand4k.c; fio is not installed here) through the origin
#     X with 0, 1 and 4 persistent snapshots (4 KiB chunks), each on a fresh
#     mount, so every chunk's first write is a copy-out;
#   - the same through fuse_floor (a plain passthrough of a 128 MiB file on
#     /dev/shm with the same FUSE settings): what FUSE alone costs;
#   - the 1-snapshot runs again with --record (recording overhead).
# Medians of REPS rounds (default 3), each round measuring every configuration. Usage: bench/mount/run.sh [BUILD_DIR]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build/release}
REPS=${REPS:-3}
cmake --build "$BUILD" -j2 --target snapsim fuse_floor rand4k >/dev/null
S=$BUILD/snapsim
W=$(mktemp -d /dev/shm/snapsim-mount-bench.XXXXXX)
MNT=$W/mnt
mkdir -p "$MNT"
trap 'mountpoint -q "$MNT" && fusermount3 -u "$MNT"; rm -rf "$W"' EXIT
head -c $((128 << 20)) /dev/urandom >"$W/src"

stack() { # stack N: a 128 MiB origin with N snapshots
	local n=$1 i
	{
		echo "version: 1"
		echo "name: bench-mount-$n"
		echo "disks:"
		echo "  - {name: data, size: 128M}"
		for i in $(seq "$n"); do echo "  - {name: cow$i, size: 136M}"; done
		echo "steps:"
		echo "  - dm: create X_org --table \"0 262144 linear /dev/data 0\""
		echo "  - dm: create X --table \"0 262144 snapshot-origin /dev/mapper/X_org\""
		for i in $(seq "$n"); do
			echo "  - dm: create S$i --table \"0 262144 snapshot /dev/mapper/X_org /dev/cow$i P 8\""
		done
	} >"$W/stack$n.yaml"
}

up() { # up KIND [ARGS]: mount KIND (floor or N snapshots)
	if [ "$1" = floor ]; then
		head -c $((128 << 20)) /dev/zero >"$W/backing"
		"$BUILD/fuse_floor" "$W/backing" "$MNT" &
	else
		"$S" mount -q "$W/stack$1.yaml" "$MNT" "${@:2}" &
	fi
	PID=$!
	for _ in $(seq 200); do [ -e "$MNT/X" ] && return; sleep 0.05; done
	echo "mount $1 did not come up" >&2
	exit 1
}

down() {
	fusermount3 -u "$MNT"
	wait "$PID"
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

ddrate() { # MB/s of one dd through MNT/X
	dd if="$W/src" of="$MNT/X" bs=1M count=128 conv=notrunc,fsync 2>&1 |
		awk '/copied/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) v = $i; u = $NF}
		     END {if (u == "GB/s") v *= 1000; if (u == "kB/s") v /= 1000; print v}'
}

one() { # one KIND [ARGS]: "dd-MB/s rand-IOPS" of one fresh mount each
	local d r
	up "$@"; d=$(ddrate); down
	up "$@"; r=$("$BUILD/rand4k" "$MNT/X" 128 32768 | awk '{print $1}'); down
	echo "$d $r"
}

for n in 0 1 4; do stack "$n"; done
# Rounds: every configuration once per round, so that the load of a shared
# machine moves all of them alike; medians over the rounds.
CONFS=("floor" "0" "1" "4" "1 --record $W/rec.yaml --force")
NAMES=("FUSE floor (passthrough, /dev/shm)" "snapsim mount, 0 snapshots" "snapsim mount, 1 snapshot"
	"snapsim mount, 4 snapshots" "snapsim mount, 1 snapshot, --record")
for r in $(seq "$REPS"); do
	for i in "${!CONFS[@]}"; do
		# shellcheck disable=SC2086
		one ${CONFS[$i]} >>"$W/res.$i"
	done
done
printf '%-38s %14s %18s\n' "configuration" "dd bs=1M MB/s" "random 4K IOPS"
read -r fd fr < <(echo "$(awk '{print $1}' "$W/res.0" | median) $(awk '{print $2}' "$W/res.0" | median)")
for i in "${!CONFS[@]}"; do
	d=$(awk '{print $1}' "$W/res.$i" | median)
	r=$(awk '{print $2}' "$W/res.$i" | median)
	printf '%-38s %14s %18s   (%.2fx / %.2fx of the floor)\n' "${NAMES[$i]}" "$d" "$r" \
		"$(echo "$d / $fd" | bc -l)" "$(echo "$r / $fr" | bc -l)"
done
