/*
 * trace_steps.c - one step, from the tree of its YAML node to struct
 * trace_step: find its one action, check the names of its parameters, read
 * the error it expects, and parse the action: I/O and queries in
 * trace_io.c, dm commands in trace_dm.c, and here the steps that hold
 * steps (parallel groups, whose writes must not overlap; repeat blocks)
 * and the control steps (crash, wait, settle, sleep). Also frees a step.
 *
 * A step is a mapping with exactly one action key (dm, status, table,
 * deps, info, read, write, flush, discard, parallel, repeat, crash, wait,
 * settle, sleep, save) or the bare scalar `wait` / `settle`. An I/O action's
 * parameters may be written beside the action key (`write: X` then
 * `offset: ...`) or inside it (`write: {dev: X, offset: ...}`).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace_impl.h"

struct action {
	const char *key;
	enum trace_step_kind kind;
	const char *const *params; /* keys besides the action key */
};

static const char *const p_dm[] = { "error", "message", NULL };
static const char *const p_query[] = { "expect", "inactive", "error", NULL };
static const char *const p_read[] = { "dev", "offset", "length", "expect", "error",
				      "may_fail", "stride", "wrap", NULL };
static const char *const p_write[] = { "dev", "offset", "length", "data", "fua", "preflush",
				       "error", "may_fail", "stride", "wrap", NULL };
static const char *const p_flush[] = { "dev", "error", NULL };
static const char *const p_discard[] = { "dev", "offset", "length", "error", "stride",
					 "wrap", NULL };
static const char *const p_save[] = { "to", "durable", NULL };
static const char *const p_none[] = { NULL };

static const struct action actions[] = {
	{ "dm", TRACE_STEP_DM, p_dm },
	{ "status", TRACE_STEP_QUERY, p_query },
	{ "table", TRACE_STEP_QUERY, p_query },
	{ "deps", TRACE_STEP_QUERY, p_query },
	{ "info", TRACE_STEP_QUERY, p_query },
	{ "read", TRACE_STEP_READ, p_read },
	{ "write", TRACE_STEP_WRITE, p_write },
	{ "flush", TRACE_STEP_FLUSH, p_flush },
	{ "discard", TRACE_STEP_DISCARD, p_discard },
	{ "parallel", TRACE_STEP_PARALLEL, p_none },
	{ "repeat", TRACE_STEP_REPEAT, p_none },
	{ "crash", TRACE_STEP_CRASH, p_none },
	{ "wait", TRACE_STEP_WAIT, p_none },
	{ "settle", TRACE_STEP_SETTLE, p_none },
	{ "sleep", TRACE_STEP_SLEEP, p_none },
	{ "save", TRACE_STEP_SAVE, p_save },
};

#define NR_ACTIONS (sizeof(actions) / sizeof(actions[0]))

static void count_step(struct trace_ctx *c)
{
	c->steps_parsed++;
	if (++c->live_steps > c->max_live_steps)
		c->max_live_steps = c->live_steps;
}

/*
 * Two writes (or discards) to overlapping sectors of one device in the same
 * parallel group have no defined order: a disk may complete either last,
 * and no oracle can say which content wins. Such a group is refused (for
 * the first iteration of a repeat; strides are the trace author's to keep
 * apart).
 */
static int group_overlap(struct trace_ctx *c, const struct trace_step *g)
{
	for (unsigned i = 0; i < g->u.group.nr_steps; i++) {
		const struct trace_step *a = &g->u.group.steps[i];
		if (a->kind != TRACE_STEP_WRITE && a->kind != TRACE_STEP_DISCARD)
			continue;
		for (unsigned j = i + 1; j < g->u.group.nr_steps; j++) {
			const struct trace_step *b = &g->u.group.steps[j];
			if (b->kind != TRACE_STEP_WRITE && b->kind != TRACE_STEP_DISCARD)
				continue;
			if (strcmp(a->u.io.dev, b->u.io.dev) != 0)
				continue;
			if (a->u.io.offset < b->u.io.offset + b->u.io.length &&
			    b->u.io.offset < a->u.io.offset + a->u.io.length)
				return trace_error_at(c, b->line, b->column,
						      "writes in one parallel group overlap on %s (with line %u): their order is undefined",
						      a->u.io.dev, a->line);
		}
	}
	return 0;
}

static int parse_group(struct trace_ctx *c, const struct tnode *v, struct trace_step *st,
		       unsigned depth)
{
	int r = tnode_expect_type(c, v, TNODE_SEQ, "parallel");

	if (r)
		return r;
	if (!v->nr_kids)
		return trace_error_node(c, v, "parallel group is empty");
	if (v->nr_kids > TRACE_MAX_PARALLEL)
		return trace_error_node(c, v, "parallel group has more than %u steps",
					TRACE_MAX_PARALLEL);
	st->u.group.steps = calloc(v->nr_kids, sizeof(struct trace_step));
	if (!st->u.group.steps)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	for (unsigned i = 0; i < v->nr_kids; i++) {
		st->u.group.nr_steps = i + 1;
		r = trace_step_parse(c, v->kids[i], &st->u.group.steps[i], depth, true);
		if (r)
			return r;
	}
	return group_overlap(c, st);
}

static int parse_repeat(struct trace_ctx *c, const struct tnode *v, struct trace_step *st,
			unsigned depth)
{
	static const char *const keys[] = { "count", "steps", NULL };
	struct kv kv[MAX_KEYS];
	unsigned nr = 0;
	const struct tnode *s;
	int r;

	if (depth >= TRACE_MAX_REPEAT_DEPTH)
		return trace_error_node(c, v, "repeat blocks nested deeper than %u",
					TRACE_MAX_REPEAT_DEPTH);
	if ((r = tnode_expect_type(c, v, TNODE_MAP, "repeat")) ||
	    (r = tnode_collect(c, v, "repeat", keys, kv, &nr)))
		return r;
	if (!(s = kv_get(kv, nr, "count")))
		return tnode_missing(c, v, "count", "repeat");
	if ((r = tnode_uint(c, s, "count", &st->u.repeat.count)))
		return r;
	if (!(s = kv_get(kv, nr, "steps")))
		return tnode_missing(c, v, "steps", "repeat");
	if ((r = tnode_expect_type(c, s, TNODE_SEQ, "steps")))
		return r;
	if (!s->nr_kids)
		return trace_error_node(c, s, "repeat body is empty");
	st->u.repeat.steps = calloc(s->nr_kids, sizeof(struct trace_step));
	if (!st->u.repeat.steps)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	for (unsigned i = 0; i < s->nr_kids; i++) {
		st->u.repeat.nr_steps = i + 1;
		r = trace_step_parse(c, s->kids[i], &st->u.repeat.steps[i], depth + 1, false);
		if (r)
			return r;
	}
	return 0;
}

int trace_step_parse(struct trace_ctx *c, const struct tnode *n, struct trace_step *st,
		     unsigned depth, bool in_group)
{
	const struct action *act = NULL;
	const struct tnode *verb = NULL, *val = NULL, *v;
	struct kv kv[MAX_KEYS];
	unsigned nr = 0;
	int r;

	memset(st, 0, sizeof(*st));
	st->line = n->line;
	st->column = n->column;
	count_step(c);
	st->kind = TRACE_STEP_WAIT; /* released safely whatever happens below */
	if (n->type == TNODE_SCALAR) {
		if (!in_group && !strcmp(n->str, "wait"))
			return 0;
		if (!in_group && !strcmp(n->str, "settle")) {
			st->kind = TRACE_STEP_SETTLE;
			return 0;
		}
		return trace_error_node(c, n, "unknown step '%s' (a step is a mapping such as "
					"'write: DEV', or the word wait or settle)", n->str);
	}
	if ((r = tnode_expect_type(c, n, TNODE_MAP, "a step")))
		return r;
	/* Find the one action key. */
	for (unsigned i = 0; i + 1 < n->nr_kids; i += 2) {
		const struct tnode *k = n->kids[i];

		if (k->type != TNODE_SCALAR)
			return trace_error_node(c, k, "keys must be scalars");
		for (size_t j = 0; j < NR_ACTIONS; j++) {
			if (strcmp(actions[j].key, k->str))
				continue;
			if (act)
				return trace_error_node(c, k, "a step has one action; '%s' and '%s' "
							"are both actions", verb->str, k->str);
			act = &actions[j];
			verb = k;
			val = n->kids[i + 1];
		}
	}
	if (!act) {
		const struct tnode *k = n->nr_kids ? n->kids[0] : n;

		return trace_error_node(c, k, "step has no action (%s%s%s)",
					n->nr_kids ? "unknown key '" : "empty step",
					n->nr_kids ? k->str : "", n->nr_kids ? "'" : "");
	}
	if (in_group && act->kind != TRACE_STEP_READ && act->kind != TRACE_STEP_WRITE &&
	    act->kind != TRACE_STEP_FLUSH && act->kind != TRACE_STEP_DISCARD)
		return trace_error_node(c, verb, "only read, write, flush and discard may be in "
					"a parallel group, not '%s'", verb->str);
	st->kind = act->kind;
	/* Sibling parameters (every key except the action). */
	{
		const char *allowed[MAX_KEYS + 2];
		unsigned na = 0;

		allowed[na++] = act->key;
		for (unsigned j = 0; act->params[j]; j++)
			allowed[na++] = act->params[j];
		allowed[na] = NULL;
		if ((r = tnode_collect(c, n, act->key, allowed, kv, &nr)))
			return r;
	}
	/* Parameters written inside the action (`write: {dev: X, ...}`). */
	if ((act->kind == TRACE_STEP_READ || act->kind == TRACE_STEP_WRITE ||
	     act->kind == TRACE_STEP_FLUSH || act->kind == TRACE_STEP_DISCARD) &&
	    val->type == TNODE_MAP) {
		if ((r = tnode_collect(c, val, act->key, act->params, kv, &nr)))
			return r;
	}
	if ((v = kv_get(kv, nr, "error")) && (r = tnode_errno(c, v, "error", &st->expect_error)))
		return r;
	if ((v = kv_get(kv, nr, "message")) && (r = tnode_string(c, v, "message", &st->expect_message)))
		return r;
	switch (act->kind) {
	case TRACE_STEP_DM:
		if ((r = tnode_expect_type(c, val, TNODE_SCALAR, "dm")))
			return r;
		/* A step that expects to fail may name anything (and defines nothing). */
		return trace_dm_parse(c, val, &st->u.dm, !st->expect_error);
	case TRACE_STEP_QUERY:
		if ((r = tnode_expect_type(c, val, TNODE_SCALAR, verb->str)))
			return r;
		return trace_query_parse(c, verb, val, kv, nr, st);
	case TRACE_STEP_READ:
	case TRACE_STEP_WRITE:
	case TRACE_STEP_FLUSH:
	case TRACE_STEP_DISCARD:
		return trace_io_parse(c, n, val, act->key, kv, nr, st);
	case TRACE_STEP_PARALLEL:
		return parse_group(c, val, st, depth);
	case TRACE_STEP_REPEAT:
		return parse_repeat(c, val, st, depth);
	case TRACE_STEP_CRASH:
		if (val->type == TNODE_MAP) {
			static const char *const ck[] = { "name", NULL };
			struct kv ckv[MAX_KEYS];
			unsigned cnr = 0;

			if ((r = tnode_collect(c, val, "crash", ck, ckv, &cnr)))
				return r;
			if (!(v = kv_get(ckv, cnr, "name")))
				return tnode_missing(c, val, "name", "crash");
			return tnode_string(c, v, "name", &st->u.crash_name);
		}
		if (is_null(val))
			return trace_error_node(c, val, "crash needs a name");
		return tnode_string(c, val, "crash", &st->u.crash_name);
	case TRACE_STEP_WAIT:
	case TRACE_STEP_SETTLE:
		if (is_null(val) || (val->type == TNODE_MAP && !val->nr_kids))
			return 0;
		if (val->type == TNODE_SCALAR && !strcmp(val->str, "true"))
			return 0;
		return trace_error_node(c, val, "%s takes no value", verb->str);
	case TRACE_STEP_SLEEP:
		return tnode_time(c, val, "sleep", &st->u.sleep_ns);
	case TRACE_STEP_SAVE:
		return trace_save_parse(c, verb, val, kv, nr, st);
	}
	return 0;
}

void trace_step_release(struct trace_ctx *c, struct trace_step *st)
{
	switch (st->kind) {
	case TRACE_STEP_DM:
		trace_dm_release(&st->u.dm);
		break;
	case TRACE_STEP_QUERY:
		free(st->u.query.dev);
		free(st->u.query.expect);
		break;
	case TRACE_STEP_READ:
	case TRACE_STEP_WRITE:
	case TRACE_STEP_FLUSH:
	case TRACE_STEP_DISCARD:
		free(st->u.io.dev);
		trace_data_release(&st->u.io.data);
		trace_data_release(&st->u.io.expect);
		break;
	case TRACE_STEP_PARALLEL:
		for (unsigned i = 0; i < st->u.group.nr_steps; i++)
			trace_step_release(c, &st->u.group.steps[i]);
		free(st->u.group.steps);
		break;
	case TRACE_STEP_REPEAT:
		for (unsigned i = 0; i < st->u.repeat.nr_steps; i++)
			trace_step_release(c, &st->u.repeat.steps[i]);
		free(st->u.repeat.steps);
		break;
	case TRACE_STEP_CRASH:
		free(st->u.crash_name);
		break;
	case TRACE_STEP_SAVE:
		free(st->u.save.dev);
		free(st->u.save.to);
		free(st->u.save.to_text);
		break;
	case TRACE_STEP_WAIT:
	case TRACE_STEP_SETTLE:
	case TRACE_STEP_SLEEP:
		break;
	}
	free(st->expect_message);
	memset(st, 0, sizeof(*st));
	st->kind = TRACE_STEP_WAIT;
	if (c->live_steps)
		c->live_steps--;
}
