/*
 * model_resolve.c - where a read of device + sector is served from: a disk
 * sector, a snapshot store sector, zeroes or an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "pattern.h"

const struct model_segment *model_seg_of(const struct mdev *d, model_sector_t s, unsigned *idx)
{
	for (unsigned i = 0; i < d->n; i++)
		if (s >= d->segs[i].start && s < d->segs[i].start + d->segs[i].len) {
			*idx = i;
			return &d->segs[i];
		}
	return NULL;
}

bool model_chunk_allocated(const struct mstore *s, uint64_t chunk)
{
	return mmap_get(&s->chunks, chunk) != NULL;
}

static model_sector_t min_run(model_sector_t a, model_sector_t b)
{
	return a < b ? a : b;
}

/*
 * Where a read of name:s is served from (merge devices prefer the store),
 * and for how many sectors from s the answer stays the same location
 * advanced by one sector each (*run; at least 1): the sectors of one
 * segment at every level, of one chunk where a merge decides per chunk.
 */
int model_resolve_run(struct model *m, const char *name, model_sector_t s, struct loc *out,
		      int depth, model_sector_t *run)
{
	const struct model_segment *sg;
	struct mdev *d;
	unsigned idx;
	int di, r;
	model_sector_t seg_left;

	memset(out, 0, sizeof(*out));
	*run = 1;
	if (depth > MAX_DEPTH)
		return -ELOOP;
	d = model_find_dev(m, name);
	if (!d) {
		di = model_find_disk(m, name);
		if (di < 0)
			return -ENOENT;
		if (s >= m->disks[di]->size) {
			out->kind = L_EIO;
			return 0;
		}
		out->kind = L_DISK;
		out->disk = (uint32_t)di;
		out->abs = s;
		*run = m->disks[di]->size - s;
		return 0;
	}
	sg = model_seg_of(d, s, &idx);
	if (!sg) {
		out->kind = L_EIO;
		return 0;
	}
	seg_left = sg->start + sg->len - s;
	switch (sg->type) {
	case MODEL_T_LINEAR:
		r = model_resolve_run(m, sg->dev, sg->offset + (s - sg->start), out, depth + 1, run);
		*run = min_run(*run, seg_left);
		return r;
	case MODEL_T_ZERO:
		out->kind = L_ZERO;
		*run = seg_left;
		return 0;
	case MODEL_T_ERROR:
		out->kind = L_EIO;
		return 0;
	case MODEL_T_ORIGIN:
		r = model_resolve_run(m, sg->dev, s, out, depth + 1, run);
		*run = min_run(*run, seg_left);
		return r;
	case MODEL_T_SNAPSHOT: {
		struct mstore *st = d->stores[idx];

		if (!st || st->dead || st->merging || st->state == MODEL_SNAP_INVALID) {
			out->kind = L_EIO;
			return 0;
		}
		out->kind = L_STORE;
		out->st = st;
		out->ssec = s;
		out->maybe_eio = st->state == MODEL_SNAP_MAYBE_INVALID || st->doomed;
		*run = seg_left;
		return 0;
	}
	case MODEL_T_MERGE: {
		struct mstore *st = d->stores[idx];

		if (st && !st->dead && st->merging && model_chunk_allocated(st, s / st->cs)) {
			out->kind = L_STORE;
			out->st = st;
			out->ssec = s;
			*run = min_run(seg_left, (s / st->cs + 1) * st->cs - s);
			return 0;
		}
		r = model_resolve_run(m, sg->dev, s, out, depth + 1, run);
		*run = min_run(*run, seg_left);
		if (st && !st->dead && st->merging)
			*run = min_run(*run, (s / st->cs + 1) * st->cs - s);
		return r;
	}
	}
	out->kind = L_EIO;
	return 0;
}

int model_resolve(struct model *m, const char *name, model_sector_t s, struct loc *out,
		  int depth)
{
	model_sector_t run;

	return model_resolve_run(m, name, s, out, depth, &run);
}

/* The location run sectors on from l, within the run model_resolve_run gave. */
void model_loc_advance(struct loc *l, model_sector_t by)
{
	if (l->kind == L_DISK)
		l->abs += by;
	else if (l->kind == L_STORE)
		l->ssec += by;
}

/* The origin location of store sector ssec through the run's memo. */
static int memo_origin(struct model *m, const struct mstore *st, model_sector_t ssec, int depth,
		       struct model_view_memo *mm, struct loc *ol)
{
	if (mm->st != st || !mm->left || mm->next != ssec) {
		model_sector_t run;
		int r;

		mm->st = NULL;
		r = model_resolve_run(m, st->origin, ssec, &mm->ol, depth, &run);
		if (r)
			return r;
		mm->st = st;
		mm->next = ssec;
		mm->left = run;
	}
	*ol = mm->ol;
	mm->next++;
	mm->left--;
	model_loc_advance(&mm->ol, 1);
	return 0;
}

/* Whether chunk is allocated in st, through the run's memo. */
static bool memo_allocated(const struct mstore *st, uint64_t chunk, struct model_view_memo *mm)
{
	if (mm->cst != st || mm->chunk != chunk) {
		mm->cst = st;
		mm->chunk = chunk;
		mm->alloc = model_chunk_allocated(st, chunk);
	}
	return mm->alloc;
}

/*
 * Where a view's fixed content comes from when no state answers: the
 * initial content of a disk location (L_DISK), zeros (L_ZERO), or none
 * (L_EIO: a store sector's own state answered). Kept as a location so
 * that a run of reads can skip computing it (model_view_memo_src).
 */
struct model_content model_fixed_content(struct model *m, const struct loc *fs)
{
	return fs->kind == L_DISK ? model_initial_content(m->disks[fs->disk], fs->abs) : mc_zero();
}

static int view_at_src(struct model *m, const struct loc *l, struct mstate **sp, struct loc *fs,
		       int depth, struct loc *at, struct model_view_memo *mm);

/*
 * A store sector's view: its own state, else the origin's (shared) unless
 * its chunk was copied, in which case the origin's initial content. mm: a
 * memo for the next sector of a run (NULL: none).
 */
static int view_store(struct model *m, const struct loc *l, struct mstate **sp,
		      struct loc *fs, int depth, struct loc *at, struct model_view_memo *mm)
{
	const struct mstore *st = l->st;
	uint64_t chunk = l->ssec / st->cs;
	struct loc ol;
	bool alloc;
	int r;

	*sp = mmap_get(&st->map, l->ssec);
	if (*sp) {
		if (at)
			*at = *l;
		return 0;
	}
	if (depth > MAX_DEPTH)
		return -ELOOP;
	if (mm) {
		r = memo_origin(m, st, l->ssec, depth + 1, mm, &ol);
		alloc = !r && memo_allocated(st, chunk, mm);
	} else {
		r = model_resolve(m, st->origin, l->ssec, &ol, depth + 1);
		alloc = !r && model_chunk_allocated(st, chunk);
	}
	if (r)
		return r;
	if (alloc) {
		if (ol.kind == L_DISK)
			*fs = ol;
		else
			fs->kind = L_ZERO;
		return 0;
	}
	return view_at_src(m, &ol, sp, fs, depth + 1, at, NULL);
}

static int view_at_src(struct model *m, const struct loc *l, struct mstate **sp, struct loc *fs,
		       int depth, struct loc *at, struct model_view_memo *mm)
{
	*sp = NULL;
	fs->kind = L_EIO;
	switch (l->kind) {
	case L_DISK:
		*sp = mmap_get(&m->disks[l->disk]->map, l->abs);
		*fs = *l;
		if (at)
			*at = *l;
		return 0;
	case L_ZERO:
		fs->kind = L_ZERO;
		return 0;
	case L_EIO:
		return -EIO;
	case L_STORE:
		return view_store(m, l, sp, fs, depth, at, mm);
	}
	return -EIO;
}

/*
 * The state a location reads from: a state (*sp) or, for a sector nobody
 * wrote, its fixed initial content (*fixed). Store sectors not in the
 * store's map read the origin (shared) unless their chunk was copied, in
 * which case they read the origin's initial content.
 */
int model_view_at(struct model *m, const struct loc *l, struct mstate **sp,
		  struct model_content *fixed, int depth, struct loc *at)
{
	struct loc fs;
	int r = view_at_src(m, l, sp, &fs, depth, at, NULL);

	if (!r && fs.kind != L_EIO)
		*fixed = model_fixed_content(m, &fs);
	return r;
}

int model_view_memo_src(struct model *m, const struct loc *l, struct mstate **sp,
			struct loc *fs, struct loc *at, struct model_view_memo *mm)
{
	return view_at_src(m, l, sp, fs, 0, at, mm);
}

int model_view(struct model *m, const struct loc *l, struct mstate **sp,
		struct model_content *fixed, int depth)
{
	return model_view_at(m, l, sp, fixed, depth, NULL);
}

uint64_t model_loc_id(const struct model *m, const struct loc *l)
{
	uint64_t idx = 0;

	if (l->kind == L_DISK)
		return (1ull << 62) | ((uint64_t)l->disk << 48) | (l->abs & ((1ull << 48) - 1));
	for (unsigned i = 0; i < m->nr_stores; i++)
		if (m->stores[i] == l->st)
			idx = i;
	return (2ull << 62) | (idx << 48) | (l->ssec & ((1ull << 48) - 1));
}
