/* SPDX-License-Identifier: MIT */
/*
 * check_policy.c - unit tests of src/core/mutate_policy.c: which writable branch a new
 * name (create=tdp, rr, mfs, mfsrr, pmfs) or a copy-up (cpup=tdp, bup, bu)
 * goes to, given the branches holding the parent directory and the highest
 * branch a whiteout allows. Free space is made to differ with the seam of
 * include/aufs/fault.h: a branch whose statfs fails counts as full, and the
 * statfs calls counted show when the mfs answer is remembered.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aufs/fault.h"
#include "fixture.h"
#include "internal.h"

Suite *policy_suite(void);

#define B(i) MASK_BIT(i)
/* t and w writable, b read-only */
#define TWB(extra) "br:@/t=rw:@/w=rw:@/b=ro" extra

START_TEST(test_tdp)
{
	struct aufs_union *u = fx_start(NULL, TWB(""));

	ck_assert_int_eq(u->opts.create, AUFS_CREATE_TDP);
	ck_assert_int_eq(policy_create(u, B(0) | B(2), -1, false), 0);
	ck_assert_int_eq(policy_create(u, B(1) | B(2), -1, false), 1);	/* the parent's */
	ck_assert_int_eq(policy_create(u, B(1) | B(2), -1, true), 1);
	ck_assert_int_eq(policy_create(u, B(2), -1, false), 1);	/* nearest above it */
	/* a whiteout in branch 0 hides what is made below it: only 0 qualifies */
	ck_assert_int_eq(policy_create(u, B(1) | B(2), 0, false), 0);
}
END_TEST

START_TEST(test_tdp_read_only)
{
	struct aufs_union *u = fx_start(NULL, "br:@/t=ro:@/b=ro");

	ck_assert_int_eq(policy_create(u, B(0) | B(1), -1, false), -EROFS);
	ck_assert_int_eq(policy_copyup(u, B(0) | B(1), 1), -EROFS);
}
END_TEST

START_TEST(test_tdp_parent_above_writable)
{
	/* ro over rw: the parent only in the ro top, the writable one is below it */
	struct aufs_union *u = fx_start(NULL, "br:@/t=ro:@/w=rw:@/b=ro");

	ck_assert_int_eq(policy_create(u, B(0), -1, false), 1);
	ck_assert_int_eq(policy_create(u, B(0), 0, false), -EROFS);	/* not below a whiteout */
}
END_TEST

START_TEST(test_rr)
{
	struct aufs_union *u = fx_start(NULL, TWB(",create=rr"));
	int seen[3] = { 0 };

	for (int i = 0; i < 10; i++) {
		int b = policy_create(u, B(2), -1, false);

		ck_assert(b == 0 || b == 1);
		seen[b]++;
	}
	ck_assert_int_eq(seen[0], 5);	/* turns, shared through the union's state */
	ck_assert_int_eq(seen[1], 5);
	/* mkdir keeps one branch, the tdp one (the manual's exception) */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(policy_create(u, B(0) | B(2), -1, true), 0);
	/* below a whiteout in branch 0: only 0 */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(policy_create(u, B(2), 0, false), 0);
}
END_TEST

START_TEST(test_rr_alternates)
{
	struct aufs_union *u = fx_start(NULL, TWB(",create=rr"));
	int prev = policy_create(u, B(2), -1, false);

	for (int i = 0; i < 6; i++) {
		int b = policy_create(u, B(2), -1, false);

		ck_assert_int_ne(b, prev);
		prev = b;
	}
}
END_TEST

/*
 * An O_EXCL create leaves the top branch's whiteout of a name no lower branch has
 * unprobed (AUFS_LOC_WH_UNPROBED): it hides nothing below. When create=rr puts the
 * name under the top branch, that whiteout would hide it: it is looked for then,
 * and the name goes to the top branch.
 */
START_TEST(test_rr_excl_under_stale_whiteout)
{
	char name[64];
	struct stat st;
	int in_w = 0;

	fx_start("t/d/.wh.n0 t/d/.wh.n1 t/d/.wh.n2 t/d/.wh.n3 w/d/ b/d/x", TWB(",create=rr"));
	for (int i = 0; i < 4; i++) {
		int fd;

		fx_fmt(name, sizeof(name), "@/mnt/d/m%d", i);
		fd = aufs_openat(AT_FDCWD, fx_ex(name), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		ck_assert_int_ge(fd, 0);
		close(fd);
		fx_fmt(name, sizeof(name), "w/d/m%d", i);
		in_w += access(fx_at(name), F_OK) == 0;
	}
	for (int i = 0; i < 4; i++) {
		int fd;

		fx_fmt(name, sizeof(name), "@/mnt/d/n%d", i);
		fd = aufs_openat(AT_FDCWD, fx_ex(name), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		ck_assert_int_ge(fd, 0);
		close(fd);
		ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex(name), &st, AT_SYMLINK_NOFOLLOW), 0);
		fx_fmt(name, sizeof(name), "t/d/n%d", i);
		ck_assert_msg(access(fx_at(name), F_OK) == 0, "n%d is not in the top branch", i);
	}
	ck_assert_int_eq(in_w, 2);	/* the policy takes turns */
}
END_TEST

START_TEST(test_rr_read_only)
{
	struct aufs_union *u = fx_start(NULL, "br:@/t=ro:@/b=ro,create=rr");

	ck_assert_int_eq(policy_create(u, B(0), -1, false), -EROFS);
}
END_TEST

START_TEST(test_mfs)
{
	struct aufs_union *u = fx_start(NULL, TWB(",create=mfs:0"));

	/* one file system: equal space, the first wins */
	ck_assert_int_eq(policy_create(u, B(2), -1, false), 0);
	/* branch 0's statfs fails: it counts as full */
	aufs_fault_set(SYS_statfs, 1, EIO);
	ck_assert_int_eq(policy_create(u, B(2), -1, false), 1);
	ck_assert_uint_eq(aufs_fault_count(SYS_statfs), 2);	/* the writable ones only */
	aufs_fault_set(SYS_statfs, 2, EIO);
	ck_assert_int_eq(policy_create(u, B(0) | B(2), -1, true), 0);
	/* below a whiteout in branch 0 the other is never asked */
	aufs_fault_set(SYS_statfs, 1, EIO);
	ck_assert_int_eq(policy_create(u, B(2), 0, false), 0);
	aufs_fault_clear();
}
END_TEST

/* create=mfs:SEC remembers its answer for SEC seconds: no statfs meanwhile. */
START_TEST(test_mfs_remembered)
{
	struct aufs_union *u = fx_start(NULL, TWB(",create=mfs:3600"));

	aufs_fault_set(SYS_statfs, 1, EIO);
	ck_assert_int_eq(policy_create(u, B(2), -1, false), 1);
	aufs_fault_clear();
	ck_assert_int_eq(policy_create(u, B(2), -1, false), 1);
	ck_assert_uint_eq(aufs_fault_count(SYS_statfs), 0);
	/* another candidate set is asked afresh */
	ck_assert_int_eq(policy_create(u, B(2), 0, false), 0);
	ck_assert_uint_eq(aufs_fault_count(SYS_statfs), 1);
}
END_TEST

START_TEST(test_mfsrr)
{
	/* a low watermark no branch reaches: round robin */
	struct aufs_union *u = fx_start(NULL, TWB(",create=mfsrr:1048576g:0"));
	int a = policy_create(u, B(2), -1, false), b = policy_create(u, B(2), -1, false);

	ck_assert(a >= 0 && a <= 1 && b >= 0 && b <= 1 && a != b);
}
END_TEST

START_TEST(test_mfsrr_above_low)
{
	struct aufs_union *u = fx_start(NULL, TWB(",create=mfsrr:1k:0"));

	for (int i = 0; i < 4; i++) {
		aufs_fault_set(SYS_statfs, 1, EIO);
		ck_assert_int_eq(policy_create(u, B(2), -1, false), 1);	/* most free */
	}
	aufs_fault_clear();
}
END_TEST

START_TEST(test_pmfs)
{
	struct aufs_union *u = fx_start(NULL, TWB(",create=pmfs:0"));

	/* the most free among the parent's writable branches: only w has the parent */
	ck_assert_int_eq(policy_create(u, B(1) | B(2), -1, false), 1);
	/* both have it: the most free; branch 0 full */
	aufs_fault_set(SYS_statfs, 1, EIO);
	ck_assert_int_eq(policy_create(u, B(0) | B(1) | B(2), -1, false), 1);
	aufs_fault_clear();
	/* no writable branch has the parent: the most free of all */
	aufs_fault_set(SYS_statfs, 1, EIO);
	ck_assert_int_eq(policy_create(u, B(2), -1, false), 1);
	aufs_fault_clear();
}
END_TEST

START_TEST(test_cpup_tdp)
{
	struct aufs_union *u = fx_start(NULL, TWB(""));

	ck_assert_int_eq(u->opts.cpup, AUFS_CPUP_TDP);
	ck_assert_int_eq(policy_copyup(u, B(0) | B(1) | B(2), 2), 0);
	ck_assert_int_eq(policy_copyup(u, B(1) | B(2), 2), 1);	/* the parent's */
	ck_assert_int_eq(policy_copyup(u, B(2), 2), 0);		/* the top-most writable */
	ck_assert_int_eq(policy_copyup(u, B(0) | B(1) | B(2), 1), 0);
	ck_assert_int_eq(policy_copyup(u, B(0), 0), -EROFS);	/* nothing above */
}
END_TEST

START_TEST(test_cpup_bup)
{
	struct aufs_union *u = fx_start(NULL, TWB(",cpup=bup"));

	ck_assert_int_eq(policy_copyup(u, B(0) | B(1) | B(2), 2), 1);	/* lowest with parent */
	ck_assert_int_eq(policy_copyup(u, B(0) | B(2), 2), 0);
	ck_assert_int_eq(policy_copyup(u, B(2), 2), 1);	/* none has it: bottom-up */
	ck_assert_int_eq(policy_copyup(u, B(0), 0), -EROFS);
}
END_TEST

START_TEST(test_cpup_bu)
{
	struct aufs_union *u = fx_start(NULL, TWB(",cpup=bu"));

	ck_assert_int_eq(policy_copyup(u, B(0) | B(1) | B(2), 2), 1);
	ck_assert_int_eq(policy_copyup(u, B(0) | B(2), 2), 1);	/* the parent does not count */
	ck_assert_int_eq(policy_copyup(u, B(0) | B(1), 1), 0);
	ck_assert_int_eq(policy_copyup(u, B(0), 0), -EROFS);
}
END_TEST

START_TEST(test_cpup_skips_read_only)
{
	/* rw, ro, rw, ro: a copy from 3 never lands in the ro branch 1 */
	struct aufs_union *u = fx_start(NULL, "br:@/t=rw:@/w=ro:@/b=rw:@/out=ro,cpup=bu");

	ck_assert_int_eq(policy_copyup(u, B(3), 3), 2);
	ck_assert_int_eq(policy_copyup(u, B(2), 2), 0);
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("create");

	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_test(tc, test_tdp);
	tcase_add_test(tc, test_tdp_read_only);
	tcase_add_test(tc, test_tdp_parent_above_writable);
	tcase_add_test(tc, test_rr);
	tcase_add_test(tc, test_rr_alternates);
	tcase_add_test(tc, test_rr_read_only);
	tcase_add_test(tc, test_rr_excl_under_stale_whiteout);
	tcase_add_test(tc, test_mfs);
	tcase_add_test(tc, test_mfs_remembered);
	tcase_add_test(tc, test_mfsrr);
	tcase_add_test(tc, test_mfsrr_above_low);
	tcase_add_test(tc, test_pmfs);
	suite_add_tcase(s, tc);

	tc = tcase_create("cpup");
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_test(tc, test_cpup_tdp);
	tcase_add_test(tc, test_cpup_bup);
	tcase_add_test(tc, test_cpup_bu);
	tcase_add_test(tc, test_cpup_skips_read_only);
	suite_add_tcase(s, tc);
	return s;
}
