/*
 * units.h - the one parser for sizes and durations written by people
 * (traces, command-line options).
 *
 * Sizes: a decimal integer followed by a unit. Binary multiples only:
 *   s            sectors of 512 bytes (whatever the disk's sector size)
 *   B            bytes
 *   K k KiB      1024 bytes
 *   M m MiB      1024^2 bytes
 *   G g GiB      1024^3 bytes
 *   T t TiB      1024^4 bytes
 * A bare integer means sectors (as in dm tables). "KB", "MB" ... are
 * refused as ambiguous. Durations: integer + ns | us | ms | s; a bare
 * integer is refused unless it is 0. Overflow is an error, never a wrap.
 */
#ifndef SNAPSIM_UNITS_H
#define SNAPSIM_UNITS_H

#include <stdint.h>

/*
 * Parse a size into bytes. Returns 0, or -EINVAL with *why set to a static
 * message ("unknown unit 'x'" style messages are built into why_buf).
 */
int units_parse_size(const char *text, uint64_t *bytes, char *why, unsigned why_len);
/* Parse a size that must be a whole number of 512-byte sectors. */
int units_parse_sectors(const char *text, uint64_t *sectors, char *why, unsigned why_len);
/* Parse a duration into nanoseconds. */
int units_parse_time(const char *text, uint64_t *ns, char *why, unsigned why_len);
/* Parse a plain unsigned decimal integer (no sign, no unit). */
int units_parse_uint(const char *text, uint64_t *out, char *why, unsigned why_len);

#endif
