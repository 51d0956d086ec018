#!/bin/bash
# A recording keeps its stack's text and adds its steps in the stack's own
# list style: empty (`steps: []`, `steps:`), flow, block (indentless, with
# a trailing comment); each recording validates and replays, with the
# control command and the write in it.
. "$(dirname "$0")/lib.sh"
need_fuse dd

i=0
for steps in 'steps: []' 'steps:' \
	'steps: [{dm: "create X --table \"0 2048 linear /dev/d 0\""}]' \
	$'steps:\n- dm: create X --table "0 2048 linear /dev/d 0"\n# a trailing comment' \
	$'steps:\n    -   dm: create X --table "0 2048 linear /dev/d 0"'; do
	i=$((i + 1))
	printf 'version: 1\ndisks:\n  - {name: d, size: 1M}\n%s\n' "$steps" >"$WORK/s$i.yaml"
	start_mount "$WORK/s$i.yaml" "$WORK/m$i" --record "$WORK/r$i.yaml"
	control "$WORK/m$i" 'create Y --table "0 8 zero"' >/dev/null
	dd if=/dev/urandom of="$WORK/m$i/d" bs=4k count=1 conv=notrunc,fsync status=none ||
		fail "writing d under style $i failed"
	cp "$WORK/m$i/d" "$WORK/d$i.img"
	stop_mount "$WORK/m$i"
	head -c "$(stat -c %s "$WORK/s$i.yaml")" "$WORK/r$i.yaml" | cmp -s - "$WORK/s$i.yaml" ||
		[ "${steps#steps: [}" != "$steps" ] || fail "recording $i does not begin with its stack's text"
	"$SNAPSIM" replay "$WORK/r$i.yaml" >"$WORK/replay$i.log" 2>&1 ||
		fail "recording of style $i does not replay: $(cat "$WORK/replay$i.log"; cat "$WORK/r$i.yaml")"
	grep -q '"create Y' "$WORK/r$i.yaml" || fail "recording $i lacks the control command"
	start_mount "$WORK/r$i.yaml" "$WORK/n$i"
	cmp "$WORK/n$i/d" "$WORK/d$i.img" || fail "recording $i replays to another d"
	[ -e "$WORK/n$i/Y" ] || fail "recording $i replays without Y"
	stop_mount "$WORK/n$i"
done
echo "recordings in all five list styles validate, replay and mount to the same image"
