/*
 * replay.h - the trace replayer: runs a YAML trace (traces/README.md)
 * deterministically through the dm core on simulated disks, and checks
 * every read against the reference model (models/model.h).
 *
 * A run builds a *world* from the trace header:
 *   - one struct sim_sched seeded from the run seed; every purpose draws
 *     from its own stream (prng.h), so the same seed + trace + binary give
 *     the same event log, byte for byte (its FNV-1a hash is in the result);
 *   - one struct sim_disk per trace disk (disk_id = its index), wrapped by a
 *     fault_bdev when the trace gives faults, registered in a dm_registry
 *     under the disk's path (/dev/NAME or `path:`), and a small tap in
 *     between that reports completions to the replayer (crash points);
 *   - one struct model with the same disks; model_dev_set() follows every
 *     table that becomes live.
 * Steps run in file order. Every read is checked against the model (and
 * against `expect:` when given); status/table/deps/info compare exactly.
 * The first failure stops the run with a message that names the trace
 * position (FILE:LINE), the device, the sector, expected vs found and the
 * seed.
 *
 * Validation comes first: trace_check() over the whole file, with a step
 * hook that builds every create/load table through dm_table_create() on a
 * scratch registry that mirrors the trace's devices, so a bad trace is
 * rejected with FILE:LINE:COLUMN and nothing runs.
 *
 * ---- The contract with the crash explorer (sim/explore*) ----
 *
 * Crash points. With opts.crash_modes set, the replayer offers crash
 * points to opts.crash_hook while the world is *paused*: between two
 * scheduler events, never inside one (the replayer runs the scheduler one
 * event at a time while anything is in flight). The hook may inspect the
 * world, fork its disks (sim_disk_fork), build restarted worlds from them
 * (replay_world_restart*) and destroy those; it must not submit I/O to,
 * run the scheduler of, or otherwise change the paused world. It returns
 * 0 to continue the replay, nonzero to stop it (replay_run then returns
 * REPLAY_STOPPED and res->hook_status holds the value).
 *
 * Restart. replay_world_restart*() build a NEW independent world (own
 * scheduler, registry, disks forked copy-on-write, model clone put through
 * model_crash()) and rebuild the dm stack from the tables that were live
 * at the crash point, in device creation order. It never touches the
 * source world, so one paused world can be restarted many times.
 *
 * Ownership: replay_run() owns its world; the world pointer a hook receives
 * is valid only during that call. Worlds returned by replay_world_restart*
 * belong to the caller: free them with replay_world_destroy().
 *
 * No wall clock, no rand(): sim/ library code takes time and randomness
 * from the scheduler and the seeded streams only.
 */
#ifndef SNAPSIM_SIM_REPLAY_H
#define SNAPSIM_SIM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bio.h"
#include "sim_disk.h"
#include "sim_sched.h"
#include "trace.h"

struct model;
struct dm_registry;
struct replay_world;
struct replay_result;

/* ---- crash points ---- */

/* Crash-point modes (bit set, opts.crash_modes) and the kind of one point. */
#define REPLAY_CRASH_MARKER   (1u << 0) /* at every `crash:` step of the trace */
#define REPLAY_CRASH_DISK_IO  (1u << 1) /* after every write/discard/flush completion at a disk */
#define REPLAY_CRASH_FLUSH    (1u << 2) /* after every FLUSH, FUA or PREFLUSH completion at a disk */
#define REPLAY_CRASH_TRACE_IO (1u << 3) /* after every trace I/O (write/flush/discard) completion */
#define REPLAY_CRASH_END      (1u << 4) /* once, after the last step (everything completed) */

struct replay_crash_point {
	unsigned kind;           /* exactly one REPLAY_CRASH_* bit */
	uint64_t seq;            /* 0, 1, 2, ... over the crash points offered in this run */
	unsigned step_line;      /* the trace step running (its line, column) */
	unsigned step_column;
	uint64_t step_seq;       /* trace_item.seq of that step */
	const char *marker;      /* REPLAY_CRASH_MARKER: the crash step's name; else NULL */
	int disk;                /* DISK_IO/FLUSH: the disk index that completed; else -1 */
	enum bio_op op;          /* DISK_IO/FLUSH/TRACE_IO: the completed request */
	unsigned bio_flags;      /*   its BIO_* flags */
	sector_t sector;         /*   its first sector and length */
	uint32_t nr_sectors;
	int status;              /*   its completion status */
	uint64_t now_ns;         /* virtual time */
};

/*
 * Called at each crash point, world paused (see the contract above).
 * Return 0 to continue, nonzero to stop the replay.
 */
typedef int replay_crash_hook_fn(void *ctx, struct replay_world *w,
				 const struct replay_crash_point *cp);

/* ---- options and results ---- */

/*
 * A trace disk run on an image file (snapsim run) instead of a simulated
 * disk: the file (or block device) at path, through core's file device.
 */
struct replay_disk_file {
	const char *name;        /* the trace disk's name */
	const char *path;        /* its image file */
};

struct replay_opts {
	bool has_seed;           /* false: the trace's `seed:`, else 1 */
	uint64_t seed;
	FILE *log;               /* event log, one line per event ("<ns> <text>"); may be NULL */
	uint64_t event_budget;   /* max scheduler events for one wait/settle/step; 0: 50,000,000.
				  * Exceeding it is a hang (REPLAY_HANG). */
	bool defer_shuffle;      /* interleave same-time deferred work in a seeded order */
	unsigned crash_modes;    /* REPLAY_CRASH_* bits; 0: no crash points */
	replay_crash_hook_fn *crash_hook; /* NULL: crash points are only counted */
	void *crash_ctx;
	bool quiet;              /* (cli) */
	/*
	 * Save steps (`save: DEV`, `to: FILE`). save_files false (the default:
	 * explore, check, the minimizer): each save step makes the same reads
	 * (so the schedule and crash points are those of a run that saves) and
	 * writes no file. true (snapsim replay): it writes FILE; a FILE that
	 * exists, or that two save steps name, is refused at validation unless
	 * force (then each save replaces it).
	 */
	bool save_files;
	bool force;
	/*
	 * Called once after the last step of a passing run, before the world
	 * goes (replay --save): unlike the crash hook, it may read devices
	 * through the scheduler. A nonzero return makes the run REPLAY_ERROR
	 * with the hook's message (errbuf) as its failure.
	 */
	int (*end_hook)(void *ctx, struct replay_world *w, char *errbuf, size_t len);
	void *end_ctx;
	/*
	 * Real images (replay_files.c): with disk_files set, every trace disk
	 * runs on the file named for it (each must be named, exist and hold
	 * the disk's size; create_files makes a missing one, sized from the
	 * trace; none is ever truncated). No simulation: no latency, cache,
	 * reordering or faults (a trace with faults is refused), FLUSH is
	 * fdatasync, crash markers are ignored; crash_modes must be 0.
	 * Notes (ignored settings, reads no longer checked against the
	 * model) go to notes when it is not NULL.
	 */
	const struct replay_disk_file *disk_files;
	unsigned nr_disk_files;
	bool create_files;
	FILE *notes;
	/*
	 * Called after every step of the run, and every 65,536 scheduler
	 * events inside a long one, with the result so far (steps,
	 * steps_total): a front end's progress line. Not in restarted worlds.
	 */
	void (*on_step)(void *ctx, const struct replay_result *res);
	void *on_step_ctx;
};

/* Outcome of replay_run(). The values are stable (CLI exit codes use them). */
enum replay_status {
	REPLAY_PASS = 0,         /* every check held */
	REPLAY_MISMATCH = 1,     /* a read, expect or dm step did not do what the trace/model says */
	REPLAY_HANG = 2,         /* the event budget ran out waiting for I/O or a suspend */
	REPLAY_STOPPED = 3,      /* the crash hook asked to stop */
	REPLAY_INVALID = 4,      /* the trace was rejected by validation; nothing ran */
	REPLAY_ERROR = 5,        /* out of memory, unreadable file, world build failure */
};

#define REPLAY_MSG_MAX 1024
#define REPLAY_FILES_MAX 16   /* disks whose file statistics a result keeps */

struct replay_result {
	enum replay_status status;
	uint64_t seed;           /* the seed used */
	uint64_t steps;          /* steps run (repeats expanded, group members not counted) */
	uint64_t steps_total;    /* the steps a whole run takes, counted by validation */
	uint64_t ios;            /* trace I/O requests completed (read/write/flush/discard) */
	uint64_t bytes_read, bytes_written;
	uint64_t reads_checked;  /* reads compared with the model */
	uint64_t sectors_checked;
	uint64_t expects_checked;/* explicit expectations held (read expect, query expect, error:) */
	uint64_t mismatches;     /* 0 or 1: the run stops at the first */
	uint64_t crash_points;   /* crash points offered */
	int hook_status;         /* the hook's nonzero return, REPLAY_STOPPED */
	uint64_t events;         /* scheduler events run */
	uint64_t event_hash;     /* FNV-1a of the event log (sim_sched_log_hash) */
	uint64_t now_ns;         /* virtual time at the end */
	uint64_t image_bytes;    /* the `image:` disks' files: their bytes, */
	uint64_t image_bytes_read; /* and how many were read from them (disks, model) */
	/* disk_files runs: per trace disk (at most REPLAY_FILES_MAX), what its file saw */
	unsigned nr_files;
	struct replay_file_stats {
		char disk[TRACE_NAME_MAX]; /* the trace disk's name */
		uint64_t sectors_written; /* by writes and discards, the core's own included */
		uint64_t syncs;           /* fdatasync calls */
		bool created;             /* the run made the file */
	} files[REPLAY_FILES_MAX];
	bool model_blind;        /* from some step on, reads were checked against expect: only */
	unsigned fail_line;      /* the failing step's line (0: none) */
	char failure[REPLAY_MSG_MAX]; /* first failure, "FILE:LINE: ..." ("" on pass) */
};

/*
 * Validate and run one trace. Returns the status (also in res->status);
 * on any status but REPLAY_PASS/REPLAY_STOPPED, err holds the position and
 * res->failure the full message. opts may be NULL (defaults). res and err
 * may not be NULL.
 */
enum replay_status replay_run(const char *path, const struct replay_opts *opts,
			      struct replay_result *res, struct trace_error *err);

/*
 * Validation only (what replay_run does first): trace_check() with the dm
 * table hook. Returns 0 or a negative errno with err filled.
 */
int replay_validate(const char *path, struct trace_error *err);

/* The steps a run of path takes (repeats expanded), by validating it: 0 when it is invalid. */
uint64_t replay_count_steps(const char *path);

/* The same as replay_run() on a trace held in memory (tests, explorer minimizer). */
enum replay_status replay_run_mem(const char *name, const char *buf, size_t len,
				  const struct replay_opts *opts,
				  struct replay_result *res, struct trace_error *err);

/* ---- the world ---- */

unsigned replay_world_nr_disks(const struct replay_world *w);
/* Trace name (I/O steps) and table path (/dev/NAME) of disk i. */
const char *replay_world_disk_name(const struct replay_world *w, unsigned i);
const char *replay_world_disk_path(const struct replay_world *w, unsigned i);
struct sim_disk *replay_world_disk(const struct replay_world *w, unsigned i);
/* The block device tables use for disk i (the completion tap over it). */
struct bdev *replay_world_disk_bdev(struct replay_world *w, unsigned i);
struct model *replay_world_model(struct replay_world *w);
struct dm_registry *replay_world_registry(struct replay_world *w);
struct sim_sched *replay_world_sched(struct replay_world *w);
uint64_t replay_world_seed(const struct replay_world *w);
/* The trace file's path (or name for replay_run_mem). */
const char *replay_world_trace(const struct replay_world *w);

/*
 * dm devices in creation order (removed ones dropped), with the table
 * each has live now ("" when none; multi-line tables joined with '\n'),
 * as dmsetup table prints it. This is what a restart rebuilds.
 */
unsigned replay_world_nr_devs(const struct replay_world *w);
const char *replay_world_dev_name(const struct replay_world *w, unsigned i);
const char *replay_world_dev_table(const struct replay_world *w, unsigned i);
/* dm create/load steps a table constructor refused so far. */
unsigned replay_world_tables_rejected(const struct replay_world *w);
/* Whether accepted snapshot tables named one device under two spellings. */
bool replay_world_aliased(const struct replay_world *w);
/* Whether the run wrote through a snapshot whose COW is cow. */
bool replay_world_snap_wrote_cow(const struct replay_world *w, const struct bdev *cow);
bool replay_world_dev_suspended(const struct replay_world *w, unsigned i);
/*
 * A hash of what a restart rebuilds besides the disks' bytes and the
 * model: the devices, their live tables, which hold a COW, merges done,
 * the disks in use. Two crash points of one shape restart a state into
 * the same stack.
 */
uint64_t replay_world_shape(const struct replay_world *w);

/* One disk's surviving writes for a restart (sim_disk_fork's list). */
struct replay_survivors {
	const struct sim_crash_write *writes;
	size_t nr;               /* 0: only the durable image survives */
};

/*
 * Restart on crashed disks: crashed[i] (one per disk, same order and
 * sizes, e.g. from sim_disk_fork(replay_world_disk(w, i), ...)) gives disk
 * i's content; it is forked again (no survivors, copy-on-write) onto the
 * new world's scheduler, so the caller keeps ownership of crashed[] and
 * may destroy it right after the call. The new world: new scheduler
 * (same seed), new registry, no fault wrappers (the power cut is the
 * fault; faults are not carried over), a clone of w's model put through
 * model_crash(), and every device of replay_world_dev_*() created again in
 * creation order with its live table (snapshot and snapshot-merge tables
 * included, except a snapshot whose COW a snapshot-merge table took over:
 * only the merge comes back, as after a reboot; suspended devices come
 * back resumed; devices without a live
 * table come back with none). A table that fails to activate is reported
 * in errbuf (all of them, "; "-separated) and its device is left without a
 * table: that is not fatal. Returns 0 (errbuf may still hold activation
 * errors: check errbuf[0]), or a negative errno (nothing created).
 */
int replay_world_restart(struct replay_world *w, struct sim_disk **crashed,
			 struct replay_world **out, char *errbuf, size_t len);

/*
 * The same, forking w's disks itself with the given survivors per disk
 * (surv may be NULL: nothing but the durable images survives).
 */
int replay_world_restart_from(struct replay_world *w,
			      const struct replay_survivors *surv,
			      struct replay_world **out, char *errbuf, size_t len);

/*
 * Read every sector of every device the model knows (each dm device with
 * a live table, then each disk), except what holds a COW
 * (replay_world_cow_holders), in large requests through the
 * scheduler, and check them against the model (after a restart: the
 * allowed sets of model_crash()). Returns 0, 1 with the first mismatch in
 * errbuf ("DEV sector S: expected E, found F"), REPLAY_HANG-style -ETIME
 * when the reads do not complete within the budget, or a negative errno.
 */
int replay_world_check_all(struct replay_world *w, char *errbuf, size_t len);

/*
 * What holds a COW store in w's live tables: dev_cow[i] for dm device i
 * (replay_world_dev_*), disk_cow[i] for disk i; arrays of nr_devs and
 * nr_disks entries. A COW argument that names a dm device marks it and
 * everything its live table maps to (linear segments, recursively); a disk
 * or dm device that any live table of w's past used so stays marked (also
 * in a restarted world, where the snapshot may not come back). The
 * model does not know a COW's bytes, so check_all skips these, and
 * write_read_check never writes to them. Returns 0.
 */
int replay_world_cow_holders(const struct replay_world *w, bool *dev_cow, bool *disk_cow);

/* Check nr sectors of one device (dm name or disk name) from sector. Returns as check_all. */
int replay_world_read_check(struct replay_world *w, const char *dev, sector_t sector,
			    sector_t nr, char *errbuf, size_t len);

/*
 * Write nr sectors of pattern seed to dev at sector (through the
 * scheduler, waiting for completion), recording it in the model.
 * flags: BIO_FUA / BIO_PREFLUSH. Returns 0, 1 when the completion status
 * differs from the model's prediction (errbuf says how), or a negative
 * errno.
 */
int replay_world_write(struct replay_world *w, const char *dev, sector_t sector,
		       uint32_t nr, uint64_t seed, unsigned flags, char *errbuf, size_t len);

/*
 * More I/O in a recovered world: for every dm device whose live table is
 * snapshot-origin or snapshot-merge (or, with none, every disk), write one
 * sector at the start of every chunk-sized stride (stride_sectors; 0: 8)
 * with pattern seed, then run check_all. Returns as check_all.
 */
int replay_world_write_read_check(struct replay_world *w, uint64_t seed,
				  sector_t stride_sectors, char *errbuf, size_t len);

/* Run the scheduler until nothing is pending (copies, commits, merges). 0 or -ETIME. */
int replay_world_settle(struct replay_world *w);

/* Free a world from replay_world_restart*() (every device, disk, the model). */
void replay_world_destroy(struct replay_world *w);

/* ---- devices taken out as image files (replay_save.c) ---- */

enum replay_dev_kind { REPLAY_DEV_DISK = 0, REPLAY_DEV_DM };

/* One device of a world, for manifests. */
struct replay_dev_desc {
	char name[TRACE_NAME_MAX];  /* the trace's disk name, or the dm device's name */
	enum replay_dev_kind kind;
	uint64_t size_bytes;        /* dm: of its live table; 0 without one */
	bool has_table;             /* dm: a live table is loaded */
	bool suspended;             /* dm: suspended (reads would wait) */
	bool readable;              /* replay_world_save_* can read it now */
};

/*
 * Every device of w: the disks in trace order, then the dm devices in
 * creation order (removed ones dropped). *out is malloc'd (free it).
 * Returns 0 or -ENOMEM.
 */
int replay_world_devices(const struct replay_world *w, struct replay_dev_desc **out,
			 unsigned *nr);

/* A disk's durable image (what a power cut losing every pending write leaves),
 * not what a read returns now. Refused for a dm device. */
#define REPLAY_SAVE_DURABLE (1u << 0)

struct replay_save_info {
	uint64_t size_bytes;        /* bytes written: the whole device */
	uint64_t fnv1a64;           /* FNV-1a 64 of those bytes */
	bool is_dm;
	bool read_failed;           /* on failure: reading the device failed (not the file) */
};

/*
 * Write the whole content of device dev (a disk name or path, a dm name or
 * /dev/mapper/NAME) to fd at offsets 0..size (pwrite; fd's offset is not
 * used), streamed 1 MiB at a time. A disk: what a read returns now (its
 * cache included), or with REPLAY_SAVE_DURABLE its durable image, read
 * from the simulated disk without a request (faults are not applied). A dm
 * device: what reads through its live table return, each request run to
 * completion by w's scheduler (so w must not be paused inside a crash
 * hook; a restarted world is fine); refused without a live table or while
 * suspended; a failing read fails the save. fd -1: everything is read (the
 * same requests) and nothing written. info may be NULL. Returns 0,
 * or a negative errno with errbuf naming the device (and sector).
 */
int replay_world_save_fd(struct replay_world *w, const char *dev, unsigned flags, int fd,
			 struct replay_save_info *info, char *errbuf, size_t len);

/*
 * The same into a file at path: written to a new temporary in path's
 * directory (".NAME.snapsim-PID-N"; chunks of zeros left as holes), fsynced
 * and renamed into place. An existing path is refused unless force, and
 * then only a regular file is replaced (never a directory, device, FIFO or
 * symlink). On failure the temporary is removed and path is untouched;
 * nothing else is ever unlinked.
 */
int replay_world_save_path(struct replay_world *w, const char *dev, unsigned flags,
			   const char *path, bool force, struct replay_save_info *info,
			   char *errbuf, size_t len);

/* The same for one simulated disk (e.g. a crashed fork the explorer holds). */
int replay_disk_save_path(struct sim_disk *d, unsigned flags, const char *path, bool force,
			  struct replay_save_info *info, char *errbuf, size_t len);

/* n bytes from buf into a file at path by the same rules (manifests). */
int replay_save_bytes(const char *path, bool force, const void *buf, size_t n, char *errbuf,
		      size_t len);

/* The check save_path makes first: 0 when path may be written (absent, or a
 * regular file with force), else a negative errno with errbuf saying why. */
int replay_save_check_target(const char *path, bool force, char *errbuf, size_t len);

/*
 * Every device of w into directory dir (created if missing, one level):
 * disk-NAME.img per disk, dm-NAME.img per dm device, and manifest.json
 * naming each file, its device, kind (disk/dm), size in bytes and FNV-1a 64
 * hash (a dm device that cannot be read: no file, the reason instead).
 * Every target is checked before anything is written: an existing file is
 * refused without force (nothing written then). On failure the files this
 * call created are removed again; nothing else is.
 */
struct replay_save_dir_opts {
	bool force;
	struct sim_disk **crashed;   /* non-NULL: disk i is saved from crashed[i]'s durable
				      * image (a crash state), not from w */
	bool durable;                /* without crashed: the disks' durable images */
	const char *trace;           /* for the manifest */
	uint64_t seed;
	const char *state;           /* "final", "crash point 3 state 1a2b..." */
};

struct replay_save_dir_result {
	unsigned files;              /* images written */
	unsigned skipped;            /* dm devices without a file */
};

int replay_world_save_dir(struct replay_world *w, const char *dir,
			  const struct replay_save_dir_opts *o, struct replay_save_dir_result *res,
			  char *errbuf, size_t len);

#endif
