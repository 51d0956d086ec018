/*
 * cow_validate.h - the one judge of a persistent COW store (spec 2): the
 * header (magic, valid flag, version, chunk size against the layout and the
 * device), each metadata area, each record, the terminator and the next
 * free chunk. Activation (exstore_persistent.c), `snapsim cow check` and
 * `cow inspect`, and the crash explorer's invariant check all call it, so
 * they cannot disagree on what a valid store is: activation refuses a store
 * exactly when a finding is COW_V_FATAL.
 *
 * The store is read through a callback (a bdev's control path, a file, a
 * crashed disk image), one sector range at a time: the header, then one
 * area chunk at a time; memory grows with the records, never with the
 * device. libc only; nothing is printed: findings are records, and
 * cow_vfinding_describe() words them the same way for every reader.
 */
#ifndef SNAPSIM_COW_VALIDATE_H
#define SNAPSIM_COW_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cow_format.h"
#include "exception_table.h"

enum cow_vseverity {
	COW_V_WARNING, /* a deviation a healthy store does not show; activation goes on */
	COW_V_FATAL,   /* activation refuses the store */
};

enum cow_problem {
	/* header (place COW_V_HEADER; field_offset names the field) */
	COW_P_SHORT_DEVICE,      /* COW smaller than one sector: no header */
	COW_P_BAD_MAGIC,         /* neither 0 (new) nor "SnAp" */
	COW_P_BAD_CHUNK_SIZE,    /* not a power of 2, not a block multiple, too high */
	COW_P_BAD_VERSION,       /* version != 1 */
	COW_P_VALID_VALUE,       /* valid not 0 or 1 (warning: non-zero counts as valid) */
	COW_P_CHUNK_SIZE_DEVICE, /* the header and area 0 do not fit in the device */
	/* areas (COW_V_AREA) */
	COW_P_AREA_MISSING,      /* the area after a full area lies beyond the device */
	/* records (COW_V_SLOT; rec is the record) */
	COW_P_NEW_BEYOND_DEVICE, /* new_chunk >= device chunks (limit) */
	COW_P_NEW_METADATA,      /* new_chunk is a metadata area (limit: its number) */
	COW_P_NEW_DUPLICATE,     /* new_chunk used by an earlier record (other_*) */
	COW_P_OLD_DUPLICATE,     /* old_chunk mapped by an earlier record (other_*) */
	COW_P_OLD_BEYOND_ANY,    /* old_chunk beyond any device (limit: largest chunk) */
	COW_P_OLD_BEYOND_ORIGIN, /* old_chunk >= origin chunks (limit), origin size known */
	COW_P_ORDER,             /* warning: not the chunk allocation order gives (limit) */
	COW_P_TAIL_DIRTY,        /* warning: non-zero slots after the terminator (limit: count) */
	COW_P_NR
};

enum cow_vplace {
	COW_V_HEADER,
	COW_V_AREA,
	COW_V_SLOT,
};

struct cow_vfinding {
	enum cow_problem problem;
	enum cow_vseverity severity;
	enum cow_vplace place;
	uint64_t area, slot;        /* AREA, SLOT (TAIL_DIRTY: the first dirty slot) */
	uint32_t field_offset;      /* HEADER: byte offset of the field */
	uint64_t value;             /* HEADER: the field's value; AREA: the area's chunk */
	struct cow_record rec;      /* SLOT */
	uint64_t limit;             /* the bound crossed, see enum cow_problem */
	bool has_other;             /* duplicates: the earlier record was located */
	uint64_t other_area, other_slot;
};

/* What the header says the store is. */
enum cow_store_state {
	COW_STORE_UNREADABLE, /* a fatal header finding: records were not read */
	COW_STORE_NEW,        /* magic 0: activation creates the store */
	COW_STORE_INVALID,    /* valid == 0: invalidated; activation reads no records */
	COW_STORE_VALID,      /* records were read */
};

/* Read nr_sectors at sector into buf. 0 or a negative errno. */
typedef int cow_read_fn(void *ctx, uint64_t sector, uint32_t nr_sectors, uint8_t *buf);

/* One area as the walk found it (after its records). */
struct cow_area_summary {
	uint64_t area;
	chunk_t loc;            /* chunk number */
	uint64_t used;          /* slots before the terminator (EPA when full) */
	bool full;
	uint64_t tail_dirty;    /* non-zero slots after the terminator */
	uint64_t tail_first;    /* the first of them */
};

/*
 * Optional hooks, in list order; a negative return stops the walk with that
 * status. on_record gets the record's first finding (NULL when it has none).
 */
struct cow_validate_hooks {
	int (*on_record)(void *ctx, uint64_t area, uint64_t slot,
			 const struct cow_record *rec, const struct cow_vfinding *problem);
	int (*on_area)(void *ctx, const struct cow_area_summary *a);
	void *ctx;
};

struct cow_validate_opts {
	uint64_t dev_sectors;       /* the COW's size */
	uint64_t origin_sectors;    /* 0: unknown (no origin check) */
	unsigned block_sectors;     /* chunk sizes must be multiples (0 or 1: any) */
	uint32_t header_sectors;    /* sectors to read for the header (0: 1) */
	bool stop_at_fatal;         /* stop at the first fatal finding (activation) */
	bool walk_invalid;          /* read the records of an invalidated store too */
	size_t max_findings;        /* findings kept (0: COW_V_FINDINGS_KEPT); later ones counted */
};

#define COW_V_FINDINGS_KEPT 1000

struct cow_validation {
	enum cow_store_state state;
	struct cow_header hdr;
	/* Geometry (state NEW, INVALID, VALID). */
	uint32_t chunk_sectors;
	uint64_t epa, dev_chunks;
	/* The walk (spec 2.6 steps 8-9). */
	uint64_t nr_areas, nr_records;
	uint64_t current_area, current_committed;
	chunk_t next_free;
	bool area_missing;
	uint64_t order_deviations;  /* records out of allocation order (the first is a finding) */
	/* Findings, in the order found. */
	struct cow_vfinding *findings;
	size_t nr_findings;
	uint64_t nr_fatal, nr_warnings, nr_dropped;
	/* After a read error: the area being read. */
	uint64_t failed_area;
	chunk_t failed_chunk;
	/* The last area read (current_area's image), chunk bytes; may be taken (set NULL). */
	uint8_t *area;
	/* Private. */
	struct extable by_old, by_new;
	bool tables, by_new_used;
	chunk_t last_new;
	uint8_t *scratch;
};

/*
 * Judge the store behind read. Returns 0 when the judgement ran (whatever
 * it found; v->nr_fatal says), -ENOMEM, a read error (v->failed_area and
 * failed_chunk name the area; header read errors leave failed_chunk 0 and
 * state UNREADABLE), or a hook's status. Free v with cow_validation_free()
 * whatever the result.
 */
int cow_validate(struct cow_validation *v, const struct cow_validate_opts *opts,
		 cow_read_fn *read, void *read_ctx, const struct cow_validate_hooks *hooks);
void cow_validation_free(struct cow_validation *v);

/* Every exception read (old -> new); complete for a store without fatal findings. */
int cow_validation_foreach(const struct cow_validation *v, extable_visit_fn *fn, void *ctx);

/* The first fatal finding, or NULL. */
const struct cow_vfinding *cow_validation_first_fatal(const struct cow_validation *v);

/*
 * Word a finding (without its place), e.g. "new_chunk 100 is beyond the end
 * of the COW (100 chunks)". Returns buf.
 */
char *cow_vfinding_describe(const struct cow_vfinding *f, char *buf, size_t len);

/* The errno activation fails with for a fatal finding (-ENXIO, -EIO, -EINVAL). */
int cow_problem_errno(enum cow_problem p);

#endif
