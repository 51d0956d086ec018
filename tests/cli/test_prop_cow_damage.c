/*
 * test_prop_cow_damage.c - damage properties of `cow check` and its
 * repair, in the manner of thin-provisioning-tools' damage tests: valid
 * stores (1 to 5 areas, chunk sizes 1 to 8 sectors) written from the format
 * (cow_format.h), one or two random corruptions of the header, records,
 * terminators and area padding, then through the binary:
 *  - check never writes (bytes and mtime unchanged);
 *  - check exits 4 exactly when the core's activation refuses the bytes or
 *    it reports records after a terminator, else 0;
 *  - repair keeps every record activation would accept (the validator's
 *    records without a fatal finding), and after it activation accepts;
 *  - the repaired store's export equals the origin overlaid with the
 *    damaged image's chunks of exactly those records;
 *  - repair in place with an undo file gives the same bytes, and cow undo
 *    gives back the damaged bytes;
 *  - repairing the result changes nothing.
 * A header chunk size the layout contradicts must be refused naming the
 * true chunk size, and is then repaired with --chunk-size.
 *
 * Seeds: SNAPSIM_SEED (default 1), SNAPSIM_CASES (default 120; with
 * SNAPSIM_SEED alone, one case). A failure prints the seed and the
 * corruption list (and stops the case there: with SNAPSIM_KEEP=1 its
 * images stay in the test directory).
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

#include <inttypes.h>
#include <sys/time.h>

#include "bdev.h"
#include "cow_format.h"
#include "cow_validate.h"
#include "exception_table.h"
#include "exstore.h"
#include "fifo_executor.h"
#include "mem_bdev.h"

static void setup(void)
{
	test_dir_make();
}

/* SNAPSIM_KEEP=1 keeps the last case's images (to replay a failure by hand). */
static void teardown(void)
{
	if (getenv("SNAPSIM_KEEP"))
		fprintf(stderr, "images kept in %s\n", test_dir);
	else
		test_dir_remove();
}

TestSuite(prop_cow_damage, .init = setup, .fini = teardown);

static uint64_t rng;
static unsigned n_refused, n_retried, n_repaired, n_nothing; /* what the cases exercised */

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

struct store {
	uint8_t *b;
	size_t len;
	uint32_t cs;
	uint64_t epa, dev_chunks, nrec, origin_chunks;
	struct cow_record *rec;
	uint64_t *spare_old;        /* origin chunks no record maps */
	uint64_t nr_spare;
	char damage[512];
	bool hdr_cs, hdr_fatal;
};

static uint64_t slot_off(const struct store *s, uint64_t g)
{
	return cow_area_loc(s->cs, g / s->epa) * ((uint64_t)s->cs << SECTOR_SHIFT) +
	       (g % s->epa) * COW_RECORD_BYTES;
}

static bool slot_exists(const struct store *s, uint64_t g)
{
	return cow_area_loc(s->cs, g / s->epa) < s->dev_chunks;
}

static void put(struct store *s, uint64_t g, uint64_t old_chunk, uint64_t new_chunk)
{
	struct cow_record r = { old_chunk, new_chunk };

	if (slot_exists(s, g))
		cow_record_encode(&r, s->b + slot_off(s, g));
}

static void note(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct store *s, const char *fmt, ...)
{
	size_t l = strlen(s->damage);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->damage + l, sizeof(s->damage) - l, fmt, ap);
	va_end(ap);
}

/* A valid store: records in allocation order, distinct origin chunks. */
static void build(struct store *s)
{
	static const uint32_t sizes[] = { 1, 2, 4, 8 };
	uint64_t areas, *olds, k = 1;
	size_t cb;

	memset(s, 0, sizeof(*s));
	s->cs = sizes[below(4)];
	s->epa = cow_epa(s->cs);
	areas = 1 + below(s->cs == 8 ? 2 : 5);
	s->nrec = (areas - 1) * s->epa + below(s->epa);
	s->origin_chunks = s->nrec + 4 + below(16);
	s->dev_chunks = cow_area_loc(s->cs, areas - 1) + 1 + s->nrec % s->epa + 1 + below(4);
	cb = (size_t)s->cs << SECTOR_SHIFT;
	s->len = s->dev_chunks * cb;
	s->b = calloc(1, s->len);
	s->rec = calloc(s->nrec + 1, sizeof(*s->rec));
	olds = malloc(s->origin_chunks * sizeof(*olds));
	cr_assert(s->b && s->rec && olds);
	cow_header_chunk_build(s->b, cb, 1, s->cs);
	for (uint64_t i = 0; i < s->origin_chunks; i++)
		olds[i] = i;
	for (uint64_t i = s->origin_chunks - 1; i > 0; i--) {
		uint64_t j = below(i + 1), t = olds[i];

		olds[i] = olds[j];
		olds[j] = t;
	}
	s->nr_spare = s->origin_chunks - s->nrec;
	s->spare_old = malloc(s->nr_spare * sizeof(*s->spare_old));
	cr_assert_not_null(s->spare_old);
	memcpy(s->spare_old, olds + s->nrec, s->nr_spare * sizeof(*olds));
	for (uint64_t i = 0; i < s->nrec; i++) {
		k = cow_next_data_chunk(s->cs, k);
		s->rec[i] = (struct cow_record){ olds[i], k };
		put(s, i, olds[i], k);
	}
	/* Data: a byte pattern no chunk size reads as records in range. */
	for (uint64_t c = 2; c < s->dev_chunks; c++)
		if (!cow_is_area_chunk(s->cs, c))
			memset(s->b + c * cb, (int)(0xA0 | (c & 0x0f)), cb);
	free(olds);
	snprintf(s->damage, sizeof(s->damage), "cs %u, %" PRIu64 " records, %" PRIu64 " chunks:",
		 s->cs, s->nrec, s->dev_chunks);
}

static void damage_one(struct store *s)
{
	unsigned kind = (unsigned)below(14);
	uint64_t r = below(s->nrec), g;
	uint8_t *h = s->b;

	if (!s->nrec && kind >= 4 && kind <= 9)
		kind = 11;
	switch (kind) {
	case 0: {
		uint32_t cs = below(2) && s->cs > 1 ? s->cs / 2 : s->cs * (below(2) ? 2 : 4);

		for (int i = 0; i < 4; i++)
			h[12 + i] = (uint8_t)(cs >> (8 * i));
		s->hdr_cs = true;
		note(s, " header chunk size %u;", cs);
		break;
	}
	case 1:
		h[below(4)] ^= (uint8_t)(1 + below(255));
		s->hdr_fatal = true;
		note(s, " header magic flipped;");
		break;
	case 2:
		h[8] = 2;
		s->hdr_fatal = true;
		note(s, " header version 2;");
		break;
	case 3:
		h[4] = below(2) ? 0 : 2;
		note(s, " header valid %u;", h[4]);
		break;
	case 4:
		put(s, r, s->rec[r].old_chunk, s->dev_chunks + below(100));
		note(s, " record %" PRIu64 " new beyond device;", r);
		break;
	case 5:
		put(s, r, s->rec[r].old_chunk, cow_area_loc(s->cs, below(s->nrec / s->epa + 1)));
		note(s, " record %" PRIu64 " new on metadata;", r);
		break;
	case 6:
		g = below(s->nrec);
		put(s, r, s->rec[r].old_chunk, s->rec[g].new_chunk);
		note(s, " record %" PRIu64 " new of record %" PRIu64 ";", r, g);
		break;
	case 7:
		g = below(s->nrec);
		put(s, r, s->rec[g].old_chunk, s->rec[r].new_chunk);
		note(s, " record %" PRIu64 " old of record %" PRIu64 ";", r, g);
		break;
	case 8:
		put(s, r, UINT64_MAX - below(1000), s->rec[r].new_chunk);
		note(s, " record %" PRIu64 " old beyond any device;", r);
		break;
	case 9:
		put(s, r, 0, 0);
		note(s, " record %" PRIu64 " zeroed (premature terminator);", r);
		break;
	case 10: /* the terminator becomes a valid-looking record, or garbage */
		if (below(2))
			put(s, s->nrec, s->spare_old[below(s->nr_spare)], s->dev_chunks - 1);
		else
			put(s, s->nrec, rnd(), rnd() | 1);
		note(s, " terminator %" PRIu64 " overwritten;", s->nrec);
		break;
	case 11: case 12: /* area padding after the terminator */
		g = s->nrec + 1 + below(s->epa - s->nrec % s->epa);
		if (g % s->epa == 0 || g / s->epa != s->nrec / s->epa)
			g = s->nrec + 1;
		if (kind == 12)
			put(s, g, s->spare_old[below(s->nr_spare)], s->dev_chunks - 1);
		else
			put(s, g, rnd(), rnd() | 1);
		note(s, " padding slot %" PRIu64 " %s;", g, kind == 12 ? "valid-looking" : "garbage");
		break;
	default: /* random bytes in a record */
		put(s, r, rnd(), rnd() | (1ull << 62));
		note(s, " record %" PRIu64 " random;", r);
		break;
	}
}

/* ---- the core's activation on bytes ---- */

static int add_cb(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	return extable_insert(ctx, old_chunk, new_chunk);
}

/* 0 (accepted; map filled when given), or the activation's error. */
static int activate(const uint8_t *img, size_t len, struct extable *map)
{
	struct fifo_executor fx;
	struct mem_bdev *md;
	struct exstore *st = NULL;
	struct extable own;
	struct ss_error err;
	int r;

	fifo_executor_init(&fx);
	md = mem_bdev_create("cow", len >> SECTOR_SHIFT, &fx.base);
	cr_assert_not_null(md);
	memcpy(md->data, img, len);
	ss_error_clear(&err);
	cr_assert_eq(exstore_create("P", 0, &md->base, 1, &fx.base, &st, &err), 0, "%s", err.msg);
	if (!map)
		map = &own;
	cr_assert_eq(extable_init(map, 64), 0);
	r = st->type->read_metadata(st, add_cb, map, &err);
	exstore_destroy(st);
	fifo_executor_run(&fx, 0);
	bdev_destroy(&md->base);
	fifo_executor_destroy(&fx);
	if (map == &own)
		extable_destroy(&own);
	return r == EXSTORE_MARKED_INVALID ? 0 : r;
}

/* ---- the records activation would accept: the validator's, without a fatal finding ---- */

struct good {
	struct cow_record *r;
	size_t n;
};

static int good_rec(void *ctx, uint64_t area, uint64_t slot, const struct cow_record *rec,
		    const struct cow_vfinding *f)
{
	struct good *g = ctx;

	(void)area;
	(void)slot;
	if (!f || f->severity != COW_V_FATAL) {
		g->r = realloc(g->r, (g->n + 1) * sizeof(*g->r));
		g->r[g->n++] = *rec;
	}
	return 0;
}

struct mem_read {
	const uint8_t *b;
	size_t len;
};

static int mem_read(void *ctx, uint64_t sector, uint32_t nr, uint8_t *buf)
{
	struct mem_read *m = ctx;
	uint64_t off = sector << SECTOR_SHIFT, n = (uint64_t)nr << SECTOR_SHIFT;

	if (off + n > m->len)
		return -EIO;
	memcpy(buf, m->b + off, n);
	return 0;
}

static struct good accepted_records(const uint8_t *img, size_t len, uint32_t cs_override)
{
	struct cow_validate_opts o = { .dev_sectors = len >> SECTOR_SHIFT, .block_sectors = 1 };
	struct cow_validate_hooks h = { .on_record = good_rec };
	struct good g = { 0 };
	struct cow_validation v;
	uint8_t *copy = malloc(len);
	struct mem_read m = { copy, len };

	memcpy(copy, img, len);
	if (cs_override)
		for (int i = 0; i < 4; i++)
			copy[12 + i] = (uint8_t)(cs_override >> (8 * i));
	h.ctx = &g;
	cr_assert_eq(cow_validate(&v, &o, mem_read, &m, &h), 0);
	if (v.state != COW_STORE_VALID)
		g.n = 0;
	cow_validation_free(&v);
	free(copy);
	return g;
}

/* ---- helpers ---- */

static bool same_file(const char *p, const uint8_t *b, size_t len)
{
	size_t n;
	char *d = slurp(p, &n);
	bool same = d && n == len && !memcmp(d, b, len);

	free(d);
	return same;
}

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

#define FAIL_IF(cond, ...)                                                                 \
	do {                                                                               \
		if (cond) {                                                                \
			fprintf(stderr, "FAILED cow damage SNAPSIM_SEED=%" PRIu64 " (%s): ", seed, \
				s.damage);                                                 \
			fprintf(stderr, __VA_ARGS__);                                      \
			fprintf(stderr, "\n");                                             \
			cr_expect(false, "SNAPSIM_SEED=%" PRIu64 " damage:%s", seed, s.damage);\
			failed = true;                                                     \
			goto done;                                                         \
		}                                                                          \
	} while (0)

static bool one_case(uint64_t seed)
{
	struct store s;
	struct run_result r = { 0 }, r2 = { 0 };
	const char *dimg = tpath("damaged.img"), *nimg = tpath("new.img"), *n2 = tpath("new2.img");
	const char *uimg = tpath("inplace.img"), *undo = tpath("undo"), *origin = tpath("origin.img");
	const char *eimg = tpath("export.img");
	struct stat st0, st1;
	struct timeval tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct good good = { 0 };
	struct extable map;
	bool map_init = false, failed = false, refused = false;
	char cs_arg[16] = "";
	uint8_t *org = NULL, *want = NULL, *repaired = NULL;
	size_t cb, olen, rlen = 0;
	int acc;

	rng = seed;
	build(&s);
	cb = (size_t)s.cs << SECTOR_SHIFT;
	for (unsigned i = 0, n = 1 + (unsigned)below(2); i < n; i++)
		damage_one(&s);
	unlink(nimg);
	unlink(n2);
	unlink(undo);
	unlink(eimg);
	write_file(dimg, s.b, s.len);
	cr_assert_eq(utimes(dimg, tv), 0);
	cr_assert_eq(stat(dimg, &st0), 0);

	/* check never writes; its verdict is activation's */
	run(&r, "cow", "check", dimg, NULL);
	cr_assert_eq(stat(dimg, &st1), 0);
	FAIL_IF(!same_file(dimg, s.b, s.len), "check changed the image");
	FAIL_IF(st1.st_mtim.tv_sec != st0.st_mtim.tv_sec || st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec,
		"check changed the mtime");
	acc = activate(s.b, s.len, NULL);
	FAIL_IF(r.status != 0 && r.status != 4, "check exit %d", r.status);
	FAIL_IF((r.status == 4) != (acc != 0 || strstr(r.out, "records after a terminator")),
		"check exit %d, activation %d; out:\n%s", r.status, acc, r.out);
	run_free(&r);

	/* repair to a new file */
	run(&r, "cow", "check", dimg, "--repair", "-o", nimg, NULL);
	if (strstr(r.out, "repair refused")) {
		char want_cs[32];

		FAIL_IF(r.status != 4 || exists(nimg), "refused with exit %d / wrote", r.status);
		good = accepted_records(s.b, s.len, 0);
		FAIL_IF(!s.hdr_cs && !s.hdr_fatal && good.n,
			"refused without a header corruption, with %zu valid records:\n%s", good.n, r.out);
		free(good.r);
		good = (struct good){ 0 };
		n_refused++;
		if (s.hdr_fatal)
			goto done; /* nothing more can be asked */
		snprintf(want_cs, sizeof(want_cs), "chunk size %u reads", s.cs);
		FAIL_IF(strstr(r.out, "disagrees with the metadata layout") && !strstr(r.out, want_cs),
			"refusal does not name chunk size %u:\n%s", s.cs, r.out);
		refused = true;
		n_retried++;
		snprintf(cs_arg, sizeof(cs_arg), "%u", s.cs);
		run_free(&r);
		run(&r, "cow", "check", dimg, "--repair", "-o", nimg, "--chunk-size", cs_arg, NULL);
	}
	FAIL_IF(!same_file(dimg, s.b, s.len), "repair -o changed the damaged image");
	FAIL_IF(strstr(r.out, "repair refused"), "refused:\n%s", r.out);
	good = accepted_records(s.b, s.len, refused ? s.cs : 0);
	if (strstr(r.out, "nothing to repair")) {
		FAIL_IF(exists(nimg), "nothing to repair, yet %s written", nimg);
		FAIL_IF(r.status != 0 && r.status != 4, "nothing to repair, exit %d", r.status);
		n_nothing++;
		repaired = malloc(s.len);
		memcpy(repaired, s.b, s.len);
		rlen = s.len;
	} else {
		FAIL_IF(!(r.status & 1) || !exists(nimg), "repair exit %d:\n%s%s", r.status, r.out, r.err);
		n_repaired++;
		repaired = (uint8_t *)slurp(nimg, &rlen);
		FAIL_IF(rlen != s.len, "repaired size %zu", rlen);
		/* No data chunk written: every byte outside the metadata areas and the header is as it was. */
		for (size_t i = 16; i < s.len; i++)
			if (repaired[i] != s.b[i] && !cow_is_area_chunk(s.cs, i / cb)) {
				FAIL_IF(true, "repair wrote byte %zu of data chunk %zu", i, i / cb);
			}
	}
	run_free(&r);

	/* activation accepts the result and keeps every record it accepted before */
	map_init = true;
	acc = activate(repaired, rlen, &map);
	FAIL_IF(acc != 0, "activation refuses the repaired store: %d", acc);
	for (size_t i = 0; i < good.n; i++) {
		chunk_t nc;

		FAIL_IF(!extable_lookup(&map, good.r[i].old_chunk, &nc) || nc != good.r[i].new_chunk,
			"record %" PRIu64 " -> %" PRIu64 " lost", (uint64_t)good.r[i].old_chunk,
			(uint64_t)good.r[i].new_chunk);
	}

	/* export of the repaired store = origin + the damaged image's valid records */
	if (repaired[4] || repaired[5] || repaired[6] || repaired[7]) {
		const char *cow = exists(nimg) ? nimg : dimg;
		uint64_t rcs = refused ? s.cs : 0;
		size_t ecb;

		for (int i = 0; i < 4; i++)
			rcs |= refused ? 0 : (uint64_t)repaired[12 + i] << (8 * i);
		ecb = (size_t)rcs << SECTOR_SHIFT;
		olen = s.origin_chunks * cb;
		org = malloc(olen);
		for (size_t i = 0; i < olen; i++)
			org[i] = (uint8_t)(i * 7 / 512 + 1);
		write_file(origin, org, olen);
		want = malloc(olen);
		memcpy(want, org, olen);
		for (size_t i = 0; i < good.n; i++)
			if ((good.r[i].old_chunk + 1) * ecb <= olen)
				memcpy(want + good.r[i].old_chunk * ecb, s.b + good.r[i].new_chunk * ecb, ecb);
		run(&r, "cow", "export", "--origin", origin, "--cow", cow, "-o", eimg, "-q", NULL);
		FAIL_IF(r.status != 0, "export exit %d: %s", r.status, r.err);
		FAIL_IF(!same_file(eimg, want, olen), "export differs from the best-effort export");
		run_free(&r);
	}

	/* in place with an undo file: same bytes; undo gives the damaged bytes back */
	write_file(uimg, s.b, s.len);
	if (refused)
		run(&r, "cow", "check", uimg, "--repair", "--undo", undo, "--chunk-size", cs_arg, NULL);
	else
		run(&r, "cow", "check", uimg, "--repair", "--undo", undo, NULL);
	FAIL_IF(!same_file(uimg, repaired, rlen), "in-place repair differs from -o:\n%s", r.out);
	run_free(&r);
	if (exists(undo)) {
		run(&r, "cow", "undo", uimg, undo, NULL);
		FAIL_IF(r.status != 0 || !same_file(uimg, s.b, s.len), "undo: exit %d %s", r.status, r.err);
		run_free(&r);
	}

	/* repairing again changes nothing */
	write_file(uimg, repaired, rlen);
	run(&r2, "cow", "check", uimg, "--repair", "-o", n2, NULL);
	FAIL_IF(!strstr(r2.out, "nothing to repair") || exists(n2) || (r2.status != 0 && r2.status != 4),
		"second repair: exit %d\n%s", r2.status, r2.out);
done:
	run_free(&r);
	run_free(&r2);
	if (map_init)
		extable_destroy(&map);
	free(good.r);
	free(repaired);
	free(org);
	free(want);
	free(s.b);
	free(s.rec);
	free(s.spare_old);
	return !failed;
}

Test(prop_cow_damage, damaged_stores, .timeout = 280)
{
	const char *sv = getenv("SNAPSIM_SEED"), *cv = getenv("SNAPSIM_CASES");
	uint64_t first = sv && *sv ? strtoull(sv, NULL, 10) : 1;
	uint64_t cases = cv && *cv ? strtoull(cv, NULL, 10) : sv && *sv ? 1 : 120;
	unsigned failed = 0;

	fprintf(stderr, "property cow_damage: seeds %" PRIu64 "..%" PRIu64 "\n", first,
		first + cases - 1);
	for (uint64_t seed = first; seed < first + cases && failed < 3; seed++)
		failed += !one_case(seed);
	fprintf(stderr, "property cow_damage: %u failed; %u refused (%u then repaired with "
		"--chunk-size), %u repaired, %u nothing to repair\n", failed, n_refused, n_retried,
		n_repaired, n_nothing);
}
