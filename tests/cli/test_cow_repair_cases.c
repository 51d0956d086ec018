/*
 * test_cow_repair_cases.c - the three damaged stores that made the old
 * `cow check --repair` destroy what it should have kept, rebuilt from the
 * format (cow_format.h) and checked byte by byte against what the store
 * held before the damage:
 *  1. the header's chunk size changed from 8 to 16: what 16 calls area 0
 *     is data chunks 2 and 3; repair must refuse, naming 8, and with
 *     --chunk-size 8 rewrite only the header field;
 *  2. one duplicate record in area 2 of an 11-area store: only that record
 *     goes; areas 3-10 keep theirs and the export is the expected one;
 *  3. one record zeroed mid-list: check exits 4 for the 32 records after
 *     the terminator; repair leaves them unless --keep-after-terminator.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#include "cow_format.h"

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cow_repair_cases, .init = setup, .fini = teardown);

struct img {
	uint8_t *b;
	size_t len;
	uint32_t cs;
	size_t cb;
	uint64_t n;           /* records */
	uint64_t old[400], new_chunk[400];
};

/* n records old 3i+1 -> data chunks in allocation order; each data chunk k filled with k. */
static struct img store(uint32_t cs, uint64_t n, uint64_t chunks)
{
	struct img m = { .cs = cs, .cb = (size_t)cs << SECTOR_SHIFT, .n = n };
	uint64_t k = 1, epa = cow_epa(cs);

	m.len = chunks * m.cb;
	m.b = calloc(1, m.len);
	cr_assert_not_null(m.b);
	cow_header_chunk_build(m.b, m.cb, 1, cs);
	for (uint64_t i = 0; i < n; i++) {
		struct cow_record r;

		k = cow_next_data_chunk(cs, k);
		r = (struct cow_record){ 3 * i + 1, k };
		m.old[i] = r.old_chunk;
		m.new_chunk[i] = k;
		cow_area_put(m.b + cow_area_loc(cs, i / epa) * m.cb, i % epa, &r);
		memset(m.b + k * m.cb, (int)(k & 0xff) | 0x80, m.cb);
	}
	return m;
}

static uint8_t *slot(struct img *m, uint64_t g)
{
	uint64_t epa = cow_epa(m->cs);

	return m->b + cow_area_loc(m->cs, g / epa) * m->cb + (g % epa) * COW_RECORD_BYTES;
}

static bool file_is(const char *p, const uint8_t *b, size_t len)
{
	size_t n;
	char *d = slurp(p, &n);
	bool same = d && n == len && !memcmp(d, b, len);

	free(d);
	return same;
}

/* Origin of `chunks` chunks (byte i/512 + 1), and the export expected from records [0, n) but skip. */
static uint8_t *expected(struct img *m, uint64_t ochunks, uint64_t skip, const char *origin)
{
	size_t olen = ochunks * m->cb;
	uint8_t *o = malloc(olen);

	for (size_t i = 0; i < olen; i++)
		o[i] = (uint8_t)(i / 512 + 1);
	write_file(origin, o, olen);
	for (uint64_t i = 0; i < m->n; i++)
		if (i != skip)
			memset(o + m->old[i] * m->cb, (int)(m->new_chunk[i] & 0xff) | 0x80, m->cb);
	return o;
}

Test(cow_repair_cases, header_chunk_size_8_changed_to_16_is_refused_not_zeroed)
{
	struct img m = store(8, 300, 2 + 300 + 2 + 4);
	const char *p = tpath("cow.img"), *u = tpath("undo");
	uint8_t *orig = malloc(m.len);
	struct run_result r;

	memcpy(orig, m.b, m.len);
	m.b[12] = 16;
	write_file(p, m.b, m.len);
	run(&r, "cow", "check", p, NULL);
	cr_assert_eq(r.status, 4);
	run_free(&r);

	run(&r, "cow", "check", p, "--repair", "--undo", u, NULL);
	cr_assert_eq(r.status, 4, "out: %s\nerr: %s", r.out, r.err);
	assert_has(r.out, "repair refused: ");
	assert_has(r.out, "header chunk size 16 disagrees with the metadata layout");
	assert_has(r.out, "chunk size 8 reads 300");
	assert_has(r.out, "give --chunk-size N");
	cr_assert(file_is(p, m.b, m.len), "a refused repair wrote the COW");
	cr_assert_neq(access(u, F_OK), 0);
	run_free(&r);

	run(&r, "cow", "check", p, "--repair", "--undo", u, "--chunk-size", "8", NULL);
	cr_assert_eq(r.status, 1, "out: %s\nerr: %s", r.out, r.err);
	assert_has(r.out, "repaired: 1 metadata range(s), 4 byte(s), no data chunk: 300 record(s) "
			  "kept, 0 bad record(s) dropped, header chunk size set to 8");
	cr_assert(file_is(p, orig, m.len), "the repair is not the store before the damage");
	run_free(&r);

	run(&r, "cow", "check", p, "--repair", "-o", tpath("again.img"), NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "nothing to repair");
	assert_has(r.out, "clean, 0 error(s), 0 warning(s); 300 exception(s)");
	run_free(&r);

	run(&r, "cow", "undo", p, u, NULL);
	cr_assert_eq(r.status, 0, "err: %s", r.err);
	cr_assert(file_is(p, m.b, m.len), "undo did not give the damaged bytes back");
	run_free(&r);
	run(&r, "cow", "undo", p, u, NULL);
	cr_assert_eq(r.status, 1, "undo applied twice");
	assert_has(r.err, "are not the repaired ones; nothing written");
	run_free(&r);
	free(orig);
	free(m.b);
}

Test(cow_repair_cases, one_duplicate_in_area_2_of_11_keeps_every_other_area)
{
	/* Chunk size 1: EPA 32; 10 full areas and 17 records in area 10. */
	struct img m = store(1, 337, 1 + 11 * 33 + 2);
	const char *p = tpath("cow.img"), *n = tpath("new.img"), *origin = tpath("origin.img");
	const char *e = tpath("export.img");
	uint64_t dup = 2 * 32 + 5;
	uint8_t *want;
	struct cow_record r0;
	struct run_result r;

	/* Record 69 (area 2 slot 5) maps the origin chunk record 3 maps: the later one loses. */
	cow_record_decode(slot(&m, dup), &r0);
	r0.old_chunk = m.old[3];
	cow_record_encode(&r0, slot(&m, dup));
	write_file(p, m.b, m.len);
	want = expected(&m, 3 * 337 + 5, dup, origin);

	run(&r, "cow", "check", p, NULL);
	cr_assert_eq(r.status, 4);
	assert_has(r.out, "area 2 slot 5 (byte offset 34384): error: duplicate old_chunk 10: already "
			  "mapped by area 0 slot 3");
	run_free(&r);
	run(&r, "cow", "check", p, "--repair", "-o", n, NULL);
	cr_assert_eq(r.status, 1, "out: %s\nerr: %s", r.out, r.err);
	assert_has(r.out, "336 record(s) kept, 1 bad record(s) dropped");
	assert_has(r.out, "new.img: repaired, 0 error(s), 1 warning(s); 336 exception(s) in 11 area(s)");
	cr_assert(file_is(p, m.b, m.len), "-o wrote the COW");
	run_free(&r);

	run(&r, "cow", "export", "--origin", origin, "--cow", n, "-o", e, "-q", NULL);
	cr_assert_eq(r.status, 0, "err: %s", r.err);
	cr_assert(file_is(e, want, (3 * 337 + 5) * 512), "export differs from the records kept");
	run_free(&r);

	run(&r, "cow", "check", n, "--repair", "-o", tpath("again.img"), NULL);
	cr_assert_eq(r.status, 0);
	assert_has(r.out, "nothing to repair");
	run_free(&r);
	free(want);
	free(m.b);
}

Test(cow_repair_cases, record_zeroed_mid_list_is_reported_and_kept_only_when_asked)
{
	/* 43 records, chunk size 1: area 0 full, 11 in area 1; record 10 zeroed. */
	struct img m = store(1, 43, 1 + 2 * 33 + 2);
	const char *p = tpath("cow.img"), *n = tpath("new.img"), *origin = tpath("origin.img");
	const char *e = tpath("export.img");
	uint8_t *want;
	struct run_result r;

	memset(slot(&m, 10), 0, COW_RECORD_BYTES);
	write_file(p, m.b, m.len);
	want = expected(&m, 3 * 43 + 5, 10, origin);

	run(&r, "cow", "check", p, NULL);
	cr_assert_eq(r.status, 4, "out: %s", r.out);
	assert_has(r.out, "area 0 slot 11: 32 valid-looking records after a terminator; --repair "
			  "--keep-after-terminator would recover them");
	run_free(&r);

	/* Without the option the records stay where they are (nothing written). */
	run(&r, "cow", "check", p, "--repair", "--undo", tpath("undo"), NULL);
	cr_assert_eq(r.status, 4, "out: %s", r.out);
	assert_has(r.out, "nothing to repair");
	assert_has(r.out, "32 valid-looking records after a terminator");
	cr_assert(file_is(p, m.b, m.len), "the records after the terminator were touched");
	cr_assert_neq(access(tpath("undo"), F_OK), 0);
	run_free(&r);

	run(&r, "cow", "check", p, "--repair", "--keep-after-terminator", "-o", n, NULL);
	cr_assert_eq(r.status, 1, "out: %s\nerr: %s", r.out, r.err);
	assert_has(r.out, "42 record(s) kept, 0 bad record(s) dropped, 32 recovered from after a "
			  "terminator");
	assert_has(r.out, "42 exception(s) in 2 area(s)");
	run_free(&r);

	run(&r, "cow", "export", "--origin", origin, "--cow", n, "-o", e, "-q", NULL);
	cr_assert_eq(r.status, 0, "err: %s", r.err);
	cr_assert(file_is(e, want, (3 * 43 + 5) * 512), "export differs from the 42 records");
	run_free(&r);

	run(&r, "cow", "check", n, "--repair", "--keep-after-terminator", "-o", tpath("again.img"),
	    NULL);
	cr_assert_eq(r.status, 0, "out: %s", r.out);
	assert_has(r.out, "nothing to repair");
	run_free(&r);
	free(want);
	free(m.b);
}

/* cow undo speaks the common exit table: 2 usage, 3 bad input, 1 refused, 0 done. */
Test(cow_repair_cases, undo_exit_codes_follow_the_common_table)
{
	struct img m = store(8, 4, 2 + 4 + 2);
	const char *p = tpath("cow.img"), *u = tpath("undo"), *junk = tpath("junk");
	struct run_result r;

	m.b[12] = 16; /* a repair with --chunk-size 8 changes one field */
	write_file(p, m.b, m.len);
	run(&r, "cow", "check", p, "--repair", "--undo", u, "--chunk-size", "8", NULL);
	cr_assert_eq(r.status, 1, "%s", r.err);
	run_free(&r);

	run(&r, "cow", "undo", p, NULL);
	cr_expect_eq(r.status, 2, "one argument: %s", r.err);
	run_free(&r);
	run(&r, "cow", "undo", p, u, "--bogus", NULL);
	cr_expect_eq(r.status, 2, "unknown option: %s", r.err);
	run_free(&r);
	run(&r, "cow", "undo", p, tpath("missing-undo"), NULL);
	cr_expect_eq(r.status, 3, "missing undo file: %s", r.err);
	assert_has(r.err, "missing-undo");
	run_free(&r);
	write_text(junk, "not an undo file\n");
	run(&r, "cow", "undo", p, junk, NULL);
	cr_expect_eq(r.status, 3, "not an undo file: %s", r.err);
	assert_has(r.err, "not a snapsim COW undo file");
	run_free(&r);
	run(&r, "cow", "undo", tpath("missing-cow"), u, NULL);
	cr_expect_eq(r.status, 3, "missing COW: %s", r.err);
	run_free(&r);
	write_file(tpath("short.img"), m.b, m.len / 2);
	run(&r, "cow", "undo", tpath("short.img"), u, NULL);
	cr_expect_eq(r.status, 1, "another image: %s", r.err);
	assert_has(r.err, "nothing written");
	run_free(&r);
	run(&r, "cow", "undo", "-q", p, u, NULL);
	cr_expect_eq(r.status, 0, "%s", r.err);
	cr_expect_str_eq(r.out, "");
	cr_assert(file_is(p, m.b, m.len), "undo did not give the damaged bytes back");
	run_free(&r);
	free(m.b);
}
