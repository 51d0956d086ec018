/* test_sched.c - ordering, clock, budgets, deferral and the event log. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "sim_sched.h"

struct rec {
	struct sim_sched *s;
	int order[4096];
	uint64_t times[4096];
	int n;
};

struct tag {
	struct rec *r;
	int id;
};

static void record(void *ctx)
{
	struct tag *t = ctx;

	t->r->times[t->r->n] = sim_sched_now(t->r->s);
	t->r->order[t->r->n++] = t->id;
}

Test(sched, orders_by_time_then_insertion)
{
	struct sim_sched s;
	struct rec r = { .s = &s };
	struct tag t[6];
	const uint64_t when[6] = { 50, 10, 50, 10, 0, 50 };

	sim_sched_init(&s, NULL);
	for (int i = 0; i < 6; i++) {
		t[i] = (struct tag){ &r, i };
		cr_assert_neq(sim_sched_at(&s, when[i], record, &t[i]), 0);
	}
	cr_assert_eq(sim_sched_run(&s, 0), SIM_RUN_IDLE);
	const int want[6] = { 4, 1, 3, 0, 2, 5 };
	for (int i = 0; i < 6; i++)
		cr_assert_eq(r.order[i], want[i], "position %d", i);
	cr_assert_eq(r.times[5], 50);
	cr_assert_eq(sim_sched_now(&s), 50);
	sim_sched_destroy(&s);
}

Test(sched, heap_matches_a_sorted_reference)
{
	struct sim_sched s;
	static struct rec r;
	static struct tag t[4096];
	struct sim_prng p = sim_prng_stream(11, SIM_STREAM_WORKLOAD);
	uint64_t when[4096];

	r.s = &s;
	sim_sched_init(&s, NULL);
	for (int i = 0; i < 4096; i++) {
		when[i] = sim_prng_below(&p, 100); /* many ties */
		t[i] = (struct tag){ &r, i };
		sim_sched_at(&s, when[i], record, &t[i]);
	}
	cr_assert_eq(sim_sched_pending(&s), 4096);
	sim_sched_run(&s, 0);
	cr_assert_eq(r.n, 4096);
	for (int i = 1; i < 4096; i++) {
		int a = r.order[i - 1], b = r.order[i];

		cr_assert(when[a] < when[b] || (when[a] == when[b] && a < b),
			  "out of order at %d", i);
	}
	sim_sched_destroy(&s);
}

Test(sched, past_times_mean_now_and_after_is_relative)
{
	struct sim_sched s;
	struct rec r = { .s = &s };
	struct tag a = { &r, 1 }, b = { &r, 2 };

	sim_sched_init(&s, NULL);
	sim_sched_at(&s, 100, record, &a);
	sim_sched_run(&s, 0);
	sim_sched_at(&s, 5, record, &b); /* in the past */
	sim_sched_after(&s, 7, record, &a);
	sim_sched_run(&s, 0);
	cr_assert_eq(r.order[1], 2);
	cr_assert_eq(r.times[1], 100);
	cr_assert_eq(r.times[2], 107);
	sim_sched_destroy(&s);
}

static void reschedule_self(void *ctx)
{
	struct sim_sched *s = ctx;

	sim_sched_after(s, 1, reschedule_self, s);
}

Test(sched, budget_reports_a_hang)
{
	struct sim_sched s;

	sim_sched_init(&s, NULL);
	sim_sched_at(&s, 0, reschedule_self, &s);
	cr_assert_eq(sim_sched_run(&s, 1000), SIM_RUN_BUDGET);
	cr_assert_eq(s.events_run, 1000);
	cr_assert_eq(sim_sched_now(&s), 999);
	cr_assert_eq(sim_sched_run_until(&s, 5000, 10), SIM_RUN_BUDGET);
	sim_sched_destroy(&s);
}

Test(sched, run_until_advances_the_clock)
{
	struct sim_sched s;
	struct rec r = { .s = &s };
	struct tag a = { &r, 1 }, b = { &r, 2 };

	sim_sched_init(&s, NULL);
	sim_sched_at(&s, 10, record, &a);
	sim_sched_at(&s, 30, record, &b);
	cr_assert_eq(sim_sched_run_until(&s, 20, 0), SIM_RUN_TIME);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(sim_sched_now(&s), 20);
	uint64_t next;
	cr_assert(sim_sched_next_time(&s, &next));
	cr_assert_eq(next, 30);
	cr_assert_eq(sim_sched_run_until(&s, 30, 0), SIM_RUN_IDLE);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(sim_sched_run_until(&s, 100, 0), SIM_RUN_IDLE);
	cr_assert_eq(sim_sched_now(&s), 100);
	cr_assert(!sim_sched_next_time(&s, &next));
	cr_assert(!sim_sched_run_one(&s));
	sim_sched_destroy(&s);
}

Test(sched, cancel_removes_only_that_event)
{
	struct sim_sched s;
	struct rec r = { .s = &s };
	struct tag t[5];
	uint64_t id[5];

	sim_sched_init(&s, NULL);
	for (int i = 0; i < 5; i++) {
		t[i] = (struct tag){ &r, i };
		id[i] = sim_sched_at(&s, (uint64_t)(5 - i), record, &t[i]);
	}
	cr_assert(sim_sched_cancel(&s, id[2]));
	cr_assert(!sim_sched_cancel(&s, id[2]));
	cr_assert(!sim_sched_cancel(&s, 12345));
	cr_assert_eq(sim_sched_at(&s, 1, NULL, NULL), 0); /* rejected, not queued */
	sim_sched_run(&s, 0);
	cr_assert_eq(r.n, 4);
	const int want[4] = { 4, 3, 1, 0 };
	for (int i = 0; i < 4; i++)
		cr_assert_eq(r.order[i], want[i]);
	sim_sched_destroy(&s);
}

static void stopper(void *ctx)
{
	sim_sched_stop(ctx);
}

Test(sched, stop_returns_after_the_event)
{
	struct sim_sched s;
	struct rec r = { .s = &s };
	struct tag a = { &r, 1 };

	sim_sched_init(&s, NULL);
	sim_sched_at(&s, 1, stopper, &s);
	sim_sched_at(&s, 2, record, &a);
	cr_assert_eq(sim_sched_run(&s, 0), SIM_RUN_STOPPED);
	cr_assert_eq(r.n, 0);
	cr_assert_eq(sim_sched_run(&s, 0), SIM_RUN_IDLE);
	cr_assert_eq(r.n, 1);
	sim_sched_destroy(&s);
}

struct deferrer {
	struct sim_sched *s;
	struct rec *r;
	struct tag tags[64];
	int ran_inside;
};

static void defer_many(void *ctx)
{
	struct deferrer *d = ctx;

	for (int i = 0; i < 64; i++) {
		d->tags[i] = (struct tag){ d->r, i };
		cr_assert_eq(executor_defer(sim_sched_executor(d->s), record,
					    &d->tags[i]), 0);
		d->ran_inside += d->r->n; /* nothing may run inside defer */
	}
}

Test(sched, defer_is_fifo_at_now_by_default)
{
	struct sim_sched s;
	struct rec r = { .s = &s };
	struct deferrer d = { .s = &s, .r = &r };

	sim_sched_init(&s, NULL);
	sim_sched_at(&s, 40, defer_many, &d);
	sim_sched_run(&s, 0);
	cr_assert_eq(d.ran_inside, 0);
	cr_assert_eq(r.n, 64);
	for (int i = 0; i < 64; i++) {
		cr_assert_eq(r.order[i], i);
		cr_assert_eq(r.times[i], 40);
	}
	sim_sched_destroy(&s);
}

static void run_shuffled(uint64_t seed, uint64_t jitter, struct rec *r)
{
	struct sim_sched s;
	struct sim_sched_opts o = { .seed = seed, .defer_mode = SIM_DEFER_SHUFFLE,
				    .defer_jitter_ns_max = jitter };
	struct deferrer *d = calloc(1, sizeof(*d));

	sim_sched_init(&s, &o);
	r->s = &s;
	d->s = &s;
	d->r = r;
	sim_sched_at(&s, 0, defer_many, d);
	sim_sched_run(&s, 0);
	sim_sched_destroy(&s);
	free(d);
}

Test(sched, shuffled_defer_is_deterministic_per_seed)
{
	static struct rec a, b, c;
	bool permuted = false;

	run_shuffled(5, 0, &a);
	run_shuffled(5, 0, &b);
	run_shuffled(6, 0, &c);
	cr_assert_eq(a.n, 64);
	cr_assert_eq(memcmp(a.order, b.order, sizeof(a.order)), 0);
	cr_assert_neq(memcmp(a.order, c.order, sizeof(a.order)), 0);
	for (int i = 0; i < 64; i++)
		permuted |= a.order[i] != i;
	cr_assert(permuted);
}

Test(sched, defer_jitter_stays_in_bound)
{
	static struct rec a, b;

	run_shuffled(9, 1000, &a);
	run_shuffled(9, 1000, &b);
	cr_assert_eq(memcmp(a.times, b.times, sizeof(a.times)), 0);
	for (int i = 0; i < 64; i++) {
		cr_assert_leq(a.times[i], 1000);
		if (i)
			cr_assert_geq(a.times[i], a.times[i - 1]);
	}
}

struct logcap {
	int lines;
	char last[SIM_LOG_LINE_MAX];
	uint64_t last_ns;
};

static void capture(void *ctx, uint64_t now_ns, const char *line)
{
	struct logcap *c = ctx;

	c->lines++;
	c->last_ns = now_ns;
	snprintf(c->last, sizeof(c->last), "%s", line);
}

Test(sched, log_hook_and_hash)
{
	struct sim_sched a, b;
	struct logcap cap = { 0 };

	sim_sched_init(&a, NULL);
	sim_sched_init(&b, NULL);
	cr_assert_eq(sim_sched_log_hash(&a), sim_sched_log_hash(&b));
	sim_sched_set_log(&a, capture, &cap);
	sim_sched_logf(&a, "disk %s submit %d", "d0", 3);
	sim_sched_logf(&b, "disk %s submit %d", "d0", 3); /* no hook: hash anyway */
	cr_assert_eq(cap.lines, 1);
	cr_assert_str_eq(cap.last, "disk d0 submit 3");
	cr_assert_eq(sim_sched_log_hash(&a), sim_sched_log_hash(&b));
	/* The time is part of the hash. */
	sim_sched_run_until(&b, 5, 0);
	sim_sched_logf(&a, "x");
	sim_sched_logf(&b, "x");
	cr_assert_neq(sim_sched_log_hash(&a), sim_sched_log_hash(&b));
	/* Over-long lines are truncated, not overflowed. */
	char big[1000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sim_sched_logf(&a, "%s", big);
	cr_assert_eq(strlen(cap.last), SIM_LOG_LINE_MAX - 1);
	sim_sched_destroy(&a);
	sim_sched_destroy(&b);
}

Test(sched, two_schedulers_are_independent)
{
	struct sim_sched a, b;
	struct rec ra = { .s = &a }, rb = { .s = &b };
	struct tag ta = { &ra, 1 }, tb = { &rb, 2 };

	sim_sched_init(&a, NULL);
	sim_sched_init(&b, NULL);
	sim_sched_at(&a, 10, record, &ta);
	sim_sched_at(&b, 99, record, &tb);
	sim_sched_run(&a, 0);
	cr_assert_eq(sim_sched_now(&a), 10);
	cr_assert_eq(sim_sched_now(&b), 0);
	cr_assert_eq(sim_sched_pending(&b), 1);
	sim_sched_run(&b, 0);
	cr_assert_eq(ra.n, 1);
	cr_assert_eq(rb.n, 1);
	sim_sched_destroy(&a);
	sim_sched_destroy(&b);
}

Test(sched, destroy_drops_queued_events)
{
	struct sim_sched s;
	struct rec r = { .s = &s };
	struct tag t = { &r, 1 };

	sim_sched_init(&s, NULL);
	for (int i = 0; i < 100; i++)
		sim_sched_at(&s, (uint64_t)i, record, &t);
	sim_sched_destroy(&s); /* ASan checks nothing leaks */
	cr_assert_eq(r.n, 0);
}
