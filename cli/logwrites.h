/*
 * logwrites.h - reading a log written by Linux's dm-log-writes target (the
 * format xfstests' src/log-writes/replay-log reads), entry by entry, every
 * field checked.
 *
 * The format (all integers little-endian):
 *   byte 0: the super block, padded with zeros to one log sector:
 *     le64 magic (0x6a736677736872), le64 version (1), le64 nr_entries,
 *     le32 sectorsize (the logged device's logical block size, bytes;
 *     512 to 4096 here)
 *   then nr_entries entries from byte sectorsize on, each:
 *     one sectorsize block: le64 sector, le64 nr_sectors, le64 flags,
 *       le64 data_len, then (a mark) data_len bytes of its name, zeros to
 *       the block's end (a non-mark entry's byte 32 must be zero);
 *     then, unless it is a discard, nr_sectors * sectorsize bytes of data.
 *   sector and nr_sectors count sectorsize blocks, not 512-byte sectors.
 * Flags: FLUSH 1 (a flush; with data, a write with PREFLUSH), FUA 2,
 * DISCARD 4 (no data follows), MARK 8 (a `dmsetup message ... mark NAME`),
 * METADATA 16 (REQ_META: a hint, no effect on the data). The kernel
 * rewrites nr_entries only after a FUA or mark entry, so a log may hold
 * entries past it: as replay-log does, only nr_entries are read.
 */
#ifndef SNAPSIM_CLI_LOGWRITES_H
#define SNAPSIM_CLI_LOGWRITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_MAGIC 0x6a736677736872ull
#define LW_VERSION 1u
#define LW_FLUSH (1u << 0)
#define LW_FUA (1u << 1)
#define LW_DISCARD (1u << 2)
#define LW_MARK (1u << 3)
#define LW_METADATA (1u << 4)
#define LW_SUPER_BYTES 28u   /* magic, version, nr_entries, sectorsize */
#define LW_ENTRY_BYTES 32u   /* sector, nr_sectors, flags, data_len */
#define LW_MSG_MAX 1200

struct lw_entry {
	uint64_t index;       /* 0, 1, ... (replay-log's entry numbers) */
	uint64_t offset;      /* byte offset of its block in the log */
	uint64_t sector;      /* in sectorsize blocks */
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
	uint64_t data_offset; /* byte offset of its data in the log (writes) */
	char mark[4096];      /* a mark's name, NUL-terminated */
};

struct lw_log {
	int fd;
	const char *path;
	uint64_t size;        /* bytes */
	uint64_t nr_entries;
	uint32_t sectorsize;
	uint64_t next_index;
	uint64_t pos;         /* byte offset of the next entry */
	uint8_t *block;       /* one sectorsize block */
};

/*
 * Open and check the super block. Returns 0, or a negative errno with msg
 * ("LOG: byte 0: ...") set; -EINVAL for a log that is not valid.
 */
int lw_open(struct lw_log *l, const char *path, char *msg, size_t len);
/* Start again at the first entry. */
void lw_rewind(struct lw_log *l);
/*
 * The next entry: 1 (in *e), 0 after the last, or a negative errno with msg
 * naming the log, the entry and its byte offset (-EINVAL: malformed or
 * truncated).
 */
int lw_next(struct lw_log *l, struct lw_entry *e, char *msg, size_t len);
/* Read len bytes of the log at off into buf. 0 or a negative errno. */
int lw_read(struct lw_log *l, uint64_t off, void *buf, size_t len);
void lw_close(struct lw_log *l);

#endif
