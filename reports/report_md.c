/*
 * report_md.c - the Markdown summary of a state database: one row per
 * sweep, coverage goals, failures (the same cards as the HTML page: the
 * live run's failure, then per failing crash point its first failing
 * state with its pending writes, evidence and repro; points past the full
 * cards one line each). Per-point detail lives in the HTML page.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "report.h"

#define esc report_md_escape
#define col report_col

static void md_runs(sqlite3 *db, const struct report_sweeps *sw, FILE *out)
{
	char a[REPORT_NUM_LEN], b[REPORT_NUM_LEN], c[REPORT_NUM_LEN], d[REPORT_NUM_LEN];

	fputs("## Runs\n\nOne row per sweep (the shards of a `--shard K/N` exploration together).\n\n"
	      "| Trace | Seed | Shards | Verdict | Crash points | States existing | States checked | "
	      "Failing states |\n|---|---:|---:|---|---:|---:|---:|---:|\n", out);
	for (size_t i = 0; i < sw->n; i++) {
		const struct report_sweep *s = &sw->v[i];
		struct report_figures f;

		report_sweep_figures(db, s->id, &f);
		fputs("| ", out);
		esc(out, s->trace);
		if (report_sweep_name(s)) {
			fputs(" (", out);
			esc(out, report_sweep_name(s));
			fputs(")", out);
		}
		fprintf(out, " | %lld | ", s->seed);
		if (s->shard_n)
			fprintf(out, "%u%s%u", s->nr_runs, " of ", s->shard_n);
		else
			fputs("-", out);
		fprintf(out, " | %s | %s | %s%s | %s | %s%s |\n", s->verdict ? s->verdict : "unfinished",
			report_num(a, sizeof(a), (uint64_t)f.points), report_num(b, sizeof(b), f.states_total),
			f.torn ? " + torn" : "", report_num(c, sizeof(c), (uint64_t)f.states_checked),
			report_num(d, sizeof(d), (uint64_t)f.failing_states),
			f.live_failures ? " + live run" : "");
	}
	fputs("\n", out);
}

static void md_coverage(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;

	fputs("## Coverage goals\n\n| Goal | Reached | Traces |\n|---|---|---|\n", out);
	if (sqlite3_prepare_v2(db,
			       "SELECT c.goal, MAX(c.reached), (SELECT GROUP_CONCAT(n, ', ') FROM "
			       "(SELECT DISTINCT r2.trace_name AS n FROM coverage c2 JOIN runs r2 ON r2.id = c2.run "
			       "WHERE c2.goal = c.goal AND c2.reached ORDER BY n)) "
			       "FROM coverage c GROUP BY c.goal ORDER BY c.goal", -1, &st, NULL) != SQLITE_OK)
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

static void md_writes(sqlite3 *db, long long point, const char *survivors, FILE *out)
{
	struct report_writes ws;
	char buf[256], kept[128];

	if (report_writes_load(db, point, survivors, &ws) || !ws.recorded)
		return;
	if (!ws.n)
		fputs("No write was pending at this crash point.\n\n", out);
	else
		fputs("| Trace line | Disk | Write | Sectors | At the crash | Outcome |\n"
		      "|---:|---|---:|---|---|---|\n", out);
	size_t shown = 0, omitted = 0;

	for (size_t i = 0; i < ws.n; i++) {
		const struct report_write *w = &ws.v[i];

		if (!report_write_listed(&ws, i, &shown)) {
			omitted++;
			continue;
		}
		if (w->trace_line)
			fprintf(out, "| %lld | ", w->trace_line);
		else
			fputs("| setup | ", out);
		esc(out, w->disk);
		fprintf(out, " | %lld | %lld-%lld (%lld) | ", w->write_id, w->sector,
			w->sector + w->nsectors - 1, w->nsectors);
		esc(out, w->flags);
		report_outcome_text(w, buf, sizeof(buf));
		fprintf(out, " | %s", buf);
		if (w->outcome == REPORT_TORN) {
			report_torn_sectors(w, true, 8, kept, sizeof(kept));
			fprintf(out, " (sectors kept: %s)", kept);
		}
		fputs(" |\n", out);
	}
	fputs(ws.n ? "\n" : "", out);
	if (omitted)
		fprintf(out, "%zu more pending writes not listed (of %zu): the lost ones, and survivors past "
			"the first %d.\n\n", omitted, ws.n, REPORT_MAX_WRITE_ROWS);
	report_writes_free(&ws);
}

static void md_evidence(sqlite3 *db, long long state, FILE *out)
{
	sqlite3_stmt *ev;
	bool any = false;

	if (sqlite3_prepare_v2(db, "SELECT device, sector, nsectors, expected, found, message FROM evidence "
			       "WHERE state = ?1 AND (device IS NOT NULL OR expected IS NOT NULL OR found IS NOT NULL) "
			       "ORDER BY id", -1, &ev, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(ev, 1, state);
	while (sqlite3_step(ev) == SQLITE_ROW) {
		if (!any)
			fputs("| Device | Sector | Sectors | Expected | Found | Message |\n|---|---:|---:|---|---|---|\n", out);
		any = true;
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
	sqlite3_finalize(ev);
	if (any)
		fputs("\n", out);
}

/* One card: the point (or the live run) and its first failing state. */
static void md_card(sqlite3 *db, const struct report_sweep *s, long long point, bool full, bool live,
		    FILE *out)
{
	sqlite3_stmt *st;
	const char *repro;

	if (sqlite3_prepare_v2(db, "SELECT s.id, s.verdict, s.message, s.survivors, s.repro, s.hash, p.seq, "
			       "p.kind, p.trace_line, p.label FROM judged_states s JOIN crash_points p ON p.id = s.point "
			       "WHERE s.point = ?1 AND s.verdict <> 'ok' ORDER BY s.id LIMIT 1", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, point);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return;
	}
	repro = col(st, 4) ? col(st, 4) : s->repro;
	if (live) {
		fprintf(out, "### %s, seed %lld: the live run failed (trace line %lld)\n\n", s->trace, s->seed,
			sqlite3_column_int64(st, 8));
		fprintf(out, "%s: %s (no crash state: nothing was restarted)\n\n", col(st, 1),
			col(st, 2) ? col(st, 2) : "");
	} else if (!full) {
		fprintf(out, "- %s, seed %lld, crash point %lld (line %lld): %s: %s\n", s->trace, s->seed,
			sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 8), col(st, 1),
			col(st, 2) ? col(st, 2) : "");
		sqlite3_finalize(st);
		return;
	} else {
		fprintf(out, "### %s, seed %lld, crash point %lld (%s, line %lld): %s\n\n", s->trace, s->seed,
			sqlite3_column_int64(st, 6), col(st, 7), sqlite3_column_int64(st, 8), col(st, 1));
		fprintf(out, "%s\n\nSurviving writes: `%s` (state hash `%s`)\n\n", col(st, 2) ? col(st, 2) : "",
			col(st, 3) && col(st, 3)[0] ? col(st, 3) : "(none)", col(st, 5));
		md_writes(db, point, col(st, 3), out);
		md_evidence(db, sqlite3_column_int64(st, 0), out);
		report_md_check(db, sqlite3_column_int64(st, 0), out);
	}
	if (repro)
		fprintf(out, "Replay:\n\n```\n%s\n```\n\n", repro);
	sqlite3_finalize(st);
}

static void md_failures(sqlite3 *db, const struct report_sweeps *sw, FILE *out)
{
	sqlite3_stmt *st;
	long long total = report_scalar(db, "SELECT COUNT(*) FROM judged_states s JOIN crash_points p ON "
					"s.point = p.id WHERE p.kind <> 'replay' AND s.verdict <> 'ok'", 0);
	long long live = report_scalar(db, "SELECT COUNT(*) FROM temp.report_card WHERE live", 0);
	char a[REPORT_NUM_LEN];
	bool brief = false;
	size_t at = 0;

	fputs("## Failures\n\n", out);
	if (!total && !live) {
		fputs("None: every explored state recovered to what the model allows.\n\n", out);
		return;
	}
	fprintf(out, "%s failing state%s", report_num(a, sizeof(a), (uint64_t)total), total == 1 ? "" : "s");
	if (live) /* counted apart: a live run's failure is no crash state */
		fprintf(out, "; the live run failed in %lld sweep%s", live, live == 1 ? "" : "s");
	fputs(".\n\n", out);
	if (sqlite3_prepare_v2(db, "SELECT point, sweep, full, live FROM temp.report_card ORDER BY full DESC, rank",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		long long sweep = sqlite3_column_int64(st, 1);
		bool full = sqlite3_column_int(st, 2);

		if (!full && !brief) {
			fputs("More failing crash points (first failing state each):\n\n", out);
			brief = true;
			at = 0;
		}
		while (at < sw->n && sw->v[at].id != sweep)
			at++;
		if (at == sw->n)
			break;
		md_card(db, &sw->v[at], sqlite3_column_int64(st, 0), full, sqlite3_column_int(st, 3), out);
	}
	sqlite3_finalize(st);
	fputs(brief ? "\n" : "", out);
}

int report_write_md(struct sqlite3 *db, const char *db_name, FILE *out)
{
	struct report_sweeps sw;
	char a[REPORT_NUM_LEN], b[REPORT_NUM_LEN], c[REPORT_NUM_LEN], d[REPORT_NUM_LEN], e[REPORT_NUM_LEN];
	int r;

	if (report_scalar(db, "SELECT COUNT(*) FROM runs", -1) < 0)
		return -EINVAL;
	r = report_sweeps_load(db, &sw);
	if (r)
		return r;
	fprintf(out, "# Crash-consistency report\n\nDatabase `%s`: %s sweeps (%s runs), %s crash points, "
		"%s states checked, %s failing states, %lld unexpected exception records.\n\n", db_name,
		report_num(a, sizeof(a), sw.n), report_num(b, sizeof(b), sw.nr_runs),
		report_num(c, sizeof(c), (uint64_t)report_scalar(db, "SELECT COUNT(*) FROM crash_points "
								 "WHERE kind <> 'replay'", 0)),
		report_num(d, sizeof(d), (uint64_t)report_scalar(db, "SELECT COUNT(*) FROM judged_states s JOIN "
								 "crash_points p ON s.point = p.id WHERE p.kind <> 'replay'", 0)),
		report_num(e, sizeof(e), (uint64_t)report_scalar(db, "SELECT COUNT(*) FROM judged_states s JOIN "
								 "crash_points p ON s.point = p.id WHERE p.kind <> 'replay' "
								 "AND s.verdict <> 'ok'", 0)),
		report_scalar(db, "SELECT COUNT(*) FROM exceptions WHERE note IS NOT NULL", 0));
	md_runs(db, &sw, out);
	md_coverage(db, out);
	md_failures(db, &sw, out);
	report_sweeps_free(&sw);
	return ferror(out) ? -EIO : 0;
}
