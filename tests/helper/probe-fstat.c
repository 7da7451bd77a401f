/* SPDX-License-Identifier: MIT */
/*
 * probe-fstat - fstat(2) only (fstat64 in the LFS build):
 *   probe-fstat PATH [dir|dup]
 * PATH is opened O_RDONLY (with "dir" O_DIRECTORY; with "dup" the descriptor is
 * dup'ed and the copy asked); prints "TYPE DEV INO" of fstat, then of stat.
 */
#include "probe.h"

int main(int argc, char **argv)
{
	struct stat fst, st;
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: probe-fstat PATH [dir|dup]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | (argc > 2 && !strcmp(argv[2], "dir") ? O_DIRECTORY : 0));
	if (fd < 0)
		return probe_fail("open", errno);
	if (argc > 2 && !strcmp(argv[2], "dup")) {
		int copy = dup(fd);

		close(fd);
		fd = copy;
	}
	if (fstat(fd, &fst) < 0)
		return probe_fail("fstat", errno);
	if (stat(argv[1], &st) < 0)
		return probe_fail("stat", errno);
	printf("%s %llu %llu\n", probe_type(fst.st_mode), (unsigned long long)fst.st_dev,
	       (unsigned long long)fst.st_ino);
	printf("%s %llu %llu\n", probe_type(st.st_mode), (unsigned long long)st.st_dev,
	       (unsigned long long)st.st_ino);
	return 0;
}
