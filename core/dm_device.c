/*
 * dm_device.c - a mapped device as a struct bdev: the submit path (clone
 * splitting, PREFLUSH handling, per-bio data, end_io), in-flight
 * accounting, the busy count and event number targets raise, and the
 * asynchronous suspend / resume machinery.
 *
 * The I/O path, for one submitted bio (the "original"):
 *   1. A struct dm_io is allocated. While the device is suspending or
 *      suspended it is queued (not failed); resume re-submits it through
 *      the executor. Otherwise it is admitted: in_flight counts it until
 *      its completion.
 *   2. An empty flush (BIO_FLUSH) becomes one BIO_FLUSH clone per target.
 *      A write with PREFLUSH becomes that flush phase first, then, once
 *      every flush clone completed without error, the data phase: the
 *      write without PREFLUSH (FUA kept).
 *   3. Data is cut into clones at target boundaries and at multiples of
 *      each target's max_io_len (counted from the target's start); each
 *      clone is mapped by its target (DM_MAPIO_REMAPPED: core submits it).
 *   4. The original completes with the first error of its clones, always
 *      from the executor (never inside submit), after which in_flight
 *      drops and a suspend waiting for the drain may finish.
 *
 * Invariant: the live table only changes while the device is suspended,
 * and a device is only suspended when in_flight == 0 and busy == 0, so no
 * clone ever outlives the table it was mapped through.
 */
#include "dm_internal.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dm_io {
	struct dm_device *md;
	struct bio *orig;
	struct dm_io *next;   /* suspend queue link */
	int status;           /* first error of any clone */
	unsigned pending;     /* clones outstanding, +1 while dispatching */
	bool data_phase;      /* PREFLUSH write: the flushes are done */
	bool counted;         /* included in md->in_flight */
};

struct dm_clone {
	struct bio bio;       /* must be first: targets see only this */
	struct dm_io *io;
	struct dm_target *ti;
	max_align_t per_bio_data[]; /* ti->per_io_data_size bytes */
};

static struct dm_clone *to_clone(struct bio *clone)
{
	return (struct dm_clone *)clone;
}

void *dm_per_bio_data(struct bio *clone)
{
	return to_clone(clone)->per_bio_data;
}

struct dm_target *dm_bio_target(struct bio *clone)
{
	return to_clone(clone)->ti;
}

/*
 * Device state targets change through their table: the busy count suspend
 * waits for, and the event number.
 */
void dm_target_busy_get(struct dm_target *ti)
{
	if (ti->table->md)
		ti->table->md->busy++;
}

void dm_target_busy_put(struct dm_target *ti)
{
	struct dm_device *md = ti->table->md;

	if (!md)
		return;
	assert(md->busy > 0);
	md->busy--;
	dm_device_check_drained(md);
}

/*
 * Linux raises the event number only through dm_table_event() on a bound
 * (live) table; a table swap by itself raises nothing. Same here.
 */
void dm_target_event(struct dm_target *ti)
{
	struct dm_device *md = ti->table->md;

	if (md && md->live == ti->table)
		md->event_nr++;
}

static void dm_io_dispatch(struct dm_io *io);

/* Complete the original: accounting first, the caller's callback last. */
static void dm_io_finish(struct dm_io *io)
{
	struct dm_device *md = io->md;
	struct bio *orig = io->orig;
	int status = io->status;

	if (io->counted) {
		assert(md->in_flight > 0);
		md->in_flight--;
		dm_device_check_drained(md);
	}
	free(io);
	bio_endio(orig, status);
}

/* Runs from the executor once every clone of a phase has completed. */
static void dm_io_phase_done(void *ctx)
{
	struct dm_io *io = ctx;
	struct bio *orig = io->orig;

	if (!io->data_phase && !io->status && orig->op != BIO_FLUSH &&
	    (orig->flags & BIO_PREFLUSH) && orig->nr_sectors > 0) {
		io->data_phase = true;
		dm_io_dispatch(io);
		return;
	}
	dm_io_finish(io);
}

static void dm_io_put(struct dm_io *io)
{
	assert(io->pending > 0);
	if (--io->pending)
		return;
	if (executor_defer(io->md->reg->ex, dm_io_phase_done, io) != 0) {
		/* Cannot defer: better late order than a lost completion. */
		dm_io_phase_done(io);
	}
}

static void dm_io_error(struct dm_io *io, int status)
{
	if (status && !io->status)
		io->status = status;
}

/* A remapped clone completed (executor context). */
static void clone_endio(struct bio *bio, int status)
{
	struct dm_clone *c = to_clone(bio);
	struct dm_io *io = c->io;
	struct dm_target *ti = c->ti;

	if (ti->type->end_io)
		status = ti->type->end_io(ti, bio, status);
	dm_io_error(io, status);
	free(c);
	dm_io_put(io);
}

/* Make one clone of [sector, sector + nr) for ti and map it. */
static void clone_and_map(struct dm_io *io, struct dm_target *ti,
			  enum bio_op op, unsigned flags, sector_t sector,
			  uint32_t nr, uint8_t *data)
{
	struct dm_clone *c = calloc(1, sizeof(*c) + ti->per_io_data_size);
	int r;

	if (!c) {
		dm_io_error(io, -ENOMEM);
		return;
	}
	bio_init(&c->bio, &io->md->base, op, flags, sector, nr, data,
		 clone_endio, NULL);
	c->io = io;
	c->ti = ti;
	io->pending++;
	if (op == BIO_DISCARD && !ti->discards_supported) {
		r = -EOPNOTSUPP;
	} else {
		r = ti->type->map(ti, &c->bio);
		if (r == DM_MAPIO_REMAPPED) {
			bdev_submit(&c->bio);
			return;
		}
		if (r == DM_MAPIO_SUBMITTED)
			return;
		assert(r < 0); /* a target returning anything else is a bug */
		if (r >= 0)
			r = -EIO;
	}
	/* Not mapped: fail the clone without the target's end_io. */
	dm_io_error(io, r);
	free(c);
	dm_io_put(io);
}

static void dm_io_dispatch(struct dm_io *io)
{
	struct dm_table *t = io->md->live;
	struct bio *orig = io->orig;

	io->pending = 1; /* the dispatch reference */
	if (!t) {
		/* Like Linux: I/O to a device without a table is errored. */
		dm_io_error(io, -EIO);
	} else if (orig->op == BIO_FLUSH ||
		   ((orig->flags & BIO_PREFLUSH) && !io->data_phase)) {
		unsigned flags = orig->op == BIO_FLUSH ? orig->flags : 0;

		flags &= ~(BIO_PREFLUSH | BIO_FUA);
		for (unsigned i = 0; i < t->num_targets; i++)
			clone_and_map(io, t->targets[i], BIO_FLUSH, flags, 0, 0,
				      NULL);
	} else if (bdev_check_range(&io->md->base, orig)) {
		dm_io_error(io, -EIO);
	} else {
		sector_t s = orig->sector, end = orig->sector + orig->nr_sectors;
		unsigned flags = orig->flags & ~BIO_PREFLUSH;

		while (s < end) {
			struct dm_target *ti = dm_table_find_target(t, s);
			sector_t n = ti->begin + ti->len - s;

			if (n > end - s)
				n = end - s;
			if (ti->max_io_len) {
				sector_t room = ti->max_io_len -
						(s - ti->begin) % ti->max_io_len;

				if (n > room)
					n = room;
			}
			clone_and_map(io, ti, orig->op, flags, s, (uint32_t)n,
				      orig->data ? orig->data +
				      ((s - orig->sector) << SECTOR_SHIFT) : NULL);
			s += n;
		}
	}
	dm_io_put(io);
}

static void dm_io_dispatch_work(void *ctx)
{
	dm_io_dispatch(ctx);
}

/* Completes a bio that could not even get a struct dm_io. */
static void fail_bio_enomem(void *ctx)
{
	bio_endio(ctx, -ENOMEM);
}

static void dm_submit(struct bdev *bd, struct bio *bio)
{
	struct dm_device *md = (struct dm_device *)bd;
	struct dm_io *io = calloc(1, sizeof(*io));

	if (!io) {
		if (executor_defer(md->reg->ex, fail_bio_enomem, bio) != 0)
			bio_endio(bio, -ENOMEM);
		return;
	}
	io->md = md;
	io->orig = bio;
	if (md->suspending || md->suspended) {
		if (md->queue_tail)
			md->queue_tail->next = io;
		else
			md->queue_head = io;
		md->queue_tail = io;
		return;
	}
	io->counted = true;
	md->in_flight++;
	dm_io_dispatch(io);
}

/* Control-path I/O routed through the targets' sync_rw (range checked). */
static int dm_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
		      uint32_t nr_sectors, uint8_t *data)
{
	struct dm_device *md = (struct dm_device *)bd;
	struct dm_table *t = md->live;
	sector_t s = sector, end = sector + nr_sectors;

	if (!t)
		return -EIO;
	if (op == BIO_FLUSH) {
		/* Every target passes the flush on; one without sync_rw holds no writes. */
		for (unsigned i = 0; i < t->num_targets; i++) {
			struct dm_target *ti = t->targets[i];
			int r = ti->type->sync_rw ?
				ti->type->sync_rw(ti, BIO_FLUSH, ti->begin, 0, NULL) : 0;

			if (r)
				return r;
		}
		return 0;
	}
	while (s < end) {
		struct dm_target *ti = dm_table_find_target(t, s);
		sector_t n = ti->begin + ti->len - s;
		int r;

		if (n > end - s)
			n = end - s;
		if (!ti->type->sync_rw)
			return -EOPNOTSUPP;
		r = ti->type->sync_rw(ti, op, s, (uint32_t)n,
				      data + ((s - sector) << SECTOR_SHIFT));
		if (r)
			return r;
		s += n;
	}
	return 0;
}

const struct bdev_ops dm_device_ops = {
	.submit = dm_submit,
	.destroy = NULL, /* the registry owns mapped devices */
	.sync_rw = dm_sync_rw,
};

/* ---- lifetime ---- */

struct dm_device *dm_device_alloc(struct dm_registry *reg, const char *name,
				  const char *uuid, unsigned minor)
{
	struct dm_device *md = calloc(1, sizeof(*md));

	if (!md)
		return NULL;
	md->base.ops = &dm_device_ops;
	md->base.logical_block_bytes = SECTOR_SIZE;
	snprintf(md->base.name, sizeof(md->base.name), "%s", name);
	if (uuid)
		snprintf(md->uuid, sizeof(md->uuid), "%s", uuid);
	md->reg = reg;
	md->minor = minor;
	return md;
}

static void fail_queued_io(void *ctx)
{
	struct dm_io *io = ctx;

	dm_io_finish(io); /* not counted: does not touch the device */
}

void dm_device_free(struct dm_device *md)
{
	struct dm_io *io = md->queue_head;

	assert(!md->live && !md->inactive && md->in_flight == 0);
	while (io) {
		struct dm_io *next = io->next;

		io->status = -EIO;
		io->md = NULL;
		if (executor_defer(md->reg->ex, fail_queued_io, io) != 0)
			dm_io_finish(io);
		io = next;
	}
	while (md->waiters) {
		struct dm_suspend_waiter *w = md->waiters;

		md->waiters = w->next;
		free(w);
	}
	free(md);
}

/*
 * What Linux does to I/O on a device being removed: every bio queued on a
 * suspended device fails with -EIO, through the executor like any
 * completion (the device stays suspended).
 */
unsigned dm_registry_fail_queued(struct dm_registry *reg)
{
	unsigned n = 0;

	for (struct dm_device *md = reg->devices; md; md = md->next) {
		while (md->queue_head) {
			struct dm_io *io = md->queue_head;

			md->queue_head = io->next;
			io->status = -EIO;
			io->md = NULL;
			if (executor_defer(reg->ex, fail_queued_io, io) != 0)
				dm_io_finish(io);
			n++;
		}
		md->queue_tail = NULL;
	}
	return n;
}

/* ---- suspend ---- */

void dm_table_presuspend(struct dm_table *t)
{
	for (unsigned i = 0; t && i < t->num_targets; i++)
		if (t->targets[i]->type->presuspend)
			t->targets[i]->type->presuspend(t->targets[i]);
}

void dm_table_postsuspend(struct dm_table *t)
{
	for (unsigned i = 0; t && i < t->num_targets; i++)
		if (t->targets[i]->type->postsuspend)
			t->targets[i]->type->postsuspend(t->targets[i]);
}

static bool drained(const struct dm_device *md)
{
	return md->in_flight == 0 && md->busy == 0;
}

/* Executor work: finish a suspend whose I/O has drained. */
static void suspend_finish(void *ctx)
{
	struct dm_device *md = ctx;
	struct dm_suspend_waiter *w;

	md->finish_scheduled = false;
	if (!md->suspending || !drained(md))
		return; /* more work arrived; the next drain reschedules */
	md->suspending = false;
	md->suspended = true;
	dm_table_postsuspend(md->live);
	w = md->waiters;
	md->waiters = NULL;
	while (w) {
		struct dm_suspend_waiter *next = w->next;

		if (w->fn)
			w->fn(w->ctx, 0);
		free(w);
		w = next;
	}
}

void dm_device_check_drained(struct dm_device *md)
{
	if (!md->suspending || md->finish_scheduled || !drained(md))
		return;
	md->finish_scheduled = true;
	if (executor_defer(md->reg->ex, suspend_finish, md) != 0)
		md->finish_scheduled = false; /* retried at the next drain */
}

struct done_call {
	dm_done_fn *fn;
	void *ctx;
};

static void run_done_call(void *ctx)
{
	struct done_call *dc = ctx;

	dc->fn(dc->ctx, 0);
	free(dc);
}

int dm_device_suspend(struct dm_device *md, unsigned flags, dm_done_fn *done,
		      void *ctx)
{
	struct dm_suspend_waiter *w;

	if (md->suspended) {
		struct done_call *dc;

		if (!done)
			return 0;
		dc = malloc(sizeof(*dc));
		if (!dc)
			return -ENOMEM;
		dc->fn = done;
		dc->ctx = ctx;
		if (executor_defer(md->reg->ex, run_done_call, dc) != 0) {
			free(dc);
			return -ENOMEM;
		}
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = done;
	w->ctx = ctx;
	w->next = md->waiters;
	md->waiters = w;
	if (md->suspending)
		return 0; /* joins the suspend already in progress */
	md->suspend_flags = flags;
	dm_table_presuspend(md->live);
	md->suspending = true;
	dm_device_check_drained(md);
	return 0;
}

int dm_device_suspend_now(struct dm_device *md, unsigned flags)
{
	if (md->suspended)
		return 0;
	if (md->suspending || !drained(md))
		return -EBUSY;
	md->suspend_flags = flags;
	dm_table_presuspend(md->live);
	md->suspended = true;
	dm_table_postsuspend(md->live);
	return 0;
}

/* ---- resume ---- */

struct dm_table *dm_device_swap_table(struct dm_device *md, struct dm_table *t)
{
	struct dm_table *old = md->live;
	unsigned caps = BDEV_CAP_DISCARD;

	assert(md->suspended);
	md->live = t;
	md->base.size_sectors = t ? t->size : 0;
	md->base.logical_block_bytes = t ? t->logical_block_bytes : SECTOR_SIZE;
	for (unsigned i = 0; t && i < t->num_targets; i++)
		if (!t->targets[i]->discards_supported)
			caps &= ~BDEV_CAP_DISCARD;
	md->base.caps = t ? caps : 0;
	md->read_only = t && (t->flags & DM_READ_ONLY);
	return old;
}

int dm_device_resume_live(struct dm_device *md, struct ss_error *err)
{
	struct dm_table *t = md->live;
	struct dm_io *io;

	assert(md->suspended);
	if (!t || t->size == 0)
		return ss_error_set(err, -EINVAL, 0, 0,
				    "cannot resume '%s': it has no live table",
				    md->base.name);
	for (unsigned i = 0; i < t->num_targets; i++) {
		struct dm_target *ti = t->targets[i];
		int r;

		if (!ti->type->preresume)
			continue;
		r = ti->type->preresume(ti);
		if (r)
			return ss_error_set(err, r, t->pos[i].line,
					    t->pos[i].type_col,
					    "%s: pre-resume failed (%s)",
					    ti->type->name, strerror(-r));
	}
	for (unsigned i = 0; i < t->num_targets; i++)
		if (t->targets[i]->type->resume)
			t->targets[i]->type->resume(t->targets[i]);
	md->suspended = false;
	/* Admit the queued I/O, in arrival order, through the executor. */
	io = md->queue_head;
	md->queue_head = md->queue_tail = NULL;
	while (io) {
		struct dm_io *next = io->next;

		io->next = NULL;
		io->counted = true;
		md->in_flight++;
		if (executor_defer(md->reg->ex, dm_io_dispatch_work, io) != 0)
			dm_io_dispatch(io);
		io = next;
	}
	return 0;
}

/* ---- device accessors ---- */

struct bdev *dm_device_bdev(struct dm_device *md)
{
	return &md->base;
}

const char *dm_device_name_of(struct dm_device *md)
{
	return md->base.name;
}

unsigned dm_device_minor(struct dm_device *md)
{
	return md->minor;
}

unsigned dm_device_event_nr(struct dm_device *md)
{
	return md->event_nr;
}

unsigned dm_device_num_targets(struct dm_device *md)
{
	return md->live ? md->live->num_targets : 0;
}

struct dm_target *dm_device_target(struct dm_device *md, unsigned i)
{
	return md->live ? dm_table_target(md->live, i) : NULL;
}
