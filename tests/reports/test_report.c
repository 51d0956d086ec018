/*
 * test_report.c - `snapsim report` renders a small database into HTML and
 * Markdown with the expected sections (runs the built binary, SNAPSIM_BIN).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statedb.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

Test(report, html_and_markdown_sections)
{
	char dbp[256], dir[256], cmd[1024], p[300];
	const char *bin = getenv("SNAPSIM_BIN");
	struct statedb *db;
	char err[256];

	cr_assert_not_null(bin, "SNAPSIM_BIN is not set");
	snprintf(dbp, sizeof(dbp), "/tmp/snapsim-test-report-%d.db", (int)getpid());
	snprintf(dir, sizeof(dir), "/tmp/snapsim-test-report-%d", (int)getpid());
	unlink(dbp);
	cr_assert_eq(statedb_open(dbp, &db, err, sizeof(err)), 0, "%s", err);
	struct statedb_run run = { .trace = "traces/t<1>.yaml", .trace_name = "t", .seed = 9,
				   .options = "--budget 2", .version = "0.1.0", .started = "now" };
	int64_t r = statedb_run_add(db, &run);
	struct statedb_point pt = { .run = r, .seq = 0, .kind = "flush", .trace_line = 5, .label = "w",
				    .states_total = 4 };
	int64_t pid = statedb_point_add(db, &pt);
	struct statedb_state s = { .point = pid, .hash = 1, .survivors = "cow:3", .verdict = "violation",
				   .cow_used = 1, .message = "snap sector 8: expected seed-1, found zero",
				   .repro = "snapsim explore t.yaml --seed 9 --point 0 --survivors 'cow:3'" };
	int64_t sid = statedb_state_add(db, &s);
	struct statedb_evidence e = { .state = sid, .device = "snap", .sector = 8, .nsectors = 1,
				      .expected = "pattern seed-1", .found = "zero", .message = "m" };

	statedb_evidence_add(db, &e);
	statedb_exception_add(db, sid, "snap", 1, 99, "COW chunk beyond the end of the COW device");
	statedb_point_finish(db, pid, 1, "violation");
	statedb_coverage_set(db, r, "crash mid-merge", false, -1, NULL);
	statedb_coverage_set(db, r, "crash with the COW full", true, 0, NULL);
	statedb_run_finish(db, r, "violation", 1, 1, NULL, NULL);
	statedb_close(db);

	snprintf(cmd, sizeof(cmd), "%s report --db %s -o %s > /dev/null", bin, dbp, dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/report.html", dir);
	char *html = slurp(p);

	cr_assert(strstr(html, "<svg") != NULL);
	cr_assert(strstr(html, "<script") == NULL, "no JavaScript");
	cr_assert(strstr(html, "Coverage goals") && strstr(html, "Failures") && strstr(html, "Traces"));
	cr_assert(strstr(html, "traces/t&lt;1&gt;.yaml") != NULL, "escaped trace name");
	cr_assert(strstr(html, "--survivors &#39;cow:3&#39;") != NULL, "repro line");
	cr_assert(strstr(html, "COW chunk beyond the end") != NULL, "unexpected exception row");
	cr_assert(strstr(html, "not reached") && strstr(html, "&#10003; reached"));
	free(html);
	snprintf(p, sizeof(p), "%s/report.md", dir);
	char *md = slurp(p);

	cr_assert(strstr(md, "# Crash-consistency report") && strstr(md, "## Coverage goals") &&
		  strstr(md, "## Failures"));
	cr_assert(strstr(md, "| snap | 8 | 1 | pattern seed-1 | zero | m |") != NULL);
	free(md);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s*", dir, dbp);
	cr_assert_eq(system(cmd), 0);
	/* A database that does not exist: a bad input, exit 3. */
	snprintf(cmd, sizeof(cmd), "%s report --db /nonexistent.db -o /tmp/x 2>/dev/null", bin);
	cr_assert_eq(WEXITSTATUS(system(cmd)), 3);
}
