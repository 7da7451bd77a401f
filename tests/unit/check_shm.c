/* SPDX-License-Identifier: MIT */
/*
 * check_shm.c - unit tests of src/core/state_shm.c: attaching the shared state of a
 * union. A fresh file is created complete (mode 0600, the whole size, a valid
 * header) and published without a window; an existing valid one is shared; a
 * corrupt or foreign one - bad magic, another version or layout, truncated,
 * another owner, group or other access, another mount point, not a regular
 * file - is refused with the right -errno and a message, and never mapped for
 * use. Under injected faults (include/aufs/fault.h) an attach fails cleanly: an
 * error, no descriptor, no half-made file, no temporary (unless the failed call
 * was the temporary's own removal: that file is then left, never used again).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aufs/fault.h"
#include "fixture.h"
#include "internal.h"

Suite *shm_suite(void);

static struct aufs_union *u;
static char path[PATH_MAX];

static void setup(void)
{
	u = fx_add_union("br:@/t=rw:@/b=ro", "@/mnt");
	ck_assert_int_gt(aufs_shm_path(u, path, sizeof(path)), 0);
	unlink(path);
}

/* Another union of the same mount point, as another process of it would have. */
static struct aufs_union *twin(void)
{
	struct aufs_union *v = NULL;
	struct aufs_err err;

	ck_assert_int_eq(aufs_union_parse(fx_ex("br:@/t=rw:@/b=ro"), fx_ex("@/mnt"), &v, &err), 0);
	return v;	/* aufs_union_free() leaves its mapping, as a process would keep it */
}

/* A valid state file at PATH, written by the test, then changed by MUTATE. */
static void make_state(void (*mutate)(struct aufs_shm *), size_t size, mode_t mode)
{
	struct aufs_shm *shm = calloc(1, AUFS_SHM_SIZE);
	int fd;

	ck_assert_ptr_nonnull(shm);
	shm->magic = AUFS_SHM_MAGIC;
	shm->version = AUFS_SHM_VERSION;
	shm->hdr_size = AUFS_SHM_HDR_SIZE;
	shm->size = AUFS_SHM_SIZE;
	shm->uid = geteuid();
	shm->ndirgen = AUFS_SHM_NDIRGEN;
	shm->gen = 41;
	fx_fmt(shm->mnt, sizeof(shm->mnt), "%s", u->mnt);
	if (mutate)
		mutate(shm);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, shm, size), (ssize_t)size);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	free(shm);
}

static void refused(int want, const char *why)
{
	struct aufs_err err = { 0 };
	int fds = fx_count_fds();

	ck_assert_int_eq(aufs_shm_attach(u, &err), want);
	ck_assert_ptr_null(u->shm);
	ck_assert_int_eq(fx_count_fds(), fds);
	if (why) {
		ck_assert_int_eq(err.code, want);
		ck_assert_msg(strstr(err.msg, why) && strstr(err.msg, path), "message: %s",
			      err.msg);
	}
	/* the lazy path remembers the failure and does not try again */
	ck_assert_ptr_null(aufs_union_shm(u));
	ck_assert_int_eq(u->shm_state, want);
	aufs_fault_clear();
	ck_assert_ptr_null(aufs_union_shm(u));
	ck_assert_uint_eq(aufs_fault_count(SYS_openat), 0);
}

/* The temporaries of create_new() in state_shm.c next to PATH; UNLINK: remove them. */
static int temporaries(bool unlink_them)
{
	char pat[PATH_MAX + 8];
	glob_t g;
	int n;

	fx_fmt(pat, sizeof(pat), "%s.tmp.*", path);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	n = (int)g.gl_pathc;
	for (int i = 0; unlink_them && i < n; i++)
		unlink(g.gl_pathv[i]);
	globfree(&g);
	return n;
}

static int count_temporaries(void)
{
	return temporaries(false);
}

static int unlink_temporaries(void)
{
	return temporaries(true);
}

START_TEST(test_fresh)
{
	struct aufs_err err = { 0 };
	struct stat st;
	struct aufs_shm *shm;

	ck_assert_int_eq(aufs_shm_attach(u, &err), 0);
	shm = u->shm;
	ck_assert_ptr_nonnull(shm);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_int_eq(st.st_size, AUFS_SHM_SIZE);
	ck_assert_uint_eq(shm->magic, AUFS_SHM_MAGIC);
	ck_assert_uint_eq(shm->version, AUFS_SHM_VERSION);
	ck_assert_uint_eq(shm->hdr_size, AUFS_SHM_HDR_SIZE);
	ck_assert_uint_eq(shm->ndirgen, AUFS_SHM_NDIRGEN);
	ck_assert_uint_eq(shm->gen, 1);
	ck_assert_str_eq(shm->mnt, u->mnt);
	ck_assert_int_eq(count_temporaries(), 0);
	ck_assert_ptr_eq(aufs_union_shm(u), shm);
}
END_TEST

/* Two unions of one mount point (two processes, in effect) share one state. */
START_TEST(test_shared)
{
	struct aufs_union *v = twin();

	make_state(NULL, AUFS_SHM_SIZE, 0600);
	ck_assert_int_eq(aufs_shm_attach(u, NULL), 0);
	ck_assert_uint_eq(u->shm->gen, 41);	/* the existing file, not a new one */
	ck_assert_int_eq(aufs_shm_attach(v, NULL), 0);
	ck_assert_ptr_ne(u->shm, v->shm);
	atomic_fetch_add(&u->shm->gen, 1);
	ck_assert_uint_eq(v->shm->gen, 42);
	/* attaching again keeps the first mapping */
	{
		struct aufs_shm *first = u->shm;

		ck_assert_int_eq(aufs_shm_attach(u, NULL), 0);
		ck_assert_ptr_eq(u->shm, first);
	}
	aufs_union_free(v);
}
END_TEST

static void bad_magic(struct aufs_shm *s)
{
	s->magic ^= 1;
}

static void bad_version(struct aufs_shm *s)
{
	s->version = AUFS_SHM_VERSION + 1;
}

static void bad_hdr(struct aufs_shm *s)
{
	s->hdr_size = 4096;
}

static void bad_ndirgen(struct aufs_shm *s)
{
	s->ndirgen = AUFS_SHM_NDIRGEN * 2;	/* would index past the mapping */
}

static void bad_size(struct aufs_shm *s)
{
	s->size = AUFS_SHM_SIZE * 4;
}

static void bad_uid(struct aufs_shm *s)
{
	s->uid = geteuid() + 1;
}

static void bad_mnt(struct aufs_shm *s)
{
	s->mnt[strlen(s->mnt) - 1] ^= 1;
}

static void no_magic(struct aufs_shm *s)
{
	s->magic = 0;	/* a creator that died before publishing would look so */
}

static const struct {
	const char *name;
	void (*mutate)(struct aufs_shm *);
	const char *why;
} corrupt[] = {
	{ "bad magic", bad_magic, "bad magic number" },
	{ "no magic", no_magic, "bad magic number" },
	{ "another version", bad_version, "unsupported version" },
	{ "another header size", bad_hdr, "bad layout" },
	{ "another dirgen count", bad_ndirgen, "bad layout" },
	{ "another size", bad_size, "bad layout" },
	{ "uid field of another user", bad_uid, "owned by another user" },
	{ "another mount point", bad_mnt, "another mount point" },
};
#define NCORRUPT ((int)(sizeof(corrupt) / sizeof(corrupt[0])))

START_TEST(test_corrupt_header)
{
	make_state(corrupt[_i].mutate, AUFS_SHM_SIZE, 0600);
	refused(-EUCLEAN, corrupt[_i].why);
}
END_TEST

START_TEST(test_truncated)
{
	make_state(NULL, AUFS_SHM_SIZE / 2, 0600);
	refused(-EUCLEAN, "not a private regular file");
}
END_TEST

START_TEST(test_empty)
{
	make_state(NULL, 0, 0600);
	refused(-EUCLEAN, "not a private regular file");
}
END_TEST

START_TEST(test_group_readable)
{
	make_state(NULL, AUFS_SHM_SIZE, 0640);
	refused(-EUCLEAN, "not a private regular file");
}
END_TEST

START_TEST(test_world_writable)
{
	make_state(NULL, AUFS_SHM_SIZE, 0602);
	refused(-EUCLEAN, "not a private regular file");
}
END_TEST

START_TEST(test_foreign_owner)
{
	if (geteuid() != 0)
		return;	/* only root can give a file away */
	make_state(NULL, AUFS_SHM_SIZE, 0600);
	ck_assert_int_eq(chown(path, 12345, 12345), 0);
	refused(-EUCLEAN, "not a private regular file");
}
END_TEST

START_TEST(test_symlink)
{
	char target[PATH_MAX + 8];

	fx_fmt(target, sizeof(target), "%s.target", path);
	unlink(target);
	make_state(NULL, AUFS_SHM_SIZE, 0600);
	ck_assert_int_eq(rename(path, target), 0);
	ck_assert_int_eq(symlink(target, path), 0);
	refused(-ELOOP, NULL);	/* never followed, even to a valid state */
	unlink(target);
}
END_TEST

START_TEST(test_directory)
{
	ck_assert_int_eq(mkdir(path, 0700), 0);
	refused(-EISDIR, NULL);
	rmdir(path);
}
END_TEST

START_TEST(test_fifo)
{
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	/* opened O_RDWR a FIFO does not block; then it is not a regular file */
	refused(-EUCLEAN, "not a private regular file");
}
END_TEST

/* Every raw call of a fresh attach failing in turn. */
START_TEST(test_fault_sweep)
{
	static const int errs[] = { EIO, ENOSPC, ENOMEM, EEXIST };

	for (size_t e = 0; e < sizeof(errs) / sizeof(errs[0]); e++) {
		for (unsigned n = 1;; n++) {
			struct aufs_err err = { 0 };
			unsigned long fired;
			struct stat st;
			int r, fds, last;

			ck_assert_uint_lt(n, 200);
			fx_fresh();
			setup();
			fds = fx_count_fds();
			aufs_fault_set(AUFS_FAULT_ANY, n, errs[e]);
			r = aufs_shm_attach(u, &err);
			fired = aufs_fault_fired();
			last = aufs_fault_last();
			aufs_fault_clear();
			ck_assert_int_eq(fx_count_fds(), fds);
			/* the documented leftover: the temporary whose removal failed */
			if (last == SYS_unlinkat)
				(void)unlink_temporaries();
			ck_assert_int_eq(count_temporaries(), 0);
			if (r == 0) {
				ck_assert_ptr_nonnull(u->shm);
				ck_assert_uint_eq(u->shm->magic, AUFS_SHM_MAGIC);
			} else {
				ck_assert_ptr_null(u->shm);
				ck_assert_msg(r == -errs[e] || r == -ENOENT,
					      "%s, round %u: %d", strerrorname_np(errs[e]), n, r);
			}
			/* what is left at the name is complete: the next attach takes it */
			if (stat(path, &st) == 0) {
				struct aufs_union *v = twin();

				ck_assert_int_eq(st.st_size, AUFS_SHM_SIZE);
				ck_assert_int_eq(aufs_shm_attach(v, NULL), 0);
				aufs_union_free(v);
			}
			if (!fired) {
				ck_assert_int_eq(r, 0);
				break;
			}
		}
	}
}
END_TEST

Suite *shm_suite(void)
{
	Suite *s = suite_create("shm");
	TCase *tc = tcase_create("attach");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_fresh);
	tcase_add_test(tc, test_shared);
	tcase_add_loop_test(tc, test_corrupt_header, 0, NCORRUPT);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_group_readable);
	tcase_add_test(tc, test_world_writable);
	tcase_add_test(tc, test_foreign_owner);
	tcase_add_test(tc, test_symlink);
	tcase_add_test(tc, test_directory);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_fault_sweep);
	suite_add_tcase(s, tc);
	return s;
}
