/*
 * dm_args.c - the argument rules every table user shares: the kernel's
 * way of splitting a parameter string into arguments, and the plain
 * unsigned decimal numbers of table lines and target arguments.
 *
 * A leaf below the table language (dm_table.c), the registry and the
 * targets, so that each may use them without calling back into a file
 * that calls it.
 */
#include "dm_target.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

int dm_split_args(char *buf, char **argv, unsigned *offs, unsigned max_args)
{
	char *in = buf;
	unsigned argc = 0;

	for (;;) {
		char *out;

		while (*in && isspace((unsigned char)*in))
			in++;
		if (!*in)
			break;
		if (argc == max_args)
			return -E2BIG;
		if (offs)
			offs[argc] = (unsigned)(in - buf);
		argv[argc++] = in;
		/* Compact in place: out never passes in. */
		out = in;
		while (*in && !isspace((unsigned char)*in)) {
			if (*in == '\\' && in[1])
				in++;
			*out++ = *in++;
		}
		if (*in)
			in++; /* the separator, before out overwrites it */
		*out = '\0';
	}
	return (int)argc;
}

int dm_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	bool range = false;
	const char *p;

	if (!*s)
		return -EINVAL;
	for (p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	for (p = s; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			range = true;
		else
			v = v * 10 + d;
	}
	if (range || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
