/* file_bdev.c - a block device on an image file; see file_bdev.h. */
#define _GNU_SOURCE
#include "file_bdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>
#endif

static int file_bdev_sync(struct file_bdev *fb)
{
	fb->syncs++;
	return fdatasync(fb->fd) == 0 ? 0 : -errno;
}

static int file_bdev_rw(struct file_bdev *fb, struct bio *bio)
{
	size_t len = (size_t)bio->nr_sectors << SECTOR_SHIFT;
	off_t off = (off_t)(bio->sector << SECTOR_SHIFT);
	size_t done = 0;

	while (done < len) {
		ssize_t n = bio->op == BIO_READ
			? pread(fb->fd, bio->data + done, len - done, off + (off_t)done)
			: pwrite(fb->fd, bio->data + done, len - done, off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			if (bio->op != BIO_READ)
				return -EIO;
			/* Reading a hole past EOF of a sparse image: zeros. */
			memset(bio->data + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

static int file_bdev_discard(struct file_bdev *fb, struct bio *bio)
{
	off_t off = (off_t)(bio->sector << SECTOR_SHIFT);
	off_t len = (off_t)bio->nr_sectors << SECTOR_SHIFT;

	if (fallocate(fb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	/* Not supported here: discard is advisory, zero-fill instead. */
	static const uint8_t zero[4096];
	for (off_t o = 0; o < len; o += (off_t)sizeof(zero)) {
		size_t n = (size_t)(len - o < (off_t)sizeof(zero) ? len - o : (off_t)sizeof(zero));
		if (pwrite(fb->fd, zero, n, off + o) != (ssize_t)n)
			return -EIO;
	}
	return 0;
}

static void file_bdev_serve(void *ctx)
{
	struct bio *bio = ctx;
	struct file_bdev *fb = (struct file_bdev *)bio->bdev;
	int status = bdev_check_range(&fb->base, bio);

	if (!status && fb->read_only && bio->op != BIO_READ && bio->op != BIO_FLUSH)
		status = -EROFS;
	if (!status && (bio->flags & BIO_PREFLUSH))
		status = file_bdev_sync(fb);
	if (!status) {
		switch (bio->op) {
		case BIO_READ:
		case BIO_WRITE:
			status = file_bdev_rw(fb, bio);
			break;
		case BIO_FLUSH:
			status = fb->read_only ? 0 : file_bdev_sync(fb);
			break;
		case BIO_DISCARD:
			status = file_bdev_discard(fb, bio);
			break;
		}
	}
	if (!status && bio->op == BIO_WRITE && (bio->flags & BIO_FUA))
		status = file_bdev_sync(fb);
	bio_endio(bio, status);
}

static int file_bdev_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			     uint32_t nr_sectors, uint8_t *data)
{
	struct file_bdev *fb = (struct file_bdev *)bd;
	struct bio probe;

	if (op == BIO_FLUSH)
		return fb->read_only ? 0 : file_bdev_sync(fb);
	if (op != BIO_READ && op != BIO_WRITE)
		return -EINVAL;
	if (op == BIO_WRITE && fb->read_only)
		return -EROFS;
	bio_init(&probe, bd, op, 0, sector, nr_sectors, data, NULL, NULL);
	return file_bdev_rw(fb, &probe);
}

static void file_bdev_submit(struct bdev *bd, struct bio *bio)
{
	struct file_bdev *fb = (struct file_bdev *)bd;

	if (executor_defer(fb->ex, file_bdev_serve, bio) != 0)
		bio_endio(bio, -ENOMEM);
}

static void file_bdev_destroy(struct bdev *bd)
{
	struct file_bdev *fb = (struct file_bdev *)bd;

	close(fb->fd);
	free(fb);
}

static const struct bdev_ops file_bdev_ops = {
	.submit = file_bdev_submit,
	.destroy = file_bdev_destroy,
	.sync_rw = file_bdev_sync_rw,
};

int file_bdev_open(const char *path, const char *name, bool read_only,
		   struct executor *ex, struct file_bdev **out,
		   struct ss_error *err)
{
	struct stat st;
	uint64_t size_bytes;
	struct file_bdev *fb;
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0)
		return ss_error_set(err, -errno, 0, 0, "%s: cannot open: %s",
				    path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		int e = -errno;
		close(fd);
		return ss_error_set(err, e, 0, 0, "%s: cannot stat: %s", path,
				    strerror(-e));
	}
	if (S_ISREG(st.st_mode)) {
		size_bytes = (uint64_t)st.st_size;
#ifdef BLKGETSIZE64
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size_bytes) != 0) {
			int e = -errno;
			close(fd);
			return ss_error_set(err, e, 0, 0, "%s: cannot get size: %s",
					    path, strerror(-e));
		}
#endif
	} else {
		close(fd);
		return ss_error_set(err, -EINVAL, 0, 0,
				    "%s: not a regular file or block device", path);
	}
	fb = calloc(1, sizeof(*fb));
	if (!fb) {
		close(fd);
		return ss_error_set(err, -ENOMEM, 0, 0, "%s: out of memory", path);
	}
	fb->base.ops = &file_bdev_ops;
	fb->base.size_sectors = size_bytes >> SECTOR_SHIFT;
	fb->base.logical_block_bytes = SECTOR_SIZE;
	fb->base.caps = BDEV_CAP_DISCARD;
	snprintf(fb->base.name, sizeof(fb->base.name), "%s", name ? name : path);
	fb->ex = ex;
	fb->fd = fd;
	fb->read_only = read_only;
	*out = fb;
	return 0;
}
