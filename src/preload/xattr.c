/* SPDX-License-Identifier: MIT */
/*
 * xattr.c - extended attributes, read side: getxattr, lgetxattr, listxattr,
 * llistxattr act on the top-most copy of the object (ls -l probes them for
 * every file). The fd forms need no translation: the fd is the real file's.
 * The prologue is gen.c's; the verbs call the l* forms on the real path, which
 * the union resolved already (following a final symlink or not).
 */
#include <sys/xattr.h>

#include "shim.h"

long verb_getxattr(const char *path, const char *name, void *value, size_t size)
{
	char real[PATH_MAX];
	long r = verb_real_path(AT_FDCWD, path, 0, real);

	return r ? r : verb_real(REAL(lgetxattr)(real, name, value, size));
}

long verb_lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	char real[PATH_MAX];
	long r = verb_real_path(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, real);

	return r ? r : verb_real(REAL(lgetxattr)(real, name, value, size));
}

long verb_listxattr(const char *path, char *list, size_t size)
{
	char real[PATH_MAX];
	long r = verb_real_path(AT_FDCWD, path, 0, real);

	return r ? r : verb_real(REAL(llistxattr)(real, list, size));
}

long verb_llistxattr(const char *path, char *list, size_t size)
{
	char real[PATH_MAX];
	long r = verb_real_path(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, real);

	return r ? r : verb_real(REAL(llistxattr)(real, list, size));
}
