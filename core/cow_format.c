/*
 * cow_format.c - encode and decode the persistent store's header and
 * exception records (spec 2.2, 2.4). Little-endian regardless of host.
 */
#include "cow_format.h"

#include <string.h>

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

void cow_header_encode(const struct cow_header *h, uint8_t *buf)
{
	put_le32(buf + 0, h->magic);
	put_le32(buf + 4, h->valid);
	put_le32(buf + 8, h->version);
	put_le32(buf + 12, h->chunk_sectors);
}

void cow_header_decode(const uint8_t *buf, struct cow_header *h)
{
	h->magic = get_le32(buf + 0);
	h->valid = get_le32(buf + 4);
	h->version = get_le32(buf + 8);
	h->chunk_sectors = get_le32(buf + 12);
}

void cow_record_encode(const struct cow_record *r, uint8_t *buf)
{
	put_le64(buf + 0, r->old_chunk);
	put_le64(buf + 8, r->new_chunk);
}

void cow_record_decode(const uint8_t *buf, struct cow_record *r)
{
	r->old_chunk = get_le64(buf + 0);
	r->new_chunk = get_le64(buf + 8);
}

const char *cow_chunk_size_problem(uint64_t chunk_sectors, unsigned block_sectors)
{
	if (chunk_sectors == 0 || (chunk_sectors & (chunk_sectors - 1)))
		return "Chunk size is not a power of 2";
	if (block_sectors && chunk_sectors % block_sectors)
		return "Chunk size is not a multiple of device blocksize";
	if (chunk_sectors > COW_MAX_CHUNK_SECTORS)
		return "Chunk size is too high";
	return 0;
}

void cow_area_get(const uint8_t *area, uint64_t slot, struct cow_record *r)
{
	cow_record_decode(area + slot * COW_RECORD_BYTES, r);
}

void cow_area_put(uint8_t *area, uint64_t slot, const struct cow_record *r)
{
	cow_record_encode(r, area + slot * COW_RECORD_BYTES);
}

void cow_header_chunk_build(uint8_t *chunk, size_t chunk_bytes, uint32_t valid,
			    uint32_t chunk_sectors)
{
	struct cow_header h = {
		.magic = COW_MAGIC,
		.valid = valid,
		.version = COW_VERSION,
		.chunk_sectors = chunk_sectors,
	};

	memset(chunk, 0, chunk_bytes);
	cow_header_encode(&h, chunk);
}
