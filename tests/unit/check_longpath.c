/* SPDX-License-Identifier: MIT */
/*
 * check_longpath.c - unit tests of src/core/util_long.c and of the union's
 * operations on real paths longer than PATH_MAX: a branch directory of about
 * 290 bytes under a mount point of about 40, and 16 levels of 250-byte names.
 *
 * The builders name such a path "/proc/thread-self/fd/N/REST" through an O_PATH
 * descriptor of the branch root (or of the shallowest directory below it that
 * leaves a REST that fits) only inside a call's scope (aufs_call_begin/end),
 * whose end closes every descriptor it opened; outside one the path is
 * -ENAMETOOLONG. What fits never opens anything. The operations (mkdir, create,
 * stat, rename, link, unlink, rmdir, copy-up, whiteouts, listings) work at the
 * bottom of the deep tree, a copy-up under injected faults leaves the read-only
 * branch alone and no descriptor behind, and the name rules of the union's
 * NAME_MAX (251) hold. The trees are checked and removed through descriptors
 * (the paths do not fit in PATH_MAX).
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
#include <unistd.h>

#include "aufs/fault.h"
#include "fixture.h"
#include "internal.h"

Suite *longpath_suite(void);

#define LEVELS 16
#define NAME_LEN 250

static char lname[NAME_LEN + 1];		/* "nnn...": one level */
static char bname[NAME_LEN + 1];		/* "BBB...": the long branch parent */

static void names_init(void)
{
	memset(lname, 'n', NAME_LEN);
	memset(bname, 'B', NAME_LEN);
}

/* The branch directories: @/BBB.../t (rw) and @/BBB.../b (ro). */
static const char *branch_rel(const char *which)
{
	static char buf[2][NAME_LEN + 8];
	static int next;
	char *out = buf[next++ % 2];

	fx_fmt(out, sizeof(buf[0]), "%s/%s", bname, which);
	return out;
}

/* The union-relative path of LEVELS levels, then "/" TAIL unless TAIL is NULL. */
static const char *deep_rel(const char *tail)
{
	static char buf[2][PATH_MAX];
	static int next;
	char *out = buf[next++ % 2];
	size_t n = 0;

	for (int i = 0; i < LEVELS; i++) {
		if (i)
			out[n++] = '/';
		memcpy(out + n, lname, NAME_LEN);
		n += NAME_LEN;
	}
	out[n] = 0;
	if (tail)
		fx_fmt(out + n, PATH_MAX - n, "/%s", tail);
	return out;
}

/* The union path: @/mnt/ and deep_rel(TAIL). */
static const char *deep_virt(const char *tail)
{
	static char buf[2][PATH_MAX];
	static int next;
	char *out = buf[next++ % 2];

	fx_fmt(out, PATH_MAX, "%s/mnt/%s", fx_dir, deep_rel(tail));
	return out;
}

/* An O_PATH descriptor of branch WHICH's copy of the deep directory (-1 if missing). */
static int deep_dir(const char *which, int levels)
{
	int fd = open(fx_at(branch_rel(which)), O_PATH | O_DIRECTORY | O_CLOEXEC);

	for (int i = 0; i < levels && fd >= 0; i++) {
		int next = openat(fd, lname, O_PATH | O_DIRECTORY | O_CLOEXEC);

		close(fd);
		fd = next;
	}
	return fd;
}

/* Make the LEVELS levels in branch WHICH. */
static void deep_make(const char *which)
{
	int fd = open(fx_at(branch_rel(which)), O_PATH | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < LEVELS; i++) {
		int next;

		ck_assert(mkdirat(fd, lname, 0755) == 0 || errno == EEXIST);
		next = openat(fd, lname, O_PATH | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(next, 0);
		close(fd);
		fd = next;
	}
	close(fd);
}

/* Put file NAME with CONTENT into branch WHICH's deep directory. */
static void deep_put(const char *which, const char *name, const char *content)
{
	int d = deep_dir(which, LEVELS), fd;

	ck_assert_int_ge(d, 0);
	fd = openat(d, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	close(d);
}

/* The sorted names of branch WHICH's deep directory, with the contents of files. */
static char *deep_list(const char *which)
{
	int d = deep_dir(which, LEVELS), fd;
	char *out = calloc(1, 65536), buf[256];
	char names[64][NAME_MAX + 1];
	int n = 0;
	DIR *dir;
	struct dirent *e;

	ck_assert_ptr_nonnull(out);
	if (d < 0)
		return out;
	fd = openat(d, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	dir = fdopendir(fd);
	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir)) && n < 64)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			strcpy(names[n++], e->d_name);
	closedir(dir);
	qsort(names, (size_t)n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < n; i++) {
		struct stat st;
		ssize_t got = 0;

		ck_assert_int_eq(fstatat(d, names[i], &st, AT_SYMLINK_NOFOLLOW), 0);
		buf[0] = 0;
		if (S_ISREG(st.st_mode)) {
			int f = openat(d, names[i], O_RDONLY | O_CLOEXEC);

			ck_assert_int_ge(f, 0);
			got = read(f, buf, sizeof(buf) - 1);
			buf[got > 0 ? got : 0] = 0;
			close(f);
		}
		snprintf(out + strlen(out), 65536 - strlen(out), "%s%s%s ", names[i],
			 S_ISDIR(st.st_mode) ? "/" : buf[0] ? "=" : "", buf);
	}
	close(d);
	return out;
}

static void rm_at(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *e;

	if (fd < 0) {
		(void)unlinkat(parent, name, 0);
		return;
	}
	d = fdopendir(fd);
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rm_at(fd, e->d_name);
	if (d)
		closedir(d);
	(void)unlinkat(parent, name, AT_REMOVEDIR);
}

static void setup(void)
{
	names_init();
	fx_test_setup();
}

/* The deep trees first: the fixture's removal walks full paths. */
static void teardown(void)
{
	int fd = open(fx_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		chmod(fx_at(branch_rel("b")), 0755);
		rm_at(fd, bname);
		close(fd);
	}
	fx_test_teardown();
}

/* The union br:@/BBB/t=rw:@/BBB/b=ro at @/mnt, the deep directory in the base. */
static struct aufs_union *start(void)
{
	char opts[PATH_MAX];

	fx_build("mnt/");
	ck_assert_int_eq(mkdir(fx_at(bname), 0755), 0);
	ck_assert_int_eq(mkdir(fx_at(branch_rel("t")), 0755), 0);
	ck_assert_int_eq(mkdir(fx_at(branch_rel("b")), 0755), 0);
	deep_make("b");
	fx_fmt(opts, sizeof(opts), "br:@/%s=rw:@/%s=ro", branch_rel("t"), branch_rel("b"));
	return fx_start(NULL, opts);
}

/* ---------------------------------------------------------------- the builders */

START_TEST(test_fits_opens_nothing)
{
	struct aufs_union *u = start();
	char buf[PATH_MAX], want[PATH_MAX];

	aufs_call_begin();

	ck_assert_int_eq(branch_path(&u->branch[1], "x/y", 3, buf), 0);
	fx_fmt(want, sizeof(want), "%s/x/y", fx_at(branch_rel("b")));
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(long_open_count(), 0);
	aufs_call_end();
}
END_TEST

START_TEST(test_outside_a_scope)
{
	struct aufs_union *u = start();
	const char *rel = deep_rel("f");
	char buf[PATH_MAX];
	int fds = fx_count_fds();

	ck_assert_int_eq(branch_path(&u->branch[1], rel, strlen(rel), buf), -ENAMETOOLONG);
	ck_assert_int_eq(branch_path_name(&u->branch[1], deep_rel(NULL), strlen(deep_rel(NULL)),
					  AUFS_WH_PREFIX, "f", 1, buf), -ENAMETOOLONG);
	ck_assert_int_eq(fx_count_fds(), fds);
}
END_TEST

START_TEST(test_root_descriptor)
{
	struct aufs_union *u = start();
	const char *rel = deep_rel("f");
	char buf[PATH_MAX], buf2[PATH_MAX];
	struct stat a, b;
	int fds = fx_count_fds(), d;

	deep_put("b", "f", "base");
	aufs_call_begin();
	ck_assert_int_eq(branch_path(&u->branch[1], rel, strlen(rel), buf), 0);
	ck_assert_int_eq(strncmp(buf, "/proc/thread-self/fd/", 21), 0);
	ck_assert_int_eq(lstat(buf, &a), 0);
	d = deep_dir("b", LEVELS);
	ck_assert_int_eq(fstatat(d, "f", &b, AT_SYMLINK_NOFOLLOW), 0);
	close(d);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_uint_eq(long_open_count(), 1);
	ck_assert_int_eq(fx_count_fds(), fds + 1);
	/* a second path of the branch, a whiteout name: the same descriptor */
	ck_assert_int_eq(branch_path_name(&u->branch[1], deep_rel(NULL), strlen(deep_rel(NULL)),
					  AUFS_WH_PREFIX, "f", 1, buf2), 0);
	ck_assert_int_eq(strncmp(buf, buf2, strchr(buf + 21, '/') - buf), 0);
	ck_assert_ptr_nonnull(strstr(buf2, "/.wh.f"));
	ck_assert_int_eq(lstat(buf2, &a), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(long_open_count(), 1);
	/* the other branch: its own */
	ck_assert_int_eq(branch_path(&u->branch[0], rel, strlen(rel), buf2), 0);
	ck_assert_uint_eq(long_open_count(), 2);
	aufs_call_end();
	ck_assert_uint_eq(long_open_count(), 0);
	ck_assert_int_eq(fx_count_fds(), fds);
}
END_TEST

/*
 * A REST too long even below the branch root: the shallowest directory that
 * leaves one that fits is opened (a 17th level of 60 bytes under the 16).
 */
START_TEST(test_deeper_descriptor)
{
	struct aufs_union *u = start();
	char rel[PATH_MAX], tail[128], buf[PATH_MAX];
	struct stat a, b;
	int fds = fx_count_fds(), d;

	memset(tail, 'z', 60);
	tail[60] = 0;
	d = deep_dir("b", LEVELS);
	ck_assert_int_eq(mkdirat(d, tail, 0755), 0);
	fx_fmt(rel, sizeof(rel), "%s/%s/f", deep_rel(NULL), tail);
	ck_assert_uint_gt(strlen(rel) + 26, PATH_MAX);
	aufs_call_begin();
	ck_assert_int_eq(branch_path(&u->branch[1], rel, strlen(rel), buf), 0);
	ck_assert_uint_eq(long_open_count(), 2);	/* the root, and the first level */
	ck_assert_int_eq(strncmp(buf, "/proc/thread-self/fd/", 21), 0);
	ck_assert_uint_lt(strlen(buf), PATH_MAX);
	ck_assert_int_eq(lstat(buf, &a), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(mknod(buf, S_IFREG | 0644, 0), 0);	/* made where it says */
	ck_assert_int_eq(fstatat(d, tail, &b, 0), 0);
	{
		int z = openat(d, tail, O_PATH | O_DIRECTORY | O_CLOEXEC);

		ck_assert_int_eq(fstatat(z, "f", &b, AT_SYMLINK_NOFOLLOW), 0);
		ck_assert_int_eq(lstat(buf, &a), 0);
		ck_assert_uint_eq(a.st_ino, b.st_ino);
		close(z);
	}
	/* the same directory again: no new descriptor */
	ck_assert_int_eq(branch_path_name(&u->branch[1], rel, strlen(rel) - 2, AUFS_WH_PREFIX,
					  "g", 1, buf), 0);
	ck_assert_uint_eq(long_open_count(), 2);
	aufs_call_end();
	close(d);
	ck_assert_int_eq(fx_count_fds(), fds);
}
END_TEST

/*
 * The directory a deeper descriptor would be opened on is missing: the path
 * gets the kernel's answer for the missing directory, and nothing is made.
 */
START_TEST(test_deeper_missing)
{
	struct aufs_union *u = start();
	char rel[PATH_MAX], tail[128], buf[PATH_MAX];
	struct stat st;
	int fds = fx_count_fds();

	memset(tail, 'z', 60);
	tail[60] = 0;
	fx_fmt(rel, sizeof(rel), "%s/%s/f", deep_rel(NULL), tail);
	aufs_call_begin();
	/* the top branch has none of the levels */
	ck_assert_int_eq(branch_path(&u->branch[0], rel, strlen(rel), buf), 0);
	ck_assert_int_eq(lstat(buf, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(mkdir(buf, 0755), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
	ck_assert_int_eq(errno, ENOENT);
	aufs_call_end();
	ck_assert_int_eq(fx_count_fds(), fds);
	ck_assert_int_eq(deep_dir("t", 1), -1);
}
END_TEST

/*
 * A nested scope (a verb calling a verb, a signal handler's call) leaves what it
 * opened to the outermost one, which closes everything: the outer call's paths
 * stay valid whatever the inner one does.
 */
/* The branch root itself is gone (removed behind the union's back): its ENOENT. */
START_TEST(test_root_missing)
{
	struct aufs_union *u = start();
	const char *rel = deep_rel("f");
	char buf[PATH_MAX], moved[PATH_MAX];
	struct stat st;
	int fds = fx_count_fds();

	fx_fmt(moved, sizeof(moved), "%s.gone", fx_at(branch_rel("b")));
	ck_assert_int_eq(rename(fx_at(branch_rel("b")), moved), 0);
	aufs_call_begin();
	ck_assert_int_eq(branch_path(&u->branch[1], rel, strlen(rel), buf), 0);
	ck_assert_uint_eq(long_open_count(), 0);
	ck_assert_int_eq(lstat(buf, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(mkdir(buf, 0755), -1);
	ck_assert_int_eq(errno, ENOENT);
	aufs_call_end();
	ck_assert_int_eq(fx_count_fds(), fds);
	ck_assert_int_eq(rename(moved, fx_at(branch_rel("b"))), 0);
}
END_TEST

START_TEST(test_nested_scopes)
{
	struct aufs_union *u = start();
	const char *rel = deep_rel("f");
	char buf[PATH_MAX], buf2[PATH_MAX];
	int fds = fx_count_fds();
	struct stat st;

	aufs_call_begin();
	ck_assert_int_eq(branch_path(&u->branch[1], deep_rel(NULL), strlen(deep_rel(NULL)), buf),
			 0);
	aufs_call_begin();
	ck_assert_int_eq(branch_path(&u->branch[0], rel, strlen(rel), buf2), 0);
	ck_assert_uint_eq(long_open_count(), 2);
	aufs_call_end();
	ck_assert_uint_eq(long_open_count(), 2);
	ck_assert_int_eq(stat(buf, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	aufs_call_end();
	ck_assert_uint_eq(long_open_count(), 0);
	ck_assert_int_eq(fx_count_fds(), fds);
	/* and a new outermost scope starts from an empty pool */
	aufs_call_begin();
	ck_assert_int_eq(branch_path(&u->branch[1], rel, strlen(rel), buf), 0);
	ck_assert_uint_eq(long_open_count(), 1);
	aufs_call_end();
	ck_assert_int_eq(fx_count_fds(), fds);
}
END_TEST

/* ---------------------------------------------------------------- the operations */

/* A call of the union as a shim makes it: inside a scope, which closes everything. */
#define IN_SCOPE(expr) ({ aufs_call_begin(); long r_ = (expr); aufs_call_end(); r_; })

START_TEST(test_operations_at_the_bottom)
{
	struct stat st;
	int fds, fd;
	char *t, *b;

	start();
	deep_put("b", "base", "b");
	b = deep_list("b");
	fds = fx_count_fds();
	/* outside a scope: as before, too long */
	ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, deep_virt("d"), 0755), -ENAMETOOLONG);
	ck_assert_int_eq(IN_SCOPE(aufs_mkdirat(AT_FDCWD, deep_virt("d"), 0755)), 0);
	fd = (int)IN_SCOPE(aufs_openat(AT_FDCWD, deep_virt("f"), O_WRONLY | O_CREAT | O_EXCL |
				      O_CLOEXEC, 0644));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "new", 3), 3);
	close(fd);
	aufs_fd_forget(fd);
	ck_assert_int_eq(IN_SCOPE(aufs_fstatat(AT_FDCWD, deep_virt("f"), &st, 0)), 0);
	ck_assert_int_eq(st.st_size, 3);
	ck_assert_int_eq(IN_SCOPE(aufs_renameat2(AT_FDCWD, deep_virt("f"), AT_FDCWD,
						 deep_virt("g"), 0)), 0);
	ck_assert_int_eq(IN_SCOPE(aufs_linkat(AT_FDCWD, deep_virt("g"), AT_FDCWD,
					      deep_virt("h"), 0)), 0);
	ck_assert_int_eq(IN_SCOPE(aufs_fstatat(AT_FDCWD, deep_virt("h"), &st, 0)), 0);
	ck_assert_int_eq(st.st_nlink, 2);
	t = deep_list("t");
	ck_assert_str_eq(t, "d/ g=new h=new ");
	free(t);
	ck_assert_int_eq(IN_SCOPE(aufs_unlinkat(AT_FDCWD, deep_virt("g"), 0)), 0);
	ck_assert_int_eq(IN_SCOPE(aufs_unlinkat(AT_FDCWD, deep_virt("d"), AT_REMOVEDIR)), 0);
	ck_assert_int_eq(IN_SCOPE(aufs_fstatat(AT_FDCWD, deep_virt("g"), &st, 0)), -ENOENT);
	t = deep_list("t");
	ck_assert_str_eq(t, "h=new ");
	free(t);
	/* the base's own file through the union, the base never written */
	ck_assert_int_eq(IN_SCOPE(aufs_fstatat(AT_FDCWD, deep_virt("base"), &st, 0)), 0);
	ck_assert_int_eq(st.st_size, 1);
	t = deep_list("b");
	ck_assert_str_eq(t, b);
	free(t), free(b);
	ck_assert_int_eq(fx_count_fds(), fds);
}
END_TEST

/* Copy-up, whiteouts, a listing and a rename of base entries at the bottom. */
START_TEST(test_base_entries_at_the_bottom)
{
	struct aufs_dir *d;
	struct dirent64 *e;
	struct aufs_loc *loc = malloc(sizeof(*loc));
	char *t, *b, names[512] = "";
	int fds, fd;

	ck_assert_ptr_nonnull(loc);
	start();
	deep_put("b", "cp", "base");
	deep_put("b", "gone", "g");
	deep_put("b", "mv", "m");
	deep_put("b", "keep", "k");
	b = deep_list("b");
	fds = fx_count_fds();
	fd = (int)IN_SCOPE(aufs_openat(AT_FDCWD, deep_virt("cp"), O_WRONLY | O_APPEND | O_CLOEXEC,
				      0));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "+", 1), 1);
	close(fd);
	aufs_fd_forget(fd);
	ck_assert_int_eq(IN_SCOPE(aufs_unlinkat(AT_FDCWD, deep_virt("gone"), 0)), 0);
	ck_assert_int_eq(IN_SCOPE(aufs_renameat2(AT_FDCWD, deep_virt("mv"), AT_FDCWD,
						 deep_virt("moved"), 0)), 0);
	t = deep_list("t");
	ck_assert_str_eq(t, ".wh.gone .wh.mv cp=base+ moved=m ");
	free(t);
	aufs_call_begin();
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, deep_virt(NULL), 0, loc), 0);
	ck_assert_int_eq(aufs_dir_open(loc, -1, &d), 0);
	while ((e = aufs_dir_read(d)))
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s ", e->d_name);
	aufs_dir_close(d);
	aufs_call_end();
	/* merged order: the top's, then the base's (every name once) */
	ck_assert_ptr_nonnull(strstr(names, "cp "));
	ck_assert_ptr_nonnull(strstr(names, "moved "));
	ck_assert_ptr_nonnull(strstr(names, "keep "));
	ck_assert_ptr_null(strstr(names, "gone"));
	ck_assert_ptr_null(strstr(names, "mv "));
	ck_assert_ptr_null(strstr(names, ".wh."));
	t = deep_list("b");
	ck_assert_str_eq(t, b);
	free(t), free(b), free(loc);
	ck_assert_int_eq(fx_count_fds(), fds);
}
END_TEST

/*
 * The copy-up of a deep base file under injected faults: every round leaves the
 * base alone, no temporary and no descriptor, and the union shows the old file
 * or the new one.
 */
START_TEST(test_copyup_faults)
{
	char *b, *t;
	int fds, fd;
	unsigned n;

	start();
	deep_put("b", "f", "base");
	b = deep_list("b");
	for (n = 1;; n++) {
		unsigned long fired;

		ck_assert_msg(n < 500, "the sweep does not end");
		fds = fx_count_fds();
		aufs_lookup_flush();
		aufs_fault_set(AUFS_FAULT_ANY, n, EIO);
		fd = (int)IN_SCOPE(aufs_openat(AT_FDCWD, deep_virt("f"),
					      O_WRONLY | O_APPEND | O_CLOEXEC, 0));
		fired = aufs_fault_fired();
		aufs_fault_clear();
		if (fd >= 0) {
			close(fd);
			aufs_fd_forget(fd);
		}
		ck_assert_msg(fx_count_fds() == fds, "round %u: %d descriptors left", n,
			      fx_count_fds() - fds);
		t = deep_list("b");
		ck_assert_msg(!strcmp(t, b), "round %u: the base changed: %s", n, t);
		free(t);
		t = deep_list("t");
		ck_assert_msg(!strstr(t, ".wh..wh.cpup"), "round %u: a temporary is left: %s", n, t);
		ck_assert_msg(!strcmp(t, "") || !strcmp(t, "f=base "), "round %u: the top: %s", n,
			      t);
		free(t);
		if (!fired) {
			ck_assert_int_ge(fd, 0);
			break;
		}
		if (fd >= 0) {
			/* only a best-effort call failed (the directory's times...) */
			t = deep_list("t");
			ck_assert_str_eq(t, "f=base ");
			free(t);
		}
		/* the next round starts again from the base */
		{
			int d = deep_dir("t", LEVELS);

			if (d >= 0) {
				(void)unlinkat(d, "f", 0);
				close(d);
			}
		}
	}
	ck_assert_uint_gt(n, 5);
	free(b);
}
END_TEST

/* ---------------------------------------------------------------- names */

START_TEST(test_name_max)
{
	char n251[256], f251[256], n252[256], n255[256], p[PATH_MAX];
	struct stat st;
	char *t;

	memset(n251, 'x', 251);
	n251[251] = 0;
	memset(f251, 'w', 251);
	f251[251] = 0;
	memset(n252, 'y', 252);
	n252[252] = 0;
	memset(n255, 'a', 255);
	n255[255] = 0;
	fx_build("t/ b/d/");
	{
		char rel[300];

		fx_fmt(rel, sizeof(rel), "b/d/%s", n255);
		fx_put(rel, "long", 0644);
	}
	fx_start(NULL, "br:@/t=rw:@/b=ro");
	fx_fmt(p, sizeof(p), "%s/mnt/d/%s", fx_dir, n251);
	ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, p, 0755), 0);
	fx_fmt(p, sizeof(p), "%s/mnt/d/%s", fx_dir, f251);
	{
		int fd = aufs_openat(AT_FDCWD, p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		ck_assert_int_ge(fd, 0);
		close(fd);
		aufs_fd_forget(fd);
	}
	fx_fmt(p, sizeof(p), "%s/mnt/d/%s", fx_dir, n252);
	ck_assert_int_eq(aufs_mkdirat(AT_FDCWD, p, 0755), -ENAMETOOLONG);
	ck_assert_int_eq(aufs_openat(AT_FDCWD, p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644),
			 -ENAMETOOLONG);
	ck_assert_int_eq(aufs_mknodat(AT_FDCWD, p, S_IFIFO | 0644, 0), -ENAMETOOLONG);
	ck_assert_int_eq(aufs_symlinkat("x", AT_FDCWD, p), -ENAMETOOLONG);
	{
		char from[PATH_MAX];

		fx_fmt(from, sizeof(from), "%s/mnt/d/%s", fx_dir, f251);
		ck_assert_int_eq(aufs_linkat(AT_FDCWD, from, AT_FDCWD, p, 0), -ENAMETOOLONG);
		ck_assert_int_eq(aufs_renameat2(AT_FDCWD, from, AT_FDCWD, p, 0), -ENAMETOOLONG);
	}
	/* a lower name of 255 bytes: found and read; removing it needs a whiteout */
	fx_fmt(p, sizeof(p), "%s/mnt/d/%s", fx_dir, n255);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, p, &st, 0), 0);
	ck_assert_int_eq(st.st_size, 4);
	t = fx_snapshot("t", NULL);
	ck_assert_int_eq(aufs_unlinkat(AT_FDCWD, p, 0), -ENAMETOOLONG);
	{
		char to[PATH_MAX];

		fx_fmt(to, sizeof(to), "%s/mnt/d/short", fx_dir);
		ck_assert_int_eq(aufs_renameat2(AT_FDCWD, p, AT_FDCWD, to, 0), -ENAMETOOLONG);
	}
	{
		char *now = fx_snapshot("t", NULL);

		ck_assert_str_eq(now, t);	/* nothing changed, nothing copied */
		free(now);
	}
	free(t);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, p, &st, 0), 0);
}
END_TEST

Suite *longpath_suite(void)
{
	Suite *s = suite_create("longpath");
	TCase *tc = tcase_create("long");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fits_opens_nothing);
	tcase_add_test(tc, test_outside_a_scope);
	tcase_add_test(tc, test_root_descriptor);
	tcase_add_test(tc, test_deeper_descriptor);
	tcase_add_test(tc, test_deeper_missing);
	tcase_add_test(tc, test_root_missing);
	tcase_add_test(tc, test_nested_scopes);
	tcase_add_test(tc, test_operations_at_the_bottom);
	tcase_add_test(tc, test_base_entries_at_the_bottom);
	tcase_add_test(tc, test_copyup_faults);
	tcase_add_test(tc, test_name_max);
	suite_add_tcase(s, tc);
	return s;
}
