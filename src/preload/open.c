/* SPDX-License-Identifier: MIT */
/*
 * open.c - opening files. Canonical: openat, fopen, freopen.
 * Hand-written (variadic): open, open64, __open, __open64, openat, openat64.
 * Forwarders: __open_2, __open64_2, __openat_2, __openat64_2, creat, creat64,
 * fopen64, freopen64. glibc's fopen and freopen never reach open, so they are
 * wrapped on their own: the union opens the fd, fdopen wraps it in a FILE.
 */
#include <stdarg.h>
#include <string.h>

#include "shim.h"

/* O_TMPFILE contains O_DIRECTORY: test all its bits, not one. */
static bool needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

int shim_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int saved, fd;

	if (!shim_enter(&saved) || !aufs_path_ok_hint(path))
		return REAL(openat)(dirfd, path, flags, mode);
	fd = aufs_openat(dirfd, path, flags, mode);
	aufs_path_hint = NULL;	/* as the generated prologue: the resolver's measure */
	if (fd == AUFS_PASS) {
		fd = REAL(openat)(dirfd, path, flags, mode);
		if (fd >= 0)
			aufs_note_outside_open(fd, dirfd, path);
		return fd;
	}
	return (int)aufs_ret(fd, saved);
}

#define OPEN_MODE(flags, mode)                       \
	do {                                         \
		if (needs_mode(flags)) {             \
			va_list ap;                  \
			va_start(ap, flags);         \
			mode = va_arg(ap, mode_t);   \
			va_end(ap);                  \
		}                                    \
	} while (0)

AUFS_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_openat(dirfd, path, flags, mode);
}

AUFS_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_openat(dirfd, path, flags, mode);
}

AUFS_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_openat(AT_FDCWD, path, flags, mode);
}

AUFS_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_openat(AT_FDCWD, path, flags, mode);
}

AUFS_EXPORT int __open(const char *path, int flags, ...);
AUFS_EXPORT int __open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_openat(AT_FDCWD, path, flags, mode);
}

AUFS_EXPORT int __open64(const char *path, int flags, ...);
AUFS_EXPORT int __open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return shim_openat(AT_FDCWD, path, flags, mode);
}

/* fopen's mode string as open flags; -1 if invalid (glibc: EINVAL). */
static int mode_flags(const char *m)
{
	int flags;

	switch (m[0]) {
	case 'r':
		flags = O_RDONLY;
		break;
	case 'w':
		flags = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		flags = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		return -1;
	}
	for (const char *c = m + 1; *c && *c != ','; c++) {
		if (*c == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*c == 'x')
			flags |= O_EXCL;
		else if (*c == 'e')
			flags |= O_CLOEXEC;
	}
	return flags;
}

FILE *shim_fopen(const char *path, const char *mode)
{
	int saved, flags, fd;
	FILE *f;

	if (!shim_enter(&saved))
		return REAL(fopen)(path, mode);
	if (!aufs_path_ok(path) || !mode || (flags = mode_flags(mode)) < 0)
		return REAL(fopen)(path, mode);
	fd = aufs_openat(AT_FDCWD, path, flags, 0666);
	if (fd == AUFS_PASS)
		return REAL(fopen)(path, mode);
	if (fd < 0) {
		aufs_ret(fd, saved);
		return NULL;
	}
	f = fdopen(fd, mode);
	if (!f) {
		int e = errno;

		REAL(close)(fd);
		errno = e;
		return NULL;
	}
	errno = saved;
	return f;
}

FILE *shim_freopen(const char *path, const char *mode, FILE *stream)
{
	int saved, flags, fd;
	char proc[64];
	FILE *f;

	if (!shim_enter(&saved))
		return REAL(freopen)(path, mode, stream);
	/* a NULL path changes the stream's mode: glibc's own */
	if (!aufs_path_ok(path) || !mode || (flags = mode_flags(mode)) < 0)
		return REAL(freopen)(path, mode, stream);
	/* O_EXCL/O_CREAT/O_TRUNC were applied by our open; the reopen must not redo them */
	fd = aufs_openat(AT_FDCWD, path, flags, 0666);
	if (fd == AUFS_PASS)
		return REAL(freopen)(path, mode, stream);
	if (fd < 0) {
		aufs_ret(fd, saved);
		return NULL;
	}
	/*
	 * Reopen the very file the union chose, through its /proc name. It exists
	 * now, so "x" must go; a second truncation of a new file is harmless.
	 */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	{
		char m2[16];
		size_t n = 0;

		for (const char *c = mode; *c && n < sizeof(m2) - 1; c++)
			if (*c != 'x')
				m2[n++] = *c;
		m2[n] = 0;
		f = REAL(freopen)(proc, m2, stream);
	}
	REAL(close)(fd);
	if (f)
		errno = saved;
	return f;
}
