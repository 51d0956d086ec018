/*
 * exstore_persistent.c - the persistent exception store, table letter P
 * (option O: overflow mode), byte compatible with Linux dm-snapshot
 * (spec 2). The on-disk layout is reached only through cow_format.h.
 *
 * Organisation: state and invariants; the I/O state machine (one store I/O
 * at a time); activation (read_metadata, synchronous control path);
 * allocation and commit; invalidation; merge hooks; usage; the ops table.
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
 *
 * Creation (spec 2.9, hardened): Linux writes the header and the zeroed
 * area 0 as two plain writes, which a disk may make durable in either
 * order; a power cut could then leave a valid header over a garbage area 0,
 * and activation would read garbage records. Here activation writes the
 * zeroed area 0, flushes, writes the header and flushes again, all on the
 * synchronous control path (pstore_create_new()): area 0 is durable before
 * the header can be, and the header, which is what makes the store exist
 * and fixes its chunk size, is durable before activation returns, as
 * Linux's is once its constructor's writes reach the disk. The bytes on the
 * COW are the same as Linux's.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cow_format.h"
#include "cow_validate.h"
#include "exstore.h"

enum pstore_state {
	PS_IDLE,
	PS_ZEROING,        /* next-area zeroing write in flight */
	PS_AREA_WRITE,     /* area write (PREFLUSH|FUA|SYNC) in flight */
	PS_ACK_DEFERRED,   /* invalid store: batch acknowledged via executor */
	PS_HEADER_WRITE,   /* drop_snapshot's header rewrite in flight */
	PS_MERGE_READ,     /* prepare_merge reading the previous area */
	PS_MERGE_WRITE,    /* commit_merge area write in flight */
	PS_MERGE_DEFERRED, /* merge answer queued on the executor */
};

enum pstore_merge_op {
	PS_MERGE_NONE,
	PS_MERGE_PREPARE,
	PS_MERGE_COMMIT,
};

/* One commit_exception() call waiting for its area write. */
struct pstore_commit {
	chunk_t old_chunk;
	chunk_t new_chunk;
	bool copy_ok;
	exstore_commit_fn *cb;
	void *ctx;
};

struct pstore {
	struct bdev *cow;
	struct executor *ex;
	uint32_t cs;               /* chunk sectors; 0 until activation */
	uint64_t epa;              /* records per area */
	size_t chunk_bytes;
	bool active;               /* read_metadata succeeded; buffers exist */
	bool valid;                /* sticky false once invalidated */

	uint64_t current_area;     /* area the image belongs to */
	uint64_t current_committed;/* used slots in the image */
	chunk_t next_free;         /* next data chunk to allocate */
	uint64_t pending_count;    /* prepared, commit not yet called */

	uint8_t *area;             /* image of current_area, chunk_bytes */
	uint8_t *zero;             /* chunk of zeros (lazy) */
	uint8_t *aux;              /* header / merge I/O buffer (lazy) */

	/*
	 * Commit ring, allocation order. Entries [head, head + applied) are
	 * the batch written into the image; the rest are queued behind an
	 * in-flight I/O (rule 3). Room is reserved by prepare_exception(),
	 * so commit never allocates.
	 */
	struct pstore_commit *ring;
	size_t cap, head, count, applied;

	enum pstore_state state;
	struct bio bio;            /* the one store I/O (rule 2) */
	bool drop_pending;         /* header rewrite waits for IDLE */

	enum pstore_merge_op merge_op;
	int merge_nr;              /* commit_merge's count */
	int merge_status;          /* MERGE_DEFERRED: status to report */
	exstore_merge_fn *merge_cb;
	exstore_done_fn *merge_done;
	void *merge_ctx;

	bool in_callbacks;         /* callbacks running: no new I/O yet */
	bool dying;                /* dtr ran with I/O or callbacks in flight */
};

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
static void pstore_run(struct pstore *ps)
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

/* ------------------------------------------------------------------ */
/* Construction and activation                                          */

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

/* Adopt chunk size cs: geometry and a zeroed area image. */
static int pstore_set_geometry(struct exstore *s, struct pstore *ps, uint32_t cs)
{
	size_t bytes = (size_t)cs << SECTOR_SHIFT;
	uint8_t *area = calloc(1, bytes);

	if (!area)
		return -ENOMEM;
	free(ps->area);
	free(ps->zero);
	free(ps->aux);
	ps->zero = ps->aux = NULL;
	ps->area = area;
	ps->cs = cs;
	ps->epa = cow_epa(cs);
	ps->chunk_bytes = bytes;
	ps->current_area = 0;
	ps->current_committed = 0;
	ps->next_free = 2;
	exstore_set_chunk_size(s, cs);
	return 0;
}

/*
 * Spec 2.9 creation, hardened (see "Creation" at the top): zeroed area 0,
 * flush, header, flush. Any failure fails activation (as in Linux).
 */
static int pstore_create_new(struct exstore *s, struct pstore *ps, uint32_t cs,
			     uint8_t *buf, struct ss_error *err)
{
	uint64_t cow_chunks = ps->cow->size_sectors / cs;
	int r;

	if (cow_chunks < 2)
		return ss_error_set(err, -EIO, 0, 0,
				    "COW device of %llu sectors cannot hold a header and a metadata area of %u-sector chunks",
				    (unsigned long long)ps->cow->size_sectors, cs);
	memset(buf, 0, (size_t)cs << SECTOR_SHIFT);
	r = bdev_sync_rw(ps->cow, BIO_WRITE, cow_area_loc(cs, 0) * cs, cs, buf);
	if (!r)
		r = bdev_sync_rw(ps->cow, BIO_FLUSH, 0, 0, NULL);
	if (r)
		return ss_error_set(err, r, 0, 0, "Unable to write metadata area 0");
	cow_header_chunk_build(buf, (size_t)cs << SECTOR_SHIFT, 1, cs);
	r = bdev_sync_rw(ps->cow, BIO_WRITE, 0, cs, buf);
	if (!r)
		r = bdev_sync_rw(ps->cow, BIO_FLUSH, 0, 0, NULL);
	if (r)
		return ss_error_set(err, r, 0, 0, "Unable to write snapshot header");
	r = pstore_set_geometry(s, ps, cs);
	if (r)
		return ss_error_set(err, r, 0, 0, "Cannot allocate metadata area");
	ps->valid = true;
	ps->active = true;
	return 0;
}

static int pstore_read(void *ctx, uint64_t sector, uint32_t nr_sectors, uint8_t *buf)
{
	return bdev_sync_rw(ctx, BIO_READ, sector, nr_sectors, buf);
}

struct pstore_emit {
	exstore_add_fn *add;
	void *ctx;
};

static int pstore_emit(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	struct pstore_emit *e = ctx;

	return e->add(e->ctx, old_chunk, new_chunk);
}

/* The error activation fails with for the validator's fatal finding f. */
static int pstore_refuse(const struct exstore *s, const struct cow_validation *v,
			 const struct cow_vfinding *f, struct ss_error *err)
{
	int code = cow_problem_errno(f->problem);
	char what[160];

	switch (f->problem) {
	case COW_P_SHORT_DEVICE:
		return ss_error_set(err, code, 0, 0, "Unable to read snapshot header");
	case COW_P_BAD_MAGIC: /* Linux's messages for the header (spec 2.6) */
		return ss_error_set(err, code, 0, 0, "Invalid or corrupt snapshot");
	case COW_P_BAD_CHUNK_SIZE:
		return ss_error_set(err, code, 0, 0, "Invalid chunk size %u in snapshot header: %s",
				    v->hdr.chunk_sectors,
				    cow_chunk_size_problem(v->hdr.chunk_sectors, s->block_sectors));
	case COW_P_BAD_VERSION:
		return ss_error_set(err, code, 0, 0, "Unsupported snapshot store version %u",
				    v->hdr.version);
	default:
		break;
	}
	cow_vfinding_describe(f, what, sizeof(what));
	if (f->place == COW_V_SLOT)
		return ss_error_set(err, code, 0, 0, "Corrupt snapshot metadata: area %llu slot %llu: %s",
				    (unsigned long long)f->area, (unsigned long long)f->slot, what);
	return ss_error_set(err, code, 0, 0, "Corrupt snapshot metadata: %s", what);
}

/* Spec 2.6 steps 7-9 on a store the validator accepted: adopt its state. */
static int pstore_adopt(struct exstore *s, struct pstore *ps, struct cow_validation *v,
			exstore_add_fn *add, void *ctx, struct ss_error *err)
{
	struct pstore_emit e = { add, ctx };
	int r = pstore_set_geometry(s, ps, v->chunk_sectors);

	if (r)
		return ss_error_set(err, r, 0, 0, "Cannot allocate metadata area");
	ps->active = true;
	if (v->state == COW_STORE_INVALID) {
		ps->valid = false; /* spec 2.6 step 7: no records are read */
		return EXSTORE_MARKED_INVALID;
	}
	ps->valid = true;
	free(ps->area);
	ps->area = v->area; /* the image of current_area, as read */
	v->area = NULL;
	ps->current_area = v->current_area;
	ps->current_committed = v->current_committed;
	ps->next_free = v->next_free;
	/* Only a fully valid store reaches the caller's table. */
	r = cow_validation_foreach(v, pstore_emit, &e);
	if (r) {
		ps->active = false;
		return ss_error_set(err, r, 0, 0, "Cannot add exception to the table");
	}
	return 0;
}

static int persistent_read_metadata(struct exstore *s, exstore_add_fn *add,
				    void *ctx, struct ss_error *err)
{
	struct pstore *ps = s->context;
	uint32_t cs = s->chunk_sectors;
	struct cow_validate_opts opts;
	struct cow_validation v;
	const struct cow_vfinding *f;
	uint8_t *buf;
	int r;

	if (!cs) {
		cs = ps->cow->logical_block_bytes >> SECTOR_SHIFT;
		if (cs < COW_DEFAULT_CHUNK_SECTORS)
			cs = COW_DEFAULT_CHUNK_SECTORS;
	}
	ps->active = false;
	/*
	 * Linux reads chunk 0 with the tentative chunk size, so a COW smaller
	 * than one default chunk (16 KiB) whose header says 1 sector cannot
	 * be activated with a table chunk size of 0. The header is 16 bytes:
	 * the validator reads no more than the device holds.
	 */
	opts = (struct cow_validate_opts){
		.dev_sectors = ps->cow->size_sectors,
		.origin_sectors = s->origin_sectors,
		.block_sectors = s->block_sectors,
		.header_sectors = cs,
		.stop_at_fatal = true,
	};
	r = cow_validate(&v, &opts, pstore_read, ps->cow, NULL);
	if (r == -ENOMEM)
		ss_error_set(err, r, 0, 0, "Cannot allocate exception table");
	else if (r && v.failed_chunk == 0)
		ss_error_set(err, r, 0, 0, "Unable to read snapshot header");
	else if (r)
		ss_error_set(err, r, 0, 0, "Unable to read metadata area %llu (chunk %llu)",
			     (unsigned long long)v.failed_area, (unsigned long long)v.failed_chunk);
	else if (v.nr_fatal)
		r = (f = cow_validation_first_fatal(&v)) ? pstore_refuse(s, &v, f, err)
			: ss_error_set(err, -ENOMEM, 0, 0, "Cannot allocate a finding");
	else if (v.state == COW_STORE_NEW) {
		buf = malloc((size_t)cs << SECTOR_SHIFT);
		r = buf ? pstore_create_new(s, ps, cs, buf, err)
			: ss_error_set(err, -ENOMEM, 0, 0, "Cannot allocate header buffer");
		free(buf);
	} else {
		r = pstore_adopt(s, ps, &v, add, ctx, err);
	}
	cow_validation_free(&v);
	return r;
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
	struct pstore *ps = s->context;

	return ps->state != PS_IDLE || ps->count > 0 || ps->drop_pending ||
	       ps->merge_op != PS_MERGE_NONE;
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
};
