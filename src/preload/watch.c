/* SPDX-License-Identifier: MIT */
/*
 * watch.c - calls that pin an object found by name: inotify_add_watch and
 * name_to_handle_at. Canonical: both; no forwarders. Inside a union they act on
 * the top-most copy (for a merged directory, the top-most branch's directory:
 * changes that arrive in the other branches are not reported, and a watch on a
 * lower file does not follow its copy-up). The prologue is gen.c's.
 */
#include <sys/inotify.h>

#include "shim.h"

long verb_inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	int at = (mask & IN_DONT_FOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;
	char real[PATH_MAX];
	long r = verb_real_path(AT_FDCWD, path, at, real);

	return r ? r : verb_real(REAL(inotify_add_watch)(fd, real, mask));
}

long verb_name_to_handle_at(int dirfd, const char *path, struct file_handle *h, int *mount_id,
			    int flags)
{
	/* name_to_handle_at follows a final symlink only when asked to */
	int at = ((flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW) | (flags & AT_EMPTY_PATH);
	char real[PATH_MAX];
	long r = verb_real_path(dirfd, path, at, real);

	return r ? r : verb_real(REAL(name_to_handle_at)(AT_FDCWD, real, h, mount_id,
							 flags & ~AT_EMPTY_PATH));
}
