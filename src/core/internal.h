/* SPDX-License-Identifier: MIT */
/*
 * internal.h - declarations shared between the files of src/core/, one section
 * per implementing file (the fs/overlayfs/overlayfs.h model). Nothing here is
 * part of the contract with the preload shims; that is include/aufs/core.h.
 */
#ifndef AUFS_INTERNAL_H
#define AUFS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "aufs/core.h"
#include "aufs/sys.h"

typedef unsigned __int128 aufs_mask;
#define MASK_BIT(b) ((aufs_mask)1 << (b))

/* The lowest branch of a non-empty mask: the top-most one. */
static inline int mask_lowest_bit(aufs_mask m)
{
	uint64_t lo = (uint64_t)m;

	if (lo)
		return __builtin_ctzll(lo);
	return 64 + __builtin_ctzll((uint64_t)(m >> 64));
}

static inline uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n--)
		h = (h ^ *s++) * 0x100000001b3ULL;
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

static inline bool branch_has_whiteouts(const struct aufs_branch *br)
{
	return br->perm == AUFS_PERM_RW || (br->attr & AUFS_BRATTR_WH);
}

/*
 * The longest name the union creates: its whiteout (the prefix and the name)
 * must fit in a branch's NAME_MAX. statfs and pathconf report it (aufs_name_max).
 */
#define AUFS_NAME_MAX (NAME_MAX - AUFS_WH_PREFIX_LEN)

/* Is NAME a name the union never shows (the whiteout prefix), given U's options? */
static inline bool name_is_hidden(const struct aufs_union *u, const char *name)
{
	return !(u->opts.flags & AUFS_OPT_SHWH) &&
	       strncmp(name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN) == 0;
}

/* ---------------------------------------------------------------- util_path.c */

/*
 * Lexically append the components of SRC to the absolute path in BUF (length
 * *LEN): "." dropped, ".." pops, "//" collapsed. Returns 0 or -ENAMETOOLONG.
 */
int path_append_lexical(char *buf, size_t *len, size_t size, const char *src);
bool path_has_dotdot(const char *p);

/*
 * Build BRANCH/REL (REL may be empty) into BUF (PATH_MAX). A path that does not
 * fit is named through a branch directory's descriptor (util_long.c) inside a
 * call's scope, and is -ENAMETOOLONG outside one.
 */
int branch_path(const struct aufs_branch *br, const char *rel, size_t len, char *buf);
/*
 * Build BRANCH/DIR/PFX NAME (NLEN bytes of NAME) into BUF (PATH_MAX): a whiteout
 * ".wh.NAME", the opaque marker or a copy-up temporary. As branch_path().
 */
int branch_path_name(const struct aufs_branch *br, const char *dir, size_t dlen,
		     const char *pfx, const char *name, size_t nlen, char *buf);

/* ---------------------------------------------------------------- util_say.c */

/*
 * One line "aufs-preload: FMT..." on stderr, cut to fit; with ONCE, only the first
 * time *ONCE is seen false in this process (it is set).
 */
__attribute__((format(printf, 2, 3))) void aufs_say(_Atomic bool *once, const char *fmt, ...);

/* ---------------------------------------------------------------- mutate_beneath.c */

/*
 * Writes into a branch, each through a descriptor of the object's parent (or of
 * the object) opened from the start of REAL without following any symlink:
 * -ELOOP when a directory on the way was swapped for one. REAL is a real path
 * the resolver built (branch_path()); the calls mirror the plain system calls,
 * never following a last symlink (chown and utimensat act on a symlink itself).
 */
int beneath_open(const char *real, int flags, mode_t mode);
/* The same for REAL that branch_path() built for BR (a PATH_MAX buffer): from its root. */
int beneath_open_in(const struct aufs_branch *br, const char *real, int flags, mode_t mode);

/*
 * A verb that makes several writes in one directory (a rename: copy-up,
 * whiteout, rename) opens a scope: the directories opened for it stay open until
 * the scope ends, so each is opened once. A signal handler's call opens its own.
 */
#define BENEATH_SCOPE_DIRS 2
#define BENEATH_SCOPE_PATH 1024	/* a longer directory is opened each time */
struct beneath_scope {
	struct beneath_scope *outer;
	uintptr_t mark;			/* its address, marked: a live scope */
	unsigned n;
	int fd[BENEATH_SCOPE_DIRS];
	uint16_t len[BENEATH_SCOPE_DIRS];
	char dir[BENEATH_SCOPE_DIRS][BENEATH_SCOPE_PATH];
};
extern __thread struct beneath_scope *beneath_scope_cur;	/* the running verb's */
struct beneath_scope *beneath_scope_begin(struct beneath_scope *s);
void beneath_scope_end(struct beneath_scope **sp);
int beneath_scope_settle(int fd, int oflags);
#define BENEATH_SCOPE()                                                             \
	struct beneath_scope beneath_scope_;                                        \
	__attribute__((cleanup(beneath_scope_end))) struct beneath_scope *beneath_scope_p_ = \
		beneath_scope_begin(&beneath_scope_)
/*
 * Open REAL (O_CREAT) in its parent, which the scope then holds for what follows.
 * The library's own descriptors (a copy-up's): at the soft RLIMIT_NOFILE, the
 * soft limit is raised for the open where the hard one allows, and put back.
 */
int beneath_create_in(const char *real, int flags, mode_t mode);
int beneath_open_spare(const char *real, int flags, mode_t mode);
int beneath_unlinkat(const char *real, int flags);
int beneath_mkdirat(const char *real, mode_t mode);
int beneath_mknodat(const char *real, mode_t mode, dev_t dev);
int beneath_symlinkat(const char *target, const char *real);
/* FLAGS as renameat2's, with BENEATH_NOT_DIRS when neither name is a directory. */
#define BENEATH_NOT_DIRS (1u << 31)
int beneath_renameat2(const char *from, const char *to, unsigned flags);
int beneath_linkat(const char *from, const char *to);
/* A link to a file outside every branch (OLDDIR, OLD, FLAGS as linkat's) at TO. */
int beneath_link_into(int olddir, const char *old, int flags, const char *to);
int beneath_fchownat(const char *real, uid_t uid, gid_t gid);
int beneath_utimensat(const char *real, const struct timespec ts[2]);
/* These follow nothing either: a last component that is a symlink is -ELOOP
 * (but for the xattr calls' NOFOLLOW, which act on the symlink). */
int beneath_fchmodat(const char *real, mode_t mode);
int beneath_truncate(const char *real, off_t len);
int beneath_setxattr(const char *real, const char *name, const void *value, size_t size,
		     int flags, bool nofollow);
int beneath_removexattr(const char *real, const char *name, bool nofollow);
/* For tests: whether writes in directories only the caller can change skip the descriptors. */
void beneath_set_closed(bool on);

/* ---------------------------------------------------------------- util_scratch.c */

/*
 * A block of N bytes for the length of one verb (a rename's locations, a
 * copy-up's paths), kept by the thread between verbs; scratch_put() gives it
 * back. NULL when out of memory.
 */
void *scratch_get(size_t n);
void scratch_put(void *p);

/* ---------------------------------------------------------------- util_env.c */

enum aufs_env_dir { AUFS_ENV_TABLE_DIR, AUFS_ENV_XINO_DIR, AUFS_ENV_DIRS };
/*
 * AUFS_TABLE_DIR or AUFS_XINO_DIR as the process started with them (see
 * aufs_env_capture() in core.h), or as the environment says now when nothing
 * captured them; NULL when unset or empty.
 */
const char *aufs_env_dir(enum aufs_env_dir which);

/* ---------------------------------------------------------------- util_root.c */

/*
 * Hold the root of each of U's branches as a descriptor (once per union object
 * and process; a thread that finds another adding leaves it for a later call).
 * Never in a vfork child.
 */
void aufs_roots_hold(struct aufs_union *u);
/*
 * Is P[0..LEN) (absolute, no trailing slash) a held root itself? A call below it
 * is made relative to its descriptor: what is above it cannot redirect the call.
 */
bool aufs_root_held_path(const char *p, size_t len);
/*
 * BR's root descriptor in this process: AT_FDCWD when none is held (the real
 * path is used as it is), AUFS_ROOT_STALE when the path is not the branch any more.
 * Inline: the hot verbs ask it for every call.
 */
extern _Atomic int aufs_root_fds[];
static inline int aufs_root_fd(const struct aufs_branch *br)
{
	int s = atomic_load_explicit(&br->root, memory_order_relaxed);

	return s ? atomic_load_explicit(&aufs_root_fds[s - 1], memory_order_relaxed) : AT_FDCWD;
}

/*
 * REAL (a path that branch_path() built for BR, in a PATH_MAX buffer) as a
 * descriptor and a relative path for an *at call: the root's descriptor and the
 * rest ("." for the root), or AT_FDCWD and REAL itself when no root is held (or
 * REAL is util_long.c's /proc form); -ESTALE for a stale root.
 */
static inline int root_at(const struct aufs_branch *br, const char *real, const char **rel)
{
	int fd = aufs_root_fd(br);
	size_t n = br->len;
	bool same;

	*rel = real;
	if (fd == AT_FDCWD)
		return fd;
	if (fd == AUFS_ROOT_STALE)
		return -ESTALE;
	if (real[n] != '/' && real[n] != 0)
		return AT_FDCWD;
	if (n >= 16) {
		/* branch_path() wrote BR's path there: its two ends tell it from the /proc form */
		uint64_t a0, a1, b0, b1;

		memcpy(&a0, real, 8);
		memcpy(&a1, real + n - 8, 8);
		memcpy(&b0, br->path, 8);
		memcpy(&b1, br->path + n - 8, 8);
		same = a0 == b0 && a1 == b1;
	} else {
		same = memcmp(real, br->path, n) == 0;
	}
	if (!same)
		return AT_FDCWD;
	*rel = real[n] ? real + n + 1 : ".";
	return fd;
}

/* ---------------------------------------------------------------- util_long.c */

/*
 * BRANCH/A[0..ALEN) (then "/" PFX NAME, NLEN bytes, when NAME is not NULL), too
 * long for PATH_MAX, as "/proc/thread-self/fd/N/REST" into BUF: N an O_PATH descriptor
 * of the branch root or of a directory below it, open until the scope of the
 * call ends. -ENAMETOOLONG outside a scope, without /proc, or when REST cannot
 * fit; the -errno of an open that failed for want of resources.
 */
int long_path(const struct aufs_branch *br, const char *a, size_t alen, const char *pfx,
	      const char *name, size_t nlen, char *buf);
/* Descriptors the running scopes of this thread hold (tests). */
unsigned long_open_count(void);

static inline void long_scope_end(char *scope)
{
	(void)scope;
	aufs_call_end();
}
/*
 * A verb that finishes its work itself (what it returns names no real path) and
 * may be called without the generated prologue's scope: its long real paths are
 * released when it returns, whichever return it takes.
 */
#define LONG_SCOPE() \
	__attribute__((cleanup(long_scope_end))) char long_scope_ = (aufs_call_begin(), 0)

/* ---------------------------------------------------------------- state_shm.c */

#define AUFS_SHM_MAGIC    0x31666d6873667561ULL	/* "aufshmf1" */
#define AUFS_SHM_VERSION  3
#define AUFS_SHM_HDR_SIZE 8192
#define AUFS_SHM_NDIRGEN  16384			/* power of two */
/*
 * udba=none's shared lookup cache (state_shcache.c): AUFS_SHC_SLOTS slots of
 * AUFS_SHC_WORDS words from AUFS_SHC_OFFSET, after the dirgen[] buckets. The
 * pages of a union that does not use it are never touched (never allocated).
 */
#define AUFS_SHC_OFFSET   (128 * 1024)
#define AUFS_SHC_SLOTS    16384			/* power of two */
#define AUFS_SHC_WAYS     4			/* slots a name may take: one set */
#define AUFS_SHC_WORDS    12			/* 96 bytes a slot */
#define AUFS_SHM_SIZE     (AUFS_SHC_OFFSET + AUFS_SHC_SLOTS * AUFS_SHC_WORDS * 8)
/* The pointer to a union's state, in its top writable branch: PREFIX + 16 hex digits. */
#define AUFS_SHM_LINK_PREFIX ".wh..wh.aufs.shm."
/* What the pointer says: "shmid:" and the System V identifier in decimal. */
#define AUFS_SHM_LINK_TARGET "shmid:"
/* An unattached union tries again every this many calls (a power of two). */
#define AUFS_SHM_RETRY    256

enum aufs_shm_counter {
	AUFS_CNT_LOOKUPS = 0,		/* lookups that probed branches */
	AUFS_CNT_COPYUPS,
	AUFS_CNT_WHITEOUTS,
	AUFS_CNT_CREATE_RR,		/* create=rr: the round-robin cursor, shared */
	AUFS_CNT_MAX = 16,
};

/*
 * The shared state of one union: a System V segment named by a link in the
 * union's top writable branch (state_shm.c says why). A versioned record of
 * offsets, never pointers: every process maps it at its own address. Fields are
 * only ever grown at the end of the reserved areas. Only magic, version, the
 * layout, the branch and the mount point are read by a process, once, when it
 * attaches; afterwards only the atomics at the fixed offsets below, so that an
 * owner who rewrites the header later cannot make another user's process read
 * outside the mapping.
 */
struct aufs_shm {
	uint64_t magic;			/* AUFS_SHM_MAGIC */
	uint32_t version;		/* AUFS_SHM_VERSION */
	uint32_t hdr_size;		/* AUFS_SHM_HDR_SIZE: where dirgen[] starts */
	uint64_t size;			/* size of the whole segment */
	uint32_t owner;			/* owner of the branch root when made (informative) */
	uint32_t ndirgen;		/* entries in dirgen[] (power of two) */
	_Atomic uint64_t gen;		/* bumped by remount, reval and directory renames */
	_Atomic uint64_t counter[AUFS_CNT_MAX];	/* statistics for aufsctl status */
	uint64_t br_dev;		/* st_dev and st_ino of the top writable branch */
	uint64_t br_ino;
	char mnt[PATH_MAX];		/* the mount point this state belongs to */
	/*
	 * bumped after every bump of gen or of a dirgen[] bucket: a cached answer
	 * checked while it stood still needs no look at its buckets (resolve_cache.c)
	 */
	_Atomic uint64_t changes;
	/*
	 * udba=inotify (state_watch.c): the lock of the union's one watcher, a PI futex
	 * holding its thread id (the kernel tells a waiter when that thread is gone);
	 * then, informative only (aufsctl, tests), the watcher's process id once its
	 * watches are in place (0 while none) and how many directories it watches.
	 */
	_Atomic uint32_t watch_owner;
	_Atomic uint32_t watch_pid;
	_Atomic uint32_t watch_dirs;
	/* where udba=none's shared lookup cache is and how many slots: checked at attach */
	uint32_t shc_offset;		/* AUFS_SHC_OFFSET */
	uint32_t shc_slots;		/* AUFS_SHC_SLOTS */
	/* reserved up to hdr_size for the branch table of live remount (later) */
};

/* The mapping of U's shared state, attaching on first use; NULL when unavailable. */
struct aufs_shm *aufs_union_shm(struct aufs_union *u);

/*
 * The same, if this process may write it (root, or the owner of the union's top
 * writable branch); NULL when it is mapped read-only or unavailable. Every write
 * into the shared state goes through this: a read-only mapping is never written.
 */
static inline struct aufs_shm *shm_writable(const struct aufs_union *u)
{
	uintptr_t v = atomic_load_explicit(&u->shm, memory_order_acquire);

	return (v & AUFS_SHM_RDONLY) ? NULL : (struct aufs_shm *)v;
}

/* The mapping of U's shared state if it is attached, for reading only; else NULL. */
static inline struct aufs_shm *shm_mapped(const struct aufs_union *u)
{
	return (struct aufs_shm *)(atomic_load_explicit(&u->shm, memory_order_acquire) &
				   ~(uintptr_t)AUFS_SHM_RDONLY);
}

/* Count one event of kind C in U's shared statistics (nothing when read-only). */
static inline void shm_count(const struct aufs_union *u, enum aufs_shm_counter c)
{
	struct aufs_shm *shm = shm_writable(u);

	if (shm)
		atomic_fetch_add_explicit(&shm->counter[c], 1, memory_order_relaxed);
}

/* The per-directory generations: at the fixed offset the attach checked, never hdr_size. */
static inline _Atomic uint32_t *shm_dirgen(struct aufs_shm *shm)
{
	return (_Atomic uint32_t *)((char *)shm + AUFS_SHM_HDR_SIZE);
}

/* Bucket of the per-directory generation for union-relative directory REL. */
static inline uint32_t shm_bucket(const char *rel, size_t len)
{
	return (uint32_t)(fnv1a(FNV_INIT, rel, len) & (AUFS_SHM_NDIRGEN - 1));
}

/*
 * Bucket of the generation of directory REL itself (its branches, its opaque
 * marker): hashed as REL + "/", a name no directory has, so that names coming and
 * going inside REL leave the directory's own cached state alone.
 */
static inline uint32_t shm_bucket_self(const char *rel, size_t len)
{
	return (uint32_t)(fnv1a(fnv1a(FNV_INIT, rel, len), "/", 1) & (AUFS_SHM_NDIRGEN - 1));
}

/* ---------------------------------------------------------------- state_shcache.c */

/*
 * One entry of udba=none's shared lookup cache: what a probe found for one
 * union-relative path (struct node's cacheable part) and the generations it
 * was found under, checked by resolve_cache.c as its own entries' are.
 */
struct shc_entry {
	uint64_t gen;			/* shm->gen */
	uint32_t pgen, sgen;		/* the parent's and its own dirgen[] buckets */
	uint64_t until;			/* expiry (resolve_cache.c's clock), or never */
	int branch;			/* -1: missing */
	int cut;			/* missing: the branch whose whiteout hides it, or -1 */
	unsigned type;			/* DT_* */
	bool alone, restricted;
	uint8_t diflags;		/* struct dinfo */
	uint16_t dimode;
	uint32_t diuid, digid;
	aufs_mask mask;
};

/*
 * May this process use U's shared lookup cache (udba=none, the state attached,
 * no change of its own that it could not announce)? SHM: the mapping.
 */
bool shcache_usable(const struct aufs_union *u, const struct aufs_shm *shm);
/*
 * The entry of REL[0..LEN) of U in SHM, whole and in U's bounds, into *E: true.
 * Its generations are the caller's to check. Never writes.
 */
bool shcache_get(const struct aufs_shm *shm, const struct aufs_union *u, const char *rel,
		 size_t len, struct shc_entry *e);
/* How many slots of SHM's shared lookup cache hold an entry (aufsctl status). */
unsigned shcache_count(const struct aufs_shm *shm);
/* Publish E for REL[0..LEN) of U, if this process may write U's state. */
void shcache_put(const struct aufs_union *u, const char *rel, size_t len,
		 const struct shc_entry *e);
/*
 * U changed through this process without the shared state knowing (it maps it
 * read-only): the shared cache may hide the change from it, so it stops using it.
 */
void shcache_local_change(struct aufs_union *u);
/* ---------------------------------------------------------------- state_fd.c */

/*
 * FD was opened through U on branch B (aufs_fd_mark_union(), and where); U is
 * a union of the configuration whose serial is SERIAL (struct aufs_loc).
 */
void fd_mark_union_at(int fd, const struct aufs_union *u, int b, uint64_t serial, bool lower);
/* The union and branch FD was opened on, when recorded under CFG; else NULL. */
struct aufs_union *fd_union_at(int fd, const struct aufs_config *cfg, int *ret_branch);

/* ---------------------------------------------------------------- state_xino.c */

#define AUFS_XINO_MAGIC     0x316f6e6978736661ULL	/* "afsxino1" */
#define AUFS_XINO_VERSION   1
#define AUFS_XINO_HDR_SIZE  8192
#define AUFS_XINO_NSLOT     (1u << 16)		/* power of two */
#define AUFS_XINO_SLOT_SIZE 32
#define AUFS_XINO_SIZE      (AUFS_XINO_HDR_SIZE + (size_t)AUFS_XINO_NSLOT * AUFS_XINO_SLOT_SIZE)
/* Slots a key may be looked for in from its hash on: past them the table is full for it. */
#define AUFS_XINO_PROBE     32
/* Times a writer looks again at slots that changed under it before it gives up. */
#define AUFS_XINO_ROUNDS    8
/* A union inode number: the branch index above this bit, the real number below. */
#define AUFS_XINO_BRANCH_SHIFT 56
/* An unattached union tries again every this many calls (a power of two). */
#define AUFS_XINO_RETRY     256

enum aufs_xino_counter {
	AUFS_XINO_CNT_ENTRIES = 0,	/* slots taken */
	AUFS_XINO_CNT_RECORDS,		/* numbers recorded (copy-ups that kept theirs) */
	AUFS_XINO_CNT_FULL,		/* records refused: no free slot among AUFS_XINO_PROBE */
	AUFS_XINO_CNT_PLINKS,		/* pseudo-links made (state_plink.c) */
	AUFS_XINO_CNT_PLINK_GATE,	/* non-zero while a pseudo-link may be live */
	AUFS_XINO_CNT_PLINK_FLUSHED,	/* names made real hard links by aufsctl flush */
	AUFS_XINO_CNT_PLINK_CLEANED,	/* pseudo-links dropped by clean_plink */
	AUFS_XINO_CNT_FREED,		/* slots given back (tombstones made: truncation, frees) */
	AUFS_XINO_CNT_MAX = 8,
};

/*
 * The header of a union's xino file (state_xino.c says why and how). As the
 * shared state, it is read once, when a process maps it; afterwards only the
 * fixed offsets below.
 */
struct aufs_xino {
	uint64_t magic;			/* AUFS_XINO_MAGIC */
	uint32_t version;		/* AUFS_XINO_VERSION */
	uint32_t hdr_size;		/* AUFS_XINO_HDR_SIZE: where the slots start */
	uint64_t size;			/* AUFS_XINO_SIZE */
	uint32_t nslot;			/* AUFS_XINO_NSLOT */
	uint32_t slot_size;		/* AUFS_XINO_SLOT_SIZE */
	uint32_t owner;			/* owner of the branch root when made (informative) */
	uint32_t pad;
	uint64_t br_dev;		/* st_dev and st_ino of the top writable branch */
	uint64_t br_ino;
	_Atomic uint64_t generation;	/* 1 when made (informative) */
	_Atomic uint64_t counter[AUFS_XINO_CNT_MAX];
	char mnt[PATH_MAX];		/* the mount point this table belongs to */
};

/*
 * One translation: the real (dev, ino) of an object in a writable branch (both 0:
 * never used; set together by a 16-byte compare-and-swap) and the union number
 * it keeps (0: not yet written, as if absent; AUFS_XINO_DEAD: being freed or
 * given back). GEN and NUM are also changed together, by a 16-byte
 * compare-and-swap: GEN is odd while the key changes (a free, a reuse) and goes
 * up at each change, so a writer that read the key at another GEN cannot write
 * its number, and a reader sees a key and its number of one time
 * (state_xino.c says why each race is safe).
 */
struct aufs_xino_slot {
	uint64_t ino;
	uint64_t dev;			/* AUFS_XINO_TOMB_DEV: a given-back slot */
	_Atomic uint64_t num;
	_Atomic uint64_t gen;		/* 0 in a never-used slot (formerly spare) */
} __attribute__((aligned(16)));

/* The dev of a tombstone key: no real device (nor AUFS_PLINK_DEV) has it. */
#define AUFS_XINO_TOMB_DEV (UINT64_MAX - 1)
/* The number of a slot being freed or given back: no union number has bit 63. */
#define AUFS_XINO_DEAD UINT64_MAX

/* The union's st_dev: one virtual device per union, no real device's number. */
uint64_t xino_dev_slow(struct aufs_union *u);
static inline uint64_t xino_dev(struct aufs_union *u)
{
	uint64_t v = atomic_load_explicit(&u->vdev, memory_order_relaxed);

	return __builtin_expect(v != 0, 1) ? v : xino_dev_slow(u);
}

/* The number composed of branch B and real number INO (folded above 56 bits). */
static inline uint64_t xino_compose(int b, uint64_t ino)
{
	const uint64_t mask = (1ULL << AUFS_XINO_BRANCH_SHIFT) - 1;

	if (__builtin_expect(ino > mask, 0))
		ino = (ino ^ (ino >> AUFS_XINO_BRANCH_SHIFT) * 0x9e3779b97f4a7c15ULL) & mask;
	return (uint64_t)b << AUFS_XINO_BRANCH_SHIFT | ino;
}

/* The first slot (DEV, INO) is looked for in. */
static inline uint32_t xino_slot_of(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev << 32 | dev >> 32)) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(h >> 32) & (AUFS_XINO_NSLOT - 1);
}

/* The slots: at the fixed offset the map checked, never hdr_size. */
static inline struct aufs_xino_slot *xino_slots(const struct aufs_xino *x)
{
	return (struct aufs_xino_slot *)((char *)x + AUFS_XINO_HDR_SIZE);
}

/*
 * The live entry of slot S: its key and number read at one even GEN (a seqlock's
 * read side; nothing written), false when the slot is changing, dead, a
 * tombstone or never used. *INO is set in every case: 0 only for a never-used
 * slot, where a chain ends.
 */
static inline bool xino_slot_read(const struct aufs_xino_slot *s, uint64_t *dev, uint64_t *ino,
				  uint64_t *num)
{
	uint64_t g = atomic_load_explicit(&s->gen, memory_order_acquire);

	*ino = __atomic_load_n(&s->ino, __ATOMIC_ACQUIRE);
	if (*ino == 0)
		return false;	/* never used (the usual probe of a stat): a key is never cleared */
	*dev = __atomic_load_n(&s->dev, __ATOMIC_ACQUIRE);
	*num = atomic_load_explicit(&s->num, memory_order_acquire);
	atomic_thread_fence(memory_order_acquire);
	return !(g & 1) && atomic_load_explicit(&s->gen, memory_order_relaxed) == g &&
	       *dev != AUFS_XINO_TOMB_DEV && *num != AUFS_XINO_DEAD;
}

/* The number recorded for (DEV, INO) in X, 0 when none. */
static inline uint64_t xino_lookup(const struct aufs_xino *x, uint64_t dev, uint64_t ino)
{
	struct aufs_xino_slot *s = xino_slots(x);
	uint32_t i = xino_slot_of(dev, ino);

	for (int n = 0; n < AUFS_XINO_PROBE; n++, i = (i + 1) & (AUFS_XINO_NSLOT - 1)) {
		uint64_t d, k, v;

		if (xino_slot_read(&s[i], &d, &k, &v)) {
			if (k == ino && d == dev)
				return v;	/* the first live one: later copies are shadowed */
		} else if (k == 0) {
			return 0;	/* never used: keys are only put at a chain's end */
		}
		/* a tombstone or a slot changing: the key may be further on */
	}
	return 0;
}

/* U's table, mapping it first (NULL: none, or noxino, or not trusted: composed numbers). */
const struct aufs_xino *xino_attach_lazily(struct aufs_union *u);

/*
 * The union inode number of the object of branch B whose real numbers are DEV and
 * INO: the number a copy-up kept for it, else composed of B and INO. No system
 * call once the table is mapped (a hash probe in it). Copies are made in writable
 * branches only: another branch's objects are originals, and not looked up.
 */
static inline uint64_t xino_number(struct aufs_union *u, int b, uint64_t dev, uint64_t ino)
{
	if (u->branch[b].perm == AUFS_PERM_RW) {
		uintptr_t v = atomic_load_explicit(&u->xino, memory_order_acquire);
		const struct aufs_xino *x = __builtin_expect(v != 0, 1)
			? (const struct aufs_xino *)(v & ~AUFS_SHM_RDONLY)
			: xino_attach_lazily(u);
		uint64_t kept = x ? xino_lookup(x, dev, ino) : 0;

		if (kept)
			return kept;
	}
	return xino_compose(b, ino);
}
/* Give the union's numbers to an lstat of the object of branch B. */
static inline void xino_stat(struct aufs_union *u, int b, struct stat *st)
{
	st->st_ino = (ino_t)xino_number(u, b, (uint64_t)st->st_dev, (uint64_t)st->st_ino);
	st->st_dev = (dev_t)xino_dev(u);
}
/*
 * A copy-up of the object SRC_ST of branch SRC made the object (DEV, INO) in a
 * writable branch: it keeps the source's union number. 0, or -errno (no table,
 * read-only, -ENOSPC when full: the copy then has a number of its own).
 */
int xino_copied(struct aufs_union *u, int src, const struct stat *src_st, uint64_t dev,
		uint64_t ino);
/* A copy recorded by xino_copied() was not published (another's was): its entry goes. */
void xino_forget(struct aufs_union *u, uint64_t dev, uint64_t ino);
/* Would xino_copied() record a copy of SRC_ST (worth the stat of the copy)? */
bool xino_keeps(struct aufs_union *u, const struct stat *src_st);
/* Record (DEV, INO) -> NUM in the table mapped at X (tests). */
int xino_record(struct aufs_xino *x, uint64_t dev, uint64_t ino, uint64_t num);
/* The same, counted as WHAT (a number kept, a pseudo-link made). */
int xino_record_as(struct aufs_xino *x, uint64_t dev, uint64_t ino, uint64_t num,
		   enum aufs_xino_counter what);
/* (DEV, INO) is absent from X again (its key stays, with number 0). */
void xino_unrecord(struct aufs_xino *x, uint64_t dev, uint64_t ino);
/* (DEV, INO)'s slot is given back (a tombstone a record may take again). */
void xino_free(struct aufs_xino *x, uint64_t dev, uint64_t ino);
/*
 * Truncation: every entry for which GONE(dev, ino, num, arg) is true (NUM 0 for
 * an entry without a number) becomes a tombstone, and so do dead entries (a free
 * a killed process left half done) and entries a live one with the same key
 * shadows. How many were freed.
 */
uint64_t xino_truncate(struct aufs_xino *x,
		       bool (*gone)(uint64_t dev, uint64_t ino, uint64_t num, void *arg), void *arg);
/* How many keys of device DEV X holds with a number (aufsctl status). */
uint64_t xino_count_dev(const struct aufs_xino *x, uint64_t dev);
/* The table of U if mapped writable (tests), else NULL. */
struct aufs_xino *xino_writable(struct aufs_union *u);

/* ---------------------------------------------------------------- state_plink.c */

/* The device of the table's pseudo-link keys: no real device has it. */
#define AUFS_PLINK_DEV UINT64_MAX

/* plink, and a table to keep pseudo-links in (not noxino)? */
bool plink_enabled(const struct aufs_union *u);
/* U's table of inode numbers, mapping it first (NULL: none). */
const struct aufs_xino *plink_table(struct aufs_union *u);
/* The writable branch holding the copy of pseudo-link NUM in X, or -1: none, or out of bounds. */
int plink_branch(const struct aufs_union *u, const struct aufs_xino *x, uint64_t num);
/* Record pseudo-link NUM -> branch T in X, then open the gate. 0 or -ENOSPC. */
int plink_set(struct aufs_xino *x, uint64_t num, int t);
/* Pseudo-link NUM is absent from X (the gate stays: plink_close_gate()). */
void plink_clear(struct aufs_xino *x, uint64_t num);
/* The live pseudo-links of X, the first MAX into OUT; how many there are. */
int plink_scan(const struct aufs_xino *x, struct aufs_plink *out, size_t max);
/* Close X's gate if no pseudo-link is live, unless one was made meanwhile. */
void plink_close_gate(struct aufs_xino *x);
/* BRANCH T/.wh..wh.plnk/NUM into BUF (PATH_MAX), as branch_path_name(). */
int plink_path(const struct aufs_union *u, int t, uint64_t num, char *buf);

/* ---------------------------------------------------------------- mutate_plink.c */

/*
 * A copy-up of SRC_ST (branch SRC) into branch T wrote its copy at TMP, not yet
 * published (*FD: the copy's descriptor, or -1): a file of several names becomes
 * (or joins) the pseudo-link of its number. When another name's copy was made
 * first, TMP is made another name of that copy, and *FD (of ours) is closed, -1.
 */
void plink_copied(struct aufs_union *u, int src, const struct stat *src_st, int t,
		  const char *tmp, int *fd);

/* ---------------------------------------------------------------- state_watch.c */

/*
 * U has udba=inotify and this process maps its shared state read-write: start
 * the thread that waits to be the union's watcher (once per union and process;
 * again in a fork child). Never in a vfork child (it allocates).
 */
void aufs_watch_start(struct aufs_union *u);

/* ---------------------------------------------------------------- state_creds.c */

#define AUFS_CREDS_NGROUPS 64

/* The caller's credentials, as the kernel last said (a per-thread copy). */
struct aufs_creds {
	uint64_t gen;			/* the generation it was read in; 0: never */
	uid_t euid;
	gid_t egid;
	int ngroups;			/* -1: more than AUFS_CREDS_NGROUPS, ask each time */
	gid_t groups[AUFS_CREDS_NGROUPS];
};

const struct aufs_creds *creds_get(void);
/* Is GID the effective or a supplementary group of the caller? */
bool creds_in_group(gid_t gid);
/*
 * Do ST's mode bits grant MASK (R_OK|W_OK|X_OK) to the caller's effective ids
 * (REAL: its real ids, as access(2) without AT_EACCESS)? The kernel's verdict
 * where the kernel cannot give it: a copy on a read-only mount, which the union
 * writes by copying it up. Ignores ACLs.
 */
bool creds_mode_allows(const struct stat *st, int mask, bool real);
/* getpid(), once per process. */
pid_t creds_pid(void);
/* The process umask (from /proc/self/status once, then as the umask() shim says), or -1. */
int creds_umask(void);

/* ---------------------------------------------------------------- state_mount.c */

/*
 * The union path of host path REAL when it lies in a branch of exactly one union
 * (a branch shared by several unions is ambiguous: -ENOENT). OUT: PATH_MAX bytes.
 */
int aufs_real_to_virtual(const struct aufs_config *cfg, const char *real, char *out);

/*
 * A counter bumped by every publish and every change this process cannot tell
 * other processes about (no shared state): per-thread caches made under another
 * epoch are emptied before use.
 */
uint64_t aufs_state_epoch(void);
void aufs_state_local_change(void);
/* May this thread call malloc now (false in a vfork child)? */
bool aufs_state_may_allocate(void);
/*
 * Hold U's branch roots (util_root.c) before anything of it is reached by path:
 * the first lookup in it, the attach of its shared state or xino table. Once per
 * union and process; never in a vfork child, whose descriptors are not its parent's.
 */
static inline void state_roots_hold(struct aufs_union *u)
{
	if (__builtin_expect(!atomic_load_explicit(&u->roots_held, memory_order_relaxed), 0) &&
	    aufs_state_may_allocate())
		aufs_roots_hold(u);
}

/* ---------------------------------------------------------------- state_shm.c: invalidation */

/* Every cached lookup of U is stale (a directory moved, a remount). */
void aufs_union_changed(struct aufs_union *u);
/*
 * Directory REL of U gained a branch (a copy-up made it there): its own cached
 * state and what was probed inside it are stale, in every process of U.
 */
void lookup_dir_gained_branch(struct aufs_union *u, const char *rel, size_t len);
/*
 * What is cached about the name REL of U itself is stale (a copy-up moved it to
 * another branch), in every process of U; its directory's names are unchanged.
 */
void lookup_name_changed(struct aufs_union *u, const char *rel, size_t len);
/*
 * Did the dirgen[] bucket BUCKET of SHM move from FROM to TO only by this thread's
 * own bumps, none of them for the path REL[0..LEN) nor its directory REL[0..PLEN)?
 * Then what the entry of REL cached at FROM still holds.
 */
bool shm_steps_own(const struct aufs_shm *shm, uint32_t bucket, uint32_t from, uint32_t to,
		   const char *rel, size_t len, size_t plen);
/* The key shm_steps_own() tells union-relative paths apart by (hash_fast() of the path). */
uint64_t shm_path_key(const char *rel, size_t len);
/* The table behind it may not allocate (a vfork child), or goes (the thread ends). */
void shm_own_noalloc(bool on);
void shm_own_release(void);

/* ---------------------------------------------------------------- state_table.c */

/*
 * The union of CFG's table whose mount point is P[0..LEN) (HASH: its FNV-1a,
 * extended by component): its index, -1 when P is only an ancestor of mount points
 * (or names no valid union), -2 when P is neither. *ANCESTOR: P is a strict
 * ancestor of some mount point.
 */
int aufs_table_find(const struct aufs_config *cfg, uint64_t hash, const char *p, size_t len,
		    bool *ancestor, uint32_t *rec, bool *leaves);
bool aufs_table_nested(const struct aufs_config *cfg);
/*
 * Make union ID of CFG's image (once, whichever thread wins), whose record is at
 * REC of the heap (aufs_table_find()'s answer) or, with UINT32_MAX, wherever the
 * table of records says. NULL if corrupt.
 */
struct aufs_union *aufs_table_make_union(const struct aufs_config *cfg, unsigned id,
					 uint32_t rec);
/*
 * The one union whose branch directory holds real path REAL (LEN bytes), with
 * *RET_BRLEN the branch's length; -ENOENT when none or several.
 */
int aufs_table_real_to_union(const struct aufs_config *cfg, const char *real, size_t len,
			     size_t *ret_brlen);
/* Never-freed memory from raw mappings: safe in a vfork child. */
void *aufs_table_alloc(size_t n);
/* The word a newer image's writer sets in CFG's image, or NULL (not mapped). */
const _Atomic uint32_t *aufs_table_superseded(const struct aufs_config *cfg);
/* A configuration of the image now at OLD's path, or NULL (kept: try again later). */
struct aufs_config *aufs_table_follow(const struct aufs_config *old);
void aufs_table_unmap(struct aufs_config *cfg);
/* How many damaged reads this thread has met (a lookup compares before and after). */
unsigned aufs_table_bad_reads(void);
/* OLD was replaced by a newer configuration: its image is unmapped a while later. */
void aufs_table_retire(const struct aufs_config *old);

/* ---------------------------------------------------------------- state_fd.c */

/*
 * The virtual path of directory fd FD into BUF (PATH_MAX bytes), as
 * aufs_fd_get(); an fd the table does not know (inherited, opened before the
 * library started) is asked of the kernel, and the answer kept when REMEMBER
 * (false in a vfork child: keeping it allocates).
 */
int aufs_fd_resolve(const struct aufs_config *cfg, int fd, char *buf, bool remember);

/* ---------------------------------------------------------------- resolve_walk.c */

enum aufs_loc_flags {
	AUFS_LOC_CACHED    = 1 << 0,	/* from the cache: the op must re-test it (reval) */
	AUFS_LOC_HAVE_STAT = 1 << 1,	/* st holds an lstat of real */
	AUFS_LOC_ROOT      = 1 << 2,	/* the union's root */
	AUFS_LOC_TRAILING  = 1 << 3,	/* the path ended in '/' */
	AUFS_LOC_SEAL      = 1 << 4,	/* parents were copied up widened: cpup_seal() */
	AUFS_LOC_ALONE     = 1 << 5,	/* made by this process: no copy below branch */
	AUFS_LOC_UNPROBED  = 1 << 6,	/* missing, but the name itself was not looked for
					 * in the top-most (writable) branch of pmask */
	AUFS_LOC_DIR_CHANGES = 1 << 7,	/* the op after a copy-up changes the directory
					 * anyway (rename): its times need no putting back */
	AUFS_LOC_DIRPERM   = 1 << 8,	/* a directory with copies in several branches, not
					 * all granting r and x to everyone: nodirperm1
					 * asks each copy (perm_check_dir()) */
	AUFS_LOC_WH_UNPROBED = 1 << 9,	/* UNPROBED, and no lower branch shows the name, so
					 * its whiteout in that branch was not looked for
					 * either: it would hide nothing (see probe()) */
	AUFS_LOC_DOT       = 1 << 10,	/* the last component was "." (the kernel's LAST_DOT) */
	AUFS_LOC_DOTDOT    = 1 << 11,	/* the last component was ".." (LAST_DOTDOT) */
};

/*
 * A resolver flag of the core's own, above the AUFS_RESOLVE_* of core.h: the
 * final component as the namespace calls (unlink, rmdir, rename, mkdir, link,
 * symlink, mknod, open O_CREAT) see it, where the kernel looks the parent up
 * and then the last name in it: a trailing '/' neither follows a final symlink
 * nor fails on a non-directory (AUFS_LOC_TRAILING says it was there; the
 * operation decides: ENOTDIR, EISDIR, ENOENT or nothing).
 */
#define AUFS_RESOLVE_LAST_AS_IS (1u << 16)
/*
 * The caller renames a non-directory onto the final name in the top-most
 * (writable) branch of its directory, whose rename answers for that branch's copy
 * of the name itself (replaces a file, refuses a directory): as AUFS_RESOLVE_EXCL,
 * the name may come back AUFS_LOC_UNPROBED.
 */
#define AUFS_RESOLVE_REPLACE (1u << 17)
#define AUFS_LOC_DOTS (AUFS_LOC_DOT | AUFS_LOC_DOTDOT)

/* Where a path landed: in a union (u != NULL) or on a host path (u == NULL). */
struct aufs_loc {
	struct aufs_union *u;
	int branch;		/* branch holding the object, -1 when it does not exist */
	int parent_branch;	/* missing: top-most branch holding the parent directory */
	int cut;		/* missing: the branch whose whiteout hides it, or -1 */
	unsigned __int128 pmask;	/* missing or not a directory: branches holding the
					 * parent; a directory: branches holding it */
	unsigned type;		/* DT_* of the object, DT_UNKNOWN when missing */
	unsigned flags;		/* enum aufs_loc_flags */
	size_t rel;		/* offset of the union-relative part in virt */
	uint64_t serial;	/* the serial of the configuration u is one of */
	struct stat st;
	char virt[PATH_MAX];	/* absolute virtual path */
	char real[PATH_MAX];	/* the path to give the kernel */
};

/*
 * Resolve PATH relative to DIRFD (AT_FDCWD = the virtual cwd) through the unions.
 * Returns AUFS_PASS when the path never touches a union (the caller uses its own
 * arguments), AUFS_PASS_HOST when it entered a union and left it again (loc->real
 * is the host path, loc->u NULL), 0 when resolved in a union (loc->u set), or
 * -ENOENT/-ENOTDIR/-ELOOP/-ENAMETOOLONG/-EFAULT/-EBADF for the path itself. A
 * missing final component is not an error: loc->branch is -1 and loc->real names
 * it in parent_branch. Reads the fd table and the cwd; writes only its caches.
 */
int aufs_resolve(int dirfd, const char *path, unsigned flags, struct aufs_loc *loc);

/* ---------------------------------------------------------------- state_plink.c: lookup */

/* May U have a pseudo-link now (one word of its table; maps it first)? */
static inline bool plink_gate_open(struct aufs_union *u)
{
	uintptr_t v;
	const struct aufs_xino *x;

	if (!(u->opts.flags & AUFS_OPT_PLINK) || (u->opts.flags & AUFS_OPT_NOXINO))
		return false;
	v = atomic_load_explicit(&u->xino, memory_order_acquire);
	x = v ? (const struct aufs_xino *)(v & ~AUFS_SHM_RDONLY) : xino_attach_lazily(u);
	return x && atomic_load_explicit(&x->counter[AUFS_XINO_CNT_PLINK_GATE],
					 memory_order_acquire) != 0;
}

/*
 * LOC (found in a branch below the top-most) names a file of several names
 * another of which was copied up: point it at the copy (its branch, real path
 * and lstat). Asks one lstat when the lookup kept none.
 */
void plink_follow_slow(struct aufs_loc *loc);
/*
 * The end of every lookup (aufs_resolve): the data calls (stat, open, chmod...)
 * of a name that shows a pseudo-link go to the copy. The namespace calls
 * (AUFS_RESOLVE_LAST_AS_IS: unlink, rename...) keep the name's own place. A
 * union without pseudo-links pays one load of its table's gate.
 */
static inline void plink_follow(struct aufs_loc *loc, unsigned flags)
{
	if (loc->u && loc->branch > 0 && loc->type != DT_DIR &&
	    !(flags & AUFS_RESOLVE_LAST_AS_IS) && __builtin_expect(plink_gate_open(loc->u), 0))
		plink_follow_slow(loc);
}
/*
 * LOC is a host path (AUFS_PASS_HOST) that the walk reached through a union:
 * give loc->real back the last component as the caller wrote it, for the
 * kernel to judge ("." or ".." as "/.": the walk went up already; a trailing
 * "/"), or rmdir("M/../d/.") would remove d. 0 or -ENAMETOOLONG.
 */
int loc_host_tail(struct aufs_loc *loc);

/*
 * The op on a cached LOC failed with ENOENT/ENOTDIR: forget what the cache said
 * about it. Returns true when a fresh aufs_resolve() may give another answer.
 */
bool aufs_loc_stale(struct aufs_loc *loc);

/* Forget every cached lookup of this thread (tests, config reloads). */
void aufs_lookup_flush(void);

/*
 * This process just made REL in branch B of U (type TYPE, the only copy of the name
 * when ALONE; a directory: only in B) and announced it: remember that, so that the
 * next call on it does not probe the branches again.
 */
void lookup_note_made(struct aufs_union *u, const char *rel, size_t len, int b, unsigned type,
		      bool alone);

/*
 * Directory REL of U was just made, empty, in branch T by a copy-up, as MADE says
 * (mode, owner), from a copy of mode SRC_MODE: tell every process of U (its own
 * cached state is stale; the names inside it are not, the copy has none), and
 * remember the directory's new branches here, so that the next call in it does
 * not probe it again.
 */
void lookup_dir_copied(struct aufs_union *u, const char *rel, size_t len, int t,
		       const struct stat *made, mode_t src_mode);

/*
 * What a lookup learnt of the top-most copy of a directory (the branch of its
 * node) that a copy-up into it needs: its mode and owner, from the probe's lstat
 * (DINFO_STAT), and that it has no default ACL, which would override the umask
 * for the files made in it (DINFO_NOACL, noted by the first copy-up that asked).
 */
enum { DINFO_STAT = 1, DINFO_NOACL = 2 };
struct dinfo {
	uint8_t flags;
	uint16_t mode;			/* st_mode & 07777 */
	uint32_t uid, gid;
};

/* Which branches hold directory REL of U (after whiteouts and opaque dirs)? */
int lookup_dirmask(struct aufs_union *u, const char *rel, aufs_mask *ret);
/* lookup_dirmask(), and what the lookup knows of the directory's top-most copy. */
int lookup_dir(struct aufs_union *u, const char *rel, aufs_mask *ret, struct dinfo *ret_di);
/* The top-most copy of directory REL[0..LEN) of U has no default ACL: remember it. */
void lookup_note_dir_noacl(struct aufs_union *u, const char *rel, size_t len);
/* The same, probing the last component afresh (listings must see new branches). */
int lookup_dirmask_fresh(struct aufs_union *u, const char *rel, aufs_mask *ret);
/*
 * A listing showed REL: forget a cached miss of it, so that what one listing shows
 * the next lookup of this process finds too.
 */
void lookup_forget_negative(struct aufs_union *u, const char *rel, size_t len);
/* The same for a resolved directory. */
int aufs_loc_dirmask(const struct aufs_loc *loc, aufs_mask *ret);

/* ---------------------------------------------------------------- resolve_cache.c */

#define PATH_MAX_DEPS 32		/* components a whole-path entry may rest on */

struct lcache;
struct lent;

/* How much of the top-most branch a lookup of a final name probes (probe()). */
enum probe_mode { PROBE_ALL, PROBE_EXCL, PROBE_REPLACE };

/* What one name resolved to. */
struct node {
	int branch;			/* -1: missing */
	int cut;			/* missing: the branch whose whiteout hides it, or -1 */
	unsigned type;
	aufs_mask mask;
	bool cached;
	bool have_stat;
	bool alone;			/* known: no copy of the name below branch */
	bool unprobed;			/* the first branch's copy was not looked for */
	bool wh_unprobed;		/* nor its whiteout: nothing below to hide */
	bool restricted;		/* a directory whose copies (two or more) do not all
					 * grant search and read to everyone */
	struct dinfo di;		/* a directory: its top-most copy */
	struct stat st;
};

/* Generations sampled before probing, so a change racing the probe is not hidden. */
struct gens {
	uint64_t gen;
	uint32_t pbucket, pgen, sbucket, sgen;
};


/* The component entries the running walk rests on (set by aufs_resolve). */
struct deprec {
	unsigned n;
	uint32_t clears;		/* lcache.clears when recording started */
	uint64_t changes;		/* shm->changes when recording started */
	bool unusable;			/* a component was not cacheable */
	struct pdep {
		const struct lent *e;
		uint32_t stamp;
	} dep[PATH_MAX_DEPS];
};

/* The whole-path key of a lookup whose answer aufs_resolve() may remember. */
struct pkey {
	struct aufs_union *u;
	struct lcache *c;
	uint64_t hash;
	unsigned key;
	size_t rel, vlen;
};

/* For tests: evict at N entries per thread (0: the default, 131072). */
void lookup_set_cache_limit(uint32_t n);
/* For tests: read NOW (nanoseconds) instead of CLOCK_MONOTONIC_COARSE; NULL: the clock. */
void lookup_set_clock(uint64_t (*now)(void));
/* This thread's cache, emptied first when made for another table or epoch. */
struct lcache *cache_get(const struct aufs_config *cfg);
/* A valid entry for REL[0..LEN) of U into *N (recorded for the whole path): true. */
bool cache_lookup(struct lcache *c, struct aufs_shm *shm, const struct aufs_union *u,
		  const char *rel, size_t len, struct node *n);
/* Sample the generations REL's entry will be checked against, before probing it. */
void gens_sample(struct aufs_shm *shm, const char *rel, size_t len, size_t parent_len,
		 struct gens *g);
/* Remember what a probe found (G sampled before it). */
void cache_fill(struct lcache *c, const struct aufs_union *u, const char *rel, size_t len,
		const struct gens *g, const struct node *n);
/*
 * The no-allocation mode of a vfork child (AUFS_RESOLVE_NOALLOC): set to ON,
 * returning the mode before; cache_is_noalloc() reads it.
 */
bool cache_noalloc(bool on);
bool cache_is_noalloc(void);
/*
 * udba=none: publish what a probe found (G sampled before it) in U's shared
 * lookup cache, for every process of U (state_shcache.c); nothing when this
 * process maps U's state read-only. cache_lookup() asks that cache on a miss.
 */
void cache_share(struct aufs_union *u, struct aufs_shm *shm, const char *rel, size_t len,
		 const struct gens *g, const struct node *n);
/* A component was resolved without the cache: no whole path may rest on it. */
void cache_uncacheable(void);
/* Forget this thread's entry of REL (the op found the cached object gone). */
void cache_drop(const struct aufs_union *u, const char *rel, size_t len);
/* Add FLAGS (DINFO_*) to what this thread's valid entry of REL knows of its top copy. */
void cache_note_dinfo(const struct aufs_union *u, const char *rel, size_t len, uint8_t flags);

/* Not an answer of whole_lookup(): the walk decides. Distinct from AUFS_PASS and -errno. */
#define WHOLE_MISS INT_MIN
/*
 * The whole-path cache in front of the walk, for a clean PATH of PLEN bytes.
 * Returns the answer (0, -errno, AUFS_PASS) or WHOLE_MISS; on a miss whose answer
 * may be remembered afterwards, K->c is set.
 */
int whole_lookup(const struct aufs_config *cfg, int dirfd, const char *path, size_t plen,
		 unsigned flags, struct aufs_loc *loc, struct pkey *k);
/* Record the component entries the walk rests on into REC; returns the outer record. */
struct deprec *whole_record_start(const struct pkey *k, struct deprec *rec);
void whole_record_stop(struct deprec *outer);
/* Remember the walk's answer (ERR 0 with LOC, or -ENOENT/-ENOTDIR) for K. */
void whole_remember(const struct pkey *k, const struct deprec *rec, int err,
		    const struct aufs_loc *loc);

/* ---------------------------------------------------------------- ops_readdir.c */

/*
 * Open the merged listing of the directory at LOC (a directory inside a union).
 * FD, when >= 0, becomes the directory's fd (dirfd() returns it; closedir closes
 * it); otherwise the top-most branch's directory is opened. Allocates.
 */
int aufs_dir_open(const struct aufs_loc *loc, int fd, struct aufs_dir **ret);

/* ---------------------------------------------------------------- mutate_whiteout.c */

/* Create BRANCH/DIR/.wh.NAME (a hard link to .wh..wh.aufs unless +nolwh). */
int wh_create(const struct aufs_union *u, int b, const char *dir, size_t dlen, const char *name);
/* Remove it; 0 if there was none. */
int wh_remove(const struct aufs_union *u, int b, const char *dir, size_t dlen, const char *name);
/* Mark BRANCH/DIR opaque (.wh..wh..opq). */
int wh_make_opaque(const struct aufs_union *u, int b, const char *dir, size_t dlen);
/* Is NAME of DIR whited out in branch B? 1, 0 (as the resolver's probe reads it) or -errno. */
int wh_exists(const struct aufs_union *u, int b, const char *dir, size_t dlen, const char *name);
/*
 * Remove every whiteout and the opaque marker in BRANCH/DIR (before rmdir), and
 * the leftover temporaries of earlier rmdirs in it, emptied first.
 */
int wh_clear_dir(const struct aufs_union *u, int b, const char *dir, size_t dlen);
/*
 * Remove the leftover temporaries in BRANCH/DIR: ".wh..wh.{cpup,mkdir,rmdir}.PID.N"
 * whose process PID is gone (kill(PID, 0): ESRCH) and whose change time is at least
 * AUFS_TEMP_MIN_AGE seconds old (a directory with the markers it holds). Lists the
 * directory: called when a temporary's name is taken (a namesake process left it),
 * never on the common path. Returns how many were removed, or -errno.
 */
int wh_reap_temps(const struct aufs_union *u, int b, const char *dir, size_t dlen);
/* For tests: the minimum age of a leftover (seconds; < 0: AUFS_TEMP_MIN_AGE). */
void wh_set_temp_min_age(long seconds);

/* ---------------------------------------------------------------- mutate_policy.c */

/*
 * The writable branch a new name goes to, given PMASK (the branches holding its
 * directory) and LIMIT (the highest branch index allowed: a whiteout or opaque
 * directory in branch LIMIT would hide anything created below it; -1 = none).
 * DIR_CREATE: mkdir, which create=rr keeps on one branch (the manual's exception).
 * -EROFS when no writable branch qualifies.
 */
int policy_create(struct aufs_union *u, aufs_mask pmask, int limit, bool dir_create);
/* The writable branch above SRC an object of directory DIR (PMASK) is copied up to. */
int policy_copyup(struct aufs_union *u, aufs_mask pmask, int src);

/* ---------------------------------------------------------------- mutate_copyup.c */

/*
 * Make directory REL[0..LEN) exist in branch T, creating missing components with
 * the mode, owner (when permitted) and times of the copy below. Returns 0, 1 when
 * cpup_seal() must follow, or -errno.
 */
int cpup_dirs(struct aufs_union *u, const char *rel, size_t len, int t);
/* cpup_dirs() of a directory the lookup says T lacks: no lstat of the whole first. */
int cpup_dirs_missing(struct aufs_union *u, const char *rel, size_t len, int t);
/*
 * cpup_dirs() returned 1: it had to give a directory u+wx to create inside it;
 * call this once the object is in place to restore the real modes.
 */
void cpup_seal(struct aufs_union *u, const char *rel, size_t len, int t);
/*
 * Copy the object REL from branch SRC (lstat in *ST) up to branch T, parents
 * first, atomically: a temporary in the target directory renamed into place
 * without replacing. LEN >= 0 copies only that much data (O_TRUNC: 0). Returns
 * 0 when T holds the object afterwards (ours or a racing winner's), or -errno.
 */
int cpup_object(struct aufs_union *u, const char *rel, int src, int t, const struct stat *st,
		off_t len);
/* May the caller write an object with these attributes, as on a real file system? */
bool may_write(const struct stat *st);
/*
 * A change of LOC copies it up when its top-most copy is read-only: is there a
 * writable branch for it (-EROFS), and may the caller create in the deepest
 * directory of its path that branch has (-EACCES)? aufs and the kernel overlay
 * copy up with their own privileges; a process has only the caller's. 0 when
 * LOC is changed in place.
 */
int perm_check_copyup(const struct aufs_loc *loc);
/*
 * LOC (an existing object) is about to be changed: when it lives in a read-only
 * branch, check that the caller could write it (-EACCES otherwise, nothing
 * copied; CHECK_WRITE false for chmod/chown/utimes, which the kernel checks by
 * ownership), copy it up (LEN as for cpup_object) and point LOC at the copy.
 */
int cpup_loc(struct aufs_loc *loc, off_t len, bool check_write);
/*
 * The same, for an open with OFLAGS: *RET_FD is -1, or the copy open as that open
 * would have opened it (the caller then opens nothing).
 */
int cpup_loc_fd(struct aufs_loc *loc, off_t len, bool check_write, int oflags, int *ret_fd);

/* ---------------------------------------------------------------- mutate_create.c */

/*
 * Prepare LOC (a missing name) for creation: pick the branch (create= policy,
 * never below a whiteout hiding the name), copy the parents up into it, check the
 * caller may write the directory, point loc->real at the new name. Returns the
 * branch or -errno (-EPERM for the reserved whiteout prefix).
 */
int create_prepare(struct aufs_loc *loc, bool dir_create);
/*
 * Make the directory of LOC exist in branch T (unless HAVE_PARENT) and point
 * loc->real at the name there. 0 or -errno.
 */
int create_place_in(struct aufs_loc *loc, int t, bool have_parent);
/*
 * LOC was resolved for a create that tests the name in the top-most branch of its
 * directory itself (AUFS_RESOLVE_EXCL: open O_EXCL, mkdir, mknod, symlink), which
 * was not looked for there (AUFS_LOC_UNPROBED); create_prepare() answered T (a
 * branch, or -errno). Does the name exist there all the same, when the create goes
 * elsewhere or was refused first? The kernel's EEXIST comes before those.
 */
bool create_unprobed_exists(const struct aufs_loc *loc, int t);
/* The name now exists in branch T: drop its whiteout there, tell every process. */
void create_done(struct aufs_loc *loc, int t);

/* The union-relative directory and the name of LOC. */
void loc_split(const struct aufs_loc *loc, const char **dir, size_t *dlen, const char **name);
/* Does the name of LOC exist in a branch of PMASK below B (removing it needs a whiteout)? */
bool loc_exists_below(const struct aufs_loc *loc, int b, aufs_mask pmask);
/* The name of LOC changed (made, removed, moved): every process of the union forgets it. */
void loc_changed(const struct aufs_loc *loc);
/*
 * May the caller add or remove names in the directory holding LOC, whose copies
 * are in the branches of PMASK? Write permission on the top-most copy, search
 * permission on every copy (nodirperm1) or the top-most (dirperm1). 0 or -EACCES.
 */
int perm_check_parent(const struct aufs_loc *loc, aufs_mask pmask);
/* The branches holding the directory of LOC (for a directory LOC: of its parent). */
int loc_parent_mask(const struct aufs_loc *loc, aufs_mask *ret);
/*
 * nodirperm1 (the default): do the copies of directory LOC below its top-most
 * one grant MASK's R_OK and X_OK (the operation's own call checks the top-most)?
 * With AT_EACCESS in AT_FLAGS the effective ids ask, else the real ones. 0 or
 * -EACCES; nothing to ask for a non-directory, under dirperm1, or when every
 * copy grants both to everyone.
 */
int perm_check_dir(const struct aufs_loc *loc, int mask, int at_flags);
/*
 * faccessat(2) of LOC (an existing object) as the union decides it: the top-most
 * copy for everything but reading and searching a directory (perm_check_dir()),
 * the mode bits for W_OK on a read-only mount, and for W_OK of a read-only copy
 * whether its copy-up could be made (perm_check_copyup()). 0 or -errno.
 */
int perm_check_access(const struct aufs_loc *loc, int mode, int at_flags);
/* The sticky bit of LOC's directory: 0, or -EPERM when the caller may not remove LOC. */
int perm_check_sticky(const struct aufs_loc *loc, aufs_mask pmask);

#endif /* AUFS_INTERNAL_H */
