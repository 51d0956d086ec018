/*
 * test_cli_common_options.c - what every verb accepts alike: --version
 * (the top-level text), -q/--quiet (nothing on stdout, errors only), and
 * --json on the verbs that report: exactly one JSON object on stdout, with
 * the result, or with "error": {code, message, input, line, column}.
 */
#define _GNU_SOURCE
#include "cli_test_util.h"
#include "json_check.h"

static void setup(void)
{
	test_dir_make();
}

static void teardown(void)
{
	test_dir_remove();
}

TestSuite(cli_common, .init = setup, .fini = teardown);

static const char good_trace[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: d, size: 1M}\n"
	"steps:\n"
	"  - dm: create X --table \"0 2048 linear /dev/d 0\"\n"
	"  - write: {dev: X, length: 8s, data: seed-1, fua: true}\n"
	"  - crash: after-write\n"
	"  - read: {dev: X, length: 8s, expect: seed-1}\n";

static const char bad_trace[] =
	"version: 1\n"
	"disks:\n"
	"  - {name: d, size: 1M}\n"
	"steps:\n"
	"  - read: {dev: X, length: 8s}\n";

/* A recipe leaves a persistent COW image (hdd1.img) and its origin behind. */
static void make_images(void)
{
	struct run_result r;

	run(&r, "recipe", "--dir", tpath("img"), "-q", NULL);
	cr_assert_eq(r.status, 0, "recipe: %s", r.err);
	run_free(&r);
}

Test(cli_common, version_on_every_verb_is_the_top_level_text)
{
	static const char *const verbs[][3] = {
		{ "table", "check" }, { "cow", "inspect" }, { "cow", "check" }, { "cow", "export" },
		{ "replay" }, { "recipe" }, { "explore" }, { "report" }, { "check" },
		{ "db", "merge" }, { "help" },
	};
	struct run_result top, r;

	run(&top, "--version", NULL);
	cr_assert_eq(top.status, 0);
	cr_assert(!strncmp(top.out, "snapsim ", 8), "%s", top.out);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (verbs[i][1])
			run(&r, verbs[i][0], verbs[i][1], "--version", NULL);
		else
			run(&r, verbs[i][0], "--version", NULL);
		cr_expect_eq(r.status, 0, "%s %s --version: %s", verbs[i][0],
			     verbs[i][1] ? verbs[i][1] : "", r.err);
		cr_expect_str_eq(r.out, top.out, "%s %s --version", verbs[i][0],
				 verbs[i][1] ? verbs[i][1] : "");
		run_free(&r);
	}
	run_free(&top);
}

/* Quiet: exit 0, nothing on stdout, nothing on stderr. */
#define expect_silent(...) do { \
	struct run_result q_; \
	run(&q_, __VA_ARGS__, NULL); \
	cr_expect_eq(q_.status, 0, "%s: exit %d: %s", #__VA_ARGS__, q_.status, q_.err); \
	cr_expect_str_eq(q_.out, "", "%s", #__VA_ARGS__); \
	cr_expect_str_eq(q_.err, "", "%s", #__VA_ARGS__); \
	run_free(&q_); \
} while (0)

Test(cli_common, quiet_on_every_verb_prints_nothing_when_all_is_well)
{
	char t[300], db[300], cow[300], origin[300]; /* tpath's buffers are reused */

	snprintf(t, sizeof(t), "%s", tpath("good.yaml"));
	snprintf(db, sizeof(db), "%s", tpath("a.db"));

	write_text(t, good_trace);
	write_text(tpath("lin.table"), "0 1024 linear /dev/sd1a 0\n");
	make_images();
	snprintf(cow, sizeof(cow), "%s/hdd1.img", tpath("img"));
	snprintf(origin, sizeof(origin), "%s/sd1a.img", tpath("img"));
	expect_silent("replay", t, "-q");
	expect_silent("replay", t, "--quiet", "--stats");
	expect_silent("explore", t, "--mode", "marked", "--budget", "2", "--db", db, "-q");
	expect_silent("report", "--db", db, "-o", tpath("rep"), "-q");
	expect_silent("db", "merge", tpath("m.db"), db, "-q");
	expect_silent("check", "--cases", "1", "--props", "clean", "-q");
	expect_silent("recipe", "--dir", tpath("img2"), "--quiet");
	expect_silent("table", "check", "--dev", "/dev/sd1a=2048s", tpath("lin.table"), "-q");
	expect_silent("cow", "inspect", cow, "-q");
	expect_silent("cow", "check", cow, "-q");
	expect_silent("cow", "export", "--origin", origin, "--cow", cow, "-o", tpath("snap.img"),
		      "-q");
}

/* Run, expect status and one JSON object on stdout holding every needle. */
static void expect_json(int status, const char *const *needles, ...)
{
	struct run_result r;
	va_list ap;

	va_start(ap, needles);
	run_v(&r, NULL, ap);
	va_end(ap);
	cr_expect_eq(r.status, status, "exit %d, stderr: %s", r.status, r.err);
	cr_expect(json_is_one_object(r.out), "not one JSON object:\n%s", r.out);
	for (; *needles; needles++)
		cr_expect(strstr(r.out, *needles) != NULL, "expected %s in:\n%s", *needles, r.out);
	run_free(&r);
}

#define N(...) ((const char *const[]){ __VA_ARGS__, NULL })

Test(cli_common, json_on_every_reporting_verb)
{
	char good[300], bad[300], db[300], cow[300]; /* tpath's buffers are reused */

	snprintf(good, sizeof(good), "%s", tpath("good.yaml"));
	snprintf(bad, sizeof(bad), "%s", tpath("bad.yaml"));
	snprintf(db, sizeof(db), "%s", tpath("a.db"));

	write_text(good, good_trace);
	write_text(bad, bad_trace);
	write_text(tpath("lin.table"), "0 1024 linear /dev/sd1a 0\n");
	write_text(tpath("bad.table"), "0 1024 linear /dev/sd1a 0\n1024 8 frobnicate\n");
	{
		char junk[1024];

		memset(junk, 'x', sizeof(junk)); /* a whole sector, and no magic */
		write_file(tpath("junk.img"), junk, sizeof(junk));
	}
	make_images();
	snprintf(cow, sizeof(cow), "%s/hdd1.img", tpath("img"));

	/* results */
	expect_json(0, N("\"status\": \"pass\"", "\"reads_checked\": 1", "\"exit_code\": 0"),
		    "replay", good, "--seeds", "1..2", "--json", NULL);
	expect_json(0, N("\"verdict\": \"ok\"", "\"states_checked\": "),
		    "explore", good, "--mode", "marked", "--budget", "2", "--db", db, "--json", NULL);
	expect_json(0, N("\"html\": ", "\"markdown\": "),
		    "report", "--db", db, "-o", tpath("rep"), "--json", NULL);
	expect_json(0, N("\"output\": ", "\"inputs\": ["),
		    "db", "merge", tpath("m.db"), db, "--json", NULL);
	expect_json(0, N("\"name\": \"clean seed 1\"", "\"failed\": false"),
		    "check", "--cases", "1", "--props", "clean", "--json", NULL);
	expect_json(0, N("\"valid\": true", "\"table\": \"0 1024 linear /dev/sd1a 0\\n\""),
		    "table", "check", "--dev", "/dev/sd1a=2048s", tpath("lin.table"), "--json", NULL);
	expect_json(0, N("\"magic\": \"0x70416e53\"", "\"exit_code\": 0"),
		    "cow", "inspect", cow, "--json", NULL);
	expect_json(0, N("\"clean\": true"), "cow", "check", cow, "--json", NULL);

	/* errors: the object's "error" member, with the position where known */
	expect_json(3, N("\"error\": {", "\"code\": 3", "\"input\": ", "bad.yaml",
			 "\"line\": 5", "\"column\": 17", "device 'X' is not defined"),
		    "replay", bad, "--json", NULL);
	expect_json(3, N("\"code\": 3", "device 'X' is not defined", "\"input\": "), "explore",
		    bad, "--json", NULL);
	expect_json(3, N("\"code\": 3", "\"line\": 5", "\"column\": 17"),
		    "check", "--trace", bad, "--json", NULL);
	expect_json(3, N("\"code\": 3", "\"line\": 2", "\"column\": ", "bad.table",
			 "\"message\": \"unknown target type 'frobnicate'\""),
		    "table", "check", "--dev", "/dev/sd1a=2048s", tpath("bad.table"), "--json", NULL);
	expect_json(3, N("\"code\": 3", "bad magic 0x78787878", "not a snapshot store"),
		    "cow", "inspect", tpath("junk.img"), "--json", NULL);
	expect_json(8, N("\"code\": 8", "cannot open"),
		    "cow", "check", tpath("absent.img"), "--json", NULL);
	expect_json(3, N("\"code\": 3", "missing.db"), "report", "--db", tpath("missing.db"),
		    "-o", tpath("rep2"), "--json", NULL);
	expect_json(3, N("\"code\": 3", "missing.db", "\"input\": "), "db", "merge",
		    tpath("m2.db"), tpath("missing.db"), "--json", NULL);
	expect_json(3, N("\"error\": {\"code\": 3, \"message\": ", "\"input\": ", "absent.img"),
		    "cow", "export", "--origin", tpath("absent.img"), "--cow", cow, "-o",
		    tpath("s.img"), "--json", NULL);
	/* a usage error is JSON too, even when --json comes after the bad option */
	expect_json(2, N("\"code\": 2", "first seed is greater than last"),
		    "replay", good, "--seeds", "5..1", "--json", NULL);
	expect_json(16, N("\"code\": 16", "unknown option '--frob'"),
		    "cow", "check", cow, "--frob", "--json", NULL);
}

/* An error line names its verb, as every other verb's does. */
Test(cli_common, cow_errors_name_their_verb)
{
	struct run_result r;

	write_text(tpath("cow.img"), "");
	run(&r, "cow", "export", "--origin", tpath("absent"), "--cow", tpath("cow.img"), "-o",
	    tpath("s.img"), NULL);
	cr_expect_eq(r.status, 3, "%s", r.err);
	cr_expect_eq(strncmp(r.err, "snapsim cow export: ", 20), 0, "%s", r.err);
	run_free(&r);
	run(&r, "cow", "check", tpath("cow.img"), "--origin", tpath("absent"), NULL);
	cr_expect_eq(strncmp(r.err, "snapsim cow check: ", 19), 0, "%s", r.err);
	run_free(&r);
	/* A usage error names the verb once. */
	run(&r, "cow", "export", tpath("stray"), NULL);
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect_eq(strncmp(r.err, "snapsim cow export: unexpected argument", 39), 0, "%s", r.err);
	run_free(&r);
}

Test(cli_common, json_before_a_usage_error_is_seen)
{
	/* --json after the bad argument still makes the error an object. */
	expect_json(2, N("\"error\"", "unexpected argument"), "cow", "export", tpath("stray"),
		    "--json", NULL);
}
