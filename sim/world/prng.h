/*
 * prng.h - the simulator's pseudo-random numbers: a fixed algorithm we own,
 * integer-only.
 *
 * splitmix64 expands seeds; xoshiro256** (Blackman and Vigna, 2018) draws
 * the numbers. Probabilities are integer ratios, never floating point, so
 * a seed gives the same numbers on every host and with every libc.
 *
 * One run seed fixes everything. Each purpose (latency, reordering,
 * faults, crash subsets, workload, garbage content, scheduler interleaving)
 * draws from its own stream derived from (seed, purpose, instance), so
 * adding draws in one place does not shift the numbers anywhere else.
 * A struct sim_prng is plain data: copy it to fork a stream.
 */
#ifndef SNAPSIM_SIM_PRNG_H
#define SNAPSIM_SIM_PRNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Stream purposes. The values are part of the reproducibility contract. */
enum sim_stream {
	SIM_STREAM_LATENCY = 1,  /* disk service times */
	SIM_STREAM_REORDER = 2,  /* completion and work reordering */
	SIM_STREAM_FAULTS = 3,   /* injected I/O errors */
	SIM_STREAM_CRASH = 4,    /* crash points and surviving-write subsets */
	SIM_STREAM_WORKLOAD = 5, /* generated I/O */
	SIM_STREAM_GARBAGE = 6,  /* content of never-written sectors */
	SIM_STREAM_SCHED = 7,    /* seeded interleaving of deferred work */
};

struct sim_prng {
	uint64_t s[4]; /* xoshiro256** state; never all zero */
};

/* One splitmix64 step: advances *state and returns the next output. */
uint64_t sim_splitmix64(uint64_t *state);

/* Seed a generator: the state is four splitmix64 outputs from seed. */
void sim_prng_seed(struct sim_prng *p, uint64_t seed);

/* The stream for purpose (enum sim_stream or any caller-chosen id). */
struct sim_prng sim_prng_stream(uint64_t seed, uint64_t purpose);
/*
 * The stream for (purpose, instance), e.g. the latency stream of disk 3.
 * sim_prng_substream(seed, p, 0) == sim_prng_stream(seed, p).
 */
struct sim_prng sim_prng_substream(uint64_t seed, uint64_t purpose,
				   uint64_t instance);

/* The next 64 uniformly distributed bits. */
uint64_t sim_prng_next_u64(struct sim_prng *p);

/* The next 32 bits (the high half of a 64-bit draw). */
uint32_t sim_prng_next_u32(struct sim_prng *p);

/*
 * A uniform integer in [0, bound), without modulo bias (Lemire's
 * multiply-and-reject). bound == 0 returns 0 and draws nothing.
 */
uint64_t sim_prng_below(struct sim_prng *p, uint64_t bound);

/* A uniform integer in [lo, hi] (inclusive). lo > hi returns lo. */
uint64_t sim_prng_range(struct sim_prng *p, uint64_t lo, uint64_t hi);

/*
 * True with probability num/den. den == 0 or num == 0 is false and
 * num >= den is true; both without drawing.
 */
bool sim_prng_chance(struct sim_prng *p, uint64_t num, uint64_t den);

/* Fill len bytes with random bytes (little-endian words). */
void sim_prng_fill(struct sim_prng *p, void *buf, size_t len);

/* Shuffle an array of n elements of size bytes (Fisher-Yates). */
void sim_prng_shuffle(struct sim_prng *p, void *base, size_t n, size_t size);

#endif
