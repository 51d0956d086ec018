/*
 * cli_util.h - small helpers shared by the snapsim verbs: size parsing, whole-file reads for table text, positioned reads that
 * tolerate EOF, JSON string output and a u64 -> u64 hash map.
 */
#ifndef SNAPSIM_CLI_UTIL_H
#define SNAPSIM_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_exit.h" /* the exit status table of every verb */

/* Whether arg is -h or --help. */
bool cli_is_help(const char *arg);

/*
 * Match a long option: "--name" (value in the next argument) or
 * "--name=value". On a match, *value points at the value (NULL when the
 * option has no next argument) and *consumed is 1 or 2 arguments.
 * Returns false when arg is not this option.
 */
bool cli_long_opt(const char *name, int argc, char **argv, int i,
		  const char **value, int *consumed);

/*
 * Parse a size as traces write it (sim/trace/units.h): decimal digits and
 * a unit: none (512-byte sectors, as in dm tables and traces), "s"
 * (sectors), "B" (bytes), "K"/"KiB", "M"/"MiB", "G"/"GiB", "T"/"TiB"
 * (powers of 1024; "KB", "MB" are refused as ambiguous). Returns 0, -EINVAL
 * (not a size) or -ERANGE (overflow).
 */
int cli_parse_size(const char *s, uint64_t *bytes);

/* Whether s looks like a size (digits followed by a known unit or nothing). */
bool cli_looks_like_size(const char *s);

/*
 * Read all of f into a malloc'd NUL-terminated string. Returns 0 or a
 * negative errno (-EINVAL when the text contains a NUL byte).
 */
int cli_read_stream(FILE *f, char **out);

/* Size in bytes of a regular file or a block device. 0 or negative errno. */
int cli_fd_size(int fd, uint64_t *size_bytes);

/*
 * pread() until len bytes are read or EOF. Returns the number of bytes read
 * (short only at EOF) or a negative errno.
 */
long long cli_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* pwrite() all of buf. Returns 0 or a negative errno. */
int cli_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Create directory path and its missing parents (mkdir -p), mode 0777
 * under the umask. An existing directory is fine. Returns 0 or a negative
 * errno (-ENOTDIR when path or a parent exists and is not a directory).
 */
int cli_mkdir_p(const char *path);

/* Whether all len bytes of p are zero. */
bool cli_is_zero(const void *p, size_t len);

/* Write s as a JSON string literal (with quotes); the writer is cli_json.h. */
void cli_json_string(FILE *out, const char *s);

/*
 * Open-addressing map from a u64 key to a non-zero u64 value; used to find
 * duplicate chunk numbers while scanning COW records.
 */
struct cli_u64map {
	struct cli_u64map_slot *slots;
	size_t cap;    /* power of two, 0 before the first insert */
	size_t count;
};

void cli_u64map_init(struct cli_u64map *m);
void cli_u64map_destroy(struct cli_u64map *m);
/* The value stored for key, or 0. */
uint64_t cli_u64map_get(const struct cli_u64map *m, uint64_t key);
/*
 * Store key -> value (value != 0) unless key is present. Returns 0 (stored),
 * the existing value (> 0) when key was already present, or -ENOMEM.
 */
long long cli_u64map_put(struct cli_u64map *m, uint64_t key, uint64_t value);

/*
 * Resolve an --origin argument: a size (see cli_parse_size) or a path to
 * an image whose size is taken. Returns 0, or a negative errno with a
 * message printed to stderr naming the argument.
 */
int cli_origin_size(const char *verb, const char *arg, uint64_t *bytes);

/*
 * One `--disk NAME=PATH` (snapsim run, snapsim mount) appended to *list
 * (a struct replay_disk_file array, realloc'd; *nr counts it). arg is split
 * in place. Returns 0, -EINVAL when arg is not NAME=PATH, -ENOMEM.
 */
struct replay_disk_file;
int cli_disk_file_add(char *arg, struct replay_disk_file **list, unsigned *nr);

#endif
