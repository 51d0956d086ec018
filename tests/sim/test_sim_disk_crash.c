/* test_sim_disk_crash.c - durability rules (FLUSH, FUA, PREFLUSH), power-cut
 * states, subset enumeration, torn writes, forks and their sharing. */
#include "disk_harness.h"

#include "crash_subset.h"

static struct sim_disk *fork_with(struct sim_disk *d, const uint64_t *ids, size_t n)
{
	struct sim_crash_write sv[16] = { 0 };
	struct sim_disk *c = NULL;

	for (size_t i = 0; i < n; i++)
		sv[i] = (struct sim_crash_write){ .id = ids[i] };
	cr_assert_eq(sim_disk_fork(d, sv, n, NULL, &c), 0);
	return c;
}

Test(sim_disk_crash, unflushed_write_may_be_lost)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	struct sim_disk_pending p[4];

	h_init(&h, &c);
	h_write(&h, 0, 16, 8, 0x77);
	h_run(&h);
	cr_assert_eq(sim_disk_pending_list(h.d, p, 4), 1);
	cr_assert(p[0].completed);
	cr_assert_eq(p[0].sector, 16);
	cr_assert_eq(p[0].nr_sectors, 8);
	cr_assert_eq(p[0].nr_units, 8);
	cr_assert_eq(p[0].done_seq, 1);
	cr_assert(h_durable_is(h.d, 16, 8, 0));

	struct sim_disk *lost = fork_with(h.d, NULL, 0);
	struct sim_disk *kept = fork_with(h.d, &p[0].id, 1);
	cr_assert(h_durable_is(lost, 16, 8, 0));
	cr_assert(h_durable_is(kept, 16, 8, 0x77));
	cr_assert_eq(sim_disk_pending_count(kept), 0); /* empty cache */
	cr_assert_neq(sim_disk_durable_hash(lost), sim_disk_durable_hash(kept));
	sim_disk_destroy(lost);
	sim_disk_destroy(kept);
	h_fini(&h);
}

Test(sim_disk_crash, completed_flush_makes_earlier_writes_durable)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);

	h_init(&h, &c);
	h_write(&h, 0, 0, 8, 0x01);
	h_write(&h, 0, 8, 8, 0x02);
	h_run(&h);
	struct h_io *f = h_flush(&h);
	cr_assert_eq(sim_disk_pending_count(h.d), 2); /* flush not complete yet */
	h_run(&h);
	cr_assert_eq(f->status, 0);
	cr_assert_eq(sim_disk_pending_count(h.d), 0);
	cr_assert(h_durable_is(h.d, 0, 8, 0x01));
	cr_assert(h_durable_is(h.d, 8, 8, 0x02));
	struct sim_disk *crashed = fork_with(h.d, NULL, 0);
	cr_assert(h_durable_is(crashed, 0, 16 / 2, 0x01));
	sim_disk_destroy(crashed);
	h_fini(&h);
}

Test(sim_disk_crash, write_submitted_after_the_flush_is_not_covered)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);

	c.flush_lat = (struct sim_latency){ 100, 100 };
	h_init(&h, &c);
	h_write(&h, 0, 0, 8, 0x01);
	h_run(&h);                       /* t=10: write 1 completed */
	h_flush(&h);                     /* t=10: flush submitted, done at 110 */
	struct h_io *w2 = h_write(&h, 0, 8, 8, 0x02); /* completes at 20 */
	h_run(&h);
	cr_assert_lt(w2->done_ns, 110);
	cr_assert(h_durable_is(h.d, 0, 8, 0x01));
	cr_assert(h_durable_is(h.d, 8, 8, 0));
	struct sim_disk_pending p[2];
	cr_assert_eq(sim_disk_pending_list(h.d, p, 2), 1);
	cr_assert_eq(p[0].sector, 8);
	h_fini(&h);
}

Test(sim_disk_crash, fua_write_is_durable_when_it_completes)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);

	h_init(&h, &c);
	h_write(&h, 0, 0, 8, 0x01);
	struct h_io *w = h_write(&h, BIO_FUA, 8, 8, 0x02);
	cr_assert(h_durable_is(h.d, 8, 8, 0)); /* not before completion */
	h_run(&h);
	cr_assert_eq(w->status, 0);
	cr_assert(h_durable_is(h.d, 8, 8, 0x02));
	cr_assert(h_durable_is(h.d, 0, 8, 0)); /* FUA flushes nothing else */
	cr_assert_eq(sim_disk_pending_count(h.d), 1);
	h_fini(&h);
}

Test(sim_disk_crash, preflush_covers_writes_completed_before_submission)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);

	h_init(&h, &c);
	h_write(&h, 0, 0, 8, 0x01);
	h_run(&h);
	h_write(&h, 0, 16, 8, 0x03);            /* in flight: not covered */
	h_write(&h, BIO_PREFLUSH | BIO_FUA, 8, 8, 0x02);
	h_run(&h);
	cr_assert(h_durable_is(h.d, 0, 8, 0x01));
	cr_assert(h_durable_is(h.d, 8, 8, 0x02));
	cr_assert(h_durable_is(h.d, 16, 8, 0));
	cr_assert_eq(sim_disk_pending_count(h.d), 1);
	h_fini(&h);
}

Test(sim_disk_crash, durable_write_supersedes_older_cached_sectors)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	struct sim_disk_pending p[4];

	h_init(&h, &c);
	h_write(&h, 0, 0, 8, 0xaa);      /* cached */
	h_run(&h);
	h_write(&h, BIO_FUA, 0, 4, 0xbb); /* durable over half of it */
	h_run(&h);
	cr_assert_eq(sim_disk_pending_list(h.d, p, 4), 1);
	struct sim_disk *all = fork_with(h.d, &p[0].id, 1);
	/* The old write survives only where it was not overwritten durably. */
	cr_assert(h_durable_is(all, 0, 4, 0xbb));
	cr_assert(h_durable_is(all, 4, 4, 0xaa));
	sim_disk_destroy(all);
	/* Fully overwritten: nothing left to lose. */
	h_write(&h, BIO_FUA, 0, 8, 0xcc);
	h_run(&h);
	cr_assert_eq(sim_disk_pending_count(h.d), 0);
	/* A flush later must not resurrect the old data either. */
	h_write(&h, 0, 0, 8, 0x01);
	h_run(&h);
	h_write(&h, BIO_FUA, 0, 8, 0x02);
	h_run(&h);
	h_flush(&h);
	h_run(&h);
	cr_assert(h_durable_is(h.d, 0, 8, 0x02));
	h_fini(&h);
}

Test(sim_disk_crash, in_flight_writes_are_listed_and_may_survive)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	struct sim_disk_pending p[4];

	h_init(&h, &c);
	h_write(&h, 0, 0, 8, 0x01);
	h_run(&h);
	h_write(&h, 0, 8, 8, 0x02);  /* still in flight */
	cr_assert_eq(sim_disk_pending_list(h.d, p, 4), 2);
	cr_assert(p[0].completed);
	cr_assert(!p[1].completed);
	cr_assert_eq(p[1].done_seq, 0);
	struct sim_disk *c2 = fork_with(h.d, &p[1].id, 1);
	cr_assert(h_durable_is(c2, 0, 8, 0));
	cr_assert(h_durable_is(c2, 8, 8, 0x02));
	sim_disk_destroy(c2);
	h_run(&h);
	h_fini(&h);
}

/* Each pending write carries the tag set when it was submitted, its flags and its kind. */
Test(sim_disk_crash, pending_writes_carry_their_submission_tag)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	struct sim_disk_pending p[4];
	uint8_t buf[512 * 8];

	h_init(&h, &c);
	sim_disk_set_tag(h.d, 12);
	h_write(&h, 0, 0, 8, 0x01);
	h_run(&h);
	sim_disk_set_tag(h.d, 30);
	h_write(&h, BIO_PREFLUSH, 8, 8, 0x02);  /* still in flight */
	sim_disk_set_tag(h.d, 41);
	memset(buf, 3, sizeof(buf));
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(h.d), BIO_WRITE, 16, 8, buf), 0); /* control path */
	cr_assert_eq(sim_disk_pending_list(h.d, p, 4), 3);
	cr_assert(p[0].completed && p[0].tag == 12 && p[0].bio_flags == 0 && !p[0].discard);
	cr_assert(p[1].completed && p[1].tag == 41 && p[1].sector == 16);
	cr_assert(!p[2].completed && p[2].tag == 30 && p[2].bio_flags == BIO_PREFLUSH);
	h_run(&h);
	/* The preflush made the first write durable (not the control-path one, after it). */
	cr_assert_eq(sim_disk_pending_list(h.d, p, 4), 2);
	cr_assert(p[0].tag == 41);
	cr_assert(p[1].completed && p[1].tag == 30 && p[1].bio_flags == BIO_PREFLUSH);
	h_fini(&h);
}

Test(sim_disk_crash, fork_rejects_bad_survivor_lists)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	struct sim_disk *out = NULL;
	struct sim_disk_pending p[2];

	h_init(&h, &c);
	h_write(&h, 0, 0, 8, 1);
	h_run(&h);
	sim_disk_pending_list(h.d, p, 2);
	struct sim_crash_write bad[2] = { { .id = 999 }, { .id = p[0].id } };
	cr_assert_eq(sim_disk_fork(h.d, bad, 1, NULL, &out), -EINVAL);
	struct sim_crash_write dup[2] = { { .id = p[0].id }, { .id = p[0].id } };
	cr_assert_eq(sim_disk_fork(h.d, dup, 2, NULL, &out), -EINVAL);
	cr_assert_eq(sim_disk_fork(h.d, NULL, 1, NULL, &out), -EINVAL);
	cr_assert_null(out);
	cr_assert_eq(sim_disk_store_stats(h.d).pages_live, 1); /* nothing made */
	h_fini(&h);
}

Test(sim_disk_crash, exhaustive_states_count_and_dedupe)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	struct sim_disk_pending p[8];
	bool surv[8];
	struct sim_crash_write sv[8];
	struct sim_subset_iter it;
	uint64_t hashes[64];
	size_t n, states = 0;

	h_init(&h, &c);
	for (int i = 0; i < 5; i++)
		h_write(&h, 0, (sector_t)i * 8, 8, 0x10 + i);
	h_run(&h);
	n = sim_disk_pending_list(h.d, p, 8);
	cr_assert_eq(n, 5);
	cr_assert_eq(sim_subset_total(SIM_SUBSET_ALL, n, 0), 32);
	cr_assert_eq(sim_subset_init(&it, SIM_SUBSET_ALL, n, 0, NULL), 0);
	while (sim_subset_next(&it, surv)) {
		struct sim_disk *f;
		size_t k = sim_subset_survivors(p, n, surv, sv);

		cr_assert_eq(sim_disk_fork(h.d, sv, k, NULL, &f), 0);
		hashes[states] = sim_disk_durable_hash(f);
		for (size_t i = 0; i < n; i++)
			cr_assert(h_durable_is(f, p[i].sector, 8,
					       surv[i] ? 0x10 + (int)i : 0));
		for (size_t j = 0; j < states; j++)
			cr_assert_neq(hashes[j], hashes[states], "states %zu %zu", j, states);
		states++;
		sim_disk_destroy(f);
	}
	cr_assert_eq(states, 32);
	h_fini(&h);

	/* Three writes of the same bytes to one place: 8 subsets, 2 states. */
	h_init(&h, &c);
	for (int i = 0; i < 3; i++)
		h_write(&h, 0, 0, 8, 0x42);
	h_run(&h);
	n = sim_disk_pending_list(h.d, p, 8);
	cr_assert_eq(n, 3);
	size_t distinct = 0;
	uint64_t seen[8];
	sim_subset_init(&it, SIM_SUBSET_ALL, n, 0, NULL);
	while (sim_subset_next(&it, surv)) {
		struct sim_disk *f;
		size_t k = sim_subset_survivors(p, n, surv, sv);
		bool dup = false;

		cr_assert_eq(sim_disk_fork(h.d, sv, k, NULL, &f), 0);
		uint64_t hh = sim_disk_durable_hash(f);
		for (size_t j = 0; j < distinct; j++)
			dup |= seen[j] == hh;
		if (!dup)
			seen[distinct++] = hh;
		sim_disk_destroy(f);
	}
	cr_assert_eq(distinct, 2);
	h_fini(&h);
}

Test(sim_disk_crash, subset_modes_count_what_they_produce)
{
	bool surv[12];
	struct sim_subset_iter it;

	for (size_t n = 0; n <= 10; n++) {
		uint64_t count = 0;

		cr_assert_eq(sim_subset_init(&it, SIM_SUBSET_ALL, n, 0, NULL), 0);
		while (sim_subset_next(&it, surv))
			count++;
		cr_assert_eq(count, (uint64_t)1 << n);
		cr_assert_eq(sim_subset_total(SIM_SUBSET_ALL, n, 0), count);

		count = 0;
		sim_subset_init(&it, SIM_SUBSET_PREFIX, n, 0, NULL);
		while (sim_subset_next(&it, surv)) {
			/* a prefix: no survivor after a lost write */
			bool lost = false;
			for (size_t i = 0; i < n; i++) {
				cr_assert(!(lost && surv[i]));
				lost |= !surv[i];
			}
			count++;
		}
		cr_assert_eq(count, n + 1);
		cr_assert_eq(sim_subset_total(SIM_SUBSET_PREFIX, n, 0), n + 1);

		for (uint64_t k = 0; k <= 3; k++) {
			uint32_t seen[1024] = { 0 };

			count = 0;
			cr_assert_eq(sim_subset_init(&it, SIM_SUBSET_REORDER, n, k, NULL), 0);
			while (sim_subset_next(&it, surv)) {
				uint32_t bits = 0;
				size_t p = 0, extra = 0;

				for (size_t i = 0; i < n; i++)
					bits |= (uint32_t)surv[i] << i;
				while (p < n && surv[p])
					p++;
				for (size_t i = p; i < n; i++)
					extra += surv[i];
				cr_assert_leq(extra, k);
				cr_assert_eq(seen[bits], 0, "duplicate subset");
				seen[bits] = 1;
				count++;
			}
			/* exactly the subsets with at most k survivors after the
			 * first lost write */
			uint64_t want = 0;
			for (uint32_t bits = 0; bits < (1u << n); bits++) {
				size_t p = 0, extra = 0;
				while (p < n && (bits >> p & 1))
					p++;
				for (size_t i = p; i < n; i++)
					extra += bits >> i & 1;
				want += extra <= k;
			}
			cr_assert_eq(count, want, "n=%zu k=%llu", n, (unsigned long long)k);
			cr_assert_eq(sim_subset_total(SIM_SUBSET_REORDER, n, k), want);
		}
	}
	cr_assert_eq(sim_subset_init(&it, SIM_SUBSET_ALL, 31, 0, NULL), -EINVAL);
	cr_assert_eq(sim_subset_init(&it, SIM_SUBSET_REORDER, 5, 17, NULL), -EINVAL);
	cr_assert_eq(sim_subset_total(SIM_SUBSET_ALL, 64, 0), UINT64_MAX);
	cr_assert_eq(sim_subset_total(SIM_SUBSET_REORDER, 200, 16), UINT64_MAX);
}

Test(sim_disk_crash, random_samples_are_seeded)
{
	struct sim_prng p1 = sim_prng_stream(3, SIM_STREAM_CRASH);
	struct sim_prng p2 = sim_prng_stream(4, SIM_STREAM_CRASH);
	struct sim_subset_iter a, b, c;
	bool sa[100], sb[100], sc[100];
	int samples = 0, differ = 0;

	sim_subset_init(&a, SIM_SUBSET_RANDOM, 100, 20, &p1);
	sim_subset_init(&b, SIM_SUBSET_RANDOM, 100, 20, &p1);
	sim_subset_init(&c, SIM_SUBSET_RANDOM, 100, 20, &p2);
	while (sim_subset_next(&a, sa)) {
		cr_assert(sim_subset_next(&b, sb));
		cr_assert(sim_subset_next(&c, sc));
		cr_assert_eq(memcmp(sa, sb, sizeof(sa)), 0);
		differ += memcmp(sa, sc, sizeof(sa)) != 0;
		samples++;
	}
	cr_assert_eq(samples, 20);
	cr_assert_gt(differ, 0);
}

Test(sim_disk_crash, torn_writes_at_atomic_unit_granularity)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	struct sim_disk_pending p[2];
	struct sim_disk *f;

	/* 512-byte atomic units: any subset of sectors. */
	h_init(&h, &c);
	h_write(&h, 0, 0, 4, 0xee);
	h_run(&h);
	sim_disk_pending_list(h.d, p, 2);
	cr_assert_eq(p[0].nr_units, 4);
	uint64_t mask = 0x5; /* units 0 and 2 */
	struct sim_crash_write sv = { .id = p[0].id, .unit_mask = &mask };
	cr_assert_eq(sim_disk_fork(h.d, &sv, 1, NULL, &f), 0);
	cr_assert(h_durable_is(f, 0, 1, 0xee));
	cr_assert(h_durable_is(f, 1, 1, 0));
	cr_assert(h_durable_is(f, 2, 1, 0xee));
	cr_assert(h_durable_is(f, 3, 1, 0));
	sim_disk_destroy(f);
	h_fini(&h);

	/* 4 KiB atomic units, a write straddling three of them. */
	c.atomic_sectors = 8;
	h_init(&h, &c);
	h_write(&h, 0, 4, 16, 0xdd); /* sectors 4..19: units 0,1,2 = 4..7, 8..15, 16..19 */
	h_run(&h);
	sim_disk_pending_list(h.d, p, 2);
	cr_assert_eq(p[0].nr_units, 3);
	mask = 0x2; /* only the middle unit */
	sv = (struct sim_crash_write){ .id = p[0].id, .unit_mask = &mask };
	cr_assert_eq(sim_disk_fork(h.d, &sv, 1, NULL, &f), 0);
	cr_assert(h_durable_is(f, 4, 4, 0));
	cr_assert(h_durable_is(f, 8, 8, 0xdd));
	cr_assert(h_durable_is(f, 16, 4, 0));
	sim_disk_destroy(f);
	mask = 0x5;
	cr_assert_eq(sim_disk_fork(h.d, &sv, 1, NULL, &f), 0);
	cr_assert(h_durable_is(f, 4, 4, 0xdd));
	cr_assert(h_durable_is(f, 8, 8, 0));
	cr_assert(h_durable_is(f, 16, 4, 0xdd));
	sim_disk_destroy(f);
	/* Random masks stay inside the write's units. */
	struct sim_prng pr = sim_prng_stream(1, SIM_STREAM_CRASH);
	uint64_t m2[2];
	for (int i = 0; i < 50; i++) {
		sim_unit_mask_random(&pr, 70, m2);
		cr_assert_eq(m2[1] >> 6, 0);
	}
	h_fini(&h);
}

Test(sim_disk_crash, forks_are_isolated)
{
	struct harness h;
	struct sim_disk_config c = h_config(256);
	struct sim_disk *a, *b;

	h_init(&h, &c);
	h_write(&h, 0, 0, 8, 0x01);
	h_run(&h);
	h_flush(&h);
	h_run(&h);
	a = fork_with(h.d, NULL, 0);
	b = fork_with(h.d, NULL, 0);
	cr_assert_neq(strcmp(sim_disk_bdev(a)->name, sim_disk_bdev(b)->name), 0);

	/* Write to fork a (through its own I/O path and a flush). */
	struct h_io *w = h_submit(&h, sim_disk_bdev(a), BIO_WRITE, BIO_FUA, 0, 8, 0xa0);
	h_run(&h);
	cr_assert_eq(w->status, 0);
	cr_assert(h_durable_is(a, 0, 8, 0xa0));
	cr_assert(h_durable_is(b, 0, 8, 0x01));
	cr_assert(h_durable_is(h.d, 0, 8, 0x01));
	/* Write to the parent: forks unchanged. */
	h_write(&h, BIO_FUA, 0, 8, 0x99);
	h_run(&h);
	cr_assert(h_durable_is(a, 0, 8, 0xa0));
	cr_assert(h_durable_is(b, 0, 8, 0x01));
	/* The parent may go first. */
	sim_disk_destroy(h.d);
	h.d = NULL;
	cr_assert(h_durable_is(b, 0, 8, 0x01));
	cr_assert_eq(sim_disk_durable_hash(b),
		     sim_disk_current_hash(b)); /* empty cache */
	sim_disk_destroy(a);
	sim_disk_destroy(b);
	h_fini(&h);
}

Test(sim_disk_crash, forks_share_pages)
{
	struct harness h;
	struct sim_disk_config c = h_config(64 * 1024); /* 32 MiB */
	struct sim_disk *f[10];

	h_init(&h, &c);
	for (int i = 0; i < 64; i++)
		h_write(&h, 0, (sector_t)i * 8 * 16, 8, i + 1); /* 64 pages, spread */
	h_run(&h);
	h_flush(&h);
	h_run(&h);
	struct sim_store_stats before = sim_disk_store_stats(h.d);
	cr_assert_eq(before.pages_live, 128); /* durable + current images */
	for (int i = 0; i < 10; i++)
		f[i] = fork_with(h.d, NULL, 0);
	struct sim_store_stats after = sim_disk_store_stats(h.d);
	cr_assert_eq(after.pages_live, 128, "forks copied pages");
	cr_assert_eq(after.nodes_live, before.nodes_live);
	/* A one-sector write in a fork copies one page, twice at most (its
	 * durable and current images), plus the nodes on the path. */
	uint8_t buf[SECTOR_SIZE] = { 0x55 };
	cr_assert_eq(bdev_sync_rw(sim_disk_bdev(f[3]), BIO_WRITE, 0, 1, buf), 0);
	after = sim_disk_store_stats(h.d);
	cr_assert_eq(after.pages_live, 129);
	cr_assert_eq(after.page_copies - before.page_copies, 1);
	cr_assert(h_durable_is(h.d, 0, 8, 1));
	for (int i = 0; i < 10; i++)
		sim_disk_destroy(f[i]);
	cr_assert_eq(sim_disk_store_stats(h.d).pages_live, 128);
	h_fini(&h);
}

Test(sim_disk_crash, hash_depends_on_content_only)
{
	struct harness h;
	struct sim_disk_config c = h_config(4096);
	uint8_t orig[8 * SECTOR_SIZE], mod[8 * SECTOR_SIZE];
	struct h_io *w;

	c.init = SIM_INIT_GARBAGE;
	h_init(&h, &c);
	uint64_t empty = sim_disk_durable_hash(h.d);
	cr_assert_eq(sim_disk_read_durable(h.d, 64, 8, orig), 0); /* garbage */
	memcpy(mod, orig, sizeof(mod));
	memset(mod + SECTOR_SIZE, 0, SECTOR_SIZE);
	/* Data is taken at completion, so fill the buffer after submitting. */
	w = h_write(&h, BIO_FUA, 64, 8, 0);
	memcpy(w->buf, mod, sizeof(mod));
	h_run(&h);
	uint64_t changed = sim_disk_durable_hash(h.d);
	cr_assert_neq(changed, empty);
	/* Write the original garbage back: the same content, the same hash,
	 * although the page is now present. */
	w = h_write(&h, BIO_FUA, 64, 8, 0);
	memcpy(w->buf, orig, sizeof(orig));
	h_run(&h);
	cr_assert_eq(sim_disk_durable_hash(h.d), empty);
	cr_assert_eq(sim_disk_current_hash(h.d), empty);
	/* Two disks reaching the same content by different paths agree. */
	struct harness g;
	h_init(&g, &c);
	w = h_write(&g, BIO_FUA, 64, 8, 0);
	memcpy(w->buf, mod, sizeof(mod));
	h_run(&g);
	cr_assert_eq(sim_disk_durable_hash(g.d), changed);
	h_fini(&g);
	h_fini(&h);
}
