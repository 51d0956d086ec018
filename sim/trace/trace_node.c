/*
 * trace_node.c - typed values read from one node of a step's tree:
 * booleans, numbers, sectors, times, strings and errno names, and the keys
 * of a mapping checked against the names a step accepts. Each refuses a
 * bad value with an error at the node's position.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "trace_impl.h"
#include "units.h"

/* ---- typed scalars ---- */

int tnode_expect_type(struct trace_ctx *c, const struct tnode *n, enum tnode_type t,
		      const char *what)
{
	struct tnode want = { .type = t };

	if (n->type == t)
		return 0;
	return trace_error_node(c, n, "%s must be %s, not %s", what, tnode_type_name(&want),
				tnode_type_name(n));
}

int tnode_bool(struct trace_ctx *c, const struct tnode *n, const char *key, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	int r = tnode_expect_type(c, n, TNODE_SCALAR, key);

	if (r)
		return r;
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(n->str, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(n->str, no[i])) {
			*out = false;
			return 0;
		}
	}
	return trace_error_node(c, n, "%s must be a boolean (true/false, on/off), not '%s'",
				key, n->str);
}

int tnode_uint(struct trace_ctx *c, const struct tnode *n, const char *key, uint64_t *out)
{
	char why[WHY_LEN];
	int r = tnode_expect_type(c, n, TNODE_SCALAR, key);

	if (r)
		return r;
	if (units_parse_uint(n->str, out, why, sizeof(why)))
		return trace_error_node(c, n, "%s: %s", key, why);
	return 0;
}

int tnode_sectors(struct trace_ctx *c, const struct tnode *n, const char *key,
		  sector_t *out)
{
	char why[WHY_LEN];
	uint64_t v;
	int r = tnode_expect_type(c, n, TNODE_SCALAR, key);

	if (r)
		return r;
	if (units_parse_sectors(n->str, &v, why, sizeof(why)))
		return trace_error_node(c, n, "%s: %s", key, why);
	*out = v;
	return 0;
}

int tnode_time(struct trace_ctx *c, const struct tnode *n, const char *key, uint64_t *out)
{
	char why[WHY_LEN];
	int r = tnode_expect_type(c, n, TNODE_SCALAR, key);

	if (r)
		return r;
	if (units_parse_time(n->str, out, why, sizeof(why)))
		return trace_error_node(c, n, "%s: %s", key, why);
	return 0;
}

int tnode_string(struct trace_ctx *c, const struct tnode *n, const char *key, char **out)
{
	int r = tnode_expect_type(c, n, TNODE_SCALAR, key);

	if (r)
		return r;
	*out = strdup(n->str);
	if (!*out)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	return 0;
}

/* errno names a trace may expect. */
static const struct {
	const char *name;
	int code;
} errnos[] = {
	{ "EIO", EIO }, { "EINVAL", EINVAL }, { "EBUSY", EBUSY }, { "ENOSPC", ENOSPC },
	{ "ENXIO", ENXIO }, { "ENOENT", ENOENT }, { "EEXIST", EEXIST },
	{ "ENODEV", ENODEV }, { "EROFS", EROFS }, { "ENOMEM", ENOMEM },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "EINTR", EINTR }, { "EPERM", EPERM },
	{ "ENOTTY", ENOTTY }, { "EAGAIN", EAGAIN },
};

int tnode_errno(struct trace_ctx *c, const struct tnode *n, const char *key, int *out)
{
	int r = tnode_expect_type(c, n, TNODE_SCALAR, key);

	if (r)
		return r;
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(n->str, errnos[i].name)) {
			*out = -errnos[i].code;
			return 0;
		}
	return trace_error_node(c, n, "%s: unknown error name '%s' (EIO, EINVAL, EBUSY, ENOSPC, "
				"ENXIO, ENOENT, EEXIST, ENODEV, EROFS, ENOMEM, EOPNOTSUPP, ...)",
				key, n->str);
}

/* ---- mappings ---- */

/*
 * Collect the pairs of map n into kv (appending), refusing non-scalar and
 * duplicate keys and keys not in allowed (NULL-terminated).
 */
int tnode_collect(struct trace_ctx *c, const struct tnode *n, const char *what,
		  const char *const *allowed, struct kv *kv, unsigned *nr)
{
	for (unsigned i = 0; i + 1 < n->nr_kids; i += 2) {
		const struct tnode *k = n->kids[i];
		bool ok = false;

		if (k->type != TNODE_SCALAR)
			return trace_error_node(c, k, "keys must be scalars");
		for (unsigned j = 0; allowed[j]; j++)
			if (!strcmp(allowed[j], k->str))
				ok = true;
		if (!ok) {
			char list[200] = "";
			size_t used = 0;

			for (unsigned j = 0; allowed[j] && used < sizeof(list) - 1; j++)
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
							 j ? ", " : "", allowed[j]);
			return trace_error_node(c, k, "unknown key '%s' in %s (expected %s)",
						k->str, what, list);
		}
		for (unsigned j = 0; j < *nr; j++)
			if (!strcmp(kv[j].key->str, k->str))
				return trace_error_node(c, k, "duplicate key '%s' in %s", k->str,
							what);
		if (*nr >= MAX_KEYS)
			return trace_error_node(c, k, "too many keys in %s", what);
		kv[*nr].key = k;
		kv[*nr].val = n->kids[i + 1];
		(*nr)++;
	}
	return 0;
}

int tnode_missing(struct trace_ctx *c, const struct tnode *at, const char *key,
		  const char *what)
{
	return trace_error_node(c, at, "missing key '%s' in %s", key, what);
}
