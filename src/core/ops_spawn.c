/* SPDX-License-Identifier: MIT */
/*
 * ops_spawn.c - what posix_spawn's file actions need of the union. The child
 * opens a file-action path with glibc's internal open, which no shim sees, so
 * the path is resolved when the action is added; a write needs the union's
 * rules then too: a lower file is copied up and a new one created in a writable
 * branch now, so that the child opens the branch file and never writes a
 * read-only branch. Relies on ops_read.c (aufs_openat) and resolve_walk.c.
 */
#include "internal.h"

static bool opens_for_write(int oflag)
{
	return (oflag & O_ACCMODE) != O_RDONLY || (oflag & (O_CREAT | O_TRUNC));
}

/* Does opening LOC with OFLAG need the union's write rules applied first? */
static bool needs_write_rules(const struct aufs_loc *loc, int oflag)
{
	if (!opens_for_write(oflag))
		return false;
	if (loc->branch >= 0)	/* a lower file to copy up; else writable in place */
		return loc->type == DT_REG && loc->u->branch[loc->branch].perm != AUFS_PERM_RW;
	return oflag & O_CREAT;	/* else the child's open fails with ENOENT */
}

int aufs_spawn_open(const char *path, int *oflag, mode_t mode, char *real)
{
	unsigned rf = 0;
	struct aufs_loc loc;
	int r, fd;

	if ((*oflag & O_NOFOLLOW) || ((*oflag & O_CREAT) && (*oflag & O_EXCL)))
		rf |= AUFS_RESOLVE_NOFOLLOW;
	r = aufs_resolve(AT_FDCWD, path, rf, &loc);
	if (r != 0 && r != AUFS_PASS_HOST)
		return AUFS_PASS;	/* outside, or an error the child's open reports */
	if (r == 0 && needs_write_rules(&loc, *oflag)) {
		fd = aufs_openat(AT_FDCWD, path, *oflag | O_CLOEXEC | O_NOCTTY, mode);
		if (fd == -EEXIST)
			goto out;	/* O_EXCL: the child's open of it fails the same way */
		if (fd < 0)
			return fd;
		aufs_fd_forget(fd);
		(void)sys_close(fd);	/* opened only for its side effect */
		*oflag &= ~O_EXCL;	/* created just now, for the child */
		r = aufs_resolve(AT_FDCWD, path, rf, &loc);
		if (r < 0)
			return r;
		if (r == AUFS_PASS || (r == 0 && loc.branch < 0))
			return AUFS_PASS;
	}
out:
	memcpy(real, loc.real, strlen(loc.real) + 1);
	return 0;
}
