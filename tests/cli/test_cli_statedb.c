/*
 * test_cli_statedb.c - every opener of the state database refuses a schema
 * version it does not know (report, explore --db, db merge), the version
 * written is the version the code declares, and db merge
 * never leaves a partial output: inputs are checked before the output is
 * made, and a failed merge leaves an existing output as it was.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#include <dirent.h>
#include <sqlite3.h>

#include "statedb.h"

#define VERSION_TEXT_(x) #x
#define VERSION_TEXT(x) VERSION_TEXT_(x)

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cli_statedb, .init = setup, .fini = teardown);

static const char trace[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: d, size: 1M}\n"
	"steps:\n"
	"  - dm: create X --table \"0 2048 linear /dev/d 0\"\n"
	"  - write: {dev: X, length: 8s, data: seed-1, fua: true}\n"
	"  - crash: after-write\n";

/* A state database made by the explorer itself. */
static void make_db(const char *db)
{
	struct run_result r;

	write_text(tpath("t.yaml"), trace);
	run(&r, "explore", tpath("t.yaml"), "--mode", "marked", "--budget", "2", "--db", db,
	    "-q", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
}

static void sql(const char *db, const char *stmt)
{
	sqlite3 *h;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, stmt, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_close(h);
}

static char *meta_version(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	char *v = NULL;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT value FROM meta WHERE key = 'schema_version'",
					-1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

Test(cli_statedb, the_version_written_is_the_version_declared)
{
	const char *db = tpath("a.db");
	char want[32], *v, *readme;

	make_db(db);
	snprintf(want, sizeof(want), "%d", STATEDB_SCHEMA_VERSION);
	v = meta_version(db);
	cr_assert_not_null(v);
	cr_assert_str_eq(v, want);
	free(v);
	/* the documentation names the constant rather than a number of its own */
	readme = slurp(SNAPSIM_SOURCE_DIR "/reports/README.md", NULL);
	cr_assert_not_null(strstr(readme, "STATEDB_SCHEMA_VERSION"));
	cr_assert_null(strstr(readme, "schema_version` = 1"));
	free(readme);
}

Test(cli_statedb, an_unknown_schema_version_is_refused_by_every_opener)
{
	const char *db = tpath("v99.db");
	struct run_result r;
	size_t before, after;
	char *a, *b;

	make_db(db);
	sql(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
	a = slurp(db, &before);

	run(&r, "report", "--db", db, "-o", tpath("rep"), NULL);
	cr_assert_eq(r.status, 3, "stderr: %s", r.err);
	assert_has(r.err, "schema version 99; this snapsim reads version " VERSION_TEXT(STATEDB_SCHEMA_VERSION));
	run_free(&r);

	run(&r, "explore", tpath("t.yaml"), "--mode", "marked", "--db", db, "-q", NULL);
	cr_assert_eq(r.status, 3, "stderr: %s", r.err);
	assert_has(r.err, "schema version 99");
	run_free(&r);

	run(&r, "db", "merge", tpath("out.db"), db, "--json", NULL);
	cr_assert_eq(r.status, 3, "stderr: %s", r.err);
	assert_has(r.out, "\"code\": 3");
	assert_has(r.out, "schema version 99");
	run_free(&r);
	cr_assert_neq(access(tpath("out.db"), F_OK), 0, "db merge left an output");

	/* nothing was written to the refused database */
	b = slurp(db, &after);
	cr_assert_eq(before, after);
	cr_assert_eq(memcmp(a, b, before), 0);
	free(a);
	free(b);
}

Test(cli_statedb, a_file_that_is_not_a_state_database_is_refused)
{
	const char *junk = tpath("junk.db");
	struct run_result r;

	write_text(junk, "this is not SQLite\n");
	run(&r, "report", "--db", junk, "-o", tpath("rep"), NULL);
	cr_assert_eq(r.status, 3, "stderr: %s", r.err);
	assert_has(r.err, "junk.db: not a state database");
	run_free(&r);
	sql(tpath("other.db"), "CREATE TABLE t(x)");
	write_text(tpath("t.yaml"), trace);
	run(&r, "explore", tpath("t.yaml"), "--db", tpath("other.db"), NULL);
	cr_assert_eq(r.status, 3, "stderr: %s", r.err);
	assert_has(r.err, "not a snapsim state database (no meta.schema_version)");
	run_free(&r);
}

/* Files in the test directory whose name contains part. */
static int files_with(const char *part)
{
	DIR *d = opendir(test_dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		n += strstr(e->d_name, part) != NULL;
	closedir(d);
	return n;
}

Test(cli_statedb, merge_checks_inputs_first_and_never_leaves_a_partial_output)
{
	char out[300], good[300]; /* tpath's buffers are reused */
	struct run_result r;
	size_t before, after;
	char *a, *b;

	snprintf(out, sizeof(out), "%s", tpath("out.db"));
	snprintf(good, sizeof(good), "%s", tpath("good.db"));
	run(&r, "db", "merge", out, tpath("missing.db"), NULL);
	cr_assert_eq(r.status, 3, "stderr: %s", r.err);
	assert_has(r.err, "missing.db: cannot open: No such file or directory");
	run_free(&r);
	cr_assert_neq(access(out, F_OK), 0, "a failed merge created %s", out);
	cr_assert_eq(files_with("out.db"), 0);

	/* a good input, then a missing one: still nothing */
	make_db(good);
	run(&r, "db", "merge", out, good, tpath("missing.db"), NULL);
	cr_assert_eq(r.status, 3);
	run_free(&r);
	cr_assert_neq(access(out, F_OK), 0);

	/* an existing output is kept as it was when a merge fails */
	run(&r, "db", "merge", out, good, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	a = slurp(out, &before);
	write_text(tpath("bad.db"), "garbage");
	run(&r, "db", "merge", out, good, tpath("bad.db"), NULL);
	cr_assert_eq(r.status, 3, "stderr: %s", r.err);
	run_free(&r);
	b = slurp(out, &after);
	cr_assert_eq(before, after);
	cr_assert_eq(memcmp(a, b, before), 0);
	free(a);
	free(b);
	cr_assert_eq(files_with(".snapsim-"), 0, "a temporary was left behind");

	/* and a good merge appends */
	run(&r, "db", "merge", out, good, NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	assert_has(r.out, "merged 1 database into");
	run_free(&r);
	cr_assert_eq(files_with(".snapsim-"), 0);
}

/* A trace's name: is what the database and the report call it, beside its file. */
Test(cli_statedb, the_header_name_reaches_the_database_and_the_report)
{
	struct run_result r;
	char *html, *md;
	sqlite3 *h;
	sqlite3_stmt *st;

	write_text(tpath("named.yaml"), "version: 1\nname: nightly-fsync\n" "disks:\n"
		   "  - {name: d, size: 1M}\nsteps:\n  - write: {dev: d, length: 8s, data: seed-1}\n"
		   "  - crash: after\n");
	write_text(tpath("t.yaml"), trace);
	run(&r, "explore", tpath("named.yaml"), tpath("t.yaml"), "--mode", "marked", "--db",
	    tpath("n.db"), "-q", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	cr_assert_eq(sqlite3_open_v2(tpath("n.db"), &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT trace_name FROM runs ORDER BY id", -1, &st, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), "nightly-fsync");
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), "t", "the default: the file's");
	sqlite3_finalize(st);
	sqlite3_close(h);
	run(&r, "report", "--db", tpath("n.db"), "-o", tpath("rep"), "-q", NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	run_free(&r);
	html = slurp(tpath("rep/report.html"), NULL);
	md = slurp(tpath("rep/report.md"), NULL);
	assert_has(html, "named.yaml <small>&ldquo;nightly-fsync&rdquo;</small>");
	assert_has(md, "named.yaml (nightly-fsync) |");
	assert_lacks(html, "&ldquo;t&rdquo;"); /* a default name says nothing more */
	free(html);
	free(md);
}
