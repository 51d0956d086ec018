/*
 * cmd_replay.c - snapsim replay TRACE... [--seed N | --seeds A..B]
 * [--log FILE] [--shuffle] [-q] [--stats] [--json]: run traces through the
 * simulator and the dm core, every read checked against the model. One
 * summary line (or JSON element) per trace and seed; exit status from
 * cli_exit.h: 1 a check failed or a run hung, 3 a trace was rejected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "out_file.h"
#include "replay.h"
#include "run_ctl.h"
#include "ss_error.h"

static void usage(FILE *out)
{
	fputs("usage: snapsim replay TRACE... [--seed N | --seeds A..B] [--log FILE]\n"
	      "                      [--shuffle] [--stats] [--save DIR] [--force] [-q] [--json]\n"
	      "\n"
	      "Replay YAML traces (traces/README.md) deterministically through the dm core\n"
	      "on simulated disks; every read is checked against the reference model. A\n"
	      "trace is validated whole before any step runs. A trace's save steps write\n"
	      "their image files (an existing file is refused before anything runs, unless\n"
	      "--force). On a terminal a progress line shows steps done/total (every\n"
	      "trace and seed), steps/s, ETA and failed runs so far.\n"
	      "\n"
	      "Options:\n"
	      "  --save DIR    after a passing run, write every disk (what a read returns) and\n"
	      "                every dm device (read through its live table) of the final\n"
	      "                state to DIR/disk-NAME.img and DIR/dm-NAME.img, with\n"
	      "                DIR/manifest.json (file, device, kind, size, FNV-1a 64 hash);\n"
	      "                DIR is created if missing; one trace and one seed only;\n"
	      "                default: nothing saved\n"
	      "  --force       let --log, save steps and --save replace existing files\n"
	      "                (regular files only; nothing else is ever replaced or removed)\n"
	      "  --seed N      run seed (default: the trace's seed:, else 1)\n"
	      "  --seeds A..B  every seed from A to B, A <= B (not with --seed; default:\n"
	      "                one run)\n"
	      "  --log FILE    write the event log (all runs, in order) to FILE, a new\n"
	      "                file (through a temporary renamed into place at the end);\n"
	      "                default: no log\n"
	      "  --shuffle     interleave same-time deferred work in a seeded order\n"
	      "  --stats       also print wall time, I/O per second, trace MB/s, peak RSS,\n"
	      "                and how much of the image files was read\n"
	      "  -q, --quiet   print failures and errors only (no progress line)\n"
	      "  --json        one JSON object on stdout: every run, or the error\n"
	      "  --version     print the version and exit\n"
	      "  -h, --help    print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  every check held\n"
	      "  1  a check failed: a read or an expectation mismatched, or a run hung\n"
	      "  2  usage error\n"
	      "  3  a trace was rejected (missing, or invalid: nothing of it ran)\n"
	      "  4  I/O or tool error (the log or a saved image cannot be written, a file\n"
	      "     to save exists without --force, out of memory)\n", out);
}

static double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long long n = -1;

	if (f && !fseek(f, 0, SEEK_END))
		n = ftell(f);
	if (f)
		fclose(f);
	return n;
}

static const char *status_name(enum replay_status st)
{
	switch (st) {
	case REPLAY_PASS: return "pass";
	case REPLAY_MISMATCH: return "fail";
	case REPLAY_HANG: return "hang";
	case REPLAY_STOPPED: return "stopped";
	case REPLAY_INVALID: return "rejected";
	case REPLAY_ERROR: return "error";
	}
	return "?";
}

struct replay_cli {
	struct cli_verb v;
	const char *save_dir;
	bool force;
	struct replay_save_dir_result saved;
	struct cli_json j;
	bool stats;
	struct run_ctl ctl;     /* the progress line (steps of every run) */
	int rc;
	/* the first error (exit status 3 or 4), for the JSON "error" member */
	int err_code;
	char err_msg[1024], err_input[512];
	unsigned err_line, err_column;
};

static void note_error(struct replay_cli *c, int code, const char *input,
		       const struct trace_error *err, const char *fallback)
{
	if (c->rc == CLI_EXIT_OK || c->rc == CLI_EXIT_FAILED)
		c->rc = code;
	if (c->err_code)
		return;
	c->err_code = code;
	snprintf(c->err_msg, sizeof(c->err_msg), "%s", err && err->msg[0] ? err->msg : fallback);
	snprintf(c->err_input, sizeof(c->err_input), "%s", err && err->file[0] ? err->file : input);
	c->err_line = err ? err->line : 0;
	c->err_column = err ? err->column : 0;
}

static void json_run(struct replay_cli *c, const char *trace, enum replay_status st,
		     const struct replay_result *res, const struct trace_error *err)
{
	char hash[17];

	cli_json_open_object(&c->j);
	cli_json_kstr(&c->j, "trace", trace);
	cli_json_kstr(&c->j, "status", status_name(st));
	if (st == REPLAY_INVALID || st == REPLAY_ERROR) {
		cli_json_kstr(&c->j, "message", err->msg[0] ? err->msg : res->failure);
		if (err->line) {
			cli_json_kuint(&c->j, "line", err->line);
			cli_json_kuint(&c->j, "column", err->column);
		}
		cli_json_close(&c->j);
		return;
	}
	snprintf(hash, sizeof(hash), "%016" PRIx64, res->event_hash);
	cli_json_kuint(&c->j, "seed", res->seed);
	cli_json_kuint(&c->j, "steps", res->steps);
	cli_json_kuint(&c->j, "ios", res->ios);
	cli_json_kuint(&c->j, "reads_checked", res->reads_checked);
	cli_json_kuint(&c->j, "sectors_checked", res->sectors_checked);
	cli_json_kuint(&c->j, "expects_checked", res->expects_checked);
	cli_json_kstr(&c->j, "event_hash", hash);
	if (c->save_dir && st == REPLAY_PASS) {
		cli_json_kstr(&c->j, "saved", c->save_dir);
		cli_json_kuint(&c->j, "saved_files", c->saved.files);
	}
	if (st != REPLAY_PASS) {
		char repro[1200];

		cli_json_kstr(&c->j, "failure", res->failure);
		if (res->fail_line)
			cli_json_kuint(&c->j, "line", res->fail_line);
		snprintf(repro, sizeof(repro), "snapsim replay %s --seed %" PRIu64, trace, res->seed);
		cli_json_kstr(&c->j, "repro", repro);
	}
	cli_json_close(&c->j);
}

/* --save DIR: the final state of a passing run. */
static int save_end(void *ctx, struct replay_world *w, char *errbuf, size_t len)
{
	struct replay_cli *c = ctx;
	struct replay_save_dir_opts so = { .force = c->force, .trace = replay_world_trace(w),
					   .seed = replay_world_seed(w), .state = "final" };
	char eb[4600];
	int r;

	r = replay_world_save_dir(w, c->save_dir, &so, &c->saved, eb, sizeof(eb));
	if (r)
		snprintf(errbuf, len, "--save %s: %s", c->save_dir, eb);
	return r;
}

/* replay_opts.on_step: the progress line. */
static void on_step(void *ctx, const struct replay_result *res)
{
	struct replay_cli *c = ctx;

	run_ctl_update(&c->ctl, res->steps, res->steps, 0);
}

/*
 * One trace at one seed; steps is what validation counted for it (the
 * progress line's share of this run). Returns false when the trace
 * cannot run at all.
 */
static bool run_one(struct replay_cli *c, const char *trace, struct replay_opts *o,
		    uint64_t steps)
{
	struct replay_result res;
	struct trace_error err;
	enum replay_status st;
	double t0 = wall_seconds(), dt;

	trace_error_clear(&err);
	st = replay_run(trace, o, &res, &err);
	dt = wall_seconds() - t0;
	/* The run's whole share is done, however far it got. */
	run_ctl_next(&c->ctl, steps, res.steps, st != REPLAY_PASS);
	progress_end(&c->ctl.prog);
	if (c->v.json)
		json_run(c, trace, st, &res, &err);
	if (st == REPLAY_INVALID || st == REPLAY_ERROR) {
		int code = st == REPLAY_INVALID ? CLI_EXIT_INPUT : CLI_EXIT_IO;

		fprintf(stderr, "%s\n", res.failure);
		note_error(c, code, trace, &err, res.failure);
		return false;
	}
	if (!c->v.json && (!c->v.quiet || st != REPLAY_PASS))
		printf("%s seed %" PRIu64 ": %s: %" PRIu64 " steps, %" PRIu64
		       " I/Os, %" PRIu64 " reads checked (%" PRIu64
		       " sectors), %" PRIu64 " expects, hash %016" PRIx64 "\n",
		       trace, res.seed,
		       st == REPLAY_PASS ? "PASS" : st == REPLAY_HANG ? "HANG"
		       : st == REPLAY_STOPPED ? "STOPPED" : "FAIL",
		       res.steps, res.ios, res.reads_checked, res.sectors_checked,
		       res.expects_checked, res.event_hash);
	if (c->save_dir && st == REPLAY_PASS && !c->v.json && !c->v.quiet)
		printf("  saved %u image%s and manifest.json in %s%s\n", c->saved.files,
		       c->saved.files == 1 ? "" : "s", c->save_dir,
		       c->saved.skipped ? " (some dm devices without a file: see the manifest)" : "");
	if (c->stats && !c->v.json && !c->v.quiet) {
		struct rusage ru;
		long long sz = file_size(trace);

		getrusage(RUSAGE_SELF, &ru);
		printf("  %.3f s wall, %.0f I/O/s, %.2f MB/s of trace (%lld bytes),"
		       " %.1f MiB moved, peak RSS %ld KiB, %" PRIu64 " events\n",
		       dt, dt > 0 ? (double)res.ios / dt : 0.0,
		       dt > 0 && sz > 0 ? (double)sz / dt / 1e6 : 0.0, sz,
		       (double)(res.bytes_read + res.bytes_written) / 1048576.0,
		       ru.ru_maxrss, res.events);
		if (res.image_bytes)
			printf("  image files: %.1f MiB read (repeats counted) from %.1f MiB (%.2f%%)\n",
			       (double)res.image_bytes_read / 1048576.0,
			       (double)res.image_bytes / 1048576.0,
			       100.0 * (double)res.image_bytes_read / (double)res.image_bytes);
	}
	if (st != REPLAY_PASS) {
		fprintf(stderr, "%s\n  replay: snapsim replay %s --seed %" PRIu64 "\n",
			res.failure, trace, res.seed);
		if (c->rc == CLI_EXIT_OK)
			c->rc = CLI_EXIT_FAILED;
	}
	return true;
}

int cmd_replay(int argc, char **argv)
{
	enum { OPT_SEED = 0x100, OPT_SEEDS, OPT_LOG, OPT_SHUFFLE, OPT_STATS, OPT_SAVE, OPT_FORCE };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION,
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "seeds", required_argument, NULL, OPT_SEEDS },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "shuffle", no_argument, NULL, OPT_SHUFFLE },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "save", required_argument, NULL, OPT_SAVE },
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_OPTIONS_END,
	};
	struct replay_cli c = { .v = CLI_VERB("replay", usage) };
	struct replay_opts o = { 0 };
	const char *log_path = NULL, *seed_opt = NULL, *seeds_opt = NULL;
	struct out_file_opts lo_opts = { .mode = 0644 };
	struct out_file log_file = { .fd = -1 };
	uint64_t lo = 0, hi = 0, *steps;
	bool show;
	int opt;

	cli_begin(&c.v, argc, argv);
	while ((opt = cli_getopt(&c.v, argc, argv, "", longopts)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_EXIT:
			return c.v.exit;
		case OPT_SEED:
			if (cli_opt_u64(&c.v, "--seed", optarg, 0, UINT64_MAX, &lo))
				return c.v.exit;
			hi = lo;
			seed_opt = optarg;
			break;
		case OPT_SEEDS:
			if (cli_opt_range(&c.v, "--seeds", optarg, &lo, &hi))
				return c.v.exit;
			seeds_opt = optarg;
			break;
		case OPT_LOG:
			log_path = optarg;
			break;
		case OPT_SHUFFLE:
			o.defer_shuffle = true;
			break;
		case OPT_STATS:
			c.stats = true;
			break;
		case OPT_SAVE:
			if (!*optarg)
				return cli_usage_error(&c.v, "--save: empty directory name");
			c.save_dir = optarg;
			break;
		case OPT_FORCE:
			c.force = true;
			lo_opts.force = true;
			break;
		}
	}
	if (seed_opt && seeds_opt)
		return cli_usage_error(&c.v, "--seed %s and --seeds %s cannot be used together",
				       seed_opt, seeds_opt);
	if (optind >= argc)
		return cli_usage_error(&c.v, "no TRACE given");
	if (c.save_dir && (argc - optind > 1 || (seeds_opt && lo != hi)))
		return cli_usage_error(&c.v, "--save %s takes one trace and one seed (a run's "
				       "final state)", c.save_dir);
	if (c.save_dir) {
		char mp[4200];
		struct stat st;

		/* Before anything runs: a directory of an earlier save is not replaced. */
		snprintf(mp, sizeof(mp), "%s/manifest.json", c.save_dir);
		if (!stat(c.save_dir, &st) && !S_ISDIR(st.st_mode))
			return cli_errorf(&c.v, CLI_EXIT_IO,
					  &(struct cli_json_where){ .input = c.save_dir },
					  "--save %s: exists and is not a directory", c.save_dir);
		if (!c.force && !access(mp, F_OK))
			return cli_errorf(&c.v, CLI_EXIT_IO, &(struct cli_json_where){ .input = mp },
					  "--save %s: %s exists (an earlier save; give --force to "
					  "replace its files)", c.save_dir, mp);
	}
	if (log_path) {
		/* The log goes to a temporary, renamed over FILE once every run is done. */
		if (out_file_open(&log_file, log_path, &lo_opts) || !(o.log = out_file_stream(&log_file))) {
			int rc = cli_errorf(&c.v, CLI_EXIT_IO, &(struct cli_json_where){ .input = log_path },
					    "--log %s", log_file.msg);

			out_file_close(&log_file);
			return rc;
		}
	}
	o.quiet = c.v.quiet;
	o.save_files = true;
	o.force = c.force;
	if (c.save_dir) {
		o.end_hook = save_end;
		o.end_ctx = &c;
	}
	o.has_seed = seed_opt || seeds_opt;
	if (c.v.json) {
		cli_json_begin(&c.j, stdout);
		cli_json_kstr(&c.j, "verb", "replay");
		cli_json_key(&c.j, "runs");
		cli_json_open_array(&c.j);
	}
	show = progress_wanted(STDERR_FILENO, c.v.quiet);
	steps = calloc((size_t)argc, sizeof(*steps));
	if (show && steps) {
		uint64_t total = 0, runs = o.has_seed ? hi - lo + 1 : 1;

		/* The total: every trace validated once more (on a terminal only). */
		for (int t = optind; t < argc; t++) {
			uint64_t n = replay_count_steps(argv[t]);

			steps[t] = runs && n > UINT64_MAX / runs ? UINT64_MAX / runs : n;
			total = total > UINT64_MAX - steps[t] * runs ? UINT64_MAX
								      : total + steps[t] * runs;
		}
		o.on_step = on_step;
		o.on_step_ctx = &c;
		run_ctl_begin(&c.ctl, true, "replay:", total, "steps", "steps", "failed runs");
	} else {
		run_ctl_begin(&c.ctl, false, "replay:", 0, "steps", "steps", "failed runs");
	}
	for (int t = optind; t < argc; t++) {
		uint64_t s = lo;

		do {
			o.seed = s;
			if (!run_one(&c, argv[t], &o, steps ? steps[t] : 0))
				break;
		} while (o.has_seed && s++ < hi);
	}
	run_ctl_end(&c.ctl);
	free(steps);
	if (o.log) {
		bool bad = fclose(o.log) != 0;

		if (bad || out_file_commit(&log_file)) {
			char why[900];

			ss_elide(why, sizeof(why), bad ? "cannot write the event log" : log_file.msg);

			fprintf(stderr, "snapsim replay: --log %s: %s\n", log_path, why);
			note_error(&c, CLI_EXIT_IO, log_path, NULL, why);
		}
		out_file_close(&log_file);
	}
	if (c.v.json) {
		cli_json_close(&c.j);
		cli_json_kint(&c.j, "exit_code", c.rc);
		if (c.err_code)
			cli_json_kerror(&c.j, c.err_code, c.err_msg,
					&(struct cli_json_where){ .input = c.err_input,
								  .line = c.err_line,
								  .column = c.err_column });
		cli_json_end(&c.j);
	}
	return c.rc;
}
