/* SPDX-License-Identifier: MIT */
/*
 * probe-tmpfile - openat(2) with O_TMPFILE, then linkat(2) of /proc/self/fd/N:
 *   probe-tmpfile DIR NAME
 * Opens an unnamed file in DIR, writes "tmpfile" to it and gives it the name
 * NAME in DIR. Prints "unnamed" after the open and "linked" after the link;
 * "openat: EOPNOTSUPP" (or EISDIR on old kernels) if the file system has none.
 */
#include "probe.h"

int main(int argc, char **argv)
{
	char proc[64];
	int dfd, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: probe-tmpfile DIR NAME\n");
		return 2;
	}
	dfd = probe_dirfd(argv[1]);
	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0640);
	if (fd < 0)
		return probe_fail("openat", errno);
	puts("unnamed");
	if (write(fd, "tmpfile\n", 8) != 8)
		return probe_fail("write", errno);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dfd, argv[2], AT_SYMLINK_FOLLOW) < 0)
		return probe_fail("linkat", errno);
	puts("linked");
	return 0;
}
