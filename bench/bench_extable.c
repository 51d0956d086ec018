/*
 * bench_extable.c - memory and speed of the exception table, and activation
 * speed of the persistent store.
 *
 * 1. Exception table at 1M and 10M exceptions, random and sequential
 *    origin chunks: bytes per exception (the heap growth malloc reports,
 *    its per-block overhead included; baseline: Linux's layout of the same
 *    entries, 32 B per entry + 8 B per bucket head), inserts/s and
 *    lookups/s (baseline: a plain direct-indexed array new_of[old] looked
 *    up with the same chunk sequence in the same run). Also 10k and 100k
 *    for the scaling table.
 * 2. Activation: a COW image with 1M exceptions is built in memory, then
 *    the persistent store's read_metadata (header, every area, validation,
 *    and the snapshot-side table inserts) is timed against reading the
 *    same chunks (header and every area) from the same device.
 *
 * The COW device here stores only the header and the metadata areas
 * (data chunks read as zeros): read_metadata touches nothing else, and a
 * 16 GiB image is not needed to time it.
 *
 * Figures are the best of 3 runs (10M: 1 run).
 * Usage: bench_extable [max N (default 10000000)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <time.h>

#include "bench_common.h"

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
	double heap_bytes_per_ex;    /* malloc's in-use growth, overhead included */
	double linux_bytes_per_ex;   /* Linux's layout of the same entries */
	double bytes_per_ex;
	double entries_bytes_per_ex; /* without the fixed bucket-head array */
	double insert_per_s;
	double lookup_per_s;
	double array_lookup_per_s;
	uint64_t entries;
};

#define sink bench_sink

static void bench_table(const chunk_t *olds, const chunk_t *probe, uint64_t n,
			chunk_t space, struct table_result *res)
{
	struct extable t;
	chunk_t next = 2, got = 0, sum = 0;
	uint32_t *array;
	double t0, t1;
	size_t heads, heap0;

	if (extable_init(&t, n + n / 32) != 0) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	heads = extable_memory_bytes(&t);
	heap0 = mallinfo2().uordblks;
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
	res->heap_bytes_per_ex = (double)(mallinfo2().uordblks - heap0 + heads) / (double)n;
	res->linux_bytes_per_ex = (32.0 * (double)t.nr_entries +
				   8.0 * ((double)t.mask + 1)) / (double)n;
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
	/* Baseline: read the same chunks (header, every area) from the device. */
	copy = malloc((size_t)cs << SECTOR_SHIFT);
	if (!copy) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	memset(copy, 1, (size_t)cs << SECTOR_SHIFT);
	for (int rep = 0; rep < 3; rep++) {
		t0 = now_s();
		bdev_sync_rw(&mb.base, BIO_READ, 0, cs, copy);
		for (uint64_t a = 0; a < mb.nr_areas; a++) {
			bdev_sync_rw(&mb.base, BIO_READ, cow_area_loc(cs, a) * cs, cs, copy);
			sink += copy[a % 512];
		}
		t1 = now_s();
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

/* Best of reps runs of bench_table. */
static void bench_table_best(const chunk_t *olds, const chunk_t *probe, uint64_t n,
			     chunk_t space, int reps, struct table_result *best)
{
	for (int r = 0; r < reps; r++) {
		struct table_result t;

		bench_table(olds, probe, n, space, &t);
		if (r == 0) {
			*best = t;
			continue;
		}
		if (t.insert_per_s > best->insert_per_s)
			best->insert_per_s = t.insert_per_s;
		if (t.lookup_per_s > best->lookup_per_s)
			best->lookup_per_s = t.lookup_per_s;
		if (t.array_lookup_per_s > best->array_lookup_per_s)
			best->array_lookup_per_s = t.array_lookup_per_s;
	}
}

struct workload {
	chunk_t *rnd, *seq, *probe_rnd, *probe_seq;
	chunk_t space;
};

/* Random: n distinct chunks of 16n, probed shuffled; sequential: 0..n-1. */
static void workload_make(uint64_t n, struct workload *w)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint8_t *used;

	w->space = 16 * n;
	w->rnd = bench_alloc(n * sizeof(chunk_t));
	w->seq = bench_alloc(n * sizeof(chunk_t));
	w->probe_rnd = bench_alloc(n * sizeof(chunk_t));
	w->probe_seq = bench_alloc(n * sizeof(chunk_t));
	used = calloc(w->space / 8 + 1, 1);
	if (!used) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (uint64_t i = 0; i < n; i++) {
		chunk_t c;

		do
			c = xorshift(&x) % w->space;
		while (used[c / 8] & (1u << (c % 8)));
		used[c / 8] |= (uint8_t)(1u << (c % 8));
		w->rnd[i] = c;
		w->seq[i] = i;
	}
	free(used);
	memcpy(w->probe_rnd, w->rnd, n * sizeof(chunk_t));
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = xorshift(&x) % (i + 1);
		chunk_t tmp = w->probe_rnd[i];

		w->probe_rnd[i] = w->probe_rnd[j];
		w->probe_rnd[j] = tmp;
	}
	for (uint64_t i = 0; i < n; i++)
		w->probe_seq[i] = xorshift(&x) % n;
}

static void workload_free(struct workload *w)
{
	free(w->rnd);
	free(w->seq);
	free(w->probe_rnd);
	free(w->probe_seq);
}

static const char *count_name(uint64_t n, char *buf, size_t len)
{
	if (n >= 1000000 && n % 1000000 == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(n / 1000000));
	else if (n >= 1000 && n % 1000 == 0)
		snprintf(buf, len, "%lluk", (unsigned long long)(n / 1000));
	else
		snprintf(buf, len, "%llu", (unsigned long long)n);
	return buf;
}

static void table_rows(const char *section, const char *kind, uint64_t n,
		       const struct table_result *r, double target_bytes)
{
	char what[96], nb[32], tgt[32];

	count_name(n, nb, sizeof(nb));
	printf("%-10s %6s %10llu %9.3f %9.3f %9.2f %12.3g %12.3g %14.3g %7.3f\n", kind,
	       nb, (unsigned long long)r->entries, r->heap_bytes_per_ex, r->bytes_per_ex,
	       r->linux_bytes_per_ex, r->insert_per_s, r->lookup_per_s,
	       r->array_lookup_per_s, r->lookup_per_s / r->array_lookup_per_s);
	snprintf(what, sizeof(what), "%s, %s exceptions: memory", kind, nb);
	snprintf(tgt, sizeof(tgt), "<= %g B/exception", target_bytes);
	bench_row(section, what, r->heap_bytes_per_ex, "B/exception (heap)",
		  r->linux_bytes_per_ex, "Linux layout B/ex",
		  r->heap_bytes_per_ex / r->linux_bytes_per_ex,
		  target_bytes > 0 ? tgt : "",
		  target_bytes > 0 ? bench_verdict(r->heap_bytes_per_ex <= target_bytes) : "");
	snprintf(what, sizeof(what), "%s, %s exceptions: lookups", kind, nb);
	bench_row(section, what, r->lookup_per_s, "lookups/s", r->array_lookup_per_s,
		  "array lookup/s", r->lookup_per_s / r->array_lookup_per_s, "", "");
	snprintf(what, sizeof(what), "%s, %s exceptions: inserts", kind, nb);
	bench_row(section, what, r->insert_per_s, "inserts/s", r->array_lookup_per_s,
		  "array lookup/s", r->insert_per_s / r->array_lookup_per_s, "", "");
}

int main(int argc, char **argv)
{
	uint64_t max_n = argc > 1 ? strtoull(argv[1], NULL, 0) : 10000000;
	static const uint64_t sizes[] = { 10000, 100000, 1000000, 10000000 };
	struct act_result ar, as;
	struct workload w1m = { 0 };

	if (max_n < 10000) {
		fprintf(stderr, "usage: bench_extable [max N >= 10000]\n");
		return 1;
	}
	printf("exception table (heap: malloc in-use growth incl. its overhead; "
	       "payload: bytes requested; Linux: 32 B/entry + 8 B/bucket)\n");
	printf("%-10s %6s %10s %9s %9s %9s %12s %12s %14s %7s\n", "inserts", "n",
	       "entries", "heap B/ex", "payload", "Linux B/ex", "inserts/s", "lookups/s",
	       "array lookups/s", "ratio");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t n = sizes[k];
		struct workload w;
		struct table_result tr, ts;
		int reps = n >= 10000000 ? 1 : 3;
		bool main_size = n == 1000000 || n == 10000000;
		const char *section = main_size ? "exception table" : "scaling: exceptions";

		if (n > max_n)
			break;
		workload_make(n, &w);
		bench_table_best(w.rnd, w.probe_rnd, n, w.space, reps, &tr);
		bench_table_best(w.seq, w.probe_seq, n, n, reps, &ts);
		table_rows(section, "random", n, &tr, main_size ? 16 : 0);
		table_rows(section, "sequential", n, &ts, main_size ? 1 : 0);
		if (n == 1000000)
			{
				/* 1M also belongs to the scaling table. */
				char nb[8];

				(void)count_name(n, nb, sizeof(nb));
				bench_row("scaling: exceptions", "random, 1M exceptions: memory",
					  tr.heap_bytes_per_ex, "B/exception (heap)",
					  tr.linux_bytes_per_ex, "Linux layout B/ex",
					  tr.heap_bytes_per_ex / tr.linux_bytes_per_ex, "", "");
				bench_row("scaling: exceptions", "random, 1M exceptions: lookups",
					  tr.lookup_per_s, "lookups/s", tr.array_lookup_per_s,
					  "array lookup/s", tr.lookup_per_s / tr.array_lookup_per_s,
					  "", "");
			}
		if (n == 1000000)
			w1m = w;
		else
			workload_free(&w);
	}
	if (!w1m.seq)
		return 0;

	bench_activation(w1m.seq, 1000000, 32, &as);
	bench_activation(w1m.rnd, 1000000, 32, &ar);
	printf("\npersistent store activation, 1M exceptions, cs=32 (best of 3)\n");
	printf("%-12s %10s %10s %10s %12s %12s %8s\n", "origin", "meta MiB", "ms",
	       "MiB/s", "read ms", "read MiB/s", "ratio");
	printf("%-12s %10.1f %10.2f %10.1f %12.3f %12.1f %8.3f\n", "sequential",
	       as.meta_mib, as.seconds * 1e3, as.meta_mib / as.seconds,
	       as.memcpy_seconds * 1e3, as.meta_mib / as.memcpy_seconds,
	       as.memcpy_seconds / as.seconds);
	printf("%-12s %10.1f %10.2f %10.1f %12.3f %12.1f %8.3f\n", "random",
	       ar.meta_mib, ar.seconds * 1e3, ar.meta_mib / ar.seconds,
	       ar.memcpy_seconds * 1e3, ar.meta_mib / ar.memcpy_seconds,
	       ar.memcpy_seconds / ar.seconds);
	bench_row("activation", "1M exceptions, sequential origin chunks",
		  as.meta_mib * 1.048576 / as.seconds, "MB/s",
		  as.meta_mib * 1.048576 / as.memcpy_seconds, "read MB/s",
		  as.memcpy_seconds / as.seconds, ">= 0.8x read",
		  bench_verdict(as.memcpy_seconds / as.seconds >= 0.8));
	bench_row("activation", "1M exceptions, random origin chunks",
		  ar.meta_mib * 1.048576 / ar.seconds, "MB/s",
		  ar.meta_mib * 1.048576 / ar.memcpy_seconds, "read MB/s",
		  ar.memcpy_seconds / ar.seconds, ">= 0.8x read",
		  bench_verdict(ar.memcpy_seconds / ar.seconds >= 0.8));
	workload_free(&w1m);
	return 0;
}
