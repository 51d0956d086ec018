/*
 * cmd_explore.c - `snapsim explore TRACE...`: the crash-consistency
 * explorer (sim/explore/explore.h) over traces, with a state database, minimized
 * traces for failures, and one exit code per failure class.
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

#include "cli_util.h"
#include "commands.h"
#include "explore.h"
#include "statedb.h"

static char explore_crash_note[1024]; /* what to print if the tool faults */

static void explore_on_signal(int sig)
{
	static const char head[] = "snapsim explore: tool crash (signal) while exploring ";
	size_t n = strlen(explore_crash_note);

	(void)sig;
	if (write(STDERR_FILENO, head, sizeof(head) - 1) < 0 ||
	    write(STDERR_FILENO, explore_crash_note, n) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
		_exit(EXPLORE_TOOL_CRASH);
	_exit(EXPLORE_TOOL_CRASH);
}

static void explore_usage(FILE *out)
{
	fprintf(out,
		"usage: snapsim explore TRACE... [--seed N] [--mode completion|flush|marked]\n"
		"         [--subsets all|random|prefix|reorder] [--budget N] [--db FILE]\n"
		"         [--shard K/N] [--point P [--survivors SPEC]] [--keep-going]\n"
		"         [--event-budget N] [--min-dir DIR] [--no-minimize] [--quiet]\n"
		"  At each crash point, restart the stack on the durable states the disks may\n"
		"  hold (up to --budget per point, default 64) and check every device against\n"
		"  the model and the COW store's invariants, then push more I/O and check again.\n"
		"  --mode: crash after every disk write/flush completion (default), after\n"
		"  FLUSH/FUA completions only, or at the trace's `crash:` steps (all modes add\n"
		"  the markers and the end of the trace). --shard K/N: points with seq %% N == K.\n"
		"  --point/--survivors: check one state (the repro line of a failure).\n"
		"Exit: 0 ok, 1 violation, 2 usage or bad trace, 3 tool crash, 4 hang.\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return (*end || errno) ? -EINVAL : 0;
}

/* The trace's file name without directory and .yaml. */
static void trace_stem(const char *path, char *buf, size_t len)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 5 && !strcmp(b + n - 5, ".yaml"))
		n -= 5;
	snprintf(buf, len, "%.*s", (int)n, b);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_explore(int argc, char **argv)
{
	struct explore_opts o = { .mode = EXPLORE_MODE_COMPLETION, .subsets = SIM_SUBSET_ALL,
				  .only_point = -1, .program = "snapsim", .version = "0.1.0" };
	const char *db_path = NULL, *min_dir = NULL, *v;
	const char **traces = calloc((size_t)argc, sizeof(char *));
	char options[512], started[32], err[512];
	enum explore_verdict worst = EXPLORE_OK;
	bool minimize = true, quiet = false;
	uint64_t total_states = 0, total_points = 0, total_fail = 0;
	struct statedb *db = NULL;
	int nt = 0, used;
	double t0;

	if (!traces)
		return EXPLORE_TOOL_CRASH;
	for (int i = 1; i < argc; i += used) {
		uint64_t n;

		used = 1;
		if (cli_is_help(argv[i])) {
			explore_usage(stdout);
			free(traces);
			return CLI_EXIT_OK;
		} else if (cli_long_opt("--seed", argc, argv, i, &v, &used)) {
			if (parse_u64(v, &o.seed))
				goto bad_value;
			o.has_seed = true;
		} else if (cli_long_opt("--mode", argc, argv, i, &v, &used)) {
			if (v && !strcmp(v, "completion"))
				o.mode = EXPLORE_MODE_COMPLETION;
			else if (v && !strcmp(v, "flush"))
				o.mode = EXPLORE_MODE_FLUSH;
			else if (v && !strcmp(v, "marked"))
				o.mode = EXPLORE_MODE_MARKED;
			else
				goto bad_value;
		} else if (cli_long_opt("--subsets", argc, argv, i, &v, &used)) {
			if (v && !strcmp(v, "all"))
				o.subsets = SIM_SUBSET_ALL;
			else if (v && !strcmp(v, "random"))
				o.subsets = SIM_SUBSET_RANDOM;
			else if (v && !strcmp(v, "prefix"))
				o.subsets = SIM_SUBSET_PREFIX;
			else if (v && !strcmp(v, "reorder"))
				o.subsets = SIM_SUBSET_REORDER;
			else
				goto bad_value;
		} else if (cli_long_opt("--budget", argc, argv, i, &v, &used)) {
			if (parse_u64(v, &o.budget) || o.budget == 0)
				goto bad_value;
		} else if (cli_long_opt("--event-budget", argc, argv, i, &v, &used)) {
			if (parse_u64(v, &o.event_budget))
				goto bad_value;
		} else if (cli_long_opt("--point", argc, argv, i, &v, &used)) {
			if (parse_u64(v, &n) || n > INT64_MAX)
				goto bad_value;
			o.only_point = (int64_t)n;
		} else if (cli_long_opt("--survivors", argc, argv, i, &v, &used)) {
			if (!v)
				goto bad_value;
			o.only_survivors = v;
		} else if (cli_long_opt("--shard", argc, argv, i, &v, &used)) {
			unsigned k, nn;
			char c;

			if (!v || sscanf(v, "%u/%u%c", &k, &nn, &c) != 2 || nn == 0 || k >= nn)
				goto bad_value;
			o.shard_k = k;
			o.shard_n = nn;
		} else if (cli_long_opt("--db", argc, argv, i, &v, &used)) {
			if (!v)
				goto bad_value;
			db_path = v;
		} else if (cli_long_opt("--min-dir", argc, argv, i, &v, &used)) {
			if (!v)
				goto bad_value;
			min_dir = v;
		} else if (!strcmp(argv[i], "--keep-going")) {
			o.keep_going = true;
		} else if (!strcmp(argv[i], "--no-minimize")) {
			minimize = false;
		} else if (!strcmp(argv[i], "--quiet")) {
			quiet = true;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "snapsim explore: unknown option '%s'\n", argv[i]);
			goto usage;
		} else {
			traces[nt++] = argv[i];
		}
		continue;
bad_value:
		fprintf(stderr, "snapsim explore: bad value for %s\n", argv[i]);
		goto usage;
	}
	if (nt == 0 || (o.only_survivors && o.only_point < 0)) {
		fprintf(stderr, "snapsim explore: %s\n", nt ? "--survivors needs --point" : "no trace given");
		goto usage;
	}
	snprintf(options, sizeof(options), "--mode %s --subsets %s --budget %" PRIu64 "%s",
		 explore_mode_name(o.mode), explore_subsets_name(o.subsets), o.budget ? o.budget : 64,
		 o.keep_going ? " --keep-going" : "");
	if (o.shard_n)
		snprintf(options + strlen(options), sizeof(options) - strlen(options), " --shard %u/%u",
			 o.shard_k, o.shard_n);
	o.options_text = options;
	{
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
		o.started = started;
	}
	if (db_path) {
		if (statedb_open(db_path, &db, err, sizeof(err))) {
			fprintf(stderr, "snapsim explore: %s\n", err);
			free(traces);
			return EXPLORE_TOOL_CRASH;
		}
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
	o.log = quiet ? NULL : stderr;
	signal(SIGSEGV, explore_on_signal);
	signal(SIGBUS, explore_on_signal);
	signal(SIGFPE, explore_on_signal);
	signal(SIGABRT, explore_on_signal);

	t0 = now_s();
	for (int i = 0; i < nt; i++) {
		struct explore_result *res = calloc(1, sizeof(*res));
		double t1 = now_s(), dt;

		if (!res) {
			worst = EXPLORE_TOOL_CRASH;
			break;
		}
		snprintf(explore_crash_note, sizeof(explore_crash_note), "%s (%s%s%" PRIu64 "); rerun: snapsim explore %s %s",
			 traces[i], o.has_seed ? "seed " : "trace seed", o.has_seed ? "" : ", --seed ",
			 o.has_seed ? o.seed : 0, traces[i], options);
		explore_trace(traces[i], &o, res);
		dt = now_s() - t1;
		total_states += res->states_checked;
		total_points += res->points_explored;
		total_fail += res->failures;
		if (res->verdict > worst)
			worst = res->verdict;
		printf("%-34s %-9s seed %-4" PRIu64 " points %5" PRIu64 "/%-5" PRIu64 " states %6" PRIu64
		       " checked (%" PRIu64 " duplicate) %5.1fs%s\n",
		       traces[i], explore_verdict_name(res->verdict), res->seed, res->points_explored,
		       res->points, res->states_checked, res->states_duplicate, dt,
		       res->failures ? "" : "");
		if (res->verdict != EXPLORE_OK) {
			printf("  %s\n", res->fail_point >= 0 ? res->failure : res->replay_failure);
			printf("  seed %" PRIu64 "; replay: %s\n", res->seed,
			       res->repro[0] ? res->repro : "(the trace itself is rejected)");
			if (minimize && (res->verdict == EXPLORE_VIOLATION) && o.only_point < 0) {
				char stem[256], out[4600];

				trace_stem(traces[i], stem, sizeof(stem));
				mkdir(min_dir, 0777);
				snprintf(out, sizeof(out), "%s/min-%s-%" PRIu64 ".yaml", min_dir, stem, res->seed);
				if (explore_minimize(traces[i], &o, res, out, 0, quiet ? NULL : stdout) == 0) {
					printf("  minimized: %s\n", out);
					if (db && res->run_id > 0)
						statedb_run_set_minimized(db, res->run_id, out);
				}
			}
		}
		fflush(stdout);
		free(res);
	}
	{
		double dt = now_s() - t0;

		printf("explored %d trace%s: %" PRIu64 " crash points, %" PRIu64 " states checked, %" PRIu64
		       " failing, %.1fs (%.0f states/s)%s%s\n", nt, nt == 1 ? "" : "s", total_points,
		       total_states, total_fail, dt, dt > 0 ? (double)total_states / dt : 0.0,
		       db_path ? "; database " : "", db_path ? db_path : "");
	}
	statedb_close(db);
	free(traces);
	return (int)worst;
usage:
	explore_usage(stderr);
	free(traces);
	return CLI_EXIT_USAGE;
}
