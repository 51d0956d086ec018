/*
 * test_prop_clean.c - after a generated workload and a clean shutdown,
 * activation rebuilds every snapshot's exception table pair for pair,
 * with the same status, and every device reads what the model says.
 * See sim/prop/prop.h. (The table round trip property is
 * tests/core/test_dm_table.c.)
 */
#include "prop_test.h"

Test(prop_clean, activation_reproduces_exceptions, .timeout = 1200)
{
	prop_test_loop(PROP_CLEAN, 30, 'P');
}
