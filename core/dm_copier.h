/*
 * dm_copier.h - asynchronous copy of a sector range from one block device
 * to another (the part of Linux's kcopyd the snapshot targets need).
 *
 * A copy reads the source and then writes the destination, in pieces of
 * at most DM_COPIER_PIECE_SECTORS, one piece at a time. Only "all done"
 * (status 0) or "failed" (the first negative errno) is reported; a failed
 * copy may have written a prefix of the destination. Writes are plain (no
 * FLUSH, no FUA): durability is the caller's business.
 */
#ifndef SNAPSIM_DM_COPIER_H
#define SNAPSIM_DM_COPIER_H

#include "bdev.h"
#include "bio.h"
#include "executor.h"

#define DM_COPIER_PIECE_SECTORS 1024u /* 512 KiB */

/* Completion: runs from executor context, never inside dm_copier_copy(). */
typedef void dm_copier_done_fn(void *ctx, int status);

/*
 * Start copying nr_sectors sectors from src at src_sector to dst at
 * dst_sector. Returns 0 (done(ctx, status) will run exactly once, later)
 * or -ENOMEM (nothing started, done will not run). nr_sectors may be 0:
 * done then runs with 0 from the executor.
 */
int dm_copier_copy(struct executor *ex, struct bdev *src, sector_t src_sector,
		   struct bdev *dst, sector_t dst_sector, sector_t nr_sectors,
		   dm_copier_done_fn *done, void *ctx);

#endif
