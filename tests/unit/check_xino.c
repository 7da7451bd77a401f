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
 * Four children run CHILD(X, i) on the shared table while one of them, chosen at
 * random, is killed with SIGKILL at a random moment; the others must exit 0.
 */
static void kill_one_of_four(struct aufs_xino *x, void (*child)(struct aufs_xino *, int),
			     unsigned *seed, int round)
{
	pid_t pid[4];
	int victim = rand_r(seed) % 4, st;

	for (int i = 0; i < 4; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0)
			child(x, i);
	}
	usleep((useconds_t)(rand_r(seed) % 3000));
	kill(pid[victim], SIGKILL);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		if (i != victim || WIFEXITED(st))
			ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
				      "round %d: writer %d: status %#x", round, i, st);
	}
}

/*
 * Rounds of 4 processes recording numbers into one table while one of them is
 * killed (SIGKILL) at a random moment: afterwards every key a survivor recorded
 * has its number, no key is in two slots, and every process goes on (recording
 * and looking up) without waiting for anyone.
 */
#define CRASH_KEYS 3000

static void writer(struct aufs_xino *x, int id)
{
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
		kill_one_of_four(x, writer, &seed, round);
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

/* ---------------------------------------------------------------- slots given back */

static struct aufs_xino_slot *slot_at(struct aufs_xino *x, uint32_t i)
{
	return (struct aufs_xino_slot *)((char *)x + AUFS_XINO_HDR_SIZE) +
	       (i & (AUFS_XINO_NSLOT - 1));
}

/* N keys of device DEV that all start their chain at the slot of (DEV, 1). */
static void same_chain(uint64_t dev, uint64_t *keys, int n)
{
	uint32_t want = xino_slot_of(dev, 1);
	int k = 0;

	keys[k++] = 1;
	for (uint64_t ino = 2; k < n; ino++)
		if (xino_slot_of(dev, ino) == want)
			keys[k++] = ino;
}

static struct aufs_xino *table(struct aufs_union *u)
{
	struct aufs_xino *x;

	(void)stat_of("@/mnt/f");
	x = xino_writable(u);
	ck_assert_ptr_nonnull(x);
	return x;
}

static uint64_t counter(struct aufs_xino *x, enum aufs_xino_counter c)
{
	return atomic_load(&x->counter[c]);
}

/*
 * Record, unrecord (the key stays, absent), free (a tombstone: the key's dev a
 * device nobody has, its ino kept), record another key of the chain: it takes
 * the freed slot, not one further on.
 */
START_TEST(test_free_and_reuse)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x = table(u);
	uint64_t keys[2], dev = 31;
	uint32_t at = xino_slot_of(dev, 1);
	struct aufs_xino_slot *s = slot_at(x, at);

	same_chain(dev, keys, 2);
	ck_assert_int_eq(xino_record(x, dev, keys[0], 1001), 0);
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_ENTRIES), 1);
	xino_unrecord(x, dev, keys[0]);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[0]), 0);
	ck_assert_uint_eq(s->dev, dev);	/* the key stays */
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_ENTRIES), 1);
	xino_free(x, dev, keys[0]);
	ck_assert_uint_eq(s->dev, AUFS_XINO_TOMB_DEV);
	ck_assert_uint_eq(s->ino, keys[0]);
	ck_assert_uint_eq(atomic_load(&s->num), AUFS_XINO_DEAD);
	ck_assert_uint_eq(atomic_load(&s->gen), 2);	/* even: not changing */
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_ENTRIES), 0);
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_FREED), 1);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[0]), 0);
	/* a free of a key that is not there changes nothing */
	xino_free(x, dev, keys[0]);
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_FREED), 1);
	ck_assert_int_eq(xino_record(x, dev, keys[1], 1002), 0);
	ck_assert_uint_eq(s->dev, dev);
	ck_assert_uint_eq(s->ino, keys[1]);
	ck_assert_uint_eq(atomic_load(&s->gen), 4);
	ck_assert_uint_eq(slot_at(x, at + 1)->ino, 0);	/* nothing further on */
	ck_assert_uint_eq(xino_lookup(x, dev, keys[1]), 1002);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[0]), 0);
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_ENTRIES), 1);
	/* a slot changing (GEN odd: a free or a reuse under way) is no answer */
	atomic_store(&s->gen, 5);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[1]), 0);
	atomic_store(&s->gen, 4);
	/* the freed key recorded again: a slot of its own again */
	ck_assert_int_eq(xino_record(x, dev, keys[0], 1003), 0);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[0]), 1003);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[1]), 1002);
}
END_TEST

/*
 * Tombstones in the middle of a chain: the keys after them are still found and
 * recorded in place (not again into the tombstone before them); a new key takes
 * the first tombstone.
 */
START_TEST(test_tombstones_in_chain)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x = table(u);
	uint64_t keys[6], dev = 32;
	uint32_t at = xino_slot_of(dev, 1);

	same_chain(dev, keys, 6);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(xino_record(x, dev, keys[i], 2000 + (uint64_t)i), 0);
	xino_free(x, dev, keys[1]);
	xino_free(x, dev, keys[2]);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[1]), 0);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[3]), 2003);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[4]), 2004);
	/* a key further on keeps its slot */
	ck_assert_int_eq(xino_record(x, dev, keys[3], 3003), 0);
	ck_assert_uint_eq(slot_at(x, at + 1)->dev, AUFS_XINO_TOMB_DEV);
	ck_assert_uint_eq(slot_at(x, at + 3)->ino, keys[3]);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[3]), 3003);
	/* a new key: the first tombstone */
	ck_assert_int_eq(xino_record(x, dev, keys[5], 2005), 0);
	ck_assert_uint_eq(slot_at(x, at + 1)->ino, keys[5]);
	ck_assert_uint_eq(slot_at(x, at + 1)->dev, dev);
	ck_assert_uint_eq(slot_at(x, at + 5)->ino, 0);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[5]), 2005);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[4]), 2004);
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_ENTRIES), 4);
}
END_TEST

/* A full chain takes a key again once one of its keys is freed. */
START_TEST(test_full_then_freed)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x = table(u);
	uint64_t keys[AUFS_XINO_PROBE + 1], dev = 33;
	uint32_t at = xino_slot_of(dev, 1);

	same_chain(dev, keys, AUFS_XINO_PROBE + 1);
	for (int i = 0; i < AUFS_XINO_PROBE; i++)
		ck_assert_int_eq(xino_record(x, dev, keys[i], 1000 + (uint64_t)i), 0);
	ck_assert_int_eq(xino_record(x, dev, keys[AUFS_XINO_PROBE], 5000), -ENOSPC);
	xino_free(x, dev, keys[7]);
	ck_assert_int_eq(xino_record(x, dev, keys[AUFS_XINO_PROBE], 5000), 0);
	ck_assert_uint_eq(slot_at(x, at + 7)->ino, keys[AUFS_XINO_PROBE]);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[AUFS_XINO_PROBE]), 5000);
	for (int i = 0; i < AUFS_XINO_PROBE; i++)
		ck_assert_uint_eq(xino_lookup(x, dev, keys[i]), i == 7 ? 0 : 1000 + (uint64_t)i);
	ck_assert_int_eq(xino_record(x, dev, keys[7], 7777), -ENOSPC);
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_FULL), 2);
}
END_TEST

/* Pseudo-link keys: a cleared one gives its slot back, and a new one takes it. */
START_TEST(test_plink_slots)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x = table(u);

	ck_assert_int_eq(plink_set(x, 4242, 0), 0);
	ck_assert_int_eq(plink_branch(u, x, 4242), 0);
	ck_assert_int_eq(plink_scan(x, NULL, 0), 1);
	plink_clear(x, 4242);
	ck_assert_int_eq(plink_branch(u, x, 4242), -1);
	ck_assert_int_eq(plink_scan(x, NULL, 0), 0);
	ck_assert_uint_eq(slot_at(x, xino_slot_of(AUFS_PLINK_DEV, 4242))->dev, AUFS_XINO_TOMB_DEV);
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_ENTRIES), 0);
	ck_assert_int_eq(plink_set(x, 4242, 0), 0);
	ck_assert_int_eq(plink_branch(u, x, 4242), 0);
	ck_assert_uint_eq(slot_at(x, xino_slot_of(AUFS_PLINK_DEV, 4242))->dev, AUFS_PLINK_DEV);
}
END_TEST

static bool dev_is(uint64_t dev, uint64_t ino, uint64_t num, void *arg)
{
	(void)ino;
	(void)num;
	return dev == *(uint64_t *)arg;
}

/*
 * Truncation: the entries it is told are gone, dead ones (a free half done by a
 * killed process: GEN odd), reuses a killed process left half done, and a key
 * shadowed by the same key earlier on its chain; the others stay.
 */
START_TEST(test_truncate)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x = table(u);
	uint64_t keys[8], gone = 41, dev = 34, entries;
	uint32_t at = xino_slot_of(dev, 1);
	struct aufs_xino_slot *s;

	for (uint64_t i = 1; i <= 50; i++) {
		ck_assert_int_eq(xino_record(x, gone, i, 100 + i), 0);
		ck_assert_int_eq(xino_record(x, 42, i, 200 + i), 0);
	}
	same_chain(dev, keys, 8);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(xino_record(x, dev, keys[i], 300 + (uint64_t)i), 0);
	entries = counter(x, AUFS_XINO_CNT_ENTRIES);
	ck_assert_uint_eq(entries, 106);
	/* keys[1]: a free killed after its first step (number DEAD, GEN odd) */
	s = slot_at(x, at + 1);
	atomic_store(&s->num, AUFS_XINO_DEAD);
	atomic_store(&s->gen, 1);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[1]), 0);
	/* keys[2]: a record of another key killed inside the tombstone's reuse */
	xino_free(x, dev, keys[2]);
	s = slot_at(x, at + 2);
	atomic_store(&s->num, 0);
	atomic_store(&s->gen, 3);
	s->ino = keys[7];
	s->dev = dev;
	atomic_fetch_add(&x->counter[AUFS_XINO_CNT_ENTRIES], 1);	/* as the reuse counts it */
	ck_assert_uint_eq(xino_lookup(x, dev, keys[7]), 0);
	/* keys[3] again at keys[5]'s place: a copy the first one shadows */
	s = slot_at(x, at + 5);
	s->ino = keys[3];
	atomic_store(&s->num, 999);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[3]), 303);
	/* recorders walk past the slots left changing */
	ck_assert_int_eq(xino_record(x, dev, keys[6], 306), 0);
	ck_assert_uint_eq(slot_at(x, at + 6)->ino, keys[6]);

	ck_assert_uint_eq(xino_truncate(x, dev_is, &gone), 50 + 1 + 1 + 1);
	for (uint64_t i = 1; i <= 50; i++) {
		ck_assert_uint_eq(xino_lookup(x, gone, i), 0);
		ck_assert_uint_eq(xino_lookup(x, 42, i), 200 + i);
	}
	for (int i = 0; i < 8; i++) {
		s = slot_at(x, at + (uint32_t)i);
		ck_assert_uint_eq(atomic_load(&s->gen) & 1, 0);
		ck_assert_uint_eq(s->dev, i == 1 || i == 2 || i == 5 ? AUFS_XINO_TOMB_DEV :
					  i == 7 ? 0 : dev);
	}
	ck_assert_uint_eq(xino_lookup(x, dev, keys[3]), 303);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[4]), 304);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[6]), 306);
	/* entries: 106 + keys[6], the reuse's key counted when taken, minus the frees */
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_ENTRIES), 106 + 1 - 50 - 1 - 1 - 1 + 1 - 1);
	/* nothing more to free */
	ck_assert_uint_eq(xino_truncate(x, dev_is, &gone), 0);
	/* the slots freed are taken again */
	ck_assert_int_eq(xino_record(x, dev, keys[1], 401), 0);
	ck_assert_uint_eq(slot_at(x, at + 1)->ino, keys[1]);
	ck_assert_uint_eq(xino_lookup(x, dev, keys[1]), 401);
}
END_TEST

/*
 * Readers never see one key with another's number: two keys of one chain take
 * the same slot in turn (recorded, freed, the other recorded into the
 * tombstone) in a child while this process looks both up.
 */
START_TEST(test_reuse_seen_by_reader)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x = table(u);
	uint64_t keys[2], dev = 35, seen[2] = { 0, 0 };
	pid_t pid;
	int st;

	same_chain(dev, keys, 2);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (int n = 0; n < 200000; n++)
			for (int k = 0; k < 2; k++) {
				if (xino_record(x, dev, keys[k], 7000 + (uint64_t)k) < 0)
					_exit(3);
				xino_free(x, dev, keys[k]);
			}
		_exit(0);
	}
	while (waitpid(pid, &st, WNOHANG) == 0)
		for (int k = 0; k < 2; k++) {
			uint64_t v = xino_lookup(x, dev, keys[k]);

			ck_assert_msg(v == 0 || v == 7000 + (uint64_t)k, "key %d: %llu", k,
				      (unsigned long long)v);
			seen[k] += v != 0;
		}
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_uint_eq(slot_at(x, xino_slot_of(dev, 1) + 1)->ino, 0);	/* one slot */
	ck_assert_uint_eq(counter(x, AUFS_XINO_CNT_ENTRIES), 0);
}
END_TEST

/*
 * Processes recording and freeing keys of shared chains, one killed at a random
 * moment each round: nobody waits, a truncation then leaves no slot changing,
 * and every key can be recorded and found again.
 */
static void free_writer(struct aufs_xino *x, int id)
{
	for (int round = 0; round < 400; round++)
		for (uint64_t k = 1; k <= 200; k++) {
			if (xino_record(x, 36, k * 64 + (uint64_t)id, k) < 0)
				_exit(4);
			if ((k + (uint64_t)round) % 3)
				xino_free(x, 36, k * 64 + (uint64_t)id);
		}
	_exit(0);
}

static bool never(uint64_t dev, uint64_t ino, uint64_t num, void *arg)
{
	(void)dev, (void)ino, (void)num, (void)arg;
	return false;
}

START_TEST(test_killed_freers)
{
	struct aufs_union *u = fx_start("b/f t/", "br:@/t=rw:@/b=ro");
	struct aufs_xino *x = table(u);
	unsigned seed = (unsigned)time(NULL);

	for (int round = 0; round < 6; round++) {
		kill_one_of_four(x, free_writer, &seed, round);
	}
	(void)xino_truncate(x, never, NULL);
	for (uint32_t i = 0; i < AUFS_XINO_NSLOT; i++)
		ck_assert_uint_eq(atomic_load(&slot_at(x, i)->gen) & 1, 0);
	for (uint64_t k = 1; k <= 200; k++)
		for (uint64_t id = 0; id < 4; id++) {
			ck_assert_int_eq(xino_record(x, 36, k * 64 + id, 5000 + k), 0);
			ck_assert_uint_eq(xino_lookup(x, 36, k * 64 + id), 5000 + k);
		}
	/*
	 * The counter of entries agrees with the slots, but for the victims: a kill
	 * between a key's change and its count leaves the counter one off (6 rounds).
	 */
	{
		uint64_t live = 0, c = counter(x, AUFS_XINO_CNT_ENTRIES);

		for (uint32_t i = 0; i < AUFS_XINO_NSLOT; i++)
			live += slot_at(x, i)->ino != 0 && slot_at(x, i)->dev != AUFS_XINO_TOMB_DEV;
		ck_assert_msg(c + 6 >= live && c <= live + 6, "entries %llu, live slots %llu",
			      (unsigned long long)c, (unsigned long long)live);
	}
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
	tcase_add_test(tc, test_free_and_reuse);
	tcase_add_test(tc, test_tombstones_in_chain);
	tcase_add_test(tc, test_full_then_freed);
	tcase_add_test(tc, test_plink_slots);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_reuse_seen_by_reader);
	tcase_add_test(tc, test_killed_freers);
	suite_add_tcase(s, tc);
	return s;
}
