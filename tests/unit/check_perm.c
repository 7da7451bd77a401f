/* SPDX-License-Identifier: MIT */
/*
 * check_perm.c - unit tests of the permission rules of src/core/mutate_create.c
 * (perm_check_parent, perm_check_access, perm_check_dir) and of the walk's search
 * check (resolve_walk.c), as aufs_permission() decides: write permission on a
 * directory by its top-most copy only; read and search on every copy
 * (nodirperm1, the default) or on the top-most one (dirperm1).
 *
 * Root passes every mode check, so a test run as root first gives the tree to
 * an unprivileged uid and becomes it (libcheck runs each test in its own child).
 * The caller then owns every copy and the modes alone decide: "t" is the
 * writable branch, "b" the read-only one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aufs/fault.h"
#include "fixture.h"
#include "internal.h"

Suite *perm_suite(void);

#define TEST_UID 65534	/* nobody: any uid without a privilege */

static uid_t chown_uid;

static int chown_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return lchown(p, chown_uid, chown_uid);
}

/* Become an unprivileged owner of the test's tree (a no-op when not root). */
static void drop_root(void)
{
	char list[PATH_MAX];
	int fd;

	if (geteuid() != 0)
		return;
	chown_uid = TEST_UID;
	ck_assert_int_eq(chmod(fx_root, 0755), 0);
	/* the fixture's list of shared state files to remove (fx_add_union() appends) */
	fx_fmt(list, sizeof(list), "%s/shm.list", fx_root);
	fd = open(list, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchown(fd, TEST_UID, TEST_UID), 0);
	close(fd);
	ck_assert_int_eq(nftw(fx_dir, chown_one, 16, FTW_PHYS), 0);
	ck_assert_int_eq(setgroups(0, NULL), 0);
	ck_assert_int_eq(setresgid(TEST_UID, TEST_UID, TEST_UID), 0);
	ck_assert_int_eq(setresuid(TEST_UID, TEST_UID, TEST_UID), 0);
	aufs_creds_changed();
}

static void mode_of(const char *rel, mode_t mode)
{
	ck_assert_msg(chmod(fx_at(rel), mode) == 0, "chmod %s: %s", rel, strerror(errno));
}

/* Resolve union path REL (below @/mnt) into LOC; 0 or -errno. */
static int resolve(const char *rel, struct aufs_loc *loc)
{
	char p[PATH_MAX];

	fx_fmt(p, sizeof(p), "%s/mnt/%s", fx_dir, rel);
	return aufs_resolve(AT_FDCWD, p, 0, loc);
}

static int parent_check(const char *rel)
{
	struct aufs_loc loc;
	int r = resolve(rel, &loc);

	ck_assert_msg(r == 0, "resolve %s: %d", rel, r);
	ck_assert_int_lt(loc.branch, 0);	/* a name to create */
	return perm_check_parent(&loc, loc.pmask);
}

static int access_check(const char *rel, int mode)
{
	struct aufs_loc loc;
	int r = resolve(rel, &loc);

	if (r < 0)
		return r;
	ck_assert_msg(r == 0 && loc.branch >= 0, "resolve %s: %d", rel, r);
	return perm_check_access(&loc, mode, AT_EACCESS);
}

/*
 * The layout of the tenant case: "d" in both branches, the base's copy not
 * writable, the top-most one writable; "only" only in the base, not writable;
 * "open" only in the base, writable; "s" in both, the base's copy not searchable.
 */
#define LAYOUT "t/d/ b/d/f b/only/f b/open/f t/s/x b/s/y"

static struct aufs_union *start(const char *opts)
{
	struct aufs_union *u;

	drop_root();
	u = fx_start(LAYOUT, opts);
	mode_of("b/d", 0555);
	mode_of("b/only", 0555);
	mode_of("b/s", 0644);
	return u;
}

START_TEST(test_write_follows_top_copy)
{
	start("br:@/t=rw:@/b=ro");
	ck_assert_int_eq(parent_check("d/new"), 0);	/* the top-most copy is writable */
	ck_assert_int_eq(parent_check("only/new"), -EACCES);	/* only the base has it */
	ck_assert_int_eq(parent_check("open/new"), 0);	/* the base's copy allows it */
	ck_assert_int_eq(parent_check("new"), 0);	/* the union's root: the top branch */
	/* and access(2) says the same */
	ck_assert_int_eq(access_check("d", W_OK), 0);
	ck_assert_int_eq(access_check("only", W_OK), -EACCES);
	ck_assert_int_eq(access_check("open", W_OK), 0);
}
END_TEST

/* The top-most copy refuses, a lower one would allow: refused. */
START_TEST(test_write_refused_by_top_copy)
{
	start("br:@/t=rw:@/b=ro");
	mode_of("t/d", 0555);
	mode_of("b/d", 0755);
	ck_assert_int_eq(parent_check("d/new"), -EACCES);
	ck_assert_int_eq(access_check("d", W_OK), -EACCES);
}
END_TEST

START_TEST(test_search_nodirperm1)
{
	struct aufs_loc loc;

	start("br:@/t=rw:@/b=ro");
	/* the base's copy of s may not be searched: nothing in s, not even the top's */
	ck_assert_int_eq(resolve("s/new", &loc), -EACCES);
	ck_assert_int_eq(access_check("s", X_OK), -EACCES);
	ck_assert_int_eq(access_check("s", R_OK), 0);	/* 0644 may be read */
	ck_assert_int_eq(access_check("s", W_OK), 0);	/* the top-most copy's */
	ck_assert_int_eq(resolve("s/x", &loc), -EACCES);
	ck_assert_int_eq(resolve("s/x", &loc), -EACCES);	/* never remembered as found */
	ck_assert_int_eq(resolve("s/./x", &loc), -EACCES);
	/* s itself may be looked at: stat does not search it */
	ck_assert_int_eq(resolve("s", &loc), 0);
	ck_assert(loc.flags & AUFS_LOC_DIRPERM);
	ck_assert_int_eq(perm_check_dir(&loc, X_OK, AT_EACCESS), -EACCES);
	ck_assert_int_eq(perm_check_dir(&loc, R_OK, AT_EACCESS), 0);
	/* reading: the base's copy refuses it now */
	mode_of("b/s", 0311);
	ck_assert_int_eq(perm_check_dir(&loc, R_OK, AT_EACCESS), -EACCES);
	ck_assert_int_eq(access_check("s", R_OK), -EACCES);
}
END_TEST

START_TEST(test_search_dirperm1)
{
	struct aufs_loc loc;

	start("br:@/t=rw:@/b=ro,dirperm1");
	ck_assert_int_eq(parent_check("s/new"), 0);
	ck_assert_int_eq(access_check("s", X_OK), 0);
	ck_assert_int_eq(resolve("s/x", &loc), 0);
	ck_assert_int_eq(loc.branch, 0);
	ck_assert_int_eq(perm_check_dir(&loc, R_OK | X_OK, AT_EACCESS), 0);
	/* what only the unsearchable base copy holds is not there for the caller */
	ck_assert_int_eq(resolve("s/y", &loc), 0);
	ck_assert_int_lt(loc.branch, 0);
	/* write permission still follows the top-most copy */
	ck_assert_int_eq(parent_check("only/new"), -EACCES);
}
END_TEST

/* A directory whose copies all let everyone in costs no permission call. */
START_TEST(test_open_dirs_cost_nothing)
{
	struct aufs_loc loc;

	start("br:@/t=rw:@/b=ro");
	mode_of("b/s", 0755);
	aufs_lookup_flush();
	ck_assert_int_eq(resolve("s", &loc), 0);
	ck_assert(!(loc.flags & AUFS_LOC_DIRPERM));
	aufs_fault_set(SYS_faccessat2, 1, EIO);
	ck_assert_int_eq(resolve("s/x", &loc), 0);
	ck_assert_int_eq(perm_check_dir(&loc, R_OK | X_OK, AT_EACCESS), 0);
	ck_assert(!aufs_fault_fired());
	aufs_fault_clear();
}
END_TEST

/* chmod through the union: every process forgets who may search the directory. */
START_TEST(test_chmod_renews_search_state)
{
	struct aufs_loc loc;
	char p[PATH_MAX];

	start("br:@/t=rw:@/b=ro");
	mode_of("b/s", 0755);
	aufs_lookup_flush();
	ck_assert_int_eq(resolve("s", &loc), 0);
	ck_assert(!(loc.flags & AUFS_LOC_DIRPERM));
	fx_fmt(p, sizeof(p), "%s/mnt/s", fx_dir);
	ck_assert_int_eq(aufs_fchmodat(AT_FDCWD, p, 0700, 0), 0);
	ck_assert_int_eq(resolve("s", &loc), 0);
	ck_assert(loc.flags & AUFS_LOC_DIRPERM);
}
END_TEST

/*
 * A base on a read-only mount answers EROFS to any W_OK: the mode bits decide
 * then, since the union writes a copy. The first faccessat2 is made to fail so.
 */
START_TEST(test_read_only_mount_mode_bits)
{
	start("br:@/t=rw:@/b=ro");
	aufs_fault_set(SYS_faccessat2, 1, EROFS);
	ck_assert_int_eq(access_check("only", W_OK), -EACCES);
	ck_assert(aufs_fault_fired());
	aufs_fault_set(SYS_faccessat2, 1, EROFS);
	ck_assert_int_eq(access_check("open", W_OK), 0);
	ck_assert(aufs_fault_fired());
	aufs_fault_set(SYS_faccessat2, 1, EROFS);
	ck_assert_int_eq(access_check("open/f", W_OK), 0);
	ck_assert(aufs_fault_fired());
	aufs_fault_set(SYS_faccessat2, 1, EROFS);
	ck_assert_int_eq(parent_check("only/new"), -EACCES);
	aufs_fault_set(SYS_faccessat2, 1, EROFS);
	ck_assert_int_eq(parent_check("open/new"), 0);
	aufs_fault_clear();
}
END_TEST

/* Without a writable branch above the object, W_OK is EROFS, as aufs says. */
START_TEST(test_no_writable_branch)
{
	start("br:@/t=ro:@/b=ro");
	ck_assert_int_eq(access_check("open/f", W_OK), -EROFS);
	ck_assert_int_eq(access_check("open/f", R_OK), 0);
}
END_TEST

/*
 * W_OK of an object whose top-most copy is read-only: the change needs a copy in
 * the writable branch, made with the caller's rights. The top branch's root may
 * not be written: only what already has a directory there can be copied up.
 */
START_TEST(test_write_needs_a_copy_up)
{
	start("br:@/t=rw:@/b=ro");
	mode_of("b/open/f", 0666);
	mode_of("t", 0555);
	ck_assert_int_eq(access_check("open/f", W_OK), -EACCES);	/* t/open cannot be made */
	ck_assert_int_eq(access_check("open", W_OK), -EACCES);
	ck_assert_int_eq(access_check("d/f", W_OK), 0);	/* t/d is there, writable */
	ck_assert_int_eq(access_check("d", W_OK), 0);	/* changed in place */
	mode_of("t", 0755);
	ck_assert_int_eq(access_check("open/f", W_OK), 0);
}
END_TEST

/* creds_mode_allows(): the class that applies, and root's exceptions. */
START_TEST(test_mode_bits)
{
	struct stat st = { .st_mode = S_IFREG | 0604 };

	drop_root();
	st.st_uid = geteuid();
	st.st_gid = getegid();
	ck_assert(creds_mode_allows(&st, R_OK | W_OK, false));
	ck_assert(!creds_mode_allows(&st, X_OK, false));
	st.st_mode = S_IFREG | 0074;	/* the owner's class applies, not the others' */
	ck_assert(!creds_mode_allows(&st, R_OK, false));
	st.st_uid = geteuid() + 1;
	ck_assert(creds_mode_allows(&st, R_OK | W_OK | X_OK, false));
	st.st_gid = getegid() + 1;
	ck_assert(creds_mode_allows(&st, R_OK, false));
	ck_assert(!creds_mode_allows(&st, W_OK, false));
}
END_TEST

Suite *perm_suite(void)
{
	Suite *s = suite_create("perm");
	TCase *tc = tcase_create("rules");

	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_test(tc, test_write_follows_top_copy);
	tcase_add_test(tc, test_write_refused_by_top_copy);
	tcase_add_test(tc, test_search_nodirperm1);
	tcase_add_test(tc, test_search_dirperm1);
	tcase_add_test(tc, test_open_dirs_cost_nothing);
	tcase_add_test(tc, test_chmod_renews_search_state);
	tcase_add_test(tc, test_read_only_mount_mode_bits);
	tcase_add_test(tc, test_no_writable_branch);
	tcase_add_test(tc, test_write_needs_a_copy_up);
	tcase_add_test(tc, test_mode_bits);
	suite_add_tcase(s, tc);
	return s;
}
