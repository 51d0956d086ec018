/*
 * bio.h - one block I/O request.
 *
 * The submitter owns the bio (and its data buffer) until the completion
 * callback has run; the device that serves it allocates nothing on its
 * behalf that outlives the completion. A completion never runs inside the
 * submit call: devices defer it through their executor.
 *
 * Units: sectors are 512 bytes everywhere (sector_t); chunk numbers are
 * chunk_t; byte counts carry _bytes in their name.
 */
#ifndef SNAPSIM_BIO_H
#define SNAPSIM_BIO_H

#include <stdint.h>

typedef uint64_t sector_t;
typedef uint64_t chunk_t;

#define SECTOR_SHIFT 9
#define SECTOR_SIZE 512u

enum bio_op {
	BIO_READ = 0,
	BIO_WRITE,
	BIO_FLUSH,   /* empty flush: make every completed write durable */
	BIO_DISCARD,
};

/* Flags (bit set). */
#define BIO_FUA      (1u << 0) /* write: durable when it completes */
#define BIO_PREFLUSH (1u << 1) /* write: flush the cache before the data */
#define BIO_SYNC     (1u << 2) /* hint only */

struct bio;
struct bdev;

/* Completion: status is 0 or a negative errno. Runs from the executor. */
typedef void bio_done_fn(struct bio *bio, int status);

struct bio {
	struct bdev *bdev;       /* target device of this request */
	enum bio_op op;
	unsigned flags;
	sector_t sector;         /* first sector */
	uint32_t nr_sectors;     /* 0 for BIO_FLUSH */
	uint8_t *data;           /* nr_sectors * 512 bytes; NULL for flush/discard */
	bio_done_fn *done;
	void *private;           /* the submitter's context; devices never touch it */
};

static inline void bio_init(struct bio *bio, struct bdev *bdev, enum bio_op op,
			    unsigned flags, sector_t sector, uint32_t nr_sectors,
			    uint8_t *data, bio_done_fn *done, void *private)
{
	bio->bdev = bdev;
	bio->op = op;
	bio->flags = flags;
	bio->sector = sector;
	bio->nr_sectors = nr_sectors;
	bio->data = data;
	bio->done = done;
	bio->private = private;
}

/* Call the completion. Devices call this from executor context only. */
static inline void bio_endio(struct bio *bio, int status)
{
	bio->done(bio, status);
}

static inline int bio_is_write(const struct bio *bio)
{
	return bio->op == BIO_WRITE;
}

#endif
