/* mem_bdev.c - an in-memory block device; see mem_bdev.h. */
#include "mem_bdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mem_bdev_serve(void *ctx)
{
	struct bio *bio = ctx;
	struct mem_bdev *md = (struct mem_bdev *)bio->bdev;
	size_t off = (size_t)bio->sector << SECTOR_SHIFT;
	size_t len = (size_t)bio->nr_sectors << SECTOR_SHIFT;
	int status = bdev_check_range(&md->base, bio);

	if (!status && md->fault)
		status = md->fault(md->fault_ctx, bio);
	if (!status) {
		switch (bio->op) {
		case BIO_READ:
			memcpy(bio->data, md->data + off, len);
			md->reads++;
			break;
		case BIO_WRITE:
			memcpy(md->data + off, bio->data, len);
			md->writes++;
			break;
		case BIO_FLUSH:
			md->flushes++;
			break;
		case BIO_DISCARD:
			memset(md->data + off, 0, len);
			md->discards++;
			break;
		}
	}
	bio_endio(bio, status);
}

static int mem_bdev_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			    uint32_t nr_sectors, uint8_t *data)
{
	struct mem_bdev *md = (struct mem_bdev *)bd;
	struct bio probe;
	size_t off = (size_t)sector << SECTOR_SHIFT;
	size_t len = (size_t)nr_sectors << SECTOR_SHIFT;

	bio_init(&probe, bd, op, 0, sector, nr_sectors, data, NULL, NULL);
	if (md->fault) {
		int status = md->fault(md->fault_ctx, &probe);
		if (status)
			return status;
	}
	if (op == BIO_READ) {
		memcpy(data, md->data + off, len);
		md->reads++;
	} else if (op == BIO_WRITE) {
		memcpy(md->data + off, data, len);
		md->writes++;
	} else if (op != BIO_FLUSH) { /* memory is durable: a flush is done */
		return -EINVAL;
	}
	return 0;
}

static void mem_bdev_submit(struct bdev *bd, struct bio *bio)
{
	struct mem_bdev *md = (struct mem_bdev *)bd;

	if (executor_defer(md->ex, mem_bdev_serve, bio) != 0)
		bio_endio(bio, -ENOMEM); /* cannot defer: report at once */
}

static void mem_bdev_destroy(struct bdev *bd)
{
	struct mem_bdev *md = (struct mem_bdev *)bd;

	free(md->data);
	free(md);
}

static const struct bdev_ops mem_bdev_ops = {
	.submit = mem_bdev_submit,
	.destroy = mem_bdev_destroy,
	.sync_rw = mem_bdev_sync_rw,
};

struct mem_bdev *mem_bdev_create(const char *name, sector_t size_sectors,
				 struct executor *ex)
{
	struct mem_bdev *md = calloc(1, sizeof(*md));

	if (!md)
		return NULL;
	md->data = calloc(size_sectors ? size_sectors : 1, SECTOR_SIZE);
	if (!md->data) {
		free(md);
		return NULL;
	}
	md->base.ops = &mem_bdev_ops;
	md->base.size_sectors = size_sectors;
	md->base.logical_block_bytes = SECTOR_SIZE;
	md->base.caps = BDEV_CAP_DISCARD;
	snprintf(md->base.name, sizeof(md->base.name), "%s", name);
	md->ex = ex;
	return md;
}

int mem_bdev_resize(struct mem_bdev *md, sector_t size_sectors)
{
	uint8_t *p = realloc(md->data, (size_sectors ? size_sectors : 1) * SECTOR_SIZE);

	if (!p)
		return -ENOMEM;
	if (size_sectors > md->base.size_sectors)
		memset(p + (md->base.size_sectors << SECTOR_SHIFT), 0,
		       (size_sectors - md->base.size_sectors) << SECTOR_SHIFT);
	md->data = p;
	md->base.size_sectors = size_sectors;
	return 0;
}
