/*
 * cmd_recipe.c - `snapsim recipe`: the seed's eight-step snapshot recipe
 * (spec 6.8) run end to end on image files, with a verdict per check and a
 * Markdown report.
 *
 * The recipe is two traces (traces/recipe/recipe.yaml and restart.yaml are
 * these, for the default options) run as `snapsim run` runs them, on the
 * image files, through the replayer on core's file device: the first makes
 * my_data on /dev/sd1a, writes generation 1, takes the snapshot with the
 * seed's eight steps, rewrites every third chunk (generation 2) and checks
 * that the origin reads the new data and the snapshot the old; the second,
 * a new run over the same files (the restart), rebuilds the stack from them
 * and checks again: a persistent snapshot comes back with the same content,
 * a transient one empty, reading the origin, as Linux's does.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_opts.h"
#include "commands.h"
#include "out_file.h"
#include "replay.h"

struct recipe {
	FILE *report;
	const char *store;      /* as given: p, P, PO, N or n */
	unsigned chunk_sectors;
	uint64_t size_sectors;  /* of my_data */
	uint64_t offset;        /* my_data's offset on sd1a */
	unsigned checks, failures;
	bool quiet;             /* -q: the report file only; failures on stderr */
};

static void say(struct recipe *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct recipe *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->quiet) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	if (r->report) {
		va_start(ap, fmt);
		vfprintf(r->report, fmt, ap);
		va_end(ap);
	}
}

static void check(struct recipe *r, bool ok, const char *what)
{
	r->checks++;
	if (!ok)
		r->failures++;
	say(r, "- [%s] %s\n", ok ? "x" : " ", what);
	if (!ok)
		fprintf(stderr, "snapsim recipe: FAILED: %s\n", what);
}

/* ---- the traces ---- */

static void header(FILE *f, const struct recipe *r, const char *name, const char *what,
		   uint64_t cow_sectors)
{
	fprintf(f, "# snapsim recipe, store %s, chunk %u sectors, my_data %llu sectors:\n"
		"# %s\n"
		"# Written by `snapsim recipe` and run on image files as `snapsim run` runs\n"
		"# it: --disk sd1a=DIR/sd1a.img --disk hdd1=DIR/hdd1.img.\n"
		"version: 1\nname: %s\ndisks:\n"
		"  - {name: sd1a, size: %llus}\n  - {name: hdd1, size: %llus}\nsteps:\n",
		r->store, r->chunk_sectors, (unsigned long long)r->size_sectors, what, name,
		(unsigned long long)(r->offset + r->size_sectors),
		(unsigned long long)cow_sectors);
}

/* The store as a table prints it back (dm upper-cases p and n). */
static const char *store_printed(const char *store)
{
	return !strcmp(store, "p") ? "P" : !strcmp(store, "n") ? "N" : store;
}

/* Generation of sector s after the origin writes: every third chunk is 2. */
static unsigned gen_after(const struct recipe *r, uint64_t s)
{
	return (s / r->chunk_sectors) % 3 == 0 ? 2 : 1;
}

/* Reads of dev over runs of one generation (gen 0: as gen_after, else all gen). */
static void reads(FILE *f, const struct recipe *r, const char *dev, unsigned gen)
{
	for (uint64_t s = 0; s < r->size_sectors;) {
		unsigned g = gen ? gen : gen_after(r, s);
		uint64_t e = s;

		while (e < r->size_sectors && (gen ? gen : gen_after(r, e)) == g)
			e++;
		fprintf(f, "  - read: {dev: %s, offset: %llus, length: %llus, expect: seed-%u}\n",
			dev, (unsigned long long)s, (unsigned long long)(e - s), g);
		s = e;
	}
}

static void trace_recipe(FILE *f, const struct recipe *r, uint64_t cow_sectors)
{
	unsigned long long n = (unsigned long long)r->size_sectors;

	header(f, r, "recipe", "my_data written, the snapshot taken with the seed's eight"
	       " steps, every third\n# chunk rewritten; origin and snapshot checked.", cow_sectors);
	fprintf(f, "  # 0. my_data is live on /dev/sd1a and holds generation 1\n"
		"  - dm: create my_data --table \"0 %llu linear /dev/sd1a %llu\"\n"
		"  - write: {dev: my_data, offset: 0, length: %llus, data: seed-1}\n"
		"  - flush: my_data\n"
		"  # 1-8. take the snapshot (spec 6.8)\n"
		"  - dm: suspend my_data\n"
		"  - dm: create my_data_org --notable\n"
		"  - dm: table my_data | dmsetup load my_data_org\n"
		"  - dm: resume my_data_org\n"
		"  - dm: create my_data_snap --notable\n"
		"  - dm: load my_data_snap --table \"0 %llu snapshot /dev/mapper/my_data_org"
		" /dev/hdd1 %s %u\"\n"
		"  - dm: load my_data --table \"0 %llu snapshot-origin /dev/mapper/my_data_org\"\n"
		"  - dm: resume my_data_snap\n"
		"  - dm: resume my_data\n"
		"  - table: my_data_org\n    expect: \"0 %llu linear /dev/sd1a %llu\"\n"
		"  - table: my_data\n    expect: \"0 %llu snapshot-origin 254:1\"\n"
		"  - table: my_data_snap\n    expect: \"0 %llu snapshot 254:1 /dev/hdd1 %s %u\"\n"
		"  # 9. write every third chunk of my_data (generation 2)\n", n,
		(unsigned long long)r->offset, n, n, r->store, r->chunk_sectors, n, n,
		(unsigned long long)r->offset, n, n, store_printed(r->store), r->chunk_sectors);
	for (uint64_t s = 0; s < r->size_sectors; s += r->chunk_sectors) {
		uint64_t len = r->size_sectors - s < r->chunk_sectors ? r->size_sectors - s
								       : r->chunk_sectors;

		if (gen_after(r, s) == 2)
			fprintf(f, "  - write: {dev: my_data, offset: %llus, length: %llus,"
				" data: seed-2}\n", (unsigned long long)s, (unsigned long long)len);
	}
	fputs("  - flush: my_data\n  # my_data reads the new data\n", f);
	reads(f, r, "my_data", 0);
	fputs("  # my_data_snap still reads generation 1\n", f);
	reads(f, r, "my_data_snap", 1);
}

static void trace_restart(FILE *f, const struct recipe *r, uint64_t cow_sectors, bool persistent)
{
	unsigned long long n = (unsigned long long)r->size_sectors;

	header(f, r, "recipe-restart", "after the recipe, a new run over the same image files"
	       " rebuilds the stack\n# from them and checks it again.", cow_sectors);
	fprintf(f, "  # 10. restart: rebuild the stack from the image files\n"
		"  - dm: create my_data_org --table \"0 %llu linear /dev/sd1a %llu\"\n"
		"  - dm: create my_data_snap --table \"0 %llu snapshot /dev/mapper/my_data_org"
		" /dev/hdd1 %s %u\"\n"
		"  - dm: create my_data --table \"0 %llu snapshot-origin /dev/mapper/my_data_org\"\n"
		"  - table: my_data_snap\n    expect: \"0 %llu snapshot 254:0 /dev/hdd1 %s %u\"\n"
		"  # after restart my_data reads the new data\n", n, (unsigned long long)r->offset,
		n, r->store, r->chunk_sectors, n, n, store_printed(r->store), r->chunk_sectors);
	reads(f, r, "my_data", 0);
	if (persistent) {
		fputs("  # after restart the persistent snapshot still reads generation 1\n", f);
		reads(f, r, "my_data_snap", 1);
	} else {
		fputs("  # after restart the transient snapshot starts empty (reads the origin)\n", f);
		reads(f, r, "my_data_snap", 0);
	}
}

/* Write a trace into DIR through a temporary (the recipe's own output: replaced). */
static int write_trace(const char *path, const struct recipe *r, uint64_t cow, int which,
		       bool persistent, char *msg, size_t len)
{
	struct out_file of;
	struct out_file_opts oo = { .force = true, .mode = 0644 };
	FILE *f;
	int rc = -EIO;

	if (out_file_open(&of, path, &oo) < 0) {
		snprintf(msg, len, "%s", of.msg);
		out_file_close(&of);
		return -EIO;
	}
	f = fdopen(dup(of.fd), "w");
	if (f) {
		if (which == 0)
			trace_recipe(f, r, cow);
		else
			trace_restart(f, r, cow, persistent);
		rc = fclose(f) ? -EIO : 0;
	}
	if (!rc)
		rc = out_file_commit(&of) < 0 ? -EIO : 0;
	if (rc)
		snprintf(msg, len, "%s: %s", path, of.msg[0] ? of.msg : strerror(errno));
	out_file_close(&of);
	return rc;
}

/* ---- running them ---- */

static bool run_trace(const char *trace, const char *dir, bool create,
		      char *why, size_t len)
{
	char p1[4096], p2[4096];
	struct replay_disk_file df[2] = { { "sd1a", p1 }, { "hdd1", p2 } };
	struct replay_opts o = { .disk_files = df, .nr_disk_files = 2, .create_files = create };
	struct replay_result res;
	struct trace_error err;
	enum replay_status st;

	snprintf(p1, sizeof(p1), "%s/sd1a.img", dir);
	snprintf(p2, sizeof(p2), "%s/hdd1.img", dir);
	o.notes = NULL; /* the restart's "store written before this run" is the point */
	trace_error_clear(&err);
	st = replay_run(trace, &o, &res, &err);
	if (st == REPLAY_PASS) {
		snprintf(why, len, "%llu steps, %llu expects held",
			 (unsigned long long)res.steps, (unsigned long long)res.expects_checked);
		return true;
	}
	snprintf(why, len, "%s", res.failure[0] ? res.failure : err.text);
	return false;
}

static void recipe_usage(FILE *out)
{
	fputs("usage: snapsim recipe [--dir DIR] [--store p|P|PO|N] [--chunk SECTORS]\n"
	      "                      [--size SECTORS] [--report FILE] [--force] [-q]\n"
	      "\n"
	      "Run the eight-step snapshot recipe on image files DIR/sd1a.img (origin)\n"
	      "and DIR/hdd1.img (COW), write to the origin, check the snapshot, restart\n"
	      "the stack from the files and check again. The recipe is two traces,\n"
	      "written to DIR/recipe.yaml and DIR/recipe-restart.yaml (for the default\n"
	      "options they are traces/recipe/) and run as snapsim run runs them; run\n"
	      "them again, or changed, with snapsim run TRACE and the two images as\n"
	      "sd1a and hdd1.\n"
	      "\n"
	      "Options:\n"
	      "  --dir DIR          where the images and traces go (default out/recipe;\n"
	      "                     created)\n"
	      "  --store p|P|PO|N   the snapshot's store (default p)\n"
	      "  --chunk SECTORS    chunk size in 512-byte sectors (default 64)\n"
	      "  --size SECTORS     size of my_data (default 1024)\n"
	      "  --report FILE      also write the steps and checks as Markdown (a new\n"
	      "                     file, through a temporary renamed into place;\n"
	      "                     default: none)\n"
	      "  --force            start again from new, zeroed images when DIR already\n"
	      "                     holds them (without it they are never touched), and\n"
	      "                     replace an existing --report FILE\n"
	      "  -q, --quiet        print failures and errors only\n"
	      "  --version          print the version and exit\n"
	      "  -h, --help         print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  every check held\n"
	      "  1  a check failed (or a dm step of the recipe was refused)\n"
	      "  2  usage error\n"
	      "  4  I/O error: an image, a trace or the report cannot be written, or the\n"
	      "     images exist and --force was not given\n", out);
}

/* An existing image emptied and sized anew (only with --force). */
static int reset_image(const char *path, uint64_t sectors)
{
	FILE *f = fopen(path, "r+");
	int rc;

	if (!f)
		return -errno;
	rc = ftruncate(fileno(f), 0) || ftruncate(fileno(f), (off_t)(sectors * 512)) ? -errno : 0;
	fclose(f);
	return rc;
}

int cmd_recipe(int argc, char **argv)
{
	enum { OPT_DIR = 0x100, OPT_STORE, OPT_REPORT, OPT_CHUNK, OPT_SIZE, OPT_FORCE };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS,
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "chunk", required_argument, NULL, OPT_CHUNK },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_OPTIONS_END,
	};
	struct cli_verb v = CLI_VERB("recipe", recipe_usage);
	struct recipe r;
	const char *dir = "out/recipe", *report = NULL;
	char img[2][4096], tr[2][4096], msg[OUT_FILE_MSG_MAX + 64], why[REPLAY_MSG_MAX + 64];
	bool force = false, have[2];
	struct stat st;
	struct out_file rep = { .fd = -1 };
	uint64_t n;
	int opt;

	memset(&r, 0, sizeof(r));
	r.store = "p";
	r.chunk_sectors = 64;
	r.size_sectors = 1024;
	r.offset = 384;
	cli_begin(&v, argc, argv);
	while ((opt = cli_getopt(&v, argc, argv, "", longopts)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_EXIT:
			return v.exit;
		case OPT_DIR:
			dir = optarg;
			break;
		case OPT_STORE:
			if (strcmp(optarg, "p") && strcmp(optarg, "P") && strcmp(optarg, "PO") &&
			    strcmp(optarg, "N") && strcmp(optarg, "n"))
				return cli_usage_error(&v, "--store %s: expected p, P, PO or N", optarg);
			r.store = optarg;
			break;
		case OPT_REPORT:
			report = optarg;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_CHUNK:
		case OPT_SIZE:
			if (cli_opt_u64(&v, opt == OPT_CHUNK ? "--chunk" : "--size", optarg, 1,
					1ull << 30, &n))
				return v.exit;
			if (opt == OPT_CHUNK)
				r.chunk_sectors = (unsigned)n;
			else
				r.size_sectors = n;
			break;
		}
	}
	if (optind < argc)
		return cli_usage_error(&v, "unexpected argument '%s'", argv[optind]);
	r.quiet = v.quiet;
	bool persistent = r.store[0] == 'p' || r.store[0] == 'P';

	if (mkdir(dir, 0777) && errno != EEXIST)
		return cli_errorf(&v, CLI_EXIT_IO, NULL, "%s: %s", dir, strerror(errno));
	/* COW sized by LVM's never-fills formula (spec 2.11) plus slack. */
	uint64_t chunks = (r.size_sectors + r.chunk_sectors - 1) / r.chunk_sectors;
	uint64_t epa = (uint64_t)r.chunk_sectors * 32;
	uint64_t cow_sectors = (1 + chunks + (chunks + epa) / epa + 2) * r.chunk_sectors;
	uint64_t sizes[2] = { r.offset + r.size_sectors, cow_sectors };

	snprintf(img[0], sizeof(img[0]), "%s/sd1a.img", dir);
	snprintf(img[1], sizeof(img[1]), "%s/hdd1.img", dir);
	snprintf(tr[0], sizeof(tr[0]), "%s/recipe.yaml", dir);
	snprintf(tr[1], sizeof(tr[1]), "%s/recipe-restart.yaml", dir);
	for (int i = 0; i < 2; i++) {
		have[i] = stat(img[i], &st) == 0;
		if (have[i] && !force)
			return cli_errorf(&v, CLI_EXIT_IO, &(struct cli_json_where){ .input = img[i] },
					  "%s exists: the recipe starts from new images; give"
					  " --force to empty it (or snapsim run %s to check it"
					  " again)", img[i], tr[1]);
	}
	if (report) {
		struct out_file_opts ro = { .force = force, .mode = 0644 };

		if (out_file_open(&rep, report, &ro) || !(r.report = out_file_stream(&rep))) {
			int rc = cli_errorf(&v, CLI_EXIT_IO, NULL, "--report %s", rep.msg);

			out_file_close(&rep);
			return rc;
		}
	}
	for (int i = 0; i < 2; i++) {
		int rc = 0;

		if (write_trace(tr[i], &r, cow_sectors, i, persistent, msg, sizeof(msg)))
			rc = cli_errorf(&v, CLI_EXIT_IO, NULL, "%s", msg);
		else if (have[i] && reset_image(img[i], sizes[i]))
			rc = cli_errorf(&v, CLI_EXIT_IO, NULL, "%s: %s", img[i], strerror(errno));
		if (rc) {
			if (r.report)
				fclose(r.report);
			out_file_close(&rep); /* no half report */
			return rc;
		}
	}

	say(&r, "# snapsim recipe: store %s, chunk %u sectors, my_data %llu sectors\n\n",
	    r.store, r.chunk_sectors, (unsigned long long)r.size_sectors);
	say(&r, "## 0-9. %s on %s and %s\n\n"
	    "my_data is made on /dev/sd1a and written (generation 1), the snapshot is taken\n"
	    "with the seed's eight steps (spec 6.8), every third chunk of my_data is\n"
	    "rewritten (generation 2).\n\n", tr[0], img[0], img[1]);
	bool ok = run_trace(tr[0], dir, true, why, sizeof(why));

	check(&r, ok, ok ? "my_data reads the new data, my_data_snap still reads generation 1"
		      : why);
	if (ok)
		say(&r, "  (%s)\n", why);
	say(&r, "\n## 10. restart: %s, a new run over the image files, rebuilds the stack"
	    " from them\n\n", tr[1]);
	if (ok) {
		bool ok2 = run_trace(tr[1], dir, false, why, sizeof(why));

		check(&r, ok2, !ok2 ? why : persistent
		      ? "after restart my_data reads the new data and the persistent snapshot"
			" still reads generation 1"
		      : "after restart my_data reads the new data and the transient snapshot"
			" starts empty (reads the origin)");
		if (ok2)
			say(&r, "  (%s)\n", why);
	}
	say(&r, "\n%u checks, %u failed\n", r.checks, r.failures);
	if (r.report) {
		bool bad = fclose(r.report) != 0;
		int rc = 0;

		if (bad || out_file_commit(&rep))
			rc = cli_errorf(&v, CLI_EXIT_IO, NULL, "--report %s: %s", report,
					bad ? strerror(errno) : rep.msg);
		out_file_close(&rep);
		if (rc)
			return rc;
	}
	return r.failures ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
