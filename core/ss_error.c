/* ss_error.c - the caller-owned error record. */
#include "ss_error.h"

#include <stdio.h>
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
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
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
