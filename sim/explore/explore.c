/*
 * explore.c - the crash explorer's run (explore.h): replay the trace with
 * the crash-point hook (explore_point.c) for the chosen mode, turn the
 * replay's outcome into the run's verdict, and write the run's rows of the
 * state database (its coverage goals, a failure of the live run, the
 * summary).
 */
#include "explore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore_run.h"
#include "model.h"
#include "replay.h"
#include "statedb.h"

#define EXPLORE_DEFAULT_BUDGET 64

static unsigned crash_modes(enum explore_mode m)
{
	switch (m) {
	case EXPLORE_MODE_COMPLETION:
		return REPLAY_CRASH_DISK_IO | REPLAY_CRASH_MARKER | REPLAY_CRASH_END;
	case EXPLORE_MODE_FLUSH:
		return REPLAY_CRASH_FLUSH | REPLAY_CRASH_MARKER | REPLAY_CRASH_END;
	case EXPLORE_MODE_MARKED:
		break;
	}
	return REPLAY_CRASH_MARKER | REPLAY_CRASH_END;
}

static const char *trace_base(const char *path)
{
	const char *p = strrchr(path, '/');

	return p ? p + 1 : path;
}

static enum explore_verdict explore_common(const char *path, const char *buf, size_t len,
					   const struct explore_opts *o,
					   struct explore_result *res)
{
	struct explore_run er = { .o = o, .path = path, .res = res };
	struct replay_opts ro = { 0 };
	struct replay_result rr;
	struct trace_error err;
	enum replay_status st;
	char name[TRACE_NAME_MAX] = ""; /* the header's name: (default: the file's) */

	memset(res, 0, sizeof(*res));
	res->fail_point = -1;
	er.budget = o->budget ? o->budget : EXPLORE_DEFAULT_BUDGET;
	ro.has_seed = o->has_seed;
	ro.seed = o->seed;
	ro.event_budget = o->event_budget;
	ro.crash_modes = crash_modes(o->mode);
	ro.crash_hook = explore_point_hook;
	ro.crash_ctx = &er;
	ro.quiet = true;

	/* The seed is fixed before the first crash point, and the trace's name
	 * goes to the database: read the header (replay_run reports the seed
	 * it used, but the hook needs it first). */
	trace_error_clear(&err);
	res->seed = o->seed;
	{
		struct trace_reader *tr = NULL;
		int r = buf ? trace_open_mem(path, buf, len, TRACE_EXPAND_ONCE, &tr, &err)
			    : trace_open(path, TRACE_EXPAND_ONCE, &tr, &err);

		if (r && !o->has_seed) {
			snprintf(res->replay_failure, sizeof(res->replay_failure), "%s", err.text);
			res->verdict = EXPLORE_BAD_TRACE;
			return res->verdict;
		}
		if (!r) {
			snprintf(name, sizeof(name), "%s", trace_header(tr)->name);
			if (!o->has_seed)
				res->seed = trace_header(tr)->has_seed ? trace_header(tr)->seed : 1;
			trace_close(tr);
		}
		trace_error_clear(&err);
		ro.has_seed = true;
		ro.seed = res->seed;
	}

	if (o->db) {
		struct statedb_run run = {
			.trace = path, .trace_name = name[0] ? name : trace_base(path), .seed = res->seed,
			.options = o->options_text, .version = o->version, .started = o->started,
		};

		er.run_id = statedb_run_add(o->db, &run);
		res->run_id = er.run_id > 0 ? er.run_id : 0;
	}
	st = buf ? replay_run_mem(path, buf, len, &ro, &rr, &err)
		 : replay_run(path, &ro, &rr, &err);
	switch (st) {
	case REPLAY_PASS:
	case REPLAY_STOPPED:
		break;
	case REPLAY_MISMATCH:
		/* The live run itself read something the model forbids. */
		res->verdict = worse(res->verdict, EXPLORE_VIOLATION);
		snprintf(res->replay_failure, sizeof(res->replay_failure), "%s", rr.failure);
		if (res->fail_point < 0) {
			snprintf(res->failure, sizeof(res->failure), "before any crash: %.990s", rr.failure);
			explore_repro_line(&er, -1, NULL, res->repro, sizeof(res->repro));
		}
		break;
	case REPLAY_HANG:
		res->verdict = worse(res->verdict, EXPLORE_HANG);
		snprintf(res->replay_failure, sizeof(res->replay_failure), "%s", rr.failure);
		break;
	case REPLAY_INVALID:
		res->verdict = EXPLORE_BAD_TRACE;
		snprintf(res->replay_failure, sizeof(res->replay_failure), "%s",
			 err.text[0] ? err.text : rr.failure);
		break;
	case REPLAY_ERROR:
		res->verdict = worse(res->verdict, EXPLORE_TOOL_CRASH);
		snprintf(res->replay_failure, sizeof(res->replay_failure), "%s", rr.failure);
		break;
	}
	res->live_failed = res->fail_point < 0 && (res->verdict == EXPLORE_VIOLATION ||
						   res->verdict == EXPLORE_HANG ||
						   res->verdict == EXPLORE_TOOL_CRASH);
	if (o->only_point >= 0 && res->verdict == EXPLORE_OK && !res->interrupted &&
	    (uint64_t)o->only_point >= res->points) {
		/* The whole trace ran without reaching it: a request for nothing. */
		res->verdict = EXPLORE_NO_POINT;
		snprintf(res->replay_failure, sizeof(res->replay_failure),
			 "--point %" PRId64 ": no such crash point: %s has %" PRIu64
			 " crash point%s in --mode %s (0..%" PRIu64 ")", o->only_point, path,
			 res->points, res->points == 1 ? "" : "s", explore_mode_name(o->mode),
			 res->points ? res->points - 1 : 0);
	}
	if (o->db && er.run_id > 0) {
		statedb_begin(o->db);
		for (int g = 0; g < EXPLORE_GOAL_COUNT; g++)
			statedb_coverage_set(o->db, er.run_id, explore_goal_name(g), res->goal[g], -1,
					     NULL);
		if (res->live_failed) {
			/* A failure outside any crash state: a row of its own (kind 'replay'),
			 * counted apart from the crash points and states (explore_result). */
			struct statedb_point p = {
				.run = er.run_id, .seq = res->points, .kind = "replay",
				.trace_line = rr.fail_line, .label = "the live run", .states_total = 1,
			};
			int64_t pid = statedb_point_add(o->db, &p);
			struct explore_state_result sr = { .verdict = res->verdict, .cow_used = -1 };

			/* No evidence row: nothing was read back from a crashed state. */
			snprintf(sr.message, sizeof(sr.message), "%s", res->replay_failure);
			er.nr_exc = 0;
			explore_record_state(&er, pid, 0, "", &sr, res->repro[0] ? res->repro : NULL);
			statedb_point_finish(o->db, pid, 1, explore_verdict_name(res->verdict));
		}
		/* An interrupted run says so in place of a verdict it never reached;
		 * failures found before are in its states. */
		statedb_run_finish(o->db, er.run_id,
				   res->interrupted ? "interrupted" : explore_verdict_name(res->verdict),
				   res->points,
				   res->states_checked, res->repro[0] ? res->repro : NULL, NULL);
		statedb_commit(o->db);
	}
	free(er.exc);
	free(er.seen);
	explore_fast_run_end(&er);
	model_content_memo_free(er.cmemo);
	return res->verdict;
}

enum explore_verdict explore_trace(const char *path, const struct explore_opts *o,
				   struct explore_result *res)
{
	return explore_common(path, NULL, 0, o, res);
}

enum explore_verdict explore_trace_mem(const char *name, const char *buf, size_t len,
				       const struct explore_opts *o, struct explore_result *res)
{
	return explore_common(name, buf, len, o, res);
}

struct count_ctx {
	const struct explore_opts *o;
	uint64_t n;
};

/* A crash hook that counts the points explore_point_hook would explore. */
static int count_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct count_ctx *c = ctx;

	(void)w;
	if (c->o->stop && *c->o->stop)
		return 1;
	if (c->o->only_point >= 0) {
		c->n += (int64_t)cp->seq == c->o->only_point;
		return (int64_t)cp->seq >= c->o->only_point;
	}
	c->n += !c->o->shard_n || cp->seq % c->o->shard_n == c->o->shard_k;
	return 0;
}

uint64_t explore_count_points(const char *path, const struct explore_opts *o)
{
	struct count_ctx c = { .o = o };
	struct replay_opts ro = { .has_seed = o->has_seed, .seed = o->seed,
				  .event_budget = o->event_budget, .crash_modes = crash_modes(o->mode),
				  .crash_hook = count_hook, .crash_ctx = &c, .quiet = true };
	struct replay_result *rr = malloc(sizeof(*rr));
	struct trace_error err;

	if (!rr)
		return 0;
	trace_error_clear(&err);
	replay_run(path, &ro, rr, &err);
	free(rr);
	return c.n;
}
