/* SPDX-License-Identifier: MIT */
/*
 * probe.h - shared bits of the single-entry-point probes (probe-*.c). Each probe
 * calls one libc door and prints what it saw on stdout, one fact a line; a failed
 * call prints "NAME: ERRNO" (ENOENT, EXDEV, ...) and the probe exits 1. The
 * probes are built twice by the Makefile: plain (build/helper/) and with
 * -D_FILE_OFFSET_BITS=64 -D_FORTIFY_SOURCE=2 -O2 (build/helper-lfs/), which turns
 * their calls into the *64 and __*_chk/__*_2 names; their output must not differ.
 */
#ifndef AUFS_PROBE_H
#define AUFS_PROBE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "WHAT: ENAME" for errno ERR on stdout; returns 1 for main's exit status */
static inline int probe_fail(const char *what, int err)
{
	const char *n = strerrorname_np(err);

	printf("%s: %s\n", what, n ? n : "E?");
	return 1;
}

static inline const char *probe_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	default: return "?";
	}
}

/* a directory fd for the *at probes ("." stays AT_FDCWD) */
static inline int probe_dirfd(const char *dir)
{
	int fd;

	if (!strcmp(dir, "-"))
		return AT_FDCWD;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		probe_fail("open dir", errno);
		exit(1);
	}
	return fd;
}

/* the first line of fd (at most 200 bytes), without its newline */
static inline void probe_print_line(const char *tag, int fd)
{
	char buf[256];
	ssize_t n = read(fd, buf, 200);

	if (n < 0) {
		probe_fail("read", errno);
		return;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	printf("%s %s\n", tag, buf);
}

#endif
