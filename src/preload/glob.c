/* SPDX-License-Identifier: MIT */
/*
 * glob.c - glob and glob64, hand-written: the real glob with GLOB_ALTDIRFUNC,
 * its callbacks set to the shims of dir.c and stat.c (glob64_t and glob_t,
 * stat64 and stat have one layout on x86-64: one body serves both). globfree
 * and globfree64 only free memory: not wrapped.
 */
#include <glob.h>
#include <stddef.h>
#include <string.h>

#include "walk.h"

_Static_assert(sizeof(glob64_t) == sizeof(glob_t) &&
	       offsetof(glob64_t, gl_stat) == offsetof(glob_t, gl_stat),
	       "glob64_t and glob_t differ: glob64 needs its own callbacks");
_Static_assert(sizeof(struct stat64) == sizeof(struct stat), "stat64 and stat differ");

static void *glob_opendir(const char *path)
{
	return shim_opendir(path);
}

static struct dirent *glob_readdir(void *dp)
{
	return shim_readdir(dp);
}

static void glob_closedir(void *dp)
{
	(void)shim_closedir(dp);	/* glob has no way to report it */
}

static int glob_stat(const char *path, struct stat *st)
{
	return shim_fstatat(AT_FDCWD, path, st, 0);
}

static int glob_lstat(const char *path, struct stat *st)
{
	return shim_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

/*
 * The directory PATTERN starts in: its part before the first wildcard, up to
 * the last '/' (the whole pattern when it has none), into BUF (PATH_MAX bytes).
 * false when a backslash, a brace or a tilde makes that unclear.
 */
static bool glob_fixed_dir(const char *pat, int flags, char *buf)
{
	size_t i, slash = (size_t)-1;

	if (pat[0] == '~' && (flags & (GLOB_TILDE | GLOB_TILDE_CHECK)))
		return false;
	for (i = 0; pat[i]; i++) {
		char c = pat[i];

		if ((c == '\\' && !(flags & GLOB_NOESCAPE)) || (c == '{' && (flags & GLOB_BRACE)))
			return false;
		if (c == '*' || c == '?' || c == '[')
			break;
		if (c == '/')
			slash = i;
	}
	if (!pat[i])
		slash = i;		/* no wildcard: glob only tests the name */
	else if (slash == (size_t)-1)
		slash = 0;		/* "x*": the cwd */
	else if (slash == 0)
		slash = 1;		/* "/x*" */
	if (slash >= PATH_MAX)
		return false;
	if (slash == 0) {
		memcpy(buf, ".", 2);
	} else {
		memcpy(buf, pat, slash);
		buf[slash] = 0;
	}
	return true;
}

typedef int (*glob_fn)(const char *, int, int (*)(const char *, int), void *);

static int walk_glob(glob_fn real, const char *pattern, int flags,
		     int (*errfunc)(const char *, int), glob_t *g)
{
	char dir[PATH_MAX];
	glob_t saved;
	int r;

	/* a caller's own GLOB_ALTDIRFUNC callbacks reach our wrappers through the PLT */
	if (!shim_enter(NULL) || (flags & GLOB_ALTDIRFUNC))
		return real(pattern, flags, errfunc, g);
	g = AUFS_LAUNDER(g);
	if (!aufs_path_ok(pattern) || !g)
		return real(pattern, flags, errfunc, g);
	if (glob_fixed_dir(pattern, flags, dir) && !walk_ours(dir))
		return real(pattern, flags, errfunc, g);
	saved = *g;
	g->gl_opendir = glob_opendir;
	g->gl_readdir = glob_readdir;
	g->gl_closedir = glob_closedir;
	g->gl_stat = glob_stat;
	g->gl_lstat = glob_lstat;
	r = real(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);
	/* leave the glob_t as a call without the callbacks would */
	g->gl_flags &= ~GLOB_ALTDIRFUNC;
	g->gl_opendir = saved.gl_opendir;
	g->gl_readdir = saved.gl_readdir;
	g->gl_closedir = saved.gl_closedir;
	g->gl_stat = saved.gl_stat;
	g->gl_lstat = saved.gl_lstat;
	return r;
}

AUFS_EXPORT int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g)
{
	return walk_glob(REAL(glob), pattern, flags, errfunc, g);
}

AUFS_EXPORT int glob64(const char *pattern, int flags, int (*errfunc)(const char *, int),
		       glob64_t *g)
{
	return walk_glob(REAL(glob64), pattern, flags, errfunc, (glob_t *)g);
}
