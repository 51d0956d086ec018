/*
 * explore_fast.c - checking a crash state at the cost of what differs.
 *
 * A state of a crash point that passes is checked in full with a recorder
 * (replay_rec.h) and becomes one of the point's references; every later
 * state is judged against them (replay_rec_judge): its images compared to
 * a reference's through the shared sparse-map pages, the sectors that
 * differ checked against the allowed contents the reference recorded. A
 * state no reference clears is checked in full (and may become a
 * reference), so the verdict is always the full check's. A judged state
 * read the reference's metadata sector for sector, so its decoded stores
 * (its exception rows) are the reference's. --full-check (opts.full_check)
 * checks every state in full.
 */
#include <stdlib.h>
#include <string.h>

#include "explore_run.h"
#include "model.h"
#include "replay.h"
#include "replay_rec.h"

#define EXPLORE_REFS (sizeof(((struct explore_run *)0)->refs) / sizeof(struct explore_ref))
/* Recordings per crash point: states no reference clears beyond them are checked in full. */
#define EXPLORE_REF_TRIES 8

/* Keep the state just checked with rec as a reference (its rows copied). */
static bool ref_add(struct explore_run *er, struct replay_rec *rec,
		    const struct explore_state_result *out)
{
	struct explore_ref *f = &er->refs[er->nr_refs];

	f->exc = NULL;
	if (er->nr_exc) {
		f->exc = malloc(er->nr_exc * sizeof(*f->exc));
		if (!f->exc)
			return false;
		memcpy(f->exc, er->exc, er->nr_exc * sizeof(*f->exc));
	}
	if (!er->cmemo)
		er->cmemo = model_content_memo_new(); /* NULL: judged without one */
	replay_rec_use_memo(rec, er->cmemo);
	f->rec = rec;
	f->nr_exc = er->nr_exc;
	f->cow_used = out->cow_used;
	f->partial_area = out->partial_area;
	f->invalid_uncommitted = out->invalid_uncommitted;
	er->nr_refs++;
	return true;
}

/* The judged state's result and rows: the reference's. */
static enum explore_verdict ref_use(struct explore_run *er, const struct explore_ref *f,
				    struct explore_state_result *out)
{
	memset(out, 0, sizeof(*out));
	out->verdict = EXPLORE_OK;
	out->cow_used = f->cow_used;
	out->partial_area = f->partial_area;
	out->invalid_uncommitted = f->invalid_uncommitted;
	er->nr_exc = 0;
	if (f->nr_exc > er->cap_exc) {
		struct exc_row *n = realloc(er->exc, f->nr_exc * sizeof(*n));

		if (!n) { /* the rows are a record, not a check: drop them */
			er->res->states_judged++;
			return EXPLORE_OK;
		}
		er->exc = n;
		er->cap_exc = f->nr_exc;
	}
	if (f->nr_exc)
		memcpy(er->exc, f->exc, f->nr_exc * sizeof(*f->exc));
	er->nr_exc = f->nr_exc;
	er->res->states_judged++;
	return EXPLORE_OK;
}

enum explore_verdict explore_fast_check(struct explore_run *er, struct replay_world *w,
					struct sim_disk **forks, uint64_t seed,
					struct explore_state_result *out)
{
	enum explore_verdict v;
	struct replay_rec *rec;

	if (er->o->full_check)
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	for (unsigned i = 0; i < er->nr_refs; i++)
		if (!replay_rec_judge(er->refs[i].rec, forks, explore_check_more_io_seed(seed)))
			return ref_use(er, &er->refs[i], out);
	if (er->ref_tries >= EXPLORE_REF_TRIES || er->nr_refs >= EXPLORE_REFS || er->last_state)
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	er->ref_tries++;
	rec = replay_rec_new(replay_world_nr_disks(w));
	if (!rec)
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	v = explore_check_state_rec(w, forks, seed, explore_record_exception, er, out, rec);
	if (v != EXPLORE_OK || replay_rec_finish(rec) || !ref_add(er, rec, out))
		replay_rec_free(rec);
	return v;
}

void explore_fast_point_end(struct explore_run *er)
{
	for (unsigned i = 0; i < er->nr_refs; i++) {
		replay_rec_free(er->refs[i].rec);
		free(er->refs[i].exc);
	}
	er->nr_refs = 0;
	er->ref_tries = 0;
}
