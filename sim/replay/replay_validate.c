/*
 * replay.c - replay_run(): validate a trace, build the world, run the steps
 * (dm verbs, output checks, I/O, parallel groups, crash markers, waits).
 *
 * Validation mirrors the trace's devices in a scratch registry: disks are
 * size-only devices that read zeros, each dm device is a `zero` table of
 * the size its live table has, so every create/load table is built by
 * dm_table_create() with the argument, chunk-size and range rules of the
 * core before anything runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fifo_executor.h"
#include "replay_impl.h"

/* ---- validation ---- */

struct null_bdev {
	struct bdev base;
};

static void null_submit(struct bdev *bd, struct bio *bio)
{
	(void)bd;
	(void)bio; /* validation never submits I/O */
}

static int null_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			uint32_t nr_sectors, uint8_t *data)
{
	(void)bd;
	(void)sector;
	if (op == BIO_READ)
		memset(data, 0, (size_t)nr_sectors * 512);
	return 0;
}

static const struct bdev_ops null_ops = {
	.submit = null_submit,
	.sync_rw = null_sync_rw,
};

struct vdev {
	char name[TRACE_NAME_MAX];
	sector_t staged;
	bool has_staged;
};

struct vctx {
	const char *file;
	struct fifo_executor fx;
	struct dm_registry *reg;
	struct null_bdev *disks;
	unsigned nr_disks;
	struct vdev *devs;
	unsigned nr_devs, cap_devs;
	bool setup;
};

static struct vdev *vdev_find(struct vctx *v, const char *name)
{
	for (unsigned i = 0; i < v->nr_devs; i++)
		if (!strcmp(v->devs[i].name, name))
			return &v->devs[i];
	return NULL;
}

static struct vdev *vdev_add(struct vctx *v, const char *name)
{
	if (v->nr_devs == v->cap_devs) {
		unsigned cap = v->cap_devs ? 2 * v->cap_devs : 8;
		struct vdev *n = realloc(v->devs, cap * sizeof(*n));

		if (!n)
			return NULL;
		v->devs = n;
		v->cap_devs = cap;
	}
	struct vdev *d = &v->devs[v->nr_devs++];

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	return d;
}

static int vsetup(struct vctx *v, const struct trace_header *hdr)
{
	struct ss_error err;

	v->setup = true;
	fifo_executor_init(&v->fx);
	v->reg = dm_registry_create(&v->fx.base);
	v->disks = calloc(hdr->nr_disks ? hdr->nr_disks : 1, sizeof(*v->disks));
	if (!v->reg || !v->disks)
		return -ENOMEM;
	for (unsigned i = 0; i < hdr->nr_disks; i++) {
		struct null_bdev *n = &v->disks[i];

		n->base.ops = &null_ops;
		n->base.size_sectors = hdr->disks[i].size_sectors;
		n->base.logical_block_bytes = hdr->disks[i].sector_bytes;
		snprintf(n->base.name, sizeof(n->base.name), "%.127s", hdr->disks[i].path);
		ss_error_clear(&err);
		if (dm_registry_add_bdev(v->reg, &n->base, &err))
			return -EINVAL;
		v->nr_disks = i + 1;
	}
	return 0;
}

static void vteardown(struct vctx *v)
{
	if (v->reg) {
		fifo_executor_run(&v->fx, 0);
		dm_registry_destroy(v->reg);
	}
	if (v->setup)
		fifo_executor_destroy(&v->fx);
	free(v->disks);
	free(v->devs);
}

/* Make dev NAME in the scratch registry a zero device of size sectors. */
static void vset_size(struct vctx *v, const char *name, sector_t size)
{
	struct ss_error err;
	char t[64];

	ss_error_clear(&err);
	if (!size) {
		return;
	}
	snprintf(t, sizeof(t), "0 %" PRIu64 " zero", (uint64_t)size);
	if (!dm_load(v->reg, name, t, 0, &err)) {
		dm_resume(v->reg, name, 0, &err);
		fifo_executor_run(&v->fx, 0);
	}
}

/* Build a table in the scratch registry: 0 and its size, or an error. */
static int vtable(struct vctx *v, const struct trace_step *st, const char *table,
		  sector_t *size, struct trace_error *err)
{
	struct ss_error e;
	struct dm_table *t = NULL;
	int r;

	ss_error_clear(&e);
	r = dm_table_create(v->reg, table, st->u.dm.flags & TRACE_DM_READONLY ? DM_READ_ONLY : 0,
			    &t, &e);
	fifo_executor_run(&v->fx, 0);
	if (r) {
		char b[SS_ERROR_MSG_MAX + 64];

		return trace_error_set(err, r, v->file, st->line, st->column, "dm %s: %s",
				       st->u.dm.text, ss_error_format(&e, b, sizeof(b)));
	}
	*size = dm_table_size(t);
	dm_table_destroy(t);
	fifo_executor_run(&v->fx, 0);
	return 0;
}

static int vstep(void *ctx, const struct trace_header *hdr, const struct trace_step *st,
		 struct trace_error *err)
{
	struct vctx *v = ctx;
	const struct trace_dm *dm = &st->u.dm;
	struct ss_error e;
	struct vdev *d;
	sector_t size = 0;
	int r;

	if (!v->setup && vsetup(v, hdr))
		return trace_error_set(err, -ENOMEM, v->file, 0, 0, "out of memory");
	if (st->kind == TRACE_STEP_READ || st->kind == TRACE_STEP_WRITE ||
	    st->kind == TRACE_STEP_DISCARD) {
		if (st->u.io.length > (1u << 24))
			return trace_error_set(err, -EINVAL, v->file, st->line, st->column,
					       "length: at most 16777216 sectors (8 GiB) per request");
		return 0;
	}
	if (st->kind != TRACE_STEP_DM || st->expect_error)
		return 0;
	ss_error_clear(&e);
	switch (dm->verb) {
	case TRACE_DM_CREATE:
		if (dm->table && (r = vtable(v, st, dm->table, &size, err)))
			return r;
		if (dm_create(v->reg, dm->name, NULL, NULL, 0, &e))
			return 0;
		if (!vdev_add(v, dm->name))
			return trace_error_set(err, -ENOMEM, v->file, 0, 0, "out of memory");
		vset_size(v, dm->name, size);
		break;
	case TRACE_DM_LOAD:
		if ((r = vtable(v, st, dm->table, &size, err)))
			return r;
		if ((d = vdev_find(v, dm->name))) {
			d->staged = size;
			d->has_staged = true;
		}
		break;
	case TRACE_DM_TABLE_PIPE: {
		struct dm_device *src = dm_find_device(v->reg, dm->name);

		if ((d = vdev_find(v, dm->pipe_dst)) && src) {
			d->staged = dm_device_bdev(src)->size_sectors;
			d->has_staged = true;
		}
		break;
	}
	case TRACE_DM_CLEAR:
		if ((d = vdev_find(v, dm->name)))
			d->has_staged = false;
		break;
	case TRACE_DM_RESUME:
		if ((d = vdev_find(v, dm->name)) && d->has_staged) {
			d->has_staged = false;
			vset_size(v, dm->name, d->staged);
		}
		break;
	case TRACE_DM_REMOVE:
		dm_remove(v->reg, dm->name, &e);
		fifo_executor_run(&v->fx, 0);
		if ((d = vdev_find(v, dm->name)))
			d->name[0] = 0;
		break;
	case TRACE_DM_SUSPEND:
		break;
	}
	return 0;
}

int replay_validate(const char *path, struct trace_error *err)
{
	struct vctx v = { .file = path };
	struct trace_check_hooks h = { .step = vstep, .ctx = &v };
	int r;

	trace_error_clear(err);
	r = trace_check(path, &h, NULL, err);
	vteardown(&v);
	return r;
}

/* The same over a buffer: trace_check() reads files only. */
static int validate_mem(const char *name, const char *buf, size_t len,
			struct trace_error *err)
{
	struct vctx v = { .file = name };
	struct trace_reader *rd;
	struct trace_item it;
	int r;

	trace_error_clear(err);
	r = trace_open_mem(name, buf, len, TRACE_EXPAND_ONCE, &rd, err);
	if (r)
		return r;
	while ((r = trace_next(rd, &it, err)) == 1) {
		const struct trace_step *st = it.step;

		if (st->kind == TRACE_STEP_PARALLEL) {
			for (unsigned i = 0; i < st->u.group.nr_steps && !r; i++)
				r = vstep(&v, trace_header(rd), &st->u.group.steps[i], err);
		} else {
			r = vstep(&v, trace_header(rd), st, err);
		}
		if (r)
			break;
	}
	trace_close(rd);
	vteardown(&v);
	return r < 0 ? r : 0;
}

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

static enum rp_run run_step(struct replay_world *w, const struct trace_item *it)
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
	case TRACE_STEP_REPEAT:
		break;
	}
	if (r == RP_IDLE)
		r = RP_COND;
	if (r == RP_COND)
		rp_poll_devices(w);
	return w->failed ? RP_FAIL : r;
}

/* ---- the run ---- */

static void res_finish(struct replay_world *w, struct replay_result *res)
{
	res->events = w->events;
	res->event_hash = sim_sched_log_hash(&w->sched);
	res->now_ns = sim_sched_now(&w->sched);
}

static enum replay_status run_reader(struct trace_reader *rd, const char *name,
				     const struct replay_opts *opts,
				     struct replay_result *res, struct trace_error *err)
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
	if (rp_world_create(hdr, res->seed, name, opts, &w, eb, sizeof(eb))) {
		trace_error_set(err, -EINVAL, name, 0, 0, "%s", eb);
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
		r = run_step(w, &it);
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
		res->status = REPLAY_MISMATCH;
		break;
	}
	if (res->status == REPLAY_MISMATCH || res->status == REPLAY_HANG) {
		res->mismatches = res->status == REPLAY_MISMATCH;
		snprintf(res->failure, sizeof(res->failure), "%s", w->fail);
		trace_error_set(err, -EIO, name, w->res->fail_line ? w->res->fail_line : 0,
				w->step_column, "%s", w->fail);
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
	if (replay_validate(path, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		return res->status = REPLAY_INVALID;
	}
	trace_error_clear(err);
	if (trace_open(path, 0, &rd, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		return res->status = REPLAY_ERROR;
	}
	st = run_reader(rd, path, opts, res, err);
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
	if (validate_mem(name, buf, len, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		return res->status = REPLAY_INVALID;
	}
	trace_error_clear(err);
	if (trace_open_mem(name, buf, len, 0, &rd, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		return res->status = REPLAY_ERROR;
	}
	st = run_reader(rd, name, opts, res, err);
	trace_close(rd);
	return st;
}
