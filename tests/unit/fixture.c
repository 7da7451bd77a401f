/* SPDX-License-Identifier: MIT */
/*
 * fixture.c - the shared fixture of the fault-injection suites (tests/unit/fixture.h).
 * Plain libc here: only the core goes through the seam of include/aufs/fault.h,
 * so the fixture's own calls are never counted nor failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

char fx_root[PATH_MAX];
char fx_dir[PATH_MAX];
struct aufs_config fx_cfg;

static const char *const std_dirs[] = { "t", "w", "b", "mnt", "out" };

void fx_fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < size, "%d bytes do not fit in %zu", n, size);
}

void fx_case_setup(void)
{
	char tmpl[] = "/tmp/aufs-check-fault-XXXXXX";
	char *canon;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	canon = realpath(tmpl, NULL);	/* canonical, as the parser makes branch paths */
	ck_assert_ptr_nonnull(canon);
	ck_assert_uint_lt(strlen(canon), sizeof(fx_root) - 64);
	strcpy(fx_root, canon);
	free(canon);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(p);
	return unlink(p);
}

/*
 * The shared states (System V segments, src/core/state_shm.c) whose mount point
 * is DIR or below, and every segment this process made (a persistent fault can
 * fail the removal of one it could not fill): segments outlive their processes,
 * and a test removes its branches (and the links naming them) without them.
 */
void fx_remove_states(const char *dir)
{
	size_t len = strlen(dir);
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);

	for (int i = 0; i <= max; i++) {
		struct shmid_ds ds;
		int id = shmctl(i, SHM_STAT, &ds);
		const struct aufs_shm *shm;

		if (id < 0)
			continue;
		if (ds.shm_cpid == getpid()) {
			shmctl(id, IPC_RMID, NULL);
			continue;
		}
		if (ds.shm_segsz != AUFS_SHM_SIZE)
			continue;
		shm = shmat(id, NULL, SHM_RDONLY);
		if (shm == (void *)-1)
			continue;
		if (shm->magic == AUFS_SHM_MAGIC && strncmp(shm->mnt, dir, len) == 0 &&
		    (shm->mnt[len] == '/' || shm->mnt[len] == 0))
			shmctl(id, IPC_RMID, NULL);
		shmdt(shm);
	}
}

void fx_case_teardown(void)
{
	if (!fx_root[0])
		return;
	fx_remove_states(fx_root);
	/* a test may have left a directory without write permission */
	nftw(fx_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	fx_root[0] = 0;
}

static void mkdirs(const char *path)
{
	char p[PATH_MAX];

	fx_fmt(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p,
			      strerror(errno));
		*s = '/';
	}
	ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

static void unpublish(void)
{
	aufs_state_publish(NULL);
	if (fx_dir[0])
		fx_remove_states(fx_dir);
	aufs_config_release(&fx_cfg);
	aufs_lookup_flush();
}

void fx_fresh(void)
{
	unpublish();
	fx_fmt(fx_dir, sizeof(fx_dir), "%s/tXXXXXX", fx_root);
	ck_assert_ptr_nonnull(mkdtemp(fx_dir));
	for (size_t i = 0; i < sizeof(std_dirs) / sizeof(std_dirs[0]); i++)
		mkdirs(fx_at(std_dirs[i]));
	aufs_config_init(&fx_cfg);
}

void fx_test_setup(void)
{
	ck_assert_msg(fx_root[0], "no test case directory");
	aufs_config_init(&fx_cfg);
	fx_fresh();
}

void fx_test_teardown(void)
{
	unpublish();
	aufs_cwd_set(NULL);
}

const char *fx_ex(const char *t)
{
	static char buf[8][PATH_MAX * 2];
	static int next;
	char *out = buf[next++ % 8];
	size_t n = 0, dl = strlen(fx_dir);

	if (!t)
		return NULL;
	for (; *t; t++) {
		if (*t == '@') {
			ck_assert_uint_lt(n + dl, sizeof(buf[0]) - 1);
			memcpy(out + n, fx_dir, dl);
			n += dl;
		} else {
			ck_assert_uint_lt(n + 1, sizeof(buf[0]) - 1);
			out[n++] = *t;
		}
	}
	out[n] = 0;
	return out;
}

const char *fx_at(const char *rel)
{
	static char buf[8][PATH_MAX];
	static int next;
	char *out = buf[next++ % 8];

	fx_fmt(out, PATH_MAX, "%s/%s", fx_dir, rel);
	return out;
}

static void mkparents(const char *rel)
{
	char p[PATH_MAX];
	char *slash;

	fx_fmt(p, sizeof(p), "%s", fx_at(rel));
	slash = strrchr(p, '/');
	*slash = 0;
	mkdirs(p);
}

void fx_put(const char *rel, const char *content, unsigned mode)
{
	size_t len = strlen(content);
	int fd;

	mkparents(rel);
	fd = open(fx_at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_msg(fd >= 0, "open %s: %s", fx_at(rel), strerror(errno));
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

void fx_build(const char *layout)
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
			mkparents(tok);
			ck_assert_msg(symlink(fx_ex(arrow + 2), fx_at(tok)) == 0, "symlink %s: %s",
				      tok, strerror(errno));
		} else if (tok[len - 1] == '/') {
			tok[len - 1] = 0;
			mkdirs(fx_at(tok));
		} else {
			fx_put(tok, tok, 0644);
		}
	}
	free(copy);
}

struct aufs_union *fx_add_union(const char *opts, const char *mnt)
{
	struct aufs_union *u = NULL;
	struct aufs_err err;
	int r;

	r = aufs_union_parse(fx_ex(opts), fx_ex(mnt), &u, &err);
	ck_assert_msg(r == 0, "parse \"%s\": %d %s", fx_ex(opts), r, err.msg);
	r = aufs_config_add(&fx_cfg, u, &err);
	ck_assert_msg(r == 0, "add \"%s\": %d %s", fx_ex(opts), r, err.msg);
	return fx_cfg.unions[fx_cfg.nunion - 1];
}

struct aufs_union *fx_start(const char *layout, const char *opts)
{
	struct aufs_union *u;

	fx_build(layout);
	u = fx_add_union(opts, "@/mnt");
	aufs_state_publish(&fx_cfg);
	return u;
}

int fx_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		/* the branch roots the core holds for good (util_root.c) are not leaks */
		n += e->d_name[0] != '.' && !aufs_root_is_held(atoi(e->d_name));
	closedir(d);
	return n - 1;	/* the listing's own */
}

/* ---------------------------------------------------------------- snapshots */

struct lines {
	char **v;
	size_t n, cap;
};

static void add_line(struct lines *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		ck_assert_ptr_nonnull(l->v);
	}
	l->v[l->n++] = s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(struct lines *l)
{
	size_t total = 1;
	char *out, *p;

	if (l->n)	/* qsort wants a non-null array even for no element */
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	for (size_t i = 0; i < l->n; i++)
		total += strlen(l->v[i]) + 1;
	p = out = malloc(total);
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < l->n; i++) {
		p = stpcpy(p, l->v[i]);
		*p++ = '\n';
		free(l->v[i]);
	}
	*p = 0;
	free(l->v);
	return out;
}

/* The content of a file for a line: its first bytes, readable, and a hash of all of it. */
static void content_of(int fd, char *buf, size_t size)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	char chunk[65536];
	size_t shown = 0;
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			h = (h ^ (unsigned char)chunk[i]) * 0x100000001b3ULL;
			if (shown < 40 && shown + 20 < size)
				buf[shown++] = chunk[i] > ' ' && chunk[i] < 127 ? chunk[i] : '_';
		}
	}
	ck_assert_int_ge(n, 0);
	snprintf(buf + shown, size - shown, ":%016llx", h);
}

static char *entry_line(const char *name, const struct stat *st, const char *content)
{
	char *s;
	char type = S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l' :
		    S_ISREG(st->st_mode) ? 'f' : 'o';

	ck_assert_int_ge(asprintf(&s, "%s %c %04o %u %u %lld %s", name, type,
				  (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid,
				  (unsigned)st->st_gid,
				  S_ISDIR(st->st_mode) ? 0LL : (long long)st->st_size, content), 0);
	return s;
}

static void walk_real(const char *base, const char *rel, const char *const *ignore,
		      struct lines *l)
{
	char path[PATH_MAX], sub[PATH_MAX], content[4096];
	struct dirent *e;
	DIR *d;

	fx_fmt(path, sizeof(path), "%s%s%s", base, *rel ? "/" : "", rel);
	d = opendir(path);
	ck_assert_msg(d != NULL, "opendir %s: %s", path, strerror(errno));
	while ((e = readdir(d))) {
		struct stat st;
		bool skip = false;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		for (size_t i = 0; ignore && ignore[i]; i++)
			skip |= !strcmp(e->d_name, ignore[i]);
		/* the link to the union's shared state: made when the union is first used */
		skip |= !strncmp(e->d_name, AUFS_SHM_LINK_PREFIX, sizeof(AUFS_SHM_LINK_PREFIX) - 1);
		if (skip)
			continue;
		fx_fmt(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		fx_fmt(path, sizeof(path), "%s/%s", base, sub);
		ck_assert_int_eq(lstat(path, &st), 0);
		content[0] = 0;
		if (S_ISREG(st.st_mode)) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);

			ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
			content_of(fd, content, sizeof(content));
			close(fd);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(path, content, sizeof(content) - 1);

			content[n > 0 ? n : 0] = 0;
		}
		add_line(l, entry_line(sub, &st, content));
		if (S_ISDIR(st.st_mode))
			walk_real(base, sub, ignore, l);
	}
	closedir(d);
}

char *fx_snapshot(const char *rel, const char *const *ignore)
{
	struct lines l = { 0 };

	walk_real(fx_at(rel), "", ignore, &l);
	return join(&l);
}

static void walk_view(const char *rel, struct lines *l)
{
	char path[PATH_MAX], sub[PATH_MAX], content[4096];
	struct aufs_loc *loc = malloc(sizeof(*loc));
	struct aufs_dir *d;
	struct dirent64 *e;
	int r;

	ck_assert_ptr_nonnull(loc);
	fx_fmt(path, sizeof(path), "%s/mnt%s%s", fx_dir, *rel ? "/" : "", rel);
	r = aufs_resolve(AT_FDCWD, path, 0, loc);
	ck_assert_msg(r == 0 && loc->u, "resolve %s: %d", path, r);
	r = aufs_dir_open(loc, -1, &d);
	ck_assert_msg(r == 0, "aufs_dir_open %s: %d", path, r);
	while ((e = aufs_dir_read(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		fx_fmt(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		fx_fmt(path, sizeof(path), "%s/mnt/%s", fx_dir, sub);
		r = aufs_fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW);
		ck_assert_msg(r == 0, "aufs_fstatat %s (listed): %d", path, r);
		content[0] = 0;
		if (S_ISREG(st.st_mode)) {
			int fd = aufs_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);

			ck_assert_msg(fd >= 0 && fd != AUFS_PASS, "aufs_openat %s: %d", path, fd);
			content_of(fd, content, sizeof(content));
			close(fd);
			aufs_fd_forget(fd);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t n = aufs_readlinkat(AT_FDCWD, path, content, sizeof(content) - 1);

			content[n > 0 ? n : 0] = 0;
		}
		add_line(l, entry_line(sub, &st, content));
		if (S_ISDIR(st.st_mode))
			walk_view(sub, l);
	}
	aufs_dir_close(d);
	free(loc);
}

char *fx_view(void)
{
	struct lines l = { 0 };

	walk_view("", &l);
	return join(&l);
}

static bool has_line(const char *text, const char *line, size_t len)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n == len && !memcmp(p, line, len))
			return true;
		p += n + (nl != NULL);
	}
	return false;
}

char *fx_minus(const char *a, const char *b)
{
	struct lines l = { 0 };

	for (const char *p = a; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (!has_line(b, p, n))
			add_line(&l, strndup(p, n));
		p += n + (nl != NULL);
	}
	return join(&l);
}

bool fx_subset(const char *a, const char *b)
{
	char *m = fx_minus(a, b);
	bool r = !*m;

	free(m);
	return r;
}
