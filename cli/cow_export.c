/*
 * cow_export.c - `snapsim cow export`: rebuild a snapshot's image offline
 * from its origin and its persistent COW: origin chunk c reads from COW
 * chunk new when an exception (c -> new) exists, else from the origin.
 *
 * Streaming: the records (16 bytes each) are sorted by old_chunk and walked
 * alongside the origin, one chunk buffer at a time; memory is bounded by
 * the exception list plus one chunk. A sorted array walked in step beats a
 * hash table here (core's extable) because the origin is read in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "cow_check.h"
#include "cow_scan.h"

static const char export_usage[] =
	"usage: snapsim cow export --origin ORIGIN --cow COW -o IMAGE [--force]\n"
	"\n"
	"Write the snapshot's view as IMAGE (created or truncated, the origin's\n"
	"size): each chunk from the COW where an exception exists, else from the\n"
	"origin. Streamed a chunk at a time; all-zero chunks are left as holes.\n"
	"An empty store (magic 0) gives a copy of the origin.\n"
	"\n"
	"  --origin ORIGIN  the origin image (the snapshot's origin device)\n"
	"  --cow COW        the persistent COW image\n"
	"  -o, --output IMAGE  the image to write (not ORIGIN or COW)\n"
	"  --force          export even if the COW fails `cow check`: records\n"
	"                   that cannot be used (new_chunk beyond the image or\n"
	"                   on a metadata area, old_chunk beyond the origin) are\n"
	"                   skipped, and for a duplicate old_chunk the first\n"
	"                   record in list order wins\n"
	"\n"
	"A store marked invalid, or one whose header cannot be read (bad magic,\n"
	"version or chunk size), is always refused.\n"
	"Exit: 0 written, 1 refused or failed (IMAGE removed), 2 usage error.\n";

static int cmp_pair_old(const void *a, const void *b)
{
	const struct cow_pair *x = a, *y = b;

	return x->old_chunk < y->old_chunk ? -1 : x->old_chunk > y->old_chunk;
}

/*
 * Keep the usable records, first one per old_chunk, sorted by old_chunk.
 * Returns the count kept or -ENOMEM.
 */
static long long usable_pairs(const struct cow_scan *s, struct cow_pair *v,
			      size_t n, uint64_t origin_chunks)
{
	struct cli_u64map seen;
	size_t kept = 0;

	cli_u64map_init(&seen);
	for (size_t i = 0; i < n; i++) {
		long long r;
		if (v[i].new_chunk >= s->dev_chunks ||
		    cow_is_area_chunk(s->chunk_sectors, v[i].new_chunk) ||
		    v[i].old_chunk >= origin_chunks)
			continue;
		r = cli_u64map_put(&seen, v[i].old_chunk, 1);
		if (r < 0) {
			cli_u64map_destroy(&seen);
			return r;
		}
		if (r == 0)
			v[kept++] = v[i];
	}
	cli_u64map_destroy(&seen);
	qsort(v, kept, sizeof(*v), cmp_pair_old);
	return (long long)kept;
}

static bool same_file(const struct stat *a, const char *path)
{
	struct stat b;

	return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

struct export_job {
	const char *origin_path, *cow_path, *image_path;
	int origin_fd, image_fd;
	uint64_t origin_bytes;
	uint8_t *buf;
};

/* Copy every chunk into the image. Returns 0 or -1 (message printed). */
static int export_chunks(struct export_job *j, struct cow_scan *s,
			 const struct cow_pair *v, size_t n, uint64_t *from_cow)
{
	uint64_t cb = s->chunk_bytes;
	size_t k = 0;

	*from_cow = 0;
	for (uint64_t off = 0, c = 0; off < j->origin_bytes; off += cb, c++) {
		size_t len = j->origin_bytes - off < cb ? (size_t)(j->origin_bytes - off)
							: (size_t)cb;
		const char *src = j->origin_path;
		uint64_t src_off = off;
		int fd = j->origin_fd;
		long long got;
		int r;

		if (k < n && v[k].old_chunk == c) {
			src = j->cow_path;
			src_off = cow_scan_chunk_offset(s, v[k].new_chunk);
			fd = s->fd;
			k++;
			(*from_cow)++;
		}
		got = cli_pread_full(fd, j->buf, len, src_off);
		if (got < 0 || (size_t)got != len) {
			fprintf(stderr, "snapsim: %s: %s at byte offset %llu%s%s\n", src,
				got < 0 ? "read error" : "short read",
				(unsigned long long)(src_off + (got > 0 ? (uint64_t)got : 0)),
				got < 0 ? ": " : "", got < 0 ? strerror((int)-got) : "");
			return -1;
		}
		if (cli_is_zero(j->buf, len))
			continue; /* the image was truncated to size: a hole reads zeros */
		r = cli_pwrite_full(j->image_fd, j->buf, len, off);
		if (r < 0) {
			fprintf(stderr, "snapsim: %s: write error at byte offset %llu: %s\n",
				j->image_path, (unsigned long long)off, strerror(-r));
			return -1;
		}
	}
	return 0;
}

int cmd_cow_export(int argc, char **argv)
{
	struct export_job j = { .origin_fd = -1, .image_fd = -1 };
	struct cow_check_opts opts = { .collect = true };
	struct cow_check_report rep = { 0 };
	struct cow_scan s = { .fd = -1 };
	struct ss_error err;
	struct stat ost, cst;
	bool force = false;
	uint64_t origin_chunks, from_cow = 0;
	long long n;
	int ret = CLI_EXIT_FAILURE, r;

	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		const char **dst = NULL;
		int used = 1;
		if (cli_is_help(argv[i])) {
			fputs(export_usage, stdout);
			return CLI_EXIT_OK;
		} else if (!strcmp(argv[i], "--force")) {
			force = true;
			continue;
		} else if (cli_long_opt("--origin", argc, argv, i, &v, &used)) {
			dst = &j.origin_path;
		} else if (cli_long_opt("--cow", argc, argv, i, &v, &used)) {
			dst = &j.cow_path;
		} else if (cli_long_opt("--output", argc, argv, i, &v, &used) ||
			   cli_long_opt("-o", argc, argv, i, &v, &used)) {
			dst = &j.image_path;
		} else {
			fprintf(stderr, "snapsim cow export: %s '%s'\n%s",
				argv[i][0] == '-' ? "unknown option" : "unexpected argument",
				argv[i], export_usage);
			return CLI_EXIT_USAGE;
		}
		if (!v || !*v) {
			fprintf(stderr, "snapsim cow export: option '%s' needs a value\n%s",
				argv[i], export_usage);
			return CLI_EXIT_USAGE;
		}
		*dst = v;
		i += used - 1;
	}
	if (!j.origin_path || !j.cow_path || !j.image_path) {
		fprintf(stderr, "snapsim cow export: missing %s\n%s",
			!j.origin_path ? "--origin ORIGIN" : !j.cow_path ? "--cow COW"
									  : "-o IMAGE",
			export_usage);
		return CLI_EXIT_USAGE;
	}

	j.origin_fd = open(j.origin_path, O_RDONLY | O_CLOEXEC);
	if (j.origin_fd < 0) {
		fprintf(stderr, "snapsim: %s: cannot open: %s\n", j.origin_path,
			strerror(errno));
		return CLI_EXIT_FAILURE;
	}
	r = cli_fd_size(j.origin_fd, &j.origin_bytes);
	if (r < 0 || fstat(j.origin_fd, &ost) != 0) {
		fprintf(stderr, "snapsim: %s: cannot get size\n", j.origin_path);
		goto out;
	}
	ss_error_clear(&err);
	if (cow_scan_open(&s, j.cow_path, false, &err) < 0) {
		fprintf(stderr, "snapsim: %s\n", err.msg);
		goto out;
	}
	if (fstat(s.fd, &cst) != 0 || same_file(&ost, j.image_path) ||
	    same_file(&cst, j.image_path)) {
		fprintf(stderr, "snapsim: %s: refusing to write over the origin or the COW\n",
			j.image_path);
		goto out;
	}
	opts.have_origin = true;
	opts.origin_bytes = j.origin_bytes;
	if (cow_check_run(&s, &opts, &rep, &err) < 0) {
		fprintf(stderr, "snapsim: %s\n", err.msg);
		goto out;
	}
	if (!rep.empty && !rep.header_ok) {
		fprintf(stderr, "snapsim: %s: not a usable snapshot store "
			"(see `snapsim cow check %s`)\n", j.cow_path, j.cow_path);
		goto out;
	}
	if (rep.invalid) {
		fprintf(stderr, "snapsim: %s: header (byte offset 4): the store is marked "
			"invalid; the snapshot has no defined image\n", j.cow_path);
		goto out;
	}
	if (rep.nr_errors && !force) {
		for (size_t i = 0; i < rep.nr_kept && i < 5; i++)
			if (rep.findings[i].severity == COW_ERROR)
				cow_finding_print(stderr, j.cow_path, &rep.findings[i]);
		fprintf(stderr, "snapsim: %s: fails check with %llu error(s); "
			"refusing to export (--force to export anyway)\n", j.cow_path,
			(unsigned long long)rep.nr_errors);
		goto out;
	}
	if (rep.empty) {
		/* A new store: the image is the origin. Any chunk size will do. */
		s.chunk_sectors = COW_DEFAULT_CHUNK_SECTORS;
		s.chunk_bytes = (uint64_t)COW_DEFAULT_CHUNK_SECTORS << SECTOR_SHIFT;
		n = 0;
	} else {
		uint64_t sectors = j.origin_bytes >> SECTOR_SHIFT;
		origin_chunks = (sectors + s.chunk_sectors - 1) / s.chunk_sectors;
		n = usable_pairs(&s, rep.pairs, rep.nr_pairs, origin_chunks);
		if (n < 0) {
			fprintf(stderr, "snapsim: out of memory\n");
			goto out;
		}
	}
	j.buf = malloc(s.chunk_bytes);
	if (!j.buf) {
		fprintf(stderr, "snapsim: cannot allocate a %llu-byte chunk buffer\n",
			(unsigned long long)s.chunk_bytes);
		goto out;
	}
	j.image_fd = open(j.image_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (j.image_fd < 0) {
		fprintf(stderr, "snapsim: %s: cannot create: %s\n", j.image_path,
			strerror(errno));
		goto out;
	}
	if (ftruncate(j.image_fd, (off_t)j.origin_bytes) != 0) {
		fprintf(stderr, "snapsim: %s: cannot set size %llu: %s\n", j.image_path,
			(unsigned long long)j.origin_bytes, strerror(errno));
		goto err_unlink;
	}
	if (export_chunks(&j, &s, rep.pairs, (size_t)n, &from_cow) < 0)
		goto err_unlink;
	if (fsync(j.image_fd) != 0) {
		fprintf(stderr, "snapsim: %s: fsync: %s\n", j.image_path, strerror(errno));
		goto err_unlink;
	}
	printf("%s: %llu bytes written: %llu chunk(s) of %llu bytes from %s, "
	       "the rest from %s\n", j.image_path, (unsigned long long)j.origin_bytes,
	       (unsigned long long)from_cow, (unsigned long long)s.chunk_bytes,
	       j.cow_path, j.origin_path);
	ret = CLI_EXIT_OK;
	goto out;

err_unlink:
	unlink(j.image_path);
out:
	if (j.image_fd >= 0)
		close(j.image_fd);
	free(j.buf);
	cow_check_report_free(&rep);
	cow_scan_close(&s);
	if (j.origin_fd >= 0)
		close(j.origin_fd);
	return ret;
}
