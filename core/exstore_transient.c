/*
 * exstore_transient.c - the transient exception store, table letter N
 * (spec 3): exceptions live only in the snapshot's memory; the COW device
 * holds copied data from chunk 0 on and no metadata at all.
 *
 * Commits complete without I/O, but never inside commit_exception(): the
 * callbacks are queued in a ring, in commit order, and one deferred drain
 * calls them from the executor. The ring's room is reserved by
 * prepare_exception(), so a commit never allocates and never fails.
 */
#include <stdlib.h>

#include "exstore.h"

struct tstore_ack {
	exstore_commit_fn *cb;
	void *ctx;
	bool success;
};

struct tstore {
	sector_t next_free;        /* sectors handed out, from 0 */
	uint64_t pending;          /* prepared, commit not yet called */
	struct tstore_ack *ring;   /* acks waiting for the drain */
	size_t cap, head, count;
	bool drain_scheduled;      /* a drain is queued on the executor */
	bool dying;                /* dtr ran while a drain was queued */
};

static int transient_ctr(struct exstore *s, const char *options,
			 struct ss_error *err)
{
	struct tstore *ts = calloc(1, sizeof(*ts));

	(void)options; /* spec 1.3 step 6: ignored entirely */
	if (!ts)
		return ss_error_set(err, -ENOMEM, 0, 0,
				    "Cannot allocate transient store");
	s->overflow_mode = false;
	s->context = ts;
	return 0;
}

static void tstore_free(struct tstore *ts)
{
	free(ts->ring);
	free(ts);
}

static void transient_dtr(struct exstore *s)
{
	struct tstore *ts = s->context;

	if (ts->drain_scheduled)
		ts->dying = true; /* the queued drain frees it */
	else
		tstore_free(ts);
	s->context = NULL;
}

static int transient_read_metadata(struct exstore *s, exstore_add_fn *add,
				   void *ctx, struct ss_error *err)
{
	struct tstore *ts = s->context;

	(void)add;
	(void)ctx;
	(void)err;
	ts->next_free = 0; /* every activation starts empty */
	return 0;
}

/* Make room in the ring for n entries. 0 or -ENOMEM, nothing changed. */
static int tstore_reserve(struct tstore *ts, size_t n)
{
	struct tstore_ack *ring;
	size_t cap;

	if (n <= ts->cap)
		return 0;
	cap = ts->cap ? ts->cap * 2 : 16;
	while (cap < n)
		cap *= 2;
	ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (size_t i = 0; i < ts->count; i++)
		ring[i] = ts->ring[(ts->head + i) % ts->cap];
	free(ts->ring);
	ts->ring = ring;
	ts->cap = cap;
	ts->head = 0;
	return 0;
}

static int transient_prepare(struct exstore *s, chunk_t old_chunk,
			     chunk_t *new_chunk)
{
	struct tstore *ts = s->context;
	sector_t size = s->cow->size_sectors;

	(void)old_chunk;
	if (!s->chunk_sectors)
		return -EINVAL;
	if (ts->next_free > size || size - ts->next_free < s->chunk_sectors)
		return -ENOSPC;
	if (tstore_reserve(ts, ts->count + ts->pending + 1))
		return -ENOMEM;
	*new_chunk = ts->next_free >> s->chunk_shift;
	ts->next_free += s->chunk_sectors;
	ts->pending++;
	return 0;
}

/* Executor context: call the queued acks in commit order. */
static void tstore_drain(void *arg)
{
	struct tstore *ts = arg;

	ts->drain_scheduled = false;
	while (ts->count && !ts->dying) {
		struct tstore_ack a = ts->ring[ts->head];

		ts->head = (ts->head + 1) % ts->cap;
		ts->count--;
		/* The callback may commit again or destroy the store. */
		ts->drain_scheduled = true;
		a.cb(a.ctx, a.success);
		ts->drain_scheduled = false;
	}
	if (ts->dying)
		tstore_free(ts);
}

static void transient_commit(struct exstore *s, chunk_t old_chunk,
			     chunk_t new_chunk, bool copy_ok,
			     exstore_commit_fn *cb, void *ctx)
{
	struct tstore *ts = s->context;

	(void)old_chunk;
	(void)new_chunk;
	if (ts->pending)
		ts->pending--;
	if (tstore_reserve(ts, ts->count + 1)) {
		/* Only reachable when commit was not preceded by prepare. */
		cb(ctx, false);
		return;
	}
	ts->ring[(ts->head + ts->count) % ts->cap] =
		(struct tstore_ack){ .cb = cb, .ctx = ctx, .success = copy_ok };
	ts->count++;
	if (ts->drain_scheduled)
		return;
	if (executor_defer(s->ex, tstore_drain, ts) == 0)
		ts->drain_scheduled = true;
	else
		tstore_drain(ts); /* last resort: the executor is out of memory */
}

static void transient_drop(struct exstore *s)
{
	(void)s; /* invalidity lives only in the snapshot's memory */
}

static void transient_usage(struct exstore *s, sector_t *total,
			    sector_t *allocated, sector_t *metadata)
{
	struct tstore *ts = s->context;

	*total = s->cow->size_sectors;
	*allocated = ts->next_free;
	*metadata = 0;
}

static bool transient_busy(struct exstore *s)
{
	struct tstore *ts = s->context;

	return ts->count > 0 || ts->drain_scheduled;
}

const struct exstore_type exstore_transient_type = {
	.name = "transient",
	.letter = 'N',
	.ctr = transient_ctr,
	.dtr = transient_dtr,
	.read_metadata = transient_read_metadata,
	.prepare_exception = transient_prepare,
	.commit_exception = transient_commit,
	.prepare_merge = NULL,
	.commit_merge = NULL,
	.drop_snapshot = transient_drop,
	.usage = transient_usage,
	.busy = transient_busy,
};
