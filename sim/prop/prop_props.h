/*
 * prop_props.h - the properties of prop.h as functions of one rendered
 * trace, inside sim/prop: each returns the failure class (0: held, > 0:
 * failed, < 0: a negative errno) and says why in its message. The
 * shrinker (prop_shrink.c) and prop_run (prop.c) call them.
 */
#ifndef SNAPSIM_SIM_PROP_PROPS_H
#define SNAPSIM_SIM_PROP_PROPS_H

#include <stddef.h>
#include <stdint.h>

#include "prop.h"

#define PROP_DEFAULT_BUDGET 8
#define PROP_MAX_DEVS 8

/* PROP_CRASH's failure: the message, the failing state, the states checked. */
struct crash_out {
	char msg[1024];
	int64_t point;
	char survivors[2048];
	uint64_t states;
};

/* PROP_CRASH (prop_crash.c); only_point >= 0 checks the one state only_surv. */
int prop_crash_run(const char *name, const char *buf, size_t len, uint64_t seed,
		   const struct prop_opts *o, int64_t only_point, const char *only_surv,
		   struct crash_out *out);
/* PROP_STORES (prop_stores.c): the trace under P and under N stores reads the same. */
int prop_stores_run(const char *buf, size_t len, uint64_t seed, char *msg, size_t msglen);
/* PROP_CLEAN (prop_clean.c): a clean shutdown restarts to the same tables and status. */
int prop_clean_run(const char *buf, size_t len, uint64_t seed, char *msg, size_t msglen);

#endif
