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

/*
 * The union the last path of this thread landed in, when no mount point lies
 * below its own: a path under that mount point belongs to it, whatever follows,
 * so the next call (mostly in the same union) costs one memcmp instead of a hash
 * and a probe of the index per component. Tied to the configuration by its
 * serial, never by address (a configuration freed and another allocated there
 * must not match).
 */
static __thread uint64_t hint_serial;
static __thread struct aufs_union *hint_union;

/* Hash of a prefix, extended component by component: "/a" then "/a/b". */
static uint64_t prefix_hash(const char *p, size_t len)
{
	return fnv1a(FNV_INIT, p, len);
}

struct aufs_union *aufs_config_union(const struct aufs_config *cfg, int i)
{
	struct aufs_union *u;

	if (!cfg || i < 0 || i >= cfg->nunion)
		return NULL;
	u = atomic_load_explicit(&cfg->unions[i], memory_order_acquire);
	return u ? u : aufs_table_make_union(cfg, (unsigned)i, UINT32_MAX);
}

/* Union ID of CFG, made from the record at REC when it is not yet. */
static inline struct aufs_union *union_at(const struct aufs_config *cfg, int id, uint32_t rec)
{
	struct aufs_union *u = atomic_load_explicit(&cfg->unions[id], memory_order_acquire);

	return u ? u : aufs_table_make_union(cfg, (unsigned)id, rec);
}

struct aufs_config *_Atomic aufs_published;
static const struct aufs_config *adopt(const struct aufs_config *old, bool now);

static struct aufs_union *match_in(const struct aufs_config *cfg, const char *path, size_t len,
				   size_t *ret_rel, bool *corrupted);

/*
 * A record or slot of the published image found damaged during this lookup: the
 * table is compiled again now (when this thread may allocate) and the path looked
 * up in it, so that the damage costs the lookup time, not a wrong answer.
 */
struct aufs_union *aufs_config_match(const struct aufs_config *cfg, const char *path,
				     size_t len, size_t *ret_rel)
{
	bool corrupted = false;
	struct aufs_union *u = match_in(cfg, path, len, ret_rel, &corrupted);
	const struct aufs_config *n;

	if (__builtin_expect(corrupted, 0)) {
		/* the table compiled again (by this thread, or before), else none */
		n = atomic_load_explicit(&aufs_published, memory_order_acquire);
		if (n == cfg)
			n = adopt(cfg, true);
		if (n && n != cfg && !n->corrupt)
			u = match_in(n, path, len, ret_rel, &corrupted);
	}
	return u;
}

static struct aufs_union *match_in(const struct aufs_config *cfg, const char *path, size_t len,
				   size_t *ret_rel, bool *corrupted)
{
	struct aufs_union *best = NULL;
	size_t best_len = 0, hashed;
	bool leaf = false, ancestor, leaves = true;
	unsigned bad;
	uint32_t rec;
	uint64_t h;
	int id;

	if (!cfg->table || len == 0 || path[0] != '/')
		return NULL;
	if (hint_serial == cfg->serial) {
		const struct aufs_union *u = hint_union;

		if (len >= u->mnt_len && (len == u->mnt_len || path[u->mnt_len] == '/') &&
		    memcmp(path, u->mnt, u->mnt_len) == 0) {
			best = hint_union;
			best_len = u->mnt_len;
			goto found;
		}
	}
	bad = aufs_table_bad_reads();
	/* "/" itself may be a mount point. */
	h = prefix_hash(path, 1);
	id = aufs_table_find(cfg, h, path, 1, &ancestor, &rec, &leaves);
	if (id == -2)
		return NULL;
	if (id >= 0 && (best = union_at(cfg, id, rec)))
		best_len = 1;
	/* FNV-1a extends: the hash of each longer prefix continues the last one. */
	hashed = 1;
	for (size_t k = 1; k <= len; k++) {
		struct aufs_union *u;

		if (k < len && path[k] != '/')
			continue;
		if (k == 1)
			continue;	/* "/" again: a path with a leading "//" */
		h = fnv1a(h, path + hashed, k - hashed);
		hashed = k;
		id = aufs_table_find(cfg, h, path, k, &ancestor, &rec, &leaves);
		if (id == -2)
			break;
		if (id >= 0 && (u = union_at(cfg, id, rec))) {
			best = u;
			best_len = k;
			leaf = !ancestor;
			if (leaf)
				break;	/* no mount point lies deeper */
		}
	}
	if (aufs_table_bad_reads() != bad) {
		*corrupted = true;
		return NULL;
	}
	if (leaf && best_len > 1) {
		hint_serial = cfg->serial;
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
	return aufs_table_nested(cfg);
}

bool aufs_config_is_ancestor(const struct aufs_config *cfg, const char *path, size_t len)
{
	bool ancestor = false;

	if (!cfg->table || len == 0)
		return false;
	bool leaves = true;
	uint32_t rec;

	(void)aufs_table_find(cfg, prefix_hash(path, len), path, len, &ancestor, &rec, &leaves);
	return ancestor;
}

/* ---------------------------------------------------------------- branch to union */

/*
 * A branch directory stands for its union's directory when exactly one union has
 * that branch (a branch shared by several unions is ambiguous).
 */
int aufs_real_to_virtual(const struct aufs_config *cfg, const char *real, char *out)
{
	const struct aufs_union *hit;
	const char *tail;
	size_t brlen;
	int n, id;

	id = aufs_table_real_to_union(cfg, real, strlen(real), &brlen);
	if (id < 0 || !(hit = aufs_config_union(cfg, id)))
		return -ENOENT;
	tail = real + brlen;
	if (hit->mnt_len > 1)
		n = snprintf(out, PATH_MAX, "%s%s", hit->mnt, tail);
	else
		n = snprintf(out, PATH_MAX, "%s", *tail ? tail : "/");
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* ---------------------------------------------------------------- state */

static _Atomic uint64_t epoch = 1;

uint64_t aufs_state_epoch(void)
{
	return atomic_load_explicit(&epoch, memory_order_acquire);
}

void aufs_state_local_change(void)
{
	atomic_fetch_add_explicit(&epoch, 1, memory_order_acq_rel);
}

static bool (*may_allocate)(void);

void aufs_state_set_alloc_check(bool (*fn)(void))
{
	may_allocate = fn;
}

bool aufs_state_may_allocate(void)
{
	return !may_allocate || may_allocate();
}

/* Calls until a failed adoption of a newer image is tried again (a power of two). */
#define ADOPT_RETRY 256
static _Atomic int adopting;
static _Atomic unsigned adopt_wait;

/*
 * The image in force was replaced (aufsctl reload, or a process that found the
 * fstab changed): map the new one and publish it. One thread does it while the
 * others go on with the old table, which stays valid; a failure is tried again
 * ADOPT_RETRY calls later. No malloc: this may run in a vfork child.
 */
/* One line: the damaged image, and what this process did about it. */
static void say_rebuilt(const struct aufs_config *old, const struct aufs_config *cfg,
			const struct aufs_err *err)
{
	aufs_say(NULL, "%s: corrupt (%s); %s%s", old->image,
		 old->corrupt_what ? old->corrupt_what : "a record",
		 !cfg ? "not compiled again: " :
		 cfg->table_kind == AUFS_TABLE_MAPPED ? "rebuilt" : "compiled privately",
		 cfg ? "" : err->msg);
}

static const struct aufs_config *adopt(const struct aufs_config *old, bool now)
{
	struct aufs_config *cfg = NULL;
	int expected = 0;

	if (!now && atomic_fetch_add_explicit(&adopt_wait, 1, memory_order_relaxed) % ADOPT_RETRY)
		return old;
	if (!atomic_compare_exchange_strong(&adopting, &expected, 1))
		return old;
	if (!old->corrupt) {
		cfg = aufs_table_follow(old);
	} else if (!may_allocate || may_allocate()) {
		struct aufs_err err = { 0 }, notice = { 0 };

		/* compiled again: written when this process may, kept private otherwise */
		if (aufs_table_open(old->fstab, old->image, AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FORCE,
				    &cfg, &err, &notice) < 0)
			cfg = NULL;
		say_rebuilt(old, cfg, &err);
	} else {
		cfg = NULL;	/* a vfork child: its parent, or the program it runs, will */
	}
	if (cfg)
		cfg->prev = old;	/* its unions hand their shared states over */
	if (cfg && atomic_compare_exchange_strong(&aufs_published, (struct aufs_config **)&old, cfg)) {
		aufs_table_retire(old);
		aufs_state_local_change();
		atomic_store_explicit(&adopt_wait, 0, memory_order_relaxed);
	}
	atomic_store(&adopting, 0);
	return atomic_load_explicit(&aufs_published, memory_order_acquire);
}

const struct aufs_config *aufs_state_config(void)
{
	const struct aufs_config *cfg = atomic_load_explicit(&aufs_published, memory_order_acquire);

	const _Atomic uint32_t *superseded;

	if (__builtin_expect(cfg && (superseded = cfg->superseded) &&
			     atomic_load_explicit(superseded, memory_order_relaxed), 0))
		return adopt(cfg, false);
	return cfg;
}

void aufs_state_publish(struct aufs_config *cfg)
{
	/*
	 * The previous table is deliberately leaked: other threads may be walking
	 * it right now and there is no reclamation scheme worth its cost for an
	 * event that happens once or twice in a process's life.
	 */
	atomic_store_explicit(&aufs_published, cfg, memory_order_release);
	aufs_state_local_change();
}
