/*
 * cmd_import.c - snapsim import log-writes LOG -o TRACE.yaml: a log of
 * Linux's dm-log-writes target (logwrites.h) as a YAML trace of one disk
 * whose written data lives beside it in one file (TRACE.data), each write
 * reading its bytes with {file: ..., file_offset: ...}.
 *
 * Entry to step: a write (FUA: fua: true; FLUSH with data: preflush: true);
 * a flush (FLUSH without data); a discard (the disk then says discard: on);
 * a mark, crash: NAME, so the explorer cuts the power there. METADATA is a
 * hint and changes nothing. The whole log is checked before any output is
 * opened; both outputs go to temporaries renamed into place (out_file.h),
 * so a bad log leaves no file behind.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "logwrites.h"
#include "out_file.h"
#include "progress.h"

static void usage(FILE *out)
{
	fputs("usage: snapsim import log-writes LOG -o TRACE.yaml [--disk NAME]\n"
	      "                                 [--size SIZE] [--snapshot CHUNK] [--force]\n"
	      "                                 [-q] [--json]\n"
	      "\n"
	      "Convert a log written by Linux's dm-log-writes target (what xfstests'\n"
	      "replay-log reads; save a log device to a file first) into a trace of one\n"
	      "disk: each logged write becomes a write step (FUA: fua: true; FLUSH with\n"
	      "data: preflush: true), a FLUSH a flush step, a DISCARD a discard step (the\n"
	      "disk gets discard: on), a mark (dmsetup message ... mark NAME) a crash:\n"
	      "NAME marker. The written data goes to one file beside the trace (TRACE.data,\n"
	      ".yaml replaced), read by the writes with {file:, file_offset:}. Replay the\n"
	      "result, explore it, or run it on an image with snapsim run. On a\n"
	      "terminal, imports that take more than 2 s show a progress line (data\n"
	      "copied, MB/s, ETA).\n"
	      "\n"
	      "Options:\n"
	      "  -o, --output FILE  the trace to write (required; its data file goes\n"
	      "                     beside it)\n"
	      "  --disk NAME        the disk's name in the trace (default disk)\n"
	      "  --size SIZE        the disk's size (default: the end of the highest\n"
	      "                     sector the log touches); sizes as in cow export\n"
	      "  --snapshot CHUNK   replay the log through an origin with a persistent\n"
	      "                     snapshot (chunk CHUNK sectors) on a COW disk NAME_cow:\n"
	      "                     devices NAME_real (linear), NAME_snap, NAME_origin; the\n"
	      "                     writes go to NAME_origin (discards fail there, as on\n"
	      "                     Linux's snapshot-origin), and the trace ends by reading\n"
	      "                     NAME_snap, which must still hold the disk as it was\n"
	      "                     (default: no snapshot, the writes go to the disk)\n"
	      "  --force            replace existing output files\n"
	      "  -q, --quiet        print errors only (no progress line)\n"
	      "  --json             one JSON object on stdout: what was written, or the error\n"
	      "  --version          print the version and exit\n"
	      "  -h, --help         print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  the trace and its data were written\n"
	      "  2  usage error\n"
	      "  3  the log is missing, corrupt or truncated (the message names the entry,\n"
	      "     counted from 0 as replay-log does, and its byte offset); nothing written\n"
	      "  4  an output cannot be written (an existing one without --force)\n", out);
}

struct import {
	struct cli_verb v;
	struct lw_log log;
	const char *disk;
	char target[160];        /* the device the I/O steps go to: the disk, or its origin */
	uint64_t snap_chunk;     /* --snapshot: chunk size in sectors; 0: none */
	char *data_path;
	const char *data_name;
	uint64_t end_bytes;      /* highest byte touched */
	uint64_t writes, flushes, discards, marks, data_bytes;
	struct progress prog;    /* of the data copied (pass 2), on a terminal */
	uint64_t copied;
	char msg[OUT_FILE_MSG_MAX];
};

/* Pass 1: every entry checked, the disk's extent found. 0 or a negative errno. */
static int scan(struct import *im)
{
	struct lw_entry *e = malloc(sizeof(*e));
	int r;

	if (!e)
		return -ENOMEM;
	while ((r = lw_next(&im->log, e, im->msg, sizeof(im->msg))) == 1) {
		uint64_t ss = im->log.sectorsize, end = (e->sector + e->nr_sectors) * ss;

		if (e->flags & LW_MARK) {
			im->marks++;
			continue;
		}
		if (e->nr_sectors && end > im->end_bytes)
			im->end_bytes = end;
		if (e->flags & LW_DISCARD)
			im->discards += e->nr_sectors != 0;
		else if (e->nr_sectors) {
			im->writes++;
			im->data_bytes += e->nr_sectors * ss;
		} else if (e->flags & (LW_FLUSH | LW_FUA))
			im->flushes++;
	}
	free(e);
	lw_rewind(&im->log);
	return r;
}

/* A YAML double-quoted scalar of s. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Pass 2: the steps, and the data copied to data_fd. 0 or a negative errno. */
static int emit(struct import *im, FILE *y, int data_fd)
{
	struct lw_entry *e = malloc(sizeof(*e));
	uint64_t ss = im->log.sectorsize, data_off = 0;
	size_t bufsz = 1u << 20;
	uint8_t *buf = malloc(bufsz);
	int r;

	if (!e || !buf) {
		free(e);
		free(buf);
		return -ENOMEM;
	}
	while ((r = lw_next(&im->log, e, im->msg, sizeof(im->msg))) == 1) {
		uint64_t off_s = e->sector * ss / 512, len_s = e->nr_sectors * ss / 512;

		if (e->flags & LW_MARK) {
			fputs("  - crash: ", y);
			if (e->mark[0])
				put_quoted(y, e->mark);
			else
				fprintf(y, "\"mark-%" PRIu64 "\"", e->index);
		} else if (e->flags & LW_DISCARD) {
			if (!len_s) {
				fprintf(y, "  # entry %" PRIu64 ": an empty discard\n", e->index);
				continue;
			}
			fprintf(y, "  - discard: {dev: %s, offset: %" PRIu64 "s, length: %" PRIu64 "s}",
				im->target, off_s, len_s);
			if (im->snap_chunk) /* as Linux's snapshot-origin */
				fputs("\n    error: EOPNOTSUPP", y);
		} else if (len_s) {
			fprintf(y, "  - write: {dev: %s, offset: %" PRIu64 "s, length: %" PRIu64 "s, "
				"data: {file: ", im->target, off_s, len_s);
			put_quoted(y, im->data_name);
			fprintf(y, ", file_offset: %" PRIu64 "B}%s%s}", data_off,
				(e->flags & LW_FUA) ? ", fua: true" : "",
				(e->flags & LW_FLUSH) ? ", preflush: true" : "");
			for (uint64_t done = 0, n = e->nr_sectors * ss; done < n;) {
				size_t chunk = n - done < bufsz ? (size_t)(n - done) : bufsz;

				if ((r = lw_read(&im->log, e->data_offset + done, buf, chunk))) {
					snprintf(im->msg, sizeof(im->msg), "%s: entry %" PRIu64
						 ": cannot read its data: %s", im->log.path, e->index,
						 strerror(-r));
					goto out;
				}
				if (write_all(data_fd, buf, chunk)) {
					r = -errno;
					snprintf(im->msg, sizeof(im->msg), "%s: cannot write: %s",
						 im->data_path, strerror(errno));
					goto out;
				}
				done += chunk;
				im->copied += chunk;
				progress_update(&im->prog, im->copied, progress_now());
			}
			data_off += e->nr_sectors * ss;
		} else if (e->flags & (LW_FLUSH | LW_FUA)) {
			fprintf(y, "  - flush: %s", im->target);
		} else {
			fprintf(y, "  # entry %" PRIu64 ": no data, no flush\n", e->index);
			continue;
		}
		fprintf(y, "   # entry %" PRIu64 "%s\n", e->index,
			(e->flags & LW_METADATA) ? " (metadata)" : "");
	}
out:
	free(e);
	free(buf);
	return r;
}

/* TRACE.yaml -> TRACE.data (any other name: NAME.data). */
static char *data_path_for(const char *out)
{
	size_t n = strlen(out);
	char *p = malloc(n + 6);

	if (!p)
		return NULL;
	memcpy(p, out, n + 1);
	if (n > 5 && !strcmp(p + n - 5, ".yaml"))
		p[n - 5] = '\0';
	else if (n > 4 && !strcmp(p + n - 4, ".yml"))
		p[n - 4] = '\0';
	strcat(p, ".data");
	return p;
}

static int fail(struct import *im, int code, const char *input)
{
	return cli_errorf(&im->v, code, &(struct cli_json_where){ .input = input }, "%s", im->msg);
}

int cmd_import(int argc, char **argv)
{
	enum { OPT_DISK = 0x100, OPT_SIZE, OPT_FORCE, OPT_SNAPSHOT };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION,
		{ "output", required_argument, NULL, 'o' },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		CLI_OPTIONS_END,
	};
	struct import im = { .v = CLI_VERB("import log-writes", usage), .disk = "disk" };
	struct out_file yo = { .fd = -1 }, dof = { .fd = -1 };
	struct out_file_opts oo = { .mode = 0644 };
	const char *out = NULL, *logp, *base;
	uint64_t size = 0;
	bool yo_open = false, do_open = false;
	FILE *y = NULL;
	int opt, rc = CLI_EXIT_IO, r;

	if (argc < 2 || strcmp(argv[1], "log-writes")) {
		struct cli_verb v = CLI_VERB("import", usage);

		if (argc >= 2 && cli_is_help(argv[1])) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		if (argc >= 2 && !strcmp(argv[1], "--version")) {
			cli_print_version(stdout);
			return CLI_EXIT_OK;
		}
		return cli_usage_error(&v, argc < 2 ? "missing format (log-writes)"
				       : "unknown format '%s' (log-writes)", argv[1]);
	}
	argc--;
	argv++;
	cli_begin(&im.v, argc, argv);
	while ((opt = cli_getopt(&im.v, argc, argv, "o:", longopts)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_EXIT:
			return im.v.exit;
		case 'o':
			out = optarg;
			break;
		case OPT_DISK:
			if (!optarg[0] || strchr(optarg, '/') || strchr(optarg, ' ') ||
			    !strcmp(optarg, ".") || !strcmp(optarg, "..") || strlen(optarg) > 100)
				return cli_usage_error(&im.v, "--disk %s: not a valid disk name", optarg);
			im.disk = optarg;
			break;
		case OPT_SIZE:
			if (cli_parse_size(optarg, &size) || !size || size % 512)
				return cli_usage_error(&im.v, "--size %s: expected a positive size in"
						       " whole 512-byte sectors", optarg);
			break;
		case OPT_FORCE:
			oo.force = true;
			break;
		case OPT_SNAPSHOT:
			if (cli_opt_u64(&im.v, "--snapshot", optarg, 1, 2097152, &im.snap_chunk))
				return im.v.exit;
			if (im.snap_chunk & (im.snap_chunk - 1))
				return cli_usage_error(&im.v, "--snapshot %s: the chunk size must be a"
						       " power of two (sectors)", optarg);
			break;
		}
	}
	if (optind >= argc)
		return cli_usage_error(&im.v, "no LOG given");
	if (optind + 1 < argc)
		return cli_usage_error(&im.v, "unexpected argument '%s'", argv[optind + 1]);
	if (!out)
		return cli_usage_error(&im.v, "no -o TRACE.yaml given");
	logp = argv[optind];
	if ((r = lw_open(&im.log, logp, im.msg, sizeof(im.msg)))) {
		lw_close(&im.log);
		return fail(&im, cli_exit_for_input_errno(r), logp);
	}
	if ((r = scan(&im))) {
		rc = fail(&im, r == -ENOMEM ? CLI_EXIT_IO : CLI_EXIT_INPUT, logp);
		goto done;
	}
	if (size && size < im.end_bytes) {
		rc = cli_usage_error(&im.v, "--size %" PRIu64 "B: the log writes up to byte %"
				     PRIu64, size, im.end_bytes);
		goto done;
	}
	if (im.snap_chunk && im.snap_chunk * 512 < im.log.sectorsize) {
		rc = cli_usage_error(&im.v, "--snapshot %" PRIu64 ": a chunk is smaller than the"
				     " log's %u-byte sector", im.snap_chunk, im.log.sectorsize);
		goto done;
	}
	if (!size)
		size = im.end_bytes;
	/* A whole number of log sectors, and at least one. */
	size = (size + im.log.sectorsize - 1) / im.log.sectorsize * im.log.sectorsize;
	if (!size)
		size = im.log.sectorsize;
	im.data_path = data_path_for(out);
	if (!im.data_path) {
		snprintf(im.msg, sizeof(im.msg), "out of memory");
		rc = fail(&im, CLI_EXIT_IO, out);
		goto done;
	}
	base = strrchr(im.data_path, '/');
	im.data_name = base ? base + 1 : im.data_path;

	yo_open = true; /* out_file_close after a failed open too (out_file.h) */
	if (out_file_open(&yo, out, &oo) < 0) {
		snprintf(im.msg, sizeof(im.msg), "%s", yo.msg);
		rc = fail(&im, CLI_EXIT_IO, out);
		goto done;
	}
	do_open = true;
	if (out_file_open(&dof, im.data_path, &oo) < 0) {
		snprintf(im.msg, sizeof(im.msg), "%s", dof.msg);
		rc = fail(&im, CLI_EXIT_IO, im.data_path);
		goto done;
	}
	y = fdopen(dup(yo.fd), "w");
	if (!y) {
		snprintf(im.msg, sizeof(im.msg), "%s: %s", out, strerror(errno));
		rc = fail(&im, CLI_EXIT_IO, out);
		goto done;
	}
	base = strrchr(out, '/');
	base = base ? base + 1 : out;
	fprintf(y, "# Imported by snapsim import log-writes from %s: dm-log-writes version %u,\n"
		"# sector size %u, %" PRIu64 " entries (%" PRIu64 " writes, %" PRIu64 " flushes, %"
		PRIu64 " discards, %" PRIu64 " marks).\n"
		"# Each step names its log entry; writes read their data from %s.\n"
		"version: 1\n", logp, LW_VERSION, im.log.sectorsize, im.log.nr_entries, im.writes,
		im.flushes, im.discards, im.marks, im.data_name);
	fputs("name: ", y);
	{
		char nm[128];

		snprintf(nm, sizeof(nm), "%s", base);
		nm[strcspn(nm, ".")] = '\0';
		put_quoted(y, nm[0] ? nm : "imported");
	}
	fprintf(y, "\ndisks:\n  - {name: %s, size: %" PRIu64 "B, sector_size: %u", im.disk, size,
		im.log.sectorsize);
	if (im.log.sectorsize > 512) /* a power cut tears no less than a block */
		fprintf(y, ", atomic_write: %uB", im.log.sectorsize);
	fprintf(y, "%s}\n", im.discards && !im.snap_chunk ? ", discard: on" : "");
	snprintf(im.target, sizeof(im.target), "%s%s", im.disk, im.snap_chunk ? "_origin" : "");
	if (im.snap_chunk) {
		/* A COW that never fills (LVM's rule, spec 2.11), in whole chunks. */
		uint64_t n = size / 512, cs = im.snap_chunk, chunks = (n + cs - 1) / cs;
		uint64_t epa = cs * 32, cow = (1 + chunks + (chunks + epa) / epa + 2) * cs;
		const char *d = im.disk;

		fprintf(y, "  - {name: %s_cow, size: %" PRIu64 "s, sector_size: %u", d, cow,
			im.log.sectorsize);
		if (im.log.sectorsize > 512)
			fprintf(y, ", atomic_write: %uB", im.log.sectorsize);
		fprintf(y, "}\nsteps:\n"
			"  # an origin with a persistent snapshot, as after lvcreate -s\n"
			"  - dm: create %s_real --table \"0 %" PRIu64 " linear /dev/%s 0\"\n"
			"  - dm: create %s_snap --table \"0 %" PRIu64 " snapshot /dev/mapper/%s_real"
			" /dev/%s_cow P %" PRIu64 "\"\n"
			"  - dm: create %s_origin --table \"0 %" PRIu64 " snapshot-origin"
			" /dev/mapper/%s_real\"\n", d, n, d, d, n, d, d, cs, d, n, d);
	} else {
		fputs("steps:\n", y);
	}
	progress_init(&im.prog, progress_wanted(STDERR_FILENO, im.v.quiet) ? stderr : NULL,
		      "import:", im.data_bytes, progress_now());
	r = emit(&im, y, dof.fd);
	progress_end(&im.prog);
	if (r) {
		rc = fail(&im, r == -EINVAL ? CLI_EXIT_INPUT : CLI_EXIT_IO, r == -EINVAL ? logp : out);
		goto done;
	}
	if (im.snap_chunk)
		fprintf(y, "  # the snapshot still holds the disk as it was before the log\n"
			"  - read: {dev: %s_snap, offset: 0, length: %" PRIu64 "s}\n", im.disk,
			size / 512);
	if (fflush(y) || ferror(y)) {
		snprintf(im.msg, sizeof(im.msg), "%s: cannot write: %s", out, strerror(errno));
		rc = fail(&im, CLI_EXIT_IO, out);
		goto done;
	}
	/* Data first: a trace in place always finds its data. */
	if (out_file_commit(&dof) < 0) {
		snprintf(im.msg, sizeof(im.msg), "%s", dof.msg);
		rc = fail(&im, CLI_EXIT_IO, im.data_path);
		goto done;
	}
	if (out_file_commit(&yo) < 0) {
		snprintf(im.msg, sizeof(im.msg), "%s", yo.msg);
		rc = fail(&im, CLI_EXIT_IO, out);
		goto done;
	}
	rc = CLI_EXIT_OK;
	if (im.v.json) {
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_json_kstr(&j, "verb", "import log-writes");
		cli_json_kstr(&j, "log", logp);
		cli_json_kstr(&j, "trace", out);
		cli_json_kstr(&j, "data", im.data_path);
		cli_json_kuint(&j, "sector_size", im.log.sectorsize);
		cli_json_kuint(&j, "entries", im.log.nr_entries);
		cli_json_kuint(&j, "writes", im.writes);
		cli_json_kuint(&j, "flushes", im.flushes);
		cli_json_kuint(&j, "discards", im.discards);
		cli_json_kuint(&j, "marks", im.marks);
		cli_json_kuint(&j, "data_bytes", im.data_bytes);
		cli_json_kuint(&j, "disk_bytes", size);
		cli_json_kint(&j, "exit_code", rc);
		cli_json_end(&j);
	} else if (!im.v.quiet) {
		printf("%s: %" PRIu64 " entries: %" PRIu64 " writes, %" PRIu64 " flushes, %" PRIu64
		       " discards, %" PRIu64 " marks -> %s (disk %s, %" PRIu64 " bytes) and %s (%"
		       PRIu64 " bytes)\n", logp, im.log.nr_entries, im.writes, im.flushes,
		       im.discards, im.marks, out, im.disk, size, im.data_path, im.data_bytes);
	}
done:
	if (y)
		fclose(y);
	/* The data file was renamed into place but the trace was not: take it back. */
	if (rc != CLI_EXIT_OK && dof.committed && dof.kind == OUT_NEW)
		unlink(dof.path);
	if (do_open)
		out_file_close(&dof);
	if (yo_open)
		out_file_close(&yo);
	lw_close(&im.log);
	free(im.data_path);
	return rc;
}
