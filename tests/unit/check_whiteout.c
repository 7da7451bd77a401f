/* SPDX-License-Identifier: MIT */
/*
 * check_whiteout.c - unit tests of src/core/mutate_whiteout.c: the aufs markers in a
 * writable branch. wh_create() makes ".wh.NAME" a hard link of the branch's
 * ".wh..wh.aufs" (a plain empty file under +nolwh, or when the link fails),
 * wh_remove() takes it away, wh_make_opaque() writes ".wh..wh..opq", and
 * wh_clear_dir() empties a directory of every marker before rmdir; each under
 * injected faults too (include/aufs/fault.h): a marker exists completely or not
 * at all, errors are reported, no descriptor leaks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aufs/fault.h"
#include "fixture.h"
#include "internal.h"

Suite *whiteout_suite(void);

static struct stat st_of(const char *rel)
{
	struct stat st;

	ck_assert_msg(lstat(fx_at(rel), &st) == 0, "lstat %s: %s", rel, strerror(errno));
	return st;
}

static bool exists(const char *rel)
{
	struct stat st;

	return lstat(fx_at(rel), &st) == 0;
}

START_TEST(test_create_links_the_base)
{
	struct aufs_union *u = fx_start("t/d/ b/d/f", "br:@/t=rw:@/b=ro");
	struct stat a, b, base;

	/* the base and the links need no descriptor: EMFILE cannot stop an unlink */
	aufs_fault_set_persist(SYS_openat, 1, EMFILE);
	ck_assert_int_eq(wh_create(u, 0, "d", 1, "f"), 0);
	ck_assert_int_eq(wh_create(u, 0, "", 0, "g"), 0);
	ck_assert_uint_eq(aufs_fault_fired(), 0);
	aufs_fault_clear();
	a = st_of("t/d/.wh.f");
	b = st_of("t/.wh.g");
	base = st_of("t/.wh..wh.aufs");
	ck_assert(S_ISREG(a.st_mode) && a.st_size == 0);
	ck_assert_uint_eq(a.st_ino, base.st_ino);
	ck_assert_uint_eq(b.st_ino, base.st_ino);
	ck_assert_uint_eq(base.st_nlink, 3);
	ck_assert_uint_eq(base.st_mode & 07777, 0444);
	/* again: nothing changes, no error */
	ck_assert_int_eq(wh_create(u, 0, "d", 1, "f"), 0);
	ck_assert_uint_eq(st_of("t/.wh..wh.aufs").st_nlink, 3);
}
END_TEST

START_TEST(test_create_nolwh)
{
	struct aufs_union *u = fx_start("t/d/ b/d/f", "br:@/t=rw+nolwh:@/b=ro");
	struct stat a;

	aufs_fault_set_persist(SYS_openat, 1, EMFILE);
	ck_assert_int_eq(wh_create(u, 0, "d", 1, "f"), 0);
	ck_assert_uint_eq(aufs_fault_fired(), 0);
	aufs_fault_clear();
	a = st_of("t/d/.wh.f");
	ck_assert(S_ISREG(a.st_mode) && a.st_size == 0 && a.st_nlink == 1);
	ck_assert_uint_eq(a.st_mode & 07777, 0444);
	ck_assert(!exists("t/.wh..wh.aufs"));
}
END_TEST

/* A branch that refuses the link (EMLINK, no hard links) still gets a whiteout. */
START_TEST(test_create_link_fails)
{
	struct aufs_union *u = fx_start("t/d/ b/d/f", "br:@/t=rw:@/b=ro");

	aufs_fault_set_persist(SYS_linkat, 1, EMLINK);
	ck_assert_int_eq(wh_create(u, 0, "d", 1, "f"), 0);
	ck_assert_uint_eq(aufs_fault_fired(), 1);
	aufs_fault_clear();
	ck_assert_uint_eq(st_of("t/d/.wh.f").st_nlink, 1);
	/* the base is made only when a link finds it missing: never linked, if there */
	ck_assert(!exists("t/.wh..wh.aufs") || st_of("t/.wh..wh.aufs").st_nlink == 1);
}
END_TEST

START_TEST(test_create_errors)
{
	struct aufs_union *u = fx_start("t/d/ b/d/f", "br:@/t=rw:@/b=ro");
	char name[NAME_MAX + 2];

	ck_assert_int_eq(wh_create(u, 0, "nodir", 5, "f"), -ENOENT);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	ck_assert_int_eq(wh_create(u, 0, "d", 1, name), -ENAMETOOLONG);
	ck_assert(!exists("t/nodir"));
}
END_TEST

START_TEST(test_remove)
{
	struct aufs_union *u = fx_start("t/d/.wh.f t/d/keep b/d/f", "br:@/t=rw:@/b=ro");

	ck_assert_int_eq(wh_remove(u, 0, "d", 1, "f"), 0);
	ck_assert(!exists("t/d/.wh.f"));
	ck_assert(exists("t/d/keep"));
	ck_assert_int_eq(wh_remove(u, 0, "d", 1, "f"), 0);	/* none: fine */
	ck_assert_int_eq(wh_remove(u, 0, "nodir", 5, "f"), 0);
	fx_build("t/d/.wh.g");
	aufs_fault_set(SYS_unlinkat, 1, EIO);
	ck_assert_int_eq(wh_remove(u, 0, "d", 1, "g"), -EIO);
	aufs_fault_clear();
	ck_assert(exists("t/d/.wh.g"));
}
END_TEST

START_TEST(test_make_opaque)
{
	struct aufs_union *u = fx_start("t/d/ b/d/f", "br:@/t=rw:@/b=ro");
	struct stat st;

	ck_assert_int_eq(wh_make_opaque(u, 0, "d", 1), 0);
	st = st_of("t/d/.wh..wh..opq");
	ck_assert(S_ISREG(st.st_mode) && st.st_size == 0);
	ck_assert_int_eq(wh_make_opaque(u, 0, "d", 1), 0);
	ck_assert_int_eq(wh_make_opaque(u, 0, "nodir", 5), -ENOENT);
	aufs_fault_set(SYS_mknodat, 1, ENOSPC);
	ck_assert_int_eq(wh_make_opaque(u, 0, "", 0), -ENOSPC);
	aufs_fault_clear();
	ck_assert(!exists("t/.wh..wh..opq"));
	/* made without a descriptor: a process at its limit still gets its marker */
	aufs_fault_set_persist(SYS_openat, 1, EMFILE);
	ck_assert_int_eq(wh_make_opaque(u, 0, "", 0), 0);
	ck_assert_uint_eq(aufs_fault_fired(), 0);
	aufs_fault_clear();
	ck_assert(exists("t/.wh..wh..opq"));
}
END_TEST

static int count_entries(const char *rel)
{
	DIR *d = opendir(fx_at(rel));
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/*
 * More markers than one getdents64 buffer of mutate_whiteout.c holds (32 KiB, about
 * 500 of these names), made as aufs makes them: hard links of one file.
 */
static void many_whiteouts(int n)
{
	char name[64];

	fx_put("t/.wh..wh.aufs", "", 0444);
	for (int i = 0; i < n; i++) {
		fx_fmt(name, sizeof(name), "t/d/.wh.name-%05d-padding-padding-padding", i);
		ck_assert_int_eq(link(fx_at("t/.wh..wh.aufs"), fx_at(name)), 0);
	}
}

START_TEST(test_clear_dir)
{
	struct aufs_union *u = fx_start("t/d/.wh..wh..opq t/d/.wh.a t/d/keep t/d/sub/.wh.x b/d/a",
					"br:@/t=rw:@/b=ro");

	many_whiteouts(1200);
	ck_assert_int_eq(wh_clear_dir(u, 0, "d", 1), 0);
	ck_assert_int_eq(count_entries("t/d"), 2);	/* keep, sub */
	ck_assert(exists("t/d/sub/.wh.x"));		/* not recursive */
	ck_assert_int_eq(wh_clear_dir(u, 0, "nodir", 5), 0);
	ck_assert_int_eq(wh_clear_dir(u, 0, "d", 1), 0);
}
END_TEST

/* Every unlink of the emptying failing in turn: an error, fds intact, a subset left. */
START_TEST(test_clear_dir_sweep)
{
	struct aufs_union *u;
	unsigned n;

	for (n = 1;; n++) {
		int r, fds, left;
		unsigned long fired;

		ck_assert_uint_lt(n, 2000);
		fx_fresh();
		u = fx_start("t/d/keep b/d/a", "br:@/t=rw:@/b=ro");
		many_whiteouts(700);
		fds = fx_count_fds();
		aufs_fault_set(AUFS_FAULT_ANY, n, EIO);
		r = wh_clear_dir(u, 0, "d", 1);
		fired = aufs_fault_fired();
		aufs_fault_clear();
		ck_assert_int_eq(fx_count_fds(), fds);
		ck_assert(exists("t/d/keep"));
		left = count_entries("t/d");
		if (!fired) {
			ck_assert_int_eq(r, 0);
			ck_assert_int_eq(left, 1);
			break;
		}
		if (r == 0)
			ck_assert_int_eq(left, 1);	/* a close failed after the work */
		else
			ck_assert_int_eq(r, -EIO);
		ck_assert_int_le(left, 701);
		if (n > 12)
			n += 97;	/* the middle of a batch is all alike */
	}
}
END_TEST

/* wh_create under every fault: a whole whiteout or none, the error said. */
START_TEST(test_create_sweep)
{
	static const int errs[] = { EIO, ENOSPC, EMLINK };

	for (size_t e = 0; e < sizeof(errs) / sizeof(errs[0]); e++) {
		for (unsigned n = 1;; n++) {
			struct aufs_union *u;
			int r, fds;
			unsigned long fired;

			ck_assert_uint_lt(n, 100);
			fx_fresh();
			u = fx_start("t/d/ b/d/f", "br:@/t=rw:@/b=ro");
			fds = fx_count_fds();
			aufs_fault_set(AUFS_FAULT_ANY, n, errs[e]);
			r = wh_create(u, 0, "d", 1, "f");
			fired = aufs_fault_fired();
			aufs_fault_clear();
			ck_assert_int_eq(fx_count_fds(), fds);
			if (r == 0) {
				struct stat st = st_of("t/d/.wh.f");

				ck_assert(S_ISREG(st.st_mode) && st.st_size == 0);
			} else {
				ck_assert_int_eq(r, -errs[e]);
				ck_assert(!exists("t/d/.wh.f"));
			}
			if (!fired) {
				ck_assert_int_eq(r, 0);
				break;
			}
		}
	}
}
END_TEST

Suite *whiteout_suite(void)
{
	Suite *s = suite_create("whiteout");
	TCase *tc = tcase_create("markers");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_test(tc, test_create_links_the_base);
	tcase_add_test(tc, test_create_nolwh);
	tcase_add_test(tc, test_create_link_fails);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_make_opaque);
	tcase_add_test(tc, test_clear_dir);
	tcase_add_test(tc, test_clear_dir_sweep);
	tcase_add_test(tc, test_create_sweep);
	suite_add_tcase(s, tc);
	return s;
}
