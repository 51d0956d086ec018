/*
 * exception_table.h - the in-memory table of complete exceptions of one
 * snapshot, with Linux's consecutive-chunk range compression (spec 5).
 *
 * Invariant: an entry (old, new, run) maps origin chunks old..old+run to
 * COW chunks new..new+run; run <= 255 and an entry never spans an aligned
 * group of 256 chunks (the bucket ignores the low 8 bits). Bucket lists are
 * sorted by old, ascending.
 */
#ifndef SNAPSIM_EXCEPTION_TABLE_H
#define SNAPSIM_EXCEPTION_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bio.h"

struct extable_block;

/*
 * Bucket heads live in pages of 512 pointers (fewer when the table has
 * fewer buckets), each allocated on the first insert into one of its
 * buckets: a large, sparsely used table costs one NULL page pointer per
 * 512 buckets. The representation is private to exception_table.c.
 */
struct extable {
	struct extable_block ***pages; /* (mask >> 9) + 1 pointers, each NULL or a page */
	uint32_t mask;        /* nr_buckets - 1 */
	uint8_t bucket_bits;  /* log2(nr_buckets) */
	uint64_t nr_chunks;   /* chunks mapped */
	uint64_t nr_entries;  /* entries allocated */
};

/*
 * Size the table as Linux does: hint = COW size / chunk size, clamped to
 * [64, 262144] and rounded down to a power of two. Returns 0 or -ENOMEM.
 */
int extable_init(struct extable *t, uint64_t nr_buckets_hint);
void extable_destroy(struct extable *t);

/*
 * Add old -> new, extending an adjacent entry when possible. Returns 0,
 * -ENOMEM, -EEXIST (old already mapped) or -EINVAL (new_chunk does not fit
 * in 56 bits); on failure nothing changed.
 */
int extable_insert(struct extable *t, chunk_t old_chunk, chunk_t new_chunk);
/* Find chunk c; on success sets *new_chunk to its COW chunk. */
bool extable_lookup(const struct extable *t, chunk_t c, chunk_t *new_chunk);
/*
 * Remove chunk c (merge only). Only the first or last chunk of an entry
 * may go; removing from the middle or an unmapped chunk returns -EINVAL
 * and changes nothing.
 */
int extable_remove(struct extable *t, chunk_t c);

/* Visit every mapped chunk pair, ascending within each bucket. */
typedef int extable_visit_fn(void *ctx, chunk_t old_chunk, chunk_t new_chunk);
int extable_foreach(const struct extable *t, extable_visit_fn *fn, void *ctx);

/* Bytes requested from malloc for entries, blocks and bucket heads (for
 * the benchmark; malloc's own per-block overhead is not included). */
size_t extable_memory_bytes(const struct extable *t);

#endif
