/* SPDX-License-Identifier: MIT */
/*
 * state_mount.c - the published union table: which union a path belongs to.
 *
 * Classifying a path must cost no system call, because every libc call of the
 * program goes through it and paths outside the unions must behave exactly as
 * without the library. The index is a hash set of every mount point and every
 * ancestor of one; a path is inside a union when some prefix of it (at a
 * component boundary) is a mount point, and scanning prefixes from the shortest
 * stops at the first prefix that is in neither set, usually the first component.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

struct index_slot {
	uint64_t hash;
	const char *path;		/* borrowed from a union's mnt */
	uint32_t len;
	struct aufs_union *u;		/* the union mounted here, or NULL */
	bool ancestor;			/* a strict ancestor of some mount point */
};

struct index {
	uint64_t serial;		/* unique per index built: names it for the hint */
	uint32_t mask;
	bool nested;			/* a mount point lies inside another union */
	struct index_slot slot[];
};

/*
 * The union the last path of this thread landed in, when no mount point lies
 * below its own: a path under that mount point belongs to it, whatever follows,
 * so the next call (mostly in the same union) costs one memcmp instead of a hash
 * and a probe of the index per component. Tied to the index by its serial, never
 * by address (an index freed and another allocated there must not match).
 */
static _Atomic uint64_t index_serials;
static __thread uint64_t hint_serial;
static __thread struct aufs_union *hint_union;

static struct index_slot *index_find(const struct index *ix, uint64_t h, const char *p,
				     size_t len)
{
	for (uint32_t i = (uint32_t)h & ix->mask;; i = (i + 1) & ix->mask) {
		const struct index_slot *s = &ix->slot[i];

		if (!s->path)
			return NULL;
		if (s->hash == h && s->len == len && memcmp(s->path, p, len) == 0)
			return (struct index_slot *)s;
	}
}

static struct index_slot *index_add(struct index *ix, uint64_t h, const char *p, size_t len)
{
	struct index_slot *s = index_find(ix, h, p, len);
	uint32_t i;

	if (s)
		return s;
	for (i = (uint32_t)h & ix->mask; ix->slot[i].path; i = (i + 1) & ix->mask)
		;
	s = &ix->slot[i];
	s->hash = h;
	s->path = p;
	s->len = (uint32_t)len;
	return s;
}

/* Hash of a prefix, extended component by component: "/a" then "/a/b". */
static uint64_t prefix_hash(const char *p, size_t len)
{
	return fnv1a(FNV_INIT, p, len);
}

int aufs_config_index(struct aufs_config *cfg)
{
	size_t entries = 1, cap = 16;
	struct index *ix;

	for (int i = 0; i < cfg->nunion; i++) {
		const char *m = cfg->unions[i]->mnt;

		for (; *m; m++)
			entries += *m == '/';
	}
	while (cap < entries * 2)
		cap <<= 1;
	ix = calloc(1, sizeof(*ix) + cap * sizeof(ix->slot[0]));
	if (!ix)
		return -ENOMEM;
	ix->mask = (uint32_t)cap - 1;
	ix->serial = atomic_fetch_add(&index_serials, 1) + 1;
	for (int i = 0; i < cfg->nunion; i++) {
		struct aufs_union *u = cfg->unions[i];
		const char *m = u->mnt;

		/* The root "/" is an ancestor of everything but itself. */
		if (u->mnt_len > 1)
			index_add(ix, prefix_hash(m, 1), m, 1)->ancestor = true;
		for (size_t k = 1; k < u->mnt_len; k++)
			if (m[k] == '/')
				index_add(ix, prefix_hash(m, k), m, k)->ancestor = true;
		index_add(ix, prefix_hash(m, u->mnt_len), m, u->mnt_len)->u = u;
	}
	for (int i = 0; i < cfg->nunion; i++) {
		const struct aufs_union *u = cfg->unions[i];
		const char *m = u->mnt;

		for (size_t k = 1; k < u->mnt_len && !ix->nested; k++) {
			const struct index_slot *s;

			if (m[k] != '/')
				continue;
			s = index_find(ix, prefix_hash(m, k), m, k);
			ix->nested = s && s->u;
		}
	}
	free(cfg->index);
	cfg->index = ix;
	return 0;
}

struct aufs_union *aufs_config_match(const struct aufs_config *cfg, const char *path,
				     size_t len, size_t *ret_rel)
{
	const struct index *ix = cfg->index;
	struct aufs_union *best = NULL;
	size_t best_len = 0, hashed;
	struct index_slot *s;
	bool leaf = false;
	uint64_t h;

	if (!ix || len == 0 || path[0] != '/')
		return NULL;
	if (hint_serial == ix->serial) {
		const struct aufs_union *u = hint_union;

		if (len >= u->mnt_len && (len == u->mnt_len || path[u->mnt_len] == '/') &&
		    memcmp(path, u->mnt, u->mnt_len) == 0) {
			best = hint_union;
			best_len = u->mnt_len;
			goto found;
		}
	}
	/* "/" itself may be a mount point. */
	h = prefix_hash(path, 1);
	s = index_find(ix, h, path, 1);
	if (!s)
		return NULL;
	if (s->u) {
		best = s->u;
		best_len = 1;
	}
	/* FNV-1a extends: the hash of each longer prefix continues the last one. */
	hashed = 1;
	for (size_t k = 1; k <= len; k++) {
		if (k < len && path[k] != '/')
			continue;
		if (k == 1)
			continue;	/* "/" again: a path with a leading "//" */
		h = fnv1a(h, path + hashed, k - hashed);
		hashed = k;
		s = index_find(ix, h, path, k);
		if (!s)
			break;
		if (s->u) {
			best = s->u;
			best_len = k;
			leaf = !s->ancestor;
			if (leaf)
				break;	/* no mount point lies deeper */
		}
	}
	if (leaf && best_len > 1) {
		hint_serial = ix->serial;
		hint_union = best;
	}
found:
	if (best && ret_rel) {
		size_t r = best_len;

		while (r < len && path[r] == '/')
			r++;
		*ret_rel = r;
	}
	return best;
}

bool aufs_config_has_nested(const struct aufs_config *cfg)
{
	const struct index *ix = cfg->index;

	return ix && ix->nested;
}

bool aufs_config_is_ancestor(const struct aufs_config *cfg, const char *path, size_t len)
{
	const struct index_slot *s;

	if (!cfg->index || len == 0)
		return false;
	s = index_find(cfg->index, prefix_hash(path, len), path, len);
	return s && s->ancestor;
}

/* ---------------------------------------------------------------- branch to union */

/*
 * A branch directory stands for its union's directory when exactly one union has
 * that branch (a branch shared by several unions is ambiguous).
 */
int aufs_real_to_virtual(const struct aufs_config *cfg, const char *real, char *out)
{
	const struct aufs_union *hit = NULL;
	const char *tail = NULL;
	int n;

	for (int i = 0; i < cfg->nunion; i++) {
		const struct aufs_union *u = cfg->unions[i];

		for (int b = 0; b < u->nbranch; b++) {
			const struct aufs_branch *br = &u->branch[b];

			if (strncmp(real, br->path, br->len) ||
			    (real[br->len] && real[br->len] != '/'))
				continue;
			if (hit)
				return -ENOENT;
			hit = u;
			tail = real + br->len;
		}
	}
	if (!hit)
		return -ENOENT;
	if (hit->mnt_len > 1)
		n = snprintf(out, PATH_MAX, "%s%s", hit->mnt, tail);
	else
		n = snprintf(out, PATH_MAX, "%s", *tail ? tail : "/");
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* ---------------------------------------------------------------- state */

static struct aufs_config *_Atomic published;
static _Atomic uint64_t epoch = 1;

uint64_t aufs_state_epoch(void)
{
	return atomic_load_explicit(&epoch, memory_order_acquire);
}

void aufs_state_local_change(void)
{
	atomic_fetch_add_explicit(&epoch, 1, memory_order_acq_rel);
}

const struct aufs_config *aufs_state_config(void)
{
	return atomic_load_explicit(&published, memory_order_acquire);
}

void aufs_state_publish(struct aufs_config *cfg)
{
	/*
	 * The previous table is deliberately leaked: other threads may be walking
	 * it right now and there is no reclamation scheme worth its cost for an
	 * event that happens once or twice in a process's life.
	 */
	atomic_store_explicit(&published, cfg, memory_order_release);
	aufs_state_local_change();
}
