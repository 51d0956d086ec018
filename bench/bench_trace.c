/*
 * bench_trace.c - YAML trace loading speed vs libyaml's bare event scan.
 *
 * Generates traces of 10k, 50k and 200k I/O steps (writes with pattern
 * data, reads with expectations, flushes, FUA) on two disks into /tmp, then
 * times (a) sim/trace/trace.h's loader: trace_open() + trace_next() until the end
 * (every step parsed, checked and delivered), and (b) libyaml alone:
 * yaml_parser_parse() over every event of the same file, nothing built.
 * Both read the file from the page cache. Reports MB/s of each, their ratio
 * (target >= 0.7x at the largest size), and the loader's peak of live step
 * objects (flat in trace length when streaming works). Median of 3 runs.
 *
 * Usage: bench_trace [largest step count (default 200000)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "bench_common.h"
#include "trace.h"

#define REPS 3

static long trace_generate(const char *path, uint64_t nr_steps)
{
	FILE *f = fopen(path, "w");
	uint64_t x = 12345;
	long bytes;

	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "version: 1\nname: bench\nseed: 7\ndisks:\n"
		   "  - name: d0\n    size: 64MiB\n  - name: d1\n    size: 64MiB\n"
		   "steps:\n");
	for (uint64_t i = 0; i < nr_steps; i++) {
		uint64_t r = bench_xorshift(&x);
		unsigned disk = r & 1;
		unsigned long long off = (r >> 8) % 131000;
		unsigned len = 1 + (unsigned)((r >> 40) % 64);

		switch ((r >> 4) % 8) {
		case 0:
			fprintf(f, "  - flush: d%u\n", disk);
			break;
		case 1: case 2: case 3:
			fprintf(f, "  - read: d%u\n    offset: %llus\n    length: %us\n",
				disk, off, len);
			break;
		case 4:
			fprintf(f, "  - write: d%u\n    offset: %llus\n    length: %us\n"
				   "    data: seed-%u\n    fua: true\n",
				disk, off, len, (unsigned)(r >> 50) % 1000);
			break;
		default:
			fprintf(f, "  - write: d%u\n    offset: %llus\n    length: %us\n"
				   "    data: seed-%u\n",
				disk, off, len, (unsigned)(r >> 50) % 1000);
			break;
		}
	}
	bytes = ftell(f);
	fclose(f);
	return bytes;
}

static double time_libyaml(const char *path, uint64_t *events)
{
	yaml_parser_t p;
	yaml_event_t ev;
	FILE *f = fopen(path, "rb");
	double t0 = bench_now_s();
	int done = 0;

	*events = 0;
	if (!f || !yaml_parser_initialize(&p)) {
		fprintf(stderr, "libyaml setup failed\n");
		exit(1);
	}
	yaml_parser_set_input_file(&p, f);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			fprintf(stderr, "libyaml: parse error\n");
			exit(1);
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		(*events)++;
	}
	yaml_parser_delete(&p);
	fclose(f);
	return bench_now_s() - t0;
}

static double time_loader(const char *path, uint64_t *steps, struct trace_stats *st)
{
	struct trace_reader *r;
	struct trace_error err;
	struct trace_item it;
	double t0 = bench_now_s();
	int rc;

	trace_error_clear(&err);
	if (trace_open(path, 0, &r, &err)) {
		fprintf(stderr, "trace_open: %s\n", err.text);
		exit(1);
	}
	*steps = 0;
	while ((rc = trace_next(r, &it, &err)) == 1)
		(*steps)++;
	if (rc < 0) {
		fprintf(stderr, "trace_next: %s\n", err.text);
		exit(1);
	}
	trace_get_stats(r, st);
	trace_close(r);
	return bench_now_s() - t0;
}

int main(int argc, char **argv)
{
	uint64_t largest = argc > 1 ? strtoull(argv[1], NULL, 0) : 200000;
	uint64_t sizes[3] = { largest / 20, largest / 4, largest };
	char path[64];

	snprintf(path, sizeof(path), "/tmp/snapsim-bench-trace-%ld.yaml", (long)getpid());
	printf("trace loading (median of %d; file in the page cache)\n", REPS);
	printf("%9s %9s %10s %12s %12s %7s %10s\n", "steps", "MB", "loader MB/s",
	       "libyaml MB/s", "events", "ratio", "max live");
	for (int k = 0; k < 3; k++) {
		long bytes = trace_generate(path, sizes[k]);
		double tl[REPS], ty[REPS], mb = (double)bytes / 1e6;
		uint64_t steps = 0, events = 0;
		struct trace_stats st;
		char what[64];

		for (int r = 0; r < REPS; r++) {
			ty[r] = time_libyaml(path, &events);
			tl[r] = time_loader(path, &steps, &st);
		}
		if (steps != sizes[k]) {
			fprintf(stderr, "loader delivered %llu of %llu steps\n",
				(unsigned long long)steps, (unsigned long long)sizes[k]);
			return 1;
		}
		double lm = mb / bench_median(tl, REPS), ym = mb / bench_median(ty, REPS);

		printf("%9llu %9.1f %10.1f %12.1f %12llu %7.3f %10u\n",
		       (unsigned long long)steps, mb, lm, ym, (unsigned long long)events,
		       lm / ym, st.max_live_steps);
		snprintf(what, sizeof(what), "%llu steps (%.1f MB), max %u live steps",
			 (unsigned long long)steps, mb, st.max_live_steps);
		bench_row(k == 2 ? "trace loading" : "scaling: trace length", what, lm,
			  "MB/s", ym, "libyaml scan MB/s", lm / ym,
			  k == 2 ? ">= 0.7x libyaml" : "",
			  k == 2 ? bench_verdict(lm / ym >= 0.7) : "");
	}
	unlink(path);
	return 0;
}
