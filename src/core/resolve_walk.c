/* SPDX-License-Identifier: MIT */
/*
 * resolve_walk.c - virtual path -> (branch, real path), the union's resolver.
 *
 * A name exists in the union if it exists in the highest branch that has it, no
 * higher branch holds ".wh.<name>" in that directory (only rw and +wh branches
 * are searched for whiteouts) and no higher copy of the parent is opaque.
 * Directories merge over every branch that has them, down to the first branch
 * whose copy is opaque or whose entry is not a directory. Symlinks are followed
 * in the virtual namespace, component by component, so a relative link in the top
 * branch may name a file that lives only in the base, and ".." is applied after
 * expansion (never by the kernel from a branch directory).
 *
 * The lookup cache (DESIGN.md 4): each thread keeps, per union-relative path,
 * which branch holds it, its type and, for a directory, the mask of branches
 * that hold it. Entries are checked against generations in the union's shared
 * mapping (one global, one per parent directory bucket) that every process of
 * the union bumps when it changes a directory through the union. Without the
 * cache a base-file stat costs three system calls; with it, one, like native.
 * What the cache cannot know - a branch changed behind the union's back - is
 * the udba=reval contract: a cached positive is re-tested by the operation
 * itself (aufs_loc_stale()), a miss re-probes fresh before it is believed.
 *
 * In front of the walk sits a whole-path cache: a clean path (no ".", "..",
 * "//" or trailing "/") that resolved without a symlink maps to its final
 * answer, together with the per-component entries it was derived from. A hit
 * is valid while each of those entries is (same stamp, generations unchanged),
 * so it is invalidated exactly when the walk would have changed its answer, and
 * costs one hash of the path instead of a walk that hashes every prefix.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define LOOKUP_MAX_HOPS   40		/* symlink expansions, as the kernel */
#define CACHE_MIN_SLOTS   1024u
#define CACHE_MAX_ENTRIES 131072u	/* then evict half: cheaper than an LRU */
static uint32_t cache_limit = CACHE_MAX_ENTRIES;

void lookup_set_cache_limit(uint32_t n)
{
	cache_limit = n ? n : CACHE_MAX_ENTRIES;
}
#define PATH_MAX_DEPS     32		/* components a whole-path entry may rest on */

struct lent {
	uint64_t hash;
	const struct aufs_union *u;
	uint64_t gen;			/* shm->gen when filled; 0 = dropped */
	uint32_t pbucket, pgen;		/* parent directory's bucket and its generation */
	uint32_t sbucket, sgen;		/* directories: own bucket (branches, opaque) */
	int16_t branch;			/* -1: negative entry */
	int16_t cut;			/* negative: branch whose whiteout hides it, or -1 */
	uint8_t type;			/* DT_* */
	uint32_t stamp;			/* lcache.stamps at the last fill */
	aufs_mask mask;			/* directories: branches that hold it */
	uint32_t len;
	char rel[];
};

/* A component entry a whole-path answer rests on, as it was when used. */
struct pdep {
	const struct lent *e;
	uint32_t stamp;
};

/* A whole-path answer: what aufs_resolve() returned for a clean path. */
struct pent {
	uint64_t hash;
	const struct aufs_union *u;
	unsigned key;			/* the AUFS_RESOLVE_* flags that shape the answer */
	int err;			/* 0, or the -ENOENT/-ENOTDIR the walk returned */
	int16_t branch, parent_branch, cut;
	uint8_t type;
	uint8_t ndeps;
	uint8_t ncap;			/* room in dep[] before the name */
	unsigned flags;			/* AUFS_LOC_* of the answer */
	aufs_mask pmask;
	uint32_t len;
	const char *rel;		/* points into dep[] storage, after the deps */
	struct pdep dep[];
};

struct lcache {
	uint64_t serial;		/* configuration the entries belong to */
	uint64_t epoch;			/* aufs_state_epoch() they were made in */
	uint32_t mask;			/* slots - 1 */
	uint32_t count;
	uint32_t stamps;		/* fills so far: a refilled entry gets a new stamp */
	uint32_t clears;		/* times cleared: a recording across one is void */
	struct lent **slot;
	uint32_t pmask, pcount;		/* the whole-path table */
	struct pent **pslot;
};

/* The component entries the running walk rests on (set by aufs_resolve). */
struct deprec {
	unsigned n;
	uint32_t clears;		/* lcache.clears when recording started */
	bool unusable;			/* a component was not cacheable */
	struct pdep dep[PATH_MAX_DEPS];
};
static __thread struct deprec *recording;

static void record(const struct lent *e)
{
	struct deprec *r = recording;

	if (!r)
		return;
	if (!e || r->n >= PATH_MAX_DEPS) {
		r->unusable = true;
		return;
	}
	r->dep[r->n].e = e;
	r->dep[r->n].stamp = e->stamp;
	r->n++;
}

static __thread struct lcache *tcache;
/*
 * Set for the length of one aufs_resolve(AUFS_RESOLVE_NOALLOC) (a vfork child,
 * whose heap is its parent's): valid entries are read, nothing is allocated,
 * filled or freed.
 */
static __thread bool noalloc;
static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void pent_clear(struct lcache *c)
{
	for (uint32_t i = 0; c->pslot && i <= c->pmask; i++) {
		free(c->pslot[i]);
		c->pslot[i] = NULL;
	}
	c->pcount = 0;
}

static void cache_clear(struct lcache *c)
{
	/* whole-path entries point at component entries: they go first */
	pent_clear(c);
	c->clears++;	/* what a running walk recorded is freed now */
	for (uint32_t i = 0; i <= c->mask; i++) {
		free(c->slot[i]);
		c->slot[i] = NULL;
	}
	c->count = 0;
}

static void cache_destroy(void *p)
{
	struct lcache *c = p;

	if (!c)
		return;
	cache_clear(c);
	free(c->pslot);
	free(c->slot);
	free(c);
	tcache = NULL;
}

static void cache_key_init(void)
{
	(void)pthread_key_create(&cache_key, cache_destroy);
}

static struct lcache *cache_get(const struct aufs_config *cfg)
{
	struct lcache *c = tcache;

	if (!c) {
		if (noalloc)
			return NULL;
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->slot = calloc(CACHE_MIN_SLOTS, sizeof(*c->slot));
		if (!c->slot) {
			free(c);
			return NULL;
		}
		c->mask = CACHE_MIN_SLOTS - 1;
		c->pslot = calloc(CACHE_MIN_SLOTS, sizeof(*c->pslot));
		c->pmask = c->pslot ? CACHE_MIN_SLOTS - 1 : 0;
		c->serial = cfg->serial;
		c->epoch = aufs_state_epoch();
		tcache = c;
		(void)pthread_once(&cache_key_once, cache_key_init);
		(void)pthread_setspecific(cache_key, c);	/* only to free it at thread exit */
	}
	if (c->serial != cfg->serial || c->epoch != aufs_state_epoch()) {
		if (noalloc)
			return NULL;	/* stale, and emptying it frees */
		cache_clear(c);
		c->serial = cfg->serial;
		c->epoch = aufs_state_epoch();
	}
	return c;
}

void aufs_lookup_flush(void)
{
	if (tcache)
		cache_clear(tcache);
}

static uint64_t key_hash(const struct aufs_union *u, const char *rel, size_t len)
{
	return fnv1a(fnv1a(FNV_INIT, &u, sizeof(u)), rel, len);
}

static struct lent **cache_slot(struct lcache *c, uint64_t h, const struct aufs_union *u,
				const char *rel, size_t len)
{
	for (uint32_t i = (uint32_t)h & c->mask;; i = (i + 1) & c->mask) {
		struct lent *e = c->slot[i];

		if (!e || (e->hash == h && e->u == u && e->len == len &&
			   memcmp(e->rel, rel, len) == 0))
			return &c->slot[i];
	}
}

static bool cache_grow(struct lcache *c)
{
	uint32_t n = (c->mask + 1) * 2;
	struct lent **old = c->slot, **slot = calloc(n, sizeof(*slot));
	uint32_t omask = c->mask;

	if (!slot)
		return false;
	c->slot = slot;
	c->mask = n - 1;
	for (uint32_t i = 0; i <= omask; i++)
		if (old[i])
			*cache_slot(c, old[i]->hash, old[i]->u, old[i]->rel, old[i]->len) = old[i];
	free(old);
	return true;
}

static uint64_t evict_rank(const struct lent *e)
{
	return e->hash * 0x9e3779b97f4a7c15ULL;	/* mixed: the key hash's low bits vary most */
}

static int by_rank(const void *a, const void *b)
{
	uint64_t x = evict_rank(*(struct lent *const *)a), y = evict_rank(*(struct lent *const *)b);

	return x < y ? -1 : x > y;
}

/*
 * The cache is full: keep the three quarters of it whose mixed hash ranks lowest,
 * not the newest. The same names are always kept first, so a scan over more names
 * than fit (a tree walk, a million-file site) keeps a fixed part of them warm from
 * one pass to the next, where emptying the cache or dropping the oldest keeps none.
 */
static void cache_evict(struct lcache *c)
{
	struct lent **keep = malloc(c->count * sizeof(*keep));
	uint32_t n = 0, room = cache_limit / 4 * 3;

	if (!keep) {
		cache_clear(c);
		return;
	}
	pent_clear(c);		/* whole paths point at the entries */
	c->clears++;		/* and so may a running walk's record */
	for (uint32_t i = 0; i <= c->mask; i++) {
		if (c->slot[i])
			keep[n++] = c->slot[i];
		c->slot[i] = NULL;
	}
	qsort(keep, n, sizeof(*keep), by_rank);
	for (uint32_t i = room; i < n; i++)
		free(keep[i]);
	if (n > room)
		n = room;
	c->count = n;
	for (uint32_t i = 0; i < n; i++)
		*cache_slot(c, keep[i]->hash, keep[i]->u, keep[i]->rel, keep[i]->len) = keep[i];
	free(keep);
}

static bool lent_valid(const struct lent *e, struct aufs_shm *shm)
{
	_Atomic uint32_t *dg = shm_dirgen(shm);

	if (e->gen != atomic_load_explicit(&shm->gen, memory_order_acquire))
		return false;
	if (atomic_load_explicit(&dg[e->pbucket], memory_order_acquire) != e->pgen)
		return false;
	if (e->type == DT_DIR &&
	    atomic_load_explicit(&dg[e->sbucket], memory_order_acquire) != e->sgen)
		return false;
	return true;
}

/* What one name resolved to. */
struct node {
	int branch;			/* -1: missing */
	int cut;			/* missing: the branch whose whiteout hides it, or -1 */
	unsigned type;
	aufs_mask mask;
	bool cached;
	bool have_stat;
	struct stat st;
};

/* Generations sampled before probing, so a change racing the probe is not hidden. */
struct gens {
	uint64_t gen;
	uint32_t pbucket, pgen, sbucket, sgen;
};

static void gens_sample(struct aufs_shm *shm, const char *rel, size_t len, size_t parent_len,
			struct gens *g)
{
	_Atomic uint32_t *dg = shm_dirgen(shm);

	g->gen = atomic_load_explicit(&shm->gen, memory_order_acquire);
	g->pbucket = shm_bucket(rel, parent_len);
	g->sbucket = shm_bucket_self(rel, len);
	g->pgen = atomic_load_explicit(&dg[g->pbucket], memory_order_acquire);
	g->sgen = atomic_load_explicit(&dg[g->sbucket], memory_order_acquire);
}

static void cache_fill(struct lcache *c, const struct aufs_union *u, const char *rel,
		       size_t len, const struct gens *g, const struct node *n)
{
	uint64_t h = key_hash(u, rel, len);
	struct lent **slot, *e;

	if (noalloc) {
		record(NULL);
		return;
	}
	if (c->count >= cache_limit)
		cache_evict(c);
	if ((c->count + 1) * 2 > c->mask + 1 && !cache_grow(c)) {
		record(NULL);
		return;
	}
	slot = cache_slot(c, h, u, rel, len);
	e = *slot;
	if (!e) {
		e = malloc(sizeof(*e) + len + 1);
		if (!e) {
			record(NULL);
			return;
		}
		memcpy(e->rel, rel, len);
		e->rel[len] = 0;
		e->len = (uint32_t)len;
		e->hash = h;
		e->u = u;
		*slot = e;
		c->count++;
	}
	e->gen = g->gen;
	e->pbucket = g->pbucket;
	e->pgen = g->pgen;
	e->sbucket = g->sbucket;
	e->sgen = g->sgen;
	e->branch = (int16_t)n->branch;
	e->cut = (int16_t)n->cut;
	e->type = (uint8_t)n->type;
	e->mask = n->mask;
	e->stamp = ++c->stamps;
	record(e);
}

static const struct lent *cache_find(struct lcache *c, struct aufs_shm *shm,
				     const struct aufs_union *u, const char *rel, size_t len)
{
	struct lent *e = *cache_slot(c, key_hash(u, rel, len), u, rel, len);

	return e && lent_valid(e, shm) ? e : NULL;
}

static void cache_drop(const struct aufs_union *u, const char *rel, size_t len)
{
	struct lcache *c = tcache;
	struct lent *e;

	if (!c)
		return;
	e = *cache_slot(c, key_hash(u, rel, len), u, rel, len);
	if (e)
		e->gen = 0;
}

/* ---------------------------------------------------------------- whole paths */

static struct pent **pent_slot(struct lcache *c, uint64_t h, const struct aufs_union *u,
			       unsigned key, const char *rel, size_t len)
{
	for (uint32_t i = (uint32_t)h & c->pmask;; i = (i + 1) & c->pmask) {
		struct pent *e = c->pslot[i];

		if (!e || (e->hash == h && e->u == u && e->key == key && e->len == len &&
			   memcmp(e->rel, rel, len) == 0))
			return &c->pslot[i];
	}
}

static bool pent_grow(struct lcache *c)
{
	uint32_t n = (c->pmask + 1) * 2, omask = c->pmask;
	struct pent **old = c->pslot, **slot = calloc(n, sizeof(*slot));

	if (!slot)
		return false;
	c->pslot = slot;
	c->pmask = n - 1;
	for (uint32_t i = 0; i <= omask; i++)
		if (old[i])
			*pent_slot(c, old[i]->hash, old[i]->u, old[i]->key, old[i]->rel,
				   old[i]->len) = old[i];
	free(old);
	return true;
}

/* Valid while every component entry it rests on is as it was. */
static bool pent_valid(const struct pent *e, struct aufs_shm *shm)
{
	for (unsigned i = 0; i < e->ndeps; i++)
		if (e->dep[i].e->stamp != e->dep[i].stamp || !lent_valid(e->dep[i].e, shm))
			return false;
	return true;
}

static void pent_fill(struct lcache *c, const struct aufs_union *u, unsigned key,
		      const char *rel, size_t len, uint64_t h, const struct deprec *rec,
		      int err, const struct aufs_loc *loc)
{
	struct pent **slot, *e;
	size_t deps = rec->n * sizeof(e->dep[0]);

	if (noalloc || rec->unusable || rec->clears != c->clears || !c->pslot)
		return;
	if (c->pcount >= cache_limit)
		pent_clear(c);
	if ((c->pcount + 1) * 2 > c->pmask + 1 && !pent_grow(c))
		return;
	slot = pent_slot(c, h, u, key, rel, len);
	e = *slot;
	if (e && e->ncap < rec->n) {
		free(e);	/* too small for the new dependencies */
		*slot = NULL;
		c->pcount--;
		e = NULL;
	}
	if (!e) {
		e = malloc(sizeof(*e) + deps + len + 1);
		if (!e)
			return;
		memcpy((char *)e->dep + deps, rel, len);
		((char *)e->dep)[deps + len] = 0;
		e->rel = (char *)e->dep + deps;
		e->len = (uint32_t)len;
		e->hash = h;
		e->u = u;
		e->key = key;
		e->ncap = (uint8_t)rec->n;
		*slot = e;
		c->pcount++;
	}
	memcpy(e->dep, rec->dep, deps);
	e->ndeps = (uint8_t)rec->n;
	e->err = err;
	e->branch = (int16_t)loc->branch;
	e->parent_branch = (int16_t)loc->parent_branch;
	e->cut = (int16_t)loc->cut;
	e->type = (uint8_t)loc->type;
	e->flags = loc->flags & ~AUFS_LOC_HAVE_STAT;
	e->pmask = loc->pmask;
}

/* ---------------------------------------------------------------- probing */

static unsigned mode_to_dt(mode_t m)
{
	return IFTODT(m);
}

static bool exists(const char *path)
{
	struct stat st;

	return sys_lstat(path, &st) == 0;
}

static bool has_lower(aufs_mask m, int b)
{
	return (m >> (b + 1)) != 0;
}

/*
 * Probe the branches in PMASK (those holding the parent directory) for REL, whose
 * last component starts at NAME_OFF. BUF is scratch of PATH_MAX bytes.
 */
static int probe(struct aufs_union *u, const char *rel, size_t len, size_t name_off,
		 aufs_mask pmask, struct node *n, char *buf)
{
	const char *name = rel + name_off;
	size_t nlen = len - name_off, plen = name_off ? name_off - 1 : 0;
	struct stat st;
	int r;

	n->branch = -1;
	n->cut = -1;
	n->type = DT_UNKNOWN;
	n->mask = 0;
	n->cached = false;
	n->have_stat = false;
	if (u->shm)
		atomic_fetch_add_explicit(&u->shm->counter[AUFS_CNT_LOOKUPS], 1,
					  memory_order_relaxed);
	for (int b = 0; b < u->nbranch; b++) {
		const struct aufs_branch *br = &u->branch[b];

		if (!(pmask & MASK_BIT(b)))
			continue;
		r = branch_path(br, rel, len, buf);
		if (r < 0)
			return r;
		r = sys_lstat(buf, &st);
		if (r == 0) {
			bool dir = S_ISDIR(st.st_mode);

			if (n->branch < 0) {
				n->branch = b;
				n->type = mode_to_dt(st.st_mode);
				n->st = st;
				n->have_stat = true;
			} else if (!dir) {
				break;	/* a non-directory below cuts the merge off */
			}
			if (!dir)
				break;
			n->mask |= MASK_BIT(b);
			if (branch_has_whiteouts(br) && has_lower(pmask, b)) {
				r = branch_path_name(br, rel, len, "", AUFS_WH_OPQ,
						 strlen(AUFS_WH_OPQ), buf);
				if (r < 0)
					return r;
				if (exists(buf))
					break;	/* opaque: nothing below shows through */
			}
			continue;
		}
		if (r != -ENOENT && r != -ENOTDIR && n->branch < 0)
			return r;	/* EACCES, ELOOP...: as the kernel would say */
		if (branch_has_whiteouts(br) && has_lower(pmask, b)) {
			r = branch_path_name(br, rel, plen, AUFS_WH_PREFIX, name, nlen, buf);
			if (r < 0)
				return r;
			if (exists(buf)) {
				if (n->branch < 0)
					n->cut = b;
				break;	/* whited out: hidden in every lower branch */
			}
		}
	}
	if (n->branch >= 0 && n->type != DT_DIR)
		n->mask = 0;
	return 0;
}

static aufs_mask root_mask(const struct aufs_union *u)
{
	return u->nbranch >= 128 ? ~(aufs_mask)0 : MASK_BIT(u->nbranch) - 1;
}

/*
 * Look up REL[0..LEN) (a child of the directory whose mask is PMASK) through the
 * cache, probing and filling it on a miss. FRESH bypasses what is cached.
 */
static int lookup_child(struct aufs_union *u, const char *rel, size_t len, size_t name_off,
			aufs_mask pmask, bool fresh, struct node *n, char *buf)
{
	const struct aufs_config *cfg = aufs_state_config();
	struct aufs_shm *shm = aufs_union_shm(u);
	struct lcache *c = shm && cfg ? cache_get(cfg) : NULL;
	struct gens g;
	int r;

	if (name_is_hidden(u, rel + name_off)) {
		/* Whiteouts and the aufs control names are never visible. */
		record(NULL);
		n->branch = -1;
		n->cut = -1;
		n->type = DT_UNKNOWN;
		n->mask = 0;
		n->cached = false;
		n->have_stat = false;
		return 0;
	}
	if (c && !fresh) {
		const struct lent *e = cache_find(c, shm, u, rel, len);

		if (e) {
			record(e);
			n->branch = e->branch;
			n->cut = e->cut;
			n->type = e->type;
			n->mask = e->mask;
			n->cached = true;
			n->have_stat = false;
			return 0;
		}
	}
	if (c)
		gens_sample(shm, rel, len, name_off ? name_off - 1 : 0, &g);
	r = probe(u, rel, len, name_off, pmask, n, buf);
	if (r < 0)
		return r;
	if (c)
		cache_fill(c, u, rel, len, &g, n);
	else
		record(NULL);
	return 0;
}

/*
 * Walk the canonical union-relative directory REL (no symlinks in it) to its mask.
 * FRESH bypasses the cache for every component, FRESH_LAST for the last one only.
 */
static int dir_state2(struct aufs_union *u, const char *rel, size_t len, bool fresh,
		      bool fresh_last, aufs_mask *ret, bool *used_cache, char *buf)
{
	aufs_mask m = root_mask(u);
	struct node n;
	size_t i = 0;
	int r;

	while (i < len) {
		size_t start = i, end = i;

		while (end < len && rel[end] != '/')
			end++;
		r = lookup_child(u, rel, end, start, m, fresh || (fresh_last && end == len), &n,
				 buf);
		if (r < 0)
			return r;
		if (n.cached)
			*used_cache = true;
		if (n.branch < 0)
			return -ENOENT;
		if (n.type != DT_DIR)
			return -ENOTDIR;
		m = n.mask;
		i = end + 1;
	}
	*ret = m;
	return 0;
}

static int dir_state(struct aufs_union *u, const char *rel, size_t len, bool fresh,
		     aufs_mask *ret, bool *used_cache, char *buf)
{
	return dir_state2(u, rel, len, fresh, false, ret, used_cache, buf);
}

int lookup_dirmask_fresh(struct aufs_union *u, const char *rel, aufs_mask *ret)
{
	char buf[PATH_MAX];
	bool used = false;
	int r = dir_state2(u, rel, strlen(rel), false, true, ret, &used, buf);

	if ((r == -ENOENT || r == -ENOTDIR) && used)
		r = dir_state2(u, rel, strlen(rel), true, true, ret, &used, buf);
	return r;
}

void lookup_forget_negative(struct aufs_union *u, const char *rel, size_t len)
{
	struct lcache *c = tcache;
	struct lent *e;

	if (!c || !c->count)
		return;
	e = *cache_slot(c, key_hash(u, rel, len), u, rel, len);
	if (e && e->branch < 0)
		e->gen = 0;
}

int lookup_dirmask(struct aufs_union *u, const char *rel, aufs_mask *ret)
{
	char buf[PATH_MAX];
	bool used = false;
	int r = dir_state(u, rel, strlen(rel), false, ret, &used, buf);

	if ((r == -ENOENT || r == -ENOTDIR) && used)
		r = dir_state(u, rel, strlen(rel), true, ret, &used, buf);
	return r;
}

/* ---------------------------------------------------------------- the walk */

static int lowest_bit(aufs_mask m)
{
	uint64_t lo = (uint64_t)m;

	if (lo)
		return __builtin_ctzll(lo);
	return 64 + __builtin_ctzll((uint64_t)(m >> 64));
}

/* Union-relative part of loc->virt: "" at the mount point itself. */
static inline const char *relp(const struct aufs_loc *loc, size_t vlen)
{
	return vlen > loc->rel ? loc->virt + loc->rel : "";
}

static inline size_t rell(const struct aufs_loc *loc, size_t vlen)
{
	return vlen > loc->rel ? vlen - loc->rel : 0;
}

/* Offset of the union-relative part in paths below U's mount point. */
static inline size_t rel_offset(const struct aufs_union *u)
{
	return u->mnt_len == 1 ? 1 : u->mnt_len + 1;
}

struct walk {
	const struct aufs_config *cfg;
	struct aufs_loc *loc;
	struct aufs_union *u;		/* union the current directory is in, or NULL */
	aufs_mask dmask;		/* branches holding the current directory */
	size_t vlen;			/* length of loc->virt */
	bool touched;			/* the walk entered a union at some point */
	bool fresh;			/* bypass the cache (second try) */
	bool used_cache;
	bool miss_cached;		/* the miss itself came from the cache */
	bool physical;			/* ".." outside a union must be resolved by the kernel */
	bool nested;			/* some mount point lies inside another union */
	int hops;			/* symlinks expanded */
};

/*
 * ".." outside every union, on a path that lexically ends in a union: the kernel
 * decides what the directory so far really is (symlinks, missing names), as it
 * would for the program.
 */
static int physical(struct walk *w)
{
	struct aufs_loc *loc = w->loc;
	char proc[32];
	ssize_t n;
	int fd;

	fd = sys_openat(AT_FDCWD, loc->virt, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = sys_readlinkat(AT_FDCWD, proc, loc->real, PATH_MAX - 1);
	sys_close(fd);
	if (n <= 0 || loc->real[0] != '/')
		return 0;	/* no /proc: stay lexical */
	memcpy(loc->virt, loc->real, (size_t)n);
	loc->virt[n] = 0;
	w->vlen = (size_t)n;
	return 0;
}

/* Re-establish the union and directory state after loc->virt changed. */
static int walk_enter(struct walk *w)
{
	struct aufs_loc *loc = w->loc;
	size_t rel;

	w->u = aufs_config_match(w->cfg, loc->virt, w->vlen, &rel);
	if (!w->u)
		return 0;
	w->touched = true;
	loc->rel = rel_offset(w->u);
	return dir_state(w->u, relp(loc, w->vlen), rell(loc, w->vlen), w->fresh, &w->dmask,
			 &w->used_cache, loc->real);
}

static void pop(struct walk *w)
{
	char *v = w->loc->virt;

	while (w->vlen > 1 && v[w->vlen - 1] != '/')
		w->vlen--;
	if (w->vlen > 1)
		w->vlen--;
	v[w->vlen] = 0;
}

/* Replace the processed part of REST with TARGET: rest := target "/" rest[p..]. */
static int splice_link(char *rest, size_t p, const char *target, size_t tl)
{
	size_t remain = strlen(rest + p);

	if (tl + 1 + remain + 1 > PATH_MAX)
		return -ENAMETOOLONG;
	memmove(rest + tl + 1, rest + p, remain + 1);
	memcpy(rest, target, tl);
	rest[tl] = remain ? '/' : 0;
	return 0;
}

/*
 * Walk REST from the directory in loc->virt. On return the node of the final
 * component is in *N (branch -1 when missing) and w->dmask is the mask of the
 * final directory, or of the parent when the final is not a directory.
 */
static int walk(struct walk *w, char *rest, unsigned flags, struct node *n)
{
	struct aufs_loc *loc = w->loc;
	int r;
	size_t p = 0, rel;

	r = walk_enter(w);
	if (r < 0)
		return r;
	*n = (struct node){ .branch = 0, .type = DT_DIR, .mask = w->dmask };
	for (;;) {
		size_t c, clen, q;
		bool is_last, trailing;

		while (rest[p] == '/')
			p++;
		if (!rest[p])
			break;
		c = p;
		for (clen = 0; rest[c + clen] && rest[c + clen] != '/'; clen++)
			;
		q = c + clen;
		while (rest[q] == '/')
			q++;
		is_last = !rest[q];
		trailing = is_last && (q > c + clen || (flags & AUFS_RESOLVE_DIRECTORY));
		if (trailing)
			loc->flags |= AUFS_LOC_TRAILING;
		p = q;
		if (clen == 1 && rest[c] == '.') {
			*n = (struct node){ .branch = 0, .type = DT_DIR, .mask = w->dmask };
			continue;
		}
		if (clen == 2 && rest[c] == '.' && rest[c + 1] == '.') {
			if (!w->u && w->physical) {
				r = physical(w);
				if (r < 0)
					return r;
			}
			pop(w);
			r = walk_enter(w);
			if (r < 0)
				return r;
			*n = (struct node){ .branch = 0, .type = DT_DIR, .mask = w->dmask };
			continue;
		}
		if (w->vlen + 1 + clen + 1 > PATH_MAX)
			return -ENAMETOOLONG;
		if (w->vlen > 1)
			loc->virt[w->vlen++] = '/';
		memcpy(loc->virt + w->vlen, rest + c, clen);
		w->vlen += clen;
		loc->virt[w->vlen] = 0;
		if (!w->u) {
			/* Outside every union the walk is lexical, until it enters one. */
			r = walk_enter(w);
			if (r < 0)
				return r;
			*n = (struct node){ .branch = 0, .type = w->u ? DT_DIR : DT_UNKNOWN,
					    .mask = w->dmask };
			continue;
		}
		if (w->nested && aufs_config_match(w->cfg, loc->virt, w->vlen, &rel) != w->u) {
			/* a union mounted inside this one takes over from here */
			r = walk_enter(w);
			if (r < 0)
				return r;
			*n = (struct node){ .branch = 0, .type = DT_DIR, .mask = w->dmask };
			continue;
		}
		r = lookup_child(w->u, relp(loc, w->vlen), rell(loc, w->vlen),
				 rell(loc, w->vlen) - clen, w->dmask, w->fresh, n, loc->real);
		if (r < 0)
			return r;
		if (n->cached)
			w->used_cache = true;
		w->miss_cached = n->cached && n->branch < 0;
		if (n->branch < 0) {
			if (!is_last)
				return -ENOENT;
			break;	/* virt names it; w->dmask is still the parent's */
		}
		if (n->type == DT_LNK && (!is_last || trailing || !(flags & AUFS_RESOLVE_NOFOLLOW))) {
			ssize_t tl;

			if (++w->hops > LOOKUP_MAX_HOPS)
				return -ELOOP;
			r = branch_path(&w->u->branch[n->branch], relp(loc, w->vlen),
					rell(loc, w->vlen), loc->real);
			if (r < 0)
				return r;
			/* the kernel copies the name in before it writes the target out */
			tl = sys_readlinkat(AT_FDCWD, loc->real, loc->real, PATH_MAX - 1);
			if (tl < 0)
				return tl == -EINVAL ? -ENOENT : (int)tl;
			if (tl == 0)
				return -ENOENT;
			r = splice_link(rest, p, loc->real, (size_t)tl);
			if (r < 0)
				return r;
			if (trailing && !rest[(size_t)tl]) {
				if ((size_t)tl + 2 > PATH_MAX)
					return -ENAMETOOLONG;
				rest[tl] = '/';
				rest[tl + 1] = 0;
			}
			p = 0;
			pop(w);
			if (loc->real[0] == '/') {
				w->vlen = 1;
				loc->virt[1] = 0;
			}
			r = walk_enter(w);
			if (r < 0)
				return r;
			*n = (struct node){ .branch = 0, .type = DT_DIR, .mask = w->dmask };
			continue;
		}
		if (n->type == DT_DIR) {
			w->dmask = n->mask;
			continue;
		}
		if (!is_last || trailing)
			return -ENOTDIR;
		break;
	}
	return 0;
}

/*
 * A name was just probed and not found in the branches the cached parent mask
 * names. Did the parent directory appear in another branch since it was cached
 * (then the miss must be probed afresh)? One lstat per branch outside the mask;
 * none when every branch has the directory.
 */
static bool parent_appeared(struct walk *w)
{
	struct aufs_loc *loc = w->loc;
	const char *rel = relp(loc, w->vlen);
	size_t len = rell(loc, w->vlen), dlen = len;
	struct stat st;

	while (dlen > 0 && rel[dlen - 1] != '/')
		dlen--;
	dlen = dlen ? dlen - 1 : 0;
	for (int b = 0; b < w->u->nbranch; b++) {
		if (w->dmask & MASK_BIT(b))
			continue;
		if (branch_path(&w->u->branch[b], rel, dlen, loc->real) < 0)
			return true;
		if (sys_lstat(loc->real, &st) == 0 && S_ISDIR(st.st_mode))
			return true;
	}
	return false;
}

static bool maybe_inside(const struct aufs_config *cfg, const char *v, size_t len)
{
	size_t rel;

	return aufs_config_match(cfg, v, len, &rel) || aufs_config_is_ancestor(cfg, v, len);
}

static int start_dir(int dirfd, const char *path, bool dotdot, struct walk *w)
{
	struct aufs_loc *loc = w->loc;
	int n;

	if (path[0] == '/') {
		loc->virt[0] = '/';
		loc->virt[1] = 0;
		w->vlen = 1;
		return 0;
	}
	if (dirfd == AT_FDCWD)
		n = aufs_cwd_get(loc->virt, PATH_MAX);
	else
		n = aufs_fd_resolve(w->cfg, dirfd, loc->virt, !noalloc);
	if (n < 0) {
		/* An unknown fd or a cwd outside: only ".." could climb into a union. */
		if (!dotdot || dirfd != AT_FDCWD)
			return AUFS_PASS;
		n = (int)sys_getcwd(loc->virt, PATH_MAX);
		if (n < 0)
			return AUFS_PASS;
		n = (int)strlen(loc->virt);
	}
	w->vlen = (size_t)n;
	return 0;
}

/* No empty, "." or ".." component and no trailing '/': the virtual path is the text. */
static bool path_is_clean(const char *p, size_t len)
{
	size_t i = p[0] == '/';

	if (len == 0)
		return false;
	while (i < len) {
		size_t j = i;

		while (j < len && p[j] != '/')
			j++;
		if (j == i || (p[i] == '.' && (j - i == 1 || (j - i == 2 && p[i + 1] == '.'))))
			return false;
		if (j == len)
			return true;
		i = j + 1;
		if (i == len)
			return false;
	}
	return true;
}

/* The whole-path key of a lookup whose answer aufs_resolve() may remember. */
struct pkey {
	struct aufs_union *u;
	struct lcache *c;
	uint64_t hash;
	unsigned key;
	size_t rel, vlen;
};

#define WHOLE_MISS 1

/*
 * The whole-path cache in front of the walk, for a clean path. Returns the
 * answer (0, -errno, AUFS_PASS) or WHOLE_MISS; on a miss that may be filled
 * afterwards, K->c is set.
 */
static int resolve_whole(const struct aufs_config *cfg, int dirfd, const char *path,
			 size_t plen, unsigned flags, struct aufs_loc *loc, struct pkey *k)
{
	struct aufs_shm *shm;
	const struct pent *e;
	size_t vlen;
	int n;

	if (path[0] == '/') {
		memcpy(loc->virt, path, plen + 1);
		vlen = plen;
	} else {
		n = dirfd == AT_FDCWD ? aufs_cwd_get(loc->virt, PATH_MAX)
				      : aufs_fd_get(dirfd, loc->virt, PATH_MAX);
		if (n <= 0)
			return WHOLE_MISS;	/* unknown or outside: the walk decides */
		vlen = (size_t)n;
		if (vlen + 1 + plen + 1 > PATH_MAX)
			return WHOLE_MISS;
		if (vlen > 1)
			loc->virt[vlen++] = '/';
		memcpy(loc->virt + vlen, path, plen + 1);
		vlen += plen;
	}
	k->u = aufs_config_match(cfg, loc->virt, vlen, &k->rel);
	if (!k->u)
		return path[0] == '/' ? AUFS_PASS : WHOLE_MISS;
	shm = aufs_union_shm(k->u);
	k->c = shm ? cache_get(cfg) : NULL;
	if (!k->c || !k->c->pslot) {
		k->c = NULL;
		return WHOLE_MISS;
	}
	k->vlen = vlen;
	k->key = flags & (AUFS_RESOLVE_NOFOLLOW | AUFS_RESOLVE_DIRECTORY);
	k->hash = key_hash(k->u, loc->virt + k->rel, vlen - k->rel) + k->key;
	e = *pent_slot(k->c, k->hash, k->u, k->key, loc->virt + k->rel, vlen - k->rel);
	if (!e || !pent_valid(e, shm))
		return WHOLE_MISS;
	loc->u = k->u;
	loc->branch = e->branch;
	loc->parent_branch = e->parent_branch;
	loc->cut = e->cut;
	loc->type = e->type;
	loc->flags = e->flags | AUFS_LOC_CACHED;
	loc->pmask = e->pmask;
	loc->rel = k->rel;
	if (e->err)
		return e->err;
	return branch_path(&k->u->branch[e->branch >= 0 ? e->branch : e->parent_branch],
			   loc->virt + k->rel, vlen - k->rel, loc->real);
}

/* Remember what the walk answered for K, when it rests only on cached components. */
static void remember_whole(const struct pkey *k, const struct walk *w,
			   const struct deprec *rec, int err, const struct aufs_loc *loc)
{
	/* an error may stop the walk early, at the component it is about */
	if (!k->c || w->hops || w->u != k->u || (!err && w->vlen != k->vlen))
		return;
	pent_fill(k->c, k->u, k->key, loc->virt + k->rel, k->vlen - k->rel, k->hash, rec, err,
		  loc);
}

static int resolve(int dirfd, const char *path, unsigned flags, struct aufs_loc *loc)
{
	const struct aufs_config *cfg = aufs_state_config();
	char rest[PATH_MAX];
	struct walk w = { .cfg = cfg, .loc = loc };
	struct pkey k = { 0 };
	struct deprec rec;
	struct node n;
	size_t plen, rel;
	bool clean, dotdot;
	int r;

	if (!cfg || !cfg->nunion)
		return AUFS_PASS;
	if (!path)
		return -EFAULT;
	plen = strnlen(path, PATH_MAX);
	if (plen >= PATH_MAX)
		return AUFS_PASS;	/* the kernel says ENAMETOOLONG itself */
	if (plen == 0 && !(flags & AUFS_RESOLVE_EMPTY_PATH))
		return AUFS_PASS;	/* ENOENT, from the kernel */
	clean = path_is_clean(path, plen);
	dotdot = !clean && path_has_dotdot(path);
	w.nested = aufs_config_has_nested(cfg);
	if (clean && !w.nested) {
		r = resolve_whole(cfg, dirfd, path, plen, flags, loc, &k);
		if (r != WHOLE_MISS)
			return r;
	} else if (path[0] == '/' && !dotdot) {
		/* The common case outside: one hash of the first component. */
		size_t len = 1;

		loc->virt[0] = '/';
		loc->virt[1] = 0;
		if (path_append_lexical(loc->virt, &len, PATH_MAX, path) < 0)
			return AUFS_PASS;
		if (!aufs_config_match(cfg, loc->virt, len, &rel))
			return AUFS_PASS;
	}
	w.physical = false;
	if (dotdot) {
		/* only a path that lexically ends in or above a union needs the kernel's ".." */
		int sr = start_dir(dirfd, path, dotdot, &w);
		size_t len = w.vlen;

		if (sr == 0 && path_append_lexical(loc->virt, &len, PATH_MAX, path) == 0)
			w.physical = maybe_inside(cfg, loc->virt, len);
	}
	for (int attempt = 0;; attempt++) {
		r = start_dir(dirfd, path, dotdot, &w);
		if (r)
			return r;
		if (attempt == 0 && path[0] != '/' && !dotdot &&
		    !aufs_config_match(cfg, loc->virt, w.vlen, &rel) &&
		    !aufs_config_is_ancestor(cfg, loc->virt, w.vlen))
			return AUFS_PASS;
		memcpy(rest, path, plen + 1);
		loc->flags = 0;
		loc->rel = 0;
		w.touched = false;
		w.used_cache = false;
		w.miss_cached = false;
		w.hops = 0;
		if (k.c) {
			struct deprec *outer = recording;

			rec.n = 0;
			rec.unusable = false;
			rec.clears = k.c->clears;
			recording = &rec;
			r = walk(&w, rest, flags, &n);
			recording = outer;
		} else {
			r = walk(&w, rest, flags, &n);
		}
		if (attempt == 0 && w.used_cache && !w.miss_cached && r == 0 && w.u &&
		    n.branch < 0 && !parent_appeared(&w)) {
			/* the directory is where the cache says: the fresh miss stands */
			break;
		}
		if (attempt == 0 && w.used_cache && !w.miss_cached &&
		    (r == -ENOENT || r == -ENOTDIR || (r == 0 && w.u && n.branch < 0))) {
			/*
			 * A new miss built on cached directories is re-probed before it
			 * is believed (a directory may have appeared in a branch); a
			 * cached miss is believed, as udba=reval allows.
			 */
			w.fresh = true;
			continue;
		}
		break;
	}
	if (!w.touched)
		return AUFS_PASS;	/* never inside: the kernel resolves it as given */
	if (r < 0) {
		if (r == -ENOENT || r == -ENOTDIR)
			remember_whole(&k, &w, &rec, r, loc);
		return r;
	}
	loc->u = w.u;
	loc->branch = -1;
	loc->parent_branch = -1;
	loc->type = DT_UNKNOWN;
	if (!w.u) {
		/* entered a union and left it again (a symlink or ".."): a host path */
		memcpy(loc->real, loc->virt, w.vlen + 1);
		return 0;
	}
	if (n.cached)
		loc->flags |= AUFS_LOC_CACHED;
	if (n.have_stat) {
		loc->st = n.st;
		loc->flags |= AUFS_LOC_HAVE_STAT;
	}
	if (w.vlen <= loc->rel) {
		loc->flags |= AUFS_LOC_ROOT;
		loc->rel = w.vlen;	/* loc->virt + loc->rel is "" */
	}
	loc->pmask = w.dmask;
	loc->cut = n.cut;
	if (n.branch < 0) {
		loc->parent_branch = w.dmask ? lowest_bit(w.dmask) : 0;
		r = branch_path(&w.u->branch[loc->parent_branch], relp(loc, w.vlen),
				rell(loc, w.vlen), loc->real);
	} else {
		loc->type = n.type;
		loc->branch = n.type == DT_DIR && w.dmask ? lowest_bit(w.dmask) : n.branch;
		r = branch_path(&w.u->branch[loc->branch], relp(loc, w.vlen), rell(loc, w.vlen),
				loc->real);
	}
	if (r == 0)
		remember_whole(&k, &w, &rec, 0, loc);
	return r;
}

int aufs_resolve(int dirfd, const char *path, unsigned flags, struct aufs_loc *loc)
{
	bool outer = noalloc;
	int r;

	/* restored before returning: in a vfork child it is the parent's memory */
	noalloc = outer || (flags & AUFS_RESOLVE_NOALLOC);
	r = resolve(dirfd, path, flags & ~AUFS_RESOLVE_NOALLOC, loc);
	noalloc = outer;
	return r;
}

bool aufs_loc_stale(struct aufs_loc *loc)
{
	if (!loc->u || !(loc->flags & AUFS_LOC_CACHED))
		return false;
	cache_drop(loc->u, loc->virt + loc->rel, strlen(loc->virt + loc->rel));
	return true;
}

int aufs_loc_dirmask(const struct aufs_loc *loc, aufs_mask *ret)
{
	return lookup_dirmask(loc->u, loc->virt + loc->rel, ret);
}
