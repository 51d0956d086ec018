/*
 * sim_image.c - an image file, opened read-only, as a disk's initial
 * content; see sim_image.h.
 */
#include "sim_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"

struct sim_image {
	unsigned ref;
	int fd;                  /* O_RDONLY: the file is never written */
	uint64_t bytes;
	uint64_t ident;
	uint64_t bytes_read;     /* from the file, all readers together */
};

int sim_image_open(const char *path, uint64_t bytes, struct sim_image **out, char *err,
		   size_t len)
{
	struct sim_image *img;
	struct stat st;
	int fd, e;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, len, "image '%s': %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, len, "image '%s': not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (!bytes || (uint64_t)st.st_size < bytes) {
		snprintf(err, len, "image '%s' holds %llu bytes, %llu needed", path,
			 (unsigned long long)st.st_size, (unsigned long long)bytes);
		close(fd);
		return -EINVAL;
	}
	img = calloc(1, sizeof(*img));
	if (!img) {
		close(fd);
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	img->ref = 1;
	img->fd = fd;
	img->bytes = bytes;
	img->ident = sim_hash_combine(sim_hash_combine(bytes, (uint64_t)st.st_ino),
				      sim_hash_combine((uint64_t)st.st_mtim.tv_sec,
						       (uint64_t)st.st_mtim.tv_nsec)) | 1;
	*out = img;
	return 0;
}

void sim_image_get(struct sim_image *img)
{
	img->ref++;
}

void sim_image_put(struct sim_image *img)
{
	if (!img || --img->ref)
		return;
	close(img->fd);
	free(img);
}

uint64_t sim_image_bytes(const struct sim_image *img)
{
	return img->bytes;
}

uint64_t sim_image_bytes_read(const struct sim_image *img)
{
	return img->bytes_read;
}

uint64_t sim_image_ident(const struct sim_image *img)
{
	return img->ident;
}

void sim_image_read(struct sim_image *img, sector_t sector, uint32_t nr, uint8_t *buf)
{
	uint64_t off = (uint64_t)sector << SECTOR_SHIFT, n = (uint64_t)nr << SECTOR_SHIFT;
	uint64_t have = off < img->bytes ? img->bytes - off : 0, got = 0;

	if (have > n)
		have = n;
	/* pread, not a mapping: nothing of the image stays resident, so reading
	 * a whole 1 GiB image (a whole-device check, a save) costs no memory. */
	while (got < have) {
		ssize_t k = pread(img->fd, buf + got, (size_t)(have - got), (off_t)(off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break; /* the file shrank or failed: zeros (it must not change) */
		got += (uint64_t)k;
	}
	img->bytes_read += got;
	memset(buf + got, 0, (size_t)(n - got));
}

static void image_read(void *ctx, sector_t sector, uint32_t nr, uint8_t *buf)
{
	sim_image_read(ctx, sector, nr, buf);
}

static void store_release(void *ctx)
{
	sim_image_put(ctx);
}

struct sim_store *sim_image_store(struct sim_image *img)
{
	struct sim_store_image src = {
		.read = image_read, .ident = img->ident, .release = store_release, .ctx = img,
	};
	struct sim_store *st;

	sim_image_get(img);
	st = sim_store_create_image(&src);
	if (!st)
		sim_image_put(img);
	return st;
}
