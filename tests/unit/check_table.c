/* SPDX-License-Identifier: MIT */
/*
 * check_table.c - unit tests of src/core/state_table.c and state_host.c: the
 * compiled union table and a host table's image.
 *
 * The checks of an fstab's unions against each other in one pass refuse exactly
 * the union, with exactly the message, that adding them one by one would; the
 * compiled index finds the same union as the longest matching mount point, and
 * the branch index the same single union; an image written for an fstab is mapped
 * by the next open when it describes the file, and compiled again when the file
 * changed; unions made from it equal the parsed ones. A changed byte anywhere in
 * an image is caught: in the header when it is mapped, elsewhere by the check of
 * the slot or record that holds it when that is read (and always by the whole
 * checksum of aufs_table_check()). A refused image is rebuilt by its owner and
 * compiled privately by anyone else. Writing an image marks the one it replaces
 * superseded, and a process following it gets the new table. Under injected
 * faults a write leaves the old image whole and no temporary behind.
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
#include <time.h>
#include <unistd.h>

#include "aufs/fault.h"
#include "fixture.h"
#include "internal.h"

Suite *table_suite(void);

/* ---------------------------------------------------------------- helpers */

static void write_text(const char *rel, const char *text)
{
	FILE *f = fopen(fx_at(rel), "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* An fstab of N tenants under @ (branch directories made), one line each. */
static char *tenants_fstab(int n, const char *extra)
{
	size_t cap = (size_t)n * 256 + 4096, len = 0;
	char *text = malloc(cap);

	ck_assert_ptr_nonnull(text);
	fx_build("cms/ cms/index.php tenants/ www/");
	text[0] = 0;
	for (int i = 0; i < n; i++) {
		char www[64], br[64];

		snprintf(br, sizeof(br), "tenants/t%d/", i);
		fx_build(br);
		snprintf(www, sizeof(www), "www/t%d", i);
		snprintf(br, sizeof(br), "tenants/t%d", i);
		len += (size_t)snprintf(text + len, cap - len,
					"none %s aufs br:%s=rw:", fx_at(www), fx_at(br));
		len += (size_t)snprintf(text + len, cap - len, "%s=ro,nowarn_perm 0 0\n",
					fx_at("cms"));
	}
	if (extra)
		len += (size_t)snprintf(text + len, cap - len, "%s", extra);
	ck_assert_uint_lt(len, cap);
	return text;
}

static bool same_union(const struct aufs_union *a, const struct aufs_union *b)
{
	if (a->mnt_len != b->mnt_len || strcmp(a->mnt, b->mnt) || a->nbranch != b->nbranch ||
	    a->opts.flags != b->opts.flags || a->opts.udba != b->opts.udba ||
	    a->opts.create != b->opts.create || a->opts.dirwh != b->opts.dirwh ||
	    a->opts.create_low != b->opts.create_low || a->opts.cpup != b->opts.cpup)
		return false;
	if (!a->opts.xino != !b->opts.xino || (a->opts.xino && strcmp(a->opts.xino, b->opts.xino)))
		return false;
	for (int i = 0; i < a->nbranch; i++)
		if (strcmp(a->branch[i].path, b->branch[i].path) ||
		    a->branch[i].perm != b->branch[i].perm || a->branch[i].attr != b->branch[i].attr ||
		    a->branch[i].dev != b->branch[i].dev || a->branch[i].ino != b->branch[i].ino)
			return false;
	return true;
}

/* The longest mount point of CFG at or above PATH, by brute force. */
static const struct aufs_union *brute_match(const struct aufs_config *cfg, const char *path)
{
	const struct aufs_union *best = NULL;
	size_t len = strlen(path);

	for (int i = 0; i < cfg->nunion; i++) {
		const struct aufs_union *u = cfg->unions[i];

		if (u->mnt_len == 1 || (len >= u->mnt_len && !memcmp(path, u->mnt, u->mnt_len) &&
					(path[u->mnt_len] == 0 || path[u->mnt_len] == '/')))
			if (!best || u->mnt_len > best->mnt_len)
				best = u;
	}
	return best;
}

/* ---------------------------------------------------------------- one pass = one by one */

/*
 * Lines drawn from a small pool of mount points and branches, so that duplicates,
 * nesting and shared writable branches come up often: parsing them together must
 * keep, fence and drop exactly what parsing them one line at a time (each checked
 * against the unions and fences kept before it) keeps, fences and drops, and
 * report the same first refusal.
 */
START_TEST(test_first_conflict_equals_one_by_one)
{
	static const char *const mnts[] = { "m1", "m2", "m1/x", "m3", "t", "b/in", "m4" };
	static const char *const brs[] = { "t", "b", "c", "t/sub", "d", "m1", "e" };
	static const char *const perms[] = { "=rw", "=ro", "=rr", "", ",bogus" };
	unsigned seed = 12345;
	int fenced = 0;

	fx_build("t/ t/sub/ b/ b/in/ c/ d/ e/ m1/ m1/x/ m2/ m3/ m4/");
	for (int round = 0; round < 300; round++) {
		struct aufs_config one, all;
		struct aufs_err e1 = { 0 }, e2 = { 0 };
		char text[4096] = "";
		size_t len = 0;
		int lines = 2 + (int)(rand_r(&seed) % 5), r1 = 0, r2;

		aufs_config_init(&one);
		aufs_config_init(&all);
		for (int l = 0; l < lines; l++) {
			char opts[512], line[700];
			int nb = 1 + (int)(rand_r(&seed) % 2);
			size_t o = 0;

			o += (size_t)snprintf(opts + o, sizeof(opts) - o, "br:");
			for (int b = 0; b < nb; b++)
				o += (size_t)snprintf(opts + o, sizeof(opts) - o, "%s%s%s", b ? ":" : "",
						      fx_at(brs[rand_r(&seed) % 7]),
						      perms[rand_r(&seed) % 5]);
			snprintf(line, sizeof(line), "none %s aufs %s 0 0\n",
				 fx_at(mnts[rand_r(&seed) % 7]), opts);
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", line);
			{
				struct aufs_err e = { 0 };
				int r = aufs_config_parse_fstab(&one, line, "F", &e);

				if (r < 0 && r1 == 0) {
					/* the message the whole-file parse gives for that line */
					r1 = r;
					snprintf(e1.msg, sizeof(e1.msg), ":%d: %s", l + 1,
						 strstr(e.msg, ":1: ") + 4);
				}
			}
		}
		r2 = aufs_config_parse_fstab(&all, text, "F", &e2);
		ck_assert_msg(r1 == r2, "round %d: one by one %d (%s), together %d (%s)\n%s", round,
			      r1, e1.msg, r2, e2.msg, text);
		ck_assert_msg(one.nunion == all.nunion, "round %d: %d vs %d unions (%s / %s)\n%s",
			      round, one.nunion, all.nunion, e1.msg, e2.msg, text);
		for (int i = 0; i < one.nunion; i++) {
			ck_assert(same_union(one.unions[i], all.unions[i]));
			fenced += !!(all.unions[i]->opts.flags & AUFS_OPT_FENCED);
		}
		if (r1 < 0)
			ck_assert_msg(strstr(e2.msg, e1.msg), "round %d: \"%s\" vs \"%s\"", round,
				      e1.msg, e2.msg);
		aufs_config_release(&one);
		aufs_config_release(&all);
	}
	ck_assert_int_gt(fenced, 0);	/* the rounds did refuse lines */
}
END_TEST

/* ---------------------------------------------------------------- lookups */

START_TEST(test_match_is_longest_mount_point)
{
	static const char *const paths[] = {
		"/", "/srv", "/srv/www", "/srv/www/t1", "/srv/www/t1/a/b", "/srv/www/t10",
		"/srv/www/t1x", "/srv/www/t2/deep/er", "/srv/www/t2/deep", "/srv/www/t2/dee",
		"/other", "/srv/www/t3/x", "/srv/www/t2/deep/er/x/y",
	};
	struct aufs_config cfg;
	struct aufs_err err = { 0 };
	char text[2048];

	fx_build("a/ b/ c/ d/ e/");
	snprintf(text, sizeof(text),
		 "none /srv/www/t1 aufs br:%s 0 0\n"
		 "none /srv/www/t2 aufs br:%s 0 0\n"
		 "none /srv/www/t2/deep/er aufs br:%s 0 0\n"
		 "none /srv/www/t10 aufs br:%s 0 0\n",
		 fx_at("a"), fx_at("b"), fx_at("c"), fx_at("d"));
	aufs_config_init(&cfg);
	ck_assert_int_eq(aufs_config_parse_fstab(&cfg, text, "F", &err), 0);
	ck_assert(aufs_config_has_nested(&cfg));
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		size_t rel = 0;
		const struct aufs_union *u = aufs_config_match(&cfg, paths[i], strlen(paths[i]), &rel);

		ck_assert_msg(u == brute_match(&cfg, paths[i]), "%s", paths[i]);
		if (u)
			ck_assert_uint_ge(rel, u->mnt_len);
	}
	ck_assert(aufs_config_is_ancestor(&cfg, "/srv/www", 8));
	ck_assert(aufs_config_is_ancestor(&cfg, "/srv/www/t2/deep", 16));
	ck_assert(!aufs_config_is_ancestor(&cfg, "/srv/www/t1", 11));
	/* a union on "/" is the last resort of every path */
	aufs_config_release(&cfg);
	aufs_config_init(&cfg);
	snprintf(text, sizeof(text), "none / aufs br:%s 0 0\nnone /srv/x aufs br:%s 0 0\n",
		 "/", fx_at("e"));
	ck_assert_int_eq(aufs_config_parse_fstab(&cfg, text, "F", &err), -EINVAL);
	aufs_config_release(&cfg);
}
END_TEST

START_TEST(test_real_to_virtual)
{
	struct aufs_config cfg;
	struct aufs_err err = { 0 };
	char text[2048], out[PATH_MAX];

	fx_build("t1/ t2/ base/ t1/d/");
	snprintf(text, sizeof(text),
		 "none /srv/u1 aufs br:%s=rw:%s=ro 0 0\nnone /srv/u2 aufs br:%s=rw:%s=ro 0 0\n",
		 fx_at("t1"), fx_at("base"), fx_at("t2"), fx_at("base"));
	aufs_config_init(&cfg);
	ck_assert_int_eq(aufs_config_parse_fstab(&cfg, text, "F", &err), 0);
	ck_assert_int_eq(aufs_real_to_virtual(&cfg, fx_at("t1/d/f"), out), 0);
	ck_assert_str_eq(out, "/srv/u1/d/f");
	ck_assert_int_eq(aufs_real_to_virtual(&cfg, fx_at("t2"), out), 0);
	ck_assert_str_eq(out, "/srv/u2");
	/* the base is a branch of both: no single answer */
	ck_assert_int_eq(aufs_real_to_virtual(&cfg, fx_at("base/x"), out), -ENOENT);
	ck_assert_int_eq(aufs_real_to_virtual(&cfg, fx_at("t10"), out), -ENOENT);
	aufs_config_release(&cfg);
}
END_TEST

/* ---------------------------------------------------------------- the host table's image */

static char fstab[PATH_MAX], image[PATH_MAX];

static struct aufs_config *open_table(unsigned flags, int expect, const char *notice_has)
{
	struct aufs_err err = { 0 }, notice = { 0 };
	struct aufs_config *cfg = NULL;
	int r = aufs_table_open(fstab, image, flags, &cfg, &err, &notice);

	ck_assert_msg(r == expect, "open: %d (%s), expected %d", r, err.msg, expect);
	if (notice_has)
		ck_assert_msg(notice.code && strstr(notice.msg, notice_has), "notice \"%s\", not %s",
			      notice.msg, notice_has);
	else if (r == 0)
		ck_assert_msg(!notice.code, "unexpected notice \"%s\"", notice.msg);
	return cfg;
}

static void image_setup(int tenants)
{
	char *text = tenants_fstab(tenants, NULL);

	write_text("fstab", text);
	free(text);
	snprintf(fstab, sizeof(fstab), "%s", fx_at("fstab"));
	snprintf(image, sizeof(image), "%s", fx_at("image"));
}

START_TEST(test_image_written_then_mapped)
{
	struct aufs_config *a, *b, parsed;
	struct aufs_err err = { 0 };
	struct stat st;

	image_setup(50);
	a = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(a->table_kind, AUFS_TABLE_MAPPED);
	ck_assert_int_eq(stat(image, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	b = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(b->table_kind, AUFS_TABLE_MAPPED);
	ck_assert_int_eq(b->nunion, 50);
	/* made on first use, equal to the parsed ones, one object per union */
	aufs_config_init(&parsed);
	ck_assert_int_eq(aufs_config_load_fstab(&parsed, fstab, &err), 0);
	for (int i = 0; i < 50; i++) {
		ck_assert_ptr_null(b->unions[i]);
		ck_assert(same_union(aufs_config_union(b, i), parsed.unions[i]));
		ck_assert_ptr_eq(aufs_config_union(b, i), aufs_config_union(b, i));
		ck_assert(aufs_config_union(b, i)->from_table);
	}
	ck_assert_ptr_eq(aufs_config_match(b, fx_at("www/t7/x"), strlen(fx_at("www/t7/x")), NULL),
			 aufs_config_union(b, 7));
	aufs_config_release(&parsed);
	/* not superseded: nobody wrote a newer one */
	ck_assert_uint_eq(*b->superseded, 0);
}
END_TEST

START_TEST(test_changed_fstab_compiled_again)
{
	struct aufs_config *a, *b, *c;
	char *text;

	image_setup(5);
	a = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	/* touched, same text: still used */
	usleep(10000);
	text = tenants_fstab(5, NULL);
	write_text("fstab", text);
	free(text);
	b = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(b->table_kind, AUFS_TABLE_MAPPED);
	ck_assert_uint_eq(*a->superseded, 0);
	/* a line more: compiled and written again, the old image told */
	text = tenants_fstab(6, NULL);
	write_text("fstab", text);
	free(text);
	c = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(c->nunion, 6);
	ck_assert_uint_eq(*a->superseded, 1);
	/* a process of the old image follows it */
	{
		struct aufs_config *d = aufs_table_follow(a);

		ck_assert_ptr_nonnull(d);
		ck_assert_int_eq(d->nunion, 6);
	}
}
END_TEST

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/*
 * aufsctl reload/remount renames the fstab into place, then writes the image: a
 * process that may not write it and starts in between waits for the writer rather
 * than compile a private table that would never follow a later replacement.
 */
START_TEST(test_stale_image_of_a_fresh_fstab_waited_for)
{
	struct aufs_config *a, *b, *c;
	struct timespec t0, t1;
	char *text;
	pid_t pid;
	int status;

	image_setup(5);
	a = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	text = tenants_fstab(6, NULL);
	write_text("fstab", text);
	free(text);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct aufs_err err = { 0 }, notice = { 0 };
		struct aufs_config *w = NULL;

		usleep(50000);
		_exit(aufs_table_open(fstab, image, AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FORCE |
				      AUFS_TABLE_MUST_WRITE, &w, &err, &notice) ? 1 : 0);
	}
	b = open_table(0, 0, NULL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(b->table_kind, AUFS_TABLE_MAPPED);
	ck_assert_int_eq(b->nunion, 6);
	ck_assert_uint_eq(*a->superseded, 1);
	/* nobody writes it: the wait is bounded, then the table is compiled privately */
	text = tenants_fstab(7, NULL);
	write_text("fstab", text);
	free(text);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = open_table(0, 0, "compiled privately");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(c->table_kind, AUFS_TABLE_PRIVATE);
	ck_assert_int_eq(c->nunion, 7);
	ck_assert_msg(ms_between(&t0, &t1) >= 190 && ms_between(&t0, &t1) < 2000,
		      "waited %.0f ms", ms_between(&t0, &t1));
	aufs_config_release(c);	/* a private table is the caller's to free */
	free(c);
}
END_TEST

START_TEST(test_bad_line_refused)
{
	struct aufs_err err = { 0 }, notice = { 0 };
	struct aufs_config *cfg = NULL;
	char *text;

	fx_build("x/");
	text = tenants_fstab(20, "none /srv/bad aufs br:/nonexistent/branch 0 0\n");
	write_text("fstab", text);
	free(text);
	snprintf(fstab, sizeof(fstab), "%s", fx_at("fstab"));
	snprintf(image, sizeof(image), "%s", fx_at("image"));
	ck_assert_int_eq(aufs_table_open(fstab, image, AUFS_TABLE_MAY_WRITE, &cfg, &err, &notice),
			 -ENOENT);
	ck_assert_msg(strstr(err.msg, "fstab:21: branch /nonexistent/branch"), "%s", err.msg);
	ck_assert_int_eq(access(image, F_OK), -1);
}
END_TEST

/* Flip byte OFF of the image; open it again as its owner and as a stranger. */
static void flip_and_open(off_t off, const char *expect_notice)
{
	int fd = open(image, O_RDWR);
	unsigned char c;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, off), 1);
	c ^= 0x5a;
	ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
	close(fd);
	open_table(AUFS_TABLE_MAY_WRITE, 0, expect_notice);
}

START_TEST(test_header_damage_rebuilt)
{
	struct aufs_err err = { 0 };
	char path[PATH_MAX];
	unsigned n;

	image_setup(30);
	open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	/* every byte of the header but the superseded word: refused, rebuilt, said */
	for (off_t off = 0; off < 200; off += 7) {
		if (off >= 40 && off < 44)
			continue;
		flip_and_open(off, "rebuilt");
		ck_assert_int_eq(aufs_table_check(fstab, image, path, sizeof(path), &n, &err), 0);
	}
}
END_TEST

START_TEST(test_body_damage_caught)
{
	struct aufs_err err = { 0 };
	char path[PATH_MAX];
	struct stat st;
	unsigned n;

	image_setup(200);
	open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(stat(image, &st), 0);
	for (off_t off = 256; off < st.st_size; off += st.st_size / 97) {
		struct aufs_config *cfg;
		bool caught = false;
		int fd = open(image, O_RDWR);
		unsigned char c;

		ck_assert_int_eq(pread(fd, &c, 1, off), 1);
		c ^= 0x5a;
		ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
		close(fd);
		/* the whole checksum sees it */
		ck_assert_int_eq(aufs_table_check(fstab, image, path, sizeof(path), &n, &err),
				 -EBADMSG);
		/* a process reading every union and every path sees it, or reads right */
		cfg = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
		for (int i = 0; i < cfg->nunion && !caught; i++) {
			char p[PATH_MAX], real[PATH_MAX], out[PATH_MAX];
			const struct aufs_union *u;

			snprintf(p, sizeof(p), "%s/www/t%d/x", fx_dir, i);
			u = aufs_config_match(cfg, p, strlen(p), NULL);
			snprintf(real, sizeof(real), "%s/tenants/t%d/y", fx_dir, i);
			caught = cfg->corrupt;
			if (caught)
				break;
			ck_assert_msg(u && u == aufs_config_union(cfg, i), "offset %ld union %d",
				      (long)off, i);
			ck_assert_int_eq(aufs_real_to_virtual(cfg, real, out), cfg->corrupt ? -ENOENT : 0);
			caught = cfg->corrupt;
		}
		/* bytes no lookup reads (padding, empty slots' neighbours) may go unseen */
		(void)caught;
		/* the owner writes a good one again */
		open_table(AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FORCE, 0, NULL);
	}
}
END_TEST

/*
 * Offset of the last copy of the NUL-terminated string S in the image of SIZE bytes
 * at IMG, or -1: a union's own name, after the names all unions share (a mount
 * point that is an ancestor of another is one of those too).
 */
static long find_last_string(const char *img, size_t size, const char *s)
{
	size_t n = strlen(s) + 1;
	long found = -1;

	for (size_t i = 0; i + n <= size; i++)
		if (!memcmp(img + i, s, n))
			found = (long)i;
	return found;
}

/*
 * A valid union record (80 bytes, its mount point right after it: aufs-preload(7))
 * copied with its name over another union's record keeps its own check, and the
 * other union's slot then matches the name's prefix: the lookup of that union's
 * mount point must not answer with the copied union (fuzz_image found it).
 */
START_TEST(test_moved_record_caught)
{
	char extra[1024], a[PATH_MAX], b[PATH_MAX], *text, *img;
	const struct aufs_union *u;
	struct aufs_config *cfg;
	long na, nb;
	struct stat st;
	int fd;

	fx_build("tenants/t2sub/");
	snprintf(extra, sizeof(extra), "none %s aufs br:%s=rw:%s=ro,nowarn_perm 0 0\n",
		 fx_at("www/t2/sub"), fx_at("tenants/t2sub"), fx_at("cms"));
	text = tenants_fstab(4, extra);
	write_text("fstab", text);
	free(text);
	snprintf(fstab, sizeof(fstab), "%s", fx_at("fstab"));
	snprintf(image, sizeof(image), "%s", fx_at("image"));
	open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	snprintf(a, sizeof(a), "%s", fx_at("www/t2"));
	snprintf(b, sizeof(b), "%s", fx_at("www/t2/sub"));
	fd = open(image, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	img = malloc((size_t)st.st_size);
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(pread(fd, img, (size_t)st.st_size, 0), st.st_size);
	na = find_last_string(img, (size_t)st.st_size, a);
	nb = find_last_string(img, (size_t)st.st_size, b);
	ck_assert(na >= 80 + 256 && nb >= 80 + 256);
	/* the record of www/t2/sub and its name over those of www/t2 */
	ck_assert_int_eq(pwrite(fd, img + nb - 80, 80 + strlen(b) + 1, na - 80),
			 (ssize_t)(80 + strlen(b) + 1));
	close(fd);
	free(img);
	cfg = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(cfg->table_kind, AUFS_TABLE_MAPPED);
	snprintf(a, sizeof(a), "%s", fx_at("www/t2/x"));
	u = aufs_config_match(cfg, a, strlen(a), NULL);
	ck_assert_msg(!u || !strcmp(u->mnt, fx_at("www/t2")), "www/t2/x answered by %s", u->mnt);
	ck_assert(cfg->corrupt);
}
END_TEST

START_TEST(test_refused_images)
{
	struct aufs_err err = { 0 };
	char path[PATH_MAX];
	unsigned n;
	int fd;

	image_setup(10);
	open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(truncate(image, 100), 0);
	aufs_fault_clear();	/* restarts the counts */
	ck_assert_int_eq(aufs_table_check(fstab, image, path, sizeof(path), &n, &err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));
	/* an image the mapping refused is not unmapped (it once was, at an unset address) */
	ck_assert_uint_eq(aufs_fault_count(SYS_munmap), aufs_fault_count(SYS_mmap));
	open_table(AUFS_TABLE_MAY_WRITE, 0, "truncated; rebuilt");
	ck_assert_int_eq(truncate(image, 0), 0);
	open_table(AUFS_TABLE_MAY_WRITE, 0, "truncated; rebuilt");
	ck_assert_int_eq(chmod(image, 0664), 0);
	ck_assert_int_eq(aufs_table_check(fstab, image, path, sizeof(path), &n, &err), -EPERM);
	open_table(AUFS_TABLE_MAY_WRITE, 0, "writable by group or others; rebuilt");
	/* another version */
	fd = open(image, O_RDWR);
	ck_assert_int_eq(pwrite(fd, "\x01\0\0\0", 4, 8), 4);
	close(fd);
	open_table(AUFS_TABLE_MAY_WRITE, 0, "another format version; rebuilt");
	/* random bytes */
	fd = open(image, O_WRONLY | O_TRUNC);
	for (int i = 0; i < 4096; i++)
		ck_assert_int_eq(write(fd, &(char){ (char)(i * 37) }, 1), 1);
	close(fd);
	open_table(AUFS_TABLE_MAY_WRITE, 0, "not a union table image; rebuilt");
	/* a stranger (geteuid answers nobody's uid) compiles privately and writes nothing */
	ck_assert_int_eq(truncate(image, 10), 0);
	aufs_fault_set_persist(SYS_geteuid, 1, EPERM);
	{
		struct aufs_config *cfg = open_table(AUFS_TABLE_MAY_WRITE, 0, "compiled privately");

		ck_assert_int_eq(cfg->table_kind, AUFS_TABLE_PRIVATE);
		ck_assert_int_eq(cfg->nunion, 10);
		aufs_config_release(cfg);	/* a private one is malloc'd, a mapped one is not */
		free(cfg);
	}
	aufs_fault_clear();
	{
		struct stat st;

		ck_assert_int_eq(stat(image, &st), 0);
		ck_assert_int_eq(st.st_size, 10);
	}
	/* a symbolic link is not followed */
	ck_assert_int_eq(unlink(image), 0);
	ck_assert_int_eq(symlink("/etc/passwd", image), 0);
	open_table(AUFS_TABLE_MAY_WRITE, 0, "a symbolic link; rebuilt");
}
END_TEST

START_TEST(test_foreign_owner)
{
	struct aufs_err err = { 0 };
	char path[PATH_MAX];
	unsigned n;

	if (geteuid() != 0)
		return;	/* needs chown */
	image_setup(3);
	open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(chown(image, 12345, 12345), 0);
	ck_assert_int_eq(aufs_table_check(fstab, image, path, sizeof(path), &n, &err), -EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "foreign"));
	open_table(AUFS_TABLE_MAY_WRITE, 0, "foreign); rebuilt");
}
END_TEST

/* The fallbacks beside IMAGE (IMAGE.HEX), one a line into LIST; their number. */
static int fallbacks(char *list, size_t size)
{
	const char *base = strrchr(image, '/') + 1;
	size_t blen = strlen(base);
	struct dirent *e;
	DIR *d = opendir(fx_dir);
	int n = 0;

	list[0] = 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, base, blen) && e->d_name[blen] == '.' &&
		    strlen(e->d_name) == blen + 17 && !strstr(e->d_name, ".tmp.")) {
			snprintf(list + strlen(list), size - strlen(list), "%s/%s\n", fx_dir,
				 e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

/*
 * Another user's object at the image's name, which this user cannot replace (a
 * directory here: no rename replaces it, whoever runs the test): the image goes
 * beside it, every open maps that one, the next write goes over the same one, and
 * once the name is free the image is there again and the fallback goes.
 */
START_TEST(test_name_held_by_another)
{
	char list[4 * PATH_MAX], path[PATH_MAX], held[PATH_MAX];
	struct aufs_config *a, *b;
	struct aufs_err err = { 0 };
	unsigned n;

	image_setup(6);
	ck_assert_int_eq(mkdir(image, 0755), 0);
	write_text("image/inside", "planted");
	a = open_table(AUFS_TABLE_MAY_WRITE, 0, "a directory of uid");
	ck_assert_int_eq(a->table_kind, AUFS_TABLE_MAPPED);
	ck_assert_int_eq(fallbacks(list, sizeof(list)), 1);
	/* found by every process, silently; check and image name it */
	b = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(b->table_kind, AUFS_TABLE_MAPPED);
	ck_assert_int_eq(b->nunion, 6);
	ck_assert_int_eq(aufs_table_check(fstab, image, path, sizeof(path), &n, &err), 0);
	ck_assert_uint_eq(n, 6);
	ck_assert_int_eq(strncmp(list, path, strlen(path)), 0);
	ck_assert_int_eq(aufs_table_image_in_use(image, geteuid(), held, sizeof(held)), 0);
	ck_assert_str_eq(held, path);
	/* a forced write goes over the same fallback, and its processes are told */
	open_table(AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FORCE | AUFS_TABLE_MUST_WRITE, 0,
		   "which this user cannot replace");
	ck_assert_int_eq(fallbacks(list, sizeof(list)), 1);
	ck_assert_int_eq(strncmp(list, path, strlen(path)), 0);
	ck_assert_uint_eq(*b->superseded, 1);
	/* a fallback name whose file is not trusted is never mapped nor in the way */
	{
		char junk[PATH_MAX];

		snprintf(junk, sizeof(junk), "%s.0123456789abcdef", image);
		ck_assert_int_eq(mkfifo(junk, 0644), 0);
	}
	b = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	ck_assert_int_eq(b->table_kind, AUFS_TABLE_MAPPED);
	/* the name free again: the image is there, the fallbacks of ours go */
	ck_assert_int_eq(unlink(fx_at("image/inside")), 0);
	ck_assert_int_eq(rmdir(image), 0);
	open_table(AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FORCE | AUFS_TABLE_MUST_WRITE, 0, NULL);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_uint_eq(*b->superseded, 1);
	ck_assert_int_eq(aufs_table_check(fstab, image, path, sizeof(path), &n, &err), 0);
	ck_assert_str_eq(path, image);
	/* the FIFO is no image: never removed, never trusted */
	ck_assert_int_eq(fallbacks(list, sizeof(list)), 1);
	ck_assert_ptr_nonnull(strstr(list, ".0123456789abcdef"));
}
END_TEST

START_TEST(test_write_faults)
{
	image_setup(8);
	open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
	for (unsigned nth = 1;; nth++) {
		struct aufs_err err = { 0 };
		struct aufs_config *cfg = open_table(AUFS_TABLE_MAY_WRITE, 0, NULL);
		struct aufs_err notice;
		char path[PATH_MAX];
		unsigned n;
		int fds = fx_count_fds(), r;
		DIR *d;
		struct dirent *e;

		(void)cfg;
		aufs_fault_set(AUFS_FAULT_ANY, nth, EIO);
		r = aufs_table_open(fstab, image, AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FORCE |
				    AUFS_TABLE_MUST_WRITE, &cfg, &err, &notice);
		if (!aufs_fault_fired()) {
			aufs_fault_clear();
			ck_assert_int_eq(r, 0);
			break;
		}
		aufs_fault_clear();
		ck_assert_int_eq(fx_count_fds(), fds);
		/* the image there is whole: the old one or the new one */
		ck_assert_msg(aufs_table_check(fstab, image, path, sizeof(path), &n, &err) == 0 ||
			      err.code == -ESTALE, "fault %u: %s", nth, err.msg);
		/* and no temporary is left */
		d = opendir(fx_dir);
		while ((e = readdir(d)))
			ck_assert_msg(!strstr(e->d_name, ".tmp."), "fault %u left %s", nth, e->d_name);
		closedir(d);
		ck_assert_uint_lt(nth, 200);
	}
}
END_TEST

Suite *table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("table");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_test(tc, test_first_conflict_equals_one_by_one);
	tcase_add_test(tc, test_match_is_longest_mount_point);
	tcase_add_test(tc, test_real_to_virtual);
	tcase_add_test(tc, test_image_written_then_mapped);
	tcase_add_test(tc, test_changed_fstab_compiled_again);
	tcase_add_test(tc, test_stale_image_of_a_fresh_fstab_waited_for);
	tcase_add_test(tc, test_bad_line_refused);
	tcase_add_test(tc, test_header_damage_rebuilt);
	tcase_add_test(tc, test_body_damage_caught);
	tcase_add_test(tc, test_moved_record_caught);
	tcase_add_test(tc, test_refused_images);
	tcase_add_test(tc, test_foreign_owner);
	tcase_add_test(tc, test_name_held_by_another);
	tcase_add_test(tc, test_write_faults);
	suite_add_tcase(s, tc);
	return s;
}
