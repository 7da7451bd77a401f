/* SPDX-License-Identifier: MIT */
/*
 * ops_namespace.c - the operations that change a directory of the union: create (mkdir,
 * mknod, symlink, link, open O_CREAT), remove (unlink, rmdir) and rename, with
 * the aufs rules: new names go to the branch the create= policy picks (never
 * below a whiteout that hides the name), their whiteout is removed, a directory
 * made over a whiteout is opaque; a name that still exists in a lower branch is
 * removed by a whiteout; a directory with content in a lower branch is not
 * renamed (EXDEV, as aufs: mv copes). Every change bumps the generation of the
 * directories it touched, so every process of the union sees it at its next call.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE  (1 << 1)
#define RENAME_WHITEOUT  (1 << 2)
#endif

/* The name a namespace call acts on: its parent walked, the last name as written. */
#define RESOLVE_NAME (AUFS_RESOLVE_NOFOLLOW | AUFS_RESOLVE_LAST_AS_IS)
/*
 * The name a create makes (mkdir, mknod, symlink): as open O_EXCL, the create in
 * the top-most branch of the directory tests that branch's copy of the name itself
 * (EEXIST), so the lookup need not (AUFS_RESOLVE_EXCL, create_unprobed_exists()).
 */
#define RESOLVE_CREATE (RESOLVE_NAME | AUFS_RESOLVE_EXCL)

/*
 * The source's copy-up (in O's branch now) made its directory there: a target N
 * in the same directory, looked up before, has its directory there too.
 */
static void source_dir_copied(const struct aufs_loc *o, struct aufs_loc *n)
{
	const char *od, *nd, *name;
	size_t odl, ndl;

	loc_split(o, &od, &odl, &name);
	loc_split(n, &nd, &ndl, &name);
	if (o->u == n->u && o->branch >= 0 && odl == ndl && !memcmp(od, nd, odl))
		n->pmask |= MASK_BIT(o->branch);
}

/*
 * What the kernel's filename_create() answers for the name of LOC before the
 * create itself: "." and ".." or an existing name are EEXIST (a symlink is not
 * followed, a trailing '/' asks nothing of what exists); a missing name with a
 * trailing '/' is ENOENT unless a directory is made.
 */
static int create_refused(const struct aufs_loc *loc, bool dir)
{
	if (loc->branch >= 0 || (loc->flags & AUFS_LOC_DOTS))
		return -EEXIST;
	/* the top-most copy, left unprobed for the create to test, decides it here */
	if ((loc->flags & AUFS_LOC_TRAILING) && !dir)
		return create_unprobed_exists(loc, -1) ? -EEXIST : -ENOENT;
	return 0;
}

/*
 * TREL (PATH_MAX): union-relative DIR[0..DLEN) "/" AUFS_WH_PREFIX AUFS_WH_PREFIX KIND
 * "." PID "." N, a hidden temporary of this process in that directory, and TREAL
 * its real path in branch B. The length of TREL, or -ENAMETOOLONG.
 */
static int temp_name(const struct aufs_union *u, int b, const char *dir, size_t dlen,
		     const char *kind, char *trel, char *treal)
{
	static _Atomic unsigned long seq;
	int n = snprintf(trel, PATH_MAX, "%.*s%s" AUFS_WH_PREFIX AUFS_WH_PREFIX "%s.%d.%lu",
			 (int)dlen, dir, dlen ? "/" : "", kind, (int)creds_pid(),
			 atomic_fetch_add(&seq, 1));

	if (n < 0 || n >= PATH_MAX || branch_path(&u->branch[b], trel, (size_t)n, treal) < 0)
		return -ENAMETOOLONG;
	return n;
}

/* Take the temporary directory TREL (N bytes; TREAL) of a failed mkdir away again. */
static void mkdir_untemp(const struct aufs_union *u, int b, const char *trel, int n,
			 const char *treal)
{
	if (wh_clear_dir(u, b, trel, (size_t)n) == 0)
		(void)beneath_unlinkat(treal, AT_REMOVEDIR);
	/* what stays is out of sight, and removed as a leftover later (wh_reap_temps) */
}

/*
 * Move the complete new directory TREAL to the name of LOC, replacing nothing. On a
 * file system without RENAME_NOREPLACE, a plain rename after a look: a racing
 * mkdir's empty directory could be replaced, no other name.
 */
static int mkdir_publish(const char *treal, const struct aufs_loc *loc)
{
	struct stat st;
	int r = beneath_renameat2(treal, loc->real, RENAME_NOREPLACE);

	if (r != -EINVAL && r != -ENOSYS)
		return r;
	r = sys_lstat(loc->real, &st);
	if (r != -ENOENT)
		return r == 0 ? -EEXIST : r;
	r = beneath_renameat2(treal, loc->real, 0);
	return r == -ENOTEMPTY || r == -ENOTDIR || r == -EISDIR ? -EEXIST : r;
}

/*
 * mkdir of LOC in branch T over a whiteout, crash-atomic: the directory is made
 * under a hidden temporary name, with its opaque marker and its mode, and only
 * then renamed into place, so that it never shows without the marker (which would
 * merge the deleted lower directory back in). The whiteout beside it goes after
 * (create_done()); until then the directory wins over its own branch's whiteout,
 * as every lookup decides, and it is opaque. A process killed before the rename
 * leaves a temporary nobody sees, removed later as a leftover (wh_reap_temps(),
 * aufsctl check --repair).
 */
static int mkdir_opaque(struct aufs_loc *loc, int t, mode_t mode)
{
	const struct aufs_union *u = loc->u;
	char trel[PATH_MAX], treal[PATH_MAX];
	const char *dir, *name;
	/* the marker is made inside: a mode without u+wx is set once it is there */
	mode_t added = creds_get()->euid == 0 ? 0 : S_IWUSR | S_IXUSR;
	struct stat st;
	size_t dlen;
	int n, r;

	added &= ~mode;
	loc_split(loc, &dir, &dlen, &name);
	for (int attempt = 0;; attempt++) {
		n = temp_name(u, t, dir, dlen, "mkdir", trel, treal);
		if (n < 0)
			return n;
		r = beneath_mkdirat(treal, mode | added);
		if (r != -EEXIST || attempt > 1)
			break;
		(void)wh_reap_temps(u, t, dir, dlen);	/* a namesake process left it */
	}
	if (r < 0)
		return r;
	r = wh_make_opaque(u, t, trel, (size_t)n);
	if (r == 0 && added) {
		r = sys_lstat(treal, &st);
		if (r == 0)
			r = beneath_fchmodat(treal, st.st_mode & 07777 & ~added);
	}
	if (r == 0)
		r = mkdir_publish(treal, loc);
	if (r < 0)
		mkdir_untemp(u, t, trel, n, treal);
	return r;
}

int aufs_mkdirat(int dirfd, const char *path, mode_t mode)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	const char *dir, *name;
	size_t dlen;
	int r, t;

	r = aufs_resolve(dirfd, path, RESOLVE_CREATE, &loc);
	if (r == AUFS_PASS_HOST)
		return (r = loc_host_tail(&loc)) ? r : sys_mkdirat(AT_FDCWD, loc.real, mode);
	if (r)
		return r;
	r = create_refused(&loc, true);
	if (r < 0)
		return r;
	t = create_prepare(&loc, true);
	if (create_unprobed_exists(&loc, t))
		return -EEXIST;
	if (t < 0)
		return t;
	loc_split(&loc, &dir, &dlen, &name);
	/* over a whiteout (or diropq=a) the new directory hides what is below */
	r = loc.cut >= 0 ? mkdir_opaque(&loc, t, mode) : beneath_mkdirat(loc.real, mode);
	if (r < 0)
		return r;
	if (loc.cut < 0 && (loc.u->opts.flags & AUFS_OPT_DIROPQ_A)) {
		/* nothing below to show: the marker may come second */
		r = wh_make_opaque(loc.u, t, dir, strlen(dir));
		if (r < 0) {
			(void)beneath_unlinkat(loc.real, AT_REMOVEDIR);
			return r;
		}
	}
	loc.type = DT_DIR;	/* create_done() remembers what was made */
	create_done(&loc, t);
	aufs_dir_changed(loc.u, dir, strlen(dir));
	return 0;
}

int aufs_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	int r, t;

	r = aufs_resolve(dirfd, path, RESOLVE_CREATE, &loc);
	if (r == AUFS_PASS_HOST)
		return (r = loc_host_tail(&loc)) ? r : sys_mknodat(AT_FDCWD, loc.real, mode, dev);
	if (r)
		return r;
	r = create_refused(&loc, false);
	if (r < 0)
		return r;
	t = create_prepare(&loc, false);
	if (create_unprobed_exists(&loc, t))
		return -EEXIST;
	if (t < 0)
		return t;
	r = beneath_mknodat(loc.real, mode, dev);
	if (r == 0)
		create_done(&loc, t);
	return r;
}

int aufs_symlinkat(const char *target, int dirfd, const char *path)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	int r, t;

	r = aufs_resolve(dirfd, path, RESOLVE_CREATE, &loc);
	if (r == AUFS_PASS_HOST)
		return (r = loc_host_tail(&loc)) ? r : sys_symlinkat(target, AT_FDCWD, loc.real);
	if (r)
		return r;
	r = create_refused(&loc, false);
	if (r < 0)
		return r;
	t = create_prepare(&loc, false);
	if (create_unprobed_exists(&loc, t))
		return -EEXIST;
	if (t < 0)
		return t;
	r = beneath_symlinkat(target, loc.real);	/* the target is stored verbatim */
	if (r == 0)
		create_done(&loc, t);
	return r;
}

/*
 * What the kernel's getname() says of a path before any lookup: ENOENT for an
 * empty one (unless AT_EMPTY_PATH allows it), ENAMETOOLONG for one longer than
 * PATH_MAX. A call of two paths checks both first, so that one outside every
 * union cannot turn these into the EXDEV of "another file system".
 */
static int name_error(const char *path, bool empty_ok)
{
	if (!*path)
		return empty_ok ? 0 : -ENOENT;
	return strnlen(path, PATH_MAX) >= PATH_MAX ? -ENAMETOOLONG : 0;
}

int aufs_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc *o = scratch_get(2 * sizeof(*o)), *n;
	const char *dir, *name;
	size_t dlen;
	int r, ro, rn, t;

	r = name_error(oldpath, flags & AT_EMPTY_PATH) ?: name_error(newpath, false);
	if (r < 0 || !o) {
		scratch_put(o);
		return r < 0 ? r : -ENOMEM;
	}
	n = o + 1;
	ro = aufs_resolve(olddirfd, oldpath,
			  (flags & AT_SYMLINK_FOLLOW ? 0 : AUFS_RESOLVE_NOFOLLOW) |
			  (flags & AT_EMPTY_PATH ? AUFS_RESOLVE_EMPTY_PATH : 0), o);
	rn = aufs_resolve(newdirfd, newpath, RESOLVE_NAME, n);
	if (rn == AUFS_PASS_HOST)
		rn = loc_host_tail(n) ?: AUFS_PASS_HOST;
	r = ro < 0 ? ro : rn < 0 && rn != AUFS_PASS_HOST ? rn : 0;
	if (r < 0)
		goto out;
	if (ro == AUFS_PASS && (rn == AUFS_PASS)) {
		r = AUFS_PASS;
		goto out;
	}
	if (rn == AUFS_PASS || rn == AUFS_PASS_HOST) {
		/* into a host directory: only from the host (another file system otherwise) */
		r = ro == AUFS_PASS || ro == AUFS_PASS_HOST ? AUFS_PASS : -EXDEV;
		goto out;
	}
	r = create_refused(n, false);
	if (r < 0)
		goto out;
	if (ro == AUFS_PASS || ro == AUFS_PASS_HOST) {
		/* /proc/self/fd/N of an O_TMPFILE file, or a host file: link it in place */
		t = create_prepare(n, false);
		if (t < 0) {
			r = t;
			goto out;
		}
		r = beneath_link_into(ro == AUFS_PASS ? olddirfd : AT_FDCWD,
				      ro == AUFS_PASS ? oldpath : o->real,
				      flags & (AT_SYMLINK_FOLLOW | AT_EMPTY_PATH), n->real);
		if (r == 0)
			create_done(n, t);
		goto out;
	}
	if (o->u != n->u) {
		r = -EXDEV;
		goto out;
	}
	if (o->branch < 0) {
		r = -ENOENT;
		goto out;
	}
	if (o->type == DT_DIR) {
		r = -EPERM;
		goto out;
	}
	loc_split(n, &dir, &dlen, &name);
	if (!strncmp(name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN)) {
		r = -EPERM;	/* before anything is copied */
		goto out;
	}
	if (strlen(name) > AUFS_NAME_MAX) {
		r = -ENAMETOOLONG;	/* as create_prepare() */
		goto out;
	}
	r = perm_check_parent(n, n->pmask);
	if (r < 0)
		goto out;
	/* link stays on the source's branch: copy the source up first if it is below */
	r = cpup_loc(o, -1, false);
	if (r < 0)
		goto out;
	source_dir_copied(o, n);
	t = o->branch;
	r = create_place_in(n, t, n->pmask & MASK_BIT(t));
	if (r == 0)
		r = beneath_linkat(o->real, n->real);
	if (r == 0)
		create_done(n, t);
out:
	scratch_put(o);
	return r;
}

/* rmdir of a merged directory: only when no name shows in it. */
static int logically_empty(const struct aufs_loc *loc)
{
	struct aufs_dir *d;
	struct dirent64 *e;
	int r = aufs_dir_open(loc, -1, &d);

	if (r < 0)
		return r;
	while ((e = aufs_dir_read(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			r = -ENOTEMPTY;
			break;
		}
	aufs_dir_close(d);
	return r;
}

/*
 * rmdir of LOC in branch B when a lower copy exists (its whiteout is in place):
 * as aufs does (au_whtmp_ren), the directory first leaves the union's sight
 * under a whiteout-prefixed temporary name, and only then is emptied and
 * removed, so that a failure while emptying it never shows again the lower
 * names its whiteouts or opaque marker hid. What cannot be removed then stays
 * behind that name, never listed; the rmdir itself is done. Returns 0 or the
 * -errno of the rename (the caller takes the whiteout back).
 */
static int rmdir_aside(const struct aufs_loc *loc, int b, const char *dir, size_t dlen)
{
	char trel[PATH_MAX], treal[PATH_MAX], marker[PATH_MAX];
	int n, r;

	for (int attempt = 0;; attempt++) {
		n = temp_name(loc->u, b, dir, dlen, "rmdir", trel, treal);
		if (n < 0)
			return n;
		r = beneath_renameat2(loc->real, treal, RENAME_NOREPLACE);
		/*
		 * No RENAME_NOREPLACE here: a plain rename all the same (the name is this
		 * process's), never emptying the directory in place, which would show the
		 * lower names its markers hide until it is gone.
		 */
		if (r == -EINVAL || r == -ENOSYS)
			r = beneath_renameat2(loc->real, treal, 0);
		if ((r != -EEXIST && r != -ENOTEMPTY) || attempt > 1)
			break;
		(void)wh_reap_temps(loc->u, b, dir, dlen);	/* a namesake process left it */
	}
	if (r < 0)
		return r;
	/*
	 * A directory alone in B (opaque: made over a whiteout) mostly holds its marker
	 * only: two calls instead of a listing. Others hold the whiteouts that emptied
	 * them.
	 */
	if (!(loc->pmask & ~MASK_BIT(b)) &&
	    branch_path_name(&loc->u->branch[b], trel, (size_t)n, "", AUFS_WH_OPQ,
			     strlen(AUFS_WH_OPQ), marker) == 0 &&
	    beneath_unlinkat(marker, 0) == 0 &&
	    beneath_unlinkat(treal, AT_REMOVEDIR) == 0)
		return 0;
	r = wh_clear_dir(loc->u, b, trel, (size_t)n);
	if (r == -EACCES && beneath_fchmodat(treal, S_IRWXU) == 0)
		r = wh_clear_dir(loc->u, b, trel, (size_t)n);	/* out of sight: its mode is ours */
	if (r == 0)
		(void)beneath_unlinkat(treal, AT_REMOVEDIR);
	return 0;
}

/* Does removing LOC (in branch B) leave a whiteout, as remove_in_branch() or hide_below()? */
static bool removal_whiteout(const struct aufs_loc *loc, int b, aufs_mask pmask)
{
	if (loc->u->branch[b].perm != AUFS_PERM_RW)
		return true;
	if (loc->type == DT_DIR)
		return (loc->pmask & ~MASK_BIT(b)) != 0;
	return !(loc->flags & AUFS_LOC_ALONE) && loc_exists_below(loc, b, pmask);
}

/*
 * May the caller remove LOC's name from its directory? Write permission and the
 * sticky bit, as aufs decides them; a name longer than the union's NAME_MAX (a
 * lower branch's own) only when no whiteout is needed, which could not be made:
 * -ENAMETOOLONG, nothing changed. *RET_PMASK: the branches of the directory.
 */
static int removal_permitted(const struct aufs_loc *loc, aufs_mask *ret_pmask)
{
	const char *dir, *name;
	char pdir[PATH_MAX];
	size_t dlen;
	int r;

	loc_split(loc, &dir, &dlen, &name);
	memcpy(pdir, dir, dlen);
	pdir[dlen] = 0;
	r = lookup_dirmask(loc->u, pdir, ret_pmask);
	if (r == 0)
		r = perm_check_parent(loc, *ret_pmask);
	if (r == 0)
		r = perm_check_sticky(loc, *ret_pmask);
	if (r == 0 && strlen(name) > AUFS_NAME_MAX && removal_whiteout(loc, loc->branch, *ret_pmask))
		r = -ENAMETOOLONG;
	return r;
}

/*
 * Remove LOC from its writable branch B, a whiteout first when a copy stays
 * below (so the name never shows the lower copy in between), taken back when
 * the removal fails.
 */
static int remove_in_branch(struct aufs_loc *loc, int b, aufs_mask pmask, bool rmdir)
{
	const char *dir, *name;
	size_t dlen;
	/*
	 * A directory merged with lower copies needs its whiteout; so does one
	 * that shows alone only because it is opaque, or because a lower copy of
	 * the name is not a directory: the name is still there below.
	 */
	bool below = (rmdir && (loc->pmask & ~MASK_BIT(b))) ||
		     (!(loc->flags & AUFS_LOC_ALONE) && loc_exists_below(loc, b, pmask));
	int r;

	loc_split(loc, &dir, &dlen, &name);
	if (below) {
		r = wh_create(loc->u, b, dir, dlen, name);
		if (r < 0)
			return r;
	}
	if (rmdir && below) {
		r = rmdir_aside(loc, b, dir, dlen);
	} else if (rmdir) {
		r = wh_clear_dir(loc->u, b, dir, strlen(dir));
		if (r == 0)
			r = beneath_unlinkat(loc->real, AT_REMOVEDIR);
	} else {
		r = beneath_unlinkat(loc->real, 0);
	}
	if (r < 0 && below)
		(void)wh_remove(loc->u, b, dir, dlen, name);
	return r;
}

/* LOC lives only in read-only branch B: hide it with a whiteout in a writable one above. */
static int hide_below(struct aufs_loc *loc, int b, aufs_mask pmask)
{
	const char *dir, *name;
	size_t dlen;
	int r, t = policy_copyup(loc->u, pmask, b);

	if (t < 0)
		return t;
	loc_split(loc, &dir, &dlen, &name);
	r = cpup_dirs(loc->u, dir, dlen, t);
	if (r >= 0) {
		bool seal = r > 0;

		r = wh_create(loc->u, t, dir, dlen, name);
		if (seal)
			cpup_seal(loc->u, dir, dlen, t);
	}
	return r;
}

/*
 * A directory only in a writable branch, by a fresh probe or because this
 * process made it: when the kernel finds that copy empty, it is empty in the
 * union, and there is nothing to list (whiteouts in it make it ENOTEMPTY).
 * Not when the name still exists below (under the opaque copy, or as a
 * non-directory the merge stopped at): that takes a whiteout. PMASK: the
 * branches of the parent. Returns 0 (removed), 1 (list it after all) or -errno.
 */
static int rmdir_alone(const struct aufs_loc *loc, int b, aufs_mask pmask)
{
	int r;

	if (loc->u->branch[b].perm != AUFS_PERM_RW || (loc->pmask & ~MASK_BIT(b)) ||
	    (loc->flags & (AUFS_LOC_ALONE | AUFS_LOC_CACHED)) == AUFS_LOC_CACHED)
		return 1;
	if (!(loc->flags & AUFS_LOC_ALONE) && loc_exists_below(loc, b, pmask))
		return 1;
	r = beneath_unlinkat(loc->real, AT_REMOVEDIR);
	return r == -ENOTEMPTY || r == -EEXIST ? 1 : r;
}

/*
 * What unlink and rmdir refuse from the name alone, as the kernel's
 * do_unlinkat()/do_rmdir(): "." and ".." first, then a missing name, then the
 * type (a trailing '/' on unlink: EISDIR for a directory, ENOTDIR otherwise).
 */
static int remove_refused(const struct aufs_loc *loc, bool rmdir)
{
	if (loc->flags & AUFS_LOC_DOTS)
		return !rmdir ? -EISDIR : loc->flags & AUFS_LOC_DOT ? -EINVAL : -ENOTEMPTY;
	if (loc->branch < 0)
		return -ENOENT;
	if (rmdir)
		return loc->flags & AUFS_LOC_ROOT ? -EBUSY : loc->type != DT_DIR ? -ENOTDIR : 0;
	if (loc->type == DT_DIR)
		return -EISDIR;
	return loc->flags & AUFS_LOC_TRAILING ? -ENOTDIR : 0;
}

int aufs_unlinkat(int dirfd, const char *path, int flags)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc loc;
	bool rmdir = flags & AT_REMOVEDIR;
	const char *dir, *name;
	aufs_mask pmask;
	size_t dlen;
	int r, b;

	r = aufs_resolve(dirfd, path, RESOLVE_NAME, &loc);
	if (r == AUFS_PASS_HOST) {
		r = loc_host_tail(&loc) ?: sys_unlinkat(AT_FDCWD, loc.real, flags);
		/* "d/.." came back as "P/." (loc_host_tail): rmdir's answer for ".." */
		return r == -EINVAL && rmdir && (loc.flags & AUFS_LOC_DOTDOT) ? -ENOTEMPTY : r;
	}
	if (r)
		return r;
	r = remove_refused(&loc, rmdir);
	if (r < 0)
		return r;
	r = removal_permitted(&loc, &pmask);
	if (r < 0)
		return r;
	b = loc.branch;
	r = rmdir ? rmdir_alone(&loc, b, pmask) : 1;
	if (r == 1) {
		r = rmdir ? logically_empty(&loc) : 0;
		if (r == 0)
			r = loc.u->branch[b].perm == AUFS_PERM_RW
				    ? remove_in_branch(&loc, b, pmask, rmdir)
				    : hide_below(&loc, b, pmask);
	}
	if (r < 0)
		return r;
	loc_split(&loc, &dir, &dlen, &name);
	loc_changed(&loc);
	if (rmdir)
		aufs_dir_changed(loc.u, dir, strlen(dir));
	return 0;
}

/*
 * rename where at least one name is not in a union (AUFS_PASS, AUFS_PASS_HOST for
 * RO and RN): the kernel's rename of host paths, -EXDEV between a union and the
 * host, AUFS_PASS when both are the caller's own.
 */
static int rename_host(int ro, int olddirfd, const char *oldpath, const struct aufs_loc *o,
		       int rn, int newdirfd, const char *newpath, const struct aufs_loc *n,
		       unsigned flags)
{
	if (ro == AUFS_PASS && rn == AUFS_PASS)
		return AUFS_PASS;
	if (ro == 0 || rn == 0)
		return -EXDEV;	/* between a union and the host */
	/* both on the host, at least one having passed through a union */
	return sys_renameat2(ro == AUFS_PASS ? olddirfd : AT_FDCWD, ro == AUFS_PASS ? oldpath : o->real,
			     rn == AUFS_PASS ? newdirfd : AT_FDCWD, rn == AUFS_PASS ? newpath : n->real,
			     flags);
}

/* Is the virtual path A an ancestor of B? */
static bool is_ancestor(const char *a, const char *b)
{
	size_t n = strlen(a);

	return !strncmp(a, b, n) && b[n] == '/';
}

/*
 * What rename(2) refuses from the names alone, before anything is touched, in
 * the kernel's order (do_renameat2, then vfs_rename): 0, 1 (nothing to do) or
 * -errno. Permissions, a directory that cannot move and a target directory
 * that is not empty come after (rename_in_union).
 */
static int rename_refused(const struct aufs_loc *o, const struct aufs_loc *n, unsigned flags)
{
	bool exchange = flags & RENAME_EXCHANGE;
	const char *ndir, *nname;
	size_t ndlen;

	if ((flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    (exchange && (flags & RENAME_NOREPLACE)))
		return -EINVAL;
	if (o->u != n->u)
		return -EXDEV;
	if (o->flags & AUFS_LOC_DOTS)
		return -EBUSY;
	if (n->flags & AUFS_LOC_DOTS)
		return flags & RENAME_NOREPLACE ? -EEXIST : -EBUSY;
	if (o->branch < 0)
		return -ENOENT;
	if ((flags & RENAME_NOREPLACE) && n->branch >= 0)
		return -EEXIST;
	if (exchange && n->branch < 0)
		return -ENOENT;
	if (exchange && n->type != DT_DIR && (n->flags & AUFS_LOC_TRAILING))
		return -ENOTDIR;
	/* a trailing '/' on either name asks for a directory */
	if (o->type != DT_DIR &&
	    ((o->flags & AUFS_LOC_TRAILING) || (!exchange && (n->flags & AUFS_LOC_TRAILING))))
		return -ENOTDIR;
	if ((o->flags | n->flags) & AUFS_LOC_ROOT)
		return -EBUSY;
	if (is_ancestor(o->virt, n->virt))
		return -EINVAL;	/* a directory cannot move into itself */
	if (is_ancestor(n->virt, o->virt))
		return exchange ? -EINVAL : -ENOTEMPTY;
	if (!strcmp(o->virt, n->virt))
		return 1;	/* the same name: nothing to do */
	loc_split(n, &ndir, &ndlen, &nname);
	if (!strncmp(nname, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN))
		return -EPERM;
	if (strlen(nname) > AUFS_NAME_MAX)
		return -ENAMETOOLONG;	/* as create_prepare() */
	if (n->branch < 0 || exchange)
		return 0;
	if (n->type == DT_DIR && o->type != DT_DIR)
		return -EISDIR;
	if (n->type != DT_DIR && o->type == DT_DIR)
		return -ENOTDIR;
	return 0;
}

/* A directory of LOC that cannot move: in a read-only branch, or with content below. */
static bool dir_pinned(const struct aufs_loc *loc)
{
	return loc->type == DT_DIR && (loc->u->branch[loc->branch].perm != AUFS_PERM_RW ||
				       (loc->pmask & ~MASK_BIT(loc->branch)));
}

/*
 * Make the directory of LOC (in branch T) opaque unless it is already. *MADE:
 * the marker is new (take_opaque() removes it again).
 */
static int make_opaque(const struct aufs_loc *loc, int t, bool *made)
{
	const char *rel = loc->virt + loc->rel;
	char path[PATH_MAX];
	struct stat st;
	int r = branch_path_name(&loc->u->branch[t], rel, strlen(rel), "", AUFS_WH_OPQ,
				 strlen(AUFS_WH_OPQ), path);

	if (r < 0)
		return r;
	r = sys_lstat(path, &st);
	if (r != -ENOENT)
		return r;
	r = wh_make_opaque(loc->u, t, rel, strlen(rel));
	*made = r == 0;
	return r;
}

static void take_opaque(const struct aufs_loc *loc, int t, bool made)
{
	const char *rel = loc->virt + loc->rel;
	char path[PATH_MAX];

	if (made && branch_path_name(&loc->u->branch[t], rel, strlen(rel), "", AUFS_WH_OPQ,
				     strlen(AUFS_WH_OPQ), path) == 0)
		(void)beneath_unlinkat(path, 0);
}

/*
 * Would a directory put at the name of LOC (in branch T; PMASK: the branches of
 * its parent) merge with a lower copy? A probe that fails otherwise than "no
 * such name" counts as yes: an opaque marker too many hides nothing.
 */
static bool dir_below(const struct aufs_loc *loc, int t, aufs_mask pmask)
{
	const char *rel = loc->virt + loc->rel;
	char path[PATH_MAX];
	struct stat st;

	for (int b = t + 1; b < loc->u->nbranch; b++) {
		int r;

		if (!(pmask & MASK_BIT(b)) ||
		    branch_path(&loc->u->branch[b], rel, strlen(rel), path) < 0)
			continue;
		r = sys_lstat(path, &st);
		if ((r == 0 && S_ISDIR(st.st_mode)) || (r < 0 && r != -ENOENT && r != -ENOTDIR))
			return true;
	}
	return false;
}

/*
 * RENAME_EXCHANGE: both names stay, so no whiteout is needed, but both objects
 * must end up in one writable branch: a non-directory below is copied up first,
 * a directory must live there alone (EXDEV otherwise, as for a rename of it). A
 * directory moving to a name that has a copy below is made opaque first, so
 * that it does not merge with that copy.
 */
static int rename_exchange(struct aufs_loc *o, struct aufs_loc *n)
{
	struct aufs_loc *side[2] = { o, n };
	bool made[2] = { false, false };
	aufs_mask pmask[2];
	int r, t, i;

	for (i = 0; i < 2; i++) {
		r = removal_permitted(side[i], &pmask[i]);
		if (r < 0)
			return r;
	}
	if (dir_pinned(o) || dir_pinned(n))
		return -EXDEV;
	for (i = 0; i < 2; i++) {
		side[i]->flags |= AUFS_LOC_DIR_CHANGES;	/* the exchange changes both dirs */
		if (side[i]->type != DT_DIR && (r = cpup_loc(side[i], -1, false)) < 0)
			return r;
	}
	if (o->branch != n->branch)
		return -EXDEV;	/* copied up to different branches */
	t = o->branch;
	for (i = 0; i < 2; i++) {
		if (side[i]->type == DT_DIR && dir_below(side[1 - i], t, pmask[1 - i]) &&
		    (r = make_opaque(side[i], t, &made[i])) < 0)
			goto undo;
	}
	r = beneath_renameat2(o->real, n->real, RENAME_EXCHANGE);
	if (r == 0) {
		loc_changed(o);
		loc_changed(n);
		if (o->type == DT_DIR || n->type == DT_DIR)
			aufs_union_changed(o->u);
		return 0;
	}
undo:
	take_opaque(o, t, made[0]);
	take_opaque(n, t, made[1]);
	return r;
}

/*
 * May the caller move O to N? Write permission on both directories, the sticky
 * bit of O's (and of N's, when it replaces a name there), and (a directory) no
 * content below. *RET_OPMASK: the branches of O's directory.
 */
static int rename_permitted(const struct aufs_loc *o, const struct aufs_loc *n,
			    aufs_mask *ret_opmask)
{
	aufs_mask npmask;
	int r = removal_permitted(o, ret_opmask);

	if (r == 0)
		r = n->branch >= 0 ? removal_permitted(n, &npmask)
				   : loc_parent_mask(n, &npmask);
	if (r == 0 && n->branch < 0)
		r = perm_check_parent(n, npmask);
	if (r == 0 && dir_pinned(o))
		r = -EXDEV;	/* a directory with content in a lower branch: EXDEV, as aufs */
	return r;
}

/* After the rename into branch T: whiteouts and opaque markers of the new name. */
static void rename_settle(struct aufs_loc *o, struct aufs_loc *n, int t)
{
	const char *ndir, *nname;
	size_t ndlen;

	loc_split(n, &ndir, &ndlen, &nname);
	if (o->type == DT_DIR && n->branch < 0 && n->cut >= 0)
		aufs_dir_changed(n->u, ndir, strlen(ndir));	/* made opaque before the move */
	/*
	 * A whiteout of the new name in T would hide it below: unless the lookup
	 * probed T's copy of the directory for one (T holds it, with branches below)
	 * and found none.
	 */
	if (n->cut == t || (n->branch < 0 && !(n->cut < 0 && (n->pmask & MASK_BIT(t)) &&
					       (n->pmask >> (t + 1)) != 0)))
		(void)wh_remove(n->u, t, ndir, ndlen, nname);
	if (n->flags & AUFS_LOC_SEAL)
		cpup_seal(n->u, ndir, ndlen, t);
	loc_changed(o);
	loc_changed(n);
	if (o->type == DT_DIR)
		aufs_union_changed(o->u);	/* every cached path below it moved */
}

/*
 * Directory O (alone in writable branch T) renamed onto N, a directory empty in
 * the union, as aufs and overlayfs do it: when N has copies below, O is made
 * opaque first, so that they stay hidden under it. N's own copy in T, if any,
 * holds the whiteouts that emptied it: it is swapped with O in one
 * RENAME_EXCHANGE, so that the new name never goes missing, and then leaves the
 * union's sight under O's old name (rmdir_aside) and is removed.
 */
static int rename_dir_over(struct aufs_loc *o, struct aufs_loc *n, int t, aufs_mask opmask)
{
	const char *odir, *oname;
	bool below = (n->pmask & ~MASK_BIT(t)) != 0, in_t = n->branch == t, made = false;
	bool need_wh;
	size_t odlen;
	int r;

	if (n->branch < t)
		return -EXDEV;	/* its copy above T would hide what is moved into T */
	r = create_place_in(n, t, in_t);
	if (r < 0)
		return r;
	if (below && (r = make_opaque(o, t, &made)) < 0)
		return r;
	loc_split(o, &odir, &odlen, &oname);
	need_wh = !(o->flags & AUFS_LOC_ALONE) && loc_exists_below(o, t, opmask);
	if (need_wh && (r = wh_create(o->u, t, odir, odlen, oname)) < 0)
		goto undo;
	/* a copy in T that the kernel finds empty is replaced as the kernel does it */
	r = beneath_renameat2(o->real, n->real, 0);
	if (in_t && (r == -ENOTEMPTY || r == -EEXIST)) {
		r = beneath_renameat2(o->real, n->real, RENAME_EXCHANGE);
		if (r == 0) {
			r = rmdir_aside(o, t, odir, odlen);	/* O's name holds N's old copy */
			if (r < 0)
				(void)beneath_renameat2(o->real, n->real, RENAME_EXCHANGE);
		} else if (r == -EINVAL) {
			r = -EXDEV;	/* no RENAME_EXCHANGE on this file system: mv copes */
		}
	}
	if (r == 0) {
		rename_settle(o, n, t);
		return 0;
	}
	if (need_wh)
		(void)wh_remove(o->u, t, odir, odlen, oname);
undo:
	take_opaque(o, t, made);
	return r;
}

/*
 * N was looked up without its top-most copy (AUFS_RESOLVE_REPLACE), but the rename
 * happens in another branch: look it up whole and ask again what the names alone
 * and the permissions refuse. 0, 1 (nothing to do) or -errno.
 */
static int rename_reprobe(const struct aufs_loc *o, struct aufs_loc *n, unsigned flags)
{
	aufs_mask opmask;
	char virt[PATH_MAX];
	unsigned trailing = n->flags & AUFS_LOC_TRAILING;
	int r;

	memcpy(virt, n->virt, strlen(n->virt) + 1);
	r = aufs_resolve(AT_FDCWD, virt, RESOLVE_NAME, n);
	if (r != 0)
		return r > 0 ? -EXDEV : r;	/* it left the union meanwhile */
	n->flags |= trailing;
	r = rename_refused(o, n, flags);
	return r == 0 ? rename_permitted(o, n, &opmask) : r;
}

/*
 * The rename itself: the source copied up into a writable branch T, a whiteout
 * hiding what stays below under the old name, then one rename inside T, so that
 * the old name goes and the new one comes at the same instant. The whiteout is
 * taken back when the rename fails.
 */
static int rename_in_union(struct aufs_loc *o, struct aufs_loc *n, unsigned flags)
{
	const char *odir, *oname;
	aufs_mask opmask;
	int r, t, src = o->branch;
	size_t odlen;
	bool need_wh, made = false;

	r = rename_permitted(o, n, &opmask);
	if (r < 0)
		return r;
	if (n->branch >= 0 && n->type == DT_DIR) {
		r = logically_empty(n);
		return r < 0 ? r : rename_dir_over(o, n, o->branch, opmask);
	}
	if (o->type != DT_DIR) {
		o->flags |= AUFS_LOC_DIR_CHANGES;	/* the rename changes the source's dir */
		r = cpup_loc(o, -1, false);
		if (r < 0)
			return r;
		source_dir_copied(o, n);
	}
	t = o->branch;
	if ((n->flags & AUFS_LOC_UNPROBED) && t != mask_lowest_bit(n->pmask)) {
		/* the rename happens below the copy of the name it did not look at */
		r = rename_reprobe(o, n, flags);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	r = create_place_in(n, t, n->branch < 0 && (n->pmask & MASK_BIT(t)));
	if (r < 0)
		return r;
	/*
	 * A directory onto a whited-out name: what the whiteout hid must stay hidden,
	 * from the instant the directory has the name (its own branch's whiteout
	 * beside it loses to it). O is alone in T (dir_pinned()): the marker changes
	 * nothing of its view before the move.
	 */
	if (o->type == DT_DIR && n->branch < 0 && n->cut >= 0 &&
	    (r = make_opaque(o, t, &made)) < 0)
		return r;
	loc_split(o, &odir, &odlen, &oname);
	/* a copied-up source is still below; a name this process made alone is not */
	need_wh = src != t || (!(o->flags & AUFS_LOC_ALONE) && loc_exists_below(o, t, opmask));
	if (need_wh) {
		r = wh_create(o->u, t, odir, odlen, oname);
		if (r < 0)
			goto undo;
	}
	r = beneath_renameat2(o->real, n->real,
			      (flags & RENAME_NOREPLACE) |
			      (o->type != DT_DIR && n->type != DT_DIR ? BENEATH_NOT_DIRS : 0));
	if (r < 0) {
		if (need_wh)
			(void)wh_remove(o->u, t, odir, odlen, oname);
		goto undo;	/* EINVAL: a file system without RENAME_NOREPLACE says so */
	}
	rename_settle(o, n, t);
	return 0;
undo:
	take_opaque(o, t, made);
	return r;
}

int aufs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		   unsigned flags)
{
	BENEATH_SCOPE();	/* the directories it writes in, opened once */
	struct aufs_loc *o = scratch_get(2 * sizeof(*o)), *n;
	int r, ro, rn;

	r = name_error(oldpath, false) ?: name_error(newpath, false);
	if (r < 0 || !o) {
		scratch_put(o);
		return r < 0 ? r : -ENOMEM;
	}
	n = o + 1;
	ro = aufs_resolve(olddirfd, oldpath, RESOLVE_NAME, o);
	/*
	 * A plain rename of a non-directory: the rename in the top-most branch replaces
	 * a file at the new name there or refuses a directory itself, as a create
	 * O_EXCL tests the name there (probe() in resolve_walk.c). Refused there, it
	 * leaves the source copied up: invisible in the union, as after any failure
	 * of a step that follows a copy-up.
	 */
	rn = aufs_resolve(newdirfd, newpath,
			  RESOLVE_NAME | (ro == 0 && !flags && o->branch >= 0 && o->type != DT_DIR
						  ? AUFS_RESOLVE_REPLACE
						  : 0),
			  n);
	if (ro == AUFS_PASS_HOST)
		ro = loc_host_tail(o) ?: AUFS_PASS_HOST;
	if (rn == AUFS_PASS_HOST)
		rn = loc_host_tail(n) ?: AUFS_PASS_HOST;
	if (ro < 0 || rn < 0)
		r = ro < 0 ? ro : rn;
	else if (ro != 0 || rn != 0)
		r = rename_host(ro, olddirfd, oldpath, o, rn, newdirfd, newpath, n, flags);
	else if ((r = rename_refused(o, n, flags)) == 0)
		r = flags & RENAME_EXCHANGE ? rename_exchange(o, n) : rename_in_union(o, n, flags);
	scratch_put(o);
	return r > 0 && r != AUFS_PASS ? 0 : r;
}

int aufs_name_unused(const char *path)
{
	struct aufs_loc loc;
	const char *rel, *dir, *name;
	char p[PATH_MAX];
	struct stat st;
	size_t dlen;
	int r;
	LONG_SCOPE();	/* mktemp and the like are hand-written */

	r = aufs_resolve(AT_FDCWD, path, AUFS_RESOLVE_NOFOLLOW, &loc);
	if (r == AUFS_PASS_HOST) {
		r = sys_lstat(loc.real, &st);
		return r == 0 ? -EEXIST : r == -ENOENT ? 0 : r;
	}
	if (r)
		return r == -ENOENT ? 0 : r;	/* a missing directory: nothing can clash */
	if (loc.branch >= 0 || loc.cut >= 0)
		return -EEXIST;
	/* nor hidden in any branch (under an opaque directory), nor a whiteout there */
	rel = loc.virt + loc.rel;
	loc_split(&loc, &dir, &dlen, &name);
	for (int b = 0; b < loc.u->nbranch; b++) {
		const struct aufs_branch *br = &loc.u->branch[b];

		if (branch_path(br, rel, strlen(rel), p) == 0 && sys_lstat(p, &st) != -ENOENT)
			return -EEXIST;
		if (branch_path_name(br, dir, dlen, AUFS_WH_PREFIX, name, strlen(name), p) == 0 &&
		    sys_lstat(p, &st) != -ENOENT)
			return -EEXIST;
	}
	return 0;
}
