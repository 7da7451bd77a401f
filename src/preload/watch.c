/* SPDX-License-Identifier: MIT */
/*
 * watch.c - calls that pin an object found by name: inotify_add_watch and
 * name_to_handle_at. Canonical: both; no forwarders. Inside a union they act on
 * the top-most copy (for a merged directory, the top-most branch's directory:
 * changes that arrive in the other branches are not reported, and a watch on a
 * lower file does not follow its copy-up).
 */
#include <sys/inotify.h>

#include "shim.h"

int shim_inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	int at = (mask & IN_DONT_FOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;

	AUFS_REAL_PATH_SHIM(int, AT_FDCWD, path, at, REAL(inotify_add_watch)(fd, p_, mask));
}

int shim_name_to_handle_at(int dirfd, const char *path, struct file_handle *h, int *mount_id,
			   int flags)
{
	/* name_to_handle_at follows a final symlink only when asked to */
	AUFS_REAL_PATH_SHIM(int, dirfd, path,
			    ((flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW) |
				    (flags & AT_EMPTY_PATH),
			    REAL(name_to_handle_at)(p_ == path ? dirfd : AT_FDCWD, p_, h, mount_id,
						    p_ == path ? flags : flags & ~AT_EMPTY_PATH));
}
