/*
 * test_model.c - the reference oracle: origin and snapshot views, writes
 * through snapshots, power cuts with and without FLUSH/FUA, merge,
 * overflow and invalidation; and the pattern generator it names data by.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pattern.h"

static struct model *M;

static void setup(void)
{
	M = model_create();
	cr_assert_not_null(M);
}

static void teardown(void)
{
	model_destroy(M);
}

static struct model_data pat(uint64_t seed, uint64_t base)
{
	struct model_data d = { MODEL_DATA_PATTERN, seed, base, NULL };

	return d;
}

/* Read buffer holding pattern seed over [base, base+n). */
static uint8_t *pbuf(uint64_t seed, uint64_t base, uint32_t n)
{
	uint8_t *b = malloc((size_t)n * 512);

	pattern_fill_range(seed, base, n, b);
	return b;
}

static void expect_reads(const char *dev, uint64_t sector, uint32_t n, uint64_t seed,
			 uint64_t base)
{
	struct model_mismatch mm;
	uint8_t *b = pbuf(seed, base, n);
	int r = model_check_read(M, dev, sector, n, b, 0, &mm);

	cr_expect_eq(r, 0, "%s sector %llu: expected %s, found %s", mm.dev,
		     (unsigned long long)mm.sector, mm.expected, mm.found);
	free(b);
}

static void expect_mismatch(const char *dev, uint64_t sector, uint32_t n, uint64_t seed,
			    uint64_t base)
{
	struct model_mismatch mm;
	uint8_t *b = pbuf(seed, base, n);

	cr_expect_eq(model_check_read(M, dev, sector, n, b, 0, &mm), 1,
		     "%s:%llu seed %llu accepted", dev, (unsigned long long)sector,
		     (unsigned long long)seed);
	free(b);
}

static void expect_zero(const char *dev, uint64_t sector)
{
	uint8_t b[512] = { 0 };
	struct model_mismatch mm;

	cr_expect_eq(model_check_read(M, dev, sector, 1, b, 0, &mm), 0, "%s: %s vs %s", dev,
		     mm.expected, mm.found);
}

static void expect_eio(const char *dev, uint64_t sector)
{
	uint8_t b[512] = { 0 };
	struct model_mismatch mm;
	struct model_expect e;

	cr_expect_eq(model_check_read(M, dev, sector, 1, b, -EIO, &mm), 0);
	cr_expect_eq(model_read_expect(M, dev, sector, &e), 0);
	cr_expect(e.may_fail);
	cr_expect_not(e.may_succeed);
}

static void seg_linear(const char *name, const char *dev, uint64_t off, uint64_t len)
{
	struct model_segment s = { .start = 0, .len = len, .type = MODEL_T_LINEAR,
				   .dev = dev, .offset = off };

	cr_assert_eq(model_dev_set(M, name, &s, 1), 0);
}

static void seg_origin(const char *name, const char *real, uint64_t len)
{
	struct model_segment s = { .start = 0, .len = len, .type = MODEL_T_ORIGIN, .dev = real };

	cr_assert_eq(model_dev_set(M, name, &s, 1), 0);
}

static void seg_snap(const char *name, enum model_target_type t, const char *origin,
		     const char *cow, uint64_t len, uint32_t cs, bool persistent, bool po)
{
	struct model_segment s = { .start = 0, .len = len, .type = t, .dev = origin, .cow = cow,
				   .chunk_sectors = cs, .persistent = persistent,
				   .overflow_mode = po };

	cr_assert_eq(model_dev_set(M, name, &s, 1), 0);
}

/* The seed's recipe in model terms: X over X_org over sd1a@384, COW hdd1. */
static void recipe(uint32_t cs, bool persistent, bool po, uint64_t cow_sectors)
{
	struct model_data d = pat(1, 0);

	cr_assert_eq(model_add_disk(M, "sd1a", 2048, true, 77), 0);
	cr_assert_eq(model_add_disk(M, "hdd1", cow_sectors, false, 0), 0);
	seg_linear("my_data", "/dev/sd1a", 384, 1024);
	cr_assert_eq(model_write(M, "my_data", 0, 128, &d, 0), 0);
	model_flush(M, "my_data");
	seg_linear("my_data_org", "/dev/sd1a", 384, 1024);
	seg_snap("my_data_snap", MODEL_T_SNAPSHOT, "/dev/mapper/my_data_org", "/dev/hdd1", 1024,
		 cs, persistent, po);
	seg_origin("my_data", "/dev/mapper/my_data_org", 1024);
}

TestSuite(model, .init = setup, .fini = teardown);

/* ---- pattern ---- */

Test(pattern, identify_and_garbage)
{
	uint8_t b[512], g[512];
	uint64_t seed, sector;

	pattern_fill(7, 12, b);
	cr_expect(pattern_identify(b, &seed, &sector));
	cr_expect_eq(seed, 7);
	cr_expect_eq(sector, 12);
	b[300] ^= 1;
	cr_expect_not(pattern_identify(b, NULL, NULL), "one flipped bit is not a pattern");
	pattern_garbage(7, 12, g);
	cr_expect_not(pattern_identify(g, NULL, NULL));
	cr_expect_not(pattern_is_zero(g, 512));
	pattern_fill(7, 12, b);
	pattern_fill(7, 13, g);
	cr_expect_neq(memcmp(b, g, 512), 0);
	cr_expect_neq(pattern_hash(b, 512), pattern_hash(g, 512));
	pattern_fill(7, 12, g);
	cr_expect_eq(memcmp(b, g, 512), 0, "deterministic");
}

/* ---- plain disks ---- */

Test(model, origin_reads_last_acked_write)
{
	struct model_data d1 = pat(1, 0), d2 = pat(2, 100);
	struct model_mismatch mm;
	uint8_t *b;

	cr_assert_eq(model_add_disk(M, "d", 1000, false, 0), 0);
	cr_expect_eq(model_add_disk(M, "/dev/d", 10, false, 0), -EEXIST);
	seg_linear("X", "/dev/d", 100, 200);
	expect_zero("X", 5);
	cr_expect_eq(model_write(M, "X", 0, 10, &d1, 0), 0);
	expect_reads("X", 0, 10, 1, 0);
	expect_reads("d", 100, 10, 1, 0);
	cr_expect_eq(model_write(M, "d", 100, 5, &d2, 0), 0);
	expect_reads("X", 0, 5, 2, 100);
	expect_reads("X", 5, 5, 1, 5);
	/* The mismatch names device, sector, expected and found. */
	b = pbuf(1, 0, 5);
	cr_expect_eq(model_check_read(M, "X", 0, 5, b, 0, &mm), 1);
	cr_expect_str_eq(mm.dev, "X");
	cr_expect_eq(mm.sector, 0);
	cr_expect_str_eq(mm.expected, "pattern seed-2 sector 100");
	cr_expect_str_eq(mm.found, "pattern seed-1 sector 0");
	free(b);
	/* Beyond the device: EIO. */
	expect_eio("X", 200);
	cr_expect_eq(model_write(M, "X", 199, 2, &d1, 0), -EIO);
}

Test(model, garbage_initial_content)
{
	uint8_t g[512];
	struct model_mismatch mm;

	cr_assert_eq(model_add_disk(M, "d", 100, true, 5), 0);
	pattern_garbage(5, 42, g);
	cr_expect_eq(model_check_read(M, "d", 42, 1, g, 0, &mm), 0);
	memset(g, 0, sizeof(g));
	cr_expect_eq(model_check_read(M, "d", 42, 1, g, 0, &mm), 1, "zeros are not the garbage");
	cr_expect_str_eq(mm.found, "zero");
}

Test(model, literal_bytes)
{
	uint8_t data[1024];
	struct model_data d = { MODEL_DATA_BYTES, 0, 0, data };
	struct model_mismatch mm;

	memset(data, 0xab, sizeof(data));
	cr_assert_eq(model_add_disk(M, "d", 100, false, 0), 0);
	cr_expect_eq(model_write(M, "d", 10, 2, &d, 0), 0);
	cr_expect_eq(model_check_read(M, "d", 10, 2, data, 0, &mm), 0);
	data[7] = 0;
	cr_expect_eq(model_check_read(M, "d", 10, 2, data, 0, &mm), 1);
}

Test(model, inflight_write_reads_old_or_new)
{
	struct model_data d = pat(3, 0);
	uint64_t id;
	struct model_expect e;

	cr_assert_eq(model_add_disk(M, "d", 100, false, 0), 0);
	cr_expect_eq(model_write_begin(M, "d", 0, 4, &d, 0, &id), 0);
	cr_expect_eq(model_read_expect(M, "d", 0, &e), 0);
	cr_expect_eq(e.n, 2);
	expect_zero("d", 0);
	expect_reads("d", 0, 4, 3, 0);
	model_write_end(M, id, 0);
	expect_mismatch("d", 0, 1, 9, 0);
	cr_expect_eq(model_read_expect(M, "d", 0, &e), 0);
	cr_expect_eq(e.n, 1);
}

/* ---- power cuts ---- */

Test(model, crash_without_flush_old_or_new)
{
	struct model_data d = pat(4, 0);
	struct model_expect e;

	cr_assert_eq(model_add_disk(M, "d", 100, false, 0), 0);
	cr_expect_eq(model_write(M, "d", 0, 2, &d, 0), 0);
	model_crash(M);
	cr_expect_eq(model_read_expect(M, "d", 0, &e), 0);
	cr_expect_eq(e.n, 2, "initial or the unflushed write");
	expect_zero("d", 0);
	/* The first read pins the sector: now it must stay zero. */
	expect_mismatch("d", 0, 1, 4, 0);
	expect_reads("d", 1, 1, 4, 1);
	expect_mismatch("d", 1, 1, 0, 1);
}

Test(model, crash_after_flush_or_fua_must_hold)
{
	struct model_data d1 = pat(5, 0), d2 = pat(6, 0);
	struct model_expect e;

	cr_assert_eq(model_add_disk(M, "d", 100, false, 0), 0);
	cr_assert_eq(model_add_disk(M, "e", 100, false, 0), 0);
	cr_expect_eq(model_write(M, "d", 0, 1, &d1, 0), 0);
	model_flush(M, "d");
	cr_expect_eq(model_write(M, "d", 1, 1, &d2, MODEL_FUA), 0);
	cr_expect_eq(model_write(M, "e", 0, 1, &d2, 0), 0);
	model_flush(M, "d"); /* not e's cache */
	model_crash(M);
	cr_expect_eq(model_read_expect(M, "d", 0, &e), 0);
	cr_expect_eq(e.n, 1);
	expect_reads("d", 0, 1, 5, 0);
	expect_mismatch("d", 1, 1, 0, 1);
	expect_reads("d", 1, 1, 6, 0);
	cr_expect_eq(model_read_expect(M, "e", 0, &e), 0);
	cr_expect_eq(e.n, 2, "e was never flushed");
}

Test(model, flush_covers_only_writes_acked_before_it)
{
	struct model_data a = pat(7, 0), b = pat(8, 0);
	struct model_expect e;
	uint64_t token;

	cr_assert_eq(model_add_disk(M, "d", 100, false, 0), 0);
	cr_expect_eq(model_write(M, "d", 0, 1, &a, 0), 0);
	token = model_flush_begin(M);
	cr_expect_eq(model_write(M, "d", 0, 1, &b, 0), 0);
	model_flush_end(M, "d", token, 0);
	model_crash(M);
	cr_expect_eq(model_read_expect(M, "d", 0, &e), 0);
	cr_expect_eq(e.n, 2, "A is durable, B may have reached the media too");
	expect_mismatch("d", 0, 1, 0, 0);
	/* A failed flush makes nothing durable. */
	cr_expect_eq(model_write(M, "d", 5, 1, &a, 0), 0);
	model_flush_end(M, "d", model_flush_begin(M), -EIO);
	model_crash(M);
	cr_expect_eq(model_read_expect(M, "d", 5, &e), 0);
	cr_expect_eq(e.n, 2);
}

/* ---- snapshots ---- */

Test(model, snapshot_sees_pre_write_content)
{
	struct model_data d2 = pat(2, 0);

	recipe(64, true, false, 4096);
	cr_expect_eq(model_snapshot_state(M, "my_data_snap"), MODEL_SNAP_VALID);
	expect_reads("my_data_snap", 0, 128, 1, 0);
	cr_expect_eq(model_write(M, "my_data", 0, 64, &d2, 0), 0);
	expect_reads("my_data", 0, 64, 2, 0);
	expect_reads("my_data_org", 0, 64, 2, 0);
	expect_reads("sd1a", 384, 64, 2, 0);
	expect_reads("my_data_snap", 0, 128, 1, 0);
	expect_mismatch("my_data_snap", 0, 1, 2, 0);
	/* Never-written sectors of a copied chunk: the origin's initial garbage. */
	{
		uint8_t g[512];
		struct model_mismatch mm;

		pattern_garbage(77, 384 + 200, g);
		cr_expect_eq(model_check_read(M, "my_data_snap", 200, 1, g, 0, &mm), 0);
		cr_expect_eq(model_write(M, "my_data", 192, 16, &d2, 0), 0);
		cr_expect_eq(model_check_read(M, "my_data_snap", 200, 1, g, 0, &mm), 0,
			     "%s vs %s", mm.expected, mm.found);
	}
}

Test(model, writes_through_the_snapshot)
{
	struct model_data d3 = pat(3, 0), d4 = pat(4, 0);

	recipe(64, true, false, 4096);
	cr_expect_eq(model_write(M, "my_data_snap", 10, 4, &d3, 0), 0);
	expect_reads("my_data_snap", 10, 4, 3, 0);
	expect_reads("my_data_snap", 0, 10, 1, 0);
	expect_reads("my_data", 10, 4, 1, 10);
	/* An origin write to that chunk does not disturb the snapshot. */
	cr_expect_eq(model_write(M, "my_data", 0, 64, &d4, 0), 0);
	expect_reads("my_data_snap", 10, 4, 3, 0);
	expect_reads("my_data_snap", 14, 50, 1, 14);
}

Test(model, snapshot_after_crash)
{
	struct model_data d2 = pat(2, 0), d3 = pat(3, 0);
	struct model_expect e;

	recipe(64, true, false, 4096);
	/* Acked origin write: the copy and its record are durable. */
	cr_expect_eq(model_write(M, "my_data", 0, 8, &d2, 0), 0);
	/* Snapshot write not flushed: old or new after the cut. */
	cr_expect_eq(model_write(M, "my_data_snap", 64, 1, &d3, 0), 0);
	model_crash(M);
	cr_expect_eq(model_read_expect(M, "my_data_snap", 0, &e), -ENOENT, "devices are gone");
	seg_linear("my_data_org", "/dev/sd1a", 384, 1024);
	seg_snap("my_data_snap", MODEL_T_SNAPSHOT, "my_data_org", "hdd1", 1024, 64, true, false);
	seg_origin("my_data", "my_data_org", 1024);
	cr_expect_eq(model_read_expect(M, "my_data_snap", 0, &e), 0);
	cr_expect_eq(e.n, 1, "exactly the content at the snapshot");
	expect_reads("my_data_snap", 0, 8, 1, 0);
	cr_expect_eq(model_read_expect(M, "my_data_snap", 64, &e), 0);
	cr_expect_eq(e.n, 2);
	cr_expect_eq(model_read_expect(M, "my_data", 0, &e), 0);
	cr_expect_eq(e.n, 2, "the origin write was never flushed");
}

Test(model, inflight_origin_write_at_crash)
{
	struct model_data d0 = pat(10, 0), d2 = pat(2, 0);
	struct model_expect e;
	uint64_t id;

	cr_assert_eq(model_add_disk(M, "o", 1024, false, 0), 0);
	cr_assert_eq(model_add_disk(M, "c", 4096, false, 0), 0);
	seg_linear("X_org", "o", 0, 1024);
	cr_expect_eq(model_write(M, "X_org", 0, 8, &d0, 0), 0); /* not flushed */
	seg_snap("S", MODEL_T_SNAPSHOT, "X_org", "c", 1024, 8, true, false);
	seg_origin("X", "X_org", 1024);
	cr_expect_eq(model_write_begin(M, "X", 0, 8, &d2, 0, &id), 0);
	expect_reads("S", 0, 8, 10, 0);
	model_crash(M);
	seg_linear("X_org", "o", 0, 1024);
	seg_snap("S", MODEL_T_SNAPSHOT, "X_org", "c", 1024, 8, true, false);
	cr_expect_eq(model_read_expect(M, "S", 0, &e), 0);
	cr_expect_eq(e.n, 2, "zero or seed-10, never the in-flight write");
	expect_mismatch("S", 0, 1, 2, 0);
	cr_expect_eq(model_read_expect(M, "X_org", 0, &e), 0);
	cr_expect_eq(e.n, 3);
}

Test(model, transient_snapshot_gone_after_crash)
{
	struct model_data d2 = pat(2, 0);

	recipe(8, false, false, 4096);
	cr_expect_eq(model_write(M, "my_data", 0, 8, &d2, 0), 0);
	expect_reads("my_data_snap", 0, 8, 1, 0);
	model_crash(M);
	seg_linear("my_data_org", "/dev/sd1a", 384, 1024);
	seg_snap("my_data_snap", MODEL_T_SNAPSHOT, "my_data_org", "hdd1", 1024, 8, false, false);
	/* A fresh transient snapshot shows the origin as it is now. */
	{
		struct model_expect e;

		cr_expect_eq(model_read_expect(M, "my_data_snap", 0, &e), 0);
		cr_expect_eq(e.n, 2, "the origin's own post-crash uncertainty");
	}
}

Test(model, two_snapshots_taken_at_different_times)
{
	struct model_data d2 = pat(2, 0), d3 = pat(3, 0);

	recipe(64, true, false, 4096);
	cr_assert_eq(model_add_disk(M, "cow2", 4096, false, 0), 0);
	cr_expect_eq(model_write(M, "my_data", 0, 8, &d2, 0), 0);
	seg_snap("S2", MODEL_T_SNAPSHOT, "my_data_org", "cow2", 1024, 8, true, false);
	cr_expect_eq(model_write(M, "my_data", 0, 16, &d3, 0), 0);
	expect_reads("my_data_snap", 0, 16, 1, 0);
	expect_reads("S2", 0, 8, 2, 0);
	expect_reads("S2", 8, 8, 1, 8);
	expect_reads("my_data", 0, 16, 3, 0);
}

/* ---- COW space ---- */

Test(model, cow_data_chunks)
{
	cr_expect_eq(model_cow_data_chunks(32, 8, true), 2);
	cr_expect_eq(model_cow_data_chunks(256, 8, true), 30);
	cr_expect_eq(model_cow_data_chunks(4096, 64, true), 62);
	cr_expect_eq(model_cow_data_chunks(100, 1, true), 96, "areas at chunks 1, 34, 67");
	cr_expect_eq(model_cow_data_chunks(16, 8, true), 0);
	cr_expect_eq(model_cow_data_chunks(100, 8, false), 12);
}

Test(model, full_cow_invalidates_on_origin_write)
{
	struct model_data d2 = pat(2, 0);

	recipe(8, true, false, 32); /* two data chunks */
	cr_expect_eq(model_write(M, "my_data", 0, 16, &d2, 0), 0);
	cr_expect_eq(model_snapshot_state(M, "my_data_snap"), MODEL_SNAP_VALID);
	cr_expect_eq(model_write(M, "my_data", 16, 8, &d2, 0), 0, "origin writes never fail");
	cr_expect_eq(model_snapshot_state(M, "my_data_snap"), MODEL_SNAP_INVALID);
	expect_eio("my_data_snap", 0);
	cr_expect_eq(model_write(M, "my_data_snap", 0, 1, &d2, 0), -EIO);
	/* After a crash the invalidation may not have reached the header. */
	model_crash(M);
	seg_linear("my_data_org", "sd1a", 384, 1024);
	seg_snap("S", MODEL_T_SNAPSHOT, "my_data_org", "hdd1", 1024, 8, true, false);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_MAYBE_INVALID);
	{
		struct model_expect e;

		cr_expect_eq(model_read_expect(M, "S", 0, &e), 0);
		cr_expect(e.may_fail);
		cr_expect(e.may_succeed);
	}
}

Test(model, overflow_mode)
{
	struct model_data d7 = pat(7, 0), d2 = pat(2, 0);

	recipe(8, true, true, 32);
	cr_expect_eq(model_write(M, "my_data_snap", 64, 16, &d7, 0), 0);
	cr_expect_eq(model_write(M, "my_data_snap", 80, 8, &d7, 0), -EIO);
	cr_expect_eq(model_snapshot_state(M, "my_data_snap"), MODEL_SNAP_OVERFLOW);
	expect_reads("my_data_snap", 64, 16, 7, 0);
	cr_expect_eq(model_write(M, "my_data_snap", 64, 1, &d7, 0), -EIO, "all writes fail");
	/* An origin write that needs a chunk invalidates it. */
	cr_expect_eq(model_write(M, "my_data", 0, 8, &d2, 0), 0);
	cr_expect_eq(model_snapshot_state(M, "my_data_snap"), MODEL_SNAP_INVALID);
	expect_eio("my_data_snap", 64);
}

Test(model, snapshot_write_without_space_p_invalidates)
{
	struct model_data d7 = pat(7, 0);

	recipe(8, true, false, 32);
	cr_expect_eq(model_write(M, "my_data_snap", 0, 24, &d7, 0), -EIO);
	cr_expect_eq(model_snapshot_state(M, "my_data_snap"), MODEL_SNAP_INVALID);
}

/* ---- merge ---- */

Test(model, merge)
{
	struct model_data d2 = pat(2, 0), d3 = pat(3, 0), d5 = pat(5, 0);
	struct model_expect e;

	recipe(64, true, false, 4096);
	cr_expect_eq(model_write(M, "my_data", 0, 64, &d2, 0), 0);
	cr_expect_eq(model_write(M, "my_data_snap", 256, 8, &d3, MODEL_FUA), 0);
	expect_reads("my_data", 0, 64, 2, 0);
	/* lvconvert --merge: my_data becomes snapshot-merge on the same COW. */
	seg_snap("my_data", MODEL_T_MERGE, "my_data_org", "hdd1", 1024, 64, true, false);
	cr_expect_eq(model_snapshot_state(M, "my_data"), MODEL_SNAP_MERGING);
	cr_expect_eq(model_snapshot_state(M, "my_data_snap"), MODEL_SNAP_INVALID,
		     "the handover source");
	expect_reads("my_data", 0, 128, 1, 0);
	expect_reads("my_data", 256, 8, 3, 0);
	/* The raw origin is half merged: either value. */
	cr_expect_eq(model_read_expect(M, "my_data_org", 0, &e), 0);
	cr_expect_eq(e.n, 2);
	expect_reads("my_data_org", 0, 1, 2, 0);
	/* A write during the merge lands in the merged view. */
	cr_expect_eq(model_write(M, "my_data", 256, 1, &d5, 0), 0);
	expect_reads("my_data", 256, 1, 5, 0);
	cr_expect_eq(model_merge_done(M, "my_data"), 0);
	cr_expect_eq(model_snapshot_state(M, "my_data"), MODEL_SNAP_VALID);
	expect_reads("my_data_org", 0, 64, 1, 0);
	expect_mismatch("my_data_org", 0, 1, 2, 0);
	expect_reads("my_data_org", 256, 1, 5, 0);
	expect_reads("my_data_org", 257, 7, 3, 1);
	expect_reads("my_data", 0, 128, 1, 0);
}

Test(model, merge_keeps_other_snapshots)
{
	struct model_data d2 = pat(2, 0);

	recipe(64, true, false, 4096);
	cr_expect_eq(model_write(M, "my_data", 0, 64, &d2, 0), 0);
	cr_assert_eq(model_add_disk(M, "cow2", 4096, false, 0), 0);
	seg_snap("S2", MODEL_T_SNAPSHOT, "my_data_org", "cow2", 1024, 8, true, false);
	expect_reads("S2", 0, 64, 2, 0);
	seg_snap("my_data", MODEL_T_MERGE, "my_data_org", "hdd1", 1024, 64, true, false);
	cr_expect_eq(model_merge_done(M, "my_data"), 0);
	expect_reads("my_data_org", 0, 64, 1, 0);
	expect_reads("S2", 0, 64, 2, 0);
}

/* ---- scale ---- */

Test(model, sparse)
{
	struct model_data d = pat(1, 0);
	struct model_stats st;

	cr_assert_eq(model_add_disk(M, "big", 1ull << 31, false, 0), 0); /* 1 TiB */
	for (unsigned i = 0; i < 1000; i++)
		cr_expect_eq(model_write(M, "big", (uint64_t)i * 1000003, 1, &d, 0), 0);
	model_get_stats(M, &st);
	cr_expect_eq(st.states, 1000);
	cr_expect_eq(st.entries, 2000, "initial + one write each");
	model_flush(M, "big");
	model_get_stats(M, &st);
	cr_expect_eq(st.entries, 1000, "a flush drops the superseded versions");
	expect_zero("big", 17);
}

/* ---- crash after an invalidation; crash mid-merge ---- */

/*
 * An origin write waits for a copy that fails: the snapshot is invalidated
 * and the write is released (spec 4.4), so its acknowledgement proves no
 * record. The header write that invalidated the snapshot is plain (spec
 * 2.9): after a power cut it may be lost, the store comes back valid with
 * no record for the chunk, and the snapshot reads through to the origin,
 * which may hold its older content (seed-1 was never flushed) or the
 * released write.
 */
Test(model, invalidated_snapshot_after_crash_reads_through_to_the_origin)
{
	struct model_data d1 = pat(1, 0), d2 = pat(2, 0);
	struct model_expect e;
	uint64_t id;

	cr_assert_eq(model_add_disk(M, "data", 2048, false, 0), 0);
	cr_assert_eq(model_add_disk(M, "cow", 2048, false, 0), 0);
	seg_linear("X_org", "/dev/data", 0, 2048);
	seg_origin("X", "/dev/mapper/X_org", 2048);
	cr_assert_eq(model_write(M, "X", 0, 16, &d1, 0), 0); /* not flushed */
	seg_snap("S", MODEL_T_SNAPSHOT, "/dev/mapper/X_org", "/dev/cow", 2048, 16, true, false);
	cr_assert_eq(model_write_begin(M, "X", 0, 16, &d2, 0, &id), 0);
	cr_assert_eq(model_snapshot_invalidate(M, "S"), 0); /* the copy failed */
	model_write_end(M, id, 0);
	model_crash(M);
	seg_linear("X_org", "/dev/data", 0, 2048);
	seg_snap("S", MODEL_T_SNAPSHOT, "/dev/mapper/X_org", "/dev/cow", 2048, 16, true, false);
	seg_origin("X", "/dev/mapper/X_org", 2048);
	cr_assert_eq(model_read_expect(M, "S", 0, &e), 0);
	cr_expect(e.may_fail, "the invalidation may have reached the disk");
	cr_expect(e.may_succeed, "or not");
	cr_expect_eq(e.n_total, 3, "zero (seed-1 never flushed), seed-1, or seed-2");
	expect_reads("S", 0, 16, 2, 0);
}

/* A valid store: an acknowledged origin write proves the record. */
Test(model, valid_snapshot_after_crash_keeps_the_copy)
{
	struct model_data d1 = pat(1, 0), d2 = pat(2, 0);
	struct model_expect e;

	cr_assert_eq(model_add_disk(M, "data", 2048, false, 0), 0);
	cr_assert_eq(model_add_disk(M, "cow", 2048, false, 0), 0);
	seg_linear("X_org", "/dev/data", 0, 2048);
	seg_origin("X", "/dev/mapper/X_org", 2048);
	cr_assert_eq(model_write(M, "X", 0, 16, &d1, 0), 0);
	seg_snap("S", MODEL_T_SNAPSHOT, "/dev/mapper/X_org", "/dev/cow", 2048, 16, true, false);
	cr_assert_eq(model_write(M, "X", 0, 16, &d2, 0), 0);
	model_crash(M);
	seg_linear("X_org", "/dev/data", 0, 2048);
	seg_snap("S", MODEL_T_SNAPSHOT, "/dev/mapper/X_org", "/dev/cow", 2048, 16, true, false);
	seg_origin("X", "/dev/mapper/X_org", 2048);
	cr_assert_eq(model_read_expect(M, "S", 0, &e), 0);
	cr_expect_not(e.may_fail);
	cr_expect_eq(e.n_total, 1, "exactly seed-1");
	expect_mismatch("S", 0, 16, 2, 0);
}

/*
 * A crash mid-merge: after the restart the merge resumes and copies the
 * snapshot's value over the origin. A first read of the origin that sees
 * its old value must not pin it: the merge may still write the new one.
 */
Test(model, crash_mid_merge_does_not_pin_what_the_merge_writes)
{
	struct model_data d2 = pat(2, 0);

	recipe(16, true, false, 4096);
	cr_assert_eq(model_write(M, "my_data", 0, 16, &d2, 0), 0);
	model_flush(M, "my_data");
	seg_snap("my_data", MODEL_T_MERGE, "/dev/mapper/my_data_org", "/dev/hdd1", 1024, 16, true,
		 false);
	model_crash(M);
	seg_linear("my_data_org", "/dev/sd1a", 384, 1024);
	seg_snap("my_data", MODEL_T_MERGE, "/dev/mapper/my_data_org", "/dev/hdd1", 1024, 16, true,
		 false);
	expect_reads("my_data_org", 0, 16, 2, 0);  /* not merged yet */
	expect_reads("my_data_org", 0, 16, 1, 0);  /* merged since */
}

/*
 * A read check resolves its device once per run of sectors that map to
 * consecutive locations: a run ends at every segment boundary, so a read
 * across two linear segments onto two disks expects each disk's data.
 */
Test(model, read_check_across_segments_expects_each_segment_target)
{
	struct model_data da = pat(3, 0), db = pat(4, 0);
	struct model_segment segs[2] = {
		{ .start = 0, .len = 32, .type = MODEL_T_LINEAR, .dev = "/dev/a", .offset = 0 },
		{ .start = 32, .len = 32, .type = MODEL_T_LINEAR, .dev = "/dev/b", .offset = 8 },
	};
	uint8_t *b = malloc(64 * 512);
	struct model_mismatch mm;

	cr_assert_eq(model_add_disk(M, "a", 64, false, 0), 0);
	cr_assert_eq(model_add_disk(M, "b", 64, false, 0), 0);
	cr_assert_eq(model_write(M, "a", 0, 64, &da, 0), 0);
	cr_assert_eq(model_write(M, "b", 0, 64, &db, 0), 0);
	cr_assert_eq(model_dev_set(M, "J", segs, 2), 0);
	pattern_fill_range(3, 0, 32, b);
	pattern_fill_range(4, 8, 32, b + 32 * 512);
	cr_expect_eq(model_check_read(M, "J", 0, 64, b, 0, &mm), 0, "sector %llu: expected %s, found %s",
		     (unsigned long long)mm.sector, mm.expected, mm.found);
	/* The second segment holding the first disk's next sectors is wrong. */
	pattern_fill_range(3, 32, 32, b + 32 * 512);
	cr_expect_eq(model_check_read(M, "J", 0, 64, b, 0, &mm), 1);
	cr_expect_eq(mm.sector, 32);
	/* A read that starts inside the first segment ends the run there too. */
	pattern_fill_range(3, 30, 2, b);
	pattern_fill_range(4, 8, 2, b + 2 * 512);
	cr_expect_eq(model_check_read(M, "J", 30, 4, b, 0, &mm), 0, "sector %llu: expected %s, found %s",
		     (unsigned long long)mm.sector, mm.expected, mm.found);
	free(b);
}
