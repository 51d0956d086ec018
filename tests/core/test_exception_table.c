/* test_exception_table.c - the complete-exception table (spec 5). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "exception_table.h"

static struct extable t;

static void setup(void)
{
	cr_assert_eq(extable_init(&t, 64), 0);
}

static void teardown(void)
{
	extable_destroy(&t);
}

TestSuite(extable, .init = setup, .fini = teardown);

static chunk_t must_lookup(chunk_t c)
{
	chunk_t n = 0;

	cr_assert(extable_lookup(&t, c, &n), "chunk %llu not mapped",
		  (unsigned long long)c);
	return n;
}

Test(extable, bucket_count_clamped_and_rounded_down)
{
	struct extable u;
	static const struct { uint64_t hint; uint32_t buckets; } cases[] = {
		{ 0, 64 }, { 1, 64 }, { 64, 64 }, { 100, 64 }, { 128, 128 },
		{ 1000, 512 }, { 262144, 262144 }, { 262145, 262144 },
		{ UINT64_MAX, 262144 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(extable_init(&u, cases[i].hint), 0);
		cr_expect_eq(u.mask + 1, cases[i].buckets, "hint %llu",
			     (unsigned long long)cases[i].hint);
		extable_destroy(&u);
	}
}

Test(extable, run_grows_at_the_back)
{
	for (chunk_t c = 0; c < 10; c++)
		cr_assert_eq(extable_insert(&t, 100 + c, 1000 + c), 0);
	cr_expect_eq(t.nr_entries, 1);
	cr_expect_eq(t.nr_chunks, 10);
	for (chunk_t c = 0; c < 10; c++)
		cr_expect_eq(must_lookup(100 + c), 1000 + c);
	cr_expect_not(extable_lookup(&t, 99, NULL));
	cr_expect_not(extable_lookup(&t, 110, NULL));
}

Test(extable, run_grows_at_the_front)
{
	for (chunk_t c = 10; c-- > 0;)
		cr_assert_eq(extable_insert(&t, 100 + c, 1000 + c), 0);
	cr_expect_eq(t.nr_entries, 1);
	for (chunk_t c = 0; c < 10; c++)
		cr_expect_eq(must_lookup(100 + c), 1000 + c);
}

Test(extable, no_run_when_cow_chunks_not_consecutive)
{
	cr_assert_eq(extable_insert(&t, 5, 50), 0);
	cr_assert_eq(extable_insert(&t, 6, 52), 0);
	cr_assert_eq(extable_insert(&t, 4, 48), 0);
	cr_expect_eq(t.nr_entries, 3);
	cr_expect_eq(must_lookup(5), 50);
	cr_expect_eq(must_lookup(6), 52);
	cr_expect_eq(must_lookup(4), 48);
}

Test(extable, adjacent_entries_are_not_joined)
{
	cr_assert_eq(extable_insert(&t, 10, 100), 0);
	cr_assert_eq(extable_insert(&t, 12, 102), 0);
	cr_assert_eq(extable_insert(&t, 11, 101), 0); /* extends 10's end */
	cr_expect_eq(t.nr_entries, 2);
	cr_expect_eq(t.nr_chunks, 3);
	for (chunk_t c = 10; c <= 12; c++)
		cr_expect_eq(must_lookup(c), 100 + (c - 10));
}

Test(extable, runs_stop_at_256_boundaries)
{
	/* 0..511 sequential: two entries, one per aligned group of 256. */
	for (chunk_t c = 0; c < 512; c++)
		cr_assert_eq(extable_insert(&t, c, 7 + c), 0);
	cr_expect_eq(t.nr_entries, 2);
	cr_expect_eq(must_lookup(255), 7 + 255);
	cr_expect_eq(must_lookup(256), 7 + 256);
	cr_expect_eq(must_lookup(511), 7 + 511);
	/* 255 and 256 live in different buckets. */
	cr_expect_eq(extable_remove(&t, 255), 0);
	cr_expect_eq(extable_remove(&t, 256), 0);
	cr_expect_eq(t.nr_entries, 2);
}

Test(extable, buckets_alias_every_256_times_nr_buckets)
{
	/* With 64 buckets, chunks c and c + 64*256 share a bucket. */
	chunk_t far = 64 * 256;

	cr_assert_eq(extable_insert(&t, far + 3, 9), 0);
	cr_assert_eq(extable_insert(&t, 3, 20), 0);
	cr_assert_eq(extable_insert(&t, 4, 21), 0);
	cr_expect_eq(must_lookup(3), 20);
	cr_expect_eq(must_lookup(4), 21);
	cr_expect_eq(must_lookup(far + 3), 9);
	cr_expect_not(extable_lookup(&t, far + 4, NULL));
	cr_expect_eq(t.nr_entries, 2);
}

Test(extable, duplicate_and_oversized_inserts_rejected)
{
	cr_assert_eq(extable_insert(&t, 1, 2), 0);
	cr_expect_eq(extable_insert(&t, 1, 3), -EEXIST);
	cr_expect_eq(extable_insert(&t, 9, UINT64_C(1) << 56), -EINVAL);
	cr_expect_eq(t.nr_chunks, 1);
	cr_expect_eq(must_lookup(1), 2);
}

Test(extable, remove_from_ends_only)
{
	for (chunk_t c = 0; c < 5; c++)
		cr_assert_eq(extable_insert(&t, 20 + c, 200 + c), 0);
	cr_expect_eq(extable_remove(&t, 22), -EINVAL); /* middle */
	cr_expect_eq(extable_remove(&t, 19), -EINVAL); /* unmapped */
	cr_expect_eq(extable_remove(&t, 25), -EINVAL);
	cr_expect_eq(t.nr_chunks, 5);
	cr_expect_eq(extable_remove(&t, 24), 0); /* back */
	cr_expect_not(extable_lookup(&t, 24, NULL));
	cr_expect_eq(extable_remove(&t, 20), 0); /* front */
	cr_expect_not(extable_lookup(&t, 20, NULL));
	cr_expect_eq(must_lookup(21), 201);
	cr_expect_eq(must_lookup(23), 203);
	cr_expect_eq(extable_remove(&t, 23), 0);
	cr_expect_eq(extable_remove(&t, 21), 0);
	cr_expect_eq(extable_remove(&t, 22), 0);
	cr_expect_eq(t.nr_chunks, 0);
	cr_expect_eq(t.nr_entries, 0);
	cr_expect_eq(extable_remove(&t, 22), -EINVAL);
}

struct visit_log {
	chunk_t old_chunk[64], new_chunk[64];
	int n;
	int stop_at;
};

static int visit(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	struct visit_log *v = ctx;

	if (v->n == v->stop_at)
		return 42;
	v->old_chunk[v->n] = old_chunk;
	v->new_chunk[v->n] = new_chunk;
	v->n++;
	return 0;
}

Test(extable, foreach_visits_every_chunk_in_bucket_order)
{
	struct visit_log v = { .stop_at = -1 };

	cr_assert_eq(extable_insert(&t, 300, 3), 0);  /* bucket 1 */
	cr_assert_eq(extable_insert(&t, 2, 11), 0);   /* bucket 0 */
	cr_assert_eq(extable_insert(&t, 1, 10), 0);
	cr_assert_eq(extable_insert(&t, 9, 30), 0);
	cr_assert_eq(extable_foreach(&t, visit, &v), 0);
	cr_assert_eq(v.n, 4);
	chunk_t eo[] = { 1, 2, 9, 300 }, en[] = { 10, 11, 30, 3 };
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(v.old_chunk[i], eo[i]);
		cr_expect_eq(v.new_chunk[i], en[i]);
	}
	struct visit_log w = { .stop_at = 2 };
	cr_expect_eq(extable_foreach(&t, visit, &w), 42);
	cr_expect_eq(w.n, 2);
}

Test(extable, memory_is_compact)
{
	struct extable u;
	size_t heads;

	cr_assert_eq(extable_init(&u, 64), 0);
	heads = extable_memory_bytes(&u);
	for (chunk_t c = 0; c < 256 * 64; c++)
		cr_assert_eq(extable_insert(&u, c, c + 2), 0);
	cr_expect_eq(u.nr_entries, 64);
	/*
	 * One page of 64 heads, then per 256 chunks one 8-byte block header
	 * and one 4-byte entry (1-byte key, 2-byte new chunk, run).
	 */
	cr_expect_eq(extable_memory_bytes(&u) - heads, 64 * 8 + 64 * (8 + 4));
	extable_destroy(&u);
}

/* Property: the table agrees with a naive array model. */
Test(extable, randomized_against_array_model)
{
	const char *env = getenv("SNAPSIM_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eed1234abcdULL;
	enum { SPACE = 4096, STEPS = 200000 };
	static uint64_t model[SPACE]; /* 0 = unmapped, else new + 1 */
	uint64_t x = seed ? seed : 1, nr = 0;

	fprintf(stderr, "extable property test: SNAPSIM_SEED=%llu\n",
		(unsigned long long)seed);
	for (int step = 0; step < STEPS; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		chunk_t c = (x >> 8) % SPACE;
		/* Often consecutive new chunks, to make runs. */
		chunk_t n = ((x >> 40) & 3) ? c + 1000 : (x >> 20) % 100000;
		unsigned op = x % 4;

		if (op < 2) {
			int r = extable_insert(&t, c, n);

			if (model[c]) {
				cr_assert_eq(r, -EEXIST, "seed %llu step %d",
					     (unsigned long long)seed, step);
			} else {
				cr_assert_eq(r, 0);
				model[c] = n + 1;
				nr++;
			}
		} else if (op == 2) {
			int r = extable_remove(&t, c);

			if (r == 0) {
				cr_assert(model[c], "seed %llu step %d: removed unmapped %llu",
					  (unsigned long long)seed, step,
					  (unsigned long long)c);
				model[c] = 0;
				nr--;
			} else {
				cr_assert_eq(r, -EINVAL);
			}
		} else {
			chunk_t got = 0;
			bool hit = extable_lookup(&t, c, &got);

			cr_assert_eq(hit, model[c] != 0, "seed %llu step %d chunk %llu",
				     (unsigned long long)seed, step,
				     (unsigned long long)c);
			if (hit)
				cr_assert_eq(got + 1, model[c]);
		}
		cr_assert_eq(t.nr_chunks, nr);
	}
	for (chunk_t c = 0; c < SPACE; c++) {
		chunk_t got = 0;

		cr_assert_eq(extable_lookup(&t, c, &got), model[c] != 0);
		if (model[c])
			cr_assert_eq(got + 1, model[c]);
	}
}

/* Entries are packed at per-bucket widths that grow as values need. */
Test(extable, wide_values_round_trip)
{
	static const chunk_t olds[] = {
		0, 255, 256, UINT64_C(1) << 32, (UINT64_C(1) << 40) + 7,
		UINT64_MAX - 300, UINT64_MAX,
	};
	static const chunk_t news[] = {
		1, UINT64_C(1) << 55, 70000, (UINT64_C(1) << 56) - 1, 3,
		UINT64_C(1) << 24, 2,
	};

	for (size_t i = 0; i < sizeof(olds) / sizeof(olds[0]); i++)
		cr_assert_eq(extable_insert(&t, olds[i], news[i]), 0, "i=%zu", i);
	for (size_t i = 0; i < sizeof(olds) / sizeof(olds[0]); i++)
		cr_expect_eq(must_lookup(olds[i]), news[i], "i=%zu", i);
	cr_expect_not(extable_lookup(&t, (UINT64_C(1) << 32) + 1, NULL));
	cr_expect_not(extable_lookup(&t, UINT64_MAX - 1, NULL));
	/* Far chunks that alias one bucket keep their order. */
	cr_assert_eq(extable_insert(&t, 3 + (UINT64_C(64) << 8) * 5, 9), 0);
	cr_expect_eq(must_lookup(3 + (UINT64_C(64) << 8) * 5), 9);
	cr_expect_eq(must_lookup(0), 1);
}

Test(extable, run_crossing_a_width_boundary)
{
	/* new 254..257 crosses from 1 to 2 bytes while the run grows. */
	for (chunk_t c = 0; c < 4; c++)
		cr_assert_eq(extable_insert(&t, 10 + c, 254 + c), 0);
	cr_expect_eq(t.nr_entries, 1);
	for (chunk_t c = 0; c < 4; c++)
		cr_expect_eq(must_lookup(10 + c), 254 + c);
	/* Removing from the front stores new + 1 (256: two bytes). */
	cr_expect_eq(extable_remove(&t, 10), 0);
	cr_expect_eq(extable_remove(&t, 11), 0);
	cr_expect_eq(must_lookup(12), 256);
	cr_expect_eq(must_lookup(13), 257);
	/* A wider key in the same bucket re-encodes the block. */
	cr_assert_eq(extable_insert(&t, 12 + (UINT64_C(64) << 8) * 1000, 5), 0);
	cr_expect_eq(must_lookup(12), 256);
	cr_expect_eq(must_lookup(12 + (UINT64_C(64) << 8) * 1000), 5);
}

Test(extable, heads_are_allocated_lazily)
{
	struct extable u;
	size_t empty;

	cr_assert_eq(extable_init(&u, 262144), 0);
	empty = extable_memory_bytes(&u);
	cr_expect_leq(empty, 4096, "empty table costs %zu bytes", empty);
	/* One insert allocates one page of 512 heads and one block. */
	cr_assert_eq(extable_insert(&u, 1000000, 2), 0);
	cr_expect_leq(extable_memory_bytes(&u) - empty, 512 * sizeof(void *) + 16);
	/* The foreach order is still bucket order over all pages. */
	cr_assert_eq(extable_insert(&u, 5, 3), 0);
	struct visit_log v = { .stop_at = -1 };
	cr_assert_eq(extable_foreach(&u, visit, &v), 0);
	cr_assert_eq(v.n, 2);
	cr_expect_eq(v.old_chunk[0], 5);
	cr_expect_eq(v.old_chunk[1], 1000000);
	extable_destroy(&u);
}

/* Property: wide, sparse chunk numbers against a list model. */
Test(extable, randomized_wide_values_against_model)
{
	enum { N = 3000 };
	static chunk_t olds[N], news[N];
	static bool live[N];
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Distinct: the low 12 bits are i; high bits random of random width. */
		olds[i] = ((x >> (x & 31)) << 12) | (chunk_t)i;
		news[i] = (x >> 8) >> ((x >> 3) & 63) & ((UINT64_C(1) << 56) - 1);
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < N; i++) {
			if ((i + pass) % 3 == 0 && live[i]) {
				cr_assert_eq(extable_remove(&t, olds[i]), 0, "i=%d", i);
				live[i] = false;
			} else if (!live[i]) {
				cr_assert_eq(extable_insert(&t, olds[i], news[i]), 0, "i=%d", i);
				live[i] = true;
			}
		}
	for (int i = 0; i < N; i++) {
		chunk_t got = 0;

		cr_assert_eq(extable_lookup(&t, olds[i], &got), live[i], "i=%d", i);
		if (live[i])
			cr_assert_eq(got, news[i], "i=%d", i);
	}
}
