/*
 * trace_yaml.c - turn libyaml events into a small tree for one node.
 *
 * The loader never builds a tree of the whole file: it builds one for the
 * header's `disks:` value and one per step (a repeat or parallel step
 * includes its body), frees it, and moves on. A tree is capped at
 * TRACE_MAX_NODES nodes so hostile input cannot grow memory.
 * Anchors and aliases are refused: they would let a small text expand to
 * a large tree, and traces do not need them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_impl.h"

int trace_yaml_next(struct trace_ctx *c, yaml_parser_t *p, yaml_event_t *ev)
{
	if (yaml_parser_parse(p, ev))
		return 0;
	if (p->error == YAML_MEMORY_ERROR)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	{
		const yaml_mark_t *m = &p->problem_mark;
		const char *ctx = p->context ? p->context : NULL;

		if (ctx)
			return trace_error_at(c, (unsigned)m->line + 1, (unsigned)m->column + 1,
					      "YAML syntax error: %s %s",
					      p->problem ? p->problem : "invalid YAML", ctx);
		return trace_error_at(c, (unsigned)m->line + 1, (unsigned)m->column + 1,
				      "YAML syntax error: %s",
				      p->problem ? p->problem : "invalid YAML");
	}
}

const char *tnode_type_name(const struct tnode *n)
{
	switch (n->type) {
	case TNODE_SCALAR:
		return "a scalar";
	case TNODE_SEQ:
		return "a list";
	case TNODE_MAP:
		return "a mapping";
	}
	return "?";
}

static struct tnode *tnode_new(struct trace_ctx *c, enum tnode_type t,
			       const yaml_event_t *ev)
{
	struct tnode *n;

	if (c->nodes >= TRACE_MAX_NODES) {
		trace_error_at(c, (unsigned)ev->start_mark.line + 1,
			       (unsigned)ev->start_mark.column + 1,
			       "step too large (more than %u YAML nodes; split the repeat body)",
			       TRACE_MAX_NODES);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
		return NULL;
	}
	c->nodes++;
	n->type = t;
	n->line = (unsigned)ev->start_mark.line + 1;
	n->column = (unsigned)ev->start_mark.column + 1;
	n->end_line = (unsigned)ev->end_mark.line + 1;
	return n;
}

static int tnode_add(struct trace_ctx *c, struct tnode *parent, struct tnode *kid)
{
	if (parent->nr_kids == parent->cap_kids) {
		unsigned cap = parent->cap_kids ? parent->cap_kids * 2 : 4;
		struct tnode **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k)
			return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
		parent->kids = k;
		parent->cap_kids = cap;
	}
	parent->kids[parent->nr_kids++] = kid;
	return 0;
}

void tnode_free(struct tnode *n)
{
	/* Iterative enough: depth is bounded by the YAML nesting of one step. */
	if (!n)
		return;
	for (unsigned i = 0; i < n->nr_kids; i++)
		tnode_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

/* Nesting limit for one step's tree (recursion depth of the builder). */
#define TNODE_MAX_DEPTH 64

static int build(struct trace_ctx *c, yaml_parser_t *p, yaml_event_t *ev,
		 struct tnode **out, unsigned depth)
{
	struct tnode *n = NULL;
	int r = 0;

	*out = NULL;
	if (depth > TNODE_MAX_DEPTH) {
		r = trace_error_at(c, (unsigned)ev->start_mark.line + 1,
				   (unsigned)ev->start_mark.column + 1,
				   "nesting deeper than %u levels", TNODE_MAX_DEPTH);
		yaml_event_delete(ev);
		return r;
	}
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		r = trace_error_at(c, (unsigned)ev->start_mark.line + 1,
				   (unsigned)ev->start_mark.column + 1,
				   "YAML aliases are not supported in traces");
		yaml_event_delete(ev);
		return r;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor) {
			r = trace_error_at(c, (unsigned)ev->start_mark.line + 1,
					   (unsigned)ev->start_mark.column + 1,
					   "YAML anchors are not supported in traces");
			yaml_event_delete(ev);
			return r;
		}
		n = tnode_new(c, TNODE_SCALAR, ev);
		if (!n) {
			yaml_event_delete(ev);
			return c->err->code;
		}
		n->len = ev->data.scalar.length;
		n->str = malloc(n->len + 1);
		if (!n->str) {
			yaml_event_delete(ev);
			tnode_free(n);
			return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
		}
		memcpy(n->str, ev->data.scalar.value, n->len);
		n->str[n->len] = 0;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->quoted = !n->plain;
		/* A quoted scalar's text starts one column after the quote. */
		if (ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
			n->plain = false;
		yaml_event_delete(ev);
		*out = n;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		yaml_event_type_t end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
		const yaml_char_t *anchor = map ? ev->data.mapping_start.anchor
						: ev->data.sequence_start.anchor;

		if (anchor) {
			r = trace_error_at(c, (unsigned)ev->start_mark.line + 1,
					   (unsigned)ev->start_mark.column + 1,
					   "YAML anchors are not supported in traces");
			yaml_event_delete(ev);
			return r;
		}
		n = tnode_new(c, map ? TNODE_MAP : TNODE_SEQ, ev);
		yaml_event_delete(ev);
		if (!n)
			return c->err->code;
		for (;;) {
			yaml_event_t kid_ev;
			struct tnode *kid;

			r = trace_yaml_next(c, p, &kid_ev);
			if (r)
				goto err_free;
			if (kid_ev.type == end) {
				n->end_line = (unsigned)kid_ev.end_mark.line + 1;
				yaml_event_delete(&kid_ev);
				break;
			}
			r = build(c, p, &kid_ev, &kid, depth + 1);
			if (r)
				goto err_free;
			r = tnode_add(c, n, kid);
			if (r) {
				tnode_free(kid);
				goto err_free;
			}
		}
		*out = n;
		return 0;
	}
	default:
		r = trace_error_at(c, (unsigned)ev->start_mark.line + 1,
				   (unsigned)ev->start_mark.column + 1,
				   "unexpected YAML event");
		yaml_event_delete(ev);
		return r;
	}
err_free:
	tnode_free(n);
	return r;
}

int tnode_build(struct trace_ctx *c, yaml_parser_t *p, yaml_event_t *first,
		struct tnode **out)
{
	int r;

	c->nodes = 0;
	r = build(c, p, first, out, 0);
	if (c->nodes > c->max_step_nodes)
		c->max_step_nodes = c->nodes;
	return r;
}
