/*
 * cmd_help.c - `snapsim help`: a verb's help, its manual page, every
 * manual page, and the bash completion script. Pages and completion are
 * made from the help text the verb itself prints (help_doc.h): the verb
 * runs with --help in a child process whose standard output is read back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "commands.h"
#include "help_doc.h"
#include "verbs.h"

static void help_usage(FILE *out)
{
	fputs("usage: snapsim help [VERB]\n"
	      "       snapsim help --man [VERB] [-o FILE]\n"
	      "       snapsim help --man-dir DIR\n"
	      "       snapsim help --bash-completion [-o FILE]\n"
	      "\n"
	      "Print a verb's help (as `snapsim VERB --help`), its manual page in roff,\n"
	      "every manual page into a directory (snapsim.1, snapsim-replay.1, ...), or the\n"
	      "bash completion script. Pages and completion are made from the help each\n"
	      "verb prints, so they list exactly its options.\n"
	      "\n"
	      "Options:\n"
	      "  --man              the manual page of VERB (of snapsim without VERB)\n"
	      "  --man-dir DIR      write every manual page into DIR (created if missing)\n"
	      "  --bash-completion  the bash completion script\n"
	      "  -o, --output FILE  write to FILE (replaced at the end) instead of stdout\n"
	      "  --version          print the version and exit\n"
	      "  -h, --help         print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  done\n"
	      "  2  usage error (no such verb)\n"
	      "  4  I/O error: a file cannot be written\n", out);
}

/* The help text a leaf prints (malloc'd), read from a child running it. */
static char *capture_help(const struct cli_leaf *leaf)
{
	char words[64], *argv[4], *buf = NULL;
	int fds[2], argc = 0, st;
	size_t len = 0, cap = 0;
	pid_t pid;

	snprintf(words, sizeof(words), "%s", leaf->words);
	argv[argc++] = strtok(words, " ");
	while (argc < 3 && (argv[argc] = strtok(NULL, " ")))
		argc++;
	argv[argc++] = (char *)"--help";
	argv[argc] = NULL;
	if (pipe(fds))
		return NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(CLI_EXIT_IO);
		close(fds[1]);
		st = leaf->run(argc, argv);
		fflush(stdout);
		_exit(st);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb)
				break;
			buf = nb;
			cap += 65536;
		}
		n = read(fds[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !buf) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static char *top_help(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	cli_top_usage(f);
	fclose(f);
	return buf;
}

/* "cow inspect" -> "snapsim-cow-inspect". */
static void page_name(const char *words, char *buf, size_t len)
{
	snprintf(buf, len, "snapsim-%s", words);
	for (char *p = buf; *p; p++)
		if (*p == ' ')
			*p = '-';
}

/* One page: the top page when leaf is NULL. 0 or -errno. */
static int write_man(FILE *out, const struct cli_leaf *leaf)
{
	char page[96], *text = leaf ? capture_help(leaf) : top_help();
	char names[16][96];
	const char *see[16];
	size_t n = 0;

	if (!text)
		return -EIO;
	if (!leaf)
		for (size_t i = 0; i < cli_nr_leaves && i < 16; i++, n++) {
			page_name(cli_leaves[i].words, names[i], sizeof(names[i]));
			see[i] = names[i];
		}
	if (leaf)
		page_name(leaf->words, page, sizeof(page));
	help_write_man(out, leaf ? page : "snapsim", leaf ? leaf->summary :
		       "a userspace device-mapper stack, disk simulator and crash explorer",
		       text, see, n);
	free(text);
	return ferror(out) ? -EIO : 0;
}

static int write_completion(FILE *out)
{
	const char *words[32] = { 0 };
	char *texts[32] = { 0 };
	size_t n = 0;
	int r = 0;

	for (; n < cli_nr_leaves && n < 32; n++) {
		words[n] = cli_leaves[n].words;
		texts[n] = capture_help(&cli_leaves[n]);
		if (!texts[n])
			r = -EIO;
	}
	if (!r)
		help_write_completion(out, words, (const char *const *)texts, n);
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	return r ? r : ferror(out) ? -EIO : 0;
}

/* Write by fn into path: a temporary beside it, renamed over it at the end. */
static int write_file(const char *path, const struct cli_leaf *leaf, bool completion)
{
	char tmp[4200];
	FILE *f;
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.snapsim-%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	r = completion ? write_completion(f) : write_man(f, leaf);
	if (fflush(f) || fsync(fileno(f)))
		r = r ? r : -errno;
	if (fclose(f) && !r)
		r = -EIO;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static int man_dir(struct cli_verb *v, const char *dir)
{
	char path[4200], page[96];
	int r = cli_mkdir_p(dir);

	if (r)
		return cli_errorf(v, CLI_EXIT_IO, NULL, "%s: cannot create: %s", dir, strerror(-r));
	for (size_t i = 0; i <= cli_nr_leaves; i++) {
		const struct cli_leaf *leaf = i < cli_nr_leaves ? &cli_leaves[i] : NULL;

		if (leaf)
			page_name(leaf->words, page, sizeof(page));
		snprintf(path, sizeof(path), "%s/%s.1", dir, leaf ? page : "snapsim");
		r = write_file(path, leaf, false);
		if (r)
			return cli_errorf(v, CLI_EXIT_IO, NULL, "%s: cannot write: %s", path,
					  strerror(-r));
	}
	return CLI_EXIT_OK;
}

int cmd_help(int argc, char **argv)
{
	enum { OPT_MAN = 0x100, OPT_MAN_DIR, OPT_COMPLETION };
	static const struct option longopts[] = {
		CLI_COMMON_OPTIONS,
		{ "man", no_argument, NULL, OPT_MAN },
		{ "man-dir", required_argument, NULL, OPT_MAN_DIR },
		{ "bash-completion", no_argument, NULL, OPT_COMPLETION },
		{ "output", required_argument, NULL, 'o' },
		CLI_OPTIONS_END,
	};
	struct cli_verb v = CLI_VERB("help", help_usage);
	const char *dir = NULL, *output = NULL;
	const struct cli_leaf *leaf = NULL;
	bool man = false, completion = false;
	int opt, used = 0, r;

	cli_begin(&v, argc, argv);
	while ((opt = cli_getopt(&v, argc, argv, "o:", longopts)) != CLI_OPT_END) {
		switch (opt) {
		case CLI_OPT_EXIT:
			return v.exit;
		case OPT_MAN:
			man = true;
			break;
		case OPT_MAN_DIR:
			dir = optarg;
			break;
		case OPT_COMPLETION:
			completion = true;
			break;
		case 'o':
			output = optarg;
			break;
		}
	}
	if (man + completion + !!dir > 1)
		return cli_usage_error(&v, "--man, --man-dir and --bash-completion cannot be used "
				       "together");
	if (optind < argc) {
		leaf = cli_find_leaf(argv + optind, argc - optind, &used);
		if (!leaf)
			return cli_usage_error(&v, "no verb '%s'%s%s", argv[optind],
					       optind + 1 < argc ? " " : "",
					       optind + 1 < argc ? argv[optind + 1] : "");
		if (optind + used < argc)
			return cli_usage_error(&v, "unexpected argument '%s'", argv[optind + used]);
	}
	if ((dir || completion) && leaf)
		return cli_usage_error(&v, "%s takes no VERB", dir ? "--man-dir" : "--bash-completion");
	if (output && !man && !completion)
		return cli_usage_error(&v, "-o goes with --man or --bash-completion");
	if (dir)
		return man_dir(&v, dir);
	if (!man && !completion) {
		char *argv2[4];
		char words[64];
		int n = 0;

		if (!leaf) {
			cli_top_usage(stdout);
			return CLI_EXIT_OK;
		}
		snprintf(words, sizeof(words), "%s", leaf->words);
		argv2[n++] = strtok(words, " ");
		while (n < 2 && (argv2[n] = strtok(NULL, " ")))
			n++;
		argv2[n++] = (char *)"--help";
		argv2[n] = NULL;
		return leaf->run(n, argv2);
	}
	if (output)
		r = write_file(output, leaf, completion);
	else
		r = completion ? write_completion(stdout) : write_man(stdout, leaf);
	if (r)
		return cli_errorf(&v, CLI_EXIT_IO, NULL, "%s: cannot write: %s",
				  output ? output : "standard output", strerror(-r));
	return CLI_EXIT_OK;
}
