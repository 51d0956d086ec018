/*
 * dm_internal.h - dm core's private structures, shared by dm_lookup.c,
 * dm_table.c, dm_device.c and dm_registry.c (each file calls only the ones
 * before it in that list). Targets use dm_target.h only.
 *
 * Ownership in one picture:
 *
 *   dm_registry --owns--> dm_device (list, newest first)
 *                  |          |--owns--> live table, inactive table
 *                  |          '--owns--> dm_io queued while suspended
 *                  '--knows-> external bdevs (the caller owns them)
 *   dm_table --owns--> dm_target (one allocation each: targets may keep
 *                      pointers to them), dm_table_dev (held devices)
 */
#ifndef SNAPSIM_DM_INTERNAL_H
#define SNAPSIM_DM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm.h"

/*
 * Device numbers. Mapped devices get DM_MAJOR:<minor>. External devices
 * (image files, memory and simulated disks) have no real device numbers;
 * they get DM_EXT_MAJOR:<registration index> so that deps can list them
 * and a table may name them as M:m. Tables print them by name, not number.
 */
#define DM_EXT_MAJOR 7
#define DM_NAME_MAX 127
#define DM_UUID_MAX 128

/* One distinct device held by a table, with its use count. */
struct dm_table_dev {
	struct dm_table_dev *next; /* list head: most recently acquired */
	struct bdev *bdev;
	unsigned count;            /* dm_get_device() calls not yet put */
	unsigned mode;             /* DM_MODE_* union */
};

/* Where a target came from in the table text, for bind-time errors. */
#define DM_POS_DEVS 8
struct dm_target_pos {
	unsigned line;
	unsigned start_col;
	unsigned type_col;
	unsigned ndevs;
	struct {
		const struct bdev *bdev;
		unsigned col;
	} devs[DM_POS_DEVS];       /* column of each device argument */
};

struct dm_table {
	struct dm_registry *reg;
	struct dm_device *md;      /* device it was loaded into; NULL if none */
	unsigned flags;            /* DM_READ_ONLY */
	unsigned num_targets;
	unsigned cap_targets;
	struct dm_target **targets;
	struct dm_target_pos *pos; /* parallel to targets */
	struct dm_table_dev *devices;
	sector_t size;
	unsigned logical_block_bytes; /* largest of the devices' (>= 512) */

	/* Only while a constructor runs (for dm_get_device()). */
	char **cur_argv;
	unsigned cur_argc;
	const unsigned *cur_cols;
	char lookup_detail[400];   /* why the last dm_get_device() failed */
};

/* An external device known to the registry. */
struct dm_ext_dev {
	struct dm_ext_dev *next;
	struct bdev *bdev;
	unsigned minor;
};

struct dm_suspend_waiter {
	struct dm_suspend_waiter *next;
	dm_done_fn *fn;
	void *ctx;
};

struct dm_io;

/*
 * A mapped device. State machine (spec 6.3, 6.4):
 *   ACTIVE --dm_suspend--> SUSPENDING (new I/O queued; waiting for
 *   in_flight and busy to reach 0) --drained, via executor--> SUSPENDED
 *   --dm_resume--> ACTIVE (queued I/O re-submitted via the executor).
 */
struct dm_device {
	struct bdev base;          /* must be first; base.name is the dm name */
	struct dm_registry *reg;
	struct dm_device *next;    /* registry list, newest first */
	char uuid[DM_UUID_MAX + 1];
	unsigned minor;
	struct dm_table *live;
	struct dm_table *inactive;
	bool bound_once;           /* a first load passed the bind checks */
	bool suspending;
	bool suspended;
	bool finish_scheduled;     /* a suspend_finish work item is queued */
	unsigned suspend_flags;    /* DM_SUSPEND_NOFLUSH of the last suspend */
	bool read_only;
	unsigned event_nr;
	uint64_t in_flight;        /* admitted dm_io not yet completed */
	uint64_t busy;             /* dm_target_busy_get() not yet put */
	struct dm_io *queue_head;  /* I/O held while suspending/suspended */
	struct dm_io *queue_tail;
	struct dm_suspend_waiter *waiters;
};

struct dm_registry {
	struct executor *ex;
	const struct target_type **types; /* registration order */
	unsigned num_types;
	unsigned cap_types;
	struct dm_ext_dev *ext;    /* registration order */
	unsigned num_ext;
	struct dm_device *devices; /* newest first */
	void *snap_slot;
	void (*snap_dtr)(void *);
};

/*
 * Built-in target types (dm_linear.c, dm_zero.c, dm_error.c,
 * dm_snap_origin.c, dm_snap.c), registered by dm_registry_create.
 */
extern const struct target_type dm_linear_target;
extern const struct target_type dm_zero_target;
extern const struct target_type dm_error_target;
extern const struct target_type dm_snapshot_origin_target;
extern const struct target_type dm_snapshot_target;
extern const struct target_type dm_snapshot_merge_target;

/* ---- dm_table.c ---- */

/*
 * Parse text and construct a table for md (NULL: no device). Does not run
 * the bind-time checks. On failure nothing is left allocated or held.
 */
int dm_table_build(struct dm_registry *reg, struct dm_device *md,
		   const char *text, unsigned flags, struct dm_table **out,
		   struct ss_error *err);
/* Bind-time checks (spec 1.1): device ranges and alignment. */
int dm_table_bind_check(struct dm_table *t, struct ss_error *err);
/* The target covering sector (which must be < size). */
struct dm_target *dm_table_find_target(struct dm_table *t, sector_t sector);
/* Print every target's status of the given type, framed (malloc'd). */
char *dm_table_status_text(struct dm_table *t, enum status_type type);
/* Whether table t holds (through a dm device, at any depth) device target. */
bool dm_table_depends_on(struct dm_table *t, const struct dm_device *target);

/* ---- dm_device.c ---- */

extern const struct bdev_ops dm_device_ops;

static inline bool dm_bdev_is_dm(const struct bdev *bd)
{
	return bd->ops == &dm_device_ops;
}

struct dm_device *dm_device_alloc(struct dm_registry *reg, const char *name,
				  const char *uuid, unsigned minor);
/* Free a device with no tables, no I/O; queued I/O fails with -EIO. */
void dm_device_free(struct dm_device *md);
/* Make t live (the device must be suspended); returns the old live table. */
struct dm_table *dm_device_swap_table(struct dm_device *md, struct dm_table *t);
/* Start a suspend; see dm_suspend(). */
int dm_device_suspend(struct dm_device *md, unsigned flags, dm_done_fn *done,
		      void *ctx);
/* Suspend now; only when nothing is in flight. Returns -EBUSY otherwise. */
int dm_device_suspend_now(struct dm_device *md, unsigned flags);
/* Resume hooks and admit queued I/O (spec 6.4 step 2). */
int dm_device_resume_live(struct dm_device *md, struct ss_error *err);
/* Suspend completes when in-flight I/O and busy counts reach 0. */
void dm_device_check_drained(struct dm_device *md);
/* Run the presuspend / postsuspend hooks of a table, in table order. */
void dm_table_presuspend(struct dm_table *t);
void dm_table_postsuspend(struct dm_table *t);

/* ---- dm_lookup.c ---- */

/* Find an external device by name or a dm device by name. */
struct dm_ext_dev *dm_registry_find_ext(struct dm_registry *reg,
					const char *name);
/* A mapped device by uuid (non-empty) or by minor number, or NULL. */
struct dm_device *dm_find_device_by_uuid(struct dm_registry *reg,
					const char *uuid);
struct dm_device *dm_find_device_by_minor(struct dm_registry *reg,
					 unsigned minor);
/* Resolve a table's device argument; NULL with detail set when unknown. */
struct bdev *dm_registry_resolve(struct dm_registry *reg, const char *path,
				 char *detail, size_t detail_len);
/* Device number of any device known to the registry. */
void dm_registry_devno(struct dm_registry *reg, const struct bdev *bd,
		       unsigned *major, unsigned *minor);

#endif
