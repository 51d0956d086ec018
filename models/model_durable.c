/*
 * model_durable.c - flush and power cut: which versions are durable, and
 * what each sector may hold on the media after a crash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "pattern.h"

/* ---- flush ---- */

/* Mark the disks a flush of name reaches (spec 4.8 fan-out). */
static void flush_domain(struct model *m, const char *name, bool *set, int depth)
{
	struct mdev *d = model_find_dev(m, name);
	int di;

	if (depth > MAX_DEPTH)
		return;
	if (!d) {
		di = model_find_disk(m, name);
		if (di >= 0)
			set[di] = true;
		return;
	}
	for (unsigned i = 0; i < d->n; i++) {
		const struct model_segment *sg = &d->segs[i];

		switch (sg->type) {
		case MODEL_T_LINEAR:
		case MODEL_T_ORIGIN:
			flush_domain(m, sg->dev, set, depth + 1);
			break;
		case MODEL_T_SNAPSHOT:
			if (d->stores[i])
				set[d->stores[i]->cow_disk] = true;
			break;
		case MODEL_T_MERGE:
			flush_domain(m, sg->dev, set, depth + 1);
			if (d->stores[i])
				set[d->stores[i]->cow_disk] = true;
			break;
		case MODEL_T_ZERO:
		case MODEL_T_ERROR:
			break;
		}
	}
}

uint64_t model_flush_begin(struct model *m)
{
	return m->seq + 1;
}

static void flush_disk(struct model *m, uint32_t disk, uint64_t token)
{
	struct mdisk *d = m->disks[disk];
	size_t keep = 0;

	for (size_t r = 0; r < d->nr_dirty; r++) {
		struct dref ref = d->dirty[r];
		struct mstate *s = mmap_get(ref.map, ref.key);
		int last = -1;
		bool left = false;

		if (!s)
			continue;
		for (uint32_t i = 0; i < s->n; i++)
			if (s->v[i].st == MV_ACKED && s->v[i].disk == disk && s->v[i].seq < token)
				last = (int)i;
		if (last >= 0)
			model_make_durable(s, (uint32_t)last);
		for (uint32_t i = 0; i < s->n; i++)
			if (s->v[i].st == MV_ACKED && s->v[i].disk == disk)
				left = true;
		if (left)
			d->dirty[keep++] = ref;
		else if (ref.map == &d->map)
			s->dirty_listed = false;
	}
	d->nr_dirty = keep;
}

void model_flush_end(struct model *m, const char *dev, uint64_t token, int status)
{
	bool *set;

	if (status || !m->nr_disks)
		return;
	set = calloc(m->nr_disks, sizeof(*set));
	if (!set)
		return;
	flush_domain(m, dev, set, 0);
	for (unsigned i = 0; i < m->nr_disks; i++)
		if (set[i])
			flush_disk(m, i, token);
	free(set);
}

void model_flush(struct model *m, const char *dev)
{
	model_flush_end(m, dev, model_flush_begin(m), 0);
}

/* ---- crash ---- */

static void crash_state(void *ctx, uint64_t key, struct mstate *s)
{
	(void)ctx;
	(void)key;
	for (uint32_t i = 0; i < s->n; i++) {
		s->v[i].st = MV_DURABLE;
		s->v[i].copy = 0;
		for (uint32_t j = 0; j < i; j++)
			if (mc_eq(&s->v[j].c, &s->v[i].c)) {
				mstate_drop(s, i--);
				break;
			}
	}
	s->dirty_listed = false;
	s->cur_known = s->n == 1;
	if (s->n)
		s->cur = s->v[0].c;
}

struct unproven_walk {
	struct model *m;
	struct mstore *st;
};

/*
 * A chunk of an invalidated store with no proven record (see model_crash):
 * each of its sectors may also read what the origin may read now.
 */
static void unproven_chunk(void *ctx, uint64_t chunk, struct mstate *unused)
{
	struct unproven_walk *uw = ctx;
	struct mstore *st = uw->st;
	model_sector_t first = chunk * st->cs;

	(void)unused;
	if (mmap_get(&st->committed, chunk))
		return;
	for (model_sector_t x = first; x < first + st->cs && x < st->len; x++) {
		struct loc ol;
		struct mstate *os, *ss;
		struct model_content ofixed;
		bool created;

		if (model_resolve(uw->m, st->origin, x, &ol, 0) || ol.kind != L_DISK ||
		    model_view(uw->m, &ol, &os, &ofixed, 0))
			continue;
		ss = mmap_put(&st->map, x, &created);
		if (!ss)
			continue;
		if (created) {
			/* The store read the origin's initial content here. */
			struct mver init = { .c = model_initial_content(uw->m->disks[ol.disk], ol.abs),
					     .st = MV_DURABLE };

			mstate_push(ss, &init);
		}
		if (!os) {
			struct mver v = { .c = ofixed, .st = MV_DURABLE };

			mstate_push(ss, &v);
		} else {
			for (uint32_t i = 0; i < os->n; i++) {
				struct mver v = { .c = os->v[i].c, .st = MV_DURABLE };

				mstate_push(ss, &v);
			}
		}
		crash_state(NULL, x, ss); /* dedup, cur_known when one value */
	}
}

/* An allocated chunk whose record no acknowledged write proved: unsure. */
static void unsure_chunk(void *ctx, uint64_t chunk, struct mstate *unused)
{
	struct mstore *st = ctx;

	(void)unused;
	if (!mmap_get(&st->committed, chunk))
		mmap_put(&st->unsure, chunk, NULL);
}

void model_crash(struct model *m)
{
	for (unsigned i = 0; i < m->nr_handles; i++)
		model_handle_free(m->handles[i]);
	m->nr_handles = 0;
	for (unsigned i = 0; i < m->nr_disks; i++) {
		mmap_each(&m->disks[i]->map, crash_state, NULL);
		m->disks[i]->nr_dirty = 0;
	}
	for (unsigned i = 0; i < m->nr_stores; i++) {
		struct mstore *st = m->stores[i];

		if (!st->persistent) {
			st->dead = true;
			continue;
		}
		mmap_each(&st->map, crash_state, NULL);
		/* Records still uncommitted at the cut are lost and their chunks
		 * reused after the restart (spec 2.14); which ones, the model
		 * cannot tell: the used count gets a lower bound. */
		mmap_each(&st->chunks, unsure_chunk, st);
		/* A commit doomed to fail was in flight: it may have invalidated
		 * the store already (spec 2.12), as any invalidation below. */
		if (st->doomed) {
			st->doomed = false;
			st->state = MODEL_SNAP_INVALID;
		}
		if (st->state == MODEL_SNAP_INVALID) {
			/*
			 * The header write that invalidated it is plain (spec 2.9)
			 * and may be lost: the store may come back valid with the
			 * records that were durable. A chunk whose record was
			 * never proven durable then reads through to the origin,
			 * which may hold older unflushed content, or the writes
			 * the invalidation released (spec 4.4).
			 */
			struct unproven_walk uw = { m, st };

			st->state = MODEL_SNAP_MAYBE_INVALID;
			mmap_each(&st->chunks, unproven_chunk, &uw);
		}
		st->overflow = false;
	}
	/* Last: unproven_chunk() resolves origins through the tables. */
	for (unsigned i = 0; i < m->nr_devs; i++)
		model_dev_free(m->devs[i]);
	m->nr_devs = 0;
	model_names_changed(m);
}
