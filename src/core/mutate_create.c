/* SPDX-License-Identifier: MIT */
/*
 * mutate_create.c - what every change of a directory shares: the permission
 * checks of the directory it changes (as aufs decides them), where a new name
 * goes (the create= policy, never below a whiteout that hides it, parents copied
 * up first), and the notice to every process of the union that a directory
 * changed. The operations themselves are in ops_namespace.c and their callers.
 */
#include "internal.h"

void loc_split(const struct aufs_loc *loc, const char **dir, size_t *dlen, const char **name)
{
	const char *rel = loc->virt + loc->rel, *slash = strrchr(rel, '/');

	*dir = rel;
	*dlen = slash ? (size_t)(slash - rel) : 0;
	*name = slash ? slash + 1 : rel;
}

static int highest_bit(aufs_mask m)
{
	int b = -1;

	for (int i = 0; i < 128; i++)
		if (m & MASK_BIT(i))
			b = i;
	return b;
}

/*
 * A probe that fails otherwise than "no such name" counts as yes: a whiteout too
 * many hides nothing, one too few shows the lower copy again.
 */
bool loc_exists_below(const struct aufs_loc *loc, int b, aufs_mask pmask)
{
	char path[PATH_MAX];
	struct stat st;
	const char *rel = loc->virt + loc->rel;

	for (int i = b + 1; i < loc->u->nbranch; i++) {
		int r;

		if (!(pmask & MASK_BIT(i)))
			continue;
		if (branch_path(&loc->u->branch[i], rel, strlen(rel), path) < 0)
			continue;
		r = sys_lstat(path, &st);
		if (r != -ENOENT && r != -ENOTDIR)
			return true;
	}
	return false;
}

/*
 * The name of LOC came, went or moved: what every process cached about that name
 * (an entry, or a whole path resting on it) is stale. Only the name's own bucket
 * is bumped (lent_valid() in resolve_walk.c checks it for every entry), so the
 * cached siblings in its directory stay valid.
 */
void loc_changed(const struct aufs_loc *loc)
{
	const char *rel = loc->virt + loc->rel;

	lookup_name_changed(loc->u, rel, strlen(rel));
}

/*
 * May the caller add or remove names in the directory holding LOC? As aufs
 * decides (aufs_permission(), and the kernel overlay with its upper inode): write
 * permission on the directory's top-most copy only - the one a tenant owns in
 * its branch, whatever the base's copy says - and search permission on every
 * copy (nodirperm1) or on the top-most one (dirperm1). The kernel's verdict
 * (ACLs included), except for write permission on a read-only mount, where the
 * mode bits say what a real file system would: the union writes a copy.
 */
int perm_check_parent(const struct aufs_loc *loc, aufs_mask pmask)
{
	const char *dir, *name;
	char path[PATH_MAX];
	struct stat st;
	size_t dlen;
	int top, r;

	if (creds_get()->euid == 0 || !pmask)
		return 0;
	loc_split(loc, &dir, &dlen, &name);
	top = mask_lowest_bit(pmask);
	if (branch_path(&loc->u->branch[top], dir, dlen, path) == 0) {
		r = sys_faccessat2(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS);
		if (r == -EROFS && sys_lstat(path, &st) == 0 &&
		    !creds_mode_allows(&st, W_OK | X_OK, false))
			r = -EACCES;
		if (r == -EACCES)
			return r;	/* other errors: the operation itself will tell */
	}
	if (loc->u->opts.flags & AUFS_OPT_DIRPERM1)
		return 0;
	for (int b = top + 1; b < loc->u->nbranch; b++) {
		if (!(pmask & MASK_BIT(b)) ||
		    branch_path(&loc->u->branch[b], dir, dlen, path) < 0)
			continue;
		if (sys_faccessat2(AT_FDCWD, path, X_OK, AT_EACCESS) == -EACCES)
			return -EACCES;
	}
	return 0;
}

int perm_check_dir(const struct aufs_loc *loc, int mask, int at_flags)
{
	const char *rel = loc->virt + loc->rel;
	char path[PATH_MAX];

	if (loc->type != DT_DIR || !(loc->flags & AUFS_LOC_DIRPERM) ||
	    (loc->u->opts.flags & AUFS_OPT_DIRPERM1) || !(mask & (R_OK | X_OK)))
		return 0;
	for (int b = loc->branch + 1; b < loc->u->nbranch; b++) {
		if (!(loc->pmask & MASK_BIT(b)) ||
		    branch_path(&loc->u->branch[b], rel, strlen(rel), path) < 0)
			continue;
		if (sys_faccessat2(AT_FDCWD, path, mask & (R_OK | X_OK),
				   (at_flags & AT_EACCESS) | AT_SYMLINK_NOFOLLOW) == -EACCES)
			return -EACCES;
	}
	return 0;
}

int perm_check_access(const struct aufs_loc *loc, int mode, int at_flags)
{
	int kflags = (at_flags & AT_EACCESS) | AT_SYMLINK_NOFOLLOW;
	struct stat st;
	int r;

	/*
	 * The top-most copy decides, as on a real file system, and as aufs decides
	 * everything but reading and searching a directory. A read-only branch's
	 * mount flag must not (the union would copy the object up): there the mode
	 * bits answer for write permission.
	 */
	r = sys_faccessat2(AT_FDCWD, loc->real, mode, kflags);
	if (r == -EROFS && loc->u->branch[loc->branch].perm != AUFS_PERM_RW) {
		r = sys_faccessat2(AT_FDCWD, loc->real, mode & ~W_OK, kflags);
		if (r == 0 && sys_lstat(loc->real, &st) == 0 &&
		    !creds_mode_allows(&st, W_OK, !(at_flags & AT_EACCESS)))
			r = -EACCES;
	}
	if (r == 0 && (mode & W_OK))
		r = perm_check_copyup(loc);	/* where the change would go */
	if (r == 0)
		r = perm_check_dir(loc, mode, at_flags);
	return r;
}

int loc_parent_mask(const struct aufs_loc *loc, aufs_mask *ret)
{
	const char *dir, *name;
	char pdir[PATH_MAX];
	size_t dlen;

	if (loc->type != DT_DIR) {
		*ret = loc->pmask;	/* a missing name or a non-directory: its directory's */
		return 0;
	}
	loc_split(loc, &dir, &dlen, &name);
	memcpy(pdir, dir, dlen);
	pdir[dlen] = 0;
	return lookup_dirmask(loc->u, pdir, ret);
}

/*
 * The sticky bit of the union's directory: only the owner of the entry or of the
 * directory (or root) may remove or rename an entry of it. The directory's
 * top-most copy and the entry's say, as for write permission.
 */
int perm_check_sticky(const struct aufs_loc *loc, aufs_mask pmask)
{
	const char *dir, *name;
	char path[PATH_MAX];
	struct stat dst, st;
	uid_t uid = creds_get()->euid;
	size_t dlen;
	int b;

	if (uid == 0 || !pmask)
		return 0;
	for (b = 0; !(pmask & MASK_BIT(b)); b++)
		;
	loc_split(loc, &dir, &dlen, &name);
	if (branch_path(&loc->u->branch[b], dir, dlen, path) < 0 || sys_lstat(path, &dst) < 0 ||
	    !(dst.st_mode & S_ISVTX) || dst.st_uid == uid)
		return 0;
	if (sys_lstat(loc->real, &st) < 0 || st.st_uid == uid)
		return 0;
	return -EPERM;
}

/*
 * Make the directory of LOC exist in branch T (unless HAVE_PARENT) and point
 * loc->real at the name there.
 */
int create_place_in(struct aufs_loc *loc, int t, bool have_parent)
{
	const char *dir, *name;
	size_t dlen;
	int r;

	loc_split(loc, &dir, &dlen, &name);
	if (!have_parent) {
		/* the parent's branches: the lookup's, unless LOC is a directory */
		r = loc->type != DT_DIR && !(loc->pmask & MASK_BIT(t))
			    ? cpup_dirs_missing(loc->u, dir, dlen, t)
			    : cpup_dirs(loc->u, dir, dlen, t);
		if (r < 0)
			return r;
		if (r > 0)
			loc->flags |= AUFS_LOC_SEAL;
	}
	return branch_path(&loc->u->branch[t], dir, strlen(dir), loc->real);
}

/*
 * Prepare LOC (a missing name) for creation: pick the branch, copy the parent
 * directories up into it, point loc->real there. Returns the branch or -errno.
 */
int create_prepare(struct aufs_loc *loc, bool dir_create)
{
	const char *dir, *name;
	int limit = highest_bit(loc->pmask), t, r;
	size_t dlen;

	loc_split(loc, &dir, &dlen, &name);
	if (!strncmp(name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN))
		return -EPERM;	/* the whiteout prefix is reserved */
	if (strlen(name) > AUFS_NAME_MAX)
		return -ENAMETOOLONG;	/* it could never be whited out */
	if (loc->cut >= 0 && loc->cut < limit)
		limit = loc->cut;
	t = policy_create(loc->u, loc->pmask, limit, dir_create);
	if (t >= 0 && (loc->flags & AUFS_LOC_WH_UNPROBED) && t != mask_lowest_bit(loc->pmask)) {
		/*
		 * The lookup left the top-most copy's whiteout of the name unprobed (it
		 * hides nothing below), but the name goes under that copy: there it
		 * would hide the new one.
		 */
		int top = mask_lowest_bit(loc->pmask);

		r = wh_exists(loc->u, top, dir, dlen, name);
		if (r < 0)
			return r;
		loc->flags &= ~AUFS_LOC_WH_UNPROBED;
		if (r) {
			loc->cut = top;
			t = policy_create(loc->u, loc->pmask, top, dir_create);
		}
	}
	if (t < 0)
		return t;
	r = perm_check_parent(loc, loc->pmask);
	if (r < 0)
		return r;
	r = create_place_in(loc, t, loc->pmask & MASK_BIT(t));
	if (r < 0)
		return r;
	loc->parent_branch = t;
	return t;
}

bool create_unprobed_exists(const struct aufs_loc *loc, int t)
{
	const char *rel = loc->virt + loc->rel;
	char path[PATH_MAX];
	struct stat st;
	int top = loc->pmask ? mask_lowest_bit(loc->pmask) : -1;

	if (!(loc->flags & AUFS_LOC_UNPROBED) || top < 0 || t == top)
		return false;	/* the create there tests it */
	return branch_path(&loc->u->branch[top], rel, strlen(rel), path) == 0 &&
	       sys_lstat(path, &st) == 0;
}

/* The name now exists in branch T: drop its whiteout there, tell the others. */
void create_done(struct aufs_loc *loc, int t)
{
	const char *dir, *name;
	size_t dlen;

	loc_split(loc, &dir, &dlen, &name);
	if (loc->cut == t)
		(void)wh_remove(loc->u, t, dir, dlen, name);	/* visible now anyway */
	if (loc->flags & AUFS_LOC_SEAL)
		cpup_seal(loc->u, dir, dlen, t);
	loc_changed(loc);
	/*
	 * The lookup found the name in no branch, or only under a whiteout (cut):
	 * without one, nothing is below the new copy, and removing it needs no whiteout.
	 */
	if (loc->type != DT_UNKNOWN)
		lookup_note_made(loc->u, dir, strlen(dir), t, loc->type, loc->cut < 0);
}
