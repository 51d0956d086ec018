/*
 * replay_tap.c - the completion tap: a pass-through bdev over each disk (over
 * its fault wrapper, when it has one) that tables see in the disk's place, so
 * that every completion but a read's can be offered as a crash point before
 * the layer above learns of it.
 */
#include <errno.h>
#include <stdlib.h>

#include "replay_impl.h"

struct rp_tap_io {
	struct bio clone;
	struct bio *orig;
	struct rp_tap *tap;
	struct rp_tap_io *prev, *next; /* the tap's in-flight list */
};

static void tap_unlink(struct rp_tap_io *io)
{
	if (io->prev)
		io->prev->next = io->next;
	else
		io->tap->inflight = io->next;
	if (io->next)
		io->next->prev = io->prev;
}

/* A world torn down with I/O in flight: the lower device never completes it. */
void rp_tap_free_inflight(struct rp_tap *t)
{
	while (t->inflight) {
		struct rp_tap_io *io = t->inflight;

		t->inflight = io->next;
		free(io);
	}
}

static void tap_done(struct bio *clone, int status)
{
	struct rp_tap_io *io = clone->private;
	struct rp_tap *t = io->tap;
	struct replay_world *w = t->w;
	struct bio *orig = io->orig;
	unsigned modes = w->crash_modes;

	if (clone->op != BIO_READ && (modes & (REPLAY_CRASH_DISK_IO | REPLAY_CRASH_FLUSH))) {
		bool fl = clone->op == BIO_FLUSH ||
			  (clone->flags & (BIO_FUA | BIO_PREFLUSH));
		struct replay_crash_point cp = {
			.kind = (modes & REPLAY_CRASH_DISK_IO) ? REPLAY_CRASH_DISK_IO
							       : REPLAY_CRASH_FLUSH,
			.disk = (int)t->idx, .op = clone->op, .bio_flags = clone->flags,
			.sector = clone->sector, .nr_sectors = clone->nr_sectors,
			.status = status,
		};
		if ((modes & REPLAY_CRASH_DISK_IO) || fl)
			rp_crash_point(w, &cp);
	}
	if (w->rec)
		rp_rec_io(w->rec, t->idx, clone->op, clone->sector, clone->nr_sectors, clone->data,
			  status);
	tap_unlink(io);
	free(io);
	bio_endio(orig, status);
}

struct rp_tap_err {
	struct bio *bio;
	int status;
};

static void tap_fail_now(void *ctx)
{
	struct bio *bio = ctx;

	bio_endio(bio, -ENOMEM);
}

/* The step a request came from, for a simulated disk (an image file has no tags). */
static void tag_disk(struct rp_tap *t)
{
	if (t->w->disks[t->idx].disk)
		sim_disk_set_tag(t->w->disks[t->idx].disk, t->w->step_line);
}

static void tap_submit(struct bdev *bd, struct bio *bio)
{
	struct rp_tap *t = (struct rp_tap *)bd;
	struct rp_tap_io *io = malloc(sizeof(*io));

	if (!io) {
		if (executor_defer(sim_sched_executor(&t->w->sched), tap_fail_now, bio))
			t->w->failed = true; /* cannot even report it */
		return;
	}
	io->clone = *bio;
	io->clone.bdev = t->lower;
	io->clone.done = tap_done;
	io->clone.private = io;
	io->orig = bio;
	io->tap = t;
	io->prev = NULL;
	io->next = t->inflight;
	if (t->inflight)
		t->inflight->prev = io;
	t->inflight = io;
	tag_disk(t); /* the explorer's writes table */
	bdev_submit(&io->clone);
}

static int tap_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
		       uint32_t nr_sectors, uint8_t *data)
{
	struct rp_tap *t = (struct rp_tap *)bd;
	int r;

	tag_disk(t);
	r = bdev_sync_rw(t->lower, op, sector, nr_sectors, data);
	if (t->w->rec)
		rp_rec_io(t->w->rec, t->idx, op, sector, nr_sectors, data, r);
	return r;
}

const struct bdev_ops rp_tap_ops = {
	.submit = tap_submit,
	.destroy = NULL,
	.sync_rw = tap_sync_rw,
};
