/*
 * cmd_cow.c - `snapsim cow inspect` (a read-only view of a persistent COW
 * image) and the dispatch of the cow verbs (check: cmd_cow_check.c, undo:
 * cow_undo.c, export: cow_export.c).
 *
 * Exit codes: inspect follows cli_exit.h (3 not readable as a store, 4 an
 * I/O error). check follows fsck(8), the one exception: 0 no errors, 1
 * errors corrected, 4 errors left uncorrected, 8 operational error, 16
 * usage error (bits OR'd).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "cow_check.h"
#include "cow_scan.h"
#include "cow_undo.h"


/* Exceptions and areas the human form of inspect lists without --all. */
#define INSPECT_LIST_DEFAULT 20

static const char cow_usage[] =
	"usage: snapsim cow inspect COW [--json] [--all]\n"
	"       snapsim cow check COW [--origin ORIGIN] [-q] [--json]\n"
	"       snapsim cow check COW --repair (-o NEW | --undo UNDO) [--chunk-size N]\n"
	"                         [--keep-after-terminator] [--force]\n"
	"       snapsim cow undo COW UNDO\n"
	"       snapsim cow export --origin ORIGIN --cow COW -o IMAGE [--force]\n"
	"                          [--skip-bad-records] [--json] [-q]\n"
	"\n"
	"Offline tools for persistent (P) snapshot stores in Linux dm-snapshot\n"
	"format. COW and ORIGIN are image files or block devices; they are read\n"
	"a chunk at a time. Run `snapsim cow VERB --help` for each verb.\n";

static const char inspect_usage[] =
	"usage: snapsim cow inspect COW [--all] [-q] [--json]\n"
	"\n"
	"Print the header (magic, valid, version, chunk size), the geometry\n"
	"(exceptions per area), the metadata areas, the exception list\n"
	"(old_chunk -> new_chunk; the first 20 unless --all) and the usage the\n"
	"kernel's status line would show (allocated/total metadata, sectors).\n"
	"\n"
	"Options:\n"
	"  --all        list every area and exception (human form)\n"
	"  -q, --quiet  print nothing; the exit status tells whether COW is a\n"
	"               readable store\n"
	"  --json       one JSON object on stdout, with every area and exception,\n"
	"               or the error\n"
	"  --version    print the version and exit\n"
	"  -h, --help   print this help and exit\n"
	"\n"
	"Exit status:\n"
	"  0  shown\n"
	"  2  usage error\n"
	"  3  COW is missing or not a readable store (bad magic, version or chunk\n"
	"     size)\n"
	"  4  I/O error reading it\n";

static void inspect_help(FILE *out)
{
	fputs(inspect_usage, out);
}




/* ---- inspect ---- */

struct area_list {
	struct cow_area_summary *v;
	size_t n, cap;
};

static int collect_area(void *ctx, const struct cow_area_summary *ai)
{
	struct area_list *l = ctx;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		struct cow_area_summary *nv = realloc(l->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *ai;
	return 0;
}

struct list_ctx {
	FILE *out;
	bool json, quiet;
	uint64_t shown, limit; /* limit 0: all */
};

static int print_record(void *ctx, uint64_t area, uint64_t slot,
			const struct cow_record *rec, const struct cow_vfinding *problem)
{
	struct list_ctx *l = ctx;

	(void)area;
	(void)slot;
	(void)problem;
	if ((l->limit && l->shown >= l->limit) || l->quiet)
		return 0;
	if (l->json)
		fprintf(l->out, "%s\n    {\"old\": %llu, \"new\": %llu}",
			l->shown ? "," : "", (unsigned long long)rec->old_chunk,
			(unsigned long long)rec->new_chunk);
	else
		fprintf(l->out, "  %llu -> %llu\n", (unsigned long long)rec->old_chunk,
			(unsigned long long)rec->new_chunk);
	l->shown++;
	return 0;
}

/* Metadata chunks among chunks [0, x). */
static uint64_t area_chunks_below(uint64_t stride, uint64_t x)
{
	return x <= 1 ? 0 : (x - 2) / stride + 1;
}

struct usage {
	unsigned long long allocated, total, metadata, free_sectors, free_chunks;
};

static void compute_usage(const struct cow_scan *s, const struct cow_walk_result *w,
			  struct usage *u)
{
	uint64_t stride = s->epa + 1;
	uint64_t nf = w->next_free;

	u->allocated = nf > UINT64_MAX / s->chunk_sectors ? UINT64_MAX
		       : nf * s->chunk_sectors;
	u->total = s->size_bytes >> SECTOR_SHIFT;
	u->metadata = (w->last_area + 2) * s->chunk_sectors;
	u->free_sectors = u->allocated < u->total ? u->total - u->allocated : 0;
	u->free_chunks = 0;
	if (nf < s->dev_chunks)
		u->free_chunks = (s->dev_chunks - nf) -
				 (area_chunks_below(stride, s->dev_chunks) -
				  area_chunks_below(stride, nf));
}

static const char *header_state(const struct cow_scan *s)
{
	if (s->hdr.magic == 0)
		return "empty";
	if (s->hdr.magic != COW_MAGIC)
		return "bad-magic";
	if (s->hdr.version != COW_VERSION)
		return "bad-version";
	return s->hdr.valid ? "valid" : "invalid";
}

static void inspect_header_json(const struct cow_scan *s)
{
	printf("{\n  \"cow\": ");
	cli_json_string(stdout, s->path);
	printf(",\n  \"size_bytes\": %llu,\n  \"size_sectors\": %llu,\n",
	       (unsigned long long)s->size_bytes,
	       (unsigned long long)(s->size_bytes >> SECTOR_SHIFT));
	printf("  \"header\": {\"magic\": \"0x%08x\", \"magic_ok\": %s, "
	       "\"valid\": %u, \"version\": %u, \"chunk_sectors\": %u, "
	       "\"chunk_bytes\": %llu},\n",
	       s->hdr.magic, s->hdr.magic == COW_MAGIC ? "true" : "false",
	       s->hdr.valid, s->hdr.version, s->hdr.chunk_sectors,
	       (unsigned long long)s->hdr.chunk_sectors << SECTOR_SHIFT);
	printf("  \"state\": \"%s\"", header_state(s));
}

static void inspect_header_human(const struct cow_scan *s)
{
	uint32_t m = s->hdr.magic;

	printf("COW:               %s (%llu bytes, %llu sectors)\n", s->path,
	       (unsigned long long)s->size_bytes,
	       (unsigned long long)(s->size_bytes >> SECTOR_SHIFT));
	printf("magic:             0x%08x%s\n", m,
	       m == COW_MAGIC ? " (SnAp)" : m == 0 ? " (empty: a new store)"
						  : " (not a snapshot store)");
	if (m != COW_MAGIC)
		return;
	printf("valid:             %u (%s)\n", s->hdr.valid,
	       s->hdr.valid ? "valid" : "invalid: the kernel invalidated it");
	printf("version:           %u%s\n", s->hdr.version,
	       s->hdr.version == COW_VERSION ? "" : " (unsupported)");
	printf("chunk size:        %u sectors (%llu bytes)\n", s->hdr.chunk_sectors,
	       (unsigned long long)s->hdr.chunk_sectors << SECTOR_SHIFT);
}

static int cow_inspect(int argc, char **argv)
{
	enum { OPT_ALL = 0x100 };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION,
		{ "all", no_argument, NULL, OPT_ALL },
		CLI_OPTIONS_END,
	};
	struct cli_verb cv = CLI_VERB("cow inspect", inspect_help);
	const char *path;
	bool all = false, json, human, short_image = false;
	struct cow_scan s;
	struct ss_error err;
	struct area_list areas = { 0 };
	struct cow_validate_hooks hooks;
	struct cow_validation v = { 0 };
	const struct cow_vfinding *bad;
	struct cow_walk_result w;
	struct list_ctx lc;
	struct usage u;
	struct cli_json_where where = { 0 };
	char msg[SS_ERROR_MSG_MAX + 4200] = "";
	int ret = CLI_EXIT_INPUT, r, opt;

	cli_begin(&cv, argc, argv);
	while ((opt = cli_getopt(&cv, argc, argv, "", longopts)) != CLI_OPT_END) {
		if (opt == CLI_OPT_EXIT)
			return cv.exit;
		if (opt == OPT_ALL)
			all = true;
	}
	if (optind >= argc)
		return cli_usage_error(&cv, "missing COW argument");
	if (argc - optind > 1)
		return cli_usage_error(&cv, "unexpected argument '%s'", argv[optind + 1]);
	path = argv[optind];
	where.input = path;
	json = cv.json;
	human = !json && !cv.quiet;
	ss_error_clear(&err);
	if (cow_scan_open(&s, path, false, &err) < 0)
		return cli_errorf(&cv, cli_exit_for_input_errno(err.code), &where, "%s", err.msg);
	/* The validator reads what activation would; an invalidated store's
	 * records are listed too. What makes the image unreadable as a store is
	 * found before anything is printed, so JSON then holds the error alone. */
	hooks = (struct cow_validate_hooks){ .on_area = collect_area, .ctx = &areas };
	r = cow_scan_validate(&s, 0, true, &hooks, &v, &w, &err);
	bad = r < 0 ? NULL : cow_validation_first_fatal(&v);
	if (r < 0) {
		ret = CLI_EXIT_IO; /* a read error, or out of memory */
		snprintf(msg, sizeof(msg), "%s", err.code ? err.msg : "out of memory");
	} else if (bad && bad->problem == COW_P_SHORT_DEVICE) {
		short_image = true;
		snprintf(msg, sizeof(msg), "%s: image is %llu bytes, smaller than one sector",
			 path, (unsigned long long)s.size_bytes);
	} else if (v.state != COW_STORE_NEW &&
		   (v.state == COW_STORE_UNREADABLE || cow_scan_geometry(&s, &err) < 0)) {
		char d[200];

		snprintf(msg, sizeof(msg), "%s: header (byte offset %u): %s", path,
			 bad ? bad->field_offset : 12,
			 bad ? cow_vfinding_describe(bad, d, sizeof(d)) : err.msg);
	}
	if (msg[0]) {
		if (human && r >= 0 && !short_image)
			inspect_header_human(&s);
		cli_errorf(&cv, ret, &where, "%s", msg);
		goto out;
	}
	if (json)
		inspect_header_json(&s);
	else if (human)
		inspect_header_human(&s);
	if (v.state == COW_STORE_NEW) {
		if (json)
			printf(",\n  \"exit_code\": 0\n}\n");
		ret = CLI_EXIT_OK;
		goto out;
	}
	compute_usage(&s, &w, &u);
	lc = (struct list_ctx){ .out = stdout, .json = json, .quiet = !human && !json,
				.limit = all || json ? 0 : INSPECT_LIST_DEFAULT };
	if (json) {
		printf(",\n  \"exceptions_per_area\": %llu,\n  \"chunks\": %llu,\n",
		       (unsigned long long)s.epa, (unsigned long long)s.dev_chunks);
		printf("  \"areas\": [");
		for (size_t i = 0; i < areas.n; i++)
			printf("%s\n    {\"area\": %llu, \"chunk\": %llu, "
			       "\"byte_offset\": %llu, \"records\": %llu, "
			       "\"full\": %s, \"tail_dirty_slots\": %llu}",
			       i ? "," : "", (unsigned long long)areas.v[i].area,
			       (unsigned long long)areas.v[i].loc,
			       (unsigned long long)cow_scan_chunk_offset(&s, areas.v[i].loc),
			       (unsigned long long)areas.v[i].used,
			       areas.v[i].full ? "true" : "false",
			       (unsigned long long)areas.v[i].tail_dirty);
		printf("\n  ],\n  \"next_area_missing\": %s,\n",
		       w.area_missing ? "true" : "false");
		printf("  \"exception_count\": %llu,\n  \"last_area\": %llu,\n"
		       "  \"last_area_records\": %llu,\n  \"last_area_partial\": %s,\n",
		       (unsigned long long)w.nr_records,
		       (unsigned long long)w.last_area,
		       (unsigned long long)w.last_used,
		       w.last_used > 0 && !w.area_missing ? "true" : "false");
		printf("  \"usage\": {\"allocated_sectors\": %llu, \"total_sectors\": %llu, "
		       "\"metadata_sectors\": %llu, \"status\": \"",
		       u.allocated, u.total, u.metadata);
		if (s.hdr.valid)
			printf("%llu/%llu %llu", u.allocated, u.total, u.metadata);
		else
			printf("Invalid");
		printf("\"},\n  \"free_sectors\": %llu,\n  \"free_bytes\": %llu,\n"
		       "  \"free_data_chunks\": %llu,\n  \"exceptions\": [",
		       u.free_sectors, u.free_sectors << SECTOR_SHIFT, u.free_chunks);
	} else if (human) {
		size_t nshow = all || areas.n <= INSPECT_LIST_DEFAULT
			       ? areas.n : INSPECT_LIST_DEFAULT;
		printf("exceptions/area:   %llu (area stride %llu chunks)\n",
		       (unsigned long long)s.epa, (unsigned long long)(s.epa + 1));
		printf("chunks:            %llu\n", (unsigned long long)s.dev_chunks);
		printf("areas:             %llu\n", (unsigned long long)areas.n);
		for (size_t i = 0; i < nshow; i++)
			printf("  area %llu: chunk %llu (byte offset %llu), %llu records%s%s\n",
			       (unsigned long long)areas.v[i].area,
			       (unsigned long long)areas.v[i].loc,
			       (unsigned long long)cow_scan_chunk_offset(&s, areas.v[i].loc),
			       (unsigned long long)areas.v[i].used,
			       areas.v[i].full ? ", full" : "",
			       areas.v[i].tail_dirty ? ", dirty tail" : "");
		if (nshow < areas.n)
			printf("  (%zu of %zu areas shown; --all for all)\n", nshow, areas.n);
		if (w.area_missing)
			printf("  area %llu: missing (beyond the end of the image)\n",
			       (unsigned long long)w.missing_area);
		if (w.area_missing)
			printf("last area:         full, and the next area is missing\n");
		else if (w.last_used == 0)
			printf("last area:         area %llu, empty\n",
			       (unsigned long long)w.last_area);
		else
			printf("last area:         area %llu, partly filled (%llu of %llu slots)\n",
			       (unsigned long long)w.last_area,
			       (unsigned long long)w.last_used,
			       (unsigned long long)s.epa);
		printf("usage:             %llu/%llu %llu (allocated/total metadata, sectors)%s\n",
		       u.allocated, u.total, u.metadata,
		       s.hdr.valid ? "" : "; the kernel's status shows Invalid");
		printf("free:              %llu sectors (%llu bytes), %llu data chunks\n",
		       u.free_sectors, u.free_sectors << SECTOR_SHIFT, u.free_chunks);
		printf("exceptions:        %llu%s\n", (unsigned long long)w.nr_records,
		       s.hdr.valid ? "" : " (on disk; activation ignores them)");
	}
	cow_validation_free(&v);
	hooks = (struct cow_validate_hooks){ .on_record = print_record, .ctx = &lc };
	r = cow_scan_validate(&s, 0, true, &hooks, &v, &w, &err);
	ret = r < 0 ? CLI_EXIT_IO : CLI_EXIT_OK;
	if (json) {
		/* A read error after the output began: the object still closes. */
		printf("\n  ],\n  \"exit_code\": %d", ret);
		if (r < 0) {
			printf(",\n  \"error\": {\"code\": %d, \"message\": ", ret);
			cli_json_string(stdout, err.msg);
			printf(", \"input\": ");
			cli_json_string(stdout, path);
			printf("}");
		}
		printf("\n}\n");
	} else if (human && lc.shown < w.nr_records) {
		printf("  (%llu of %llu exceptions shown; --all for all)\n",
		       (unsigned long long)lc.shown, (unsigned long long)w.nr_records);
	}
	if (r < 0)
		fprintf(stderr, "snapsim cow inspect: %s\n", err.msg);
out:
	cow_validation_free(&v);
	free(areas.v);
	cow_scan_close(&s);
	return ret;
}

/* ---- check ---- */

int cmd_cow(int argc, char **argv)
{
	struct cli_verb v = CLI_VERB("cow", NULL);

	if (argc >= 2 && !strcmp(argv[1], "inspect"))
		return cow_inspect(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return cmd_cow_check(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "undo"))
		return cmd_cow_undo(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "export")) {
		/* --version is every verb's; export parses the rest itself. */
		for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
			if (!strcmp(argv[i], "--version")) {
				cli_print_version(stdout);
				return CLI_EXIT_OK;
			}
		return cmd_cow_export(argc - 1, argv + 1);
	}
	if (argc >= 2 && cli_is_help(argv[1])) {
		fputs(cow_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		cli_print_version(stdout);
		return CLI_EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(&v, "missing verb (inspect, check, undo, export)");
	return cli_usage_error(&v, "unknown verb '%s' (inspect, check, undo, export)", argv[1]);
}
