/*
 * cmd_run.c - snapsim run TRACE --disk NAME=PATH... [--create]: the steps
 * of a trace executed on real image files through the file device (the
 * replayer's own step loop, replay_opts.disk_files), so that what a trace
 * builds - origins, COW stores, merges - is left in files Linux can
 * activate. Exit status from cli_exit.h.
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
#include "out_file.h"
#include "replay.h"
#include "run_ctl.h"

static void usage(FILE *out)
{
	fputs("usage: snapsim run TRACE --disk NAME=PATH... [--create] [--seed N]\n"
	      "                   [--log FILE [--force]] [-q] [--json]\n"
	      "\n"
	      "Execute a trace's steps (traces/README.md) on image files instead of\n"
	      "simulated disks: every disk of the trace is the file given for it,\n"
	      "through the dm core's file device. dm verbs, reads and writes (expect:\n"
	      "checked, and every read against the model), flushes (fdatasync), FUA\n"
	      "writes (fdatasync before completion), discards (only on a disk with\n"
	      "discard: on), status/table/deps/info checks and settle (runs a merge to\n"
	      "its end) do what they do in replay. Crash markers are ignored: no power\n"
	      "is cut. A disk with faults is refused; latency, queue_depth, reorder,\n"
	      "cache, atomic_write and initial are simulation settings, ignored with a\n"
	      "note. Files are written only at the sectors the steps (and the core on\n"
	      "their behalf: COW copies, store metadata, merges) write; none is\n"
	      "truncated or resized. When a snapshot activates a store written before\n"
	      "this run, the model cannot know its exceptions: from that step on reads\n"
	      "are checked against expect: only, and a note says so. On a terminal a\n"
	      "progress line shows steps done/total, steps/s and ETA.\n"
	      "\n"
	      "Options:\n"
	      "  --disk NAME=PATH  the image file (or block device) of trace disk NAME;\n"
	      "                    required for every disk; an existing file must hold\n"
	      "                    the disk's size (it may be larger)\n"
	      "  --create          create a missing file, sized from the trace (sparse);\n"
	      "                    an existing file is used as it is\n"
	      "  --seed N          run seed (default: the trace's seed:, else 1)\n"
	      "  --log FILE        write the event log to FILE, a new file (through a\n"
	      "                    temporary renamed into place at the end; default: none)\n"
	      "  --force           with --log: replace FILE if it exists\n"
	      "  -q, --quiet       print failures and errors only (no progress line)\n"
	      "  --json            one JSON object on stdout: the run, or the error\n"
	      "  --version         print the version and exit\n"
	      "  -h, --help        print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  every check held\n"
	      "  1  a check failed: a read, an expectation or a dm step mismatched\n"
	      "  2  usage error (a disk without --disk, a --disk the trace lacks)\n"
	      "  3  a trace or image was rejected (invalid trace, a missing or short\n"
	      "     image, faults): nothing ran and no file was changed\n"
	      "  4  I/O or tool error (an image cannot be read or written)\n", out);
}

static int exit_for(enum replay_status st, int code)
{
	switch (st) {
	case REPLAY_PASS: return CLI_EXIT_OK;
	case REPLAY_MISMATCH:
	case REPLAY_HANG:
	case REPLAY_STOPPED: return CLI_EXIT_FAILED;
	case REPLAY_INVALID: return CLI_EXIT_INPUT;
	case REPLAY_ERROR: break;
	}
	if (code == -EINVAL)
		return CLI_EXIT_USAGE;
	if (code == -ENOENT || code == -ENOSPC || code == -EOPNOTSUPP)
		return CLI_EXIT_INPUT;
	return CLI_EXIT_IO;
}

/* The --disk path of trace disk name. */
static const char *path_of(const struct replay_disk_file *df, unsigned nr, const char *name)
{
	for (unsigned k = 0; k < nr; k++)
		if (!strcmp(df[k].name, name))
			return df[k].path;
	return "?";
}

static void print_files(FILE *out, const struct replay_disk_file *df, unsigned nr,
			const struct replay_result *res)
{
	for (unsigned i = 0; i < res->nr_files; i++)
		fprintf(out, "  %s = %s: %" PRIu64 " sectors written, %" PRIu64 " fdatasync%s\n",
			res->files[i].disk, path_of(df, nr, res->files[i].disk),
			res->files[i].sectors_written,
			res->files[i].syncs, res->files[i].created ? " (created)" : "");
}

static void json_result(struct cli_json *j, const char *trace, enum replay_status st,
			const struct replay_result *res, const struct replay_disk_file *df,
			unsigned nr)
{
	cli_json_kstr(j, "trace", trace);
	cli_json_kstr(j, "status", st == REPLAY_PASS ? "pass" : "fail");
	cli_json_kuint(j, "seed", res->seed);
	cli_json_kuint(j, "steps", res->steps);
	cli_json_kuint(j, "ios", res->ios);
	cli_json_kuint(j, "reads_checked", res->reads_checked);
	cli_json_kuint(j, "expects_checked", res->expects_checked);
	cli_json_kbool(j, "model_blind", res->model_blind);
	if (st != REPLAY_PASS) {
		cli_json_kstr(j, "failure", res->failure);
		if (res->fail_line)
			cli_json_kuint(j, "line", res->fail_line);
	}
	cli_json_key(j, "files");
	cli_json_open_array(j);
	for (unsigned i = 0; i < res->nr_files; i++) {
		cli_json_open_object(j);
		cli_json_kstr(j, "disk", res->files[i].disk);
		cli_json_kstr(j, "path", path_of(df, nr, res->files[i].disk));
		cli_json_kuint(j, "sectors_written", res->files[i].sectors_written);
		cli_json_kuint(j, "syncs", res->files[i].syncs);
		cli_json_kbool(j, "created", res->files[i].created);
		cli_json_close(j);
	}
	cli_json_close(j);
}

/* replay_opts.on_step: the progress line (validation has counted the steps). */
static void on_step(void *ctx, const struct replay_result *res)
{
	struct run_ctl *c = ctx;

	c->prog.total = res->steps_total;
	run_ctl_update(c, res->steps, res->steps, 0);
}

int cmd_run(int argc, char **argv)
{
	enum { OPT_DISK = 0x100, OPT_CREATE, OPT_SEED, OPT_LOG, OPT_FORCE };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION,
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "create", no_argument, NULL, OPT_CREATE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_OPTIONS_END,
	};
	struct cli_verb v = CLI_VERB("run", usage);
	struct replay_disk_file *df = NULL;
	struct replay_opts o = { 0 };
	struct out_file_opts lo_opts = { .mode = 0644 };
	struct out_file log_file = { .fd = -1 };
	struct replay_result res;
	struct run_ctl ctl;
	struct trace_error err;
	const char *log_path = NULL, *trace;
	enum replay_status st;
	unsigned nr = 0;
	int opt, rc;

	cli_begin(&v, argc, argv);
	while ((opt = cli_getopt(&v, argc, argv, "", longopts)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_EXIT:
			free(df);
			return v.exit;
		case OPT_DISK: {
			int r = cli_disk_file_add(optarg, &df, &nr);

			if (r) {
				free(df);
				return r == -EINVAL
				       ? cli_usage_error(&v, "--disk %s: expected NAME=PATH", optarg)
				       : cli_errorf(&v, CLI_EXIT_IO, NULL, "out of memory");
			}
			break;
		}
		case OPT_CREATE:
			o.create_files = true;
			break;
		case OPT_SEED:
			if (cli_opt_u64(&v, "--seed", optarg, 0, UINT64_MAX, &o.seed)) {
				free(df);
				return v.exit;
			}
			o.has_seed = true;
			break;
		case OPT_LOG:
			log_path = optarg;
			break;
		case OPT_FORCE:
			lo_opts.force = true;
			break;
		}
	}
	if (optind >= argc) {
		free(df);
		return cli_usage_error(&v, "no TRACE given");
	}
	if (optind + 1 < argc) {
		free(df);
		return cli_usage_error(&v, "one TRACE at a time (unexpected '%s')", argv[optind + 1]);
	}
	if (!nr) {
		free(df);
		return cli_usage_error(&v, "no --disk NAME=PATH given");
	}
	if (lo_opts.force && !log_path) {
		free(df);
		return cli_usage_error(&v, "--force needs --log FILE");
	}
	trace = argv[optind];
	if (log_path && (out_file_open(&log_file, log_path, &lo_opts) ||
			 !(o.log = out_file_stream(&log_file)))) {
		rc = cli_errorf(&v, CLI_EXIT_IO, &(struct cli_json_where){ .input = log_path },
				"--log %s", log_file.msg);
		out_file_close(&log_file);
		free(df);
		return rc;
	}
	o.disk_files = df;
	o.nr_disk_files = nr;
	o.quiet = v.quiet;
	run_ctl_begin(&ctl, progress_wanted(STDERR_FILENO, v.quiet), "run:", 0, "steps", "steps", NULL);
	if (ctl.prog.out) {
		o.on_step = on_step;
		o.on_step_ctx = &ctl;
	}
	o.notes = v.quiet ? NULL : ctl.log; /* a note erases the progress line first */
	trace_error_clear(&err);
	st = replay_run(trace, &o, &res, &err);
	run_ctl_end(&ctl);
	rc = exit_for(st, err.code);
	if (o.log) {
		bool bad = fclose(o.log) != 0;

		if ((bad || out_file_commit(&log_file)) && rc == CLI_EXIT_OK)
			rc = cli_errorf(&v, CLI_EXIT_IO, &(struct cli_json_where){ .input = log_path },
					"--log %s: %s", log_path,
					bad ? "cannot write the event log" : log_file.msg);
		out_file_close(&log_file);
	}
	if (st == REPLAY_INVALID || st == REPLAY_ERROR) {
		if (rc == CLI_EXIT_USAGE) {
			rc = cli_usage_error(&v, "%s", err.text[0] ? err.text : res.failure);
		} else {
			struct cli_json_where where = { .input = err.file[0] ? err.file : trace,
							.line = err.line, .column = err.column };

			rc = cli_error(&v, rc, &where, err.msg[0] ? err.msg : res.failure,
				       err.text[0] ? err.text : res.failure);
		}
	} else if (v.json) {
		struct cli_json j;

		cli_json_begin(&j, stdout);
		cli_json_kstr(&j, "verb", "run");
		json_result(&j, trace, st, &res, df, nr);
		cli_json_kint(&j, "exit_code", rc);
		cli_json_end(&j);
	} else {
		if (!v.quiet || st != REPLAY_PASS) {
			printf("%s: %s: %" PRIu64 " steps, %" PRIu64 " I/Os, %" PRIu64
			       " reads checked against the model, %" PRIu64 " expects\n", trace,
			       st == REPLAY_PASS ? "PASS" : st == REPLAY_HANG ? "HANG" : "FAIL",
			       res.steps, res.ios, res.reads_checked, res.expects_checked);
			print_files(stdout, df, nr, &res);
		}
		if (st != REPLAY_PASS)
			fprintf(stderr, "%s\n", res.failure);
	}
	free(df);
	return rc;
}
