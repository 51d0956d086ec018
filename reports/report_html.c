/*
 * report_html.c - the HTML crash-consistency report: one file, inline CSS
 * and SVG, no JavaScript (long tables fold into <details>, which needs
 * none). Sections: summary, coverage goals, failures (evidence and repro),
 * one block per run (timeline of crash points coloured by verdict, COW
 * usage over the trace, the crash point table), and the recovered
 * exception records that are not as expected.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "report.h"

#define esc report_html_escape

static const char report_css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2329;background:#f4f6f8}"
	"main{max-width:1120px;margin:0 auto;padding:24px 28px 60px}"
	"h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px;border-bottom:2px solid #dde3e8;padding-bottom:4px}"
	"h3{font-size:16px;margin:24px 0 6px}.sub{color:#5b6670;margin:0 0 18px}"
	"table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 12px;font-size:13px}"
	"th,td{border:1px solid #dde3e8;padding:4px 8px;text-align:left;vertical-align:top}"
	"th{background:#eef2f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	".badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}"
	".cards{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0 6px}"
	".card{background:#fff;border:1px solid #dde3e8;border-radius:6px;padding:10px 16px;min-width:130px}"
	".card b{display:block;font-size:22px}.card span{color:#5b6670;font-size:12px}"
	".fail{background:#fff;border:1px solid #e7b7b7;border-left:5px solid #c62828;border-radius:4px;padding:10px 14px;margin:12px 0}"
	".fail p{margin:4px 0}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}"
	"pre{background:#1d2329;color:#e8edf1;padding:8px 10px;border-radius:4px;white-space:pre-wrap;word-break:break-all}"
	".legend span{display:inline-block;margin-right:14px;font-size:12px}.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px;border-radius:2px}"
	"svg{background:#fff;border:1px solid #dde3e8;border-radius:4px;display:block;margin:6px 0}"
	"details{margin:6px 0}summary{cursor:pointer;color:#30506b}"
	".yes{color:#2e7d32;font-weight:600}.no{color:#8a939b}";

static void badge(FILE *out, const char *verdict)
{
	fprintf(out, "<span class=\"badge\" style=\"background:%s\">", report_verdict_colour(verdict));
	esc(out, verdict ? verdict : "unexplored");
	fputs("</span>", out);
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void legend(FILE *out)
{
	static const char *v[] = { "ok", "violation", "crash", "hang", NULL };

	fputs("<div class=\"legend\">", out);
	for (int i = 0; i < 5; i++)
		fprintf(out, "<span><i style=\"background:%s\"></i>%s</span>", report_verdict_colour(v[i]),
			v[i] ? v[i] : "not explored (other shard / filtered)");
	fputs("<span><i style=\"background:#1565c0;height:3px\"></i>recovered exceptions (COW chunks used)</span></div>\n", out);
}

static void section_summary(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;
	char a[32], b[32];

	fputs("<h2>Runs</h2>\n<table><tr><th>Trace</th><th class=n>Seed</th><th>Options</th><th>Verdict</th>"
	      "<th class=n>Crash points</th><th class=n>States existing</th><th class=n>States checked</th>"
	      "<th class=n>Failing states</th><th>Started</th></tr>\n", out);
	if (sqlite3_prepare_v2(db,
			       "SELECT r.id, r.trace, r.seed, r.options, r.verdict, "
			       "(SELECT COUNT(*) FROM crash_points p WHERE p.run = r.id), "
			       "(SELECT MIN(TOTAL(p.states_total), 9.2e18) FROM crash_points p WHERE p.run = r.id), "
			       "(SELECT SUM(p.states_checked) FROM crash_points p WHERE p.run = r.id), "
			       "(SELECT COUNT(*) FROM states s JOIN crash_points p ON s.point = p.id WHERE p.run = r.id AND s.verdict <> 'ok'), "
			       "r.started FROM runs r ORDER BY r.trace, r.id", -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		fprintf(out, "<tr><td><a href=\"#run-%lld\">", sqlite3_column_int64(st, 0));
		esc(out, col(st, 1));
		fprintf(out, "</a></td><td class=n>%lld</td><td><code>", sqlite3_column_int64(st, 2));
		esc(out, col(st, 3));
		fputs("</code></td><td>", out);
		badge(out, col(st, 4));
		report_count(a, sizeof(a), sqlite3_column_double(st, 6) >= 9.2e18 ? INT64_MAX : sqlite3_column_int64(st, 6));
		report_count(b, sizeof(b), sqlite3_column_int64(st, 7));
		fprintf(out, "</td><td class=n>%lld</td><td class=n>%s</td><td class=n>%s</td><td class=n>%lld</td><td>",
			sqlite3_column_int64(st, 5), a, b, sqlite3_column_int64(st, 8));
		esc(out, col(st, 9));
		fputs("</td></tr>\n", out);
	}
	sqlite3_finalize(st);
	fputs("</table>\n", out);
}

static void section_coverage(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;

	fputs("<h2>Coverage goals</h2>\n<p class=sub>Whether some explored crash point landed in each "
	      "situation the persistent store must survive.</p>\n<table><tr><th>Goal</th><th>Reached</th>"
	      "<th>Traces that reached it</th></tr>\n", out);
	if (sqlite3_prepare_v2(db,
			       "SELECT c.goal, MAX(c.reached), "
			       "GROUP_CONCAT(CASE WHEN c.reached THEN r.trace_name END, ', ') "
			       "FROM coverage c JOIN runs r ON r.id = c.run GROUP BY c.goal ORDER BY c.goal",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		bool reached = sqlite3_column_int(st, 1) != 0;

		fputs("<tr><td>", out);
		esc(out, col(st, 0));
		fprintf(out, "</td><td class=\"%s\">%s</td><td>", reached ? "yes" : "no",
			reached ? "&#10003; reached" : "&#10007; not reached");
		esc(out, col(st, 2));
		fputs("</td></tr>\n", out);
	}
	sqlite3_finalize(st);
	fputs("</table>\n", out);
}

static void evidence_table(sqlite3 *db, FILE *out, long long state)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT device, sector, nsectors, expected, found, message "
			       "FROM evidence WHERE state = ?1 ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, state);
	fputs("<table><tr><th>Device</th><th class=n>Sector</th><th class=n>Sectors</th><th>Expected</th>"
	      "<th>Found</th><th>Message</th></tr>\n", out);
	while (sqlite3_step(st) == SQLITE_ROW) {
		fputs("<tr><td>", out);
		esc(out, col(st, 0));
		fprintf(out, "</td><td class=n>%lld</td><td class=n>%lld</td><td>",
			sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
		esc(out, col(st, 3));
		fputs("</td><td>", out);
		esc(out, col(st, 4));
		fputs("</td><td>", out);
		esc(out, col(st, 5));
		fputs("</td></tr>\n", out);
	}
	sqlite3_finalize(st);
	fputs("</table>\n", out);
}

static void section_failures(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;
	long long total = report_scalar(db, "SELECT COUNT(*) FROM states WHERE verdict <> 'ok'", 0);
	int shown = 0;

	fprintf(out, "<h2>Failures</h2>\n");
	if (!total) {
		fputs("<p class=sub>No explored state failed: every recovered device read what the model "
		      "allows, and every recovered store kept its invariants.</p>\n", out);
		return;
	}
	fprintf(out, "<p class=sub>%lld failing state%s. Each shows the check that failed, the surviving "
		"writes, the evidence and the command that replays exactly that state.</p>\n",
		total, total == 1 ? "" : "s");
	if (sqlite3_prepare_v2(db,
			       "SELECT s.id, r.trace, r.seed, p.seq, p.kind, p.trace_line, p.label, s.verdict, "
			       "s.message, s.survivors, s.repro, s.hash, r.minimized, r.id FROM states s "
			       "JOIN crash_points p ON s.point = p.id JOIN runs r ON p.run = r.id "
			       "WHERE s.verdict <> 'ok' ORDER BY r.trace, p.seq, s.id", -1, &st, NULL) != SQLITE_OK)
		return;
	long long last_run = -1, in_run = 0, folded = 0;

	while (sqlite3_step(st) == SQLITE_ROW && shown < REPORT_MAX_FAILURES) {
		long long run = sqlite3_column_int64(st, 13);

		in_run = run == last_run ? in_run + 1 : 1;
		last_run = run;
		if (in_run > REPORT_MAX_FAILURES_PER_RUN) {
			folded++;
			continue;
		}
		shown++;
		fputs("<div class=\"fail\"><p>", out);
		badge(out, col(st, 7));
		fputs(" <b>", out);
		esc(out, col(st, 1));
		fprintf(out, "</b>, seed %lld, crash point %lld (", sqlite3_column_int64(st, 2),
			sqlite3_column_int64(st, 3));
		esc(out, col(st, 4));
		fprintf(out, ", trace line %lld: ", sqlite3_column_int64(st, 5));
		esc(out, col(st, 6));
		fputs(")</p><p><b>", out);
		esc(out, col(st, 8));
		fputs("</b></p><p>Surviving writes: <code>", out);
		esc(out, col(st, 9)[0] ? col(st, 9) : "(none: durable images only)");
		fputs("</code> &middot; state hash <code>", out);
		esc(out, col(st, 11));
		fputs("</code></p>\n", out);
		evidence_table(db, out, sqlite3_column_int64(st, 0));
		if (col(st, 10)) {
			fputs("<p>Replay this state:</p><pre>", out);
			esc(out, col(st, 10));
			fputs("</pre>\n", out);
		}
		if (col(st, 12)) {
			fputs("<p>Minimized trace: <code>", out);
			esc(out, col(st, 12));
			fputs("</code></p>\n", out);
		}
		fputs("</div>\n", out);
	}
	sqlite3_finalize(st);
	if (folded || total > shown)
		fprintf(out, "<p class=sub>%lld more failing state%s not shown in full (at most %d per trace); "
			"each trace's crash point table below marks them.</p>\n", total - shown,
			total - shown == 1 ? "" : "s", REPORT_MAX_FAILURES_PER_RUN);
}

/* The timeline: one bar per crash point, coloured by verdict; the COW usage line below. */
static void run_svg(sqlite3 *db, FILE *out, long long run)
{
	const int W = 1060, L = 56, R = 16, BAR_Y = 22, BAR_H = 34, U_Y = 84, U_H = 90;
	long long n = 0, max_used = 0;
	sqlite3_stmt *st;
	char sql[600];
	double step;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM crash_points WHERE run = %lld", run);
	n = report_scalar(db, sql, 0);
	if (n <= 0)
		return;
	snprintf(sql, sizeof(sql), "SELECT MAX(s.cow_used) FROM states s JOIN crash_points p ON s.point = p.id WHERE p.run = %lld", run);
	max_used = report_scalar(db, sql, 0);
	step = (double)(W - L - R) / (double)n;
	fprintf(out, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"crash points coloured by verdict, and COW usage\">\n", W, U_Y + U_H + 34, W,
		U_Y + U_H + 34);
	fprintf(out, "<text x=\"%d\" y=\"14\" font-size=\"12\" fill=\"#37424b\">crash points (%lld), in trace order</text>\n",
		L, n);
	fprintf(out, "<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#5b6670\">verdict</text>\n", BAR_Y + 21);
	fprintf(out, "<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#5b6670\">COW</text>"
		"<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#5b6670\">chunks</text>\n", U_Y + 40, U_Y + 53);
	/* Axes of the usage plot. */
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c4ccd3\"/>\n", L, U_Y + U_H, W - R,
		U_Y + U_H);
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#c4ccd3\"/>\n", L, U_Y, L, U_Y + U_H);
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6670\">%lld</text>\n",
		L - 4, U_Y + 8, max_used);
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6670\">0</text>\n",
		L - 4, U_Y + U_H);

	snprintf(sql, sizeof(sql),
		 "SELECT p.seq, p.kind, p.trace_line, p.label, p.verdict, p.states_checked, p.states_total, "
		 "(SELECT MAX(cow_used) FROM states s WHERE s.point = p.id) "
		 "FROM crash_points p WHERE p.run = %lld ORDER BY p.seq, p.id", run);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fputs("</svg>\n", out);
		return;
	}
	fprintf(out, "<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.6\" points=\"");
	long long i = 0;
	/* First pass: the usage line (points with a usage figure only). */
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
			double x = L + step * ((double)i + 0.5);
			double y = U_Y + U_H - (max_used ? (double)U_H * (double)sqlite3_column_int64(st, 7) /
						 (double)max_used : 0.0);

			fprintf(out, "%.1f,%.1f ", x, y);
		}
		i++;
	}
	fputs("\"/>\n", out);
	sqlite3_reset(st);
	i = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		double x = L + step * (double)i, w = step > 2.0 ? step - (step > 6 ? 1.0 : 0.3) : step;
		const char *v = col(st, 4);

		if (v && !sqlite3_column_int64(st, 5))
			v = NULL;
		fprintf(out, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\"><title>point %lld (",
			x, BAR_Y, w < 0.6 ? 0.6 : w, BAR_H, report_verdict_colour(v), sqlite3_column_int64(st, 0));
		esc(out, col(st, 1));
		fprintf(out, ", line %lld): ", sqlite3_column_int64(st, 2));
		esc(out, col(st, 3));
		fprintf(out, "; %lld states checked; ", sqlite3_column_int64(st, 5));
		esc(out, v ? v : "not explored");
		fputs("</title></rect>\n", out);
		i++;
	}
	sqlite3_finalize(st);
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#5b6670\">point 0</text>\n", L,
		U_Y + U_H + 14);
	fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6670\">point %lld</text>\n",
		W - R, U_Y + U_H + 14, n - 1);
	fputs("</svg>\n", out);
}

static void point_row(FILE *out, sqlite3_stmt *st)
{
	char tot[64];
	const char *v = col(st, 4);

	report_count(tot, sizeof(tot), sqlite3_column_int64(st, 6));
	if (sqlite3_column_int64(st, 8) > 0) {
		size_t l = strlen(tot);

		snprintf(tot + l, sizeof(tot) - l, " &times; 2^%lld torn",
			 sqlite3_column_int64(st, 8));
	}
	fprintf(out, "<tr><td class=n>%lld</td><td>", sqlite3_column_int64(st, 0));
	esc(out, col(st, 1));
	fprintf(out, "</td><td class=n>%lld</td><td>", sqlite3_column_int64(st, 2));
	esc(out, col(st, 3));
	fprintf(out, "</td><td class=n>%s</td><td class=n>%lld</td><td class=n>%lld</td><td>", tot,
		sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 7));
	badge(out, sqlite3_column_int64(st, 5) ? v : NULL);
	fputs("</td></tr>\n", out);
}

static void run_points(sqlite3 *db, FILE *out, long long run)
{
	static const char head[] =
		"<table><tr><th class=n>Point</th><th>Kind</th><th class=n>Line</th><th>Event</th>"
		"<th class=n>States existing</th><th class=n>Checked</th><th class=n>Max COW chunks</th>"
		"<th>Verdict</th></tr>\n";
	sqlite3_stmt *st;
	char sql[512];
	long long n, shown = 0;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM crash_points WHERE run = %lld", run);
	n = report_scalar(db, sql, 0);
	snprintf(sql, sizeof(sql),
		 "SELECT p.seq, p.kind, p.trace_line, p.label, p.verdict, p.states_checked, p.states_total, "
		 "COALESCE((SELECT MAX(cow_used) FROM states s WHERE s.point = p.id), 0), p.torn_bits "
		 "FROM crash_points p WHERE p.run = %lld ORDER BY p.seq, p.id", run);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	fputs(head, out);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (shown == REPORT_MAX_POINT_ROWS && n > REPORT_MAX_POINT_ROWS)
			fprintf(out, "</table>\n<details><summary>%lld more crash points</summary>\n%s",
				n - REPORT_MAX_POINT_ROWS, head);
		point_row(out, st);
		shown++;
	}
	sqlite3_finalize(st);
	fputs(n > REPORT_MAX_POINT_ROWS ? "</table></details>\n" : "</table>\n", out);
}

static void section_runs(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;

	fputs("<h2>Traces</h2>\n", out);
	legend(out);
	if (sqlite3_prepare_v2(db, "SELECT id, trace, seed, verdict, options, repro FROM runs ORDER BY trace, id",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		long long run = sqlite3_column_int64(st, 0);

		fprintf(out, "<h3 id=\"run-%lld\">", run);
		esc(out, col(st, 1));
		fprintf(out, " <small>(seed %lld)</small> ", sqlite3_column_int64(st, 2));
		badge(out, col(st, 3));
		fputs("</h3>\n", out);
		run_svg(db, out, run);
		run_points(db, out, run);
	}
	sqlite3_finalize(st);
}

static void section_exceptions(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;
	long long n = report_scalar(db, "SELECT COUNT(*) FROM exceptions WHERE note IS NOT NULL", 0);
	long long shown = 0;

	fputs("<h2>Recovered exception tables that differ from the expected ones</h2>\n", out);
	fprintf(out, "<p class=sub>%lld recovered record%s out of %lld violate the store's invariants "
		"(unique COW chunks, one exception per origin chunk, chunks in range and not metadata).</p>\n",
		n, n == 1 ? "" : "s", report_scalar(db, "SELECT COUNT(*) FROM exceptions", 0));
	if (!n)
		return;
	if (sqlite3_prepare_v2(db,
			       "SELECT r.trace, p.seq, e.device, e.old_chunk, e.new_chunk, e.note, s.id FROM exceptions e "
			       "JOIN states s ON e.state = s.id JOIN crash_points p ON s.point = p.id "
			       "JOIN runs r ON p.run = r.id WHERE e.note IS NOT NULL ORDER BY r.trace, p.seq, s.id",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	fputs("<table><tr><th>Trace</th><th class=n>Point</th><th class=n>State</th><th>Snapshot</th>"
	      "<th class=n>Origin chunk</th><th class=n>COW chunk</th><th>Problem</th></tr>\n", out);
	while (sqlite3_step(st) == SQLITE_ROW && shown++ < REPORT_MAX_EXC_ROWS) {
		fputs("<tr><td>", out);
		esc(out, col(st, 0));
		fprintf(out, "</td><td class=n>%lld</td><td class=n>%lld</td><td>", sqlite3_column_int64(st, 1),
			sqlite3_column_int64(st, 6));
		esc(out, col(st, 2));
		fprintf(out, "</td><td class=n>%lld</td><td class=n>%lld</td><td>", sqlite3_column_int64(st, 3),
			sqlite3_column_int64(st, 4));
		esc(out, col(st, 5));
		fputs("</td></tr>\n", out);
	}
	sqlite3_finalize(st);
	fputs("</table>\n", out);
}

int report_write_html(struct sqlite3 *db, const char *db_name, FILE *out)
{
	long long runs = report_scalar(db, "SELECT COUNT(*) FROM runs", -1);
	long long points = report_scalar(db, "SELECT COUNT(*) FROM crash_points", 0);
	long long states = report_scalar(db, "SELECT COUNT(*) FROM states", 0);
	long long bad = report_scalar(db, "SELECT COUNT(*) FROM states WHERE verdict <> 'ok'", 0);
	long long goals = report_scalar(db, "SELECT COUNT(DISTINCT goal) FROM coverage WHERE reached", 0);
	long long goals_all = report_scalar(db, "SELECT COUNT(DISTINCT goal) FROM coverage", 0);

	if (runs < 0)
		return -EINVAL;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>snapsim crash-consistency report</title>\n<style>", out);
	fputs(report_css, out);
	fputs("</style></head><body><main>\n<h1>Crash-consistency report</h1>\n<p class=sub>"
	      "Power cuts explored by <code>snapsim explore</code>: at each crash point, durable states of "
	      "the disks were restarted and checked against the reference model. Database: <code>", out);
	esc(out, db_name);
	fputs("</code></p>\n<div class=\"cards\">", out);
	fprintf(out, "<div class=\"card\"><b>%lld</b><span>trace runs</span></div>", runs);
	fprintf(out, "<div class=\"card\"><b>%lld</b><span>crash points</span></div>", points);
	fprintf(out, "<div class=\"card\"><b>%lld</b><span>states checked</span></div>", states);
	fprintf(out, "<div class=\"card\"><b style=\"color:%s\">%lld</b><span>failing states</span></div>",
		bad ? "#c62828" : "#2e7d32", bad);
	fprintf(out, "<div class=\"card\"><b>%lld / %lld</b><span>coverage goals reached</span></div>",
		goals, goals_all);
	fputs("</div>\n", out);
	section_summary(db, out);
	section_coverage(db, out);
	section_failures(db, out);
	section_runs(db, out);
	section_exceptions(db, out);
	fputs("</main></body></html>\n", out);
	return ferror(out) ? -EIO : 0;
}
