/* SPDX-License-Identifier: MIT */
/*
 * mutate_policy.c - which writable branch receives a new name (create=) or a copy-up
 * (cpup=), as the aufs manual defines the policies. Pure decisions, except that
 * the free-space policies ask statfs (remembered for create_sec seconds) and the
 * round-robin cursor lives in the union's shared state so that every process of
 * the union takes turns with the others.
 */
#include <sys/statfs.h>
#include <time.h>

#include "internal.h"

static bool writable(const struct aufs_union *u, int b)
{
	return u->branch[b].perm == AUFS_PERM_RW;
}

static unsigned long long free_bytes(const struct aufs_union *u, int b)
{
	struct statfs sf;

	if (sys_statfs(u->branch[b].path, &sf) < 0)
		return 0;
	return (unsigned long long)sf.f_bavail * (unsigned long long)sf.f_bsize;
}

static long long now_sec(void)
{
	struct timespec ts;

	(void)AUFS_SYS(SYS_clock_gettime, CLOCK_MONOTONIC, &ts, 0, 0, 0, 0);
	return ts.tv_sec;
}

/* Most free space among the writable branches in CAND, remembered for create_sec. */
static int most_free(struct aufs_union *u, aufs_mask cand, unsigned long long *ret_free)
{
	static _Atomic long long when;
	static _Atomic int chosen = -1;
	static _Atomic unsigned long long chosen_free;
	static _Atomic(const struct aufs_union *) for_union;
	static _Atomic uint64_t for_cand_lo, for_cand_hi;	/* no 16-byte atomics */
	long long t = now_sec();
	unsigned long long best_free = 0;
	int best = -1;

	if (atomic_load(&for_union) == u && atomic_load(&for_cand_lo) == (uint64_t)cand &&
	    atomic_load(&for_cand_hi) == (uint64_t)(cand >> 64) &&
	    t - atomic_load(&when) < (long long)u->opts.create_sec && atomic_load(&chosen) >= 0) {
		*ret_free = atomic_load(&chosen_free);
		return atomic_load(&chosen);
	}
	for (int b = 0; b < u->nbranch; b++) {
		unsigned long long f;

		if (!(cand & MASK_BIT(b)) || !writable(u, b))
			continue;
		f = free_bytes(u, b);
		if (best < 0 || f > best_free) {
			best = b;
			best_free = f;
		}
	}
	atomic_store(&for_union, u);
	atomic_store(&for_cand_lo, (uint64_t)cand);
	atomic_store(&for_cand_hi, (uint64_t)(cand >> 64));
	atomic_store(&chosen, best);
	atomic_store(&chosen_free, best_free);
	atomic_store(&when, t);
	*ret_free = best_free;
	return best;
}

static int round_robin(struct aufs_union *u, aufs_mask cand)
{
	/* shared by the processes that may write the state; a read-only one counts alone */
	struct aufs_shm *shm = aufs_union_shm(u) ? shm_writable(u) : NULL;
	static _Atomic unsigned long local;
	unsigned long k;
	int n = 0;

	for (int b = 0; b < u->nbranch; b++)
		n += (cand & MASK_BIT(b)) && writable(u, b);
	if (!n)
		return -EROFS;
	k = shm ? atomic_fetch_add(&shm->counter[AUFS_CNT_CREATE_RR], 1)
		: atomic_fetch_add(&local, 1);
	k %= (unsigned long)n;
	for (int b = 0; b < u->nbranch; b++)
		if ((cand & MASK_BIT(b)) && writable(u, b) && k-- == 0)
			return b;
	return -EROFS;
}

static aufs_mask upto(int limit)
{
	if (limit < 0 || limit >= 127)
		return ~(aufs_mask)0;
	return MASK_BIT(limit + 1) - 1;
}

int policy_create(struct aufs_union *u, aufs_mask pmask, int limit, bool dir_create)
{
	aufs_mask all = upto(limit), in_parent = pmask & all;
	unsigned long long f;
	int b, top;

	switch (u->opts.create) {
	case AUFS_CREATE_RR:
		if (!dir_create)
			return round_robin(u, all);
		/* mkdir is the exception: every new directory on the same branch */
		goto tdp;
	case AUFS_CREATE_MFS:
		b = most_free(u, all, &f);
		return b < 0 ? -EROFS : b;
	case AUFS_CREATE_MFSRR:
		b = most_free(u, all, &f);
		if (b >= 0 && f >= u->opts.create_low)
			return b;
		return round_robin(u, all);
	case AUFS_CREATE_PMFS:
		b = most_free(u, in_parent, &f);
		if (b >= 0)
			return b;
		b = most_free(u, all, &f);
		return b < 0 ? -EROFS : b;
	case AUFS_CREATE_TDP:
	default:
tdp:
		/* the top-most writable branch that has the parent ... */
		for (b = 0; b < u->nbranch; b++)
			if ((in_parent & MASK_BIT(b)) && writable(u, b))
				return b;
		/* ... else the parent is copied up bottom-up: the nearest writable above it */
		for (top = 0; top < u->nbranch && !(pmask & MASK_BIT(top)); top++)
			;
		for (b = top - 1; b >= 0; b--)
			if ((all & MASK_BIT(b)) && writable(u, b))
				return b;
		for (b = 0; b < u->nbranch; b++)
			if ((all & MASK_BIT(b)) && writable(u, b))
				return b;
		return -EROFS;
	}
}

int policy_copyup(struct aufs_union *u, aufs_mask pmask, int src)
{
	int b;

	switch (u->opts.cpup) {
	case AUFS_CPUP_BUP:
		/* bottom-up parent: the lowest writable branch above SRC holding the parent */
		for (b = src - 1; b >= 0; b--)
			if ((pmask & MASK_BIT(b)) && writable(u, b))
				return b;
		/* FALLTHROUGH */
	case AUFS_CPUP_BU:
		/* bottom-up: the nearest writable branch above SRC */
		for (b = src - 1; b >= 0; b--)
			if (writable(u, b))
				return b;
		return -EROFS;
	case AUFS_CPUP_TDP:
	default:
		for (b = 0; b < src; b++)
			if ((pmask & MASK_BIT(b)) && writable(u, b))
				return b;
		for (b = 0; b < src; b++)
			if (writable(u, b))
				return b;
		return -EROFS;
	}
}
