/*
 * test_cow_tools.c - `snapsim cow inspect|check|export` through the binary,
 * on COW images built here byte by byte from the spec's layout (spec 2),
 * independently of the store code.
 *
 * Geometry used throughout: chunk size 1 sector (512-byte chunks), so
 * EPA = 32, stride 33: header chunk 0, area 0 at chunk 1, its data chunks
 * 2..33, area 1 at chunk 34, data 35..66, area 2 at chunk 67.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#define CB 512u
#define EPA 32u

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cow_tools, .init = setup, .fini = teardown);

/* ---- image builder (spec 2.2, 2.4; little-endian by hand) ---- */

struct img {
	uint8_t *b;
	size_t chunks;
};

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static struct img img_new(size_t chunks)
{
	struct img m = { calloc(chunks, CB), chunks };

	cr_assert_not_null(m.b);
	return m;
}

static void img_header(struct img *m, uint32_t magic, uint32_t valid,
		       uint32_t version, uint32_t cs)
{
	le32(m->b + 0, magic);
	le32(m->b + 4, valid);
	le32(m->b + 8, version);
	le32(m->b + 12, cs);
}

static size_t area_loc(unsigned area)
{
	return 1 + (size_t)area * (EPA + 1);
}

static size_t slot_off(unsigned area, unsigned slot)
{
	return area_loc(area) * CB + 16u * slot;
}

static void img_rec(struct img *m, unsigned area, unsigned slot, uint64_t old,
		    uint64_t new_chunk)
{
	le64(m->b + slot_off(area, slot), old);
	le64(m->b + slot_off(area, slot) + 8, new_chunk);
}

/* Fill data chunk k with a recognisable pattern. */
static void img_data(struct img *m, size_t k, uint8_t v)
{
	memset(m->b + k * CB, v, CB);
}

static const char *img_save(struct img *m, const char *name)
{
	const char *p = tpath(name);

	write_file(p, m->b, m->chunks * CB);
	free(m->b);
	m->b = NULL;
	return p;
}

/*
 * The healthy store: 80 chunks; area 0 full (old 2i -> new 2+i), area 1
 * with 3 records (old 100+i -> new 35+i). 35 exceptions, next_free 38.
 */
static struct img healthy(void)
{
	struct img m = img_new(80);

	img_header(&m, 0x70416E53u, 1, 1, 1);
	for (unsigned i = 0; i < EPA; i++) {
		img_rec(&m, 0, i, 2 * i, 2 + i);
		img_data(&m, 2 + i, (uint8_t)(0x80 + i));
	}
	for (unsigned i = 0; i < 3; i++) {
		img_rec(&m, 1, i, 100 + i, 35 + i);
		img_data(&m, 35 + i, (uint8_t)(0xC0 + i));
	}
	return m;
}

/* Run cow check on path, assert it left the file's bytes unchanged. */
static void check_unmodified(struct run_result *r, const char *path, ...)
{
	size_t n0, n1;
	char *before = slurp(path, &n0), *after;
	char *args[8] = { 0 };
	int k = 0;
	va_list ap;
	const char *a;

	va_start(ap, path);
	while ((a = va_arg(ap, const char *)) != NULL && k < 7)
		args[k++] = (char *)a;
	va_end(ap);
	args[k] = NULL;
	run(r, "cow", "check", path, args[0], args[1], args[2], args[3],
	    args[4], args[5], args[6], (char *)NULL);
	after = slurp(path, &n1);
	cr_assert_eq(n0, n1);
	cr_assert(memcmp(before, after, n0) == 0, "cow check modified %s", path);
	free(before);
	free(after);
}

/* ---- inspect ---- */

Test(cow_tools, inspect_healthy)
{
	struct img m = healthy();
	const char *p = img_save(&m, "cow.img");
	struct run_result r;

	run(&r, "cow", "inspect", p, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	assert_has(r.out, "magic:             0x70416e53 (SnAp)");
	assert_has(r.out, "chunk size:        1 sectors (512 bytes)");
	assert_has(r.out, "exceptions/area:   32");
	assert_has(r.out, "area 0: chunk 1 (byte offset 512), 32 records, full");
	assert_has(r.out, "area 1: chunk 34 (byte offset 17408), 3 records\n");
	assert_has(r.out, "partly filled (3 of 32 slots)");
	/* spec 2.11: allocated = next_free * cs = 38, metadata = (1 + 2) * cs. */
	assert_has(r.out, "usage:             38/80 3");
	/* Chunks 38..79 minus area 2 at chunk 67. */
	assert_has(r.out, "free:              42 sectors (21504 bytes), 41 data chunks");
	assert_has(r.out, "exceptions:        35\n");
	assert_has(r.out, "  0 -> 2\n");
	assert_has(r.out, "(20 of 35 exceptions shown; --all for all)");
	assert_lacks(r.out, "100 -> 35");
	run_free(&r);

	run(&r, "cow", "inspect", "--all", p, NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "  102 -> 37\n");
	assert_lacks(r.out, "shown");
	run_free(&r);
}

Test(cow_tools, inspect_json)
{
	struct img m = healthy();
	const char *p = img_save(&m, "cow.img");
	struct run_result r;

	run(&r, "cow", "inspect", p, "--json", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(r.out[0], '{');
	assert_has(r.out, "\"magic\": \"0x70416e53\"");
	assert_has(r.out, "\"chunk_sectors\": 1");
	assert_has(r.out, "\"exceptions_per_area\": 32");
	assert_has(r.out, "\"exception_count\": 35");
	assert_has(r.out, "\"last_area_partial\": true");
	assert_has(r.out, "\"status\": \"38/80 3\"");
	assert_has(r.out, "{\"old\": 102, \"new\": 37}");
	assert_has(r.out, "{\"area\": 1, \"chunk\": 34, \"byte_offset\": 17408, "
			  "\"records\": 3, \"full\": false");
	cr_assert_eq(strcmp(r.out + strlen(r.out) - 3, "\n}\n"), 0);
	run_free(&r);
}

Test(cow_tools, inspect_empty_and_bad_magic)
{
	struct img m = img_new(8);
	const char *p = img_save(&m, "zero.img");
	struct run_result r;

	run(&r, "cow", "inspect", p, NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "0x00000000 (empty: a new store)");
	run_free(&r);

	m = img_new(8);
	img_header(&m, 0x12345678u, 1, 1, 1);
	p = img_save(&m, "junk.img");
	run(&r, "cow", "inspect", p, NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "junk.img: header (byte offset 0): bad magic 0x12345678 (expected 0x70416e53 \"SnAp\"): not a snapshot store");
	run_free(&r);

	run(&r, "cow", "inspect", tpath("missing.img"), NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "missing.img: cannot open");
	run_free(&r);

	run(&r, "cow", "inspect", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "missing COW argument");
	run_free(&r);

	run(&r, "cow", "inspect", p, "--bogus", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "unknown option '--bogus'");
	run_free(&r);
}

/* ---- check: header ---- */

Test(cow_tools, check_clean)
{
	struct img m = healthy();
	const char *p = img_save(&m, "cow.img");
	struct run_result r;

	check_unmodified(&r, p, "--origin", "200s", NULL);
	cr_assert_eq(r.status, 0, "out: %s", r.out);
	assert_has(r.out, "clean, 0 error(s), 0 warning(s); 35 exception(s) in 2 area(s)");
	run_free(&r);

	/* --repair on a clean store writes nothing, not even the undo file. */
	check_unmodified(&r, p, "--repair", "--undo", tpath("undo"), NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "nothing to repair");
	cr_assert_neq(access(tpath("undo"), F_OK), 0);
	run_free(&r);
}

Test(cow_tools, check_empty_store)
{
	struct img m = img_new(8);
	const char *p = img_save(&m, "zero.img");
	struct run_result r;

	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "header (byte offset 0): note: magic is 0");
	assert_has(r.out, "clean (empty store, magic 0)");
	run_free(&r);
}

Test(cow_tools, check_bad_magic)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_header(&m, 0x70416E54u, 1, 1, 1);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, "--repair", "--undo", tpath("undo"), NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "repair refused: ");
	cr_assert_neq(access(tpath("undo"), F_OK), 0);
	assert_has(r.out, "cow.img: header (byte offset 0): error: bad magic 0x70416e54");
	run_free(&r);
}

Test(cow_tools, check_bad_version)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_header(&m, 0x70416E53u, 1, 2, 1);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "header (byte offset 8): error: version 2 is not supported");
	run_free(&r);
}

Test(cow_tools, check_invalid_store_is_a_note)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_header(&m, 0x70416E53u, 0, 1, 1);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "header (byte offset 4): note: store is marked invalid");
	assert_has(r.out, "store marked invalid");
	run_free(&r);
}

/* Activation reads no records of an invalidated store, so check judges none. */
Test(cow_tools, check_invalid_store_records_are_not_judged)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_header(&m, 0x70416E53u, 0, 1, 1);
	img_rec(&m, 0, 1, 7, 5000); /* beyond the image: an error in a valid store */
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 0, "%s", r.out);
	assert_lacks(r.out, ": error:");
	run_free(&r);
	m = healthy();
	img_rec(&m, 0, 1, 7, 5000);
	p = img_save(&m, "cow2.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "new_chunk 5000 is beyond");
	run_free(&r);
}

Test(cow_tools, check_bad_chunk_sizes)
{
	struct img m;
	const char *p;
	struct run_result r;

	m = healthy();
	img_header(&m, 0x70416E53u, 1, 1, 3);
	p = img_save(&m, "cs3.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "header (byte offset 12): error: chunk size 3: Chunk size is not a power of 2");
	run_free(&r);

	m = healthy();
	img_header(&m, 0x70416E53u, 1, 1, 4194304);
	p = img_save(&m, "cshigh.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "Chunk size is too high");
	run_free(&r);

	/* 80 chunks of 512 bytes: 64-sector chunks leave room for one chunk. */
	m = healthy();
	img_header(&m, 0x70416E53u, 1, 1, 64);
	p = img_save(&m, "csbig.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "header (byte offset 12): error: chunk size 64 sectors is too large for the COW: "
			 "the header and area 0 need 2 chunks");
	run_free(&r);
}

/* ---- check: records ---- */

Test(cow_tools, check_new_chunk_out_of_range_and_repair)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;
	size_t n;
	uint8_t *after, *before;

	img_rec(&m, 1, 1, 101, 500);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "cow.img: area 1 slot 1 (byte offset 17424): error: new_chunk 500 "
			  "is beyond the end of the COW (80 chunks)");
	assert_has(r.out, "repair needed: --repair would rewrite 1 metadata range(s), 25 byte(s), "
			  "no data chunk: 34 record(s) kept, 1 bad record(s) dropped");
	assert_has(r.out, "NOT CLEAN, 1 error(s)");
	run_free(&r);

	/* The bad slot 1 is dropped; slot 2 moves up; nothing else changes. */
	run(&r, "cow", "check", p, "--repair", "-o", tpath("new.img"), NULL);
	cr_assert_eq(r.status, 1, "out: %s", r.out);
	assert_has(r.out, "repaired: 1 metadata range(s), 25 byte(s)");
	assert_has(r.out, "new.img: repaired, 0 error(s)");
	run_free(&r);
	before = (uint8_t *)slurp(p, &n);
	after = (uint8_t *)slurp(tpath("new.img"), &n);
	cr_assert_eq(n, 80 * CB);
	for (size_t i = 0; i < n; i++)
		if (i < slot_off(1, 1) || i >= slot_off(1, 3))
			cr_assert_eq(after[i], before[i], "byte %zu changed", i);
	cr_assert_eq(after[slot_off(1, 1)], 102);      /* slot 2's record, now slot 1 */
	cr_assert_eq(after[slot_off(1, 1) + 8], 37);
	for (size_t i = slot_off(1, 2); i < slot_off(1, 3); i++)
		cr_assert_eq(after[i], 0, "byte %zu is not the terminator", i);
	free(after);
	free(before);

	/* Packing leaves the chunk of the dropped record unused: out of allocation order. */
	run(&r, "cow", "check", tpath("new.img"), NULL);
	cr_assert_eq(r.status, 0, "out: %s", r.out);
	assert_has(r.out, "new_chunk 37 is out of allocation order (expected 36");
	assert_has(r.out, "clean, 0 error(s), 1 warning(s); 34 exception(s)");
	run_free(&r);
}

Test(cow_tools, check_new_chunk_on_metadata)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_rec(&m, 1, 2, 102, 34);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "area 1 slot 2 (byte offset 17440): error: new_chunk 34 points at "
			  "metadata area 1");
	run_free(&r);
}

Test(cow_tools, check_duplicate_new_chunk)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_rec(&m, 1, 0, 100, 3);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "area 1 slot 0 (byte offset 17408): error: duplicate new_chunk 3: "
			  "already used by area 0 slot 1");
	run_free(&r);
}

Test(cow_tools, check_duplicate_old_chunk)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_rec(&m, 1, 2, 100, 37);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "area 1 slot 2 (byte offset 17440): error: duplicate old_chunk 100: "
			  "already mapped by area 1 slot 0");
	run_free(&r);

	run(&r, "cow", "check", p, "--repair", "-o", tpath("new.img"), NULL);
	cr_assert_eq(r.status, 1);
	run_free(&r);
	check_unmodified(&r, tpath("new.img"), NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "34 exception(s)");
	run_free(&r);
}

Test(cow_tools, check_old_chunk_beyond_origin)
{
	struct img m = healthy();
	const char *p = img_save(&m, "cow.img");
	const char *origin = tpath("origin.img");
	uint8_t *o = calloc(101, CB);
	struct run_result r;

	/* Without an origin the store is clean. */
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 0);
	run_free(&r);

	/* An origin of 101 chunks: old_chunk 101 and 102 are beyond it. */
	write_file(origin, o, 101 * CB);
	free(o);
	check_unmodified(&r, p, "--origin", origin, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "area 1 slot 1 (byte offset 17424): error: old_chunk 101 is beyond "
			  "the end of the origin (101 chunks)");
	assert_has(r.out, "area 1 slot 2 (byte offset 17440): error: old_chunk 102");
	run_free(&r);

	/* The same with the origin given as a size: a bare number is sectors, as in
	 * tables and traces (not bytes); B says bytes. */
	for (const char *const *sz = (const char *const[]){ "--origin=101s", "--origin=101",
							    "--origin=51712B", NULL }; *sz; sz++) {
		check_unmodified(&r, p, *sz, NULL);
		cr_assert_eq(r.status, 4, "%s", *sz);
		assert_has(r.out, "old_chunk 101 is beyond the end of the origin (101 chunks)");
		run_free(&r);
	}
	run(&r, "cow", "check", p, "--origin=101MB", NULL);
	cr_expect_neq(r.status, 0, "an ambiguous unit is no size");
	run_free(&r);

	run(&r, "cow", "check", p, "--origin", tpath("nope.img"), NULL);
	cr_assert_eq(r.status, 8);
	assert_has(r.err, "nope.img: cannot open");
	run_free(&r);
}

/*
 * Found by fuzz_cow's differential check: activation rejects an origin
 * chunk no device can have (beyond INT64_MAX >> 9 sectors); cow check
 * used to call such a store clean when no --origin was given.
 */
Test(cow_tools, check_old_chunk_beyond_any_device)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_rec(&m, 1, 2, UINT64_C(0xdeffffff00000000), 37);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "area 1 slot 2 (byte offset 17440): error: old_chunk 16068843466162962432 "
			  "is beyond any device");
	run_free(&r);
}

Test(cow_tools, check_allocation_order_is_a_warning)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_rec(&m, 0, 4, 8, 7);
	img_rec(&m, 0, 5, 10, 6);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 0, "out: %s", r.out);
	assert_has(r.out, "area 0 slot 4 (byte offset 576): warning: new_chunk 7 is out of "
			  "allocation order (expected 6");
	assert_has(r.out, "note: 2 records in all are out of allocation order");
	assert_has(r.out, "clean, 0 error(s), 1 warning(s)");
	run_free(&r);

	/* A warning alone is nothing to repair. */
	check_unmodified(&r, p, "--repair", "--undo", tpath("undo"), NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "nothing to repair");
	run_free(&r);
}

Test(cow_tools, check_torn_tail_and_repair)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	/* Garbage after the terminating slot 3 of area 1. */
	img_rec(&m, 1, 5, 0xdead, 0xbeef);
	memset(m.b + slot_off(1, 31) + 3, 0x11, 1);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 0, "out: %s", r.out);
	assert_has(r.out, "area 1 slot 5 (byte offset 17488): warning: torn or stale area "
			  "tail: 2 non-zero slot(s) after the end of the list (slot 3)");
	assert_lacks(r.out, "repair needed");
	run_free(&r);

	/* Slots after the terminator that are no records are not the repair's business. */
	check_unmodified(&r, p, "--repair", "--json", "--undo", tpath("undo"), NULL);
	cr_assert_eq(r.status, 0, "out: %s", r.out);
	assert_has(r.out, "\"exit_code\": 0");
	assert_has(r.out, "\"needed\": false");
	assert_has(r.out, "\"records_after_terminator\": 0");
	run_free(&r);
}

Test(cow_tools, check_missing_area_after_full_area)
{
	/* Header + area 0 + its 32 data chunks: area 1 (chunk 34) is missing. */
	struct img m = img_new(34);
	const char *p;
	struct run_result r;

	img_header(&m, 0x70416E53u, 1, 1, 1);
	for (unsigned i = 0; i < EPA; i++)
		img_rec(&m, 0, i, i, 2 + i);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, NULL);
	cr_assert_eq(r.status, 4, "out: %s", r.out);
	assert_has(r.out, "cow.img: area 1 (byte offset 17408): error: area 1 (chunk 34) lies "
			  "beyond the end of the COW (34 chunks) but area 0 before it is full");
	run_free(&r);
	/* The last record could never have been committed: no area for its terminator. */
	check_unmodified(&r, p, "--repair", "-o", tpath("new.img"), NULL);
	cr_assert_eq(r.status, 1, "out: %s", r.out);
	assert_has(r.out, "31 record(s) kept, 0 bad record(s) dropped, 1 dropped for want of "
			  "room for a terminator");
	assert_has(r.out, "new.img: repaired, 0 error(s), 0 warning(s); 31 exception(s)");
	run_free(&r);
}

Test(cow_tools, check_json_and_usage)
{
	struct img m = healthy();
	const char *p;
	struct run_result r;

	img_rec(&m, 0, 7, 14, 0x1000);
	p = img_save(&m, "cow.img");
	check_unmodified(&r, p, "--json", NULL);
	cr_assert_eq(r.status, 4);
	cr_assert_eq(r.out[0], '{');
	assert_has(r.out, "\"exit_code\": 4");
	assert_has(r.out, "\"clean\": false");
	assert_has(r.out, "\"errors\": 1");
	assert_has(r.out, "{\"severity\": \"error\", \"area\": 0, \"slot\": 7, "
			  "\"byte_offset\": 624, \"message\": \"new_chunk 4096 is beyond");
	assert_has(r.out, "\"records_dropped\": 1");
	run_free(&r);

	run(&r, "cow", "check", NULL);
	cr_assert_eq(r.status, 16);
	assert_has(r.err, "missing COW argument");
	run_free(&r);
	run(&r, "cow", "check", p, "--frobnicate", NULL);
	cr_assert_eq(r.status, 16);
	assert_has(r.err, "unknown option '--frobnicate'");
	run_free(&r);
	run(&r, "cow", "check", p, "--origin", NULL);
	cr_assert_eq(r.status, 16);
	assert_has(r.err, "'--origin' needs a value");
	run_free(&r);
	run(&r, "cow", "check", tpath("absent.img"), NULL);
	cr_assert_eq(r.status, 8);
	assert_has(r.err, "absent.img: cannot open");
	run_free(&r);
	run(&r, "cow", "check", "--help", NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "16 usage error");
	run_free(&r);
}

/* ---- export ---- */

#define ORIGIN_BYTES (200u * CB + 100u) /* a partial last chunk */

static const char *make_origin(void)
{
	uint8_t *o = malloc(ORIGIN_BYTES);
	const char *p = tpath("origin.img");

	for (size_t i = 0; i < ORIGIN_BYTES; i++)
		o[i] = (uint8_t)(i / CB);
	memset(o + 10 * CB, 0, CB); /* a zero chunk: a hole in the export */
	write_file(p, o, ORIGIN_BYTES);
	free(o);
	return p;
}

/* The expected image, computed by hand from the healthy store's map. */
static uint8_t *expected_export(void)
{
	uint8_t *e = malloc(ORIGIN_BYTES);

	for (size_t i = 0; i < ORIGIN_BYTES; i++)
		e[i] = (uint8_t)(i / CB);
	memset(e + 10 * CB, 0, CB);
	for (unsigned i = 0; i < EPA; i++)            /* old 2i -> new 2+i */
		memset(e + 2 * i * CB, 0x80 + i, CB);
	for (unsigned i = 0; i < 3; i++)              /* old 100+i -> new 35+i */
		memset(e + (100 + i) * CB, 0xC0 + i, CB);
	return e;
}

Test(cow_tools, export_matches_hand_computed_image)
{
	struct img m = healthy();
	const char *cow = img_save(&m, "cow.img");
	const char *origin = make_origin();
	const char *out = tpath("snap.img");
	uint8_t *want = expected_export();
	char *got;
	size_t n;
	struct run_result r;

	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	assert_has(r.out, "35 chunk(s) of 512 bytes from");
	run_free(&r);
	got = slurp(out, &n);
	cr_assert_eq(n, ORIGIN_BYTES);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq((uint8_t)got[i], want[i], "byte %zu: got %u want %u", i,
			     (uint8_t)got[i], want[i]);
	free(got);
	free(want);
}

Test(cow_tools, export_empty_store_copies_origin)
{
	struct img m = img_new(8);
	const char *cow = img_save(&m, "zero.img");
	const char *origin = make_origin();
	const char *out = tpath("snap.img");
	char *a, *b;
	size_t na, nb;
	struct run_result r;

	run(&r, "cow", "export", "--origin=" , NULL);
	cr_assert_eq(r.status, 2);
	run_free(&r);
	run(&r, "cow", "export", "--cow", cow, "--origin", origin, "--output", out, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	a = slurp(origin, &na);
	b = slurp(out, &nb);
	cr_assert_eq(na, nb);
	cr_assert(memcmp(a, b, na) == 0);
	free(a);
	free(b);
}

Test(cow_tools, export_refuses_corrupt_unless_told_to_skip)
{
	struct img m = healthy();
	const char *cow, *origin = make_origin(), *out = tpath("snap.img");
	uint8_t *want = expected_export();
	char *got;
	size_t n;
	struct run_result r;

	/* A second record for old 100 (first wins with --skip-bad-records). */
	img_rec(&m, 1, 3, 100, 40);
	img_data(&m, 40, 0x55);
	cow = img_save(&m, "cow.img");
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out, NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "area 1 slot 3 (byte offset 17456): error: duplicate old_chunk 100");
	assert_has(r.err, "refusing to export (--skip-bad-records to export anyway)");
	cr_assert_neq(access(out, F_OK), 0, "no image on refusal");
	run_free(&r);

	/* --force is about IMAGE, not the store: still refused. */
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out, "--force", NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "refusing to export");
	run_free(&r);
	cr_assert_neq(access(out, F_OK), 0, "no image on refusal");

	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out,
	    "--skip-bad-records", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	got = slurp(out, &n);
	cr_assert_eq(n, ORIGIN_BYTES);
	cr_assert(memcmp(got, want, n) == 0);
	free(got);
	free(want);
}

Test(cow_tools, export_refuses_invalid_and_bad_targets)
{
	struct img m = healthy();
	const char *cow, *origin = make_origin(), *out = tpath("snap.img");
	struct run_result r;

	img_header(&m, 0x70416E53u, 0, 1, 1);
	cow = img_save(&m, "cow.img");
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out, "--force", NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "header (byte offset 4): the store is marked invalid");
	run_free(&r);

	m = healthy();
	cow = img_save(&m, "cow2.img");
	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", origin, NULL);
	cr_assert_eq(r.status, 3);
	assert_has(r.err, "refusing to write over the origin or the COW");
	run_free(&r);

	run(&r, "cow", "export", "--origin", origin, "-o", out, NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "missing --cow COW");
	run_free(&r);

	run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", out, "extra", NULL);
	cr_assert_eq(r.status, 2);
	assert_has(r.err, "unexpected argument 'extra'");
	run_free(&r);
}
