/* SPDX-License-Identifier: MIT */
/*
 * xattr.c - extended attributes, read side: getxattr, lgetxattr, listxattr,
 * llistxattr act on the top-most copy of the object (ls -l probes them for
 * every file). The fd forms need no translation: the fd is the real file's.
 */
#include <sys/xattr.h>

#include "shim.h"

#define XATTR_SHIM(name, flags, call_real, ...)                          \
	do {                                                             \
		char real[PATH_MAX];                                     \
		int saved = errno;                                       \
		int r;                                                   \
                                                                         \
		if (!aufs_active())                                      \
			return REAL(name)(path, __VA_ARGS__);            \
		path = AUFS_LAUNDER(path);                               \
		if (!path)                                               \
			return REAL(name)(path, __VA_ARGS__);            \
		r = aufs_real_path(AT_FDCWD, path, flags, real);         \
		if (r == AUFS_PASS)                                      \
			return REAL(name)(path, __VA_ARGS__);            \
		if (r < 0)                                               \
			return aufs_ret(r, saved);                       \
		return call_real(real, __VA_ARGS__);                     \
	} while (0)

ssize_t shim_getxattr(const char *path, const char *name, void *value, size_t size)
{
	XATTR_SHIM(getxattr, 0, REAL(lgetxattr), name, value, size);
}

ssize_t shim_lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	XATTR_SHIM(lgetxattr, AT_SYMLINK_NOFOLLOW, REAL(lgetxattr), name, value, size);
}

ssize_t shim_listxattr(const char *path, char *list, size_t size)
{
	XATTR_SHIM(listxattr, 0, REAL(llistxattr), list, size);
}

ssize_t shim_llistxattr(const char *path, char *list, size_t size)
{
	XATTR_SHIM(llistxattr, AT_SYMLINK_NOFOLLOW, REAL(llistxattr), list, size);
}
