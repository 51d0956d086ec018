/*
 * dm.h - the device-mapper registry: named mapped devices with a live and
 * an inactive table, managed with dmsetup's verbs.
 *
 * Every verb returns 0 or a negative errno; on failure it fills err and
 * changes nothing (a failed load or resume leaves the live table serving).
 * No globals: every piece of state hangs off a struct dm_registry, so two
 * registries (two simulations) live side by side in one process.
 *
 * A mapped device is a struct bdev (dm_device_bdev()), so devices stack.
 * Suspend is asynchronous (core never blocks): dm_suspend() stops
 * admitting I/O at once and completes when in-flight I/O has drained.
 */
#ifndef SNAPSIM_DM_H
#define SNAPSIM_DM_H

#include <stdbool.h>
#include <stddef.h>

#include "bdev.h"
#include "dm_target.h"
#include "executor.h"
#include "ss_error.h"

#define DM_MAJOR 254

struct dm_registry;
struct dm_device;
struct dm_table;

/* Create an empty registry whose devices complete I/O through ex. */
struct dm_registry *dm_registry_create(struct executor *ex);
/*
 * Remove every mapped device (in reverse creation order) and free the
 * registry. External devices are not destroyed (their owner does that).
 */
void dm_registry_destroy(struct dm_registry *reg);
/*
 * Fail every bio queued on a suspended device with -EIO, as Linux fails
 * I/O to a device being removed; the completions run from the executor.
 * An owner that keeps running its executor calls this, runs it, and only
 * then destroys the registry, so that nothing queued is left behind (queued
 * I/O dm_registry_destroy finds is deferred to an executor that may never
 * run again). Returns the number of bios failed.
 */
unsigned dm_registry_fail_queued(struct dm_registry *reg);
struct executor *dm_registry_executor(struct dm_registry *reg);

/*
 * Make an external device (image file, memory or simulated disk) known to
 * tables under bd->name. The caller keeps ownership and must keep it alive
 * while any table uses it. Fails with -EEXIST on a duplicate name.
 */
int dm_registry_add_bdev(struct dm_registry *reg, struct bdev *bd,
			 struct ss_error *err);

/* Register a target type (built-ins are registered by dm_registry_create). */
int dm_registry_register_target(struct dm_registry *reg,
				const struct target_type *tt);
const struct target_type *dm_registry_find_target(struct dm_registry *reg,
						  const char *name);
/* Print `dmsetup targets` into a malloc'd string. */
char *dm_registry_targets_text(struct dm_registry *reg);

/*
 * Opaque per-registry slot for the snapshot targets' origin registry
 * (spec 4.1): created on first use by the snapshot code, freed by
 * dm_registry_destroy through the given destructor.
 */
void **dm_registry_snap_slot(struct dm_registry *reg, void (**dtr)(void *));

/* ---- verbs ---- */

#define DM_SUSPEND_NOFLUSH (1u << 0)
#define DM_READ_ONLY       (1u << 1)

typedef void dm_done_fn(void *ctx, int status);

/* create NAME [--table TEXT | --notable]; table NULL means --notable. */
int dm_create(struct dm_registry *reg, const char *name, const char *uuid,
	      const char *table, unsigned flags, struct ss_error *err);
/* load (reload) NAME TEXT: into the inactive slot. */
int dm_load(struct dm_registry *reg, const char *name, const char *table,
	    unsigned flags, struct ss_error *err);
/* clear NAME: destroy the inactive table. */
int dm_clear(struct dm_registry *reg, const char *name, struct ss_error *err);
/*
 * suspend NAME [--noflush]. Returns 0 when the suspend was started (or
 * the device was already suspended); done(ctx, status) then runs from the
 * executor once the device is suspended. done may be NULL.
 */
int dm_suspend(struct dm_registry *reg, const char *name, unsigned flags,
	       dm_done_fn *done, void *ctx, struct ss_error *err);
/* Whether the device has finished suspending. */
bool dm_is_suspended(struct dm_registry *reg, const char *name);
/* resume NAME: swap in the inactive table if any, run hooks, admit I/O. */
int dm_resume(struct dm_registry *reg, const char *name, unsigned flags,
	      struct ss_error *err);
/* remove NAME: refused with -EBUSY while open (used by another table). */
int dm_remove(struct dm_registry *reg, const char *name, struct ss_error *err);

/*
 * Output verbs: each sets *out to a malloc'd string exactly as dmsetup
 * prints it for one named device (no "NAME: " prefix).
 */
int dm_table_text(struct dm_registry *reg, const char *name, bool inactive,
		  char **out, struct ss_error *err);
int dm_status_text(struct dm_registry *reg, const char *name, bool inactive,
		   char **out, struct ss_error *err);
int dm_deps_text(struct dm_registry *reg, const char *name, bool inactive,
		 char **out, struct ss_error *err);
int dm_info_text(struct dm_registry *reg, const char *name, char **out,
		 struct ss_error *err);

/* ---- devices ---- */

struct dm_device *dm_find_device(struct dm_registry *reg, const char *name);
struct bdev *dm_device_bdev(struct dm_device *md);
const char *dm_device_name_of(struct dm_device *md);
unsigned dm_device_minor(struct dm_device *md);
unsigned dm_device_event_nr(struct dm_device *md);
/* Number of targets in the live table (0 without one). */
unsigned dm_device_num_targets(struct dm_device *md);
/* Target i of the live table, or NULL. */
struct dm_target *dm_device_target(struct dm_device *md, unsigned i);

/* ---- tables without a device (table check, fuzzing) ---- */

/*
 * Parse and construct a table against reg's devices, and run the bind-time
 * checks (device ranges). Nothing in reg changes except the open counts the
 * table holds, which dm_table_destroy() gives back.
 */
int dm_table_create(struct dm_registry *reg, const char *text, unsigned flags,
		    struct dm_table **out, struct ss_error *err);
void dm_table_destroy(struct dm_table *t);
/* The table printed as `dmsetup table` prints it (malloc'd). */
char *dm_table_print(struct dm_table *t);
sector_t dm_table_size(const struct dm_table *t);
unsigned dm_table_num_targets(const struct dm_table *t);
struct dm_target *dm_table_target(struct dm_table *t, unsigned i);

#endif
