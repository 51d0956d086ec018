/*
 * mem_bdev.h - an in-memory block device for tests and tools.
 *
 * Writes are durable at once (no cache). Requests are served and completed
 * from the executor, never inside submit. An optional fault hook lets tests
 * fail chosen requests (SQLite-style seam, not a flag in the I/O path).
 */
#ifndef SNAPSIM_MEM_BDEV_H
#define SNAPSIM_MEM_BDEV_H

#include <stdint.h>

#include "bdev.h"
#include "executor.h"
#include "ss_error.h"

/* Return 0 to serve the request, or a negative errno to fail it unserved. */
typedef int mem_bdev_fault_fn(void *ctx, const struct bio *bio);

struct mem_bdev {
	struct bdev base;          /* must be first */
	struct executor *ex;
	uint8_t *data;             /* size_sectors * 512 bytes */
	mem_bdev_fault_fn *fault;  /* may be NULL */
	void *fault_ctx;
	uint64_t reads, writes, flushes, discards; /* served request counts */
};

/*
 * Create a zero-filled device of size_sectors sectors named name.
 * Returns NULL on allocation failure.
 */
struct mem_bdev *mem_bdev_create(const char *name, sector_t size_sectors,
				 struct executor *ex);
/* Grow (or shrink) the device; new space is zeroed. Returns 0 or -ENOMEM. */
int mem_bdev_resize(struct mem_bdev *md, sector_t size_sectors);

static inline struct bdev *mem_bdev_bdev(struct mem_bdev *md)
{
	return &md->base;
}

#endif
