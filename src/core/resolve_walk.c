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
 * What a lookup found is remembered by resolve_cache.c, per component and per
 * whole path; this file decides when a cached answer must be probed again
 * (udba=reval: a new miss built on cached directories is re-probed before it is
 * believed, a cached positive is re-tested by the operation itself through
 * aufs_loc_stale()).
 */
#include <stdio.h>

#include "internal.h"

#define LOOKUP_MAX_HOPS 40	/* symlink expansions, as the kernel */

__thread const char *aufs_path_hint;
__thread size_t aufs_path_hint_len;

/* ---------------------------------------------------------------- probing */

static unsigned mode_to_dt(mode_t m)
{
	return IFTODT(m);
}

/*
 * 1, 0 (no such name, or out of the caller's reach as in probe()) or -errno: a
 * marker whose probe failed otherwise (EIO...) is not a missing one. A marker
 * too long for the branch (the whiteout of a lower name longer than the union's
 * NAME_MAX) cannot exist.
 */
static int exists(const char *path)
{
	struct stat st;
	int r = sys_lstat(path, &st);

	if (r == 0)
		return 1;
	return r == -ENOENT || r == -ENOTDIR || r == -EACCES || r == -ENAMETOOLONG ? 0 : r;
}

/* N says: no such name (yet: probing fills it in). */
static void node_missing(struct node *n)
{
	*n = (struct node){ .branch = -1, .cut = -1, .type = DT_UNKNOWN };
}

static bool has_lower(aufs_mask m, int b)
{
	return (m >> (b + 1)) != 0;
}

/*
 * Probe the branches in PMASK (those holding the parent directory) from branch
 * FROM on for REL, whose last component starts at NAME_OFF. BUF is scratch of
 * PATH_MAX bytes.
 */
static int probe_from(struct aufs_union *u, const char *rel, size_t len, size_t name_off,
		      aufs_mask pmask, int from, struct node *n, char *buf)
{
	const char *name = rel + name_off;
	size_t nlen = len - name_off, plen = name_off ? name_off - 1 : 0;
	bool strict = false;	/* a copy of the directory withholds r or x from someone */
	struct stat st;
	int r;

	node_missing(n);
	for (int b = from; b < u->nbranch; b++) {
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
			strict |= (st.st_mode & 0555) != 0555;
			if (branch_has_whiteouts(br) && has_lower(pmask, b)) {
				r = branch_path_name(br, rel, len, "", AUFS_WH_OPQ,
						 strlen(AUFS_WH_OPQ), buf);
				if (r < 0)
					return r;
				r = exists(buf);
				if (r < 0)
					return r;
				if (r)
					break;	/* opaque: nothing below shows through */
			}
			continue;
		}
		/*
		 * EACCES, ELOOP...: as the kernel would say. Below a directory already
		 * found, only EACCES leaves it alone (a lower copy the caller cannot reach
		 * adds nothing); any other error would make a merged directory look
		 * unmerged, and a rename or rmdir then skip the whiteout it needs. Under
		 * dirperm1 the top-most copy of the parent alone decides who may search
		 * it: a lower copy the caller cannot search holds nothing for it.
		 */
		if (r == -EACCES && (u->opts.flags & AUFS_OPT_DIRPERM1) &&
		    (pmask & (MASK_BIT(b) - 1)))
			r = -ENOENT;
		if (r != -ENOENT && r != -ENOTDIR && (n->branch < 0 || r != -EACCES))
			return r;
		if (branch_has_whiteouts(br) && has_lower(pmask, b)) {
			r = branch_path_name(br, rel, plen, AUFS_WH_PREFIX, name, nlen, buf);
			if (r < 0)
				return r;
			r = exists(buf);
			if (r < 0)
				return r;
			if (r) {
				if (n->branch < 0)
					n->cut = b;
				break;	/* whited out: hidden in every lower branch */
			}
		}
	}
	if (n->branch >= 0 && n->type != DT_DIR)
		n->mask = 0;
	if (n->branch >= 0 && n->type == DT_DIR)
		n->di = (struct dinfo){ .flags = DINFO_STAT, .mode = n->st.st_mode & 07777,
					.uid = n->st.st_uid, .gid = n->st.st_gid };
	n->restricted = strict && (n->mask & (n->mask - 1));
	return 0;
}

/*
 * The final name of an O_EXCL create (MODE PROBE_EXCL) or of a rename of a
 * non-directory (PROBE_REPLACE), whose call in the top-most branch T of PMASK
 * (writable) answers for T's copy of the name itself: EEXIST, or the kernel's
 * rename replaces a file and refuses a directory. The branches below T come first;
 * T's whiteout is looked for only when one of them shows the name (a whiteout of a
 * name no lower branch has hides nothing), and for a rename T's copy only when the
 * name shows below and is not whited out (what T holds then decides its type).
 * n->unprobed: T's copy was not looked for; n->wh_unprobed: nor T's whiteout.
 */
static int probe(struct aufs_union *u, const char *rel, size_t len, size_t name_off,
		 aufs_mask pmask, enum probe_mode mode, struct node *n, char *buf)
{
	int t = pmask ? mask_lowest_bit(pmask) : -1, r;
	const struct aufs_branch *br;
	struct stat st;

	shm_count(u, AUFS_CNT_LOOKUPS);
	if (mode == PROBE_ALL || t < 0 || u->branch[t].perm != AUFS_PERM_RW)
		return probe_from(u, rel, len, name_off, pmask, 0, n, buf);
	br = &u->branch[t];
	r = probe_from(u, rel, len, name_off, pmask, t + 1, n, buf);
	if (r < 0)
		return r;
	n->unprobed = true;
	if (n->branch < 0) {
		n->wh_unprobed = n->cut < 0 && branch_has_whiteouts(br) && has_lower(pmask, t);
		return 0;
	}
	if (branch_has_whiteouts(br)) {
		size_t plen = name_off ? name_off - 1 : 0;

		r = branch_path_name(br, rel, plen, AUFS_WH_PREFIX, rel + name_off,
				     len - name_off, buf);
		if (r == 0)
			r = exists(buf);
		if (r < 0)
			return r;
		if (r) {
			node_missing(n);	/* whited out in T: hidden below */
			n->cut = t;
			n->unprobed = true;
			return 0;
		}
	}
	if (mode == PROBE_EXCL)
		return 0;	/* shown below: the create is refused whatever T holds */
	r = branch_path(br, rel, len, buf);
	if (r < 0)
		return r;
	r = sys_lstat(buf, &st);
	if (r == -ENOENT || r == -ENOTDIR) {
		n->unprobed = false;	/* the whole answer: T has no copy */
		return 0;
	}
	if (r == 0 && !S_ISDIR(st.st_mode)) {
		*n = (struct node){ .branch = t, .cut = -1, .type = mode_to_dt(st.st_mode),
				    .st = st, .have_stat = true };
		return 0;
	}
	/* a directory in T merges with the copies below, or an error: the whole probe */
	return probe_from(u, rel, len, name_off, pmask, 0, n, buf);
}

/*
 * nodirperm1 (the default): going through a directory needs search permission
 * on every branch's copy, as aufs_permission() decides, where the kernel checks
 * only the copy a branch path goes through. When N's copies all let everyone
 * search (the common 0755), that costs nothing; otherwise each copy is asked
 * with the caller's credentials, on every walk: no whole-path answer may rest on
 * such a directory. dirperm1: the top-most copy only, which the kernel checks.
 */
static int search_check(const struct aufs_union *u, const char *rel, size_t len,
			const struct node *n, char *buf)
{
	if (!n->restricted || (u->opts.flags & AUFS_OPT_DIRPERM1))
		return 0;
	cache_uncacheable();
	for (int b = 0; b < u->nbranch; b++) {
		if (!(n->mask & MASK_BIT(b)) || branch_path(&u->branch[b], rel, len, buf) < 0)
			continue;
		if (sys_faccessat2(AT_FDCWD, buf, X_OK, AT_EACCESS) == -EACCES)
			return -EACCES;
	}
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
			aufs_mask pmask, bool fresh, enum probe_mode mode, struct node *n,
			char *buf)
{
	const struct aufs_config *cfg = aufs_state_config();
	struct aufs_shm *shm = aufs_union_shm(u);
	struct lcache *c = shm && cfg ? cache_get(cfg) : NULL;
	struct gens g;
	int r;

	if (name_is_hidden(u, rel + name_off)) {
		/* Whiteouts and the aufs control names are never visible. */
		cache_uncacheable();
		node_missing(n);
		return 0;
	}
	if (c && !fresh && cache_lookup(c, shm, u, rel, len, n))
		return 0;
	if (c)
		gens_sample(shm, rel, len, name_off ? name_off - 1 : 0, &g);
	r = probe(u, rel, len, name_off, pmask, mode, n, buf);
	if (r < 0)
		return r;
	if (c && !n->unprobed) {
		cache_fill(c, u, rel, len, &g, n);
		cache_share(u, shm, rel, len, &g, n);
	} else {
		cache_uncacheable();	/* half an answer is never remembered */
	}
	return 0;
}

void lookup_note_made(struct aufs_union *u, const char *rel, size_t len, int b, unsigned type,
		      bool alone)
{
	const struct aufs_config *cfg = aufs_state_config();
	struct aufs_shm *shm = aufs_union_shm(u);
	struct lcache *c = shm && cfg ? cache_get(cfg) : NULL;
	struct node n = { .branch = b, .cut = -1, .type = type, .alone = alone,
			  .mask = type == DT_DIR ? MASK_BIT(b) : 0 };
	size_t name_off = len;
	struct gens g;

	if (!c || name_is_hidden(u, rel))
		return;
	while (name_off > 0 && rel[name_off - 1] != '/')
		name_off--;
	/* sampled after the change was announced: what it changed is in the past */
	gens_sample(shm, rel, len, name_off ? name_off - 1 : 0, &g);
	cache_fill(c, u, rel, len, &g, &n);
}

void lookup_dir_copied(struct aufs_union *u, const char *rel, size_t len, int t,
		       const struct stat *made, mode_t src_mode)
{
	const struct aufs_config *cfg = aufs_state_config();
	struct aufs_shm *shm = aufs_union_shm(u);
	struct lcache *c = shm && cfg ? cache_get(cfg) : NULL;
	size_t name_off = len;
	struct node n;
	bool known;
	struct gens g;

	known = c && cache_lookup(c, shm, u, rel, len, &n) && n.branch >= 0 &&
		n.type == DT_DIR && !(n.mask & MASK_BIT(t));
	lookup_name_changed(u, rel, len);
	if (!known)
		return;	/* the next lookup probes it */
	n.mask |= MASK_BIT(t);
	n.branch = mask_lowest_bit(n.mask);
	if (n.branch == t)
		n.di = (struct dinfo){ .flags = DINFO_STAT, .mode = made->st_mode & 07777,
					.uid = made->st_uid, .gid = made->st_gid };
	/* as probe(): a copy that does not grant search and read to all restricts */
	n.restricted = (n.mask & (n.mask - 1)) && (n.restricted || (src_mode & 0555) != 0555);
	n.alone = n.unprobed = n.wh_unprobed = false;
	n.cut = -1;
	while (name_off > 0 && rel[name_off - 1] != '/')
		name_off--;
	gens_sample(shm, rel, len, name_off ? name_off - 1 : 0, &g);
	cache_fill(c, u, rel, len, &g, &n);
}

/*
 * Walk the canonical union-relative directory REL (no symlinks in it) to its mask.
 * FRESH bypasses the cache for every component, FRESH_LAST for the last one only.
 * Search permission (search_check()) is asked of every component the walk goes
 * through, and of REL itself when SEARCH_LAST (the caller looks inside it).
 */
static int dir_state3(struct aufs_union *u, const char *rel, size_t len, bool fresh,
		      bool fresh_last, bool search_last, aufs_mask *ret, bool *used_cache,
		      char *buf, struct dinfo *ret_di)
{
	aufs_mask m = root_mask(u);
	struct node n;
	size_t i = 0;
	int r;

	if (ret_di)
		*ret_di = (struct dinfo){ 0 };	/* the root: no entry */

	while (i < len) {
		size_t start = i, end = i;

		while (end < len && rel[end] != '/')
			end++;
		r = lookup_child(u, rel, end, start, m, fresh || (fresh_last && end == len),
				 PROBE_ALL, &n, buf);
		if (r < 0)
			return r;
		if (n.cached)
			*used_cache = true;
		if (n.branch < 0)
			return -ENOENT;
		if (n.type != DT_DIR)
			return -ENOTDIR;
		if (end < len || search_last) {
			r = search_check(u, rel, end, &n, buf);
			if (r < 0)
				return r;
		}
		m = n.mask;
		i = end + 1;
		if (ret_di)
			*ret_di = n.di;
	}
	*ret = m;
	return 0;
}

static int dir_state2(struct aufs_union *u, const char *rel, size_t len, bool fresh,
		      bool fresh_last, aufs_mask *ret, bool *used_cache, char *buf)
{
	return dir_state3(u, rel, len, fresh, fresh_last, false, ret, used_cache, buf, NULL);
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

int lookup_dir(struct aufs_union *u, const char *rel, aufs_mask *ret, struct dinfo *ret_di)
{
	char buf[PATH_MAX];
	bool used = false;
	size_t len = strlen(rel);
	int r = dir_state3(u, rel, len, false, false, false, ret, &used, buf, ret_di);

	if ((r == -ENOENT || r == -ENOTDIR) && used)
		r = dir_state3(u, rel, len, true, false, false, ret, &used, buf, ret_di);
	return r;
}

void lookup_note_dir_noacl(struct aufs_union *u, const char *rel, size_t len)
{
	cache_note_dinfo(u, rel, len, DINFO_NOACL);
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
	state_roots_hold(w->u);
	w->touched = true;
	/* a refused fstab line: its mount point fails closed, never the directory below */
	if (__builtin_expect(w->u->opts.flags & AUFS_OPT_FENCED, 0))
		return -EIO;
	loc->rel = rel_offset(w->u);
	/* the walk goes on inside it (a name, or "." and ".." of the cwd) */
	return dir_state3(w->u, relp(loc, w->vlen), rell(loc, w->vlen), w->fresh, false, true,
			  &w->dmask, &w->used_cache, loc->real, NULL);
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
 * The node of the directory the walk now stands in: after ".", "..", a symlink or
 * entering a union. Outside every union its type is unknown until the kernel says.
 */
static void at_dir(const struct walk *w, struct node *n, unsigned type)
{
	*n = (struct node){ .branch = 0, .type = type, .mask = w->dmask };
}

/* ".." : up one directory of the virtual path, through the kernel only outside. */
static int walk_dotdot(struct walk *w)
{
	int r;

	if (!w->u && w->physical) {
		r = physical(w);
		if (r < 0)
			return r;
	}
	pop(w);
	return walk_enter(w);
}

/* Append component NAME (LEN bytes) to the virtual path. */
static int walk_append(struct walk *w, const char *name, size_t len)
{
	struct aufs_loc *loc = w->loc;

	if (w->vlen + 1 + len + 1 > PATH_MAX)
		return -ENAMETOOLONG;
	if (w->vlen > 1)
		loc->virt[w->vlen++] = '/';
	memcpy(loc->virt + w->vlen, name, len);
	w->vlen += len;
	loc->virt[w->vlen] = 0;
	return 0;
}

/*
 * The component just appended is a symlink in branch B: REST becomes its target
 * followed by what was left after *P, and the walk goes on from the link's
 * directory (or from "/" for an absolute target).
 */
static int walk_symlink(struct walk *w, int b, char *rest, size_t *p, bool trailing)
{
	struct aufs_loc *loc = w->loc;
	ssize_t tl;
	int r;

	if (++w->hops > LOOKUP_MAX_HOPS)
		return -ELOOP;
	r = branch_path(&w->u->branch[b], relp(loc, w->vlen), rell(loc, w->vlen), loc->real);
	if (r < 0)
		return r;
	/* the kernel copies the name in before it writes the target out */
	tl = sys_readlinkat(AT_FDCWD, loc->real, loc->real, PATH_MAX - 1);
	if (tl < 0)
		return tl == -EINVAL ? -ENOENT : (int)tl;
	if (tl == 0)
		return -ENOENT;
	r = splice_link(rest, *p, loc->real, (size_t)tl);
	if (r < 0)
		return r;
	if (trailing && !rest[(size_t)tl]) {
		if ((size_t)tl + 2 > PATH_MAX)
			return -ENAMETOOLONG;
		rest[tl] = '/';
		rest[tl + 1] = 0;
	}
	*p = 0;
	pop(w);
	if (loc->real[0] == '/') {
		w->vlen = 1;
		loc->virt[1] = 0;
	}
	return walk_enter(w);
}

/* The next component of REST at *P: its offset and length; *P moves past it. */
static bool next_component(const char *rest, size_t *p, size_t *ret_c, size_t *ret_len,
			   bool *ret_last, bool *ret_slash)
{
	size_t c, clen, q;

	while (rest[*p] == '/')
		(*p)++;
	if (!rest[*p])
		return false;
	c = *p;
	for (clen = 0; rest[c + clen] && rest[c + clen] != '/'; clen++)
		;
	q = c + clen;
	while (rest[q] == '/')
		q++;
	*ret_last = !rest[q];
	*ret_slash = *ret_last && q > c + clen;
	*ret_c = c;
	*ret_len = clen;
	*p = q;
	return true;
}

/*
 * Outside every union the walk is lexical: with no union inside another, and no
 * "." or ".." left in REST after *P, the one union the whole path lies in (if
 * any) says where its mount point is, and the walk moves there at once, instead
 * of matching every directory above it against the table. False when it cannot
 * (the walk goes on a component at a time).
 */
static bool walk_to_mount(struct walk *w, const char *rest, size_t *p)
{
	struct aufs_loc *loc = w->loc;
	size_t q = *p, vlen = w->vlen, len, rel;
	struct aufs_union *u;

	if (w->nested)
		return false;
	while (rest[q] == '/')
		q++;
	len = strlen(rest + q);
	for (size_t i = q; i < q + len; i++)
		if (rest[i] == '.' && (i == q || rest[i - 1] == '/') &&
		    (rest[i + 1] == '/' || !rest[i + 1] ||
		     (rest[i + 1] == '.' && (rest[i + 2] == '/' || !rest[i + 2]))))
			return false;	/* "." or "..": component by component */
	if (walk_append(w, rest + q, len) < 0)
		goto back;
	u = aufs_config_match(w->cfg, loc->virt, w->vlen, &rel);
	/* a name below the mount point is left (the mount point's own flags: its walk's) */
	if (!u || u->mnt_len <= vlen || rel >= w->vlen)
		goto back;
	/* REST's characters up to the mount point are the virtual path's after VLEN */
	*p = q + (u->mnt_len - vlen - (vlen > 1));
	w->vlen = u->mnt_len;
	loc->virt[w->vlen] = 0;
	return true;
back:
	w->vlen = vlen;
	loc->virt[vlen] = 0;
	return false;
}

/*
 * Walk REST from the directory in loc->virt. On return the node of the final
 * component is in *N (branch -1 when missing) and w->dmask is the mask of the
 * final directory, or of the parent when the final is not a directory.
 */
static int walk(struct walk *w, char *rest, unsigned flags, struct node *n)
{
	struct aufs_loc *loc = w->loc;
	size_t p = 0, c, clen, rel;
	bool is_last, trailing;
	int r;

	r = walk_enter(w);
	if (r < 0)
		return r;
	if (!w->u && walk_to_mount(w, rest, &p) && (r = walk_enter(w)) < 0)
		return r;
	at_dir(w, n, DT_DIR);
	while (next_component(rest, &p, &c, &clen, &is_last, &trailing)) {
		trailing = trailing || (is_last && (flags & AUFS_RESOLVE_DIRECTORY));
		if (trailing)
			loc->flags |= AUFS_LOC_TRAILING;
		if (clen == 1 && rest[c] == '.') {
			if (is_last)
				loc->flags |= AUFS_LOC_DOT;	/* rmdir, rename... refuse it */
			at_dir(w, n, DT_DIR);
			continue;
		}
		if (clen == 2 && rest[c] == '.' && rest[c + 1] == '.') {
			if (is_last)
				loc->flags |= AUFS_LOC_DOTDOT;
			r = walk_dotdot(w);
			if (r < 0)
				return r;
			at_dir(w, n, DT_DIR);
			continue;
		}
		r = walk_append(w, rest + c, clen);
		if (r < 0)
			return r;
		if (!w->u || (w->nested &&
			      aufs_config_match(w->cfg, loc->virt, w->vlen, &rel) != w->u)) {
			/*
			 * Outside every union the walk is lexical, until it enters one;
			 * a union mounted inside this one takes over from here.
			 */
			r = walk_enter(w);
			if (r < 0)
				return r;
			at_dir(w, n, w->u ? DT_DIR : DT_UNKNOWN);
			continue;
		}
		r = lookup_child(w->u, relp(loc, w->vlen), rell(loc, w->vlen),
				 rell(loc, w->vlen) - clen, w->dmask, w->fresh,
				 !is_last ? PROBE_ALL
				 : flags & AUFS_RESOLVE_EXCL ? PROBE_EXCL
				 : flags & AUFS_RESOLVE_REPLACE ? PROBE_REPLACE : PROBE_ALL,
				 n, loc->real);
		if (r < 0)
			return r;
		if (n->cached)
			w->used_cache = true;
		w->miss_cached = n->cached && n->branch < 0;
		if (n->branch < 0)
			return is_last ? 0 : -ENOENT;	/* w->dmask is still the parent's */
		if (n->type == DT_LNK &&
		    (!is_last || !(flags & AUFS_RESOLVE_NOFOLLOW) ||
		     (trailing && !(flags & AUFS_RESOLVE_LAST_AS_IS)))) {
			r = walk_symlink(w, n->branch, rest, &p, trailing);
			if (r < 0)
				return r;
			at_dir(w, n, DT_DIR);
			continue;
		}
		if (n->type == DT_DIR) {
			if (!is_last) {
				r = search_check(w->u, relp(loc, w->vlen), rell(loc, w->vlen), n,
						 loc->real);
				if (r < 0)
					return r;
			}
			w->dmask = n->mask;
			continue;
		}
		return is_last && (!trailing || (flags & AUFS_RESOLVE_LAST_AS_IS)) ? 0 : -ENOTDIR;
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
		n = aufs_fd_resolve(w->cfg, dirfd, loc->virt, !cache_is_noalloc());
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

/*
 * No empty, "." or ".." component and no trailing '/': the virtual path is the
 * text. P is NUL-terminated at LEN. The string functions scan a word at a time.
 */
static bool path_is_clean(const char *p, size_t len)
{
	const char *d;

	if (len == 0 || (len > 1 && p[len - 1] == '/') || strstr(p, "//"))
		return false;
	for (d = strchr(p, '.'); d; d = strchr(d + 1, '.')) {
		size_t i = (size_t)(d - p);

		if (i > 0 && p[i - 1] != '/')
			continue;	/* a dot inside a name */
		if (!d[1] || d[1] == '/' || (d[1] == '.' && (!d[2] || d[2] == '/')))
			return false;
	}
	return true;
}

/* Remember what the walk answered for K, when it rests only on cached components. */
static void remember(const struct pkey *k, const struct walk *w, const struct deprec *rec,
		     int err, const struct aufs_loc *loc)
{
	/* an error may stop the walk early, at the component it is about */
	if (w->hops || w->u != k->u || (!err && w->vlen != k->vlen))
		return;
	whole_remember(k, rec, err, loc);
}

/*
 * Before any walk, when the whole-path cache could not answer (a nested union or
 * a path that is not clean): one hash of the lexical path for an absolute one.
 * Returns an answer, or WHOLE_MISS when the walk must run.
 */
static int resolve_front(const struct aufs_config *cfg, const char *path, bool dotdot,
			 struct aufs_loc *loc)
{
	size_t len = 1, rel;

	if (path[0] != '/' || dotdot)
		return WHOLE_MISS;
	/* The common case outside: one hash of the first component. */
	loc->virt[0] = '/';
	loc->virt[1] = 0;
	if (path_append_lexical(loc->virt, &len, PATH_MAX, path) < 0)
		return AUFS_PASS;
	return aufs_config_match(cfg, loc->virt, len, &rel) ? WHOLE_MISS : AUFS_PASS;
}

/*
 * Walk PATH from its start directory, once, and a second time afresh when a miss
 * rests on cached directories. Returns 0, AUFS_PASS or -errno; *N is the final node.
 */
static int walk_path(struct walk *w, int dirfd, const char *path, size_t plen, unsigned flags,
		     bool dotdot, const struct pkey *k, struct deprec *rec, struct node *n)
{
	struct aufs_loc *loc = w->loc;
	char rest[PATH_MAX];
	size_t rel;
	int r;

	for (int attempt = 0;; attempt++) {
		r = start_dir(dirfd, path, dotdot, w);
		if (r)
			return r;
		if (attempt == 0 && path[0] != '/' && !dotdot &&
		    !aufs_config_match(w->cfg, loc->virt, w->vlen, &rel) &&
		    !aufs_config_is_ancestor(w->cfg, loc->virt, w->vlen))
			return AUFS_PASS;
		memcpy(rest, path, plen + 1);
		loc->flags = 0;
		loc->rel = 0;
		w->touched = false;
		w->used_cache = false;
		w->miss_cached = false;
		w->hops = 0;
		if (k->c) {
			struct deprec *outer = whole_record_start(k, rec);

			r = walk(w, rest, flags, n);
			whole_record_stop(outer);
		} else {
			r = walk(w, rest, flags, n);
		}
		/*
		 * A new miss built on cached directories is re-probed before it is
		 * believed (a directory may have appeared in a branch), unless the
		 * directory is where the cache says; a cached miss is believed, as
		 * udba=reval allows.
		 */
		if (attempt > 0 || !w->used_cache || w->miss_cached)
			return r;
		if (r == 0 && w->u && n->branch < 0 && !parent_appeared(w))
			return r;
		if (r != -ENOENT && r != -ENOTDIR && !(r == 0 && w->u && n->branch < 0))
			return r;
		w->fresh = true;
	}
}

/* Fill LOC from the walk's end: the union object, or the host path it left for. */
static int fill_loc(const struct walk *w, const struct node *n, struct aufs_loc *loc)
{
	loc->u = w->u;
	loc->branch = -1;
	loc->parent_branch = -1;
	loc->type = DT_UNKNOWN;
	if (!w->u) {
		/* entered a union and left it again (a symlink or ".."): a host path */
		memcpy(loc->real, loc->virt, w->vlen + 1);
		return AUFS_PASS_HOST;
	}
	if (n->cached)
		loc->flags |= AUFS_LOC_CACHED;
	if (n->alone && n->branch >= 0)
		loc->flags |= AUFS_LOC_ALONE;
	if (n->unprobed && n->branch < 0)
		loc->flags |= AUFS_LOC_UNPROBED;
	if (n->wh_unprobed && n->branch < 0)
		loc->flags |= AUFS_LOC_WH_UNPROBED;
	if (n->restricted && n->type == DT_DIR)
		loc->flags |= AUFS_LOC_DIRPERM;
	if (n->have_stat) {
		loc->st = n->st;
		loc->flags |= AUFS_LOC_HAVE_STAT;
	}
	if (w->vlen <= loc->rel) {
		loc->flags |= AUFS_LOC_ROOT;
		loc->rel = w->vlen;	/* loc->virt + loc->rel is "" */
	}
	loc->pmask = w->dmask;
	loc->cut = n->cut;
	if (n->branch < 0) {
		loc->parent_branch = w->dmask ? mask_lowest_bit(w->dmask) : 0;
		return branch_path(&w->u->branch[loc->parent_branch], relp(loc, w->vlen),
				   rell(loc, w->vlen), loc->real);
	}
	loc->type = n->type;
	loc->branch = n->type == DT_DIR && w->dmask ? mask_lowest_bit(w->dmask) : n->branch;
	return branch_path(&w->u->branch[loc->branch], relp(loc, w->vlen), rell(loc, w->vlen),
			   loc->real);
}

static int resolve(int dirfd, const char *path, unsigned flags, struct aufs_loc *loc)
{
	const struct aufs_config *cfg = aufs_state_config();
	struct walk w = { .cfg = cfg, .loc = loc };
	struct pkey k = { 0 };
	struct deprec rec;
	struct node n;
	size_t plen;
	bool clean, dotdot;
	int r;

	if (!cfg || !cfg->nunion)
		return AUFS_PASS;
	if (!path)
		return -EFAULT;
	loc->serial = cfg->serial;	/* whichever of its unions the path lands in */
	if (path == aufs_path_hint) {
		plen = aufs_path_hint_len;	/* the prologue's measure of it */
		aufs_path_hint = NULL;
	} else {
		plen = strnlen(path, PATH_MAX);
	}
	if (plen >= PATH_MAX)
		return AUFS_PASS;	/* the kernel says ENAMETOOLONG itself */
	if (plen == 0 && !(flags & AUFS_RESOLVE_EMPTY_PATH))
		return AUFS_PASS;	/* ENOENT, from the kernel */
	w.nested = aufs_config_has_nested(cfg);
	/*
	 * A cached answer first: the cache holds clean paths only, so finding the text
	 * there proves it clean, and the common call never scans the path for "//",
	 * "." and "..".
	 */
	r = w.nested ? WHOLE_MISS : whole_lookup(cfg, dirfd, path, plen, flags, loc, &k);
	if (r == 0)
		plink_follow(loc, flags);	/* the caches keep the name's own place */
	if (r != WHOLE_MISS && r != AUFS_PASS)
		return r;
	clean = path_is_clean(path, plen);
	dotdot = !clean && path_has_dotdot(path);
	if (w.nested || !clean) {
		k = (struct pkey){ 0 };	/* never filled under an unclean text */
		r = resolve_front(cfg, path, dotdot, loc);
	}
	if (r != WHOLE_MISS)
		return r;
	if (dotdot) {
		/* only a path that lexically ends in or above a union needs the kernel's ".." */
		size_t len;

		if (start_dir(dirfd, path, dotdot, &w) == 0) {
			len = w.vlen;
			if (path_append_lexical(loc->virt, &len, PATH_MAX, path) == 0)
				w.physical = maybe_inside(cfg, loc->virt, len);
		}
	}
	r = walk_path(&w, dirfd, path, plen, flags, dotdot, &k, &rec, &n);
	if (r == AUFS_PASS || !w.touched)
		return AUFS_PASS;	/* never inside: the kernel resolves it as given */
	if (r < 0) {
		if (r == -ENOENT || r == -ENOTDIR)
			remember(&k, &w, &rec, r, loc);
		return r;
	}
	r = fill_loc(&w, &n, loc);
	if (r == 0) {
		remember(&k, &w, &rec, 0, loc);
		plink_follow(loc, flags);
	}
	return r;
}

int aufs_resolve(int dirfd, const char *path, unsigned flags, struct aufs_loc *loc)
{
	bool outer;
	int r;

	if (!(flags & AUFS_RESOLVE_NOALLOC))
		return resolve(dirfd, path, flags, loc);	/* the mode stays as it is */
	outer = cache_noalloc(true);
	r = resolve(dirfd, path, flags & ~AUFS_RESOLVE_NOALLOC, loc);
	/* restored before returning: in a vfork child it is the parent's memory */
	(void)cache_noalloc(outer);
	return r;
}

int loc_host_tail(struct aufs_loc *loc)
{
	const char *tail = loc->flags & AUFS_LOC_DOTS	  ? "/."
			   : loc->flags & AUFS_LOC_TRAILING ? "/"
							    : "";
	size_t n = strlen(loc->real), tl = strlen(tail);

	if (n + tl + 1 > PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(loc->real + n, tail, tl + 1);
	return 0;
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
