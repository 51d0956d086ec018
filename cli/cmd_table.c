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

#include "cli_util.h"
#include "commands.h"
#include "dm.h"
#include "fifo_executor.h"
#include "scratch_bdev.h"

static const char table_usage[] =
	"usage: snapsim table check [--dev NAME=PATH[:ro] | --dev NAME=SIZE[:ro]]...\n"
	"                           [--create NAME=TABLEFILE]... [--read-only] FILE|-\n"
	"\n"
	"Parse the dm table in FILE (- for standard input), construct every target\n"
	"against the given devices, run the bind-time checks, and print the table\n"
	"as `dmsetup table` would. On error, print FILE: line L, column C: message.\n"
	"\n"
	"  --dev NAME=PATH   make the image file or block device PATH known to\n"
	"                    tables as NAME (e.g. --dev /dev/sd1a=disk.img)\n"
	"  --dev NAME=SIZE   a placeholder device of SIZE that reads zeros; SIZE is\n"
	"                    a number with a unit: s (512-byte sectors), K or KiB,\n"
	"                    M or MiB, G or GiB, T or TiB (powers of 1024), or none\n"
	"                    (bytes, a multiple of 512). A value that parses as a\n"
	"                    size is a size: write ./1G for a file named 1G.\n"
	"  :ro               the device refuses writes, like a read-only disk\n"
	"  --create NAME=TABLEFILE\n"
	"                    first create and resume the dm device NAME from\n"
	"                    TABLEFILE (in the order given); later tables refer\n"
	"                    to it as /dev/mapper/NAME\n"
	"  --read-only       load the table read-only (dmsetup --readonly)\n"
	"\n"
	"Images are never modified: a write a constructor makes (such as the\n"
	"header of a new snapshot store) lands in memory and is dropped at exit.\n"
	"\n"
	"Exit: 0 the table is valid, 1 it is not (or a device could not be\n"
	"opened), 2 usage error.\n";

static const char table_verbs_usage[] =
	"usage: snapsim table check [OPTIONS] FILE|-   (snapsim table check --help)\n";

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

/* Read FILE or stdin ("-") into a string. Prints the error. */
static int read_table_file(const char *path, char **text)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	int r;

	if (!f) {
		fprintf(stderr, "snapsim: %s: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	r = cli_read_stream(f, text);
	if (f != stdin)
		fclose(f);
	if (r < 0) {
		fprintf(stderr, "snapsim: %s: cannot read: %s\n",
			strcmp(path, "-") ? path : "<stdin>",
			r == -EINVAL ? "contains a NUL byte" : strerror(-r));
		return -1;
	}
	return 0;
}

static void print_error(const char *input, const struct ss_error *err)
{
	char buf[SS_ERROR_MSG_MAX + 64];

	fprintf(stderr, "%s: %s\n", input, ss_error_format(err, buf, sizeof(buf)));
}

/*
 * Open the device of one --dev NAME=SPEC argument and register it.
 * Returns 0, 1 (failure, printed) or 2 (usage error, printed).
 */
static int add_dev(struct table_ctx *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *name, *spec;
	size_t len;
	bool ro = false;
	uint64_t bytes;
	struct ss_error err;
	struct scratch_bdev *sb = NULL;
	int ret = 1;

	if (!eq || eq == arg || !eq[1]) {
		fprintf(stderr, "snapsim table check: --dev '%s': expected NAME=PATH or "
			"NAME=SIZE\n", arg);
		return 2;
	}
	name = strndup(arg, (size_t)(eq - arg));
	spec = strdup(eq + 1);
	if (!name || !spec) {
		fprintf(stderr, "snapsim: out of memory\n");
		goto out;
	}
	len = strlen(spec);
	if (len > 3 && !strcmp(spec + len - 3, ":ro")) {
		ro = true;
		spec[len - 3] = '\0';
	}
	ss_error_clear(&err);
	if (cli_looks_like_size(spec)) {
		int r = cli_parse_size(spec, &bytes);
		if (r < 0 || bytes == 0 || bytes % SECTOR_SIZE) {
			fprintf(stderr, "snapsim table check: --dev '%s': size '%s' %s\n",
				arg, spec, r < 0 ? "is out of range"
					   : bytes == 0 ? "is zero"
					   : "is not a whole number of 512-byte sectors");
			ret = 2;
			goto out;
		}
		sb = scratch_bdev_create(name, bytes >> SECTOR_SHIFT, ro, &c->fx.base);
		if (!sb) {
			fprintf(stderr, "snapsim: out of memory\n");
			goto out;
		}
	} else if (scratch_bdev_open(spec, name, ro, &c->fx.base, &sb, &err) < 0) {
		fprintf(stderr, "snapsim: --dev %s: %s\n", arg, err.msg);
		goto out;
	}
	c->devs[c->nr_devs].name_eq = arg;
	c->devs[c->nr_devs].sb = sb;
	c->nr_devs++;
	if (dm_registry_add_bdev(c->reg, scratch_bdev_bdev(sb), &err) < 0) {
		fprintf(stderr, "snapsim: --dev %s: %s\n", arg, err.msg);
		goto out;
	}
	ret = 0;
out:
	free(name);
	free(spec);
	return ret;
}

/* --create NAME=TABLEFILE. Returns 0, 1 or 2 as add_dev. */
static int create_dev(struct table_ctx *c, const char *arg, unsigned flags)
{
	const char *eq = strchr(arg, '=');
	struct ss_error err;
	char *name, *text = NULL;
	int ret = 1;

	if (!eq || eq == arg || !eq[1]) {
		fprintf(stderr, "snapsim table check: --create '%s': expected "
			"NAME=TABLEFILE\n", arg);
		return 2;
	}
	name = strndup(arg, (size_t)(eq - arg));
	if (!name) {
		fprintf(stderr, "snapsim: out of memory\n");
		return 1;
	}
	if (read_table_file(eq + 1, &text) < 0)
		goto out;
	ss_error_clear(&err);
	if (dm_create(c->reg, name, NULL, text, flags, &err) < 0) {
		print_error(strcmp(eq + 1, "-") ? eq + 1 : "<stdin>", &err);
		goto out;
	}
	fifo_executor_run(&c->fx, 0);
	ret = 0;
out:
	free(text);
	free(name);
	return ret;
}

static int table_check(int argc, char **argv)
{
	struct table_ctx c = { 0 };
	const char *file = NULL;
	const char **creates = NULL;
	size_t nr_creates = 0;
	unsigned flags = 0;
	struct dm_table *t = NULL;
	struct ss_error err;
	char *text = NULL, *printed;
	int ret = CLI_EXIT_USAGE;

	c.devs = calloc((size_t)argc, sizeof(*c.devs));
	creates = calloc((size_t)argc, sizeof(*creates));
	if (!c.devs || !creates) {
		fprintf(stderr, "snapsim: out of memory\n");
		free(c.devs);
		free(creates);
		return CLI_EXIT_FAILURE;
	}
	fifo_executor_init(&c.fx);
	c.reg = dm_registry_create(&c.fx.base);
	if (!c.reg) {
		fprintf(stderr, "snapsim: out of memory\n");
		ret = CLI_EXIT_FAILURE;
		goto out;
	}
	/* Devices are opened as their options are read; tables come after. */
	for (int i = 1; i < argc; i++) {
		const char *v;
		int used;
		if (cli_is_help(argv[i])) {
			fputs(table_usage, stdout);
			ret = CLI_EXIT_OK;
			goto out;
		} else if (cli_long_opt("--dev", argc, argv, i, &v, &used)) {
			if (!v) {
				fprintf(stderr, "snapsim table check: option '--dev' needs "
					"NAME=PATH or NAME=SIZE\n");
				goto out;
			}
			ret = add_dev(&c, v);
			if (ret)
				goto out;
			ret = CLI_EXIT_USAGE;
			i += used - 1;
		} else if (cli_long_opt("--create", argc, argv, i, &v, &used)) {
			if (!v) {
				fprintf(stderr, "snapsim table check: option '--create' needs "
					"NAME=TABLEFILE\n");
				goto out;
			}
			creates[nr_creates++] = v;
			i += used - 1;
		} else if (!strcmp(argv[i], "--read-only") || !strcmp(argv[i], "-r")) {
			flags |= DM_READ_ONLY;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "snapsim table check: unknown option '%s'\n%s",
				argv[i], table_verbs_usage);
			goto out;
		} else if (file) {
			fprintf(stderr, "snapsim table check: unexpected argument '%s' "
				"(one table FILE only)\n", argv[i]);
			goto out;
		} else {
			file = argv[i];
		}
	}
	if (!file) {
		fprintf(stderr, "snapsim table check: missing table FILE (or - for "
			"standard input)\n%s", table_verbs_usage);
		goto out;
	}
	ret = CLI_EXIT_FAILURE;
	for (size_t i = 0; i < nr_creates; i++) {
		int r = create_dev(&c, creates[i], flags);
		if (r) {
			ret = r;
			goto out;
		}
	}
	if (read_table_file(file, &text) < 0)
		goto out;
	ss_error_clear(&err);
	if (dm_table_create(c.reg, text, flags, &t, &err) < 0) {
		print_error(strcmp(file, "-") ? file : "<stdin>", &err);
		goto out;
	}
	fifo_executor_run(&c.fx, 0);
	printed = dm_table_print(t);
	if (!printed) {
		fprintf(stderr, "snapsim: out of memory\n");
		goto out;
	}
	fputs(printed, stdout);
	if (printed[0] && printed[strlen(printed) - 1] != '\n')
		fputc('\n', stdout);
	free(printed);
	ret = CLI_EXIT_OK;
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
	free(creates);
	return ret;
}

int cmd_table(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "snapsim table: missing verb (check)\n%s",
			table_verbs_usage);
		return CLI_EXIT_USAGE;
	}
	if (cli_is_help(argv[1])) {
		fputs(table_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "check"))
		return table_check(argc - 1, argv + 1);
	fprintf(stderr, "snapsim table: unknown verb '%s'\n%s", argv[1],
		table_verbs_usage);
	return CLI_EXIT_USAGE;
}
