/* SPDX-License-Identifier: MIT */
/*
 * mutate_plink.c - the writes of pseudo-links (state_plink.c says what they are):
 * the copy-up's hook that makes one, and dropping them (clean_plink, aufsctl
 * flush). Every write in a branch goes through mutate_beneath.c: a tenant who
 * swaps .wh..wh.plnk for a symlink gets -ELOOP, never a link or a removal
 * elsewhere made by root's process.
 *
 * The order of a copy-up (plink_copied()): the copy is made in its temporary as
 * any other, then linked to .wh..wh.plnk/NUM without replacing: the link is the
 * arbiter between two processes copying up two names of the file at once. The
 * one that finds the name taken makes its temporary a link of the winner's
 * copy, so both names end as one file. Then the copy's number is recorded
 * (state_xino.c: it keeps NUM), then the entry, then the gate.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ---------------------------------------------------------------- copy-up */

/* Make BRANCH T's .wh..wh.plnk: 0711, the branch owner's. 0 or -errno. */
static int make_dir(const struct aufs_union *u, int t)
{
	char path[PATH_MAX];
	struct stat root;
	int r = branch_path_name(&u->branch[t], "", 0, "", AUFS_WH_PLINK,
				 sizeof(AUFS_WH_PLINK) - 1, path);

	if (r < 0)
		return r;
	r = beneath_mkdirat(path, 0700);
	if (r == -EEXIST)
		return 0;
	if (r < 0)
		return r;
	/* whatever the umask: other users' processes open the copies by name */
	r = beneath_fchmodat(path, 0711);
	if (r == 0 && sys_geteuid() == 0 && sys_stat(u->branch[t].path, &root) == 0 &&
	    root.st_uid != 0)
		r = beneath_fchownat(path, root.st_uid, root.st_gid);
	return r;
}

/* TMP becomes another name of the pseudo-link's copy at PATH (replacing ours). */
static int adopt(const char *path, const char *tmp)
{
	char other[PATH_MAX];
	int r;

	if ((size_t)snprintf(other, sizeof(other), "%s.plnk", tmp) >= sizeof(other))
		return -ENAMETOOLONG;
	r = beneath_linkat(path, other);
	if (r < 0)
		return r;
	r = beneath_renameat2(other, tmp, 0);
	if (r < 0)
		(void)beneath_unlinkat(other, 0);
	return r;
}

void plink_copied(struct aufs_union *u, int src, const struct stat *src_st, int t,
		  const char *tmp, int *fd)
{
	char path[PATH_MAX];
	struct aufs_xino *x;
	struct stat copy;
	uint64_t num;
	int r;

	if (S_ISDIR(src_st->st_mode) || src_st->st_nlink < 2 || t >= src || !plink_enabled(u))
		return;
	x = xino_writable(u);
	if (!x)
		return;	/* the table is read-only here: a copy, as under noplink */
	num = xino_number(u, src, (uint64_t)src_st->st_dev, (uint64_t)src_st->st_ino);
	if (plink_path(u, t, num, path) < 0)
		return;
	r = beneath_linkat(tmp, path);
	if (r == -ENOENT && make_dir(u, t) == 0)
		r = beneath_linkat(tmp, path);
	if (r == -EEXIST) {
		/* another name of the file was copied up first: this name is that copy */
		if (sys_lstat(path, &copy) < 0 ||
		    (copy.st_mode & S_IFMT) != (src_st->st_mode & S_IFMT) || adopt(path, tmp) < 0)
			return;
		if (*fd >= 0) {
			sys_close(*fd);	/* it was our copy's, which is gone */
			*fd = -1;
		}
		r = 0;
	}
	if (r < 0)
		return;
	if (sys_lstat(tmp, &copy) == 0)
		(void)xino_record(x, (uint64_t)copy.st_dev, (uint64_t)copy.st_ino, num);
	if (plink_branch(u, x, num) != t)	/* joined: recorded already, unless its maker died */
		(void)plink_set(x, num, t);
}

/* ---------------------------------------------------------------- administration */

static int table_rw(struct aufs_union *u, struct aufs_xino **ret, struct aufs_err *err)
{
	int r;

	if (!plink_enabled(u)) {
		*ret = NULL;
		return 0;
	}
	r = aufs_xino_attach(u, err);
	if (r < 0)
		return r;
	*ret = xino_writable(u);
	if (!*ret && atomic_load(&u->xino)) {
		snprintf(err->msg, sizeof(err->msg),
			 "the pseudo-links of %s are the branch owner's (uid of its top writable "
			 "branch) or root's to change", u->mnt);
		err->code = -EPERM;
		return -EPERM;
	}
	return 0;
}

int aufs_plink_may_change(struct aufs_union *u, struct aufs_err *err)
{
	struct aufs_xino *x;

	return table_rw(u, &x, err);
}

int aufs_plink_list(struct aufs_union *u, struct aufs_plink *out, size_t max)
{
	const struct aufs_xino *x = plink_enabled(u) ? plink_table(u) : NULL;

	return x ? plink_scan(x, out, max) : 0;
}

uint64_t aufs_plink_key(struct aufs_union *u, int b, const struct stat *st)
{
	return xino_number(u, b, (uint64_t)st->st_dev, (uint64_t)st->st_ino);
}

/*
 * The entry NUM goes, then its copy's name in .wh..wh.plnk. FORGET (clean_plink):
 * the copy is a file of its own from now on, with a number of its own, since the
 * other names show the lower file and its number again.
 */
static int drop_entry(struct aufs_union *u, struct aufs_xino *x, uint64_t num, bool forget)
{
	char path[PATH_MAX];
	struct stat copy;
	int r = 0, t = plink_branch(u, x, num);

	plink_clear(x, num);
	if (t >= 0 && plink_path(u, t, num, path) == 0) {
		if (forget && sys_lstat(path, &copy) == 0)
			xino_free(x, (uint64_t)copy.st_dev, (uint64_t)copy.st_ino);
		r = beneath_unlinkat(path, 0);
		if (r == -ENOENT)
			r = 0;
	}
	aufs_union_changed(u);	/* the names that showed it show the lower file again */
	return r;
}

int aufs_plink_drop(struct aufs_union *u, uint64_t num, struct aufs_err *err)
{
	struct aufs_xino *x;
	int r = table_rw(u, &x, err);

	return r < 0 || !x ? r : drop_entry(u, x, num, false);
}

int aufs_plink_clean(struct aufs_union *u, struct aufs_err *err)
{
	struct aufs_plink one;
	struct aufs_xino *x;
	int r = table_rw(u, &x, err), n = 0;

	if (r < 0 || !x)
		return r;
	/* the entries one by one: each scan finds the first one left */
	while (plink_scan(x, &one, 1) > 0 && n < (int)AUFS_XINO_NSLOT) {
		r = drop_entry(u, x, one.num, true);
		if (r < 0) {
			snprintf(err->msg, sizeof(err->msg), "pseudo-link %llu of %s: %s",
				 (unsigned long long)one.num, u->mnt, strerror(-r));
			err->code = r;
			break;
		}
		n++;
	}
	plink_close_gate(x);
	atomic_fetch_add_explicit(&x->counter[AUFS_XINO_CNT_PLINK_CLEANED], (uint64_t)n,
				  memory_order_relaxed);
	return r < 0 ? r : n;
}

void aufs_plink_flushed(struct aufs_union *u, unsigned names)
{
	struct aufs_xino *x = xino_writable(u);

	if (!x)
		return;
	plink_close_gate(x);
	atomic_fetch_add_explicit(&x->counter[AUFS_XINO_CNT_PLINK_FLUSHED], names,
				  memory_order_relaxed);
}
