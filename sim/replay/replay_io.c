/*
 * replay_io.c - the replayer's requests: bios to dm devices and disks,
 * their completions recorded into the model and checked, and the
 * whole-device checks the crash explorer uses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
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
	r = model_check_read(w->model, q->dev, q->bio.sector, q->bio.nr_sectors, q->buf,
			     q->status, &mm);
	if (r == 1 && q->pre && matches_pre(q))
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
	if (w->res) {
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

	q->done = true;
	q->status = status;
	sim_sched_logf(&w->sched, "io done %s %s %llu+%u %d", op_name(bio->op), q->dev,
		       (unsigned long long)bio->sector, bio->nr_sectors, status);
	if (q->trace_io && w->inflight)
		w->inflight--;
	if (w->res && q->trace_io)
		w->res->ios++;
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
		if (status != q->predicted) {
			/* An injected fault, or an error the trace asserts (e.g. a
			 * request not aligned to a 4K disk: the model has no block
			 * sizes), explains an error the model cannot predict. */
			bool excused = status && (w->faults || status == q->expect_error);

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

/* ---- whole-device checks (explorer) ---- */

static bool req_is_done(struct replay_world *w, void *ctx)
{
	(void)w;
	return ((struct rp_req *)ctx)->done;
}

static int run_req(struct replay_world *w, struct rp_req *q, char *errbuf, size_t len)
{
	enum rp_run r;

	rp_req_submit(q);
	r = rp_run(w, req_is_done, q);
	if (r == RP_COND)
		return 0;
	if (r == RP_FAIL) {
		snprintf(errbuf, len, "%s", w->fail);
		return 1;
	}
	snprintf(errbuf, len, "%s %s sector %llu: the request never completed",
		 op_name(q->bio.op), q->dev, (unsigned long long)q->bio.sector);
	return -ETIME;
}

int rp_read_check_range(struct replay_world *w, const char *dev, sector_t sector,
			sector_t nr, char *errbuf, size_t len)
{
	char mname[TRACE_NAME_MAX];
	bool is_dm;
	struct bdev *bd = rp_resolve(w, dev, mname, sizeof(mname), &is_dm);
	const sector_t step = 256;

	if (!bd) {
		snprintf(errbuf, len, "%s: no such device", dev);
		return -ENOENT;
	}
	for (sector_t s = sector; s < sector + nr; s += step) {
		uint32_t n = (uint32_t)(sector + nr - s < step ? sector + nr - s : step);
		struct rp_req *q = rp_req_new(w);
		int r;

		if (!q || !(q->buf = malloc((size_t)n * 512))) {
			if (q)
				rp_req_free(q);
			return -ENOMEM;
		}
		snprintf(q->dev, sizeof(q->dev), "%s", mname);
		q->is_dm = is_dm;
		bio_init(&q->bio, bd, BIO_READ, 0, s, n, q->buf, NULL, NULL);
		r = run_req(w, q, errbuf, len);
		rp_req_free(q);
		if (r)
			return r;
	}
	return 0;
}

int replay_world_read_check(struct replay_world *w, const char *dev, sector_t sector,
			    sector_t nr, char *errbuf, size_t len)
{
	if (errbuf && len)
		errbuf[0] = 0;
	return rp_read_check_range(w, dev, sector, nr, errbuf, len);
}

/* The holders as two arrays of the world's sizes (freed by the caller), or -ENOMEM. */
static int cow_holders_alloc(const struct replay_world *w, bool **dev_cow, bool **disk_cow)
{
	*dev_cow = calloc(w->nr_devs ? w->nr_devs : 1, sizeof(**dev_cow));
	*disk_cow = calloc(w->nr_disks ? w->nr_disks : 1, sizeof(**disk_cow));
	if (!*dev_cow || !*disk_cow) {
		free(*dev_cow);
		free(*disk_cow);
		return -ENOMEM;
	}
	return replay_world_cow_holders(w, *dev_cow, *disk_cow);
}

int replay_world_check_all(struct replay_world *w, char *errbuf, size_t len)
{
	bool *dev_cow, *disk_cow;
	int r = 0;

	if (errbuf && len)
		errbuf[0] = 0;
	if (cow_holders_alloc(w, &dev_cow, &disk_cow))
		return -ENOMEM;
	/* What holds a COW is the store's business (the explorer decodes it),
	 * not a promise the model makes. */
	for (unsigned i = 0; i < w->nr_devs && !r; i++) {
		struct dm_device *md = dm_find_device(w->reg, w->devs[i].name);

		if (!md || !w->devs[i].live || dm_is_suspended(w->reg, w->devs[i].name) ||
		    dev_cow[i])
			continue;
		r = rp_read_check_range(w, w->devs[i].name, 0, dm_device_bdev(md)->size_sectors,
					errbuf, len);
	}
	for (unsigned i = 0; i < w->nr_disks && !r; i++) {
		if (disk_cow[i])
			continue;
		r = rp_read_check_range(w, w->disks[i].name, 0,
					w->disks[i].tap.base.size_sectors, errbuf, len);
	}
	free(dev_cow);
	free(disk_cow);
	return r;
}

int replay_world_write(struct replay_world *w, const char *dev, sector_t sector,
		       uint32_t nr, uint64_t seed, unsigned flags, char *errbuf, size_t len)
{
	char mname[TRACE_NAME_MAX];
	bool is_dm;
	struct bdev *bd = rp_resolve(w, dev, mname, sizeof(mname), &is_dm);
	struct model_data md = { .kind = MODEL_DATA_PATTERN, .seed = seed, .base = sector };
	struct rp_req *q;
	int r;

	if (errbuf && len)
		errbuf[0] = 0;
	if (!bd) {
		snprintf(errbuf, len, "%s: no such device", dev);
		return -ENOENT;
	}
	q = rp_req_new(w);
	if (!q || !(q->buf = malloc((size_t)nr * 512))) {
		if (q)
			rp_req_free(q);
		return -ENOMEM;
	}
	pattern_fill_range(seed, sector, nr, q->buf);
	snprintf(q->dev, sizeof(q->dev), "%s", mname);
	q->is_dm = is_dm;
	q->predicted = model_write_begin(w->model, mname, sector, nr, &md,
					 (flags & BIO_FUA) ? MODEL_FUA : 0, &q->model_id);
	bio_init(&q->bio, bd, BIO_WRITE, flags, sector, nr, q->buf, NULL, NULL);
	r = run_req(w, q, errbuf, len);
	rp_req_free(q);
	return r;
}

static bool sched_idle(struct replay_world *w, void *ctx)
{
	(void)ctx;
	return sim_sched_pending(&w->sched) == 0;
}

int replay_world_settle(struct replay_world *w)
{
	enum rp_run r = rp_run(w, sched_idle, NULL);

	if (r == RP_COND || r == RP_IDLE) {
		rp_poll_devices(w);
		return 0;
	}
	return r == RP_FAIL ? -EIO : -ETIME;
}

int replay_world_write_read_check(struct replay_world *w, uint64_t seed,
				  sector_t stride_sectors, char *errbuf, size_t len)
{
	bool any = false;
	int r;

	if (!stride_sectors)
		stride_sectors = 8;
	if (errbuf && len)
		errbuf[0] = 0;
	for (unsigned i = 0; i < w->nr_devs; i++) {
		const char *t = w->devs[i].live;
		struct dm_device *md = dm_find_device(w->reg, w->devs[i].name);

		if (!t || !md || (!strstr(t, " snapshot-origin ") && !strstr(t, " snapshot-merge ")))
			continue;
		any = true;
		for (sector_t s = 0; s < dm_device_bdev(md)->size_sectors; s += stride_sectors) {
			r = replay_world_write(w, w->devs[i].name, s, 1, seed, 0, errbuf, len);
			if (r)
				return r;
		}
	}
	if (!any) {
		bool *dev_cow, *disk_cow;

		if (cow_holders_alloc(w, &dev_cow, &disk_cow))
			return -ENOMEM;
		r = 0;
		for (unsigned i = 0; i < w->nr_disks && !r; i++) {
			if (disk_cow[i])
				continue; /* a raw write there would be a corrupted store */
			for (sector_t s = 0; s < w->disks[i].tap.base.size_sectors && !r;
			     s += stride_sectors)
				r = replay_world_write(w, w->disks[i].name, s, 1, seed, 0, errbuf,
						       len);
		}
		free(dev_cow);
		free(disk_cow);
		if (r)
			return r;
	}
	if (replay_world_settle(w)) {
		snprintf(errbuf, len, "the world did not settle after the writes");
		return -ETIME;
	}
	return replay_world_check_all(w, errbuf, len);
}
