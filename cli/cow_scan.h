/*
 * cow_scan.h - an offline, streaming reader of persistent COW images
 * (spec 2), built only on core/cow_format.h. It reads the header, then one
 * metadata area (one chunk) at a time with pread; it never loads the whole
 * image. Used by `snapsim cow inspect|check|export`.
 *
 * The scanner does not judge: cow_scan_validate() hands the image to the
 * validator activation uses (core/cow_validate.h), so the offline tools
 * and activation agree on every store.
 */
#ifndef SNAPSIM_COW_SCAN_H
#define SNAPSIM_COW_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "cow_format.h"
#include "cow_validate.h"
#include "ss_error.h"

struct cow_scan {
	const char *path;       /* borrowed from the caller */
	int fd;
	bool writable;
	uint64_t size_bytes;    /* image size */
	struct cow_header hdr;  /* decoded from bytes 0..15 */
	bool header_short;      /* image shorter than one sector */
	/* Geometry, set by cow_scan_geometry(). */
	uint32_t chunk_sectors;
	uint64_t chunk_bytes;
	uint64_t epa;           /* exceptions per area */
	uint64_t dev_chunks;    /* whole chunks in the image */
	uint8_t *buf;           /* one chunk: the area last read */
};

/* Summary of a walk (spec 2.6 step 8-9 applied to what was read). */
struct cow_walk_result {
	uint64_t nr_areas;      /* areas read */
	uint64_t nr_records;
	uint64_t last_area;     /* current_area: where the list ended */
	uint64_t last_used;     /* current_committed */
	bool area_missing;      /* the area after a full area lies beyond the image */
	uint64_t missing_area;  /* its number, when area_missing */
	chunk_t next_free;      /* what activation would compute */
};

/*
 * Open path (read-only unless writable) and read the header. Returns 0 or a
 * negative errno with err naming the path ("cannot open", "read error at
 * byte offset O"). An image shorter than 16 bytes sets header_short.
 */
int cow_scan_open(struct cow_scan *s, const char *path, bool writable,
		  struct ss_error *err);
void cow_scan_close(struct cow_scan *s);

/*
 * Take the geometry from the header's chunk size and allocate the chunk
 * buffer. Returns 0, or -EINVAL with err holding the reason (the spec's
 * chunk size messages, or a chunk size too large to buffer).
 */
int cow_scan_geometry(struct cow_scan *s, struct ss_error *err);

/* Byte offset of chunk k / of slot i of area n. */
uint64_t cow_scan_chunk_offset(const struct cow_scan *s, chunk_t k);
uint64_t cow_scan_slot_offset(const struct cow_scan *s, uint64_t area,
			      uint64_t slot);

/*
 * Read area n into s->buf. Returns 0, -ENOSPC when the area chunk does not
 * lie entirely inside the image, or a negative errno with err set.
 */
int cow_scan_read_area(struct cow_scan *s, uint64_t area, struct ss_error *err);

/*
 * Judge the image with cow_validate() (v, freed by the caller with
 * cow_validation_free() whatever the result), calling hooks in list order.
 * origin_bytes 0: origin unknown. walk_invalid: read the records of an
 * invalidated store too. Fills res from v. Returns 0, a hook's status, or
 * a negative errno with err naming the path and byte offset.
 */
int cow_scan_validate(struct cow_scan *s, uint64_t origin_bytes, bool walk_invalid,
		      const struct cow_validate_hooks *hooks, struct cow_validation *v,
		      struct cow_walk_result *res, struct ss_error *err);

/* Write area n from s->buf (only for an image opened writable). */
int cow_scan_write_area(struct cow_scan *s, uint64_t area, struct ss_error *err);

#endif
