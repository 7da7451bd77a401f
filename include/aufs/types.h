/* SPDX-License-Identifier: MIT */
/*
 * types.h - the union table shared by the core, the preload shims and the tools.
 *
 * A configuration is a list of unions; a union is a mount point plus an ordered
 * table of branches (index 0 is the top). Everything here is immutable once a
 * configuration is published: a reload builds a new table and swaps a pointer,
 * so readers on any thread never lock.
 */
#ifndef AUFS_TYPES_H
#define AUFS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* aufs itself allows 127 branches; a 128-bit mask per directory covers them. */
#define AUFS_BRANCH_MAX 127

/* The reserved prefix and the two special names of the aufs on-disk format. */
#define AUFS_WH_PREFIX     ".wh."
#define AUFS_WH_PREFIX_LEN 4
#define AUFS_WH_OPQ        ".wh..wh..opq"
#define AUFS_WH_BASE       ".wh..wh.aufs"
#define AUFS_WH_PLINK      ".wh..wh.plnk"
#define AUFS_WH_ORPH       ".wh..wh.orph"
/*
 * A temporary of the union (a copy-up, an mkdir over a whiteout, an rmdir) is
 * ".wh..wh.KIND.PID.N"; one whose process is gone is a leftover, removed once it
 * is at least this many seconds old (its change time), and not before: a process
 * of another PID namespace may be at work on one of the same number.
 */
#define AUFS_TEMP_MIN_AGE  10

enum aufs_perm {
	AUFS_PERM_RW = 0,	/* readable and writable */
	AUFS_PERM_RO = 1,	/* read-only; never searched for whiteouts */
	AUFS_PERM_RR = 2,	/* real read-only: never changes, always cacheable */
};

enum aufs_brattr_flags {
	AUFS_BRATTR_WH    = 1 << 0,	/* ro+wh: whiteouts in it are honoured */
	AUFS_BRATTR_NOLWH = 1 << 1,	/* rw+nolwh: whiteouts are not hard links */
};

struct aufs_branch {
	char *path;		/* absolute, canonical (no symlinks, no trailing /) */
	size_t len;		/* strlen(path) */
	enum aufs_perm perm;
	unsigned attr;		/* enum aufs_brattr_flags */
	dev_t dev;		/* of the branch root at configuration time */
	ino_t ino;
	/* learnt at the first listing (ops_readdir.c): 1 when a getdents64 that leaves room
	 * for another entry has reached the end on this branch's file system, -1 when
	 * only an empty read says so, 0 not yet known */
	_Atomic signed char short_read_is_end;
	/* this process's descriptor of the root (src/core/util_root.c): its slot + 1, 0 none */
	_Atomic int root;
};

enum aufs_udba {
	AUFS_UDBA_REVAL = 0,	/* default: cached positives re-tested by the op itself */
	AUFS_UDBA_NONE,
	AUFS_UDBA_INOTIFY,
};

enum aufs_create_policy {
	AUFS_CREATE_TDP = 0,	/* top-down parent (default) */
	AUFS_CREATE_RR,		/* round robin */
	AUFS_CREATE_MFS,	/* most free space */
	AUFS_CREATE_MFSRR,	/* mfs, rr below a low watermark */
	AUFS_CREATE_PMFS,	/* parent, then mfs */
};

enum aufs_cpup_policy {
	AUFS_CPUP_TDP = 0,	/* top-down parent (default) */
	AUFS_CPUP_BUP,		/* bottom-up parent */
	AUFS_CPUP_BU,		/* bottom-up */
};

enum aufs_coo {
	AUFS_COO_NONE = 0,
	AUFS_COO_LEAF,
	AUFS_COO_ALL,
};

enum aufs_opt_flags {
	AUFS_OPT_NOXINO      = 1 << 0,
	AUFS_OPT_TRUNC_XIB   = 1 << 1,
	AUFS_OPT_PLINK       = 1 << 2,	/* default on */
	AUFS_OPT_CLEAN_PLINK = 1 << 3,
	AUFS_OPT_DIROPQ_A    = 1 << 4,	/* diropq=a: every new dir is opaque */
	AUFS_OPT_SHWH        = 1 << 5,
	AUFS_OPT_WARN_PERM   = 1 << 6,	/* default on */
	AUFS_OPT_VERBOSE     = 1 << 7,
	AUFS_OPT_QUIET       = 1 << 8,
	AUFS_OPT_DIRPERM1    = 1 << 9,	/* read/search of a dir: top-most copy only */
	/*
	 * The mount point of an fstab line that could not be mounted: no branch, and
	 * every path under it fails with EIO instead of reaching the directory below
	 * (aufs-preload(7), "A bad configuration").
	 */
	AUFS_OPT_FENCED      = 1 << 10,
};

/* negttl=/posttl= value that never expires (a cached lookup stays until a change) */
#define AUFS_TTL_NEVER UINT32_MAX
#define AUFS_DEFAULT_NEGTTL 1000u

struct aufs_opts {
	unsigned flags;			/* enum aufs_opt_flags */
	enum aufs_udba udba;
	enum aufs_create_policy create;
	unsigned create_sec;		/* mfs/mfsrr/pmfs interval, seconds (default 30) */
	unsigned long long create_low;	/* mfsrr low watermark, bytes */
	enum aufs_cpup_policy cpup;
	enum aufs_coo coo;
	unsigned dirwh;			/* whiteout watermark for rmdir (default 3) */
	/* ms a cached lookup is trusted: a miss (default 1000), a name found (default never) */
	unsigned negttl, posttl;
	char *xino;			/* xino=FILE, NULL for the default place */
};

struct aufs_shm;

/* Bit 0 of aufs_union.shm: the mapping is read-only (mappings are page aligned). */
#define AUFS_SHM_RDONLY ((uintptr_t)1)

struct aufs_union {
	char *mnt;			/* absolute, lexically normalised mount point */
	size_t mnt_len;			/* strlen(mnt); 1 for "/" */
	struct aufs_opts opts;
	/*
	 * Shared state, attached on first use (aufs_union_shm()): the mapping's address
	 * with AUFS_SHM_RDONLY set when this process maps it read-only; 0 while none.
	 * One word, so that the address and the bit are published together.
	 */
	_Atomic uintptr_t shm;
	_Atomic int shm_state;		/* 0 untried, 1 attached, -errno failed; threads race to set it */
	_Atomic unsigned shm_tries;	/* calls since the last failed attach (tried again now and then) */
	/* this process changed the union unannounced: udba=none's shared cache is not for it */
	_Atomic bool shc_local;
	/*
	 * The translation table of inode numbers (state_xino.c), mapped on first use as
	 * shm is (AUFS_SHM_RDONLY set when read-only); its attach state and retries; the
	 * union's st_dev, computed once (0: not yet).
	 */
	_Atomic uintptr_t xino;
	_Atomic int xino_state;
	_Atomic unsigned xino_tries;
	_Atomic uint64_t vdev;
	unsigned index;			/* position in its configuration */
	_Atomic bool roots_held;	/* this process holds its branch roots (util_root.c) */
	/*
	 * Made from a compiled host table (state_table.c): its strings live in the
	 * table's mapping and the union is never freed.
	 */
	bool from_table;
	int nbranch;
	/* exactly nbranch of them (at most AUFS_BRANCH_MAX): 10,000 unions stay small */
	struct aufs_branch branch[];
};

/*
 * A configuration: its unions and the compiled table that finds a path's union
 * (state_table.c). A configuration loaded from a host table's image holds the
 * image's mapping and makes each union the first time a path lands in it; one
 * built in the process (aufs_config_add(), aufs_config_parse_fstab()) holds every
 * union and a private table compiled from them.
 */
struct aufs_config {
	int nunion;
	/* [nunion]; for a mapped table, filled on first use (aufs_config_union()) */
	struct aufs_union *_Atomic *unions;
	void *table;			/* the compiled table (state_table.c), NULL until built */
	size_t table_size;
	uint64_t serial;		/* distinct for every published configuration */
	unsigned table_kind;		/* enum aufs_table_kind (state_table.c) */
	uid_t fstab_owner;		/* a mapped table: whose images it may trust on reload */
	/* a mapped table: the image's word that says a newer image replaced it */
	const _Atomic uint32_t *_Atomic superseded;
	_Atomic int corrupt;		/* a check of the mapped image failed (state_table.c) */
	const char *corrupt_what;	/* which part, for the one line that says so */
	_Atomic int retired;		/* replaced; its image is unmapped soon after */
	/* the configuration this one replaced in the process (a reload), or NULL */
	const struct aufs_config *prev;
	char *image;			/* a mapped table: the image's path, for reload */
	char *fstab;			/* a mapped table: the host table's fstab file */
};

/* A precise, single-line message for a refused configuration. */
struct aufs_err {
	int code;			/* negative errno-ish reason, 0 if none */
	char msg[512];
};

#endif /* AUFS_TYPES_H */
