/* fifo_executor.c - a FIFO executor: deferred work runs in deferral order. */
#include "fifo_executor.h"

#include <errno.h>
#include <stdlib.h>

struct fifo_item {
	struct fifo_item *next;
	executor_fn *fn;
	void *ctx;
};

static int fifo_defer(struct executor *ex, executor_fn *fn, void *ctx)
{
	struct fifo_executor *fx = (struct fifo_executor *)ex;
	struct fifo_item *it = malloc(sizeof(*it));

	if (!it)
		return -ENOMEM;
	it->next = NULL;
	it->fn = fn;
	it->ctx = ctx;
	if (fx->tail)
		fx->tail->next = it;
	else
		fx->head = it;
	fx->tail = it;
	fx->queued++;
	return 0;
}

static const struct executor_ops fifo_ops = {
	.defer = fifo_defer,
};

void fifo_executor_init(struct fifo_executor *fx)
{
	fx->base.ops = &fifo_ops;
	fx->head = NULL;
	fx->tail = NULL;
	fx->queued = 0;
}

void fifo_executor_destroy(struct fifo_executor *fx)
{
	struct fifo_item *it = fx->head;

	while (it) {
		struct fifo_item *next = it->next;
		free(it);
		it = next;
	}
	fx->head = fx->tail = NULL;
	fx->queued = 0;
}

bool fifo_executor_run_one(struct fifo_executor *fx)
{
	struct fifo_item *it = fx->head;

	if (!it)
		return false;
	fx->head = it->next;
	if (!fx->head)
		fx->tail = NULL;
	fx->queued--;
	executor_fn *fn = it->fn;
	void *ctx = it->ctx;
	free(it);
	fn(ctx);
	return true;
}

size_t fifo_executor_run(struct fifo_executor *fx, size_t max)
{
	size_t n = 0;

	while ((max == 0 || n < max) && fifo_executor_run_one(fx))
		n++;
	return n;
}
