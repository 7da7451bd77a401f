/* SPDX-License-Identifier: MIT */
/*
 * state_table.c - the compiled union table, and the host table's shared image.
 *
 * A host runs one union per tenant, thousands of them in one fstab, and every
 * process it starts (php's exec, cron, a server's restart) would parse and check
 * the whole file again. Instead the table is compiled once into an image that
 * holds no pointer: the unions' records, their branches, a hash index of every
 * mount point and its ancestors (which union a path is in), a hash index of the
 * branch directories (which union a real path stands for) and the strings. The
 * host table's image is a file, by default in /dev/shm, that every process of the
 * host maps read-only whatever its user; a process makes a union's in-memory form
 * only when a path first lands in it. A configuration built in the process
 * (AUFS_MOUNTS, aufs-run -o) compiles the same image into its own memory, so that
 * there is one lookup for both.
 *
 * Trust: an image is used only when it is a regular file of root or of the
 * fstab's owner, writable by no one else, of this format version, whole, and
 * its checksums hold; it is rebuilt by a process that may (root, the fstab's
 * owner) and otherwise compiled privately. Every offset read from it is checked
 * against its size, so that even a wrong image cannot make a process read
 * outside the mapping. Images are never changed in place but for one word:
 * `superseded`, which the writer of a newer image sets, and which every process
 * reads at each call (aufs_state_config()) to adopt the new image.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "internal.h"
#include "state_table.h"
#include "util_hash.h"

struct tbl_union {
	uint32_t mnt, mnt_len;		/* string offset (NUL-terminated) and length */
	uint32_t branch, nbranch;	/* first branch record and count */
	uint32_t line;			/* in the fstab, for messages */
	uint32_t xino;			/* string offset + 1, 0 for none */
	uint32_t flags, udba, create, create_sec, cpup, coo, dirwh, negttl, posttl, reserved;
	uint64_t create_low;
	uint64_t check;			/* union_check(): the record, its branches, strings */
};

struct tbl_branch {
	uint32_t path, len;		/* string offset (NUL-terminated) and length */
	uint32_t perm, attr;
	uint64_t dev, ino;
};

/* A slot of both indexes; empty when len == 0. */
struct tbl_slot {
	uint64_t hash;			/* FNV-1a of the path, extended component by component */
	uint32_t str, len;		/* the path: a prefix of the string at str */
	uint32_t unionp1;		/* union + 1 (0 none; TBL_NONE: several, branch index) */
	uint32_t flags;			/* mount index: TBL_ANCESTOR; branch index: branch */
	uint64_t check;			/* slot_check(); TBL_EMPTY in an empty slot */
};

/*
 * Every process checks the header when it maps an image, but hashing a host's
 * whole image at each exec would cost more than the exec: each slot and each
 * union record carries its own check instead, over everything it refers to,
 * verified when it is read. The whole-image checksum is checked by its writer
 * and by aufsctl check.
 */
#define TBL_EMPTY 0x656d707479736c74ULL	/* "emptyslt": a zeroed slot is corrupt */

/* Every configuration gets its own serial, also across threads building them. */
static _Atomic uint64_t serial_counter;

uint64_t aufs_config_next_serial(void)
{
	return atomic_fetch_add(&serial_counter, 1) + 1;
}

const char *aufs_table_magic_string(void)
{
	return TBL_MAGIC;
}

/* ---------------------------------------------------------------- checksum */

/* Four independent lanes: the multiplier, not its latency, bounds the speed. */
uint64_t tbl_sum(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t a = 0x243f6a8885a308d3ULL, b = 0x13198a2e03707344ULL;
	uint64_t c = 0xa4093822299f31d0ULL, d = 0x082efa98ec4e6c89ULL, w[4];

	for (; n >= 32; s += 32, n -= 32) {
		__builtin_memcpy(w, s, 32);
		a = hash_mix(a, w[0]);
		b = hash_mix(b, w[1]);
		c = hash_mix(c, w[2]);
		d = hash_mix(d, w[3]);
	}
	return hash_bytes(hash_mix(hash_mix(hash_mix(a, b), c), d), s, n);
}

static uint64_t hdr_sum(const struct tbl_hdr *h)
{
	struct tbl_hdr copy;

	memcpy(&copy, h, sizeof(copy));
	copy.hdr_sum = 0;
	atomic_store_explicit(&copy.superseded, 0, memory_order_relaxed);
	return tbl_sum(&copy, sizeof(copy));
}

uint64_t aufs_table_text_hash(const char *text, size_t len)
{
	return tbl_sum(text, len);
}

/*
 * A slot's check covers its fields, not its path: verifying every slot a probe
 * passes must not read the names of other unions (pages of their records). The
 * path is known good when its FNV-1a equals the slot's hash, which is checked
 * whenever the hash and the length say it should be the path looked up.
 */
static uint64_t slot_check(const struct tbl_slot *s)
{
	uint64_t w[3] = { s->hash, (uint64_t)s->str << 32 | s->len,
			  (uint64_t)s->unionp1 << 32 | s->flags };

	return tbl_sum(w, sizeof(w)) | 1;
}

/* Over the record (its check as 0), its branch records and every string they name. */
static uint64_t union_check(const struct tbl_union *t, const struct tbl_branch *br,
			    const char *strs)
{
	struct tbl_union copy = *t;
	uint64_t h;

	copy.check = 0;
	h = tbl_sum(&copy, sizeof(copy));
	h = hash_bytes(h, br, t->nbranch * sizeof(*br));
	h = hash_bytes(h, strs + t->mnt, t->mnt_len);
	for (uint32_t b = 0; b < t->nbranch; b++)
		h = hash_bytes(h, strs + br[b].path, br[b].len);
	if (t->xino)
		h = hash_bytes(h, strs + t->xino - 1, strlen(strs + t->xino - 1));
	return h;
}

/* ---------------------------------------------------------------- building */

/* A string map of the build: key -> a value and a heap offset. */
struct smap {
	struct smap_e {
		uint64_t hash;
		const char *s;		/* NULL: empty; borrowed from the unions */
		uint32_t len;
		int64_t val;		/* a count, or a union */
		uint32_t off;		/* where the string went in the heap (UINT32_MAX: not) */
		uint32_t aux;		/* a branch's position */
		uint32_t leaves;	/* an ancestor: TBL_LEAVES if a child is not one */
	} *e;
	uint32_t mask, count;
};

static struct smap_e *smap_slot(struct smap_e *e, uint32_t mask, uint64_t h, const char *s,
				size_t len)
{
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask)
		if (!e[i].s || (e[i].hash == h && e[i].len == len && !memcmp(e[i].s, s, len)))
			return &e[i];
}

/* The entry of S (LEN bytes), made (val 0) when ADD; NULL when absent or out of memory. */
static struct smap_e *smap_get(struct smap *m, const char *s, size_t len, bool add)
{
	uint64_t h = fnv1a(FNV_INIT, s, len);
	struct smap_e *e;

	if (!m->e && !add)
		return NULL;
	if (add && (m->count + 1) * 2 > m->mask) {
		uint32_t n = m->mask ? (m->mask + 1) * 2 : 64;
		struct smap_e *ne = calloc(n, sizeof(*ne));

		if (!ne)
			return NULL;
		for (uint32_t i = 0; m->e && i <= m->mask; i++)
			if (m->e[i].s)
				*smap_slot(ne, n - 1, m->e[i].hash, m->e[i].s, m->e[i].len) = m->e[i];
		free(m->e);
		m->e = ne;
		m->mask = n - 1;
	}
	e = smap_slot(m->e, m->mask, h, s, len);
	if (!e->s) {
		if (!add)
			return NULL;
		*e = (struct smap_e){ h, s, (uint32_t)len, 0, UINT32_MAX, 0, 0 };
		m->count++;
	}
	return e;
}

/* The heap: bytes appended, each piece at an offset aligned to 8. */
struct heap {
	char *buf;
	size_t len, cap;
};

static int64_t heap_put(struct heap *hp, const void *p, size_t n, bool nul)
{
	size_t at = (hp->len + 7) & ~(size_t)7, need = at + n + nul;

	if (need > UINT32_MAX)
		return -E2BIG;
	if (need > hp->cap) {
		size_t ncap = hp->cap ? hp->cap : 65536;
		char *nb;

		while (ncap < need)
			ncap *= 2;
		nb = realloc(hp->buf, ncap);
		if (!nb)
			return -ENOMEM;
		memset(nb + hp->cap, 0, ncap - hp->cap);
		hp->buf = nb;
		hp->cap = ncap;
	}
	if (p)
		memcpy(hp->buf + at, p, n);
	if (nul)
		hp->buf[at + n] = 0;
	hp->len = need;
	return (int64_t)at;
}

static uint32_t slots_for(size_t entries)
{
	size_t cap = 16;

	while (cap < entries * 2)
		cap <<= 1;
	return (uint32_t)cap;
}

/* Every strict ancestor of absolute path P, "/" included, into M. */
static int add_ancestors(struct smap *m, const char *p, size_t len)
{
	if (len > 1 && !smap_get(m, p, 1, true))
		return -ENOMEM;
	for (size_t k = 2; k < len; k++)
		if (p[k] == '/' && !smap_get(m, p, k, true))
			return -ENOMEM;
	return 0;
}

/* An index of MAP's entries for which KEEP holds, with slot strings at their heap offsets. */
static struct tbl_slot *index_of(const struct smap *m, bool (*keep)(const struct smap_e *),
				 uint32_t flags, uint32_t *ret_mask)
{
	uint32_t n = 0, mask;
	struct tbl_slot *slot;

	for (uint32_t i = 0; m->e && i <= m->mask; i++)
		n += m->e[i].s && keep(&m->e[i]);
	mask = slots_for(n) - 1;
	slot = calloc((size_t)mask + 1, sizeof(*slot));
	if (!slot)
		return NULL;
	for (uint32_t i = 0; m->e && i <= m->mask; i++) {
		const struct smap_e *e = &m->e[i];
		struct tbl_slot *s;
		uint32_t k;

		if (!e->s || !keep(e))
			continue;
		for (k = (uint32_t)e->hash & mask; slot[k].len; k = (k + 1) & mask)
			;
		s = &slot[k];
		*s = (struct tbl_slot){ e->hash, e->off, e->len, (uint32_t)e->val,
					flags | e->aux | (flags & TBL_ANCESTOR ? e->leaves : 0), 0 };
	}
	for (uint32_t i = 0; i <= mask; i++)
		slot[i].check = slot[i].len ? slot_check(&slot[i]) : TBL_EMPTY;
	*ret_mask = mask;
	return slot;
}

/* Mark in ANC the parent of every leaf of LEAVES that is not itself an ancestor. */
static int mark_leaf_parents(struct smap *anc, const struct smap *leaves)
{
	for (uint32_t i = 0; leaves->e && i <= leaves->mask; i++) {
		const struct smap_e *l = &leaves->e[i];
		struct smap_e *p;
		size_t k;

		if (!l->s || l->val == -1 || l->len < 2)
			continue;
		for (k = l->len - 1; k > 0 && l->s[k] != '/'; k--)
			;
		p = smap_get(anc, l->s, k ? k : 1, false);
		if (p)
			p->leaves = TBL_LEAVES;
	}
	return 0;
}

static bool keep_all(const struct smap_e *e)
{
	(void)e;
	return true;
}

static bool keep_not_ancestor(const struct smap_e *e)
{
	return e->val != -1;	/* marked: also in the ancestors' index */
}

/* Put each entry's string in the heap (the shared part), once. */
static int heap_strings(struct heap *hp, struct smap *m)
{
	for (uint32_t i = 0; m->e && i <= m->mask; i++) {
		int64_t off;

		if (!m->e[i].s || m->e[i].off != UINT32_MAX)
			continue;
		off = heap_put(hp, m->e[i].s, m->e[i].len, true);
		if (off < 0)
			return (int)off;
		m->e[i].off = (uint32_t)off;
	}
	return 0;
}

int aufs_table_build(struct aufs_union *_Atomic const *unions, int n,
		     const struct aufs_table_source *src, void **ret, size_t *ret_size)
{
	struct smap uses = { 0 }, manc = { 0 }, banc = { 0 }, mnts = { 0 }, brs = { 0 };
	struct tbl_slot *ix = NULL, *bx = NULL, *px = NULL, *pbx = NULL;
	uint32_t mask = 0, brmask = 0, pmask = 0, pbmask = 0, flags = 0, *rec = NULL;
	struct heap hp = { 0 };
	size_t nbr = 0, size;
	int64_t off, fstab_off = 0;
	char *img = NULL;
	int r = -ENOMEM;

	if (n < 0 || (size_t)n > UINT32_MAX / 8)
		return -E2BIG;
	rec = calloc((size_t)n + 1, sizeof(*rec));
	if (!rec)
		goto out;
	/* which branch directories several unions name (a base), and every ancestor */
	for (int i = 0; i < n; i++) {
		const struct aufs_union *u = unions[i];

		nbr += (size_t)u->nbranch;
		if (add_ancestors(&manc, u->mnt, u->mnt_len) < 0)
			goto out;
		for (int b = 0; b < u->nbranch; b++) {
			struct smap_e *e = smap_get(&uses, u->branch[b].path, u->branch[b].len, true);

			if (!e || add_ancestors(&banc, u->branch[b].path, u->branch[b].len) < 0)
				goto out;
			e->val++;
		}
	}
	/* the shared part of the heap, first: it is read by every lookup */
	if (heap_put(&hp, "/", 1, true) < 0 || heap_strings(&hp, &manc) < 0 ||
	    heap_strings(&hp, &banc) < 0)
		goto out;
	for (uint32_t i = 0; uses.e && i <= uses.mask; i++) {
		if (!uses.e[i].s || uses.e[i].val < 2)
			continue;
		off = heap_put(&hp, uses.e[i].s, uses.e[i].len, true);
		if (off < 0)
			goto out;
		uses.e[i].off = (uint32_t)off;
	}
	if (src && src->fstab) {
		fstab_off = heap_put(&hp, src->fstab, strlen(src->fstab), true);
		if (fstab_off < 0)
			goto out;
	}
	/* each union: its record, its name, its branch records, its own strings */
	for (int i = 0; i < n; i++) {
		const struct aufs_union *u = unions[i];
		struct tbl_union t = { 0 };
		struct tbl_branch tb[AUFS_BRANCH_MAX];
		int64_t at, mnt, first;
		struct smap_e *e;

		at = heap_put(&hp, NULL, sizeof(t), false);
		mnt = at < 0 ? at : heap_put(&hp, u->mnt, u->mnt_len, true);
		first = mnt < 0 ? mnt : heap_put(&hp, NULL, (size_t)u->nbranch * sizeof(tb[0]), false);
		if (first < 0) {
			r = (int)first;
			goto out;
		}
		for (int b = 0; b < u->nbranch; b++) {
			const struct aufs_branch *br = &u->branch[b];

			e = smap_get(&uses, br->path, br->len, false);
			if (!e)
				goto out;
			if (e->off == UINT32_MAX) {
				off = heap_put(&hp, br->path, br->len, true);
				if (off < 0) {
					r = (int)off;
					goto out;
				}
				e->off = (uint32_t)off;
			}
			tb[b] = (struct tbl_branch){ e->off, (uint32_t)br->len, br->perm, br->attr,
						     (uint64_t)br->dev, (uint64_t)br->ino };
			/* the branch index: one union, or several (TBL_NONE) */
			e = smap_get(&brs, br->path, br->len, true);
			if (!e)
				goto out;
			e->off = tb[b].path;
			if (!e->val) {
				e->val = i + 1;
				e->aux = (uint32_t)b;
			} else if (e->val != i + 1) {
				e->val = TBL_NONE;
			}
		}
		t.mnt = (uint32_t)mnt;
		t.mnt_len = (uint32_t)u->mnt_len;
		t.branch = (uint32_t)first;
		t.nbranch = (uint32_t)u->nbranch;
		t.line = src && src->lines ? src->lines[i] : 0;
		if (u->opts.xino && *u->opts.xino) {
			off = heap_put(&hp, u->opts.xino, strlen(u->opts.xino), true);
			if (off < 0) {
				r = (int)off;
				goto out;
			}
			t.xino = (uint32_t)off + 1;
		}
		t.flags = u->opts.flags;
		t.udba = (uint32_t)u->opts.udba;
		t.create = (uint32_t)u->opts.create;
		t.create_sec = u->opts.create_sec;
		t.cpup = (uint32_t)u->opts.cpup;
		t.coo = (uint32_t)u->opts.coo;
		t.dirwh = u->opts.dirwh;
		t.negttl = u->opts.negttl;
		t.posttl = u->opts.posttl;
		t.create_low = u->opts.create_low;
		memcpy(hp.buf + first, tb, (size_t)u->nbranch * sizeof(tb[0]));
		t.check = union_check(&t, tb, hp.buf);
		memcpy(hp.buf + at, &t, sizeof(t));
		rec[i] = (uint32_t)at;
		e = smap_get(&mnts, u->mnt, u->mnt_len, true);
		if (!e)
			goto out;
		e->val = i + 1;
		e->off = (uint32_t)mnt;
	}
	/*
	 * The ancestors' indexes say which prefixes lead deeper (and the union of one
	 * that is also a mount point: nested); the others hold the rest. A lookup walks
	 * the small ones, then probes a big one once.
	 */
	for (uint32_t i = 0; manc.e && i <= manc.mask; i++) {
		struct smap_e *m;

		if (!manc.e[i].s)
			continue;
		m = smap_get(&mnts, manc.e[i].s, manc.e[i].len, false);
		if (m) {
			manc.e[i].val = m->val;
			m->val = -1;	/* in the ancestors' index only */
			flags |= TBL_NESTED;
		}
	}
	for (uint32_t i = 0; banc.e && i <= banc.mask; i++) {
		struct smap_e *m;

		if (!banc.e[i].s)
			continue;
		m = smap_get(&brs, banc.e[i].s, banc.e[i].len, false);
		if (m) {
			banc.e[i].val = m->val;
			banc.e[i].aux = m->aux;
			m->val = -1;
		}
	}
	/*
	 * An ancestor none of whose children is a leaf (only other ancestors) spares
	 * its children's lookups the big index: "/srv/tenants" is not a mount point
	 * because "/srv" has only ancestors below it.
	 */
	if (mark_leaf_parents(&manc, &mnts) < 0 || mark_leaf_parents(&banc, &brs) < 0)
		goto out;
	px = index_of(&manc, keep_all, TBL_ANCESTOR, &pmask);
	ix = index_of(&mnts, keep_not_ancestor, 0, &mask);
	pbx = index_of(&banc, keep_all, TBL_ANCESTOR, &pbmask);
	bx = index_of(&brs, keep_not_ancestor, 0, &brmask);
	if (!px || !ix || !pbx || !bx)
		goto out;
	/* one block: header, the two small indexes, the table of records, the big ones, the heap */
	{
		struct tbl_hdr *h;
		size_t o_p = TBL_HDR, o_pb = o_p + ((size_t)pmask + 1) * sizeof(*px);
		size_t o_u = o_pb + ((size_t)pbmask + 1) * sizeof(*pbx);
		size_t o_i = o_u + (((size_t)n * sizeof(*rec) + 7) & ~(size_t)7);
		size_t o_x = o_i + ((size_t)mask + 1) * sizeof(*ix);
		size_t o_s = o_x + ((size_t)brmask + 1) * sizeof(*bx);

		size = o_s + ((hp.len + 7) & ~(size_t)7);
		img = calloc(1, size);
		if (!img)
			goto out;
		memcpy(img + o_p, px, ((size_t)pmask + 1) * sizeof(*px));
		memcpy(img + o_pb, pbx, ((size_t)pbmask + 1) * sizeof(*pbx));
		memcpy(img + o_u, rec, (size_t)n * sizeof(*rec));
		memcpy(img + o_i, ix, ((size_t)mask + 1) * sizeof(*ix));
		memcpy(img + o_x, bx, ((size_t)brmask + 1) * sizeof(*bx));
		memcpy(img + o_s, hp.buf, hp.len);
		h = (struct tbl_hdr *)img;
		memcpy(h->magic, TBL_MAGIC, sizeof(h->magic));
		h->version = TBL_VERSION;
		h->hdr_size = TBL_HDR;
		h->size = size;
		h->nunion = (uint32_t)n;
		h->nbranch = (uint32_t)nbr;
		h->mask = mask;
		h->brmask = brmask;
		h->pmask = pmask;
		h->pbmask = pbmask;
		h->flags = flags;
		h->off_union = o_u;
		h->off_index = o_i;
		h->off_brindex = o_x;
		h->off_pindex = o_p;
		h->off_pbindex = o_pb;
		h->off_str = o_s;
		h->len_str = size - o_s;
		h->serial = src ? src->serial : 0;
		if (src && src->fstab) {
			h->src_dev = (uint64_t)src->st.st_dev;
			h->src_ino = (uint64_t)src->st.st_ino;
			h->src_size = (uint64_t)src->st.st_size;
			h->src_mtime = src->st.st_mtim.tv_sec;
			h->src_mtime_ns = src->st.st_mtim.tv_nsec;
			h->src_ctime = src->st.st_ctim.tv_sec;
			h->src_ctime_ns = src->st.st_ctim.tv_nsec;
			h->src_uid = (uint32_t)src->st.st_uid;
			h->src_hash = src->text_hash;
			h->fstab = (uint32_t)fstab_off;
			h->fstab_len = (uint32_t)strlen(src->fstab);
		}
		h->body_sum = tbl_sum(img + TBL_HDR, size - TBL_HDR);
		h->hdr_sum = hdr_sum(h);
	}
	*ret = img;
	*ret_size = size;
	r = 0;
out:
	free(uses.e);
	free(manc.e);
	free(banc.e);
	free(mnts.e);
	free(brs.e);
	free(px);
	free(ix);
	free(pbx);
	free(bx);
	free(rec);
	free(hp.buf);
	return r;
}

/* ---------------------------------------------------------------- checking */

/* A slot mask: a power of two minus one, of a sane size. */
static bool mask_ok(uint32_t mask)
{
	return mask < UINT32_MAX / 64 && !(((uint64_t)mask + 1) & mask);
}

/* Is [off, off + len) inside an image of SIZE bytes? */
static bool in_image(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

int aufs_table_verify(const void *img, size_t size, bool full, const char **why)
{
	const struct tbl_hdr *h = img;

	if (size < TBL_HDR) {
		*why = "truncated";
		return -EBADMSG;
	}
	if (memcmp(h->magic, TBL_MAGIC, sizeof(h->magic)) != 0) {
		*why = "not a union table image";
		return -EBADMSG;
	}
	if (h->version != TBL_VERSION) {
		*why = "of another format version";
		return -EBADMSG;
	}
	if (h->hdr_size != TBL_HDR || h->size != size) {
		*why = h->size > size ? "truncated" : "corrupt (sizes)";
		return -EBADMSG;
	}
	if (hdr_sum(h) != h->hdr_sum) {
		*why = "corrupt (header checksum)";
		return -EBADMSG;
	}
	if (h->nunion > UINT32_MAX / 8 || !mask_ok(h->mask) || !mask_ok(h->brmask) ||
	    !mask_ok(h->pmask) || !mask_ok(h->pbmask) ||
	    !in_image(h->off_union, (uint64_t)h->nunion * sizeof(uint32_t), size) ||
	    !in_image(h->off_index, ((uint64_t)h->mask + 1) * sizeof(struct tbl_slot), size) ||
	    !in_image(h->off_brindex, ((uint64_t)h->brmask + 1) * sizeof(struct tbl_slot), size) ||
	    !in_image(h->off_pindex, ((uint64_t)h->pmask + 1) * sizeof(struct tbl_slot), size) ||
	    !in_image(h->off_pbindex, ((uint64_t)h->pbmask + 1) * sizeof(struct tbl_slot), size) ||
	    !in_image(h->off_str, h->len_str, size) || h->len_str == 0 ||
	    h->len_str > UINT32_MAX || (h->off_union | h->off_index | h->off_brindex |
					h->off_pindex | h->off_pbindex | h->off_str) & 7) {
		*why = "corrupt (layout)";
		return -EBADMSG;
	}
	if (full && tbl_sum((const char *)img + TBL_HDR, size - TBL_HDR) != h->body_sum) {
		*why = "corrupt (checksum)";
		return -EBADMSG;
	}
	return 0;
}

/* ---------------------------------------------------------------- lookups */

static inline const struct tbl_hdr *hdr_of(const struct aufs_config *cfg)
{
	return cfg->table;
}

static inline const struct tbl_slot *index_slots(const struct tbl_hdr *h, size_t off)
{
	return (const struct tbl_slot *)((const char *)h + off);
}

/* The path of slot S, or NULL when it points outside the strings. */
static inline const char *slot_path(const struct tbl_hdr *h, const struct tbl_slot *s)
{
	if ((uint64_t)s->str + s->len >= h->len_str)
		return NULL;
	return (const char *)h + h->off_str + s->str;
}

/*
 * The slot of P[0..LEN) with hash HASH in the index at OFF, or NULL. Every slot
 * probed is checked: a slot changed since the image was written, even one that
 * would only have steered the probe, sets *BAD.
 */
static const struct tbl_slot *index_find(const struct tbl_hdr *h, uint64_t off, uint32_t mask,
					 uint64_t hash, const char *p, size_t len, bool *bad)
{
	const struct tbl_slot *slot = index_slots(h, off);

	/* at most mask + 1 probes: a full index (never built) must not loop forever */
	for (uint32_t i = (uint32_t)hash & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
		const struct tbl_slot *s = &slot[i];
		const char *sp;

		if (!s->len) {
			if (s->check != TBL_EMPTY)
				break;
			return NULL;
		}
		if (slot_check(s) != s->check)
			break;
		if (s->hash != hash || s->len != len)
			continue;
		sp = slot_path(h, s);
		if (!sp)
			break;
		if (memcmp(sp, p, len) == 0)
			return s;
		if (fnv1a(FNV_INIT, sp, len) != s->hash)
			break;	/* not a collision: the name was changed */
	}
	*bad = true;
	return NULL;
}

/*
 * A check failed: the image was changed after it was written. The configuration
 * then counts as superseded, and the next call that may allocate compiles the
 * fstab again and says so (adopt() in state_mount.c).
 */
static const _Atomic uint32_t always_superseded = 1;

/* Damaged reads this thread met, for a lookup to tell a miss from damage. */
static __thread unsigned bad_reads;

unsigned aufs_table_bad_reads(void)
{
	return bad_reads;
}

static void table_corrupt(const struct aufs_config *cfg, const char *what)
{
	struct aufs_config *c = (struct aufs_config *)cfg;	/* its flags are ours to set */
	int expected = 0;

	/*
	 * Counted even in a replaced configuration (its image maybe zeroed by now): the
	 * lookup then answers from the one in force instead.
	 */
	bad_reads++;
	if (cfg->table_kind != AUFS_TABLE_MAPPED || atomic_load(&c->retired) ||
	    !atomic_compare_exchange_strong(&c->corrupt, &expected, 1))
		return;
	c->corrupt_what = what;
	c->superseded = &always_superseded;
}

bool aufs_table_nested(const struct aufs_config *cfg)
{
	const struct tbl_hdr *h = hdr_of(cfg);

	return h && (h->flags & TBL_NESTED);
}

int aufs_table_find(const struct aufs_config *cfg, uint64_t hash, const char *p, size_t len,
		    bool *ancestor, uint32_t *rec, bool *leaves)
{
	const struct tbl_hdr *h = hdr_of(cfg);
	const struct tbl_slot *s;
	bool bad = false, parent_leaves = *leaves;

	*ancestor = false;
	*leaves = false;
	*rec = UINT32_MAX;
	if (!h)
		return -2;
	/* the ancestors first: few, shared by every lookup, so their pages stay warm */
	s = index_find(h, h->off_pindex, h->pmask, hash, p, len, &bad);
	if (s) {
		*ancestor = true;
		*leaves = s->flags & TBL_LEAVES;
	} else if (!bad && parent_leaves) {
		s = index_find(h, h->off_index, h->mask, hash, p, len, &bad);
		/* a mount point's name lies right after its union's record */
		if (s && s->str >= sizeof(struct tbl_union))
			*rec = s->str - (uint32_t)sizeof(struct tbl_union);
	}
	if (bad)
		table_corrupt(cfg, "mount index");
	if (!s)
		return -2;
	if (!s->unionp1)
		return -1;
	if (s->unionp1 > h->nunion || s->unionp1 > (uint32_t)cfg->nunion) {
		table_corrupt(cfg, "mount index");
		return -1;
	}
	return (int)s->unionp1 - 1;
}

/* ---------------------------------------------------------------- unions from an image */

/*
 * Unions made from a mapped image, and the configurations of adopted images,
 * come from here: raw anonymous mappings, never freed, because a vfork child
 * (exec resolving a path in a union its parent never used) must not call malloc,
 * and a published configuration is never freed anyway.
 */
#define ARENA_CHUNK (64u << 10)

struct arena_chunk {
	_Atomic size_t used;
	char data[];
};

static struct arena_chunk *_Atomic arena;

void *aufs_table_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n > ARENA_CHUNK / 4) {
		void *p = sys_mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		return sys_mmap_failed(p) ? NULL : p;
	}
	for (;;) {
		struct arena_chunk *c = atomic_load_explicit(&arena, memory_order_acquire), *nc;

		if (c) {
			size_t off = atomic_fetch_add_explicit(&c->used, n, memory_order_relaxed);

			if (off + n <= ARENA_CHUNK - sizeof(*c))
				return c->data + off;
		}
		nc = sys_mmap(NULL, ARENA_CHUNK, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (sys_mmap_failed(nc))
			return NULL;
		if (!atomic_compare_exchange_strong(&arena, &c, nc))
			(void)sys_munmap(nc, ARENA_CHUNK);	/* another thread's chunk won */
	}
}

/* The string at OFF of length LEN, NUL-terminated inside the strings, or NULL. */
static const char *image_string(const struct tbl_hdr *h, uint64_t off, uint64_t len)
{
	const char *strs = (const char *)h + h->off_str;

	if (len == 0 || off >= h->len_str || len >= h->len_str - off || strs[off + len] != 0)
		return NULL;
	return strs + off;
}

/* The branch records of T, when they lie inside the heap, else NULL. */
static const struct tbl_branch *union_branches(const struct tbl_hdr *h, const struct tbl_union *t)
{
	if (t->branch & 7 || (uint64_t)t->branch + (uint64_t)t->nbranch * sizeof(struct tbl_branch) >
				     h->len_str)
		return NULL;
	return (const struct tbl_branch *)((const char *)h + h->off_str + t->branch);
}

/* Every string a union record names lies inside the heap, NUL-terminated. */
static bool union_strings_inside(const struct tbl_hdr *h, const struct tbl_union *t,
				 const struct tbl_branch *br)
{
	if (!image_string(h, t->mnt, t->mnt_len))
		return false;
	for (uint32_t b = 0; b < t->nbranch; b++)
		if (!image_string(h, br[b].path, br[b].len))
			return false;
	if (t->xino) {
		uint64_t off = (uint64_t)t->xino - 1;
		const char *x = (const char *)h + h->off_str + off;

		if (off >= h->len_str || !memchr(x, 0, h->len_str - off))
			return false;
	}
	return true;
}

/*
 * After a reload, the same union (same mount point, same top branch) keeps the
 * shared state it had attached in the configuration it replaces: attaching again
 * at every reload would add a mapping per union each time (a server of thousands
 * of tenants would soon reach the kernel's limit of mappings per process).
 */
static void inherit_shared_state(const struct aufs_config *cfg, struct aufs_union *u)
{
	uint64_t h = fnv1a(FNV_INIT, u->mnt, u->mnt_len);
	int depth = 0;

	for (const struct aufs_config *p = cfg->prev; p && depth < 16; p = p->prev, depth++) {
		const struct aufs_union *v;
		uint32_t rec;
		bool ancestor;
		int id;

		/* a damaged one is not read again (nor counted as this lookup's damage) */
		if (!p->table || p->nunion <= 0 || atomic_load(&p->corrupt) ||
		    atomic_load(&p->retired))
			continue;
		/* the whole mount point hashed at once equals the index's extended hash */
		bool leaves = true;

		id = aufs_table_find(p, h, u->mnt, u->mnt_len, &ancestor, &rec, &leaves);
		if (id < 0)
			continue;
		v = atomic_load_explicit(&p->unions[id], memory_order_acquire);
		if (!v)
			continue;	/* not used there: maybe in an older one */
		if (v->nbranch > 0 && u->nbranch > 0 && v->branch[0].len == u->branch[0].len &&
		    !strcmp(v->branch[0].path, u->branch[0].path) &&
		    v->branch[0].dev == u->branch[0].dev && v->branch[0].ino == u->branch[0].ino &&
		    v->branch[0].perm == u->branch[0].perm &&
		    atomic_load_explicit(&v->shm_state, memory_order_relaxed) == 1) {
			atomic_store_explicit(&u->shm, atomic_load(&v->shm), memory_order_relaxed);
			atomic_store_explicit(&u->shm_state, 1, memory_order_relaxed);
			/* a change it could not announce stays unannounced in the new one */
			atomic_store_explicit(&u->shc_local, atomic_load(&v->shc_local),
					      memory_order_relaxed);
		}
		return;
	}
}

/*
 * A copy of S in the arena: a union outlives the image it was made from (an open
 * directory stream, a cached lookup hold it), and an image is unmapped some time
 * after a newer one replaced it (aufs_table_retire()).
 */
static char *arena_string(const char *s, size_t len)
{
	char *c;

	if (!s)
		return NULL;
	c = aufs_table_alloc(len + 1);
	if (c) {
		memcpy(c, s, len);
		c[len] = 0;
	}
	return c;
}

/*
 * Is the record at REC union ID's? The mount index names ID for the record's
 * mount point. A valid record copied over another union's place keeps its own
 * check, which does not say which union it is: without this, a lookup of
 * /srv/www/t2 made the union of /srv/www/t2/sub from such a copy
 * (tests/fuzz/fuzz_image.c found it). Where the name lies is no proof: a mount
 * point that is also another union's ancestor is one of the shared strings.
 */
static bool record_is_union(const struct tbl_hdr *h, const struct tbl_union *t, uint32_t rec,
			    unsigned id)
{
	const char *mnt = (const char *)h + h->off_str + t->mnt;
	const struct tbl_slot *s;
	bool bad = false;

	uint64_t hash = fnv1a(FNV_INIT, mnt, t->mnt_len);

	(void)rec;
	/* as aufs_table_find(): a mount point that is another's ancestor is in the small index */
	s = index_find(h, h->off_pindex, h->pmask, hash, mnt, t->mnt_len, &bad);
	if (!s && !bad)
		s = index_find(h, h->off_index, h->mask, hash, mnt, t->mnt_len, &bad);
	return s && s->unionp1 == id + 1;
}

struct aufs_union *aufs_table_make_union(const struct aufs_config *cfg, unsigned id,
					 uint32_t rec)
{
	const struct tbl_hdr *h = hdr_of(cfg);
	const struct tbl_branch *brs;
	const struct tbl_union *t;
	struct aufs_union *u, *expected = NULL;

	if (!h || id >= h->nunion || (int)id >= cfg->nunion)
		return NULL;
	if (rec == UINT32_MAX)
		rec = ((const uint32_t *)((const char *)h + h->off_union))[id];
	if (rec & 7 || (uint64_t)rec + sizeof(*t) > h->len_str) {
		table_corrupt(cfg, "union record");
		return NULL;
	}
	t = (const struct tbl_union *)((const char *)h + h->off_str + rec);
	/* no branch: only the fence of a refused line (AUFS_OPT_FENCED) */
	if (t->nbranch < !(t->flags & AUFS_OPT_FENCED) || t->nbranch > AUFS_BRANCH_MAX ||
	    !(brs = union_branches(h, t)) ||
	    !union_strings_inside(h, t, brs) ||
	    union_check(t, brs, (const char *)h + h->off_str) != t->check ||
	    !record_is_union(h, t, rec, id)) {
		table_corrupt(cfg, "union record");
		return NULL;
	}
	u = aufs_table_alloc(sizeof(*u) + t->nbranch * sizeof(u->branch[0]));
	if (!u)
		return NULL;
	u->mnt = arena_string(image_string(h, t->mnt, t->mnt_len), t->mnt_len);
	u->mnt_len = t->mnt_len;
	if (!u->mnt || u->mnt[0] != '/')
		return NULL;	/* the arena keeps the few bytes: a corrupt image is rare */
	u->opts.flags = t->flags;
	u->opts.udba = (enum aufs_udba)t->udba;
	u->opts.create = (enum aufs_create_policy)t->create;
	u->opts.create_sec = t->create_sec;
	u->opts.create_low = t->create_low;
	u->opts.cpup = (enum aufs_cpup_policy)t->cpup;
	u->opts.coo = (enum aufs_coo)t->coo;
	u->opts.dirwh = t->dirwh;
	u->opts.negttl = t->negttl;
	u->opts.posttl = t->posttl;
	if (t->xino) {
		uint64_t off = (uint64_t)t->xino - 1;
		const char *x = off < h->len_str ? (const char *)h + h->off_str + off : NULL;

		size_t xl = x ? strnlen(x, h->len_str - off) : 0;

		u->opts.xino = x ? arena_string(image_string(h, off, xl), xl) : NULL;
	}
	u->index = id;
	u->from_table = true;
	u->nbranch = (int)t->nbranch;
	for (uint32_t b = 0; b < t->nbranch; b++) {
		const struct tbl_branch *tb = &brs[b];
		struct aufs_branch *br = &u->branch[b];

		br->path = arena_string(image_string(h, tb->path, tb->len), tb->len);
		br->len = tb->len;
		br->perm = (enum aufs_perm)tb->perm;
		br->attr = tb->attr;
		br->dev = (dev_t)tb->dev;
		br->ino = (ino_t)tb->ino;
		if (!br->path || br->path[0] != '/' || tb->perm > AUFS_PERM_RR)
			return NULL;
	}
	inherit_shared_state(cfg, u);
	if (!atomic_compare_exchange_strong(&cfg->unions[id], &expected, u))
		return expected;	/* another thread made it first: one object per union */
	return u;
}

int aufs_table_real_to_union(const struct aufs_config *cfg, const char *real, size_t len,
			     size_t *ret_brlen)
{
	const struct tbl_hdr *h = hdr_of(cfg);
	const struct tbl_slot *s;
	bool bad = false, leaves;
	uint64_t hash;
	int hit = -1;

	if (!h || len < 2 || real[0] != '/')
		return -ENOENT;
	hash = fnv1a(FNV_INIT, real, 1);
	s = index_find(h, h->off_pbindex, h->pbmask, hash, real, 1, &bad);
	if (!s)
		return bad ? (table_corrupt(cfg, "branch index"), -ENOENT) : -ENOENT;
	leaves = s->flags & TBL_LEAVES;
	/* down the ancestors of branch directories; the first other prefix is the last */
	for (size_t k = 2, last = 1; k <= len; k++) {
		bool leaf = false;

		if (k < len && real[k] != '/')
			continue;
		hash = fnv1a(hash, real + last, k - last);
		last = k;
		s = index_find(h, h->off_pbindex, h->pbmask, hash, real, k, &bad);
		if (!s && !bad) {
			/* only a parent with branch directories below it sends the walk further */
			if (!leaves)
				break;
			s = index_find(h, h->off_brindex, h->brmask, hash, real, k, &bad);
			leaf = true;
		}
		leaves = s && !leaf && (s->flags & TBL_LEAVES);
		if (bad) {
			table_corrupt(cfg, "branch index");
			return -ENOENT;
		}
		if (s && s->unionp1) {
			/* several branches hold it (a shared base, nested branches): ambiguous */
			if (hit >= 0 || s->unionp1 == TBL_NONE || s->unionp1 > h->nunion)
				return -ENOENT;
			hit = (int)s->unionp1 - 1;
			*ret_brlen = k;
		}
		if (leaf)
			break;
	}
	return hit >= 0 ? hit : -ENOENT;
}

/* ---------------------------------------------------------------- mapping an image */

/*
 * Map IMAGE read-only when it is trusted: a regular file of root or OWNER that no
 * one else may write, and whole. Returns 0 with *RET and *RET_SIZE, or -errno with
 * *WHY (static text).
 */
static int map_one(const char *image, uid_t owner, const struct tbl_hdr **ret,
		   size_t *ret_size, const char **why)
{
	struct stat st;
	void *p;
	int fd, r;

	fd = sys_openat(AT_FDCWD, image, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0) {
		*why = fd == -ENOENT ? "missing" : fd == -ELOOP ? "a symbolic link" : "unreadable";
		return fd;
	}
	r = sys_fstat(fd, &st);
	if (r < 0) {
		*why = "unreadable";
		goto out;
	}
	r = -EPERM;
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != owner) {
		*why = "owned by another user (foreign)";
		goto out;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		*why = "writable by group or others";
		goto out;
	}
	r = -EBADMSG;
	if (st.st_size < TBL_HDR || (uint64_t)st.st_size > (1ull << 40)) {
		*why = "truncated";
		goto out;
	}
	p = sys_mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (sys_mmap_failed(p)) {
		r = (int)(long)p;
		*why = "cannot be mapped";
		goto out;
	}
	r = aufs_table_verify(p, (size_t)st.st_size, false, why);
	if (r < 0) {
		(void)sys_munmap(p, (size_t)st.st_size);
		goto out;
	}
	*ret = p;
	*ret_size = (size_t)st.st_size;
out:
	(void)sys_close(fd);
	return r;
}

static bool is_fallback_name(const char *name, const char *base, size_t blen)
{
	const char *h = name + blen + 1;

	if (strncmp(name, base, blen) != 0 || name[blen] != '.')
		return false;
	for (int i = 0; i < 16; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return h[16] == 0;
}

int table_each_fallback(const char *image, int (*fn)(const char *path, void *ctx), void *ctx)
{
	/* no malloc: a process follows a new image from within any call */
	char buf[4096] __attribute__((aligned(8)));
	char path[PATH_MAX];
	const char *slash = strrchr(image, '/');
	size_t dlen = slash ? (size_t)(slash - image) : 0, blen;
	const char *base = slash ? slash + 1 : image;
	int fd, r = 0;

	blen = strlen(base);
	if (dlen + 1 + blen + 1 + 16 + 1 > sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, image, dlen);
	path[dlen] = 0;
	fd = sys_openat(AT_FDCWD, slash ? (dlen ? path : "/") : ".",
			O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n = sys_getdents64(fd, buf, sizeof(buf));

		if (n <= 0) {
			r = (int)n;
			break;
		}
		for (ssize_t off = 0; off < n && r == 0;) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + off);

			off += d->d_reclen;
			if (!is_fallback_name(d->d_name, base, blen))
				continue;
			snprintf(path, sizeof(path), "%.*s%s%s", (int)dlen, image, slash ? "/" : "",
				 d->d_name);
			r = fn(path, ctx);
		}
		if (r)
			break;
	}
	sys_close(fd);
	return r;
}

struct fallback_map {
	uid_t owner;
	const struct tbl_hdr *h;
	size_t size;
	char *path;		/* where the one mapped is, when asked */
	size_t path_size;
};

static int map_fallback(const char *path, void *ctx)
{
	struct fallback_map *m = ctx;
	const char *why;

	if (map_one(path, m->owner, &m->h, &m->size, &why) < 0)
		return 0;	/* another user's, or broken: never trusted, never in the way */
	if (atomic_load(&m->h->superseded)) {
		(void)sys_munmap((void *)m->h, m->size);
		m->h = NULL;
		return 0;
	}
	if (m->path)
		snprintf(m->path, m->path_size, "%s", path);
	return 1;
}

/*
 * IMAGE, else the fallback its writer used because another user holds the name
 * (a file, a link, a FIFO planted there): trusted by the same rules, found by its
 * owner and kind, never by a name anyone could make first.
 */
int table_map_image_at(const char *image, uid_t owner, const struct tbl_hdr **ret,
		       size_t *ret_size, const char **why, char *path, size_t path_size)
{
	struct fallback_map m = { .owner = owner, .path = path, .path_size = path_size };
	int r = map_one(image, owner, ret, ret_size, why);

	if (path)
		snprintf(path, path_size, "%s", image);
	if (r == 0 || r == -ENOMEM)
		return r;
	if (table_each_fallback(image, map_fallback, &m) == 1) {
		*ret = m.h;
		*ret_size = m.size;
		return 0;
	}
	return r;
}

int table_map_image(const char *image, uid_t owner, const struct tbl_hdr **ret,
		    size_t *ret_size, const char **why)
{
	return table_map_image_at(image, owner, ret, ret_size, why, NULL, 0);
}

/* A configuration over a mapped image; from the arena, so that reload needs no malloc. */
void table_keep_identities(const struct tbl_hdr *old, struct aufs_union *_Atomic const *unions,
			   int n)
{
	for (int i = 0; i < n; i++) {
		struct aufs_union *u = unions[i];
		const struct tbl_branch *brs;
		const struct tbl_union *t;
		const struct tbl_slot *slot;
		const char *mnt;
		bool bad = false;
		uint32_t rec;

		if (!u)
			continue;
		slot = index_find(old, old->off_index, old->mask, fnv1a(FNV_INIT, u->mnt, u->mnt_len),
				  u->mnt, u->mnt_len, &bad);
		/* a mount point's name lies right after its union's record (aufs_table_find) */
		if (!slot || !slot->unionp1 || slot->str < sizeof(*t) ||
		    (rec = slot->str - (uint32_t)sizeof(*t)) & 7 ||
		    (uint64_t)rec + sizeof(*t) > old->len_str)
			continue;
		t = (const struct tbl_union *)((const char *)old + old->off_str + rec);
		mnt = image_string(old, t->mnt, t->mnt_len);
		if (!mnt || t->mnt_len != u->mnt_len || memcmp(mnt, u->mnt, u->mnt_len) ||
		    t->nbranch > AUFS_BRANCH_MAX || !(brs = union_branches(old, t)))
			continue;
		for (int b = 0; b < u->nbranch; b++) {
			struct aufs_branch *br = &u->branch[b];

			for (uint32_t k = 0; k < t->nbranch; k++) {
				const char *p = image_string(old, brs[k].path, brs[k].len);

				if (p && brs[k].len == br->len && !memcmp(p, br->path, br->len) &&
				    brs[k].ino) {
					br->dev = (dev_t)brs[k].dev;
					br->ino = (ino_t)brs[k].ino;
					break;
				}
			}
		}
	}
}

struct aufs_config *table_config_of_image(const struct tbl_hdr *h, size_t size,
					   const char *image, const char *fstab, uid_t owner)
{
	struct aufs_config *cfg = aufs_table_alloc(sizeof(*cfg));
	size_t il = strlen(image) + 1, fl = strlen(fstab) + 1;
	char *names = aufs_table_alloc(il + fl);

	if (!cfg || !names || h->nunion > INT_MAX / 2)
		return NULL;
	memset(cfg, 0, sizeof(*cfg));
	cfg->unions = aufs_table_alloc(((size_t)h->nunion + 1) * sizeof(cfg->unions[0]));
	if (!cfg->unions)
		return NULL;
	/* anonymous memory is zero: no union is made yet, and untouched pages cost nothing */
	cfg->nunion = (int)h->nunion;
	cfg->table = (void *)h;
	cfg->table_size = size;
	cfg->table_kind = AUFS_TABLE_MAPPED;
	cfg->fstab_owner = owner;
	cfg->superseded = &h->superseded;
	memcpy(names, image, il);
	memcpy(names + il, fstab, fl);
	cfg->image = names;
	cfg->fstab = names + il;
	cfg->serial = aufs_config_next_serial();
	return cfg;
}

const _Atomic uint32_t *aufs_table_superseded(const struct aufs_config *cfg)
{
	const struct tbl_hdr *h = hdr_of(cfg);

	return cfg->table_kind == AUFS_TABLE_MAPPED && h ? &h->superseded : NULL;
}

void aufs_table_unmap(struct aufs_config *cfg)
{
	if (cfg->table_kind == AUFS_TABLE_MAPPED && cfg->table)
		(void)sys_munmap(cfg->table, cfg->table_size);
	cfg->table = NULL;
}

/*
 * Images replaced in this process, unmapped some time later. A replaced image's
 * file is already unlinked; its memory is freed only when the last process maps
 * it no more, and a host reloads at every new tenant. A thread may still be in a
 * call that loaded the old configuration: its image is not unmapped but replaced
 * by zero pages, in which every lookup finds nothing (that call, at worst, sees
 * no union), and only after RETIRE_GRACE seconds.
 */
#define RETIRE_GRACE 10
#define RETIRE_MAX   64

static struct retired {
	struct aufs_config *cfg;
	int64_t since;
} retired[RETIRE_MAX];
static _Atomic int retiring;	/* one thread at a time: adoptions are serialised anyway */

static int64_t now_seconds(void)
{
	struct timespec ts = { 0 };

	(void)AUFS_SYS(SYS_clock_gettime, CLOCK_MONOTONIC, &ts, 0, 0, 0, 0);
	return ts.tv_sec;
}

static void zap(struct aufs_config *cfg)
{
	/* the same addresses, anonymous zero pages: the file's memory can go */
	(void)sys_mmap(cfg->table, cfg->table_size, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

void aufs_table_retire(const struct aufs_config *old)
{
	struct aufs_config *cfg = (struct aufs_config *)old;	/* its flags are ours */
	int64_t now = now_seconds();
	int expected = 0, free_slot = -1, oldest = 0;

	if (old->table_kind != AUFS_TABLE_MAPPED || !old->table)
		return;
	if (!atomic_compare_exchange_strong(&retiring, &expected, 1))
		return;	/* kept mapped: a leak of one image, never a fault */
	atomic_store(&cfg->retired, 1);
	for (int i = 0; i < RETIRE_MAX; i++) {
		if (retired[i].cfg && now - retired[i].since >= RETIRE_GRACE) {
			zap(retired[i].cfg);
			retired[i].cfg = NULL;
		}
		if (!retired[i].cfg && free_slot < 0)
			free_slot = i;
		if (retired[i].cfg && retired[i].since < retired[oldest].since)
			oldest = i;
	}
	if (free_slot < 0) {
		zap(retired[oldest].cfg);	/* a reload every few seconds: the oldest goes */
		free_slot = oldest;
	}
	retired[free_slot] = (struct retired){ cfg, now };
	atomic_store(&retiring, 0);
}

struct aufs_config *aufs_table_follow(const struct aufs_config *old)
{
	const struct tbl_hdr *h;
	struct aufs_config *cfg;
	const char *why;
	size_t size;

	if (old->table_kind != AUFS_TABLE_MAPPED || !old->image)
		return NULL;
	if (table_map_image(old->image, old->fstab_owner, &h, &size, &why) < 0)
		return NULL;
	if (h == old->table) {
		(void)sys_munmap((void *)h, size);
		return NULL;
	}
	cfg = table_config_of_image(h, size, old->image, old->fstab, old->fstab_owner);
	if (!cfg)
		(void)sys_munmap((void *)h, size);
	return cfg;
}

