/* SPDX-License-Identifier: MIT */
/*
 * check_lookup.c - unit tests of src/core/resolve_walk.c and of the path operations of
 * ops_read.c built on it: which branch a union path lands in (whiteouts, opaque
 * directories, type shadowing, ".", "..", symlinks in the virtual namespace,
 * relative names from the virtual cwd, several unions), and the lookup cache
 * under udba=reval (cached answers, flushes, direct branch changes).
 *
 * Each test builds its own tree under a mkdtemp() directory of the test case (an
 * unchecked fixture, removed in the runner's process even when a forked test
 * crashes, together with the shared states of its unions). Layouts are
 * strings of space-separated entries relative to the test's directory: "p/" is a
 * directory, "p->target" a symlink, anything else a regular file whose content is
 * its own entry text; parents are made as needed. In layouts, paths, options and
 * expectations '@' stands for the test's directory. Branches are @/t (top),
 * @/w (middle), @/b (base), @/t2 and @/b2 (a second union); @/out is outside.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* mkdtemp, strtok_r: the Makefile passes it too */
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aufs/core.h"
#include "aufs/fault.h"
#include "fixture.h"	/* fx_remove_states() */
#include "internal.h"

Suite *lookup_suite(void);

/* ---------------------------------------------------------------- fixture */

static char root[PATH_MAX];	/* of the test case: canonical mkdtemp() name */
static char dir[PATH_MAX];	/* of the test: a mkdtemp() name under root */
static struct aufs_config cfg;

static const char *const std_dirs[] = { "t", "w", "b", "t2", "b2", "out", "mnt", "x" };

/* snprintf that fails the test instead of truncating. */
__attribute__((format(printf, 3, 4)))
static void fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < size, "%d bytes do not fit in %zu", n, size);
}

static void case_setup(void)
{
	char tmpl[] = "/tmp/aufs-check-lookup-XXXXXX";
	char *canon;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	/* Canonical, as the parser makes branch paths: expectations compare them. */
	canon = realpath(tmpl, NULL);
	ck_assert_ptr_nonnull(canon);
	ck_assert_uint_lt(strlen(canon), sizeof(root) - 64);
	strcpy(root, canon);
	free(canon);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

static void case_teardown(void)
{
	if (!root[0])
		return;
	fx_remove_states(root);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	root[0] = 0;
}

/*
 * Expand '@' to the test's directory; rotating buffers, so calls can nest. Big
 * enough for the option string of AUFS_BRANCH_MAX branches.
 */
static const char *ex(const char *t)
{
	static char buf[8][32768];
	static int next;
	char *out = buf[next++ % 8];
	size_t n = 0, dl = strlen(dir);

	if (!t)
		return NULL;
	for (; *t; t++) {
		if (*t == '@') {
			ck_assert_uint_lt(n + dl, sizeof(buf[0]) - 1);
			memcpy(out + n, dir, dl);
			n += dl;
		} else {
			ck_assert_uint_lt(n + 1, sizeof(buf[0]) - 1);
			out[n++] = *t;
		}
	}
	out[n] = 0;
	return out;
}

/* dir/REL */
static const char *at(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *out = buf[next++ % 4];

	fmt(out, PATH_MAX, "%s/%s", dir, rel);
	return out;
}

static void mkdirs(const char *rel)
{
	char p[PATH_MAX];

	fmt(p, sizeof(p), "%s/%s", dir, rel);
	for (char *s = p + strlen(dir) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p,
			      strerror(errno));
		*s = '/';
	}
	ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

static void mkparents(const char *rel)
{
	char p[PATH_MAX];
	char *slash;

	fmt(p, sizeof(p), "%s", rel);
	slash = strrchr(p, '/');
	if (!slash)
		return;
	*slash = 0;
	mkdirs(p);
}

static void put_file(const char *rel, const char *text)
{
	int fd;

	mkparents(rel);
	fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "open %s: %s", at(rel), strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void put_link(const char *rel, const char *target)
{
	mkparents(rel);
	ck_assert_msg(symlink(target, at(rel)) == 0, "symlink %s: %s", at(rel), strerror(errno));
}

/* Build a layout (see the header comment). */
static void build(const char *layout)
{
	char *copy, *save = NULL;

	if (!layout)
		return;
	copy = strdup(layout);
	ck_assert_ptr_nonnull(copy);
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *arrow = strstr(tok, "->");
		size_t len = strlen(tok);

		if (arrow) {
			*arrow = 0;
			put_link(tok, ex(arrow + 2));
		} else if (tok[len - 1] == '/') {
			tok[len - 1] = 0;
			mkdirs(tok);
		} else {
			put_file(tok, tok);
		}
	}
	free(copy);
}

static void test_setup(void)
{
	ck_assert_msg(root[0], "no test case directory");
	fmt(dir, sizeof(dir), "%s/tXXXXXX", root);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(std_dirs) / sizeof(std_dirs[0]); i++)
		mkdirs(std_dirs[i]);
	aufs_config_init(&cfg);
}

static void test_teardown(void)
{
	lookup_set_clock(NULL);
	aufs_state_publish(NULL);
	fx_remove_states(dir);
	aufs_config_release(&cfg);
	aufs_cwd_set(NULL);
	if (chdir("/") < 0)
		ck_abort_msg("chdir /: %s", strerror(errno));
}

/* Add the union OPTS at MNT (templates) and list its shared state for teardown. */
static struct aufs_union *add_union(const char *opts, const char *mnt)
{
	struct aufs_union *u = NULL;
	struct aufs_err err;
	int r;

	r = aufs_union_parse(ex(opts), ex(mnt), &u, &err);
	ck_assert_msg(r == 0, "parse \"%s\": %d %s", ex(opts), r, err.msg);
	r = aufs_config_add(&cfg, u, &err);
	ck_assert_msg(r == 0, "add \"%s\" at %s: %d %s", ex(opts), ex(mnt), r, err.msg);
	return cfg.unions[cfg.nunion - 1];
}

#define OPTS2 "br:@/t=rw:@/b=ro"
#define OPTS3 "br:@/t=rw:@/w=ro:@/b=ro"
#define OPTS3WH "br:@/t=rw:@/w=ro+wh:@/b=ro"
#define MNT "@/mnt"

/* The usual fixture: LAYOUT, one union OPTS (NULL: OPTS2) at MNT (NULL: @/mnt), published. */
static struct aufs_union *start(const char *layout, const char *opts, const char *mnt)
{
	struct aufs_union *u;

	build(layout);
	u = add_union(opts ? opts : OPTS2, mnt ? mnt : MNT);
	aufs_state_publish(&cfg);
	return u;
}

/*
 * What a union shows of the real object WANT at REAL (state_xino.c): its union's
 * device and the number of the object of its branch. A host path keeps its own.
 */
static void union_numbers(const char *real, struct stat *want)
{
	for (int k = 0; k < cfg.nunion; k++) {
		struct aufs_union *u = cfg.unions[k];

		for (int b = 0; b < u->nbranch; b++) {
			const struct aufs_branch *br = &u->branch[b];

			if (strncmp(real, br->path, br->len) == 0 &&
			    (real[br->len] == '/' || real[br->len] == 0)) {
				xino_stat(u, b, want);
				return;
			}
		}
	}
}

/* ST (as the union shows it, else as the kernel does: UNION) is the object at REAL. */
static void same_object_as(const char *what, const struct stat *st, const char *real, bool in_union)
{
	struct stat want;

	ck_assert_msg(lstat(real, &want) == 0, "%s: lstat %s: %s", what, real, strerror(errno));
	if (in_union)
		union_numbers(real, &want);
	ck_assert_msg(st->st_dev == want.st_dev && st->st_ino == want.st_ino,
		      "%s: got dev %lu ino %lu, expected %s (dev %lu ino %lu)", what,
		      (unsigned long)st->st_dev, (unsigned long)st->st_ino, real,
		      (unsigned long)want.st_dev, (unsigned long)want.st_ino);
	ck_assert_uint_eq(st->st_mode & S_IFMT, want.st_mode & S_IFMT);
}

static void same_object(const char *what, const struct stat *st, const char *real)
{
	same_object_as(what, st, real, true);
}

static const char *resolve_name(int r)
{
	static char buf[32];

	if (r == AUFS_PASS)
		return "AUFS_PASS";
	if (r == AUFS_PASS_HOST)
		return "AUFS_PASS_HOST";
	if (r < 0)
		return strerrorname_np(-r) ? strerrorname_np(-r) : "?";
	fmt(buf, sizeof(buf), "%d", r);
	return buf;
}

/* ---------------------------------------------------------------- the case table */

enum op {
	RESOLVE,	/* aufs_resolve(): flags are AUFS_RESOLVE_* */
	STAT,		/* aufs_fstatat(): flags are AT_*; real is the object stat must give */
	ACCESS,		/* aufs_faccessat(): flags is the mode */
	READLINK,	/* aufs_readlinkat(): virt is the content */
	OPEN,		/* aufs_openat(): flags are O_*; virt the content (or the fd's path), */
			/* real the object opened */
	REALPATH,	/* aufs_realpath(): virt is the result (also with AUFS_PASS_HOST) */
	CHDIR,		/* aufs_chdir(): virt the virtual cwd after it, real the kernel's */
};

#define OUT (-2)	/* expected branch: the path left the union (AUFS_PASS_HOST) */

struct lcase {
	const char *name;
	const char *layout;
	enum op op;
	const char *path;
	unsigned flags;
	int ret;		/* 0, AUFS_PASS or -errno */
	int branch;		/* RESOLVE: loc.branch, or OUT */
	unsigned type;		/* RESOLVE: loc.type */
	const char *virt;
	const char *real;
	unsigned lflags;	/* RESOLVE: AUFS_LOC_* that must be set */
	const char *opts;	/* NULL: OPTS2 */
	const char *mnt;	/* NULL: MNT */
	const char *cwd;	/* virtual cwd, NULL: none */
	const char *opts2;	/* a second union, or NULL */
	const char *mnt2;
	int un;			/* RESOLVE: which union loc.u must be (0 or 1) */
};

#define R(n, l, p, f, r, b, t, v, rl) \
	{ .name = n, .layout = l, .op = RESOLVE, .path = p, .flags = f, .ret = r, \
	  .branch = b, .type = t, .virt = v, .real = rl }
/* resolve with options OPTS */
#define RO(n, o, l, p, f, r, b, t, v, rl) \
	{ .name = n, .opts = o, .layout = l, .op = RESOLVE, .path = p, .flags = f, .ret = r, \
	  .branch = b, .type = t, .virt = v, .real = rl }
/* resolve relative to the virtual cwd C */
#define RC(n, c, l, p, r, b, t, v, rl) \
	{ .name = n, .cwd = c, .layout = l, .op = RESOLVE, .path = p, .ret = r, \
	  .branch = b, .type = t, .virt = v, .real = rl }
/* resolve with the union mounted at M */
#define RM(n, m, l, p, r, b, t, v, rl) \
	{ .name = n, .mnt = m, .layout = l, .op = RESOLVE, .path = p, .ret = r, \
	  .branch = b, .type = t, .virt = v, .real = rl }
/* two unions: @/x/m1 over t,b and @/x/m2 over t2,b2; U is which one loc.u is */
#define R2(n, c, l, p, r, u, b, t, v, rl) \
	{ .name = n, .cwd = c, .mnt = "@/x/m1", .opts2 = "br:@/t2=rw:@/b2=ro", \
	  .mnt2 = "@/x/m2", .layout = l, .op = RESOLVE, .path = p, .ret = r, .un = u, \
	  .branch = b, .type = t, .virt = v, .real = rl }
/* the same, for a missing final name: branch -1, DT_UNKNOWN */
#define RX(n, l, p, f, v, rl) R(n, l, p, f, 0, -1, DT_UNKNOWN, v, rl)
#define ROX(n, o, l, p, f, v, rl) RO(n, o, l, p, f, 0, -1, DT_UNKNOWN, v, rl)
#define RCX(n, c, l, p, v, rl) RC(n, c, l, p, 0, -1, DT_UNKNOWN, v, rl)
#define RMX(n, m, l, p, v, rl) RM(n, m, l, p, 0, -1, DT_UNKNOWN, v, rl)
/* the same, for an error (or AUFS_PASS) */
#define RE(n, l, p, f, r) R(n, l, p, f, r, 0, 0, NULL, NULL)
#define ROE(n, o, l, p, f, r) RO(n, o, l, p, f, r, 0, 0, NULL, NULL)
#define RCE(n, c, l, p, r) RC(n, c, l, p, r, 0, 0, NULL, NULL)
#define RME(n, m, l, p, r) RM(n, m, l, p, r, 0, 0, NULL, NULL)
/* an operation */
#define OP(n, l, o, p, f, r, v, rl) \
	{ .name = n, .layout = l, .op = o, .path = p, .flags = f, .ret = r, .virt = v, .real = rl }
#define OPC(n, c, l, o, p, f, r, v, rl) \
	{ .name = n, .cwd = c, .layout = l, .op = o, .path = p, .flags = f, .ret = r, .virt = v, \
	  .real = rl }

#define NF AUFS_RESOLVE_NOFOLLOW

static const struct lcase cases[] = {
	/* -------- where a name lives */
	R("top only", "t/f", "@/mnt/f", 0, 0, 0, DT_REG, "@/mnt/f", "@/t/f"),
	R("base only", "b/f", "@/mnt/f", 0, 0, 1, DT_REG, "@/mnt/f", "@/b/f"),
	R("both: top wins", "t/f b/f", "@/mnt/f", 0, 0, 0, DT_REG, "@/mnt/f", "@/t/f"),
	RX("missing", "b/g", "@/mnt/f", 0, "@/mnt/f", "@/t/f"),
	RE("missing parent", "", "@/mnt/nd/f", 0, -ENOENT),
	R("dir in base only", "b/d/", "@/mnt/d", 0, 0, 1, DT_DIR, "@/mnt/d", "@/b/d"),
	R("dir in both", "t/d/ b/d/", "@/mnt/d", 0, 0, 0, DT_DIR, "@/mnt/d", "@/t/d"),
	R("base file in merged dir", "t/d/x b/d/f", "@/mnt/d/f", 0, 0, 1, DT_REG, "@/mnt/d/f",
	  "@/b/d/f"),
	R("top file in merged dir", "t/d/f b/d/x", "@/mnt/d/f", 0, 0, 0, DT_REG, "@/mnt/d/f",
	  "@/t/d/f"),
	R("deep base file under top dir", "t/d/ b/d/e/f", "@/mnt/d/e/f", 0, 0, 1, DT_REG,
	  "@/mnt/d/e/f", "@/b/d/e/f"),
	RX("missing in base-only dir", "b/d/", "@/mnt/d/f", 0, "@/mnt/d/f", "@/b/d/f"),
	{ .name = "mount point", .layout = "b/f", .op = RESOLVE, .path = "@/mnt", .branch = 0,
	  .type = DT_DIR, .virt = "@/mnt", .real = "@/t", .lflags = AUFS_LOC_ROOT },
	R("mount point with trailing /", "", "@/mnt/", 0, 0, 0, DT_DIR, "@/mnt", "@/t"),
	R("symlink only in base", "b/l->x", "@/mnt/l", NF, 0, 1, DT_LNK, "@/mnt/l", "@/b/l"),
	RO("rr base", "br:@/t=rw:@/b=rr", "b/f", "@/mnt/f", 0, 0, 1, DT_REG, "@/mnt/f", "@/b/f"),
	R("DIRECTORY flag on a dir", "b/d/", "@/mnt/d", AUFS_RESOLVE_DIRECTORY, 0, 1, DT_DIR,
	  "@/mnt/d", "@/b/d"),
	/* core.h: AUFS_RESOLVE_DIRECTORY is a trailing '/': the final must be a directory */
	RE("DIRECTORY flag on a file", "b/f", "@/mnt/f", AUFS_RESOLVE_DIRECTORY, -ENOTDIR),
	R("DIRECTORY flag on a link to a dir", "t/l->d b/d/", "@/mnt/l",
	  NF | AUFS_RESOLVE_DIRECTORY, 0, 1, DT_DIR, "@/mnt/d", "@/b/d"),

	/* -------- whiteouts */
	RX("whiteout hides base file", "t/.wh.f b/f", "@/mnt/f", 0, "@/mnt/f", "@/t/f"),
	RX("whiteout hides base dir", "t/.wh.d b/d/x", "@/mnt/d", 0, "@/mnt/d", "@/t/d"),
	RE("whiteout hides base dir's children", "t/.wh.d b/d/x", "@/mnt/d/x", 0, -ENOENT),
	RX("whiteout in a subdir", "t/d/.wh.f b/d/f b/d/g", "@/mnt/d/f", 0, "@/mnt/d/f", "@/t/d/f"),
	R("whiteout leaves the sibling", "t/d/.wh.f b/d/f b/d/g", "@/mnt/d/g", 0, 0, 1, DT_REG,
	  "@/mnt/d/g", "@/b/d/g"),
	RX("whiteout hides a base symlink", "t/.wh.l b/l->f b/f", "@/mnt/l", NF, "@/mnt/l",
	   "@/t/l"),
	RO("whiteout in ro middle ignored", OPTS3, "w/.wh.f b/f", "@/mnt/f", 0, 0, 2, DT_REG,
	   "@/mnt/f", "@/b/f"),
	ROX("whiteout in ro+wh middle honoured", OPTS3WH, "w/.wh.f b/f", "@/mnt/f", 0, "@/mnt/f",
	    "@/t/f"),
	RO("ro+wh whiteout does not hide the top", OPTS3WH, "t/f w/.wh.f b/f", "@/mnt/f", 0, 0, 0,
	   DT_REG, "@/mnt/f", "@/t/f"),
	ROE("ro+wh whiteout hides a base dir", OPTS3WH, "w/.wh.d b/d/x", "@/mnt/d/x", 0, -ENOENT),
	ROX("top whiteout hides middle and base", OPTS3, "t/.wh.f w/f b/f", "@/mnt/f", 0, "@/mnt/f",
	    "@/t/f"),
	ROX("whiteout in rw+nolwh top honoured", "br:@/t=rw+nolwh:@/b=ro", "t/.wh.f b/f", "@/mnt/f",
	    0, "@/mnt/f", "@/t/f"),
	ROX("whiteout in ro+wh top honoured", "br:@/t=ro+wh:@/b=ro", "t/.wh.f b/f", "@/mnt/f", 0,
	    "@/mnt/f", "@/t/f"),
	ROX("whiteout in rr+wh middle honoured", "br:@/t=rw:@/w=rr+wh:@/b=ro", "w/.wh.f b/f",
	    "@/mnt/f", 0, "@/mnt/f", "@/t/f"),
	RO("whiteout in ro top ignored", "br:@/t=ro:@/b=ro", "t/.wh.f b/f", "@/mnt/f", 0, 0, 1,
	   DT_REG, "@/mnt/f", "@/b/f"),
	R("rw top, dir merges under a whiteout of another name", "t/d/.wh.y b/d/f", "@/mnt/d/f", 0,
	  0, 1, DT_REG, "@/mnt/d/f", "@/b/d/f"),

	/* -------- opaque directories */
	R("opaque top dir exists", "t/d/.wh..wh..opq t/d/x b/d/y", "@/mnt/d", 0, 0, 0, DT_DIR,
	  "@/mnt/d", "@/t/d"),
	RX("opaque top dir hides base child", "t/d/.wh..wh..opq t/d/x b/d/y", "@/mnt/d/y", 0,
	   "@/mnt/d/y", "@/t/d/y"),
	R("opaque top dir keeps own child", "t/d/.wh..wh..opq t/d/x b/d/y", "@/mnt/d/x", 0, 0, 0,
	  DT_REG, "@/mnt/d/x", "@/t/d/x"),
	RE("opaque top dir hides base subdir", "t/d/.wh..wh..opq b/d/s/f", "@/mnt/d/s/f", 0,
	   -ENOENT),
	RO("opaque in ro middle ignored", OPTS3, "w/d/.wh..wh..opq w/d/x b/d/y", "@/mnt/d/y", 0, 0,
	   2, DT_REG, "@/mnt/d/y", "@/b/d/y"),
	ROX("opaque in ro+wh middle honoured", OPTS3WH, "w/d/.wh..wh..opq w/d/x b/d/y", "@/mnt/d/y",
	    0, "@/mnt/d/y", "@/w/d/y"),
	RO("opaque in ro+wh middle, middle child", OPTS3WH, "w/d/.wh..wh..opq w/d/x b/d/y",
	   "@/mnt/d/x", 0, 0, 1, DT_REG, "@/mnt/d/x", "@/w/d/x"),
	RO("opaque in ro base is nothing", "br:@/t=rw:@/b=ro", "t/d/ b/d/.wh..wh..opq b/d/y",
	   "@/mnt/d/y", 0, 0, 1, DT_REG, "@/mnt/d/y", "@/b/d/y"),

	/* -------- types shadowing types */
	R("file over dir: a file", "t/d b/d/y", "@/mnt/d", 0, 0, 0, DT_REG, "@/mnt/d", "@/t/d"),
	RE("file over dir: no children", "t/d b/d/y", "@/mnt/d/y", 0, -ENOTDIR),
	RE("file over dir: trailing /", "t/d b/d/y", "@/mnt/d/", 0, -ENOTDIR),
	R("dir over file: a dir", "t/d/ b/d", "@/mnt/d", 0, 0, 0, DT_DIR, "@/mnt/d", "@/t/d"),
	R("dir over file: child in top", "t/d/x b/d", "@/mnt/d/x", 0, 0, 0, DT_REG, "@/mnt/d/x",
	  "@/t/d/x"),
	RX("dir over file: missing child", "t/d/ b/d", "@/mnt/d/x", 0, "@/mnt/d/x", "@/t/d/x"),
	ROX("file in ro middle cuts the merge", OPTS3, "t/d/ w/d b/d/y", "@/mnt/d/y", 0,
	    "@/mnt/d/y", "@/t/d/y"),
	R("symlink over dir", "t/d->e b/d/y b/e/z", "@/mnt/d/z", 0, 0, 1, DT_REG, "@/mnt/e/z",
	  "@/b/e/z"),
	RX("symlink over dir hides its children", "t/d->e b/d/y b/e/z", "@/mnt/d/y", 0, "@/mnt/e/y",
	   "@/b/e/y"),

	/* -------- reserved names */
	RX(".wh. name of a whiteout", "t/.wh.f b/f", "@/mnt/.wh.f", NF, "@/mnt/.wh.f", "@/t/.wh.f"),
	OP(".wh. name: stat", "t/.wh.f b/f", STAT, "@/mnt/.wh.f", AT_SYMLINK_NOFOLLOW, -ENOENT,
	   NULL, NULL),
	OP("opaque marker: stat", "t/d/.wh..wh..opq", STAT, "@/mnt/d/.wh..wh..opq", 0, -ENOENT,
	   NULL, NULL),
	OP(".wh. name in ro base: stat", "b/.wh.x", STAT, "@/mnt/.wh.x", 0, -ENOENT, NULL, NULL),
	OP(".wh..wh.aufs: stat", "t/.wh..wh.aufs", STAT, "@/mnt/.wh..wh.aufs", 0, -ENOENT, NULL,
	   NULL),
	RE(".wh. dir as a parent", "t/.wh.d/x", "@/mnt/.wh.d/x", 0, -ENOENT),
	OP(".wh. name: access", "t/.wh.f", ACCESS, "@/mnt/.wh.f", F_OK, -ENOENT, NULL, NULL),
	OP(".wh. name: open", "t/.wh.f", OPEN, "@/mnt/.wh.f", O_RDONLY, -ENOENT, NULL, NULL),

	/* -------- ".", "..", "//" and trailing "/" */
	R("dot", "b/f", "@/mnt/./f", 0, 0, 1, DT_REG, "@/mnt/f", "@/b/f"),
	R("dot at the end", "b/d/", "@/mnt/d/.", 0, 0, 1, DT_DIR, "@/mnt/d", "@/b/d"),
	R("dot of the mount point", "", "@/mnt/.", 0, 0, 0, DT_DIR, "@/mnt", "@/t"),
	R("dotdot in the union", "b/d/ b/f", "@/mnt/d/../f", 0, 0, 1, DT_REG, "@/mnt/f", "@/b/f"),
	R("dotdot after a top-only dir", "t/d/ b/f", "@/mnt/d/../f", 0, 0, 1, DT_REG, "@/mnt/f",
	  "@/b/f"),
	RE("dotdot after a missing dir", "b/f", "@/mnt/nd/../f", 0, -ENOENT),
	RE("dotdot after a file", "b/f", "@/mnt/f/../f", 0, -ENOTDIR),
	RE("dot after a file", "b/f", "@/mnt/f/.", 0, -ENOTDIR),
	RE("dotdot after a whited-out dir", "t/.wh.d b/d/ b/f", "@/mnt/d/../f", 0, -ENOENT),
	R("double slashes", "b/d/f", "@/mnt//d///f", 0, 0, 1, DT_REG, "@/mnt/d/f", "@/b/d/f"),
	RE("trailing / on a file", "b/f", "@/mnt/f/", 0, -ENOTDIR),
	{ .name = "trailing / on a dir", .layout = "b/d/", .op = RESOLVE, .path = "@/mnt/d/",
	  .branch = 1, .type = DT_DIR, .virt = "@/mnt/d", .real = "@/b/d",
	  .lflags = AUFS_LOC_TRAILING },
	{ .name = "trailing // on a missing name", .layout = "", .op = RESOLVE,
	  .path = "@/mnt/nx//", .branch = -1, .type = DT_UNKNOWN, .virt = "@/mnt/nx",
	  .real = "@/t/nx", .lflags = AUFS_LOC_TRAILING },
	R("dotdot at the mount point leaves", "", "@/mnt/..", 0, 0, OUT, 0, "@", "@"),
	R("dotdot at the mount point to outside", "out/f", "@/mnt/../out/f", 0, 0, OUT, 0,
	  "@/out/f", "@/out/f"),
	R("dotdot twice from a subdir", "b/d/", "@/mnt/d/../..", 0, 0, OUT, 0, "@", "@"),
	R("leave and re-enter", "b/f", "@/mnt/../mnt/f", 0, 0, 1, DT_REG, "@/mnt/f", "@/b/f"),
	R("leave and re-enter from a subdir", "b/d/ b/f", "@/mnt/d/../../mnt/f", 0, 0, 1, DT_REG,
	  "@/mnt/f", "@/b/f"),
	R("enter from outside through dotdot", "b/f", "@/out/../mnt/f", 0, 0, 1, DT_REG, "@/mnt/f",
	  "@/b/f"),

	/* -------- symlinks, followed in the virtual namespace */
	R("relative link in top to a base file", "t/l->f b/f", "@/mnt/l", 0, 0, 1, DT_REG,
	  "@/mnt/f", "@/b/f"),
	R("relative link, not followed", "t/l->f b/f", "@/mnt/l", NF, 0, 0, DT_LNK, "@/mnt/l",
	  "@/t/l"),
	R("relative link with dotdot", "t/d/l->../f b/f", "@/mnt/d/l", 0, 0, 1, DT_REG, "@/mnt/f",
	  "@/b/f"),
	R("link in base to a top dir", "b/l->d t/d/x", "@/mnt/l/x", 0, 0, 0, DT_REG, "@/mnt/d/x",
	  "@/t/d/x"),
	R("absolute link into the union", "t/l->@/mnt/f b/f", "@/mnt/l", 0, 0, 1, DT_REG, "@/mnt/f",
	  "@/b/f"),
	R("absolute link into the union, dotdot", "t/l->@/mnt/d/../f b/d/ b/f", "@/mnt/l", 0, 0, 1,
	  DT_REG, "@/mnt/f", "@/b/f"),
	R("absolute link out of the union", "t/l->@/out/f out/f", "@/mnt/l", 0, 0, OUT, 0,
	  "@/out/f", "@/out/f"),
	R("absolute link out of the union, below", "t/l->@/out out/f", "@/mnt/l/f", 0, 0, OUT, 0,
	  "@/out/f", "@/out/f"),
	R("link to a dir, then dotdot (virtual)", "t/l->d/s b/d/s/ t/d/g", "@/mnt/l/../g", 0, 0, 0,
	  DT_REG, "@/mnt/d/g", "@/t/d/g"),
	R("link to a dir, then dotdot at the end", "t/l->d/s b/d/s/", "@/mnt/l/..", 0, 0, 1, DT_DIR,
	  "@/mnt/d", "@/b/d"),
	R("link to dotdot", "t/d/l->.. b/f", "@/mnt/d/l/f", 0, 0, 1, DT_REG, "@/mnt/f", "@/b/f"),
	R("link to a dir, trailing /", "t/l->d b/d/", "@/mnt/l/", NF, 0, 1, DT_DIR, "@/mnt/d",
	  "@/b/d"),
	RE("link to a file, trailing /", "t/l->f b/f", "@/mnt/l/", 0, -ENOTDIR),
	R("link chain across branches", "t/a->b b/b->c b/c", "@/mnt/a", 0, 0, 1, DT_REG, "@/mnt/c",
	  "@/b/c"),
	RX("link to a whited-out name", "t/l->f t/.wh.f b/f", "@/mnt/l", 0, "@/mnt/f", "@/t/f"),
	RX("link to a .wh. name", "t/l->.wh.f t/.wh.f b/f", "@/mnt/l", 0, "@/mnt/.wh.f",
	   "@/t/.wh.f"),
	R("relative link in base to a top file", "b/d/l->../f t/f b/f", "@/mnt/d/l", 0, 0, 0,
	  DT_REG, "@/mnt/f", "@/t/f"),
	R("link with dot and double slashes", "t/l->./d//f b/d/f", "@/mnt/l", 0, 0, 1, DT_REG,
	  "@/mnt/d/f", "@/b/d/f"),
	R("link to dot", "t/l->. b/f", "@/mnt/l/f", 0, 0, 1, DT_REG, "@/mnt/f", "@/b/f"),
	R("link to dotdot at the mount point", "t/l->..", "@/mnt/l", 0, 0, OUT, 0, "@", "@"),
	R("link to dotdot, then back in", "t/l->.. b/f", "@/mnt/l/mnt/f", 0, 0, 1, DT_REG,
	  "@/mnt/f", "@/b/f"),
	R("relative link out of the union", "t/l->../out/f out/f", "@/mnt/l", 0, 0, OUT, 0,
	  "@/out/f", "@/out/f"),
	RE("link loop through dotdot", "t/d/l->../d/l", "@/mnt/d/l", 0, -ELOOP),
	RE("link loop", "t/a->b t/b->a", "@/mnt/a", 0, -ELOOP),
	R("link loop, not followed", "t/a->b t/b->a", "@/mnt/a", NF, 0, 0, DT_LNK, "@/mnt/a",
	  "@/t/a"),
	RE("self loop", "t/l->l", "@/mnt/l", 0, -ELOOP),
	RE("loop through a dir", "t/l->l/x", "@/mnt/l", 0, -ELOOP),
	RE("loop as a parent", "t/a->b t/b->a", "@/mnt/a/x", NF, -ELOOP),
	RX("dangling link", "t/l->nx", "@/mnt/l", 0, "@/mnt/nx", "@/t/nx"),
	R("dangling link, not followed", "t/l->nx", "@/mnt/l", NF, 0, 0, DT_LNK, "@/mnt/l",
	  "@/t/l"),
	RE("dangling link into a missing dir", "t/l->nd/x", "@/mnt/l", 0, -ENOENT),
	OP("dangling link: stat", "t/l->nx", STAT, "@/mnt/l", 0, -ENOENT, NULL, NULL),
	OP("dangling link: lstat", "t/l->nx", STAT, "@/mnt/l", AT_SYMLINK_NOFOLLOW, 0, NULL,
	   "@/t/l"),

	/* -------- outside every union */
	RE("outside: sibling", "out/f", "@/out/f", 0, AUFS_PASS),
	RE("outside: /etc", "", "/etc", 0, AUFS_PASS),
	RE("outside: a prefix of the name", "", "@/mntx/f", 0, AUFS_PASS),
	RE("outside: an ancestor", "", "@", 0, AUFS_PASS),
	RE("outside: relative, no cwd", "", "f", 0, AUFS_PASS),
	RE("outside: empty", "", "", 0, AUFS_PASS),
	RE("outside: a branch itself", "b/f", "@/b/f", 0, AUFS_PASS),
	R("outside: dot before the mount point", "b/f", "@/./mnt/f", 0, 0, 1, DT_REG, "@/mnt/f",
	  "@/b/f"),
	R("outside: dotdot to the mount point", "", "@/out/../mnt", 0, 0, 0, DT_DIR, "@/mnt",
	  "@/t"),
	RCE("outside: relative, cwd on an ancestor", "@", "out/f", "out/f", AUFS_PASS),
	RCE("outside: relative, cwd outside", "@/out", "out/f", "f", AUFS_PASS),
	OP("outside: stat", "out/f", STAT, "@/out/f", 0, AUFS_PASS, NULL, NULL),
	OP("outside: access", "out/f", ACCESS, "@/out/f", R_OK, AUFS_PASS, NULL, NULL),
	OP("outside: readlink", "out/l->x", READLINK, "@/out/l", 0, AUFS_PASS, NULL, NULL),
	OP("outside: open", "out/f", OPEN, "@/out/f", O_RDONLY, AUFS_PASS, NULL, NULL),
	OP("outside: realpath", "out/f", REALPATH, "@/out/f", 0, AUFS_PASS, NULL, NULL),
	OP("outside: chdir", "out/", CHDIR, "@/out", 0, AUFS_PASS, NULL, NULL),

	/* -------- relative names from the virtual cwd */
	RC("cwd: a name in a base dir", "@/mnt/d", "b/d/f", "f", 0, 1, DT_REG, "@/mnt/d/f",
	   "@/b/d/f"),
	RC("cwd: dot", "@/mnt/d", "b/d/f", ".", 0, 1, DT_DIR, "@/mnt/d", "@/b/d"),
	RC("cwd: dotdot", "@/mnt/d", "b/d/ b/f", "../f", 0, 1, DT_REG, "@/mnt/f", "@/b/f"),
	RC("cwd: dot slash", "@/mnt", "b/d/f", "./d/f", 0, 1, DT_REG, "@/mnt/d/f", "@/b/d/f"),
	RC("cwd: dotdot out of the union", "@/mnt", "out/f", "../out/f", 0, OUT, 0, "@/out/f",
	   "@/out/f"),
	RC("cwd: ancestor of the mount point", "@", "b/f", "mnt/f", 0, 1, DT_REG, "@/mnt/f",
	   "@/b/f"),
	RC("cwd: outside, dotdot into the union", "@/out", "b/f", "../mnt/f", 0, 1, DT_REG,
	   "@/mnt/f", "@/b/f"),
	RCX("cwd: a missing name", "@/mnt/d", "t/d/", "nx", "@/mnt/d/nx", "@/t/d/nx"),
	RCX("cwd: a whited-out name", "@/mnt", "t/.wh.f b/f", "f", "@/mnt/f", "@/t/f"),
	RC("cwd: a relative link", "@/mnt", "t/l->d/f b/d/f", "l", 0, 1, DT_REG, "@/mnt/d/f",
	   "@/b/d/f"),
	{ .name = "cwd: empty path with EMPTY_PATH", .cwd = "@/mnt/d", .layout = "b/d/",
	  .op = RESOLVE, .path = "", .flags = AUFS_RESOLVE_EMPTY_PATH, .branch = 1,
	  .type = DT_DIR, .virt = "@/mnt/d", .real = "@/b/d" },

	/* -------- where the union is mounted: a spelling with '/', its own top branch */
	RM("mount point given with a trailing /", "@/mnt/", "b/f", "@/mnt/f", 0, 1, DT_REG,
	   "@/mnt/f", "@/b/f"),
	RM("mounted on top: base file", "@/t", "b/f", "@/t/f", 0, 1, DT_REG, "@/t/f", "@/b/f"),
	RM("mounted on top: top file", "@/t", "t/g b/g", "@/t/g", 0, 0, DT_REG, "@/t/g", "@/t/g"),
	RMX("mounted on top: whiteout", "@/t", "t/.wh.f b/f", "@/t/f", "@/t/f", "@/t/f"),
	RM("mounted on top: base dir", "@/t", "b/d/f", "@/t/d/f", 0, 1, DT_REG, "@/t/d/f",
	   "@/b/d/f"),
	RM("mounted on top: the root", "@/t", "", "@/t", 0, 0, DT_DIR, "@/t", "@/t"),
	RM("mounted on top: dotdot leaves", "@/t", "", "@/t/..", 0, OUT, 0, "@", "@"),
	RME("mounted on top: the base is outside", "@/t", "b/f", "@/b/f", AUFS_PASS),
	RM("mounted on top: link to a base file", "@/t", "t/l->f b/f", "@/t/l", 0, 1, DT_REG,
	   "@/t/f", "@/b/f"),

	/* -------- two unions side by side */
	R2("two unions: first", NULL, "b/f b2/f", "@/x/m1/f", 0, 0, 1, DT_REG, "@/x/m1/f", "@/b/f"),
	R2("two unions: second", NULL, "b/f b2/f", "@/x/m2/f", 0, 1, 1, DT_REG, "@/x/m2/f",
	   "@/b2/f"),
	R2("two unions: from one to the other", NULL, "b/f b2/f", "@/x/m1/../m2/f", 0, 1, 1, DT_REG,
	   "@/x/m2/f", "@/b2/f"),
	R2("two unions: a longer name", NULL, "", "@/x/m10/f", AUFS_PASS, 0, 0, 0, NULL, NULL),
	R2("two unions: their parent", NULL, "", "@/x", AUFS_PASS, 0, 0, 0, NULL, NULL),
	R2("two unions: absolute link across", NULL, "t/l->@/x/m2/g b2/g", "@/x/m1/l", 0, 1, 1,
	   DT_REG, "@/x/m2/g", "@/b2/g"),
	R2("two unions: relative link across", NULL, "t/l->../m2/g b2/g", "@/x/m1/l", 0, 1, 1,
	   DT_REG, "@/x/m2/g", "@/b2/g"),
	R2("two unions: cwd on the parent", "@/x", "b2/f", "m2/f", 0, 1, 1, DT_REG, "@/x/m2/f",
	   "@/b2/f"),
	R2("two unions: cwd in the first", "@/x/m1", "t2/f", "../m2/f", 0, 1, 0, DT_REG, "@/x/m2/f",
	   "@/t2/f"),
	{ .name = "nested unions: the inner one wins", .layout = "t/s/ t/s/f t2/f", .op = RESOLVE,
	  .mnt = "@/x/m1", .opts2 = "br:@/t2=rw:@/b2=ro", .mnt2 = "@/x/m1/s", .path = "@/x/m1/s/f",
	  .un = 1, .branch = 0, .type = DT_REG, .virt = "@/x/m1/s/f", .real = "@/t2/f" },
	{ .name = "nested unions: re-entered through dotdot", .layout = "t/s/ t/s/f t2/f",
	  .op = RESOLVE, .mnt = "@/x/m1", .opts2 = "br:@/t2=rw:@/b2=ro", .mnt2 = "@/x/m1/s",
	  .path = "@/x/m1/s/../s/f", .un = 1, .branch = 0, .type = DT_REG, .virt = "@/x/m1/s/f",
	  .real = "@/t2/f" },
	{ .name = "nested unions: from a cwd in the inner one", .layout = "t/s/ t/s/f t2/f",
	  .op = RESOLVE, .mnt = "@/x/m1", .opts2 = "br:@/t2=rw:@/b2=ro", .mnt2 = "@/x/m1/s",
	  .cwd = "@/x/m1/s", .path = "f", .un = 1, .branch = 0, .type = DT_REG,
	  .virt = "@/x/m1/s/f", .real = "@/t2/f" },
	{ .name = "nested unions: the inner root", .layout = "t/s/ b2/g", .op = RESOLVE,
	  .mnt = "@/x/m1", .opts2 = "br:@/t2=rw:@/b2=ro", .mnt2 = "@/x/m1/s", .path = "@/x/m1/s",
	  .un = 1, .branch = 0, .type = DT_DIR, .virt = "@/x/m1/s", .real = "@/t2" },

	/* -------- stat */
	OP("stat: base file", "b/f", STAT, "@/mnt/f", 0, 0, NULL, "@/b/f"),
	OP("stat: top over base", "t/f b/f", STAT, "@/mnt/f", 0, 0, NULL, "@/t/f"),
	OP("stat: through a link", "t/l->f b/f", STAT, "@/mnt/l", 0, 0, NULL, "@/b/f"),
	OP("stat: link, not followed", "t/l->f b/f", STAT, "@/mnt/l", AT_SYMLINK_NOFOLLOW, 0, NULL,
	   "@/t/l"),
	OP("stat: base dir", "b/d/", STAT, "@/mnt/d", 0, 0, NULL, "@/b/d"),
	OP("stat: merged dir", "t/d/ b/d/", STAT, "@/mnt/d", 0, 0, NULL, "@/t/d"),
	OP("stat: mount point", "", STAT, "@/mnt", 0, 0, NULL, "@/t"),
	OP("stat: missing", "", STAT, "@/mnt/f", 0, -ENOENT, NULL, NULL),
	OP("stat: whited out", "t/.wh.f b/f", STAT, "@/mnt/f", 0, -ENOENT, NULL, NULL),
	OP("stat: opaque", "t/d/.wh..wh..opq b/d/f", STAT, "@/mnt/d/f", 0, -ENOENT, NULL, NULL),
	OP("stat: trailing / on a file", "b/f", STAT, "@/mnt/f/", 0, -ENOTDIR, NULL, NULL),
	OP("stat: under a file", "t/d b/d/f", STAT, "@/mnt/d/f", 0, -ENOTDIR, NULL, NULL),
	OP("stat: loop", "t/l->l", STAT, "@/mnt/l", 0, -ELOOP, NULL, NULL),
	OP("stat: dotdot at the mount point", "", STAT, "@/mnt/..", 0, 0, NULL, "@"),
	OP("stat: link out of the union", "t/l->@/out/f out/f", STAT, "@/mnt/l", 0, 0, NULL,
	   "@/out/f"),
	{ .name = "stat: empty path is the cwd", .cwd = "@/mnt/d", .layout = "b/d/", .op = STAT,
	  .path = "", .flags = AT_EMPTY_PATH, .real = "@/b/d" },
	OPC("stat: relative", "@/mnt/d", "b/d/f", STAT, "f", 0, 0, NULL, "@/b/d/f"),

	/* -------- access */
	OP("access: base file", "b/f", ACCESS, "@/mnt/f", R_OK, 0, NULL, NULL),
	OP("access: base file for writing", "b/f", ACCESS, "@/mnt/f", W_OK, 0, NULL, NULL),
	OP("access: not executable", "b/f", ACCESS, "@/mnt/f", X_OK, -EACCES, NULL, NULL),
	OP("access: missing", "", ACCESS, "@/mnt/f", F_OK, -ENOENT, NULL, NULL),
	OP("access: whited out", "t/.wh.f b/f", ACCESS, "@/mnt/f", F_OK, -ENOENT, NULL, NULL),
	OP("access: dangling link", "t/l->nx", ACCESS, "@/mnt/l", F_OK, -ENOENT, NULL, NULL),
	OP("access: base dir", "b/d/", ACCESS, "@/mnt/d", X_OK, 0, NULL, NULL),

	/* -------- readlink */
	OP("readlink: top link", "t/l->f", READLINK, "@/mnt/l", 0, 0, "f", NULL),
	OP("readlink: base link", "b/l->../x/y", READLINK, "@/mnt/l", 0, 0, "../x/y", NULL),
	OP("readlink: link under a linked dir", "t/dl->d b/d/l2->zz", READLINK, "@/mnt/dl/l2", 0, 0,
	   "zz", NULL),
	OP("readlink: trailing / on a link to a file", "t/l->f b/f", READLINK, "@/mnt/l/", 0,
	   -ENOTDIR, NULL, NULL),
	OP("readlink: a file", "b/f", READLINK, "@/mnt/f", 0, -EINVAL, NULL, NULL),
	OP("readlink: missing", "", READLINK, "@/mnt/l", 0, -ENOENT, NULL, NULL),
	OP("readlink: whited out", "t/.wh.l b/l->f", READLINK, "@/mnt/l", 0, -ENOENT, NULL, NULL),
	OP("readlink: link over a base file", "t/f->g b/f", READLINK, "@/mnt/f", 0, 0, "g", NULL),

	/* -------- open */
	OP("open: base file", "b/f", OPEN, "@/mnt/f", O_RDONLY, 0, "b/f", "@/b/f"),
	OP("open: top over base", "t/f b/f", OPEN, "@/mnt/f", O_RDONLY, 0, "t/f", "@/t/f"),
	OP("open: through a link", "t/l->d/f b/d/f", OPEN, "@/mnt/l", O_RDONLY, 0, "b/d/f",
	   "@/b/d/f"),
	{ .name = "open: file in the ro middle", .opts = OPTS3, .layout = "t/x w/f b/f", .op = OPEN,
	  .path = "@/mnt/f", .flags = O_RDONLY, .virt = "w/f", .real = "@/w/f" },
	OP("open: missing", "", OPEN, "@/mnt/f", O_RDONLY, -ENOENT, NULL, NULL),
	OP("open: whited out", "t/.wh.f b/f", OPEN, "@/mnt/f", O_RDONLY, -ENOENT, NULL, NULL),
	OP("open: O_DIRECTORY on a file", "b/f", OPEN, "@/mnt/f", O_RDONLY | O_DIRECTORY, -ENOTDIR,
	   NULL, NULL),
	OP("open: O_EXCL on a base file", "b/f", OPEN, "@/mnt/f", O_WRONLY | O_CREAT | O_EXCL,
	   -EEXIST, NULL, NULL),
	OP("open: O_NOFOLLOW on a link", "t/l->f b/f", OPEN, "@/mnt/l", O_RDONLY | O_NOFOLLOW,
	   -ELOOP, NULL, NULL),
	OP("open: a base dir", "b/d/f", OPEN, "@/mnt/d", O_RDONLY | O_DIRECTORY, 0, "@/mnt/d",
	   "@/b/d"),
	OP("open: a merged dir", "t/d/ b/d/f", OPEN, "@/mnt/d", O_RDONLY | O_DIRECTORY, 0,
	   "@/mnt/d", "@/t/d"),
	OP("open: create in the top", "b/g", OPEN, "@/mnt/n", O_WRONLY | O_CREAT | O_EXCL, 0, "",
	   "@/t/n"),
	OP("open: create with a trailing /", "", OPEN, "@/mnt/n/", O_WRONLY | O_CREAT, -EISDIR,
	   NULL, NULL),
	OP("open: create in a whited-out dir", "t/.wh.d b/d/", OPEN, "@/mnt/d/n",
	   O_WRONLY | O_CREAT, -ENOENT, NULL, NULL),
	OP("open: create through a dangling link", "t/l->n", OPEN, "@/mnt/l", O_WRONLY | O_CREAT, 0,
	   "", "@/t/n"),
	OP("open: O_EXCL on a dangling link", "t/l->n", OPEN, "@/mnt/l",
	   O_WRONLY | O_CREAT | O_EXCL, -EEXIST, NULL, NULL),
	OP("open: create a .wh. name", "", OPEN, "@/mnt/.wh.n", O_WRONLY | O_CREAT, -EPERM, NULL,
	   NULL),
	OP("open: create over a whiteout", "t/.wh.f b/f", OPEN, "@/mnt/f", O_WRONLY | O_CREAT, 0,
	   "", "@/t/f"),

	/* -------- realpath */
	OP("realpath: base file", "b/f", REALPATH, "@/mnt/f", 0, 0, "@/mnt/f", NULL),
	OP("realpath: link", "t/l->d/f b/d/f", REALPATH, "@/mnt/l", 0, 0, "@/mnt/d/f", NULL),
	OP("realpath: dotdot", "b/d/ b/f", REALPATH, "@/mnt/d/../f", 0, 0, "@/mnt/f", NULL),
	OP("realpath: link to a dir, then dotdot", "t/l->d/s b/d/s/ b/d/g", REALPATH,
	   "@/mnt/l/../g", 0, 0, "@/mnt/d/g", NULL),
	OP("realpath: trailing /", "b/d/", REALPATH, "@/mnt/d/", 0, 0, "@/mnt/d", NULL),
	OP("realpath: mount point", "", REALPATH, "@/mnt/", 0, 0, "@/mnt", NULL),
	OP("realpath: missing", "", REALPATH, "@/mnt/f", 0, -ENOENT, NULL, NULL),
	OP("realpath: dangling", "t/l->nx", REALPATH, "@/mnt/l", 0, -ENOENT, NULL, NULL),
	OP("realpath: whited out", "t/.wh.f b/f", REALPATH, "@/mnt/f", 0, -ENOENT, NULL, NULL),
	OP("realpath: trailing / on a file", "b/f", REALPATH, "@/mnt/f/", 0, -ENOTDIR, NULL, NULL),
	OP("realpath: loop", "t/l->l", REALPATH, "@/mnt/l", 0, -ELOOP, NULL, NULL),
	OP("realpath: link out of the union", "t/l->@/out/f out/f", REALPATH, "@/mnt/l", 0,
	   AUFS_PASS_HOST, "@/out/f", NULL),
	OP("realpath: left the union", "", REALPATH, "@/mnt/../out", 0, AUFS_PASS_HOST, "@/out",
	   NULL),
	OPC("realpath: relative", "@/mnt/d", "b/d/f", REALPATH, "f", 0, 0, "@/mnt/d/f", NULL),

	/* -------- chdir */
	OP("chdir: base dir", "b/d/", CHDIR, "@/mnt/d", 0, 0, "@/mnt/d", "@/b/d"),
	OP("chdir: merged dir", "t/d/ b/d/", CHDIR, "@/mnt/d", 0, 0, "@/mnt/d", "@/t/d"),
	OP("chdir: mount point", "", CHDIR, "@/mnt", 0, 0, "@/mnt", "@/t"),
	OP("chdir: through a link", "t/l->d b/d/", CHDIR, "@/mnt/l", 0, 0, "@/mnt/d", "@/b/d"),
	OP("chdir: a file", "b/f", CHDIR, "@/mnt/f", 0, -ENOTDIR, NULL, NULL),
	OP("chdir: missing", "", CHDIR, "@/mnt/d", 0, -ENOENT, NULL, NULL),
	OP("chdir: whited out", "t/.wh.d b/d/", CHDIR, "@/mnt/d", 0, -ENOENT, NULL, NULL),
	OP("chdir: dotdot at the mount point", "", CHDIR, "@/mnt/..", 0, 0, "@", "@"),
	OPC("chdir: relative", "@/mnt", "b/d/", CHDIR, "d", 0, 0, "@/mnt/d", "@/b/d"),
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* What every resolved location must satisfy, whatever the case. */
static void check_loc_invariants(const char *what, const struct aufs_loc *loc)
{
	const struct aufs_union *u = loc->u;

	if (!u)
		return;
	ck_assert_msg(!strncmp(loc->virt, u->mnt, u->mnt_len), "%s: virt %s not under %s", what,
		      loc->virt, u->mnt);
	if (loc->virt[u->mnt_len] == 0) {
		ck_assert_msg(loc->virt[loc->rel] == 0, "%s: rel of the root is not empty", what);
	} else {
		ck_assert_msg(loc->virt[u->mnt_len] == '/', "%s: virt %s", what, loc->virt);
		ck_assert_str_eq(loc->virt + loc->rel, loc->virt + u->mnt_len + 1);
	}
	if (loc->branch >= 0) {
		ck_assert_int_lt(loc->branch, u->nbranch);
		ck_assert_msg(!strncmp(loc->real, u->branch[loc->branch].path,
				       u->branch[loc->branch].len),
			      "%s: real %s not in branch %d", what, loc->real, loc->branch);
	} else {
		ck_assert_uint_eq(loc->type, DT_UNKNOWN);
		ck_assert_int_ge(loc->parent_branch, 0);
		ck_assert_int_lt(loc->parent_branch, u->nbranch);
	}
}

static void run_resolve(const struct lcase *c, const char *pass)
{
	struct aufs_loc loc;
	const char *path = ex(c->path);
	int r;

	int want = c->branch == OUT && c->ret == 0 ? AUFS_PASS_HOST : c->ret;

	memset(&loc, 0x5a, sizeof(loc));
	r = aufs_resolve(AT_FDCWD, path, c->flags, &loc);
	ck_assert_msg(r == want, "%s (%s): aufs_resolve(\"%s\") = %s, expected %s", c->name, pass,
		      path, resolve_name(r), resolve_name(want));
	if (r != 0 && r != AUFS_PASS_HOST)
		return;
	if (c->branch == OUT) {
		ck_assert_msg(loc.u == NULL, "%s (%s): still in the union: %s", c->name, pass,
			      loc.virt);
		ck_assert_str_eq(loc.real, ex(c->real));
		return;
	}
	ck_assert_msg(loc.u == cfg.unions[c->un], "%s (%s): in union %s, expected %s", c->name,
		      pass, loc.u ? loc.u->mnt : "(none)", cfg.unions[c->un]->mnt);
	ck_assert_msg(loc.branch == c->branch && loc.type == c->type,
		      "%s (%s): branch %d type %u, expected branch %d type %u (real %s)", c->name,
		      pass, loc.branch, loc.type, c->branch, c->type, loc.real);
	ck_assert_msg(!strcmp(loc.virt, ex(c->virt)), "%s (%s): virt %s, expected %s", c->name,
		      pass, loc.virt, ex(c->virt));
	ck_assert_msg(!strcmp(loc.real, ex(c->real)), "%s (%s): real %s, expected %s", c->name,
		      pass, loc.real, ex(c->real));
	ck_assert_msg((loc.flags & c->lflags) == c->lflags, "%s (%s): flags %#x lack %#x", c->name,
		      pass, loc.flags, c->lflags);
	check_loc_invariants(c->name, &loc);
}

static void run_stat(const struct lcase *c, const char *pass)
{
	struct stat st;
	const char *path = ex(c->path);
	int r = aufs_fstatat(AT_FDCWD, path, &st, (int)c->flags);

	ck_assert_msg(r == c->ret, "%s (%s): aufs_fstatat(\"%s\") = %s, expected %s", c->name, pass,
		      path, resolve_name(r), resolve_name(c->ret));
	if (r == 0 && c->real)
		same_object(c->name, &st, ex(c->real));
}

static void run_readlink(const struct lcase *c, const char *pass)
{
	char buf[PATH_MAX];
	const char *path = ex(c->path);
	ssize_t n = aufs_readlinkat(AT_FDCWD, path, buf, sizeof(buf));

	if (c->ret == AUFS_PASS) {
		ck_assert_msg(n == AUFS_PASS, "%s (%s): not passed (%zd)", c->name, pass, n);
		return;
	}
	ck_assert_msg(n != AUFS_PASS, "%s (%s): passed", c->name, pass);
	if (c->ret < 0) {
		ck_assert_msg(n == c->ret, "%s (%s): aufs_readlinkat(\"%s\") = %zd, expected %s",
			      c->name, pass, path, n, resolve_name(c->ret));
		return;
	}
	ck_assert_msg(n == (ssize_t)strlen(c->virt), "%s (%s): length %zd", c->name, pass, n);
	ck_assert_msg(!memcmp(buf, c->virt, (size_t)n), "%s (%s): \"%.*s\"", c->name, pass, (int)n,
		      buf);
}

static void run_open(const struct lcase *c, const char *pass)
{
	char buf[PATH_MAX];
	const char *path = ex(c->path);
	struct stat st;
	int fd = aufs_openat(AT_FDCWD, path, (int)c->flags | O_CLOEXEC, 0644);

	if (c->ret == AUFS_PASS) {
		ck_assert_msg(fd == AUFS_PASS, "%s (%s): not passed (%d)", c->name, pass, fd);
		return;
	}
	ck_assert_msg(fd != AUFS_PASS, "%s (%s): passed", c->name, pass);
	if (c->ret < 0) {
		if (fd >= 0)
			close(fd);
		ck_assert_msg(fd == c->ret, "%s (%s): aufs_openat(\"%s\") = %s, expected %s",
			      c->name, pass, path, resolve_name(fd), resolve_name(c->ret));
		return;
	}
	ck_assert_msg(fd >= 0, "%s (%s): aufs_openat(\"%s\") = %s", c->name, pass, path,
		      resolve_name(fd));
	ck_assert_int_eq(fstat(fd, &st), 0);
	if (c->real)	/* the kernel's fstat of the real file */
		same_object_as(c->name, &st, ex(c->real), false);
	if (S_ISDIR(st.st_mode)) {
		int n = aufs_fd_get(fd, buf, sizeof(buf));

		ck_assert_msg(n >= 0 && !strcmp(buf, ex(c->virt)),
			      "%s (%s): fd table says %s, expected %s", c->name, pass,
			      n >= 0 ? buf : "nothing", ex(c->virt));
		aufs_fd_set(fd, NULL);
	} else if (c->virt && (c->flags & O_ACCMODE) == O_RDONLY) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		ck_assert_int_ge(n, 0);
		buf[n] = 0;
		ck_assert_msg(!strcmp(buf, c->virt), "%s (%s): content \"%s\", expected \"%s\"",
			      c->name, pass, buf, c->virt);
	}
	close(fd);
}

static void run_realpath(const struct lcase *c, const char *pass)
{
	char buf[PATH_MAX];
	const char *path = ex(c->path);
	int r;

	strcpy(buf, "(untouched)");
	r = aufs_realpath(path, buf);
	ck_assert_msg(r == c->ret, "%s (%s): aufs_realpath(\"%s\") = %s, expected %s", c->name,
		      pass, path, resolve_name(r), resolve_name(c->ret));
	if (c->virt)
		ck_assert_msg(!strcmp(buf, ex(c->virt)), "%s (%s): \"%s\", expected \"%s\"",
			      c->name, pass, buf, ex(c->virt));
}

static void run_chdir(const struct lcase *c, const char *pass)
{
	char buf[PATH_MAX], kernel[PATH_MAX];
	const char *path = ex(c->path);
	int r = aufs_chdir(path, true);

	ck_assert_msg(r == c->ret, "%s (%s): aufs_chdir(\"%s\") = %s, expected %s", c->name, pass,
		      path, resolve_name(r), resolve_name(c->ret));
	if (r != 0)
		return;
	ck_assert_int_ge(aufs_cwd_get(buf, sizeof(buf)), 0);
	ck_assert_msg(!strcmp(buf, ex(c->virt)), "%s (%s): virtual cwd %s, expected %s", c->name,
		      pass, buf, ex(c->virt));
	ck_assert_ptr_nonnull(getcwd(kernel, sizeof(kernel)));
	ck_assert_msg(!strcmp(kernel, ex(c->real)), "%s (%s): kernel cwd %s, expected %s",
		      c->name, pass, kernel, ex(c->real));
}

static void run_case(const struct lcase *c, const char *pass)
{
	/* chdir moves the virtual cwd: every pass starts from the case's own */
	aufs_cwd_set(ex(c->cwd));
	switch (c->op) {
	case RESOLVE:
		run_resolve(c, pass);
		break;
	case STAT:
		run_stat(c, pass);
		break;
	case ACCESS: {
		int r = aufs_faccessat(AT_FDCWD, ex(c->path), (int)c->flags, 0);

		ck_assert_msg(r == c->ret, "%s (%s): aufs_faccessat(\"%s\") = %s, expected %s",
			      c->name, pass, ex(c->path), resolve_name(r), resolve_name(c->ret));
		break;
	}
	case READLINK:
		run_readlink(c, pass);
		break;
	case OPEN:
		run_open(c, pass);
		break;
	case REALPATH:
		run_realpath(c, pass);
		break;
	case CHDIR:
		run_chdir(c, pass);
		break;
	}
}

/*
 * One row: the first (probing) call, the same call answered from the cache, and
 * once more after the cache was flushed. Rows that create something run once.
 */
START_TEST(test_case)
{
	const struct lcase *c = &cases[_i];

	build(c->layout);
	add_union(c->opts ? c->opts : OPTS2, c->mnt ? c->mnt : MNT);
	if (c->opts2)
		add_union(c->opts2, c->mnt2);
	aufs_state_publish(&cfg);
	run_case(c, "first");
	if (c->op == OPEN && (c->flags & O_CREAT))
		return;
	run_case(c, "cached");
	aufs_lookup_flush();
	run_case(c, "flushed");
}
END_TEST

/*
 * Outside the unions ".." is the kernel's: after a symlink it is taken in the
 * link's target, after a missing name or a file it is an error. A path that the
 * kernel resolves outside every union must not land in one (research P16). Either
 * answer is right: AUFS_PASS, or a host path, or the kernel's error.
 */
static void expect_kernel_outside(const char *cwd, const char *tmpl, int kernel_err,
				  const char *host)
{
	struct aufs_loc loc;
	int r;

	aufs_cwd_set(ex(cwd));
	r = aufs_resolve(AT_FDCWD, ex(tmpl), 0, &loc);
	if (r == AUFS_PASS || (kernel_err && r == kernel_err))
		return;
	ck_assert_msg(r == AUFS_PASS_HOST && !loc.u && host && !strcmp(loc.real, ex(host)),
		      "%s: aufs_resolve = %s, %s %s; the kernel says %s", ex(tmpl), resolve_name(r),
		      r == 0 && loc.u ? "in the union at" : "host path",
		      r == 0 ? loc.real : "-",
		      kernel_err ? resolve_name(kernel_err) : ex(host));
}

START_TEST(test_outside_dotdot_is_physical)
{
	start("out/deep/ s->@/out/deep out/file b/f", NULL, NULL);
	expect_kernel_outside(NULL, "@/out/nx/../../mnt/f", -ENOENT, NULL);
	expect_kernel_outside(NULL, "@/out/file/../../mnt/f", -ENOTDIR, NULL);
	expect_kernel_outside(NULL, "@/s/../mnt/f", 0, "@/out/mnt/f");
	expect_kernel_outside("@", "s/../mnt/f", 0, "@/out/mnt/f");
}
END_TEST

/* ---------------------------------------------------------------- the cache */

static struct aufs_loc *resolve_ok(const char *tmpl, unsigned flags)
{
	static struct aufs_loc loc;
	int r = aufs_resolve(AT_FDCWD, ex(tmpl), flags, &loc);

	ck_assert_msg(r == 0, "aufs_resolve(\"%s\") = %s", ex(tmpl), resolve_name(r));
	ck_assert_ptr_nonnull(loc.u);
	return &loc;
}

static int stat_of(const char *tmpl, struct stat *st)
{
	return aufs_fstatat(AT_FDCWD, ex(tmpl), st, 0);
}

/* The second lookup comes from the cache, gives the same answer, and says so. */
START_TEST(test_cache_hit)
{
	struct aufs_loc first, *loc;

	start("t/d/ b/d/f", NULL, NULL);
	first = *resolve_ok("@/mnt/d/f", 0);
	ck_assert_int_eq(first.branch, 1);
	ck_assert(!(first.flags & AUFS_LOC_CACHED));
	ck_assert(first.flags & AUFS_LOC_HAVE_STAT);
	same_object_as("probe stat", &first.st, at("b/d/f"), false);	/* the lookup's lstat */
	loc = resolve_ok("@/mnt/d/f", 0);
	ck_assert(loc->flags & AUFS_LOC_CACHED);
	ck_assert_int_eq(loc->branch, first.branch);
	ck_assert_uint_eq(loc->type, first.type);
	ck_assert_str_eq(loc->real, first.real);
	ck_assert_str_eq(loc->virt, first.virt);
	aufs_lookup_flush();
	loc = resolve_ok("@/mnt/d/f", 0);
	ck_assert(!(loc->flags & AUFS_LOC_CACHED));
	ck_assert_str_eq(loc->real, first.real);
}
END_TEST

/* aufs_loc_stale() is only true of what the cache said. */
START_TEST(test_loc_stale)
{
	struct aufs_loc loc;

	start("b/f", NULL, NULL);
	loc = *resolve_ok("@/mnt/f", 0);
	ck_assert(!aufs_loc_stale(&loc));
	loc = *resolve_ok("@/mnt/f", 0);
	ck_assert(loc.flags & AUFS_LOC_CACHED);
	ck_assert(aufs_loc_stale(&loc));
	loc = *resolve_ok("@/mnt/f", 0);
	ck_assert(!(loc.flags & AUFS_LOC_CACHED));
}
END_TEST

/* reval: a cached base file deleted directly is gone at the very next stat. */
START_TEST(test_reval_deleted_base_file)
{
	struct stat st;

	start("t/d/ b/d/f", NULL, NULL);
	ck_assert_int_eq(stat_of("@/mnt/d/f", &st), 0);
	ck_assert_int_eq(stat_of("@/mnt/d/f", &st), 0);
	ck_assert(resolve_ok("@/mnt/d/f", 0)->flags & AUFS_LOC_CACHED);
	ck_assert_int_eq(unlink(at("b/d/f")), 0);
	ck_assert_int_eq(stat_of("@/mnt/d/f", &st), -ENOENT);
	ck_assert_int_eq(aufs_faccessat(AT_FDCWD, ex("@/mnt/d/f"), F_OK, 0), -ENOENT);
	ck_assert_int_eq(resolve_ok("@/mnt/d/f", 0)->branch, -1);
}
END_TEST

/* reval: a cached top copy deleted directly uncovers the base copy. */
START_TEST(test_reval_deleted_top_file)
{
	struct stat st;

	start("t/f b/f", NULL, NULL);
	ck_assert_int_eq(stat_of("@/mnt/f", &st), 0);
	same_object("before", &st, at("t/f"));
	ck_assert_int_eq(unlink(at("t/f")), 0);
	ck_assert_int_eq(stat_of("@/mnt/f", &st), 0);
	same_object("after", &st, at("b/f"));
}
END_TEST

/* reval through the other operations: each one re-tests a cached answer. */
START_TEST(test_reval_other_ops)
{
	char buf[64];
	int fd;

	start("t/f b/f t/l->f b/l->x", NULL, NULL);
	fd = aufs_openat(AT_FDCWD, ex("@/mnt/f"), O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(aufs_readlinkat(AT_FDCWD, ex("@/mnt/l"), buf, sizeof(buf)), 1);
	ck_assert_int_eq(unlink(at("t/f")), 0);
	ck_assert_int_eq(unlink(at("t/l")), 0);
	fd = aufs_openat(AT_FDCWD, ex("@/mnt/f"), O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 3);
	ck_assert(!memcmp(buf, "b/f", 3));
	close(fd);
	ck_assert_int_eq(aufs_readlinkat(AT_FDCWD, ex("@/mnt/l"), buf, sizeof(buf)), 1);
	ck_assert_int_eq(buf[0], 'x');
}
END_TEST

/*
 * reval: a cached symlink deleted directly from the top uncovers the base's
 * object of that name (the readlink of the cached link is the re-test).
 */
START_TEST(test_reval_deleted_top_symlink)
{
	struct stat st;
	int r;

	start("t/l->f b/f b/l", NULL, NULL);
	ck_assert_int_eq(stat_of("@/mnt/l", &st), 0);
	same_object("before", &st, at("b/f"));
	ck_assert_int_eq(unlink(at("t/l")), 0);
	r = stat_of("@/mnt/l", &st);
	ck_assert_msg(r == 0, "the cached top link was removed, the base file l is there: "
		      "stat gives %s", resolve_name(r));
	same_object("after", &st, at("b/l"));
}
END_TEST

/*
 * reval: a cached top file that hid a base directory, deleted directly: the
 * directory's children are reachable again (ENOTDIR built on a cached positive
 * is a miss like any other, re-probed before it is believed).
 */
START_TEST(test_reval_deleted_file_over_dir)
{
	struct stat st;
	int r;

	start("t/f b/f/x", NULL, NULL);
	ck_assert_int_eq(stat_of("@/mnt/f/x", &st), -ENOTDIR);
	ck_assert_int_eq(stat_of("@/mnt/f", &st), 0);
	same_object("before", &st, at("t/f"));
	ck_assert_int_eq(unlink(at("t/f")), 0);
	r = stat_of("@/mnt/f/x", &st);
	ck_assert_msg(r == 0, "the cached top file f was removed, the base dir f has x: "
		      "stat f/x gives %s", resolve_name(r));
	same_object("after", &st, at("b/f/x"));
}
END_TEST

/* reval: a cached directory removed directly takes its children with it. */
START_TEST(test_reval_deleted_dir)
{
	struct stat st;

	start("b/d/f", NULL, NULL);
	ck_assert_int_eq(stat_of("@/mnt/d/f", &st), 0);
	ck_assert_int_eq(stat_of("@/mnt/d", &st), 0);
	ck_assert_int_eq(unlink(at("b/d/f")), 0);
	ck_assert_int_eq(rmdir(at("b/d")), 0);
	ck_assert_int_eq(stat_of("@/mnt/d/f", &st), -ENOENT);
	ck_assert_int_eq(stat_of("@/mnt/d", &st), -ENOENT);
	ck_assert_int_eq(aufs_chdir(ex("@/mnt/d"), true), -ENOENT);
}
END_TEST

/* A name never looked up is found at its first lookup, under a cached directory. */
START_TEST(test_new_name_under_cached_dir)
{
	struct aufs_loc *loc;

	start("t/d/ b/d/f", NULL, NULL);
	ck_assert_int_eq(resolve_ok("@/mnt/d/f", 0)->branch, 1);
	ck_assert(resolve_ok("@/mnt/d", 0)->flags & AUFS_LOC_CACHED);
	put_file("t/d/new", "new");
	put_file("b/d/low", "low");
	loc = resolve_ok("@/mnt/d/new", 0);
	ck_assert_int_eq(loc->branch, 0);
	ck_assert_str_eq(loc->real, at("t/d/new"));
	loc = resolve_ok("@/mnt/d/low", 0);
	ck_assert_int_eq(loc->branch, 1);
}
END_TEST

/* A cached base-only directory that appears in the top too: a new name in it is found. */
START_TEST(test_new_top_copy_of_cached_dir)
{
	struct aufs_loc *loc;

	start("b/d/f", NULL, NULL);
	ck_assert_int_eq(resolve_ok("@/mnt/d/f", 0)->branch, 1);
	ck_assert_int_eq(resolve_ok("@/mnt/d", 0)->branch, 1);
	put_file("t/d/new", "new");
	loc = resolve_ok("@/mnt/d/new", 0);
	ck_assert_int_eq(loc->branch, 0);
	ck_assert_str_eq(loc->real, at("t/d/new"));
	/* and a whole new directory below a cached one */
	put_file("b/d/e/g", "g");
	loc = resolve_ok("@/mnt/d/e/g", 0);
	ck_assert_int_eq(loc->branch, 1);
}
END_TEST

/*
 * udba=reval: a name cached as missing stays missing for this process (the
 * manual: a negative is not tested) until a flush or a change through the union.
 */
START_TEST(test_cached_negative)
{
	struct aufs_union *u;
	struct stat st;

	u = start("t/d/", NULL, NULL);
	ck_assert_int_eq(stat_of("@/mnt/d/n", &st), -ENOENT);
	put_file("t/d/n", "n");
	ck_assert_int_eq(stat_of("@/mnt/d/n", &st), -ENOENT);
	aufs_lookup_flush();
	ck_assert_int_eq(stat_of("@/mnt/d/n", &st), 0);
	/* a change through the union (or one another process reports) is seen at once */
	ck_assert_int_eq(stat_of("@/mnt/d/m", &st), -ENOENT);
	put_file("t/d/m", "m");
	aufs_dir_changed(u, "d", 1);
	ck_assert_int_eq(stat_of("@/mnt/d/m", &st), 0);
	same_object("m", &st, at("t/d/m"));
}
END_TEST

/*
 * negttl=/posttl=: how long a cached lookup is trusted, on a clock the test moves
 * (the library reads CLOCK_MONOTONIC_COARSE). A direct change under a name cached
 * missing is seen once the bound has passed, not a tick before.
 */
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void clock_start(void)
{
	fake_now = 1000000000000ull;
	lookup_set_clock(fake_clock);
}

static void clock_advance_ms(uint64_t ms)
{
	fake_now += ms * 1000000ull;
}

START_TEST(test_negttl_expiry)
{
	struct stat st;

	clock_start();
	start("t/d/ b/d/ b/d/keep", "br:@/t=rw:@/b=ro,negttl=500", NULL);
	/* a file dropped in the tenant's branch, one in the base, one in a new directory */
	ck_assert_int_eq(stat_of("@/mnt/d/up", &st), -ENOENT);
	ck_assert_int_eq(stat_of("@/mnt/d/.maintenance", &st), -ENOENT);
	ck_assert_int_eq(stat_of("@/mnt/d/new/f", &st), -ENOENT);
	put_file("t/d/up", "up");
	put_file("b/d/.maintenance", "m");
	mkdirs("b/d/new");
	put_file("b/d/new/f", "f");
	clock_advance_ms(499);
	ck_assert_int_eq(stat_of("@/mnt/d/up", &st), -ENOENT);
	ck_assert_int_eq(stat_of("@/mnt/d/.maintenance", &st), -ENOENT);
	ck_assert_int_eq(stat_of("@/mnt/d/new/f", &st), -ENOENT);
	ck_assert(resolve_ok("@/mnt/d/up", 0)->flags & AUFS_LOC_CACHED);
	clock_advance_ms(1);
	ck_assert_int_eq(stat_of("@/mnt/d/up", &st), 0);
	same_object("up", &st, at("t/d/up"));
	ck_assert_int_eq(stat_of("@/mnt/d/.maintenance", &st), 0);
	same_object(".maintenance", &st, at("b/d/.maintenance"));
	ck_assert_int_eq(stat_of("@/mnt/d/new/f", &st), 0);
	same_object("new/f", &st, at("b/d/new/f"));
	/* a name found is trusted without a bound (posttl=never, the default) */
	ck_assert_int_eq(stat_of("@/mnt/d/keep", &st), 0);
	put_file("t/d/.wh.keep", "");
	clock_advance_ms(100000000);
	ck_assert_int_eq(stat_of("@/mnt/d/keep", &st), 0);
	lookup_set_clock(NULL);
}
END_TEST

/* negttl=0: a miss is never trusted, each lookup probes; never: trusted for good. */
START_TEST(test_negttl_zero_and_never)
{
	struct stat st;

	clock_start();
	start("t/d/ b/d/ t2/ b2/", "br:@/t=rw:@/b=ro,negttl=0", NULL);
	add_union("br:@/t2=rw:@/b2=ro,negttl=never", "@/mnt2");
	aufs_state_publish(&cfg);
	ck_assert_int_eq(stat_of("@/mnt/d/n", &st), -ENOENT);
	ck_assert_int_eq(stat_of("@/mnt/d/n", &st), -ENOENT);
	ck_assert(!(resolve_ok("@/mnt/d/n", 0)->flags & AUFS_LOC_CACHED));
	put_file("b/d/n", "n");
	ck_assert_int_eq(stat_of("@/mnt/d/n", &st), 0);
	same_object("n", &st, at("b/d/n"));

	ck_assert_int_eq(stat_of("@/mnt2/n", &st), -ENOENT);
	put_file("b2/n", "n");
	clock_advance_ms(4000000000ull);
	ck_assert_int_eq(stat_of("@/mnt2/n", &st), -ENOENT);
	aufs_lookup_flush();	/* what aufsctl reval makes every process do */
	ck_assert_int_eq(stat_of("@/mnt2/n", &st), 0);
	lookup_set_clock(NULL);
}
END_TEST

/*
 * posttl=: a name found is looked up again after the bound, so that a whiteout or
 * a copy-up made above it by another host (no shared state) is seen.
 */
START_TEST(test_posttl_expiry)
{
	struct stat st;

	clock_start();
	start("t/d/ b/d/gone b/d/changed", "br:@/t=rw:@/b=ro,posttl=2000,negttl=never", NULL);
	ck_assert_int_eq(stat_of("@/mnt/d/gone", &st), 0);
	ck_assert_int_eq(stat_of("@/mnt/d/changed", &st), 0);
	ck_assert_int_eq(stat_of("@/mnt/d/missing", &st), -ENOENT);
	put_file("t/d/.wh.gone", "");
	put_file("t/d/changed", "copied up");
	put_file("t/d/missing", "m");
	clock_advance_ms(1999);
	ck_assert_int_eq(stat_of("@/mnt/d/gone", &st), 0);
	ck_assert_int_eq(stat_of("@/mnt/d/changed", &st), 0);
	same_object("changed", &st, at("b/d/changed"));
	clock_advance_ms(1);
	ck_assert_int_eq(stat_of("@/mnt/d/gone", &st), -ENOENT);
	ck_assert_int_eq(stat_of("@/mnt/d/changed", &st), 0);
	same_object("changed", &st, at("t/d/changed"));
	/* a miss has its own bound */
	ck_assert_int_eq(stat_of("@/mnt/d/missing", &st), -ENOENT);
	lookup_set_clock(NULL);
}
END_TEST

/* The options: parsed, written back only when not the default, refused when bad. */
START_TEST(test_ttl_options)
{
	static const struct {
		const char *opts;
		unsigned negttl, posttl;
		const char *written;	/* in aufs_union_format()'s line; NULL: neither */
	} ttl_cases[] = {
		{ "br:@/t=rw:@/b=ro", 1000, AUFS_TTL_NEVER, NULL },
		{ "br:@/t=rw:@/b=ro,negttl=never,posttl=0", AUFS_TTL_NEVER, 0,
		  ",negttl=never,posttl=0 " },
		{ "br:@/t=rw:@/b=ro,negttl=250,posttl=3000,negttl=1000", 1000, 3000,
		  ",posttl=3000 " },
		{ "br:@/t=rw:@/b=ro,negttl=0,posttl=never", 0, AUFS_TTL_NEVER, ",negttl=0 " },
		/* udba=none trusts a miss for good unless negttl= says, in either order */
		{ "br:@/t=rw:@/b=ro,udba=none", AUFS_TTL_NEVER, AUFS_TTL_NEVER, NULL },
		{ "br:@/t=rw:@/b=ro,negttl=1000,udba=none", 1000, AUFS_TTL_NEVER,
		  ",negttl=1000 " },
		{ "br:@/t=rw:@/b=ro,udba=none,udba=reval", 1000, AUFS_TTL_NEVER, NULL },
	};
	struct aufs_union *u = NULL;
	struct aufs_err err;
	char line[PATH_MAX * 2];

	for (size_t i = 0; i < sizeof(ttl_cases) / sizeof(ttl_cases[0]); i++) {
		ck_assert_int_eq(aufs_union_parse(ex(ttl_cases[i].opts), ex("@/mnt"), &u, &err), 0);
		ck_assert_uint_eq(u->opts.negttl, ttl_cases[i].negttl);
		ck_assert_uint_eq(u->opts.posttl, ttl_cases[i].posttl);
		ck_assert_int_gt(aufs_union_format(u, line, sizeof(line)), 0);
		if (ttl_cases[i].written)
			ck_assert_msg(strstr(line, ttl_cases[i].written), "%s", line);
		else
			ck_assert_msg(!strstr(line, "ttl"), "%s", line);
		aufs_union_free(u);
		u = NULL;
	}
	ck_assert_int_eq(aufs_union_parse(ex("br:@/t=rw,negttl=1s"), ex("@/mnt"), &u, &err),
			 -EINVAL);
	ck_assert_str_eq(err.msg, "\"negttl=1s\": the value is milliseconds or \"never\"");
	ck_assert_int_eq(aufs_union_parse(ex("br:@/t=rw,posttl=-1"), ex("@/mnt"), &u, &err),
			 -EINVAL);
	ck_assert_int_eq(aufs_union_parse(ex("br:@/t=rw,negttl"), ex("@/mnt"), &u, &err),
			 -EINVAL);
	ck_assert_str_eq(err.msg, "option \"negttl\" needs a value (negttl=...)");
}
END_TEST

/* A file created through the union is seen by the lookup that cached it missing. */
START_TEST(test_create_through_union)
{
	struct aufs_loc *loc;
	int fd;

	start("t/d/ t/d/.wh.n b/d/n", NULL, NULL);
	ck_assert_int_eq(resolve_ok("@/mnt/d/n", 0)->branch, -1);
	ck_assert_int_eq(resolve_ok("@/mnt/d/n", 0)->branch, -1);
	fd = aufs_openat(AT_FDCWD, ex("@/mnt/d/n"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	loc = resolve_ok("@/mnt/d/n", 0);
	ck_assert_int_eq(loc->branch, 0);
	ck_assert_str_eq(loc->real, at("t/d/n"));
	/* the whiteout went with it, and the base copy was never touched */
	ck_assert_int_eq(access(at("t/d/.wh.n"), F_OK), -1);
	ck_assert_int_eq(access(at("b/d/n"), F_OK), 0);
}
END_TEST

/* The per-thread caches: a change made through the union by one thread is seen by another. */
struct peer {
	int branch[3];
	int go[2], done[2];
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	struct aufs_loc loc;
	char c;

	for (int i = 0; i < 3; i++) {
		if (i == 2 && read(p->go[0], &c, 1) != 1)
			return NULL;
		p->branch[i] = aufs_resolve(AT_FDCWD, ex("@/mnt/d/n"), 0, &loc) == 0 ?
			       loc.branch : -100;
		if (i == 1 && write(p->done[1], "x", 1) != 1)
			return NULL;
	}
	return NULL;
}

static void change_seen_by_other_thread(const char *layout)
{
	struct peer p;
	pthread_t th;
	char c;
	int fd;

	start(layout, NULL, NULL);
	ck_assert_int_eq(pipe(p.go), 0);
	ck_assert_int_eq(pipe(p.done), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, peer_main, &p), 0);
	ck_assert_int_eq(read(p.done[0], &c, 1), 1);
	fd = aufs_openat(AT_FDCWD, ex("@/mnt/d/n"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(write(p.go[1], "x", 1), 1);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(p.branch[0], -1);
	ck_assert_int_eq(p.branch[1], -1);
	ck_assert_int_eq(p.branch[2], 0);
}

/*
 * udba=none: a thread whose cache is empty (as a brand-new process's is) finds
 * what another thread probed in the union's shared lookup cache, without one
 * system call (every raw call would fail here); under udba=reval it probes.
 */
struct fresh {
	const char *path;
	int r, branch;
};

static void *fresh_main(void *arg)
{
	struct fresh *f = arg;
	struct aufs_loc loc;

	f->r = aufs_resolve(AT_FDCWD, f->path, 0, &loc);
	f->branch = f->r == 0 ? loc.branch : -100;
	return NULL;
}

/* PATH resolved by a new thread; with NO_CALLS every raw call it makes fails (EIO). */
static struct fresh in_fresh_thread(const char *tmpl, bool no_calls, unsigned long *fired)
{
	char path[PATH_MAX];
	struct fresh f = { .path = path };
	pthread_t th;

	fmt(path, sizeof(path), "%s", ex(tmpl));
	if (no_calls)
		aufs_fault_set_persist(AUFS_FAULT_ANY, 1, EIO);
	ck_assert_int_eq(pthread_create(&th, NULL, fresh_main, &f), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	if (fired)
		*fired = aufs_fault_fired();
	aufs_fault_clear();
	return f;
}

static void warm_deep(const char *opts)
{
	start("t/ b/a/b/c/d/e/f", opts, NULL);
	ck_assert_int_eq(resolve_ok("@/mnt/a/b/c/d/e/f", 0)->branch, 1);
	ck_assert_int_eq(resolve_ok("@/mnt/a/b/c/d/e/nothere", 0)->branch, -1);
}

START_TEST(test_shared_cache_none)
{
	unsigned long fired;
	struct fresh f;
	int fd;

	warm_deep("br:@/t=rw:@/b=ro,udba=none");
	f = in_fresh_thread("@/mnt/a/b/c/d/e/f", true, &fired);
	ck_assert_int_eq(f.r, 0);
	ck_assert_int_eq(f.branch, 1);
	ck_assert_uint_eq(fired, 0);
	f = in_fresh_thread("@/mnt/a/b/c/d/e/nothere", true, &fired);
	ck_assert_int_eq(f.r, 0);
	ck_assert_int_eq(f.branch, -1);
	ck_assert_uint_eq(fired, 0);
	/* a change through the union: the shared miss is stale for every thread */
	fd = aufs_openat(AT_FDCWD, ex("@/mnt/a/b/c/d/e/nothere"), O_WRONLY | O_CREAT | O_EXCL,
			 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	f = in_fresh_thread("@/mnt/a/b/c/d/e/nothere", false, NULL);
	ck_assert_int_eq(f.r, 0);
	ck_assert_int_eq(f.branch, 0);
	/* a direct change under a cached miss: not seen until a reval (the global generation) */
	ck_assert_int_eq(resolve_ok("@/mnt/a/b/c/d/e/h", 0)->branch, -1);
	put_file("b/a/b/c/d/e/h", "h");
	ck_assert_int_eq(in_fresh_thread("@/mnt/a/b/c/d/e/h", false, NULL).branch, -1);
	ck_assert_int_eq(in_fresh_thread("@/mnt/a/b/c/d/e/h", false, NULL).branch, -1);
	aufs_union_changed(cfg.unions[0]);
	ck_assert_int_eq(in_fresh_thread("@/mnt/a/b/c/d/e/h", false, NULL).branch, 1);
}
END_TEST

START_TEST(test_shared_cache_only_for_none)
{
	unsigned long fired;
	struct fresh f;

	warm_deep("br:@/t=rw:@/b=ro");
	f = in_fresh_thread("@/mnt/a/b/c/d/e/f", true, &fired);
	ck_assert_int_eq(f.r, -EIO);
	ck_assert_uint_gt(fired, 0);
}
END_TEST

START_TEST(test_change_seen_by_other_thread)
{
	change_seen_by_other_thread("t/d/ b/d/");
}
END_TEST

/*
 * The same when the create first copies the directory up: the other thread's
 * cached directory (base only) and its cached miss inside it are both stale.
 */
START_TEST(test_copied_up_dir_seen_by_other_thread)
{
	struct aufs_loc loc;

	change_seen_by_other_thread("t/ b/d/");
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/d"), 0, &loc), 0);
	ck_assert_int_eq(loc.branch, 0);
	ck_assert(loc.pmask == 3);
}
END_TEST

/* ... and by another process, whose cache was inherited over fork. */
START_TEST(test_change_seen_by_other_process)
{
	int go[2], status;
	pid_t pid;
	char c;
	int fd;

	start("t/d/ b/d/", NULL, NULL);
	ck_assert_int_eq(resolve_ok("@/mnt/d/n", 0)->branch, -1);
	ck_assert_int_eq(resolve_ok("@/mnt/d/n", 0)->branch, -1);
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct aufs_loc loc;

		if (read(go[0], &c, 1) != 1)
			_exit(2);
		if (aufs_resolve(AT_FDCWD, ex("@/mnt/d/n"), 0, &loc) != 0)
			_exit(3);
		_exit(loc.branch == 0 ? 0 : 1);
	}
	fd = aufs_openat(AT_FDCWD, ex("@/mnt/d/n"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the other process did not see the new name (status %#x)", status);
}
END_TEST

/* A new configuration is a new cache: nothing of the old one is believed. */
START_TEST(test_republish)
{
	struct aufs_config cfg2;
	struct aufs_union *u;
	struct aufs_err err;
	struct aufs_loc *loc;

	start("b/f w/f", NULL, NULL);
	ck_assert_int_eq(resolve_ok("@/mnt/f", 0)->branch, 1);
	ck_assert_int_eq(resolve_ok("@/mnt/f", 0)->branch, 1);
	aufs_config_init(&cfg2);
	ck_assert_int_eq(aufs_union_parse(ex("br:@/t=rw:@/w=ro"), ex(MNT), &u, &err), 0);
	ck_assert_int_eq(aufs_config_add(&cfg2, u, &err), 0);
	aufs_state_publish(&cfg2);
	loc = resolve_ok("@/mnt/f", 0);
	ck_assert_str_eq(loc->real, at("w/f"));
	aufs_state_publish(NULL);
	aufs_config_release(&cfg2);
}
END_TEST

/* The same relative name in two unions: two cache entries, never confused. */
START_TEST(test_cache_two_unions)
{
	build("b/f b2/f b/d/ t2/d/");
	add_union(OPTS2, "@/x/m1");
	add_union("br:@/t2=rw:@/b2=ro", "@/x/m2");
	aufs_state_publish(&cfg);
	for (int pass = 0; pass < 3; pass++) {
		ck_assert_str_eq(resolve_ok("@/x/m1/f", 0)->real, at("b/f"));
		ck_assert_str_eq(resolve_ok("@/x/m2/f", 0)->real, at("b2/f"));
		ck_assert_str_eq(resolve_ok("@/x/m1/d", 0)->real, at("b/d"));
		ck_assert_str_eq(resolve_ok("@/x/m2/d", 0)->real, at("t2/d"));
	}
}
END_TEST

/*
 * The whole-path cache rests on every component: a change through the union to
 * an ancestor directory (here: it became opaque in the top branch, as rm -r and
 * mkdir through another process leave it) hides a deep path cached a moment ago.
 */
START_TEST(test_whole_path_ancestor_change)
{
	struct aufs_union *u = start("t/ b/a/b/c/f", NULL, NULL);
	struct aufs_loc loc;

	for (int pass = 0; pass < 3; pass++)
		ck_assert_str_eq(resolve_ok("@/mnt/a/b/c/f", 0)->real, at("b/a/b/c/f"));
	ck_assert(resolve_ok("@/mnt/a/b/c/f", 0)->flags & AUFS_LOC_CACHED);
	mkdirs("t/a/");
	put_file("t/a/.wh..wh..opq", "");
	aufs_dir_changed(u, "", 0);	/* the root gained a copy of a */
	aufs_dir_changed(u, "a", 1);	/* and a its opaque marker */
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/a/b/c/f"), 0, &loc), -ENOENT);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/a/b/c/f"), 0, &loc), -ENOENT);
	ck_assert_int_eq(resolve_ok("@/mnt/a", 0)->branch, 0);
}
END_TEST

/* A relative clean name is remembered with its directory: a new cwd is a new name. */
START_TEST(test_whole_path_relative)
{
	struct aufs_loc loc;

	start("t/d1/ b/d1/f b/d2/f t/d2/.wh.f", NULL, NULL);
	ck_assert_int_eq(aufs_chdir(ex("@/mnt/d1"), true), 0);
	for (int pass = 0; pass < 3; pass++) {
		ck_assert_int_eq(aufs_resolve(AT_FDCWD, "f", 0, &loc), 0);
		ck_assert_str_eq(loc.real, at("b/d1/f"));
	}
	ck_assert_int_eq(aufs_chdir(ex("@/mnt/d2"), true), 0);
	for (int pass = 0; pass < 3; pass++) {
		ck_assert_int_eq(aufs_resolve(AT_FDCWD, "f", 0, &loc), 0);
		ck_assert_int_eq(loc.branch, -1);
		ck_assert_str_eq(loc.virt, ex("@/mnt/d2/f"));
	}
	/* the flags that shape the answer are part of the key */
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/d1/f"), AUFS_RESOLVE_DIRECTORY, &loc),
			 -ENOTDIR);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/d1/f"), 0, &loc), 0);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/d1/f"), AUFS_RESOLVE_DIRECTORY, &loc),
			 -ENOTDIR);
}
END_TEST

/*
 * Symlink expansions are limited as the kernel limits them: a chain of N links
 * gives the kernel's answer for the same chain outside the union.
 */
static void link_chain(const char *where, int n)
{
	char name[64], target[64];

	for (int i = 0; i < n; i++) {
		fmt(name, sizeof(name), "%s/l%d", where, i);
		if (i + 1 < n)
			fmt(target, sizeof(target), "l%d", i + 1);
		else
			fmt(target, sizeof(target), "f");
		put_link(name, target);
	}
	fmt(name, sizeof(name), "%s/f", where);
	put_file(name, "f");
}

START_TEST(test_link_chain_limit)
{
	static const int len[] = { 39, 40, 41, 45 };
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
		char w[32];

		fmt(w, sizeof(w), "t/c%d", len[i]);
		link_chain(w, len[i]);
		fmt(w, sizeof(w), "out/c%d", len[i]);
		link_chain(w, len[i]);
	}
	start(NULL, NULL, NULL);
	for (size_t i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
		int kernel, r;

		fmt(path, sizeof(path), "%s/out/c%d/l0", dir, len[i]);
		kernel = stat(path, &st) == 0 ? 0 : -errno;
		fmt(path, sizeof(path), "%s/mnt/c%d/l0", dir, len[i]);
		r = aufs_fstatat(AT_FDCWD, path, &st, 0);
		ck_assert_msg(r == kernel, "chain of %d: %s, the kernel says %s", len[i],
			      resolve_name(r), resolve_name(kernel));
	}
}
END_TEST

/* Names too long for the kernel are too long in the union too. */
START_TEST(test_name_too_long)
{
	char path[PATH_MAX + 16];
	struct aufs_loc loc;
	struct stat st;
	size_t n;

	start("b/f", NULL, NULL);
	n = (size_t)snprintf(path, sizeof(path), "%s/mnt/", dir);
	memset(path + n, 'x', NAME_MAX + 1);
	path[n + NAME_MAX + 1] = 0;
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, path, 0, &loc), -ENAMETOOLONG);
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, path, &st, 0), -ENAMETOOLONG);
	/* a whole path of PATH_MAX bytes or more is left to the kernel */
	n = (size_t)snprintf(path, sizeof(path), "%s/mnt/", dir);
	while (n < PATH_MAX + 4) {
		memcpy(path + n, "d/", 2);
		n += 2;
	}
	path[n] = 0;
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, path, 0, &loc), AUFS_PASS);
}
END_TEST

/* Enough names to make the cache grow several times: every answer stays right. */
/*
 * A full cache drops a part of its names, always the same part: pass after pass
 * over more names than fit, the others stay cached (1500 names, room for 1000:
 * half of them), and every answer is right.
 */
void lookup_set_cache_limit(uint32_t n);	/* the test hook of src/core/internal.h */

START_TEST(test_cache_eviction_keeps_a_part)
{
	char name[64], path[PATH_MAX];
	struct aufs_loc *loc;
	int cached = 0;

	for (int i = 0; i < 1500; i++) {
		fmt(name, sizeof(name), "%c/d/n%d", i % 3 ? 'b' : 't', i);
		put_file(name, name);
	}
	start(NULL, NULL, NULL);
	lookup_set_cache_limit(1000);
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < 1500; i++) {
			fmt(path, sizeof(path), "@/mnt/d/n%d", i);
			loc = resolve_ok(path, 0);
			ck_assert_int_eq(loc->branch, i % 3 ? 1 : 0);
			fmt(name, sizeof(name), "%c/d/n%d", i % 3 ? 'b' : 't', i);
			ck_assert_str_eq(loc->real, at(name));
			if (pass == 2 && (loc->flags & AUFS_LOC_CACHED))
				cached++;
		}
	}
	lookup_set_cache_limit(0);
	ck_assert_msg(cached >= 600 && cached < 1000, "%d of 1500 names cached", cached);
}
END_TEST

/*
 * A change bumps the generation bucket of the name it changes, which other names
 * share (16,384 buckets): the thread that made the changes keeps those names
 * cached all the same (state_shm.c). 400 renames beside 600 cached names, in
 * which about one in twenty shared a bucket with one of the changes before.
 */
START_TEST(test_own_changes_keep_neighbours)
{
	char name[64], path[PATH_MAX], to[PATH_MAX];
	struct aufs_loc *loc;
	int cached = 0;

	for (int i = 0; i < 1000; i++) {
		fmt(name, sizeof(name), "b/d/n%d", i);
		put_file(name, name);
	}
	start("t/d/", NULL, NULL);
	for (int i = 0; i < 1000; i++) {
		fmt(path, sizeof(path), "@/mnt/d/n%d", i);
		(void)resolve_ok(path, 0);
	}
	for (int i = 0; i < 400; i++) {
		fmt(path, sizeof(path), "@/mnt/d/n%d", i);
		fmt(to, sizeof(to), "@/mnt/d/m%d", i);
		ck_assert_int_eq(aufs_renameat2(AT_FDCWD, ex(path), AT_FDCWD, ex(to), 0), 0);
	}
	for (int i = 400; i < 1000; i++) {
		fmt(path, sizeof(path), "@/mnt/d/n%d", i);
		loc = resolve_ok(path, 0);
		cached += !!(loc->flags & AUFS_LOC_CACHED);
	}
	ck_assert_int_eq(cached, 600);
}
END_TEST

START_TEST(test_cache_grow)
{
	char name[64], path[PATH_MAX];
	struct aufs_loc *loc;

	for (int i = 0; i < 1500; i++) {
		fmt(name, sizeof(name), "%c/d/n%d", i % 3 ? 'b' : 't', i);
		put_file(name, name);
	}
	start(NULL, NULL, NULL);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 1500; i++) {
			fmt(path, sizeof(path), "@/mnt/d/n%d", i);
			loc = resolve_ok(path, 0);
			ck_assert_int_eq(loc->branch, i % 3 ? 1 : 0);
			ck_assert_uint_eq(pass ? AUFS_LOC_CACHED : 0, loc->flags & AUFS_LOC_CACHED);
			fmt(name, sizeof(name), "%c/d/n%d", i % 3 ? 'b' : 't', i);
			ck_assert_str_eq(loc->real, at(name));
		}
	}
}
END_TEST

/*
 * More than 64 branches: the high half of the branch masks. Branch N is @/bN;
 * d is merged over 66 and 69, g is whited out in 65 (ro+wh), 70 is opaque.
 */
START_TEST(test_many_branches)
{
	char opts[16384], name[64];
	struct aufs_loc *loc;
	struct stat st;
	size_t n;

	n = (size_t)snprintf(opts, sizeof(opts), "br:@/b0=rw");
	for (int b = 1; b < AUFS_BRANCH_MAX; b++) {
		fmt(name, sizeof(name), "b%d/", b);
		build(name);
		n += (size_t)snprintf(opts + n, sizeof(opts) - n, ":@/b%d=%s", b,
				      b == 65 || b == 70 ? "ro+wh" : "ro");
	}
	build("b0/ b66/d/x b69/d/y b65/.wh.g b67/g b126/h b70/e/.wh..wh..opq b71/e/z b126/e/u "
	      "b70/e/v");
	start(NULL, opts, NULL);
	ck_assert_int_eq(cfg.unions[0]->nbranch, AUFS_BRANCH_MAX);
	for (int pass = 0; pass < 2; pass++) {
		loc = resolve_ok("@/mnt/d", 0);
		ck_assert_int_eq(loc->branch, 66);
		ck_assert_str_eq(loc->real, at("b66/d"));
		ck_assert_int_eq(resolve_ok("@/mnt/d/x", 0)->branch, 66);
		ck_assert_int_eq(resolve_ok("@/mnt/d/y", 0)->branch, 69);
		ck_assert_int_eq(resolve_ok("@/mnt/g", 0)->branch, -1);
		ck_assert_int_eq(resolve_ok("@/mnt/h", 0)->branch, 126);
		ck_assert_int_eq(resolve_ok("@/mnt/e/v", 0)->branch, 70);
		ck_assert_int_eq(resolve_ok("@/mnt/e/z", 0)->branch, -1);
		ck_assert_int_eq(resolve_ok("@/mnt/e/u", 0)->branch, -1);
		ck_assert_int_eq(stat_of("@/mnt/d", &st), 0);
		ck_assert_uint_eq(st.st_nlink, 2);
	}
}
END_TEST

/* An fd on an ancestor of the mount point (opened outside) leads into the union. */
START_TEST(test_outside_dirfd)
{
	struct aufs_loc loc;
	int fd, other;

	start("b/f", NULL, "@/x/m");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	aufs_note_outside_open(fd, AT_FDCWD, dir);
	ck_assert_int_eq(aufs_resolve(fd, "x/m/f", 0, &loc), 0);
	ck_assert_str_eq(loc.real, at("b/f"));
	ck_assert_int_eq(aufs_resolve(fd, "out", 0, &loc), AUFS_PASS);
	/* an fd on a directory that leads to no union is not remembered */
	other = open(at("out"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(other, 0);
	aufs_note_outside_open(other, AT_FDCWD, at("out"));
	ck_assert(!aufs_fd_known(other));
	ck_assert_int_eq(aufs_resolve(other, "../x/m/f", 0, &loc), AUFS_PASS);
	/* and chdir to an ancestor makes relative names virtual */
	ck_assert_int_eq(chdir(at("x")), 0);
	aufs_note_outside_chdir(at("x"));
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, "m/f", 0, &loc), 0);
	ck_assert_str_eq(loc.real, at("b/f"));
	aufs_fd_set(fd, NULL);
	close(fd);
	close(other);
}
END_TEST

/* /proc/self/fd/N of a union directory fd reads back as its union path. */
START_TEST(test_readlink_proc_fd)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;
	int fd;

	start("b/d/", NULL, NULL);
	fd = aufs_openat(AT_FDCWD, ex("@/mnt/d"), O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_ge(fd, 0);
	fmt(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = aufs_readlinkat(AT_FDCWD, path, buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)strlen(ex("@/mnt/d")));
	ck_assert(!memcmp(buf, ex("@/mnt/d"), (size_t)n));
	aufs_fd_set(fd, NULL);
	close(fd);
}
END_TEST

/* Temporary names (mktemp, tempnam): free only when no branch has them at all. */
START_TEST(test_name_unused)
{
	start("t/d/ t/d/.wh.w t/d/.wh.z b/d/f b/d/w t/o/ t/o/.wh..wh..opq b/o/h", NULL, NULL);
	ck_assert_int_eq(aufs_name_unused(ex("@/mnt/d/f")), -EEXIST);	/* visible in the base */
	ck_assert_int_eq(aufs_name_unused(ex("@/mnt/d/w")), -EEXIST);	/* whited out */
	ck_assert_int_eq(aufs_name_unused(ex("@/mnt/d/z")), -EEXIST);	/* a whiteout alone */
	ck_assert_int_eq(aufs_name_unused(ex("@/mnt/o/h")), -EEXIST);	/* under an opaque dir */
	ck_assert_int_eq(aufs_name_unused(ex("@/mnt/d/new")), 0);
	ck_assert_int_eq(aufs_name_unused(ex("@/mnt/nodir/x")), 0);
	ck_assert_int_eq(aufs_name_unused(ex("@/out/x")), AUFS_PASS);
}
END_TEST

/* AF_UNIX addresses: bind goes to the rw branch, connect to the holder, back again. */
START_TEST(test_sock_names)
{
	struct aufs_sock *s = malloc(sizeof(*s));
	struct sockaddr_un in = { .sun_family = AF_UNIX }, out;
	socklen_t len, olen;

	ck_assert_ptr_nonnull(s);
	start("b/d/ b/d/f", NULL, NULL);
	fmt(in.sun_path, sizeof(in.sun_path), "%s", ex("@/mnt/d/s"));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(in.sun_path) + 1);
	ck_assert_int_eq(aufs_sock_prepare((struct sockaddr *)&in, len, true, s), 0);
	ck_assert_str_eq(s->sun.sun_path, at("t/d/s"));
	ck_assert_int_eq(s->t, 0);
	ck_assert_int_eq(s->dirfd, -1);
	aufs_sock_done(s, -1, false);
	/* connect: a missing name, then an existing one in the base */
	ck_assert_int_eq(aufs_sock_prepare((struct sockaddr *)&in, len, false, s), -ENOENT);
	fmt(in.sun_path, sizeof(in.sun_path), "%s", ex("@/mnt/d/f"));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(in.sun_path) + 1);
	ck_assert_int_eq(aufs_sock_prepare((struct sockaddr *)&in, len, true, s), -EADDRINUSE);
	ck_assert_int_eq(aufs_sock_prepare((struct sockaddr *)&in, len, false, s), 0);
	ck_assert_str_eq(s->sun.sun_path, at("b/d/f"));
	aufs_sock_done(s, -1, true);
	/* and back: a branch path gets its union name; abstract and outside names do not */
	ck_assert_int_eq(aufs_sock_unname(-1, (struct sockaddr *)&s->sun, s->len, &out, &olen), 0);
	ck_assert_str_eq(out.sun_path, ex("@/mnt/d/f"));
	ck_assert_uint_eq(olen, len);
	fmt(in.sun_path, sizeof(in.sun_path), "%s", ex("@/out/s"));
	ck_assert_int_eq(aufs_sock_unname(-1, (struct sockaddr *)&in, sizeof(in), &out, &olen),
			 AUFS_PASS);
	in.sun_path[0] = 0;
	ck_assert_int_eq(aufs_sock_prepare((struct sockaddr *)&in, sizeof(in), true, s), AUFS_PASS);
	free(s);
}
END_TEST

/* chdir into the union, then relative names and dotdot are virtual. */
START_TEST(test_chdir_then_relative)
{
	struct aufs_loc *loc;
	struct stat st;

	start("t/d/ b/d/f b/g", NULL, NULL);
	ck_assert_int_eq(aufs_chdir(ex("@/mnt/d"), true), 0);
	loc = resolve_ok("f", 0);
	ck_assert_str_eq(loc->virt, ex("@/mnt/d/f"));
	ck_assert_str_eq(loc->real, at("b/d/f"));
	loc = resolve_ok("../g", 0);
	ck_assert_str_eq(loc->real, at("b/g"));
	ck_assert_int_eq(aufs_fstatat(AT_FDCWD, "..", &st, 0), 0);
	same_object("..", &st, at("t"));
	ck_assert_int_eq(aufs_chdir("..", true), 0);
	loc = resolve_ok("d/f", 0);
	ck_assert_str_eq(loc->real, at("b/d/f"));
	/* "not recorded" (a vfork child) leaves the virtual cwd alone */
	ck_assert_int_eq(aufs_chdir("d", false), 0);
	loc = resolve_ok("g", 0);
	ck_assert_str_eq(loc->real, at("b/g"));
}
END_TEST

/* A directory fd of the union gives relative names their meaning. */
START_TEST(test_dirfd)
{
	struct aufs_loc loc;
	struct stat st;
	int fd;

	start("t/d/ b/d/f b/g", NULL, NULL);
	fd = aufs_openat(AT_FDCWD, ex("@/mnt/d"), O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(aufs_resolve(fd, "f", 0, &loc), 0);
	ck_assert_str_eq(loc.real, at("b/d/f"));
	ck_assert_int_eq(aufs_resolve(fd, "../g", 0, &loc), 0);
	ck_assert_str_eq(loc.real, at("b/g"));
	ck_assert_int_eq(aufs_fstatat(fd, "", &st, AT_EMPTY_PATH), 0);
	same_object("empty path", &st, at("t/d"));
	ck_assert_int_eq(aufs_fstatat(fd, "f", &st, 0), 0);
	same_object("f", &st, at("b/d/f"));
	aufs_fd_set(fd, NULL);
	close(fd);
	/* an fd the table does not know is the kernel's business */
	ck_assert_int_eq(aufs_resolve(fd, "f", 0, &loc), AUFS_PASS);
}
END_TEST

/* The link count of a merged directory counts the subdirectories of every copy. */
START_TEST(test_merged_nlink)
{
	struct stat st;

	start("t/d/s1/ b/d/s2/ b/d/s3/ b/d/f t/e/", NULL, NULL);
	ck_assert_int_eq(stat_of("@/mnt/d", &st), 0);
	ck_assert_uint_eq(st.st_nlink, 3 + 2);
	ck_assert_int_eq(stat_of("@/mnt/d", &st), 0);	/* cached */
	ck_assert_uint_eq(st.st_nlink, 3 + 2);
	ck_assert_int_eq(stat_of("@/mnt/e", &st), 0);
	ck_assert_uint_eq(st.st_nlink, 2);
}
END_TEST

/* statx goes the same way as stat. */
START_TEST(test_statx)
{
	struct statx stx;
	struct stat st;

	start("t/l->f b/f", NULL, NULL);
	ck_assert_int_eq(aufs_statx(AT_FDCWD, ex("@/mnt/l"), 0, STATX_BASIC_STATS, &stx), 0);
	ck_assert_int_eq(lstat(at("b/f"), &st), 0);
	union_numbers(at("b/f"), &st);
	ck_assert_uint_eq(stx.stx_ino, st.st_ino);
	ck_assert_uint_eq(makedev(stx.stx_dev_major, stx.stx_dev_minor), st.st_dev);
	ck_assert_int_eq(aufs_statx(AT_FDCWD, ex("@/mnt/l"), AT_SYMLINK_NOFOLLOW,
				    STATX_BASIC_STATS, &stx), 0);
	ck_assert_int_eq(lstat(at("t/l"), &st), 0);
	union_numbers(at("t/l"), &st);
	ck_assert_uint_eq(stx.stx_ino, st.st_ino);
	ck_assert_int_eq(aufs_statx(AT_FDCWD, ex("@/mnt/nx"), 0, STATX_BASIC_STATS, &stx),
			 -ENOENT);
	ck_assert_int_eq(aufs_statx(AT_FDCWD, ex("@/out"), 0, STATX_BASIC_STATS, &stx),
			 AUFS_PASS);
}
END_TEST

/* /proc/self/cwd reads back as the virtual cwd. */
START_TEST(test_readlink_proc_cwd)
{
	char buf[PATH_MAX];
	ssize_t n;

	start("b/d/", NULL, NULL);
	ck_assert_int_eq(aufs_chdir(ex("@/mnt/d"), true), 0);
	n = aufs_readlinkat(AT_FDCWD, "/proc/self/cwd", buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)strlen(ex("@/mnt/d")));
	ck_assert(!memcmp(buf, ex("@/mnt/d"), (size_t)n));
}
END_TEST

/* Unpublished: the core is inert. */
START_TEST(test_unpublished)
{
	struct aufs_loc loc;

	build("b/f");
	add_union(OPTS2, MNT);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/f"), 0, &loc), AUFS_PASS);
	aufs_state_publish(&cfg);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/f"), 0, &loc), 0);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, NULL, 0, &loc), -EFAULT);
}
END_TEST

/* ---------------------------------------------------------------- suite */

Suite *lookup_suite(void)
{
	Suite *s = suite_create("lookup");
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_add_loop_test(tc, test_case, 0, NCASES);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_set_timeout(tc, 30);	/* test_cache_grow under sanitizers */
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_add_test(tc, test_cache_hit);
	tcase_add_test(tc, test_whole_path_ancestor_change);
	tcase_add_test(tc, test_whole_path_relative);
	tcase_add_test(tc, test_loc_stale);
	tcase_add_test(tc, test_reval_deleted_base_file);
	tcase_add_test(tc, test_reval_deleted_top_file);
	tcase_add_test(tc, test_reval_other_ops);
	tcase_add_test(tc, test_reval_deleted_dir);
	tcase_add_test(tc, test_reval_deleted_top_symlink);
	tcase_add_test(tc, test_reval_deleted_file_over_dir);
	tcase_add_test(tc, test_new_name_under_cached_dir);
	tcase_add_test(tc, test_new_top_copy_of_cached_dir);
	tcase_add_test(tc, test_cached_negative);
	tcase_add_test(tc, test_negttl_expiry);
	tcase_add_test(tc, test_negttl_zero_and_never);
	tcase_add_test(tc, test_posttl_expiry);
	tcase_add_test(tc, test_ttl_options);
	tcase_add_test(tc, test_create_through_union);
	tcase_add_test(tc, test_republish);
	tcase_add_test(tc, test_change_seen_by_other_thread);
	tcase_add_test(tc, test_shared_cache_none);
	tcase_add_test(tc, test_shared_cache_only_for_none);
	tcase_add_test(tc, test_copied_up_dir_seen_by_other_thread);
	tcase_add_test(tc, test_change_seen_by_other_process);
	tcase_add_test(tc, test_cache_two_unions);
	tcase_add_test(tc, test_cache_grow);
	tcase_add_test(tc, test_own_changes_keep_neighbours);
	tcase_add_test(tc, test_cache_eviction_keeps_a_part);
	suite_add_tcase(s, tc);

	tc = tcase_create("ops");
	tcase_set_timeout(tc, 30);	/* test_many_branches under sanitizers */
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_add_test(tc, test_chdir_then_relative);
	tcase_add_test(tc, test_dirfd);
	tcase_add_test(tc, test_merged_nlink);
	tcase_add_test(tc, test_statx);
	tcase_add_test(tc, test_readlink_proc_cwd);
	tcase_add_test(tc, test_unpublished);
	tcase_add_test(tc, test_link_chain_limit);
	tcase_add_test(tc, test_outside_dotdot_is_physical);
	tcase_add_test(tc, test_many_branches);
	tcase_add_test(tc, test_outside_dirfd);
	tcase_add_test(tc, test_readlink_proc_fd);
	tcase_add_test(tc, test_name_too_long);
	tcase_add_test(tc, test_name_unused);
	tcase_add_test(tc, test_sock_names);
	suite_add_tcase(s, tc);
	return s;
}
