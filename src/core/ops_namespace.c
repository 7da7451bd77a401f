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

int aufs_mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct aufs_loc loc;
	const char *dir, *name;
	size_t dlen;
	int r, t;

	r = aufs_resolve(dirfd, path, AUFS_RESOLVE_NOFOLLOW, &loc);
	if (r == AUFS_PASS_HOST)
		return sys_mkdirat(AT_FDCWD, loc.real, mode);
	if (r)
		return r;
	if (loc.branch >= 0)
		return -EEXIST;
	t = create_prepare(&loc, true);
	if (t < 0)
		return t;
	r = sys_mkdirat(AT_FDCWD, loc.real, mode);
	if (r < 0)
		return r;
	loc_split(&loc, &dir, &dlen, &name);
	/* over a whiteout (or diropq=a) the new directory hides what is below */
	if (loc.cut >= 0 || (loc.u->opts.flags & AUFS_OPT_DIROPQ_A)) {
		r = wh_make_opaque(loc.u, t, dir, strlen(dir));
		if (r < 0) {
			(void)sys_unlinkat(AT_FDCWD, loc.real, AT_REMOVEDIR);
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
	struct aufs_loc loc;
	int r, t;

	r = aufs_resolve(dirfd, path, AUFS_RESOLVE_NOFOLLOW, &loc);
	if (r == AUFS_PASS_HOST)
		return sys_mknodat(AT_FDCWD, loc.real, mode, dev);
	if (r)
		return r;
	if (loc.branch >= 0)
		return -EEXIST;
	t = create_prepare(&loc, false);
	if (t < 0)
		return t;
	r = sys_mknodat(AT_FDCWD, loc.real, mode, dev);
	if (r == 0)
		create_done(&loc, t);
	return r;
}

int aufs_symlinkat(const char *target, int dirfd, const char *path)
{
	struct aufs_loc loc;
	int r, t;

	r = aufs_resolve(dirfd, path, AUFS_RESOLVE_NOFOLLOW, &loc);
	if (r == AUFS_PASS_HOST)
		return sys_symlinkat(target, AT_FDCWD, loc.real);
	if (r)
		return r;
	if (loc.branch >= 0)
		return -EEXIST;
	t = create_prepare(&loc, false);
	if (t < 0)
		return t;
	r = sys_symlinkat(target, AT_FDCWD, loc.real);	/* the target is stored verbatim */
	if (r == 0)
		create_done(&loc, t);
	return r;
}

int aufs_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	struct aufs_loc *o = malloc(2 * sizeof(*o)), *n;
	const char *dir, *name;
	size_t dlen;
	int r, ro, rn, t;

	if (!o)
		return -ENOMEM;
	n = o + 1;
	ro = aufs_resolve(olddirfd, oldpath,
			  (flags & AT_SYMLINK_FOLLOW ? 0 : AUFS_RESOLVE_NOFOLLOW) |
			  (flags & AT_EMPTY_PATH ? AUFS_RESOLVE_EMPTY_PATH : 0), o);
	rn = aufs_resolve(newdirfd, newpath, AUFS_RESOLVE_NOFOLLOW, n);
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
	if (n->branch >= 0) {
		r = -EEXIST;
		goto out;
	}
	if (ro == AUFS_PASS || ro == AUFS_PASS_HOST) {
		/* /proc/self/fd/N of an O_TMPFILE file, or a host file: link it in place */
		t = create_prepare(n, false);
		if (t < 0) {
			r = t;
			goto out;
		}
		r = sys_linkat(ro == AUFS_PASS ? olddirfd : AT_FDCWD,
			       ro == AUFS_PASS ? oldpath : o->real, AT_FDCWD, n->real,
			       flags & (AT_SYMLINK_FOLLOW | AT_EMPTY_PATH));
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
	t = o->branch;
	r = create_place_in(n, t, n->pmask & MASK_BIT(t));
	if (r == 0)
		r = sys_linkat(AT_FDCWD, o->real, AT_FDCWD, n->real, 0);
	if (r == 0)
		create_done(n, t);
out:
	free(o);
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
	static _Atomic unsigned long seq;
	char trel[PATH_MAX], treal[PATH_MAX];
	int n, r;

	n = snprintf(trel, sizeof(trel), "%.*s%s" AUFS_WH_PREFIX AUFS_WH_PREFIX "rmdir.%d.%lu",
		     (int)dlen, dir, dlen ? "/" : "", (int)sys_getpid(), atomic_fetch_add(&seq, 1));
	if (n < 0 || (size_t)n >= sizeof(trel) ||
	    branch_path(&loc->u->branch[b], trel, (size_t)n, treal) < 0)
		return -ENAMETOOLONG;
	r = sys_renameat2(AT_FDCWD, loc->real, AT_FDCWD, treal, RENAME_NOREPLACE);
	if (r == -EINVAL || r == -ENOSYS) {
		/* no RENAME_NOREPLACE here: empty it in place */
		r = wh_clear_dir(loc->u, b, dir, strlen(dir));
		return r ? r : sys_unlinkat(AT_FDCWD, loc->real, AT_REMOVEDIR);
	}
	if (r < 0)
		return r;
	if (wh_clear_dir(loc->u, b, trel, (size_t)n) == 0)
		(void)sys_unlinkat(AT_FDCWD, treal, AT_REMOVEDIR);
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
	bool below = rmdir ? (loc->pmask & ~MASK_BIT(b)) != 0
			   : !(loc->flags & AUFS_LOC_ALONE) && loc_exists_below(loc, b, pmask);
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
			r = sys_unlinkat(AT_FDCWD, loc->real, AT_REMOVEDIR);
	} else {
		r = sys_unlinkat(AT_FDCWD, loc->real, 0);
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
 * Returns 0 (removed), 1 (list it after all) or -errno.
 */
static int rmdir_alone(const struct aufs_loc *loc, int b)
{
	int r;

	if (loc->u->branch[b].perm != AUFS_PERM_RW || (loc->pmask & ~MASK_BIT(b)) ||
	    (loc->flags & (AUFS_LOC_ALONE | AUFS_LOC_CACHED)) == AUFS_LOC_CACHED)
		return 1;
	r = sys_unlinkat(AT_FDCWD, loc->real, AT_REMOVEDIR);
	return r == -ENOTEMPTY || r == -EEXIST ? 1 : r;
}

int aufs_unlinkat(int dirfd, const char *path, int flags)
{
	struct aufs_loc loc;
	bool rmdir = flags & AT_REMOVEDIR;
	const char *dir, *name;
	aufs_mask pmask;
	size_t dlen;
	int r, b;

	r = aufs_resolve(dirfd, path, AUFS_RESOLVE_NOFOLLOW, &loc);
	if (r == AUFS_PASS_HOST)
		return sys_unlinkat(AT_FDCWD, loc.real, flags);
	if (r)
		return r;
	if (loc.branch < 0)
		return -ENOENT;
	if (loc.flags & AUFS_LOC_ROOT)
		return -EBUSY;
	if (rmdir != (loc.type == DT_DIR))
		return rmdir ? -ENOTDIR : -EISDIR;
	r = removal_permitted(&loc, &pmask);
	if (r < 0)
		return r;
	b = loc.branch;
	r = rmdir ? rmdir_alone(&loc, b) : 1;
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

/* What rename(2) refuses before anything is touched: 0, 1 (nothing to do) or -errno. */
static int rename_refused(const struct aufs_loc *o, const struct aufs_loc *n, unsigned flags)
{
	const char *ndir, *nname;
	size_t ndlen;

	if (o->u != n->u)
		return -EXDEV;
	if (o->branch < 0)
		return -ENOENT;
	if ((o->flags | n->flags) & AUFS_LOC_ROOT)
		return -EBUSY;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && n->branch >= 0)
		return -EEXIST;
	if (!strcmp(o->virt, n->virt))
		return 1;	/* the same name: nothing to do */
	loc_split(n, &ndir, &ndlen, &nname);
	if (!strncmp(nname, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN))
		return -EPERM;
	if (strlen(nname) > AUFS_NAME_MAX)
		return -ENAMETOOLONG;	/* as create_prepare() */
	if (n->branch < 0 || (flags & RENAME_EXCHANGE))
		return 0;
	if (n->type == DT_DIR && o->type != DT_DIR)
		return -EISDIR;
	if (n->type != DT_DIR && o->type == DT_DIR)
		return -ENOTDIR;
	if (n->type == DT_DIR) {
		int r = logically_empty(n);

		if (r < 0)
			return r;
		if (n->pmask & ~MASK_BIT(n->branch))
			return -EXDEV;	/* the target directory also lives below */
	}
	return 0;
}

/* RENAME_EXCHANGE: possible only when both live in one writable branch and nothing below. */
static int rename_exchange(const struct aufs_loc *o, const struct aufs_loc *n)
{
	int r;

	if (n->branch < 0)
		return -ENOENT;
	if (o->branch != n->branch || o->u->branch[o->branch].perm != AUFS_PERM_RW ||
	    (o->type == DT_DIR && (o->pmask & ~MASK_BIT(o->branch))) ||
	    (n->type == DT_DIR && (n->pmask & ~MASK_BIT(n->branch))))
		return -EINVAL;
	r = sys_renameat2(AT_FDCWD, o->real, AT_FDCWD, n->real, RENAME_EXCHANGE);
	if (r == 0) {
		loc_changed(o);
		loc_changed(n);
		if (o->type == DT_DIR || n->type == DT_DIR)
			aufs_union_changed(o->u);
	}
	return r;
}

/*
 * May the caller move O to N? Write permission on both directories, the sticky
 * bit of O's, and (a directory) no content below. *RET_OPMASK: the branches of
 * O's directory.
 */
static int rename_permitted(const struct aufs_loc *o, const struct aufs_loc *n,
			    aufs_mask *ret_opmask)
{
	int r = removal_permitted(o, ret_opmask);

	if (r == 0)
		r = perm_check_parent(n, n->branch >= 0 ? MASK_BIT(n->branch) : n->pmask);
	if (r == 0 && o->type == DT_DIR &&
	    (o->u->branch[o->branch].perm != AUFS_PERM_RW || (o->pmask & ~MASK_BIT(o->branch))))
		r = -EXDEV;	/* a directory with content in a lower branch: EXDEV, as aufs */
	return r;
}

/* After the rename into branch T: whiteouts and opaque markers of the new name. */
static void rename_settle(struct aufs_loc *o, struct aufs_loc *n, int t)
{
	const char *ndir, *nname;
	size_t ndlen;

	loc_split(n, &ndir, &ndlen, &nname);
	if (o->type == DT_DIR && n->branch < 0 && n->cut >= 0) {
		/* onto a whited-out name: what the whiteout hid must stay hidden */
		(void)wh_make_opaque(n->u, t, ndir, strlen(ndir));
		aufs_dir_changed(n->u, ndir, strlen(ndir));
	}
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
	bool need_wh;

	r = rename_permitted(o, n, &opmask);
	if (r < 0)
		return r;
	if (o->type != DT_DIR) {
		o->flags |= AUFS_LOC_DIR_CHANGES;	/* the rename changes the source's dir */
		r = cpup_loc(o, -1, false);
		if (r < 0)
			return r;
	}
	t = o->branch;
	r = create_place_in(n, t, n->branch < 0 && (n->pmask & MASK_BIT(t)));
	if (r < 0)
		return r;
	loc_split(o, &odir, &odlen, &oname);
	/* a copied-up source is still below; a name this process made alone is not */
	need_wh = src != t || (!(o->flags & AUFS_LOC_ALONE) && loc_exists_below(o, t, opmask));
	if (need_wh) {
		r = wh_create(o->u, t, odir, odlen, oname);
		if (r < 0)
			return r;
	}
	r = sys_renameat2(AT_FDCWD, o->real, AT_FDCWD, n->real, flags & RENAME_NOREPLACE);
	if (r < 0) {
		if (need_wh)
			(void)wh_remove(o->u, t, odir, odlen, oname);
		return r;	/* EINVAL: a file system without RENAME_NOREPLACE says so */
	}
	rename_settle(o, n, t);
	return 0;
}

int aufs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		   unsigned flags)
{
	struct aufs_loc *o = malloc(2 * sizeof(*o)), *n;
	int r, ro, rn;

	if (!o)
		return -ENOMEM;
	n = o + 1;
	ro = aufs_resolve(olddirfd, oldpath, AUFS_RESOLVE_NOFOLLOW, o);
	rn = aufs_resolve(newdirfd, newpath, AUFS_RESOLVE_NOFOLLOW, n);
	if (ro < 0 || rn < 0)
		r = ro < 0 ? ro : rn;
	else if (ro != 0 || rn != 0)
		r = rename_host(ro, olddirfd, oldpath, o, rn, newdirfd, newpath, n, flags);
	else if ((r = rename_refused(o, n, flags)) == 0)
		r = flags & RENAME_EXCHANGE ? rename_exchange(o, n) : rename_in_union(o, n, flags);
	free(o);
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
