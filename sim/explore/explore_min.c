/*
 * explore_min.c - shrink a failing trace (explore_minimize, explore.h).
 *
 * Two passes, each bounded by the run budget:
 *   1. delta debugging (ddmin) over the trace's steps: the text is cut
 *      into the header (everything up to `steps:`) and one chunk per
 *      top-level step item (with the comments above it); a candidate keeps
 *      a subset of the chunks and must still fail the explorer with the
 *      same failure signature (explore_failure_signature: verdict, live or
 *      crash state, the check, its device, the kind of evidence), so a
 *      failing read is never traded for another failure (a candidate the
 *      loader rejects does not fail);
 *   2. the surviving-write set of the first failing state: one write at a
 *      time is dropped while the state at that crash point still fails
 *      with that signature.
 * Working on the text, not on parsed steps, keeps every step exactly as
 * the author wrote it (units, comments, data specs); the loader checks
 * each candidate anyway.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"

struct chunks {
	char *header;        /* up to and including the `steps:` line */
	char **item;
	size_t n;
};

static void chunks_free(struct chunks *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->item[i]);
	free(c->item);
	free(c->header);
	memset(c, 0, sizeof(*c));
}

static char *dup_range(const char *a, const char *b)
{
	char *s = malloc((size_t)(b - a) + 1);

	if (s) {
		memcpy(s, a, (size_t)(b - a));
		s[b - a] = 0;
	}
	return s;
}

/* Split text into header and step items. -EINVAL when there is no `steps:` list. */
static int chunks_split(const char *text, struct chunks *c)
{
	const char *p = text, *steps = NULL, *start, *line;
	int indent = -1;

	memset(c, 0, sizeof(*c));
	for (line = text; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
		if (!strncmp(line, "steps:", 6)) {
			steps = line;
			break;
		}
	}
	if (!steps)
		return -EINVAL;
	p = strchr(steps, '\n');
	p = p ? p + 1 : steps + strlen(steps);
	c->header = dup_range(text, p);
	if (!c->header)
		return -ENOMEM;
	start = p;
	for (line = p; *line;) {
		const char *nl = strchr(line, '\n');
		const char *next = nl ? nl + 1 : line + strlen(line);
		int sp = 0;

		while (line[sp] == ' ')
			sp++;
		if (line[sp] == '-' && (indent < 0 || sp == indent)) {
			if (indent < 0) {
				indent = sp;
			} else {
				/* The previous item ends where this one's comments begin. */
				const char *cut = line;

				while (cut > start) {
					const char *prev = cut - 1;

					while (prev > start && prev[-1] != '\n')
						prev--;
					int k = 0;

					while (prev[k] == ' ')
						k++;
					if (prev[k] != '#' && prev[k] != '\n')
						break;
					cut = prev;
				}
				void *n = realloc(c->item, (c->n + 1) * sizeof(*c->item));

				if (!n)
					return -ENOMEM;
				c->item = n;
				c->item[c->n] = dup_range(start, cut);
				if (!c->item[c->n])
					return -ENOMEM;
				c->n++;
				start = cut;
			}
		}
		line = next;
	}
	if (*start) {
		void *n = realloc(c->item, (c->n + 1) * sizeof(*c->item));

		if (!n)
			return -ENOMEM;
		c->item = n;
		c->item[c->n] = strdup(start);
		if (!c->item[c->n])
			return -ENOMEM;
		c->n++;
	}
	return 0;
}

/* The text of header + the items with keep[i]. */
static char *chunks_join(const struct chunks *c, const bool *keep)
{
	size_t len = strlen(c->header) + 1;
	char *s, *p;

	for (size_t i = 0; i < c->n; i++)
		if (keep[i])
			len += strlen(c->item[i]);
	s = malloc(len);
	if (!s)
		return NULL;
	p = s + sprintf(s, "%s", c->header);
	for (size_t i = 0; i < c->n; i++)
		if (keep[i])
			p += sprintf(p, "%s", c->item[i]);
	return s;
}

/* ------------------------------------------------------------------ */
/* The failure signature                                                */

/* Whether text at p starts with name followed by ":LINE:COL: ", ":LINE: ", ": " or ":". */
static size_t name_prefix(const char *p, const char *name)
{
	size_t n = strlen(name), k;

	if (!n || strncmp(p, name, n) || p[n] != ':')
		return 0;
	k = n;
	for (int field = 0; field < 2 && p[k] == ':' && p[k + 1] >= '0' && p[k + 1] <= '9'; field++) {
		k++;
		while (p[k] >= '0' && p[k] <= '9')
			k++;
	}
	if (p[k] == ':')
		k++;
	if (p[k] == ' ')
		k++;
	return k;
}

void explore_failure_signature(const struct explore_result *r, const char *name, char *buf,
			       size_t len)
{
	const char *msg = r->fail_point >= 0 ? r->failure : r->replay_failure;
	size_t o;
	int n = snprintf(buf, len, "%s %s: ", explore_verdict_name(r->verdict),
			 r->fail_point >= 0 ? "crash state" : "live run");

	if (n < 0 || (size_t)n >= len)
		return;
	o = (size_t)n;
	for (const char *p = msg; *p && o + 1 < len;) {
		size_t skip = name ? name_prefix(p, name) : 0;

		if (skip && (p == msg || p[-1] == ' ' || p[-1] == '(')) {
			p += skip; /* the trace's name and line: they change as steps go */
			continue;
		}
		if (!strncmp(p, ", found ", 8) || !strncmp(p, " (seed ", 7))
			break; /* what was found depends on the steps left; the seed is fixed */
		if (!strncmp(p, ", got ", 6)) {
			/* a status: keep its name ("got EIO"), not the message after it */
			size_t w = 6 + strcspn(p + 6, " :,()");

			if (o + w >= len)
				break;
			memcpy(buf + o, p, w);
			o += w;
			break;
		}
		if (*p >= '0' && *p <= '9') {
			bool in_word = p > msg && (isalpha((unsigned char)p[-1]) || p[-1] == '_');

			if (in_word) {
				buf[o++] = *p++; /* part of a name: S2, sd1a */
				continue;
			}
			/* a number (sector, chunk, count, pattern seed): its value is position-specific */
			while (*p >= '0' && *p <= '9')
				p++;
			buf[o++] = '#';
			continue;
		}
		buf[o++] = *p == '\n' || *p == '\t' ? ' ' : *p; /* one line */
		p++;
	}
	buf[o] = '\0';
}

/* ------------------------------------------------------------------ */
/* The minimizer                                                        */

struct min_ctx {
	const char *name;
	struct explore_opts o;
	char want[1024];       /* the original's signature */
	unsigned runs, max_runs;
};

static bool still_fails(struct min_ctx *m, const char *text, struct explore_result *res)
{
	struct explore_result local;
	char sig[1024];

	if (!res)
		res = &local;
	if (m->runs >= m->max_runs)
		return false;
	m->runs++;
	explore_trace_mem(m->name, text, strlen(text), &m->o, res);
	if (res->verdict == EXPLORE_OK || res->verdict == EXPLORE_BAD_TRACE)
		return false;
	explore_failure_signature(res, m->name, sig, sizeof(sig));
	return !strcmp(sig, m->want);
}

/* ddmin over the items: keep[] in, keep[] out (a 1-minimal subset within the budget). */
static void ddmin(struct min_ctx *m, const struct chunks *c, bool *keep)
{
	size_t gran = 2;

	for (;;) {
		size_t live = 0, *at;
		bool reduced = false;

		for (size_t i = 0; i < c->n; i++)
			live += keep[i];
		if (live < 2 || m->runs >= m->max_runs)
			return;
		if (gran > live)
			gran = live;
		at = malloc(live * sizeof(*at));
		if (!at)
			return;
		for (size_t i = 0, j = 0; i < c->n; i++)
			if (keep[i])
				at[j++] = i;
		/* Try removing each of gran parts (the complement keeps the rest). */
		for (size_t part = 0; part < gran && !reduced; part++) {
			size_t lo = live * part / gran, hi = live * (part + 1) / gran;
			char *text;

			for (size_t j = lo; j < hi; j++)
				keep[at[j]] = false;
			text = chunks_join(c, keep);
			if (text && still_fails(m, text, NULL)) {
				reduced = true;
			} else {
				for (size_t j = lo; j < hi; j++)
					keep[at[j]] = true;
			}
			free(text);
		}
		free(at);
		if (reduced) {
			gran = gran > 2 ? gran - 1 : 2;
		} else {
			if (gran >= live)
				return;
			gran = gran * 2 < live ? gran * 2 : live;
		}
	}
}

/* Drop surviving writes one at a time while the state still fails. */
static void shrink_survivors(struct min_ctx *m, const char *text, int64_t point, char *surv,
			     size_t surv_len)
{
	struct min_ctx one = *m;
	size_t pos = 0;

	one.o.only_point = point;
	for (;;) {
		/* Find the next write token (digits after ':' or ',') at or after pos. */
		char *s = surv + pos, *tok = NULL, *end;

		for (; *s; s++) {
			if ((s[0] == ':' || s[0] == ',') && s[1] >= '0' && s[1] <= '9') {
				tok = s;
				break;
			}
		}
		if (!tok || m->runs + one.runs >= m->max_runs)
			break;
		end = tok + 1;
		while (*end && *end != ',' && *end != ';')
			end++;
		char cand[2048];
		size_t head = (size_t)(tok - surv);

		/* ":12," -> ":" keeps the separator before; ",12" -> "" */
		if (tok[0] == ':') {
			snprintf(cand, sizeof(cand), "%.*s:%s", (int)head, surv,
				 *end == ',' ? end + 1 : end);
		} else {
			snprintf(cand, sizeof(cand), "%.*s%s", (int)head, surv, end);
		}
		one.o.only_survivors = cand;
		if (still_fails(&one, text, NULL)) {
			snprintf(surv, surv_len, "%s", cand);
			pos = head; /* the next token now starts here */
		} else {
			pos = (size_t)(end - surv);
		}
	}
	m->runs += one.runs;
}

/* Read path whole. 0 or a negative errno. */
static int read_text(const char *path, char **text)
{
	FILE *f = fopen(path, "rb");
	long size;

	*text = NULL;
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -EIO;
	}
	*text = malloc((size_t)size + 1);
	if (!*text || fread(*text, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(*text);
		*text = NULL;
		return -EIO;
	}
	fclose(f);
	(*text)[size] = 0;
	return 0;
}

/* text as the rest of a YAML comment line: its own newlines continue the comment. */
static void comment(FILE *f, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\n' && p[1])
			fputs("\n#     ", f);
		else if (*p != '\n')
			fputc(*p, f);
	}
	fputc('\n', f);
}

/*
 * msg with every "name:LINE" moved down by lines (malloc'd): the candidates
 * ran without the comment lines the minimized trace starts with.
 */
static char *shift_lines(const char *msg, const char *name, unsigned lines)
{
	size_t n = strlen(name), len = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (const char *p = msg; *p;) {
		if (n && !strncmp(p, name, n) && p[n] == ':' && isdigit((unsigned char)p[n + 1]) &&
		    (p == msg || p[-1] == ' ' || p[-1] == '(')) {
			char *end;
			unsigned long v = strtoul(p + n + 1, &end, 10);

			fprintf(f, "%s:%lu", name, v + lines);
			p = end;
		} else {
			fputc(*p++, f);
		}
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *render_text(const char *path, const char *out_path, const struct explore_opts *o,
			 const struct explore_result *failed, const struct explore_result *res,
			 const char *msg, const char *surv, const char *sig, size_t kept,
			 size_t total, const char *min);

/* The minimized trace: comment lines saying how it fails and how to replay it, then min. */
static char *render(const char *path, const char *out_path, const struct explore_opts *o,
		    const struct explore_result *failed, const struct explore_result *res,
		    const char *surv, const char *sig, size_t kept, size_t total, const char *min)
{
	const char *msg = res->fail_point >= 0 ? res->failure : res->replay_failure;
	char *head = render_text(path, out_path, o, failed, res, msg, surv, sig, kept, total, "");
	char *shifted, *text;
	unsigned lines = 0;

	if (!head)
		return NULL;
	for (const char *p = head; *p; p++)
		lines += *p == '\n';
	free(head);
	/* The message's lines are the candidate's: count the comment lines above them. */
	shifted = shift_lines(msg, out_path, lines);
	if (!shifted)
		return NULL;
	text = render_text(path, out_path, o, failed, res, shifted, surv, sig, kept, total, min);
	free(shifted);
	return text;
}

static char *render_text(const char *path, const char *out_path, const struct explore_opts *o,
			 const struct explore_result *failed, const struct explore_result *res,
			 const char *msg, const char *surv, const char *sig, size_t kept,
			 size_t total, const char *min)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	char ebudget[48] = "";

	if (!f)
		return NULL;
	if (o->event_budget) /* a hang depends on it */
		snprintf(ebudget, sizeof(ebudget), " --event-budget %" PRIu64, o->event_budget);
	fprintf(f, "# Minimized by snapsim explore from %s (seed %" PRIu64 "): %zu of %zu steps kept.\n",
		path, failed->seed, kept, total);
	if (res->fail_point >= 0) {
		fprintf(f, "# Fails at crash point %" PRId64 " with surviving writes '%s':\n#   ",
			res->fail_point, surv);
		comment(f, msg);
		/* A failure the checker found replays only with the checker. */
		fprintf(f, "# Replay: %s explore %s --seed %" PRIu64 " --mode %s --subsets %s --budget %" PRIu64
			"%s --point %" PRId64 " --survivors '%s'%s%s\n",
			o->program ? o->program : "snapsim", out_path, failed->seed,
			explore_mode_name(o->mode), explore_subsets_name(o->subsets),
			o->budget ? o->budget : 64, ebudget, res->fail_point, surv,
			o->check_repro ? " " : "", o->check_repro ? o->check_repro : "");
	} else {
		fputs("# Fails without a crash: ", f);
		comment(f, msg);
		fprintf(f, "# Replay: %s explore %s --seed %" PRIu64 " --mode %s%s\n",
			o->program ? o->program : "snapsim", out_path, failed->seed,
			explore_mode_name(o->mode), ebudget);
	}
	fprintf(f, "# Failure signature (kept by the minimizer): %s\n", sig);
	fputs(min, f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

int explore_minimize(const char *path, const struct explore_opts *o,
		     const struct explore_result *failed, const char *out_path,
		     unsigned max_runs, FILE *log, char **out_text)
{
	struct min_ctx m = { .name = out_path, .o = *o, .max_runs = max_runs ? max_runs : 200 };
	struct explore_result *res = malloc(sizeof(*res));
	struct chunks c = { 0 };
	char surv[2048], *text = NULL, *min = NULL;
	bool *keep = NULL;
	unsigned spent;
	size_t kept = 0;
	int r;

	*out_text = NULL;
	if (!res)
		return -ENOMEM;
	explore_failure_signature(failed, path, m.want, sizeof(m.want));
	m.o.db = NULL;
	m.o.log = NULL;
	m.o.save_failing_dir = NULL; /* the minimizer's runs save nothing */
	m.o.keep_going = false;
	m.o.only_point = -1;
	m.o.only_survivors = NULL;
	m.o.has_seed = true;
	m.o.seed = failed->seed;

	r = read_text(path, &text);
	if (r)
		goto out_free;
	r = chunks_split(text, &c);
	if (r)
		goto out_free;
	keep = malloc((c.n ? c.n : 1) * sizeof(bool));
	if (!keep) {
		r = -ENOMEM;
		goto out_chunks;
	}
	for (size_t i = 0; i < c.n; i++)
		keep[i] = true;
	ddmin(&m, &c, keep);
	min = chunks_join(&c, keep);
	if (!min) {
		r = -ENOMEM;
		goto out_chunks;
	}
	/* Where does the minimized trace fail? (one run more than the budget) */
	spent = m.runs;
	m.runs = 0;
	m.max_runs = 1;
	if (!still_fails(&m, min, res)) {
		/* Flaky: fall back to the original. */
		free(min);
		min = strdup(text);
		*res = *failed;
		for (size_t i = 0; i < c.n; i++)
			keep[i] = true;
		if (!min) {
			r = -ENOMEM;
			goto out_chunks;
		}
	}
	m.runs = spent + 1;
	m.max_runs = max_runs ? max_runs : 200;
	snprintf(surv, sizeof(surv), "%s", res->fail_survivors);
	if (res->fail_point >= 0)
		shrink_survivors(&m, min, res->fail_point, surv, sizeof(surv));
	for (size_t i = 0; i < c.n; i++)
		kept += keep[i];
	*out_text = render(path, out_path, o, failed, res, surv, m.want, kept, c.n, min);
	r = *out_text ? 0 : -ENOMEM;
	if (log && !r)
		fprintf(log, "minimizing %s: %zu of %zu steps kept (%u explorer runs)\n", path,
			kept, c.n, m.runs);
out_chunks:
	chunks_free(&c);
out_free:
	free(res);
	free(keep);
	free(min);
	free(text);
	return r;
}
