/*
 * exstore_persistent_internal.h - the persistent store's state, shared by
 * exstore_persistent.c (the I/O state machine, commits, merge hooks) and
 * exstore_persistent_load.c (activation). Private to those two files.
 */
#ifndef SNAPSIM_EXSTORE_PERSISTENT_INTERNAL_H
#define SNAPSIM_EXSTORE_PERSISTENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bio.h"
#include "exstore.h"

enum pstore_state {
	PS_IDLE,
	PS_ZEROING,        /* next-area zeroing write in flight */
	PS_AREA_WRITE,     /* area write (PREFLUSH|FUA|SYNC) in flight */
	PS_ACK_DEFERRED,   /* invalid store: batch acknowledged via executor */
	PS_HEADER_WRITE,   /* drop_snapshot's header rewrite in flight */
	PS_MERGE_READ,     /* prepare_merge reading the previous area */
	PS_MERGE_WRITE,    /* commit_merge area write in flight */
	PS_MERGE_DEFERRED, /* merge answer queued on the executor */
};

enum pstore_merge_op {
	PS_MERGE_NONE,
	PS_MERGE_PREPARE,
	PS_MERGE_COMMIT,
};

/* One commit_exception() call waiting for its area write. */
struct pstore_commit {
	chunk_t old_chunk;
	chunk_t new_chunk;
	bool copy_ok;
	exstore_commit_fn *cb;
	void *ctx;
};

struct pstore {
	struct bdev *cow;
	struct executor *ex;
	uint32_t cs;               /* chunk sectors; 0 until activation */
	uint64_t epa;              /* records per area */
	size_t chunk_bytes;
	bool active;               /* read_metadata succeeded; buffers exist */
	bool valid;                /* sticky false once invalidated */

	uint64_t current_area;     /* area the image belongs to */
	uint64_t current_committed;/* used slots in the image */
	chunk_t next_free;         /* next data chunk to allocate */
	uint64_t pending_count;    /* prepared, commit not yet called */

	uint8_t *area;             /* image of current_area, chunk_bytes */
	uint8_t *zero;             /* chunk of zeros (lazy) */
	uint8_t *aux;              /* header / merge I/O buffer (lazy) */

	/*
	 * Commit ring, allocation order. Entries [head, head + applied) are
	 * the batch written into the image; the rest are queued behind an
	 * in-flight I/O (rule 3). Room is reserved by prepare_exception(),
	 * so commit never allocates.
	 */
	struct pstore_commit *ring;
	size_t cap, head, count, applied;

	enum pstore_state state;
	struct bio bio;            /* the one store I/O (rule 2) */
	bool drop_pending;         /* header rewrite waits for IDLE */

	enum pstore_merge_op merge_op;
	int merge_nr;              /* commit_merge's count */
	int merge_status;          /* MERGE_DEFERRED: status to report */
	exstore_merge_fn *merge_cb;
	exstore_done_fn *merge_done;
	void *merge_ctx;

	bool in_callbacks;         /* callbacks running: no new I/O yet */
	bool dying;                /* dtr ran with I/O or callbacks in flight */
	executor_fn *idle_fn;      /* when_idle's waiter, queued once idle */
	void *idle_ctx;
};

/* Activation (exstore_persistent_load.c): exstore_type.read_metadata. */
int persistent_read_metadata(struct exstore *s, exstore_add_fn *add, void *ctx,
			     struct ss_error *err);

#endif
