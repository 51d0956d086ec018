/*
 * explore_fast.c - checking a crash state at the cost of what differs.
 *
 * A state that passes is checked in full with a recorder (replay_rec.h)
 * and becomes a reference; later states are judged against the references
 * (replay_rec_judge): their images compared to a reference's through the
 * shared sparse-map pages, the sectors that differ checked against the
 * allowed contents the reference recorded. A state no reference clears is
 * checked in full (and may become a reference), so the verdict is always
 * the full check's. A judged state read the reference's metadata sector
 * for sector, so its decoded stores (its exception rows) are the
 * reference's. --full-check (opts.full_check) checks every state in full.
 *
 * References outlive their crash point. At a later point of the same
 * world shape (replay_world_shape), a state equal to a reference on its
 * control set recovers into the same stack; a plain restart of that state
 * gives the point's recovered model, and replay_rec_rebase judges the
 * reference again under it. Consecutive points differ by a few writes, so
 * most references carry, and a point costs a rebase instead of a
 * recorded full check.
 */
#include <stdlib.h>
#include <string.h>

#include "explore_run.h"
#include "model.h"
#include "replay.h"
#include "replay_rec.h"

#define EXPLORE_REFS (sizeof(((struct explore_run *)0)->refs) / sizeof(struct explore_ref))
/* References judging one point at most, and recordings tried per point. */
#define EXPLORE_POINT_REFS 4
#define EXPLORE_REF_TRIES 8

static void ref_drop(struct explore_ref *f)
{
	replay_rec_free(f->rec);
	free(f->exc);
	memset(f, 0, sizeof(*f));
}

/* A slot for a new reference: a free one, else the oldest not of this point. */
static struct explore_ref *ref_slot(struct explore_run *er)
{
	struct explore_ref *old = NULL;
	unsigned current = 0;

	for (unsigned i = 0; i < EXPLORE_REFS; i++) {
		struct explore_ref *f = &er->refs[i];

		if (!f->rec)
			return current < EXPLORE_POINT_REFS ? f : NULL;
		if (f->gen == er->gen)
			current++;
		else if (!old || f->used < old->used)
			old = f;
	}
	if (current >= EXPLORE_POINT_REFS || !old)
		return NULL;
	ref_drop(old);
	return old;
}

/* Keep the state just checked with rec as a reference in f (its rows copied). */
static bool ref_add(struct explore_run *er, struct explore_ref *f, struct replay_rec *rec,
		    const struct explore_state_result *out)
{
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
	f->gen = er->gen;
	f->shape = er->shape;
	f->used = ++er->tick;
	f->nr_exc = er->nr_exc;
	f->cow_used = out->cow_used;
	f->partial_area = out->partial_area;
	f->invalid_uncommitted = out->invalid_uncommitted;
	er->res->refs_recorded++;
	return true;
}

/* The judged state's result and rows: the reference's. */
static enum explore_verdict ref_use(struct explore_run *er, struct explore_ref *f,
				    struct explore_state_result *out)
{
	memset(out, 0, sizeof(*out));
	out->verdict = EXPLORE_OK;
	out->cow_used = f->cow_used;
	out->partial_area = f->partial_area;
	out->invalid_uncommitted = f->invalid_uncommitted;
	f->used = ++er->tick;
	er->nr_exc = 0;
	er->res->states_judged++;
	if (f->nr_exc > er->cap_exc) {
		struct exc_row *n = realloc(er->exc, f->nr_exc * sizeof(*n));

		if (!n) /* the rows are a record, not a check: drop them */
			return EXPLORE_OK;
		er->exc = n;
		er->cap_exc = f->nr_exc;
	}
	if (f->nr_exc)
		memcpy(er->exc, f->exc, f->nr_exc * sizeof(*f->exc));
	er->nr_exc = f->nr_exc;
	return EXPLORE_OK;
}

/*
 * Carry f to the current point through the state forks[] (equal to f's
 * reference on the control set): its recovered model, from a plain
 * restart, rebases the recording. 0: f judges this point now.
 */
static int ref_carry(struct explore_run *er, struct replay_world *w, struct sim_disk **forks,
		     struct explore_ref *f)
{
	struct replay_world *nw = NULL;
	char errbuf[256] = "";
	int r;

	/* An activation error is the full check's to judge. */
	if (replay_world_restart(w, forks, &nw, errbuf, sizeof(errbuf)) || errbuf[0]) {
		replay_world_destroy(nw);
		return -1;
	}
	r = replay_rec_rebase(f->rec, replay_world_model(nw));
	replay_world_destroy(nw);
	if (r)
		return -1;
	f->gen = er->gen;
	er->res->refs_carried++;
	return 0;
}

enum explore_verdict explore_fast_check(struct explore_run *er, struct replay_world *w,
					struct sim_disk **forks, uint64_t seed,
					struct explore_state_result *out)
{
	uint64_t more = explore_check_more_io_seed(seed);
	struct explore_ref *slot;
	enum explore_verdict v;
	struct replay_rec *rec;

	if (er->o->full_check)
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	if (!er->shape_known) {
		er->shape = replay_world_shape(w);
		er->shape_known = true;
	}
	for (unsigned i = 0; i < EXPLORE_REFS; i++) {
		struct explore_ref *f = &er->refs[i];

		if (f->rec && f->gen == er->gen && !replay_rec_judge(f->rec, forks, more))
			return ref_use(er, f, out);
	}
	for (unsigned i = 0; i < EXPLORE_REFS; i++) {
		struct explore_ref *f = &er->refs[i];

		if (!f->rec || f->gen == er->gen || f->shape != er->shape ||
		    !replay_rec_control_same(f->rec, forks))
			continue;
		if (ref_carry(er, w, forks, f)) {
			ref_drop(f);
			continue;
		}
		if (!replay_rec_judge(f->rec, forks, more))
			return ref_use(er, f, out);
	}
	slot = er->ref_tries < EXPLORE_REF_TRIES ? ref_slot(er) : NULL;
	if (!slot)
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	er->ref_tries++;
	rec = replay_rec_new(replay_world_nr_disks(w));
	if (!rec)
		return explore_check_state(w, forks, seed, explore_record_exception, er, out);
	v = explore_check_state_rec(w, forks, seed, explore_record_exception, er, out, rec);
	if (v == EXPLORE_OK && !replay_rec_finish(rec)) {
		if (!ref_add(er, slot, rec, out))
			replay_rec_free(rec);
		return v;
	}
	/* The recorded check left the reads to the recording, which could not
	 * clear them: the full check gives the verdict (and its evidence). */
	replay_rec_free(rec);
	er->nr_exc = 0;
	return explore_check_state(w, forks, seed, explore_record_exception, er, out);
}

void explore_fast_point_end(struct explore_run *er)
{
	er->gen++;
	er->ref_tries = 0;
	er->shape_known = false;
}

void explore_fast_run_end(struct explore_run *er)
{
	for (unsigned i = 0; i < EXPLORE_REFS; i++)
		if (er->refs[i].rec)
			ref_drop(&er->refs[i]);
}
