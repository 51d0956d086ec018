/*
 * trace_io.c - the steps that name one device: I/O (read, write, flush,
 * discard: offset, length, stride/wrap for repeats, fua/preflush, data or
 * expected content) and dm queries (status, table, deps, info and the text
 * they should print), and save (a device to an image file). The device must be defined before the step unless the
 * step expects to fail; I/O to a disk must lie inside it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "trace_impl.h"

static int check_dev(struct trace_ctx *c, const struct tnode *n, const struct trace_step *st,
		     bool dm_only)
{
	if (st->expect_error)
		return 0; /* a step that expects to fail may name anything */
	if (dm_only ? trace_dm_defined(c, n->str) : trace_dev_known(c, n->str))
		return 0;
	if (dm_only && trace_find_disk(c, n->str))
		return trace_error_node(c, n, "'%s' is a disk, not a dm device", n->str);
	return trace_error_node(c, n,
				"device '%s' is not defined (no disk of that name and no dm "
				"device created before this step)", n->str);
}

int trace_io_parse(struct trace_ctx *c, const struct tnode *at, const struct tnode *verb_val,
		   const char *what, const struct kv *kv, unsigned nr, struct trace_step *st)
{
	struct trace_io *io = &st->u.io;
	const struct tnode *v, *dev = NULL;
	int r;

	if (verb_val->type == TNODE_SCALAR && !is_null(verb_val)) {
		dev = verb_val;
		if (kv_get(kv, nr, "dev"))
			return trace_error_node(c, kv_get(kv, nr, "dev"),
						"device given twice ('%s: %s' and 'dev')", what,
						verb_val->str);
	} else {
		dev = kv_get(kv, nr, "dev");
	}
	if (!dev)
		return tnode_missing(c, at, "dev", what);
	if ((r = tnode_string(c, dev, "dev", &io->dev)))
		return r;
	if ((r = check_dev(c, dev, st, false)))
		return r;
	if ((v = kv_get(kv, nr, "offset")) && (r = tnode_sectors(c, v, "offset", &io->offset)))
		return r;
	if ((v = kv_get(kv, nr, "stride")) && (r = tnode_sectors(c, v, "stride", &io->stride)))
		return r;
	if ((v = kv_get(kv, nr, "wrap"))) {
		if ((r = tnode_sectors(c, v, "wrap", &io->wrap)))
			return r;
		if (!io->wrap)
			return trace_error_node(c, v, "wrap must be positive");
	}
	if (st->kind != TRACE_STEP_FLUSH) {
		if (!(v = kv_get(kv, nr, "length")))
			return tnode_missing(c, at, "length", what);
		if ((r = tnode_sectors(c, v, "length", &io->length)))
			return r;
		if (!io->length)
			return trace_error_node(c, v, "length must be positive");
		if (io->length > UINT32_MAX)
			return trace_error_node(c, v, "length is larger than one request can be");
	}
	if ((v = kv_get(kv, nr, "fua")) && (r = tnode_bool(c, v, "fua", &io->fua)))
		return r;
	if ((v = kv_get(kv, nr, "preflush")) && (r = tnode_bool(c, v, "preflush", &io->preflush)))
		return r;
	if ((v = kv_get(kv, nr, "may_fail"))) {
		if ((r = tnode_bool(c, v, "may_fail", &io->may_fail)))
			return r;
		if (io->may_fail && st->expect_error)
			return trace_error_node(c, v, "may_fail and error exclude each other");
	}
	if (st->kind == TRACE_STEP_WRITE) {
		if (!(v = kv_get(kv, nr, "data")))
			return tnode_missing(c, at, "data", what);
		if ((r = trace_data_parse(c, v, "data", &io->data)))
			return r;
	}
	if ((v = kv_get(kv, nr, "expect")) && (r = trace_data_parse(c, v, "expect", &io->expect)))
		return r;
	/* Static range check against a disk (dm sizes are known only at run time). */
	if (!st->expect_error && st->kind != TRACE_STEP_FLUSH && !io->stride) {
		const struct trace_disk *d = trace_find_disk(c, io->dev);

		if (d && !trace_dm_defined(c, io->dev) &&
		    (io->offset > d->size_sectors || io->length > d->size_sectors - io->offset))
			return trace_error_node(c, dev, "I/O beyond the end of disk '%s' (%llu sectors)",
						d->name, (unsigned long long)d->size_sectors);
	}
	{
		const struct trace_data *d = st->kind == TRACE_STEP_WRITE ? &io->data : &io->expect;

		if (d->kind == TRACE_DATA_FILE) {
			struct stat sb;

			if (!stat(d->file, &sb) &&
			    (uint64_t)sb.st_size < d->file_offset_bytes + io->length * 512)
				return trace_error_node(c, at,
							"data file '%s' is shorter than offset + length",
							d->file);
		}
	}
	return 0;
}
int trace_query_parse(struct trace_ctx *c, const struct tnode *verb, const struct tnode *val,
		      const struct kv *kv, unsigned nr, struct trace_step *st)
{
	struct trace_query *q = &st->u.query;
	const struct tnode *v;
	int r;

	if (!strcmp(verb->str, "status"))
		q->kind = TRACE_QUERY_STATUS;
	else if (!strcmp(verb->str, "table"))
		q->kind = TRACE_QUERY_TABLE;
	else if (!strcmp(verb->str, "deps"))
		q->kind = TRACE_QUERY_DEPS;
	else
		q->kind = TRACE_QUERY_INFO;
	if ((r = tnode_string(c, val, verb->str, &q->dev)) || (r = check_dev(c, val, st, true)))
		return r;
	if ((v = kv_get(kv, nr, "inactive")) && (r = tnode_bool(c, v, "inactive", &q->inactive)))
		return r;
	if ((v = kv_get(kv, nr, "expect")) && (r = tnode_string(c, v, "expect", &q->expect)))
		return r;
	return 0;
}

int trace_save_parse(struct trace_ctx *c, const struct tnode *verb, const struct tnode *val,
		     const struct kv *kv, unsigned nr, struct trace_step *st)
{
	struct trace_save *sv = &st->u.save;
	const struct tnode *v;
	int r;

	if ((r = tnode_expect_type(c, val, TNODE_SCALAR, "save")) ||
	    (r = tnode_string(c, val, "save", &sv->dev)) || (r = check_dev(c, val, st, false)))
		return r;
	if (!(v = kv_get(kv, nr, "to")))
		return tnode_missing(c, verb, "to", "save");
	if ((r = tnode_expect_type(c, v, TNODE_SCALAR, "to")))
		return r;
	if (!v->len)
		return trace_error_node(c, v, "to must name a file");
	if ((r = tnode_string(c, v, "to", &sv->to_text)))
		return r;
	if (!(sv->to = trace_path_beside(c, v)))
		return -ENOMEM;
	if ((v = kv_get(kv, nr, "durable"))) {
		if ((r = tnode_bool(c, v, "durable", &sv->durable)))
			return r;
		if (sv->durable && !trace_find_disk(c, sv->dev))
			return trace_error_node(c, v, "durable applies to a disk; '%s' is a dm device",
						sv->dev);
	}
	return 0;
}
