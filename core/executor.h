/*
 * executor.h - the only way core/ queues work for later.
 *
 * core/ never blocks and never calls a completion inside the call that
 * submitted the request: it defers it through an executor. The simulator's
 * scheduler implements this interface with a seeded, deterministic order;
 * fifo_executor.c implements it as a plain FIFO for real use.
 */
#ifndef SNAPSIM_EXECUTOR_H
#define SNAPSIM_EXECUTOR_H

typedef void executor_fn(void *ctx);

struct executor;

struct executor_ops {
	/*
	 * Queue fn(ctx) to run later, never inside this call. Returns 0, or
	 * -ENOMEM (nothing queued).
	 */
	int (*defer)(struct executor *ex, executor_fn *fn, void *ctx);
};

struct executor {
	const struct executor_ops *ops;
};

static inline int executor_defer(struct executor *ex, executor_fn *fn, void *ctx)
{
	return ex->ops->defer(ex, fn, ctx);
}

#endif
