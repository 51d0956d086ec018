/*
 * report_common.c - helpers shared by the HTML and Markdown renderers.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "report.h"

void report_html_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

void report_md_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n')
			fputs("<br>", out);
		else
			fputc(*s, out);
	}
}

const char *report_verdict_colour(const char *v)
{
	if (!v)
		return "#b0b7bf";
	if (!strcmp(v, "ok"))
		return "#2e7d32";
	if (!strcmp(v, "violation"))
		return "#c62828";
	if (!strcmp(v, "crash"))
		return "#ef6c00";
	if (!strcmp(v, "hang"))
		return "#6a1b9a";
	return "#546e7a";
}

void report_count(char *buf, size_t len, long long v)
{
	if (v >= INT64_MAX)
		snprintf(buf, len, "&ge;2^63");
	else if (v >= 1000000000000LL)
		snprintf(buf, len, "%.3g", (double)v);
	else
		snprintf(buf, len, "%lld", v);
}

long long report_scalar(struct sqlite3 *db, const char *sql, long long dflt)
{
	sqlite3_stmt *st;
	long long v = dflt;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return dflt;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}
