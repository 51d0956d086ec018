/*
 * dm_snap_registry.c - the snapshot targets' origin registry (spec 4.1):
 * for each origin block device (by identity), the snapshots constructed on
 * it, ordered by chunk size, largest first, equal sizes in registration
 * order; plus the live snapshot-origin targets by their device.
 *
 * One registry per dm_registry, hung on dm_registry_snap_slot(), so two
 * simulations in one process never see each other. Lists are short (a few
 * snapshots per origin), so plain singly-linked lists are used.
 */
#include "dm_snap.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

struct origin_target_entry {
	struct origin_target_entry *next;
	struct bdev *origin;
	struct dm_target *ti;
};

struct snap_registry {
	struct snap_origin *origins;
	struct origin_target_entry *targets;
};

/* Slot destructor, run by dm_registry_destroy. */
static void snap_registry_free(void *p)
{
	struct snap_registry *sr = p;

	if (!sr)
		return;
	/* Normally empty: every table was destroyed before the slot. */
	while (sr->origins) {
		struct snap_origin *o = sr->origins;

		sr->origins = o->next;
		for (struct snap_reg_node *n = o->snaps; n; n = n->next)
			n->origin = NULL;
		free(o);
	}
	while (sr->targets) {
		struct origin_target_entry *e = sr->targets;

		sr->targets = e->next;
		free(e);
	}
	free(sr);
}

struct snap_registry *snap_registry_get(struct dm_registry *reg, bool create)
{
	void (*dtr)(void *) = snap_registry_free;
	void **slot = dm_registry_snap_slot(reg, &dtr);

	if (!slot)
		return NULL;
	if (!*slot && create)
		*slot = calloc(1, sizeof(struct snap_registry));
	return *slot;
}

struct snap_origin *snap_registry_find_origin(struct snap_registry *sr,
					      struct bdev *bdev)
{
	if (!sr)
		return NULL;
	for (struct snap_origin *o = sr->origins; o; o = o->next)
		if (o->bdev == bdev)
			return o;
	return NULL;
}

/* Insert node at its ordered place: after every node with chunk >= its. */
static void origin_insert_ordered(struct snap_origin *o,
				  struct snap_reg_node *node)
{
	struct snap_reg_node **pp = &o->snaps;

	while (*pp && (*pp)->chunk_sectors >= node->chunk_sectors)
		pp = &(*pp)->next;
	node->next = *pp;
	*pp = node;
	node->origin = o;
}

int snap_registry_link(struct snap_registry *sr, struct bdev *origin,
		       struct snap_reg_node *node)
{
	struct snap_origin *o = snap_registry_find_origin(sr, origin);

	assert(!node->origin);
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o)
			return -ENOMEM;
		o->bdev = origin;
		o->next = sr->origins;
		sr->origins = o;
	}
	origin_insert_ordered(o, node);
	return 0;
}

static void origin_remove_node(struct snap_origin *o, struct snap_reg_node *node)
{
	for (struct snap_reg_node **pp = &o->snaps; *pp; pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			break;
		}
	}
	node->next = NULL;
	node->origin = NULL;
}

void snap_registry_unlink(struct snap_registry *sr, struct snap_reg_node *node)
{
	struct snap_origin *o = node->origin;

	if (!o)
		return;
	origin_remove_node(o, node);
	if (o->snaps || !sr)
		return;
	for (struct snap_origin **pp = &sr->origins; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			free(o);
			return;
		}
	}
}

void snap_registry_replace(struct snap_reg_node *node, uint32_t chunk_sectors)
{
	struct snap_origin *o = node->origin;

	node->chunk_sectors = chunk_sectors;
	if (!o)
		return;
	origin_remove_node(o, node);
	origin_insert_ordered(o, node);
}

uint32_t snap_origin_min_chunk(const struct snap_origin *o)
{
	uint32_t min = 0;

	if (!o)
		return 0;
	for (const struct snap_reg_node *n = o->snaps; n; n = n->next)
		if (n->chunk_sectors && (!min || n->chunk_sectors < min))
			min = n->chunk_sectors;
	return min;
}

unsigned snap_registry_cow_users(struct snap_registry *sr, struct bdev *cow,
				 const struct snap_reg_node *skip,
				 struct snap_reg_node **first)
{
	unsigned count = 0;

	if (first)
		*first = NULL;
	if (!sr)
		return 0;
	for (struct snap_origin *o = sr->origins; o; o = o->next) {
		for (struct snap_reg_node *n = o->snaps; n; n = n->next) {
			if (n == skip || n->cow != cow)
				continue;
			if (first && !*first)
				*first = n;
			count++;
		}
	}
	return count;
}

int snap_registry_add_origin_target(struct snap_registry *sr,
				    struct bdev *origin, struct dm_target *ti)
{
	struct origin_target_entry *e;

	for (e = sr->targets; e; e = e->next)
		if (e->ti == ti)
			return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->origin = origin;
	e->ti = ti;
	e->next = sr->targets;
	sr->targets = e;
	return 0;
}

void snap_registry_remove_origin_target(struct snap_registry *sr,
					struct dm_target *ti)
{
	if (!sr)
		return;
	for (struct origin_target_entry **pp = &sr->targets; *pp;
	     pp = &(*pp)->next) {
		if ((*pp)->ti == ti) {
			struct origin_target_entry *e = *pp;

			*pp = e->next;
			free(e);
			return;
		}
	}
}

struct dm_target *snap_registry_find_origin_target(struct snap_registry *sr,
						   struct bdev *origin)
{
	if (!sr)
		return NULL;
	for (struct origin_target_entry *e = sr->targets; e; e = e->next)
		if (e->origin == origin)
			return e->ti;
	return NULL;
}
