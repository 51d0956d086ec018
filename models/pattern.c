/* pattern.c - deterministic sector contents (see pattern.h for the layout). */
#include "pattern.h"

#include <string.h>

static const uint8_t pattern_magic[8] = { 's', 'n', 'a', 'p', 'P', 'A', 'T', 0 };

uint64_t pattern_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* splitmix64 stream from a key, written little-endian into out[0..len). */
static void stream_fill(uint64_t key, uint8_t *out, size_t len)
{
	uint64_t state = key;
	uint8_t word[8];

	for (size_t off = 0; off < len; off += 8) {
		state += 0x9e3779b97f4a7c15ull;
		put_le64(word, pattern_mix64(state));
		memcpy(out + off, word, len - off < 8 ? len - off : 8);
	}
}

static uint64_t key_of(uint64_t seed, uint64_t sector, uint64_t domain)
{
	return pattern_mix64(pattern_mix64(seed ^ domain) + sector);
}

void pattern_fill(uint64_t seed, uint64_t sector, uint8_t *out)
{
	memcpy(out, pattern_magic, 8);
	put_le64(out + 8, seed);
	put_le64(out + 16, sector);
	stream_fill(key_of(seed, sector, 0x5041545445524eull), out + 24,
		    PATTERN_SECTOR_BYTES - 24);
}

void pattern_fill_range(uint64_t seed, uint64_t first_sector, uint64_t nsectors,
			uint8_t *out)
{
	for (uint64_t i = 0; i < nsectors; i++)
		pattern_fill(seed, first_sector + i, out + i * PATTERN_SECTOR_BYTES);
}

void pattern_garbage(uint64_t seed, uint64_t sector, uint8_t *out)
{
	stream_fill(key_of(seed, sector, 0x47415242414745ull), out, PATTERN_SECTOR_BYTES);
	/* Never a valid pattern header, never all zeros. */
	out[0] = (uint8_t)(out[0] | 0x80);
}

bool pattern_header(const uint8_t *buf, uint64_t *seed, uint64_t *sector)
{
	if (memcmp(buf, pattern_magic, 8))
		return false;
	*seed = get_le64(buf + 8);
	*sector = get_le64(buf + 16);
	return true;
}

bool pattern_identify(const uint8_t *buf, uint64_t *seed, uint64_t *sector)
{
	uint64_t s, n, state;

	if (!pattern_header(buf, &s, &n))
		return false;
	/* The stream_fill of pattern_fill, compared word by word as it is made
	 * (the body is a whole number of words), stopping at the first
	 * difference. */
	state = key_of(s, n, 0x5041545445524eull);
	for (size_t off = 24; off < PATTERN_SECTOR_BYTES; off += 8) {
		state += 0x9e3779b97f4a7c15ull;
		if (get_le64(buf + off) != pattern_mix64(state))
			return false;
	}
	if (seed)
		*seed = s;
	if (sector)
		*sector = n;
	return true;
}

uint64_t pattern_hash(const uint8_t *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= buf[i];
		h *= 0x100000001b3ull;
	}
	return pattern_mix64(h ^ len);
}

bool pattern_is_zero(const uint8_t *buf, size_t len)
{
	/* Zero first byte, and every byte equal to the one before it: libc's
	 * memcmp runs word-at-a-time, where a byte loop does not. */
	return !len || (!buf[0] && !memcmp(buf, buf + 1, len - 1));
}
