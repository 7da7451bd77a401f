/* SPDX-License-Identifier: MIT */
/*
 * util_hash.h - the one hash table of the core's caches: open addressing with
 * linear probing over an array of entry pointers, kept at most half full.
 *
 * The caller owns the entries and says how to match one (an inline callback, so
 * the compiler folds it into the probe loop) and where its hash is stored (for
 * growing). The table never frees an entry; ptable_release() frees the array.
 * Not thread-safe: every cache that uses it is per thread.
 */
#ifndef AUFS_UTIL_HASH_H
#define AUFS_UTIL_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The caches' hash: eight bytes a step, each mixed by one multiply (a byte-wise
 * FNV-1a costs a multiply per byte). Per process only: what several processes
 * must agree on (the shared state's buckets) keeps FNV-1a, which never changes.
 */
static inline uint64_t hash_mix(uint64_t h, uint64_t w)
{
	/* the full 128-bit product folded: every input bit reaches every output bit */
	__uint128_t p = (__uint128_t)(h ^ w) * 0x9e3779b97f4a7c15ULL;

	return (uint64_t)p ^ (uint64_t)(p >> 64);
}

/*
 * The last N < 8 bytes at S as one word, without a loop: two overlapping 4-byte
 * loads, or the first, middle and last byte, cover every byte of them. Their
 * length is mixed in too, so "a" and "a\0" differ (a collision costs a
 * comparison, never a wrong answer).
 */
static inline uint64_t hash_tail(const unsigned char *s, size_t n)
{
	uint64_t w;

	if (n >= 4) {
		uint32_t lo, hi;

		__builtin_memcpy(&lo, s, 4);
		__builtin_memcpy(&hi, s + n - 4, 4);
		w = lo | ((uint64_t)hi << 32);
	} else {
		w = n ? s[0] | ((uint64_t)s[n >> 1] << 8) | ((uint64_t)s[n - 1] << 16) : 0;
	}
	return w ^ (uint64_t)n << 59;
}

static inline uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t w = 0;

	for (; n >= 8; s += 8, n -= 8) {
		__builtin_memcpy(&w, s, 8);
		h = hash_mix(h, w);
	}
	return hash_mix(h, hash_tail(s, n));
}

/*
 * The hash of the per-process caches' keys (paths, names), on every cached call:
 * sixteen bytes a step, each eight mixed by a rotate and a 64-bit multiply (the
 * rotate brings a word's high bits down, so that no two words' differences
 * cancel alone), one full mix at the end. About a third of hash_bytes()'s
 * instructions. Never for a hash another process or a file keeps (the shared
 * lookup cache's keys, the host table's checksum): those stay hash_bytes().
 */
static inline uint64_t hash_fast_step(uint64_t h, uint64_t w)
{
	return (((h << 23) | (h >> 41)) ^ w) * 0x9e3779b97f4a7c15ULL;
}

static inline uint64_t hash_fast(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t w0, w1;

	for (; n >= 16; s += 16, n -= 16) {
		__builtin_memcpy(&w0, s, 8);
		__builtin_memcpy(&w1, s + 8, 8);
		h = hash_fast_step(hash_fast_step(h, w0), w1);
	}
	if (n >= 8) {
		__builtin_memcpy(&w0, s, 8);
		h = hash_fast_step(h, w0);
		s += 8;
		n -= 8;
	}
	return hash_mix(h, hash_tail(s, n));
}

struct ptable {
	uint32_t mask;		/* slots - 1; 0 with slot == NULL: not allocated */
	uint32_t count;		/* entries in use */
	void **slot;
};

/* Allocate NSLOTS (a power of two) empty slots. 0 or -ENOMEM. */
int ptable_init(struct ptable *t, uint32_t nslots);
/* Free the slot array (not the entries). NULL-safe; T is then as zeroed. */
void ptable_release(struct ptable *t);
/* Free every entry with free() and empty the table. */
void ptable_free_entries(struct ptable *t);
/*
 * Make room for one more entry: double the slots when more than half full,
 * re-placing each entry by HASH_OF(entry). false when out of memory.
 */
bool ptable_reserve(struct ptable *t, uint64_t (*hash_of)(const void *entry));

/*
 * The slot of the entry with hash H for which MATCH(entry, key) holds, or the
 * empty slot where it would go. The table must have slots.
 */
/*
 * The first slot to probe for hash H: its high half, so that a small value added to
 * a hash (the whole-path cache adds its lookup flags) lands in the same run.
 */
static inline uint32_t ptable_home(const struct ptable *t, uint64_t h)
{
	return (uint32_t)(h >> 32) & t->mask;
}

static inline void **ptable_slot(const struct ptable *t, uint64_t h,
				 bool (*match)(const void *entry, const void *key), const void *key)
{
	for (uint32_t i = ptable_home(t, h);; i = (i + 1) & t->mask) {
		void *e = t->slot[i];

		if (!e || match(e, key))
			return &t->slot[i];
	}
}

#endif /* AUFS_UTIL_HASH_H */
