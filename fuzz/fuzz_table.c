/*
 * fuzz_table.c - harness for the table parser and every target constructor.
 *
 * Properties (abort when one fails):
 *  1. A table that parses prints back to text that parses to the same table
 *     (print(parse(print(t))) == print(t)).
 *  2. A rejected table carries an error code, a message, and a position
 *     inside the input (line <= lines in the input, column <= length of
 *     that line + 1).
 *  3. A rejected table changes no registry state: the live table of an
 *     existing device is unchanged after a failed load, nothing is staged,
 *     and every device's open count returns to its value before.
 *  4. A snapshot or snapshot-merge line whose origin and COW name one
 *     device, under any two of its spellings (a disk's path or 7:MINOR,
 *     /dev/mapper/N or 254:MINOR), is refused. The spellings are the
 *     harness's own list (spell[] below), not the registry's lookup.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "fifo_executor.h"
#include "fuzz.h"
#include "mem_bdev.h"

#define MAX_INPUT 8192

struct world {
	struct fifo_executor fx;
	struct dm_registry *reg;
	struct mem_bdev *disks[3];
	char *live_table; /* my_data's table text */
};

static struct world *world_get(void)
{
	static struct world w;
	static bool ready;
	static const struct { const char *name; sector_t size; } disks[] = {
		{ "/dev/sd1a", 4096 }, { "/dev/hdd1", 2048 }, { "hdd2", 64 },
	};
	struct ss_error err;

	if (ready)
		return &w;
	fifo_executor_init(&w.fx);
	w.reg = dm_registry_create(&w.fx.base);
	if (!w.reg)
		fuzz_fail("registry creation");
	for (unsigned i = 0; i < 3; i++) {
		w.disks[i] = mem_bdev_create(disks[i].name, disks[i].size, &w.fx.base);
		ss_error_clear(&err);
		if (!w.disks[i] || dm_registry_add_bdev(w.reg, mem_bdev_bdev(w.disks[i]), &err))
			fuzz_fail("disk set-up");
	}
	ss_error_clear(&err);
	if (dm_create(w.reg, "my_data", NULL, "0 1024 linear /dev/sd1a 384", 0, &err))
		fuzz_fail("my_data set-up");
	fifo_executor_run(&w.fx, 0);
	if (dm_table_text(w.reg, "my_data", false, &w.live_table, &err))
		fuzz_fail("my_data table");
	ready = true;
	return &w;
}

/* Every spelling of the harness's devices, and which device it names. */
static const struct { const char *word; int dev; } spell[] = {
	{ "/dev/sd1a", 0 }, { "7:0", 0 }, { "/dev/hdd1", 1 }, { "7:1", 1 },
	{ "hdd2", 2 }, { "7:2", 2 }, { "/dev/mapper/my_data", 3 }, { "254:0", 3 },
};

static int spelled_dev(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(spell) / sizeof(spell[0]); i++)
		if (strlen(spell[i].word) == n && !strncmp(spell[i].word, w, n))
			return spell[i].dev;
	return -1;
}

/* Property 4 over an accepted text: no snapshot line names one device twice. */
static void check_aliases(const char *text)
{
	for (const char *line = text, *nl; line; line = (nl = strchr(line, '\n')) ? nl + 1 : NULL) {
		const char *w[5];
		size_t n[5];
		const char *p = line;
		unsigned k;

		/* Words split as the parser splits them: isspace, so \f \v \r too. */
		for (k = 0; k < 5; k++) {
			while (*p && *p != '\n' && isspace((unsigned char)*p))
				p++;
			if (!*p || *p == '\n' || *p == '#')
				break;
			w[k] = p;
			for (n[k] = 0; p[n[k]] && p[n[k]] != '#' && !isspace((unsigned char)p[n[k]]); n[k]++)
				;
			p += n[k];
		}
		if (k < 5 || !((n[2] == 8 && !strncmp(w[2], "snapshot", 8)) ||
			       (n[2] == 14 && !strncmp(w[2], "snapshot-merge", 14))))
			continue;
		if (spelled_dev(w[3], n[3]) >= 0 && spelled_dev(w[3], n[3]) == spelled_dev(w[4], n[4]))
			fuzz_fail("a snapshot table naming one device as origin and COW was accepted");
	}
}

static void check_position(const char *text, const struct ss_error *err)
{
	unsigned lines = 1, len = 0, cur = 1;
	const char *p;

	if (err->code >= 0)
		fuzz_fail("rejected table without a negative error code");
	if (!err->msg[0])
		fuzz_fail("rejected table without a message");
	if (err->line == 0)
		return; /* table-wide error ("no targets specified") */
	for (p = text; *p; p++)
		if (*p == '\n')
			lines++;
	if (err->line > lines)
		fuzz_fail("error line beyond the input");
	for (p = text; *p && cur < err->line; p++)
		if (*p == '\n')
			cur++;
	while (p[len] && p[len] != '\n')
		len++;
	if (err->column == 0 || err->column > len + 1)
		fuzz_fail("error column outside its line");
}

static void check_unchanged(struct world *w, const unsigned *open_before)
{
	struct ss_error err;
	char *t = NULL;

	for (unsigned i = 0; i < 3; i++)
		if (mem_bdev_bdev(w->disks[i])->open_count != open_before[i])
			fuzz_fail("a rejected table left a device open count changed");
	ss_error_clear(&err);
	if (dm_table_text(w->reg, "my_data", false, &t, &err) || strcmp(t, w->live_table))
		fuzz_fail("a rejected load changed the live table");
	free(t);
	ss_error_clear(&err);
	if (dm_table_text(w->reg, "my_data", true, &t, &err) || strcmp(t, "\n"))
		fuzz_fail("a rejected load staged an inactive table");
	free(t);
}

int snapsim_fuzz_one(const uint8_t *data, size_t size)
{
	struct world *w = world_get();
	struct ss_error err;
	struct dm_table *t = NULL, *t2 = NULL;
	unsigned open_before[3];
	char *text, *p1, *p2;

	if (size > MAX_INPUT)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (unsigned i = 0; i < 3; i++) {
		struct mem_bdev *d = w->disks[i];
		/* A snapshot table initialises its COW: start every case clean. */
		if (d->writes) {
			memset(d->data, 0, (size_t)mem_bdev_bdev(d)->size_sectors * SECTOR_SIZE);
			d->writes = 0;
		}
		open_before[i] = mem_bdev_bdev(d)->open_count;
	}

	ss_error_clear(&err);
	if (dm_table_create(w->reg, text, 0, &t, &err) == 0) {
		check_aliases(text);
		p1 = dm_table_print(t);
		/*
		 * Destroy first: a second snapshot table on the same COW while
		 * the first (not active) one exists is rightly refused
		 * (handover pairing, spec 4.13).
		 */
		dm_table_destroy(t);
		fifo_executor_run(&w->fx, 0);
		ss_error_clear(&err);
		if (!p1 || dm_table_create(w->reg, p1, 0, &t2, &err) != 0)
			fuzz_fail("a printed table does not parse");
		p2 = dm_table_print(t2);
		if (!p2 || strcmp(p1, p2))
			fuzz_fail("parse(print(t)) != t");
		free(p1);
		free(p2);
		dm_table_destroy(t2);
		fifo_executor_run(&w->fx, 0);
	} else {
		check_position(text, &err);
	}

	/* The same text as a load into a live device. */
	ss_error_clear(&err);
	if (dm_load(w->reg, "my_data", text, 0, &err) == 0) {
		check_aliases(text);
		ss_error_clear(&err);
		if (dm_clear(w->reg, "my_data", &err))
			fuzz_fail("clear after load");
	} else {
		check_position(text, &err);
	}
	fifo_executor_run(&w->fx, 0);
	check_unchanged(w, open_before);
	free(text);
	return 0;
}
