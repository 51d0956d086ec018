/*
 * fuzz_sim.c - differential harness: core + simulator against the model.
 *
 * The input bytes decode into a short trace (a fixed stack: a linear origin
 * on a cached, reordering disk, a snapshot-origin and a snapshot on a COW
 * disk; byte 0 picks the store and chunk size), then one operation per two
 * bytes: writes and reads through the origin and the snapshot, flushes,
 * FUA writes, groups of writes in flight together, suspend/resume of the
 * origin, and power cuts (`crash:` markers). The replayer checks every read
 * against the model; at each power cut the harness forks the disks twice
 * (nothing unflushed survives / every completed write survives), rebuilds
 * the stack on each and checks every device against the model's post-crash
 * allowed contents. Any disagreement aborts.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "replay.h"
#include "sim_disk.h"

#define MAX_OPS 48
#define TRACE_MAX (64u * 1024u)

struct out {
	char *buf;
	size_t len;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= TRACE_MAX)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, TRACE_MAX - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < TRACE_MAX - o->len ? (size_t)n : TRACE_MAX - o->len - 1;
}

/* The trace text for these bytes (always a valid trace). */
static size_t decode(const uint8_t *d, size_t n, char *buf)
{
	static const unsigned chunks[] = { 1, 8, 16, 64 };
	struct out o = { buf, 0 };
	unsigned cs = chunks[n ? d[0] & 3 : 0];
	const char *store = n && (d[0] & 4) ? "N" : "P";
	const unsigned size = 256; /* sectors of my_data */
	unsigned seed = 10, ops = 0;
	bool suspended = false;

	emit(&o, "version: 1\nname: fuzz-sim\nseed: %u\ndisks:\n"
		 "  - name: sd1a\n    size: 256s\n    initial: garbage\n    reorder: on\n"
		 "    latency: {min: 1us, max: 50us}\n"
		 "  - name: hdd1\n    size: 1024s\n    initial: zero\n    reorder: on\n"
		 "    latency: {min: 1us, max: 50us}\n"
		 "steps:\n", n > 1 ? d[1] : 1);
	emit(&o, "  - dm: create my_data_org --table \"0 %u linear /dev/sd1a 0\"\n", size);
	emit(&o, "  - write: my_data_org\n    offset: 0\n    length: %us\n    data: seed-1\n", size);
	emit(&o, "  - flush: my_data_org\n");
	emit(&o, "  - dm: create my_data_snap --table \"0 %u snapshot /dev/mapper/my_data_org /dev/hdd1 %s %u\"\n",
	     size, store, cs);
	emit(&o, "  - dm: create my_data --table \"0 %u snapshot-origin /dev/mapper/my_data_org\"\n", size);
	for (size_t i = 2; i + 1 < n && ops < MAX_OPS; i += 2, ops++) {
		unsigned op = d[i] & 15, arg = d[i + 1];
		unsigned off = (arg * 7u) % size, len = 1 + (arg >> 3) % 32;
		const char *dev = (d[i] & 16) ? "my_data_snap" : "my_data";

		if (off + len > size)
			len = size - off;
		if (suspended && op != 9) {
			emit(&o, "  - dm: resume my_data\n");
			suspended = false;
		}
		switch (op) {
		case 0: case 1: case 2: case 3:
			emit(&o, "  - write: %s\n    offset: %us\n    length: %us\n    data: seed-%u\n%s",
			     dev, off, len, ++seed, op == 3 ? "    fua: true\n" : "");
			break;
		case 4: case 5:
			emit(&o, "  - read: %s\n    offset: %us\n    length: %us\n", dev, off, len);
			break;
		case 6:
			emit(&o, "  - flush: %s\n", dev);
			break;
		case 7: /* two writes in flight together, on disjoint sectors:
			 * overlapping writes in flight together have no defined
			 * order (a disk may complete either last), which the
			 * model does not pretend to know */
			emit(&o, "  - parallel:\n"
				 "      - write: my_data\n        offset: %us\n        length: %us\n        data: seed-%u\n"
				 "      - write: %s\n        offset: %us\n        length: 1s\n        data: seed-%u\n",
			     off, len, seed + 1, dev, (off + len + arg % (size - len)) % size, seed + 2);
			seed += 2;
			break;
		case 8: /* origin write racing a snapshot read of the same chunk */
			emit(&o, "  - parallel:\n"
				 "      - read: my_data_snap\n        offset: %us\n        length: %us\n"
				 "      - write: my_data\n        offset: %us\n        length: %us\n        data: seed-%u\n",
			     off, len, off, len, ++seed);
			break;
		case 9:
			if (!suspended) {
				emit(&o, "  - dm: suspend my_data\n");
				suspended = true;
			}
			break;
		default:
			emit(&o, "  - crash: cut%u\n", ops);
			break;
		}
	}
	if (suspended)
		emit(&o, "  - dm: resume my_data\n");
	emit(&o, "  - crash: end\n");
	return o.len;
}

/* The trace being run, printed with any failure so it can be replayed. */
static const char *current_trace;

static void fail_with_trace(const char *what)
{
	if (current_trace)
		fprintf(stderr, "---- trace (save as a .yaml file; snapsim explore reproduces it) ----\n%s----\n",
			current_trace);
	fuzz_fail(what);
}

/* At a power cut: two crash states, each restarted and checked. */
static int on_crash(void *ctx, struct replay_world *w, const struct replay_crash_point *cp)
{
	char msg[1024];
	(void)ctx;
	(void)cp;

	for (int all = 0; all < 2; all++) {
		struct replay_survivors surv[2];
		struct sim_crash_write *lists[2] = { NULL, NULL };
		struct replay_world *r = NULL;
		unsigned nd = replay_world_nr_disks(w);

		if (nd > 2)
			fuzz_fail("unexpected disk count");
		for (unsigned i = 0; i < nd; i++) {
			surv[i].writes = NULL;
			surv[i].nr = 0;
			if (all) {
				struct sim_disk *d = replay_world_disk(w, i);
				size_t np = sim_disk_pending_count(d);
				struct sim_disk_pending *p = calloc(np ? np : 1, sizeof(*p));
				lists[i] = calloc(np ? np : 1, sizeof(*lists[i]));
				if (!p || !lists[i])
					fuzz_fail("out of memory");
				np = sim_disk_pending_list(d, p, np);
				size_t k = 0;
				for (size_t j = 0; j < np; j++)
					if (p[j].completed)
						lists[i][k++] = (struct sim_crash_write){ .id = p[j].id };
				free(p);
				surv[i].writes = lists[i];
				surv[i].nr = k;
			}
		}
		msg[0] = '\0';
		if (replay_world_restart_from(w, surv, &r, msg, sizeof(msg)) != 0)
			fuzz_fail("restart failed");
		if (msg[0]) {
			fprintf(stderr, "activation after power cut: %s\n", msg);
			fail_with_trace("a table failed to activate after a power cut");
		}
		int rc = replay_world_check_all(r, msg, sizeof(msg));
		if (rc != 0) {
			fprintf(stderr, "after power cut (%s survive): %s\n", all ? "completed writes" : "durable only", msg);
			fail_with_trace("a device disagrees with the model after a power cut");
		}
		rc = replay_world_write_read_check(r, 999, 0, msg, sizeof(msg));
		if (rc != 0) {
			fprintf(stderr, "after recovery: %s\n", msg);
			fail_with_trace("a recovered stack disagrees with the model on new I/O");
		}
		replay_world_destroy(r);
		free(lists[0]);
		free(lists[1]);
	}
	return 0;
}

int snapsim_fuzz_one(const uint8_t *data, size_t size)
{
	char *text = malloc(TRACE_MAX);
	struct replay_opts opts;
	struct replay_result res;
	struct trace_error err;
	enum replay_status st;
	size_t len;

	if (!text)
		return 0;
	len = decode(data, size, text);
	current_trace = text;
	memset(&opts, 0, sizeof(opts));
	opts.event_budget = 2000000;
	opts.crash_modes = REPLAY_CRASH_MARKER;
	opts.crash_hook = on_crash;
	trace_error_clear(&err);
	st = replay_run_mem("fuzz-sim.yaml", text, len, &opts, &res, &err);
	if (st != REPLAY_PASS) {
		fprintf(stderr, "%.*s\n%s\n%s\n", (int)len, text, res.failure, err.text);
		fuzz_fail(st == REPLAY_HANG ? "replay hang" : "core and model disagree");
	}
	current_trace = NULL;
	free(text);
	return 0;
}
