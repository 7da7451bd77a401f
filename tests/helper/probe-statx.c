/* SPDX-License-Identifier: MIT */
/*
 * probe-statx - statx(2) only:
 *   probe-statx DIR NAME [nofollow|empty]
 * DIR is opened with O_DIRECTORY ("-" is AT_FDCWD); prints "TYPE SIZE INO" like
 * probe-fstatat, and "mask" if STATX_BASIC_STATS came back incomplete.
 */
#include "probe.h"

int main(int argc, char **argv)
{
	struct statx stx;
	int fd, flags = AT_STATX_SYNC_AS_STAT;

	if (argc < 3) {
		fprintf(stderr, "usage: probe-statx DIR NAME [nofollow|empty]\n");
		return 2;
	}
	fd = probe_dirfd(argv[1]);
	if (argc > 3 && !strcmp(argv[3], "nofollow"))
		flags |= AT_SYMLINK_NOFOLLOW;
	if (argc > 3 && !strcmp(argv[3], "empty"))
		flags |= AT_EMPTY_PATH;
	if (statx(fd, argv[2], flags, STATX_BASIC_STATS, &stx) < 0)
		return probe_fail("statx", errno);
	printf("%s %lld %llu\n", probe_type(stx.stx_mode), (long long)stx.stx_size,
	       (unsigned long long)stx.stx_ino);
	if ((stx.stx_mask & STATX_BASIC_STATS) != STATX_BASIC_STATS)
		printf("mask %#x\n", stx.stx_mask);
	return 0;
}
