/* SPDX-License-Identifier: MIT */
/*
 * statfs.c - file system figures. Canonical: statfs, statvfs, pathconf.
 * Forwarders: statfs64, __statfs, statvfs64. A union reports its first branch's
 * file system, with the name length shortened by the whiteout prefix (".wh." +
 * NAME must fit). pathconf asks about the branch that holds the object (glibc's
 * never reaches statfs); fpathconf needs nothing: the fd is the branch file's.
 */
#include "shim.h"

int shim_statfs(const char *path, struct statfs *buf)
{
	char real[PATH_MAX];
	int saved = errno;
	int r;

	if (!aufs_active())
		return REAL(statfs)(path, buf);
	path = AUFS_LAUNDER(path);
	if (!path)
		return REAL(statfs)(path, buf);
	real[0] = 0;
	r = aufs_statfs_path(path, real);
	if (r == AUFS_PASS)
		return REAL(statfs)(real[0] ? real : path, buf);
	if (r < 0)
		return (int)aufs_ret(r, saved);
	r = REAL(statfs)(real, buf);
	if (r == 0 && buf->f_namelen > AUFS_WH_PREFIX_LEN)
		buf->f_namelen -= AUFS_WH_PREFIX_LEN;
	return r;
}

int shim_statvfs(const char *path, struct statvfs *buf)
{
	char real[PATH_MAX];
	int saved = errno;
	int r;

	if (!aufs_active())
		return REAL(statvfs)(path, buf);
	path = AUFS_LAUNDER(path);
	if (!path)
		return REAL(statvfs)(path, buf);
	real[0] = 0;
	r = aufs_statfs_path(path, real);
	if (r == AUFS_PASS)
		return REAL(statvfs)(real[0] ? real : path, buf);
	if (r < 0)
		return (int)aufs_ret(r, saved);
	r = REAL(statvfs)(real, buf);
	if (r == 0 && buf->f_namemax > AUFS_WH_PREFIX_LEN)
		buf->f_namemax -= AUFS_WH_PREFIX_LEN;
	return r;
}

long shim_pathconf(const char *path, int name)
{
	char real[PATH_MAX];
	int saved = errno, r;
	long v;

	if (!aufs_active())
		return REAL(pathconf)(path, name);
	path = AUFS_LAUNDER(path);
	if (!path)
		return REAL(pathconf)(path, name);
	r = aufs_real_path(AT_FDCWD, path, 0, real);
	if (r == AUFS_PASS)
		return REAL(pathconf)(path, name);
	if (r < 0)
		return aufs_ret(r, saved);
	v = REAL(pathconf)(real, name);
	if (name == _PC_NAME_MAX && v > AUFS_WH_PREFIX_LEN)	/* as statfs */
		v -= AUFS_WH_PREFIX_LEN;
	return v;
}
