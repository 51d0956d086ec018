/*
 * explore_survivors.c - a durable state's surviving writes as text, the
 * `--survivors` spec of repro lines and the states table: written from
 * one candidate per disk (explore_survivors.h), parsed back for a single
 * state (explore_survivors_parse, explore.h).
 */
#include "explore_survivors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

static void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 256;

		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* "NAME:ID,ID/MASK;NAME:..." for the disks with survivors ("" when none). */
void explore_survivors_text(struct replay_world *w, struct cand *const *per_disk,
			    unsigned nr_disks, struct sbuf *b)
{
	bool first_disk = true;

	sbuf_printf(b, "%s", "");
	for (unsigned d = 0; d < nr_disks; d++) {
		const struct cand *c = per_disk[d];

		if (!c->nr)
			continue;
		sbuf_printf(b, "%s%s:", first_disk ? "" : ";", replay_world_disk_name(w, d));
		first_disk = false;
		for (size_t i = 0; i < c->nr; i++) {
			sbuf_printf(b, "%s%" PRIu64, i ? "," : "", c->w[i].id);
			if (c->w[i].unit_mask) {
				/* Find the write's unit count from the mask storage: the
				 * caller stores masks of every write with nwords words. */
				const uint64_t *m = c->w[i].unit_mask;
				size_t words = (size_t)(m[-1]);

				for (size_t k = 0; k < words; k++)
					sbuf_printf(b, "%s%" PRIx64, k ? "." : "/", m[k]);
			}
		}
	}
}

int explore_survivors_parse(const char *text, unsigned nr_disks, const char *const *names,
			    struct explore_survivors *out)
{
	const char *p = text;

	memset(out, 0, sizeof(*out));
	if (nr_disks > EXPLORE_MAX_DISKS)
		return -EINVAL;
	out->nr_disks = nr_disks;
	while (*p) {
		const char *colon = strchr(p, ':');
		unsigned d;
		size_t cap = 0, nm = 0, mcap = 0;

		if (!colon)
			goto err;
		for (d = 0; d < nr_disks; d++)
			if (strlen(names[d]) == (size_t)(colon - p) &&
			    !strncmp(names[d], p, (size_t)(colon - p)))
				break;
		if (d == nr_disks || out->nr[d])
			goto err;
		p = colon + 1;
		while (*p && *p != ';') {
			char *end;
			unsigned long long id = strtoull(p, &end, 10);

			if (end == p)
				goto err;
			p = end;
			if (out->nr[d] == cap) {
				cap = cap ? 2 * cap : 8;
				void *n = realloc(out->writes[d], cap * sizeof(*out->writes[d]));

				if (!n)
					goto err;
				out->writes[d] = n;
			}
			out->writes[d][out->nr[d]].id = id;
			out->writes[d][out->nr[d]].unit_mask = NULL;
			if (*p == '/') {
				/*
				 * Mask words, after one word holding their count (as
				 * push_cand stores them); recorded as offsets into
				 * masks[d] and fixed up below, since masks[d] moves.
				 */
				size_t start;

				if (nm == mcap) {
					mcap = mcap ? 2 * mcap : 16;
					void *n = realloc(out->masks[d], mcap * sizeof(uint64_t));

					if (!n)
						goto err;
					out->masks[d] = n;
				}
				out->masks[d][nm++] = 0;
				start = nm;
				do {
					p++;
					unsigned long long v = strtoull(p, &end, 16);

					if (end == p)
						goto err;
					p = end;
					if (nm == mcap) {
						mcap = mcap ? 2 * mcap : 16;
						void *n = realloc(out->masks[d], mcap * sizeof(uint64_t));

						if (!n)
							goto err;
						out->masks[d] = n;
					}
					out->masks[d][nm++] = v;
				} while (*p == '.');
				out->masks[d][start - 1] = nm - start;
				out->writes[d][out->nr[d]].unit_mask = (const uint64_t *)(uintptr_t)(start + 1);
			}
			out->nr[d]++;
			if (*p == ',')
				p++;
			else if (*p && *p != ';')
				goto err;
		}
		for (size_t i = 0; i < out->nr[d]; i++) {
			uintptr_t off = (uintptr_t)out->writes[d][i].unit_mask;

			if (off)
				out->writes[d][i].unit_mask = out->masks[d] + (off - 1);
		}
		if (*p == ';')
			p++;
	}
	return 0;
err:
	explore_survivors_free(out);
	return -EINVAL;
}

void explore_survivors_free(struct explore_survivors *s)
{
	for (unsigned d = 0; d < EXPLORE_MAX_DISKS; d++) {
		free(s->writes[d]);
		free(s->masks[d]);
	}
	memset(s, 0, sizeof(*s));
}
