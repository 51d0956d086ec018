/*
 * replay_restart.c - the world after a power cut: a new world over forks of
 * the crashed disks, the model put through its crash, and every dm device
 * brought back with its live table, dependencies first (as a reboot's
 * activation would).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_impl.h"
#include "sim_image.h"
#include "replay_rec.h"

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

static int restart_from(struct replay_world *w, const struct replay_survivors *surv,
			struct replay_rec *rec, struct replay_world **out, char *errbuf, size_t len)
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
	/* Nobody reads a restarted world's event log or its hash. */
	sim_sched_set_fingerprint(&nw->sched, false);
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
		/* The model's clone reads never-written sectors from the image. */
		if ((nw->disks[i].image = w->disks[i].image))
			sim_image_get(nw->disks[i].image);
		nw->disks[i].held_cow = w->disks[i].held_cow;
		r = rp_disk_setup(nw, i, fd, NULL, errbuf, len);
		if (r) {
			replay_world_destroy(nw);
			return r;
		}
	}
	nw->rec = rec; /* activation's reads are control */
	r = rebuild_stack(w, nw, errbuf, len);
	if (r) {
		replay_world_destroy(nw);
		return r;
	}
	if (rec)
		rp_rec_started(rec, nw->model);
	*out = nw;
	return 0;
}

int replay_world_restart_from(struct replay_world *w, const struct replay_survivors *surv,
			      struct replay_world **out, char *errbuf, size_t len)
{
	return restart_from(w, surv, NULL, out, errbuf, len);
}

static int restart_crashed(struct replay_world *w, struct sim_disk **crashed,
			   struct replay_rec *rec, struct replay_world **out, char *errbuf,
			   size_t len)
{
	struct replay_world *nw;
	struct sim_disk *orig[TRACE_MAX_DISKS];
	int r;

	*out = NULL;
	if (w->nr_disks > TRACE_MAX_DISKS)
		return -EINVAL;
	for (unsigned i = 0; i < w->nr_disks; i++)
		if (!crashed[i])
			return -EINVAL;
	if (rec) {
		r = replay_rec_attach(rec, crashed, w->nr_disks);
		if (r)
			return r;
	}
	for (unsigned i = 0; i < w->nr_disks; i++) {
		orig[i] = w->disks[i].disk;
		w->disks[i].disk = crashed[i];
	}
	/* Fork from the crashed disks (no survivors: their images as they are). */
	r = restart_from(w, NULL, rec, &nw, errbuf, len);
	for (unsigned i = 0; i < w->nr_disks; i++)
		w->disks[i].disk = orig[i];
	if (r)
		return r;
	*out = nw;
	return 0;
}

int replay_world_restart(struct replay_world *w, struct sim_disk **crashed,
			 struct replay_world **out, char *errbuf, size_t len)
{
	return restart_crashed(w, crashed, NULL, out, errbuf, len);
}

int replay_world_restart_rec(struct replay_world *w, struct sim_disk **crashed,
			     struct replay_rec *rec, struct replay_world **out, char *errbuf,
			     size_t len)
{
	return restart_crashed(w, crashed, rec, out, errbuf, len);
}
