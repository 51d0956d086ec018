/*
 * trace.c - the trace reader: header, streamed steps, repeat expansion,
 * whole-file validation. See trace.h for the contract and
 * traces/README.md for the format.
 *
 * Memory: the reader holds the header, the one top-level step it last
 * delivered, and a stack of repeat frames (each owns or points at a
 * repeat body, which was parsed once). Nothing grows with the number of
 * steps in the file or with repeat counts; trace_get_stats() reports the
 * most step objects ever alive at once so tests can hold us to that.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_impl.h"

enum reader_state {
	RS_STEPS,     /* inside the steps sequence */
	RS_DONE,      /* the whole document has been read and checked */
};

struct frame {
	struct trace_step owned;          /* a top-level repeat moved here */
	const struct trace_step *rep;     /* the repeat step (owned or in a parent body) */
	uint64_t count;
	uint64_t iter;
	unsigned idx;
};

struct trace_reader {
	struct trace_ctx c;
	struct trace_header hdr;
	struct trace_error err;           /* sticky error */
	unsigned flags;
	FILE *fp;
	char *path;
	char *mem;
	yaml_parser_t parser;
	bool parser_ready;
	enum reader_state state;
	struct trace_step cur;            /* last delivered top-level step */
	bool cur_valid;
	struct frame frames[TRACE_MAX_REPEAT_DEPTH + 1];
	unsigned nr_frames;
	uint64_t seq;
	uint64_t expanded;                /* trace_stats.steps_expanded */
};

/* ---- helpers for users ---- */

sector_t trace_io_offset(const struct trace_io *io, uint64_t iteration)
{
	sector_t off = io->offset + io->stride * iteration;

	if (io->wrap)
		off %= io->wrap;
	return off;
}

uint64_t trace_data_seed(const struct trace_data *d, uint64_t iteration)
{
	return d->seed + d->seed_stride * iteration;
}

const struct trace_header *trace_header(const struct trace_reader *r)
{
	return &r->hdr;
}

const char *trace_path(const struct trace_reader *r)
{
	return r->path;
}

void trace_get_stats(const struct trace_reader *r, struct trace_stats *st)
{
	st->steps_parsed = r->c.steps_parsed;
	st->steps_delivered = r->seq;
	st->steps_expanded = r->expanded;
	st->live_steps = r->c.live_steps;
	st->max_live_steps = r->c.max_live_steps;
	st->max_step_nodes = r->c.max_step_nodes;
}

/* ---- header ---- */

static int next_event(struct trace_reader *r, yaml_event_t *ev)
{
	return trace_yaml_next(&r->c, &r->parser, ev);
}

static int ev_error(struct trace_reader *r, const yaml_event_t *ev, const char *fmt,
		    const char *arg)
{
	return trace_error_at(&r->c, (unsigned)ev->start_mark.line + 1,
			      (unsigned)ev->start_mark.column + 1, fmt, arg);
}

/* After the steps (or the top-level mapping): the end of the one document. */
static int finish_document(struct trace_reader *r, bool in_mapping)
{
	yaml_event_t ev;
	int rc;

	if (in_mapping) {
		rc = next_event(r, &ev);
		if (rc)
			return rc;
		if (ev.type == YAML_SCALAR_EVENT) {
			char key[64];

			snprintf(key, sizeof(key), "%s", (const char *)ev.data.scalar.value);
			rc = ev_error(r, &ev, "'steps' must be the last key of a trace "
				      "(found '%s' after it)", key);
			yaml_event_delete(&ev);
			return rc;
		}
		yaml_event_delete(&ev); /* MAPPING_END */
	}
	rc = next_event(r, &ev); /* DOCUMENT_END */
	if (rc)
		return rc;
	yaml_event_delete(&ev);
	rc = next_event(r, &ev);
	if (rc)
		return rc;
	if (ev.type != YAML_STREAM_END_EVENT) {
		rc = ev_error(r, &ev, "a trace is one YAML document%s", "");
		yaml_event_delete(&ev);
		return rc;
	}
	yaml_event_delete(&ev);
	r->state = RS_DONE;
	return 0;
}

static int value_tree(struct trace_reader *r, struct tnode **out)
{
	yaml_event_t ev;
	int rc = next_event(r, &ev);

	if (rc)
		return rc;
	return tnode_build(&r->c, &r->parser, &ev, out);
}

enum { K_VERSION = 1, K_NAME = 2, K_SEED = 4, K_DISKS = 8 };

static int parse_header(struct trace_reader *r)
{
	yaml_event_t ev;
	unsigned seen = 0;
	int rc;

	if ((rc = next_event(r, &ev)))
		return rc;
	yaml_event_delete(&ev); /* STREAM_START */
	if ((rc = next_event(r, &ev)))
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return trace_error_at(&r->c, 1, 1, "empty trace (expected 'version: 1')");
	}
	yaml_event_delete(&ev); /* DOCUMENT_START */
	if ((rc = next_event(r, &ev)))
		return rc;
	if (ev.type != YAML_MAPPING_START_EVENT) {
		rc = ev_error(r, &ev, "a trace is a mapping with version, name, seed, disks "
			      "and steps%s", "");
		yaml_event_delete(&ev);
		return rc;
	}
	yaml_event_delete(&ev);
	for (;;) {
		struct tnode *v = NULL;
		char key[64];
		unsigned line, col, bit = 0;

		if ((rc = next_event(r, &ev)))
			return rc;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			if (!(seen & K_VERSION))
				return trace_error_at(&r->c, 1, 1, "missing 'version: 1'");
			return finish_document(r, false);
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			rc = ev_error(r, &ev, "keys must be scalars%s", "");
			yaml_event_delete(&ev);
			return rc;
		}
		snprintf(key, sizeof(key), "%s", (const char *)ev.data.scalar.value);
		line = (unsigned)ev.start_mark.line + 1;
		col = (unsigned)ev.start_mark.column + 1;
		yaml_event_delete(&ev);
		if (!(seen & K_VERSION) && strcmp(key, "version"))
			return trace_error_at(&r->c, line, col,
					      "the first key of a trace must be 'version' (found '%s')",
					      key);
		if (!strcmp(key, "version"))
			bit = K_VERSION;
		else if (!strcmp(key, "name"))
			bit = K_NAME;
		else if (!strcmp(key, "seed"))
			bit = K_SEED;
		else if (!strcmp(key, "disks"))
			bit = K_DISKS;
		else if (strcmp(key, "steps"))
			return trace_error_at(&r->c, line, col, "unknown key '%s' in trace (expected "
					      "version, name, seed, disks, steps)", key);
		if (bit & seen)
			return trace_error_at(&r->c, line, col, "duplicate key '%s' in trace", key);
		seen |= bit;
		if (!strcmp(key, "steps")) {
			if ((rc = next_event(r, &ev)))
				return rc;
			if (ev.type == YAML_SEQUENCE_START_EVENT) {
				yaml_event_delete(&ev);
				r->state = RS_STEPS;
				return 0;
			}
			if (ev.type == YAML_SCALAR_EVENT && !ev.data.scalar.length &&
			    ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
				yaml_event_delete(&ev);
				return finish_document(r, true);
			}
			rc = ev_error(r, &ev, "steps must be a list%s", "");
			yaml_event_delete(&ev);
			return rc;
		}
		if ((rc = value_tree(r, &v)))
			return rc;
		switch (bit) {
		case K_VERSION: {
			uint64_t ver;

			rc = tnode_uint(&r->c, v, "version", &ver);
			if (!rc && ver != TRACE_VERSION)
				rc = trace_error_node(&r->c, v, "unsupported trace version %llu "
						      "(this snapsim reads version %d)",
						      (unsigned long long)ver, TRACE_VERSION);
			r->hdr.version = (unsigned)ver;
			break;
		}
		case K_NAME:
			rc = tnode_expect_type(&r->c, v, TNODE_SCALAR, "name");
			if (!rc && (!v->len || v->len >= sizeof(r->hdr.name)))
				rc = trace_error_node(&r->c, v, "name must be 1 to %zu characters",
						      sizeof(r->hdr.name) - 1);
			if (!rc)
				memcpy(r->hdr.name, v->str, v->len + 1);
			break;
		case K_SEED:
			rc = tnode_uint(&r->c, v, "seed", &r->hdr.seed);
			r->hdr.has_seed = !rc;
			break;
		case K_DISKS:
			rc = trace_header_disks(&r->c, v);
			break;
		}
		tnode_free(v);
		if (rc)
			return rc;
	}
}

/* ---- open/close ---- */

static void default_name(struct trace_reader *r, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".yaml"))
		len -= 5;
	else if (len > 4 && !strcmp(base + len - 4, ".yml"))
		len -= 4;
	if (len >= sizeof(r->hdr.name))
		len = sizeof(r->hdr.name) - 1;
	memcpy(r->hdr.name, base, len);
	r->hdr.name[len] = 0;
}

static int reader_new(const char *path, unsigned flags, struct trace_reader **out,
		      struct trace_error *err)
{
	struct trace_reader *r = calloc(1, sizeof(*r));
	const char *slash;

	*out = NULL;
	if (!r)
		return trace_error_set(err, -ENOMEM, path, 0, 0, "out of memory");
	r->flags = flags;
	r->path = strdup(path);
	if (!r->path) {
		free(r);
		return trace_error_set(err, -ENOMEM, path, 0, 0, "out of memory");
	}
	slash = strrchr(path, '/');
	if (slash) {
		r->c.dir = strndup(path, (size_t)(slash - path) ? (size_t)(slash - path) : 1);
		if (!r->c.dir) {
			free(r->path);
			free(r);
			return trace_error_set(err, -ENOMEM, path, 0, 0, "out of memory");
		}
	}
	r->c.file = r->path;
	r->c.err = &r->err;
	r->c.hdr = &r->hdr;
	if (!yaml_parser_initialize(&r->parser)) {
		free(r->c.dir);
		free(r->path);
		free(r);
		return trace_error_set(err, -ENOMEM, path, 0, 0, "out of memory");
	}
	r->parser_ready = true;
	default_name(r, path);
	*out = r;
	return 0;
}

static int open_finish(struct trace_reader *r, struct trace_reader **out,
		       struct trace_error *err)
{
	int rc = parse_header(r);

	if (rc) {
		if (err)
			*err = r->err;
		trace_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int trace_open(const char *path, unsigned flags, struct trace_reader **out,
	       struct trace_error *err)
{
	struct trace_reader *r;
	int rc;

	trace_error_clear(err);
	*out = NULL;
	rc = reader_new(path, flags, &r, err);
	if (rc)
		return rc;
	r->fp = fopen(path, "rb");
	if (!r->fp) {
		rc = -errno;
		trace_error_set(err, rc, path, 0, 0, "cannot open: %s", strerror(errno));
		trace_close(r);
		return rc;
	}
	yaml_parser_set_input_file(&r->parser, r->fp);
	return open_finish(r, out, err);
}

int trace_open_mem(const char *name, const char *buf, size_t len, unsigned flags,
		   struct trace_reader **out, struct trace_error *err)
{
	struct trace_reader *r;
	int rc;

	trace_error_clear(err);
	*out = NULL;
	rc = reader_new(name, flags, &r, err);
	if (rc)
		return rc;
	r->mem = malloc(len ? len : 1);
	if (!r->mem) {
		trace_close(r);
		return trace_error_set(err, -ENOMEM, name, 0, 0, "out of memory");
	}
	memcpy(r->mem, buf, len);
	yaml_parser_set_input_string(&r->parser, (const unsigned char *)r->mem, len);
	return open_finish(r, out, err);
}

static void pop_frame(struct trace_reader *r)
{
	struct frame *f = &r->frames[--r->nr_frames];

	if (f->rep == &f->owned)
		trace_step_release(&r->c, &f->owned);
	memset(f, 0, sizeof(*f));
}

void trace_close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->cur_valid)
		trace_step_release(&r->c, &r->cur);
	while (r->nr_frames)
		pop_frame(r);
	if (r->parser_ready)
		yaml_parser_delete(&r->parser);
	if (r->fp)
		fclose(r->fp);
	trace_header_release(&r->hdr);
	for (unsigned i = 0; i < r->c.nr_dm_names; i++)
		free(r->c.dm_names[i]);
	free(r->c.dm_names);
	free(r->c.dir);
	free(r->mem);
	free(r->path);
	free(r);
}

/* ---- steps ---- */

static int fail(struct trace_reader *r, struct trace_error *err)
{
	if (err && err != &r->err)
		*err = r->err;
	return r->err.code ? r->err.code : -EINVAL;
}

static void push_frame(struct trace_reader *r, const struct trace_step *rep, bool owned)
{
	struct frame *f = &r->frames[r->nr_frames++];

	memset(f, 0, sizeof(*f));
	if (owned) {
		f->owned = *rep;
		f->rep = &f->owned;
	} else {
		f->rep = rep;
	}
	f->count = f->rep->u.repeat.count;
	if (r->flags & TRACE_EXPAND_ONCE)
		f->count = 1;
}

/* The item just delivered, counted as often as a full expansion delivers it. */
static void count_expanded(struct trace_reader *r)
{
	uint64_t n = 1;

	if (r->flags & TRACE_EXPAND_ONCE)
		for (unsigned i = 0; i < r->nr_frames && n; i++) {
			uint64_t c = r->frames[i].rep->u.repeat.count;

			n = c && n > UINT64_MAX / c ? UINT64_MAX : n * c;
		}
	r->expanded = r->expanded > UINT64_MAX - n ? UINT64_MAX : r->expanded + n;
}

int trace_next(struct trace_reader *r, struct trace_item *item, struct trace_error *err)
{
	int rc;

	if (r->err.code)
		return fail(r, err);
	if (r->cur_valid) {
		trace_step_release(&r->c, &r->cur);
		r->cur_valid = false;
	}
	for (;;) {
		yaml_event_t ev;
		struct tnode *n = NULL;

		if (r->nr_frames) {
			struct frame *f = &r->frames[r->nr_frames - 1];
			const struct trace_step *st;

			if (f->idx >= f->rep->u.repeat.nr_steps) {
				f->idx = 0;
				f->iter++;
			}
			if (f->iter >= f->count) {
				pop_frame(r);
				continue;
			}
			st = &f->rep->u.repeat.steps[f->idx++];
			if (st->kind == TRACE_STEP_REPEAT) {
				push_frame(r, st, false);
				continue;
			}
			item->step = st;
			item->iteration = f->iter;
			item->repeat_depth = r->nr_frames;
			item->seq = r->seq++;
			count_expanded(r);
			return 1;
		}
		if (r->state == RS_DONE)
			return 0;
		if ((rc = next_event(r, &ev)))
			return fail(r, err);
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			if (finish_document(r, true))
				return fail(r, err);
			return 0;
		}
		if (tnode_build(&r->c, &r->parser, &ev, &n))
			return fail(r, err);
		rc = trace_step_parse(&r->c, n, &r->cur, 0, false);
		tnode_free(n);
		r->cur_valid = true;
		if (rc) {
			trace_step_release(&r->c, &r->cur);
			r->cur_valid = false;
			return fail(r, err);
		}
		if (r->cur.kind == TRACE_STEP_REPEAT) {
			push_frame(r, &r->cur, true);
			memset(&r->cur, 0, sizeof(r->cur));
			r->cur_valid = false;
			continue;
		}
		item->step = &r->cur;
		item->iteration = 0;
		item->repeat_depth = 0;
		item->seq = r->seq++;
		count_expanded(r);
		return 1;
	}
}

/* ---- steps after the end (a session's control commands) ---- */

int trace_next_text(struct trace_reader *r, const char *name, const char *text, size_t len,
		    struct trace_item *item, struct trace_error *err)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct tnode *n = NULL;
	struct trace_error saved = r->err;
	const char *file = r->c.file;
	int rc;

	trace_error_clear(err);
	if (r->state != RS_DONE || r->nr_frames)
		return trace_error_set(err, -EINVAL, name, 0, 0,
				       "the trace has steps left to deliver");
	if (r->cur_valid) {
		trace_step_release(&r->c, &r->cur);
		r->cur_valid = false;
	}
	if (!yaml_parser_initialize(&p))
		return trace_error_set(err, -ENOMEM, name, 0, 0, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	trace_error_clear(&r->err);
	r->c.file = name;
	rc = 0;
	/* STREAM_START, DOCUMENT_START, then the step's node. */
	for (int i = 0; i < 2 && !rc; i++) {
		rc = trace_yaml_next(&r->c, &p, &ev);
		if (!rc && ev.type == YAML_STREAM_END_EVENT)
			rc = trace_error_at(&r->c, 1, 1, "empty step");
		if (!rc)
			yaml_event_delete(&ev);
	}
	if (!rc)
		rc = trace_yaml_next(&r->c, &p, &ev);
	if (!rc)
		rc = tnode_build(&r->c, &p, &ev, &n);
	if (!rc) {
		rc = trace_step_parse(&r->c, n, &r->cur, 0, false);
		r->cur_valid = true;
		if (!rc && r->cur.kind == TRACE_STEP_REPEAT)
			rc = trace_error_at(&r->c, r->cur.line, r->cur.column,
					    "repeat is not accepted here");
	}
	tnode_free(n);
	yaml_parser_delete(&p);
	if (rc) {
		if (r->cur_valid)
			trace_step_release(&r->c, &r->cur);
		r->cur_valid = false;
		*err = r->err;
		if (!err->code)
			trace_error_set(err, rc, name, 0, 0, "invalid step");
	}
	r->err = saved;
	r->c.file = file;
	if (rc)
		return rc;
	item->step = &r->cur;
	item->iteration = 0;
	item->repeat_depth = 0;
	item->seq = r->seq++;
	return 1;
}

int trace_name_set(struct trace_reader *r, const char *name, bool defined)
{
	if (!defined) {
		trace_dm_undefine(&r->c, name);
		return 0;
	}
	return trace_dm_define(&r->c, name);
}

/* ---- validation ---- */

int trace_check(const char *path, const struct trace_check_hooks *hooks,
		struct trace_stats *stats, struct trace_error *err)
{
	struct trace_reader *r;
	struct trace_item item;
	int rc;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	rc = trace_open(path, TRACE_EXPAND_ONCE, &r, err);
	if (rc)
		return rc;
	while ((rc = trace_next(r, &item, err)) == 1) {
		if (hooks && hooks->step) {
			rc = hooks->step(hooks->ctx, &r->hdr, item.step, err);
			if (rc)
				break;
		}
	}
	if (stats)
		trace_get_stats(r, stats);
	trace_close(r);
	return rc < 0 ? rc : 0;
}
