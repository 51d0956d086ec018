/*
 * prop_clean.c - the property PROP_CLEAN (prop.h) over one rendered
 * trace: at its end, shut down cleanly (every completed write durable),
 * restart, and compare each snapshot's exception table and status before
 * and after; then check that a persistent store seen through a COW
 * device too short for its records refuses to activate.
 */
#include "prop_props.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "dm_snap.h"
#include "dm_target.h"
#include "exception_table.h"
#include "explore.h"
#include "replay.h"
#include "ss_error.h"

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
		bool inv = a->status[i] && strstr(a->status[i], " Invalid");
		bool ovf = a->status[i] && strstr(a->status[i], " Overflow");

		/* An invalidated store keeps its table in memory but its header
		 * says valid = 0: it comes back Invalid with no exceptions loaded
		 * (spec 2.6 step 7, 4.10). */
		if (inv) {
			if (!b->status[i] || !strstr(b->status[i], " Invalid")) {
				snprintf(cc->msg, sizeof(cc->msg),
					 "%s: status 'Invalid' before the restart, '%s' after",
					 a->name[i], b->status[i] ? b->status[i] : "?");
				cc->cls = 1;
				return;
			}
			continue;
		}
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
		/* Overflow is an in-memory flag only (spec 4.10): the store comes
		 * back valid, with its usage line. */
		if (ovf && b->status[i] && !strstr(b->status[i], " Invalid") &&
		    !strstr(b->status[i], " Overflow"))
			continue;
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
		char cut[900];

		snprintf(cc->msg, sizeof(cc->msg), "activation after a clean shutdown failed: %s",
			 ss_elide(cut, sizeof(cut), errbuf[0] ? errbuf : "restart error"));
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
		char cut[900];

		snprintf(cc->msg, sizeof(cc->msg), "after a clean restart: %s",
			 ss_elide(cut, sizeof(cut), errbuf));
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

