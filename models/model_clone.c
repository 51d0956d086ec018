/*
 * model_clone.c - statistics, initial-content hooks and cloning a whole
 * model (the explorer forks one per crash state).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "pattern.h"

/* ---- stats ---- */

static void count_state(void *ctx, uint64_t key, struct mstate *s)
{
	struct model_stats *st = ctx;

	(void)key;
	st->states++;
	st->entries += s->n;
}

void model_get_stats(const struct model *m, struct model_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < m->nr_disks; i++)
		mmap_each(&m->disks[i]->map, count_state, st);
	for (unsigned i = 0; i < m->nr_stores; i++)
		mmap_each(&m->stores[i]->map, count_state, st);
}

/* ---- initial content hook, clone ---- */

int model_set_disk_initial(struct model *m, const char *name, model_initial_fn *fn,
			   uint64_t key)
{
	int i = model_find_disk(m, name);

	if (i < 0)
		return -ENOENT;
	m->disks[i]->garbage = true;
	m->disks[i]->gseed = key;
	m->disks[i]->init_fn = fn;
	return 0;
}

static int mmap_clone(struct mmap *dst, const struct mmap *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->cap)
		return 0;
	dst->slots = calloc(src->cap, sizeof(*dst->slots));
	if (!dst->slots)
		return -ENOMEM;
	dst->cap = src->cap;
	dst->used = src->used;
	for (uint64_t i = 0; i < src->cap; i++) {
		const struct mstate *s = src->slots[i].s;
		struct mstate *n;

		if (!s)
			continue;
		n = malloc(sizeof(*n));
		if (!n)
			return -ENOMEM;
		*n = *s;
		n->v = NULL;
		if (s->cap) {
			n->v = malloc(s->cap * sizeof(*n->v));
			if (!n->v) {
				free(n);
				return -ENOMEM;
			}
			memcpy(n->v, s->v, s->n * sizeof(*n->v));
		}
		dst->slots[i].key = src->slots[i].key;
		dst->slots[i].s = n;
	}
	return 0;
}

/* The clone's map standing where p stands in src (a disk's or a store's). */
static struct mmap *xlate_map(const struct model *src, struct model *dst,
			      const struct mmap *p)
{
	for (unsigned i = 0; i < src->nr_disks; i++)
		if (p == &src->disks[i]->map)
			return &dst->disks[i]->map;
	for (unsigned i = 0; i < src->nr_stores; i++) {
		if (p == &src->stores[i]->map)
			return &dst->stores[i]->map;
		if (p == &src->stores[i]->chunks)
			return &dst->stores[i]->chunks;
	}
	return NULL;
}

static struct mstore *xlate_store(const struct model *src, struct model *dst,
				  const struct mstore *p)
{
	for (unsigned i = 0; i < src->nr_stores; i++)
		if (p == src->stores[i])
			return dst->stores[i];
	return NULL;
}

static int drefs_clone(const struct model *src, struct model *dst, struct dref **out,
		       const struct dref *in, size_t nr)
{
	*out = NULL;
	if (!nr)
		return 0;
	*out = malloc(nr * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		(*out)[i].key = in[i].key;
		(*out)[i].map = xlate_map(src, dst, in[i].map);
		if (!(*out)[i].map)
			return -EINVAL;
	}
	return 0;
}

static int clone_into(const struct model *m, struct model *c)
{
	c->seq = m->seq;
	c->next_wid = m->next_wid;
	for (unsigned i = 0; i < m->nr_disks; i++) {
		struct mdisk *d = calloc(1, sizeof(*d));

		if (!d || PUSH(c->disks, c->nr_disks, c->cap_disks, d)) {
			free(d);
			return -ENOMEM;
		}
		*d = *m->disks[i];
		d->dirty = NULL;
		d->nr_dirty = d->cap_dirty = 0;
		memset(&d->map, 0, sizeof(d->map));
		if (mmap_clone(&d->map, &m->disks[i]->map))
			return -ENOMEM;
	}
	for (unsigned i = 0; i < m->nr_stores; i++) {
		const struct mstore *s = m->stores[i];
		struct mstore *n = calloc(1, sizeof(*n));

		if (!n || PUSH(c->stores, c->nr_stores, c->cap_stores, n)) {
			free(n);
			return -ENOMEM;
		}
		*n = *s;
		n->merged = NULL;
		n->nr_merged = n->cap_merged = 0;
		memset(&n->map, 0, sizeof(n->map));
		memset(&n->chunks, 0, sizeof(n->chunks));
		memset(&n->committed, 0, sizeof(n->committed));
		memset(&n->unsure, 0, sizeof(n->unsure));
		if (mmap_clone(&n->map, &s->map) || mmap_clone(&n->chunks, &s->chunks) ||
		    mmap_clone(&n->committed, &s->committed) || mmap_clone(&n->unsure, &s->unsure))
			return -ENOMEM;
		if (s->nr_merged) {
			n->merged = malloc(s->nr_merged * sizeof(*n->merged));
			if (!n->merged)
				return -ENOMEM;
			memcpy(n->merged, s->merged, s->nr_merged * sizeof(*n->merged));
			n->nr_merged = n->cap_merged = s->nr_merged;
		}
	}
	for (unsigned i = 0; i < m->nr_disks; i++) {
		const struct mdisk *d = m->disks[i];
		struct mdisk *n = c->disks[i];

		if (drefs_clone(m, c, &n->dirty, d->dirty, d->nr_dirty))
			return -ENOMEM;
		n->nr_dirty = n->cap_dirty = d->nr_dirty;
	}
	for (unsigned i = 0; i < m->nr_devs; i++) {
		const struct mdev *d = m->devs[i];
		struct mdev *n = calloc(1, sizeof(*n));
		unsigned k = d->n ? d->n : 1;

		if (!n)
			return -ENOMEM;
		memcpy(n->name, d->name, sizeof(n->name));
		n->segs = calloc(k, sizeof(*n->segs));
		n->stores = calloc(k, sizeof(*n->stores));
		n->strs = calloc(2 * k, sizeof(*n->strs));
		if (!n->segs || !n->stores || !n->strs ||
		    PUSH(c->devs, c->nr_devs, c->cap_devs, n)) {
			model_dev_free(n);
			return -ENOMEM;
		}
		n->n = d->n;
		for (unsigned j = 0; j < d->n; j++) {
			n->segs[j] = d->segs[j];
			n->strs[2 * j] = strdup(d->strs[2 * j]);
			n->strs[2 * j + 1] = strdup(d->strs[2 * j + 1]);
			if (!n->strs[2 * j] || !n->strs[2 * j + 1])
				return -ENOMEM;
			n->segs[j].dev = n->strs[2 * j];
			n->segs[j].cow = n->strs[2 * j + 1];
			n->stores[j] = d->stores[j] ? xlate_store(m, c, d->stores[j]) : NULL;
		}
	}
	for (unsigned i = 0; i < m->nr_handles; i++) {
		const struct whandle *h = m->handles[i];
		struct whandle *n = calloc(1, sizeof(*n));

		if (!n || PUSH(c->handles, c->nr_handles, c->cap_handles, n)) {
			free(n);
			return -ENOMEM;
		}
		n->id = h->id;
		n->flags = h->flags;
		n->snap = h->snap ? xlate_store(m, c, h->snap) : NULL;
		n->may_fail = h->may_fail;
		if (drefs_clone(m, c, &n->refs, h->refs, h->nr_refs))
			return -ENOMEM;
		n->nr_refs = n->cap_refs = h->nr_refs;
		if (h->nr_commits) {
			n->commits = malloc(h->nr_commits * sizeof(*n->commits));
			if (!n->commits)
				return -ENOMEM;
			for (size_t j = 0; j < h->nr_commits; j++) {
				n->commits[j].chunk = h->commits[j].chunk;
				n->commits[j].fatal = h->commits[j].fatal;
				n->commits[j].s = xlate_store(m, c, h->commits[j].s);
			}
			n->nr_commits = n->cap_commits = h->nr_commits;
		}
	}
	return 0;
}

struct model *model_clone(const struct model *m)
{
	struct model *c = model_create();

	if (!c)
		return NULL;
	if (clone_into(m, c)) {
		model_destroy(c);
		return NULL;
	}
	model_names_changed(c); /* lookups made while it was half built */
	return c;
}
