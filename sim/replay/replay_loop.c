/*
 * replay_loop.c - the replayer's run loop: the scheduler run one event at a
 * time until a condition holds; crash points queued where they happen and
 * handed to the hook between events (never inside a completion), once the
 * model knows which snapshots an I/O error invalidated.
 */
#include <stdlib.h>

#include "replay_impl.h"

/* ---- crash points ---- */

void rp_crash_point(struct replay_world *w, const struct replay_crash_point *cp)
{
	if (w->nr_cpq == w->cap_cpq) {
		size_t cap = w->cap_cpq ? 2 * w->cap_cpq : 16;
		struct replay_crash_point *n = realloc(w->cpq, cap * sizeof(*n));

		if (!n) {
			rp_fail(w, w->step_line, "out of memory (crash points)");
			return;
		}
		w->cpq = n;
		w->cap_cpq = cap;
	}
	w->cpq[w->nr_cpq++] = *cp;
}

static void drain_crash_points(struct replay_world *w)
{
	size_t i;

	/* A copy that failed has invalidated a snapshot already, and the
	 * writes that invalidation released may be on the disks, before any
	 * write end or step end tells the model: a crash here must meet a
	 * model that knows (model_crash then lets the header write be lost). */
	if (w->faults && w->nr_cpq)
		rp_poll_invalid(w);
	for (i = 0; i < w->nr_cpq && !w->stopped; i++) {
		struct replay_crash_point cp = w->cpq[i];

		cp.seq = w->cp_seq++;
		cp.step_line = w->step_line;
		cp.step_column = w->step_column;
		cp.step_seq = w->step_seq;
		cp.now_ns = sim_sched_now(&w->sched);
		if (w->res)
			w->res->crash_points++;
		if (w->opts && w->opts->crash_hook) {
			int r = w->opts->crash_hook(w->opts->crash_ctx, w, &cp);

			if (r) {
				w->stopped = true;
				if (w->res)
					w->res->hook_status = r;
			}
		}
	}
	w->nr_cpq = 0;
}

void rp_drain(struct replay_world *w)
{
	if (w->nr_cpq)
		drain_crash_points(w);
}

enum rp_run rp_run(struct replay_world *w, rp_cond_fn *cond, void *ctx)
{
	uint64_t n = 0;

	for (;;) {
		if (w->nr_cpq)
			drain_crash_points(w);
		if (w->stopped)
			return RP_STOP;
		if (w->failed)
			return RP_FAIL;
		if (cond && cond(w, ctx))
			return RP_COND;
		if (!sim_sched_run_one(&w->sched))
			return RP_IDLE;
		w->events++;
		if (++n > w->budget)
			return RP_HANGED;
		/* A long step's progress (the live run's world: it has the result). */
		if (!(n & 0xffff) && w->res && w->opts && w->opts->on_step)
			w->opts->on_step(w->opts->on_step_ctx, w->res);
	}
}
