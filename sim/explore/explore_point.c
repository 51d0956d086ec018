/*
 * explore_point.c - one crash point of an explorer run (explore_run.h,
 * the replayer's crash hook): each disk's candidate states
 * (explore_space.c), or the one state --survivors names; their
 * combination over the disks (explore.h (2)); a fork per state, deduped
 * by durable hash (3); the check (explore_check.c) and its record
 * (explore_record.c); coverage goals seen on the paused world
 * (explore_goals.c).
 *
 * Organisation: names and counting; deduplication and coverage; the hook.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "dm_snap.h"
#include "explore_run.h"
#include "explore_space.h"
#include "explore_survivors.h"
#include "hash.h"
#include "prng.h"
#include "replay.h"
#include "statedb.h"

#define EXPLORE_DEFAULT_K 2

/* ------------------------------------------------------------------ */
/* Names and counting                                                   */

static const char *point_kind_name(unsigned kind)
{
	switch (kind) {
	case REPLAY_CRASH_MARKER: return "marked";
	case REPLAY_CRASH_DISK_IO: return "completion";
	case REPLAY_CRASH_FLUSH: return "flush";
	case REPLAY_CRASH_TRACE_IO: return "trace-io";
	case REPLAY_CRASH_END: return "end";
	}
	return "?";
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	if (a && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ------------------------------------------------------------------ */
/* Deduplication and coverage                                           */

static bool seen_add(struct explore_run *er, uint64_t h)
{
	for (size_t i = 0; i < er->nr_seen; i++)
		if (er->seen[i] == h)
			return true;
	if (er->nr_seen == er->cap_seen) {
		size_t cap = er->cap_seen ? 2 * er->cap_seen : 64;
		uint64_t *n = realloc(er->seen, cap * sizeof(*n));

		if (!n)
			return false;
		er->seen = n;
		er->cap_seen = cap;
	}
	er->seen[er->nr_seen++] = h;
	return false;
}

/* The checker's first lines of output under its failure, indented. */
static void log_output(FILE *log, const struct explore_check_result *cr)
{
	const char *p = cr->output, *end = cr->output + cr->output_len;

	for (unsigned n = 0; p < end && n < 12; n++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		fprintf(log, "  | %.*s\n", (int)(len > 200 ? 200 : len), p);
		p += len + 1;
	}
	if (cr->output_bytes > cr->output_len)
		fprintf(log, "  | ... (%" PRIu64 " bytes in all; the database keeps the first %zu)\n",
			cr->output_bytes, cr->output_len);
	else if (p < end)
		fprintf(log, "  | ... (the rest is in the database)\n");
}

/* ------------------------------------------------------------------ */
/* The hook                                                             */

int explore_point_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct explore_run *er = ctx;
	const struct explore_opts *o = er->o;
	struct explore_result *res = er->res;
	unsigned nd = replay_world_nr_disks(w);
	struct disk_space ds[EXPLORE_MAX_DISKS];
	struct cand *pick[EXPLORE_MAX_DISKS];
	struct sim_disk *forks[EXPLORE_MAX_DISKS];
	struct explore_survivors only = { 0 };
	struct sim_prng prng = sim_prng_substream(res->seed, SIM_STREAM_CRASH, cp->seq + 1);
	enum explore_verdict point_verdict = EXPLORE_OK;
	uint64_t total = 1, combos = 1, checked = 0, torn_bits = 0;
	int64_t point_id = 0;
	size_t idx[EXPLORE_MAX_DISKS];
	int r = 0;

	if (o->stop && *o->stop) {
		res->interrupted = true;
		return 1;
	}
	res->points++;
	if (nd > EXPLORE_MAX_DISKS)
		return 0;
	if (o->shard_n && cp->seq % o->shard_n != o->shard_k)
		return 0;
	if (o->only_point >= 0 && (int64_t)cp->seq != o->only_point)
		return (int64_t)cp->seq > o->only_point; /* past it: stop */
	res->points_explored++;
	explore_note_goals(er, w);

	memset(ds, 0, sizeof(ds));
	if (o->only_point >= 0 && o->only_survivors) {
		const char *names[EXPLORE_MAX_DISKS];

		for (unsigned d = 0; d < nd; d++)
			names[d] = replay_world_disk_name(w, d);
		if (explore_survivors_parse(o->only_survivors, nd, names, &only)) {
			snprintf(res->replay_failure, sizeof(res->replay_failure),
				 "--survivors '%s' does not name pending writes of this trace's disks",
				 o->only_survivors);
			res->verdict = worse(res->verdict, EXPLORE_BAD_TRACE);
			return 1;
		}
	}
	for (unsigned d = 0; d < nd; d++) {
		struct sim_disk *disk = replay_world_disk(w, d);
		size_t n = sim_disk_pending_count(disk);

		ds[d].pending = calloc(n ? n : 1, sizeof(*ds[d].pending));
		if (!ds[d].pending) {
			r = -ENOMEM;
			goto out;
		}
		ds[d].n = sim_disk_pending_list(disk, ds[d].pending, n);
		if (explore_space_out_of_order(&ds[d]))
			res->goal[EXPLORE_GOAL_OUT_OF_ORDER] = true;
		if (only.nr_disks) {
			ds[d].total = 1;
			ds[d].cands = calloc(1, sizeof(*ds[d].cands));
			if (!ds[d].cands) {
				r = -ENOMEM;
				goto out;
			}
			ds[d].nr_cands = 1;
			ds[d].cands[0].nr = only.nr[d];
			ds[d].cands[0].w = only.writes[d];
			only.writes[d] = NULL; /* now owned by the candidate */
			ds[d].cands[0].masks = NULL;
		} else {
			struct sim_prng dp = sim_prng_substream(res->seed, SIM_STREAM_CRASH,
								((cp->seq + 1) << 8) | d);

			r = explore_space_build(&ds[d], o->subsets, o->reorder_k ? o->reorder_k : EXPLORE_DEFAULT_K,
						er->budget, &dp);
			if (r)
				goto out;
		}
		total = sat_mul(total, ds[d].total);
		torn_bits += ds[d].torn_bits;
		combos = sat_mul(combos, ds[d].nr_cands);
	}
	res->states_total = sat_add(res->states_total, total);

	if (o->db) {
		char label[160];
		struct statedb_point p = {
			.run = er->run_id, .seq = cp->seq, .kind = point_kind_name(cp->kind),
			.trace_line = cp->step_line, .label = label, .time_ns = cp->now_ns,
			.states_total = total, .torn_bits = torn_bits,
		};

		if (cp->marker)
			snprintf(label, sizeof(label), "crash: %s", cp->marker);
		else if (cp->disk >= 0)
			snprintf(label, sizeof(label), "%s %s%s%s %" PRIu64 "+%" PRIu32 " on %s",
				 cp->op == BIO_FLUSH ? "flush" : cp->op == BIO_DISCARD ? "discard" : "write",
				 (cp->bio_flags & BIO_PREFLUSH) ? "PREFLUSH " : "",
				 (cp->bio_flags & BIO_FUA) ? "FUA " : "", "",
				 (uint64_t)cp->sector, cp->nr_sectors,
				 replay_world_disk_name(w, (unsigned)cp->disk));
		else
			snprintf(label, sizeof(label), "%s", point_kind_name(cp->kind));
		statedb_begin(o->db);
		point_id = statedb_point_add(o->db, &p);
		explore_record_writes(er, w, point_id, ds, nd);
	}

	er->nr_seen = 0;
	memset(idx, 0, sizeof(idx));
	for (uint64_t c = 0; c < (combos <= er->budget ? combos : er->budget); c++) {
		struct explore_state_result sr;
		enum explore_verdict sv;
		bool cfail;
		int64_t state_id;
		struct sbuf surv = { 0 };
		uint64_t h = 0;
		unsigned made = 0;
		char repro[2048];

		/* Which candidate per disk: mixed radix when it all fits, else samples. */
		for (unsigned d = 0; d < nd; d++) {
			size_t i;

			if (combos <= er->budget) {
				i = idx[d];
			} else {
				i = c == 0 ? 0 : (size_t)sim_prng_below(&prng, ds[d].nr_cands);
			}
			pick[d] = &ds[d].cands[i];
		}
		if (combos <= er->budget) {
			for (unsigned d = 0; d < nd; d++) {
				if (++idx[d] < ds[d].nr_cands)
					break;
				idx[d] = 0;
			}
		}
		for (unsigned d = 0; d < nd; d++) {
			r = sim_disk_fork(replay_world_disk(w, d), pick[d]->w, pick[d]->nr, NULL,
					  &forks[d]);
			if (r)
				break;
			made++;
			h = sim_hash_combine(h, sim_disk_durable_hash(forks[d]));
		}
		if (r) {
			for (unsigned d = 0; d < made; d++)
				sim_disk_destroy(forks[d]);
			if (r == -EINVAL && only.nr_disks) {
				snprintf(res->replay_failure, sizeof(res->replay_failure),
					 "--survivors '%s': a write is not pending at crash point %" PRIu64,
					 o->only_survivors, cp->seq);
				res->verdict = worse(res->verdict, EXPLORE_BAD_TRACE);
				r = 0;
				er->stop = true;
			}
			goto out_point;
		}
		if (seen_add(er, h)) {
			res->states_duplicate++;
			for (unsigned d = 0; d < nd; d++)
				sim_disk_destroy(forks[d]);
			continue;
		}
		er->nr_exc = 0;
		/* One seed per run: every state's test writes are the same, so a
		 * judged state reads its reference's test data, of this point or
		 * of an earlier one (explore_fast.c). */
		explore_fast_check(er, w, forks, sim_hash_combine(res->seed, 0x7e57), &sr);
		sv = sr.verdict;
		cfail = false;
		if (o->check) {
			explore_check_cmd(er, w, forks, &er->cr);
			cfail = er->cr.verdict == EXPLORE_CHECK_FAILED ||
				er->cr.verdict == EXPLORE_CHECK_TIMEOUT ||
				er->cr.verdict == EXPLORE_CHECK_ERROR;
			if (er->cr.reused)
				res->check_reused++;
			else if (er->cr.verdict != EXPLORE_CHECK_SKIPPED &&
				 er->cr.verdict != EXPLORE_CHECK_ERROR) /* it never started */
				res->check_runs++;
			if (cfail)
				res->check_failures++;
			if (cfail && sv == EXPLORE_OK)
				sv = er->cr.verdict == EXPLORE_CHECK_ERROR ? EXPLORE_TOOL_CRASH
									   : EXPLORE_VIOLATION;
		}
		if (sv != EXPLORE_OK && o->save_failing_dir)
			explore_save_state(er, w, forks, cp, h);
		for (unsigned d = 0; d < nd; d++)
			sim_disk_destroy(forks[d]);
		checked++;
		res->states_checked++;
		/* Text only where it is kept: the database's row, or a failure. */
		repro[0] = 0;
		if (o->db || sv != EXPLORE_OK)
			explore_survivors_text(w, pick, nd, &surv);
		if (sv != EXPLORE_OK)
			explore_repro_line(er, (int64_t)cp->seq, surv.p, repro, sizeof(repro));
		if (sr.invalid_uncommitted)
			res->goal[EXPLORE_GOAL_INVALID_UNCOMMITTED] = true;
		if (sr.partial_area) {
			for (unsigned d = 0; d < nd; d++)
				if (ds[d].n)
					res->goal[EXPLORE_GOAL_PARTIAL_AREA] = true;
		}
		if (sv != EXPLORE_OK) {
			/* The model's message first; the checker's after it when both failed. */
			char msg[1024];

			if (sr.verdict == EXPLORE_OK)
				snprintf(msg, sizeof(msg), "%s", er->cr.message);
			else if (cfail)
				snprintf(msg, sizeof(msg), "%.600s; and %.400s", sr.message, er->cr.message);
			else
				snprintf(msg, sizeof(msg), "%s", sr.message);
			res->failures++;
			if (res->fail_point < 0) {
				res->fail_point = (int64_t)cp->seq;
				snprintf(res->fail_survivors, sizeof(res->fail_survivors), "%s",
					 surv.p ? surv.p : "");
				snprintf(res->failure, sizeof(res->failure), "%s", msg);
				snprintf(res->repro, sizeof(res->repro), "%s", repro);
				res->fail_by_check = sr.verdict == EXPLORE_OK;
			}
			if (o->log && res->failures <= 3) {
				fprintf(o->log, "%s: crash point %" PRIu64 " (line %u, %s): %s: %s\n"
					"  seed %" PRIu64 "; replay: %s\n", er->path, cp->seq,
					cp->step_line, point_kind_name(cp->kind),
					explore_verdict_name(sv), msg, res->seed, repro);
				if (cfail)
					log_output(o->log, &er->cr);
			}
		}
		point_verdict = worse(point_verdict, sv);
		state_id = explore_record_state(er, point_id, h, surv.p ? surv.p : "", &sr, repro);
		if (o->check)
			explore_record_check(er, state_id, &er->cr, repro);
		free(surv.p);
		if (o->on_state)
			o->on_state(o->on_state_ctx, res);
		if (sv == EXPLORE_HANG || sv == EXPLORE_TOOL_CRASH)
			break;
		if (o->stop && *o->stop) { /* this state is done and recorded: end here */
			res->interrupted = true;
			er->stop = true;
			break;
		}
	}
out_point:
	if (o->db && point_id > 0) {
		statedb_point_finish(o->db, point_id, checked, explore_verdict_name(point_verdict));
		statedb_commit(o->db);
	}
	res->verdict = worse(res->verdict, point_verdict);
	if (point_verdict != EXPLORE_OK && !o->keep_going)
		er->stop = true;
	if (only.nr_disks)
		er->stop = true;
out:
	explore_fast_point_end(er);
	for (unsigned d = 0; d < nd; d++)
		explore_space_free(&ds[d]);
	explore_survivors_free(&only);
	if (r) {
		snprintf(res->replay_failure, sizeof(res->replay_failure),
			 "crash point %" PRIu64 ": %s", cp->seq, strerror(-r));
		res->verdict = worse(res->verdict, EXPLORE_TOOL_CRASH);
		return 1;
	}
	return er->stop ? 1 : 0;
}

