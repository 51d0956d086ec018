/*
 * test_exstore_persistent.c - the persistent exception store (spec 2):
 * creation, activation and corruption checks, byte-exact images, commit
 * batching and write ordering, usage, ENOSPC, invalidation, I/O errors,
 * merge hooks.
 *
 * The store's COW is a recording wrapper over a mem_bdev: it logs every
 * request (op, flags, sector, how many requests were in flight when it was
 * submitted), so the tests can check flags and ordering.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cow_format.h"
#include "exception_table.h"
#include "exstore.h"
#include "fifo_executor.h"
#include "mem_bdev.h"

/* ---------------------------------------------------------------- */
/* A recording bdev wrapper                                           */

struct io_rec {
	enum bio_op op;
	unsigned flags;
	sector_t sector;
	uint32_t nr_sectors;
	bool sync;
	unsigned in_flight_before;
	int status;
};

struct rec_bdev {
	struct bdev base;
	struct bdev *lower;
	struct io_rec log[4096];
	size_t n;
	unsigned in_flight;
};

struct rec_hold {
	struct rec_bdev *rb;
	bio_done_fn *done;
	void *private;
	size_t idx;
};

static void rec_done(struct bio *bio, int status)
{
	struct rec_hold *h = bio->private;

	bio->bdev = &h->rb->base;
	bio->done = h->done;
	bio->private = h->private;
	h->rb->in_flight--;
	h->rb->log[h->idx].status = status;
	free(h);
	bio_endio(bio, status);
}

static void rec_submit(struct bdev *bd, struct bio *bio)
{
	struct rec_bdev *rb = (struct rec_bdev *)bd;
	struct rec_hold *h = malloc(sizeof(*h));

	cr_assert(h && rb->n < 4096);
	rb->log[rb->n] = (struct io_rec){ bio->op, bio->flags, bio->sector,
					  bio->nr_sectors, false, rb->in_flight, 1 };
	*h = (struct rec_hold){ rb, bio->done, bio->private, rb->n++ };
	rb->in_flight++;
	bio->bdev = rb->lower;
	bio->done = rec_done;
	bio->private = h;
	bdev_submit(bio);
}

static int rec_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
		       uint32_t nr_sectors, uint8_t *data)
{
	struct rec_bdev *rb = (struct rec_bdev *)bd;
	int r = bdev_sync_rw(rb->lower, op, sector, nr_sectors, data);

	cr_assert(rb->n < 4096);
	rb->log[rb->n++] = (struct io_rec){ op, 0, sector, nr_sectors, true,
					    rb->in_flight, r };
	return r;
}

static const struct bdev_ops rec_ops = {
	.submit = rec_submit,
	.sync_rw = rec_sync_rw,
};

/* ---------------------------------------------------------------- */
/* Test environment                                                   */

struct fault_rule {
	bool on;
	enum bio_op op;
	unsigned flags_all;   /* all of these flags set */
	sector_t sector;      /* or any sector when ~0 */
	int status;
};

static struct fifo_executor fx;
static struct mem_bdev *md;
static struct rec_bdev rb;
static struct fault_rule fault;

static int fault_hook(void *ctx, const struct bio *bio)
{
	struct fault_rule *f = ctx;

	if (!f->on || bio->op != f->op || (bio->flags & f->flags_all) != f->flags_all)
		return 0;
	if (f->sector != ~(sector_t)0 && f->sector != bio->sector)
		return 0;
	return f->status;
}

static void env_init(sector_t cow_sectors)
{
	fifo_executor_init(&fx);
	md = mem_bdev_create("cow", cow_sectors, &fx.base);
	cr_assert_not_null(md);
	md->fault = fault_hook;
	md->fault_ctx = &fault;
	memset(&fault, 0, sizeof(fault));
	memset(&rb, 0, sizeof(rb));
	rb.base.ops = &rec_ops;
	rb.base.size_sectors = cow_sectors;
	rb.base.logical_block_bytes = 512;
	strcpy(rb.base.name, "rec-cow");
	rb.lower = &md->base;
}

static void env_resize(sector_t sectors)
{
	cr_assert_eq(mem_bdev_resize(md, sectors), 0);
	rb.base.size_sectors = sectors;
}

static void env_fini(void)
{
	fifo_executor_run(&fx, 0);
	bdev_destroy(&md->base);
	fifo_executor_destroy(&fx);
}

static uint8_t *cow_bytes(chunk_t chunk, uint32_t cs)
{
	return md->data + (chunk * cs << SECTOR_SHIFT);
}

struct added {
	struct extable t;
	size_t calls;
};

static int add_cb(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	struct added *a = ctx;

	a->calls++;
	return extable_insert(&a->t, old_chunk, new_chunk);
}

static struct exstore *open_store(const char *token, uint32_t cs, int want,
				  struct added *a, struct ss_error *err)
{
	struct exstore *s = NULL;
	int r;

	ss_error_clear(err);
	cr_assert_eq(exstore_create(token, cs, &rb.base, 1, &fx.base, &s, err), 0,
		     "%s", err->msg);
	cr_assert_eq(extable_init(&a->t, 64), 0);
	a->calls = 0;
	r = s->type->read_metadata(s, add_cb, a, err);
	cr_assert_eq(r, want, "read_metadata: %d (%s)", r, err->msg);
	return s;
}

struct acks {
	int n;
	int ok;
	int order[256];
};

/* Each commit gets its own slot so the callback order can be checked. */
struct ack_slot {
	struct acks *k;
	int id;
};

static void ack_slot_cb(void *ctx, bool success)
{
	struct ack_slot *sl = ctx;

	sl->k->order[sl->k->n++] = sl->id;
	if (success)
		sl->k->ok++;
}

static struct ack_slot slots[256];

static chunk_t prep(struct exstore *s, chunk_t old_chunk)
{
	chunk_t n = 0;
	int r = s->type->prepare_exception(s, old_chunk, &n);

	cr_assert_eq(r, 0, "prepare: %d", r);
	return n;
}

static void commit(struct exstore *s, chunk_t o, chunk_t n, bool ok,
		   struct acks *k, int id)
{
	slots[id] = (struct ack_slot){ k, id };
	s->type->commit_exception(s, o, n, ok, ack_slot_cb, &slots[id]);
}

static size_t count_area_writes(void)
{
	size_t c = 0;

	for (size_t i = 0; i < rb.n; i++)
		if (!rb.log[i].sync && rb.log[i].op == BIO_WRITE &&
		    (rb.log[i].flags & BIO_PREFLUSH) && rb.log[i].sector != 0)
			c++; /* (sector 0: a new store's header) */
	return c;
}

static void put_header(uint32_t magic, uint32_t valid, uint32_t version,
		       uint32_t cs)
{
	struct cow_header h = { magic, valid, version, cs };

	cow_header_encode(&h, md->data);
}

static void put_rec(uint32_t cs, uint64_t area, uint64_t slot, chunk_t o,
		    chunk_t n)
{
	struct cow_record r = { o, n };

	cow_area_put(cow_bytes(cow_area_loc(cs, area), cs), slot, &r);
}

TestSuite(pstore, .fini = env_fini);

/* ---------------------------------------------------------------- */
/* Creation and activation                                            */

Test(pstore, new_store_writes_exactly_header_and_zeroed_area0)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;
	static const uint8_t hdr[16] = { 0x53, 0x6E, 0x41, 0x70, 1, 0, 0, 0,
					 1, 0, 0, 0, 8, 0, 0, 0 };
	chunk_t n;
	size_t at_activation;

	env_init(1024);
	memset(md->data + 512, 0xEE, (1024 - 1) * 512); /* sector 0 zero: new */
	s = open_store("P", 8, 0, &a, &err);
	cr_expect_eq(a.calls, 0);
	/* Activation writes the zeroed area 0 and the header, synchronously. */
	cr_expect_eq(md->writes, 2);
	cr_assert_arr_eq(md->data, hdr, 16);
	for (size_t i = 16; i < 8 * 512 * 2; i++)
		cr_assert_eq(md->data[i], 0, "byte %zu", i);
	for (size_t i = 8 * 512 * 2; i < 1024 * 512; i++)
		cr_assert_eq(md->data[i], 0xEE, "byte %zu", i);
	for (size_t i = 0; i < rb.n; i++)
		cr_expect(rb.log[i].sync, "activation submitted asynchronous I/O");
	cr_expect_eq(s->chunk_sectors, 8);
	cr_expect_eq(s->chunk_shift, 3);
	cr_expect_not(s->type->busy(s));
	/* The first commit writes only its area. */
	at_activation = rb.n;
	n = prep(s, 5);
	commit(s, 5, n, true, &k, 0);
	fifo_executor_run(&fx, 0);
	cr_expect_eq(k.ok, 1);
	cr_assert_eq(rb.n, at_activation + 1);
	cr_expect(rb.log[at_activation].op == BIO_WRITE && rb.log[at_activation].sector == 8 &&
		  rb.log[at_activation].flags == (BIO_PREFLUSH | BIO_FUA | BIO_SYNC));
	cr_assert_arr_eq(md->data, hdr, 16);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

/*
 * Crash safety of creation (spec 2.9 hardened): Linux writes the header and
 * the zeroed area 0 as plain writes a disk may make durable in either
 * order, so a power cut can leave a valid header over a garbage area 0.
 * Activation must write the zeroed area 0, flush, write the header and
 * flush again (the header durable before activation returns).
 */
Test(pstore, new_store_header_is_durable_after_a_flush_of_zeroed_area0)
{
	struct ss_error err;
	struct added a;
	struct exstore *s;
	size_t zero_at = SIZE_MAX, hdr_at = SIZE_MAX;
	bool flush_between = false, flush_after = false;

	env_init(1024);
	memset(md->data + 512, 0xEE, (1024 - 1) * 512);
	s = open_store("P", 8, 0, &a, &err);
	for (size_t i = 0; i < rb.n; i++) {
		if (rb.log[i].op == BIO_WRITE && rb.log[i].sector == 8 && zero_at == SIZE_MAX)
			zero_at = i;
		else if (rb.log[i].op == BIO_WRITE && rb.log[i].sector == 0 && hdr_at == SIZE_MAX)
			hdr_at = i;
		else if (rb.log[i].op == BIO_FLUSH && zero_at != SIZE_MAX && hdr_at == SIZE_MAX)
			flush_between = true;
		else if (rb.log[i].op == BIO_FLUSH && hdr_at != SIZE_MAX)
			flush_after = true;
	}
	cr_assert_neq(zero_at, SIZE_MAX, "area 0 was never zeroed");
	cr_assert_neq(hdr_at, SIZE_MAX, "the header was not written at activation");
	cr_expect_lt(zero_at, hdr_at, "the header may become durable before a zeroed area 0");
	cr_expect(flush_between, "no flush between the zeroed area 0 and the header");
	cr_expect(flush_after, "the header is not durable when activation returns");
	exstore_destroy(s);
	extable_destroy(&a.t);
}

/* A failed creation write or flush fails activation, as in Linux. */
Test(pstore, new_store_write_or_flush_failure_fails_activation)
{
	static const struct { enum bio_op op; sector_t sector; } faults[] = {
		{ BIO_WRITE, 8 }, { BIO_FLUSH, ~(sector_t)0 }, { BIO_WRITE, 0 },
	};

	for (size_t f = 0; f < sizeof(faults) / sizeof(faults[0]); f++) {
		struct ss_error err;
		struct added a;
		struct exstore *s;

		env_init(1024);
		fault = (struct fault_rule){ true, faults[f].op, 0, faults[f].sector, -EIO };
		s = open_store("P", 8, -EIO, &a, &err);
		cr_expect(err.msg[0], "fault %zu: no message", f);
		exstore_destroy(s);
		extable_destroy(&a.t);
		env_fini();
	}
	env_init(8); /* for the suite's fini */
}

Test(pstore, fresh_usage_is_two_chunks)
{
	struct ss_error err;
	struct added a;
	sector_t total, alloc, meta;
	struct exstore *s;

	env_init(204800);
	s = open_store("P", 8, 0, &a, &err);
	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(total, 204800);
	cr_expect_eq(alloc, 16);
	cr_expect_eq(meta, 16);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, default_and_header_chunk_sizes)
{
	struct ss_error err;
	struct added a;
	struct exstore *s;

	env_init(4096);
	s = open_store("P", 0, 0, &a, &err); /* new COW, table 0: 32 */
	cr_expect_eq(s->chunk_sectors, 32);
	{
		/* The header is written before the first record. */
		struct acks k = { 0 };
		chunk_t n = prep(s, 1);

		commit(s, 1, n, true, &k, 0);
		fifo_executor_run(&fx, 0);
		cr_expect_eq(k.ok, 1);
	}
	exstore_destroy(s);
	extable_destroy(&a.t);
	s = open_store("p", 8, 0, &a, &err); /* header wins */
	cr_expect_eq(s->chunk_sectors, 32);
	cr_expect_eq(s->chunk_shift, 5);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

/* ---------------------------------------------------------------- */
/* Commit, images, batching, ordering                                 */

Test(pstore, byte_exact_image_and_next_area_zeroing_cs1)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;
	chunk_t n;
	sector_t total, alloc, meta;

	env_init(200);
	memset(md->data + 512, 0xEE, 199 * 512);
	s = open_store("P", 1, 0, &a, &err);
	rb.n = 0;
	for (int i = 0; i < 40; i++) {
		n = prep(s, 1000 + 7 * (chunk_t)i);
		cr_assert_eq(n, i < 32 ? 2 + (chunk_t)i : 35 + (chunk_t)(i - 32));
		commit(s, 1000 + 7 * (chunk_t)i, n, true, &k, i);
		cr_assert_eq(k.n, i); /* never inside commit */
		fifo_executor_run(&fx, 0);
		cr_assert_eq(k.n, i + 1);
	}
	cr_expect_eq(k.ok, 40);
	for (int i = 0; i < 40; i++)
		cr_expect_eq(k.order[i], i);
	/* Area 0 at chunk 1: records in slot order, data chunks 2..33. */
	for (int i = 0; i < 32; i++) {
		struct cow_record r;

		cow_area_get(cow_bytes(1, 1), (uint64_t)i, &r);
		cr_expect_eq(r.old_chunk, 1000 + 7 * (uint64_t)i);
		cr_expect_eq(r.new_chunk, 2 + (uint64_t)i);
	}
	/* Area 1 at chunk 34 (stride 33): 8 records, then zeros. */
	for (int i = 0; i < 32; i++) {
		struct cow_record r;

		cow_area_get(cow_bytes(34, 1), (uint64_t)i, &r);
		cr_expect_eq(r.old_chunk, i < 8 ? 1000 + 7 * (uint64_t)(32 + i) : 0);
		cr_expect_eq(r.new_chunk, i < 8 ? 35 + (uint64_t)i : 0);
	}
	/* Area 2 (chunk 67) was never zeroed: area 1 is not full. */
	cr_expect_eq(cow_bytes(67, 1)[0], 0xEE);
	/* The zeroing of chunk 34 was a plain write, completed before the
	 * PREFLUSH|FUA write of area 0 was submitted. */
	size_t zi = SIZE_MAX, ai = SIZE_MAX;
	for (size_t i = 0; i < rb.n; i++) {
		if (rb.log[i].op == BIO_WRITE && rb.log[i].sector == 34) {
			if (zi == SIZE_MAX) {
				zi = i;
				cr_expect_eq(rb.log[i].flags, 0);
			}
		}
		if (rb.log[i].op == BIO_WRITE && rb.log[i].sector == 1)
			ai = i;
		if (rb.log[i].op == BIO_WRITE && (rb.log[i].flags & BIO_PREFLUSH) &&
		    rb.log[i].sector != 0) {
			cr_expect_eq(rb.log[i].flags, BIO_PREFLUSH | BIO_FUA | BIO_SYNC);
			cr_expect_eq(rb.log[i].in_flight_before, 0,
				     "area write %zu submitted with I/O in flight", i);
		}
	}
	cr_assert_neq(zi, SIZE_MAX);
	cr_expect_lt(zi, ai, "zeroing must precede the last write of area 0");
	cr_expect_eq(rb.log[zi + 1].sector, 1);
	cr_expect_eq(count_area_writes(), 40);
	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(alloc, 43);   /* next_free = 43 */
	cr_expect_eq(meta, 3);     /* header + areas 0, 1 */
	exstore_destroy(s);
	extable_destroy(&a.t);

	/* Re-activation reproduces the table and the allocator. */
	s = open_store("P", 0, 0, &a, &err);
	cr_expect_eq(a.calls, 40);
	for (int i = 0; i < 40; i++) {
		chunk_t got;

		cr_assert(extable_lookup(&a.t, 1000 + 7 * (chunk_t)i, &got));
		cr_expect_eq(got, i < 32 ? 2 + (chunk_t)i : 35 + (chunk_t)(i - 32));
	}
	cr_expect_eq(prep(s, 5), 43);
	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(alloc, 44);
	cr_expect_eq(meta, 3);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, commits_batch_while_exceptions_pending)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;
	chunk_t n[5];

	env_init(4096);
	put_header(COW_MAGIC, 1, 1, 8); /* an empty store: no creation writes */
	s = open_store("P", 8, 0, &a, &err);
	rb.n = 0;
	for (int i = 0; i < 5; i++)
		n[i] = prep(s, 10 + (chunk_t)i);
	for (int i = 0; i < 5; i++) {
		commit(s, 10 + (chunk_t)i, n[i], true, &k, i);
		cr_expect_eq(k.n, 0); /* never inside commit */
		cr_expect_eq(count_area_writes(), i < 4 ? 0 : 1);
	}
	cr_expect(s->type->busy(s));
	fifo_executor_run(&fx, 0);
	cr_expect_not(s->type->busy(s));
	cr_expect_eq(k.n, 5);
	cr_expect_eq(k.ok, 5);
	cr_expect_eq(count_area_writes(), 1);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, commits_during_an_area_write_batch_for_the_next)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;
	chunk_t n0, n[3];

	env_init(4096);
	put_header(COW_MAGIC, 1, 1, 8); /* an empty store: no creation writes */
	s = open_store("P", 8, 0, &a, &err);
	rb.n = 0;
	n0 = prep(s, 1);
	commit(s, 1, n0, true, &k, 0);
	cr_expect_eq(count_area_writes(), 1); /* in flight */
	for (int i = 0; i < 3; i++)
		n[i] = prep(s, 2 + (chunk_t)i);
	for (int i = 0; i < 3; i++)
		commit(s, 2 + (chunk_t)i, n[i], true, &k, 1 + i);
	cr_expect_eq(count_area_writes(), 1); /* only one in flight */
	fifo_executor_run(&fx, 0);
	cr_expect_eq(count_area_writes(), 2);
	cr_expect_eq(k.n, 4);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(k.order[i], i);
	for (size_t i = 0; i < rb.n; i++)
		cr_expect_eq(rb.log[i].in_flight_before, 0);
	/* The first write carried one record only (snapshot of the image). */
	exstore_destroy(s);
	extable_destroy(&a.t);
	s = open_store("P", 8, 0, &a, &err);
	cr_expect_eq(a.calls, 4);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, enospc_and_live_cow_size)
{
	struct ss_error err;
	struct added a;
	struct exstore *s;
	chunk_t n;

	env_init(5); /* cs 1: header, area 0, data 2..4 */
	s = open_store("P", 1, 0, &a, &err);
	cr_expect_eq(prep(s, 0), 2);
	cr_expect_eq(prep(s, 1), 3);
	cr_expect_eq(prep(s, 2), 4);
	cr_expect_eq(s->type->prepare_exception(s, 3, &n), -ENOSPC);
	env_resize(6);
	cr_expect_eq(s->type->prepare_exception(s, 3, &n), 0);
	cr_expect_eq(n, 5);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, copy_failure_invalidates_without_area_write)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;
	chunk_t n;

	env_init(4096);
	s = open_store("P", 8, 0, &a, &err);
	rb.n = 0;
	n = prep(s, 1);
	commit(s, 1, n, false, &k, 0);
	fifo_executor_run(&fx, 0);
	cr_expect_eq(k.n, 1);
	cr_expect_eq(k.ok, 0);
	cr_expect_eq(count_area_writes(), 0);
	n = prep(s, 2);
	commit(s, 2, n, true, &k, 1);
	fifo_executor_run(&fx, 0);
	cr_expect_eq(k.n, 2);
	cr_expect_eq(k.ok, 0); /* sticky */
	cr_expect_eq(count_area_writes(), 0);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, area_write_error_fails_callbacks_and_invalidates)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;
	chunk_t n;

	env_init(4096);
	s = open_store("P", 8, 0, &a, &err);
	fault = (struct fault_rule){ true, BIO_WRITE, BIO_PREFLUSH, ~(sector_t)0, -EIO };
	n = prep(s, 1);
	commit(s, 1, n, true, &k, 0);
	fifo_executor_run(&fx, 0);
	cr_expect_eq(k.n, 1);
	cr_expect_eq(k.ok, 0);
	fault.on = false;
	rb.n = 0;
	n = prep(s, 2);
	commit(s, 2, n, true, &k, 1);
	fifo_executor_run(&fx, 0);
	cr_expect_eq(k.ok, 0);
	cr_expect_eq(count_area_writes(), 0);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, zeroing_beyond_device_end_invalidates)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;

	env_init(34); /* cs 1: area 1 would be chunk 34, beyond the end */
	s = open_store("P", 1, 0, &a, &err);
	for (int i = 0; i < 32; i++) {
		chunk_t n = prep(s, (chunk_t)i);

		commit(s, (chunk_t)i, n, true, &k, i);
		fifo_executor_run(&fx, 0);
	}
	cr_expect_eq(k.n, 32);
	cr_expect_eq(k.ok, 31); /* the last commit fills area 0 */
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, drop_snapshot_rewrites_header_invalid)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;
	static const uint8_t hdr[16] = { 0x53, 0x6E, 0x41, 0x70, 0, 0, 0, 0,
					 1, 0, 0, 0, 16, 0, 0, 0 };
	chunk_t n;

	env_init(4096);
	s = open_store("P", 16, 0, &a, &err);
	rb.n = 0;
	s->type->drop_snapshot(s);
	cr_expect(s->type->busy(s));
	fifo_executor_run(&fx, 0);
	cr_assert_arr_eq(md->data, hdr, 16);
	cr_expect_eq(rb.n, 1);
	cr_expect_eq(rb.log[0].flags, 0);
	cr_expect_eq(rb.log[0].sector, 0);
	cr_expect_eq(rb.log[0].nr_sectors, 16);
	n = prep(s, 1);
	commit(s, 1, n, true, &k, 0);
	fifo_executor_run(&fx, 0);
	cr_expect_eq(k.n, 1);
	cr_expect_eq(k.ok, 0);
	cr_expect_eq(count_area_writes(), 0);
	exstore_destroy(s);
	extable_destroy(&a.t);
	/* Reactivation: marked invalid, no records read. */
	s = open_store("P", 16, EXSTORE_MARKED_INVALID, &a, &err);
	cr_expect_eq(a.calls, 0);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, destroy_with_io_in_flight_is_safe)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;
	chunk_t n;

	env_init(4096);
	s = open_store("P", 8, 0, &a, &err);
	n = prep(s, 1);
	commit(s, 1, n, true, &k, 0);
	exstore_destroy(s); /* freed when the write completes */
	fifo_executor_run(&fx, 0);
	cr_expect_eq(k.n, 0);
	extable_destroy(&a.t);
}

/* ---------------------------------------------------------------- */
/* Corrupt and special stores                                         */

static void expect_rejected(int code, const char *msg)
{
	struct ss_error err;
	struct added a;
	struct exstore *s = NULL;

	ss_error_clear(&err);
	cr_assert_eq(exstore_create("P", 0, &rb.base, 1, &fx.base, &s, &err), 0);
	cr_assert_eq(extable_init(&a.t, 64), 0);
	a.calls = 0;
	cr_expect_eq(s->type->read_metadata(s, add_cb, &a, &err), code);
	cr_expect_eq(err.code, code);
	cr_expect_str_eq(err.msg, msg);
	cr_expect_eq(a.calls, 0, "add() called on a rejected store");
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, bad_magic)
{
	env_init(4096);
	memcpy(md->data, "XXXX", 4);
	expect_rejected(-ENXIO, "Invalid or corrupt snapshot");
}

Test(pstore, bad_version)
{
	env_init(4096);
	put_header(COW_MAGIC, 1, 2, 32);
	expect_rejected(-EINVAL, "Unsupported snapshot store version 2");
}

Test(pstore, bad_header_chunk_size)
{
	env_init(4096);
	put_header(COW_MAGIC, 1, 1, 12);
	expect_rejected(-EINVAL,
			"Invalid chunk size 12 in snapshot header: Chunk size is not a power of 2");
	put_header(COW_MAGIC, 1, 1, 4194304);
	expect_rejected(-EINVAL,
			"Invalid chunk size 4194304 in snapshot header: Chunk size is too high");
}

Test(pstore, new_chunk_out_of_range)
{
	env_init(100);
	put_header(COW_MAGIC, 1, 1, 1);
	put_rec(1, 0, 0, 7, 2);
	put_rec(1, 0, 1, 8, 100);
	expect_rejected(-EINVAL,
			"Corrupt snapshot metadata: area 0 slot 1: new_chunk 100 is beyond the end of the COW (100 chunks)");
}

Test(pstore, record_pointing_at_metadata)
{
	env_init(100);
	put_header(COW_MAGIC, 1, 1, 1);
	put_rec(1, 0, 0, 7, 34);
	expect_rejected(-EINVAL,
			"Corrupt snapshot metadata: area 0 slot 0: new_chunk 34 points at metadata area 1");
	put_rec(1, 0, 0, 7, 1);
	expect_rejected(-EINVAL,
			"Corrupt snapshot metadata: area 0 slot 0: new_chunk 1 points at metadata area 0");
}

Test(pstore, duplicate_chunks)
{
	env_init(100);
	put_header(COW_MAGIC, 1, 1, 1);
	put_rec(1, 0, 0, 7, 2);
	put_rec(1, 0, 1, 9, 2);
	expect_rejected(-EINVAL,
			"Corrupt snapshot metadata: area 0 slot 1: duplicate new_chunk 2: already used by area 0 slot 0");
	put_rec(1, 0, 1, 7, 3);
	expect_rejected(-EINVAL,
			"Corrupt snapshot metadata: area 0 slot 1: duplicate old_chunk 7: already mapped by area 0 slot 0");
}

Test(pstore, full_area_at_device_end)
{
	env_init(34);
	put_header(COW_MAGIC, 1, 1, 1);
	for (int i = 0; i < 32; i++)
		put_rec(1, 0, (uint64_t)i, (chunk_t)i, 2 + (chunk_t)i);
	expect_rejected(-EINVAL,
			"Corrupt snapshot metadata: area 1 (chunk 34) lies beyond the end of the COW (34 chunks) but area 0 before it is full");
}

Test(pstore, area_read_error)
{
	env_init(100);
	put_header(COW_MAGIC, 1, 1, 1);
	fault = (struct fault_rule){ true, BIO_READ, 0, 1, -EIO };
	expect_rejected(-EIO, "Unable to read metadata area 0 (chunk 1)");
}

Test(pstore, marked_invalid_store)
{
	struct ss_error err;
	struct added a;
	struct exstore *s;

	env_init(100);
	put_header(COW_MAGIC, 0, 1, 1);
	put_rec(1, 0, 0, 7, 2);
	s = open_store("P", 0, EXSTORE_MARKED_INVALID, &a, &err);
	cr_expect_eq(a.calls, 0);
	cr_expect_eq(s->chunk_sectors, 1);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, any_nonzero_valid_counts_as_valid)
{
	struct ss_error err;
	struct added a;
	struct exstore *s;

	env_init(100);
	put_header(COW_MAGIC, 7, 1, 1);
	put_rec(1, 0, 0, 7, 2);
	s = open_store("P", 0, 0, &a, &err);
	cr_expect_eq(a.calls, 1);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

/* ---------------------------------------------------------------- */
/* Merge hooks                                                        */

struct merge_ans {
	int calls;
	int nr;
	chunk_t last_old, last_new;
	int status;
};

static void merge_cb(void *ctx, int nr, chunk_t last_old, chunk_t last_new)
{
	struct merge_ans *m = ctx;

	m->calls++;
	m->nr = nr;
	m->last_old = last_old;
	m->last_new = last_new;
}

static void merge_done(void *ctx, int status)
{
	struct merge_ans *m = ctx;

	m->calls++;
	m->status = status;
}

static void do_prepare_merge(struct exstore *s, int nr, chunk_t o, chunk_t n)
{
	struct merge_ans m = { 0 };

	s->type->prepare_merge(s, merge_cb, &m);
	cr_expect_eq(m.calls, 0); /* never inline */
	fifo_executor_run(&fx, 0);
	cr_assert_eq(m.calls, 1);
	cr_assert_eq(m.nr, nr);
	if (nr > 0) {
		cr_expect_eq(m.last_old, o);
		cr_expect_eq(m.last_new, n);
	}
}

static void do_commit_merge(struct exstore *s, int nr)
{
	struct merge_ans m = { 0 };

	rb.n = 0;
	s->type->commit_merge(s, nr, merge_done, &m);
	fifo_executor_run(&fx, 0);
	cr_assert_eq(m.calls, 1);
	cr_assert_eq(m.status, 0);
	cr_expect_eq(rb.n, 1);
	cr_expect_eq(rb.log[0].flags, BIO_PREFLUSH | BIO_FUA);
}

Test(pstore, merge_lifo_runs_area_by_area)
{
	struct ss_error err;
	struct added a;
	struct acks k = { 0 };
	struct exstore *s;
	chunk_t olds[40];
	sector_t total, alloc, meta;
	int i = 0;

	env_init(200);
	for (chunk_t o = 100; o < 110; o++)
		olds[i++] = o;         /* slots 0..9 -> 2..11 */
	olds[i++] = 500;               /* slot 10 -> 12 */
	for (chunk_t o = 200; o < 229; o++)
		olds[i++] = o;         /* slots 11..31 -> 13..33, area 1: 35..42 */
	cr_assert_eq(i, 40);
	s = open_store("P", 1, 0, &a, &err);
	for (i = 0; i < 40; i++) {
		chunk_t n = prep(s, olds[i]);

		commit(s, olds[i], n, true, &k, i);
		fifo_executor_run(&fx, 0);
	}
	cr_assert_eq(k.ok, 40);
	exstore_destroy(s);
	extable_destroy(&a.t);

	s = open_store("P", 1, 0, &a, &err);
	/* Area 1: 221..228 -> 35..42, a run of 8. */
	do_prepare_merge(s, 8, 228, 42);
	do_commit_merge(s, 8);
	cr_expect_eq(rb.log[0].sector, 34);
	for (int b = 0; b < 512; b++)
		cr_assert_eq(cow_bytes(34, 1)[b], 0);
	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(alloc, 35);
	cr_expect_eq(meta, 3);
	/* Area 0 is read back asynchronously: 200..220 -> 13..33. */
	rb.n = 0;
	do_prepare_merge(s, 21, 220, 33);
	cr_expect_eq(rb.n, 1);
	cr_expect_eq(rb.log[0].op, BIO_READ);
	cr_expect_eq(rb.log[0].sync, false);
	cr_expect_eq(rb.log[0].sector, 1);
	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(meta, 2);
	/* Merge 5 of the 21 only, then stop: an interrupted merge. */
	do_commit_merge(s, 5);
	cr_expect_eq(rb.log[0].sector, 1);
	exstore_destroy(s);
	extable_destroy(&a.t);

	s = open_store("P", 1, 0, &a, &err);
	cr_expect_eq(a.calls, 27);
	cr_expect_not(extable_lookup(&a.t, 216, NULL));
	cr_expect(extable_lookup(&a.t, 215, NULL));
	do_prepare_merge(s, 16, 215, 28);
	do_commit_merge(s, 16);
	do_prepare_merge(s, 1, 500, 12);
	do_commit_merge(s, 1);
	do_prepare_merge(s, 10, 109, 11);
	do_commit_merge(s, 10);
	do_prepare_merge(s, 0, 0, 0);
	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(alloc, 2);
	cr_expect_eq(meta, 2);
	exstore_destroy(s);
	extable_destroy(&a.t);

	/* After a complete merge: valid header, empty area 0. */
	s = open_store("P", 1, 0, &a, &err);
	cr_expect_eq(a.calls, 0);
	s->type->usage(s, &total, &alloc, &meta);
	cr_expect_eq(alloc, 2);
	exstore_destroy(s);
	extable_destroy(&a.t);
}

Test(pstore, commit_merge_rejects_bad_count)
{
	struct ss_error err;
	struct added a;
	struct merge_ans m = { 0 };
	struct exstore *s;

	env_init(200);
	s = open_store("P", 1, 0, &a, &err);
	s->type->commit_merge(s, 1, merge_done, &m);
	cr_expect_eq(m.calls, 0);
	fifo_executor_run(&fx, 0);
	cr_expect_eq(m.calls, 1);
	cr_expect_eq(m.status, -EINVAL);
	exstore_destroy(s);
	extable_destroy(&a.t);
}
