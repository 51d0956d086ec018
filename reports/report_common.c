/*
 * report_common.c - helpers shared by the HTML and Markdown renderers:
 * escaping, verdict colours and badges, the one notation of counts.
 */
#include <inttypes.h>
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

const char *report_sweep_name(const struct report_sweep *s)
{
	const char *base = s->trace ? strrchr(s->trace, '/') : NULL;
	size_t n;

	if (!s->trace || !s->trace_name || !s->trace_name[0])
		return NULL;
	base = base ? base + 1 : s->trace;
	n = strlen(base);
	if (n > 5 && !strcmp(base + n - 5, ".yaml"))
		n -= 5;
	if (!strcmp(s->trace_name, s->trace) || !strcmp(s->trace_name, base) || (strlen(s->trace_name) == n &&
					     !strncmp(s->trace_name, base, n)))
		return NULL;
	return s->trace_name;
}

const char *report_verdict_colour(const char *v)
{
	if (!v)
		return "#b0b7bf";
	if (!strcmp(v, "ok"))
		return "#2e7d32";
	if (!strcmp(v, "violation") || !strcmp(v, "failed"))
		return "#c62828";
	if (!strcmp(v, "timeout"))
		return "#ad1457";
	if (!strcmp(v, "crash"))
		return "#ef6c00";
	if (!strcmp(v, "hang"))
		return "#6a1b9a";
	return "#546e7a";
}

void report_html_badge(FILE *out, const char *verdict)
{
	fprintf(out, "<span class=\"badge\" style=\"background:%s\">", report_verdict_colour(verdict));
	report_html_escape(out, verdict ? verdict : "unexplored");
	fputs("</span>", out);
}

const char *report_num(char *buf, size_t len, uint64_t v)
{
	char digits[24];
	size_t n, o = 0;

	if (!len)
		return buf;
	if (v >= 1000000000000000ULL) {
		int k = 63;

		while (!(v >> k))
			k--;
		snprintf(buf, len, "\u2265 2^%d", k);
		return buf;
	}
	n = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, v);
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (i && (n - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

uint64_t report_sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

const char *report_col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

bool report_has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	bool yes = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
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

bool report_write_listed(const struct report_writes *ws, size_t i, size_t *shown)
{
	if (ws->n > REPORT_MAX_WRITE_ROWS &&
	    (ws->v[i].outcome == REPORT_LOST || *shown == REPORT_MAX_WRITE_ROWS))
		return false;
	(*shown)++;
	return true;
}
