/* SPDX-License-Identifier: MIT */
/*
 * check_copyup.c - unit tests of src/core/mutate_copyup.c under injected faults: a file
 * (with the parent directories it needs), an empty copy (O_TRUNC), a symlink, a
 * FIFO and a sparse file are copied up from the read-only branch @/b into the
 * writable @/t while the Nth raw system call fails (include/aufs/fault.h), for
 * N = 1, 2, ... until the copy-up runs without meeting the fault.
 *
 * After every round the union must be in its old state or in its new state,
 * never in between:
 *   - old: the union shows what it showed before; the writable branch holds
 *     nothing under the object's name, and nothing new but parent directories
 *     that are exact copies of the lower ones (aufs leaves those too: they change
 *     nothing the union shows), and the copy-up reported an error;
 *   - new: the writable branch is exactly what a copy-up without faults leaves;
 * and in both: the read-only branch is byte-for-byte untouched, no ".wh..wh.cpup"
 * temporary is left, and no file descriptor leaked. Times are not compared:
 * copying them is best effort, as in cp -p.
 *
 * When every call from the Nth on fails (a persistent fault of any kind), the
 * cleanup fails too, so less can be asked: no descriptor leaked, the read-only
 * branch untouched, nothing but directories and hidden temporaries (the
 * documented leftovers, their names whiteout-prefixed) in the writable branch
 * unless the copy is complete.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "aufs/fault.h"
#include "aufs/sys.h"
#include "fixture.h"

Suite *copyup_suite(void);

/* The branch root's link target of every whiteout: created once, kept for good. */
static const char *const ignore[] = { ".wh..wh.aufs", NULL };

/* ---------------------------------------------------------------- the operations */

/* open for writing: the whole file is copied up */
static int op_open_write(const char *path)
{
	int fd = aufs_openat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 0;
}

/* O_TRUNC: a copy without data */
static int op_open_trunc(const char *path)
{
	int fd = aufs_openat(AT_FDCWD, path, O_WRONLY | O_TRUNC | O_CLOEXEC, 0);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 0;
}

/* a change of nothing that still needs the object in the writable branch */
static int op_lchown_nothing(const char *path)
{
	return aufs_fchownat(AT_FDCWD, path, (uid_t)-1, (gid_t)-1, AT_SYMLINK_NOFOLLOW);
}

static int op_truncate(const char *path)
{
	return aufs_truncate(path, 3);
}

struct cpcase {
	const char *name;
	const char *layout;
	void (*extra)(void);	/* more of the layout, made by hand */
	const char *path;
	int (*op)(const char *path);
	bool view_changes;	/* the op itself changes what the union shows */
};

static void make_fifo(void)
{
	ck_assert_int_eq(mkfifo(fx_at("b/d/p"), 0640), 0);
}

/* 1 MiB with data at both ends and a hole between: SEEK_DATA, copy_file_range */
static void make_sparse(void)
{
	char block[8192];
	int fd;

	memset(block, 'x', sizeof(block));
	fd = open(fx_at("b/d/sparse"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, block, sizeof(block), 0), (ssize_t)sizeof(block));
	ck_assert_int_eq(pwrite(fd, block, sizeof(block), 1 << 20), (ssize_t)sizeof(block));
	close(fd);
}

/*
 * The union caches d with its copy in @/t, which then goes behind its back
 * (udba): the copy-up trusts the lookup, meets ENOENT making its temporary, and
 * makes the directory as when the lookup had not known it.
 */
static void cache_then_remove_top_dir(void)
{
	struct stat st;

	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/d/f"), &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(rmdir(fx_at("t/d")), 0);
}

static const struct cpcase cases[] = {
	{ "file and two parents", "b/d/e/f b/d/g t/x", NULL, "@/mnt/d/e/f", op_open_write, false },
	{ "file, parent in place", "b/d/f t/d/", NULL, "@/mnt/d/f", op_open_write, false },
	{ "empty copy (O_TRUNC)", "b/d/e/f", NULL, "@/mnt/d/e/f", op_open_trunc, true },
	{ "first bytes (truncate)", "b/d/f", NULL, "@/mnt/d/f", op_truncate, true },
	{ "symlink", "b/d/l->../out/x", NULL, "@/mnt/d/l", op_lchown_nothing, false },
	{ "fifo", "b/d/", make_fifo, "@/mnt/d/p", op_lchown_nothing, false },
	{ "sparse file", "b/d/", make_sparse, "@/mnt/d/sparse", op_open_write, false },
	{ "top dir gone since the lookup", "b/d/f t/d/", cache_then_remove_top_dir, "@/mnt/d/f",
	  op_open_write, false },
};
#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* The faults each case is swept with. */
struct fault {
	int sysno;
	int err;
	bool persist;
};

static const struct fault faults[] = {
	{ AUFS_FAULT_ANY, EIO, false },
	{ AUFS_FAULT_ANY, ENOSPC, false },
	{ AUFS_FAULT_ANY, EIO, true },		/* everything from the Nth call on */
	{ SYS_copy_file_range, EXDEV, true },	/* no in-kernel copy: read and write */
	{ SYS_renameat2, EXDEV, false },
	{ SYS_openat, EEXIST, false },		/* the temporary's name taken: another one */
	{ SYS_copy_file_range, ENOSPC, false },	/* the disk fills during the copy */
};
#define NFAULTS ((int)(sizeof(faults) / sizeof(faults[0])))

/* ---------------------------------------------------------------- the sweep */

static void setup_case(const struct cpcase *c)
{
	fx_start(c->layout, "br:@/t=rw:@/b=ro");
	if (c->extra)
		c->extra();
}

/* Every line of EXTRA (new in @/t) is a directory that @/b has just so. */
static void assert_only_parent_copies(const char *extra, const char *lower, unsigned n,
				      bool strict)
{
	for (const char *p = extra; *p;) {
		const char *nl = strchr(p, '\n');
		char *line = strndup(p, (size_t)(nl - p)), *sp = strchr(line, ' ');

		ck_assert_msg(sp && sp[1] == 'd', "round %u: a partial copy in the rw branch: %s",
			      n, line);
		ck_assert_msg(!strict || strstr(lower, line) != NULL,
			      "round %u: copied directory differs from the lower one: %s", n, line);
		free(line);
		p = nl + 1;
	}
}

/* Remove the lines naming a copy-up temporary from TEXT, in place. */
static void drop_temporaries(char *text)
{
	char *q = text;

	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = (size_t)(nl - p) + 1;

		if (!memmem(p, n, ".wh..wh.cpup", 12)) {
			memmove(q, p, n);
			q += n;
		}
		p += n;
	}
	*q = 0;
}

static void sweep(const struct cpcase *c, const struct fault *f)
{
	char *old_t, *old_b, *old_v, *new_t, *new_v, *t, *b, *v;
	const char *path;
	unsigned n, failed_runs = 0;
	/* the cleanup fails too: see the header for what is still required */
	bool everything_fails = f->persist && f->sysno == AUFS_FAULT_ANY;
	int r, fds;

	setup_case(c);
	path = fx_ex(c->path);
	old_t = fx_snapshot("t", ignore);
	old_b = fx_snapshot("b", NULL);
	old_v = fx_view();
	r = c->op(path);
	ck_assert_msg(r == 0, "%s without faults: %d", c->name, r);
	new_t = fx_snapshot("t", ignore);
	new_v = fx_view();
	ck_assert_msg(strcmp(old_t, new_t), "%s: nothing was copied up", c->name);
	ck_assert_msg(!c->view_changes == !strcmp(old_v, new_v), "%s: view", c->name);

	for (n = 1;; n++) {
		unsigned long fired;

		ck_assert_msg(n < 2000, "%s: the sweep does not end", c->name);
		fx_fresh();
		setup_case(c);
		path = fx_ex(c->path);
		fds = fx_count_fds();
		if (f->persist)
			aufs_fault_set_persist(f->sysno, n, f->err);
		else
			aufs_fault_set(f->sysno, n, f->err);
		r = c->op(path);
		fired = aufs_fault_fired();
		aufs_fault_clear();

		ck_assert_msg(fx_count_fds() == fds, "%s, round %u: %d fds leaked (r = %d)",
			      c->name, n, fx_count_fds() - fds, r);
		t = fx_snapshot("t", ignore);
		b = fx_snapshot("b", NULL);
		v = fx_view();
		ck_assert_msg(!strcmp(b, old_b), "%s, round %u: the ro branch changed:\n%s",
			      c->name, n, fx_minus(b, old_b));
		if (!fired) {
			ck_assert_msg(r == 0, "%s: no fault met, yet %d", c->name, r);
			ck_assert_str_eq(t, new_t);
			ck_assert_str_eq(v, new_v);
			free(t), free(b), free(v);
			break;
		}
		failed_runs++;
		/* the documented leftover: only when its removal failed too */
		if (!everything_fails)
			ck_assert_msg(!strstr(t, ".wh..wh.cpup"),
				      "%s, round %u: a temporary is left:\n%s", c->name, n, t);
		if (!strcmp(t, new_t)) {
			ck_assert_msg(!strcmp(v, new_v), "%s, round %u: new branch, old view",
				      c->name, n);
		} else {
			char *extra = fx_minus(t, old_t), *gone = fx_minus(old_t, t);

			/* hidden temporaries aside (see above), only parent copies are new */
			if (everything_fails)
				drop_temporaries(extra);
			ck_assert_msg(!*gone, "%s, round %u: gone from the rw branch:\n%s", c->name,
				      n, gone);
			assert_only_parent_copies(extra, b, n, !everything_fails);
			ck_assert_msg(everything_fails || !strcmp(v, old_v),
				      "%s, round %u: the union shows:\n%s\nand lacks:\n%s", c->name,
				      n, fx_minus(v, old_v), fx_minus(old_v, v));
			ck_assert_msg(r < 0, "%s, round %u: old state but success", c->name, n);
			free(extra), free(gone);
		}
		free(t), free(b), free(v);
	}
	/* a sweep that never failed anything tested nothing */
	ck_assert_msg(failed_runs > 0 || f->sysno != AUFS_FAULT_ANY, "%s: no round failed",
		      c->name);
	free(old_t), free(old_b), free(old_v), free(new_t), free(new_v);
}

START_TEST(test_sweep)
{
	sweep(&cases[_i / NFAULTS], &faults[_i % NFAULTS]);
}
END_TEST

/* The seam itself: counts, the Nth call, persistence, close still closing. */
START_TEST(test_seam)
{
	struct stat st;
	char p[PATH_MAX];
	int fd, fds;

	/* the union's shared state is made at its first use, before the counting */
	ck_assert_ptr_nonnull(aufs_union_shm(fx_start("b/f", "br:@/t=rw:@/b=ro")));
	fx_fmt(p, sizeof(p), "%s", fx_ex("@/mnt/f"));
	aufs_fault_clear();
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, p, &st, 0), 0);
	ck_assert_uint_gt(aufs_fault_count(SYS_newfstatat), 0);
	ck_assert_uint_ge(aufs_fault_count(AUFS_FAULT_ANY), aufs_fault_count(SYS_newfstatat));
	ck_assert_uint_eq(aufs_fault_count(SYS_renameat2), 0);

	/* a branch's file is opened beneath the branch (mutate_beneath.c): openat2 */
	aufs_fault_set(SYS_openat2, 1, EIO);
	ck_assert_int_eq(aufs_openat(AT_FDCWD, p, O_RDONLY, 0), -EIO);
	ck_assert_uint_eq(aufs_fault_fired(), 1);
	fd = aufs_openat(AT_FDCWD, p, O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);	/* one-shot: the next one runs */
	close(fd);

	aufs_fault_set_persist(SYS_openat2, 2, EMFILE);
	fd = aufs_openat(AT_FDCWD, p, O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(aufs_openat(AT_FDCWD, p, O_RDONLY, 0), -EMFILE);
	ck_assert_int_eq(aufs_openat(AT_FDCWD, p, O_RDONLY, 0), -EMFILE);
	ck_assert_uint_eq(aufs_fault_fired(), 2);

	/* an injected close error still closes, as Linux does */
	aufs_fault_clear();
	fd = open(p, O_RDONLY | O_CLOEXEC);
	fds = fx_count_fds();
	{
		struct aufs_dir *d = NULL;
		struct aufs_loc loc;

		ck_assert_int_eq(aufs_resolve(AT_FDCWD, fx_ex("@/mnt"), 0, &loc), 0);
		ck_assert_int_eq(aufs_dir_open(&loc, -1, &d), 0);
		ck_assert_int_eq(fx_count_fds(), fds + 1);
		aufs_fault_set(SYS_close, 1, EIO);
		ck_assert_int_eq((int)syscall(SYS_close, -1), -1);	/* libc's own: not seen */
		ck_assert_int_eq(aufs_dir_close(d), -EIO);
	}
	ck_assert_uint_eq(aufs_fault_fired(), 1);
	ck_assert_int_eq(fx_count_fds(), fds);
	close(fd);

	/* ANY leaves the calls that cannot fail alone; naming one fails it */
	aufs_fault_set(AUFS_FAULT_ANY, 1, EIO);
	ck_assert_uint_eq(sys_geteuid(), geteuid());
	ck_assert_uint_eq(aufs_fault_fired(), 0);
	ck_assert_uint_eq(aufs_fault_count(SYS_geteuid), 1);
	ck_assert_int_eq(sys_close(-1), -EIO);
	ck_assert_int_eq(aufs_fault_last(), SYS_close);
	aufs_fault_set(SYS_geteuid, 1, EIO);
	ck_assert_int_eq((int)sys_geteuid(), -EIO);
	aufs_fault_clear();
}
END_TEST

/* A copy-up that cannot write its temporary reports it and leaves nothing. */
START_TEST(test_enospc_everywhere)
{
	char *old_t;
	int fds;

	fx_start("b/d/e/f", "br:@/t=rw:@/b=ro");
	old_t = fx_snapshot("t", ignore);
	fds = fx_count_fds();
	aufs_fault_set_persist(SYS_openat, 1, ENOSPC);
	ck_assert_int_eq(aufs_openat(AT_FDCWD, fx_ex("@/mnt/d/e/f"), O_WRONLY, 0),
			 -ENOSPC);
	aufs_fault_clear();
	ck_assert_int_eq(fx_count_fds(), fds);
	{
		char *t = fx_snapshot("t", ignore), *extra = fx_minus(t, old_t);

		ck_assert_ptr_null(strstr(t, "cpup"));
		ck_assert_ptr_null(strstr(t, "e/f "));
		free(t), free(extra);
	}
	free(old_t);
}
END_TEST

/*
 * A full disk (ENOSPC) or a full quota (EDQUOT) met while the data is copied is
 * what the caller is told, as the kernel would tell it: from copy_file_range
 * itself, and from the pwrite of the read-and-write fallback (copy_file_range
 * refused with EXDEV between file systems, as between a tmpfs and a disk), the
 * first pwrite and a later one. Nothing is left behind, the base untouched.
 */
START_TEST(test_copy_data_full)
{
	static const int errs[] = { ENOSPC, EDQUOT };
	char big[70000];	/* more than the fallback's 64 KiB buffer: two pwrites */
	char *old_t, *old_b;
	int fds;

	fx_start("b/d/e", "br:@/t=rw:@/b=ro");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	fx_put("b/d/f", big, 0644);
	old_t = fx_snapshot("t", ignore);
	old_b = fx_snapshot("b", NULL);
	fds = fx_count_fds();
	for (unsigned i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		for (int way = 0; way < 3; way++) {
			int e = errs[i], r;

			aufs_fault_clear();
			if (way == 0) {
				aufs_fault_set(SYS_copy_file_range, 1, e);
			} else {
				aufs_fault_set_persist(SYS_copy_file_range, 1, EXDEV);
				aufs_fault_add(SYS_pwrite64, (unsigned)way, e, false);
			}
			r = aufs_openat(AT_FDCWD, fx_ex("@/mnt/d/f"), O_WRONLY | O_CLOEXEC, 0);
			ck_assert_msg(r == -e, "%s, way %d: %d", strerror(e), way, r);
			/* the one EXDEV (asked once, not again before each chunk), then the error */
			ck_assert_uint_eq(aufs_fault_fired(), way == 0 ? 1u : 2u);
			ck_assert_uint_eq(aufs_fault_count(SYS_copy_file_range), 1);
			aufs_fault_clear();
			ck_assert_int_eq(fx_count_fds(), fds);
			{
				char *t = fx_snapshot("t", ignore), *b = fx_snapshot("b", NULL);

				ck_assert_ptr_null(strstr(t, "cpup"));
				ck_assert_ptr_null(strstr(t, "d/f "));
				ck_assert_str_eq(b, old_b);
				free(t), free(b);
			}
		}
	}
	/* and without a fault the fallback copies every byte */
	aufs_fault_set_persist(SYS_copy_file_range, 1, EXDEV);
	{
		int fd = aufs_openat(AT_FDCWD, fx_ex("@/mnt/d/f"), O_WRONLY | O_CLOEXEC, 0);
		struct stat st;

		ck_assert_int_ge(fd, 0);
		close(fd);
		ck_assert_uint_ge(aufs_fault_count(SYS_pwrite64), 2);
		aufs_fault_clear();
		ck_assert_int_eq(stat(fx_at("t/d/f"), &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)sizeof(big) - 1);
	}
	free(old_t), free(old_b);
}
END_TEST

/* The copy-up of @/mnt/d/NAME by OP: its mode in *MODE; did an fchmod come? */
static bool copy_needed_fchmod(const char *name, int (*op)(const char *), mode_t *mode)
{
	char path[64];
	struct stat st;
	unsigned long fired;

	fx_fmt(path, sizeof(path), "@/mnt/d/%s", name);
	aufs_fault_clear();	/* the counts start again */
	ck_assert_int_eq(op(fx_ex(path)), 0);
	fired = aufs_fault_count(SYS_fchmod);
	fx_fmt(path, sizeof(path), "t/d/%s", name);
	ck_assert_int_eq(lstat(fx_at(path), &st), 0);
	*mode = st.st_mode & 07777;
	return fired;
}

/* (called with @/mnt/d/f.moved, the name the copy ends up at) */
static int op_rename_away_f(const char *to)
{
	return aufs_renameat2(AT_FDCWD, fx_ex("@/mnt/d/f"), AT_FDCWD, to, 0);
}

/*
 * The copy is created with its final mode when the umask keeps all of it (no
 * fchmod), else made and then given it; so too under a default ACL of the top
 * branch's directory, which the kernel applies in place of the umask: the fstat
 * that keeps the copy's number tells, without asking the directory's ACL.
 */
START_TEST(test_copy_mode_umask_acl)
{
	/* a default ACL user::rwx group::r-x other::--- (struct posix_acl_xattr) */
	static const struct {
		uint32_t version;
		struct { uint16_t tag, perm; uint32_t id; } e[3];
	} acl = { 2, { { 0x01, 7, ~0u }, { 0x04, 5, ~0u }, { 0x20, 0, ~0u } } };
	mode_t old = umask(022), mode;

	fx_start("b/d/a b/d/b b/d/c b/d/e b/d/f t/d/", "br:@/t=rw:@/b=ro");
	chmod(fx_at("b/d/e"), 01644);	/* a bit a create may not set */
	aufs_umask_changed(022);
	ck_assert(!copy_needed_fchmod("a", op_open_write, &mode));
	ck_assert_int_eq(mode, 0644);
	/* a copy that keeps its number is fstat'ed: that says the mode, not the ACL */
	ck_assert_uint_eq(aufs_fault_count(SYS_lgetxattr), 0);
	ck_assert(copy_needed_fchmod("e", op_open_write, &mode));
	ck_assert_int_eq(mode, 01644);
	umask(077);
	aufs_umask_changed(077);
	ck_assert(copy_needed_fchmod("b", op_open_write, &mode));
	ck_assert_int_eq(mode, 0644);
	umask(022);
	aufs_umask_changed(022);
	/* set through the union: what the lookup had noted of d goes with it */
	if (aufs_setxattr(fx_ex("@/mnt/d"), "system.posix_acl_default", &acl, sizeof(acl), 0,
			  false) == 0) {
		ck_assert(copy_needed_fchmod("c", op_open_write, &mode));
		ck_assert_int_eq(mode, 0644);
		ck_assert_uint_eq(aufs_fault_count(SYS_lgetxattr), 0);
		ck_assert(copy_needed_fchmod("f.moved", op_rename_away_f, &mode));
		ck_assert_int_eq(mode, 0644);
	}
	aufs_umask_changed(-1);
	umask(old);
}
END_TEST

/*
 * Directories the writable branch lacks cost what is missing, not the depth: the
 * search goes up from the directory to the deepest copy there (one lstat per
 * missing level), and what the copy-up made is remembered, not probed again:
 * neither by the next copy-up in it, nor by the rename whose source made it.
 */
START_TEST(test_dir_copy_costs)
{
	struct stat st;

	fx_start("b/a/b/c/d/e/f b/a/b/c/d/e/g b/a/b/c/d/e/h t/a/b/c/d/",
		 "br:@/t=rw:@/b=ro");
	/* the lookups' costs: not what learning a closed directory costs (check_beneath.c) */
	beneath_set_closed(false);
	/* every name looked up once, as a warm process has */
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/a/b/c/d/e/f"), &st, 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/a/b/c/d/e/g"), &st, 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/a/b/c/d/e/h"), &st, 0), 0);
	/* and a name of the writable branch: its table of inode numbers is mapped */
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/a/b/c/d"), &st, 0), 0);

	aufs_fault_clear();
	ck_assert_int_eq(op_open_write(fx_ex("@/mnt/a/b/c/d/e/f")), 0);
	ck_assert_uint_eq(aufs_fault_count(SYS_mkdirat), 1);
	/*
	 * e missing (asked again, as a miss is), d there, e's lower copy, f's: four,
	 * whatever the depth (the walk down from the root asked every component); and
	 * e's copy, whose number the table of inode numbers keeps (state_xino.c)
	 */
	ck_assert_uint_le(aufs_fault_count(SYS_newfstatat), 5);
	ck_assert_int_eq(lstat(fx_at("t/a/b/c/d/e/f"), &st), 0);

	/* the next one: e is known there, and so is g below the lower copy */
	aufs_fault_clear();
	ck_assert_int_eq(op_open_write(fx_ex("@/mnt/a/b/c/d/e/g")), 0);
	ck_assert_uint_eq(aufs_fault_count(SYS_mkdirat), 0);
	/* g's, e's times, the copy's number (state_xino.c) */
	ck_assert_uint_le(aufs_fault_count(SYS_newfstatat), 3);
	ck_assert_int_eq(lstat(fx_at("t/a/b/c/d/e/g"), &st), 0);

	/* a rename in a directory its source's copy-up makes: made once */
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/a/b/c/d"), &st, 0), 0);
	ck_assert_int_eq(lstat(fx_at("t/a/b/c/d"), &st), 0);
	fx_build("b/a/b/c/d/x/k");
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/a/b/c/d/x/k"), &st, 0), 0);
	aufs_fault_clear();
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, fx_ex("@/mnt/a/b/c/d/x/k"), AT_FDCWD,
					fx_ex("@/mnt/a/b/c/d/x/k2"), 0), 0);
	ck_assert_uint_eq(aufs_fault_count(SYS_mkdirat), 1);
	ck_assert_int_eq(lstat(fx_at("t/a/b/c/d/x/k2"), &st), 0);
	ck_assert_int_eq(lstat(fx_at("t/a/b/c/d/x/.wh.k"), &st), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/a/b/c/d/x/k"), &st, 0), -ENOENT);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/a/b/c/d/e/h"), &st, 0), 0);
}
END_TEST

/*
 * A copy-up's source and temporary, opened one after the other, have adjacent
 * numbers: one close_range() closes both. Where it fails (ENOSYS: a kernel
 * before 5.9), each is closed alone; none is leaked either way.
 */
START_TEST(test_copy_closes)
{
	struct stat st;
	int fds;

	fx_start("b/d/e b/d/f b/d/g t/d/", "br:@/t=rw:@/b=ro");
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/d/f"), &st, 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/d/g"), &st, 0), 0);
	/* the second write in d names it by path (check_beneath.c): no descriptor of d */
	ck_assert_int_eq(aufs_fchownat(AT_FDCWD, fx_ex("@/mnt/d/e"), (uid_t)-1, (gid_t)-1, 0), 0);
	fds = fx_count_fds();
	aufs_fault_clear();
	ck_assert_int_eq(aufs_fchownat(AT_FDCWD, fx_ex("@/mnt/d/f"), (uid_t)-1, (gid_t)-1, 0), 0);
	ck_assert_uint_eq(aufs_fault_count(SYS_close_range), 1);
	ck_assert_uint_eq(aufs_fault_count(SYS_close), 0);
	ck_assert_int_eq(fx_count_fds(), fds);

	aufs_fault_set(SYS_close_range, 1, ENOSYS);
	ck_assert_int_eq(aufs_fchownat(AT_FDCWD, fx_ex("@/mnt/d/g"), (uid_t)-1, (gid_t)-1, 0), 0);
	ck_assert_uint_eq(aufs_fault_fired(), 1);
	ck_assert_uint_eq(aufs_fault_count(SYS_close), 2);
	ck_assert_int_eq(fx_count_fds(), fds);
	ck_assert_int_eq(lstat(fx_at("t/d/g"), &st), 0);
	aufs_fault_clear();
}
END_TEST

/*
 * The thread's scratch blocks (util_scratch.c): two kept from one verb to the
 * next (the same memory again, no heap call), a third at once from the heap.
 */
START_TEST(test_scratch_blocks)
{
	void *a = scratch_get(20000), *b = scratch_get(12000), *c = scratch_get(100);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_ne(a, b);
	memset(a, 1, 20000);
	memset(b, 2, 12000);
	scratch_put(c);
	scratch_put(b);
	scratch_put(a);
	ck_assert_ptr_eq(scratch_get(16000), a);
	ck_assert_ptr_eq(scratch_get(100), b);
	scratch_put(b);
	/* larger than the block it is given: the block grows */
	c = scratch_get(40000);
	ck_assert_ptr_nonnull(c);
	memset(c, 3, 40000);
	scratch_put(c);
	scratch_put(a);
	scratch_put(NULL);
}
END_TEST

Suite *copyup_suite(void)
{
	Suite *s = suite_create("copyup");
	TCase *tc = tcase_create("faults");

	tcase_set_timeout(tc, 120);	/* hundreds of rounds under sanitizers */
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_loop_test(tc, test_sweep, 0, NCASES * NFAULTS);
	tcase_add_test(tc, test_seam);
	tcase_add_test(tc, test_enospc_everywhere);
	tcase_add_test(tc, test_copy_data_full);
	tcase_add_test(tc, test_copy_mode_umask_acl);
	tcase_add_test(tc, test_dir_copy_costs);
	tcase_add_test(tc, test_copy_closes);
	tcase_add_test(tc, test_scratch_blocks);
	suite_add_tcase(s, tc);
	return s;
}
