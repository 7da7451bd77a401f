/* SPDX-License-Identifier: MIT */
/*
 * namespace.c - names in directories. Canonical: mkdirat, mknodat, symlinkat,
 * linkat, unlinkat, remove, renameat2. Forwarders: mkdir, mknod, __xmknod,
 * __xmknodat, mkfifo, mkfifoat (mknodat with S_IFIFO), symlink, link, unlink,
 * rmdir, renameat, rename. glibc's remove never reaches unlink or rmdir, so it
 * has its own shim. The prologue is gen.c's; the verbs are the core's calls.
 */
#include <string.h>

#include "shim.h"

long verb_mkdirat(int dirfd, const char *path, mode_t mode)
{
	return aufs_mkdirat(dirfd, AUFS_LAUNDER(path), mode);
}

long verb_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	return aufs_mknodat(dirfd, AUFS_LAUNDER(path), mode, dev);
}

/*
 * The row's kind probes the first path only (gen.c); a second one the kernel
 * cannot read is the kernel's to answer too. It copies both names before it
 * looks at either, so the real call with the caller's pointers says EFAULT.
 */
long verb_symlinkat(const char *target, int dirfd, const char *path)
{
	if (!aufs_path_ok(path))
		return AUFS_PASS;
	return aufs_symlinkat(target, dirfd, AUFS_LAUNDER(path));
}

/*
 * An unreadable new path of link or rename: the kernel looks up the old path
 * first (link: the object; rename: its parent), and only then copies the new
 * one (EFAULT). The real call is given the old path as the kernel would find it
 * in the branches (and the caller's new pointer), so the errors come in the
 * kernel's order. 0 with the path in REAL, AUFS_PASS (outside every union) or
 * -errno (the old path's own error).
 */
static long old_side(int dirfd, const char *path, bool parent, int at, char *real)
{
	char dir[PATH_MAX];
	const char *last;
	size_t len;
	long r;

	if (!parent)
		return verb_real_path(dirfd, path, at, real);
	r = verb_real_path(dirfd, path, AT_SYMLINK_NOFOLLOW, real);
	if (r != -ENOENT)
		return r;
	/* a missing name: what counts is its directory */
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	last = memrchr(path, '/', len);
	if (!last)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(last == path ? 1 : last - path), path);
	r = verb_real_path(dirfd, dir, 0, real);
	if (r == 0 && strlen(real) + len + 2 < PATH_MAX)
		snprintf(real + strlen(real), PATH_MAX - strlen(real), "/%.*s",
			 (int)(len - (size_t)(last ? last + 1 - path : 0)), last ? last + 1 : path);
	return r;
}

long verb_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	if (!aufs_path_ok(newpath)) {
		char real[PATH_MAX];
		long r = old_side(olddirfd, oldpath, false,
				  (flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW, real);

		if (r)
			return r;
		return verb_real(REAL(linkat)(AT_FDCWD, real, newdirfd, newpath,
					      flags & ~AT_EMPTY_PATH));
	}
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
	if (!aufs_path_ok(newpath)) {
		char real[PATH_MAX];
		long r = old_side(olddirfd, oldpath, true, 0, real);

		if (r)
			return r;
		return verb_real(REAL(renameat2)(AT_FDCWD, real, newdirfd, newpath, flags));
	}
	return aufs_renameat2(olddirfd, AUFS_LAUNDER(oldpath), newdirfd,
					AUFS_LAUNDER(newpath), flags);
}
