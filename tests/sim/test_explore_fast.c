/*
 * test_explore_fast.c - the explorer's judged check (a state cleared
 * against its crash point's reference) gives, state by state, the rows the
 * full check gives: over the whole traces/ corpus and over generated
 * traces (sim/prop/gen.c). Each run writes a state database; the states
 * (point, durable hash, survivors, verdict, recovered exceptions, message)
 * are compared in order, and the judged runs must have judged states and
 * carried references to later crash points.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explore.h"
#include "gen.h"
#include "statedb.h"

#define ROWS_SQL                                                                           \
	"SELECT p.seq, s.hash, s.survivors, s.verdict, s.cow_used, coalesce(s.message, ''), " \
	"(SELECT count(*) || ':' || coalesce(sum(e.old_chunk * 7 + e.new_chunk), 0) "         \
	"FROM exceptions e WHERE e.state = s.id) "                                          \
	"FROM states s JOIN crash_points p ON p.id = s.point ORDER BY s.id"

/* Every state row of db path, one line each, in order (malloc'd). */
static char *rows_of(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert(f);
	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, ROWS_SQL, -1, &st, NULL), SQLITE_OK,
		     "%s", sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < 7; c++)
			fprintf(f, "%s|", (const char *)sqlite3_column_text(st, c) ?
				(const char *)sqlite3_column_text(st, c) : "");
		fputc('\n', f);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(f);
	return out;
}

struct run {
	char path[64];
	struct explore_result res;
};

/* Explore one trace (file, or buf/len in memory) into a fresh database. */
static void explore_into(const char *name, const char *buf, size_t len, bool full,
			 struct run *r)
{
	struct explore_opts o = { .mode = EXPLORE_MODE_FLUSH, .subsets = SIM_SUBSET_ALL,
				  .budget = 16, .only_point = -1, .keep_going = true,
				  .full_check = full, .options_text = "", .version = "test",
				  .started = "", .program = "snapsim" };
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	char err[256];
	int fd;

	snprintf(r->path, sizeof(r->path), "/tmp/snapsim-fast-XXXXXX");
	fd = mkstemp(r->path);
	cr_assert(fd >= 0);
	close(fd);
	unlink(r->path);
	if (buf) {
		o.mode = EXPLORE_MODE_FLUSH;
	} else if (!strcmp(base, "long-random.yaml")) {
		/* 37,000 flush points of three 16 MiB devices: its marker and end. */
		o.mode = EXPLORE_MODE_MARKED;
		o.budget = 8;
	} else if (!strcmp(base, "chunk-huge-io.yaml")) {
		/* GiB-sized devices checked in full cost seconds per state. */
		o.mode = EXPLORE_MODE_MARKED;
		o.only_point = 0;
		o.budget = 3;
	}
	cr_assert_eq(statedb_open(r->path, &o.db, err, sizeof(err)), 0, "%s", err);
	if (buf)
		explore_trace_mem(name, buf, len, &o, &r->res);
	else
		explore_trace(name, &o, &r->res);
	statedb_close(o.db);
}

/* References the judged runs carried to a later point (each test's own process). */
static uint64_t carried;

/* Both checks over one trace; returns the states the judged run judged. */
static uint64_t compare(const char *name, const char *buf, size_t len)
{
	struct run fast, full;
	char *a, *b;
	uint64_t judged;

	explore_into(name, buf, len, false, &fast);
	explore_into(name, buf, len, true, &full);
	a = rows_of(fast.path);
	b = rows_of(full.path);
	cr_expect_eq(fast.res.verdict, full.res.verdict, "%s: verdict %d vs %d", name,
		     fast.res.verdict, full.res.verdict);
	cr_expect_eq(fast.res.states_checked, full.res.states_checked, "%s", name);
	cr_expect_eq(full.res.states_judged, 0, "%s: the full check judged states", name);
	if (strcmp(a, b)) {
		const char *p = a, *q = b;

		while (*p && *p == *q)
			p++, q++;
		while (p > a && p[-1] != '\n')
			p--, q--;
		cr_expect_fail("%s: states differ (judged | full):\n%.300s\n%.300s", name, p, q);
	}
	judged = fast.res.states_judged;
	carried += fast.res.refs_carried;
	cr_expect_eq(full.res.refs_carried, 0, "%s: the full check carried references", name);
	free(a);
	free(b);
	unlink(fast.path);
	unlink(full.path);
	return judged;
}

/* The corpus traces whose base name is (or is not, with !in) in names[]. */
static uint64_t corpus(const char *const *names, bool in)
{
	glob_t g;
	uint64_t judged = 0;
	unsigned done = 0;

	cr_assert_eq(glob(SNAPSIM_SOURCE_DIR "/traces/*.yaml", 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *base = strrchr(g.gl_pathv[i], '/') + 1;
		bool listed = false;

		for (const char *const *n = names; *n; n++)
			listed = listed || !strcmp(base, *n);
		if (listed != in)
			continue;
		judged += compare(g.gl_pathv[i], NULL, 0);
		done++;
	}
	globfree(&g);
	cr_assert_gt(done, 0, "no trace compared");
	return judged;
}

/* The slow ones have tests of their own (one ctest entry each: CMakeLists.txt). */
static const char *const races[] = { "race-merge-own-writes.yaml", "race-origin-vs-snapread.yaml",
				     "race-two-origin-writes.yaml", "three-snapshots.yaml",
				     "multi-snapshot.yaml", NULL };
static const char *const big[] = { "long-random.yaml", "chunk-huge-io.yaml", "chunk-max.yaml",
				   "chunk-2048.yaml", NULL };

Test(explore_fast, corpus_same_rows, .timeout = 290)
{
	static const char *const slow[] = { "race-merge-own-writes.yaml",
					    "race-origin-vs-snapread.yaml",
					    "race-two-origin-writes.yaml", "three-snapshots.yaml",
					    "multi-snapshot.yaml", "long-random.yaml",
					    "chunk-huge-io.yaml", "chunk-max.yaml",
					    "chunk-2048.yaml", NULL };

	cr_expect_gt(corpus(slow, false), 0, "no state of the corpus was judged");
	cr_expect_gt(carried, 0, "no reference was carried");
}

Test(explore_fast, corpus_races_same_rows, .timeout = 290)
{
	cr_expect_gt(corpus(races, true), 0, "no state was judged");
	cr_expect_gt(carried, 0, "no reference was carried");
}

Test(explore_fast, corpus_big_same_rows, .timeout = 290)
{
	cr_expect_gt(corpus(big, true), 0, "no state was judged");
	cr_expect_gt(carried, 0, "no reference was carried");
}

/* Generated traces of seeds first..last. */
static void generated(uint64_t first, uint64_t last)
{
	uint64_t judged = 0;

	for (uint64_t seed = first; seed <= last; seed++) {
		struct gen_opts go = { .crashes = true, .merge = seed % 3 == 0,
				       .remove = seed % 4 == 0, .faults = seed % 5 == 0 };
		struct gen_case c;
		char name[32];
		size_t len;
		char *y;

		cr_assert_eq(gen_case_build(seed, &go, &c), 0);
		y = gen_case_yaml(&c, NULL, &len);
		cr_assert(y);
		snprintf(name, sizeof(name), "gen-%llu.yaml", (unsigned long long)seed);
		judged += compare(name, y, len);
		free(y);
		gen_case_free(&c);
	}
	cr_expect_gt(judged, 0, "no generated state was judged");
	cr_expect_gt(carried, 0, "no reference was carried");
}

Test(explore_fast, generated_1_same_rows, .timeout = 290)
{
	generated(1, 4);
}

Test(explore_fast, generated_2_same_rows, .timeout = 290)
{
	generated(5, 8);
}

Test(explore_fast, generated_3_same_rows, .timeout = 290)
{
	generated(9, 12);
}
