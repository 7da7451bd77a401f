/* SPDX-License-Identifier: MIT */
/*
 * path.c - names of things. Canonical: readlinkat, realpath. Forwarders:
 * readlink, __readlink_chk, __readlinkat_chk, __realpath_chk,
 * canonicalize_file_name. glibc's realpath never reaches lstat or readlink, so it
 * is answered from the union's own resolver. readlinkat's prologue is gen.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

/* The link into the caller's buffer through a guarded copy, as verb_fstatat. */
long verb_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	char tmp[PATH_MAX];	/* a link's body is shorter (the kernel's own bound) */
	long n = aufs_readlinkat(dirfd, AUFS_LAUNDER(path), tmp, size < PATH_MAX ? size : PATH_MAX);

	if (n == AUFS_PASS || n == AUFS_PASS_HOST)
		return n;	/* the real call, into the caller's buffer */
	if (n > 0 && aufs_guard_copy(buf, tmp, (size_t)n) < 0)
		return -EFAULT;
	return n;
}

char *shim_realpath(const char *path, char *resolved)
{
	char buf[PATH_MAX];
	char *out;
	int saved, r;

	if (!shim_enter(&saved))
		return REAL(realpath)(path, resolved);
	path = AUFS_LAUNDER(path);
	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	if (!aufs_path_ok(path))	/* glibc reads it (and crashes) or says ENAMETOOLONG */
		return REAL(realpath)(path, resolved);
	r = aufs_realpath(path, buf);
	if (r == AUFS_PASS)
		return REAL(realpath)(path, resolved);
	if (r == AUFS_PASS_HOST)
		return REAL(realpath)(buf, resolved);
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
