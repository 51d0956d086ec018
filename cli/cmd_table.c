/*
 * cmd_table.c - `snapsim table check`: parse and construct a dm table
 * against named devices, print it back as `dmsetup table` would, or report
 * the first error with its file, line and column.
 *
 * The devices are scratch devices (scratch_bdev.h): images read through a
 * private overlay, or zero placeholders of a given size, so checking a
 * snapshot table never writes to an image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "dm.h"
#include "fifo_executor.h"
#include "scratch_bdev.h"

static const char table_usage[] =
	"usage: snapsim table check [--dev NAME=PATH[:ro] | --dev NAME=SIZE[:ro]]...\n"
	"                           [--create NAME=TABLEFILE]... [--read-only]\n"
	"                           [-q] [--json] FILE|-\n"
	"\n"
	"Parse the dm table in FILE (- for standard input), construct every target\n"
	"against the given devices, run the bind-time checks, and print the table\n"
	"as `dmsetup table` would. On error, print FILE: line L, column C: message.\n"
	"\n"
	"Options:\n"
	"  --dev NAME=PATH   make the image file or block device PATH known to\n"
	"                    tables as NAME (e.g. --dev /dev/sd1a=disk.img);\n"
	"                    repeatable; default: no device but the table's own\n"
	"  --dev NAME=SIZE   a placeholder device of SIZE that reads zeros; SIZE is\n"
	"                    as in traces: a bare number is sectors (as in the\n"
	"                    table), or a number with a unit: s (512-byte sectors),\n"
	"                    B (bytes, a multiple of 512), K or KiB, M or MiB, G or\n"
	"                    GiB, T or TiB (powers of 1024). A value that parses as\n"
	"                    a size is a size: write ./1G for a file named 1G.\n"
	"                    A final :ro makes the device refuse writes, like a\n"
	"                    read-only disk. Default: none.\n"
	"  --create NAME=TABLEFILE\n"
	"                    first create and resume the dm device NAME from\n"
	"                    TABLEFILE (in the order given); later tables refer\n"
	"                    to it as /dev/mapper/NAME; repeatable; default: none\n"
	"  -r, --read-only   load the table read-only (dmsetup's readonly flag)\n"
	"  -q, --quiet       print nothing; the exit status tells\n"
	"  --json            one JSON object on stdout: the table as printed, or the\n"
	"                    error with its line and column\n"
	"  --version         print the version and exit\n"
	"  -h, --help        print this help and exit\n"
	"\n"
	"Images are never modified: a write a constructor makes (such as the\n"
	"header of a new snapshot store) lands in memory and is dropped at exit.\n"
	"\n"
	"Exit status:\n"
	"  0  the table is valid\n"
	"  2  usage error\n"
	"  3  the table (or a --create table) is invalid, or a file or device\n"
	"     cannot be opened\n"
	"  4  tool error (out of memory)\n";

static void table_help(FILE *out)
{
	fputs(table_usage, out);
}

struct dev_arg {
	const char *name_eq;   /* the NAME=SPEC argument as given */
	struct scratch_bdev *sb;
};

struct table_ctx {
	struct fifo_executor fx;
	struct dm_registry *reg;
	struct dev_arg *devs;
	size_t nr_devs;
};

static const char *shown_name(const char *path)
{
	return strcmp(path, "-") ? path : "<stdin>";
}

/* Read FILE or stdin ("-") into a string. 0 or the exit status (reported). */
static int read_table_file(struct cli_verb *v, const char *path, char **text)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct cli_json_where where = { .input = shown_name(path) };
	int r;

	if (!f)
		return cli_errorf(v, CLI_EXIT_INPUT, &where, "%s: cannot open: %s", path,
				  strerror(errno));
	r = cli_read_stream(f, text);
	if (f != stdin)
		fclose(f);
	if (r < 0)
		return cli_errorf(v, r == -EINVAL ? CLI_EXIT_INPUT : CLI_EXIT_IO, &where,
				  "%s: cannot read: %s", shown_name(path),
				  r == -EINVAL ? "contains a NUL byte" : strerror(-r));
	return 0;
}

/* "FILE: line L, column C: message"; JSON with the position apart. */
static int table_error(struct cli_verb *v, const char *input, const struct ss_error *err)
{
	char buf[SS_ERROR_MSG_MAX + 64], human[SS_ERROR_MSG_MAX + 4200];

	snprintf(human, sizeof(human), "%s: %s", input, ss_error_format(err, buf, sizeof(buf)));
	return cli_error(v, err->code == -ENOMEM ? CLI_EXIT_IO : CLI_EXIT_INPUT,
			 &(struct cli_json_where){ .input = input, .line = err->line,
						   .column = err->column },
			 err->msg, human);
}

/* Check one --dev NAME=SPEC argument's form (before anything is opened). */
static int check_dev_arg(struct cli_verb *v, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char spec[4096];
	size_t len;
	uint64_t bytes;
	int r;

	if (!eq || eq == arg || !eq[1])
		return cli_usage_error(v, "--dev '%s': expected NAME=PATH or NAME=SIZE", arg);
	snprintf(spec, sizeof(spec), "%s", eq + 1);
	len = strlen(spec);
	if (len > 3 && !strcmp(spec + len - 3, ":ro"))
		spec[len - 3] = '\0';
	if (!cli_looks_like_size(spec))
		return 0;
	r = cli_parse_size(spec, &bytes);
	if (r < 0 || bytes == 0 || bytes % SECTOR_SIZE)
		return cli_usage_error(v, "--dev '%s': size '%s' %s", arg, spec,
				       r < 0 ? "is out of range" : bytes == 0 ? "is zero"
				       : "is not a whole number of 512-byte sectors");
	return 0;
}

/* Open the device of one --dev NAME=SPEC argument and register it. 0 or the exit status. */
static int add_dev(struct cli_verb *v, struct table_ctx *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *name = strndup(arg, (size_t)(eq - arg)), *spec = strdup(eq + 1);
	struct cli_json_where where = { .input = eq + 1 };
	size_t len;
	bool ro = false;
	uint64_t bytes;
	struct ss_error err;
	struct scratch_bdev *sb = NULL;
	int ret = CLI_EXIT_OK;

	if (!name || !spec) {
		ret = cli_errorf(v, CLI_EXIT_IO, NULL, "out of memory");
		goto out;
	}
	len = strlen(spec);
	if (len > 3 && !strcmp(spec + len - 3, ":ro")) {
		ro = true;
		spec[len - 3] = '\0';
	}
	ss_error_clear(&err);
	if (cli_looks_like_size(spec)) {
		cli_parse_size(spec, &bytes); /* checked by check_dev_arg */
		sb = scratch_bdev_create(name, bytes >> SECTOR_SHIFT, ro, &c->fx.base);
		if (!sb) {
			ret = cli_errorf(v, CLI_EXIT_IO, NULL, "out of memory");
			goto out;
		}
	} else if (scratch_bdev_open(spec, name, ro, &c->fx.base, &sb, &err) < 0) {
		ret = cli_errorf(v, CLI_EXIT_INPUT, &where, "--dev %s: %s", arg, err.msg);
		goto out;
	}
	c->devs[c->nr_devs].name_eq = arg;
	c->devs[c->nr_devs].sb = sb;
	c->nr_devs++;
	if (dm_registry_add_bdev(c->reg, scratch_bdev_bdev(sb), &err) < 0)
		ret = cli_errorf(v, CLI_EXIT_INPUT, NULL, "--dev %s: %s", arg, err.msg);
out:
	free(name);
	free(spec);
	return ret;
}

/* --create NAME=TABLEFILE. 0 or the exit status (reported). */
static int create_dev(struct cli_verb *v, struct table_ctx *c, const char *arg, unsigned flags)
{
	const char *eq = strchr(arg, '=');
	struct ss_error err;
	char *name, *text = NULL;
	int ret;

	name = strndup(arg, (size_t)(eq - arg));
	if (!name)
		return cli_errorf(v, CLI_EXIT_IO, NULL, "out of memory");
	ret = read_table_file(v, eq + 1, &text);
	if (ret)
		goto out;
	ss_error_clear(&err);
	if (dm_create(c->reg, name, NULL, text, flags, &err) < 0) {
		ret = table_error(v, shown_name(eq + 1), &err);
		goto out;
	}
	fifo_executor_run(&c->fx, 0);
out:
	free(text);
	free(name);
	return ret;
}

static void table_json(const char *input, const char *printed)
{
	struct cli_json j;

	cli_json_begin(&j, stdout);
	cli_json_kstr(&j, "verb", "table check");
	cli_json_kstr(&j, "input", input);
	cli_json_kbool(&j, "valid", true);
	cli_json_kstr(&j, "table", printed);
	cli_json_kint(&j, "exit_code", CLI_EXIT_OK);
	cli_json_end(&j);
}

static int table_check(int argc, char **argv)
{
	enum { OPT_DEV = 0x100, OPT_CREATE };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS, CLI_JSON_OPTION,
		{ "dev", required_argument, NULL, OPT_DEV },
		{ "create", required_argument, NULL, OPT_CREATE },
		{ "read-only", no_argument, NULL, 'r' },
		CLI_OPTIONS_END,
	};
	struct cli_verb v = CLI_VERB("table check", table_help);
	struct table_ctx c = { 0 };
	const char *file, **devs, **creates;
	size_t nr_devs = 0, nr_creates = 0;
	unsigned flags = 0;
	struct dm_table *t = NULL;
	struct ss_error err;
	char *text = NULL, *printed;
	int ret = CLI_EXIT_OK, opt;

	devs = calloc((size_t)argc, sizeof(*devs));
	creates = calloc((size_t)argc, sizeof(*creates));
	if (!devs || !creates) {
		free(devs);
		free(creates);
		return cli_errorf(&v, CLI_EXIT_IO, NULL, "out of memory");
	}
	cli_begin(&v, argc, argv);
	while (!ret && (opt = cli_getopt(&v, argc, argv, "r", longopts)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_EXIT:
			ret = v.exit ? v.exit : -1;
			break;
		case OPT_DEV:
			if (!(ret = check_dev_arg(&v, optarg)))
				devs[nr_devs++] = optarg;
			break;
		case OPT_CREATE: {
			const char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || !eq[1])
				ret = cli_usage_error(&v, "--create '%s': expected NAME=TABLEFILE",
						      optarg);
			else
				creates[nr_creates++] = optarg;
			break;
		}
		case 'r':
			flags |= DM_READ_ONLY;
			break;
		}
	}
	if (!ret && optind >= argc)
		ret = cli_usage_error(&v, "missing table FILE (or - for standard input)");
	if (!ret && argc - optind > 1)
		ret = cli_usage_error(&v, "unexpected argument '%s' (one table FILE only)",
				      argv[optind + 1]);
	if (ret) {
		free(devs);
		free(creates);
		return ret < 0 ? CLI_EXIT_OK : ret;
	}
	file = argv[optind];
	c.devs = calloc((size_t)argc, sizeof(*c.devs));
	fifo_executor_init(&c.fx);
	c.reg = c.devs ? dm_registry_create(&c.fx.base) : NULL;
	if (!c.reg) {
		ret = cli_errorf(&v, CLI_EXIT_IO, NULL, "out of memory");
		goto out;
	}
	/* Devices first, then the --create tables in order, then FILE. */
	for (size_t i = 0; i < nr_devs && !ret; i++)
		ret = add_dev(&v, &c, devs[i]);
	for (size_t i = 0; i < nr_creates && !ret; i++)
		ret = create_dev(&v, &c, creates[i], flags);
	if (ret || (ret = read_table_file(&v, file, &text)))
		goto out;
	ss_error_clear(&err);
	if (dm_table_create(c.reg, text, flags, &t, &err) < 0) {
		ret = table_error(&v, shown_name(file), &err);
		goto out;
	}
	fifo_executor_run(&c.fx, 0);
	printed = dm_table_print(t);
	if (!printed) {
		ret = cli_errorf(&v, CLI_EXIT_IO, NULL, "out of memory");
		goto out;
	}
	if (v.json) {
		table_json(shown_name(file), printed);
	} else if (!v.quiet) {
		fputs(printed, stdout);
		if (printed[0] && printed[strlen(printed) - 1] != '\n')
			fputc('\n', stdout);
	}
	free(printed);
out:
	if (t)
		dm_table_destroy(t);
	if (c.reg)
		dm_registry_destroy(c.reg);
	fifo_executor_run(&c.fx, 0);
	for (size_t i = 0; i < c.nr_devs; i++)
		bdev_destroy(scratch_bdev_bdev(c.devs[i].sb));
	fifo_executor_destroy(&c.fx);
	free(text);
	free(c.devs);
	free(devs);
	free(creates);
	return ret;
}

int cmd_table(int argc, char **argv)
{
	struct cli_verb v = CLI_VERB("table", table_help);

	if (argc >= 2 && !strcmp(argv[1], "check"))
		return table_check(argc - 1, argv + 1);
	if (argc >= 2 && argv[1][0] == '-') {
		/* snapsim table --help / --version: the one verb's. */
		return table_check(argc, argv);
	}
	if (argc < 2)
		return cli_usage_error(&v, "missing verb (check)");
	return cli_usage_error(&v, "unknown verb '%s' (check)", argv[1]);
}
