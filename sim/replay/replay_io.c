/*
 * replay_io.c - the replayer's requests: bios to dm devices and disks,
 * their completions recorded into the model and checked against it and
 * against what the trace expects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_impl.h"

/* ---- requests ---- */

struct rp_req *rp_req_new(struct replay_world *w)
{
	struct rp_req *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->w = w;
	q->next = w->reqs;
	if (w->reqs)
		w->reqs->prev = q;
	w->reqs = q;
	return q;
}

void rp_req_free(struct rp_req *q)
{
	struct replay_world *w = q->w;

	if (q->prev)
		q->prev->next = q->next;
	else
		w->reqs = q->next;
	if (q->next)
		q->next->prev = q->prev;
	free(q->buf);
	free(q->expect_buf);
	free(q->pre);
	free(q);
}

/* Free completed requests; the rest stay in flight (a suspended device). */
void rp_req_reap(struct replay_world *w)
{
	for (struct rp_req *q = w->reqs, *n; q; q = n) {
		n = q->next;
		if (q->done)
			rp_req_free(q);
	}
}

void rp_free_all(struct replay_world *w)
{
	while (w->reqs)
		rp_req_free(w->reqs);
	while (w->suspends) {
		struct rp_pending_suspend *s = w->suspends;

		w->suspends = s->next;
		free(s);
	}
}

static const char *op_name(enum bio_op op)
{
	switch (op) {
	case BIO_READ: return "read";
	case BIO_WRITE: return "write";
	case BIO_FLUSH: return "flush";
	case BIO_DISCARD: return "discard";
	}
	return "?";
}

static const char *errname(int e, char *buf, size_t len)
{
	static const struct { int e; const char *n; } names[] = {
		{ EIO, "EIO" }, { EINVAL, "EINVAL" }, { EBUSY, "EBUSY" }, { ENOSPC, "ENOSPC" },
		{ ENXIO, "ENXIO" }, { ENOENT, "ENOENT" }, { EEXIST, "EEXIST" },
		{ ENODEV, "ENODEV" }, { EROFS, "EROFS" }, { ENOMEM, "ENOMEM" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { EINTR, "EINTR" }, { EPERM, "EPERM" },
		{ ENOTTY, "ENOTTY" }, { EAGAIN, "EAGAIN" },
	};
	if (e == 0)
		return "success";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == -e)
			return names[i].n;
	snprintf(buf, len, "error %d", e);
	return buf;
}

const char *rp_errname(int e, char *buf, size_t len)
{
	return errname(e, buf, len);
}

const char *rp_op_name(enum bio_op op)
{
	return op_name(op);
}

/* Per-sector check of a read against its submission-time expectations. */
static bool matches_pre(const struct rp_req *q)
{
	for (uint32_t i = 0; i < q->bio.nr_sectors; i++) {
		const struct model_expect *e = &q->pre[i];
		struct model_content c;
		bool ok = false;

		if (q->status)
			ok = e->may_fail;
		else {
			c = model_content_of(q->buf + (size_t)i * 512);
			for (unsigned k = 0; k < e->n && !ok; k++)
				ok = e->c[k].kind == c.kind && e->c[k].a == c.a && e->c[k].b == c.b;
			if (!ok && e->n_total > e->n)
				ok = true; /* more versions than listed: give the benefit */
		}
		if (!ok)
			return false;
	}
	return true;
}

/*
 * A successful read of a snapshot that went invalid while it was in
 * flight: it was sent to the COW or the origin while the snapshot was
 * valid, and the invalidation released origin writes that need not wait
 * for it any more (spec 4.10), so each sector holds what the model
 * allowed at submission or what the origin may read now.
 */
static bool matches_invalidated(struct replay_world *w, const struct rp_req *q)
{
	if (!q->pre || q->status || model_snapshot_state(w->model, q->dev) != MODEL_SNAP_INVALID)
		return false;
	for (uint32_t i = 0; i < q->bio.nr_sectors; i++) {
		struct model_content c = model_content_of(q->buf + (size_t)i * 512);
		const struct model_expect *p = &q->pre[i];
		struct model_expect o;
		bool ok = p->may_succeed && p->n_total > p->n;

		for (unsigned k = 0; k < p->n && !ok; k++)
			ok = p->may_succeed && p->c[k].kind == c.kind && p->c[k].a == c.a &&
			     p->c[k].b == c.b;
		if (!ok && !model_read_expect_origin(w->model, q->dev, q->bio.sector + i, &o)) {
			ok = o.n_total > o.n;
			for (unsigned k = 0; k < o.n && !ok; k++)
				ok = o.c[k].kind == c.kind && o.c[k].a == c.a && o.c[k].b == c.b;
		}
		if (!ok)
			return false;
	}
	return true;
}

static void read_done(struct rp_req *q)
{
	struct replay_world *w = q->w;
	struct model_mismatch mm;
	char eb[32];
	int r;

	if (q->status == 0 && w->res)
		w->res->bytes_read += (uint64_t)q->bio.nr_sectors * 512;
	if (q->check_error) {
		if (q->status != q->expect_error) {
			char eb2[32];

			rp_fail(w, q->line, "read %s sector %llu+%u: expected %s, got %s", q->dev,
				(unsigned long long)q->bio.sector, q->bio.nr_sectors,
				errname(q->expect_error, eb, sizeof(eb)),
				errname(q->status, eb2, sizeof(eb2)));
			return;
		}
		if (q->expect_error && w->res)
			w->res->expects_checked++;
	}
	if (q->status && q->is_dm && w->faults)
		rp_snapshot_went_invalid(w, q->dev);
	/* A failure the trace asserted, caused by an injected fault: the model
	 * knows nothing of faults, so only the status is checked. */
	if (q->status && q->status == q->expect_error && w->faults)
		return;
	/* A recorded check read: replay_rec_finish judges every position it
	 * read against the recovered model (a recording that cannot is
	 * checked again in full by its caller). */
	if (q->rec_checks)
		return;
	/* On image files that held a store before the run the model cannot
	 * know what a device reads: expect: alone is checked (replay_files.c). */
	r = w->model_blind ? 0
	    : model_check_read(w->model, q->dev, q->bio.sector, q->bio.nr_sectors, q->buf,
			       q->status, &mm);
	if (r == 1 && q->pre && (matches_pre(q) || matches_invalidated(w, q)))
		r = 0;
	if (r == 1) {
		rp_fail(w, q->line, "read %s sector %llu: expected %s, found %s", mm.dev,
			(unsigned long long)mm.sector, mm.expected, mm.found);
		return;
	}
	if (r < 0) {
		rp_fail(w, q->line, "read %s: the model does not know the device", q->dev);
		return;
	}
	if (w->res && !w->model_blind) {
		w->res->reads_checked++;
		w->res->sectors_checked += q->bio.nr_sectors;
	}
	if (q->expect_buf && q->status == 0) {
		for (uint32_t i = 0; i < q->bio.nr_sectors; i++) {
			const uint8_t *got = q->buf + (size_t)i * 512;
			const uint8_t *exp = q->expect_buf + (size_t)i * 512;
			char e1[128], f1[128];
			struct model_content ce, cf;

			if (!memcmp(got, exp, 512))
				continue;
			ce = model_content_of(exp);
			cf = model_content_of(got);
			rp_fail(w, q->line, "read %s sector %llu: expected %s, found %s", q->dev,
				(unsigned long long)(q->bio.sector + i),
				model_content_name(&ce, e1, sizeof(e1)),
				model_content_name(&cf, f1, sizeof(f1)));
			return;
		}
		if (w->res)
			w->res->expects_checked++;
	}
}

static void req_done(struct bio *bio, int status)
{
	struct rp_req *q = bio->private;
	struct replay_world *w = q->w;
	char eb[32], eb2[32];
	bool may_fail;

	q->done = true;
	q->status = status;
	sim_sched_logf(&w->sched, "io done %s %s %llu+%u %d", op_name(bio->op), q->dev,
		       (unsigned long long)bio->sector, bio->nr_sectors, status);
	if (q->trace_io && w->inflight)
		w->inflight--;
	if (w->res && q->trace_io)
		w->res->ios++;
	if (q->unchecked)
		return; /* a session's request: its submitter reads the status */
	switch (bio->op) {
	case BIO_READ:
		read_done(q);
		break;
	case BIO_WRITE:
	case BIO_DISCARD:
		/* A snapshot an I/O error invalidated releases its held origin
		 * writes: the model must know before it takes this write's
		 * acknowledgement as proof that a record is durable. */
		if (w->faults)
			rp_poll_invalid(w);
		may_fail = model_write_may_fail(w->model, q->model_id);
		model_write_end(w->model, q->model_id, status);
		if (status == 0 && w->res)
			w->res->bytes_written += (uint64_t)bio->nr_sectors * 512;
		if (q->check_error) {
			int want = q->expect_error;

			if (status != want) {
				rp_fail(w, q->line, "%s %s sector %llu+%u: expected %s, got %s",
					op_name(bio->op), q->dev, (unsigned long long)bio->sector,
					bio->nr_sectors, errname(want, eb, sizeof(eb)),
					errname(status, eb2, sizeof(eb2)));
				break;
			}
			if (want && w->res)
				w->res->expects_checked++;
		}
		if (status != q->predicted && !w->model_blind) {
			/* An injected fault, or an error the trace asserts (e.g. a
			 * request not aligned to a 4K disk: the model has no block
			 * sizes), explains an error the model cannot predict. */
			bool excused = status && (w->faults || status == q->expect_error || may_fail);

			if (excused && q->is_dm)
				rp_snapshot_went_invalid(w, q->dev);

			if (!excused)
				rp_fail(w, q->line,
					"%s %s sector %llu+%u: the model predicts %s, the core returned %s",
					op_name(bio->op), q->dev, (unsigned long long)bio->sector,
					bio->nr_sectors, errname(q->predicted, eb, sizeof(eb)),
					errname(status, eb2, sizeof(eb2)));
		}
		break;
	case BIO_FLUSH:
		model_flush_end(w->model, q->dev, q->flush_token, status);
		if (q->check_error && status != q->expect_error && !(status && w->faults))
			rp_fail(w, q->line, "flush %s: expected %s, got %s", q->dev,
				errname(q->expect_error, eb, sizeof(eb)),
				errname(status, eb2, sizeof(eb2)));
		break;
	}
	if (q->trace_io && bio->op != BIO_READ &&
	    (w->crash_modes & REPLAY_CRASH_TRACE_IO)) {
		struct replay_crash_point cp = {
			.kind = REPLAY_CRASH_TRACE_IO, .disk = -1, .op = bio->op,
			.bio_flags = bio->flags, .sector = bio->sector,
			.nr_sectors = bio->nr_sectors, .status = status,
		};
		rp_crash_point(w, &cp);
	}
}

void rp_req_submit(struct rp_req *q)
{
	struct replay_world *w = q->w;
	struct bio *bio = &q->bio;

	bio->done = req_done;
	bio->private = q;
	if (q->trace_io)
		w->inflight++;
	sim_sched_logf(&w->sched, "io submit %s %s %llu+%u flags %u", op_name(bio->op), q->dev,
		       (unsigned long long)bio->sector, bio->nr_sectors, bio->flags);
	bdev_submit(bio);
}
