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
 * Here: the table and the lookup's hook, which only read. What writes into a
 * branch (the copy-up's hook, clean_plink, flush's drops) is mutate_plink.c,
 * through mutate_beneath.c; flush's links of the names are ops_plink.c.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ---------------------------------------------------------------- the table */

const struct aufs_xino *plink_table(struct aufs_union *u)
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
	/* the slot is given back: a pseudo-link made again takes any free one */
	xino_free(x, AUFS_PLINK_DEV, num);
}

int plink_scan(const struct aufs_xino *x, struct aufs_plink *out, size_t max)
{
	const struct aufs_xino_slot *s = xino_slots(x);
	size_t n = 0;

	for (uint32_t i = 0; i < AUFS_XINO_NSLOT; i++) {
		uint64_t d, k, v;

		if (!xino_slot_read(&s[i], &d, &k, &v) || d != AUFS_PLINK_DEV || v == 0)
			continue;
		if (n < max) {
			out[n].num = k;
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
	const struct aufs_xino *x = plink_table(u);
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
