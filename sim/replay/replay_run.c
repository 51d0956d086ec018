/*
 * replay_run.c - replay_run() and replay_run_mem(): validate the trace,
 * build the world, run its steps one at a time (dm and I/O steps handed to
 * their files; crash markers, waits, settles and sleeps here), and turn
 * the outcome into the replay result: pass, stopped, hang or the first
 * mismatch with its line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "replay_impl.h"
#include "sim_image.h"

static bool nothing_inflight(struct replay_world *w, void *ctx)
{
	(void)ctx;
	return w->inflight == 0;
}

static bool sched_idle(struct replay_world *w, void *ctx)
{
	(void)ctx;
	return sim_sched_pending(&w->sched) == 0;
}

static bool nothing_due(struct replay_world *w, void *ctx)
{
	uint64_t t;

	return !sim_sched_next_time(&w->sched, &t) || t > *(const uint64_t *)ctx;
}

/* ---- steps ---- */

enum rp_run rp_run_step(struct replay_world *w, const struct trace_item *it)
{
	const struct trace_step *st = it->step;
	enum rp_run r = RP_COND;

	switch (st->kind) {
	case TRACE_STEP_DM:
		r = rp_step_dm(w, st);
		break;
	case TRACE_STEP_QUERY:
		r = rp_step_query(w, st);
		break;
	case TRACE_STEP_READ:
	case TRACE_STEP_WRITE:
	case TRACE_STEP_FLUSH:
	case TRACE_STEP_DISCARD:
	case TRACE_STEP_PARALLEL:
		r = rp_step_io(w, st, it->iteration);
		break;
	case TRACE_STEP_CRASH:
		if (w->crash_modes & REPLAY_CRASH_MARKER) {
			struct replay_crash_point cp = {
				.kind = REPLAY_CRASH_MARKER, .disk = -1,
				.marker = st->u.crash_name,
			};
			rp_crash_point(w, &cp);
			rp_drain(w);
		}
		sim_sched_logf(&w->sched, "crash marker %s", st->u.crash_name);
		r = w->stopped ? RP_STOP : RP_COND;
		break;
	case TRACE_STEP_WAIT:
		r = rp_run(w, nothing_inflight, NULL);
		if (r == RP_IDLE) {
			rp_fail(w, st->line, "wait: %" PRIu64
				" I/O requests never complete (a device stays suspended?)",
				w->inflight);
			r = RP_FAIL;
		}
		rp_req_reap(w);
		break;
	case TRACE_STEP_SETTLE:
		r = rp_run(w, sched_idle, NULL);
		break;
	case TRACE_STEP_SLEEP: {
		uint64_t until = sim_sched_now(&w->sched) + st->u.sleep_ns;

		r = rp_run(w, nothing_due, &until);
		if (r == RP_COND || r == RP_IDLE)
			sim_sched_run_until(&w->sched, until, 1);
		break;
	}
	case TRACE_STEP_SAVE:
		r = rp_step_save(w, st);
		break;
	case TRACE_STEP_REPEAT:
		break;
	}
	if (r == RP_IDLE)
		r = RP_COND;
	if (r == RP_COND)
		rp_poll_devices(w);
	if (r == RP_COND && w->on_files)
		rp_files_poll(w);
	return w->failed ? RP_FAIL : r;
}

/* ---- the run ---- */

static void res_finish(struct replay_world *w, struct replay_result *res)
{
	for (unsigned i = 0; i < w->nr_disks; i++)
		if (w->disks[i].image) {
			res->image_bytes += sim_image_bytes(w->disks[i].image);
			res->image_bytes_read += sim_image_bytes_read(w->disks[i].image);
		}
	if (w->on_files)
		rp_files_stats(w, res);
	res->events = w->events;
	res->event_hash = sim_sched_log_hash(&w->sched);
	res->now_ns = sim_sched_now(&w->sched);
}

enum replay_status rp_run_reader(struct trace_reader *rd, const char *name,
				 const struct replay_opts *opts, struct replay_result *res,
				 struct trace_error *err, struct replay_world **keep)
{
	static const struct replay_opts defaults = { 0 };
	const struct trace_header *hdr = trace_header(rd);
	struct replay_world *w;
	struct trace_item it;
	char eb[REPLAY_MSG_MAX];
	enum rp_run r = RP_COND;
	int tr;

	if (!opts)
		opts = &defaults;
	res->seed = opts->has_seed ? opts->seed : hdr->has_seed ? hdr->seed : 1;
	int cr = opts->disk_files
		 ? rp_world_create_files(hdr, res->seed, name, opts, &w, eb, sizeof(eb))
		 : rp_world_create(hdr, res->seed, name, opts, &w, eb, sizeof(eb));

	if (cr) {
		trace_error_set(err, opts->disk_files ? cr : -EINVAL, name, 0, 0, "%s", eb);
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		return res->status = REPLAY_ERROR;
	}
	w->opts = opts;
	w->res = res;
	w->crash_modes = opts->crash_modes;
	sim_sched_logf(&w->sched, "replay %s seed %" PRIu64, hdr->name, res->seed);
	while ((tr = trace_next(rd, &it, err)) == 1) {
		w->step_line = it.step->line;
		w->step_column = it.step->column;
		w->step_seq = it.seq;
		res->steps++;
		sim_sched_logf(&w->sched, "step %u:%u #%" PRIu64, it.step->line, it.step->column,
			       it.seq);
		r = rp_run_step(w, &it);
		if (opts->on_step)
			opts->on_step(opts->on_step_ctx, res);
		if (r != RP_COND)
			break;
	}
	if (tr < 0 && r == RP_COND) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		res_finish(w, res);
		replay_world_destroy(w);
		return res->status = REPLAY_ERROR;
	}
	if (r == RP_COND && w->inflight) {
		r = rp_run(w, nothing_inflight, NULL);
		if (r == RP_IDLE) {
			rp_fail(w, 0, "%" PRIu64 " I/O requests never completed by the end of the"
				" trace (a device stays suspended?)", w->inflight);
			r = RP_FAIL;
		}
	}
	if (r == RP_COND && (w->crash_modes & REPLAY_CRASH_END)) {
		struct replay_crash_point cp = { .kind = REPLAY_CRASH_END, .disk = -1 };

		rp_crash_point(w, &cp);
		rp_drain(w);
		if (w->stopped)
			r = RP_STOP;
	}
	if (r == RP_COND && opts->end_hook) {
		eb[0] = 0;
		if (opts->end_hook(opts->end_ctx, w, eb, sizeof(eb))) {
			snprintf(w->fail, sizeof(w->fail), "%s", eb);
			w->save_failed = true;
			r = RP_FAIL;
		}
	}
	res_finish(w, res);
	switch (r) {
	case RP_COND:
	case RP_IDLE:
		res->status = REPLAY_PASS;
		break;
	case RP_STOP:
		res->status = REPLAY_STOPPED;
		break;
	case RP_HANGED:
		rp_fail(w, w->step_line, "hang: %" PRIu64 " events ran without the step finishing",
			w->budget);
		res->status = REPLAY_HANG;
		break;
	case RP_FAIL:
		res->status = w->save_failed ? REPLAY_ERROR : REPLAY_MISMATCH;
		break;
	}
	if (res->status == REPLAY_MISMATCH || res->status == REPLAY_HANG || w->save_failed) {
		res->mismatches = res->status == REPLAY_MISMATCH;
		snprintf(res->failure, sizeof(res->failure), "%s", w->fail);
		trace_error_set(err, -EIO, name, w->res->fail_line ? w->res->fail_line : 0,
				w->step_column, "%s", w->fail);
	}
	if (keep && res->status == REPLAY_PASS) {
		*keep = w; /* a session goes on with this world */
		return res->status;
	}
	replay_world_destroy(w);
	return res->status;
}

enum replay_status replay_run(const char *path, const struct replay_opts *opts,
			      struct replay_result *res, struct trace_error *err)
{
	struct trace_reader *rd;
	enum replay_status st;

	memset(res, 0, sizeof(*res));
	if (rp_validate_count(path, opts, &res->steps_total, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		return res->status = REPLAY_INVALID;
	}
	trace_error_clear(err);
	if (trace_open(path, 0, &rd, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		return res->status = REPLAY_ERROR;
	}
	st = rp_run_reader(rd, path, opts, res, err, NULL);
	trace_close(rd);
	return st;
}

enum replay_status replay_run_mem(const char *name, const char *buf, size_t len,
				  const struct replay_opts *opts,
				  struct replay_result *res, struct trace_error *err)
{
	struct trace_reader *rd;
	enum replay_status st;

	memset(res, 0, sizeof(*res));
	if (rp_validate_mem(name, buf, len, opts, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		return res->status = REPLAY_INVALID;
	}
	trace_error_clear(err);
	if (trace_open_mem(name, buf, len, 0, &rd, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		return res->status = REPLAY_ERROR;
	}
	st = rp_run_reader(rd, name, opts, res, err, NULL);
	trace_close(rd);
	return st;
}
