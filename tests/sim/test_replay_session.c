/*
 * test_replay_session.c - a trace's world kept for a front end's own
 * requests (replay_session.h, what snapsim mount serves): raw reads and
 * writes through the stack, a snapshot keeping its image, EAGAIN for a
 * suspended device and one stacked on it, more steps parsed from text
 * against the trace's names (a create the core refuses leaves the name
 * free), queries answered with their output, and the device list.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay_session.h"

static const char trace_text[] =
	"version: 1\n"
	"name: session\n"
	"seed: 2\n"
	"disks:\n"
	"  - {name: data, size: 1M}\n"
	"  - {name: cow, size: 1M}\n"
	"steps:\n"
	"  - dm: create X_org --table \"0 2048 linear /dev/data 0\"\n"
	"  - dm: create X --table \"0 2048 snapshot-origin /dev/mapper/X_org\"\n"
	"  - write: {dev: X, offset: 0, length: 64K, data: seed-1}\n"
	"  - dm: suspend X\n"
	"  - dm: create S --table \"0 2048 snapshot /dev/mapper/X_org /dev/cow P 8\"\n"
	"  - dm: resume X\n";

static char path[64];

static struct replay_session *open_session(void)
{
	struct replay_session *s = NULL;
	struct replay_result res;
	struct trace_error err;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/snapsim-session-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	f = fdopen(fd, "w");
	cr_assert(f);
	fputs(trace_text, f);
	fclose(f);
	cr_assert_eq(replay_session_open(path, NULL, &s, &res, &err), REPLAY_PASS, "%s",
		     res.failure);
	cr_assert(s);
	unlink(path);
	return s;
}

static int step(struct replay_session *s, const char *text, char **out, bool *syntax,
		char *msg)
{
	return replay_session_step(s, text, out, syntax, msg, 1024);
}

Test(replay_session, writes_and_reads_bytes_through_the_stack)
{
	struct replay_session *s = open_session();
	uint8_t w[4096], r[4096], before[4096];

	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 7 + 1);
	cr_assert_eq(replay_session_io(s, "S", BIO_READ, 0, 8, 8, before), 0);
	cr_assert_eq(replay_session_io(s, "X", BIO_WRITE, BIO_FUA, 8, 8, w), 0);
	cr_assert_eq(replay_session_io(s, "X", BIO_READ, 0, 8, 8, r), 0);
	cr_assert_arr_eq(r, w, sizeof(w));
	cr_assert_eq(replay_session_io(s, "data", BIO_READ, 0, 8, 8, r), 0);
	cr_assert_arr_eq(r, w, sizeof(w), "the origin write is not on its disk");
	cr_assert_eq(replay_session_io(s, "S", BIO_READ, 0, 8, 8, r), 0);
	cr_assert_arr_eq(r, before, sizeof(r), "the snapshot lost its image");
	cr_assert(memcmp(before, w, sizeof(w)));
	cr_assert_eq(replay_session_io(s, "X", BIO_FLUSH, 0, 0, 0, NULL), 0);
	cr_assert_eq(replay_session_io(s, "nosuch", BIO_READ, 0, 0, 8, r), -ENOENT);
	cr_assert_eq(replay_session_io(s, "X", BIO_WRITE, 0, 2048, 8, w), -EIO,
		     "a write past the end must fail");
	replay_session_close(s);
}

Test(replay_session, suspended_devices_refuse_io_at_once)
{
	struct replay_session *s = open_session();
	uint8_t b[512] = { 0 };
	char msg[1024];
	bool syn;

	cr_assert_eq(step(s, "{dm: \"suspend X\"}", NULL, &syn, msg), 0, "%s", msg);
	cr_assert_eq(replay_session_io(s, "X", BIO_WRITE, 0, 0, 1, b), -EAGAIN);
	cr_assert_eq(replay_session_io(s, "X_org", BIO_READ, 0, 0, 1, b), 0);
	cr_assert_eq(step(s, "{dm: \"resume X\"}", NULL, &syn, msg), 0, "%s", msg);
	cr_assert_eq(replay_session_io(s, "X", BIO_WRITE, 0, 0, 1, b), 0);
	/* X is stacked on X_org: suspending the lower device holds X's I/O. */
	cr_assert_eq(step(s, "{dm: \"suspend X_org\"}", NULL, &syn, msg), 0, "%s", msg);
	cr_assert_eq(replay_session_io(s, "X", BIO_READ, 0, 0, 1, b), -EAGAIN);
	cr_assert_eq(replay_session_io(s, "S", BIO_READ, 0, 0, 1, b), -EAGAIN);
	cr_assert_eq(step(s, "{dm: \"resume X_org\"}", NULL, &syn, msg), 0, "%s", msg);
	cr_assert_eq(replay_session_io(s, "X", BIO_READ, 0, 0, 1, b), 0);
	replay_session_close(s);
}

Test(replay_session, steps_from_text_follow_the_trace)
{
	struct replay_session *s = open_session();
	char msg[1024], *out = NULL;
	bool syn;
	int rc;

	cr_assert_eq(step(s, "{status: \"X\"}", &out, &syn, msg), 0, "%s", msg);
	cr_assert_str_eq(out, "0 2048 snapshot-origin ");
	free(out);
	rc = step(s, "{dm: \"bogus X\"}", NULL, &syn, msg);
	cr_assert(rc < 0);
	cr_assert(syn);
	cr_assert(strstr(msg, "control:1:") && strstr(msg, "unknown dm verb"), "%s", msg);
	rc = step(s, "{dm: \"suspend nosuch\"}", NULL, &syn, msg);
	cr_assert(rc < 0 && syn, "a name the trace never defined is the language's error");
	/* The core refuses the table: nothing is created and the name stays free. */
	rc = step(s, "{dm: \"create Y --table \\\"0 100 linear /dev/data 99999\\\"\"}", NULL,
		  &syn, msg);
	cr_assert_eq(rc, -EINVAL, "%s", msg);
	cr_assert(!syn);
	cr_assert(strstr(msg, "too small"), "%s", msg);
	rc = step(s, "{dm: \"create Y --table \\\"0 100 linear /dev/data 0\\\"\"}", NULL, &syn,
		  msg);
	cr_assert_eq(rc, 0, "a refused create must leave its name free: %s", msg);
	cr_assert_eq(step(s, "{dm: \"remove Y\"}", NULL, &syn, msg), 0, "%s", msg);
	rc = step(s, "{dm: \"remove Y\"}", NULL, &syn, msg);
	cr_assert(rc < 0 && syn, "a removed name is gone for the steps after");
	rc = step(s, "{write: {dev: X, length: 8s, data: zero}}", NULL, &syn, msg);
	cr_assert(rc < 0 && syn, "I/O steps are the caller's requests, not text");
	cr_assert_eq(step(s, "settle", NULL, &syn, msg), 0, "%s", msg);
	replay_session_close(s);
}

Test(replay_session, device_list)
{
	struct replay_session *s = open_session();
	struct replay_session_dev *v;
	unsigned n;

	cr_assert_eq(replay_session_devices(s, &v, &n), 0);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(v[0].name, "data");
	cr_assert_str_eq(v[1].name, "cow");
	cr_assert_str_eq(v[2].name, "X_org");
	cr_assert_str_eq(v[3].name, "X");
	cr_assert_str_eq(v[4].name, "S");
	cr_assert(!v[0].is_dm && v[3].is_dm);
	cr_assert_eq(v[3].size_sectors, 2048);
	cr_assert_eq(v[1].size_sectors, 2048);
	cr_assert_eq(v[0].block_bytes, 512);
	cr_assert(v[1].holds_cow && !v[0].holds_cow && !v[3].holds_cow && !v[4].holds_cow);
	free(v);
	replay_session_close(s);
}
