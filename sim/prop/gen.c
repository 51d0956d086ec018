/*
 * gen.c - seeded random traces as step lists (gen.h).
 *
 * Members of a parallel group get disjoint slices of the device: writes
 * that overlap while in flight together have no defined result per
 * sector, which the model does not express (traces/README.md). The one
 * overlap generated on purpose is a race of an origin write with a
 * snapshot read of the same sectors, whose result is defined (old data).
 */
#include "gen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

#define GEN_ORIGIN_SECTORS 512

static struct gen_step *push(struct gen_case *c)
{
	if (c->nr == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct gen_step *s = realloc(c->steps, cap * sizeof(*s));

		if (!s)
			return NULL;
		c->steps = s;
		c->cap = cap;
	}
	memset(&c->steps[c->nr], 0, sizeof(c->steps[0]));
	return &c->steps[c->nr++];
}

static int push_text(struct gen_case *c, bool fixed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int push_text(struct gen_case *c, bool fixed, const char *fmt, ...)
{
	struct gen_step *s = push(c);
	char buf[512];
	va_list ap;

	if (!s)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->kind = GEN_TEXT;
	s->fixed = fixed;
	s->text = strdup(buf);
	return s->text ? 0 : -ENOMEM;
}

static int push_crash(struct gen_case *c, unsigned *nr_crash)
{
	struct gen_step *s = push(c);
	char buf[32];

	if (!s)
		return -ENOMEM;
	snprintf(buf, sizeof(buf), "cut-%u", (*nr_crash)++);
	s->kind = GEN_CRASH;
	s->text = strdup(buf);
	return s->text ? 0 : -ENOMEM;
}

/* One I/O item on one of devs[0..nr_devs-1], inside [base, base + size). */
static int gen_io(struct gen_step *s, struct sim_prng *p, const char *const *devs,
		  unsigned nr_devs, uint64_t *seedno, bool in_parallel, uint64_t base,
		  uint64_t size)
{
	unsigned kind = (unsigned)sim_prng_below(p, in_parallel ? 2 : 7);
	uint64_t len = 1 + sim_prng_below(p, size < 24 ? size - 1 : 24);

	memset(s, 0, sizeof(*s));
	snprintf(s->dev, sizeof(s->dev), "%s", devs[sim_prng_below(p, nr_devs)]);
	s->len = len;
	s->off = base + sim_prng_below(p, size - len);
	if (kind == 0 || kind == 4) {
		s->kind = GEN_WRITE;
		s->data = (*seedno)++;
		s->fua = sim_prng_chance(p, 1, 4);
	} else if (kind == 1 || kind == 3) {
		s->kind = GEN_READ;
	} else if (kind == 2) {
		s->kind = GEN_FLUSH;
	} else if (kind == 6 && nr_devs > 1) {
		/* A race: an origin write and 1..3 snapshot reads of the same
		 * sectors in flight together; every read must see the old data,
		 * and several tracked reads wait on one pending exception. */
		unsigned nr_reads = 1 + (unsigned)sim_prng_below(p, 3);
		/* Every other race splits its origin write in two halves: the
		 * second arrives while the reads hold the first's exception and
		 * waits beside it, so both must be released (no draw: the
		 * workload after it is unchanged). */
		bool split = s->len >= 2 && (*seedno & 1);

		s->kind = GEN_PARALLEL;
		s->members = calloc(1 + nr_reads + split, sizeof(*s->members));
		if (!s->members)
			return -ENOMEM;
		s->nr_members = 1 + nr_reads;
		s->members[0] = *s;
		s->members[0].members = NULL;
		s->members[0].nr_members = 0;
		s->members[0].kind = GEN_WRITE;
		s->members[0].data = (*seedno)++;
		snprintf(s->members[0].dev, sizeof(s->members[0].dev), "X");
		for (unsigned i = 1; i <= nr_reads; i++) {
			struct gen_step *m = &s->members[i];

			*m = s->members[0];
			m->kind = GEN_READ;
			snprintf(m->dev, sizeof(m->dev), "%s",
				 devs[1 + sim_prng_below(p, nr_devs - 1)]);
			if (i > 1) { /* a sub-range: another read of the chunk */
				uint64_t cut = sim_prng_below(p, m->len);

				m->off += cut;
				m->len -= cut;
			}
		}
		if (split) {
			struct gen_step *w2 = &s->members[s->nr_members++];

			*w2 = s->members[0];
			w2->len = s->members[0].len / 2;
			s->members[0].len -= w2->len;
			w2->off = s->members[0].off + s->members[0].len;
			w2->data = (*seedno)++;
		}
	} else if (kind == 6) {
		s->kind = GEN_READ;
	} else {
		unsigned n = 2 + (unsigned)sim_prng_below(p, 4);
		uint64_t slice = size / n;

		s->kind = GEN_PARALLEL;
		s->members = calloc(n, sizeof(*s->members));
		if (!s->members)
			return -ENOMEM;
		s->nr_members = n;
		for (unsigned i = 0; i < n; i++) {
			int r = gen_io(&s->members[i], p, devs, nr_devs, seedno, true,
				       base + i * slice, slice);

			if (r)
				return r;
		}
	}
	return 0;
}

/* Every I/O on S2, in groups too, leaves its status to the model. */
static void mark_may_fail(struct gen_step *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].kind == GEN_PARALLEL)
			mark_may_fail(s[i].members, s[i].nr_members);
		else if ((s[i].kind == GEN_READ || s[i].kind == GEN_WRITE) && !strcmp(s[i].dev, "S2"))
			s[i].may_fail = true;
	}
}

static int gen_phase(struct gen_case *c, struct sim_prng *p, const struct gen_opts *o,
		     const char *const *devs, unsigned nr_devs, uint64_t *seedno,
		     unsigned *nr_crash)
{
	unsigned max = o->max_io ? o->max_io : 30;
	unsigned n = 4 + (unsigned)sim_prng_below(p, max > 4 ? max - 3 : 1);

	for (unsigned i = 0; i < n; i++) {
		struct gen_step *s;
		int r;

		if (o->crashes && sim_prng_chance(p, 1, 6)) {
			r = push_crash(c, nr_crash);
			if (r)
				return r;
		}
		s = push(c);
		if (!s)
			return -ENOMEM;
		r = gen_io(s, p, devs, nr_devs, seedno, false, 0, GEN_ORIGIN_SECTORS);
		if (r)
			return r;
	}
	return 0;
}

/*
 * A spelling of a device in a table: dm devices as /dev/mapper/N or
 * 254:MINOR, disks as /dev/NAME or 7:MINOR (disks are numbered in the
 * order the header lists them), so aliases must name one device.
 */
static const char *spell(struct sim_prng *q, const char *path, const char *devno)
{
	return sim_prng_chance(q, 1, 2) ? devno : path;
}

int gen_case_build(uint64_t seed, const struct gen_opts *o, struct gen_case *c)
{
	static const char *const devs1[] = { "X", "S1" };
	static const char *const devs2[] = { "X", "S1", "S2" };
	struct sim_prng p = sim_prng_stream(seed, SIM_STREAM_WORKLOAD);
	unsigned cs1 = 1u << sim_prng_range(&p, 0, 5), cs2 = 1u << sim_prng_range(&p, 0, 5);
	/* Spellings come from their own stream: the workload of a seed
	 * stays what it was without them. */
	struct sim_prng q = sim_prng_substream(seed, SIM_STREAM_WORKLOAD, 1);
	const char *org1 = "/dev/mapper/X_org", *org2 = "/dev/mapper/X_org", *orgm = org1;
	const char *cow1 = "/dev/c1", *cow2 = "/dev/c2";
	char st1 = o->store ? o->store : 'P';
	char st2 = o->store ? o->store : (sim_prng_chance(&p, 1, 3) ? 'N' : 'P');
	bool c2_cache = sim_prng_chance(&p, 1, 2);
	bool merge = o->merge && st1 == 'P' && sim_prng_chance(&p, 1, 3);
	bool merge_drawn = merge;
	bool remove = o->remove && !merge_drawn && sim_prng_chance(&p, 1, 4);
	bool fault = o->faults && sim_prng_chance(&p, 1, 4);
	uint64_t fault_after = 1 + sim_prng_below(&p, 40);
	uint64_t seedno = 100, c2_sectors = 2048;
	const char *po2 = "", *s2_read = "";
	bool small2 = false;
	unsigned nr_crash = 0;
	char hdr[1024], flt[96];
	int r;

	memset(c, 0, sizeof(*c));
	c->seed = seed;
	org1 = spell(&q, org1, "254:0");
	org2 = spell(&q, org2, "254:0");
	orgm = spell(&q, orgm, "254:0");
	cow1 = spell(&q, cow1, "7:1");
	cow2 = spell(&q, cow2, "7:2");
	/* One case in three gives S2 a COW of 2..5 data chunks plus a partial
	 * one (spec 2.1: never allocated), which the workload runs to full:
	 * ENOSPC invalidates on an origin write, a snapshot write overflows a
	 * PO store and invalidates a P or N one (spec 4.10). */
	if (sim_prng_chance(&q, 1, 3)) {
		uint64_t k = 2 + sim_prng_below(&q, 4), rest = cs2 > 1 ? 1 + sim_prng_below(&q, cs2 - 1) : 0;

		/* Or, with 1- and 2-sector chunks, exactly one area's data chunks:
		 * the commit of the last one cannot zero the next area, which lies
		 * beyond the COW's end, and invalidates S2 (spec 2.12). */
		if (st2 == 'P' && cs2 <= 2 && sim_prng_chance(&q, 1, 2))
			k = 32 * cs2;
		c2_sectors = ((st2 == 'N' ? 0 : 2) + k) * cs2 + rest;
		po2 = st2 == 'P' && sim_prng_chance(&q, 1, 2) ? "O" : "";
		small2 = true;
		/* No merge of S1 then: which of its chunks S2 still had room to
		 * keep depends on the merge's order (newest record first), which
		 * the model, merging at once, does not follow (prop.h). */
		merge = false;
	}
	/* S2 may go invalid (full, or a COW write error): its reads and writes
	 * then fail with EIO, which the model alone can tell (spec 4.10). */
	if (small2 || fault)
		s2_read = ", may_fail: true";
	snprintf(flt, sizeof(flt), ", faults: [{op: write, after_ops: %" PRIu64 ", count: 1}]",
		 fault_after);
	snprintf(hdr, sizeof(hdr),
		 "version: 1\nname: prop-%" PRIu64 "\nseed: %" PRIu64 "\ndisks:\n"
		 "  - {name: data, size: 256K, latency: {min: 1us, max: 200us}}\n"
		 "  - {name: c1, size: 1M, latency: {min: 1us, max: 200us}}\n"
		 "  - {name: c2, size: %" PRIu64 "s, cache: %s%s}\n"
		 "steps:\n", seed, seed, c2_sectors, c2_cache ? "on" : "off", fault ? flt : "");
	c->header = strdup(hdr);
	if (!c->header)
		return -ENOMEM;

	if ((r = push_text(c, true, "dm: create X_org --table \"0 %u linear /dev/data 0\"",
			   GEN_ORIGIN_SECTORS)) ||
	    (r = push_text(c, true, "dm: create X --table \"0 %u snapshot-origin /dev/mapper/X_org\"",
			   GEN_ORIGIN_SECTORS)) ||
	    (r = push_text(c, true, "write: {dev: X, length: 256K, data: seed-1}")) ||
	    (r = push_text(c, true, "flush: X")) ||
	    (r = push_text(c, true, "dm: suspend X")) ||
	    (r = push_text(c, true, "dm: create S1 --table \"0 %u snapshot %s %s %c %u\"",
			   GEN_ORIGIN_SECTORS, org1, cow1, st1, cs1)) ||
	    (r = push_text(c, true, "dm: resume X")))
		goto err;
	if ((r = gen_phase(c, &p, o, devs1, 2, &seedno, &nr_crash)))
		goto err;
	if ((r = push_text(c, true, "flush: X")) || (r = push_text(c, true, "dm: suspend X")) ||
	    (r = push_text(c, true, "dm: create S2 --table \"0 %u snapshot %s %s %c%s %u\"",
			   GEN_ORIGIN_SECTORS, org2, cow2, st2, po2, cs2)) ||
	    (r = push_text(c, true, "dm: resume X")))
		goto err;
	if ((r = gen_phase(c, &p, o, devs2, 3, &seedno, &nr_crash)))
		goto err;
	if (merge) {
		if ((r = push_text(c, true, "wait")) || (r = push_text(c, true, "dm: suspend S1")) ||
		    (r = push_text(c, true, "dm: suspend X")) ||
		    (r = push_text(c, true, "dm: load X --table \"0 %u snapshot-merge %s %s P %u\"",
				   GEN_ORIGIN_SECTORS, orgm, cow1, cs1)) ||
		    (r = push_text(c, true, "dm: resume X")))
			goto err;
		if (o->merge_crashes && (r = push_crash(c, &nr_crash)))
			goto err;
		if ((r = push_text(c, false, "read: {dev: X, length: %us}", GEN_ORIGIN_SECTORS)) ||
		    (r = push_text(c, true, "dm: remove S1")) || (r = push_text(c, true, "settle")))
			goto err;
		if (o->crashes && (r = push_crash(c, &nr_crash)))
			goto err;
		if ((r = push_text(c, false, "read: {dev: X_org, length: %us}", GEN_ORIGIN_SECTORS)) ||
		    (r = push_text(c, false, "read: {dev: S2, length: %us%s}", GEN_ORIGIN_SECTORS,
				   s2_read)))
			goto err;
	} else if (remove) {
		/* No crash point after the removal: the model takes a COW disk
		 * whose snapshot is gone for a plain disk (see prop.h). */
		struct gen_opts later = *o;

		later.crashes = false;
		if ((r = push_text(c, true, "wait")) || (r = push_text(c, true, "dm: remove S2")) ||
		    (r = gen_phase(c, &p, &later, devs1, 2, &seedno, &nr_crash)) ||
		    (r = push_text(c, false, "read: {dev: S1, length: %us}", GEN_ORIGIN_SECTORS)))
			goto err;
	} else {
		if ((r = push_text(c, false, "read: {dev: S1, length: %us}", GEN_ORIGIN_SECTORS)) ||
		    (r = push_text(c, false, "read: {dev: S2, length: %us%s}", GEN_ORIGIN_SECTORS,
				   s2_read)))
			goto err;
	}
	if (o->crashes && !remove && (r = push_crash(c, &nr_crash)))
		goto err;
	if (*s2_read)
		mark_may_fail(c->steps, c->nr);
	return 0;
err:
	gen_case_free(c);
	return r;
}

static void step_free(struct gen_step *s)
{
	for (unsigned i = 0; i < s->nr_members; i++)
		step_free(&s->members[i]);
	free(s->members);
	free(s->text);
}

void gen_case_free(struct gen_case *c)
{
	for (size_t i = 0; i < c->nr; i++)
		step_free(&c->steps[i]);
	free(c->steps);
	free(c->header);
	memset(c, 0, sizeof(*c));
}

static void render(FILE *f, const struct gen_step *s, int depth)
{
	const char *indent = "                                ";

	indent += 32 - (depth < 32 ? depth : 32);
	switch (s->kind) {
	case GEN_TEXT:
		fprintf(f, "%s- %s\n", indent, s->text);
		break;
	case GEN_CRASH:
		fprintf(f, "%s- crash: %s\n", indent, s->text);
		break;
	case GEN_WRITE:
		fprintf(f, "%s- write: {dev: %s, offset: %" PRIu64 "s, length: %" PRIu64
			"s, data: seed-%" PRIu64 "%s%s}\n", indent, s->dev, s->off, s->len, s->data,
			s->fua ? ", fua: true" : "", s->may_fail ? ", may_fail: true" : "");
		break;
	case GEN_READ:
		fprintf(f, "%s- read: {dev: %s, offset: %" PRIu64 "s, length: %" PRIu64 "s%s}\n",
			indent, s->dev, s->off, s->len, s->may_fail ? ", may_fail: true" : "");
		break;
	case GEN_FLUSH:
		fprintf(f, "%s- flush: %s\n", indent, s->dev);
		break;
	case GEN_PARALLEL:
		fprintf(f, "%s- parallel:\n", indent);
		for (unsigned i = 0; i < s->nr_members; i++)
			render(f, &s->members[i], depth + 4);
		break;
	}
}

char *gen_case_yaml(const struct gen_case *c, const bool *keep, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	fputs(c->header, f);
	for (size_t i = 0; i < c->nr; i++)
		if (!keep || keep[i])
			render(f, &c->steps[i], 2);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}
