/* logwrites.c - a dm-log-writes log read and checked entry by entry; see logwrites.h. */
#define _GNU_SOURCE
#include "logwrites.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int lw_read(struct lw_log *l, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(l->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the size said it was there: the file shrank */
		done += (size_t)n;
	}
	return 0;
}

int lw_open(struct lw_log *l, const char *path, char *msg, size_t len)
{
	uint8_t sb[LW_SUPER_BYTES];
	struct stat st;
	uint64_t magic, version;
	int r;

	memset(l, 0, sizeof(*l));
	l->fd = open(path, O_RDONLY | O_CLOEXEC);
	l->path = path;
	if (l->fd < 0) {
		r = -errno;
		snprintf(msg, len, "%s: cannot open: %s", path, strerror(errno));
		return r;
	}
	if (fstat(l->fd, &st)) {
		r = -errno;
		snprintf(msg, len, "%s: cannot stat: %s", path, strerror(errno));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		/* A log device is saved to a file first (dd): its size is then known. */
		snprintf(msg, len, "%s: not a regular file (copy the log device to a file)", path);
		return -EINVAL;
	}
	l->size = (uint64_t)st.st_size;
	if (l->size < LW_SUPER_BYTES) {
		snprintf(msg, len, "%s: byte 0: truncated super block (%" PRIu64 " bytes, needs %u)",
			 path, l->size, LW_SUPER_BYTES);
		return -EINVAL;
	}
	if ((r = lw_read(l, 0, sb, sizeof(sb)))) {
		snprintf(msg, len, "%s: cannot read: %s", path, strerror(-r));
		return r;
	}
	magic = le64(sb);
	version = le64(sb + 8);
	l->nr_entries = le64(sb + 16);
	l->sectorsize = le32(sb + 24);
	if (magic != LW_MAGIC) {
		snprintf(msg, len, "%s: byte 0: not a dm-log-writes log (magic 0x%" PRIx64
			 ", expected 0x%llx)", path, magic, LW_MAGIC);
		return -EINVAL;
	}
	if (version != LW_VERSION) {
		snprintf(msg, len, "%s: byte 8: log version %" PRIu64 " is not supported (only %u)",
			 path, version, LW_VERSION);
		return -EINVAL;
	}
	/* Linux's logical block sizes; also what a simulated disk takes. */
	if (l->sectorsize < 512 || l->sectorsize > 4096 || (l->sectorsize & (l->sectorsize - 1))) {
		snprintf(msg, len, "%s: byte 24: sector size %u is not a power of two from 512 to"
			 " 4096", path, l->sectorsize);
		return -EINVAL;
	}
	l->block = malloc(l->sectorsize);
	if (!l->block) {
		snprintf(msg, len, "%s: out of memory", path);
		return -ENOMEM;
	}
	lw_rewind(l);
	return 0;
}

void lw_rewind(struct lw_log *l)
{
	l->next_index = 0;
	l->pos = l->sectorsize;
}

int lw_next(struct lw_log *l, struct lw_entry *e, char *msg, size_t len)
{
	uint64_t known = LW_FLUSH | LW_FUA | LW_DISCARD | LW_MARK | LW_METADATA;
	uint64_t ss = l->sectorsize, data_bytes = 0;
	int r;

	if (l->next_index >= l->nr_entries)
		return 0;
	memset(e, 0, sizeof(*e) - sizeof(e->mark));
	e->mark[0] = '\0';
	e->index = l->next_index;
	e->offset = l->pos;
#define BAD(...) do { \
		int n_ = snprintf(msg, len, "%s: entry %" PRIu64 " at byte %" PRIu64 ": ", \
				  l->path, e->index, e->offset); \
		if (n_ > 0 && (size_t)n_ < len) \
			snprintf(msg + n_, len - (size_t)n_, __VA_ARGS__); \
		return -EINVAL; \
	} while (0)
	if (l->pos > l->size || l->size - l->pos < ss)
		BAD("truncated: the entry's %" PRIu64 "-byte block passes the log's end at byte %"
		    PRIu64 " (the super block says %" PRIu64 " entries)", ss, l->size,
		    l->nr_entries);
	if ((r = lw_read(l, l->pos, l->block, ss))) {
		snprintf(msg, len, "%s: entry %" PRIu64 " at byte %" PRIu64 ": cannot read: %s",
			 l->path, e->index, e->offset, strerror(-r));
		return r;
	}
	e->sector = le64(l->block);
	e->nr_sectors = le64(l->block + 8);
	e->flags = le64(l->block + 16);
	e->data_len = le64(l->block + 24);
	if (!e->flags && !e->nr_sectors)
		BAD("empty entry (no flags, no sectors: a log cut short or overwritten?)");
	if (e->flags & ~known)
		BAD("unknown flags 0x%" PRIx64, e->flags & ~known);
	if (e->flags & LW_MARK) {
		if (e->flags != LW_MARK)
			BAD("a mark with other flags (0x%" PRIx64 ")", e->flags);
		if (e->data_len > ss - LW_ENTRY_BYTES || e->data_len >= sizeof(e->mark))
			BAD("mark of %" PRIu64 " bytes does not fit its block", e->data_len);
		memcpy(e->mark, l->block + LW_ENTRY_BYTES, (size_t)e->data_len);
		e->mark[e->data_len] = '\0';
		if (strlen(e->mark) != e->data_len)
			BAD("mark name holds a NUL byte");
	} else {
		/* What replay-log checks: the header is zero-padded. */
		if (l->block[LW_ENTRY_BYTES] != 0)
			BAD("entry block not zero-padded after its 32-byte header");
		if (e->data_len)
			BAD("data_len %" PRIu64 " on an entry that is not a mark (inline data is"
			    " not supported)", e->data_len);
	}
	if ((e->flags & LW_DISCARD) && (e->flags & (LW_FLUSH | LW_FUA)))
		BAD("a discard with FLUSH or FUA");
	if (e->nr_sectors > UINT64_MAX / ss || e->sector > UINT64_MAX / ss ||
	    e->sector * ss > UINT64_MAX - e->nr_sectors * ss)
		BAD("sector %" PRIu64 " + %" PRIu64 " overflows", e->sector, e->nr_sectors);
	if (!(e->flags & (LW_DISCARD | LW_MARK)))
		data_bytes = e->nr_sectors * ss;
	if ((e->flags & LW_MARK) && e->nr_sectors)
		BAD("a mark with %" PRIu64 " sectors", e->nr_sectors);
	e->data_offset = l->pos + ss;
	if (l->size - e->data_offset < data_bytes)
		BAD("truncated: %" PRIu64 " bytes of data from byte %" PRIu64 " pass the log's end"
		    " at byte %" PRIu64, data_bytes, e->data_offset, l->size);
#undef BAD
	l->pos = e->data_offset + data_bytes;
	l->next_index++;
	return 1;
}

void lw_close(struct lw_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	free(l->block);
	l->fd = -1;
	l->block = NULL;
}
