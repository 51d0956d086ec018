/*
 * trace_disks.c - the header's `disks:` list: each disk's name, path, size,
 * sector size, cache, latency, queue depth, reordering, write atomicity,
 * initial content or image file, and its injected faults, checked against the disk
 * (ranges inside it, names unique in the trace).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_impl.h"
#include "units.h"

static int copy_name(struct trace_ctx *c, const struct tnode *n, const char *key,
		     char *dst, size_t len)
{
	int r = tnode_expect_type(c, n, TNODE_SCALAR, key);

	if (r)
		return r;
	if (!n->len || n->len >= len)
		return trace_error_node(c, n, "%s must be 1 to %zu characters", key, len - 1);
	memcpy(dst, n->str, n->len + 1);
	return 0;
}

static bool name_ok(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || !strcmp(s, "control"))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ' ' || *s == '\t')
			return false;
	return true;
}

static int parse_fault(struct trace_ctx *c, const struct tnode *n, struct trace_disk *d,
		       struct trace_fault *f)
{
	static const char *const keys[] = { "op", "range", "sectors", "after_ops", "count",
					    "error", "latent", "die_at_op", NULL };
	struct kv kv[MAX_KEYS];
	unsigned nr = 0;
	const struct tnode *v;
	int r;

	memset(f, 0, sizeof(*f));
	f->error = -EIO;
	f->line = n->line;
	f->column = n->column;
	r = tnode_expect_type(c, n, TNODE_MAP, "a fault");
	if (r)
		return r;
	r = tnode_collect(c, n, "a fault", keys, kv, &nr);
	if (r)
		return r;
	if ((v = kv_get(kv, nr, "op"))) {
		r = tnode_expect_type(c, v, TNODE_SCALAR, "op");
		if (r)
			return r;
		if (!strcmp(v->str, "read"))
			f->op = TRACE_FAULT_READ;
		else if (!strcmp(v->str, "write"))
			f->op = TRACE_FAULT_WRITE;
		else if (!strcmp(v->str, "any"))
			f->op = TRACE_FAULT_ANY;
		else
			return trace_error_node(c, v, "op must be read, write or any, not '%s'",
						v->str);
	}
	if ((v = kv_get(kv, nr, "range"))) {
		r = tnode_expect_type(c, v, TNODE_SEQ, "range");
		if (r)
			return r;
		if (v->nr_kids != 2)
			return trace_error_node(c, v, "range must be [start, length]");
		if ((r = tnode_sectors(c, v->kids[0], "range start", &f->range_start)) ||
		    (r = tnode_sectors(c, v->kids[1], "range length", &f->range_len)))
			return r;
		if (!f->range_len)
			return trace_error_node(c, v->kids[1], "range length must be positive");
		if (f->range_start > d->size_sectors ||
		    f->range_len > d->size_sectors - f->range_start)
			return trace_error_node(c, v, "range lies beyond the end of disk '%s'",
						d->name);
		f->has_range = true;
	}
	if ((v = kv_get(kv, nr, "sectors"))) {
		r = tnode_expect_type(c, v, TNODE_SEQ, "sectors");
		if (r)
			return r;
		if (!v->nr_kids)
			return trace_error_node(c, v, "sectors must not be empty");
		f->sectors = calloc(v->nr_kids, sizeof(*f->sectors));
		if (!f->sectors)
			return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
		f->nr_sectors = v->nr_kids;
		for (unsigned i = 0; i < v->nr_kids; i++) {
			r = tnode_sectors(c, v->kids[i], "sector", &f->sectors[i]);
			if (r)
				return r;
			if (f->sectors[i] >= d->size_sectors)
				return trace_error_node(c, v->kids[i],
							"sector lies beyond the end of disk '%s'",
							d->name);
		}
	}
	if ((v = kv_get(kv, nr, "after_ops")) && (r = tnode_uint(c, v, "after_ops", &f->after_ops)))
		return r;
	if ((v = kv_get(kv, nr, "count")) && (r = tnode_uint(c, v, "count", &f->count)))
		return r;
	if ((v = kv_get(kv, nr, "error")) && (r = tnode_errno(c, v, "error", &f->error)))
		return r;
	if ((v = kv_get(kv, nr, "latent")) && (r = tnode_bool(c, v, "latent", &f->latent)))
		return r;
	if ((v = kv_get(kv, nr, "die_at_op"))) {
		r = tnode_uint(c, v, "die_at_op", &f->die_at_op);
		if (r)
			return r;
		if (!f->die_at_op)
			return trace_error_node(c, v, "die_at_op counts from 1");
	}
	if (f->latent && !f->has_range && !f->sectors)
		return trace_error_node(c, n, "a latent fault needs range or sectors");
	return 0;
}

/*
 * `image: FILE`: the disk starts with the file's bytes. The file is opened
 * here (read-only) so that a missing, unreadable or odd file is reported
 * at its position before anything runs; its length is kept for size.
 */
static int parse_image(struct trace_ctx *c, const struct tnode *v, struct trace_disk *d)
{
	struct stat st;
	int r = tnode_expect_type(c, v, TNODE_SCALAR, "image"), fd;

	if (r)
		return r;
	if (!v->len)
		return trace_error_node(c, v, "image must name a file");
	d->image = trace_path_beside(c, v);
	if (!d->image)
		return -ENOMEM;
	fd = open(d->image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return trace_error_node(c, v, "image '%s': %s", v->str, strerror(errno));
	r = fstat(fd, &st);
	close(fd);
	if (r || !S_ISREG(st.st_mode))
		return trace_error_node(c, v, "image '%s' is not a regular file", v->str);
	if (!st.st_size)
		return trace_error_node(c, v, "image '%s' is empty", v->str);
	d->image_bytes = (uint64_t)st.st_size;
	return 0;
}

/* The disk's size: `size:`, or the image's length when only the image is given. */
static int parse_size(struct trace_ctx *c, const struct tnode *n, const struct kv *kv,
		      unsigned nr, struct trace_disk *d)
{
	const struct tnode *v = kv_get(kv, nr, "size"), *img = kv_get(kv, nr, "image");
	int r;

	if (!v && !d->image)
		return tnode_missing(c, n, "size", "a disk");
	if (!v) {
		if (d->image_bytes % 512)
			return trace_error_node(c, img,
						"image '%s' holds %llu bytes, not a whole number of 512-byte sectors (give size:)",
						img->str, (unsigned long long)d->image_bytes);
		d->size_sectors = d->image_bytes / 512;
		return 0;
	}
	r = tnode_sectors(c, v, "size", &d->size_sectors);
	if (r)
		return r;
	if (!d->size_sectors)
		return trace_error_node(c, v, "size must be positive");
	if (d->image && d->size_sectors > d->image_bytes / 512)
		return trace_error_node(c, v, "size is larger than image '%s' (%llu bytes)",
					img->str, (unsigned long long)d->image_bytes);
	return 0;
}

static int parse_disk(struct trace_ctx *c, const struct tnode *n, struct trace_disk *d)
{
	static const char *const keys[] = { "name", "path", "size", "sector_size", "cache",
					    "latency", "queue_depth", "reorder", "atomic_write",
					    "initial", "image", "faults", "discard", NULL };
	struct kv kv[MAX_KEYS];
	unsigned nr = 0;
	const struct tnode *v;
	uint64_t u;
	int r;

	d->sector_bytes = 512;
	d->cache = true;
	d->latency_min_ns = 10000;
	d->latency_max_ns = 100000;
	d->queue_depth = 32;
	d->reorder = true;
	d->atomic_sectors = 1;
	d->initial = TRACE_INITIAL_ZERO;
	d->line = n->line;
	d->column = n->column;
	r = tnode_expect_type(c, n, TNODE_MAP, "a disk");
	if (r)
		return r;
	r = tnode_collect(c, n, "a disk", keys, kv, &nr);
	if (r)
		return r;
	if (!(v = kv_get(kv, nr, "name")))
		return tnode_missing(c, n, "name", "a disk");
	r = copy_name(c, v, "name", d->name, sizeof(d->name));
	if (r)
		return r;
	if (!name_ok(d->name))
		return trace_error_node(c, v, "disk name '%s' is not a valid device name", d->name);
	if ((v = kv_get(kv, nr, "path"))) {
		r = copy_name(c, v, "path", d->path, sizeof(d->path));
		if (r)
			return r;
		if (!strncmp(d->path, "/dev/mapper/", 12))
			return trace_error_node(c, v, "a disk path may not be under /dev/mapper/");
	} else {
		snprintf(d->path, sizeof(d->path), "/dev/%s", d->name);
	}
	for (unsigned i = 0; c->hdr && i < c->hdr->nr_disks; i++) {
		const struct trace_disk *o = &c->hdr->disks[i];

		if (!strcmp(o->name, d->name) || !strcmp(o->path, d->path) ||
		    !strcmp(o->name, d->path) || !strcmp(o->path, d->name))
			return trace_error_node(c, kv_get(kv, nr, "name"),
						"disk '%s' is defined twice (also at line %u)",
						d->name, o->line);
	}
	if ((v = kv_get(kv, nr, "image")) && (r = parse_image(c, v, d)))
		return r;
	if ((r = parse_size(c, n, kv, nr, d)))
		return r;
	if ((v = kv_get(kv, nr, "sector_size"))) {
		char why[WHY_LEN];

		r = tnode_expect_type(c, v, TNODE_SCALAR, "sector_size");
		if (r)
			return r;
		/* sector_size is in bytes; a bare number means bytes here. */
		if (units_parse_uint(v->str, &u, why, sizeof(why)) &&
		    units_parse_size(v->str, &u, why, sizeof(why)))
			return trace_error_node(c, v, "sector_size: %s", why);
		if (u < 512 || u > 65536 || (u & (u - 1)))
			return trace_error_node(c, v,
						"sector_size must be a power of two from 512 to 65536 bytes");
		d->sector_bytes = (unsigned)u;
		if ((d->size_sectors * 512) % u)
			return trace_error_node(c, kv_get(kv, nr, "size") ? kv_get(kv, nr, "size")
							: kv_get(kv, nr, "image"),
						"size is not a multiple of sector_size");
	}
	if ((v = kv_get(kv, nr, "cache")) && (r = tnode_bool(c, v, "cache", &d->cache)))
		return r;
	if ((v = kv_get(kv, nr, "reorder")) && (r = tnode_bool(c, v, "reorder", &d->reorder)))
		return r;
	if ((v = kv_get(kv, nr, "discard")) && (r = tnode_bool(c, v, "discard", &d->discard)))
		return r;
	if ((v = kv_get(kv, nr, "latency"))) {
		static const char *const lkeys[] = { "min", "max", NULL };
		struct kv lkv[MAX_KEYS];
		unsigned lnr = 0;
		const struct tnode *lv;

		r = tnode_expect_type(c, v, TNODE_MAP, "latency");
		if (r)
			return r;
		r = tnode_collect(c, v, "latency", lkeys, lkv, &lnr);
		if (r)
			return r;
		if ((lv = kv_get(lkv, lnr, "min")) && (r = tnode_time(c, lv, "min", &d->latency_min_ns)))
			return r;
		if ((lv = kv_get(lkv, lnr, "max"))) {
			r = tnode_time(c, lv, "max", &d->latency_max_ns);
			if (r)
				return r;
		} else if (kv_get(lkv, lnr, "min")) {
			d->latency_max_ns = d->latency_min_ns;
		}
		if (!kv_get(lkv, lnr, "min") && d->latency_max_ns < d->latency_min_ns)
			d->latency_min_ns = d->latency_max_ns;
		if (d->latency_min_ns > d->latency_max_ns)
			return trace_error_node(c, v, "latency min is larger than max");
	}
	if ((v = kv_get(kv, nr, "queue_depth"))) {
		r = tnode_uint(c, v, "queue_depth", &u);
		if (r)
			return r;
		if (u < 1 || u > 65536)
			return trace_error_node(c, v, "queue_depth must be 1 to 65536");
		d->queue_depth = (unsigned)u;
	}
	if ((v = kv_get(kv, nr, "atomic_write"))) {
		r = tnode_expect_type(c, v, TNODE_SCALAR, "atomic_write");
		if (r)
			return r;
		if (!strcmp(v->str, "whole")) {
			d->atomic_sectors = 0;
		} else {
			r = tnode_sectors(c, v, "atomic_write", &d->atomic_sectors);
			if (r)
				return r;
			if (d->atomic_sectors && d->atomic_sectors * 512 < d->sector_bytes)
				return trace_error_node(c, v,
							"atomic_write is smaller than sector_size");
		}
	}
	if ((v = kv_get(kv, nr, "initial"))) {
		r = tnode_expect_type(c, v, TNODE_SCALAR, "initial");
		if (r)
			return r;
		if (d->image)
			return trace_error_node(c, v, "initial and image exclude each other: "
						"an image disk starts with the image's bytes");
		if (!strcmp(v->str, "zero"))
			d->initial = TRACE_INITIAL_ZERO;
		else if (!strcmp(v->str, "garbage"))
			d->initial = TRACE_INITIAL_GARBAGE;
		else
			return trace_error_node(c, v, "initial must be zero or garbage, not '%s'",
						v->str);
	}
	if ((v = kv_get(kv, nr, "faults"))) {
		r = tnode_expect_type(c, v, TNODE_SEQ, "faults");
		if (r)
			return r;
		if (v->nr_kids > TRACE_MAX_FAULTS)
			return trace_error_node(c, v, "more than %u faults", TRACE_MAX_FAULTS);
		d->faults = calloc(v->nr_kids ? v->nr_kids : 1, sizeof(*d->faults));
		if (!d->faults)
			return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
		for (unsigned i = 0; i < v->nr_kids; i++) {
			d->nr_faults = i + 1;
			r = parse_fault(c, v->kids[i], d, &d->faults[i]);
			if (r)
				return r;
		}
	}
	return 0;
}

int trace_header_disks(struct trace_ctx *c, const struct tnode *n)
{
	struct trace_header *h = c->hdr;
	int r;

	if (n->type == TNODE_SCALAR && (!n->len || !strcmp(n->str, "~")) && !n->quoted)
		return 0; /* disks: (empty) */
	r = tnode_expect_type(c, n, TNODE_SEQ, "disks");
	if (r)
		return r;
	if (n->nr_kids > TRACE_MAX_DISKS)
		return trace_error_node(c, n, "more than %u disks", TRACE_MAX_DISKS);
	h->disks = calloc(n->nr_kids ? n->nr_kids : 1, sizeof(*h->disks));
	if (!h->disks)
		return trace_error_set(c->err, -ENOMEM, c->file, 0, 0, "out of memory");
	for (unsigned i = 0; i < n->nr_kids; i++) {
		struct trace_disk d = { 0 };

		r = parse_disk(c, n->kids[i], &d);
		h->disks[h->nr_disks++] = d; /* kept even on failure, so it is freed */
		if (r)
			return r;
	}
	return 0;
}

void trace_header_release(struct trace_header *h)
{
	for (unsigned i = 0; i < h->nr_disks; i++) {
		for (unsigned j = 0; j < h->disks[i].nr_faults; j++)
			free(h->disks[i].faults[j].sectors);
		free(h->disks[i].faults);
		free(h->disks[i].image);
	}
	free(h->disks);
	memset(h, 0, sizeof(*h));
}
