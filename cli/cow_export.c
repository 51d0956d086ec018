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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "cow_check.h"
#include "cow_scan.h"
#include "out_file.h"
#include "progress.h"

static const char export_usage[] =
	"usage: snapsim cow export --origin ORIGIN --cow COW -o IMAGE [--force]\n"
	"                          [--skip-bad-records] [--json] [-q]\n"
	"\n"
	"Write the snapshot's view as IMAGE (the origin's size): each chunk from\n"
	"the COW where an exception exists, else from the origin. Streamed a chunk\n"
	"at a time. An empty store (magic 0) gives a copy of the origin.\n"
	"\n"
	"  --origin ORIGIN  the origin image (the snapshot's origin device); required\n"
	"  --cow COW        the persistent COW image; required\n"
	"  -o, --output IMAGE  where to write (not ORIGIN or COW): a new path, or\n"
	"                   with --force an existing regular file or block device;\n"
	"                   required\n"
	"  --force          replace an existing IMAGE file, or write over a block\n"
	"                   device (this destroys the device's contents)\n"
	"  --skip-bad-records  export even if the COW fails `cow check`: records\n"
	"                   that cannot be used (new_chunk beyond the image or\n"
	"                   on a metadata area, old_chunk beyond the origin) are\n"
	"                   skipped, and for a duplicate old_chunk the first\n"
	"                   record in list order wins\n"
	"  --json           one JSON object on stdout: the summary, or the error\n"
	"  -q, --quiet      no progress line and no summary (errors still shown)\n"
	"  --version        print the version and exit\n"
	"\n"
	"A file IMAGE is written to a temporary file beside it (.IMAGE.snapsim-*),\n"
	"fsync'd and renamed over IMAGE at the end; on any failure IMAGE is left as\n"
	"it was and the temporary is removed. A symlink is followed: the file it\n"
	"names is replaced, the link kept. All-zero chunks are left as holes. A\n"
	"block device is written in place, every byte (no holes), never resized; it\n"
	"must be at least the origin's size and not in use (mounted); a failure\n"
	"midway leaves it partly written. Character devices (/dev/null), FIFOs,\n"
	"sockets and directories are refused before anything is opened.\n"
	"On a terminal, exports that take more than 2 s show a progress line on\n"
	"stderr.\n"
	"\n"
	"A store marked invalid, or one whose header cannot be read (bad magic,\n"
	"version or chunk size), is always refused.\n"
	"Exit: 0 written, 2 usage error, 3 ORIGIN or COW missing or refused, 4 IMAGE\n"
	"cannot be written (IMAGE as it was, unless a block device was partly\n"
	"written); the table of every verb is in snapsim(1).\n";

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
	if (kept) /* v is NULL for a store without records */
		qsort(v, kept, sizeof(*v), cmp_pair_old);
	return (long long)kept;
}

/* Also two device nodes of one block device. */
static bool same_file(const struct stat *a, const char *path)
{
	struct stat b;

	if (stat(path, &b) != 0)
		return false;
	if (S_ISBLK(a->st_mode) && S_ISBLK(b.st_mode))
		return a->st_rdev == b.st_rdev;
	return a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

struct export_job {
	const char *origin_path, *cow_path, *image_path;
	bool json, quiet;
	int origin_fd;
	uint64_t origin_bytes;
	uint8_t *buf;
	struct out_file out;
	bool out_tried, out_open; /* out_file_open called / succeeded */
	struct progress prog;
	char msg[OUT_FILE_MSG_MAX + 256]; /* the error, printed at the end */
};

__attribute__((format(printf, 2, 3)))
static void fail(struct export_job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->msg, sizeof(j->msg), fmt, ap);
	va_end(ap);
}

/* Copy every chunk into the image. Returns 0 or -1 (j->msg set). */
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
			fail(j, "%s: %s at byte offset %llu%s%s", src,
			     got < 0 ? "read error" : "short read",
			     (unsigned long long)(src_off + (got > 0 ? (uint64_t)got : 0)),
			     got < 0 ? ": " : "", got < 0 ? strerror((int)-got) : "");
			return -1;
		}
		/* A new file: what is never written is a hole that reads zeros. */
		if (!j->out.sparse || !cli_is_zero(j->buf, len)) {
			j->out.dirty = true;
			r = cli_pwrite_full(j->out.fd, j->buf, len, off);
			if (r < 0) {
				fail(j, "%s: write error at byte offset %llu: %s",
				     j->image_path, (unsigned long long)off, strerror(-r));
				return -1;
			}
		}
		if (j->prog.out)
			progress_update(&j->prog, off + len, progress_now());
	}
	return 0;
}

/* What a failed run left at IMAGE, for the message and the JSON error. */
static const char *target_state(const struct export_job *j)
{
	if (!j->out_open)
		return "untouched";
	if (j->out.kind == OUT_BLOCK)
		return j->out.dirty ? "partly written" : "untouched";
	return j->out.kind == OUT_NEW ? "not created" : "untouched";
}

static const char *kind_name(enum out_kind k)
{
	return k == OUT_NEW ? "new" : k == OUT_REPLACE ? "replaced" : "block device";
}

static void json_field(const char *name, const char *value, bool last)
{
	printf("  \"%s\": ", name);
	if (value)
		cli_json_string(stdout, value);
	else
		printf("null");
	printf("%s\n", last ? "" : ",");
}

static void print_error(const struct export_job *j, int code)
{
	const char *state = target_state(j);

	fprintf(stderr, "snapsim cow export: %s\n", j->msg);
	if (j->out_open && strcmp(state, "untouched") != 0)
		fprintf(stderr, "snapsim cow export: %s: %s\n", j->image_path,
			!strcmp(state, "not created") ? "not created"
			: "the device was partly written");
	else if (j->out_open)
		fprintf(stderr, "snapsim cow export: %s: left as it was\n", j->image_path);
	if (!j->json)
		return;
	printf("{\n  \"ok\": false,\n  \"exit_code\": %d,\n", code);
	/* The error member every verb has: code, message, and the input it names. */
	printf("  \"error\": {\"code\": %d, \"message\": ", code);
	cli_json_string(stdout, j->msg);
	{
		const char *in[] = { j->origin_path, j->cow_path, j->image_path };

		for (unsigned i = 0; i < 3; i++) {
			size_t n = in[i] ? strlen(in[i]) : 0;

			if (n && !strncmp(j->msg, in[i], n) && j->msg[n] == ':') {
				printf(", \"input\": ");
				cli_json_string(stdout, in[i]);
				break;
			}
		}
	}
	printf("},\n");
	json_field("image", j->image_path, false);
	json_field("image_state", state, false);
	json_field("origin", j->origin_path, false);
	json_field("cow", j->cow_path, true);
	printf("}\n");
}

static void print_summary(const struct export_job *j, const struct cow_scan *s,
			  uint64_t from_cow, uint64_t skipped, double secs)
{
	uint64_t chunks = (j->origin_bytes + s->chunk_bytes - 1) / s->chunk_bytes;

	if (j->json) {
		printf("{\n  \"ok\": true,\n  \"exit_code\": 0,\n");
		json_field("image", j->image_path, false);
		json_field("written_to", j->out.path, false);
		json_field("target", kind_name(j->out.kind), false);
		json_field("origin", j->origin_path, false);
		json_field("cow", j->cow_path, false);
		if (j->out.kind == OUT_BLOCK)
			printf("  \"device_bytes\": %llu,\n",
			       (unsigned long long)j->out.dev_bytes);
		printf("  \"bytes\": %llu,\n  \"chunk_bytes\": %llu,\n  \"chunks\": %llu,\n"
		       "  \"chunks_from_cow\": %llu,\n  \"chunks_from_origin\": %llu,\n"
		       "  \"records_skipped\": %llu,\n  \"seconds\": %.3f\n}\n",
		       (unsigned long long)j->origin_bytes,
		       (unsigned long long)s->chunk_bytes, (unsigned long long)chunks,
		       (unsigned long long)from_cow,
		       (unsigned long long)(chunks - from_cow),
		       (unsigned long long)skipped, secs);
		return;
	}
	if (j->quiet)
		return;
	printf("%s: %llu bytes written (%s): %llu chunk(s) of %llu bytes from %s, "
	       "the rest from %s\n", j->image_path, (unsigned long long)j->origin_bytes,
	       kind_name(j->out.kind), (unsigned long long)from_cow,
	       (unsigned long long)s->chunk_bytes, j->cow_path, j->origin_path);
	if (j->out.kind == OUT_BLOCK && j->out.dev_bytes > j->origin_bytes)
		printf("%s: the device's last %llu bytes were left as they were\n",
		       j->image_path,
		       (unsigned long long)(j->out.dev_bytes - j->origin_bytes));
}

/* Returns CLI_EXIT_OK, or CLI_EXIT_USAGE with j->msg set. */
static int parse_args(struct export_job *j, int argc, char **argv, bool *force,
		      bool *skip_bad, bool *help)
{
	/* --json anywhere makes even an error before it an object. */
	for (int i = 1; i < argc; i++)
		j->json = j->json || !strcmp(argv[i], "--json");
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		const char **dst = NULL;
		int used = 1;
		if (cli_is_help(argv[i])) {
			*help = true;
			return CLI_EXIT_OK;
		} else if (!strcmp(argv[i], "--force")) {
			*force = true;
			continue;
		} else if (!strcmp(argv[i], "--skip-bad-records")) {
			*skip_bad = true;
			continue;
		} else if (!strcmp(argv[i], "--json")) {
			j->json = true;
			continue;
		} else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			j->quiet = true;
			continue;
		} else if (cli_long_opt("--origin", argc, argv, i, &v, &used)) {
			dst = &j->origin_path;
		} else if (cli_long_opt("--cow", argc, argv, i, &v, &used)) {
			dst = &j->cow_path;
		} else if (cli_long_opt("--output", argc, argv, i, &v, &used) ||
			   cli_long_opt("-o", argc, argv, i, &v, &used)) {
			dst = &j->image_path;
		} else {
			fail(j, "%s '%s'",
			     argv[i][0] == '-' ? "unknown option" : "unexpected argument",
			     argv[i]);
			return CLI_EXIT_USAGE;
		}
		if (!v || !*v) {
			fail(j, "option '%s' needs a value", argv[i]);
			return CLI_EXIT_USAGE;
		}
		*dst = v;
		i += used - 1;
	}
	if (!j->origin_path || !j->cow_path || !j->image_path) {
		fail(j, "missing %s",
		     !j->origin_path ? "--origin ORIGIN" : !j->cow_path ? "--cow COW"
									  : "-o IMAGE");
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/* Everything after the arguments. Returns 0 or -1 with j->msg set. */
static int run_export(struct export_job *j, bool force, bool skip_bad)
{
	struct cow_check_opts opts = { .collect = true };
	struct cow_check_report rep = { 0 };
	struct cow_scan s = { .fd = -1 };
	struct out_file_opts oo = { .force = force, .allow_block = true, .mode = 0644 };
	struct ss_error err;
	struct stat ost, cst;
	uint64_t origin_chunks, from_cow = 0, t0;
	long long n;
	int ret = -1, r;

	j->origin_fd = open(j->origin_path, O_RDONLY | O_CLOEXEC);
	if (j->origin_fd < 0) {
		fail(j, "%s: cannot open: %s", j->origin_path, strerror(errno));
		return -1;
	}
	r = cli_fd_size(j->origin_fd, &j->origin_bytes);
	if (r < 0 || fstat(j->origin_fd, &ost) != 0) {
		fail(j, "%s: cannot get size", j->origin_path);
		goto out;
	}
	ss_error_clear(&err);
	if (cow_scan_open(&s, j->cow_path, false, &err) < 0) {
		fail(j, "%s", err.msg);
		goto out;
	}
	if (fstat(s.fd, &cst) != 0 || same_file(&ost, j->image_path) ||
	    same_file(&cst, j->image_path)) {
		fail(j, "%s: refusing to write over the origin or the COW", j->image_path);
		goto out;
	}
	opts.have_origin = true;
	opts.origin_bytes = j->origin_bytes;
	if (cow_check_run(&s, &opts, &rep, &err) < 0) {
		fail(j, "%s", err.msg);
		goto out;
	}
	if (!rep.empty && !rep.header_ok) {
		fail(j, "%s: not a usable snapshot store (see `snapsim cow check %s`)",
		     j->cow_path, j->cow_path);
		goto out;
	}
	if (rep.invalid) {
		fail(j, "%s: header (byte offset 4): the store is marked invalid; "
		     "the snapshot has no defined image", j->cow_path);
		goto out;
	}
	if (rep.nr_errors && !skip_bad) {
		for (size_t i = 0; i < rep.nr_kept && i < 5; i++)
			if (rep.findings[i].severity == COW_ERROR)
				cow_finding_print(stderr, j->cow_path, &rep.findings[i]);
		fail(j, "%s: fails check with %llu error(s); refusing to export "
		     "(--skip-bad-records to export anyway)", j->cow_path,
		     (unsigned long long)rep.nr_errors);
		goto out;
	}
	if (rep.empty) {
		/* A new store: the image is the origin. Any chunk size will do. */
		s.chunk_sectors = COW_DEFAULT_CHUNK_SECTORS;
		s.chunk_bytes = (uint64_t)COW_DEFAULT_CHUNK_SECTORS << SECTOR_SHIFT;
		n = 0;
	} else {
		uint64_t sectors = j->origin_bytes >> SECTOR_SHIFT;
		origin_chunks = (sectors + s.chunk_sectors - 1) / s.chunk_sectors;
		n = usable_pairs(&s, rep.pairs, rep.nr_pairs, origin_chunks);
		if (n < 0) {
			fail(j, "out of memory");
			goto out;
		}
	}
	j->buf = malloc(s.chunk_bytes);
	if (!j->buf) {
		fail(j, "cannot allocate a %llu-byte chunk buffer",
		     (unsigned long long)s.chunk_bytes);
		goto out;
	}
	oo.min_bytes = j->origin_bytes;
	j->out_tried = true;
	if (out_file_open(&j->out, j->image_path, &oo) < 0) {
		fail(j, "%s", j->out.msg);
		goto out;
	}
	j->out_open = true;
	t0 = progress_now();
	progress_init(&j->prog, progress_wanted(STDERR_FILENO, j->quiet) ? stderr : NULL,
		      "cow export:", j->origin_bytes, t0);
	r = export_chunks(j, &s, rep.pairs, (size_t)n, &from_cow);
	progress_end(&j->prog);
	if (r < 0)
		goto out;
	/* The new file's size, in case its last chunks were holes. */
	if (j->out.sparse && ftruncate(j->out.fd, (off_t)j->origin_bytes) != 0) {
		fail(j, "%s: cannot set size %llu: %s", j->image_path,
		     (unsigned long long)j->origin_bytes, strerror(errno));
		goto out;
	}
	if (out_file_commit(&j->out) < 0) {
		fail(j, "%s", j->out.msg);
		goto out;
	}
	print_summary(j, &s, from_cow, rep.empty ? 0 : rep.nr_pairs - (size_t)n,
		      (double)(progress_now() - t0) / 1e9);
	ret = 0;
out:
	cow_check_report_free(&rep);
	cow_scan_close(&s);
	return ret;
}

int cmd_cow_export(int argc, char **argv)
{
	struct export_job j = { .origin_fd = -1 };
	bool force = false, skip_bad = false, help = false;
	int code;

	code = parse_args(&j, argc, argv, &force, &skip_bad, &help);
	if (help) {
		fputs(export_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (code != CLI_EXIT_OK) {
		print_error(&j, code);
		fputs("Try 'snapsim cow export --help' for more information.\n", stderr);
		return code;
	}
	/* Until the output is tried, what fails is an input (cli_exit.h). */
	code = run_export(&j, force, skip_bad) < 0 ? j.out_tried ? CLI_EXIT_IO : CLI_EXIT_INPUT
						    : CLI_EXIT_OK;
	/* Removes a failed export's temporary before saying IMAGE is as it was. */
	if (j.out_tried)
		out_file_close(&j.out);
	if (code != CLI_EXIT_OK)
		print_error(&j, code);
	free(j.buf);
	if (j.origin_fd >= 0)
		close(j.origin_fd);
	return code;
}
