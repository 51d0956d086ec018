/*
 * cmd_explore.c - `snapsim explore TRACE...`: the crash-consistency
 * explorer (sim/explore/explore.h) over traces, with a state database, minimized
 * traces for failures; exit status from cli_exit.h (a hang counts as a
 * failed check, a --point the trace lacks as a usage error).
 *
 * A fault inside the tool (a signal) cannot be turned into a verdict in
 * process; the handler prints the trace and seed being explored and exits
 * with the tool-crash code, so a sweep still classifies it.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_cmd.h"
#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "explore.h"
#include "out_file.h"
#include "progress.h"
#include "run_ctl.h"
#include "statedb.h"

static char explore_crash_note[8192]; /* what to print if the tool faults */

static void explore_on_signal(int sig)
{
	static const char head[] = "snapsim explore: tool crash (signal) while exploring ";
	size_t n = strlen(explore_crash_note);

	(void)sig;
	if (write(STDERR_FILENO, head, sizeof(head) - 1) < 0 ||
	    write(STDERR_FILENO, explore_crash_note, n) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
		_exit(CLI_EXIT_IO);
	_exit(CLI_EXIT_IO);
}

static void explore_usage(FILE *out)
{
	fputs("usage: snapsim explore TRACE... [--seed N] [--mode completion|flush|marked]\n"
	      "         [--subsets all|random|prefix|reorder] [--budget N] [--db FILE]\n"
	      "         [--shard K/N | --point P [--survivors SPEC]] [--keep-going] [--full-check]\n"
	      "         [--event-budget N] [--min-dir DIR | --no-minimize]\n"
	      "         [--save-failing DIR [--force]] [-q] [--json]\n"
	      "         [--check-cmd 'CMD {DEV}...' [--check-timeout SECONDS]]\n"
	      "\n"
	      "At each crash point, restart the stack on the durable states the disks may\n"
	      "hold and check every device against the model and the COW store's\n"
	      "invariants, then push more I/O and check again. Failures print the seed and a\n"
	      "command that replays the failing state, and a minimized trace is written\n"
	      "(it fails with the same check on the same device). On a terminal a progress\n"
	      "line shows crash points done/total, states/s, ETA and violations so far.\n"
	      "\n"
	      "Options (numbers are decimal counts):\n"
	      "  --seed N            run seed, 0..2^64-1: it picks the scheduler's order and\n"
	      "                      the sampled states (default: the trace's seed:, else 1)\n"
	      "  --mode completion|flush|marked\n"
	      "                      where the power is cut: after every write or flush\n"
	      "                      completion at a disk (completion, the default), after\n"
	      "                      FLUSH/FUA/PREFLUSH completions only (flush), or only at\n"
	      "                      the trace's crash: steps (marked); every mode also cuts\n"
	      "                      at the crash: steps and at the end of the trace\n"
	      "  --subsets all|random|prefix|reorder\n"
	      "                      which of the writes still in a disk's cache survive:\n"
	      "                      every subset (all, the default; sampled when there are\n"
	      "                      more than the budget), random samples (random), the\n"
	      "                      first p writes in issue order (prefix), or such a prefix\n"
	      "                      with up to 2 later writes (reorder)\n"
	      "  --budget N          durable states checked per crash point, N >= 1\n"
	      "                      (default 64); beyond it states are sampled\n"
	      "  --db FILE           record every crash point, state and failure in a state\n"
	      "                      database (SQLite; created if missing, else appended\n"
	      "                      to; reports/README.md); default: none\n"
	      "  --shard K/N         explore only the crash points with number % N == K,\n"
	      "                      0 <= K < N (split one run over machines; db merge\n"
	      "                      joins them); default: every point\n"
	      "  --point P           explore crash point P only (0, 1, ... in the order\n"
	      "                      the trace reaches them; a failure's repro line gives\n"
	      "                      it); not with --shard; default: every point\n"
	      "  --survivors SPEC    with --point: check exactly this durable state, SPEC\n"
	      "                      as the repro line prints it (per disk NAME:ID,ID/MASK,\n"
	      "                      disks separated by ';'; '' for none); default:\n"
	      "                      every state the subset mode gives\n"
	      "  --keep-going        continue after a failing crash point (default: stop at\n"
	      "                      the first)\n"
	      "  --event-budget N    scheduler events one wait may run before it is a hang,\n"
	      "                      N >= 1 (default 50000000)\n"
	      "  --min-dir DIR       where minimized traces go, as min-TRACE-SEED.yaml,\n"
	      "                      created if missing (default: the directory of --db,\n"
	      "                      else reports/out); a file there that is not a\n"
	      "                      minimized trace of an earlier run is left as it is\n"
	      "  --full-check        restart and check every state in full (default: each\n"
	      "                      point's first passing state in full, the others judged\n"
	      "                      against it at the cost of what differs; same verdicts)\n"
	      "  --no-minimize       do not minimize failing traces\n"
	      "  --check-cmd CMD     also judge every crash state with your own checker\n"
	      "                      (default: none, the model alone): the\n"
	      "                      devices CMD names as {NAME} (disks or dm devices of\n"
	      "                      the trace) are exported, as recovery left them, to\n"
	      "                      files in a private temporary directory, and CMD runs\n"
	      "                      through /bin/sh with each {NAME} replaced by its\n"
	      "                      file's quoted path ({{ is a literal {); a non-zero exit\n"
	      "                      is a violation (its status and first 8 KiB of output go\n"
	      "                      to the database and report); states whose named devices\n"
	      "                      hold the same bytes run it once; a state lacking a\n"
	      "                      named device skips it (default: no checker).\n"
	      "                      E.g. --check-cmd 'e2fsck -fn {snap}'\n"
	      "  --check-timeout SECONDS\n"
	      "                      time limit of one run of CMD (default 30); a run killed\n"
	      "                      at the limit is a violation of its own kind (timeout)\n"
	      "  --save-failing DIR  write each failing state to DIR/TRACE-seedS-pointP-stateH/\n"
	      "                      (DIR created if missing): every disk's crashed durable\n"
	      "                      image (disk-NAME.img), every dm device as read after a\n"
	      "                      restart on them (dm-NAME.img), and manifest.json;\n"
	      "                      default: nothing saved\n"
	      "  --force             with --save-failing: replace files left by an earlier run\n"
	      "                      (nothing else is ever replaced or removed)\n"
	      "  -q, --quiet         no progress line, no per-trace lines of passing traces;\n"
	      "                      failures, errors and a failing run's summary only\n"
	      "  --json              one JSON object on stdout: every trace's verdict and\n"
	      "                      counts, the totals, \"interrupted\", or the error\n"
	      "  --version           print the version and exit\n"
	      "  -h, --help          print this help and exit\n"
	      "\n"
	      "SIGINT or SIGTERM finishes the state being checked, writes the database\n"
	      "(its run marked interrupted), prints the summary and exits 130; a second\n"
	      "one stops at once.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  every explored state recovered correctly\n"
	      "  1  a check failed: a violation, or a hang (the event budget ran out)\n"
	      "  2  usage error (also: --point names a crash point the trace lacks)\n"
	      "  3  bad input: a trace was rejected, or --db is not a state database\n"
	      "     of this version\n"
	      "  4  I/O or tool error: the database or a failing state's files cannot be\n"
	      "     written (existing files without --force included), out of memory,\n"
	      "     a fault inside snapsim\n"
	      "  130  interrupted (SIGINT or SIGTERM); outranks the codes above\n", out);
}

/* The exit status of a verdict (cli_exit.h). */
static int verdict_exit(enum explore_verdict v)
{
	switch (v) {
	case EXPLORE_OK: return CLI_EXIT_OK;
	case EXPLORE_VIOLATION:
	case EXPLORE_HANG: return CLI_EXIT_FAILED;
	case EXPLORE_BAD_TRACE: return CLI_EXIT_INPUT;
	case EXPLORE_TOOL_CRASH: return CLI_EXIT_IO;
	case EXPLORE_NO_POINT: return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_IO;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* explore_opts.on_state: the progress line. */
static void on_state(void *ctx, const struct explore_result *res)
{
	run_ctl_update(ctx, res->points_explored, res->states_checked, res->failures);
}

/* The crash points of every trace (a replay of each, without checks): the progress total. */
static uint64_t count_points(char **traces, int n, const struct explore_opts *o)
{
	uint64_t total = 0;

	for (int i = 0; i < n && !run_ctl_stop; i++)
		total += explore_count_points(traces[i], o);
	return total;
}

/* --mode and --subsets values. */
static int parse_mode(const char *v, enum explore_mode *m)
{
	static const char *const names[] = { "completion", "flush", "marked" };
	static const enum explore_mode modes[] = { EXPLORE_MODE_COMPLETION, EXPLORE_MODE_FLUSH,
						   EXPLORE_MODE_MARKED };

	for (size_t i = 0; i < 3; i++)
		if (!strcmp(v, names[i])) {
			*m = modes[i];
			return 0;
		}
	return -1;
}

static int parse_subsets(const char *v, enum sim_subset_mode *m)
{
	static const char *const names[] = { "all", "random", "prefix", "reorder" };
	static const enum sim_subset_mode modes[] = { SIM_SUBSET_ALL, SIM_SUBSET_RANDOM,
						      SIM_SUBSET_PREFIX, SIM_SUBSET_REORDER };

	for (size_t i = 0; i < 4; i++)
		if (!strcmp(v, names[i])) {
			*m = modes[i];
			return 0;
		}
	return -1;
}

static const char *result_message(const struct explore_result *res)
{
	return res->fail_point >= 0 ? res->failure : res->replay_failure;
}

static void json_trace(struct cli_json *j, const char *trace, const struct explore_result *res,
		       double dt, const char *minimized, bool check)
{
	cli_json_open_object(j);
	cli_json_kstr(j, "trace", trace);
	cli_json_kstr(j, "verdict", explore_verdict_name(res->verdict));
	cli_json_kuint(j, "seed", res->seed);
	cli_json_kuint(j, "points", res->points);
	cli_json_kuint(j, "points_explored", res->points_explored);
	cli_json_kuint(j, "states_checked", res->states_checked);
	cli_json_kuint(j, "states_duplicate", res->states_duplicate);
	cli_json_kuint(j, "states_judged", res->states_judged);
	cli_json_kuint(j, "refs_recorded", res->refs_recorded);
	cli_json_kuint(j, "refs_carried", res->refs_carried);
	cli_json_kuint(j, "failures", res->failures);
	cli_json_kbool(j, "live_failed", res->live_failed);
	if (check) {
		cli_json_kuint(j, "check_runs", res->check_runs);
		cli_json_kuint(j, "check_reused", res->check_reused);
		cli_json_kuint(j, "check_failures", res->check_failures);
	}
	cli_json_kbool(j, "interrupted", res->interrupted);
	cli_json_kdouble(j, "seconds", dt);
	if (res->verdict != EXPLORE_OK) {
		cli_json_kstr(j, "message", result_message(res));
		if (res->fail_point >= 0)
			cli_json_kint(j, "fail_point", res->fail_point);
		if (res->repro[0])
			cli_json_kstr(j, "repro", res->repro);
		if (minimized)
			cli_json_kstr(j, "minimized", minimized);
	}
	if (res->saved[0]) {
		cli_json_kstr(j, "saved", res->saved);
		cli_json_kuint(j, "states_saved", res->states_saved);
	}
	if (res->save_error[0])
		cli_json_kstr(j, "save_error", res->save_error);
	cli_json_close(j);
}

#define MIN_MARKER "# Minimized by snapsim explore from "

/*
 * Save a minimized trace at path through out_file: a new file, or one an
 * earlier run minimized there (its first line says so); anything else is
 * left alone. 0 or -1 (message printed).
 */
static int save_minimized(const struct cli_verb *cv, const char *path, const char *text)
{
	struct out_file_opts oo = { .force = out_file_is_ours(path, MIN_MARKER), .mode = 0644 };
	char msg[OUT_FILE_MSG_MAX];

	int r = out_file_write_all(path, &oo, text, strlen(text), msg, sizeof(msg));

	if (!r)
		return 0;
	if (r == -EEXIST)
		fprintf(stderr, "snapsim %s: minimized trace not written: %s exists and is not a "
			"minimized trace of an earlier run; left as it is (--min-dir DIR writes "
			"elsewhere)\n", cv->name, path);
	else
		fprintf(stderr, "snapsim %s: minimized trace not written: %s\n", cv->name, msg);
	return -1;
}

/* Print a failing trace's detail, minimize it; minimized gets the path written. */
static void report_failure(const char *trace, const struct explore_opts *o,
			   struct explore_result *res, struct statedb *db, const char *min_dir,
			   bool minimize, const struct cli_verb *cv, char *minimized, size_t len)
{
	FILE *out = cv->json ? stderr : stdout;
	struct explore_opts mo = *o;
	char stem[256], path[4600], *text = NULL;
	int r;

	fprintf(out, "  %s\n", result_message(res));
	fprintf(out, "  seed %" PRIu64 "; replay: %s\n", res->seed,
		res->repro[0] ? res->repro : "(the trace itself is rejected)");
	if (!minimize || o->only_point >= 0)
		return;
	/* What the model caught shrinks without running the checker; what only the
	 * checker caught (it failed, crashed, timed out) needs it in every candidate. */
	if (!res->fail_by_check) {
		mo.check = NULL;
		mo.check_repro = NULL;
	}
	o = &mo;
	explore_trace_stem(trace, stem, sizeof(stem));
	if ((r = cli_mkdir_p(min_dir)) < 0) {
		fprintf(stderr, "snapsim %s: minimized trace not written: %s: %s\n", cv->name,
			min_dir, strerror(-r));
		return;
	}
	snprintf(path, sizeof(path), "%s/min-%s-%" PRIu64 ".yaml", min_dir, stem, res->seed);
	if (explore_minimize(trace, o, res, path, 0, cv->quiet || cv->json ? NULL : stdout, &text))
		return;
	if (!save_minimized(cv, path, text)) {
		fprintf(out, "  minimized: %s\n", path);
		snprintf(minimized, len, "%s", path);
		if (db && res->run_id > 0)
			statedb_run_set_minimized(db, res->run_id, path);
	}
	free(text);
}

int cmd_explore(int argc, char **argv)
{
	enum { OPT_SEED = 0x100, OPT_MODE, OPT_SUBSETS, OPT_BUDGET, OPT_EVENT_BUDGET, OPT_POINT,
	       OPT_SURVIVORS, OPT_SHARD, OPT_DB, OPT_MIN_DIR, OPT_KEEP_GOING, OPT_NO_MINIMIZE,
	       OPT_CHECK_CMD, OPT_CHECK_TIMEOUT, OPT_SAVE_FAILING, OPT_FORCE,
	       OPT_FULL_CHECK };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION,
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "subsets", required_argument, NULL, OPT_SUBSETS },
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "event-budget", required_argument, NULL, OPT_EVENT_BUDGET },
		{ "point", required_argument, NULL, OPT_POINT },
		{ "survivors", required_argument, NULL, OPT_SURVIVORS },
		{ "shard", required_argument, NULL, OPT_SHARD },
		{ "db", required_argument, NULL, OPT_DB },
		{ "min-dir", required_argument, NULL, OPT_MIN_DIR },
		{ "keep-going", no_argument, NULL, OPT_KEEP_GOING },
		{ "full-check", no_argument, NULL, OPT_FULL_CHECK },
		{ "no-minimize", no_argument, NULL, OPT_NO_MINIMIZE },
		{ "check-cmd", required_argument, NULL, OPT_CHECK_CMD },
		{ "check-timeout", required_argument, NULL, OPT_CHECK_TIMEOUT },
		{ "save-failing", required_argument, NULL, OPT_SAVE_FAILING },
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_OPTIONS_END,
	};
	struct cli_verb cv = CLI_VERB("explore", explore_usage);
	struct explore_opts o = { .mode = EXPLORE_MODE_COMPLETION, .subsets = SIM_SUBSET_ALL,
				  .only_point = -1, .program = "snapsim", .version = SNAPSIM_VERSION };
	const char *db_path = NULL, *min_dir = NULL, *shard_opt = NULL, *check_text = NULL;
	char options[4608], started[32], err[512], first_err[1024] = "", *check_repro = NULL;
	const char *first_input = NULL; /* the trace of the first error */
	uint64_t check_timeout = 30;
	static struct check_cmd cc;
	struct cli_json j;
	bool minimize = true;
	uint64_t total_states = 0, total_points = 0, total_fail = 0, total_live = 0, n;
	uint64_t check_runs = 0, check_reused = 0, check_fail = 0;
	struct statedb *db = NULL;
	struct run_ctl ctl;
	bool interrupted = false;
	int rc = CLI_EXIT_OK, first_code = 0, opt, nt, done = 0;
	double t0;

	cli_begin(&cv, argc, argv);
	while ((opt = cli_getopt(&cv, argc, argv, "", longopts)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_EXIT:
			return cv.exit;
		case OPT_SEED:
			if (cli_opt_u64(&cv, "--seed", optarg, 0, UINT64_MAX, &o.seed))
				return cv.exit;
			o.has_seed = true;
			break;
		case OPT_MODE:
			if (parse_mode(optarg, &o.mode))
				return cli_usage_error(&cv, "--mode %s: expected completion, flush "
						       "or marked", optarg);
			break;
		case OPT_SUBSETS:
			if (parse_subsets(optarg, &o.subsets))
				return cli_usage_error(&cv, "--subsets %s: expected all, random, "
						       "prefix or reorder", optarg);
			break;
		case OPT_BUDGET:
			if (cli_opt_u64(&cv, "--budget", optarg, 1, UINT64_MAX, &o.budget))
				return cv.exit;
			break;
		case OPT_EVENT_BUDGET:
			if (cli_opt_u64(&cv, "--event-budget", optarg, 1, UINT64_MAX, &o.event_budget))
				return cv.exit;
			break;
		case OPT_POINT:
			if (cli_opt_u64(&cv, "--point", optarg, 0, INT64_MAX, &n))
				return cv.exit;
			o.only_point = (int64_t)n;
			break;
		case OPT_SURVIVORS:
			o.only_survivors = optarg;
			break;
		case OPT_SHARD: {
			unsigned k, nn;
			char c;

			if (optarg[0] < '0' || optarg[0] > '9' ||
			    sscanf(optarg, "%u/%u%c", &k, &nn, &c) != 2 || nn == 0 || k >= nn)
				return cli_usage_error(&cv, "--shard %s: expected K/N with "
						       "0 <= K < N (e.g. 0/4)", optarg);
			o.shard_k = k;
			o.shard_n = nn;
			shard_opt = optarg;
			break;
		}
		case OPT_DB:
			db_path = optarg;
			break;
		case OPT_MIN_DIR:
			min_dir = optarg;
			break;
		case OPT_KEEP_GOING:
			o.keep_going = true;
			break;
		case OPT_SAVE_FAILING:
			if (!*optarg)
				return cli_usage_error(&cv, "--save-failing: empty directory name");
			o.save_failing_dir = optarg;
			break;
		case OPT_FORCE:
			o.save_force = true;
			break;
		case OPT_FULL_CHECK:
			o.full_check = true;
			break;
		case OPT_NO_MINIMIZE:
			minimize = false;
			break;
		case OPT_CHECK_CMD:
			check_text = optarg;
			break;
		case OPT_CHECK_TIMEOUT:
			if (cli_opt_u64(&cv, "--check-timeout", optarg, 1, 86400, &check_timeout))
				return cv.exit;
			break;
		}
	}
	nt = argc - optind;
	if (o.only_survivors && o.only_point < 0)
		return cli_usage_error(&cv, "--survivors needs --point");
	if (o.only_point >= 0 && shard_opt)
		return cli_usage_error(&cv, "--point %" PRId64 " and --shard %s cannot be used "
				       "together", o.only_point, shard_opt);
	if (min_dir && !minimize)
		return cli_usage_error(&cv, "--min-dir and --no-minimize cannot be used together");
	if (nt == 0)
		return cli_usage_error(&cv, "no TRACE given");
	if (check_text) {
		/* Every placeholder must name a device of every trace, before anything runs. */
		if (check_cmd_parse(&cc, check_text, (double)check_timeout, err, sizeof(err)))
			return cli_usage_error(&cv, "%s", err);
		for (int i = optind; i < argc; i++)
			if (check_cmd_check_names(&cc, argv[i], err, sizeof(err)) == 1)
				return cli_usage_error(&cv, "%s", err);
		check_repro = check_cmd_repro(&cc);
		if (!check_repro)
			return cli_errorf(&cv, CLI_EXIT_IO, NULL, "out of memory");
		o.check = check_cmd_state;
		o.check_ctx = &cc;
		o.check_text = check_text;
		o.check_repro = check_repro;
	} else if (check_timeout != 30) {
		return cli_usage_error(&cv, "--check-timeout needs --check-cmd");
	}
	if (o.save_force && !o.save_failing_dir)
		return cli_usage_error(&cv, "--force applies to --save-failing");
	snprintf(options, sizeof(options), "--mode %s --subsets %s --budget %" PRIu64 "%s",
		 explore_mode_name(o.mode), explore_subsets_name(o.subsets), o.budget ? o.budget : 64,
		 o.keep_going ? " --keep-going" : "");
	if (o.full_check)
		snprintf(options + strlen(options), sizeof(options) - strlen(options), " --full-check");
	if (o.shard_n)
		snprintf(options + strlen(options), sizeof(options) - strlen(options), " --shard %u/%u",
			 o.shard_k, o.shard_n);
	if (check_repro)
		snprintf(options + strlen(options), sizeof(options) - strlen(options), " %s",
			 check_repro);
	o.options_text = options;
	{
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
		o.started = started;
	}
	if (db_path) {
		int r = statedb_open(db_path, &db, err, sizeof(err));

		if (r)
			return cli_errorf(&cv, r == -EINVAL ? CLI_EXIT_INPUT : CLI_EXIT_IO,
					  &(struct cli_json_where){ .input = db_path }, "%s", err);
		o.db = db;
	}
	if (!min_dir) {
		static char dirbuf[4096];
		const char *slash = db_path ? strrchr(db_path, '/') : NULL;

		if (slash)
			snprintf(dirbuf, sizeof(dirbuf), "%.*s", (int)(slash - db_path), db_path);
		else
			snprintf(dirbuf, sizeof(dirbuf), "%s", db_path ? "." : "reports/out");
		min_dir = dirbuf;
	}
	/* SIGINT/SIGTERM: the state in hand is finished, the database written. */
	run_ctl_catch_stop();
	o.stop = &run_ctl_stop;
	{
		bool show = progress_wanted(STDERR_FILENO, cv.quiet);

		run_ctl_begin(&ctl, show, "explore:", show ? count_points(argv + optind, nt, &o) : 0,
			      "points", "states", "violations");
	}
	o.on_state = on_state;
	o.on_state_ctx = &ctl;
	o.log = cv.quiet ? NULL : ctl.log;
	signal(SIGSEGV, explore_on_signal);
	signal(SIGBUS, explore_on_signal);
	signal(SIGFPE, explore_on_signal);
	signal(SIGABRT, explore_on_signal);
	if (cv.json) {
		cli_json_begin(&j, stdout);
		cli_json_kstr(&j, "verb", "explore");
		cli_json_key(&j, "traces");
		cli_json_open_array(&j);
	}

	t0 = now_s();
	for (int i = optind; i < argc && !interrupted; i++) {
		const char *trace = argv[i];
		struct explore_result *res = calloc(1, sizeof(*res));
		char minimized[4600] = "";
		double t1 = now_s(), dt;
		int code;

		if (!res) {
			rc = CLI_EXIT_IO;
			break;
		}
		snprintf(explore_crash_note, sizeof(explore_crash_note), "%s (%s%s%" PRIu64 "); rerun: snapsim explore %s %s",
			 trace, o.has_seed ? "seed " : "trace seed", o.has_seed ? "" : ", --seed ",
			 o.has_seed ? o.seed : 0, trace, options);
		explore_trace(trace, &o, res);
		run_ctl_next(&ctl, res->points_explored, res->states_checked, res->failures);
		progress_end(&ctl.prog);
		done++;
		if (res->interrupted || run_ctl_stop) {
			interrupted = true; /* no trace after this one */
			minimize = false;   /* stop means stop */
		}
		dt = now_s() - t1;
		total_states += res->states_checked;
		total_points += res->points_explored;
		total_fail += res->failures;
		total_live += res->live_failed;
		check_runs += res->check_runs;
		check_reused += res->check_reused;
		check_fail += res->check_failures;
		code = verdict_exit(res->verdict);
		if (code > rc)
			rc = code; /* 4 > 3 > 2 > 1: errors outrank a failed check */
		if (res->verdict == EXPLORE_NO_POINT)
			fprintf(stderr, "snapsim explore: %s\nTry 'snapsim explore --help' for more "
				"information.\n", res->replay_failure);
		else if (!cv.json && (!cv.quiet || res->verdict != EXPLORE_OK))
			printf("%-34s %-9s seed %-4" PRIu64 " points %5" PRIu64 "/%-5" PRIu64
			       " states %6" PRIu64 " checked (%" PRIu64 " duplicate) %5.1fs\n",
			       trace, explore_verdict_name(res->verdict), res->seed,
			       res->points_explored, res->points, res->states_checked,
			       res->states_duplicate, dt);
		if (res->verdict == EXPLORE_BAD_TRACE || res->verdict == EXPLORE_TOOL_CRASH)
			fprintf(stderr, "%s\n", result_message(res));
		if (code != CLI_EXIT_OK && code != CLI_EXIT_FAILED && !first_code) {
			first_code = code;
			first_input = trace;
			snprintf(first_err, sizeof(first_err), "%s", result_message(res));
		}
		if (res->verdict == EXPLORE_VIOLATION || res->verdict == EXPLORE_HANG ||
		    res->verdict == EXPLORE_TOOL_CRASH)
			report_failure(trace, &o, res, db, min_dir, minimize, &cv, minimized,
				       sizeof(minimized));
		if (res->saved[0])
			fprintf(cv.json ? stderr : stdout, "  saved: %s (%" PRIu64
				" failing state%s under %s)\n", res->saved, res->states_saved,
				res->states_saved == 1 ? "" : "s", o.save_failing_dir);
		if (res->save_error[0]) {
			fprintf(stderr, "snapsim explore: %s: %s\n", trace, res->save_error);
			if (rc < CLI_EXIT_IO)
				rc = CLI_EXIT_IO;
			if (!first_code) {
				first_code = CLI_EXIT_IO;
				snprintf(first_err, sizeof(first_err), "%s", res->save_error);
			}
		}
		if (cv.json)
			json_trace(&j, trace, res, dt, minimized[0] ? minimized : NULL, o.check != NULL);
		fflush(stdout);
		free(res);
	}
	run_ctl_end(&ctl);
	if (interrupted)
		rc = CLI_EXIT_INTERRUPTED;
	{
		double dt = now_s() - t0;

		if (cv.json) {
			cli_json_close(&j);
			cli_json_kuint(&j, "crash_points", total_points);
			cli_json_kuint(&j, "states_checked", total_states);
			cli_json_kuint(&j, "failing", total_fail);
			cli_json_kuint(&j, "live_failed", total_live);
			cli_json_kbool(&j, "interrupted", interrupted);
			cli_json_kdouble(&j, "seconds", dt);
			if (db_path)
				cli_json_kstr(&j, "database", db_path);
			cli_json_kint(&j, "exit_code", rc);
			if (first_code)
				cli_json_kerror(&j, first_code, first_err, first_input ?
						&(struct cli_json_where){ .input = first_input } : NULL);
			cli_json_end(&j);
		} else if (!cv.quiet || rc != CLI_EXIT_OK) {
			if (check_text)
				printf("check command: %" PRIu64 " run%s, %" PRIu64 " state%s given an "
				       "earlier verdict (same contents), %" PRIu64 " failing\n",
				       check_runs, check_runs == 1 ? "" : "s", check_reused,
				       check_reused == 1 ? "" : "s", check_fail);

			char live[64] = "";

			if (total_live)
				snprintf(live, sizeof(live), ", %" PRIu64 " live run%s failed", total_live,
					 total_live == 1 ? "" : "s");
			printf("explored %d trace%s: %" PRIu64 " crash points, %" PRIu64 " states checked, %" PRIu64
			       " failing%s, %.1fs (%.0f states/s)%s%s\n", done, done == 1 ? "" : "s",
			       total_points, total_states, total_fail, live, dt,
			       dt > 0 ? (double)total_states / dt : 0.0, db_path ? "; database " : "",
			       db_path ? db_path : "");
			if (interrupted)
				printf("interrupted (%s) after %d of %d trace%s: the counts above are what "
				       "was checked%s\n", run_ctl_stop == SIGTERM ? "SIGTERM" : "SIGINT",
				       done, nt, nt == 1 ? "" : "s",
				       db_path ? "; the database holds it, its run marked interrupted" : "");
		}
	}
	statedb_close(db);
	if (check_text)
		check_cmd_finish(&cc);
	free(check_repro);
	return rc;
}
