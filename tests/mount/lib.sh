# lib.sh - helpers of the snapsim mount tests (sourced). Every test runs real
# programs through `snapsim mount` on FUSE; a machine without FUSE fails the
# test and says so: nothing here is ever skipped.
set -u

SNAPSIM=${SNAPSIM_BIN:?SNAPSIM_BIN must name the snapsim binary (ctest sets it)}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/snapsim-mount-test.XXXXXX")
MOUNTS=()   # mount points to unmount at exit
PIDS=()     # background processes to end at exit

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cleanup() {
	local m p
	for m in "${MOUNTS[@]}"; do
		fusermount3 -u "$m" 2>/dev/null # also a dead mount, which mountpoint(1) misses
	done
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

need_fuse() {
	[ -c /dev/fuse ] || fail "FUSE is unavailable: /dev/fuse is missing (load the fuse module; in a container pass --device /dev/fuse)"
	command -v fusermount3 >/dev/null || fail "FUSE is unavailable: fusermount3 is not installed (Debian: fuse3)"
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || fail "$t is not installed (scripts/setup.sh installs it)"
	done
}

# start_mount STACK MOUNTPOINT [ARGS...]: snapsim mount in the background;
# waits until MOUNTPOINT/control is there (the stack's steps run first: a
# long recording under ASan takes a while). Sets MOUNT_PID.
start_mount() {
	local stack=$1 mnt=$2 i
	shift 2
	mkdir -p "$mnt"
	"$SNAPSIM" mount -q "$stack" "$mnt" "$@" 2>"$mnt.log" &
	MOUNT_PID=$!
	PIDS+=("$MOUNT_PID")
	MOUNTS+=("$mnt")
	for i in $(seq 1200); do
		[ -e "$mnt/control" ] && return 0
		kill -0 "$MOUNT_PID" 2>/dev/null || fail "snapsim mount $stack $mnt exited: $(cat "$mnt.log")"
		sleep 0.05
	done
	fail "snapsim mount $stack $mnt: not mounted after 60 s: $(cat "$mnt.log")"
}

# stop_mount MOUNTPOINT: fusermount3 -u and wait for snapsim to finish
# (the recording is renamed into place when it exits). Fails on its error.
stop_mount() {
	local mnt=$1
	fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt failed"
	wait "$MOUNT_PID"
	local rc=$?
	[ $rc -eq 0 ] || fail "snapsim mount at $mnt exited $rc: $(cat "$mnt.log")"
}

# control MOUNTPOINT LINE: one command; prints the answer.
control() {
	printf '%s\n' "$2" >"$1/control" || fail "control '$2' failed: $(cat "$1/control")"
	cat "$1/control"
}
