/*
 * dm_registry.c - creating and destroying the registry of mapped devices,
 * external devices and target types, and dmsetup's verbs (create, load,
 * clear, suspend, resume, remove) and outputs (table, status, deps, info).
 * Registering and finding devices and target types (and `dmsetup targets`)
 * is dm_lookup.c.
 *
 * Every verb checks everything it can before it changes anything, so a
 * failed verb leaves the registry as it was (spec 6.2: "a failed load
 * changes nothing"). The exceptions are the ones Linux has (spec 6.4): a
 * resume whose bind check fails has already suspended the device and
 * destroys the new table; a resume whose pre-resume hook fails leaves the
 * new table live and the device suspended.
 */
#include "dm_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Target types every registry knows, in registration order (Linux
 * registers error, then linear; zero is a module loaded later).
 * `dmsetup targets` lists them newest first, as Linux does.
 * Core knows every target, the snapshot ones included, only through its
 * target_type: it calls nothing else of theirs.
 */
static const struct target_type *const builtin_targets[] = {
	&dm_error_target,
	&dm_linear_target,
	&dm_zero_target,
	&dm_snapshot_origin_target,
	&dm_snapshot_target,
	&dm_snapshot_merge_target,
};

/* ---- registry ---- */

struct dm_registry *dm_registry_create(struct executor *ex)
{
	struct dm_registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return NULL;
	reg->ex = ex;
	for (size_t i = 0; i < sizeof(builtin_targets) / sizeof(builtin_targets[0]); i++) {
		if (dm_registry_register_target(reg, builtin_targets[i])) {
			dm_registry_destroy(reg);
			return NULL;
		}
	}
	return reg;
}

void dm_registry_destroy(struct dm_registry *reg)
{
	struct dm_device *md;

	if (!reg)
		return;
	/*
	 * Tables first (newest device first), so no table outlives a mapped
	 * device it uses; then the snapshot slot, which the snapshot targets'
	 * destructors may still have used; then the devices.
	 */
	for (md = reg->devices; md; md = md->next) {
		dm_table_destroy(md->inactive);
		md->inactive = NULL;
	}
	for (md = reg->devices; md; md = md->next) {
		if (md->live && !md->suspended) {
			dm_table_presuspend(md->live);
			dm_table_postsuspend(md->live);
		}
		dm_table_destroy(md->live);
		md->live = NULL;
	}
	if (reg->snap_slot && reg->snap_dtr)
		reg->snap_dtr(reg->snap_slot);
	while (reg->devices) {
		md = reg->devices;
		reg->devices = md->next;
		md->in_flight = 0; /* destroying with I/O in flight is a caller bug */
		dm_device_free(md);
	}
	while (reg->ext) {
		struct dm_ext_dev *e = reg->ext;

		reg->ext = e->next;
		free(e);
	}
	free(reg->types);
	free(reg);
}

struct executor *dm_registry_executor(struct dm_registry *reg)
{
	return reg->ex;
}

/* ---- verbs ---- */

static struct dm_device *lookup(struct dm_registry *reg, const char *name,
				struct ss_error *err)
{
	struct dm_device *md = name ? dm_find_device(reg, name) : NULL;

	if (!md)
		ss_error_set(err, -ENXIO, 0, 0, "device '%s' does not exist",
			     name ? name : "(null)");
	return md;
}

static int check_name(const char *name, struct ss_error *err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > DM_NAME_MAX)
		return ss_error_set(err, -EINVAL, 0, 0,
				    "invalid device name: must be 1 to %d bytes long",
				    DM_NAME_MAX);
	if (strchr(name, '/'))
		return ss_error_set(err, -EINVAL, 0, 0,
				    "invalid device name '%s': contains '/'", name);
	if (!strcmp(name, "control") || !strcmp(name, ".") || !strcmp(name, ".."))
		return ss_error_set(err, -EINVAL, 0, 0,
				    "invalid device name '%s': reserved", name);
	return 0;
}

static unsigned lowest_free_minor(struct dm_registry *reg)
{
	unsigned minor = 0;

	while (dm_find_device_by_minor(reg, minor))
		minor++;
	return minor;
}

static void unlink_device(struct dm_registry *reg, struct dm_device *md)
{
	struct dm_device **pp;

	for (pp = &reg->devices; *pp != md; pp = &(*pp)->next)
		assert(*pp);
	*pp = md->next;
}

int dm_create(struct dm_registry *reg, const char *name, const char *uuid,
	      const char *table, unsigned flags, struct ss_error *err)
{
	struct dm_device *md;
	int r;

	r = check_name(name, err);
	if (r)
		return r;
	if (uuid && !uuid[0])
		uuid = NULL;
	if (uuid && strlen(uuid) > DM_UUID_MAX)
		return ss_error_set(err, -EINVAL, 0, 0,
				    "invalid uuid: longer than %d bytes", DM_UUID_MAX);
	if (dm_find_device(reg, name))
		return ss_error_set(err, -EBUSY, 0, 0,
				    "device '%s' already exists", name);
	if (uuid && dm_find_device_by_uuid(reg, uuid))
		return ss_error_set(err, -EBUSY, 0, 0,
				    "uuid '%s' is already used by device '%s'",
				    uuid,
				    dm_find_device_by_uuid(reg, uuid)->base.name);
	md = dm_device_alloc(reg, name, uuid, lowest_free_minor(reg));
	if (!md)
		return ss_error_set(err, -ENOMEM, 0, 0, "out of memory");
	md->next = reg->devices;
	reg->devices = md;
	if (!table)
		return 0;
	/* create with a table = create, load, resume; undone on failure. */
	r = dm_load(reg, name, table, flags, err);
	if (!r)
		r = dm_resume(reg, name, 0, err);
	if (r) {
		struct ss_error ignored;

		ss_error_clear(&ignored);
		/* The device is not open by anyone: remove cannot fail here. */
		if (dm_remove(reg, name, &ignored)) {
			assert(!"dm_create: could not undo a failed create");
		}
	}
	return r;
}

int dm_load(struct dm_registry *reg, const char *name, const char *table,
	    unsigned flags, struct ss_error *err)
{
	struct dm_device *md = lookup(reg, name, err);
	struct dm_table *t;
	int r;

	if (!md)
		return -ENXIO;
	r = dm_table_build(reg, md, table, flags, &t, err);
	if (r)
		return r;
	/* The first load of a device binds: device ranges are checked now. */
	if (!md->bound_once) {
		r = dm_table_bind_check(t, err);
		if (r) {
			dm_table_destroy(t);
			return r;
		}
	}
	dm_table_destroy(md->inactive);
	md->inactive = t;
	md->bound_once = true;
	return 0;
}

int dm_clear(struct dm_registry *reg, const char *name, struct ss_error *err)
{
	struct dm_device *md = lookup(reg, name, err);

	if (!md)
		return -ENXIO;
	dm_table_destroy(md->inactive);
	md->inactive = NULL;
	return 0;
}

int dm_suspend(struct dm_registry *reg, const char *name, unsigned flags,
	       dm_done_fn *done, void *ctx, struct ss_error *err)
{
	struct dm_device *md = lookup(reg, name, err);
	int r;

	if (!md)
		return -ENXIO;
	r = dm_device_suspend(md, flags, done, ctx);
	if (r)
		return ss_error_set(err, r, 0, 0, "cannot suspend '%s': out of memory",
				    name);
	return 0;
}

int dm_resume(struct dm_registry *reg, const char *name, unsigned flags,
	      struct ss_error *err)
{
	struct dm_device *md = lookup(reg, name, err);
	struct dm_table *old = NULL;
	int r;

	if (!md)
		return -ENXIO;
	if (md->suspending)
		return ss_error_set(err, -EBUSY, 0, 0,
				    "cannot resume '%s': a suspend is still in progress",
				    name);
	if (md->inactive) {
		struct dm_table *t = md->inactive;

		/*
		 * Linux suspends first, waiting for I/O. Core cannot wait: a
		 * device with I/O in flight must be suspended explicitly.
		 */
		if (dm_device_suspend_now(md, flags))
			return ss_error_set(err, -EBUSY, 0, 0,
					    "cannot swap tables of '%s' while I/O is in flight: suspend it first",
					    name);
		r = dm_table_bind_check(t, err);
		md->inactive = NULL;
		if (r) {
			dm_table_destroy(t);
			return r;
		}
		old = dm_device_swap_table(md, t);
	}
	r = 0;
	if (md->suspended)
		r = dm_device_resume_live(md, err);
	/* The replaced table goes only now, after the new one is live. */
	dm_table_destroy(old);
	return r;
}

int dm_remove(struct dm_registry *reg, const char *name, struct ss_error *err)
{
	struct dm_device *md = lookup(reg, name, err);

	if (!md)
		return -ENXIO;
	if (md->base.open_count)
		return ss_error_set(err, -EBUSY, 0, 0,
				    "device '%s' is busy: open count %u", name,
				    md->base.open_count);
	if (md->suspending || md->in_flight || md->busy)
		return ss_error_set(err, -EBUSY, 0, 0,
				    "device '%s' is busy: I/O in flight", name);
	unlink_device(reg, md);
	dm_table_destroy(md->inactive);
	md->inactive = NULL;
	if (md->live && !md->suspended) {
		dm_table_presuspend(md->live);
		dm_table_postsuspend(md->live);
	}
	dm_table_destroy(md->live);
	md->live = NULL;
	dm_device_free(md); /* fails I/O still queued with -EIO */
	return 0;
}

/* ---- outputs ---- */

static int table_of(struct dm_registry *reg, const char *name, bool inactive,
		    struct dm_table **out, struct ss_error *err)
{
	struct dm_device *md = lookup(reg, name, err);

	if (!md)
		return -ENXIO;
	*out = inactive ? md->inactive : md->live;
	return 0;
}

static int text_result(char *s, char **out, struct ss_error *err)
{
	if (!s)
		return ss_error_set(err, -ENOMEM, 0, 0, "out of memory");
	*out = s;
	return 0;
}

static int status_text(struct dm_registry *reg, const char *name,
		       bool inactive, enum status_type type, char **out,
		       struct ss_error *err)
{
	struct dm_table *t;
	int r = table_of(reg, name, inactive, &t, err);

	if (r)
		return r;
	/* No table: dmsetup prints an empty line. */
	return text_result(t ? dm_table_status_text(t, type) : strdup("\n"), out,
			   err);
}

int dm_table_text(struct dm_registry *reg, const char *name, bool inactive,
		  char **out, struct ss_error *err)
{
	return status_text(reg, name, inactive, STATUSTYPE_TABLE, out, err);
}

int dm_status_text(struct dm_registry *reg, const char *name, bool inactive,
		   char **out, struct ss_error *err)
{
	return status_text(reg, name, inactive, STATUSTYPE_INFO, out, err);
}

int dm_deps_text(struct dm_registry *reg, const char *name, bool inactive,
		 char **out, struct ss_error *err)
{
	struct dm_table *t;
	struct dm_table_dev *d;
	unsigned n = 0;
	size_t cap, len;
	char *s;
	int r = table_of(reg, name, inactive, &t, err);

	if (r)
		return r;
	for (d = t ? t->devices : NULL; d; d = d->next)
		n++;
	cap = 32 + 28 * (size_t)n;
	s = malloc(cap);
	if (!s)
		return ss_error_set(err, -ENOMEM, 0, 0, "out of memory");
	len = (size_t)snprintf(s, cap, "%u dependencies\t:", n);
	for (d = t ? t->devices : NULL; d; d = d->next) {
		unsigned major, minor;

		dm_registry_devno(reg, d->bdev, &major, &minor);
		len += (size_t)snprintf(s + len, cap - len, " (%u, %u)", major, minor);
	}
	snprintf(s + len, cap - len, "\n");
	*out = s;
	return 0;
}

int dm_info_text(struct dm_registry *reg, const char *name, char **out,
		 struct ss_error *err)
{
	struct dm_device *md = lookup(reg, name, err);
	const char *tables;
	size_t cap = 512 + 2 * sizeof(md->uuid);
	char *s;
	int n;

	if (!md)
		return -ENXIO;
	if (md->live)
		tables = md->inactive ? "LIVE & INACTIVE" : "LIVE";
	else
		tables = md->inactive ? "INACTIVE" : "None";
	s = malloc(cap);
	if (!s)
		return ss_error_set(err, -ENOMEM, 0, 0, "out of memory");
	/* Labels are padded to 19 columns: values start in column 20. */
	n = snprintf(s, cap,
		     "Name:              %s\n"
		     "State:             %s%s\n"
		     "Read Ahead:        256\n"
		     "Tables present:    %s\n"
		     "Open count:        %u\n"
		     "Event number:      %u\n"
		     "Major, minor:      %u, %u\n"
		     "Number of targets: %u\n",
		     md->base.name, md->suspended ? "SUSPENDED" : "ACTIVE",
		     md->read_only ? " (READ-ONLY)" : "", tables,
		     md->base.open_count, md->event_nr, DM_MAJOR, md->minor,
		     md->live ? md->live->num_targets : 0);
	if (md->uuid[0])
		n += snprintf(s + n, cap - (size_t)n, "UUID: %s\n", md->uuid);
	snprintf(s + n, cap - (size_t)n, "\n");
	*out = s;
	return 0;
}
