/* SPDX-License-Identifier: MIT */
/*
 * probe-fstatat - fstatat(2) only (fstatat64 in the LFS build):
 *   probe-fstatat DIR NAME [nofollow|empty]
 * DIR is opened with O_DIRECTORY ("-" is AT_FDCWD); prints "TYPE SIZE INO".
 * "empty" passes AT_EMPTY_PATH (NAME should be "").
 */
#include "probe.h"

int main(int argc, char **argv)
{
	struct stat st;
	int fd, flags = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: probe-fstatat DIR NAME [nofollow|empty]\n");
		return 2;
	}
	fd = probe_dirfd(argv[1]);
	if (argc > 3 && !strcmp(argv[3], "nofollow"))
		flags = AT_SYMLINK_NOFOLLOW;
	if (argc > 3 && !strcmp(argv[3], "empty"))
		flags = AT_EMPTY_PATH;
	if (fstatat(fd, argv[2], &st, flags) < 0)
		return probe_fail("fstatat", errno);
	printf("%s %lld %llu\n", probe_type(st.st_mode), (long long)st.st_size,
	       (unsigned long long)st.st_ino);
	return 0;
}
