/*
 * test_cow_validate.c - the COW store validator (core/cow_validate.h): one
 * test per finding class (reported with its area and slot, or header
 * field), the walk's results, and for every class that activation refuses
 * exactly the stores with a fatal finding, with the finding's errno.
 *
 * Images are built by hand in memory (cs 1: EPA 32, areas at chunks 1, 34,
 * 67, ...), never by the code under test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cow_validate.h"
#include "exstore.h"
#include "fifo_executor.h"
#include "mem_bdev.h"

#define MAX_SECTORS 256

struct image {
	uint8_t data[MAX_SECTORS * 512];
	uint64_t sectors;
	int fail_sector;   /* reads covering it fail with -EIO; -1 none */
	unsigned reads;
};

static struct image img;

static int img_read(void *ctx, uint64_t sector, uint32_t nr, uint8_t *buf)
{
	struct image *im = ctx;

	im->reads++;
	cr_assert_leq(sector + nr, im->sectors, "read beyond the image");
	if (im->fail_sector >= 0 && (uint64_t)im->fail_sector >= sector &&
	    (uint64_t)im->fail_sector < sector + nr)
		return -EIO;
	memcpy(buf, im->data + sector * 512, (size_t)nr * 512);
	return 0;
}

static void img_init(uint64_t sectors)
{
	memset(&img, 0, sizeof(img));
	img.sectors = sectors;
	img.fail_sector = -1;
}

static void hdr(uint32_t magic, uint32_t valid, uint32_t version, uint32_t cs)
{
	struct cow_header h = { magic, valid, version, cs };

	cow_header_encode(&h, img.data);
}

/* Record (o, n) in slot s of area a, chunk size cs. */
static void rec(uint32_t cs, uint64_t a, uint64_t s, uint64_t o, uint64_t n)
{
	struct cow_record r = { o, n };

	cow_area_put(img.data + cow_area_loc(cs, a) * cs * 512, s, &r);
}

/* Area 0 full, in allocation order: old i -> new 2 + i (cs 1). */
static void full_area0(void)
{
	for (uint64_t i = 0; i < 32; i++)
		rec(1, 0, i, i, 2 + i);
}

static struct cow_validation V;

static int validate_with(uint64_t origin_sectors, unsigned block_sectors, bool stop,
			 bool walk_invalid, size_t max)
{
	struct cow_validate_opts o = {
		.dev_sectors = img.sectors, .origin_sectors = origin_sectors,
		.block_sectors = block_sectors, .stop_at_fatal = stop,
		.walk_invalid = walk_invalid, .max_findings = max,
	};

	cow_validation_free(&V);
	return cow_validate(&V, &o, img_read, &img, NULL);
}

static void validate(uint64_t origin_sectors)
{
	cr_assert_eq(validate_with(origin_sectors, 1, false, false, 0), 0);
}

static void fini(void)
{
	cow_validation_free(&V);
}

TestSuite(cow_validate, .fini = fini);

/* The only finding is problem p at (area, slot); returns it. */
static const struct cow_vfinding *expect_one(enum cow_problem p, enum cow_vplace place,
					     uint64_t area, uint64_t slot)
{
	const struct cow_vfinding *f;

	cr_assert_eq(V.nr_findings, 1, "findings: %zu (first problem %d)", V.nr_findings,
		     V.nr_findings ? (int)V.findings[0].problem : -1);
	f = &V.findings[0];
	cr_expect_eq(f->problem, p);
	cr_expect_eq(f->place, place);
	if (place != COW_V_HEADER) {
		cr_expect_eq(f->area, area);
		if (place == COW_V_SLOT)
			cr_expect_eq(f->slot, slot);
	}
	return f;
}

static void expect_describes(const struct cow_vfinding *f, const char *text)
{
	char buf[200];

	cr_expect_str_eq(cow_vfinding_describe(f, buf, sizeof(buf)), text);
}

Test(cow_validate, clean_store_and_walk_results)
{
	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	rec(1, 0, 0, 0, 2);
	rec(1, 0, 1, 1, 3);
	rec(1, 0, 2, 5, 4);
	validate(100);
	cr_expect_eq(V.state, COW_STORE_VALID);
	cr_expect_eq(V.nr_findings, 0);
	cr_expect_eq(V.nr_fatal + V.nr_warnings, 0);
	cr_expect_eq(V.nr_records, 3);
	cr_expect_eq(V.nr_areas, 1);
	cr_expect_eq(V.current_area, 0);
	cr_expect_eq(V.current_committed, 3);
	cr_expect_eq(V.next_free, 5);
	cr_expect_eq(V.epa, 32);
	cr_expect_eq(V.dev_chunks, 100);
}

Test(cow_validate, next_free_skips_a_metadata_chunk)
{
	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	full_area0(); /* last data chunk 33: next is area 1 at 34 */
	validate(0);
	cr_expect_eq(V.nr_findings, 0);
	cr_expect_eq(V.nr_areas, 2);
	cr_expect_eq(V.current_area, 1);
	cr_expect_eq(V.current_committed, 0);
	cr_expect_eq(V.next_free, 35);
}

Test(cow_validate, new_store_and_invalidated_store)
{
	img_init(100);
	rec(1, 0, 0, 7, 500); /* garbage is ignored under magic 0 */
	validate(0);
	cr_expect_eq(V.state, COW_STORE_NEW);
	cr_expect_eq(V.nr_findings, 0);
	hdr(COW_MAGIC, 0, 1, 1);
	validate(0);
	cr_expect_eq(V.state, COW_STORE_INVALID);
	cr_expect_eq(V.nr_findings, 0, "an invalidated store's records are not judged");
	cr_expect_eq(V.nr_records, 0);
	cr_assert_eq(validate_with(0, 1, false, true, 0), 0);
	cr_expect_eq(V.state, COW_STORE_INVALID);
	expect_one(COW_P_NEW_BEYOND_DEVICE, COW_V_SLOT, 0, 0);
}

Test(cow_validate, short_device)
{
	img_init(0);
	validate(0);
	cr_expect_eq(V.state, COW_STORE_UNREADABLE);
	expect_one(COW_P_SHORT_DEVICE, COW_V_HEADER, 0, 0);
	cr_expect_eq(V.findings[0].severity, COW_V_FATAL);
	cr_expect_eq(cow_problem_errno(COW_P_SHORT_DEVICE), -EIO);
}

Test(cow_validate, bad_magic)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(0x12345678, 1, 1, 1);
	validate(0);
	cr_expect_eq(V.state, COW_STORE_UNREADABLE);
	f = expect_one(COW_P_BAD_MAGIC, COW_V_HEADER, 0, 0);
	cr_expect_eq(f->field_offset, 0);
	cr_expect_eq(f->value, 0x12345678);
	cr_expect_eq(cow_problem_errno(f->problem), -ENXIO);
	expect_describes(f, "bad magic 0x12345678 (expected 0x70416e53 \"SnAp\"): not a snapshot store");
}

Test(cow_validate, bad_chunk_size_and_version_each_a_finding)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 1, 1, 12);
	validate(0);
	f = expect_one(COW_P_BAD_CHUNK_SIZE, COW_V_HEADER, 0, 0);
	cr_expect_eq(f->field_offset, 12);
	expect_describes(f, "chunk size 12: Chunk size is not a power of 2");
	hdr(COW_MAGIC, 1, 1, 4);
	cr_assert_eq(validate_with(0, 8, false, false, 0), 0);
	f = expect_one(COW_P_BAD_CHUNK_SIZE, COW_V_HEADER, 0, 0);
	expect_describes(f, "chunk size 4: Chunk size is not a multiple of device blocksize");
	hdr(COW_MAGIC, 1, 2, 1);
	validate(0);
	f = expect_one(COW_P_BAD_VERSION, COW_V_HEADER, 0, 0);
	cr_expect_eq(f->field_offset, 8);
	cr_expect_eq(f->value, 2);
	/* Both: two findings, the chunk size first (Linux's order). */
	hdr(COW_MAGIC, 1, 2, 3);
	validate(0);
	cr_assert_eq(V.nr_findings, 2);
	cr_expect_eq(V.findings[0].problem, COW_P_BAD_CHUNK_SIZE);
	cr_expect_eq(V.findings[1].problem, COW_P_BAD_VERSION);
	cr_expect_eq(V.state, COW_STORE_UNREADABLE);
}

Test(cow_validate, odd_valid_value_is_a_warning)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 7, 1, 1);
	rec(1, 0, 0, 0, 2);
	validate(0);
	cr_expect_eq(V.state, COW_STORE_VALID);
	f = expect_one(COW_P_VALID_VALUE, COW_V_HEADER, 0, 0);
	cr_expect_eq(f->severity, COW_V_WARNING);
	cr_expect_eq(f->field_offset, 4);
	cr_expect_eq(V.nr_records, 1);
}

Test(cow_validate, chunk_size_too_large_for_the_device)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 1, 1, 64); /* one 64-sector chunk: no room for area 0 */
	validate(0);
	cr_expect_eq(V.state, COW_STORE_UNREADABLE);
	f = expect_one(COW_P_CHUNK_SIZE_DEVICE, COW_V_HEADER, 0, 0);
	cr_expect_eq(f->severity, COW_V_FATAL);
	/* Invalidated: its areas are never read (spec 2.6 step 7). */
	hdr(COW_MAGIC, 0, 1, 64);
	validate(0);
	cr_expect_eq(V.state, COW_STORE_INVALID);
	cr_expect_eq(V.nr_findings, 0);
}

Test(cow_validate, area_missing_after_a_full_area)
{
	const struct cow_vfinding *f;

	img_init(34);
	hdr(COW_MAGIC, 1, 1, 1);
	full_area0();
	validate(0);
	f = expect_one(COW_P_AREA_MISSING, COW_V_AREA, 1, 0);
	cr_expect_eq(f->value, 34);
	cr_expect(V.area_missing);
	expect_describes(f, "area 1 (chunk 34) lies beyond the end of the COW (34 chunks) but area 0 before it is full");
}

Test(cow_validate, new_chunk_beyond_the_device)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	rec(1, 0, 0, 7, 2);
	rec(1, 0, 1, 8, 100);
	validate(0);
	f = expect_one(COW_P_NEW_BEYOND_DEVICE, COW_V_SLOT, 0, 1);
	cr_expect_eq(f->rec.new_chunk, 100);
	cr_expect_eq(f->limit, 100);
	expect_describes(f, "new_chunk 100 is beyond the end of the COW (100 chunks)");
}

Test(cow_validate, new_chunk_on_metadata)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	rec(1, 0, 0, 7, 2);
	rec(1, 0, 1, 8, 34);
	validate(0);
	f = expect_one(COW_P_NEW_METADATA, COW_V_SLOT, 0, 1);
	cr_expect_eq(f->limit, 1, "area 1 is at chunk 34");
}

Test(cow_validate, duplicate_new_chunk_names_the_earlier_record)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	full_area0();
	rec(1, 1, 0, 100, 35);
	rec(1, 1, 1, 101, 5); /* area 0 slot 3 has chunk 5 */
	validate(0);
	f = expect_one(COW_P_NEW_DUPLICATE, COW_V_SLOT, 1, 1);
	cr_expect(f->has_other);
	cr_expect_eq(f->other_area, 0);
	cr_expect_eq(f->other_slot, 3);
	expect_describes(f, "duplicate new_chunk 5: already used by area 0 slot 3");
}

Test(cow_validate, duplicate_old_chunk_reported_at_the_later_record)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	full_area0();
	rec(1, 1, 0, 100, 35);
	rec(1, 1, 1, 101, 36);
	rec(1, 1, 2, 3, 37); /* old 3 is area 0 slot 3 */
	validate(0);
	f = expect_one(COW_P_OLD_DUPLICATE, COW_V_SLOT, 1, 2);
	cr_expect(f->has_other);
	cr_expect_eq(f->other_area, 0);
	cr_expect_eq(f->other_slot, 3);
	expect_describes(f, "duplicate old_chunk 3: already mapped by area 0 slot 3");
}

Test(cow_validate, old_chunk_beyond_any_device)
{
	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	rec(1, 0, 0, UINT64_MAX, 2);
	validate(0);
	expect_one(COW_P_OLD_BEYOND_ANY, COW_V_SLOT, 0, 0);
	cr_expect_eq(V.findings[0].limit, cow_max_origin_chunk(1));
}

Test(cow_validate, old_chunk_beyond_the_origin_only_when_its_size_is_known)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 1, 1, 2); /* cs 2: area 0 at chunk 1, data from 2 */
	rec(2, 0, 0, 49, 2);
	rec(2, 0, 1, 50, 3);
	validate(0);
	cr_expect_eq(V.nr_findings, 0);
	validate(99); /* 99 sectors: 50 chunks of 2, the last one partial */
	f = expect_one(COW_P_OLD_BEYOND_ORIGIN, COW_V_SLOT, 0, 1);
	cr_expect_eq(f->limit, 50);
	cr_expect_eq(f->severity, COW_V_FATAL);
	expect_describes(f, "old_chunk 50 is beyond the end of the origin (50 chunks)");
}

Test(cow_validate, allocation_order_is_one_warning)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	rec(1, 0, 0, 0, 3);
	rec(1, 0, 1, 1, 5);
	validate(0);
	f = expect_one(COW_P_ORDER, COW_V_SLOT, 0, 0);
	cr_expect_eq(f->severity, COW_V_WARNING);
	cr_expect_eq(f->limit, 2);
	cr_expect_eq(V.order_deviations, 2);
	cr_expect_eq(V.next_free, 6);
}

Test(cow_validate, dirty_tail_after_the_terminator)
{
	const struct cow_vfinding *f;

	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	rec(1, 0, 0, 0, 2);
	rec(1, 0, 5, 9, 9);
	validate(0);
	f = expect_one(COW_P_TAIL_DIRTY, COW_V_SLOT, 0, 5);
	cr_expect_eq(f->severity, COW_V_WARNING);
	cr_expect_eq(f->limit, 1);
	cr_expect_eq(V.nr_records, 1);
}

Test(cow_validate, one_finding_per_problem_of_a_record)
{
	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	rec(1, 0, 0, 70, 100); /* beyond the COW and beyond a 50-sector origin */
	validate(50);
	cr_assert_eq(V.nr_findings, 2);
	cr_expect_eq(V.findings[0].problem, COW_P_NEW_BEYOND_DEVICE);
	cr_expect_eq(V.findings[1].problem, COW_P_OLD_BEYOND_ORIGIN);
	cr_expect_eq(V.findings[1].slot, 0);
}

Test(cow_validate, stop_at_fatal_and_kept_findings)
{
	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	for (uint64_t i = 0; i < 5; i++)
		rec(1, 0, i, i, 200 + i);
	cr_assert_eq(validate_with(0, 1, true, false, 0), 0);
	cr_expect_eq(V.nr_findings, 1);
	cr_expect_eq(V.nr_records, 1, "the walk goes on after a fatal finding");
	cr_assert_eq(validate_with(0, 1, false, false, 2), 0);
	cr_expect_eq(V.nr_findings, 2);
	cr_expect_eq(V.nr_fatal, 5);
	cr_expect_eq(V.nr_dropped, 3);
	cr_expect_eq(V.findings[1].slot, 1);
}

Test(cow_validate, read_error_names_the_area)
{
	img_init(100);
	hdr(COW_MAGIC, 1, 1, 1);
	full_area0();
	img.fail_sector = 34;
	cr_expect_eq(validate_with(0, 1, false, false, 0), -EIO);
	cr_expect_eq(V.failed_area, 1);
	cr_expect_eq(V.failed_chunk, 34);
	img.fail_sector = 0;
	cr_expect_eq(validate_with(0, 1, false, false, 0), -EIO);
	cr_expect_eq(V.failed_chunk, 0, "a header read error names no area");
}

/* ---------------------------------------------------------------- */
/* Activation refuses exactly the fatal findings                        */

static int noop_add(void *ctx, chunk_t o, chunk_t n)
{
	(void)o;
	(void)n;
	(*(size_t *)ctx)++;
	return 0;
}

/* Activate the image through a mem_bdev; returns read_metadata's result. */
static int activate(uint64_t origin_sectors, size_t *added)
{
	struct fifo_executor fx;
	struct mem_bdev *md;
	struct exstore *s = NULL;
	struct ss_error err;
	int r;

	fifo_executor_init(&fx);
	md = mem_bdev_create("cow", img.sectors, &fx.base);
	cr_assert_not_null(md);
	memcpy(md->data, img.data, img.sectors * 512);
	ss_error_clear(&err);
	cr_assert_eq(exstore_create("P", 1, &md->base, 1, &fx.base, &s, &err), 0);
	s->origin_sectors = origin_sectors;
	*added = 0;
	r = s->type->read_metadata(s, noop_add, added, &err);
	if (r < 0)
		cr_expect(err.msg[0], "refused without a message");
	exstore_destroy(s);
	fifo_executor_run(&fx, 0);
	bdev_destroy(&md->base);
	fifo_executor_destroy(&fx);
	return r;
}

struct parity_case {
	const char *name;
	void (*build)(void);
	uint64_t sectors, origin;
};

static void b_clean(void) { hdr(COW_MAGIC, 1, 1, 1); rec(1, 0, 0, 0, 2); rec(1, 0, 1, 1, 3); }
static void b_magic(void) { hdr(0x1234, 1, 1, 1); }
static void b_chunk(void) { hdr(COW_MAGIC, 1, 1, 3); }
static void b_version(void) { hdr(COW_MAGIC, 1, 9, 1); }
static void b_valid(void) { hdr(COW_MAGIC, 5, 1, 1); rec(1, 0, 0, 0, 2); }
static void b_big_chunk(void) { hdr(COW_MAGIC, 1, 1, 128); }
static void b_missing(void) { hdr(COW_MAGIC, 1, 1, 1); full_area0(); }
static void b_new_beyond(void) { hdr(COW_MAGIC, 1, 1, 1); rec(1, 0, 0, 0, 99); }
static void b_new_meta(void) { hdr(COW_MAGIC, 1, 1, 1); rec(1, 0, 0, 0, 1); }
static void b_new_dup(void) { hdr(COW_MAGIC, 1, 1, 1); rec(1, 0, 0, 0, 2); rec(1, 0, 1, 1, 2); }
static void b_old_dup(void) { hdr(COW_MAGIC, 1, 1, 1); rec(1, 0, 0, 4, 2); rec(1, 0, 1, 4, 3); }
static void b_old_any(void) { hdr(COW_MAGIC, 1, 1, 1); rec(1, 0, 0, UINT64_MAX - 1, 2); }
static void b_old_origin(void) { hdr(COW_MAGIC, 1, 1, 1); rec(1, 0, 0, 0, 2); rec(1, 0, 1, 60, 3); }
static void b_order(void) { hdr(COW_MAGIC, 1, 1, 1); rec(1, 0, 0, 0, 7); }
static void b_tail(void) { hdr(COW_MAGIC, 1, 1, 1); rec(1, 0, 0, 0, 2); rec(1, 0, 9, 1, 1); }
static void b_invalid(void) { hdr(COW_MAGIC, 0, 1, 1); rec(1, 0, 0, 0, 99); }

static const struct parity_case cases[] = {
	{ "clean", b_clean, 100, 0 },
	{ "bad magic", b_magic, 100, 0 },
	{ "bad chunk size", b_chunk, 100, 0 },
	{ "bad version", b_version, 100, 0 },
	{ "odd valid value", b_valid, 100, 0 },
	{ "chunk size vs device", b_big_chunk, 100, 0 },
	{ "area missing", b_missing, 34, 0 },
	{ "new beyond device", b_new_beyond, 60, 0 },
	{ "new on metadata", b_new_meta, 100, 0 },
	{ "new duplicate", b_new_dup, 100, 0 },
	{ "old duplicate", b_old_dup, 100, 0 },
	{ "old beyond any device", b_old_any, 100, 0 },
	{ "old beyond origin, origin known", b_old_origin, 100, 50 },
	{ "old beyond origin, origin unknown", b_old_origin, 100, 0 },
	{ "allocation order", b_order, 100, 0 },
	{ "dirty tail", b_tail, 100, 0 },
	{ "invalidated", b_invalid, 100, 0 },
};

Test(cow_validate, activation_refuses_exactly_the_fatal_findings)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parity_case *c = &cases[i];
		const struct cow_vfinding *f;
		size_t added;
		int r;

		img_init(c->sectors);
		c->build();
		validate(c->origin);
		r = activate(c->origin, &added);
		f = cow_validation_first_fatal(&V);
		if (f) {
			cr_expect_eq(r, cow_problem_errno(f->problem), "%s: activation gave %d",
				     c->name, r);
			cr_expect_eq(added, 0, "%s: exceptions of a refused store", c->name);
		} else {
			cr_expect_geq(r, 0, "%s: activation refused a store without fatal findings (%d)",
				      c->name, r);
			cr_expect_eq(added, r == EXSTORE_MARKED_INVALID ? 0 : V.nr_records,
				     "%s", c->name);
		}
	}
}
