/* cli_opts.c - options, values and errors common to the verbs; see cli_opts.h. */
#define _GNU_SOURCE
#include "cli_opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_print_version(FILE *out)
{
	fprintf(out, "%s\n", SNAPSIM_VERSION_TEXT);
}

void cli_begin(struct cli_verb *v, int argc, char **argv)
{
	v->exit = CLI_EXIT_OK;
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			v->json = true;
	optind = 0; /* glibc: a full reset of getopt's state */
	opterr = 0; /* its messages are replaced by ours */
}

static int usage_errorv(struct cli_verb *v, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "snapsim %s: %s\nTry 'snapsim %s --help' for more information.\n",
		v->name, msg, v->name);
	if (v->json)
		cli_json_error_doc(stdout, v->usage_code, msg, NULL);
	v->exit = v->usage_code;
	return v->usage_code;
}

int cli_usage_error(struct cli_verb *v, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = usage_errorv(v, fmt, ap);
	va_end(ap);
	return r;
}

/* The option getopt stopped at, as the user wrote it (without "=value"). */
static void offending(int argc, char **argv, char *buf, size_t len)
{
	const char *a = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	size_t n = strcspn(a, "=");

	if (optopt && a[0] == '-' && a[1] != '-')
		snprintf(buf, len, "-%c", optopt);
	else
		snprintf(buf, len, "%.*s", (int)n, a);
}

static bool known_long(const struct option *longopts, const char *name)
{
	for (; longopts->name; longopts++)
		if (!strcmp(longopts->name, name))
			return true;
	return false;
}

int cli_getopt(struct cli_verb *v, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	char spec[64], opt[128];

	snprintf(spec, sizeof(spec), ":hq%s", shortopts);
	for (;;) {
		int c = getopt_long(argc, argv, spec, longopts, NULL);

		switch (c) {
		case -1:
			return CLI_OPT_END;
		case 'h':
			v->help(stdout);
			v->exit = CLI_EXIT_OK;
			return CLI_OPT_EXIT;
		case CLI_OPT_VERSION:
			cli_print_version(stdout);
			v->exit = CLI_EXIT_OK;
			return CLI_OPT_EXIT;
		case 'q':
			v->quiet = true;
			break;
		case CLI_OPT_JSON:
			v->json = true;
			break;
		case ':':
			offending(argc, argv, opt, sizeof(opt));
			cli_usage_error(v, "option '%s' needs a value", opt);
			return CLI_OPT_EXIT;
		case '?':
			offending(argc, argv, opt, sizeof(opt));
			if (!strncmp(opt, "--", 2) && strchr(argv[optind - 1], '=') &&
			    known_long(longopts, opt + 2))
				cli_usage_error(v, "option '%s' takes no value", opt);
			else
				cli_usage_error(v, "unknown option '%s'", opt);
			return CLI_OPT_EXIT;
		default:
			return c;
		}
	}
}

int cli_error(struct cli_verb *v, int code, const struct cli_json_where *where,
	      const char *message, const char *human)
{
	fprintf(stderr, "%s\n", human);
	if (v->json)
		cli_json_error_doc(stdout, code, message, where);
	v->exit = code;
	return code;
}

int cli_errorf(struct cli_verb *v, int code, const struct cli_json_where *where,
	       const char *fmt, ...)
{
	char msg[2048], human[2200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(human, sizeof(human), "snapsim %s: %s", v->name, msg);
	return cli_error(v, code, where, msg, human);
}

int cli_opt_u64(struct cli_verb *v, const char *opt, const char *val, uint64_t min,
		uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!val || !*val)
		return cli_usage_error(v, "%s: needs a value", opt);
	if (val[0] == '-')
		return cli_usage_error(v, "%s %s: must not be negative", opt, val);
	if (val[0] < '0' || val[0] > '9')
		return cli_usage_error(v, "%s %s: not a number", opt, val);
	errno = 0;
	x = strtoull(val, &end, 10);
	if (*end)
		return cli_usage_error(v, "%s %s: not a number", opt, val);
	if (errno == ERANGE || x > max)
		return cli_usage_error(v, "%s %s: at most %llu", opt, val, (unsigned long long)max);
	if (x < min)
		return cli_usage_error(v, "%s %s: at least %llu", opt, val, (unsigned long long)min);
	*out = x;
	return 0;
}

int cli_opt_range(struct cli_verb *v, const char *opt, const char *val, uint64_t *lo,
		  uint64_t *hi)
{
	const char *dots = val ? strstr(val, "..") : NULL;
	char first[32], label[160];
	int r;

	if (!dots) {
		if (val && val[0] >= '0' && val[0] <= '9' && strspn(val, "0123456789") != strlen(val))
			return cli_usage_error(v, "%s %s: expected FIRST..LAST (e.g. 1..10)", opt, val);
		r = cli_opt_u64(v, opt, val, 0, UINT64_MAX, lo);
		if (!r)
			*hi = *lo;
		return r;
	}
	if ((size_t)(dots - val) >= sizeof(first) || dots == val || !dots[2])
		return cli_usage_error(v, "%s %s: expected FIRST..LAST (e.g. 1..10)", opt, val);
	memcpy(first, val, (size_t)(dots - val));
	first[dots - val] = '\0';
	snprintf(label, sizeof(label), "%s %s: first seed", opt, val);
	if ((r = cli_opt_u64(v, label, first, 0, UINT64_MAX, lo)))
		return r;
	snprintf(label, sizeof(label), "%s %s: last seed", opt, val);
	if ((r = cli_opt_u64(v, label, dots + 2, 0, UINT64_MAX, hi)))
		return r;
	if (*lo > *hi)
		return cli_usage_error(v, "%s %s: first seed is greater than last", opt, val);
	return 0;
}

int cli_exit_for_input_errno(int err)
{
	switch (err) {
	case -ENOENT:
	case -EINVAL:
	case -EACCES:
	case -EISDIR:
	case -ENOTDIR:
	case -ENOTSUP:
	case -EPROTO:
	case -EFBIG:
	case -ERANGE:
		return CLI_EXIT_INPUT;
	default:
		return CLI_EXIT_IO;
	}
}
