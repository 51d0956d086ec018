/*
 * test_dm_snap_order.c - the ordering rules of the snapshot targets
 * (spec 2.8, 4.3, 4.4, 4.12): copy before record before origin write,
 * commits in allocation order, a snapshot destroyed while origin writes
 * wait on it, and the merge's failure, suspend and restart paths.
 */
#include "snap_test_env.h"

#define X_SECTORS 1024
#define CS 64

static struct senv E;
static struct hold_log LOG;
static struct hold_bdev HD, HC; /* "sd1a" and "cow" wrappers */
static struct mem_bdev *D, *C;  /* the raw disks under them */

static void setup(void)
{
	struct ss_error err;

	senv_init(&E);
	memset(&LOG, 0, sizeof(LOG));
	D = senv_disk(&E, "sd1a_raw", 2048);
	C = senv_disk(&E, "cow_raw", 2048);
	hold_init(&HD, "sd1a", &D->base);
	hold_init(&HC, "cow", &C->base);
	HD.log = HC.log = &LOG;
	ss_error_clear(&err);
	senv_ok(dm_registry_add_bdev(E.reg, &HD.base, &err), &err);
	senv_ok(dm_registry_add_bdev(E.reg, &HC.base, &err), &err);
}

static void teardown(void)
{
	senv_fini(&E);
}

TestSuite(snap_order, .init = setup, .fini = teardown);

static uint8_t *buf_alloc(sector_t n)
{
	uint8_t *b = calloc(n ? n : 1, SECTOR_SIZE);

	cr_assert_not_null(b);
	return b;
}

static void write_tag(struct bdev *dev, sector_t s, uint32_t n, unsigned tag)
{
	uint8_t *b = buf_alloc(n);

	fill_pattern(b, s, n, tag);
	cr_assert_eq(senv_io(&E, dev, BIO_WRITE, 0, s, n, b), 0);
	free(b);
}

static void expect_tag(struct bdev *dev, sector_t s, uint32_t n, unsigned tag)
{
	uint8_t *b = buf_alloc(n);

	cr_assert_eq(senv_io(&E, dev, BIO_READ, 0, s, n, b), 0);
	cr_expect(has_pattern(b, s, n, tag), "%s %llu+%u is not tag %u",
		  dev->name, (unsigned long long)s, n, tag);
	free(b);
}

/* X on sd1a at 384 with tag 1 everywhere, snapshot X_snap on cow. */
static void setup_snapshot(const char *store)
{
	char line[200];

	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	senv_suspend(&E, "X");
	senv_create(&E, "X_org", "0 1024 linear sd1a 384");
	snprintf(line, sizeof(line), "0 1024 snapshot /dev/mapper/X_org cow %s %u",
		 store, CS);
	senv_create(&E, "X_snap", line);
	senv_load(&E, "X", "0 1024 snapshot-origin /dev/mapper/X_org");
	senv_resume(&E, "X");
	LOG.n = 0;
}

/* Index of the first logged event matching, or -1. */
static int find_event(const struct hold_bdev *dev, enum bio_op op,
		      sector_t sector)
{
	for (unsigned i = 0; i < LOG.n; i++)
		if (LOG.ev[i].dev == &dev->base && LOG.ev[i].op == op &&
		    LOG.ev[i].sector == sector)
			return (int)i;
	return -1;
}

Test(snap_order, copy_then_record_then_origin_write)
{
	int copy_read, copy_write, area, origin;

	setup_snapshot("P");
	write_tag(senv_dm(&E, "X"), 8, 8, 2);
	copy_read = find_event(&HD, BIO_READ, 384);
	copy_write = find_event(&HC, BIO_WRITE, 2 * CS);
	area = find_event(&HC, BIO_WRITE, 1 * CS);
	origin = find_event(&HD, BIO_WRITE, 384 + 8);
	cr_assert(copy_read >= 0 && copy_write >= 0 && area >= 0 && origin >= 0,
		  "%d %d %d %d", copy_read, copy_write, area, origin);
	cr_expect_lt(copy_read, copy_write);
	cr_expect_lt(copy_write, area);
	cr_expect_lt(area, origin);
	cr_expect_eq(LOG.ev[area].flags & (BIO_PREFLUSH | BIO_FUA),
		     BIO_PREFLUSH | BIO_FUA);
	cr_expect_eq(LOG.ev[copy_write].flags & (BIO_PREFLUSH | BIO_FUA), 0);
	cr_expect_eq(LOG.ev[copy_read].nr_sectors, CS);
}

Test(snap_order, commits_in_allocation_order)
{
	struct sio w1, w2;
	uint8_t *b1 = buf_alloc(8), *b2 = buf_alloc(8);
	struct cow_record r0, r1;

	setup_snapshot("P");
	HC.hold_writes = 1; /* the first copy's COW write */
	fill_pattern(b1, 0, 8, 2);
	fill_pattern(b2, CS, 8, 3);
	sio_start(&w1, senv_dm(&E, "X"), BIO_WRITE, 0, 0, 8, b1);
	sio_start(&w2, senv_dm(&E, "X"), BIO_WRITE, 0, CS, 8, b2);
	fifo_executor_run(&E.fx, 0);
	cr_assert_eq(HC.nheld, 1);
	/* The second copy finished, but its commit waits for the first. */
	cr_expect_geq(find_event(&HC, BIO_WRITE, 3 * CS), 0);
	cr_expect_eq(find_event(&HC, BIO_WRITE, 1 * CS), -1,
		     "an area write went out before the first copy finished");
	cr_expect_eq(w1.done + w2.done, 0);
	hold_release(&HC);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(w1.done, 1);
	cr_expect_eq(w2.done, 1);
	cow_record_decode(C->data + CS * SECTOR_SIZE, &r0);
	cow_record_decode(C->data + CS * SECTOR_SIZE + COW_RECORD_BYTES, &r1);
	cr_expect_eq(r0.old_chunk, 0);
	cr_expect_eq(r0.new_chunk, 2);
	cr_expect_eq(r1.old_chunk, 1);
	cr_expect_eq(r1.new_chunk, 3);
	expect_tag(senv_dm(&E, "X_snap"), 0, 128, 1);
	free(b1);
	free(b2);
}

Test(snap_order, snapshot_removed_while_origin_write_waits)
{
	struct sio w;
	uint8_t *b = buf_alloc(8);

	setup_snapshot("P");
	HC.hold_writes = 1;
	fill_pattern(b, 0, 8, 2);
	sio_start(&w, senv_dm(&E, "X"), BIO_WRITE, 0, 0, 8, b);
	fifo_executor_run(&E.fx, 0);
	cr_assert_eq(w.done, 0);
	senv_remove(&E, "X_snap");
	hold_release(&HC);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(w.done, 1);
	cr_expect_eq(w.status, 0);
	expect_tag(senv_dm(&E, "X"), 0, 8, 2);
	/* The record is durable: the snapshot comes back with chunk 0. */
	senv_suspend(&E, "X");
	senv_create(&E, "X_snap", "0 1024 snapshot /dev/mapper/X_org cow P 64");
	senv_resume(&E, "X");
	expect_tag(senv_dm(&E, "X_snap"), 0, 8, 1);
	expect_status(&E, "X_snap", "0 1024 snapshot 192/2048 128\n");
	free(b);
}

Test(snap_order, transient_snapshot_write_and_origin_write_same_chunk)
{
	struct sio w1, w2;
	uint8_t *b1 = buf_alloc(8), *b2 = buf_alloc(8);

	setup_snapshot("N");
	HC.hold_writes = 1; /* the copy */
	fill_pattern(b1, 16, 8, 2);
	fill_pattern(b2, 24, 8, 3);
	sio_start(&w1, senv_dm(&E, "X_snap"), BIO_WRITE, 0, 16, 8, b1);
	sio_start(&w2, senv_dm(&E, "X"), BIO_WRITE, 0, 24, 8, b2);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(w1.done + w2.done, 0);
	hold_release(&HC);
	fifo_executor_run(&E.fx, 0);
	cr_expect_eq(w1.done, 1);
	cr_expect_eq(w2.done, 1);
	expect_tag(senv_dm(&E, "X_snap"), 16, 8, 2);
	expect_tag(senv_dm(&E, "X_snap"), 24, 8, 1);
	expect_tag(senv_dm(&E, "X"), 24, 8, 3);
	expect_tag(senv_dm(&E, "X"), 16, 8, 1);
	expect_status(&E, "X_snap", "0 1024 snapshot 64/2048 0\n");
	free(b1);
	free(b2);
}

/* ---- merge ---- */

static void make_exceptions(void)
{
	write_tag(senv_dm(&E, "X"), 0, 8, 2);     /* chunk 0 -> COW 2 */
	write_tag(senv_dm(&E, "X"), 100, 200, 3); /* chunks 1..4 -> 3..6 */
	write_tag(senv_dm(&E, "X"), 960, 64, 4);  /* chunk 15 -> 7 */
}

static void start_merge(void)
{
	struct ss_error err;

	senv_suspend(&E, "X_snap");
	senv_suspend(&E, "X");
	senv_load(&E, "X", "0 1024 snapshot-merge /dev/mapper/X_org cow P 64");
	ss_error_clear(&err);
	senv_ok(dm_resume(E.reg, "X", 0, &err), &err);
}

static void status_numbers(unsigned long long *a, unsigned long long *m)
{
	char *s = senv_text(&E, "X", true);
	unsigned long long t;

	cr_assert_eq(sscanf(s, "0 1024 snapshot-merge %llu/%llu %llu", a, &t, m),
		     3, "%s", s);
	free(s);
}

struct fault_once {
	const struct mem_bdev *dev;
	unsigned left;
};

static int fail_writes(void *ctx, const struct bio *bio)
{
	struct fault_once *f = ctx;

	if (bio->op != BIO_WRITE || !f->left)
		return 0;
	f->left--;
	return -EIO;
}

Test(snap_order, merge_failed_then_restarted_by_resume)
{
	struct fault_once f = { NULL, 1 };
	unsigned long long a, m;

	setup_snapshot("P");
	make_exceptions();
	start_merge();
	D->fault = fail_writes; /* the merge copy's write to the origin */
	D->fault_ctx = &f;
	fifo_executor_run(&E.fx, 0);
	expect_status(&E, "X", "0 1024 snapshot-merge Merge failed\n");
	/* Not persistent, and the data is still readable through X. */
	expect_tag(senv_dm(&E, "X"), 0, 8, 1);
	D->fault = NULL;
	senv_suspend(&E, "X");
	senv_resume(&E, "X");
	status_numbers(&a, &m);
	cr_expect_eq(a, m);
	expect_tag(senv_dm(&E, "X_org"), 0, X_SECTORS, 1);
	senv_remove(&E, "X_snap");
}

Test(snap_order, merge_stops_at_suspend_and_resumes)
{
	unsigned long long a0, a, m;

	setup_snapshot("P");
	make_exceptions();
	start_merge();
	status_numbers(&a0, &m);
	cr_expect_eq(a0, 8 * CS);
	/* Run until the first run (chunk 15) is merged, then suspend. */
	do {
		cr_assert(fifo_executor_run_one(&E.fx));
		status_numbers(&a, &m);
	} while (a == a0);
	senv_suspend(&E, "X");
	status_numbers(&a, &m);
	cr_expect_gt(a, m, "the merge should have stopped part way");
	expect_tag(senv_dm(&E, "X_org"), 960, 64, 1);
	expect_tag(senv_dm(&E, "X_org"), 100, 8, 3);
	senv_resume(&E, "X");
	status_numbers(&a, &m);
	cr_expect_eq(a, m);
	expect_tag(senv_dm(&E, "X_org"), 0, X_SECTORS, 1);
	senv_remove(&E, "X_snap");
}

Test(snap_order, merge_resumes_after_reactivation)
{
	unsigned long long a, m;

	setup_snapshot("P");
	make_exceptions();
	/* "Reboot": tear everything down, keep the disks. */
	senv_suspend(&E, "X");
	senv_remove(&E, "X_snap");
	senv_remove(&E, "X");
	senv_remove(&E, "X_org");
	senv_create(&E, "X_org", "0 1024 linear sd1a 384");
	senv_create(&E, "X", "0 1024 snapshot-merge /dev/mapper/X_org cow P 0");
	status_numbers(&a, &m);
	cr_expect_eq(a, 8 * CS, "nothing merged before the executor ran");
	fifo_executor_run(&E.fx, 0);
	status_numbers(&a, &m);
	cr_expect_eq(a, m);
	expect_table(&E, "X", "0 1024 snapshot-merge 254:0 cow P 64\n");
	expect_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
}

Test(snap_order, writes_during_merge)
{
	unsigned long long a, m;

	setup_snapshot("P");
	make_exceptions();
	start_merge();
	/* Before any merge step ran: chunk 15 has an exception (to the COW),
	 * chunk 7 has none (to the origin). */
	write_tag(senv_dm(&E, "X"), 970, 4, 7);
	write_tag(senv_dm(&E, "X"), 7 * CS, 4, 8);
	write_tag(senv_dm(&E, "X"), 0, 4, 9);
	fifo_executor_run(&E.fx, 0);
	status_numbers(&a, &m);
	cr_expect_eq(a, m);
	expect_tag(senv_dm(&E, "X_org"), 960, 10, 1);
	expect_tag(senv_dm(&E, "X_org"), 970, 4, 7);
	expect_tag(senv_dm(&E, "X_org"), 974, 50, 1);
	expect_tag(senv_dm(&E, "X_org"), 7 * CS, 4, 8);
	expect_tag(senv_dm(&E, "X_org"), 0, 4, 9);
	expect_tag(senv_dm(&E, "X_org"), 4, 96, 1);
	senv_remove(&E, "X_snap");
}

Test(snap_order, flush_through_merge_reaches_both)
{
	uint64_t df, cf;

	setup_snapshot("P");
	start_merge();
	fifo_executor_run(&E.fx, 0);
	df = D->flushes;
	cf = C->flushes;
	cr_expect_eq(senv_io(&E, senv_dm(&E, "X"), BIO_FLUSH, 0, 0, 0, NULL), 0);
	cr_expect_eq(D->flushes, df + 1);
	cr_expect_eq(C->flushes, cf + 1);
	senv_remove(&E, "X_snap");
}

/* ---- handover rules (spec 4.13) ---- */

Test(snap_order, handover_needs_suspended_source)
{
	struct ss_error err;
	struct dm_device *md;

	setup_snapshot("P");
	write_tag(senv_dm(&E, "X"), 0, 8, 2);
	/* A second device on the same COW: a handover destination. */
	senv_create(&E, "Y", NULL);
	senv_load(&E, "Y", "0 1024 snapshot /dev/mapper/X_org cow P 64");
	ss_error_clear(&err);
	cr_expect_eq(dm_resume(E.reg, "Y", 0, &err), -EINVAL,
		     "the source is not suspended");
	/* Resuming the source while a destination waits fails too. */
	senv_suspend(&E, "X_snap");
	ss_error_clear(&err);
	cr_expect_eq(dm_resume(E.reg, "X_snap", 0, &err), -EINVAL);
	/* With the source suspended the handover happens. */
	ss_error_clear(&err);
	senv_ok(dm_resume(E.reg, "Y", 0, &err), &err);
	expect_status(&E, "X_snap", "0 1024 snapshot Invalid\n");
	expect_status(&E, "Y", "0 1024 snapshot 192/2048 128\n");
	expect_table(&E, "Y", "0 1024 snapshot 254:1 cow P 64\n");
	expect_tag(senv_dm(&E, "Y"), 0, 64, 1);
	md = dm_find_device(E.reg, "Y");
	cr_expect_not_null(md);
	/* Y now receives the exceptions. */
	write_tag(senv_dm(&E, "X"), CS, 8, 3);
	expect_tag(senv_dm(&E, "Y"), CS, 8, 1);
	expect_status(&E, "Y", "0 1024 snapshot 256/2048 128\n");
	senv_remove(&E, "X_snap");
	expect_tag(senv_dm(&E, "Y"), 0, 128, 1);
}

Test(snap_order, handover_cancelled_when_source_goes)
{
	setup_snapshot("P");
	senv_create(&E, "Y", NULL);
	senv_load(&E, "Y", "0 1024 snapshot /dev/mapper/X_org cow P 64");
	senv_suspend(&E, "X");
	senv_remove(&E, "X_snap");
	senv_resume(&E, "X");
	{
		char *t = NULL;
		struct ss_error err;

		ss_error_clear(&err);
		senv_ok(dm_status_text(E.reg, "Y", true, &t, &err), &err);
		cr_expect_str_eq(t, "0 1024 snapshot Invalid\n");
		free(t);
	}
}

/* ---- flags on held writes (spec 4.8), discard pass-down (4.9) ---- */

Test(snap_order, fua_kept_on_held_snapshot_write)
{
	uint8_t *b = buf_alloc(8);
	int i;

	setup_snapshot("P");
	fill_pattern(b, 8, 8, 2);
	cr_assert_eq(senv_io(&E, senv_dm(&E, "X_snap"), BIO_WRITE, BIO_FUA, 8, 8, b),
		     0);
	/* Copy to COW chunk 2, commit, then the held write at 2*CS + 8. */
	i = find_event(&HC, BIO_WRITE, 2 * CS + 8);
	cr_assert_geq(i, 0);
	cr_expect(LOG.ev[i].flags & BIO_FUA);
	cr_expect_lt(find_event(&HC, BIO_WRITE, 1 * CS), i,
		     "the held write went out before its commit");
	expect_tag(senv_dm(&E, "X_snap"), 8, 8, 2);
	expect_tag(senv_dm(&E, "X_snap"), 0, 8, 1);
	free(b);
}

Test(snap_order, discard_passdown_origin)
{
	senv_create(&E, "X", "0 1024 linear sd1a 384");
	write_tag(senv_dm(&E, "X"), 0, X_SECTORS, 1);
	senv_suspend(&E, "X");
	senv_create(&E, "X_org", "0 1024 linear sd1a 384");
	senv_create(&E, "X_snap", "0 1024 snapshot /dev/mapper/X_org cow P 64 "
		    "2 discard_zeroes_cow discard_passdown_origin");
	senv_load(&E, "X", "0 1024 snapshot-origin /dev/mapper/X_org");
	senv_resume(&E, "X");
	LOG.n = 0;
	cr_expect_eq(senv_io(&E, senv_dm(&E, "X_snap"), BIO_DISCARD, 0, 64, 64, NULL),
		     0);
	/* No exception: nothing on the COW, the origin range is discarded. */
	cr_expect_geq(find_event(&HD, BIO_DISCARD, 384 + 64), 0);
	cr_expect_eq(find_event(&HC, BIO_WRITE, 2 * CS), -1, "no copy-out");
	expect_status(&E, "X_snap", "0 1024 snapshot 128/2048 128\n");
	{
		uint8_t *b = buf_alloc(64), *z = buf_alloc(64);

		cr_assert_eq(senv_io(&E, senv_dm(&E, "X"), BIO_READ, 0, 64, 64, b), 0);
		cr_expect_eq(memcmp(b, z, 64 * SECTOR_SIZE), 0);
		free(b);
		free(z);
	}
}
