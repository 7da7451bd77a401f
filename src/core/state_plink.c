/* SPDX-License-Identifier: MIT */
/*
 * state_plink.c - pseudo-links (aufs(5): Pseudo Link; options plink, noplink,
 * clean_plink): when one name of a file hard-linked in a lower branch is copied
 * up, every other name of it in the union shows the copy, as another name of
 * one file would.
 *
 * Where the copy lives. As aufs: a hard link of the copy in its writable branch,
 * BRANCH/.wh..wh.plnk/NUM, NUM the union inode number of the lower file (the
 * number every name of it shows, state_xino.c) in decimal. The directory's name
 * begins with the whiteout prefix: no listing shows it. It is made mode 0711 and
 * given to the branch owner, so that a web server's process can open the copy
 * by its name while nobody lists the directory.
 *
 * The table. Entries live in the union's xino file, among its slots, under a key
 * no real object has: device AUFS_PLINK_DEV, inode NUM; the slot's number is the
 * copy's branch index + 1. So they are shared by every process of the union, any
 * uid, under the xino file's trust rules, with its lock-free updates (a process
 * killed at any instruction leaves at worst an entry that is not there yet), and
 * an entry read is used only within bounds: the branch index must name a
 * writable branch above the lower file's, the path is built here from the key,
 * and the file found there must be of the lower file's type.
 *
 * The gate. A counter of the header (AUFS_XINO_CNT_PLINK_GATE) is non-zero while
 * an entry may be live: it is raised after an entry is written, and put back to
 * 0 only by a compare-and-swap from the value read before a scan that found no
 * live entry. A call that resolves a name whose union has none (the usual case)
 * reads that one word; no table probe, no stat.
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

/* ---------------------------------------------------------------- the table */

static const struct aufs_xino *table_of(struct aufs_union *u)
{
	uintptr_t v = atomic_load_explicit(&u->xino, memory_order_acquire);

	return v ? (const struct aufs_xino *)(v & ~AUFS_SHM_RDONLY) : xino_attach_lazily(u);
}

bool plink_enabled(const struct aufs_union *u)
{
	return (u->opts.flags & AUFS_OPT_PLINK) && !(u->opts.flags & AUFS_OPT_NOXINO);
}

int plink_branch(const struct aufs_union *u, const struct aufs_xino *x, uint64_t num)
{
	uint64_t v = xino_lookup(x, AUFS_PLINK_DEV, num);

	/* a value out of bounds is no entry: never an index into the branches */
	if (v == 0 || v > (uint64_t)u->nbranch || u->branch[v - 1].perm != AUFS_PERM_RW)
		return -1;
	return (int)(v - 1);
}

int plink_set(struct aufs_xino *x, uint64_t num, int t)
{
	int r = xino_record_as(x, AUFS_PLINK_DEV, num, (uint64_t)t + 1, AUFS_XINO_CNT_PLINKS);

	if (r == 0)
		atomic_fetch_add_explicit(&x->counter[AUFS_XINO_CNT_PLINK_GATE], 1,
					  memory_order_release);
	return r;
}

void plink_clear(struct aufs_xino *x, uint64_t num)
{
	xino_unrecord(x, AUFS_PLINK_DEV, num);
}

int plink_scan(const struct aufs_xino *x, struct aufs_plink *out, size_t max)
{
	const struct aufs_xino_slot *s = xino_slots(x);
	size_t n = 0;

	for (uint32_t i = 0; i < AUFS_XINO_NSLOT; i++) {
		uint64_t v;

		if (__atomic_load_n(&s[i].ino, __ATOMIC_ACQUIRE) == 0 ||
		    __atomic_load_n(&s[i].dev, __ATOMIC_RELAXED) != AUFS_PLINK_DEV)
			continue;
		v = atomic_load_explicit(&s[i].num, memory_order_acquire);
		if (v == 0)
			continue;
		if (n < max) {
			out[n].num = __atomic_load_n(&s[i].ino, __ATOMIC_RELAXED);
			out[n].branch = v - 1 < (uint64_t)AUFS_BRANCH_MAX ? (int)(v - 1) : -1;
		}
		n++;
	}
	return (int)(n > (size_t)INT32_MAX ? INT32_MAX : n);
}

void plink_close_gate(struct aufs_xino *x)
{
	uint64_t before = atomic_load_explicit(&x->counter[AUFS_XINO_CNT_PLINK_GATE],
					       memory_order_acquire);

	/* an entry written after the read raised the gate since: the swap fails */
	if (before != 0 && plink_scan(x, NULL, 0) == 0)
		atomic_compare_exchange_strong(&x->counter[AUFS_XINO_CNT_PLINK_GATE], &before, 0);
}

int plink_path(const struct aufs_union *u, int t, uint64_t num, char *buf)
{
	char name[24];
	int n = snprintf(name, sizeof(name), "%llu", (unsigned long long)num);

	return branch_path_name(&u->branch[t], AUFS_WH_PLINK, sizeof(AUFS_WH_PLINK) - 1, "", name,
				(size_t)n, buf);
}

/* ---------------------------------------------------------------- lookup */

void plink_follow_slow(struct aufs_loc *loc)
{
	struct aufs_union *u = loc->u;
	const struct aufs_xino *x = table_of(u);
	char path[PATH_MAX];
	struct stat st, copy;
	uint64_t num;
	int t;

	if (!x)
		return;
	if (loc->flags & AUFS_LOC_HAVE_STAT) {
		st = loc->st;
	} else {
		if (sys_lstat(loc->real, &st) < 0)
			return;	/* the operation's own call says what is wrong */
		loc->st = st;	/* the operation need not ask again */
		loc->flags |= AUFS_LOC_HAVE_STAT;
	}
	if (S_ISDIR(st.st_mode) || st.st_nlink < 2)
		return;	/* only a file of several names can have been pseudo-linked */
	num = xino_number(u, loc->branch, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	t = plink_branch(u, x, num);
	if (t < 0 || t >= loc->branch || plink_path(u, t, num, path) < 0 ||
	    sys_lstat(path, &copy) < 0 || (copy.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
		return;	/* none, or flushed or cleaned meanwhile: the lower file shows */
	loc->branch = t;
	loc->st = copy;
	memcpy(loc->real, path, strlen(path) + 1);
}

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
	r = sys_mkdirat(AT_FDCWD, path, 0700);
	if (r == -EEXIST)
		return 0;
	if (r < 0)
		return r;
	/* whatever the umask: other users' processes open the copies by name */
	r = sys_fchmodat(AT_FDCWD, path, 0711);
	if (r == 0 && sys_geteuid() == 0 && sys_stat(u->branch[t].path, &root) == 0 &&
	    root.st_uid != 0)
		r = sys_fchownat(AT_FDCWD, path, root.st_uid, root.st_gid, AT_SYMLINK_NOFOLLOW);
	return r;
}

/* TMP becomes another name of the pseudo-link's copy at PATH (replacing ours). */
static int adopt(const char *path, const char *tmp)
{
	char other[PATH_MAX];
	int r;

	if ((size_t)snprintf(other, sizeof(other), "%s.plnk", tmp) >= sizeof(other))
		return -ENAMETOOLONG;
	r = sys_linkat(AT_FDCWD, path, AT_FDCWD, other, 0);
	if (r < 0)
		return r;
	r = sys_renameat2(AT_FDCWD, other, AT_FDCWD, tmp, 0);
	if (r < 0)
		(void)sys_unlinkat(AT_FDCWD, other, 0);
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
	r = sys_linkat(AT_FDCWD, tmp, AT_FDCWD, path, 0);
	if (r == -ENOENT && make_dir(u, t) == 0)
		r = sys_linkat(AT_FDCWD, tmp, AT_FDCWD, path, 0);
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
	const struct aufs_xino *x = plink_enabled(u) ? table_of(u) : NULL;

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
			xino_unrecord(x, (uint64_t)copy.st_dev, (uint64_t)copy.st_ino);
		r = sys_unlinkat(AT_FDCWD, path, 0);
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
