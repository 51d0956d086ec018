/* prng.c - splitmix64 seeding and xoshiro256** streams; see prng.h. */
#include "prng.h"

#include "hash.h"

uint64_t sim_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sim_prng_seed(struct sim_prng *p, uint64_t seed)
{
	uint64_t sm = seed;

	for (int i = 0; i < 4; i++)
		p->s[i] = sim_splitmix64(&sm);
	/* splitmix64 is a bijection of distinct counters: four zeros cannot
	 * happen, but keep the invariant explicit. */
	if (!(p->s[0] | p->s[1] | p->s[2] | p->s[3]))
		p->s[0] = 1;
}

struct sim_prng sim_prng_substream(uint64_t seed, uint64_t purpose,
				   uint64_t instance)
{
	struct sim_prng p;
	/*
	 * Derive the stream seed by mixing, not by adding: seed+1 of purpose 2
	 * must not equal seed of purpose 3.
	 */
	uint64_t key = sim_hash_combine(sim_hash_combine(seed, purpose), instance);

	sim_prng_seed(&p, key);
	return p;
}

struct sim_prng sim_prng_stream(uint64_t seed, uint64_t purpose)
{
	return sim_prng_substream(seed, purpose, 0);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_prng_next_u64(struct sim_prng *p)
{
	uint64_t *s = p->s;
	const uint64_t result = rotl(s[1] * 5, 7) * 9;
	const uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t sim_prng_next_u32(struct sim_prng *p)
{
	return (uint32_t)(sim_prng_next_u64(p) >> 32);
}

/* 64x64 -> 128 multiply without relying on __int128. */
static void mul128(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
	uint64_t a_lo = (uint32_t)a, a_hi = a >> 32;
	uint64_t b_lo = (uint32_t)b, b_hi = b >> 32;
	uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi;
	uint64_t p2 = a_hi * b_lo, p3 = a_hi * b_hi;
	uint64_t mid = (p0 >> 32) + (uint32_t)p1 + (uint32_t)p2;

	*lo = (mid << 32) | (uint32_t)p0;
	*hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

uint64_t sim_prng_below(struct sim_prng *p, uint64_t bound)
{
	uint64_t hi, lo;

	if (bound == 0)
		return 0;
	mul128(sim_prng_next_u64(p), bound, &hi, &lo);
	if (lo < bound) {
		/* -bound % bound == 2^64 % bound: the size of the biased tail. */
		uint64_t threshold = (0 - bound) % bound;

		while (lo < threshold)
			mul128(sim_prng_next_u64(p), bound, &hi, &lo);
	}
	return hi;
}

uint64_t sim_prng_range(struct sim_prng *p, uint64_t lo, uint64_t hi)
{
	if (lo >= hi)
		return lo;
	if (lo == 0 && hi == UINT64_MAX)
		return sim_prng_next_u64(p);
	return lo + sim_prng_below(p, hi - lo + 1);
}

bool sim_prng_chance(struct sim_prng *p, uint64_t num, uint64_t den)
{
	if (den == 0 || num == 0)
		return false;
	if (num >= den)
		return true;
	return sim_prng_below(p, den) < num;
}

void sim_prng_fill(struct sim_prng *p, void *buf, size_t len)
{
	uint8_t *b = buf;

	while (len > 0) {
		uint64_t w = sim_prng_next_u64(p);
		size_t n = len < 8 ? len : 8;

		for (size_t i = 0; i < n; i++)
			b[i] = (uint8_t)(w >> (8 * i));
		b += n;
		len -= n;
	}
}

void sim_prng_shuffle(struct sim_prng *p, void *base, size_t n, size_t size)
{
	uint8_t *a = base;

	if (n < 2 || size == 0)
		return;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)sim_prng_below(p, (uint64_t)i + 1);

		if (j == i)
			continue;
		for (size_t k = 0; k < size; k++) {
			uint8_t t = a[i * size + k];

			a[i * size + k] = a[j * size + k];
			a[j * size + k] = t;
		}
	}
}
