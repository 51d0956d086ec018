/*
 * model.c - the reference oracle (see model.h for the promises it encodes).
 *
 * Organisation:
 *   contents       canonical content ids, names
 *   objects        disks, dm devices (tables), snapshot stores, write handles
 *   resolution     device + sector -> a disk sector or a snapshot sector
 *   writes         begin/end, origin preservation (copy on first write)
 *   flush, crash   durability of versions
 *   reads          expected sets, checks
 *
 * A sector state (model_map.h) lists every version the sector may hold
 * on the media, plus the ones in flight; `cur` is what a read returns now.
 * Invariants: a state created for a disk sector starts with one DURABLE
 * version (the initial content); a DURABLE version drops every older
 * non-in-flight version; after a crash every version becomes a DURABLE
 * candidate and `cur` is unknown until a read pins it.
 */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_map.h"
#include "pattern.h"

#define NAME_MAX_LEN 128
#define MAX_DEPTH 16

struct dref {
	struct mmap *map;
	uint64_t key;
};

struct mdisk {
	char name[NAME_MAX_LEN];
	model_sector_t size;
	bool garbage;
	uint64_t gseed;
	model_initial_fn *init_fn;     /* NULL: pattern_garbage(gseed, sector) */
	struct mmap map;
	struct dref *dirty;            /* states with ACKED versions on this disk */
	size_t nr_dirty, cap_dirty;
};

struct merged_loc {
	uint32_t disk;
	uint64_t abs;
	uint64_t ssec;
};

struct mstore {
	uint32_t cow_disk;
	model_sector_t cow_abs;        /* identity: where the COW starts */
	char origin[NAME_MAX_LEN];     /* the origin (real) device, normalised */
	uint32_t cs;
	bool persistent, po;
	uint64_t cap, used;            /* data chunks */
	model_sector_t len;            /* the snapshot device's size */
	enum model_snap_state state;   /* VALID, INVALID, MAYBE_INVALID */
	bool overflow;
	bool merging;
	bool dead;
	struct mmap map;               /* snapshot sector -> state */
	struct mmap chunks;            /* allocated chunks (states unused) */
	struct mmap committed;         /* chunks whose record an acknowledged origin
					* write proved durable while the store was
					* valid (states unused) */
	struct merged_loc *merged;
	size_t nr_merged, cap_merged;
};

struct mdev {
	char name[NAME_MAX_LEN];
	struct model_segment *segs;
	struct mstore **stores;        /* per segment, for SNAPSHOT/MERGE */
	char **strs;                   /* owned copies of dev/cow names, 2 per segment */
	unsigned n;
};

struct commit {
	struct mstore *s;
	uint64_t chunk;
};

struct whandle {
	uint64_t id;
	unsigned flags;
	struct dref *refs;
	size_t nr_refs, cap_refs;
	struct commit *commits;
	size_t nr_commits, cap_commits;
};

struct model {
	struct mdisk **disks;
	unsigned nr_disks;
	struct mdev **devs;
	unsigned nr_devs;
	struct mstore **stores;
	unsigned nr_stores;
	struct whandle **handles;
	unsigned nr_handles;
	size_t cap_disks, cap_devs, cap_stores, cap_handles;
	uint64_t seq;                  /* acknowledgement counter */
	uint64_t next_wid;
};

/* ---- small growable arrays ---- */

static int grow_array(void **arr, size_t *cap, size_t need, size_t elem)
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

#define PUSH(arr, nr, cap, val)                                                    \
	(grow_array((void **)&(arr), &(cap), (nr) + 1, sizeof(*(arr))) ? -ENOMEM :   \
	 ((arr)[(nr)++] = (val), 0))

/* ---- contents ---- */

static struct model_content c_zero(void)
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

static bool c_eq(const struct model_content *x, const struct model_content *y)
{
	return x->kind == y->kind && x->a == y->a && (x->kind != MODEL_C_PATTERN || x->b == y->b);
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

static struct model_content data_content(const struct model_data *d, uint32_t i)
{
	struct model_content c = c_zero();

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

static struct model_content initial_content(const struct mdisk *d, uint64_t abs)
{
	uint8_t buf[PATTERN_SECTOR_BYTES];

	if (!d->garbage)
		return c_zero();
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

static void dev_free(struct mdev *d)
{
	for (unsigned i = 0; i < 2 * d->n; i++)
		free(d->strs[i]);
	free(d->strs);
	free(d->segs);
	free(d->stores);
	free(d);
}

static void handle_free(struct whandle *h)
{
	free(h->refs);
	free(h->commits);
	free(h);
}

static void store_free(struct mstore *s)
{
	mmap_free(&s->map);
	mmap_free(&s->chunks);
	mmap_free(&s->committed);
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
		dev_free(m->devs[i]);
	for (unsigned i = 0; i < m->nr_stores; i++)
		store_free(m->stores[i]);
	for (unsigned i = 0; i < m->nr_handles; i++)
		handle_free(m->handles[i]);
	free(m->disks);
	free(m->devs);
	free(m->stores);
	free(m->handles);
	free(m);
}

static const char *strip(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(name, prefix, n) ? name : name + n;
}

static struct mdev *find_dev(struct model *m, const char *name)
{
	name = strip(name, "/dev/mapper/");
	for (unsigned i = 0; i < m->nr_devs; i++)
		if (!strcmp(m->devs[i]->name, name))
			return m->devs[i];
	return NULL;
}

static int find_disk(struct model *m, const char *name)
{
	if (!strncmp(name, "/dev/mapper/", 12))
		return -1;
	for (unsigned i = 0; i < m->nr_disks; i++)
		if (!strcmp(m->disks[i]->name, name) ||
		    !strcmp(m->disks[i]->name, strip(name, "/dev/")))
			return (int)i;
	return -1;
}

int model_add_disk(struct model *m, const char *name, model_sector_t size_sectors,
		   bool garbage, uint64_t garbage_seed)
{
	struct mdisk *d;

	if (find_disk(m, name) >= 0)
		return -EEXIST;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof(d->name), "%s", strip(name, "/dev/"));
	d->size = size_sectors;
	d->garbage = garbage;
	d->gseed = garbage_seed;
	if (PUSH(m->disks, m->nr_disks, m->cap_disks, d)) {
		free(d);
		return -ENOMEM;
	}
	return 0;
}

static model_sector_t dev_size(struct model *m, const char *name)
{
	struct mdev *d = find_dev(m, name);
	int di;

	if (d) {
		model_sector_t end = 0;

		for (unsigned i = 0; i < d->n; i++)
			if (d->segs[i].start + d->segs[i].len > end)
				end = d->segs[i].start + d->segs[i].len;
		return end;
	}
	di = find_disk(m, name);
	return di >= 0 ? m->disks[di]->size : 0;
}

/* ---- resolution ---- */

enum loc_kind {
	L_DISK,
	L_STORE,
	L_ZERO,
	L_EIO,
};

struct loc {
	enum loc_kind kind;
	uint32_t disk;
	uint64_t abs;
	struct mstore *st;
	uint64_t ssec;
	bool maybe_eio;
};

static const struct model_segment *seg_of(const struct mdev *d, model_sector_t s, unsigned *idx)
{
	for (unsigned i = 0; i < d->n; i++)
		if (s >= d->segs[i].start && s < d->segs[i].start + d->segs[i].len) {
			*idx = i;
			return &d->segs[i];
		}
	return NULL;
}

static bool chunk_allocated(const struct mstore *s, uint64_t chunk)
{
	return mmap_get(&s->chunks, chunk) != NULL;
}

/* Where a read of name:s is served from (merge devices prefer the store). */
static int resolve(struct model *m, const char *name, model_sector_t s, struct loc *out,
		   int depth)
{
	const struct model_segment *sg;
	struct mdev *d;
	unsigned idx;
	int di;

	memset(out, 0, sizeof(*out));
	if (depth > MAX_DEPTH)
		return -ELOOP;
	d = find_dev(m, name);
	if (!d) {
		di = find_disk(m, name);
		if (di < 0)
			return -ENOENT;
		if (s >= m->disks[di]->size) {
			out->kind = L_EIO;
			return 0;
		}
		out->kind = L_DISK;
		out->disk = (uint32_t)di;
		out->abs = s;
		return 0;
	}
	sg = seg_of(d, s, &idx);
	if (!sg) {
		out->kind = L_EIO;
		return 0;
	}
	switch (sg->type) {
	case MODEL_T_LINEAR:
		return resolve(m, sg->dev, sg->offset + (s - sg->start), out, depth + 1);
	case MODEL_T_ZERO:
		out->kind = L_ZERO;
		return 0;
	case MODEL_T_ERROR:
		out->kind = L_EIO;
		return 0;
	case MODEL_T_ORIGIN:
		return resolve(m, sg->dev, s, out, depth + 1);
	case MODEL_T_SNAPSHOT: {
		struct mstore *st = d->stores[idx];

		if (!st || st->dead || st->merging || st->state == MODEL_SNAP_INVALID) {
			out->kind = L_EIO;
			return 0;
		}
		out->kind = L_STORE;
		out->st = st;
		out->ssec = s;
		out->maybe_eio = st->state == MODEL_SNAP_MAYBE_INVALID;
		return 0;
	}
	case MODEL_T_MERGE: {
		struct mstore *st = d->stores[idx];

		if (st && !st->dead && st->merging && chunk_allocated(st, s / st->cs)) {
			out->kind = L_STORE;
			out->st = st;
			out->ssec = s;
			return 0;
		}
		return resolve(m, sg->dev, s, out, depth + 1);
	}
	}
	out->kind = L_EIO;
	return 0;
}

/*
 * The state a location reads from: a state (*sp) or, for a sector nobody
 * wrote, its fixed initial content (*fixed). Store sectors not in the
 * store's map read the origin (shared) unless their chunk was copied, in
 * which case they read the origin's initial content.
 */
static int view(struct model *m, const struct loc *l, struct mstate **sp,
		struct model_content *fixed, int depth)
{
	*sp = NULL;
	switch (l->kind) {
	case L_DISK:
		*sp = mmap_get(&m->disks[l->disk]->map, l->abs);
		*fixed = initial_content(m->disks[l->disk], l->abs);
		return 0;
	case L_ZERO:
		*fixed = c_zero();
		return 0;
	case L_EIO:
		return -EIO;
	case L_STORE: {
		struct mstore *st = l->st;
		struct loc ol;
		int r;

		*sp = mmap_get(&st->map, l->ssec);
		if (*sp)
			return 0;
		if (depth > MAX_DEPTH)
			return -ELOOP;
		r = resolve(m, st->origin, l->ssec, &ol, depth + 1);
		if (r)
			return r;
		if (chunk_allocated(st, l->ssec / st->cs)) {
			*fixed = ol.kind == L_DISK ? initial_content(m->disks[ol.disk], ol.abs) : c_zero();
			return 0;
		}
		return view(m, &ol, sp, fixed, depth + 1);
	}
	}
	return -EIO;
}

/* ---- dirty lists ---- */

static void dirty_add(struct model *m, uint32_t disk, struct mmap *map, uint64_t key,
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
static void make_durable(struct mstate *s, uint32_t i)
{
	s->v[i].st = MV_DURABLE;
	s->v[i].copy = 0;
	for (uint32_t j = i; j-- > 0;)
		if (s->v[j].st != MV_INFLIGHT) {
			mstate_drop(s, j);
		}
}

/* ---- writes ---- */

static struct whandle *find_handle(struct model *m, uint64_t id, unsigned *idx)
{
	for (unsigned i = 0; i < m->nr_handles; i++)
		if (m->handles[i]->id == id) {
			if (idx)
				*idx = i;
			return m->handles[i];
		}
	return NULL;
}

/* Add an in-flight version of h to map[key] (a new state starts from initial). */
static int apply(struct whandle *h, struct mmap *map, uint64_t key,
		 struct model_content c, uint32_t disk, struct model_content initial)
{
	bool created;
	struct mstate *s = mmap_put(map, key, &created);
	struct mver v = { .c = c, .wid = h->id, .disk = disk, .st = MV_INFLIGHT };
	struct dref ref = { map, key };

	if (!s)
		return -ENOMEM;
	if (created) {
		struct mver init = { .c = initial, .st = MV_DURABLE };

		if (mstate_push(s, &init))
			return -ENOMEM;
		s->cur = initial;
		s->cur_known = true;
	}
	if (mstate_push(s, &v))
		return -ENOMEM;
	return PUSH(h->refs, h->nr_refs, h->cap_refs, ref);
}

/* Copy chunk `chunk` of the origin into store st (the first write to it). */
static int copy_chunk(struct model *m, struct mstore *st, uint64_t chunk)
{
	model_sector_t first = chunk * st->cs, end = first + st->cs;

	if (!mmap_put(&st->chunks, chunk, NULL))
		return -ENOMEM;
	st->used++;
	if (end > st->len)
		end = st->len;
	for (model_sector_t x = first; x < end; x++) {
		struct loc ol;
		struct mstate *src, *dst;
		struct model_content fixed;

		if (resolve(m, st->origin, x, &ol, 0) || view(m, &ol, &src, &fixed, 0) || !src)
			continue; /* never written: the copy is the initial content (implicit) */
		dst = mmap_put(&st->map, x, NULL);
		if (!dst)
			return -ENOMEM;
		for (uint32_t i = 0; i < src->n; i++) {
			struct mver v = src->v[i];

			if (v.st == MV_INFLIGHT)
				v.st = MV_MAYBE;
			v.copy = 1;
			if (mstate_push(dst, &v))
				return -ENOMEM;
			if (v.st == MV_ACKED)
				dirty_add(m, v.disk, &st->map, x, dst);
		}
		/* Mark the value the copy reads now (the newest matching version). */
		if (src->cur_known) {
			for (uint32_t i = dst->n; i-- > 0;)
				if (dst->v[i].st != MV_MAYBE && c_eq(&dst->v[i].c, &src->cur)) {
					dst->v[i].copy = 2;
					break;
				}
		}
		dst->cur = src->cur;
		dst->cur_known = src->cur_known;
	}
	return 0;
}

/* Allocate a COW chunk in st; false when there is no room. */
static bool store_alloc(struct mstore *st)
{
	return st->used < st->cap;
}

/*
 * The origin-write procedure (spec 4.3) for a write of sector s of origin
 * `real`: every active valid snapshot of it (except `skip`) keeps the
 * current content of the chunk before the write may land.
 */
static int origin_preserve(struct model *m, struct whandle *h, const char *real,
			   model_sector_t s, const struct mstore *skip)
{
	real = strip(real, "/dev/mapper/");
	for (unsigned i = 0; i < m->nr_stores; i++) {
		struct mstore *st = m->stores[i];
		uint64_t chunk;
		int r;

		if (st == skip || st->dead || st->merging || strcmp(st->origin, real) ||
		    st->state == MODEL_SNAP_INVALID || s >= st->len)
			continue;
		chunk = s / st->cs;
		if (chunk_allocated(st, chunk))
			continue;
		if (!store_alloc(st)) {
			st->state = MODEL_SNAP_INVALID; /* origin write: no space invalidates */
			continue;
		}
		if ((r = copy_chunk(m, st, chunk)))
			return r;
		if (h) {
			struct commit cm = { st, chunk };

			if (PUSH(h->commits, h->nr_commits, h->cap_commits, cm))
				return -ENOMEM;
		}
	}
	return 0;
}

static void store_kill_if_cow(struct model *m, uint32_t disk, uint64_t abs)
{
	for (unsigned i = 0; i < m->nr_stores; i++)
		if (!m->stores[i]->dead && m->stores[i]->cow_disk == disk &&
		    m->stores[i]->cow_abs == abs)
			m->stores[i]->dead = true; /* the COW header was overwritten */
}

static int write_sector(struct model *m, struct whandle *h, const char *name,
			model_sector_t s, struct model_content c, int depth)
{
	const struct model_segment *sg;
	struct mdev *d;
	unsigned idx;
	int di, r;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	d = find_dev(m, name);
	if (!d) {
		di = find_disk(m, name);
		if (di < 0)
			return -ENOENT;
		if (s >= m->disks[di]->size)
			return -EIO;
		store_kill_if_cow(m, (uint32_t)di, s);
		return apply(h, &m->disks[di]->map, s, c, (uint32_t)di,
			     initial_content(m->disks[di], s));
	}
	sg = seg_of(d, s, &idx);
	if (!sg)
		return -EIO;
	switch (sg->type) {
	case MODEL_T_LINEAR:
		return write_sector(m, h, sg->dev, sg->offset + (s - sg->start), c, depth + 1);
	case MODEL_T_ZERO:
		return 0;
	case MODEL_T_ERROR:
		return -EIO;
	case MODEL_T_ORIGIN:
		if ((r = origin_preserve(m, h, sg->dev, s, NULL)))
			return r;
		return write_sector(m, h, sg->dev, s, c, depth + 1);
	case MODEL_T_SNAPSHOT: {
		struct mstore *st = d->stores[idx];
		uint64_t chunk;
		struct loc ol;
		struct model_content init = c_zero();

		if (!st || st->dead || st->merging || st->state != MODEL_SNAP_VALID || st->overflow)
			return -EIO;
		chunk = s / st->cs;
		if (!chunk_allocated(st, chunk)) {
			if (!store_alloc(st)) {
				if (st->po)
					st->overflow = true;
				else
					st->state = MODEL_SNAP_INVALID;
				return -EIO;
			}
			if ((r = copy_chunk(m, st, chunk)))
				return r;
		}
		if (!resolve(m, st->origin, s, &ol, 0) && ol.kind == L_DISK)
			init = initial_content(m->disks[ol.disk], ol.abs);
		return apply(h, &st->map, s, c, st->cow_disk, init);
	}
	case MODEL_T_MERGE: {
		struct mstore *st = d->stores[idx];

		if ((r = origin_preserve(m, h, sg->dev, s, st)))
			return r;
		if (st && !st->dead && st->merging && chunk_allocated(st, s / st->cs)) {
			struct loc ol;
			struct model_content init = c_zero();

			if (!resolve(m, st->origin, s, &ol, 0) && ol.kind == L_DISK)
				init = initial_content(m->disks[ol.disk], ol.abs);
			if ((r = apply(h, &st->map, s, c, st->cow_disk, init)))
				return r;
		}
		return write_sector(m, h, sg->dev, s, c, depth + 1);
	}
	}
	return -EIO;
}

int model_write_begin(struct model *m, const char *dev, model_sector_t sector,
		      uint32_t nsectors, const struct model_data *d, unsigned flags,
		      uint64_t *id)
{
	struct whandle *h = calloc(1, sizeof(*h));
	int status = 0;

	*id = 0;
	if (!h)
		return -ENOMEM;
	h->id = ++m->next_wid;
	h->flags = flags;
	if (PUSH(m->handles, m->nr_handles, m->cap_handles, h)) {
		free(h);
		return -ENOMEM;
	}
	*id = h->id;
	if (!find_dev(m, dev) && find_disk(m, dev) < 0)
		return -ENOENT;
	for (uint32_t i = 0; i < nsectors; i++) {
		int r = write_sector(m, h, dev, sector + i, data_content(d, i), 0);

		if (r == -ENOMEM || r == -ELOOP || r == -ENOENT)
			return r;
		if (r)
			status = -EIO;
	}
	return status;
}

static void commit_chunk(struct mstore *st, uint64_t chunk)
{
	model_sector_t first = chunk * st->cs;

	for (model_sector_t x = first; x < first + st->cs && x < st->len; x++) {
		struct mstate *s = mmap_get(&st->map, x);
		int keep = -1;

		if (!s)
			continue;
		for (uint32_t i = 0; i < s->n; i++)
			if (s->v[i].copy == 2)
				keep = (int)i;
		if (keep < 0)
			continue;
		/* The copy and its record are durable: the snapshot holds that value. */
		for (uint32_t i = s->n; i-- > 0;) {
			if ((int)i == keep || !s->v[i].copy || s->v[i].st == MV_INFLIGHT)
				continue;
			mstate_drop(s, i);
			if ((int)i < keep)
				keep--;
		}
		make_durable(s, (uint32_t)keep);
	}
}

void model_write_end(struct model *m, uint64_t id, int status)
{
	unsigned idx;
	struct whandle *h = find_handle(m, id, &idx);

	if (!h)
		return;
	for (size_t r = 0; r < h->nr_refs; r++) {
		struct mstate *s = mmap_get(h->refs[r].map, h->refs[r].key);

		if (!s)
			continue;
		for (uint32_t i = 0; i < s->n; i++) {
			struct mver *v = &s->v[i];

			if (v->st != MV_INFLIGHT || v->wid != id)
				continue;
			if (status) {
				v->st = MV_MAYBE;
				break;
			}
			s->cur = v->c;
			s->cur_known = true;
			if (h->flags & MODEL_FUA) {
				make_durable(s, i);
			} else {
				v->st = MV_ACKED;
				v->seq = ++m->seq;
				dirty_add(m, v->disk, h->refs[r].map, h->refs[r].key, s);
			}
			break;
		}
	}
	/*
	 * An acknowledged origin write proves the records it waited for are
	 * durable, unless the store went invalid meanwhile: then the write was
	 * released by the invalidation (spec 4.4 failure), not by a commit.
	 */
	if (!status)
		for (size_t i = 0; i < h->nr_commits; i++) {
			struct mstore *st = h->commits[i].s;

			if (st->state != MODEL_SNAP_VALID)
				continue;
			commit_chunk(st, h->commits[i].chunk);
			mmap_put(&st->committed, h->commits[i].chunk, NULL);
		}
	handle_free(h);
	m->handles[idx] = m->handles[--m->nr_handles];
}

int model_write(struct model *m, const char *dev, model_sector_t sector, uint32_t nsectors,
		const struct model_data *d, unsigned flags)
{
	uint64_t id;
	int status = model_write_begin(m, dev, sector, nsectors, d, flags, &id);

	model_write_end(m, id, status);
	return status;
}

/* ---- flush ---- */

/* Mark the disks a flush of name reaches (spec 4.8 fan-out). */
static void flush_domain(struct model *m, const char *name, bool *set, int depth)
{
	struct mdev *d = find_dev(m, name);
	int di;

	if (depth > MAX_DEPTH)
		return;
	if (!d) {
		di = find_disk(m, name);
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
			make_durable(s, (uint32_t)last);
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
			if (c_eq(&s->v[j].c, &s->v[i].c)) {
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

		if (resolve(uw->m, st->origin, x, &ol, 0) || ol.kind != L_DISK ||
		    view(uw->m, &ol, &os, &ofixed, 0))
			continue;
		ss = mmap_put(&st->map, x, &created);
		if (!ss)
			continue;
		if (created) {
			/* The store read the origin's initial content here. */
			struct mver init = { .c = initial_content(uw->m->disks[ol.disk], ol.abs),
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

void model_crash(struct model *m)
{
	for (unsigned i = 0; i < m->nr_handles; i++)
		handle_free(m->handles[i]);
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
		dev_free(m->devs[i]);
	m->nr_devs = 0;
}

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
	int r = resolve(m, sg->cow, 0, &cl, 0);

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
		snprintf(st->origin, sizeof(st->origin), "%s", strip(sg->dev, "/dev/mapper/"));
		st->cs = sg->chunk_sectors;
		st->persistent = sg->persistent;
		st->cap = sg->cow_chunks ? sg->cow_chunks
			  : model_cow_data_chunks(dev_size(m, sg->cow), sg->chunk_sectors,
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

		if (origin_preserve(m, NULL, st->origin, x, st)) {
			w->err = -ENOMEM;
			return;
		}
		/* (other snapshots' copies made by the merge are committed by it) */
		for (unsigned i = 0; i < m->nr_stores; i++)
			if (m->stores[i] != st && chunk_allocated(m->stores[i], x / m->stores[i]->cs))
				commit_chunk(m->stores[i], x / m->stores[i]->cs);
		if (resolve(m, st->origin, x, &ol, 0) || ol.kind != L_DISK ||
		    view(m, &sl, &ss, &fixed, 0))
			continue;
		os = mmap_put(&m->disks[ol.disk]->map, ol.abs, &created);
		if (!os) {
			w->err = -ENOMEM;
			return;
		}
		if (created) {
			struct mver init = { .c = initial_content(m->disks[ol.disk], ol.abs) };

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
	struct mdev *d = find_dev(m, name), *nd;
	int r = 0;

	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	snprintf(nd->name, sizeof(nd->name), "%s", strip(name, "/dev/mapper/"));
	nd->n = n;
	nd->segs = calloc(n ? n : 1, sizeof(*nd->segs));
	nd->stores = calloc(n ? n : 1, sizeof(*nd->stores));
	nd->strs = calloc(2 * (n ? n : 1), sizeof(*nd->strs));
	if (!nd->segs || !nd->stores || !nd->strs) {
		nd->n = 0;
		dev_free(nd);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		nd->segs[i] = segs[i];
		nd->strs[2 * i] = strdup(segs[i].dev ? segs[i].dev : "");
		nd->strs[2 * i + 1] = strdup(segs[i].cow ? segs[i].cow : "");
		if (!nd->strs[2 * i] || !nd->strs[2 * i + 1]) {
			dev_free(nd);
			return -ENOMEM;
		}
		nd->segs[i].dev = nd->strs[2 * i];
		nd->segs[i].cow = nd->strs[2 * i + 1];
		if (segs[i].type != MODEL_T_ZERO && segs[i].type != MODEL_T_ERROR &&
		    !find_dev(m, segs[i].dev) && find_disk(m, segs[i].dev) < 0) {
			dev_free(nd);
			return -ENOENT;
		}
	}
	/* Stores first, while the old table (a handover source) is still attached. */
	for (unsigned i = 0; i < n; i++) {
		if (segs[i].type != MODEL_T_SNAPSHOT && segs[i].type != MODEL_T_MERGE)
			continue;
		if (segs[i].start != 0) {
			dev_free(nd);
			return -EINVAL;
		}
		r = store_for(m, &nd->segs[i], &nd->stores[i]);
		if (r) {
			dev_free(nd);
			return r;
		}
	}
	if (d) {
		for (unsigned i = 0; i < m->nr_devs; i++)
			if (m->devs[i] == d)
				m->devs[i] = nd;
		dev_free(d);
	} else if (PUSH(m->devs, m->nr_devs, m->cap_devs, nd)) {
		dev_free(nd);
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
	struct mdev *d = find_dev(m, name);

	if (!d)
		return -ENOENT;
	for (unsigned i = 0; i < m->nr_devs; i++)
		if (m->devs[i] == d) {
			m->devs[i] = m->devs[--m->nr_devs];
			break;
		}
	dev_free(d);
	return 0;
}

static struct mstore *dev_store(struct model *m, const char *dev, enum model_target_type *type)
{
	struct mdev *d = find_dev(m, dev);

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

		if (!os || view(m, &sl, &ss, &fixed, 0))
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

/* ---- reads ---- */

static void expect_add(struct model_expect *e, const struct model_content *c)
{
	for (unsigned i = 0; i < e->n; i++)
		if (c_eq(&e->c[i], c))
			return;
	e->n_total++;
	if (e->n < MODEL_EXPECT_MAX)
		e->c[e->n++] = *c;
}

static int expect_sector(struct model *m, const char *dev, model_sector_t sector,
			 struct model_expect *out, struct mstate **sp)
{
	struct loc l;
	struct mstate *s;
	struct model_content fixed;
	int r;

	memset(out, 0, sizeof(*out));
	*sp = NULL;
	r = resolve(m, dev, sector, &l, 0);
	if (r)
		return r;
	r = view(m, &l, &s, &fixed, 0);
	if (r == -EIO) {
		out->may_fail = true;
		return 0;
	}
	if (r)
		return r;
	out->may_fail = l.maybe_eio;
	out->may_succeed = true;
	*sp = s;
	if (!s) {
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

int model_read_expect(struct model *m, const char *dev, model_sector_t sector,
		      struct model_expect *out)
{
	struct mstate *s;

	return expect_sector(m, dev, sector, out, &s);
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

	for (uint32_t i = 0; i < nsectors; i++) {
		struct model_expect e;
		struct mstate *s;
		struct model_content found;
		bool ok = false;
		int r = expect_sector(m, dev, sector + i, &e, &s);

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
			if (c_eq(&e.c[j], &found))
				ok = true;
		if (!ok && e.n_total > e.n && s) {
			for (uint32_t j = 0; j < s->n; j++)
				if (c_eq(&s->v[j].c, &found))
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
					if (!c_eq(&s->v[j].c, &found))
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
	int i = find_disk(m, name);

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
		if (mmap_clone(&n->map, &s->map) || mmap_clone(&n->chunks, &s->chunks) ||
		    mmap_clone(&n->committed, &s->committed))
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
			dev_free(n);
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
		if (drefs_clone(m, c, &n->refs, h->refs, h->nr_refs))
			return -ENOMEM;
		n->nr_refs = n->cap_refs = h->nr_refs;
		if (h->nr_commits) {
			n->commits = malloc(h->nr_commits * sizeof(*n->commits));
			if (!n->commits)
				return -ENOMEM;
			for (size_t j = 0; j < h->nr_commits; j++) {
				n->commits[j].chunk = h->commits[j].chunk;
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
	return c;
}
