/*
 * report_fixture.h - building small state databases with the explorer's
 * writer (statedb.h) and rendering them with the built `snapsim report`
 * (SNAPSIM_BIN), for the report tests.
 */
#ifndef SNAPSIM_TEST_REPORT_FIXTURE_H
#define SNAPSIM_TEST_REPORT_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statedb.h"

struct fx {
	char db_path[256], dir[256];
	struct statedb *db;
	char *html, *md;
};

static inline void fx_open(struct fx *f, const char *tag)
{
	char err[256], cmd[600];

	memset(f, 0, sizeof(*f));
	snprintf(f->db_path, sizeof(f->db_path), "/tmp/snapsim-test-%s-%d.db", tag, (int)getpid());
	snprintf(f->dir, sizeof(f->dir), "/tmp/snapsim-test-%s-%d", tag, (int)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s*", f->dir, f->db_path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(statedb_open(f->db_path, &f->db, err, sizeof(err)), 0, "%s", err);
}

/* A finished run of trace with options (e.g. "--budget 2 --shard 1/2"). */
static inline int64_t fx_run(struct fx *f, const char *trace, const char *options, uint64_t points,
			     const char *verdict)
{
	struct statedb_run r = { .trace = trace, .trace_name = trace, .seed = 5, .options = options,
				 .version = "0.1.0", .started = "2026-01-01T00:00:00Z" };
	int64_t id = statedb_run_add(f->db, &r);

	cr_assert_gt(id, 0);
	cr_assert_eq(statedb_run_finish(f->db, id, verdict, points, 0, NULL, NULL), 0);
	return id;
}

/* A crash point with one state per verdict character ('o' ok, 'v' violation). */
static inline int64_t fx_point(struct fx *f, int64_t run, uint64_t seq, uint64_t total,
			       const char *states, int64_t cow_used)
{
	struct statedb_point p = { .run = run, .seq = seq, .kind = "flush", .trace_line = 10 + (unsigned)seq,
				   .label = "write FUA 8+8 on cow", .states_total = total };
	int64_t pid = statedb_point_add(f->db, &p);
	bool bad = false;

	cr_assert_gt(pid, 0);
	for (const char *c = states; *c; c++) {
		struct statedb_state s = { .point = pid, .hash = 0x1234 + (uint64_t)(c - states),
					   .survivors = "cow:4", .verdict = *c == 'v' ? "violation" : "ok",
					   .cow_used = cow_used,
					   .message = *c == 'v' ? "snap sector 8: expected seed-1, found zero" : NULL,
					   .repro = *c == 'v' ? "snapsim explore t.yaml --point 1" : NULL };

		cr_assert_gt(statedb_state_add(f->db, &s), 0);
		bad |= *c == 'v';
	}
	cr_assert_eq(statedb_point_finish(f->db, pid, strlen(states), bad ? "violation" : "ok"), 0);
	return pid;
}

static inline char *fx_slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(fp, "%s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

/* Close the database, render it, read report.html and report.md. */
static inline void fx_render(struct fx *f)
{
	const char *bin = getenv("SNAPSIM_BIN");
	char cmd[1024], p[300];

	cr_assert_not_null(bin, "SNAPSIM_BIN is not set");
	statedb_close(f->db);
	f->db = NULL;
	snprintf(cmd, sizeof(cmd), "%s report --db %s -o %s > /dev/null", bin, f->db_path, f->dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/report.html", f->dir);
	f->html = fx_slurp(p);
	snprintf(p, sizeof(p), "%s/report.md", f->dir);
	f->md = fx_slurp(p);
}

static inline void fx_close(struct fx *f)
{
	char cmd[600];

	if (f->db)
		statedb_close(f->db);
	free(f->html);
	free(f->md);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s*", f->dir, f->db_path);
	cr_assert_eq(system(cmd), 0);
}

static inline size_t fx_count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#endif
