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
 *  3. `cow check` agrees with activation on a non-empty, valid-flagged
 *     store: it reports errors exactly when activation rejects the image
 *     (differential: the offline checker and the store are two readers of
 *     one format, written independently).
 *  4. No leak, no undefined behaviour (sanitizer build).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cow_check.h"
#include "cow_format.h"
#include "cow_scan.h"
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

/*
 * Run the offline checker on the same bytes. Returns 1 when it found
 * errors, 0 when clean, -1 when it could not run or the case is out of
 * scope (empty or invalidated store).
 */
static int offline_check(const struct mem_bdev *cow)
{
	struct cow_scan scan;
	struct cow_check_opts opts = { 0 };
	struct cow_check_report rep;
	struct ss_error err;
	char path[64];
	int verdict = -1;
	int fd = memfd_create("fuzz-cow", 0);

	if (fd < 0)
		return -1;
	/* The same bytes the store saw: the input padded to whole sectors. */
	size_t size = (size_t)cow->base.size_sectors * SECTOR_SIZE;
	if (write(fd, cow->data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ss_error_clear(&err);
	if (cow_scan_open(&scan, path, false, &err) == 0) {
		memset(&rep, 0, sizeof(rep));
		ss_error_clear(&err);
		if (cow_check_run(&scan, &opts, &rep, &err) == 0) {
			if (!rep.empty && !rep.invalid)
				verdict = rep.nr_errors ? 1 : 0;
			cow_check_report_free(&rep);
		}
		cow_scan_close(&scan);
	}
	close(fd);
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
	if (rc != EXSTORE_MARKED_INVALID) {
		int offline = offline_check(cow);
		if (offline == 1 && rc == 0)
			fuzz_fail("cow check finds errors in a store that activation accepts");
		if (offline == 0 && rc < 0)
			fuzz_fail("activation rejects a store that cow check finds clean");
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
