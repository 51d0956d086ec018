/*
 * cmd_replay.c - snapsim replay TRACE... [--seed N | --seeds A..B]
 * [--log FILE] [--shuffle] [--quiet]: run traces through the simulator and
 * the dm core, every read checked against the model. One summary line per
 * trace and seed; exit 0 only when every check held (1: a check failed or
 * a trace hung, 2: usage, 3: a trace was rejected or could not run).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli_util.h"
#include "commands.h"
#include "replay.h"

#define REPLAY_EXIT_INVALID 3

static void usage(FILE *out)
{
	fprintf(out,
		"usage: snapsim replay TRACE... [--seed N | --seeds A..B] [--log FILE]\n"
		"                      [--shuffle] [--quiet] [--stats]\n"
		"Replay YAML traces (traces/README.md) deterministically through the dm core\n"
		"on simulated disks; every read is checked against the reference model.\n"
		"  --seed N      run seed (default: the trace's seed:, else 1)\n"
		"  --seeds A..B  every seed from A to B\n"
		"  --log FILE    write the event log (all runs, appended in order)\n"
		"  --shuffle     interleave same-time deferred work in a seeded order\n"
		"  --quiet       print failures only\n"
		"  --stats       also print wall time, I/O per second, trace MB/s, peak RSS\n"
		"Exit status: 0 every check held, 1 a check failed or a run hung,\n"
		"2 usage, 3 a trace was rejected (nothing ran) or could not run.\n");
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
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

int cmd_replay(int argc, char **argv)
{
	struct replay_opts o = { 0 };
	uint64_t lo = 0, hi = 0;
	bool seeds = false, quiet = false, stats = false;
	const char *log_path = NULL;
	const char **traces = calloc((size_t)argc + 1, sizeof(*traces));
	int nt = 0, rc = CLI_EXIT_OK;

	if (!traces)
		return CLI_EXIT_FAILURE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (cli_is_help(a)) {
			usage(stdout);
			free(traces);
			return CLI_EXIT_OK;
		} else if (!strcmp(a, "--seed") && i + 1 < argc) {
			if (parse_u64(argv[++i], &lo))
				goto bad;
			hi = lo;
			seeds = true;
		} else if (!strcmp(a, "--seeds") && i + 1 < argc) {
			const char *v = argv[++i], *dots = strstr(v, "..");
			char first[32];

			if (!dots || (size_t)(dots - v) >= sizeof(first))
				goto bad;
			memcpy(first, v, (size_t)(dots - v));
			first[dots - v] = 0;
			if (parse_u64(first, &lo) || parse_u64(dots + 2, &hi) || hi < lo)
				goto bad;
			seeds = true;
		} else if (!strcmp(a, "--log") && i + 1 < argc) {
			log_path = argv[++i];
		} else if (!strcmp(a, "--quiet")) {
			quiet = true;
		} else if (!strcmp(a, "--shuffle")) {
			o.defer_shuffle = true;
		} else if (!strcmp(a, "--stats")) {
			stats = true;
		} else if (a[0] == '-' && a[1]) {
			goto bad;
		} else {
			traces[nt++] = a;
		}
	}
	if (!nt)
		goto bad;
	if (log_path) {
		o.log = fopen(log_path, "w");
		if (!o.log) {
			fprintf(stderr, "snapsim replay: cannot open %s: %s\n", log_path,
				strerror(errno));
			free(traces);
			return CLI_EXIT_FAILURE;
		}
	}
	o.quiet = quiet;
	for (int t = 0; t < nt; t++) {
		uint64_t s = lo;

		do {
			struct replay_result res;
			struct trace_error err;
			enum replay_status st;
			double t0 = wall_seconds(), dt;

			o.has_seed = seeds;
			o.seed = s;
			st = replay_run(traces[t], &o, &res, &err);
			dt = wall_seconds() - t0;
			if (st == REPLAY_INVALID || st == REPLAY_ERROR) {
				fprintf(stderr, "%s\n", res.failure);
				if (rc == CLI_EXIT_OK)
					rc = REPLAY_EXIT_INVALID;
				break;
			}
			if (!quiet || st != REPLAY_PASS)
				printf("%s seed %" PRIu64 ": %s: %" PRIu64 " steps, %" PRIu64
				       " I/Os, %" PRIu64 " reads checked (%" PRIu64
				       " sectors), %" PRIu64 " expects, hash %016" PRIx64 "\n",
				       traces[t], res.seed,
				       st == REPLAY_PASS ? "PASS" : st == REPLAY_HANG ? "HANG"
				       : st == REPLAY_STOPPED ? "STOPPED" : "FAIL",
				       res.steps, res.ios, res.reads_checked, res.sectors_checked,
				       res.expects_checked, res.event_hash);
			if (stats) {
				struct rusage ru;
				long long sz = file_size(traces[t]);

				getrusage(RUSAGE_SELF, &ru);
				printf("  %.3f s wall, %.0f I/O/s, %.2f MB/s of trace (%lld bytes),"
				       " %.1f MiB moved, peak RSS %ld KiB, %" PRIu64 " events\n",
				       dt, dt > 0 ? (double)res.ios / dt : 0.0,
				       dt > 0 && sz > 0 ? (double)sz / dt / 1e6 : 0.0, sz,
				       (double)(res.bytes_read + res.bytes_written) / 1048576.0,
				       ru.ru_maxrss, res.events);
			}
			if (st != REPLAY_PASS) {
				fprintf(stderr, "%s\n  replay: snapsim replay %s --seed %" PRIu64 "\n",
					res.failure, traces[t], res.seed);
				rc = CLI_EXIT_FAILURE;
			}
			if (!seeds)
				break;
		} while (s++ < hi);
	}
	if (o.log)
		fclose(o.log);
	free(traces);
	return rc;
bad:
	usage(stderr);
	free(traces);
	return CLI_EXIT_USAGE;
}
