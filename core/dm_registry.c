/*
 * dm_registry.c - the registry of mapped devices, external devices and
 * target types, and dmsetup's verbs (create, load, clear, suspend, resume,
 * remove) and outputs (table, status, deps, info, targets).
 *
 * Every verb checks everything it can before it changes anything, so a
 * failed verb leaves the registry as it was (spec 6.2: "a failed load
 * changes nothing"). The exceptions are the ones Linux has (spec 6.4): a
 * resume whose bind check fails has already suspended the device and
 * destroys the new table; a resume whose pre-resume hook fails leaves the
 * new table live and the device suspended.
 */
#include "dm_internal.h"
#include "dm_snap.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Target types every registry knows, in registration order (Linux
 * registers error, then linear; zero is a module loaded later).
 * `dmsetup targets` lists them newest first, as Linux does.
 * The snapshot targets add themselves in dm_registry_create() below.
 */
static const struct target_type *const builtin_targets[] = {
	&dm_error_target,
	&dm_linear_target,
	&dm_zero_target,
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
	/* Snapshot targets (snapshot-origin, snapshot, snapshot-merge). */
	if (dm_snap_register_targets(reg)) {
		dm_registry_destroy(reg);
		return NULL;
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

struct dm_ext_dev *dm_registry_find_ext(struct dm_registry *reg,
					const char *name)
{
	for (struct dm_ext_dev *e = reg->ext; e; e = e->next)
		if (!strcmp(e->bdev->name, name))
			return e;
	return NULL;
}

int dm_registry_add_bdev(struct dm_registry *reg, struct bdev *bd,
			 struct ss_error *err)
{
	struct dm_ext_dev *e, **tail;

	if (!bd->name[0])
		return ss_error_set(err, -EINVAL, 0, 0,
				    "a device needs a name to be used by tables");
	if (dm_registry_find_ext(reg, bd->name))
		return ss_error_set(err, -EEXIST, 0, 0,
				    "a device named '%s' is already registered",
				    bd->name);
	e = calloc(1, sizeof(*e));
	if (!e)
		return ss_error_set(err, -ENOMEM, 0, 0, "out of memory");
	e->bdev = bd;
	e->minor = reg->num_ext++;
	for (tail = &reg->ext; *tail; tail = &(*tail)->next)
		;
	*tail = e;
	return 0;
}

int dm_registry_register_target(struct dm_registry *reg,
				const struct target_type *tt)
{
	assert(tt->name && tt->ctr && tt->map);
	if (dm_registry_find_target(reg, tt->name))
		return -EEXIST;
	if (reg->num_types == reg->cap_types) {
		unsigned cap = reg->cap_types ? reg->cap_types * 2 : 8;
		const struct target_type **p = realloc(reg->types, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		reg->types = p;
		reg->cap_types = cap;
	}
	reg->types[reg->num_types++] = tt;
	return 0;
}

const struct target_type *dm_registry_find_target(struct dm_registry *reg,
						  const char *name)
{
	for (unsigned i = 0; i < reg->num_types; i++)
		if (!strcmp(reg->types[i]->name, name))
			return reg->types[i];
	return NULL;
}

char *dm_registry_targets_text(struct dm_registry *reg)
{
	size_t cap = 64 * (size_t)(reg->num_types + 1), len = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[0] = '\0';
	for (unsigned i = reg->num_types; i-- > 0;) {
		const struct target_type *tt = reg->types[i];
		int n = snprintf(s + len, cap - len, "%-16s v%u.%u.%u\n", tt->name,
				 tt->version[0], tt->version[1], tt->version[2]);

		if (n < 0 || (size_t)n >= cap - len) {
			free(s);
			return NULL; /* a name longer than 30 bytes: not ours */
		}
		len += (size_t)n;
	}
	return s;
}

/*
 * The slot holds the snapshot code's origin registry. dtr is in/out: a
 * non-NULL *dtr is recorded as the slot's destructor, and *dtr is then
 * set to the recorded destructor (so callers may also just read it).
 */
void **dm_registry_snap_slot(struct dm_registry *reg, void (**dtr)(void *))
{
	if (dtr) {
		if (*dtr)
			reg->snap_dtr = *dtr;
		*dtr = reg->snap_dtr;
	}
	return &reg->snap_slot;
}

/* ---- device lookup ---- */

struct dm_device *dm_find_device(struct dm_registry *reg, const char *name)
{
	for (struct dm_device *md = reg->devices; md; md = md->next)
		if (!strcmp(md->base.name, name))
			return md;
	return NULL;
}

struct dm_device *dm_find_device_by_uuid(struct dm_registry *reg,
					const char *uuid)
{
	for (struct dm_device *md = reg->devices; md; md = md->next)
		if (md->uuid[0] && !strcmp(md->uuid, uuid))
			return md;
	return NULL;
}

struct dm_device *dm_find_device_by_minor(struct dm_registry *reg,
					 unsigned minor)
{
	for (struct dm_device *md = reg->devices; md; md = md->next)
		if (md->minor == minor)
			return md;
	return NULL;
}

/* Parse "M:m" (two plain decimal numbers). */
static bool parse_devno(const char *path, unsigned *major, unsigned *minor)
{
	const char *colon = strchr(path, ':');
	char buf[24];
	uint64_t ma, mi;
	size_t n;

	if (!colon)
		return false;
	n = (size_t)(colon - path);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, path, n);
	buf[n] = '\0';
	if (dm_parse_u64(buf, UINT32_MAX, &ma) ||
	    dm_parse_u64(colon + 1, UINT32_MAX, &mi))
		return false;
	*major = (unsigned)ma;
	*minor = (unsigned)mi;
	return true;
}

struct bdev *dm_registry_resolve(struct dm_registry *reg, const char *path,
				 char *detail, size_t detail_len)
{
	static const char mapper[] = "/dev/mapper/";
	struct dm_ext_dev *e = dm_registry_find_ext(reg, path);
	unsigned major, minor;

	if (e)
		return e->bdev;
	if (!strncmp(path, mapper, sizeof(mapper) - 1)) {
		struct dm_device *md = dm_find_device(reg, path + sizeof(mapper) - 1);

		if (md)
			return &md->base;
		snprintf(detail, detail_len, "no mapped device named '%s'",
			 path + sizeof(mapper) - 1);
		return NULL;
	}
	if (parse_devno(path, &major, &minor)) {
		if (major == DM_MAJOR) {
			struct dm_device *md =
				dm_find_device_by_minor(reg, minor);

			if (md)
				return &md->base;
		} else if (major == DM_EXT_MAJOR) {
			for (e = reg->ext; e; e = e->next)
				if (e->minor == minor)
					return e->bdev;
		}
		snprintf(detail, detail_len, "no device with number %u:%u",
			 major, minor);
		return NULL;
	}
	if (dm_find_device(reg, path))
		snprintf(detail, detail_len,
			 "no device named '%s'; the mapped device is /dev/mapper/%s",
			 path, path);
	else
		snprintf(detail, detail_len, "no device named '%s'", path);
	return NULL;
}

void dm_registry_devno(struct dm_registry *reg, const struct bdev *bd,
		       unsigned *major, unsigned *minor)
{
	if (dm_bdev_is_dm(bd)) {
		*major = DM_MAJOR;
		*minor = ((const struct dm_device *)bd)->minor;
		return;
	}
	for (struct dm_ext_dev *e = reg->ext; e; e = e->next) {
		if (e->bdev == bd) {
			*major = DM_EXT_MAJOR;
			*minor = e->minor;
			return;
		}
	}
	assert(!"device not known to the registry");
	*major = *minor = 0;
}

static struct dm_device *lookup(struct dm_registry *reg, const char *name,
				struct ss_error *err)
{
	struct dm_device *md = name ? dm_find_device(reg, name) : NULL;

	if (!md)
		ss_error_set(err, -ENXIO, 0, 0, "device '%s' does not exist",
			     name ? name : "(null)");
	return md;
}

/* ---- verbs ---- */

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

bool dm_is_suspended(struct dm_registry *reg, const char *name)
{
	struct dm_device *md = dm_find_device(reg, name);

	return md && md->suspended;
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
