/*
 * cow_repair.c - the repair plan; see cow_repair.h.
 *
 * Records are read through the validator activation uses, so "bad" means
 * exactly what makes activation refuse. The repaired list is the surviving
 * records in list order written from area 0 slot 0 on: the global slot
 * g = area * EPA + slot of a record never grows, so a packed list always
 * fits where the old one was, and only metadata slots [kept, old end) change.
 */
#include "cow_repair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "cow_validate.h"

struct rd {
	int fd;
	uint32_t cs_override;     /* 0: none */
	int failed;
	uint64_t failed_off;
};

/* Read sectors, with the header's chunk size replaced when overridden. */
static int rd_read(void *ctx, uint64_t sector, uint32_t nr, uint8_t *buf)
{
	struct rd *r = ctx;
	uint64_t off = sector << SECTOR_SHIFT, len = (uint64_t)nr << SECTOR_SHIFT;
	long long n = cli_pread_full(r->fd, buf, len, off);

	if (n < 0 || (uint64_t)n != len) {
		r->failed = n < 0 ? (int)n : -EIO;
		r->failed_off = n < 0 ? off : off + (uint64_t)n;
		return r->failed;
	}
	if (r->cs_override && off == 0 && len >= COW_HEADER_BYTES) {
		for (int i = 0; i < 4; i++)
			buf[12 + i] = (uint8_t)(r->cs_override >> (8 * i));
	}
	return 0;
}

struct rlist {
	struct cow_record *rec;
	bool *bad;
	size_t n, cap;
};

static int collect(void *ctx, uint64_t area, uint64_t slot, const struct cow_record *rec,
		   const struct cow_vfinding *problem)
{
	struct rlist *l = ctx;

	(void)area;
	(void)slot;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct cow_record *nr = realloc(l->rec, cap * sizeof(*nr));
		bool *nb;

		if (!nr)
			return -ENOMEM;
		l->rec = nr;
		nb = realloc(l->bad, cap * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		l->bad = nb;
		l->cap = cap;
	}
	l->rec[l->n] = *rec;
	/* A record's first finding is fatal whenever any of its findings is. */
	l->bad[l->n] = problem && problem->severity == COW_V_FATAL;
	l->n++;
	return 0;
}

static int validate(int fd, uint64_t size, uint64_t origin_bytes, uint32_t cs,
		    struct cow_validation *v, struct rlist *l, struct rd *r)
{
	struct cow_validate_opts o = {
		.dev_sectors = size >> SECTOR_SHIFT,
		.origin_sectors = origin_bytes >> SECTOR_SHIFT,
		.block_sectors = 1,
	};
	struct cow_validate_hooks h = { .on_record = collect, .ctx = l };

	if (origin_bytes && !o.origin_sectors)
		o.origin_sectors = 1;
	*r = (struct rd){ .fd = fd, .cs_override = cs };
	return cow_validate(v, &o, rd_read, r, l ? &h : NULL);
}

static int count_good(void *ctx, uint64_t area, uint64_t slot, const struct cow_record *rec,
		      const struct cow_vfinding *problem)
{
	(void)area;
	(void)slot;
	(void)rec;
	*(uint64_t *)ctx += !problem || problem->severity != COW_V_FATAL;
	return 0;
}

/* Records without a fatal finding when the store is read with chunk size cs. */
static int good_records(int fd, uint64_t size, uint64_t origin_bytes, uint32_t cs, uint64_t *good)
{
	struct cow_validate_opts o = {
		.dev_sectors = size >> SECTOR_SHIFT,
		.origin_sectors = origin_bytes >> SECTOR_SHIFT ? origin_bytes >> SECTOR_SHIFT
							      : origin_bytes != 0,
		.block_sectors = 1,
		.max_findings = 1,
	};
	struct cow_validate_hooks h = { .on_record = count_good, .ctx = good };
	struct rd r = { .fd = fd, .cs_override = cs };
	struct cow_validation v;
	int ret;

	*good = 0;
	ret = cow_validate(&v, &o, rd_read, &r, &h);
	if (!ret && v.state != COW_STORE_VALID)
		*good = 0;
	cow_validation_free(&v);
	return ret;
}

/*
 * Chunk sizes other than the header's under which more records read
 * without error than under the header's: the layout's evidence against it.
 */
static int find_candidates(int fd, uint64_t size, uint64_t origin_bytes, uint32_t hdr_cs,
			   uint64_t hdr_good, struct cow_repair_plan *p)
{
	for (uint64_t cs = 1; cs <= COW_MAX_CHUNK_SECTORS && 2 * cs <= (size >> SECTOR_SHIFT);
	     cs <<= 1) {
		uint64_t good;
		int ret;

		if (cs == hdr_cs)
			continue;
		ret = good_records(fd, size, origin_bytes, (uint32_t)cs, &good);
		if (ret == -ENOMEM)
			return ret;
		if (!ret && good > hdr_good && p->nr_candidates < COW_REPAIR_CANDIDATES) {
			p->cand_good[p->nr_candidates] = good;
			p->candidates[p->nr_candidates++] = (uint32_t)cs;
		}
	}
	return 0;
}

static int add_edit(struct cow_repair_plan *p, uint64_t off, const uint8_t *old_b,
		    const uint8_t *new_b, uint32_t len)
{
	struct cow_edit *ne = realloc(p->edits, (p->nr_edits + 1) * sizeof(*ne));
	struct cow_edit *e;

	if (!ne)
		return -ENOMEM;
	p->edits = ne;
	e = &p->edits[p->nr_edits];
	e->off = off;
	e->len = len;
	e->old_bytes = malloc(len);
	e->new_bytes = malloc(len);
	if (!e->old_bytes || !e->new_bytes) {
		free(e->old_bytes);
		free(e->new_bytes);
		return -ENOMEM;
	}
	memcpy(e->old_bytes, old_b, len);
	memcpy(e->new_bytes, new_b, len);
	p->nr_edits++;
	p->edit_bytes += len;
	return 0;
}

/* Whether rec could be a record of this store next to the ones in the sets. */
static bool looks_valid(const struct cow_record *rec, uint32_t cs, uint64_t dev_chunks,
			uint64_t origin_chunks, const struct cli_u64map *olds,
			const struct cli_u64map *news)
{
	return rec->new_chunk >= 2 && rec->new_chunk < dev_chunks &&
	       !cow_is_area_chunk(cs, rec->new_chunk) &&
	       rec->old_chunk <= cow_max_origin_chunk(cs) &&
	       (!origin_chunks || rec->old_chunk < origin_chunks) &&
	       !cli_u64map_get(olds, rec->old_chunk + 1) && !cli_u64map_get(news, rec->new_chunk);
}

struct after {
	struct cow_record *rec;
	uint64_t *g;
	size_t n, cap;
	uint64_t last_g;
};

static int after_add(struct after *a, const struct cow_record *rec, uint64_t g)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct cow_record *nr = realloc(a->rec, cap * sizeof(*nr));
		uint64_t *ng;

		if (!nr)
			return -ENOMEM;
		a->rec = nr;
		ng = realloc(a->g, cap * sizeof(*ng));
		if (!ng)
			return -ENOMEM;
		a->g = ng;
		a->cap = cap;
	}
	a->rec[a->n] = *rec;
	a->g[a->n++] = g;
	a->last_g = g;
	return 0;
}

/*
 * Valid-looking records after the terminator at global slot `end`: the rest
 * of its area, then the following areas until one holds nothing but zeros.
 */
static int scan_after(int fd, const struct cow_validation *v, uint64_t end, uint64_t origin_chunks,
		      struct cli_u64map *olds, struct cli_u64map *news, struct after *a,
		      uint8_t *buf, struct ss_error *err, const char *path)
{
	uint32_t cs = v->chunk_sectors;
	size_t bytes = (size_t)cs << SECTOR_SHIFT;

	for (uint64_t n = end / v->epa;; n++) {
		chunk_t loc = cow_area_loc(cs, n);
		bool any = false;
		long long got;

		if (loc >= v->dev_chunks)
			return 0;
		got = cli_pread_full(fd, buf, bytes, loc * bytes);
		if (got < 0 || (uint64_t)got != bytes)
			return ss_error_set(err, got < 0 ? (int)got : -EIO, 0, 0,
					    "%s: read error at byte offset %llu", path,
					    (unsigned long long)(loc * bytes));
		for (uint64_t s = n == end / v->epa ? end % v->epa + 1 : 0; s < v->epa; s++) {
			struct cow_record rec;
			long long r;

			cow_area_get(buf, s, &rec);
			if (rec.new_chunk || rec.old_chunk)
				any = true;
			if (!looks_valid(&rec, cs, v->dev_chunks, origin_chunks, olds, news))
				continue;
			if ((r = cli_u64map_put(olds, rec.old_chunk + 1, 1)) < 0 ||
			    (r = cli_u64map_put(news, rec.new_chunk, 1)) < 0 ||
			    (r = after_add(a, &rec, n * v->epa + s)) < 0)
				return ss_error_set(err, -ENOMEM, 0, 0, "%s: out of memory", path);
		}
		if (!any && n > end / v->epa)
			return 0;
	}
}

/* Write the packed list over global slots [from, to] and record what changed. */
static int rewrite(int fd, const char *path, const struct cow_validation *v,
		   const struct cow_record *list, uint64_t k, uint64_t from, uint64_t to,
		   uint8_t *buf, uint8_t *orig, struct cow_repair_plan *p, struct ss_error *err)
{
	uint32_t cs = v->chunk_sectors;
	size_t bytes = (size_t)cs << SECTOR_SHIFT;

	for (uint64_t n = from / v->epa; n <= to / v->epa; n++) {
		uint64_t base = cow_area_loc(cs, n) * bytes;
		size_t lo = bytes, hi = 0;
		long long got;

		if (cow_area_loc(cs, n) >= v->dev_chunks)
			break;
		got = cli_pread_full(fd, orig, bytes, base);
		if (got < 0 || (uint64_t)got != bytes)
			return ss_error_set(err, -EIO, 0, 0, "%s: read error at byte offset %llu",
					    path, (unsigned long long)base);
		memcpy(buf, orig, bytes);
		for (uint64_t s = 0; s < v->epa; s++) {
			uint64_t g = n * v->epa + s;
			struct cow_record zero = { 0, 0 };

			if (g < from || g > to)
				continue;
			cow_area_put(buf, s, g < k ? &list[g] : &zero);
		}
		for (size_t i = 0; i < bytes; i++)
			if (buf[i] != orig[i]) {
				if (i < lo)
					lo = i;
				hi = i + 1;
			}
		if (hi && add_edit(p, base + lo, orig + lo, buf + lo, (uint32_t)(hi - lo)) < 0)
			return ss_error_set(err, -ENOMEM, 0, 0, "%s: out of memory", path);
	}
	return 0;
}

static void say_candidates(struct cow_repair_plan *p, const char *path, uint32_t hdr_cs,
			   uint64_t hdr_good)
{
	size_t len;

	len = (size_t)snprintf(p->why, sizeof(p->why),
			       "%s: header chunk size %u disagrees with the metadata layout "
			       "(%llu valid record(s) with it):", path, hdr_cs,
			       (unsigned long long)hdr_good);
	for (size_t i = 0; i < p->nr_candidates && len < sizeof(p->why); i++)
		len += (size_t)snprintf(p->why + len, sizeof(p->why) - len,
					"%s chunk size %u reads %llu", i ? "," : "",
					p->candidates[i], (unsigned long long)p->cand_good[i]);
	if (len < sizeof(p->why))
		snprintf(p->why + len, sizeof(p->why) - len,
			 "; repair does not guess: give --chunk-size N to repair with one");
}

int cow_repair_plan_make(int fd, uint64_t size, const char *path,
			 const struct cow_repair_opts *o, struct cow_repair_plan *p,
			 struct ss_error *err)
{
	struct cow_validation v;
	struct rlist l = { 0 };
	struct after a = { 0 };
	struct cli_u64map olds, news;
	struct cow_record *list = NULL;
	uint8_t *buf = NULL, *orig = NULL;
	uint64_t k = 0, origin_chunks = 0, end;
	struct rd rd;
	char msg[200];
	int ret;

	memset(p, 0, sizeof(*p));
	cli_u64map_init(&olds);
	cli_u64map_init(&news);
	if (o->chunk_sectors && cow_chunk_size_problem(o->chunk_sectors, 1)) {
		p->refused = true;
		snprintf(p->why, sizeof(p->why), "--chunk-size %u: %s", o->chunk_sectors,
			 cow_chunk_size_problem(o->chunk_sectors, 1));
		return 0;
	}
	ret = validate(fd, size, o->origin_bytes, o->chunk_sectors, &v, &l, &rd);
	if (ret < 0) {
		if (rd.failed == ret)
			ss_error_set(err, ret, 0, 0, "%s: read error at byte offset %llu", path,
				     (unsigned long long)rd.failed_off);
		else
			ss_error_set(err, ret, 0, 0, "%s: out of memory while planning the repair",
				     path);
		goto out;
	}
	p->chunk_sectors = v.chunk_sectors ? v.chunk_sectors : v.hdr.chunk_sectors;
	p->nr_records = v.nr_records;
	if (v.state == COW_STORE_NEW || v.state == COW_STORE_INVALID)
		goto out; /* nothing activation reads */
	if (v.state == COW_STORE_UNREADABLE || (v.nr_fatal && !o->chunk_sectors)) {
		const struct cow_vfinding *f = cow_validation_first_fatal(&v);
		bool cs_problem = f && (f->problem == COW_P_BAD_CHUNK_SIZE ||
					f->problem == COW_P_CHUNK_SIZE_DEVICE);

		if (f && (f->problem == COW_P_SHORT_DEVICE || f->problem == COW_P_BAD_MAGIC ||
			  f->problem == COW_P_BAD_VERSION)) {
			p->refused = true;
			snprintf(p->why, sizeof(p->why), "%s: the header cannot be repaired: %s",
				 path, cow_vfinding_describe(f, msg, sizeof(msg)));
			goto out;
		}
		uint64_t hdr_good = 0;

		for (size_t i = 0; v.state == COW_STORE_VALID && i < l.n; i++)
			hdr_good += !l.bad[i];
		if (!o->chunk_sectors &&
		    (ret = find_candidates(fd, size, o->origin_bytes, v.hdr.chunk_sectors, hdr_good,
					   p)) < 0) {
			ss_error_set(err, ret, 0, 0, "%s: out of memory", path);
			goto out;
		}
		if (p->nr_candidates) {
			p->refused = true;
			say_candidates(p, path, v.hdr.chunk_sectors, hdr_good);
			goto out;
		}
		if (!hdr_good && v.nr_records) {
			/* Not one record makes sense: what the header calls areas are not metadata. */
			p->refused = true;
			snprintf(p->why, sizeof(p->why), "%s: none of the %llu record(s) read with the "
				 "header's chunk size %u is valid, so what it lays out as metadata "
				 "areas may be data; repair does not guess: give --chunk-size N (%u "
				 "to confirm the header's)", path, (unsigned long long)v.nr_records,
				 v.hdr.chunk_sectors, v.hdr.chunk_sectors);
			goto out;
		}
		if (cs_problem) {
			p->refused = true;
			snprintf(p->why, sizeof(p->why), "%s: %s; no other chunk size reads the "
				 "store without errors: give --chunk-size N", path,
				 cow_vfinding_describe(f, msg, sizeof(msg)));
			goto out;
		}
	}
	if (v.state != COW_STORE_VALID) {
		const struct cow_vfinding *f = cow_validation_first_fatal(&v);

		p->refused = true;
		snprintf(p->why, sizeof(p->why), "%s: --chunk-size %u: %s", path, o->chunk_sectors,
			 f ? cow_vfinding_describe(f, msg, sizeof(msg)) : "the store cannot be read");
		goto out;
	}
	if (o->chunk_sectors) {
		uint8_t oldb[4], newb[4];
		long long got = cli_pread_full(fd, oldb, 4, 12); /* v.hdr is the overridden one */

		if (got != 4) {
			ret = ss_error_set(err, -EIO, 0, 0, "%s: read error at byte offset 12", path);
			goto out;
		}
		for (int i = 0; i < 4; i++)
			newb[i] = (uint8_t)(o->chunk_sectors >> (8 * i));
		if (memcmp(oldb, newb, 4)) {
			if (add_edit(p, 12, oldb, newb, 4) < 0)
				goto nomem;
			p->header_edit = true;
		}
	}
	if (o->origin_bytes)
		origin_chunks = ((o->origin_bytes >> SECTOR_SHIFT ? o->origin_bytes >> SECTOR_SHIFT : 1) +
				 v.chunk_sectors - 1) / v.chunk_sectors;
	list = malloc((l.n + 1) * sizeof(*list));
	buf = malloc((size_t)v.chunk_sectors << SECTOR_SHIFT);
	orig = malloc((size_t)v.chunk_sectors << SECTOR_SHIFT);
	if (!list || !buf || !orig)
		goto nomem;
	for (size_t i = 0; i < l.n; i++) {
		if (l.bad[i]) {
			p->nr_dropped++;
			continue;
		}
		list[k++] = l.rec[i];
		if (cli_u64map_put(&olds, l.rec[i].old_chunk + 1, 1) < 0 ||
		    cli_u64map_put(&news, l.rec[i].new_chunk, 1) < 0)
			goto nomem;
	}
	end = l.n; /* the terminator's global slot (or one past the last area) */
	if (!v.area_missing &&
	    (ret = scan_after(fd, &v, end, origin_chunks, &olds, &news, &a, buf, err, path)) < 0)
		goto out;
	p->nr_after = a.n;
	if (a.n) {
		p->first_after_area = a.g[0] / v.epa;
		p->first_after_slot = a.g[0] % v.epa;
	}
	if (o->keep_after_terminator && a.n) {
		struct cow_record *nl = realloc(list, (k + a.n + 1) * sizeof(*nl));

		if (!nl)
			goto nomem;
		list = nl;
		memcpy(list + k, a.rec, a.n * sizeof(*a.rec));
		k += a.n;
		p->nr_recovered = a.n;
		end = a.last_g + 1;
	}
	/* A packed list that fills its last area needs the next area for its terminator. */
	while (k && k % v.epa == 0 && cow_area_loc(v.chunk_sectors, k / v.epa) >= v.dev_chunks) {
		k--;
		p->nr_unterminated++;
	}
	p->nr_kept = k;
	/* Slots [k, end) held records or the gap before them; later slots stay as they are. */
	if (k < end && (ret = rewrite(fd, path, &v, list, k, 0, end - 1, buf, orig, p, err)) < 0)
		goto out;
	ret = 0;
	goto out;
nomem:
	ret = ss_error_set(err, -ENOMEM, 0, 0, "%s: out of memory while planning the repair", path);
out:
	cow_validation_free(&v);
	cli_u64map_destroy(&olds);
	cli_u64map_destroy(&news);
	free(l.rec);
	free(l.bad);
	free(a.rec);
	free(a.g);
	free(list);
	free(buf);
	free(orig);
	return ret;
}

void cow_repair_plan_free(struct cow_repair_plan *p)
{
	for (size_t i = 0; i < p->nr_edits; i++) {
		free(p->edits[i].old_bytes);
		free(p->edits[i].new_bytes);
	}
	free(p->edits);
	p->edits = NULL;
	p->nr_edits = 0;
}
