/* cli_json.c - the JSON writer of the snapsim verbs; see cli_json.h. */
#include "cli_json.h"

#include <math.h>

#include "cli_util.h"

void cli_json_begin(struct cli_json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->after_key = false;
	cli_json_open_object(j);
}

void cli_json_end(struct cli_json *j)
{
	while (j->depth)
		cli_json_close(j);
	fputc('\n', j->out);
	fflush(j->out);
}

static void newline(struct cli_json *j)
{
	fputc('\n', j->out);
	for (unsigned i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Before a key or a value: a comma and a new line, unless it completes a member. */
static void item(struct cli_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->depth)
		return;
	if (j->has_items[j->depth - 1])
		fputc(',', j->out);
	j->has_items[j->depth - 1] = true;
	newline(j);
}

void cli_json_key(struct cli_json *j, const char *key)
{
	item(j);
	cli_json_string(j->out, key);
	fputs(": ", j->out);
	j->after_key = true;
}

static void open_level(struct cli_json *j, char open, char close)
{
	item(j);
	fputc(open, j->out);
	if (j->depth == CLI_JSON_MAX_DEPTH)
		return; /* deeper than any snapsim document: not opened */
	j->has_items[j->depth] = false;
	j->closer[j->depth] = close;
	j->depth++;
}

void cli_json_open_object(struct cli_json *j)
{
	open_level(j, '{', '}');
}

void cli_json_open_array(struct cli_json *j)
{
	open_level(j, '[', ']');
}

void cli_json_close(struct cli_json *j)
{
	bool had;

	if (!j->depth)
		return;
	had = j->has_items[j->depth - 1];
	j->depth--;
	if (had)
		newline(j);
	fputc(j->closer[j->depth], j->out);
}

void cli_json_str(struct cli_json *j, const char *s)
{
	item(j);
	if (s)
		cli_json_string(j->out, s);
	else
		fputs("null", j->out);
}

void cli_json_int(struct cli_json *j, long long v)
{
	item(j);
	fprintf(j->out, "%lld", v);
}

void cli_json_uint(struct cli_json *j, unsigned long long v)
{
	item(j);
	fprintf(j->out, "%llu", v);
}

void cli_json_bool(struct cli_json *j, bool v)
{
	item(j);
	fputs(v ? "true" : "false", j->out);
}

void cli_json_double(struct cli_json *j, double v)
{
	item(j);
	if (isfinite(v))
		fprintf(j->out, "%.6g", v);
	else
		fputs("null", j->out); /* JSON has no inf or nan */
}

void cli_json_kstr(struct cli_json *j, const char *key, const char *s)
{
	cli_json_key(j, key);
	cli_json_str(j, s);
}

void cli_json_kint(struct cli_json *j, const char *key, long long v)
{
	cli_json_key(j, key);
	cli_json_int(j, v);
}

void cli_json_kuint(struct cli_json *j, const char *key, unsigned long long v)
{
	cli_json_key(j, key);
	cli_json_uint(j, v);
}

void cli_json_kbool(struct cli_json *j, const char *key, bool v)
{
	cli_json_key(j, key);
	cli_json_bool(j, v);
}

void cli_json_kdouble(struct cli_json *j, const char *key, double v)
{
	cli_json_key(j, key);
	cli_json_double(j, v);
}

void cli_json_kerror(struct cli_json *j, int code, const char *message,
		     const struct cli_json_where *where)
{
	cli_json_key(j, "error");
	cli_json_open_object(j);
	cli_json_kint(j, "code", code);
	cli_json_kstr(j, "message", message ? message : "");
	if (where && where->input)
		cli_json_kstr(j, "input", where->input);
	if (where && where->line) {
		cli_json_kuint(j, "line", where->line);
		if (where->column)
			cli_json_kuint(j, "column", where->column);
	}
	cli_json_close(j);
}

void cli_json_error_doc(FILE *out, int code, const char *message,
			const struct cli_json_where *where)
{
	struct cli_json j;

	cli_json_begin(&j, out);
	cli_json_kerror(&j, code, message, where);
	cli_json_end(&j);
}
