/*
 * dm_snap_merge.c - the background merge of a `snapshot-merge` target
 * (spec 4.12): copy the newest run of exceptions from the COW back to the
 * origin, one run per step, until the store has none left, the merge fails,
 * or the device is suspended (pre-suspend sets merge_stop; the step in
 * progress finishes and the merge ends; the busy count makes suspend wait).
 *
 * One step, each arrow an asynchronous completion:
 *   merge_step -> store prepare_merge -> merge_prepared
 *   -> merge_preserve (other snapshots copy the run first; may wait on their
 *      exceptions through merge_waiter and start over)
 *   -> mark the run "being merged" (writes to it are held)
 *   -> dm_snap_merge_check_writes (wait for tracked COW writes to the run)
 *   -> merge_copy -> merge_copied -> origin FLUSH -> merge_flushed
 *   -> store commit_merge -> merge_committed (drop the chunks from the
 *      complete table, release held writes) -> next merge_step.
 * A failure anywhere sets merge_failed (status "Merge failed"), fails the
 * held writes and ends the merge; it is not persistent.
 */
#include "dm_snap.h"

#include <errno.h>
#include <stddef.h>

#include "dm_copier.h"

static void merge_step(void *ctx);

static void merge_end(struct dm_snapshot *s)
{
	s->merge_running = false;
	s->merging_nr = 0;
	s->merge_wait_writes = false;
	s->inflight--;
	if (s->ti)
		dm_target_busy_put(s->ti);
	dm_snap_reap(s);
}

/* Submit (ok) or fail the writes held for the run being merged. */
static void merge_release_held(struct dm_snapshot *s, bool ok)
{
	struct snap_io *io = s->merge_held;

	s->merge_held = NULL;
	s->merge_held_tail = &s->merge_held;
	s->merging_nr = 0;
	while (io) {
		struct snap_io *next = io->next;

		io->next = NULL;
		if (ok)
			bdev_submit(io->clone);
		else
			bio_endio(io->clone, -EIO);
		io = next;
	}
}

static void merge_fail(struct dm_snapshot *s)
{
	s->merge_failed = true;
	merge_release_held(s, false);
	merge_end(s);
}

static void merge_committed(void *ctx, int status)
{
	struct dm_snapshot *s = ctx;

	if (status) {
		merge_fail(s);
		return;
	}
	for (uint64_t i = s->merge_nr; i-- > 0;) {
		if (extable_remove(&s->complete, s->merge_old + i) != 0) {
			merge_fail(s);
			return;
		}
	}
	merge_release_held(s, true);
	defer_or_run(s->ex, merge_step, s);
}

static void merge_flushed(struct bio *bio, int status)
{
	struct dm_snapshot *s = bio->private;

	if (status) {
		merge_fail(s);
		return;
	}
	s->store->type->commit_merge(s->store, (int)s->merge_nr,
				     merge_committed, s);
}

static void merge_copied(void *ctx, int status)
{
	struct dm_snapshot *s = ctx;

	if (status) {
		merge_fail(s);
		return;
	}
	bio_init(&s->merge_flush, s->origin, BIO_FLUSH, 0, 0, 0, NULL,
		 merge_flushed, s);
	bdev_submit(&s->merge_flush);
}

/* Step 7: copy the run from the COW back to the origin. */
static void merge_copy(struct dm_snapshot *s)
{
	sector_t from = snap_chunk_to_sector(s, s->merge_new);
	sector_t to = snap_chunk_to_sector(s, s->merge_old);
	sector_t n = snap_chunk_to_sector(s, s->merge_nr);
	sector_t size = s->origin->size_sectors;

	if (to >= size)
		n = 0;
	else if (size - to < n)
		n = size - to;
	if (dm_copier_copy(s->ex, s->cow, from, s->origin, to, n, merge_copied,
			   s) != 0)
		merge_fail(s);
}

/* Step 6: wait until no tracked COW write to the run is in flight. */
void dm_snap_merge_check_writes(struct dm_snapshot *s)
{
	for (uint64_t i = 0; i < s->merge_nr; i++) {
		if (dm_snap_chunk_is_tracked(s, s->merge_old + i)) {
			s->merge_wait_writes = true;
			return;
		}
	}
	s->merge_wait_writes = false;
	merge_copy(s);
}

/*
 * Step 4: make every other snapshot of the origin preserve the run. When
 * one has to wait, merge_waiter re-runs this once that exception is done.
 */
static void merge_preserve(struct dm_snapshot *s)
{
	struct snap_origin *o = s->node.origin;
	uint32_t step = snap_origin_min_chunk(o);
	sector_t start = snap_chunk_to_sector(s, s->merge_old);
	sector_t end = snap_chunk_to_sector(s, s->merge_old + s->merge_nr);

	if (!step)
		step = snap_chunk_sectors(s);
	if (end > s->origin->size_sectors)
		end = s->origin->size_sectors;
	for (sector_t sector = start; sector < end; sector += step)
		if (!dm_snap_origin_write(o, sector, &s->merge_waiter))
			return;
	s->merging_nr = s->merge_nr; /* step 5 */
	dm_snap_merge_check_writes(s);
}

static void merge_waiter_rerun(struct origin_waiter *w)
{
	struct dm_snapshot *s = (struct dm_snapshot *)((char *)w -
				offsetof(struct dm_snapshot, merge_waiter));

	if (s->dying) {
		merge_end(s);
		return;
	}
	merge_preserve(s);
}

static void merge_prepared(void *ctx, int nr, chunk_t last_old,
			   chunk_t last_new)
{
	struct dm_snapshot *s = ctx;

	if (nr == 0) {
		merge_end(s); /* merge complete */
		return;
	}
	if (nr < 0) {
		merge_fail(s);
		return;
	}
	s->merge_nr = (uint64_t)nr;
	s->merge_old = last_old - (chunk_t)nr + 1;
	s->merge_new = last_new - (chunk_t)nr + 1;
	merge_preserve(s);
}

static void merge_step(void *ctx)
{
	struct dm_snapshot *s = ctx;

	if (s->merge_stop || s->dying || !s->valid || !s->store) {
		merge_end(s);
		return;
	}
	s->store->type->prepare_merge(s->store, merge_prepared, s);
}

void dm_snap_merge_start(struct dm_snapshot *s)
{
	if (!s->is_merge || s->merge_running || !s->valid || !s->store ||
	    !s->store->type->prepare_merge)
		return;
	s->merge_running = true;
	s->merge_stop = false;
	s->merge_failed = false;
	s->merge_waiter.rerun = merge_waiter_rerun;
	s->merge_held_tail = &s->merge_held;
	s->inflight++;
	if (s->ti)
		dm_target_busy_get(s->ti);
	defer_or_run(s->ex, merge_step, s);
}


