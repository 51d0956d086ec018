/*
 * trace_steps.c - from the tree of one YAML node to the structs of
 * trace.h: the `disks:` header and each step, with every check that needs
 * no dm core (keys, types, units, names defined earlier in the file).
 *
 * A step is a mapping with exactly one action key (dm, status, table,
 * deps, info, read, write, flush, discard, parallel, repeat, crash, wait,
 * settle, sleep) or the bare scalar `wait` / `settle`. An I/O action's
 * parameters may be written beside the action key (`write: X` then
 * `offset: ...`) or inside it (`write: {dev: X, offset: ...}`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace_impl.h"
#include "units.h"

static int copy_name(struct trace_ctx *c, const struct tnode *n, const char *key,
		     char *dst, size_t len)
{
	int r = tnode_expect_type(c, n, TNODE_SCALAR, key);

	if (r)
		return r;
	if (!n->len || n->len >= len)
		return trace_error_node(c, n, "%s must be 1 to %zu characters", key, len - 1);
	memcpy(dst, n->str, n->len + 1);
	return 0;
}

/* ---- disks ---- */

static bool name_ok(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || !strcmp(s, "control"))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ' ' || *s == '\t')
			return false;
	return true;
}

static int parse_fault(struct trace_ctx *c, const struct tnode *n, struct trace_disk *d,
		       struct trace_fault *f)
{
	static const char *const keys[] = { "op", "range", "sectors", "after_ops", "count",
					    "error", "latent", "die_at_op", NULL };
	struct kv kv[MAX_KEYS];
	unsigned nr = 0;
	const struct tnode *v;
	int r;

	memset(f, 0, sizeof(*f));
	f->error = -EIO;
	f->line = n->line;
	f->column = n->column;
	r = tnode_expect_type(c, n, TNODE_MAP, "a fault");
	if (r)
		return r;
	r = tnode_collect(c, n, "a fault", keys, kv, &nr);
	if (r)
		return r;
	if ((v = kv_get(kv, nr, "op"))) {
		r = tnode_expect_type(c, v, TNODE_SCALAR, "op");
		if (r)
			return r;
		if (!strcmp(v->str, "read"))
			f->op = TRACE_FAULT_READ;
		else if (!strcmp(v->str, "write"))
			f->op = TRACE_FAULT_WRITE;
		else if (!strcmp(v->str, "any"))
			f->op = TRACE_FAULT_ANY;
		else
			return trace_error_node(c, v, "op must be read, write or any, not '%s'",
						v->str);
	}
	if ((v = kv_get(kv, nr, "range"))) {
		r = tnode_expect_type(c, v, TNODE_SEQ, "range");
		if (r)
			return r;
		if (v->nr_kids != 2)
			return trace_error_node(c, v, "range must be [start, length]");
		if ((r = tnode_sectors(c, v->kids[0], "range start", &f->range_start)) ||
		    (r = tnode_sectors(c, v->kids[1], "range length", &f->range_len)))
			return r;
		if (!f->range_len)
			return trace_error_node(c, v->kids[1], "range length must be positive");
		if (f->range_start > d->size_sectors ||
		    f->range_len > d->size_sectors - f->range_start)
			return trace_error_node(c, v, "range lies beyond the end of disk '%s'",
						d->name);
		f->has_range = true;
	}
	if ((v = kv_get(kv, nr, "sectors"))) {
		r = tnode_expect_type(c, v, TNODE_SEQ, "sectors");
		if (r)
			return r;
		if (!v->nr_kids)
			return trace_error_node(c, v, "sectors must not be empty");
		f->sectors = calloc(v->nr_kids, sizeof(*f->sectors));
		if (!f->sectors)
			return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
		f->nr_sectors = v->nr_kids;
		for (unsigned i = 0; i < v->nr_kids; i++) {
			r = tnode_sectors(c, v->kids[i], "sector", &f->sectors[i]);
			if (r)
				return r;
			if (f->sectors[i] >= d->size_sectors)
				return trace_error_node(c, v->kids[i],
							"sector lies beyond the end of disk '%s'",
							d->name);
		}
	}
	if ((v = kv_get(kv, nr, "after_ops")) && (r = tnode_uint(c, v, "after_ops", &f->after_ops)))
		return r;
	if ((v = kv_get(kv, nr, "count")) && (r = tnode_uint(c, v, "count", &f->count)))
		return r;
	if ((v = kv_get(kv, nr, "error")) && (r = tnode_errno(c, v, "error", &f->error)))
		return r;
	if ((v = kv_get(kv, nr, "latent")) && (r = tnode_bool(c, v, "latent", &f->latent)))
		return r;
	if ((v = kv_get(kv, nr, "die_at_op"))) {
		r = tnode_uint(c, v, "die_at_op", &f->die_at_op);
		if (r)
			return r;
		if (!f->die_at_op)
			return trace_error_node(c, v, "die_at_op counts from 1");
	}
	if (f->latent && !f->has_range && !f->sectors)
		return trace_error_node(c, n, "a latent fault needs range or sectors");
	return 0;
}

static int parse_disk(struct trace_ctx *c, const struct tnode *n, struct trace_disk *d)
{
	static const char *const keys[] = { "name", "path", "size", "sector_size", "cache",
					    "latency", "queue_depth", "reorder", "atomic_write",
					    "initial", "faults", NULL };
	struct kv kv[MAX_KEYS];
	unsigned nr = 0;
	const struct tnode *v;
	uint64_t u;
	int r;

	d->sector_bytes = 512;
	d->cache = true;
	d->latency_min_ns = 10000;
	d->latency_max_ns = 100000;
	d->queue_depth = 32;
	d->reorder = true;
	d->atomic_sectors = 1;
	d->initial = TRACE_INITIAL_ZERO;
	d->line = n->line;
	d->column = n->column;
	r = tnode_expect_type(c, n, TNODE_MAP, "a disk");
	if (r)
		return r;
	r = tnode_collect(c, n, "a disk", keys, kv, &nr);
	if (r)
		return r;
	if (!(v = kv_get(kv, nr, "name")))
		return tnode_missing(c, n, "name", "a disk");
	r = copy_name(c, v, "name", d->name, sizeof(d->name));
	if (r)
		return r;
	if (!name_ok(d->name))
		return trace_error_node(c, v, "disk name '%s' is not a valid device name", d->name);
	if ((v = kv_get(kv, nr, "path"))) {
		r = copy_name(c, v, "path", d->path, sizeof(d->path));
		if (r)
			return r;
		if (!strncmp(d->path, "/dev/mapper/", 12))
			return trace_error_node(c, v, "a disk path may not be under /dev/mapper/");
	} else {
		snprintf(d->path, sizeof(d->path), "/dev/%s", d->name);
	}
	for (unsigned i = 0; c->hdr && i < c->hdr->nr_disks; i++) {
		const struct trace_disk *o = &c->hdr->disks[i];

		if (!strcmp(o->name, d->name) || !strcmp(o->path, d->path) ||
		    !strcmp(o->name, d->path) || !strcmp(o->path, d->name))
			return trace_error_node(c, kv_get(kv, nr, "name"),
						"disk '%s' is defined twice (also at line %u)",
						d->name, o->line);
	}
	if (!(v = kv_get(kv, nr, "size")))
		return tnode_missing(c, n, "size", "a disk");
	r = tnode_sectors(c, v, "size", &d->size_sectors);
	if (r)
		return r;
	if (!d->size_sectors)
		return trace_error_node(c, v, "size must be positive");
	if ((v = kv_get(kv, nr, "sector_size"))) {
		char why[WHY_LEN];

		r = tnode_expect_type(c, v, TNODE_SCALAR, "sector_size");
		if (r)
			return r;
		/* sector_size is in bytes; a bare number means bytes here. */
		if (units_parse_uint(v->str, &u, why, sizeof(why)) &&
		    units_parse_size(v->str, &u, why, sizeof(why)))
			return trace_error_node(c, v, "sector_size: %s", why);
		if (u < 512 || u > 65536 || (u & (u - 1)))
			return trace_error_node(c, v,
						"sector_size must be a power of two from 512 to 65536 bytes");
		d->sector_bytes = (unsigned)u;
		if ((d->size_sectors * 512) % u)
			return trace_error_node(c, kv_get(kv, nr, "size"),
						"size is not a multiple of sector_size");
	}
	if ((v = kv_get(kv, nr, "cache")) && (r = tnode_bool(c, v, "cache", &d->cache)))
		return r;
	if ((v = kv_get(kv, nr, "reorder")) && (r = tnode_bool(c, v, "reorder", &d->reorder)))
		return r;
	if ((v = kv_get(kv, nr, "latency"))) {
		static const char *const lkeys[] = { "min", "max", NULL };
		struct kv lkv[MAX_KEYS];
		unsigned lnr = 0;
		const struct tnode *lv;

		r = tnode_expect_type(c, v, TNODE_MAP, "latency");
		if (r)
			return r;
		r = tnode_collect(c, v, "latency", lkeys, lkv, &lnr);
		if (r)
			return r;
		if ((lv = kv_get(lkv, lnr, "min")) && (r = tnode_time(c, lv, "min", &d->latency_min_ns)))
			return r;
		if ((lv = kv_get(lkv, lnr, "max"))) {
			r = tnode_time(c, lv, "max", &d->latency_max_ns);
			if (r)
				return r;
		} else if (kv_get(lkv, lnr, "min")) {
			d->latency_max_ns = d->latency_min_ns;
		}
		if (!kv_get(lkv, lnr, "min") && d->latency_max_ns < d->latency_min_ns)
			d->latency_min_ns = d->latency_max_ns;
		if (d->latency_min_ns > d->latency_max_ns)
			return trace_error_node(c, v, "latency min is larger than max");
	}
	if ((v = kv_get(kv, nr, "queue_depth"))) {
		r = tnode_uint(c, v, "queue_depth", &u);
		if (r)
			return r;
		if (u < 1 || u > 65536)
			return trace_error_node(c, v, "queue_depth must be 1 to 65536");
		d->queue_depth = (unsigned)u;
	}
	if ((v = kv_get(kv, nr, "atomic_write"))) {
		r = tnode_expect_type(c, v, TNODE_SCALAR, "atomic_write");
		if (r)
			return r;
		if (!strcmp(v->str, "whole")) {
			d->atomic_sectors = 0;
		} else {
			r = tnode_sectors(c, v, "atomic_write", &d->atomic_sectors);
			if (r)
				return r;
			if (d->atomic_sectors && d->atomic_sectors * 512 < d->sector_bytes)
				return trace_error_node(c, v,
							"atomic_write is smaller than sector_size");
		}
	}
	if ((v = kv_get(kv, nr, "initial"))) {
		r = tnode_expect_type(c, v, TNODE_SCALAR, "initial");
		if (r)
			return r;
		if (!strcmp(v->str, "zero"))
			d->initial = TRACE_INITIAL_ZERO;
		else if (!strcmp(v->str, "garbage"))
			d->initial = TRACE_INITIAL_GARBAGE;
		else
			return trace_error_node(c, v, "initial must be zero or garbage, not '%s'",
						v->str);
	}
	if ((v = kv_get(kv, nr, "faults"))) {
		r = tnode_expect_type(c, v, TNODE_SEQ, "faults");
		if (r)
			return r;
		if (v->nr_kids > TRACE_MAX_FAULTS)
			return trace_error_node(c, v, "more than %u faults", TRACE_MAX_FAULTS);
		d->faults = calloc(v->nr_kids ? v->nr_kids : 1, sizeof(*d->faults));
		if (!d->faults)
			return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
		for (unsigned i = 0; i < v->nr_kids; i++) {
			d->nr_faults = i + 1;
			r = parse_fault(c, v->kids[i], d, &d->faults[i]);
			if (r)
				return r;
		}
	}
	return 0;
}

int trace_header_disks(struct trace_ctx *c, const struct tnode *n)
{
	struct trace_header *h = c->hdr;
	int r;

	if (n->type == TNODE_SCALAR && (!n->len || !strcmp(n->str, "~")) && !n->quoted)
		return 0; /* disks: (empty) */
	r = tnode_expect_type(c, n, TNODE_SEQ, "disks");
	if (r)
		return r;
	if (n->nr_kids > TRACE_MAX_DISKS)
		return trace_error_node(c, n, "more than %u disks", TRACE_MAX_DISKS);
	h->disks = calloc(n->nr_kids ? n->nr_kids : 1, sizeof(*h->disks));
	if (!h->disks)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	for (unsigned i = 0; i < n->nr_kids; i++) {
		struct trace_disk d = { 0 };

		r = parse_disk(c, n->kids[i], &d);
		h->disks[h->nr_disks++] = d; /* kept even on failure, so it is freed */
		if (r)
			return r;
	}
	return 0;
}

void trace_header_release(struct trace_header *h)
{
	for (unsigned i = 0; i < h->nr_disks; i++) {
		for (unsigned j = 0; j < h->disks[i].nr_faults; j++)
			free(h->disks[i].faults[j].sectors);
		free(h->disks[i].faults);
	}
	free(h->disks);
	memset(h, 0, sizeof(*h));
}

/* ---- data specs ---- */

static int parse_seed(struct trace_ctx *c, const struct tnode *n, uint64_t *seed)
{
	char why[WHY_LEN];
	const char *s = n->str;

	if (!strncmp(s, "seed-", 5))
		s += 5;
	if (units_parse_uint(s, seed, why, sizeof(why)))
		return trace_error_node(c, n, "pattern must be seed-N (N a decimal number), not '%s'",
					n->str);
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int parse_hex(struct trace_ctx *c, const struct tnode *n, struct trace_data *d)
{
	size_t cap = n->len / 2 + 1, nr = 0;
	int hi = -1;

	d->bytes = malloc(cap);
	if (!d->bytes)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	for (size_t i = 0; i < n->len; i++) {
		char ch = n->str[i];
		int v;

		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == ':' || ch == '-')
			continue;
		v = hexval(ch);
		if (v < 0) {
			unsigned col = n->column + (n->plain ? 0 : 1) + (unsigned)i;

			if (n->end_line != n->line)
				col = n->column;
			return trace_error_at(c, n->line, col,
					      "bytes: '%c' is not a hexadecimal digit", ch);
		}
		if (hi < 0) {
			hi = v;
		} else {
			d->bytes[nr++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		return trace_error_node(c, n, "bytes: odd number of hexadecimal digits");
	if (!nr)
		return trace_error_node(c, n, "bytes must not be empty");
	d->nr_bytes = nr;
	return 0;
}

static int resolve_file(struct trace_ctx *c, const struct tnode *n, struct trace_data *d)
{
	struct stat sb;
	size_t len;

	if (n->str[0] == '/' || !c->dir) {
		d->file = strdup(n->str);
	} else {
		len = strlen(c->dir) + 1 + n->len + 1;
		d->file = malloc(len);
		if (d->file)
			snprintf(d->file, len, "%s/%s", c->dir, n->str);
	}
	if (!d->file)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	if (stat(d->file, &sb) || !S_ISREG(sb.st_mode))
		return trace_error_node(c, n, "data file '%s' does not exist", n->str);
	return 0;
}

/*
 * Parse `data:` (write) or `expect:` (read): seed-N, zero, or a mapping
 * with one of pattern / bytes / file / zero.
 */
static int trace_data_parse(struct trace_ctx *c, const struct tnode *n, const char *what,
			    struct trace_data *d)
{
	static const char *const keys[] = { "pattern", "base", "seed_stride", "bytes", "file",
					    "file_offset", "zero", NULL };
	struct kv kv[MAX_KEYS];
	unsigned nr = 0, kinds = 0;
	const struct tnode *v;
	int r;

	memset(d, 0, sizeof(*d));
	if (n->type == TNODE_SCALAR) {
		if (!strcmp(n->str, "zero")) {
			d->kind = TRACE_DATA_ZERO;
			return 0;
		}
		if (!strncmp(n->str, "seed-", 5)) {
			d->kind = TRACE_DATA_PATTERN;
			return parse_seed(c, n, &d->seed);
		}
		return trace_error_node(c, n,
					"%s must be seed-N, zero, or a mapping with pattern, bytes or file",
					what);
	}
	r = tnode_expect_type(c, n, TNODE_MAP, what);
	if (r)
		return r;
	r = tnode_collect(c, n, what, keys, kv, &nr);
	if (r)
		return r;
	if ((v = kv_get(kv, nr, "pattern"))) {
		kinds++;
		d->kind = TRACE_DATA_PATTERN;
		if ((r = tnode_expect_type(c, v, TNODE_SCALAR, "pattern")) || (r = parse_seed(c, v, &d->seed)))
			return r;
	}
	if ((v = kv_get(kv, nr, "bytes"))) {
		kinds++;
		d->kind = TRACE_DATA_BYTES;
		if ((r = tnode_expect_type(c, v, TNODE_SCALAR, "bytes")) || (r = parse_hex(c, v, d)))
			return r;
	}
	if ((v = kv_get(kv, nr, "file"))) {
		kinds++;
		d->kind = TRACE_DATA_FILE;
		if ((r = tnode_expect_type(c, v, TNODE_SCALAR, "file")) || (r = resolve_file(c, v, d)))
			return r;
	}
	if ((v = kv_get(kv, nr, "zero"))) {
		bool z;

		kinds++;
		d->kind = TRACE_DATA_ZERO;
		if ((r = tnode_bool(c, v, "zero", &z)))
			return r;
		if (!z)
			return trace_error_node(c, v, "zero: false means nothing; leave it out");
	}
	if (kinds != 1)
		return trace_error_node(c, n, "%s needs exactly one of pattern, bytes, file, zero",
					what);
	if ((v = kv_get(kv, nr, "base"))) {
		if (d->kind != TRACE_DATA_PATTERN)
			return trace_error_node(c, v, "base applies to pattern only");
		if ((r = tnode_sectors(c, v, "base", &d->base)))
			return r;
		d->has_base = true;
	}
	if ((v = kv_get(kv, nr, "seed_stride"))) {
		if (d->kind != TRACE_DATA_PATTERN)
			return trace_error_node(c, v, "seed_stride applies to pattern only");
		if ((r = tnode_uint(c, v, "seed_stride", &d->seed_stride)))
			return r;
	}
	if ((v = kv_get(kv, nr, "file_offset"))) {
		char why[WHY_LEN];

		if (d->kind != TRACE_DATA_FILE)
			return trace_error_node(c, v, "file_offset applies to file only");
		if ((r = tnode_expect_type(c, v, TNODE_SCALAR, "file_offset")))
			return r;
		if (units_parse_size(v->str, &d->file_offset_bytes, why, sizeof(why)))
			return trace_error_node(c, v, "file_offset: %s", why);
	}
	return 0;
}

static void trace_data_release(struct trace_data *d)
{
	free(d->bytes);
	free(d->file);
	d->bytes = NULL;
	d->file = NULL;
}

/* ---- steps ---- */

struct action {
	const char *key;
	enum trace_step_kind kind;
	const char *const *params; /* keys besides the action key */
};

static const char *const p_dm[] = { "error", "message", NULL };
static const char *const p_query[] = { "expect", "inactive", "error", NULL };
static const char *const p_read[] = { "dev", "offset", "length", "expect", "error",
				      "stride", "wrap", NULL };
static const char *const p_write[] = { "dev", "offset", "length", "data", "fua", "preflush",
				       "error", "stride", "wrap", NULL };
static const char *const p_flush[] = { "dev", "error", NULL };
static const char *const p_discard[] = { "dev", "offset", "length", "error", "stride",
					 "wrap", NULL };
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
};

#define NR_ACTIONS (sizeof(actions) / sizeof(actions[0]))

static void count_step(struct trace_ctx *c)
{
	c->steps_parsed++;
	if (++c->live_steps > c->max_live_steps)
		c->max_live_steps = c->live_steps;
}

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

static int trace_io_parse(struct trace_ctx *c, const struct tnode *at,
			  const struct tnode *verb_val, const char *what, const struct kv *kv,
			  unsigned nr, struct trace_step *st)
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

static int trace_query_parse(struct trace_ctx *c, const struct tnode *verb,
			     const struct tnode *val, const struct kv *kv, unsigned nr,
			     struct trace_step *st)
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
