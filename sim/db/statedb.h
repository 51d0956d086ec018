/*
 * statedb.h - the crash explorer's state database (SQLite).
 *
 * One file holds runs, the crash points of each run, the durable states
 * checked at each point, the exception table recovered from each state's
 * COW images, the evidence of every failure, and the coverage goals each
 * run reached. The schema is documented in reports/README.md; reports are
 * generated from it alone.
 *
 * Writes are batched: statedb_begin() / statedb_commit() bracket a
 * transaction (the explorer commits once per crash point), statements are
 * prepared once per handle, and the journal is WAL. Ids are SQLite rowids,
 * returned as int64_t (> 0); a negative return is a negative errno.
 *
 * Nothing here reads a clock: the caller supplies the run's start time
 * as text.
 */
#ifndef SNAPSIM_STATEDB_H
#define SNAPSIM_STATEDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The schema this code writes and reads; meta.schema_version holds it
 * (reports/README.md lists the changes). */
#define STATEDB_SCHEMA_VERSION 4

struct statedb;
struct sqlite3;

struct statedb_run {
	const char *trace;      /* path as given */
	const char *trace_name; /* the trace's name: */
	uint64_t seed;
	const char *options;    /* the effective options, as a command line */
	const char *version;    /* snapsim version */
	const char *started;    /* ISO 8601, from the caller */
};

struct statedb_point {
	int64_t run;
	uint64_t seq;           /* crash point number within the run (0, 1, ...) */
	const char *kind;       /* completion | flush | fua | marked | end */
	unsigned trace_line;    /* the step being run; 0 when unknown */
	const char *label;      /* marker name or event text; may be NULL */
	uint64_t time_ns;       /* virtual time */
	uint64_t states_total;  /* states existing with whole writes (saturating; stored clamped to INT64_MAX) */
	uint64_t torn_bits;     /* torn variants: up to 2^torn_bits more per such state (0: none) */
};

struct statedb_state {
	int64_t point;
	uint64_t hash;          /* combined durable-state hash */
	const char *survivors;  /* "disk:id,id~mask;disk:..." */
	const char *verdict;    /* ok | violation | crash | hang */
	int64_t cow_used;       /* recovered exceptions, all snapshots; -1 unknown */
	const char *message;    /* first problem; may be NULL */
	const char *repro;      /* one-line command; may be NULL */
};

struct statedb_evidence {
	int64_t state;
	const char *device;
	uint64_t sector;
	uint32_t nsectors;
	const char *expected;
	const char *found;
	const char *message;
};

/* A write not yet durable at a crash point (sim_disk_pending), by disk and write id. */
struct statedb_write {
	int64_t point;
	const char *disk;
	uint64_t write_id;      /* the disk's write number, as in survivor text */
	unsigned trace_line;    /* the trace step running when it was submitted; 0: before any */
	uint64_t sector;
	uint32_t nsectors;
	const char *flags;      /* "cached" or "in-flight", then PREFLUSH, FUA, DISCARD */
	uint32_t units;         /* atomic units it touches (bits of a torn write's mask) */
	uint32_t unit_sectors;  /* the disk's atomic unit */
};

/* An application checker's run on a state (explore --check-cmd; checks table). */
struct statedb_check {
	int64_t state;
	const char *command;    /* as given, with its {NAME} placeholders */
	const char *verdict;    /* ok | failed | timeout | error | skipped */
	int exit_status;        /* -1: none (killed, not run) */
	int signal;             /* 0: none */
	const char *output;     /* the first bytes of stdout + stderr; may be NULL */
	size_t output_len;
	uint64_t output_bytes;  /* all of it */
	bool has_hash;
	uint64_t content_hash;  /* of the named devices' contents */
	bool reused;            /* the verdict of an earlier state with the same contents */
	const char *message;    /* one line: what failed; may be NULL */
	const char *repro;      /* one-line command; may be NULL */
};

/*
 * Open (creating if needed) the database at path, with the schema, WAL
 * and prepared statements. Returns 0 and *out, or a negative errno with
 * err (may be NULL) holding the message: -EINVAL when the file is not a
 * state database or holds another schema version (nothing is written to
 * it then), another errno when it cannot be opened or created.
 */
int statedb_open(const char *path, struct statedb **out, char *err, size_t err_len);

/*
 * Open an existing state database read-only for a reader (reports):
 * -ENOENT (or the errno of access()) when the file is missing, -EINVAL
 * when it is not a state database of STATEDB_SCHEMA_VERSION. The caller
 * closes *out with sqlite3_close().
 */
int statedb_open_readonly(const char *path, struct sqlite3 **out, char *err, size_t err_len);

/*
 * The check every opener runs: 0 when h is a state database of this
 * schema version, 1 when it is empty (no tables: a new file), -EINVAL
 * (err filled, naming path) when it is something else.
 */
int statedb_check_schema(struct sqlite3 *h, const char *path, char *err, size_t err_len);
/* Finalize statements and close. A transaction still open is committed. */
void statedb_close(struct statedb *db);

int statedb_begin(struct statedb *db);
int statedb_commit(struct statedb *db);

int64_t statedb_run_add(struct statedb *db, const struct statedb_run *r);
/* Final figures of a run. */
int statedb_run_finish(struct statedb *db, int64_t run, const char *verdict,
		       uint64_t points, uint64_t states_checked,
		       const char *repro, const char *minimized);

/* Where the minimized trace of a failing run was written. */
int statedb_run_set_minimized(struct statedb *db, int64_t run, const char *path);

int64_t statedb_point_add(struct statedb *db, const struct statedb_point *p);
/* After the point's states ran: how many were checked, and the verdict. */
int statedb_point_finish(struct statedb *db, int64_t point,
			 uint64_t states_checked, const char *verdict);

int64_t statedb_state_add(struct statedb *db, const struct statedb_state *s);
/* note: NULL when the record is as expected, else why it is not. */
int statedb_exception_add(struct statedb *db, int64_t state, const char *device,
			  uint64_t old_chunk, uint64_t new_chunk, const char *note);
int64_t statedb_evidence_add(struct statedb *db, const struct statedb_evidence *e);
int statedb_coverage_set(struct statedb *db, int64_t run, const char *goal,
			 bool reached, int64_t point_seq, const char *detail);
int statedb_write_add(struct statedb *db, const struct statedb_write *w);
int statedb_check_add(struct statedb *db, const struct statedb_check *c);

/* The last SQLite error message of the handle. */
const char *statedb_errmsg(const struct statedb *db);
/* The underlying handle (reports read with plain SQL). */
struct sqlite3 *statedb_handle(struct statedb *db);

/*
 * Merge the databases in[0..n-1] into out (created if needed; statedb_merge.c):
 * every row is copied with its ids remapped past out's, so shards of a
 * sweep and runs from many machines combine. Every input (and out, when it
 * exists) is checked first; the result is built in a temporary file beside
 * out and renamed over it at the end, so out is either the whole merge or
 * untouched. Returns 0 or a negative errno with err filled: -EINVAL or
 * -ENOENT for an input that is missing or not a state database of this
 * version, another errno when the output cannot be written.
 */
int statedb_merge(const char *out, const char *const *in, size_t n,
		  char *err, size_t err_len);
/* The same, calling on_input(ctx, k) after each of the k inputs merged so far (progress). */
int statedb_merge_each(const char *out, const char *const *in, size_t n,
		       void (*on_input)(void *ctx, size_t k), void *ctx, char *err,
		       size_t err_len);

#endif
