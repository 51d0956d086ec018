/*
 * test_report_sweeps.c - the report of a sharded sweep: one run row and
 * one timeline per sweep, timeline labels that are the crash points' own
 * numbers, failing bars that link to their cards, no COW chart where no
 * snapshot recovered anything, a live-run failure shown as such, each
 * failing state's pending writes and what became of them.
 */
#include "report_fixture.h"

/* Every tick label of the page's timelines, in order. */
static size_t ticks(const char *html, long *out, size_t max)
{
	size_t n = 0;

	for (const char *p = html; (p = strstr(p, "<text class=\"tick\"")); p++) {
		const char *gt = strchr(p, '>');

		cr_assert_not_null(gt);
		if (n < max)
			out[n] = strtol(gt + 1, NULL, 10);
		n++;
	}
	return n;
}

Test(report_sweeps, sharded_database_renders_one_run_row_per_sweep)
{
	struct fx f;

	fx_open(&f, "sweeps");
	/* Two shards of one sweep of a.yaml, an unsharded run of b.yaml, then the a.yaml sweep again. */
	for (int rep = 0; rep < 2; rep++) {
		for (unsigned k = 0; k < 2; k++) {
			char opts[64];

			snprintf(opts, sizeof(opts), "--mode flush --budget 4 --shard %u/2", k);
			int64_t r = fx_run(&f, "traces/a.yaml", opts, 4, "ok");

			fx_point(&f, r, k, 3, "oo", 1);
			fx_point(&f, r, k + 2, 3, "o", 2);
		}
		if (!rep)
			fx_point(&f, fx_run(&f, "traces/b.yaml", "--mode flush --budget 4", 1, "ok"), 0, 1, "o", 0);
	}
	fx_render(&f);
	cr_assert_eq(fx_count(f.html, "<tr class=sweep>"), 3, "a.yaml twice (two sweeps), b.yaml once");
	cr_assert_eq(fx_count(f.html, "<h3 id=\"sweep-"), 3);
	cr_assert_eq(fx_count(f.html, "<svg class=timeline"), 3, "one timeline per sweep, not per shard");
	cr_assert_eq(fx_count(f.html, "<tr id=\"pt-"), 9, "every crash point once");
	cr_assert(strstr(f.html, "<span>--shard") == NULL, "the shard option is not a sweep's option");
	cr_assert(strstr(f.html, "4 crash points in trace order") != NULL, "the two shards' points together");
	cr_assert(strstr(f.html, "<b>3</b><span>sweeps (5 runs)</span>") != NULL);
	cr_assert_eq(fx_count(f.md, "| traces/a.yaml | 5 | 2 of 2 | ok | 4 | 12 | 6 | 0 |"), 2, "%s", f.md);
	fx_close(&f);
}

Test(report_sweeps, timeline_labels_are_the_point_numbers)
{
	struct fx f;
	long t[32];
	size_t n;

	fx_open(&f, "ticks");
	/* Only shard 1 of 2 was merged: points 1, 3, 5, 7. */
	int64_t r = fx_run(&f, "traces/a.yaml", "--budget 4 --shard 1/2", 8, "ok");

	for (unsigned s = 1; s < 8; s += 2)
		fx_point(&f, r, s, 2, "o", 0);
	fx_render(&f);
	n = ticks(f.html, t, 32);
	cr_assert_eq(n, 4);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(t[i], (long)(2 * i + 1), "tick %zu reads %ld", i, t[i]);
	cr_assert(strstr(f.html, ">point 0<") == NULL && strstr(f.html, ">point 3<") == NULL);
	cr_assert(strstr(f.html, "1 of 2 <span class=no>(incomplete)</span>") != NULL);
	cr_assert(strstr(f.html, "<td class=n>4 of 8</td>") != NULL, "points explored of offered");
	fx_close(&f);
}

Test(report_sweeps, ticks_of_a_long_timeline_are_point_numbers)
{
	struct fx f;
	long t[64];
	size_t n;

	fx_open(&f, "longticks");
	int64_t r = fx_run(&f, "traces/a.yaml", "--budget 4 --shard 2/3", 300, "ok");

	for (unsigned s = 2; s < 300; s += 3)
		fx_point(&f, r, s, 2, "o", 0);
	fx_render(&f);
	n = ticks(f.html, t, 64);
	cr_assert(n >= 5 && n <= 12, "%zu ticks", n);
	cr_assert_eq(t[0], 2);
	cr_assert_eq(t[n - 1], 299);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(t[i] % 3, 2, "tick %ld is not a point of shard 2/3", t[i]);
	fx_close(&f);
}

Test(report_sweeps, each_failing_bar_links_to_a_card)
{
	struct fx f;
	size_t bars = 0;

	fx_open(&f, "links");
	for (unsigned k = 0; k < 2; k++) {
		char opts[64];

		snprintf(opts, sizeof(opts), "--budget 4 --shard %u/2", k);
		int64_t r = fx_run(&f, "traces/a.yaml", opts, 12, "violation");

		for (unsigned s = k; s < 12; s += 2)
			fx_point(&f, r, s, 4, s % 3 ? "ov" : "oo", 1);
	}
	fx_render(&f);
	for (const char *p = f.html; (p = strstr(p, "<a class=failbar href=\"#")); p++) {
		char id[64], want[80];
		const char *q = p + strlen("<a class=failbar href=\"#");
		size_t len = strcspn(q, "\"");

		cr_assert_lt(len, sizeof(id));
		snprintf(id, sizeof(id), "%.*s", (int)len, q);
		snprintf(want, sizeof(want), "id=\"%s\"", id);
		const char *card = strstr(f.html, want);

		cr_assert_not_null(card, "no element with id %s", id);
		cr_assert(!strncmp(id, "fail-", 5), "%s is not a card", id);
		cr_assert(card - f.html > 12 && strstr(card - 30, "<div class=\"fail") < card,
			  "%s is not a failure card", id);
		bars++;
	}
	cr_assert_eq(bars, 8, "points 1, 2, 4, 5, 7, 8, 10, 11 fail");
	cr_assert_eq(fx_count(f.html, "<div class=\"fail\" id=\"fail-"), 3, "three in full per sweep");
	cr_assert_eq(fx_count(f.html, "<div class=\"fail brief\" id=\"fail-"), 5);
	fx_close(&f);
}

Test(report_sweeps, no_cow_chart_for_a_trace_without_snapshots)
{
	struct fx f;

	fx_open(&f, "nocow");
	int64_t plain = fx_run(&f, "traces/linear.yaml", "--budget 4", 2, "ok");
	int64_t snap = fx_run(&f, "traces/snap.yaml", "--budget 4", 2, "ok");

	fx_point(&f, plain, 0, 2, "oo", 0);
	fx_point(&f, plain, 1, 2, "o", -1);
	fx_point(&f, snap, 0, 2, "o", 0);
	fx_point(&f, snap, 1, 2, "o", 3);
	fx_render(&f);
	cr_assert_eq(fx_count(f.html, "<svg class=timeline"), 2);
	cr_assert_eq(fx_count(f.html, "<g class=cow>"), 1, "only the trace whose snapshot recovered exceptions");
	const char *lin = strstr(f.html, "traces/linear.yaml <small>");
	const char *sn = strstr(f.html, "traces/snap.yaml <small>");

	cr_assert(lin && sn && lin < sn);
	cr_assert(strstr(sn, "<g class=cow>") != NULL);
	cr_assert_eq(fx_count(f.html, "Max COW chunks"), 1, "no empty COW column either");
	fx_close(&f);
}

Test(report_sweeps, live_failure_has_no_zero_hash_and_no_empty_evidence)
{
	struct fx f;

	fx_open(&f, "live");
	for (unsigned k = 0; k < 2; k++) {
		char opts[64];

		snprintf(opts, sizeof(opts), "--budget 4 --shard %u/2", k);
		int64_t r = fx_run(&f, "traces/live.yaml", opts, 2, "violation");

		fx_point(&f, r, k, 2, "o", 0);
		/* As the explorer of schema 2 recorded it: a point of kind replay, hash 0, an evidence row of a message. */
		struct statedb_point p = { .run = r, .seq = 2, .kind = "replay", .trace_line = 36,
					   .label = "the live run", .states_total = 1 };
		int64_t pid = statedb_point_add(f.db, &p);
		struct statedb_state s = { .point = pid, .hash = 0, .survivors = "", .verdict = "violation",
					   .cow_used = -1, .message = "t.yaml:36: read X sector 0: expected seed-9",
					   .repro = "snapsim explore traces/live.yaml --seed 5 --budget 4" };
		int64_t sid = statedb_state_add(f.db, &s);
		struct statedb_evidence e = { .state = sid, .message = "t.yaml:36: read X sector 0: expected seed-9" };

		statedb_evidence_add(f.db, &e);
		statedb_point_finish(f.db, pid, 1, "violation");
	}
	fx_render(&f);
	cr_assert(strstr(f.html, "0000000000000000") == NULL, "no fake state hash");
	cr_assert(strstr(f.md, "0000000000000000") == NULL, "no fake state hash");
	cr_assert_eq(fx_count(f.html, "<div class=\"fail live\""), 1, "one card though both shards record it");
	cr_assert(strstr(f.html, "the live run failed</b> at trace line 36, after crash point 1") != NULL);
	cr_assert(strstr(f.html, "expected seed-9") && strstr(f.html, "snapsim explore traces/live.yaml --seed 5"));
	cr_assert(strstr(f.html, "Evidence") == NULL, "no evidence table of empty rows");
	cr_assert(strstr(f.html, "<td>replay</td>") == NULL, "not a row of the crash point table");
	cr_assert(strstr(f.html, ">0</b><span>failing states</span>") != NULL, "no crash state failed");
	cr_assert(strstr(f.md, "the live run failed (trace line 36)") != NULL, "%s", f.md);
	cr_assert(strstr(f.md, "|  | 0 | 0 |") == NULL, "no empty evidence row in Markdown");
	fx_close(&f);
}

Test(report_sweeps, failing_state_shows_its_pending_writes)
{
	struct fx f;

	fx_open(&f, "writes");
	int64_t r = fx_run(&f, "traces/w.yaml", "--budget 4", 1, "violation");
	struct statedb_point p = { .run = r, .seq = 0, .kind = "flush", .trace_line = 30,
				   .label = "flush", .states_total = 8, .torn_bits = 14 };
	int64_t pid = statedb_point_add(f.db, &p);
	struct statedb_write w[3] = {
		{ .point = pid, .disk = "cow", .write_id = 4, .trace_line = 25, .sector = 32, .nsectors = 8,
		  .flags = "cached", .units = 8, .unit_sectors = 1 },
		{ .point = pid, .disk = "cow", .write_id = 6, .trace_line = 25, .sector = 0, .nsectors = 8,
		  .flags = "cached PREFLUSH", .units = 8, .unit_sectors = 1 },
		{ .point = pid, .disk = "cow", .write_id = 7, .trace_line = 27, .sector = 8, .nsectors = 8,
		  .flags = "in-flight FUA", .units = 8, .unit_sectors = 1 },
	};

	for (int i = 0; i < 3; i++)
		cr_assert_eq(statedb_write_add(f.db, &w[i]), 0);
	struct statedb_state s = { .point = pid, .hash = 0xabc, .survivors = "cow:4/61,6", .verdict = "violation",
				   .cow_used = 2, .message = "snap sector 8: expected seed-1, found zero" };

	statedb_state_add(f.db, &s);
	statedb_point_finish(f.db, pid, 1, "violation");
	fx_render(&f);
	cr_assert_eq(fx_count(f.html, "<tr class=write>"), 3);
	/* 0x61: units 0, 5 and 6 of write 4 (sectors 32-39) survived. */
	const char *w4 = strstr(f.html, "<td class=n>4</td>");

	cr_assert_not_null(w4);
	cr_assert(strstr(w4, "torn: 3 of 8 units survived") != NULL);
	cr_assert(strstr(f.html, "sectors kept: 32, 37-38; lost: 33-36, 39") != NULL);
	cr_assert(strstr(strstr(f.html, "<td class=n>6</td>"), "<td class=o1>survived") != NULL);
	cr_assert(strstr(strstr(f.html, "<td class=n>7</td>"), "<td class=o0>lost") != NULL);
	cr_assert(strstr(f.html, "<tr class=write><td class=n>27</td>") != NULL, "the write's trace line");
	cr_assert(strstr(f.md, "| 25 | cow | 4 | 32-39 (8) | cached | torn: 3 of 8 units survived "
			       "(sectors kept: 32, 37-38) |") != NULL, "%s", f.md);
	cr_assert(strstr(f.md, "| 27 | cow | 7 | 8-15 (8) | in-flight FUA | lost |") != NULL);
	fx_close(&f);
}

/* Thousands of writes pending (a long trace's marker): the survivors listed, the lost ones counted. */
Test(report_sweeps, many_pending_writes_list_the_survivors)
{
	struct fx f;

	fx_open(&f, "manywrites");
	int64_t r = fx_run(&f, "traces/long.yaml", "--budget 4", 1, "violation");
	struct statedb_point p = { .run = r, .seq = 0, .kind = "marked", .trace_line = 900,
				   .label = "crash: m", .states_total = 8 };
	int64_t pid = statedb_point_add(f.db, &p);

	for (unsigned i = 1; i <= 2000; i++) {
		struct statedb_write w = { .point = pid, .disk = "d", .write_id = i, .trace_line = 10 + i / 4,
					   .sector = 8 * i, .nsectors = 8, .flags = "cached", .units = 1,
					   .unit_sectors = 8 };

		cr_assert_eq(statedb_write_add(f.db, &w), 0);
	}
	struct statedb_state s = { .point = pid, .hash = 0xabc, .survivors = "d:7,1500,1999", .verdict = "violation",
				   .cow_used = 0, .message = "m" };

	statedb_state_add(f.db, &s);
	statedb_point_finish(f.db, pid, 1, "violation");
	fx_render(&f);
	cr_assert_eq(fx_count(f.html, "<tr class=write>"), 3, "the three survivors only");
	cr_assert_eq(fx_count(f.html, "<td class=o1>survived"), 3);
	cr_assert(strstr(f.html, "1997 more pending writes not listed (of 2000)") != NULL);
	cr_assert(strstr(f.md, "1997 more pending writes not listed (of 2000)") != NULL);
	fx_close(&f);
}
