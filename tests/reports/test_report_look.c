/*
 * test_report_look.c - what the report looks like, as checked in a
 * browser at a desktop and a phone width: a failure card's edge has its
 * verdict's colour (the legend's and the bars': a hang is not red, a
 * violation of the live run not the hang's purple; the live run's edge is
 * dashed); on a narrow screen the columns a reader can do without (seed,
 * trace line, COW chunks, state id) go, so the verdicts stay in view, and
 * the recovered exceptions table scrolls instead of squeezing its
 * Problem column.
 */
#include <sqlite3.h>

#include "report_fixture.h"

Test(report_look, a_cards_edge_has_its_verdicts_colour)
{
	struct fx f;
	int64_t r, pid;

	fx_open(&f, "look");
	r = fx_run(&f, "traces/h.yaml", "--budget 2", 2, "hang");
	fx_point(&f, r, 0, 1, "o", 1); /* a snapshot recovered: the COW column */
	{
		struct statedb_point p = { .run = r, .seq = 1, .kind = "flush", .trace_line = 12,
					   .label = "write FUA 8+8 on cow", .states_total = 1 };
		struct statedb_state s = { .hash = 7, .survivors = "cow:1", .verdict = "hang",
					   .cow_used = 0, .message = "after restart: check failed",
					   .repro = "snapsim explore traces/h.yaml --point 1" };

		pid = statedb_point_add(f.db, &p);
		s.point = pid;
		cr_assert_gt(statedb_state_add(f.db, &s), 0);
		statedb_point_finish(f.db, pid, 1, "hang");
	}
	r = fx_run(&f, "traces/live.yaml", "--budget 2", 1, "violation");
	{
		struct statedb_point p = { .run = r, .seq = 0, .kind = "replay", .trace_line = 9,
					   .label = "the live run", .states_total = 1 };
		struct statedb_state s = { .hash = 0, .survivors = "", .verdict = "violation",
					   .cow_used = -1, .message = "t.yaml:9: read X: expected seed-9",
					   .repro = "snapsim explore traces/live.yaml --seed 5" };

		pid = statedb_point_add(f.db, &p);
		s.point = pid;
		cr_assert_gt(statedb_state_add(f.db, &s), 0);
		statedb_point_finish(f.db, pid, 1, "violation");
	}
	fx_render(&f);
	/* #6a1b9a: hang, #c62828: violation (report_verdict_colour, the legend) */
	cr_assert(strstr(f.html, "id=\"fail-") != NULL);
	cr_assert(strstr(f.html, "style=\"border-left-color:#6a1b9a\"><p><span class=\"badge\" "
			 "style=\"background:#6a1b9a\">hang") != NULL, "%s", f.html);
	cr_assert(strstr(f.html, "<div class=\"fail live\" id=\"fail-") != NULL);
	cr_assert(strstr(f.html, "style=\"border-left-color:#c62828\"><p><span class=\"badge\" "
			 "style=\"background:#c62828\">violation</span> <b>traces/live.yaml") != NULL);
	cr_assert(strstr(f.html, ".fail.live{border-left-style:dashed}") != NULL);
	cr_assert(strstr(f.html, "8e24aa") == NULL, "a purple that is no verdict's");
	/* narrow: these columns go (class wide), the exceptions table scrolls */
	cr_assert(strstr(f.html, "<th class=\"n wide\">Seed</th>") != NULL);
	cr_assert(strstr(f.html, "<th class=\"n wide\">Line</th>") != NULL);
	cr_assert(strstr(f.html, "<th class=\"n wide\">Max COW chunks</th>") != NULL);
	cr_assert(strstr(f.html, ".scroll svg{min-width:0}") != NULL, "a phone sees the whole timeline");
	fx_close(&f);
}

Test(report_look, the_exceptions_table_scrolls_and_drops_the_state_id_when_narrow)
{
	struct fx f;
	int64_t r, pid, sid;

	fx_open(&f, "lookx");
	r = fx_run(&f, "traces/x.yaml", "--budget 2", 1, "violation");
	pid = fx_point(&f, r, 0, 1, "v", 1);
	{
		struct statedb *db = f.db;
		sqlite3 *h = statedb_handle(db);
		sqlite3_stmt *st;

		cr_assert_eq(sqlite3_prepare_v2(h, "SELECT id FROM states WHERE point = ?1", -1, &st,
						NULL), SQLITE_OK);
		sqlite3_bind_int64(st, 1, pid);
		cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
		sid = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		statedb_exception_add(db, sid, "snap", 0, 2, "duplicate new_chunk 2");
	}
	fx_render(&f);
	cr_assert(strstr(f.html, "<div class=scroll><table class=exc>") != NULL, "%s", f.html);
	cr_assert(strstr(f.html, "<th class=\"n wide\">State</th>") != NULL);
	fx_close(&f);
}
