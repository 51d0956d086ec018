/*
 * test_model_memo.c - the model's shortcuts for long reads answer as the
 * per-sector calls do: model_read_expect_ids (the origin of a run of store
 * sectors resolved once, chunk allocation remembered) against
 * model_read_expect sector by sector, and the pattern memo against
 * model_content_of, including a sector whose header names a remembered
 * pattern but whose body is not it.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pattern.h"

struct collect {
	struct model_expect x[256];
	uint64_t id[256];
	uint32_t n;
};

static int collect_one(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id)
{
	struct collect *c = ctx;

	cr_assert_eq(k, c->n);
	c->x[k] = *x;
	c->id[k] = id;
	c->n++;
	return 0;
}

static void seg(struct model *m, const char *name, enum model_target_type t, const char *dev,
		uint64_t off, const char *cow)
{
	struct model_segment s = { .start = 0, .len = 1024, .type = t, .dev = dev, .offset = off,
				   .cow = cow, .chunk_sectors = 8, .persistent = true };

	cr_assert_eq(model_dev_set(m, name, &s, 1), 0);
}

/*
 * A garbage disk sd under X_org (offset 100), origin X and snapshot S (chunk 8, COW on cow).
 * Origin writes copy chunks 1..2 and 7 (garbage read through a copied chunk), a snapshot
 * write gives sectors 40..43 states of the store's own; the rest of S reads the origin's
 * shared, never-written sectors.
 */
static void fill_stack(struct model *m)
{
	struct model_data d1 = { MODEL_DATA_PATTERN, 3, 0, NULL };
	struct model_data d2 = { MODEL_DATA_PATTERN, 4, 0, NULL };

	cr_assert_not_null(m);
	cr_assert_eq(model_add_disk(m, "sd", 2048, true, 77), 0);
	cr_assert_eq(model_add_disk(m, "cow", 4096, false, 0), 0);
	seg(m, "X_org", MODEL_T_LINEAR, "/dev/sd", 100, NULL);
	seg(m, "S", MODEL_T_SNAPSHOT, "/dev/mapper/X_org", 0, "/dev/cow");
	seg(m, "X", MODEL_T_ORIGIN, "/dev/mapper/X_org", 0, NULL);
	cr_assert_eq(model_write(m, "X", 12, 10, &d1, 0), 0);
	cr_assert_eq(model_write(m, "S", 40, 4, &d2, 0), 0);
	cr_assert_eq(model_write(m, "X", 60, 3, &d1, 0), 0);
	model_flush(m, "X");
}

Test(model_memo, read_expect_ids_answers_as_each_sector_does)
{
	struct model *m = model_create();
	struct collect c = { .n = 0 };

	fill_stack(m);
	cr_assert_eq(model_read_expect_ids(m, "S", 0, 200, collect_one, &c), 0);
	cr_assert_eq(c.n, 200);
	for (uint32_t k = 0; k < 200; k++) {
		struct model_expect e;

		cr_assert_eq(model_read_expect(m, "S", k, &e), 0);
		cr_expect_eq(e.may_fail, c.x[k].may_fail, "sector %u", k);
		cr_expect_eq(e.may_succeed, c.x[k].may_succeed, "sector %u", k);
		cr_assert_eq(e.n, c.x[k].n, "sector %u", k);
		for (unsigned j = 0; j < e.n; j++)
			cr_expect(model_content_eq(&e.c[j], &c.x[k].c[j]), "sector %u content %u", k, j);
	}
	/* A copied chunk reads the origin's initial garbage, not its new data;
	 * the snapshot's own write reads that write. */
	cr_assert_eq(c.x[12].n, 1);
	cr_expect_neq(c.x[12].c[0].kind, MODEL_C_PATTERN);
	cr_assert_eq(c.x[41].n, 1);
	cr_expect(c.x[41].c[0].kind == MODEL_C_PATTERN && c.x[41].c[0].a == 4);
	model_destroy(m);
}

struct runs {
	struct collect each;      /* answers given one by one */
	bool in_run[256];
	uint32_t disk[256];
	uint64_t abs[256];
	uint32_t nr_runs;
	bool ask_each;            /* take one sector, leave the next to fn */
};

static int runs_one(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id)
{
	struct runs *r = ctx;

	r->each.x[k] = *x;
	r->each.id[k] = id;
	r->each.n++;
	return 0;
}

static int runs_run(void *ctx, uint32_t k, uint32_t n, uint32_t disk, model_sector_t abs)
{
	struct runs *r = ctx;

	cr_assert(n > 0 && k + n <= 256);
	r->nr_runs++;
	if (r->ask_each) /* the first sector only: the next goes to fn */
		n = n > 1 ? 1 : 0;
	for (uint32_t j = 0; j < n; j++) {
		cr_assert(!r->in_run[k + j], "sector %u in two runs", k + j);
		r->in_run[k + j] = true;
		r->disk[k + j] = disk;
		r->abs[k + j] = abs + j;
	}
	return (int)n;
}

/*
 * The runs are exactly the sectors answered with one initial content and
 * no state, at the disk sector the linear table maps them to; asked to
 * answer them one by one, the model gives what model_read_expect_ids does.
 */
Test(model_memo, read_expect_runs_are_the_unwritten_sectors)
{
	struct model *m = model_create();
	struct collect c = { .n = 0 };
	static struct runs r, e;
	uint32_t in_runs = 0;

	fill_stack(m);
	cr_assert_eq(model_read_expect_ids(m, "S", 0, 200, collect_one, &c), 0);
	memset(&r, 0, sizeof(r));
	cr_assert_eq(model_read_expect_runs(m, "S", 0, 200, runs_one, runs_run, &r), 0);
	for (uint32_t k = 0; k < 200; k++)
		in_runs += r.in_run[k];
	cr_assert_eq(r.each.n + in_runs, 200);
	for (uint32_t k = 0; k < 200; k++) {
		bool plain = c.id[k] == 0 && c.x[k].may_succeed && !c.x[k].may_fail && c.x[k].n == 1;

		if (!r.in_run[k]) {
			cr_expect_eq(r.each.id[k], c.id[k], "sector %u", k);
			cr_assert_eq(r.each.x[k].n, c.x[k].n, "sector %u", k);
			continue;
		}
		/* In a run: unwritten, sd's sector k + 100 (the linear offset). */
		cr_expect(plain, "sector %u in a run, answered %u contents id %llu", k, c.x[k].n,
			  (unsigned long long)c.id[k]);
		cr_expect_eq(r.disk[k], 0u, "sector %u", k);
		cr_expect_eq(r.abs[k], k + 100u, "sector %u", k);
	}
	/* The snapshot's own write is not in a run; the copied chunks (the copy of a
	 * never-written origin sector is its initial content) and the rest are. */
	cr_expect(!r.in_run[40] && !r.in_run[41] && !r.in_run[43]);
	cr_expect_eq(in_runs, 196);
	cr_expect(r.in_run[0] && r.in_run[8] && r.in_run[30] && r.in_run[150]);
	cr_expect_eq(r.nr_runs, 2); /* 0..39 and 44..199 */
	memset(&e, 0, sizeof(e));
	e.ask_each = true;
	cr_assert_eq(model_read_expect_runs(m, "S", 0, 200, runs_one, runs_run, &e), 0);
	in_runs = 0;
	for (uint32_t k = 0; k < 200; k++) {
		in_runs += e.in_run[k];
		if (e.in_run[k]) { /* taken: where the first run says */
			cr_expect(r.in_run[k] && e.abs[k] == r.abs[k], "sector %u", k);
			continue;
		}
		cr_expect_eq(e.each.id[k], c.id[k], "sector %u", k);
		cr_assert_eq(e.each.x[k].n, c.x[k].n, "sector %u", k);
		cr_expect_eq(e.each.x[k].may_fail, c.x[k].may_fail, "sector %u", k);
		for (unsigned j = 0; j < c.x[k].n; j++)
			cr_expect(model_content_eq(&e.each.x[k].c[j], &c.x[k].c[j]), "sector %u", k);
	}
	/* Taking one and leaving one alternates through each run (two runs of even length). */
	cr_expect_eq(in_runs, 98);
	cr_expect_eq(e.each.n + in_runs, 200);
	model_destroy(m);
}

Test(model_memo, pattern_memo_identifies_as_content_of)
{
	struct model_content_memo *cm = model_content_memo_new();
	uint8_t buf[512], zero[512] = { 0 };
	struct model_content a, b;

	cr_assert_not_null(cm);
	pattern_fill(9, 33, buf);
	for (int round = 0; round < 2; round++) { /* a miss, then a hit */
		a = model_content_of_memo(cm, buf);
		b = model_content_of(buf);
		cr_expect(model_content_eq(&a, &b));
		cr_expect(a.kind == MODEL_C_PATTERN && a.a == 9 && a.b == 33);
	}
	/* The header of the remembered pattern, another body: not that pattern. */
	buf[300] ^= 1;
	a = model_content_of_memo(cm, buf);
	b = model_content_of(buf);
	cr_expect(model_content_eq(&a, &b));
	cr_expect_neq(a.kind, MODEL_C_PATTERN);
	a = model_content_of_memo(cm, zero);
	b = model_content_of(zero);
	cr_expect(model_content_eq(&a, &b));
	model_content_memo_free(cm);
}
