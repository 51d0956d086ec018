/*
 * model_read.c - what a read may return (expected sets) and checking an
 * actual read against them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "pattern.h"

/* ---- reads ---- */

static void expect_add(struct model_expect *e, const struct model_content *c)
{
	for (unsigned i = 0; i < e->n; i++)
		if (mc_eq(&e->c[i], c))
			return;
	e->n_total++;
	if (e->n < MODEL_EXPECT_MAX)
		e->c[e->n++] = *c;
}

/* What a read may return, from its view (r, *s, *fs: model_view_memo_src). */
static int expect_fill(struct model *m, int r, const struct loc *l, struct mstate *s,
		       const struct loc *fs, struct model_expect *out)
{
	memset(out, 0, sizeof(*out));
	if (r == -EIO) {
		out->may_fail = true;
		return 0;
	}
	if (r)
		return r;
	out->may_fail = l->maybe_eio;
	out->may_succeed = true;
	if (!s) {
		struct model_content fixed = model_fixed_content(m, fs);

		expect_add(out, &fixed);
		return 0;
	}
	if (s->cur_known)
		expect_add(out, &s->cur);
	for (uint32_t i = 0; i < s->n; i++)
		if (!s->cur_known || s->v[i].st == MV_INFLIGHT || s->v[i].st == MV_MAYBE)
			expect_add(out, &s->v[i].c);
	return 0;
}

/* What a read of location l may return; *at: the location of *sp's state. */
static int expect_at_id(struct model *m, const struct loc *lp, struct model_expect *out,
			struct mstate **sp, struct loc *at, struct model_view_memo *mm)
{
	struct loc l = *lp, fs;
	int r = model_view_memo_src(m, &l, sp, &fs, at, mm); /* *sp NULL on failure */

	return expect_fill(m, r, &l, *sp, &fs, out);
}

static int expect_at(struct model *m, const struct loc *lp, struct model_expect *out,
		     struct mstate **sp)
{
	return expect_at_id(m, lp, out, sp, NULL, NULL);
}

static int expect_sector(struct model *m, const char *dev, model_sector_t sector,
			 struct model_expect *out, struct mstate **sp)
{
	struct loc l;
	int r;

	memset(out, 0, sizeof(*out));
	*sp = NULL;
	r = model_resolve(m, dev, sector, &l, 0);
	if (r)
		return r;
	return expect_at(m, &l, out, sp);
}

int model_read_expect(struct model *m, const char *dev, model_sector_t sector,
		      struct model_expect *out)
{
	struct mstate *s;

	return expect_sector(m, dev, sector, out, &s);
}

/*
 * The location of the next sector of a read (*run 0 before the first):
 * resolved once per run of sectors that map to consecutive locations,
 * since nothing a read does changes the tables.
 */
static int next_loc(struct model *m, const char *dev, model_sector_t s, struct loc *l,
		    model_sector_t *run)
{
	int r;

	if (*run) {
		model_loc_advance(l, 1);
		(*run)--;
		return 0;
	}
	r = model_resolve_run(m, dev, s, l, 0, run);
	*run = r ? 0 : *run - 1;
	return r;
}

/* Sectors nobody wrote, read in a run: k, n, and the disk location they start at. */
struct initial_run {
	uint32_t k, n;
	uint32_t disk;
	uint64_t abs;
};

/* Hand a run to run(); a sector it does not take goes to fn, and run gets the rest. */
static int run_flush(struct model *m, struct initial_run *ir,
		     int (*fn)(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id),
		     int (*run)(void *ctx, uint32_t k, uint32_t n, uint32_t disk, model_sector_t abs),
		     void *ctx)
{
	const struct loc plain = { .kind = L_DISK }; /* no EIO */

	while (ir->n) {
		struct loc fs = { .kind = L_DISK, .disk = ir->disk };
		struct model_expect x;
		int r = run(ctx, ir->k, ir->n, ir->disk, ir->abs);

		if (r < 0)
			return r;
		if ((uint32_t)r >= ir->n)
			break;
		ir->k += (uint32_t)r;
		ir->abs += (uint32_t)r;
		ir->n -= (uint32_t)r;
		fs.abs = ir->abs;
		expect_fill(m, 0, &plain, NULL, &fs, &x);
		r = fn(ctx, ir->k, &x, 0);
		if (r)
			return r;
		ir->k++;
		ir->abs++;
		ir->n--;
	}
	ir->n = 0;
	return 0;
}

int model_read_expect_runs(struct model *m, const char *dev, model_sector_t sector, uint32_t n,
			   int (*fn)(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id),
			   int (*run)(void *ctx, uint32_t k, uint32_t n, uint32_t disk,
				      model_sector_t abs),
			   void *ctx)
{
	struct model_view_memo mm;
	struct initial_run ir = { 0 };
	struct model_expect x;
	struct mstate *s;
	struct loc l, at, fs;
	model_sector_t run_left = 0;
	int r;

	memset(&mm, 0, sizeof(mm));
	for (uint32_t k = 0; k < n; k++) {
		uint64_t id = 0;
		int v;

		r = next_loc(m, dev, sector + k, &l, &run_left);
		if (r)
			return r;
		v = model_view_memo_src(m, &l, &s, &fs, &at, &mm); /* s NULL on failure */
		if (run && !v && !s && !l.maybe_eio && fs.kind == L_DISK) {
			/* Nobody wrote it: one content, no state; skip building the answer. */
			if (ir.n && ir.disk == fs.disk && ir.abs + ir.n == fs.abs) {
				ir.n++;
				continue;
			}
			if ((r = run_flush(m, &ir, fn, run, ctx)))
				return r;
			ir = (struct initial_run){ k, 1, fs.disk, fs.abs };
			continue;
		}
		if (run && (r = run_flush(m, &ir, fn, run, ctx)))
			return r;
		r = expect_fill(m, v, &l, s, &fs, &x);
		if (r)
			return r;
		if (s)
			id = s->root ? s->root : model_loc_id(m, &at);
		r = fn(ctx, k, &x, id);
		if (r)
			return r;
	}
	return run ? run_flush(m, &ir, fn, run, ctx) : 0;
}

int model_read_expect_ids(struct model *m, const char *dev, model_sector_t sector, uint32_t n,
			  int (*fn)(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id),
			  void *ctx)
{
	return model_read_expect_runs(m, dev, sector, n, fn, NULL, ctx);
}

int model_read_expect_origin(struct model *m, const char *dev, model_sector_t sector,
			     struct model_expect *out)
{
	struct mdev *d = model_find_dev(m, dev);
	struct mstate *s;

	memset(out, 0, sizeof(*out));
	if (!d)
		return -ENOENT;
	for (unsigned i = 0; i < d->n; i++)
		if (d->stores[i] && d->segs[i].type == MODEL_T_SNAPSHOT)
			return expect_sector(m, d->stores[i]->origin, sector, out, &s);
	return -ENOENT;
}

static void describe(const struct model_expect *e, char *buf, size_t len)
{
	size_t used = 0;
	char name[64];

	buf[0] = 0;
	if (!e->may_succeed) {
		snprintf(buf, len, "EIO");
		return;
	}
	for (unsigned i = 0; i < e->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " or " : "",
					 model_content_name(&e->c[i], name, sizeof(name)));
	if (e->n_total > e->n && used < len)
		snprintf(buf + used, len - used, " or %u more", e->n_total - e->n);
	if (e->may_fail && used < len)
		snprintf(buf + strlen(buf), len - strlen(buf), " or EIO");
}

int model_check_read(struct model *m, const char *dev, model_sector_t sector,
		     uint32_t nsectors, const uint8_t *buf, int status,
		     struct model_mismatch *mm)
{
	bool any_fail = false;
	struct loc l;
	model_sector_t run = 0;
	struct model_view_memo vm;

	memset(&vm, 0, sizeof(vm));
	for (uint32_t i = 0; i < nsectors; i++) {
		struct model_expect e;
		struct mstate *s;
		struct model_content found;
		bool ok = false;
		int r = next_loc(m, dev, sector + i, &l, &run);

		if (!r)
			r = expect_at_id(m, &l, &e, &s, NULL, &vm);
		if (r)
			return r;
		if (status) {
			if (e.may_fail)
				any_fail = true;
			continue;
		}
		if (!e.may_succeed) {
			snprintf(mm->dev, sizeof(mm->dev), "%s", dev);
			mm->sector = sector + i;
			snprintf(mm->expected, sizeof(mm->expected), "EIO");
			snprintf(mm->found, sizeof(mm->found), "data");
			return 1;
		}
		found = model_content_of(buf + (size_t)i * PATTERN_SECTOR_BYTES);
		for (unsigned j = 0; j < e.n; j++)
			if (mc_eq(&e.c[j], &found))
				ok = true;
		if (!ok && e.n_total > e.n && s) {
			for (uint32_t j = 0; j < s->n; j++)
				if (mc_eq(&s->v[j].c, &found))
					ok = true;
		}
		if (!ok) {
			snprintf(mm->dev, sizeof(mm->dev), "%s", dev);
			mm->sector = sector + i;
			describe(&e, mm->expected, sizeof(mm->expected));
			model_content_name(&found, mm->found, sizeof(mm->found));
			return 1;
		}
		/*
		 * After a crash the first read pins an uncertain sector, unless
		 * a merge is still writing it: a merge that resumes after the
		 * restart copies the snapshot's value over what was read.
		 */
		if (s && !s->cur_known && !s->merging) {
			bool inflight = false;

			for (uint32_t j = 0; j < s->n; j++)
				if (s->v[j].st == MV_INFLIGHT)
					inflight = true;
			if (!inflight) {
				for (uint32_t j = s->n; j-- > 0;)
					if (!mc_eq(&s->v[j].c, &found))
						mstate_drop(s, j);
				s->cur = found;
				s->cur_known = true;
			}
		}
	}
	if (status && !any_fail) {
		snprintf(mm->dev, sizeof(mm->dev), "%s", dev);
		mm->sector = sector;
		snprintf(mm->expected, sizeof(mm->expected), "data");
		snprintf(mm->found, sizeof(mm->found), "error %d", status);
		return 1;
	}
	return 0;
}
