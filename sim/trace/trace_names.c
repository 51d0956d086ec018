/*
 * trace_names.c - the names a trace has defined so far: its disks (by name
 * or path, from the header) and the dm devices created by earlier steps
 * (by name or /dev/mapper/NAME). Steps and dm commands check the devices
 * they use against these.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace_impl.h"

const struct trace_disk *trace_find_disk(const struct trace_ctx *c, const char *name)
{
	for (unsigned i = 0; c->hdr && i < c->hdr->nr_disks; i++)
		if (!strcmp(c->hdr->disks[i].name, name) || !strcmp(c->hdr->disks[i].path, name))
			return &c->hdr->disks[i];
	return NULL;
}

static const char *strip_mapper(const char *name)
{
	static const char prefix[] = "/dev/mapper/";

	if (!strncmp(name, prefix, sizeof(prefix) - 1))
		return name + sizeof(prefix) - 1;
	return name;
}

bool trace_dm_defined(const struct trace_ctx *c, const char *name)
{
	name = strip_mapper(name);
	for (unsigned i = 0; i < c->nr_dm_names; i++)
		if (!strcmp(c->dm_names[i], name))
			return true;
	return false;
}

int trace_dm_define(struct trace_ctx *c, const char *name)
{
	char *copy;

	if (trace_dm_defined(c, name))
		return 0;
	if (c->nr_dm_names == c->cap_dm_names) {
		unsigned cap = c->cap_dm_names ? c->cap_dm_names * 2 : 8;
		char **v = realloc(c->dm_names, cap * sizeof(*v));

		if (!v)
			return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
		c->dm_names = v;
		c->cap_dm_names = cap;
	}
	copy = strdup(strip_mapper(name));
	if (!copy)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	c->dm_names[c->nr_dm_names++] = copy;
	return 0;
}

void trace_dm_undefine(struct trace_ctx *c, const char *name)
{
	name = strip_mapper(name);
	for (unsigned i = 0; i < c->nr_dm_names; i++)
		if (!strcmp(c->dm_names[i], name)) {
			free(c->dm_names[i]);
			c->dm_names[i] = c->dm_names[--c->nr_dm_names];
			return;
		}
}

bool trace_dev_known(const struct trace_ctx *c, const char *name)
{
	return trace_find_disk(c, name) || trace_dm_defined(c, name);
}
