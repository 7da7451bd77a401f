/* SPDX-License-Identifier: MIT */
/*
 * symrace - the race between a tenant who swaps a directory of its branch for a
 * symlink and a process that writes through the union (issue 16, item 2).
 *
 *   symrace swap DIR LINK SECONDS   exchange DIR and LINK (renameat2 RENAME_EXCHANGE)
 *                                   as fast as possible, an even number of times
 *   symrace write DIR SECONDS       create DIR/v.0, DIR/v.1, ... for SECONDS (under
 *                                   the library)
 *
 * The union resolves a virtual path to a real path in a branch and hands that
 * string to the kernel, which walks it again: a symlink swapped in between is
 * followed by the kernel, not by the union's rules, and a create lands where
 * the symlink's target lies relative to the branch, outside every branch. The
 * test (t9003) counts what lands there; the union is right when it is nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "swap")) {
		time_t end = time(NULL) + atoi(argv[4]);
		unsigned long n = 0;

		while (time(NULL) < end || n % 2) {
			if (renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE) < 0) {
				fprintf(stderr, "symrace: exchange %s %s: %s\n", argv[2], argv[3],
					strerror(errno));
				return 2;
			}
			n++;
		}
		printf("%lu exchanges\n", n);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "write")) {
		time_t end = time(NULL) + atoi(argv[3]);
		int ok = 0, failed = 0;
		char p[4096];

		for (int i = 0; time(NULL) < end; i++) {
			int fd;

			snprintf(p, sizeof(p), "%s/v.%d", argv[2], i);
			fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0) {
				failed++;
				continue;
			}
			ok++;
			close(fd);
		}
		printf("%d created, %d failed\n", ok, failed);
		return 0;
	}
	fprintf(stderr, "usage: symrace swap DIR LINK SECONDS | symrace write DIR SECONDS\n");
	return 2;
}
