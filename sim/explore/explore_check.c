/*
 * explore_check.c - check one crashed state (explore.h, step 4).
 *
 * Order of the checks, each one stopping the state at its first failure:
 *   1. the store invariants, judged from the crashed COW images alone by
 *      the validator activation and `cow check` use (cow_validate.h), so
 *      the three cannot disagree on what a valid store is;
 *   2. restart: every table must activate again;
 *   3. the free-chunk pointer of each recovered persistent store (from its
 *      status line) lies beyond every recorded chunk;
 *   4. every device reads what the model allows (replay_world_check_all,
 *      which skips what holds a COW: replay_world_cow_holders);
 *   5. more I/O: one write per chunk of every origin, then check_all again.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cow_format.h"
#include "cow_validate.h"
#include "dm.h"
#include "explore.h"
#include "hash.h"
#include "model.h"
#include "replay.h"
#include "replay_rec.h"

#define EXPLORE_SNAP_MAX 32

/* A snapshot (or snapshot-merge) segment of a live table. */
struct explore_snap {
	char dev[128];
	char cow_dev[128];      /* the COW's dm device, "" when a disk */
	bool persistent;
	uint32_t cs;           /* table chunk size */
	uint64_t origin_sectors; /* the origin device's size (0: unresolved) */
	int disk;              /* COW's disk, -1 unresolved */
	uint64_t cow_offset;   /* sectors on that disk */
	uint64_t cow_sectors;
	uint64_t max_new;      /* highest recorded COW chunk (0: none) */
	uint64_t records;
	bool decoded;
	bool bad_header;       /* the durable first sector is not a store header */
	bool never_created;    /* ... and holds what the COW's preparer left there */
	uint8_t hdr[512];      /* that sector */
	char bad_msg[200];
};

static void add_evidence(struct explore_state_result *out, const char *dev, uint64_t sector,
			 uint32_t nsectors, const char *expected, const char *found,
			 const char *msg)
{
	struct explore_evidence *e;

	if (out->nr_evidence >= EXPLORE_MAX_EVIDENCE)
		return;
	e = &out->evidence[out->nr_evidence++];
	snprintf(e->device, sizeof(e->device), "%.127s", dev ? dev : "");
	e->sector = sector;
	e->nsectors = nsectors;
	snprintf(e->expected, sizeof(e->expected), "%.255s", expected ? expected : "");
	snprintf(e->found, sizeof(e->found), "%.255s", found ? found : "");
	snprintf(e->message, sizeof(e->message), "%.511s", msg ? msg : "");
}

static enum explore_verdict fail(struct explore_state_result *out, enum explore_verdict v,
				 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum explore_verdict fail(struct explore_state_result *out, enum explore_verdict v,
				 const char *fmt, ...)
{
	va_list ap;

	if (out->verdict == EXPLORE_OK) {
		out->verdict = v;
		va_start(ap, fmt);
		vsnprintf(out->message, sizeof(out->message), fmt, ap);
		va_end(ap);
	}
	return out->verdict;
}

/* "/dev/NAME", "/dev/mapper/NAME" or NAME: the last path component. */
static const char *base_name(const char *s)
{
	const char *p = strrchr(s, '/');

	return p ? p + 1 : s;
}

/* The disk a table argument names, or -1. */
static int find_disk(struct replay_world *w, const char *arg)
{
	for (unsigned i = 0; i < replay_world_nr_disks(w); i++) {
		if (!strcmp(arg, replay_world_disk_path(w, i)) ||
		    !strcmp(arg, replay_world_disk_name(w, i)))
			return (int)i;
	}
	return -1;
}

/* The dm device (index in replay_world_dev_*) a table argument names, or -1. */
static int find_dev(struct replay_world *w, const char *arg)
{
	struct dm_registry *reg = replay_world_registry(w);
	unsigned maj, min;

	for (unsigned i = 0; i < replay_world_nr_devs(w); i++) {
		const char *name = replay_world_dev_name(w, i);

		if (!strcmp(base_name(arg), name) &&
		    (arg == base_name(arg) || !strncmp(arg, "/dev/mapper/", 12)))
			return (int)i;
		if (sscanf(arg, "%u:%u", &maj, &min) == 2) {
			struct dm_device *md = dm_find_device(reg, name);

			if (md && dm_device_minor(md) == min)
				return (int)i;
		}
	}
	return -1;
}

/* Resolve a COW argument to (disk, offset, size): a disk, or a one-segment linear dm device. */
static void resolve_cow(struct replay_world *w, const char *arg, struct explore_snap *s)
{
	int d = find_disk(w, arg), dev;
	unsigned long long start, len, off;
	char type[32], tdev[256];

	s->disk = -1;
	if (d >= 0) {
		s->disk = d;
		s->cow_offset = 0;
		s->cow_sectors = sim_disk_config(replay_world_disk(w, (unsigned)d))->size_sectors;
		return;
	}
	dev = find_dev(w, arg);
	if (dev < 0)
		return;
	snprintf(s->cow_dev, sizeof(s->cow_dev), "%s", replay_world_dev_name(w, (unsigned)dev));
	if (sscanf(replay_world_dev_table(w, (unsigned)dev), "%llu %llu %31s %255s %llu",
		   &start, &len, type, tdev, &off) != 5 || start != 0 || strcmp(type, "linear") ||
	    strchr(replay_world_dev_table(w, (unsigned)dev), '\n'))
		return;
	d = find_disk(w, tdev);
	if (d < 0)
		return;
	s->disk = d;
	s->cow_offset = off;
	s->cow_sectors = len;
}

/* The size of the device a table argument names (a disk or a dm device), 0 if unknown. */
static uint64_t device_sectors(struct replay_world *w, const char *arg)
{
	int d = find_disk(w, arg), dev;
	struct dm_device *md;

	if (d >= 0)
		return sim_disk_config(replay_world_disk(w, (unsigned)d))->size_sectors;
	dev = find_dev(w, arg);
	md = dev < 0 ? NULL : dm_find_device(replay_world_registry(w),
					     replay_world_dev_name(w, (unsigned)dev));
	return md ? dm_device_bdev(md)->size_sectors : 0;
}

/* Every snapshot / snapshot-merge segment of the paused world's live tables. */
static unsigned find_snaps(struct replay_world *w, struct explore_snap *snaps, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < replay_world_nr_devs(w) && n < max; i++) {
		const char *t = replay_world_dev_table(w, i);

		while (t && *t && n < max) {
			unsigned long long start, len, cs;
			char type[32], origin[256], cow[256], ps[8];
			const char *nl = strchr(t, '\n');

			if (sscanf(t, "%llu %llu %31s %255s %255s %7s %llu", &start, &len, type,
				   origin, cow, ps, &cs) == 7 &&
			    (!strcmp(type, "snapshot") || !strcmp(type, "snapshot-merge"))) {
				struct explore_snap *s = &snaps[n++];

				memset(s, 0, sizeof(*s));
				snprintf(s->dev, sizeof(s->dev), "%s", replay_world_dev_name(w, i));
				s->persistent = ps[0] == 'P' || ps[0] == 'p';
				s->cs = (uint32_t)cs;
				s->origin_sectors = device_sectors(w, origin);
				resolve_cow(w, cow, s);
			}
			t = nl ? nl + 1 : NULL;
		}
	}
	return n;
}

struct decode_ctx {
	struct explore_snap *s;
	struct sim_disk *disk;
	explore_exception_fn *on_exc;
	void *exc_ctx;
	struct explore_state_result *out;
	uint32_t cs;
	struct replay_rec *rec;  /* what decoding reads is control (NULL: not recording) */
};

static int decode_read(void *ctx, uint64_t sector, uint32_t nr_sectors, uint8_t *buf)
{
	struct decode_ctx *dc = ctx;

	if (dc->rec)
		replay_rec_control(dc->rec, (unsigned)dc->s->disk, dc->s->cow_offset + sector,
				   nr_sectors);
	return sim_disk_read_durable(dc->disk, dc->s->cow_offset + sector, nr_sectors, buf);
}

/* Every record goes to on_exc; one with a fatal finding is a violation. */
static int decode_record(void *ctx, uint64_t area, uint64_t slot, const struct cow_record *r,
			 const struct cow_vfinding *problem)
{
	struct decode_ctx *dc = ctx;
	struct explore_snap *s = dc->s;
	char note[160] = "", msg[256], found[64];
	bool bad = problem && problem->severity == COW_V_FATAL;

	if (r->new_chunk > s->max_new)
		s->max_new = r->new_chunk;
	if (bad)
		cow_vfinding_describe(problem, note, sizeof(note));
	if (dc->on_exc)
		dc->on_exc(dc->exc_ctx, s->dev, r->old_chunk, r->new_chunk, bad ? note : NULL);
	if (bad) {
		snprintf(msg, sizeof(msg), "area %" PRIu64 " slot %" PRIu64 ": %" PRIu64 " -> %" PRIu64
			 ": %s", area, slot, r->old_chunk, r->new_chunk, note);
		snprintf(found, sizeof(found), "%" PRIu64 " -> %" PRIu64, r->old_chunk, r->new_chunk);
		add_evidence(dc->out, s->dev, cow_area_loc(dc->cs, area) * dc->cs, dc->cs,
			     "origin chunk -> unique data chunk in range", found, msg);
		fail(dc->out, EXPLORE_VIOLATION, "%s: %s", s->dev, msg);
	}
	return 0;
}

/* A fatal header finding: judged after the restart (judge_bad_headers). */
static bool is_header_corruption(const struct cow_vfinding *f)
{
	return f->problem == COW_P_SHORT_DEVICE || f->problem == COW_P_BAD_MAGIC ||
	       f->problem == COW_P_BAD_VERSION || f->problem == COW_P_BAD_CHUNK_SIZE;
}

/*
 * Judge snapshot s's COW from its crashed disk image with the validator
 * (spec 2.3-2.6, 2.14). Records go to on_exc.
 */
static void decode_cow(struct explore_snap *s, struct sim_disk *disk,
		       explore_exception_fn *on_exc, void *exc_ctx,
		       struct explore_state_result *out, struct replay_rec *rec)
{
	struct decode_ctx dc = { s, disk, on_exc, exc_ctx, out, 0, rec };
	struct cow_validate_hooks hooks = { .on_record = decode_record, .ctx = &dc };
	struct cow_validate_opts o = {
		.dev_sectors = s->cow_sectors, .origin_sectors = s->origin_sectors,
		.block_sectors = 1,
	};
	struct cow_validation v;
	struct cow_header h;
	char msg[256];
	int r;

	if (rec) /* the header, and area 0's first slot below */
		replay_rec_control(rec, (unsigned)s->disk, s->cow_offset, 1);
	if (sim_disk_read_durable(disk, s->cow_offset, 1, s->hdr))
		return;
	cow_header_decode(s->hdr, &h);
	dc.cs = h.chunk_sectors;
	if (h.magic == COW_MAGIC && !h.valid && h.chunk_sectors &&
	    s->cow_sectors >= 2ull * h.chunk_sectors) {
		uint8_t a0[SECTOR_SIZE];
		struct cow_record first;

		/* area 0's first slot: empty when no commit reached the disk */
		if (rec)
			replay_rec_control(rec, (unsigned)s->disk, s->cow_offset + h.chunk_sectors, 1);
		if (!sim_disk_read_durable(disk, s->cow_offset + h.chunk_sectors, 1, a0)) {
			cow_area_get(a0, 0, &first);
			if (!first.new_chunk)
				out->invalid_uncommitted = true;
		}
	}
	r = cow_validate(&v, &o, decode_read, &dc, &hooks);
	s->records = v.nr_records;
	if (r == -ENOMEM) {
		fail(out, EXPLORE_TOOL_CRASH, "out of memory decoding %s", s->dev);
	} else if (r && v.failed_chunk) {
		snprintf(msg, sizeof(msg), "metadata area %" PRIu64 " (chunk %" PRIu64
			 ") cannot be read from the COW", v.failed_area, (uint64_t)v.failed_chunk);
		add_evidence(out, s->dev, v.failed_chunk * v.chunk_sectors, v.chunk_sectors,
			     "a zeroed area", "none", msg);
		fail(out, EXPLORE_VIOLATION, "%s: %s", s->dev, msg);
	} else if (!r) {
		for (size_t i = 0; i < v.nr_findings; i++) {
			const struct cow_vfinding *f = &v.findings[i];

			if (f->severity != COW_V_FATAL || f->place == COW_V_SLOT)
				continue; /* records: decode_record */
			cow_vfinding_describe(f, msg, sizeof(msg));
			if (is_header_corruption(f)) {
				snprintf(s->bad_msg, sizeof(s->bad_msg), "corrupt COW header: %.170s", msg);
				s->bad_header = true;
				break;
			}
			add_evidence(out, s->dev, f->place == COW_V_AREA ? f->value * v.chunk_sectors : 0,
				     v.chunk_sectors, f->place == COW_V_AREA ? "a zeroed area" : "SnAp header",
				     "none", msg);
			fail(out, EXPLORE_VIOLATION, "%s: %s", s->dev, msg);
		}
		if (v.current_committed > 0 && !v.area_missing)
			out->partial_area = true;
		s->decoded = !s->bad_header;
	}
	cow_validation_free(&v);
}

/*
 * A first sector that is not a store header is no fault of the store when
 * it holds what the model says the raw COW disk may hold there (its
 * initial content or the preparer's own writes, unflushed or not): the
 * store's header never became durable, so after the power cut the COW is
 * what it was before the snapshot existed, and activation refuses it
 * ("Failed to read snapshot metadata", spec 2.6 step 4), as Linux does.
 * Anything else in that sector is a corrupt store.
 */
static void judge_bad_headers(struct replay_world *nw, struct explore_snap *snaps, unsigned n,
			      struct explore_state_result *out)
{
	for (unsigned i = 0; i < n; i++) {
		struct explore_snap *s = &snaps[i];
		struct model_expect e;
		struct model_content found;
		bool ok = false;

		if (!s->bad_header)
			continue;
		found = model_content_of(s->hdr);
		if (s->disk >= 0 &&
		    !model_read_expect(replay_world_model(nw),
				       replay_world_disk_name(nw, (unsigned)s->disk), s->cow_offset,
				       &e) && e.may_succeed) {
			for (unsigned k = 0; k < e.n; k++)
				if (e.c[k].kind == found.kind && e.c[k].a == found.a &&
				    e.c[k].b == found.b)
					ok = true;
		}
		if (ok) {
			s->never_created = true;
			continue;
		}
		add_evidence(out, s->dev, s->cow_offset, 1, "SnAp header", "other", s->bad_msg);
		fail(out, EXPLORE_VIOLATION, "%s: %s", s->dev, s->bad_msg);
	}
}

/* Whether every activation failure in errbuf ("activate NAME: ...", "; "-separated) is of a store never created. */
static bool only_uncreated_failed(const char *errbuf, const struct explore_snap *snaps, unsigned n)
{
	const char *p = errbuf;

	while (p && *p) {
		const char *end = strstr(p, "; ");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool ok = false;

		for (unsigned i = 0; i < n && !ok; i++) {
			size_t dl = strlen(snaps[i].dev);

			ok = snaps[i].never_created && len > 9 + dl && !strncmp(p, "activate ", 9) &&
			     !strncmp(p + 9, snaps[i].dev, dl) && p[9 + dl] == ':';
		}
		if (!ok)
			return false;
		p = end ? end + 2 : NULL;
	}
	return true;
}

/* Parse "DEV sector S: expected E, found F" (replay_world_check_all) into evidence. */
static void evidence_from_check(struct explore_state_result *out, const char *text)
{
	char dev[128] = "";
	unsigned long long sector = 0;
	const char *e = strstr(text, "expected "), *f = strstr(text, ", found ");
	const char *sec = strstr(text, " sector "), *d = sec;
	char expected[256] = "", found[256] = "";

	/* "[TRACE: ][read ]DEV sector S: expected E, found F (seed N)" */
	if (sec) {
		while (d > text && d[-1] != ' ')
			d--;
		snprintf(dev, sizeof(dev), "%.*s", (int)(sec - d), d);
		sector = strtoull(sec + 8, NULL, 10);
	}
	if (e && f && f > e) {
		size_t n = (size_t)(f - e - 9);

		snprintf(expected, sizeof(expected), "%.*s", (int)n, e + 9);
		snprintf(found, sizeof(found), "%s", f + 8);
	}
	add_evidence(out, dev, sector, 1, expected, found, text);
}

/* Parse "... allocated/total metadata" from a snapshot status line. */
static bool status_allocated(const char *st, uint64_t *allocated)
{
	const char *p = strstr(st, "snapshot");
	unsigned long long a, t, m;

	if (!p)
		return false;
	p = strchr(p, ' ');
	if (!p || sscanf(p, " %llu/%llu %llu", &a, &t, &m) != 3)
		return false;
	*allocated = a;
	return true;
}

/* One block written at the start of every stride of every origin (snapshot-origin, snapshot-merge). */
static int more_io(struct replay_world *nw, uint64_t seed, sector_t stride, char *errbuf, size_t len)
{
	struct dm_registry *reg = replay_world_registry(nw);
	uint32_t unit = 1; /* the largest logical block of the disks: a 4K disk refuses 512 bytes */
	sector_t step;
	int r;

	for (unsigned k = 0; k < replay_world_nr_disks(nw); k++) {
		uint32_t b = replay_world_disk_bdev(nw, k)->logical_block_bytes / SECTOR_SIZE;

		if (b > unit)
			unit = b;
	}
	step = stride < unit ? unit : stride / unit * unit;
	for (unsigned i = 0; i < replay_world_nr_devs(nw); i++) {
		const char *name = replay_world_dev_name(nw, i);
		const char *t = replay_world_dev_table(nw, i);
		struct dm_device *md = dm_find_device(reg, name);
		char type[32];
		unsigned long long a, b;

		if (!md || sscanf(t, "%llu %llu %31s", &a, &b, type) != 3 ||
		    (strcmp(type, "snapshot-origin") && strcmp(type, "snapshot-merge")) ||
		    dm_is_suspended(reg, name))
			continue;
		for (sector_t s = 0; s + unit <= dm_device_bdev(md)->size_sectors; s += step) {
			r = replay_world_write(nw, name, s, unit, seed, 0, errbuf, len);
			if (r)
				return r;
		}
	}
	return 0;
}

uint64_t explore_check_more_io_seed(uint64_t seed)
{
	return sim_hash_combine(seed, 0x5eed);
}

/* Step 1 over every snapshot of w's live tables; the verdict so far. */
static enum explore_verdict check_decode(struct replay_world *w, struct sim_disk **crashed,
					 explore_exception_fn *on_exc, void *exc_ctx,
					 struct explore_state_result *out,
					 struct explore_snap *snaps, unsigned *nsnaps,
					 sector_t *stride, struct replay_rec *rec)
{
	memset(out, 0, sizeof(*out));
	out->verdict = EXPLORE_OK;
	out->cow_used = 0;
	*stride = 0;
	*nsnaps = find_snaps(w, snaps, EXPLORE_SNAP_MAX);
	for (unsigned i = 0; i < *nsnaps; i++) {
		struct explore_snap *s = &snaps[i];

		if (!*stride || (s->cs && s->cs < *stride))
			*stride = s->cs;
		if (!s->persistent || s->disk < 0)
			continue;
		decode_cow(s, crashed[s->disk], on_exc, exc_ctx, out, rec);
		out->cow_used += (int64_t)s->records;
	}
	return out->verdict;
}

enum explore_verdict explore_check_state(struct replay_world *w, struct sim_disk **crashed,
					 uint64_t seed, explore_exception_fn *on_exc,
					 void *exc_ctx, struct explore_state_result *out)
{
	return explore_check_state_rec(w, crashed, seed, on_exc, exc_ctx, out, NULL);
}

enum explore_verdict explore_check_state_rec(struct replay_world *w, struct sim_disk **crashed,
					     uint64_t seed, explore_exception_fn *on_exc,
					     void *exc_ctx, struct explore_state_result *out,
					     struct replay_rec *rec)
{
	struct explore_snap snaps[EXPLORE_SNAP_MAX];
	struct replay_world *nw = NULL;
	char errbuf[1024] = "";
	unsigned nsnaps;
	sector_t stride = 0;
	int r;

	if (rec && replay_rec_attach(rec, crashed, replay_world_nr_disks(w)))
		rec = NULL; /* no recording: a plain full check */
	/* 1. Invariants of the crashed COW images. */
	if (check_decode(w, crashed, on_exc, exc_ctx, out, snaps, &nsnaps, &stride, rec) !=
	    EXPLORE_OK)
		return out->verdict;

	/* 2. Restart on the crashed images. */
	r = rec ? replay_world_restart_rec(w, crashed, rec, &nw, errbuf, sizeof(errbuf))
		: replay_world_restart(w, crashed, &nw, errbuf, sizeof(errbuf));
	if (r) {
		return fail(out, r == -ETIME ? EXPLORE_HANG : EXPLORE_TOOL_CRASH,
			    "restart failed: %s (%s)", strerror(-r), errbuf);
	}
	judge_bad_headers(nw, snaps, nsnaps, out);
	for (unsigned i = 0; rec && i < nsnaps; i++)
		if (snaps[i].never_created) /* judged by this point's model: not carried */
			replay_rec_no_carry(rec);
	if (out->verdict != EXPLORE_OK)
		goto out_destroy;
	if (errbuf[0] && !only_uncreated_failed(errbuf, snaps, nsnaps)) {
		add_evidence(out, "", 0, 0, "every table activates", "activation failed", errbuf);
		fail(out, EXPLORE_VIOLATION, "recovery failed: %s", errbuf);
		goto out_destroy;
	}

	/* 3. The free-chunk pointer lies beyond every recorded chunk. */
	for (unsigned i = 0; i < nsnaps; i++) {
		struct explore_snap *s = &snaps[i];
		struct ss_error err = { 0 };
		char *st = NULL;
		uint64_t allocated;

		if (!s->decoded || !s->records)
			continue;
		if (dm_status_text(replay_world_registry(nw), s->dev, false, &st, &err) == 0 &&
		    status_allocated(st, &allocated) && s->cs &&
		    allocated / s->cs <= s->max_new) {
			char msg[256], exp[64], found[64];

			snprintf(msg, sizeof(msg), "free-chunk pointer %" PRIu64 " is not beyond the highest recorded COW chunk %" PRIu64 " (status \"%s\")",
				 allocated / s->cs, s->max_new, st);
			snprintf(exp, sizeof(exp), "next free > %" PRIu64, s->max_new);
			snprintf(found, sizeof(found), "next free %" PRIu64, allocated / s->cs);
			add_evidence(out, s->dev, 0, 0, exp, found, msg);
			fail(out, EXPLORE_VIOLATION, "%s: %s", s->dev, msg);
		}
		free(st);
	}
	if (out->verdict != EXPLORE_OK)
		goto out_destroy;

	/* 4. Every device against the model's allowed contents. */
	errbuf[0] = 0;
	r = replay_world_check_all(nw, errbuf, sizeof(errbuf));
	if (r == 1) {
		evidence_from_check(out, errbuf);
		fail(out, EXPLORE_VIOLATION, "after restart: %s", errbuf);
		goto out_destroy;
	}
	if (r) {
		fail(out, r == -ETIME ? EXPLORE_HANG : EXPLORE_TOOL_CRASH,
		     "after restart: check failed: %s (%s)", strerror(-r), errbuf);
		goto out_destroy;
	}

	/* 5. More I/O into the recovered stack. */
	errbuf[0] = 0;
	r = more_io(nw, explore_check_more_io_seed(seed), stride ? stride : 8, errbuf, sizeof(errbuf));
	if (!r)
		r = replay_world_check_all(nw, errbuf, sizeof(errbuf));
	if (r == 1) {
		evidence_from_check(out, errbuf);
		fail(out, EXPLORE_VIOLATION, "after more I/O: %s", errbuf);
	} else if (r) {
		fail(out, r == -ETIME ? EXPLORE_HANG : EXPLORE_TOOL_CRASH,
		     "after more I/O: %s (%s)", strerror(-r), errbuf);
	}
out_destroy:
	replay_world_destroy(nw);
	return out->verdict;
}
