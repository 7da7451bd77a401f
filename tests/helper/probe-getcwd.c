/* SPDX-License-Identifier: MIT */
/*
 * probe-getcwd - chdir(2), then getcwd(3) (__getcwd_chk in the fortified build):
 *   probe-getcwd DIR [DIR...]   chdir to each DIR in turn (relative ones from
 *                               the previous) and print getcwd(buf, size) each time
 * At the end: getcwd(NULL, 0) when it differs, and "ERANGE ok" when a buffer
 * one byte too short fails with ERANGE.
 */
#include <limits.h>

#include "probe.h"

int main(int argc, char **argv)
{
	char buf[PATH_MAX], *m;
	volatile size_t size = sizeof(buf);	/* not a constant: the _chk form */
	size_t len;

	if (argc < 2) {
		fprintf(stderr, "usage: probe-getcwd DIR...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (chdir(argv[i]) < 0)
			return probe_fail("chdir", errno);
		if (!getcwd(buf, size))
			return probe_fail("getcwd", errno);
		puts(buf);
	}
	m = getcwd(NULL, 0);
	if (!m)
		return probe_fail("getcwd NULL", errno);
	if (strcmp(m, buf))
		printf("getcwd NULL %s\n", m);
	len = strlen(buf);
	size = len;
	if (getcwd(buf, size))
		printf("getcwd with %zu bytes did not fail\n", len);
	else if (errno == ERANGE)
		puts("ERANGE ok");
	else
		return probe_fail("getcwd short", errno);
	free(m);
	return 0;
}
