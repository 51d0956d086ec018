/* cli_util.c - helpers shared by the snapsim verbs; see cli_util.h. */
#define _GNU_SOURCE
#include "cli_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>
#endif

#include "replay.h"
#include "units.h"

bool cli_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

bool cli_long_opt(const char *name, int argc, char **argv, int i,
		  const char **value, int *consumed)
{
	size_t n = strlen(name);

	if (strncmp(argv[i], name, n) != 0)
		return false;
	if (argv[i][n] == '=') {
		*value = argv[i] + n + 1;
		*consumed = 1;
		return true;
	}
	if (argv[i][n] != '\0')
		return false;
	*value = i + 1 < argc ? argv[i + 1] : NULL;
	*consumed = 2;
	return true;
}

int cli_parse_size(const char *s, uint64_t *bytes)
{
	char why[160];

	/* The traces' parser (units.h), so a size means one thing everywhere. */
	if (units_parse_size(s, bytes, why, sizeof(why)) == 0)
		return 0;
	return strstr(why, "too large") ? -ERANGE : -EINVAL;
}

bool cli_looks_like_size(const char *s)
{
	uint64_t b;
	int r = cli_parse_size(s, &b);

	return r == 0 || r == -ERANGE;
}

int cli_read_stream(FILE *f, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		return -EIO;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	return 0;
}

int cli_fd_size(int fd, uint64_t *size_bytes)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size_bytes = (uint64_t)st.st_size;
		return 0;
	}
#ifdef BLKGETSIZE64
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size_bytes) != 0)
			return -errno;
		return 0;
	}
#endif
	return -EINVAL;
}

long long cli_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (long long)done;
}

int cli_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int cli_mkdir_p(const char *path)
{
	char *buf;
	struct stat st;
	int r = 0;

	if (!*path)
		return -ENOENT;
	buf = strdup(path);
	if (!buf)
		return -ENOMEM;
	/* Each parent in turn, then the whole path. */
	for (char *p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		if (stat(buf, &st) != 0) {
			r = -errno;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(buf);
	return r;
}

bool cli_is_zero(const void *p, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++)
		if (c[i])
			return false;
	return true;
}

void cli_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* ---- u64 map ---- */

struct cli_u64map_slot {
	uint64_t key;
	uint64_t value; /* 0: empty */
};

static size_t u64map_hash(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & mask;
}

void cli_u64map_init(struct cli_u64map *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

void cli_u64map_destroy(struct cli_u64map *m)
{
	free(m->slots);
	cli_u64map_init(m);
}

uint64_t cli_u64map_get(const struct cli_u64map *m, uint64_t key)
{
	if (!m->cap)
		return 0;
	for (size_t i = u64map_hash(key, m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slots[i].value)
			return 0;
		if (m->slots[i].key == key)
			return m->slots[i].value;
	}
}

static void u64map_place(struct cli_u64map_slot *slots, size_t cap,
			 uint64_t key, uint64_t value)
{
	size_t i = u64map_hash(key, cap - 1);

	while (slots[i].value)
		i = (i + 1) & (cap - 1);
	slots[i].key = key;
	slots[i].value = value;
}

long long cli_u64map_put(struct cli_u64map *m, uint64_t key, uint64_t value)
{
	uint64_t old = cli_u64map_get(m, key);

	if (old)
		return (long long)old;
	if ((m->count + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct cli_u64map_slot *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].value)
				u64map_place(ns, ncap, m->slots[i].key,
					     m->slots[i].value);
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	u64map_place(m->slots, m->cap, key, value);
	m->count++;
	return 0;
}

int cli_origin_size(const char *verb, const char *arg, uint64_t *bytes)
{
	int fd, r;

	if (cli_looks_like_size(arg)) {
		r = cli_parse_size(arg, bytes);
		if (r < 0)
			fprintf(stderr, "snapsim %s: --origin %s: size out of range\n", verb, arg);
		return r;
	}
	fd = open(arg, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "snapsim %s: %s: cannot open: %s\n", verb, arg, strerror(-r));
		return r;
	}
	r = cli_fd_size(fd, bytes);
	if (r < 0)
		fprintf(stderr, "snapsim %s: %s: cannot get size: %s\n", verb, arg,
			r == -EINVAL ? "not a regular file or block device"
				     : strerror(-r));
	close(fd);
	return r;
}

int cli_disk_file_add(char *arg, struct replay_disk_file **list, unsigned *nr)
{
	char *eq = strchr(arg, '=');
	struct replay_disk_file *n;

	if (!eq || eq == arg || !eq[1])
		return -EINVAL;
	n = realloc(*list, (*nr + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	*list = n;
	*eq = '\0';
	n[*nr].name = arg;
	n[*nr].path = eq + 1;
	(*nr)++;
	return 0;
}
