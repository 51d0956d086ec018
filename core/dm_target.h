/*
 * dm_target.h - the target-type interface (what linear, zero, error,
 * snapshot-origin, snapshot and snapshot-merge implement) and the services
 * dm core offers to targets.
 *
 * Each target type is one file with a static struct target_type filled with
 * designated initializers, registered by name in a dm_registry.
 */
#ifndef SNAPSIM_DM_TARGET_H
#define SNAPSIM_DM_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bdev.h"
#include "bio.h"
#include "executor.h"
#include "ss_error.h"

struct dm_target;
struct dm_table;
struct dm_registry;
struct dm_device;

enum status_type {
	STATUSTYPE_INFO,  /* dmsetup status */
	STATUSTYPE_TABLE, /* dmsetup table */
};

/* Return values of map(). A negative value completes the bio with it. */
#define DM_MAPIO_SUBMITTED 0 /* the target took the bio and will submit or end it */
#define DM_MAPIO_REMAPPED  1 /* the target set bio->bdev/sector; core submits it */

/* Device access modes for dm_get_device(). */
#define DM_MODE_READ  1u
#define DM_MODE_WRITE 2u

/* fn(ti, dev, start, len, data): a device range the target uses. */
typedef int iterate_devices_callout_fn(struct dm_target *ti, struct bdev *dev,
				       sector_t start, sector_t len, void *data);

struct target_type {
	const char *name;
	unsigned version[3];
	/*
	 * Construct from the table line's arguments. On failure: return a
	 * negative errno, set ti->error to a fixed message and ti->error_arg to
	 * the index of the offending argument (-1: the argument list as a
	 * whole). Must not change state visible outside ti: everything
	 * acquired is released again on failure.
	 */
	int (*ctr)(struct dm_target *ti, unsigned argc, char **argv);
	/* Release what ctr acquired. Does not free ti itself. */
	void (*dtr)(struct dm_target *ti);
	/*
	 * Map a clone bio that lies entirely inside this target (and inside
	 * one max_io_len window). Returns DM_MAPIO_* or a negative errno.
	 * Empty flushes (BIO_FLUSH) are passed once; the target fans them out.
	 * Runs in executor context; may not block.
	 */
	int (*map)(struct dm_target *ti, struct bio *bio);
	/*
	 * Optional: called when a remapped clone completes, before dm core
	 * accounts it. May change the status it returns.
	 */
	int (*end_io)(struct dm_target *ti, struct bio *bio, int status);
	/* Write the params (after "<start> <len> <type> ") into buf. */
	void (*status)(struct dm_target *ti, enum status_type type, char *buf,
		       size_t len);
	/* Optional hooks, dmsetup suspend/resume order (spec 6.3, 6.4). */
	void (*presuspend)(struct dm_target *ti);
	void (*postsuspend)(struct dm_target *ti);
	int (*preresume)(struct dm_target *ti);
	void (*resume)(struct dm_target *ti);
	/*
	 * Optional control-path synchronous I/O through the target (see
	 * bdev_ops.sync_rw); the range lies inside the target. Needed so a
	 * store can be read back through a stacked device at load time.
	 */
	int (*sync_rw)(struct dm_target *ti, enum bio_op op, sector_t sector,
		       uint32_t nr_sectors, uint8_t *data);
	/* Report every device range used (deps, bind-time range checks). */
	int (*iterate_devices)(struct dm_target *ti,
			       iterate_devices_callout_fn *fn, void *data);
};

struct dm_target {
	struct dm_table *table;
	const struct target_type *type;
	sector_t begin;         /* first sector of the mapped device it covers */
	sector_t len;           /* sectors */
	void *private;          /* the target's own state */
	uint32_t max_io_len;    /* split requests at multiples of this (0: none) */
	size_t per_io_data_size; /* bytes of per-bio data the target wants */
	bool discards_supported;
	/* Constructor failure report. */
	const char *error;
	int error_arg;          /* index into argv, -1 for the whole line */
};

/*
 * Open a device named by a table argument (a name known to the registry,
 * /dev/mapper/NAME, or MAJOR:MINOR) for ti's table. The table holds one
 * reference per distinct device. Returns 0 or a negative errno with
 * ti->error set ("Cannot get target device" style messages are the
 * caller's to choose; this sets nothing).
 */
int dm_get_device(struct dm_target *ti, const char *path, unsigned mode,
		  struct bdev **out);
/*
 * Read the `<device> <offset>` pair of argv[0], argv[1] (linear, error):
 * parse the offset ("Invalid device sector", error_arg 1), then open the
 * device ("Device lookup failed", error_arg 0). Returns 0 or a negative
 * errno with ti->error set; on failure nothing is held.
 */
int dm_get_device_offset(struct dm_target *ti, char **argv, struct bdev **dev,
			 sector_t *start);
/* Drop a reference taken by dm_get_device(). */
void dm_put_device(struct dm_target *ti, struct bdev *dev);

/* The canonical name of a device as tables print it (M:m or image name). */
const char *dm_device_name(struct dm_target *ti, struct bdev *dev, char *buf,
			   size_t len);

struct executor *dm_target_executor(struct dm_target *ti);
struct dm_registry *dm_target_registry(struct dm_target *ti);
/* The mapped device whose table holds ti (NULL for a table not yet bound). */
struct dm_device *dm_target_device(struct dm_target *ti);
/* Whether the table of ti was loaded read-only. */
bool dm_target_read_only(struct dm_target *ti);

/* Per-bio data (per_io_data_size bytes) of a clone passed to map(). */
void *dm_per_bio_data(struct bio *clone);
/* The target a clone was mapped through. */
struct dm_target *dm_bio_target(struct bio *clone);

/*
 * Work a target has in progress that suspend must wait for besides the
 * clones in flight (a merge step, a copy with no request attached).
 */
void dm_target_busy_get(struct dm_target *ti);
void dm_target_busy_put(struct dm_target *ti);

/* Raise the device's event number (dmsetup info), e.g. on invalidation. */
void dm_target_event(struct dm_target *ti);

/*
 * Split a string into arguments the kernel way: at white space, with a
 * backslash making the next character literal. Fills argv (at most
 * max_args) with pointers into buf, which is modified; records each
 * argument's 0-based offset in the original string in offs (may be NULL).
 * Returns the count, or -E2BIG when there are more than max_args.
 */
int dm_split_args(char *buf, char **argv, unsigned *offs, unsigned max_args);

/*
 * Parse an unsigned decimal number: digits only, no sign, no trailing
 * characters, no overflow of max. Returns 0 or -EINVAL / -ERANGE.
 */
int dm_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif
