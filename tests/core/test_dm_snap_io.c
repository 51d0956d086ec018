/*
 * test_dm_snap_io.c - the snapshot I/O paths through the dm registry
 * (spec 4, 6.8): the seed's 8-step recipe on memory disks and on image
 * files, re-activation, several snapshots, snapshot writes, read tracking,
 * full COW / overflow / I/O errors, suspend draining, merge, handover and
 * flush fan-out.
 */
#include "snap_test_env.h"

#include <fcntl.h>
#include <unistd.h>

#include "file_bdev.h"

#define ORG_OFFSET 384
#define X_SECTORS 1024
#define CS 64

/* ---- fixture ---- */

static struct senv E;

static void setup(void)
{
	senv_init(&E);
}

static void teardown(void)
{
	senv_fini(&E);
}

TestSuite(snap_io, .init = setup, .fini = teardown);

static uint8_t *buf_alloc(sector_t n)
{
	uint8_t *b = calloc(n ? n : 1, SECTOR_SIZE);

	cr_assert_not_null(b);
	return b;
}

/* Write [s, s+n) of dev with pattern tag. */
static void write_tag(struct bdev *dev, sector_t s, uint32_t n, unsigned tag)
{
	uint8_t *b = buf_alloc(n);

	fill_pattern(b, s, n, tag);
	cr_assert_eq(senv_io(&E, dev, BIO_WRITE, 0, s, n, b), 0,
		     "write %llu+%u", (unsigned long long)s, n);
	free(b);
}

/* Assert [s, s+n) of dev reads as pattern tag. */
static void expect_tag(struct bdev *dev, sector_t s, uint32_t n, unsigned tag)
{
	uint8_t *b = buf_alloc(n);

	cr_assert_eq(senv_io(&E, dev, BIO_READ, 0, s, n, b), 0);
	cr_expect(has_pattern(b, s, n, tag), "%s %llu+%u is not tag %u",
		  dev->name, (unsigned long long)s, n, tag);
	free(b);
}

static int read_status(struct bdev *dev, sector_t s, uint32_t n)
{
	uint8_t *b = buf_alloc(n);
	int r = senv_io(&E, dev, BIO_READ, 0, s, n, b);

	free(b);
	return r;
}

/*
 * The seed's recipe (spec 6.8): X is live on `data`; take a snapshot X_snap
 * with COW `cow` and the given store and chunk size.
 */
static void recipe(const char *data, const char *cow, const char *store,
		   unsigned cs)
{
	char line[256];
	char *xtable;

	snprintf(line, sizeof(line), "0 %u linear %s %u", X_SECTORS, data,
		 ORG_OFFSET);
	if (!dm_find_device(E.reg, "X"))
		senv_create(&E, "X", line);
	senv_suspend(&E, "X");                          /* 1 */
	senv_create(&E, "X_org", NULL);                 /* 2 */
	xtable = senv_text(&E, "X", false);             /* 3 */
	senv_load(&E, "X_org", xtable);
	free(xtable);
	senv_resume(&E, "X_org");                       /* 4 */
	senv_create(&E, "X_snap", NULL);                /* 5 */
	snprintf(line, sizeof(line), "0 %u snapshot /dev/mapper/X_org %s %s %u",
		 X_SECTORS, cow, store, cs);
	senv_load(&E, "X_snap", line);                  /* 6 */
	snprintf(line, sizeof(line), "0 %u snapshot-origin /dev/mapper/X_org",
		 X_SECTORS);
	senv_load(&E, "X", line);                       /* 7 */
	senv_resume(&E, "X_snap");                      /* 8 */
	senv_resume(&E, "X");
}

static void exercise_recipe(const char *store)
{
	struct bdev *X, *S;

	senv_disk(&E, "sd1a", 2048);
	senv_disk(&E, "cow", 2048);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", store, CS);
	X = senv_dm(&E, "X");
	S = senv_dm(&E, "X_snap");
	expect_tag(S, 0, X_SECTORS, 1);
	/* The origin keeps taking writes; the snapshot keeps the old data. */
	write_tag(X, 0, 8, 2);          /* part of chunk 0 */
	write_tag(X, 100, 200, 3);      /* chunks 1..4, unaligned */
	write_tag(X, 960, 64, 4);       /* the whole last chunk */
	write_tag(X, 0, 8, 5);          /* chunk 0 again: no second copy */
	expect_tag(X, 0, 8, 5);
	expect_tag(X, 8, 92, 1);
	{
		/* Control-path reads through the snapshot see the same view. */
		uint8_t *b = buf_alloc(X_SECTORS);

		cr_expect_eq(bdev_sync_rw(S, BIO_READ, 0, X_SECTORS, b), 0);
		cr_expect(has_pattern(b, 0, X_SECTORS, 1));
		cr_expect_eq(bdev_sync_rw(S, BIO_WRITE, 0, 8, b), -EOPNOTSUPP);
		free(b);
	}
	expect_tag(X, 100, 200, 3);
	expect_tag(X, 960, 64, 4);
	expect_tag(S, 0, X_SECTORS, 1);
	/* X_org addresses the same data as X. */
	expect_tag(senv_dm(&E, "X_org"), 100, 200, 3);
}

Test(snap_io, recipe_persistent_mem)
{
	exercise_recipe("P");
	/* Chunks 0, 1..4 and 15 copied: 6 data chunks + header + area. */
	expect_status(&E, "X_snap", "0 1024 snapshot 512/2048 128\n");
}

Test(snap_io, recipe_transient_mem)
{
	exercise_recipe("N");
	expect_status(&E, "X_snap", "0 1024 snapshot 384/2048 0\n");
}

/* Remove everything in the documented order. */
static void teardown_recipe(void)
{
	senv_suspend(&E, "X");
	senv_remove(&E, "X_snap");
	senv_load(&E, "X", "0 1024 linear sd1a 384");
	senv_resume(&E, "X");
	senv_remove(&E, "X_org");
}

Test(snap_io, persistent_reactivates_with_same_content)
{
	char *before;

	exercise_recipe("P");
	before = senv_text(&E, "X_snap", true);
	teardown_recipe();
	/* The origin (now plain linear) keeps the new data. */
	expect_tag(senv_dm(&E, "X"), 100, 200, 3);
	/* Loading the same COW again brings the snapshot back. */
	recipe("sd1a", "cow", "P", 0);
	expect_status(&E, "X_snap", before);
	expect_table(&E, "X_snap", "0 1024 snapshot 254:1 cow P 64\n");
	expect_tag(senv_dm(&E, "X_snap"), 0, X_SECTORS, 1);
	free(before);
}

Test(snap_io, transient_does_not_reactivate)
{
	exercise_recipe("N");
	teardown_recipe();
	recipe("sd1a", "cow", "N", CS);
	expect_status(&E, "X_snap", "0 1024 snapshot 0/2048 0\n");
	expect_tag(senv_dm(&E, "X_snap"), 100, 200, 3);
}

/* ---- image files ---- */

static char tmpdir[256];

static void make_file(const char *path, sector_t sectors)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)(sectors << SECTOR_SHIFT)), 0);
	close(fd);
}

static struct file_bdev *open_file(const char *path, const char *name)
{
	struct file_bdev *fb = NULL;
	struct ss_error err;

	ss_error_clear(&err);
	senv_ok(file_bdev_open(path, name, false, &E.fx.base, &fb, &err), &err);
	senv_ok(dm_registry_add_bdev(E.reg, &fb->base, &err), &err);
	return fb;
}

Test(snap_io, recipe_on_files_and_reactivation)
{
	char data[300], cow[300];
	struct file_bdev *fd_data, *fd_cow;
	char *status;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/snapsim-snapio-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(data, sizeof(data), "%s/data.img", tmpdir);
	snprintf(cow, sizeof(cow), "%s/cow.img", tmpdir);
	make_file(data, 2048);
	make_file(cow, 2048);
	fd_data = open_file(data, "sd1a");
	fd_cow = open_file(cow, "cow");
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", "P", CS);
	write_tag(senv_dm(&E, "X"), 64, 128, 2);
	write_tag(senv_dm(&E, "X_snap"), 512, 64, 3); /* whole-chunk */
	expect_tag(senv_dm(&E, "X_snap"), 0, 512, 1);
	expect_tag(senv_dm(&E, "X_snap"), 512, 64, 3);
	status = senv_text(&E, "X_snap", true);
	cr_expect_gt(fd_cow->syncs, 0, "commits must reach the disk durably");

	/* Tear everything down, close the files, start over. */
	dm_registry_destroy(E.reg);
	fifo_executor_run(&E.fx, 0);
	bdev_destroy(&fd_data->base);
	bdev_destroy(&fd_cow->base);
	E.reg = dm_registry_create(&E.fx.base);
	fd_data = open_file(data, "sd1a");
	fd_cow = open_file(cow, "cow");
	senv_create(&E, "X_org", "0 1024 linear sd1a 384");
	senv_create(&E, "X_snap", "0 1024 snapshot /dev/mapper/X_org cow P 64");
	expect_status(&E, "X_snap", status);
	expect_tag(senv_dm(&E, "X_snap"), 0, 512, 1);
	expect_tag(senv_dm(&E, "X_snap"), 512, 64, 3);
	expect_tag(senv_dm(&E, "X_snap"), 576, 448, 1);
	expect_tag(senv_dm(&E, "X_org"), 64, 128, 2);
	free(status);
	dm_registry_destroy(E.reg);
	fifo_executor_run(&E.fx, 0);
	E.reg = dm_registry_create(&E.fx.base);
	bdev_destroy(&fd_data->base);
	bdev_destroy(&fd_cow->base);
	unlink(data);
	unlink(cow);
	rmdir(tmpdir);
}

/* ---- several snapshots ---- */

Test(snap_io, several_snapshots_with_different_chunk_sizes)
{
	struct bdev *X;

	senv_disk(&E, "sd1a", 2048);
	senv_disk(&E, "cow", 2048);
	senv_disk(&E, "cow2", 2048);
	senv_disk(&E, "cow3", 2048);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", "P", 32);
	X = senv_dm(&E, "X");
	write_tag(X, 40, 10, 2);
	/* Second snapshot, smaller chunk: suspend X, add, resume both. */
	senv_suspend(&E, "X");
	senv_create(&E, "S2", "0 1024 snapshot /dev/mapper/X_org cow2 P 8");
	senv_resume(&E, "X");
	/* Third, larger chunk, transient. */
	senv_suspend(&E, "X");
	senv_create(&E, "S3", "0 1024 snapshot /dev/mapper/X_org cow3 N 128");
	senv_resume(&E, "X");
	write_tag(X, 0, 300, 3);
	write_tag(X, 700, 50, 4);
	expect_tag(senv_dm(&E, "X_snap"), 0, 1024, 1);
	expect_tag(senv_dm(&E, "S2"), 0, 40, 1);
	expect_tag(senv_dm(&E, "S2"), 40, 10, 2);
	expect_tag(senv_dm(&E, "S2"), 50, 974, 1);
	expect_tag(senv_dm(&E, "S3"), 0, 40, 1);
	expect_tag(senv_dm(&E, "S3"), 40, 10, 2);
	expect_tag(senv_dm(&E, "S3"), 50, 974, 1);
	expect_tag(X, 0, 300, 3);
	/* S2 copied chunks 0..37 (0..299) and 87..93 (700..749): 45 + 2. */
	expect_status(&E, "S2", "0 1024 snapshot 376/2048 16\n");
	/* S3 (128-sector chunks): chunks 0..2 and 5. */
	expect_status(&E, "S3", "0 1024 snapshot 512/2048 0\n");
}

/* ---- snapshot writes ---- */

Test(snap_io, snapshot_writes_partial_and_whole_chunk)
{
	struct bdev *S, *X;
	struct mem_bdev *d, *c;

	d = senv_disk(&E, "sd1a", 2048);
	c = senv_disk(&E, "cow", 2048);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", "P", CS);
	S = senv_dm(&E, "X_snap");
	X = senv_dm(&E, "X");
	uint64_t reads_before = d->reads;

	/* Whole chunk 2: no copy from the origin. */
	write_tag(S, 128, 64, 7);
	cr_expect_eq(d->reads, reads_before, "a whole-chunk write must not copy");
	/* Partial chunk 5: copy then the write on top. */
	write_tag(S, 330, 4, 8);
	cr_expect_gt(d->reads, reads_before);
	/* Writes to an already copied chunk go straight to the COW. */
	write_tag(S, 131, 2, 9);
	expect_tag(S, 128, 3, 7);
	expect_tag(S, 131, 2, 9);
	expect_tag(S, 133, 59, 7);
	expect_tag(S, 320, 10, 1);
	expect_tag(S, 330, 4, 8);
	expect_tag(S, 334, 50, 1);
	/* Snapshot writes never touch the origin. */
	expect_tag(X, 0, X_SECTORS, 1);
	/* An origin write to chunk 2 needs no copy: the snapshot has it. */
	write_tag(X, 128, 64, 10);
	expect_tag(S, 128, 3, 7);
	expect_status(&E, "X_snap", "0 1024 snapshot 256/2048 128\n");
	/* FUA on a snapshot write reaches the COW device. */
	(void)c;
}

/* ---- read tracking (spec 4.7) ---- */

Test(snap_io, snapshot_read_in_flight_holds_origin_write)
{
	struct mem_bdev *d = senv_disk(&E, "sd1a_raw", 2048);
	struct hold_bdev h;
	struct ss_error err;
	struct sio rd, wr;
	uint8_t *rbuf = buf_alloc(8), *wbuf = buf_alloc(8);

	senv_disk(&E, "cow", 2048);
	hold_init(&h, "sd1a", &d->base);
	ss_error_clear(&err);
	senv_ok(dm_registry_add_bdev(E.reg, &h.base, &err), &err);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", "P", CS);

	h.hold_reads = 1;
	sio_start(&rd, senv_dm(&E, "X_snap"), BIO_READ, 0, 16, 8, rbuf);
	fifo_executor_run(&E.fx, 0);
	cr_assert_eq(h.nheld, 1, "the snapshot read should be held");
	fill_pattern(wbuf, 20, 8, 2);
	sio_start(&wr, senv_dm(&E, "X"), BIO_WRITE, 0, 20, 8, wbuf);
	fifo_executor_run(&E.fx, 0);
	/* Copied and committed, but the read of that chunk is in flight. */
	cr_expect_eq(wr.done, 0, "origin write released under a tracked read");
	cr_expect(has_pattern(d->data + ((ORG_OFFSET + 20) << SECTOR_SHIFT), 20, 8, 1));
	hold_release(&h);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(rd.done, 1);
	cr_expect_eq(rd.status, 0);
	cr_expect(has_pattern(rbuf, 16, 8, 1));
	cr_expect_eq(wr.done, 1);
	cr_expect_eq(wr.status, 0);
	expect_tag(senv_dm(&E, "X"), 20, 8, 2);
	expect_tag(senv_dm(&E, "X_snap"), 0, 64, 1);
	free(rbuf);
	free(wbuf);
}

/* ---- COW full, overflow, I/O errors (spec 4.10) ---- */

Test(snap_io, cow_full_invalidates_origin_keeps_working)
{
	struct mem_bdev *c;
	struct cow_header hdr;
	struct dm_device *md;
	unsigned ev;

	senv_disk(&E, "sd1a", 2048);
	/* Header, area 0 and 3 data chunks of 64 sectors. */
	c = senv_disk(&E, "cow", 5 * CS);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", "P", CS);
	md = dm_find_device(E.reg, "X_snap");
	ev = dm_device_event_nr(md);
	for (unsigned i = 0; i < 3; i++)
		write_tag(senv_dm(&E, "X"), i * CS, 8, 2);
	expect_status(&E, "X_snap", "0 1024 snapshot 320/320 128\n");
	cr_expect_eq(dm_device_event_nr(md), ev);
	write_tag(senv_dm(&E, "X"), 3 * CS, 8, 3); /* needs a 4th chunk */
	expect_status(&E, "X_snap", "0 1024 snapshot Invalid\n");
	cr_expect_eq(dm_device_event_nr(md), ev + 1);
	cow_header_decode(c->data, &hdr);
	cr_expect_eq(hdr.magic, COW_MAGIC);
	cr_expect_eq(hdr.valid, 0);
	cr_expect_eq(read_status(senv_dm(&E, "X_snap"), 0, 8), -EIO);
	/* The origin keeps working, snapshots no longer involved. */
	write_tag(senv_dm(&E, "X"), 4 * CS, 64, 4);
	expect_tag(senv_dm(&E, "X"), 3 * CS, 8, 3);
	expect_tag(senv_dm(&E, "X"), 4 * CS, 64, 4);
	/* Re-activation reads valid = 0: still Invalid. */
	senv_suspend(&E, "X");
	senv_remove(&E, "X_snap");
	senv_create(&E, "X_snap", "0 1024 snapshot /dev/mapper/X_org cow P 64");
	senv_resume(&E, "X");
	expect_status(&E, "X_snap", "0 1024 snapshot Invalid\n");
}

Test(snap_io, overflow_then_invalid)
{
	senv_disk(&E, "sd1a", 2048);
	senv_disk(&E, "cow", 4 * CS);   /* 2 data chunks */
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", "PO", CS);
	expect_table(&E, "X_snap", "0 1024 snapshot 254:1 cow PO 64\n");
	write_tag(senv_dm(&E, "X_snap"), 0, 8, 2);
	write_tag(senv_dm(&E, "X"), CS, 8, 3);
	/* Full. A snapshot write needing a chunk: EIO and Overflow. */
	uint8_t *b = buf_alloc(8);

	fill_pattern(b, 2 * CS, 8, 4);
	cr_expect_eq(senv_io(&E, senv_dm(&E, "X_snap"), BIO_WRITE, 0, 2 * CS, 8, b),
		     -EIO);
	expect_status(&E, "X_snap", "0 1024 snapshot Overflow\n");
	/* Reads keep working; writes to copied chunks fail too. */
	expect_tag(senv_dm(&E, "X_snap"), 0, 8, 2);
	expect_tag(senv_dm(&E, "X_snap"), CS, 64, 1);
	cr_expect_eq(senv_io(&E, senv_dm(&E, "X_snap"), BIO_WRITE, 0, 0, 8, b), -EIO);
	/* Origin write to a copied chunk: fine, still Overflow. */
	write_tag(senv_dm(&E, "X"), CS, 8, 5);
	expect_status(&E, "X_snap", "0 1024 snapshot Overflow\n");
	/* Origin write needing a chunk: the snapshot becomes Invalid. */
	write_tag(senv_dm(&E, "X"), 3 * CS, 8, 6);
	expect_status(&E, "X_snap", "0 1024 snapshot Invalid\n");
	expect_tag(senv_dm(&E, "X"), 3 * CS, 8, 6);
	free(b);
}

struct fault_plan {
	sector_t from, to;  /* fail writes touching [from, to) */
	unsigned left;      /* how many more to fail */
	unsigned failed;
};

static int fail_writes(void *ctx, const struct bio *bio)
{
	struct fault_plan *p = ctx;

	if (bio->op != BIO_WRITE || !p->left)
		return 0;
	if (bio->sector + bio->nr_sectors <= p->from || bio->sector >= p->to)
		return 0;
	p->left--;
	p->failed++;
	return -EIO;
}

Test(snap_io, cow_write_error_invalidates)
{
	struct mem_bdev *c;
	struct fault_plan plan = { 2 * CS, 3 * CS, 1, 0 };
	struct cow_header hdr;

	senv_disk(&E, "sd1a", 2048);
	c = senv_disk(&E, "cow", 2048);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", "P", CS);
	c->fault = fail_writes;
	c->fault_ctx = &plan;
	/* The copy of chunk 0 goes to COW chunk 2 and fails. */
	write_tag(senv_dm(&E, "X"), 0, 8, 2);
	cr_expect_eq(plan.failed, 1);
	expect_status(&E, "X_snap", "0 1024 snapshot Invalid\n");
	cow_header_decode(c->data, &hdr);
	cr_expect_eq(hdr.valid, 0, "the header must be rewritten invalid");
	/* The origin write was not lost. */
	expect_tag(senv_dm(&E, "X"), 0, 8, 2);
	write_tag(senv_dm(&E, "X"), 64, 8, 3);
	expect_tag(senv_dm(&E, "X"), 64, 8, 3);
}

Test(snap_io, metadata_write_error_invalidates)
{
	struct mem_bdev *c;
	struct fault_plan plan = { CS, 2 * CS, 1, 0 }; /* area 0 */

	senv_disk(&E, "sd1a", 2048);
	c = senv_disk(&E, "cow", 2048);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", "P", CS);
	c->fault = fail_writes;
	c->fault_ctx = &plan;
	write_tag(senv_dm(&E, "X"), 0, 8, 2);
	cr_expect_eq(plan.failed, 1);
	expect_status(&E, "X_snap", "0 1024 snapshot Invalid\n");
	expect_tag(senv_dm(&E, "X"), 0, 8, 2);
}

/* ---- suspend waits for held writes (spec 6.3) ---- */

static void count_cb(void *ctx, int status)
{
	cr_assert_eq(status, 0);
	(*(int *)ctx)++;
}

Test(snap_io, suspend_waits_for_held_origin_write)
{
	struct mem_bdev *c = senv_disk(&E, "cow_raw", 2048);
	struct hold_bdev h;
	struct ss_error err;
	struct sio wr;
	uint8_t *wbuf = buf_alloc(8);
	int suspended = 0;

	senv_disk(&E, "sd1a", 2048);
	hold_init(&h, "cow", &c->base);
	ss_error_clear(&err);
	senv_ok(dm_registry_add_bdev(E.reg, &h.base, &err), &err);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("sd1a", "cow", "P", CS);
	h.hold_writes = 1; /* the copy's COW write */
	fill_pattern(wbuf, 0, 8, 2);
	sio_start(&wr, senv_dm(&E, "X"), BIO_WRITE, 0, 0, 8, wbuf);
	fifo_executor_run(&E.fx, 0);
	cr_assert_eq(h.nheld, 1);
	ss_error_clear(&err);
	senv_ok(dm_suspend(E.reg, "X", 0, count_cb, &suspended, &err), &err);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(suspended, 0, "suspend finished with a held write");
	cr_expect_eq(wr.done, 0);
	hold_release(&h);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(wr.done, 1);
	cr_expect_eq(wr.status, 0);
	cr_expect_eq(suspended, 1);
	senv_resume(&E, "X");
	expect_tag(senv_dm(&E, "X_snap"), 0, 8, 1);
	free(wbuf);
}

/* ---- flush fan-out (spec 4.8) ---- */

Test(snap_io, flush_through_origin_and_snapshot)
{
	struct mem_bdev *d, *c;
	uint64_t df, cf;

	d = senv_disk(&E, "sd1a", 2048);
	c = senv_disk(&E, "cow", 2048);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	recipe("sd1a", "cow", "P", CS);
	df = d->flushes;
	cf = c->flushes;
	cr_expect_eq(senv_io(&E, senv_dm(&E, "X"), BIO_FLUSH, 0, 0, 0, NULL), 0);
	cr_expect_eq(d->flushes, df + 1, "flush did not reach the origin");
	cr_expect_eq(c->flushes, cf);
	cr_expect_eq(senv_io(&E, senv_dm(&E, "X_snap"), BIO_FLUSH, 0, 0, 0, NULL), 0);
	cr_expect_eq(c->flushes, cf + 1, "snapshot flush goes to the COW");
	cr_expect_eq(d->flushes, df + 1);
}

/* ---- discard (spec 4.9) ---- */

Test(snap_io, discard_zeroes_cow)
{
	senv_disk(&E, "sd1a", 2048);
	senv_disk(&E, "cow", 2048);
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	senv_suspend(&E, "X");
	senv_create(&E, "X_org", "0 1024 linear sd1a 384");
	senv_create(&E, "X_snap",
		    "0 1024 snapshot /dev/mapper/X_org cow P 64 1 discard_zeroes_cow");
	senv_load(&E, "X", "0 1024 snapshot-origin /dev/mapper/X_org");
	senv_resume(&E, "X");
	write_tag(senv_dm(&E, "X"), 0, 8, 2);   /* chunk 0 copied */
	/* Whole copied chunk: zeroed on the COW. */
	cr_expect_eq(senv_io(&E, senv_dm(&E, "X_snap"), BIO_DISCARD, 0, 0, 64, NULL), 0);
	uint8_t *b = buf_alloc(64), *z = buf_alloc(64);

	cr_expect_eq(senv_io(&E, senv_dm(&E, "X_snap"), BIO_READ, 0, 0, 64, b), 0);
	cr_expect_eq(memcmp(b, z, 64 * SECTOR_SIZE), 0);
	/* Not copied: no effect, no copy-out. */
	cr_expect_eq(senv_io(&E, senv_dm(&E, "X_snap"), BIO_DISCARD, 0, 128, 64, NULL), 0);
	expect_tag(senv_dm(&E, "X_snap"), 128, 64, 1);
	expect_status(&E, "X_snap", "0 1024 snapshot 192/2048 128\n");
	free(b);
	free(z);
}

/* ---- handover (spec 4.13) ---- */

Test(snap_io, reload_of_live_snapshot_hands_over)
{
	char *status;

	exercise_recipe("P");
	status = senv_text(&E, "X_snap", true);
	senv_load(&E, "X_snap", "0 1024 snapshot /dev/mapper/X_org cow P 64");
	/* Inactive destination shows chunk 0 until its resume. */
	{
		char *t = NULL;
		struct ss_error err;

		ss_error_clear(&err);
		senv_ok(dm_table_text(E.reg, "X_snap", true, &t, &err), &err);
		cr_expect_str_eq(t, "0 1024 snapshot 254:1 cow P 0\n");
		free(t);
		senv_ok(dm_status_text(E.reg, "X_snap", true, &t, &err), &err);
		cr_expect_str_eq(t, "0 1024 snapshot 0/2048 0\n");
		free(t);
	}
	senv_suspend(&E, "X_snap");
	senv_resume(&E, "X_snap");
	expect_status(&E, "X_snap", status);
	expect_table(&E, "X_snap", "0 1024 snapshot 254:1 cow P 64\n");
	expect_tag(senv_dm(&E, "X_snap"), 0, X_SECTORS, 1);
	/* Still active: origin writes keep creating exceptions. */
	write_tag(senv_dm(&E, "X"), 500, 8, 6);
	expect_tag(senv_dm(&E, "X_snap"), 0, X_SECTORS, 1);
	free(status);
}

/* ---- merge (spec 4.12, 6.8) ---- */

static sector_t status_field(const char *name, int which)
{
	char *s = senv_text(&E, name, true);
	unsigned long long a = 0, t = 0, m = 0;
	const char *p = strstr(s, "snapshot-merge ");

	cr_assert_not_null(p, "%s", s);
	cr_assert_eq(sscanf(p + 15, "%llu/%llu %llu", &a, &t, &m), 3, "%s", s);
	free(s);
	return which == 0 ? a : which == 1 ? t : m;
}

Test(snap_io, merge_copies_back)
{
	struct bdev *X;
	sector_t alloc0;
	size_t steps = 0;

	exercise_recipe("P");
	/* Also a snapshot write, to be merged into the origin. */
	write_tag(senv_dm(&E, "X_snap"), 640, 64, 9);
	senv_suspend(&E, "X_snap");
	senv_suspend(&E, "X");
	senv_load(&E, "X", "0 1024 snapshot-merge /dev/mapper/X_org cow P 64");
	{
		struct ss_error err;

		ss_error_clear(&err);
		senv_ok(dm_resume(E.reg, "X", 0, &err), &err);
	}
	expect_status(&E, "X_snap", "0 1024 snapshot Invalid\n");
	alloc0 = status_field("X", 0);
	cr_expect_eq(alloc0, 576);
	/* Progress: allocated shrinks as runs are merged. */
	while (fifo_executor_run_one(&E.fx)) {
		steps++;
		if (status_field("X", 0) < alloc0)
			break;
	}
	cr_expect_lt(status_field("X", 0), alloc0);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(status_field("X", 0), status_field("X", 2),
		     "merge finished: allocated == metadata");
	X = senv_dm(&E, "X");
	expect_tag(X, 0, 640, 1);
	expect_tag(X, 640, 64, 9);
	expect_tag(X, 704, 320, 1);
	expect_tag(senv_dm(&E, "X_org"), 0, 640, 1);
	senv_remove(&E, "X_snap");
	/* Writes after the merge go to the origin. */
	write_tag(X, 0, 8, 11);
	expect_tag(senv_dm(&E, "X_org"), 0, 8, 11);
	/* Finish as in spec 6.8: back to the plain table. */
	senv_suspend(&E, "X");
	senv_load(&E, "X", "0 1024 linear sd1a 384");
	senv_resume(&E, "X");
	senv_remove(&E, "X_org");
	(void)steps;
}

Test(snap_io, merge_preserves_other_snapshots)
{
	senv_disk(&E, "cow2", 2048);
	exercise_recipe("P");
	/* A second snapshot taken after the first one's changes. */
	senv_suspend(&E, "X");
	senv_create(&E, "S2", "0 1024 snapshot /dev/mapper/X_org cow2 P 16");
	senv_resume(&E, "X");
	senv_suspend(&E, "X_snap");
	senv_suspend(&E, "X");
	senv_load(&E, "X", "0 1024 snapshot-merge /dev/mapper/X_org cow P 64");
	senv_resume(&E, "X");
	fifo_executor_run(&E.fx, 0);
	expect_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	/* S2 still sees what the origin held when it was taken. */
	expect_tag(senv_dm(&E, "S2"), 0, 8, 5);
	expect_tag(senv_dm(&E, "S2"), 100, 200, 3);
	expect_tag(senv_dm(&E, "S2"), 960, 64, 4);
	expect_tag(senv_dm(&E, "S2"), 300, 600, 1);
	/* A write through the merge device is preserved for S2. */
	write_tag(senv_dm(&E, "X"), 400, 8, 12);
	expect_tag(senv_dm(&E, "S2"), 400, 8, 1);
	senv_remove(&E, "X_snap");
}

/* The seed's own spelling: /dev/sd1a and a lower-case `p 64`. */
Test(snap_io, recipe_with_seed_names)
{
	senv_disk(&E, "/dev/sd1a", 2048);
	senv_disk(&E, "C", 2048);
	senv_create(&E, "X", "0 1024 linear /dev/sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	recipe("/dev/sd1a", "C", "p", 64);
	expect_table(&E, "X_org", "0 1024 linear /dev/sd1a 384\n");
	expect_table(&E, "X_snap", "0 1024 snapshot 254:1 C P 64\n");
	expect_table(&E, "X", "0 1024 snapshot-origin 254:1\n");
	write_tag(senv_dm(&E, "X"), 500, 30, 2);
	expect_tag(senv_dm(&E, "X_snap"), 0, X_SECTORS, 1);
	expect_tag(senv_dm(&E, "X"), 500, 30, 2);
	/* 500..529 spans chunks 7 and 8. */
	expect_status(&E, "X_snap", "0 1024 snapshot 256/2048 128\n");
}
