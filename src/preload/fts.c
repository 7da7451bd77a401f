/* SPDX-License-Identifier: MIT */
/*
 * fts.c - fts_open, fts_read, fts_children, fts_set, fts_close and the fts64_*
 * names, hand-written: our own FTS when a root can see a union (walk.c; always
 * FTS_NOCHDIR: fts_accpath is fts_path). The FTS objects we hand out are kept
 * in a registry, so the four others pass glibc's own objects to glibc.
 */
#include <fts.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

_Static_assert(sizeof(FTS64) == sizeof(FTS) && sizeof(FTSENT64) == sizeof(FTSENT) &&
	       offsetof(FTSENT64, fts_statp) == offsetof(FTSENT, fts_statp) &&
	       offsetof(FTSENT64, fts_name) == offsetof(FTSENT, fts_name),
	       "FTSENT64 and FTSENT differ: fts64_* need their own bodies");

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
			walk_dev_key(p->fts_accpath, sb, follow, &WENT(p)->dev);
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

/*
 * fts_read after the pre-order visit of directory P: its first child, or P once
 * more for its post-order visit (skipped, on another file system, empty or
 * unreadable). SAVED: the caller's errno, kept on success.
 */
static FTSENT *fts_descend(struct wfts *w, FTSENT *p, int instr, int saved)
{
	if (instr == FTS_SKIP ||
	    ((w->fts.fts_options & FTS_XDEV) && !walk_dev_eq(&WENT(p)->dev, &w->dev))) {
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

static FTSENT *our_fts_read(struct wfts *w)
{
	FTSENT *p = w->fts.fts_cur, *tmp;
	int saved = errno;	/* fts_read keeps the caller's errno on success */
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
	if (p->fts_info == FTS_D)
		return fts_descend(w, p, instr, saved);
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

/* Does some root of ARGV need our FTS (walk.c)? */
static bool fts_ours_open(char *const *argv)
{
	argv = AUFS_LAUNDER(argv);
	if (!shim_enter(NULL) || !argv)
		return false;
	for (; aufs_guard_mem(argv, sizeof(*argv)) == 0 && *argv; argv++) {
		size_t n = aufs_guard_strnlen(*argv, PATH_MAX);

		if (n == (size_t)-1)
			return false;	/* glibc's fts_open reads it: as without us */
		if (n && n < PATH_MAX && walk_ours(*argv))
			return true;
	}
	return false;
}

AUFS_EXPORT FTS *fts_open(char *const *argv, int options, fts_cmp compar)
{
	if (!fts_ours_open(argv))
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
	if (!fts_ours_open(argv))
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
