/*
 * trace_impl.h - private parts of the trace loader, shared by its files.
 * Each file calls only the files listed after it (scripts/check-cycles.sh):
 *   trace.c        reader: header, streaming of steps, repeat expansion, check
 *   trace_steps.c  one step: its action, parallel groups, repeats, crash, wait
 *   trace_disks.c  the header's disks and their faults
 *   trace_io.c     I/O and query steps (the steps that name one device)
 *   trace_data.c   the data a write writes or a read expects
 *   trace_dm.c     the dm command language and table device names
 *   trace_node.c   typed values and mapping keys of a node
 *   trace_names.c  disk and dm device names defined so far
 *   trace_yaml.c   libyaml events -> a small tree for one node (one step)
 *   trace_err.c    error reports with file and position
 *   units.c        numbers with units (units.h)
 * Not for users of the loader.
 */
#ifndef SNAPSIM_TRACE_IMPL_H
#define SNAPSIM_TRACE_IMPL_H

#include <stdbool.h>
#include <string.h>
#include <yaml.h>

#include "trace.h"

/* ---- a small tree for one YAML node (trace_yaml.c) ---- */

enum tnode_type {
	TNODE_SCALAR,
	TNODE_SEQ,
	TNODE_MAP,     /* kids: key, value, key, value, ... */
};

struct tnode {
	enum tnode_type type;
	unsigned line, column;     /* 1-based start */
	unsigned end_line;         /* 1-based line of the end mark */
	bool quoted;               /* scalar written quoted or as a block */
	bool plain;                /* plain scalar (position maps 1:1 into the text) */
	char *str;                 /* scalar text, NUL-terminated */
	size_t len;
	struct tnode **kids;
	unsigned nr_kids, cap_kids;
};

/* Per-reader parsing context. */
struct trace_ctx {
	const char *file;          /* for messages */
	char *dir;                 /* directory of the trace, for data files */
	struct trace_error *err;
	struct trace_header *hdr;
	/* Names defined so far (dm devices); disks are in hdr. */
	char **dm_names;
	unsigned nr_dm_names, cap_dm_names;
	/* Step object accounting (stats). */
	uint64_t steps_parsed;
	unsigned live_steps, max_live_steps;
	unsigned max_step_nodes;
	unsigned nodes;            /* nodes of the tree being built */
};

/* ---- errors (trace_err.c) ---- */

/* Fill c->err (if still clear) with -EINVAL at a position; returns -EINVAL. */
int trace_error_at(struct trace_ctx *c, unsigned line, unsigned column,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int trace_error_node(struct trace_ctx *c, const struct tnode *n,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Read events until the node that starts with *first is complete and
 * build its tree. Takes ownership of *first (deletes it).
 */
int tnode_build(struct trace_ctx *c, yaml_parser_t *p, yaml_event_t *first,
		struct tnode **out);
void tnode_free(struct tnode *n);
/* Fetch one event; on a syntax error fill c->err from the parser. */
int trace_yaml_next(struct trace_ctx *c, yaml_parser_t *p, yaml_event_t *ev);
const char *tnode_type_name(const struct tnode *n);

/* ---- steps (trace_steps.c) ---- */

/* Convert a step node into *st (zeroed first). Releases nothing of n. */
int trace_step_parse(struct trace_ctx *c, const struct tnode *n,
		     struct trace_step *st, unsigned depth, bool in_group);
/* Free what a step owns (not st itself). */
void trace_step_release(struct trace_ctx *c, struct trace_step *st);

/* ---- the header's disks (trace_disks.c) ---- */

/* Parse `disks:` into c->hdr. */
int trace_header_disks(struct trace_ctx *c, const struct tnode *n);
void trace_header_release(struct trace_header *h);

/* ---- typed values and mapping keys (trace_node.c) ---- */

/* Room for a units.h parser's reason, quoted in an error. */
#define WHY_LEN 160

int tnode_expect_type(struct trace_ctx *c, const struct tnode *n,
		      enum tnode_type t, const char *what);
int tnode_bool(struct trace_ctx *c, const struct tnode *n, const char *key, bool *out);
int tnode_uint(struct trace_ctx *c, const struct tnode *n, const char *key, uint64_t *out);
int tnode_sectors(struct trace_ctx *c, const struct tnode *n, const char *key,
		  sector_t *out);
int tnode_time(struct trace_ctx *c, const struct tnode *n, const char *key, uint64_t *out);
int tnode_string(struct trace_ctx *c, const struct tnode *n, const char *key, char **out);
/* An errno name (EIO, ENOSPC, ...) as a negative code. */
int tnode_errno(struct trace_ctx *c, const struct tnode *n, const char *key, int *out);

static inline bool is_null(const struct tnode *n)
{
	return n->type == TNODE_SCALAR && !n->quoted && (!n->len || !strcmp(n->str, "~") ||
							  !strcmp(n->str, "null"));
}

/* One key of a mapping, with the names the caller accepts. */
struct kv {
	const struct tnode *key;
	const struct tnode *val;
};

#define MAX_KEYS 24

/*
 * Collect the pairs of map n into kv (appending), refusing non-scalar and
 * duplicate keys and keys not in allowed (NULL-terminated).
 */
int tnode_collect(struct trace_ctx *c, const struct tnode *n, const char *what,
		  const char *const *allowed, struct kv *kv, unsigned *nr);

static inline const struct tnode *kv_get(const struct kv *kv, unsigned nr, const char *key)
{
	for (unsigned i = 0; i < nr; i++)
		if (!strcmp(kv[i].key->str, key))
			return kv[i].val;
	return NULL;
}

int tnode_missing(struct trace_ctx *c, const struct tnode *at, const char *key,
		  const char *what);

/* ---- steps that name one device (trace_io.c) ---- */

/*
 * The I/O step (kind already in st) whose node is at, action value verb_val
 * and action name what, with its parameters kv.
 */
int trace_io_parse(struct trace_ctx *c, const struct tnode *at, const struct tnode *verb_val,
		   const char *what, const struct kv *kv, unsigned nr, struct trace_step *st);
/* The query step whose action key is verb and device val. */
/* A save step: device val, `to:` and `durable:` among kv. */
int trace_save_parse(struct trace_ctx *c, const struct tnode *verb, const struct tnode *val,
		     const struct kv *kv, unsigned nr, struct trace_step *st);
int trace_query_parse(struct trace_ctx *c, const struct tnode *verb, const struct tnode *val,
		      const struct kv *kv, unsigned nr, struct trace_step *st);

/* ---- data of a write or read (trace_data.c) ---- */

/* Parse `data:` (write) or `expect:` (read) node n, what naming it, into *d. */
int trace_data_parse(struct trace_ctx *c, const struct tnode *n, const char *what,
		     struct trace_data *d);
void trace_data_release(struct trace_data *d);
/* The path a trace names in node n, resolved beside the trace (absolute
 * paths as given): malloc'd, or NULL with err set (out of memory). */
char *trace_path_beside(struct trace_ctx *c, const struct tnode *n);

/* ---- names (trace_names.c) ---- */

const struct trace_disk *trace_find_disk(const struct trace_ctx *c, const char *name);
bool trace_dm_defined(const struct trace_ctx *c, const char *name);
int trace_dm_define(struct trace_ctx *c, const char *name);
void trace_dm_undefine(struct trace_ctx *c, const char *name);
/* A device named by an I/O or query step: a disk name/path or a dm name. */
bool trace_dev_known(const struct trace_ctx *c, const char *name);

/* ---- dm commands (trace_dm.c) ---- */

/*
 * Parse the text of a `dm:` step (node n, for positions) into dm, and,
 * unless check_names is false, check and apply the names it uses/defines.
 */
int trace_dm_parse(struct trace_ctx *c, const struct tnode *n, struct trace_dm *dm,
		   bool check_names);
void trace_dm_release(struct trace_dm *dm);

#endif
