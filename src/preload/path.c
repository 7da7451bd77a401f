/* SPDX-License-Identifier: MIT */
/*
 * path.c - names of things. Canonical: readlinkat, realpath. Forwarders:
 * readlink, __readlink_chk, __readlinkat_chk, __realpath_chk,
 * canonicalize_file_name. glibc's realpath never reaches lstat or readlink, so it
 * is answered from the union's own resolver.
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

ssize_t shim_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	int saved = errno;
	bool pass;
	ssize_t r;

	if (!aufs_active())
		return REAL(readlinkat)(dirfd, path, buf, size);
	path = AUFS_LAUNDER(path);
	r = aufs_readlinkat(dirfd, path, buf, size, &pass);
	if (pass)
		return REAL(readlinkat)(dirfd, path, buf, size);
	return aufs_ret(r, saved);
}

char *shim_realpath(const char *path, char *resolved)
{
	int saved = errno;
	char buf[PATH_MAX];
	char *out;
	int r;

	if (!aufs_active())
		return REAL(realpath)(path, resolved);
	path = AUFS_LAUNDER(path);
	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	buf[0] = 0;
	r = aufs_realpath(path, buf);
	if (r == AUFS_PASS)
		return REAL(realpath)(buf[0] ? buf : path, resolved);
	if (r < 0) {
		aufs_ret(r, saved);
		return NULL;
	}
	out = resolved ? resolved : malloc(strlen(buf) + 1);
	if (!out)
		return NULL;
	strcpy(out, buf);
	errno = saved;
	return out;
}
