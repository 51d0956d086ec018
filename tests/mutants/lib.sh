# lib.sh - shared by run.sh (explorer) and run-props.sh (property suite):
# copy the tree, apply each mutant, call the script's run_tree, print the
# verdicts. The sourcing script sets root and scratch and defines
# `run_tree DIR LABEL`, which prints "rc<TAB>seconds<TAB>first evidence"
# (seconds: the detector's run, the build excluded).
#
#   MUTANT_TREE   "head": the committed tree (git archive HEAD), so work in
#                 progress elsewhere does not break the build; "worktree":
#                 the working tree as it is (default per script)
#   MUTANT_KEEP   keep the scratch directory

copy_tree() { # dst
	mkdir -p "$1"
	if [ "${MUTANT_TREE:-worktree}" = head ]; then
		git -C "$root" archive HEAD | tar -C "$1" -xf -
		return
	fi
	(cd "$root" && tar --exclude='./build*' --exclude='./.git' --exclude='./out' \
		--exclude='./reports/out' --exclude='./fuzz/out' -cf - .) | tar -C "$1" -xf -
}

# run_mutants "CAUGHT_CODES" "HEADING": the baseline must give rc 0, each
# mutant one of CAUGHT_CODES (space-separated). Returns 0 when all hold.
run_mutants() {
	local caught=$1 heading=$2 status=0 rc evidence patch name dir
	copy_tree "$scratch/base"
	IFS=$'\t' read -r rc secs evidence < <(run_tree "$scratch/base" base)
	if [ "$rc" = 0 ]; then
		echo "baseline (unmodified store): clean"
	else
		echo "baseline (unmodified store): NOT CLEAN (exit $rc): $evidence"
		status=1
	fi
	printf '%-22s %-7s %6s  %s\n' mutant result seconds "$heading"
	for patch in "$root"/tests/mutants/*.patch; do
		name=$(basename "$patch" .patch)
		dir=$scratch/$name
		copy_tree "$dir"
		if ! (cd "$dir" && patch -p1 -s <"$patch"); then
			printf '%-22s %-7s %6s  %s\n' "$name" ERROR - "patch does not apply"
			status=1
			continue
		fi
		IFS=$'\t' read -r rc secs evidence < <(run_tree "$dir" "$name")
		if [[ " $caught " == *" $rc "* ]]; then
			printf '%-22s %-7s %6s  %s\n' "$name" caught "$secs" "(exit $rc) $evidence"
		else
			printf '%-22s %-7s %6s  %s\n' "$name" MISSED "$secs" "(exit $rc) $evidence"
			status=1
		fi
		[ -z "${MUTANT_KEEP:-}" ] && rm -rf "$dir"
	done
	return $status
}
