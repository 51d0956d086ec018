/*
 * explore_save.c - a failing crash state taken out as image files
 * (explore --save-failing): a fresh restart over the state's crashed disks,
 * every device of it saved into the state's own directory with a manifest
 * (replay_world_save_dir); the disks' files are the crashed images
 * themselves, before recovery wrote anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "explore_run.h"
#include "replay.h"

void explore_save_state(struct explore_run *er, struct replay_world *w,
			struct sim_disk **crashed, const struct replay_crash_point *cp,
			uint64_t h)
{
	const struct explore_opts *o = er->o;
	struct explore_result *res = er->res;
	struct replay_save_dir_opts so = { .force = o->save_force, .crashed = crashed,
					   .trace = er->path, .seed = res->seed };
	struct replay_world *nw = NULL;
	char stem[200], dir[4400], state[160], eb[4600] = "";
	int r;

	explore_trace_stem(er->path, stem, sizeof(stem));
	snprintf(dir, sizeof(dir), "%s/%s-seed%" PRIu64 "-point%" PRIu64 "-state%016" PRIx64,
		 o->save_failing_dir, stem, res->seed, cp->seq, h);
	snprintf(state, sizeof(state), "crash point %" PRIu64 " (line %u), state %016" PRIx64,
		 cp->seq, cp->step_line, h);
	so.state = state;
	if (mkdir(o->save_failing_dir, 0777) && errno != EEXIST) {
		r = -errno;
		snprintf(eb, sizeof(eb), "%s: %s", o->save_failing_dir, strerror(errno));
	} else {
		/* Activation errors are part of the state: devices without a table. */
		r = replay_world_restart(w, crashed, &nw, eb, sizeof(eb));
		if (!r)
			r = replay_world_save_dir(nw, dir, &so, NULL, eb, sizeof(eb));
		replay_world_destroy(nw);
	}
	if (!r) {
		res->states_saved++;
		if (!res->saved[0])
			snprintf(res->saved, sizeof(res->saved), "%s", dir);
		if (o->log)
			fprintf(o->log, "%s: crash point %" PRIu64 ": failing state saved in %s\n",
				er->path, cp->seq, dir);
		return;
	}
	if (!res->save_error[0])
		snprintf(res->save_error, sizeof(res->save_error), "--save-failing: %.990s", eb);
	if (o->log)
		fprintf(o->log, "%s: crash point %" PRIu64 ": cannot save the failing state: %s\n",
			er->path, cp->seq, eb);
}
