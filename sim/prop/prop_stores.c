/*
 * prop_stores.c - the property PROP_STORES (prop.h) over one rendered
 * trace: run it as written (persistent stores) and with every snapshot
 * transient, then compare what every device reads at the end, sector by
 * sector.
 */
#include "prop_props.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bdev.h"
#include "dm.h"
#include "hash.h"
#include "replay.h"
#include "sim_sched.h"
#include "ss_error.h"

#define PROP_READ_SECTORS 64

struct read_wait {
	bool done;
	int status;
};

static void read_done(struct bio *bio, int status)
{
	struct read_wait *rw = bio->private;

	rw->status = status;
	rw->done = true;
}

/*
 * Per-sector hashes of dm device name (EIO reads hash to 1). Runs the
 * world's scheduler: used only at the END point, after the last step,
 * when nothing of the trace is left to run.
 */
static int read_hashes(struct replay_world *w, const char *name, uint64_t **out, sector_t *nr)
{
	struct dm_device *md = dm_find_device(replay_world_registry(w), name);
	struct bdev *bd = md ? dm_device_bdev(md) : NULL;
	uint8_t *buf = malloc(PROP_READ_SECTORS * 512);
	uint64_t *h;

	if (!bd || !buf) {
		free(buf);
		return -ENOENT;
	}
	*nr = bd->size_sectors;
	h = calloc(*nr ? *nr : 1, sizeof(*h));
	if (!h) {
		free(buf);
		return -ENOMEM;
	}
	for (sector_t s = 0; s < *nr; s += PROP_READ_SECTORS) {
		struct read_wait rw = { 0 };
		uint32_t n = (uint32_t)(*nr - s < PROP_READ_SECTORS ? *nr - s : PROP_READ_SECTORS);
		struct bio bio = { .bdev = bd, .op = BIO_READ, .sector = s, .nr_sectors = n,
				   .data = buf, .done = read_done, .private = &rw };
		uint64_t budget = 10000000;

		bdev_submit(&bio);
		while (!rw.done && budget-- && sim_sched_run_one(replay_world_sched(w)))
			;
		if (!rw.done) {
			free(buf);
			free(h);
			return -ETIME;
		}
		for (uint32_t i = 0; i < n; i++)
			h[s + i] = rw.status ? 1 : sim_hash_bytes(buf + (size_t)i * 512, 512, 0);
	}
	free(buf);
	*out = h;
	return 0;
}

struct dev_image {
	char name[32];
	uint64_t *h;
	sector_t nr;
};

struct images {
	unsigned n;
	struct dev_image d[PROP_MAX_DEVS];
	int err;
};

static int images_hook(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	struct images *im = ctx;

	if (cp->kind != REPLAY_CRASH_END)
		return 0;
	for (unsigned i = 0; i < replay_world_nr_devs(w) && im->n < PROP_MAX_DEVS; i++) {
		struct dev_image *d = &im->d[im->n];

		if (!replay_world_dev_table(w, i)[0])
			continue;
		snprintf(d->name, sizeof(d->name), "%s", replay_world_dev_name(w, i));
		im->err = read_hashes(w, d->name, &d->h, &d->nr);
		if (im->err)
			return 0;
		im->n++;
	}
	return 0;
}

static void images_free(struct images *im)
{
	for (unsigned i = 0; i < im->n; i++)
		free(im->d[i].h);
	im->n = 0;
}

/* The same trace with every persistent snapshot made transient. */
static char *to_transient(const char *buf)
{
	char *t = strdup(buf);

	if (!t)
		return NULL;
	for (char *p = t; (p = strstr(p, "/dev/c")); p++) {
		/* "/dev/cK P " -> "/dev/cK N " in snapshot tables */
		if (p[6] && p[7] == ' ' && p[8] == 'P' && p[9] == ' ')
			p[8] = 'N';
	}
	return t;
}

int prop_stores_run(const char *buf, size_t len, uint64_t seed, char *msg, size_t msglen)
{
	char *tbuf = to_transient(buf);
	struct images im[2] = { 0 };
	int cls = 0;

	if (!tbuf)
		return -ENOMEM;
	for (int v = 0; v < 2 && !cls; v++) {
		struct replay_opts ro = { .has_seed = true, .seed = seed, .defer_shuffle = seed & 1,
					  .crash_modes = REPLAY_CRASH_END, .crash_hook = images_hook,
					  .crash_ctx = &im[v] };
		struct replay_result *res = calloc(1, sizeof(*res));
		struct trace_error err;

		if (!res) {
			cls = -ENOMEM;
			break;
		}
		if (replay_run_mem("prop", v ? tbuf : buf, v ? strlen(tbuf) : len, &ro, res, &err) !=
		    REPLAY_PASS) {
			char cut[1000];

			snprintf(msg, msglen, "store %s: %s", v ? "N" : "P",
				 ss_elide(cut, sizeof(cut), res->failure));
			cls = 2;
		} else if (im[v].err) {
			snprintf(msg, msglen, "store %s: reading the devices at the end: error %d",
				 v ? "N" : "P", im[v].err);
			cls = 3;
		}
		free(res);
	}
	if (!cls && im[0].n != im[1].n) {
		snprintf(msg, msglen, "P ends with %u devices, N with %u", im[0].n, im[1].n);
		cls = 1;
	}
	for (unsigned i = 0; !cls && i < im[0].n; i++) {
		const struct dev_image *a = &im[0].d[i], *b = &im[1].d[i];

		if (strcmp(a->name, b->name) || a->nr != b->nr) {
			snprintf(msg, msglen, "device %s (%" PRIu64 " sectors) under P, %s (%" PRIu64
				 ") under N", a->name, (uint64_t)a->nr, b->name, (uint64_t)b->nr);
			cls = 1;
			break;
		}
		for (sector_t s = 0; s < a->nr; s++)
			if (a->h[s] != b->h[s]) {
				snprintf(msg, msglen, "device %s sector %" PRIu64
					 ": P and N stores read different data", a->name, (uint64_t)s);
				cls = 1;
				break;
			}
	}
	images_free(&im[0]);
	images_free(&im[1]);
	free(tbuf);
	return cls;
}
