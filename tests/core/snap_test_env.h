/*
 * snap_test_env.h - fixtures for the snapshot target tests: a FIFO
 * executor, a registry, memory disks (optionally with a fault hook),
 * synchronous I/O through any bdev, and dmsetup-like helpers that assert
 * success.
 */
#ifndef SNAPSIM_TEST_SNAP_TEST_ENV_H
#define SNAPSIM_TEST_SNAP_TEST_ENV_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cow_format.h"
#include "dm.h"
#include "fifo_executor.h"
#include "mem_bdev.h"

#define SENV_MAX_DISKS 8

/*
 * A seeded executor that runs a random queued item next (not FIFO), to
 * exercise completion orders a simulator may produce. Deterministic.
 */
struct shuffle_executor {
	struct executor base;  /* must be first */
	struct shuffle_item { executor_fn *fn; void *ctx; } *items;
	size_t n, cap;
	uint64_t state;
};

static inline int shuffle_defer(struct executor *ex, executor_fn *fn, void *ctx)
{
	struct shuffle_executor *sx = (struct shuffle_executor *)ex;

	if (sx->n == sx->cap) {
		size_t cap = sx->cap ? sx->cap * 2 : 64;
		struct shuffle_item *p = realloc(sx->items, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		sx->items = p;
		sx->cap = cap;
	}
	sx->items[sx->n].fn = fn;
	sx->items[sx->n].ctx = ctx;
	sx->n++;
	return 0;
}

static const struct executor_ops shuffle_ops __attribute__((unused)) = {
	.defer = shuffle_defer,
};

static inline size_t shuffle_run(struct shuffle_executor *sx)
{
	size_t count = 0;

	while (sx->n) {
		size_t i;
		struct shuffle_item it;

		sx->state = sx->state * 6364136223846793005ull + 1442695040888963407ull;
		i = (size_t)((sx->state >> 33) % sx->n);
		it = sx->items[i];
		sx->items[i] = sx->items[--sx->n];
		it.fn(it.ctx);
		count++;
	}
	return count;
}

struct senv {
	struct fifo_executor fx;
	struct shuffle_executor sx;
	bool shuffled;             /* sx instead of fx */
	struct dm_registry *reg;
	struct mem_bdev *disks[SENV_MAX_DISKS];
	unsigned ndisks;
};

static inline struct executor *senv_ex(struct senv *e)
{
	return e->shuffled ? &e->sx.base : &e->fx.base;
}

/* Run queued work until idle. */
static inline void senv_run(struct senv *e)
{
	if (e->shuffled)
		shuffle_run(&e->sx);
	else
		fifo_executor_run(&e->fx, 0);
}

static inline void senv_init(struct senv *e)
{
	memset(e, 0, sizeof(*e));
	fifo_executor_init(&e->fx);
	e->reg = dm_registry_create(&e->fx.base);
	cr_assert_not_null(e->reg);
}

/* Like senv_init, with the seeded random-order executor. */
static inline void senv_init_shuffled(struct senv *e, uint64_t seed)
{
	memset(e, 0, sizeof(*e));
	fifo_executor_init(&e->fx);
	e->shuffled = true;
	e->sx.base.ops = &shuffle_ops;
	e->sx.state = seed;
	e->reg = dm_registry_create(&e->sx.base);
	cr_assert_not_null(e->reg);
}

/* A zero-filled memory disk, known to the registry under name. */
static inline struct mem_bdev *senv_disk(struct senv *e, const char *name,
					 sector_t sectors)
{
	struct mem_bdev *md = mem_bdev_create(name, sectors, senv_ex(e));
	struct ss_error err;

	cr_assert_not_null(md);
	ss_error_clear(&err);
	cr_assert_eq(dm_registry_add_bdev(e->reg, &md->base, &err), 0, "%s",
		     err.msg);
	cr_assert_lt(e->ndisks, SENV_MAX_DISKS);
	e->disks[e->ndisks++] = md;
	return md;
}

static inline void senv_fini(struct senv *e)
{
	senv_run(e);
	dm_registry_destroy(e->reg);
	senv_run(e);
	for (unsigned i = 0; i < e->ndisks; i++)
		bdev_destroy(&e->disks[i]->base);
	fifo_executor_destroy(&e->fx);
	free(e->sx.items);
}

static inline void senv_ok(int r, const struct ss_error *err)
{
	char buf[400];

	cr_assert_eq(r, 0, "unexpected failure %d: %s", r,
		     ss_error_format(err, buf, sizeof(buf)));
}

struct sio {
	int done;
	int status;
	struct bio bio;
};

static inline void sio_done(struct bio *bio, int status)
{
	struct sio *r = bio->private;

	r->done++;
	r->status = status;
}

/* Start an I/O without running the executor. */
static inline void sio_start(struct sio *r, struct bdev *bd, enum bio_op op,
			     unsigned flags, sector_t sector, uint32_t n,
			     uint8_t *data)
{
	r->done = 0;
	r->status = 0;
	bio_init(&r->bio, bd, op, flags, sector, n, data, sio_done, r);
	bdev_submit(&r->bio);
	cr_assert_eq(r->done, 0, "completion ran inside submit");
}

/* Submit, run the executor until idle; returns the status. */
static inline int senv_io(struct senv *e, struct bdev *bd, enum bio_op op,
			  unsigned flags, sector_t sector, uint32_t n,
			  uint8_t *data)
{
	struct sio r;

	sio_start(&r, bd, op, flags, sector, n, data);
	senv_run(e);
	cr_assert_eq(r.done, 1, "completed %d times", r.done);
	return r.status;
}

static inline struct bdev *senv_dm(struct senv *e, const char *name)
{
	struct dm_device *md = dm_find_device(e->reg, name);

	cr_assert_not_null(md, "no device %s", name);
	return dm_device_bdev(md);
}

/* dmsetup verbs that must succeed. */
static inline void senv_create(struct senv *e, const char *name,
			       const char *table)
{
	struct ss_error err;

	ss_error_clear(&err);
	senv_ok(dm_create(e->reg, name, NULL, table, 0, &err), &err);
}

static inline void senv_load(struct senv *e, const char *name, const char *table)
{
	struct ss_error err;

	ss_error_clear(&err);
	senv_ok(dm_load(e->reg, name, table, 0, &err), &err);
}

static inline void senv_resume(struct senv *e, const char *name)
{
	struct ss_error err;

	ss_error_clear(&err);
	senv_ok(dm_resume(e->reg, name, 0, &err), &err);
	senv_run(e);
}

static inline void senv_remove(struct senv *e, const char *name)
{
	struct ss_error err;

	ss_error_clear(&err);
	senv_ok(dm_remove(e->reg, name, &err), &err);
	senv_run(e);
}

static inline void senv_suspend_cb(void *ctx, int status)
{
	int *p = ctx;

	cr_assert_eq(status, 0);
	(*p)++;
}

/* Suspend and run the executor; asserts the suspend completed. */
static inline void senv_suspend(struct senv *e, const char *name)
{
	struct ss_error err;
	int done = 0;

	ss_error_clear(&err);
	senv_ok(dm_suspend(e->reg, name, 0, senv_suspend_cb, &done, &err), &err);
	senv_run(e);
	cr_assert_eq(done, 1);
	cr_assert(dm_is_suspended(e->reg, name));
}

/* "table"/"status" output of a device (malloc'd). */
/* noinline: keeps GCC 12 -O2 from a false -Wdangling-pointer at callers. */
__attribute__((noinline, unused)) static char *senv_text(struct senv *e, const char *name,
						   bool status)
{
	struct ss_error err;
	char *out = NULL;
	int r;

	ss_error_clear(&err);
	r = status ? dm_status_text(e->reg, name, false, &out, &err) :
		     dm_table_text(e->reg, name, false, &out, &err);
	senv_ok(r, &err);
	return out;
}

#define expect_status(e, name, expected)                                     \
	do {                                                                  \
		char *got_ = senv_text((e), (name), true);                    \
		cr_expect_str_eq(got_, (expected));                           \
		free(got_);                                                   \
	} while (0)

#define expect_table(e, name, expected)                                      \
	do {                                                                  \
		char *got_ = senv_text((e), (name), false);                   \
		cr_expect_str_eq(got_, (expected));                           \
		free(got_);                                                   \
	} while (0)

/* Fill n sectors with a pattern derived from (tag, sector). */
static inline void fill_pattern(uint8_t *buf, sector_t sector, uint32_t n,
				unsigned tag)
{
	for (uint32_t i = 0; i < n; i++)
		memset(buf + ((size_t)i << SECTOR_SHIFT),
		       (int)(((sector + i) * 13 + tag * 101 + 1) & 0xff),
		       SECTOR_SIZE);
}

/* Whether n sectors hold the pattern of (tag, sector). */
static inline bool has_pattern(const uint8_t *buf, sector_t sector, uint32_t n,
			       unsigned tag)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t v = (uint8_t)(((sector + i) * 13 + tag * 101 + 1) & 0xff);

		for (unsigned b = 0; b < SECTOR_SIZE; b++)
			if (buf[((size_t)i << SECTOR_SHIFT) + b] != v)
				return false;
	}
	return true;
}

/* ---- a wrapper device that can hold requests until released ---- */

struct hold_event {
	const struct bdev *dev;
	enum bio_op op;
	unsigned flags;
	sector_t sector;
	uint32_t nr_sectors;
};

/* A shared log of submitted requests, in submission order. */
struct hold_log {
	struct hold_event ev[256];
	unsigned n;
};

struct hold_bdev {
	struct bdev base;      /* must be first */
	struct bdev *inner;
	struct hold_log *log;  /* may be NULL */
	unsigned hold_reads;   /* hold the next n reads */
	unsigned hold_writes;  /* hold the next n writes */
	struct bio *held[64];
	unsigned nheld;
};

static inline void hold_submit(struct bdev *bd, struct bio *bio)
{
	struct hold_bdev *h = (struct hold_bdev *)bd;

	if (h->log && h->log->n < 256) {
		struct hold_event *e = &h->log->ev[h->log->n++];

		e->dev = bd;
		e->op = bio->op;
		e->flags = bio->flags;
		e->sector = bio->sector;
		e->nr_sectors = bio->nr_sectors;
	}
	bio->bdev = h->inner;
	if (bio->op == BIO_READ && h->hold_reads) {
		h->hold_reads--;
		h->held[h->nheld++] = bio;
		return;
	}
	if (bio->op == BIO_WRITE && h->hold_writes) {
		h->hold_writes--;
		h->held[h->nheld++] = bio;
		return;
	}
	bdev_submit(bio);
}

static inline int hold_sync_rw(struct bdev *bd, enum bio_op op, sector_t s,
			uint32_t n, uint8_t *data)
{
	return bdev_sync_rw(((struct hold_bdev *)bd)->inner, op, s, n, data);
}

static const struct bdev_ops hold_ops __attribute__((unused)) = {
	.submit = hold_submit,
	.sync_rw = hold_sync_rw,
};

static inline void hold_init(struct hold_bdev *h, const char *name, struct bdev *inner)
{
	memset(h, 0, sizeof(*h));
	h->base.ops = &hold_ops;
	h->base.size_sectors = inner->size_sectors;
	h->base.logical_block_bytes = inner->logical_block_bytes;
	h->base.caps = inner->caps;
	snprintf(h->base.name, sizeof(h->base.name), "%s", name);
	h->inner = inner;
}

static inline void hold_release(struct hold_bdev *h)
{
	for (unsigned i = 0; i < h->nheld; i++)
		bdev_submit(h->held[i]);
	h->nheld = 0;
}

#endif
