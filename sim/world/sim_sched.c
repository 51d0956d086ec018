/*
 * sched.c - binary-heap event queue, virtual clock, deferral and event log;
 * see sched.h for the invariants.
 */
#include "sim_sched.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

struct sim_event {
	uint64_t time_ns;
	uint64_t order; /* == seq unless shuffled deferral */
	uint64_t seq;   /* unique; the event's id */
	sim_event_fn *fn;
	void *ctx;
};

static bool ev_before(const struct sim_event *a, const struct sim_event *b)
{
	if (a->time_ns != b->time_ns)
		return a->time_ns < b->time_ns;
	if (a->order != b->order)
		return a->order < b->order;
	return a->seq < b->seq;
}

static void sift_up(struct sim_event *h, size_t i)
{
	struct sim_event e = h[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!ev_before(&e, &h[parent]))
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = e;
}

static void sift_down(struct sim_event *h, size_t len, size_t i)
{
	struct sim_event e = h[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const struct sim_event *best = &e;

		if (l < len && ev_before(&h[l], best)) {
			m = l;
			best = &h[l];
		}
		if (l + 1 < len && ev_before(&h[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = e;
}

/* Remove h[i], keeping the heap property. */
static void heap_remove(struct sim_sched *s, size_t i)
{
	s->len--;
	if (i == s->len)
		return;
	s->heap[i] = s->heap[s->len];
	sift_down(s->heap, s->len, i);
	sift_up(s->heap, i);
}

static uint64_t push(struct sim_sched *s, uint64_t time_ns, uint64_t order_key,
		     bool shuffled, sim_event_fn *fn, void *ctx)
{
	struct sim_event *e;
	uint64_t id;

	if (!fn)
		return 0;
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct sim_event *h = realloc(s->heap, cap * sizeof(*h));

		if (!h)
			return 0;
		s->heap = h;
		s->cap = cap;
	}
	if (time_ns < s->now_ns)
		time_ns = s->now_ns;
	e = &s->heap[s->len];
	e->time_ns = time_ns;
	id = e->seq = s->next_seq++;
	e->order = shuffled ? order_key : e->seq;
	e->fn = fn;
	e->ctx = ctx;
	sift_up(s->heap, s->len++);
	return id;
}

uint64_t sim_sched_at(struct sim_sched *s, uint64_t time_ns, sim_event_fn *fn,
		      void *ctx)
{
	return push(s, time_ns, 0, false, fn, ctx);
}

uint64_t sim_sched_after(struct sim_sched *s, uint64_t delay_ns,
			 sim_event_fn *fn, void *ctx)
{
	uint64_t t = s->now_ns + delay_ns;

	if (t < s->now_ns) /* saturate instead of wrapping into the past */
		t = UINT64_MAX;
	return push(s, t, 0, false, fn, ctx);
}

/*
 * executor.defer: at now, FIFO, unless the options ask for seeded jitter
 * or shuffling. The draws come from SIM_STREAM_SCHED only, and only when
 * those options are on, so FIFO runs draw nothing.
 */
static int sched_defer(struct executor *ex, executor_fn *fn, void *ctx)
{
	struct sim_sched *s = (struct sim_sched *)ex;
	uint64_t t = s->now_ns, key = 0;
	bool shuffled = s->opts.defer_mode == SIM_DEFER_SHUFFLE;

	if (s->opts.defer_jitter_ns_max) {
		uint64_t j = sim_prng_range(&s->prng, 0, s->opts.defer_jitter_ns_max);

		t = t + j < t ? UINT64_MAX : t + j;
	}
	if (shuffled)
		key = sim_prng_next_u64(&s->prng);
	return push(s, t, key, shuffled, fn, ctx) ? 0 : -ENOMEM;
}

static const struct executor_ops sched_executor_ops = {
	.defer = sched_defer,
};

void sim_sched_init(struct sim_sched *s, const struct sim_sched_opts *opts)
{
	memset(s, 0, sizeof(*s));
	s->base.ops = &sched_executor_ops;
	s->next_seq = 1;
	if (opts)
		s->opts = *opts;
	s->prng = sim_prng_stream(s->opts.seed, SIM_STREAM_SCHED);
	s->log_hash = SIM_FNV1A_INIT;
}

void sim_sched_destroy(struct sim_sched *s)
{
	free(s->heap);
	s->heap = NULL;
	s->len = s->cap = 0;
}

bool sim_sched_cancel(struct sim_sched *s, uint64_t id)
{
	for (size_t i = 0; i < s->len; i++) {
		if (s->heap[i].seq == id) {
			heap_remove(s, i);
			return true;
		}
	}
	return false;
}

bool sim_sched_next_time(const struct sim_sched *s, uint64_t *time_ns)
{
	if (!s->len)
		return false;
	*time_ns = s->heap[0].time_ns;
	return true;
}

bool sim_sched_run_one(struct sim_sched *s)
{
	struct sim_event e;

	if (!s->len)
		return false;
	e = s->heap[0];
	heap_remove(s, 0);
	s->now_ns = e.time_ns;
	s->events_run++;
	e.fn(e.ctx);
	return true;
}

enum sim_run_status sim_sched_run(struct sim_sched *s, uint64_t max_events)
{
	uint64_t n = 0;

	s->stop = false;
	for (;;) {
		if (!s->len)
			return SIM_RUN_IDLE;
		if (max_events && n >= max_events)
			return SIM_RUN_BUDGET;
		sim_sched_run_one(s);
		n++;
		if (s->stop) {
			s->stop = false;
			return SIM_RUN_STOPPED;
		}
	}
}

enum sim_run_status sim_sched_run_until(struct sim_sched *s, uint64_t time_ns,
					uint64_t max_events)
{
	uint64_t n = 0;

	s->stop = false;
	while (s->len && s->heap[0].time_ns <= time_ns) {
		if (max_events && n >= max_events)
			return SIM_RUN_BUDGET;
		sim_sched_run_one(s);
		n++;
		if (s->stop) {
			s->stop = false;
			return SIM_RUN_STOPPED;
		}
	}
	if (s->now_ns < time_ns)
		s->now_ns = time_ns;
	return s->len ? SIM_RUN_TIME : SIM_RUN_IDLE;
}

void sim_sched_stop(struct sim_sched *s)
{
	s->stop = true;
}

void sim_sched_set_log(struct sim_sched *s, sim_log_fn *fn, void *ctx)
{
	s->log = fn;
	s->log_ctx = ctx;
}

void sim_sched_logf(struct sim_sched *s, const char *fmt, ...)
{
	char line[SIM_LOG_LINE_MAX];
	char stamp[32];
	va_list ap;
	int n;

	if (!sim_sched_logging(s)) {
		s->log_lines++;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		line[0] = '\0';
	n = snprintf(stamp, sizeof(stamp), "%llu ", (unsigned long long)s->now_ns);
	s->log_hash = sim_fnv1a(s->log_hash, stamp, (size_t)n);
	s->log_hash = sim_fnv1a(s->log_hash, line, strlen(line));
	s->log_hash = sim_fnv1a(s->log_hash, "\n", 1);
	s->log_lines++;
	if (s->log)
		s->log(s->log_ctx, s->now_ns, line);
}
