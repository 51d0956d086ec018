/*
 * test_cli_explore_counts.c - one run's counts are the same wherever they
 * are shown: the summary line, the JSON totals, the database's runs row
 * and rows, and the report. A failure of the live run is neither a crash
 * point nor a state: it is counted apart ("1 live run failed", JSON
 * live_failed, the database's kind 'replay' row, the report's card).
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#include <inttypes.h>
#include <sqlite3.h>

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cli_explore_counts, .init = setup, .fini = teardown);

#define HEAD \
	"version: 1\n" \
	"seed: 3\n" \
	"disks:\n" \
	"  - {name: data, size: 256K}\n" \
	"  - {name: cow, size: 64K}\n" \
	"steps:\n" \
	"  - dm: create X_org --table \"0 512 linear /dev/data 0\"\n" \
	"  - write: {dev: X_org, length: 64K, data: seed-1}\n" \
	"  - flush: X_org\n" \
	"  - dm: create X --table \"0 512 snapshot-origin /dev/mapper/X_org\"\n" \
	"  - dm: suspend X\n" \
	"  - dm: create S --table \"0 512 snapshot /dev/mapper/X_org /dev/cow P 8\"\n" \
	"  - dm: resume X\n" \
	"  - write: {dev: X, offset: 0, length: 4K, data: seed-2}\n" \
	"  - flush: X\n"

static long long q(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long v = -1;

	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* The number after "KEY": in a flat JSON text (the totals come last). */
static long long json_last(const char *json, const char *key)
{
	char k[64];
	const char *p = NULL;

	snprintf(k, sizeof(k), "\"%s\":", key);
	for (const char *s = json; (s = strstr(s, k)); s++)
		p = s;
	cr_assert_not_null(p, "no %s in %s", key, json);
	p += strlen(k);
	while (*p == ' ')
		p++;
	if (!strncmp(p, "true", 4))
		return 1;
	if (!strncmp(p, "false", 5))
		return 0;
	return strtoll(p, NULL, 10);
}

/*
 * Explore text with extra options; the counts of the summary, JSON,
 * database and report must agree and be (points, states, failing, live).
 */
static void counts_agree(const char *text, const char *opt, long long live_want, bool failing_want)
{
	const char *trace = tpath("t.yaml"), *db = tpath("t.db"), *db2 = tpath("t2.db");
	struct run_result r;
	long long points, states, failing, live;
	char line[256], *md;

	write_text(trace, text);
	run(&r, "explore", trace, "--db", db, "--json", "--no-minimize", opt, NULL);
	cr_assert_eq(r.status, live_want || failing_want ? 1 : 0, "%s\n%s", r.out, r.err);
	points = json_last(r.out, "crash_points");
	states = json_last(r.out, "states_checked");
	failing = json_last(r.out, "failing");
	live = json_last(r.out, "live_failed");
	run_free(&r);
	cr_expect_eq(live, live_want);
	cr_expect_eq(failing > 0, failing_want, "failing %lld", failing);
	cr_expect_gt(points, 0);

	/* the database: the runs row and the rows under it */
	cr_expect_eq(q(db, "SELECT points FROM runs"), points);
	cr_expect_eq(q(db, "SELECT states_checked FROM runs"), states);
	cr_expect_eq(q(db, "SELECT COUNT(*) FROM crash_points WHERE kind <> 'replay'"), points);
	cr_expect_eq(q(db, "SELECT COUNT(*) FROM states s JOIN crash_points p ON s.point = p.id "
			   "WHERE p.kind <> 'replay'"), states);
	cr_expect_eq(q(db, "SELECT COUNT(*) FROM states s JOIN crash_points p ON s.point = p.id "
			   "WHERE p.kind <> 'replay' AND s.verdict <> 'ok'"), failing);
	cr_expect_eq(q(db, "SELECT COUNT(*) FROM crash_points WHERE kind = 'replay'"), live);

	/* the summary line of the same run */
	run(&r, "explore", trace, "--db", db2, "--no-minimize", opt, NULL);
	snprintf(line, sizeof(line), "explored 1 trace: %lld crash points, %lld states checked, "
		 "%lld failing%s,", points, states, failing, live ? ", 1 live run failed" : "");
	assert_has(r.out, line);
	run_free(&r);

	/* the report */
	run(&r, "report", "--db", db, "-o", tpath("rep"), NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	md = slurp(tpath("rep/report.md"), NULL);
	snprintf(line, sizeof(line), "%lld crash points, %lld states checked, %lld failing states",
		 points, states, failing);
	assert_has(md, line);
	if (live)
		assert_has(md, "the live run failed in 1 sweep");
	else
		assert_lacks(md, "the live run failed");
	free(md);
}

Test(cli_explore_counts, a_live_run_failure_is_counted_apart_everywhere)
{
	counts_agree(HEAD "  - read: {dev: X, offset: 0, length: 4K, expect: seed-9}\n", "--mode=flush",
		     1, false);
}

Test(cli_explore_counts, crash_state_failures_agree_everywhere)
{
	counts_agree(HEAD "  - write: {dev: cow, offset: 16s, length: 8s, data: zero, fua: true}\n"
			  "  - read: {dev: X, offset: 0, length: 4K, expect: seed-2}\n",
		     "--keep-going", 0, true);
}

Test(cli_explore_counts, a_clean_run_agrees_everywhere)
{
	counts_agree(HEAD "  - read: {dev: X, offset: 0, length: 4K, expect: seed-2}\n", "--budget=4", 0,
		     false);
}
