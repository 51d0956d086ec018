/*
 * model_write.c - live writes: begin and end, origin preservation (copy on
 * the first write to a chunk), commits proven by acknowledged origin writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "pattern.h"

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
	struct loc ol;
	model_sector_t left = 0; /* sectors ol stays consecutive for, after x */
	int rr = 0;

	for (model_sector_t x = first; x < end; x++) {
		struct mstate *src, *dst;
		struct model_content fixed;
		struct loc at;

		/* The origin resolved once per run of the chunk (no table changes here). */
		if (left) {
			model_loc_advance(&ol, 1);
			left--;
		} else {
			rr = model_resolve_run(m, st->origin, x, &ol, 0, &left);
			left = rr ? 0 : left - 1;
		}
		if (rr || model_view_at(m, &ol, &src, &fixed, 0, &at) || !src)
			continue; /* never written: the copy is the initial content (implicit) */
		dst = mmap_put(&st->map, x, NULL);
		if (!dst)
			return -ENOMEM;
		/* An uncertain value (after a crash) ties the copy to its source:
		 * a pin of the source before the copy decides the copy. */
		dst->root = src->cur_known ? 0 : src->root ? src->root : model_loc_id(m, &at);
		for (uint32_t i = 0; i < src->n; i++) {
			struct mver v = src->v[i];

			if (v.st == MV_INFLIGHT)
				v.st = MV_MAYBE;
			v.copy = 1;
			if (mstate_push(dst, &v))
				return -ENOMEM;
			if (v.st == MV_ACKED)
				model_dirty_add(m, v.disk, &st->map, x, dst);
		}
		/* Mark the value the copy reads now (the newest matching version). */
		if (src->cur_known) {
			for (uint32_t i = dst->n; i-- > 0;)
				if (dst->v[i].st != MV_MAYBE && mc_eq(&dst->v[i].c, &src->cur)) {
					dst->v[i].copy = 2;
					break;
				}
		}
		dst->cur = src->cur;
		dst->cur_known = src->cur_known;
	}
	return 0;
}

enum alloc { ALLOC_OK, ALLOC_MAYBE, ALLOC_FULL };

struct unsure_walk {
	const struct mstore *st;
	uint64_t n;
};

static void count_unsure(void *ctx, uint64_t chunk, struct mstate *unused)
{
	struct unsure_walk *uw = ctx;

	(void)unused;
	if (!mmap_get(&uw->st->committed, chunk))
		uw->n++;
}

/*
 * Allocate a COW chunk in st: room for certain, none, or room only if a
 * power cut lost some of the records not yet proven (the restarted store
 * reused their chunks; the model cannot tell how many).
 */
static enum alloc store_alloc(struct mstore *st)
{
	struct unsure_walk uw = { st, 0 };

	if (st->used < st->cap)
		return ALLOC_OK;
	mmap_each(&st->unsure, count_unsure, &uw);
	return st->used - uw.n < st->cap ? ALLOC_MAYBE : ALLOC_FULL;
}

/* Room or not depends on what a power cut lost: valid or invalid now. */
static void alloc_maybe(struct mstore *st)
{
	if (st->state == MODEL_SNAP_VALID)
		st->state = MODEL_SNAP_MAYBE_INVALID;
}

/*
 * Whether the chunk about to be allocated in st fills an area whose next
 * area lies (even partly) beyond the COW's end: its commit zeroes that
 * area first, the write fails and the store goes invalid at that commit
 * (spec 2.8 step 5, 2.12; inferred there, and what Linux does). Only the
 * last data chunk of a COW that ends right after a full area's chunks.
 */
static bool alloc_is_fatal(const struct mstore *st)
{
	uint64_t epa = (uint64_t)st->cs * 512 / 16, next;

	if (!st->persistent || !st->cow_sectors || (st->used + 1) % epa)
		return false;
	next = 1 + (st->used + 1) / epa * (epa + 1); /* area_loc of the next area */
	return (next + 1) * st->cs > st->cow_sectors;
}

/* Snapshot writes in flight on st now may fail: st is invalid or its last
 * commit will fail, and a write whose exception is not committed yet is
 * failed with it (spec 4.4 failure; its record may share that batch). */
static void doom_writers(struct model *m, const struct mstore *st)
{
	for (unsigned i = 0; i < m->nr_handles; i++)
		if (m->handles[i]->snap == st)
			m->handles[i]->may_fail = true;
}

/* A commit of st's chunk the write h waits for; fatal: it invalidates st. */
static int commit_push(struct model *m, struct whandle *h, struct mstore *st, uint64_t chunk,
		       bool fatal)
{
	struct commit cm = { st, chunk, fatal };

	if (!h) {
		/* Nobody's write waits on it (a merge's copy-out): at once. */
		if (fatal)
			st->state = MODEL_SNAP_INVALID;
		return 0;
	}
	if (fatal) {
		st->doomed = true;
		st->doomed_chunk = chunk;
		doom_writers(m, st);
	}
	return PUSH(h->commits, h->nr_commits, h->cap_commits, cm);
}

/*
 * The origin-write procedure (spec 4.3) for a write of sector s of origin
 * `real`: every active valid snapshot of it (except `skip`) keeps the
 * current content of the chunk before the write may land.
 */
int model_origin_preserve(struct model *m, struct whandle *h, const char *real,
			   model_sector_t s, const struct mstore *skip)
{
	real = model_strip(real, "/dev/mapper/");
	for (unsigned i = 0; i < m->nr_stores; i++) {
		struct mstore *st = m->stores[i];
		uint64_t chunk;
		enum alloc a;
		bool fatal;
		int r;

		if (st == skip || st->dead || st->merging || strcmp(st->origin, real) ||
		    st->state == MODEL_SNAP_INVALID || s >= st->len)
			continue;
		chunk = s / st->cs;
		if (model_chunk_allocated(st, chunk))
			continue;
		a = store_alloc(st);
		if (a == ALLOC_FULL) {
			st->state = MODEL_SNAP_INVALID; /* origin write: no space invalidates */
			doom_writers(m, st);
			continue;
		}
		if (a == ALLOC_MAYBE)
			alloc_maybe(st);
		fatal = alloc_is_fatal(st);
		if ((r = copy_chunk(m, st, chunk)) || (r = commit_push(m, h, st, chunk, fatal)))
			return r;
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
	d = model_find_dev(m, name);
	if (!d) {
		di = model_find_disk(m, name);
		if (di < 0)
			return -ENOENT;
		if (s >= m->disks[di]->size)
			return -EIO;
		store_kill_if_cow(m, (uint32_t)di, s);
		return apply(h, &m->disks[di]->map, s, c, (uint32_t)di,
			     model_initial_content(m->disks[di], s));
	}
	sg = model_seg_of(d, s, &idx);
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
		if ((r = model_origin_preserve(m, h, sg->dev, s, NULL)))
			return r;
		return write_sector(m, h, sg->dev, s, c, depth + 1);
	case MODEL_T_SNAPSHOT: {
		struct mstore *st = d->stores[idx];
		uint64_t chunk;
		struct loc ol;
		struct model_content init = mc_zero();

		if (!st || st->dead || st->merging || st->state != MODEL_SNAP_VALID || st->overflow)
			return -EIO;
		chunk = s / st->cs;
		h->snap = st;
		if (st->doomed)
			h->may_fail = true; /* held on a chunk of the failing batch, or not */
		/* The write waits on the failing commit, which errors it. */
		if (st->doomed && chunk == st->doomed_chunk)
			return -EIO;
		if (!model_chunk_allocated(st, chunk)) {
			enum alloc a = store_alloc(st);
			bool fatal;

			if (a == ALLOC_FULL) {
				if (st->po) {
					st->overflow = true;
				} else {
					st->state = MODEL_SNAP_INVALID;
					doom_writers(m, st);
				}
				return -EIO;
			}
			if (a == ALLOC_MAYBE)
				h->may_fail = true; /* an EIO then says there was no room */
			fatal = alloc_is_fatal(st);
			if ((r = copy_chunk(m, st, chunk)) || (r = commit_push(m, h, st, chunk, fatal)))
				return r;
			if (fatal)
				return -EIO;
		}
		if (!model_resolve(m, st->origin, s, &ol, 0) && ol.kind == L_DISK)
			init = model_initial_content(m->disks[ol.disk], ol.abs);
		return apply(h, &st->map, s, c, st->cow_disk, init);
	}
	case MODEL_T_MERGE: {
		struct mstore *st = d->stores[idx];

		if ((r = model_origin_preserve(m, h, sg->dev, s, st)))
			return r;
		if (st && !st->dead && st->merging && model_chunk_allocated(st, s / st->cs)) {
			struct loc ol;
			struct model_content init = mc_zero();

			if (!model_resolve(m, st->origin, s, &ol, 0) && ol.kind == L_DISK)
				init = model_initial_content(m->disks[ol.disk], ol.abs);
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
	if (!model_find_dev(m, dev) && model_find_disk(m, dev) < 0)
		return -ENOENT;
	for (uint32_t i = 0; i < nsectors; i++) {
		int r = write_sector(m, h, dev, sector + i, model_data_content(d, i), 0);

		if (r == -ENOMEM || r == -ELOOP || r == -ENOENT)
			return r;
		if (r)
			status = -EIO;
	}
	return status;
}

bool model_write_may_fail(struct model *m, uint64_t id)
{
	struct whandle *h = find_handle(m, id, NULL);

	return h && h->may_fail;
}

void model_commit_chunk(struct mstore *st, uint64_t chunk)
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
		model_make_durable(s, (uint32_t)keep);
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
				model_make_durable(s, i);
			} else {
				v->st = MV_ACKED;
				v->seq = ++m->seq;
				model_dirty_add(m, v->disk, h->refs[r].map, h->refs[r].key, s);
			}
			break;
		}
	}
	/*
	 * An acknowledged origin write proves the records it waited for are
	 * durable, unless the store went invalid meanwhile: then the write was
	 * released by the invalidation (spec 4.4 failure), not by a commit.
	 */
	/* A snapshot write that could fail did: no room (spec 4.6 step 5). */
	if (status && h->may_fail && h->snap && h->snap->state == MODEL_SNAP_VALID) {
		if (h->snap->po)
			h->snap->overflow = true;
		else
			h->snap->state = MODEL_SNAP_INVALID;
	}
	for (size_t i = 0; i < h->nr_commits; i++)
		if (h->commits[i].fatal) {
			h->commits[i].s->doomed = false;
			h->commits[i].s->state = MODEL_SNAP_INVALID;
		}
	if (!status)
		for (size_t i = 0; i < h->nr_commits; i++) {
			struct mstore *st = h->commits[i].s;

			/* A doomed store's batch is never written (spec 2.8). */
			if (st->state != MODEL_SNAP_VALID || st->doomed)
				continue;
			model_commit_chunk(st, h->commits[i].chunk);
			mmap_put(&st->committed, h->commits[i].chunk, NULL);
		}
	model_handle_free(h);
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
