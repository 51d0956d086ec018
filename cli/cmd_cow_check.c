/*
 * cmd_cow_check.c - `snapsim cow check`, the fsck of a persistent COW image,
 * and its `--repair` (planned by cow_repair.c, written by cow_undo.c).
 *
 * Exit codes follow fsck(8): 0 no errors, 1 errors corrected, 4 errors left
 * uncorrected (or records after a terminator left where they are), 8
 * operational error, 16 usage error (bits OR'd).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "cow_check.h"
#include "cow_repair.h"
#include "cow_scan.h"
#include "cow_undo.h"

#define CHECK_EXIT_OK          COW_CHECK_EXIT_OK
#define CHECK_EXIT_CORRECTED   COW_CHECK_EXIT_CORRECTED
#define CHECK_EXIT_UNCORRECTED COW_CHECK_EXIT_UNCORRECTED
#define CHECK_EXIT_OPERATIONAL COW_CHECK_EXIT_OPERATIONAL
#define CHECK_EXIT_USAGE       COW_CHECK_EXIT_USAGE

static const char check_usage[] =
	"usage: snapsim cow check COW [--origin ORIGIN] [-q] [--json]\n"
	"       snapsim cow check COW --repair (-o NEW | --undo UNDO) [--origin ORIGIN]\n"
	"                         [--chunk-size N] [--keep-after-terminator] [--force]\n"
	"                         [-q] [--json]\n"
	"\n"
	"Check a persistent COW image with the validator activation uses: an\n"
	"error is exactly what makes activation refuse the store. Magic,\n"
	"version, chunk size, area layout, and every record (new_chunk beyond\n"
	"the image or on a metadata area, duplicate new_chunk or old_chunk,\n"
	"old_chunk beyond any device, or beyond the origin with --origin).\n"
	"Warnings: a valid field other than 0 or 1, records out of allocation\n"
	"order, a torn or stale tail after the end of the list in the last\n"
	"area. Records after a terminator that look valid (a record zeroed in\n"
	"the middle of the list hides them from activation) are reported and\n"
	"make the exit 4. Each finding is printed as\n"
	"  COW: area A slot S (byte offset O): SEVERITY: message\n"
	"\n"
	"  --origin ORIGIN  origin image, or its size as in traces: a bare number\n"
	"                   is 512-byte sectors (as in tables), or with a unit:\n"
	"                   s, B (bytes), K, M, G, T (e.g. 1GiB, 2048s, 1048576B);\n"
	"                   default: none (old_chunk is checked against no origin)\n"
	"  --repair         repair the metadata; data chunks are never written.\n"
	"                   Only records proven bad are dropped (out of range, on\n"
	"                   metadata, the later of two duplicates, which the\n"
	"                   kernel's lookup never returns); every other record of\n"
	"                   every area is kept, packed in list order into the\n"
	"                   metadata areas. A header chunk size the metadata\n"
	"                   layout contradicts is refused, naming the chunk sizes\n"
	"                   that read the store without errors. Needs -o or --undo.\n"
	"  -o NEW           write the repaired COW to the new file NEW (the COW is\n"
	"                   not touched; nothing is written when there is nothing\n"
	"                   to repair); with --repair, -o or --undo is required\n"
	"  --undo UNDO      repair the COW in place, after writing every byte range\n"
	"                   it changes, with its old bytes, to the new file UNDO;\n"
	"                   `snapsim cow undo COW UNDO` puts them back (required\n"
	"                   with --repair unless -o)\n"
	"  --chunk-size N   repair with chunk size N sectors (the header's is\n"
	"                   rewritten; default: the header's chunk size)\n"
	"  --keep-after-terminator  put valid-looking records after a terminator\n"
	"                   back in the list (without it they are left as they\n"
	"                   are and counted)\n"
	"  --force          replace an existing NEW or UNDO file\n"
	"  -q, --quiet      print errors only; the exit status tells\n"
	"  --json           one JSON object on stdout (the error as an \"error\"\n"
	"                   object)\n"
	"  --version        print the version and exit\n"
	"  -h, --help       print this help and exit\n"
	"\n"
	"Repairing a repaired store changes nothing (\"nothing to repair\").\n"
	"A zero magic is a new, empty store: clean. A store marked invalid\n"
	"(valid = 0) is the kernel's verdict, not corruption: it is reported as\n"
	"a note, its records are not judged (activation does not read them),\n"
	"and `cow export` refuses it.\n"
	"\n"
	"Exit status (fsck(8)'s codes, bits OR'd; unlike the other verbs):\n"
	"  0  no errors\n"
	"  1  errors corrected\n"
	"  4  errors left uncorrected, or records after a terminator\n"
	"  8  operational error (COW or ORIGIN cannot be opened or read)\n"
	"  16 usage error\n";

static void check_help(FILE *out)
{
	fputs(check_usage, out);
}

struct check_args {
	const char *path, *origin, *out, *undo;
	bool json, quiet, repair, force;
	struct cow_repair_opts ro;
};

static void check_json(const struct cow_scan *s, const struct cow_check_report *r,
		       const struct cow_check_report *final, const struct cow_repair_plan *p,
		       bool repaired, int code)
{
	printf("{\n  \"cow\": ");
	cli_json_string(stdout, s->path);
	printf(",\n  \"exit_code\": %d,\n  \"clean\": %s,\n  \"empty\": %s,\n"
	       "  \"valid\": %s,\n",
	       code, final->nr_errors == 0 ? "true" : "false",
	       r->empty ? "true" : "false",
	       r->invalid || r->empty ? "false" : "true");
	printf("  \"header\": {\"magic\": \"0x%08x\", \"valid\": %u, \"version\": %u, "
	       "\"chunk_sectors\": %u},\n",
	       s->hdr.magic, s->hdr.valid, s->hdr.version, s->hdr.chunk_sectors);
	printf("  \"exceptions\": %" PRIu64 ",\n  \"areas\": %" PRIu64 ",\n",
	       r->walk.nr_records, r->walk.nr_areas);
	printf("  \"errors\": %" PRIu64 ",\n  \"warnings\": %" PRIu64 ",\n  \"notes\": %" PRIu64
	       ",\n", r->nr_errors, r->nr_warnings, r->nr_notes);
	printf("  \"findings\": [");
	for (size_t i = 0; i < r->nr_kept; i++) {
		const struct cow_finding *f = &r->findings[i];
		printf("%s\n    {\"severity\": \"%s\"", i ? "," : "",
		       cow_severity_name(f->severity));
		if (f->place == COW_AT_HEADER)
			printf(", \"where\": \"header\"");
		if (f->place == COW_AT_AREA || f->place == COW_AT_SLOT)
			printf(", \"area\": %" PRIu64, f->area);
		if (f->place == COW_AT_SLOT)
			printf(", \"slot\": %" PRIu64, f->slot);
		if (f->place != COW_AT_IMAGE)
			printf(", \"byte_offset\": %" PRIu64, f->offset);
		printf(", \"message\": ");
		cli_json_string(stdout, f->msg);
		printf("}");
	}
	printf("\n  ],\n  \"findings_not_listed\": %" PRIu64 ",\n", r->nr_dropped);
	printf("  \"records_after_terminator\": %" PRIu64 ",\n", p->nr_after);
	printf("  \"repair\": {\"needed\": %s, \"done\": %s, \"refused\": %s",
	       p->nr_edits ? "true" : "false", repaired ? "true" : "false",
	       p->refused ? "true" : "false");
	if (p->refused) {
		printf(", \"why\": ");
		cli_json_string(stdout, p->why);
	}
	printf(", \"ranges\": %zu, \"bytes\": %" PRIu64 ", \"records_dropped\": %" PRIu64
	       ", \"records_recovered\": %" PRIu64 ", \"records_kept\": %" PRIu64 "}",
	       p->nr_edits, p->edit_bytes, p->nr_dropped + p->nr_unterminated, p->nr_recovered,
	       p->nr_kept);
	printf(",\n  \"errors_after_repair\": %" PRIu64 "\n}\n", final->nr_errors);
}

/* What the plan does (or would do), in words. */
static void print_plan(const char *path, const struct cow_repair_plan *p, bool done)
{
	if (p->refused) {
		printf("%s: repair refused: %s\n", path, p->why);
		return;
	}
	if (p->nr_after && !p->nr_recovered)
		printf("%s: area %" PRIu64 " slot %" PRIu64 ": %" PRIu64 " valid-looking "
		       "records after a terminator; --repair --keep-after-terminator would recover them\n",
		       path, p->first_after_area, p->first_after_slot, p->nr_after);
	if (!p->nr_edits) {
		if (done)
			printf("%s: nothing to repair\n", path);
		return;
	}
	printf("%s: %s %zu metadata range(s), %" PRIu64 " byte(s), no data chunk: ", path,
	       done ? "repaired:" : "repair needed: --repair would rewrite", p->nr_edits,
	       p->edit_bytes);
	printf("%" PRIu64 " record(s) kept, %" PRIu64 " bad record(s) dropped", p->nr_kept,
	       p->nr_dropped);
	if (p->nr_recovered)
		printf(", %" PRIu64 " recovered from after a terminator", p->nr_recovered);
	if (p->nr_unterminated)
		printf(", %" PRIu64 " dropped for want of room for a terminator", p->nr_unterminated);
	if (p->header_edit)
		printf(", header chunk size set to %u", p->chunk_sectors);
	printf("\n");
}

static int parse_args(int argc, char **argv, struct check_args *a, struct cli_verb *v)
{
	enum { OPT_REPAIR = 0x100, OPT_ORIGIN, OPT_UNDO, OPT_CHUNK, OPT_KEEP, OPT_FORCE };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION,
		{ "repair", no_argument, NULL, OPT_REPAIR },
		{ "origin", required_argument, NULL, OPT_ORIGIN },
		{ "undo", required_argument, NULL, OPT_UNDO },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK },
		{ "keep-after-terminator", no_argument, NULL, OPT_KEEP },
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_OPTIONS_END,
	};
	uint64_t n;
	int opt;

	v->usage_code = CHECK_EXIT_USAGE;
	cli_begin(v, argc, argv);
	while ((opt = cli_getopt(v, argc, argv, "o:", longopts)) != CLI_OPT_END) {
		if (opt == CLI_OPT_EXIT)
			return 1;
		if ((opt == OPT_ORIGIN || opt == OPT_UNDO || opt == 'o') && !*optarg)
			return cli_usage_error(v, "option '%s' needs a value",
					       opt == 'o' ? "-o" : opt == OPT_UNDO ? "--undo" : "--origin"),
			       1;
		switch (opt) {
		case OPT_REPAIR: a->repair = true; break;
		case OPT_ORIGIN: a->origin = optarg; break;
		case OPT_UNDO: a->undo = optarg; break;
		case 'o': a->out = optarg; break;
		case OPT_KEEP: a->ro.keep_after_terminator = true; break;
		case OPT_FORCE: a->force = true; break;
		case OPT_CHUNK:
			if (cli_opt_u64(v, "--chunk-size", optarg, 1, UINT32_MAX, &n))
				return 1;
			a->ro.chunk_sectors = (uint32_t)n;
			break;
		default: break;
		}
	}
	a->json = v->json;
	a->quiet = v->quiet;
	if (optind >= argc)
		return cli_usage_error(v, "missing COW argument"), 1;
	if (argc - optind > 1)
		return cli_usage_error(v, "unexpected argument '%s'", argv[optind + 1]), 1;
	a->path = argv[optind];
	if (!a->repair && (a->out || a->undo || a->ro.chunk_sectors || a->ro.keep_after_terminator))
		return cli_usage_error(v, "-o, --undo, --chunk-size and --keep-after-terminator "
				       "need --repair"), 1;
	if (a->repair && !a->out == !a->undo)
		return cli_usage_error(v, "--repair needs exactly one of -o NEW (a repaired copy) "
				       "or --undo UNDO (in place, with an undo file)"), 1;
	return 0;
}

/* Check the file at path; print its findings unless quiet. 0 or CHECK_EXIT_OPERATIONAL. */
static int check_file(struct cli_verb *v, const char *path, const struct cow_check_opts *opts, bool print,
		      const char *prefix, struct cow_scan *s, struct cow_check_report *r)
{
	struct ss_error err;

	ss_error_clear(&err);
	memset(r, 0, sizeof(*r));
	if (cow_scan_open(s, path, false, &err) < 0)
		return cli_errorf(v, CHECK_EXIT_OPERATIONAL, &(struct cli_json_where){ .input = path },
				  "%s", err.msg);
	if (cow_check_run(s, opts, r, &err) < 0) {
		cli_errorf(v, CHECK_EXIT_OPERATIONAL, &(struct cli_json_where){ .input = path },
			   "%s", err.msg);
		cow_scan_close(s);
		return CHECK_EXIT_OPERATIONAL;
	}
	for (size_t i = 0; print && i < r->nr_kept; i++) {
		if (prefix && r->findings[i].severity != COW_ERROR)
			continue;
		fputs(prefix ? prefix : "", stdout);
		cow_finding_print(stdout, path, &r->findings[i]);
	}
	if (print && !prefix && r->nr_dropped)
		printf("%s: %" PRIu64 " more finding(s) not listed\n", path, r->nr_dropped);
	return 0;
}

int cmd_cow_check(int argc, char **argv)
{
	struct check_args a = { 0 };
	struct cli_verb v = CLI_VERB("cow check", check_help);
	struct cow_check_opts opts = { 0 };
	struct cow_check_report first, again, *final = &first;
	struct cow_repair_plan plan = { 0 }, after = { 0 };
	struct cow_scan s, s2;
	struct ss_error err;
	bool repaired = false;
	int code, r;

	if (parse_args(argc, argv, &a, &v))
		return v.exit;
	if (a.origin) {
		if (cli_origin_size("cow check", a.origin, &opts.origin_bytes) < 0)
		{
			/* cli_origin_size printed the reason; JSON gets it too. */
			if (a.json)
				cli_json_error_doc(stdout, CHECK_EXIT_OPERATIONAL,
						   "--origin: not a size, and not an image whose "
						   "size can be read",
						   &(struct cli_json_where){ .input = a.origin });
			return CHECK_EXIT_OPERATIONAL;
		}
		opts.have_origin = true;
		a.ro.origin_bytes = opts.origin_bytes;
	}
	if ((code = check_file(&v, a.path, &opts, (!a.json && !a.quiet), NULL, &s, &first)))
		return code;
	ss_error_clear(&err);
	if (cow_repair_plan_make(s.fd, s.size_bytes, a.path, &a.ro, &plan, &err) < 0) {
		code = cli_errorf(&v, CHECK_EXIT_OPERATIONAL,
				  &(struct cli_json_where){ .input = a.path }, "%s", err.msg);
		goto out;
	}
	if (a.repair && !plan.refused && plan.nr_edits) {
		r = a.out ? cow_repair_write_new(s.fd, s.size_bytes, a.path, a.out, a.force, &plan)
			  : cow_repair_in_place(a.path, s.size_bytes, a.undo, a.force, &plan);
		if (r < 0) {
			code = CHECK_EXIT_OPERATIONAL;
			goto out;
		}
		repaired = true;
	}
	if ((!a.json && !a.quiet) && (a.repair || plan.refused || plan.nr_edits || plan.nr_after))
		print_plan(a.path, &plan, a.repair);
	if (repaired) {
		const char *target = a.out ? a.out : a.path;

		if ((code = check_file(&v, target, &opts, (!a.json && !a.quiet), "after repair: ", &s2, &again))) {
			code |= CHECK_EXIT_CORRECTED;
			goto out;
		}
		final = &again;
		ss_error_clear(&err);
		if (cow_repair_plan_make(s2.fd, s2.size_bytes, target, &a.ro, &after, &err) < 0)
			fprintf(stderr, "snapsim cow check: %s (planning again after the repair)\n", err.msg);
		cow_scan_close(&s2);
		if (a.undo && (!a.json && !a.quiet))
			printf("%s: undo file %s: `snapsim cow undo %s %s` restores the old bytes\n",
			       a.path, a.undo, a.path, a.undo);
	}
	code = (repaired ? CHECK_EXIT_CORRECTED : 0) |
	       (final->nr_errors || (repaired ? after.nr_after : plan.nr_after) || plan.refused
		? CHECK_EXIT_UNCORRECTED : 0);
	if (a.json) {
		check_json(&s, &first, final, &plan, repaired, code);
	} else if (a.quiet) {
		/* -q: the exit status tells */
	} else if (first.empty) {
		printf("%s: clean (empty store, magic 0)\n", a.path);
	} else {
		uint64_t left = repaired ? after.nr_after : plan.nr_after;

		printf("%s: %s, %" PRIu64 " error(s), %" PRIu64 " warning(s); %" PRIu64
		       " exception(s) in %" PRIu64 " area(s)%s%s\n", repaired && a.out ? a.out : a.path,
		       final->nr_errors ? "NOT CLEAN" : repaired ? "repaired" : "clean",
		       final->nr_errors, final->nr_warnings, final->walk.nr_records,
		       final->walk.nr_areas, first.invalid ? "; store marked invalid" : "",
		       left ? "; records after a terminator left out" : "");
	}
	if (final == &again)
		cow_check_report_free(&again);
out:
	cow_repair_plan_free(&plan);
	cow_repair_plan_free(&after);
	cow_check_report_free(&first);
	cow_scan_close(&s);
	return code;
}
