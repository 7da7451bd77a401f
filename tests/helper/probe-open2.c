/* SPDX-License-Identifier: MIT */
/*
 * probe-open2 - __open_2 and __openat_2, the entry points of fortified programs
 * (open with flags that are not a compile-time constant and no mode):
 *   probe-open2 PATH rd|wr|append       __open_2 (__open64_2 in the LFS build)
 *   probe-open2 -at DIR NAME rd|wr|append   __openat_2 (__openat64_2)
 * rd prints "read LINE"; wr and append write "open2\n" and print "wrote".
 * Declared here because only fortified headers declare them.
 */
#include "probe.h"

#if defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64
extern int __open64_2(const char *path, int flags);
extern int __openat64_2(int dirfd, const char *path, int flags);
#define OPEN2 __open64_2
#define OPENAT2 __openat64_2
#else
extern int __open_2(const char *path, int flags);
extern int __openat_2(int dirfd, const char *path, int flags);
#define OPEN2 __open_2
#define OPENAT2 __openat_2
#endif

int main(int argc, char **argv)
{
	const char *how;
	int fd, flags;

	if (argc < 3 || (!strcmp(argv[1], "-at") && argc < 5)) {
		fprintf(stderr, "usage: probe-open2 [-at DIR] PATH rd|wr|append\n");
		return 2;
	}
	how = argv[argc - 1];
	if (!strcmp(how, "rd"))
		flags = O_RDONLY;
	else if (!strcmp(how, "wr"))
		flags = O_WRONLY | O_TRUNC;
	else
		flags = O_WRONLY | O_APPEND;
	if (!strcmp(argv[1], "-at"))
		fd = OPENAT2(probe_dirfd(argv[2]), argv[3], flags);
	else
		fd = OPEN2(argv[1], flags);
	if (fd < 0)
		return probe_fail(!strcmp(argv[1], "-at") ? "__openat_2" : "__open_2", errno);
	if (flags == O_RDONLY) {
		probe_print_line("read", fd);
	} else {
		if (write(fd, "open2\n", 6) != 6)
			return probe_fail("write", errno);
		puts("wrote");
	}
	return close(fd) < 0 ? probe_fail("close", errno) : 0;
}
