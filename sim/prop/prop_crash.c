/*
 * prop_crash.c - the property PROP_CRASH (prop.h) over one rendered
 * trace: the crash explorer at its `crash:` markers, and for one seed in
 * three a second pass over a sample of FLUSH/FUA completions.
 */
#include "prop_props.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"
#include "ss_error.h"

/*
 * "FAILURE; state: REPRO" in msg: the failure keeps up to two thirds, each
 * part losing its middle (ss_elide) rather than the cause at its end.
 */
static void crash_message(char *msg, size_t len, const char *failure, const char *repro)
{
	static const char sep[] = "; state: ";
	size_t n;

	ss_elide(msg, repro[0] ? len * 2 / 3 : len, failure);
	n = strlen(msg);
	if (!repro[0] || n + sizeof(sep) >= len)
		return;
	memcpy(msg + n, sep, sizeof(sep));
	n += sizeof(sep) - 1;
	ss_elide(msg + n, len - n, repro);
}

/*
 * Explore buf; returns the verdict (0: held). only_point >= 0 checks one
 * state (shrinking survivors).
 */
int prop_crash_run(const char *name, const char *buf, size_t len, uint64_t seed,
		   const struct prop_opts *o, int64_t only_point, const char *only_surv,
		   struct crash_out *out)
{
	struct explore_opts eo = {
		.has_seed = true, .seed = seed, .mode = EXPLORE_MODE_MARKED,
		.subsets = SIM_SUBSET_RANDOM, .budget = o->budget ? o->budget : PROP_DEFAULT_BUDGET,
		.only_point = only_point, .only_survivors = only_surv, .program = "snapsim",
	};
	struct explore_result *er = calloc(1, sizeof(*er));
	/* Crash points while a merge runs or after a removal are left out: see prop.h. */
	int passes = only_point >= 0 || strstr(buf, "snapshot-merge") ||
		     strstr(buf, "dm: remove S2") ? 1 : (seed % 3 == 0 ? 2 : 1);
	int v = 0;

	if (!er)
		return -ENOMEM;
	out->msg[0] = out->survivors[0] = '\0';
	out->point = -1;
	out->states = 0;
	for (int pass = 0; pass < passes && v == 0; pass++) {
		if (pass == 1) { /* a sample of the FLUSH/FUA completions at the disks */
			eo.mode = EXPLORE_MODE_FLUSH;
			eo.shard_n = 8;
			eo.shard_k = (unsigned)(seed / 3 % 8);
			eo.budget = 4;
		}
		v = (int)explore_trace_mem(name, buf, len, &eo, er);
		out->states += er->states_checked;
		if (v) {
			crash_message(out->msg, sizeof(out->msg),
				      er->replay_failure[0] ? er->replay_failure : er->failure,
				      er->repro);
			out->point = er->fail_point;
			snprintf(out->survivors, sizeof(out->survivors), "%s", er->fail_survivors);
			if (pass == 1)
				out->point = -2; /* not a marker: survivors are not shrunk */
		}
	}
	free(er);
	return v;
}
