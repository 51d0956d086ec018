/*
 * hash.h - small, fixed, non-cryptographic hashes the simulator owns.
 *
 * Used to fingerprint event logs and disk contents so two runs or two
 * crash states can be compared cheaply. The algorithms are fixed here (not
 * taken from a library) so the numbers never change under us: FNV-1a 64 for
 * text, a splitmix64 finalizer for mixing, and a word-wise multiply-mix for
 * bulk data. Byte order is fixed (little-endian words), so results are the
 * same on every host.
 */
#ifndef SNAPSIM_SIM_HASH_H
#define SNAPSIM_SIM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SIM_FNV1A_INIT 0xcbf29ce484222325ull
#define SIM_FNV1A_PRIME 0x100000001b3ull

/* Continue an FNV-1a 64 hash h over len bytes. Start with SIM_FNV1A_INIT. */
uint64_t sim_fnv1a(uint64_t h, const void *buf, size_t len);

/* The splitmix64 finalizer: a bijective 64-bit mix. */
static inline uint64_t sim_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Combine two 64-bit values into one (order matters). */
static inline uint64_t sim_hash_combine(uint64_t a, uint64_t b)
{
	return sim_mix64(a ^ sim_mix64(b + 0x9e3779b97f4a7c15ull));
}

/* Hash len bytes (any length) with a seed; fast on 4 KiB pages. */
uint64_t sim_hash_bytes(const void *buf, size_t len, uint64_t seed);

#endif
