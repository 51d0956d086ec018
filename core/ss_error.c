/* ss_error.c - the caller-owned error record. */
#include "ss_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ss_error_clear(struct ss_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->line = 0;
	err->column = 0;
	err->msg[0] = '\0';
}

int ss_error_set(struct ss_error *err, int code, unsigned line,
		 unsigned column, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != 0)
		return code;
	err->code = code;
	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	ss_velide(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

char *ss_velide(char *dst, size_t len, const char *fmt, va_list ap)
{
	va_list again;
	char *full;
	int n;

	va_copy(again, ap);
	n = vsnprintf(dst, len, fmt, ap);
	if (n >= 0 && (size_t)n >= len && (full = malloc((size_t)n + 1))) {
		/* Too long: format it whole once more and drop its middle. */
		vsnprintf(full, (size_t)n + 1, fmt, again);
		ss_elide(dst, len, full);
		free(full);
	}
	va_end(again);
	return dst;
}

char *ss_elide(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src), mark = sizeof(SS_ELISION) - 1, head, tail;

	if (!len)
		return dst;
	if (n < len) {
		memcpy(dst, src, n + 1);
		return dst;
	}
	if (len <= mark + 2) {
		snprintf(dst, len, "%s", src);
		return dst;
	}
	/* The end usually says why (the cause follows the echoed input). */
	tail = (len - 1 - mark) / 2;
	head = len - 1 - mark - tail;
	memcpy(dst, src, head);
	memcpy(dst + head, SS_ELISION, mark);
	memcpy(dst + head + mark, src + n - tail, tail);
	dst[len - 1] = '\0';
	return dst;
}

void ss_error_locate(struct ss_error *err, unsigned line, unsigned column)
{
	if (!err || err->code == 0 || err->line != 0)
		return;
	err->line = line;
	err->column = column;
}

const char *ss_error_format(const struct ss_error *err, char *buf, unsigned len)
{
	if (err->line)
		snprintf(buf, len, "line %u, column %u: %s", err->line,
			 err->column, err->msg);
	else
		snprintf(buf, len, "%s", err->msg);
	return buf;
}
