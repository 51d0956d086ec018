/*
 * replay_step_io.c - the I/O steps of a trace (read, write, discard, flush)
 * and parallel groups of them: each request built from its step (data or
 * expected data filled in, the model told of a write before it is
 * submitted, a parallel read's per-sector expectations taken at
 * submission), a group submitted together and waited for as one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "dm_snap.h"
#include "dm_target.h"
#include "pattern.h"
#include "replay_impl.h"

/* ---- data ---- */

static int fill_data(struct replay_world *w, const struct trace_data *d, uint64_t iter,
		     sector_t sector, uint32_t nr, uint8_t *buf, struct model_data *md,
		     unsigned line)
{
	size_t bytes = (size_t)nr * 512;

	memset(md, 0, sizeof(*md));
	switch (d->kind) {
	case TRACE_DATA_NONE:
	case TRACE_DATA_ZERO:
		memset(buf, 0, bytes);
		md->kind = MODEL_DATA_ZERO;
		return 0;
	case TRACE_DATA_PATTERN:
		md->kind = MODEL_DATA_PATTERN;
		md->seed = trace_data_seed(d, iter);
		md->base = d->has_base ? d->base : sector;
		pattern_fill_range(md->seed, md->base, nr, buf);
		return 0;
	case TRACE_DATA_BYTES:
		for (size_t i = 0; i < bytes; i++)
			buf[i] = d->nr_bytes ? d->bytes[i % d->nr_bytes] : 0;
		md->kind = MODEL_DATA_BYTES;
		md->bytes = buf;
		return 0;
	case TRACE_DATA_FILE: {
		FILE *f = fopen(d->file, "rb");
		bool ok = f && fseek(f, (long)d->file_offset_bytes, SEEK_SET) == 0 &&
			  fread(buf, 1, bytes, f) == bytes;

		if (f)
			fclose(f);
		if (!ok) {
			rp_fail(w, line, "data file %s: cannot read %zu bytes at %" PRIu64,
				d->file, bytes, d->file_offset_bytes);
			return -EIO;
		}
		md->kind = MODEL_DATA_BYTES;
		md->bytes = buf;
		return 0;
	}
	}
	return -EINVAL;
}

/* ---- I/O steps ---- */

/* A write through a snapshot device: its COW holds chunks the snapshot wrote. */
static void note_snap_write(struct replay_world *w, const char *name)
{
	struct dm_device *md = dm_find_device(w->reg, name);
	struct dm_target *ti = md ? dm_device_target(md, 0) : NULL;
	const struct dm_snapshot *s;

	if (!ti || strcmp(ti->type->name, "snapshot"))
		return;
	s = ti->private;
	if (replay_world_snap_wrote_cow(w, s->cow) ||
	    w->nr_snap_cows == sizeof(w->snap_cows) / sizeof(w->snap_cows[0]))
		return;
	w->snap_cows[w->nr_snap_cows++] = s->cow;
}

static struct rp_req *build_io(struct replay_world *w, const struct trace_step *st,
			       uint64_t iter, bool parallel)
{
	const struct trace_io *io = &st->u.io;
	char mname[TRACE_NAME_MAX];
	bool is_dm = false;
	struct bdev *bd = rp_resolve(w, io->dev, mname, sizeof(mname), &is_dm);
	struct rp_req *q;
	sector_t sector = trace_io_offset(io, iter);
	uint32_t nr = (uint32_t)io->length;
	struct model_data md;
	enum bio_op op;
	unsigned flags = 0;

	if (!bd) {
		rp_fail(w, st->line, "%s: no such device", io->dev);
		return NULL;
	}
	switch (st->kind) {
	case TRACE_STEP_READ: op = BIO_READ; break;
	case TRACE_STEP_WRITE: op = BIO_WRITE; break;
	case TRACE_STEP_DISCARD: op = BIO_DISCARD; break;
	default: op = BIO_FLUSH; nr = 0; sector = 0; break;
	}
	if (io->fua)
		flags |= BIO_FUA;
	if (io->preflush)
		flags |= BIO_PREFLUSH;
	q = rp_req_new(w);
	if (!q) {
		rp_fail(w, st->line, "out of memory");
		return NULL;
	}
	snprintf(q->dev, sizeof(q->dev), "%s", mname);
	q->is_dm = is_dm;
	q->line = st->line;
	q->column = st->column;
	q->expect_error = st->expect_error;
	/* may_fail: no status of the step's own; the model still judges it
	 * (a read's EIO where it allows none, a write's status against its
	 * prediction). */
	q->check_error = !io->may_fail;
	q->trace_io = true;
	if (nr && op != BIO_DISCARD) {
		q->buf = malloc((size_t)nr * 512);
		if (!q->buf)
			goto oom;
	}
	if (op == BIO_WRITE) {
		if (is_dm)
			note_snap_write(w, mname);
		if (fill_data(w, &io->data, iter, sector, nr, q->buf, &md, st->line))
			goto fail;
		if (flags & BIO_PREFLUSH)
			q->flush_token = model_flush_begin(w->model);
		q->predicted = model_write_begin(w->model, mname, sector, nr, &md,
						 io->fua ? MODEL_FUA : 0, &q->model_id);
	} else if (op == BIO_DISCARD) {
		/* The model has no discard: the range reads old or zero from now on. */
		md.kind = MODEL_DATA_ZERO;
		model_write_begin(w->model, mname, sector, nr, &md, 0, &q->model_id);
		q->predicted = st->expect_error;
	} else if (op == BIO_FLUSH) {
		q->flush_token = model_flush_begin(w->model);
	} else {
		if (io->expect.kind != TRACE_DATA_NONE) {
			q->expect_buf = malloc((size_t)nr * 512);
			if (!q->expect_buf)
				goto oom;
			if (fill_data(w, &io->expect, iter, sector, nr, q->expect_buf, &md,
				      st->line))
				goto fail;
		}
		if (parallel) {
			q->pre = calloc(nr, sizeof(*q->pre));
			if (!q->pre)
				goto oom;
			for (uint32_t i = 0; i < nr; i++)
				model_read_expect(w->model, mname, sector + i, &q->pre[i]);
		}
	}
	bio_init(&q->bio, bd, op, flags, sector, nr, q->buf, NULL, NULL);
	return q;
oom:
	rp_fail(w, st->line, "out of memory");
fail:
	rp_req_free(q);
	return NULL;
}

struct group_wait {
	struct rp_req **reqs;
	unsigned n;
};

static bool group_done(struct replay_world *w, void *ctx)
{
	struct group_wait *g = ctx;

	(void)w;
	for (unsigned i = 0; i < g->n; i++)
		if (!g->reqs[i]->done)
			return false;
	return true;
}

enum rp_run rp_step_io(struct replay_world *w, const struct trace_step *st, uint64_t iter)
{
	struct rp_req *one[1];
	struct rp_req **reqs = one;
	unsigned n = 0, total = 1;
	const struct trace_step *members = st;
	struct group_wait g;
	enum rp_run r;

	if (st->kind == TRACE_STEP_PARALLEL) {
		total = st->u.group.nr_steps;
		members = st->u.group.steps;
		reqs = calloc(total ? total : 1, sizeof(*reqs));
		if (!reqs) {
			rp_fail(w, st->line, "out of memory");
			return RP_FAIL;
		}
	}
	for (unsigned i = 0; i < total; i++) {
		struct rp_req *q = build_io(w, &members[i], iter, st->kind == TRACE_STEP_PARALLEL);

		if (!q)
			break;
		reqs[n++] = q;
	}
	if (n == total)
		for (unsigned i = 0; i < n; i++)
			rp_req_submit(reqs[i]);
	else
		for (unsigned i = 0; i < n; i++)
			rp_req_free(reqs[i]);
	g.reqs = reqs;
	g.n = n == total ? n : 0;
	r = w->failed ? RP_FAIL : rp_run(w, group_done, &g);
	if (reqs != one)
		free(reqs);
	if (r == RP_COND || r == RP_IDLE)
		rp_req_reap(w);
	return r;
}
