/* main.c - the snapsim command: verb dispatch. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: snapsim VERB ...\n");
		return argc < 2 ? 2 : 0;
	}
	fprintf(stderr, "snapsim: unknown verb '%s' (try --help)\n", argv[1]);
	return 2;
}
