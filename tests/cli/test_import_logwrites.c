/*
 * test_import_logwrites.c - `snapsim import log-writes` on logs made here by
 * the format's own rules (Linux drivers/md/dm-log-writes.c, xfstests
 * src/log-writes): a generator that knows nothing of the importer writes a
 * log and the image the log's writes leave behind; the imported trace must
 * replay, explore, and - run on a new image file with `snapsim run` - leave
 * exactly that image. Corrupt and truncated logs must be refused with the
 * entry and its byte offset, and no output left.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"

/* ---- the generator ---- */

#define F_FLUSH 1u
#define F_FUA 2u
#define F_DISCARD 4u
#define F_MARK 8u
#define F_META 16u

struct gen_entry {
	unsigned flags;
	uint64_t sector, nr;   /* in log sectors */
	unsigned seed;         /* data of a write */
	const char *mark;
};

struct gen {
	uint8_t *log;
	size_t len, cap;
	uint8_t *image;        /* what the writes leave */
	size_t image_len;
	size_t entry_at[64];   /* byte offset of each entry */
};

static void put(struct gen *g, const void *p, size_t n)
{
	if (g->len + n > g->cap) {
		g->cap = (g->len + n) * 2;
		g->log = realloc(g->log, g->cap);
		cr_assert_not_null(g->log);
	}
	memcpy(g->log + g->len, p, n);
	g->len += n;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t data_byte(unsigned seed, uint64_t i)
{
	return (uint8_t)((i * 131u + seed * 7919u + (i >> 9)) ^ (seed << 3));
}

/* A log of n entries with sector size ss; g->image is sized image_len. */
static void gen_log(struct gen *g, unsigned ss, const struct gen_entry *e, unsigned n,
		    size_t image_len)
{
	uint8_t *blk = calloc(1, ss);

	memset(g, 0, sizeof(*g));
	g->image = calloc(1, image_len);
	g->image_len = image_len;
	cr_assert(blk && g->image);
	put_le(blk, 0x6a736677736872ull, 8);  /* magic */
	put_le(blk + 8, 1, 8);                 /* version */
	put_le(blk + 16, n, 8);                /* nr_entries */
	put_le(blk + 24, ss, 4);               /* sectorsize */
	put(g, blk, ss);
	for (unsigned k = 0; k < n; k++) {
		size_t mlen = e[k].mark ? strlen(e[k].mark) : 0;

		memset(blk, 0, ss);
		put_le(blk, e[k].sector, 8);
		put_le(blk + 8, e[k].nr, 8);
		put_le(blk + 16, e[k].flags, 8);
		put_le(blk + 24, mlen, 8);
		if (mlen)
			memcpy(blk + 32, e[k].mark, mlen);
		g->entry_at[k] = g->len;
		put(g, blk, ss);
		if (e[k].flags & (F_MARK | F_DISCARD)) {
			if (e[k].flags & F_DISCARD)
				memset(g->image + e[k].sector * ss, 0, e[k].nr * ss);
			continue;
		}
		for (uint64_t i = 0; i < e[k].nr * ss; i++) {
			uint8_t b = data_byte(e[k].seed, i);

			put(g, &b, 1);
			g->image[e[k].sector * ss + i] = b;
		}
	}
	free(blk);
}

static void gen_free(struct gen *g)
{
	free(g->log);
	free(g->image);
}

/* A log in the order dm-log-writes writes one: writes, a flush, FUA, marks. */
static const struct gen_entry sample[] = {
	{ .flags = 0, .sector = 0, .nr = 8, .seed = 1 },
	{ .flags = F_META, .sector = 64, .nr = 2, .seed = 2 },
	{ .flags = F_FLUSH, .sector = 0, .nr = 0 },
	{ .flags = F_MARK, .mark = "mkfs" },
	{ .flags = F_FUA, .sector = 16, .nr = 4, .seed = 3 },
	{ .flags = F_DISCARD, .sector = 2, .nr = 3 },
	{ .flags = F_FLUSH | F_FUA, .sector = 70, .nr = 1, .seed = 4 },
	{ .flags = 0, .sector = 3, .nr = 1, .seed = 5 },  /* into the discarded range */
	{ .flags = F_FLUSH, .sector = 0, .nr = 0 },
	{ .flags = F_MARK, .mark = "dm-log-writes-end" },
};
#define NSAMPLE (sizeof(sample) / sizeof(sample[0]))

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(import_logwrites, .init = setup, .fini = teardown);

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* Import, replay, run on a new file, and compare with the generator's image. */
static void round_trip(unsigned ss)
{
	struct gen g;
	struct run_result r;
	size_t len;
	char *img;

	gen_log(&g, ss, sample, NSAMPLE, 71 * (size_t)ss); /* highest write ends at 71 */
	write_file(tpath("fs.log"), g.log, g.len);
	run(&r, "import", "log-writes", tpath("fs.log"), "-o", tpath("fs.yaml"), NULL);
	cr_assert_eq(r.status, 0, "import: %s", r.err);
	assert_has(r.out, "10 entries: 5 writes, 2 flushes, 1 discards, 2 marks");
	run_free(&r);
	img = slurp(tpath("fs.yaml"), NULL);
	assert_has(img, "crash: \"mkfs\"");
	assert_has(img, "fua: true, preflush: true");
	assert_has(img, "discard: on");
	free(img);
	run(&r, "replay", tpath("fs.yaml"), "-q", NULL);
	cr_assert_eq(r.status, 0, "replay: %s%s", r.out, r.err);
	run_free(&r);
	run(&r, "explore", tpath("fs.yaml"), "--budget", "4", "-q", "--no-minimize", NULL);
	cr_assert_eq(r.status, 0, "explore: %s%s", r.out, r.err);
	run_free(&r);
	run(&r, "run", tpath("fs.yaml"), "--disk", "disk=", NULL); /* usage: empty path */
	cr_assert_eq(r.status, 2);
	run_free(&r);
	char arg[300];

	snprintf(arg, sizeof(arg), "disk=%s", tpath("fs.img"));
	run(&r, "run", tpath("fs.yaml"), "--disk", arg, "--create", NULL);
	cr_assert_eq(r.status, 0, "run: %s%s", r.out, r.err);
	run_free(&r);
	img = slurp(tpath("fs.img"), &len);
	cr_assert_eq(len, g.image_len);
	cr_assert(!memcmp(img, g.image, len), "the image differs from what the log wrote");
	free(img);
	gen_free(&g);
}

/* --snapshot: the log through an origin with a persistent snapshot; the origin
 * ends as the log wrote it, the COW exports as the disk before the log. */
static void through_snapshot(unsigned ss)
{
	struct gen g;
	struct run_result r;
	char a[300], b[300];
	size_t len;
	char *img;

	gen_log(&g, ss, sample, NSAMPLE, 71 * (size_t)ss);
	write_file(tpath("fs.log"), g.log, g.len);
	run(&r, "import", "log-writes", tpath("fs.log"), "-o", tpath("fs.yaml"), "--snapshot", "8",
	    NULL);
	cr_assert_eq(r.status, 0, "import: %s", r.err);
	run_free(&r);
	run(&r, "replay", tpath("fs.yaml"), "-q", NULL);
	cr_assert_eq(r.status, 0, "replay: %s%s", r.out, r.err);
	run_free(&r);
	run(&r, "explore", tpath("fs.yaml"), "--budget", "4", "-q", "--no-minimize", NULL);
	cr_assert_eq(r.status, 0, "explore: %s%s", r.out, r.err);
	run_free(&r);
	snprintf(a, sizeof(a), "disk=%s", tpath("o.img"));
	snprintf(b, sizeof(b), "disk_cow=%s", tpath("c.img"));
	run(&r, "run", tpath("fs.yaml"), "--disk", a, "--disk", b, "--create", "-q", NULL);
	cr_assert_eq(r.status, 0, "run: %s%s", r.out, r.err);
	run_free(&r);
	/* Linux's snapshot-origin takes no discard: the origin is the log's
	 * writes alone (the same log without its discard). */
	struct gen_entry nodiscard[NSAMPLE];
	struct gen g2;
	unsigned n2 = 0;

	for (unsigned k = 0; k < NSAMPLE; k++)
		if (!(sample[k].flags & F_DISCARD))
			nodiscard[n2++] = sample[k];
	gen_log(&g2, ss, nodiscard, n2, 71 * (size_t)ss);
	cr_assert(memcmp(g2.image, g.image, g.image_len), "the sample's discard changes nothing");
	img = slurp(tpath("o.img"), &len);
	cr_assert_eq(len, g2.image_len);
	cr_assert(!memcmp(img, g2.image, len), "the origin differs from what the log wrote");
	free(img);
	gen_free(&g2);
	run(&r, "cow", "export", "--origin", tpath("o.img"), "--cow", tpath("c.img"), "-o",
	    tpath("s.img"), "-q", NULL);
	cr_assert_eq(r.status, 0, "export: %s%s", r.out, r.err);
	run_free(&r);
	img = slurp(tpath("s.img"), &len);
	cr_assert_eq(len, g.image_len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(img[i], 0, "the snapshot changed at byte %zu", i);
	free(img);
	gen_free(&g);
}

Test(import_logwrites, through_a_snapshot_512)
{
	through_snapshot(512);
}

/* A 4K log: the explorer's writes after a restart are whole blocks. */
Test(import_logwrites, through_a_snapshot_4096)
{
	through_snapshot(4096);
}

Test(import_logwrites, round_trip_512)
{
	round_trip(512);
}

Test(import_logwrites, round_trip_4096)
{
	round_trip(4096);
}

/* A bad log: exit 3, the message has want, and neither output exists. */
static void refused(const struct gen *g, size_t len, const char *want)
{
	struct run_result r;

	write_file(tpath("bad.log"), g->log, len);
	run(&r, "import", "log-writes", tpath("bad.log"), "-o", tpath("bad.yaml"), NULL);
	cr_assert_eq(r.status, 3, "status %d: %s", r.status, r.err);
	assert_has(r.err, want);
	cr_assert(!exists(tpath("bad.yaml")) && !exists(tpath("bad.data")));
	run_free(&r);
}

Test(import_logwrites, corrupt_logs_are_refused_with_the_entry_and_offset)
{
	struct gen g;
	char want[200];

	gen_log(&g, 512, sample, NSAMPLE, 71 * 512);
	/* Entry 4's data cut: its data starts one block after its header. */
	snprintf(want, sizeof(want), "entry 4 at byte %zu: truncated: 2048 bytes of data from"
		 " byte %zu", g.entry_at[4], g.entry_at[4] + 512);
	refused(&g, g.entry_at[4] + 512 + 100, want);
	/* The log ends inside entry 7's block. */
	snprintf(want, sizeof(want), "entry 7 at byte %zu: truncated", g.entry_at[7]);
	refused(&g, g.entry_at[7] + 40, want);
	/* A non-mark entry whose block is not zero-padded. */
	g.log[g.entry_at[1] + 32] = 0xab;
	snprintf(want, sizeof(want), "entry 1 at byte %zu: entry block not zero-padded",
		 g.entry_at[1]);
	refused(&g, g.len, want);
	g.log[g.entry_at[1] + 32] = 0;
	/* Unknown flags. */
	g.log[g.entry_at[0] + 16] = 0x40;
	snprintf(want, sizeof(want), "entry 0 at byte %zu: unknown flags 0x40", g.entry_at[0]);
	refused(&g, g.len, want);
	g.log[g.entry_at[0] + 16] = 0;
	/* An all-zero entry (the flush at entry 2 has flags 1: clear them). */
	g.log[g.entry_at[2] + 16] = 0;
	snprintf(want, sizeof(want), "entry 2 at byte %zu: empty entry", g.entry_at[2]);
	refused(&g, g.len, want);
	g.log[g.entry_at[2] + 16] = 1;
	/* The super block: magic, version. */
	g.log[3] ^= 1;
	refused(&g, g.len, "bad.log: byte 0: not a dm-log-writes log");
	g.log[3] ^= 1;
	g.log[8] = 2;
	refused(&g, g.len, "bad.log: byte 8: log version 2 is not supported");
	g.log[8] = 1;
	refused(&g, 20, "bad.log: byte 0: truncated super block (20 bytes, needs 28)");
	/* More entries claimed than the log holds. */
	g.log[16] = NSAMPLE + 1;
	snprintf(want, sizeof(want), "entry %zu at byte %zu: truncated", NSAMPLE, g.len);
	refused(&g, g.len, want);
	gen_free(&g);
}

Test(import_logwrites, outputs_are_not_replaced_without_force)
{
	struct gen g;
	struct run_result r;
	char *before;

	gen_log(&g, 512, sample, 3, 71 * 512);
	write_file(tpath("a.log"), g.log, g.len);
	write_text(tpath("a.yaml"), "mine\n");
	run(&r, "import", "log-writes", tpath("a.log"), "-o", tpath("a.yaml"), NULL);
	cr_assert_eq(r.status, 4, "%s", r.err);
	assert_has(r.err, "--force");
	run_free(&r);
	before = slurp(tpath("a.yaml"), NULL);
	cr_assert_str_eq(before, "mine\n");
	free(before);
	cr_assert(!exists(tpath("a.data")));
	run(&r, "import", "log-writes", tpath("a.log"), "-o", tpath("a.yaml"), "--force",
	    "--disk", "sdb", "--size", "1M", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	before = slurp(tpath("a.yaml"), NULL);
	assert_has(before, "{name: sdb, size: 1048576B, sector_size: 512}");
	free(before);
	gen_free(&g);
}
