/*
 * exception_table.c - the complete-exception table of one snapshot, with
 * Linux's consecutive-chunk run compression (spec 5).
 *
 * Semantics are Linux's: nr_buckets from the hint clamped to [64, 262144]
 * and rounded down to a power of two; bucket of chunk c = (c >> 8) & mask;
 * each bucket sorted by old ascending; insert extends an adjacent entry at
 * its end (checked first) or at its front, else adds a run-0 entry at its
 * sorted place; adjacent entries are never joined; removal only from the
 * ends of an entry.
 *
 * Representation (differs from Linux on purpose, to be compact): instead of
 * a doubly linked list of 32-byte nodes per bucket, a bucket is one heap
 * block { uint64_t nr; struct extable_entry e[cap]; } of entries sorted by
 * old, each entry 16 bytes: { old; new | run << 56 }. The capacity is not
 * stored: it is a pure function of nr (bucket_cap()), with at most ~25%
 * slack above 8 entries and none below. An empty bucket is a NULL head.
 * So a random insert costs 16 bytes (+ slack, + the 8-byte block header
 * shared by the bucket); a sequential one extends a run and costs nothing
 * until the 256-chunk group ends (16 bytes per 256 chunks). Lookups are a
 * binary search instead of a list walk. The rejected alternative, a global
 * sorted array, makes a random insert O(n) memmove over the whole table.
 *
 * Invariant: entries in a bucket are sorted by old, their ranges are
 * disjoint, run <= 255 and old..old+run lies in one aligned group of 256
 * chunks (the bucket ignores the low 8 bits, so o and o+1 across a group
 * boundary are in different buckets and never extend each other).
 */
#include "exception_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EXTABLE_MIN_BUCKETS 64u
#define EXTABLE_MAX_BUCKETS 262144u
#define EXTABLE_RUN_SHIFT 56
#define EXTABLE_NEW_MASK ((UINT64_C(1) << EXTABLE_RUN_SHIFT) - 1)
#define EXTABLE_RUN_MAX 255u

struct extable_entry {
	uint64_t old_chunk;
	uint64_t new_and_run; /* low 56 bits: COW chunk; top 8 bits: run */
};

/*
 * A bucket's heap block. Stored in t->buckets[] as a struct extable_entry
 * pointer (the header's type) and converted back before use.
 */
struct extable_block {
	uint64_t nr;
	struct extable_entry e[];
};

static inline uint64_t entry_new(const struct extable_entry *e)
{
	return e->new_and_run & EXTABLE_NEW_MASK;
}

static inline unsigned entry_run(const struct extable_entry *e)
{
	return (unsigned)(e->new_and_run >> EXTABLE_RUN_SHIFT);
}

static inline void entry_set(struct extable_entry *e, uint64_t old_chunk,
			     uint64_t new_chunk, unsigned run)
{
	e->old_chunk = old_chunk;
	e->new_and_run = new_chunk | (uint64_t)run << EXTABLE_RUN_SHIFT;
}

/* Slots allocated for nr entries: exact up to 8, then ~1.25x size classes. */
static uint64_t bucket_cap(uint64_t nr)
{
	unsigned top = 63;
	uint64_t step;

	if (nr <= 8)
		return nr;
	while (!(nr >> top))
		top--;
	step = UINT64_C(1) << (top - 2);
	return (nr + step - 1) & ~(step - 1);
}

static inline struct extable_block *bucket_block(const struct extable *t,
						 uint32_t b)
{
	return (struct extable_block *)(void *)t->buckets[b];
}

static inline uint32_t bucket_of(const struct extable *t, chunk_t c)
{
	return (uint32_t)(c >> 8) & t->mask;
}

/* Index of the first entry with old > c (0..nr). */
static uint64_t upper_bound(const struct extable_block *blk, chunk_t c)
{
	uint64_t lo = 0, hi = blk ? blk->nr : 0;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (blk->e[mid].old_chunk <= c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t block_bytes(uint64_t cap)
{
	return sizeof(struct extable_block) + cap * sizeof(struct extable_entry);
}

int extable_init(struct extable *t, uint64_t nr_buckets_hint)
{
	uint64_t n = nr_buckets_hint;

	if (n < EXTABLE_MIN_BUCKETS)
		n = EXTABLE_MIN_BUCKETS;
	if (n > EXTABLE_MAX_BUCKETS)
		n = EXTABLE_MAX_BUCKETS;
	while (n & (n - 1))
		n &= n - 1; /* round down to a power of two */
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->mask = (uint32_t)(n - 1);
	t->nr_chunks = 0;
	t->nr_entries = 0;
	return 0;
}

void extable_destroy(struct extable *t)
{
	if (!t->buckets)
		return;
	for (uint64_t b = 0; b <= t->mask; b++)
		free(t->buckets[b]); /* block allocated by extable_insert */
	free(t->buckets);
	t->buckets = NULL;
	t->nr_chunks = 0;
	t->nr_entries = 0;
}

bool extable_lookup(const struct extable *t, chunk_t c, chunk_t *new_chunk)
{
	const struct extable_block *blk = bucket_block(t, bucket_of(t, c));
	uint64_t i = upper_bound(blk, c);
	const struct extable_entry *e;

	if (i == 0)
		return false;
	e = &blk->e[i - 1];
	if (c - e->old_chunk > entry_run(e))
		return false;
	if (new_chunk)
		*new_chunk = entry_new(e) + (c - e->old_chunk);
	return true;
}

int extable_insert(struct extable *t, chunk_t old_chunk, chunk_t new_chunk)
{
	uint32_t b = bucket_of(t, old_chunk);
	struct extable_block *blk = bucket_block(t, b);
	uint64_t nr = blk ? blk->nr : 0;
	uint64_t i = upper_bound(blk, old_chunk);
	struct extable_entry *e;

	if (new_chunk > EXTABLE_NEW_MASK)
		return -EINVAL;
	if (i > 0) {
		e = &blk->e[i - 1];
		if (old_chunk - e->old_chunk <= entry_run(e))
			return -EEXIST;
		/* Extend at the end (Linux checks this first). */
		if (old_chunk == e->old_chunk + entry_run(e) + 1 &&
		    new_chunk == entry_new(e) + entry_run(e) + 1 &&
		    entry_run(e) < EXTABLE_RUN_MAX) {
			e->new_and_run += UINT64_C(1) << EXTABLE_RUN_SHIFT;
			t->nr_chunks++;
			return 0;
		}
	}
	if (i < nr) {
		e = &blk->e[i];
		/* Extend at the front. */
		if (old_chunk + 1 == e->old_chunk && new_chunk + 1 == entry_new(e) &&
		    entry_run(e) < EXTABLE_RUN_MAX) {
			entry_set(e, old_chunk, new_chunk, entry_run(e) + 1);
			t->nr_chunks++;
			return 0;
		}
	}
	if (nr + 1 > bucket_cap(nr)) {
		struct extable_block *grown = realloc(blk, block_bytes(bucket_cap(nr + 1)));

		if (!grown)
			return -ENOMEM;
		if (!blk)
			grown->nr = 0;
		blk = grown;
		t->buckets[b] = (struct extable_entry *)(void *)blk;
	}
	memmove(&blk->e[i + 1], &blk->e[i], (nr - i) * sizeof(blk->e[0]));
	entry_set(&blk->e[i], old_chunk, new_chunk, 0);
	blk->nr = nr + 1;
	t->nr_entries++;
	t->nr_chunks++;
	return 0;
}

/* Drop entry i of bucket b, shrinking (or freeing) the block. */
static void bucket_delete(struct extable *t, uint32_t b, uint64_t i)
{
	struct extable_block *blk = bucket_block(t, b);
	uint64_t nr = blk->nr;

	memmove(&blk->e[i], &blk->e[i + 1], (nr - i - 1) * sizeof(blk->e[0]));
	blk->nr = nr - 1;
	t->nr_entries--;
	if (blk->nr == 0) {
		free(blk);
		t->buckets[b] = NULL;
	} else if (bucket_cap(nr - 1) < bucket_cap(nr)) {
		/* A failed shrink keeps the larger block, which is still valid. */
		struct extable_block *shrunk = realloc(blk, block_bytes(bucket_cap(nr - 1)));

		if (shrunk)
			t->buckets[b] = (struct extable_entry *)(void *)shrunk;
	}
}

int extable_remove(struct extable *t, chunk_t c)
{
	uint32_t b = bucket_of(t, c);
	struct extable_block *blk = bucket_block(t, b);
	uint64_t i = upper_bound(blk, c);
	struct extable_entry *e;
	unsigned run;

	if (i == 0)
		return -EINVAL;
	e = &blk->e[i - 1];
	run = entry_run(e);
	if (c - e->old_chunk > run)
		return -EINVAL; /* not mapped */
	if (run == 0) {
		bucket_delete(t, b, i - 1);
	} else if (c == e->old_chunk) {
		entry_set(e, e->old_chunk + 1, entry_new(e) + 1, run - 1);
	} else if (c == e->old_chunk + run) {
		entry_set(e, e->old_chunk, entry_new(e), run - 1);
	} else {
		return -EINVAL; /* middle of a run */
	}
	t->nr_chunks--;
	return 0;
}

int extable_foreach(const struct extable *t, extable_visit_fn *fn, void *ctx)
{
	for (uint64_t b = 0; b <= t->mask; b++) {
		const struct extable_block *blk = bucket_block(t, (uint32_t)b);

		if (!blk)
			continue;
		for (uint64_t i = 0; i < blk->nr; i++) {
			const struct extable_entry *e = &blk->e[i];

			for (unsigned k = 0; k <= entry_run(e); k++) {
				int r = fn(ctx, e->old_chunk + k, entry_new(e) + k);

				if (r)
					return r;
			}
		}
	}
	return 0;
}

size_t extable_memory_bytes(const struct extable *t)
{
	size_t bytes = ((size_t)t->mask + 1) * sizeof(*t->buckets);

	for (uint64_t b = 0; b <= t->mask; b++) {
		const struct extable_block *blk = bucket_block(t, (uint32_t)b);

		if (blk)
			bytes += block_bytes(bucket_cap(blk->nr));
	}
	return bytes;
}
