/*
 * replay_step_dm.c - the dm steps of a trace: each verb (create, load,
 * table pipe, clear, suspend, resume, remove) run on the world's registry
 * with the device records and the model kept in step, and the output
 * queries (status, table, deps, info) checked against what the trace
 * expects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_impl.h"

static void suspend_done(void *ctx, int status)
{
	struct rp_pending_suspend *ps = ctx;
	struct replay_world *w = ps->w;
	char a[32], b[32];

	ps->done = true;
	ps->status = status;
	sim_sched_logf(&w->sched, "suspend %s done %d", ps->dev, status);
	if (status != ps->expect_error)
		rp_fail(w, ps->line, "suspend %s: expected %s, got %s", ps->dev,
			rp_errname(ps->expect_error, a, sizeof(a)), rp_errname(status, b, sizeof(b)));
}

static bool suspend_finished(struct replay_world *w, void *ctx)
{
	(void)w;
	return ((struct rp_pending_suspend *)ctx)->done;
}

/* Word n (0-based) of line t, into buf; false when there is none or it is long. */
static bool word_at(const char *t, unsigned n, char *buf, size_t len)
{
	size_t k;

	for (;;) {
		t += strspn(t, " \t");
		if (!*t || *t == '\n')
			return false;
		k = strcspn(t, " \t\n");
		if (!n--)
			break;
		t += k;
	}
	if (k >= len)
		return false;
	memcpy(buf, t, k);
	buf[k] = 0;
	return true;
}

/*
 * An accepted table with a snapshot line: remember how it names its
 * origin and COW, by the device each word means (device numbers read as
 * names first), for the explorer's coverage of aliases.
 */
static void note_spellings(struct replay_world *w, const char *table)
{
	char *names = rp_table_names(w, table);
	char type[32], raw[64], name[64], dev[TRACE_NAME_MAX];
	bool is_dm;

	if (!names)
		return;
	if (word_at(table, 2, type, sizeof(type)) &&
	    (!strcmp(type, "snapshot") || !strcmp(type, "snapshot-merge")))
		for (unsigned k = 3; k <= 4; k++) {
			if (!word_at(table, k, raw, sizeof(raw)) ||
			    !word_at(names, k, name, sizeof(name)) ||
			    !rp_resolve(w, name, dev, sizeof(dev), &is_dm))
				continue;
			bool same = false;

			for (unsigned i = 0; i < w->nr_spell; i++)
				if (!strcmp(w->spell[i].dev, dev)) {
					if (strcmp(w->spell[i].word, raw))
						w->aliased = true;
					else
						same = true;
				}
			if (!same && w->nr_spell < sizeof(w->spell) / sizeof(w->spell[0])) {
				snprintf(w->spell[w->nr_spell].dev, sizeof(w->spell[0].dev), "%s", dev);
				snprintf(w->spell[w->nr_spell].word, sizeof(w->spell[0].word), "%s", raw);
				w->nr_spell++;
			}
		}
	free(names);
}

enum rp_run rp_step_dm(struct replay_world *w, const struct trace_step *st)
{
	const struct trace_dm *dm = &st->u.dm;
	struct ss_error err;
	unsigned fl = 0;
	struct rp_dev *d;
	char *text = NULL;
	int r = 0;
	enum rp_run rr = RP_COND;
	char a[32], b[32];

	ss_error_clear(&err);
	if (dm->flags & TRACE_DM_READONLY)
		fl |= DM_READ_ONLY;
	if (dm->flags & TRACE_DM_NOFLUSH)
		fl |= DM_SUSPEND_NOFLUSH;
	switch (dm->verb) {
	case TRACE_DM_CREATE:
		r = dm_create(w->reg, dm->name, dm->uuid, dm->table, fl, &err);
		if (!r) {
			d = rp_dev_add(w, dm->name);
			if (!d) {
				rp_fail(w, st->line, "out of memory");
				return RP_FAIL;
			}
			if (dm->table)
				rp_dev_refresh(w, d, true);
		}
		break;
	case TRACE_DM_LOAD:
		r = dm_load(w->reg, dm->name, dm->table, fl, &err);
		if (!r && (d = rp_dev_find(w, dm->name)))
			d->staged = true;
		break;
	case TRACE_DM_TABLE_PIPE:
		r = dm_table_text(w->reg, dm->name, false, &text, &err);
		if (!r)
			r = dm_load(w->reg, dm->pipe_dst, text, fl, &err);
		free(text);
		if (!r && (d = rp_dev_find(w, dm->pipe_dst)))
			d->staged = true;
		break;
	case TRACE_DM_CLEAR:
		r = dm_clear(w->reg, dm->name, &err);
		if (!r && (d = rp_dev_find(w, dm->name)))
			d->staged = false;
		break;
	case TRACE_DM_SUSPEND: {
		struct rp_pending_suspend *ps = calloc(1, sizeof(*ps));

		if (!ps) {
			rp_fail(w, st->line, "out of memory");
			return RP_FAIL;
		}
		ps->w = w;
		snprintf(ps->dev, sizeof(ps->dev), "%s", dm->name);
		ps->line = st->line;
		ps->column = st->column;
		ps->next = w->suspends;
		w->suspends = ps;
		r = dm_suspend(w->reg, dm->name, fl, suspend_done, ps, &err);
		if (r) {
			ps->done = true;
			break;
		}
		/* Its completion is checked against the step when it arrives. */
		ps->expect_error = 0;
		rr = rp_run(w, suspend_finished, ps);
		if (rr == RP_IDLE)
			rr = RP_COND; /* still suspending: I/O it waits for is held elsewhere */
		return rr;
	}
	case TRACE_DM_RESUME:
		r = dm_resume(w->reg, dm->name, fl, &err);
		if ((d = rp_dev_find(w, dm->name))) {
			bool staged = d->staged;

			if (!r)
				d->staged = false;
			rp_dev_refresh(w, d, !r && staged);
		}
		break;
	case TRACE_DM_REMOVE:
		r = dm_remove(w->reg, dm->name, &err);
		if (!r) {
			model_dev_remove(w->model, dm->name);
			rp_dev_forget(w, dm->name);
		}
		break;
	}
	sim_sched_logf(&w->sched, "dm %s -> %d", dm->text, r);
	if (!r && dm->table && (dm->verb == TRACE_DM_CREATE || dm->verb == TRACE_DM_LOAD))
		note_spellings(w, dm->table);
	if (r && (dm->verb == TRACE_DM_CREATE || dm->verb == TRACE_DM_LOAD ||
		  dm->verb == TRACE_DM_TABLE_PIPE))
		w->tables_rejected++;
	if (w->failed)
		return RP_FAIL;
	if (w->session && r) {
		/* A command typed while mounted: the error is its user's answer. */
		w->session_status = r;
		ss_error_format(&err, w->session_msg, sizeof(w->session_msg));
		return RP_COND;
	}
	if (r != st->expect_error) {
		char eb[SS_ERROR_MSG_MAX + 64];

		rp_fail(w, st->line, "dm %s: expected %s, got %s%s%s", dm->text,
			rp_errname(st->expect_error, a, sizeof(a)), rp_errname(r, b, sizeof(b)),
			r ? ": " : "", r ? ss_error_format(&err, eb, sizeof(eb)) : "");
		return RP_FAIL;
	}
	if (r && st->expect_message && !strstr(err.msg, st->expect_message)) {
		rp_fail(w, st->line, "dm %s: expected a message containing \"%s\", got \"%s\"",
			dm->text, st->expect_message, err.msg);
		return RP_FAIL;
	}
	if (r && w->res)
		w->res->expects_checked++;
	return rr;
}

enum rp_run rp_step_query(struct replay_world *w, const struct trace_step *st)
{
	const struct trace_query *qy = &st->u.query;
	static const char *const names[] = { "status", "table", "deps", "info" };
	struct ss_error err;
	char *out = NULL;
	char a[32], b[32];
	int r;

	ss_error_clear(&err);
	switch (qy->kind) {
	case TRACE_QUERY_STATUS: r = dm_status_text(w->reg, qy->dev, qy->inactive, &out, &err); break;
	case TRACE_QUERY_TABLE: r = dm_table_text(w->reg, qy->dev, qy->inactive, &out, &err); break;
	case TRACE_QUERY_DEPS: r = dm_deps_text(w->reg, qy->dev, qy->inactive, &out, &err); break;
	default: r = dm_info_text(w->reg, qy->dev, &out, &err); break;
	}
	if (r != st->expect_error) {
		rp_fail(w, st->line, "%s %s: expected %s, got %s", names[qy->kind], qy->dev,
			rp_errname(st->expect_error, a, sizeof(a)), rp_errname(r, b, sizeof(b)));
		free(out);
		return RP_FAIL;
	}
	if (!r && out) {
		size_t n = strlen(out);

		if (n && out[n - 1] == '\n')
			out[--n] = 0;
		sim_sched_logf(&w->sched, "%s %s: %s", names[qy->kind], qy->dev, out);
		if (qy->expect) {
			if (strcmp(out, qy->expect)) {
				rp_fail(w, st->line, "%s %s: expected \"%s\", found \"%s\"",
					names[qy->kind], qy->dev, qy->expect, out);
				free(out);
				return RP_FAIL;
			}
			if (w->res)
				w->res->expects_checked++;
		}
	} else if (r && w->res) {
		w->res->expects_checked++;
	}
	free(out);
	return RP_COND;
}
