/*
 * trace_data.c - what a write writes (`data:`) and what a read expects
 * (`expect:`): a seeded pattern, zeroes, literal hex bytes, or a slice of a
 * file beside the trace (which must exist when the trace is loaded).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace_impl.h"
#include "units.h"

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

char *trace_path_beside(struct trace_ctx *c, const struct tnode *n)
{
	char *p;
	size_t len;

	if (n->str[0] == '/' || !c->dir) {
		p = strdup(n->str);
	} else {
		len = strlen(c->dir) + 1 + n->len + 1;
		p = malloc(len);
		if (p)
			snprintf(p, len, "%s/%s", c->dir, n->str);
	}
	if (!p)
		trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	return p;
}

static int resolve_file(struct trace_ctx *c, const struct tnode *n, struct trace_data *d)
{
	struct stat sb;

	d->file = trace_path_beside(c, n);
	if (!d->file)
		return -ENOMEM;
	if (stat(d->file, &sb) || !S_ISREG(sb.st_mode))
		return trace_error_node(c, n, "data file '%s' does not exist", n->str);
	return 0;
}

/*
 * Parse `data:` (write) or `expect:` (read): seed-N, zero, or a mapping
 * with one of pattern / bytes / file / zero.
 */
int trace_data_parse(struct trace_ctx *c, const struct tnode *n, const char *what,
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

void trace_data_release(struct trace_data *d)
{
	free(d->bytes);
	free(d->file);
	d->bytes = NULL;
	d->file = NULL;
}
