/* test_exstore_token.c - the store token and chunk size (spec 1.3 steps 6-7). */
#include <criterion/criterion.h>
#include <errno.h>

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
}

static void teardown(void)
{
	bdev_destroy(&md->base);
	fifo_executor_destroy(&fx);
}

TestSuite(token, .init = setup, .fini = teardown);

static void expect_token(const char *token, const char *printed, const char *type)
{
	struct ss_error err;
	struct exstore *s = NULL;

	ss_error_clear(&err);
	cr_assert_eq(exstore_create(token, 8, &md->base, 1, &fx.base, &s, &err), 0,
		     "token '%s': %s", token, err.msg);
	cr_expect_str_eq(exstore_table_token(s), printed, "token '%s'", token);
	cr_expect_str_eq(s->type->name, type);
	cr_expect_eq(s->chunk_sectors, 8);
	cr_expect_eq(s->chunk_shift, 3);
	exstore_destroy(s);
}

static void expect_error(const char *token, uint32_t cs, unsigned block_sectors,
			 const char *msg)
{
	struct ss_error err;
	struct exstore *s = NULL;

	ss_error_clear(&err);
	cr_expect_eq(exstore_create(token, cs, &md->base, block_sectors, &fx.base,
				    &s, &err), -EINVAL, "token '%s'", token ? token : "(null)");
	cr_expect_null(s);
	cr_expect_eq(err.code, -EINVAL);
	cr_expect_str_eq(err.msg, msg, "token '%s'", token ? token : "(null)");
}

Test(token, persistent_spellings)
{
	expect_token("p", "P", "persistent");
	expect_token("P", "P", "persistent");
	expect_token("po", "PO", "persistent");
	expect_token("PO", "PO", "persistent");
	expect_token("pO", "PO", "persistent");
	expect_token("Po", "PO", "persistent");
	expect_token("pox", "PO", "persistent");
}

Test(token, transient_spellings)
{
	expect_token("n", "N", "transient");
	expect_token("N", "N", "transient");
	expect_token("No", "N", "transient");
	expect_token("nonpersistent", "N", "transient");
	expect_token("Nx", "N", "transient");
}

Test(token, bad_tokens)
{
	expect_error("persistent", 8, 1, "Unsupported persistent store option");
	expect_error("px", 8, 1, "Unsupported persistent store option");
	expect_error("x", 8, 1, "Exception store type is not P or N");
	expect_error("", 8, 1, "Exception store type is not P or N");
	expect_error(NULL, 8, 1, "Exception store type is not P or N");
	expect_error("transient", 8, 1, "Exception store type is not P or N");
}

Test(token, store_type_checked_before_chunk_size)
{
	expect_error("x", 12, 1, "Exception store type is not P or N");
}

Test(token, chunk_size_checks)
{
	struct ss_error err;
	struct exstore *s = NULL;

	expect_error("P", 12, 1, "Chunk size is not a power of 2");
	expect_error("N", 4, 8, "Chunk size is not a multiple of device blocksize");
	expect_error("P", 4194304, 1, "Chunk size is too high");
	cr_assert_eq(exstore_create("P", 0, &md->base, 1, &fx.base, &s, &err), 0);
	cr_expect_eq(s->chunk_sectors, 0); /* header or default, at activation */
	exstore_destroy(s);
	cr_assert_eq(exstore_create("P", 2097152, &md->base, 1, &fx.base, &s, &err), 0);
	cr_expect_eq(s->chunk_shift, 21);
	exstore_destroy(s);
}
