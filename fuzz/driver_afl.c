/*
 * driver_afl.c - AFL++ persistent-mode driver with shared-memory test
 * cases. Build with afl-clang-fast or afl-clang-lto (fuzz/build-afl.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz property failed: %s\n", what);
	abort();
}

__AFL_FUZZ_INIT();

int main(void)
{
#ifdef __AFL_HAVE_MANUAL_CONTROL
	__AFL_INIT();
#endif
	unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;

	while (__AFL_LOOP(10000)) {
		size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
		snapsim_fuzz_one(buf, len);
	}
	return 0;
}
