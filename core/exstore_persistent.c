/*
 * exstore_persistent.c - the persistent exception store, table letter P
 * (option O: overflow mode), byte compatible with Linux dm-snapshot
 * (spec 2). The on-disk layout is reached only through cow_format.h.
 *
 * Organisation: the I/O state machine (one store I/O at a time);
 * construction; allocation and commit; invalidation; merge hooks; usage;
 * the ops table. The state is in exstore_persistent_internal.h, activation
 * (read_metadata, synchronous control path) in exstore_persistent_load.c.
 *
 * Ordering rules kept here (spec 2.8, DESIGN "Ordering rules"):
 *  (1) An area write carries PREFLUSH|FUA(|SYNC): every write completed
 *      before it (the copied data of its records, the zeroing of the next
 *      area) is durable before its records, and its records are durable
 *      before any of its commit callbacks runs.
 *  (2) The store has at most ONE I/O in flight. So an area write is only
 *      submitted after every earlier store write (next-area zeroing, header
 *      rewrite, previous area write) has completed, which is what makes
 *      (1)'s PREFLUSH cover them; and two area writes never race.
 *  (3) The area image is never modified while an area write from it is in
 *      flight: commits arriving meanwhile wait in the commit ring (in
 *      allocation order) and are applied, as one batch, once it completes.
 *  (4) Callbacks run from I/O completions or deferred executor work, never
 *      inside commit_exception().
 *
 * A commit, from ring to callback:
 *   queued (ring, unapplied) -> applied to the area image (the batch) ->
 *   [area full: zeroing write of the next area] -> area write ->
 *   callbacks(success = valid), ring entries retired.
 * The write is deferred while more prepared exceptions are outstanding and
 * the area is not full (Linux's batching: one write covers many commits).
 *
 * I/O states (ps->state), transition -> function:
 *   IDLE -> ZEROING          pstore_start_zeroing()   area filled
 *   IDLE/ZEROING -> AREA_WRITE  pstore_start_area_write()
 *   AREA_WRITE -> IDLE       pstore_finish_batch()
 *   IDLE -> ACK_DEFERRED     store invalid: batch acked with no I/O
 *   IDLE -> HEADER_WRITE     drop_snapshot (pstore_start_header_write())
 *   IDLE -> MERGE_READ / MERGE_WRITE / MERGE_DEFERRED   merge hooks
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cow_format.h"
#include "exstore_persistent_internal.h"

static void pstore_run(struct pstore *ps);

static void pstore_free(struct pstore *ps)
{
	free(ps->area); /* read_metadata */
	free(ps->zero); /* pstore_start_zeroing */
	free(ps->aux);  /* pstore_aux */
	free(ps->ring); /* pstore_reserve */
	free(ps);       /* persistent_ctr */
}

static inline struct pstore_commit *ring_at(struct pstore *ps, size_t i)
{
	return &ps->ring[(ps->head + i) % ps->cap];
}

/* Room in the ring for n entries. 0 or -ENOMEM, nothing changed. */
static int pstore_reserve(struct pstore *ps, size_t n)
{
	struct pstore_commit *ring;
	size_t cap;

	if (n <= ps->cap)
		return 0;
	cap = ps->cap ? ps->cap * 2 : 64;
	while (cap < n)
		cap *= 2;
	ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (size_t i = 0; i < ps->count; i++)
		ring[i] = *ring_at(ps, i);
	free(ps->ring);
	ps->ring = ring;
	ps->cap = cap;
	ps->head = 0;
	return 0;
}

static uint8_t *pstore_aux(struct pstore *ps)
{
	if (!ps->aux)
		ps->aux = malloc(ps->chunk_bytes);
	return ps->aux;
}

static sector_t chunk_to_sector(const struct pstore *ps, chunk_t c)
{
	return (sector_t)c * ps->cs;
}

/* Defer fn(ps); if the executor cannot queue it, run it now (last resort). */
static void pstore_defer(struct pstore *ps, executor_fn *fn)
{
	if (executor_defer(ps->ex, fn, ps) != 0)
		fn(ps);
}

/* ------------------------------------------------------------------ */
/* The I/O state machine                                                */

static void pstore_endio(struct bio *bio, int status);

/* Submit the store's single bio. Must be the caller's last action. */
static void pstore_submit(struct pstore *ps, enum pstore_state state,
			  enum bio_op op, unsigned flags, chunk_t chunk,
			  uint8_t *data)
{
	ps->state = state;
	bio_init(&ps->bio, ps->cow, op, flags, chunk_to_sector(ps, chunk),
		 ps->cs, data, pstore_endio, ps);
	bdev_submit(&ps->bio);
}

/* Retire the batch: advance past a full area, then run its callbacks. */
static void pstore_finish_batch(struct pstore *ps)
{
	size_t n = ps->applied;
	bool success = ps->valid;

	if (ps->active && ps->current_committed == ps->epa) {
		ps->current_area++;
		ps->current_committed = 0;
		memset(ps->area, 0, ps->chunk_bytes);
	}
	ps->applied = 0;
	ps->state = PS_IDLE;
	ps->in_callbacks = true;
	while (n-- && !ps->dying) {
		struct pstore_commit c = *ring_at(ps, 0);

		ps->head = (ps->head + 1) % ps->cap;
		ps->count--;
		c.cb(c.ctx, success); /* may commit, drop or destroy the store */
	}
	ps->in_callbacks = false;
	if (ps->dying) {
		pstore_free(ps);
		return;
	}
	pstore_run(ps);
}

static void pstore_ack_deferred(void *arg)
{
	struct pstore *ps = arg;

	if (ps->dying) {
		pstore_free(ps);
		return;
	}
	pstore_finish_batch(ps);
}

/* Write the area image (spec 2.8 step 6), or acknowledge with no I/O. */
static void pstore_start_area_write(struct pstore *ps)
{
	if (!ps->valid) {
		ps->state = PS_ACK_DEFERRED;
		pstore_defer(ps, pstore_ack_deferred);
		return;
	}
	pstore_submit(ps, PS_AREA_WRITE, BIO_WRITE,
		      BIO_PREFLUSH | BIO_FUA | BIO_SYNC,
		      cow_area_loc(ps->cs, ps->current_area), ps->area);
}

/* Zero the area after a full one (spec 2.8 step 5); plain write. */
static void pstore_start_zeroing(struct pstore *ps)
{
	if (!ps->zero)
		ps->zero = calloc(1, ps->chunk_bytes);
	if (!ps->zero) {
		ps->valid = false; /* as a failed zeroing write */
		pstore_start_area_write(ps);
		return;
	}
	pstore_submit(ps, PS_ZEROING, BIO_WRITE, 0,
		      cow_area_loc(ps->cs, ps->current_area + 1), ps->zero);
}

static void pstore_start_header_write(struct pstore *ps)
{
	uint8_t *buf = pstore_aux(ps);

	if (!buf)
		return; /* Linux only logs a failed header rewrite */
	cow_header_chunk_build(buf, ps->chunk_bytes, 0, ps->cs);
	pstore_submit(ps, PS_HEADER_WRITE, BIO_WRITE, 0, 0, buf);
}

/* Run the merge answer callback and go back to IDLE. */
static void pstore_merge_report(struct pstore *ps, int status)
{
	enum pstore_merge_op op = ps->merge_op;
	int nr = 0;
	chunk_t last_old = 0, last_new = 0;

	ps->merge_op = PS_MERGE_NONE;
	ps->state = PS_IDLE;
	if (op == PS_MERGE_PREPARE && status == 0 && ps->current_committed) {
		uint64_t cc = ps->current_committed;
		struct cow_record last, r;
		uint64_t k = 1;

		cow_area_get(ps->area, cc - 1, &last);
		while (k < cc) {
			cow_area_get(ps->area, cc - 1 - k, &r);
			if (r.old_chunk != last.old_chunk - k ||
			    r.new_chunk != last.new_chunk - k)
				break;
			k++;
		}
		nr = (int)k;
		last_old = last.old_chunk;
		last_new = last.new_chunk;
	}
	ps->in_callbacks = true;
	if (op == PS_MERGE_PREPARE)
		ps->merge_cb(ps->merge_ctx, status ? status : nr, last_old, last_new);
	else
		ps->merge_done(ps->merge_ctx, status);
	ps->in_callbacks = false;
	if (ps->dying) {
		pstore_free(ps);
		return;
	}
	pstore_run(ps);
}

static void pstore_merge_deferred(void *arg)
{
	struct pstore *ps = arg;

	if (ps->dying) {
		pstore_free(ps);
		return;
	}
	pstore_merge_report(ps, ps->merge_status);
}

static void pstore_merge_answer_later(struct pstore *ps, int status)
{
	ps->merge_status = status;
	ps->state = PS_MERGE_DEFERRED;
	pstore_defer(ps, pstore_merge_deferred);
}

/* Start the queued merge operation (spec 2.13). Store is IDLE, ring empty. */
static void pstore_start_merge(struct pstore *ps)
{
	uint8_t *buf;

	if (!ps->active) {
		pstore_merge_answer_later(ps, -EINVAL);
		return;
	}
	if (ps->merge_op == PS_MERGE_PREPARE) {
		if (ps->current_committed || ps->current_area == 0) {
			pstore_merge_answer_later(ps, 0);
			return;
		}
		buf = pstore_aux(ps);
		if (!buf) {
			pstore_merge_answer_later(ps, -ENOMEM);
			return;
		}
		pstore_submit(ps, PS_MERGE_READ, BIO_READ, 0,
			      cow_area_loc(ps->cs, ps->current_area - 1), buf);
		return;
	}
	/* PS_MERGE_COMMIT: write the image with the last nr slots cleared. */
	if (ps->merge_nr <= 0 || (uint64_t)ps->merge_nr > ps->current_committed) {
		pstore_merge_answer_later(ps, -EINVAL);
		return;
	}
	buf = pstore_aux(ps);
	if (!buf) {
		pstore_merge_answer_later(ps, -ENOMEM);
		return;
	}
	memcpy(buf, ps->area, ps->chunk_bytes);
	for (uint64_t i = ps->current_committed - (uint64_t)ps->merge_nr;
	     i < ps->current_committed; i++)
		cow_area_put(buf, i, &(struct cow_record){ 0, 0 });
	pstore_submit(ps, PS_MERGE_WRITE, BIO_WRITE, BIO_PREFLUSH | BIO_FUA,
		      cow_area_loc(ps->cs, ps->current_area), buf);
}

/* A read area is full (all slots used) or it cannot precede current_area. */
static bool area_is_full(const struct pstore *ps, const uint8_t *area)
{
	struct cow_record r;

	for (uint64_t i = 0; i < ps->epa; i++) {
		cow_area_get(area, i, &r);
		if (r.new_chunk == 0)
			return false;
	}
	return true;
}

static void pstore_swap_aux(struct pstore *ps)
{
	uint8_t *t = ps->area;

	ps->area = ps->aux;
	ps->aux = t;
}

/* Completion of the store's bio (executor context). */
static void pstore_endio(struct bio *bio, int status)
{
	struct pstore *ps = bio->private;

	if (ps->dying) {
		pstore_free(ps);
		return;
	}
	switch (ps->state) {
	case PS_ZEROING:
		if (status)
			ps->valid = false;
		pstore_start_area_write(ps);
		break;
	case PS_AREA_WRITE:
		if (status)
			ps->valid = false;
		pstore_finish_batch(ps);
		break;
	case PS_HEADER_WRITE:
		/* A failed rewrite is only logged in Linux. */
		ps->state = PS_IDLE;
		pstore_run(ps);
		break;
	case PS_MERGE_READ:
		if (!status && !area_is_full(ps, ps->aux))
			status = -EINVAL; /* an earlier area must be full */
		if (!status) {
			pstore_swap_aux(ps);
			ps->current_area--;
			ps->current_committed = ps->epa;
		}
		pstore_merge_report(ps, status);
		break;
	case PS_MERGE_WRITE:
		if (!status) {
			pstore_swap_aux(ps);
			ps->current_committed -= (uint64_t)ps->merge_nr;
			ps->next_free = cow_area_loc(ps->cs, ps->current_area) +
					ps->current_committed + 1;
		}
		pstore_merge_report(ps, status);
		break;
	default:
		break; /* not reached: no bio in the other states */
	}
}

/*
 * Start whatever work is due, if no store I/O is in flight: a pending
 * header rewrite, else the commit batch, else a queued merge operation.
 */
static void pstore_run_work(struct pstore *ps)
{
	if (ps->state != PS_IDLE || ps->in_callbacks || ps->dying)
		return;
	if (ps->drop_pending) {
		ps->drop_pending = false;
		if (ps->active && pstore_aux(ps)) {
			pstore_start_header_write(ps);
			return;
		}
	}
	if (!ps->active) {
		/* Commits without activation: acknowledge as failed. */
		ps->valid = false;
		ps->applied = ps->count;
	}
	while (ps->active && ps->applied < ps->count &&
	       ps->current_committed < ps->epa) {
		const struct pstore_commit *c = ring_at(ps, ps->applied);
		struct cow_record rec = { c->old_chunk, c->new_chunk };

		if (!c->copy_ok)
			ps->valid = false; /* sticky (spec 2.8 step 1) */
		cow_area_put(ps->area, ps->current_committed++, &rec);
		ps->applied++;
	}
	if (ps->applied == 0) {
		if (ps->merge_op != PS_MERGE_NONE && ps->count == 0)
			pstore_start_merge(ps);
		return;
	}
	if (ps->active && ps->current_committed == ps->epa) {
		pstore_start_zeroing(ps);
		return;
	}
	if (ps->pending_count > 0)
		return; /* batching: the last outstanding commit writes */
	pstore_start_area_write(ps);
}

static bool pstore_busy(const struct pstore *ps)
{
	return ps->state != PS_IDLE || ps->count > 0 || ps->drop_pending ||
	       ps->merge_op != PS_MERGE_NONE;
}

/* Queue the when_idle waiter once nothing is left to do. Last action. */
static void pstore_idle_check(struct pstore *ps)
{
	executor_fn *fn = ps->idle_fn;

	if (!fn || ps->in_callbacks || ps->dying || pstore_busy(ps))
		return;
	ps->idle_fn = NULL;
	if (executor_defer(ps->ex, fn, ps->idle_ctx) != 0)
		fn(ps->idle_ctx); /* last resort; may destroy the store */
}

static void pstore_run(struct pstore *ps)
{
	pstore_run_work(ps);
	pstore_idle_check(ps);
}

/* ------------------------------------------------------------------ */
/* Construction (activation: exstore_persistent_load.c)                */

static int persistent_ctr(struct exstore *s, const char *options,
			  struct ss_error *err)
{
	struct pstore *ps;

	if (options[0] && toupper((unsigned char)options[0]) != 'O')
		return ss_error_set(err, -EINVAL, 0, 0,
				    "Unsupported persistent store option");
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return ss_error_set(err, -ENOMEM, 0, 0,
				    "Cannot allocate persistent store");
	ps->cow = s->cow;
	ps->ex = s->ex;
	ps->valid = true;
	s->overflow_mode = options[0] != '\0'; /* "O", rest not examined */
	s->context = ps;
	return 0;
}

static void persistent_dtr(struct exstore *s)
{
	struct pstore *ps = s->context;

	s->context = NULL;
	if (ps->state != PS_IDLE || ps->in_callbacks)
		ps->dying = true; /* freed by the completion in flight */
	else
		pstore_free(ps);
}

/* ------------------------------------------------------------------ */
/* Allocation and commit (spec 2.7, 2.8)                                */

static int persistent_prepare(struct exstore *s, chunk_t old_chunk,
			      chunk_t *new_chunk)
{
	struct pstore *ps = s->context;

	(void)old_chunk;
	if (!ps->active)
		return -EINVAL;
	/* (next_free + 1) * cs > COW size, without overflow; size read live. */
	if (ps->next_free + 1 > ps->cow->size_sectors / ps->cs)
		return -ENOSPC;
	if (pstore_reserve(ps, ps->count + ps->pending_count + 1))
		return -ENOMEM;
	*new_chunk = ps->next_free;
	ps->next_free = cow_next_data_chunk(ps->cs, ps->next_free);
	ps->pending_count++;
	return 0;
}

static void persistent_commit(struct exstore *s, chunk_t old_chunk,
			      chunk_t new_chunk, bool copy_ok,
			      exstore_commit_fn *cb, void *ctx)
{
	struct pstore *ps = s->context;

	if (ps->pending_count)
		ps->pending_count--;
	if (pstore_reserve(ps, ps->count + 1)) {
		/* Only reachable without a matching prepare: fail it. */
		ps->valid = false;
		cb(ctx, false);
		return;
	}
	*ring_at(ps, ps->count) = (struct pstore_commit){
		.old_chunk = old_chunk,
		.new_chunk = new_chunk,
		.copy_ok = copy_ok,
		.cb = cb,
		.ctx = ctx,
	};
	ps->count++;
	pstore_run(ps);
}

/* Spec 2.9 invalidation: valid = 0 now, header rewritten when IDLE. */
static void persistent_drop(struct exstore *s)
{
	struct pstore *ps = s->context;

	ps->valid = false;
	if (!ps->active)
		return;
	ps->drop_pending = true;
	pstore_run(ps);
}

/* ------------------------------------------------------------------ */
/* Merge hooks (spec 2.13)                                              */

static void persistent_prepare_merge(struct exstore *s, exstore_merge_fn *cb,
				     void *ctx)
{
	struct pstore *ps = s->context;

	ps->merge_op = PS_MERGE_PREPARE;
	ps->merge_cb = cb;
	ps->merge_ctx = ctx;
	pstore_run(ps);
}

static void persistent_commit_merge(struct exstore *s, int nr,
				    exstore_done_fn *cb, void *ctx)
{
	struct pstore *ps = s->context;

	ps->merge_op = PS_MERGE_COMMIT;
	ps->merge_nr = nr;
	ps->merge_done = cb;
	ps->merge_ctx = ctx;
	pstore_run(ps);
}

/* ------------------------------------------------------------------ */
/* Usage and state                                                      */

static void persistent_usage(struct exstore *s, sector_t *total,
			     sector_t *allocated, sector_t *metadata)
{
	struct pstore *ps = s->context;

	*total = ps->cow->size_sectors;
	*allocated = (sector_t)ps->next_free * ps->cs;
	*metadata = (sector_t)(ps->current_area + 2) * ps->cs;
	if (!ps->active)
		*allocated = *metadata = 0;
}

static bool persistent_busy(struct exstore *s)
{
	return pstore_busy(s->context);
}

static void persistent_when_idle(struct exstore *s, executor_fn *fn, void *ctx)
{
	struct pstore *ps = s->context;

	ps->idle_fn = fn;
	ps->idle_ctx = ctx;
	pstore_idle_check(ps);
}

const struct exstore_type exstore_persistent_type = {
	.name = "persistent",
	.letter = 'P',
	.ctr = persistent_ctr,
	.dtr = persistent_dtr,
	.read_metadata = persistent_read_metadata,
	.prepare_exception = persistent_prepare,
	.commit_exception = persistent_commit,
	.prepare_merge = persistent_prepare_merge,
	.commit_merge = persistent_commit_merge,
	.drop_snapshot = persistent_drop,
	.usage = persistent_usage,
	.busy = persistent_busy,
	.when_idle = persistent_when_idle,
};
