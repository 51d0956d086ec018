/*
 * model_tables.c - dm tables as the model sees them: segments, snapshot
 * stores, merges, invalidation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "pattern.h"

/* ---- tables ---- */

static bool store_attached(struct model *m, const struct mstore *st)
{
	for (unsigned i = 0; i < m->nr_devs; i++)
		for (unsigned j = 0; j < m->devs[i]->n; j++)
			if (m->devs[i]->stores[j] == st)
				return true;
	return false;
}

static int store_for(struct model *m, const struct model_segment *sg, struct mstore **out)
{
	struct loc cl;
	struct mstore *st = NULL;
	int r = model_resolve(m, sg->cow, 0, &cl, 0);

	*out = NULL;
	if (r)
		return r;
	if (cl.kind != L_DISK || !sg->chunk_sectors)
		return -EINVAL;
	for (unsigned i = 0; i < m->nr_stores; i++) {
		struct mstore *s = m->stores[i];

		if (s->dead || s->cow_disk != cl.disk || s->cow_abs != cl.abs)
			continue;
		/* A transient store lives only as long as a table holds it. */
		if (!s->persistent && !store_attached(m, s)) {
			s->dead = true;
			continue;
		}
		st = s;
	}
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return -ENOMEM;
		st->cow_disk = cl.disk;
		st->cow_abs = cl.abs;
		snprintf(st->origin, sizeof(st->origin), "%s", model_strip(sg->dev, "/dev/mapper/"));
		st->cs = sg->chunk_sectors;
		st->persistent = sg->persistent;
		st->cow_sectors = sg->cow_chunks ? 0 : model_dev_size(m, sg->cow);
		st->cap = sg->cow_chunks ? sg->cow_chunks
			  : model_cow_data_chunks(st->cow_sectors, sg->chunk_sectors,
						  sg->persistent);
		st->state = MODEL_SNAP_VALID;
		if (PUSH(m->stores, m->nr_stores, m->cap_stores, st)) {
			free(st);
			return -ENOMEM;
		}
	}
	st->po = sg->overflow_mode;
	st->len = sg->len;
	*out = st;
	return 0;
}

struct merge_walk {
	struct model *m;
	struct mstore *st;
	int err;
};

/* Start a merge: other snapshots keep the origin; the origin takes st's view. */
/*
 * A merge copies the snapshot's value of a sector onto the origin: give the
 * origin sector os the snapshot's versions (ss, or the fixed content when
 * the snapshot view has no state of its own) in state st, skipping the
 * snapshot's in-flight versions when skip_inflight. Used when the merge
 * starts (MV_MAYBE: the copy may or may not have happened) and when it is
 * done (MV_DURABLE: the merge flushed the origin).
 */
static void merge_adopt(struct mstate *os, const struct mstate *ss,
			struct model_content fixed, enum mver_state st,
			bool skip_inflight)
{
	if (ss) {
		for (uint32_t i = 0; i < ss->n; i++) {
			struct mver v = ss->v[i];

			if (skip_inflight && v.st == MV_INFLIGHT)
				continue;
			v.st = st;
			v.copy = 0;
			mstate_push(os, &v);
		}
		os->cur = ss->cur;
		os->cur_known = ss->cur_known;
	} else {
		struct mver v = { .c = fixed, .st = st };

		mstate_push(os, &v);
		os->cur = fixed;
		os->cur_known = true;
	}
}

static void merge_chunk(void *ctx, uint64_t chunk, struct mstate *unused)
{
	struct merge_walk *w = ctx;
	struct model *m = w->m;
	struct mstore *st = w->st;
	model_sector_t first = chunk * st->cs;

	(void)unused;
	for (model_sector_t x = first; x < first + st->cs && x < st->len && !w->err; x++) {
		struct loc sl = { .kind = L_STORE, .st = st, .ssec = x }, ol;
		struct mstate *ss, *os;
		struct model_content fixed;
		struct merged_loc ml;
		bool created;

		if (model_origin_preserve(m, NULL, st->origin, x, st)) {
			w->err = -ENOMEM;
			return;
		}
		/* (other snapshots' copies made by the merge are committed by it) */
		for (unsigned i = 0; i < m->nr_stores; i++)
			if (m->stores[i] != st && model_chunk_allocated(m->stores[i], x / m->stores[i]->cs))
				model_commit_chunk(m->stores[i], x / m->stores[i]->cs);
		if (model_resolve(m, st->origin, x, &ol, 0) || ol.kind != L_DISK ||
		    model_view(m, &sl, &ss, &fixed, 0))
			continue;
		os = mmap_put(&m->disks[ol.disk]->map, ol.abs, &created);
		if (!os) {
			w->err = -ENOMEM;
			return;
		}
		if (created) {
			struct mver init = { .c = model_initial_content(m->disks[ol.disk], ol.abs) };

			mstate_push(os, &init);
			os->cur = init.c;
			os->cur_known = true;
		}
		for (uint32_t i = 0; i < os->n; i++)
			if (os->v[i].st != MV_INFLIGHT)
				os->v[i].st = MV_MAYBE;
		merge_adopt(os, ss, fixed, MV_MAYBE, false);
		os->merging = true;
		ml.disk = ol.disk;
		ml.abs = ol.abs;
		ml.ssec = x;
		if (PUSH(st->merged, st->nr_merged, st->cap_merged, ml))
			w->err = -ENOMEM;
	}
}

int model_dev_set(struct model *m, const char *name, const struct model_segment *segs,
		  unsigned n)
{
	struct mdev *d = model_find_dev(m, name), *nd;
	int r = 0;

	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	snprintf(nd->name, sizeof(nd->name), "%s", model_strip(name, "/dev/mapper/"));
	nd->n = n;
	nd->segs = calloc(n ? n : 1, sizeof(*nd->segs));
	nd->stores = calloc(n ? n : 1, sizeof(*nd->stores));
	nd->strs = calloc(2 * (n ? n : 1), sizeof(*nd->strs));
	if (!nd->segs || !nd->stores || !nd->strs) {
		nd->n = 0;
		model_dev_free(nd);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		nd->segs[i] = segs[i];
		nd->strs[2 * i] = strdup(segs[i].dev ? segs[i].dev : "");
		nd->strs[2 * i + 1] = strdup(segs[i].cow ? segs[i].cow : "");
		if (!nd->strs[2 * i] || !nd->strs[2 * i + 1]) {
			model_dev_free(nd);
			return -ENOMEM;
		}
		nd->segs[i].dev = nd->strs[2 * i];
		nd->segs[i].cow = nd->strs[2 * i + 1];
		if (segs[i].type != MODEL_T_ZERO && segs[i].type != MODEL_T_ERROR &&
		    !model_find_dev(m, segs[i].dev) && model_find_disk(m, segs[i].dev) < 0) {
			model_dev_free(nd);
			return -ENOENT;
		}
	}
	/* Stores first, while the old table (a handover source) is still attached. */
	for (unsigned i = 0; i < n; i++) {
		if (segs[i].type != MODEL_T_SNAPSHOT && segs[i].type != MODEL_T_MERGE)
			continue;
		if (segs[i].start != 0) {
			model_dev_free(nd);
			return -EINVAL;
		}
		r = store_for(m, &nd->segs[i], &nd->stores[i]);
		if (r) {
			model_dev_free(nd);
			return r;
		}
	}
	model_names_changed(m);
	if (d) {
		for (unsigned i = 0; i < m->nr_devs; i++)
			if (m->devs[i] == d)
				m->devs[i] = nd;
		model_dev_free(d);
	} else if (PUSH(m->devs, m->nr_devs, m->cap_devs, nd)) {
		model_dev_free(nd);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		struct mstore *st = nd->stores[i];

		if (segs[i].type == MODEL_T_MERGE && st && !st->merging) {
			struct merge_walk w = { m, st, 0 };

			st->merging = true;
			mmap_each(&st->chunks, merge_chunk, &w);
			if (w.err)
				return w.err;
		}
	}
	return 0;
}

int model_dev_remove(struct model *m, const char *name)
{
	struct mdev *d = model_find_dev(m, name);

	if (!d)
		return -ENOENT;
	model_names_changed(m);
	for (unsigned i = 0; i < m->nr_devs; i++)
		if (m->devs[i] == d) {
			m->devs[i] = m->devs[--m->nr_devs];
			break;
		}
	model_dev_free(d);
	return 0;
}

static struct mstore *dev_store(struct model *m, const char *dev, enum model_target_type *type)
{
	struct mdev *d = model_find_dev(m, dev);

	if (!d)
		return NULL;
	for (unsigned i = 0; i < d->n; i++)
		if (d->stores[i]) {
			*type = d->segs[i].type;
			return d->stores[i];
		}
	return NULL;
}

int model_merge_done(struct model *m, const char *dev)
{
	enum model_target_type type;
	struct mstore *st = dev_store(m, dev, &type);

	if (!st || type != MODEL_T_MERGE)
		return -ENOENT;
	for (size_t i = 0; i < st->nr_merged; i++) {
		struct merged_loc *ml = &st->merged[i];
		struct mstate *os = mmap_get(&m->disks[ml->disk]->map, ml->abs);
		struct loc sl = { .kind = L_STORE, .st = st, .ssec = ml->ssec };
		struct mstate *ss;
		struct model_content fixed;

		if (!os || model_view(m, &sl, &ss, &fixed, 0))
			continue;
		/* The merge flushed the origin: it holds the snapshot's value. */
		for (uint32_t j = os->n; j-- > 0;)
			if (os->v[j].st != MV_INFLIGHT && os->v[j].st != MV_ACKED)
				mstate_drop(os, j);
		merge_adopt(os, ss, fixed, MV_DURABLE, true);
		os->merging = false;
	}
	st->nr_merged = 0;
	st->dead = true;
	return 0;
}

int model_snapshot_invalidate(struct model *m, const char *dev)
{
	enum model_target_type type;
	struct mstore *st = dev_store(m, dev, &type);

	if (!st)
		return -ENOENT;
	st->state = MODEL_SNAP_INVALID;
	return 0;
}

enum model_snap_state model_snapshot_state(struct model *m, const char *dev)
{
	enum model_target_type type;
	struct mstore *st = dev_store(m, dev, &type);

	if (!st)
		return MODEL_SNAP_NONE;
	if (type == MODEL_T_MERGE)
		return st->dead ? MODEL_SNAP_VALID : MODEL_SNAP_MERGING;
	if (st->dead || st->merging)
		return MODEL_SNAP_INVALID;
	if (st->state == MODEL_SNAP_VALID && st->overflow)
		return MODEL_SNAP_OVERFLOW;
	return st->state;
}
