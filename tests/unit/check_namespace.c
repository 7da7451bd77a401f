/* SPDX-License-Identifier: MIT */
/*
 * check_namespace.c - unit tests of the name rules of src/core/ops_namespace.c
 * and of open(O_CREAT) in ops_read.c, where the union must answer what the
 * kernel answers on a plain tree: "." and ".." as the last component (the
 * resolver's AUFS_LOC_DOT/DOTDOT), a trailing '/' (AUFS_RESOLVE_LAST_AS_IS), a
 * directory renamed into itself, O_CREAT on a directory. Each refusal must
 * leave both branches as they were. Then what the union does where the kernel
 * would simply act: a removed directory stays removed after it was made again
 * (the whiteout of an opaque directory), a directory renamed onto an emptied
 * merged one replaces it (and is opaque), RENAME_EXCHANGE with a lower file,
 * and leftover rmdir temporaries that no longer block the rmdir of their
 * parent.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

Suite *namespace_suite(void);

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE  (1 << 1)
#endif

/*
 * base: a/b/ (empty), a/f, file, d/f, dl -> d, fl -> file, src/s/s
 * top:  up/ (a directory only there), t/.wh..wh.aufs
 */
#define LAYOUT "b/a/b/ b/a/f b/file b/d/f b/dl->d b/fl->file b/src/s/s t/up/"
#define OPTS "br:@/t=rw:@/b=ro"

static const char *const ignore[] = { ".wh..wh.aufs", NULL };

enum op { RMDIR, UNLINK, MKDIR, MKFIFO, SYMLINK, LINK, RENAME, OPEN };

struct ncase {
	enum op op;
	const char *a, *b;	/* paths below @/mnt (b: the second name, or a symlink target) */
	int arg;		/* renameat2 flags, open flags */
	int err;		/* the kernel's errno */
};

/* What a plain tree of the same layout answers (checked on Linux 6.x, and by t4003). */
static const struct ncase refusals[] = {
	{ RMDIR, "a/b/.", NULL, 0, EINVAL },
	{ RMDIR, "a/b/./", NULL, 0, EINVAL },
	{ RMDIR, "a/b/..", NULL, 0, ENOTEMPTY },
	{ RMDIR, ".", NULL, 0, EINVAL },
	{ RMDIR, "a/..", NULL, 0, ENOTEMPTY },
	{ RMDIR, "missing/..", NULL, 0, ENOENT },
	{ RMDIR, "file/..", NULL, 0, ENOTDIR },
	{ RMDIR, "file/", NULL, 0, ENOTDIR },
	{ RMDIR, "dl/", NULL, 0, ENOTDIR },	/* the link, not followed */
	{ RMDIR, "", NULL, 0, EBUSY },		/* the mount point */
	{ UNLINK, "a/b/.", NULL, 0, EISDIR },
	{ UNLINK, "a/b/..", NULL, 0, EISDIR },
	{ UNLINK, "a/b/", NULL, 0, EISDIR },
	{ UNLINK, "file/", NULL, 0, ENOTDIR },
	{ UNLINK, "dl/", NULL, 0, ENOTDIR },
	{ UNLINK, "fl/", NULL, 0, ENOTDIR },
	{ UNLINK, "missing/", NULL, 0, ENOENT },
	{ MKDIR, "a/b/.", NULL, 0, EEXIST },
	{ MKDIR, "a/b/..", NULL, 0, EEXIST },
	{ MKDIR, "file/", NULL, 0, EEXIST },
	{ MKDIR, "fl/", NULL, 0, EEXIST },
	{ MKDIR, "missing/.", NULL, 0, ENOENT },
	{ MKDIR, "file/.", NULL, 0, ENOTDIR },
	/* a name only the top branch has: its mkdir there says EEXIST (RESOLVE_CREATE) */
	{ MKDIR, "up", NULL, 0, EEXIST },
	{ MKFIFO, "up", NULL, 0, EEXIST },
	{ SYMLINK, "up", "t", 0, EEXIST },
	{ OPEN, "up", NULL, O_WRONLY | O_CREAT | O_EXCL, EEXIST },
	{ MKFIFO, "a/b/.", NULL, 0, EEXIST },
	{ MKFIFO, "newfifo/", NULL, 0, ENOENT },
	{ MKFIFO, "file/", NULL, 0, EEXIST },
	{ SYMLINK, "a/b/..", "t", 0, EEXIST },
	{ SYMLINK, "newsym/", "t", 0, ENOENT },
	{ LINK, "file", "a/b/.", 0, EEXIST },
	{ LINK, "file", "newhl/", 0, ENOENT },
	{ LINK, "a/b/..", "newhl", 0, EPERM },
	{ LINK, "file/", "newhl", 0, ENOTDIR },
	{ RENAME, "a/b/.", "c", 0, EBUSY },
	{ RENAME, "a/b/..", "c", 0, EBUSY },
	{ RENAME, "file", "a/b/.", 0, EBUSY },
	{ RENAME, "file", "a/.", RENAME_NOREPLACE, EEXIST },
	{ RENAME, "file", "newname/", 0, ENOTDIR },
	{ RENAME, "file/", "newname", 0, ENOTDIR },
	{ RENAME, "fl/", "newname", 0, ENOTDIR },
	{ RENAME, "a/f", "a/b/", 0, ENOTDIR },
	{ RENAME, "missing/", "x", 0, ENOENT },
	{ RENAME, "up", "up/a", 0, EINVAL },	/* into itself, before anything else */
	{ RENAME, "d", "d/a", 0, EINVAL },	/* even a directory that could not move */
	{ RENAME, "a", "a/b/c", 0, EINVAL },
	{ RENAME, "d/f", "d", 0, ENOTEMPTY },	/* onto an ancestor */
	{ RENAME, "a/b", "a", 0, ENOTEMPTY },
	{ RENAME, "a/b", "a", RENAME_EXCHANGE, EINVAL },
	{ RENAME, "up", "d", 0, ENOTEMPTY },
	{ RENAME, "up", "file", 0, ENOTDIR },
	{ RENAME, "a/f", "a/b", 0, EISDIR },	/* a directory of the base: probed below */
	{ RENAME, "file", "d", 0, EISDIR },
	{ RENAME, "file", "up", RENAME_NOREPLACE, EEXIST },
	{ RENAME, "up", "a/b", RENAME_NOREPLACE, EEXIST },
	{ RENAME, "src", "moved", 0, EXDEV },	/* content below: as aufs, mv copes */
	{ RENAME, "up", "a/b", RENAME_NOREPLACE | RENAME_EXCHANGE, EINVAL },
	{ OPEN, "d", NULL, O_RDONLY | O_CREAT, EISDIR },
	{ OPEN, "d", NULL, O_RDONLY | O_CREAT | O_TRUNC, EISDIR },
	{ OPEN, "dl", NULL, O_RDONLY | O_CREAT, EISDIR },
	{ OPEN, "d/", NULL, O_RDONLY | O_CREAT, EISDIR },
	{ OPEN, "up", NULL, O_RDONLY | O_CREAT, EISDIR },
	{ OPEN, "d", NULL, O_WRONLY, EISDIR },
	{ OPEN, "d", NULL, O_RDWR | O_CREAT, EISDIR },
	{ OPEN, "d", NULL, O_RDONLY | O_CREAT | O_EXCL, EEXIST },
	{ OPEN, "dl", NULL, O_RDONLY | O_CREAT | O_EXCL, EEXIST },
	{ OPEN, "a/b/.", NULL, O_RDONLY | O_CREAT, EISDIR },
	{ OPEN, "a/b/..", NULL, O_RDONLY | O_CREAT | O_EXCL, EEXIST },
	{ OPEN, "file/", NULL, O_RDONLY | O_CREAT, EISDIR },
	{ OPEN, "newf/", NULL, O_WRONLY | O_CREAT, EISDIR },
	{ OPEN, "file/", NULL, O_RDONLY, ENOTDIR },
};
#define NREFUSALS ((int)(sizeof(refusals) / sizeof(refusals[0])))

static const char *mnt(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	fx_fmt(buf[i], sizeof(buf[i]), "%s/mnt%s%s", fx_dir, *rel ? "/" : "", rel);
	return buf[i];
}

static int run(const struct ncase *c)
{
	int r;

	switch (c->op) {
	case RMDIR:
		return aufs_unlinkat(AT_FDCWD, mnt(c->a), AT_REMOVEDIR);
	case UNLINK:
		return aufs_unlinkat(AT_FDCWD, mnt(c->a), 0);
	case MKDIR:
		return aufs_mkdirat(AT_FDCWD, mnt(c->a), 0755);
	case MKFIFO:
		return aufs_mknodat(AT_FDCWD, mnt(c->a), S_IFIFO | 0644, 0);
	case SYMLINK:
		return aufs_symlinkat(c->b, AT_FDCWD, mnt(c->a));
	case LINK:
		return aufs_linkat(AT_FDCWD, mnt(c->a), AT_FDCWD, mnt(c->b), 0);
	case RENAME:
		return aufs_renameat2(AT_FDCWD, mnt(c->a), AT_FDCWD, mnt(c->b), (unsigned)c->arg);
	case OPEN:
		r = aufs_openat(AT_FDCWD, mnt(c->a), c->arg | O_CLOEXEC, 0644);
		if (r >= 0)
			close(r);
		return r < 0 ? r : 0;
	}
	return -ENOSYS;
}

static const char *const op_names[] = { "rmdir", "unlink", "mkdir", "mkfifo",
					"symlink", "link", "rename", "open" };

/* Every refusal: the kernel's errno, and neither branch touched. */
START_TEST(test_refusals)
{
	const struct ncase *c = &refusals[_i];
	char *t, *b, *t2, *b2;
	int r;

	fx_start(LAYOUT, OPTS);
	t = fx_snapshot("t", ignore);
	b = fx_snapshot("b", NULL);
	r = run(c);
	t2 = fx_snapshot("t", ignore);
	b2 = fx_snapshot("b", NULL);
	ck_assert_msg(r == -c->err, "%s %s %s (%#x): %d (%s), the kernel says -%s",
		      op_names[c->op], c->a, c->b ? c->b : "", (unsigned)c->arg, r,
		      r < 0 ? strerrorname_np(-r) : "ok", strerrorname_np(c->err));
	ck_assert_str_eq(b, b2);
	ck_assert_msg(!strcmp(t, t2), "%s %s: the rw branch changed:\n%s", op_names[c->op], c->a,
		      fx_minus(t2, t));
	free(t), free(b), free(t2), free(b2);
}
END_TEST

/* What succeeds with a trailing '/' on a plain tree succeeds in the union too. */
START_TEST(test_trailing_slash_allowed)
{
	struct stat st;

	fx_start(LAYOUT, OPTS);
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("a/b/"), AT_REMOVEDIR), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("a/b"), &st, AT_SYMLINK_NOFOLLOW), -ENOENT);
	ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, mnt("newd/"), 0755), 0);
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("newd/"), AT_FDCWD, mnt("newd2/"), 0), 0);
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("newd2"), AT_FDCWD, mnt("newd3/"), 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("newd3"), &st, 0), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("newd3//"), AT_REMOVEDIR), 0);
	/* a whiteout hides the base's a/b, and nothing of the rmdir's was left behind */
	ck_assert_int_eq(access(fx_at("t/a/.wh.b"), F_OK), 0);
	ck_assert_int_ne(access(fx_at("t/newd3"), F_OK), 0);
}
END_TEST

static bool exists(const char *rel)
{
	struct stat st;

	return lstat(fx_at(rel), &st) == 0;
}

/*
 * A plain rename of a base file onto a directory of the top branch: the lookup of
 * the new name leaves the top branch's copy to the rename there (AUFS_RESOLVE_REPLACE),
 * which refuses it with the kernel's EISDIR after the source was copied up. The
 * union shows what it showed; the top branch holds the copy and nothing else new.
 */
START_TEST(test_rename_onto_top_dir)
{
	char *t, *b, *t2, *b2, *gained, *lost;
	struct stat st;

	fx_start(LAYOUT, OPTS);
	t = fx_snapshot("t", ignore);
	b = fx_snapshot("b", NULL);
	/* (a listing first would cache "up": then it is refused before the copy-up) */
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("file"), AT_FDCWD, mnt("up"), 0), -EISDIR);
	t2 = fx_snapshot("t", ignore);
	b2 = fx_snapshot("b", NULL);
	ck_assert_str_eq(b, b2);
	gained = fx_minus(t2, t);
	ck_assert_msg(!strncmp(gained, "file ", 5) && !strchr(gained, '\n')[1],
		      "the top branch gained more than the copy:\n%s", gained);
	lost = fx_minus(t, t2);
	ck_assert_str_eq(lost, "");
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("up"), &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("file"), &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISREG(st.st_mode) && st.st_size == 6);
	free(t), free(b), free(t2), free(b2), free(gained), free(lost);
}
END_TEST

/*
 * The new name of a rename: a whiteout of it in the top branch hides the base's
 * copy (the rename goes through and removes the whiteout), a stale whiteout of a
 * name no branch below has hides nothing (the rename goes through, unprobed), a
 * file of the top branch is replaced, one of the base is covered.
 */
START_TEST(test_rename_onto_names)
{
	struct stat st;
	char buf[16];
	ssize_t n;
	int fd;

	fx_start("b/d/f1 b/d/f2 b/d/f3 b/d/f4 b/d/gone b/d/old b/d/sub/x t/d/.wh.gone "
		 "t/d/.wh.stale t/d/top",
		 OPTS);
	/* onto a whited-out name of the base */
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("d/f1"), AT_FDCWD, mnt("d/gone"), 0), 0);
	ck_assert(!exists("t/d/.wh.gone"));
	ck_assert(exists("t/d/gone") && exists("t/d/.wh.f1"));
	fd = aufs_openat(AT_FDCWD, mnt("d/gone"), O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_gt(n, 0);
	ck_assert_mem_eq(buf, "b/d/f1", 6);
	/* onto a stale whiteout: nothing below to hide */
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("d/f2"), AT_FDCWD, mnt("d/stale"), 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("d/stale"), &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("d/f2"), &st, AT_SYMLINK_NOFOLLOW), -ENOENT);
	/* onto a file of the top branch, and onto one of the base */
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("d/f3"), AT_FDCWD, mnt("d/top"), 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("d/top"), &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(st.st_size, 6);	/* "b/d/f3", the top's "t/d/top" replaced */
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("d/f4"), AT_FDCWD, mnt("d/old"), 0), 0);
	ck_assert(exists("t/d/old") && exists("t/d/.wh.f4") && !exists("t/d/.wh.old"));
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("d/f4"), &st, AT_SYMLINK_NOFOLLOW), -ENOENT);
	/* a refusal by the names alone still comes first */
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("d/old"), AT_FDCWD, mnt("d/sub"), 0),
			 -EISDIR);
}
END_TEST

/*
 * The sequence: rmdir, mkdir (opaque: the base still has the name),
 * a file made and removed in it, rmdir again: the name stays removed.
 */
START_TEST(test_removed_dir_stays_removed)
{
	struct stat st;
	char *v;
	int fd;

	fx_start("b/empty/ b/keep", OPTS);
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("empty"), AT_REMOVEDIR), 0);
	ck_assert(exists("t/.wh.empty"));
	ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, mnt("empty"), 0755), 0);
	ck_assert(exists("t/empty/.wh..wh..opq"));
	ck_assert(!exists("t/.wh.empty"));
	fd = aufs_openat(AT_FDCWD, mnt("empty/b"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("empty/b"), 0), 0);
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("empty"), AT_REMOVEDIR), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("empty"), &st, 0), -ENOENT);
	ck_assert(exists("t/.wh.empty"));
	ck_assert(!exists("t/empty"));
	v = fx_view();
	ck_assert_msg(!strstr(v, "empty"), "the view shows it again:\n%s", v);
	free(v);
	/* nothing of the rmdir is left in the branch but the whiteout */
	v = fx_snapshot("t", ignore);
	ck_assert_msg(!strncmp(v, ".wh.empty f", 11) && !strchr(v, '\n')[1], "t holds:\n%s", v);
	free(v);
}
END_TEST

/* Made over a non-directory of the base, an upper directory hides it; its rmdir too. */
START_TEST(test_rmdir_over_lower_file)
{
	struct stat st;

	fx_start("b/x t/x/", OPTS);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("x"), &st, 0), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("x"), AT_REMOVEDIR), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("x"), &st, 0), -ENOENT);
	ck_assert(exists("t/.wh.x"));
}
END_TEST

/*
 * An rmdir that could not empty its temporary left ".wh..wh.rmdir.P.N" (with
 * whiteouts, and one inside it) in the parent: the parent's own rmdir empties
 * and removes it, instead of failing with EISDIR for good.
 */
START_TEST(test_rmdir_clears_leftover_temporaries)
{
	fx_start("b/p/a t/p/.wh.a t/p/.wh..wh.rmdir.1.0/.wh.x "
		 "t/p/.wh..wh.rmdir.1.0/.wh..wh.rmdir.1.1/.wh..wh..opq t/q/.wh..wh.rmdir.2.0/",
		 OPTS);
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("p"), AT_REMOVEDIR), 0);
	ck_assert(!exists("t/p"));
	ck_assert(exists("t/.wh.p"));
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("q"), AT_REMOVEDIR), 0);
	ck_assert(!exists("t/q"));
	ck_assert(!exists("t/.wh.q"));	/* only in t: nothing to hide */
}
END_TEST

/* A leftover holding a name the union would show is not removed (nor its parent). */
START_TEST(test_rmdir_keeps_foreign_content)
{
	fx_start("t/q/.wh..wh.rmdir.2.0/data", OPTS);
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("q"), AT_REMOVEDIR), -ENOTEMPTY);
	ck_assert(exists("t/q/.wh..wh.rmdir.2.0/data"));
}
END_TEST

/*
 * A directory only in the rw branch renamed onto a base directory emptied
 * through the union: it replaces it, opaque (the base's names stay hidden),
 * and the old copy with its whiteouts is gone.
 */
START_TEST(test_rename_dir_onto_emptied_dir)
{
	struct stat st;
	char *t;

	fx_start("b/t8/f1 b/t8/f2 t/up/x", OPTS);
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("t8/f1"), 0), 0);
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, mnt("t8/f2"), 0), 0);
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("up"), AT_FDCWD, mnt("t8"), 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("t8/x"), &st, 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("t8/f1"), &st, 0), -ENOENT);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("up"), &st, 0), -ENOENT);
	t = fx_snapshot("t", ignore);
	ck_assert_msg(!strncmp(t, "t8 d", 4) && strstr(t, "\nt8/.wh..wh..opq f") &&
			      strstr(t, "\nt8/x f"),
		      "t holds:\n%s", t);
	ck_assert_msg(!strstr(t, "t8/.wh.f1") && !strstr(t, "rmdir") && !strstr(t, "\nup"),
		      "t holds:\n%s", t);
	free(t);
}
END_TEST

/* Onto a base directory that is empty there and has no copy in t: opaque too. */
START_TEST(test_rename_dir_onto_base_only_dir)
{
	char *t;

	fx_start("b/e/ t/up/y", OPTS);
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("up"), AT_FDCWD, mnt("e"), 0), 0);
	t = fx_snapshot("t", ignore);
	ck_assert_msg(!strncmp(t, "e d ", 4) && strstr(t, "\ne/.wh..wh..opq f") &&
			      strstr(t, "\ne/y f") && !strstr(t, "\nup"),
		      "t holds:\n%s", t);
	free(t);
}
END_TEST

/* RENAME_EXCHANGE of a top directory and a base file: the file is copied up first. */
START_TEST(test_exchange_with_base_file)
{
	struct stat st;

	fx_start("b/file t/up/y", OPTS);
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("up"), AT_FDCWD, mnt("file"),
					RENAME_EXCHANGE), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("file/y"), &st, 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("up"), &st, 0), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert(exists("t/up") && exists("t/file/y") && exists("b/file"));
	/* the base's "file" is a file: nothing for the moved directory to merge with */
	ck_assert(!exists("t/file/.wh..wh..opq"));
}
END_TEST

/* A directory exchanged onto a name whose base copy is a directory is made opaque. */
START_TEST(test_exchange_dir_onto_base_dir_name)
{
	struct stat st;

	fx_start("b/e/hidden t/e/.wh.hidden t/up/y", OPTS);
	/* e lives below too: a directory with content below does not move */
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("up"), AT_FDCWD, mnt("e"), RENAME_EXCHANGE),
			 -EXDEV);
	ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, mnt("up2"), 0755), 0);
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("up2"), AT_FDCWD, mnt("e"), 0), 0);
	ck_assert(exists("t/e/.wh..wh..opq"));
	ck_assert_int_eq(aufs_renameat2(AT_FDCWD, mnt("up"), AT_FDCWD, mnt("e"), RENAME_EXCHANGE),
			 0);
	ck_assert(exists("t/e/.wh..wh..opq") && exists("t/e/y"));
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("e/hidden"), &st, 0), -ENOENT);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, mnt("up"), &st, 0), 0);
	ck_assert(S_ISDIR(st.st_mode));
}
END_TEST

/*
 * The fence of a refused fstab line: every way into its mount point (absolute,
 * relative to a directory above it, "..", a symbolic link of another union)
 * answers EIO, and nothing is created in the directory under it; the good
 * line's union works.
 */
START_TEST(test_fenced_mount_point)
{
	struct aufs_err err = { 0 };
	char text[2 * PATH_MAX], link_to[PATH_MAX];
	struct stat st;
	int dfd;

	fx_build("b/f t/ m2/real");
	fx_fmt(link_to, sizeof(link_to), "%s", fx_ex("@/m2/real"));
	ck_assert_int_eq(symlink(link_to, fx_at("t/into")), 0);
	fx_fmt(text, sizeof(text), "none %s aufs %s 0 0\nnone %s aufs br:%s,bogus 0 0\n",
	       fx_ex("@/mnt"), fx_ex("br:@/t=rw:@/b=ro"), fx_ex("@/m2"), fx_ex("@/t"));
	ck_assert_int_eq(aufs_config_parse_fstab(&fx_cfg, text, "F", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "F:2: unknown option \"bogus\""));
	ck_assert_int_eq(fx_cfg.nunion, 2);
	aufs_state_publish(&fx_cfg);

	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/f"), &st, 0), 0);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/m2"), &st, 0), -EIO);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/m2/real"), &st, 0), -EIO);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/../m2/real"), &st, 0), -EIO);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, fx_ex("@/mnt/into"), &st, 0), -EIO);
	ck_assert_int_eq(aufs_openat(AT_FDCWD, fx_ex("@/m2/new"), O_WRONLY | O_CREAT, 0644), -EIO);
	ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, fx_ex("@/m2/dir"), 0755), -EIO);
	dfd = open(fx_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(aufs_openat(dfd, "m2/new2", O_WRONLY | O_CREAT, 0644), -EIO);
	close(dfd);
	ck_assert_int_ne(access(fx_at("m2/new"), F_OK), 0);
	ck_assert_int_ne(access(fx_at("m2/new2"), F_OK), 0);
	ck_assert_int_ne(access(fx_at("m2/dir"), F_OK), 0);
	aufs_state_publish(NULL);
}
END_TEST

Suite *namespace_suite(void)
{
	Suite *s = suite_create("namespace");
	TCase *tc = tcase_create("names");

	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_loop_test(tc, test_refusals, 0, NREFUSALS);
	tcase_add_test(tc, test_trailing_slash_allowed);
	tcase_add_test(tc, test_fenced_mount_point);
	tcase_add_test(tc, test_rename_onto_top_dir);
	tcase_add_test(tc, test_rename_onto_names);
	tcase_add_test(tc, test_removed_dir_stays_removed);
	tcase_add_test(tc, test_rmdir_over_lower_file);
	tcase_add_test(tc, test_rmdir_clears_leftover_temporaries);
	tcase_add_test(tc, test_rmdir_keeps_foreign_content);
	tcase_add_test(tc, test_rename_dir_onto_emptied_dir);
	tcase_add_test(tc, test_rename_dir_onto_base_only_dir);
	tcase_add_test(tc, test_exchange_with_base_file);
	tcase_add_test(tc, test_exchange_dir_onto_base_dir_name);
	suite_add_tcase(s, tc);
	return s;
}
