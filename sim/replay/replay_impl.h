/*
 * replay_impl.h - private parts of the replayer, shared by its files and not
 * for other modules. The files call one way: each calls only files later in
 * this list (sim/README.md has the same order).
 *
 *   replay_session.c   a world kept after its trace: more requests and commands
 *   replay_run.c       replay_run(): the step loop and the result
 *   replay_validate.c  validation before a run
 *   replay_step_dm.c   dm verb and query steps
 *   replay_step_io.c   I/O steps and parallel groups
 *   replay_check.c     whole-device checks for the explorer
 *   replay_save_dir.c  every device of a world into a directory with a manifest
 *   replay_save.c      the device list, a device's content to an fd or a file
 *   replay_restart.c   a new world over crashed disks
 *   replay_files.c     a world on image files (snapsim run)
 *   replay_build.c     world build and teardown, accessors
 *   replay_io.c        requests and their completion checks
 *   replay_tap.c       completion tap over each disk
 *   replay_rec.c       provenance recorder of a reference state
 *   replay_rec_judge.c judging other states against it, carrying it to later points
 *   replay_loop.c      run loop and crash-point queue
 *   replay_devs.c      dm device records, live tables, model follow, COW holders
 *   replay_fail.c      the first failure's record (calls none)
 *
 * Declarations below follow the same order.
 */
#ifndef SNAPSIM_SIM_REPLAY_IMPL_H
#define SNAPSIM_SIM_REPLAY_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "bdev.h"
#include "dm.h"
#include "fault_bdev.h"
#include "model.h"
#include "replay.h"
#include "sim_disk.h"
#include "sim_sched.h"
#include "trace.h"

struct replay_world;

/* A pass-through bdev over each disk that reports completions (crash points). */
struct rp_tap_io;

struct rp_tap {
	struct bdev base;        /* must be first; name = the disk's table path */
	struct bdev *lower;      /* the fault wrapper or the sim disk */
	struct replay_world *w;
	unsigned idx;            /* disk index */
	struct rp_tap_io *inflight; /* wrappers of requests not completed yet (freed at teardown) */
};

struct rp_disk {
	char name[TRACE_NAME_MAX];
	char path[TRACE_NAME_MAX + 8];
	struct sim_disk *disk;          /* NULL on an image file */
	struct bdev *file;              /* the image file's device (replay_files.c), else NULL */
	struct sim_fault_bdev *fault;   /* NULL without faults */
	struct sim_image *image;        /* `image:` disks (a reference); NULL otherwise */
	struct rp_tap tap;
	bool used;                      /* a table has referenced it (maybe as a COW) */
	bool held_cow;                  /* a live table has used it as (part of) a COW */
};

struct rp_dev {
	char name[TRACE_NAME_MAX];
	char *live;              /* live table, names for device numbers; NULL: none */
	bool staged;             /* an inactive table is loaded */
	bool merge_done;         /* snapshot-merge: the model was told the merge completed */
	bool held_cow;           /* a live table has used it as (part of) a COW */
};

/* One trace I/O in flight (or a check_all/write request). */
struct rp_req {
	struct rp_req *next, *prev;     /* w->reqs */
	struct replay_world *w;
	struct bio bio;
	uint8_t *buf;
	uint8_t *expect_buf;            /* explicit expect (read); NULL: none */
	struct model_expect *pre;       /* per-sector expectations at submission (parallel reads) */
	char dev[TRACE_NAME_MAX];       /* model name of the device */
	bool is_dm;
	unsigned line, column;
	int expect_error;               /* the step's error: (0 = success) */
	bool check_error;               /* compare the status with expect_error */
	uint64_t model_id;
	int predicted;
	uint64_t flush_token;
	bool done;
	int status;
	bool trace_io;                  /* counts in w->inflight */
	bool unchecked;                 /* a session's request: no model, no expectation */
	bool rec_checks;                /* a recorded check read: the recording judges it */
};

struct rp_pending_suspend {
	struct rp_pending_suspend *next;
	struct replay_world *w;
	char dev[TRACE_NAME_MAX];
	unsigned line, column;
	int expect_error;
	bool done;
	int status;
};

struct replay_world {
	struct sim_sched sched;
	struct dm_registry *reg;
	struct model *model;
	struct rp_disk *disks;
	unsigned nr_disks;
	struct rp_dev *devs;
	unsigned nr_devs, cap_devs;
	uint64_t seed;
	char trace[256];
	bool faults;                    /* some disk has a fault wrapper */
	bool on_files;                  /* the disks are image files (replay_files.c) */
	bool model_blind;               /* reads are checked against expect: only (on_files) */
	char **cows_seen;               /* on_files: COW arguments of live snapshot tables so far */
	unsigned nr_cows_seen;
	uint64_t budget;
	FILE *log;

	/* run state */
	const struct replay_opts *opts;
	struct replay_result *res;
	unsigned crash_modes;
	struct rp_req *reqs;            /* every request not yet freed */
	uint64_t inflight;              /* trace I/O not completed */
	struct rp_pending_suspend *suspends;
	struct replay_crash_point *cpq; /* crash points waiting for the loop */
	size_t nr_cpq, cap_cpq;
	uint64_t cp_seq;
	unsigned step_line, step_column;
	uint64_t step_seq;
	bool failed;
	bool save_failed;               /* the failure is a save step's file: an I/O error */
	bool stopped;
	char fail[REPLAY_MSG_MAX];
	/* A session's dm command: its error goes back to the user, not into fail. */
	bool session;
	int session_status;
	char session_msg[REPLAY_MSG_MAX];
	uint64_t events;
	struct replay_rec *rec;         /* provenance recorder (replay_rec.h); NULL: none */
	/* What the explorer's coverage goals ask of the run so far. */
	unsigned tables_rejected;       /* dm create/load refused by a constructor */
	const struct bdev *snap_cows[16]; /* COWs written through their snapshot */
	unsigned nr_snap_cows;
	struct rp_spelling {            /* how accepted snapshot tables named devices */
		char dev[TRACE_NAME_MAX];   /* the device (its trace name) */
		char word[64];              /* the table's word for it */
	} spell[32];
	unsigned nr_spell;
	bool aliased;                   /* one device under two spellings */
};

/* Outcome of rp_run(). */
enum rp_run {
	RP_COND = 0,   /* the condition holds */
	RP_IDLE,       /* nothing left to run, the condition does not hold */
	RP_FAIL,       /* a check failed (w->fail) */
	RP_HANGED,     /* the budget ran out */
	RP_STOP,       /* the crash hook asked to stop */
};

typedef bool rp_cond_fn(struct replay_world *w, void *ctx);

/* replay_validate.c: replay_validate() with the run's options (save targets
 * checked when o->save_files), from a file or a trace held in memory. */
int rp_validate(const char *path, const struct replay_opts *o, struct trace_error *err);
/* The same, with the steps a whole run takes (repeats expanded) in *steps. */
int rp_validate_count(const char *path, const struct replay_opts *o, uint64_t *steps,
		      struct trace_error *err);
int rp_validate_mem(const char *name, const char *buf, size_t len,
		    const struct replay_opts *o, struct trace_error *err);

/* replay_run.c: one step of the trace; the run of a reader (keep: the world of
 * a passing run is handed out instead of destroyed; NULL: destroyed). */
enum rp_run rp_run_step(struct replay_world *w, const struct trace_item *it);
enum replay_status rp_run_reader(struct trace_reader *rd, const char *name,
				 const struct replay_opts *opts, struct replay_result *res,
				 struct trace_error *err, struct replay_world **keep);

/* replay_step_dm.c: a dm verb step, an output query step. */
enum rp_run rp_step_dm(struct replay_world *w, const struct trace_step *st);
enum rp_run rp_step_query(struct replay_world *w, const struct trace_step *st);

/* replay_step_io.c: an I/O step or a parallel group of them, iteration iter of a repeat. */
enum rp_run rp_step_io(struct replay_world *w, const struct trace_step *st, uint64_t iter);

/* replay_save.c: a save step (st->u.save) run in w. */
enum rp_run rp_step_save(struct replay_world *w, const struct trace_step *st);

/* replay_check.c */
int rp_read_check_range(struct replay_world *w, const char *dev, sector_t sector,
			sector_t nr, char *errbuf, size_t len);

/* replay_files.c */
/* The world of opts->disk_files (errbuf says why not; the errno tells the kind). */
int rp_world_create_files(const struct trace_header *hdr, uint64_t seed, const char *trace,
			  const struct replay_opts *opts, struct replay_world **out,
			  char *errbuf, size_t len);
/* After a step on files: a store the model cannot know (written before the run)? */
void rp_files_poll(struct replay_world *w);
/* Copy each file's statistics into the result. */
void rp_files_stats(struct replay_world *w, struct replay_result *res);

/* replay_build.c */
int rp_world_create(const struct trace_header *hdr, uint64_t seed, const char *trace,
		    const struct replay_opts *opts, struct replay_world **out,
		    char *errbuf, size_t len);
/* A world with its scheduler, registry and model but no disks yet (NULL: out of memory). */
struct replay_world *rp_world_alloc(uint64_t seed, const char *trace,
				    const struct replay_opts *opts, unsigned nr_disks);
/* Disk i of w over disk (NULL: over w->disks[i].file): fault wrapper (td's faults; td
 * NULL: none), tap, registry entry. */
int rp_disk_setup(struct replay_world *w, unsigned i, struct sim_disk *disk,
		  const struct trace_disk *td, char *errbuf, size_t len);
void rp_garbage(uint64_t key, model_sector_t sector, uint8_t *out);

/* replay_io.c */
/* Submit a request built by the caller (bio fields, dev, buffers set). */
void rp_req_submit(struct rp_req *q);
struct rp_req *rp_req_new(struct replay_world *w);
void rp_req_free(struct rp_req *q);
/* Free completed requests; the rest stay in flight (a suspended device). */
void rp_req_reap(struct replay_world *w);
void rp_free_all(struct replay_world *w);
const char *rp_errname(int e, char *buf, size_t len);
const char *rp_op_name(enum bio_op op);

/* replay_tap.c */
extern const struct bdev_ops rp_tap_ops;
/* A world torn down with I/O in flight: free the wrappers the lower device never completes. */
void rp_tap_free_inflight(struct rp_tap *t);

/* replay_rec.c: the recorder's hooks (replay_rec.h) */
struct replay_rec;
void rp_rec_io(struct replay_rec *rec, unsigned disk, enum bio_op op, sector_t sector,
	       uint32_t nr, const uint8_t *data, int status);
void rp_rec_started(struct replay_rec *rec, const struct model *m);
void rp_rec_read_begin(struct replay_rec *rec, const char *dev, sector_t sector, uint32_t n,
		       const uint8_t *buf);
void rp_rec_read_end(struct replay_rec *rec, int status, const uint8_t *buf);
void rp_rec_write_begin(struct replay_rec *rec, const char *dev, sector_t sector, uint32_t n,
			unsigned flags, const uint8_t *buf, uint64_t seed);
void rp_rec_write_end(struct replay_rec *rec, int status);

/* replay_loop.c */
enum rp_run rp_run(struct replay_world *w, rp_cond_fn *cond, void *ctx);
void rp_drain(struct replay_world *w);
void rp_crash_point(struct replay_world *w, const struct replay_crash_point *cp);

/* replay_devs.c */
bool rp_disk_referenced(const struct replay_world *w, unsigned i);
int rp_disk_index(const struct replay_world *w, const char *name);
struct rp_dev *rp_dev_find(struct replay_world *w, const char *name);
struct rp_dev *rp_dev_add(struct replay_world *w, const char *name);
void rp_dev_forget(struct replay_world *w, const char *name);
/* Re-read dev's live table; tell the model when it changed (or force). 0 or fail message. */
int rp_dev_refresh(struct replay_world *w, struct rp_dev *d, bool force);
/* Table text with M:m of dm devices replaced by /dev/mapper/NAME (malloc'd). */
char *rp_table_names(struct replay_world *w, const char *text);
/* Resolve a trace device name: bdev and model name. NULL when unknown. */
struct bdev *rp_resolve(struct replay_world *w, const char *name, char *model_name,
			size_t len, bool *is_dm);
/* After a step: merges that finished, snapshots a fault invalidated. */
int rp_poll_devices(struct replay_world *w);
/* Tell the model about snapshots an I/O error invalidated (status Invalid). */
void rp_poll_invalid(struct replay_world *w);
/* Whether dev is a snapshot the core reports Invalid (tells the model). */
bool rp_snapshot_went_invalid(struct replay_world *w, const char *dev);

/* replay_fail.c */
void rp_fail(struct replay_world *w, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
