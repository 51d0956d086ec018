/*
 * cow_check.c - `cow check` (and the gate of `cow export`) over the
 * validator activation uses (core/cow_validate.h, through
 * cow_scan_validate()): its findings become the checker's, fatal ones
 * errors, and the checker adds notes (a new or invalidated store, how many
 * records are out of allocation order). The repair is planned elsewhere
 * (cow_repair.h).
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

/* Collect the records (opts.collect). */
static int check_record(void *vctx, uint64_t area, uint64_t slot,
			const struct cow_record *rec, const struct cow_vfinding *problem)
{
	struct check_ctx *c = vctx;
	struct cow_check_report *r = c->r;

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
	(void)area;
	(void)slot;
	(void)problem;
	return 0;
}

/* One validator finding as the checker's (place and byte offset, message). */
static void add_vfinding(struct check_ctx *c, const struct cow_vfinding *f)
{
	enum cow_severity sev = f->severity == COW_V_FATAL ? COW_ERROR : COW_WARNING;
	char msg[COW_FINDING_MSG_MAX];

	cow_vfinding_describe(f, msg, sizeof(msg));
	switch (f->place) {
	case COW_V_HEADER:
		if (f->problem == COW_P_SHORT_DEVICE)
			add_finding(c->r, sev, COW_AT_IMAGE, 0, 0, 0, "image is %llu bytes, %s",
				    (unsigned long long)c->s->size_bytes, msg);
		else
			add_finding(c->r, sev, COW_AT_HEADER, 0, 0, f->field_offset, "%s", msg);
		break;
	case COW_V_AREA:
		add_finding(c->r, sev, COW_AT_AREA, f->area, 0,
			    cow_scan_chunk_offset(c->s, f->value), "%s", msg);
		break;
	case COW_V_SLOT:
		add_finding(c->r, sev, COW_AT_SLOT, f->area, f->slot,
			    cow_scan_slot_offset(c->s, f->area, f->slot), "%s", msg);
		break;
	}
}

int cow_check_run(struct cow_scan *s, const struct cow_check_opts *opts,
		  struct cow_check_report *r, struct ss_error *err)
{
	struct check_ctx c = { .s = s, .opts = opts, .r = r };
	struct cow_validate_hooks hooks = { .on_record = check_record, .ctx = &c };
	struct cow_validation v;
	uint64_t kept_fatal = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = cow_scan_validate(s, opts->have_origin ? opts->origin_bytes : 0, false, &hooks,
				&v, &r->walk, err);
	if (ret < 0) {
		if (!err->code)
			ss_error_set(err, ret, 0, 0, "%s: out of memory while checking", s->path);
		cow_validation_free(&v);
		return ret;
	}
	r->empty = v.state == COW_STORE_NEW;
	r->invalid = v.state == COW_STORE_INVALID;
	r->header_ok = v.state == COW_STORE_VALID || r->invalid;
	if (r->header_ok && (ret = cow_scan_geometry(s, err)) < 0) {
		cow_validation_free(&v);
		return ret;
	}
	if (r->empty)
		add_finding(r, COW_NOTE, COW_AT_HEADER, 0, 0, 0,
			    "magic is 0: a new, empty store (activation creates it)");
	if (r->invalid)
		add_finding(r, COW_NOTE, COW_AT_HEADER, 0, 0, 4,
			    "store is marked invalid (valid = 0): the kernel "
			    "invalidated this snapshot; activation reads no records");
	for (size_t i = 0; i < v.nr_findings; i++) {
		add_vfinding(&c, &v.findings[i]);
		kept_fatal += v.findings[i].severity == COW_V_FATAL;
	}
	/* Findings the validator only counted still count. */
	r->nr_dropped += v.nr_dropped;
	r->nr_errors += v.nr_fatal - kept_fatal;
	r->nr_warnings += v.nr_warnings - (v.nr_findings - kept_fatal);
	if (v.order_deviations > 1)
		add_finding(r, COW_NOTE, COW_AT_IMAGE, 0, 0, 0,
			    "%llu records in all are out of allocation order",
			    (unsigned long long)v.order_deviations);
	cow_validation_free(&v);
	return 0;
}

void cow_check_report_free(struct cow_check_report *r)
{
	free(r->findings);
	free(r->pairs);
	r->findings = NULL;
	r->pairs = NULL;
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
