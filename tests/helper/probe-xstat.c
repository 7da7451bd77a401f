/* SPDX-License-Identifier: MIT */
/*
 * probe-xstat - the stat ABI of binaries built on glibc 2.32 or older, which
 * call __xstat/__lxstat/__fxstatat with a version (1 on x86-64) instead of
 * stat/lstat/fstatat. Declared here: glibc 2.33+ headers no longer do.
 *   probe-xstat PATH    prints "xstat TYPE SIZE INO", "lxstat ...", "fxstatat ..."
 * (each or "NAME: ERRNO"; exit 1 if any failed). The LFS build calls the *64
 * names (__xstat64, __lxstat64, __fxstatat64), as old large-file programs do.
 */
#include "probe.h"

#define STAT_VER 1

#if defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64
/* struct stat is struct stat64 here */
extern int __xstat64(int ver, const char *path, struct stat *st);
extern int __lxstat64(int ver, const char *path, struct stat *st);
extern int __fxstatat64(int ver, int dirfd, const char *path, struct stat *st, int flags);
#define XSTAT __xstat64
#define LXSTAT __lxstat64
#define FXSTATAT __fxstatat64
#else
extern int __xstat(int ver, const char *path, struct stat *st);
extern int __lxstat(int ver, const char *path, struct stat *st);
extern int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
#define XSTAT __xstat
#define LXSTAT __lxstat
#define FXSTATAT __fxstatat
#endif

static int show(const char *what, int r, const struct stat *st)
{
	if (r < 0)
		return probe_fail(what, errno);
	printf("%s %s %lld %llu\n", what, probe_type(st->st_mode), (long long)st->st_size,
	       (unsigned long long)st->st_ino);
	return 0;
}

int main(int argc, char **argv)
{
	struct stat st;
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: probe-xstat PATH\n");
		return 2;
	}
	bad |= show("xstat", XSTAT(STAT_VER, argv[1], &st), &st);
	bad |= show("lxstat", LXSTAT(STAT_VER, argv[1], &st), &st);
	bad |= show("fxstatat", FXSTATAT(STAT_VER, AT_FDCWD, argv[1], &st, AT_SYMLINK_NOFOLLOW), &st);
	return bad;
}
