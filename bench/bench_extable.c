/*
 * bench_extable.c - memory and speed of the exception table, and activation
 * speed of the persistent store.
 *
 * 1. Exception table with N exceptions (default 1M), random and sequential
 *    origin chunks: bytes per exception, inserts/s, lookups/s; compared
 *    with a plain direct-indexed array (new_of[old]) looked up with the same
 *    chunk sequence in the same run.
 * 2. Activation: a COW image with N exceptions is built in memory, then the
 *    persistent store's read_metadata (header, every area, validation, and
 *    the snapshot-side table inserts) is timed against a bare memcpy of the
 *    same metadata bytes.
 *
 * The COW device here stores only the header and the metadata areas
 * (data chunks read as zeros): read_metadata touches nothing else, and a
 * 16 GiB image is not needed to time it.
 *
 * Usage: bench_extable [N]   (prints a table, then one JSON line)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cow_format.h"
#include "exception_table.h"
#include "exstore.h"
#include "fifo_executor.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ------------------------------------------------------------------ */
/* A metadata-only COW device                                           */

struct meta_bdev {
	struct bdev base;
	uint32_t cs;
	uint64_t nr_areas;
	uint8_t *meta; /* chunk 0, then area 0, 1, ... (chunk bytes each) */
};

/* Slot in meta[] of chunk c, or -1 for a data chunk. */
static int64_t meta_slot(const struct meta_bdev *mb, chunk_t c)
{
	uint64_t stride = cow_epa(mb->cs) + 1;

	if (c == 0)
		return 0;
	if (c % stride != 1 || (c - 1) / stride >= mb->nr_areas)
		return -1;
	return (int64_t)((c - 1) / stride) + 1;
}

static int meta_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			uint32_t nr_sectors, uint8_t *data)
{
	struct meta_bdev *mb = (struct meta_bdev *)bd;
	size_t cb = (size_t)mb->cs << SECTOR_SHIFT;
	int64_t slot;

	if (nr_sectors != mb->cs || sector % mb->cs)
		return -EIO;
	slot = meta_slot(mb, sector / mb->cs);
	if (op == BIO_READ) {
		if (slot < 0)
			memset(data, 0, cb);
		else
			memcpy(data, mb->meta + (size_t)slot * cb, cb);
	} else if (slot >= 0) {
		memcpy(mb->meta + (size_t)slot * cb, data, cb);
	}
	return 0;
}

static void meta_submit(struct bdev *bd, struct bio *bio)
{
	(void)bd;
	bio_endio(bio, -EIO); /* not used: activation is synchronous */
}

static const struct bdev_ops meta_ops = {
	.submit = meta_submit,
	.sync_rw = meta_sync_rw,
};

/* Build a healthy store image: record i = (olds[i], i-th data chunk). */
static void meta_build(struct meta_bdev *mb, uint32_t cs, const chunk_t *olds,
		       uint64_t n)
{
	uint64_t epa = cow_epa(cs);
	size_t cb = (size_t)cs << SECTOR_SHIFT;
	chunk_t next = 2;

	mb->base.ops = &meta_ops;
	mb->base.logical_block_bytes = 512;
	mb->cs = cs;
	mb->nr_areas = n / epa + 1;
	mb->meta = calloc(mb->nr_areas + 1, cb);
	if (!mb->meta) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	cow_header_chunk_build(mb->meta, cb, 1, cs);
	for (uint64_t i = 0; i < n; i++) {
		struct cow_record r = { olds[i], next };

		cow_area_put(mb->meta + (size_t)(i / epa + 1) * cb, i % epa, &r);
		next = cow_next_data_chunk(cs, next);
	}
	/* Room for every data chunk plus the terminating area. */
	mb->base.size_sectors = (cow_area_loc(cs, mb->nr_areas - 1) + epa + 1) * cs;
}

/* ------------------------------------------------------------------ */
/* Exception table                                                      */

struct table_result {
	double bytes_per_ex;
	double entries_bytes_per_ex; /* without the fixed bucket-head array */
	double insert_per_s;
	double lookup_per_s;
	double array_lookup_per_s;
	uint64_t entries;
};

static volatile uint64_t sink;

static void bench_table(const chunk_t *olds, const chunk_t *probe, uint64_t n,
			chunk_t space, struct table_result *res)
{
	struct extable t;
	chunk_t next = 2, got = 0, sum = 0;
	uint32_t *array;
	double t0, t1;
	size_t heads;

	if (extable_init(&t, n + n / 32) != 0) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	heads = ((size_t)t.mask + 1) * sizeof(void *);
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		if (extable_insert(&t, olds[i], next) != 0) {
			fprintf(stderr, "insert failed\n");
			exit(1);
		}
		next = cow_next_data_chunk(32, next);
	}
	t1 = now_s();
	res->insert_per_s = (double)n / (t1 - t0);
	res->bytes_per_ex = (double)extable_memory_bytes(&t) / (double)n;
	res->entries_bytes_per_ex = (double)(extable_memory_bytes(&t) - heads) / (double)n;
	res->entries = t.nr_entries;

	t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		if (!extable_lookup(&t, probe[i], &got)) {
			fprintf(stderr, "lookup failed\n");
			exit(1);
		}
		sum += got;
	}
	t1 = now_s();
	res->lookup_per_s = (double)n / (t1 - t0);

	/* Baseline: direct-indexed array over the whole origin chunk space. */
	array = calloc(space, sizeof(*array));
	if (!array) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	next = 2;
	for (uint64_t i = 0; i < n; i++) {
		array[olds[i]] = (uint32_t)next;
		next = cow_next_data_chunk(32, next);
	}
	t0 = now_s();
	for (uint64_t i = 0; i < n; i++)
		sum -= array[probe[i]];
	t1 = now_s();
	res->array_lookup_per_s = (double)n / (t1 - t0);
	sink = sum; /* equal sequences: sum is 0 */
	free(array);
	extable_destroy(&t);
}

/* ------------------------------------------------------------------ */
/* Activation                                                           */

static int add_to_table(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	return extable_insert(ctx, old_chunk, new_chunk);
}

struct act_result {
	double seconds;
	double memcpy_seconds;
	double meta_mib;
};

static void bench_activation(const chunk_t *olds, uint64_t n, uint32_t cs,
			     struct act_result *res)
{
	struct fifo_executor fx;
	struct meta_bdev mb = { 0 };
	struct exstore *s = NULL;
	struct ss_error err;
	struct extable t;
	size_t bytes;
	uint8_t *copy;
	double t0, t1, best = 1e9, best_copy = 1e9;

	fifo_executor_init(&fx);
	meta_build(&mb, cs, olds, n);
	bytes = (mb.nr_areas + 1) * ((size_t)cs << SECTOR_SHIFT);
	res->meta_mib = (double)bytes / (1024.0 * 1024.0);
	for (int rep = 0; rep < 3; rep++) {
		ss_error_clear(&err);
		if (exstore_create("P", 0, &mb.base, 1, &fx.base, &s, &err) ||
		    extable_init(&t, mb.base.size_sectors / cs)) {
			fprintf(stderr, "setup failed: %s\n", err.msg);
			exit(1);
		}
		t0 = now_s();
		if (s->type->read_metadata(s, add_to_table, &t, &err) != 0) {
			fprintf(stderr, "read_metadata failed: %s\n", err.msg);
			exit(1);
		}
		t1 = now_s();
		if (t.nr_chunks != n) {
			fprintf(stderr, "activation read %llu of %llu exceptions\n",
				(unsigned long long)t.nr_chunks, (unsigned long long)n);
			exit(1);
		}
		if (t1 - t0 < best)
			best = t1 - t0;
		exstore_destroy(s);
		extable_destroy(&t);
	}
	copy = malloc(bytes);
	if (!copy) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	memset(copy, 1, bytes); /* fault the pages in before timing */
	for (int rep = 0; rep < 3; rep++) {
		t0 = now_s();
		memcpy(copy, mb.meta, bytes);
		t1 = now_s();
		sink = copy[bytes / 2];
		if (t1 - t0 < best_copy)
			best_copy = t1 - t0;
	}
	res->seconds = best;
	res->memcpy_seconds = best_copy;
	free(copy);
	free(mb.meta);
	fifo_executor_destroy(&fx);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
	chunk_t space = 16 * n; /* origin chunks: random inserts hit 1 in 16 */
	chunk_t *rnd = malloc(n * sizeof(*rnd)), *seq = malloc(n * sizeof(*seq));
	chunk_t *probe = malloc(n * sizeof(*probe));
	uint8_t *used = calloc(space, 1);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct table_result tr, ts;
	struct act_result ar, as;

	if (!rnd || !seq || !probe || !used || n < 2) {
		fprintf(stderr, "usage: bench_extable [N >= 2]\n");
		return 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		chunk_t c;

		do
			c = xorshift(&x) % space;
		while (used[c]);
		used[c] = 1;
		rnd[i] = c;
		seq[i] = i;
	}
	free(used);

	/* Random: probe in a shuffled order. */
	memcpy(probe, rnd, n * sizeof(*probe));
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = xorshift(&x) % (i + 1);
		chunk_t tmp = probe[i];

		probe[i] = probe[j];
		probe[j] = tmp;
	}
	bench_table(rnd, probe, n, space, &tr);
	/* Sequential: probe in the same shuffled positions. */
	for (uint64_t i = 0; i < n; i++)
		probe[i] = xorshift(&x) % n;
	bench_table(seq, probe, n, n, &ts);

	bench_activation(seq, n, 32, &as);
	bench_activation(rnd, n, 32, &ar);

	printf("exception table, %llu exceptions (Linux: 32 B/entry + 8 B/bucket head)\n",
	       (unsigned long long)n);
	printf("%-12s %10s %12s %10s %12s %12s %14s %7s\n", "inserts", "entries",
	       "bytes/ex", "(no heads)", "inserts/s", "lookups/s", "array lookups/s",
	       "ratio");
	printf("%-12s %10llu %12.3f %10.3f %12.3g %12.3g %14.3g %7.2f\n", "random",
	       (unsigned long long)tr.entries, tr.bytes_per_ex, tr.entries_bytes_per_ex,
	       tr.insert_per_s, tr.lookup_per_s, tr.array_lookup_per_s,
	       tr.array_lookup_per_s / tr.lookup_per_s);
	printf("%-12s %10llu %12.3f %10.3f %12.3g %12.3g %14.3g %7.2f\n", "sequential",
	       (unsigned long long)ts.entries, ts.bytes_per_ex, ts.entries_bytes_per_ex,
	       ts.insert_per_s, ts.lookup_per_s, ts.array_lookup_per_s,
	       ts.array_lookup_per_s / ts.lookup_per_s);
	printf("\npersistent store activation, %llu exceptions, cs=32 (best of 3)\n",
	       (unsigned long long)n);
	printf("%-12s %10s %10s %10s %12s %12s %8s\n", "origin", "meta MiB", "ms",
	       "MiB/s", "memcpy ms", "memcpy MiB/s", "ratio");
	printf("%-12s %10.1f %10.2f %10.1f %12.3f %12.1f %8.1f\n", "sequential",
	       as.meta_mib, as.seconds * 1e3, as.meta_mib / as.seconds,
	       as.memcpy_seconds * 1e3, as.meta_mib / as.memcpy_seconds,
	       as.seconds / as.memcpy_seconds);
	printf("%-12s %10.1f %10.2f %10.1f %12.3f %12.1f %8.1f\n", "random",
	       ar.meta_mib, ar.seconds * 1e3, ar.meta_mib / ar.seconds,
	       ar.memcpy_seconds * 1e3, ar.meta_mib / ar.memcpy_seconds,
	       ar.seconds / ar.memcpy_seconds);
	printf("{\"bench\":\"extable\",\"n\":%llu,"
	       "\"random\":{\"bytes_per_ex\":%.3f,\"bytes_per_ex_no_heads\":%.3f,"
	       "\"inserts_per_s\":%.0f,\"lookups_per_s\":%.0f,\"array_lookups_per_s\":%.0f},"
	       "\"sequential\":{\"bytes_per_ex\":%.3f,\"bytes_per_ex_no_heads\":%.3f,"
	       "\"inserts_per_s\":%.0f,\"lookups_per_s\":%.0f,\"array_lookups_per_s\":%.0f},"
	       "\"activation_seq\":{\"meta_mib\":%.2f,\"ms\":%.3f,\"mib_per_s\":%.1f,"
	       "\"memcpy_ms\":%.3f,\"ratio\":%.2f},"
	       "\"activation_rnd\":{\"meta_mib\":%.2f,\"ms\":%.3f,\"mib_per_s\":%.1f,"
	       "\"memcpy_ms\":%.3f,\"ratio\":%.2f}}\n",
	       (unsigned long long)n, tr.bytes_per_ex, tr.entries_bytes_per_ex,
	       tr.insert_per_s, tr.lookup_per_s, tr.array_lookup_per_s,
	       ts.bytes_per_ex, ts.entries_bytes_per_ex, ts.insert_per_s,
	       ts.lookup_per_s, ts.array_lookup_per_s, as.meta_mib, as.seconds * 1e3,
	       as.meta_mib / as.seconds, as.memcpy_seconds * 1e3,
	       as.seconds / as.memcpy_seconds, ar.meta_mib, ar.seconds * 1e3,
	       ar.meta_mib / ar.seconds, ar.memcpy_seconds * 1e3,
	       ar.seconds / ar.memcpy_seconds);
	free(rnd);
	free(seq);
	free(probe);
	return 0;
}
