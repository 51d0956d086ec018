/*
 * replay_check.c - whole-device checks for the crash explorer: every sector
 * a device or disk holds read back through the scheduler and checked against
 * the model (what holds a COW skipped), test writes into a recovered world,
 * and running the world until it settles.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "replay_impl.h"

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
		 rp_op_name(q->bio.op), q->dev, (unsigned long long)q->bio.sector);
	return -ETIME;
}

int rp_read_check_range(struct replay_world *w, const char *dev, sector_t sector,
			sector_t nr, char *errbuf, size_t len)
{
	char mname[TRACE_NAME_MAX];
	bool is_dm;
	struct bdev *bd = rp_resolve(w, dev, mname, sizeof(mname), &is_dm);
	const sector_t step = 256;
	uint8_t *buf;
	int r = 0;

	if (!bd) {
		snprintf(errbuf, len, "%s: no such device", dev);
		return -ENOENT;
	}
	/* One buffer for every request of the range (each runs to completion). */
	buf = malloc((size_t)(nr < step ? (nr ? nr : 1) : step) * 512);
	if (!buf)
		return -ENOMEM;
	for (sector_t s = sector; s < sector + nr && !r; s += step) {
		uint32_t n = (uint32_t)(sector + nr - s < step ? sector + nr - s : step);
		struct rp_req *q = rp_req_new(w);

		if (!q) {
			r = -ENOMEM;
			break;
		}
		q->buf = buf;
		snprintf(q->dev, sizeof(q->dev), "%s", mname);
		q->is_dm = is_dm;
		bio_init(&q->bio, bd, BIO_READ, 0, s, n, q->buf, NULL, NULL);
		if (w->rec) {
			rp_rec_read_begin(w->rec, mname, s, n, buf);
			q->rec_checks = true;
		}
		r = run_req(w, q, errbuf, len);
		if (w->rec)
			rp_rec_read_end(w->rec, r ? r : q->status, buf);
		if (r == -ETIME) {
			/* Still in flight: the world frees it (and now the buffer) when
			 * it is torn down, after the request completes. */
			return r;
		}
		q->buf = NULL; /* not the request's to free */
		rp_req_free(q);
	}
	free(buf);
	return r;
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
	if (w->rec)
		rp_rec_write_begin(w->rec, mname, sector, nr, flags, q->buf, seed);
	r = run_req(w, q, errbuf, len);
	if (w->rec)
		rp_rec_write_end(w->rec, r ? r : q->status);
	if (r != -ETIME) /* one still in flight is freed with the world */
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
