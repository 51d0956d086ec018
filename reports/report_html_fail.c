/*
 * report_html_fail.c - the failures section: one card per failing crash
 * point (id "fail-POINT", the timeline's red bars link here), planned by
 * report_sweeps.c. A full card shows its first failing state in full (the
 * check that failed, the pending writes and what became of each, the
 * evidence, the repro line) and the other failing states of the point
 * folded; a brief card one line with the rest folded. A live-run failure
 * (the replay itself failed, outside any crash state) is a card of its own
 * with its message and repro: no state hash, no evidence rows.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "report.h"

#define esc report_html_escape
#define col report_col

/* The atomic units of a write as boxes: kept green, lost grey (buckets past 64 units). */
static void unit_boxes(FILE *out, const struct report_write *w)
{
	long long n = w->units > 64 ? 64 : w->units;

	fputs("<span class=units>", out);
	for (long long b = 0; b < n; b++) {
		long long lo = b * w->units / n, hi = (b + 1) * w->units / n, kept = 0;

		for (long long u = lo; u < hi; u++)
			kept += report_unit_kept(w, u);
		fprintf(out, "<i%s title=\"unit%s %lld%s%lld: %s\"></i>", 2 * kept > hi - lo ? " class=k" : "",
			hi - lo > 1 ? "s" : "", lo, hi - lo > 1 ? "-" : "", hi - lo > 1 ? hi - 1 : lo,
			kept == hi - lo ? "survived" : kept ? "partly survived" : "lost");
	}
	fputs("</span>", out);
}

/* The pending-writes table of one failing state. */
static void report_html_writes(sqlite3 *db, long long point, const char *survivors, FILE *out)
{
	struct report_writes ws;
	char buf[256];

	if (report_writes_load(db, point, survivors, &ws) || !ws.recorded)
		return; /* a database of schema 2: the survivor text above is all there is */
	if (!ws.n) {
		fputs("<p class=sub>No write was pending at this crash point: only the durable images "
		      "could survive.</p>\n", out);
		report_writes_free(&ws);
		return;
	}
	fputs("<p class=cap>Writes pending at the crash, by the trace line that was running when each "
	      "was submitted</p>\n<div class=scroll><table class=writes><tr><th class=n>Trace line</th>"
	      "<th>Disk</th><th class=n>Write</th><th>Sectors</th><th>At the crash</th><th>Outcome</th>"
	      "<th class=wide>Atomic units</th></tr>\n", out);
	size_t shown = 0, omitted = 0;

	for (size_t i = 0; i < ws.n; i++) {
		const struct report_write *w = &ws.v[i];

		if (!report_write_listed(&ws, i, &shown)) {
			omitted++;
			continue;
		}
		fputs("<tr class=write><td class=n>", out);
		if (w->trace_line)
			fprintf(out, "%lld", w->trace_line);
		else
			fputs("setup", out);
		fputs("</td><td>", out);
		esc(out, w->disk);
		fprintf(out, "</td><td class=n>%lld</td><td class=w>%lld", w->write_id, w->sector);
		if (w->nsectors > 1)
			fprintf(out, "&ndash;%lld", w->sector + w->nsectors - 1);
		fprintf(out, " (%lld)</td><td>", w->nsectors);
		esc(out, w->flags);
		report_outcome_text(w, buf, sizeof(buf));
		fprintf(out, "</td><td class=o%d>", (int)w->outcome);
		esc(out, buf);
		if (w->outcome == REPORT_TORN) {
			report_torn_sectors(w, true, 8, buf, sizeof(buf));
			fputs("<br><small>sectors kept: ", out);
			esc(out, buf);
			report_torn_sectors(w, false, 8, buf, sizeof(buf));
			fputs("; lost: ", out);
			esc(out, buf);
			fputs("</small>", out);
		}
		fputs("</td><td class=wide>", out);
		unit_boxes(out, w);
		fputs("</td></tr>\n", out);
	}
	fputs("</table></div>\n", out);
	if (omitted)
		fprintf(out, "<p class=sub>%zu more pending writes not listed (of %zu): the lost ones, and "
			"survivors past the first %d.</p>\n", omitted, ws.n, REPORT_MAX_WRITE_ROWS);
	report_writes_free(&ws);
}

/* Evidence rows that say something (rows with only a message repeat the state's). */
static void evidence_table(sqlite3 *db, FILE *out, long long state)
{
	sqlite3_stmt *st;
	bool any = false;

	if (sqlite3_prepare_v2(db, "SELECT device, sector, nsectors, expected, found, message FROM evidence "
			       "WHERE state = ?1 AND (device IS NOT NULL OR expected IS NOT NULL OR found IS NOT NULL) "
			       "ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, state);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (!any)
			fputs("<p class=cap>Evidence</p>\n<div class=scroll><table class=evidence><tr><th>Device</th>"
			      "<th class=n>Sector</th><th class=n>Sectors</th><th>Expected</th><th>Found</th>"
			      "<th class=wide>Message</th></tr>\n", out);
		any = true;
		fputs("<tr><td>", out);
		esc(out, col(st, 0));
		fprintf(out, "</td><td class=n>%lld</td><td class=n>%lld</td><td>", sqlite3_column_int64(st, 1),
			sqlite3_column_int64(st, 2));
		esc(out, col(st, 3));
		fputs("</td><td>", out);
		esc(out, col(st, 4));
		fputs("</td><td class=wide>", out);
		esc(out, col(st, 5));
		fputs("</td></tr>\n", out);
	}
	sqlite3_finalize(st);
	if (any)
		fputs("</table></div>\n", out);
}

/* st: id, verdict, message, survivors, repro, hash of one failing state. */
static void state_detail(sqlite3 *db, long long point, sqlite3_stmt *st, FILE *out)
{
	const char *surv = col(st, 3);

	fputs("<p><b>", out);
	esc(out, col(st, 2));
	fputs("</b></p><p>Surviving writes: <code>", out);
	esc(out, surv && surv[0] ? surv : "(none: durable images only)");
	fputs("</code> &middot; state hash <code>", out);
	esc(out, col(st, 5));
	fputs("</code></p>\n", out);
	report_html_writes(db, point, surv, out);
	evidence_table(db, out, sqlite3_column_int64(st, 0));
	report_html_check(db, sqlite3_column_int64(st, 0), out);
	if (col(st, 4)) {
		fputs("<p>Replay this state:</p><pre>", out);
		esc(out, col(st, 4));
		fputs("</pre>\n", out);
	}
}

/* "<b>trace</b>, seed S, crash point N (kind, trace line L: label)" */
static void point_title(FILE *out, const struct report_sweep *s, sqlite3_stmt *pt)
{
	fputs(" <b>", out);
	esc(out, s->trace);
	fprintf(out, "</b>, seed %lld, crash point %lld (", s->seed, sqlite3_column_int64(pt, 0));
	esc(out, col(pt, 1));
	fprintf(out, ", trace line %lld: ", sqlite3_column_int64(pt, 2));
	esc(out, col(pt, 3));
	fputs(")", out);
}

static void minimized(FILE *out, const struct report_sweep *s)
{
	if (!s->minimized)
		return;
	fputs("<p>Minimized trace: <code>", out);
	esc(out, s->minimized);
	fputs("</code></p>\n", out);
}

static void point_card(sqlite3 *db, const struct report_sweep *s, long long point, bool full, FILE *out)
{
	sqlite3_stmt *pt, *st;
	long long shown = 0, bad;
	char sql[160];

	if (sqlite3_prepare_v2(db, "SELECT seq, kind, trace_line, label, states_checked FROM crash_points "
			       "WHERE id = ?1", -1, &pt, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(pt, 1, point);
	if (sqlite3_step(pt) != SQLITE_ROW ||
	    sqlite3_prepare_v2(db, "SELECT id, verdict, message, survivors, repro, hash FROM judged_states "
			       "WHERE point = ?1 AND verdict <> 'ok' ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(pt);
		return;
	}
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM judged_states WHERE point = %lld AND verdict <> 'ok'", point);
	bad = report_scalar(db, sql, 0);
	sqlite3_bind_int64(st, 1, point);
	while (sqlite3_step(st) == SQLITE_ROW && shown < (full ? REPORT_MAX_STATES_PER_CARD : 1)) {
		if (!shown++) {
			/* The card's edge in its verdict's colour, as the legend and the bars. */
			fprintf(out, "<div class=\"fail%s\" id=\"fail-%lld\" style=\"border-left-color:"
				"%s\"><p>", full ? "" : " brief", point, report_verdict_colour(col(st, 1)));
			report_html_badge(out, col(st, 1));
			point_title(out, s, pt);
			fprintf(out, " &middot; %lld of %lld checked state%s failed", bad,
				sqlite3_column_int64(pt, 4), sqlite3_column_int64(pt, 4) == 1 ? "" : "s");
			if (full) {
				fputs("</p>\n", out);
				state_detail(db, point, st, out);
			} else {
				fputs(": ", out);
				esc(out, col(st, 2));
				fputs("</p>\n<details><summary>the state, its writes and its repro</summary>\n", out);
				state_detail(db, point, st, out);
				fputs("</details>\n", out);
			}
			continue;
		}
		fputs("<details><summary>another failing state: <code>", out);
		esc(out, col(st, 3)[0] ? col(st, 3) : "(none)");
		fputs("</code> ", out);
		esc(out, col(st, 2));
		fputs("</summary>\n", out);
		state_detail(db, point, st, out);
		fputs("</details>\n", out);
	}
	if (!shown)
		goto out;
	if (full && bad > shown)
		fprintf(out, "<p class=sub>%lld more failing state%s at this point.</p>\n", bad - shown,
			bad - shown == 1 ? "" : "s");
	if (full)
		minimized(out, s);
	fputs("</div>\n", out);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(pt);
}

static void live_card(sqlite3 *db, const struct report_sweep *s, long long point, FILE *out)
{
	sqlite3_stmt *st;
	const char *repro;

	if (sqlite3_prepare_v2(db, "SELECT s.verdict, s.message, s.repro, p.trace_line, p.seq FROM judged_states s "
			       "JOIN crash_points p ON p.id = s.point WHERE s.point = ?1 ORDER BY s.id LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, point);
	if (sqlite3_step(st) == SQLITE_ROW) {
		/* Dashed: a live run's failure, not a crash state's. */
		fprintf(out, "<div class=\"fail live\" id=\"fail-%lld\" style=\"border-left-color:%s\">"
			"<p>", point, report_verdict_colour(col(st, 0)));
		report_html_badge(out, col(st, 0));
		fputs(" <b>", out);
		esc(out, s->trace);
		fprintf(out, "</b>, seed %lld: <b>the live run failed</b> at trace line %lld, ", s->seed,
			sqlite3_column_int64(st, 3));
		if (sqlite3_column_int64(st, 4) > 0)
			fprintf(out, "after crash point %lld", sqlite3_column_int64(st, 4) - 1);
		else
			fputs("before any crash point", out);
		fputs(". No crash state: the replay itself read or did something the model forbids, so "
		      "nothing was restarted and there is no state to show.</p>\n<p><b>", out);
		esc(out, col(st, 1));
		fputs("</b></p>\n", out);
		repro = col(st, 2) ? col(st, 2) : s->repro;
		if (repro) {
			fputs("<p>Replay the run:</p><pre>", out);
			esc(out, repro);
			fputs("</pre>\n", out);
		}
		minimized(out, s);
		fputs("</div>\n", out);
	}
	sqlite3_finalize(st);
}

void report_html_failures(sqlite3 *db, const struct report_sweeps *sw, FILE *out)
{
	sqlite3_stmt *st;
	char a[REPORT_NUM_LEN], b[REPORT_NUM_LEN];
	long long states = report_scalar(db, "SELECT COUNT(*) FROM judged_states s JOIN crash_points p ON "
					 "s.point = p.id WHERE p.kind <> 'replay' AND s.verdict <> 'ok'", 0);
	long long points = report_scalar(db, "SELECT COUNT(DISTINCT s.point) FROM judged_states s JOIN crash_points p "
					 "ON s.point = p.id WHERE p.kind <> 'replay' AND s.verdict <> 'ok'", 0);
	long long live = report_scalar(db, "SELECT COUNT(*) FROM temp.report_card WHERE live", 0);
	long long cards = report_scalar(db, "SELECT COUNT(*) FROM temp.report_card WHERE NOT live", 0);
	size_t at = 0;

	fputs("<h2 id=\"failures\">Failures</h2>\n", out);
	if (!states && !live) {
		fputs("<p class=sub>No explored state failed: every recovered device read what the model "
		      "allows, and every recovered store kept its invariants.</p>\n", out);
		return;
	}
	if (states)
		fprintf(out, "<p class=sub>%s failing state%s at %s crash point%s", report_num(a, sizeof(a),
			(uint64_t)states), states == 1 ? "" : "s", report_num(b, sizeof(b), (uint64_t)points),
			points == 1 ? "" : "s");
	else
		fputs("<p class=sub>No crash state failed", out);
	if (live)
		fprintf(out, "; the live run itself failed in %lld sweep%s", live, live == 1 ? "" : "s");
	fputs(". A card per failing crash point: the check that failed, what became of each write "
	      "pending at the crash, the evidence and the command that replays exactly that state.</p>\n", out);
	if (sqlite3_prepare_v2(db, "SELECT point, sweep, full, live FROM temp.report_card ORDER BY rank", -1,
			       &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		long long sweep = sqlite3_column_int64(st, 1);

		while (at < sw->n && sw->v[at].id != sweep)
			at++; /* cards come in the sweeps' order */
		if (at == sw->n)
			break;
		if (sqlite3_column_int(st, 3))
			live_card(db, &sw->v[at], sqlite3_column_int64(st, 0), out);
		else
			point_card(db, &sw->v[at], sqlite3_column_int64(st, 0), sqlite3_column_int(st, 2), out);
	}
	sqlite3_finalize(st);
	if (points > cards)
		fprintf(out, "<p class=sub>%lld more failing crash point%s without a card (at most %d); "
			"the crash point tables below mark them.</p>\n", points - cards,
			points - cards == 1 ? "" : "s", REPORT_MAX_CARDS);
}
