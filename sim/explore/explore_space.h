/*
 * explore_space.h - one disk's candidate durable states at a crash point,
 * inside sim/explore (explore_space.c builds them, explore_point.c
 * combines them over the disks, explore_survivors.c writes them as text).
 */
#ifndef SNAPSIM_EXPLORE_SPACE_H
#define SNAPSIM_EXPLORE_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crash_subset.h"
#include "prng.h"
#include "sim_disk.h"

/* One disk's candidate state: surviving writes (with masks when torn). */
struct cand {
	size_t nr;
	struct sim_crash_write *w;
	uint64_t *masks;   /* backing storage of w[].unit_mask */
};

struct disk_space {
	struct sim_disk_pending *pending;
	size_t n;
	uint64_t total;      /* states existing with whole writes (untorn subsets) */
	uint64_t torn_bits;  /* torn variants: up to 2^torn_bits more per such state */
	struct cand *cands;
	size_t nr_cands, cap_cands;
	bool tearable;       /* some pending write spans more than one atomic unit */
};

/* Fill ds->cands for one disk within budget; ds->pending and ds->n set by the caller. */
int explore_space_build(struct disk_space *ds, enum sim_subset_mode mode, unsigned k,
			uint64_t budget, struct sim_prng *prng);
void explore_space_free(struct disk_space *ds);
/* Some completed write on the disk completed out of sector order. */
bool explore_space_out_of_order(const struct disk_space *ds);

#endif
