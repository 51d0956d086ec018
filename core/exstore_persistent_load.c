/*
 * exstore_persistent_load.c - activation of the persistent store
 * (exstore_type.read_metadata, spec 2.6): judge the COW with cow_validate(),
 * refuse what it finds fatal, create a new store, or adopt the one read.
 * Synchronous, on the control path (bdev_sync_rw).
 *
 * Creation (spec 2.9, hardened): Linux writes the header and the zeroed
 * area 0 as two plain writes, which a disk may make durable in either
 * order; a power cut could then leave a valid header over a garbage area 0,
 * and activation would read garbage records. Here activation writes the
 * zeroed area 0, flushes, writes the header and flushes again, all on the
 * synchronous control path (pstore_create_new()): area 0 is durable before
 * the header can be, and the header, which is what makes the store exist
 * and fixes its chunk size, is durable before activation returns, as
 * Linux's is once its constructor's writes reach the disk. The bytes on the
 * COW are the same as Linux's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cow_format.h"
#include "cow_validate.h"
#include "exstore_persistent_internal.h"

/* Adopt chunk size cs: geometry and a zeroed area image. */
static int pstore_set_geometry(struct exstore *s, struct pstore *ps, uint32_t cs)
{
	size_t bytes = (size_t)cs << SECTOR_SHIFT;
	uint8_t *area = calloc(1, bytes);

	if (!area)
		return -ENOMEM;
	free(ps->area);
	free(ps->zero);
	free(ps->aux);
	ps->zero = ps->aux = NULL;
	ps->area = area;
	ps->cs = cs;
	ps->epa = cow_epa(cs);
	ps->chunk_bytes = bytes;
	ps->current_area = 0;
	ps->current_committed = 0;
	ps->next_free = 2;
	exstore_set_chunk_size(s, cs);
	return 0;
}

/*
 * Spec 2.9 creation, hardened (see "Creation" at the top): zeroed area 0,
 * flush, header, flush. Any failure fails activation (as in Linux).
 */
static int pstore_create_new(struct exstore *s, struct pstore *ps, uint32_t cs,
			     uint8_t *buf, struct ss_error *err)
{
	uint64_t cow_chunks = ps->cow->size_sectors / cs;
	int r;

	if (cow_chunks < 2)
		return ss_error_set(err, -EIO, 0, 0,
				    "COW device of %llu sectors cannot hold a header and a metadata area of %u-sector chunks",
				    (unsigned long long)ps->cow->size_sectors, cs);
	memset(buf, 0, (size_t)cs << SECTOR_SHIFT);
	r = bdev_sync_rw(ps->cow, BIO_WRITE, cow_area_loc(cs, 0) * cs, cs, buf);
	if (!r)
		r = bdev_sync_rw(ps->cow, BIO_FLUSH, 0, 0, NULL);
	if (r)
		return ss_error_set(err, r, 0, 0, "Unable to write metadata area 0");
	cow_header_chunk_build(buf, (size_t)cs << SECTOR_SHIFT, 1, cs);
	r = bdev_sync_rw(ps->cow, BIO_WRITE, 0, cs, buf);
	if (!r)
		r = bdev_sync_rw(ps->cow, BIO_FLUSH, 0, 0, NULL);
	if (r)
		return ss_error_set(err, r, 0, 0, "Unable to write snapshot header");
	r = pstore_set_geometry(s, ps, cs);
	if (r)
		return ss_error_set(err, r, 0, 0, "Cannot allocate metadata area");
	ps->valid = true;
	ps->active = true;
	return 0;
}

static int pstore_read(void *ctx, uint64_t sector, uint32_t nr_sectors, uint8_t *buf)
{
	return bdev_sync_rw(ctx, BIO_READ, sector, nr_sectors, buf);
}

struct pstore_emit {
	exstore_add_fn *add;
	void *ctx;
};

static int pstore_emit(void *ctx, chunk_t old_chunk, chunk_t new_chunk)
{
	struct pstore_emit *e = ctx;

	return e->add(e->ctx, old_chunk, new_chunk);
}

/* The error activation fails with for the validator's fatal finding f. */
static int pstore_refuse(const struct exstore *s, const struct cow_validation *v,
			 const struct cow_vfinding *f, struct ss_error *err)
{
	int code = cow_problem_errno(f->problem);
	char what[160];

	switch (f->problem) {
	case COW_P_SHORT_DEVICE:
		return ss_error_set(err, code, 0, 0, "Unable to read snapshot header");
	case COW_P_BAD_MAGIC: /* Linux's messages for the header (spec 2.6) */
		return ss_error_set(err, code, 0, 0, "Invalid or corrupt snapshot");
	case COW_P_BAD_CHUNK_SIZE:
		return ss_error_set(err, code, 0, 0, "Invalid chunk size %u in snapshot header: %s",
				    v->hdr.chunk_sectors,
				    cow_chunk_size_problem(v->hdr.chunk_sectors, s->block_sectors));
	case COW_P_BAD_VERSION:
		return ss_error_set(err, code, 0, 0, "Unsupported snapshot store version %u",
				    v->hdr.version);
	default:
		break;
	}
	cow_vfinding_describe(f, what, sizeof(what));
	if (f->place == COW_V_SLOT)
		return ss_error_set(err, code, 0, 0, "Corrupt snapshot metadata: area %llu slot %llu: %s",
				    (unsigned long long)f->area, (unsigned long long)f->slot, what);
	return ss_error_set(err, code, 0, 0, "Corrupt snapshot metadata: %s", what);
}

/* Spec 2.6 steps 7-9 on a store the validator accepted: adopt its state. */
static int pstore_adopt(struct exstore *s, struct pstore *ps, struct cow_validation *v,
			exstore_add_fn *add, void *ctx, struct ss_error *err)
{
	struct pstore_emit e = { add, ctx };
	int r = pstore_set_geometry(s, ps, v->chunk_sectors);

	if (r)
		return ss_error_set(err, r, 0, 0, "Cannot allocate metadata area");
	ps->active = true;
	if (v->state == COW_STORE_INVALID) {
		ps->valid = false; /* spec 2.6 step 7: no records are read */
		return EXSTORE_MARKED_INVALID;
	}
	ps->valid = true;
	free(ps->area);
	ps->area = v->area; /* the image of current_area, as read */
	v->area = NULL;
	ps->current_area = v->current_area;
	ps->current_committed = v->current_committed;
	ps->next_free = v->next_free;
	/* Only a fully valid store reaches the caller's table. */
	r = cow_validation_foreach(v, pstore_emit, &e);
	if (r) {
		ps->active = false;
		return ss_error_set(err, r, 0, 0, "Cannot add exception to the table");
	}
	return 0;
}

int persistent_read_metadata(struct exstore *s, exstore_add_fn *add, void *ctx,
			     struct ss_error *err)
{
	struct pstore *ps = s->context;
	uint32_t cs = s->chunk_sectors;
	struct cow_validate_opts opts;
	struct cow_validation v;
	const struct cow_vfinding *f;
	uint8_t *buf;
	int r;

	if (!cs) {
		cs = ps->cow->logical_block_bytes >> SECTOR_SHIFT;
		if (cs < COW_DEFAULT_CHUNK_SECTORS)
			cs = COW_DEFAULT_CHUNK_SECTORS;
	}
	ps->active = false;
	/*
	 * Linux reads chunk 0 with the tentative chunk size, so a COW smaller
	 * than one default chunk (16 KiB) whose header says 1 sector cannot
	 * be activated with a table chunk size of 0. The header is 16 bytes:
	 * the validator reads no more than the device holds.
	 */
	opts = (struct cow_validate_opts){
		.dev_sectors = ps->cow->size_sectors,
		.origin_sectors = s->origin_sectors,
		.block_sectors = s->block_sectors,
		.header_sectors = cs,
		.stop_at_fatal = true,
	};
	r = cow_validate(&v, &opts, pstore_read, ps->cow, NULL);
	if (r == -ENOMEM)
		ss_error_set(err, r, 0, 0, "Cannot allocate exception table");
	else if (r && v.failed_chunk == 0)
		ss_error_set(err, r, 0, 0, "Unable to read snapshot header");
	else if (r)
		ss_error_set(err, r, 0, 0, "Unable to read metadata area %llu (chunk %llu)",
			     (unsigned long long)v.failed_area, (unsigned long long)v.failed_chunk);
	else if (v.nr_fatal)
		r = (f = cow_validation_first_fatal(&v)) ? pstore_refuse(s, &v, f, err)
			: ss_error_set(err, -ENOMEM, 0, 0, "Cannot allocate a finding");
	else if (v.state == COW_STORE_NEW) {
		buf = malloc((size_t)cs << SECTOR_SHIFT);
		r = buf ? pstore_create_new(s, ps, cs, buf, err)
			: ss_error_set(err, -ENOMEM, 0, 0, "Cannot allocate header buffer");
		free(buf);
	} else {
		r = pstore_adopt(s, ps, &v, add, ctx, err);
	}
	cow_validation_free(&v);
	return r;
}
