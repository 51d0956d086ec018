/*
 * explore_goals.c - coverage goals seen on the paused world at a crash
 * point (explore.h, enum explore_goal). Each goal is read off the state
 * the core and the replayer hold at that moment (the snapshot objects,
 * their stores' usage, the tables' words, what the run did so far), never
 * from a trace's name, so a user's own traces reach them as the corpus
 * does. Some goals remember earlier points of the same run (explore_run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "dm_snap.h"
#include "dm_target.h"
#include "exstore.h"
#include "explore_run.h"
#include "replay.h"

/* Huge chunks: from 2^17 sectors (64 MiB) up to Linux's maximum, 2^21. */
#define GOAL_HUGE_CHUNK (1u << 17)

/*
 * Does snapshot s have an exception waiting for tracked reads (spec 4.7)
 * while two or more tracked I/Os of one chunk are in flight?
 */
static bool two_readers(const struct dm_snapshot *s)
{
	if (!s->read_waiters)
		return false;
	for (unsigned b = 0; b < SNAP_TRACK_BUCKETS; b++)
		for (const struct snap_io *a = s->tracked[b]; a; a = a->tnext)
			for (const struct snap_io *c = a->tnext; c; c = c->tnext)
				if (c->chunk == a->chunk)
					return true;
	return false;
}

/*
 * The usage of snapshot object s when this run first saw it, and whether
 * another snapshot object used its COW before it (s was re-created or
 * reloaded over a store in use).
 */
static const struct goal_snap *first_seen(struct explore_run *er, const struct dm_snapshot *s,
					  uint64_t a, uint64_t m, bool *reloaded)
{
	*reloaded = false;
	for (unsigned i = 0; i < er->nr_snaps; i++)
		if (er->snaps[i].cow == s->cow && er->snaps[i].snap != s)
			*reloaded = true;
	for (unsigned i = 0; i < er->nr_snaps; i++)
		if (er->snaps[i].snap == s)
			return &er->snaps[i];
	if (er->nr_snaps == sizeof(er->snaps) / sizeof(er->snaps[0]))
		return NULL;
	er->snaps[er->nr_snaps] = (struct goal_snap){ s, s->cow, a, m };
	return &er->snaps[er->nr_snaps++];
}

/* Usage a/m of a persistent store: area k >= 1 current and empty, k full before it. */
static bool at_full_area(uint64_t cs, uint64_t a, uint64_t m)
{
	uint64_t k;

	if (!cs || m < 3 * cs)
		return false;
	k = m / cs - 2;
	return a == (2 + k * (cs * 32 + 1)) * cs;
}

static void snapshot_goals(struct explore_run *er, struct replay_world *w, const char *name)
{
	struct dm_registry *reg = replay_world_registry(w);
	struct dm_device *md = dm_find_device(reg, name);
	struct dm_target *ti = md ? dm_device_target(md, 0) : NULL;
	bool *goal = er->res->goal, merge, reloaded;
	const struct dm_snapshot *s;
	const struct goal_snap *fs;
	sector_t tot = 0, a = 0, m = 0;
	uint64_t cs;
	struct ss_error err = { 0 };
	char *st = NULL;

	if (!ti || (strcmp(ti->type->name, "snapshot") && strcmp(ti->type->name, "snapshot-merge")))
		return;
	s = ti->private;
	merge = !strcmp(ti->type->name, "snapshot-merge");
	/* The store's chunk size, not a word of the table: features may follow
	 * it, and a handover destination's table may say 0 (spec 1.3.1). */
	cs = s->store ? s->store->chunk_sectors : 0;
	if (s->store && s->active && s->store->type->usage)
		s->store->type->usage(s->store, &tot, &a, &m);
	if (!dm_status_text(reg, name, false, &st, &err)) {
		if (strstr(st, "Overflow"))
			goal[EXPLORE_GOAL_COW_FULL] = true;
		else if (!strstr(st, "Invalid") && cs && a + cs > tot) {
			goal[EXPLORE_GOAL_COW_FULL] = true;
			/* the next chunk would end in the COW's trailing partial chunk */
			if (tot % cs)
				goal[EXPLORE_GOAL_COW_PARTIAL] = true;
		}
		free(st);
	}
	if (!s->active)
		return;
	if (cs >= GOAL_HUGE_CHUNK && a > m)
		goal[EXPLORE_GOAL_HUGE_IO] = true;
	fs = first_seen(er, s, a, m, &reloaded);
	if (fs && reloaded && m && at_full_area(cs, fs->a, fs->m))
		goal[EXPLORE_GOAL_RELOAD_FULL_AREA] = true;
	if (merge && a > m) {
		goal[EXPLORE_GOAL_MID_MERGE] = true;
		if (replay_world_snap_wrote_cow(w, s->cow))
			goal[EXPLORE_GOAL_MERGE_OWN] = true;
	}
	if (dm_snap_origin_write_races_read(s))
		goal[EXPLORE_GOAL_RACE] = true;
	if (two_readers(s))
		goal[EXPLORE_GOAL_TWO_READERS] = true;
}

void explore_note_goals(struct explore_run *er, struct replay_world *w)
{
	if (replay_world_aliased(w))
		er->res->goal[EXPLORE_GOAL_ALIASES] = true;
	if (replay_world_tables_rejected(w))
		er->res->goal[EXPLORE_GOAL_CTR_ERROR] = true;
	for (unsigned i = 0; i < replay_world_nr_devs(w); i++) {
		const char *t = replay_world_dev_table(w, i);

		if (strstr(t, " snapshot ") || strstr(t, " snapshot-merge "))
			snapshot_goals(er, w, replay_world_dev_name(w, i));
	}
}
