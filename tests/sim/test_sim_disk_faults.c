/* test_sim_disk_faults.c - the fault-injecting wrapper over a simulated disk:
 * range errors, errors after N operations, latent sector errors, a dying
 * disk, seeded intermittent errors, sync_rw. */
#include "disk_harness.h"

#include "fault_bdev.h"

struct fh {
	struct harness h;
	struct sim_fault_bdev *f;
	struct bdev *bd;
};

static void fh_init(struct fh *x, uint64_t seed)
{
	struct sim_disk_config c = h_config(1024);

	h_init(&x->h, &c);
	cr_assert_eq(sim_fault_bdev_create(sim_disk_bdev(x->h.d), &x->h.s, seed, 0,
					   "flaky", &x->f), 0);
	x->bd = sim_fault_bdev_bdev(x->f);
	cr_assert_str_eq(x->bd->name, "flaky");
	cr_assert_eq(x->bd->size_sectors, 1024);
}

static void fh_fini(struct fh *x)
{
	bdev_destroy(x->bd); /* the wrapper only */
	h_fini(&x->h);
}

static struct h_io *fio(struct fh *x, enum bio_op op, sector_t sector, uint32_t nr)
{
	return h_submit(&x->h, x->bd, op, 0, sector, nr, 0x3c);
}

Test(sim_disk_faults, range_errors_hit_only_their_range)
{
	struct fh x;
	struct sim_fault_rule r = { .ops = SIM_FAULT_READ, .sector = 10, .nr_sectors = 10 };

	fh_init(&x, 1);
	cr_assert_eq(sim_fault_add_rule(x.f, &r), 0);
	struct h_io *a = fio(&x, BIO_READ, 0, 10);   /* just before */
	struct h_io *b = fio(&x, BIO_READ, 19, 2);   /* overlaps the end */
	struct h_io *c = fio(&x, BIO_READ, 20, 4);   /* just after */
	struct h_io *w = fio(&x, BIO_WRITE, 12, 2);  /* writes pass */
	struct h_io *fl = fio(&x, BIO_FLUSH, 0, 0);  /* flushes pass */
	cr_assert(!b->done); /* even failures complete later */
	h_run(&x.h);
	cr_assert_eq(a->status, 0);
	cr_assert_eq(b->status, -EIO);
	cr_assert_eq(c->status, 0);
	cr_assert_eq(w->status, 0);
	cr_assert_eq(fl->status, 0);
	cr_assert_eq(x.h.done_inside_submit, 0);
	cr_assert_eq(sim_fault_stats(x.f).injected, 1);
	fh_fini(&x);
}

Test(sim_disk_faults, errors_after_n_operations)
{
	struct fh x;
	struct sim_fault_rule r = { .ops = SIM_FAULT_WRITE, .from_op = 3,
				    .max_hits = 2, .error = -ENOSPC };
	struct h_io *io[8];

	fh_init(&x, 1);
	cr_assert_eq(sim_fault_add_rule(x.f, &r), 0);
	for (int i = 0; i < 8; i++)
		io[i] = fio(&x, BIO_WRITE, (sector_t)i, 1);
	h_run(&x.h);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(io[i]->status, i == 3 || i == 4 ? -ENOSPC : 0, "op %d", i);
	/* A failed write did not reach the disk. */
	cr_assert(h_durable_is(x.h.d, 3, 1, 0));
	struct sim_disk_pending p[8];
	cr_assert_eq(sim_disk_pending_list(x.h.d, p, 8), 6);
	struct sim_fault_rule bad = { .error = 5 };
	cr_assert_eq(sim_fault_add_rule(x.f, &bad), -EINVAL);
	fh_fini(&x);
}

Test(sim_disk_faults, latent_errors_clear_on_rewrite)
{
	struct fh x;
	uint8_t buf[8 * SECTOR_SIZE] = { 0 };

	fh_init(&x, 1);
	cr_assert_eq(sim_fault_add_latent(x.f, 100, 8), 0);
	cr_assert_eq(sim_fault_add_latent(x.f, 5, 0), -EINVAL);
	cr_assert(sim_fault_is_latent(x.f, 100));
	cr_assert(!sim_fault_is_latent(x.f, 108));
	struct h_io *r1 = fio(&x, BIO_READ, 96, 8);
	h_run(&x.h);
	cr_assert_eq(r1->status, -EIO);
	/* Rewrite the middle: only those sectors heal. */
	struct h_io *w = fio(&x, BIO_WRITE, 102, 2);
	h_run(&x.h);
	cr_assert_eq(w->status, 0);
	cr_assert(sim_fault_is_latent(x.f, 101));
	cr_assert(!sim_fault_is_latent(x.f, 102));
	cr_assert(!sim_fault_is_latent(x.f, 103));
	cr_assert(sim_fault_is_latent(x.f, 104));
	struct h_io *r2 = fio(&x, BIO_READ, 102, 2);
	struct h_io *r3 = fio(&x, BIO_READ, 104, 1);
	h_run(&x.h);
	cr_assert_eq(r2->status, 0);
	cr_assert_eq(r3->status, -EIO);
	/* A control-path write heals too; a control-path read sees errors. */
	cr_assert_eq(bdev_sync_rw(x.bd, BIO_READ, 104, 4, buf), -EIO);
	cr_assert_eq(bdev_sync_rw(x.bd, BIO_WRITE, 100, 2, buf), 0);
	cr_assert_eq(bdev_sync_rw(x.bd, BIO_WRITE, 104, 4, buf), 0);
	cr_assert_eq(bdev_sync_rw(x.bd, BIO_READ, 100, 8, buf), 0);
	cr_assert_eq(sim_fault_stats(x.f).latent_cleared, 8);
	fh_fini(&x);
}

Test(sim_disk_faults, a_disk_dies_at_an_operation)
{
	struct fh x;
	struct h_io *io[6];

	fh_init(&x, 1);
	cr_assert_eq(sim_fault_die_at_op(x.f, 4), 0);
	for (int i = 0; i < 6; i++)
		io[i] = fio(&x, i % 2 ? BIO_READ : BIO_WRITE, 0, 1);
	h_run(&x.h);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(io[i]->status, i >= 4 ? -EIO : 0, "op %d", i);
	struct h_io *f = fio(&x, BIO_FLUSH, 0, 0);
	h_run(&x.h);
	cr_assert_eq(f->status, -EIO);
	fh_fini(&x);
}

Test(sim_disk_faults, a_disk_dies_at_a_time)
{
	struct fh x;

	fh_init(&x, 1);
	cr_assert_eq(sim_fault_die_at_ns(x.f, 1000), 0);
	struct h_io *a = fio(&x, BIO_WRITE, 0, 1);
	h_run(&x.h);
	sim_sched_run_until(&x.h.s, 999, 0);
	struct h_io *b = fio(&x, BIO_WRITE, 0, 1);
	sim_sched_run_until(&x.h.s, 1000, 0);
	struct h_io *c = fio(&x, BIO_READ, 0, 1);
	h_run(&x.h);
	cr_assert_eq(a->status, 0);
	cr_assert_eq(b->status, 0);
	cr_assert_eq(c->status, -EIO);
	cr_assert_eq(bdev_sync_rw(x.bd, BIO_READ, 0, 1, c->buf), -EIO);
	fh_fini(&x);
}

static uint32_t chance_pattern(uint64_t seed)
{
	struct fh x;
	struct sim_fault_rule r = { .chance_num = 1, .chance_den = 2 };
	struct h_io *io[32];
	uint32_t bits = 0;

	fh_init(&x, seed);
	sim_fault_add_rule(x.f, &r);
	for (int i = 0; i < 32; i++)
		io[i] = fio(&x, BIO_READ, (sector_t)i, 1);
	h_run(&x.h);
	for (int i = 0; i < 32; i++)
		bits |= (uint32_t)(io[i]->status != 0) << i;
	fh_fini(&x);
	return bits;
}

Test(sim_disk_faults, intermittent_errors_are_seeded)
{
	uint32_t a = chance_pattern(5), b = chance_pattern(5), c = chance_pattern(6);

	cr_assert_eq(a, b);
	cr_assert_neq(a, c);
	cr_assert_neq(a, 0);
	cr_assert_neq(a, UINT32_MAX);
}
