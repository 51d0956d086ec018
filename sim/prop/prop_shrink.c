/*
 * prop_shrink.c - shrinking a failing generated case (prop.h): delta
 * debugging over its droppable steps, halving I/O lengths, then (PROP_CRASH)
 * dropping surviving writes of the failing state one at a time. It only
 * sees "render the case, run the property, same failure class?".
 */
#include "prop_shrink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Render and run; returns the failure class (0: held, < 0: tool error). */
int prop_shrink_attempt(struct shrink *s, bool record)
{
	size_t len;
	char *buf = gen_case_yaml(s->c, s->keep, &len);
	char msg[1024] = "";
	struct crash_out co;
	int cls;

	if (!buf)
		return -ENOMEM;
	s->runs++;
	switch (s->k) {
	case PROP_CRASH:
		cls = prop_crash_run("prop", buf, len, s->seed, s->o, -1, NULL, &co);
		snprintf(msg, sizeof(msg), "%s", co.msg);
		break;
	case PROP_STORES:
		cls = prop_stores_run(buf, len, s->seed, msg, sizeof(msg));
		break;
	default:
		cls = prop_clean_run(buf, len, s->seed, msg, sizeof(msg));
		break;
	}
	free(buf);
	if (record || (cls == s->want && cls > 0)) {
		snprintf(s->msg, sizeof(s->msg), "%s", msg);
		if (s->k == PROP_CRASH)
			s->co = co;
	}
	return cls;
}

static bool still_fails(struct shrink *s)
{
	return s->runs < s->max_runs && prop_shrink_attempt(s, false) == s->want;
}

/* Delta debugging over the droppable steps that are still kept. */
void prop_shrink_steps(struct shrink *s)
{
	size_t *idx = calloc(s->c->nr ? s->c->nr : 1, sizeof(*idx));
	size_t n, parts = 2;

	if (!idx)
		return;
	for (;;) {
		bool reduced = false;

		n = 0;
		for (size_t i = 0; i < s->c->nr; i++)
			if (s->keep[i] && !s->c->steps[i].fixed)
				idx[n++] = i;
		if (n == 0 || s->runs >= s->max_runs)
			break;
		if (parts > n)
			parts = n;
		for (size_t p = 0; p < parts && !reduced; p++) {
			size_t lo = n * p / parts, hi = n * (p + 1) / parts;

			for (size_t j = lo; j < hi; j++)
				s->keep[idx[j]] = false;
			if (still_fails(s)) {
				reduced = true;
			} else {
				for (size_t j = lo; j < hi; j++)
					s->keep[idx[j]] = true;
			}
		}
		if (reduced)
			parts = parts > 2 ? parts - 1 : 2;
		else if (parts >= n)
			break;
		else
			parts = parts * 2 < n ? parts * 2 : n;
	}
	free(idx);
}

void prop_shrink_len(struct shrink *s, struct gen_step *st)
{
	if (st->kind == GEN_PARALLEL) {
		for (unsigned i = 0; i < st->nr_members; i++)
			prop_shrink_len(s, &st->members[i]);
		return;
	}
	if (st->kind != GEN_WRITE && st->kind != GEN_READ)
		return;
	while (st->len > 1) {
		uint64_t old = st->len;

		st->len = old / 2;
		if (!still_fails(s)) {
			st->len = old;
			break;
		}
	}
}

/* Survivors text "d:1,2/ff;c1:3" without token drop (disk-major order). */
static void survivors_without(const char *text, unsigned drop, char *out, size_t len)
{
	char *t = strdup(text), *save = NULL;
	unsigned tok = 0;
	size_t at = 0;

	out[0] = '\0';
	if (!t)
		return;
	for (char *disk = strtok_r(t, ";", &save); disk; disk = strtok_r(NULL, ";", &save)) {
		char *colon = strchr(disk, ':'), *s2 = NULL;
		bool any = false;

		if (!colon)
			continue;
		*colon = '\0';
		for (char *w = strtok_r(colon + 1, ",", &s2); w; w = strtok_r(NULL, ",", &s2), tok++) {
			if (tok == drop)
				continue;
			at += (size_t)snprintf(out + at, at < len ? len - at : 0, "%s%s%s",
					       any ? "," : (at ? ";" : ""), any ? "" : disk,
					       any ? "" : ":");
			at += (size_t)snprintf(out + at, at < len ? len - at : 0, "%s", w);
			any = true;
		}
	}
	free(t);
}

void prop_shrink_survivors(struct shrink *s, const char *buf, size_t len)
{
	char cand[2048];

	for (unsigned drop = 0; s->runs < s->max_runs;) {
		struct crash_out co;

		survivors_without(s->co.survivors, drop, cand, sizeof(cand));
		if (!strcmp(cand, s->co.survivors))
			break; /* no token number drop: done */
		s->runs++;
		if (prop_crash_run("prop", buf, len, s->seed, s->o, s->co.point, cand, &co) > 0) {
			snprintf(s->co.survivors, sizeof(s->co.survivors), "%s", cand);
			snprintf(s->co.msg, sizeof(s->co.msg), "%s", co.msg);
			snprintf(s->msg, sizeof(s->msg), "%s", co.msg);
		} else {
			drop++;
		}
	}
}
