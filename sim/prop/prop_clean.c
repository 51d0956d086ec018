/*
 * prop.c - property checks over generated traces and their shrinker
 * (prop.h).
 *
 * Organisation: the three properties (run_crash, run_stores, run_clean),
 * each mapping one rendered trace to a failure class (0: held); then the
 * shrinker, which only sees "render the case, run the property, same
 * class?"; then prop_run / prop_check_trace.
 */
#include "prop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bdev.h"
#include "dm.h"
#include "dm_snap.h"
#include "dm_target.h"
#include "exception_table.h"
#include "explore.h"
#include "hash.h"
#include "prop_props.h"
#include "prop_shrink.h"
#include "replay.h"
#include "sim_sched.h"
#include "ss_error.h"

#define PROP_DEFAULT_RUNS 300

static const char *const prop_names[PROP_COUNT] = { "crash", "stores", "clean" };

const char *prop_name(enum prop_kind k)
{
	return (unsigned)k < PROP_COUNT ? prop_names[k] : "?";
}

int prop_parse(const char *name)
{
	for (int k = 0; k < PROP_COUNT; k++)
		if (!strcmp(name, prop_names[k]))
			return k;
	return -1;
}

/* ---- PROP_CLEAN: activation after a clean shutdown ---- */

struct pairs {
	uint64_t *v;             /* old, new, old, new, ... */
	size_t n, cap;
};

static int pairs_add(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	struct pairs *p = ctx;

	if (p->n + 2 > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		uint64_t *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = old_chunk;
	p->v[p->n++] = new_chunk;
	return 0;
}

static int cmp_pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

/* Exception table and status of every snapshot/snapshot-merge device, as text-free data. */
struct snap_state {
	unsigned n;
	char name[PROP_MAX_DEVS][32];
	char *status[PROP_MAX_DEVS];
	struct pairs pairs[PROP_MAX_DEVS];
};

static int snap_state_take(struct replay_world *w, struct snap_state *st)
{
	struct dm_registry *reg = replay_world_registry(w);

	for (unsigned i = 0; i < replay_world_nr_devs(w) && st->n < PROP_MAX_DEVS; i++) {
		const char *name = replay_world_dev_name(w, i);
		struct dm_device *md = dm_find_device(reg, name);
		struct dm_target *ti = md ? dm_device_target(md, 0) : NULL;
		struct dm_snapshot *s;
		struct ss_error err;
		unsigned k = st->n;

		if (!ti || (strcmp(ti->type->name, "snapshot") &&
			    strcmp(ti->type->name, "snapshot-merge")))
			continue;
		s = ti->private;
		snprintf(st->name[k], sizeof(st->name[k]), "%s", name);
		if (dm_status_text(reg, name, false, &st->status[k], &err))
			st->status[k] = NULL;
		st->n++;
		if (extable_foreach(&s->complete, pairs_add, &st->pairs[k]))
			return -ENOMEM;
		if (st->pairs[k].n)
			qsort(st->pairs[k].v, st->pairs[k].n / 2, 2 * sizeof(uint64_t), cmp_pair);
	}
	return 0;
}

static void snap_state_free(struct snap_state *st)
{
	for (unsigned i = 0; i < st->n; i++) {
		free(st->status[i]);
		free(st->pairs[i].v);
	}
	memset(st, 0, sizeof(*st));
}

struct clean_ctx {
	int cls;
	char msg[1024];
	unsigned exceptions;
};

static void clean_compare(struct clean_ctx *cc, const struct snap_state *a,
			  const struct snap_state *b)
{
	if (a->n != b->n) {
		snprintf(cc->msg, sizeof(cc->msg), "%u snapshot devices before the restart, %u after",
			 a->n, b->n);
		cc->cls = 1;
		return;
	}
	for (unsigned i = 0; i < a->n; i++) {
		const struct pairs *x = &a->pairs[i], *y = &b->pairs[i];

		cc->exceptions += (unsigned)(x->n / 2);
		if (x->n != y->n) {
			snprintf(cc->msg, sizeof(cc->msg), "%s: %zu exceptions before the restart, %zu after",
				 a->name[i], x->n / 2, y->n / 2);
			cc->cls = 1;
			return;
		}
		for (size_t j = 0; j < x->n; j += 2)
			if (x->v[j] != y->v[j] || x->v[j + 1] != y->v[j + 1]) {
				snprintf(cc->msg, sizeof(cc->msg), "%s: exception %" PRIu64 " -> %" PRIu64
					 " before the restart, %" PRIu64 " -> %" PRIu64 " after",
					 a->name[i], x->v[j], x->v[j + 1], y->v[j], y->v[j + 1]);
				cc->cls = 1;
				return;
			}
		if (!a->status[i] || !b->status[i] || strcmp(a->status[i], b->status[i])) {
			snprintf(cc->msg, sizeof(cc->msg), "%s: status '%s' before the restart, '%s' after",
				 a->name[i], a->status[i] ? a->status[i] : "?",
				 b->status[i] ? b->status[i] : "?");
			cc->cls = 1;
			return;
		}
	}
}

/*
 * Activation must refuse a store whose records point beyond its COW
 * device: open each recovered persistent snapshot's COW again through a
 * linear device that ends just before its highest recorded chunk (as
 * after shrinking the COW volume) and require the snapshot table to fail.
 * Takes the world's own device names: nw's table i is snapshot i of st.
 */
static void check_short_cow(struct clean_ctx *cc, struct replay_world *nw,
			    const struct snap_state *st)
{
	struct dm_registry *reg = replay_world_registry(nw);

	for (unsigned i = 0; i < st->n && !cc->cls; i++) {
		char origin[128], cow[128], type[32], store[8], table[512];
		unsigned long long len, cs, max = 0;
		const char *text = NULL;
		struct ss_error err;
		int r;

		for (unsigned d = 0; d < replay_world_nr_devs(nw); d++)
			if (!strcmp(replay_world_dev_name(nw, d), st->name[i]))
				text = replay_world_dev_table(nw, d);
		if (!text || sscanf(text, "0 %llu %31s %127s %127s %7s %llu", &len, type, origin,
				    cow, store, &cs) != 6 || strcmp(type, "snapshot") ||
		    strcmp(store, "P") || !st->pairs[i].n)
			continue;
		for (size_t j = 1; j < st->pairs[i].n; j += 2)
			if (st->pairs[i].v[j] > max)
				max = st->pairs[i].v[j];
		snprintf(table, sizeof(table), "0 %llu linear %s 0", max * cs, cow);
		ss_error_clear(&err);
		if (dm_create(reg, "prop_short_cow", NULL, table, 0, &err))
			continue;
		snprintf(table, sizeof(table), "0 %llu snapshot %s /dev/mapper/prop_short_cow P %llu",
			 len, origin, cs);
		ss_error_clear(&err);
		r = dm_create(reg, "prop_short_snap", NULL, table, 0, &err);
		replay_world_settle(nw);
		if (r == 0) {
			snprintf(cc->msg, sizeof(cc->msg), "%s: its store activated through a COW device "
				 "of %llu chunks although it records chunk %llu", st->name[i], max, max);
			cc->cls = 1;
			dm_remove(reg, "prop_short_snap", &err);
		}
		dm_remove(reg, "prop_short_cow", &err);
	}
}

static int clean_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct clean_ctx *cc = ctx;
	struct snap_state before = { 0 }, after = { 0 };
	struct replay_survivors surv[EXPLORE_MAX_DISKS] = { { 0 } };
	struct sim_crash_write *ws[EXPLORE_MAX_DISKS] = { 0 };
	struct replay_world *nw = NULL;
	unsigned nd = replay_world_nr_disks(w);
	char errbuf[1024] = "";

	if (cp->kind != REPLAY_CRASH_END || nd > EXPLORE_MAX_DISKS)
		return 0;
	/* A clean shutdown: every completed write reached the media. */
	for (unsigned d = 0; d < nd; d++) {
		struct sim_disk *disk = replay_world_disk(w, d);
		size_t n = sim_disk_pending_count(disk);
		struct sim_disk_pending *pl = calloc(n ? n : 1, sizeof(*pl));

		ws[d] = calloc(n ? n : 1, sizeof(*ws[d]));
		if (!pl || !ws[d]) {
			free(pl);
			cc->cls = -ENOMEM;
			goto out;
		}
		n = sim_disk_pending_list(disk, pl, n);
		for (size_t i = 0; i < n; i++)
			ws[d][i].id = pl[i].id;
		surv[d].writes = ws[d];
		surv[d].nr = n;
		free(pl);
	}
	if (snap_state_take(w, &before)) {
		cc->cls = -ENOMEM;
		goto out;
	}
	if (replay_world_restart_from(w, surv, &nw, errbuf, sizeof(errbuf)) || errbuf[0]) {
		snprintf(cc->msg, sizeof(cc->msg), "activation after a clean shutdown failed: %.900s",
			 errbuf[0] ? errbuf : "restart error");
		cc->cls = 1;
		goto out;
	}
	if (replay_world_settle(nw) || snap_state_take(nw, &after)) {
		snprintf(cc->msg, sizeof(cc->msg), "restarted world does not settle");
		cc->cls = 1;
		goto out;
	}
	clean_compare(cc, &before, &after);
	if (!cc->cls && replay_world_check_all(nw, errbuf, sizeof(errbuf))) {
		snprintf(cc->msg, sizeof(cc->msg), "after a clean restart: %.900s", errbuf);
		cc->cls = 1;
	}
	if (!cc->cls)
		check_short_cow(cc, nw, &after);
out:
	if (nw)
		replay_world_destroy(nw);
	snap_state_free(&before);
	snap_state_free(&after);
	for (unsigned d = 0; d < nd; d++)
		free(ws[d]);
	return 0;
}

int prop_clean_run(const char *buf, size_t len, uint64_t seed, char *msg, size_t msglen)
{
	struct clean_ctx cc = { 0 };
	struct replay_opts ro = { .has_seed = true, .seed = seed, .defer_shuffle = seed & 1,
				  .crash_modes = REPLAY_CRASH_END, .crash_hook = clean_hook,
				  .crash_ctx = &cc };
	struct replay_result *res = calloc(1, sizeof(*res));
	struct trace_error err;
	int cls;

	if (!res)
		return -ENOMEM;
	if (replay_run_mem("prop", buf, len, &ro, res, &err) != REPLAY_PASS) {
		snprintf(msg, msglen, "%s", res->failure);
		cls = 2;
	} else {
		snprintf(msg, msglen, "%s", cc.msg);
		cls = cc.cls;
	}
	free(res);
	return cls;
}

static void write_trace(struct shrink *s, struct prop_result *res)
{
	const char *dir = s->o->out_dir ? s->o->out_dir : getenv("TMPDIR");
	size_t len;
	char *buf = gen_case_yaml(s->c, s->keep, &len);
	FILE *f;

	if (!buf)
		return;
	snprintf(res->trace_path, sizeof(res->trace_path), "%s/prop-%s-%" PRIu64 ".yaml",
		 dir && *dir ? dir : "/tmp", prop_name(s->k), s->seed);
	f = fopen(res->trace_path, "w");
	if (!f) {
		res->trace_path[0] = '\0';
		free(buf);
		return;
	}
	fprintf(f, "# snapsim property '%s' failed: seed %" PRIu64 " (SNAPSIM_SEED=%" PRIu64
		" reproduces it; minimized from %zu to %zu steps in %u runs)\n",
		prop_name(s->k), s->seed, s->seed, res->steps_before, res->steps_after, res->runs);
	for (const char *m = s->msg; *m;) {
		size_t l = strcspn(m, "\n");

		fprintf(f, "# %.*s\n", (int)l, m);
		m += l + (m[l] == '\n');
	}
	if (s->k == PROP_CRASH && s->co.point >= 0)
		fprintf(f, "# replay the state: snapsim explore %s --mode marked --seed %" PRIu64
			" --point %" PRId64 " --survivors '%s'\n", res->trace_path, s->seed,
			s->co.point, s->co.survivors);
	else if (s->k == PROP_CRASH)
		fprintf(f, "# replay: snapsim explore %s --seed %" PRIu64 "\n", res->trace_path, s->seed);
	else
		fprintf(f, "# replay: snapsim check --trace %s --seed %" PRIu64 "\n",
			res->trace_path, s->seed);
	fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
}

static struct gen_opts case_opts(enum prop_kind k, const struct prop_opts *o)
{
	struct gen_opts g = { .merge = true, .remove = true };

	switch (k) {
	case PROP_CRASH:
		g.store = o->store;
		g.crashes = true;
		g.remove = false; /* the explorer checks the end state too: see prop.h */
		g.faults = o->faults;
		g.merge_crashes = o->merge_crashes;
		break;
	case PROP_STORES:
		g.store = 'P'; /* rendered a second time with N */
		g.merge = false;
		break;
	default:
		g.store = o->store == 'N' ? 'P' : o->store ? o->store : 'P';
		break;
	}
	return g;
}

int prop_run(enum prop_kind k, uint64_t seed, const struct prop_opts *o, struct prop_result *res)
{
	struct gen_opts g = case_opts(k, o);
	struct gen_case c;
	struct shrink s = { .k = k, .seed = seed, .o = o, .c = &c,
			    .max_runs = o->shrink_runs ? o->shrink_runs : PROP_DEFAULT_RUNS };
	int r, cls;

	memset(res, 0, sizeof(*res));
	res->seed = seed;
	res->crash_point = -1;
	r = gen_case_build(seed, &g, &c);
	if (r)
		return r;
	s.keep = malloc(c.nr * sizeof(*s.keep));
	if (!s.keep) {
		gen_case_free(&c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c.nr; i++)
		s.keep[i] = true;
	res->steps_before = res->steps_after = c.nr;
	cls = prop_shrink_attempt(&s, true);
	res->states = s.co.states;
	if (cls < 0) {
		r = cls;
		goto out;
	}
	if (cls == 0)
		goto out;
	res->failed = true;
	s.want = cls;
	if (!o->no_shrink) {
		size_t len;
		char *buf;

		prop_shrink_steps(&s);
		for (size_t i = 0; i < c.nr; i++)
			if (s.keep[i])
				prop_shrink_len(&s, &c.steps[i]);
		if (k == PROP_CRASH) {
			prop_shrink_attempt(&s, true); /* the final trace's failing state */
			buf = gen_case_yaml(&c, s.keep, &len);
			if (buf && s.co.point >= 0 && s.co.survivors[0])
				prop_shrink_survivors(&s, buf, len);
			free(buf);
		}
	}
	res->steps_after = 0;
	for (size_t i = 0; i < c.nr; i++)
		res->steps_after += s.keep[i];
	res->runs = s.runs;
	snprintf(res->message, sizeof(res->message), "%s", s.msg);
	if (k == PROP_CRASH) {
		res->crash_point = s.co.point;
		snprintf(res->survivors, sizeof(res->survivors), "%s", s.co.survivors);
	}
	write_trace(&s, res);
out:
	free(s.keep);
	gen_case_free(&c);
	return r;
}

int prop_check_trace(const char *path, uint64_t seed, const struct prop_opts *o,
		     struct prop_result *res)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct crash_out co;
	int v;

	memset(res, 0, sizeof(*res));
	res->seed = seed;
	res->crash_point = -1;
	if (!f)
		return -errno;
	for (;;) {
		size_t got;

		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	v = prop_crash_run(path, buf, len, seed, o, -1, NULL, &co);
	free(buf);
	if (v > 0 && !o->no_shrink && co.point != -2) {
		/* Minimize with the explorer's own minimizer (steps, then survivors). */
		struct explore_opts eo = {
			.has_seed = true, .seed = seed, .mode = EXPLORE_MODE_MARKED,
			.subsets = SIM_SUBSET_RANDOM, .budget = o->budget ? o->budget : PROP_DEFAULT_BUDGET,
			.only_point = -1, .program = "snapsim",
		};
		struct explore_result *er = calloc(1, sizeof(*er));
		const char *dir = o->out_dir ? o->out_dir : getenv("TMPDIR");
		const char *base = strrchr(path, '/');

		snprintf(res->trace_path, sizeof(res->trace_path), "%s/check-%s-%" PRIu64 ".yaml",
			 dir && *dir ? dir : "/tmp", base ? base + 1 : path, seed);
		if (!er || explore_trace(path, &eo, er) == EXPLORE_OK ||
		    explore_minimize(path, &eo, er, res->trace_path, 0, NULL))
			res->trace_path[0] = '\0';
		free(er);
	}
	res->runs = 1;
	res->states = co.states;
	if (v < 0)
		return v;
	if (v > 0) {
		res->failed = true;
		res->crash_point = co.point;
		snprintf(res->survivors, sizeof(res->survivors), "%s", co.survivors);
		snprintf(res->message, sizeof(res->message), "%s", co.msg);
	}
	return 0;
}
