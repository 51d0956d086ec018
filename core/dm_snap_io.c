/*
 * dm_snap_io.c - the request paths of the snapshot and snapshot-merge
 * targets (spec 4.5-4.9, 4.12 "Requests to ..."): snapshot reads, writes
 * and discards, read tracking, the inner bios a request issues, and the
 * merge device's requests. The exceptions they create or wait on are
 * dm_snap_exception.c's; the background merge is in dm_snap_merge.c.
 *
 * Everything runs in executor context; nothing blocks.
 */
#include "dm_snap.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void snap_io_end_deferred(void *ctx)
{
	struct snap_io *io = ctx;

	bio_endio(io->clone, io->status);
}

/* End a clone later, from the executor (never inside map). */
static void snap_io_end_later(struct snap_io *io, int status)
{
	io->status = status;
	defer_or_run(io->snap->ex, snap_io_end_deferred, io);
}

static struct snap_io *snap_io_init(struct dm_snapshot *s, struct bio *clone)
{
	struct snap_io *io = dm_per_bio_data(clone);

	memset(io, 0, sizeof(*io));
	io->clone = clone;
	io->snap = s;
	return io;
}

/* ------------------------------------------------------------------ */
/* Tracking of reads (and merge COW writes) per chunk (spec 4.7)       */
/* ------------------------------------------------------------------ */

static void track_chunk(struct dm_snapshot *s, struct snap_io *io, chunk_t c)
{
	struct snap_io **b = &s->tracked[c % SNAP_TRACK_BUCKETS];

	io->chunk = c;
	io->tracked = true;
	io->tnext = *b;
	*b = io;
}

static void untrack_chunk(struct dm_snapshot *s, struct snap_io *io)
{
	struct snap_io **pp = &s->tracked[io->chunk % SNAP_TRACK_BUCKETS];

	for (; *pp; pp = &(*pp)->tnext) {
		if (*pp == io) {
			*pp = io->tnext;
			break;
		}
	}
	io->tracked = false;
}

/* A tracked I/O ended: release what waited for it. */
static void tracked_io_ended(struct dm_snapshot *s)
{
	dm_snap_release_read_waiters(s);
	if (s->merge_wait_writes)
		dm_snap_merge_check_writes(s);
}

/* ------------------------------------------------------------------ */
/* Inner bios                                                          */
/* ------------------------------------------------------------------ */

/* Completion of an inner bio of a clone (executor context). */
static void snap_io_inner_done(struct bio *bio, int status)
{
	struct snap_io *io = bio->private;
	struct dm_snapshot *s = io->snap;

	if (status && !io->status)
		io->status = status;
	if (--io->inner_left)
		return;
	free(io->zero_buf);
	io->zero_buf = NULL;
	if (io->tracked) {
		untrack_chunk(s, io);
		tracked_io_ended(s);
	}
	bio_endio(io->clone, io->status); /* frees io (the clone's data) */
	/* Dropped last: s stays alive through the releases above. */
	s->inflight--;
	dm_snap_reap(s);
}

static void snap_io_inner(struct snap_io *io, unsigned i, struct bdev *bd,
			  enum bio_op op, sector_t sector, uint8_t *data)
{
	bio_init(&io->inner[i], bd, op, io->clone->flags, sector,
		 op == BIO_FLUSH ? 0 : io->clone->nr_sectors, data,
		 snap_io_inner_done, io);
}

/* Submit the inner bios prepared (inner_left of them, from index 0). */
static void snap_io_submit_inner(struct snap_io *io)
{
	unsigned n = io->inner_left;

	io->snap->inflight++;
	for (unsigned i = 0; i < n; i++)
		bdev_submit(&io->inner[i]);
}

/* ------------------------------------------------------------------ */
/* snapshot target I/O (spec 4.5, 4.6, 4.8, 4.9)                       */
/* ------------------------------------------------------------------ */

static int snap_discard(struct dm_snapshot *s, struct snap_io *io)
{
	struct bio *bio = io->clone;
	chunk_t c, new_chunk;
	unsigned n = 0;

	if (!s->discard_zeroes_cow)
		return -EOPNOTSUPP;
	if (!s->valid)
		return -EIO;
	c = snap_sector_to_chunk(s, bio->sector);
	if (extable_lookup(&s->complete, c, &new_chunk)) {
		sector_t to = cow_sector(s, new_chunk, bio->sector);

		if (chunk_whole(s, bio)) {
			io->zero_buf = calloc(bio->nr_sectors, SECTOR_SIZE);
			if (!io->zero_buf)
				return -ENOMEM;
			snap_io_inner(io, n++, s->cow, BIO_WRITE, to, io->zero_buf);
		} else {
			snap_io_inner(io, n++, s->cow, BIO_DISCARD, to, NULL);
		}
	}
	if (s->discard_passdown_origin) {
		snap_io_inner(io, n++, s->origin, BIO_DISCARD, bio->sector, NULL);
		track_chunk(s, io, c);
	}
	if (!n) {
		snap_io_end_later(io, 0);
		return DM_MAPIO_SUBMITTED;
	}
	io->inner_left = n;
	snap_io_submit_inner(io);
	return DM_MAPIO_SUBMITTED;
}

int dm_snap_map(struct dm_snapshot *s, struct bio *bio)
{
	struct snap_io *io = snap_io_init(s, bio);
	chunk_t c, new_chunk;

	if (bio->op == BIO_FLUSH) {
		bio->bdev = s->cow;
		return DM_MAPIO_REMAPPED;
	}
	if (bio->op == BIO_DISCARD)
		return snap_discard(s, io);
	if (!s->valid || !s->store || !snap_chunk_sectors(s))
		return -EIO;
	if (bio->op == BIO_WRITE && s->overflow)
		return -EIO;
	c = snap_sector_to_chunk(s, bio->sector);
	if (extable_lookup(&s->complete, c, &new_chunk)) {
		bio->bdev = s->cow;
		bio->sector = cow_sector(s, new_chunk, bio->sector);
		return DM_MAPIO_REMAPPED;
	}
	if (bio->op == BIO_WRITE)
		return dm_snap_write(s, io, c);
	/* Read of an uncopied chunk: from the origin, tracked. */
	snap_io_inner(io, 0, s->origin, BIO_READ, bio->sector, bio->data);
	io->inner_left = 1;
	track_chunk(s, io, c);
	snap_io_submit_inner(io);
	return DM_MAPIO_SUBMITTED;
}

/* ------------------------------------------------------------------ */
/* snapshot-merge target I/O (spec 4.12, "Requests to ...")            */
/* ------------------------------------------------------------------ */

/* A merge-device write waiting on another snapshot's exception. */
static void merge_io_rerun(struct origin_waiter *w)
{
	struct snap_io *io = (struct snap_io *)((char *)w -
						offsetof(struct snap_io, w));
	struct dm_snapshot *s = io->snap;

	if (dm_snap_origin_write(s->node.origin, io->clone->sector, &io->w)) {
		io->clone->bdev = s->origin;
		bdev_submit(io->clone);
	}
}

static int merge_origin_write(struct dm_snapshot *s, struct snap_io *io)
{
	io->clone->bdev = s->origin;
	io->w.rerun = merge_io_rerun;
	if (dm_snap_origin_write(s->node.origin, io->clone->sector, &io->w))
		return DM_MAPIO_REMAPPED;
	return DM_MAPIO_SUBMITTED;
}

int dm_snap_merge_map(struct dm_snapshot *s, struct bio *bio)
{
	struct snap_io *io = snap_io_init(s, bio);
	chunk_t c, new_chunk;

	if (bio->op == BIO_FLUSH) {
		snap_io_inner(io, 0, s->origin, BIO_FLUSH, 0, NULL);
		snap_io_inner(io, 1, s->cow, BIO_FLUSH, 0, NULL);
		io->inner_left = 2;
		snap_io_submit_inner(io);
		return DM_MAPIO_SUBMITTED;
	}
	if (bio->op == BIO_DISCARD) {
		snap_io_end_later(io, 0);
		return DM_MAPIO_SUBMITTED;
	}
	if (!s->valid || !s->store || !snap_chunk_sectors(s)) {
		if (bio->op == BIO_WRITE)
			return merge_origin_write(s, io);
		bio->bdev = s->origin;
		return DM_MAPIO_REMAPPED;
	}
	c = snap_sector_to_chunk(s, bio->sector);
	if (extable_lookup(&s->complete, c, &new_chunk)) {
		if (bio->op == BIO_WRITE && s->merging_nr &&
		    c >= s->merge_old && c < s->merge_old + s->merging_nr) {
			bio->bdev = s->origin;
			*s->merge_held_tail = io;
			s->merge_held_tail = &io->next;
			return DM_MAPIO_SUBMITTED;
		}
		if (bio->op != BIO_WRITE) {
			bio->bdev = s->cow;
			bio->sector = cow_sector(s, new_chunk, bio->sector);
			return DM_MAPIO_REMAPPED;
		}
		snap_io_inner(io, 0, s->cow, BIO_WRITE,
			      cow_sector(s, new_chunk, bio->sector), bio->data);
		io->inner_left = 1;
		track_chunk(s, io, c);
		snap_io_submit_inner(io);
		return DM_MAPIO_SUBMITTED;
	}
	if (bio->op == BIO_WRITE)
		return merge_origin_write(s, io);
	bio->bdev = s->origin;
	return DM_MAPIO_REMAPPED;
}
