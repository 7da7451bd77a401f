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

/* Build BRANCH/REL (REL may be empty) into BUF (PATH_MAX); -ENAMETOOLONG. */
int branch_path(const struct aufs_branch *br, const char *rel, size_t len, char *buf);
/*
 * Build BRANCH/DIR/PFX NAME (NLEN bytes of NAME) into BUF (PATH_MAX): a whiteout
 * ".wh.NAME", the opaque marker or a copy-up temporary. -ENAMETOOLONG.
 */
int branch_path_name(const struct aufs_branch *br, const char *dir, size_t dlen,
		     const char *pfx, const char *name, size_t nlen, char *buf);

/* ---------------------------------------------------------------- state_shm.c */

#define AUFS_SHM_MAGIC    0x31666d6873667561ULL	/* "aufshmf1" */
#define AUFS_SHM_VERSION  1
#define AUFS_SHM_HDR_SIZE 8192
#define AUFS_SHM_NDIRGEN  16384			/* power of two */
#define AUFS_SHM_SIZE     (128 * 1024)

enum aufs_shm_counter {
	AUFS_CNT_LOOKUPS = 0,		/* lookups that probed branches */
	AUFS_CNT_COPYUPS,
	AUFS_CNT_WHITEOUTS,
	AUFS_CNT_CREATE_RR,		/* create=rr: the round-robin cursor, shared */
	AUFS_CNT_MAX = 16,
};

/*
 * The shared state of one union, one file under /dev/shm per (user, mount point).
 * A versioned record of offsets, never pointers: every process maps it at its own
 * address. Fields are only ever grown at the end of the reserved areas.
 */
struct aufs_shm {
	uint64_t magic;			/* AUFS_SHM_MAGIC */
	uint32_t version;		/* AUFS_SHM_VERSION */
	uint32_t hdr_size;		/* AUFS_SHM_HDR_SIZE: where dirgen[] starts */
	uint64_t size;			/* size of the whole mapping */
	uint32_t uid;			/* owner; a foreign file is refused */
	uint32_t ndirgen;		/* entries in dirgen[] (power of two) */
	_Atomic uint64_t gen;		/* bumped by remount, reval and directory renames */
	_Atomic uint64_t counter[AUFS_CNT_MAX];	/* statistics for aufsctl status */
	char mnt[PATH_MAX];		/* the mount point this file belongs to */
	/* reserved up to hdr_size for the branch table of live remount (later) */
};

/* u->shm, attaching on first use; NULL when the shared state is unavailable. */
struct aufs_shm *aufs_union_shm(struct aufs_union *u);

static inline _Atomic uint32_t *shm_dirgen(struct aufs_shm *shm)
{
	return (_Atomic uint32_t *)((char *)shm + shm->hdr_size);
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

/* ---------------------------------------------------------------- state_shm.c: invalidation */

/* Every cached lookup of U is stale (a directory moved, a remount). */
void aufs_union_changed(struct aufs_union *u);
/*
 * Directory REL of U gained a branch (a copy-up made it there): its own cached
 * state and what was probed inside it are stale, in every process of U.
 */
void lookup_dir_gained_branch(struct aufs_union *u, const char *rel, size_t len);

/* ---------------------------------------------------------------- state_fd.c */

/*
 * The virtual path of directory fd FD into BUF (PATH_MAX bytes), as
 * aufs_fd_get(); an fd the table does not know (inherited, opened before the
 * library started) is asked of the kernel, and the answer kept when REMEMBER
 * (false in a vfork child: keeping it allocates).
 */
int aufs_fd_resolve(const struct aufs_config *cfg, int fd, char *buf, bool remember);

/* ---------------------------------------------------------------- resolve_walk.c */

/* For tests: evict at N entries per thread (0: the default, 131072). */
void lookup_set_cache_limit(uint32_t n);

/* Which branches hold directory REL of U (after whiteouts and opaque dirs)? */
int lookup_dirmask(struct aufs_union *u, const char *rel, aufs_mask *ret);
/* The same, probing the last component afresh (listings must see new branches). */
int lookup_dirmask_fresh(struct aufs_union *u, const char *rel, aufs_mask *ret);
/*
 * A listing showed REL: forget a cached miss of it, so that what one listing shows
 * the next lookup of this process finds too.
 */
void lookup_forget_negative(struct aufs_union *u, const char *rel, size_t len);
/* The same for a resolved directory. */
int aufs_loc_dirmask(const struct aufs_loc *loc, aufs_mask *ret);

/* ---------------------------------------------------------------- mutate_whiteout.c */

/* Create BRANCH/DIR/.wh.NAME (a hard link to .wh..wh.aufs unless +nolwh). */
int wh_create(const struct aufs_union *u, int b, const char *dir, size_t dlen, const char *name);
/* Remove it; 0 if there was none. */
int wh_remove(const struct aufs_union *u, int b, const char *dir, size_t dlen, const char *name);
/* Mark BRANCH/DIR opaque (.wh..wh..opq). */
int wh_make_opaque(const struct aufs_union *u, int b, const char *dir, size_t dlen);
/* Remove every whiteout and the opaque marker in BRANCH/DIR (before rmdir). */
int wh_clear_dir(const struct aufs_union *u, int b, const char *dir, size_t dlen);

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
 * LOC (an existing object) is about to be changed: when it lives in a read-only
 * branch, check that the caller could write it (-EACCES otherwise, nothing
 * copied; CHECK_WRITE false for chmod/chown/utimes, which the kernel checks by
 * ownership), copy it up (LEN as for cpup_object) and point LOC at the copy.
 */
int cpup_loc(struct aufs_loc *loc, off_t len, bool check_write);

/* ---------------------------------------------------------------- mutate_create.c */

/* resolve result for a path that entered a union and left it: loc->real is a host path */
#define AUFS_PASS_HOST 2

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
/* The name now exists in branch T: drop its whiteout there, tell every process. */
void create_done(struct aufs_loc *loc, int t);

/* The union-relative directory and the name of LOC. */
void loc_split(const struct aufs_loc *loc, const char **dir, size_t *dlen, const char **name);
/* Does the name of LOC exist in a branch of PMASK below B (removing it needs a whiteout)? */
bool loc_exists_below(const struct aufs_loc *loc, int b, aufs_mask pmask);
/* The directory holding LOC changed: every process of the union forgets it. */
void loc_changed(const struct aufs_loc *loc);
/*
 * May the caller add or remove names in the directory holding LOC, whose copies
 * are in the branches of PMASK? 0 or -EACCES.
 */
int perm_check_parent(const struct aufs_loc *loc, aufs_mask pmask);
/* The sticky bit of LOC's directory: 0, or -EPERM when the caller may not remove LOC. */
int perm_check_sticky(const struct aufs_loc *loc, aufs_mask pmask);

#endif /* AUFS_INTERNAL_H */
