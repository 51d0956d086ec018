/*
 * explore_record.c - what is kept of a checked state (explore_run.h): the
 * exception records its check recovered, its row in the state database
 * with its evidence, and the one-line command that replays it; of a crash
 * point, the writes pending at it (the database's writes table).
 */
#include "explore_run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "explore_space.h"
#include "replay.h"
#include "statedb.h"

void explore_record_exception(void *ctx, const char *device, uint64_t old_chunk,
			      uint64_t new_chunk, const char *note)
{
	struct explore_run *er = ctx;

	if (er->nr_exc == er->cap_exc) {
		size_t cap = er->cap_exc ? 2 * er->cap_exc : 256;
		struct exc_row *n = realloc(er->exc, cap * sizeof(*n));

		if (!n)
			return; /* the rows are a record, not a check: drop them */
		er->exc = n;
		er->cap_exc = cap;
	}
	struct exc_row *e = &er->exc[er->nr_exc++];

	snprintf(e->dev, sizeof(e->dev), "%s", device);
	e->old_chunk = old_chunk;
	e->new_chunk = new_chunk;
	e->note = note;
}

/* Record one checked state in the database. */
int64_t explore_record_state(struct explore_run *er, int64_t point_id, uint64_t hash,
			  const char *surv, const struct explore_state_result *sr,
			  const char *repro)
{
	struct statedb *db = er->o->db;
	struct statedb_state s = {
		.point = point_id, .hash = hash, .survivors = surv,
		.verdict = explore_verdict_name(sr->verdict), .cow_used = sr->cow_used,
		.message = sr->verdict ? sr->message : NULL,
		.repro = sr->verdict ? repro : NULL,
	};
	int64_t id;

	if (!db || point_id <= 0)
		return 0;
	id = statedb_state_add(db, &s);
	if (id <= 0)
		return id;
	for (size_t i = 0; i < er->nr_exc; i++)
		statedb_exception_add(db, id, er->exc[i].dev, er->exc[i].old_chunk,
				      er->exc[i].new_chunk, er->exc[i].note);
	for (unsigned i = 0; i < sr->nr_evidence; i++) {
		const struct explore_evidence *e = &sr->evidence[i];
		struct statedb_evidence ev = {
			.state = id, .device = e->device, .sector = e->sector,
			.nsectors = e->nsectors, .expected = e->expected, .found = e->found,
			.message = e->message,
		};

		statedb_evidence_add(db, &ev);
	}
	return id;
}

void explore_record_check(struct explore_run *er, int64_t state_id,
			  const struct explore_check_result *cr, const char *repro)
{
	bool failed = cr->verdict != EXPLORE_CHECK_OK && cr->verdict != EXPLORE_CHECK_SKIPPED;
	struct statedb_check c = {
		.state = state_id, .command = er->o->check_text,
		.verdict = explore_check_verdict_name(cr->verdict), .exit_status = cr->exit_status,
		.signal = cr->signal, .output = cr->output_len ? cr->output : NULL,
		.output_len = cr->output_len, .output_bytes = cr->output_bytes,
		.has_hash = cr->has_hash, .content_hash = cr->content_hash, .reused = cr->reused,
		.message = cr->message[0] ? cr->message : NULL, .repro = failed ? repro : NULL,
	};

	if (er->o->db && state_id > 0)
		statedb_check_add(er->o->db, &c);
}

void explore_repro_line(const struct explore_run *er, int64_t point, const char *surv,
			char *buf, size_t len)
{
	const struct explore_opts *o = er->o;
	int n = snprintf(buf, len, "%s explore %s --seed %" PRIu64 " --mode %s --subsets %s --budget %" PRIu64,
			 o->program ? o->program : "snapsim", er->path, er->res->seed,
			 explore_mode_name(o->mode), explore_subsets_name(o->subsets), er->budget);

	if (o->event_budget && n > 0 && (size_t)n < len) /* a hang depends on it */
		n += snprintf(buf + n, len - (size_t)n, " --event-budget %" PRIu64, o->event_budget);
	if (point >= 0 && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " --point %" PRId64 " --survivors '%s'",
			      point, surv ? surv : "");
	if (o->check_repro && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " %s", o->check_repro);
}

void explore_record_writes(struct explore_run *er, struct replay_world *w, int64_t point_id,
			   const struct disk_space *ds, unsigned nd)
{
	struct statedb *db = er->o->db;

	for (unsigned d = 0; db && point_id > 0 && d < nd; d++) {
		uint32_t unit = sim_disk_config(replay_world_disk(w, d))->atomic_sectors;

		for (size_t i = 0; i < ds[d].n; i++) {
			const struct sim_disk_pending *p = &ds[d].pending[i];
			char flags[64];
			struct statedb_write row = {
				.point = point_id, .disk = replay_world_disk_name(w, d), .write_id = p->id,
				.trace_line = (unsigned)p->tag, .sector = p->sector,
				.nsectors = p->nr_sectors, .flags = flags, .units = p->nr_units,
				.unit_sectors = unit,
			};

			snprintf(flags, sizeof(flags), "%s%s%s%s", p->completed ? "cached" : "in-flight",
				 (p->bio_flags & BIO_PREFLUSH) ? " PREFLUSH" : "",
				 (p->bio_flags & BIO_FUA) ? " FUA" : "", p->discard ? " DISCARD" : "");
			statedb_write_add(db, &row);
		}
	}
}
