/*
 * cli_json.h - the JSON writer of the snapsim verbs (--json): one object
 * on stdout, members and elements written as they are known, indented two
 * spaces per level. Strings go through cli_json_string() (cli_util.h).
 *
 *     struct cli_json j;
 *     cli_json_begin(&j, stdout);          // {
 *     cli_json_kstr(&j, "image", path);    //   "image": "...",
 *     cli_json_key(&j, "runs");
 *     cli_json_open_array(&j);             //   "runs": [
 *     ...
 *     cli_json_close(&j);                  //   ]
 *     cli_json_end(&j);                    // }
 *
 * An error is the member "error" of that object (cli_json_kerror), or a
 * whole document of its own (cli_json_error_doc):
 *     {"error": {"code": N, "message": "...", "input": "...", "line": L, "column": C}}
 * with input, line and column only where known. N is the exit status.
 */
#ifndef SNAPSIM_CLI_JSON_H
#define SNAPSIM_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_JSON_MAX_DEPTH 16

struct cli_json {
	FILE *out;
	unsigned depth;                     /* open objects and arrays */
	bool has_items[CLI_JSON_MAX_DEPTH]; /* a comma is due before the next item */
	char closer[CLI_JSON_MAX_DEPTH];    /* '}' or ']' of each open level */
	bool after_key;                     /* a value completes the member */
};

/* Where an error is, as far as it is known (fields 0/NULL when not). */
struct cli_json_where {
	const char *input;   /* the file (or argument) at fault */
	unsigned line;       /* 1-based */
	unsigned column;     /* 1-based */
};

/* Start the document: writes the opening brace of the top object. */
void cli_json_begin(struct cli_json *j, FILE *out);
/* Close the top object and end the line. */
void cli_json_end(struct cli_json *j);

void cli_json_key(struct cli_json *j, const char *key);
void cli_json_open_object(struct cli_json *j);
void cli_json_open_array(struct cli_json *j);
/* Close the innermost object or array. */
void cli_json_close(struct cli_json *j);

void cli_json_str(struct cli_json *j, const char *s); /* NULL: null */
void cli_json_int(struct cli_json *j, long long v);
void cli_json_uint(struct cli_json *j, unsigned long long v);
void cli_json_bool(struct cli_json *j, bool v);
void cli_json_double(struct cli_json *j, double v);

/* key + value */
void cli_json_kstr(struct cli_json *j, const char *key, const char *s);
void cli_json_kint(struct cli_json *j, const char *key, long long v);
void cli_json_kuint(struct cli_json *j, const char *key, unsigned long long v);
void cli_json_kbool(struct cli_json *j, const char *key, bool v);
void cli_json_kdouble(struct cli_json *j, const char *key, double v);

/* The member "error": {"code", "message", and input/line/column if known}. */
void cli_json_kerror(struct cli_json *j, int code, const char *message,
		     const struct cli_json_where *where);
/* A whole document holding only the error. */
void cli_json_error_doc(FILE *out, int code, const char *message,
			const struct cli_json_where *where);

#endif
