/*
 * bdev.h - the block-device interface: memory disks, image files,
 * simulated disks and dm devices all implement it, so they stack.
 *
 * Contract of submit: the device takes the bio and completes it exactly
 * once, later, through bio_endio() from executor context (never inside the
 * submit call). A request beyond the end of the device completes with
 * -EIO. A BIO_FLUSH completes after every write completed before it was
 * submitted is durable; a write with BIO_FUA completes only once durable;
 * BIO_PREFLUSH on a write acts as a flush ordered before the write.
 */
#ifndef SNAPSIM_BDEV_H
#define SNAPSIM_BDEV_H

#include <stdbool.h>
#include <stddef.h>

#include <errno.h>

#include "bio.h"

struct bdev;

struct bdev_ops {
	void (*submit)(struct bdev *bd, struct bio *bio);
	/* Release the device. Called once, with no I/O in flight. May be NULL. */
	void (*destroy)(struct bdev *bd);
	/*
	 * Control-path synchronous I/O (BIO_READ, BIO_WRITE or BIO_FLUSH),
	 * used where Linux's constructors do synchronous dm-io: reading a COW
	 * store back at table load and creating a new store. It returns what a
	 * read issued now would return / places the write as an ordinary
	 * completed (not yet durable) write / makes every write completed
	 * before it durable (BIO_FLUSH: sector and nr_sectors 0, data NULL).
	 * Never used on the I/O path. Returns 0 or a negative errno. May be
	 * NULL (then -EOPNOTSUPP).
	 */
	int (*sync_rw)(struct bdev *bd, enum bio_op op, sector_t sector,
		       uint32_t nr_sectors, uint8_t *data);
};

/* Device characteristics (bit set). */
#define BDEV_CAP_DISCARD (1u << 0) /* accepts BIO_DISCARD */

struct bdev {
	const struct bdev_ops *ops;
	sector_t size_sectors;          /* live size; may grow */
	unsigned logical_block_bytes;   /* 512 or a larger power of two */
	unsigned caps;                  /* BDEV_CAP_* */
	char name[128];                 /* the name tables use for it */
	unsigned open_count;            /* references held by dm tables etc. */
};

static inline void bdev_submit(struct bio *bio)
{
	bio->bdev->ops->submit(bio->bdev, bio);
}

static inline void bdev_destroy(struct bdev *bd)
{
	if (bd && bd->ops->destroy)
		bd->ops->destroy(bd);
}

static inline int bdev_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			       uint32_t nr_sectors, uint8_t *data)
{
	if (!bd->ops->sync_rw)
		return -EOPNOTSUPP;
	if (sector > bd->size_sectors || nr_sectors > bd->size_sectors - sector)
		return -EIO;
	return bd->ops->sync_rw(bd, op, sector, nr_sectors, data);
}

/* Common request check: returns 0 or -EIO for a request out of range. */
static inline int bdev_check_range(const struct bdev *bd, const struct bio *bio)
{
	if (bio->op == BIO_FLUSH)
		return 0;
	if (bio->sector > bd->size_sectors ||
	    bio->nr_sectors > bd->size_sectors - bio->sector)
		return -EIO;
	return 0;
}

#endif
