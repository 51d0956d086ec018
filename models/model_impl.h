/*
 * model_impl.h - the oracle's internal objects, shared by its files and
 * nobody else (model.h is the interface). The files, bottom up:
 *   model.c          contents, objects (disks, devices, stores, handles),
 *                    dirty lists, durability of one version
 *   model_resolve.c  device + sector -> a disk sector or a snapshot sector
 *   model_write.c    live writes: begin/end, copy on first origin write
 *   model_durable.c  flush and power cut: which versions may be on media
 *   model_tables.c   tables, stores, merge, invalidation
 *   model_read.c     expected sets and read checks
 *   model_clone.c    statistics, initial-content hooks, cloning a model
 * A file calls only files above it in this list.
 *
 * A sector state (model_map.h) lists every version the sector may hold
 * on the media, plus the ones in flight; `cur` is what a read returns now.
 * Invariants: a state created for a disk sector starts with one DURABLE
 * version (the initial content); a DURABLE version drops every older
 * non-in-flight version; after a crash every version becomes a DURABLE
 * candidate and `cur` is unknown until a read pins it.
 */
#ifndef SNAPSIM_MODEL_IMPL_H
#define SNAPSIM_MODEL_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "model_map.h"

#define NAME_MAX_LEN 128
#define MAX_DEPTH 16

struct dref {
	struct mmap *map;
	uint64_t key;
};

struct mdisk {
	char name[NAME_MAX_LEN];
	model_sector_t size;
	bool garbage;
	uint64_t gseed;
	model_initial_fn *init_fn;     /* NULL: pattern_garbage(gseed, sector) */
	struct mmap map;
	struct dref *dirty;            /* states with ACKED versions on this disk */
	size_t nr_dirty, cap_dirty;
};

struct merged_loc {
	uint32_t disk;
	uint64_t abs;
	uint64_t ssec;
};

struct mstore {
	uint32_t cow_disk;
	model_sector_t cow_abs;        /* identity: where the COW starts */
	char origin[NAME_MAX_LEN];     /* the origin (real) device, normalised */
	uint32_t cs;
	bool persistent, po;
	uint64_t cap, used;            /* data chunks */
	model_sector_t cow_sectors;    /* the COW's size; 0: unknown (cow_chunks given) */
	/*
	 * An allocation whose commit must fail is in flight: it filled the
	 * last area that fits and the zeroing of the next one lies beyond
	 * the COW's end (spec 2.12). Reads may still succeed until the
	 * write that waits on it ends; then the store is invalid.
	 */
	bool doomed;
	uint64_t doomed_chunk;
	model_sector_t len;            /* the snapshot device's size */
	enum model_snap_state state;   /* VALID, INVALID, MAYBE_INVALID */
	bool overflow;
	bool merging;
	bool dead;
	struct mmap map;               /* snapshot sector -> state */
	struct mmap chunks;            /* allocated chunks (states unused) */
	struct mmap committed;         /* chunks whose record an acknowledged write
					* proved durable while the store was valid
					* (states unused) */
	struct mmap unsure;            /* chunks allocated before a power cut with no
					* proven record: the restarted store may
					* have reused them (spec 2.14), so the used
					* count is between used minus those still
					* unproven and used (states unused) */
	struct merged_loc *merged;
	size_t nr_merged, cap_merged;
};

struct mdev {
	char name[NAME_MAX_LEN];
	struct model_segment *segs;
	struct mstore **stores;        /* per segment, for SNAPSHOT/MERGE */
	char **strs;                   /* owned copies of dev/cow names, 2 per segment */
	unsigned n;
};

struct commit {
	struct mstore *s;
	uint64_t chunk;
	bool fatal;                    /* this commit invalidates s (mstore.doomed) */
};

struct whandle {
	uint64_t id;
	unsigned flags;
	struct mstore *snap;           /* a snapshot write: its store */
	bool may_fail;                 /* its commit may share a doomed batch (spec 2.8) */
	struct dref *refs;
	size_t nr_refs, cap_refs;
	struct commit *commits;
	size_t nr_commits, cap_commits;
};

struct model {
	struct mdisk **disks;
	unsigned nr_disks;
	struct mdev **devs;
	unsigned nr_devs;
	struct mstore **stores;
	unsigned nr_stores;
	struct whandle **handles;
	unsigned nr_handles;
	size_t cap_disks, cap_devs, cap_stores, cap_handles;
	uint64_t seq;                  /* acknowledgement counter */
	uint64_t next_wid;
	/*
	 * Name lookups (model_find_dev/disk), memoized: every read resolves
	 * its device by name per sector. An entry holds only while names_gen
	 * has not moved; anything that adds, removes or replaces a disk or a
	 * device bumps it (model_names_changed).
	 */
	uint64_t names_gen;
	struct model_name_hit {
		bool used;
		uint64_t gen;
		int dev, disk;                 /* indices, -1: none */
		char name[NAME_MAX_LEN];
	} names[64];
};
/* Disks or devices were added, removed or replaced: forget name lookups. */
static inline void model_names_changed(struct model *m)
{
	m->names_gen++;
}

enum loc_kind {
	L_DISK,
	L_STORE,
	L_ZERO,
	L_EIO,
};

struct loc {
	enum loc_kind kind;
	uint32_t disk;
	uint64_t abs;
	struct mstore *st;
	uint64_t ssec;
	bool maybe_eio;
};

#define PUSH(arr, nr, cap, val)                                                    \
	(model_grow_array((void **)&(arr), &(cap), (nr) + 1, sizeof(*(arr))) ? -ENOMEM :   \
	 ((arr)[(nr)++] = (val), 0))

int model_grow_array(void **arr, size_t *cap, size_t need, size_t elem);
struct model_content mc_zero(void);
bool mc_eq(const struct model_content *x, const struct model_content *y);
struct model_content model_data_content(const struct model_data *d, uint32_t i);
struct model_content model_initial_content(const struct mdisk *d, uint64_t abs);
void model_dev_free(struct mdev *d);
void model_handle_free(struct whandle *h);
void model_store_free(struct mstore *s);
const char *model_strip(const char *name, const char *prefix);
struct mdev *model_find_dev(struct model *m, const char *name);
int model_find_disk(struct model *m, const char *name);
model_sector_t model_dev_size(struct model *m, const char *name);
void model_dirty_add(struct model *m, uint32_t disk, struct mmap *map, uint64_t key,
		      struct mstate *s);
void model_make_durable(struct mstate *s, uint32_t i);
const struct model_segment *model_seg_of(const struct mdev *d, model_sector_t s, unsigned *idx);
bool model_chunk_allocated(const struct mstore *s, uint64_t chunk);
int model_resolve(struct model *m, const char *name, model_sector_t s, struct loc *out,
		   int depth);
/* model_resolve, and how many sectors from s map to the next locations in turn. */
int model_resolve_run(struct model *m, const char *name, model_sector_t s, struct loc *out,
		      int depth, model_sector_t *run);
void model_loc_advance(struct loc *l, model_sector_t by);
int model_view(struct model *m, const struct loc *l, struct mstate **sp,
		struct model_content *fixed, int depth);
/* model_view, and the location whose state *sp is (at; unchanged without one). */
int model_view_at(struct model *m, const struct loc *l, struct mstate **sp,
		  struct model_content *fixed, int depth, struct loc *at);
/*
 * A memo for reading consecutive store sectors (tables and allocations do
 * not change in between): the origin location of the next store sector
 * for as long as it stays a run, and whether its chunk is allocated. Zero
 * it before the first sector.
 */
struct model_view_memo {
	const struct mstore *st;
	model_sector_t next;  /* the store sector ol is for */
	model_sector_t left;  /* sectors ol stays consecutive for */
	struct loc ol;
	const struct mstore *cst;
	uint64_t chunk;
	bool alloc;
};
/*
 * model_view_at through a memo (NULL: none) for the next sector of a run,
 * without computing the fixed content: *fs says where it comes from
 * (L_DISK: that location's initial content; L_ZERO; L_EIO: none, a state
 * answered); model_fixed_content gives it.
 */
int model_view_memo_src(struct model *m, const struct loc *l, struct mstate **sp,
			struct loc *fs, struct loc *at, struct model_view_memo *mm);
struct model_content model_fixed_content(struct model *m, const struct loc *fs);
/* A location's identity (disk or store index and sector), never 0. */
uint64_t model_loc_id(const struct model *m, const struct loc *l);
int model_origin_preserve(struct model *m, struct whandle *h, const char *real,
			   model_sector_t s, const struct mstore *skip);
void model_commit_chunk(struct mstore *st, uint64_t chunk);

#endif
