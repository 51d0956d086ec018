/*
 * dm_copier.c - asynchronous range copy between block devices; see
 * dm_copier.h.
 *
 * One job per copy: a bounce buffer of at most one piece, and one bio
 * reused for the read and then the write of each piece. Linux keeps up to
 * eight pieces in flight; one at a time is enough here (copies of
 * different chunks still run in parallel) and keeps the job trivially
 * ordered.
 */
#include "dm_copier.h"

#include <errno.h>
#include <stdlib.h>

struct copier_job {
	struct executor *ex;
	struct bdev *src;
	struct bdev *dst;
	sector_t src_sector;   /* next piece */
	sector_t dst_sector;
	sector_t left_sectors; /* not yet copied, including the current piece */
	uint32_t piece_sectors; /* size of the current piece */
	uint8_t *buf;
	struct bio bio;
	dm_copier_done_fn *done;
	void *ctx;
};

static void copier_next_piece(struct copier_job *job);

static void copier_finish(struct copier_job *job, int status)
{
	dm_copier_done_fn *done = job->done;
	void *ctx = job->ctx;

	free(job->buf);
	free(job);
	done(ctx, status);
}

static void copier_finish_deferred(void *ctx)
{
	copier_finish(ctx, 0);
}

/* Runs from the executor when the destination write of a piece ends. */
static void copier_write_done(struct bio *bio, int status)
{
	struct copier_job *job = bio->private;

	if (status) {
		copier_finish(job, status);
		return;
	}
	job->src_sector += job->piece_sectors;
	job->dst_sector += job->piece_sectors;
	job->left_sectors -= job->piece_sectors;
	if (!job->left_sectors) {
		copier_finish(job, 0);
		return;
	}
	copier_next_piece(job);
}

/* Runs from the executor when the source read of a piece ends. */
static void copier_read_done(struct bio *bio, int status)
{
	struct copier_job *job = bio->private;

	if (status) {
		copier_finish(job, status);
		return;
	}
	bio_init(&job->bio, job->dst, BIO_WRITE, 0, job->dst_sector,
		 job->piece_sectors, job->buf, copier_write_done, job);
	bdev_submit(&job->bio);
}

static void copier_next_piece(struct copier_job *job)
{
	job->piece_sectors = job->left_sectors < DM_COPIER_PIECE_SECTORS ?
		(uint32_t)job->left_sectors : DM_COPIER_PIECE_SECTORS;
	bio_init(&job->bio, job->src, BIO_READ, 0, job->src_sector,
		 job->piece_sectors, job->buf, copier_read_done, job);
	bdev_submit(&job->bio);
}

int dm_copier_copy(struct executor *ex, struct bdev *src, sector_t src_sector,
		   struct bdev *dst, sector_t dst_sector, sector_t nr_sectors,
		   dm_copier_done_fn *done, void *ctx)
{
	struct copier_job *job = calloc(1, sizeof(*job));
	sector_t buf_sectors = nr_sectors < DM_COPIER_PIECE_SECTORS ?
		nr_sectors : DM_COPIER_PIECE_SECTORS;

	if (!job)
		return -ENOMEM;
	job->ex = ex;
	job->src = src;
	job->dst = dst;
	job->src_sector = src_sector;
	job->dst_sector = dst_sector;
	job->left_sectors = nr_sectors;
	job->done = done;
	job->ctx = ctx;
	if (!nr_sectors) {
		if (executor_defer(ex, copier_finish_deferred, job) != 0) {
			free(job);
			return -ENOMEM;
		}
		return 0;
	}
	job->buf = malloc((size_t)buf_sectors << SECTOR_SHIFT);
	if (!job->buf) {
		free(job);
		return -ENOMEM;
	}
	copier_next_piece(job);
	return 0;
}
