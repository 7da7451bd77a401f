/* SPDX-License-Identifier: MIT */
/*
 * util_root.c - a process holds the root directory of every branch it uses as a
 * descriptor, and every system call the core makes on a branch path goes
 * through it.
 *
 * Why. aufs holds its branches: a branch directory renamed on disk, or its path
 * given to another directory, is still the branch until it is deleted from the
 * union. A path string would follow the rename's new occupant (or nothing). So
 * the first time a process resolves a path in a union (resolve_walk.c) it opens
 * each branch root O_PATH, close-on-exec, checks that it is the directory the
 * union was configured or loaded with (device and inode, which a host table
 * records when it is compiled: state_table.c), and moves it to a number of
 * AUFS_ROOT_FD_MIN or more, above what a program hands out first.
 *
 * How the core uses it. Real paths stay strings (every cache and message keeps
 * its key), and the kernel seam (include/aufs/sys.h) turns a call on an absolute
 * path below a held root into the same call relative to the root's descriptor:
 * lstat("/srv/base/a/b") becomes newfstatat(N, "a/b"). Calls that have no *at
 * form (truncate, the xattr calls, statfs, chdir) take the descriptor's
 * /proc/thread-self/fd/N entry, which the kernel resolves to the same directory.
 * The hot verbs (a cached stat, an open) hand the kernel a relative path
 * themselves (root_at() below), so the seam costs them nothing. A held root
 * that is not the union's directory any more (renamed or replaced before this
 * process first used it) is stale: every call below it is -ESTALE, said once,
 * never the replacement's files.
 *
 * The descriptors outlive calls, so the program must not close them: the close,
 * dup2, dup3, close_range and closefrom shims (preload/fd.c) skip them or move
 * them first (aufs_root_is_held(), aufs_root_move()). A descriptor closed with a
 * raw system call is not noticed; its number is only reused by the kernel once
 * every lower number is taken. Roots are never released: a branch deleted by a
 * remount stays open in a process that held it until the process exits or
 * execs, as a current directory inside it would.
 *
 * Concurrency. Roots are added under a try-lock (a holder that finds it taken
 * uses paths for this call and tries again at the next), never removed, and
 * published slot by slot: readers take no lock. A vfork child never adds one
 * (its descriptors are not its parent's, and it shares its parent's memory).
 */
#include <sys/mman.h>
#include <sys/resource.h>

#include "internal.h"

#define ROOT_SLOTS 4096			/* power of two */
#define ROOT_MAX   2048			/* held at most per process; beyond, paths */
#define ROOT_LENS  16			/* distinct root lengths the seam tries */
#define PROC_FD    "/proc/thread-self/fd/"
#define PROC_FD_LEN (sizeof(PROC_FD) - 1)

struct root {
	_Atomic uint32_t ready;		/* 0 empty, 1 published */
	uint32_t len;
	uint64_t hash;
	dev_t dev;
	ino_t ino;
	char *path;
};

static struct root roots[ROOT_SLOTS];
/* Each slot's descriptor, apart: the hot verbs read it inline (internal.h) */
_Atomic int aufs_root_fds[ROOT_SLOTS];
#define ROOT_FD(r) aufs_root_fds[(r) - roots]
static unsigned root_count;
static _Atomic uint32_t root_lens[ROOT_LENS];
static _Atomic unsigned root_nlens;
static _Atomic bool root_lock;
_Atomic unsigned aufs_roots_held;
/* The roots a thread found last: a union's calls go to two or three of them. */
static __thread uint32_t root_mru[2];

/* Which descriptors are roots, for the fd shims: one bit each below ROOT_FDMAP. */
_Atomic uint64_t aufs_root_fdmap[AUFS_ROOT_FDMAP / 64];
#define root_fdmap aufs_root_fdmap
#define ROOT_FDMAP AUFS_ROOT_FDMAP
static _Atomic int root_fd_max = -1;

/* Path copies: a page at a time, mapped raw (never freed, never malloc). */
static char *arena;
static size_t arena_left;

static char *arena_copy(const char *s, size_t len)
{
	char *p;

	if (arena_left < len + 1) {
		size_t size = len + 1 > 65536 ? len + 1 : 65536;
		void *m = sys_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);

		if (sys_mmap_failed(m))
			return NULL;
		arena = m;
		arena_left = size;
	}
	p = arena;
	memcpy(p, s, len);
	p[len] = 0;
	arena += len + 1;
	arena_left -= len + 1;
	return p;
}

static void fdmap_set(int fd, bool on)
{
	if (fd < 0 || (unsigned)fd >= ROOT_FDMAP)
		return;
	if (on)
		atomic_fetch_or(&root_fdmap[fd / 64], 1ull << (fd % 64));
	else
		atomic_fetch_and(&root_fdmap[fd / 64], ~(1ull << (fd % 64)));
	if (on && fd > atomic_load(&root_fd_max))
		atomic_store(&root_fd_max, fd);
}

int aufs_root_next(unsigned from, unsigned last)
{
	int max = atomic_load_explicit(&root_fd_max, memory_order_relaxed);

	for (unsigned fd = from; max >= 0 && fd <= (unsigned)max && fd <= last; fd++)
		if (aufs_root_is_held((int)fd))
			return (int)fd;
	return -1;
}

int aufs_root_move(int fd)
{
	int nfd;

	if (!aufs_root_is_held(fd))
		return 0;
	nfd = (int)AUFS_RAW_SYS(SYS_fcntl, fd, F_DUPFD_CLOEXEC, AUFS_ROOT_FD_MIN, 0, 0, 0);
	if (nfd < 0)
		return nfd;
	for (unsigned i = 0; i < ROOT_SLOTS; i++)
		if (atomic_load_explicit(&roots[i].ready, memory_order_acquire) &&
		    atomic_load(&aufs_root_fds[i]) == fd)
			atomic_store(&aufs_root_fds[i], nfd);
	fdmap_set(nfd, true);
	fdmap_set(fd, false);
	return 0;
}

/* ---------------------------------------------------------------- lookup */

static struct root *root_find_len(const char *p, uint32_t len, uint64_t h)
{
	for (uint32_t i = (uint32_t)h & (ROOT_SLOTS - 1);; i = (i + 1) & (ROOT_SLOTS - 1)) {
		struct root *r = &roots[i];

		if (!atomic_load_explicit(&r->ready, memory_order_acquire))
			return NULL;
		if (r->len == len && r->hash == h && memcmp(r->path, p, len) == 0)
			return r;
	}
}

static bool root_covers(const struct root *r, const char *p)
{
	return strncmp(p, r->path, r->len) == 0 && (p[r->len] == '/' || p[r->len] == 0);
}

/* The held root that P (absolute) is at or below, or NULL. */
static struct root *root_of(const char *p)
{
	unsigned nlens = atomic_load_explicit(&root_nlens, memory_order_acquire);
	size_t plen;

	for (int i = 0; i < 2; i++) {
		uint32_t s = root_mru[i];

		if (s && root_covers(&roots[s - 1], p))
			return &roots[s - 1];
	}
	plen = strnlen(p, PATH_MAX);
	for (unsigned i = 0; i < nlens; i++) {
		uint32_t len = atomic_load_explicit(&root_lens[i], memory_order_relaxed);
		struct root *r;

		if (len > plen || (p[len] != '/' && p[len] != 0))
			continue;
		r = root_find_len(p, len, fnv1a(FNV_INIT, p, len));
		if (r) {
			root_mru[1] = root_mru[0];
			root_mru[0] = (uint32_t)(r - roots) + 1;
			return r;
		}
	}
	return NULL;
}

bool aufs_root_held_path(const char *p, size_t len)
{
	unsigned nlens = atomic_load_explicit(&root_nlens, memory_order_acquire);

	if (len <= 1 || len >= PATH_MAX || p[0] != '/' ||
	    !atomic_load_explicit(&aufs_roots_held, memory_order_relaxed))
		return false;
	/* hashed only when some held root is that long */
	for (unsigned i = 0; i < nlens; i++)
		if (atomic_load_explicit(&root_lens[i], memory_order_relaxed) == len)
			return root_find_len(p, (uint32_t)len, fnv1a(FNV_INIT, p, len)) != NULL;
	return false;
}

int aufs_root_at(const char **path)
{
	const char *p = *path;
	struct root *r;
	int fd;

	if (!p || p[0] != '/' || !atomic_load_explicit(&aufs_roots_held, memory_order_relaxed))
		return AT_FDCWD;
	r = root_of(p);
	if (!r)
		return AT_FDCWD;
	fd = atomic_load_explicit(&ROOT_FD(r), memory_order_relaxed);
	if (fd == AUFS_ROOT_STALE)
		return -ESTALE;
	p += r->len;
	while (*p == '/')
		p++;
	*path = *p ? p : ".";
	return fd;
}

const char *aufs_root_proc(const char *path, char *buf, int *err)
{
	const char *rel = path;
	int fd = aufs_root_at(&rel);
	size_t n, rl;

	*err = 0;
	if (fd == AT_FDCWD)
		return path;
	if (fd < 0) {
		*err = fd;
		return path;
	}
	memcpy(buf, PROC_FD, PROC_FD_LEN);
	n = PROC_FD_LEN;
	{
		char num[12];
		int k = 0;

		do
			num[k++] = (char)('0' + fd % 10);
		while ((fd /= 10) > 0);
		while (k)
			buf[n++] = num[--k];
	}
	rl = strlen(rel);
	if (n + 1 + rl + 1 > PATH_MAX)
		return path;	/* too long for the /proc form: by the path */
	buf[n++] = '/';
	memcpy(buf + n, rel, rl + 1);
	return buf;
}

/* The name *PATH below a held root, relative to it in *DIRFD: 0, or -ESTALE. */
static int at_root(long *dirfd, long *path)
{
	const char *p = (const char *)*path;
	int fd = aufs_root_at(&p);

	if (fd == AT_FDCWD)
		return 0;
	if (fd < 0)
		return fd;
	*dirfd = fd;
	*path = (long)p;
	return 0;
}

/* The one seam for the calls of include/aufs/sys.h on absolute branch paths. */
long aufs_root_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	char buf[PATH_MAX];
	int err = 0;

	switch (aufs_root_arg(n)) {
	case 1:		/* no *at form: the root's /proc entry */
		a = (long)aufs_root_proc((const char *)a, buf, &err);
		break;
	case 2:
		err = at_root(&a, &b);
		break;
	case 3:		/* symlinkat: the link's name, not its target */
		err = at_root(&b, &c);
		break;
	case 4:		/* linkat, renameat2: both names */
		err = at_root(&a, &b);
		if (!err)
			err = at_root(&c, &d);
		break;
	}
	return err ? err : aufs_raw_syscall6(n, a, b, c, d, e, f);
}

/* ---------------------------------------------------------------- holding */

/*
 * A copy of FD at AUFS_ROOT_FD_MIN or above. Under a lower soft limit, the soft
 * limit is raised for the call where the hard one allows, and put back (a
 * descriptor above the soft limit stays valid): a root never takes a number the
 * program counts on, even at its limit. -EMFILE when there is none.
 */
static int root_move_up(int fd)
{
	struct rlimit64 lim, raised;
	int nfd = (int)AUFS_RAW_SYS(SYS_fcntl, fd, F_DUPFD_CLOEXEC, AUFS_ROOT_FD_MIN, 0, 0, 0);

	if (nfd != -EINVAL && nfd != -EMFILE)
		return nfd;
	if (sys_prlimit64(RLIMIT_NOFILE, NULL, &lim) < 0 ||
	    lim.rlim_max <= AUFS_ROOT_FD_MIN + 64)
		return -EMFILE;
	raised = lim;
	raised.rlim_cur = lim.rlim_cur > AUFS_ROOT_FD_MIN + 64 ? lim.rlim_cur + 1
								: AUFS_ROOT_FD_MIN + 64;
	if (raised.rlim_cur > lim.rlim_max || sys_prlimit64(RLIMIT_NOFILE, &raised, NULL) < 0)
		return -EMFILE;
	nfd = (int)AUFS_RAW_SYS(SYS_fcntl, fd, F_DUPFD_CLOEXEC, AUFS_ROOT_FD_MIN, 0, 0, 0);
	(void)sys_prlimit64(RLIMIT_NOFILE, &lim, NULL);
	return nfd < 0 ? -EMFILE : nfd;
}

static int root_open(const struct aufs_branch *br, struct stat *st)
{
	int fd = (int)AUFS_RAW_SYS(SYS_openat, AT_FDCWD, br->path,
				   O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, 0, 0);
	int nfd, r;

	if (fd < 0)
		return fd;
	r = (int)AUFS_RAW_SYS(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH, 0, 0);
	if (r < 0) {
		(void)AUFS_RAW_SYS(SYS_close, fd, 0, 0, 0, 0, 0);
		return r;
	}
	nfd = root_move_up(fd);
	(void)AUFS_RAW_SYS(SYS_close, fd, 0, 0, 0, 0, 0);
	return nfd;
}

static bool same_dir(const struct root *r, const struct aufs_branch *br)
{
	return !br->ino || (r->dev == br->dev && r->ino == br->ino);
}

static void say_stale(const struct aufs_union *u, const struct aufs_branch *br)
{
	aufs_say(NULL,
		 "branch %s of %s is not the directory it was mounted with (renamed or replaced on "
		 "disk): its calls fail with ESTALE until a remount",
		 br->path, u->mnt);
}

/* Fill R for BR (held, or stale); false when nothing may be held for it now. */
static bool root_fill(struct root *r, const struct aufs_union *u, const struct aufs_branch *br)
{
	struct stat st;
	int fd = root_open(br, &st);

	if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP ||
	    (fd >= 0 && br->ino && (st.st_dev != br->dev || st.st_ino != br->ino))) {
		if (fd >= 0)
			(void)AUFS_RAW_SYS(SYS_close, fd, 0, 0, 0, 0, 0);
		say_stale(u, br);
		r->dev = br->dev;
		r->ino = br->ino;
		atomic_store(&ROOT_FD(r), AUFS_ROOT_STALE);
		return true;
	}
	if (fd < 0)
		return false;	/* no descriptor to spare, or no search right: by path */
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	atomic_store(&ROOT_FD(r), fd);
	fdmap_set(fd, true);
	return true;
}

/* Make LEN one the seam tries; false when ROOT_LENS are taken (that root is not held). */
static bool root_add_len(uint32_t len)
{
	unsigned n = atomic_load(&root_nlens);

	for (unsigned i = 0; i < n; i++)
		if (atomic_load(&root_lens[i]) == len)
			return true;
	if (n == ROOT_LENS)
		return false;
	atomic_store(&root_lens[n], len);
	atomic_store_explicit(&root_nlens, n + 1, memory_order_release);
	return true;
}

static void root_hold(const struct aufs_union *u, struct aufs_branch *br)
{
	uint64_t h = fnv1a(FNV_INIT, br->path, br->len);
	struct root *r = root_find_len(br->path, (uint32_t)br->len, h);
	uint32_t i;

	if (r) {
		int fd = atomic_load(&ROOT_FD(r));

		if (same_dir(r, br) && fd >= 0) {
			atomic_store(&br->root, (int)(r - roots) + 1);
			return;
		}
		/*
		 * Another identity for the same path: a remount recorded the directory
		 * the path names now. The slot follows it; the old descriptor stays open.
		 */
		if (root_fill(r, u, br)) {
			if (fd >= 0)
				fdmap_set(fd, false);
			atomic_store(&br->root, (int)(r - roots) + 1);
		}
		return;
	}
	/* a root the seam could not find is not held: every call names the branch alike */
	if (root_count >= ROOT_MAX || br->len >= PATH_MAX || !root_add_len((uint32_t)br->len))
		return;
	for (i = (uint32_t)h & (ROOT_SLOTS - 1); atomic_load(&roots[i].ready);
	     i = (i + 1) & (ROOT_SLOTS - 1))
		;
	r = &roots[i];
	r->path = arena_copy(br->path, br->len);
	if (!r->path || !root_fill(r, u, br))
		return;
	r->len = (uint32_t)br->len;
	r->hash = h;
	root_count++;
	atomic_store_explicit(&r->ready, 1, memory_order_release);
	atomic_store(&br->root, (int)i + 1);
	atomic_store_explicit(&aufs_roots_held, 1, memory_order_release);
}

void aufs_roots_hold(struct aufs_union *u)
{
	if (atomic_exchange_explicit(&root_lock, true, memory_order_acquire))
		return;	/* another thread is adding: by path this time */
	if (!atomic_load(&u->roots_held)) {
		for (int b = 0; b < u->nbranch; b++)
			if (!atomic_load(&u->branch[b].root))
				root_hold(u, &u->branch[b]);
		atomic_store_explicit(&u->roots_held, true, memory_order_release);
	}
	atomic_store_explicit(&root_lock, false, memory_order_release);
}

