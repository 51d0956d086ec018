/*
 * dm_snap.h - declarations shared by the snapshot targets (dm_snap.c:
 * `snapshot`, `snapshot-merge`; dm_snap_origin.c: `snapshot-origin`) and
 * their origin registry (dm_snap_registry.c). Not a public interface.
 *
 * The files call one another in one direction only (each calls only
 * files after it): dm_snap.c, dm_snap_origin.c; dm_snap_io.c (request
 * paths); dm_snap_merge.c (background merge); dm_snap_exception.c
 * (exceptions, origin-write procedure, lifetime); dm_snap_registry.c.
 */
#ifndef SNAPSIM_DM_SNAP_H
#define SNAPSIM_DM_SNAP_H

#include <stdbool.h>
#include <stdint.h>

#include "bdev.h"
#include "bio.h"
#include "dm.h"
#include "dm_target.h"
#include "exception_table.h"
#include "exstore.h"

struct dm_snapshot;
struct snap_origin;
struct snap_registry;

/* ---- the origin registry (spec 4.1), one per dm_registry ---- */

/*
 * A snapshot's place in its origin's list. Embedded in the snapshot;
 * chunk_sectors is the value the list is ordered by (largest first, ties
 * in registration order), refreshed by snap_registry_replace().
 */
struct snap_reg_node {
	struct snap_reg_node *next;
	struct snap_origin *origin;    /* NULL while not registered */
	struct dm_snapshot *snap;
	struct bdev *cow;
	uint32_t chunk_sectors;
};

/* All snapshots constructed on one origin block device. */
struct snap_origin {
	struct snap_origin *next;
	struct bdev *bdev;             /* identity, not the path string */
	struct snap_reg_node *snaps;   /* ordered, see snap_reg_node */
};

/*
 * The registry of dm registry reg, created on first use. NULL only when
 * create is false and there is none yet, or on allocation failure.
 */
struct snap_registry *snap_registry_get(struct dm_registry *reg, bool create);
/* The origin entry of bdev, or NULL. */
struct snap_origin *snap_registry_find_origin(struct snap_registry *sr,
					      struct bdev *bdev);
/*
 * Insert node (node->snap, cow, chunk_sectors set) into origin bdev's list.
 * Returns 0 or -ENOMEM (nothing changed).
 */
int snap_registry_link(struct snap_registry *sr, struct bdev *origin,
		       struct snap_reg_node *node);
/* Remove node from its origin (freeing the origin entry when empty). */
void snap_registry_unlink(struct snap_registry *sr, struct snap_reg_node *node);
/* Re-place node after its chunk size changed (snapshot resume). */
void snap_registry_replace(struct snap_reg_node *node, uint32_t chunk_sectors);
/* Smallest non-zero chunk size of the origin's snapshots (0: none). */
uint32_t snap_origin_min_chunk(const struct snap_origin *o);
/*
 * Visit every registered snapshot node using cow (across all origins).
 * Returns the number of nodes found; *first set to the first (may be NULL).
 */
unsigned snap_registry_cow_users(struct snap_registry *sr, struct bdev *cow,
				 const struct snap_reg_node *skip,
				 struct snap_reg_node **first);

/* Live snapshot-origin targets by their underlying device. */
int snap_registry_add_origin_target(struct snap_registry *sr,
				    struct bdev *origin, struct dm_target *ti);
void snap_registry_remove_origin_target(struct snap_registry *sr,
					struct dm_target *ti);
struct dm_target *snap_registry_find_origin_target(struct snap_registry *sr,
						   struct bdev *origin);

/* ---- the origin-write procedure (spec 4.3), in dm_snap_exception.c ---- */

/*
 * A write (or a merge step) waiting for a pending exception. rerun runs
 * from executor context when the exception it waits on has completed
 * (successfully or not); it must run the origin-write procedure again.
 */
struct origin_waiter {
	struct origin_waiter *next;
	void (*rerun)(struct origin_waiter *w);
};

/*
 * Run the origin-write procedure for a write whose first sector is sector
 * on origin o (NULL: no snapshots). Returns true when the write may go to
 * the origin now, false when w was attached to a pending exception (w's
 * rerun will be called). Starts the copies that are needed.
 */
bool dm_snap_origin_write(struct snap_origin *o, sector_t sector,
			  struct origin_waiter *w);

/* ---- the snapshot object ---- */

#define SNAP_TRACK_BUCKETS 16

struct pending_exception;

/*
 * Per-bio data of the snapshot and snapshot-merge targets. The target
 * either remaps the clone (core submits it), submits the clone itself
 * later (held writes), or issues up to two inner bios of its own on the
 * clone's data and ends the clone when they are done (tracked reads,
 * whole-chunk writes, flush fan-out, discards).
 */
struct snap_io {
	struct bio *clone;
	struct dm_snapshot *snap;
	struct snap_io *next;       /* held on a pending exception / merge run */
	struct snap_io *tnext;      /* tracking bucket */
	struct origin_waiter w;     /* merge target: write waiting on others */
	struct bio inner[2];
	unsigned inner_left;
	int status;                 /* first error of the inner bios */
	chunk_t chunk;              /* tracked chunk */
	bool tracked;
	uint8_t *zero_buf;          /* discard zeroing buffer (owned) */
	struct pending_exception *pe; /* whole-chunk write: its exception */
};

/*
 * One snapshot or snapshot-merge target. Exception state (store, complete
 * table, pending exceptions) moves to another instance at handover.
 *
 * Lifetime: created by the constructor; the destructor unregisters it and
 * marks it dying (ti = NULL). It is freed once nothing refers to it: no
 * pending exception, no inner bio or merge step in flight, no store I/O.
 */
struct dm_snapshot {
	struct dm_target *ti;          /* NULL once destroyed */
	struct dm_registry *reg;
	struct snap_registry *sr;
	struct executor *ex;
	struct bdev *origin;
	struct bdev *cow;
	sector_t len_sectors;          /* the target's length */
	bool is_merge;                 /* snapshot-merge */
	bool discard_zeroes_cow;
	bool discard_passdown_origin;
	bool store_overflow_mode;      /* this table's PO flag */

	struct exstore *store;         /* chunk size lives here */
	struct extable complete;
	struct pending_exception **pending; /* hash by chunk */
	uint32_t pending_mask;
	struct pending_exception *order_head; /* allocation order */
	struct pending_exception **order_tail;
	uint64_t next_seq;             /* next sequence number to allocate */
	uint64_t next_commit_seq;      /* next one the store must see */
	unsigned pending_count;        /* created, not yet finished */
	struct pending_exception *read_waiters; /* committed, reads in flight */
	struct snap_io *tracked[SNAP_TRACK_BUCKETS];
	unsigned inflight;             /* inner bios and merge runs in flight */

	bool valid;
	bool active;                   /* resumed at least once */
	bool overflow;                 /* PO: out of space on a snapshot write */
	bool dying;
	bool reap_queued;

	struct snap_reg_node node;
	struct dm_snapshot *handover_src;  /* we are a handover destination */
	struct dm_snapshot *handover_dest; /* we are a handover source */

	/* Merge (snapshot-merge only). */
	bool merge_running;
	bool merge_stop;
	bool merge_failed;
	bool merge_wait_writes;        /* step 6 waits for tracked COW writes */
	chunk_t merge_old;             /* first origin chunk of the run */
	chunk_t merge_new;             /* first COW chunk of the run */
	uint64_t merge_nr;             /* chunks in the run */
	uint64_t merging_nr;           /* > 0: run marked "being merged" */
	struct snap_io *merge_held;    /* writes held for the run */
	struct snap_io **merge_held_tail;
	struct origin_waiter merge_waiter;
	struct bio merge_flush;
};

static inline uint32_t snap_chunk_sectors(const struct dm_snapshot *s)
{
	return s->store ? s->store->chunk_sectors : 0;
}

static inline chunk_t snap_sector_to_chunk(const struct dm_snapshot *s,
					   sector_t sector)
{
	return sector >> s->store->chunk_shift;
}

static inline sector_t snap_chunk_to_sector(const struct dm_snapshot *s,
					    chunk_t chunk)
{
	return chunk << s->store->chunk_shift;
}

/* Whether bio covers exactly one whole chunk. */
static inline bool chunk_whole(const struct dm_snapshot *s,
			       const struct bio *bio)
{
	uint32_t cs = snap_chunk_sectors(s);

	return bio->nr_sectors == cs && !(bio->sector & (cs - 1));
}

/* The COW sector of sector (in old chunk) when it lives in new_chunk. */
static inline sector_t cow_sector(const struct dm_snapshot *s,
				  chunk_t new_chunk, sector_t sector)
{
	return snap_chunk_to_sector(s, new_chunk) +
	       (sector & (snap_chunk_sectors(s) - 1));
}

static inline void defer_or_run(struct executor *ex, executor_fn *fn,
				void *ctx)
{
	/* A failed defer cannot be reported anywhere better: run it now. */
	if (executor_defer(ex, fn, ctx) != 0)
		fn(ctx);
}

/* dm_snap_io.c: the map functions of snapshot and snapshot-merge. */
int dm_snap_map(struct dm_snapshot *s, struct bio *clone);
int dm_snap_merge_map(struct dm_snapshot *s, struct bio *clone);

/* dm_snap_exception.c: the exception machinery. */
int dm_snap_pending_init(struct dm_snapshot *s, uint64_t nr_buckets);
/* Invalidate (spec 4.10): once; header drop, device event. */
void dm_snap_invalidate(struct dm_snapshot *s);
/* Whether a tracked I/O (snapshot read, merge COW write) of chunk c runs. */
bool dm_snap_chunk_is_tracked(const struct dm_snapshot *s, chunk_t c);
/*
 * Whether some origin write is held on a pending or read-waiting
 * exception of s whose chunk a tracked snapshot read is reading (the
 * race of spec 4.7; for the simulator's coverage, never for I/O).
 */
bool dm_snap_origin_write_races_read(const struct dm_snapshot *s);
/* A tracked I/O ended: finish the exceptions that waited for it. */
void dm_snap_release_read_waiters(struct dm_snapshot *s);
/*
 * A snapshot write (spec 4.6) to chunk c, which has no complete exception:
 * held on the chunk's pending exception, or one is created for it.
 * Returns DM_MAPIO_SUBMITTED or -EIO (no space: overflow or invalidated).
 */
int dm_snap_write(struct dm_snapshot *s, struct snap_io *io, chunk_t c);
/* Move the exception state of src to dest (spec 4.13). */
void dm_snap_handover(struct dm_snapshot *src, struct dm_snapshot *dest);
/* Free s if it is dying and nothing refers to it any more. */
void dm_snap_reap(struct dm_snapshot *s);
/* Free everything s owns (used by reap and by a failed constructor). */
void dm_snap_free(struct dm_snapshot *s);

/* dm_snap_merge.c: start the background merge (spec 4.12) at resume. */
void dm_snap_merge_start(struct dm_snapshot *s);
/* A tracked I/O ended while the merge waits for writes to its run. */
void dm_snap_merge_check_writes(struct dm_snapshot *s);

/* ---- target types ---- */

extern const struct target_type dm_snapshot_target;
extern const struct target_type dm_snapshot_merge_target;
extern const struct target_type dm_snapshot_origin_target;

#endif
