/*
 * report_sweeps.c - the runs of a database grouped into sweeps (report.h),
 * their figures, and the plan of which failing crash points get a card.
 *
 * The main job runs one `snapsim explore --shard K/N` per core and merges
 * the shards: each shard is a row of `runs` holding the points with
 * seq % N == K. A reader wants one run per sweep and one timeline per
 * trace, so shard rows that agree on trace, seed, options (less --shard)
 * and version are put back together here; the database stays as the
 * explorer wrote it, and databases of schema 2 group the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "report.h"

/* Shard counts beyond this are taken as unsharded runs (the bitmap would be large). */
#define SHARD_N_MAX 65536

struct run_row {
	long long id, seed, points;
	char *trace, *trace_name, *options, *version, *started, *repro, *minimized;
	const char *verdict;
	unsigned k, n;
};

/* Verdicts, worst last; NULL (a run that never finished) just above ok. */
static int verdict_rank(const char *v)
{
	static const char *const order[] = { "ok", "", "violation", "bad-trace", "crash", "hang" };

	if (!v)
		return 1;
	for (int i = 0; i < 6; i++)
		if (!strcmp(v, order[i]))
			return i;
	return 2;
}

static const char *verdict_static(const char *v)
{
	static const char *const known[] = { "ok", "violation", "bad-trace", "crash", "hang" };

	if (!v)
		return NULL;
	for (int i = 0; i < 5; i++)
		if (!strcmp(v, known[i]))
			return known[i];
	return "violation";
}

static char *dup_col(sqlite3_stmt *st, int i)
{
	const char *s = report_col(st, i);

	return s ? strdup(s) : NULL;
}

/* Cut " --shard K/N" out of options (in place); K/N into r. */
static void split_shard(struct run_row *r)
{
	char *p = r->options ? strstr(r->options, "--shard ") : NULL;
	unsigned k, n;
	int used = 0;

	r->k = r->n = 0;
	if (!p || sscanf(p, "--shard %u/%u%n", &k, &n, &used) != 2 || !n || k >= n || n > SHARD_N_MAX)
		return;
	r->k = k;
	r->n = n;
	if (p > r->options && p[-1] == ' ')
		p--, used++;
	memmove(p, p + used, strlen(p + used) + 1);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

struct sweep_tmp {
	struct report_sweep s;
	const struct run_row *first;
	uint64_t *have;           /* bitmap of shards present */
	int worst;
};

static int cmp_sweep(const void *a, const void *b)
{
	const struct report_sweep *x = a, *y = b;
	int c = strcmp(x->trace ? x->trace : "", y->trace ? y->trace : "");

	return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int load_runs(sqlite3 *db, struct run_row **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT id, trace, trace_name, seed, options, version, started, "
			       "verdict, points, repro, minimized FROM runs ORDER BY id", -1, &st,
			       NULL) != SQLITE_OK)
		return -EINVAL;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			struct run_row *v = realloc(*out, cap * sizeof(*v));

			if (!v) {
				sqlite3_finalize(st);
				return -ENOMEM;
			}
			*out = v;
		}
		struct run_row *r = &(*out)[(*n)++];

		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->trace = dup_col(st, 1);
		r->trace_name = dup_col(st, 2);
		r->seed = sqlite3_column_int64(st, 3);
		r->options = dup_col(st, 4);
		r->version = dup_col(st, 5);
		r->started = dup_col(st, 6);
		r->verdict = verdict_static(report_col(st, 7));
		r->points = sqlite3_column_int64(st, 8);
		r->repro = dup_col(st, 9);
		r->minimized = dup_col(st, 10);
		split_shard(r);
	}
	sqlite3_finalize(st);
	return 0;
}

static void free_runs(struct run_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].trace);
		free(v[i].trace_name);
		free(v[i].options);
		free(v[i].version);
		free(v[i].started);
		free(v[i].repro);
		free(v[i].minimized);
	}
	free(v);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Add run r to sweep t (t->s.id already set when new). */
static void sweep_take(struct sweep_tmp *t, const struct run_row *r)
{
	int rank = verdict_rank(r->verdict);

	if (r->n)
		t->have[r->k / 64] |= 1ULL << (r->k % 64);
	/* The worst run speaks for the sweep: its verdict and repro line. */
	if (!t->s.nr_runs || rank > t->worst) {
		t->worst = rank;
		t->s.verdict = r->verdict;
		if (r->repro) {
			free(t->s.repro);
			t->s.repro = strdup(r->repro);
		}
	}
	t->s.nr_runs++;
	if (r->points > t->s.points_offered)
		t->s.points_offered = r->points;
	if (r->started && (!t->s.started || strcmp(r->started, t->s.started) < 0)) {
		free(t->s.started);
		t->s.started = strdup(r->started);
	}
	if (r->minimized && !t->s.minimized)
		t->s.minimized = strdup(r->minimized);
}

static int group(const struct run_row *runs, size_t nr, struct sweep_tmp **out, size_t *ns,
		 size_t *run_sweep)
{
	struct sweep_tmp *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < nr; i++) {
		const struct run_row *r = &runs[i];
		size_t j = n;

		if (r->n) {
			for (j = 0; j < n; j++) {
				const struct run_row *f = v[j].first;

				if (f->n == r->n && f->seed == r->seed && same_str(f->trace, r->trace) &&
				    same_str(f->options, r->options) && same_str(f->version, r->version) &&
				    !(v[j].have[r->k / 64] & (1ULL << (r->k % 64))))
					break;
			}
		}
		if (j == n) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				struct sweep_tmp *nv = realloc(v, cap * sizeof(*nv));

				if (!nv)
					goto oom;
				v = nv;
			}
			memset(&v[n], 0, sizeof(v[n]));
			v[n].first = r;
			v[n].s.id = r->id;
			v[n].s.trace = dup_or_null(r->trace);
			v[n].s.trace_name = dup_or_null(r->trace_name);
			v[n].s.options = dup_or_null(r->options);
			v[n].s.seed = r->seed;
			v[n].s.shard_n = r->n;
			v[n].have = calloc(r->n ? (r->n + 63) / 64 : 1, sizeof(uint64_t));
			n++;
			if (!v[n - 1].have)
				goto oom;
		}
		sweep_take(&v[j], r);
		run_sweep[i] = j;
	}
	*out = v;
	*ns = n;
	return 0;
oom:
	for (size_t j = 0; j < n; j++) {
		free(v[j].have);
		free(v[j].s.trace);
		free(v[j].s.trace_name);
		free(v[j].s.options);
		free(v[j].s.started);
		free(v[j].s.repro);
		free(v[j].s.minimized);
	}
	free(v);
	return -ENOMEM;
}

/* temp.report_card: see report_sweeps_load. */
static int plan_cards(sqlite3 *db, const struct report_sweeps *sw)
{
	sqlite3_stmt *live, *bad, *ins;
	long long rank = 0, full = 0;
	int rc;

	rc = sqlite3_exec(db, "CREATE TEMP TABLE IF NOT EXISTS report_card(point INTEGER PRIMARY KEY, "
			  "sweep INTEGER, rank INTEGER, full INTEGER, live INTEGER); "
			  "DELETE FROM temp.report_card;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(db, "SELECT p.id FROM crash_points p JOIN temp.report_sweep w ON w.run = p.run "
			       "WHERE w.sweep = ?1 AND p.kind = 'replay' AND EXISTS (SELECT 1 FROM judged_states s "
			       "WHERE s.point = p.id AND s.verdict <> 'ok') ORDER BY p.id LIMIT 1", -1, &live,
			       NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(db, "SELECT p.id FROM crash_points p JOIN temp.report_sweep w ON w.run = p.run "
			       "WHERE w.sweep = ?1 AND p.kind <> 'replay' AND EXISTS (SELECT 1 FROM judged_states s "
			       "WHERE s.point = p.id AND s.verdict <> 'ok') ORDER BY p.seq, p.id", -1, &bad,
			       NULL) != SQLITE_OK) {
		sqlite3_finalize(live);
		return -EIO;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO temp.report_card VALUES(?1, ?2, ?3, ?4, ?5)", -1, &ins,
			       NULL) != SQLITE_OK) {
		sqlite3_finalize(live);
		sqlite3_finalize(bad);
		return -EIO;
	}
	for (size_t i = 0; i < sw->n && rank < REPORT_MAX_CARDS; i++) {
		long long in_sweep = 0;

		for (int pass = 0; pass < 2; pass++) {
			sqlite3_stmt *q = pass ? bad : live;

			sqlite3_bind_int64(q, 1, sw->v[i].id);
			while (sqlite3_step(q) == SQLITE_ROW && rank < REPORT_MAX_CARDS) {
				bool is_full = pass == 0 ||
					       (in_sweep < REPORT_MAX_FAILURES_PER_RUN && full < REPORT_MAX_FAILURES);

				if (pass) {
					in_sweep++;
					full += is_full;
				}
				sqlite3_bind_int64(ins, 1, sqlite3_column_int64(q, 0));
				sqlite3_bind_int64(ins, 2, sw->v[i].id);
				sqlite3_bind_int64(ins, 3, rank++);
				sqlite3_bind_int(ins, 4, is_full);
				sqlite3_bind_int(ins, 5, pass == 0);
				sqlite3_step(ins);
				sqlite3_reset(ins);
			}
			sqlite3_reset(q);
		}
	}
	sqlite3_finalize(live);
	sqlite3_finalize(bad);
	sqlite3_finalize(ins);
	return 0;
}

int report_sweeps_load(sqlite3 *db, struct report_sweeps *out)
{
	struct run_row *runs;
	struct sweep_tmp *t = NULL;
	size_t nr, ns = 0, nt = 0, *run_sweep = NULL;
	sqlite3_stmt *ins;
	int r;

	memset(out, 0, sizeof(*out));
	r = load_runs(db, &runs, &nr);
	if (r)
		goto out;
	run_sweep = calloc(nr ? nr : 1, sizeof(*run_sweep));
	r = run_sweep ? group(runs, nr, &t, &ns, run_sweep) : -ENOMEM;
	if (r)
		goto out;
	nt = ns;
	if (sqlite3_exec(db, "CREATE TEMP TABLE IF NOT EXISTS report_sweep(run INTEGER PRIMARY KEY, "
			 "sweep INTEGER NOT NULL); DELETE FROM temp.report_sweep;", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO temp.report_sweep VALUES(?1, ?2)", -1, &ins,
			       NULL) != SQLITE_OK) {
		r = -EIO;
		goto out;
	}
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t i = 0; i < nr; i++) {
		sqlite3_bind_int64(ins, 1, runs[i].id);
		sqlite3_bind_int64(ins, 2, t[run_sweep[i]].s.id);
		sqlite3_step(ins);
		sqlite3_reset(ins);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_finalize(ins);
	out->v = calloc(ns ? ns : 1, sizeof(*out->v));
	if (!out->v) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t j = 0; j < ns; j++)
		out->v[j] = t[j].s;
	out->n = ns;
	out->nr_runs = nr;
	ns = 0; /* the strings are out's now */
	qsort(out->v, out->n, sizeof(*out->v), cmp_sweep);
	r = plan_cards(db, out);
out:
	for (size_t j = 0; j < ns; j++) {
		struct report_sweep s = t[j].s;

		free(s.trace);
		free(s.trace_name);
		free(s.options);
		free(s.started);
		free(s.repro);
		free(s.minimized);
	}
	for (size_t j = 0; j < nt; j++)
		free(t[j].have);
	free(t);
	free(run_sweep);
	free_runs(runs, nr);
	return r;
}

void report_sweeps_free(struct report_sweeps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].trace);
		free(s->v[i].trace_name);
		free(s->v[i].options);
		free(s->v[i].started);
		free(s->v[i].repro);
		free(s->v[i].minimized);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void report_sweep_figures(sqlite3 *db, long long sweep, struct report_figures *f)
{
	sqlite3_stmt *st;

	memset(f, 0, sizeof(*f));
	if (sqlite3_prepare_v2(db,
			       "SELECT p.states_total, p.torn_bits, p.states_checked, "
			       "(SELECT COUNT(*) FROM judged_states s WHERE s.point = p.id AND s.verdict <> 'ok'), "
			       "(SELECT MAX(cow_used) FROM judged_states s WHERE s.point = p.id), p.kind = 'replay' "
			       "FROM crash_points p JOIN temp.report_sweep w ON w.run = p.run WHERE w.sweep = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, sweep);
	while (sqlite3_step(st) == SQLITE_ROW) {
		long long bad = sqlite3_column_int64(st, 3);

		if (sqlite3_column_int(st, 5)) {
			f->live_failures = bad ? 1 : f->live_failures; /* every shard records it */
			continue;
		}
		f->points++;
		f->states_total = report_sat_add(f->states_total, (uint64_t)sqlite3_column_int64(st, 0));
		f->torn |= sqlite3_column_int64(st, 1) > 0;
		f->states_checked += sqlite3_column_int64(st, 2);
		f->failing_states += bad;
		f->failing_points += bad > 0;
		if (sqlite3_column_int64(st, 4) > f->max_cow)
			f->max_cow = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
}

void report_point_anchor(sqlite3 *db, long long point, char *buf, size_t len)
{
	sqlite3_stmt *st;
	bool card = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM temp.report_card WHERE point = ?1", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, point);
		card = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	snprintf(buf, len, "%s-%lld", card ? "fail" : "pt", point);
}
