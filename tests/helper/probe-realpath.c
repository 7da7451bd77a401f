/* SPDX-License-Identifier: MIT */
/*
 * probe-realpath - realpath(3) only (__realpath_chk in the fortified build, for
 * the call with a buffer):
 *   probe-realpath PATH    prints realpath(PATH, buf), then realpath(PATH, NULL)
 * if the two differ.
 */
#include <limits.h>

#include "probe.h"

int main(int argc, char **argv)
{
	char buf[PATH_MAX], *m;

	if (argc != 2) {
		fprintf(stderr, "usage: probe-realpath PATH\n");
		return 2;
	}
	if (!realpath(argv[1], buf))
		return probe_fail("realpath", errno);
	puts(buf);
	m = realpath(argv[1], NULL);
	if (!m)
		return probe_fail("realpath NULL", errno);
	if (strcmp(m, buf))
		printf("realpath NULL %s\n", m);
	free(m);
	return 0;
}
