/*
 * prop.c - running a property (prop.h): build the generated case of a
 * seed, run the property on it (prop_props.h), shrink a failure
 * (prop_shrink.c) and write the minimized trace; and the same check on a
 * user's trace, minimized by the explorer's own minimizer.
 */
#include "prop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore.h"
#include "prop_props.h"
#include "prop_shrink.h"

#define PROP_DEFAULT_RUNS 300

static const char *const prop_names[PROP_COUNT] = { "crash", "stores", "clean" };

const char *prop_name(enum prop_kind k)
{
	return (unsigned)k < PROP_COUNT ? prop_names[k] : "?";
}

int prop_parse(const char *name)
{
	for (int k = 0; k < PROP_COUNT; k++)
		if (!strcmp(name, prop_names[k]))
			return k;
	return -1;
}

static void write_trace(struct shrink *s, struct prop_result *res)
{
	const char *dir = s->o->out_dir ? s->o->out_dir : getenv("TMPDIR");
	size_t len, tlen = 0;
	char *buf, *text = NULL;
	FILE *f;

	if (!s->o->save || !(buf = gen_case_yaml(s->c, s->keep, &len)))
		return;
	snprintf(res->trace_path, sizeof(res->trace_path), "%s/prop-%s-%" PRIu64 ".yaml",
		 dir && *dir ? dir : "/tmp", prop_name(s->k), s->seed);
	f = open_memstream(&text, &tlen);
	if (!f) {
		res->trace_path[0] = '\0';
		free(buf);
		return;
	}
	fprintf(f, "# snapsim property '%s' failed: seed %" PRIu64 " (SNAPSIM_SEED=%" PRIu64
		" reproduces it; minimized from %zu to %zu steps in %u runs)\n",
		prop_name(s->k), s->seed, s->seed, res->steps_before, res->steps_after, res->runs);
	for (const char *m = s->msg; *m;) {
		size_t l = strcspn(m, "\n");

		fprintf(f, "# %.*s\n", (int)l, m);
		m += l + (m[l] == '\n');
	}
	if (s->k == PROP_CRASH && s->co.point >= 0)
		fprintf(f, "# replay the state: snapsim explore %s --mode marked --seed %" PRIu64
			" --point %" PRId64 " --survivors '%s'\n", res->trace_path, s->seed,
			s->co.point, s->co.survivors);
	else if (s->k == PROP_CRASH)
		fprintf(f, "# replay: snapsim explore %s --seed %" PRIu64 "\n", res->trace_path, s->seed);
	else
		fprintf(f, "# replay: snapsim check --trace %s --seed %" PRIu64 "\n",
			res->trace_path, s->seed);
	fwrite(buf, 1, len, f);
	if (fclose(f) || s->o->save(s->o->save_ctx, res->trace_path, text, tlen))
		res->trace_path[0] = '\0';
	free(text);
	free(buf);
}

static struct gen_opts case_opts(enum prop_kind k, const struct prop_opts *o)
{
	struct gen_opts g = { .merge = true, .remove = true };

	switch (k) {
	case PROP_CRASH:
		g.store = o->store;
		g.crashes = true;
		g.remove = false; /* the explorer checks the end state too: see prop.h */
		g.faults = o->faults;
		g.merge_crashes = o->merge_crashes;
		break;
	case PROP_STORES:
		g.store = 'P'; /* rendered a second time with N */
		g.merge = false;
		break;
	default:
		g.store = o->store == 'N' ? 'P' : o->store ? o->store : 'P';
		break;
	}
	return g;
}

int prop_run(enum prop_kind k, uint64_t seed, const struct prop_opts *o, struct prop_result *res)
{
	struct gen_opts g = case_opts(k, o);
	struct gen_case c;
	struct shrink s = { .k = k, .seed = seed, .o = o, .c = &c,
			    .max_runs = o->shrink_runs ? o->shrink_runs : PROP_DEFAULT_RUNS };
	int r, cls;

	memset(res, 0, sizeof(*res));
	res->seed = seed;
	res->crash_point = -1;
	r = gen_case_build(seed, &g, &c);
	if (r)
		return r;
	s.keep = malloc(c.nr * sizeof(*s.keep));
	if (!s.keep) {
		gen_case_free(&c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c.nr; i++)
		s.keep[i] = true;
	res->steps_before = res->steps_after = c.nr;
	cls = prop_shrink_attempt(&s, true);
	res->states = s.co.states;
	if (cls < 0) {
		r = cls;
		goto out;
	}
	if (cls == 0)
		goto out;
	res->failed = true;
	s.want = cls;
	if (!o->no_shrink) {
		size_t len;
		char *buf;

		prop_shrink_steps(&s);
		for (size_t i = 0; i < c.nr; i++)
			if (s.keep[i])
				prop_shrink_len(&s, &c.steps[i]);
		if (k == PROP_CRASH) {
			prop_shrink_attempt(&s, true); /* the final trace's failing state */
			buf = gen_case_yaml(&c, s.keep, &len);
			if (buf && s.co.point >= 0 && s.co.survivors[0])
				prop_shrink_survivors(&s, buf, len);
			free(buf);
		}
	}
	res->steps_after = 0;
	for (size_t i = 0; i < c.nr; i++)
		res->steps_after += s.keep[i];
	res->runs = s.runs;
	snprintf(res->message, sizeof(res->message), "%s", s.msg);
	if (k == PROP_CRASH) {
		res->crash_point = s.co.point;
		snprintf(res->survivors, sizeof(res->survivors), "%s", s.co.survivors);
	}
	write_trace(&s, res);
out:
	free(s.keep);
	gen_case_free(&c);
	return r;
}

int prop_check_trace(const char *path, uint64_t seed, const struct prop_opts *o,
		     struct prop_result *res)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct crash_out co;
	int v;

	memset(res, 0, sizeof(*res));
	res->seed = seed;
	res->crash_point = -1;
	if (!f)
		return -errno;
	for (;;) {
		size_t got;

		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	v = prop_crash_run(path, buf, len, seed, o, -1, NULL, &co);
	free(buf);
	if (v > 0 && !o->no_shrink && co.point != -2) {
		/* Minimize with the explorer's own minimizer (steps, then survivors). */
		struct explore_opts eo = {
			.has_seed = true, .seed = seed, .mode = EXPLORE_MODE_MARKED,
			.subsets = SIM_SUBSET_RANDOM, .budget = o->budget ? o->budget : PROP_DEFAULT_BUDGET,
			.only_point = -1, .program = "snapsim",
		};
		struct explore_result *er = calloc(1, sizeof(*er));
		const char *dir = o->out_dir ? o->out_dir : getenv("TMPDIR");
		const char *base = strrchr(path, '/');

		snprintf(res->trace_path, sizeof(res->trace_path), "%s/check-%s-%" PRIu64 ".yaml",
			 dir && *dir ? dir : "/tmp", base ? base + 1 : path, seed);
		char *text = NULL;

		if (!o->save || !er || explore_trace(path, &eo, er) == EXPLORE_OK ||
		    explore_minimize(path, &eo, er, res->trace_path, 0, NULL, &text) ||
		    o->save(o->save_ctx, res->trace_path, text, strlen(text)))
			res->trace_path[0] = '\0';
		free(text);
		free(er);
	}
	res->runs = 1;
	res->states = co.states;
	if (v < 0)
		return v;
	if (v > 0) {
		res->failed = true;
		res->crash_point = co.point;
		snprintf(res->survivors, sizeof(res->survivors), "%s", co.survivors);
		snprintf(res->message, sizeof(res->message), "%s", co.msg);
	}
	return 0;
}
