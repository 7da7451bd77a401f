/* SPDX-License-Identifier: MIT */
/*
 * check_readdir.c - unit tests of src/core/ops_readdir.c: the merged listing of a
 * union directory (every name once, top-most entry wins, whiteouts hide lower
 * names and are never listed, opaque directories and non-directories cut the
 * lower branches), its positions (tell, seek, rewind) and its fd.
 *
 * The fixture is the one of check_lookup.c: a mkdtemp() tree per test case
 * (an unchecked fixture, so it is removed even when a forked test crashes, with
 * the shared states of its unions), a directory per test, layouts of
 * space-separated entries ("p/" a directory, "p->target" a symlink, anything else
 * a file), '@' for the test's directory, branches @/t, @/w and @/b.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aufs/core.h"
#include "fixture.h"	/* fx_remove_states() */
#include "internal.h"

Suite *readdir_suite(void);

/* ---------------------------------------------------------------- fixture */

static char root[PATH_MAX];	/* of the test case: canonical mkdtemp() name */
static char dir[PATH_MAX];	/* of the test: a mkdtemp() name under root */
static struct aufs_config cfg;

static const char *const std_dirs[] = { "t", "w", "b", "out", "mnt" };

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
	char tmpl[] = "/tmp/aufs-check-readdir-XXXXXX";
	char *canon;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
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

static void put_file(const char *rel)
{
	int fd;

	mkparents(rel);
	fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "open %s: %s", at(rel), strerror(errno));
	close(fd);
}

/* Build a layout (see the header comment). */
static void build(const char *layout)
{
	char *copy, *save = NULL;

	copy = strdup(layout);
	ck_assert_ptr_nonnull(copy);
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *arrow = strstr(tok, "->");
		size_t len = strlen(tok);

		if (arrow) {
			*arrow = 0;
			mkparents(tok);
			ck_assert_msg(symlink(ex(arrow + 2), at(tok)) == 0, "symlink %s: %s",
				      at(tok), strerror(errno));
		} else if (tok[len - 1] == '/') {
			tok[len - 1] = 0;
			mkdirs(tok);
		} else {
			put_file(tok);
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
	aufs_state_publish(NULL);
	fx_remove_states(dir);
	aufs_config_release(&cfg);
}

#define OPTS2 "br:@/t=rw:@/b=ro"
#define OPTS3 "br:@/t=rw:@/w=ro:@/b=ro"
#define OPTS3WH "br:@/t=rw:@/w=ro+wh:@/b=ro"
#define MNT "@/mnt"

/* LAYOUT, one union OPTS (NULL: OPTS2) at MNT (NULL: @/mnt), published. */
static void start(const char *layout, const char *opts, const char *mnt)
{
	struct aufs_union *u = NULL;
	struct aufs_err err;
	int r;

	build(layout);
	opts = ex(opts ? opts : OPTS2);
	mnt = ex(mnt ? mnt : MNT);
	r = aufs_union_parse(opts, mnt, &u, &err);
	ck_assert_msg(r == 0, "parse \"%s\": %d %s", opts, r, err.msg);
	r = aufs_config_add(&cfg, u, &err);
	ck_assert_msg(r == 0, "add: %d %s", r, err.msg);
	aufs_state_publish(&cfg);
}

static struct aufs_dir *open_dir(const char *tmpl)
{
	struct aufs_dir *d = NULL;
	struct aufs_loc loc;
	int r;

	r = aufs_resolve(AT_FDCWD, ex(tmpl), 0, &loc);
	ck_assert_msg(r == 0, "aufs_resolve(\"%s\") = %d", ex(tmpl), r);
	r = aufs_dir_open(&loc, -1, &d);
	ck_assert_msg(r == 0, "aufs_dir_open(\"%s\") = %d", ex(tmpl), r);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* ---------------------------------------------------------------- listings */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the words of a space-separated list into OUT (one space between). */
static void sort_words(char *list, char *out, size_t size)
{
	char *w[4096], *save = NULL;
	size_t n = 0, len = 0;

	for (char *t = strtok_r(list, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		ck_assert_uint_lt(n, sizeof(w) / sizeof(w[0]));
		w[n++] = t;
	}
	qsort(w, n, sizeof(w[0]), cmp_str);
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(w[i]);

		ck_assert_uint_lt(len + l + 2, size);
		if (i)
			out[len++] = ' ';
		memcpy(out + len, w[i], l + 1);
		len += l;
	}
}

/* "name" + a type mark: '/' directory, '@' symlink, nothing for a file, '?' else. */
static void entry_word(const struct dirent64 *de, char *buf, size_t size)
{
	const char *mark = de->d_type == DT_DIR ? "/" : de->d_type == DT_LNK ? "@" :
			   de->d_type == DT_REG ? "" : "?";

	fmt(buf, size, "%s%s", de->d_name, mark);
}

/*
 * Read D from where it is to the end into OUT as a sorted word list; check each
 * entry's fields on the way. Returns the number of entries.
 */
static size_t read_rest(struct aufs_dir *d, char *out, size_t size)
{
	static char all[1 << 20];
	struct dirent64 *de;
	size_t len = 0, n = 0;
	char w[NAME_MAX + 3];

	all[0] = 0;
	while ((de = aufs_dir_read(d))) {
		size_t nl = strlen(de->d_name);

		ck_assert_uint_gt(nl, 0);
		ck_assert_uint_ge(de->d_reclen, offsetof(struct dirent64, d_name) + nl + 1);
		ck_assert_int_eq((long)de->d_off, aufs_dir_tell(d));
		ck_assert_msg(strncmp(de->d_name, ".wh.", 4) != 0, "listed %s", de->d_name);
		entry_word(de, w, sizeof(w));
		ck_assert_uint_lt(len + strlen(w) + 2, sizeof(all));
		len += (size_t)sprintf(all + len, "%s%s", len ? " " : "", w);
		n++;
	}
	sort_words(all, out, size);
	return n;
}

/* In a sorted word list, a word listed twice is next to itself. */
static void assert_no_duplicates(const char *sorted)
{
	const char *prev = NULL, *w = sorted;

	while (*w) {
		size_t l = strcspn(w, " ");

		ck_assert_msg(!prev || strncmp(prev, w, l) || prev[l] != ' ',
			      "listed twice: %.*s", (int)l, w);
		prev = w;
		w += l;
		while (*w == ' ')
			w++;
	}
}

static void expect_listing(const char *name, struct aufs_dir *d, const char *want)
{
	static char got[1 << 20], sorted[1 << 16];
	char copy[1 << 16];

	fmt(copy, sizeof(copy), "%s", want);
	sort_words(copy, sorted, sizeof(sorted));
	read_rest(d, got, sizeof(got));
	ck_assert_msg(!strcmp(got, sorted), "%s: listed \"%s\", expected \"%s\"", name, got,
		      sorted);
}

/* ---------------------------------------------------------------- the case table */

struct rcase {
	const char *name;
	const char *opts;	/* NULL: OPTS2 */
	const char *mnt;	/* NULL: MNT */
	const char *layout;
	const char *path;	/* the directory to list */
	const char *want;	/* its entries, in any order, with type marks */
};

#define L(n, l, p, w) { .name = n, .layout = l, .path = p, .want = w }
#define LO(n, o, l, p, w) { .name = n, .opts = o, .layout = l, .path = p, .want = w }

static const struct rcase cases[] = {
	/* -------- merging */
	L("empty union", "", "@/mnt", "./ ../"),
	L("top only", "t/a t/s/", "@/mnt", "./ ../ a s/"),
	L("base only", "b/a b/s/", "@/mnt", "./ ../ a s/"),
	L("merged", "t/a b/b t/c b/c", "@/mnt", "./ ../ a b c"),
	L("merged subdir", "t/d/a b/d/b t/d/c b/d/c", "@/mnt/d", "./ ../ a b c"),
	L("subdir only in base", "b/d/x b/d/y/", "@/mnt/d", "./ ../ x y/"),
	L("empty top copy", "t/d/ b/d/x", "@/mnt/d", "./ ../ x"),
	L("empty base copy", "t/d/x b/d/", "@/mnt/d", "./ ../ x"),
	L("deep merge", "t/d/e/a b/d/e/b", "@/mnt/d/e", "./ ../ a b"),
	L("symlinks", "t/l->x b/m->y", "@/mnt", "./ ../ l@ m@"),
	LO("three branches", OPTS3, "t/a w/b b/c w/a b/b", "@/mnt", "./ ../ a b c"),
	L("through a symlink to a dir", "t/l->d b/d/x t/d/y", "@/mnt/l", "./ ../ x y"),
	{ .name = "mounted on its top branch", .mnt = "@/t", .layout = "t/a b/b", .path = "@/t",
	  .want = "./ ../ a b" },

	/* -------- whiteouts */
	L("whiteout hides a base file", "t/a t/.wh.b b/b b/c", "@/mnt", "./ ../ a c"),
	L("whiteout hides a base dir", "t/.wh.d b/d/x", "@/mnt", "./ ../"),
	L("whiteout hides a base symlink", "t/.wh.l b/l->x b/m", "@/mnt", "./ ../ m"),
	L("whiteout in a subdir", "t/d/.wh.s b/d/s/q b/d/r", "@/mnt/d", "./ ../ r"),
	L("whiteout names never listed", "t/.wh.x t/.wh..wh.aufs t/.wh..wh.plnk/ b/.wh.y b/z",
	  "@/mnt", "./ ../ z"),
	L("opaque marker never listed", "t/d/.wh..wh..opq t/d/x", "@/mnt/d", "./ ../ x"),
	LO("whiteout in ro middle ignored", OPTS3, "w/.wh.f b/f", "@/mnt", "./ ../ f"),
	LO("whiteout in ro+wh middle honoured", OPTS3WH, "w/.wh.f b/f b/g", "@/mnt", "./ ../ g"),
	LO("ro+wh whiteout does not hide the top", OPTS3WH, "t/f w/.wh.f b/f", "@/mnt", "./ ../ f"),
	LO("top whiteout hides middle and base", OPTS3, "t/.wh.x w/x b/x w/y", "@/mnt", "./ ../ y"),
	L("whiteout in ro base is nothing", "b/.wh.f t/f", "@/mnt", "./ ../ f"),
	LO("whiteout in ro top ignored", "br:@/t=ro:@/b=ro", "t/.wh.f b/f", "@/mnt", "./ ../ f"),

	/* -------- opaque directories */
	L("opaque cuts the base", "t/d/.wh..wh..opq t/d/x b/d/y", "@/mnt/d", "./ ../ x"),
	LO("opaque in ro middle ignored", OPTS3, "w/d/.wh..wh..opq w/d/x b/d/y", "@/mnt/d",
	   "./ ../ x y"),
	LO("opaque in ro+wh middle honoured", OPTS3WH, "t/d/z w/d/.wh..wh..opq w/d/x b/d/y",
	   "@/mnt/d", "./ ../ x z"),
	L("opaque dir over a whiteout", "t/.wh.d t/d/.wh..wh..opq t/d/n b/d/o", "@/mnt/d",
	  "./ ../ n"),
	L("opaque dir over a whiteout, parent", "t/.wh.d t/d/.wh..wh..opq t/d/n b/d/o", "@/mnt",
	  "./ ../ d/"),

	/* -------- types shadowing types */
	L("file over dir, listed once", "t/d b/d/x", "@/mnt", "./ ../ d"),
	L("dir over file, listed once", "t/d/ b/d", "@/mnt", "./ ../ d/"),
	L("dir over file: the top copy only", "t/d/x b/d", "@/mnt/d", "./ ../ x"),
	L("symlink over dir, listed once", "t/d->e b/d/x", "@/mnt", "./ ../ d@"),
	LO("file in ro middle cuts the merge", OPTS3, "t/d/a w/d b/d/c", "@/mnt/d", "./ ../ a"),
	LO("file in ro middle, parent", OPTS3, "t/d/a w/d b/d/c", "@/mnt", "./ ../ d/"),
	L("symlink to a dir below a dir cuts the merge", "t/d/a b/d->e b/e/x", "@/mnt/d",
	  "./ ../ a"),
	LO("dir whited out in ro+wh middle: the base copy is hidden", OPTS3WH,
	   "t/d/a w/.wh.d b/d/c", "@/mnt/d", "./ ../ a"),
	LO("opaque top copy hides middle and base", OPTS3, "t/d/.wh..wh..opq t/d/x w/d/y b/d/z",
	   "@/mnt/d", "./ ../ x"),
	LO("only the middle and base copies", OPTS3, "t/ w/d/y b/d/z w/d/.wh.z", "@/mnt/d",
	   "./ ../ y z"),
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

/*
 * Listing and lookup agree: every name in any branch's copy of the directory is
 * listed exactly when it resolves, and with the type the lookup gives it.
 */
static void cross_check(const struct rcase *c)
{
	char vdir[PATH_MAX], real[PATH_MAX], path[PATH_MAX + 256];
	struct aufs_loc loc;
	struct aufs_dir *d;
	struct dirent64 *de;
	struct dirent *e;
	const struct aufs_union *u;
	const char *rel;

	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex(c->path), 0, &loc), 0);
	u = loc.u;
	fmt(vdir, sizeof(vdir), "%s", loc.virt);
	rel = vdir + loc.rel;
	d = open_dir(c->path);
	for (int b = 0; b < u->nbranch; b++) {
		DIR *bd;

		fmt(real, sizeof(real), "%s%s%s", u->branch[b].path, *rel ? "/" : "", rel);
		bd = opendir(real);
		if (!bd)
			continue;
		while ((e = readdir(bd))) {
			bool listed = false;
			int r;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			aufs_dir_rewind(d);
			while (!listed && (de = aufs_dir_read(d)))
				listed = !strcmp(de->d_name, e->d_name);
			fmt(path, sizeof(path), "%s/%s", vdir, e->d_name);
			r = aufs_resolve(AT_FDCWD, path, AUFS_RESOLVE_NOFOLLOW, &loc);
			ck_assert_msg(r == 0, "%s: resolve %s: %d", c->name, e->d_name, r);
			ck_assert_msg(listed == (loc.branch >= 0), "%s: %s %s listed but %s",
				      c->name, e->d_name, listed ? "is" : "is not",
				      loc.branch >= 0 ? "found" : "missing");
			if (listed)
				ck_assert_msg(de->d_type == loc.type,
					      "%s: %s listed as type %u, looked up as %u", c->name,
					      e->d_name, de->d_type, loc.type);
		}
		closedir(bd);
	}
	aufs_dir_close(d);
}

START_TEST(test_case)
{
	const struct rcase *c = &cases[_i];
	struct aufs_dir *d;

	start(c->layout, c->opts, c->mnt);
	d = open_dir(c->path);
	expect_listing(c->name, d, c->want);
	ck_assert_int_eq(aufs_dir_close(d), 0);
	cross_check(c);
	/* again, with the lookups cached */
	d = open_dir(c->path);
	expect_listing(c->name, d, c->want);
	ck_assert_int_eq(aufs_dir_close(d), 0);
	aufs_lookup_flush();
	d = open_dir(c->path);
	expect_listing(c->name, d, c->want);
	ck_assert_int_eq(aufs_dir_close(d), 0);
}
END_TEST

/* ---------------------------------------------------------------- single tests */

/* "." and ".." once each, both directories, however many branches have the dir. */
START_TEST(test_dots_once)
{
	struct aufs_dir *d;
	struct dirent64 *de;
	int dot = 0, dotdot = 0;

	start("t/d/a w/d/b b/d/c", OPTS3, NULL);
	d = open_dir("@/mnt/d");
	while ((de = aufs_dir_read(d))) {
		if (!strcmp(de->d_name, "."))
			dot++;
		else if (!strcmp(de->d_name, ".."))
			dotdot++;
		else
			continue;
		ck_assert_uint_eq(de->d_type, DT_DIR);
	}
	ck_assert_int_eq(dot, 1);
	ck_assert_int_eq(dotdot, 1);
	aufs_dir_close(d);
}
END_TEST

/* d_ino of every entry is the st_ino that stat through the union gives. */
START_TEST(test_d_ino_is_st_ino)
{
	char path[PATH_MAX];
	struct aufs_dir *d;
	struct dirent64 *de;
	struct stat st;
	int n = 0;

	start("t/d/a b/d/a b/d/b t/d/s/ b/d/s/ b/d/u/ t/d/l->a t/d/.wh.c b/d/c", NULL, NULL);
	d = open_dir("@/mnt/d");
	while ((de = aufs_dir_read(d))) {
		if (!strcmp(de->d_name, ".."))
			continue;
		fmt(path, sizeof(path), "%s/mnt/d/%s", dir, de->d_name);
		ck_assert_int_eq(aufs_fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW), 0);
		ck_assert_msg(de->d_ino == st.st_ino, "%s: d_ino %lu, st_ino %lu", de->d_name,
			      (unsigned long)de->d_ino, (unsigned long)st.st_ino);
		ck_assert_uint_eq(de->d_type, IFTODT(st.st_mode));
		n++;
	}
	ck_assert_int_eq(n, 6);	/* . a b s u l */
	aufs_dir_close(d);
}
END_TEST

/* telldir/seekdir: a position read back gives the same remaining entries. */
START_TEST(test_seek_tell)
{
	char first[1 << 16], again[1 << 16];
	struct aufs_dir *d;
	long pos[16];
	size_t n;

	start("t/a t/.wh.b b/b b/c t/d b/d/ b/e t/.wh.f b/f t/g", NULL, NULL);
	d = open_dir("@/mnt");
	ck_assert_int_eq(aufs_dir_tell(d), 0);
	for (n = 0; n < 16; n++) {
		pos[n] = aufs_dir_tell(d);
		if (!aufs_dir_read(d))
			break;
	}
	ck_assert_uint_eq(n, 7);	/* . .. a c d e g */
	for (size_t i = 0; i <= n; i++) {
		aufs_dir_seek(d, pos[i]);
		ck_assert_int_eq(aufs_dir_tell(d), pos[i]);
		read_rest(d, first, sizeof(first));
		aufs_dir_seek(d, pos[i]);
		ck_assert_uint_eq(read_rest(d, again, sizeof(again)), n - i);
		ck_assert_str_eq(first, again);
	}
	/* the end stays the end; the start is the whole listing again */
	ck_assert_ptr_null(aufs_dir_read(d));
	aufs_dir_seek(d, 0);
	read_rest(d, first, sizeof(first));
	ck_assert_str_eq(first, "../ ./ a c d e g");
	aufs_dir_close(d);
}
END_TEST

/* rewinddir reads the branches afresh: direct changes show. */
START_TEST(test_rewind_rereads)
{
	char got[1 << 16];
	struct aufs_dir *d;

	start("t/d/a b/d/b b/d/c", NULL, NULL);
	d = open_dir("@/mnt/d");
	read_rest(d, got, sizeof(got));
	ck_assert_str_eq(got, "../ ./ a b c");
	put_file("b/d/new");
	put_file("t/d/top");
	put_file("t/d/.wh.c");
	ck_assert_int_eq(unlink(at("t/d/a")), 0);
	aufs_dir_rewind(d);
	ck_assert_int_eq(aufs_dir_tell(d), 0);
	read_rest(d, got, sizeof(got));
	ck_assert_str_eq(got, "../ ./ b new top");
	/* and a rewind mid-way starts over */
	aufs_dir_rewind(d);
	ck_assert_ptr_nonnull(aufs_dir_read(d));
	ck_assert_ptr_nonnull(aufs_dir_read(d));
	aufs_dir_rewind(d);
	read_rest(d, got, sizeof(got));
	ck_assert_str_eq(got, "../ ./ b new top");
	aufs_dir_close(d);
}
END_TEST

/* A listing that was cached in the lookups gives fresh content at the next open. */
START_TEST(test_reopen_sees_changes)
{
	struct aufs_dir *d;

	start("t/d/ b/d/x", NULL, NULL);
	d = open_dir("@/mnt/d");
	expect_listing("before", d, "./ ../ x");
	aufs_dir_close(d);
	put_file("b/d/y");
	put_file("t/d/z");
	d = open_dir("@/mnt/d");
	expect_listing("after", d, "./ ../ x y z");
	aufs_dir_close(d);
}
END_TEST

/* Opening what is not a directory of a union. */
START_TEST(test_open_errors)
{
	struct aufs_dir *d = NULL;
	struct aufs_loc loc;

	start("b/f t/.wh.g b/g/ out/o/", NULL, NULL);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/f"), 0, &loc), 0);
	ck_assert_int_eq(aufs_dir_open(&loc, -1, &d), -ENOTDIR);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/g"), 0, &loc), 0);
	ck_assert_int_eq(aufs_dir_open(&loc, -1, &d), -ENOENT);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/nx"), 0, &loc), 0);
	ck_assert_int_eq(aufs_dir_open(&loc, -1, &d), -ENOENT);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/../out/o"), 0, &loc), AUFS_PASS_HOST);
	ck_assert_ptr_null(loc.u);
	ck_assert_int_eq(aufs_dir_open(&loc, -1, &d), -ENOENT);
	ck_assert_ptr_null(d);
}
END_TEST

/* The fd: the top-most copy's when none is given, else the one given; closed at close. */
START_TEST(test_dir_fd)
{
	struct aufs_dir *d = NULL;
	struct aufs_loc loc;
	struct stat st, want;
	int fd;

	start("t/d/a b/d/b b/e/c", NULL, NULL);
	d = open_dir("@/mnt/d");
	fd = aufs_dir_fd(d);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(stat(at("t/d"), &want), 0);
	ck_assert_uint_eq(st.st_ino, want.st_ino);
	ck_assert_int_eq(aufs_dir_close(d), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);

	d = open_dir("@/mnt/e");
	ck_assert_int_eq(fstat(aufs_dir_fd(d), &st), 0);
	ck_assert_int_eq(stat(at("b/e"), &want), 0);
	ck_assert_uint_eq(st.st_ino, want.st_ino);
	aufs_dir_close(d);

	fd = open(at("t/d"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/d"), 0, &loc), 0);
	ck_assert_int_eq(aufs_dir_open(&loc, fd, &d), 0);
	ck_assert_int_eq(aufs_dir_fd(d), fd);
	expect_listing("given fd", d, "./ ../ a b");
	ck_assert_int_eq(aufs_dir_close(d), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
}
END_TEST

/* Many names, half of them in both branches, some whited out: each once. */
START_TEST(test_large)
{
	static char got[1 << 20];
	char name[64];
	struct aufs_dir *d;
	size_t n;

	start("t/d/ b/d/", NULL, NULL);
	for (int i = 0; i < 1200; i++) {
		fmt(name, sizeof(name), "t/d/name-%04d-with-a-longer-tail", i);
		if (i < 800)
			put_file(name);
		name[0] = 'b';
		if (i >= 400)
			put_file(name);
		if (i >= 1150) {
			fmt(name, sizeof(name), "t/d/.wh.name-%04d-with-a-longer-tail", i);
			put_file(name);
		}
	}
	d = open_dir("@/mnt/d");
	n = read_rest(d, got, sizeof(got));
	ck_assert_uint_eq(n, 1150 + 2);
	assert_no_duplicates(got);
	aufs_dir_rewind(d);
	ck_assert_uint_eq(read_rest(d, got, sizeof(got)), 1150 + 2);
	aufs_dir_close(d);
}
END_TEST

/*
 * A cached location whose top copy was removed directly: the open fails with
 * ENOENT, aufs_loc_stale() says a fresh lookup may differ, and it does.
 */
START_TEST(test_stale_loc_retry)
{
	struct aufs_dir *d = NULL;
	struct aufs_loc loc;

	start("t/d/a b/d/b", NULL, NULL);
	d = open_dir("@/mnt/d");
	expect_listing("before", d, "./ ../ a b");
	aufs_dir_close(d);
	ck_assert_int_eq(aufs_resolve(AT_FDCWD, ex("@/mnt/d"), 0, &loc), 0);
	ck_assert_uint_ne(loc.flags & AUFS_LOC_CACHED, 0);
	ck_assert_int_eq(unlink(at("t/d/a")), 0);
	ck_assert_int_eq(rmdir(at("t/d")), 0);
	ck_assert_int_eq(aufs_dir_open(&loc, -1, &d), -ENOENT);
	ck_assert(aufs_loc_stale(&loc));
	d = open_dir("@/mnt/d");
	expect_listing("after", d, "./ ../ b");
	aufs_dir_close(d);
}
END_TEST

/* More than 64 branches: the high half of the branch mask (see check_lookup.c). */
START_TEST(test_many_branches)
{
	char opts[16384], name[64];
	struct aufs_dir *d;
	size_t n;

	n = (size_t)snprintf(opts, sizeof(opts), "br:%s/b0=rw", dir);
	for (int b = 1; b < AUFS_BRANCH_MAX; b++) {
		fmt(name, sizeof(name), "b%d/", b);
		build(name);
		n += (size_t)snprintf(opts + n, sizeof(opts) - n, ":%s/b%d=%s", dir, b,
				      b == 65 || b == 70 ? "ro+wh" : "ro");
	}
	build("b0/ b66/d/x b69/d/y b65/.wh.g b67/g b126/h b70/e/.wh..wh..opq b71/e/z "
	      "b126/e/u b70/e/v b1/d/w b100/d/w/");
	start("", opts, NULL);
	d = open_dir("@/mnt");
	expect_listing("root", d, "./ ../ d/ e/ h");
	aufs_dir_close(d);
	d = open_dir("@/mnt/d");
	expect_listing("d", d, "./ ../ w x y");
	aufs_dir_close(d);
	d = open_dir("@/mnt/e");
	expect_listing("e", d, "./ ../ v");
	aufs_dir_close(d);
}
END_TEST

/* ---------------------------------------------------------------- suite */

Suite *readdir_suite(void)
{
	Suite *s = suite_create("readdir");
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_add_loop_test(tc, test_case, 0, NCASES);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_set_timeout(tc, 30);	/* test_large and test_many_branches under sanitizers */
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	tcase_add_test(tc, test_dots_once);
	tcase_add_test(tc, test_d_ino_is_st_ino);
	tcase_add_test(tc, test_seek_tell);
	tcase_add_test(tc, test_rewind_rereads);
	tcase_add_test(tc, test_reopen_sees_changes);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_dir_fd);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_stale_loc_retry);
	tcase_add_test(tc, test_many_branches);
	suite_add_tcase(s, tc);
	return s;
}
