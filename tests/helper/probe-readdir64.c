/* SPDX-License-Identifier: MIT */
/*
 * probe-readdir64 - readdir64(3) with telldir(3)/seekdir(3)/rewinddir(3):
 *   probe-readdir64 DIR
 * Prints the names (not . and ..) sorted, one a line, then "seek ok" if seekdir
 * to every cookie telldir gave returns the same entry again, from last to first,
 * and "rewind ok" if rewinddir starts the same listing again.
 */
#include <dirent.h>

#include "probe.h"

#define MAX 4096

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	static char *name[MAX], *sorted[MAX];
	static long pos[MAX];
	struct dirent64 *e;
	DIR *d;
	int n = 0, bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: probe-readdir64 DIR\n");
		return 2;
	}
	d = opendir(argv[1]);
	if (!d)
		return probe_fail("opendir", errno);
	for (;;) {
		long p = telldir(d);

		errno = 0;
		e = readdir64(d);
		if (!e)
			break;
		if (n == MAX)
			return probe_fail("too many entries", E2BIG);
		pos[n] = p;
		name[n++] = strdup(e->d_name);
	}
	if (errno)
		return probe_fail("readdir64", errno);
	for (int i = n - 1; i >= 0; i--) {
		seekdir(d, pos[i]);
		e = readdir64(d);
		if (!e || strcmp(e->d_name, name[i])) {
			printf("seekdir to entry %d (%s) gave %s\n", i, name[i], e ? e->d_name : "(end)");
			bad = 1;
		}
	}
	rewinddir(d);
	e = readdir64(d);
	if (n && (!e || strcmp(e->d_name, name[0]))) {
		printf("rewinddir gave %s, not %s\n", e ? e->d_name : "(end)", name[0]);
		bad = 1;
	}
	closedir(d);
	memcpy(sorted, name, sizeof(*name) * (size_t)n);
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp);
	for (int i = 0; i < n; i++)
		if (strcmp(sorted[i], ".") && strcmp(sorted[i], ".."))
			puts(sorted[i]);
	if (!bad)
		puts("seek ok\nrewind ok");
	return bad;
}
