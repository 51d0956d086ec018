/*
 * explore_fast.c - checking a crash state at the cost of what differs.
 *
 * The first state of a crash point that passes is checked in full with a
 * recorder (replay_rec.h) and becomes the point's reference; every later
 * state is judged against it (replay_rec_judge): its images compared to
 * the reference's through the shared sparse-map pages, the model asked
 * only about the sectors that may read differently. A state the judge
 * cannot clear is checked in full, so the verdict is always the full
 * check's: when the judge clears a state, its only remaining step is the
 * decoding of its stores (their records are the state's rows), which is
 * also the full check's first step. --full-check (opts.full_check) checks
 * every state in full.
 */
#include "explore_run.h"
#include "replay.h"
#include "replay_rec.h"

/* Recording attempts per crash point before every state there is checked in full. */
#define EXPLORE_REF_TRIES 2

enum explore_verdict explore_fast_check(struct explore_run *er, struct replay_world *w,
					struct sim_disk **forks, uint64_t seed,
					struct explore_state_result *out)
{
	enum explore_verdict v;
	struct replay_rec *rec;

	if (er->o->full_check)
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	if (er->ref) {
		if (!replay_rec_judge(er->ref, forks, explore_check_more_io_seed(seed))) {
			er->res->states_judged++;
			/* The reference's stores decoded clean from the same metadata. */
			return explore_check_decode(w, forks, explore_record_exception, er, out);
		}
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	}
	if (er->ref_tries >= EXPLORE_REF_TRIES)
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	er->ref_tries++;
	rec = replay_rec_new(replay_world_nr_disks(w));
	if (!rec)
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	v = explore_check_state_rec(w, forks, seed, explore_record_exception, er, out, rec);
	if (v == EXPLORE_OK && !replay_rec_finish(rec))
		er->ref = rec;
	else
		replay_rec_free(rec);
	return v;
}

void explore_fast_point_end(struct explore_run *er)
{
	replay_rec_free(er->ref);
	er->ref = NULL;
	er->ref_tries = 0;
}
