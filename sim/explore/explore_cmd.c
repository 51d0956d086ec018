/*
 * explore_cmd.c - an application checker on one state (explore.h,
 * explore_opts.check): the state's crashed disks restarted into a world of
 * their own, handed to the checker, destroyed. The model's check
 * (explore_check.c) restarts its own world and pushes I/O into it; this
 * restart is separate so the checker sees the state as recovery left it
 * and nothing it reads can move the model's verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "explore_run.h"
#include "replay.h"

void explore_check_cmd(struct explore_run *er, struct replay_world *w, struct sim_disk **forks,
		       struct explore_check_result *cr)
{
	struct replay_world *nw = NULL;
	char errbuf[512] = "";
	int r;

	memset(cr, 0, sizeof(*cr));
	cr->exit_status = -1;
	r = replay_world_restart(w, forks, &nw, errbuf, sizeof(errbuf));
	if (r) {
		cr->verdict = EXPLORE_CHECK_ERROR;
		snprintf(cr->message, sizeof(cr->message), "check command not run: restart failed: "
			 "%s (%.300s)", strerror(-r), errbuf);
		return;
	}
	/* Activation errors are the model's to judge; a device that did not
	 * come back is the checker's "skipped". */
	er->o->check(er->o->check_ctx, nw, cr);
	replay_world_destroy(nw);
}
