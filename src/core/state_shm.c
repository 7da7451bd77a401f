/* SPDX-License-Identifier: MIT */
/*
 * state_shm.c - the shared state of each union: generations and counters, one
 * view for every process of the union, whatever its user.
 *
 * nginx (www-data), the PHP pools (the tenant's user) and root's cron serve one
 * union: an upload or a deletion by one must be right in the next request of the
 * others. So every process of a union maps the same state, and a change made
 * through the union bumps generations there; caches compare a generation with the
 * one they cached, which is one atomic load.
 *
 * Where it is. A System V shared memory segment, named by a symbolic link in the
 * union's top writable branch: BRANCH/.wh..wh.aufs.shm.HASH -> "shmid:ID" (HASH:
 * FNV-1a of the mount point). Only root and whoever may write the branch root (its
 * owner, the tenant) can make or replace a name there, so no other user can squat
 * the name and deny the union its state, as anyone can in world-writable /dev/shm.
 * aufs keeps its own files in the branch root the same way (.wh..wh.aufs,
 * .wh..wh.plnk): the union never lists, copies up nor lets anyone create a .wh.
 * name. A segment rather than a file because other users map it: the owner of a
 * file can truncate it, and the next access of a process that maps it dies of
 * SIGBUS (a tenant could kill the nginx that serves every tenant); a segment
 * never changes size.
 *
 * Trust. A segment is used only if its owner and its creator are root or the
 * owner of the branch root, group and others may not write it, its size is
 * AUFS_SHM_SIZE and its header (magic, version, layout) is right; one that names
 * another mount point or branch is stale (the link outlived a reboot and the
 * number now names another union's segment). Anything else is refused, reported
 * with one line on stderr once per process, and never trusted: the union then
 * runs uncached in that process (correct, slower) and tries again every
 * AUFS_SHM_RETRY calls. The header is read once, here; afterwards a process reads
 * only the atomics at fixed offsets (internal.h), so a header rewritten later
 * cannot send anyone outside the mapping.
 *
 * Who writes. Root and the segment's owner or creator map it read-write; every
 * other user (www-data) maps it read-only and never writes it: a change such a
 * process makes through the union (it can, in a directory the tenant made
 * writable for it) empties only its own caches, and the other processes see it
 * as udba=reval lets them (aufs-preload(7), SHARED STATE).
 *
 * Making one. Only root or the branch owner makes a state, when the link is
 * missing, names no segment, or names a stale or refused one: under flock() of
 * the branch root (two processes never make two states of one union), a new
 * segment mode 0644, given to the branch owner when root makes it, filled, then
 * a link under a temporary name renamed over the old one. Nobody else can:
 * they run uncached until a process of root or the branch owner attaches.
 *
 * How long. A segment is marked for removal (IPC_RMID) as soon as its maker has
 * attached it: it lives while a process of the union maps it, and goes with the
 * last one, so the states of unions nobody runs any more do not pile up (a test
 * suite, a host whose tenants come and go). What goes with it is worth nothing
 * then: the generations only order the caches of processes that map it, the
 * counters start again. The link stays and names no segment; the next process
 * that may make one does (a process of another user runs uncached until then).
 *
 * A union without a writable branch cannot change through any process: each
 * process keeps a private state, never shared.
 *
 * No fd is kept open (programs close or dup2 over fds they do not know).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "internal.h"
#include "util_hash.h"

/* The offsets aufs-preload(7) documents (ON-DISK FORMAT) and tests/helper/shm-probe.c uses. */
_Static_assert(offsetof(struct aufs_shm, gen) == 32, "layout");
_Static_assert(offsetof(struct aufs_shm, counter) == 40, "layout");
_Static_assert(offsetof(struct aufs_shm, br_dev) == 168, "layout");
_Static_assert(offsetof(struct aufs_shm, br_ino) == 176, "layout");
_Static_assert(offsetof(struct aufs_shm, mnt) == 184, "layout");
_Static_assert(offsetof(struct aufs_shm, changes) == 184 + PATH_MAX, "layout");
_Static_assert(offsetof(struct aufs_shm, watch_owner) == 192 + PATH_MAX, "layout");
_Static_assert(offsetof(struct aufs_shm, watch_pid) == 196 + PATH_MAX, "layout");
_Static_assert(offsetof(struct aufs_shm, watch_dirs) == 200 + PATH_MAX, "layout");
_Static_assert(offsetof(struct aufs_shm, shc_offset) == 204 + PATH_MAX, "layout");
_Static_assert(offsetof(struct aufs_shm, shc_slots) == 208 + PATH_MAX, "layout");
_Static_assert(sizeof(struct aufs_shm) <= AUFS_SHM_HDR_SIZE, "layout");

static int top_writable(const struct aufs_union *u)
{
	for (int b = 0; b < u->nbranch; b++)
		if (u->branch[b].perm == AUFS_PERM_RW)
			return b;
	return -1;
}

/* What an attach learns about the branch that holds the link. */
struct where {
	const struct aufs_union *u;
	const char *root;		/* the top writable branch */
	struct stat st;			/* its root: owner, identity */
	char link[PATH_MAX];		/* ROOT/NAME */
	const char *name;		/* NAME, inside link[] */
	uid_t euid;
	bool may_make;			/* root, or the owner of the branch root */
};

static int link_path(const struct aufs_union *u, int b, char *buf, size_t size,
		     const char **name)
{
	uint64_t h = fnv1a(FNV_INIT, u->mnt, u->mnt_len);
	const char *root = u->branch[b].path;
	int n = snprintf(buf, size, "%s/" AUFS_SHM_LINK_PREFIX "%016llx",
			 strcmp(root, "/") ? root : "", (unsigned long long)h);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (name)
		*name = buf + n - (int)(sizeof(AUFS_SHM_LINK_PREFIX) - 1) - 16;
	return n;
}

int aufs_shm_path(const struct aufs_union *u, char *buf, size_t size)
{
	int b = top_writable(u);

	return b < 0 ? -EROFS : link_path(u, b, buf, size, NULL);
}

static int where_init(struct where *w, const struct aufs_union *u, int b)
{
	int r;

	w->u = u;
	w->root = u->branch[b].path;
	r = link_path(u, b, w->link, sizeof(w->link), &w->name);
	if (r < 0)
		return r;
	r = sys_stat(w->root, &w->st);
	if (r < 0)
		return r;
	w->euid = sys_geteuid();
	w->may_make = w->euid == 0 || w->euid == w->st.st_uid;
	return 0;
}

/* One line: MSG for the union of W, control characters (a newline in a path) made '?'. */
static int refuse(struct aufs_err *err, const struct where *w, int id, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	int n;

	if (!err)
		return -EUCLEAN;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	err->code = -EUCLEAN;
	if (id >= 0)
		n = snprintf(err->msg, sizeof(err->msg), "shared state of %s (segment %d, named by %s): %s",
			     w->u->mnt, id, w->link, why);
	else
		n = snprintf(err->msg, sizeof(err->msg), "shared state of %s (%s): %s", w->u->mnt,
			     w->link, why);
	for (int i = 0; i < n && err->msg[i]; i++)
		if ((unsigned char)err->msg[i] < 0x20 || err->msg[i] == 0x7f)
			err->msg[i] = '?';
	return -EUCLEAN;
}

/* The segment the link names: its ID, -ENOENT without a link, -EUCLEAN for garbage. */
static int read_link(const struct where *w, int *id, struct aufs_err *err)
{
	const size_t plen = sizeof(AUFS_SHM_LINK_TARGET) - 1;
	char t[32];
	ssize_t n = sys_readlinkat(AT_FDCWD, w->link, t, sizeof(t) - 1);
	long v = 0;

	if (n == -EINVAL)
		return refuse(err, w, -1, "not a symbolic link");
	if (n < 0)
		return (int)n;
	t[n] = 0;
	if ((size_t)n <= plen || (size_t)n >= sizeof(t) - 1 ||	/* empty, or maybe cut short */
	    memcmp(t, AUFS_SHM_LINK_TARGET, plen) != 0)
		return refuse(err, w, -1, "does not say " AUFS_SHM_LINK_TARGET "ID");
	for (const char *s = t + plen; *s; s++) {
		if (*s < '0' || *s > '9' || v > (0x7fffffffL - 9) / 10)
			return refuse(err, w, -1, "does not say " AUFS_SHM_LINK_TARGET "ID");
		v = v * 10 + (*s - '0');
	}
	*id = (int)v;
	return 0;
}

static bool trusted_uid(const struct where *w, uid_t uid)
{
	return uid == 0 || uid == w->st.st_uid;
}

/* The header of a segment that passed the kernel's checks; -ESTALE: another union's. */
static int validate(const struct aufs_shm *shm, const struct where *w, int id,
		    struct aufs_err *err)
{
	if (shm->magic != AUFS_SHM_MAGIC)
		return refuse(err, w, id, "bad magic number");
	if (shm->version != AUFS_SHM_VERSION)
		return refuse(err, w, id, "unsupported version %u", (unsigned)shm->version);
	if (shm->hdr_size != AUFS_SHM_HDR_SIZE || shm->ndirgen != AUFS_SHM_NDIRGEN ||
	    shm->size != AUFS_SHM_SIZE || shm->shc_offset != AUFS_SHC_OFFSET ||
	    shm->shc_slots != AUFS_SHC_SLOTS)
		return refuse(err, w, id, "bad layout");
	if (shm->br_dev != (uint64_t)w->st.st_dev || shm->br_ino != (uint64_t)w->st.st_ino ||
	    strncmp(shm->mnt, w->u->mnt, sizeof(shm->mnt)) != 0)
		return -ESTALE;
	return 0;
}

/*
 * Map segment ID if it may be trusted: read-write where this process may write
 * it, read-only otherwise. -ENOENT: no such segment (the link is stale).
 */
static int map_segment_as(const struct where *w, int id, bool read_only, uintptr_t *ret,
			  struct aufs_err *err)
{
	struct shmid_ds ds;
	uid_t uid, cuid;
	bool rw;
	void *p;
	int r;

	r = sys_shmctl(id, IPC_STAT, &ds);
	if (r == -EINVAL || r == -EIDRM)
		return -ENOENT;
	if (r == -EACCES)
		return refuse(err, w, id, "not readable by uid %u", (unsigned)w->euid);
	if (r < 0)
		return r;
	uid = ds.shm_perm.uid;
	cuid = ds.shm_perm.cuid;
	if (!trusted_uid(w, uid) || !trusted_uid(w, cuid))
		return refuse(err, w, id,
			      "owned by uid %u, made by uid %u: only root or the branch owner "
			      "(uid %u) may own it",
			      (unsigned)uid, (unsigned)cuid, (unsigned)w->st.st_uid);
	if (ds.shm_perm.mode & 022)
		return refuse(err, w, id, "group or others may write it (mode %04o)",
			      (unsigned)(ds.shm_perm.mode & 0777));
	if (ds.shm_segsz != AUFS_SHM_SIZE)
		return refuse(err, w, id, "%zu bytes, not %d", (size_t)ds.shm_segsz,
			      AUFS_SHM_SIZE);
	rw = !read_only &&
	     (w->euid == 0 || ((w->euid == uid || w->euid == cuid) && (ds.shm_perm.mode & 0200)));
	p = sys_shmat(id, rw ? 0 : SHM_RDONLY);
	if (sys_mmap_failed(p))
		return (int)(long)p;
	r = validate(p, w, id, err);
	if (r < 0) {
		(void)sys_shmdt(p);
		return r;
	}
	/* a state made before states went with their last process: from now on it does */
	if (rw && !(ds.shm_perm.mode & SHM_DEST))
		(void)sys_shmctl(id, IPC_RMID, NULL);
	*ret = (uintptr_t)p | (rw ? 0 : AUFS_SHM_RDONLY);
	return 0;
}

static int map_segment(const struct where *w, int id, uintptr_t *ret, struct aufs_err *err)
{
	return map_segment_as(w, id, false, ret, err);
}

static int find(const struct where *w, uintptr_t *ret, struct aufs_err *err)
{
	int id = -1, r;

	r = read_link(w, &id, err);
	return r < 0 ? r : map_segment(w, id, ret, err);
}

static void fill(struct aufs_shm *shm, const struct aufs_union *u, const struct stat *st)
{
	shm->version = AUFS_SHM_VERSION;
	shm->hdr_size = AUFS_SHM_HDR_SIZE;
	shm->size = AUFS_SHM_SIZE;
	shm->owner = st ? (uint32_t)st->st_uid : (uint32_t)sys_geteuid();
	shm->ndirgen = AUFS_SHM_NDIRGEN;
	shm->shc_offset = AUFS_SHC_OFFSET;
	shm->shc_slots = AUFS_SHC_SLOTS;
	shm->br_dev = st ? (uint64_t)st->st_dev : 0;
	shm->br_ino = st ? (uint64_t)st->st_ino : 0;
	atomic_store(&shm->gen, 1);
	snprintf(shm->mnt, sizeof(shm->mnt), "%s", u->mnt);
	atomic_thread_fence(memory_order_release);
	shm->magic = AUFS_SHM_MAGIC;
}

/* A new state for the union of W, published by its link (root or the branch owner only). */
static int make(const struct where *w, uintptr_t *ret)
{
	char tmp[64], target[32];
	void *p = NULL;
	int dfd, id = -1, r;

	dfd = sys_openat(AT_FDCWD, w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return dfd;
	r = sys_flock(dfd, LOCK_EX);
	if (r < 0)
		goto out;
	/* whoever held the lock before may have made it */
	r = find(w, ret, NULL);
	if (r != -ENOENT && r != -ESTALE && r != -EUCLEAN)
		goto out;
	id = sys_shmget(IPC_PRIVATE, AUFS_SHM_SIZE, IPC_CREAT | IPC_EXCL | 0644);
	if (id < 0) {
		r = id;
		goto out;
	}
	p = sys_shmat(id, 0);
	if (sys_mmap_failed(p)) {
		r = (int)(long)p;
		p = NULL;
		goto out_remove;
	}
	/*
	 * Gone when its last process detaches (Linux attaches a segment so marked by
	 * its ID until then): the states of unions nobody runs any more never pile up,
	 * and one abandoned half-made here goes with this process.
	 */
	r = sys_shmctl(id, IPC_RMID, NULL);
	if (r < 0)
		goto out_remove;
	if (w->euid == 0 && w->st.st_uid != 0) {
		/* the branch owner's processes write it too */
		struct shmid_ds ds;

		r = sys_shmctl(id, IPC_STAT, &ds);
		if (r == 0) {
			ds.shm_perm.uid = w->st.st_uid;
			ds.shm_perm.gid = w->st.st_gid;
			r = sys_shmctl(id, IPC_SET, &ds);
		}
		if (r < 0)
			goto out_remove;
	}
	fill(p, w->u, &w->st);
	snprintf(target, sizeof(target), AUFS_SHM_LINK_TARGET "%d", id);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", w->name, (int)sys_getpid());
	r = sys_symlinkat(target, dfd, tmp);
	if (r == -EEXIST) {
		/* left by a process of this number that died here */
		(void)sys_unlinkat(dfd, tmp, 0);
		r = sys_symlinkat(target, dfd, tmp);
	}
	if (r < 0)
		goto out_remove;
	r = sys_renameat2(dfd, tmp, dfd, w->name, 0);
	if (r < 0) {
		(void)sys_unlinkat(dfd, tmp, 0);
		goto out_remove;
	}
	*ret = (uintptr_t)p;
	goto out;
out_remove:
	if (p)
		(void)sys_shmdt(p);
	(void)sys_shmctl(id, IPC_RMID, NULL);	/* nobody else has it: gone at once */
out:
	sys_close(dfd);	/* and the lock with it */
	return r;
}

/* The state of a union without a writable branch: nothing changes through it. */
static int make_private(const struct aufs_union *u, uintptr_t *ret)
{
	void *p = sys_mmap(NULL, AUFS_SHM_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (sys_mmap_failed(p))
		return (int)(long)p;
	fill(p, u, NULL);
	*ret = (uintptr_t)p;
	return 0;
}

static void unmap(const struct aufs_union *u, uintptr_t v)
{
	void *p = (void *)(v & ~AUFS_SHM_RDONLY);

	if (top_writable(u) < 0)
		(void)sys_munmap(p, AUFS_SHM_SIZE);
	else
		(void)sys_shmdt(p);
}

static int attach(struct aufs_union *u, uintptr_t *ret, struct aufs_err *err)
{
	struct aufs_err why = { 0 };
	struct where w;
	int b = top_writable(u), r;

	if (b < 0)
		return make_private(u, ret);
	r = where_init(&w, u, b);
	if (r < 0)
		return r;
	r = find(&w, ret, &why);
	if (r == 0 || !w.may_make || (r != -ENOENT && r != -ESTALE && r != -EUCLEAN)) {
		if (r == -EUCLEAN && err) {
			*err = why;
			strncat(err->msg, "; not trusted: the union runs uncached in this process",
				sizeof(err->msg) - strlen(err->msg) - 1);
		}
		return r;
	}
	r = make(&w, ret);
	if (why.code && err) {
		*err = why;
		strncat(err->msg, r == 0 ? "; not trusted: replaced by a new state"
					 : "; not trusted: the union runs uncached in this process",
			sizeof(err->msg) - strlen(err->msg) - 1);
	}
	return r;
}

int aufs_shm_attach(struct aufs_union *u, struct aufs_err *err)
{
	uintptr_t v = 0, expected = 0;
	int r = attach(u, &v, err);

	if (r < 0)
		return r;
	if (!atomic_compare_exchange_strong(&u->shm, &expected, v))
		unmap(u, v);	/* another thread attached first */
	return 0;
}

/* Refusals are told once per process: one line on stderr, never more. */
static void report_once(const struct aufs_err *err)
{
	static _Atomic bool reported;

	aufs_say(&reported, "%s", err->msg);
}

static __attribute__((noinline)) struct aufs_shm *attach_lazily(struct aufs_union *u)
{
	struct aufs_err err = { 0 };
	int r;

	/* after a failure, again every AUFS_SHM_RETRY calls: the owner may have made it since */
	if (atomic_load_explicit(&u->shm_state, memory_order_relaxed) < 0 &&
	    (atomic_fetch_add_explicit(&u->shm_tries, 1, memory_order_relaxed) + 1) %
			    AUFS_SHM_RETRY != 0)
		return NULL;
	state_roots_hold(u);	/* its link is in the top branch: never a replacement's */
	r = aufs_shm_attach(u, &err);
	if (err.code == -EUCLEAN)
		report_once(&err);
	atomic_store_explicit(&u->shm_state, r < 0 ? r : 1, memory_order_relaxed);
	if (r < 0)
		return NULL;
	if (u->opts.udba == AUFS_UDBA_INOTIFY && shm_writable(u))
		aufs_watch_start(u);
	return (struct aufs_shm *)(atomic_load_explicit(&u->shm, memory_order_acquire) &
				   ~AUFS_SHM_RDONLY);
}

struct aufs_shm *aufs_union_shm(struct aufs_union *u)
{
	uintptr_t v = atomic_load_explicit(&u->shm, memory_order_acquire);

	if (v)
		return (struct aufs_shm *)(v & ~AUFS_SHM_RDONLY);
	/* Without shared state the union still works, only uncached. */
	return attach_lazily(u);
}

/* ---------------------------------------------------------------- invalidation */

/*
 * Changes made through the union bump generations in the union's shared state,
 * which every process of it checks before trusting a cached lookup. A process
 * that cannot write it (no state, or mapped read-only) can tell only itself: its
 * caches are emptied.
 *
 * Every bump is followed by one of shm->changes: a reader that loads changes
 * first and finds it as it was when it last checked an answer's buckets may
 * skip them; one that finds it moved checks them, and a bump it could miss
 * there moved changes after, so its next call looks again.
 */
static struct aufs_shm *writable_now(struct aufs_union *u)
{
	(void)aufs_union_shm(u);	/* attach if it was not yet */
	return shm_writable(u);
}

/*
 * What this thread's own bumps did, per bucket. 16,384 buckets are shared by
 * every name of the union, so a bump for one name also makes stale what the
 * thread cached of every name that shares the bucket: a rename in a directory of
 * 1,000 cached files looked one of them up again every 25 renames. A step of a
 * bucket made by this thread for a path other than an entry's leaves that entry
 * true (shm_steps_own()). Per bucket the table keeps the run of generations
 * [from, to) that the thread's bumps made with nobody else's in between, and the
 * paths they were for; another's bump in between starts a new run. On the heap,
 * grown as the thread writes in more buckets, up to OWN_MAX: then new buckets are
 * not recorded and their entries are looked up again, as without the table.
 */
#define OWN_PATHS 3
#define OWN_MIN   256u		/* slots, powers of two, half of them used at most */
#define OWN_MAX   4096u
struct own_run {
	const struct aufs_shm *shm;	/* NULL: a free slot */
	uint32_t bucket, from, to;
	uint32_t npaths;		/* > OWN_PATHS: more than it can tell apart */
	uint64_t path[OWN_PATHS];	/* shm_path_key() of each */
};
struct own_runs {
	uint32_t mask, count;
	struct own_run slot[];
};
static __thread struct own_runs *own;
static __thread bool own_noalloc;	/* a vfork child: its parent's heap */
/* set while the thread reads or writes the table: a signal handler's call keeps off */
static __thread volatile bool own_busy;

static struct own_run *own_slot(const struct own_runs *t, const struct aufs_shm *shm,
				uint32_t bucket)
{
	uint32_t i = (uint32_t)(((uintptr_t)shm >> 6) * 0x9e3779b1u + bucket * 0x85ebca6bu);

	for (;; i++) {
		struct own_run *r = (struct own_run *)&t->slot[i & t->mask];

		if (!r->shm || (r->shm == shm && r->bucket == bucket))
			return r;
	}
}

/* The table with twice the slots (the first: OWN_MIN), its runs moved in; false: none. */
static bool own_grow(void)
{
	uint32_t n = own ? (own->mask + 1) * 2 : OWN_MIN;
	struct own_runs *t;

	if (own_noalloc || n > OWN_MAX)
		return false;
	t = calloc(1, sizeof(*t) + n * sizeof(t->slot[0]));
	if (!t)
		return false;
	t->mask = n - 1;
	for (uint32_t i = 0; own && i <= own->mask; i++) {
		if (own->slot[i].shm) {
			*own_slot(t, own->slot[i].shm, own->slot[i].bucket) = own->slot[i];
			t->count++;
		}
	}
	free(own);
	own = t;
	return true;
}

/* Is KEY among the paths of run R? */
static bool run_has(const struct own_run *r, uint64_t key)
{
	for (uint32_t i = 0; i < r->npaths && i < OWN_PATHS; i++)
		if (r->path[i] == key)
			return true;
	return false;
}

static void own_note(const struct aufs_shm *shm, uint32_t bucket, uint32_t before, uint64_t path)
{
	struct own_run *r;

	if (!own && !own_grow())
		return;
	r = own_slot(own, shm, bucket);
	if (!r->shm && own->count >= (own->mask + 1) / 2) {
		if (!own_grow())
			return;	/* full: this bucket's entries are stale as without the table */
		r = own_slot(own, shm, bucket);
	}
	if (!r->shm) {
		r->shm = shm;
		r->bucket = bucket;
		own->count++;
	} else if (r->to == before) {
		r->to = before + 1;	/* the run goes on */
		if (run_has(r, path))
			return;
		if (r->npaths < OWN_PATHS)
			r->path[r->npaths] = path;
		r->npaths++;
		return;
	}
	r->from = before;
	r->to = before + 1;
	r->npaths = 1;
	r->path[0] = path;
}

uint64_t shm_path_key(const char *rel, size_t len)
{
	return hash_fast(0x5bd1e9955bd1e995ull, rel, len) + len;
}

static void bump_own(struct aufs_shm *shm, uint32_t bucket, const char *rel, size_t len)
{
	uint32_t before = atomic_fetch_add_explicit(&shm_dirgen(shm)[bucket], 1,
						    memory_order_seq_cst);

	if (!own_busy) {
		own_busy = true;
		atomic_signal_fence(memory_order_seq_cst);
		own_note(shm, bucket, before, shm_path_key(rel, len));
		atomic_signal_fence(memory_order_seq_cst);
		own_busy = false;
	}
	atomic_fetch_add_explicit(&shm->changes, 1, memory_order_seq_cst);
}

bool shm_steps_own(const struct aufs_shm *shm, uint32_t bucket, uint32_t from, uint32_t to,
		   const char *rel, size_t len, size_t plen)
{
	const struct own_run *r;
	bool mine;

	if (own_busy || !own)
		return false;
	own_busy = true;
	atomic_signal_fence(memory_order_seq_cst);
	r = own_slot(own, shm, bucket);
	/* FROM in the run, TO its end: every step since FROM is the thread's */
	mine = r->shm && r->to == to && to - from <= r->to - r->from && r->npaths <= OWN_PATHS;
	/* the entry's own path first: mostly the bump was for it, and then one hash says so */
	mine = mine && !run_has(r, shm_path_key(rel, len)) && !run_has(r, shm_path_key(rel, plen));
	atomic_signal_fence(memory_order_seq_cst);
	own_busy = false;
	return mine;
}

void shm_own_noalloc(bool on)
{
	own_noalloc = on;
}

void shm_own_release(void)
{
	if (own_busy)
		return;
	free(own);
	own = NULL;
}

void aufs_dir_changed(struct aufs_union *u, const char *rel, size_t len)
{
	struct aufs_shm *shm = writable_now(u);

	if (shm) {
		bump_own(shm, shm_bucket(rel, len), rel, len);
	} else {
		shcache_local_change(u);
		aufs_state_local_change();
	}
}

void lookup_dir_gained_branch(struct aufs_union *u, const char *rel, size_t len)
{
	struct aufs_shm *shm = writable_now(u);

	aufs_dir_changed(u, rel, len);	/* its names were probed without that branch */
	if (shm)
		bump_own(shm, shm_bucket_self(rel, len), rel, len);
}

void lookup_name_changed(struct aufs_union *u, const char *rel, size_t len)
{
	struct aufs_shm *shm = writable_now(u);

	if (shm) {
		bump_own(shm, shm_bucket_self(rel, len), rel, len);
	} else {
		shcache_local_change(u);
		aufs_state_local_change();
	}
}

void aufs_union_changed(struct aufs_union *u)
{
	struct aufs_shm *shm = writable_now(u);

	if (shm) {
		atomic_fetch_add_explicit(&shm->gen, 1, memory_order_seq_cst);
		atomic_fetch_add_explicit(&shm->changes, 1, memory_order_seq_cst);
	} else {
		shcache_local_change(u);
		aufs_state_local_change();
	}
}

/* ---------------------------------------------------------------- administration (aufsctl) */

int aufs_shm_status(const struct aufs_union *u, struct aufs_shm_status *ret,
		    struct aufs_err *err)
{
	const struct aufs_shm *shm;
	struct shmid_ds ds;
	struct where w;
	uintptr_t v = 0;
	int b = top_writable(u), id = -1, r;

	if (b < 0)
		return -EROFS;
	r = where_init(&w, u, b);
	if (r < 0)
		return r;
	r = read_link(&w, &id, err);
	if (r < 0)
		return r;
	/* read-only whoever asks: looking never writes it, even as root */
	r = map_segment_as(&w, id, true, &v, err);
	if (r < 0)
		return r;
	shm = (const struct aufs_shm *)(v & ~AUFS_SHM_RDONLY);
	memset(ret, 0, sizeof(*ret));
	ret->id = id;
	ret->owner = w.st.st_uid;
	ret->gen = atomic_load(&shm->gen);
	ret->changes = atomic_load(&shm->changes);
	ret->lookups = atomic_load(&shm->counter[AUFS_CNT_LOOKUPS]);
	ret->copyups = atomic_load(&shm->counter[AUFS_CNT_COPYUPS]);
	ret->whiteouts = atomic_load(&shm->counter[AUFS_CNT_WHITEOUTS]);
	ret->shared_entries = shcache_count(shm);
	ret->shared_slots = AUFS_SHC_SLOTS;
	(void)sys_shmdt((void *)shm);
	/* after the detach: the count is of the union's processes, not of this one */
	r = sys_shmctl(id, IPC_STAT, &ds);
	if (r < 0)
		return r == -EINVAL || r == -EIDRM ? -ENOENT : r;
	ret->uid = ds.shm_perm.uid;
	ret->cuid = ds.shm_perm.cuid;
	ret->mode = ds.shm_perm.mode & 0777;
	ret->nattch = (unsigned long)ds.shm_nattch;
	ret->may_write = w.euid == 0 || ((w.euid == ds.shm_perm.uid || w.euid == ds.shm_perm.cuid) &&
					 (ds.shm_perm.mode & 0200));
	return 0;
}

int aufs_shm_reval(struct aufs_union *u, const char *rel, size_t len, struct aufs_err *err)
{
	uintptr_t v = 0, expected = 0;
	struct where w;
	int b = top_writable(u), r;

	if (b < 0)
		return -EROFS;
	r = where_init(&w, u, b);
	if (r < 0)
		return r;
	/* the state the union's processes map, never a new one: nobody would have it */
	r = find(&w, &v, err);
	if (r < 0)
		return r;
	if (v & AUFS_SHM_RDONLY) {
		(void)sys_shmdt((void *)(v & ~AUFS_SHM_RDONLY));
		if (err) {
			err->code = -EPERM;
			snprintf(err->msg, sizeof(err->msg),
				 "shared state of %s: only root or the owner of %s (uid %u) may "
				 "write it, not uid %u",
				 u->mnt, w.root, (unsigned)w.st.st_uid, (unsigned)w.euid);
		}
		return -EPERM;
	}
	if (!atomic_compare_exchange_strong(&u->shm, &expected, v))
		unmap(u, v);	/* attached already: bump through that mapping */
	atomic_store_explicit(&u->shm_state, 1, memory_order_relaxed);
	/* exactly what a change through the union does */
	if (rel)
		lookup_dir_gained_branch(u, rel, len);
	else
		aufs_union_changed(u);
	return 0;
}
