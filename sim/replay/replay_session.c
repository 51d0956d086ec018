/*
 * replay_session.c - a world kept after its trace (replay_session.h): the
 * trace run by the ordinary step loop, then the caller's own requests run
 * one at a time to completion, and more steps parsed from text after the
 * trace's last one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_impl.h"
#include "replay_session.h"

struct replay_session {
	struct trace_reader *rd;
	struct replay_world *w;
	struct replay_opts opts;      /* the world points at these two */
	struct replay_result res;
	struct rp_req *held;          /* requests answered -EIO that complete later */
	unsigned nr_held;
};

enum replay_status replay_session_open(const char *path, const struct replay_opts *opts,
				       struct replay_session **out, struct replay_result *res,
				       struct trace_error *err)
{
	struct replay_session *s = calloc(1, sizeof(*s));
	enum replay_status st;

	*out = NULL;
	memset(res, 0, sizeof(*res));
	if (!s) {
		snprintf(res->failure, sizeof(res->failure), "out of memory");
		return res->status = REPLAY_ERROR;
	}
	if (opts)
		s->opts = *opts;
	if (replay_validate(path, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		free(s);
		return res->status = REPLAY_INVALID;
	}
	trace_error_clear(err);
	if (trace_open(path, 0, &s->rd, err)) {
		snprintf(res->failure, sizeof(res->failure), "%s", err->text);
		free(s);
		return res->status = REPLAY_ERROR;
	}
	st = rp_run_reader(s->rd, path, &s->opts, &s->res, err, &s->w);
	*res = s->res;
	if (st != REPLAY_PASS || !s->w) {
		trace_close(s->rd);
		free(s);
		return st;
	}
	s->w->session = true;
	/* The trace's event hash is in res; nobody reads the log's hash after
	 * it, so the caller's requests skip formatting lines no sink takes. */
	s->w->sched.no_fingerprint = !s->opts.log;
	*out = s;
	return REPLAY_PASS;
}

void replay_session_close(struct replay_session *s)
{
	if (!s)
		return;
	replay_world_destroy(s->w); /* frees the held requests with the others */
	trace_close(s->rd);
	free(s);
}

struct replay_world *replay_session_world(struct replay_session *s)
{
	return s->w;
}

int replay_session_devices(struct replay_session *s, struct replay_session_dev **list,
			   unsigned *nr)
{
	struct replay_world *w = s->w;
	unsigned n = w->nr_disks + w->nr_devs;
	struct replay_session_dev *v = calloc(n ? n : 1, sizeof(*v));
	bool *dc = calloc(w->nr_devs ? w->nr_devs : 1, sizeof(bool));
	bool *kc = calloc(w->nr_disks ? w->nr_disks : 1, sizeof(bool));

	if (!v || !dc || !kc) {
		free(v);
		free(dc);
		free(kc);
		return -ENOMEM;
	}
	replay_world_cow_holders(w, dc, kc);
	*nr = 0;
	for (unsigned i = 0; i < w->nr_disks; i++) {
		struct replay_session_dev *d = &v[(*nr)++];
		const struct bdev *bd = &w->disks[i].tap.base;

		snprintf(d->name, sizeof(d->name), "%s", w->disks[i].name);
		d->size_sectors = bd->size_sectors;
		d->block_bytes = bd->logical_block_bytes ? bd->logical_block_bytes : 512;
		d->discard = bd->caps & BDEV_CAP_DISCARD;
		d->holds_cow = kc[i];
	}
	for (unsigned i = 0; i < w->nr_devs; i++) {
		struct replay_session_dev *d = &v[(*nr)++];
		struct dm_device *md = dm_find_device(w->reg, w->devs[i].name);
		const struct bdev *bd = md ? dm_device_bdev(md) : NULL;

		snprintf(d->name, sizeof(d->name), "%s", w->devs[i].name);
		d->is_dm = true;
		d->size_sectors = bd && w->devs[i].live ? bd->size_sectors : 0;
		d->block_bytes = bd && bd->logical_block_bytes ? bd->logical_block_bytes : 512;
		d->discard = bd && (bd->caps & BDEV_CAP_DISCARD);
		d->holds_cow = dc[i];
	}
	free(dc);
	free(kc);
	*list = v;
	return 0;
}

/* Whether dm device name, or a dm device its live table maps to, is suspended. */
static bool suspended_below(struct replay_world *w, const char *name, unsigned depth)
{
	const struct rp_dev *d;
	const char *p;

	if (!strncmp(name, "/dev/mapper/", 12))
		name += 12;
	if (!dm_find_device(w->reg, name))
		return false;
	if (dm_is_suspended(w->reg, name))
		return true;
	d = rp_dev_find(w, name);
	if (!d || !d->live || depth > 16)
		return false;
	for (p = d->live; *p;) {
		char word[TRACE_NAME_MAX + 16];
		size_t n = strcspn(p, " \t\n");

		if (n && n < sizeof(word)) {
			memcpy(word, p, n);
			word[n] = 0;
			if (strcmp(word, name) && suspended_below(w, word, depth + 1))
				return true;
		}
		p += n;
		p += strspn(p, " \t\n");
	}
	return false;
}

static bool req_is_done(struct replay_world *w, void *ctx)
{
	(void)w;
	return ((struct rp_req *)ctx)->done;
}

int replay_session_io(struct replay_session *s, const char *dev, enum bio_op op,
		      unsigned flags, sector_t sector, uint32_t nr, uint8_t *buf)
{
	struct replay_world *w = s->w;
	char mname[TRACE_NAME_MAX];
	bool is_dm = false;
	struct bdev *bd = rp_resolve(w, dev, mname, sizeof(mname), &is_dm);
	size_t bytes = (size_t)nr * 512;
	struct rp_req *q;
	enum rp_run r;
	int status;

	if (!bd)
		return -ENOENT;
	if (is_dm && suspended_below(w, mname, 0))
		return -EAGAIN;
	q = rp_req_new(w);
	if (!q)
		return -ENOMEM;
	/* The request owns its buffer: a held request outlives the caller's. */
	if (bytes && op != BIO_DISCARD) {
		q->buf = malloc(bytes);
		if (!q->buf) {
			rp_req_free(q);
			return -ENOMEM;
		}
		if (op == BIO_WRITE)
			memcpy(q->buf, buf, bytes);
	}
	snprintf(q->dev, sizeof(q->dev), "%s", mname);
	q->is_dm = is_dm;
	q->unchecked = true;
	if (op == BIO_FLUSH) {
		sector = 0;
		nr = 0;
	}
	bio_init(&q->bio, bd, op, flags, sector, nr, q->buf, NULL, NULL);
	rp_req_submit(q);
	r = rp_run(w, req_is_done, q);
	if (r == RP_COND) {
		status = q->status;
		if (op == BIO_READ && !status)
			memcpy(buf, q->buf, bytes);
		rp_req_free(q);
		rp_poll_devices(w);
		return status;
	}
	/* Held below (or the world stopped): it stays in w->reqs and is
	 * freed with the world if it never completes. */
	s->nr_held++;
	return -EINPROGRESS;
}

void replay_session_late(struct replay_session *s, replay_session_late_fn *fn, void *ctx)
{
	if (!s->nr_held)
		return;
	for (struct rp_req *q = s->w->reqs, *n; q; q = n) {
		n = q->next;
		if (!q->unchecked || !q->done)
			continue;
		if (fn)
			fn(ctx, q->dev, q->bio.op, q->bio.flags, q->bio.sector, q->bio.nr_sectors,
			   q->buf, q->status);
		rp_req_free(q);
		s->nr_held--;
	}
}

static int query(struct replay_world *w, const struct trace_query *qy, char **out,
		 char *msg, size_t len)
{
	struct ss_error err;
	char *text = NULL;
	int r;

	ss_error_clear(&err);
	switch (qy->kind) {
	case TRACE_QUERY_STATUS: r = dm_status_text(w->reg, qy->dev, qy->inactive, &text, &err); break;
	case TRACE_QUERY_TABLE: r = dm_table_text(w->reg, qy->dev, qy->inactive, &text, &err); break;
	case TRACE_QUERY_DEPS: r = dm_deps_text(w->reg, qy->dev, qy->inactive, &text, &err); break;
	default: r = dm_info_text(w->reg, qy->dev, &text, &err); break;
	}
	if (r) {
		ss_error_format(&err, msg, (unsigned)len);
		free(text);
		return r;
	}
	if (text) {
		size_t n = strlen(text);

		if (n && text[n - 1] == '\n')
			text[n - 1] = 0;
	}
	if (out)
		*out = text;
	else
		free(text);
	return 0;
}

int replay_session_step(struct replay_session *s, const char *text, char **out,
			bool *is_syntax, char *msg, size_t len)
{
	struct replay_world *w = s->w;
	struct trace_error err;
	struct trace_item it;
	const struct trace_step *st;
	enum rp_run r;
	int rc;

	if (out)
		*out = NULL;
	*is_syntax = false;
	msg[0] = 0;
	rc = trace_next_text(s->rd, "control", text, strlen(text), &it, &err);
	if (rc < 0) {
		*is_syntax = true;
		snprintf(msg, len, "%s", err.text);
		return rc;
	}
	st = it.step;
	if (st->kind != TRACE_STEP_DM && st->kind != TRACE_STEP_QUERY &&
	    st->kind != TRACE_STEP_SETTLE && st->kind != TRACE_STEP_WAIT &&
	    st->kind != TRACE_STEP_CRASH) {
		*is_syntax = true;
		snprintf(msg, len, "control: only dm commands, queries, settle and crash markers");
		return -EINVAL;
	}
	if (st->kind == TRACE_STEP_QUERY)
		return query(w, &st->u.query, out, msg, len);
	w->session_status = 0;
	w->session_msg[0] = 0;
	r = rp_run_step(w, &it);
	rp_req_reap(w);
	if (r != RP_COND) {
		snprintf(msg, len, "%s", w->fail[0] ? w->fail : "the step did not finish");
		return -EIO;
	}
	if (w->session_status) {
		/* The core refused it: the names the text defined or dropped are back. */
		if (st->kind == TRACE_STEP_DM && st->u.dm.verb == TRACE_DM_CREATE)
			trace_name_set(s->rd, st->u.dm.name, false);
		if (st->kind == TRACE_STEP_DM && st->u.dm.verb == TRACE_DM_REMOVE)
			trace_name_set(s->rd, st->u.dm.name, true);
		snprintf(msg, len, "%s", w->session_msg);
		return w->session_status;
	}
	return 0;
}
