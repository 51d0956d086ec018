/*
 * test_explore_judge.c - the judged check (replay_rec.h) clears a crash
 * state only when the full check passes it. At a crash point with writes
 * pending on an origin and a persistent snapshot, a reference state (no
 * pending write survived) is recorded; then judged:
 *   - every pending write survived: allowed contents, cleared, and the full
 *     check passes it too;
 *   - the reference's images with one sector a pending write covers
 *     overwritten by bytes no write ever held: not cleared, and the full
 *     check fails it (the model allows neither old nor new there); recorded,
 *     its check leaves the reads to the recording, which refuses them;
 *   - the same with a metadata sector of the COW changed: not cleared
 *     (control: the recovered stack would differ);
 *   - another seed of test writes: not cleared.
 * Carried to a later crash point (replay_rec_rebase), after a flush made a
 * pending write durable and another write is pending:
 *   - the reference that read the old data under the flushed write is
 *     refused (the later model allows only the new data there);
 *   - the one that read the new data carries: it clears the later point's
 *     states of allowed contents, and not junk.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "bdev.h"
#include "explore.h"
#include "hash.h"
#include "pattern.h"
#include "replay.h"
#include "replay_rec.h"
#include "sim_disk.h"
#include "trace.h"

static const char trace_yaml[] =
	"version: 1\n"
	"seed: 5\n"
	"disks:\n"
	"  - {name: data, size: 256K}\n"
	"  - {name: cow, size: 64K}\n"
	"steps:\n"
	"  - dm: create X_org --table \"0 512 linear /dev/data 0\"\n"
	"  - write: {dev: X_org, length: 64K, data: seed-1}\n"
	"  - flush: X_org\n"
	"  - dm: create X --table \"0 512 snapshot-origin /dev/mapper/X_org\"\n"
	"  - dm: suspend X\n"
	"  - dm: create S --table \"0 512 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - dm: resume X\n"
	"  - write: {dev: X, offset: 0, length: 4K, data: seed-2}\n"
	"  - flush: X\n"
	"  - write: {dev: X_org, offset: 64K, length: 4K, data: seed-3}\n"
	"  - crash: pending\n";

struct judge_ctx {
	bool ran;
	uint64_t reached; /* what was checked, a bit each */
};

/* Fork every disk of w; with all = true every pending write survives. */
static void fork_all(struct replay_world *w, bool all, struct sim_disk **out)
{
	for (unsigned d = 0; d < replay_world_nr_disks(w); d++) {
		struct sim_disk *disk = replay_world_disk(w, d);
		size_t n = sim_disk_pending_count(disk);
		struct sim_disk_pending pend[64];
		struct sim_crash_write sv[64];

		cr_assert_leq(n, 64);
		n = sim_disk_pending_list(disk, pend, n);
		for (size_t i = 0; i < n; i++)
			sv[i] = (struct sim_crash_write){ pend[i].id, NULL };
		cr_assert_eq(sim_disk_fork(disk, sv, all ? n : 0, NULL, &out[d]), 0);
	}
}

static void drop(struct replay_world *w, struct sim_disk **f)
{
	for (unsigned d = 0; d < replay_world_nr_disks(w); d++)
		sim_disk_destroy(f[d]);
}

/* Overwrite one sector of a fork's durable image with data. */
static void poke(struct sim_disk *d, sector_t s, const uint8_t *data)
{
	uint8_t buf[512];

	memcpy(buf, data, sizeof(buf));
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(d), BIO_WRITE, s, 1, buf), 0);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(d), BIO_FLUSH, 0, 0, NULL), 0);
}

static int disk_index(struct replay_world *w, const char *name)
{
	for (unsigned d = 0; d < replay_world_nr_disks(w); d++)
		if (!strcmp(replay_world_disk_name(w, d), name))
			return (int)d;
	cr_assert_fail("no disk %s", name);
	return -1;
}

static int hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct judge_ctx *jc = ctx;
	struct sim_disk *ref[8], *st[8];
	struct explore_state_result out;
	struct replay_rec *rec;
	uint8_t junk[512];
	uint64_t seed = 99, ioseed = explore_check_more_io_seed(99);
	int data = disk_index(w, "data"), cow = disk_index(w, "cow");

	if (cp->kind != REPLAY_CRASH_MARKER)
		return 0;
	jc->ran = true;
	cr_assert_leq(replay_world_nr_disks(w), 8);
	cr_assert_gt(sim_disk_pending_count(replay_world_disk(w, (unsigned)data)), 0,
		     "the trace leaves no write pending on the origin's disk");

	fork_all(w, false, ref);
	rec = replay_rec_new(replay_world_nr_disks(w));
	cr_assert(rec);
	cr_assert_eq(explore_check_state_rec(w, ref, seed, NULL, NULL, &out, rec), EXPLORE_OK,
		     "%s", out.message);
	cr_assert_eq(replay_rec_finish(rec), 0, "the reference cannot judge");
	cr_assert_gt(replay_rec_unsettled(rec), 0);

	/* Every pending write survived: allowed, cleared, and the full check agrees. */
	fork_all(w, true, st);
	cr_expect_eq(replay_rec_judge(rec, st, ioseed), 0, "a state of allowed contents not cleared");
	cr_expect_eq(explore_check_state(w, st, seed, NULL, NULL, &out), EXPLORE_OK, "%s",
		     out.message);
	drop(w, st);
	jc->reached |= 1;

	/* Sector 130 of the origin (under the pending seed-3 write): junk. */
	memset(junk, 0xa5, sizeof(junk));
	fork_all(w, false, st);
	poke(st[data], 130, junk);
	cr_expect_eq(replay_rec_judge(rec, st, ioseed), 1, "a state of junk was cleared");
	cr_expect_eq(explore_check_state(w, st, seed, NULL, NULL, &out), EXPLORE_VIOLATION,
		     "the full check passed junk: %s", out.message);
	/* Recorded, the junk state's reads are the recording's to judge: it refuses them. */
	{
		struct replay_rec *jr = replay_rec_new(replay_world_nr_disks(w));

		cr_assert(jr);
		cr_expect_eq(explore_check_state_rec(w, st, seed, NULL, NULL, &out, jr), EXPLORE_OK,
			     "a recorded check judged a read itself: %s", out.message);
		cr_expect_neq(replay_rec_finish(jr), 0, "the recording cleared junk");
		replay_rec_free(jr);
	}
	drop(w, st);
	jc->reached |= 2;

	/* Old data, but a pattern of another sector (a misdirected write). */
	pattern_fill(0, 131, junk);
	fork_all(w, false, st);
	poke(st[data], 130, junk);
	cr_expect_eq(replay_rec_judge(rec, st, ioseed), 1, "a misplaced sector was cleared");
	drop(w, st);
	jc->reached |= 4;

	/* The COW's first metadata area changed: control, never judged. */
	fork_all(w, false, st);
	memset(junk, 0, sizeof(junk));
	junk[0] = 1;
	poke(st[cow], 8, junk);
	cr_expect_eq(replay_rec_judge(rec, st, ioseed), 1, "a state with other metadata was cleared");
	drop(w, st);
	jc->reached |= 8;

	/* Test writes of another seed: the recording does not follow them. */
	fork_all(w, true, st);
	cr_expect_eq(replay_rec_judge(rec, st, sim_hash_combine(ioseed, 1)), 1);
	drop(w, st);
	jc->reached |= 16;

	replay_rec_free(rec);
	drop(w, ref);
	return 0;
}

Test(explore_judge, clears_only_what_the_full_check_passes)
{
	struct judge_ctx jc = { 0 };
	struct replay_opts ro = { .crash_modes = REPLAY_CRASH_MARKER, .crash_hook = hook,
				  .crash_ctx = &jc, .quiet = true };
	struct replay_result rr;
	struct trace_error err;

	trace_error_clear(&err);
	cr_assert_eq(replay_run_mem("judge.yaml", trace_yaml, sizeof(trace_yaml) - 1, &ro, &rr,
				    &err),
		     REPLAY_PASS, "%s", err.text);
	cr_assert(jc.ran, "no crash point");
	cr_expect_eq(jc.reached, 31);
}

static const char carry_yaml[] =
	"version: 1\n"
	"seed: 5\n"
	"disks:\n"
	"  - {name: data, size: 256K}\n"
	"  - {name: cow, size: 64K}\n"
	"steps:\n"
	"  - dm: create X_org --table \"0 512 linear /dev/data 0\"\n"
	"  - write: {dev: X_org, length: 64K, data: seed-1}\n"
	"  - flush: X_org\n"
	"  - dm: create X --table \"0 512 snapshot-origin /dev/mapper/X_org\"\n"
	"  - dm: suspend X\n"
	"  - dm: create S --table \"0 512 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - dm: resume X\n"
	"  - write: {dev: X, offset: 0, length: 4K, data: seed-2}\n"
	"  - flush: X\n"
	"  - write: {dev: X_org, offset: 32K, length: 4K, data: seed-3}\n"
	"  - crash: pending\n"
	"  - flush: X_org\n"
	"  - write: {dev: X_org, offset: 40K, length: 4K, data: seed-4}\n"
	"  - crash: pending\n";

struct carry_ctx {
	unsigned points;
	struct replay_rec *old_ref, *new_ref; /* recorded at the first point */
	uint64_t shape;
	bool done;
};

static struct replay_rec *record(struct replay_world *w, bool all)
{
	struct sim_disk *ref[8];
	struct explore_state_result out;
	struct replay_rec *rec = replay_rec_new(replay_world_nr_disks(w));

	cr_assert(rec);
	fork_all(w, all, ref);
	cr_assert_eq(explore_check_state_rec(w, ref, 99, NULL, NULL, &out, rec), EXPLORE_OK,
		     "%s", out.message);
	cr_assert_eq(replay_rec_finish(rec), 0, "the reference cannot judge");
	drop(w, ref);
	return rec;
}

/* Rebase rec onto the point of w through the state st (a plain restart's model). */
static int rebase(struct replay_world *w, struct sim_disk **st, struct replay_rec *rec)
{
	struct replay_world *nw;
	char err[256] = "";
	int r;

	cr_assert_eq(replay_world_restart(w, st, &nw, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_empty(err);
	r = replay_rec_rebase(rec, replay_world_model(nw));
	replay_world_destroy(nw);
	return r;
}

static int carry_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct carry_ctx *cc = ctx;
	struct sim_disk *st[8];
	struct explore_state_result out;
	uint64_t ioseed = explore_check_more_io_seed(99);
	uint8_t junk[512];
	int data = disk_index(w, "data");

	if (cp->kind != REPLAY_CRASH_MARKER)
		return 0;
	if (cc->points++ == 0) {
		cc->old_ref = record(w, false); /* reads seed-1 under the seed-3 write */
		cc->new_ref = record(w, true);  /* reads seed-3 there */
		cc->shape = replay_world_shape(w);
		return 0;
	}
	cr_assert_eq(replay_world_shape(w), cc->shape, "no dm step between the points");

	/* No write pending here survived: seed-3 (durable now), seed-1 at 40K. */
	fork_all(w, false, st);
	cr_expect(replay_rec_control_same(cc->old_ref, st), "data sectors counted as control");
	cr_expect_eq(rebase(w, st, cc->old_ref), -1,
		     "a reference of data the later point no longer allows was carried");
	cr_expect_eq(replay_rec_judge(cc->old_ref, st, ioseed), 1, "a refused reference judged");
	cr_expect(replay_rec_control_same(cc->new_ref, st));
	cr_expect_eq(rebase(w, st, cc->new_ref), 0, "a reference still allowed was not carried");
	cr_expect_eq(replay_rec_judge(cc->new_ref, st, ioseed), 0, "its own state not cleared");
	cr_expect_eq(explore_check_state(w, st, 99, NULL, NULL, &out), EXPLORE_OK, "%s",
		     out.message);
	drop(w, st);

	/* The seed-4 write survived too: allowed at this point, cleared. */
	fork_all(w, true, st);
	cr_expect_eq(replay_rec_judge(cc->new_ref, st, ioseed), 0, "allowed contents not cleared");
	cr_expect_eq(explore_check_state(w, st, 99, NULL, NULL, &out), EXPLORE_OK, "%s",
		     out.message);
	drop(w, st);

	/* Junk under the seed-4 write: neither old nor new. */
	memset(junk, 0x5a, sizeof(junk));
	fork_all(w, false, st);
	poke(st[data], 82, junk);
	cr_expect_eq(replay_rec_judge(cc->new_ref, st, ioseed), 1, "junk cleared after carrying");
	cr_expect_eq(explore_check_state(w, st, 99, NULL, NULL, &out), EXPLORE_VIOLATION,
		     "the full check passed junk: %s", out.message);
	drop(w, st);

	/* Old data under the flushed seed-3 write: no longer allowed. */
	pattern_fill(1, 64, junk);
	fork_all(w, false, st);
	poke(st[data], 64, junk);
	cr_expect_eq(replay_rec_judge(cc->new_ref, st, ioseed), 1, "lost durable data cleared");
	cr_expect_eq(explore_check_state(w, st, 99, NULL, NULL, &out), EXPLORE_VIOLATION,
		     "the full check passed lost data: %s", out.message);
	drop(w, st);

	replay_rec_free(cc->old_ref);
	replay_rec_free(cc->new_ref);
	cc->done = true;
	return 0;
}

Test(explore_judge, carries_only_what_the_later_point_allows)
{
	struct carry_ctx cc = { 0 };
	struct replay_opts ro = { .crash_modes = REPLAY_CRASH_MARKER, .crash_hook = carry_hook,
				  .crash_ctx = &cc, .quiet = true };
	struct replay_result rr;
	struct trace_error err;

	trace_error_clear(&err);
	cr_assert_eq(replay_run_mem("carry.yaml", carry_yaml, sizeof(carry_yaml) - 1, &ro, &rr,
				    &err),
		     REPLAY_PASS, "%s", err.text);
	cr_expect_eq(cc.points, 2);
	cr_expect(cc.done, "the second point was not reached");
}
