/*
 * exstore.h - the exception-store interface (spec 2, 3): where a snapshot
 * keeps its (old chunk -> COW chunk) records. `persistent` (table letter P,
 * option O for overflow mode) and `transient` (N) implement it, one file
 * each.
 *
 * Ordering contract with the snapshot layer:
 *  - prepare_exception() is called when a pending exception is created;
 *    allocation order defines the sequence numbers.
 *  - commit_exception() is called once per prepared exception, strictly in
 *    allocation order, after its data copy completed (or failed). Its
 *    callback runs from the executor once the record is durable (or known
 *    lost); success is false when the store is invalid.
 *  - Calls are never made concurrently (single-threaded, executor driven).
 */
#ifndef SNAPSIM_EXSTORE_H
#define SNAPSIM_EXSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "bdev.h"
#include "bio.h"
#include "executor.h"
#include "ss_error.h"

struct exstore;

/* Activation callback: one per exception read back. 0, or -ENOMEM to stop. */
typedef int exstore_add_fn(void *ctx, chunk_t old_chunk, chunk_t new_chunk);
/* Commit completion: success = the record is durable and the store valid. */
typedef void exstore_commit_fn(void *ctx, bool success);
/*
 * prepare_merge completion: nr > 0 records to merge, whose newest is
 * (last_old, last_new) and which cover last_old-nr+1..last_old; nr == 0
 * nothing left; nr < 0 error.
 */
typedef void exstore_merge_fn(void *ctx, int nr, chunk_t last_old,
			      chunk_t last_new);
typedef void exstore_done_fn(void *ctx, int status);

/* read_metadata() result meaning "the store is marked invalid". */
#define EXSTORE_MARKED_INVALID 1

struct exstore_type {
	const char *name;            /* "persistent", "transient" */
	char letter;                 /* 'P', 'N' (the table's store token) */
	/*
	 * Parse the option characters after the store letter. Returns 0 or
	 * -EINVAL with err set ("Unsupported persistent store option").
	 */
	int (*ctr)(struct exstore *s, const char *options, struct ss_error *err);
	/* Free what ctr and later calls allocated; writes nothing. */
	void (*dtr)(struct exstore *s);
	/*
	 * Activation (control path, synchronous through bdev_sync_rw): adopt
	 * or choose the chunk size, create a new store or read an existing one
	 * back, calling add() per exception. Returns 0, EXSTORE_MARKED_INVALID,
	 * or a negative errno (-EIO read error, -ENXIO bad magic, -EINVAL bad
	 * version/chunk size, -ENOMEM) with err set. Refuses exactly the
	 * stores cow_validate() finds fatal (corrupt records: out of range,
	 * pointing at metadata, duplicates, origin chunks beyond the origin).
	 */
	int (*read_metadata)(struct exstore *s, exstore_add_fn *add, void *ctx,
			     struct ss_error *err);
	/* Allocate a COW chunk for a new exception; -ENOSPC when full. */
	int (*prepare_exception)(struct exstore *s, chunk_t old_chunk,
				 chunk_t *new_chunk);
	/* See the ordering contract above. */
	void (*commit_exception)(struct exstore *s, chunk_t old_chunk,
				 chunk_t new_chunk, bool copy_ok,
				 exstore_commit_fn *cb, void *ctx);
	/* Merge hooks (spec 2.13); NULL when the store cannot merge. */
	void (*prepare_merge)(struct exstore *s, exstore_merge_fn *cb, void *ctx);
	void (*commit_merge)(struct exstore *s, int nr, exstore_done_fn *cb,
			     void *ctx);
	/* Invalidate: persistent rewrites the header with valid = 0. */
	void (*drop_snapshot)(struct exstore *s);
	/* Usage in sectors (spec 2.11, 3). */
	void (*usage)(struct exstore *s, sector_t *total, sector_t *allocated,
		      sector_t *metadata);
	/* Whether I/O the store started is still in flight (suspend, teardown). */
	bool (*busy)(struct exstore *s);
	/*
	 * Queue fn(ctx) through the executor once busy() turns false (at once
	 * when it is false now); one waiter at a time. A teardown waits on
	 * the store's I/O this way instead of deferring a poll of busy(),
	 * which would rerun forever at one instant before the I/O can end.
	 * NULL: busy() turns false without I/O, a deferred poll will see it.
	 */
	void (*when_idle)(struct exstore *s, executor_fn *fn, void *ctx);
};

struct exstore {
	const struct exstore_type *type;
	struct bdev *cow;
	struct executor *ex;
	uint32_t chunk_sectors;    /* 0 until known (table 0 / handover) */
	unsigned chunk_shift;      /* log2(chunk_sectors) */
	unsigned block_sectors;    /* lcm of origin and COW logical block, in sectors */
	sector_t origin_sectors;   /* the origin's size at activation; 0: unknown */
	bool overflow_mode;        /* PO */
	void *context;             /* the implementation's state */
};

/*
 * Find the store type for a table token (first character, any case) and
 * construct it with the remaining characters as options. chunk_sectors is
 * the table's value (0: header or default). Returns 0 or a negative errno
 * with err set to the spec's message ("Exception store type is not P or N",
 * "Unsupported persistent store option", chunk size messages).
 */
int exstore_create(const char *token, uint32_t chunk_sectors,
		   struct bdev *cow, unsigned block_sectors,
		   struct executor *ex, struct exstore **out,
		   struct ss_error *err);
void exstore_destroy(struct exstore *s);
/* "P", "PO" or "N", as tables print the store. */
const char *exstore_table_token(const struct exstore *s);
/* Set chunk_sectors and chunk_shift (a validated power of two). */
void exstore_set_chunk_size(struct exstore *s, uint32_t chunk_sectors);

extern const struct exstore_type exstore_persistent_type;
extern const struct exstore_type exstore_transient_type;

#endif
