/* SPDX-License-Identifier: MIT */
/*
 * ops_attr.c - changes of an object's attributes: mode, owner, times, size, extended
 * attributes. A lower object is copied up first (mutate_copyup.c), after the same rights
 * check a real file system would make, so a refused change copies nothing.
 */
#include <sys/statfs.h>

#include "internal.h"

static unsigned rflags(int at_flags)
{
	return (at_flags & AT_SYMLINK_NOFOLLOW ? AUFS_RESOLVE_NOFOLLOW : 0) |
	       (at_flags & AT_EMPTY_PATH ? AUFS_RESOLVE_EMPTY_PATH : 0);
}

enum right { RIGHT_OWNER, RIGHT_WRITE, RIGHT_OWNER_OR_WRITE };

/* Resolve and copy up, after checking RIGHT on the current top-most copy. */
static int prepare(int dirfd, const char *path, unsigned flags, enum right right, off_t len,
		   struct aufs_loc *loc)
{
	struct stat st;
	int r = aufs_resolve(dirfd, path, flags, loc);

	if (r)
		return r;
	if (loc->branch < 0)
		return -ENOENT;
	if (loc->u->branch[loc->branch].perm == AUFS_PERM_RW)
		return 0;	/* in place: the kernel checks */
	r = sys_lstat(loc->real, &st);
	if (r < 0)
		return r;
	if (creds_get()->euid != 0) {
		bool owner = st.st_uid == creds_get()->euid;

		if (right == RIGHT_OWNER && !owner)
			return -EPERM;
		if (right == RIGHT_WRITE && !may_write(&st))
			return -EACCES;
		if (right == RIGHT_OWNER_OR_WRITE && !owner && !may_write(&st))
			return -EACCES;
	}
	return cpup_loc(loc, len, false);
}

int aufs_fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	int r = prepare(dirfd, path, rflags(flags), RIGHT_OWNER, -1, &loc);

	if (r == AUFS_PASS_HOST)
		return sys_fchmodat(AT_FDCWD, loc.real, mode);
	if (r)
		return r;
	if (loc.type == DT_LNK)
		return -EOPNOTSUPP;	/* Linux cannot chmod a symlink */
	r = beneath_fchmodat(loc.real, mode);
	if (r == 0 && loc.type == DT_DIR)
		loc_changed(&loc);	/* who may search it is cached with it (nodirperm1) */
	return r;
}

int aufs_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	int r = prepare(dirfd, path, rflags(flags), RIGHT_OWNER, -1, &loc);

	if (r == AUFS_PASS_HOST)
		return sys_fchownat(AT_FDCWD, loc.real, uid, gid, flags & AT_SYMLINK_NOFOLLOW);
	if (r)
		return r;
	r = beneath_fchownat(loc.real, uid, gid);
	if (r == 0 && loc.type == DT_DIR)
		loc_changed(&loc);	/* the owner of its top copy is cached with it */
	return r;
}

static bool sets_now(const struct timespec ts[2])
{
	return !ts || (ts[0].tv_nsec == UTIME_NOW && ts[1].tv_nsec == UTIME_NOW);
}

int aufs_utimensat(int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	int r = prepare(dirfd, path, rflags(flags),
			sets_now(ts) ? RIGHT_OWNER_OR_WRITE : RIGHT_OWNER, -1, &loc);

	if (r == AUFS_PASS_HOST)
		return sys_utimensat(AT_FDCWD, loc.real, ts, flags & AT_SYMLINK_NOFOLLOW);
	if (r)
		return r;
	return beneath_utimensat(loc.real, ts);
}

int aufs_truncate(const char *path, off_t len)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	int r;

	if (len < 0)
		return -EINVAL;
	r = prepare(AT_FDCWD, path, 0, RIGHT_WRITE, len, &loc);
	if (r == AUFS_PASS_HOST)
		return sys_truncate(loc.real, len);
	if (r)
		return r;
	if (loc.type == DT_DIR)
		return -EISDIR;
	return beneath_truncate(loc.real, len);
}

int aufs_setxattr(const char *path, const char *name, const void *value, size_t size,
		  int flags, bool nofollow)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	int r = prepare(AT_FDCWD, path, nofollow ? AUFS_RESOLVE_NOFOLLOW : 0,
			RIGHT_OWNER_OR_WRITE, -1, &loc);

	if (r == AUFS_PASS_HOST)
		return sys_setxattr(loc.real, name, value, size, flags, nofollow);
	if (r)
		return r;
	r = beneath_setxattr(loc.real, name, value, size, flags, true);
	if (r == 0 && loc.type == DT_DIR)
		loc_changed(&loc);	/* whether it has a default ACL is cached with it */
	return r;
}

int aufs_removexattr(const char *path, const char *name, bool nofollow)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	int r = prepare(AT_FDCWD, path, nofollow ? AUFS_RESOLVE_NOFOLLOW : 0,
			RIGHT_OWNER_OR_WRITE, -1, &loc);

	if (r == AUFS_PASS_HOST)
		return sys_removexattr(loc.real, name, nofollow);
	if (r)
		return r;
	r = beneath_removexattr(loc.real, name, true);
	if (r == 0 && loc.type == DT_DIR)
		loc_changed(&loc);
	return r;
}

int aufs_statfs_path(const char *path, char *real)
{
	struct aufs_loc loc;
	int r = aufs_resolve(AT_FDCWD, path, 0, &loc);

	if (r == AUFS_PASS_HOST)
		memcpy(real, loc.real, strlen(loc.real) + 1);
	if (r)
		return r;
	if (loc.branch < 0)
		return -ENOENT;
	memcpy(real, loc.u->branch[0].path, loc.u->branch[0].len + 1);
	return 0;
}

long aufs_name_max(long branch_max)
{
	return branch_max > AUFS_WH_PREFIX_LEN ? branch_max - AUFS_WH_PREFIX_LEN : branch_max;
}

int aufs_fd_check_write(int fd)
{
	return aufs_fd_is_lower(fd) ? -EROFS : 0;
}
