/*
 * model.c - the reference oracle (see model.h for the promises it encodes):
 * contents, its objects and their lifetimes, dirty lists, durability of
 * one version. The other model_*.c files build on this one (model_impl.h).
 */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "pattern.h"

/* ---- small growable arrays ---- */

int model_grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 8;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}


/* ---- contents ---- */

struct model_content mc_zero(void)
{
	struct model_content c = { 0, 0, MODEL_C_ZERO };

	return c;
}

struct model_content model_content_of(const uint8_t *buf)
{
	struct model_content c = { 0, 0, MODEL_C_ZERO };
	uint64_t seed, sector;

	if (pattern_is_zero(buf, PATTERN_SECTOR_BYTES))
		return c;
	if (pattern_identify(buf, &seed, &sector)) {
		c.kind = MODEL_C_PATTERN;
		c.a = seed;
		c.b = sector;
		return c;
	}
	c.kind = MODEL_C_HASH;
	c.a = pattern_hash(buf, PATTERN_SECTOR_BYTES);
	return c;
}

#define MEMO_SLOTS 4096

struct model_content_memo {
	struct {
		bool used;
		uint64_t seed, sector;
		uint8_t bytes[PATTERN_SECTOR_BYTES];
	} slot[MEMO_SLOTS];
};

struct model_content_memo *model_content_memo_new(void)
{
	return calloc(1, sizeof(struct model_content_memo));
}

void model_content_memo_free(struct model_content_memo *cm)
{
	free(cm);
}

struct model_content model_content_of_memo(struct model_content_memo *cm, const uint8_t *buf)
{
	struct model_content c;
	uint64_t seed, sector;
	unsigned k;

	if (!cm || !pattern_header(buf, &seed, &sector))
		return model_content_of(buf);
	/* The header names the seed and sector; the slot's verified bytes
	 * confirm the rest. */
	k = (unsigned)(pattern_mix64(seed ^ pattern_mix64(sector)) % MEMO_SLOTS);
	if (cm->slot[k].used && cm->slot[k].seed == seed && cm->slot[k].sector == sector &&
	    !memcmp(cm->slot[k].bytes, buf, PATTERN_SECTOR_BYTES)) {
		c.kind = MODEL_C_PATTERN;
		c.a = seed;
		c.b = sector;
		return c;
	}
	c = model_content_of(buf);
	if (c.kind == MODEL_C_PATTERN) {
		cm->slot[k].used = true;
		cm->slot[k].seed = c.a;
		cm->slot[k].sector = c.b;
		memcpy(cm->slot[k].bytes, buf, PATTERN_SECTOR_BYTES);
	}
	return c;
}

bool mc_eq(const struct model_content *x, const struct model_content *y)
{
	return x->kind == y->kind && x->a == y->a && (x->kind != MODEL_C_PATTERN || x->b == y->b);
}

bool model_content_eq(const struct model_content *x, const struct model_content *y)
{
	return mc_eq(x, y);
}

const char *model_content_name(const struct model_content *c, char *buf, size_t len)
{
	switch (c->kind) {
	case MODEL_C_ZERO:
		snprintf(buf, len, "zero");
		break;
	case MODEL_C_PATTERN:
		snprintf(buf, len, "pattern seed-%llu sector %llu", (unsigned long long)c->a,
			 (unsigned long long)c->b);
		break;
	default:
		snprintf(buf, len, "bytes#%016llx", (unsigned long long)c->a);
		break;
	}
	return buf;
}

struct model_content model_data_content(const struct model_data *d, uint32_t i)
{
	struct model_content c = mc_zero();

	switch (d->kind) {
	case MODEL_DATA_ZERO:
		break;
	case MODEL_DATA_PATTERN:
		c.kind = MODEL_C_PATTERN;
		c.a = d->seed;
		c.b = d->base + i;
		break;
	case MODEL_DATA_BYTES:
		c = model_content_of(d->bytes + (size_t)i * PATTERN_SECTOR_BYTES);
		break;
	}
	return c;
}

struct model_content model_initial_content(const struct mdisk *d, uint64_t abs)
{
	uint8_t buf[PATTERN_SECTOR_BYTES];

	if (!d->garbage)
		return mc_zero();
	if (d->init_fn)
		d->init_fn(d->gseed, abs, buf);
	else
		pattern_garbage(d->gseed, abs, buf);
	return model_content_of(buf);
}

uint64_t model_cow_data_chunks(uint64_t cow_sectors, uint32_t cs, bool persistent)
{
	uint64_t chunks, stride, meta;

	if (!cs)
		return 0;
	chunks = cow_sectors / cs;
	if (!persistent)
		return chunks;
	if (chunks < 3)
		return 0;
	/* Chunks 2 .. chunks-1, minus metadata chunks 1 + j*stride (j >= 1). */
	stride = (uint64_t)cs * 512 / 16 + 1;
	meta = (chunks - 2) / stride;
	return chunks - 2 - meta;
}

/* ---- objects ---- */

struct model *model_create(void)
{
	return calloc(1, sizeof(struct model));
}

void model_dev_free(struct mdev *d)
{
	for (unsigned i = 0; i < 2 * d->n; i++)
		free(d->strs[i]);
	free(d->strs);
	free(d->segs);
	free(d->stores);
	free(d);
}

void model_handle_free(struct whandle *h)
{
	free(h->refs);
	free(h->commits);
	free(h);
}

void model_store_free(struct mstore *s)
{
	mmap_free(&s->map);
	mmap_free(&s->chunks);
	mmap_free(&s->committed);
	mmap_free(&s->unsure);
	free(s->merged);
	free(s);
}

void model_destroy(struct model *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->nr_disks; i++) {
		mmap_free(&m->disks[i]->map);
		free(m->disks[i]->dirty);
		free(m->disks[i]);
	}
	for (unsigned i = 0; i < m->nr_devs; i++)
		model_dev_free(m->devs[i]);
	for (unsigned i = 0; i < m->nr_stores; i++)
		model_store_free(m->stores[i]);
	for (unsigned i = 0; i < m->nr_handles; i++)
		model_handle_free(m->handles[i]);
	free(m->disks);
	free(m->devs);
	free(m->stores);
	free(m->handles);
	free(m);
}

const char *model_strip(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(name, prefix, n) ? name : name + n;
}

static int find_dev_slow(const struct model *m, const char *name)
{
	name = model_strip(name, "/dev/mapper/");
	for (unsigned i = 0; i < m->nr_devs; i++)
		if (!strcmp(m->devs[i]->name, name))
			return (int)i;
	return -1;
}

static int find_disk_slow(const struct model *m, const char *name)
{
	if (!strncmp(name, "/dev/mapper/", 12))
		return -1;
	for (unsigned i = 0; i < m->nr_disks; i++)
		if (!strcmp(m->disks[i]->name, name) ||
		    !strcmp(m->disks[i]->name, model_strip(name, "/dev/")))
			return (int)i;
	return -1;
}

/*
 * Both lookups of name (indices, -1: none), from the memo when it still
 * holds. Callers pass the same few strings again and again (segment
 * targets, a store's origin, a device being read), so the slot is picked
 * by the pointer and the entry confirmed by one strcmp.
 */
static void name_lookup(struct model *m, const char *name, int *dev, int *disk)
{
	uint64_t h = (uint64_t)(uintptr_t)name * 0x9e3779b97f4a7c15ull;
	struct model_name_hit *e;
	size_t len;

	e = &m->names[(h >> 58) % (sizeof(m->names) / sizeof(m->names[0]))];
	if (e->used && e->gen == m->names_gen && !strcmp(e->name, name)) {
		*dev = e->dev;
		*disk = e->disk;
		return;
	}
	*dev = find_dev_slow(m, name);
	*disk = find_disk_slow(m, name);
	len = strlen(name);
	if (len < sizeof(e->name)) {
		e->used = true;
		e->gen = m->names_gen;
		e->dev = *dev;
		e->disk = *disk;
		memcpy(e->name, name, len + 1);
	}
}

struct mdev *model_find_dev(struct model *m, const char *name)
{
	int dev, disk;

	name_lookup(m, name, &dev, &disk);
	return dev >= 0 ? m->devs[dev] : NULL;
}

int model_find_disk(struct model *m, const char *name)
{
	int dev, disk;

	name_lookup(m, name, &dev, &disk);
	return disk;
}

int model_add_disk(struct model *m, const char *name, model_sector_t size_sectors,
		   bool garbage, uint64_t garbage_seed)
{
	struct mdisk *d;

	if (model_find_disk(m, name) >= 0)
		return -EEXIST;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof(d->name), "%s", model_strip(name, "/dev/"));
	d->size = size_sectors;
	d->garbage = garbage;
	d->gseed = garbage_seed;
	model_names_changed(m);
	if (PUSH(m->disks, m->nr_disks, m->cap_disks, d)) {
		free(d);
		return -ENOMEM;
	}
	return 0;
}

model_sector_t model_dev_size(struct model *m, const char *name)
{
	struct mdev *d = model_find_dev(m, name);
	int di;

	if (d) {
		model_sector_t end = 0;

		for (unsigned i = 0; i < d->n; i++)
			if (d->segs[i].start + d->segs[i].len > end)
				end = d->segs[i].start + d->segs[i].len;
		return end;
	}
	di = model_find_disk(m, name);
	return di >= 0 ? m->disks[di]->size : 0;
}


/* ---- dirty lists ---- */

void model_dirty_add(struct model *m, uint32_t disk, struct mmap *map, uint64_t key,
		      struct mstate *s)
{
	struct mdisk *d = m->disks[disk];
	struct dref ref = { map, key };

	if (s->dirty_listed && map == &d->map)
		return;
	if (PUSH(d->dirty, d->nr_dirty, d->cap_dirty, ref) == 0 && map == &d->map)
		s->dirty_listed = true;
}

/* Make version i durable: older versions (except in-flight ones) are gone. */
void model_make_durable(struct mstate *s, uint32_t i)
{
	s->v[i].st = MV_DURABLE;
	s->v[i].copy = 0;
	for (uint32_t j = i; j-- > 0;)
		if (s->v[j].st != MV_INFLIGHT) {
			mstate_drop(s, j);
		}
}
