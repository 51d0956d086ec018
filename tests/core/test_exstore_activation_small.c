/*
 * test_exstore_activation_small.c - activation of a COW device smaller than
 * one default chunk with the table's chunk size 0 (take the header's).
 * Regression for a disagreement found by fuzz_cow: the store read chunk 0
 * with the default 32-sector chunk size and failed on a 6-sector device
 * that `cow check` (rightly) finds clean.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cow_format.h"
#include "exstore.h"
#include "fifo_executor.h"
#include "mem_bdev.h"

struct pairs {
	chunk_t old_chunk[8], new_chunk[8];
	unsigned n;
};

static int add(void *ctx, chunk_t o, chunk_t n)
{
	struct pairs *p = ctx;

	cr_assert_lt(p->n, 8u);
	p->old_chunk[p->n] = o;
	p->new_chunk[p->n] = n;
	p->n++;
	return 0;
}

Test(exstore_activation_small, header_chunk_size_on_tiny_cow)
{
	struct fifo_executor fx;
	struct mem_bdev *cow;
	struct exstore *s = NULL;
	struct ss_error err;
	struct pairs got = { .n = 0 };
	struct cow_header h = { COW_MAGIC, 1, COW_VERSION, 1 };
	struct cow_record r[3] = { { 0, 2 }, { 5, 3 }, { 6, 4 } };

	fifo_executor_init(&fx);
	cow = mem_bdev_create("cow", 6, &fx.base); /* 6 one-sector chunks */
	cr_assert_not_null(cow);
	cow_header_encode(&h, cow->data);
	for (unsigned i = 0; i < 3; i++)
		cow_record_encode(&r[i], cow->data + SECTOR_SIZE + 16 * i);

	ss_error_clear(&err);
	cr_assert_eq(exstore_create("P", 0, mem_bdev_bdev(cow), 1, &fx.base, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s->type->read_metadata(s, add, &got, &err), 0, "%s", err.msg);
	cr_expect_eq(s->chunk_sectors, 1u);
	cr_assert_eq(got.n, 3u);
	/* Bucket order may differ from disk order: compare as sets. */
	for (unsigned i = 0; i < 3; i++) {
		bool found = false;
		for (unsigned j = 0; j < 3; j++)
			found |= got.old_chunk[j] == r[i].old_chunk && got.new_chunk[j] == r[i].new_chunk;
		cr_expect(found, "record %u (%llu -> %llu) not read back", i,
			  (unsigned long long)r[i].old_chunk, (unsigned long long)r[i].new_chunk);
	}
	exstore_destroy(s);
	fifo_executor_run(&fx, 0);
	bdev_destroy(mem_bdev_bdev(cow));
	fifo_executor_destroy(&fx);
}

Test(exstore_activation_small, tiny_new_cow_is_refused_with_a_reason)
{
	struct fifo_executor fx;
	struct mem_bdev *cow;
	struct exstore *s = NULL;
	struct ss_error err;
	struct pairs got = { .n = 0 };

	fifo_executor_init(&fx);
	cow = mem_bdev_create("cow", 6, &fx.base); /* zeroed: a new store */
	ss_error_clear(&err);
	cr_assert_eq(exstore_create("P", 0, mem_bdev_bdev(cow), 1, &fx.base, &s, &err), 0, "%s", err.msg);
	cr_expect_lt(s->type->read_metadata(s, add, &got, &err), 0);
	cr_expect_neq(err.msg[0], '\0');
	cr_expect_eq(got.n, 0u);
	exstore_destroy(s);
	fifo_executor_run(&fx, 0);
	bdev_destroy(mem_bdev_bdev(cow));
	fifo_executor_destroy(&fx);
}
