/*
 * model_map.h - the model's sparse per-sector state: sector -> the
 * versions it may hold. An open-addressing hash table; states are never
 * removed one by one (a map is dropped whole).
 */
#ifndef SNAPSIM_MODEL_MAP_H
#define SNAPSIM_MODEL_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* What one version of a sector is. */
enum mver_state {
	MV_DURABLE = 0,  /* on the media (or one of several candidates after a crash) */
	MV_ACKED,        /* acknowledged, in a volatile cache */
	MV_INFLIGHT,     /* submitted, not completed */
	MV_MAYBE,        /* a failed write's data, or an origin value being merged over */
};

struct mver {
	struct model_content c;
	uint64_t seq;       /* ACKED: acknowledgement order */
	uint64_t wid;       /* INFLIGHT: write id */
	uint32_t disk;      /* the disk whose cache holds it */
	uint8_t st;         /* enum mver_state */
	uint8_t copy;       /* copied into a snapshot: 1, and 2 for the value read then */
};

struct mstate {
	struct mver *v;
	uint32_t n, cap;
	struct model_content cur;  /* what a read returns now, when cur_known */
	bool cur_known;
	bool dirty_listed;         /* referenced from its disk's dirty list */
	bool merging;              /* the origin side of a running merge */
	/*
	 * The identity of the value this state started from: 0 for its own
	 * location, else (a copy into a snapshot) the root of the state it was
	 * copied from (model_loc_id), so that reads tied by pins are known.
	 */
	uint64_t root;
};

struct mmap_slot {
	uint64_t key;
	struct mstate *s;          /* NULL: empty slot */
};

struct mmap {
	struct mmap_slot *slots;
	uint64_t cap, used;
};

struct mstate *mmap_get(const struct mmap *mp, uint64_t key);
/* Find or insert (a new state has no versions). NULL on allocation failure. */
struct mstate *mmap_put(struct mmap *mp, uint64_t key, bool *created);
void mmap_free(struct mmap *mp);
/* Call fn for every state. */
void mmap_each(struct mmap *mp, void (*fn)(void *ctx, uint64_t key, struct mstate *s),
	       void *ctx);

int mstate_push(struct mstate *s, const struct mver *v);
void mstate_drop(struct mstate *s, uint32_t i);

#endif
