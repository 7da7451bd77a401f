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
#include "walk.h"

bool walk_ours(const char *path)
{
	if (!shim_enter(NULL) || !aufs_path_ok(path))
		return false;	/* glibc's walker answers (or crashes) as without us */
	return aufs_walk_touches_union(path);
}

void walk_dev_key(const char *path, const struct stat *st, bool follow, struct devkey *k)
{
	k->u = aufs_union_of(path, follow);
	k->dev = k->u ? 0 : st->st_dev;
}

