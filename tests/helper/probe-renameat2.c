/* SPDX-License-Identifier: MIT */
/*
 * probe-renameat2 - renameat2(2) only:
 *   probe-renameat2 OLDDIR OLD NEWDIR NEW [noreplace|exchange]
 * The dirs are opened with O_DIRECTORY ("-" is AT_FDCWD); prints "ok".
 */
#include "probe.h"

int main(int argc, char **argv)
{
	unsigned int flags = 0;
	int ofd, nfd;

	if (argc < 5) {
		fprintf(stderr, "usage: probe-renameat2 OLDDIR OLD NEWDIR NEW [noreplace|exchange]\n");
		return 2;
	}
	ofd = probe_dirfd(argv[1]);
	nfd = probe_dirfd(argv[3]);
	if (argc > 5 && !strcmp(argv[5], "noreplace"))
		flags = RENAME_NOREPLACE;
	if (argc > 5 && !strcmp(argv[5], "exchange"))
		flags = RENAME_EXCHANGE;
	if (renameat2(ofd, argv[2], nfd, argv[4], flags) < 0)
		return probe_fail("renameat2", errno);
	puts("ok");
	return 0;
}
