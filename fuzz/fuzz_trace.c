/*
 * fuzz_trace.c - harness for the YAML trace loader (sim/trace/trace.h).
 *
 * Properties (abort when one fails):
 *  1. Every error names the input and a position inside it: line <= the
 *     number of lines in the input (+1 for an error at end of input), lines
 *     broken as YAML breaks them (CR LF, CR, LF, NEL, LS, PS), and a
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

/*
 * Length in bytes of a line break at text[i] as YAML counts them (libyaml:
 * CR LF, CR, LF, and the UTF-8 NEL, LS, PS), 0 when there is none.
 */
static size_t line_break_at(const char *text, size_t len, size_t i)
{
	const unsigned char *t = (const unsigned char *)text;

	if (t[i] == '\r')
		return i + 1 < len && t[i + 1] == '\n' ? 2 : 1;
	if (t[i] == '\n')
		return 1;
	if (t[i] == 0xC2 && i + 1 < len && t[i + 1] == 0x85)
		return 2;
	if (t[i] == 0xE2 && i + 2 < len && t[i + 1] == 0x80 && (t[i + 2] == 0xA8 || t[i + 2] == 0xA9))
		return 3;
	return 0;
}

/* Number of lines, and the byte length of line `line` (1-based). */
static unsigned count_lines(const char *text, size_t len, unsigned line, unsigned *line_len)
{
	unsigned lines = 1, cur_len = 0;

	*line_len = 0;
	for (size_t i = 0; i < len;) {
		size_t b = line_break_at(text, len, i);
		if (b) {
			if (lines == line)
				*line_len = cur_len;
			lines++;
			cur_len = 0;
			i += b;
		} else {
			cur_len++;
			i++;
		}
	}
	if (lines == line)
		*line_len = cur_len;
	return lines;
}

static void check_error(const char *text, size_t len, const struct trace_error *err)
{
	unsigned lines, line_len;

	if (err->code >= 0)
		fuzz_fail("error without a negative code");
	if (!err->msg[0] || !err->text[0])
		fuzz_fail("error without a message");
	if (strncmp(err->text, "fuzz.yaml", 9) != 0)
		fuzz_fail("error does not name the input");
	if (err->line == 0)
		return;
	lines = count_lines(text, len, err->line, &line_len);
	if (err->line > lines + 1)
		fuzz_fail("error line beyond the input");
	/* Columns count characters; a line's byte length bounds them. */
	if (err->line <= lines && err->column > line_len + 1)
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
