/*
 * explore_space.c - one disk's candidate durable states at a crash point
 * (explore_space.h): which of its non-durable writes survive, chosen by a
 * crash_subset.h mode within the budget (explore.h (1)), with torn
 * variants on a disk whose atomic unit is smaller than a write.
 */
#include "explore_space.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void cand_free(struct cand *c)
{
	free(c->w);
	free(c->masks);
	c->w = NULL;
	c->masks = NULL;
	c->nr = 0;
}

/*
 * A surviving in-flight PREFLUSH write carries every write its flush
 * covered (sim_disk_pending.flush_mark): mark those as forced survivors,
 * whole.
 */
static void preflush_closure(const struct disk_space *ds, bool *survive, bool *forced)
{
	for (size_t i = 0; i < ds->n; i++) {
		const struct sim_disk_pending *w = &ds->pending[i];

		if (!survive[i] || w->completed || !w->preflush)
			continue;
		for (size_t j = 0; j < ds->n; j++) {
			if (ds->pending[j].completed && ds->pending[j].done_seq <= w->flush_mark) {
				survive[j] = true;
				forced[j] = true;
			}
		}
	}
}

static int push_cand(struct disk_space *ds, const bool *survive_in, struct sim_prng *torn)
{
	struct cand c = { 0 };
	size_t words = 0;
	bool *survive = calloc(2 * (ds->n ? ds->n : 1), sizeof(bool)), *forced;
	int r = -ENOMEM;

	if (!survive)
		return -ENOMEM;
	forced = survive + (ds->n ? ds->n : 1);
	memcpy(survive, survive_in, ds->n * sizeof(bool));
	preflush_closure(ds, survive, forced);

	if (ds->nr_cands == ds->cap_cands) {
		size_t cap = ds->cap_cands ? 2 * ds->cap_cands : 16;
		struct cand *n = realloc(ds->cands, cap * sizeof(*n));

		if (!n)
			goto out;
		ds->cands = n;
		ds->cap_cands = cap;
	}
	c.w = calloc(ds->n ? ds->n : 1, sizeof(*c.w));
	if (!c.w)
		goto out;
	c.nr = sim_subset_survivors(ds->pending, ds->n, survive, c.w);
	if (torn) {
		/* Masks: per write one length word (read by survivors_text) then its words. */
		for (size_t i = 0; i < ds->n; i++)
			if (survive[i])
				words += 1 + sim_unit_mask_words(ds->pending[i].nr_units);
		c.masks = calloc(words ? words : 1, sizeof(uint64_t));
		if (!c.masks) {
			cand_free(&c);
			goto out;
		}
		size_t at = 0, k = 0;

		for (size_t i = 0; i < ds->n; i++) {
			if (!survive[i])
				continue;
			size_t nw = sim_unit_mask_words(ds->pending[i].nr_units);

			if (ds->pending[i].nr_units > 1 && !forced[i]) {
				c.masks[at] = nw;
				sim_unit_mask_random(torn, ds->pending[i].nr_units, c.masks + at + 1);
				c.w[k].unit_mask = c.masks + at + 1;
			}
			at += 1 + nw;
			k++;
		}
	}
	ds->cands[ds->nr_cands++] = c;
	r = 0;
out:
	free(survive);
	return r;
}

/* Fill ds->cands for one disk within budget (see explore.h (1)). */
int explore_space_build(struct disk_space *ds, enum sim_subset_mode mode, unsigned k,
			    uint64_t budget, struct sim_prng *prng)
{
	struct sim_subset_iter it;
	bool *survive = calloc(ds->n ? ds->n : 1, sizeof(bool));
	uint64_t whole_budget = budget, units = 0;
	int r = 0;

	if (!survive)
		return -ENOMEM;
	for (size_t i = 0; i < ds->n; i++) {
		units += ds->pending[i].nr_units;
		if (ds->pending[i].nr_units > 1)
			ds->tearable = true;
	}
	ds->total = sim_subset_total(mode, ds->n, mode == SIM_SUBSET_REORDER ? k : 0);
	/* Torn writes multiply the states per sector: counted apart, as a
	 * power of two, so the whole-write figure stays readable. */
	if (ds->tearable && (mode == SIM_SUBSET_ALL || mode == SIM_SUBSET_RANDOM))
		ds->torn_bits = units - ds->n;
	if (ds->tearable && budget > 1)
		whole_budget = budget - budget / 4;

	if (mode == SIM_SUBSET_ALL || mode == SIM_SUBSET_RANDOM) {
		uint64_t whole = sim_subset_total(SIM_SUBSET_ALL, ds->n, 0);

		if (mode == SIM_SUBSET_ALL && ds->n <= SIM_SUBSET_ALL_MAX && whole <= whole_budget) {
			r = sim_subset_init(&it, SIM_SUBSET_ALL, ds->n, 0, NULL);
		} else {
			/* The extremes first (nothing survives, everything does), then samples. */
			r = push_cand(ds, survive, NULL);
			for (size_t i = 0; i < ds->n; i++)
				survive[i] = true;
			if (!r && ds->n)
				r = push_cand(ds, survive, NULL);
			if (!r)
				r = sim_subset_init(&it, SIM_SUBSET_RANDOM, ds->n,
						    whole_budget > ds->nr_cands ? whole_budget - ds->nr_cands : 0,
						    prng);
		}
	} else {
		r = sim_subset_init(&it, mode, ds->n, mode == SIM_SUBSET_REORDER ? k : 0, NULL);
	}
	while (!r && ds->nr_cands < whole_budget && sim_subset_next(&it, survive))
		r = push_cand(ds, survive, NULL);
	/* Torn variants of the candidates so far, while the budget lasts. */
	for (size_t c = 0, base = ds->nr_cands; !r && ds->tearable && c < base &&
	     ds->nr_cands < budget; c++) {
		bool any = false;

		memset(survive, 0, ds->n * sizeof(bool));
		for (size_t i = 0, j = 0; i < ds->n && j < ds->cands[c].nr; i++) {
			if (ds->pending[i].id == ds->cands[c].w[j].id) {
				survive[i] = true;
				any |= ds->pending[i].nr_units > 1;
				j++;
			}
		}
		if (any)
			r = push_cand(ds, survive, prng);
	}
	if (!r && ds->nr_cands == 0)
		r = push_cand(ds, survive, NULL); /* n == 0: the one state */
	free(survive);
	return r;
}

void explore_space_free(struct disk_space *ds)
{
	for (size_t i = 0; i < ds->nr_cands; i++)
		cand_free(&ds->cands[i]);
	free(ds->cands);
	free(ds->pending);
	memset(ds, 0, sizeof(*ds));
}

/* Copies completed out of allocation order on some disk: a completed
 * write at a lower sector completed after one at a higher sector. */
bool explore_space_out_of_order(const struct disk_space *ds)
{
	sector_t highest = 0;
	bool any = false;

	for (size_t i = 0; i < ds->n && ds->pending[i].completed; i++) {
		if (any && ds->pending[i].sector < highest)
			return true;
		if (!any || ds->pending[i].sector > highest)
			highest = ds->pending[i].sector;
		any = true;
	}
	return false;
}
