/* SPDX-License-Identifier: MIT */
/*
 * core.h - the operations the preload shims (and the tools) call.
 *
 * One result encoding for every verb here (doc/HACKING.md, "The contract"):
 *   >= 0            done inside a union: 0, an fd, a length;
 *   -errno          failed: the shim sets errno (errno is never read or set here);
 *   AUFS_PASS       the path is outside every union: the shim calls the real libc
 *                   function with the caller's own arguments, so that nothing outside
 *                   a mount point changes behaviour;
 *   AUFS_PASS_HOST  the path entered a union and left it again (a symlink, ".."):
 *                   the shim calls the real function with the host path the verb
 *                   wrote into the caller's buffer.
 * Both values lie above every fd and length a verb returns, so a verb that returns
 * an fd or a length needs no other channel. Path buffers belong to the caller.
 * Nothing here calls an interposed symbol.
 */
#ifndef AUFS_CORE_H
#define AUFS_CORE_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <dirent.h>
#include <linux/stat.h>

#include "aufs/types.h"

#define AUFS_PASS      0x7ffffffe
#define AUFS_PASS_HOST 0x7fffffff

/* ------------------------------------------------------------------ util_root.c */

/*
 * Branch roots held as descriptors. A real path a verb hands back names a
 * branch by its path; for an *at call a shim makes on it, aufs_root_at() turns
 * *PATH into the root's descriptor and the rest (AT_FDCWD and *PATH unchanged
 * when it is below no held root, -ESTALE below a stale one); aufs_root_proc()
 * gives a call without an *at form the descriptor's /proc/thread-self/fd entry in
 * BUF (PATH_MAX), or PATH itself (*ERR -ESTALE when stale).
 */
int aufs_root_at(const char **path);
const char *aufs_root_proc(const char *path, char *buf, int *err);
/*
 * The fd shims keep the roots open: close of one is EBADF, close_range and
 * closefrom go around them (aufs_root_next(): the lowest at FROM..LAST, or -1),
 * and dup2/dup3 onto one move it first (aufs_root_move(): 0 or -errno).
 */
#define AUFS_ROOT_FDMAP (1u << 20)	/* descriptors below it are told by a bit */
extern _Atomic unsigned aufs_roots_held;
extern _Atomic uint64_t aufs_root_fdmap[AUFS_ROOT_FDMAP / 64];
static inline bool aufs_root_is_held(int fd)
{
	if ((unsigned)fd >= AUFS_ROOT_FDMAP ||
	    !atomic_load_explicit(&aufs_roots_held, memory_order_relaxed))
		return false;
	return atomic_load_explicit(&aufs_root_fdmap[fd / 64], memory_order_relaxed) >> (fd % 64) & 1;
}
int aufs_root_next(unsigned from, unsigned last);
int aufs_root_move(int fd);

/* ------------------------------------------------------------------ util_long.c */

/*
 * The scope of one call. A real path longer than PATH_MAX (a branch whose path
 * is longer than the mount point's) is named through an O_PATH descriptor of a
 * branch directory, "/proc/thread-self/fd/N/REST"; such descriptors live until the
 * outermost scope of the thread ends, so that a real path a verb hands back
 * stays valid until the shim's real call is done. The generated shim prologue
 * wraps every verb in one; a verb that the hand-written shims call and that
 * finishes its work itself opens its own. Outside every scope a real path that
 * does not fit is -ENAMETOOLONG. Scopes nest (a verb calling a verb, a signal
 * handler's call: what they open is closed with the outermost); nothing is
 * allocated (vfork children).
 */
extern __thread unsigned aufs_call_word;	/* scopes open (low 16 bits), descriptors << 16 */
#define AUFS_CALL_DEPTH 0xffffu
#define AUFS_CALL_HELD  0x10000u
/* A scope ended and the word is not back to 0: a nested one, or descriptors to close. */
void aufs_call_end_slow(void);

/* Inline: every call passes here, and the common one holds nothing (two instructions). */
static inline void aufs_call_begin(void)
{
	aufs_call_word++;
}

static inline void aufs_call_end(void)
{
	if (__builtin_expect(--aufs_call_word != 0, 0))
		aufs_call_end_slow();
}

/*
 * The length of the path a generated prologue has just measured (aufs_path_ok()
 * probes it for EFAULT anyway), so that the resolver does not measure it again:
 * set by the prologue for its path argument, taken (and cleared) by the first
 * aufs_resolve() of that same pointer, cleared by the prologue after its verb. A
 * signal handler's call in between clears it or names its own pointer.
 */
extern __thread const char *aufs_path_hint;
extern __thread size_t aufs_path_hint_len;

/* ------------------------------------------------------------------ state_config.c */

/*
 * Parse one aufs mount option string ("br:/a=rw:/b=ro,udba=reval,...", alias
 * "dirs=") for mount point MNT into a newly allocated union. Branch directories
 * are checked (they must exist and be directories), canonicalised, given their
 * default permission (first rw, others ro, rr on squashfs/iso9660/cramfs/romfs/
 * erofs) and checked for overlap. On failure *ret is untouched and err->msg holds
 * one precise line. Returns 0, -EINVAL (syntax, unknown option or permission,
 * overlap, too many branches), -ENOENT/-ENOTDIR (missing branch) or -ENOMEM.
 * The union is freed with aufs_union_free().
 */
int aufs_union_parse(const char *options, const char *mnt, struct aufs_union **ret,
		     struct aufs_err *err);
void aufs_union_free(struct aufs_union *u);

/*
 * Write the union back as one fstab line ("none MNT aufs OPTIONS 0 0") that
 * aufs_config_parse_fstab() reads again to an identical union. Returns the length,
 * or -ENAMETOOLONG if SIZE is too small.
 */
int aufs_union_format(const struct aufs_union *u, char *buf, size_t size);

/*
 * A union's option string OPTIONS (as an fstab line holds it) after the remount
 * items ACTIONS, applied left to right as aufs(5) does: add:INDEX:BR, ins:INDEX:BR,
 * append:BR, prepend:BR, del:BR, mod:BR=PERM, imod:BR=PERM, a new br: list, and
 * any other option (kept after the earlier ones, which it overrides). A branch
 * added without a permission is rw at index 0 and ro elsewhere. *RET: malloc'd,
 * to be checked by aufs_union_parse(). -EINVAL (a bad item, an index out of
 * range, a del of no branch, no writable branch left), -ENOENT, with err->msg.
 */
int aufs_remount_apply(const char *options, const char *actions, char **ret,
		       struct aufs_err *err);

/* An empty configuration; nothing allocated until something is added. */
void aufs_config_init(struct aufs_config *cfg);

/*
 * Add U to CFG (CFG owns it afterwards, also on failure). Refuses a mount point
 * already used by another union, a branch that is at or under the mount point
 * of any union of CFG (other than a union mounted on its own top branch, as in
 * "br:/br1=rw:/base=rr none /br1"), and a writable branch that is, contains or
 * lies in a writable branch of another union (aufs(5): not to be shared).
 * Rebuilds CFG's index (aufs_config_index()).
 * Returns 0, -EINVAL with err->msg set, or -ENOMEM.
 */
int aufs_config_add(struct aufs_config *cfg, struct aufs_union *u, struct aufs_err *err);

/*
 * Parse TEXT, lines in fstab form ("none MNT aufs OPTIONS [0 0]"; blank lines and
 * '#' comments ignored; fields separated by blanks; \040 and \011 escapes as in
 * fstab(5)), adding every union to CFG. ORIGIN names the source in messages
 * ("FILE:LINE: ..."). Returns 0 or the first failure's -errno with err->msg set.
 */
int aufs_config_parse_fstab(struct aufs_config *cfg, const char *text, const char *origin,
			    struct aufs_err *err);

/* Read FILE (raw syscalls) and parse it as above. -ENOENT etc. if unreadable. */
int aufs_config_load_fstab(struct aufs_config *cfg, const char *file, struct aufs_err *err);

/* Free everything CFG owns; CFG is then as after aufs_config_init(). NULL-safe. */
void aufs_config_release(struct aufs_config *cfg);

/*
 * warn_perm (the default; aufs(5) DIAGNOSTICS): what aufs would warn about U's
 * branch directories, one line each (no newline) given to EMIT, at most one per
 * branch: a writable branch every user may write; else a writable branch owned by
 * neither CALLER nor root; else a branch whose owner, group or mode differ from
 * the first branch's. Nothing under nowarn_perm. Returns the number of lines.
 * Only aufs-run calls it, once per start: the library is loaded in every process.
 */
int aufs_union_warn_perm(const struct aufs_union *u, uid_t caller,
			 void (*emit)(void *arg, const char *line), void *arg);

/* ------------------------------------------------------------------ state_table.c */

/* Where a configuration's compiled table lives (aufs_config.table_kind). */
enum aufs_table_kind {
	AUFS_TABLE_NONE = 0,	/* not compiled yet */
	AUFS_TABLE_PRIVATE,	/* compiled in this process's memory */
	AUFS_TABLE_MAPPED,	/* a host table's image, mapped read-only and shared */
};

enum aufs_table_flags {
	AUFS_TABLE_MAY_WRITE = 1 << 0,	/* (re)write the image when root or the fstab's owner */
	AUFS_TABLE_FORCE     = 1 << 1,	/* compile even if the image matches (aufsctl, a corrupt one) */
	AUFS_TABLE_MUST_WRITE = 1 << 2,	/* fail unless the image could be written (aufsctl) */
	AUFS_TABLE_VERIFY    = 1 << 3,	/* check an existing image's every byte (aufs-run) */
	AUFS_TABLE_FENCE     = 1 << 4,	/* refused lines fenced, the rest kept (the library) */
};

/* What an image records about the fstab it was compiled from. */
struct aufs_table_source {
	const char *fstab;		/* absolute path */
	struct stat st;			/* its identity when read */
	uint64_t text_hash;		/* aufs_table_text_hash() of its text */
	uint64_t serial;
	const unsigned *lines;		/* fstab line of each union, or NULL */
};

/*
 * The host table of FSTAB (AUFS_FSTAB): map its image (IMAGE, or the default
 * aufs_table_default_image()) when the image is trusted and describes the file as
 * it is; otherwise compile the file and, with AUFS_TABLE_MAY_WRITE and when the
 * process runs as root or as the fstab's owner, write the image and map it, else
 * keep the table in this process. *RET is a new configuration (not to be freed:
 * a mapped one lives as long as the process). A bad line: -EINVAL with err->msg
 * "FILE:LINE: ...". NOTICE gets one line (code -EUCLEAN) when an image was
 * refused: "IMAGE: REASON; rebuilt" or "...; compiled privately". A failure to
 * write the image under AUFS_TABLE_MUST_WRITE sets notice->code to -EROFS, so
 * that a tool tells it from a fault of the fstab. With AUFS_TABLE_FENCE, a file
 * with refused lines gives 0 and a private configuration of its other unions and
 * of the fences of those lines (aufs_config_parse_fstab()), never written as the
 * image, with err->code and err->msg saying the first refusal.
 */
int aufs_table_open(const char *fstab, const char *image, unsigned flags,
		    struct aufs_config **ret, struct aufs_err *err, struct aufs_err *notice);
/* Compile UNIONS[0..N) into one malloc'd image *RET of *RET_SIZE bytes. -errno. */
int aufs_table_build(struct aufs_union *_Atomic const *unions, int n,
		     const struct aufs_table_source *src, void **ret, size_t *ret_size);
/*
 * Replace IMAGE by IMG atomically and mark the image it replaces superseded. When
 * another user holds the name IMAGE (a file, link, FIFO or directory this user
 * cannot replace), the image goes to a fallback IMAGE.HEX beside it: 0, err->msg
 * says where (err->code stays 0). OWNER, unless (uid_t)-1: the user the image
 * is given to (root writing another user's fstab's) before it has its name.
 */
int aufs_table_write(const char *image, const void *img, size_t size, uid_t owner,
		     struct aufs_err *err);
/*
 * Where the image named IMAGE is for a process (into BUF): IMAGE, or the fallback
 * of root or OWNER that is trusted in its place; IMAGE when neither is trusted.
 */
int aufs_table_image_in_use(const char *image, uid_t owner, char *buf, size_t size);
/*
 * Check an image's header and layout, and with FULL its whole checksum (the
 * library checks each record as it reads it instead): 0, or -EBADMSG with *WHY.
 */
int aufs_table_verify(const void *img, size_t size, bool full, const char **why);
/*
 * "DIR/aufs-table.OWNER.HASH": the default image of FSTAB (absolute path), DIR
 * being AUFS_TABLE_DIR (as captured by aufs_env_capture()) or /dev/shm.
 */
int aufs_table_default_image(const char *fstab, uid_t owner, char *buf, size_t size);
/*
 * Keep AUFS_TABLE_DIR and AUFS_XINO_DIR as they are now for the rest of the
 * process (the library's constructor): the host table's image and the tables of
 * inode numbers are named later, when a program such as php-fpm may have cleared
 * its environment. Allocates nothing; the first call wins.
 */
void aufs_env_capture(void);
/* FSTAB as the image names it: absolute, lexically normalised (not realpath). */
int aufs_table_fstab_path(const char *given, char *buf, size_t size);
/* The hash of an fstab's text an image records (to tell a touched file from a changed one). */
uint64_t aufs_table_text_hash(const char *text, size_t len);
/* The 8-byte magic string an image starts with. */
const char *aufs_table_magic_string(void);
/* Read FILE whole (at most 64 MiB of text) into *RET (malloc'd, NUL-terminated). */
int aufs_fstab_read(const char *file, char **ret, size_t *ret_len, struct stat *ret_st,
		    struct aufs_err *err);
/*
 * Is the image of FSTAB (IMAGE, or the default; its path into IMAGE_OUT) trusted,
 * whole (every checksum) and a description of FSTAB as it is? 0 with the number of
 * unions; -ENOENT none; -EPERM foreign or writable by others; -EBADMSG truncated,
 * of another version or corrupt; -ESTALE stale or superseded; -ENODEV FSTAB itself
 * is missing; err->msg says which.
 */
int aufs_table_check(const char *fstab, const char *image, char *image_out, size_t isize,
		     unsigned *ret_nunion, struct aufs_err *err);
/* A number no other configuration of this process has. */
uint64_t aufs_config_next_serial(void);
/* Union I of CFG, made from its image on first use; NULL if I is out of range. */
struct aufs_union *aufs_config_union(const struct aufs_config *cfg, int i);

/* ------------------------------------------------------------------ state_mount.c */

/*
 * Compile CFG's unions into its private table (the lookup index of mount points,
 * their ancestors and the branch directories). -ENOMEM.
 */
int aufs_config_index(struct aufs_config *cfg);

/*
 * Which union holds absolute, normalised path PATH (the longest matching mount
 * point wins)? Returns it and stores in *ret_rel the offset of the union-relative
 * part ("" for the mount point itself, else without leading '/'), or NULL.
 */
struct aufs_union *aufs_config_match(const struct aufs_config *cfg, const char *path,
				     size_t len, size_t *ret_rel);

/* Does some union's mount point lie inside another union? */
bool aufs_config_has_nested(const struct aufs_config *cfg);

/* Is PATH (absolute, normalised) a strict ancestor of some union's mount point? */
bool aufs_config_is_ancestor(const struct aufs_config *cfg, const char *path, size_t len);

/* ------------------------------------------------------------------ state_shm.c */

/*
 * Map the shared state of U, making it if this process may (root or the owner of
 * U's top writable branch): a System V segment named by a link in that branch,
 * shared by every process of U whatever its user (state_shm.c). Returns 0 and sets
 * u->shm, or -errno: -ENOENT none yet (and this user may not make it), -ESTALE the
 * link names another union's segment, -EUCLEAN refused (foreign owner, bad mode,
 * size or header: never trusted) with err->msg saying why. A refused state that this
 * process replaced returns 0 with err->code -EUCLEAN and the message. Safe to race
 * from several threads and processes.
 */
int aufs_shm_attach(struct aufs_union *u, struct aufs_err *err);
/*
 * The path of the link that names U's shared state (in its top writable branch)
 * into BUF. Returns its length, or -EROFS when U has no writable branch (each
 * process then keeps a private state), -ENAMETOOLONG.
 */
int aufs_shm_path(const struct aufs_union *u, char *buf, size_t size);

/* What aufs_shm_status() read of a union's shared state (aufsctl status). */
struct aufs_shm_status {
	int id;				/* the System V segment */
	uid_t owner;			/* of the top writable branch's root */
	uid_t uid, cuid;		/* the segment's owner and creator */
	unsigned mode;
	unsigned long nattch;		/* processes attached (this one not counted) */
	uint64_t gen, changes;		/* the global generation, the change counter */
	uint64_t lookups, copyups, whiteouts;
	unsigned shared_entries;	/* udba=none's shared lookup cache: slots in use */
	unsigned shared_slots;		/* ... of this many */
	bool may_write;			/* this process could write it (aufsctl reval) */
};
/*
 * Read U's shared state, mapped read-only with the trust checks of an attach and
 * detached again; never made, never written. 0; -EROFS no writable branch (each
 * process keeps a private state); -ENOENT none (no link, or it names no segment);
 * -ESTALE the link names another union's segment; -EUCLEAN refused (err->msg).
 */
int aufs_shm_status(const struct aufs_union *u, struct aufs_shm_status *ret,
		    struct aufs_err *err);
/*
 * aufsctl reval: every process of U drops at its next call what it cached about
 * directory REL (LEN bytes; its names and its own entry), or with REL NULL about
 * the whole union, as after a change through the union. Only through the state
 * they map, attached here read-write: -EPERM (err->msg) when this process may not
 * write it (root and the branch owner may); -EROFS, -ENOENT, -ESTALE, -EUCLEAN as
 * aufs_shm_status().
 */
int aufs_shm_reval(struct aufs_union *u, const char *rel, size_t len, struct aufs_err *err);

/*
 * Note that directory REL of U changed through this process (a name created,
 * removed or renamed): every process of the union forgets what it cached there.
 */
void aufs_dir_changed(struct aufs_union *u, const char *rel, size_t len);

/* ------------------------------------------------------------------ state_xino.c */

/*
 * Map U's table of inode numbers (xino=FILE, or the default file in
 * $AUFS_XINO_DIR or /dev/shm), making it when this process may (root or the owner
 * of the top writable branch's root) and it is missing: read-write for them,
 * read-only for every other user. 0 (also: none yet, or noxino, or no writable
 * branch: numbers are composed); -EUCLEAN a file that is not trusted (foreign
 * owner, group- or world-writable, wrong size, magic, version or layout, another
 * union's), with err->msg; other -errno. aufs-run calls it at start: a refused
 * file is an error there (exit 2); the library says it once on stderr and
 * composes numbers instead.
 */
int aufs_xino_attach(struct aufs_union *u, struct aufs_err *err);
/* The path of U's xino file into BUF; -EROFS under noxino or without a writable branch. */
int aufs_xino_path(const struct aufs_union *u, char *buf, size_t size);

/* What aufs_xino_status() read of a union's xino file (aufsctl status). */
struct aufs_xino_status {
	uid_t uid;			/* the file's owner */
	unsigned mode;
	uint64_t generation;
	uint64_t entries, records, full;
	uint64_t plinks;		/* pseudo-links live now */
	uint64_t plinks_made, plinks_flushed, plinks_cleaned;
	uint64_t freed;			/* slots given back (truncation, frees) */
};
/*
 * Read U's xino file, mapped read-only with the checks of an attach; never made.
 * 0; -EROFS (noxino, no writable branch); -ENOENT none yet; -ESTALE made for
 * another root of the branch (replaced by the next process of root or its
 * owner); -EUCLEAN refused.
 */
int aufs_xino_status(const struct aufs_union *u, struct aufs_xino_status *ret,
		     struct aufs_err *err);
/*
 * Truncation (aufs(5) trunc_xib): the entries of U's xino file for objects that
 * are gone give their slots back. Those whose device is one of GONE (NGONE
 * devices of deleted branches) that no branch of U has; with ALL also those
 * without a number and those of any device no branch of U has (pseudo-links
 * excepted). The count freed into *FREED. 0 also when U has no table (noxino,
 * none yet, stale); -EPERM (err->msg) when this process may not write it (root
 * and the top writable branch's owner may); -EUCLEAN refused; other -errno.
 */
int aufs_xino_trunc(const struct aufs_union *u, const dev_t *gone, int ngone, bool all,
		    uint64_t *freed, struct aufs_err *err);

/* ------------------------------------------------------------------ state_plink.c */

/* One pseudo-link: the union inode number of its file, the branch of its copy. */
struct aufs_plink {
	uint64_t num;
	int branch;
};
/* May this process change U's pseudo-links (root, the branch owner)? 0, or -EPERM (err->msg). */
int aufs_plink_may_change(struct aufs_union *u, struct aufs_err *err);
/* U's live pseudo-links, the first MAX into OUT (may be NULL); how many there are. */
int aufs_plink_list(struct aufs_union *u, struct aufs_plink *out, size_t max);
/* The union inode number of the object ST of branch B: a pseudo-link's key. */
uint64_t aufs_plink_key(struct aufs_union *u, int b, const struct stat *st);
/*
 * Drop pseudo-link NUM (flushed: its names are real links of the copy now): its
 * entry, then its copy's name in .wh..wh.plnk. Root and the branch owner only
 * (-EPERM, err->msg). 0 or -errno.
 */
int aufs_plink_drop(struct aufs_union *u, uint64_t num, struct aufs_err *err);
/*
 * clean_plink: drop every pseudo-link of U; each copy keeps only its own name and
 * gets a number of its own. How many, or -errno (err->msg).
 */
int aufs_plink_clean(struct aufs_union *u, struct aufs_err *err);
/* aufsctl flush made NAMES real hard links and dropped what it flushed: count it. */
void aufs_plink_flushed(struct aufs_union *u, unsigned names);
/*
 * aufsctl flush: if the union path VIRT (the published configuration's) shows
 * pseudo-link NUM, give it a real name in the copy's branch, a hard link of the
 * copy, copying its directories up first. 1 linked, 0 it shows something else
 * (or has its own name there already), -errno.
 */
int aufs_plink_flush_name(const char *virt, uint64_t num);

/* ------------------------------------------------------------------ state_mount.c: publishing */

/*
 * The process's published configuration (NULL when no union is configured; the
 * library is then inert). Replaced with aufs_state_publish(), which never frees the
 * old table (readers on other threads may still hold it).
 */
const struct aufs_config *aufs_state_config(void);
void aufs_state_publish(struct aufs_config *cfg);
/* (state_mount.c's; read through the two functions here) */
extern struct aufs_config *_Atomic aufs_published;
/*
 * Is any configuration published? What a shim asks on every call, inline: the
 * verb's aufs_state_config() then follows a replaced image, if any.
 */
static inline bool aufs_state_published(void)
{
	return atomic_load_explicit(&aufs_published, memory_order_acquire) != NULL;
}
/*
 * FN tells the core whether this thread may call malloc now (false in a vfork
 * child): compiling a host table again after its image was found corrupt
 * allocates, following a replaced image does not. Without FN: always.
 */
void aufs_state_set_alloc_check(bool (*fn)(void));

/* ------------------------------------------------------------------ state_creds.c */

/*
 * The process changed its credentials (setuid, setgroups...): the core's copy
 * of them is stale. Called after the change by the preload's wrappers.
 */
void aufs_creds_changed(void);

/*
 * The process umask is now MASK (-1: not known; asked again when needed). Called
 * by the umask() wrapper after the change; a vfork child, which must not change
 * its parent's copy of it, says -1.
 */
void aufs_umask_changed(int mask);

/* ------------------------------------------------------------------ state_fd.c */

/*
 * The virtual current directory. aufs_cwd_get() copies it into BUF (returns the
 * length, -ERANGE if SIZE is too small, -ENOENT if unknown: the kernel's cwd is then
 * the truth). aufs_cwd_set() records PATH as the new virtual cwd (NULL = forget it,
 * the kernel cwd is outside every union).
 */
int aufs_cwd_get(char *buf, size_t size);
void aufs_cwd_set(const char *path);
/*
 * getcwd: the virtual cwd into BUF when it lies inside a union (returns the
 * length), else AUFS_PASS (above a mount point the kernel's answer is the truth:
 * it resolves symlinks the lexical path may contain). -ERANGE if SIZE is short.
 */
int aufs_cwd_virtual(char *buf, size_t size);
/* Set the virtual cwd from the environment (AUFS_CWD) or the kernel cwd at start. */
void aufs_cwd_init(const char *env_value);
/*
 * The name of the kernel's cwd in the unions' namespace, for a vfork child that
 * may have changed directory without recording it: the host path
 * when it is inside or above a mount point, the union path when it is a
 * directory of exactly one branch, else the host path. *RET_VIRTUAL tells
 * whether it names a place in or above a union. Returns the length or -errno.
 */
int aufs_exec_kernel_cwd(char *buf, size_t size, bool *ret_virtual);

/*
 * The fd table: the virtual path of directory fds (and O_PATH fds) opened inside a
 * union or on an ancestor of a mount point, so that *at() calls resolve relative
 * names in the union's namespace. Copies PATH; NULL clears the slot.
 */
void aufs_fd_set(int fd, const char *path);
/*
 * Copy the virtual path of FD into BUF; returns its length, -ENOENT if FD is
 * unknown, -EXDEV if FD is known to be outside every union.
 */
int aufs_fd_get(int fd, char *buf, size_t size);
/* FD was opened outside every union (so an *at() call need not look it up). */
void aufs_fd_mark_outside(int fd);
void aufs_fd_dup(int oldfd, int newfd);
void aufs_fd_close_range(unsigned first, unsigned last);
bool aufs_fd_known(int fd);
/* FD is being closed: forget everything about it. */
void aufs_fd_forget(int fd);
/*
 * FD was opened through a union on a file of a read-only branch (set by
 * aufs_openat with the union's mark below; cleared, copied and closed with it).
 * Marking one lower marks it a union's too.
 */
void aufs_fd_mark_lower(int fd, bool lower);
bool aufs_fd_is_lower(int fd);
/*
 * FD was opened through a union (set by aufs_openat, any object; cleared, copied
 * and closed along with the path slot): fstat gives the union's numbers.
 */
void aufs_fd_mark_union(int fd, bool in_union);
bool aufs_fd_is_union(int fd);
/* In the child of fork (an atfork handler): no other thread is reading the table now. */
void aufs_fd_after_fork(void);

/* ------------------------------------------------------------------ resolve_walk.c */

/* How aufs_lookup() and the core's resolver treat a path. */
enum aufs_resolve_flags {
	AUFS_RESOLVE_NOFOLLOW   = 1 << 0,	/* do not follow a final symlink */
	AUFS_RESOLVE_EMPTY_PATH = 1 << 1,	/* "" means DIRFD itself */
	AUFS_RESOLVE_DIRECTORY  = 1 << 2,	/* as a trailing '/': final must be a directory */
	AUFS_RESOLVE_EXCL       = 1 << 3,	/* the caller creates the final name O_EXCL:
						 * see AUFS_LOC_UNPROBED */
	/*
	 * Allocate nothing (a vfork child): read this thread's lookup caches but
	 * never create, fill, grow or empty them; an fd the table does not know
	 * is asked of the kernel and not entered.
	 */
	AUFS_RESOLVE_NOALLOC    = 1 << 4,
};


/* ------------------------------------------------------------------ ops_socket.c */

/*
 * One AF_UNIX call's address, translated: on the shim's stack, filled by
 * aufs_sock_prepare(), given back with aufs_sock_done().
 */
struct aufs_sock {
	struct sockaddr_un sun;	/* the address to give the kernel */
	socklen_t len;		/* its length */
	int dirfd;		/* -1, or the O_PATH fd that sun names as /proc/self/fd/N/NAME */
	int t;			/* bind: the branch the new name goes to, else -1 */
	bool bind;
	/* the core's lookup of the name (ops_socket.c), opaque to the shims */
	_Alignas(16) unsigned char priv[2 * PATH_MAX + 512];
};

/*
 * The address ADDR (LEN bytes) of bind (BIND true), connect or sendto, when it is
 * a pathname inside a union: the real path into S. bind picks the branch of the
 * create= policy and copies the parent directories up (-EADDRINUSE when the name
 * exists in the union); the others need an existing name (-ENOENT). A real path
 * longer than sun_path is named through an O_PATH fd of its directory. Returns 0,
 * AUFS_PASS (not a pathname or outside every union: use ADDR) or -errno
 * (S needs no aufs_sock_done() then). Raw calls only; may open one fd.
 */
int aufs_sock_prepare(const struct sockaddr *addr, socklen_t len, bool bind,
		      struct aufs_sock *s);
/*
 * The call on socket FD with S is over (OK: it succeeded): a bound name is
 * announced to the union, one bound through /proc/self/fd is remembered for
 * aufs_sock_unname(), the directory fd is closed. Raw calls only.
 */
void aufs_sock_done(struct aufs_sock *s, int fd, bool ok);
/*
 * The call with S (not a bind) failed with ENOENT: was the name a cached one the
 * kernel no longer finds? Then aufs_sock_prepare() may give another answer.
 */
bool aufs_sock_stale(struct aufs_sock *s);
/*
 * An address the kernel gave back (getsockname, getpeername, accept, recvfrom):
 * when it is a pathname in a branch of exactly one union, or (FD >= 0: ADDR is
 * the own name of socket FD, from getsockname) the /proc/self/fd name FD was
 * bound under, the union's name into OUT and its length into *RET_LEN. Returns
 * 0 or AUFS_PASS (keep the kernel's).
 */
int aufs_sock_unname(int fd, const struct sockaddr *addr, socklen_t len,
		     struct sockaddr_un *out, socklen_t *ret_len);

/* ------------------------------------------------------------------ ops_read.c */

/*
 * The union operations behind the shims. Each returns 0 (or a length or an fd)
 * on success, -errno on failure, or AUFS_PASS when the path is outside every
 * union and the shim should call the real function with its own arguments.
 */
int aufs_fstatat(int dirfd, const char *path, struct stat *st, int flags);
/*
 * fstat: of a descriptor a union opened (aufs_fd_is_union, or a directory of the
 * fd table), the kernel's answer with the union's device and inode number (the
 * branch is found from the descriptor's /proc link); of any other, AUFS_PASS.
 */
int aufs_fstat(int fd, struct stat *st);
int aufs_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx);
int aufs_faccessat(int dirfd, const char *path, int mode, int flags);
/* Returns the length. Also translates /proc/self/cwd, /proc/self/fd/N and the like. */
ssize_t aufs_readlinkat(int dirfd, const char *path, char *buf, size_t size);

/*
 * For calls that only read an existing object by name (getxattr, listxattr,
 * pathconf...): its real path into REAL (PATH_MAX bytes). Returns 0, AUFS_PASS
 * or -errno (-ENOENT when it does not exist in the union).
 */
int aufs_real_path(int dirfd, const char *path, int at_flags, char *real);

/*
 * Open through the union: returns an fd. Directory and O_PATH fds inside a union
 * are entered in the fd table. A write to a lower file copies it up first;
 * nothing in a read-only branch is ever opened for writing.
 */
int aufs_openat(int dirfd, const char *path, int flags, mode_t mode);

/*
 * After the real open of an outside PATH succeeded with FD: remember it in the fd
 * table if it names an ancestor of a mount point (so that openat(FD, "html") of
 * find or fts enters the union).
 */
void aufs_note_outside_open(int fd, int dirfd, const char *path);

/*
 * chdir through the union: changes the kernel cwd to the top-most branch copy and
 * the virtual cwd to the union path (unless !RECORD: a vfork child must not write
 * its parent's memory). AUFS_PASS when outside (then call the real chdir and
 * aufs_note_outside_chdir(PATH) after it succeeded).
 */
int aufs_chdir(const char *path, bool record);
void aufs_note_outside_chdir(const char *path);
/* fchdir: the fd table gives the virtual path. */
int aufs_fchdir(int fd);

/*
 * Canonical absolute name of PATH into BUF (PATH_MAX bytes). Returns 0 when done,
 * AUFS_PASS (the real realpath of PATH), AUFS_PASS_HOST (the real realpath of the
 * host path in BUF) or -errno.
 */
int aufs_realpath(const char *path, char *buf);

/*
 * An object of the unions as a shim may see it: where to send the kernel and its
 * union name, with no branch index, mask or cache state (those are the core's).
 */
struct aufs_object {
	const void *union_id;	/* the union it is in, NULL for a host path; compare only */
	bool have_stat;		/* st holds an lstat of real, made by the lookup */
	struct stat st;
	char virt[PATH_MAX];	/* its name in the unions' namespace */
	char real[PATH_MAX];	/* the path to give the kernel */
};

/*
 * Look PATH up (relative to DIRFD; FLAGS: enum aufs_resolve_flags). Returns 0 for
 * an existing object of a union, AUFS_PASS_HOST for a path that entered a union and
 * left it again (RET->real is the host path), AUFS_PASS outside every union (RET
 * untouched), or -errno (-ENOENT for a name the union does not have).
 */
int aufs_lookup(int dirfd, const char *path, unsigned flags, struct aufs_object *ret);

/*
 * Is the directory DIR (its stat) the one PATH names: the host directory itself,
 * or any branch's copy of a union directory? A vfork child asks it of its
 * kernel cwd, which a copy-up may have left on a lower copy. No allocation.
 */
bool aufs_dir_is_copy(const char *path, const struct stat *dir);

/*
 * The union PATH lies in, for the walkers' FTW_MOUNT and FTS_XDEV (aufs gives a
 * union one device, whatever branch holds the object), or NULL outside.
 */
const void *aufs_union_of(const char *path, bool follow);

/* Can a tree walk that starts at PATH see a union (in one, or above a mount point)? */
bool aufs_walk_touches_union(const char *path);

/*
 * posix_spawn_file_actions_addopen: the path the child's open should use into
 * REAL (PATH_MAX). A write applies the union's rules now (copy-up, create in a
 * writable branch; *OFLAG loses O_EXCL when the file was created here). Returns
 * 0, AUFS_PASS (keep PATH) or -errno.
 */
int aufs_spawn_open(const char *path, int *oflag, mode_t mode, char *real);

/* ------------------------------------------------------------------ ops_namespace.c */

/*
 * Changes to directories, with the aufs rules (man/aufs-preload.7): new names go to the
 * writable branch of the create= policy, parents copied up first; names that
 * exist below are removed with whiteouts; a directory with content below is not
 * renamed (-EXDEV). Return 0, AUFS_PASS (outside every union: call the real
 * function) or -errno; -EPERM for names with the reserved ".wh." prefix.
 */
int aufs_mkdirat(int dirfd, const char *path, mode_t mode);
int aufs_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev);
int aufs_symlinkat(const char *target, int dirfd, const char *path);
int aufs_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);
int aufs_unlinkat(int dirfd, const char *path, int flags);
/* RENAME_NOREPLACE and, where both names live in one writable branch, RENAME_EXCHANGE. */
int aufs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		   unsigned flags);

/*
 * Is PATH free for a new temporary name (mktemp, tempnam, tmpnam)? Inside a
 * union: no branch has the name, visible or hidden, and no branch has a whiteout
 * of it. Returns 0 (free), -EEXIST, AUFS_PASS (outside every union: the caller
 * asks the kernel) or another -errno.
 */
int aufs_name_unused(const char *path);

/* ------------------------------------------------------------------ ops_attr.c */

/*
 * Attribute changes copy a lower object up first. The caller's rights are those
 * of a real file system: chmod/chown need ownership (-EPERM), writes need write
 * permission (-EACCES), and nothing is copied when they are missing.
 */
int aufs_fchmodat(int dirfd, const char *path, mode_t mode, int flags);
int aufs_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
int aufs_utimensat(int dirfd, const char *path, const struct timespec ts[2], int flags);
int aufs_truncate(const char *path, off_t len);
int aufs_setxattr(const char *path, const char *name, const void *value, size_t size,
		  int flags, bool nofollow);
int aufs_removexattr(const char *path, const char *name, bool nofollow);
/*
 * statfs/statvfs: the file system that answers for PATH: a union's first branch,
 * whose root goes into REAL (PATH_MAX; the caller then applies aufs_name_max()),
 * AUFS_PASS_HOST with the host path in REAL, AUFS_PASS or -errno.
 */
int aufs_statfs_path(const char *path, char *real);
/*
 * An fd-based change (fchmod, fchown, futimens, ftruncate, fsetxattr...) is about
 * to hit FD: -EROFS when FD is a file of a read-only branch of a union (it was
 * opened read-only through the union; the lower branch is never written), else 0.
 */
int aufs_fd_check_write(int fd);
/*
 * The longest name a union takes, given its branch's (statfs f_namelen, statvfs
 * f_namemax, pathconf _PC_NAME_MAX): a whiteout's prefix must fit in front of it.
 */
long aufs_name_max(long branch_max);

/* ------------------------------------------------------------------ ops_readdir.c */

/* First field of every aufs_dir, so a shim can tell our DIR * from glibc's. */
#define AUFS_DIR_MAGIC 0x726964737561ad1eULL

struct aufs_dir;

/*
 * opendir/fdopendir: the merged stream of DIRFD/PATH (FD >= 0: of the open
 * directory FD, which becomes the stream's). Looks again once when a cached
 * directory was removed behind the union's back. Returns 0 (*RET set, the fd
 * entered in the fd table), AUFS_PASS, AUFS_PASS_HOST (HOST, PATH_MAX bytes,
 * holds the host path) or -errno.
 */
int aufs_opendir(int dirfd, const char *path, int fd, struct aufs_dir **ret, char *host);
/* Next entry, NULL at the end. The entry lives until the next call on DIR. */
struct dirent64 *aufs_dir_read(struct aufs_dir *dir);
long aufs_dir_tell(const struct aufs_dir *dir);
void aufs_dir_seek(struct aufs_dir *dir, long pos);
void aufs_dir_rewind(struct aufs_dir *dir);
int aufs_dir_fd(const struct aufs_dir *dir);
/* Closes the fd too. Returns 0 or -errno of the close. */
int aufs_dir_close(struct aufs_dir *dir);

/* ------------------------------------------------------------------ util_exec.c */

/*
 * Helpers of the exec and posix_spawn shims. All of them may run in a vfork
 * child: no allocation, no locks, raw system calls, caller-owned buffers.
 */

#define AUFS_SHEBANG_MAX   256	/* bytes of a "#!" line the kernel reads (BINPRM_BUF_SIZE) */
#define AUFS_SHEBANG_DEPTH 4	/* nested interpreters the kernel follows */

/*
 * Parse a "#!" line exactly as the kernel does (fs/binfmt_script.c) from the LEN
 * first bytes of a file in BUF (AUFS_SHEBANG_MAX + 1 bytes; modified in place).
 * Returns 0 with *ret_name and *ret_arg (NULL when none) pointing into BUF, 1 when
 * BUF does not start with "#!", or -ENOEXEC when the kernel would refuse the line.
 */
int aufs_shebang_parse(char *buf, size_t len, char **ret_name, char **ret_arg);
/* The same, reading the start of the open file FD (pread: the offset stays). */
int aufs_shebang_read_fd(int fd, char *buf, char **ret_name, char **ret_arg);
/*
 * The same for the host file PATH, whose stat ST the caller may already have
 * (else NULL). Returns 1 without opening anything unless PATH is a regular file
 * with an execute bit, -errno when it cannot be read.
 */
int aufs_shebang_read(const char *path, const struct stat *st, char *buf, char **ret_name,
		      char **ret_arg);

/*
 * The PATH walk of execvp(3): the next candidate "DIR/FILE" into BUF (SIZE bytes)
 * from the PATH value at *CURSOR, which it advances (NULL at the end). An empty
 * entry means the current directory ("FILE"); an entry too long for BUF is
 * skipped. Returns 1, or 0 when PATH is exhausted.
 */
int aufs_path_next(const char **cursor, const char *file, char *buf, size_t size);

/*
 * Is the library LIB (a path) listed in the LD_PRELOAD value VALUE (entries
 * separated by ':' or blanks, as ld.so splits them)? An entry with LIB's base
 * name counts too (another path to the same library). Returns the offset of the
 * end of that entry in VALUE, or -1.
 */
long aufs_preload_find(const char *value, const char *lib);

#endif /* AUFS_CORE_H */
