/*
 * bench_sqlite.c - the state database's baseline: bare SQLite inserts of
 * the rows a crash explorer records (one run, its explored states, the
 * recovered exception table of each state), in WAL mode, with prepared
 * statements and one transaction per BATCH rows. The explorer's recorder
 * (statedb_*) is measured by bench_explore beside bare SQLite in its own
 * run, on the recorder's real schema. The database lives in /tmp and is
 * removed.
 *
 * Rows: runs(id, seed, trace, started), states(id, run_id, crash_point,
 * subset_hash, verdict, evidence), exceptions(state_id, old_chunk,
 * new_chunk): 20k states with 16 exceptions each. Median of 3 runs.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"

#define REPS 3
#define NR_STATES 20000
#define EX_PER_STATE 16
#define BATCH 1000

static void must(int rc, sqlite3 *db, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

static double run_once(const char *path, uint64_t *rows)
{
	sqlite3 *db;
	sqlite3_stmt *ins_state, *ins_ex;
	uint64_t x = 99;
	double t0;

	unlink(path);
	must(sqlite3_open(path, &db), db, "open");
	must(sqlite3_exec(db,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			  "CREATE TABLE runs(id INTEGER PRIMARY KEY, seed INTEGER, trace TEXT, started TEXT);"
			  "CREATE TABLE states(id INTEGER PRIMARY KEY, run_id INTEGER, crash_point TEXT,"
			  " subset_hash INTEGER, verdict INTEGER, evidence TEXT);"
			  "CREATE TABLE exceptions(state_id INTEGER, old_chunk INTEGER, new_chunk INTEGER);"
			  "INSERT INTO runs VALUES(1, 42, 'traces/seed-recipe.yaml', '2024-01-01');",
			  NULL, NULL, NULL), db, "schema");
	must(sqlite3_prepare_v2(db, "INSERT INTO states VALUES(?,?,?,?,?,?)", -1,
				&ins_state, NULL), db, "prepare");
	must(sqlite3_prepare_v2(db, "INSERT INTO exceptions VALUES(?,?,?)", -1, &ins_ex,
				NULL), db, "prepare");
	*rows = 0;
	t0 = bench_now_s();
	for (int s = 0; s < NR_STATES; s++) {
		if (s % BATCH == 0)
			must(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db, "begin");
		sqlite3_bind_int64(ins_state, 1, s + 1);
		sqlite3_bind_int64(ins_state, 2, 1);
		sqlite3_bind_text(ins_state, 3, "after-commit-3", -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins_state, 4, (sqlite3_int64)bench_xorshift(&x));
		sqlite3_bind_int(ins_state, 5, 0);
		sqlite3_bind_null(ins_state, 6);
		must(sqlite3_step(ins_state), db, "insert state");
		sqlite3_reset(ins_state);
		(*rows)++;
		for (int e = 0; e < EX_PER_STATE; e++) {
			sqlite3_bind_int64(ins_ex, 1, s + 1);
			sqlite3_bind_int64(ins_ex, 2, (sqlite3_int64)(bench_xorshift(&x) % 1000000));
			sqlite3_bind_int64(ins_ex, 3, e + 2);
			must(sqlite3_step(ins_ex), db, "insert exception");
			sqlite3_reset(ins_ex);
			(*rows)++;
		}
		if (s % BATCH == BATCH - 1 || s == NR_STATES - 1)
			must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
	}
	t0 = bench_now_s() - t0;
	sqlite3_finalize(ins_state);
	sqlite3_finalize(ins_ex);
	sqlite3_close(db);
	return t0;
}

int main(void)
{
	char path[64], wal[80], shm[80];
	double t[REPS];
	uint64_t rows = 0;

	snprintf(path, sizeof(path), "/tmp/snapsim-bench-%ld.db", (long)getpid());
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	for (int r = 0; r < REPS; r++)
		t[r] = run_once(path, &rows);
	unlink(path);
	unlink(wal);
	unlink(shm);
	double rate = (double)rows / bench_median(t, REPS);
	double states = (double)NR_STATES / bench_median(t, REPS);

	printf("bare SQLite (WAL, synchronous=NORMAL, %d states/transaction, %d exception "
	       "rows each): %.3g rows/s, %.3g states/s with their exceptions (median of %d)\n",
	       BATCH, EX_PER_STATE, rate, states, REPS);
	bench_row("state database", "bare SQLite rows (runs/states/exceptions), WAL, batched",
		  rate, "rows/s", rate, "itself (bench_explore: the recorder)", 1.0,
		  "", "");
	bench_row("state database", "bare SQLite states + 16 exception rows each",
		  states, "states/s", states, "itself (bench_explore: the recorder)", 1.0, "", "");
	return 0;
}
