/*
 * explore.h - the crash-consistency explorer.
 *
 * It replays a trace (replay.h) and, at each crash point the replayer
 * offers, enumerates the durable states the disks may be left in after a
 * power cut, restarts the dm stack on each and checks it:
 *   (1) per disk, the non-durable writes (sim_disk_pending_list) are
 *       chosen by a crash_subset.h mode: exhaustive when the space fits
 *       the budget, else seeded random samples; prefixes; bounded
 *       reordering. A disk whose atomic unit is smaller than a write also
 *       gets torn variants (random unit masks on the surviving writes);
 *   (2) disks combine by cartesian product when it fits the budget, else
 *       by seeded random sampling;
 *   (3) each combined state is hashed (sim_disk_durable_hash of every
 *       fork) and checked once per crash point;
 *   (4) the check (explore_check_state): decode every persistent COW
 *       straight from the crashed image (cow_format.h) and check the
 *       store's invariants (no two records share a COW chunk or an origin
 *       chunk, every chunk in range and not metadata); restart the world
 *       (replay_world_restart: tables rebuilt, model put through
 *       model_crash); every table must activate; the free-chunk pointer
 *       (status) must lie beyond every recorded chunk; every device must
 *       read what the model allows; then write every chunk of the origin
 *       and check again, so a recovered store that corrupts later writes
 *       is caught.
 * Nothing here flushes: the restarted world only sees what the fork holds.
 *
 * Results go to a struct explore_result and, when given, a state database
 * (statedb.h). All randomness comes from SIM_STREAM_CRASH streams of the
 * run seed; nothing reads a clock.
 */
#ifndef SNAPSIM_EXPLORE_H
#define SNAPSIM_EXPLORE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crash_subset.h"
#include "sim_disk.h"

struct explore_result;
struct replay_world;
struct statedb;

enum explore_mode {
	EXPLORE_MODE_COMPLETION = 0, /* after every write/flush completion at a disk */
	EXPLORE_MODE_FLUSH,          /* after every FLUSH / FUA / PREFLUSH completion */
	EXPLORE_MODE_MARKED,         /* at the trace's `crash:` steps */
};

/* Verdicts, worst last (the CLI maps them to its exit codes). */
enum explore_verdict {
	EXPLORE_OK = 0,
	EXPLORE_VIOLATION = 1,
	EXPLORE_BAD_TRACE = 2,
	EXPLORE_TOOL_CRASH = 3,      /* the tool failed (out of memory, a world that cannot be
					built, a checker that could not be run) */
	EXPLORE_HANG = 4,            /* the event budget ran out */
	EXPLORE_NO_POINT = 5,        /* only_point names a crash point the trace does not have */
};

/* Coverage goals the report lists (reached or not). */
enum explore_goal {
	EXPLORE_GOAL_MID_MERGE = 0,  /* a crash landed while a merge was running */
	EXPLORE_GOAL_PARTIAL_AREA,   /* while a metadata area was partly full and being written */
	EXPLORE_GOAL_COW_FULL,       /* with the COW full (overflow or invalidated for space) */
	EXPLORE_GOAL_OUT_OF_ORDER,   /* with copies completed out of allocation order */
	EXPLORE_GOAL_COW_PARTIAL,    /* a COW not a multiple of its chunk size filled to its last whole chunk */
	EXPLORE_GOAL_TWO_READERS,    /* two tracked reads of one chunk in flight while an exception waits for reads */
	EXPLORE_GOAL_INVALID_UNCOMMITTED, /* a recovered store invalidated before its first commit */
	EXPLORE_GOAL_HUGE_IO,        /* a chunk of 2^17..2^21 sectors written through */
	EXPLORE_GOAL_ALIASES,        /* one device named under two spellings by snapshot tables */
	EXPLORE_GOAL_CTR_ERROR,      /* after a table a constructor refused */
	EXPLORE_GOAL_RELOAD_FULL_AREA, /* a snapshot (re)activated on a store whose last area is full */
	EXPLORE_GOAL_RACE,           /* an exception's origin writes held by snapshot reads in flight */
	EXPLORE_GOAL_MERGE_OWN,      /* a merge running over chunks the snapshot itself wrote */
	EXPLORE_GOAL_COUNT,
};

/*
 * An application checker (explore_opts.check, `explore --check-cmd`): run
 * on a world restarted from a state's crashed disks, apart from the
 * model's check (its own restart, so nothing it does can change the
 * model's verdict), after the model's check of that state.
 */
enum explore_check_verdict {
	EXPLORE_CHECK_OK = 0,        /* exit status 0 */
	EXPLORE_CHECK_FAILED,        /* a non-zero exit status or a signal: a violation */
	EXPLORE_CHECK_TIMEOUT,       /* killed at its time limit: a violation of its own kind */
	EXPLORE_CHECK_ERROR,         /* it could not be run (a device not exported, fork failed) */
	EXPLORE_CHECK_SKIPPED,       /* a named device does not exist in this state */
};

#define EXPLORE_CHECK_OUTPUT_MAX 8192

struct explore_check_result {
	enum explore_check_verdict verdict;
	int exit_status;             /* -1: none */
	int signal;                  /* 0: none */
	char output[EXPLORE_CHECK_OUTPUT_MAX]; /* the first bytes of stdout + stderr */
	size_t output_len;
	uint64_t output_bytes;       /* all the command wrote */
	bool has_hash;
	uint64_t content_hash;       /* of the named devices' contents */
	bool reused;                 /* an earlier state's verdict, same contents */
	char message[512];           /* one line */
};

/* Run the checker on restarted world w (the caller destroys w); fill *out. */
typedef void explore_check_fn(void *ctx, struct replay_world *w,
			      struct explore_check_result *out);

struct explore_opts {
	bool has_seed;               /* false: the trace's seed */
	uint64_t seed;
	enum explore_mode mode;
	enum sim_subset_mode subsets;
	uint64_t budget;             /* states checked per crash point; 0: 64 */
	unsigned reorder_k;          /* SIM_SUBSET_REORDER's k; 0: 2 */
	unsigned shard_k, shard_n;   /* explore crash points with seq % n == k; n 0: all */
	uint64_t event_budget;       /* per replay wait (replay_opts); 0: the replayer's default */
	int64_t only_point;          /* >= 0: explore this crash point only */
	const char *only_survivors;  /* with only_point: check exactly this state (survivors text, below) */
	bool keep_going;             /* continue after a failing crash point */
	bool full_check;             /* check every state in full (no judging against a reference) */
	struct statedb *db;          /* may be NULL */
	const char *options_text;    /* for the db's runs row and repro lines */
	const char *version;
	const char *started;
	const char *program;         /* "snapsim" in repro lines */
	FILE *log;                   /* progress and failures; may be NULL */
	explore_check_fn *check;     /* an application checker per state; may be NULL */
	void *check_ctx;
	const char *check_text;      /* the checker's command as given (the db's checks rows) */
	const char *check_repro;     /* options appended to repro lines, e.g. "--check-cmd '...'" */
	/* Raised (nonzero) from outside, e.g. by a SIGINT handler: the state
	 * being checked is finished, the run ends there and is marked
	 * interrupted (explore_result.interrupted, the database's runs row). */
	volatile sig_atomic_t *stop;
	/* Called after every state checked or skipped (progress); may be NULL. */
	void (*on_state)(void *ctx, const struct explore_result *res);
	void *on_state_ctx;
	/*
	 * Non-NULL: each failing state is written to a subdirectory of this
	 * directory (created if missing), TRACE-seedS-pointP-stateHASH: every
	 * disk's crashed durable image, every dm device as read after a fresh
	 * restart on them, and manifest.json (replay_world_save_dir). Existing
	 * files are replaced only with save_force.
	 */
	const char *save_failing_dir;
	bool save_force;
};

struct explore_evidence {
	char device[128];
	uint64_t sector;
	uint32_t nsectors;
	char expected[256];
	char found[256];
	char message[512];
};

#define EXPLORE_MAX_EVIDENCE 8

/* The outcome of one state. */
struct explore_state_result {
	enum explore_verdict verdict;
	char message[1024];
	unsigned nr_evidence;
	struct explore_evidence evidence[EXPLORE_MAX_EVIDENCE];
	int64_t cow_used;            /* recovered exceptions over all snapshots; -1 unknown */
	bool partial_area;           /* some recovered area was partly full */
	bool invalid_uncommitted;    /* some recovered store: valid = 0 and area 0 empty */
};

/* Per recovered exception (explore_check_state's callback). */
typedef void explore_exception_fn(void *ctx, const char *device, uint64_t old_chunk,
				  uint64_t new_chunk, const char *note);

/*
 * Check one crashed state of paused world w: crashed[i] is disk i's
 * crashed image (the caller keeps it). seed drives the extra I/O. on_exc
 * (may be NULL) receives every recovered exception. Fills *out; returns
 * its verdict.
 */
enum explore_verdict explore_check_state(struct replay_world *w, struct sim_disk **crashed,
					 uint64_t seed, explore_exception_fn *on_exc,
					 void *exc_ctx, struct explore_state_result *out);

/*
 * The same with a recorder (replay_rec.h; NULL: none): the state becomes
 * the reference other states of its crash point are judged against. The
 * check's reads are judged by replay_rec_finish, not here: EXPLORE_OK
 * with a recorder is the full check's verdict only once that returns 0.
 */
struct replay_rec;
enum explore_verdict explore_check_state_rec(struct replay_world *w, struct sim_disk **crashed,
					     uint64_t seed, explore_exception_fn *on_exc,
					     void *exc_ctx, struct explore_state_result *out,
					     struct replay_rec *rec);
/* The seed of a state's more I/O (step 5), from explore_check_state's seed. */
uint64_t explore_check_more_io_seed(uint64_t seed);

struct explore_result {
	enum explore_verdict verdict;
	uint64_t seed;
	int64_t run_id;              /* the runs row in opts.db (0: none) */
	uint64_t points;             /* crash points offered */
	uint64_t points_explored;    /* in this shard */
	uint64_t states_total;       /* existing, summed (saturating) */
	uint64_t states_checked;
	uint64_t states_duplicate;   /* skipped: same durable state as one checked */
	uint64_t failures;           /* crash states with a verdict other than ok (model or checker) */
	bool live_failed;            /* the live run itself failed (not a crash state: no
					point, no state; the database's 'replay' row) */
	bool interrupted;            /* opts.stop was raised: the run ended early */
	uint64_t check_runs;         /* the checker ran (not reused, not skipped) */
	uint64_t check_reused;       /* states given an earlier state's checker verdict */
	uint64_t check_failures;     /* states the checker failed (failed, timeout, error) */
	uint64_t states_judged;      /* of states_checked: cleared against a reference */
	uint64_t refs_recorded;      /* reference states recorded (checked in full) */
	uint64_t refs_carried;       /* references carried to a later crash point */
	bool goal[EXPLORE_GOAL_COUNT];
	int64_t fail_point;          /* first failing crash point, -1 none */
	char fail_survivors[2048];   /* its state */
	char failure[1024];          /* its message */
	char repro[2048];            /* one-line command */
	char replay_failure[1024];   /* the replay itself failed (bad trace, mismatch) */
	bool fail_by_check;          /* the first failure is the checker's alone */
	uint64_t states_saved;       /* failing states written under save_failing_dir */
	char saved[4400];            /* the first one's directory ("" none) */
	char save_error[1024];       /* the first state that could not be saved ("" none) */
};

/*
 * The crash points explore_trace(path, o) will explore (its shard, or the
 * one of --point), by replaying the trace once without checking a state:
 * the total a progress line counts towards. 0 when the trace cannot run.
 */
uint64_t explore_count_points(const char *path, const struct explore_opts *o);

/* Explore one trace file. Returns res->verdict. */
enum explore_verdict explore_trace(const char *path, const struct explore_opts *o,
				   struct explore_result *res);
/* The same for a trace in memory (the minimizer). */
enum explore_verdict explore_trace_mem(const char *name, const char *buf, size_t len,
				       const struct explore_opts *o,
				       struct explore_result *res);

/*
 * Minimize a failing trace (delta debugging over its steps, then over the
 * surviving writes of the failing state), keeping its failure signature.
 * *text gets the result (malloc'd): a YAML trace whose first lines say the
 * seed, the failing crash point, the state, the signature and the command
 * that replays it as out_path (where the caller will save it; the
 * candidates are explored under that name). max_runs bounds the explorer
 * runs (0: 200). Returns 0 or a negative errno.
 */
int explore_minimize(const char *path, const struct explore_opts *o,
		     const struct explore_result *failed, const char *out_path,
		     unsigned max_runs, FILE *log, char **text);

/*
 * The signature of a failed result, the same for one failure whatever the
 * trace's name and its steps' lines: "VERDICT live run: " or "VERDICT
 * crash state: ", then the failure message with the trace name and its
 * ":LINE:" (name) removed, every number outside a name as '#', and cut
 * before what depends on the data (", found ...", "(seed N)"; a status
 * keeps its name: ", got EIO"). A read mismatch on X stays "read X sector
 * #: expected ..."; "# I/O requests never completed" is another.
 */
void explore_failure_signature(const struct explore_result *r, const char *name, char *buf,
			       size_t len);

const char *explore_mode_name(enum explore_mode m);
const char *explore_subsets_name(enum sim_subset_mode m);
const char *explore_verdict_name(enum explore_verdict v);

/* A trace file's name without its directory and ".yaml" (output file names). */
void explore_trace_stem(const char *path, char *buf, size_t len);
const char *explore_goal_name(enum explore_goal g);
const char *explore_check_verdict_name(enum explore_check_verdict v);

/*
 * Surviving writes, as text: per disk "NAME:ID,ID/MASK,...", disks
 * separated by ';' (MASK: hex unit-mask words joined by '.').
 */
struct explore_survivors {
	unsigned nr_disks;
	struct sim_crash_write *writes[64];   /* per disk, malloc'd */
	uint64_t *masks[64];                  /* mask words backing writes[]; malloc'd */
	size_t nr[64];
};
#define EXPLORE_MAX_DISKS 64

/* Parse text for a world with nr_disks disks named names[]. 0 or -EINVAL. */
int explore_survivors_parse(const char *text, unsigned nr_disks, const char *const *names,
			    struct explore_survivors *out);
void explore_survivors_free(struct explore_survivors *s);

#endif
