/*
 * file_bdev.h - a block device backed by an image file (or a real block
 * device node), for real use.
 *
 * pread/pwrite/fdatasync; a FLUSH and a PREFLUSH call fdatasync, a FUA write
 * is followed by fdatasync before it completes. I/O is done synchronously in
 * the executor's context and completed from there, never inside submit.
 */
#ifndef SNAPSIM_FILE_BDEV_H
#define SNAPSIM_FILE_BDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "bdev.h"
#include "executor.h"
#include "ss_error.h"

struct file_bdev {
	struct bdev base;  /* must be first */
	struct executor *ex;
	int fd;
	bool read_only;
	uint64_t syncs;    /* fdatasync calls made */
};

/*
 * Open path as a device named name (NULL: the path itself). The size is the
 * file size rounded down to whole sectors. Returns 0 and sets *out, or a
 * negative errno with err naming the path.
 */
int file_bdev_open(const char *path, const char *name, bool read_only,
		   struct executor *ex, struct file_bdev **out,
		   struct ss_error *err);

static inline struct bdev *file_bdev_bdev(struct file_bdev *fd)
{
	return &fd->base;
}

#endif
