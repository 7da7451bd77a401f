/* SPDX-License-Identifier: MIT */
/*
 * fd.c - keeps the fd -> virtual path table true. Canonical: close, dup, dup2,
 * dup3, close_range, closefrom, fclose; hand-written fcntl, fcntl64, __fcntl
 * (variadic). Forwarders: __close, __dup2. closedir lives in dir.c.
 * An entry is cleared before the real close, so a number reused at once by
 * another thread never inherits a stale path.
 */
#include <stdarg.h>

#include "shim.h"

/*
 * The library's branch roots (src/core/util_root.c) stay open whatever the
 * program closes: to it they are numbers it never opened (EBADF), ranges go
 * around them, and a dup2 onto one moves it away first.
 */
int shim_close(int fd)
{
	if (aufs_active()) {
		if (__builtin_expect(aufs_root_is_held(fd), 0)) {
			errno = EBADF;
			return -1;
		}
		aufs_fd_forget(fd);
	}
	return REAL(close)(fd);
}

/* close_range(FIRST, LAST) but for the roots in it. */
static int close_around_roots(unsigned first, unsigned last, int flags)
{
	int root;

	while ((root = aufs_root_next(first, last)) >= 0) {
		if ((unsigned)root > first && REAL(close_range)(first, (unsigned)root - 1, flags) != 0)
			return -1;
		if ((unsigned)root == last)
			return 0;
		first = (unsigned)root + 1;
	}
	return REAL(close_range)(first, last, flags);
}

/* Before NEWFD is made a copy: a root there moves; -1 with errno if it cannot. */
static int free_root_number(int newfd)
{
	int r;

	if (!aufs_active() || !aufs_root_is_held(newfd))
		return 0;
	r = aufs_root_move(newfd);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

int shim_dup(int fd)
{
	int r = REAL(dup)(fd);

	if (r >= 0 && aufs_active())
		aufs_fd_dup(fd, r);
	return r;
}

int shim_dup2(int oldfd, int newfd)
{
	int r;

	if (oldfd != newfd && free_root_number(newfd) < 0)
		return -1;
	r = REAL(dup2)(oldfd, newfd);

	if (r >= 0 && aufs_active())
		aufs_fd_dup(oldfd, r);
	return r;
}

int shim_dup3(int oldfd, int newfd, int flags)
{
	int r;

	if (oldfd != newfd && free_root_number(newfd) < 0)
		return -1;
	r = REAL(dup3)(oldfd, newfd, flags);

	if (r >= 0 && aufs_active())
		aufs_fd_dup(oldfd, r);
	return r;
}

int shim_close_range(unsigned int first, unsigned int last, int flags)
{
	int r = aufs_active() && !(flags & CLOSE_RANGE_CLOEXEC) && first <= last
			? close_around_roots(first, last, flags)
			: REAL(close_range)(first, last, flags);

	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && aufs_active())
		aufs_fd_close_range(first, last);
	return r;
}

void shim_closefrom(int first)
{
	if (first >= 0 && aufs_active() && aufs_root_next((unsigned)first, ~0u) >= 0)
		(void)close_around_roots((unsigned)first, ~0u, 0);
	else
		REAL(closefrom)(first);
	if (first >= 0 && aufs_active())
		aufs_fd_close_range((unsigned)first, ~0u);
}

int shim_fclose(FILE *f)
{
	if (f && aufs_active()) {
		aufs_fd_forget(fileno(f));
	}
	return REAL(fclose)(f);
}

static int do_fcntl(int (*real)(int, int, ...), int fd, int cmd, long arg)
{
	int r = real(fd, cmd, arg);

	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && aufs_active())
		aufs_fd_dup(fd, r);
	return r;
}

/* The third argument is an int, a long or a pointer: all one register on x86-64. */
#define FCNTL_ARG(cmd, arg)                  \
	do {                                 \
		va_list ap;                  \
		va_start(ap, cmd);           \
		arg = va_arg(ap, long);      \
		va_end(ap);                  \
	} while (0)

AUFS_EXPORT int fcntl(int fd, int cmd, ...)
{
	long arg;

	FCNTL_ARG(cmd, arg);
	return do_fcntl(REAL(fcntl), fd, cmd, arg);
}

AUFS_EXPORT int fcntl64(int fd, int cmd, ...)
{
	long arg;

	FCNTL_ARG(cmd, arg);
	return do_fcntl(REAL(fcntl64), fd, cmd, arg);
}

AUFS_EXPORT int __fcntl(int fd, int cmd, ...);
AUFS_EXPORT int __fcntl(int fd, int cmd, ...)
{
	long arg;

	FCNTL_ARG(cmd, arg);
	return do_fcntl(REAL(__fcntl), fd, cmd, arg);
}
