/* SPDX-License-Identifier: MIT */
/*
 * tmpfile.c - temporary names. Canonical: mkostemps, mkdtemp. Forwarders:
 * mkstemp, mkostemp, mkstemps and their *64 names. glibc's versions never reach
 * open or mkdir, so inside a union they are rebuilt on the union's own open and
 * mkdir: the name is unique in the union's view (a name that exists only in a
 * lower branch counts as taken) and the file lands in the writable branch.
 */
#include <string.h>
#include <sys/random.h>

#include "shim.h"
#include "aufs/sys.h"

#define TRIES 238328	/* 62^3, as glibc */

/* Is TEMPLATE (with its XXXXXX) inside a union? Then we make the name ourselves. */
static bool in_union(const char *tmpl)
{
	struct aufs_loc loc;

	return aufs_resolve(AT_FDCWD, tmpl, AUFS_RESOLVE_NOFOLLOW, &loc) != AUFS_PASS;
}

static void fill(char *x)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[6];

	if (AUFS_SYS(SYS_getrandom, rnd, sizeof(rnd), GRND_NONBLOCK, 0, 0, 0) != sizeof(rnd)) {
		unsigned long v = (unsigned long)__builtin_ia32_rdtsc() ^ (unsigned long)sys_getpid();

		for (int i = 0; i < 6; i++, v >>= 7)
			rnd[i] = (unsigned char)v;
	}
	for (int i = 0; i < 6; i++)
		x[i] = chars[rnd[i] % 62];
}

/* The XXXXXX of TEMPLATE, before a suffix of SUFFIXLEN bytes; NULL if malformed. */
static char *placeholder(char *tmpl, int suffixlen)
{
	size_t len = strlen(tmpl);

	if (suffixlen < 0 || len < 6 + (size_t)suffixlen)
		return NULL;
	tmpl += len - 6 - (size_t)suffixlen;
	return strncmp(tmpl, "XXXXXX", 6) ? NULL : tmpl;
}

int shim_mkostemps(char *tmpl, int suffixlen, int flags)
{
	char *x;

	if (!aufs_active() || !tmpl || !in_union(tmpl))
		return REAL(mkostemps)(tmpl, suffixlen, flags);
	x = placeholder(tmpl, suffixlen);
	if (!x) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < TRIES; i++) {
		int fd;

		fill(x);
		fd = shim_openat(AT_FDCWD, tmpl,
				 (flags & ~O_ACCMODE) | O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

char *shim_mkdtemp(char *tmpl)
{
	char *x;

	if (!aufs_active() || !tmpl || !in_union(tmpl))
		return REAL(mkdtemp)(tmpl);
	x = placeholder(tmpl, 0);
	if (!x) {
		errno = EINVAL;
		return NULL;
	}
	for (int i = 0; i < TRIES; i++) {
		fill(x);
		if (shim_mkdirat(AT_FDCWD, tmpl, 0700) == 0)
			return tmpl;
		if (errno != EEXIST)
			return NULL;
	}
	return NULL;
}
