/*
 * report_md.c - the Markdown summary of a state database: runs, coverage
 * goals, failures with evidence and repro lines, unexpected exceptions.
 * Per-point detail lives in the HTML page.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "report.h"

#define esc report_md_escape

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void md_runs(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;
	char a[32], b[32];

	fputs("## Runs\n\n| Trace | Seed | Verdict | Crash points | States existing | States checked | Failing states |\n"
	      "|---|---:|---|---:|---:|---:|---:|\n", out);
	if (sqlite3_prepare_v2(db,
			       "SELECT r.trace, r.seed, r.verdict, "
			       "(SELECT COUNT(*) FROM crash_points p WHERE p.run = r.id), "
			       "(SELECT MIN(TOTAL(p.states_total), 9.2e18) FROM crash_points p WHERE p.run = r.id), "
			       "(SELECT SUM(p.states_checked) FROM crash_points p WHERE p.run = r.id), "
			       "(SELECT COUNT(*) FROM states s JOIN crash_points p ON s.point = p.id WHERE p.run = r.id AND s.verdict <> 'ok') "
			       "FROM runs r ORDER BY r.trace, r.id", -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		fputs("| ", out);
		esc(out, col(st, 0));
		report_count(a, sizeof(a), sqlite3_column_double(st, 4) >= 9.2e18 ? INT64_MAX : sqlite3_column_int64(st, 4));
		report_count(b, sizeof(b), sqlite3_column_int64(st, 5));
		fprintf(out, " | %lld | %s | %lld | %s | %s | %lld |\n", sqlite3_column_int64(st, 1),
			col(st, 2) ? col(st, 2) : "unfinished", sqlite3_column_int64(st, 3), a, b,
			sqlite3_column_int64(st, 6));
	}
	sqlite3_finalize(st);
	fputs("\n", out);
}

static void md_coverage(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;

	fputs("## Coverage goals\n\n| Goal | Reached | Traces |\n|---|---|---|\n", out);
	if (sqlite3_prepare_v2(db,
			       "SELECT c.goal, MAX(c.reached), GROUP_CONCAT(CASE WHEN c.reached THEN r.trace_name END, ', ') "
			       "FROM coverage c JOIN runs r ON r.id = c.run GROUP BY c.goal ORDER BY c.goal",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		fputs("| ", out);
		esc(out, col(st, 0));
		fprintf(out, " | %s | ", sqlite3_column_int(st, 1) ? "yes" : "**no**");
		esc(out, col(st, 2));
		fputs(" |\n", out);
	}
	sqlite3_finalize(st);
	fputs("\n", out);
}

static void md_failures(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st, *ev;
	long long total = report_scalar(db, "SELECT COUNT(*) FROM states WHERE verdict <> 'ok'", 0);
	int shown = 0;

	fputs("## Failures\n\n", out);
	if (!total) {
		fputs("None: every explored state recovered to what the model allows.\n\n", out);
		return;
	}
	fprintf(out, "%lld failing state%s (first %d shown).\n\n", total, total == 1 ? "" : "s",
		REPORT_MAX_FAILURES);
	if (sqlite3_prepare_v2(db,
			       "SELECT s.id, r.trace, r.seed, p.seq, p.kind, p.trace_line, s.verdict, s.message, "
			       "s.survivors, s.repro FROM states s JOIN crash_points p ON s.point = p.id "
			       "JOIN runs r ON p.run = r.id WHERE s.verdict <> 'ok' ORDER BY r.trace, p.seq, s.id",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_prepare_v2(db, "SELECT device, sector, nsectors, expected, found, message FROM evidence "
			       "WHERE state = ?1 ORDER BY id", -1, &ev, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW && shown++ < REPORT_MAX_FAILURES) {
		fprintf(out, "### %s, seed %lld, crash point %lld (%s, line %lld): %s\n\n", col(st, 1),
			sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3), col(st, 4),
			sqlite3_column_int64(st, 5), col(st, 6));
		fprintf(out, "%s\n\nSurviving writes: `%s`\n\n", col(st, 7) ? col(st, 7) : "",
			col(st, 8) && col(st, 8)[0] ? col(st, 8) : "(none)");
		sqlite3_bind_int64(ev, 1, sqlite3_column_int64(st, 0));
		fputs("| Device | Sector | Sectors | Expected | Found | Message |\n|---|---:|---:|---|---|---|\n", out);
		while (sqlite3_step(ev) == SQLITE_ROW) {
			fputs("| ", out);
			esc(out, col(ev, 0));
			fprintf(out, " | %lld | %lld | ", sqlite3_column_int64(ev, 1), sqlite3_column_int64(ev, 2));
			esc(out, col(ev, 3));
			fputs(" | ", out);
			esc(out, col(ev, 4));
			fputs(" | ", out);
			esc(out, col(ev, 5));
			fputs(" |\n", out);
		}
		sqlite3_reset(ev);
		if (col(st, 9))
			fprintf(out, "\nReplay:\n\n```\n%s\n```\n", col(st, 9));
		fputs("\n", out);
	}
	sqlite3_finalize(ev);
	sqlite3_finalize(st);
}

int report_write_md(struct sqlite3 *db, const char *db_name, FILE *out)
{
	long long runs = report_scalar(db, "SELECT COUNT(*) FROM runs", -1);

	if (runs < 0)
		return -EINVAL;
	fprintf(out, "# Crash-consistency report\n\nDatabase `%s`: %lld trace runs, %lld crash points, "
		"%lld states checked, %lld failing states, %lld unexpected exception records.\n\n",
		db_name, runs, report_scalar(db, "SELECT COUNT(*) FROM crash_points", 0),
		report_scalar(db, "SELECT COUNT(*) FROM states", 0),
		report_scalar(db, "SELECT COUNT(*) FROM states WHERE verdict <> 'ok'", 0),
		report_scalar(db, "SELECT COUNT(*) FROM exceptions WHERE note IS NOT NULL", 0));
	md_runs(db, out);
	md_coverage(db, out);
	md_failures(db, out);
	return ferror(out) ? -EIO : 0;
}
