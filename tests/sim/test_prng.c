/* test_prng.c - known answers and properties of sim/world/prng.c. */
#include <criterion/criterion.h>

#include <string.h>

#include "hash.h"
#include "prng.h"

Test(prng, splitmix64_known_answers)
{
	/* The published splitmix64 sequence for seed 1234567. */
	const uint64_t want[] = { 6457827717110365317ull, 3203168211198807973ull,
				  9817491932198370423ull, 4593380528125082431ull,
				  16408922859458223821ull };
	uint64_t st = 1234567;

	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(sim_splitmix64(&st), want[i], "output %zu", i);
}

Test(prng, xoshiro256starstar_known_answers)
{
	/* Reference algorithm from state {1, 2, 3, 4}. */
	const uint64_t want[] = { 0x2d00, 0x0, 0x5a007080, 0x10e0000000009d80ull,
				  0x10e0b61ce1009d80ull, 0x870021ce143ad00ull };
	struct sim_prng p = { .s = { 1, 2, 3, 4 } };

	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(sim_prng_next_u64(&p), want[i], "output %zu", i);
}

Test(prng, seeding_known_answers)
{
	/* Seeding = four splitmix64 outputs; these lock the seed contract. */
	const uint64_t want0[] = { 0x99ec5f36cb75f2b4ull, 0xbf6e1f784956452aull,
				   0x1a5f849d4933e6e0ull, 0x6aa594f1262d2d2cull };
	const uint64_t want42[] = { 0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull,
				    0xae17533239e499a1ull, 0xecb8ad4703b360a1ull };
	struct sim_prng a, b;

	sim_prng_seed(&a, 0);
	sim_prng_seed(&b, 42);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(sim_prng_next_u64(&a), want0[i]);
		cr_assert_eq(sim_prng_next_u64(&b), want42[i]);
	}
}

Test(prng, streams_are_fixed_and_distinct)
{
	struct sim_prng lat = sim_prng_stream(7, SIM_STREAM_LATENCY);
	struct sim_prng lat2 = sim_prng_stream(7, SIM_STREAM_LATENCY);
	struct sim_prng flt = sim_prng_stream(7, SIM_STREAM_FAULTS);
	struct sim_prng sub0 = sim_prng_substream(7, SIM_STREAM_LATENCY, 0);
	struct sim_prng sub1 = sim_prng_substream(7, SIM_STREAM_LATENCY, 1);
	struct sim_prng other = sim_prng_stream(8, SIM_STREAM_LATENCY);

	cr_assert_eq(memcmp(&lat, &lat2, sizeof(lat)), 0);
	cr_assert_eq(memcmp(&lat, &sub0, sizeof(lat)), 0);
	cr_assert_neq(memcmp(&lat, &flt, sizeof(lat)), 0);
	cr_assert_neq(memcmp(&lat, &sub1, sizeof(lat)), 0);
	cr_assert_neq(memcmp(&lat, &other, sizeof(lat)), 0);
	/* seed+1/purpose must not alias seed/purpose+1 */
	struct sim_prng x = sim_prng_stream(8, SIM_STREAM_REORDER);
	struct sim_prng y = sim_prng_stream(7, SIM_STREAM_FAULTS);
	cr_assert_neq(memcmp(&x, &y, sizeof(x)), 0);

	/* Draws on one stream do not move another: streams are values. */
	uint64_t f_first = sim_prng_next_u64(&flt);
	struct sim_prng flt_again = sim_prng_stream(7, SIM_STREAM_FAULTS);

	for (int i = 0; i < 100; i++)
		(void)sim_prng_next_u64(&lat);
	cr_assert_eq(sim_prng_next_u64(&flt_again), f_first);
}

Test(prng, below_stays_in_bounds_and_is_unbiased)
{
	struct sim_prng p;
	uint64_t counts[3] = { 0 };

	sim_prng_seed(&p, 1);
	cr_assert_eq(sim_prng_below(&p, 0), 0);
	cr_assert_eq(sim_prng_below(&p, 1), 0);
	for (int i = 0; i < 30000; i++) {
		uint64_t v = sim_prng_below(&p, 3);

		cr_assert_lt(v, 3);
		counts[v]++;
	}
	for (int i = 0; i < 3; i++)
		cr_assert(counts[i] > 9500 && counts[i] < 10500, "count %d = %llu", i,
			  (unsigned long long)counts[i]);
	/* A bound just above 2^63 exercises the rejection path. */
	for (int i = 0; i < 1000; i++)
		cr_assert_lt(sim_prng_below(&p, (1ull << 63) + 1), (1ull << 63) + 1);
}

Test(prng, range_is_inclusive)
{
	struct sim_prng p;
	bool seen_lo = false, seen_hi = false;

	sim_prng_seed(&p, 2);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = sim_prng_range(&p, 10, 13);

		cr_assert(v >= 10 && v <= 13);
		seen_lo |= v == 10;
		seen_hi |= v == 13;
	}
	cr_assert(seen_lo && seen_hi);
	cr_assert_eq(sim_prng_range(&p, 5, 5), 5);
	cr_assert_eq(sim_prng_range(&p, 9, 3), 9);
	(void)sim_prng_range(&p, 0, UINT64_MAX);
}

Test(prng, chance_integer_ratios)
{
	struct sim_prng p, q;
	int hits = 0;

	sim_prng_seed(&p, 3);
	q = p;
	/* Degenerate ratios decide without drawing. */
	cr_assert(!sim_prng_chance(&p, 0, 10));
	cr_assert(!sim_prng_chance(&p, 5, 0));
	cr_assert(sim_prng_chance(&p, 10, 10));
	cr_assert(sim_prng_chance(&p, 11, 10));
	cr_assert_eq(memcmp(&p, &q, sizeof(p)), 0);
	for (int i = 0; i < 10000; i++)
		hits += sim_prng_chance(&p, 1, 4);
	cr_assert(hits > 2300 && hits < 2700, "hits %d", hits);
}

Test(prng, fill_and_shuffle_are_deterministic)
{
	struct sim_prng a, b;
	uint8_t x[37], y[37];
	int arr[20], arr2[20];
	int sum = 0;

	sim_prng_seed(&a, 9);
	sim_prng_seed(&b, 9);
	sim_prng_fill(&a, x, sizeof(x));
	sim_prng_fill(&b, y, sizeof(y));
	cr_assert_eq(memcmp(x, y, sizeof(x)), 0);
	for (int i = 0; i < 20; i++)
		arr[i] = arr2[i] = i;
	sim_prng_shuffle(&a, arr, 20, sizeof(int));
	sim_prng_shuffle(&b, arr2, 20, sizeof(int));
	cr_assert_eq(memcmp(arr, arr2, sizeof(arr)), 0);
	for (int i = 0; i < 20; i++)
		sum += arr[i];
	cr_assert_eq(sum, 190); /* still a permutation */
}

Test(prng, hashes_known_answers)
{
	/* FNV-1a 64 of "a" is published: 0xaf63dc4c8601ec8c. */
	cr_assert_eq(sim_fnv1a(SIM_FNV1A_INIT, "a", 1), 0xaf63dc4c8601ec8cull);
	cr_assert_eq(sim_fnv1a(SIM_FNV1A_INIT, "", 0), SIM_FNV1A_INIT);
	uint8_t page[4096] = { 0 };
	uint64_t h0 = sim_hash_bytes(page, sizeof(page), 0);

	page[4095] = 1;
	cr_assert_neq(sim_hash_bytes(page, sizeof(page), 0), h0);
	cr_assert_neq(sim_hash_bytes(page, 10, 0), sim_hash_bytes(page, 11, 0));
}
