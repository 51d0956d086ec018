/*
 * trace_err.c - the loader's error reports: trace_error_set() fills a
 * struct trace_error once (the first error sticks), trace_error_at() and
 * trace_error_node() add the file and a position. Everything else in
 * trace/ reports through these, so this file calls nothing above it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trace_impl.h"

void trace_error_clear(struct trace_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int trace_error_set(struct trace_error *err, int code, const char *file, unsigned line,
		    unsigned column, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code)
		return code;
	err->code = code;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err->text, sizeof(err->text), "%s:%u:%u: %s", err->file, line,
			 column ? column : 1, err->msg);
	else
		snprintf(err->text, sizeof(err->text), "%s: %s", err->file, err->msg);
	return code;
}

int trace_error_at(struct trace_ctx *c, unsigned line, unsigned column,
		   const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return trace_error_set(c->err, -EINVAL, c->file, line, column, "%s", msg);
}

int trace_error_node(struct trace_ctx *c, const struct tnode *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return trace_error_set(c->err, -EINVAL, c->file, n ? n->line : 0,
			       n ? n->column : 0, "%s", msg);
}
