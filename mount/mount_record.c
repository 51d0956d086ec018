/*
 * mount_record.c - the recording of a mount (mount_record.h). The stack
 * trace's text is copied as it is, so its setup runs again first; the
 * recorded steps are spliced in where its steps list ends, in that list's
 * own style (block items at its indentation, or flow items before its `]`).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "mount_record.h"

struct mount_rec {
	FILE *yaml, *data;
	char *data_name;
	uint64_t data_off;
	bool flow;             /* the stack's steps are a flow list: items go before its ']' */
	bool flow_items;       /* that list has an item already */
	unsigned indent;       /* block items: column of the '-' */
	uint64_t flushes;
	bool failed;           /* a write to yaml or data failed */
};

const char *mount_errno_name(int err)
{
	static const struct { int e; const char *n; } names[] = {
		{ EIO, "EIO" }, { EINVAL, "EINVAL" }, { EBUSY, "EBUSY" }, { ENOSPC, "ENOSPC" },
		{ ENXIO, "ENXIO" }, { ENOENT, "ENOENT" }, { EEXIST, "EEXIST" },
		{ ENODEV, "ENODEV" }, { EROFS, "EROFS" }, { ENOMEM, "ENOMEM" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { EINTR, "EINTR" }, { EPERM, "EPERM" },
		{ ENOTTY, "ENOTTY" }, { EAGAIN, "EAGAIN" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == -err)
			return names[i].n;
	return NULL;
}

void mount_yaml_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* ---- where the stack's steps end ---- */

struct splice {
	size_t cut;            /* copy text[0..cut) */
	bool flow, flow_items;
	unsigned indent;
	bool add_newline;      /* `steps:` had no value: the list starts after it */
};

/* Skip the rest of a collection whose start event was just read. */
static int skip_collection(yaml_parser_t *p, yaml_event_t *end)
{
	unsigned depth = 1;
	bool items = false;

	for (;;) {
		yaml_event_t ev;

		if (!yaml_parser_parse(p, &ev))
			return -EINVAL;
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			depth++;
			items = true;
		} else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			if (--depth == 0) {
				*end = ev;
				return items ? 1 : 0;
			}
		} else if (ev.type == YAML_SCALAR_EVENT) {
			items = true;
		} else if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			return -EINVAL;
		}
		yaml_event_delete(&ev);
	}
}

static int find_splice(const char *text, size_t len, struct splice *sp)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned depth = 0;
	bool key = true, found = false;
	int rc = -EINVAL;

	memset(sp, 0, sizeof(*sp));
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!found && yaml_parser_parse(&p, &ev)) {
		yaml_event_type_t t = ev.type;

		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_MAPPING_START_EVENT && depth == 0) {
			depth = 1;
		} else if (depth == 1 && key && t == YAML_SCALAR_EVENT) {
			bool steps = !strcmp((const char *)ev.data.scalar.value, "steps");
			size_t colon = ev.end_mark.index;

			yaml_event_delete(&ev);
			if (!yaml_parser_parse(&p, &ev))
				break;
			if (steps && ev.type == YAML_SEQUENCE_START_EVENT) {
				yaml_event_t end;
				bool flow = ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
				unsigned col = (unsigned)ev.start_mark.column;
				int items = skip_collection(&p, &end);

				if (items >= 0) {
					sp->cut = end.start_mark.index;
					sp->flow = flow;
					sp->flow_items = items > 0;
					sp->indent = col;
					yaml_event_delete(&end);
					rc = 0;
				}
				found = true;
			} else if (steps && ev.type == YAML_SCALAR_EVENT) {
				while (colon < len && text[colon] != ':')
					colon++;
				sp->cut = colon < len ? colon + 1 : len;
				sp->indent = 2;
				sp->add_newline = true;
				rc = 0;
				found = true;
			} else if (ev.type == YAML_SEQUENCE_START_EVENT ||
				   ev.type == YAML_MAPPING_START_EVENT) {
				yaml_event_t end;

				if (skip_collection(&p, &end) >= 0)
					yaml_event_delete(&end);
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* ---- the recording ---- */

static int read_all(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (n + 4096 > cap) {
			char *b = realloc(buf, cap = cap ? 2 * cap : 8192);

			if (!b) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (!got)
			break;
	}
	fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

int mount_rec_open(struct mount_rec **out, FILE *yaml, FILE *data, const char *data_name,
		   const char *stack_path, char *msg, size_t len)
{
	struct mount_rec *r = calloc(1, sizeof(*r));
	struct splice sp;
	char *text = NULL;
	size_t tlen = 0;
	int rc;

	*out = NULL;
	if (!r || !(r->data_name = strdup(data_name))) {
		free(r);
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	rc = read_all(stack_path, &text, &tlen);
	if (!rc && (rc = find_splice(text, tlen, &sp)))
		snprintf(msg, len, "%s: cannot find the end of its steps to record after", stack_path);
	else if (rc)
		snprintf(msg, len, "%s: %s", stack_path, strerror(-rc));
	if (rc) {
		free(text);
		free(r->data_name);
		free(r);
		return rc;
	}
	r->yaml = yaml;
	r->data = data;
	r->flow = sp.flow;
	r->flow_items = sp.flow_items;
	r->indent = sp.indent;
	fwrite(text, 1, sp.cut, yaml);
	if (sp.add_newline)
		fputc('\n', yaml);
	if (!sp.flow)
		fprintf(yaml, "\n%*s# recorded by snapsim mount\n", (int)r->indent, "");
	free(text);
	*out = r;
	return 0;
}

static void item_begin(struct mount_rec *r)
{
	if (r->flow) {
		fputs(r->flow_items ? ",\n  {" : "\n  {", r->yaml);
		r->flow_items = true;
	} else {
		fprintf(r->yaml, "%*s- {", (int)r->indent, "");
	}
}

static void item_end(struct mount_rec *r, int status)
{
	const char *en = status ? mount_errno_name(status) : NULL;

	if (en)
		fprintf(r->yaml, ", error: %s", en);
	fputs(r->flow ? "}" : "}\n", r->yaml);
	if (ferror(r->yaml))
		r->failed = true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

void mount_rec_io(struct mount_rec *r, const char *dev, enum bio_op op, unsigned flags,
		  sector_t sector, uint32_t nr, const uint8_t *data, int status, bool checked)
{
	static const char *const verbs[] = { "read", "write", "flush", "discard" };

	if (!r || (op == BIO_READ && !checked))
		return;
	/* An error the trace language cannot name would not replay as recorded. */
	if (status && !mount_errno_name(status))
		status = -EIO;
	item_begin(r);
	fprintf(r->yaml, "%s: ", verbs[op]);
	mount_yaml_quote(r->yaml, dev);
	if (op != BIO_FLUSH)
		fprintf(r->yaml, ", offset: %" PRIu64 "s, length: %" PRIu32 "s", (uint64_t)sector,
			nr);
	if (op == BIO_WRITE) {
		size_t bytes = (size_t)nr * 512;

		if (all_zero(data, bytes)) {
			fputs(", data: zero", r->yaml);
		} else {
			fputs(", data: {file: ", r->yaml);
			mount_yaml_quote(r->yaml, r->data_name);
			fprintf(r->yaml, ", file_offset: %" PRIu64 "B}", r->data_off);
			if (fwrite(data, 1, bytes, r->data) != bytes)
				r->failed = true;
			r->data_off += bytes;
		}
		if (flags & BIO_FUA)
			fputs(", fua: true", r->yaml);
		if (flags & BIO_PREFLUSH)
			fputs(", preflush: true", r->yaml);
	}
	item_end(r, status);
	if (op == BIO_FLUSH && !status) {
		/* Every completed flush is a point where a power cut is worth trying. */
		item_begin(r);
		fprintf(r->yaml, "crash: flush-%" PRIu64, ++r->flushes);
		item_end(r, 0);
	}
}

void mount_rec_step(struct mount_rec *r, const char *body, int status)
{
	if (!r)
		return;
	item_begin(r);
	fputs(body, r->yaml);
	item_end(r, status);
}

int mount_rec_finish(struct mount_rec *r, char *msg, size_t len)
{
	int rc = 0;

	if (!r)
		return 0;
	if (r->flow)
		fputs("\n]\n", r->yaml);
	if (fflush(r->yaml) || ferror(r->yaml) || fflush(r->data) || ferror(r->data))
		r->failed = true;
	if (r->failed) {
		snprintf(msg, len, "the recording could not be written");
		rc = -EIO;
	}
	free(r->data_name);
	free(r);
	return rc;
}
