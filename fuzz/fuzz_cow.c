/*
 * fuzz_cow.c - harness for activating a persistent exception store from
 * arbitrary COW bytes.
 *
 * Input: byte 0 picks the table's chunk size (0, or 1 << (b % 5) sectors),
 * the rest is the COW device's content (padded to whole sectors).
 * Properties (abort when one fails):
 *  1. The store never reads or writes outside the COW device (a fault hook
 *     on the device checks every request, including control-path I/O).
 *  2. Activation either rejects the image with an error and a message, or
 *     yields exceptions whose every new chunk is a data chunk inside the
 *     device (not the header, not a metadata area) and unique, and whose
 *     old chunks are unique.
 *  3. Activation refuses the image exactly when the validator, run on the
 *     same bytes from memory the way the offline tools run it, has a fatal
 *     finding (differential: the store's reads through its COW device and
 *     its verdict against the shared judge; a store that is not new).
 *  4. No leak, no undefined behaviour (sanitizer build).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cow_format.h"
#include "cow_validate.h"
#include "exstore.h"
#include "fifo_executor.h"
#include "fuzz.h"
#include "mem_bdev.h"

#define MAX_COW_BYTES (1u << 20)

struct seen {
	chunk_t *old_chunks, *new_chunks;
	size_t n, cap;
	uint32_t chunk_sectors;
	sector_t dev_sectors;
	const struct exstore *store;
};

static int in_range_fault(void *ctx, const struct bio *bio)
{
	const struct bdev *bd = ctx;

	if (bio->op != BIO_FLUSH &&
	    (bio->sector > bd->size_sectors || bio->nr_sectors > bd->size_sectors - bio->sector))
		fuzz_fail("store I/O outside the COW device");
	return 0;
}

static int record(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	struct seen *s = ctx;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		chunk_t *o = realloc(s->old_chunks, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		s->old_chunks = o;
		chunk_t *nw = realloc(s->new_chunks, cap * sizeof(*nw));
		if (!nw)
			return -ENOMEM;
		s->new_chunks = nw;
		s->cap = cap;
	}
	s->old_chunks[s->n] = old_chunk;
	s->new_chunks[s->n] = new_chunk;
	s->n++;
	return 0;
}

static int cmp_chunk(const void *a, const void *b)
{
	chunk_t x = *(const chunk_t *)a, y = *(const chunk_t *)b;

	return x < y ? -1 : x > y;
}

static void check_unique(chunk_t *v, size_t n, const char *what)
{
	if (n < 2)
		return;
	qsort(v, n, sizeof(*v), cmp_chunk);
	for (size_t i = 1; i < n; i++)
		if (v[i] == v[i - 1])
			fuzz_fail(what);
}

static int mem_read(void *ctx, uint64_t sector, uint32_t nr_sectors, uint8_t *buf)
{
	const struct mem_bdev *cow = ctx;

	if (sector + nr_sectors > cow->base.size_sectors)
		fuzz_fail("the validator read beyond the COW");
	memcpy(buf, cow->data + sector * SECTOR_SIZE, (size_t)nr_sectors * SECTOR_SIZE);
	return 0;
}

/* 1: the validator finds the bytes fatal, 0: not, -1: a new store or no memory. */
static int offline_verdict(const struct mem_bdev *cow)
{
	struct cow_validate_opts o = { .dev_sectors = cow->base.size_sectors, .block_sectors = 1 };
	struct cow_validation v;
	int verdict = -1;

	if (cow_validate(&v, &o, mem_read, (void *)cow, NULL) == 0 && v.state != COW_STORE_NEW)
		verdict = v.nr_fatal != 0;
	cow_validation_free(&v);
	return verdict;
}

int snapsim_fuzz_one(const uint8_t *data, size_t size)
{
	struct fifo_executor fx;
	struct mem_bdev *cow;
	struct exstore *store = NULL;
	struct ss_error err;
	struct seen seen = { 0 };
	uint32_t table_cs;

	if (size < 1 || size > MAX_COW_BYTES)
		return 0;
	table_cs = data[0] % 6 == 5 ? 0 : 1u << (data[0] % 6);
	data++;
	size--;

	fifo_executor_init(&fx);
	cow = mem_bdev_create("cow", (size + SECTOR_SIZE - 1) / SECTOR_SIZE, &fx.base);
	if (!cow)
		goto out;
	memcpy(cow->data, data, size);
	cow->fault = in_range_fault;
	cow->fault_ctx = mem_bdev_bdev(cow);

	ss_error_clear(&err);
	if (exstore_create("P", table_cs, mem_bdev_bdev(cow), 1, &fx.base, &store, &err)) {
		if (!err.msg[0])
			fuzz_fail("store creation failed without a message");
		goto out_cow;
	}
	ss_error_clear(&err);
	int rc = store->type->read_metadata(store, record, &seen, &err);
	fifo_executor_run(&fx, 0);
	{
		int offline = offline_verdict(cow);
		if (offline == 1 && rc >= 0)
			fuzz_fail("the validator finds a fatal problem in a store that activation accepts");
		if (offline == 0 && rc < 0)
			fuzz_fail("activation rejects a store that the validator finds without fault");
	}
	if (rc < 0) {
		if (!err.msg[0])
			fuzz_fail("activation failed without a message");
		goto out_store;
	}
	seen.chunk_sectors = store->chunk_sectors;
	if (seen.chunk_sectors == 0)
		fuzz_fail("activation succeeded without a chunk size");
	seen.dev_sectors = mem_bdev_bdev(cow)->size_sectors;
	for (size_t i = 0; i < seen.n; i++) {
		chunk_t nc = seen.new_chunks[i];
		if (nc < 2 || cow_is_area_chunk(seen.chunk_sectors, nc))
			fuzz_fail("accepted record points at the header or a metadata area");
		if (nc >= seen.dev_sectors / seen.chunk_sectors)
			fuzz_fail("accepted record points beyond the COW device");
	}
	check_unique(seen.new_chunks, seen.n, "accepted duplicate COW chunk");
	check_unique(seen.old_chunks, seen.n, "accepted duplicate origin chunk");
out_store:
	exstore_destroy(store);
	fifo_executor_run(&fx, 0);
out_cow:
	bdev_destroy(mem_bdev_bdev(cow));
out:
	free(seen.old_chunks);
	free(seen.new_chunks);
	fifo_executor_destroy(&fx);
	return 0;
}
