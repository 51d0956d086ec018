/*
 * trace.h - YAML I/O traces (format: traces/README.md, `version: 1`).
 *
 * A trace is read with libyaml's event API in one pass. trace_open()
 * parses the header (version, name, seed, disks) into structs and stops at
 * the `steps:` sequence; trace_next() then reads and delivers one step at a
 * time. Only the step being delivered (plus the bodies of the `repeat`
 * blocks being expanded, which are small and bounded) lives in memory, so
 * a trace of any length replays in bounded memory.
 *
 * Every check that needs no dm core happens while reading: unknown keys,
 * wrong types, bad units, dm command syntax, names of disks and dm devices
 * that the trace never defined before the step that uses them. Errors read
 * `FILE:LINE:COLUMN: message` (1-based). trace_check() reads a whole file
 * that way and runs nothing; a replayer calls it first, so a bad trace is
 * rejected before any step runs. Table semantics need the dm core: the
 * caller passes a hook (the replayer calls dm_table_create() in it).
 *
 * Units inside the structs: sectors are 512 bytes (sector_t), times are
 * nanoseconds (_ns), byte counts say _bytes.
 */
#ifndef SNAPSIM_TRACE_H
#define SNAPSIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bio.h"

#define TRACE_VERSION 1
#define TRACE_NAME_MAX 128

/* Limits that keep memory bounded whatever the input (each is an error). */
#define TRACE_MAX_NODES 200000u     /* YAML nodes in one step (incl. a repeat body) */
#define TRACE_MAX_REPEAT_DEPTH 8u   /* nested repeat blocks */
#define TRACE_MAX_PARALLEL 4096u    /* steps in one parallel group */
#define TRACE_MAX_DISKS 256u
#define TRACE_MAX_FAULTS 256u       /* per disk */

/* ---- errors ---- */

struct trace_error {
	int code;              /* negative errno; 0 = no error */
	char file[256];
	unsigned line;         /* 1-based; 0 when the error has no position */
	unsigned column;       /* 1-based */
	char msg[512];         /* room for a core message (SS_ERROR_MSG_MAX) and what it concerns */
	char text[1024];       /* "FILE:LINE:COLUMN: msg" (or "FILE: msg"): never cut */
};

void trace_error_clear(struct trace_error *err);
/*
 * Record an error (the first one wins, as with ss_error). Returns code.
 * For hooks: pass the step's line and column.
 */
int trace_error_set(struct trace_error *err, int code, const char *file,
		    unsigned line, unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* ---- header ---- */

enum trace_initial {
	TRACE_INITIAL_ZERO = 0,
	TRACE_INITIAL_GARBAGE,     /* seeded garbage (pattern_garbage) */
};

enum trace_fault_op {
	TRACE_FAULT_ANY = 0,
	TRACE_FAULT_READ,
	TRACE_FAULT_WRITE,
};

struct trace_fault {
	enum trace_fault_op op;
	bool has_range;            /* range: [start, len] */
	sector_t range_start, range_len;
	sector_t *sectors;         /* sectors: [a, b, ...]; NULL when absent */
	unsigned nr_sectors;
	uint64_t after_ops;        /* armed after this many matching ops (0: at once) */
	uint64_t count;            /* fires this many times; 0: every time */
	int error;                 /* negative errno returned, default -EIO */
	bool latent;               /* reads of the range fail until it is rewritten */
	uint64_t die_at_op;        /* the disk dies at its Nth op (1-based); 0: never */
	unsigned line, column;
};

struct trace_disk {
	char name[TRACE_NAME_MAX];      /* used by I/O steps */
	char path[TRACE_NAME_MAX + 8];  /* used by tables; default /dev/NAME */
	sector_t size_sectors;
	unsigned sector_bytes;          /* logical block size, default 512 */
	bool cache;                     /* volatile write cache, default on */
	uint64_t latency_min_ns, latency_max_ns; /* default 10us .. 100us */
	unsigned queue_depth;           /* default 32 */
	bool reorder;                   /* completions may be reordered, default on */
	bool discard;                   /* accepts discard requests, default off */
	sector_t atomic_sectors;        /* power-cut tear unit; 0: whole writes atomic; default 1 */
	enum trace_initial initial;     /* default zero */
	char *image;                    /* `image:` resolved beside the trace; NULL: none */
	uint64_t image_bytes;           /* the file's length when the trace was read */
	struct trace_fault *faults;
	unsigned nr_faults;
	unsigned line, column;
};

struct trace_header {
	unsigned version;
	char name[TRACE_NAME_MAX];      /* default: the file name without .yaml */
	bool has_seed;
	uint64_t seed;
	struct trace_disk *disks;
	unsigned nr_disks;
};

/* ---- steps ---- */

enum trace_step_kind {
	TRACE_STEP_DM = 0,      /* dm: "verb ..." in dmsetup's words */
	TRACE_STEP_QUERY,       /* status|table|deps|info: NAME, expect: "..." */
	TRACE_STEP_READ,
	TRACE_STEP_WRITE,
	TRACE_STEP_FLUSH,
	TRACE_STEP_DISCARD,
	TRACE_STEP_PARALLEL,    /* u.group: I/O steps in flight together */
	TRACE_STEP_CRASH,       /* u.crash_name: a crash point */
	TRACE_STEP_WAIT,        /* wait until every I/O of the trace has completed */
	TRACE_STEP_SETTLE,      /* wait until nothing at all is pending (copies, merges) */
	TRACE_STEP_SLEEP,       /* u.sleep_ns: let virtual time pass */
	TRACE_STEP_SAVE,        /* u.save: a device's content written to an image file */
	TRACE_STEP_REPEAT,      /* internal: never delivered by trace_next() */
};

enum trace_dm_verb {
	TRACE_DM_CREATE = 0,
	TRACE_DM_LOAD,
	TRACE_DM_SUSPEND,
	TRACE_DM_RESUME,
	TRACE_DM_REMOVE,
	TRACE_DM_CLEAR,
	TRACE_DM_TABLE_PIPE,    /* table NAME | load OTHER */
};

#define TRACE_DM_NOTABLE  (1u << 0)
#define TRACE_DM_NOFLUSH  (1u << 1)
#define TRACE_DM_READONLY (1u << 2)
#define TRACE_DM_NOLOCKFS (1u << 3)

struct trace_dm {
	enum trace_dm_verb verb;
	char *name;             /* the device the verb acts on (the source of a pipe) */
	char *table;            /* create/load --table text; NULL otherwise */
	char *uuid;             /* create --uuid; NULL when absent */
	char *pipe_dst;         /* TABLE_PIPE: the device loaded */
	unsigned flags;         /* TRACE_DM_* */
	char *text;             /* the command as written */
};

enum trace_query_kind {
	TRACE_QUERY_STATUS = 0,
	TRACE_QUERY_TABLE,
	TRACE_QUERY_DEPS,
	TRACE_QUERY_INFO,
};

struct trace_query {
	enum trace_query_kind kind;
	char *dev;
	bool inactive;
	char *expect;           /* exact expected output, NULL: not checked */
};

enum trace_data_kind {
	TRACE_DATA_NONE = 0,    /* read without expect: checked against the model only */
	TRACE_DATA_PATTERN,     /* pattern_fill(seed, base + i) for sector i of the I/O */
	TRACE_DATA_ZERO,
	TRACE_DATA_BYTES,       /* bytes, repeated to fill the length */
	TRACE_DATA_FILE,        /* file (relative to the trace's directory), from file_offset */
};

struct trace_data {
	enum trace_data_kind kind;
	uint64_t seed;
	uint64_t seed_stride;   /* effective seed = seed + iteration * seed_stride */
	bool has_base;          /* pattern sector numbers start at base, not at the offset */
	sector_t base;
	uint8_t *bytes;
	size_t nr_bytes;
	char *file;             /* resolved path */
	uint64_t file_offset_bytes;
};

struct trace_io {
	char *dev;
	sector_t offset;        /* sectors */
	sector_t length;        /* sectors; 0 for flush */
	sector_t stride;        /* offset advance per iteration of the innermost repeat */
	sector_t wrap;          /* if non-zero, offset is taken modulo wrap */
	bool fua;
	bool preflush;
	bool may_fail;          /* read/write: the status is the model's to judge (`may_fail:`) */
	struct trace_data data;    /* write */
	struct trace_data expect;  /* read */
};

struct trace_save {
	char *dev;
	char *to;               /* resolved beside the trace */
	char *to_text;          /* as written */
	bool durable;           /* a disk's durable image, not what a read returns */
};

struct trace_step {
	enum trace_step_kind kind;
	unsigned line, column;     /* where the step starts in the file */
	int expect_error;          /* expected result: 0 or a negative errno (key `error:`) */
	char *expect_message;      /* dm: substring of the expected error message */
	union {
		struct trace_dm dm;
		struct trace_query query;
		struct trace_io io;        /* READ, WRITE, FLUSH, DISCARD */
		struct {
			struct trace_step *steps;
			unsigned nr_steps;
		} group;                   /* PARALLEL */
		struct {
			struct trace_step *steps;
			unsigned nr_steps;
			uint64_t count;
		} repeat;                  /* REPEAT (internal) */
		char *crash_name;          /* CRASH */
		struct trace_save save;    /* SAVE */
		uint64_t sleep_ns;         /* SLEEP */
	} u;
};

/* What trace_next() hands out; valid until the next trace_next()/trace_close(). */
struct trace_item {
	const struct trace_step *step;
	uint64_t iteration;        /* of the innermost enclosing repeat (0 outside) */
	unsigned repeat_depth;     /* number of enclosing repeats */
	uint64_t seq;              /* 0, 1, 2, ... in delivery order */
};

/* The offset of an I/O step in a given iteration (stride and wrap applied). */
sector_t trace_io_offset(const struct trace_io *io, uint64_t iteration);
/* The pattern seed of data in a given iteration (seed_stride applied). */
uint64_t trace_data_seed(const struct trace_data *d, uint64_t iteration);

/* ---- reading ---- */

struct trace_reader;

/* Flags for trace_open(). */
#define TRACE_EXPAND_ONCE (1u << 0) /* deliver each repeat body once (validation) */

/*
 * Open a trace file and parse its header. On success *out owns the file
 * until trace_close(). On failure nothing is left open and err says why.
 */
int trace_open(const char *path, unsigned flags, struct trace_reader **out,
	       struct trace_error *err);
/* The same from a buffer (tests, fuzzing); name is used in messages. */
int trace_open_mem(const char *name, const char *buf, size_t len, unsigned flags,
		   struct trace_reader **out, struct trace_error *err);
void trace_close(struct trace_reader *r);

const struct trace_header *trace_header(const struct trace_reader *r);
const char *trace_path(const struct trace_reader *r);

/*
 * Deliver the next step: returns 1 with *item filled, 0 at the end of the
 * trace (the rest of the file has been checked too), or a negative errno
 * with err filled. After an error the reader only returns that error.
 */
int trace_next(struct trace_reader *r, struct trace_item *item,
	       struct trace_error *err);

/*
 * One more step after the end of the trace (trace_next() returned 0), from
 * YAML text holding one step (`{dm: "suspend X"}`, `settle`): parsed and
 * checked as if it followed the trace's last step, so the names the trace
 * defined stay defined and a create or remove here changes them. Errors
 * name `name` and the position in text. The item is valid until the next
 * trace_next_text() or trace_close(). Returns 1 with *item filled, or a
 * negative errno with err filled; the reader stays usable either way.
 */
int trace_next_text(struct trace_reader *r, const char *name, const char *text, size_t len,
		    struct trace_item *item, struct trace_error *err);
/*
 * Mark dm device name as defined or not for the steps after, e.g. when a
 * create given with trace_next_text() failed in the core (a failing step
 * defines nothing).
 */
int trace_name_set(struct trace_reader *r, const char *name, bool defined);

struct trace_stats {
	uint64_t steps_parsed;      /* step objects built from the text */
	uint64_t steps_delivered;   /* items handed out (repeats expanded) */
	uint64_t steps_expanded;    /* items a full expansion hands out: with
				       TRACE_EXPAND_ONCE, each item counted as many
				       times as its repeats run it (saturating) */
	unsigned live_steps;        /* step objects allocated right now */
	unsigned max_live_steps;    /* the most ever allocated at once */
	unsigned max_step_nodes;    /* the largest YAML subtree held for one step */
};

void trace_get_stats(const struct trace_reader *r, struct trace_stats *st);

/* ---- validation ---- */

struct trace_check_hooks {
	/*
	 * Called once per step in file order (repeat bodies once, parallel
	 * members inside their group step). Return 0, or a negative errno
	 * after filling err (use trace_error_set with the step's position).
	 * May be NULL.
	 */
	int (*step)(void *ctx, const struct trace_header *hdr,
		    const struct trace_step *step, struct trace_error *err);
	void *ctx;
};

/*
 * Validate a whole trace without running anything: every syntax and name
 * check, then hooks->step for each step. Returns 0 or a negative errno.
 * stats may be NULL.
 */
int trace_check(const char *path, const struct trace_check_hooks *hooks,
		struct trace_stats *stats, struct trace_error *err);

/* The device arguments a table line uses, for name checks (trace_dm.c). */
const char *trace_dm_verb_name(enum trace_dm_verb verb);

#endif
