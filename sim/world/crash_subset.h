/*
 * crash_subset.h - which non-durable writes survive a power cut: the
 * subsets the crash explorer visits.
 *
 * Writes are numbered 0..n-1 in sim_disk_pending_list() order. Modes:
 *  - SIM_SUBSET_ALL: every subset, 2^n of them (n <= SIM_SUBSET_ALL_MAX).
 *  - SIM_SUBSET_RANDOM: `param` samples; each write survives with
 *    probability 1/2, from the given stream (duplicates possible).
 *  - SIM_SUBSET_PREFIX: in-order prefixes: the first p writes, p = 0..n.
 *  - SIM_SUBSET_REORDER: bounded reordering: a prefix of p writes, write p
 *    lost, plus at most `param` (k) of the writes after p. Each subset is
 *    produced exactly once; k = 0 is SIM_SUBSET_PREFIX.
 * sim_subset_total() says how many states the mode's space holds, so a
 * report can state how many existed and how many were checked.
 */
#ifndef SNAPSIM_SIM_CRASH_SUBSET_H
#define SNAPSIM_SIM_CRASH_SUBSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prng.h"
#include "sim_disk.h"

#define SIM_SUBSET_ALL_MAX 30 /* 2^30 states is already more than anyone runs */
#define SIM_SUBSET_MAX_K 16

enum sim_subset_mode {
	SIM_SUBSET_ALL = 0,
	SIM_SUBSET_RANDOM,
	SIM_SUBSET_PREFIX,
	SIM_SUBSET_REORDER,
};

struct sim_subset_iter {
	enum sim_subset_mode mode;
	size_t n;
	uint64_t param;          /* RANDOM: samples; REORDER: k */
	uint64_t produced;
	struct sim_prng prng;    /* RANDOM only */
	bool done;
	uint64_t counter;        /* ALL: next subset as a bit set */
	size_t prefix;           /* PREFIX, REORDER */
	unsigned j;              /* REORDER: extras in the current subset */
	size_t comb[SIM_SUBSET_MAX_K]; /* REORDER: extras, offsets after p */
};

/*
 * Start an iteration over n writes. prng is copied (RANDOM only; may be
 * NULL otherwise). Returns 0 or -EINVAL (ALL with n > SIM_SUBSET_ALL_MAX,
 * REORDER with k > SIM_SUBSET_MAX_K, unknown mode).
 */
int sim_subset_init(struct sim_subset_iter *it, enum sim_subset_mode mode,
		    size_t n, uint64_t param, const struct sim_prng *prng);
/* Fill survive[0..n-1] with the next subset; false when there is none. */
bool sim_subset_next(struct sim_subset_iter *it, bool *survive);
/*
 * How many distinct states the mode's space holds (RANDOM: 2^n, the space
 * it samples), saturating at UINT64_MAX.
 */
uint64_t sim_subset_total(enum sim_subset_mode mode, size_t n, uint64_t param);

/* Words needed for a unit mask of nr_units units. */
static inline size_t sim_unit_mask_words(uint32_t nr_units)
{
	return ((size_t)nr_units + 63) / 64;
}
/* A random torn-write mask: each unit survives with probability 1/2. */
void sim_unit_mask_random(struct sim_prng *p, uint32_t nr_units, uint64_t *mask);

/*
 * Turn a subset of the pending list into survivors for sim_disk_fork():
 * out[] gets the ids of pending[i] with survive[i] (whole writes). Returns
 * the number written (at most n).
 */
size_t sim_subset_survivors(const struct sim_disk_pending *pending, size_t n,
			    const bool *survive, struct sim_crash_write *out);

#endif
