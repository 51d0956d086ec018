/*
 * run_ctl.h - what a long verb (explore, check) shares while it runs: a
 * progress line of counts on a terminal (progress.h; nothing off a
 * terminal or with --quiet), a log stream that erases that line before
 * each message so the two never mix, and SIGINT/SIGTERM turned into a
 * flag the work polls between units, so the unit in hand is finished, the
 * results so far are written and the run ends marked interrupted
 * (CLI_EXIT_INTERRUPTED). A second signal kills as usual.
 */
#ifndef SNAPSIM_RUN_CTL_H
#define SNAPSIM_RUN_CTL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "progress.h"

/* The signal that asked to stop (SIGINT, SIGTERM), 0 while none did. */
extern volatile sig_atomic_t run_ctl_stop;

/* Catch SIGINT and SIGTERM into run_ctl_stop (once: the next one kills). */
void run_ctl_catch_stop(void);

struct run_ctl {
	struct progress prog;
	FILE *log;              /* messages while running: stderr, or a stream
				   over it that erases the progress line first */
	const char *what, *rate_what, *bad_what; /* "points", "states", "violations" */
	uint64_t base_done, base_rate, base_bad; /* counts of finished units */
};

/*
 * Start: a progress line labelled label on stderr when show, counting
 * towards total WHAT. log is stderr then too (through the eraser).
 */
void run_ctl_begin(struct run_ctl *c, bool show, const char *label, uint64_t total,
		   const char *what, const char *rate_what, const char *bad_what);
/* Counts of the unit in hand (added to the base counts) at the present time. */
void run_ctl_update(struct run_ctl *c, uint64_t done, uint64_t rate_n, uint64_t bad);
/* Fold the unit's final counts into the base (next unit starts from them). */
void run_ctl_next(struct run_ctl *c, uint64_t done, uint64_t rate_n, uint64_t bad);
/* Erase the line (before a result is printed) and close the log stream. */
void run_ctl_end(struct run_ctl *c);

#endif
