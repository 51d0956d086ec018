/* test_sim_disk.c - the simulated disk: I/O path, latency, queueing,
 * determinism, initial content, control path. Crash states and faults have
 * their own files (test_sim_disk_crash.c, test_sim_disk_faults.c). */
#include "disk_harness.h"

#include "prng.h"

Test(sim_disk, rejects_bad_configs)
{
	struct sim_sched s;
	struct sim_disk *d = NULL;
	struct sim_disk_config c = h_config(64);

	sim_sched_init(&s, NULL);
	c.size_sectors = 0;
	cr_assert_eq(sim_disk_create(&c, &s, &d), -EINVAL);
	c = h_config(64);
	c.logical_block_bytes = 3000;
	cr_assert_eq(sim_disk_create(&c, &s, &d), -EINVAL);
	c = h_config(64);
	c.logical_block_bytes = 4096;
	c.atomic_sectors = 4; /* not a multiple of 8 */
	cr_assert_eq(sim_disk_create(&c, &s, &d), -EINVAL);
	c = h_config(60);
	c.logical_block_bytes = 4096; /* size not a multiple of the block */
	cr_assert_eq(sim_disk_create(&c, &s, &d), -EINVAL);
	cr_assert_null(d);
	c = h_config(64);
	cr_assert_eq(sim_disk_create(&c, NULL, &d), -EINVAL);
	cr_assert_eq(sim_disk_create(NULL, &s, &d), -EINVAL);
	sim_sched_destroy(&s);
}

Test(sim_disk, write_then_read_and_completion_never_inside_submit)
{
	struct harness h;
	struct sim_disk_config c = h_config(1024);

	h_init(&h, &c);
	struct h_io *w = h_write(&h, 0, 8, 4, 0xab);
	cr_assert(!w->done);
	h_run(&h);
	cr_assert(w->done);
	cr_assert_eq(w->status, 0);
	cr_assert_eq(w->done_ns, 10);
	struct h_io *r = h_submit(&h, sim_disk_bdev(h.d), BIO_READ, 0, 6, 8, 0);
	h_run(&h);
	cr_assert_eq(r->status, 0);
	cr_assert(h_all(r->buf, 2, 0));
	cr_assert(h_all(r->buf + 2 * SECTOR_SIZE, 4, 0xab));
	cr_assert(h_all(r->buf + 6 * SECTOR_SIZE, 2, 0));
	cr_assert_eq(h.done_inside_submit, 0);
	struct sim_disk_stats st = sim_disk_stats(h.d);
	cr_assert_eq(st.writes, 1);
	cr_assert_eq(st.reads, 1);
	cr_assert_eq(st.cached_writes, 1);
	h_fini(&h);
}

Test(sim_disk, out_of_range_and_misaligned_complete_with_eio)
{
	struct harness h;
	struct sim_disk_config c = h_config(64);

	c.logical_block_bytes = 4096;
	h_init(&h, &c);
	struct bdev *bd = sim_disk_bdev(h.d);
	struct h_io *a = h_submit(&h, bd, BIO_WRITE, 0, 64, 8, 1);     /* past end */
	struct h_io *b = h_submit(&h, bd, BIO_READ, 0, 56, 16, 1);     /* straddles */
	struct h_io *m = h_submit(&h, bd, BIO_WRITE, 0, 4, 8, 1);      /* misaligned */
	struct h_io *n = h_submit(&h, bd, BIO_READ, 0, 8, 4, 1);       /* short */
	struct h_io *ok = h_submit(&h, bd, BIO_WRITE, 0, 56, 8, 1);
	struct h_io *big = h_submit(&h, bd, BIO_READ, 0, UINT64_MAX - 3, 8, 1);
	cr_assert(!a->done && !b->done);
	h_run(&h);
	cr_assert_eq(a->status, -EIO);
	cr_assert_eq(b->status, -EIO);
	cr_assert_eq(m->status, -EIO);
	cr_assert_eq(n->status, -EIO);
	cr_assert_eq(big->status, -EIO);
	cr_assert_eq(ok->status, 0);
	cr_assert_eq(sim_disk_stats(h.d).errors, 5);
	cr_assert_eq(h.done_inside_submit, 0);
	/* rejected writes leave nothing pending */
	cr_assert_eq(sim_disk_pending_count(h.d), 1);
	h_fini(&h);
}

Test(sim_disk, discard_reads_zeros_and_can_be_disabled)
{
	struct harness h;
	struct sim_disk_config c = h_config(64);

	c.init = SIM_INIT_GARBAGE;
	h_init(&h, &c);
	struct bdev *bd = sim_disk_bdev(h.d);
	h_submit(&h, bd, BIO_DISCARD, 0, 0, 16, 0);
	h_run(&h);
	struct h_io *r = h_submit(&h, bd, BIO_READ, 0, 0, 16, 7);
	h_run(&h);
	cr_assert(h_all(r->buf, 16, 0));
	h_fini(&h);

	c.discard = false;
	h_init(&h, &c);
	struct h_io *x = h_submit(&h, sim_disk_bdev(h.d), BIO_DISCARD, 0, 0, 8, 0);
	h_run(&h);
	cr_assert_eq(x->status, -EOPNOTSUPP);
	cr_assert_eq(sim_disk_bdev(h.d)->caps & BDEV_CAP_DISCARD, 0);
	h_fini(&h);
}

Test(sim_disk, queue_depth_is_respected)
{
	struct harness h;
	struct sim_disk_config c = h_config(1024);

	c.queue_depth = 2;
	c.read_lat = (struct sim_latency){ 100, 100 };
	h_init(&h, &c);
	struct h_io *io[7];
	for (int i = 0; i < 7; i++)
		io[i] = h_submit(&h, sim_disk_bdev(h.d), BIO_READ, 0, (sector_t)i, 1, 0);
	struct sim_disk_stats st = sim_disk_stats(h.d);
	cr_assert_eq(st.in_service, 2);
	cr_assert_eq(st.waiting, 5);
	h_run(&h);
	st = sim_disk_stats(h.d);
	cr_assert_eq(st.max_in_service, 2);
	cr_assert_eq(st.in_service, 0);
	cr_assert_eq(st.waiting, 0);
	for (int i = 0; i < 7; i++) {
		cr_assert_eq(io[i]->done_ns, (uint64_t)(i / 2 + 1) * 100, "io %d", i);
		cr_assert_eq(io[i]->order, i); /* FIFO service, fixed latency */
	}
	h_fini(&h);
}

static int count_inversions(struct h_io **io, int n)
{
	int inv = 0;

	for (int i = 1; i < n; i++)
		inv += io[i]->order < io[i - 1]->order;
	return inv;
}

Test(sim_disk, latencies_reorder_completions_unless_in_order)
{
	struct harness h;
	struct sim_disk_config c = h_config(1024);
	struct h_io *io[64];

	c.write_lat = (struct sim_latency){ 10, 1000 };
	h_init(&h, &c);
	for (int i = 0; i < 64; i++)
		io[i] = h_write(&h, 0, (sector_t)i, 1, i);
	h_run(&h);
	cr_assert_gt(count_inversions(io, 64), 0);
	for (int i = 0; i < 64; i++)
		cr_assert(io[i]->done_ns >= 10 && io[i]->done_ns <= 1000);
	h_fini(&h);

	c.in_order = true;
	h_init(&h, &c);
	for (int i = 0; i < 64; i++)
		io[i] = h_write(&h, 0, (sector_t)i, 1, i);
	h_run(&h);
	cr_assert_eq(count_inversions(io, 64), 0);
	h_fini(&h);
}

/*
 * A random workload: reads, writes (some FUA/PREFLUSH), flushes, with
 * random latencies and a queue; completions submit more I/O. Returns the
 * scheduler's event-log hash and the final durable hash.
 */
struct wl {
	struct harness h;
	struct sim_prng p;
	int left;
};

static void wl_next(struct wl *w);

static void wl_done(struct bio *bio, int status)
{
	struct h_io *io = bio->private;
	struct wl *w = (struct wl *)io->h; /* harness is first */

	h_done(bio, status);
	wl_next(w);
}

static void wl_next(struct wl *w)
{
	struct harness *h = &w->h;
	struct h_io *io;
	uint64_t r;
	enum bio_op op;
	unsigned flags = 0;

	if (w->left <= 0 || h->nr_io >= H_MAX_IO)
		return;
	w->left--;
	r = sim_prng_below(&w->p, 10);
	op = r < 4 ? BIO_READ : r < 9 ? BIO_WRITE : BIO_FLUSH;
	if (op == BIO_WRITE && sim_prng_chance(&w->p, 1, 5))
		flags |= BIO_FUA;
	if (op == BIO_WRITE && sim_prng_chance(&w->p, 1, 5))
		flags |= BIO_PREFLUSH;
	sector_t sector = op == BIO_FLUSH ? 0 : sim_prng_below(&w->p, 1000);
	uint32_t nr = op == BIO_FLUSH ? 0 : 1 + (uint32_t)sim_prng_below(&w->p, 16);
	io = h_submit(h, sim_disk_bdev(h->d), op, flags, sector, nr,
		      (int)sim_prng_below(&w->p, 256));
	io->bio.done = wl_done;
}

static void run_workload(uint64_t seed, uint64_t *log_hash, uint64_t *dur_hash,
			 size_t *pending)
{
	struct wl *w = calloc(1, sizeof(*w));
	struct sim_disk_config c = h_config(1024);

	c.seed = seed;
	c.queue_depth = 4;
	c.init = SIM_INIT_GARBAGE;
	c.read_lat = (struct sim_latency){ 5, 500 };
	c.write_lat = (struct sim_latency){ 10, 900 };
	c.flush_lat = (struct sim_latency){ 50, 2000 };
	h_init(&w->h, &c);
	w->p = sim_prng_stream(seed, SIM_STREAM_WORKLOAD);
	w->left = 600;
	for (int i = 0; i < 8; i++)
		wl_next(w);
	cr_assert_eq(sim_sched_run(&w->h.s, 1000000), SIM_RUN_IDLE);
	*log_hash = sim_sched_log_hash(&w->h.s);
	*dur_hash = sim_disk_durable_hash(w->h.d);
	*pending = sim_disk_pending_count(w->h.d);
	cr_assert_gt(w->h.s.log_lines, 1200);
	h_fini(&w->h);
	free(w);
}

Test(sim_disk, same_seed_same_event_log_different_seed_different)
{
	uint64_t l1, l2, l3, d1, d2, d3;
	size_t p1, p2, p3;

	run_workload(77, &l1, &d1, &p1);
	run_workload(77, &l2, &d2, &p2);
	run_workload(78, &l3, &d3, &p3);
	cr_assert_eq(l1, l2);
	cr_assert_eq(d1, d2);
	cr_assert_eq(p1, p2);
	cr_assert_neq(l1, l3);
	cr_assert_neq(d1, d3);
}

Test(sim_disk, garbage_initial_content_is_deterministic_per_seed)
{
	struct harness a, b, z;
	struct sim_disk_config c = h_config(2048);
	uint8_t x[4 * SECTOR_SIZE], y[4 * SECTOR_SIZE], v[4 * SECTOR_SIZE];

	c.init = SIM_INIT_GARBAGE;
	h_init(&a, &c);
	h_init(&b, &c);
	c.seed = 2;
	h_init(&z, &c);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(a.d), BIO_READ, 100, 4, x), 0);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(b.d), BIO_READ, 100, 4, y), 0);
	cr_assert_eq(memcmp(x, y, sizeof(x)), 0);
	cr_assert_neq(memcmp(x, x + SECTOR_SIZE, SECTOR_SIZE), 0); /* per sector */
	cr_assert(!h_all(x, 4, 0));
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(z.d), BIO_READ, 100, 4, v), 0);
	cr_assert_neq(memcmp(x, v, sizeof(x)), 0);
	/* A partial write keeps the garbage around it in the same page. */
	uint8_t one[SECTOR_SIZE];
	memset(one, 0x5a, sizeof(one));
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(a.d), BIO_WRITE, 101, 1, one), 0);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(a.d), BIO_READ, 100, 4, v), 0);
	cr_assert_eq(memcmp(v, y, SECTOR_SIZE), 0);
	cr_assert(h_all(v + SECTOR_SIZE, 1, 0x5a));
	cr_assert_eq(memcmp(v + 2 * SECTOR_SIZE, y + 2 * SECTOR_SIZE, 2 * SECTOR_SIZE), 0);
	/* Durable reads see the same garbage. */
	cr_assert_eq(sim_disk_read_durable(a.d, 100, 4, v), 0);
	cr_assert_eq(memcmp(v, y, sizeof(v)), 0);
	h_fini(&a);
	h_fini(&b);
	h_fini(&z);
}

Test(sim_disk, sync_rw_reads_cache_and_writes_a_completed_write)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	uint8_t buf[2 * SECTOR_SIZE];
	struct bdev *bd;

	h_init(&h, &c);
	bd = sim_disk_bdev(h.d);
	h_write(&h, 0, 10, 2, 0x11);
	h_run(&h);
	cr_assert_eq(bdev_sync_rw(bd, BIO_READ, 10, 2, buf), 0);
	cr_assert(h_all(buf, 2, 0x11));
	memset(buf, 0x22, sizeof(buf));
	cr_assert_eq(bdev_sync_rw(bd, BIO_WRITE, 20, 2, buf), 0);
	cr_assert_eq(sim_disk_pending_count(h.d), 2); /* cached, not durable */
	cr_assert(h_durable_is(h.d, 20, 2, 0));
	struct h_io *r = h_submit(&h, bd, BIO_READ, 0, 20, 2, 0);
	h_run(&h);
	cr_assert(h_all(r->buf, 2, 0x22));
	h_flush(&h);
	h_run(&h);
	cr_assert(h_durable_is(h.d, 20, 2, 0x22));
	cr_assert_eq(bdev_sync_rw(bd, BIO_READ, 250, 8, buf), -EIO);
	h_fini(&h);
}

/* The durable image's initial content: cached writes do not count; a page a write
 * brought in still holds it beside the written sector. */
Test(sim_disk, durable_initial_until_a_write_becomes_durable)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	uint8_t buf[SECTOR_SIZE];
	struct bdev *bd;

	c.init = SIM_INIT_GARBAGE;
	c.seed = 9;
	h_init(&h, &c);
	bd = sim_disk_bdev(h.d);
	cr_assert(sim_disk_durable_initial(h.d, 0, 256));
	memset(buf, 0x22, sizeof(buf));
	cr_assert_eq(bdev_sync_rw(bd, BIO_WRITE, 20, 1, buf), 0);
	cr_assert(sim_disk_durable_initial(h.d, 0, 256)); /* cached only */
	cr_assert_eq(bdev_sync_rw(bd, BIO_FLUSH, 0, 0, NULL), 0);
	cr_assert_not(sim_disk_durable_initial(h.d, 0, 256));
	cr_assert_not(sim_disk_durable_initial(h.d, 20, 1));
	cr_assert_not(sim_disk_durable_initial(h.d, 19, 2));
	cr_assert(sim_disk_durable_initial(h.d, 16, 4)); /* its page, not written there */
	cr_assert(sim_disk_durable_initial(h.d, 21, 3));
	cr_assert(sim_disk_durable_initial(h.d, 0, 20));
	cr_assert(sim_disk_durable_initial(h.d, 21, 235));
	cr_assert_not(sim_disk_durable_initial(h.d, 250, 7)); /* past the end */
	cr_assert(sim_disk_durable_initial(h.d, 256, 0));
	h_fini(&h);
}

/* A control-path flush makes every completed write durable, sync or not. */
Test(sim_disk, sync_flush_makes_completed_writes_durable)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	uint8_t buf[2 * SECTOR_SIZE];
	struct bdev *bd;

	h_init(&h, &c);
	bd = sim_disk_bdev(h.d);
	h_write(&h, 0, 10, 2, 0x11);
	h_run(&h);
	memset(buf, 0x22, sizeof(buf));
	cr_assert_eq(bdev_sync_rw(bd, BIO_WRITE, 20, 2, buf), 0);
	cr_assert_eq(sim_disk_pending_count(h.d), 2);
	cr_assert_eq(bdev_sync_rw(bd, BIO_FLUSH, 0, 0, NULL), 0);
	cr_assert_eq(sim_disk_pending_count(h.d), 0);
	cr_assert(h_durable_is(h.d, 10, 2, 0x11));
	cr_assert(h_durable_is(h.d, 20, 2, 0x22));
	h_fini(&h);
}

Test(sim_disk, write_through_makes_every_write_durable)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);

	c.write_through = true;
	h_init(&h, &c);
	h_write(&h, 0, 0, 8, 0x33);
	h_run(&h);
	cr_assert_eq(sim_disk_pending_count(h.d), 0);
	cr_assert(h_durable_is(h.d, 0, 8, 0x33));
	h_fini(&h);
}

Test(sim_disk, a_large_disk_costs_nothing_until_written)
{
	struct harness h;
	struct sim_disk_config c = h_config((1ull << 30) / SECTOR_SIZE); /* 1 GiB */
	uint8_t buf[SECTOR_SIZE];

	h_init(&h, &c);
	struct sim_store_stats st = sim_disk_store_stats(h.d);
	cr_assert_eq(st.pages_live, 0);
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(h.d), BIO_READ,
				  c.size_sectors - 1, 1, buf), 0);
	h_write(&h, 0, c.size_sectors - 8, 8, 1);
	h_write(&h, 0, 0, 1, 2);
	h_run(&h);
	h_flush(&h); /* covers the writes: they completed before it */
	h_run(&h);
	st = sim_disk_store_stats(h.d);
	cr_assert_eq(st.pages_live, 4, "pages %llu", (unsigned long long)st.pages_live); /* two pages, durable and current copies */
	cr_assert_lt(st.bytes_live, 64 * 1024);
	cr_assert(h_durable_is(h.d, c.size_sectors - 8, 8, 1));
	h_fini(&h);
}

Test(sim_disk, destroy_with_io_in_flight_is_safe)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);

	c.queue_depth = 1;
	h_init(&h, &c);
	for (int i = 0; i < 4; i++)
		h_write(&h, 0, (sector_t)i, 1, i);
	sim_disk_destroy(h.d); /* a power cut: nothing completes */
	h.d = NULL;
	cr_assert_eq(sim_sched_pending(&h.s), 0);
	h_run(&h);
	cr_assert_eq(h.completions, 0);
	h_fini(&h);
}

Test(sim_disk, from_bdev_recognises_simulated_disks)
{
	struct harness h;
	struct sim_disk_config c = h_config(64);

	h_init(&h, &c);
	cr_assert_eq(sim_disk_from_bdev(sim_disk_bdev(h.d)), h.d);
	cr_assert_str_eq(sim_disk_bdev(h.d)->name, "d0");
	cr_assert_eq(sim_disk_config(h.d)->atomic_sectors, 1);
	h_fini(&h);
}
