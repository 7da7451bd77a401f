/* SPDX-License-Identifier: MIT */
/*
 * walk.h - what the tree walkers share (private to src/preload/): whether a walk
 * can see a union at all, and which file system an object is on. walk.c has the
 * bodies; glob.c, ftw.c and fts.c the walkers.
 */
#ifndef AUFS_PRELOAD_WALK_H
#define AUFS_PRELOAD_WALK_H

#include "shim.h"

/*
 * Does a walk that starts at PATH need our walker: is the library active and can
 * the walk see a union (PATH resolves into one, or is an ancestor of a mount
 * point, where glibc would read the host's directory)? A NULL PATH: no.
 */
bool walk_ours(const char *path);

/*
 * The identity of the file system an object is on, for FTW_MOUNT and FTS_XDEV.
 * Inside a union it is the union (aufs gives all of it one st_dev), not the
 * device of the branch that happens to hold the object.
 */
struct devkey {
	const void *u;
	dev_t dev;
};

void walk_dev_key(const char *path, const struct stat *st, bool follow, struct devkey *k);

static inline bool walk_dev_eq(const struct devkey *a, const struct devkey *b)
{
	return a->u == b->u && a->dev == b->dev;
}

#endif /* AUFS_PRELOAD_WALK_H */
