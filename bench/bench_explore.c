/*
 * bench_explore.c - the crash explorer's own speed: crash states checked
 * per second by explore_trace_mem (the code path `snapsim explore` runs),
 * on three workloads:
 *   (a) a 1 MiB origin with one persistent snapshot (P 8) taking rounds
 *       of parallel origin writes and flushes (a generated trace);
 *   (b) the same workload on a 64 MiB origin;
 *   (c) traces/three-snapshots.yaml (2 MiB origin, three snapshots).
 * Default explorer options (completion points, subsets all, budget 64).
 *
 * Baselines, measured in the same run:
 *   - the fork+hash floor: the same trace replayed with a crash hook that,
 *     at every crash point, forks every disk with a seeded subset of its
 *     pending writes surviving, hashes the durable images and drops them;
 *     no check at all. Checking a state can never cost less than this.
 * Two checks: the explorer's default (passing states checked in full and
 * recorded as references, carried from point to point, the others judged
 * by the sectors where their images differ) and --full-check (every sector of every device
 * re-read after the restart and after more I/O, against the model), each
 * beside the floor and beside each other.
 * Also: the state database's insert rate (statedb_*, the explorer's
 * recorder) beside bare SQLite inserts of the same rows into the same
 * schema, and the explorer's peak RSS at two state counts (a child
 * process per run, ru_maxrss from wait4).
 *
 * Usage: bench_explore [--quick] [TRACE_DIR]   (TRACE_DIR: default "traces")
 *        bench_explore --emit DIR   (write traces (a) and (b) as DIR/bench-explore-{a,b}.yaml)
 * Targets (for the note): >= 100,000 states/s on (a), >= 1,000 on (b),
 * >= 10,000 on (c), per core; the check within 3x of the floor on (a), (b).
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

#include "crash_subset.h"
#include "explore.h"
#include "hash.h"
#include "prng.h"
#include "replay.h"
#include "sim_disk.h"
#include "statedb.h"
#include "trace.h"

#define BUDGET 64

/* ---- workloads ---------------------------------------------------- */

struct workload {
	const char *label;
	char *buf;
	size_t len;
};

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < *cap - *len)
			break;
		*cap *= 2;
		*buf = realloc(*buf, *cap);
		if (!*buf) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	*len += (size_t)n;
}

/*
 * An origin of origin_mib MiB (snapshot-origin over linear) with one
 * persistent snapshot, chunk 4 KiB, then `rounds` rounds of three
 * parallel 4 KiB origin writes to fresh chunks and a flush.
 */
static void gen_trace(struct workload *wl, unsigned origin_mib, unsigned rounds)
{
	size_t cap = 4096, len = 0;
	char *b = bench_alloc(cap);
	uint64_t sectors = (uint64_t)origin_mib << 11;
	uint64_t chunks = sectors / 8, x = 12345;

	b[0] = 0;
	append(&b, &len, &cap,
	       "version: 1\nname: bench-%umib\nseed: 5\ndisks:\n"
	       "  - {name: data, size: %uM}\n  - {name: cow, size: 4M}\nsteps:\n"
	       "  - dm: create X_org --table \"0 %" PRIu64 " linear /dev/data 0\"\n"
	       "  - dm: create X --table \"0 %" PRIu64 " snapshot-origin /dev/mapper/X_org\"\n"
	       "  - dm: suspend X\n"
	       "  - dm: create S --table \"0 %" PRIu64 " snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	       "  - dm: resume X\n",
	       origin_mib, origin_mib, sectors, sectors, sectors);
	for (unsigned r = 0; r < rounds; r++) {
		append(&b, &len, &cap, "  - parallel:\n");
		for (int k = 0; k < 3; k++)
			append(&b, &len, &cap,
			       "      - write: {dev: X, offset: %" PRIu64 "s, length: 8s, data: seed-%u}\n",
			       (bench_xorshift(&x) % chunks) * 8, 2 + r * 3 + (unsigned)k);
		append(&b, &len, &cap, "  - flush: X\n");
	}
	append(&b, &len, &cap, "  - crash: end\n");
	wl->buf = b;
	wl->len = len;
}

static int load_file(struct workload *wl, const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	wl->buf = bench_alloc((size_t)n + 1);
	wl->len = fread(wl->buf, 1, (size_t)n, f);
	wl->buf[wl->len] = 0;
	fclose(f);
	return 0;
}

/* ---- the explorer --------------------------------------------------- */

struct run_figures {
	uint64_t states;    /* checked (explorer) or forked (floor) */
	uint64_t judged;    /* of states: judged against a reference */
	uint64_t recorded, carried; /* references recorded; carried to a later point */
	uint64_t points;
	double seconds;
	int verdict;
};

static struct run_figures run_explore(const struct workload *wl, struct statedb *db, bool full)
{
	struct explore_opts o = {
		.mode = EXPLORE_MODE_COMPLETION, .subsets = SIM_SUBSET_ALL, .budget = BUDGET,
		.only_point = -1, .keep_going = true, .db = db, .full_check = full,
		.options_text = "bench",
		.version = "bench", .started = "bench", .program = "snapsim",
	};
	struct explore_result *res = bench_alloc(sizeof(*res));
	struct run_figures f = { 0 };
	double t0 = bench_now_s();

	f.verdict = explore_trace_mem(wl->label, wl->buf, wl->len, &o, res);
	f.seconds = bench_now_s() - t0;
	f.states = res->states_checked;
	f.judged = res->states_judged;
	f.recorded = res->refs_recorded;
	f.carried = res->refs_carried;
	f.points = res->points_explored;
	free(res);
	return f;
}

/* ---- the floor: fork + hash + drop at every crash point -------------- */

struct floor_ctx {
	uint64_t seed, states, points, acc;
};

static int floor_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct floor_ctx *fc = ctx;
	unsigned nd = replay_world_nr_disks(w);
	struct sim_disk_pending *pend[EXPLORE_MAX_DISKS];
	struct sim_crash_write *sv[EXPLORE_MAX_DISKS];
	bool *surv[EXPLORE_MAX_DISKS];
	size_t n[EXPLORE_MAX_DISKS];
	struct sim_subset_iter it[EXPLORE_MAX_DISKS];
	struct sim_prng p = sim_prng_substream(fc->seed, SIM_STREAM_CRASH, cp->seq + 1);
	uint64_t combos = 1;

	fc->points++;
	for (unsigned d = 0; d < nd; d++) {
		struct sim_disk *disk = replay_world_disk(w, d);
		size_t c = sim_disk_pending_count(disk);

		pend[d] = bench_alloc((c ? c : 1) * sizeof(*pend[d]));
		sv[d] = bench_alloc((c ? c : 1) * sizeof(*sv[d]));
		surv[d] = bench_alloc((c ? c : 1) * sizeof(bool));
		n[d] = sim_disk_pending_list(disk, pend[d], c);
		combos = n[d] >= 63 ? UINT64_MAX
				    : (combos > UINT64_MAX >> n[d] ? UINT64_MAX : combos << n[d]);
		sim_subset_init(&it[d], SIM_SUBSET_RANDOM, n[d], UINT64_MAX, &p);
	}
	/* As many states as the explorer would take at most: the budget. */
	for (uint64_t s = 0; s < (combos < BUDGET ? combos : BUDGET); s++) {
		uint64_t h = 0;
		struct sim_disk *f;

		for (unsigned d = 0; d < nd; d++) {
			size_t m;

			if (!sim_subset_next(&it[d], surv[d]))
				memset(surv[d], 0, n[d] * sizeof(bool));
			m = sim_subset_survivors(pend[d], n[d], surv[d], sv[d]);
			if (sim_disk_fork(replay_world_disk(w, d), sv[d], m, NULL, &f)) {
				fprintf(stderr, "fork failed\n");
				exit(1);
			}
			h = sim_hash_combine(h, sim_disk_durable_hash(f));
			sim_disk_destroy(f);
		}
		fc->acc ^= h;
		fc->states++;
	}
	for (unsigned d = 0; d < nd; d++) {
		free(pend[d]);
		free(sv[d]);
		free(surv[d]);
	}
	return 0;
}

static struct run_figures run_floor(const struct workload *wl)
{
	struct floor_ctx fc = { .seed = 1 };
	struct replay_opts ro = {
		.crash_modes = REPLAY_CRASH_DISK_IO | REPLAY_CRASH_MARKER | REPLAY_CRASH_END,
		.crash_hook = floor_hook, .crash_ctx = &fc, .quiet = true,
	};
	struct replay_result rr;
	struct trace_error err;
	struct run_figures f = { 0 };
	double t0 = bench_now_s();

	trace_error_clear(&err);
	f.verdict = (int)replay_run_mem(wl->label, wl->buf, wl->len, &ro, &rr, &err);
	f.seconds = bench_now_s() - t0;
	f.states = fc.states;
	f.points = fc.points;
	bench_sink += fc.acc;
	return f;
}

/* Best of reps (the shared machine only ever slows a run down). */
static struct run_figures explore_best(const struct workload *wl, int reps, bool full)
{
	struct run_figures b = { 0 };

	for (int r = 0; r < reps; r++) {
		struct run_figures f = run_explore(wl, NULL, full);

		if (!r || f.seconds < b.seconds)
			b = f;
	}
	return b;
}

static struct run_figures floor_best(const struct workload *wl, int reps)
{
	struct run_figures b = { 0 };

	for (int r = 0; r < reps; r++) {
		struct run_figures f = run_floor(wl);

		if (!r || f.seconds < b.seconds)
			b = f;
	}
	return b;
}

static double rate(const struct run_figures *f)
{
	return f->seconds > 0 ? (double)f->states / f->seconds : 0;
}

static void bench_workload(const struct workload *wl, double target, int reps)
{
	struct run_figures fl = floor_best(wl, reps);
	struct run_figures fast = explore_best(wl, reps, false);
	struct run_figures full = explore_best(wl, reps, true);
	char what[160], tgt[64];

	printf("%s: floor %" PRIu64 " states at %" PRIu64 " points in %.3f s = %.0f/s; "
	       "explorer %" PRIu64 " states (%" PRIu64 " judged; %" PRIu64 " references recorded, %" PRIu64 " carried) at %" PRIu64 " points in %.3f s = %.0f/s (verdict %d); "
	       "--full-check %" PRIu64 " states in %.3f s = %.0f/s (verdict %d)\n",
	       wl->label, fl.states, fl.points, fl.seconds, rate(&fl), fast.states, fast.judged,
	       fast.recorded, fast.carried, fast.points, fast.seconds, rate(&fast), fast.verdict, full.states, full.seconds,
	       rate(&full), full.verdict);
	snprintf(what, sizeof(what), "%s: explorer (default check)", wl->label);
	snprintf(tgt, sizeof(tgt), ">= %.0f states/s; >= 1/3 of the floor", target);
	bench_row("explorer", what, rate(&fast), "states/s", rate(&fl), "fork+hash floor states/s",
		  rate(&fast) / rate(&fl), tgt,
		  bench_verdict(rate(&fast) >= target && rate(&fast) * 3 >= rate(&fl)));
	snprintf(what, sizeof(what), "%s: explorer --full-check", wl->label);
	bench_row("explorer", what, rate(&full), "states/s", rate(&fl), "fork+hash floor states/s",
		  rate(&full) / rate(&fl), "", "");
	snprintf(what, sizeof(what), "%s: default check over --full-check", wl->label);
	bench_row("explorer", what, rate(&fast), "states/s", rate(&full), "--full-check states/s",
		  rate(&fast) / rate(&full), "", "");
}

/* ---- the recorder ------------------------------------------------------ */

#define REC_STATES 20000
#define REC_EXC 16
#define REC_BATCH 1000

static void must(int rc, sqlite3 *h, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(h));
		exit(1);
	}
}

static struct statedb *fresh_db(const char *path, int64_t *point)
{
	char wal[96], shm[96], err[256];
	struct statedb *db;
	struct statedb_run run = { .trace = "bench", .trace_name = "bench", .seed = 1,
				   .options = "bench", .version = "bench", .started = "bench" };
	struct statedb_point p = { .seq = 0, .kind = "completion", .states_total = 1 };

	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
	if (statedb_open(path, &db, err, sizeof(err))) {
		fprintf(stderr, "statedb_open: %s\n", err);
		exit(1);
	}
	p.run = statedb_run_add(db, &run);
	*point = statedb_point_add(db, &p);
	return db;
}

/* The explorer's rows (a passing state and its exceptions) through statedb_*. */
static double rec_statedb(const char *path)
{
	int64_t point;
	struct statedb *db = fresh_db(path, &point);
	uint64_t x = 7;
	double t0 = bench_now_s();

	for (int s = 0; s < REC_STATES; s++) {
		struct statedb_state st = { .point = point, .hash = bench_xorshift(&x),
					    .survivors = "data:3,4;cow:7", .verdict = "ok",
					    .cow_used = REC_EXC };
		int64_t id;

		if (s % REC_BATCH == 0)
			statedb_begin(db);
		id = statedb_state_add(db, &st);
		for (int e = 0; e < REC_EXC; e++)
			statedb_exception_add(db, id, "S", bench_xorshift(&x) % 1000000,
					      (uint64_t)e + 2, NULL);
		if (s % REC_BATCH == REC_BATCH - 1)
			statedb_commit(db);
	}
	statedb_commit(db);
	t0 = bench_now_s() - t0;
	statedb_close(db);
	return t0;
}

/* The same rows with bare prepared statements on the same schema. */
static double rec_bare(const char *path)
{
	int64_t point;
	struct statedb *db = fresh_db(path, &point);
	sqlite3 *h = statedb_handle(db);
	sqlite3_stmt *is, *ie;
	uint64_t x = 7;
	char hash[24];
	double t0;

	must(sqlite3_prepare_v2(h, "INSERT INTO states(point, hash, survivors, verdict, cow_used, "
			       "message, repro) VALUES(?1, ?2, ?3, ?4, ?5, NULL, NULL)", -1, &is, NULL),
	     h, "prepare");
	must(sqlite3_prepare_v2(h, "INSERT INTO exceptions(state, device, old_chunk, new_chunk, note) "
			       "VALUES(?1, ?2, ?3, ?4, NULL)", -1, &ie, NULL), h, "prepare");
	t0 = bench_now_s();
	for (int s = 0; s < REC_STATES; s++) {
		int64_t id;

		if (s % REC_BATCH == 0)
			must(sqlite3_exec(h, "BEGIN", NULL, NULL, NULL), h, "begin");
		snprintf(hash, sizeof(hash), "%016" PRIx64, bench_xorshift(&x));
		sqlite3_bind_int64(is, 1, point);
		sqlite3_bind_text(is, 2, hash, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(is, 3, "data:3,4;cow:7", -1, SQLITE_STATIC);
		sqlite3_bind_text(is, 4, "ok", -1, SQLITE_STATIC);
		sqlite3_bind_int64(is, 5, REC_EXC);
		must(sqlite3_step(is), h, "insert state");
		sqlite3_reset(is);
		id = sqlite3_last_insert_rowid(h);
		for (int e = 0; e < REC_EXC; e++) {
			sqlite3_bind_int64(ie, 1, id);
			sqlite3_bind_text(ie, 2, "S", -1, SQLITE_STATIC);
			sqlite3_bind_int64(ie, 3, (sqlite3_int64)(bench_xorshift(&x) % 1000000));
			sqlite3_bind_int64(ie, 4, e + 2);
			must(sqlite3_step(ie), h, "insert exception");
			sqlite3_reset(ie);
		}
		if (s % REC_BATCH == REC_BATCH - 1)
			must(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), h, "commit");
	}
	t0 = bench_now_s() - t0;
	sqlite3_finalize(is);
	sqlite3_finalize(ie);
	statedb_close(db);
	return t0;
}

static void bench_recorder(int reps)
{
	char path[64], wal[96], shm[96];
	double ts[5], tb[5];

	snprintf(path, sizeof(path), "/tmp/snapsim-bench-explore-%ld.db", (long)getpid());
	for (int r = 0; r < reps; r++) {
		tb[r] = rec_bare(path);
		ts[r] = rec_statedb(path);
	}
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
	double rs = REC_STATES / bench_median(ts, reps), rb = REC_STATES / bench_median(tb, reps);

	printf("recorder: statedb %.0f states/s (+%d exception rows each), bare SQLite %.0f/s\n",
	       rs, REC_EXC, rb);
	bench_row("state database", "recorder (statedb_state_add + 16 statedb_exception_add)", rs,
		  "states/s", rb, "bare SQLite, same rows and schema", rs / rb, ">= 0.5x bare",
		  bench_verdict(rs >= 0.5 * rb));
}

/* The explorer on wl with and without a state database (what recording costs it). */
static void bench_explore_db(const struct workload *wl, int reps)
{
	char path[64], wal[96], shm[96];
	struct run_figures with = { 0 }, without = explore_best(wl, reps, false);

	snprintf(path, sizeof(path), "/tmp/snapsim-bench-explore-db-%ld.db", (long)getpid());
	for (int r = 0; r < reps; r++) {
		int64_t point;
		struct statedb *db = fresh_db(path, &point);
		struct run_figures f = run_explore(wl, db, false);

		statedb_close(db);
		if (!r || f.seconds < with.seconds)
			with = f;
	}
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
	printf("%s: explorer with a state database %.0f states/s, without %.0f states/s\n",
	       wl->label, rate(&with), rate(&without));
	bench_row("state database", "(a) explorer recording every state", rate(&with), "states/s",
		  rate(&without), "the same run without a database", rate(&with) / rate(&without),
		  "", "");
}

/* ---- peak RSS at two state counts -------------------------------------- */

static long child_rss_kib(const struct workload *wl, uint64_t *states)
{
	int fds[2];
	pid_t pid;
	int status;
	struct rusage ru;

	if (pipe(fds))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct run_figures f = run_explore(wl, NULL, false);

		if (write(fds[1], &f.states, sizeof(f.states)) != sizeof(f.states))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], states, sizeof(*states)) != sizeof(*states))
		*states = 0;
	close(fds[0]);
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return -1;
	return ru.ru_maxrss;
}

static void bench_rss(unsigned small, unsigned large)
{
	struct workload a = { .label = "rss-small" }, b = { .label = "rss-large" };
	uint64_t sa = 0, sb = 0;
	long ra, rb;

	gen_trace(&a, 1, small);
	gen_trace(&b, 1, large);
	ra = child_rss_kib(&a, &sa);
	rb = child_rss_kib(&b, &sb);
	printf("peak RSS: %" PRIu64 " states %ld KiB, %" PRIu64 " states %ld KiB\n", sa, ra, sb, rb);
	{
		char what[128];

		snprintf(what, sizeof(what), "(a) peak RSS at %" PRIu64 " states (baseline: at %" PRIu64 ")",
			 sb, sa);
		bench_row("explorer", what, (double)rb, "KiB (lower is better)", (double)ra,
			  "KiB at fewer states", (double)ra / (double)rb, "flat in states",
			  bench_verdict(rb <= ra + ra / 5));
	}
	free(a.buf);
	free(b.buf);
}

int main(int argc, char **argv)
{
	int quick = argc > 1 && !strcmp(argv[1], "--quick");
	const char *dir = argc > 1 + quick ? argv[1 + quick] : "traces";
	int reps = quick ? 1 : 3;
	struct workload a = { .label = "(a) 1 MiB origin, 1 snapshot" };
	struct workload b = { .label = "(b) 64 MiB origin, 1 snapshot" };
	struct workload c = { .label = "(c) three-snapshots.yaml" };
	char path[512];

	gen_trace(&a, 1, quick ? 4 : 16);
	gen_trace(&b, 64, quick ? 1 : 2);
	if (argc > 2 && !strcmp(argv[1], "--emit")) {
		/* Write the generated traces (a) and (b) for `snapsim explore` and perf. */
		const struct workload *wl[2] = { &a, &b };

		for (int i = 0; i < 2; i++) {
			FILE *f;

			snprintf(path, sizeof(path), "%s/bench-explore-%c.yaml", argv[2], 'a' + i);
			f = fopen(path, "wb");
			if (!f || fwrite(wl[i]->buf, 1, wl[i]->len, f) != wl[i]->len || fclose(f)) {
				fprintf(stderr, "%s: cannot write\n", path);
				return 1;
			}
			printf("wrote %s\n", path);
		}
		return 0;
	}
	snprintf(path, sizeof(path), "%s/three-snapshots.yaml", dir);
	if (load_file(&c, path)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	/* First, while this process is small: a forked child's peak RSS
	 * counts the pages it shares with its parent. */
	bench_rss(quick ? 4 : 8, quick ? 16 : 32);
	bench_workload(&a, 100000, reps);
	bench_workload(&b, 1000, quick ? 1 : 2);
	bench_workload(&c, 10000, reps);
	bench_recorder(quick ? 1 : 3);
	bench_explore_db(&a, reps);
	free(a.buf);
	free(b.buf);
	free(c.buf);
	return 0;
}
