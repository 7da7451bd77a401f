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
 * The file system root that answers for PATH into REAL: 0, VERB_PASS (outside
 * every union; REAL is then "") or -errno. A path that left a union again is
 * asked on its host path: the real call is made here, so it returns 1.
 */
static long statfs_root(const char *path, char *real)
{
	int r;

	path = AUFS_LAUNDER(path);
	if (!path)
		return VERB_PASS;
	real[0] = 0;
	r = aufs_statfs_path(path, real);
	if (r == AUFS_PASS)
		return real[0] ? 1 : VERB_PASS;
	return r;
}

long verb_statfs(const char *path, struct statfs *buf)
{
	char real[PATH_MAX];
	long r = statfs_root(path, real);

	if (r == 1)
		return verb_real(REAL(statfs)(real, buf));
	if (r)
		return r;
	r = verb_real(REAL(statfs)(real, buf));
	if (r == 0 && buf->f_namelen > AUFS_WH_PREFIX_LEN)
		buf->f_namelen -= AUFS_WH_PREFIX_LEN;
	return r;
}

long verb_statvfs(const char *path, struct statvfs *buf)
{
	char real[PATH_MAX];
	long r = statfs_root(path, real);

	if (r == 1)
		return verb_real(REAL(statvfs)(real, buf));
	if (r)
		return r;
	r = verb_real(REAL(statvfs)(real, buf));
	if (r == 0 && buf->f_namemax > AUFS_WH_PREFIX_LEN)
		buf->f_namemax -= AUFS_WH_PREFIX_LEN;
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
	v = verb_real_path(AT_FDCWD, path, 0, real);
	if (v == VERB_PASS)
		return REAL(pathconf)(path, name);
	if (v < 0)
		return aufs_ret(v, saved);
	v = REAL(pathconf)(real, name);
	if (name == _PC_NAME_MAX && v > AUFS_WH_PREFIX_LEN)	/* as statfs */
		v -= AUFS_WH_PREFIX_LEN;
	return v;
}
