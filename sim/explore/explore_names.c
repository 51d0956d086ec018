/*
 * explore_names.c - the words the explorer prints and records for its
 * enums (explore.h): modes, subset modes, verdicts, coverage goals, and a
 * trace file's stem for output names. The
 * CLI, the state database and the repro lines all spell them this way.
 */
#include <stdio.h>
#include <string.h>

#include "explore.h"

const char *explore_mode_name(enum explore_mode m)
{
	switch (m) {
	case EXPLORE_MODE_COMPLETION: return "completion";
	case EXPLORE_MODE_FLUSH: return "flush";
	case EXPLORE_MODE_MARKED: return "marked";
	}
	return "?";
}

const char *explore_subsets_name(enum sim_subset_mode m)
{
	switch (m) {
	case SIM_SUBSET_ALL: return "all";
	case SIM_SUBSET_RANDOM: return "random";
	case SIM_SUBSET_PREFIX: return "prefix";
	case SIM_SUBSET_REORDER: return "reorder";
	}
	return "?";
}

const char *explore_verdict_name(enum explore_verdict v)
{
	switch (v) {
	case EXPLORE_OK: return "ok";
	case EXPLORE_VIOLATION: return "violation";
	case EXPLORE_BAD_TRACE: return "bad-trace";
	case EXPLORE_TOOL_CRASH: return "crash";
	case EXPLORE_HANG: return "hang";
	case EXPLORE_NO_POINT: return "no-such-point";
	}
	return "?";
}

const char *explore_goal_name(enum explore_goal g)
{
	switch (g) {
	case EXPLORE_GOAL_MID_MERGE: return "crash mid-merge";
	case EXPLORE_GOAL_PARTIAL_AREA: return "crash while an area was being filled";
	case EXPLORE_GOAL_COW_FULL: return "crash with the COW full";
	case EXPLORE_GOAL_OUT_OF_ORDER: return "crash with copies completed out of order";
	case EXPLORE_GOAL_COW_PARTIAL: return "cow filled to its last partial chunk";
	case EXPLORE_GOAL_TWO_READERS: return "two tracked reads waiting on one exception";
	case EXPLORE_GOAL_INVALID_UNCOMMITTED: return "store invalidated before its first commit";
	case EXPLORE_GOAL_HUGE_IO: return "huge chunk (2^17..2^21 sectors) written through";
	case EXPLORE_GOAL_ALIASES: return "one device under two spellings in tables";
	case EXPLORE_GOAL_CTR_ERROR: return "crash after a table the constructor refused";
	case EXPLORE_GOAL_RELOAD_FULL_AREA: return "snapshot reactivated at a full last area";
	case EXPLORE_GOAL_RACE: return "origin write held by a snapshot read of its chunk";
	case EXPLORE_GOAL_MERGE_OWN: return "merge of chunks the snapshot wrote";
	case EXPLORE_GOAL_COUNT: break;
	}
	return "?";
}

const char *explore_check_verdict_name(enum explore_check_verdict v)
{
	switch (v) {
	case EXPLORE_CHECK_OK: return "ok";
	case EXPLORE_CHECK_FAILED: return "failed";
	case EXPLORE_CHECK_TIMEOUT: return "timeout";
	case EXPLORE_CHECK_ERROR: return "error";
	case EXPLORE_CHECK_SKIPPED: return "skipped";
	}
	return "?";
}

void explore_trace_stem(const char *path, char *buf, size_t len)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 5 && !strcmp(b + n - 5, ".yaml"))
		n -= 5;
	snprintf(buf, len, "%.*s", (int)n, b);
}
