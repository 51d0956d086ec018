/*
 * prop_shrink.h - the shrinker of a failing generated case, inside
 * sim/prop (prop_shrink.c; prop_run in prop.c drives it).
 */
#ifndef SNAPSIM_SIM_PROP_SHRINK_H
#define SNAPSIM_SIM_PROP_SHRINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gen.h"
#include "prop_props.h"

struct shrink {
	enum prop_kind k;
	uint64_t seed;
	const struct prop_opts *o;
	struct gen_case *c;
	bool *keep;
	int want;                /* the failure class to keep */
	unsigned runs, max_runs;
	char msg[1024];
	struct crash_out co;
};

/* Render the case (keep[]) and run the property; the failure class (0: held, < 0: tool error).
 * record: keep its message (and PROP_CRASH's state) even when it is not the class wanted. */
int prop_shrink_attempt(struct shrink *s, bool record);
/* Delta debugging over the droppable steps that are still kept. */
void prop_shrink_steps(struct shrink *s);
/* Halve the length of an I/O step (of each member of a parallel group) while it still fails. */
void prop_shrink_len(struct shrink *s, struct gen_step *st);
/* PROP_CRASH: drop surviving writes of s->co's state from trace buf while it still fails. */
void prop_shrink_survivors(struct shrink *s, const char *buf, size_t len);

#endif
