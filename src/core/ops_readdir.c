/* SPDX-License-Identifier: MIT */
/*
 * ops_readdir.c - the merged listing of a union directory.
 *
 * Every name once, the top-most entry wins; whiteouts (".wh.<name>", only in rw
 * and +wh branches) hide the name in every lower branch; the whiteout-prefixed
 * names themselves are never listed (unless shwh); lower branches below an
 * opaque copy or a non-directory are not read at all. The listing is read afresh
 * at opendir and rewinddir, so changes made directly to a branch show at the next
 * listing: the branches holding the parent (from the lookup cache) are opened in
 * order, and the opens and the listings themselves are the probe of the directory
 * (an opaque marker is a name in the listing), so a fresh listing costs no more
 * system calls than reading each copy once.
 */
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/statfs.h>

#include "internal.h"
#include "util_hash.h"

#define DIR_BUF 32768
/* the largest record getdents64 can return: a 255-byte name, aligned to 8 */
#define DIRENT_MAX ((offsetof(struct dirent64, d_name) + 256 + 7) & ~(size_t)7)

struct dent {
	uint64_t ino;
	uint32_t name_off;
	uint16_t name_len;
	uint8_t type;
	uint8_t hidden;			/* a whiteout's name: blocks lower branches, never listed */
};

struct aufs_dir {
	uint64_t magic;			/* AUFS_DIR_MAGIC: tells our DIR from glibc's */
	int fd;				/* what dirfd() returns; closed by closedir */
	int fd_branch;			/* branch of the copy fd is, when we opened it; or -1 */
	bool fd_read;			/* fill() read fd to its end: rewind it first next time */
	struct aufs_union *u;
	char *rel;			/* union-relative path, for rewinddir */
	size_t n, cap, pos;
	struct dent *ent;
	char *names;
	size_t names_len, names_cap;
	/* name -> index+1 of ent[], for de-duplication */
	uint32_t *set;
	uint32_t set_mask;
	union {
		struct dirent64 out;
		char out_space[offsetof(struct dirent64, d_name) + 256];
	};
};

/* Names hidden by whiteouts of the branches read so far. */
struct whset {
	char **name;
	size_t n, cap;
};

static uint64_t name_hash(const char *s, size_t n)
{
	return hash_fast(0, s, n);
}

static int set_grow(struct aufs_dir *d)
{
	uint32_t cap = d->set ? (d->set_mask + 1) * 2 : 256;
	uint32_t *set = calloc(cap, sizeof(*set));

	if (!set)
		return -ENOMEM;
	free(d->set);
	d->set = set;
	d->set_mask = cap - 1;
	for (size_t i = 0; i < d->n; i++) {
		const struct dent *e = &d->ent[i];
		uint32_t k = (uint32_t)name_hash(d->names + e->name_off, e->name_len) & d->set_mask;

		while (d->set[k])
			k = (k + 1) & d->set_mask;
		d->set[k] = (uint32_t)i + 1;
	}
	return 0;
}

/* Slot for NAME: returns true when already present. */
static bool set_find(const struct aufs_dir *d, const char *name, size_t len, uint32_t *slot)
{
	uint32_t k = (uint32_t)name_hash(name, len) & d->set_mask;

	for (;; k = (k + 1) & d->set_mask) {
		uint32_t v = d->set[k];

		if (!v) {
			*slot = k;
			return false;
		}
		if (d->ent[v - 1].name_len == len && !memcmp(d->names + d->ent[v - 1].name_off, name, len))
			return true;
	}
}

static int add(struct aufs_dir *d, const char *name, size_t len, uint64_t ino, unsigned type,
	       bool hidden)
{
	uint32_t slot;
	struct dent *e;

	if ((d->n + 1) * 2 > (size_t)d->set_mask + 1 || !d->set) {
		int r = set_grow(d);

		if (r < 0)
			return r;
	}
	if (set_find(d, name, len, &slot))
		return 0;	/* an upper branch already gave this name */
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct dent *ent = realloc(d->ent, cap * sizeof(*ent));

		if (!ent)
			return -ENOMEM;
		d->ent = ent;
		d->cap = cap;
	}
	if (d->names_len + len + 1 > d->names_cap) {
		size_t cap = d->names_cap ? d->names_cap * 2 : 4096;
		char *names;

		while (cap < d->names_len + len + 1)
			cap *= 2;
		names = realloc(d->names, cap);
		if (!names)
			return -ENOMEM;
		d->names = names;
		d->names_cap = cap;
	}
	e = &d->ent[d->n];
	e->ino = ino;
	e->type = (uint8_t)type;
	e->hidden = hidden;
	e->name_len = (uint16_t)len;
	e->name_off = (uint32_t)d->names_len;
	memcpy(d->names + d->names_len, name, len);
	d->names[d->names_len + len] = 0;
	d->names_len += len + 1;
	d->set[slot] = (uint32_t)++d->n;
	return 0;
}

static int wh_add(struct whset *w, const char *name)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		char **p = realloc(w->name, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		w->name = p;
		w->cap = cap;
	}
	w->name[w->n] = strdup(name);
	if (!w->name[w->n])
		return -ENOMEM;
	w->n++;
	return 0;
}

static void wh_release(struct whset *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->name[i]);
	free(w->name);
}

/*
 * Read one branch's copy of the directory, open as FD, into D; collect its
 * whiteouts into NEWWH and say whether it holds the opaque marker.
 */
/*
 * Whether a getdents64 on BR that returned less than its buffer could hold has read
 * the directory to its end. These file systems fill the buffer until the next entry
 * does not fit, so the empty read that would follow is skipped; others (network and
 * FUSE file systems may return short reads before the end) are read until it.
 * Asked once per branch and process (fstatfs of the first copy listed).
 */
static bool short_read_is_end(struct aufs_branch *br, int fd)
{
	signed char known = atomic_load_explicit(&br->short_read_is_end, memory_order_relaxed);
	struct statfs sf;

	if (known)
		return known > 0;
	known = -1;
	if (sys_fstatfs(fd, &sf) == 0) {
		switch ((unsigned long)sf.f_type) {
		case EXT4_SUPER_MAGIC:	/* also ext2 and ext3 */
		case TMPFS_MAGIC:
		case XFS_SUPER_MAGIC:
		case BTRFS_SUPER_MAGIC:
			known = 1;
			break;
		}
	}
	atomic_store_explicit(&br->short_read_is_end, known, memory_order_relaxed);
	return known > 0;
}

/*
 * An entry's d_ino as stat gives it (state_xino.c): the number of the object of
 * branch B. The root's ".." is the host's directory above the mount point, as the
 * kernel reads it.
 */
static uint64_t union_ino(struct aufs_dir *d, int b, const char *name, size_t len, uint64_t ino)
{
	if (len == 2 && name[0] == '.' && name[1] == '.' && !d->rel[0])
		return ino;
	return xino_number(d->u, b, (uint64_t)d->u->branch[b].dev, ino);
}

static int read_branch(struct aufs_dir *d, struct aufs_branch *br, int fd, bool first,
		       struct whset *newwh, bool *ret_opaque, char *buf)
{
	int b = (int)(br - d->u->branch);
	bool wh = branch_has_whiteouts(br), at_end = false;
	int r = 0;
	ssize_t got = 0;

	*ret_opaque = false;
	while (!at_end && (got = sys_getdents64(fd, buf, DIR_BUF)) > 0) {
		/* a read with room for one more entry was the last (see short_read_is_end) */
		at_end = DIR_BUF - (size_t)got >= DIRENT_MAX && short_read_is_end(br, fd);
		for (ssize_t off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			const char *name = de->d_name;
			size_t len = strlen(name);

			off += de->d_reclen;
			if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'))) {
				if (first)
					r = add(d, name, len, union_ino(d, b, name, len, de->d_ino), de->d_type,
				    false);
				if (r < 0)
					goto out;
				continue;
			}
			if (!strncmp(name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN)) {
				if (wh && !strcmp(name, AUFS_WH_OPQ))
					*ret_opaque = true;
				if (wh && len > AUFS_WH_PREFIX_LEN &&
				    strncmp(name + AUFS_WH_PREFIX_LEN, AUFS_WH_PREFIX,
					    AUFS_WH_PREFIX_LEN)) {
					r = wh_add(newwh, name + AUFS_WH_PREFIX_LEN);
					if (r < 0)
						goto out;
				}
				if (!name_is_hidden(d->u, name)) {
					r = add(d, name, len, union_ino(d, b, name, len, de->d_ino), de->d_type,
				    false);
					if (r < 0)
						goto out;
				}
				continue;
			}
			r = add(d, name, len, union_ino(d, b, name, len, de->d_ino), de->d_type,
				    false);
			if (r < 0)
				goto out;
		}
	}
	if (!at_end && got < 0)
		r = (int)got;
out:
	return r;
}

/* What this listing shows, the next lookup must find (udba=reval). */
static void forget_listed_misses(struct aufs_dir *d, char *buf)
{
	size_t rl = strlen(d->rel), off = rl ? rl + 1 : 0;

	if (rl + 2 > PATH_MAX)
		return;
	memcpy(buf, d->rel, rl);
	buf[rl] = '/';
	for (size_t i = 0; i < d->n; i++) {
		const struct dent *e = &d->ent[i];

		if (e->hidden || off + e->name_len + 1 > PATH_MAX)
			continue;
		memcpy(buf + off, d->names + e->name_off, e->name_len);
		lookup_forget_negative(d->u, buf, off + e->name_len);
	}
}

/*
 * Open branch B's copy of the directory (RELL bytes of d->rel) into *RET_FD:
 * 1 when it is a directory there, 0 when B has no such directory (*RET_STOP: and
 * nothing below shows through: a whiteout, or a non-directory that cuts the merge),
 * or -errno. The stream's own fd is reused for the copy it was opened on.
 */
static int open_copy(struct aufs_dir *d, int b, size_t rl, bool lower, int *ret_fd,
		     bool *ret_stop, char *real)
{
	const struct aufs_branch *br = &d->u->branch[b];
	size_t dl = rl;
	int fd, r;

	*ret_stop = false;
	if (b == d->fd_branch) {
		/* a fresh fd is at the start; one read before must go back there */
		if (d->fd_read && (r = (int)sys_lseek(d->fd, 0, SEEK_SET)) < 0)
			return r;
		*ret_fd = d->fd;
		return 1;
	}
	r = branch_path(br, d->rel, rl, real);
	if (r < 0)
		return r;
	fd = sys_openat(AT_FDCWD, real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd >= 0) {
		*ret_fd = fd;
		return 1;
	}
	if (fd == -ENOTDIR || fd == -ELOOP) {
		*ret_stop = true;	/* a non-directory (or a symlink) here hides all below */
		return 0;
	}
	if (fd != -ENOENT)
		return fd;
	if (!rl || !lower || !branch_has_whiteouts(br))
		return 0;
	/* not here: is it whited out here, for the branches below? */
	while (dl > 0 && d->rel[dl - 1] != '/')
		dl--;
	r = branch_path_name(br, d->rel, dl ? dl - 1 : 0, AUFS_WH_PREFIX, d->rel + dl, rl - dl,
			     real);
	if (r < 0)
		return r;
	{
		struct stat st;

		*ret_stop = sys_lstat(real, &st) == 0;
	}
	return 0;
}

/* The branches that hold the parent of d->rel: every branch for the root. */
static int parent_mask(struct aufs_dir *d, size_t rl, aufs_mask *ret, char *buf)
{
	size_t dl = rl;

	if (!rl) {
		*ret = d->u->nbranch >= 128 ? ~(aufs_mask)0 : MASK_BIT(d->u->nbranch) - 1;
		return 0;
	}
	while (dl > 0 && d->rel[dl - 1] != '/')
		dl--;
	dl = dl ? dl - 1 : 0;
	memcpy(buf, d->rel, dl);
	buf[dl] = 0;
	return lookup_dirmask(d->u, buf, ret);
}

static int fill(struct aufs_dir *d)
{
	struct whset newwh = { 0 };
	char real[PATH_MAX];
	size_t rl = strlen(d->rel);
	aufs_mask pmask;
	bool first = true;
	char *buf;
	int r;

	d->n = 0;
	d->pos = 0;
	d->names_len = 0;
	if (d->set)
		memset(d->set, 0, ((size_t)d->set_mask + 1) * sizeof(*d->set));
	r = parent_mask(d, rl, &pmask, real);
	if (r < 0)
		return r;
	buf = malloc(DIR_BUF);
	if (!buf)
		return -ENOMEM;
	for (int b = 0; b < d->u->nbranch && r >= 0; b++) {
		bool stop, opaque;
		int fd;

		if (!(pmask & MASK_BIT(b)))
			continue;
		r = open_copy(d, b, rl, (pmask >> (b + 1)) != 0, &fd, &stop, real);
		if (r == -EACCES && !first && (d->u->opts.flags & AUFS_OPT_DIRPERM1)) {
			/*
			 * dirperm1: the top-most copy decides, and aufs reads the others
			 * with its own rights. A process has only the caller's: a lower copy
			 * it may not read adds no names (nodirperm1 refuses the listing).
			 */
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		if (r == 0) {
			r = 0;
			if (stop)
				break;
			continue;
		}
		r = read_branch(d, &d->u->branch[b], fd, first, &newwh, &opaque, buf);
		/* the stream's own fd stays at the end, as after glibc's readdir */
		if (fd == d->fd)
			d->fd_read = true;
		else
			sys_close(fd);
		first = false;
		/* whiteouts of this branch hide names of the branches below it only */
		for (size_t i = 0; i < newwh.n && r >= 0; i++)
			r = add(d, newwh.name[i], strlen(newwh.name[i]), 0, DT_UNKNOWN, true);
		wh_release(&newwh);
		newwh = (struct whset){ 0 };
		if (opaque && rl)
			break;	/* nothing below an opaque copy shows through */
	}
	free(buf);
	if (r >= 0 && first)
		r = -ENOENT;	/* no copy left anywhere: removed behind the union's back */
	if (r >= 0)
		forget_listed_misses(d, real);
	return r < 0 ? r : 0;
}

static void dir_free(struct aufs_dir *d)
{
	free(d->rel);
	free(d->ent);
	free(d->names);
	free(d->set);
	free(d);
}

int aufs_dir_open(const struct aufs_loc *loc, int fd, struct aufs_dir **ret)
{
	struct aufs_dir *d;
	int r;

	if (loc->branch < 0)
		return -ENOENT;
	if (loc->type != DT_DIR)
		return -ENOTDIR;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->magic = AUFS_DIR_MAGIC;
	d->u = loc->u;
	d->rel = strdup(loc->virt + loc->rel);
	if (!d->rel) {
		r = -ENOMEM;
		goto out_free;
	}
	d->fd = fd;
	d->fd_branch = -1;
	if (fd < 0) {
		d->fd = sys_openat(AT_FDCWD, loc->real, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (d->fd < 0) {
			r = d->fd;
			goto out_free;
		}
		d->fd_branch = loc->branch;
	}
	r = fill(d);
	if (r < 0)
		goto out_close;
	*ret = d;
	return 0;
out_close:
	if (fd < 0)
		sys_close(d->fd);
out_free:
	dir_free(d);
	return r;
}

int aufs_opendir(int dirfd, const char *path, int fd, struct aufs_dir **ret, char *host)
{
	struct aufs_loc loc;
	int r, tries = 0;
	LONG_SCOPE();	/* opendir is hand-written; HOST is never a branch path */

again:
	r = aufs_resolve(dirfd, path, fd >= 0 ? AUFS_RESOLVE_EMPTY_PATH : 0, &loc);
	if (r == AUFS_PASS_HOST)
		memcpy(host, loc.real, strlen(loc.real) + 1);
	if (tries && r > 0)
		r = -ENOENT;	/* gone from the union as well */
	if (r)
		return r;
	r = aufs_dir_open(&loc, fd, ret);
	if ((r == -ENOENT || r == -ENOTDIR) && fd < 0 && !tries++ && aufs_loc_stale(&loc))
		goto again;	/* a cached directory removed behind the union's back */
	if (r == 0)
		aufs_fd_set(aufs_dir_fd(*ret), loc.virt);
	return r;
}

struct dirent64 *aufs_dir_read(struct aufs_dir *d)
{
	const struct dent *e;

	do {
		if (d->pos >= d->n)
			return NULL;
		e = &d->ent[d->pos++];
	} while (e->hidden);
	d->out.d_ino = e->ino;
	d->out.d_off = (off64_t)d->pos;
	d->out.d_type = e->type;
	d->out.d_reclen = (unsigned short)(offsetof(struct dirent64, d_name) + e->name_len + 1);
	memcpy(d->out.d_name, d->names + e->name_off, (size_t)e->name_len + 1);
	return &d->out;
}

long aufs_dir_tell(const struct aufs_dir *d)
{
	return (long)d->pos;
}

void aufs_dir_seek(struct aufs_dir *d, long pos)
{
	d->pos = pos < 0 ? 0 : (size_t)pos;
}

void aufs_dir_rewind(struct aufs_dir *d)
{
	LONG_SCOPE();

	/* POSIX: rewinddir also refreshes the listing. On failure keep the old one. */
	if (fill(d) < 0)
		d->pos = 0;
}

int aufs_dir_fd(const struct aufs_dir *d)
{
	return d->fd;
}

int aufs_dir_close(struct aufs_dir *d)
{
	int r = sys_close(d->fd);

	d->magic = 0;
	dir_free(d);
	return r;
}
