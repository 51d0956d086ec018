/*
 * replay_world.c - the replayer's world: disks (sim disk, optional fault
 * wrapper, completion tap), the dm registry, the model; the record of each
 * dm device's live table (what a restart rebuilds); restart and teardown.
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

/* ---- restart ---- */

/* Whether table text references dm device name. */
static bool refers_to(const char *table, const char *name)
{
	char pat[TRACE_NAME_MAX + 16];
	const char *p = table;
	size_t n;

	snprintf(pat, sizeof(pat), "/dev/mapper/%s", name);
	n = strlen(pat);
	while ((p = strstr(p, pat))) {
		if (p[n] == 0 || p[n] == ' ' || p[n] == '\n' || p[n] == '\t')
			return true;
		p += n;
	}
	return false;
}

/* The COW argument of a one-line table of the given type, or false. */
static bool snap_cow(const char *table, const char *type, char *cow, size_t len)
{
	char t[32], origin[160], c[160];

	if (sscanf(table, "%*s %*s %31s %159s %159s", t, origin, c) != 3 || strcmp(t, type))
		return false;
	snprintf(cow, len, "%.*s", (int)(len ? len - 1 : 0), c);
	return true;
}

static void errcat(char *errbuf, size_t len, const char *fmt, const char *a, const char *b)
{
	size_t used = strlen(errbuf);

	if (used + 3 >= len)
		return;
	if (used) {
		snprintf(errbuf + used, len - used, "; ");
		used += 2;
	}
	snprintf(errbuf + used, len - used, fmt, a, b);
}

static int rebuild_stack(struct replay_world *src, struct replay_world *nw, char *errbuf,
			 size_t len)
{
	unsigned n = src->nr_devs;
	bool *done = calloc(n ? n : 1, sizeof(*done));
	struct ss_error err;

	if (!done)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		ss_error_clear(&err);
		if (dm_create(nw->reg, src->devs[i].name, NULL, NULL, 0, &err)) {
			errcat(errbuf, len, "create %s: %s", src->devs[i].name, err.msg);
			done[i] = true;
			continue;
		}
		struct rp_dev *nd = rp_dev_add(nw, src->devs[i].name);

		if (!nd) {
			free(done);
			return -ENOMEM;
		}
		/* Its store's bytes are there even when the snapshot does not come back. */
		nd->held_cow = src->devs[i].held_cow;
		if (!src->devs[i].live)
			done[i] = true;
	}
	/* A snapshot whose COW a snapshot-merge took over by handover is not
	 * brought back (as LVM activates only the merge after a reboot). */
	for (unsigned i = 0; i < n; i++) {
		char cow[TRACE_NAME_MAX + 16];

		if (done[i] || !snap_cow(src->devs[i].live, "snapshot", cow, sizeof(cow)))
			continue;
		for (unsigned j = 0; j < n; j++) {
			char mcow[TRACE_NAME_MAX + 16];

			if (j != i && src->devs[j].live &&
			    snap_cow(src->devs[j].live, "snapshot-merge", mcow, sizeof(mcow)) &&
			    !strcmp(cow, mcow))
				done[i] = true;
		}
	}
	/* Dependencies first; snapshot-origin and snapshot-merge after the snapshots. */
	for (;;) {
		int pick = -1;

		for (int pass = 0; pass < 2 && pick < 0; pass++) {
			for (unsigned i = 0; i < n && pick < 0; i++) {
				const char *t = src->devs[i].live;
				bool ready = true, origin;

				if (done[i])
					continue;
				origin = strstr(t, " snapshot-origin ") || strstr(t, " snapshot-merge ");
				if (pass == 0 && origin)
					continue;
				for (unsigned j = 0; j < n && ready; j++)
					if (j != i && !done[j] && refers_to(t, src->devs[j].name))
						ready = false;
				if (ready)
					pick = (int)i;
			}
		}
		if (pick < 0)
			break;
		done[pick] = true;
		const char *name = src->devs[pick].name;

		ss_error_clear(&err);
		if (dm_load(nw->reg, name, src->devs[pick].live, 0, &err) ||
		    dm_resume(nw->reg, name, 0, &err)) {
			errcat(errbuf, len, "activate %s: %s", name, err.msg);
			continue;
		}
		struct rp_dev *d = rp_dev_find(nw, name);

		if (d && rp_dev_refresh(nw, d, true)) {
			errcat(errbuf, len, "model %s: %s", name, nw->fail);
			nw->failed = false;
			nw->fail[0] = 0;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (!done[i])
			errcat(errbuf, len, "%s: %s", src->devs[i].name,
			       "its table depends on a device that did not come back");
	free(done);
	return 0;
}

int replay_world_restart_from(struct replay_world *w, const struct replay_survivors *surv,
			      struct replay_world **out, char *errbuf, size_t len)
{
	struct replay_world *nw;
	int r;

	*out = NULL;
	if (errbuf && len)
		errbuf[0] = 0;
	nw = rp_world_alloc(w->seed, w->trace, w->opts, w->nr_disks);
	if (!nw)
		return -ENOMEM;
	nw->log = NULL;
	sim_sched_set_log(&nw->sched, NULL, NULL);
	model_destroy(nw->model);
	nw->model = model_clone(w->model);
	if (!nw->model) {
		replay_world_destroy(nw);
		return -ENOMEM;
	}
	model_crash(nw->model);
	for (unsigned i = 0; i < w->nr_disks; i++) {
		struct sim_disk_fork_opts fo = { .name = w->disks[i].name, .sched = &nw->sched };
		struct sim_disk *fd;

		snprintf(nw->disks[i].name, sizeof(nw->disks[i].name), "%s", w->disks[i].name);
		snprintf(nw->disks[i].path, sizeof(nw->disks[i].path), "%s", w->disks[i].path);
		r = sim_disk_fork(w->disks[i].disk, surv ? surv[i].writes : NULL,
				  surv ? surv[i].nr : 0, &fo, &fd);
		if (r) {
			replay_world_destroy(nw);
			return r;
		}
		nw->nr_disks = i + 1;
		nw->disks[i].used = w->disks[i].used;
		nw->disks[i].held_cow = w->disks[i].held_cow;
		r = rp_disk_setup(nw, i, fd, NULL, errbuf, len);
		if (r) {
			replay_world_destroy(nw);
			return r;
		}
	}
	r = rebuild_stack(w, nw, errbuf, len);
	if (r) {
		replay_world_destroy(nw);
		return r;
	}
	*out = nw;
	return 0;
}

int replay_world_restart(struct replay_world *w, struct sim_disk **crashed,
			 struct replay_world **out, char *errbuf, size_t len)
{
	struct replay_world *nw;
	struct sim_disk *orig[TRACE_MAX_DISKS];
	int r;

	*out = NULL;
	if (w->nr_disks > TRACE_MAX_DISKS)
		return -EINVAL;
	for (unsigned i = 0; i < w->nr_disks; i++) {
		if (!crashed[i])
			return -EINVAL;
		orig[i] = w->disks[i].disk;
		w->disks[i].disk = crashed[i];
	}
	/* Fork from the crashed disks (no survivors: their images as they are). */
	r = replay_world_restart_from(w, NULL, &nw, errbuf, len);
	for (unsigned i = 0; i < w->nr_disks; i++)
		w->disks[i].disk = orig[i];
	if (r)
		return r;
	*out = nw;
	return 0;
}
