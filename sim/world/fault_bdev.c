/* fault_bdev.c - fault-injecting wrapper device; see fault_bdev.h. */
#include "fault_bdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "prng.h"

struct rule {
	struct sim_fault_rule r;
	uint64_t hits;
};

struct range {
	sector_t lo, hi; /* [lo, hi) */
};

struct sim_fault_bdev {
	struct bdev base;         /* must be first */
	struct bdev *lower;       /* not owned */
	struct sim_sched *s;
	struct sim_prng prng;     /* SIM_STREAM_FAULTS */
	struct rule *rules;
	size_t nr_rules;
	struct range *latent;     /* disjoint, unordered */
	size_t nr_latent;
	struct sim_fault_stats st;
};

/* A forwarded request: the clone the lower device completes. */
struct fwd {
	struct bio clone;
	struct bio *orig;
	struct sim_fault_bdev *f;
};

/* A failed request, completed from the scheduler. */
struct failed {
	struct bio *bio;
	int status;
};

static unsigned op_bit(enum bio_op op)
{
	switch (op) {
	case BIO_READ:
		return SIM_FAULT_READ;
	case BIO_WRITE:
		return SIM_FAULT_WRITE;
	case BIO_FLUSH:
		return SIM_FAULT_FLUSH;
	case BIO_DISCARD:
		return SIM_FAULT_DISCARD;
	}
	return 0;
}

static bool overlaps(sector_t a, sector_t an, sector_t b, sector_t bn)
{
	return a < b + bn && b < a + an;
}

/* Clear latent errors covered by a successful write [sector, +nr). */
static void latent_clear(struct sim_fault_bdev *f, sector_t sector, sector_t nr)
{
	sector_t lo = sector, hi = sector + nr;

	for (size_t i = 0; i < f->nr_latent;) {
		struct range *g = &f->latent[i];
		sector_t cl = g->lo > lo ? g->lo : lo;
		sector_t ch = g->hi < hi ? g->hi : hi;

		if (cl >= ch) {
			i++;
			continue;
		}
		f->st.latent_cleared += ch - cl;
		if (g->lo < cl && g->hi > ch) {
			/* split: keep [lo, cl) here, append [ch, hi) */
			sector_t old_hi = g->hi;
			struct range *n = realloc(f->latent,
						  (f->nr_latent + 1) * sizeof(*n));

			if (!n) { /* cannot split: leave the range latent */
				f->st.latent_cleared -= ch - cl;
				return;
			}
			f->latent = n;
			f->latent[i].hi = cl;
			f->latent[f->nr_latent++] = (struct range){ ch, old_hi };
			i++;
		} else if (g->lo < cl) {
			g->hi = cl;
			i++;
		} else if (g->hi > ch) {
			g->lo = ch;
			i++;
		} else {
			f->latent[i] = f->latent[--f->nr_latent];
		}
	}
}

static bool latent_hit(const struct sim_fault_bdev *f, sector_t sector, sector_t nr)
{
	for (size_t i = 0; i < f->nr_latent; i++)
		if (overlaps(sector, nr, f->latent[i].lo,
			     f->latent[i].hi - f->latent[i].lo))
			return true;
	return false;
}

bool sim_fault_is_latent(const struct sim_fault_bdev *f, sector_t sector)
{
	return latent_hit(f, sector, 1);
}

/* Decide the fate of one request: 0 to pass, or the error to inject. */
static int decide(struct sim_fault_bdev *f, enum bio_op op, sector_t sector,
		  uint32_t nr)
{
	uint64_t opno = f->st.ops++;
	uint64_t now = sim_sched_now(f->s);

	for (size_t i = 0; i < f->nr_rules; i++) {
		struct rule *ru = &f->rules[i];
		const struct sim_fault_rule *r = &ru->r;

		if (r->ops && !(r->ops & op_bit(op)))
			continue;
		if (opno < r->from_op || now < r->from_ns)
			continue;
		if (r->max_hits && ru->hits >= r->max_hits)
			continue;
		if (r->nr_sectors) {
			if (op == BIO_FLUSH || !overlaps(sector, nr, r->sector, r->nr_sectors))
				continue;
		}
		if (r->chance_den &&
		    !sim_prng_chance(&f->prng, r->chance_num, r->chance_den))
			continue;
		ru->hits++;
		f->st.injected++;
		return r->error ? r->error : -EIO;
	}
	if (op == BIO_READ && latent_hit(f, sector, nr)) {
		f->st.latent_hits++;
		return -EIO;
	}
	return 0;
}

static void failed_done(void *ctx)
{
	struct failed *x = ctx;
	struct bio *bio = x->bio;
	int status = x->status;

	free(x);
	bio_endio(bio, status);
}

static void fwd_done(struct bio *clone, int status)
{
	struct fwd *w = clone->private;
	struct bio *orig = w->orig;

	if (!status && (orig->op == BIO_WRITE || orig->op == BIO_DISCARD))
		latent_clear(w->f, orig->sector, orig->nr_sectors);
	free(w);
	bio_endio(orig, status);
}

static void fault_submit(struct bdev *bd, struct bio *bio)
{
	struct sim_fault_bdev *f = (struct sim_fault_bdev *)bd;
	int status = decide(f, bio->op, bio->sector, bio->nr_sectors);

	if (status) {
		struct failed *x = malloc(sizeof(*x));

		sim_sched_logf(f->s, "fault %s inject op=%d sector=%llu nr=%u status=%d",
			       bd->name, (int)bio->op,
			       (unsigned long long)bio->sector, bio->nr_sectors,
			       status);
		if (!x) {
			bio_endio(bio, -ENOMEM);
			return;
		}
		x->bio = bio;
		x->status = status;
		if (executor_defer(sim_sched_executor(f->s), failed_done, x)) {
			free(x);
			bio_endio(bio, -ENOMEM);
		}
		return;
	}
	struct fwd *w = malloc(sizeof(*w));

	if (!w) {
		bio_endio(bio, -ENOMEM);
		return;
	}
	w->orig = bio;
	w->f = f;
	bio_init(&w->clone, f->lower, bio->op, bio->flags, bio->sector,
		 bio->nr_sectors, bio->data, fwd_done, w);
	bdev_submit(&w->clone);
}

static int fault_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			 uint32_t nr_sectors, uint8_t *data)
{
	struct sim_fault_bdev *f = (struct sim_fault_bdev *)bd;
	int status = decide(f, op, sector, nr_sectors);

	if (status)
		return status;
	status = bdev_sync_rw(f->lower, op, sector, nr_sectors, data);
	if (!status && op == BIO_WRITE)
		latent_clear(f, sector, nr_sectors);
	return status;
}

static void fault_destroy(struct bdev *bd)
{
	sim_fault_bdev_destroy((struct sim_fault_bdev *)bd);
}

static const struct bdev_ops fault_ops = {
	.submit = fault_submit,
	.destroy = fault_destroy,
	.sync_rw = fault_sync_rw,
};

int sim_fault_bdev_create(struct bdev *lower, struct sim_sched *s, uint64_t seed,
			  uint64_t id, const char *name, struct sim_fault_bdev **out)
{
	struct sim_fault_bdev *f;

	if (!lower || !s)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->base.ops = &fault_ops;
	f->base.size_sectors = lower->size_sectors;
	f->base.logical_block_bytes = lower->logical_block_bytes;
	f->base.caps = lower->caps;
	snprintf(f->base.name, sizeof(f->base.name), "%s",
		 name ? name : lower->name);
	f->lower = lower;
	f->s = s;
	f->prng = sim_prng_substream(seed, SIM_STREAM_FAULTS, id);
	*out = f;
	return 0;
}

void sim_fault_bdev_destroy(struct sim_fault_bdev *f)
{
	if (!f)
		return;
	free(f->rules);
	free(f->latent);
	free(f);
}

struct bdev *sim_fault_bdev_bdev(struct sim_fault_bdev *f)
{
	return &f->base;
}

int sim_fault_add_rule(struct sim_fault_bdev *f, const struct sim_fault_rule *r)
{
	struct rule *n;

	if (r->error > 0 || (r->chance_den && r->chance_num > r->chance_den))
		return -EINVAL;
	n = realloc(f->rules, (f->nr_rules + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	f->rules = n;
	f->rules[f->nr_rules].r = *r;
	f->rules[f->nr_rules].hits = 0;
	f->nr_rules++;
	return 0;
}

int sim_fault_add_latent(struct sim_fault_bdev *f, sector_t sector, sector_t nr)
{
	struct range *n;

	if (nr == 0 || sector + nr < sector)
		return -EINVAL;
	uint64_t cleared = f->st.latent_cleared;

	latent_clear(f, sector, nr); /* keep ranges disjoint; not a rewrite */
	f->st.latent_cleared = cleared;
	n = realloc(f->latent, (f->nr_latent + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	f->latent = n;
	f->latent[f->nr_latent++] = (struct range){ sector, sector + nr };
	return 0;
}

int sim_fault_die_at_op(struct sim_fault_bdev *f, uint64_t op)
{
	struct sim_fault_rule r = { .ops = SIM_FAULT_ALL, .from_op = op };

	return sim_fault_add_rule(f, &r);
}

int sim_fault_die_at_ns(struct sim_fault_bdev *f, uint64_t t_ns)
{
	struct sim_fault_rule r = { .ops = SIM_FAULT_ALL, .from_ns = t_ns };

	return sim_fault_add_rule(f, &r);
}

struct sim_fault_stats sim_fault_stats(const struct sim_fault_bdev *f)
{
	return f->st;
}
