/*
 * test_statedb.c - the explorer's state database: a round trip of every
 * table, and merging two databases with ids remapped (also an input of
 * schema 2, which has no writes table).
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "statedb.h"

static long long q(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void tmp_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/snapsim-test-statedb-%d-%s.db", (int)getpid(), tag);
	unlink(buf);
}

/* One run with one point, two states (one failing), exceptions, evidence, coverage. */
static void fill(const char *path, const char *trace)
{
	struct statedb *db;
	char err[256];

	cr_assert_eq(statedb_open(path, &db, err, sizeof(err)), 0, "%s", err);
	struct statedb_run run = { .trace = trace, .trace_name = trace, .seed = 7, .options = "--budget 4",
				   .version = "0.1.0", .started = "2026-01-01T00:00:00Z" };
	int64_t r = statedb_run_add(db, &run);

	cr_assert_gt(r, 0);
	cr_assert_eq(statedb_begin(db), 0);
	struct statedb_point p = { .run = r, .seq = 3, .kind = "flush", .trace_line = 12,
				   .label = "write", .states_total = UINT64_MAX };
	int64_t pid = statedb_point_add(db, &p);

	cr_assert_gt(pid, 0);
	struct statedb_write wr = { .point = pid, .disk = "cow", .write_id = 2, .trace_line = 11,
				    .sector = 64, .nsectors = 8, .flags = "in-flight FUA", .units = 8,
				    .unit_sectors = 1 };
	cr_assert_eq(statedb_write_add(db, &wr), 0);
	struct statedb_state ok = { .point = pid, .hash = 0xabc, .survivors = "cow:1,2",
				    .verdict = "ok", .cow_used = 2 };
	struct statedb_state bad = { .point = pid, .hash = 0xdef, .survivors = "cow:2",
				     .verdict = "violation", .cow_used = 1, .message = "snap reads zero",
				     .repro = "snapsim explore x --point 3" };
	int64_t s1 = statedb_state_add(db, &ok), s2 = statedb_state_add(db, &bad);

	cr_assert(s1 > 0 && s2 > s1);
	cr_assert_eq(statedb_exception_add(db, s1, "snap", 0, 2, NULL), 0);
	cr_assert_eq(statedb_exception_add(db, s1, "snap", 5, 3, NULL), 0);
	cr_assert_eq(statedb_exception_add(db, s2, "snap", 5, 2, "COW chunk shared by two exceptions"), 0);
	struct statedb_evidence e = { .state = s2, .device = "snap", .sector = 40, .nsectors = 8,
				      .expected = "pattern seed-1", .found = "zero", .message = "m" };
	cr_assert_gt(statedb_evidence_add(db, &e), 0);
	/* The checker failed the state the model passed: the view judges it failed. */
	struct statedb_check c = { .state = s1, .command = "e2fsck -fn {S}", .verdict = "failed",
				   .exit_status = 4, .output = "bad inode\n", .output_len = 10,
				   .output_bytes = 12000, .has_hash = true, .content_hash = 0x42,
				   .message = "check command exited with status 4", .repro = "snapsim r" };
	cr_assert_eq(statedb_check_add(db, &c), 0);
	cr_assert_eq(statedb_point_finish(db, pid, 2, "violation"), 0);
	cr_assert_eq(statedb_coverage_set(db, r, "crash mid-merge", false, -1, NULL), 0);
	cr_assert_eq(statedb_coverage_set(db, r, "crash mid-merge", true, 3, "x"), 0);
	cr_assert_eq(statedb_commit(db), 0);
	cr_assert_eq(statedb_run_finish(db, r, "violation", 1, 2, "snapsim explore x", NULL), 0);
	cr_assert_eq(statedb_run_set_minimized(db, r, "min.yaml"), 0);
	statedb_close(db);
}

Test(statedb, round_trip)
{
	char path[256];

	tmp_path(path, sizeof(path), "rt");
	fill(path, "t.yaml");
	cr_assert_eq(q(path, "SELECT COUNT(*) FROM runs"), 1);
	cr_assert_eq(q(path, "SELECT seed FROM runs"), 7);
	cr_assert_eq(q(path, "SELECT states_total FROM crash_points"), INT64_MAX); /* saturated */
	cr_assert_eq(q(path, "SELECT states_checked FROM crash_points"), 2);
	cr_assert_eq(q(path, "SELECT COUNT(*) FROM states WHERE verdict = 'violation'"), 1);
	cr_assert_eq(q(path, "SELECT COUNT(*) FROM exceptions"), 3);
	cr_assert_eq(q(path, "SELECT COUNT(*) FROM exceptions WHERE note IS NOT NULL"), 1);
	cr_assert_eq(q(path, "SELECT sector FROM evidence"), 40);
	cr_assert_eq(q(path, "SELECT reached FROM coverage"), 1);
	cr_assert_eq(q(path, "SELECT point_seq FROM coverage"), 3);
	cr_assert_eq(q(path, "SELECT COUNT(*) FROM runs WHERE minimized = 'min.yaml'"), 1);
	cr_assert_eq(q(path, "SELECT trace_line FROM writes WHERE disk = 'cow' AND write_id = 2 "
			     "AND sector = 64 AND nsectors = 8 AND flags = 'in-flight FUA' AND units = 8"), 11);
	cr_assert_eq(q(path, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'"),
		     STATEDB_SCHEMA_VERSION);
	cr_assert_eq(STATEDB_SCHEMA_VERSION, 4);
	cr_assert_eq(q(path, "SELECT exit_status FROM checks WHERE command = 'e2fsck -fn {S}' AND "
			     "verdict = 'failed' AND output = 'bad inode\n' AND output_bytes = 12000 AND "
			     "content_hash = '0000000000000042' AND signal IS NULL AND reused = 0"), 4);
	cr_assert_eq(q(path, "SELECT COUNT(*) FROM judged_states WHERE verdict = 'violation'"), 2);
	cr_assert_eq(q(path, "SELECT COUNT(*) FROM judged_states WHERE model_verdict = 'violation'"), 1);
	cr_assert_eq(q(path, "SELECT COUNT(*) FROM judged_states WHERE message = "
			     "'check command exited with status 4' AND repro = 'snapsim r'"), 1);
	/* WAL journal */
	sqlite3 *db;
	sqlite3_stmt *st;

	sqlite3_open(path, &db);
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	unlink(path);
}

Test(statedb, merge_remaps_ids)
{
	char a[256], b[256], out[256], err[256];
	const char *in[2];

	tmp_path(a, sizeof(a), "a");
	tmp_path(b, sizeof(b), "b");
	tmp_path(out, sizeof(out), "out");
	fill(a, "a.yaml");
	fill(b, "b.yaml");
	in[0] = a;
	in[1] = b;
	cr_assert_eq(statedb_merge(out, in, 2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(q(out, "SELECT COUNT(*) FROM runs"), 2);
	cr_assert_eq(q(out, "SELECT COUNT(*) FROM states"), 4);
	cr_assert_eq(q(out, "SELECT COUNT(*) FROM exceptions"), 6);
	cr_assert_eq(q(out, "SELECT COUNT(*) FROM evidence"), 2);
	cr_assert_eq(q(out, "SELECT COUNT(*) FROM coverage"), 2);
	cr_assert_eq(q(out, "SELECT COUNT(*) FROM writes w JOIN crash_points p ON w.point = p.id "
			    "JOIN runs r ON p.run = r.id WHERE r.trace = 'b.yaml' AND w.write_id = 2"), 1);
	/* References stay consistent: every row reaches its own run. */
	cr_assert_eq(q(out, "SELECT COUNT(*) FROM exceptions e JOIN states s ON e.state = s.id "
			    "JOIN crash_points p ON s.point = p.id JOIN runs r ON p.run = r.id "
			    "WHERE r.trace = 'b.yaml'"), 3);
	cr_assert_eq(q(out, "SELECT COUNT(*) FROM evidence e JOIN states s ON e.state = s.id "
			    "JOIN crash_points p ON s.point = p.id JOIN runs r ON p.run = r.id "
			    "WHERE r.trace = 'a.yaml'"), 1);
	/* Merging again appends. */
	cr_assert_eq(statedb_merge(out, in, 1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(q(out, "SELECT COUNT(*) FROM runs"), 3);
	unlink(a);
	unlink(b);
	unlink(out);
}

Test(statedb, merge_rejects_missing_input)
{
	char out[256], err[256] = "";
	const char *in[1] = { "/nonexistent/snapsim.db" };

	tmp_path(out, sizeof(out), "bad");
	cr_assert_neq(statedb_merge(out, in, 1, err, sizeof(err)), 0);
	cr_assert(strstr(err, "/nonexistent/snapsim.db") != NULL, "%s", err);
	unlink(out);
}
