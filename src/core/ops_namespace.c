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

int aufs_unlinkat(int dirfd, const char *path, int flags)
{
	struct aufs_loc loc;
	const char *dir, *name;
	aufs_mask pmask;
	size_t dlen;
	int r, b, t;
	bool rmdir = flags & AT_REMOVEDIR;

	r = aufs_resolve(dirfd, path, AUFS_RESOLVE_NOFOLLOW, &loc);
	if (r == AUFS_PASS_HOST)
		return sys_unlinkat(AT_FDCWD, loc.real, flags);
	if (r)
		return r;
	if (loc.branch < 0)
		return -ENOENT;
	if (loc.flags & AUFS_LOC_ROOT)
		return -EBUSY;
	if (rmdir && loc.type != DT_DIR)
		return -ENOTDIR;
	if (!rmdir && loc.type == DT_DIR)
		return -EISDIR;
	loc_split(&loc, &dir, &dlen, &name);
	{
		char pdir[PATH_MAX];

		memcpy(pdir, dir, dlen);
		pdir[dlen] = 0;
		r = lookup_dirmask(loc.u, pdir, &pmask);
		if (r < 0)
			return r;
	}
	r = perm_check_parent(&loc, pmask);
	if (r == 0)
		r = perm_check_sticky(&loc, pmask);
	if (r < 0)
		return r;
	b = loc.branch;
	/*
	 * A directory only in a writable branch, by a fresh probe or because this
	 * process made it: when the kernel finds that copy empty, it is empty in the
	 * union, and there is nothing to list (whiteouts in it make it ENOTEMPTY).
	 */
	if (rmdir && loc.u->branch[b].perm == AUFS_PERM_RW && !(loc.pmask & ~MASK_BIT(b)) &&
	    (loc.flags & (AUFS_LOC_ALONE | AUFS_LOC_CACHED)) != AUFS_LOC_CACHED) {
		r = sys_unlinkat(AT_FDCWD, loc.real, AT_REMOVEDIR);
		if (r == 0)
			goto done;
		if (r != -ENOTEMPTY && r != -EEXIST)
			return r;
	}
	if (rmdir) {
		r = logically_empty(&loc);
		if (r < 0)
			return r;
	}
	if (loc.u->branch[b].perm == AUFS_PERM_RW) {
		bool below = rmdir ? (loc.pmask & ~MASK_BIT(b)) != 0
				   : !(loc.flags & AUFS_LOC_ALONE) && loc_exists_below(&loc, b, pmask);

		/* the whiteout first: the name never shows the lower copy in between */
		if (below) {
			r = wh_create(loc.u, b, dir, dlen, name);
			if (r < 0)
				return r;
		}
		if (rmdir && below) {
			r = rmdir_aside(&loc, b, dir, dlen);
		} else if (rmdir) {
			r = wh_clear_dir(loc.u, b, dir, strlen(dir));
			if (r == 0)
				r = sys_unlinkat(AT_FDCWD, loc.real, AT_REMOVEDIR);
		} else {
			r = sys_unlinkat(AT_FDCWD, loc.real, 0);
		}
		if (r < 0 && below)
			(void)wh_remove(loc.u, b, dir, dlen, name);
		if (r < 0)
			return r;
	} else {
		/* only below: hide it with a whiteout in a writable branch above */
		t = policy_copyup(loc.u, pmask, b);
		if (t < 0)
			return t;
		r = cpup_dirs(loc.u, dir, dlen, t);
		if (r >= 0) {
			bool seal = r > 0;

			r = wh_create(loc.u, t, dir, dlen, name);
			if (seal)
				cpup_seal(loc.u, dir, dlen, t);
		}
		if (r < 0)
			return r;
	}
done:
	loc_changed(&loc);
	if (rmdir)
		aufs_dir_changed(loc.u, dir, strlen(dir));
	return 0;
}

int aufs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		   unsigned flags)
{
	struct aufs_loc *o = malloc(2 * sizeof(*o)), *n;
	const char *odir, *oname, *ndir, *nname;
	size_t odlen, ndlen;
	aufs_mask opmask;
	int r, ro, rn, t, src;
	bool need_wh;

	if (!o)
		return -ENOMEM;
	n = o + 1;
	ro = aufs_resolve(olddirfd, oldpath, AUFS_RESOLVE_NOFOLLOW, o);
	rn = aufs_resolve(newdirfd, newpath, AUFS_RESOLVE_NOFOLLOW, n);
	if (ro < 0 && ro != AUFS_PASS_HOST) {
		r = ro;
		goto out;
	}
	if (rn < 0 && rn != AUFS_PASS_HOST) {
		r = rn;
		goto out;
	}
	if (ro == AUFS_PASS && rn == AUFS_PASS) {
		r = AUFS_PASS;
		goto out;
	}
	if (ro != 0 || rn != 0) {
		if (ro == 0 || rn == 0) {
			r = -EXDEV;	/* between a union and the host */
			goto out;
		}
		/* both on the host, at least one having passed through a union */
		r = sys_renameat2(ro == AUFS_PASS ? olddirfd : AT_FDCWD,
				  ro == AUFS_PASS ? oldpath : o->real,
				  rn == AUFS_PASS ? newdirfd : AT_FDCWD,
				  rn == AUFS_PASS ? newpath : n->real, flags);
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
	if ((o->flags | n->flags) & AUFS_LOC_ROOT) {
		r = -EBUSY;
		goto out;
	}
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		r = -EINVAL;
		goto out;
	}
	if ((flags & RENAME_NOREPLACE) && n->branch >= 0) {
		r = -EEXIST;
		goto out;
	}
	if (!strcmp(o->virt, n->virt)) {
		r = 0;	/* the same name: nothing to do */
		goto out;
	}
	loc_split(o, &odir, &odlen, &oname);
	loc_split(n, &ndir, &ndlen, &nname);
	if (!strncmp(nname, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN)) {
		r = -EPERM;
		goto out;
	}
	if (flags & RENAME_EXCHANGE) {
		/* possible only when both live in one writable branch and nothing below */
		if (n->branch < 0) {
			r = -ENOENT;
			goto out;
		}
		if (o->branch != n->branch || o->u->branch[o->branch].perm != AUFS_PERM_RW ||
		    (o->type == DT_DIR && (o->pmask & ~MASK_BIT(o->branch))) ||
		    (n->type == DT_DIR && (n->pmask & ~MASK_BIT(n->branch)))) {
			r = -EINVAL;
			goto out;
		}
		r = sys_renameat2(AT_FDCWD, o->real, AT_FDCWD, n->real, RENAME_EXCHANGE);
		if (r == 0) {
			loc_changed(o);
			loc_changed(n);
			if (o->type == DT_DIR || n->type == DT_DIR)
				aufs_union_changed(o->u);
		}
		goto out;
	}
	if (n->branch >= 0) {
		if (n->type == DT_DIR && o->type != DT_DIR) {
			r = -EISDIR;
			goto out;
		}
		if (n->type != DT_DIR && o->type == DT_DIR) {
			r = -ENOTDIR;
			goto out;
		}
		if (n->type == DT_DIR) {
			r = logically_empty(n);
			if (r < 0)
				goto out;
			if (n->pmask & ~MASK_BIT(n->branch)) {
				r = -EXDEV;	/* the target directory also lives below */
				goto out;
			}
		}
	}
	{
		char pdir[PATH_MAX];

		memcpy(pdir, odir, odlen);
		pdir[odlen] = 0;
		r = lookup_dirmask(o->u, pdir, &opmask);
		if (r < 0)
			goto out;
	}
	r = perm_check_parent(o, opmask);
	if (r == 0)
		r = perm_check_sticky(o, opmask);
	if (r == 0)
		r = perm_check_parent(n, n->branch >= 0 ? MASK_BIT(n->branch) : n->pmask);
	if (r < 0)
		goto out;
	if (o->type == DT_DIR) {
		/* a directory with content in a lower branch: EXDEV, as aufs */
		if (o->u->branch[o->branch].perm != AUFS_PERM_RW || (o->pmask & ~MASK_BIT(o->branch))) {
			r = -EXDEV;
			goto out;
		}
	}
	src = o->branch;
	if (o->type != DT_DIR) {
		r = cpup_loc(o, -1, false);
		if (r < 0)
			goto out;
	}
	t = o->branch;
	r = create_place_in(n, t, n->branch < 0 && (n->pmask & MASK_BIT(t)));
	if (r < 0)
		goto out;
	/* a copied-up source is still below; a name this process made alone is not */
	need_wh = src != t || (!(o->flags & AUFS_LOC_ALONE) && loc_exists_below(o, t, opmask));
	if (need_wh) {
		r = wh_create(o->u, t, odir, odlen, oname);
		if (r < 0)
			goto out;
	}
	r = sys_renameat2(AT_FDCWD, o->real, AT_FDCWD, n->real, flags & RENAME_NOREPLACE);
	if (r == -EINVAL && (flags & RENAME_NOREPLACE))
		r = -EINVAL;	/* a file system without RENAME_NOREPLACE: say so */
	if (r < 0) {
		if (need_wh)
			(void)wh_remove(o->u, t, odir, odlen, oname);
		goto out;
	}
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
out:
	free(o);
	return r;
}

int aufs_name_unused(const char *path)
{
	struct aufs_loc loc;
	const char *rel, *dir, *name;
	char p[PATH_MAX];
	struct stat st;
	size_t dlen;
	int r;

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
		if (branch_path(br, dir, dlen, p) == 0 &&
		    strlen(p) + 1 + AUFS_WH_PREFIX_LEN + strlen(name) < sizeof(p)) {
			size_t n = strlen(p);

			p[n++] = '/';
			memcpy(p + n, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN);
			memcpy(p + n + AUFS_WH_PREFIX_LEN, name, strlen(name) + 1);
			if (sys_lstat(p, &st) != -ENOENT)
				return -EEXIST;
		}
	}
	return 0;
}
