/* SPDX-License-Identifier: MIT */
/*
 * state_shcache.c - udba=none's lookup cache, shared by every process of a union
 * in its shared state (state_shm.c), so that a new process starts warm.
 *
 * What a lookup probed in one process (nginx as www-data, a PHP pool as the
 * tenant, a cron job, a find started a second ago) is found by the next one
 * without a probe: a fresh process's first stat of a base file costs the one
 * system call of a native stat, not three per component.
 *
 * Where. AUFS_SHC_SLOTS slots of AUFS_SHC_WORDS 64-bit words at AUFS_SHC_OFFSET
 * of the union's segment, grouped in sets of AUFS_SHC_WAYS: a path may sit only
 * in the set its hash names, in any of its ways; a fill takes the way that holds
 * the path already, else an empty one, else overwrites one (bounded: a walk over
 * more names than fit keeps some of them, as the per-thread caches do).
 *
 * A slot:
 *   0  seq     even: stable; odd: being written (a seqlock)
 *   1  check   a hash of seq and words 2..11: a slot that does not match is empty
 *   2  key     hash_bytes() of the union-relative path
 *   3  key2    FNV-1a of it, and of the union's branch list (fingerprint()):
 *              a process of another configuration of the mount point (before a
 *              remount reached it) never reads branch numbers it did not mean
 *   4  gen     shm->gen the probe ran under
 *   5  pgen | sgen << 32
 *   6  len | (branch + 1) << 32 | (cut + 1) << 40 | type << 48 | flags << 56
 *   7  dimode | ...
 *   8  diuid | digid << 32
 *   9, 10  mask (low, high)
 *   11 until   the entry's expiry (negttl=, posttl=), or never
 *
 * Lock-free. A writer moves seq from what it read to a new odd value with one
 * compare-and-swap (an odd value too: a writer killed mid-write never holds the
 * slot), writes the words, the check last, then an even seq. A reader loads
 * seq, the words, seq again: equal and even, and the check matching, or the slot
 * is ignored. Two writers racing on one slot (the second took it from the first)
 * leave words of both: the check, computed by each over its own words and seq,
 * then matches neither, so no reader ever trusts a torn entry.
 *
 * Trust. The segment's owner (root, the tenant) may write anything here, as into
 * the generations: an entry says only which branch holds a union-relative name
 * and what it is, every field is checked against the reader's union (branch
 * numbers, mask, type), and the real path is always built from the reader's own
 * branch list and the name it asked for: nothing in a slot can name a path
 * outside the union. A process that maps the state read-only never writes a slot.
 *
 * Never does a system call, never allocates (a vfork child may read it).
 */
#include "internal.h"
#include "util_hash.h"

#define SHC_SEED  0x73686361636865ULL	/* "shcache": not the per-thread caches' seed */
#define SHC_SETS  (AUFS_SHC_SLOTS / AUFS_SHC_WAYS)

_Static_assert((AUFS_SHC_SLOTS & (AUFS_SHC_SLOTS - 1)) == 0, "slots: a power of two");
_Static_assert(AUFS_SHC_OFFSET >= AUFS_SHM_HDR_SIZE + AUFS_SHM_NDIRGEN * 4, "after dirgen[]");
_Static_assert(AUFS_SHC_OFFSET % 64 == 0, "aligned");

enum { W_SEQ, W_CHECK, W_KEY, W_KEY2, W_GEN, W_BGEN, W_NODE, W_DIMODE, W_DIIDS, W_MASKLO,
       W_MASKHI, W_UNTIL };
_Static_assert(W_UNTIL + 1 == AUFS_SHC_WORDS, "slot layout");

enum { F_ALONE = 1, F_RESTRICTED = 2, F_DIFLAGS_SHIFT = 2 };

static _Atomic uint64_t *slot_at(const struct aufs_shm *shm, uint32_t i)
{
	return (_Atomic uint64_t *)((char *)shm + AUFS_SHC_OFFSET) + (size_t)i * AUFS_SHC_WORDS;
}

/* The branch list a slot's branch numbers refer to. */
static uint64_t fingerprint(const struct aufs_union *u)
{
	uint64_t h = (uint64_t)u->nbranch;

	for (int b = 0; b < u->nbranch; b++) {
		h = fnv1a(h, u->branch[b].path, u->branch[b].len + 1);
		h = fnv1a(h, &u->branch[b].perm, sizeof(u->branch[b].perm));
		h = fnv1a(h, &u->branch[b].attr, sizeof(u->branch[b].attr));
	}
	return h;
}

static void keys(const struct aufs_union *u, const char *rel, size_t len, uint64_t *k1,
		 uint64_t *k2)
{
	*k1 = hash_bytes(SHC_SEED, rel, len);
	*k2 = fnv1a(fnv1a(FNV_INIT, rel, len), &(uint64_t){ fingerprint(u) }, 8);
}

static uint64_t checksum(uint64_t seq, const uint64_t *w)
{
	uint64_t h = hash_mix(SHC_SEED, seq);

	for (int i = W_KEY; i < AUFS_SHC_WORDS; i++)
		h = hash_mix(h, w[i]);
	return h | 1;	/* never 0: a zeroed slot never matches */
}

bool shcache_usable(const struct aufs_union *u, const struct aufs_shm *shm)
{
	return shm && u->opts.udba == AUFS_UDBA_NONE &&
	       !atomic_load_explicit(&u->shc_local, memory_order_relaxed);
}

void shcache_local_change(struct aufs_union *u)
{
	if (u->opts.udba == AUFS_UDBA_NONE)
		atomic_store_explicit(&u->shc_local, true, memory_order_relaxed);
}

/* A consistent copy of slot S into W: false when it is being written, empty or torn. */
static bool read_slot(_Atomic uint64_t *s, uint64_t k1, uint64_t *w)
{
	uint64_t seq = atomic_load_explicit(&s[W_SEQ], memory_order_acquire);

	if (seq == 0 || (seq & 1))
		return false;
	if (atomic_load_explicit(&s[W_KEY], memory_order_relaxed) != k1)
		return false;
	for (int i = W_CHECK; i < AUFS_SHC_WORDS; i++)
		w[i] = atomic_load_explicit(&s[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s[W_SEQ], memory_order_relaxed) != seq)
		return false;
	return w[W_CHECK] == checksum(seq, w);
}

static bool valid_type(unsigned t)
{
	return t == DT_REG || t == DT_DIR || t == DT_LNK || t == DT_FIFO || t == DT_SOCK ||
	       t == DT_CHR || t == DT_BLK || t == DT_UNKNOWN;
}

/* W decoded into E, if it makes sense for U (a slot is the segment owner's to write). */
static bool decode(const struct aufs_union *u, const uint64_t *w, size_t len,
		   struct shc_entry *e)
{
	uint64_t node = w[W_NODE];
	aufs_mask all = u->nbranch >= 128 ? ~(aufs_mask)0 : MASK_BIT(u->nbranch) - 1;
	unsigned flags = (unsigned)(node >> 56);

	if ((uint32_t)node != len)
		return false;
	e->branch = (int)((node >> 32) & 0xff) - 1;
	e->cut = (int)((node >> 40) & 0xff) - 1;
	e->type = (unsigned)((node >> 48) & 0xff);
	e->alone = flags & F_ALONE;
	e->restricted = flags & F_RESTRICTED;
	e->diflags = (uint8_t)(flags >> F_DIFLAGS_SHIFT);
	e->mask = (aufs_mask)w[W_MASKLO] | (aufs_mask)w[W_MASKHI] << 64;
	if (e->branch >= u->nbranch || e->cut >= u->nbranch || !valid_type(e->type) ||
	    (e->mask & ~all))
		return false;
	if (e->branch < 0 ? e->mask != 0 || e->type != DT_UNKNOWN
			  : e->cut >= 0 || (e->type == DT_DIR
				? !(e->mask & MASK_BIT(e->branch)) ||
				  mask_lowest_bit(e->mask) != e->branch
				: e->mask != 0))
		return false;
	e->gen = w[W_GEN];
	e->pgen = (uint32_t)w[W_BGEN];
	e->sgen = (uint32_t)(w[W_BGEN] >> 32);
	e->dimode = (uint16_t)w[W_DIMODE];
	e->diuid = (uint32_t)w[W_DIIDS];
	e->digid = (uint32_t)(w[W_DIIDS] >> 32);
	e->until = w[W_UNTIL];
	return true;
}

bool shcache_get(const struct aufs_shm *shm, const struct aufs_union *u, const char *rel,
		 size_t len, struct shc_entry *e)
{
	uint64_t k1, k2, w[AUFS_SHC_WORDS];
	uint32_t set;

	if (len > UINT32_MAX)
		return false;
	keys(u, rel, len, &k1, &k2);
	set = (uint32_t)(k1 >> 32) & (SHC_SETS - 1);
	for (uint32_t i = 0; i < AUFS_SHC_WAYS; i++) {
		if (read_slot(slot_at(shm, set * AUFS_SHC_WAYS + i), k1, w) && w[W_KEY] == k1 &&
		    w[W_KEY2] == k2)
			return decode(u, w, len, e);
	}
	return false;
}

unsigned shcache_count(const struct aufs_shm *shm)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < AUFS_SHC_SLOTS; i++) {
		uint64_t seq = atomic_load_explicit(&slot_at(shm, i)[W_SEQ], memory_order_relaxed);

		n += seq != 0 && !(seq & 1);
	}
	return n;
}

/* Which way of SET a fill of K1/K2 takes: its own, an empty one, or a victim. */
static _Atomic uint64_t *victim(const struct aufs_shm *shm, uint32_t set, uint64_t k1,
				uint64_t k2)
{
	_Atomic uint64_t *empty = NULL;

	for (uint32_t i = 0; i < AUFS_SHC_WAYS; i++) {
		_Atomic uint64_t *s = slot_at(shm, set * AUFS_SHC_WAYS + i);

		if (atomic_load_explicit(&s[W_KEY], memory_order_relaxed) == k1 &&
		    atomic_load_explicit(&s[W_KEY2], memory_order_relaxed) == k2)
			return s;
		if (!empty && atomic_load_explicit(&s[W_SEQ], memory_order_relaxed) == 0)
			empty = s;
	}
	if (empty)
		return empty;
	/* every way taken by another name: the key's low bits spread the victims */
	return slot_at(shm, set * AUFS_SHC_WAYS + (uint32_t)(k2 % AUFS_SHC_WAYS));
}

void shcache_put(const struct aufs_union *u, const char *rel, size_t len,
		 const struct shc_entry *e)
{
	struct aufs_shm *shm = shm_writable(u);
	uint64_t k1, k2, seq, w[AUFS_SHC_WORDS];
	_Atomic uint64_t *s;
	unsigned flags;

	if (!shm || len > UINT32_MAX || e->branch >= 255 || e->cut >= 255)
		return;
	keys(u, rel, len, &k1, &k2);
	flags = (e->alone ? F_ALONE : 0) | (e->restricted ? F_RESTRICTED : 0) |
		(unsigned)e->diflags << F_DIFLAGS_SHIFT;
	w[W_KEY] = k1;
	w[W_KEY2] = k2;
	w[W_GEN] = e->gen;
	w[W_BGEN] = e->pgen | (uint64_t)e->sgen << 32;
	w[W_NODE] = (uint64_t)len | (uint64_t)(e->branch + 1) << 32 |
		    (uint64_t)(e->cut + 1) << 40 | (uint64_t)(e->type & 0xff) << 48 |
		    (uint64_t)(flags & 0xff) << 56;
	w[W_DIMODE] = e->dimode;
	w[W_DIIDS] = e->diuid | (uint64_t)e->digid << 32;
	w[W_MASKLO] = (uint64_t)e->mask;
	w[W_MASKHI] = (uint64_t)(e->mask >> 64);
	w[W_UNTIL] = e->until;
	s = victim(shm, (uint32_t)(k1 >> 32) & (SHC_SETS - 1), k1, k2);
	seq = atomic_load_explicit(&s[W_SEQ], memory_order_relaxed);
	/* odd while written; taken from whoever held it (it may have died there) */
	if (!atomic_compare_exchange_strong_explicit(&s[W_SEQ], &seq, (seq | 1) + 2,
						     memory_order_acquire, memory_order_relaxed))
		return;	/* another writer right now: its entry is as good */
	/* the odd seq before any word: a reader that sees a new word sees it changed */
	atomic_thread_fence(memory_order_release);
	seq = (seq | 1) + 2;
	for (int i = W_KEY; i < AUFS_SHC_WORDS; i++)
		atomic_store_explicit(&s[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&s[W_CHECK], checksum(seq + 1, w), memory_order_relaxed);
	atomic_store_explicit(&s[W_SEQ], seq + 1, memory_order_release);
}
