/*
 * cow_undo.c - writing a planned COW repair, and undoing it; see cow_undo.h.
 */
#include "cow_undo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_opts.h"
#include "cli_util.h"
#include "out_file.h"

#define UNDO_MAGIC "snapsim-cow-undo 1\n"
#define COPY_BYTES (1u << 20)

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cow_repair_write_new(int fd, uint64_t size, const char *cow, const char *out, bool force,
			 const struct cow_repair_plan *p)
{
	struct out_file_opts oo = { .force = force, .mode = 0644 };
	struct out_file of;
	uint8_t *buf = malloc(COPY_BYTES);
	int r = 0;

	if (!buf) {
		fprintf(stderr, "snapsim cow check: out of memory\n");
		return -ENOMEM;
	}
	if (out_file_open(&of, out, &oo) < 0) {
		fprintf(stderr, "snapsim cow check: %s\n", of.msg);
		r = -EINVAL;
		goto done;
	}
	for (uint64_t off = 0; off < size && !r;) {
		size_t len = size - off < COPY_BYTES ? (size_t)(size - off) : COPY_BYTES;
		long long n = cli_pread_full(fd, buf, len, off);

		if (n < 0 || (size_t)n != len) {
			fprintf(stderr, "snapsim cow check: %s: read error at byte offset %" PRIu64 "\n", cow, off);
			r = -EIO;
		} else if ((r = cli_pwrite_full(of.fd, buf, len, off)) < 0) {
			fprintf(stderr, "snapsim cow check: %s: write error: %s\n", out, strerror(-r));
		}
		off += len;
	}
	for (size_t i = 0; i < p->nr_edits && !r; i++)
		if ((r = cli_pwrite_full(of.fd, p->edits[i].new_bytes, p->edits[i].len,
					 p->edits[i].off)) < 0)
			fprintf(stderr, "snapsim cow check: %s: write error: %s\n", out, strerror(-r));
	if (!r && (r = out_file_commit(&of)) < 0)
		fprintf(stderr, "snapsim cow check: %s\n", of.msg);
done:
	out_file_close(&of);
	free(buf);
	return r;
}

static int write_undo(const char *undo, bool force, uint64_t size, const struct cow_repair_plan *p)
{
	struct out_file_opts oo = { .force = force, .mode = 0600 };
	struct out_file of;
	char line[96];
	int r;

	if (out_file_open(&of, undo, &oo) < 0) {
		fprintf(stderr, "snapsim cow check: %s\n", of.msg);
		out_file_close(&of);
		return -EINVAL;
	}
	snprintf(line, sizeof(line), UNDO_MAGIC "cow-bytes %" PRIu64 "\n", size);
	r = write_all(of.fd, line, strlen(line));
	for (size_t i = 0; i < p->nr_edits && !r; i++) {
		snprintf(line, sizeof(line), "range %" PRIu64 " %" PRIu32 "\n", p->edits[i].off,
			 p->edits[i].len);
		if (!(r = write_all(of.fd, line, strlen(line))) &&
		    !(r = write_all(of.fd, p->edits[i].old_bytes, p->edits[i].len)) &&
		    !(r = write_all(of.fd, p->edits[i].new_bytes, p->edits[i].len)))
			r = write_all(of.fd, "\n", 1);
	}
	if (!r)
		r = write_all(of.fd, "end\n", 4);
	if (r)
		fprintf(stderr, "snapsim cow check: %s: write error: %s\n", undo, strerror(-r));
	else if ((r = out_file_commit(&of)) < 0)
		fprintf(stderr, "snapsim cow check: %s\n", of.msg);
	out_file_close(&of);
	return r;
}

/*
 * Whether every range of the COW holds want (old or new bytes): 1, or 0
 * after printing the first that does not, or a negative errno when the COW
 * cannot be read (printed too).
 */
static int ranges_hold(int fd, const char *cow, const struct cow_edit *e, size_t n, bool want_new)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = malloc(e[i].len);
		long long got;
		bool same;

		if (!buf) {
			fprintf(stderr, "snapsim cow check: out of memory\n");
			return -ENOMEM;
		}
		got = cli_pread_full(fd, buf, e[i].len, e[i].off);
		if (got < 0) {
			free(buf);
			fprintf(stderr, "snapsim cow check: %s: read error at byte %" PRIu64 ": %s\n", cow,
				e[i].off, strerror((int)-got));
			return (int)got;
		}
		same = got == (long long)e[i].len &&
		       !memcmp(buf, want_new ? e[i].new_bytes : e[i].old_bytes, e[i].len);
		free(buf);
		if (!same) {
			fprintf(stderr, "snapsim cow check: %s: bytes %" PRIu64 "..%" PRIu64 " are not the %s "
				"ones; nothing written\n", cow, e[i].off, e[i].off + e[i].len - 1,
				want_new ? "repaired" : "expected");
			return 0;
		}
	}
	return 1;
}

static int write_ranges(int fd, const char *cow, const struct cow_edit *e, size_t n, bool use_new)
{
	int r = 0;

	for (size_t i = 0; i < n && !r; i++)
		r = cli_pwrite_full(fd, use_new ? e[i].new_bytes : e[i].old_bytes, e[i].len, e[i].off);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (r)
		fprintf(stderr, "snapsim cow check: %s: write error: %s\n", cow, strerror(-r));
	return r;
}

int cow_repair_in_place(const char *cow, uint64_t size, const char *undo, bool force,
			const struct cow_repair_plan *p)
{
	int fd = open(cow, O_RDWR | O_CLOEXEC);
	int r;

	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "snapsim cow check: %s: cannot open for writing: %s\n", cow, strerror(-r));
		return r;
	}
	r = ranges_hold(fd, cow, p->edits, p->nr_edits, false);
	if (r <= 0)
		r = r ? r : -EAGAIN;
	else if (!(r = write_undo(undo, force, size, p)))
		r = write_ranges(fd, cow, p->edits, p->nr_edits, true);
	close(fd);
	return r;
}

/*
 * The text line at d[*pos] (up to its '\n'): "WORD A" or "WORD A B" with
 * decimal numbers. Binary bytes follow lines, so no scanf whitespace rules.
 */
static bool parse_line(const char *d, size_t len, size_t *pos, const char *word, int nr,
		       unsigned long long *a, unsigned long long *b)
{
	const char *nl = memchr(d + *pos, '\n', len - *pos);
	size_t wl = strlen(word);
	char line[96], *p, *end;

	if (!nl || (size_t)(nl - (d + *pos)) >= sizeof(line))
		return false;
	memcpy(line, d + *pos, (size_t)(nl - (d + *pos)));
	line[nl - (d + *pos)] = '\0';
	if (strncmp(line, word, wl) || line[wl] != ' ')
		return false;
	p = line + wl + 1;
	for (int i = 0; i < nr; i++) {
		if (*p < '0' || *p > '9')
			return false;
		errno = 0;
		*(i ? b : a) = strtoull(p, &end, 10);
		if (errno || (i + 1 < nr ? *end != ' ' : *end != '\0'))
			return false;
		p = end + 1;
	}
	*pos = (size_t)(nl - d) + 1;
	return true;
}

/* Parse an undo file held in memory (len bytes). 0 or -EINVAL with *where set. */
static int parse_undo(char *d, size_t len, uint64_t *size, struct cow_edit **edits, size_t *n,
		      const char **where)
{
	size_t pos = strlen(UNDO_MAGIC);
	unsigned long long v1, v2 = 0;

	*edits = NULL;
	*n = 0;
	if (len < pos || memcmp(d, UNDO_MAGIC, pos)) {
		*where = "not a snapsim COW undo file (version 1)";
		return -EINVAL;
	}
	if (!parse_line(d, len, &pos, "cow-bytes", 1, &v1, NULL)) {
		*where = "bad cow-bytes line";
		return -EINVAL;
	}
	*size = v1;
	for (;;) {
		struct cow_edit *ne;

		if (len - pos == 4 && !memcmp(d + pos, "end\n", 4))
			return 0;
		if (!parse_line(d, len, &pos, "range", 2, &v1, &v2) || !v2 || v2 > UINT32_MAX ||
		    len - pos < 2 * v2 + 1 || d[pos + 2 * v2] != '\n' || v1 + v2 > *size) {
			*where = "bad or truncated range";
			return -EINVAL;
		}
		ne = realloc(*edits, (*n + 1) * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		*edits = ne;
		ne[*n] = (struct cow_edit){ .off = v1, .len = (uint32_t)v2,
					   .old_bytes = (uint8_t *)d + pos,
					   .new_bytes = (uint8_t *)d + pos + v2 };
		(*n)++;
		pos += 2 * v2 + 1;
	}
}

static void undo_usage(FILE *out)
{
	fputs("usage: snapsim cow undo COW UNDO [-q]\n"
	      "\n"
	      "Put back the bytes a `cow check --repair --undo UNDO` changed in COW.\n"
	      "Refuses (writing nothing) unless COW has the size it had then and every\n"
	      "changed range still holds the repaired bytes.\n"
	      "\n"
	      "Options:\n"
	      "  -q, --quiet    print errors only\n"
	      "  --version      print the version and exit\n"
	      "  -h, --help     print this help and exit\n"
	      "\n"
	      "Exit status:\n"
	      "  0  restored\n"
	      "  1  refused: COW is not the image UNDO was written for (another size,\n"
	      "     or a range no longer holds the repaired bytes); nothing written\n"
	      "  2  usage error\n"
	      "  3  bad input: COW or UNDO missing or unreadable, UNDO not an undo file\n"
	      "  4  I/O error while reading or writing COW\n", out);
}

int cmd_cow_undo(int argc, char **argv)
{
	static const struct option longopts[] = { CLI_COMMON_OPTIONS, CLI_OPTIONS_END };
	struct cli_verb v = CLI_VERB("cow undo", undo_usage);
	struct cow_edit *edits = NULL;
	const char *where = "", *cow, *undo;
	uint64_t want = 0, have;
	char *d = NULL;
	size_t len, n = 0;
	int fd, ret = CLI_EXIT_INPUT, opt;

	cli_begin(&v, argc, argv);
	while ((opt = cli_getopt(&v, argc, argv, "", longopts)) != CLI_OPT_END)
		if (opt == CLI_OPT_EXIT)
			return v.exit;
	if (argc - optind != 2)
		return cli_usage_error(&v, "needs COW and UNDO");
	cow = argv[optind];
	undo = argv[optind + 1];
	fd = open(undo, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || cli_fd_size(fd, &have) < 0 || !(d = malloc(have + 1)) ||
	    cli_pread_full(fd, d, have, 0) != (long long)have) {
		int e = fd < 0 ? errno : d ? EIO : ENOMEM;

		fprintf(stderr, "snapsim cow check: %s: cannot read: %s\n", undo, strerror(e));
		ret = cli_exit_for_input_errno(-e);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	len = (size_t)have;
	d[len] = '\0';
	if (parse_undo(d, len, &want, &edits, &n, &where) < 0) {
		fprintf(stderr, "snapsim cow check: %s: %s\n", undo, where);
		goto out;
	}
	fd = open(cow, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = cli_exit_for_input_errno(-errno);
		fprintf(stderr, "snapsim cow check: %s: cannot open for writing: %s\n", cow, strerror(errno));
		goto out;
	}
	ret = CLI_EXIT_FAILED;
	if (cli_fd_size(fd, &have) < 0) {
		fprintf(stderr, "snapsim cow check: %s: cannot read its size: %s\n", cow, strerror(errno));
		ret = CLI_EXIT_IO;
	} else if (have != want) {
		fprintf(stderr, "snapsim cow check: %s: is %" PRIu64 " bytes, the undo file is for %" PRIu64
			" bytes; nothing written\n", cow, have, want);
	} else {
		int h = ranges_hold(fd, cow, edits, n, true);

		if (h < 0)
			ret = CLI_EXIT_IO;
		else if (h > 0 && write_ranges(fd, cow, edits, n, false))
			ret = CLI_EXIT_IO;
		else if (h > 0) {
			if (!v.quiet)
				printf("%s: restored %zu range(s) from %s\n", cow, n, undo);
			ret = CLI_EXIT_OK;
		}
	}
	close(fd);
out:
	free(edits);
	free(d);
	return ret;
}
