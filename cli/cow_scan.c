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

/* Count the non-zero slots after slot `from` in s->buf (the area tail). */
static void scan_tail(const struct cow_scan *s, struct cow_area_info *ai,
		      uint64_t from)
{
	ai->tail_dirty = 0;
	ai->tail_first = 0;
	for (uint64_t i = from; i < s->epa; i++) {
		if (cli_is_zero(s->buf + i * COW_RECORD_BYTES, COW_RECORD_BYTES))
			continue;
		if (!ai->tail_dirty)
			ai->tail_first = i;
		ai->tail_dirty++;
	}
}

int cow_scan_walk(struct cow_scan *s, cow_record_fn *on_record,
		  cow_area_fn *on_area, void *ctx, struct cow_walk_result *res,
		  struct ss_error *err)
{
	memset(res, 0, sizeof(*res));
	res->next_free = 2;
	for (uint64_t area = 0;; area++) {
		struct cow_area_info ai = {
			.area = area,
			.loc = cow_area_loc(s->chunk_sectors, area),
		};
		int r = cow_scan_read_area(s, area, err);

		if (r == -ENOSPC) {
			res->area_missing = true;
			res->missing_area = area;
			/* The list ended with the last full area read. */
			res->last_area = area;
			res->last_used = 0;
			break;
		}
		if (r < 0)
			return r;
		res->nr_areas++;
		for (ai.used = 0; ai.used < s->epa; ai.used++) {
			struct cow_record rec;
			cow_record_decode(s->buf + ai.used * COW_RECORD_BYTES, &rec);
			if (rec.new_chunk == 0)
				break;
			res->nr_records++;
			if (rec.new_chunk >= res->next_free)
				res->next_free = rec.new_chunk == UINT64_MAX
					? UINT64_MAX : rec.new_chunk + 1;
			if (on_record) {
				r = on_record(ctx, &ai, ai.used, &rec);
				if (r < 0)
					return r;
			}
		}
		ai.full = ai.used == s->epa;
		if (!ai.full)
			scan_tail(s, &ai, ai.used + 1);
		if (on_area) {
			r = on_area(ctx, &ai);
			if (r < 0)
				return r;
		}
		if (!ai.full) {
			res->last_area = area;
			res->last_used = ai.used;
			break;
		}
	}
	if (cow_is_area_chunk(s->chunk_sectors, res->next_free))
		res->next_free++;
	return 0;
}
