/*
 * test_explore.c - the crash explorer: the real store passes every state
 * of a small trace; a deliberately broken durable state (an area record
 * pointing at a COW chunk whose data never became durable) is a violation
 * with evidence; survivor text round-trips; crashes inside a step that a
 * COW write error invalidates, and over a COW device whose store is lost,
 * are no violations; the writes pending at each crash point are recorded
 * with the trace line that issued them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "explore.h"
#include "replay.h"
#include "statedb.h"

#define TRACE SNAPSIM_SOURCE_DIR "/traces/explore-origin-writes.yaml"

Test(explore, real_store_passes_small_trace)
{
	struct explore_opts o = { .mode = EXPLORE_MODE_COMPLETION, .subsets = SIM_SUBSET_ALL,
				  .budget = 8, .only_point = -1 };
	struct explore_result res;

	cr_assert_eq(explore_trace(TRACE, &o, &res), EXPLORE_OK, "%s %s", res.failure,
		     res.replay_failure);
	cr_assert_gt(res.points, 5);
	cr_assert_eq(res.points_explored, res.points);
	cr_assert_gt(res.states_checked, res.points);
	cr_assert_geq(res.states_total, res.states_checked);
	cr_assert_eq(res.failures, 0);
	cr_assert(res.goal[EXPLORE_GOAL_OUT_OF_ORDER], "three origin writes in flight complete out of order");
}

Test(explore, shards_split_points)
{
	struct explore_opts o = { .mode = EXPLORE_MODE_FLUSH, .budget = 2, .only_point = -1,
				  .shard_n = 2 };
	struct explore_result a, b;

	o.shard_k = 0;
	cr_assert_eq(explore_trace(TRACE, &o, &a), EXPLORE_OK);
	o.shard_k = 1;
	cr_assert_eq(explore_trace(TRACE, &o, &b), EXPLORE_OK);
	cr_assert_eq(a.points, b.points);
	cr_assert_eq(a.points_explored + b.points_explored, a.points);
}

Test(explore, bad_trace_is_class_2)
{
	struct explore_opts o = { .budget = 2, .only_point = -1 };
	struct explore_result res;

	cr_assert_eq(explore_trace(SNAPSIM_SOURCE_DIR "/traces/bad/unknown-key.yaml", &o, &res),
		     EXPLORE_BAD_TRACE);
	cr_assert(strstr(res.replay_failure, "unknown-key.yaml:") != NULL, "%s", res.replay_failure);
}

struct broken_ctx {
	struct explore_state_result sr;
	bool ran;
};

static void write_done(struct bio *bio, int status)
{
	(void)bio;
	cr_assert_eq(status, 0);
}

/* At the trace's marker: zero the first data chunk of the COW on a fork, durably. */
static int broken_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct broken_ctx *bc = ctx;
	struct sim_disk *crashed[8];
	unsigned nd = replay_world_nr_disks(w), cow = 99;
	struct sim_sched s;
	struct bio bio;
	uint8_t zero[8 * 512] = { 0 };

	if (cp->kind != REPLAY_CRASH_MARKER)
		return 0;
	sim_sched_init(&s, NULL);
	for (unsigned i = 0; i < nd; i++) {
		struct sim_disk_fork_opts fo = { .sched = &s };

		cr_assert_eq(sim_disk_fork(replay_world_disk(w, i), NULL, 0, &fo, &crashed[i]), 0);
		if (!strcmp(replay_world_disk_name(w, i), "cow"))
			cow = i;
	}
	cr_assert_lt(cow, nd);
	/* P 8: chunk 2 is the first data chunk, sectors 16..23; the record in area 0 stays. */
	bio_init(&bio, sim_disk_bdev(crashed[cow]), BIO_WRITE, BIO_FUA, 16, 8, zero, write_done, NULL);
	bdev_submit(&bio);
	sim_sched_run(&s, 0);
	explore_check_state(w, crashed, 1, NULL, NULL, &bc->sr);
	for (unsigned i = 0; i < nd; i++)
		sim_disk_destroy(crashed[i]);
	sim_sched_destroy(&s);
	bc->ran = true;
	return 1;
}

Test(explore, broken_durable_state_is_a_violation)
{
	struct broken_ctx bc = { 0 };
	struct replay_opts ro = { .crash_modes = REPLAY_CRASH_MARKER, .crash_hook = broken_hook,
				  .crash_ctx = &bc };
	struct replay_result rr;
	struct trace_error err;

	replay_run(TRACE, &ro, &rr, &err);
	cr_assert(bc.ran);
	cr_assert_eq(bc.sr.verdict, EXPLORE_VIOLATION, "%s", bc.sr.message);
	cr_assert_geq(bc.sr.nr_evidence, 1);
	cr_assert_str_eq(bc.sr.evidence[0].device, "X_snap", "%s", bc.sr.message);
	cr_assert(strstr(bc.sr.evidence[0].found, "zero") != NULL, "%s", bc.sr.evidence[0].found);
	cr_assert(strstr(bc.sr.evidence[0].expected, "seed-1") != NULL, "%s", bc.sr.evidence[0].expected);
}

Test(explore, survivors_parse)
{
	const char *names[2] = { "data", "cow" };
	struct explore_survivors s;

	cr_assert_eq(explore_survivors_parse("cow:3,5/f.1;data:7", 2, names, &s), 0);
	cr_assert_eq(s.nr[0], 1);
	cr_assert_eq(s.writes[0][0].id, 7);
	cr_assert_eq(s.nr[1], 2);
	cr_assert_null(s.writes[1][0].unit_mask);
	cr_assert_eq(s.writes[1][1].unit_mask[0], 0xf);
	cr_assert_eq(s.writes[1][1].unit_mask[1], 0x1);
	explore_survivors_free(&s);
	cr_assert_eq(explore_survivors_parse("", 2, names, &s), 0);
	explore_survivors_free(&s);
	cr_assert_eq(explore_survivors_parse("disk:1", 2, names, &s), -EINVAL);
	cr_assert_eq(explore_survivors_parse("cow:x", 2, names, &s), -EINVAL);
	cr_assert_eq(explore_survivors_parse("cow:1;cow:2", 2, names, &s), -EINVAL);
}

/* ---- a COW whose header never became durable ---- */

/* The store's header never reached the disk (no commit, no flush): the COW
 * is what its preparer left, activation refuses it (ENXIO), and that is no
 * violation. */
Test(explore, never_created_store_is_not_corrupt)
{
	struct explore_opts o = { .mode = EXPLORE_MODE_FLUSH, .subsets = SIM_SUBSET_ALL,
				  .budget = 16, .only_point = -1 };
	struct explore_result res;

	cr_assert_eq(explore_trace(SNAPSIM_SOURCE_DIR "/traces/cow-not-zeroed.yaml", &o, &res),
		     EXPLORE_OK, "%s %s", res.failure, res.replay_failure);
	cr_assert_gt(res.states_checked, 1);
}

/* ... but a first sector that neither the store nor the preparer wrote is corrupt. */
static int garbage_header_hook(void *ctx, struct replay_world *w,
			       const struct replay_crash_point *cp)
{
	struct broken_ctx *bc = ctx;
	struct sim_disk *crashed[8];
	unsigned nd = replay_world_nr_disks(w), cow = 99;
	struct sim_sched s;
	struct bio bio;
	uint8_t junk[8 * 512];

	if (cp->kind != REPLAY_CRASH_MARKER)
		return 0;
	memset(junk, 0x5a, sizeof(junk));
	sim_sched_init(&s, NULL);
	for (unsigned i = 0; i < nd; i++) {
		struct sim_disk_fork_opts fo = { .sched = &s };

		cr_assert_eq(sim_disk_fork(replay_world_disk(w, i), NULL, 0, &fo, &crashed[i]), 0);
		if (!strcmp(replay_world_disk_name(w, i), "cow"))
			cow = i;
	}
	cr_assert_lt(cow, nd);
	bio_init(&bio, sim_disk_bdev(crashed[cow]), BIO_WRITE, BIO_FUA, 0, 8, junk, write_done,
		 NULL);
	bdev_submit(&bio);
	sim_sched_run(&s, 0);
	explore_check_state(w, crashed, 1, NULL, NULL, &bc->sr);
	for (unsigned i = 0; i < nd; i++)
		sim_disk_destroy(crashed[i]);
	sim_sched_destroy(&s);
	bc->ran = true;
	return 1;
}

Test(explore, garbage_header_is_a_violation)
{
	struct broken_ctx bc = { 0 };
	struct replay_opts ro = { .crash_modes = REPLAY_CRASH_MARKER,
				  .crash_hook = garbage_header_hook, .crash_ctx = &bc };
	struct replay_result rr;
	struct trace_error err;

	replay_run(TRACE, &ro, &rr, &err);
	cr_assert(bc.ran);
	cr_assert_eq(bc.sr.verdict, EXPLORE_VIOLATION, "%s", bc.sr.message);
	cr_assert(strstr(bc.sr.message, "corrupt COW header") != NULL, "%s", bc.sr.message);
}

/* ---- crashes a trace's own I/O steps do not bracket ---- */

/*
 * A failed copy invalidates the snapshot in the middle of an origin write
 * step; its plain header write and the origin write it releases may each
 * be durable or lost at any disk completion after that (spec 2.9, 4.4),
 * before the step ends. Every such state is legitimate: the snapshot reads
 * EIO, or comes back valid with the origin's new data where no record was
 * proven durable.
 */
Test(explore, cow_write_error_at_every_completion)
{
	struct explore_opts o = { .mode = EXPLORE_MODE_COMPLETION, .subsets = SIM_SUBSET_ALL,
				  .budget = 64, .only_point = -1, .keep_going = true };
	struct explore_result res;

	cr_assert_eq(explore_trace(SNAPSIM_SOURCE_DIR "/traces/cow-write-error.yaml", &o, &res),
		     EXPLORE_OK, "%s %s", res.failure, res.replay_failure);
	cr_assert_eq(res.failures, 0);
	cr_assert_eq(res.points_explored, res.points);
	cr_assert_gt(res.points, 10, "the copy, header, origin and commit writes each complete");
}

/*
 * A COW device the trace zeroed itself without a flush: after a power cut
 * before the first commit the snapshot does not come back (garbage header),
 * and the device holds the store's area and copies, which no model of data
 * predicts. It is the store's, not data to check.
 */
Test(explore, cow_device_of_a_lost_store_is_not_data)
{
	struct explore_opts o = { .subsets = SIM_SUBSET_ALL, .budget = 64, .only_point = -1,
				  .keep_going = true };
	const enum explore_mode modes[] = { EXPLORE_MODE_COMPLETION, EXPLORE_MODE_FLUSH };
	struct explore_result res;

	for (unsigned i = 0; i < 2; i++) {
		o.mode = modes[i];
		cr_assert_eq(explore_trace(SNAPSIM_SOURCE_DIR
					   "/traces/explore-cow-linear-unflushed.yaml", &o, &res),
			     EXPLORE_OK, "mode %u: %s %s", i, res.failure, res.replay_failure);
		cr_assert_eq(res.failures, 0);
		cr_assert_gt(res.states_checked, res.points);
	}
}

static long long q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

Test(explore, pending_writes_recorded_with_their_trace_lines)
{
	struct explore_opts o = { .mode = EXPLORE_MODE_FLUSH, .subsets = SIM_SUBSET_ALL, .budget = 16,
				  .only_point = -1 };
	struct explore_result res;
	char path[256], err[256];
	sqlite3 *h;

	snprintf(path, sizeof(path), "/tmp/snapsim-test-explore-writes-%d.db", (int)getpid());
	unlink(path);
	cr_assert_eq(statedb_open(path, &o.db, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(explore_trace(TRACE, &o, &res), EXPLORE_OK, "%s", res.failure);
	statedb_close(o.db);
	cr_assert_eq(sqlite3_open(path, &h), SQLITE_OK);
	cr_assert_gt(q1(h, "SELECT COUNT(*) FROM writes"), 0);
	/* The parallel group (line 25) and the FUA write (line 31) issue every write pending at a point. */
	cr_assert_eq(q1(h, "SELECT COUNT(*) FROM writes WHERE trace_line NOT IN (25, 31)"), 0);
	cr_assert_gt(q1(h, "SELECT COUNT(*) FROM writes WHERE trace_line = 25"), 0);
	cr_assert_gt(q1(h, "SELECT COUNT(*) FROM writes WHERE trace_line = 31 AND disk = 'data' AND "
			   "sector = 8 AND nsectors = 8 AND flags LIKE 'in-flight%FUA%' AND units = 8"), 0);
	/* A state's one surviving write (DISK:ID) is a pending write of its point. */
	static const char single[] = "s.survivors GLOB '[a-z]*:[0-9]*' AND s.survivors NOT GLOB '*[,;/]*'";
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM states s WHERE %s", single);
	cr_assert_gt(q1(h, sql), 0);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM states s WHERE %s AND NOT EXISTS (SELECT 1 FROM "
		 "writes w WHERE w.point = s.point AND w.disk = substr(s.survivors, 1, instr(s.survivors, ':') - 1) "
		 "AND w.write_id = CAST(substr(s.survivors, instr(s.survivors, ':') + 1) AS INTEGER))", single);
	cr_assert_eq(q1(h, sql), 0);
	sqlite3_close(h);
	unlink(path);
}

/* The goals of the corpus's blind-spot traces: each reached by the trace
 * written for it, none by a trace that cannot reach it. */
static void goals_of(const char *trace, enum explore_mode mode, uint64_t budget,
		     struct explore_result *res)
{
	struct explore_opts o = { .mode = mode, .subsets = SIM_SUBSET_ALL, .budget = budget,
				  .only_point = -1 };

	cr_assert_eq(explore_trace(trace, &o, res), EXPLORE_OK, "%s: %s %s", trace,
		     res->failure, res->replay_failure);
}

Test(explore, blind_spot_goals)
{
	struct explore_result res;

	goals_of(SNAPSIM_SOURCE_DIR "/traces/cow-partial-chunk.yaml", EXPLORE_MODE_FLUSH, 1, &res);
	cr_expect(res.goal[EXPLORE_GOAL_COW_PARTIAL]);
	cr_expect(!res.goal[EXPLORE_GOAL_INVALID_UNCOMMITTED], "A committed before it was invalidated");
	goals_of(SNAPSIM_SOURCE_DIR "/traces/invalid-before-commit.yaml", EXPLORE_MODE_FLUSH, 16, &res);
	cr_expect(res.goal[EXPLORE_GOAL_INVALID_UNCOMMITTED]);
	goals_of(SNAPSIM_SOURCE_DIR "/traces/race-merge-own-writes.yaml", EXPLORE_MODE_COMPLETION, 1, &res);
	cr_expect(res.goal[EXPLORE_GOAL_TWO_READERS]);
	cr_expect(!res.goal[EXPLORE_GOAL_COW_PARTIAL], "a 1 MiB COW of 8-sector chunks, never full");
	goals_of(TRACE, EXPLORE_MODE_COMPLETION, 1, &res);
	cr_expect(!res.goal[EXPLORE_GOAL_TWO_READERS], "no snapshot reads in the trace");
	cr_expect(res.goal[EXPLORE_GOAL_RACE], "its snapshot read runs beside an origin write");
	for (int g = EXPLORE_GOAL_HUGE_IO; g < EXPLORE_GOAL_COUNT; g++)
		cr_expect(g == EXPLORE_GOAL_RACE || !res.goal[g],
			  "%s: one snapshot, no reloads, merges, aliases or errors", explore_goal_name(g));
}

static const char feature_table[] =
	"version: 1\nseed: 3\ndisks:\n  - {name: data, size: 1MiB}\n  - {name: cowa, size: 39s}\n"
	"steps:\n"
	"  - dm: create X_org --table \"0 2048 linear /dev/data 0\"\n"
	"  - dm: create X --table \"0 2048 snapshot-origin /dev/mapper/X_org\"\n"
	"  - dm: suspend X\n"
	"  - dm: create A --table \"0 2048 snapshot /dev/mapper/X_org /dev/cowa P 8 1 "
	"discard_zeroes_cow\"\n"
	"  - dm: resume X\n"
	"  - write: {dev: X, offset: 0, length: 8K, data: seed-2}\n"
	"  - crash: a-full\n";

/* Each goal from what the run did, whatever the trace is called. */
Test(explore, goals_from_events)
{
	struct explore_result res;
	char path[] = "/tmp/snapsim-goals-XXXXXX";
	int fd = mkstemp(path);

	/* The chunk size is the store's, not the table's last word. */
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, feature_table, strlen(feature_table)), (ssize_t)strlen(feature_table));
	close(fd);
	goals_of(path, EXPLORE_MODE_MARKED, 1, &res);
	unlink(path);
	cr_expect(res.goal[EXPLORE_GOAL_COW_PARTIAL], "32/39 with 8-sector chunks and a feature");
	goals_of(SNAPSIM_SOURCE_DIR "/traces/device-aliases.yaml", EXPLORE_MODE_MARKED, 1, &res);
	cr_expect(res.goal[EXPLORE_GOAL_ALIASES]);
	cr_expect(res.goal[EXPLORE_GOAL_CTR_ERROR], "the trace's refused aliased tables");
	goals_of(SNAPSIM_SOURCE_DIR "/traces/table-errors.yaml", EXPLORE_MODE_FLUSH, 1, &res);
	cr_expect(res.goal[EXPLORE_GOAL_CTR_ERROR]);
	cr_expect(!res.goal[EXPLORE_GOAL_ALIASES]);
	goals_of(SNAPSIM_SOURCE_DIR "/traces/reload-area-full.yaml", EXPLORE_MODE_MARKED, 1, &res);
	cr_expect(res.goal[EXPLORE_GOAL_RELOAD_FULL_AREA]);
	goals_of(SNAPSIM_SOURCE_DIR "/traces/reactivate.yaml", EXPLORE_MODE_MARKED, 1, &res);
	cr_expect(!res.goal[EXPLORE_GOAL_RELOAD_FULL_AREA], "reactivated mid-area");
	goals_of(SNAPSIM_SOURCE_DIR "/traces/race-origin-vs-snapread.yaml", EXPLORE_MODE_COMPLETION,
		 1, &res);
	cr_expect(res.goal[EXPLORE_GOAL_RACE]);
	cr_expect(!res.goal[EXPLORE_GOAL_MERGE_OWN]);
	goals_of(SNAPSIM_SOURCE_DIR "/traces/race-merge-own-writes.yaml", EXPLORE_MODE_FLUSH, 1, &res);
	cr_expect(res.goal[EXPLORE_GOAL_MERGE_OWN]);
	goals_of(SNAPSIM_SOURCE_DIR "/traces/merge.yaml", EXPLORE_MODE_FLUSH, 1, &res);
	cr_expect(res.goal[EXPLORE_GOAL_MID_MERGE]);
	cr_expect(!res.goal[EXPLORE_GOAL_HUGE_IO]);
	goals_of(SNAPSIM_SOURCE_DIR "/traces/chunk-huge-io.yaml", EXPLORE_MODE_MARKED, 1, &res);
	cr_expect(res.goal[EXPLORE_GOAL_HUGE_IO]);
	goals_of(SNAPSIM_SOURCE_DIR "/traces/chunk-max.yaml", EXPLORE_MODE_FLUSH, 1, &res);
	cr_expect(!res.goal[EXPLORE_GOAL_HUGE_IO], "constructed, never written through");
}
