/* SPDX-License-Identifier: MIT */
/*
 * walk.c - what the tree walkers share (walk.h). glob, ftw, nftw and fts read
 * directory trees with glibc's internal opendir/readdir/stat, which never reach
 * our wrappers, so glob.c, ftw.c and fts.c rebuild them on the union.
 * Everything passes through untouched when no union is configured
 * or when the walk can never enter one: its start resolves outside every union
 * and is not an ancestor of a mount point (a walk of the mount point's parent
 * descends into the union, where glibc would read the host's directory).
 */
#include <string.h>

#include "walk.h"

/*
 * Is absolute or cwd-relative PATH, taken lexically, a strict ancestor of some
 * union's mount point? BUF holds PATH_MAX bytes. A ".." answers yes: the walk
 * then takes our route, which is right everywhere, only slower.
 */
static bool above_mount(const char *path, char *buf)
{
	const char *p, *e;
	size_t len = 0, n;

	if (path[0] != '/') {
		if (!shim_getcwd(buf, PATH_MAX))
			return true;
		len = strlen(buf);
		if (len == 1)
			len = 0;	/* "/" */
	}
	for (p = path; *p; p = e) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		n = (size_t)(e - p);
		if (n == 1 && p[0] == '.')
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		if (len + 1 + n >= PATH_MAX)
			return true;
		buf[len++] = '/';
		memcpy(buf + len, p, n);
		len += n;
	}
	if (len == 0)
		buf[len++] = '/';
	buf[len] = 0;
	return aufs_config_is_ancestor(aufs_state_config(), buf, len);
}

bool walk_ours(const char *path)
{
	struct aufs_loc loc;

	path = AUFS_LAUNDER(path);
	if (!shim_enter(NULL) || !path)
		return false;
	if (aufs_resolve(AT_FDCWD, path, 0, &loc) != AUFS_PASS)
		return true;
	return above_mount(path, loc.virt);
}

void walk_dev_key(const char *path, const struct stat *st, bool follow, struct devkey *k)
{
	struct aufs_loc loc;

	k->u = NULL;
	k->dev = st->st_dev;
	if (aufs_resolve(AT_FDCWD, path, follow ? 0 : AUFS_RESOLVE_NOFOLLOW, &loc) == 0 && loc.u) {
		k->u = loc.u;
		k->dev = 0;
	}
}

