/*
 * dm_snap_exception.c - a snapshot's exceptions (spec 4.3, 4.4, 4.6,
 * 4.10, 4.13): pending exceptions from creation to release, the
 * origin-write procedure and the snapshot write that create them,
 * invalidation, the handover of exception state between two tables, and
 * the end of a snapshot object's life. The request paths that call in
 * here are in dm_snap_io.c and the background merge in dm_snap_merge.c;
 * this file calls neither.
 *
 * The invariant this file exists for (spec 2.8, 4.3, 4.4):
 *   an origin write to chunk c is issued to the origin only when every
 *   active, valid, non-merging snapshot of that origin has a *complete*
 *   exception for c, i.e. the old data was copied to its COW and the
 *   record pointing at it is durable (the store's commit callback ran),
 *   and no snapshot read of c sent to the origin is still in flight.
 *
 * A pending exception goes through these states:
 *
 *   created  --copy/whole-chunk write ends-->  copy_done
 *   copy_done --all earlier ones committed-->  committing (store commit)
 *   committing --callback ok-->  in complete table; if a tracked read of
 *                                the chunk is in flight: read_wait
 *   read_wait --last tracked read ends-->  finished (released)
 *   committing --callback failed / snapshot invalid-->  failed (released)
 *
 * "Released" means: held snapshot writes go to the COW (or fail), the
 * whole-chunk write is ended, held origin writes re-run the procedure.
 * Commits are handed to the store strictly in sequence (allocation) order
 * (asserted with next_commit_seq).
 *
 * Everything runs in executor context; nothing blocks. Where Linux polls
 * (read tracking, every 1 ms), the release is re-checked when the tracked
 * I/O completes (dm_snap_release_read_waiters).
 */
#include "dm_snap.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "dm_copier.h"

struct pending_exception {
	struct pending_exception *hnext;  /* pending hash chain */
	struct pending_exception *onext;  /* allocation-order list */
	struct pending_exception *wnext;  /* read_waiters list */
	struct dm_snapshot *snap;
	chunk_t old_chunk;
	chunk_t new_chunk;
	uint64_t seq;                     /* per-snapshot allocation order */
	bool started;                     /* copy (or whole-chunk write) started */
	bool copy_done;
	int copy_status;
	struct origin_waiter *origin_waiters; /* held origin writes */
	struct snap_io *snap_ios;         /* held snapshot writes (remapped) */
	struct snap_io **snap_ios_tail;
	struct snap_io *full_io;          /* whole-chunk write replacing the copy */
};

/* ------------------------------------------------------------------ */
/* Tracked chunks (spec 4.7), set and cleared by dm_snap_io.c          */
/* ------------------------------------------------------------------ */

bool dm_snap_chunk_is_tracked(const struct dm_snapshot *s, chunk_t c)
{
	for (const struct snap_io *io = s->tracked[c % SNAP_TRACK_BUCKETS]; io;
	     io = io->tnext)
		if (io->chunk == c)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Pending exceptions (spec 4.4)                                       */
/* ------------------------------------------------------------------ */

int dm_snap_pending_init(struct dm_snapshot *s, uint64_t nr_buckets)
{
	uint32_t n = 64;

	while ((uint64_t)n * 2 <= nr_buckets && n < (1u << 15))
		n *= 2;
	s->pending = calloc(n, sizeof(*s->pending));
	if (!s->pending)
		return -ENOMEM;
	s->pending_mask = n - 1;
	s->order_head = NULL;
	s->order_tail = &s->order_head;
	return 0;
}

bool dm_snap_origin_write_races_read(const struct dm_snapshot *s)
{
	for (uint64_t b = 0; s->pending && b <= s->pending_mask; b++)
		for (const struct pending_exception *pe = s->pending[b]; pe; pe = pe->hnext)
			if (pe->origin_waiters && dm_snap_chunk_is_tracked(s, pe->old_chunk))
				return true;
	for (const struct pending_exception *pe = s->read_waiters; pe; pe = pe->wnext)
		if (pe->origin_waiters && dm_snap_chunk_is_tracked(s, pe->old_chunk))
			return true;
	return false;
}

static struct pending_exception *pending_lookup(const struct dm_snapshot *s,
						chunk_t c)
{
	for (struct pending_exception *pe = s->pending[c & s->pending_mask]; pe;
	     pe = pe->hnext)
		if (pe->old_chunk == c)
			return pe;
	return NULL;
}

static void pending_unhash(struct pending_exception *pe)
{
	struct dm_snapshot *s = pe->snap;
	struct pending_exception **pp = &s->pending[pe->old_chunk & s->pending_mask];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == pe) {
			*pp = pe->hnext;
			break;
		}
	}
	assert(s->pending_count > 0);
	s->pending_count--;
}

/*
 * Create a pending exception for chunk c and allocate its COW chunk.
 * Returns 0, -ENOSPC (COW full) or -ENOMEM; nothing changes on failure.
 */
static int pending_create(struct dm_snapshot *s, chunk_t c,
			  struct pending_exception **out)
{
	struct pending_exception *pe = calloc(1, sizeof(*pe));
	int r;

	if (!pe)
		return -ENOMEM;
	r = s->store->type->prepare_exception(s->store, c, &pe->new_chunk);
	if (r) {
		free(pe);
		return r;
	}
	pe->snap = s;
	pe->old_chunk = c;
	pe->seq = s->next_seq++;
	pe->snap_ios_tail = &pe->snap_ios;
	pe->hnext = s->pending[c & s->pending_mask];
	s->pending[c & s->pending_mask] = pe;
	*s->order_tail = pe;
	s->order_tail = &pe->onext;
	s->pending_count++;
	*out = pe;
	return 0;
}

static void commit_done(void *ctx, bool success);

/* Hand every copied exception at the head of the order to the store. */
static void commit_in_order(struct dm_snapshot *s)
{
	struct pending_exception *pe;

	while ((pe = s->order_head) && pe->copy_done) {
		s->order_head = pe->onext;
		if (!s->order_head)
			s->order_tail = &s->order_head;
		pe->onext = NULL;
		assert(pe->seq == s->next_commit_seq);
		s->next_commit_seq++;
		s->store->type->commit_exception(s->store, pe->old_chunk,
						 pe->new_chunk,
						 pe->copy_status == 0,
						 commit_done, pe);
	}
}

static void copy_complete(struct pending_exception *pe, int status)
{
	pe->copy_done = true;
	pe->copy_status = status;
	commit_in_order(pe->snap);
}

/* Copier callback (executor context). */
static void copy_done(void *ctx, int status)
{
	copy_complete(ctx, status);
}

static void copy_failed_deferred(void *ctx)
{
	copy_complete(ctx, -ENOMEM);
}

/* Copy the origin chunk to the COW chunk (spec 4.4 step 2). */
static void start_copy(struct pending_exception *pe)
{
	struct dm_snapshot *s = pe->snap;
	sector_t src = snap_chunk_to_sector(s, pe->old_chunk);
	sector_t size = s->origin->size_sectors;
	sector_t n = snap_chunk_sectors(s);

	pe->started = true;
	if (src >= size)
		n = 0;
	else if (size - src < n)
		n = size - src;
	if (dm_copier_copy(s->ex, s->origin, src, s->cow,
			   snap_chunk_to_sector(s, pe->new_chunk), n, copy_done,
			   pe) != 0)
		defer_or_run(s->ex, copy_failed_deferred, pe);
}

/*
 * Release everything a pending exception held, after success (ok) or
 * failure. Frees pe.
 */
static void pending_release(struct pending_exception *pe, bool ok)
{
	struct dm_snapshot *s = pe->snap;
	struct snap_io *full = pe->full_io;
	struct snap_io *ios = pe->snap_ios;
	struct origin_waiter *w = pe->origin_waiters;

	pending_unhash(pe);
	free(pe);
	if (full)
		bio_endio(full->clone, ok ? full->status : -EIO);
	while (ios) {
		struct snap_io *next = ios->next;

		ios->next = NULL;
		if (ok)
			bdev_submit(ios->clone);
		else
			bio_endio(ios->clone, -EIO);
		ios = next;
	}
	while (w) {
		struct origin_waiter *next = w->next;

		w->next = NULL;
		w->rerun(w);
		w = next;
	}
	dm_snap_reap(s);
}

static void pending_finish(struct pending_exception *pe)
{
	pending_release(pe, true);
}

/* The store's commit callback (executor context). */
static void commit_done(void *ctx, bool success)
{
	struct pending_exception *pe = ctx;
	struct dm_snapshot *s = pe->snap;

	if (!success || !s->valid) {
		dm_snap_invalidate(s);
		pending_release(pe, false);
		return;
	}
	if (extable_insert(&s->complete, pe->old_chunk, pe->new_chunk) != 0) {
		dm_snap_invalidate(s);
		pending_release(pe, false);
		return;
	}
	if (dm_snap_chunk_is_tracked(s, pe->old_chunk)) {
		pe->wnext = s->read_waiters;
		s->read_waiters = pe;
		return;
	}
	pending_finish(pe);
}

/*
 * Finish the committed exceptions that waited for tracked I/O of their
 * chunk, once none is in flight any more.
 */
void dm_snap_release_read_waiters(struct dm_snapshot *s)
{
	struct pending_exception **pp = &s->read_waiters;

	while (*pp) {
		struct pending_exception *pe = *pp;

		if (dm_snap_chunk_is_tracked(s, pe->old_chunk)) {
			pp = &pe->wnext;
			continue;
		}
		*pp = pe->wnext;
		pending_finish(pe);
		pp = &s->read_waiters; /* the list may have changed */
	}
}

/* ------------------------------------------------------------------ */
/* Invalidation (spec 4.10)                                            */
/* ------------------------------------------------------------------ */

void dm_snap_invalidate(struct dm_snapshot *s)
{
	if (!s->valid)
		return;
	s->valid = false;
	if (s->store && s->store->type->drop_snapshot)
		s->store->type->drop_snapshot(s->store);
	if (s->ti)
		dm_target_event(s->ti);
}

/* ------------------------------------------------------------------ */
/* The origin-write procedure (spec 4.3)                               */
/* ------------------------------------------------------------------ */

bool dm_snap_origin_write(struct snap_origin *o, sector_t sector,
			  struct origin_waiter *w)
{
	struct pending_exception *start_last = NULL;
	bool attached = false;

	if (!o)
		return true;
	for (struct snap_reg_node *n = o->snaps; n; n = n->next) {
		struct dm_snapshot *s = n->snap;
		struct pending_exception *pe;
		chunk_t c, ignored;

		if (s->is_merge || sector >= s->len_sectors)
			continue;
		if (!s->valid || !s->active || !s->store ||
		    !snap_chunk_sectors(s))
			continue;
		c = snap_sector_to_chunk(s, sector);
		pe = pending_lookup(s, c);
		if (!pe) {
			if (extable_lookup(&s->complete, c, &ignored))
				continue;
			if (pending_create(s, c, &pe) != 0) {
				/* No space (or memory) for an origin write. */
				dm_snap_invalidate(s);
				continue;
			}
		}
		if (!attached) {
			w->next = pe->origin_waiters;
			pe->origin_waiters = w;
			attached = true;
			if (!pe->started) {
				pe->started = true;
				start_last = pe;
			}
		} else if (!pe->started) {
			start_copy(pe);
		}
	}
	if (start_last)
		start_copy(start_last);
	return !attached;
}

/* ------------------------------------------------------------------ */
/* Snapshot writes (spec 4.6)                                          */
/* ------------------------------------------------------------------ */

/* Whole-chunk write to the COW that replaces the copy ended. */
static void full_write_done(struct bio *bio, int status)
{
	struct snap_io *io = bio->private;
	struct dm_snapshot *s = io->snap;

	s->inflight--;
	io->status = status;
	copy_complete(io->pe, status);
}

int dm_snap_write(struct dm_snapshot *s, struct snap_io *io, chunk_t c)
{
	struct bio *bio = io->clone;
	struct pending_exception *pe = pending_lookup(s, c);
	int r;

	if (pe) {
		bio->bdev = s->cow;
		bio->sector = cow_sector(s, pe->new_chunk, bio->sector);
		*pe->snap_ios_tail = io;
		pe->snap_ios_tail = &io->next;
		return DM_MAPIO_SUBMITTED;
	}
	r = pending_create(s, c, &pe);
	if (r) {
		if (r == -ENOSPC && s->store->overflow_mode)
			s->overflow = true;
		else
			dm_snap_invalidate(s);
		return -EIO;
	}
	pe->started = true;
	if (chunk_whole(s, bio)) {
		/* The write replaces the copy (spec 4.6 step 6). */
		pe->full_io = io;
		io->pe = pe;
		bio_init(&io->inner[0], s->cow, BIO_WRITE, bio->flags,
			 snap_chunk_to_sector(s, pe->new_chunk), bio->nr_sectors,
			 bio->data, full_write_done, io);
		s->inflight++;
		bdev_submit(&io->inner[0]);
		return DM_MAPIO_SUBMITTED;
	}
	bio->bdev = s->cow;
	bio->sector = cow_sector(s, pe->new_chunk, bio->sector);
	*pe->snap_ios_tail = io;
	pe->snap_ios_tail = &io->next;
	start_copy(pe);
	return DM_MAPIO_SUBMITTED;
}

/* ------------------------------------------------------------------ */
/* Handover (spec 4.13)                                                */
/* ------------------------------------------------------------------ */

void dm_snap_handover(struct dm_snapshot *src, struct dm_snapshot *dest)
{
	struct exstore *store = src->store;
	struct extable table = src->complete;
	struct pending_exception **pending = src->pending;
	uint32_t mask = src->pending_mask;

	/* Exchange store, complete table and pending table. */
	src->store = dest->store;
	dest->store = store;
	if (dest->store)
		dest->store->overflow_mode = dest->store_overflow_mode;
	if (src->store)
		src->store->overflow_mode = src->store_overflow_mode;
	src->complete = dest->complete;
	dest->complete = table;
	src->pending = dest->pending;
	src->pending_mask = dest->pending_mask;
	dest->pending = pending;
	dest->pending_mask = mask;

	/* Pending exceptions (copies or commits in flight) move along. */
	dest->order_head = src->order_head;
	dest->order_tail = src->order_head ? src->order_tail : &dest->order_head;
	src->order_head = NULL;
	src->order_tail = &src->order_head;
	dest->next_seq = src->next_seq;
	dest->next_commit_seq = src->next_commit_seq;
	dest->pending_count = src->pending_count;
	src->pending_count = 0;
	dest->read_waiters = src->read_waiters;
	src->read_waiters = NULL;
	for (uint32_t b = 0; b <= dest->pending_mask; b++)
		for (struct pending_exception *pe = dest->pending[b]; pe;
		     pe = pe->hnext)
			pe->snap = dest;

	dest->valid = src->valid;
	dest->overflow = src->overflow;
	src->valid = false; /* no header write: the store lives on in dest */
	src->handover_dest = NULL;
	dest->handover_src = NULL;
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

void dm_snap_free(struct dm_snapshot *s)
{
	if (s->store)
		exstore_destroy(s->store);
	extable_destroy(&s->complete);
	free(s->pending);
	free(s);
}

static void snap_reap_deferred(void *ctx)
{
	struct dm_snapshot *s = ctx;

	s->reap_queued = false;
	dm_snap_reap(s);
}

void dm_snap_reap(struct dm_snapshot *s)
{
	if (!s->dying || s->pending_count || s->inflight || s->merge_running ||
	    s->reap_queued)
		return;
	if (s->store && s->store->type->busy && s->store->type->busy(s->store)) {
		/*
		 * Store I/O (a header rewrite) is still in flight: check again
		 * when the store is idle (a deferred poll would rerun at one
		 * instant forever, before the I/O can end).
		 */
		s->reap_queued = true;
		if (s->store->type->when_idle)
			s->store->type->when_idle(s->store, snap_reap_deferred, s);
		else if (executor_defer(s->ex, snap_reap_deferred, s) != 0)
			s->reap_queued = false;
		return;
	}
	dm_snap_free(s);
}
