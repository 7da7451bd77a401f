/* SPDX-License-Identifier: MIT */
/*
 * attr.c - mode, owner, times, size and extended attributes. Canonical by path:
 * fchmodat, fchownat, utimensat, futimesat, lutimes, utime, truncate, setxattr,
 * lsetxattr, removexattr, lremovexattr. Forwarders: chmod, lchmod, chown, lchown,
 * utimes, truncate64. By fd: fchmod, fchown, futimens, futimes, ftruncate
 * (ftruncate64), fsetxattr, fremovexattr - an fd opened read-only through a union
 * on a lower branch's file fails with EROFS, as on a read-only file system: the
 * lower branch is never written, and aufs-preload does not swap files behind fds.
 * The prologue is gen.c's; the verbs are the core's calls.
 */
#include "shim.h"

long verb_fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	return aufs_fchmodat(dirfd, AUFS_LAUNDER(path), mode, flags);
}

long verb_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	return aufs_fchownat(dirfd, AUFS_LAUNDER(path), uid, gid, flags);
}

static bool nsec_valid(long nsec)
{
	return (nsec >= 0 && nsec <= 999999999) || nsec == UTIME_NOW || nsec == UTIME_OMIT;
}

long verb_utimensat(int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	path = AUFS_LAUNDER(path);
	if (!path) {	/* futimens-style: the fd itself */
		int r = aufs_fd_check_write(dirfd);

		return r < 0 ? r : AUFS_PASS;
	}
	/* the kernel copies the times before the lookup (EFAULT); so do we (any alignment) */
	struct timespec copy[2];

	if (ts && aufs_guard_copy(copy, ts, sizeof(copy)) < 0)
		return AUFS_PASS;
	if (ts)
		ts = copy;
	/* and checks them after it, before any permission (EINVAL): its own answer */
	if (ts && (!nsec_valid(ts[0].tv_nsec) || !nsec_valid(ts[1].tv_nsec))) {
		char real[PATH_MAX];
		long r = verb_real_path(dirfd, path, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH),
					real);

		return r ? r : verb_real(REAL(utimensat)(AT_FDCWD, real, ts, flags & ~AT_EMPTY_PATH));
	}
	return aufs_utimensat(dirfd, path, ts, flags);
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

long verb_futimesat(int dirfd, const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	if (!AUFS_LAUNDER(path))	/* glibc: futimes on the fd */
		return verb_futimes(dirfd, tv);
	return aufs_utimensat(dirfd, AUFS_LAUNDER(path), tv2ts(tv, ts), 0);
}

long verb_lutimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	return aufs_utimensat(AT_FDCWD, AUFS_LAUNDER(path), tv2ts(tv, ts),
					AT_SYMLINK_NOFOLLOW);
}

long verb_utime(const char *path, const struct utimbuf *t)
{
	struct timespec ts[2];

	if (t) {
		ts[0] = (struct timespec){ .tv_sec = t->actime };
		ts[1] = (struct timespec){ .tv_sec = t->modtime };
	}
	return aufs_utimensat(AT_FDCWD, AUFS_LAUNDER(path), t ? ts : NULL, 0);
}

long verb_truncate(const char *path, off_t len)
{
	return aufs_truncate(AUFS_LAUNDER(path), len);
}

/*
 * The kernel copies an attribute's name and value before it looks the path up:
 * one it cannot read is its EFAULT, with no copy-up made first.
 */
static bool xattr_readable(const char *name, const void *value, size_t size)
{
	return aufs_path_ok(name) && (size > 65536 || aufs_guard_mem(value, size) == 0);
}

long verb_setxattr(const char *path, const char *name, const void *value, size_t size, int flags)
{
	if (!xattr_readable(name, value, size))
		return AUFS_PASS;
	return aufs_setxattr(AUFS_LAUNDER(path), name, value, size, flags, false);
}

long verb_lsetxattr(const char *path, const char *name, const void *value, size_t size,
		    int flags)
{
	if (!xattr_readable(name, value, size))
		return AUFS_PASS;
	return aufs_setxattr(AUFS_LAUNDER(path), name, value, size, flags, true);
}

long verb_removexattr(const char *path, const char *name)
{
	if (!aufs_path_ok(name))
		return AUFS_PASS;
	return aufs_removexattr(AUFS_LAUNDER(path), name, false);
}

long verb_lremovexattr(const char *path, const char *name)
{
	if (!aufs_path_ok(name))
		return AUFS_PASS;
	return aufs_removexattr(AUFS_LAUNDER(path), name, true);
}

/*
 * The fd forms. A directory fd of a union (in the fd table) acts through its
 * virtual path, so the directory is copied up like by the path forms; an fd on
 * a lower branch's file refuses to write through (EROFS); anything else is the
 * real call's.
 */
static bool fd_vpath(int fd, char *vpath)
{
	return aufs_fd_known(fd) && aufs_fd_get(fd, vpath, PATH_MAX) >= 0;
}

/* After the path form passed, or for an fd without a virtual path. */
static long fd_rest(int fd)
{
	int r = aufs_fd_check_write(fd);

	return r < 0 ? r : AUFS_PASS;
}

long verb_fchmod(int fd, mode_t mode)
{
	char vpath[PATH_MAX];
	int r;

	if (fd_vpath(fd, vpath) && (r = aufs_fchmodat(AT_FDCWD, vpath, mode, 0)) != AUFS_PASS)
		return r;
	return fd_rest(fd);
}

long verb_fchown(int fd, uid_t uid, gid_t gid)
{
	char vpath[PATH_MAX];
	int r;

	if (fd_vpath(fd, vpath) &&
	    (r = aufs_fchownat(AT_FDCWD, vpath, uid, gid, AT_SYMLINK_NOFOLLOW)) != AUFS_PASS)
		return r;
	return fd_rest(fd);
}

long verb_futimens(int fd, const struct timespec ts[2])
{
	char vpath[PATH_MAX];
	int r;

	if (fd_vpath(fd, vpath) &&
	    (r = aufs_utimensat(AT_FDCWD, vpath, ts, AT_SYMLINK_NOFOLLOW)) != AUFS_PASS)
		return r;
	return fd_rest(fd);
}

long verb_futimes(int fd, const struct timeval tv[2])
{
	struct timespec ts[2];
	char vpath[PATH_MAX];
	int r;

	if (fd_vpath(fd, vpath) &&
	    (r = aufs_utimensat(AT_FDCWD, vpath, tv2ts(tv, ts), AT_SYMLINK_NOFOLLOW)) != AUFS_PASS)
		return r;
	return fd_rest(fd);
}

long verb_ftruncate(int fd, off_t len)
{
	(void)len;
	return fd_rest(fd);	/* a directory cannot be truncated: no path form */
}

long verb_fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)
{
	char vpath[PATH_MAX];
	int r;

	if (fd_vpath(fd, vpath) &&
	    (r = aufs_setxattr(vpath, name, value, size, flags, true)) != AUFS_PASS)
		return r;
	return fd_rest(fd);
}

long verb_fremovexattr(int fd, const char *name)
{
	char vpath[PATH_MAX];
	int r;

	if (fd_vpath(fd, vpath) && (r = aufs_removexattr(vpath, name, true)) != AUFS_PASS)
		return r;
	return fd_rest(fd);
}

/*
 * umask(2), which cannot fail: the core keeps the umask for copy-up, which makes
 * a copy with its final mode when the umask keeps every bit of it (one fchmod
 * less). A vfork child shares its parent's memory but not its umask.
 */
AUFS_EXPORT mode_t umask(mode_t mask)
{
	mode_t old = REAL(umask)(mask);

	aufs_umask_changed(aufs_in_vfork_child() ? -1 : (int)(mask & 0777));
	return old;
}
