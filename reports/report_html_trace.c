/*
 * report_html_trace.c - one block per sweep: its timeline (an inline SVG,
 * one bar per explored crash point coloured by verdict, labelled with the
 * points' own numbers, failing bars linking to their failure cards; below
 * it the recovered COW usage, only when some snapshot recovered an
 * exception) and the crash point table.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "report.h"

#define esc report_html_escape

struct pt {
	long long id, seq, line, checked, total, torn, cow, failing;
	char *kind, *label, *verdict;
};

static char *dup_col(sqlite3_stmt *st, int i)
{
	const char *s = report_col(st, i);

	return s ? strdup(s) : NULL;
}

/* The sweep's crash points (the live run's record excluded), by seq. */
static struct pt *load_points(sqlite3 *db, long long sweep, size_t *n)
{
	sqlite3_stmt *st;
	struct pt *v = NULL;
	size_t cap = 0;

	*n = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT p.id, p.seq, p.trace_line, p.states_checked, p.states_total, p.torn_bits, "
			       "(SELECT MAX(cow_used) FROM judged_states s WHERE s.point = p.id), "
			       "(SELECT COUNT(*) FROM judged_states s WHERE s.point = p.id AND s.verdict <> 'ok'), "
			       "p.kind, p.label, p.verdict FROM crash_points p JOIN temp.report_sweep w "
			       "ON w.run = p.run WHERE w.sweep = ?1 AND p.kind <> 'replay' ORDER BY p.seq, p.id",
			       -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, sweep);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			struct pt *nv = realloc(v, cap * sizeof(*nv));

			if (!nv)
				break;
			v = nv;
		}
		struct pt *p = &v[(*n)++];

		p->id = sqlite3_column_int64(st, 0);
		p->seq = sqlite3_column_int64(st, 1);
		p->line = sqlite3_column_int64(st, 2);
		p->checked = sqlite3_column_int64(st, 3);
		p->total = sqlite3_column_int64(st, 4);
		p->torn = sqlite3_column_int64(st, 5);
		p->cow = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6);
		p->failing = sqlite3_column_int64(st, 7);
		p->kind = dup_col(st, 8);
		p->label = dup_col(st, 9);
		p->verdict = dup_col(st, 10);
	}
	sqlite3_finalize(st);
	return v;
}

static void free_points(struct pt *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].kind);
		free(v[i].label);
		free(v[i].verdict);
	}
	free(v);
}

/* A point's colour: its verdict, grey when no state of it was checked. */
static const char *point_verdict(const struct pt *p)
{
	return p->checked ? p->verdict : NULL;
}

/* Which bars get a number under them: all of few, else about ten spread evenly. */
static bool is_tick(size_t i, size_t n)
{
	const size_t k = 10;

	if (n <= 24)
		return true;
	for (size_t j = 0; j < k; j++)
		if (i == (j * (n - 1) + (k - 1) / 2) / (k - 1))
			return true;
	return false;
}

static void timeline(sqlite3 *db, const struct pt *v, size_t n, long long max_cow, FILE *out)
{
	const int W = 1060, L = 56, R = 16, BAR_Y = 22, BAR_H = 34, TICK_Y = BAR_Y + BAR_H + 13;
	const int U_Y = TICK_Y + 16, U_H = 90;
	const int H = max_cow > 0 ? U_Y + U_H + 10 : TICK_Y + 8;
	double step = (double)(W - L - R) / (double)n;
	char anchor[48];

	fprintf(out, "<div class=scroll><svg class=timeline width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"role=\"img\" aria-label=\"crash points coloured by verdict%s\">\n", W, H, W, H,
		max_cow > 0 ? ", and COW usage" : "");
	fprintf(out, "<text x=\"%d\" y=\"14\" font-size=\"12\" fill=\"#37424b\">%zu crash point%s in trace "
		"order, numbered as in the table</text>\n", L, n, n == 1 ? "" : "s");
	fprintf(out, "<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#5b6670\">verdict</text>\n", BAR_Y + 21);
	fprintf(out, "<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#5b6670\">point</text>\n", TICK_Y);
	for (size_t i = 0; i < n; i++) {
		const struct pt *p = &v[i];
		double x = L + step * (double)i, w = step > 2.0 ? step - (step > 6 ? 1.0 : 0.3) : step;

		if (p->failing) {
			report_point_anchor(db, p->id, anchor, sizeof(anchor));
			fprintf(out, "<a class=failbar href=\"#%s\">", anchor);
		}
		fprintf(out, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\"><title>point %lld (",
			x, BAR_Y, w < 0.6 ? 0.6 : w, BAR_H, report_verdict_colour(point_verdict(p)), p->seq);
		esc(out, p->kind);
		fprintf(out, ", line %lld): ", p->line);
		esc(out, p->label);
		fprintf(out, "; %lld states checked; ", p->checked);
		esc(out, point_verdict(p) ? point_verdict(p) : "not explored");
		fputs(p->failing ? " (click: the failure)</title></rect></a>\n" : "</title></rect>\n", out);
		if (is_tick(i, n))
			fprintf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" "
				"fill=\"#5b6670\">%lld</text>\n", x + step / 2, TICK_Y, p->seq);
	}
	if (max_cow > 0) {
		fprintf(out, "<g class=cow><text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#5b6670\">COW</text>"
			"<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#5b6670\">chunks</text>\n", U_Y + 40, U_Y + 53);
		fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c4ccd3\"/>\n", L, U_Y + U_H,
			W - R, U_Y + U_H);
		fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c4ccd3\"/>\n", L, U_Y, L, U_Y + U_H);
		fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6670\">%lld</text>\n",
			L - 4, U_Y + 8, max_cow);
		fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6670\">0</text>\n",
			L - 4, U_Y + U_H);
		fputs("<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.6\" points=\"", out);
		for (size_t i = 0; i < n; i++)
			if (v[i].cow >= 0)
				fprintf(out, "%.1f,%.1f ", L + step * ((double)i + 0.5),
					U_Y + U_H - (double)U_H * (double)v[i].cow / (double)max_cow);
		fputs("\"/></g>\n", out);
	}
	fputs("</svg></div>\n", out);
}

static void point_row(sqlite3 *db, FILE *out, const struct pt *p, bool cow)
{
	char tot[REPORT_NUM_LEN + 32], anchor[48];

	report_num(tot, sizeof(tot), (uint64_t)p->total);
	if (p->torn > 0) {
		size_t l = strlen(tot);

		snprintf(tot + l, sizeof(tot) - l, " &times; 2^%lld torn", p->torn);
	}
	fprintf(out, "<tr id=\"pt-%lld\"><td class=n>", p->id);
	if (p->failing) {
		report_point_anchor(db, p->id, anchor, sizeof(anchor));
		fprintf(out, "<a href=\"#%s\">%lld</a>", anchor, p->seq);
	} else {
		fprintf(out, "%lld", p->seq);
	}
	fputs("</td><td class=wide>", out);
	esc(out, p->kind);
	fprintf(out, "</td><td class=\"n wide\">%lld</td><td>", p->line);
	esc(out, p->label);
	fprintf(out, "</td><td class=n>%s</td><td class=n>%lld</td>", tot, p->checked);
	if (cow)
		fprintf(out, "<td class=\"n wide\">%lld</td>", p->cow > 0 ? p->cow : 0);
	fputs("<td>", out);
	report_html_badge(out, point_verdict(p));
	fputs("</td></tr>\n", out);
}

static void points_table(sqlite3 *db, const struct pt *v, size_t n, bool cow, FILE *out)
{
	char head[512];

	snprintf(head, sizeof(head),
		 "<table class=points><tr><th class=n>Point</th><th class=wide>Kind</th><th class=\"n wide\">Line</th>"
		 "<th>Event</th><th class=n>States existing</th><th class=n>Checked</th>%s<th>Verdict</th></tr>\n",
		 cow ? "<th class=\"n wide\">Max COW chunks</th>" : "");
	fputs("<div class=scroll>", out);
	fputs(head, out);
	for (size_t i = 0; i < n; i++) {
		if (i == REPORT_MAX_POINT_ROWS)
			fprintf(out, "</table>\n<details><summary>%zu more crash points</summary>\n%s",
				n - REPORT_MAX_POINT_ROWS, head);
		point_row(db, out, &v[i], cow);
	}
	fputs(n > REPORT_MAX_POINT_ROWS ? "</table></details></div>\n" : "</table></div>\n", out);
}

/* The live run failed: say so above the timeline, linking to its card. */
static void live_note(sqlite3 *db, long long sweep, FILE *out)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT c.point, p.trace_line, p.seq FROM temp.report_card c JOIN crash_points p "
			       "ON p.id = c.point WHERE c.sweep = ?1 AND c.live", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, sweep);
	if (sqlite3_step(st) == SQLITE_ROW) {
		fprintf(out, "<p><b>The live run failed</b> at trace line %lld, ", sqlite3_column_int64(st, 1));
		if (sqlite3_column_int64(st, 2) > 0)
			fprintf(out, "after crash point %lld", sqlite3_column_int64(st, 2) - 1);
		else
			fputs("before any crash point", out);
		fprintf(out, ": <a href=\"#fail-%lld\">its failure</a>.</p>\n", sqlite3_column_int64(st, 0));
	}
	sqlite3_finalize(st);
}

void report_html_traces(sqlite3 *db, const struct report_sweeps *sw, FILE *out)
{
	for (size_t i = 0; i < sw->n; i++) {
		const struct report_sweep *s = &sw->v[i];
		struct report_figures f;
		struct pt *v;
		size_t n;

		report_sweep_figures(db, s->id, &f);
		fprintf(out, "<h3 id=\"sweep-%lld\">", s->id);
		esc(out, s->trace);
		if (report_sweep_name(s)) {
			fputs(" <small>&ldquo;", out);
			esc(out, report_sweep_name(s));
			fputs("&rdquo;</small>", out);
		}
		fprintf(out, " <small>(seed %lld)</small> ", s->seed);
		report_html_badge(out, s->verdict ? s->verdict : "unfinished");
		fputs("</h3>\n", out);
		if (f.live_failures)
			live_note(db, s->id, out);
		v = load_points(db, s->id, &n);
		if (!n) {
			fputs("<p class=sub>No crash point was explored.</p>\n", out);
			free_points(v, n);
			continue;
		}
		timeline(db, v, n, f.max_cow, out);
		points_table(db, v, n, f.max_cow > 0, out);
		free_points(v, n);
	}
}
