/*
 * scratch_bdev.c - overlay and placeholder devices for table check; see
 * scratch_bdev.h. The overlay is a sorted array of written sectors: table
 * check writes a handful (a new store's header), so the simple structure is
 * the right one.
 */
#include "scratch_bdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"

struct scratch_sector {
	sector_t sector;
	uint8_t data[SECTOR_SIZE];
};

struct scratch_bdev {
	struct bdev base;   /* must be first */
	struct executor *ex;
	int fd;             /* -1 for a placeholder */
	bool read_only;
	struct scratch_sector **ov; /* sorted by sector */
	size_t nr_ov, cap_ov;
};

/* Index of sector in the overlay, or where it would be inserted. */
static size_t ov_find(const struct scratch_bdev *sb, sector_t sector, bool *found)
{
	size_t lo = 0, hi = sb->nr_ov;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sb->ov[mid]->sector < sector)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < sb->nr_ov && sb->ov[lo]->sector == sector;
	return lo;
}

/* Read one sector as the device shows it now. */
static int read_sector(struct scratch_bdev *sb, sector_t sector, uint8_t *out)
{
	bool found;
	size_t i = ov_find(sb, sector, &found);
	long long n;

	if (found) {
		memcpy(out, sb->ov[i]->data, SECTOR_SIZE);
		return 0;
	}
	memset(out, 0, SECTOR_SIZE);
	if (sb->fd < 0)
		return 0;
	n = cli_pread_full(sb->fd, out, SECTOR_SIZE, sector << SECTOR_SHIFT);
	return n < 0 ? (int)n : 0;
}

static int write_sector(struct scratch_bdev *sb, sector_t sector, const uint8_t *in)
{
	uint8_t under[SECTOR_SIZE];
	bool found;
	size_t i = ov_find(sb, sector, &found);
	long long n;

	if (found) {
		memcpy(sb->ov[i]->data, in, SECTOR_SIZE);
		return 0;
	}
	memset(under, 0, sizeof(under));
	if (sb->fd >= 0) {
		n = cli_pread_full(sb->fd, under, SECTOR_SIZE, sector << SECTOR_SHIFT);
		if (n < 0)
			return (int)n;
	}
	if (!memcmp(under, in, SECTOR_SIZE))
		return 0; /* nothing changes: keep the overlay small */
	if (sb->nr_ov == sb->cap_ov) {
		size_t ncap = sb->cap_ov ? sb->cap_ov * 2 : 16;
		struct scratch_sector **nv = realloc(sb->ov, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		sb->ov = nv;
		sb->cap_ov = ncap;
	}
	struct scratch_sector *ss = malloc(sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	ss->sector = sector;
	memcpy(ss->data, in, SECTOR_SIZE);
	memmove(sb->ov + i + 1, sb->ov + i, (sb->nr_ov - i) * sizeof(*sb->ov));
	sb->ov[i] = ss;
	sb->nr_ov++;
	return 0;
}

static int scratch_rw(struct scratch_bdev *sb, enum bio_op op, sector_t sector,
		      uint32_t nr_sectors, uint8_t *data)
{
	if (op == BIO_WRITE && sb->read_only)
		return -EROFS;
	for (uint32_t i = 0; i < nr_sectors; i++) {
		int r = op == BIO_READ
			? read_sector(sb, sector + i, data + ((size_t)i << SECTOR_SHIFT))
			: write_sector(sb, sector + i, data + ((size_t)i << SECTOR_SHIFT));
		if (r < 0)
			return r;
	}
	return 0;
}

static void scratch_serve(void *ctx)
{
	struct bio *bio = ctx;
	struct scratch_bdev *sb = (struct scratch_bdev *)bio->bdev;
	int status = bdev_check_range(&sb->base, bio);

	if (!status) {
		switch (bio->op) {
		case BIO_READ:
		case BIO_WRITE:
			status = scratch_rw(sb, bio->op, bio->sector, bio->nr_sectors,
					    bio->data);
			break;
		case BIO_FLUSH:
			break;
		case BIO_DISCARD:
			status = -EOPNOTSUPP;
			break;
		}
	}
	bio_endio(bio, status);
}

static void scratch_submit(struct bdev *bd, struct bio *bio)
{
	struct scratch_bdev *sb = (struct scratch_bdev *)bd;

	if (executor_defer(sb->ex, scratch_serve, bio) != 0)
		bio_endio(bio, -ENOMEM);
}

static int scratch_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			   uint32_t nr_sectors, uint8_t *data)
{
	if (op == BIO_FLUSH)
		return 0; /* the overlay is memory: nothing to make durable */
	if (op != BIO_READ && op != BIO_WRITE)
		return -EINVAL;
	return scratch_rw((struct scratch_bdev *)bd, op, sector, nr_sectors, data);
}

static void scratch_destroy(struct bdev *bd)
{
	struct scratch_bdev *sb = (struct scratch_bdev *)bd;

	for (size_t i = 0; i < sb->nr_ov; i++)
		free(sb->ov[i]);
	free(sb->ov);
	if (sb->fd >= 0)
		close(sb->fd);
	free(sb);
}

static const struct bdev_ops scratch_ops = {
	.submit = scratch_submit,
	.destroy = scratch_destroy,
	.sync_rw = scratch_sync_rw,
};

struct scratch_bdev *scratch_bdev_create(const char *name, sector_t size_sectors,
					 bool read_only, struct executor *ex)
{
	struct scratch_bdev *sb = calloc(1, sizeof(*sb));

	if (!sb)
		return NULL;
	sb->base.ops = &scratch_ops;
	sb->base.size_sectors = size_sectors;
	sb->base.logical_block_bytes = SECTOR_SIZE;
	snprintf(sb->base.name, sizeof(sb->base.name), "%s", name);
	sb->ex = ex;
	sb->fd = -1;
	sb->read_only = read_only;
	return sb;
}

int scratch_bdev_open(const char *path, const char *name, bool read_only,
		      struct executor *ex, struct scratch_bdev **out,
		      struct ss_error *err)
{
	uint64_t size_bytes;
	struct scratch_bdev *sb;
	int r, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ss_error_set(err, -errno, 0, 0, "%s: cannot open: %s", path,
				    strerror(errno));
	r = cli_fd_size(fd, &size_bytes);
	if (r < 0) {
		close(fd);
		return ss_error_set(err, r, 0, 0, "%s: cannot get size: %s", path,
				    r == -EINVAL ? "not a regular file or block device"
						 : strerror(-r));
	}
	sb = scratch_bdev_create(name, size_bytes >> SECTOR_SHIFT, read_only, ex);
	if (!sb) {
		close(fd);
		return ss_error_set(err, -ENOMEM, 0, 0, "%s: out of memory", path);
	}
	sb->fd = fd;
	*out = sb;
	return 0;
}

struct bdev *scratch_bdev_bdev(struct scratch_bdev *sb)
{
	return &sb->base;
}
