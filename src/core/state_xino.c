/* SPDX-License-Identifier: MIT */
/*
 * state_xino.c - inode numbers of a union: one virtual device, numbers that are
 * the same in every process of the union and that a copy-up does not change
 * (aufs(5): External Inode Number Bitmap and Translation Table, xino=).
 *
 * Programs trust inode numbers: tar, rsync and du find hard links by them, find
 * finds loops, git's index and PHP's opcache compare them. So a union gives every
 * object one number for its whole life, whoever asks.
 *
 * The number. Composed, without any state, of the branch index of the object's
 * top-most copy and its real inode number: the index above bit 56, the real
 * number below (a real number of 2^56 or more is folded into 56 bits, and may
 * then meet another's). Every process computes the same without writing
 * anything, and two objects of the union never share one: the real numbers of
 * one branch's file system are unique, and the index tells branches apart. The
 * top-most branch's objects keep their real numbers.
 *
 * The table. A copy-up makes a new object in a writable branch, which would get a
 * new number; the table records the copy's real (dev, ino) with the number of
 * the object it copies, before the copy is published, so that no process sees
 * the copy with another number. A stat of an object of any branch looks its real
 * (dev, ino) up there first: one hash probe in the mapping, no system call. So
 * aufs's bitmap of used numbers is not needed: no number is ever allocated, each
 * is the composed number of the object as it was first seen. A copy of a file
 * with several names (nlink > 1) is not recorded: it is no longer the same file
 * as its other names, which keep the number. An object changed outside the union
 * (udba) takes the number its new real inode composes.
 *
 * The file. A shared mapping of a file every process of the union maps: xino=FILE,
 * or "$AUFS_XINO_DIR/aufs.xino.HASH" (default directory /dev/shm; HASH: FNV-1a of
 * the mount point and the top writable branch). As the shared state
 * (state_shm.c), root or the owner of the top writable branch's root makes it
 * (mode 0644, given to the branch owner when root makes it) and maps it
 * read-write; every other user (www-data) maps it read-only and never writes it:
 * a copy-up such a process makes keeps no number (the copy has its own). It is
 * made under a temporary name, filled, then linked to its name, so that nobody
 * maps a half-made table.
 *
 * Trust. A file is used only if it is a regular file owned by root or the branch
 * owner, that group and others may not write, of exactly AUFS_XINO_SIZE bytes,
 * with the right magic, version, layout, mount point and branch. Anything else is
 * refused with one precise line: aufs-run exits 2; the library says it once per
 * process on stderr and composes numbers (a copy-up then changes a number). A
 * file made for another mount point (two unions naming one xino=) is refused
 * too. One made for this mount point and another branch root (the branch was
 * made again: restored, moved) is stale, not wrong: root or its owner replaces
 * it, and until then every other process composes numbers. After the
 * checks only the fixed offsets of internal.h are read: a slot index is a hash
 * masked by AUFS_XINO_NSLOT, never a value read from the file. The owner of the
 * file can still truncate it, and a process of another user that maps it then
 * dies of SIGBUS at its next look: the same trust as in the branch itself, which
 * that owner can fill with anything.
 *
 * Updates are lock-free: a slot's key is set by one 16-byte compare-and-swap from
 * (0, 0), its number by one store after; a reader takes a key whose number is
 * still 0 as absent. A process killed at any instruction leaves at worst a key
 * without a number, which the next record of that key completes; nothing ever
 * waits for another process. Full: a key finds no free slot among the
 * AUFS_XINO_PROBE after its hash; the copy then keeps no number (counted: full).
 *
 * Slots given back (aufs(5): trunc_xib). Lookups stop at a never-used slot, so a
 * key is never cleared: it becomes a tombstone, dev AUFS_XINO_TOMB_DEV (no real
 * device, nor AUFS_PLINK_DEV) with its ino kept (non-zero: chains go on past it),
 * which a record may take again. A slot's NUM and GEN (the former spare word,
 * 0 in tables made before) change together by a 16-byte compare-and-swap, and
 * GEN is odd while the key changes, a seqlock:
 *   free (truncation, xino_free):  (n, g) -> (DEAD, g+1); key -> (TOMB, ino);
 *                                  (DEAD, g+1) -> (DEAD, g+2)
 *   reuse (a record, at the first tombstone of the key's chain, which it walked
 *   to the end without finding the key):
 *                                  (DEAD|0, g) -> (0, g+1); key (TOMB, t) -> (dev,
 *                                  ino); (0, g+1) -> (num, g+2)
 *   a number (record, unrecord):   (old, g) -> (num, g), g even and read before
 *                                  the key it checked.
 * Why each race is safe:
 * - A reader (xino_slot_read()) reads GEN, the key, NUM, GEN again, and takes the
 *   slot only when both GENs are the same even value: every key change happens
 *   between two GEN changes, so a key torn by a change (its words are read one
 *   by one) or a number of the key that came after is never taken. A slot that
 *   is changing, a tombstone or a DEAD number is walked past, never a chain's end.
 * - A writer that read a key at GEN g writes its number only by a swap expecting
 *   g: once a free has begun (GEN g+1), a late record or unrecord of the old key
 *   fails and looks again; it can never land on a tombstone or on the next key.
 * - Two recorders of one tombstone: the first swap of the reuse lets one through;
 *   the other looks again (and finds the key, if it was the same). Two recorders
 *   of one key that take two tombstones at once leave two slots with it: the
 *   first on the chain is the one every lookup, record and unrecord uses, the
 *   other is shadowed, and a truncation frees it.
 * - Killed at any step of a free or a reuse: the slot stays with GEN odd, which
 *   readers and recorders walk past (a key's number is never wrong, at worst
 *   absent, as a key without a number). Recorders never take such a slot over
 *   (they cannot tell dead from slow); a truncation does: NUM DEAD and GEN + 2
 *   (still odd, so a live owner's next swap fails and it looks again), the key a
 *   tombstone, GEN even. A reuse undone that way whose owner still writes its key
 *   after leaves that key with a DEAD number: dead, walked past, freed by the next
 *   truncation.
 * - A truncation freeing a key that has no number yet (just claimed) makes the
 *   claimer's swap of the number fail: it looks again and takes a free slot.
 * - The counters (entries, freed) are added after the key's swap: a process
 *   killed between the two leaves them one off; they are statistics.
 * Tombstones are a format fact (aufs-preload(7), ON-DISK FORMAT) but not a new
 * version: a library of before meets only keys that are no device's, which it
 * walks past, and never writes GEN. (A bump would make every running host's
 * tables refused until replaced by hand.) What it does not do is check GEN: a
 * process of the older library still running while a truncation frees slots may
 * write a number late into a slot given back; truncate once those are gone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "internal.h"

/* The offsets aufs-preload(7) documents (ON-DISK FORMAT). */
_Static_assert(offsetof(struct aufs_xino, br_dev) == 40, "layout");
_Static_assert(offsetof(struct aufs_xino, generation) == 56, "layout");
_Static_assert(offsetof(struct aufs_xino, counter) == 64, "layout");
_Static_assert(offsetof(struct aufs_xino, mnt) == 128, "layout");
_Static_assert(sizeof(struct aufs_xino) <= AUFS_XINO_HDR_SIZE, "layout");
_Static_assert(sizeof(struct aufs_xino_slot) == AUFS_XINO_SLOT_SIZE, "layout");
_Static_assert((AUFS_XINO_NSLOT & (AUFS_XINO_NSLOT - 1)) == 0, "power of two");
_Static_assert(AUFS_BRANCH_MAX < 128, "the branch index fits above bit 56, below bit 63");

/* ---------------------------------------------------------------- numbers */

/* (the lookup itself is inline, internal.h: it is on every stat's path) */
uint64_t xino_dev_slow(struct aufs_union *u)
{
	/*
	 * Major 0, a minor of 2^31 or more: the kernel's device numbers have 20 bits
	 * of minor, so no real device has it. 31 bits of the mount point's hash: two
	 * unions of a host meet with a chance of 1 in 2^31 per pair.
	 */
	uint32_t h = (uint32_t)fnv1a(FNV_INIT, u->mnt, u->mnt_len);
	uint64_t v = (uint64_t)makedev(0, 0x80000000u | (h & 0x7fffffffu));

	atomic_store_explicit(&u->vdev, v, memory_order_relaxed);
	return v;
}

static inline struct aufs_xino_slot *slots(const struct aufs_xino *x)
{
	return xino_slots(x);
}

/* A 16-byte compare-and-swap of the two words at P, low word first: cmpxchg16b, inline. */
__attribute__((target("cx16"))) static bool cas_pair(void *p, uint64_t lo, uint64_t hi,
						     uint64_t new_lo, uint64_t new_hi)
{
	unsigned __int128 old = (unsigned __int128)hi << 64 | lo;
	unsigned __int128 want = (unsigned __int128)new_hi << 64 | new_lo;

	return __sync_bool_compare_and_swap((unsigned __int128 *)p, old, want);
}

/* The key's two words (INO, then DEV). */
static inline bool cas_key(struct aufs_xino_slot *s, uint64_t dev, uint64_t ino, uint64_t new_dev,
			   uint64_t new_ino)
{
	return cas_pair(&s->ino, ino, dev, new_ino, new_dev);
}

/* NUM and GEN. */
static inline bool cas_num(struct aufs_xino_slot *s, uint64_t num, uint64_t gen, uint64_t new_num,
			   uint64_t new_gen)
{
	return cas_pair((void *)&s->num, num, gen, new_num, new_gen);
}

/* A slot's words, GEN first: what a writer decides on (its compare-and-swap checks GEN). */
struct seen {
	uint64_t gen, ino, dev, num;
};

static void see(const struct aufs_xino_slot *s, struct seen *v)
{
	v->gen = atomic_load_explicit(&s->gen, memory_order_acquire);
	v->ino = __atomic_load_n(&s->ino, __ATOMIC_ACQUIRE);
	v->dev = __atomic_load_n(&s->dev, __ATOMIC_ACQUIRE);
	v->num = atomic_load_explicit(&s->num, memory_order_acquire);
}

static void count(struct aufs_xino *x, enum aufs_xino_counter c, int64_t n)
{
	atomic_fetch_add_explicit(&x->counter[c], (uint64_t)n, memory_order_relaxed);
}

/* What a writer's step on a slot came to. */
enum step { CHANGED = 0, DONE, FREED };

/* The key (DEV, INO) of slot S becomes a tombstone; FREED if this call made it one. */
static enum step tombstone(struct aufs_xino *x, struct aufs_xino_slot *s, uint64_t dev,
			   uint64_t ino)
{
	if (!cas_key(s, dev, ino, AUFS_XINO_TOMB_DEV, ino))
		return DONE;
	count(x, AUFS_XINO_CNT_ENTRIES, -1);
	count(x, AUFS_XINO_CNT_FREED, 1);
	return FREED;
}

/*
 * Make the live or dead key V (read at an even GEN) of slot S a tombstone.
 * CHANGED when the slot changed since V was read (nothing done: look again).
 */
static enum step free_slot(struct aufs_xino *x, struct aufs_xino_slot *s, const struct seen *v)
{
	enum step r;

	/* 1: number DEAD, GEN odd: no writer that read the key before can write it now */
	if (!cas_num(s, v->num, v->gen, AUFS_XINO_DEAD, v->gen + 1))
		return CHANGED;
	/* 2: the key, ours to change (odd GEN) unless a truncation took a stuck one over */
	r = tombstone(x, s, v->dev, v->ino);
	/* 3: GEN even again (fails only after such a take-over) */
	(void)cas_num(s, AUFS_XINO_DEAD, v->gen + 1, AUFS_XINO_DEAD, v->gen + 2);
	return r;
}

/*
 * A slot left changing (odd GEN) by a process killed in a free or a reuse, or one
 * changing now: made a tombstone whatever it was becoming. A writer that was still
 * at it finds GEN moved and looks again. Truncation only: recorders never wait for
 * a slot nor take one over, so a live record is not undone over and over.
 */
static enum step take_over(struct aufs_xino *x, struct aufs_xino_slot *s, const struct seen *v)
{
	enum step r = DONE;
	uint64_t dev, ino;

	/* GEN + 2: still odd, and the owner's next compare-and-swap fails */
	if (!cas_num(s, v->num, v->gen, AUFS_XINO_DEAD, v->gen + 2))
		return CHANGED;
	/* the owner may still swap the key once: read it again after a failed swap */
	for (int tries = 0; tries < AUFS_XINO_ROUNDS; tries++) {
		ino = __atomic_load_n(&s->ino, __ATOMIC_ACQUIRE);
		dev = __atomic_load_n(&s->dev, __ATOMIC_ACQUIRE);
		if (dev == AUFS_XINO_TOMB_DEV)
			break;
		r = tombstone(x, s, dev, ino);
		if (r == FREED)
			break;
	}
	(void)cas_num(s, AUFS_XINO_DEAD, v->gen + 2, AUFS_XINO_DEAD, v->gen + 3);
	return r;
}

/* (DEV, INO) into the never-used slot S: 0 recorded, 1 look again. */
static int put_fresh(struct aufs_xino *x, struct aufs_xino_slot *s, uint64_t dev, uint64_t ino,
		     uint64_t num)
{
	uint64_t g;

	if (!cas_key(s, 0, 0, dev, ino))
		return 1;	/* another key came first: it may be ours, look again */
	count(x, AUFS_XINO_CNT_ENTRIES, 1);
	g = atomic_load_explicit(&s->gen, memory_order_acquire);
	/* fails only if a truncation freed the key, still without a number, meanwhile */
	return g & 1 || !cas_num(s, 0, g, num, g) ? 1 : 0;
}

/* (DEV, INO) into the tombstone S: 0 recorded, 1 look again. */
static int put_reused(struct aufs_xino *x, struct aufs_xino_slot *s, uint64_t dev, uint64_t ino,
		      uint64_t num)
{
	struct seen v;

	see(s, &v);
	if ((v.gen & 1) || v.dev != AUFS_XINO_TOMB_DEV)
		return 1;
	/* 1: number 0 and GEN odd, on the tombstone, which no reader matches */
	if (!cas_num(s, v.num, v.gen, 0, v.gen + 1))
		return 1;
	/*
	 * 2: the key. Fails only when a reuse a truncation undid wrote its key late:
	 * the slot is ours (GEN odd), so that key goes and the slot is a tombstone again.
	 */
	if (!cas_key(s, AUFS_XINO_TOMB_DEV, v.ino, dev, ino)) {
		uint64_t k = __atomic_load_n(&s->ino, __ATOMIC_ACQUIRE);
		uint64_t d = __atomic_load_n(&s->dev, __ATOMIC_ACQUIRE);

		if (d != AUFS_XINO_TOMB_DEV)
			(void)tombstone(x, s, d, k);
		(void)cas_num(s, 0, v.gen + 1, AUFS_XINO_DEAD, v.gen + 2);
		return 1;
	}
	count(x, AUFS_XINO_CNT_ENTRIES, 1);
	/* 3: the number and an even GEN: readers take the key from now on */
	return cas_num(s, 0, v.gen + 1, num, v.gen + 2) ? 0 : 1;
}

int xino_record(struct aufs_xino *x, uint64_t dev, uint64_t ino, uint64_t num)
{
	return xino_record_as(x, dev, ino, num, AUFS_XINO_CNT_RECORDS);
}

int xino_record_as(struct aufs_xino *x, uint64_t dev, uint64_t ino, uint64_t num,
		   enum aufs_xino_counter what)
{
	struct aufs_xino_slot *s = slots(x);

	if (ino == 0 || num == 0 || num == AUFS_XINO_DEAD || dev == AUFS_XINO_TOMB_DEV)
		return -EINVAL;
	/* each round ends in a record, or starts again because a slot changed under it */
	for (int round = 0; round < AUFS_XINO_ROUNDS; round++) {
		uint32_t i = xino_slot_of(dev, ino);
		struct aufs_xino_slot *tomb = NULL, *end = NULL;
		int r = -1;

		for (int n = 0; n < AUFS_XINO_PROBE; n++, i = (i + 1) & (AUFS_XINO_NSLOT - 1)) {
			struct seen v;

			see(&s[i], &v);
			if (v.ino == 0) {
				end = &s[i];
				break;
			}
			if (v.gen & 1)
				continue;	/* changing: never waited for */
			if (v.dev == AUFS_XINO_TOMB_DEV) {
				tomb = tomb ? tomb : &s[i];
				continue;
			}
			if (v.ino != ino || v.dev != dev || v.num == AUFS_XINO_DEAD)
				continue;
			/* a key taken before (an inode number used again) gets the new one */
			r = cas_num(&s[i], v.num, v.gen, num, v.gen) ? 0 : 1;
			break;
		}
		/* not on the chain: the first tombstone before its end, else the end */
		if (r < 0 && tomb)
			r = put_reused(x, tomb, dev, ino, num);
		else if (r < 0 && end)
			r = put_fresh(x, end, dev, ino, num);
		if (r == 0) {
			count(x, what, 1);
			return 0;
		}
		if (r < 0)
			break;
	}
	count(x, AUFS_XINO_CNT_FULL, 1);
	return -ENOSPC;
}

struct aufs_xino *xino_writable(struct aufs_union *u)
{
	uintptr_t v;

	if (!atomic_load_explicit(&u->xino, memory_order_acquire))
		(void)xino_attach_lazily(u);
	v = atomic_load_explicit(&u->xino, memory_order_acquire);
	return (v & AUFS_SHM_RDONLY) ? NULL : (struct aufs_xino *)v;
}

void xino_forget(struct aufs_union *u, uint64_t dev, uint64_t ino)
{
	struct aufs_xino *x = xino_writable(u);

	/* the copy is gone: its slot too, for whatever copy comes next */
	if (x)
		xino_free(x, dev, ino);
}

/*
 * Apply ACT to every slot of (DEV, INO)'s chain holding that key (live, or with
 * number 0), read at an even GEN, until it returns true; a slot that changed
 * under ACT is read again (a few times: it is a race with another writer).
 */
static void each_key(struct aufs_xino *x, uint64_t dev, uint64_t ino, bool all,
		     enum step (*act)(struct aufs_xino *, struct aufs_xino_slot *,
				      const struct seen *))
{
	struct aufs_xino_slot *s = slots(x);
	uint32_t i = xino_slot_of(dev, ino);

	for (int n = 0; n < AUFS_XINO_PROBE; n++, i = (i + 1) & (AUFS_XINO_NSLOT - 1)) {
		for (int tries = 0; tries < AUFS_XINO_ROUNDS; tries++) {
			struct seen v;

			see(&s[i], &v);
			if (v.ino == 0)
				return;
			if ((v.gen & 1) || v.ino != ino || v.dev != dev || v.num == AUFS_XINO_DEAD)
				break;
			if (act(x, &s[i], &v) != CHANGED) {
				if (!all)
					return;
				break;
			}
		}
	}
}

static enum step zero_num(struct aufs_xino *x, struct aufs_xino_slot *s, const struct seen *v)
{
	(void)x;
	return cas_num(s, v->num, v->gen, 0, v->gen) ? DONE : CHANGED;
}

void xino_unrecord(struct aufs_xino *x, uint64_t dev, uint64_t ino)
{
	/* the first: the one lookups find */
	each_key(x, dev, ino, false, zero_num);
}

void xino_free(struct aufs_xino *x, uint64_t dev, uint64_t ino)
{
	/* every one: a shadowed copy is of no use either */
	each_key(x, dev, ino, true, free_slot);
}

/* Is slot I's live key (DEV, INO) also in a live slot before it on its chain? */
static bool shadowed(const struct aufs_xino_slot *s, uint32_t i, uint64_t dev, uint64_t ino)
{
	for (uint32_t j = xino_slot_of(dev, ino); j != i; j = (j + 1) & (AUFS_XINO_NSLOT - 1)) {
		uint64_t d, k, v;

		if (((i - j) & (AUFS_XINO_NSLOT - 1)) >= AUFS_XINO_PROBE)
			return false;	/* not on its chain: put there by no record */
		if (xino_slot_read(&s[j], &d, &k, &v) && d == dev && k == ino)
			return true;
	}
	return false;
}

uint64_t xino_truncate(struct aufs_xino *x,
		       bool (*gone)(uint64_t dev, uint64_t ino, uint64_t num, void *arg), void *arg)
{
	struct aufs_xino_slot *s = slots(x);
	uint64_t freed = 0;

	for (uint32_t i = 0; i < AUFS_XINO_NSLOT; i++) {
		for (int tries = 0; tries < AUFS_XINO_ROUNDS; tries++) {
			struct seen v;
			enum step done;

			see(&s[i], &v);
			if (v.ino == 0)
				break;
			if (v.gen & 1)
				done = take_over(x, &s[i], &v);
			else if (v.dev == AUFS_XINO_TOMB_DEV)
				done = DONE;
			else if (v.num == AUFS_XINO_DEAD || gone(v.dev, v.ino, v.num, arg) ||
				 shadowed(s, i, v.dev, v.ino))
				done = free_slot(x, &s[i], &v);
			else
				done = DONE;
			freed += done == FREED;
			if (done != CHANGED)
				break;
		}
	}
	return freed;
}

uint64_t xino_count_dev(const struct aufs_xino *x, uint64_t dev)
{
	const struct aufs_xino_slot *s = slots(x);
	uint64_t n = 0;

	for (uint32_t i = 0; i < AUFS_XINO_NSLOT; i++) {
		uint64_t d, k, v;

		n += xino_slot_read(&s[i], &d, &k, &v) && d == dev && v != 0;
	}
	return n;
}

bool xino_keeps(struct aufs_union *u, const struct stat *src_st)
{
	/* another name of it stays where it is, with the number: the copy is another file */
	return !(u->opts.flags & AUFS_OPT_NOXINO) &&
	       (S_ISDIR(src_st->st_mode) || src_st->st_nlink <= 1) && xino_writable(u);
}

int xino_copied(struct aufs_union *u, int src, const struct stat *src_st, uint64_t dev,
		uint64_t ino)
{
	struct aufs_xino *x;

	if (!xino_keeps(u, src_st))
		return -EROFS;
	x = xino_writable(u);
	return xino_record(x, dev, ino,
			   xino_number(u, src, (uint64_t)src_st->st_dev, (uint64_t)src_st->st_ino));
}

/* ---------------------------------------------------------------- the file */

static int top_writable(const struct aufs_union *u)
{
	for (int b = 0; b < u->nbranch; b++)
		if (u->branch[b].perm == AUFS_PERM_RW)
			return b;
	return -1;
}

static int xino_file(const struct aufs_union *u, int b, char *buf, size_t size)
{
	const char *dir;
	uint64_t h;
	int n;

	if (u->opts.xino && *u->opts.xino) {
		n = snprintf(buf, size, "%s", u->opts.xino);
	} else {
		/* read when a union first maps its table, never on a call's path */
		dir = aufs_env_dir(AUFS_ENV_XINO_DIR);
		h = fnv1a(FNV_INIT, u->mnt, u->mnt_len + 1);	/* with its NUL: a separator */
		h = fnv1a(h, u->branch[b].path, u->branch[b].len);
		n = snprintf(buf, size, "%s/aufs.xino.%016llx", dir && *dir ? dir : "/dev/shm",
			     (unsigned long long)h);
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

int aufs_xino_path(const struct aufs_union *u, char *buf, size_t size)
{
	int b = top_writable(u);

	if ((u->opts.flags & AUFS_OPT_NOXINO) || b < 0)
		return -EROFS;
	return xino_file(u, b, buf, size);
}

/* What a map learns about the union's top writable branch and the file. */
struct where {
	const struct aufs_union *u;
	struct stat br;			/* the top writable branch's root */
	uid_t euid;
	bool may_make;			/* root, or the owner of the branch root */
	char path[PATH_MAX];
};

static int where_init(struct where *w, const struct aufs_union *u)
{
	int b = top_writable(u), r;

	if ((u->opts.flags & AUFS_OPT_NOXINO) || b < 0)
		return -EROFS;
	w->u = u;
	r = xino_file(u, b, w->path, sizeof(w->path));
	if (r < 0)
		return r;
	r = sys_stat(u->branch[b].path, &w->br);
	if (r < 0)
		return r;
	w->euid = sys_geteuid();
	w->may_make = w->euid == 0 || w->euid == w->br.st_uid;
	return 0;
}

/* One line naming the file and why, control characters made '?'. -EUCLEAN. */
static int refuse(struct aufs_err *err, const struct where *w, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	int n;

	if (!err)
		return -EUCLEAN;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	err->code = -EUCLEAN;
	n = snprintf(err->msg, sizeof(err->msg), "xino file %s of %s: %s", w->path, w->u->mnt,
		     why);
	for (int i = 0; i < n && i < (int)sizeof(err->msg) && err->msg[i]; i++)
		if ((unsigned char)err->msg[i] < 0x20 || err->msg[i] == 0x7f)
			err->msg[i] = '?';
	return -EUCLEAN;
}

/*
 * The header of a mapped file: -EUCLEAN (err) when not ours to trust (another
 * mount point's too), -ESTALE made for another root of the branch.
 */
static int validate(const struct aufs_xino *x, const struct where *w, struct aufs_err *err)
{
	if (x->magic != AUFS_XINO_MAGIC)
		return refuse(err, w, "bad magic number (not an xino file of aufs-preload)");
	if (x->version != AUFS_XINO_VERSION)
		return refuse(err, w, "unsupported version %u", (unsigned)x->version);
	if (x->hdr_size != AUFS_XINO_HDR_SIZE || x->size != AUFS_XINO_SIZE ||
	    x->nslot != AUFS_XINO_NSLOT || x->slot_size != AUFS_XINO_SLOT_SIZE)
		return refuse(err, w, "bad layout");
	if (strncmp(x->mnt, w->u->mnt, sizeof(x->mnt)) != 0)
		return refuse(err, w, "made for another mount point (%.200s)",
			      memchr(x->mnt, 0, sizeof(x->mnt)) ? x->mnt : "?");
	if (x->br_dev != (uint64_t)w->br.st_dev || x->br_ino != (uint64_t)w->br.st_ino)
		return -ESTALE;
	return 0;
}

static bool trusted_uid(const struct where *w, uid_t uid)
{
	return uid == 0 || uid == w->br.st_uid;
}

/*
 * Map the file at w->path if it may be trusted: read-write where this process
 * may write it (and RW is asked), read-only otherwise. -ENOENT: none.
 */
static int map_file(const struct where *w, bool rw, uintptr_t *ret, struct aufs_err *err)
{
	struct stat st;
	void *p;
	int fd, r;

	rw = rw && w->may_make;
	fd = sys_openat(AT_FDCWD, w->path, (rw ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd == -EACCES && rw) {
		rw = false;
		fd = sys_openat(AT_FDCWD, w->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	}
	if (fd == -ELOOP)
		return refuse(err, w, "a symbolic link");
	if (fd == -EACCES)
		return refuse(err, w, "not readable by uid %u", (unsigned)w->euid);
	if (fd < 0)
		return fd;
	r = sys_fstat(fd, &st);
	if (r < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		r = refuse(err, w, "not a regular file");
		goto out;
	}
	if (!trusted_uid(w, st.st_uid)) {
		r = refuse(err, w, "owned by uid %u: only root or the branch owner (uid %u) may own it",
			   (unsigned)st.st_uid, (unsigned)w->br.st_uid);
		goto out;
	}
	if (st.st_mode & 022) {
		r = refuse(err, w, "group or others may write it (mode %04o)",
			   (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((uint64_t)st.st_size != AUFS_XINO_SIZE) {
		r = refuse(err, w, "%llu bytes, not %llu (truncated or not an xino file)",
			   (unsigned long long)st.st_size, (unsigned long long)AUFS_XINO_SIZE);
		goto out;
	}
	rw = rw && (w->euid == 0 || w->euid == st.st_uid);
	p = sys_mmap(NULL, AUFS_XINO_SIZE, PROT_READ | (rw ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (sys_mmap_failed(p)) {
		r = (int)(long)p;
		goto out;
	}
	r = validate(p, w, err);
	if (r < 0) {
		(void)sys_munmap(p, AUFS_XINO_SIZE);
		goto out;
	}
	*ret = (uintptr_t)p | (rw ? 0 : AUFS_SHM_RDONLY);
out:
	sys_close(fd);
	return r;
}

/* Is the file at PATH this process's to replace (a stale one: another union's)? */
static bool may_replace(const struct where *w)
{
	struct stat st;

	return w->may_make && sys_lstat(w->path, &st) == 0 && S_ISREG(st.st_mode) &&
	       (w->euid == 0 || st.st_uid == w->euid);
}

/* A new table at w->path (root or the branch owner only); REPLACE: over a stale one. */
static int make(const struct where *w, bool replace, uintptr_t *ret)
{
	char tmp[PATH_MAX + 32];
	struct aufs_xino *x;
	void *p;
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", w->path, (int)sys_getpid()) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	(void)sys_unlinkat(AT_FDCWD, tmp, 0);	/* left by a process of this number that died */
	fd = sys_openat(AT_FDCWD, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return fd;
	r = 0;
	if (creds_umask() < 0 || (creds_umask() & 0644))
		r = sys_fchmod(fd, 0644);	/* whatever the umask */
	if (r == 0 && w->euid == 0 && w->br.st_uid != 0)
		r = sys_fchown(fd, w->br.st_uid, w->br.st_gid);	/* the owner's processes write it */
	if (r == 0)
		r = sys_ftruncate(fd, AUFS_XINO_SIZE);
	if (r < 0)
		goto fail;
	p = sys_mmap(NULL, AUFS_XINO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sys_mmap_failed(p)) {
		r = (int)(long)p;
		goto fail;
	}
	x = p;
	x->version = AUFS_XINO_VERSION;
	x->hdr_size = AUFS_XINO_HDR_SIZE;
	x->size = AUFS_XINO_SIZE;
	x->nslot = AUFS_XINO_NSLOT;
	x->slot_size = AUFS_XINO_SLOT_SIZE;
	x->owner = (uint32_t)w->br.st_uid;
	x->br_dev = (uint64_t)w->br.st_dev;
	x->br_ino = (uint64_t)w->br.st_ino;
	atomic_store(&x->generation, 1);
	snprintf(x->mnt, sizeof(x->mnt), "%s", w->u->mnt);
	atomic_thread_fence(memory_order_release);
	x->magic = AUFS_XINO_MAGIC;
	/* published whole: a link never replaces, so two makers end with one table */
	r = replace ? sys_renameat2(AT_FDCWD, tmp, AT_FDCWD, w->path, 0)
		    : sys_linkat(AT_FDCWD, tmp, AT_FDCWD, w->path, 0);
	(void)sys_unlinkat(AT_FDCWD, tmp, 0);
	sys_close(fd);
	if (r < 0) {
		(void)sys_munmap(p, AUFS_XINO_SIZE);
		return r;
	}
	*ret = (uintptr_t)p;
	return 0;
fail:
	(void)sys_unlinkat(AT_FDCWD, tmp, 0);
	sys_close(fd);
	return r;
}

static int attach(struct aufs_union *u, uintptr_t *ret, struct aufs_err *err)
{
	struct where w;
	int r, tries;

	r = where_init(&w, u);
	if (r < 0)
		return r;
	for (tries = 0; tries < 3; tries++) {
		r = map_file(&w, true, ret, err);
		if (r == -ESTALE) {
			/* the branch was made again: its numbers are new too */
			if (!may_replace(&w))
				return 1;	/* composed until root or its owner replaces it */
			r = make(&w, true, ret);
		} else if (r == -ENOENT && w.may_make) {
			r = make(&w, false, ret);
		} else if (r == -ENOENT) {
			return 1;	/* none yet: root or the branch owner makes it */
		}
		if (r != -EEXIST)	/* another process made it first: map theirs */
			return r;
	}
	return r;
}

int aufs_xino_attach(struct aufs_union *u, struct aufs_err *err)
{
	uintptr_t v = 0, expected = 0;
	int r = attach(u, &v, err);

	if (r == -EROFS || r == 1)
		return 0;	/* composed numbers: nothing to map (yet) */
	if (r < 0)
		return r;
	if (!atomic_compare_exchange_strong(&u->xino, &expected, v))
		(void)sys_munmap((void *)(v & ~AUFS_SHM_RDONLY), AUFS_XINO_SIZE);
	return 0;
}

/* Refusals are told once per process: one line on stderr, never more. */
static void report_once(const struct aufs_err *err)
{
	static _Atomic bool reported;

	aufs_say(&reported, "%s; not trusted: numbers are composed", err->msg);
}

__attribute__((noinline)) const struct aufs_xino *xino_attach_lazily(struct aufs_union *u)
{
	struct aufs_err err = { 0 };
	int r, state = atomic_load_explicit(&u->xino_state, memory_order_relaxed);

	if (state == 2)
		return NULL;	/* noxino, or no writable branch: never a table */
	if (state == 0 && ((u->opts.flags & AUFS_OPT_NOXINO) || top_writable(u) < 0)) {
		atomic_store_explicit(&u->xino_state, 2, memory_order_relaxed);
		return NULL;
	}
	/* after a failure (or none to map yet), again every AUFS_XINO_RETRY calls */
	if (state != 0 &&
	    (atomic_fetch_add_explicit(&u->xino_tries, 1, memory_order_relaxed) + 1) %
			    AUFS_XINO_RETRY != 0)
		return NULL;
	state_roots_hold(u);	/* a table in a branch: never a replacement's */
	r = aufs_xino_attach(u, &err);
	if (err.code == -EUCLEAN)
		report_once(&err);
	atomic_store_explicit(&u->xino_state, r < 0 ? r : 1, memory_order_relaxed);
	return (const struct aufs_xino *)(atomic_load_explicit(&u->xino, memory_order_acquire) &
					  ~AUFS_SHM_RDONLY);
}

/* ---------------------------------------------------------------- administration (aufsctl) */

int aufs_xino_status(const struct aufs_union *u, struct aufs_xino_status *ret,
		     struct aufs_err *err)
{
	const struct aufs_xino *x;
	struct stat st;
	struct where w;
	uintptr_t v = 0;
	int r;

	r = where_init(&w, u);
	if (r < 0)
		return r;
	/* read-only whoever asks: looking never writes it, even as root */
	r = map_file(&w, false, &v, err);
	if (r < 0)
		return r;
	x = (const struct aufs_xino *)(v & ~AUFS_SHM_RDONLY);
	memset(ret, 0, sizeof(*ret));
	ret->generation = atomic_load(&x->generation);
	ret->entries = atomic_load(&x->counter[AUFS_XINO_CNT_ENTRIES]);
	ret->records = atomic_load(&x->counter[AUFS_XINO_CNT_RECORDS]);
	ret->full = atomic_load(&x->counter[AUFS_XINO_CNT_FULL]);
	ret->plinks = xino_count_dev(x, AUFS_PLINK_DEV);
	ret->plinks_made = atomic_load(&x->counter[AUFS_XINO_CNT_PLINKS]);
	ret->plinks_flushed = atomic_load(&x->counter[AUFS_XINO_CNT_PLINK_FLUSHED]);
	ret->plinks_cleaned = atomic_load(&x->counter[AUFS_XINO_CNT_PLINK_CLEANED]);
	ret->freed = atomic_load(&x->counter[AUFS_XINO_CNT_FREED]);
	(void)sys_munmap((void *)x, AUFS_XINO_SIZE);
	if (sys_stat(w.path, &st) == 0) {
		ret->uid = st.st_uid;
		ret->mode = st.st_mode & 07777;
	}
	return 0;
}

/* What a truncation frees (aufs_xino_trunc()). */
struct trunc_what {
	const struct aufs_union *u;
	const dev_t *gone;
	int ngone;
	bool all;
};

static bool has_branch_dev(const struct aufs_union *u, uint64_t dev)
{
	for (int b = 0; b < u->nbranch; b++)
		if ((uint64_t)u->branch[b].dev == dev)
			return true;
	return false;
}

static bool trunc_gone(uint64_t dev, uint64_t ino, uint64_t num, void *arg)
{
	const struct trunc_what *w = arg;

	(void)ino;
	if (w->all && (num == 0 || (dev != AUFS_PLINK_DEV && !has_branch_dev(w->u, dev))))
		return true;
	for (int i = 0; i < w->ngone; i++)
		if ((uint64_t)w->gone[i] == dev)
			return !has_branch_dev(w->u, dev);
	return false;
}

int aufs_xino_trunc(const struct aufs_union *u, const dev_t *gone, int ngone, bool all,
		    uint64_t *freed, struct aufs_err *err)
{
	struct trunc_what what = { u, gone, ngone, all };
	struct where w;
	uintptr_t v = 0;
	int r;

	*freed = 0;
	r = where_init(&w, u);
	if (r == -EROFS)
		return 0;	/* noxino, or no writable branch: no table */
	if (r < 0)
		return r;
	r = map_file(&w, true, &v, err);
	if (r == -ENOENT || r == -ESTALE)
		return 0;	/* none yet, or one of a branch made again: its next maker starts it anew */
	if (r < 0)
		return r;
	if (v & AUFS_SHM_RDONLY) {
		(void)sys_munmap((void *)(v & ~AUFS_SHM_RDONLY), AUFS_XINO_SIZE);
		err->code = -EPERM;
		snprintf(err->msg, sizeof(err->msg),
			 "the table of inode numbers of %s (%s) is root's or the branch owner's "
			 "(uid %u) to truncate", u->mnt, w.path, (unsigned)w.br.st_uid);
		return -EPERM;
	}
	*freed = xino_truncate((struct aufs_xino *)v, trunc_gone, &what);
	(void)sys_munmap((void *)v, AUFS_XINO_SIZE);
	return 0;
}
