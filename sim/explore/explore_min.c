/*
 * explore_min.c - shrink a failing trace (explore_minimize, explore.h).
 *
 * Two passes, each bounded by the run budget:
 *   1. delta debugging (ddmin) over the trace's steps: the text is cut
 *      into the header (everything up to `steps:`) and one chunk per
 *      top-level step item (with the comments above it); a candidate keeps
 *      a subset of the chunks and must still fail the explorer with the
 *      same verdict (a candidate the loader rejects does not fail);
 *   2. the surviving-write set of the first failing state: one write at a
 *      time is dropped while the state at that crash point still fails.
 * Working on the text, not on parsed steps, keeps every step exactly as
 * the author wrote it (units, comments, data specs); the loader checks
 * each candidate anyway.
 */
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

struct min_ctx {
	const char *name;
	struct explore_opts o;
	enum explore_verdict want;
	bool want_crash;       /* the original failed in a crash state, not in the live run */
	unsigned runs, max_runs;
};

static bool still_fails(struct min_ctx *m, const char *text, struct explore_result *res)
{
	struct explore_result local;

	if (!res)
		res = &local;
	if (m->runs >= m->max_runs)
		return false;
	m->runs++;
	explore_trace_mem(m->name, text, strlen(text), &m->o, res);
	return res->verdict == m->want && (res->fail_point >= 0) == m->want_crash;
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

int explore_minimize(const char *path, const struct explore_opts *o,
		     const struct explore_result *failed, const char *out_path,
		     unsigned max_runs, FILE *log)
{
	struct min_ctx m = { .name = out_path, .o = *o, .want = failed->verdict,
			     .want_crash = failed->fail_point >= 0,
			     .max_runs = max_runs ? max_runs : 200 };
	struct explore_result res;
	struct chunks c;
	char surv[2048], *text = NULL, *min = NULL;
	bool *keep = NULL;
	FILE *f;
	long size;
	int r;

	m.o.db = NULL;
	m.o.log = NULL;
	m.o.keep_going = false;
	m.o.only_point = -1;
	m.o.only_survivors = NULL;
	m.o.has_seed = true;
	m.o.seed = failed->seed;

	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -EIO;
	}
	text = malloc((size_t)size + 1);
	if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(text);
		return -EIO;
	}
	fclose(f);
	text[size] = 0;

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
	/* Where does the minimized trace fail? */
	m.runs = 0;
	m.max_runs = m.max_runs + 1;
	if (!still_fails(&m, min, &res)) {
		/* Budget gone or flaky: fall back to the original. */
		free(min);
		min = strdup(text);
		res = *failed;
		if (!min) {
			r = -ENOMEM;
			goto out_chunks;
		}
	}
	snprintf(surv, sizeof(surv), "%s", res.fail_survivors);
	if (res.fail_point >= 0)
		shrink_survivors(&m, min, res.fail_point, surv, sizeof(surv));

	f = fopen(out_path, "w");
	if (!f) {
		r = -errno;
		goto out_chunks;
	}
	size_t kept = 0;

	for (size_t i = 0; i < c.n; i++)
		kept += keep[i];
	fprintf(f, "# Minimized by snapsim explore from %s (seed %" PRIu64 "): %zu of %zu steps kept.\n",
		path, failed->seed, kept, c.n);
	if (res.fail_point >= 0) {
		fprintf(f, "# Fails at crash point %" PRId64 " with surviving writes '%s':\n#   %s\n",
			res.fail_point, surv, res.failure);
		fprintf(f, "# Replay: %s explore %s --seed %" PRIu64 " --mode %s --subsets %s --budget %" PRIu64
			" --point %" PRId64 " --survivors '%s'\n",
			o->program ? o->program : "snapsim", out_path, failed->seed,
			explore_mode_name(o->mode), explore_subsets_name(o->subsets),
			o->budget ? o->budget : 64, res.fail_point, surv);
	} else {
		fprintf(f, "# Fails without a crash: %s\n# Replay: %s explore %s --seed %" PRIu64 "\n",
			res.replay_failure, o->program ? o->program : "snapsim", out_path, failed->seed);
	}
	fputs(min, f);
	r = fclose(f) ? -EIO : 0;
	if (log)
		fprintf(log, "minimized trace: %s (%zu of %zu steps, %u explorer runs)\n", out_path,
			kept, c.n, m.runs);
out_chunks:
	chunks_free(&c);
out_free:
	free(keep);
	free(min);
	free(text);
	return r;
}
