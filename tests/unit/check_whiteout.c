/* SPDX-License-Identifier: MIT */
/*
 * check_whiteout.c - unit tests of src/core/mutate_whiteout.c: the aufs markers in a
 * writable branch. wh_create() makes ".wh.NAME" a hard link of the branch's
 * ".wh..wh.aufs" (a plain empty file under +nolwh, or when the link fails),
 * wh_remove() takes it away, wh_make_opaque() writes ".wh..wh..opq", and
 * wh_clear_dir() empties a directory of every marker before rmdir; each under
 * injected faults too (include/aufs/fault.h): a marker exists completely or not
 * at all, errors are reported, no descriptor leaks. wh_reap_temps() removes the
 * temporaries of dead processes, and a temporary's name found taken sends the
 * copy-up and the mkdir over a whiteout to another one; a branch's own entry wins
 * over its whiteout beside it.
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
#include <sys/wait.h>
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

	ck_assert_int_eq(wh_create(u, 0, "d", 1, "f"), 0);
	ck_assert_int_eq(wh_create(u, 0, "", 0, "g"), 0);
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

/* At the descriptor limit a whiteout is still made: the kernel's unlink needs none. */
START_TEST(test_create_at_fd_limit)
{
	struct aufs_union *u = fx_start("t/d/ b/d/f", "br:@/t=rw:@/b=ro");

	aufs_fault_set_persist(SYS_openat2, 1, EMFILE);
	ck_assert_int_eq(wh_create(u, 0, "d", 1, "f"), 0);
	ck_assert_uint_ge(aufs_fault_fired(), 1);
	aufs_fault_clear();
	ck_assert(S_ISREG(st_of("t/d/.wh.f").st_mode));
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

/* A process number that no process has (one that just ended; not reused so soon). */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

/*
 * wh_reap_temps(): the temporaries of a process that is gone are removed (a
 * directory with its markers), once old enough; never one of a running process,
 * of this one, a name that only looks like one, or anything else.
 */
START_TEST(test_reap_temps)
{
	struct aufs_union *u = fx_start("t/d/keep t/d/.wh.a b/d/a", "br:@/t=rw:@/b=ro");
	pid_t dead = dead_pid();
	char name[128];
	const char *gone[3], *kept[4];

	fx_fmt(name, sizeof(name), "t/d/.wh..wh.cpup.%d.0", (int)dead);
	fx_put(name, "partial", 0600);
	gone[0] = strdup(name);
	fx_fmt(name, sizeof(name), "t/d/.wh..wh.mkdir.%d.3/.wh..wh..opq", (int)dead);
	fx_put(name, "", 0444);
	fx_fmt(name, sizeof(name), "t/d/.wh..wh.mkdir.%d.3", (int)dead);
	gone[1] = strdup(name);
	fx_fmt(name, sizeof(name), "t/d/.wh..wh.rmdir.%d.7/.wh.x", (int)dead);
	fx_put(name, "", 0444);
	fx_fmt(name, sizeof(name), "t/d/.wh..wh.rmdir.%d.7", (int)dead);
	gone[2] = strdup(name);
	fx_fmt(name, sizeof(name), "t/d/.wh..wh.cpup.%d.0", (int)getpid());
	kept[0] = strdup(name);
	fx_fmt(name, sizeof(name), "t/d/.wh..wh.cpup.%d.0", (int)getppid());
	kept[1] = strdup(name);
	fx_fmt(name, sizeof(name), "t/d/.wh..wh.cpup.%dx.0", (int)dead);
	kept[2] = strdup(name);
	fx_fmt(name, sizeof(name), "t/d/.wh..wh.plnk.%d.0", (int)dead);
	kept[3] = strdup(name);
	for (int i = 0; i < 4; i++)
		fx_put(kept[i], "", 0600);

	/* too new: a process of another PID namespace may be writing it */
	wh_set_temp_min_age(-1);
	ck_assert_int_eq(wh_reap_temps(u, 0, "d", 1), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(exists(gone[i]), "%s removed while new", gone[i]);
	wh_set_temp_min_age(0);
	ck_assert_int_eq(wh_reap_temps(u, 0, "d", 1), 3);
	wh_set_temp_min_age(-1);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(!exists(gone[i]), "%s left", gone[i]);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(exists(kept[i]), "%s removed", kept[i]);
	ck_assert(exists("t/d/keep") && exists("t/d/.wh.a"));
	ck_assert_int_eq(wh_reap_temps(u, 0, "nodir", 5), -ENOENT);
	for (int i = 0; i < 3; i++)
		free((char *)gone[i]);
	for (int i = 0; i < 4; i++)
		free((char *)kept[i]);
}
END_TEST

/*
 * A temporary's name already taken (EEXIST: a dead process of the same number left
 * it): the copy-up and the mkdir over a whiteout take another name and succeed,
 * and remove the leftovers of dead processes there.
 */
START_TEST(test_temp_name_taken)
{
	pid_t dead = dead_pid();
	char name[128];
	struct stat st;
	int r;

	/*
	 * The first temporary of this process (each test runs in a process of its own)
	 * is number 0: left there by a namesake process.
	 */
	fx_start("b/d/f t/d/.wh.x", "br:@/t=rw:@/b=ro");
	fx_fmt(name, sizeof(name), "t/d/.wh..wh.cpup.%d.0", (int)getpid());
	fx_put(name, "left", 0600);
	r = aufs_openat(AT_FDCWD, fx_ex("@/mnt/d/f"), O_WRONLY, 0);
	ck_assert_int_ge(r, 0);
	close(r);
	ck_assert(exists("t/d/f"));
	ck_assert(exists(name));	/* this process's number: it may be one of its own */

	fx_fresh();
	fx_start("b/d/a t/.wh.d", "br:@/t=rw:@/b=ro");
	fx_fmt(name, sizeof(name), "t/.wh..wh.cpup.%d.0", (int)dead);
	fx_put(name, "partial", 0600);
	wh_set_temp_min_age(0);
	aufs_fault_set(SYS_mkdirat, 1, EEXIST);
	r = aufs_mkdirat(AT_FDCWD, fx_ex("@/mnt/d"), 0755);
	ck_assert_uint_eq(aufs_fault_fired(), 1);
	aufs_fault_clear();
	wh_set_temp_min_age(-1);
	ck_assert_int_eq(r, 0);
	ck_assert(lstat(fx_at("t/d/.wh..wh..opq"), &st) == 0);
	ck_assert(!exists("t/.wh.d"));
	ck_assert_msg(!exists(name), "the leftover %s stays", name);
}
END_TEST

/*
 * The rule an interrupted mkdir or rename leans on: a whiteout beside a name of its
 * own branch hides only the lower copies; the branch's own entry shows (a
 * directory opaque when it holds the marker), and a create of the name is EEXIST.
 */
START_TEST(test_own_entry_wins)
{
	struct aufs_union *u = fx_start("t/d/.wh..wh..opq t/.wh.d t/f t/.wh.f b/d/a b/f b/g",
					"br:@/t=rw:@/b=ro");
	struct aufs_dir *dir;
	struct dirent64 *e;
	struct aufs_loc loc;
	int names = 0;

	(void)u;
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, fx_ex("@/mnt/d"), 0, &loc), 0);
	ck_assert_int_eq(loc.branch, 0);
	ck_assert_int_eq(loc.type, DT_DIR);
	ck_assert_int_eq(aufs_dir_open(&loc, -1, &dir), 0);
	while ((e = aufs_dir_read(dir)))
		names += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	aufs_dir_close(dir);
	ck_assert_int_eq(names, 0);	/* opaque: the base's "a" stays hidden */
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, fx_ex("@/mnt/f"), 0, &loc), 0);
	ck_assert_int_eq(loc.branch, 0);
	ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, fx_ex("@/mnt/d"), 0755), -EEXIST);
	ck_assert_int_eq(aufs_openat(AT_FDCWD, fx_ex("@/mnt/f"), O_WRONLY | O_CREAT | O_EXCL,
				     0644), -EEXIST);
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
	tcase_add_test(tc, test_create_at_fd_limit);
	tcase_add_test(tc, test_create_link_fails);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_make_opaque);
	tcase_add_test(tc, test_clear_dir);
	tcase_add_test(tc, test_clear_dir_sweep);
	tcase_add_test(tc, test_create_sweep);
	tcase_add_test(tc, test_reap_temps);
	tcase_add_test(tc, test_temp_name_taken);
	tcase_add_test(tc, test_own_entry_wins);
	suite_add_tcase(s, tc);
	return s;
}
