/* SPDX-License-Identifier: MIT */
/*
 * check_xino.c - the table of inode numbers (state_xino.c): numbers a copy-up
 * keeps, the table full, processes killed while they write it, files that may
 * not be trusted.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

static struct stat stat_of(const char *tmpl)
{
	struct stat st;

	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex(tmpl), &st, AT_SYMLINK_NOFOLLOW), 0);
	return st;
}

static int append(const char *tmpl)
{
	int fd = aufs_openat(AT_FDCWD, fx_ex(tmpl), O_WRONLY | O_APPEND, 0);

	if (fd < 0)
		return fd;
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	return 0;
}

/* The union's numbers: its device everywhere, composed numbers, kept by copy-ups. */
START_TEST(test_numbers)
{
	struct aufs_union *u = fx_start("b/d/f b/d/g b/d/sub/h t/top", "br:@/t=rw:@/b=ro");
	struct stat real, f, d, top, root;

	ck_assert_int_eq(lstat(fx_at("b/d/f"), &real), 0);
	f = stat_of("@/mnt/d/f");
	ck_assert_uint_eq(f.st_ino, (1ULL << AUFS_XINO_BRANCH_SHIFT) | real.st_ino);
	ck_assert_uint_eq(f.st_dev, xino_dev(u));
	ck_assert_uint_ne(f.st_dev, real.st_dev);
	ck_assert_uint_eq(major(f.st_dev), 0);
	ck_assert_uint_ge(minor(f.st_dev), 0x80000000u);	/* no real device's */
	/* the top branch's objects keep their numbers; the mount point too */
	ck_assert_int_eq(lstat(fx_at("t/top"), &real), 0);
	top = stat_of("@/mnt/top");
	ck_assert_uint_eq(top.st_ino, real.st_ino);
	root = stat_of("@/mnt");
	ck_assert_int_eq(lstat(fx_at("t"), &real), 0);
	ck_assert_uint_eq(root.st_ino, real.st_ino);
	ck_assert_uint_eq(root.st_dev, f.st_dev);
	/* a copy-up keeps the number, of a file and of its directory */
	d = stat_of("@/mnt/d");
	ck_assert_int_eq(append("@/mnt/d/f"), 0);
	ck_assert_int_eq(lstat(fx_at("t/d/f"), &real), 0);
	ck_assert_uint_eq(stat_of("@/mnt/d/f").st_ino, f.st_ino);
	ck_assert_uint_ne(real.st_ino, f.st_ino & ((1ULL << AUFS_XINO_BRANCH_SHIFT) - 1));
	ck_assert_uint_eq(stat_of("@/mnt/d").st_ino, d.st_ino);
	ck_assert_int_eq(lstat(fx_at("t/d"), &real), 0);	/* d was copied up for f */
	ck_assert_uint_eq(xino_lookup(xino_writable(u), real.st_dev, real.st_ino), d.st_ino);
	/* statx says the same */
	{
		struct statx stx;

		ck_assert_int_eq(aufs_statx(AT_FDCWD, fx_ex("@/mnt/d/f"), 0, STATX_BASIC_STATS,
					    &stx), 0);
		ck_assert_uint_eq(stx.stx_ino, f.st_ino);
		ck_assert_uint_eq(makedev(stx.stx_dev_major, stx.stx_dev_minor), f.st_dev);
	}
}
END_TEST

/* fstat of a descriptor the union opened is a stat of its name; others pass. */
START_TEST(test_fstat)
{
	fx_start("b/d/f t/d/own", "br:@/t=rw:@/b=ro");
	const char *const names[] = { "@/mnt/d/f", "@/mnt/d/own", "@/mnt/d", "@/mnt" };
	struct stat st, want;
	int fd, copy;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		fd = aufs_openat(AT_FDCWD, fx_ex(names[i]), O_RDONLY, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(aufs_fstat(fd, &st), 0);
		want = stat_of(names[i]);
		ck_assert_uint_eq(st.st_ino, want.st_ino);
		ck_assert_uint_eq(st.st_dev, want.st_dev);
		/* a copy of it too; and not after the close */
		copy = dup(fd);
		aufs_fd_dup(fd, copy);
		ck_assert_int_eq(aufs_fstat(copy, &st), 0);
		ck_assert_uint_eq(st.st_ino, want.st_ino);
		close(copy);
		aufs_fd_forget(copy);
		aufs_fd_forget(fd);
		close(fd);
	}
	fd = open(fx_at("b/d/f"), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(aufs_fstat(fd, &st), AUFS_PASS);
	close(fd);
}
END_TEST

/* readdir's d_ino is what stat gives. */
START_TEST(test_readdir)
{
	fx_start("b/d/f b/d/g t/d/own", "br:@/t=rw:@/b=ro");
	struct aufs_dir *dir;
	struct dirent64 *e;
	int seen = 0;

	ck_assert_int_eq(append("@/mnt/d/g"), 0);	/* g: a copy that keeps its number */
	ck_assert_int_eq(aufs_opendir(AT_FDCWD, fx_ex("@/mnt/d"), -1, &dir, NULL), 0);
	while ((e = aufs_dir_read(dir)) != NULL) {
		char p[PATH_MAX];

		if (!strcmp(e->d_name, ".."))
			continue;
		fx_fmt(p, sizeof(p), "@/mnt/d/%s", e->d_name);
		ck_assert_msg(e->d_ino == stat_of(p).st_ino, "%s: d_ino %llu", e->d_name,
			      (unsigned long long)e->d_ino);
		seen++;
	}
	aufs_dir_close(dir);
	ck_assert_int_eq(seen, 4);	/* . f g own */
}
END_TEST

/* noxino: composed numbers, nothing mapped, nothing kept. */
START_TEST(test_noxino)
{
	struct aufs_union *u = fx_start("b/f", "br:@/t=rw:@/b=ro,noxino");
	struct stat before = stat_of("@/mnt/f"), real;

	ck_assert_int_eq(append("@/mnt/f"), 0);
	ck_assert_int_eq(lstat(fx_at("t/f"), &real), 0);
	ck_assert_uint_eq(stat_of("@/mnt/f").st_ino, real.st_ino);	/* changed: said so */
	ck_assert_uint_ne(stat_of("@/mnt/f").st_ino, before.st_ino);
	ck_assert_ptr_null(xino_writable(u));
}
END_TEST

/*
 * noplink: a file of several names is another file once copied: it keeps no
 * number (with plink, the default, its other names show the copy: check_plink.c).
 */
START_TEST(test_hard_link_not_kept)
{
	struct stat before, real;

	fx_start("b/a", "br:@/t=rw:@/b=ro,noplink");
	ck_assert_int_eq(link(fx_at("b/a"), fx_at("b/b")), 0);
	before = stat_of("@/mnt/a");
	ck_assert_uint_eq(stat_of("@/mnt/b").st_ino, before.st_ino);
	ck_assert_int_eq(append("@/mnt/a"), 0);
	ck_assert_int_eq(lstat(fx_at("t/a"), &real), 0);
	ck_assert_uint_eq(stat_of("@/mnt/a").st_ino, real.st_ino);
	ck_assert_uint_eq(stat_of("@/mnt/b").st_ino, before.st_ino);
}
END_TEST

/*
 * Full: a key whose AUFS_XINO_PROBE slots are taken is refused (counted), and a
 * copy of such a key has a number of its own; the keys already there keep theirs.
 */
START_TEST(test_full)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x;
	uint64_t keys[AUFS_XINO_PROBE + 1], dev = 77;
	uint32_t want = xino_slot_of(dev, 1);
	int n = 0;

	(void)stat_of("@/mnt/f");
	x = xino_writable(u);
	ck_assert_ptr_nonnull(x);
	keys[n++] = 1;
	for (uint64_t ino = 2; n < AUFS_XINO_PROBE + 1; ino++)
		if (xino_slot_of(dev, ino) == want)
			keys[n++] = ino;
	for (int i = 0; i < AUFS_XINO_PROBE; i++)
		ck_assert_int_eq(xino_record(x, dev, keys[i], 1000 + i), 0);
	ck_assert_int_eq(xino_record(x, dev, keys[AUFS_XINO_PROBE], 5000), -ENOSPC);
	ck_assert_uint_eq(atomic_load(&x->counter[AUFS_XINO_CNT_FULL]), 1);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[AUFS_XINO_PROBE]), 0);
	for (int i = 0; i < AUFS_XINO_PROBE; i++)
		ck_assert_uint_eq(xino_lookup(x, dev, keys[i]), 1000 + i);
	/* a key recorded again (an inode number used again) takes the new number */
	ck_assert_int_eq(xino_record(x, dev, keys[3], 4242), 0);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[3]), 4242);
	ck_assert_uint_eq(atomic_load(&x->counter[AUFS_XINO_CNT_ENTRIES]), AUFS_XINO_PROBE);
	/* the union's numbers: composed for a key the table could not take */
	ck_assert_uint_eq(xino_number(u, 0, dev, keys[AUFS_XINO_PROBE]), keys[AUFS_XINO_PROBE]);
	ck_assert_uint_eq(xino_number(u, 0, dev, keys[0]), 1000);
}
END_TEST

/*
 * Rounds of 4 processes recording numbers into one table while one of them is
 * killed (SIGKILL) at a random moment: afterwards every key a survivor recorded
 * has its number, no key is in two slots, and every process goes on (recording
 * and looking up) without waiting for anyone.
 */
#define CRASH_KEYS 3000

static void writer(struct aufs_union *u, int id)
{
	struct aufs_xino *x = xino_writable(u);

	if (!x)
		_exit(3);
	/* all four write the same keys, each with the number the key's number tells */
	for (int round = 0; round < 4; round++)
		for (uint64_t k = 1; k <= CRASH_KEYS; k++)
			if (xino_record(x, 9, k * 7919 + (uint64_t)id % 2, k * 10 + id % 2) < 0)
				_exit(4);
	_exit(0);
}

START_TEST(test_killed_writers)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x;
	unsigned seed = (unsigned)time(NULL);

	(void)stat_of("@/mnt/f");
	x = xino_writable(u);
	ck_assert_ptr_nonnull(x);
	for (int round = 0; round < 6; round++) {
		pid_t pid[4];
		int victim = rand_r(&seed) % 4, st;

		for (int i = 0; i < 4; i++) {
			pid[i] = fork();
			ck_assert_int_ge(pid[i], 0);
			if (pid[i] == 0)
				writer(u, i);
		}
		usleep((useconds_t)(rand_r(&seed) % 3000));
		kill(pid[victim], SIGKILL);
		for (int i = 0; i < 4; i++) {
			ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
			if (i != victim || WIFEXITED(st))
				ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
					      "round %d: writer %d: status %#x", round, i, st);
		}
		/* survivors wrote both parities' keys whole: every key has its number */
		for (uint64_t k = 1; k <= CRASH_KEYS; k++)
			for (int p = 0; p < 2; p++)
				ck_assert_uint_eq(xino_lookup(x, 9, k * 7919 + (uint64_t)p),
						  k * 10 + (uint64_t)p);
	}
	/* each key in one slot only */
	{
		struct aufs_xino_slot *s =
			(struct aufs_xino_slot *)((char *)x + AUFS_XINO_HDR_SIZE);
		unsigned taken = 0;

		for (uint32_t i = 0; i < AUFS_XINO_NSLOT; i++)
			if (s[i].ino) {
				taken++;
				ck_assert_uint_eq(s[i].dev, 9);
			}
		ck_assert_uint_eq(taken, 2 * CRASH_KEYS);
		ck_assert_uint_eq(atomic_load(&x->counter[AUFS_XINO_CNT_ENTRIES]), taken);
	}
}
END_TEST

/* A key a killed process took without writing its number is absent, then completed. */
START_TEST(test_key_without_number)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x;
	struct aufs_xino_slot *s;
	uint32_t i;

	(void)stat_of("@/mnt/f");
	x = xino_writable(u);
	ck_assert_ptr_nonnull(x);
	i = xino_slot_of(5, 55);
	s = (struct aufs_xino_slot *)((char *)x + AUFS_XINO_HDR_SIZE);
	s[i].dev = 5;
	s[i].ino = 55;	/* as if killed between the claim and the number */
	ck_assert_uint_eq(xino_lookup(x, 5, 55), 0);
	ck_assert_uint_eq(xino_number(u, 1, 5, 55), (1ULL << AUFS_XINO_BRANCH_SHIFT) | 55);
	ck_assert_int_eq(xino_record(x, 5, 55, 99), 0);
	ck_assert_uint_eq(xino_lookup(x, 5, 55), 99);
	ck_assert_uint_eq(s[(i + 1) & (AUFS_XINO_NSLOT - 1)].ino, 0);	/* no second slot */
}
END_TEST

/*
 * A branch made again (restored): its table is stale, replaced by its owner;
 * another user composes numbers meanwhile, without an error.
 */
START_TEST(test_branch_made_again)
{
	struct aufs_union *u = fx_start("b/f t/top", "br:@/t=rw:@/b=ro");
	struct aufs_err err = { 0 };
	struct aufs_xino_status st;
	char path[PATH_MAX];
	uintptr_t v;

	ck_assert_int_eq(aufs_xino_attach(u, &err), 0);
	ck_assert_int_eq(xino_record(xino_writable(u), 1, 2, 3), 0);
	ck_assert_int_ge(aufs_xino_path(u, path, sizeof(path)), 0);
	v = atomic_exchange(&u->xino, 0);
	munmap((void *)(v & ~AUFS_SHM_RDONLY), AUFS_XINO_SIZE);
	atomic_store(&u->xino_state, 0);
	ck_assert_int_eq(rename(fx_at("t"), fx_at("t.old")), 0);
	ck_assert_int_eq(mkdir(fx_at("t"), 0755), 0);
	ck_assert_int_eq(aufs_xino_status(u, &st, &err), -ESTALE);
	/* (another user composes numbers meanwhile: t2003 and t2005, as the web server) */
	/* its owner (or root) makes a fresh one */
	ck_assert_int_eq(aufs_xino_attach(u, &err), 0);
	ck_assert_ptr_nonnull(xino_writable(u));
	ck_assert_uint_eq(xino_lookup(xino_writable(u), 1, 2), 0);
	ck_assert_int_eq(aufs_xino_status(u, &st, &err), 0);
}
END_TEST

/* Spoil the table file of a union with FN, then map it as a new process would: WHY. */
static void refused(void (*fn)(const char *path), const char *why)
{
	struct aufs_union *u;
	struct aufs_err err = { 0 };
	char path[PATH_MAX];
	struct stat st;
	uintptr_t v;

	u = fx_start("b/f t/", "br:@/t=rw:@/b=ro,xino=@/table");
	ck_assert_int_eq(aufs_xino_attach(u, &err), 0);
	ck_assert_int_ge(aufs_xino_path(u, path, sizeof(path)), 0);
	ck_assert_str_eq(path, fx_at("table"));
	ck_assert_ptr_nonnull(xino_writable(u));
	fn(path);
	/* as a process that has not mapped it yet */
	v = atomic_exchange(&u->xino, 0);
	munmap((void *)(v & ~AUFS_SHM_RDONLY), AUFS_XINO_SIZE);
	atomic_store(&u->xino_state, 0);
	ck_assert_int_eq(aufs_xino_attach(u, &err), -EUCLEAN);
	ck_assert_msg(strstr(err.msg, why) && strstr(err.msg, path), "%s", err.msg);
	ck_assert_uint_eq(atomic_load(&u->xino), 0);
	/* never replaced: the file named by xino= is the administrator's */
	ck_assert_int_eq(aufs_xino_attach(u, &err), -EUCLEAN);
	/* the library composes numbers meanwhile */
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/f"), &st, 0), 0);
	ck_assert_uint_eq(st.st_dev, xino_dev(u));
}

/* A table named for another mount point is refused. */
START_TEST(test_stale)
{
	struct aufs_union *u = fx_start("b/f t/ t2/ b2/", "br:@/t=rw:@/b=ro,xino=@/table");
	struct aufs_union *v = fx_add_union("br:@/t2=rw:@/b2=ro,xino=@/table", "@/mnt2");
	struct aufs_err err = { 0 };

	ck_assert_int_eq(aufs_xino_attach(u, &err), 0);
	ck_assert_int_eq(aufs_xino_attach(v, &err), -EUCLEAN);
	ck_assert_msg(strstr(err.msg, "made for another mount point"), "%s", err.msg);
}
END_TEST

static void truncate_it(const char *p)
{
	ck_assert_int_eq(truncate(p, 100), 0);
}

static void spoil_magic(const char *p)
{
	int fd = open(p, O_WRONLY);

	ck_assert_int_eq(pwrite(fd, "XXXXXXXX", 8, 0), 8);
	close(fd);
}

static void spoil_mode(const char *p)
{
	ck_assert_int_eq(chmod(p, 0666), 0);
}

static void spoil_version(const char *p)
{
	uint32_t v = 99;
	int fd = open(p, O_WRONLY);

	ck_assert_int_eq(pwrite(fd, &v, 4, offsetof(struct aufs_xino, version)), 4);
	close(fd);
}

static void spoil_symlink(const char *p)
{
	char other[PATH_MAX];

	fx_fmt(other, sizeof(other), "%s.real", p);
	ck_assert_int_eq(rename(p, other), 0);
	ck_assert_int_eq(symlink(other, p), 0);
}

START_TEST(test_refused_truncated)
{
	refused(truncate_it, "100 bytes, not");
}
END_TEST

START_TEST(test_refused_magic)
{
	refused(spoil_magic, "bad magic number");
}
END_TEST

START_TEST(test_refused_mode)
{
	refused(spoil_mode, "group or others may write it");
}
END_TEST

START_TEST(test_refused_version)
{
	refused(spoil_version, "unsupported version 99");
}
END_TEST

START_TEST(test_refused_symlink)
{
	refused(spoil_symlink, "a symbolic link");
}
END_TEST

Suite *xino_suite(void)
{
	Suite *s = suite_create("xino");
	TCase *tc = tcase_create("xino");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_readdir);
	tcase_add_test(tc, test_fstat);
	tcase_add_test(tc, test_noxino);
	tcase_add_test(tc, test_hard_link_not_kept);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_killed_writers);
	tcase_add_test(tc, test_key_without_number);
	tcase_add_test(tc, test_refused_truncated);
	tcase_add_test(tc, test_refused_magic);
	tcase_add_test(tc, test_refused_mode);
	tcase_add_test(tc, test_refused_version);
	tcase_add_test(tc, test_refused_symlink);
	tcase_add_test(tc, test_stale);
	tcase_add_test(tc, test_branch_made_again);
	suite_add_tcase(s, tc);
	return s;
}
