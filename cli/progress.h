/*
 * progress.h - one self-updating status line on a terminal for long jobs:
 * "LABEL 123.4/512.0 MB (24%), 45.6 MB/s, ETA 0:09" (cow export), or of
 * counts: "explore: points 12/40 (30%), 153 states/s, ETA 0:09, 0 violations". Nothing is shown for
 * the first PROGRESS_DELAY_NS (short jobs stay silent; the environment's
 * SNAPSIM_PROGRESS_DELAY_MS, a number of milliseconds, says otherwise, e.g.
 * 0 to see the line of a short job), then the line is
 * redrawn at most every PROGRESS_EVERY_NS and cleared at the end. The
 * clock is the caller's argument, so the behaviour can be tested.
 */
#ifndef SNAPSIM_PROGRESS_H
#define SNAPSIM_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_DELAY_NS 2000000000ull
#define PROGRESS_EVERY_NS 250000000ull

struct progress {
	FILE *out;          /* NULL: disabled */
	const char *label;  /* borrowed */
	uint64_t total;
	uint64_t start_ns, last_ns;
	uint64_t delay_ns;  /* before the first line */
	size_t shown;       /* width of the line on screen, 0 when none */
};

/* Whether to show progress on fd: a terminal, and not --quiet. */
bool progress_wanted(int fd, bool quiet);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t progress_now(void);

/* Start; out NULL disables every later call. */
void progress_init(struct progress *p, FILE *out, const char *label,
		   uint64_t total, uint64_t now_ns);
/* done of total bytes are finished at now_ns; redraws when due. */
void progress_update(struct progress *p, uint64_t done, uint64_t now_ns);
/* Whether a redraw is due at now_ns (shown after the delay, then at most every PROGRESS_EVERY_NS). */
bool progress_due(const struct progress *p, uint64_t now_ns);
/* Draw "LABEL text" as the line when due. */
void progress_show(struct progress *p, const char *text, uint64_t now_ns);
/* Erase the line (before a result or an error is printed). */
void progress_end(struct progress *p);

/*
 * "123.4/512.0 MB (24%), 45.6 MB/s, ETA 0:09" (MB = 10^6 bytes) into buf.
 * Returns the length snprintf would give.
 */
int progress_format(char *buf, size_t len, uint64_t done, uint64_t total,
		    uint64_t elapsed_ns);

/*
 * Counts instead of bytes, e.g. "points 12/40 (30%), 153 states/s, ETA 0:09,
 * 0 violations": done of total WHAT (the ETA at their rate so far), rate_n
 * RATE_WHAT per second, bad BAD_WHAT (none when bad_what is NULL). total 0
 * is not known: "steps 1234, 567 steps/s, 0 failed runs".
 */
int progress_format_counts(char *buf, size_t len, const char *what, uint64_t done,
			   uint64_t total, const char *rate_what, uint64_t rate_n,
			   const char *bad_what, uint64_t bad, uint64_t elapsed_ns);

#endif
