/* hash.c - FNV-1a and a word-wise bulk hash; see hash.h. */
#include "hash.h"

uint64_t sim_fnv1a(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= SIM_FNV1A_PRIME;
	}
	return h;
}

static inline uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

/*
 * Four independent lanes of multiply-xorshift over little-endian words,
 * folded with the length at the end. Not cryptographic; good enough to tell
 * disk states apart (a collision only merges two crash states in a report's
 * de-duplication, it never changes a verdict of a state that was checked).
 */
uint64_t sim_hash_bytes(const void *buf, size_t len, uint64_t seed)
{
	const uint8_t *p = buf;
	const uint64_t k = 0x9fb21c651e98df25ull;
	uint64_t a = seed ^ 0x243f6a8885a308d3ull, b = seed ^ 0x13198a2e03707344ull;
	uint64_t c = seed ^ 0xa4093822299f31d0ull, d = seed ^ 0x082efa98ec4e6c89ull;
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		a = (a ^ load_le64(p + i)) * k;
		b = (b ^ load_le64(p + i + 8)) * k;
		c = (c ^ load_le64(p + i + 16)) * k;
		d = (d ^ load_le64(p + i + 24)) * k;
		a ^= a >> 29;
		b ^= b >> 29;
		c ^= c >> 29;
		d ^= d >> 29;
	}
	uint64_t h = sim_hash_combine(sim_hash_combine(a, b), sim_hash_combine(c, d));
	for (; i < len; i++)
		h = (h ^ p[i]) * SIM_FNV1A_PRIME;
	return sim_mix64(h ^ (uint64_t)len);
}
