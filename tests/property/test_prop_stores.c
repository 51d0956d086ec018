/*
 * test_prop_stores.c - the same generated workload with persistent (P)
 * and transient (N) snapshots: both match the model read for read, and
 * every device reads the same bytes in both at the end. See sim/prop/prop.h.
 */
#include "prop_test.h"

Test(prop_stores, persistent_equals_transient, .timeout = 1200)
{
	prop_test_loop(PROP_STORES, 30, 0);
}
