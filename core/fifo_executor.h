/*
 * fifo_executor.h - a first-in first-out executor for non-simulated use.
 * Work runs in the order it was deferred, when the owner calls
 * fifo_executor_run(); nothing runs on its own.
 */
#ifndef SNAPSIM_FIFO_EXECUTOR_H
#define SNAPSIM_FIFO_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "executor.h"

struct fifo_item;

struct fifo_executor {
	struct executor base;   /* must be first */
	struct fifo_item *head; /* next to run */
	struct fifo_item *tail;
	size_t queued;
};

void fifo_executor_init(struct fifo_executor *fx);
/* Frees queued items without running them. */
void fifo_executor_destroy(struct fifo_executor *fx);

/* Run one item. Returns false when the queue was empty. */
bool fifo_executor_run_one(struct fifo_executor *fx);
/*
 * Run until the queue is empty or max items ran (0 = no limit).
 * Returns the number of items run.
 */
size_t fifo_executor_run(struct fifo_executor *fx, size_t max);

#endif
