/*
 * cmd_check.c - snapsim check [--cases N] [--seed N] [--trace FILE...]
 * [--store P|N] [--props LIST] [--junit FILE] [--tap]: the property tests
 * (sim/prop/prop.h) for a user's CI. Without --trace it runs N generated cases
 * of each property from seed N on; with --trace it runs each trace under
 * crash exploration for N seeds. Writes JUnit XML and/or TAP. Exit 0 only
 * when every case held, 1 when one failed (its seed and minimized trace
 * are printed), 2 usage, 3 a tool error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "prop.h"

#define CHECK_MAX_TRACES 256

struct check_case {
	char name[600];
	bool failed;
	char message[1024];
	char trace[512];
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: snapsim check [--cases N] [--seed N] [--trace FILE...] [--store P|N]\n"
		"                     [--props crash,stores,clean] [--junit FILE] [--tap]\n"
		"                     [--out DIR] [--budget N]\n"
		"Property tests: generated traces checked by the model and the crash explorer,\n"
		"failures shrunk to a minimal YAML trace. With --trace, your traces are run\n"
		"under crash exploration for --cases seeds each instead.\n"
		"  --cases N     cases per property (default 20), or seeds per trace\n"
		"  --seed N      first seed (default 1)\n"
		"  --store P|N   snapshot store of generated cases (default: mixed)\n"
		"  --props LIST  properties to run (default: crash,stores,clean)\n"
		"  --junit FILE  write JUnit XML      --tap  print TAP on stdout\n"
		"  --out DIR     where minimized traces go (default: $TMPDIR or /tmp)\n"
		"  --budget N    crash states per crash point (default 8)\n"
		"Exit status: 0 every case held, 1 a case failed, 2 usage, 3 tool error.\n");
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

static int write_junit(const char *path, const struct check_case *cs, size_t n, size_t failed)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
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
	return fclose(f) ? -errno : 0;
}

int cmd_check(int argc, char **argv)
{
	uint64_t cases = 20, seed = 1;
	const char *traces[CHECK_MAX_TRACES];
	size_t nr_traces = 0, n = 0, failed = 0;
	bool props[PROP_COUNT] = { true, true, true }, tap = false, in_traces = false;
	const char *junit = NULL;
	struct prop_opts o = { 0 };
	struct check_case *cs;
	int rc = 0;

	for (int i = 1; i < argc;) {
		const char *v = NULL;
		int used = 1;

		if (cli_is_help(argv[i])) {
			usage(stdout);
			return 0;
		} else if (cli_long_opt("--cases", argc, argv, i, &v, &used) ||
			   cli_long_opt("--seed", argc, argv, i, &v, &used) ||
			   cli_long_opt("--budget", argc, argv, i, &v, &used)) {
			char *end;
			uint64_t x = v ? strtoull(v, &end, 10) : 0;

			if (!v || !*v || *end) {
				fprintf(stderr, "snapsim check: %s needs a number\n", argv[i]);
				return 2;
			}
			if (!strncmp(argv[i], "--cases", 7))
				cases = x;
			else if (!strncmp(argv[i], "--seed", 6))
				seed = x;
			else
				o.budget = x;
			in_traces = false;
		} else if (cli_long_opt("--store", argc, argv, i, &v, &used)) {
			if (!v || (strcmp(v, "P") && strcmp(v, "N") && strcmp(v, "p") && strcmp(v, "n"))) {
				fprintf(stderr, "snapsim check: --store takes P or N\n");
				return 2;
			}
			o.store = (char)(v[0] & ~0x20);
			in_traces = false;
		} else if (cli_long_opt("--props", argc, argv, i, &v, &used)) {
			char buf[128], *save = NULL;

			if (!v) {
				fprintf(stderr, "snapsim check: --props needs a list\n");
				return 2;
			}
			memset(props, 0, sizeof(props));
			snprintf(buf, sizeof(buf), "%s", v);
			for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				int k = prop_parse(t);

				if (k < 0) {
					fprintf(stderr, "snapsim check: unknown property '%s'\n", t);
					return 2;
				}
				props[k] = true;
			}
			in_traces = false;
		} else if (cli_long_opt("--junit", argc, argv, i, &v, &used)) {
			junit = v;
			in_traces = false;
		} else if (cli_long_opt("--out", argc, argv, i, &v, &used)) {
			o.out_dir = v;
			in_traces = false;
		} else if (!strcmp(argv[i], "--tap")) {
			tap = true;
			in_traces = false;
		} else if (!strcmp(argv[i], "--trace")) {
			in_traces = true;
		} else if (in_traces && argv[i][0] != '-' && nr_traces < CHECK_MAX_TRACES) {
			traces[nr_traces++] = argv[i];
		} else {
			fprintf(stderr, "snapsim check: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
		if (used == 2 && !v) {
			fprintf(stderr, "snapsim check: %s needs a value\n", argv[i]);
			return 2;
		}
		i += used;
	}
	if (cases == 0) {
		fprintf(stderr, "snapsim check: --cases must be at least 1\n");
		return 2;
	}
	cs = calloc((nr_traces ? nr_traces : PROP_COUNT) * cases, sizeof(*cs));
	if (!cs)
		return 3;
	fprintf(stderr, "snapsim check: seed %" PRIu64 ", %" PRIu64 " cases%s\n", seed, cases,
		nr_traces ? " per trace" : " per property");
	if (tap)
		printf("TAP version 13\n1..%" PRIu64 "\n",
		       cases * (nr_traces ? nr_traces :
				(uint64_t)(props[0] + props[1] + props[2])));
	for (size_t t = 0; t < (nr_traces ? nr_traces : PROP_COUNT); t++) {
		if (!nr_traces && !props[t])
			continue;
		for (uint64_t s = seed; s < seed + cases; s++) {
			struct check_case *c = &cs[n];
			struct prop_result res;
			int r;

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
				rc = 3;
			}
			c->failed = res.failed;
			snprintf(c->message, sizeof(c->message), "%s", res.message);
			snprintf(c->trace, sizeof(c->trace), "%s", res.trace_path);
			n++;
			if (res.failed) {
				failed++;
				fprintf(stderr, "FAIL %s: %s\n  reproduce: --seed %" PRIu64 " --cases 1%s%s\n",
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
	fprintf(stderr, "snapsim check: %zu cases, %zu failed\n", n, failed);
	if (junit && write_junit(junit, cs, n, failed)) {
		fprintf(stderr, "snapsim check: cannot write %s\n", junit);
		rc = 3;
	}
	free(cs);
	if (rc)
		return rc;
	return failed ? 1 : 0;
}
