/* SPDX-License-Identifier: MIT */
/*
 * stat.c - the stat family. Canonical: fstatat, statx. Forwarders (wrapfuncs.def):
 * stat, stat64, lstat, lstat64, fstatat64, and the pre-2.33 __xstat, __xstat64,
 * __lxstat, __lxstat64, __fxstatat, __fxstatat64; fstat (fstat64, __fxstat,
 * __fxstat64): a descriptor the union opened gets the union's device and inode
 * number, as a stat of its name. The prologue is gen.c's.
 */
#include "shim.h"

/*
 * The union's answer is written to the caller's buffer last, through a guarded
 * copy: a buffer the kernel could not write is its EFAULT, after the lookup's
 * own errors, as the kernel orders them.
 */
long verb_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct stat tmp;
	long r = aufs_fstatat(dirfd, AUFS_LAUNDER(path), &tmp, flags);

	if (r == 0 && aufs_guard_copy(st, &tmp, sizeof(tmp)) < 0)
		return -EFAULT;
	return r;
}

long verb_statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *stx)
{
	path = AUFS_LAUNDER(path);
	if (!path)	/* statx(fd, NULL, AT_EMPTY_PATH): the kernel's own */
		return AUFS_PASS;
	{
		struct statx tmp;
		long r = aufs_statx(dirfd, path, flags, mask, &tmp);

		if (r == 0 && aufs_guard_copy(stx, &tmp, sizeof(tmp)) < 0)
			return -EFAULT;
		return r;
	}
}

long verb_fstat(int fd, struct stat *st)
{
	struct stat tmp;
	long r = aufs_fstat(fd, &tmp);

	if (r == 0 && aufs_guard_copy(st, &tmp, sizeof(tmp)) < 0)
		return -EFAULT;
	return r;
}
