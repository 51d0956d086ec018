/*
 * model.h - the reference oracle: what every device may read, now and
 * after a power cut. Independent of core/ (libc + pattern.h only).
 *
 * The model does not know dm's mechanisms (areas, pending exceptions,
 * copier). It knows the *promises*:
 *   - a disk (and every linear view of it) reads the last acknowledged
 *     write, or its initial content (zero or seeded garbage);
 *   - a snapshot reads what its origin held when the snapshot first
 *     became active (first resume), plus the writes made through the
 *     snapshot itself; an invalid snapshot fails reads with EIO;
 *   - an overflowed PO snapshot fails writes, still serves reads; a full
 *     COW invalidates a snapshot on the origin write that needs a chunk
 *     (P) or on a snapshot write (P without O);
 *   - a merge device reads the snapshot's content at once; once the merge
 *     is complete the origin holds it;
 *   - after a power cut, a sector may read any version it held that no
 *     completed FLUSH (or FUA) had made durable, or the durable one;
 *     an acknowledged origin write proves the snapshot's copy of that
 *     chunk is durable (dm holds the write until the record is).
 * Contents are identified by struct model_content (zero, pattern (seed,
 * sector), or a 64-bit hash), never stored as bytes, and only sectors
 * somebody wrote are kept (sparse), so the model scales with the trace's
 * writes, not with disk sizes.
 *
 * The replayer drives it: model_dev_set() whenever a table becomes live
 * (at resume), write/flush begin+end around each request, model_crash()
 * at a power cut, and model_check_read() on every completed read.
 */
#ifndef SNAPSIM_MODEL_H
#define SNAPSIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t model_sector_t; /* 512-byte sectors, as everywhere */

enum model_content_kind {
	MODEL_C_ZERO = 0,
	MODEL_C_PATTERN,   /* a = seed, b = pattern sector */
	MODEL_C_HASH,      /* a = pattern_hash(512 bytes): literal data, garbage */
};

struct model_content {
	uint64_t a, b;
	uint8_t kind;
};

/* What a write puts in each of its sectors. */
enum model_data_kind {
	MODEL_DATA_ZERO = 0,
	MODEL_DATA_PATTERN, /* sector i of the write holds pattern (seed, base + i) */
	MODEL_DATA_BYTES,   /* bytes: nsectors * 512 bytes */
};

struct model_data {
	enum model_data_kind kind;
	uint64_t seed;
	model_sector_t base;
	const uint8_t *bytes;
};

enum model_target_type {
	MODEL_T_LINEAR = 0, /* dev, offset */
	MODEL_T_ZERO,
	MODEL_T_ERROR,
	MODEL_T_ORIGIN,     /* snapshot-origin: dev is the real (origin) device */
	MODEL_T_SNAPSHOT,   /* dev = origin, cow, chunk_sectors, persistent, overflow_mode */
	MODEL_T_MERGE,      /* snapshot-merge: same arguments as SNAPSHOT */
};

struct model_segment {
	model_sector_t start, len;
	enum model_target_type type;
	const char *dev;          /* names as tables give them: NAME, /dev/NAME, /dev/mapper/NAME */
	model_sector_t offset;
	const char *cow;
	uint32_t chunk_sectors;
	bool persistent;
	bool overflow_mode;       /* PO */
	uint64_t cow_chunks;      /* data chunks the COW holds; 0: computed from its size */
};

enum model_snap_state {
	MODEL_SNAP_NONE = 0,      /* not a snapshot device */
	MODEL_SNAP_VALID,
	MODEL_SNAP_OVERFLOW,
	MODEL_SNAP_INVALID,
	MODEL_SNAP_MAYBE_INVALID, /* invalidated before a crash: the header write may be lost */
	MODEL_SNAP_MERGING,
};

#define MODEL_EXPECT_MAX 8

struct model_expect {
	bool may_fail;            /* EIO is allowed */
	bool may_succeed;         /* data is allowed (one of c[]) */
	unsigned n;               /* allowed contents (first MODEL_EXPECT_MAX) */
	unsigned n_total;
	struct model_content c[MODEL_EXPECT_MAX];
};

struct model_mismatch {
	char dev[128];
	model_sector_t sector;
	char expected[256];
	char found[128];
};

/* Write flags. */
#define MODEL_FUA (1u << 0)

struct model;

struct model *model_create(void);
void model_destroy(struct model *m);

/*
 * A disk: name (tables may also say /dev/NAME), size, initial content
 * (zeros, or pattern_garbage(garbage_seed, sector)). Returns 0 or -EEXIST.
 */
int model_add_disk(struct model *m, const char *name, model_sector_t size_sectors,
		   bool garbage, uint64_t garbage_seed);

/*
 * The table now live on dm device name (created if new). n == 0: no table
 * (I/O fails). Call it when a table becomes live (create with a table,
 * resume that swaps one in). A SNAPSHOT segment activates its snapshot; a
 * MERGE segment starts merging. Returns 0, -ENOENT (unknown device in a
 * segment), -EINVAL (unsupported table shape).
 */
int model_dev_set(struct model *m, const char *name, const struct model_segment *segs,
		  unsigned n);
int model_dev_remove(struct model *m, const char *name);

/*
 * Start a write; returns the predicted status (0 or -EIO) and *id for
 * model_write_end(). The write's sectors may read old or new until it
 * ends. end with status != 0 leaves them "old or new" for good.
 */
int model_write_begin(struct model *m, const char *dev, model_sector_t sector,
		      uint32_t nsectors, const struct model_data *d, unsigned flags,
		      uint64_t *id);
void model_write_end(struct model *m, uint64_t id, int status);
/*
 * Whether write id (not yet ended) may fail although model_write_begin
 * predicted success: a snapshot write in flight when the store's last
 * area could not be committed (its record shared that commit's batch).
 */
bool model_write_may_fail(struct model *m, uint64_t id);
/* begin + end with the predicted status. */
int model_write(struct model *m, const char *dev, model_sector_t sector, uint32_t nsectors,
		const struct model_data *d, unsigned flags);

/*
 * A flush of dev covers every write acknowledged before it was submitted:
 * token = model_flush_begin(); ... model_flush_end(token) on completion.
 */
uint64_t model_flush_begin(struct model *m);
void model_flush_end(struct model *m, const char *dev, uint64_t token, int status);
void model_flush(struct model *m, const char *dev);

/* A power cut: every dm device vanishes; transient snapshots are gone. */
void model_crash(struct model *m);
/* The merge on device dev has completed (status shows allocated == metadata). */
int model_merge_done(struct model *m, const char *dev);
/* The replayer saw the snapshot become invalid for a reason the model cannot know (I/O error). */
int model_snapshot_invalidate(struct model *m, const char *dev);

enum model_snap_state model_snapshot_state(struct model *m, const char *dev);

/* What sector may read now. Returns 0 or -ENOENT. */
int model_read_expect(struct model *m, const char *dev, model_sector_t sector,
		      struct model_expect *out);
/*
 * model_read_expect for n consecutive sectors, in order, with no model
 * change in between: fn(ctx, k, expected, id) for sector + k, id the
 * identity of the sector state the answer comes from (0: a fixed content,
 * no state). Two reads of one identity are tied, the first read after a
 * crash pinning what the later may return (a snapshot's copy of an origin
 * sector shares the origin's). A non-zero return from fn stops and is
 * returned. Resolves once per run of sectors.
 */
int model_read_expect_ids(struct model *m, const char *dev, model_sector_t sector, uint32_t n,
			  int (*fn)(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id),
			  void *ctx);
/*
 * model_read_expect_ids, with the sectors nobody wrote handed over in
 * runs: run(ctx, k, n, disk, abs) for sectors k..k+n-1 of the read, which
 * read the initial content of the model's disk number `disk` (in the order
 * of model_add_disk) from sector abs on: each settled (no failure, one
 * content), with no state (id 0). run returns how many of them, from k
 * on, it took (the next one then goes to fn and run gets the rest), or a
 * negative value to stop (returned). A caller that knows those sectors
 * untouched skips building each answer.
 */
int model_read_expect_runs(struct model *m, const char *dev, model_sector_t sector, uint32_t n,
			   int (*fn)(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id),
			   int (*run)(void *ctx, uint32_t k, uint32_t n, uint32_t disk,
				      model_sector_t abs),
			   void *ctx);
/*
 * What the origin of snapshot device dev may read at sector now: a read
 * of an invalidated snapshot that was sent to the origin before the
 * invalidation may see origin writes the invalidation released (spec
 * 4.10). Returns 0 or -ENOENT (not a snapshot device).
 */
int model_read_expect_origin(struct model *m, const char *dev, model_sector_t sector,
			     struct model_expect *out);
/*
 * Check a completed read (buf: nsectors * 512 bytes, status its result).
 * Returns 0 when it is allowed, 1 with *mm filled on the first mismatch,
 * -ENOENT for an unknown device. After a crash a sector's value is
 * uncertain; the first read pins it (later reads must agree).
 */
int model_check_read(struct model *m, const char *dev, model_sector_t sector,
		     uint32_t nsectors, const uint8_t *buf, int status,
		     struct model_mismatch *mm);

/* ---- helpers ---- */

/* Content of one 512-byte buffer, canonical (zero / pattern / hash). */
struct model_content model_content_of(const uint8_t *buf);
/*
 * model_content_of with a memo of pattern sectors already identified: a
 * crash point's states read the same few writes' bytes again and again,
 * and a memcmp against a verified copy is cheaper than re-deriving the
 * pattern. The memo is the caller's (model_content_memo_new; NULL: none).
 */
struct model_content_memo;
struct model_content_memo *model_content_memo_new(void);
void model_content_memo_free(struct model_content_memo *cm);
struct model_content model_content_of_memo(struct model_content_memo *cm, const uint8_t *buf);
/* Whether two contents are the same bytes. */
bool model_content_eq(const struct model_content *x, const struct model_content *y);
/* "zero", "pattern seed-7 sector 12", "bytes#1a2b..." */
const char *model_content_name(const struct model_content *c, char *buf, size_t len);
/* Data chunks a COW of cow_sectors holds (spec 2.3, 2.7; transient: size / cs). */
uint64_t model_cow_data_chunks(uint64_t cow_sectors, uint32_t chunk_sectors, bool persistent);

/*
 * Initial content of a garbage disk computed by the caller (e.g. the
 * simulated disk's own garbage), instead of pattern_garbage(seed, sector):
 * fn(key, sector, out[512]). Makes the disk a garbage disk. Returns 0 or
 * -ENOENT.
 */
typedef void model_initial_fn(uint64_t key, model_sector_t sector, uint8_t *out);
int model_set_disk_initial(struct model *m, const char *name, model_initial_fn *fn,
			   uint64_t key);

/*
 * An independent deep copy of m (disks, devices, stores, writes in
 * flight). NULL when out of memory. Free it with model_destroy().
 */
struct model *model_clone(const struct model *m);

struct model_stats {
	uint64_t states;          /* sector states held (disks and snapshots) */
	uint64_t entries;         /* versions held in them */
};
void model_get_stats(const struct model *m, struct model_stats *st);

#endif
