/*
 * replay_session.h - a trace's world kept after its last step, for a front
 * end (snapsim mount) that goes on with requests of its own: reads and
 * writes of raw bytes, flushes, discards, and more steps given as text
 * (dm commands, queries, settle).
 *
 * The session runs the whole trace first, exactly as replay_run() does
 * (validated, every read of the trace checked against the model). After
 * that, requests are the caller's: each is submitted and the scheduler is
 * run until it completes, one at a time, so the world stays deterministic
 * in the order the caller hands them in. The model is not told of these
 * requests (the caller has no expectations; a replay of a recording of
 * them is where the model checks).
 */
#ifndef SNAPSIM_SIM_REPLAY_SESSION_H
#define SNAPSIM_SIM_REPLAY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replay.h"

struct replay_session;

/*
 * Validate and run the trace at path, then keep its world. Returns
 * REPLAY_PASS with *out set, or the status replay_run() would return
 * (res->failure and err say why; nothing is kept).
 */
enum replay_status replay_session_open(const char *path, const struct replay_opts *opts,
				       struct replay_session **out, struct replay_result *res,
				       struct trace_error *err);
/* Fail what is queued on suspended devices and free everything (the world ends here). */
void replay_session_close(struct replay_session *s);
struct replay_world *replay_session_world(struct replay_session *s);

/* One device the session serves: a disk or a dm device. */
struct replay_session_dev {
	char name[TRACE_NAME_MAX];
	bool is_dm;
	sector_t size_sectors;     /* 0: a dm device without a live table */
	unsigned block_bytes;      /* logical block size */
	bool holds_cow;            /* holds (or held) a COW store: the model never knows its bytes */
	bool discard;              /* accepts discards */
};

/*
 * The devices now: every disk in trace order, then every dm device in
 * creation order. *list is malloc'd (free it). Returns 0 or -ENOMEM.
 */
int replay_session_devices(struct replay_session *s, struct replay_session_dev **list,
			   unsigned *nr);

/*
 * One request to dev (a disk or dm device name): BIO_READ / BIO_WRITE of
 * nr sectors from sector into/from buf (nr * 512 bytes), BIO_FLUSH (sector,
 * nr 0, buf NULL), BIO_DISCARD (buf NULL); flags BIO_FUA / BIO_PREFLUSH.
 * Runs until it completes and returns its status (0 or a negative errno),
 * -ENOENT for an unknown device, -EAGAIN (nothing submitted) when dev or a
 * dm device below it is suspended. A request that cannot complete all the
 * same (held by the core) returns -EINPROGRESS and is kept: it completes
 * later, and replay_session_late() hands it out then.
 */
int replay_session_io(struct replay_session *s, const char *dev, enum bio_op op,
		      unsigned flags, sector_t sector, uint32_t nr, uint8_t *buf);

/* A held request that completed since, for the caller's records. */
typedef void replay_session_late_fn(void *ctx, const char *dev, enum bio_op op,
				    unsigned flags, sector_t sector, uint32_t nr,
				    const uint8_t *data, int status);
/* Hand out (and free) every held request that has completed. */
void replay_session_late(struct replay_session *s, replay_session_late_fn *fn, void *ctx);

/*
 * One more step, given as YAML text (one step: `{dm: "suspend X"}`,
 * `{status: X}`, `settle`, `{crash: NAME}`; no I/O steps), checked as a trace
 * step following the trace (names defined so far) and run. Returns 0 with
 * *out the query's output (malloc'd, without its final newline; NULL for
 * other steps; may be NULL), a negative errno with msg saying why: a step
 * the trace language refuses ("control:1:5: ..."), or the core's error of
 * a dm command (which changes nothing). *is_syntax tells the two apart.
 */
int replay_session_step(struct replay_session *s, const char *text, char **out,
			bool *is_syntax, char *msg, size_t len);

#endif
