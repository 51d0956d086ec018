/*
 * ss_error.h - status codes and the caller-owned error record.
 *
 * Every entry point of core/ returns 0 or a negative status code (the
 * negated errno value dm itself would use), and, when it fails, fills a
 * caller-owned struct ss_error with a message naming the input and the
 * position. A failed call changes no state.
 */
#ifndef SNAPSIM_SS_ERROR_H
#define SNAPSIM_SS_ERROR_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

#define SS_OK 0

/* Maximum message length, including the terminating NUL. */
#define SS_ERROR_MSG_MAX 256

struct ss_error {
	int code;          /* negative errno, 0 when no error was recorded */
	unsigned line;     /* 1-based input line, 0 when not applicable */
	unsigned column;   /* 1-based input column, 0 when not applicable */
	char msg[SS_ERROR_MSG_MAX]; /* message without the position prefix */
};

/* Reset an error record to "no error". */
void ss_error_clear(struct ss_error *err);

/*
 * Record an error (only the first one: a record that already holds an
 * error is left as it is, so the innermost, most precise message wins).
 * Returns code, so callers can write `return ss_error_set(err, -EINVAL, ...)`.
 * err may be NULL. A message longer than the record loses its middle, not
 * its end (ss_elide), so a cause written after an echoed input survives.
 */
int ss_error_set(struct ss_error *err, int code, unsigned line,
		 unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Set the position of an already recorded error if it has none yet. */
void ss_error_locate(struct ss_error *err, unsigned line, unsigned column);

/*
 * Copy src into dst (len bytes with the NUL). When it does not fit, keep
 * its beginning and its end around SS_ELISION, so both what it starts with
 * and how it ends survive. Returns dst.
 */
#define SS_ELISION "[...]"
char *ss_elide(char *dst, size_t len, const char *src);

/* vsnprintf into dst, a text too long for it shortened by ss_elide. Returns dst. */
char *ss_velide(char *dst, size_t len, const char *fmt, va_list ap);

/*
 * Format "line L, column C: msg" (or just msg when there is no position)
 * into buf. Returns buf.
 */
const char *ss_error_format(const struct ss_error *err, char *buf, unsigned len);

#endif
