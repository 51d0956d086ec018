/* test_exstore_transient.c - the transient exception store (spec 3). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "exstore.h"
#include "fifo_executor.h"
#include "mem_bdev.h"

static struct fifo_executor fx;
static struct mem_bdev *md;

static void setup(void)
{
	fifo_executor_init(&fx);
	md = mem_bdev_create("cow", 64, &fx.base);
	cr_assert_not_null(md);
	memset(md->data, 0xEE, 64 * 512);
}

static void teardown(void)
{
	fifo_executor_run(&fx, 0);
	bdev_destroy(&md->base);
	fifo_executor_destroy(&fx);
}

TestSuite(tstore, .init = setup, .fini = teardown);

static struct exstore *open_store(const char *token, uint32_t cs)
{
	struct ss_error err;
	struct exstore *s = NULL;

	ss_error_clear(&err);
	cr_assert_eq(exstore_create(token, cs, &md->base, 1, &fx.base, &s, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(s->type->read_metadata(s, NULL, NULL, &err), 0);
	return s;
}

struct acks {
	int n, ok;
	bool seen[16];
	int order[16];
};

struct slot {
	struct acks *k;
	int id;
	bool want;
};

static void ack(void *ctx, bool success)
{
	struct slot *sl = ctx;

	cr_expect_eq(success, sl->want);
	sl->k->order[sl->k->n++] = sl->id;
	sl->k->ok += success;
}

Test(tstore, fresh_usage_and_no_io)
{
	struct exstore *s = open_store("N", 8);
	sector_t total, alloc, meta;

	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(total, 64);
	cr_expect_eq(alloc, 0);
	cr_expect_eq(meta, 0);
	cr_expect_eq(md->reads + md->writes, 0);
	cr_expect_str_eq(exstore_table_token(s), "N");
	cr_expect_null(s->type->prepare_merge);
	cr_expect_null(s->type->commit_merge);
	exstore_destroy(s);
}

Test(tstore, allocates_from_chunk_zero_until_full)
{
	struct exstore *s = open_store("n", 16);
	sector_t total, alloc, meta;
	chunk_t n;

	for (chunk_t i = 0; i < 4; i++) {
		cr_assert_eq(s->type->prepare_exception(s, 100 + i, &n), 0);
		cr_expect_eq(n, i);
	}
	cr_expect_eq(s->type->prepare_exception(s, 200, &n), -ENOSPC);
	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(alloc, 64);
	cr_expect_eq(meta, 0);
	cr_assert_eq(mem_bdev_resize(md, 80), 0); /* live size */
	cr_expect_eq(s->type->prepare_exception(s, 200, &n), 0);
	cr_expect_eq(n, 4);
	exstore_destroy(s);
}

Test(tstore, commit_completes_later_in_order_with_copy_status)
{
	struct exstore *s = open_store("N", 8);
	struct acks k = { 0 };
	struct slot sl[3];
	chunk_t n;

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(s->type->prepare_exception(s, (chunk_t)i, &n), 0);
		sl[i] = (struct slot){ &k, i, i != 1 };
		s->type->commit_exception(s, (chunk_t)i, n, i != 1, ack, &sl[i]);
	}
	cr_expect_eq(k.n, 0);
	cr_expect(s->type->busy(s));
	fifo_executor_run(&fx, 0);
	cr_expect_not(s->type->busy(s));
	cr_expect_eq(k.n, 3);
	cr_expect_eq(k.ok, 2);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(k.order[i], i);
	cr_expect_eq(md->reads + md->writes, 0);
	exstore_destroy(s);
}

Test(tstore, reactivation_starts_empty_and_destroy_in_flight_is_safe)
{
	struct exstore *s = open_store("Nonpersistent", 8);
	struct acks k = { 0 };
	struct slot sl = { &k, 0, true };
	sector_t total, alloc, meta;
	struct ss_error err;
	chunk_t n;

	cr_assert_eq(s->type->prepare_exception(s, 5, &n), 0);
	cr_assert_eq(s->type->read_metadata(s, NULL, NULL, &err), 0);
	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(alloc, 0);
	s->type->commit_exception(s, 5, n, true, ack, &sl);
	exstore_destroy(s);
	fifo_executor_run(&fx, 0);
	cr_expect_eq(k.n, 0);
}
