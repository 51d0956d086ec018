/*
 * test_dm_targets.c - the mapped device's I/O path and the built-in
 * targets: data through linear, zero and error; splitting at target
 * boundaries and max_io_len; PREFLUSH and FUA; per-bio data and end_io;
 * stacking dm on dm; control-path sync_rw.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "dm_target.h"
#include "dm_test_env.h"

static struct env E;

static void setup(void)
{
	env_init(&E);
	env_disk(&E, "/dev/sd1a", 2048, 1);
	env_disk(&E, "disk2", 256, 2);
}

static void teardown(void)
{
	env_fini(&E);
}

TestSuite(dm_io, .init = setup, .fini = teardown);

static void create_ok(const char *name, const char *table)
{
	struct ss_error err;

	ss_error_clear(&err);
	env_ok(dm_create(E.reg, name, NULL, table, 0, &err), &err);
}

static uint8_t disk_byte(unsigned d, sector_t s)
{
	return E.disks[d]->data[s << SECTOR_SHIFT];
}

/* ---- a recording target: remaps like linear at offset 0 ---- */

#define REC_MAX 64
struct rec_entry {
	enum bio_op op;
	unsigned flags;
	sector_t sector;
	uint32_t nr;
};
static struct rec_entry rec_log[REC_MAX];
static unsigned rec_n, rec_end_io_calls;

struct rec_c {
	struct bdev *dev;
};

static int rec_ctr(struct dm_target *ti, unsigned argc, char **argv)
{
	struct rec_c *rc;
	uint64_t max;
	int r;

	if (argc != 2) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	if (dm_parse_u64(argv[1], UINT32_MAX, &max)) {
		ti->error = "Invalid max_io_len";
		ti->error_arg = 1;
		return -EINVAL;
	}
	rc = calloc(1, sizeof(*rc));
	r = dm_get_device(ti, argv[0], DM_MODE_READ | DM_MODE_WRITE, &rc->dev);
	if (r) {
		free(rc);
		ti->error = "Device lookup failed";
		ti->error_arg = 0;
		return r;
	}
	ti->max_io_len = (uint32_t)max;
	ti->per_io_data_size = 24;
	ti->private = rc;
	return 0;
}

static void rec_dtr(struct dm_target *ti)
{
	struct rec_c *rc = ti->private;

	dm_put_device(ti, rc->dev);
	free(rc);
}

static int rec_map(struct dm_target *ti, struct bio *bio)
{
	struct rec_c *rc = ti->private;
	uint64_t *pbd = dm_per_bio_data(bio);

	cr_assert_eq(dm_bio_target(bio), ti);
	if (rec_n < REC_MAX)
		rec_log[rec_n++] = (struct rec_entry){ bio->op, bio->flags,
						       bio->sector, bio->nr_sectors };
	pbd[0] = 0xfeedull + bio->sector;
	pbd[2] = 7;
	bio->bdev = rc->dev;
	return DM_MAPIO_REMAPPED;
}

static int rec_end_io(struct dm_target *ti, struct bio *bio, int status)
{
	uint64_t *pbd = dm_per_bio_data(bio);

	(void)ti;
	rec_end_io_calls++;
	/* The per-bio data survives until end_io; the sector was remapped
	 * to the same number. */
	cr_expect_eq(pbd[0], 0xfeedull + bio->sector);
	cr_expect_eq(pbd[2], 7);
	return status;
}

static void rec_status(struct dm_target *ti, enum status_type type, char *buf,
		       size_t len)
{
	struct rec_c *rc = ti->private;
	char name[64];

	if (type == STATUSTYPE_INFO)
		snprintf(buf, len, "%u", rec_n);
	else
		snprintf(buf, len, "%s %u", dm_device_name(ti, rc->dev, name, sizeof(name)),
			 ti->max_io_len);
}

static const struct target_type rec_target = {
	.name = "rec",
	.version = { 9, 9, 9 },
	.ctr = rec_ctr,
	.dtr = rec_dtr,
	.map = rec_map,
	.end_io = rec_end_io,
	.status = rec_status,
};

static void register_rec(void)
{
	cr_assert_eq(dm_registry_register_target(E.reg, &rec_target), 0);
	rec_n = 0;
	rec_end_io_calls = 0;
}

static void expect_rec(unsigned i, enum bio_op op, unsigned flags,
		       sector_t sector, uint32_t nr)
{
	cr_assert_lt(i, rec_n);
	cr_expect_eq(rec_log[i].op, op, "clone %u op", i);
	cr_expect_eq(rec_log[i].flags, flags, "clone %u flags %#x", i, rec_log[i].flags);
	cr_expect_eq(rec_log[i].sector, sector, "clone %u sector %llu", i,
		     (unsigned long long)rec_log[i].sector);
	cr_expect_eq(rec_log[i].nr, nr, "clone %u nr %u", i, rec_log[i].nr);
}

/* ---- data ---- */

Test(dm_io, linear_read_write)
{
	uint8_t buf[4 * 512];

	create_ok("X", "0 100 linear /dev/sd1a 384\n100 50 linear disk2 10");
	/* A read across the boundary: 2 sectors from each. */
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_READ, 0, 98, 4, buf), 0);
	cr_expect_eq(buf[0], disk_byte(0, 384 + 98));
	cr_expect_eq(buf[512], disk_byte(0, 384 + 99));
	cr_expect_eq(buf[1024], disk_byte(1, 10));
	cr_expect_eq(buf[1536], disk_byte(1, 11));
	memset(buf, 0x5a, sizeof(buf));
	memset(buf + 1024, 0xa5, 1024);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_WRITE, 0, 98, 4, buf), 0);
	cr_expect_eq(disk_byte(0, 384 + 99), 0x5a);
	cr_expect_eq(disk_byte(1, 10), 0xa5);
	cr_expect_eq(disk_byte(1, 11), 0xa5);
	cr_expect_eq(disk_byte(1, 12), (uint8_t)(12 * 7 + 2));
	/* Out of range. */
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_READ, 0, 149, 2, buf), -EIO);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_READ, 0, 150, 1, buf), -EIO);
	cr_expect_eq(env_dm(&E, "X")->size_sectors, 150);
}

Test(dm_io, zero_and_error)
{
	uint8_t buf[3 * 512];

	create_ok("X", "0 10 zero\n10 10 error\n20 10 linear disk2 0");
	memset(buf, 0xee, sizeof(buf));
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_READ, 0, 2, 3, buf), 0);
	for (unsigned i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_WRITE, 0, 2, 3, buf), 0);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_DISCARD, 0, 0, 5, NULL), 0);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_READ, 0, 10, 1, buf), -EIO);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_WRITE, 0, 19, 1, buf), -EIO);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_DISCARD, 0, 12, 1, NULL), -EIO);
	/* Spanning error and linear: fails, the linear part is still written. */
	memset(buf, 0x33, sizeof(buf));
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_WRITE, 0, 19, 2, buf), -EIO);
	cr_expect_eq(disk_byte(1, 0), 0x33);
	/* Flushes: the error target takes none, so they succeed. */
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_FLUSH, 0, 0, 0, NULL), 0);
	cr_expect_eq(E.disks[1]->flushes, 1);
	cr_expect(env_dm(&E, "X")->caps & BDEV_CAP_DISCARD);
}

Test(dm_io, error_target_with_device)
{
	struct ss_error err;
	uint8_t buf[512];

	create_ok("X", "0 10 error disk2 5");
	expect_text(&E, "X", TEXT_TABLE, false, "0 10 error \n");
	expect_text(&E, "X", TEXT_DEPS, false, "1 dependencies\t: (7, 1)\n");
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_READ, 0, 0, 1, buf), -EIO);
	cr_expect_eq(bdev_sync_rw(env_dm(&E, "X"), BIO_READ, 0, 1, buf), -EIO);
	ss_error_clear(&err);
	cr_expect_eq(dm_remove(E.reg, "X", &err), 0);
	cr_expect_eq(E.disks[1]->base.open_count, 0);
}

/* ---- splitting ---- */

Test(dm_io, split_at_boundaries_and_max_io_len)
{
	uint8_t buf[40 * 512];

	register_rec();
	create_ok("X", "0 100 rec disk2 8\n100 100 linear /dev/sd1a 0\n200 3 zero\n203 40 rec disk2 16");
	expect_text(&E, "X", TEXT_TABLE, false,
		    "0 100 rec disk2 8\n100 100 linear /dev/sd1a 0\n200 3 zero \n203 40 rec disk2 16\n");
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i >> 9);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_WRITE, BIO_SYNC, 90, 30, buf), 0);
	cr_expect_eq(rec_n, 2);
	expect_rec(0, BIO_WRITE, BIO_SYNC, 90, 6);  /* up to 96, a multiple of 8 */
	expect_rec(1, BIO_WRITE, BIO_SYNC, 96, 4);  /* up to the target's end */
	cr_expect_eq(rec_end_io_calls, 2);
	/* Data offsets follow the clones. */
	cr_expect_eq(disk_byte(1, 90), 0);
	cr_expect_eq(disk_byte(1, 95), 5);
	cr_expect_eq(disk_byte(1, 96), 6);
	cr_expect_eq(disk_byte(1, 99), 9);
	cr_expect_eq(disk_byte(0, 0), 10); /* linear counts from its own start */
	cr_expect_eq(disk_byte(0, 19), 29);

	/* max_io_len counts from the target's start, not sector 0. */
	rec_n = 0;
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_READ, 0, 201, 40, buf), 0);
	cr_expect_eq(rec_n, 3);
	expect_rec(0, BIO_READ, 0, 203, 16);
	expect_rec(1, BIO_READ, 0, 219, 16);
	expect_rec(2, BIO_READ, 0, 235, 6);
	cr_expect_eq(buf[0], 0);            /* zero target */
	cr_expect_eq(buf[2 * 512], disk_byte(1, 203));
	expect_text(&E, "X", TEXT_STATUS, false,
		    "0 100 rec 3\n100 100 linear \n200 3 zero \n203 40 rec 3\n");
}

/* ---- PREFLUSH, FUA ---- */

Test(dm_io, preflush_is_split_into_flushes_then_data)
{
	struct hold_bdev h0, h1;
	struct io_result r = { 0, 0 };
	struct ss_error err;
	uint8_t buf[2 * 512];
	struct bio bio;

	hold_init(&h0, "h0", &E.disks[0]->base);
	hold_init(&h1, "h1", &E.disks[1]->base);
	ss_error_clear(&err);
	env_ok(dm_registry_add_bdev(E.reg, &h0.base, &err), &err);
	env_ok(dm_registry_add_bdev(E.reg, &h1.base, &err), &err);
	create_ok("X", "0 10 linear h0 0\n10 10 linear h1 0\n20 5 zero");
	h0.holding = h1.holding = true;
	memset(buf, 0x77, sizeof(buf));
	bio_init(&bio, env_dm(&E, "X"), BIO_WRITE, BIO_PREFLUSH | BIO_FUA, 9, 2, buf,
		 io_result_done, &r);
	bdev_submit(&bio);
	fifo_executor_run(&E.fx, 0);
	/* First an empty flush to every target, nothing else. */
	cr_assert_eq(h0.nlog, 1);
	cr_assert_eq(h1.nlog, 1);
	cr_expect_eq(h0.log_copy[0].op, BIO_FLUSH);
	cr_expect_eq(h0.log_copy[0].flags, 0);
	cr_expect_eq(h1.log_copy[0].op, BIO_FLUSH);
	hold_release(&h0);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(h0.nlog, 1, "no data before every flush completed");
	hold_release(&h1);
	fifo_executor_run(&E.fx, 0);
	/* Then the data, without PREFLUSH, FUA kept, split at the boundary. */
	cr_assert_eq(h0.nlog, 2);
	cr_assert_eq(h1.nlog, 2);
	cr_expect_eq(h0.log_copy[1].op, BIO_WRITE);
	cr_expect_eq(h0.log_copy[1].flags, BIO_FUA);
	cr_expect_eq(h0.log_copy[1].sector, 9);
	cr_expect_eq(h0.log_copy[1].nr_sectors, 1);
	cr_expect_eq(h1.log_copy[1].flags, BIO_FUA);
	cr_expect_eq(h1.log_copy[1].sector, 0);
	cr_expect_eq(r.done, 0);
	hold_release(&h0);
	hold_release(&h1);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(r.done, 1);
	cr_expect_eq(r.status, 0);
	cr_expect_eq(disk_byte(0, 9), 0x77);
	cr_expect_eq(disk_byte(1, 0), 0x77);
	cr_expect_eq(E.disks[0]->flushes, 1);
	cr_expect_eq(E.disks[1]->flushes, 1);
}

static int fail_flushes(void *ctx, const struct bio *bio)
{
	(void)ctx;
	return bio->op == BIO_FLUSH ? -EIO : 0;
}

Test(dm_io, failed_preflush_skips_the_data)
{
	uint8_t buf[512];

	create_ok("X", "0 10 linear disk2 0");
	E.disks[1]->fault = fail_flushes;
	memset(buf, 0x99, sizeof(buf));
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_WRITE, BIO_PREFLUSH, 1, 1, buf), -EIO);
	cr_expect_eq(E.disks[1]->writes, 0);
	cr_expect_neq(disk_byte(1, 1), 0x99);
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_FLUSH, 0, 0, 0, NULL), -EIO);
	E.disks[1]->fault = NULL;
	/* A PREFLUSH write with no data is just the flush. */
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_WRITE, BIO_PREFLUSH, 0, 0, NULL), 0);
	cr_expect_eq(E.disks[1]->flushes, 1);
	cr_expect_eq(E.disks[1]->writes, 0);
}

/* ---- stacking ---- */

Test(dm_io, dm_on_dm_passes_data_and_fua)
{
	struct hold_bdev h;
	struct ss_error err;
	uint8_t buf[512], rd[512];

	hold_init(&h, "h", &E.disks[0]->base);
	ss_error_clear(&err);
	env_ok(dm_registry_add_bdev(E.reg, &h.base, &err), &err);
	create_ok("low", "0 1000 linear h 1000");
	create_ok("mid", "0 500 linear /dev/mapper/low 100");
	create_ok("top", "0 100 zero\n100 200 linear 254:1 50");
	expect_text(&E, "top", TEXT_TABLE, false, "0 100 zero \n100 200 linear 254:1 50\n");
	expect_text(&E, "mid", TEXT_DEPS, false, "1 dependencies\t: (254, 0)\n");
	memset(buf, 0x42, sizeof(buf));
	cr_expect_eq(env_io(&E, env_dm(&E, "top"), BIO_WRITE, BIO_FUA, 150, 1, buf), 0);
	/* top 150 -> mid 100 -> low 200 -> disk 1200 */
	cr_expect_eq(disk_byte(0, 1200), 0x42);
	cr_assert_eq(h.nlog, 1);
	cr_expect_eq(h.log_copy[0].flags, BIO_FUA);
	cr_expect_eq(h.log_copy[0].sector, 1200);
	cr_expect_eq(env_io(&E, env_dm(&E, "top"), BIO_WRITE, BIO_PREFLUSH, 151, 1, buf), 0);
	cr_expect_eq(h.log_copy[1].op, BIO_FLUSH);
	cr_expect_eq(h.log_copy[2].op, BIO_WRITE);
	cr_expect_eq(h.log_copy[2].flags, 0);
	cr_expect_eq(env_io(&E, env_dm(&E, "top"), BIO_READ, 0, 150, 1, rd), 0);
	cr_expect_eq(rd[511], 0x42);
	cr_expect_eq(env_dm(&E, "low")->open_count, 1);
	cr_expect_eq(env_dm(&E, "mid")->open_count, 1);
}

Test(dm_io, sync_rw_through_targets)
{
	uint8_t buf[4 * 512], w[512];

	create_ok("low", "0 500 linear /dev/sd1a 1000");
	create_ok("X", "0 2 zero\n2 100 linear /dev/mapper/low 10\n102 1 error");
	memset(buf, 0xcc, sizeof(buf));
	cr_expect_eq(bdev_sync_rw(env_dm(&E, "X"), BIO_READ, 0, 4, buf), 0);
	cr_expect_eq(buf[0], 0);
	cr_expect_eq(buf[1023], 0);
	cr_expect_eq(buf[1024], disk_byte(0, 1010));
	cr_expect_eq(buf[1536], disk_byte(0, 1011));
	memset(w, 0x17, sizeof(w));
	cr_expect_eq(bdev_sync_rw(env_dm(&E, "X"), BIO_WRITE, 3, 1, w), 0);
	cr_expect_eq(disk_byte(0, 1011), 0x17);
	cr_expect_eq(bdev_sync_rw(env_dm(&E, "X"), BIO_READ, 101, 2, buf), -EIO);
	cr_expect_eq(bdev_sync_rw(env_dm(&E, "X"), BIO_READ, 103, 1, buf), -EIO);
	create_ok("empty", NULL);
	cr_expect_eq(bdev_sync_rw(env_dm(&E, "empty"), BIO_READ, 0, 0, buf), -EIO);
	/* A control-path flush reaches every target: linear passes it on, the
	 * error target fails it (as it fails every request). */
	cr_expect_eq(bdev_sync_rw(env_dm(&E, "low"), BIO_FLUSH, 0, 0, NULL), 0);
	cr_expect_eq(bdev_sync_rw(env_dm(&E, "X"), BIO_FLUSH, 0, 0, NULL), -EIO);
	create_ok("Z", "0 2 zero\n2 100 linear /dev/mapper/low 10");
	cr_expect_eq(bdev_sync_rw(env_dm(&E, "Z"), BIO_FLUSH, 0, 0, NULL), 0);
}

Test(dm_io, discard_through_linear)
{
	create_ok("X", "0 10 linear disk2 20");
	cr_expect_eq(env_io(&E, env_dm(&E, "X"), BIO_DISCARD, 0, 1, 2, NULL), 0);
	cr_expect_eq(E.disks[1]->discards, 1);
	cr_expect_eq(disk_byte(1, 21), 0);
	cr_expect_eq(disk_byte(1, 22), 0);
	cr_expect_neq(disk_byte(1, 23), 0);
}

Test(dm_io, many_requests_in_flight_complete_once_each)
{
	struct io_result r[32];
	struct bio bios[32];
	uint8_t bufs[32][512];

	create_ok("X", "0 16 linear disk2 0\n16 16 zero");
	for (unsigned i = 0; i < 32; i++) {
		r[i] = (struct io_result){ 0, 0 };
		memset(bufs[i], (int)i, 512);
		bio_init(&bios[i], env_dm(&E, "X"), i % 2 ? BIO_READ : BIO_WRITE, 0, i, 1,
			 bufs[i], io_result_done, &r[i]);
		bdev_submit(&bios[i]);
	}
	fifo_executor_run(&E.fx, 0);
	for (unsigned i = 0; i < 32; i++) {
		cr_expect_eq(r[i].done, 1);
		cr_expect_eq(r[i].status, 0);
	}
	cr_expect_eq(disk_byte(1, 2), 2);
	cr_expect_eq(bufs[17][0], 0);
}

/* ---- property: random tables and I/O against a flat model of the disk ---- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return splitmix64(s) % n;
}

struct seg {
	sector_t begin, len, off;
	int kind; /* 0 linear onto disk 0, 1 zero, 2 error */
};

Test(dm_io, property_random_tables_match_model)
{
	const char *env_seed = getenv("SNAPSIM_SEED");
	const char *env_cases = getenv("SNAPSIM_CASES");
	uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) : 0x5eed0003ull;
	unsigned cases = env_cases ? (unsigned)strtoul(env_cases, NULL, 0) : 500;
	unsigned tables = cases / 10 ? cases / 10 : 1;
	const sector_t disk_sectors = E.disks[0]->base.size_sectors;
	uint8_t *model = malloc(disk_sectors << SECTOR_SHIFT);
	uint8_t *buf = malloc(64 << SECTOR_SHIFT);
	uint64_t st = seed;

	fprintf(stderr, "property_random_tables_match_model: SNAPSIM_SEED=%" PRIu64
		" SNAPSIM_CASES=%u\n", seed, cases);
	cr_assert(model && buf);
	memcpy(model, E.disks[0]->data, disk_sectors << SECTOR_SHIFT);
	for (unsigned tno = 0; tno < tables; tno++) {
		struct seg segs[8];
		unsigned n = 1 + (unsigned)rnd(&st, 8);
		char text[1024];
		size_t tl = 0;
		sector_t size = 0;
		struct ss_error err;

		for (unsigned i = 0; i < n; i++) {
			struct seg *g = &segs[i];

			g->begin = size;
			g->len = 1 + rnd(&st, 100);
			g->kind = rnd(&st, 4) == 0 ? 1 + (int)rnd(&st, 2) : 0;
			g->off = rnd(&st, disk_sectors - g->len + 1);
			if (g->kind == 0)
				tl += (size_t)snprintf(text + tl, sizeof(text) - tl,
					"%llu %llu linear /dev/sd1a %llu\n",
					(unsigned long long)g->begin,
					(unsigned long long)g->len,
					(unsigned long long)g->off);
			else
				tl += (size_t)snprintf(text + tl, sizeof(text) - tl,
					"%llu %llu %s\n", (unsigned long long)g->begin,
					(unsigned long long)g->len,
					g->kind == 1 ? "zero" : "error");
			size += g->len;
		}
		ss_error_clear(&err);
		env_ok(dm_create(E.reg, "P", NULL, text, 0, &err), &err);
		for (unsigned op = 0; op < 10; op++) {
			sector_t s = rnd(&st, size);
			uint32_t cnt = 1 + (uint32_t)rnd(&st, size - s < 64 ? size - s : 64);
			bool write = rnd(&st, 2);
			int want = 0, got;

			if (write)
				for (uint32_t i = 0; i < cnt << SECTOR_SHIFT; i++)
					buf[i] = (uint8_t)splitmix64(&st);
			got = env_io(&E, env_dm(&E, "P"), write ? BIO_WRITE : BIO_READ, 0,
				     s, cnt, buf);
			for (uint32_t i = 0; i < cnt; i++) {
				sector_t x = s + i;
				const struct seg *g = segs;
				uint8_t *bp = buf + ((size_t)i << SECTOR_SHIFT);

				while (x >= g->begin + g->len)
					g++;
				if (g->kind == 2) {
					want = -EIO;
					continue;
				}
				if (g->kind == 1) {
					if (!write)
						for (unsigned b = 0; b < SECTOR_SIZE; b++)
							cr_assert_eq(bp[b], 0,
								     "seed %" PRIu64 " table %u: zero read", seed, tno);
					continue;
				}
				uint8_t *mp = model + ((g->off + x - g->begin) << SECTOR_SHIFT);

				if (write)
					memcpy(mp, bp, SECTOR_SIZE);
				else
					cr_assert(!memcmp(mp, bp, SECTOR_SIZE),
						  "seed %" PRIu64 " table %u: sector %llu differs\n%s",
						  seed, tno, (unsigned long long)x, text);
			}
			cr_assert_eq(got, want, "seed %" PRIu64 " table %u op %u", seed, tno, op);
			cr_assert(!memcmp(model, E.disks[0]->data, disk_sectors << SECTOR_SHIFT),
				  "seed %" PRIu64 " table %u op %u: disk differs from model\n%s",
				  seed, tno, op, text);
		}
		env_ok(dm_remove(E.reg, "P", &err), &err);
	}
	free(model);
	free(buf);
}
