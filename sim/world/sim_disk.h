/*
 * sim_disk.h - a simulated disk: a struct bdev with a durable image, a
 * volatile write cache, latency, queueing, reordering, power cuts and
 * cheap copy-on-write forks of crash states.
 *
 * The disk model:
 *  (1) A request is served after a seeded latency (per operation type,
 *      uniform in [min, max]); at most queue_depth requests are in service,
 *      the rest wait in FIFO order. Completions reorder when latencies
 *      differ, unless in_order is set.
 *  (2) Effects happen at completion: a read copies the newest content
 *      (cache included); a write enters the volatile cache and the current
 *      image. Completion runs from the scheduler, never inside submit.
 *  (3) A completed FLUSH makes durable every write that had completed when
 *      the flush was submitted. Writes completing meanwhile are not covered.
 *  (4) A completed FUA write is durable; PREFLUSH on a write is a flush
 *      (rule 3, marked at the write's submission) ordered before it.
 *      Without a cache (write_through) every completed write is durable.
 *  (5) On a power cut, any subset of the non-durable writes may survive:
 *      the completed cached ones, and those still in flight (the device may
 *      have written data it had not acknowledged). With torn writes, any
 *      subset of a surviving write's atomic units may survive. A cached
 *      write's sectors later overwritten by a durable (FUA) write can no
 *      longer survive over it: survivors never make newer durable data older.
 *  (6) Requests out of range, or not aligned to the logical block, complete
 *      with -EIO. BIO_DISCARD (when enabled) writes zeros through the cache.
 *
 * Never-written sectors read zeros or seeded garbage (fixed per sector by
 * the seed), so code that relies on zeroed space is caught.
 *
 * Events are logged through the scheduler's log (sim_sched_logf()), which
 * feeds the run's event hash.
 */
#ifndef SNAPSIM_SIM_DISK_H
#define SNAPSIM_SIM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bdev.h"
#include "sim_sched.h"
#include "sparse_map.h"

struct sim_image;

struct sim_latency {
	uint64_t min_ns;
	uint64_t max_ns; /* <= min_ns: fixed latency min_ns */
};

struct sim_disk_config {
	const char *name;              /* NULL: "sim" */
	sector_t size_sectors;
	unsigned logical_block_bytes;  /* 0 or 512, 1024, 2048, 4096 */
	uint32_t atomic_sectors;       /* atomic write unit; 0 = one logical block */
	enum sim_init_content init;    /* never-written content */
	struct sim_image *image;       /* non-NULL: never-written sectors read this image
					* (sim_image.h; init ignored); the disk and its
					* forks hold a reference */
	uint64_t seed;                 /* run seed */
	uint64_t disk_id;              /* stream instance: distinct per disk */
	struct sim_latency read_lat, write_lat, flush_lat;
	unsigned queue_depth;          /* max requests in service; 0 = unlimited */
	bool in_order;                 /* complete in submission order */
	bool write_through;            /* no volatile cache */
	bool discard;                  /* accept BIO_DISCARD */
};

struct sim_disk_stats {
	uint64_t reads, writes, flushes, discards; /* completed successfully */
	uint64_t errors;               /* requests completed with an error */
	unsigned in_service, waiting;  /* now */
	unsigned max_in_service;       /* high-water mark */
	size_t cached_writes;          /* completed, not yet durable */
};

/* A write that is not durable (see rule 5). */
struct sim_disk_pending {
	uint64_t id;          /* the disk's submission number of the write */
	sector_t sector;
	uint32_t nr_sectors;
	uint32_t nr_units;    /* atomic units it touches (for unit masks) */
	bool completed;       /* false: still in flight */
	uint64_t done_seq;    /* completion order (1, 2, ...); 0 when in flight */
	/*
	 * An in-flight write with PREFLUSH: its data reaches the medium only
	 * after its flush, so it can survive only with every completed write
	 * whose done_seq <= flush_mark (they are durable once it is).
	 */
	bool preflush;
	uint64_t flush_mark;
	uint64_t tag;         /* the disk's tag when the write was submitted */
	unsigned bio_flags;   /* its BIO_* flags */
	bool discard;         /* a BIO_DISCARD (writes zeros) */
};

/* One surviving write of a crash state. */
struct sim_crash_write {
	uint64_t id;               /* a sim_disk_pending.id */
	const uint64_t *unit_mask; /* NULL: all of it; else bit u of word u/64
				    * set = atomic unit u survives */
};

struct sim_disk_fork_opts {
	const char *name;          /* NULL: "<parent>~<n>" */
	struct sim_sched *sched;   /* NULL: the parent's scheduler */
};

struct sim_disk;

/*
 * Create a disk on scheduler s. Returns 0 and *out, or -EINVAL (bad
 * config: size 0, block size, atomic unit not a multiple of the block)
 * or -ENOMEM. Destroy it with bdev_destroy(sim_disk_bdev(d)) or
 * sim_disk_destroy(d).
 */
int sim_disk_create(const struct sim_disk_config *cfg, struct sim_sched *s,
		    struct sim_disk **out);
/*
 * Free the disk. Requests still in flight are dropped without completing
 * (their events are cancelled): use this after a power cut, never under a
 * live stack. Forks and the parent are independent: either may go first.
 */
void sim_disk_destroy(struct sim_disk *d);

struct bdev *sim_disk_bdev(struct sim_disk *d);
/*
 * Stamp every write submitted from now on (sim_disk_pending.tag) with tag,
 * a number of the caller's (the replayer: the trace line running), so a
 * crash state's surviving writes can be told apart by what issued them.
 */
void sim_disk_set_tag(struct sim_disk *d, uint64_t tag);
/* The sim_disk behind a bdev, or NULL if bd is not a simulated disk. */
struct sim_disk *sim_disk_from_bdev(struct bdev *bd);
const struct sim_disk_config *sim_disk_config(const struct sim_disk *d);
struct sim_disk_stats sim_disk_stats(const struct sim_disk *d);
/* Memory accounting shared by the disk and all its forks. */
struct sim_store_stats sim_disk_store_stats(const struct sim_disk *d);

/* Read the durable image only (what a power cut losing every pending
 * write leaves). Returns 0 or -EIO when out of range. */
int sim_disk_read_durable(struct sim_disk *d, sector_t sector,
			  uint32_t nr_sectors, uint8_t *buf);
/* Whether the durable image holds the disk's initial content over the
 * range (sim_map_holds_initial: read only where a page is present);
 * false when out of range. */
bool sim_disk_durable_initial(const struct sim_disk *d, sector_t sector, uint32_t nr_sectors);
/* Content hash of the durable image; equal images hash equal. */
uint64_t sim_disk_durable_hash(struct sim_disk *d);
/* Content hash of the current image (what a read returns now). */
uint64_t sim_disk_current_hash(struct sim_disk *d);

/*
 * Every sector where the durable images of a and b differ, as runs
 * fn(ctx, sector, nr) (sim_map_diff: cost of what differs). a and b must
 * be of one family (a disk and its forks); -EINVAL otherwise.
 */
int sim_disk_durable_diff(const struct sim_disk *a, const struct sim_disk *b,
			  sim_map_diff_fn *fn, void *ctx);

/* Number of non-durable writes (rule 5). */
size_t sim_disk_pending_count(const struct sim_disk *d);
/*
 * Copy up to max pending writes into out: completed ones in completion
 * order, then in-flight ones in submission order. Returns the total count
 * (which may exceed max).
 */
size_t sim_disk_pending_list(const struct sim_disk *d,
			     struct sim_disk_pending *out, size_t max);

/*
 * Fork a crashed disk: its durable image is this disk's durable image
 * plus the surviving writes (applied in pending-list order, honouring unit
 * masks and rule 5), its cache is empty and nothing is in flight. The
 * storage is shared copy-on-write with this disk. Returns 0 and *out,
 * -EINVAL (an id not pending, or listed twice; nothing created) or -ENOMEM.
 * opts may be NULL.
 */
int sim_disk_fork(struct sim_disk *d, const struct sim_crash_write *survivors,
		  size_t nr, const struct sim_disk_fork_opts *opts,
		  struct sim_disk **out);

#endif
