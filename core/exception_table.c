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
 * Representation (differs from Linux on purpose, to be compact):
 *
 * - Bucket heads: a two-level array. t->pages[] has one pointer per 512
 *   buckets; a page of heads is allocated on the first insert into one of
 *   its buckets. A table sized for 262144 buckets costs 4 KiB until used,
 *   and a sequential workload touches few pages (Linux and the previous
 *   version of this file spent a flat 8 bytes per bucket: 2 MiB).
 * - A bucket is one heap block { nr, key_bytes, new_bytes; entries } of
 *   entries sorted by old, packed little-endian at a width chosen per
 *   block: key (key_bytes), new chunk (new_bytes), run (1 byte). The key is
 *   the origin chunk without the bucket's own bits:
 *   key = (old >> (8 + bucket_bits)) << 8 | (old & 255), which preserves
 *   the order of old inside a bucket. The widths grow (the block is
 *   re-encoded) when an entry needs more bytes, and never shrink. A table
 *   of 1M random exceptions over 16M chunks stores 1-byte keys and 3-byte
 *   new chunks: 5 bytes an entry instead of 16.
 * - The capacity is not stored: it is a pure function of nr (bucket_cap()),
 *   with at most ~25% slack above 8 entries and none below. An empty
 *   bucket is a NULL head.
 * Lookups are a binary search of one block. The rejected alternative, a
 * global sorted array, makes a random insert O(n) memmove over the table.
 *
 * Invariants: entries in a block are sorted by key, their ranges are
 * disjoint, run <= 255 and old..old+run lies in one aligned group of 256
 * chunks (the bucket ignores the low 8 bits, so o and o+1 across a group
 * boundary are in different buckets and never extend each other). For
 * every entry, key, and new + run, fit in the block's widths (so removing
 * the first chunk of an entry, which stores new + 1, never needs a wider
 * block).
 */
#include "exception_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EXTABLE_MIN_BUCKETS 64u
#define EXTABLE_MAX_BUCKETS 262144u
#define EXTABLE_NEW_MASK ((UINT64_C(1) << 56) - 1)
#define EXTABLE_RUN_MAX 255u
#define EXTABLE_PAGE_SHIFT 9u      /* 512 heads (4 KiB) per page */
#define EXTABLE_NR_MAX UINT32_MAX  /* entries in one block */

struct extable_block {
	uint32_t nr;          /* entries */
	uint8_t key_bytes;    /* 1..8 */
	uint8_t new_bytes;    /* 1..7 */
	uint16_t unused;
	uint8_t data[];       /* nr entries of stride() bytes: key, new, run */
};

/* One entry, decoded. */
struct xent {
	uint64_t key;
	uint64_t new_chunk;
	unsigned run;
};

static inline uint64_t get_le(const uint8_t *p, unsigned w)
{
	uint64_t v = 0;

	for (unsigned i = w; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static inline void put_le(uint8_t *p, uint64_t v, unsigned w)
{
	for (unsigned i = 0; i < w; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline unsigned bytes_for(uint64_t v)
{
	unsigned w = 1;

	while (w < 8 && (v >> (8 * w)))
		w++;
	return w;
}

static inline unsigned stride(const struct extable_block *blk)
{
	return blk->key_bytes + blk->new_bytes + 1u;
}

static inline uint8_t *ent_ptr(const struct extable_block *blk, uint64_t i)
{
	return (uint8_t *)blk->data + i * stride(blk);
}

static inline uint64_t ent_key(const struct extable_block *blk, uint64_t i)
{
	return get_le(ent_ptr(blk, i), blk->key_bytes);
}

static inline void ent_get(const struct extable_block *blk, uint64_t i,
			   struct xent *e)
{
	const uint8_t *p = ent_ptr(blk, i);

	e->key = get_le(p, blk->key_bytes);
	e->new_chunk = get_le(p + blk->key_bytes, blk->new_bytes);
	e->run = p[blk->key_bytes + blk->new_bytes];
}

static inline void ent_put(struct extable_block *blk, uint64_t i,
			   const struct xent *e)
{
	uint8_t *p = ent_ptr(blk, i);

	put_le(p, e->key, blk->key_bytes);
	put_le(p + blk->key_bytes, e->new_chunk, blk->new_bytes);
	p[blk->key_bytes + blk->new_bytes] = (uint8_t)e->run;
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

static size_t block_bytes(uint64_t cap, unsigned key_bytes, unsigned new_bytes)
{
	return sizeof(struct extable_block) + cap * (key_bytes + new_bytes + 1u);
}

static inline uint32_t bucket_of(const struct extable *t, chunk_t c)
{
	return (uint32_t)(c >> 8) & t->mask;
}

static inline uint64_t key_of(const struct extable *t, chunk_t c)
{
	return (c >> (8 + t->bucket_bits)) << 8 | (c & 255);
}

static inline chunk_t old_of(const struct extable *t, uint32_t b, uint64_t key)
{
	return (key >> 8) << (8 + t->bucket_bits) | (uint64_t)b << 8 | (key & 255);
}

static inline uint64_t page_heads(const struct extable *t)
{
	uint64_t n = (uint64_t)t->mask + 1;

	return n < (1u << EXTABLE_PAGE_SHIFT) ? n : (1u << EXTABLE_PAGE_SHIFT);
}

static inline uint64_t nr_pages(const struct extable *t)
{
	return ((uint64_t)t->mask >> EXTABLE_PAGE_SHIFT) + 1;
}

/* The head slot of bucket b, or NULL when its page does not exist. */
static inline struct extable_block **head_slot(const struct extable *t, uint32_t b)
{
	struct extable_block **page = t->pages[b >> EXTABLE_PAGE_SHIFT];

	return page ? &page[b & ((1u << EXTABLE_PAGE_SHIFT) - 1)] : NULL;
}

static inline struct extable_block *bucket_block(const struct extable *t, uint32_t b)
{
	struct extable_block **slot = head_slot(t, b);

	return slot ? *slot : NULL;
}

/* Index of the first entry with key > k (0..nr). */
static uint64_t upper_bound(const struct extable_block *blk, uint64_t k)
{
	uint64_t lo = 0, hi = blk ? blk->nr : 0;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (ent_key(blk, mid) <= k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int extable_init(struct extable *t, uint64_t nr_buckets_hint)
{
	uint64_t n = nr_buckets_hint;
	uint8_t bits = 0;

	if (n < EXTABLE_MIN_BUCKETS)
		n = EXTABLE_MIN_BUCKETS;
	if (n > EXTABLE_MAX_BUCKETS)
		n = EXTABLE_MAX_BUCKETS;
	while (n & (n - 1))
		n &= n - 1; /* round down to a power of two */
	while ((UINT64_C(1) << bits) < n)
		bits++;
	t->mask = (uint32_t)(n - 1);
	t->bucket_bits = bits;
	t->pages = calloc(nr_pages(t), sizeof(*t->pages));
	if (!t->pages)
		return -ENOMEM;
	t->nr_chunks = 0;
	t->nr_entries = 0;
	return 0;
}

void extable_destroy(struct extable *t)
{
	if (!t->pages)
		return;
	for (uint64_t p = 0; p < nr_pages(t); p++) {
		if (!t->pages[p])
			continue;
		for (uint64_t h = 0; h < page_heads(t); h++)
			free(t->pages[p][h]); /* block allocated by extable_insert */
		free(t->pages[p]);            /* page allocated by extable_insert */
	}
	free(t->pages);
	t->pages = NULL;
	t->nr_chunks = 0;
	t->nr_entries = 0;
}

bool extable_lookup(const struct extable *t, chunk_t c, chunk_t *new_chunk)
{
	const struct extable_block *blk = bucket_block(t, bucket_of(t, c));
	uint64_t key = key_of(t, c);
	uint64_t i = upper_bound(blk, key);
	struct xent e;

	if (i == 0)
		return false;
	ent_get(blk, i - 1, &e);
	if (key - e.key > e.run)
		return false;
	if (new_chunk)
		*new_chunk = e.new_chunk + (key - e.key);
	return true;
}

/*
 * A copy of blk (nr entries; NULL for none) with room for cap entries at
 * the given widths, leaving a one-entry gap at index gap (or none when gap
 * is UINT64_MAX). NULL on allocation failure; blk is not freed.
 */
static struct extable_block *block_recode(const struct extable_block *blk,
					  uint64_t cap, unsigned key_bytes,
					  unsigned new_bytes, uint64_t gap)
{
	struct extable_block *nb = malloc(block_bytes(cap, key_bytes, new_bytes));
	uint64_t nr = blk ? blk->nr : 0;

	if (!nb)
		return NULL;
	nb->nr = (uint32_t)nr;
	nb->key_bytes = (uint8_t)key_bytes;
	nb->new_bytes = (uint8_t)new_bytes;
	nb->unused = 0;
	for (uint64_t i = 0; i < nr; i++) {
		struct xent e;

		ent_get(blk, i, &e);
		ent_put(nb, i < gap ? i : i + 1, &e);
	}
	return nb;
}

/* Make sure bucket b's page of heads exists. Returns 0 or -ENOMEM. */
static int page_get(struct extable *t, uint32_t b)
{
	struct extable_block ***page = &t->pages[b >> EXTABLE_PAGE_SHIFT];

	if (!*page) {
		*page = calloc(page_heads(t), sizeof(**page));
		if (!*page)
			return -ENOMEM;
	}
	return 0;
}

int extable_insert(struct extable *t, chunk_t old_chunk, chunk_t new_chunk)
{
	uint32_t b = bucket_of(t, old_chunk);
	struct extable_block **slot = head_slot(t, b);
	struct extable_block *blk = slot ? *slot : NULL;
	uint64_t nr = blk ? blk->nr : 0;
	uint64_t key = key_of(t, old_chunk);
	uint64_t i = upper_bound(blk, key);
	unsigned kw, nw;
	struct xent e;

	if (new_chunk > EXTABLE_NEW_MASK)
		return -EINVAL;
	if (i > 0) {
		chunk_t eold;

		ent_get(blk, i - 1, &e);
		eold = old_of(t, b, e.key);
		if (old_chunk - eold <= e.run)
			return -EEXIST;
		/* Extend at the end (Linux checks this first). */
		if (old_chunk == eold + e.run + 1 && new_chunk == e.new_chunk + e.run + 1 &&
		    e.run < EXTABLE_RUN_MAX) {
			if (bytes_for(new_chunk) > blk->new_bytes) {
				/* Keep new + run representable: widen first. */
				struct extable_block *nb = block_recode(
					blk, bucket_cap(nr), blk->key_bytes,
					bytes_for(new_chunk), UINT64_MAX);

				if (!nb)
					return -ENOMEM;
				free(blk);
				*slot = blk = nb;
			}
			e.run++;
			ent_put(blk, i - 1, &e);
			t->nr_chunks++;
			return 0;
		}
	}
	if (i < nr) {
		ent_get(blk, i, &e);
		/* Extend at the front: key and new shrink, so they still fit. */
		if (old_chunk + 1 == old_of(t, b, e.key) && new_chunk + 1 == e.new_chunk &&
		    e.run < EXTABLE_RUN_MAX) {
			e.key = key;
			e.new_chunk = new_chunk;
			e.run++;
			ent_put(blk, i, &e);
			t->nr_chunks++;
			return 0;
		}
	}
	if (nr >= EXTABLE_NR_MAX)
		return -ENOMEM;
	if (page_get(t, b))
		return -ENOMEM;
	slot = head_slot(t, b);
	kw = bytes_for(key);
	nw = bytes_for(new_chunk);
	if (blk && kw <= blk->key_bytes && nw <= blk->new_bytes) {
		if (nr + 1 > bucket_cap(nr)) {
			struct extable_block *grown = realloc(
				blk, block_bytes(bucket_cap(nr + 1), blk->key_bytes,
						 blk->new_bytes));

			if (!grown)
				return -ENOMEM;
			*slot = blk = grown;
		}
		memmove(ent_ptr(blk, i + 1), ent_ptr(blk, i), (nr - i) * stride(blk));
	} else {
		/* First entry, or wider fields: re-encode with a gap at i. */
		struct extable_block *nb;

		if (blk) {
			kw = kw > blk->key_bytes ? kw : blk->key_bytes;
			nw = nw > blk->new_bytes ? nw : blk->new_bytes;
		}
		nb = block_recode(blk, bucket_cap(nr + 1), kw, nw, i);
		if (!nb)
			return -ENOMEM;
		free(blk);
		*slot = blk = nb;
	}
	e.key = key;
	e.new_chunk = new_chunk;
	e.run = 0;
	ent_put(blk, i, &e);
	blk->nr = (uint32_t)(nr + 1);
	t->nr_entries++;
	t->nr_chunks++;
	return 0;
}

/* Drop entry i of bucket b, shrinking (or freeing) the block. */
static void bucket_delete(struct extable *t, uint32_t b, uint64_t i)
{
	struct extable_block **slot = head_slot(t, b);
	struct extable_block *blk = *slot;
	uint64_t nr = blk->nr;

	memmove(ent_ptr(blk, i), ent_ptr(blk, i + 1), (nr - i - 1) * stride(blk));
	blk->nr = (uint32_t)(nr - 1);
	t->nr_entries--;
	if (blk->nr == 0) {
		free(blk);
		*slot = NULL;
	} else if (bucket_cap(nr - 1) < bucket_cap(nr)) {
		/* A failed shrink keeps the larger block, which is still valid. */
		struct extable_block *shrunk = realloc(
			blk, block_bytes(bucket_cap(nr - 1), blk->key_bytes, blk->new_bytes));

		if (shrunk)
			*slot = shrunk;
	}
}

int extable_remove(struct extable *t, chunk_t c)
{
	uint32_t b = bucket_of(t, c);
	struct extable_block *blk = bucket_block(t, b);
	uint64_t key = key_of(t, c);
	uint64_t i = upper_bound(blk, key);
	struct xent e;

	if (i == 0)
		return -EINVAL;
	ent_get(blk, i - 1, &e);
	if (key - e.key > e.run)
		return -EINVAL; /* not mapped */
	if (e.run == 0) {
		bucket_delete(t, b, i - 1);
	} else if (key == e.key) {
		/* Same group, so key + 1 keeps its width; new + 1 <= new + run fits. */
		e.key++;
		e.new_chunk++;
		e.run--;
		ent_put(blk, i - 1, &e);
	} else if (key == e.key + e.run) {
		e.run--;
		ent_put(blk, i - 1, &e);
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
			struct xent e;
			chunk_t old;

			ent_get(blk, i, &e);
			old = old_of(t, (uint32_t)b, e.key);
			for (unsigned k = 0; k <= e.run; k++) {
				int r = fn(ctx, old + k, e.new_chunk + k);

				if (r)
					return r;
			}
		}
	}
	return 0;
}

size_t extable_memory_bytes(const struct extable *t)
{
	size_t bytes = nr_pages(t) * sizeof(*t->pages);

	for (uint64_t p = 0; p < nr_pages(t); p++) {
		if (!t->pages[p])
			continue;
		bytes += page_heads(t) * sizeof(*t->pages[p]);
		for (uint64_t h = 0; h < page_heads(t); h++) {
			const struct extable_block *blk = t->pages[p][h];

			if (blk)
				bytes += block_bytes(bucket_cap(blk->nr), blk->key_bytes,
						     blk->new_bytes);
		}
	}
	return bytes;
}
