/*
 * dm_lookup.c - what a registry knows and how tables and targets find it:
 * external devices, target types by name, mapped devices by name, uuid
 * or number, the device numbers tables print, and the slot the snapshot
 * targets keep their origin registry in.
 *
 * It sits below the table language (dm_table.c) and the targets, and
 * dm_registry.c's verbs build on it, so none of them calls back into a
 * file that calls it.
 */
#include "dm_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- external devices ---- */

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

/* ---- target types ---- */

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

/* ---- the snapshot targets' slot ---- */

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

bool dm_is_suspended(struct dm_registry *reg, const char *name)
{
	struct dm_device *md = dm_find_device(reg, name);

	return md && md->suspended;
}
