/* SPDX-License-Identifier: MIT */
/*
 * ops_plink.c - aufsctl flush: a name that shows a pseudo-link (state_plink.c)
 * becomes a real hard link of the copy in the copy's branch, what aufs's auplink
 * does. The names themselves are found by the tool (it walks the lower branch
 * for the file's other names); here each is looked up as a process of the union
 * would, and linked only when it shows that pseudo-link: a name whited out,
 * renamed over or given a copy of its own since is left alone.
 */
#include "internal.h"

int aufs_plink_flush_name(const char *virt, uint64_t num)
{
	char copy[PATH_MAX], dst[PATH_MAX];
	const struct aufs_xino *x;
	struct aufs_loc loc;
	const char *rel, *name;
	size_t rlen, dlen;
	bool seal;
	int r, t;

	LONG_SCOPE();
	r = aufs_resolve(AT_FDCWD, virt, AUFS_RESOLVE_NOFOLLOW, &loc);
	if (r == AUFS_PASS || r == AUFS_PASS_HOST)
		return -EXDEV;	/* not a name of a union */
	if (r < 0 || loc.branch < 0)
		return r < 0 ? r : 0;
	x = (const struct aufs_xino *)(atomic_load(&loc.u->xino) & ~AUFS_SHM_RDONLY);
	if (!x || (t = plink_branch(loc.u, x, num)) < 0 || plink_path(loc.u, t, num, copy) < 0)
		return 0;
	if (loc.branch != t || strcmp(loc.real, copy) != 0)
		return 0;	/* it shows something else */
	rel = loc.virt + loc.rel;
	rlen = strlen(rel);
	name = strrchr(rel, '/');
	dlen = name ? (size_t)(name - rel) : 0;
	r = cpup_dirs(loc.u, rel, dlen, t);
	if (r < 0)
		return r;
	seal = r > 0;
	if ((r = branch_path(&loc.u->branch[t], rel, rlen, dst)) == 0)
		r = beneath_linkat(copy, dst);
	if (seal)
		cpup_seal(loc.u, rel, dlen, t);	/* a directory copied up widened */
	if (r == -EEXIST)
		return 0;	/* a name of its own there already (made since): not ours */
	if (r < 0)
		return r;
	lookup_name_changed(loc.u, rel, rlen);
	return 1;
}
