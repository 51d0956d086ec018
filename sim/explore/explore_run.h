/*
 * explore_run.h - one explorer run's state, shared by the files of
 * sim/explore that drive it: the crash points it meets and the states it
 * records (explore_record.c).
 */
#ifndef SNAPSIM_EXPLORE_RUN_H
#define SNAPSIM_EXPLORE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "explore.h"

struct replay_crash_point;
struct disk_space;

struct exc_row {
	char dev[128];
	uint64_t old_chunk, new_chunk;
	const char *note;    /* static strings from explore_check.c */
};

struct explore_run {
	const struct explore_opts *o;
	const char *path;
	struct explore_result *res;
	int64_t run_id;
	uint64_t budget;
	bool stop;
	struct exc_row *exc;
	size_t nr_exc, cap_exc;
	uint64_t *seen;      /* hashes checked at the current point */
	size_t nr_seen, cap_seen;
	struct explore_check_result cr; /* the checker's verdict on the current state */
	/* Reference states (explore_fast.c), kept across crash points. */
	struct explore_ref {
		struct replay_rec *rec;  /* NULL: a free slot */
		uint64_t gen;        /* the point it judges (er->gen); older: carry it first */
		uint64_t shape;      /* replay_world_shape of its point */
		uint64_t used;       /* er->tick when last used: the oldest goes first */
		int64_t cow_used;    /* its decoded stores: the judged state's rows */
		bool partial_area, invalid_uncommitted;
		struct exc_row *exc;
		size_t nr_exc;
	} refs[8];
	unsigned ref_tries;  /* recordings at the current point */
	uint64_t gen, tick;  /* the current point's number; a use counter */
	uint64_t shape;      /* the current point's shape ... */
	bool shape_known;    /* ... once a state asked for it */
	struct model_content_memo *cmemo; /* patterns the judge identified this run (or NULL) */
	/* What the coverage goals remember across crash points (explore_goals.c). */
	struct goal_snap {
		const void *snap, *cow;      /* a snapshot object, its COW device */
		uint64_t a, m;               /* its usage when first seen (sectors) */
	} snaps[32];
	unsigned nr_snaps;
};

/* explore_goals.c: the coverage goals visible on the paused world w. */
void explore_note_goals(struct explore_run *er, struct replay_world *w);

static inline enum explore_verdict worse(enum explore_verdict a, enum explore_verdict b)
{
	return b > a ? b : a;
}

/*
 * The replayer's crash hook (replay_opts.crash_hook) over er (ctx): every
 * durable state of crash point cp, combined, checked and recorded
 * (explore_point.c). Returns nonzero to stop the replay.
 */
int explore_point_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp);
/*
 * explore_save.c: failing state h of crash point cp (crashed[i]: disk i's
 * crashed image, w paused) saved under er->o->save_failing_dir; counts it
 * in er->res (saved / save_error) and says where in er->o->log.
 */
void explore_save_state(struct explore_run *er, struct replay_world *w,
			struct sim_disk **crashed, const struct replay_crash_point *cp,
			uint64_t h);
/*
 * Check one state of the current crash point (explore_fast.c): judged
 * against the point's reference when it can be, else in full. The verdict
 * and *out are explore_check_state's.
 */
enum explore_verdict explore_fast_check(struct explore_run *er, struct replay_world *w,
					struct sim_disk **forks, uint64_t seed,
					struct explore_state_result *out);
/* The crash point is done: its references wait for the next one's states. */
void explore_fast_point_end(struct explore_run *er);
/* The run is done: drop every reference. */
void explore_fast_run_end(struct explore_run *er);
/* explore_exception_fn over er (ctx): keep one recovered exception for the state's rows. */
void explore_record_exception(void *ctx, const char *device, uint64_t old_chunk,
			      uint64_t new_chunk, const char *note);
/* Run er->o->check on the state forks[] (one per disk of w) hold (explore_cmd.c). */
void explore_check_cmd(struct explore_run *er, struct replay_world *w, struct sim_disk **forks,
		       struct explore_check_result *cr);
/* Record one checked state, its exceptions and evidence in er->o->db (when set); its id or <= 0. */
int64_t explore_record_state(struct explore_run *er, int64_t point_id, uint64_t hash,
			  const char *surv, const struct explore_state_result *sr,
			  const char *repro);
/* Record the checker's verdict on state state_id (its checks row). */
void explore_record_check(struct explore_run *er, int64_t state_id,
			  const struct explore_check_result *cr, const char *repro);
/* Record the writes pending at a crash point (ds[0..nd-1]), so the report can say what each survivor was. */
void explore_record_writes(struct explore_run *er, struct replay_world *w, int64_t point_id,
			   const struct disk_space *ds, unsigned nd);
/* The command that replays the run; with point >= 0, just that point's state surv. */
void explore_repro_line(const struct explore_run *er, int64_t point, const char *surv,
			char *buf, size_t len);

#endif
