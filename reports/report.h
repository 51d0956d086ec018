/*
 * report.h - `snapsim report`: the crash explorer's state database
 * (sim/db/statedb.h, schema in reports/README.md) rendered as one
 * self-contained HTML page (inline CSS and SVG, no JavaScript) and a
 * Markdown summary. Everything comes from the database alone.
 */
#ifndef SNAPSIM_REPORT_H
#define SNAPSIM_REPORT_H

#include <stdio.h>

struct sqlite3;

/* Limits that keep a report of a huge sweep readable (each says what it left out). */
#define REPORT_MAX_FAILURES 25      /* failing states shown in full */
#define REPORT_MAX_FAILURES_PER_RUN 3
#define REPORT_MAX_POINT_ROWS 80    /* crash point rows per trace before folding */
#define REPORT_MAX_EXC_ROWS 200     /* unexpected exception rows */

/* Write the HTML page / Markdown summary. 0 or a negative errno. */
int report_write_html(struct sqlite3 *db, const char *db_name, FILE *out);
int report_write_md(struct sqlite3 *db, const char *db_name, FILE *out);

/* ---- shared helpers (report_common.c) ---- */

/* Write s HTML-escaped (s may be NULL). */
void report_html_escape(FILE *out, const char *s);
/* Write s with Markdown table metacharacters escaped (| and newlines). */
void report_md_escape(FILE *out, const char *s);
/* Colour of a verdict ("ok", "violation", "crash", "hang", NULL: unexplored). */
const char *report_verdict_colour(const char *verdict);
/* A count that may be the saturated maximum: "9223372036854775807" -> ">= 2^63". */
void report_count(char *buf, size_t len, long long v);
/* One number from a query (first column of the first row), or dflt. */
long long report_scalar(struct sqlite3 *db, const char *sql, long long dflt);

#endif
