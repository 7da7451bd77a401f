/* SPDX-License-Identifier: MIT */
/*
 * util_long.c - real paths that do not fit in PATH_MAX.
 *
 * A union path the kernel accepts (up to PATH_MAX - 1 bytes) can have a real
 * path in a branch that is longer: the branch directory's own path is longer
 * than the mount point's. Such a path is never concatenated. It is named
 * relative to an O_PATH descriptor of a branch directory, through that
 * descriptor's /proc entry: "/proc/thread-self/fd/N/REST" (the thread's own
 * table: a thread may have unshared it), where N is the branch root (or, when
 * even REST would not fit, the shallowest directory below it that leaves a REST
 * that fits). Every caller keeps handling strings, so the builders in
 * util_path.c are the only ones to know.
 *
 * The descriptors belong to the call that made them: a call opens a scope
 * (aufs_call_begin(), in the generated shim prologue or in a verb that finishes
 * its work itself) and the end of the outermost one closes what was opened.
 * No such descriptor outlives the call (the branch roots of util_root.c do, guarded), so nothing the program does between calls
 * (closefrom, dup2 over a number, fork, exec) can meet one, and a descriptor
 * never points at a directory renamed since: within one call it names what the
 * path named. Outside a scope a path that does not fit is -ENAMETOOLONG, as
 * before. The pool is a page of the thread's, mapped with a raw mmap for the
 * call that needs it (never malloc: vfork children); a nested scope (a verb
 * calling a verb, a signal handler's call) leaves its slots to the outermost,
 * so a handler's call never closes what the call it interrupted still uses.
 */
#include <signal.h>
#include <sys/mman.h>

#include "internal.h"

#define PROC_FD     "/proc/thread-self/fd/"
#define PROC_FD_LEN (sizeof(PROC_FD) - 1)
/* "/proc/thread-self/fd/" + the largest descriptor number + "/" */
#define PROC_MAX    (PROC_FD_LEN + 10 + 1)
#define LONG_SLOTS  16
#define LONG_ARENA  2048
#define NO_ARENA    UINT32_MAX

struct long_slot {
	const struct aufs_branch *br;
	int fd;			/* -1 while being opened */
	uint32_t dlen;		/* bytes of the directory below the branch root; 0: the root */
	uint32_t doff;		/* those bytes in arena[], or NO_ARENA (not reused) */
};

__thread unsigned aufs_call_word;

/*
 * The slots of the open scopes: held() of them are in use. Mapped when a scope
 * first needs one and unmapped when the outermost ends, so that the library's
 * static TLS stays small (aufs-run dlopen()s it) and a thread keeps nothing.
 */
struct long_pool {
	uint32_t arena_used;
	struct long_slot slot[LONG_SLOTS];
	char arena[LONG_ARENA];
};
#define POOL_SIZE ((sizeof(struct long_pool) + 4095) & ~(size_t)4095)
static __thread struct long_pool *pool;

/* 1 once /proc/thread-self/fd/N was seen to work in this process. */
static _Atomic int proc_works;

static unsigned held(void)
{
	return aufs_call_word / AUFS_CALL_HELD;
}

/* This thread's pool, mapped on first use (a raw mmap: vfork children too). */
static struct long_pool *pool_get(void)
{
	void *p;

	if (pool)
		return pool;
	p = sys_mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sys_mmap_failed(p))
		return NULL;
	pool = p;
	return pool;
}

static long set_sigmask(int how, const uint64_t *set, uint64_t *old)
{
	return AUFS_SYS(SYS_rt_sigprocmask, how, set, old, sizeof(*set), 0, 0);
}

void aufs_call_end_slow(void)
{
	uint64_t all = ~(uint64_t)0, old;
	struct long_pool *p;
	bool masked;

	if (aufs_call_word & AUFS_CALL_DEPTH)
		return;	/* a nested scope: the outermost closes */
	/*
	 * The outermost scope ended holding descriptors. No signal handler may run
	 * while they are closed and the pool unmapped (its call would find the
	 * slots half given back): this is the long case, which may pay two calls.
	 */
	masked = set_sigmask(SIG_BLOCK, &all, &old) == 0;
	p = pool;
	while (p && held() > 0) {
		int fd = p->slot[held() - 1].fd;

		aufs_call_word -= AUFS_CALL_HELD;
		if (fd >= 0)
			(void)sys_close(fd);
	}
	if (p && sys_munmap(p, POOL_SIZE) == 0)
		pool = NULL;
	else if (p)
		p->arena_used = 0;
	if (masked)
		(void)set_sigmask(SIG_SETMASK, &old, NULL);
}

unsigned long_open_count(void)
{
	return held();
}

/* The name of a path: what follows the descriptor's "/proc/thread-self/fd/N/". */
struct rest {
	const char *a;		/* a directory part below the cut, or NULL */
	size_t alen;
	const char *pfx, *name;	/* the last component, when there is one after A */
	size_t plen, nlen;
	bool with_name;
};

static size_t rest_len(const struct rest *r)
{
	size_t n = r->alen;

	if (r->with_name)
		n += (r->alen ? 1 : 0) + r->plen + r->nlen;
	return n;
}

/* REST of S = A[0..ALEN) ["/" PFX NAME] below a cut of DLEN bytes of A. */
static struct rest rest_below(const char *a, size_t alen, const char *pfx, size_t plen,
			      const char *name, size_t nlen, bool with_name, size_t dlen)
{
	size_t skip = dlen == 0 ? 0 : dlen == alen ? alen : dlen + 1;

	return (struct rest){ .a = a + skip, .alen = alen - skip, .pfx = pfx, .plen = plen,
			      .name = name, .nlen = nlen, .with_name = with_name };
}

/* Is A[0..DLEN) a cut: the root, a directory of A, or A itself when a name follows? */
static bool is_cut(const char *a, size_t alen, size_t dlen, bool with_name)
{
	if (dlen == 0)
		return alen > 0 || with_name;
	return dlen < alen ? a[dlen] == '/' : with_name && dlen == alen;
}

static size_t put_fd(char *buf, int fd)
{
	char digits[12];
	size_t n = 0, k = 0;
	unsigned v = (unsigned)fd;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	memcpy(buf, PROC_FD, PROC_FD_LEN);
	k = PROC_FD_LEN;
	while (n)
		buf[k++] = digits[--n];
	buf[k++] = '/';
	return k;
}

/* "/proc/thread-self/fd/FD/" REST into BUF, or -ENAMETOOLONG. */
static int put_path(char *buf, int fd, const struct rest *r)
{
	char head[PROC_MAX + 1];
	size_t k = put_fd(head, fd), n = rest_len(r);

	if (k + n + 1 > PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, head, k);
	memcpy(buf + k, r->a, r->alen);
	k += r->alen;
	if (r->with_name) {
		if (r->alen)
			buf[k++] = '/';
		memcpy(buf + k, r->pfx, r->plen);
		memcpy(buf + k + r->plen, r->name, r->nlen);
		k += r->plen + r->nlen;
	}
	buf[k] = 0;
	return 0;
}

static int digits_of(int fd)
{
	int n = 1;

	while (fd >= 10) {
		fd /= 10;
		n++;
	}
	return n;
}

/* A slot of BR whose directory is A[0..dlen) at a cut, leaving a REST that fits. */
static struct long_slot *slot_find(const struct aufs_branch *br, const char *a, size_t alen,
				   const char *pfx, size_t plen, const char *name, size_t nlen,
				   bool with_name)
{
	for (unsigned i = pool ? held() : 0; i-- > 0;) {
		struct long_slot *s = &pool->slot[i];
		struct rest r;

		if (s->br != br || s->fd < 0 || s->dlen > alen ||
		    (s->dlen && s->doff == NO_ARENA) || !is_cut(a, alen, s->dlen, with_name) ||
		    memcmp(pool->arena + (s->dlen ? s->doff : 0), a, s->dlen))
			continue;
		r = rest_below(a, alen, pfx, plen, name, nlen, with_name, s->dlen);
		if (PROC_FD_LEN + (size_t)digits_of(s->fd) + 1 + rest_len(&r) + 1 <= PATH_MAX)
			return s;
	}
	return NULL;
}

/*
 * Reserve a slot before opening, so that a nested call (a signal handler's)
 * takes the ones after it. NULL when the pool is full.
 */
static struct long_slot *slot_reserve(const struct aufs_branch *br, const char *d, size_t dlen)
{
	struct long_slot *s;

	if (held() >= LONG_SLOTS || !pool_get())
		return NULL;
	s = &pool->slot[held()];
	aufs_call_word += AUFS_CALL_HELD;
	*s = (struct long_slot){ .br = br, .fd = -1, .dlen = (uint32_t)dlen, .doff = NO_ARENA };
	if (dlen && pool->arena_used + dlen <= LONG_ARENA) {
		/* taken before it is written: a nested call copies elsewhere */
		s->doff = pool->arena_used;
		pool->arena_used += (uint32_t)dlen;
		memcpy(pool->arena + s->doff, d, dlen);
	}
	return s;
}

/* Give back the last slot, reserved for an open that failed. */
static void slot_unreserve(struct long_slot *s)
{
	if (held() > 0 && s == &pool->slot[held() - 1]) {
		aufs_call_word -= AUFS_CALL_HELD;
		if (s->doff != NO_ARENA)
			pool->arena_used = s->doff;
	}
}

static int open_dir(int at, const char *path)
{
	return sys_openat(at, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

/* /proc/thread-self/fd/N names FD here (a /proc is mounted): once per process. */
static bool proc_ok(int fd)
{
	char buf[PROC_MAX + 1];
	struct stat a, b;
	size_t k;

	if (atomic_load_explicit(&proc_works, memory_order_relaxed))
		return true;
	k = put_fd(buf, fd);
	buf[k] = 0;
	if (sys_fstatat(AT_FDCWD, buf, &a, 0) < 0 || sys_fstat(fd, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return false;
	atomic_store_explicit(&proc_works, 1, memory_order_relaxed);
	return true;
}

/* The branch root's slot: found, or opened. */
static int root_fd(const struct aufs_branch *br)
{
	struct long_slot *s;
	int fd;

	for (unsigned i = pool ? held() : 0; i-- > 0;)
		if (pool->slot[i].br == br && pool->slot[i].dlen == 0 && pool->slot[i].fd >= 0)
			return pool->slot[i].fd;
	s = slot_reserve(br, NULL, 0);
	if (!s)
		return -ENAMETOOLONG;
	fd = open_dir(AT_FDCWD, br->path);
	if (fd >= 0 && !proc_ok(fd)) {
		(void)sys_close(fd);
		fd = -ENAMETOOLONG;	/* no /proc: only a path that fits can be named */
	}
	if (fd < 0) {
		slot_unreserve(s);
		return fd;
	}
	s->fd = fd;
	return fd;
}

/* The first component of S = A ["/" PFX NAME]: in A, or the name itself. */
static struct rest first_component(const char *a, size_t alen, const char *pfx, size_t plen,
				   const char *name, size_t nlen, bool with_name)
{
	size_t n = 0;

	while (n < alen && a[n] != '/')
		n++;
	return (struct rest){ .a = a, .alen = n, .pfx = pfx, .plen = plen, .name = name,
			      .nlen = nlen, .with_name = with_name && n == alen };
}

/*
 * The branch root could not be opened (ERR): the path fails the same way in the
 * walk of the root, whatever follows, so name the root and the first component
 * (never one that exists: the root's walk fails before it).
 */
static int unreachable_root(const struct aufs_branch *br, const char *a, size_t alen,
			    const char *pfx, size_t plen, const char *name, size_t nlen,
			    bool with_name, int err, char *buf)
{
	struct rest r = first_component(a, alen, pfx, plen, name, nlen, with_name);
	size_t n = br->len;

	if (err != -ENOENT && err != -ENOTDIR && err != -EACCES && err != -ELOOP)
		return err;
	if (n + 1 + rest_len(&r) + 1 > PATH_MAX)
		return err;
	memcpy(buf, br->path, n);
	buf[n++] = '/';
	memcpy(buf + n, r.a, r.alen);
	n += r.alen;
	if (r.with_name) {
		if (r.alen)
			buf[n++] = '/';
		memcpy(buf + n, r.pfx, r.plen);
		memcpy(buf + n + r.plen, r.name, r.nlen);
		n += r.plen + r.nlen;
	}
	buf[n] = 0;
	return 0;
}

int long_path(const struct aufs_branch *br, const char *a, size_t alen, const char *pfx,
	      const char *name, size_t nlen, char *buf)
{
	bool with_name = name != NULL;
	size_t plen = with_name ? strlen(pfx) : 0, dlen;
	struct long_slot *s;
	struct rest r;
	int fd, dfd;

	if (!(aufs_call_word & AUFS_CALL_DEPTH) || alen >= PATH_MAX)
		return -ENAMETOOLONG;	/* nobody would close a descriptor */
	s = slot_find(br, a, alen, pfx, plen, name, nlen, with_name);
	if (s) {
		r = rest_below(a, alen, pfx, plen, name, nlen, with_name, s->dlen);
		return put_path(buf, s->fd, &r);
	}
	/* the shallowest cut whose REST fits, whatever the descriptor's number */
	for (dlen = 0;; dlen++) {
		if (dlen > alen)
			return -ENAMETOOLONG;	/* the last component alone is too long */
		if (!is_cut(a, alen, dlen, with_name))
			continue;
		r = rest_below(a, alen, pfx, plen, name, nlen, with_name, dlen);
		if (PROC_MAX + rest_len(&r) + 1 <= PATH_MAX)
			break;
	}
	fd = root_fd(br);
	if (fd < 0)
		return unreachable_root(br, a, alen, pfx, plen, name, nlen, with_name, fd, buf);
	if (dlen == 0)
		return put_path(buf, fd, &r);
	s = slot_reserve(br, a, dlen);
	if (!s)
		return -ENAMETOOLONG;
	{
		char d[PATH_MAX];

		memcpy(d, a, dlen);
		d[dlen] = 0;
		dfd = open_dir(fd, d);
	}
	if (dfd >= 0) {
		s->fd = dfd;
		return put_path(buf, dfd, &r);
	}
	slot_unreserve(s);
	if (dfd != -ENOENT && dfd != -ENOTDIR && dfd != -EACCES && dfd != -ELOOP)
		return dfd;
	/*
	 * The directory cannot be reached: the path through it fails the same way
	 * in the walk of D, whatever follows. Name D and one more component below
	 * the root, so that the call gets the kernel's own answer (never a name
	 * that exists: D's walk fails before it).
	 */
	r = rest_below(a, alen, pfx, plen, name, nlen, with_name, dlen);
	r = first_component(r.a, r.alen, pfx, plen, name, nlen, with_name);
	/* D, then its next component: in A, or the name that follows A itself */
	r.alen = dlen + (r.alen ? 1 + r.alen : 0);
	r.a = a;
	return put_path(buf, fd, &r);
}
