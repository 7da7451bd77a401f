/* SPDX-License-Identifier: MIT */
/*
 * stat.c - the stat family. Canonical: fstatat, statx. Forwarders (wrapfuncs.def):
 * stat, stat64, lstat, lstat64, fstatat64, and the pre-2.33 __xstat, __xstat64,
 * __lxstat, __lxstat64, __fxstatat, __fxstatat64. fstat and friends take an fd,
 * which is always the real file's: they are not wrapped.
 */
#include "shim.h"

int shim_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	int saved = errno;
	int r;

	if (!aufs_active())
		return REAL(fstatat)(dirfd, path, st, flags);
	path = AUFS_LAUNDER(path);
	r = aufs_fstatat(dirfd, path, st, flags);
	if (r == AUFS_PASS)
		return REAL(fstatat)(dirfd, path, st, flags);
	return (int)aufs_ret(r, saved);
}

int shim_statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *stx)
{
	int saved = errno;
	int r;

	if (!aufs_active())
		return REAL(statx)(dirfd, path, flags, mask, stx);
	path = AUFS_LAUNDER(path);
	if (!path)
		return REAL(statx)(dirfd, path, flags, mask, stx);
	r = aufs_statx(dirfd, path, flags, mask, stx);
	if (r == AUFS_PASS)
		return REAL(statx)(dirfd, path, flags, mask, stx);
	return (int)aufs_ret(r, saved);
}
