/*
 * fuzz_trace.c - harness for the YAML trace loader (sim/trace.h).
 *
 * Properties (abort when one fails):
 *  1. Every error names the input and a position inside it: line <= the
 *     number of lines in the input (+1 for an error at end of input) and a
 *     column <= that line's length + 1, and the message is not empty.
 *  2. The loader holds a bounded number of step objects at once, however
 *     long the input (trace_get_stats().max_live_steps stays small).
 *  3. No leak, no undefined behaviour, no read outside the input
 *     (sanitizer build).
 * Repeat bodies are expanded once (validation mode), so a huge repeat count
 * is not a hang of the harness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "trace.h"

#define MAX_INPUT (64u * 1024u)
#define MAX_ITEMS 100000u
#define MAX_LIVE_STEPS 64u

static unsigned line_length(const char *text, size_t len, unsigned line)
{
	unsigned cur = 1;
	size_t i = 0, n = 0;

	while (i < len && cur < line) {
		if (text[i] == '\n')
			cur++;
		i++;
	}
	while (i + n < len && text[i + n] != '\n')
		n++;
	return (unsigned)n;
}

static void check_error(const char *text, size_t len, const struct trace_error *err)
{
	unsigned lines = 1;

	if (err->code >= 0)
		fuzz_fail("error without a negative code");
	if (!err->msg[0] || !err->text[0])
		fuzz_fail("error without a message");
	if (strncmp(err->text, "fuzz.yaml", 9) != 0)
		fuzz_fail("error does not name the input");
	if (err->line == 0)
		return;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			lines++;
	if (err->line > lines + 1)
		fuzz_fail("error line beyond the input");
	if (err->line <= lines && err->column > line_length(text, len, err->line) + 1)
		fuzz_fail("error column beyond its line");
}

int snapsim_fuzz_one(const uint8_t *data, size_t size)
{
	struct trace_reader *r = NULL;
	struct trace_error err;
	struct trace_item item;
	struct trace_stats st;
	int rc;

	if (size > MAX_INPUT)
		return 0;
	trace_error_clear(&err);
	rc = trace_open_mem("fuzz.yaml", (const char *)data, size, TRACE_EXPAND_ONCE, &r, &err);
	if (rc) {
		check_error((const char *)data, size, &err);
		return 0;
	}
	for (unsigned n = 0; n < MAX_ITEMS; n++) {
		rc = trace_next(r, &item, &err);
		if (rc <= 0)
			break;
	}
	if (rc < 0)
		check_error((const char *)data, size, &err);
	trace_get_stats(r, &st);
	if (st.max_live_steps > MAX_LIVE_STEPS)
		fuzz_fail("loader held too many step objects at once");
	trace_close(r);
	return 0;
}
