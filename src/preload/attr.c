/* SPDX-License-Identifier: MIT */
/*
 * attr.c - mode, owner, times, size and extended attributes. Canonical by path:
 * fchmodat, fchownat, utimensat, futimesat, lutimes, utime, truncate, setxattr,
 * lsetxattr, removexattr, lremovexattr. Forwarders: chmod, lchmod, chown, lchown,
 * utimes, truncate64. By fd: fchmod, fchown, futimens, futimes, ftruncate
 * (ftruncate64), fsetxattr, fremovexattr - an fd opened read-only through a union
 * on a lower branch's file fails with EROFS, as on a read-only file system: the
 * lower branch is never written, and aufs-preload does not swap files behind fds.
 */
#include "shim.h"

int shim_fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(fchmodat)(dirfd, path, mode, flags),
		       aufs_fchmodat(dirfd, path, mode, flags));
}

int shim_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(fchownat)(dirfd, path, uid, gid, flags),
		       aufs_fchownat(dirfd, path, uid, gid, flags));
}

int shim_utimensat(int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	path = AUFS_LAUNDER(path);
	if (!path)	/* futimens-style: the fd itself */
		return aufs_active() && aufs_fd_check_write(dirfd) ? (errno = EROFS, -1)
								    : REAL(utimensat)(dirfd, path, ts, flags);
	AUFS_PATH_SHIM(REAL(utimensat)(dirfd, path, ts, flags),
		       aufs_utimensat(dirfd, path, ts, flags));
}

/* timeval[2] -> timespec[2]; NULL stays NULL (now). */
static const struct timespec *tv2ts(const struct timeval tv[2], struct timespec ts[2])
{
	if (!tv)
		return NULL;
	for (int i = 0; i < 2; i++) {
		ts[i].tv_sec = tv[i].tv_sec;
		ts[i].tv_nsec = tv[i].tv_usec * 1000;
	}
	return ts;
}

int shim_futimesat(int dirfd, const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(futimesat)(dirfd, path, tv),
		       aufs_utimensat(dirfd, path, tv2ts(tv, ts), 0));
}

int shim_lutimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(lutimes)(path, tv),
		       aufs_utimensat(AT_FDCWD, path, tv2ts(tv, ts), AT_SYMLINK_NOFOLLOW));
}

int shim_utime(const char *path, const struct utimbuf *t)
{
	struct timespec ts[2];

	if (t) {
		ts[0] = (struct timespec){ .tv_sec = t->actime };
		ts[1] = (struct timespec){ .tv_sec = t->modtime };
	}
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(utime)(path, t), aufs_utimensat(AT_FDCWD, path, t ? ts : NULL, 0));
}

int shim_truncate(const char *path, off_t len)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(truncate)(path, len), aufs_truncate(path, len));
}

int shim_setxattr(const char *path, const char *name, const void *value, size_t size, int flags)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(setxattr)(path, name, value, size, flags),
		       aufs_setxattr(path, name, value, size, flags, false));
}

int shim_lsetxattr(const char *path, const char *name, const void *value, size_t size,
		   int flags)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(lsetxattr)(path, name, value, size, flags),
		       aufs_setxattr(path, name, value, size, flags, true));
}

int shim_removexattr(const char *path, const char *name)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(removexattr)(path, name), aufs_removexattr(path, name, false));
}

int shim_lremovexattr(const char *path, const char *name)
{
	path = AUFS_LAUNDER(path);
	AUFS_PATH_SHIM(REAL(lremovexattr)(path, name), aufs_removexattr(path, name, true));
}

/*
 * The fd forms. A directory fd of a union (in the fd table) acts through its
 * virtual path, so the directory is copied up like by the path forms; an fd on
 * a lower branch's file refuses to write through (EROFS).
 */
#define FD_SHIM(fd, real_call, path_call)                              \
	do {                                                           \
		char vpath_[PATH_MAX];                                 \
		int saved_ = errno;                                    \
		int r_;                                                \
                                                                       \
		if (!aufs_active())                                    \
			return real_call;                              \
		if (aufs_fd_known(fd) && aufs_fd_get(fd, vpath_, sizeof(vpath_)) >= 0) { \
			const char *vpath = vpath_;                    \
                                                                       \
			r_ = path_call;                                \
			if (r_ != AUFS_PASS)                           \
				return (int)aufs_ret(r_, saved_);      \
		}                                                      \
		if ((r_ = aufs_fd_check_write(fd)) < 0)                \
			return (int)aufs_ret(r_, saved_);              \
		return real_call;                                      \
	} while (0)

int shim_fchmod(int fd, mode_t mode)
{
	FD_SHIM(fd, REAL(fchmod)(fd, mode), aufs_fchmodat(AT_FDCWD, vpath, mode, 0));
}

int shim_fchown(int fd, uid_t uid, gid_t gid)
{
	FD_SHIM(fd, REAL(fchown)(fd, uid, gid),
		aufs_fchownat(AT_FDCWD, vpath, uid, gid, AT_SYMLINK_NOFOLLOW));
}

int shim_futimens(int fd, const struct timespec ts[2])
{
	FD_SHIM(fd, REAL(futimens)(fd, ts), aufs_utimensat(AT_FDCWD, vpath, ts, AT_SYMLINK_NOFOLLOW));
}

int shim_futimes(int fd, const struct timeval tv[2])
{
	struct timespec ts[2];

	FD_SHIM(fd, REAL(futimes)(fd, tv),
		aufs_utimensat(AT_FDCWD, vpath, tv2ts(tv, ts), AT_SYMLINK_NOFOLLOW));
}

int shim_ftruncate(int fd, off_t len)
{
	FD_SHIM(fd, REAL(ftruncate)(fd, len), ((void)vpath, AUFS_PASS));
}

int shim_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)
{
	FD_SHIM(fd, REAL(fsetxattr)(fd, name, value, size, flags),
		aufs_setxattr(vpath, name, value, size, flags, true));
}

int shim_fremovexattr(int fd, const char *name)
{
	FD_SHIM(fd, REAL(fremovexattr)(fd, name), aufs_removexattr(vpath, name, true));
}
