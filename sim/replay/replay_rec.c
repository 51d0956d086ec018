/*
 * replay_rec.c - the provenance recorder of a reference state (replay_rec.h
 * says what and why; replay_rec_judge.c judges other states against it).
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

#include "pattern.h"
#include "replay_rec_impl.h"

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
	free(rec->fixed_c);
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
		rr_bit_set(rec->d[disk].control, sector + i);
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
		rr_bit_set(rec->d[p->disk].control, p->a);
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
	if (rr_grow((void **)&rec->copies, &rec->cap_copies, rec->nr_copies + 1,
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
	if (rr_grow((void **)&rec->names, &cap, rec->nr_names + 1, sizeof(*rec->names)))
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

	if (di < 0 || rr_grow((void **)&rec->ev, &rec->cap_ev, rec->nr_ev + 1, sizeof(*rec->ev))) {
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
	if (!e || rr_grow((void **)&rec->pos, &rec->cap_pos, rec->nr_pos + n, sizeof(*rec->pos))) {
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
#define RR_VERIFY_RUN 64

void rp_rec_read_end(struct replay_rec *rec, int status, const uint8_t *buf)
{
	uint8_t tmp[RR_VERIFY_RUN * SECTOR_SIZE];

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
		uint32_t n = 1;

		switch (p->kind) {
		case PV_CRASH:
			/* Consecutive sectors of one image: one read, one compare. */
			while (i + n < rec->rn && n < RR_VERIFY_RUN && p[n].kind == PV_CRASH &&
			       p[n].disk == p->disk && p[n].a == p->a + n)
				n++;
			if (sim_disk_read_durable(rec->d[p->disk].crashed, p->a, n, tmp) ||
			    memcmp(tmp, got, (size_t)n * SECTOR_SIZE))
				REC_BAD(rec);
			i += n - 1;
			break;
		case PV_PATTERN:
			pattern_fill(rec->seed, p->a, tmp);
			if (!rec->have_seed || memcmp(tmp, got, SECTOR_SIZE))
				REC_BAD(rec);
			break;
		default:
			/* The same in every state: its content and a name of its own,
			 * so that two such reads never pass for one source. */
			if (rr_grow((void **)&rec->fixed_c, &rec->cap_fixed_c, rec->nr_fixed + 1,
				    sizeof(*rec->fixed_c))) {
				REC_BAD(rec);
				break;
			}
			rec->fixed_c[rec->nr_fixed] = model_content_of(got);
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
