/*
 * cmd_mount.c - snapsim mount STACK MOUNTPOINT [--record TRACE.yaml]
 * [--force] [-d] [-q]: serve a trace's device stack as files over FUSE
 * (mount/mount.h), and record what programs did as a trace. The recording
 * and its data file go to temporaries renamed into place at unmount
 * (out_file.h); the recorded trace is validated before it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "mount.h"
#include "out_file.h"
#include "replay.h"

static void usage(FILE *out)
{
	fputs("usage: snapsim mount STACK MOUNTPOINT [--disk NAME=PATH... [--create]]\n"
	      "                     [--record TRACE.yaml] [--force] [-d] [-q]\n"
	      "\n"
	      "Run the steps of the trace STACK (traces/README.md) on simulated disks (or on\n"
	      "image files with --disk), then\n"
	      "serve every disk and dm device as the regular file MOUNTPOINT/NAME (FUSE)\n"
	      "until unmounted with fusermount3 -u MOUNTPOINT, SIGINT or SIGTERM. Reads and\n"
	      "writes go through snapsim's targets and stores; fsync is a FLUSH, writes of\n"
	      "a file opened O_SYNC/O_DSYNC are FUA, fallocate(PUNCH_HOLE) a discard.\n"
	      "MOUNTPOINT/control takes dmsetup's words, one command a line (create, load,\n"
	      "suspend, resume, remove, clear, table X | load Y, status, table, info, deps,\n"
	      "settle, crash NAME); reading it returns the answers. Requests are served one\n"
	      "at a time in the order they arrive.\n"
	      "\n"
	      "Options:\n"
	      "  --disk NAME=PATH  run on image files instead of simulated disks, as\n"
	      "                 snapsim run does (every trace disk needs one; the file\n"
	      "                 must exist and hold the disk's size; FLUSH = fdatasync);\n"
	      "                 writes change the files; default: simulated disks\n"
	      "  --create       with --disk: create a missing file, sized from the trace\n"
	      "  --record FILE  write what the programs did as a trace to FILE (STACK's\n"
	      "                 text, then every request in completion order, the control\n"
	      "                 commands, a crash: marker after each flush) and the data\n"
	      "                 written to FILE's name with .data for .yaml, beside it\n"
	      "  --force        replace an existing recording and data file\n"
	      "  -d, --debug    print libfuse's request log\n"
	      "  -q, --quiet    print errors only\n"
	      "  --version      print the version and exit\n"
	      "  -h, --help     print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  served and unmounted; the recording is written\n"
	      "  1  the recording was written but does not validate as a trace\n"
	      "  2  usage error\n"
	      "  3  STACK is missing, invalid, or one of its steps failed\n"
	      "  4  FUSE is unavailable, the mount failed, or the recording cannot be written\n",
	      out);
}

/* TRACE.yaml -> TRACE.data (the data file's path) and its base name. */
static int data_path_of(const char *rec, char *path, size_t len, const char **base)
{
	size_t n = strlen(rec);
	const char *slash;

	if (n > 5 && !strcmp(rec + n - 5, ".yaml"))
		n -= 5;
	else if (n > 4 && !strcmp(rec + n - 4, ".yml"))
		n -= 4;
	if ((size_t)snprintf(path, len, "%.*s.data", (int)n, rec) >= len)
		return -ENAMETOOLONG;
	slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	return 0;
}

/* The verb; *df (the --disk list) is the caller's to free whatever happens. */
static int mount_verb(int argc, char **argv, struct replay_disk_file **df, unsigned *nr)
{
	enum { OPT_RECORD = 0x100, OPT_FORCE, OPT_DISK, OPT_CREATE };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS,
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "create", no_argument, NULL, OPT_CREATE },
		{ "debug", no_argument, NULL, 'd' },
		CLI_OPTIONS_END,
	};
	struct cli_verb v = CLI_VERB("mount", usage);
	struct mount_opts mo = { 0 };
	struct out_file of_yaml, of_data;
	bool opened_yaml = false, opened_data = false, force = false;
	const char *record = NULL, *base = NULL;
	char data_path[4096], msg[2048];
	FILE *fy = NULL, *fd = NULL;
	int opt, rc;

	memset(&of_yaml, 0, sizeof(of_yaml));
	memset(&of_data, 0, sizeof(of_data));
	cli_begin(&v, argc, argv);
	while ((opt = cli_getopt(&v, argc, argv, "d", longopts)) != CLI_OPT_END) {
		if (opt == CLI_OPT_EXIT)
			return v.exit;
		if (opt == OPT_RECORD)
			record = optarg;
		else if (opt == OPT_FORCE)
			force = true;
		else if (opt == 'd')
			mo.debug = true;
		else if (opt == OPT_CREATE)
			mo.create_files = true;
		else if (opt == OPT_DISK) {
			int r = cli_disk_file_add(optarg, df, nr);

			if (r)
				return r == -EINVAL
				       ? cli_usage_error(&v, "--disk %s: expected NAME=PATH", optarg)
				       : cli_errorf(&v, CLI_EXIT_IO, NULL, "out of memory");
		}
	}
	if (mo.create_files && !*nr)
		return cli_usage_error(&v, "--create needs --disk NAME=PATH");
	mo.disk_files = *df;
	mo.nr_disk_files = *nr;
	if (argc - optind != 2)
		return cli_usage_error(&v, argc - optind < 2 ? "missing %s" : "unexpected argument '%s'",
				       argc - optind < 2 ? (argc == optind ? "STACK and MOUNTPOINT"
							    : "MOUNTPOINT")
				       : argv[optind + 2]);
	mo.stack = argv[optind];
	mo.mountpoint = argv[optind + 1];
	mo.quiet = v.quiet;
	{
		struct stat st;

		/* Before anything runs or is created: a mount point is a directory. */
		const char *why = stat(mo.mountpoint, &st)
			? (errno == ENOTCONN ? "a dead FUSE mount (its server was killed): "
			   "fusermount3 -u it first" : strerror(errno))
			: !S_ISDIR(st.st_mode) ? "not a directory" : NULL;

		char up[4200];
		struct stat pst;

		/* A mount on a mount point hides the first one: refused. */
		snprintf(up, sizeof(up), "%s/..", mo.mountpoint);
		if (!why && !stat(up, &pst) && (pst.st_dev != st.st_dev || pst.st_ino == st.st_ino))
			why = "already mounted";
		if (why)
			return cli_errorf(&v, CLI_EXIT_IO,
					  &(struct cli_json_where){ .input = mo.mountpoint },
					  "%s: %s (a mount point is an existing directory, not mounted)",
					  mo.mountpoint, why);
	}
	if (record) {
		struct out_file_opts oo = { .force = force, .mode = 0644 };

		if (data_path_of(record, data_path, sizeof(data_path), &base))
			return cli_usage_error(&v, "--record %s: the name is too long", record);
		if (out_file_open(&of_yaml, record, &oo) < 0)
			return cli_errorf(&v, CLI_EXIT_IO, NULL, "%s", of_yaml.msg);
		opened_yaml = true;
		if (out_file_open(&of_data, data_path, &oo) < 0) {
			rc = cli_errorf(&v, CLI_EXIT_IO, NULL, "%s", of_data.msg);
			out_file_close(&of_yaml);
			return rc;
		}
		opened_data = true;
		/* Streams over copies of the descriptors: the out_files close their own. */
		fy = fdopen(dup(of_yaml.fd), "w");
		fd = fdopen(dup(of_data.fd), "w");
		if (!fy || !fd) {
			rc = cli_errorf(&v, CLI_EXIT_IO, NULL, "--record %s: %s", record,
					strerror(errno));
			goto done;
		}
		mo.record = fy;
		mo.record_data = fd;
		mo.data_name = base;
	}
	rc = mount_run(&mo, msg, sizeof(msg));
	if (rc != MOUNT_OK) {
		rc = cli_errorf(&v, rc, NULL, "%s", msg);
		goto done;
	}
	if (record) {
		struct trace_error err;

		if (fflush(fy) || fflush(fd)) {
			rc = cli_errorf(&v, CLI_EXIT_IO, NULL, "--record %s: %s", record,
					strerror(errno));
			goto done;
		}
		if (out_file_commit(&of_data) < 0) {
			rc = cli_errorf(&v, CLI_EXIT_IO, NULL, "%s", of_data.msg);
			goto done;
		}
		rc = replay_validate(of_yaml.tmp, &err);
		if (out_file_commit(&of_yaml) < 0) {
			rc = cli_errorf(&v, CLI_EXIT_IO, NULL, "%s", of_yaml.msg);
			goto done;
		}
		if (rc) {
			rc = cli_errorf(&v, CLI_EXIT_FAILED, NULL,
					"%s: the recording does not validate as a trace: %s",
					record, err.msg);
			goto done;
		}
		if (!v.quiet)
			fprintf(stderr, "snapsim mount: recorded %s (data %s)\n", record, data_path);
	}
	rc = CLI_EXIT_OK;
done:
	if (fy)
		fclose(fy);
	if (fd)
		fclose(fd);
	if (opened_yaml)
		out_file_close(&of_yaml);
	if (opened_data)
		out_file_close(&of_data);
	return rc;
}

int cmd_mount(int argc, char **argv)
{
	struct replay_disk_file *df = NULL;
	unsigned nr = 0;
	int rc = mount_verb(argc, argv, &df, &nr);

	free(df);
	return rc;
}
