/*
 * replay_rec_judge.c - judging crash states against a finished recording
 * (replay_rec.h says what and why): which positions the reference's model
 * settles, carrying a reference to a later crash point, and the judge.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "replay_rec_impl.h"

/* A test write applied to the model: its predicted status. */
static int write_model(struct model *m, const char *dev, const struct rr_event *e,
		       uint64_t seed)
{
	struct model_data md = { .kind = MODEL_DATA_PATTERN, .seed = seed, .base = e->sector };
	uint64_t id;
	int predicted;

	predicted = model_write_begin(m, dev, e->sector, e->n, &md,
				      (e->flags & BIO_FUA) ? MODEL_FUA : 0, &id);
	model_write_end(m, id, e->status);
	return predicted;
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

/*
 * Whether every sector state (id) in ties[] takes its bytes from one
 * source: a hash table of the first source of each id (a sort cost more
 * than the rest of a rebase's bookkeeping).
 */
static bool ties_one_source(const struct rr_tie *ties, size_t nt)
{
	size_t cap = 16, mask;
	struct rr_tie *tab;
	bool ok = true;

	while (cap < 2 * nt)
		cap *= 2;
	mask = cap - 1;
	tab = calloc(cap, sizeof(*tab)); /* id 0: empty (ties have ids) */
	if (!tab)
		return false;
	for (size_t i = 0; i < nt && ok; i++) {
		size_t h = (size_t)pattern_mix64(ties[i].id) & mask;

		while (tab[h].id && tab[h].id != ties[i].id)
			h = (h + 1) & mask;
		if (!tab[h].id)
			tab[h] = ties[i];
		else
			ok = !tie_cmp(&tab[h], &ties[i]);
	}
	free(tab);
	return ok;
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

	if (rr_grow((void **)&rec->unsettled, &rec->cap_unsettled, rec->nr_unsettled + 1,
		 sizeof(*rec->unsettled)) ||
	    rr_grow((void **)&rec->allow, &cap, rec->nr_unsettled + 1, sizeof(*rec->allow)) ||
	    rr_grow((void **)&rec->acont, &rec->cap_acont, rec->nr_acont + x->n, sizeof(*rec->acont)))
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
	size_t pos;   /* the read's first position */
};

/* What the reference read at position p (0), or -1 when it is not known. */
static int ref_content(struct replay_rec *rec, size_t p, struct model_content *c)
{
	const struct rr_prov *v = &rec->pos[p];
	uint8_t buf[SECTOR_SIZE];

	switch (v->kind) {
	case PV_CRASH:
		if (sim_disk_read_durable(rec->d[v->disk].crashed, v->a, 1, buf))
			return -1;
		break;
	case PV_PATTERN: /* pattern_fill(seed, a) identifies as itself: no bytes needed */
		*c = (struct model_content){ .a = rec->seed, .b = v->a, .kind = MODEL_C_PATTERN };
		return 0;
	case PV_FIXED:
		if (!rec->fixed_c || v->a >= rec->nr_fixed)
			return -1;
		*c = rec->fixed_c[v->a];
		return 0;
	default:
		return -1;
	}
	*c = model_content_of_memo(rec->cmemo, buf);
	return 0;
}

static bool allows(const struct model_expect *x, const struct model_content *c)
{
	if (!x->may_succeed)
		return false;
	for (unsigned k = 0; k < x->n; k++)
		if (model_content_eq(&x->c[k], c))
			return true;
	return false;
}

/* One read sector's allowed contents: settled or unsettled, and its tie. */
static int finish_one(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id)
{
	struct finish_ctx *fc = ctx;
	struct replay_rec *rec = fc->rec;
	size_t p = fc->pos + k;
	const struct rr_prov *v = &rec->pos[p];
	bool settled = x->may_succeed && !x->may_fail && x->n_total == 1;
	struct model_content c;

	if (ref_content(rec, p, &c) || !allows(x, &c))
		return -1;
	if (settled)
		rec->settled[p] = 1;
	else if (add_unsettled(rec, p, x))
		return -1;
	if (id && (v->kind == PV_CRASH || !rec->settled[p]))
		fc->ties[fc->nt++] = (struct rr_tie){ id, v->kind, v->disk, v->a };
	return 0;
}

/*
 * Sectors k..k+n-1 of the read hold the model disk's initial content from
 * abs on, nobody having written them: settled. What the reference read
 * there is known when each position took its bytes from that very sector
 * of its crashed image and the image holds its initial content there
 * (mostly without reading: sim_disk_durable_initial; the model's disk i is
 * the world's disk i, replay_build adds them in order).
 * Anything else goes one by one through finish_one.
 */
static int finish_run(void *ctx, uint32_t k, uint32_t n, uint32_t disk, model_sector_t abs)
{
	struct finish_ctx *fc = ctx;
	struct replay_rec *rec = fc->rec;
	size_t p0 = fc->pos + k;
	uint32_t j = 0, h = 0;

	for (; j < n; j++) {
		const struct rr_prov *v = &rec->pos[p0 + j];

		if (v->kind != PV_CRASH || v->disk != disk || v->a != abs + j)
			break;
	}
	if (disk < rec->nd) {
		/* The longest prefix the image holds initial, a page at a time. */
		while (h < j) {
			uint32_t piece = SIM_PAGE_SECTORS - (uint32_t)((abs + h) % SIM_PAGE_SECTORS);

			if (piece > j - h)
				piece = j - h;
			if (sim_disk_durable_initial(rec->d[disk].crashed, abs + h, piece)) {
				h += piece;
				continue;
			}
			while (h < j && sim_disk_durable_initial(rec->d[disk].crashed, abs + h, 1))
				h++;
			break;
		}
	}
	memset(rec->settled + p0, 1, h);
	return (int)h;
}

/* A failed read: the model must still allow it to fail (carrying). */
static int failed_one(void *ctx, uint32_t k, const struct model_expect *x, uint64_t id)
{
	(void)ctx;
	(void)k;
	(void)id;
	return x->may_fail ? 0 : -1;
}

/* Forget what the last settle derived. */
static void settle_reset(struct replay_rec *rec)
{
	rec->nr_unsettled = 0;
	rec->nr_acont = 0;
	rec->nr_src = 0;
	if (rec->settled)
		memset(rec->settled, 0, rec->nr_pos ? rec->nr_pos : 1);
	for (unsigned i = 0; i < rec->nd; i++)
		if (rec->d[i].settled_src)
			memset(rec->d[i].settled_src, 0,
			       (size_t)(rec->d[i].size + 63) / 64 * sizeof(uint64_t));
}

/*
 * Judge every position once on model m with the test writes and no read
 * applied: one allowed content makes it settled; the others keep their
 * allowed sets. Pins tie reads of one sector state: the judge may check
 * each position alone only when every read of one state takes its bytes
 * from one source, which it checks here. The reference's own reads must
 * pass on m (its own recovered model when the recording ends: the check
 * read past the model, replay_rec.h; a later point's when carrying): the
 * test writes' predicted statuses, failed reads allowed to fail, and each
 * position's content among the allowed ones.
 */
static int settle(struct replay_rec *rec, struct model *mc)
{
	struct finish_ctx fc;
	struct rr_tie *ties;
	size_t nt = 0;
	int ret = 0;

	settle_reset(rec);
	if (!rec->settled)
		rec->settled = calloc(rec->nr_pos ? rec->nr_pos : 1, 1);
	ties = malloc((rec->nr_pos ? rec->nr_pos : 1) * sizeof(*ties));
	fc = (struct finish_ctx){ rec, ties, 0, 0 };
	if (!rec->settled || !mc || !ties || (rec->nr_fixed && !rec->fixed_c)) {
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < rec->nr_ev && !ret; i++) {
		const struct rr_event *e = &rec->ev[i];
		const char *dev = rec->names[e->dev];

		if (e->write) {
			if (write_model(mc, dev, e, rec->seed) != e->status)
				ret = -1;
			continue;
		}
		if (e->status) {
			memset(rec->settled + e->pos, 1, e->n);
			if (model_read_expect_ids(mc, dev, e->sector, e->n, failed_one, NULL))
				ret = -1;
			continue;
		}
		fc.pos = e->pos;
		if (model_read_expect_runs(mc, dev, e->sector, e->n, finish_one, finish_run, &fc))
			ret = -1;
	}
	nt = fc.nt;
	if (ret)
		goto out;
	/* One sector state, one source: else the pins the judge skips could matter. */
	if (!ties_one_source(ties, nt)) {
		ret = -1;
		goto out;
	}
	if (rr_grow((void **)&rec->src, &rec->cap_src, rec->nr_unsettled ? rec->nr_unsettled : 1,
		    sizeof(*rec->src))) {
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
			rr_bit_set(rec->d[v->disk].settled_src, v->a);
	}
out:
	if (mc)
		model_destroy(mc);
	free(ties);
	if (ret)
		REC_BAD(rec);
	return ret;
}

int replay_rec_finish(struct replay_rec *rec)
{
	int r;

	if (rec->bad || !rec->started || rec->rbuf || rec->wbuf || !rec->m0)
		return -1;
	rec->finished = true;
	/* A later point's model comes with replay_rec_rebase: m0 is done. */
	r = settle(rec, rec->m0);
	rec->m0 = NULL;
	return r;
}

int replay_rec_rebase(struct replay_rec *rec, const struct model *m)
{
	if (rec->bad || !rec->finished || rec->no_carry)
		return -1;
	return settle(rec, model_clone(m));
}

void replay_rec_no_carry(struct replay_rec *rec)
{
	rec->no_carry = true;
}

struct control_diff {
	const struct rr_disk *d;
	bool differs;
};

static void control_run(void *ctx, sector_t sector, uint32_t nr)
{
	struct control_diff *cd = ctx;

	if (!cd->differs && rr_bits_any(cd->d->control, sector, nr))
		cd->differs = true;
}

bool replay_rec_control_same(const struct replay_rec *rec, struct sim_disk **crashed)
{
	if (rec->bad || !rec->finished)
		return false;
	for (unsigned i = 0; i < rec->nd; i++) {
		struct control_diff cd = { &rec->d[i], false };

		/* The bitmaps are the reference's size: another size is another disk. */
		if (sim_disk_config(crashed[i])->size_sectors != rec->d[i].size ||
		    sim_disk_durable_diff(crashed[i], rec->d[i].crashed, control_run, &cd) ||
		    cd.differs)
			return false;
	}
	return true;
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
	if (rr_bits_any(d->control, sector, nr) || rr_bits_any(d->settled_src, sector, nr)) {
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

		if (sim_disk_config(crashed[i])->size_sectors != rec->d[i].size ||
		    sim_disk_durable_diff(crashed[i], rec->d[i].crashed, judge_run, &jd) ||
		    jd.differs)
			return 1;
	}
	return 0;
}