/*
 * report_html.c - the HTML crash-consistency report: one file, inline CSS
 * and SVG, no JavaScript (long tables fold into <details>, which needs
 * none). Sections: summary, runs (one row per sweep), coverage goals,
 * failures (report_html_fail.c), one block per sweep (report_html_trace.c)
 * and the recovered exception records that are not as expected.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "report.h"

#define esc report_html_escape
#define col report_col

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
	"pre{background:#1d2329;color:#e8edf1;padding:8px 10px;border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere}"
	".legend span{display:inline-block;margin-right:14px;font-size:12px}.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px;border-radius:2px}"
	"svg{background:#fff;border:1px solid #dde3e8;border-radius:4px;display:block;margin:6px 0}"
	"details{margin:6px 0}summary{cursor:pointer;color:#30506b}"
	".yes{color:#2e7d32;font-weight:600}.no{color:#8a939b}"
	".scroll{overflow-x:auto;max-width:100%}.scroll svg{width:100%;min-width:760px;height:auto}"
	"td.n{white-space:nowrap}.opt span{white-space:nowrap}"
	".fail.brief{padding:6px 12px;margin:6px 0}.fail.live{border-left-style:dashed}"
	".units{display:inline-flex;flex-wrap:wrap;gap:1px;max-width:260px}"
	".units i{display:inline-block;width:7px;height:12px;background:#c4ccd3}.units i.k{background:#2e7d32}"
	".o0{color:#8a939b}.o1{color:#2e7d32;font-weight:600}.o2{color:#ef6c00;font-weight:600}"
	"td.w{white-space:nowrap}p.cap{font-weight:600;margin:10px 0 2px}"
	"@media (max-width:700px){main{padding:14px 10px 40px}h1{font-size:21px}"
	".card{min-width:0;flex:1 1 40%;padding:8px 10px}.card b{font-size:18px}"
	"th,td{padding:3px 5px}table{font-size:12px}.wide{display:none}"
	/* A phone sees every column and a timeline's whole run (its numbers are in the table). */
	"td.n{white-space:normal}.runs td:first-child{overflow-wrap:anywhere}"
	".scroll svg{min-width:0}}";

static void legend(FILE *out)
{
	static const char *v[] = { "ok", "violation", "crash", "hang", NULL };

	fputs("<div class=\"legend\">", out);
	for (int i = 0; i < 5; i++)
		fprintf(out, "<span><i style=\"background:%s\"></i>%s</span>", report_verdict_colour(v[i]),
			v[i] ? v[i] : "not explored (filtered)");
	fputs("<span><i style=\"background:#1565c0;height:3px\"></i>recovered exceptions (COW chunks used)</span></div>\n", out);
}

/* Options of a sweep as a reader wants them: the shards said apart. */
static void shards_cell(FILE *out, const struct report_sweep *s)
{
	if (!s->shard_n)
		fputs("&mdash;", out);
	else if (s->nr_runs == s->shard_n)
		fprintf(out, "%u", s->shard_n);
	else
		fprintf(out, "%u of %u <span class=no>(incomplete)</span>", s->nr_runs, s->shard_n);
}

/* Options with a break only between two of them ("--budget 16" stays whole). */
static void options_cell(FILE *out, const char *opts)
{
	const char *p = opts ? opts : "";

	while (*p) {
		const char *next = strstr(p + 1, " --");
		size_t n = next ? (size_t)(next - p) : strlen(p);
		char part[256];

		snprintf(part, sizeof(part), "%.*s", (int)(n < sizeof(part) ? n : sizeof(part) - 1), p);
		fputs("<span>", out);
		esc(out, part[0] == ' ' ? part + 1 : part);
		fputs(next ? "</span> " : "</span>", out);
		p += n;
	}
}

static void section_runs_table(sqlite3 *db, const struct report_sweeps *sw, FILE *out)
{
	char a[REPORT_NUM_LEN], b[REPORT_NUM_LEN], c[REPORT_NUM_LEN], d[REPORT_NUM_LEN];

	fputs("<h2>Runs</h2>\n<p class=sub>One row per sweep: the shards of a sharded exploration "
	      "(<code>--shard K/N</code>, same trace, seed and options) are counted together. "
	      "States existing counts whole surviving writes; torn variants come on top (per crash "
	      "point below).</p>\n<div class=scroll><table class=runs><tr><th>Trace</th><th class=\"n wide\">Seed</th>"
	      "<th class=wide>Options</th><th class=\"n wide\">Shards</th><th>Verdict</th><th class=n>Crash points</th>"
	      "<th class=\"n wide\">States existing</th><th class=n>States checked</th>"
	      "<th class=n>Failing states</th><th class=wide>Started</th></tr>\n", out);
	for (size_t i = 0; i < sw->n; i++) {
		const struct report_sweep *s = &sw->v[i];
		struct report_figures f;

		report_sweep_figures(db, s->id, &f);
		fprintf(out, "<tr class=sweep><td><a href=\"#sweep-%lld\">", s->id);
		esc(out, s->trace);
		fputs("</a>", out);
		if (report_sweep_name(s)) {
			fputs("<br><small>&ldquo;", out);
			esc(out, report_sweep_name(s));
			fputs("&rdquo;</small>", out);
		}
		fprintf(out, "</td><td class=\"n wide\">%lld</td><td class=\"opt wide\"><code>", s->seed);
		options_cell(out, s->options);
		fputs("</code></td><td class=\"n wide\">", out);
		shards_cell(out, s);
		fputs("</td><td>", out);
		report_html_badge(out, s->verdict ? s->verdict : "unfinished");
		fprintf(out, "</td><td class=n>%s", report_num(a, sizeof(a), (uint64_t)f.points));
		if (s->points_offered > f.points)
			fprintf(out, " of %s", report_num(b, sizeof(b), (uint64_t)s->points_offered));
		fprintf(out, "</td><td class=\"n wide\">%s%s</td><td class=n>%s</td><td class=n>",
			report_num(c, sizeof(c), f.states_total), f.torn ? " + torn" : "",
			report_num(d, sizeof(d), (uint64_t)f.states_checked));
		if (!f.live_failures || f.failing_states)
			fputs(report_num(a, sizeof(a), (uint64_t)f.failing_states), out);
		fputs(f.live_failures ? (f.failing_states ? " + the live run" : "the live run") : "", out);
		fputs("</td><td class=wide>", out);
		esc(out, s->started);
		fputs("</td></tr>\n", out);
	}
	fputs("</table></div>\n", out);
}

static void section_coverage(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;

	fputs("<h2>Coverage goals</h2>\n<p class=sub>Whether some explored crash point landed in each "
	      "situation the persistent store must survive.</p>\n<div class=scroll><table><tr><th>Goal</th>"
	      "<th>Reached</th><th>Traces that reached it</th></tr>\n", out);
	if (sqlite3_prepare_v2(db,
			       "SELECT c.goal, MAX(c.reached), (SELECT GROUP_CONCAT(n, ', ') FROM "
			       "(SELECT DISTINCT r2.trace_name AS n FROM coverage c2 JOIN runs r2 ON r2.id = c2.run "
			       "WHERE c2.goal = c.goal AND c2.reached ORDER BY n)) "
			       "FROM coverage c GROUP BY c.goal ORDER BY c.goal", -1, &st, NULL) != SQLITE_OK) {
		fputs("</table></div>\n", out);
		return;
	}
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
	fputs("</table></div>\n", out);
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
			       "JOIN judged_states s ON e.state = s.id JOIN crash_points p ON s.point = p.id "
			       "JOIN runs r ON p.run = r.id WHERE e.note IS NOT NULL ORDER BY r.trace, p.seq, s.id",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	/* Narrow screens keep what the problem needs: no state id, the Problem column readable. */
	fputs("<div class=scroll><table class=exc><tr><th>Trace</th><th class=n>Point</th>"
	      "<th class=\"n wide\">State</th><th>Snapshot</th><th class=n>Origin chunk</th>"
	      "<th class=n>COW chunk</th><th>Problem</th></tr>\n", out);
	while (sqlite3_step(st) == SQLITE_ROW && shown++ < REPORT_MAX_EXC_ROWS) {
		fputs("<tr><td>", out);
		esc(out, col(st, 0));
		fprintf(out, "</td><td class=n>%lld</td><td class=\"n wide\">%lld</td><td>",
			sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 6));
		esc(out, col(st, 2));
		fprintf(out, "</td><td class=n>%lld</td><td class=n>%lld</td><td>", sqlite3_column_int64(st, 3),
			sqlite3_column_int64(st, 4));
		esc(out, col(st, 5));
		fputs("</td></tr>\n", out);
	}
	sqlite3_finalize(st);
	fputs("</table></div>\n", out);
}

int report_write_html(struct sqlite3 *db, const char *db_name, FILE *out)
{
	struct report_sweeps sw;
	char a[REPORT_NUM_LEN], b[REPORT_NUM_LEN], c[REPORT_NUM_LEN];
	long long points, states, bad, live, goals, goals_all;
	int r;

	if (report_scalar(db, "SELECT COUNT(*) FROM runs", -1) < 0)
		return -EINVAL;
	r = report_sweeps_load(db, &sw);
	if (r)
		return r;
	points = report_scalar(db, "SELECT COUNT(*) FROM crash_points WHERE kind <> 'replay'", 0);
	states = report_scalar(db, "SELECT COUNT(*) FROM judged_states s JOIN crash_points p ON s.point = p.id "
			       "WHERE p.kind <> 'replay'", 0);
	bad = report_scalar(db, "SELECT COUNT(*) FROM judged_states s JOIN crash_points p ON s.point = p.id "
			    "WHERE p.kind <> 'replay' AND s.verdict <> 'ok'", 0);
	live = report_scalar(db, "SELECT COUNT(*) FROM temp.report_card WHERE live", 0);
	goals = report_scalar(db, "SELECT COUNT(DISTINCT goal) FROM coverage WHERE reached", 0);
	goals_all = report_scalar(db, "SELECT COUNT(DISTINCT goal) FROM coverage", 0);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>snapsim crash-consistency report</title>\n<style>", out);
	fputs(report_css, out);
	fputs("</style></head><body><main>\n<h1>Crash-consistency report</h1>\n<p class=sub>"
	      "Power cuts explored by <code>snapsim explore</code>: at each crash point, durable states of "
	      "the disks were restarted and checked against the reference model. Database: <code>", out);
	esc(out, db_name);
	fputs("</code></p>\n<div class=\"cards\">", out);
	fprintf(out, "<div class=\"card\"><b>%s</b><span>sweeps (%s runs)</span></div>",
		report_num(a, sizeof(a), sw.n), report_num(b, sizeof(b), sw.nr_runs));
	fprintf(out, "<div class=\"card\"><b>%s</b><span>crash points</span></div>",
		report_num(a, sizeof(a), (uint64_t)points));
	fprintf(out, "<div class=\"card\"><b>%s</b><span>states checked</span></div>",
		report_num(a, sizeof(a), (uint64_t)states));
	fprintf(out, "<div class=\"card\"><b style=\"color:%s\">%s</b><span>failing states</span></div>",
		bad ? "#c62828" : "#2e7d32", report_num(c, sizeof(c), (uint64_t)bad));
	if (live)
		fprintf(out, "<div class=\"card\"><b style=\"color:#c62828\">%s</b><span>live runs failed</span></div>",
			report_num(c, sizeof(c), (uint64_t)live));
	fprintf(out, "<div class=\"card\"><b>%lld / %lld</b><span>coverage goals reached</span></div>",
		goals, goals_all);
	fputs("</div>\n", out);
	section_runs_table(db, &sw, out);
	section_coverage(db, out);
	report_html_failures(db, &sw, out);
	fputs("<h2>Traces</h2>\n", out);
	legend(out);
	report_html_traces(db, &sw, out);
	section_exceptions(db, out);
	fputs("</main></body></html>\n", out);
	report_sweeps_free(&sw);
	return ferror(out) ? -EIO : 0;
}
