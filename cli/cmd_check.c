/*
 * cmd_check.c - snapsim check [--cases N] [--seed N] [--trace FILE...]
 * [--store P|N] [--props LIST] [--junit FILE] [--tap]: the property tests
 * (sim/prop/prop.h) for a user's CI. Without --trace it runs N generated cases
 * of each property from seed N on; with --trace it runs each trace under
 * crash exploration for N seeds. Writes JUnit XML and/or TAP. Exit 0 only
 * when every case held, 1 when one failed (its seed and minimized trace
 * are printed); the rest of cli_exit.h: 3 a --trace file is rejected,
 * 4 --out or --junit cannot be written or a tool error.
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
#include "prop.h"
#include "progress.h"
#include "run_ctl.h"
#include "replay.h"

struct check_case {
	char name[600];
	bool failed;
	char message[1024];
	char trace[512];
};

static void usage(FILE *out)
{
	fputs("usage: snapsim check [--cases N] [--seed N] [--store P|N] [--props crash,stores,clean]\n"
	      "                     [--trace FILE...] [--junit FILE | --tap] [--out DIR]\n"
	      "                     [--budget N] [--force] [-q] [--json]\n"
	      "\n"
	      "Property tests: generated traces checked by the model and the crash explorer,\n"
	      "failures shrunk to a minimal YAML trace. With --trace, your traces are run\n"
	      "under crash exploration for --cases seeds each instead (every trace is\n"
	      "validated before any case runs).\n"
	      "\n"
	      "Options:\n"
	      "  --cases N     cases per property (default 20), or seeds per trace\n"
	      "  --seed N      first seed (default 1)\n"
	      "  --store P|N   snapshot store of generated cases (default: mixed; not with\n"
	      "                --trace)\n"
	      "  --props LIST  properties to run (default: crash,stores,clean; not with\n"
	      "                --trace)\n"
	      "  --trace       the arguments are your trace files\n"
	      "  --junit FILE  write JUnit XML to FILE, a new file (written to a temporary\n"
	      "                renamed into place); default: none\n"
	      "  --force       replace an existing --junit FILE, and minimized traces in\n"
	      "                --out that no earlier run wrote (those are replaced anyway)\n"
	      "  --tap         print TAP on stdout (not with --json)\n"
	      "  --out DIR     where minimized traces go, created with its parents if\n"
	      "                missing (default: $TMPDIR or /tmp)\n"
	      "  --budget N    crash states per crash point (default 8)\n"
	      "  -q, --quiet   no progress lines (on a terminal: cases done/total, ETA,\n"
	      "                failures so far); failures and errors only\n"
	      "  --json        one JSON object on stdout: every case, or the error\n"
	      "  --version     print the version and exit\n"
	      "  -h, --help    print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  every case held\n"
	      "  1  a case failed (its seed and minimized trace are printed)\n"
	      "  2  usage error\n"
	      "  3  a --trace file is missing or invalid (nothing ran)\n"
	      "  4  I/O or tool error (--out or --junit cannot be written)\n"
	      "  130  interrupted (SIGINT or SIGTERM): the case in hand is finished and the\n"
	      "     results so far reported (--junit, --json, the summary)\n", out);
}

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

/* The JUnit XML of the cases, written through out_file. 0, or -1 with msg set. */
static int write_junit(const char *path, bool force, const struct check_case *cs, size_t n,
		       size_t failed, char *msg, size_t msg_len)
{
	struct out_file_opts oo = { .force = force, .mode = 0644 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (!f) {
		snprintf(msg, msg_len, "%s: out of memory", path);
		return -1;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites><testsuite name=\"snapsim-check\" tests=\"%zu\" failures=\"%zu\">\n",
		n, failed);
	for (size_t i = 0; i < n; i++) {
		fputs("  <testcase classname=\"snapsim.check\" name=\"", f);
		xml_escape(f, cs[i].name);
		if (!cs[i].failed) {
			fputs("\"/>\n", f);
			continue;
		}
		fputs("\">\n    <failure message=\"", f);
		xml_escape(f, cs[i].message);
		fputs("\">minimized trace: ", f);
		xml_escape(f, cs[i].trace[0] ? cs[i].trace : "(none)");
		fputs("</failure>\n  </testcase>\n", f);
	}
	fputs("</testsuite></testsuites>\n", f);
	if (fclose(f)) {
		free(text);
		snprintf(msg, msg_len, "%s: out of memory", path);
		return -1;
	}
	r = out_file_write_all(path, &oo, text, len, msg, msg_len);
	free(text);
	return r ? -1 : 0;
}

/*
 * prop_opts.save: a minimized trace through out_file, replacing only a
 * minimized trace an earlier run left at that path (or anything, --force).
 */
static int save_trace(void *ctx, const char *path, const char *text, size_t len)
{
	const bool *force = ctx;
	struct out_file_opts oo = { .mode = 0644 };
	char msg[OUT_FILE_MSG_MAX];

	oo.force = *force || out_file_is_ours(path, "# snapsim property '") ||
		   out_file_is_ours(path, "# Minimized by snapsim explore from ");
	if (out_file_write_all(path, &oo, text, len, msg, sizeof(msg)) == 0)
		return 0;
	fprintf(stderr, "snapsim check: minimized trace not written: %s\n", msg);
	return -1;
}

/* --props LIST. 0 or the usage error's code. */
static int parse_props(struct cli_verb *v, const char *list, bool props[PROP_COUNT])
{
	char buf[128], *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return cli_usage_error(v, "--props %s: too long", list);
	memset(props, 0, PROP_COUNT * sizeof(props[0]));
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k = prop_parse(t);

		if (k < 0)
			return cli_usage_error(v, "--props %s: unknown property '%s' (crash, stores, "
					       "clean)", list, t);
		props[k] = true;
	}
	if (!props[0] && !props[1] && !props[2])
		return cli_usage_error(v, "--props '%s': no property named", list);
	return 0;
}

/* Every --trace file must load before any case runs. */
static int validate_traces(struct cli_verb *v, char **traces, int n)
{
	for (int i = 0; i < n; i++) {
		struct trace_error err;

		trace_error_clear(&err);
		if (replay_validate(traces[i], &err))
			return cli_error(v, CLI_EXIT_INPUT,
					 &(struct cli_json_where){ .input = traces[i], .line = err.line,
								   .column = err.column },
					 err.msg[0] ? err.msg : err.text, err.text);
	}
	return 0;
}

static void json_cases(const struct check_case *cs, size_t n, size_t failed, uint64_t seed,
		       int rc, const char *error, bool interrupted)
{
	struct cli_json j;

	cli_json_begin(&j, stdout);
	cli_json_kstr(&j, "verb", "check");
	cli_json_kuint(&j, "seed", seed);
	cli_json_kuint(&j, "cases", n);
	cli_json_kuint(&j, "failed", failed);
	cli_json_key(&j, "results");
	cli_json_open_array(&j);
	for (size_t i = 0; i < n; i++) {
		cli_json_open_object(&j);
		cli_json_kstr(&j, "name", cs[i].name);
		cli_json_kbool(&j, "failed", cs[i].failed);
		if (cs[i].failed) {
			cli_json_kstr(&j, "message", cs[i].message);
			cli_json_kstr(&j, "minimized", cs[i].trace[0] ? cs[i].trace : NULL);
		}
		cli_json_close(&j);
	}
	cli_json_close(&j);
	cli_json_kbool(&j, "interrupted", interrupted);
	cli_json_kint(&j, "exit_code", rc);
	if (error)
		cli_json_kerror(&j, rc, error, NULL);
	cli_json_end(&j);
}

int cmd_check(int argc, char **argv)
{
	enum { OPT_CASES = 0x100, OPT_SEED, OPT_BUDGET, OPT_STORE, OPT_PROPS, OPT_JUNIT, OPT_OUT,
	       OPT_TAP, OPT_TRACE, OPT_FORCE };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION,
		{ "cases", required_argument, NULL, OPT_CASES },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "props", required_argument, NULL, OPT_PROPS },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "tap", no_argument, NULL, OPT_TAP },
		{ "trace", no_argument, NULL, OPT_TRACE },
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_OPTIONS_END,
	};
	struct cli_verb v = CLI_VERB("check", usage);
	uint64_t cases = 20, seed = 1;
	char **traces;
	size_t nr_traces = 0, n = 0, failed = 0;
	bool props[PROP_COUNT] = { true, true, true }, tap = false, want_traces = false;
	const char *junit = NULL, *props_opt = NULL, *store_opt = NULL, *error = NULL;
	char error_buf[1700], junit_msg[OUT_FILE_MSG_MAX]; /* a case name and its message */
	bool force = false;
	struct prop_opts o = { .save = save_trace, .save_ctx = &force };
	struct check_case *cs;
	struct run_ctl ctl;
	int rc = CLI_EXIT_OK, opt, r;

	cli_begin(&v, argc, argv);
	while ((opt = cli_getopt(&v, argc, argv, "", longopts)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_EXIT:
			return v.exit;
		case OPT_CASES:
			if (cli_opt_u64(&v, "--cases", optarg, 1, 1000000000, &cases))
				return v.exit;
			break;
		case OPT_SEED:
			if (cli_opt_u64(&v, "--seed", optarg, 0, UINT64_MAX / 2, &seed))
				return v.exit;
			break;
		case OPT_BUDGET:
			if (cli_opt_u64(&v, "--budget", optarg, 1, UINT64_MAX, &o.budget))
				return v.exit;
			break;
		case OPT_STORE:
			if (strcmp(optarg, "P") && strcmp(optarg, "N") && strcmp(optarg, "p") &&
			    strcmp(optarg, "n"))
				return cli_usage_error(&v, "--store %s: expected P or N", optarg);
			o.store = (char)(optarg[0] & ~0x20);
			store_opt = optarg;
			break;
		case OPT_PROPS:
			if (parse_props(&v, optarg, props))
				return v.exit;
			props_opt = optarg;
			break;
		case OPT_JUNIT:
			junit = optarg;
			break;
		case OPT_OUT:
			o.out_dir = optarg;
			break;
		case OPT_TAP:
			tap = true;
			break;
		case OPT_TRACE:
			want_traces = true;
			break;
		case OPT_FORCE:
			force = true;
			break;
		}
	}
	traces = argv + optind;
	nr_traces = (size_t)(argc - optind);
	if (nr_traces && !want_traces)
		return cli_usage_error(&v, "unexpected argument '%s' (trace files follow --trace)",
				       traces[0]);
	if (want_traces && !nr_traces)
		return cli_usage_error(&v, "--trace needs at least one trace FILE");
	if (want_traces && (props_opt || store_opt))
		return cli_usage_error(&v, "--trace and %s %s cannot be used together (they choose "
				       "generated cases)", props_opt ? "--props" : "--store",
				       props_opt ? props_opt : store_opt);
	if (tap && v.json)
		return cli_usage_error(&v, "--tap and --json cannot be used together (both use "
				       "stdout)");
	if (cases > UINT64_MAX / 2 - seed)
		return cli_usage_error(&v, "--seed %" PRIu64 " --cases %" PRIu64 ": too many seeds",
				       seed, cases);
	if ((r = validate_traces(&v, traces, (int)nr_traces)))
		return r;
	if (o.out_dir && (r = cli_mkdir_p(o.out_dir)) == 0 && access(o.out_dir, W_OK | X_OK))
		r = -errno;
	if (o.out_dir && r)
		return cli_errorf(&v, CLI_EXIT_IO, &(struct cli_json_where){ .input = o.out_dir },
				  "--out %s: cannot create or write the directory: %s", o.out_dir,
				  strerror(-r));
	cs = calloc((nr_traces ? nr_traces : PROP_COUNT) * cases, sizeof(*cs));
	if (!cs)
		return cli_errorf(&v, CLI_EXIT_IO, NULL, "out of memory");
	if (!v.quiet)
		fprintf(stderr, "snapsim check: seed %" PRIu64 ", %" PRIu64 " cases%s\n", seed, cases,
			nr_traces ? " per trace" : " per property");
	/* SIGINT/SIGTERM: the case in hand is finished, then the results so far are written. */
	run_ctl_catch_stop();
	run_ctl_begin(&ctl, progress_wanted(STDERR_FILENO, v.quiet), "check:",
		      cases * (nr_traces ? nr_traces : (uint64_t)(props[0] + props[1] + props[2])),
		      "cases", "cases", "failed");
	if (tap)
		printf("TAP version 13\n1..%" PRIu64 "\n",
		       cases * (nr_traces ? nr_traces :
				(uint64_t)(props[0] + props[1] + props[2])));
	for (size_t t = 0; t < (nr_traces ? nr_traces : PROP_COUNT); t++) {
		if (!nr_traces && !props[t])
			continue;
		for (uint64_t s = seed; s < seed + cases && !run_ctl_stop; s++) {
			struct check_case *c = &cs[n];
			struct prop_result res;

			if (nr_traces) {
				snprintf(c->name, sizeof(c->name), "%s seed %" PRIu64, traces[t], s);
				r = prop_check_trace(traces[t], s, &o, &res);
			} else {
				snprintf(c->name, sizeof(c->name), "%s seed %" PRIu64,
					 prop_name((enum prop_kind)t), s);
				r = prop_run((enum prop_kind)t, s, &o, &res);
			}
			if (r) {
				res.failed = true;
				snprintf(res.message, sizeof(res.message), "tool error %d (%s)", r,
					 strerror(-r));
				rc = CLI_EXIT_IO;
				if (!error) {
					snprintf(error_buf, sizeof(error_buf), "%s: %s", c->name,
						 res.message);
					error = error_buf;
				}
			}
			c->failed = res.failed;
			snprintf(c->message, sizeof(c->message), "%s", res.message);
			snprintf(c->trace, sizeof(c->trace), "%s", res.trace_path);
			n++;
			run_ctl_update(&ctl, n, n, failed + res.failed);
			if (res.failed) {
				failed++;
				fprintf(ctl.log, "FAIL %s: %s\n  reproduce: --seed %" PRIu64 " --cases 1%s%s\n",
					c->name, c->message, s, c->trace[0] ? "; minimized trace: " : "",
					c->trace);
			}
			if (tap) {
				printf("%s %zu - %s\n", c->failed ? "not ok" : "ok", n, c->name);
				if (c->failed)
					printf("  ---\n  message: \"%s\"\n  trace: \"%s\"\n  ...\n",
					       c->message, c->trace);
			}
		}
	}
	run_ctl_end(&ctl);
	if (!v.quiet || run_ctl_stop)
		fprintf(stderr, "snapsim check: %zu cases, %zu failed\n", n, failed);
	if (run_ctl_stop)
		fprintf(stderr, "snapsim check: interrupted (%s) after %zu case%s; the results above "
			"(and --junit) hold those\n", run_ctl_stop == SIGTERM ? "SIGTERM" : "SIGINT", n,
			n == 1 ? "" : "s");
	if (junit && write_junit(junit, force, cs, n, failed, junit_msg, sizeof(junit_msg))) {
		fprintf(stderr, "snapsim check: --junit %s\n", junit_msg);
		rc = CLI_EXIT_IO;
		if (!error) {
			snprintf(error_buf, sizeof(error_buf), "--junit %.1600s", junit_msg);
			error = error_buf;
		}
	}
	if (rc == CLI_EXIT_OK && failed)
		rc = CLI_EXIT_FAILED;
	if (run_ctl_stop)
		rc = CLI_EXIT_INTERRUPTED;
	if (v.json)
		json_cases(cs, n, failed, seed, rc, error, run_ctl_stop != 0);
	free(cs);
	return rc;
}
