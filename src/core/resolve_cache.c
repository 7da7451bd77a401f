/* SPDX-License-Identifier: MIT */
/*
 * resolve_cache.c - the resolver's memory: per-thread caches of what a lookup
 * found, and the rules that say when an entry may still be believed.
 *
 * Per component: each thread keeps, per union-relative path, which branch holds
 * it, its type and, for a directory, the mask of branches that hold it. Entries
 * are checked against generations in the union's shared mapping (one global, one
 * per parent directory bucket) that every process of the union bumps when it
 * changes a directory through the union. Without the cache a base-file stat
 * costs three system calls; with it, one, like native. What the cache cannot
 * know - a branch changed behind the union's back - is the udba=reval contract:
 * a cached positive is re-tested by the operation itself (aufs_loc_stale()), a
 * miss re-probes fresh before it is believed (resolve_walk.c).
 *
 * Whole paths: a clean path (no ".", "..", "//" or trailing "/") that resolved
 * without a symlink maps to its final answer, together with the per-component
 * entries it was derived from. A hit is valid while each of those entries is
 * (same stamp, generations unchanged), so it is invalidated exactly when the walk
 * would have changed its answer, and costs one hash of the path instead of a
 * walk that hashes every prefix.
 *
 * Trust has a bound the host chooses (negttl=, posttl=): an entry made from a
 * probe also records when it expires, on CLOCK_MONOTONIC_COARSE, which the vDSO
 * answers without a system call; a whole path expires with the first of its
 * components. A name found, with posttl=never (the default), never reads the
 * clock: one comparison with a constant.
 *
 * Never does a system call. Allocates (the tables and their entries).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"
#include "util_hash.h"

#define CACHE_MIN_SLOTS   1024u
#define CACHE_MAX_ENTRIES 131072u	/* then evict half: cheaper than an LRU */
static uint32_t cache_limit = CACHE_MAX_ENTRIES;

void lookup_set_cache_limit(uint32_t n)
{
	cache_limit = n ? n : CACHE_MAX_ENTRIES;
}

/* An entry's expiry that never comes, and one that has always passed (ttl 0). */
#define UNTIL_NEVER UINT64_MAX
#define UNTIL_PAST  0

static uint64_t (*test_clock)(void);

void lookup_set_clock(uint64_t (*now)(void))
{
	test_clock = now;
}

/* Nanoseconds of CLOCK_MONOTONIC_COARSE: glibc's clock_gettime (not interposed) reads the vDSO. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	if (__builtin_expect(test_clock != NULL, 0))
		return test_clock();
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
		return UNTIL_NEVER;	/* no clock: every bounded entry has expired */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* When an entry that U's probe just made expires: MISS for a name not found. */
static uint64_t expiry(const struct aufs_union *u, bool miss)
{
	unsigned ttl = miss ? u->opts.negttl : u->opts.posttl;
	uint64_t now;

	if (ttl == AUFS_TTL_NEVER)
		return UNTIL_NEVER;
	now = ttl ? now_ns() : UNTIL_NEVER;
	return now == UNTIL_NEVER ? UNTIL_PAST : now + (uint64_t)ttl * 1000000u;
}

static inline bool expired(uint64_t until)
{
	return until != UNTIL_NEVER && (until == UNTIL_PAST || now_ns() >= until);
}

struct lent {
	uint64_t hash;
	const struct aufs_union *u;
	uint64_t gen;			/* shm->gen when filled; 0 = dropped */
	uint64_t until;			/* expires (now_ns()); UNTIL_NEVER, UNTIL_PAST */
	uint32_t pbucket, pgen;		/* parent directory's bucket and its generation */
	uint32_t sbucket, sgen;		/* directories: own bucket (branches, opaque) */
	int16_t branch;			/* -1: negative entry */
	int16_t cut;			/* negative: branch whose whiteout hides it, or -1 */
	uint8_t type;			/* DT_* */
	bool alone;			/* no copy below branch (made there by this process) */
	bool restricted;		/* struct node's: search needs asking every copy */
	uint8_t diflags;		/* directories: struct dinfo, packed in the padding */
	uint32_t stamp;			/* lcache.stamps at the last fill */
	uint16_t dimode;
	uint32_t diuid, digid;
	aufs_mask mask;			/* directories: branches that hold it */
	uint32_t len;
	char rel[];
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
	/* shm->changes and lcache.changes when the deps were last seen valid */
	uint64_t shm_changes, local_changes;
	uint64_t until;			/* the first expiry of the deps */
	aufs_mask pmask;
	uint32_t len;			/* of the whole virtual path */
	uint32_t rel;			/* where the union-relative path starts in it */
	const char *text;		/* the whole virtual path, in dep[] storage after the deps */
	struct pdep dep[];
};

struct lcache {
	uint64_t serial;		/* configuration the entries belong to */
	uint64_t epoch;			/* aufs_state_epoch() they were made in */
	struct ptable names;		/* struct lent: one per union-relative path */
	uint32_t stamps;		/* fills so far: a refilled entry gets a new stamp */
	uint32_t clears;		/* times cleared: a recording across one is void */
	/* bumped when an entry is refilled or dropped (not when one is added) */
	uint64_t changes;
	struct ptable paths;		/* struct pent: the whole-path answers */
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

bool cache_noalloc(bool on)
{
	bool old = noalloc;

	noalloc = on;
	shm_own_noalloc(on);	/* its table of the thread's own bumps too */
	return old;
}

bool cache_is_noalloc(void)
{
	return noalloc;
}
static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

static void cache_clear(struct lcache *c)
{
	/* whole-path entries point at component entries: they go first */
	ptable_free_entries(&c->paths);
	c->clears++;	/* what a running walk recorded is freed now */
	ptable_free_entries(&c->names);
}

static void cache_destroy(void *p)
{
	struct lcache *c = p;

	if (!c)
		return;
	cache_clear(c);
	ptable_release(&c->paths);
	ptable_release(&c->names);
	free(c);
	tcache = NULL;
	shm_own_release();
}

static void cache_key_init(void)
{
	(void)pthread_key_create(&cache_key, cache_destroy);
}

struct lcache *cache_get(const struct aufs_config *cfg)
{
	struct lcache *c = tcache;

	if (!c) {
		if (noalloc)
			return NULL;
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		if (ptable_init(&c->names, CACHE_MIN_SLOTS) < 0) {
			free(c);
			return NULL;
		}
		(void)ptable_init(&c->paths, CACHE_MIN_SLOTS);	/* optional: none, no whole paths */
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
	return hash_fast(hash_mix(0, (uint64_t)(uintptr_t)u), rel, len);
}

/* What both tables are keyed by; KEY only for whole paths (AUFS_RESOLVE_* flags). */
struct ckey {
	uint64_t hash;
	const struct aufs_union *u;
	const char *rel;
	size_t len;
	unsigned key;
};

static bool lent_match(const void *entry, const void *key)
{
	const struct lent *e = entry;
	const struct ckey *k = key;

	return e->hash == k->hash && e->u == k->u && e->len == k->len &&
	       memcmp(e->rel, k->rel, k->len) == 0;
}

static uint64_t lent_hash(const void *entry)
{
	return ((const struct lent *)entry)->hash;
}

static struct lent **cache_slot(struct lcache *c, uint64_t h, const struct aufs_union *u,
				const char *rel, size_t len)
{
	struct ckey k = { .hash = h, .u = u, .rel = rel, .len = len };

	return (struct lent **)ptable_slot(&c->names, h, lent_match, &k);
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
	struct lent **keep = malloc(c->names.count * sizeof(*keep));
	uint32_t n = 0, room = cache_limit / 4 * 3;

	if (!keep) {
		cache_clear(c);
		return;
	}
	ptable_free_entries(&c->paths);	/* whole paths point at the entries */
	c->clears++;		/* and so may a running walk's record */
	for (uint32_t i = 0; i <= c->names.mask; i++) {
		if (c->names.slot[i])
			keep[n++] = c->names.slot[i];
		c->names.slot[i] = NULL;
	}
	qsort(keep, n, sizeof(*keep), by_rank);
	for (uint32_t i = room; i < n; i++)
		free(keep[i]);
	if (n > room)
		n = room;
	c->names.count = n;
	for (uint32_t i = 0; i < n; i++)
		*cache_slot(c, keep[i]->hash, keep[i]->u, keep[i]->rel, keep[i]->len) = keep[i];
	free(keep);
}

/* Are generations G (and expiry UNTIL) of an entry those of SHM now? */
static bool gens_valid(struct aufs_shm *shm, const struct gens *g, uint64_t until)
{
	_Atomic uint32_t *dg = shm_dirgen(shm);

	if (g->gen != atomic_load_explicit(&shm->gen, memory_order_acquire))
		return false;
	if (expired(until))
		return false;
	if (atomic_load_explicit(&dg[g->pbucket], memory_order_acquire) != g->pgen)
		return false;
	/* every entry: a copy-up moves a file to another branch by its own bucket */
	if (atomic_load_explicit(&dg[g->sbucket], memory_order_acquire) != g->sgen)
		return false;
	return true;
}

static size_t parent_len(const char *rel, size_t len)
{
	while (len > 0 && rel[len - 1] != '/')
		len--;
	return len ? len - 1 : 0;
}

/*
 * lent_valid()'s generations PNOW and SNOW differ from E's: were they moved only
 * by this thread's own bumps for other paths than the entry's and its directory's
 * (a name beside it that hashed to the same bucket)? Then the entry is valid and
 * takes them. Out of line: the hit's path stays a leaf.
 */
static __attribute__((noinline)) bool lent_own_steps(const struct lent *e, struct aufs_shm *shm,
						      uint32_t pnow, uint32_t snow)
{
	size_t plen = parent_len(e->rel, e->len);

	if ((pnow != e->pgen &&
	     !shm_steps_own(shm, e->pbucket, e->pgen, pnow, e->rel, e->len, plen)) ||
	    (snow != e->sgen && !shm_steps_own(shm, e->sbucket, e->sgen, snow, e->rel, e->len, plen)))
		return false;
	if (!noalloc) {		/* a vfork child writes nothing of its parent's */
		struct lent *w = (struct lent *)e;	/* the thread's own entry, on its heap */

		w->pgen = pnow;
		w->sgen = snow;
	}
	return true;
}

/* As gens_valid(), and lent_own_steps() where a bucket moved. */
static inline bool lent_valid(const struct lent *e, struct aufs_shm *shm)
{
	_Atomic uint32_t *dg = shm_dirgen(shm);
	uint32_t pnow, snow;

	if (e->gen != atomic_load_explicit(&shm->gen, memory_order_acquire) || expired(e->until))
		return false;
	pnow = atomic_load_explicit(&dg[e->pbucket], memory_order_acquire);
	snow = atomic_load_explicit(&dg[e->sbucket], memory_order_acquire);
	return (pnow == e->pgen && snow == e->sgen) || lent_own_steps(e, shm, pnow, snow);
}

void gens_sample(struct aufs_shm *shm, const char *rel, size_t len, size_t parent_len,
			struct gens *g)
{
	_Atomic uint32_t *dg = shm_dirgen(shm);

	g->gen = atomic_load_explicit(&shm->gen, memory_order_acquire);
	g->pbucket = shm_bucket(rel, parent_len);
	g->sbucket = shm_bucket_self(rel, len);
	g->pgen = atomic_load_explicit(&dg[g->pbucket], memory_order_acquire);
	g->sgen = atomic_load_explicit(&dg[g->sbucket], memory_order_acquire);
}

/* Remember N for REL[0..LEN) of U under generations G, believed until UNTIL. */
static void fill_until(struct lcache *c, const struct aufs_union *u, const char *rel,
		       size_t len, const struct gens *g, const struct node *n, uint64_t until)
{
	uint64_t h = key_hash(u, rel, len);
	struct lent **slot, *e;

	if (noalloc) {
		record(NULL);
		return;
	}
	if (c->names.count >= cache_limit)
		cache_evict(c);
	if (!ptable_reserve(&c->names, lent_hash)) {
		record(NULL);
		return;
	}
	slot = cache_slot(c, h, u, rel, len);
	e = *slot;
	if (e) {
		c->changes++;	/* whole paths resting on it must look at its stamp */
	} else {
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
		c->names.count++;
	}
	e->gen = g->gen;
	e->pbucket = g->pbucket;
	e->pgen = g->pgen;
	e->sbucket = g->sbucket;
	e->sgen = g->sgen;
	e->branch = (int16_t)n->branch;
	e->cut = (int16_t)n->cut;
	e->type = (uint8_t)n->type;
	e->alone = n->alone;
	e->restricted = n->restricted;
	e->mask = n->mask;
	e->diflags = n->type == DT_DIR ? n->di.flags : 0;
	e->dimode = n->di.mode;
	e->diuid = n->di.uid;
	e->digid = n->di.gid;
	e->until = until;
	e->stamp = ++c->stamps;
	record(e);
}

void cache_fill(struct lcache *c, const struct aufs_union *u, const char *rel,
		       size_t len, const struct gens *g, const struct node *n)
{
	fill_until(c, u, rel, len, g, n, expiry(u, n->branch < 0));
}

/* ---------------------------------------------------------------- udba=none: shared */

/*
 * A miss read from the shared cache was probed by a process that may write the
 * state, maybe root, which may search where the caller may not: the caller would
 * have been told EACCES by its own probe, not ENOENT. So it believes the miss
 * only where its probe could not have failed so: the parent's copies all let
 * everyone search and read (not restricted) and its top-most copy lets the
 * caller search. Names at the root of the union are probed.
 */
static bool caller_may_probe_in(struct lcache *c, struct aufs_shm *shm,
				const struct aufs_union *u, const char *rel, size_t plen)
{
	struct lent *p;
	struct stat st;

	if (plen == 0)
		return false;
	p = *cache_slot(c, key_hash(u, rel, plen), u, rel, plen);
	if (!p || !lent_valid(p, shm) || p->type != DT_DIR || p->restricted ||
	    !(p->diflags & DINFO_STAT))
		return false;
	if ((p->dimode & 0111) == 0111)
		return true;	/* everyone may: no need to ask who the caller is */
	st.st_mode = S_IFDIR | p->dimode;
	st.st_uid = p->diuid;
	st.st_gid = p->digid;
	return creds_mode_allows(&st, X_OK, false);
}

/* The per-thread miss asks the union's shared cache; a hit is copied in here. */
static bool shared_lookup(struct lcache *c, struct aufs_shm *shm, const struct aufs_union *u,
			  const char *rel, size_t len, struct node *n)
{
	struct shc_entry se;
	struct gens g;
	size_t plen;

	if (!shcache_usable(u, shm) || !shcache_get(shm, u, rel, len, &se))
		return false;
	plen = parent_len(rel, len);
	g = (struct gens){ .gen = se.gen, .pbucket = shm_bucket(rel, plen), .pgen = se.pgen,
			   .sbucket = shm_bucket_self(rel, len), .sgen = se.sgen };
	if (!gens_valid(shm, &g, se.until))
		return false;
	/*
	 * A process that maps the state read-only (the web server) believes no shared
	 * miss: a name it created through the union, in this process or in one that
	 * ran before (it could not announce it), would stay missing for it.
	 */
	if (se.branch < 0 && (!shm_writable(u) || !caller_may_probe_in(c, shm, u, rel, plen)))
		return false;
	*n = (struct node){ .branch = se.branch, .cut = se.cut, .type = se.type,
			    .mask = se.mask, .cached = true, .alone = se.alone,
			    .restricted = se.restricted,
			    .di = { .flags = se.diflags, .mode = se.dimode, .uid = se.diuid,
				    .gid = se.digid } };
	if (noalloc)
		record(NULL);	/* nothing filled: no whole path rests on it */
	else
		fill_until(c, u, rel, len, &g, n, se.until);
	return true;
}

void cache_share(struct aufs_union *u, struct aufs_shm *shm, const char *rel, size_t len,
		 const struct gens *g, const struct node *n)
{
	struct shc_entry se;

	if (noalloc || !shcache_usable(u, shm) || !shm_writable(u))
		return;
	se = (struct shc_entry){ .gen = g->gen, .pgen = g->pgen, .sgen = g->sgen,
				 .until = expiry(u, n->branch < 0), .branch = n->branch,
				 .cut = n->cut, .type = n->type, .alone = n->alone,
				 .restricted = n->restricted, .diflags = n->di.flags,
				 .dimode = n->di.mode, .diuid = n->di.uid, .digid = n->di.gid,
				 .mask = n->mask };
	shcache_put(u, rel, len, &se);
}

bool cache_lookup(struct lcache *c, struct aufs_shm *shm, const struct aufs_union *u,
		  const char *rel, size_t len, struct node *n)
{
	struct lent *e = *cache_slot(c, key_hash(u, rel, len), u, rel, len);

	if (!e || !lent_valid(e, shm)) {
		/* dropped by this thread (gen 0): it knows better than the shared cache */
		return (!e || e->gen != 0) && shared_lookup(c, shm, u, rel, len, n);
	}
	record(e);
	n->branch = e->branch;
	n->cut = e->cut;
	n->type = e->type;
	n->mask = e->mask;
	n->cached = true;
	n->have_stat = false;
	n->alone = e->alone;
	n->restricted = e->restricted;
	n->di = (struct dinfo){ .flags = e->diflags, .mode = e->dimode, .uid = e->diuid,
				.gid = e->digid };
	n->unprobed = false;
	n->wh_unprobed = false;
	return true;
}

void cache_uncacheable(void)
{
	record(NULL);
}

void cache_drop(const struct aufs_union *u, const char *rel, size_t len)
{
	struct lcache *c = tcache;
	struct lent *e;

	if (!c)
		return;
	e = *cache_slot(c, key_hash(u, rel, len), u, rel, len);
	if (e) {
		e->gen = 0;
		c->changes++;
	}
}

void cache_note_dinfo(const struct aufs_union *u, const char *rel, size_t len, uint8_t flags)
{
	struct lcache *c = tcache;
	struct lent *e;

	if (!c)
		return;
	e = *cache_slot(c, key_hash(u, rel, len), u, rel, len);
	if (e && e->type == DT_DIR && (e->diflags & DINFO_STAT))
		e->diflags |= flags;	/* a refill starts again from the probe's */
}

/* ---------------------------------------------------------------- whole paths */

/*
 * Whole paths are keyed by the whole virtual path (ckey.rel holds it, ckey.u is
 * unused): in one configuration (the cache's serial) the text names its union, so
 * a hit needs no match of the mount points.
 */
static bool pent_match(const void *entry, const void *key)
{
	const struct pent *e = entry;
	const struct ckey *k = key;

	return e->hash == k->hash && e->key == k->key && e->len == k->len &&
	       memcmp(e->text, k->rel, k->len) == 0;
}

static uint64_t pent_hash(const void *entry)
{
	return ((const struct pent *)entry)->hash;
}

static struct pent **pent_slot(struct lcache *c, uint64_t h, unsigned key, const char *text,
			       size_t len)
{
	struct ckey k = { .hash = h, .rel = text, .len = len, .key = key };

	return (struct pent **)ptable_slot(&c->paths, h, pent_match, &k);
}

/* The key of the whole virtual path TEXT looked up with resolve flags KEY. */
static uint64_t pent_key_hash(const char *text, size_t len, unsigned key)
{
	return hash_fast(0x9e3779b97f4a7c15u, text, len) + key;
}

/*
 * Valid while every component entry it rests on is as it was. When nothing in the
 * union's shared state and nothing in this cache changed since they were last
 * seen valid, they still are: two loads instead of four per component. The
 * counter is loaded before the components (state_shm.c bumps it after them).
 */
static bool pent_valid(struct pent *e, struct aufs_shm *shm, const struct lcache *c)
{
	uint64_t now = atomic_load_explicit(&shm->changes, memory_order_seq_cst);

	if (expired(e->until))
		return false;
	if (e->shm_changes == now && e->local_changes == c->changes)
		return true;
	for (unsigned i = 0; i < e->ndeps; i++)
		if (e->dep[i].e->stamp != e->dep[i].stamp || !lent_valid(e->dep[i].e, shm))
			return false;
	if (!noalloc) {		/* a vfork child writes nothing of its parent's */
		e->shm_changes = now;
		e->local_changes = c->changes;
	}
	return true;
}

static void pent_fill(struct lcache *c, const struct aufs_union *u, unsigned key,
		      const char *text, size_t len, size_t rel, uint64_t h,
		      const struct deprec *rec, int err, const struct aufs_loc *loc)
{
	struct pent **slot, *e;
	size_t deps = rec->n * sizeof(e->dep[0]);

	if (noalloc || rec->unusable || rec->clears != c->clears || !c->paths.slot)
		return;
	if (c->paths.count >= cache_limit)
		ptable_free_entries(&c->paths);
	if (!ptable_reserve(&c->paths, pent_hash))
		return;
	slot = pent_slot(c, h, key, text, len);
	e = *slot;
	if (!e || e->ncap < rec->n) {
		/* new, or too small for the new dependencies: replaced in its slot */
		struct pent *old = e;

		e = malloc(sizeof(*e) + deps + len + 1);
		if (!e)
			return;
		free(old);
		memcpy((char *)e->dep + deps, text, len);
		((char *)e->dep)[deps + len] = 0;
		e->text = (char *)e->dep + deps;
		e->len = (uint32_t)len;
		e->rel = (uint32_t)rel;
		e->hash = h;
		e->u = u;
		e->key = key;
		e->ncap = (uint8_t)rec->n;
		if (!old)
			c->paths.count++;
		*slot = e;
	}
	memcpy(e->dep, rec->dep, deps);
	e->ndeps = (uint8_t)rec->n;
	e->until = UNTIL_NEVER;
	for (unsigned i = 0; i < rec->n; i++)
		if (rec->dep[i].e->until < e->until)
			e->until = rec->dep[i].e->until;
	e->shm_changes = rec->changes;	/* from before the walk sampled its components */
	e->local_changes = c->changes;
	e->err = err;
	e->branch = (int16_t)loc->branch;
	e->parent_branch = (int16_t)loc->parent_branch;
	e->cut = (int16_t)loc->cut;
	e->type = (uint8_t)loc->type;
	e->flags = loc->flags & ~AUFS_LOC_HAVE_STAT;
	e->pmask = loc->pmask;
}

void lookup_forget_negative(struct aufs_union *u, const char *rel, size_t len)
{
	struct lcache *c = tcache;
	struct lent *e;

	if (!c || !c->names.count)
		return;
	e = *cache_slot(c, key_hash(u, rel, len), u, rel, len);
	if (e && e->branch < 0) {
		e->gen = 0;
		c->changes++;
	}
}

/* ---------------------------------------------------------------- whole paths: front */

/* Not an answer: the walk decides. Distinct from AUFS_PASS and from every -errno. */
#define WHOLE_MISS INT_MIN

/*
 * The whole-path cache in front of the walk. Returns the answer (0, -errno,
 * AUFS_PASS) or WHOLE_MISS; on a miss that may be filled afterwards, K->c is set.
 * Only clean paths are ever filled in, so a hit needs no check that PATH is clean,
 * but AUFS_PASS (no union holds the text) and a fill are for clean paths only.
 */
int whole_lookup(const struct aufs_config *cfg, int dirfd, const char *path,
			 size_t plen, unsigned flags, struct aufs_loc *loc, struct pkey *k)
{
	struct aufs_shm *shm;
	struct lcache *c;
	struct pent *e;
	size_t vlen;
	uint64_t h;
	unsigned key;
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
	/*
	 * A hit first: the text names its union in this configuration. Only a cache of
	 * it can hold one, so none is made here (a path outside every union makes none).
	 */
	c = tcache;
	if (c && (c->serial != cfg->serial || c->epoch != aufs_state_epoch()))
		c = NULL;
	key = flags & (AUFS_RESOLVE_NOFOLLOW | AUFS_RESOLVE_DIRECTORY);
	h = pent_key_hash(loc->virt, vlen, key);
	e = c && c->paths.count ? *pent_slot(c, h, key, loc->virt, vlen) : NULL;
	if (e && (shm = aufs_union_shm((struct aufs_union *)e->u)) && pent_valid(e, shm, c)) {
		struct aufs_union *u = (struct aufs_union *)e->u;

		loc->u = u;
		loc->branch = e->branch;
		loc->parent_branch = e->parent_branch;
		loc->cut = e->cut;
		loc->type = e->type;
		loc->flags = e->flags | AUFS_LOC_CACHED;
		loc->pmask = e->pmask;
		loc->rel = e->rel;
		if (e->err)
			return e->err;
		return branch_path(&u->branch[e->branch >= 0 ? e->branch : e->parent_branch],
				   loc->virt + e->rel, vlen - e->rel, loc->real);
	}
	k->u = aufs_config_match(cfg, loc->virt, vlen, &k->rel);
	if (!k->u)
		return path[0] == '/' ? AUFS_PASS : WHOLE_MISS;
	/* one '/' after the mount point, as in a clean path (the caller may not know yet) */
	if (k->rel != k->u->mnt_len + (k->u->mnt_len > 1 && vlen > k->u->mnt_len))
		return WHOLE_MISS;
	c = aufs_union_shm(k->u) ? cache_get(cfg) : NULL;
	if (c && c->paths.slot) {	/* filled after the walk */
		k->c = c;
		k->vlen = vlen;
		k->key = key;
		k->hash = h;
	}
	return WHOLE_MISS;
}

void whole_remember(const struct pkey *k, const struct deprec *rec, int err,
		    const struct aufs_loc *loc)
{
	if (!k->c)
		return;
	pent_fill(k->c, k->u, k->key, loc->virt, k->vlen, k->rel, k->hash, rec, err, loc);
}


struct deprec *whole_record_start(const struct pkey *k, struct deprec *rec)
{
	struct deprec *outer = recording;
	struct aufs_shm *shm;

	rec->n = 0;
	rec->unusable = false;
	rec->clears = k->c->clears;
	shm = shm_mapped(k->u);
	rec->changes = shm ? atomic_load_explicit(&shm->changes, memory_order_seq_cst) : 0;
	recording = rec;
	return outer;
}

void whole_record_stop(struct deprec *outer)
{
	recording = outer;
}
