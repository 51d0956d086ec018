/* test_sim_disk_zeros.c - zeros cost no memory: pages written all zero in
 * the sparse map (absent again, or one shared page), cached writes of zeros
 * without a copy, and hashes and crash states that are still exact. */
#include "disk_harness.h"

#include "sparse_map.h"

#define PAGE SIM_PAGE_SECTORS

static void zero_buf_write(struct sim_map *m, sector_t sector, uint32_t nr, int fill)
{
	uint8_t *b = malloc((size_t)nr * SECTOR_SIZE);

	memset(b, fill, (size_t)nr * SECTOR_SIZE);
	cr_assert_eq(sim_map_write(m, sector, nr, b), 0);
	free(b);
}

static bool map_is(const struct sim_map *m, sector_t sector, uint32_t nr, int b)
{
	uint8_t *buf = malloc((size_t)nr * SECTOR_SIZE);
	bool ok;

	sim_map_read(m, sector, nr, buf);
	ok = h_all(buf, nr, b);
	free(buf);
	return ok;
}

Test(sim_zeros, a_gib_of_zeros_holds_no_page_in_a_zero_store)
{
	struct sim_store *st = sim_store_create(SIM_INIT_ZERO, 1);
	struct sim_map m, fresh;
	sector_t gib = (1ull << 30) / SECTOR_SIZE;
	uint64_t h0;

	sim_map_init(&m, st, gib);
	sim_map_init(&fresh, st, gib);
	h0 = sim_map_hash(&fresh);
	for (sector_t s = 0; s < gib; s += 1024)
		zero_buf_write(&m, s, 1024, 0);
	cr_assert_eq(sim_store_stats(st).pages_live, 0);
	cr_assert_lt(sim_store_stats(st).bytes_live, 8u << 20, "nodes %llu",
		     (unsigned long long)sim_store_stats(st).nodes_live);
	cr_assert_eq(sim_map_hash(&m), h0);
	/* Data, then zeros over it: the page is freed, the hash back to empty. */
	zero_buf_write(&m, 3 * PAGE, 2 * PAGE, 0x5a);
	cr_assert_eq(sim_store_stats(st).pages_live, 2);
	cr_assert_neq(sim_map_hash(&m), h0);
	cr_assert_eq(sim_map_write_zeros(&m, 3 * PAGE, 2 * PAGE), 0);
	cr_assert_eq(sim_store_stats(st).pages_live, 0);
	cr_assert_eq(sim_map_hash(&m), h0);
	cr_assert(map_is(&m, 0, 8 * PAGE, 0));
	/* Zeros over part of a written page keep the rest of it. */
	zero_buf_write(&m, 0, PAGE, 0x11);
	cr_assert_eq(sim_map_write_zeros(&m, 2, 3), 0);
	cr_assert(map_is(&m, 0, 2, 0x11));
	cr_assert(map_is(&m, 2, 3, 0));
	cr_assert(map_is(&m, 5, PAGE - 5, 0x11));
	sim_map_destroy(&fresh);
	sim_map_destroy(&m);
	sim_store_put(st);
}

Test(sim_zeros, garbage_store_shares_one_zero_page_and_hashes_by_content)
{
	struct sim_store *st = sim_store_create(SIM_INIT_GARBAGE, 7);
	struct sim_map a, b, c;
	uint8_t init[SECTOR_SIZE];
	bool all0 = true;

	sim_map_init(&a, st, 64 * PAGE);
	sim_map_init(&b, st, 64 * PAGE);
	sim_store_initial(st, 0, 1, init);
	for (unsigned i = 0; i < SECTOR_SIZE; i++)
		all0 = all0 && !init[i];
	cr_assert(!all0, "garbage reads as zeros");
	/* a: whole zero pages (shared); b: the same zeros half a page at a
	 * time (private pages). Same content, same hash. */
	cr_assert_eq(sim_map_write_zeros(&a, PAGE, 40 * PAGE), 0);
	cr_assert_eq(sim_store_stats(st).pages_live, 0);
	for (sector_t s = PAGE; s < 41 * PAGE; s += PAGE / 2)
		zero_buf_write(&b, s, PAGE / 2, 0);
	cr_assert_eq(sim_store_stats(st).pages_live, 40);
	cr_assert_eq(sim_map_hash(&a), sim_map_hash(&b));
	cr_assert(map_is(&a, PAGE, 40 * PAGE, 0));
	cr_assert(!map_is(&a, 0, 1, 0)); /* still garbage around them */
	cr_assert(!map_is(&a, 41 * PAGE, 1, 0));
	/* A clone writing into a shared zero page copies it, and only it. */
	sim_map_clone(&c, &a);
	zero_buf_write(&c, 2 * PAGE + 1, 1, 0x99);
	cr_assert_eq(sim_store_stats(st).pages_live, 41);
	cr_assert(map_is(&a, 2 * PAGE + 1, 1, 0));
	cr_assert(map_is(&c, 2 * PAGE + 1, 1, 0x99));
	cr_assert(map_is(&c, 2 * PAGE, 1, 0));
	cr_assert_neq(sim_map_hash(&a), sim_map_hash(&c));
	sim_map_destroy(&c);
	sim_map_destroy(&b);
	sim_map_destroy(&a);
	sim_store_put(st);
}

/* A cached write of zeros keeps no copy, and a crash state still has it
 * or not as the survivors say. */
Test(sim_zeros, cached_zero_write_survives_or_is_lost)
{
	struct harness h;
	struct sim_disk_config c = h_config(1u << 16);
	struct sim_disk_pending p[4];
	struct sim_crash_write sv = { 0 };
	struct sim_disk *kept = NULL, *lost = NULL;

	h_init(&h, &c);
	h_write(&h, BIO_FUA, 0, 64, 0x42);
	h_run(&h);
	h_write(&h, 0, 0, 32768, 0); /* 16 MiB of zeros, cached */
	h_run(&h);
	cr_assert_eq(sim_disk_pending_list(h.d, p, 4), 1);
	cr_assert_lt(sim_disk_store_stats(h.d).bytes_live, 1u << 20);
	sv.id = p[0].id;
	cr_assert_eq(sim_disk_fork(h.d, &sv, 1, NULL, &kept), 0);
	cr_assert_eq(sim_disk_fork(h.d, NULL, 0, NULL, &lost), 0);
	cr_assert(h_durable_is(kept, 0, 64, 0));
	cr_assert(h_durable_is(lost, 0, 64, 0x42));
	cr_assert(h_durable_is(lost, 64, 64, 0));
	h_flush(&h);
	h_run(&h);
	cr_assert(h_durable_is(h.d, 0, 32768, 0));
	cr_assert_eq(sim_disk_durable_hash(h.d), sim_disk_durable_hash(kept));
	sim_disk_destroy(kept);
	sim_disk_destroy(lost);
	h_fini(&h);
}
