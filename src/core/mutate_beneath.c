/* SPDX-License-Identifier: MIT */
/*
 * mutate_beneath.c - every write into a branch is made through a directory opened
 * from the branch root without following a symlink.
 *
 * Why. The resolver checks a real path one component at a time, then a verb
 * hands the kernel the whole string, which walks it again. A tenant who can
 * write its branch can swap a directory of it for a symlink in between; the
 * kernel follows it, and a root cron job creating or copying up through the
 * union writes wherever the tenant points (tests/stress/symrace.c).
 *
 * How. A verb names its object relative to a descriptor of the object's parent
 * directory, opened with openat2(RESOLVE_NO_SYMLINKS). Branch paths are
 * canonical (state_config.c: no symlink up to the root) and real paths are
 * lexical (no ".."), so a walk that follows no symlink cannot leave the branch;
 * a directory swapped for a symlink makes the verb fail with ELOOP instead. A
 * path too long for PATH_MAX is "/proc/thread-self/fd/N/REST" (util_long.c): REST
 * is resolved beneath N (RESOLVE_BENEATH), N having been opened the same way.
 * The object itself: verbs that never follow a last symlink (unlink, rmdir,
 * mkdir, mknod, symlink, link, rename, lchown, utimensat with
 * AT_SYMLINK_NOFOLLOW) act on the name in that directory; those that would
 * (chmod, truncate, setxattr) act on a descriptor of the object opened the same
 * way, through its /proc/thread-self/fd entry, which names that very inode.
 * Without openat2 (a kernel before 5.6, a seccomp filter that refuses it) each
 * component is opened with O_NOFOLLOW | O_DIRECTORY.
 *
 * Cost: one openat2 and one close more per verb than the plain call (a rename
 * or link between two directories: two of each), once per directory per verb
 * (struct beneath_scope). An open of a file costs nothing more: the openat2 is
 * the open.
 *
 * Where no other user can change anything, none of this is needed: a directory
 * whose every component from "/" down is the caller's or root's, none writable by
 * others (a sticky directory protects the caller's and root's entries), cannot
 * be swapped by anyone but the caller, and the caller racing itself gains
 * nothing it could not do directly. A tenant's php-fpm writing in its own branch
 * is that case, and pays nothing; root's cron writing in a tenant's directory
 * is not. A verb on a name (which never follows it) needs only the directory's
 * place fixed: a closed parent is enough, whatever the directory's own mode.
 * What was found is kept per thread for a second (struct closed_dir), keyed by
 * euid, and forgotten at once for a path this process renames, removes, chmods
 * or chowns through the union.
 */
#include <linux/openat2.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "internal.h"
#include "util_hash.h"

#define PROC_FD "/proc/thread-self/fd/"
#define PROC_FD_LEN (sizeof(PROC_FD) - 1)

__thread struct beneath_scope *beneath_scope_cur;
/* Scopes begun by this thread: which verb a directory was first written in by. */
static __thread uint32_t scope_serial;

/* ---------------------------------------------------------------- closed directories */

#define CLOSED_SLOTS   128		/* two ways each: a directory and its parent rarely evict */
#define CLOSED_PATH    256		/* a longer directory is always opened */
#define CLOSED_BUCKETS 256
#define CLOSED_SEEN    8		/* directories written in once, by their hash */
/*
 * How long a thread trusts what it learnt: a change made outside this process
 * (root's chown -R of a tenant's directory to www-data) is seen within it.
 */
#define CLOSED_TTL_NS  1000000000ull

/* What a thread learnt of a directory by its lstat. */
struct closed_dir {
	uint64_t until;			/* CLOCK_MONOTONIC_COARSE ns; 0: empty */
	uint64_t chain_until;		/* dir_safe()'s verdict, kept until the earliest
					 * until of the entries it rests on; 0: none */
	uint32_t bgen;			/* its bucket's generation when learnt */
	uint32_t chain_epoch;		/* closed_epoch when the verdict was made */
	uid_t euid;			/* who learnt it */
	uid_t uid;			/* the directory's owner and mode */
	mode_t mode;
	uint16_t len;
	bool chain_safe;
	char path[CLOSED_PATH];
};

static __thread struct closed_dir *closed_dirs;	/* CLOSED_SLOTS, then CLOSED_SEEN */
static bool closed_enabled = true;
/*
 * Bumped for a path this process renames, removes, chmods, chowns or sets an
 * attribute of: what any thread learnt of a directory at that path is stale,
 * and below it too (a verdict rests on every ancestor's entry, and the epoch
 * below makes every verdict stale).
 */
static _Atomic uint32_t closed_bucket[CLOSED_BUCKETS];
/* Bumped with any bucket: every verdict over a chain of directories is stale. */
static _Atomic uint32_t closed_epoch;

/* The hash of directory DIR[0..LEN) ("/" when LEN is 0): its bucket and its slots. */
static uint64_t closed_hash(const char *dir, size_t len)
{
	return hash_fast(0, dir, len ? len : 1);
}

static _Atomic uint32_t *bucket_of(uint64_t h)
{
	return &closed_bucket[h % CLOSED_BUCKETS];
}

static void closed_changed(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	atomic_fetch_add_explicit(bucket_of(closed_hash(path, len)), 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&closed_epoch, 1, memory_order_relaxed);
}

static bool only_us(uid_t uid, uid_t euid)
{
	return uid == euid || uid == 0;
}

static uint64_t coarse_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)	/* the vDSO, not interposed */
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool closed_valid(const struct closed_dir *e, const char *dir, size_t len, uid_t euid,
			 uint64_t now, uint32_t bgen)
{
	return e->until > now && e->bgen == bgen && e->euid == euid && e->len == len &&
	       !memcmp(e->path, dir, len);
}

/* The length of DIR[0..LEN)'s parent (0: "/"). */
static size_t parent_len(const char *dir, size_t len)
{
	size_t plen = len;

	while (plen > 0 && dir[plen - 1] != '/')
		plen--;
	return plen ? plen - 1 : 0;
}

static struct closed_dir *closed_slot(uint64_t h, uid_t euid)
{
	return &closed_dirs[hash_mix(h, euid) % CLOSED_SLOTS & ~1u];
}

/* The thread's valid entry of DIR[0..LEN) (of hash H), or NULL. */
static struct closed_dir *closed_find_h(const char *dir, size_t len, uint64_t h, uid_t euid,
					uint64_t now)
{
	uint32_t bgen = atomic_load_explicit(bucket_of(h), memory_order_relaxed);
	struct closed_dir *e = closed_slot(h, euid);

	if (closed_valid(e, dir, len, euid, now, bgen))
		return e;
	return closed_valid(e + 1, dir, len, euid, now, bgen) ? e + 1 : NULL;
}

static struct closed_dir *closed_find(const char *dir, size_t len, uid_t euid, uint64_t now)
{
	return closed_find_h(dir, len, closed_hash(dir, len), euid, now);
}

/* Did the thread know DIR[0..LEN) before, its entry expired or not? */
static bool closed_known(const char *dir, size_t len, uid_t euid)
{
	const struct closed_dir *e = closed_slot(closed_hash(dir, len), euid);

	for (int i = 0; i < 2; i++, e++)
		if (e->until && e->euid == euid && e->len == len && !memcmp(e->path, dir, len))
			return true;
	return false;
}

/*
 * DIR[0..LEN) ("/" when LEN is 0), as the thread knows it or by an lstat now:
 * its owner and mode into *UID and *MODE, and true when nobody but EUID and root
 * can replace it or a directory above it ("/" itself; in such a parent that only
 * they can write, or in a sticky one when the entry is theirs).
 */
static bool dir_safe_until(const char *dir, size_t len, uid_t euid, uint64_t now, uid_t *uid,
			   mode_t *mode, uint64_t *until)
{
	uint64_t h = closed_hash(dir, len), puntil;
	uint32_t bgen = atomic_load_explicit(bucket_of(h), memory_order_relaxed);
	uint32_t epoch = atomic_load_explicit(&closed_epoch, memory_order_relaxed);
	struct closed_dir *e = closed_find_h(dir, len, h, euid, now);
	uid_t puid;
	mode_t pmode;
	bool safe;

	*until = 0;
	if (!e) {
		char path[CLOSED_PATH + 1];
		struct stat st;

		e = closed_slot(h, euid);
		if (e[1].until < e->until)
			e++;	/* the older of the two ways (an empty one is the oldest) */
		memcpy(path, dir, len);
		memcpy(path + (len ? len : 1), "", 1);
		if (!len)
			path[0] = '/';
		if (sys_lstat(path, &st) < 0)
			return false;
		e->until = 0;	/* a signal handler's call in between finds no half entry */
		atomic_signal_fence(memory_order_seq_cst);
		e->chain_until = 0;
		e->bgen = bgen;
		e->euid = euid;
		e->uid = st.st_uid;
		e->mode = st.st_mode;
		e->len = (uint16_t)len;
		memcpy(e->path, dir, len);
		atomic_signal_fence(memory_order_seq_cst);
		e->until = now + CLOSED_TTL_NS;
	}
	*uid = e->uid;
	*mode = e->mode;
	/* the verdict over the directories above, while none of them changed or expired */
	if (e->chain_until > now && e->chain_epoch == epoch) {
		*until = e->chain_until;
		return e->chain_safe;
	}
	puntil = e->until;
	if (!S_ISDIR(*mode)) {
		safe = false;
	} else if (!len || aufs_root_held_path(dir, len)) {
		safe = true;	/* "/", or a branch root: calls below it start at its descriptor */
	} else {
		safe = dir_safe_until(dir, parent_len(dir, len), euid, now, &puid, &pmode, &puntil) &&
		       ((only_us(puid, euid) && !(pmode & 022)) ||
			((pmode & S_ISVTX) && only_us(*uid, euid)));
		if (puntil > e->until)
			puntil = e->until;
	}
	e->chain_until = 0;	/* as the entry itself, for a signal handler's call */
	atomic_signal_fence(memory_order_seq_cst);
	e->chain_safe = safe;
	e->chain_epoch = epoch;
	atomic_signal_fence(memory_order_seq_cst);
	e->chain_until = puntil;
	*until = puntil;
	return safe;
}

static bool dir_safe(const char *dir, size_t len, uid_t euid, uint64_t now, uid_t *uid,
		     mode_t *mode)
{
	uint64_t until;

	return dir_safe_until(dir, len, euid, now, uid, mode, &until);
}

/*
 * Can nobody but the caller (and root) change DIR[0..LEN) or what is in it? Then
 * a write there may name its path: no race of another user's can redirect it.
 */
static bool dir_closed(const char *dir, size_t len, bool names)
{
	uid_t euid, uid;
	uint64_t now;
	mode_t mode;
	size_t plen;

	if (!closed_enabled || !len || dir[0] != '/' || len >= CLOSED_PATH)
		return false;
	if (!closed_dirs) {
		if (cache_is_noalloc())
			return false;	/* a vfork child allocates nothing: the descriptors then */
		closed_dirs = calloc(CLOSED_SLOTS + CLOSED_SEEN, sizeof(*closed_dirs));
		if (!closed_dirs)
			return false;
	}
	now = coarse_now();
	euid = creds_get()->euid;
	len = len == 1 ? 0 : len;
	plen = parent_len(dir, len);
	/*
	 * A verb that never follows its last component (NAMES) only needs the
	 * directory to stay where it is: a closed parent says so, whoever may write
	 * in the directory itself. The parent is learnt at once (one lstat) when its
	 * own parent is known.
	 */
	if (names && len && now &&
	    (closed_find(dir, plen, euid, now) ||
	     (plen && closed_find(dir, parent_len(dir, plen), euid, now))) &&
	    dir_safe(dir, plen, euid, now, &uid, &mode) && only_us(uid, euid) && !(mode & 022))
		return true;
	/*
	 * Learning costs an lstat per level, the descriptors two calls. A directory
	 * whose parent is known costs one lstat: it is learnt at once. One whose
	 * parent is not is learnt the second time it is written in within the TTL,
	 * so that a process writing once pays two calls, and one writing often, or
	 * in many directories of one tree, one lstat per directory at most. One
	 * known before, whose entry expired, is learnt again at once.
	 */
	if (!closed_find(dir, len, euid, now) && !(len && closed_find(dir, plen, euid, now)) &&
	    !closed_known(dir, len, euid)) {
		uint64_t h = hash_mix(closed_hash(dir, len), euid);
		struct closed_dir *seen = &closed_dirs[CLOSED_SLOTS + h % CLOSED_SEEN];

		/* the first verb to write there: the hash alone (a collision learns early) */
		if (!(seen->until > now && seen->bgen == (uint32_t)h && seen->euid == euid)) {
			seen->bgen = (uint32_t)h;
			seen->euid = euid;
			seen->uid = scope_serial;
			seen->until = now + CLOSED_TTL_NS;
			return false;
		}
		if (seen->uid == scope_serial && scope_serial)
			return false;	/* the same verb again: not yet a second write */
	}
	return now && dir_safe(dir, len, euid, now, &uid, &mode) && only_us(uid, euid) &&
	       !(mode & 022);
}

void beneath_set_closed(bool on)
{
	closed_enabled = on;
}

/* Set once openat2 has answered ENOSYS: the component walk from then on. */
static _Atomic bool no_openat2;

/*
 * Where REAL starts: AT_FDCWD and REAL itself, or, for util_long.c's
 * "/proc/thread-self/fd/N/REST", the descriptor N and REST.
 */
static const char *split_start(const char *real, int *at)
{
	const char *p = real + PROC_FD_LEN;
	long n = 0;

	*at = AT_FDCWD;
	/* the first byte after '/' tells almost every branch path from it */
	if (real[1] != 'p' || strncmp(real, PROC_FD, PROC_FD_LEN) || *p < '0' || *p > '9') {
		const char *rel = real;
		int root = aufs_root_at(&rel);	/* below a held branch root: from it */

		if (root < 0)
			return real;	/* none, or a stale one (-ESTALE from the call) */
		*at = root;
		return rel;
	}
	while (*p >= '0' && *p <= '9' && n < INT_MAX / 10)
		n = n * 10 + (*p++ - '0');
	if (*p != '/')
		return real;
	while (*p == '/')
		p++;
	*at = (int)n;
	return *p ? p : ".";
}

/* The walk without openat2: one O_NOFOLLOW open per component. */
static int walk_open(int at, const char *rel, int flags, mode_t mode)
{
	char comp[NAME_MAX + 1];
	int dir = at, fd;

	if (*rel == '/') {
		dir = sys_openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (dir < 0)
			return dir;
	}
	for (const char *p = rel;;) {
		const char *end;
		size_t n;

		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n > NAME_MAX)
			fd = -ENAMETOOLONG;
		else if (n == 2 && p[0] == '.' && p[1] == '.')
			fd = -EXDEV;	/* as RESOLVE_BENEATH: never above the start */
		else {
			const char *e = end;

			memcpy(comp, n ? p : ".", n ? n : 1);
			comp[n ? n : 1] = 0;
			while (*e == '/')
				e++;
			if (!*e) {	/* the object itself */
				fd = sys_openat(dir, comp, flags | O_NOFOLLOW, mode);
				if (dir != at)
					sys_close(dir);
				return fd;
			}
			fd = sys_openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
		}
		if (dir != at)
			sys_close(dir);
		if (fd < 0)
			return fd;	/* a symlink where a directory was: ENOTDIR, as a file */
		dir = fd;
		p = end;
	}
}

static bool parent_closed(const char *real);

/*
 * May an open with FLAGS lead to a write (what the walk without openat2 is for)?
 * A directory's descriptor may: the verbs write in it (mutate_whiteout.c).
 */
static bool open_writes(int flags)
{
	return (flags & (O_CREAT | O_TRUNC | O_DIRECTORY | O_PATH)) ||
	       (flags & O_ACCMODE) != O_RDONLY || (flags & O_TMPFILE) == O_TMPFILE;
}

int beneath_open_in(const struct aufs_branch *br, const char *real, int flags, mode_t mode)
{
	const char *rel = real;
	int at = br ? root_at(br, real, &rel) : AT_FDCWD, fd;

	if (at == -ESTALE)
		return at;
	if (at == AT_FDCWD)
		rel = split_start(real, &at);

	if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
		fd = sys_openat2(at, rel, flags, mode,
				 RESOLVE_NO_SYMLINKS | (at == AT_FDCWD ? 0 : RESOLVE_BENEATH));
		if (fd != -ENOSYS)
			return fd;
		atomic_store_explicit(&no_openat2, true, memory_order_relaxed);
	}
	/*
	 * The walk costs two calls per component: only for what writes, outside a
	 * closed directory. A read walks the path as the kernel does (valgrind,
	 * which has no openat2, measures this).
	 */
	/* from "/" or a held root (not util_long.c's descriptor): walked as the kernel walks */
	if ((at == AT_FDCWD || aufs_root_is_held(at)) && (!open_writes(flags) || parent_closed(real)))
		return sys_openat(at, rel, flags, mode);
	return walk_open(at, rel, flags, mode);
}

int beneath_open(const char *real, int flags, mode_t mode)
{
	return beneath_open_in(NULL, real, flags, mode);
}


/*
 * A scope left by a longjmp out of its verb (a signal handler's) never ended:
 * its frame is gone and its memory may hold anything. A scope is trusted only
 * with its mark, which holds its own address; the running verb's scope is also
 * above the frame that asks (a handler on an alternate stack keeps its outer
 * scope: it is the interrupted verb's, alive, and comes back when it ends).
 */
#define SCOPE_MARK 0x5bd1e995a4b3c2d1ull

static bool scope_marked(const struct beneath_scope *s)
{
	return s && s->mark == ((uintptr_t)s ^ SCOPE_MARK);
}

/* The scope of the running verb, or NULL. */
static __attribute__((noinline)) struct beneath_scope *scope_now(void)
{
	struct beneath_scope *s = beneath_scope_cur;

	if (s && !(scope_marked(s) && (uintptr_t)s > (uintptr_t)__builtin_frame_address(0)))
		beneath_scope_cur = s = NULL;	/* its descriptors are lost, not misused */
	return s;
}

struct beneath_scope *beneath_scope_begin(struct beneath_scope *s)
{
	struct beneath_scope *o = beneath_scope_cur;

	scope_serial++;
	s->outer = o != s && scope_marked(o) ? o : NULL;
	s->n = 0;
	s->mark = (uintptr_t)s ^ SCOPE_MARK;
	beneath_scope_cur = s;
	return s;
}

void beneath_scope_end(struct beneath_scope **sp)
{
	struct beneath_scope *s = *sp;

	beneath_scope_cur = s->outer;
	s->mark = 0;
	while (s->n)
		sys_close(s->fd[--s->n]);
}

/*
 * FD, opened for the caller while the scope holds directories: open(2) gives the
 * lowest free number, and a directory below FD is closed when the scope ends. FD
 * takes the lowest such number (dup3 over the directory, which the scope then
 * forgets), so that the caller finds no hole below it. The number to return.
 */
int beneath_scope_settle(int fd, int oflags)
{
	struct beneath_scope *low_s = NULL;
	unsigned low_i = 0;
	int low = fd;

	for (struct beneath_scope *s = scope_now(); s; s = s->outer)
		for (unsigned i = 0; i < s->n; i++)
			if (s->fd[i] < low) {
				low = s->fd[i];
				low_s = s;
				low_i = i;
			}
	if (!low_s || sys_dup3(fd, low, oflags & O_CLOEXEC) < 0)
		return fd;	/* failed: a number too high, never a descriptor lost */
	low_s->n--;
	low_s->fd[low_i] = low_s->fd[low_s->n];
	low_s->len[low_i] = low_s->len[low_s->n];
	memcpy(low_s->dir[low_i], low_s->dir[low_s->n], low_s->len[low_s->n]);
	sys_close(fd);
	return low;
}

/* A directory the current scope holds open, or -1. */
static int scope_find(const char *dir, size_t len)
{
	struct beneath_scope *s = scope_now();

	for (unsigned i = 0; s && i < s->n; i++)
		if (s->len[i] == len && !memcmp(s->dir[i], dir, len))
			return s->fd[i];
	return -1;
}

/* Keep FD (directory DIR) open until the scope ends: true, or false when it is full. */
static bool scope_keep(const char *dir, size_t len, int fd)
{
	struct beneath_scope *s = scope_now();

	if (!s || s->n >= BENEATH_SCOPE_DIRS || len >= BENEATH_SCOPE_PATH)
		return false;
	memcpy(s->dir[s->n], dir, len);
	s->len[s->n] = (uint16_t)len;
	s->fd[s->n] = fd;
	/* counted last: a signal handler's call in between sees a complete table */
	atomic_signal_fence(memory_order_seq_cst);
	s->n++;
	return true;
}

/* parent_open()'s answer when no descriptor can be had: the verb names the path. */
#define PARENT_PATH INT_MIN

static int at(int d)
{
	return d == PARENT_PATH ? AT_FDCWD : d;
}

/*
 * An O_PATH descriptor of REAL for a verb that the kernel makes without one
 * (unlink, rename, chmod...): a process at its descriptor limit must not get
 * EMFILE from them (issue: honest errors). The soft limit is raised by one for
 * the open when the hard limit allows it; when it does not, -EMFILE tells the
 * caller to use the path itself, the one case where the race stays open.
 */
/*
 * Raise the soft RLIMIT_NOFILE where the hard one allows, for N descriptors of the
 * library's: true, *SAVED to put back. A descriptor number must lie below the soft
 * limit, and one the library opened a moment ago above it already takes the
 * first number there: two of slack.
 */
static bool spare_raise(struct rlimit64 *saved, unsigned n)
{
	struct rlimit64 more;

	if (sys_prlimit64(RLIMIT_NOFILE, NULL, saved) < 0 || saved->rlim_cur >= saved->rlim_max)
		return false;
	more = *saved;
	more.rlim_cur = saved->rlim_max - saved->rlim_cur > n + 2 ? saved->rlim_cur + n + 2
								 : saved->rlim_max;
	return sys_prlimit64(RLIMIT_NOFILE, &more, NULL) == 0;
}

/* A descriptor above the limit put back stays valid: only new ones are refused. */
static void spare_restore(const struct rlimit64 *saved)
{
	(void)sys_prlimit64(RLIMIT_NOFILE, saved, NULL);
}

int beneath_open_spare(const char *real, int flags, mode_t mode)
{
	struct rlimit64 lim;
	int fd = beneath_open(real, flags, mode);

	if (fd != -EMFILE || !spare_raise(&lim, 1))
		return fd;
	fd = beneath_open(real, flags, mode);
	spare_restore(&lim);
	return fd;
}


/*
 * The directory holding REAL's last component, opened O_PATH beneath its start
 * (or the one the verb's scope holds); NAME gets that component. Trailing
 * slashes are not part of it (the resolver has judged them). parent_put() gives
 * it back.
 */
static int parent_open(const char *real, char *buf, const char **name)
{
	char dir[PATH_MAX];
	size_t len = strlen(real), end, slash;
	int fd;

	while (len > 1 && real[len - 1] == '/')
		len--;
	for (slash = len; slash > 0 && real[slash - 1] != '/'; slash--)
		;
	if (!slash || len - slash > NAME_MAX)
		return slash ? -ENAMETOOLONG : -EINVAL;	/* real paths are absolute */
	memcpy(buf, real + slash, len - slash);
	buf[len - slash] = 0;
	*name = buf;
	for (end = slash; end > 1 && real[end - 1] == '/'; end--)
		;
	fd = scope_find(real, end);
	if (fd >= 0)
		return fd;
	if (dir_closed(real, end, true)) {
		*name = real;	/* nobody else can change it: the path is as safe */
		return PARENT_PATH;
	}
	memcpy(dir, real, end);
	dir[end] = 0;
	fd = beneath_open_spare(dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd == -EMFILE || fd == -ENFILE) {
		*name = real;	/* no descriptor to be had: the path, as the kernel needs */
		return PARENT_PATH;
	}
	if (fd >= 0)
		(void)scope_keep(dir, end, fd);
	return fd;
}

/*
 * REAL was renamed or removed: the directories the scope holds at REAL or below
 * it are not at their paths any more.
 */
static void scope_forget(const char *real)
{
	struct beneath_scope *s = scope_now();
	size_t len = strlen(real);

	for (unsigned i = 0; s && i < s->n;) {
		if (s->len[i] >= len && !memcmp(s->dir[i], real, len) &&
		    (s->len[i] == len || s->dir[i][len] == '/')) {
			int fd = s->fd[i];

			s->n--;
			s->fd[i] = s->fd[s->n];
			s->len[i] = s->len[s->n];
			memcpy(s->dir[i], s->dir[s->n], s->len[s->n]);
			sys_close(fd);
		} else {
			i++;
		}
	}
}

/* Close FD from parent_open() unless the scope keeps it. */
static void parent_put(int fd)
{
	struct beneath_scope *s = scope_now();

	if (fd == PARENT_PATH)
		return;
	for (unsigned i = 0; s && i < s->n; i++)
		if (s->fd[i] == fd)
			return;
	sys_close(fd);
}

/* The calls that act on a name in its directory, and what each takes. */
enum name_verb { NAME_CREATE, NAME_UNLINK, NAME_MKDIR, NAME_MKNOD, NAME_SYMLINK, NAME_CHOWN,
		 NAME_UTIMENS, NAME_LINK_INTO };

struct name_args {
	int flags;
	mode_t mode;
	dev_t dev;
	uid_t uid;
	gid_t gid;
	const char *target;		/* a symlink's; a link's source path */
	int olddir;			/* a link's source directory */
	const struct timespec *ts;
};

static int name_call(enum name_verb v, int d, const char *name, const struct name_args *a)
{
	switch (v) {
	case NAME_CREATE:
		return sys_openat(d, name, a->flags | O_NOFOLLOW, a->mode);
	case NAME_UNLINK:
		return sys_unlinkat(d, name, a->flags);
	case NAME_MKDIR:
		return sys_mkdirat(d, name, a->mode);
	case NAME_MKNOD:
		return sys_mknodat(d, name, a->mode, a->dev);
	case NAME_SYMLINK:
		return sys_symlinkat(a->target, d, name);
	case NAME_CHOWN:
		return sys_fchownat(d, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW);
	case NAME_UTIMENS:
		return sys_utimensat(d, name, a->ts, AT_SYMLINK_NOFOLLOW);
	case NAME_LINK_INTO:
		return sys_linkat(a->olddir, a->target, d, name, a->flags);
	}
	return -EINVAL;
}

/* V on REAL's last name, in its directory opened beneath (or held, or closed). */
static int name_verb(enum name_verb v, const char *real, const struct name_args *a)
{
	char buf[NAME_MAX + 1];
	const char *name;
	int d = parent_open(real, buf, &name), r;

	if (d < 0 && d != PARENT_PATH)
		return d;
	r = name_call(v, at(d), name, a);
	parent_put(d);
	return r;
}

int beneath_create_in(const char *real, int flags, mode_t mode)
{
	const struct name_args a = { .flags = flags, .mode = mode };
	struct rlimit64 lim;
	int fd = name_verb(NAME_CREATE, real, &a);

	/* a copy-up's temporary: its directory's descriptor and its own */
	if (fd != -EMFILE || !spare_raise(&lim, 2))
		return fd;
	fd = name_verb(NAME_CREATE, real, &a);
	spare_restore(&lim);
	return fd;
}

int beneath_unlinkat(const char *real, int flags)
{
	const struct name_args a = { .flags = flags };
	int r = name_verb(NAME_UNLINK, real, &a);

	if (r == 0 && (flags & AT_REMOVEDIR)) {
		scope_forget(real);
		closed_changed(real);
	}
	return r;
}

int beneath_mkdirat(const char *real, mode_t mode)
{
	const struct name_args a = { .mode = mode };

	return name_verb(NAME_MKDIR, real, &a);
}

int beneath_mknodat(const char *real, mode_t mode, dev_t dev)
{
	const struct name_args a = { .mode = mode, .dev = dev };

	return name_verb(NAME_MKNOD, real, &a);
}

int beneath_symlinkat(const char *target, const char *real)
{
	const struct name_args a = { .target = target };

	return name_verb(NAME_SYMLINK, real, &a);
}

int beneath_fchownat(const char *real, uid_t uid, gid_t gid)
{
	const struct name_args a = { .uid = uid, .gid = gid };

	closed_changed(real);	/* an owner decides who may change a directory */
	return name_verb(NAME_CHOWN, real, &a);
}

int beneath_utimensat(const char *real, const struct timespec ts[2])
{
	const struct name_args a = { .ts = ts };
	int d = scope_find(real, strlen(real));

	if (d >= 0)	/* a directory the scope holds: no walk at all */
		return sys_utimensat(d, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	return name_verb(NAME_UTIMENS, real, &a);
}

int beneath_link_into(int olddir, const char *old, int flags, const char *to)
{
	const struct name_args a = { .olddir = olddir, .target = old, .flags = flags };

	return name_verb(NAME_LINK_INTO, to, &a);
}

/* Does A's parent directory have the same path as B's? (one descriptor for both) */
static bool same_parent(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');

	return sa && sb && sa - a == sb - b && !memcmp(a, b, (size_t)(sa - a)) && sa[1] && sb[1];
}

/* The two names of a rename or a link, each in its parent's descriptor. */
struct two_names {
	int from_dir, to_dir;
	const char *from, *to;
	char from_buf[NAME_MAX + 1], to_buf[NAME_MAX + 1];
};

static int two_open(const char *from, const char *to, struct two_names *t)
{
	t->from_dir = parent_open(from, t->from_buf, &t->from);
	if (t->from_dir < 0 && t->from_dir != PARENT_PATH)
		return t->from_dir;
	if (t->from_dir != PARENT_PATH && same_parent(from, to)) {
		t->to = strrchr(to, '/') + 1;
		t->to_dir = t->from_dir;
		return 0;
	}
	t->to_dir = parent_open(to, t->to_buf, &t->to);
	if (t->to_dir < 0 && t->to_dir != PARENT_PATH) {
		parent_put(t->from_dir);
		return t->to_dir;
	}
	return 0;
}

static void two_close(struct two_names *t)
{
	if (t->to_dir != t->from_dir)
		parent_put(t->to_dir);
	parent_put(t->from_dir);
}

int beneath_renameat2(const char *from, const char *to, unsigned flags)
{
	struct two_names t;
	int r = two_open(from, to, &t);

	if (r < 0)
		return r;
	r = sys_renameat2(at(t.from_dir), t.from, at(t.to_dir), t.to, flags & ~BENEATH_NOT_DIRS);
	two_close(&t);
	if (r == 0 && !(flags & BENEATH_NOT_DIRS)) {
		scope_forget(from);
		scope_forget(to);	/* replaced, or exchanged */
		closed_changed(from);	/* a directory may have moved out or in */
		closed_changed(to);
	}
	return r;
}

int beneath_linkat(const char *from, const char *to)
{
	struct two_names t;
	int r = two_open(from, to, &t);

	if (r < 0)
		return r;
	r = sys_linkat(at(t.from_dir), t.from, at(t.to_dir), t.to, 0);
	two_close(&t);
	return r;
}

/* "/proc/thread-self/fd/FD" into BUF (at least 32 bytes). */
static void proc_fd_path(char *buf, int fd)
{
	char digits[12];
	size_t n = 0, k = PROC_FD_LEN;
	unsigned v = (unsigned)fd;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	memcpy(buf, PROC_FD, PROC_FD_LEN);
	while (n)
		buf[k++] = digits[--n];
	buf[k] = 0;
}

/*
 * The verbs that would follow a last symlink act on a descriptor of the object:
 * opened O_PATH beneath (a symlink swapped in is ELOOP), then named through its
 * /proc entry. Without /proc (ENOENT from a descriptor that exists) the path
 * itself is used: that race is then open, as documented in aufs-preload(7).
 */
enum object_verb { OBJ_CHMOD, OBJ_TRUNCATE, OBJ_SETXATTR, OBJ_REMOVEXATTR };

struct object_args {
	mode_t mode;
	off_t len;
	const char *name;
	const void *value;
	size_t size;
	int flags;
};

static bool proc_missing(void)
{
	struct stat st;

	return sys_fstatat(AT_FDCWD, PROC_FD, &st, 0) == -ENOENT;
}

static int object_call(enum object_verb v, const char *path, const struct object_args *a,
		       bool nofollow)
{
	switch (v) {
	case OBJ_CHMOD:
		return sys_fchmodat(AT_FDCWD, path, a->mode);
	case OBJ_TRUNCATE:
		return sys_truncate(path, a->len);
	case OBJ_SETXATTR:
		return sys_setxattr(path, a->name, a->value, a->size, a->flags, nofollow);
	case OBJ_REMOVEXATTR:
		return sys_removexattr(path, a->name, nofollow);
	}
	return -EINVAL;
}

/* Is the directory holding REAL closed (dir_closed())? */
static bool parent_closed(const char *real)
{
	const char *slash = strrchr(real, '/');

	return slash && slash[1] &&
	       dir_closed(real, slash > real ? (size_t)(slash - real) : 1, false);
}

static int object_verb(enum object_verb v, const char *real, const struct object_args *a,
		       bool nofollow)
{
	char proc[32];
	int fd, r;

	if (v != OBJ_TRUNCATE)
		closed_changed(real);	/* a mode or an ACL may open a directory up */
	if (parent_closed(real))
		return object_call(v, real, a, nofollow);	/* nobody else can swap it */
	fd = beneath_open_spare(real, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0);

	if (fd == -EMFILE || fd == -ENFILE)
		return object_call(v, real, a, nofollow);	/* as parent_open() */
	if (fd < 0)
		return fd;
	proc_fd_path(proc, fd);
	/* the magic link leads to the inode itself, a symlink's included */
	r = object_call(v, proc, a, false);
	if (r == -ENOENT && proc_missing())
		r = object_call(v, real, a, nofollow);
	sys_close(fd);
	return r;
}

int beneath_fchmodat(const char *real, mode_t mode)
{
	const struct object_args a = { .mode = mode };

	return object_verb(OBJ_CHMOD, real, &a, false);
}

int beneath_setxattr(const char *real, const char *name, const void *value, size_t size,
		     int flags, bool nofollow)
{
	const struct object_args a = { .name = name, .value = value, .size = size,
				       .flags = flags };

	return object_verb(OBJ_SETXATTR, real, &a, nofollow);
}

int beneath_removexattr(const char *real, const char *name, bool nofollow)
{
	const struct object_args a = { .name = name };

	return object_verb(OBJ_REMOVEXATTR, real, &a, nofollow);
}

int beneath_truncate(const char *real, off_t len)
{
	const struct object_args a = { .len = len };

	return object_verb(OBJ_TRUNCATE, real, &a, false);
}
