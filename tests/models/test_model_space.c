/*
 * test_model_space.c - the oracle's COW space accounting at its edges: a
 * COW that ends right after a full metadata area (the commit filling it
 * invalidates the snapshot), and allocations lost at a power cut.
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

TestSuite(space, .init = setup, .fini = teardown);

static struct model_data pat(uint64_t seed)
{
	struct model_data d = { MODEL_DATA_PATTERN, seed, 0, NULL };

	return d;
}

static void dev_set(const char *name, enum model_target_type t, const char *dev,
		    const char *cow, uint64_t len, uint32_t cs, bool po)
{
	struct model_segment s = { .start = 0, .len = len, .type = t, .dev = dev, .cow = cow,
				   .chunk_sectors = cs, .persistent = true, .overflow_mode = po };

	cr_assert_eq(model_dev_set(M, name, &s, 1), 0);
}

/* X over X_org over data (128 sectors of seed-1, flushed), S on cow. */
static void stack(uint64_t cow_sectors, uint32_t cs, bool po)
{
	struct model_data d1 = pat(1);

	cr_assert_eq(model_add_disk(M, "data", 128, false, 0), 0);
	cr_assert_eq(model_add_disk(M, "cow", cow_sectors, false, 0), 0);
	dev_set("X_org", MODEL_T_LINEAR, "/dev/data", NULL, 128, 0, false);
	dev_set("X", MODEL_T_ORIGIN, "/dev/mapper/X_org", NULL, 128, 0, false);
	cr_assert_eq(model_write(M, "X", 0, 128, &d1, 0), 0);
	model_flush(M, "X");
	dev_set("S", MODEL_T_SNAPSHOT, "/dev/mapper/X_org", "/dev/cow", 128, cs, po);
}

static void restart(uint32_t cs)
{
	dev_set("X_org", MODEL_T_LINEAR, "/dev/data", NULL, 128, 0, false);
	dev_set("S", MODEL_T_SNAPSHOT, "/dev/mapper/X_org", "/dev/cow", 128, cs, false);
	dev_set("X", MODEL_T_ORIGIN, "/dev/mapper/X_org", NULL, 128, 0, false);
}

static struct model_expect expect(const char *dev, uint64_t sector)
{
	struct model_expect e;

	cr_assert_eq(model_read_expect(M, dev, sector, &e), 0);
	return e;
}

/* One origin write per chunk, first..last (1-sector chunks). */
static void origin_writes(uint64_t first, uint64_t last, uint64_t seed)
{
	struct model_data d = pat(seed);

	for (uint64_t c = first; c <= last; c++)
		cr_assert_eq(model_write(M, "X", c, 1, &d, 0), 0);
}

/* ---- a COW that ends right after a full area ---- */

/*
 * 34 sectors, 1-sector chunks: area 0 holds 32 records (data chunks
 * 2..33), area 1 would be chunk 34, beyond the end. All 32 chunks can be
 * allocated, but the commit of the 32nd zeroes area 1 first and fails.
 */
Test(space, commit_filling_the_last_area_invalidates)
{
	struct model_data d2 = pat(2);
	uint64_t id;
	struct model_expect e;

	stack(34, 1, false);
	origin_writes(0, 30, 2);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_VALID);
	e = expect("S", 5);
	cr_expect_not(e.may_fail);
	/* While the 32nd chunk's commit runs, a read may still succeed. */
	cr_assert_eq(model_write_begin(M, "X", 31, 1, &d2, 0, &id), 0);
	e = expect("S", 5);
	cr_expect(e.may_fail, "the failing commit may have run");
	cr_expect(e.may_succeed, "or not yet");
	model_write_end(M, id, 0);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_INVALID,
		     "invalid at that commit, not at the next allocation");
	e = expect("S", 5);
	cr_expect(e.may_fail);
	cr_expect_not(e.may_succeed);
	/* The header write that invalidated it is plain: after a power cut
	 * the store may come back valid. */
	model_crash(M);
	restart(1);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_MAYBE_INVALID);
}

/* 35 sectors: area 1 fits (chunk 34), so 32 chunks commit and stay valid. */
Test(space, area_that_fits_is_no_edge)
{
	stack(35, 1, false);
	origin_writes(0, 31, 2);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_VALID);
	origin_writes(32, 32, 2);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_INVALID, "no 33rd data chunk");
}

/* 133 sectors, 2-sector chunks: area 1 (sectors 132..133) is cut by the end. */
Test(space, next_area_partly_beyond_the_end)
{
	struct model_data d = pat(2);

	stack(133, 2, false);
	for (uint64_t c = 0; c < 63; c++)
		cr_assert_eq(model_write(M, "X", c * 2, 2, &d, 0), 0);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_VALID);
	cr_assert_eq(model_write(M, "X", 126, 2, &d, 0), 0);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_INVALID);
}

/* A snapshot write that takes the last chunk fails with EIO and invalidates
 * the store, PO or not: the allocation succeeded, its commit did not. */
Test(space, snapshot_write_taking_the_last_chunk_fails)
{
	struct model_data d5 = pat(5);

	stack(34, 1, true);
	cr_assert_eq(model_write(M, "S", 0, 31, &d5, 0), 0);
	cr_expect_eq(model_write(M, "S", 31, 1, &d5, 0), -EIO);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_INVALID, "not Overflow");
}

/* ---- allocations lost at a power cut ---- */

/*
 * 32 sectors, 8-sector chunks: two data chunks. The copy of origin chunk
 * 0 is allocated but its write never ends (no record proven) when the
 * power is cut: the restarted store may have lost the record and reuse
 * the chunk (spec 2.14). Then two more origin chunks may both fit, so the
 * second must not be taken for a certain invalidation.
 */
Test(space, allocation_lost_at_a_crash_may_be_reused)
{
	struct model_data d2 = pat(2), d3 = pat(3);
	struct model_expect e;
	uint64_t id;

	stack(32, 8, false);
	cr_assert_eq(model_write_begin(M, "X", 0, 8, &d2, 0, &id), 0);
	model_crash(M);
	restart(8);
	cr_assert_eq(model_write(M, "X", 8, 8, &d3, 0), 0);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_VALID);
	cr_assert_eq(model_write(M, "X", 16, 8, &d3, 0), 0);
	cr_expect_neq(model_snapshot_state(M, "S"), MODEL_SNAP_INVALID,
		      "the lost record's chunk may be free again");
	e = expect("S", 16);
	cr_expect(e.may_succeed, "valid, with the old data");
	cr_expect(e.may_fail, "or out of room");
	/* A third new chunk cannot fit either way. */
	cr_assert_eq(model_write(M, "X", 24, 8, &d3, 0), 0);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_INVALID);
}

/* A proven record is not lost: no room means invalid, as without a crash. */
Test(space, proven_allocation_stays_used_after_a_crash)
{
	struct model_data d2 = pat(2), d3 = pat(3);

	stack(32, 8, false);
	cr_assert_eq(model_write(M, "X", 0, 8, &d2, 0), 0);
	model_crash(M);
	restart(8);
	cr_assert_eq(model_write(M, "X", 8, 8, &d3, 0), 0);
	cr_assert_eq(model_write(M, "X", 16, 8, &d3, 0), 0);
	cr_expect_eq(model_snapshot_state(M, "S"), MODEL_SNAP_INVALID);
}
