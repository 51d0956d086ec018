/*
 * pattern.h - deterministic sector contents, so traces and models name
 * data by (seed, sector) instead of storing it.
 *
 * This is the one piece models/ shares with sim/: it defines what content
 * *is*, not how any device behaves. A pattern sector is 512 bytes:
 *   bytes  0..7   "snapPAT\0"
 *   bytes  8..15  LE64 seed
 *   bytes 16..23  LE64 sector (the pattern's own sector number)
 *   bytes 24..511 a splitmix64 stream keyed by (seed, sector)
 * so a mismatch report can say which pattern sector was found instead.
 * Garbage (the initial content of a disk created with `initial: garbage`)
 * is the same stream with no header, so it never looks like a pattern.
 */
#ifndef SNAPSIM_PATTERN_H
#define SNAPSIM_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PATTERN_SECTOR_BYTES 512u

/* Fill out[512] with pattern sector `sector` of seed `seed`. */
void pattern_fill(uint64_t seed, uint64_t sector, uint8_t *out);
/* Fill nsectors * 512 bytes with pattern sectors first_sector, first_sector+1, ... */
void pattern_fill_range(uint64_t seed, uint64_t first_sector, uint64_t nsectors,
			uint8_t *out);
/* Fill out[512] with garbage sector `sector` of a disk whose garbage seed is seed. */
void pattern_garbage(uint64_t seed, uint64_t sector, uint8_t *out);
/* If buf[512] starts as a pattern sector does, the seed and sector it names (body unchecked). */
bool pattern_header(const uint8_t *buf, uint64_t *seed, uint64_t *sector);
/* If buf[512] is exactly a pattern sector, say which one. */
bool pattern_identify(const uint8_t *buf, uint64_t *seed, uint64_t *sector);
/* 64-bit hash of len bytes (FNV-1a folded through splitmix64's finaliser). */
uint64_t pattern_hash(const uint8_t *buf, size_t len);
/* True when buf[len] is all zeros. */
bool pattern_is_zero(const uint8_t *buf, size_t len);
/* splitmix64's mixing function (public so sim/ can derive garbage seeds the same way). */
uint64_t pattern_mix64(uint64_t x);

#endif
