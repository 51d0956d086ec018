/*
 * rand4k.c - random 4 KiB writes for bench/mount/run.sh (fio is not
 * installed here): N pwrites of 4 KiB at 4 KiB-aligned offsets drawn from a
 * fixed-seed xorshift over the file's first SIZE bytes, optionally with
 * O_DSYNC, then one fsync. Prints "IOPS MB/s seconds".
 *
 * Usage: rand4k FILE SIZE_MIB COUNT [dsync]
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static uint8_t buf[4096];
	uint64_t x = 88172645463325252ull, blocks;
	struct timespec a, b;
	long count;
	double s;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: rand4k FILE SIZE_MIB COUNT [dsync]\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY | (argc > 4 && !strcmp(argv[4], "dsync") ? O_DSYNC : 0));
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	blocks = (uint64_t)atol(argv[2]) * 256;
	count = atol(argv[3]);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < count; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[0] = (uint8_t)i;
		if (pwrite(fd, buf, sizeof(buf), (off_t)((x % blocks) * 4096)) != sizeof(buf)) {
			perror("pwrite");
			return 1;
		}
	}
	if (fsync(fd)) {
		perror("fsync");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.0f %.1f %.3f\n", count / s, count * 4096.0 / s / 1e6, s);
	close(fd);
	return 0;
}
