/*
 * cow_check.c - consistency checks of a persistent COW image (spec 2).
 *
 * Order: the header (short image, magic, version, valid flag, chunk size,
 * room for header + area 0), then one walk over the exception list as
 * activation reads it (spec 2.6), judging each record and each area. The
 * walk keeps two hash maps (new_chunk and old_chunk -> list index) to find
 * duplicates, so memory grows with the number of records, never with the
 * image size.
 *
 * Repair plan: the first record with an error ends the list there (its slot
 * and every later slot of its area become zeros, dropping that record and
 * all after it); without bad records, a dirty tail of the last area is
 * zeroed. Either way it is one area write.
 */
#include "cow_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

struct check_ctx {
	struct cow_scan *s;
	const struct cow_check_opts *opts;
	struct cow_check_report *r;
	uint64_t origin_chunks;
	struct cli_u64map by_new, by_old;
	bool have_bad;
	uint64_t first_bad;          /* list index of the first bad record */
	uint64_t first_bad_area, first_bad_slot;
	uint64_t order_deviations;
	bool have_tail;              /* the last area has a dirty tail */
	uint64_t tail_area, tail_from;
	size_t pairs_cap;
};

const char *cow_severity_name(enum cow_severity sev)
{
	switch (sev) {
	case COW_NOTE:
		return "note";
	case COW_WARNING:
		return "warning";
	case COW_ERROR:
		return "error";
	}
	return "?";
}

static void add_finding(struct cow_check_report *r, enum cow_severity sev,
			enum cow_place place, uint64_t area, uint64_t slot,
			uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void add_finding(struct cow_check_report *r, enum cow_severity sev,
			enum cow_place place, uint64_t area, uint64_t slot,
			uint64_t offset, const char *fmt, ...)
{
	struct cow_finding *f;
	va_list ap;

	if (sev == COW_ERROR)
		r->nr_errors++;
	else if (sev == COW_WARNING)
		r->nr_warnings++;
	else
		r->nr_notes++;
	if (r->nr_kept == COW_FINDINGS_KEPT) {
		r->nr_dropped++;
		return;
	}
	if (!r->findings) {
		r->findings = calloc(COW_FINDINGS_KEPT, sizeof(*r->findings));
		if (!r->findings) {
			r->nr_dropped++;
			return;
		}
	}
	f = &r->findings[r->nr_kept++];
	f->severity = sev;
	f->place = place;
	f->area = area;
	f->slot = slot;
	f->offset = offset;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

static void slot_where(const struct cow_scan *s, uint64_t index,
		       uint64_t *area, uint64_t *slot)
{
	*area = index / s->epa;
	*slot = index % s->epa;
}

/* Judge one record; see the file comment. */
static int check_record(void *vctx, const struct cow_area_info *ai,
			uint64_t slot, const struct cow_record *rec)
{
	struct check_ctx *c = vctx;
	struct cow_scan *s = c->s;
	struct cow_check_report *r = c->r;
	uint64_t index = ai->area * s->epa + slot;
	uint64_t off = cow_scan_slot_offset(s, ai->area, slot);
	unsigned long long o = (unsigned long long)rec->old_chunk;
	unsigned long long n = (unsigned long long)rec->new_chunk;
	uint64_t before = r->nr_errors;
	long long prev;

#define SLOT_ERROR(...) \
	add_finding(r, COW_ERROR, COW_AT_SLOT, ai->area, slot, off, __VA_ARGS__)

	if (c->opts->collect) {
		if (r->nr_pairs == c->pairs_cap) {
			size_t ncap = c->pairs_cap ? c->pairs_cap * 2 : 256;
			struct cow_pair *np = realloc(r->pairs, ncap * sizeof(*np));
			if (!np)
				return -ENOMEM;
			r->pairs = np;
			c->pairs_cap = ncap;
		}
		r->pairs[r->nr_pairs].old_chunk = rec->old_chunk;
		r->pairs[r->nr_pairs].new_chunk = rec->new_chunk;
		r->nr_pairs++;
	}

	/* new_chunk 0 (the header) cannot occur here: it ends the list. */
	if (rec->new_chunk >= s->dev_chunks) {
		SLOT_ERROR("new_chunk %llu is beyond the end of the image (%llu chunks)",
			   n, (unsigned long long)s->dev_chunks);
	} else if (cow_is_area_chunk(s->chunk_sectors, rec->new_chunk)) {
		SLOT_ERROR("new_chunk %llu points at metadata area %llu", n,
			   (unsigned long long)((rec->new_chunk - 1) / (s->epa + 1)));
	} else {
		prev = cli_u64map_put(&c->by_new, rec->new_chunk, index + 1);
		if (prev < 0)
			return (int)prev;
		if (prev > 0) {
			uint64_t pa, ps;
			slot_where(s, (uint64_t)prev - 1, &pa, &ps);
			SLOT_ERROR("duplicate new_chunk %llu: already used by area %llu slot %llu",
				   n, (unsigned long long)pa, (unsigned long long)ps);
		}
	}
	prev = cli_u64map_put(&c->by_old, rec->old_chunk, index + 1);
	if (prev < 0)
		return (int)prev;
	if (prev > 0) {
		uint64_t pa, ps;
		slot_where(s, (uint64_t)prev - 1, &pa, &ps);
		SLOT_ERROR("duplicate old_chunk %llu: already mapped by area %llu slot %llu",
			   o, (unsigned long long)pa, (unsigned long long)ps);
	}
	if (rec->old_chunk > cow_max_origin_chunk(s->chunk_sectors))
		SLOT_ERROR("old_chunk %llu is beyond any device (more than %llu chunks)",
			   o, (unsigned long long)cow_max_origin_chunk(s->chunk_sectors));
	else if (c->opts->have_origin && rec->old_chunk >= c->origin_chunks)
		SLOT_ERROR("old_chunk %llu is beyond the end of the origin (%llu chunks)",
			   o, (unsigned long long)c->origin_chunks);
#undef SLOT_ERROR

	if (r->nr_errors != before) {
		if (!c->have_bad) {
			c->have_bad = true;
			c->first_bad = index;
			c->first_bad_area = ai->area;
			c->first_bad_slot = slot;
		}
		return 0;
	}
	if (rec->new_chunk != ai->loc + 1 + slot) {
		if (!c->order_deviations)
			add_finding(r, COW_WARNING, COW_AT_SLOT, ai->area, slot, off,
				    "new_chunk %llu is out of allocation order "
				    "(expected %llu; inferred invariant, spec 2.5)",
				    n, (unsigned long long)(ai->loc + 1 + slot));
		c->order_deviations++;
	}
	return 0;
}

static int check_area(void *vctx, const struct cow_area_info *ai)
{
	struct check_ctx *c = vctx;

	if (ai->full || !ai->tail_dirty)
		return 0;
	c->have_tail = true;
	c->tail_area = ai->area;
	c->tail_from = ai->used;
	add_finding(c->r, COW_WARNING, COW_AT_SLOT, ai->area, ai->tail_first,
		    cow_scan_slot_offset(c->s, ai->area, ai->tail_first),
		    "torn or stale area tail: %llu non-zero slot(s) after the "
		    "end of the list (slot %llu)",
		    (unsigned long long)ai->tail_dirty,
		    (unsigned long long)ai->used);
	return 0;
}

/* Header checks. Returns true when the records can be walked. */
static bool check_header(struct cow_scan *s, struct cow_check_report *r)
{
	const struct cow_header *h = &s->hdr;
	struct ss_error gerr;

	if (s->header_short) {
		add_finding(r, COW_ERROR, COW_AT_IMAGE, 0, 0, 0,
			    "image is %llu bytes, smaller than one sector: no header",
			    (unsigned long long)s->size_bytes);
		return false;
	}
	if (h->magic == 0) {
		r->empty = true;
		add_finding(r, COW_NOTE, COW_AT_HEADER, 0, 0, 0,
			    "magic is 0: a new, empty store (activation creates it)");
		return false;
	}
	if (h->magic != COW_MAGIC) {
		add_finding(r, COW_ERROR, COW_AT_HEADER, 0, 0, 0,
			    "bad magic 0x%08x (expected 0x%08x \"SnAp\"); activation "
			    "refuses it (ENXIO)", h->magic, COW_MAGIC);
		return false;
	}
	if (h->version != COW_VERSION)
		add_finding(r, COW_ERROR, COW_AT_HEADER, 0, 0, 8,
			    "version %u is not supported (expected %u); activation "
			    "refuses it (EINVAL)", h->version, COW_VERSION);
	if (h->valid == 0) {
		r->invalid = true;
		add_finding(r, COW_NOTE, COW_AT_HEADER, 0, 0, 4,
			    "store is marked invalid (valid = 0): the kernel "
			    "invalidated this snapshot; activation reads no records");
	} else if (h->valid != 1) {
		add_finding(r, COW_NOTE, COW_AT_HEADER, 0, 0, 4,
			    "valid field is %u; any non-zero value counts as valid",
			    h->valid);
	}
	ss_error_clear(&gerr);
	if (cow_chunk_size_problem(h->chunk_sectors, 1)) {
		add_finding(r, COW_ERROR, COW_AT_HEADER, 0, 0, 12,
			    "chunk size %u: %s", h->chunk_sectors,
			    cow_chunk_size_problem(h->chunk_sectors, 1));
		return false;
	}
	if (((uint64_t)h->chunk_sectors << SECTOR_SHIFT) * 2 > s->size_bytes) {
		add_finding(r, COW_ERROR, COW_AT_HEADER, 0, 0, 12,
			    "chunk size %u sectors is too large for the image "
			    "(%llu bytes): the header and area 0 need 2 chunks",
			    h->chunk_sectors, (unsigned long long)s->size_bytes);
		return false;
	}
	return true;
}

int cow_check_run(struct cow_scan *s, const struct cow_check_opts *opts,
		  struct cow_check_report *r, struct ss_error *err)
{
	struct check_ctx c = { .s = s, .opts = opts, .r = r };
	int ret;

	memset(r, 0, sizeof(*r));
	if (!check_header(s, r))
		return 0;
	ret = cow_scan_geometry(s, err);
	if (ret < 0)
		return ret;
	r->header_ok = true;
	if (opts->have_origin) {
		uint64_t sectors = opts->origin_bytes >> SECTOR_SHIFT;
		c.origin_chunks = (sectors + s->chunk_sectors - 1) / s->chunk_sectors;
	}
	cli_u64map_init(&c.by_new);
	cli_u64map_init(&c.by_old);
	ret = cow_scan_walk(s, check_record, check_area, &c, &r->walk, err);
	cli_u64map_destroy(&c.by_new);
	cli_u64map_destroy(&c.by_old);
	if (ret == -ENOMEM && !err->code)
		ss_error_set(err, ret, 0, 0, "%s: out of memory while checking",
			     s->path);
	if (ret < 0)
		return ret;

	if (r->walk.area_missing) {
		uint64_t a = r->walk.missing_area;
		chunk_t loc = cow_area_loc(s->chunk_sectors, a);
		add_finding(r, COW_ERROR, COW_AT_AREA, a, 0,
			    cow_scan_chunk_offset(s, loc),
			    "area %llu (chunk %llu) lies beyond the end of the image "
			    "(%llu chunks) but area %llu before it is full; "
			    "activation fails reading it",
			    (unsigned long long)a, (unsigned long long)loc,
			    (unsigned long long)s->dev_chunks,
			    (unsigned long long)(a - 1));
	}
	if (c.order_deviations > 1)
		add_finding(r, COW_NOTE, COW_AT_IMAGE, 0, 0, 0,
			    "%llu records in all are out of allocation order",
			    (unsigned long long)c.order_deviations);

	if (c.have_bad) {
		r->repair_planned = true;
		r->repair_truncates = true;
		r->repair_area = c.first_bad_area;
		r->repair_slot = c.first_bad_slot;
		r->repair_dropped = r->walk.nr_records - c.first_bad;
	} else if (c.have_tail) {
		r->repair_planned = true;
		r->repair_area = c.tail_area;
		r->repair_slot = c.tail_from;
	}
	return 0;
}

void cow_check_report_free(struct cow_check_report *r)
{
	free(r->findings);
	free(r->pairs);
	r->findings = NULL;
	r->pairs = NULL;
}

int cow_check_repair(struct cow_scan *s, const struct cow_check_report *r,
		     struct ss_error *err)
{
	int ret;

	if (!r->repair_planned)
		return 0;
	ret = cow_scan_read_area(s, r->repair_area, err);
	if (ret == -ENOSPC)
		return ss_error_set(err, -EIO, 0, 0, "%s: area %llu vanished",
				    s->path, (unsigned long long)r->repair_area);
	if (ret < 0)
		return ret;
	memset(s->buf + r->repair_slot * COW_RECORD_BYTES, 0,
	       (s->epa - r->repair_slot) * COW_RECORD_BYTES);
	return cow_scan_write_area(s, r->repair_area, err);
}

void cow_finding_print(FILE *out, const char *path, const struct cow_finding *f)
{
	const char *sev = cow_severity_name(f->severity);

	switch (f->place) {
	case COW_AT_IMAGE:
		fprintf(out, "%s: %s: %s\n", path, sev, f->msg);
		break;
	case COW_AT_HEADER:
		fprintf(out, "%s: header (byte offset %llu): %s: %s\n", path,
			(unsigned long long)f->offset, sev, f->msg);
		break;
	case COW_AT_AREA:
		fprintf(out, "%s: area %llu (byte offset %llu): %s: %s\n", path,
			(unsigned long long)f->area,
			(unsigned long long)f->offset, sev, f->msg);
		break;
	case COW_AT_SLOT:
		fprintf(out, "%s: area %llu slot %llu (byte offset %llu): %s: %s\n",
			path, (unsigned long long)f->area,
			(unsigned long long)f->slot,
			(unsigned long long)f->offset, sev, f->msg);
		break;
	}
}
