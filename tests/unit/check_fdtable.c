/* SPDX-License-Identifier: MIT */
/*
 * check_fdtable.c - unit tests of the descriptor table of src/core/path.c
 * (include/aufs/core.h): the virtual path of a directory or O_PATH fd opened in
 * a union (aufs_fd_set, aufs_fd_get), fds known to be outside every union
 * (aufs_fd_mark_outside), fds of a read-only branch's file (aufs_fd_mark_lower),
 * and how dup, close_range and close (aufs_fd_forget) carry them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

Suite *fdtable_suite(void);

#define FD_LIMIT (1 << 20)	/* the table's reach: fds up to 2^20 (state_fd.c) */

static void assert_path(int fd, const char *want)
{
	char buf[PATH_MAX];
	int n = aufs_fd_get(fd, buf, sizeof(buf));

	ck_assert_msg(n == (int)strlen(want), "fd %d: %d", fd, n);
	ck_assert_str_eq(buf, want);
	ck_assert(aufs_fd_known(fd));
}

static int get(int fd)
{
	char buf[PATH_MAX];

	return aufs_fd_get(fd, buf, sizeof(buf));
}

START_TEST(test_unknown)
{
	ck_assert_int_eq(get(5), -ENOENT);
	ck_assert_int_eq(get(-1), -ENOENT);
	ck_assert_int_eq(get(FD_LIMIT), -ENOENT);
	ck_assert(!aufs_fd_known(5));
	ck_assert(!aufs_fd_is_lower(5));
	ck_assert(!aufs_fd_is_lower(-3));
}
END_TEST

START_TEST(test_set_get)
{
	char small[4];

	aufs_fd_set(7, "/srv/www/t1");
	assert_path(7, "/srv/www/t1");
	aufs_fd_set(7, "/srv/www/t1/html");	/* replaced */
	assert_path(7, "/srv/www/t1/html");
	ck_assert_int_eq(aufs_fd_get(7, small, sizeof(small)), -ENAMETOOLONG);
	aufs_fd_set(7, NULL);
	ck_assert_int_eq(get(7), -ENOENT);
	ck_assert(!aufs_fd_known(7));
	/* out of reach: ignored, never stored */
	aufs_fd_set(-1, "/x");
	aufs_fd_set(FD_LIMIT, "/x");
	ck_assert_int_eq(get(FD_LIMIT), -ENOENT);
}
END_TEST

START_TEST(test_high_fds)
{
	aufs_fd_set(70000, "/a");	/* another page of the table */
	aufs_fd_set(FD_LIMIT - 1, "/b");
	assert_path(70000, "/a");
	assert_path(FD_LIMIT - 1, "/b");
	ck_assert_int_eq(get(70001), -ENOENT);
}
END_TEST

START_TEST(test_outside)
{
	aufs_fd_mark_outside(9);
	ck_assert_int_eq(get(9), -EXDEV);
	ck_assert(!aufs_fd_known(9));	/* known outside is not a union path */
	aufs_fd_set(9, "/u");
	assert_path(9, "/u");
	aufs_fd_mark_outside(9);
	ck_assert_int_eq(get(9), -EXDEV);
	aufs_fd_forget(9);
	ck_assert_int_eq(get(9), -ENOENT);
}
END_TEST

START_TEST(test_lower)
{
	aufs_fd_mark_lower(11, true);
	ck_assert(aufs_fd_is_lower(11));
	ck_assert(!aufs_fd_is_lower(10));
	ck_assert(!aufs_fd_is_lower(12));
	ck_assert_int_eq(get(11), -ENOENT);	/* a separate bit, no path */
	aufs_fd_mark_lower(11, false);
	ck_assert(!aufs_fd_is_lower(11));
	aufs_fd_mark_lower(63, true);
	aufs_fd_mark_lower(64, true);
	ck_assert(aufs_fd_is_lower(63) && aufs_fd_is_lower(64));
	aufs_fd_forget(63);
	ck_assert(!aufs_fd_is_lower(63) && aufs_fd_is_lower(64));
	aufs_fd_mark_lower(FD_LIMIT, true);	/* out of reach: ignored */
	ck_assert(!aufs_fd_is_lower(FD_LIMIT));
}
END_TEST

START_TEST(test_dup)
{
	aufs_fd_set(3, "/u/d");
	aufs_fd_mark_lower(3, true);
	aufs_fd_dup(3, 20);
	assert_path(20, "/u/d");
	ck_assert(aufs_fd_is_lower(20));
	/* the copy is its own: changing one leaves the other */
	aufs_fd_set(3, "/u/e");
	assert_path(20, "/u/d");

	aufs_fd_mark_outside(4);
	aufs_fd_dup(4, 20);	/* dup2 over a known fd */
	ck_assert_int_eq(get(20), -EXDEV);
	ck_assert(!aufs_fd_is_lower(20));

	aufs_fd_set(21, "/u/x");
	aufs_fd_mark_lower(21, true);
	aufs_fd_dup(5, 21);	/* an unknown fd over a known one clears it */
	ck_assert_int_eq(get(21), -ENOENT);
	ck_assert(!aufs_fd_is_lower(21));

	aufs_fd_dup(3, 3);	/* onto itself: nothing */
	assert_path(3, "/u/e");
}
END_TEST

START_TEST(test_close_range)
{
	for (int fd = 3; fd < 40; fd++) {
		aufs_fd_set(fd, "/u");
		aufs_fd_mark_lower(fd, true);
	}
	aufs_fd_mark_outside(41);
	aufs_fd_set(5000, "/far");
	aufs_fd_close_range(10, 20);
	for (int fd = 3; fd < 40; fd++) {
		bool gone = fd >= 10 && fd <= 20;

		ck_assert_int_eq(get(fd), gone ? -ENOENT : 2);
		ck_assert(aufs_fd_is_lower(fd) == !gone);
	}
	/* to the end: everything from 30 on, across pages and the empty ones */
	aufs_fd_close_range(30, UINT_MAX);
	ck_assert_int_eq(get(29), 2);
	ck_assert_int_eq(get(30), -ENOENT);
	ck_assert_int_eq(get(41), -ENOENT);
	ck_assert_int_eq(get(5000), -ENOENT);
	ck_assert(!aufs_fd_is_lower(39));
	ck_assert(aufs_fd_is_lower(29));
	/* an empty range, and one reversed */
	aufs_fd_close_range(29, 28);
	ck_assert_int_eq(get(29), 2);
	aufs_fd_close_range(0, UINT_MAX);
	ck_assert_int_eq(get(3), -ENOENT);
	ck_assert(!aufs_fd_is_lower(3));
}
END_TEST

START_TEST(test_forget)
{
	aufs_fd_set(6, "/u");
	aufs_fd_mark_lower(6, true);
	aufs_fd_forget(6);
	ck_assert_int_eq(get(6), -ENOENT);
	ck_assert(!aufs_fd_is_lower(6));
	aufs_fd_forget(6);	/* twice: nothing */
	aufs_fd_forget(-1);
	aufs_fd_forget(FD_LIMIT + 5);
}
END_TEST

START_TEST(test_long_path)
{
	static char p[PATH_MAX + 100];
	char buf[PATH_MAX];

	memset(p, 'a', PATH_MAX - 1);
	p[0] = '/';
	aufs_fd_set(8, p);
	ck_assert_int_eq(aufs_fd_get(8, buf, sizeof(buf)), PATH_MAX - 1);
	ck_assert_int_eq(aufs_fd_get(8, buf, PATH_MAX - 1), -ENAMETOOLONG);
	aufs_fd_dup(8, 9);
	ck_assert_int_eq(aufs_fd_get(9, buf, sizeof(buf)), PATH_MAX - 1);
	/* longer than any buffer of the core: a dup never keeps a stale slot */
	memset(p, 'a', sizeof(p) - 1);
	p[0] = '/';
	aufs_fd_set(8, p);
	ck_assert_int_eq(aufs_fd_get(8, buf, sizeof(buf)), -ENAMETOOLONG);
	aufs_fd_dup(8, 9);
	ck_assert_int_eq(aufs_fd_get(9, buf, sizeof(buf)), -ENOENT);
}
END_TEST

/* Threads setting and reading their own fds of one fresh page at once. */
static void *worker(void *arg)
{
	int base = (int)(long)arg;
	char want[32], buf[64];

	for (int round = 0; round < 2000; round++) {
		int fd = base + round % 16;

		snprintf(want, sizeof(want), "/u/%d/%d", fd, round);
		aufs_fd_set(fd, want);
		if (aufs_fd_get(fd, buf, sizeof(buf)) != (int)strlen(want) || strcmp(buf, want))
			return (void *)1;
		aufs_fd_forget(fd);
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[4];
	void *ret;

	/* fds 200000 and up: a page of the table no other test touched */
	for (long i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker, (void *)(200000 + i * 16)),
				 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
}
END_TEST

Suite *fdtable_suite(void)
{
	Suite *s = suite_create("fdtable");
	TCase *tc = tcase_create("table");

	/* fork mode: every test starts from an empty table */
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_set_get);
	tcase_add_test(tc, test_high_fds);
	tcase_add_test(tc, test_outside);
	tcase_add_test(tc, test_lower);
	tcase_add_test(tc, test_dup);
	tcase_add_test(tc, test_close_range);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_long_path);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}
