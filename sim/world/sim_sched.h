/*
 * sim_sched.h - the simulator's discrete-event scheduler and virtual clock.
 *
 * Invariants:
 *  (1) Time only moves forward, and only when an event runs (or when
 *      sim_sched_run_until() reaches its deadline): now_ns is the time of
 *      the event running, never a wall clock.
 *  (2) Events run in (time_ns, order, seq) order. seq is a per-scheduler
 *      counter, so it is unique; order equals seq except for deferred work
 *      under SIM_DEFER_SHUFFLE. Ties on time therefore break in insertion
 *      order (libuv's timers do the same).
 *  (3) Nothing runs inside sim_sched_at()/executor_defer(): work queued at
 *      now_ns runs after the current event returns.
 *  (4) Every source of nondeterminism is a seeded stream: the same options,
 *      the same seed and the same calls give the same events, bit for bit.
 *
 * It implements struct executor (core/executor.h): defer(fn, ctx) queues fn
 * at now_ns, FIFO by default. SIM_DEFER_SHUFFLE and a jitter bound offer a
 * seeded interleaving of deferred work, still deterministic per seed.
 *
 * The event log: components describe notable events (disk submissions,
 * completions, flushes, crashes) as one line of text through
 * sim_sched_logf(). Each line, prefixed with the time, feeds a running
 * FNV-1a hash (always) and the optional log hook (when set), so two runs
 * compare with one number. No globals: schedulers side by side are
 * independent.
 */
#ifndef SNAPSIM_SIM_SCHED_H
#define SNAPSIM_SIM_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "executor.h"
#include "prng.h"

typedef void sim_event_fn(void *ctx);

/* Receives one log line (no newline), the time it was logged at. */
typedef void sim_log_fn(void *ctx, uint64_t now_ns, const char *line);

/* Maximum length of one log line, including the terminating NUL. */
#define SIM_LOG_LINE_MAX 256

enum sim_defer_mode {
	SIM_DEFER_FIFO = 0, /* deferred work runs in deferral order (default) */
	SIM_DEFER_SHUFFLE,  /* same-time deferred work runs in a seeded order */
};

struct sim_sched_opts {
	uint64_t seed;                /* run seed (for SIM_STREAM_SCHED) */
	enum sim_defer_mode defer_mode;
	uint64_t defer_jitter_ns_max; /* defer at now + U[0, max]; 0 = at now */
};

/* Why a run call returned. */
enum sim_run_status {
	SIM_RUN_IDLE = 0,   /* the queue is empty */
	SIM_RUN_TIME,       /* the deadline was reached; events remain */
	SIM_RUN_BUDGET,     /* max_events ran and events remain: a hang? */
	SIM_RUN_STOPPED,    /* an event called sim_sched_stop() */
};

struct sim_event; /* private to sched.c */

/*
 * Caller-owned. Read now_ns directly or through sim_sched_now(); every
 * other field is private to sched.c.
 */
struct sim_sched {
	struct executor base;      /* must be first: defer() */
	uint64_t now_ns;           /* virtual clock */
	uint64_t next_seq;         /* next event sequence number (from 1) */
	uint64_t events_run;       /* events run so far */
	struct sim_event *heap;    /* binary min-heap */
	size_t len, cap;
	struct sim_sched_opts opts;
	struct sim_prng prng;      /* SIM_STREAM_SCHED */
	bool stop;                 /* set by sim_sched_stop() */
	sim_log_fn *log;           /* may be NULL */
	void *log_ctx;
	uint64_t log_hash;         /* FNV-1a over every line logged */
	uint64_t log_lines;
	bool no_fingerprint;       /* nobody reads log_hash: skip formatting lines no sink takes */
};

/* Initialize s; opts may be NULL (seed 0, FIFO, no jitter). */
void sim_sched_init(struct sim_sched *s, const struct sim_sched_opts *opts);
/* Drop every queued event without running it; s may be reused after init. */
void sim_sched_destroy(struct sim_sched *s);

static inline struct executor *sim_sched_executor(struct sim_sched *s)
{
	return &s->base;
}

static inline uint64_t sim_sched_now(const struct sim_sched *s)
{
	return s->now_ns;
}

/* Number of queued events. */
static inline size_t sim_sched_pending(const struct sim_sched *s)
{
	return s->len;
}

/*
 * Queue fn(ctx) at time_ns (a time in the past means now). Returns the
 * event's id (> 0, usable with sim_sched_cancel()), or 0 when out of memory
 * (nothing queued).
 */
uint64_t sim_sched_at(struct sim_sched *s, uint64_t time_ns, sim_event_fn *fn,
		      void *ctx);
/* Queue fn(ctx) delay_ns from now. Returns as sim_sched_at(). */
uint64_t sim_sched_after(struct sim_sched *s, uint64_t delay_ns,
			 sim_event_fn *fn, void *ctx);
/*
 * Remove a queued event. Returns true if it was queued (and now is not),
 * false if it already ran or never existed. O(n).
 */
bool sim_sched_cancel(struct sim_sched *s, uint64_t id);
/* Time of the next event; false when the queue is empty. */
bool sim_sched_next_time(const struct sim_sched *s, uint64_t *time_ns);

/* Run the next event. Returns false when the queue was empty. */
bool sim_sched_run_one(struct sim_sched *s);
/*
 * Run until the queue is empty (SIM_RUN_IDLE), max_events more events ran
 * (SIM_RUN_BUDGET; max_events == 0 means no budget) or an event called
 * sim_sched_stop() (SIM_RUN_STOPPED).
 */
enum sim_run_status sim_sched_run(struct sim_sched *s, uint64_t max_events);
/*
 * Run every event due at or before time_ns, then advance the clock to
 * time_ns. Returns SIM_RUN_TIME (events remain after the deadline),
 * SIM_RUN_IDLE, SIM_RUN_BUDGET or SIM_RUN_STOPPED (the clock then stays at
 * the last event run).
 */
enum sim_run_status sim_sched_run_until(struct sim_sched *s, uint64_t time_ns,
					uint64_t max_events);
/* Ask the running sim_sched_run*() call to return after this event. */
void sim_sched_stop(struct sim_sched *s);

/* Set (or clear, with fn NULL) the log hook. */
void sim_sched_set_log(struct sim_sched *s, sim_log_fn *fn, void *ctx);
/*
 * Log one line: "<now_ns> <text>" is hashed and passed to the hook. Lines
 * longer than SIM_LOG_LINE_MAX - 1 bytes are truncated (the same way
 * every run).
 */
void sim_sched_logf(struct sim_sched *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The running FNV-1a hash of every line logged so far. */
/*
 * Whether a logged line is used at all (a sink, or the log hash). A world
 * whose log nobody reads (a crash state's restart) turns the hash off, so
 * lines are neither formatted nor hashed; callers may skip computing
 * their arguments too.
 */
static inline void sim_sched_set_fingerprint(struct sim_sched *s, bool on)
{
	s->no_fingerprint = !on;
}

static inline bool sim_sched_logging(const struct sim_sched *s)
{
	return s->log || !s->no_fingerprint;
}

static inline uint64_t sim_sched_log_hash(const struct sim_sched *s)
{
	return s->log_hash;
}

#endif
