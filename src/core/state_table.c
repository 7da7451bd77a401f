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
	uint32_t flags, udba, create, create_sec, cpup, coo, dirwh, reserved;
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

static uint64_t slot_check(const struct tbl_slot *s, const char *path)
{
	uint64_t w[3] = { s->hash, (uint64_t)s->str << 32 | s->len,
			  (uint64_t)s->unionp1 << 32 | s->flags };

	return hash_bytes(tbl_sum(w, sizeof(w)), path, s->len) | 1;
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

struct strpool {
	char *buf;
	size_t len, cap;
	struct first_str {
		uint64_t hash;
		uint32_t off, len;
	} *seen;			/* dedup of branch paths: the base of every tenant */
	uint32_t mask, count;
};

static int pool_grow_seen(struct strpool *p)
{
	uint32_t n = p->mask ? (p->mask + 1) * 2 : 1024;
	struct first_str *seen = calloc(n, sizeof(*seen));

	if (!seen)
		return -ENOMEM;
	for (uint32_t i = 0; p->seen && i <= p->mask; i++) {
		uint32_t k;

		if (!p->seen[i].len)
			continue;
		for (k = (uint32_t)p->seen[i].hash & (n - 1); seen[k].len; k = (k + 1) & (n - 1))
			;
		seen[k] = p->seen[i];
	}
	free(p->seen);
	p->seen = seen;
	p->mask = n - 1;
	return 0;
}

/* Append S (LEN bytes and a NUL); with DEDUP, return an equal string's offset. */
static int64_t pool_add(struct strpool *p, const char *s, size_t len, bool dedup)
{
	uint64_t h = 0;
	uint32_t k = 0;

	if (len == 0 || len > UINT32_MAX / 2)
		return -EINVAL;
	if (dedup) {
		if ((p->count + 1) * 2 > p->mask && pool_grow_seen(p) < 0)
			return -ENOMEM;
		h = fnv1a(FNV_INIT, s, len);
		for (k = (uint32_t)h & p->mask; p->seen[k].len; k = (k + 1) & p->mask)
			if (p->seen[k].hash == h && p->seen[k].len == len &&
			    memcmp(p->buf + p->seen[k].off, s, len) == 0)
				return p->seen[k].off;
	}
	if (p->len + len + 1 > p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 65536;
		char *nb;

		while (ncap < p->len + len + 1)
			ncap *= 2;
		nb = realloc(p->buf, ncap);
		if (!nb)
			return -ENOMEM;
		p->buf = nb;
		p->cap = ncap;
	}
	if (p->len + len + 1 > UINT32_MAX)
		return -E2BIG;
	memcpy(p->buf + p->len, s, len);
	p->buf[p->len + len] = 0;
	if (dedup) {
		p->seen[k] = (struct first_str){ h, (uint32_t)p->len, (uint32_t)len };
		p->count++;
	}
	p->len += len + 1;
	return (int64_t)(p->len - len - 1);
}

static uint32_t slots_for(size_t entries)
{
	size_t cap = 16;

	while (cap < entries * 2)
		cap <<= 1;
	return (uint32_t)cap;
}

/* The slot of path STR+[0,LEN) with hash H, or the empty slot where it goes. */
static struct tbl_slot *slot_find(struct tbl_slot *slot, uint32_t mask, const char *strs,
				  uint64_t h, const char *p, size_t len)
{
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		struct tbl_slot *s = &slot[i];

		if (!s->len || (s->hash == h && s->len == len && !memcmp(strs + s->str, p, len)))
			return s;
	}
}

/*
 * An index is filled at the size its entries could need at most (every component
 * of every mount point distinct); at most half full of the distinct ones is
 * enough, and the image is mapped by every process of the host.
 */
static int shrink_index(struct tbl_slot **slots, uint32_t *mask)
{
	uint32_t used = 0, nmask;
	struct tbl_slot *n;

	for (uint32_t i = 0; i <= *mask; i++)
		used += (*slots)[i].len != 0;
	nmask = slots_for(used) - 1;
	if (nmask >= *mask)
		return 0;
	n = calloc((size_t)nmask + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (uint32_t i = 0; i <= *mask; i++) {
		const struct tbl_slot *s = &(*slots)[i];
		uint32_t k;

		if (!s->len)
			continue;
		for (k = (uint32_t)s->hash & nmask; n[k].len; k = (k + 1) & nmask)
			;
		n[k] = *s;
	}
	free(*slots);
	*slots = n;
	*mask = nmask;
	return 0;
}

int aufs_table_build(struct aufs_union *_Atomic const *unions, int n,
		     const struct aufs_table_source *src, void **ret, size_t *ret_size)
{
	struct strpool pool = { 0 };
	struct tbl_union *tu = NULL;
	struct tbl_branch *tb = NULL;
	struct tbl_slot *ix = NULL, *bx = NULL;
	size_t nbr = 0, prefixes = 1, size;
	uint32_t mask, brmask, flags = 0;
	int64_t off = 0;
	char *img;
	int r = -ENOMEM;

	if (n < 0 || (size_t)n > UINT32_MAX / 4)
		return -E2BIG;
	for (int i = 0; i < n; i++) {
		nbr += (size_t)unions[i]->nbranch;
		for (const char *m = unions[i]->mnt; *m; m++)
			prefixes += *m == '/';
	}
	tu = calloc((size_t)n + 1, sizeof(*tu));
	tb = calloc(nbr + 1, sizeof(*tb));
	if (!tu || !tb)
		goto out;
	/* records and strings */
	for (int i = 0, b0 = 0; i < n; i++) {
		const struct aufs_union *u = unions[i];
		struct tbl_union *t = &tu[i];

		off = pool_add(&pool, u->mnt, u->mnt_len, false);
		if (off < 0) {
			r = (int)off;
			goto out;
		}
		t->mnt = (uint32_t)off;
		t->mnt_len = (uint32_t)u->mnt_len;
		t->branch = (uint32_t)b0;
		t->nbranch = (uint32_t)u->nbranch;
		t->line = src && src->lines ? src->lines[i] : 0;
		if (u->opts.xino && *u->opts.xino) {
			off = pool_add(&pool, u->opts.xino, strlen(u->opts.xino), false);
			if (off < 0) {
				r = (int)off;
				goto out;
			}
			t->xino = (uint32_t)off + 1;
		}
		t->flags = u->opts.flags;
		t->udba = (uint32_t)u->opts.udba;
		t->create = (uint32_t)u->opts.create;
		t->create_sec = u->opts.create_sec;
		t->cpup = (uint32_t)u->opts.cpup;
		t->coo = (uint32_t)u->opts.coo;
		t->dirwh = u->opts.dirwh;
		t->create_low = u->opts.create_low;
		for (int b = 0; b < u->nbranch; b++, b0++) {
			const struct aufs_branch *br = &u->branch[b];

			off = pool_add(&pool, br->path, br->len, true);
			if (off < 0) {
				r = (int)off;
				goto out;
			}
			tb[b0] = (struct tbl_branch){ (uint32_t)off, (uint32_t)br->len, br->perm,
						      br->attr, (uint64_t)br->dev, (uint64_t)br->ino };
		}
	}
	if (src && src->fstab) {
		off = pool_add(&pool, src->fstab, strlen(src->fstab), false);
		if (off < 0) {
			r = (int)off;
			goto out;
		}
	}
	if (!pool.buf && pool_add(&pool, "/", 1, false) < 0)
		goto out;
	/* the mount index: every mount point and each of its ancestors */
	mask = slots_for(prefixes) - 1;
	ix = calloc((size_t)mask + 1, sizeof(*ix));
	brmask = slots_for(nbr) - 1;
	bx = calloc((size_t)brmask + 1, sizeof(*bx));
	if (!ix || !bx)
		goto out;
	for (int i = 0; i < n; i++) {
		const struct tbl_union *t = &tu[i];
		const char *m = pool.buf + t->mnt;
		uint64_t h = fnv1a(FNV_INIT, m, 1);
		struct tbl_slot *s;

		for (size_t k = 1, last = 1; k <= t->mnt_len; k++) {
			if (k > 1 && k < t->mnt_len && m[k] != '/')
				continue;
			if (k > 1 && k == last)
				continue;
			if (k > 1) {
				h = fnv1a(h, m + last, k - last);
				last = k;
			}
			s = slot_find(ix, mask, pool.buf, h, m, k);
			if (!s->len)
				*s = (struct tbl_slot){ h, t->mnt, (uint32_t)k, 0, 0, 0 };
			if (k == t->mnt_len)
				s->unionp1 = (uint32_t)i + 1;
			else
				s->flags |= TBL_ANCESTOR;
			if (k == 1 && t->mnt_len == 1)
				break;
		}
	}
	if (shrink_index(&ix, &mask) < 0)
		goto out;
	/* nested: a mount point with a union at one of its strict ancestors */
	for (int i = 0; i < n && !(flags & TBL_NESTED); i++) {
		const struct tbl_union *t = &tu[i];
		const char *m = pool.buf + t->mnt;
		uint64_t h = fnv1a(FNV_INIT, m, 1);

		if (t->mnt_len > 1 && slot_find(ix, mask, pool.buf, h, m, 1)->unionp1)
			flags |= TBL_NESTED;
		for (size_t k = 2, last = 1; k < t->mnt_len; k++) {
			if (m[k] != '/')
				continue;
			h = fnv1a(h, m + last, k - last);
			last = k;
			if (slot_find(ix, mask, pool.buf, h, m, k)->unionp1)
				flags |= TBL_NESTED;
		}
	}
	/* the branch index: a branch directory stands for one union, or for several */
	for (int i = 0; i < n; i++) {
		const struct tbl_union *t = &tu[i];

		for (uint32_t b = 0; b < t->nbranch; b++) {
			const struct tbl_branch *br = &tb[t->branch + b];
			const char *p = pool.buf + br->path;
			uint64_t h = fnv1a(FNV_INIT, p, 1);
			struct tbl_slot *s;

			for (size_t k = 2, last = 1; k <= br->len; k++) {
				if (k < br->len && p[k] != '/')
					continue;
				h = fnv1a(h, p + last, k - last);
				last = k;
			}
			s = slot_find(bx, brmask, pool.buf, h, p, br->len);
			if (!s->len)
				*s = (struct tbl_slot){ h, br->path, br->len, (uint32_t)i + 1, b, 0 };
			else if (s->unionp1 != (uint32_t)i + 1)
				s->unionp1 = TBL_NONE;
		}
	}
	if (shrink_index(&bx, &brmask) < 0)
		goto out;
	for (uint32_t i = 0; i <= mask; i++)
		ix[i].check = ix[i].len ? slot_check(&ix[i], pool.buf + ix[i].str) : TBL_EMPTY;
	for (uint32_t i = 0; i <= brmask; i++)
		bx[i].check = bx[i].len ? slot_check(&bx[i], pool.buf + bx[i].str) : TBL_EMPTY;
	for (int i = 0; i < n; i++)
		tu[i].check = union_check(&tu[i], &tb[tu[i].branch], pool.buf);
	/* one block: header, unions, branches, the two indexes, strings */
	{
		struct tbl_hdr *h;
		size_t o_u = TBL_HDR, o_b = o_u + (size_t)n * sizeof(*tu);
		size_t o_i = o_b + nbr * sizeof(*tb);
		size_t o_x = o_i + ((size_t)mask + 1) * sizeof(*ix);
		size_t o_s = o_x + ((size_t)brmask + 1) * sizeof(*bx);

		size = o_s + ((pool.len + 7) & ~(size_t)7);
		img = calloc(1, size);
		if (!img)
			goto out;
		memcpy(img + o_u, tu, (size_t)n * sizeof(*tu));
		memcpy(img + o_b, tb, nbr * sizeof(*tb));
		memcpy(img + o_i, ix, ((size_t)mask + 1) * sizeof(*ix));
		memcpy(img + o_x, bx, ((size_t)brmask + 1) * sizeof(*bx));
		memcpy(img + o_s, pool.buf, pool.len);
		h = (struct tbl_hdr *)img;
		memcpy(h->magic, TBL_MAGIC, sizeof(h->magic));
		h->version = TBL_VERSION;
		h->hdr_size = TBL_HDR;
		h->size = size;
		h->nunion = (uint32_t)n;
		h->nbranch = (uint32_t)nbr;
		h->mask = mask;
		h->brmask = brmask;
		h->flags = flags;
		h->off_union = o_u;
		h->off_branch = o_b;
		h->off_index = o_i;
		h->off_brindex = o_x;
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
			h->fstab = (uint32_t)off;
			h->fstab_len = (uint32_t)strlen(src->fstab);
		}
		h->body_sum = tbl_sum(img + TBL_HDR, size - TBL_HDR);
		h->hdr_sum = hdr_sum(h);
	}
	*ret = img;
	*ret_size = size;
	r = 0;
out:
	free(tu);
	free(tb);
	free(ix);
	free(bx);
	free(pool.buf);
	free(pool.seen);
	return r;
}

/* ---------------------------------------------------------------- checking */

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
	if (h->nunion > UINT32_MAX / 4 || h->mask >= UINT32_MAX / 2 || h->brmask >= UINT32_MAX / 2 ||
	    ((uint64_t)h->mask + 1) & h->mask || ((uint64_t)h->brmask + 1) & h->brmask ||
	    !in_image(h->off_union, (uint64_t)h->nunion * sizeof(struct tbl_union), size) ||
	    !in_image(h->off_branch, (uint64_t)h->nbranch * sizeof(struct tbl_branch), size) ||
	    !in_image(h->off_index, ((uint64_t)h->mask + 1) * sizeof(struct tbl_slot), size) ||
	    !in_image(h->off_brindex, ((uint64_t)h->brmask + 1) * sizeof(struct tbl_slot), size) ||
	    !in_image(h->off_str, h->len_str, size) || h->len_str == 0 ||
	    h->len_str > UINT32_MAX || (h->off_union | h->off_branch | h->off_index |
					h->off_brindex) & 7) {
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
		sp = slot_path(h, s);
		if (!sp || slot_check(s, sp) != s->check)
			break;
		if (s->hash == hash && s->len == len && memcmp(sp, p, len) == 0)
			return s;
	}
	*bad = true;
	return NULL;
}

/*
 * A check failed: the image was changed after it was written. Said once; the
 * configuration then counts as superseded, and the next call that may allocate
 * compiles the fstab again (aufs_table_rebuild()).
 */
static const _Atomic uint32_t always_superseded = 1;

static void table_corrupt(const struct aufs_config *cfg, const char *what)
{
	struct aufs_config *c = (struct aufs_config *)cfg;	/* its flags are ours to set */
	int expected = 0;

	if (cfg->table_kind != AUFS_TABLE_MAPPED || atomic_load(&c->retired) ||
	    !atomic_compare_exchange_strong(&c->corrupt, &expected, 1))
		return;
	c->superseded = &always_superseded;
	{
		char line[PATH_MAX + 128];
		int n = snprintf(line, sizeof(line), "aufs-preload: %s: corrupt (%s); compiling %s "
				 "again\n", cfg->image, what, cfg->fstab);

		if (n > 0)
			(void)sys_write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
}

bool aufs_table_nested(const struct aufs_config *cfg)
{
	const struct tbl_hdr *h = hdr_of(cfg);

	return h && (h->flags & TBL_NESTED);
}

int aufs_table_find(const struct aufs_config *cfg, uint64_t hash, const char *p, size_t len,
		    bool *ancestor)
{
	const struct tbl_hdr *h = hdr_of(cfg);
	const struct tbl_slot *s;
	bool bad = false;

	*ancestor = false;
	if (!h)
		return -2;
	s = index_find(h, h->off_index, h->mask, hash, p, len, &bad);
	if (bad)
		table_corrupt(cfg, "mount index");
	if (!s)
		return -2;
	*ancestor = s->flags & TBL_ANCESTOR;
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

/* Every string a union record names lies inside the strings, NUL-terminated. */
static bool union_strings_inside(const struct tbl_hdr *h, const struct tbl_union *t)
{
	const struct tbl_branch *br =
		(const struct tbl_branch *)((const char *)h + h->off_branch) + t->branch;

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
		bool ancestor;
		int id;

		if (!p->table || p->nunion <= 0)
			continue;
		/* the whole mount point hashed at once equals the index's extended hash */
		id = aufs_table_find(p, h, u->mnt, u->mnt_len, &ancestor);
		if (id < 0)
			continue;
		v = atomic_load_explicit(&p->unions[id], memory_order_acquire);
		if (!v)
			continue;	/* not used there: maybe in an older one */
		if (v->nbranch > 0 && v->branch[0].len == u->branch[0].len &&
		    !strcmp(v->branch[0].path, u->branch[0].path) &&
		    v->branch[0].dev == u->branch[0].dev && v->branch[0].ino == u->branch[0].ino &&
		    v->branch[0].perm == u->branch[0].perm &&
		    atomic_load_explicit(&v->shm_state, memory_order_relaxed) == 1) {
			atomic_store_explicit(&u->shm, atomic_load(&v->shm), memory_order_relaxed);
			atomic_store_explicit(&u->shm_state, 1, memory_order_relaxed);
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

struct aufs_union *aufs_table_make_union(const struct aufs_config *cfg, unsigned id)
{
	const struct tbl_hdr *h = hdr_of(cfg);
	const struct tbl_union *t;
	struct aufs_union *u, *expected = NULL;

	if (!h || id >= h->nunion || (int)id >= cfg->nunion)
		return NULL;
	t = (const struct tbl_union *)((const char *)h + h->off_union) + id;
	if (t->nbranch < 1 || t->nbranch > AUFS_BRANCH_MAX || t->branch > h->nbranch ||
	    t->nbranch > h->nbranch - t->branch || !union_strings_inside(h, t) ||
	    union_check(t, (const struct tbl_branch *)((const char *)h + h->off_branch) + t->branch,
			(const char *)h + h->off_str) != t->check) {
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
		const struct tbl_branch *tb =
			(const struct tbl_branch *)((const char *)h + h->off_branch) + t->branch + b;
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
	bool bad = false;
	uint64_t hash;
	int hit = -1;

	if (!h || len < 2 || real[0] != '/')
		return -ENOENT;
	hash = fnv1a(FNV_INIT, real, 1);
	for (size_t k = 2, last = 1; k <= len; k++) {
		const struct tbl_slot *s;

		if (k < len && real[k] != '/')
			continue;
		hash = fnv1a(hash, real + last, k - last);
		last = k;
		s = index_find(h, h->off_brindex, h->brmask, hash, real, k, &bad);
		if (bad) {
			table_corrupt(cfg, "branch index");
			return -ENOENT;
		}
		if (!s)
			continue;
		/* several branches hold it (a shared base, nested branches): ambiguous */
		if (hit >= 0 || s->unionp1 == TBL_NONE || !s->unionp1 || s->unionp1 > h->nunion)
			return -ENOENT;
		hit = (int)s->unionp1 - 1;
		*ret_brlen = k;
	}
	return hit >= 0 ? hit : -ENOENT;
}

/* ---------------------------------------------------------------- mapping an image */

/*
 * Map IMAGE read-only when it is trusted: a regular file of root or OWNER that no
 * one else may write, and whole. Returns 0 with *RET and *RET_SIZE, or -errno with
 * *WHY (static text).
 */
int table_map_image(const char *image, uid_t owner, const struct tbl_hdr **ret,
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

/* A configuration over a mapped image; from the arena, so that reload needs no malloc. */
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

