/*
 * explore_survivors.h - writing one candidate per disk as survivors text
 * (the form explore.h describes), inside sim/explore.
 */
#ifndef SNAPSIM_EXPLORE_SURVIVORS_H
#define SNAPSIM_EXPLORE_SURVIVORS_H

#include <stdbool.h>
#include <stddef.h>

#include "explore.h"
#include "explore_space.h"

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

/* "NAME:ID,ID/MASK;NAME:..." for the disks with survivors ("" when none), into b (b->p: malloc'd). */
void explore_survivors_text(struct replay_world *w, struct cand *const *per_disk,
			    unsigned nr_disks, struct sbuf *b);

#endif
