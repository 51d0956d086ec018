/*
 * replay_rec.c - the provenance recorder of a reference state and judging
 * other crash states against it (replay_rec.h says what and why).
 *
 * The taps report every completed disk request (rp_rec_io), check_all
 * each read request (rp_rec_read_begin/_end), replay_world_write each test
 * write (rp_rec_write_begin/_end), the restart its end (rp_rec_started).
 * A read lands in a check request's buffer (dm passes the caller's buffer
 * down: the data pointer says which sectors of the request it fills), or
 * somewhere else: before the stack is up, or not copied out to a disk
 * unchanged, such a read is control; a write from a buffer such a read
 * filled gives the written sectors that read's provenance.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pattern.h"
#include "replay_impl.h"
#include "replay_rec.h"

enum { PV_UNSET = 0, PV_CRASH, PV_PATTERN, PV_FIXED };

#define PV_NO_BYTES UINT64_MAX
/* Something the recording does not follow: it cannot judge other states. */
#define REC_BAD(r) ((r)->bad = true)

struct rr_prov {
	uint8_t kind;
	uint32_t disk;        /* PV_CRASH */
	uint64_t a;           /* CRASH: sector; PATTERN: pattern sector; FIXED: its number */
};

struct rr_event {
	bool write;
	unsigned dev;         /* index in names */
	uint64_t sector;
	uint32_t n;
	uint64_t pos;         /* read: first position */
	unsigned flags;
	int status;
};

/* A read that filled a buffer of the stack's own (a copy, or control). */
struct rr_copy {
	const uint8_t *ptr;
	uint32_t n;
	struct rr_prov *prov;
	bool copied;
};

struct rr_disk {
	struct sim_disk *crashed;    /* the reference's crashed image (a fork we own) */
	sector_t size;
	struct rr_prov *written;     /* per sector, written during the check; NULL: none yet */
	uint64_t *control;           /* bitmap: crashed sectors the stack acts on */
	uint64_t *settled_src;       /* bitmap: crashed sectors a settled position reads */
};

/* What an unsettled position may read: contents acont[first..first+n). */
struct rr_allow {
	uint32_t first;
	uint8_t n;
	bool hard;            /* not a plain choice (EIO allowed, too many): ask the full check */
};

/* An unsettled position reading a crashed sector (the judge's index, sorted). */
struct rr_src {
	uint32_t disk;
	uint64_t sector;
	uint64_t u;           /* index in unsettled[] and allow[] */
};

struct replay_rec {
	unsigned nd;
	struct rr_disk *d;
	bool bad, started, finished;
	struct model *m0;
	char (*names)[TRACE_NAME_MAX];
	unsigned nr_names, cap_names;
	struct rr_event *ev;
	size_t nr_ev, cap_ev;
	struct rr_prov *pos;
	uint8_t *settled;
	size_t nr_pos, cap_pos;
	uint64_t nr_fixed;           /* FIXED positions named so far */
	struct rr_copy *copies;
	size_t nr_copies, cap_copies;
	const uint8_t *rbuf;         /* the check read in flight */
	uint64_t rpos;
	uint32_t rn;
	const uint8_t *wbuf;         /* the test write in flight */
	uint64_t wsector;
	uint32_t wn;
	uint64_t seed;
	bool have_seed;
	uint64_t *unsettled;
	size_t nr_unsettled, cap_unsettled;
	struct rr_allow *allow;      /* per unsettled position */
	size_t cap_allow;
	struct model_content *acont;
	size_t nr_acont, cap_acont;
	struct rr_src *src;          /* unsettled crash positions by (disk, sector) */
	size_t nr_src;
	struct model_content_memo *cmemo; /* the caller's memo of identified patterns, or NULL */
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 16;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*p, c * elem);
	if (!n)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

struct replay_rec *replay_rec_new(unsigned nr_disks)
{
	struct replay_rec *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return NULL;
	rec->d = calloc(nr_disks ? nr_disks : 1, sizeof(*rec->d));
	if (!rec->d) {
		free(rec);
		return NULL;
	}
	rec->nd = nr_disks;
	return rec;
}

static void copies_clear(struct replay_rec *rec);

void replay_rec_free(struct replay_rec *rec)
{
	if (!rec)
		return;
	copies_clear(rec);
	for (unsigned i = 0; i < rec->nd; i++) {
		if (rec->d[i].crashed)
			sim_disk_destroy(rec->d[i].crashed);
		free(rec->d[i].written);
		free(rec->d[i].control);
		free(rec->d[i].settled_src);
	}
	free(rec->d);
	if (rec->m0)
		model_destroy(rec->m0);
	free(rec->names);
	free(rec->ev);
	free(rec->pos);
	free(rec->settled);
	free(rec->copies);
	free(rec->unsettled);
	free(rec->allow);
	free(rec->acont);
	free(rec->src);
	free(rec);
}

uint64_t replay_rec_positions(const struct replay_rec *rec)
{
	return rec->nr_pos;
}

uint64_t replay_rec_unsettled(const struct replay_rec *rec)
{
	return rec->nr_unsettled;
}

/* ---- recording ------------------------------------------------------- */

static void bit_set(uint64_t *bm, uint64_t i)
{
	bm[i / 64] |= 1ull << (i % 64);
}

static bool bits_any(const uint64_t *bm, uint64_t first, uint64_t n)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (!(i % 64) && i + 64 <= first + n) {
			if (bm[i / 64])
				return true;
			i += 63;
			continue;
		}
		if (bm[i / 64] & (1ull << (i % 64)))
			return true;
	}
	return false;
}

int replay_rec_attach(struct replay_rec *rec, struct sim_disk **crashed, unsigned nr_disks)
{
	if (rec->started || rec->nd != nr_disks)
		return -EINVAL;
	for (unsigned i = 0; i < nr_disks; i++) {
		struct rr_disk *d = &rec->d[i];
		size_t words;

		d->size = sim_disk_config(crashed[i])->size_sectors;
		words = (size_t)(d->size + 63) / 64;
		if (!d->crashed && sim_disk_fork(crashed[i], NULL, 0, NULL, &d->crashed))
			return -ENOMEM;
		if (!d->control)
			d->control = calloc(words ? words : 1, sizeof(uint64_t));
		if (!d->settled_src)
			d->settled_src = calloc(words ? words : 1, sizeof(uint64_t));
		if (!d->control || !d->settled_src)
			return -ENOMEM;
	}
	return 0;
}

void replay_rec_control(struct replay_rec *rec, unsigned disk, sector_t sector, uint32_t nr)
{
	if (!rec || disk >= rec->nd || !rec->d[disk].control) {
		if (rec)
			REC_BAD(rec);
		return;
	}
	for (uint32_t i = 0; i < nr && sector + i < rec->d[disk].size; i++)
		bit_set(rec->d[disk].control, sector + i);
}

/* Where disk sector (disk, s) got its bytes: a write of the check, or the crash. */
static struct rr_prov resolve(const struct replay_rec *rec, unsigned disk, sector_t s)
{
	const struct rr_disk *d = &rec->d[disk];
	struct rr_prov p = { PV_CRASH, disk, s };

	if (d->written && d->written[s].kind != PV_UNSET)
		return d->written[s];
	return p;
}

static void prov_control(struct replay_rec *rec, const struct rr_prov *p)
{
	if (p->kind == PV_CRASH)
		bit_set(rec->d[p->disk].control, p->a);
}

/* Reads no write copied out are control; forget them all. */
static void copies_clear(struct replay_rec *rec)
{
	for (size_t i = 0; i < rec->nr_copies; i++) {
		struct rr_copy *c = &rec->copies[i];

		if (!c->copied)
			for (uint32_t k = 0; k < c->n; k++)
				prov_control(rec, &c->prov[k]);
		free(c->prov);
	}
	rec->nr_copies = 0;
}

static bool inside(const uint8_t *p, size_t len, const uint8_t *buf, size_t blen)
{
	return buf && p >= buf && p + len <= buf + blen;
}

static void rec_read(struct replay_rec *rec, unsigned disk, sector_t s, uint32_t n,
		     const uint8_t *data)
{
	size_t len = (size_t)n * SECTOR_SIZE;

	if (rec->started && inside(data, len, rec->rbuf, (size_t)rec->rn * SECTOR_SIZE)) {
		size_t off = (size_t)(data - rec->rbuf);

		if (off % SECTOR_SIZE) {
			REC_BAD(rec);
			return;
		}
		for (uint32_t i = 0; i < n; i++)
			rec->pos[rec->rpos + off / SECTOR_SIZE + i] = resolve(rec, disk, s + i);
		return;
	}
	if (!rec->started) {
		for (uint32_t i = 0; i < n; i++) {
			struct rr_prov p = resolve(rec, disk, s + i);

			prov_control(rec, &p);
		}
		return;
	}
	if (grow((void **)&rec->copies, &rec->cap_copies, rec->nr_copies + 1,
		 sizeof(*rec->copies))) {
		REC_BAD(rec);
		return;
	}
	struct rr_copy *c = &rec->copies[rec->nr_copies];

	c->prov = malloc((n ? n : 1) * sizeof(*c->prov));
	if (!c->prov) {
		REC_BAD(rec);
		return;
	}
	rec->nr_copies++;
	c->ptr = data;
	c->n = n;
	c->copied = false;
	for (uint32_t i = 0; i < n; i++)
		c->prov[i] = resolve(rec, disk, s + i);
}

static void rec_write(struct replay_rec *rec, unsigned disk, sector_t s, uint32_t n,
		      const uint8_t *data, bool discard)
{
	struct rr_disk *d = &rec->d[disk];

	if (!d->written) {
		d->written = calloc(d->size ? d->size : 1, sizeof(*d->written));
		if (!d->written) {
			REC_BAD(rec);
			return;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = data ? data + (size_t)i * SECTOR_SIZE : NULL;
		struct rr_prov v = { PV_FIXED, 0, PV_NO_BYTES };

		if (!discard && p) {
			bool found = false;

			for (size_t k = rec->nr_copies; k-- > 0 && !found;) {
				struct rr_copy *c = &rec->copies[k];

				if (inside(p, SECTOR_SIZE, c->ptr, (size_t)c->n * SECTOR_SIZE) &&
				    !((size_t)(p - c->ptr) % SECTOR_SIZE)) {
					v = c->prov[(size_t)(p - c->ptr) / SECTOR_SIZE];
					c->copied = true;
					found = true;
				}
			}
			if (!found && inside(p, SECTOR_SIZE, rec->wbuf, (size_t)rec->wn * SECTOR_SIZE) &&
			    !((size_t)(p - rec->wbuf) % SECTOR_SIZE)) {
				v.kind = PV_PATTERN;
				v.a = rec->wsector + (size_t)(p - rec->wbuf) / SECTOR_SIZE;
			}
		}
		if (s + i < d->size)
			d->written[s + i] = v;
	}
}

void rp_rec_io(struct replay_rec *rec, unsigned disk, enum bio_op op, sector_t sector,
	       uint32_t nr, const uint8_t *data, int status)
{
	if (rec->bad || rec->finished)
		return;
	if (disk >= rec->nd || sector > rec->d[disk].size || nr > rec->d[disk].size - sector) {
		REC_BAD(rec);
		return;
	}
	if (status && op != BIO_FLUSH) {
		REC_BAD(rec); /* an I/O error: nothing to follow */
		return;
	}
	switch (op) {
	case BIO_READ:
		rec_read(rec, disk, sector, nr, data);
		break;
	case BIO_WRITE:
		rec_write(rec, disk, sector, nr, data, false);
		break;
	case BIO_DISCARD:
		rec_write(rec, disk, sector, nr, NULL, true);
		break;
	default:
		break;
	}
}

void rp_rec_started(struct replay_rec *rec, const struct model *m)
{
	copies_clear(rec);
	rec->m0 = model_clone(m);
	if (!rec->m0)
		REC_BAD(rec);
	rec->started = true;
}

static int name_index(const struct replay_rec *rec, const char *dev)
{
	for (unsigned i = 0; i < rec->nr_names; i++)
		if (!strcmp(rec->names[i], dev))
			return (int)i;
	return -1;
}

/* Intern dev (names are few: the world's devices and disks). */
static int intern(struct replay_rec *rec, const char *dev)
{
	size_t cap = rec->cap_names;
	int i = name_index(rec, dev);

	if (i >= 0)
		return i;
	if (grow((void **)&rec->names, &cap, rec->nr_names + 1, sizeof(*rec->names)))
		return -1;
	rec->cap_names = (unsigned)cap;
	snprintf(rec->names[rec->nr_names], TRACE_NAME_MAX, "%s", dev);
	return (int)rec->nr_names++;
}

static struct rr_event *event_add(struct replay_rec *rec, bool write, const char *dev,
				  sector_t sector, uint32_t n)
{
	int di = intern(rec, dev);
	struct rr_event *e;

	if (di < 0 || grow((void **)&rec->ev, &rec->cap_ev, rec->nr_ev + 1, sizeof(*rec->ev))) {
		REC_BAD(rec);
		return NULL;
	}
	e = &rec->ev[rec->nr_ev++];
	memset(e, 0, sizeof(*e));
	e->write = write;
	e->dev = (unsigned)di;
	e->sector = sector;
	e->n = n;
	return e;
}

void rp_rec_read_begin(struct replay_rec *rec, const char *dev, sector_t sector, uint32_t n,
		       const uint8_t *buf)
{
	struct rr_event *e;

	if (rec->bad || !rec->started || rec->finished)
		return;
	e = event_add(rec, false, dev, sector, n);
	if (!e || grow((void **)&rec->pos, &rec->cap_pos, rec->nr_pos + n, sizeof(*rec->pos))) {
		REC_BAD(rec);
		return;
	}
	e->pos = rec->nr_pos;
	memset(rec->pos + rec->nr_pos, 0, (size_t)n * sizeof(*rec->pos));
	rec->nr_pos += n;
	rec->rbuf = buf;
	rec->rpos = e->pos;
	rec->rn = n;
}

/* The request's bytes: crash and pattern positions must agree with them. */
void rp_rec_read_end(struct replay_rec *rec, int status, const uint8_t *buf)
{
	uint8_t tmp[SECTOR_SIZE];

	if (rec->bad || !rec->rbuf) {
		rec->rbuf = NULL;
		return;
	}
	if (status) {
		/* Failed reads (an invalid snapshot): what the model says of them
		 * depends on the stores' states, not on any state's bytes. */
		rec->ev[rec->nr_ev - 1].status = status;
		for (uint32_t i = 0; i < rec->rn; i++)
			rec->pos[rec->rpos + i].kind = PV_FIXED;
		copies_clear(rec);
		rec->rbuf = NULL;
		return;
	}
	for (uint32_t i = 0; i < rec->rn && !rec->bad; i++) {
		struct rr_prov *p = &rec->pos[rec->rpos + i];
		const uint8_t *got = buf + (size_t)i * SECTOR_SIZE;

		switch (p->kind) {
		case PV_CRASH:
			if (sim_disk_read_durable(rec->d[p->disk].crashed, p->a, 1, tmp) ||
			    memcmp(tmp, got, SECTOR_SIZE))
				REC_BAD(rec);
			break;
		case PV_PATTERN:
			pattern_fill(rec->seed, p->a, tmp);
			if (!rec->have_seed || memcmp(tmp, got, SECTOR_SIZE))
				REC_BAD(rec);
			break;
		default:
			/* The same in every state: nothing to keep but a name of its own,
			 * so that two such reads never pass for one source. */
			p->kind = PV_FIXED;
			p->a = rec->nr_fixed++;
			break;
		}
	}
	copies_clear(rec);
	rec->rbuf = NULL;
}

void rp_rec_write_begin(struct replay_rec *rec, const char *dev, sector_t sector, uint32_t n,
			unsigned flags, const uint8_t *buf, uint64_t seed)
{
	struct rr_event *e;

	if (rec->bad || !rec->started || rec->finished)
		return;
	if (rec->have_seed && rec->seed != seed)
		REC_BAD(rec); /* two seeds: a state's writes would not be one substitution */
	rec->seed = seed;
	rec->have_seed = true;
	e = event_add(rec, true, dev, sector, n);
	if (!e)
		return;
	e->flags = flags;
	rec->wbuf = buf;
	rec->wsector = sector;
	rec->wn = n;
}

void rp_rec_write_end(struct replay_rec *rec, int status)
{
	if (rec->bad || !rec->wbuf) {
		rec->wbuf = NULL;
		return;
	}
	rec->ev[rec->nr_ev - 1].status = status;
	if (status)
		REC_BAD(rec);
	copies_clear(rec);
	rec->wbuf = NULL;
}

/* ---- judging --------------------------------------------------------- */

static void write_model(struct model *m, const char *dev, const struct rr_event *e,
			uint64_t seed)
{
	struct model_data md = { .kind = MODEL_DATA_PATTERN, .seed = seed, .base = e->sector };
	uint64_t id;

	model_write_begin(m, dev, e->sector, e->n, &md, (e->flags & BIO_FUA) ? MODEL_FUA : 0, &id);
	model_write_end(m, id, e->status);
}

/* A position's identity row: its sector state and where its bytes came from. */
struct rr_tie {
	uint64_t id;
	uint8_t kind;
	uint32_t disk;
	uint64_t a;
};

static int tie_cmp(const void *x, const void *y)
{
	const struct rr_tie *a = x, *b = y;

	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->disk != b->disk)
		return a->disk < b->disk ? -1 : 1;
	return a->a < b->a ? -1 : a->a > b->a;
}

static int src_cmp(const void *x, const void *y)
{
	const struct rr_src *a = x, *b = y;

	if (a->disk != b->disk)
		return a->disk < b->disk ? -1 : 1;
	if (a->sector != b->sector)
		return a->sector < b->sector ? -1 : 1;
	return a->u < b->u ? -1 : a->u > b->u;
}

/* One unsettled position p with the allowed set x. */
static int add_unsettled(struct replay_rec *rec, uint64_t p, const struct model_expect *x)
{
	struct rr_allow a = { (uint32_t)rec->nr_acont, (uint8_t)x->n,
			      x->may_fail || !x->may_succeed || x->n_total > x->n };

	size_t cap = rec->cap_allow;

	if (grow((void **)&rec->unsettled, &rec->cap_unsettled, rec->nr_unsettled + 1,
		 sizeof(*rec->unsettled)) ||
	    grow((void **)&rec->allow, &cap, rec->nr_unsettled + 1, sizeof(*rec->allow)) ||
	    grow((void **)&rec->acont, &rec->cap_acont, rec->nr_acont + x->n, sizeof(*rec->acont)))
		return -1;
	rec->cap_allow = cap;
	memcpy(rec->acont + rec->nr_acont, x->c, x->n * sizeof(*x->c));
	rec->nr_acont += x->n;
	rec->allow[rec->nr_unsettled] = a;
	rec->unsettled[rec->nr_unsettled++] = p;
	return 0;
}

struct finish_ctx {
	struct replay_rec *rec;
	struct rr_tie *ties;
	size_t nt;
	size_t pos; /* the read's first position */
};

/* One read sector's allowed contents: settled or unsettled, and its tie. */
static int finish_one(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id)
{
	struct finish_ctx *fc = ctx;
	struct replay_rec *rec = fc->rec;
	size_t p = fc->pos + k;
	const struct rr_prov *v = &rec->pos[p];

	if (x->may_succeed && !x->may_fail && x->n_total == 1)
		rec->settled[p] = 1;
	else if (add_unsettled(rec, p, x))
		return -1;
	if (id && (v->kind == PV_CRASH || !rec->settled[p]))
		fc->ties[fc->nt++] = (struct rr_tie){ id, v->kind, v->disk, v->a };
	return 0;
}

/*
 * Judge every position once on the recovered model with the test writes
 * and no read applied: one allowed content makes it settled; the others
 * keep their allowed sets. Pins tie reads of one sector state: the judge
 * may check each position alone only when every read of one state takes
 * its bytes from one source, which it checks here.
 */
int replay_rec_finish(struct replay_rec *rec)
{
	struct finish_ctx fc;
	struct model *mc;
	struct rr_tie *ties;
	size_t nt = 0;
	int ret = 0;

	if (rec->bad || !rec->started || rec->rbuf || rec->wbuf || !rec->m0)
		return -1;
	rec->finished = true;
	rec->settled = calloc(rec->nr_pos ? rec->nr_pos : 1, 1);
	ties = malloc((rec->nr_pos ? rec->nr_pos : 1) * sizeof(*ties));
	mc = model_clone(rec->m0);
	fc = (struct finish_ctx){ rec, ties, 0, 0 };
	if (!rec->settled || !mc || !ties) {
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < rec->nr_ev && !ret; i++) {
		const struct rr_event *e = &rec->ev[i];
		const char *dev = rec->names[e->dev];

		if (e->write) {
			write_model(mc, dev, e, rec->seed);
			continue;
		}
		if (e->status) {
			memset(rec->settled + e->pos, 1, e->n);
			continue;
		}
		fc.pos = e->pos;
		if (model_read_expect_ids(mc, dev, e->sector, e->n, finish_one, &fc))
			ret = -1;
	}
	nt = fc.nt;
	if (ret)
		goto out;
	/* One sector state, one source: else the pins the judge skips could matter. */
	qsort(ties, nt, sizeof(*ties), tie_cmp);
	for (size_t i = 1; i < nt; i++)
		if (ties[i].id == ties[i - 1].id && tie_cmp(&ties[i], &ties[i - 1])) {
			ret = -1;
			goto out;
		}
	rec->src = malloc((rec->nr_unsettled ? rec->nr_unsettled : 1) * sizeof(*rec->src));
	if (!rec->src) {
		ret = -1;
		goto out;
	}
	for (size_t u = 0; u < rec->nr_unsettled; u++) {
		const struct rr_prov *v = &rec->pos[rec->unsettled[u]];

		if (v->kind == PV_CRASH)
			rec->src[rec->nr_src++] = (struct rr_src){ v->disk, v->a, u };
	}
	qsort(rec->src, rec->nr_src, sizeof(*rec->src), src_cmp);
	for (size_t p = 0; p < rec->nr_pos; p++) {
		const struct rr_prov *v = &rec->pos[p];

		if (rec->settled[p] && v->kind == PV_CRASH)
			bit_set(rec->d[v->disk].settled_src, v->a);
	}
out:
	if (mc)
		model_destroy(mc);
	free(ties);
	if (ret)
		REC_BAD(rec);
	return ret;
}

struct judge_diff {
	const struct replay_rec *rec;
	unsigned disk;
	struct sim_disk *crashed;
	bool differs;          /* on control, on what a settled position reads, or not allowed */
};

/* The first index entry at (disk, sector) or after it. */
static size_t src_lower(const struct replay_rec *rec, unsigned disk, uint64_t sector)
{
	size_t lo = 0, hi = rec->nr_src;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct rr_src *m = &rec->src[mid];

		if (m->disk < disk || (m->disk == disk && m->sector < sector))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Sectors [sector, sector + nr) of a disk differ from the reference's:
 * each unsettled position reading one must allow the state's bytes there.
 */
static void judge_run(void *ctx, sector_t sector, uint32_t nr)
{
	struct judge_diff *jd = ctx;
	const struct replay_rec *rec = jd->rec;
	const struct rr_disk *d = &rec->d[jd->disk];
	uint8_t buf[SECTOR_SIZE];

	if (jd->differs)
		return;
	if (bits_any(d->control, sector, nr) || bits_any(d->settled_src, sector, nr)) {
		jd->differs = true;
		return;
	}
	for (size_t i = src_lower(rec, jd->disk, sector);
	     i < rec->nr_src && rec->src[i].disk == jd->disk && rec->src[i].sector < sector + nr;) {
		uint64_t s = rec->src[i].sector;
		struct model_content c;

		if (sim_disk_read_durable(jd->crashed, s, 1, buf)) {
			jd->differs = true;
			return;
		}
		c = model_content_of_memo(rec->cmemo, buf);
		for (; i < rec->nr_src && rec->src[i].disk == jd->disk && rec->src[i].sector == s; i++) {
			const struct rr_allow *a = &rec->allow[rec->src[i].u];
			bool ok = false;

			for (unsigned k = 0; k < a->n && !ok; k++)
				ok = model_content_eq(&rec->acont[a->first + k], &c);
			if (a->hard || !ok) {
				jd->differs = true;
				return;
			}
		}
	}
}

void replay_rec_use_memo(struct replay_rec *rec, struct model_content_memo *cm)
{
	rec->cmemo = cm;
}

int replay_rec_judge(struct replay_rec *rec, struct sim_disk **crashed, uint64_t seed)
{
	if (rec->bad || !rec->finished || (rec->have_seed && seed != rec->seed))
		return 1;
	for (unsigned i = 0; i < rec->nd; i++) {
		struct judge_diff jd = { rec, i, crashed[i], false };

		if (sim_disk_durable_diff(crashed[i], rec->d[i].crashed, judge_run, &jd) ||
		    jd.differs)
			return 1;
	}
	return 0;
}
