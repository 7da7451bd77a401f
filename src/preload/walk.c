/* SPDX-License-Identifier: MIT */
/*
 * walk.c - the libc functions that read directory trees with glibc's internal
 * opendir/readdir/stat, which never reach our wrappers (interposition.md 1.6).
 *
 *   glob, glob64        the real glob with GLOB_ALTDIRFUNC, its callbacks set to
 *                       the shims of dir.c and stat.c (glob64_t and glob_t, stat64
 *                       and stat have one layout on x86-64: one body serves both)
 *   ftw, ftw64, nftw, nftw64
 *                       a walker of our own on shim_opendir/shim_readdir/
 *                       shim_fstatat/shim_chdir; every directory is read whole
 *                       and closed before its entries are visited, so NOPENFD
 *                       is never exceeded
 *   fts_open, fts_read, fts_children, fts_set, fts_close and the fts64_* names
 *                       our own FTS when a root touches a union (always
 *                       FTS_NOCHDIR: fts_accpath is fts_path); the FTS objects
 *                       we hand out are kept in a registry, so the four others
 *                       pass glibc's own objects to glibc
 * globfree, globfree64 only free memory: not wrapped.
 *
 * Everything passes through untouched when no union is configured or when the
 * walk can never enter one: its start resolves outside every union and is not
 * an ancestor of a mount point (a walk of the mount point's parent descends
 * into the union, where glibc would read the host's directory).
 */
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <pthread.h>
#include <search.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

_Static_assert(sizeof(glob64_t) == sizeof(glob_t) &&
	       offsetof(glob64_t, gl_stat) == offsetof(glob_t, gl_stat),
	       "glob64_t and glob_t differ: glob64 needs its own callbacks");
_Static_assert(sizeof(struct stat64) == sizeof(struct stat), "stat64 and stat differ");
_Static_assert(sizeof(FTS64) == sizeof(FTS) && sizeof(FTSENT64) == sizeof(FTSENT) &&
	       offsetof(FTSENT64, fts_statp) == offsetof(FTSENT, fts_statp) &&
	       offsetof(FTSENT64, fts_name) == offsetof(FTSENT, fts_name),
	       "FTSENT64 and FTSENT differ: fts64_* need their own bodies");

/* ---------------------------------------------------------------- deciding */

/*
 * Is absolute or cwd-relative PATH, taken lexically, a strict ancestor of some
 * union's mount point? BUF holds PATH_MAX bytes. A ".." answers yes: the walk
 * then takes our route, which is right everywhere, only slower.
 */
static bool above_mount(const char *path, char *buf)
{
	const char *p, *e;
	size_t len = 0, n;

	if (path[0] != '/') {
		if (!shim_getcwd(buf, PATH_MAX))
			return true;
		len = strlen(buf);
		if (len == 1)
			len = 0;	/* "/" */
	}
	for (p = path; *p; p = e) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		n = (size_t)(e - p);
		if (n == 1 && p[0] == '.')
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		if (len + 1 + n >= PATH_MAX)
			return true;
		buf[len++] = '/';
		memcpy(buf + len, p, n);
		len += n;
	}
	if (len == 0)
		buf[len++] = '/';
	buf[len] = 0;
	return aufs_config_is_ancestor(aufs_state_config(), buf, len);
}

/* Can a walk that starts at PATH see a union? (aufs_active() is true.) */
static bool touches_union(const char *path)
{
	struct aufs_loc loc;

	if (aufs_resolve(AT_FDCWD, path, 0, &loc) != AUFS_PASS)
		return true;
	return above_mount(path, loc.virt);
}

/*
 * The identity of the file system an object is on, for FTW_MOUNT and FTS_XDEV.
 * Inside a union it is the union (aufs gives all of it one st_dev), not the
 * device of the branch that happens to hold the object.
 */
struct devkey {
	const void *u;
	dev_t dev;
};

static void dev_key(const char *path, const struct stat *st, bool follow, struct devkey *k)
{
	struct aufs_loc loc;

	k->u = NULL;
	k->dev = st->st_dev;
	if (aufs_resolve(AT_FDCWD, path, follow ? 0 : AUFS_RESOLVE_NOFOLLOW, &loc) == 0 && loc.u) {
		k->u = loc.u;
		k->dev = 0;
	}
}

static bool dev_eq(const struct devkey *a, const struct devkey *b)
{
	return a->u == b->u && a->dev == b->dev;
}

/* ---------------------------------------------------------------- glob */

static void *glob_opendir(const char *path)
{
	return shim_opendir(path);
}

static struct dirent *glob_readdir(void *dp)
{
	return shim_readdir(dp);
}

static void glob_closedir(void *dp)
{
	(void)shim_closedir(dp);	/* glob has no way to report it */
}

static int glob_stat(const char *path, struct stat *st)
{
	return shim_fstatat(AT_FDCWD, path, st, 0);
}

static int glob_lstat(const char *path, struct stat *st)
{
	return shim_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

/*
 * The directory PATTERN starts in: its part before the first wildcard, up to
 * the last '/' (the whole pattern when it has none), into BUF (PATH_MAX bytes).
 * false when a backslash, a brace or a tilde makes that unclear.
 */
static bool glob_fixed_dir(const char *pat, int flags, char *buf)
{
	size_t i, slash = (size_t)-1;

	if (pat[0] == '~' && (flags & (GLOB_TILDE | GLOB_TILDE_CHECK)))
		return false;
	for (i = 0; pat[i]; i++) {
		char c = pat[i];

		if ((c == '\\' && !(flags & GLOB_NOESCAPE)) || (c == '{' && (flags & GLOB_BRACE)))
			return false;
		if (c == '*' || c == '?' || c == '[')
			break;
		if (c == '/')
			slash = i;
	}
	if (!pat[i])
		slash = i;		/* no wildcard: glob only tests the name */
	else if (slash == (size_t)-1)
		slash = 0;		/* "x*": the cwd */
	else if (slash == 0)
		slash = 1;		/* "/x*" */
	if (slash >= PATH_MAX)
		return false;
	if (slash == 0) {
		memcpy(buf, ".", 2);
	} else {
		memcpy(buf, pat, slash);
		buf[slash] = 0;
	}
	return true;
}

typedef int (*glob_fn)(const char *, int, int (*)(const char *, int), void *);

static int walk_glob(glob_fn real, const char *pattern, int flags,
		     int (*errfunc)(const char *, int), glob_t *g)
{
	char dir[PATH_MAX];
	glob_t saved;
	int r;

	/* a caller's own GLOB_ALTDIRFUNC callbacks reach our wrappers through the PLT */
	if (!aufs_active() || (flags & GLOB_ALTDIRFUNC))
		return real(pattern, flags, errfunc, g);
	pattern = AUFS_LAUNDER(pattern);
	g = AUFS_LAUNDER(g);
	if (!pattern || !g)
		return real(pattern, flags, errfunc, g);
	if (glob_fixed_dir(pattern, flags, dir) && !touches_union(dir))
		return real(pattern, flags, errfunc, g);
	saved = *g;
	g->gl_opendir = glob_opendir;
	g->gl_readdir = glob_readdir;
	g->gl_closedir = glob_closedir;
	g->gl_stat = glob_stat;
	g->gl_lstat = glob_lstat;
	r = real(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);
	/* leave the glob_t as a call without the callbacks would */
	g->gl_flags &= ~GLOB_ALTDIRFUNC;
	g->gl_opendir = saved.gl_opendir;
	g->gl_readdir = saved.gl_readdir;
	g->gl_closedir = saved.gl_closedir;
	g->gl_stat = saved.gl_stat;
	g->gl_lstat = saved.gl_lstat;
	return r;
}

AUFS_EXPORT int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g)
{
	return walk_glob(REAL(glob), pattern, flags, errfunc, g);
}

AUFS_EXPORT int glob64(const char *pattern, int flags, int (*errfunc)(const char *, int),
		       glob64_t *g)
{
	return walk_glob(REAL(glob64), pattern, flags, errfunc, (glob_t *)g);
}

/* ---------------------------------------------------------------- ftw, nftw */

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

		dev_key(w->buf, &st, !(w->flags & FTW_PHYS), &k);
		if (!dev_eq(&k, &w->dev))
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

static int walk_tree(const char *path, nftw_fn fn, ftw_fn ofn, int flags)
{
	struct tw w = { .fn = fn, .ofn = ofn, .flags = flags };
	char cwd[PATH_MAX];
	int saved = errno;
	size_t len, end, b;
	int nofollow = (flags & FTW_PHYS) ? AT_SYMLINK_NOFOLLOW : 0;
	struct stat st;
	int r = 0;

	if (!path[0]) {
		errno = ENOENT;
		return -1;
	}
	len = strlen(path);
	if (flags & FTW_CHDIR) {
		/* our paths stay valid in every directory we enter: absolute ones */
		if (!shim_getcwd(cwd, sizeof(cwd)))
			return -1;
		if (path[0] != '/')
			w.pre = strlen(cwd) + (cwd[1] != 0);
	}
	w.cap = w.pre + len + PATH_MAX;
	w.buf = malloc(w.cap);
	if (!w.buf)
		return -1;
	if (w.pre) {
		memcpy(w.buf, cwd, w.pre - 1);
		w.buf[w.pre - 1] = '/';
	}
	memcpy(w.buf + w.pre, path, len + 1);
	/* glibc reports the start without its trailing slashes, "/" excepted */
	for (end = w.pre + len; end > w.pre + 1 && w.buf[end - 1] == '/'; end--)
		;
	w.buf[end] = 0;
	for (b = end; b > w.pre && w.buf[b - 1] != '/'; b--)
		;
	w.ftw.base = (int)(b - w.pre);
	w.ftw.level = 0;
	if ((flags & FTW_CHDIR) && w.ftw.base > 0)
		r = tw_chdir_parent(&w);
	if (r == 0 && shim_fstatat(AT_FDCWD, w.buf, &st, nofollow)) {
		/* no FTW_NS for the start: glibc fails the walk, unless it is a dangling link */
		if (!nofollow && errno == ENOENT &&
		    shim_fstatat(AT_FDCWD, w.buf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			r = tw_call(&w, &st, FTW_SLN);
		else
			r = -1;
	} else if (r == 0 && S_ISDIR(st.st_mode)) {
		if (flags & FTW_MOUNT)
			dev_key(w.buf, &st, !(flags & FTW_PHYS), &w.dev);
		if (!(flags & FTW_PHYS))
			r = tw_seen(&w, &st) < 0 ? -1 : 0;
		if (r == 0)
			r = tw_dir(&w, &st, true);
	} else if (r == 0) {
		r = tw_call(&w, &st, S_ISLNK(st.st_mode) ? FTW_SL : FTW_F);
	}
	if ((flags & FTW_ACTIONRETVAL) && (r == FTW_SKIP_SUBTREE || r == FTW_SKIP_SIBLINGS))
		r = 0;
	if (flags & FTW_CHDIR) {
		int e = errno;

		(void)shim_chdir(cwd);	/* as glibc: a failed return is not reported */
		errno = e;
	}
	{
		int e = errno;

		tdestroy(w.seen, free);
		free(w.buf);
		errno = r == 0 ? saved : e;
	}
	return r;
}

#define NFTW_FLAGS (FTW_PHYS | FTW_MOUNT | FTW_CHDIR | FTW_DEPTH | FTW_ACTIONRETVAL)

AUFS_EXPORT int nftw(const char *path, nftw_fn fn, int nopenfd, int flags)
{
	if (!aufs_active())
		return REAL(nftw)(path, (int (*)(const char *, const struct stat *, int, void *))fn,
				  nopenfd, flags);
	path = AUFS_LAUNDER(path);
	if (!path || !touches_union(path))
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
	if (!aufs_active())
		return REAL(nftw64)(path, (int (*)(const char *, const struct stat64 *, int,
						   void *))fn, nopenfd, flags);
	path = AUFS_LAUNDER(path);
	if (!path || !touches_union(path))
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
	if (!aufs_active())
		return REAL(ftw)(path, fn, nopenfd);
	path = AUFS_LAUNDER(path);
	if (!path || !touches_union(path))
		return REAL(ftw)(path, fn, nopenfd);
	return walk_tree(path, NULL, fn, 0);
}

AUFS_EXPORT int ftw64(const char *path, __ftw64_func_t fn, int nopenfd)
{
	if (!aufs_active())
		return REAL(ftw64)(path, fn, nopenfd);
	path = AUFS_LAUNDER(path);
	if (!path || !touches_union(path))
		return REAL(ftw64)(path, fn, nopenfd);
	return walk_tree(path, NULL, (ftw_fn)fn, 0);
}

/* ---------------------------------------------------------------- fts */

/*
 * Our FTS. The caller holds &fts; the registry tells it from glibc's (whose
 * FTS is exactly sizeof(FTS): nothing may be read past it).
 */
struct wfts {
	FTS fts;
	struct wfts *next;	/* registry */
	struct devkey dev;	/* the current root's, for FTS_XDEV */
	bool stop;		/* out of memory: fts_read returns NULL from now on */
	bool nameonly;		/* fts_child holds names only (FTS_NAMEONLY) */
};

/* Every FTSENT we hand out: private fields, then the entry, its name, path, stat. */
struct went {
	struct devkey dev;	/* directories, for FTS_XDEV */
	FTSENT e;		/* last: fts_name runs past its end */
};

#define WENT(p) ((struct went *)(void *)((char *)(p) - offsetof(struct went, e)))

enum { BREAD, BCHILD, BNAMES };	/* what ent_build builds, as in BSD */

static pthread_mutex_t fts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wfts *fts_list;		/* under fts_lock */
static _Atomic int fts_count;		/* its length, read without the lock */

static struct wfts *fts_ours(void *sp)
{
	struct wfts *w;

	if (!sp || atomic_load_explicit(&fts_count, memory_order_acquire) == 0)
		return NULL;
	pthread_mutex_lock(&fts_lock);
	for (w = fts_list; w && &w->fts != sp; w = w->next)
		;
	pthread_mutex_unlock(&fts_lock);
	return w;
}

static void fts_register(struct wfts *w)
{
	pthread_mutex_lock(&fts_lock);
	w->next = fts_list;
	fts_list = w;
	atomic_fetch_add(&fts_count, 1);
	pthread_mutex_unlock(&fts_lock);
}

static void fts_unregister(struct wfts *w)
{
	struct wfts **pp;

	pthread_mutex_lock(&fts_lock);
	for (pp = &fts_list; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			atomic_fetch_sub(&fts_count, 1);
			break;
		}
	}
	pthread_mutex_unlock(&fts_lock);
}

static bool isdot(const char *s)
{
	return s[0] == '.' && (!s[1] || (s[1] == '.' && !s[2]));
}

#define ALIGN_UP(n, a) (((n) + (a) - 1) / (a) * (a))

/*
 * A new entry named NAME whose path is DIR (its parent's path, NULL for a root)
 * + '/' + NAME; one allocation holds it all. NULL with errno set.
 */
static FTSENT *ent_new(const char *name, size_t namelen, const char *dir, size_t dirlen)
{
	size_t pathlen, path_off, st_off, size;
	struct went *we;
	FTSENT *p;
	char *path;

	if (dir && dirlen && dir[dirlen - 1] == '/')
		dirlen--;	/* "/" + "etc" is "/etc", not "//etc" */
	pathlen = dir ? dirlen + 1 + namelen : namelen;
	if (pathlen >= USHRT_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	path_off = offsetof(struct went, e) + offsetof(FTSENT, fts_name) + namelen + 1;
	st_off = ALIGN_UP(path_off + pathlen + 1, _Alignof(struct stat));
	size = st_off + sizeof(struct stat);
	we = calloc(1, size);
	if (!we)
		return NULL;
	p = &we->e;
	memcpy((char *)we + offsetof(struct went, e) + offsetof(FTSENT, fts_name), name, namelen);
	path = (char *)we + path_off;
	if (dir) {
		memcpy(path, dir, dirlen);
		path[dirlen] = '/';
		memcpy(path + dirlen + 1, name, namelen);
	} else {
		memcpy(path, name, namelen);
	}
	p->fts_path = p->fts_accpath = path;
	p->fts_pathlen = (unsigned short)pathlen;
	p->fts_namelen = (unsigned short)namelen;
	p->fts_statp = (struct stat *)(void *)((char *)we + st_off);
	p->fts_instr = FTS_NOINSTR;
	p->fts_symfd = -1;
	return p;
}

static void ent_free(FTSENT *p)
{
	if (p)
		free(WENT(p));
}

static void ent_free_list(FTSENT *p)
{
	while (p) {
		FTSENT *next = p->fts_link;

		ent_free(p);
		p = next;
	}
}

/* stat P as FTS does and return its fts_info. */
static unsigned short ent_stat(struct wfts *w, FTSENT *p, bool follow)
{
	struct stat *sb = p->fts_statp;
	FTSENT *t;

	const char *acc = p->fts_accpath;

	follow = follow || (w->fts.fts_options & FTS_LOGICAL);
	if (shim_fstatat(AT_FDCWD, acc, sb, follow ? 0 : AT_SYMLINK_NOFOLLOW)) {
		p->fts_errno = errno;
		if (follow && shim_fstatat(AT_FDCWD, acc, sb, AT_SYMLINK_NOFOLLOW) == 0) {
			p->fts_errno = 0;
			return FTS_SLNONE;
		}
		memset(sb, 0, sizeof(*sb));
		return FTS_NS;
	}
	p->fts_errno = 0;
	if (S_ISDIR(sb->st_mode)) {
		p->fts_dev = sb->st_dev;
		p->fts_ino = sb->st_ino;
		p->fts_nlink = sb->st_nlink;
		if (isdot(p->fts_name))
			return FTS_DOT;
		for (t = p->fts_parent; t && t->fts_level >= FTS_ROOTLEVEL; t = t->fts_parent) {
			if (t->fts_ino == sb->st_ino && t->fts_dev == sb->st_dev) {
				p->fts_cycle = t;
				return FTS_DC;
			}
		}
		if (w->fts.fts_options & FTS_XDEV)
			dev_key(p->fts_accpath, sb, follow, &WENT(p)->dev);
		return FTS_D;
	}
	if (S_ISLNK(sb->st_mode))
		return FTS_SL;
	return S_ISREG(sb->st_mode) ? FTS_F : FTS_DEFAULT;
}

/* Sort the list HEAD of N entries with the caller's comparator. */
static FTSENT *ent_sort(struct wfts *w, FTSENT *head, size_t n)
{
	FTSENT **a, *p;
	size_t i;

	if (!w->fts.fts_compar || n < 2)
		return head;
	if (n > (size_t)w->fts.fts_nitems) {
		a = realloc(w->fts.fts_array, (n + 40) * sizeof(*a));
		if (!a)
			return head;	/* as glibc: unsorted rather than nothing */
		w->fts.fts_array = a;
		w->fts.fts_nitems = (int)(n + 40);
	}
	a = w->fts.fts_array;
	for (i = 0, p = head; p; p = p->fts_link)
		a[i++] = p;
	qsort(a, n, sizeof(*a), w->fts.fts_compar);
	for (i = 0; i + 1 < n; i++)
		a[i]->fts_link = a[i + 1];
	a[n - 1]->fts_link = NULL;
	return a[0];
}

/* The children of CUR, in readdir order or sorted; NULL if none or on failure. */
static FTSENT *ent_build(struct wfts *w, FTSENT *cur, int type)
{
	int opts = w->fts.fts_options;
	bool nostat = (opts & FTS_NOSTAT) && (opts & FTS_PHYSICAL);
	FTSENT *head = NULL, *tail = NULL, *p;
	struct dirent *e;
	size_t n = 0;
	DIR *dp;

	dp = shim_opendir(cur->fts_accpath);
	if (!dp) {
		if (type == BREAD) {
			cur->fts_info = FTS_DNR;
			cur->fts_errno = errno;
		}
		return NULL;
	}
	while ((e = shim_readdir(dp))) {
		if (!(opts & FTS_SEEDOT) && isdot(e->d_name))
			continue;
		p = ent_new(e->d_name, strlen(e->d_name), cur->fts_path, cur->fts_pathlen);
		if (!p) {
			int err = errno;

			ent_free_list(head);
			(void)shim_closedir(dp);	/* only read from */
			cur->fts_info = FTS_ERR;
			w->stop = true;
			errno = err;
			return NULL;
		}
		p->fts_level = (short)(cur->fts_level + 1);
		p->fts_parent = cur;
		if (type == BNAMES ||
		    (nostat && e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			p->fts_info = FTS_NSOK;
		else
			p->fts_info = ent_stat(w, p, false);
		if (tail)
			tail->fts_link = p;
		else
			head = p;
		tail = p;
		n++;
	}
	(void)shim_closedir(dp);	/* only read from */
	if (!n) {
		if (type == BREAD)
			cur->fts_info = FTS_DP;
		return NULL;
	}
	return ent_sort(w, head, n);
}

static void fts_free_w(struct wfts *w)
{
	FTSENT *p = w->fts.fts_cur, *next;

	/* the current entry, its siblings still to come, their parents up to the root's */
	while (p) {
		next = p->fts_link ? p->fts_link : p->fts_parent;
		if (p->fts_level < FTS_ROOTLEVEL)
			next = NULL;
		ent_free(p);
		p = next;
	}
	ent_free_list(w->fts.fts_child);
	free(w->fts.fts_array);
	free(w);
}

typedef int (*fts_cmp)(const FTSENT **, const FTSENT **);

static FTS *our_fts_open(char *const *argv, int options, fts_cmp compar)
{
	FTSENT *parent, *root = NULL, *tail = NULL, *p, *dummy;
	struct wfts *w;
	size_t n = 0;

	if (options & ~FTS_OPTIONMASK) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	/* we never change directories: say so */
	w->fts.fts_options = options | FTS_NOCHDIR;
	w->fts.fts_compar = (int (*)(const void *, const void *))compar;
	w->fts.fts_rfd = -1;
	parent = ent_new("", 0, NULL, 0);
	if (!parent)
		goto out_free;
	parent->fts_level = FTS_ROOTPARENTLEVEL;
	parent->fts_info = FTS_INIT;
	for (; *argv; argv++, n++) {
		size_t len = strlen(*argv);

		if (!len) {
			errno = ENOENT;
			goto out_free_roots;
		}
		p = ent_new(*argv, len, NULL, 0);
		if (!p)
			goto out_free_roots;
		p->fts_level = FTS_ROOTLEVEL;
		p->fts_parent = parent;
		p->fts_info = ent_stat(w, p, options & FTS_COMFOLLOW);
		if (p->fts_info == FTS_DOT)
			p->fts_info = FTS_D;	/* "." and ".." given are real directories */
		if (tail)
			tail->fts_link = p;
		else
			root = p;
		tail = p;
	}
	root = ent_sort(w, root, n);
	/* the node "before the roots": fts_read moves on from it, fts_children lists the roots */
	dummy = ent_new("", 0, NULL, 0);
	if (!dummy)
		goto out_free_roots;
	dummy->fts_level = FTS_ROOTLEVEL;
	dummy->fts_info = FTS_INIT;
	dummy->fts_link = root;
	dummy->fts_parent = parent;
	w->fts.fts_cur = dummy;
	fts_register(w);
	return &w->fts;

out_free_roots:
	{
		int e = errno;

		ent_free_list(root);
		ent_free(parent);
		errno = e;
	}
out_free:
	free(w);
	return NULL;
}

/* Make root P current: fts_name becomes its last component, as in glibc. */
static void fts_load(struct wfts *w, FTSENT *p)
{
	char *name = p->fts_name, *slash = strrchr(name, '/');

	if (slash && (slash != name || slash[1])) {
		size_t len = strlen(slash + 1);

		memmove(name, slash + 1, len + 1);
		p->fts_namelen = (unsigned short)len;
	}
	w->fts.fts_dev = p->fts_dev;
	if (p->fts_info == FTS_D && (w->fts.fts_options & FTS_XDEV))
		w->dev = WENT(p)->dev;
}

static FTSENT *fts_ret(struct wfts *w, FTSENT *p, int saved)
{
	w->fts.fts_cur = p;
	w->fts.fts_path = p->fts_path;
	w->fts.fts_pathlen = p->fts_pathlen;
	errno = saved;
	return p;
}

static FTSENT *our_fts_read(struct wfts *w)
{
	FTSENT *p = w->fts.fts_cur, *tmp;
	int saved = errno;
	int instr;

	if (!p || w->stop)
		return NULL;
	instr = p->fts_instr;
	p->fts_instr = FTS_NOINSTR;
	if (instr == FTS_AGAIN) {
		p->fts_info = ent_stat(w, p, false);
		return fts_ret(w, p, saved);
	}
	if (instr == FTS_FOLLOW && (p->fts_info == FTS_SL || p->fts_info == FTS_SLNONE)) {
		p->fts_info = ent_stat(w, p, true);
		return fts_ret(w, p, saved);
	}
	if (p->fts_info == FTS_D) {
		/* skipped, or on another file system: straight to the post-order visit */
		if (instr == FTS_SKIP ||
		    ((w->fts.fts_options & FTS_XDEV) && !dev_eq(&WENT(p)->dev, &w->dev))) {
			ent_free_list(w->fts.fts_child);
			w->fts.fts_child = NULL;
			p->fts_info = FTS_DP;
			return fts_ret(w, p, saved);
		}
		if (w->fts.fts_child && w->nameonly) {
			ent_free_list(w->fts.fts_child);
			w->fts.fts_child = NULL;
		}
		w->nameonly = false;
		if (!w->fts.fts_child) {
			w->fts.fts_child = ent_build(w, p, BREAD);
			if (!w->fts.fts_child) {
				if (w->stop)
					return NULL;
				/* empty (FTS_DP) or unreadable (FTS_DNR): P once more */
				return fts_ret(w, p, p->fts_info == FTS_DNR ? p->fts_errno : saved);
			}
		}
		p = w->fts.fts_child;
		w->fts.fts_child = NULL;
		return fts_ret(w, p, saved);
	}
next:
	tmp = p;
	p = p->fts_link;
	if (p) {
		w->fts.fts_cur = p;
		ent_free(tmp);
		if (p->fts_level == FTS_ROOTLEVEL) {
			fts_load(w, p);
			return fts_ret(w, p, saved);
		}
		if (p->fts_instr == FTS_SKIP)
			goto next;
		if (p->fts_instr == FTS_FOLLOW) {
			p->fts_info = ent_stat(w, p, true);
			p->fts_instr = FTS_NOINSTR;
		}
		return fts_ret(w, p, saved);
	}
	/* the last of its directory: up to the parent, for its post-order visit */
	p = tmp->fts_parent;
	w->fts.fts_cur = p;
	ent_free(tmp);
	if (p->fts_level == FTS_ROOTPARENTLEVEL) {
		ent_free(p);
		w->fts.fts_cur = NULL;
		errno = 0;	/* the end, not an error */
		return NULL;
	}
	p->fts_info = p->fts_errno ? FTS_ERR : FTS_DP;
	return fts_ret(w, p, saved);
}

static FTSENT *our_fts_children(struct wfts *w, int instr)
{
	FTSENT *p = w->fts.fts_cur;

	if (instr != 0 && instr != FTS_NAMEONLY) {
		errno = EINVAL;
		return NULL;
	}
	errno = 0;	/* NULL with errno 0: no children */
	if (!p || w->stop)
		return NULL;
	if (p->fts_info == FTS_INIT)
		return p->fts_link;
	if (p->fts_info != FTS_D)
		return NULL;
	ent_free_list(w->fts.fts_child);
	w->nameonly = instr == FTS_NAMEONLY;
	w->fts.fts_child = ent_build(w, p, w->nameonly ? BNAMES : BCHILD);
	if (w->fts.fts_child)
		errno = 0;
	return w->fts.fts_child;
}

static int our_fts_set(FTSENT *p, int instr)
{
	if (instr != 0 && instr != FTS_AGAIN && instr != FTS_FOLLOW && instr != FTS_NOINSTR &&
	    instr != FTS_SKIP) {
		errno = EINVAL;
		return 1;
	}
	p->fts_instr = (unsigned short)instr;
	return 0;
}

static bool fts_touches_union(char *const *argv)
{
	if (!aufs_active())
		return false;
	argv = AUFS_LAUNDER(argv);
	if (!argv)
		return false;
	for (; *argv; argv++)
		if (**argv && touches_union(*argv))
			return true;
	return false;
}

AUFS_EXPORT FTS *fts_open(char *const *argv, int options, fts_cmp compar)
{
	if (!fts_touches_union(argv))
		return REAL(fts_open)(argv, options, (int (*)(const void *, const void *))compar);
	return our_fts_open(argv, options, compar);
}

AUFS_EXPORT FTSENT *fts_read(FTS *sp)
{
	struct wfts *w = fts_ours(sp);

	return w ? our_fts_read(w) : REAL(fts_read)(sp);
}

AUFS_EXPORT FTSENT *fts_children(FTS *sp, int instr)
{
	struct wfts *w = fts_ours(sp);

	return w ? our_fts_children(w, instr) : REAL(fts_children)(sp, instr);
}

AUFS_EXPORT int fts_set(FTS *sp, FTSENT *p, int instr)
{
	return fts_ours(sp) ? our_fts_set(p, instr) : REAL(fts_set)(sp, p, instr);
}

AUFS_EXPORT int fts_close(FTS *sp)
{
	struct wfts *w = fts_ours(sp);

	if (!w)
		return REAL(fts_close)(sp);
	fts_unregister(w);
	fts_free_w(w);
	return 0;
}

AUFS_EXPORT FTS64 *fts64_open(char *const *argv, int options,
			      int (*compar)(const FTSENT64 **, const FTSENT64 **))
{
	if (!fts_touches_union(argv))
		return REAL(fts64_open)(argv, options, (int (*)(const void *, const void *))compar);
	return (FTS64 *)our_fts_open(argv, options, (fts_cmp)compar);
}

AUFS_EXPORT FTSENT64 *fts64_read(FTS64 *sp)
{
	struct wfts *w = fts_ours(sp);

	return w ? (FTSENT64 *)our_fts_read(w) : REAL(fts64_read)(sp);
}

AUFS_EXPORT FTSENT64 *fts64_children(FTS64 *sp, int instr)
{
	struct wfts *w = fts_ours(sp);

	return w ? (FTSENT64 *)our_fts_children(w, instr) : REAL(fts64_children)(sp, instr);
}

AUFS_EXPORT int fts64_set(FTS64 *sp, FTSENT64 *p, int instr)
{
	return fts_ours(sp) ? our_fts_set((FTSENT *)p, instr) : REAL(fts64_set)(sp, p, instr);
}

AUFS_EXPORT int fts64_close(FTS64 *sp)
{
	struct wfts *w = fts_ours(sp);

	if (!w)
		return REAL(fts64_close)(sp);
	fts_unregister(w);
	fts_free_w(w);
	return 0;
}
