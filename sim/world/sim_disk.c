/*
 * sim_disk.c - the simulated disk; see sim_disk.h for the model (rules 1-6).
 *
 * Organisation: requests (submit, queueing, service, completion), the cache (commit,
 * flush, supersede), the control path (sync_rw, durable reads, hashes), crash states
 * (pending list, fork), creation/destruction.
 *
 * State: two copy-on-write images share one store. `durable` is what
 * survives any power cut; `current` is durable plus every completed write
 * in completion order (what reads return). The cache list holds the
 * completed, non-durable writes in completion order, each with a copy of
 * its data and the sectors a later durable write superseded.
 * Invariant: current == durable + cache in order (superseded sectors skipped); tests read it.
 */
#include "sim_disk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "sim_image.h"

struct sim_req {
	struct sim_disk *d;
	struct bio *bio;
	uint64_t id;             /* submission number on this disk */
	uint64_t tag;            /* the disk's tag at submission (sim_disk_set_tag) */
	uint64_t flush_mark;     /* done_seq at submit (flush, preflush) */
	uint64_t event_id;       /* queued completion; 0 while waiting */
	int status;              /* preset error: completes without service */
	bool serving;            /* counted in in_service */
	uint8_t *zeros;          /* discard payload */
	struct sim_req *prev, *next; /* in-flight list, submission order */
	struct sim_req *wnext;   /* wait FIFO */
};

struct sim_cached {
	struct sim_cached *next;
	uint64_t id;
	uint64_t tag;            /* as its request's */
	unsigned bio_flags;
	bool discard;
	uint64_t done_seq;
	sector_t sector;
	uint32_t nr_sectors;
	uint8_t *data;           /* NULL: all zeros */
	uint64_t *superseded;    /* bit per sector; NULL = none */
	uint32_t nr_superseded;
};

struct sim_disk {
	struct bdev base;        /* must be first */
	struct sim_disk_config cfg; /* cfg.name points at base.name */
	struct sim_sched *s;
	struct sim_prng lat;     /* SIM_STREAM_LATENCY, instance disk_id */
	struct sim_map durable, current;
	struct sim_cached *cache_head, *cache_tail;
	size_t cache_len;
	struct sim_req *fl_head, *fl_tail;     /* in flight (waiting or serving) */
	struct sim_req *wait_head, *wait_tail;
	uint64_t next_id;        /* last submission number given */
	uint64_t tag;            /* stamped on every write submitted from now on */
	uint64_t done_seq;       /* completed writes so far */
	uint64_t last_done_ns;   /* in_order: latest completion scheduled */
	uint64_t forks;
	struct sim_disk_stats st;
};

static const struct bdev_ops sim_disk_ops;

static const char op_char[] = { 'R', 'W', 'F', 'D' };

static char opc(const struct bio *bio)
{
	return (unsigned)bio->op < sizeof(op_char) ? op_char[bio->op] : '?';
}

/* ---- the cache ------------------------------------------------------- */

static void cached_free(struct sim_cached *c)
{
	free(c->superseded);
	free(c->data);
	free(c);
}

static bool test_bit64(const uint64_t *map, uint64_t i)
{
	return map && (map[i / 64] >> (i % 64)) & 1;
}

/* Apply nr sectors at sector to map, but superseded sectors and the atomic units a mask drops. */
static int apply_write(struct sim_disk *d, struct sim_map *map, sector_t sector,
		       uint32_t nr, const uint8_t *data, const uint64_t *superseded,
		       const uint64_t *unit_mask)
{
	uint32_t atomic = d->cfg.atomic_sectors;
	uint64_t first_unit = sector / atomic;
	uint32_t i = 0;

	while (i < nr) {
		uint32_t j = i;

		while (j < nr && !test_bit64(superseded, j) &&
		       (!unit_mask ||
			test_bit64(unit_mask, (sector + j) / atomic - first_unit)))
			j++;
		if (j > i) {
			int r = data ? sim_map_write(map, sector + i, j - i,
						     data + ((size_t)i << SECTOR_SHIFT))
				     : sim_map_write_zeros(map, sector + i, j - i);
			if (r)
				return r;
			i = j;
		} else {
			i++;
		}
	}
	return 0;
}

/* Make every cached write with done_seq <= mark durable (rule 3). */
static int flush_upto(struct sim_disk *d, uint64_t mark)
{
	unsigned n = 0;

	while (d->cache_head && d->cache_head->done_seq <= mark) {
		struct sim_cached *c = d->cache_head;
		int r = apply_write(d, &d->durable, c->sector, c->nr_sectors,
				    c->data, c->superseded, NULL);

		if (r)
			return r;
		d->cache_head = c->next;
		if (!d->cache_head)
			d->cache_tail = NULL;
		d->cache_len--;
		cached_free(c);
		n++;
	}
	sim_sched_logf(d->s, "disk %s durable mark=%llu made=%u cached=%zu",
		       d->base.name, (unsigned long long)mark, n, d->cache_len);
	return 0;
}

/* A durable write over [sector, sector+nr) supersedes those sectors of every older cached
 * write (rule 5); a write superseded whole can change no crash state: drop it. */
static int supersede(struct sim_disk *d, sector_t sector, uint32_t nr)
{
	struct sim_cached **pp = &d->cache_head, *prev = NULL;

	while (*pp) {
		struct sim_cached *c = *pp;
		sector_t lo = sector > c->sector ? sector : c->sector;
		sector_t hi_a = sector + nr, hi_b = c->sector + c->nr_sectors;
		sector_t hi = hi_a < hi_b ? hi_a : hi_b;

		if (lo < hi) {
			if (!c->superseded) {
				c->superseded = calloc((c->nr_sectors + 63) / 64,
						       sizeof(uint64_t));
				if (!c->superseded)
					return -ENOMEM;
			}
			for (sector_t x = lo; x < hi; x++) {
				uint64_t b = x - c->sector;

				if (!test_bit64(c->superseded, b)) {
					c->superseded[b / 64] |= 1ull << (b % 64);
					c->nr_superseded++;
				}
			}
			if (c->nr_superseded == c->nr_sectors) {
				*pp = c->next;
				if (d->cache_tail == c)
					d->cache_tail = prev;
				d->cache_len--;
				cached_free(c);
				continue;
			}
		}
		prev = c;
		pp = &c->next;
	}
	return 0;
}

/* A write completes (rule 2, 4): into the current image, and the cache or the durable one. */
static int commit_write(struct sim_disk *d, const struct sim_req *rq, uint64_t id,
			sector_t sector, uint32_t nr, const uint8_t *data, bool durable)
{
	struct sim_cached *c = NULL;
	size_t bytes = (size_t)nr << SECTOR_SHIFT;
	int r;

	if (nr == 0)
		return 0;
	if (!durable) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		/* A write of zeros keeps no copy (data NULL): a copied chunk
		 * of never-written sectors may be a GiB. */
		if (data[0] || memcmp(data, data + 1, bytes - 1)) {
			c->data = malloc(bytes);
			if (!c->data) {
				free(c);
				return -ENOMEM;
			}
			memcpy(c->data, data, bytes);
		}
		c->id = id;
		c->tag = rq ? rq->tag : d->tag; /* no request: a control-path write, now */
		c->bio_flags = rq ? rq->bio->flags : 0;
		c->discard = rq && rq->bio->op == BIO_DISCARD;
		c->sector = sector;
		c->nr_sectors = nr;
	}
	r = sim_map_write(&d->current, sector, nr, data);
	if (!r && durable) {
		r = sim_map_write(&d->durable, sector, nr, data);
		if (!r)
			r = supersede(d, sector, nr);
	}
	if (r) {
		if (c)
			cached_free(c);
		return r;
	}
	d->done_seq++;
	if (c) {
		c->done_seq = d->done_seq;
		if (d->cache_tail)
			d->cache_tail->next = c;
		else
			d->cache_head = c;
		d->cache_tail = c;
		d->cache_len++;
	}
	return 0;
}

/* ---- requests -------------------------------------------------------- */

static void fl_unlink(struct sim_disk *d, struct sim_req *rq)
{
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		d->fl_head = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	else
		d->fl_tail = rq->prev;
	rq->prev = rq->next = NULL;
}

static uint64_t draw(struct sim_disk *d, const struct sim_latency *l)
{
	if (l->max_ns <= l->min_ns)
		return l->min_ns;
	return sim_prng_range(&d->lat, l->min_ns, l->max_ns);
}

static void req_complete(void *ctx);

/* Start serving rq now (rule 1). */
static void req_start(struct sim_disk *d, struct sim_req *rq)
{
	const struct bio *bio = rq->bio;
	uint64_t lat, t;

	switch (bio->op) {
	case BIO_READ:
		lat = draw(d, &d->cfg.read_lat);
		break;
	case BIO_FLUSH:
		lat = draw(d, &d->cfg.flush_lat);
		break;
	default:
		lat = draw(d, &d->cfg.write_lat);
		if (bio->flags & BIO_PREFLUSH)
			lat += draw(d, &d->cfg.flush_lat);
		break;
	}
	t = sim_sched_now(d->s) + lat;
	if (d->cfg.in_order) {
		if (t < d->last_done_ns)
			t = d->last_done_ns;
		d->last_done_ns = t;
	}
	rq->serving = true;
	d->st.in_service++;
	if (d->st.in_service > d->st.max_in_service)
		d->st.max_in_service = d->st.in_service;
	rq->event_id = sim_sched_at(d->s, t, req_complete, rq);
	/* Out of memory in the scheduler leaves the request hanging; the
	 * caller's event budget reports it. */
}

static void start_waiting(struct sim_disk *d)
{
	while (d->wait_head &&
	       (!d->cfg.queue_depth || d->st.in_service < d->cfg.queue_depth)) {
		struct sim_req *rq = d->wait_head;

		d->wait_head = rq->wnext;
		if (!d->wait_head)
			d->wait_tail = NULL;
		rq->wnext = NULL;
		d->st.waiting--;
		req_start(d, rq);
	}
}

static int serve(struct sim_disk *d, struct sim_req *rq)
{
	struct bio *bio = rq->bio;
	bool durable = d->cfg.write_through || (bio->flags & BIO_FUA);
	int r = 0;

	switch (bio->op) {
	case BIO_READ:
		sim_map_read(&d->current, bio->sector, bio->nr_sectors, bio->data);
		d->st.reads++;
		break;
	case BIO_WRITE:
		if (bio->flags & BIO_PREFLUSH)
			r = flush_upto(d, rq->flush_mark);
		if (!r)
			r = commit_write(d, rq, rq->id, bio->sector, bio->nr_sectors,
					 bio->data, durable);
		if (!r)
			d->st.writes++;
		break;
	case BIO_DISCARD:
		r = commit_write(d, rq, rq->id, bio->sector, bio->nr_sectors,
				 rq->zeros, d->cfg.write_through);
		if (!r)
			d->st.discards++;
		break;
	case BIO_FLUSH:
		r = flush_upto(d, rq->flush_mark);
		if (!r)
			d->st.flushes++;
		break;
	}
	return r;
}

/* Completion (rule 2); the bio's callback runs last: it may submit I/O or destroy an idle disk. */
static void req_complete(void *ctx)
{
	struct sim_req *rq = ctx;
	struct sim_disk *d = rq->d;
	struct bio *bio = rq->bio;
	int status = rq->status;

	rq->event_id = 0;
	fl_unlink(d, rq);
	if (rq->serving) {
		rq->serving = false;
		d->st.in_service--;
	}
	if (!status)
		status = serve(d, rq);
	if (status)
		d->st.errors++;
	if (!sim_sched_logging(d->s))
		sim_sched_logf(d->s, "-"); /* counted, not formatted */
	else if (!status && bio->op == BIO_READ)
		sim_sched_logf(d->s, "disk %s done R id=%llu status=0 h=%016llx",
			       d->base.name, (unsigned long long)rq->id,
			       (unsigned long long)sim_hash_bytes(bio->data,
				(size_t)bio->nr_sectors << SECTOR_SHIFT, 0));
	else
		sim_sched_logf(d->s, "disk %s done %c id=%llu status=%d",
			       d->base.name, opc(bio), (unsigned long long)rq->id,
			       status);
	start_waiting(d);
	free(rq->zeros);
	free(rq);
	bio_endio(bio, status);
}

static int check_bio(const struct sim_disk *d, const struct bio *bio)
{
	uint32_t lbs = d->cfg.logical_block_bytes >> SECTOR_SHIFT;

	switch (bio->op) {
	case BIO_FLUSH:
		return 0;
	case BIO_READ:
	case BIO_WRITE:
		if (bio->nr_sectors && !bio->data)
			return -EINVAL;
		break;
	case BIO_DISCARD:
		if (!d->cfg.discard)
			return -EOPNOTSUPP;
		break;
	default:
		return -EINVAL;
	}
	if (bdev_check_range(&d->base, bio))
		return -EIO;
	if (bio->sector % lbs || bio->nr_sectors % lbs)
		return -EIO;
	return 0;
}

static void sim_disk_submit(struct bdev *bd, struct bio *bio)
{
	struct sim_disk *d = (struct sim_disk *)bd;
	struct sim_req *rq = calloc(1, sizeof(*rq));

	d->next_id++;
	sim_sched_logf(d->s, "disk %s submit %c id=%llu sector=%llu nr=%u flags=%x",
		       bd->name, opc(bio), (unsigned long long)d->next_id,
		       (unsigned long long)bio->sector, bio->nr_sectors, bio->flags);
	if (!rq) {
		bio_endio(bio, -ENOMEM); /* cannot even defer: report at once */
		return;
	}
	rq->d = d;
	rq->bio = bio;
	rq->id = d->next_id;
	rq->tag = d->tag;
	rq->flush_mark = d->done_seq;
	rq->status = check_bio(d, bio);
	if (!rq->status && bio->op == BIO_DISCARD && bio->nr_sectors) {
		rq->zeros = calloc(bio->nr_sectors, SECTOR_SIZE);
		if (!rq->zeros)
			rq->status = -ENOMEM;
	}
	rq->prev = d->fl_tail;
	if (d->fl_tail)
		d->fl_tail->next = rq;
	else
		d->fl_head = rq;
	d->fl_tail = rq;
	if (rq->status) {
		/* Rejected: complete at now, through the scheduler. */
		rq->event_id = sim_sched_at(d->s, sim_sched_now(d->s), req_complete, rq);
		return;
	}
	if (d->cfg.queue_depth && d->st.in_service >= d->cfg.queue_depth) {
		if (d->wait_tail)
			d->wait_tail->wnext = rq;
		else
			d->wait_head = rq;
		d->wait_tail = rq;
		d->st.waiting++;
		return;
	}
	req_start(d, rq);
}

/* ---- control path ---------------------------------------------------- */

static int sim_disk_sync_rw(struct bdev *bd, enum bio_op op, sector_t sector,
			    uint32_t nr_sectors, uint8_t *data)
{
	struct sim_disk *d = (struct sim_disk *)bd;
	uint32_t lbs = d->cfg.logical_block_bytes >> SECTOR_SHIFT;
	int r;

	if (sector > bd->size_sectors || nr_sectors > bd->size_sectors - sector)
		return -EIO;
	if (op == BIO_FLUSH) {
		r = flush_upto(d, d->done_seq);
		if (!r)
			d->st.flushes++;
		sim_sched_logf(d->s, "disk %s sync FLUSH status=%d", bd->name, r);
		return r;
	}
	if (sector % lbs || nr_sectors % lbs)
		return -EIO;
	if (nr_sectors && !data)
		return -EINVAL;
	if (op == BIO_READ) {
		sim_map_read(&d->current, sector, nr_sectors, data);
		return 0;
	}
	if (op != BIO_WRITE)
		return -EINVAL;
	d->next_id++;
	r = commit_write(d, NULL, d->next_id, sector, nr_sectors, data,
			 d->cfg.write_through);
	sim_sched_logf(d->s, "disk %s sync W id=%llu sector=%llu nr=%u status=%d",
		       bd->name, (unsigned long long)d->next_id,
		       (unsigned long long)sector, nr_sectors, r);
	return r;
}

int sim_disk_read_durable(struct sim_disk *d, sector_t sector,
			  uint32_t nr_sectors, uint8_t *buf)
{
	if (sector > d->base.size_sectors || nr_sectors > d->base.size_sectors - sector)
		return -EIO;
	if (nr_sectors && !buf)
		return -EINVAL;
	sim_map_read(&d->durable, sector, nr_sectors, buf);
	return 0;
}

bool sim_disk_durable_initial(const struct sim_disk *d, sector_t sector, uint32_t nr_sectors)
{
	return sector <= d->base.size_sectors && nr_sectors <= d->base.size_sectors - sector &&
	       sim_map_holds_initial(&d->durable, sector, nr_sectors);
}

uint64_t sim_disk_durable_hash(struct sim_disk *d)
{
	return sim_map_hash(&d->durable);
}

int sim_disk_durable_diff(const struct sim_disk *a, const struct sim_disk *b,
			  sim_map_diff_fn *fn, void *ctx)
{
	if (a->durable.store != b->durable.store || a->durable.size_sectors != b->durable.size_sectors)
		return -EINVAL;
	sim_map_diff(&a->durable, &b->durable, fn, ctx);
	return 0;
}

uint64_t sim_disk_current_hash(struct sim_disk *d)
{
	return sim_map_hash(&d->current);
}

void sim_disk_set_tag(struct sim_disk *d, uint64_t tag)
{
	d->tag = tag;
}

struct bdev *sim_disk_bdev(struct sim_disk *d)
{
	return &d->base;
}

struct sim_disk *sim_disk_from_bdev(struct bdev *bd)
{
	return bd && bd->ops == &sim_disk_ops ? (struct sim_disk *)bd : NULL;
}

const struct sim_disk_config *sim_disk_config(const struct sim_disk *d)
{
	return &d->cfg;
}

struct sim_disk_stats sim_disk_stats(const struct sim_disk *d)
{
	struct sim_disk_stats st = d->st;

	st.cached_writes = d->cache_len;
	return st;
}

struct sim_store_stats sim_disk_store_stats(const struct sim_disk *d)
{
	return sim_store_stats(d->durable.store);
}

/* ---- crash states ---------------------------------------------------- */

static bool req_is_pending_write(const struct sim_req *rq)
{
	return !rq->status && rq->bio->nr_sectors &&
	       (rq->bio->op == BIO_WRITE || rq->bio->op == BIO_DISCARD);
}

static uint32_t units_of(const struct sim_disk *d, sector_t sector, uint32_t nr)
{
	uint32_t a = d->cfg.atomic_sectors;

	return (uint32_t)((sector + nr - 1) / a - sector / a + 1);
}

size_t sim_disk_pending_count(const struct sim_disk *d)
{
	size_t n = d->cache_len;

	for (const struct sim_req *rq = d->fl_head; rq; rq = rq->next)
		n += req_is_pending_write(rq);
	return n;
}

size_t sim_disk_pending_list(const struct sim_disk *d,
			     struct sim_disk_pending *out, size_t max)
{
	size_t n = 0;

	for (const struct sim_cached *c = d->cache_head; c; c = c->next, n++) {
		if (n < max)
			out[n] = (struct sim_disk_pending){
				.id = c->id, .sector = c->sector,
				.nr_sectors = c->nr_sectors,
				.nr_units = units_of(d, c->sector, c->nr_sectors),
				.completed = true, .done_seq = c->done_seq,
				.tag = c->tag, .bio_flags = c->bio_flags,
				.discard = c->discard,
			};
	}
	for (const struct sim_req *rq = d->fl_head; rq; rq = rq->next) {
		if (!req_is_pending_write(rq))
			continue;
		if (n < max)
			out[n] = (struct sim_disk_pending){
				.id = rq->id, .sector = rq->bio->sector,
				.nr_sectors = rq->bio->nr_sectors,
				.nr_units = units_of(d, rq->bio->sector,
						     rq->bio->nr_sectors),
				.completed = false, .done_seq = 0,
				.preflush = (rq->bio->flags & BIO_PREFLUSH) != 0,
				.flush_mark = rq->flush_mark,
				.tag = rq->tag, .bio_flags = rq->bio->flags,
				.discard = rq->bio->op == BIO_DISCARD,
			};
		n++;
	}
	return n;
}

static const struct sim_crash_write *find_survivor(const struct sim_crash_write *sv,
						   size_t nr, uint64_t id)
{
	for (size_t i = 0; i < nr; i++)
		if (sv[i].id == id)
			return &sv[i];
	return NULL;
}

static void disk_free(struct sim_disk *d)
{
	sim_map_destroy(&d->current);
	sim_map_destroy(&d->durable);
	free(d);
}

int sim_disk_fork(struct sim_disk *d, const struct sim_crash_write *survivors,
		  size_t nr, const struct sim_disk_fork_opts *opts,
		  struct sim_disk **out)
{
	struct sim_disk *c;
	size_t matched = 0;
	int r = 0;

	if (nr && !survivors)
		return -EINVAL;
	/* Validate first: every id pending, none twice. */
	for (size_t i = 0; i < nr; i++) {
		bool found = false;

		for (size_t j = 0; j < i; j++)
			if (survivors[j].id == survivors[i].id)
				return -EINVAL;
		for (const struct sim_cached *e = d->cache_head; e && !found; e = e->next)
			found = e->id == survivors[i].id;
		for (const struct sim_req *rq = d->fl_head; rq && !found; rq = rq->next)
			found = req_is_pending_write(rq) && rq->id == survivors[i].id;
		if (!found)
			return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base = d->base;
	c->base.open_count = 0;
	d->forks++;
	if (opts && opts->name)
		snprintf(c->base.name, sizeof(c->base.name), "%s", opts->name);
	else
		snprintf(c->base.name, sizeof(c->base.name), "%.100s~%llu",
			 d->base.name, (unsigned long long)d->forks);
	c->cfg = d->cfg;
	c->cfg.name = c->base.name;
	c->s = opts && opts->sched ? opts->sched : d->s;
	c->lat = sim_prng_substream(c->cfg.seed, SIM_STREAM_LATENCY, c->cfg.disk_id);
	sim_map_clone(&c->durable, &d->durable);
	/* current is cloned from durable below; keep destroy safe meanwhile */
	sim_map_clone(&c->current, &d->durable);

	for (const struct sim_cached *e = d->cache_head; e && !r; e = e->next) {
		const struct sim_crash_write *sv = find_survivor(survivors, nr, e->id);

		if (!sv)
			continue;
		matched++;
		r = apply_write(d, &c->durable, e->sector, e->nr_sectors, e->data,
				e->superseded, sv->unit_mask);
	}
	for (const struct sim_req *rq = d->fl_head; rq && !r; rq = rq->next) {
		const struct sim_crash_write *sv;

		if (!req_is_pending_write(rq))
			continue;
		sv = find_survivor(survivors, nr, rq->id);
		if (!sv)
			continue;
		matched++;
		r = apply_write(d, &c->durable, rq->bio->sector, rq->bio->nr_sectors,
				rq->bio->op == BIO_DISCARD ? rq->zeros : rq->bio->data,
				NULL, sv->unit_mask);
	}
	if (r) {
		disk_free(c);
		return r;
	}
	sim_map_destroy(&c->current);
	sim_map_clone(&c->current, &c->durable);
	sim_sched_logf(d->s, "disk %s fork %s survivors=%zu pending=%zu",
		       d->base.name, c->base.name, matched,
		       sim_disk_pending_count(d));
	*out = c;
	return 0;
}

/* ---- creation and destruction ----------------------------------------- */

int sim_disk_create(const struct sim_disk_config *cfg, struct sim_sched *s,
		    struct sim_disk **out)
{
	struct sim_disk *d;
	struct sim_store *st;
	unsigned lbb;
	uint32_t lbs, atomic;

	if (!cfg || !s || !out)
		return -EINVAL;
	lbb = cfg->logical_block_bytes ? cfg->logical_block_bytes : SECTOR_SIZE;
	lbs = lbb >> SECTOR_SHIFT;
	atomic = cfg->atomic_sectors ? cfg->atomic_sectors : lbs;
	if (cfg->size_sectors == 0 ||
	    (lbb != 512 && lbb != 1024 && lbb != 2048 && lbb != 4096) ||
	    atomic % lbs || cfg->size_sectors % lbs)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	st = cfg->image ? sim_image_store(cfg->image)
			: sim_store_create(cfg->init,
					   sim_hash_combine(cfg->seed,
					     sim_hash_combine(SIM_STREAM_GARBAGE, cfg->disk_id)));
	if (!st) {
		free(d);
		return -ENOMEM;
	}
	d->base.ops = &sim_disk_ops;
	d->base.size_sectors = cfg->size_sectors;
	d->base.logical_block_bytes = lbb;
	d->base.caps = cfg->discard ? BDEV_CAP_DISCARD : 0;
	snprintf(d->base.name, sizeof(d->base.name), "%s",
		 cfg->name ? cfg->name : "sim");
	d->cfg = *cfg;
	d->cfg.name = d->base.name;
	d->cfg.logical_block_bytes = lbb;
	d->cfg.atomic_sectors = atomic;
	d->s = s;
	d->lat = sim_prng_substream(cfg->seed, SIM_STREAM_LATENCY, cfg->disk_id);
	sim_map_init(&d->durable, st, cfg->size_sectors);
	sim_map_init(&d->current, st, cfg->size_sectors);
	sim_store_put(st); /* the maps hold it now */
	*out = d;
	return 0;
}

void sim_disk_destroy(struct sim_disk *d)
{
	struct sim_req *rq;
	struct sim_cached *c;

	if (!d)
		return;
	while ((rq = d->fl_head)) {
		if (rq->event_id)
			sim_sched_cancel(d->s, rq->event_id);
		fl_unlink(d, rq);
		free(rq->zeros);
		free(rq);
	}
	while ((c = d->cache_head)) {
		d->cache_head = c->next;
		cached_free(c);
	}
	disk_free(d);
}

static void sim_disk_bdev_destroy(struct bdev *bd)
{
	sim_disk_destroy((struct sim_disk *)bd);
}

static const struct bdev_ops sim_disk_ops = {
	.submit = sim_disk_submit,
	.destroy = sim_disk_bdev_destroy,
	.sync_rw = sim_disk_sync_rw,
};
