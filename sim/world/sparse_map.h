/*
 * sparse_map.h - a sparse, copy-on-write image of a disk's sectors.
 *
 * A radix tree of 64-way nodes over 4 KiB pages. Absent pages read as the
 * store's initial content (zeros, or garbage derived from a seed and the
 * sector number), so a 1 GiB image costs nothing until written.
 *
 * Every node and page carries a reference count. sim_map_clone() shares
 * the root in O(1); a write copies only the path to the page it touches,
 * and only where that path is shared (refcount > 1). A node or page with
 * refcount 1 belongs to exactly one map and may be changed in place; a
 * shared one is never changed. Forked images therefore cost one page per
 * page that differs, plus the nodes above it.
 *
 * Each node caches the hash of its subtree, invalidated along the path of
 * a write, so hashing a fork that differs from its parent in k pages costs
 * O(k * depth), not O(size). The hash depends on content only: a page that
 * holds exactly its initial content hashes as if it were absent.
 *
 * Zeros cost no page: a page written all zero is absent again in a store
 * of zeros, and the store's one shared zero page otherwise; zeros written
 * into part of an absent page of a store of zeros are not stored at all.
 *
 * All maps of one family (a disk, its durable and current images, its
 * forks) share one struct sim_store: the initial-content rule and the
 * memory accounting. Not thread-safe.
 */
#ifndef SNAPSIM_SIM_SPARSE_MAP_H
#define SNAPSIM_SIM_SPARSE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bio.h"

#define SIM_PAGE_SHIFT 12
#define SIM_PAGE_BYTES (1u << SIM_PAGE_SHIFT)
#define SIM_PAGE_SECTORS (SIM_PAGE_BYTES >> SECTOR_SHIFT)

enum sim_init_content {
	SIM_INIT_ZERO = 0,  /* never-written sectors read zeros */
	SIM_INIT_GARBAGE,   /* ... read bytes fixed by (seed, sector) */
	SIM_INIT_IMAGE,     /* ... read an image's bytes (sim_store_create_image) */
};

/* Initial content held outside the store (an image file, sim_image.h). */
struct sim_store_image {
	/* Fill n sectors from sector with the image's bytes (zeros past its end). */
	void (*read)(void *ctx, sector_t sector, uint32_t n, uint8_t *buf);
	uint64_t ident;          /* the image's identity, mixed into every map hash, so
				  * hashing never reads the image beyond written pages */
	void (*release)(void *ctx); /* called when the store is freed */
	void *ctx;
};

struct sim_store_stats {
	uint64_t pages_live;   /* 4 KiB pages allocated, all maps together */
	uint64_t nodes_live;   /* tree nodes allocated */
	uint64_t page_copies;  /* pages copied because they were shared */
	uint64_t bytes_live;   /* memory held by pages and nodes */
};

struct sim_store;
struct sim_node;

struct sim_map {
	struct sim_store *store; /* a reference */
	struct sim_node *root;   /* a reference; NULL = all initial content */
	unsigned levels;         /* tree height in node levels, >= 1 */
	sector_t size_sectors;
};

/* Create a store. Returns NULL when out of memory. The caller holds one
 * reference. */
struct sim_store *sim_store_create(enum sim_init_content init, uint64_t seed);
/* A store over an image (init SIM_INIT_IMAGE). NULL when out of memory
 * (src->release is not called then). */
struct sim_store *sim_store_create_image(const struct sim_store_image *src);
void sim_store_get(struct sim_store *st);
void sim_store_put(struct sim_store *st);
struct sim_store_stats sim_store_stats(const struct sim_store *st);

/* Fill buf with the initial content of nr sectors from sector. */
void sim_store_initial(const struct sim_store *st, sector_t sector,
		       uint32_t nr_sectors, uint8_t *buf);

/* An empty map of size_sectors sectors over store st (takes a reference). */
void sim_map_init(struct sim_map *m, struct sim_store *st, sector_t size_sectors);
/* Release m's references. */
void sim_map_destroy(struct sim_map *m);
/* Make dst (uninitialized) share src's content in O(1). */
void sim_map_clone(struct sim_map *dst, const struct sim_map *src);

/* Read nr sectors from sector into buf. The range must be inside the map. */
void sim_map_read(const struct sim_map *m, sector_t sector, uint32_t nr_sectors,
		  uint8_t *buf);
/*
 * Write nr sectors at sector from buf. The range must be inside the map.
 * Returns 0 or -ENOMEM; on -ENOMEM a prefix of the range may have been
 * written (the simulation should then be abandoned).
 */
int sim_map_write(struct sim_map *m, sector_t sector, uint32_t nr_sectors,
		  const uint8_t *buf);

/*
 * Whether [sector, sector + nr_sectors) holds the store's initial content:
 * free where no page covers it, a compare where one does.
 */
bool sim_map_holds_initial(const struct sim_map *m, sector_t sector, uint32_t nr_sectors);

/* Write nr sectors of zeros at sector; as sim_map_write otherwise. */
int sim_map_write_zeros(struct sim_map *m, sector_t sector, uint32_t nr_sectors);

/* The content hash (see above); equal content gives equal hashes. */
uint64_t sim_map_hash(struct sim_map *m);

/*
 * Report, as runs fn(ctx, sector, nr), every sector where a and b (two maps
 * of one store and size, e.g. forks of one disk) hold different bytes.
 * Subtrees and pages the two share are skipped without reading them, so
 * the cost is that of the pages that differ.
 */
typedef void sim_map_diff_fn(void *ctx, sector_t sector, uint32_t nr_sectors);
void sim_map_diff(const struct sim_map *a, const struct sim_map *b, sim_map_diff_fn *fn,
		  void *ctx);

/* Pages present in this map (written at least once; shared or not). */
uint64_t sim_map_pages_present(const struct sim_map *m);

#endif
