/* SPDX-License-Identifier: MIT */
/*
 * ftw.c - ftw, ftw64, nftw, nftw64, hand-written: when the start can see a
 * union (walk.c), a walker of our own on shim_opendir/shim_readdir/
 * shim_fstatat/shim_chdir; every directory is read whole and closed before its
 * entries are visited, so NOPENFD is never exceeded. stat64 and stat have one
 * layout on x86-64 (glob.c checks it): the *64 names share the bodies.
 */
#include <ftw.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

typedef int (*nftw_fn)(const char *, const struct stat *, int, struct FTW *);
typedef int (*ftw_fn)(const char *, const struct stat *, int);

struct tw {
	nftw_fn fn;		/* nftw's callback, or */
	ftw_fn ofn;		/* ftw's */
	int flags;
	char *buf;		/* PRE bytes of prefix, then the path the callback sees */
	size_t cap;
	size_t pre;		/* FTW_CHDIR and a relative start: the old cwd and '/' */
	struct FTW ftw;		/* base counts from buf + pre */
	struct devkey dev;	/* the start's, for FTW_MOUNT */
	void *seen;		/* tsearch tree of the directories entered (not FTW_PHYS) */
};

struct tw_obj {
	dev_t dev;
	ino_t ino;
};

static int tw_obj_cmp(const void *a, const void *b)
{
	const struct tw_obj *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* 1: ST's directory was entered before (a logical walk skips it), 0: noted now, -1. */
static int tw_seen(struct tw *w, const struct stat *st)
{
	struct tw_obj key = { st->st_dev, st->st_ino }, *o;
	void *slot;

	if (tfind(&key, &w->seen, tw_obj_cmp))
		return 1;
	o = malloc(sizeof(*o));
	if (!o)
		return -1;
	*o = key;
	slot = tsearch(o, &w->seen, tw_obj_cmp);
	if (!slot) {
		free(o);
		return -1;
	}
	return 0;
}

static int tw_call(struct tw *w, const struct stat *st, int flag)
{
	/* ftw(3) has no FTW_SL, FTW_DP and FTW_SLN: glibc maps them so */
	static const int old_flag[] = {
		[FTW_F] = FTW_F, [FTW_D] = FTW_D, [FTW_DNR] = FTW_DNR, [FTW_NS] = FTW_NS,
		[FTW_SL] = FTW_F, [FTW_DP] = FTW_D, [FTW_SLN] = FTW_NS,
	};

	if (w->ofn)
		return w->ofn(w->buf + w->pre, st, old_flag[flag]);
	return w->fn(w->buf + w->pre, st, flag, &w->ftw);
}

static int tw_reserve(struct tw *w, size_t need)
{
	char *nb;

	if (need <= w->cap)
		return 0;
	nb = realloc(w->buf, need * 2);
	if (!nb)
		return -1;
	w->buf = nb;
	w->cap = need * 2;
	return 0;
}

/* chdir to the directory holding the object named in w->buf: its part before ftw.base. */
static int tw_chdir_parent(struct tw *w)
{
	size_t cut = w->pre + (size_t)w->ftw.base;
	char c;
	int r;

	if (cut <= 1)
		return cut == 1 ? shim_chdir("/") : 0;	/* "/x", or a name in the cwd */
	c = w->buf[cut - 1];
	w->buf[cut - 1] = 0;
	r = shim_chdir(w->buf);
	w->buf[cut - 1] = c;
	return r;
}

struct names {
	char *v;
	size_t len, cap;
};

/* Every name of DP but "." and "..", NUL-separated, into N. 0 or -1 (errno). */
static int names_read(DIR *dp, struct names *n)
{
	struct dirent *e;

	while ((e = shim_readdir(dp))) {
		size_t l = strlen(e->d_name) + 1;

		if (e->d_name[0] == '.' && (l == 2 || (l == 3 && e->d_name[1] == '.')))
			continue;
		if (n->len + l > n->cap) {
			size_t cap = (n->len + l) * 2 + 256;
			char *v = realloc(n->v, cap);

			if (!v)
				return -1;
			n->v = v;
			n->cap = cap;
		}
		memcpy(n->v + n->len, e->d_name, l);
		n->len += l;
	}
	return 0;
}

static int tw_entry(struct tw *w, const char *name, size_t dirlen);

/* The directory at w->buf, described by ST. TOP: the start of the walk. */
static int tw_dir(struct tw *w, const struct stat *st, bool top)
{
	struct names n = { 0 };
	int old_base = w->ftw.base;
	size_t dirend, len, pos;
	DIR *dp;
	int r, e;

	dp = shim_opendir(w->buf);
	if (!dp)
		return errno == EACCES ? tw_call(w, st, FTW_DNR) : -1;
	if (!(w->flags & FTW_DEPTH)) {
		r = tw_call(w, st, FTW_D);
		if (r) {
			e = errno;
			(void)shim_closedir(dp);	/* only read from */
			errno = e;
			return r;
		}
	}
	r = names_read(dp, &n);
	e = errno;
	(void)shim_closedir(dp);	/* only read from */
	errno = e;
	if (r < 0)
		goto out;
	if ((w->flags & FTW_CHDIR) && shim_chdir(w->buf) < 0) {
		r = -1;
		goto out;
	}
	w->ftw.level++;
	dirend = len = strlen(w->buf);
	if (w->buf[len - 1] != '/')
		w->buf[len++] = '/';	/* the buffer always has room for one more */
	w->ftw.base = (int)(len - w->pre);
	for (pos = 0; pos < n.len; pos += strlen(n.v + pos) + 1) {
		r = tw_entry(w, n.v + pos, len);
		if (r)
			break;
	}
	if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SIBLINGS)
		r = 0;
	w->buf[dirend] = 0;
	w->ftw.level--;
	w->ftw.base = old_base;
	if (r == 0 && (w->flags & FTW_DEPTH))
		r = tw_call(w, st, FTW_DP);
	if (!top && (w->flags & FTW_CHDIR) &&
	    (r == 0 || ((w->flags & FTW_ACTIONRETVAL) && r != -1 && r != FTW_STOP)) &&
	    tw_chdir_parent(w) < 0)
		r = -1;
out:
	free(n.v);
	return r;
}

static int tw_entry(struct tw *w, const char *name, size_t dirlen)
{
	size_t nlen = strlen(name);
	struct stat st;
	int r = 0, flag;

	if (tw_reserve(w, dirlen + nlen + 2) < 0)
		return -1;
	memcpy(w->buf + dirlen, name, nlen + 1);
	if (shim_fstatat(AT_FDCWD, w->buf, &st, (w->flags & FTW_PHYS) ? AT_SYMLINK_NOFOLLOW : 0)) {
		if (errno != EACCES && errno != ENOENT)
			return -1;
		if (!(w->flags & FTW_PHYS) &&
		    shim_fstatat(AT_FDCWD, w->buf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode)) {
			flag = FTW_SLN;
		} else {
			memset(&st, 0, sizeof(st));
			flag = FTW_NS;
		}
	} else {
		flag = S_ISDIR(st.st_mode) ? FTW_D : S_ISLNK(st.st_mode) ? FTW_SL : FTW_F;
	}
	if (flag != FTW_NS && (w->flags & FTW_MOUNT)) {
		struct devkey k;

		walk_dev_key(w->buf, &st, !(w->flags & FTW_PHYS), &k);
		if (!walk_dev_eq(&k, &w->dev))
			return 0;	/* another file system: not even reported */
	}
	if (flag == FTW_D) {
		if (!(w->flags & FTW_PHYS)) {
			r = tw_seen(w, &st);
			if (r)
				return r < 0 ? -1 : 0;
		}
		r = tw_dir(w, &st, false);
	} else {
		r = tw_call(w, &st, flag);
	}
	if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SUBTREE)
		r = 0;
	return r;
}

/*
 * The start PATH into W's buffer: made absolute with FTW_CHDIR when relative
 * (our paths must stay valid in every directory we enter; CWD, PATH_MAX bytes,
 * gets the cwd then), without its trailing slashes. 0 or -1 (errno).
 */
static int tw_start(struct tw *w, const char *path, char *cwd)
{
	size_t len = strlen(path), end, b;

	if (w->flags & FTW_CHDIR) {
		if (!shim_getcwd(cwd, PATH_MAX))
			return -1;
		if (path[0] != '/')
			w->pre = strlen(cwd) + (cwd[1] != 0);
	}
	w->cap = w->pre + len + PATH_MAX;
	w->buf = malloc(w->cap);
	if (!w->buf)
		return -1;
	if (w->pre) {
		memcpy(w->buf, cwd, w->pre - 1);
		w->buf[w->pre - 1] = '/';
	}
	memcpy(w->buf + w->pre, path, len + 1);
	/* glibc reports the start without its trailing slashes, "/" excepted */
	for (end = w->pre + len; end > w->pre + 1 && w->buf[end - 1] == '/'; end--)
		;
	w->buf[end] = 0;
	for (b = end; b > w->pre && w->buf[b - 1] != '/'; b--)
		;
	w->ftw.base = (int)(b - w->pre);
	w->ftw.level = 0;
	return 0;
}

/* Visit the start of the walk, named in W's buffer. */
static int tw_top(struct tw *w)
{
	int nofollow = (w->flags & FTW_PHYS) ? AT_SYMLINK_NOFOLLOW : 0;
	struct stat st;

	if ((w->flags & FTW_CHDIR) && w->ftw.base > 0 && tw_chdir_parent(w))
		return -1;
	if (shim_fstatat(AT_FDCWD, w->buf, &st, nofollow)) {
		/* no FTW_NS for the start: glibc fails the walk, unless it is a dangling link */
		if (!nofollow && errno == ENOENT &&
		    shim_fstatat(AT_FDCWD, w->buf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			return tw_call(w, &st, FTW_SLN);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return tw_call(w, &st, S_ISLNK(st.st_mode) ? FTW_SL : FTW_F);
	if (w->flags & FTW_MOUNT)
		walk_dev_key(w->buf, &st, !(w->flags & FTW_PHYS), &w->dev);
	if (!(w->flags & FTW_PHYS) && tw_seen(w, &st) < 0)
		return -1;
	return tw_dir(w, &st, true);
}

static int walk_tree(const char *path, nftw_fn fn, ftw_fn ofn, int flags)
{
	struct tw w = { .fn = fn, .ofn = ofn, .flags = flags };
	int saved = errno;	/* a walk that succeeds leaves errno as it found it */
	char cwd[PATH_MAX];
	int r, e;

	if (!path[0]) {
		errno = ENOENT;
		return -1;
	}
	if (tw_start(&w, path, cwd) < 0)
		return -1;
	r = tw_top(&w);
	if ((flags & FTW_ACTIONRETVAL) && (r == FTW_SKIP_SUBTREE || r == FTW_SKIP_SIBLINGS))
		r = 0;
	if (flags & FTW_CHDIR) {
		e = errno;
		(void)shim_chdir(cwd);	/* as glibc: a failed return is not reported */
		errno = e;
	}
	e = errno;
	tdestroy(w.seen, free);
	free(w.buf);
	errno = r == 0 ? saved : e;
	return r;
}

#define NFTW_FLAGS (FTW_PHYS | FTW_MOUNT | FTW_CHDIR | FTW_DEPTH | FTW_ACTIONRETVAL)

AUFS_EXPORT int nftw(const char *path, nftw_fn fn, int nopenfd, int flags)
{
	if (!walk_ours(path))
		return REAL(nftw)(path, (int (*)(const char *, const struct stat *, int, void *))fn,
				  nopenfd, flags);
	if (flags & ~NFTW_FLAGS) {
		errno = EINVAL;
		return -1;
	}
	return walk_tree(path, fn, NULL, flags);
}

AUFS_EXPORT int nftw64(const char *path, __nftw64_func_t fn, int nopenfd, int flags)
{
	if (!walk_ours(path))
		return REAL(nftw64)(path, (int (*)(const char *, const struct stat64 *, int,
						   void *))fn, nopenfd, flags);
	if (flags & ~NFTW_FLAGS) {
		errno = EINVAL;
		return -1;
	}
	return walk_tree(path, (nftw_fn)fn, NULL, flags);
}

AUFS_EXPORT int ftw(const char *path, ftw_fn fn, int nopenfd)
{
	if (!walk_ours(path))
		return REAL(ftw)(path, fn, nopenfd);
	return walk_tree(path, NULL, fn, 0);
}

AUFS_EXPORT int ftw64(const char *path, __ftw64_func_t fn, int nopenfd)
{
	if (!walk_ours(path))
		return REAL(ftw64)(path, fn, nopenfd);
	return walk_tree(path, NULL, (ftw_fn)fn, 0);
}
