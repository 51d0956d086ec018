/*
 * replay_devs.c - what the replayer knows of its dm devices: the record of
 * each one's live table (what a restart rebuilds), the model told of every
 * table change, merges that finished and snapshots an I/O error
 * invalidated, which disks and devices hold a COW store, and trace names
 * resolved to disks and dm devices.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_impl.h"

/* ---- names ---- */

int rp_disk_index(const struct replay_world *w, const char *name)
{
	for (unsigned i = 0; i < w->nr_disks; i++) {
		const struct rp_disk *d = &w->disks[i];

		if (!strcmp(d->name, name) || !strcmp(d->path, name) ||
		    (!strncmp(name, "/dev/", 5) && !strcmp(d->name, name + 5)))
			return (int)i;
	}
	return -1;
}

struct rp_dev *rp_dev_find(struct replay_world *w, const char *name)
{
	if (!strncmp(name, "/dev/mapper/", 12))
		name += 12;
	for (unsigned i = 0; i < w->nr_devs; i++)
		if (!strcmp(w->devs[i].name, name))
			return &w->devs[i];
	return NULL;
}

struct rp_dev *rp_dev_add(struct replay_world *w, const char *name)
{
	struct rp_dev *d = rp_dev_find(w, name);

	if (d)
		return d;
	if (w->nr_devs == w->cap_devs) {
		unsigned cap = w->cap_devs ? 2 * w->cap_devs : 8;
		struct rp_dev *n = realloc(w->devs, cap * sizeof(*n));

		if (!n)
			return NULL;
		w->devs = n;
		w->cap_devs = cap;
	}
	d = &w->devs[w->nr_devs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	return d;
}

void rp_dev_forget(struct replay_world *w, const char *name)
{
	struct rp_dev *d = rp_dev_find(w, name);

	if (!d)
		return;
	free(d->live);
	unsigned i = (unsigned)(d - w->devs);

	memmove(&w->devs[i], &w->devs[i + 1], (w->nr_devs - i - 1) * sizeof(*d));
	w->nr_devs--;
}

struct bdev *rp_resolve(struct replay_world *w, const char *name, char *model_name,
			size_t len, bool *is_dm)
{
	const char *n = name;
	int di;

	if (!strncmp(n, "/dev/mapper/", 12))
		n += 12;
	struct dm_device *md = dm_find_device(w->reg, n);

	if (md) {
		snprintf(model_name, len, "%s", n);
		*is_dm = true;
		return dm_device_bdev(md);
	}
	di = rp_disk_index(w, name);
	if (di < 0)
		return NULL;
	snprintf(model_name, len, "%s", w->disks[di].name);
	*is_dm = false;
	return &w->disks[di].tap.base;
}

/* ---- tables ---- */

/* Append s[0..n) to a growing string. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;

		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

char *rp_table_names(struct replay_world *w, const char *text)
{
	struct sbuf b = { 0 };
	const char *p = text;

	sb_add(&b, "", 0);
	while (*p) {
		size_t n = strcspn(p, " \t\n");
		unsigned maj, min;
		char tail;
		char tok[64];
		bool done = false;

		if (n && n < sizeof(tok)) {
			memcpy(tok, p, n);
			tok[n] = 0;
			if (sscanf(tok, "%u:%u%c", &maj, &min, &tail) == 2 && maj == DM_MAJOR) {
				for (unsigned i = 0; i < w->nr_devs; i++) {
					struct dm_device *md = dm_find_device(w->reg, w->devs[i].name);

					if (md && dm_device_minor(md) == min) {
						sb_add(&b, "/dev/mapper/", 12);
						sb_add(&b, w->devs[i].name, strlen(w->devs[i].name));
						done = true;
						break;
					}
				}
			}
		}
		if (!done)
			sb_add(&b, p, n);
		p += n;
		if (*p) {
			sb_add(&b, p, 1);
			p++;
		}
	}
	while (b.len && b.p[b.len - 1] == '\n')
		b.p[--b.len] = 0;
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Parse one name-form table into model segments (strings point into copy). */
static int table_segments(struct replay_world *w, char *copy, struct model_segment **out,
			  unsigned *nout)
{
	unsigned cap = 4, n = 0;
	struct model_segment *segs = calloc(cap, sizeof(*segs));
	char *save = NULL;

	if (!segs)
		return -ENOMEM;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *argv[16];
		unsigned argc = 0;
		char *s2 = NULL;

		for (char *t = strtok_r(line, " \t", &s2); t && argc < 16;
		     t = strtok_r(NULL, " \t", &s2))
			argv[argc++] = t;
		if (argc < 3)
			continue;
		if (n == cap) {
			struct model_segment *ns = realloc(segs, 2 * cap * sizeof(*ns));

			if (!ns) {
				free(segs);
				return -ENOMEM;
			}
			segs = ns;
			cap *= 2;
		}
		struct model_segment *sg = &segs[n];

		memset(sg, 0, sizeof(*sg));
		sg->start = strtoull(argv[0], NULL, 10);
		sg->len = strtoull(argv[1], NULL, 10);
		/* Disks by their model name. */
		for (unsigned a = 3; a < argc; a++) {
			int di = rp_disk_index(w, argv[a]);

			if (di >= 0 && strncmp(argv[a], "/dev/mapper/", 12))
				argv[a] = w->disks[di].name;
		}
		if (!strcmp(argv[2], "linear") && argc >= 5) {
			sg->type = MODEL_T_LINEAR;
			sg->dev = argv[3];
			sg->offset = strtoull(argv[4], NULL, 10);
		} else if (!strcmp(argv[2], "zero")) {
			sg->type = MODEL_T_ZERO;
		} else if (!strcmp(argv[2], "error")) {
			sg->type = MODEL_T_ERROR;
		} else if (!strcmp(argv[2], "snapshot-origin") && argc >= 4) {
			sg->type = MODEL_T_ORIGIN;
			sg->dev = argv[3];
		} else if ((!strcmp(argv[2], "snapshot") || !strcmp(argv[2], "snapshot-merge")) &&
			   argc >= 7) {
			sg->type = argv[2][8] ? MODEL_T_MERGE : MODEL_T_SNAPSHOT;
			sg->dev = argv[3];
			sg->cow = argv[4];
			sg->persistent = argv[5][0] == 'P' || argv[5][0] == 'p';
			sg->overflow_mode = sg->persistent && (argv[5][1] == 'O' || argv[5][1] == 'o');
			sg->chunk_sectors = (uint32_t)strtoul(argv[6], NULL, 10);
		} else {
			free(segs);
			return -EINVAL;
		}
		n++;
	}
	*out = segs;
	*nout = n;
	return 0;
}

int rp_dev_refresh(struct replay_world *w, struct rp_dev *d, bool force)
{
	struct ss_error err;
	char *text = NULL, *names;
	struct model_segment *segs = NULL;
	unsigned n = 0;
	int r;

	ss_error_clear(&err);
	if (!dm_find_device(w->reg, d->name))
		return 0;
	if (dm_device_num_targets(dm_find_device(w->reg, d->name)) == 0) {
		names = NULL;
	} else {
		if (dm_table_text(w->reg, d->name, false, &text, &err)) {
			rp_fail(w, w->step_line, "table of %s cannot be read: %s", d->name, err.msg);
			return -EIO;
		}
		names = rp_table_names(w, text);
		free(text);
		if (!names) {
			rp_fail(w, w->step_line, "out of memory");
			return -ENOMEM;
		}
	}
	if (!force && ((!names && !d->live) || (names && d->live && !strcmp(names, d->live)))) {
		free(names);
		return 0;
	}
	free(d->live);
	d->live = names;
	d->merge_done = false;
	for (unsigned i = 0; i < w->nr_disks; i++)
		if (rp_disk_referenced(w, i))
			w->disks[i].used = true;
	if (names && strstr(names, " snapshot")) {
		bool *dc = calloc(w->nr_devs ? w->nr_devs : 1, sizeof(*dc));
		bool *kc = calloc(w->nr_disks ? w->nr_disks : 1, sizeof(*kc));

		if (dc && kc && !replay_world_cow_holders(w, dc, kc)) {
			for (unsigned i = 0; i < w->nr_disks; i++)
				w->disks[i].held_cow |= kc[i];
			for (unsigned i = 0; i < w->nr_devs; i++)
				w->devs[i].held_cow |= dc[i];
		}
		free(dc);
		free(kc);
	}
	if (names) {
		char *copy = strdup(names);

		if (!copy) {
			rp_fail(w, w->step_line, "out of memory");
			return -ENOMEM;
		}
		r = table_segments(w, copy, &segs, &n);
		if (!r)
			r = model_dev_set(w->model, d->name, segs, n);
		free(segs);
		free(copy);
	} else {
		r = model_dev_set(w->model, d->name, NULL, 0);
	}
	if (r) {
		rp_fail(w, w->step_line, "the model cannot follow the table of %s (\"%s\"): %s",
			d->name, names ? names : "", strerror(-r));
		return r;
	}
	sim_sched_logf(&w->sched, "table %s: %s", d->name, names ? names : "(none)");
	return 0;
}

bool rp_snapshot_went_invalid(struct replay_world *w, const char *dev)
{
	struct ss_error err;
	char *st = NULL;
	bool inv = false;

	ss_error_clear(&err);
	if (!dm_find_device(w->reg, dev) || dm_status_text(w->reg, dev, false, &st, &err))
		return false;
	if (strstr(st, " snapshot Invalid") || strstr(st, " snapshot-merge Invalid")) {
		enum model_snap_state s = model_snapshot_state(w->model, dev);

		if (s == MODEL_SNAP_VALID || s == MODEL_SNAP_OVERFLOW) {
			model_snapshot_invalidate(w->model, dev);
			sim_sched_logf(&w->sched, "snapshot %s invalidated by an I/O error", dev);
		}
		inv = true;
	}
	free(st);
	return inv;
}

void rp_poll_invalid(struct replay_world *w)
{
	for (unsigned i = 0; i < w->nr_devs; i++)
		if (w->devs[i].live && strstr(w->devs[i].live, " snapshot "))
			rp_snapshot_went_invalid(w, w->devs[i].name);
}

int rp_poll_devices(struct replay_world *w)
{
	for (unsigned i = 0; i < w->nr_devs; i++) {
		struct rp_dev *d = &w->devs[i];
		struct ss_error err;
		char *st = NULL;
		unsigned long long a, t, m;

		if (!d->live)
			continue;
		if (strstr(d->live, " snapshot ") && w->faults)
			rp_snapshot_went_invalid(w, d->name);
		if (d->merge_done || !strstr(d->live, " snapshot-merge "))
			continue;
		ss_error_clear(&err);
		if (dm_status_text(w->reg, d->name, false, &st, &err))
			continue;
		const char *p = strstr(st, "snapshot-merge ");

		if (p && sscanf(p + 15, "%llu/%llu %llu", &a, &t, &m) == 3 && a == m) {
			d->merge_done = true;
			model_merge_done(w->model, d->name);
			sim_sched_logf(&w->sched, "merge on %s complete", d->name);
		}
		free(st);
	}
	return 0;
}

bool rp_disk_referenced(const struct replay_world *w, unsigned i)
{
	const char *path = w->disks[i].path;
	size_t n = strlen(path);

	for (unsigned k = 0; k < w->nr_devs; k++) {
		const char *t = w->devs[k].live, *p = t;

		while (p && (p = strstr(p, path))) {
			if ((p == t || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
				return true;
			p += n;
		}
	}
	return false;
}

/* ---- what holds a COW ---- */

/*
 * Mark what a table argument names, and everything below it, as holding a
 * COW: a disk, or a dm device and (through the devices its live table maps
 * to) the disks and devices under it.
 */
static void mark_cow(const struct replay_world *w, const char *arg, bool *dev_cow,
		     bool *disk_cow, int depth)
{
	int d = rp_disk_index(w, arg);
	const char *name = arg;

	if (d >= 0) {
		disk_cow[d] = true;
		return;
	}
	if (!strncmp(name, "/dev/mapper/", 12))
		name += 12;
	for (unsigned k = 0; k < w->nr_devs; k++) {
		const char *p = w->devs[k].live;

		if (strcmp(w->devs[k].name, name) || dev_cow[k])
			continue;
		dev_cow[k] = true;
		if (depth > 16)
			return;
		/* Every device argument of its live table: linear's 4th field. */
		while (p && *p) {
			char type[32], under[160];

			if (sscanf(p, "%*s %*s %31s %159s", type, under) == 2 &&
			    !strcmp(type, "linear"))
				mark_cow(w, under, dev_cow, disk_cow, depth + 1);
			p = strchr(p, '\n');
			if (p)
				p++;
		}
		return;
	}
}

int replay_world_cow_holders(const struct replay_world *w, bool *dev_cow, bool *disk_cow)
{
	memset(dev_cow, 0, (w->nr_devs ? w->nr_devs : 1) * sizeof(*dev_cow));
	memset(disk_cow, 0, (w->nr_disks ? w->nr_disks : 1) * sizeof(*disk_cow));
	for (unsigned k = 0; k < w->nr_devs; k++) {
		const char *p = w->devs[k].live;

		while (p && *p) {
			char type[32], origin[160], cow[160];

			if (sscanf(p, "%*s %*s %31s %159s %159s", type, origin, cow) == 3 &&
			    (!strcmp(type, "snapshot") || !strcmp(type, "snapshot-merge")))
				mark_cow(w, cow, dev_cow, disk_cow, 0);
			p = strchr(p, '\n');
			if (p)
				p++;
		}
	}
	/* A disk, or a dm device over it, keeps its store's bytes after the
	 * table that used it went (a finished merge swapped to linear, a
	 * removed snapshot, a snapshot whose header a power cut lost so it
	 * does not come back): the model never knew those bytes. */
	for (unsigned i = 0; i < w->nr_disks; i++)
		disk_cow[i] |= w->disks[i].held_cow;
	for (unsigned k = 0; k < w->nr_devs; k++)
		dev_cow[k] |= w->devs[k].held_cow;
	return 0;
}
