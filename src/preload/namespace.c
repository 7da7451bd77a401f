/* SPDX-License-Identifier: MIT */
/*
 * namespace.c - names in directories. Canonical: mkdirat, mknodat, symlinkat,
 * linkat, unlinkat, remove, renameat2. Forwarders: mkdir, mknod, __xmknod,
 * __xmknodat, mkfifo, mkfifoat (mknodat with S_IFIFO), symlink, link, unlink,
 * rmdir, renameat, rename. glibc's remove never reaches unlink or rmdir, so it
 * has its own shim.
 */
#include "shim.h"

int shim_mkdirat(int dirfd, const char *path, mode_t mode)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(mkdirat)(dirfd, path, mode), aufs_mkdirat(dirfd, path, mode));
}

int shim_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(mknodat)(dirfd, path, mode, dev), aufs_mknodat(dirfd, path, mode, dev));
}

int shim_symlinkat(const char *target, int dirfd, const char *path)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(symlinkat)(target, dirfd, path), aufs_symlinkat(target, dirfd, path));
}

int shim_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	oldpath = AUFS_LAUNDER(oldpath);
	newpath = AUFS_LAUNDER(newpath);
	AUFS_PATH_SHIM(REAL(linkat)(olddirfd, oldpath, newdirfd, newpath, flags),
		       aufs_linkat(olddirfd, oldpath, newdirfd, newpath, flags));
}

int shim_unlinkat(int dirfd, const char *path, int flags)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(unlinkat)(dirfd, path, flags), aufs_unlinkat(dirfd, path, flags));
}

int shim_remove(const char *path)
{
	int saved = errno;
	int r;

	if (!aufs_active())
		return REAL(remove)(path);
	path = AUFS_LAUNDER(path);
	r = aufs_unlinkat(AT_FDCWD, path, 0);
	if (r == -EISDIR)
		r = aufs_unlinkat(AT_FDCWD, path, AT_REMOVEDIR);	/* as remove(3) does */
	if (r == AUFS_PASS)
		return REAL(remove)(path);
	return (int)aufs_ret(r, saved);
}

int shim_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		   unsigned int flags)
{
	oldpath = AUFS_LAUNDER(oldpath);
	newpath = AUFS_LAUNDER(newpath);
	AUFS_PATH_SHIM(REAL(renameat2)(olddirfd, oldpath, newdirfd, newpath, flags),
		       aufs_renameat2(olddirfd, oldpath, newdirfd, newpath, flags));
}
