/*
 * cow_format.h - the persistent exception store's on-disk format, byte
 * compatible with Linux dm-snapshot (spec 2). This file and cow_format.c are
 * the only places that know the layout; the store, the offline COW tools and
 * the fuzz harness all go through them.
 *
 * Layout: chunk 0 header; metadata area n at chunk 1 + n * (EPA + 1);
 * the EPA chunks after an area hold its data; EPA = chunk bytes / 16.
 * All integers little-endian.
 */
#ifndef SNAPSIM_COW_FORMAT_H
#define SNAPSIM_COW_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bio.h"

#define COW_MAGIC            0x70416E53u /* "SnAp" */
#define COW_VERSION          1u
#define COW_HEADER_BYTES     16u
#define COW_RECORD_BYTES     16u
#define COW_DEFAULT_CHUNK_SECTORS 32u
#define COW_MAX_CHUNK_SECTORS (0x7fffffffu >> SECTOR_SHIFT) /* INT_MAX >> 9 */

struct cow_header {
	uint32_t magic;
	uint32_t valid;
	uint32_t version;
	uint32_t chunk_sectors;
};

struct cow_record {
	uint64_t old_chunk;
	uint64_t new_chunk; /* 0 ends the list */
};

/* Exceptions per area (records per metadata chunk). */
static inline uint64_t cow_epa(uint32_t chunk_sectors)
{
	return ((uint64_t)chunk_sectors << SECTOR_SHIFT) / COW_RECORD_BYTES;
}

/* Chunk number of metadata area n. */
static inline chunk_t cow_area_loc(uint32_t chunk_sectors, uint64_t area)
{
	return 1 + area * (cow_epa(chunk_sectors) + 1);
}

/* Whether chunk k is a metadata area chunk (k >= 1 and k mod stride == 1). */
static inline bool cow_is_area_chunk(uint32_t chunk_sectors, chunk_t k)
{
	return k >= 1 && k % (cow_epa(chunk_sectors) + 1) == 1;
}

/*
 * Largest origin chunk a record may name: no device is larger than
 * INT64_MAX >> 9 sectors (dm's limit, spec 1.1 rule 3). A record beyond it
 * is corruption for every reader (activation, cow check).
 */
static inline uint64_t cow_max_origin_chunk(uint32_t chunk_sectors)
{
	return ((uint64_t)INT64_MAX >> SECTOR_SHIFT) / chunk_sectors;
}

/* Encode a header into its first 16 bytes of buf (the rest is the caller's). */
void cow_header_encode(const struct cow_header *h, uint8_t *buf);
void cow_header_decode(const uint8_t *buf, struct cow_header *h);
void cow_record_encode(const struct cow_record *r, uint8_t *buf);
void cow_record_decode(const uint8_t *buf, struct cow_record *r);

/* Record slot i of an area chunk image (slot < cow_epa()). */
void cow_area_get(const uint8_t *area, uint64_t slot, struct cow_record *r);
void cow_area_put(uint8_t *area, uint64_t slot, const struct cow_record *r);

/*
 * Fill a whole chunk-0 image (chunk_bytes) with a header (magic, valid,
 * version 1, chunk_sectors) followed by zeros (spec 2.9).
 */
void cow_header_chunk_build(uint8_t *chunk, size_t chunk_bytes, uint32_t valid,
			    uint32_t chunk_sectors);

/* The data chunk allocated after k: k + 1, skipping a metadata area chunk. */
static inline chunk_t cow_next_data_chunk(uint32_t chunk_sectors, chunk_t k)
{
	k++;
	if (cow_is_area_chunk(chunk_sectors, k))
		k++;
	return k;
}

/*
 * Validate a chunk size from a table or a header: a power of two, a
 * multiple of block_sectors, at most COW_MAX_CHUNK_SECTORS. Returns NULL
 * when valid, else the spec's message ("Chunk size is not a power of 2",
 * "Chunk size is not a multiple of device blocksize", "Chunk size is too
 * high").
 */
const char *cow_chunk_size_problem(uint64_t chunk_sectors, unsigned block_sectors);

#endif
