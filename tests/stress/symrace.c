/* SPDX-License-Identifier: MIT */
/*
 * symrace - the race between a tenant who swaps a directory of its branch for a
 * symlink and a process that writes through the union (issue 16, item 2).
 *
 *   symrace swap DIR LINK SECONDS   exchange DIR and LINK (renameat2 RENAME_EXCHANGE)
 *                                   as fast as possible, an even number of times
 *   symrace write DIR SECONDS       write in DIR for SECONDS (under the library):
 *                                   creates, copy-ups, whiteouts, mkdir, rename,
 *                                   chmod, truncate, symlink in turn
 *
 * The union resolves a virtual path to a real path in a branch and hands that
 * string to the kernel, which walks it again: a symlink swapped in between is
 * followed by the kernel, not by the union's rules, and a write lands where
 * the symlink's target lies relative to the branch, outside every branch. The
 * test (t9003) counts what lands there; the union is right when it is nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

		/*
		 * Every kind of write the union makes in a branch directory, in turn:
		 * a create, a copy-up (append to a base file b.N), a whiteout (unlink
		 * of a base file u.N), an mkdir, a rename of a base file (copy-up,
		 * whiteout, rename), a chmod and a truncate (copy-ups), a symlink.
		 * The base holds N = 0..999 of each (t9003 makes them).
		 */
		for (int i = 0; time(NULL) < end; i++) {
			char p[4096], q[4096];
			int fd, k = (i / 8) % 1000, r = -1;

			switch (i % 8) {
			case 0:
				snprintf(p, sizeof(p), "%s/v.%d", argv[2], i);
				fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
				r = fd < 0 ? -1 : close(fd);
				break;
			case 1:
				snprintf(p, sizeof(p), "%s/b.%d", argv[2], k);
				fd = open(p, O_WRONLY | O_APPEND);
				r = fd < 0 ? -1 : (int)write(fd, "x", 1) + close(fd) - 1;
				break;
			case 2:
				snprintf(p, sizeof(p), "%s/u.%d", argv[2], k);
				r = unlink(p);
				break;
			case 3:
				snprintf(p, sizeof(p), "%s/m.%d", argv[2], i);
				r = mkdir(p, 0755);
				break;
			case 4:
				snprintf(p, sizeof(p), "%s/r.%d", argv[2], k);
				snprintf(q, sizeof(q), "%s/r.%d.new", argv[2], i);
				r = rename(p, q);
				break;
			case 5:
				snprintf(p, sizeof(p), "%s/c.%d", argv[2], k);
				r = chmod(p, 0600);
				break;
			case 6:
				snprintf(p, sizeof(p), "%s/t.%d", argv[2], k);
				r = truncate(p, 1);
				break;
			case 7:
				snprintf(p, sizeof(p), "%s/s.%d", argv[2], i);
				r = symlink("target", p);
				break;
			}
			if (r < 0)
				failed++;
			else
				ok++;
		}
		printf("%d writes made, %d failed\n", ok, failed);
		return 0;
	}
	fprintf(stderr, "usage: symrace swap DIR LINK SECONDS | symrace write DIR SECONDS\n");
	return 2;
}
