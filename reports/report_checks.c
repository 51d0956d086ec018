/*
 * report_checks.c - an application checker's verdict on a failing state
 * (the checks table, `explore --check-cmd`), for the HTML failure card
 * and the Markdown summary: the command, its verdict, exit status or
 * signal, and the output it printed (the first bytes the database keeps).
 * Shown whenever a checks row exists, so a state both the model and the
 * checker failed shows both.
 */
#include "report.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* The state's checks row: command, verdict, exit_status, signal, output, output_bytes, reused. */
static sqlite3_stmt *check_row(sqlite3 *db, long long state)
{
	sqlite3_stmt *st;

	if (!report_has_table(db, "checks") ||
	    sqlite3_prepare_v2(db, "SELECT command, verdict, exit_status, signal, output, output_bytes, "
			       "reused FROM checks WHERE state = ?1", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, state);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* "exit status N" / "signal N" / "" into buf. */
static void how(sqlite3_stmt *st, char *buf, size_t len)
{
	buf[0] = 0;
	if (sqlite3_column_type(st, 2) != SQLITE_NULL)
		snprintf(buf, len, ", exit status %d", sqlite3_column_int(st, 2));
	else if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		snprintf(buf, len, ", killed by signal %d", sqlite3_column_int(st, 3));
}

/* "(first K of N bytes)" when the output was cut. */
static void cut(sqlite3_stmt *st, char *buf, size_t len)
{
	long long kept = sqlite3_column_bytes(st, 4), all = sqlite3_column_int64(st, 5);

	buf[0] = 0;
	if (all > kept)
		snprintf(buf, len, " (the first %lld of %lld bytes)", kept, all);
}

void report_html_check(sqlite3 *db, long long state, FILE *out)
{
	sqlite3_stmt *st = check_row(db, state);
	const char *output;
	char h[64], c[64];

	if (!st)
		return;
	how(st, h, sizeof(h));
	cut(st, c, sizeof(c));
	output = report_col(st, 4);
	fputs("<p>Check command <code>", out);
	report_html_escape(out, report_col(st, 0));
	fputs("</code>: ", out);
	report_html_badge(out, report_col(st, 1));
	report_html_escape(out, h);
	if (sqlite3_column_int(st, 6))
		fputs(" (the verdict of an earlier state with the same device contents)", out);
	fputs("</p>\n", out);
	if (output && output[0]) {
		fputs("<p>Its output", out);
		report_html_escape(out, c);
		fputs(":</p><pre>", out);
		report_html_escape(out, output);
		fputs("</pre>\n", out);
	}
	sqlite3_finalize(st);
}

void report_md_check(sqlite3 *db, long long state, FILE *out)
{
	sqlite3_stmt *st = check_row(db, state);
	const char *output;
	char h[64], c[64];

	if (!st)
		return;
	how(st, h, sizeof(h));
	cut(st, c, sizeof(c));
	output = report_col(st, 4);
	fprintf(out, "Check command `%s`: %s%s%s\n\n", report_col(st, 0), report_col(st, 1), h,
		sqlite3_column_int(st, 6) ? " (the verdict of an earlier state with the same device "
					    "contents)" : "");
	if (output && output[0]) {
		/* A fence longer than any run of backticks in the output. */
		fprintf(out, "Its output%s:\n\n````\n%s%s````\n\n", c, output,
			output[strlen(output) - 1] == '\n' ? "" : "\n");
	}
	sqlite3_finalize(st);
}
