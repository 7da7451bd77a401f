/* SPDX-License-Identifier: MIT */
/*
 * util_hash.c - the out-of-line parts of the caches' hash table (util_hash.h):
 * allocation, growth and emptying, which are rare next to lookups.
 */
#include <errno.h>
#include <stdlib.h>

#include "util_hash.h"

int ptable_init(struct ptable *t, uint32_t nslots)
{
	t->slot = calloc(nslots, sizeof(*t->slot));
	if (!t->slot) {
		t->mask = 0;
		t->count = 0;
		return -ENOMEM;
	}
	t->mask = nslots - 1;
	t->count = 0;
	return 0;
}

void ptable_release(struct ptable *t)
{
	if (!t)
		return;
	free(t->slot);
	t->slot = NULL;
	t->mask = 0;
	t->count = 0;
}

void ptable_free_entries(struct ptable *t)
{
	for (uint32_t i = 0; t->slot && i <= t->mask; i++) {
		free(t->slot[i]);
		t->slot[i] = NULL;
	}
	t->count = 0;
}

bool ptable_reserve(struct ptable *t, uint64_t (*hash_of)(const void *entry))
{
	uint32_t n = (t->mask + 1) * 2, omask = t->mask;
	void **old = t->slot, **slot;

	if ((t->count + 1) * 2 <= t->mask + 1)
		return true;
	slot = calloc(n, sizeof(*slot));
	if (!slot)
		return false;
	t->slot = slot;
	t->mask = n - 1;
	for (uint32_t i = 0; i <= omask; i++) {
		uint32_t k;

		if (!old[i])
			continue;
		for (k = ptable_home(t, hash_of(old[i])); slot[k]; k = (k + 1) & t->mask)
			;
		slot[k] = old[i];
	}
	free(old);
	return true;
}
