/*
 * replay_validate.c - replay_validate(): a trace's steps checked against the
 * core's rules before a replay runs them.
 *
 * Validation mirrors the trace's devices in a scratch registry: disks are
 * size-only devices that read zeros, each dm device is a `zero` table of
 * the size its live table has, so every create/load table is built by
 * dm_table_create() with the argument, chunk-size and range rules of the
 * core before anything runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fifo_executor.h"
#include "replay_impl.h"

/* ---- validation ---- */

struct null_bdev {
	struct bdev base;
};

static void null_submit(struct bdev *bd, struct bio *bio)
{
	(void)bd;
	(void)bio; /* validation never submits I/O */
}

static int null_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			uint32_t nr_sectors, uint8_t *data)
{
	(void)bd;
	(void)sector;
	if (op == BIO_READ)
		memset(data, 0, (size_t)nr_sectors * 512);
	return 0;
}

static const struct bdev_ops null_ops = {
	.submit = null_submit,
	.sync_rw = null_sync_rw,
};

struct vdev {
	char name[TRACE_NAME_MAX];
	sector_t staged;
	bool has_staged;
};

struct vctx {
	const char *file;
	struct fifo_executor fx;
	struct dm_registry *reg;
	struct null_bdev *disks;
	unsigned nr_disks;
	struct vdev *devs;
	unsigned nr_devs, cap_devs;
	bool setup;
	const struct replay_opts *o;    /* NULL: the save targets are not checked */
	char **save_to;                 /* save steps' files so far, and their lines */
	unsigned *save_line;
	unsigned nr_save;
};

/*
 * A save step that will write a file (opts.save_files) must not meet an
 * existing one without opts.force, nor a file an earlier save step of the
 * trace writes: refused here, so nothing runs.
 */
static int vsave(struct vctx *v, const struct trace_step *st, struct trace_error *err)
{
	const struct trace_save *sv = &st->u.save;
	char eb[4400];
	char **to;
	unsigned *ln;

	if (!v->o || !v->o->save_files || v->o->force)
		return 0;
	for (unsigned i = 0; i < v->nr_save; i++)
		if (!strcmp(v->save_to[i], sv->to))
			return trace_error_set(err, -EEXIST, v->file, st->line, st->column,
					       "save to '%s': the step at line %u writes it too "
					       "(give --force to let the later one replace it)",
					       sv->to_text, v->save_line[i]);
	if (replay_save_check_target(sv->to, false, eb, sizeof(eb)))
		return trace_error_set(err, -EEXIST, v->file, st->line, st->column, "save to %s",
				       eb);
	to = realloc(v->save_to, (v->nr_save + 1) * sizeof(*to));
	if (to)
		v->save_to = to;
	ln = realloc(v->save_line, (v->nr_save + 1) * sizeof(*ln));
	if (ln)
		v->save_line = ln;
	if (!to || !ln || !(v->save_to[v->nr_save] = strdup(sv->to)))
		return trace_error_set(err, -ENOMEM, v->file, 0, 0, "out of memory");
	v->save_line[v->nr_save++] = st->line;
	return 0;
}

static struct vdev *vdev_find(struct vctx *v, const char *name)
{
	for (unsigned i = 0; i < v->nr_devs; i++)
		if (!strcmp(v->devs[i].name, name))
			return &v->devs[i];
	return NULL;
}

static struct vdev *vdev_add(struct vctx *v, const char *name)
{
	if (v->nr_devs == v->cap_devs) {
		unsigned cap = v->cap_devs ? 2 * v->cap_devs : 8;
		struct vdev *n = realloc(v->devs, cap * sizeof(*n));

		if (!n)
			return NULL;
		v->devs = n;
		v->cap_devs = cap;
	}
	struct vdev *d = &v->devs[v->nr_devs++];

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	return d;
}

static int vsetup(struct vctx *v, const struct trace_header *hdr)
{
	struct ss_error err;

	v->setup = true;
	fifo_executor_init(&v->fx);
	v->reg = dm_registry_create(&v->fx.base);
	v->disks = calloc(hdr->nr_disks ? hdr->nr_disks : 1, sizeof(*v->disks));
	if (!v->reg || !v->disks)
		return -ENOMEM;
	for (unsigned i = 0; i < hdr->nr_disks; i++) {
		struct null_bdev *n = &v->disks[i];

		n->base.ops = &null_ops;
		n->base.size_sectors = hdr->disks[i].size_sectors;
		n->base.logical_block_bytes = hdr->disks[i].sector_bytes;
		snprintf(n->base.name, sizeof(n->base.name), "%.127s", hdr->disks[i].path);
		ss_error_clear(&err);
		if (dm_registry_add_bdev(v->reg, &n->base, &err))
			return -EINVAL;
		v->nr_disks = i + 1;
	}
	return 0;
}

static void vteardown(struct vctx *v)
{
	if (v->reg) {
		fifo_executor_run(&v->fx, 0);
		dm_registry_destroy(v->reg);
	}
	if (v->setup)
		fifo_executor_destroy(&v->fx);
	free(v->disks);
	free(v->devs);
	for (unsigned i = 0; i < v->nr_save; i++)
		free(v->save_to[i]);
	free(v->save_to);
	free(v->save_line);
}

/* Make dev NAME in the scratch registry a zero device of size sectors. */
static void vset_size(struct vctx *v, const char *name, sector_t size)
{
	struct ss_error err;
	char t[64];

	ss_error_clear(&err);
	if (!size) {
		return;
	}
	snprintf(t, sizeof(t), "0 %" PRIu64 " zero", (uint64_t)size);
	if (!dm_load(v->reg, name, t, 0, &err)) {
		dm_resume(v->reg, name, 0, &err);
		fifo_executor_run(&v->fx, 0);
	}
}

/* Build a table in the scratch registry: 0 and its size, or an error. */
static int vtable(struct vctx *v, const struct trace_step *st, const char *table,
		  sector_t *size, struct trace_error *err)
{
	struct ss_error e;
	struct dm_table *t = NULL;
	int r;

	ss_error_clear(&e);
	r = dm_table_create(v->reg, table, st->u.dm.flags & TRACE_DM_READONLY ? DM_READ_ONLY : 0,
			    &t, &e);
	fifo_executor_run(&v->fx, 0);
	if (r) {
		/* The cause first, the echoed command (which may be many table
		 * lines) last and shortened in its middle to fit the record. */
		char b[SS_ERROR_MSG_MAX + 64], cmd[sizeof(err->msg)], *flat;
		const char *name = strstr(st->u.dm.text, st->u.dm.name);
		int head = name ? (int)(name - st->u.dm.text + strlen(st->u.dm.name)) : 0;
		size_t n = 0;
		int used;

		if (head > 64)
			head = 64;
		ss_error_format(&e, b, sizeof(b));
		used = snprintf(NULL, 0, "dm %.*s: %s%s (in: dm )", head, st->u.dm.text,
				e.line ? "table " : "", b);
		/* One line: a table's newlines are shown as \n. */
		flat = malloc(2 * strlen(st->u.dm.text) + 1);
		for (const char *p = st->u.dm.text; flat && *p; p++) {
			if (*p == '\n')
				flat[n++] = '\\';
			flat[n++] = *p == '\n' ? 'n' : *p;
		}
		if (flat)
			flat[n] = '\0';
		ss_elide(cmd, used + 48 < (int)sizeof(cmd) ? sizeof(cmd) - (size_t)used : 48,
			 flat ? flat : st->u.dm.text);
		free(flat);
		return trace_error_set(err, r, v->file, st->line, st->column, "dm %.*s: %s%s (in: dm %s)",
				       head, st->u.dm.text, e.line ? "table " : "", b, cmd);
	}
	*size = dm_table_size(t);
	dm_table_destroy(t);
	fifo_executor_run(&v->fx, 0);
	return 0;
}

static int vstep(void *ctx, const struct trace_header *hdr, const struct trace_step *st,
		 struct trace_error *err)
{
	struct vctx *v = ctx;
	const struct trace_dm *dm = &st->u.dm;
	struct ss_error e;
	struct vdev *d;
	sector_t size = 0;
	int r;

	if (!v->setup && vsetup(v, hdr))
		return trace_error_set(err, -ENOMEM, v->file, 0, 0, "out of memory");
	if (st->kind == TRACE_STEP_READ || st->kind == TRACE_STEP_WRITE ||
	    st->kind == TRACE_STEP_DISCARD) {
		if (st->u.io.length > (1u << 24))
			return trace_error_set(err, -EINVAL, v->file, st->line, st->column,
					       "length: at most 16777216 sectors (8 GiB) per request");
		return 0;
	}
	if (st->kind == TRACE_STEP_SAVE)
		return vsave(v, st, err);
	if (st->kind != TRACE_STEP_DM || st->expect_error)
		return 0;
	ss_error_clear(&e);
	switch (dm->verb) {
	case TRACE_DM_CREATE:
		if (dm->table && (r = vtable(v, st, dm->table, &size, err)))
			return r;
		if (dm_create(v->reg, dm->name, NULL, NULL, 0, &e))
			return 0;
		if (!vdev_add(v, dm->name))
			return trace_error_set(err, -ENOMEM, v->file, 0, 0, "out of memory");
		vset_size(v, dm->name, size);
		break;
	case TRACE_DM_LOAD:
		if ((r = vtable(v, st, dm->table, &size, err)))
			return r;
		if ((d = vdev_find(v, dm->name))) {
			d->staged = size;
			d->has_staged = true;
		}
		break;
	case TRACE_DM_TABLE_PIPE: {
		struct dm_device *src = dm_find_device(v->reg, dm->name);

		if ((d = vdev_find(v, dm->pipe_dst)) && src) {
			d->staged = dm_device_bdev(src)->size_sectors;
			d->has_staged = true;
		}
		break;
	}
	case TRACE_DM_CLEAR:
		if ((d = vdev_find(v, dm->name)))
			d->has_staged = false;
		break;
	case TRACE_DM_RESUME:
		if ((d = vdev_find(v, dm->name)) && d->has_staged) {
			d->has_staged = false;
			vset_size(v, dm->name, d->staged);
		}
		break;
	case TRACE_DM_REMOVE:
		dm_remove(v->reg, dm->name, &e);
		fifo_executor_run(&v->fx, 0);
		if ((d = vdev_find(v, dm->name)))
			d->name[0] = 0;
		break;
	case TRACE_DM_SUSPEND:
		break;
	}
	return 0;
}

int replay_validate(const char *path, struct trace_error *err)
{
	return rp_validate(path, NULL, err);
}

uint64_t replay_count_steps(const char *path)
{
	struct trace_error err;
	uint64_t n;

	return rp_validate_count(path, NULL, &n, &err) ? 0 : n;
}

int rp_validate(const char *path, const struct replay_opts *o, struct trace_error *err)
{
	uint64_t steps;

	return rp_validate_count(path, o, &steps, err);
}

int rp_validate_count(const char *path, const struct replay_opts *o, uint64_t *steps,
		      struct trace_error *err)
{
	struct vctx v = { .file = path, .o = o };
	struct trace_check_hooks h = { .step = vstep, .ctx = &v };
	struct trace_stats ts;
	int r;

	trace_error_clear(err);
	r = trace_check(path, &h, &ts, err);
	*steps = r ? 0 : ts.steps_expanded;
	vteardown(&v);
	return r;
}

/* The same over a buffer: trace_check() reads files only. */
int rp_validate_mem(const char *name, const char *buf, size_t len,
		    const struct replay_opts *o, struct trace_error *err)
{
	struct vctx v = { .file = name, .o = o };
	struct trace_reader *rd;
	struct trace_item it;
	int r;

	trace_error_clear(err);
	r = trace_open_mem(name, buf, len, TRACE_EXPAND_ONCE, &rd, err);
	if (r)
		return r;
	while ((r = trace_next(rd, &it, err)) == 1) {
		const struct trace_step *st = it.step;

		if (st->kind == TRACE_STEP_PARALLEL) {
			for (unsigned i = 0; i < st->u.group.nr_steps && !r; i++)
				r = vstep(&v, trace_header(rd), &st->u.group.steps[i], err);
		} else {
			r = vstep(&v, trace_header(rd), st, err);
		}
		if (r)
			break;
	}
	trace_close(rd);
	vteardown(&v);
	return r < 0 ? r : 0;
}
