/*
 * trace_dm.c - the `dm:` step: dmsetup's verbs in dmsetup's own words.
 *
 *   create NAME (--table "TEXT" | --notable) [--uuid U] [--readonly]
 *   load NAME --table "TEXT" [--readonly]        (reload is the same verb)
 *   suspend NAME [--noflush] [--nolockfs]
 *   resume NAME
 *   remove NAME
 *   clear NAME
 *   table NAME | load OTHER                      (as the seed recipe pipes it)
 *
 * Words are split at blanks; "..." and '...' quote, a backslash makes the
 * next character literal (outside single quotes). The table text is
 * checked for what needs no dm core: at least three fields per line,
 * decimal start and length, and that the devices named by linear,
 * snapshot-origin, snapshot and snapshot-merge were defined earlier in the
 * trace (a disk by name or path, a dm device by name or /dev/mapper/NAME;
 * MAJOR:MINOR cannot be checked here). Everything else is the dm core's,
 * through the replayer's validation hook.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_impl.h"

#define MAX_WORDS 16

struct word {
	char *text;
	size_t at;      /* offset of the word in the command */
	bool pipe;      /* an unquoted | */
};

struct words {
	struct word w[MAX_WORDS];
	unsigned n;
};

static void words_free(struct words *ws)
{
	for (unsigned i = 0; i < ws->n; i++)
		free(ws->w[i].text);
	ws->n = 0;
}

/* Position of byte `at` of node n's text (exact for single-line scalars). */
static void pos_of(const struct tnode *n, size_t at, unsigned *line, unsigned *col)
{
	*line = n->line;
	*col = n->column;
	if (n->end_line == n->line)
		*col = n->column + (n->plain ? 0 : 1) + (unsigned)at;
}

static int err_at(struct trace_ctx *c, const struct tnode *n, size_t at, const char *fmt,
		  const char *a, const char *b)
{
	unsigned line, col;

	pos_of(n, at, &line, &col);
	return trace_error_at(c, line, col, fmt, a, b);
}

static int split_words(struct trace_ctx *c, const struct tnode *n, struct words *ws)
{
	const char *s = n->str;
	size_t i = 0, len = n->len;

	ws->n = 0;
	for (;;) {
		char *buf;
		size_t bl = 0, start;
		char quote = 0;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
			i++;
		if (i >= len)
			return 0;
		if (ws->n == MAX_WORDS)
			return err_at(c, n, i, "dm command has too many words%s%s", "", "");
		start = i;
		if (s[i] == '|') {
			ws->w[ws->n].text = strdup("|");
			if (!ws->w[ws->n].text)
				return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
			ws->w[ws->n].at = i;
			ws->w[ws->n].pipe = true;
			ws->n++;
			i++;
			continue;
		}
		buf = malloc(len - i + 1);
		if (!buf)
			return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
		while (i < len) {
			char ch = s[i];

			if (quote) {
				if (ch == quote) {
					quote = 0;
					i++;
					continue;
				}
				if (ch == '\\' && quote == '"' && i + 1 < len) {
					buf[bl++] = s[i + 1];
					i += 2;
					continue;
				}
				buf[bl++] = ch;
				i++;
				continue;
			}
			if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '|')
				break;
			if (ch == '"' || ch == '\'') {
				quote = ch;
				i++;
				continue;
			}
			if (ch == '\\' && i + 1 < len) {
				buf[bl++] = s[i + 1];
				i += 2;
				continue;
			}
			buf[bl++] = ch;
			i++;
		}
		buf[bl] = 0;
		if (quote) {
			free(buf);
			return err_at(c, n, start, "unterminated %s quote in dm command%s",
				      quote == '"' ? "double" : "single", "");
		}
		ws->w[ws->n].text = buf;
		ws->w[ws->n].at = start;
		ws->w[ws->n].pipe = false;
		ws->n++;
	}
}

static void drop_word(struct words *ws, unsigned i)
{
	free(ws->w[i].text);
	memmove(&ws->w[i], &ws->w[i + 1], (ws->n - i - 1) * sizeof(ws->w[0]));
	ws->n--;
}

static bool dm_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 127 || !strcmp(s, ".") || !strcmp(s, "..") || !strcmp(s, "control"))
		return false;
	return !strchr(s, '/');
}

static bool is_decimal(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool is_major_minor(const char *s)
{
	const char *colon = strchr(s, ':');

	return colon && is_decimal(s, (size_t)(colon - s)) && is_decimal(colon + 1, strlen(colon + 1));
}

/* How many leading arguments of a target type are devices. */
static unsigned device_args(const char *type)
{
	if (!strcmp(type, "linear") || !strcmp(type, "snapshot-origin"))
		return 1;
	if (!strcmp(type, "snapshot") || !strcmp(type, "snapshot-merge"))
		return 2;
	return 0;
}

/*
 * Check the table text of word w (positions: byte offset of the table in
 * the command is tw->at, +1 when the word was quoted).
 */
static int check_table(struct trace_ctx *c, const struct tnode *n, const struct word *tw,
		       const char *self)
{
	const char *t = tw->text;
	size_t base = tw->at + ((n->str[tw->at] == '"' || n->str[tw->at] == '\'') ? 1 : 0);
	unsigned lineno = 0, targets = 0;
	const char *line = t;

	while (*line) {
		const char *end = strchr(line, '\n');
		size_t ll = end ? (size_t)(end - line) : strlen(line);
		char field[4][160];
		size_t fat[4] = { 0 };
		unsigned nf = 0;
		size_t i = 0;

		lineno++;
		while (i < ll && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == ll || line[i] == '#')
			goto next;
		/* start, length, type, then the device arguments. */
		while (i < ll && nf < 4) {
			size_t s0 = i, fl;

			while (i < ll && line[i] != ' ' && line[i] != '\t' && line[i] != '#')
				i++;
			fl = i - s0;
			if (!fl)
				break;
			if (fl >= sizeof(field[0]))
				fl = sizeof(field[0]) - 1;
			memcpy(field[nf], line + s0, fl);
			field[nf][fl] = 0;
			fat[nf] = (size_t)(line - t) + s0;
			nf++;
			while (i < ll && (line[i] == ' ' || line[i] == '\t'))
				i++;
			if (nf == 3) {
				/* Device arguments follow: check them one by one. */
				unsigned ndev = device_args(field[2]);

				for (unsigned d = 0; d < ndev; d++) {
					size_t a0 = i;
					char arg[160];
					size_t al;

					while (i < ll && line[i] != ' ' && line[i] != '\t' &&
					       line[i] != '#')
						i++;
					al = i - a0;
					if (!al)
						break;
					if (al >= sizeof(arg))
						al = sizeof(arg) - 1;
					memcpy(arg, line + a0, al);
					arg[al] = 0;
					if (!is_major_minor(arg) && !trace_dev_known(c, arg))
						return err_at(c, n, base + (size_t)(line - t) + a0,
							      "table: device '%s' is not defined (no disk "
							      "and no dm device of that name before this "
							      "step)%s", arg, "");
					if (self && !strcmp(arg + (strncmp(arg, "/dev/mapper/", 12) ? 0 : 12),
							    self))
						return err_at(c, n, base + (size_t)(line - t) + a0,
							      "table: device '%s' may not map onto itself%s",
							      arg, "");
					while (i < ll && (line[i] == ' ' || line[i] == '\t'))
						i++;
				}
				break;
			}
		}
		if (nf < 3) {
			char ln[16];

			snprintf(ln, sizeof(ln), "%u", lineno);
			return err_at(c, n, base + (size_t)(line - t),
				      "table line %s: needs <start> <length> <target_type>%s", ln, "");
		}
		if (!is_decimal(field[0], strlen(field[0])))
			return err_at(c, n, base + fat[0], "table: start '%s' is not a decimal number%s",
				      field[0], "");
		if (!is_decimal(field[1], strlen(field[1])))
			return err_at(c, n, base + fat[1],
				      "table: length '%s' is not a decimal number%s", field[1], "");
		targets++;
next:
		if (!end)
			break;
		line = end + 1;
	}
	if (!targets)
		return err_at(c, n, tw->at, "table has no targets%s%s", "", "");
	return 0;
}

static const char *const verb_names[] = {
	[TRACE_DM_CREATE] = "create", [TRACE_DM_LOAD] = "load",
	[TRACE_DM_SUSPEND] = "suspend", [TRACE_DM_RESUME] = "resume",
	[TRACE_DM_REMOVE] = "remove", [TRACE_DM_CLEAR] = "clear",
	[TRACE_DM_TABLE_PIPE] = "table",
};

const char *trace_dm_verb_name(enum trace_dm_verb verb)
{
	if ((unsigned)verb < sizeof(verb_names) / sizeof(verb_names[0]))
		return verb_names[verb];
	return "?";
}

static int take(struct trace_ctx *c, struct word *w, char **dst)
{
	(void)c;
	*dst = w->text;
	w->text = NULL;
	return 0;
}

static int need_name(struct trace_ctx *c, const struct tnode *n, struct words *ws,
		     unsigned i, const char *verb)
{
	if (i >= ws->n || ws->w[i].pipe)
		return err_at(c, n, i < ws->n ? ws->w[i].at : n->len,
			      "dm %s: missing device name%s", verb, "");
	if (!dm_name_ok(ws->w[i].text))
		return err_at(c, n, ws->w[i].at,
			      "dm %s: '%s' is not a valid dm device name", verb, ws->w[i].text);
	return 0;
}

int trace_dm_parse(struct trace_ctx *c, const struct tnode *n, struct trace_dm *dm,
		   bool check_names)
{
	struct words ws = { .n = 0 };
	const char *verb;
	unsigned i = 2;
	int r;

	memset(dm, 0, sizeof(*dm));
	dm->text = strdup(n->str);
	if (!dm->text)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	r = split_words(c, n, &ws);
	if (r)
		goto out;
	/* A leading "dmsetup" is allowed, so the seed's lines paste as they are. */
	if (ws.n && !ws.w[0].pipe && !strcmp(ws.w[0].text, "dmsetup"))
		drop_word(&ws, 0);
	if (!ws.n) {
		r = trace_error_node(c, n, "empty dm command");
		goto out;
	}
	verb = ws.w[0].text;
	if (!strcmp(verb, "create"))
		dm->verb = TRACE_DM_CREATE;
	else if (!strcmp(verb, "load") || !strcmp(verb, "reload"))
		dm->verb = TRACE_DM_LOAD;
	else if (!strcmp(verb, "suspend"))
		dm->verb = TRACE_DM_SUSPEND;
	else if (!strcmp(verb, "resume"))
		dm->verb = TRACE_DM_RESUME;
	else if (!strcmp(verb, "remove"))
		dm->verb = TRACE_DM_REMOVE;
	else if (!strcmp(verb, "clear"))
		dm->verb = TRACE_DM_CLEAR;
	else if (!strcmp(verb, "table"))
		dm->verb = TRACE_DM_TABLE_PIPE;
	else if (!strcmp(verb, "status") || !strcmp(verb, "deps") || !strcmp(verb, "info")) {
		r = err_at(c, n, ws.w[0].at,
			   "dm %s: use a '%s: NAME' step (with expect:) to check output", verb, verb);
		goto out;
	} else {
		r = err_at(c, n, ws.w[0].at,
			   "unknown dm verb '%s' (create, load, suspend, resume, remove, clear, "
			   "table NAME | load OTHER)%s", verb, "");
		goto out;
	}
	if ((r = need_name(c, n, &ws, 1, verb)))
		goto out;
	take(c, &ws.w[1], &dm->name);

	if (dm->verb == TRACE_DM_TABLE_PIPE) {
		if (i >= ws.n || !ws.w[i].pipe) {
			r = err_at(c, n, i < ws.n ? ws.w[i].at : n->len,
				   "dm table: only 'table NAME | load OTHER' is a step; use a "
				   "'table: NAME' step to check output%s%s", "", "");
			goto out;
		}
		i++;
		if (i < ws.n && !ws.w[i].pipe && !strcmp(ws.w[i].text, "dmsetup"))
			i++;
		if (i >= ws.n || (strcmp(ws.w[i].text, "load") && strcmp(ws.w[i].text, "reload"))) {
			r = err_at(c, n, i < ws.n ? ws.w[i].at : n->len,
				   "dm table: the pipe must feed 'load OTHER'%s%s", "", "");
			goto out;
		}
		i++;
		if ((r = need_name(c, n, &ws, i, "load")))
			goto out;
		take(c, &ws.w[i], &dm->pipe_dst);
		i++;
	}
	for (; i < ws.n; i++) {
		const char *opt = ws.w[i].text;
		bool ok = false;

		if (ws.w[i].pipe) {
			r = err_at(c, n, ws.w[i].at, "dm %s: a pipe is only allowed as "
				   "'table NAME | load OTHER'%s", verb, "");
			goto out;
		}
		if ((dm->verb == TRACE_DM_CREATE || dm->verb == TRACE_DM_LOAD) &&
		    !strcmp(opt, "--table")) {
			if (dm->table || i + 1 >= ws.n || ws.w[i + 1].pipe) {
				r = err_at(c, n, ws.w[i].at, dm->table ? "dm %s: --table given twice%s"
					   : "dm %s: --table needs the table text%s", verb, "");
				goto out;
			}
			i++;
			if (check_names && (r = check_table(c, n, &ws.w[i], dm->name)))
				goto out;
			take(c, &ws.w[i], &dm->table);
			ok = true;
		} else if (dm->verb == TRACE_DM_CREATE && !strcmp(opt, "--notable")) {
			dm->flags |= TRACE_DM_NOTABLE;
			ok = true;
		} else if (dm->verb == TRACE_DM_CREATE && !strcmp(opt, "--uuid") && i + 1 < ws.n &&
			   !dm->uuid) {
			i++;
			take(c, &ws.w[i], &dm->uuid);
			ok = true;
		} else if ((dm->verb == TRACE_DM_CREATE || dm->verb == TRACE_DM_LOAD) &&
			   (!strcmp(opt, "--readonly") || !strcmp(opt, "-r"))) {
			dm->flags |= TRACE_DM_READONLY;
			ok = true;
		} else if (dm->verb == TRACE_DM_SUSPEND && !strcmp(opt, "--noflush")) {
			dm->flags |= TRACE_DM_NOFLUSH;
			ok = true;
		} else if (dm->verb == TRACE_DM_SUSPEND && !strcmp(opt, "--nolockfs")) {
			dm->flags |= TRACE_DM_NOLOCKFS;
			ok = true;
		}
		if (!ok) {
			r = err_at(c, n, ws.w[i].at, opt[0] == '-' ? "dm %s: unknown option '%s'"
				   : "dm %s: unexpected word '%s'", verb, opt);
			goto out;
		}
	}
	if (dm->verb == TRACE_DM_CREATE && !dm->table && !(dm->flags & TRACE_DM_NOTABLE)) {
		r = err_at(c, n, ws.w[0].at, "dm create: give --table \"...\" or --notable "
			   "(dmsetup would read the table from standard input)%s%s", "", "");
		goto out;
	}
	if (dm->verb == TRACE_DM_CREATE && dm->table && (dm->flags & TRACE_DM_NOTABLE)) {
		r = err_at(c, n, ws.w[0].at, "dm create: --table and --notable together%s%s", "", "");
		goto out;
	}
	if (dm->verb == TRACE_DM_LOAD && !dm->table) {
		r = err_at(c, n, ws.w[0].at, "dm load: give --table \"...\" (or pipe: "
			   "'table NAME | load OTHER')%s%s", "", "");
		goto out;
	}
	if (check_names) {
		/* Names used must exist; create defines, remove undefines. */
		if (dm->verb == TRACE_DM_CREATE) {
			if (trace_dm_defined(c, dm->name)) {
				r = err_at(c, n, ws.w[1].at,
					   "dm create: device '%s' already exists%s", dm->name, "");
				goto out;
			}
			r = trace_dm_define(c, dm->name);
			goto out;
		}
		if (!trace_dm_defined(c, dm->name)) {
			r = err_at(c, n, ws.w[1].at, trace_find_disk(c, dm->name)
				   ? "dm %s: '%s' is a disk, not a dm device"
				   : "dm %s: device '%s' is not defined (never created before this step)",
				   verb, dm->name);
			goto out;
		}
		if (dm->pipe_dst && !trace_dm_defined(c, dm->pipe_dst)) {
			r = trace_error_node(c, n, "dm load: device '%s' is not defined (never created "
					     "before this step)", dm->pipe_dst);
			goto out;
		}
		if (dm->verb == TRACE_DM_REMOVE)
			trace_dm_undefine(c, dm->name);
	}
out:
	words_free(&ws);
	return r;
}

void trace_dm_release(struct trace_dm *dm)
{
	free(dm->name);
	free(dm->table);
	free(dm->uuid);
	free(dm->pipe_dst);
	free(dm->text);
	memset(dm, 0, sizeof(*dm));
}
