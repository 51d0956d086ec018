/*
 * dm_table.c - the dm table language: table parse/validate/print,
 * bind-time checks, and the services dm core gives targets about their
 * table (dm_get_device() and friends). The argument tokenizer and number
 * parsing are in dm_args.c.
 *
 * Table text (spec 1.1): one target per line, `<start> <length> <type>
 * [<params>]`. Blank lines and lines starting with `#` are skipped; in the
 * params an unescaped `#` starts a comment. Columns in error records are
 * 1-based byte offsets into the line (a tab counts as one column).
 *
 * snapsim difference from dmsetup: dmsetup cuts the comment at the first
 * `#` even after a backslash, so no argument can contain `#`. Here `\#` is
 * a literal `#`, so that every registered device name prints and parses
 * back (dm_device_name() escapes white space, `\` and `#`).
 */
#include "dm_internal.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest device end, in sectors (LLONG_MAX bytes). */
#define DM_MAX_SECTORS ((uint64_t)LLONG_MAX >> SECTOR_SHIFT)

/* ---- tables ---- */

sector_t dm_table_size(const struct dm_table *t)
{
	return t->size;
}

unsigned dm_table_num_targets(const struct dm_table *t)
{
	return t->num_targets;
}

struct dm_target *dm_table_target(struct dm_table *t, unsigned i)
{
	return i < t->num_targets ? t->targets[i] : NULL;
}

struct dm_target *dm_table_find_target(struct dm_table *t, sector_t sector)
{
	unsigned lo = 0, hi = t->num_targets;

	assert(sector < t->size);
	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;

		if (t->targets[mid]->begin <= sector)
			lo = mid;
		else
			hi = mid;
	}
	return t->targets[lo];
}

/*
 * Destroy a table: destructors in reverse table order, then the memory.
 * Every device reference the constructors took is given back by them.
 */
void dm_table_destroy(struct dm_table *t)
{
	if (!t)
		return;
	for (unsigned i = t->num_targets; i-- > 0;) {
		struct dm_target *ti = t->targets[i];

		if (ti->type->dtr)
			ti->type->dtr(ti);
		free(ti);
	}
	/* A target that forgot dm_put_device() still must not leak counts. */
	assert(!t->devices);
	while (t->devices) {
		struct dm_table_dev *d = t->devices;

		t->devices = d->next;
		d->bdev->open_count--;
		free(d);
	}
	free(t->targets);
	free(t->pos);
	free(t);
}

/* Cut the params at the first unescaped `#`. */
static void strip_comment(char *p)
{
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '#') {
			*p = '\0';
			return;
		}
	}
}

static char *next_token(char **cursor, char **tok)
{
	char *p = *cursor;

	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return NULL;
	*tok = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p)
		*p++ = '\0';
	*cursor = p;
	return *tok;
}

static int grow_targets(struct dm_table *t)
{
	unsigned cap = t->cap_targets ? t->cap_targets * 2 : 4;
	struct dm_target **tv;
	struct dm_target_pos *pv;

	if (t->num_targets < t->cap_targets)
		return 0;
	tv = realloc(t->targets, cap * sizeof(*tv));
	if (!tv)
		return -ENOMEM;
	t->targets = tv;
	pv = realloc(t->pos, cap * sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	t->pos = pv;
	t->cap_targets = cap;
	return 0;
}

static int parse_number(const char *tok, const char *what, unsigned line,
			unsigned col, uint64_t *out, struct ss_error *err)
{
	int r = dm_parse_u64(tok, UINT64_MAX, out);

	if (r == -ERANGE)
		return ss_error_set(err, -EINVAL, line, col,
				    "%s '%s' does not fit in 64 bits", what, tok);
	if (r)
		return ss_error_set(err, -EINVAL, line, col,
				    "invalid %s '%s': expected an unsigned decimal number",
				    what, tok);
	return 0;
}

/* Parse and construct one non-blank, non-comment line. */
static int parse_line(struct dm_table *t, char *line, unsigned line_no,
		      struct ss_error *err)
{
	char *cursor = line, *tok_start, *tok_len, *tok_type, *params;
	unsigned col_start, col_len, col_type, params_col;
	uint64_t start, len;
	const struct target_type *tt;
	struct dm_target *ti;
	struct dm_target_pos *pos;
	char **argv = NULL;
	unsigned *offs = NULL, *cols = NULL;
	size_t max_args;
	int argc, r;

	unsigned end_col = (unsigned)strlen(line);

	while (end_col > 0 && isspace((unsigned char)line[end_col - 1]))
		end_col--;
	if (!next_token(&cursor, &tok_start) || !next_token(&cursor, &tok_len) ||
	    !next_token(&cursor, &tok_type)) {
		return ss_error_set(err, -EINVAL, line_no, end_col + 1,
				    "Invalid format: expected '<start> <length> <target_type> [<params>]'");
	}
	col_start = (unsigned)(tok_start - line) + 1;
	col_len = (unsigned)(tok_len - line) + 1;
	col_type = (unsigned)(tok_type - line) + 1;

	r = parse_number(tok_start, "start sector", line_no, col_start, &start, err);
	if (r)
		return r;
	r = parse_number(tok_len, "length", line_no, col_len, &len, err);
	if (r)
		return r;
	if (len == 0)
		return ss_error_set(err, -EINVAL, line_no, col_len,
				    "zero-length target");
	if (start > DM_MAX_SECTORS || len > DM_MAX_SECTORS - start)
		return ss_error_set(err, -EINVAL, line_no, col_len,
				    "too large device: start + length exceeds %" PRIu64
				    " sectors", DM_MAX_SECTORS);
	tt = dm_registry_find_target(t->reg, tok_type);
	if (!tt)
		return ss_error_set(err, -EINVAL, line_no, col_type,
				    "unknown target type '%s'", tok_type);
	if (start != t->size)
		return ss_error_set(err, -EINVAL, line_no, col_start,
				    "Gap in table: target starts at sector %" PRIu64
				    ", expected %" PRIu64, start, t->size);

	/* The params: the rest after the white space that follows the type. */
	params = cursor;
	while (*params && isspace((unsigned char)*params))
		params++;
	params_col = (unsigned)(params - line) + 1;
	strip_comment(params);
	max_args = strlen(params) / 2 + 1;
	argv = calloc(max_args, sizeof(*argv));
	offs = calloc(max_args, sizeof(*offs));
	cols = calloc(max_args, sizeof(*cols));
	ti = calloc(1, sizeof(*ti));
	if (!argv || !offs || !cols || !ti || grow_targets(t)) {
		r = ss_error_set(err, -ENOMEM, line_no, col_type, "out of memory");
		goto out_free;
	}
	argc = dm_split_args(params, argv, offs, (unsigned)max_args);
	assert(argc >= 0);
	for (int i = 0; i < argc; i++)
		cols[i] = params_col + offs[i];

	pos = &t->pos[t->num_targets];
	memset(pos, 0, sizeof(*pos));
	pos->line = line_no;
	pos->start_col = col_start;
	pos->type_col = col_type;

	ti->table = t;
	ti->type = tt;
	ti->begin = start;
	ti->len = len;
	ti->error_arg = -1;
	t->cur_argv = argv;
	t->cur_argc = (unsigned)argc;
	t->cur_cols = cols;
	t->lookup_detail[0] = '\0';
	r = tt->ctr(ti, (unsigned)argc, argv);
	t->cur_argv = NULL;
	t->cur_argc = 0;
	t->cur_cols = NULL;
	if (r) {
		unsigned col = col_type;

		if (ti->error_arg >= 0 && ti->error_arg < argc)
			col = cols[ti->error_arg];
		if (t->lookup_detail[0])
			ss_error_set(err, r, line_no, col, "%s: %s (%s)", tt->name,
				     ti->error ? ti->error : "constructor failed",
				     t->lookup_detail);
		else
			ss_error_set(err, r, line_no, col, "%s: %s", tt->name,
				     ti->error ? ti->error : "constructor failed");
		goto out_free;
	}
	t->targets[t->num_targets++] = ti;
	t->size = start + len;
	ti = NULL;
out_free:
	free(ti);
	free(cols);
	free(offs);
	free(argv);
	return r;
}

int dm_table_build(struct dm_registry *reg, struct dm_device *md,
		   const char *text, unsigned flags, struct dm_table **out,
		   struct ss_error *err)
{
	struct dm_table *t = calloc(1, sizeof(*t));
	char *copy = strdup(text ? text : "");
	char *p;
	unsigned line_no = 0;
	int r = 0;

	if (!t || !copy) {
		free(t);
		free(copy);
		return ss_error_set(err, -ENOMEM, 0, 0, "out of memory");
	}
	t->reg = reg;
	t->md = md;
	t->flags = flags & DM_READ_ONLY;
	t->logical_block_bytes = SECTOR_SIZE;
	for (p = copy; p && !r;) {
		char *eol = strchr(p, '\n');
		char *q = p;

		if (eol)
			*eol = '\0';
		line_no++;
		while (*q && isspace((unsigned char)*q))
			q++;
		if (*q && *q != '#')
			r = parse_line(t, p, line_no, err);
		p = eol ? eol + 1 : NULL;
	}
	free(copy);
	if (!r && t->num_targets == 0)
		r = ss_error_set(err, -EINVAL, 0, 0, "no targets specified");
	if (r) {
		dm_table_destroy(t);
		return r;
	}
	*out = t;
	return 0;
}

/* ---- bind-time checks ---- */

struct bind_check {
	struct dm_table *t;
	unsigned index;
	struct ss_error *err;
};

static unsigned dev_col(const struct dm_target_pos *pos, const struct bdev *dev)
{
	for (unsigned i = 0; i < pos->ndevs; i++)
		if (pos->devs[i].bdev == dev)
			return pos->devs[i].col;
	return pos->type_col;
}

/* One device range a target uses must lie inside the device. */
static int check_device_area(struct dm_target *ti, struct bdev *dev,
			     sector_t start, sector_t len, void *data)
{
	struct bind_check *bc = data;
	const struct dm_target_pos *pos = &bc->t->pos[bc->index];
	unsigned lbs_sectors = dev->logical_block_bytes / SECTOR_SIZE;
	char name[160];

	dm_device_name(ti, dev, name, sizeof(name));
	if (start > dev->size_sectors || len > dev->size_sectors - start)
		return ss_error_set(bc->err, -EINVAL, pos->line, dev_col(pos, dev),
				    "%s: device %s too small for target: start=%" PRIu64
				    ", len=%" PRIu64 ", dev_size=%" PRIu64,
				    ti->type->name, name, start, len,
				    dev->size_sectors);
	if (lbs_sectors > 1 && start % lbs_sectors)
		return ss_error_set(bc->err, -EINVAL, pos->line, dev_col(pos, dev),
				    "%s: start=%" PRIu64 " not aligned to the logical block size %u of %s",
				    ti->type->name, start, dev->logical_block_bytes,
				    name);
	if (dev->logical_block_bytes > bc->t->logical_block_bytes)
		bc->t->logical_block_bytes = dev->logical_block_bytes;
	return 0;
}

int dm_table_bind_check(struct dm_table *t, struct ss_error *err)
{
	struct bind_check bc = { .t = t, .err = err };
	unsigned lbs_sectors;

	t->logical_block_bytes = SECTOR_SIZE;
	for (unsigned i = 0; i < t->num_targets; i++) {
		struct dm_target *ti = t->targets[i];
		int r;

		if (!ti->type->iterate_devices)
			continue;
		bc.index = i;
		r = ti->type->iterate_devices(ti, check_device_area, &bc);
		if (r)
			return r;
	}
	lbs_sectors = t->logical_block_bytes / SECTOR_SIZE;
	for (unsigned i = 0; lbs_sectors > 1 && i < t->num_targets; i++) {
		struct dm_target *ti = t->targets[i];

		if (ti->begin % lbs_sectors || ti->len % lbs_sectors)
			return ss_error_set(err, -EINVAL, t->pos[i].line,
					    t->pos[i].start_col,
					    "target (start sector %" PRIu64 ", length %" PRIu64
					    ") not aligned to the logical block size %u",
					    ti->begin, ti->len, t->logical_block_bytes);
	}
	return 0;
}

/* ---- printing ---- */

struct strbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->failed)
		return;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 128;
		char *p;

		while (cap < sb->len + n + 1)
			cap *= 2;
		p = realloc(sb->s, cap);
		if (!p) {
			sb->failed = true;
			return;
		}
		sb->s = p;
		sb->cap = cap;
	}
	memcpy(sb->s + sb->len, s, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

char *dm_table_status_text(struct dm_table *t, enum status_type type)
{
	struct strbuf sb = { 0 };
	char *params = malloc(4096);

	if (!params)
		return NULL;
	sb_add(&sb, "", 0);
	for (unsigned i = 0; i < t->num_targets; i++) {
		struct dm_target *ti = t->targets[i];
		char head[96];
		int n;

		params[0] = '\0';
		if (ti->type->status)
			ti->type->status(ti, type, params, 4096);
		n = snprintf(head, sizeof(head), "%" PRIu64 " %" PRIu64 " ",
			     ti->begin, ti->len);
		sb_add(&sb, head, (size_t)n);
		sb_add(&sb, ti->type->name, strlen(ti->type->name));
		sb_add(&sb, " ", 1);
		sb_add(&sb, params, strlen(params));
		sb_add(&sb, "\n", 1);
	}
	free(params);
	if (sb.failed) {
		free(sb.s);
		return NULL;
	}
	return sb.s;
}

char *dm_table_print(struct dm_table *t)
{
	return dm_table_status_text(t, STATUSTYPE_TABLE);
}

/* ---- services for targets ---- */

static bool device_depends_on(const struct dm_device *md,
			      const struct dm_device *target)
{
	if (md == target)
		return true;
	return (md->live && dm_table_depends_on(md->live, target)) ||
	       (md->inactive && dm_table_depends_on(md->inactive, target));
}

bool dm_table_depends_on(struct dm_table *t, const struct dm_device *target)
{
	for (struct dm_table_dev *d = t->devices; d; d = d->next)
		if (dm_bdev_is_dm(d->bdev) &&
		    device_depends_on((const struct dm_device *)d->bdev, target))
			return true;
	return false;
}

/* Remember the column of the argument that named dev (for bind errors). */
static void note_device_position(struct dm_table *t, const char *path,
				 const struct bdev *dev)
{
	struct dm_target_pos *pos = &t->pos[t->num_targets];

	if (!t->cur_argv || pos->ndevs == DM_POS_DEVS)
		return;
	for (unsigned i = 0; i < t->cur_argc; i++) {
		if (t->cur_argv[i] == path || !strcmp(t->cur_argv[i], path)) {
			pos->devs[pos->ndevs].bdev = dev;
			pos->devs[pos->ndevs].col = t->cur_cols[i];
			pos->ndevs++;
			return;
		}
	}
}

int dm_get_device(struct dm_target *ti, const char *path, unsigned mode,
		  struct bdev **out)
{
	struct dm_table *t = ti->table;
	struct dm_table_dev *d;
	struct bdev *bd;

	bd = dm_registry_resolve(t->reg, path, t->lookup_detail,
				 sizeof(t->lookup_detail));
	if (!bd)
		return -ENODEV;
	if (t->md && dm_bdev_is_dm(bd)) {
		const struct dm_device *dep = (const struct dm_device *)bd;

		if (dep == t->md) {
			snprintf(t->lookup_detail, sizeof(t->lookup_detail),
				 "'%s' is the device this table is loaded into",
				 path);
			return -EINVAL;
		}
		if (device_depends_on(dep, t->md)) {
			snprintf(t->lookup_detail, sizeof(t->lookup_detail),
				 "'%s' uses '%s': the tables would form a loop",
				 path, t->md->base.name);
			return -EINVAL;
		}
	}
	for (d = t->devices; d; d = d->next)
		if (d->bdev == bd)
			break;
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d) {
			snprintf(t->lookup_detail, sizeof(t->lookup_detail),
				 "out of memory");
			return -ENOMEM;
		}
		d->bdev = bd;
		d->next = t->devices;
		t->devices = d;
		bd->open_count++;
	}
	d->count++;
	d->mode |= mode;
	note_device_position(t, path, bd);
	*out = bd;
	return 0;
}

int dm_get_device_offset(struct dm_target *ti, char **argv, struct bdev **dev,
			 sector_t *start)
{
	uint64_t v;
	int r;

	if (dm_parse_u64(argv[1], UINT64_MAX, &v)) {
		ti->error = "Invalid device sector";
		ti->error_arg = 1;
		return -EINVAL;
	}
	r = dm_get_device(ti, argv[0],
			  DM_MODE_READ | (dm_target_read_only(ti) ? 0 : DM_MODE_WRITE), dev);
	if (r) {
		ti->error = "Device lookup failed";
		ti->error_arg = 0;
		return r;
	}
	*start = v;
	return 0;
}

void dm_put_device(struct dm_target *ti, struct bdev *dev)
{
	struct dm_table_dev **pp;

	for (pp = &ti->table->devices; *pp; pp = &(*pp)->next) {
		struct dm_table_dev *d = *pp;

		if (d->bdev != dev)
			continue;
		if (--d->count == 0) {
			*pp = d->next;
			dev->open_count--;
			free(d);
		}
		return;
	}
	assert(!"dm_put_device: device not held by this table");
}

/* Escape white space, `\` and `#` so the name reads back as one argument. */
static void escape_name(const char *name, char *buf, size_t len)
{
	size_t o = 0;

	for (const char *p = name; *p && o + 1 < len; p++) {
		if (isspace((unsigned char)*p) || *p == '\\' || *p == '#') {
			if (o + 2 >= len)
				break;
			buf[o++] = '\\';
		}
		buf[o++] = *p;
	}
	buf[o < len ? o : len - 1] = '\0';
}

const char *dm_device_name(struct dm_target *ti, struct bdev *dev, char *buf,
			   size_t len)
{
	if (dm_bdev_is_dm(dev)) {
		unsigned major, minor;

		dm_registry_devno(ti->table->reg, dev, &major, &minor);
		snprintf(buf, len, "%u:%u", major, minor);
	} else {
		/* External devices have no device numbers: print the name. */
		escape_name(dev->name, buf, len);
	}
	return buf;
}

struct executor *dm_target_executor(struct dm_target *ti)
{
	return ti->table->reg->ex;
}

struct dm_registry *dm_target_registry(struct dm_target *ti)
{
	return ti->table->reg;
}

/*
 * The device the table of ti was loaded into (live or inactive), like
 * Linux's dm_table_get_md(); NULL for a table made by dm_table_create().
 */
struct dm_device *dm_target_device(struct dm_target *ti)
{
	return ti->table->md;
}

bool dm_target_read_only(struct dm_target *ti)
{
	return (ti->table->flags & DM_READ_ONLY) != 0;
}

/* ---- tables without a device ---- */

int dm_table_create(struct dm_registry *reg, const char *text, unsigned flags,
		    struct dm_table **out, struct ss_error *err)
{
	struct dm_table *t;
	int r = dm_table_build(reg, NULL, text, flags, &t, err);

	if (r)
		return r;
	r = dm_table_bind_check(t, err);
	if (r) {
		dm_table_destroy(t);
		return r;
	}
	*out = t;
	return 0;
}
