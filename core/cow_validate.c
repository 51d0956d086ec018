/*
 * cow_validate.c - the validator of persistent COW stores; see
 * cow_validate.h.
 *
 * Duplicate detection: by_old (old -> new) holds every record whose COW
 * chunk is a data chunk in range. Duplicate COW chunks need no table while
 * the COW chunks read so far are strictly increasing (the store allocates
 * them in increasing order, so a healthy store is read that way): by_new is
 * filled only from the first record that breaks the order on, with every
 * COW chunk seen before it. This halves the work of activating a healthy
 * store and finds exactly what a table from the start would. The earlier
 * record of a duplicate is located by reading the areas again, only for a
 * finding that is kept (duplicates are rare and always fatal).
 *
 * A duplicate is reported at the later record, naming the earlier one:
 * spec 2.6 step 10, Linux loads both and its table resolves the chunk to
 * the first one found in the hash bucket (spec 5).
 */
#include "cow_validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct walk {
	struct cow_validation *v;
	const struct cow_validate_opts *o;
	cow_read_fn *read;
	void *rctx;
	const struct cow_validate_hooks *h;
	uint64_t origin_chunks;     /* 0: unknown */
	size_t max, cap;
	bool stop;                  /* stop_at_fatal and a fatal finding */
	struct cow_vfinding spare;  /* where findings past max go */
};

static enum cow_vseverity severity_of(enum cow_problem p)
{
	return p == COW_P_VALID_VALUE || p == COW_P_ORDER || p == COW_P_TAIL_DIRTY
		? COW_V_WARNING : COW_V_FATAL;
}

static bool is_kept(const struct walk *w, const struct cow_vfinding *f)
{
	return f != &w->spare;
}

/* A new finding, kept when there is room; always a writable record. */
static struct cow_vfinding *add(struct walk *w, enum cow_problem p, enum cow_vplace place)
{
	struct cow_validation *v = w->v;
	struct cow_vfinding *f = &w->spare;

	if (severity_of(p) == COW_V_FATAL) {
		v->nr_fatal++;
		w->stop = w->o->stop_at_fatal;
	} else {
		v->nr_warnings++;
	}
	if (v->nr_findings == w->cap && w->cap < w->max) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct cow_vfinding *nf;

		if (cap > w->max)
			cap = w->max;
		nf = realloc(v->findings, cap * sizeof(*nf));
		if (nf) {
			v->findings = nf;
			w->cap = cap;
		}
	}
	if (v->nr_findings < w->cap)
		f = &v->findings[v->nr_findings++];
	else
		v->nr_dropped++;
	memset(f, 0, sizeof(*f));
	f->problem = p;
	f->severity = severity_of(p);
	f->place = place;
	return f;
}

static struct cow_vfinding *add_header(struct walk *w, enum cow_problem p,
				       uint32_t offset, uint64_t value)
{
	struct cow_vfinding *f = add(w, p, COW_V_HEADER);

	f->field_offset = offset;
	f->value = value;
	return f;
}

static struct cow_vfinding *add_slot(struct walk *w, enum cow_problem p, uint64_t area,
				     uint64_t slot, const struct cow_record *rec, uint64_t limit)
{
	struct cow_vfinding *f = add(w, p, COW_V_SLOT);

	f->area = area;
	f->slot = slot;
	f->rec = *rec;
	f->limit = limit;
	return f;
}

/* Header checks (spec 2.2, 2.6 steps 2-7). 0 or a read error. */
static int check_header(struct walk *w)
{
	struct cow_validation *v = w->v;
	const struct cow_validate_opts *o = w->o;
	uint32_t n = o->header_sectors ? o->header_sectors : 1;
	const char *problem;
	uint8_t *buf;
	int r;

	v->state = COW_STORE_UNREADABLE;
	if (o->dev_sectors == 0) {
		add_header(w, COW_P_SHORT_DEVICE, 0, 0);
		return 0;
	}
	if (n > o->dev_sectors)
		n = (uint32_t)o->dev_sectors; /* the header is 16 bytes */
	buf = malloc((size_t)n << SECTOR_SHIFT);
	if (!buf)
		return -ENOMEM;
	r = w->read(w->rctx, 0, n, buf);
	if (!r)
		cow_header_decode(buf, &v->hdr);
	free(buf);
	if (r)
		return r;
	if (v->hdr.magic == 0) {
		v->state = COW_STORE_NEW;
		return 0;
	}
	if (v->hdr.magic != COW_MAGIC) {
		add_header(w, COW_P_BAD_MAGIC, 0, v->hdr.magic);
		return 0;
	}
	/* Linux's order: the chunk size (step 5), then the version (step 6). */
	problem = cow_chunk_size_problem(v->hdr.chunk_sectors, o->block_sectors);
	if (problem)
		add_header(w, COW_P_BAD_CHUNK_SIZE, 12, v->hdr.chunk_sectors);
	if (v->hdr.version != COW_VERSION && !w->stop)
		add_header(w, COW_P_BAD_VERSION, 8, v->hdr.version);
	if (v->nr_fatal)
		return 0;
	if (v->hdr.valid > 1)
		add_header(w, COW_P_VALID_VALUE, 4, v->hdr.valid);
	v->chunk_sectors = v->hdr.chunk_sectors;
	v->epa = cow_epa(v->chunk_sectors);
	v->dev_chunks = o->dev_sectors / v->chunk_sectors;
	v->current_area = v->current_committed = 0;
	v->next_free = 2;
	v->state = v->hdr.valid ? COW_STORE_VALID : COW_STORE_INVALID;
	/* An invalidated store's areas are not read (step 7), so not judged. */
	if (v->state == COW_STORE_INVALID && !o->walk_invalid)
		return 0;
	if (v->dev_chunks < 2) {
		add_header(w, COW_P_CHUNK_SIZE_DEVICE, 12, v->chunk_sectors);
		if (v->state == COW_STORE_VALID)
			v->state = COW_STORE_UNREADABLE;
	}
	return 0;
}

/*
 * Locate the earlier record (before slot i of area n) whose COW chunk
 * (by_new) or origin chunk equals key. Areas before n are read again.
 */
static void locate_earlier(struct walk *w, struct cow_vfinding *f, bool by_new,
			   uint64_t key, uint64_t n, uint64_t i)
{
	struct cow_validation *v = w->v;
	size_t bytes = (size_t)v->chunk_sectors << SECTOR_SHIFT;

	if (!v->scratch && !(v->scratch = malloc(bytes)))
		return;
	for (uint64_t k = 0; k <= n; k++) {
		const uint8_t *buf = v->area;
		uint64_t end = k == n ? i : v->epa;

		if (k < n) {
			if (w->read(w->rctx, cow_area_loc(v->chunk_sectors, k) * v->chunk_sectors,
				    v->chunk_sectors, v->scratch))
				return;
			buf = v->scratch;
		}
		for (uint64_t s = 0; s < end; s++) {
			struct cow_record r;

			cow_area_get(buf, s, &r);
			if (r.new_chunk == 0)
				break;
			if ((by_new ? r.new_chunk : r.old_chunk) == key) {
				f->has_other = true;
				f->other_area = k;
				f->other_slot = s;
				return;
			}
		}
	}
}

static int fill_new(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	(void)old_chunk;
	return extable_insert(ctx, new_chunk, new_chunk);
}

/* Judge the record in slot i of area n (spec 2.6 step 8, hardened). */
static int judge(struct walk *w, uint64_t n, uint64_t i, const struct cow_record *rec,
		 struct cow_vfinding **first)
{
	struct cow_validation *v = w->v;
	uint32_t cs = v->chunk_sectors;
	uint64_t fatal = v->nr_fatal;
	struct cow_vfinding *f = NULL;
	bool new_ok = false, old_ok = true;
	int r;

	*first = NULL;
	/* new_chunk 0 (the header) cannot occur here: it ends the list. */
	if (rec->new_chunk >= v->dev_chunks)
		f = add_slot(w, COW_P_NEW_BEYOND_DEVICE, n, i, rec, v->dev_chunks);
	else if (cow_is_area_chunk(cs, rec->new_chunk))
		f = add_slot(w, COW_P_NEW_METADATA, n, i, rec,
			     (rec->new_chunk - 1) / (v->epa + 1));
	else
		new_ok = true;
	*first = f;
	if (w->stop)
		return 0;
	if (rec->old_chunk > cow_max_origin_chunk(cs)) {
		f = add_slot(w, COW_P_OLD_BEYOND_ANY, n, i, rec, cow_max_origin_chunk(cs));
		old_ok = false;
	} else if (w->origin_chunks && rec->old_chunk >= w->origin_chunks) {
		f = add_slot(w, COW_P_OLD_BEYOND_ORIGIN, n, i, rec, w->origin_chunks);
	}
	if (!*first)
		*first = f;
	if (w->stop)
		return 0;
	if (new_ok) {
		if (!v->by_new_used && rec->new_chunk <= v->last_new) {
			/* Out of order: from here on, check against every chunk seen. */
			r = extable_foreach(&v->by_old, fill_new, &v->by_new);
			if (r)
				return r; /* not -EEXIST: the chunks were increasing */
			v->by_new_used = true;
		}
		v->last_new = rec->new_chunk;
		r = v->by_new_used ? extable_insert(&v->by_new, rec->new_chunk, rec->new_chunk) : 0;
		if (r == -EEXIST) {
			f = add_slot(w, COW_P_NEW_DUPLICATE, n, i, rec, 0);
			if (is_kept(w, f))
				locate_earlier(w, f, true, rec->new_chunk, n, i);
			if (!*first)
				*first = f;
			if (w->stop)
				return 0;
		} else if (r) {
			return r;
		}
	}
	if (new_ok && old_ok) {
		r = extable_insert(&v->by_old, rec->old_chunk, rec->new_chunk);
		if (r == -EEXIST) {
			f = add_slot(w, COW_P_OLD_DUPLICATE, n, i, rec, 0);
			if (is_kept(w, f))
				locate_earlier(w, f, false, rec->old_chunk, n, i);
			if (!*first)
				*first = f;
			if (w->stop)
				return 0;
		} else if (r) {
			return r;
		}
	}
	/* Inferred invariant (spec 2.5): slot i of area n names chunk loc + 1 + i. */
	if (v->nr_fatal == fatal &&
	    rec->new_chunk != cow_area_loc(cs, n) + 1 + i && !v->order_deviations++) {
		f = add_slot(w, COW_P_ORDER, n, i, rec, cow_area_loc(cs, n) + 1 + i);
		if (!*first)
			*first = f;
	}
	return 0;
}

/* Non-zero slots after the terminator in slot `from - 1` (a torn or stale tail). */
static void scan_tail(struct walk *w, struct cow_area_summary *a)
{
	static const uint8_t zero[COW_RECORD_BYTES];
	struct cow_validation *v = w->v;

	for (uint64_t s = a->used + 1; s < v->epa; s++) {
		if (!memcmp(v->area + s * COW_RECORD_BYTES, zero, COW_RECORD_BYTES))
			continue;
		if (!a->tail_dirty)
			a->tail_first = s;
		a->tail_dirty++;
	}
	if (a->tail_dirty) {
		struct cow_vfinding *f = add(w, COW_P_TAIL_DIRTY, COW_V_SLOT);

		f->area = a->area;
		f->slot = a->tail_first;
		f->value = a->used;
		f->limit = a->tail_dirty;
	}
}

/* Spec 2.6 steps 8-9: the areas in turn until one is not full. */
static int walk_areas(struct walk *w)
{
	struct cow_validation *v = w->v;
	uint32_t cs = v->chunk_sectors;
	int r;

	v->area = malloc((size_t)cs << SECTOR_SHIFT);
	if (!v->area)
		return -ENOMEM;
	for (uint64_t n = 0;; n++) {
		struct cow_area_summary a = { .area = n, .loc = cow_area_loc(cs, n) };

		if (a.loc >= v->dev_chunks) {
			struct cow_vfinding *f = add(w, COW_P_AREA_MISSING, COW_V_AREA);

			f->area = n;
			f->value = a.loc;
			f->limit = v->dev_chunks;
			v->area_missing = true;
			v->current_area = n;
			v->current_committed = 0;
			break;
		}
		r = w->read(w->rctx, a.loc * cs, cs, v->area);
		if (r) {
			v->failed_area = n;
			v->failed_chunk = a.loc;
			return r;
		}
		v->nr_areas++;
		for (; a.used < v->epa; a.used++) {
			struct cow_vfinding *first;
			struct cow_record rec;

			cow_area_get(v->area, a.used, &rec);
			if (rec.new_chunk == 0)
				break;
			v->nr_records++;
			if (rec.new_chunk >= v->next_free)
				v->next_free = rec.new_chunk == UINT64_MAX ? UINT64_MAX
									   : rec.new_chunk + 1;
			r = judge(w, n, a.used, &rec, &first);
			if (!r && w->h && w->h->on_record)
				r = w->h->on_record(w->h->ctx, n, a.used, &rec, first);
			if (r)
				return r;
			if (w->stop)
				return 0;
		}
		a.full = a.used == v->epa;
		if (!a.full)
			scan_tail(w, &a);
		if (w->h && w->h->on_area && (r = w->h->on_area(w->h->ctx, &a)))
			return r;
		if (!a.full) {
			v->current_area = n;
			v->current_committed = a.used;
			break;
		}
	}
	if (cow_is_area_chunk(cs, v->next_free))
		v->next_free++;
	return 0;
}

int cow_validate(struct cow_validation *v, const struct cow_validate_opts *opts,
		 cow_read_fn *read, void *read_ctx, const struct cow_validate_hooks *hooks)
{
	struct walk w = {
		.v = v, .o = opts, .read = read, .rctx = read_ctx, .h = hooks,
		.max = opts->max_findings ? opts->max_findings : COW_V_FINDINGS_KEPT,
	};
	int r;

	memset(v, 0, sizeof(*v));
	r = check_header(&w);
	if (r || w.stop || (v->state != COW_STORE_VALID &&
			    !(v->state == COW_STORE_INVALID && opts->walk_invalid && v->dev_chunks >= 2)))
		return r;
	if (opts->origin_sectors)
		w.origin_chunks = (opts->origin_sectors + v->chunk_sectors - 1) / v->chunk_sectors;
	r = extable_init(&v->by_old, v->dev_chunks);
	if (r)
		return r;
	r = extable_init(&v->by_new, v->dev_chunks);
	if (r) {
		extable_destroy(&v->by_old);
		return r;
	}
	v->tables = true;
	return walk_areas(&w);
}

void cow_validation_free(struct cow_validation *v)
{
	if (v->tables) {
		extable_destroy(&v->by_old);
		extable_destroy(&v->by_new);
		v->tables = false;
	}
	free(v->findings);   /* add */
	free(v->area);       /* walk_areas */
	free(v->scratch);    /* locate_earlier */
	v->findings = NULL;
	v->area = v->scratch = NULL;
	v->nr_findings = 0;
}

int cow_validation_foreach(const struct cow_validation *v, extable_visit_fn *fn, void *ctx)
{
	return v->tables ? extable_foreach(&v->by_old, fn, ctx) : 0;
}

const struct cow_vfinding *cow_validation_first_fatal(const struct cow_validation *v)
{
	for (size_t i = 0; i < v->nr_findings; i++)
		if (v->findings[i].severity == COW_V_FATAL)
			return &v->findings[i];
	return NULL;
}

int cow_problem_errno(enum cow_problem p)
{
	switch (p) {
	case COW_P_SHORT_DEVICE:
		return -EIO;    /* the header cannot be read */
	case COW_P_BAD_MAGIC:
		return -ENXIO;  /* spec 2.6 step 4 */
	default:
		return -EINVAL;
	}
}

char *cow_vfinding_describe(const struct cow_vfinding *f, char *buf, size_t len)
{
	unsigned long long o = f->rec.old_chunk, n = f->rec.new_chunk;
	unsigned long long lim = f->limit, val = f->value;

	switch (f->problem) {
	case COW_P_SHORT_DEVICE:
		snprintf(buf, len, "the COW is smaller than one sector: no header");
		break;
	case COW_P_BAD_MAGIC:
		snprintf(buf, len, "bad magic 0x%08llx (expected 0x%08x \"SnAp\"): not a snapshot store",
			 val, COW_MAGIC);
		break;
	case COW_P_BAD_CHUNK_SIZE:
		snprintf(buf, len, "chunk size %llu: %s", val,
			 cow_chunk_size_problem(val, 0) ? cow_chunk_size_problem(val, 0)
						       : "Chunk size is not a multiple of device blocksize");
		break;
	case COW_P_BAD_VERSION:
		snprintf(buf, len, "version %llu is not supported (expected %u)", val, COW_VERSION);
		break;
	case COW_P_VALID_VALUE:
		snprintf(buf, len, "valid field is %llu; any non-zero value counts as valid", val);
		break;
	case COW_P_CHUNK_SIZE_DEVICE:
		snprintf(buf, len, "chunk size %llu sectors is too large for the COW: the header and area 0 need 2 chunks",
			 val);
		break;
	case COW_P_AREA_MISSING:
		snprintf(buf, len, "area %llu (chunk %llu) lies beyond the end of the COW (%llu chunks) but area %llu before it is full",
			 (unsigned long long)f->area, val, lim, (unsigned long long)f->area - 1);
		break;
	case COW_P_NEW_BEYOND_DEVICE:
		snprintf(buf, len, "new_chunk %llu is beyond the end of the COW (%llu chunks)", n, lim);
		break;
	case COW_P_NEW_METADATA:
		snprintf(buf, len, "new_chunk %llu points at metadata area %llu", n, lim);
		break;
	case COW_P_NEW_DUPLICATE:
	case COW_P_OLD_DUPLICATE: {
		bool nw = f->problem == COW_P_NEW_DUPLICATE;
		char other[64] = "an earlier record";

		if (f->has_other)
			snprintf(other, sizeof(other), "area %llu slot %llu",
				 (unsigned long long)f->other_area, (unsigned long long)f->other_slot);
		snprintf(buf, len, "duplicate %s %llu: already %s by %s", nw ? "new_chunk" : "old_chunk",
			 nw ? n : o, nw ? "used" : "mapped", other);
		break;
	}
	case COW_P_OLD_BEYOND_ANY:
		snprintf(buf, len, "old_chunk %llu is beyond any device (more than %llu chunks)", o, lim);
		break;
	case COW_P_OLD_BEYOND_ORIGIN:
		snprintf(buf, len, "old_chunk %llu is beyond the end of the origin (%llu chunks)", o, lim);
		break;
	case COW_P_ORDER:
		snprintf(buf, len, "new_chunk %llu is out of allocation order (expected %llu; inferred invariant, spec 2.5)",
			 n, lim);
		break;
	case COW_P_TAIL_DIRTY:
		snprintf(buf, len, "torn or stale area tail: %llu non-zero slot(s) after the end of the list (slot %llu)",
			 lim, val);
		break;
	default:
		snprintf(buf, len, "unknown problem %d", (int)f->problem);
		break;
	}
	return buf;
}
