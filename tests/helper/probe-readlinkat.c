/* SPDX-License-Identifier: MIT */
/*
 * probe-readlinkat - readlinkat(2) only (__readlinkat_chk in the fortified build):
 *   probe-readlinkat DIR NAME       prints the link's target
 * DIR is opened with O_DIRECTORY ("-" is AT_FDCWD).
 */
#include <limits.h>

#include "probe.h"

int main(int argc, char **argv)
{
	char buf[PATH_MAX];
	volatile size_t size = sizeof(buf) - 1;	/* not a constant: the _chk form */
	ssize_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: probe-readlinkat DIR NAME\n");
		return 2;
	}
	n = readlinkat(probe_dirfd(argv[1]), argv[2], buf, size);
	if (n < 0)
		return probe_fail("readlinkat", errno);
	buf[n] = 0;
	puts(buf);
	return 0;
}
