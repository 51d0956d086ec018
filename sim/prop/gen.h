/*
 * gen.h - seeded generator of random traces (traces/README.md) for the
 * property tests and `snapsim check`.
 *
 * A case is an origin X (on disk `data`) with one or two snapshots (S1 on
 * c1, S2 on c2), random writes, reads and flushes on all of them, parallel
 * groups of disjoint I/O, optionally `crash:` markers between steps, a
 * snapshot removal, a merge of S1 into the origin (with a marker while it
 * runs) and an injected COW write fault; tables spell devices /dev/... or
 * MAJOR:MINOR (X_org is 254:0, the disks 7:0..7:2 in header order); one
 * case in three gives S2 a COW of 2..5 data chunks plus a partial chunk that
 * the workload runs to full (its I/O then carries `may_fail: true`); races
 * put an origin write and up to three snapshot reads in flight together. The case is held as a list of
 * steps, not as text, so a shrinker can drop steps and shorten I/O and
 * render the result again (gen_case_yaml). One seed fixes the case
 * (SIM_STREAM_WORKLOAD of that seed); the same seed with the same options
 * gives the same case.
 *
 * Ownership: gen_case_build fills a caller-owned struct gen_case whose
 * steps it allocates; gen_case_free releases them.
 */
#ifndef SNAPSIM_SIM_GEN_H
#define SNAPSIM_SIM_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gen_opts {
	char store;        /* 'P' or 'N': every snapshot uses it; 0: S1 P, S2 P or N at random */
	bool crashes;      /* put `crash:` markers between steps (and during a merge) */
	bool merge_crashes; /* also a `crash:` marker while the merge runs */
	bool faults;       /* sometimes give c2 a transient write error */
	bool merge;        /* allow a merge of S1 (needs S1 persistent) */
	bool remove;       /* allow `dm remove S2` */
	unsigned max_io;   /* I/O items per phase at most; 0: 30 */
};

enum gen_kind {
	GEN_TEXT = 0,      /* literal step line(s), rendered as is */
	GEN_WRITE,
	GEN_READ,
	GEN_FLUSH,
	GEN_PARALLEL,
	GEN_CRASH,
};

struct gen_step {
	enum gen_kind kind;
	bool fixed;            /* structural (dm verbs): never dropped when shrinking */
	char dev[8];           /* I/O: X, S1, S2, X_org */
	uint64_t off, len;     /* sectors */
	uint64_t data;         /* write: pattern seed */
	bool fua;
	bool may_fail;         /* I/O: `may_fail: true` (the model judges the status) */
	char *text;            /* GEN_TEXT: the step without the leading "- "; GEN_CRASH: name */
	struct gen_step *members;   /* GEN_PARALLEL */
	unsigned nr_members;
};

struct gen_case {
	uint64_t seed;
	char *header;          /* everything before the step list, "steps:\n" included */
	struct gen_step *steps;
	size_t nr, cap;
};

/* Build the case of seed. Returns 0 or -ENOMEM. */
int gen_case_build(uint64_t seed, const struct gen_opts *o, struct gen_case *c);
void gen_case_free(struct gen_case *c);

/*
 * Render the case as YAML, keeping step i when keep is NULL or keep[i].
 * Returns a malloc'd NUL-terminated buffer (length in *len) or NULL.
 */
char *gen_case_yaml(const struct gen_case *c, const bool *keep, size_t *len);

#endif
