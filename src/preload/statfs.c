/* SPDX-License-Identifier: MIT */
/*
 * statfs.c - file system figures. Canonical: statfs, statvfs, pathconf.
 * Forwarders: statfs64, __statfs, statvfs64. A union reports its first branch's
 * file system, with the name length shortened by the whiteout prefix (".wh." +
 * NAME must fit). pathconf asks about the branch that holds the object (glibc's
 * never reaches statfs); fpathconf needs nothing: the fd is the branch file's.
 * The prologue is gen.c's.
 */
#include "shim.h"

/*
 * The file system root that answers for PATH into REAL: 0 (a union's: the name
 * length rule applies), AUFS_PASS_HOST (a path that left a union: its host path),
 * AUFS_PASS or -errno.
 */
static long statfs_root(const char *path, char *real)
{
	if (!aufs_path_ok(path))
		return AUFS_PASS;
	return aufs_statfs_path(path, real);
}

long verb_statfs(const char *path, struct statfs *buf)
{
	char real[PATH_MAX];
	long r = statfs_root(path, real);
	bool host = r == AUFS_PASS_HOST;

	if (r < 0 || r == AUFS_PASS)
		return r;
	r = verb_real(REAL(statfs)(real, buf));
	if (r == 0 && !host)
		buf->f_namelen = aufs_name_max(buf->f_namelen);
	return r;
}

long verb_statvfs(const char *path, struct statvfs *buf)
{
	char real[PATH_MAX];
	long r = statfs_root(path, real);
	bool host = r == AUFS_PASS_HOST;

	if (r < 0 || r == AUFS_PASS)
		return r;
	r = verb_real(REAL(statvfs)(real, buf));
	if (r == 0 && !host)
		buf->f_namemax = (unsigned long)aufs_name_max((long)buf->f_namemax);
	return r;
}

/*
 * pathconf is written by hand: its -1 with errno untouched means "no limit", which
 * a verb's -errno cannot say.
 */
long shim_pathconf(const char *path, int name)
{
	char real[PATH_MAX];
	int saved;
	long v;

	if (!shim_enter(&saved))
		return REAL(pathconf)(path, name);
	aufs_call_begin();	/* REAL may name a descriptor (core.h) */
	v = verb_real_path(AT_FDCWD, path, 0, real);
	if (v == AUFS_PASS || v < 0) {
		aufs_call_end();
		return v == AUFS_PASS ? REAL(pathconf)(path, name) : aufs_ret(v, saved);
	}
	v = REAL(pathconf)(real, name);
	aufs_call_end();
	if (name == _PC_NAME_MAX && v > 0)	/* as statfs */
		v = aufs_name_max(v);
	return v;
}
