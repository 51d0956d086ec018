/* crash_subset.c - enumerating and sampling crash subsets; see crash_subset.h. */
#include "crash_subset.h"

#include <errno.h>
#include <string.h>

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* C(m, j), saturating. */
static uint64_t choose(uint64_t m, uint64_t j)
{
	uint64_t c = 1;

	if (j > m)
		return 0;
	if (j > m - j)
		j = m - j;
	for (uint64_t i = 0; i < j; i++) {
		if (c > UINT64_MAX / (m - i))
			return UINT64_MAX;
		c = c * (m - i) / (i + 1);
	}
	return c;
}

uint64_t sim_subset_total(enum sim_subset_mode mode, size_t n, uint64_t param)
{
	uint64_t total = 1;

	switch (mode) {
	case SIM_SUBSET_ALL:
	case SIM_SUBSET_RANDOM:
		return n >= 64 ? UINT64_MAX : (uint64_t)1 << n;
	case SIM_SUBSET_PREFIX:
		param = 0;
		/* fall through */
	case SIM_SUBSET_REORDER:
		for (size_t p = 0; p < n; p++) {
			uint64_t m = n - p - 1;

			for (uint64_t j = 0; j <= param && j <= m; j++)
				total = sat_add(total, choose(m, j));
		}
		return total;
	}
	return 0;
}

int sim_subset_init(struct sim_subset_iter *it, enum sim_subset_mode mode,
		    size_t n, uint64_t param, const struct sim_prng *prng)
{
	memset(it, 0, sizeof(*it));
	switch (mode) {
	case SIM_SUBSET_ALL:
		if (n > SIM_SUBSET_ALL_MAX)
			return -EINVAL;
		break;
	case SIM_SUBSET_RANDOM:
		if (prng)
			it->prng = *prng;
		else
			sim_prng_seed(&it->prng, 0);
		break;
	case SIM_SUBSET_PREFIX:
		param = 0;
		break;
	case SIM_SUBSET_REORDER:
		if (param > SIM_SUBSET_MAX_K)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	it->mode = mode;
	it->n = n;
	it->param = param;
	return 0;
}

/* Advance the combination comb[0..j-1] over [0, m); false when exhausted. */
static bool next_comb(size_t *comb, unsigned j, size_t m)
{
	for (unsigned i = j; i-- > 0;) {
		if (comb[i] < m - (j - i)) {
			comb[i]++;
			for (unsigned k = i + 1; k < j; k++)
				comb[k] = comb[k - 1] + 1;
			return true;
		}
	}
	return false;
}

/* REORDER: the current (prefix, comb) as a subset, then step. */
static bool reorder_next(struct sim_subset_iter *it, bool *survive)
{
	size_t n = it->n, p = it->prefix;

	if (p > n)
		return false;
	memset(survive, 0, n * sizeof(*survive));
	for (size_t i = 0; i < p; i++)
		survive[i] = true;
	for (unsigned i = 0; i < it->j; i++)
		survive[p + 1 + it->comb[i]] = true;
	/* step */
	if (p == n) {
		it->prefix = n + 1;
		return true;
	}
	size_t m = n - p - 1;

	if (!next_comb(it->comb, it->j, m)) {
		if (it->j < it->param && it->j < m) {
			it->j++;
			for (unsigned i = 0; i < it->j; i++)
				it->comb[i] = i;
		} else {
			it->prefix++;
			it->j = 0;
		}
	}
	return true;
}

bool sim_subset_next(struct sim_subset_iter *it, bool *survive)
{
	if (it->done)
		return false;
	switch (it->mode) {
	case SIM_SUBSET_ALL:
		if (it->counter >> it->n) {
			it->done = true;
			return false;
		}
		for (size_t i = 0; i < it->n; i++)
			survive[i] = (it->counter >> i) & 1;
		it->counter++;
		break;
	case SIM_SUBSET_RANDOM:
		if (it->produced >= it->param) {
			it->done = true;
			return false;
		}
		for (size_t i = 0; i < it->n; i++) {
			if (i % 64 == 0)
				it->counter = sim_prng_next_u64(&it->prng);
			survive[i] = (it->counter >> (i % 64)) & 1;
		}
		break;
	case SIM_SUBSET_PREFIX:
	case SIM_SUBSET_REORDER:
		if (!reorder_next(it, survive)) {
			it->done = true;
			return false;
		}
		break;
	}
	it->produced++;
	return true;
}

void sim_unit_mask_random(struct sim_prng *p, uint32_t nr_units, uint64_t *mask)
{
	size_t words = sim_unit_mask_words(nr_units);

	for (size_t w = 0; w < words; w++)
		mask[w] = sim_prng_next_u64(p);
	if (nr_units % 64)
		mask[words - 1] &= ((uint64_t)1 << (nr_units % 64)) - 1;
}

size_t sim_subset_survivors(const struct sim_disk_pending *pending, size_t n,
			    const bool *survive, struct sim_crash_write *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (survive[i])
			out[k++] = (struct sim_crash_write){ .id = pending[i].id };
	return k;
}
