/* SPDX-License-Identifier: MIT */
/*
 * check_beneath.c - unit tests of src/core/mutate_beneath.c: a write into a
 * branch never follows a symlink that replaced a directory of the branch (each
 * verb fails with ELOOP and writes nothing where the symlink leads), a process
 * at its descriptor limit still gets what the kernel makes without one, a verb
 * opens each directory once, and a directory that nobody but the caller can
 * change costs no descriptor once it is written in often.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "aufs/fault.h"
#include "fixture.h"
#include "internal.h"

Suite *beneath_suite(void);

static const char *in(const char *rel)
{
	return fx_at(rel);
}

static int entries(const char *rel)
{
	char cmd[PATH_MAX + 64];
	FILE *f;
	int n = 0, c;

	fx_fmt(cmd, sizeof(cmd), "ls -A '%s'", fx_at(rel));
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	pclose(f);
	return n;
}

/*
 * t/d was a directory when the union looked; it is now a symlink to out/, a
 * directory outside the branch: every verb refuses to go through it.
 */
START_TEST(test_swapped_symlink_refused)
{
	struct timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
	char target[PATH_MAX];

	fx_build("t/ out/ out/f out/g/");
	fx_fmt(target, sizeof(target), "%s", in("out"));
	ck_assert_int_eq(symlink(target, in("t/d")), 0);
	beneath_set_closed(false);	/* the same user swaps: the descriptors are used */

	ck_assert_int_eq(beneath_open(in("t/d/new"), O_WRONLY | O_CREAT | O_EXCL, 0644), -ELOOP);
	ck_assert_int_eq(beneath_create_in(in("t/d/new"), O_WRONLY | O_CREAT | O_EXCL, 0644),
			 -ELOOP);
	ck_assert_int_eq(beneath_mkdirat(in("t/d/dir"), 0755), -ELOOP);
	ck_assert_int_eq(beneath_mknodat(in("t/d/.wh.f"), S_IFREG | 0444, 0), -ELOOP);
	ck_assert_int_eq(beneath_symlinkat("x", in("t/d/link")), -ELOOP);
	ck_assert_int_eq(beneath_unlinkat(in("t/d/f"), 0), -ELOOP);
	ck_assert_int_eq(beneath_unlinkat(in("t/d/g"), AT_REMOVEDIR), -ELOOP);
	ck_assert_int_eq(beneath_renameat2(in("t/d/f"), in("t/d/f2"), 0), -ELOOP);
	ck_assert_int_eq(beneath_linkat(in("t/d/f"), in("t/d/f3")), -ELOOP);
	ck_assert_int_eq(beneath_fchmodat(in("t/d/f"), 0600), -ELOOP);
	ck_assert_int_eq(beneath_fchownat(in("t/d/f"), getuid(), getgid()), -ELOOP);
	ck_assert_int_eq(beneath_utimensat(in("t/d/f"), ts), -ELOOP);
	ck_assert_int_eq(beneath_truncate(in("t/d/f"), 0), -ELOOP);
	ck_assert_int_eq(beneath_setxattr(in("t/d/f"), "user.x", "1", 1, 0, true), -ELOOP);
	/* the last component too, where the kernel's call would follow it */
	ck_assert_int_eq(symlink(fx_at("out/f"), in("t/lf")), 0);
	ck_assert_int_eq(beneath_fchmodat(in("t/lf"), 0600), -ELOOP);
	ck_assert_int_eq(beneath_truncate(in("t/lf"), 0), -ELOOP);
	ck_assert_int_eq(beneath_open(in("t/lf"), O_WRONLY, 0), -ELOOP);

	ck_assert_int_eq(entries("out"), 2);
	ck_assert_int_eq(entries("out/g"), 0);
	beneath_set_closed(true);
}
END_TEST

/* A kernel without openat2 (or a filter refusing it): one O_NOFOLLOW open per component. */
START_TEST(test_without_openat2)
{
	char target[PATH_MAX];
	int fd;

	fx_build("t/ t/e/ t/e/f out/ out/f");
	fx_fmt(target, sizeof(target), "%s", in("out"));
	ck_assert_int_eq(symlink(target, in("t/d")), 0);
	beneath_set_closed(false);
	aufs_fault_set_persist(SYS_openat2, 1, ENOSYS);
	ck_assert_int_eq(beneath_mkdirat(in("t/d/dir"), 0755), -ENOTDIR);
	ck_assert_int_eq(beneath_open(in("t/d/new"), O_WRONLY | O_CREAT | O_EXCL, 0644), -ENOTDIR);
	ck_assert_int_eq(beneath_fchmodat(in("t/d/f"), 0600), -ENOTDIR);
	ck_assert_int_eq(entries("out"), 1);
	/* and what is there is reached */
	fd = beneath_open(in("t/e/f"), O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(beneath_unlinkat(in("t/e/f"), 0), 0);
	ck_assert_int_eq(beneath_mkdirat(in("t/e/g"), 0755), 0);
	ck_assert_int_eq(beneath_renameat2(in("t/e/g"), in("t/e/h"), 0), 0);
	ck_assert_int_eq(access(in("t/e/h"), F_OK), 0);
	aufs_fault_clear();
	beneath_set_closed(true);
}
END_TEST

/* At the descriptor limit: what the kernel makes without a descriptor still works. */
START_TEST(test_descriptor_limit)
{
	fx_build("t/d/ t/d/f t/d/g");
	beneath_set_closed(false);
	aufs_fault_set_persist(SYS_openat2, 1, EMFILE);
	ck_assert_int_eq(beneath_unlinkat(in("t/d/f"), 0), 0);
	ck_assert_int_eq(beneath_renameat2(in("t/d/g"), in("t/d/h"), 0), 0);
	ck_assert_int_eq(beneath_mkdirat(in("t/d/e"), 0755), 0);
	ck_assert_int_eq(beneath_fchmodat(in("t/d/e"), 0700), 0);
	ck_assert_uint_ge(aufs_fault_fired(), 4);
	aufs_fault_clear();
	ck_assert_int_ne(access(in("t/d/f"), F_OK), 0);
	ck_assert_int_eq(access(in("t/d/h"), F_OK), 0);
	ck_assert_int_eq(access(in("t/d/e"), F_OK), 0);
	beneath_set_closed(true);
}
END_TEST

/* A verb's scope opens each directory once, and closes it at its end. */
START_TEST(test_scope_opens_once)
{
	int fds;

	fx_build("t/d/ t/d/a t/d/b t/d/c");
	beneath_set_closed(false);
	fds = fx_count_fds();
	aufs_fault_clear();
	{
		BENEATH_SCOPE();
		ck_assert_int_eq(beneath_renameat2(in("t/d/a"), in("t/d/a2"), 0), 0);
		ck_assert_int_eq(beneath_unlinkat(in("t/d/b"), 0), 0);
		ck_assert_int_eq(beneath_mknodat(in("t/d/.wh.b"), S_IFREG | 0444, 0), 0);
		ck_assert_uint_eq(aufs_fault_count(SYS_openat2), 1);
	}
	ck_assert_int_eq(fx_count_fds(), fds);
	/* without a scope: each verb its own */
	aufs_fault_clear();
	ck_assert_int_eq(beneath_unlinkat(in("t/d/c"), 0), 0);
	ck_assert_int_eq(beneath_unlinkat(in("t/d/a2"), 0), 0);
	ck_assert_uint_eq(aufs_fault_count(SYS_openat2), 2);
	ck_assert_int_eq(fx_count_fds(), fds);
	beneath_set_closed(true);
}
END_TEST

/* A verb left by a longjmp (its scope never ended), as from a signal handler. */
static __attribute__((noinline)) void leave_scope_open(void)
{
	struct beneath_scope s;

	beneath_scope_begin(&s);
	ck_assert_int_eq(beneath_unlinkat(in("t/d/a"), 0), 0);
	/* no beneath_scope_end(): the frame goes, the thread's pointer stays */
}

static __attribute__((noinline)) void scribble(void)
{
	volatile char junk[8192];

	memset((char *)junk, 0x5a, sizeof(junk));
}

START_TEST(test_scope_left_by_longjmp)
{
	fx_build("t/d/ t/d/a t/d/b t/d/c");
	beneath_set_closed(false);
	leave_scope_open();
	scribble();	/* the dead frame's memory reused */
	ck_assert_int_eq(beneath_unlinkat(in("t/d/b"), 0), 0);
	{
		BENEATH_SCOPE();
		ck_assert_int_eq(beneath_unlinkat(in("t/d/c"), 0), 0);
	}
	ck_assert_ptr_null(beneath_scope_cur);
	beneath_set_closed(true);
}
END_TEST

/*
 * A directory only the caller (and root) can change, written in by one verb
 * after another, is learnt (an lstat per level) and then costs nothing. A verb
 * on a name (never following it) needs only the directory's parent closed: in a
 * directory others may write (g+w) it names the path too, while a verb that
 * follows its object (chmod) opens the object, and a directory whose parent
 * others may write always costs its descriptor.
 */
START_TEST(test_closed_directory)
{
	char p[PATH_MAX];

	fx_start("t/d/ t/open/ t/open/f b/", "br:@/t=rw:@/b=ro");
	for (int i = 0; i < 4; i++) {
		aufs_fault_clear();
		fx_fmt(p, sizeof(p), "%s/%d", fx_ex("@/mnt/d"), i);
		ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, p, 0755), 0);
		/* the first verb may open it, the next ones need nothing */
		ck_assert_uint_le(aufs_fault_count(SYS_openat2), i == 0 ? 1 : 0);
	}
	/* opened up through the union: forgotten at once, then learnt as g+w */
	ck_assert_int_eq(aufs_fchmodat(AT_FDCWD, fx_ex("@/mnt/open"), 0775, 0), 0);
	for (int i = 0; i < 3; i++) {
		aufs_fault_clear();
		fx_fmt(p, sizeof(p), "%s/%d", fx_ex("@/mnt/open"), i);
		ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, p, 0755), 0);
		ck_assert_uint_eq(aufs_fault_count(SYS_openat2), 0);
	}
	aufs_fault_clear();
	ck_assert_int_eq(aufs_fchmodat(AT_FDCWD, fx_ex("@/mnt/open/f"), 0600, 0), 0);
	ck_assert_uint_eq(aufs_fault_count(SYS_openat2), 1);	/* the object's descriptor */
	for (int i = 0; i < 2; i++) {
		aufs_fault_clear();
		fx_fmt(p, sizeof(p), "%s/x%d", fx_ex("@/mnt/open/0"), i);
		ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, p, 0755), 0);
		ck_assert_uint_eq(aufs_fault_count(SYS_openat2), 1);	/* its parent is g+w */
	}
}
END_TEST

/*
 * A thread keeps its verdict over a directory's chain of parents: a parent
 * opened up through the union (chmod 0777) makes every verdict resting on it
 * stale at once, so that a write below it takes its descriptor again.
 */
START_TEST(test_closed_chain_forgotten)
{
	char p[PATH_MAX];

	fx_start("t/a/b/c/ b/", "br:@/t=rw:@/b=ro");
	for (int i = 0; i < 3; i++) {
		aufs_fault_clear();
		fx_fmt(p, sizeof(p), "%s/%d", fx_ex("@/mnt/a/b/c"), i);
		ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, p, 0755), 0);
		ck_assert_uint_le(aufs_fault_count(SYS_openat2), i == 0 ? 1 : 0);
	}
	/* a, two levels above c: b stays closed itself, but a may now be written by anyone */
	ck_assert_int_eq(aufs_fchmodat(AT_FDCWD, fx_ex("@/mnt/a"), 0777, 0), 0);
	for (int i = 0; i < 2; i++) {
		aufs_fault_clear();
		fx_fmt(p, sizeof(p), "%s/x%d", fx_ex("@/mnt/a/b/c"), i);
		ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, p, 0755), 0);
		ck_assert_uint_eq(aufs_fault_count(SYS_openat2), 1);
	}
}
END_TEST

/*
 * A call below a branch root starts at the root's descriptor (util_root.c): a
 * directory above the root that anybody may write (here the one holding the
 * branches, 0777 without the sticky bit) can move the root's path, not what the
 * call reaches. So the chain of parents is judged up to the root only.
 */
START_TEST(test_closed_at_branch_root)
{
	char p[PATH_MAX];

	fx_start("t/d/ b/", "br:@/t=rw:@/b=ro");
	ck_assert_int_eq(chmod(fx_at(""), 0777), 0);
	for (int i = 0; i < 3; i++) {
		aufs_fault_clear();
		fx_fmt(p, sizeof(p), "%s/%d", fx_ex("@/mnt/d"), i);
		ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, p, 0755), 0);
		ck_assert_uint_le(aufs_fault_count(SYS_openat2), i == 0 ? 1 : 0);
		if (i == 2)	/* the new name's probe: nothing above the root is asked */
			ck_assert_uint_le(aufs_fault_count(SYS_newfstatat), 1);
	}
	ck_assert_int_eq(chmod(fx_at(""), 0755), 0);
}
END_TEST

Suite *beneath_suite(void)
{
	Suite *s = suite_create("beneath");
	TCase *tc = tcase_create("beneath");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_test(tc, test_swapped_symlink_refused);
	tcase_add_test(tc, test_without_openat2);
	tcase_add_test(tc, test_descriptor_limit);
	tcase_add_test(tc, test_scope_opens_once);
	tcase_add_test(tc, test_scope_left_by_longjmp);
	tcase_add_test(tc, test_closed_directory);
	tcase_add_test(tc, test_closed_chain_forgotten);
	tcase_add_test(tc, test_closed_at_branch_root);
	suite_add_tcase(s, tc);
	return s;
}
