/* SPDX-License-Identifier: MIT */
/*
 * namespace.c - names in directories. Canonical: mkdirat, mknodat, symlinkat,
 * linkat, unlinkat, remove, renameat2. Forwarders: mkdir, mknod, __xmknod,
 * __xmknodat, mkfifo, mkfifoat (mknodat with S_IFIFO), symlink, link, unlink,
 * rmdir, renameat, rename. glibc's remove never reaches unlink or rmdir, so it
 * has its own shim. The prologue is gen.c's; the verbs are the core's calls.
 */
#include "shim.h"

long verb_mkdirat(int dirfd, const char *path, mode_t mode)
{
	return aufs_mkdirat(dirfd, AUFS_LAUNDER(path), mode);
}

long verb_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	return aufs_mknodat(dirfd, AUFS_LAUNDER(path), mode, dev);
}

long verb_symlinkat(const char *target, int dirfd, const char *path)
{
	return aufs_symlinkat(target, dirfd, AUFS_LAUNDER(path));
}

long verb_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	return aufs_linkat(olddirfd, AUFS_LAUNDER(oldpath), newdirfd,
				     AUFS_LAUNDER(newpath), flags);
}

long verb_unlinkat(int dirfd, const char *path, int flags)
{
	return aufs_unlinkat(dirfd, AUFS_LAUNDER(path), flags);
}

long verb_remove(const char *path)
{
	int r;

	path = AUFS_LAUNDER(path);
	r = aufs_unlinkat(AT_FDCWD, path, 0);
	if (r == -EISDIR)
		r = aufs_unlinkat(AT_FDCWD, path, AT_REMOVEDIR);	/* as remove(3) does */
	return r;
}

long verb_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		    unsigned int flags)
{
	return aufs_renameat2(olddirfd, AUFS_LAUNDER(oldpath), newdirfd,
					AUFS_LAUNDER(newpath), flags);
}
