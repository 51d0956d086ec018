/* cow_scan.c - streaming reader of persistent COW images; see cow_scan.h. */
#include "cow_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"

int cow_scan_open(struct cow_scan *s, const char *path, bool writable,
		  struct ss_error *err)
{
	uint8_t hdr[COW_HEADER_BYTES];
	long long n;
	int r;

	memset(s, 0, sizeof(*s));
	s->path = path;
	s->writable = writable;
	s->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (s->fd < 0)
		return ss_error_set(err, -errno, 0, 0, "%s: cannot open: %s",
				    path, strerror(errno));
	r = cli_fd_size(s->fd, &s->size_bytes);
	if (r < 0) {
		ss_error_set(err, r, 0, 0, "%s: cannot get size: %s", path,
			     r == -EINVAL ? "not a regular file or block device"
					  : strerror(-r));
		goto err_close;
	}
	n = cli_pread_full(s->fd, hdr, sizeof(hdr), 0);
	if (n < 0) {
		r = (int)n;
		ss_error_set(err, r, 0, 0, "%s: read error at byte offset 0: %s",
			     path, strerror(-r));
		goto err_close;
	}
	memset(hdr + n, 0, sizeof(hdr) - (size_t)n);
	s->header_short = s->size_bytes < SECTOR_SIZE;
	cow_header_decode(hdr, &s->hdr);
	return 0;

err_close:
	close(s->fd);
	s->fd = -1;
	return r;
}

void cow_scan_close(struct cow_scan *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->buf); /* Allocated in cow_scan_geometry */
	s->buf = NULL;
}

int cow_scan_geometry(struct cow_scan *s, struct ss_error *err)
{
	const char *problem = cow_chunk_size_problem(s->hdr.chunk_sectors, 1);

	if (problem)
		return ss_error_set(err, -EINVAL, 0, 0, "%s (chunk_size %u)",
				    problem, s->hdr.chunk_sectors);
	s->chunk_sectors = s->hdr.chunk_sectors;
	s->chunk_bytes = (uint64_t)s->chunk_sectors << SECTOR_SHIFT;
	s->epa = cow_epa(s->chunk_sectors);
	s->dev_chunks = s->size_bytes / s->chunk_bytes;
	free(s->buf);
	s->buf = malloc(s->chunk_bytes);
	if (!s->buf)
		return ss_error_set(err, -ENOMEM, 0, 0,
				    "%s: cannot allocate a %llu-byte chunk buffer",
				    s->path, (unsigned long long)s->chunk_bytes);
	return 0;
}

uint64_t cow_scan_chunk_offset(const struct cow_scan *s, chunk_t k)
{
	return k * s->chunk_bytes;
}

uint64_t cow_scan_slot_offset(const struct cow_scan *s, uint64_t area,
			      uint64_t slot)
{
	return cow_scan_chunk_offset(s, cow_area_loc(s->chunk_sectors, area)) +
	       slot * COW_RECORD_BYTES;
}

int cow_scan_read_area(struct cow_scan *s, uint64_t area, struct ss_error *err)
{
	chunk_t loc = cow_area_loc(s->chunk_sectors, area);
	uint64_t off;
	long long n;

	if (loc >= s->dev_chunks)
		return -ENOSPC;
	off = cow_scan_chunk_offset(s, loc);
	n = cli_pread_full(s->fd, s->buf, s->chunk_bytes, off);
	if (n < 0)
		return ss_error_set(err, (int)n, 0, 0,
				    "%s: read error at byte offset %llu: %s",
				    s->path, (unsigned long long)off,
				    strerror((int)-n));
	if ((uint64_t)n != s->chunk_bytes)
		return ss_error_set(err, -EIO, 0, 0,
				    "%s: short read at byte offset %llu (image shrank?)",
				    s->path, (unsigned long long)(off + (uint64_t)n));
	return 0;
}

int cow_scan_write_area(struct cow_scan *s, uint64_t area, struct ss_error *err)
{
	uint64_t off = cow_scan_chunk_offset(s, cow_area_loc(s->chunk_sectors, area));
	int r = cli_pwrite_full(s->fd, s->buf, s->chunk_bytes, off);

	if (r == 0 && fsync(s->fd) != 0)
		r = -errno;
	if (r < 0)
		return ss_error_set(err, r, 0, 0,
				    "%s: write error at byte offset %llu: %s",
				    s->path, (unsigned long long)off, strerror(-r));
	return 0;
}

/* cow_read_fn over the image; the offset of a failed read is kept for the message. */
struct scan_read {
	struct cow_scan *s;
	uint64_t failed_off;
	int failed;
};

static int scan_read(void *ctx, uint64_t sector, uint32_t nr_sectors, uint8_t *buf)
{
	struct scan_read *sr = ctx;
	uint64_t off = sector << SECTOR_SHIFT, len = (uint64_t)nr_sectors << SECTOR_SHIFT;
	long long n = cli_pread_full(sr->s->fd, buf, len, off);

	if (n >= 0 && (uint64_t)n == len)
		return 0;
	sr->failed = n < 0 ? (int)n : -EIO;
	sr->failed_off = n < 0 ? off : off + (uint64_t)n;
	return sr->failed;
}

int cow_scan_validate(struct cow_scan *s, uint64_t origin_bytes, bool walk_invalid,
		      const struct cow_validate_hooks *hooks, struct cow_validation *v,
		      struct cow_walk_result *res, struct ss_error *err)
{
	struct cow_validate_opts o = {
		.dev_sectors = s->size_bytes >> SECTOR_SHIFT,
		.origin_sectors = origin_bytes >> SECTOR_SHIFT,
		.block_sectors = 1,
		.walk_invalid = walk_invalid,
	};
	struct scan_read sr = { .s = s };
	int r;

	/* An origin of less than one sector still has a (partial) chunk. */
	if (origin_bytes && !o.origin_sectors)
		o.origin_sectors = 1;
	r = cow_validate(v, &o, scan_read, &sr, hooks);
	memset(res, 0, sizeof(*res));
	res->nr_areas = v->nr_areas;
	res->nr_records = v->nr_records;
	res->last_area = v->current_area;
	res->last_used = v->current_committed;
	res->area_missing = v->area_missing;
	res->missing_area = v->area_missing ? v->current_area : 0;
	res->next_free = v->next_free;
	if (r && sr.failed == r)
		return ss_error_set(err, r, 0, 0, "%s: %s at byte offset %llu%s%s", s->path,
				    r == -EIO ? "read error or short read" : "read error",
				    (unsigned long long)sr.failed_off, r == -EIO ? "" : ": ",
				    r == -EIO ? "" : strerror(-r));
	if (r == -ENOMEM)
		return ss_error_set(err, r, 0, 0, "%s: out of memory while checking", s->path);
	return r;
}
