/*
 * cow_repair.h - the repair plan of `cow check --repair`, in the manner of
 * thin_repair: metadata only, never a data chunk.
 *
 * The plan is a list of byte edits of metadata areas (and, with an explicit
 * chunk size, of the header's chunk-size field). It drops only records the
 * validator proves bad (out of range, on metadata, duplicates: the later
 * record, which loses the kernel's lookup), keeps every other record of
 * every area, and packs the survivors into the metadata areas in list
 * order so that no later area is cut off. A header whose chunk size the
 * layout contradicts (another chunk size reads more valid records) is not
 * guessed at: the plan refuses, naming those chunk sizes. Records after a terminator
 * that look valid are counted, and kept only when asked.
 */
#ifndef SNAPSIM_COW_REPAIR_H
#define SNAPSIM_COW_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ss_error.h"

struct cow_repair_opts {
	uint64_t origin_bytes;    /* 0: unknown */
	uint32_t chunk_sectors;   /* 0: the header's */
	bool keep_after_terminator;
};

struct cow_edit {
	uint64_t off;
	uint32_t len;
	uint8_t *old_bytes, *new_bytes;
};

#define COW_REPAIR_CANDIDATES 32
#define COW_REPAIR_MSG_MAX 600

struct cow_repair_plan {
	bool refused;              /* nothing may be written: why says it */
	char why[COW_REPAIR_MSG_MAX];
	uint32_t chunk_sectors;    /* the layout the plan uses */
	uint64_t nr_records;       /* records in the list as read */
	uint64_t nr_dropped;       /* proven bad */
	uint64_t nr_after;         /* valid-looking records after a terminator */
	uint64_t first_after_area, first_after_slot;
	uint64_t nr_recovered;     /* of nr_after, put back (keep_after_terminator) */
	uint64_t nr_unterminated;  /* dropped: no room left for a terminator */
	uint64_t nr_kept;          /* records in the repaired list */
	bool header_edit;
	uint32_t candidates[COW_REPAIR_CANDIDATES];   /* chunk sizes the layout supports */
	uint64_t cand_good[COW_REPAIR_CANDIDATES];    /* records valid under each */
	size_t nr_candidates;
	struct cow_edit *edits;
	size_t nr_edits;
	uint64_t edit_bytes;
};

/*
 * Plan the repair of the image open on fd (size bytes, named path). Returns
 * 0 (plan made, possibly refused or empty) or a negative errno with err set
 * (read error, no memory). Free with cow_repair_plan_free().
 */
int cow_repair_plan_make(int fd, uint64_t size, const char *path,
			 const struct cow_repair_opts *o, struct cow_repair_plan *p,
			 struct ss_error *err);
void cow_repair_plan_free(struct cow_repair_plan *p);

#endif
