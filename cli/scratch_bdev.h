/*
 * scratch_bdev.h - the devices `snapsim table check` hands to the dm
 * registry: an image file (or block device) read through a private
 * in-memory overlay, or a placeholder of a given size that reads zeros.
 *
 * Why not file_bdev: constructing a snapshot on a COW with magic 0 writes a
 * new header (spec 2.9); checking a table must never change the user's
 * images, so writes land in the overlay and are thrown away at exit. Only
 * non-zero sectors, or sectors that differ from a non-zero backing, are
 * kept, so a new store's zeroed area costs nothing. A read-only device
 * (`:ro`) refuses writes with -EROFS instead, as a read-only disk would.
 */
#ifndef SNAPSIM_SCRATCH_BDEV_H
#define SNAPSIM_SCRATCH_BDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "bdev.h"
#include "executor.h"
#include "ss_error.h"

struct scratch_bdev;

/*
 * Open path read-only as a device named name, of the file's size (whole
 * sectors). Returns 0 or a negative errno with err naming the path.
 */
int scratch_bdev_open(const char *path, const char *name, bool read_only,
		      struct executor *ex, struct scratch_bdev **out,
		      struct ss_error *err);
/* A placeholder of size_sectors zero sectors. NULL when out of memory. */
struct scratch_bdev *scratch_bdev_create(const char *name, sector_t size_sectors,
					 bool read_only, struct executor *ex);

struct bdev *scratch_bdev_bdev(struct scratch_bdev *sb);

#endif
