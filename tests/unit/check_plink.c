/* SPDX-License-Identifier: MIT */
/*
 * check_plink.c - pseudo-links (state_plink.c, mutate_plink.c): the other names
 * of a copied-up file show the copy; noplink; a second copy-up joins the first;
 * entries out of bounds are not followed; clean_plink and flush.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

static struct stat stat_of(const char *tmpl)
{
	struct stat st;

	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex(tmpl), &st, AT_SYMLINK_NOFOLLOW), 0);
	return st;
}

static void append(const char *tmpl, const char *text)
{
	int fd = aufs_openat(AT_FDCWD, fx_ex(tmpl), O_WRONLY | O_APPEND, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The content of the union name TMPL into BUF (NUL-terminated). */
/* The contents of FD (closed) as a string in BUF. */
static const char *read_all(int fd, char *buf, size_t size)
{
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, size - 1);
	ck_assert_int_ge(n, 0);
	buf[n] = 0;
	close(fd);
	return buf;
}

static const char *read_union(const char *tmpl, char *buf, size_t size)
{
	return read_all(aufs_openat(AT_FDCWD, fx_ex(tmpl), O_RDONLY, 0), buf, size);
}

static const char *read_real(const char *rel, char *buf, size_t size)
{
	return read_all(open(fx_at(rel), O_RDONLY), buf, size);
}

/* b/a and b/b, two names of one file of the base; the union top=rw:base=ro. */
static struct aufs_union *linked(const char *more_opts)
{
	char opts[256];
	struct aufs_union *u;

	snprintf(opts, sizeof(opts), "br:@/t=rw:@/b=ro%s", more_opts);
	u = fx_start("b/d/a t/", opts);
	ck_assert_int_eq(link(fx_at("b/d/a"), fx_at("b/d/b")), 0);
	return u;
}

static const char *plnk_of(uint64_t num)
{
	static char rel[64];

	snprintf(rel, sizeof(rel), "t/" AUFS_WH_PLINK "/%llu", (unsigned long long)num);
	return rel;
}

/* The manual's example: a write through one name shows through the other. */
START_TEST(test_other_name_shows_copy)
{
	struct aufs_union *u = linked("");
	struct stat a0 = stat_of("@/mnt/d/a"), a, b, real, plnk;
	char buf[64];

	ck_assert_uint_eq(stat_of("@/mnt/d/b").st_ino, a0.st_ino);
	ck_assert_uint_eq(a0.st_nlink, 2);
	ck_assert_int_eq(aufs_plink_list(u, NULL, 0), 0);
	append("@/mnt/d/a", "more\n");
	a = stat_of("@/mnt/d/a");
	b = stat_of("@/mnt/d/b");
	ck_assert_uint_eq(a.st_ino, a0.st_ino);	/* the number of the file, every name */
	ck_assert_uint_eq(b.st_ino, a0.st_ino);
	ck_assert_int_eq(b.st_size, a.st_size);
	ck_assert_uint_eq(b.st_nlink, 2);	/* the copy and its pseudo-link, as aufs */
	ck_assert_str_eq(read_union("@/mnt/d/b", buf, sizeof(buf)), "b/d/amore\n");
	/* the copy has one more name, in .wh..wh.plnk, and the base is untouched */
	ck_assert_int_eq(lstat(fx_at("t/d/a"), &real), 0);
	ck_assert_int_eq(lstat(fx_at(plnk_of(a0.st_ino)), &plnk), 0);
	ck_assert_uint_eq(plnk.st_ino, real.st_ino);
	ck_assert_int_eq(access(fx_at("t/d/b"), F_OK), -1);
	ck_assert_str_eq(read_real("b/d/b", buf, sizeof(buf)), "b/d/a");
	{
		struct aufs_plink p;

		ck_assert_int_eq(aufs_plink_list(u, &p, 1), 1);
		ck_assert_uint_eq(p.num, a0.st_ino);
		ck_assert_int_eq(p.branch, 0);
	}
	/* writes through the other name go to the copy; no copy of its own */
	append("@/mnt/d/b", "again\n");
	ck_assert_str_eq(read_real("t/d/a", buf, sizeof(buf)), "b/d/amore\nagain\n");
	ck_assert_int_eq(access(fx_at("t/d/b"), F_OK), -1);
	/* chmod through it changes the file (both names), as on a real hard link */
	ck_assert_int_eq(aufs_fchmodat(AT_FDCWD, fx_ex("@/mnt/d/b"), 0600, 0), 0);
	ck_assert_uint_eq(stat_of("@/mnt/d/a").st_mode & 07777, 0600);
}
END_TEST

/* The directory of the copies is never listed. */
START_TEST(test_hidden)
{
	struct aufs_dir *dir;
	struct dirent64 *e;
	char host[PATH_MAX];
	int n = 0;

	linked("");
	append("@/mnt/d/a", "x");
	ck_assert_int_eq(aufs_opendir(AT_FDCWD, fx_ex("@/mnt"), -1, &dir, host), 0);
	while ((e = aufs_dir_read(dir))) {
		ck_assert_str_ne(e->d_name, AUFS_WH_PLINK);
		n++;
	}
	aufs_dir_close(dir);
	ck_assert_int_eq(n, 3);	/* . .. d */
}
END_TEST

/* noplink: the other name keeps showing the base file (the manual's cmp: EOF). */
START_TEST(test_noplink)
{
	struct aufs_union *u = linked(",noplink");
	char buf[64];

	append("@/mnt/d/a", "more\n");
	ck_assert_str_eq(read_union("@/mnt/d/b", buf, sizeof(buf)), "b/d/a");
	ck_assert_int_eq(access(fx_at("t/" AUFS_WH_PLINK), F_OK), -1);
	ck_assert_int_eq(aufs_plink_list(u, NULL, 0), 0);
}
END_TEST

/* A copy-up of the other name (rename moves it up) joins the pseudo-link's copy. */
START_TEST(test_second_copyup_joins)
{
	struct stat a, c;
	char buf[64];

	linked("");
	append("@/mnt/d/a", "more\n");
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, fx_ex("@/mnt/d/b"), AT_FDCWD,
					fx_ex("@/mnt/d/c"), 0), 0);
	ck_assert_int_eq(lstat(fx_at("t/d/a"), &a), 0);
	ck_assert_int_eq(lstat(fx_at("t/d/c"), &c), 0);
	ck_assert_uint_eq(a.st_ino, c.st_ino);	/* one file, three names */
	ck_assert_uint_eq(c.st_nlink, 3);
	ck_assert_str_eq(read_union("@/mnt/d/c", buf, sizeof(buf)), "b/d/amore\n");
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/d/b"), &c, 0), -ENOENT);
}
END_TEST

/* A file of one name costs no lookup in the table; a copy of it is no pseudo-link. */
START_TEST(test_single_name)
{
	struct aufs_union *u = fx_start("b/d/one t/", "br:@/t=rw:@/b=ro");

	append("@/mnt/d/one", "x");
	ck_assert_int_eq(aufs_plink_list(u, NULL, 0), 0);
	ck_assert_uint_eq(xino_writable(u)->counter[AUFS_XINO_CNT_PLINK_GATE], 0);
	ck_assert_int_eq(access(fx_at("t/" AUFS_WH_PLINK), F_OK), -1);
}
END_TEST

/* An entry whose branch is out of bounds, or not writable, or no file: not followed. */
START_TEST(test_bad_entry_not_followed)
{
	struct aufs_union *u = linked("");
	struct stat a0 = stat_of("@/mnt/d/a");
	struct aufs_xino *x = xino_writable(u);
	char buf[64];

	ck_assert_ptr_nonnull(x);
	/* a branch index far out of bounds */
	ck_assert_int_eq(xino_record_as(x, AUFS_PLINK_DEV, a0.st_ino, 200, AUFS_XINO_CNT_PLINKS),
			 0);
	atomic_fetch_add(&x->counter[AUFS_XINO_CNT_PLINK_GATE], 1);
	ck_assert_str_eq(read_union("@/mnt/d/b", buf, sizeof(buf)), "b/d/a");
	ck_assert_uint_eq(stat_of("@/mnt/d/b").st_ino, a0.st_ino);
	/* the read-only branch itself */
	ck_assert_int_eq(xino_record(x, AUFS_PLINK_DEV, a0.st_ino, 2), 0);
	ck_assert_str_eq(read_union("@/mnt/d/b", buf, sizeof(buf)), "b/d/a");
	/* the top branch, which has no such file */
	ck_assert_int_eq(xino_record(x, AUFS_PLINK_DEV, a0.st_ino, 1), 0);
	ck_assert_str_eq(read_union("@/mnt/d/b", buf, sizeof(buf)), "b/d/a");
	/* a directory of that name there */
	ck_assert_int_eq(mkdir(fx_at("t/" AUFS_WH_PLINK), 0700), 0);
	ck_assert_int_eq(mkdir(fx_at(plnk_of(a0.st_ino)), 0700), 0);
	ck_assert_str_eq(read_union("@/mnt/d/b", buf, sizeof(buf)), "b/d/a");
}
END_TEST

/* clean_plink: every pseudo-link goes; the other name shows the base again. */
START_TEST(test_clean)
{
	struct aufs_union *u = linked("");
	struct stat a0 = stat_of("@/mnt/d/a");
	struct aufs_err err = { 0 };
	char buf[64];

	append("@/mnt/d/a", "more\n");
	ck_assert_int_eq(aufs_plink_clean(u, &err), 1);
	ck_assert_int_eq(aufs_plink_list(u, NULL, 0), 0);
	ck_assert_uint_eq(xino_writable(u)->counter[AUFS_XINO_CNT_PLINK_GATE], 0);
	ck_assert_int_eq(access(fx_at(plnk_of(a0.st_ino)), F_OK), -1);
	ck_assert_str_eq(read_union("@/mnt/d/b", buf, sizeof(buf)), "b/d/a");
	ck_assert_str_eq(read_union("@/mnt/d/a", buf, sizeof(buf)), "b/d/amore\n");
	ck_assert_int_eq(aufs_plink_clean(u, &err), 0);
}
END_TEST

/* flush: the other name becomes a real link, then the pseudo-link goes. */
START_TEST(test_flush)
{
	struct aufs_union *u = linked("");
	struct stat a0 = stat_of("@/mnt/d/a"), a, b;
	struct aufs_err err = { 0 };
	char buf[64];

	append("@/mnt/d/a", "more\n");
	/* a name that does not show the pseudo-link is left alone: a, the copy itself */
	ck_assert_int_eq(aufs_plink_flush_name(fx_ex("@/mnt/d/a"), a0.st_ino), 0);
	ck_assert_int_eq(aufs_plink_flush_name(fx_ex("@/mnt/d/b"), a0.st_ino), 1);
	ck_assert_int_eq(lstat(fx_at("t/d/a"), &a), 0);
	ck_assert_int_eq(lstat(fx_at("t/d/b"), &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(aufs_plink_flush_name(fx_ex("@/mnt/d/b"), a0.st_ino), 0);	/* done */
	ck_assert_int_eq(aufs_plink_drop(u, a0.st_ino, &err), 0);
	aufs_plink_flushed(u, 1);
	ck_assert_int_eq(aufs_plink_list(u, NULL, 0), 0);
	ck_assert_uint_eq(xino_writable(u)->counter[AUFS_XINO_CNT_PLINK_GATE], 0);
	ck_assert_int_eq(access(fx_at(plnk_of(a0.st_ino)), F_OK), -1);
	ck_assert_str_eq(read_union("@/mnt/d/b", buf, sizeof(buf)), "b/d/amore\n");
	ck_assert_uint_eq(stat_of("@/mnt/d/b").st_nlink, 2);
	ck_assert_uint_eq(stat_of("@/mnt/d/b").st_ino, a0.st_ino);
}
END_TEST

/* Two processes copy up the two names at once: one file in the end. */
START_TEST(test_race)
{
	for (int round = 0; round < 20; round++) {
		struct stat a, b, p;
		pid_t pid;
		int st;

		if (round)
			fx_fresh();
		linked("");
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int fd = aufs_openat(AT_FDCWD, fx_ex("@/mnt/d/b"), O_WRONLY | O_APPEND, 0);

			_exit(fd >= 0 && write(fd, "B", 1) == 1 ? 0 : 1);
		}
		append("@/mnt/d/a", "A");
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_int_eq(st, 0);
		/* the first copy is the pseudo-link; the other name may have been redirected */
		ck_assert_int_eq(lstat(fx_at(plnk_of(stat_of("@/mnt/d/a").st_ino)), &p), 0);
		if (lstat(fx_at("t/d/a"), &a) == 0)
			ck_assert_uint_eq(a.st_ino, p.st_ino);
		if (lstat(fx_at("t/d/b"), &b) == 0)
			ck_assert_uint_eq(b.st_ino, p.st_ino);
		ck_assert_int_eq(stat_of("@/mnt/d/b").st_size, 7);	/* "b/d/a" A B */
		ck_assert_int_eq(stat_of("@/mnt/d/a").st_size, 7);
	}
}
END_TEST

/*
 * A maker killed between the link in .wh..wh.plnk and its entry: the name is
 * there, the table does not know it. The next copy-up of another name joins that
 * copy and writes the entry; the gate opens.
 */
START_TEST(test_killed_maker)
{
	struct aufs_union *u = linked("");
	struct stat a0 = stat_of("@/mnt/d/a"), c, p;
	char buf[64];

	ck_assert_int_eq(mkdir(fx_at("t/" AUFS_WH_PLINK), 0711), 0);
	ck_assert_int_eq(mkdir(fx_at("t/d"), 0755), 0);
	fx_put("t/d/a", "orphan copy", 0644);
	ck_assert_int_eq(link(fx_at("t/d/a"), fx_at(plnk_of(a0.st_ino))), 0);
	aufs_lookup_flush();
	ck_assert_int_eq(aufs_plink_list(u, NULL, 0), 0);
	ck_assert_str_eq(read_union("@/mnt/d/b", buf, sizeof(buf)), "b/d/a");	/* not yet */
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, fx_ex("@/mnt/d/b"), AT_FDCWD,
					fx_ex("@/mnt/d/c"), 0), 0);
	ck_assert_int_eq(lstat(fx_at("t/d/c"), &c), 0);
	ck_assert_int_eq(lstat(fx_at(plnk_of(a0.st_ino)), &p), 0);
	ck_assert_uint_eq(c.st_ino, p.st_ino);
	ck_assert_int_eq(aufs_plink_list(u, NULL, 0), 1);
	ck_assert_str_eq(read_union("@/mnt/d/c", buf, sizeof(buf)), "orphan copy");
	ck_assert_uint_eq(stat_of("@/mnt/d/c").st_ino, a0.st_ino);
}
END_TEST

Suite *plink_suite(void)
{
	Suite *s = suite_create("plink");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_test(tc, test_other_name_shows_copy);
	tcase_add_test(tc, test_hidden);
	tcase_add_test(tc, test_noplink);
	tcase_add_test(tc, test_second_copyup_joins);
	tcase_add_test(tc, test_single_name);
	tcase_add_test(tc, test_bad_entry_not_followed);
	tcase_add_test(tc, test_clean);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_killed_maker);
	suite_add_tcase(s, tc);
	return s;
}
