/*
 * mount_control.c - the control file (mount_control.h): a line becomes the
 * YAML of one trace step, which the session parses with the trace
 * language's own dm-command parser and runs with the replayer's dm steps;
 * the same text goes into the recording.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount_control.h"
#include "mount_record.h"
#include "replay_session.h"

static int grow(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 256;

	while (n < need)
		n *= 2;
	char *q = realloc(*p, n);

	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static void answer_add(struct mount_ctl *c, const char *s)
{
	size_t n = strlen(s);

	if (grow(&c->answer, &c->answer_cap, c->answer_len + n + 2))
		return;
	memcpy(c->answer + c->answer_len, s, n);
	c->answer_len += n;
	if (!n || s[n - 1] != '\n')
		c->answer[c->answer_len++] = '\n';
	c->answer[c->answer_len] = 0;
}

void mount_ctl_free(struct mount_ctl *c)
{
	free(c->answer);
	free(c->partial);
	memset(c, 0, sizeof(*c));
}

void mount_ctl_reset(struct mount_ctl *c)
{
	c->answer_len = 0;
	if (c->answer)
		c->answer[0] = 0;
	c->partial_len = 0;
}

/* A growing string for the step's YAML. */
struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->oom || grow(&t->p, &t->cap, t->len + n + 1)) {
		t->oom = true;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = 0;
}

static void text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static void text_quoted(struct text *t, const char *s, size_t n)
{
	text_add(t, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char esc[8];

		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = s[i];
			text_add(t, esc, 2);
		} else if ((unsigned char)s[i] < 0x20) {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)s[i]);
			text_add(t, esc, strlen(esc));
		} else {
			text_add(t, s + i, 1);
		}
	}
	text_add(t, "\"", 1);
}

static size_t word_len(const char *s)
{
	return strcspn(s, " \t");
}

static const char *skip_blank(const char *s)
{
	return s + strspn(s, " \t");
}

static bool word_is(const char *s, size_t n, const char *w)
{
	return n == strlen(w) && !strncmp(s, w, n);
}

/*
 * The body of the step a line asks for (`dm: "..."`, `status: "X"`), or
 * -EINVAL with msg. query is set for a query step.
 */
static int line_body(const char *line, struct text *body, bool *query, char *msg, size_t len)
{
	const char *s = skip_blank(line), *a;
	size_t n = word_len(s);

	*query = false;
	if (word_is(s, n, "dmsetup")) {
		s = skip_blank(s + n);
		n = word_len(s);
	}
	if (word_is(s, n, "status") || word_is(s, n, "info") || word_is(s, n, "deps") ||
	    (word_is(s, n, "table") && !strchr(s, '|'))) {
		size_t an;
		bool inactive = false;

		a = skip_blank(s + n);
		an = word_len(a);
		if (!an) {
			snprintf(msg, len, "%.*s needs a device name", (int)n, s);
			return -EINVAL;
		}
		const char *rest = skip_blank(a + an);

		if (*rest) {
			if (!word_is(rest, word_len(rest), "--inactive") ||
			    *skip_blank(rest + word_len(rest)) || word_is(s, n, "info")) {
				snprintf(msg, len, "unexpected '%s' after the device name", rest);
				return -EINVAL;
			}
			inactive = true;
		}
		*query = true;
		text_add(body, s, n);
		text_str(body, ": ");
		text_quoted(body, a, an);
		if (inactive)
			text_str(body, ", inactive: true");
		return 0;
	}
	if (word_is(s, n, "settle")) {
		if (*skip_blank(s + n)) {
			snprintf(msg, len, "settle takes no argument");
			return -EINVAL;
		}
		text_str(body, "settle: true");
		return 0;
	}
	if (word_is(s, n, "crash")) {
		a = skip_blank(s + n);
		if (!*a) {
			snprintf(msg, len, "crash needs a name");
			return -EINVAL;
		}
		text_str(body, "crash: ");
		text_quoted(body, a, strlen(a));
		return 0;
	}
	/* Everything else is a dm command; the trace's parser judges it. */
	text_str(body, "dm: ");
	text_quoted(body, s, strlen(s));
	return 0;
}

static int run_line(struct mount_ctl *c, struct replay_session *s, struct mount_rec *rec,
		    const char *line)
{
	struct text body = { 0 }, step = { 0 };
	char msg[1200], *out = NULL;
	bool query = false, syntax = false;
	int rc;

	if (!*skip_blank(line) || *skip_blank(line) == '#')
		return 0;
	rc = line_body(line, &body, &query, msg, sizeof(msg));
	if (!rc) {
		text_str(&step, "{");
		text_str(&step, body.p);
		text_str(&step, "}");
		rc = body.oom || step.oom ? -ENOMEM
			: replay_session_step(s, step.p, &out, &syntax, msg, sizeof(msg));
		c->changed = true;
		/* What the language refuses never ran: nothing to record. */
		if (!syntax && rc != -ENOMEM) {
			if (query && !rc) {
				text_str(&body, ", expect: ");
				text_quoted(&body, out ? out : "", out ? strlen(out) : 0);
			}
			if (!body.oom)
				mount_rec_step(rec, body.p, rc);
		}
	} else {
		syntax = true;
	}
	if (rc) {
		char line_msg[1400];

		snprintf(line_msg, sizeof(line_msg), "error: %s", rc == -ENOMEM ? "out of memory" : msg);
		answer_add(c, line_msg);
	} else {
		answer_add(c, query ? (out ? out : "") : "ok");
	}
	free(out);
	free(body.p);
	free(step.p);
	return rc;
}

int mount_ctl_write(struct mount_ctl *c, struct replay_session *s, struct mount_rec *rec,
		    const char *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t take = nl ? (size_t)(nl - (buf + i)) : n - i;
		int rc;

		if (grow(&c->partial, &c->partial_cap, c->partial_len + take + 1))
			return -ENOMEM;
		memcpy(c->partial + c->partial_len, buf + i, take);
		c->partial_len += take;
		c->partial[c->partial_len] = 0;
		i += take;
		if (!nl)
			break;
		i++; /* the newline */
		c->partial_len = 0;
		rc = run_line(c, s, rec, c->partial);
		if (rc)
			return rc;
	}
	return 0;
}

int mount_ctl_flush(struct mount_ctl *c, struct replay_session *s, struct mount_rec *rec)
{
	if (!c->partial_len)
		return 0;
	c->partial_len = 0;
	return run_line(c, s, rec, c->partial);
}
