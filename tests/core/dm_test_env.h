/*
 * dm_test_env.h - shared fixtures for the dm core tests: a FIFO executor,
 * a registry, memory disks, synchronous I/O helpers, and a "hold" device
 * whose completions the test releases by hand.
 */
#ifndef SNAPSIM_TEST_DM_TEST_ENV_H
#define SNAPSIM_TEST_DM_TEST_ENV_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "fifo_executor.h"
#include "mem_bdev.h"

#define ENV_MAX_DISKS 8

struct env {
	struct fifo_executor fx;
	struct dm_registry *reg;
	struct mem_bdev *disks[ENV_MAX_DISKS];
	unsigned ndisks;
};

static inline void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	fifo_executor_init(&e->fx);
	e->reg = dm_registry_create(&e->fx.base);
	cr_assert_not_null(e->reg);
}

/* A memory disk whose sector s is filled with the byte (s * 7 + seed). */
static inline struct mem_bdev *env_disk(struct env *e, const char *name,
					sector_t sectors, unsigned seed)
{
	struct mem_bdev *md = mem_bdev_create(name, sectors, &e->fx.base);
	struct ss_error err;

	cr_assert_not_null(md);
	for (sector_t s = 0; s < sectors; s++)
		memset(md->data + (s << SECTOR_SHIFT), (int)((s * 7 + seed) & 0xff),
		       SECTOR_SIZE);
	ss_error_clear(&err);
	cr_assert_eq(dm_registry_add_bdev(e->reg, &md->base, &err), 0, "%s", err.msg);
	cr_assert_lt(e->ndisks, ENV_MAX_DISKS);
	e->disks[e->ndisks++] = md;
	return md;
}

static inline void env_fini(struct env *e)
{
	fifo_executor_run(&e->fx, 0);
	dm_registry_destroy(e->reg);
	fifo_executor_run(&e->fx, 0);
	for (unsigned i = 0; i < e->ndisks; i++)
		bdev_destroy(&e->disks[i]->base);
	fifo_executor_destroy(&e->fx);
}

struct io_result {
	int done;
	int status;
};

static inline void io_result_done(struct bio *bio, int status)
{
	struct io_result *r = bio->private;

	r->done++;
	r->status = status;
}

/* Submit and run the executor until idle; returns the status. */
static inline int env_io(struct env *e, struct bdev *bd, enum bio_op op,
			 unsigned flags, sector_t sector, uint32_t n,
			 uint8_t *data)
{
	struct io_result r = { 0, 0 };
	struct bio bio;

	bio_init(&bio, bd, op, flags, sector, n, data, io_result_done, &r);
	bdev_submit(&bio);
	cr_assert_eq(r.done, 0, "completion ran inside submit");
	fifo_executor_run(&e->fx, 0);
	cr_assert_eq(r.done, 1, "completed %d times", r.done);
	return r.status;
}

static inline struct bdev *env_dm(struct env *e, const char *name)
{
	struct dm_device *md = dm_find_device(e->reg, name);

	cr_assert_not_null(md, "no device %s", name);
	return dm_device_bdev(md);
}

static inline char *env_text(struct env *e, const char *name, int which,
			     bool inactive)
{
	struct ss_error err;
	char *out = NULL;
	int r;

	ss_error_clear(&err);
	switch (which) {
	case 0: r = dm_table_text(e->reg, name, inactive, &out, &err); break;
	case 1: r = dm_status_text(e->reg, name, inactive, &out, &err); break;
	case 2: r = dm_deps_text(e->reg, name, inactive, &out, &err); break;
	default: r = dm_info_text(e->reg, name, &out, &err); break;
	}
	cr_assert_eq(r, 0, "%s", err.msg);
	return out;
}

#define expect_text(e, name, which, inactive, expected)                       \
	do {                                                                  \
		char *got_ = env_text((e), (name), (which), (inactive));     \
		cr_expect_str_eq(got_, (expected));                           \
		free(got_);                                                   \
	} while (0)

#define TEXT_TABLE 0
#define TEXT_STATUS 1
#define TEXT_DEPS 2
#define TEXT_INFO 3

static inline void env_ok(int r, const struct ss_error *err)
{
	char buf[400];

	cr_assert_eq(r, 0, "unexpected failure %d: %s", r,
		     ss_error_format(err, buf, sizeof(buf)));
}

/* Suspend and run the executor; asserts the suspend completed. */
static inline void suspend_done_cb(void *ctx, int status)
{
	int *p = ctx;

	cr_assert_eq(status, 0);
	(*p)++;
}

static inline void env_suspend(struct env *e, const char *name, unsigned flags)
{
	struct ss_error err;
	int done = 0;

	ss_error_clear(&err);
	env_ok(dm_suspend(e->reg, name, flags, suspend_done_cb, &done, &err), &err);
	fifo_executor_run(&e->fx, 0);
	cr_assert_eq(done, 1);
	cr_assert(dm_is_suspended(e->reg, name));
}

/* ---- a device that holds completions until released ---- */

#define HOLD_MAX 64

struct hold_bdev {
	struct bdev base;         /* must be first */
	struct bdev *inner;
	bool holding;
	struct bio *held[HOLD_MAX];
	unsigned nheld;
	struct bio *log[HOLD_MAX]; /* every request seen, for inspection */
	struct bio log_copy[HOLD_MAX];
	unsigned nlog;
};

static inline void hold_submit(struct bdev *bd, struct bio *bio)
{
	struct hold_bdev *h = (struct hold_bdev *)bd;

	if (h->nlog < HOLD_MAX)
		h->log_copy[h->nlog++] = *bio;
	if (h->holding) {
		cr_assert_lt(h->nheld, HOLD_MAX);
		h->held[h->nheld++] = bio;
		return;
	}
	bio->bdev = h->inner;
	bdev_submit(bio);
}

static inline int hold_sync_rw(struct bdev *bd, enum bio_op op, sector_t s,
			       uint32_t n, uint8_t *data)
{
	struct hold_bdev *h = (struct hold_bdev *)bd;

	return bdev_sync_rw(h->inner, op, s, n, data);
}

static const struct bdev_ops hold_bdev_ops = {
	.submit = hold_submit,
	.sync_rw = hold_sync_rw,
};

static inline void hold_init(struct hold_bdev *h, const char *name,
			     struct bdev *inner)
{
	memset(h, 0, sizeof(*h));
	h->base.ops = &hold_bdev_ops;
	h->base.size_sectors = inner->size_sectors;
	h->base.logical_block_bytes = inner->logical_block_bytes;
	snprintf(h->base.name, sizeof(h->base.name), "%s", name);
	h->inner = inner;
}

/* Pass every held request on to the inner device. */
static inline void hold_release(struct hold_bdev *h)
{
	for (unsigned i = 0; i < h->nheld; i++) {
		h->held[i]->bdev = h->inner;
		bdev_submit(h->held[i]);
	}
	h->nheld = 0;
}

#endif
