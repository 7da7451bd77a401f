/* SPDX-License-Identifier: MIT */
/*
 * state_fd.c - the process state that gives relative paths their meaning: the
 * virtual current directory and the fd -> virtual path table (with one bit per
 * fd for a file opened on a read-only branch). The one owner of all three:
 * nothing else in the core stores into them.
 *
 * Inside a union the kernel's cwd is a branch directory, whose ".." and whose
 * neighbours are not the union's. So relative names are resolved against the
 * virtual cwd and the virtual path of the directory fd, never by the kernel.
 *
 * Concurrency. Every thread reads both on every relative call; readers take no
 * lock, allocate nothing and free nothing (a vfork child reads them too). Every
 * shared location is an atomic, so ThreadSanitizer sees no plain access race.
 *
 * The cwd is a seqlock (writers, chdir, are rare): a writer takes the writers'
 * spin lock, makes seq odd, stores the length and the bytes, makes seq even. A
 * reader copies length and bytes and retries while seq was odd or moved (one
 * that interrupted its own thread's write, in a signal handler, gets "unknown"
 * instead of waiting for itself). The buffer is made of atomic words, read and
 * written relaxed: a torn copy is possible but never returned (the seq check),
 * and it is no data race. A vfork child only reads it (the chdir shim lets
 * only the parent write).
 *
 * The fd table is a two-level array of atomic pointers to heap strings. The
 * danger is freeing a string a reader on another thread is still copying: a
 * slot is replaced (close, dup2, or several threads first using one inherited
 * fd, each entering what the kernel said) between a reader's load of the
 * pointer and its last byte. So a replaced string is retired, not freed:
 *  - a reader increments fd_readers, loads the slot, copies, decrements;
 *  - a writer exchanges the slot, pushes the old string on the retire list,
 *    then reclaims: it detaches the whole list, loads fd_readers, frees the
 *    list when that is 0, else pushes the list back for a later writer.
 * Why that is safe (every operation below is seq_cst): a reader that copies
 * string S loaded S before the exchange that replaced it, and incremented
 * before that load; the push follows the exchange and the detach follows the
 * push, so the reader's increment comes before the reclaimer's load of
 * fd_readers in the single total order. fd_readers is the number of readers
 * between increment and decrement, so 0 there means the reader's decrement
 * came before too; the load then reads from the decrement's release sequence
 * (only read-modify-writes touch the counter) and the reader's copy happens
 * before the free. A reader that increments later cannot find S in any slot.
 * The cost: two atomic increments per lookup of a dirfd, and a retired string
 * outlives its slot until some writer sees no reader (a fork child, whose
 * counter may hold a reader of a thread that is gone, resets it:
 * aufs_fd_after_fork()).
 * The lower bits are single atomic words, set and cleared with fetch_or and
 * fetch_and; the union words are single atomic words too, stored whole. Both are
 * read with a load and order nothing else.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* ---------------------------------------------------------------- cwd */

#define CWD_WORDS (PATH_MAX / sizeof(uint64_t))
#define CWD_NONE  ((size_t)-1)

static struct {
	_Atomic unsigned seq;		/* odd while a writer is in len/buf */
	_Atomic int lock;		/* writers only */
	_Atomic size_t len;		/* CWD_NONE: unknown, the kernel's cwd is the truth */
	_Atomic uint64_t buf[CWD_WORDS];	/* the path and its NUL */
} cwd = { .len = CWD_NONE };
/* This thread is in aufs_cwd_set() (a signal handler's read must not wait for it). */
static __thread bool cwd_writing;

int aufs_cwd_get(char *out, size_t size)
{
	for (;;) {
		unsigned s = atomic_load_explicit(&cwd.seq, memory_order_acquire);
		size_t n;

		if (s & 1) {
			if (cwd_writing)
				return -ENOENT;	/* inside our own write: the kernel's cwd */
			__builtin_ia32_pause();
			continue;
		}
		n = atomic_load_explicit(&cwd.len, memory_order_relaxed);
		if (n != CWD_NONE && n + 1 <= size) {
			for (size_t i = 0, w = 0; i < n + 1; i += sizeof(uint64_t), w++) {
				uint64_t v = atomic_load_explicit(&cwd.buf[w],
								  memory_order_relaxed);
				size_t k = n + 1 - i < sizeof(v) ? n + 1 - i : sizeof(v);

				memcpy(out + i, &v, k);
			}
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&cwd.seq, memory_order_relaxed) != s)
			continue;
		if (n == CWD_NONE)
			return -ENOENT;
		return n + 1 > size ? -ERANGE : (int)n;
	}
}

void aufs_cwd_set(const char *path)
{
	int expected = 0;
	unsigned s;

	while (!atomic_compare_exchange_weak(&cwd.lock, &expected, 1))
		expected = 0;
	cwd_writing = true;
	s = atomic_load_explicit(&cwd.seq, memory_order_relaxed);
	atomic_store_explicit(&cwd.seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	if (!path) {
		atomic_store_explicit(&cwd.len, CWD_NONE, memory_order_relaxed);
	} else {
		size_t n = strnlen(path, PATH_MAX - 1);

		for (size_t i = 0, w = 0; i < n + 1; i += sizeof(uint64_t), w++) {
			uint64_t v = 0;

			memcpy(&v, path + i, n - i < sizeof(v) ? n - i : sizeof(v));
			atomic_store_explicit(&cwd.buf[w], v, memory_order_relaxed);
		}
		atomic_store_explicit(&cwd.len, n, memory_order_relaxed);
	}
	atomic_store_explicit(&cwd.seq, s + 2, memory_order_release);
	cwd_writing = false;
	atomic_store_explicit(&cwd.lock, 0, memory_order_release);
}

int aufs_cwd_virtual(char *buf, size_t size)
{
	const struct aufs_config *cfg = aufs_state_config();
	size_t rel;
	int n = aufs_cwd_get(buf, size);

	if (n < 0 || !cfg || !aufs_config_match(cfg, buf, (size_t)n, &rel))
		return AUFS_PASS;
	return n;
}

/* ---------------------------------------------------------------- fd table */

#define FD_PAGE_BITS 10
#define FD_PAGE      (1u << FD_PAGE_BITS)
#define FD_PAGES     1024u		/* fds up to 2^20, the usual hard limit */

/* What a slot points to: the virtual path, and the link of the retire list. */
struct fdpath {
	struct fdpath *next;		/* on fd_retired only */
	char path[];
};

static struct fdpath *_Atomic *_Atomic fd_pages[FD_PAGES];
/* The slot value of an fd known to be outside every union (no path kept). */
static struct fdpath outside_mark;
/* Readers between their load of a slot and their last byte of its string. */
static _Atomic unsigned long fd_readers;
/* Replaced strings that a reader may still be copying. */
static struct fdpath *_Atomic fd_retired;

/*
 * One word per fd: a file opened through a union (fstat gives the union's
 * numbers), and where when known: the configuration's serial, the union's index
 * in it and the branch. fstat then needs no readlink of /proc/self/fd/N to find
 * the branch (PHP's OPcache fstats every include). 0: not a union's; FDU_ANY
 * alone: a union's, the branch to be read from the kernel's name of the fd.
 * The serial's low bits only: a word older than 2^23 reloads may be taken for
 * the current configuration's (the index and branch are checked against it).
 */
#define FDU_ANY          1ULL
#define FDU_AT           2ULL
#define FDU_BRANCH_SHIFT 2
#define FDU_LOWER        (1ULL << 9)	/* a read-only branch's file (7 bits of branch below) */
#define FDU_INDEX_SHIFT  10
#define FDU_INDEX_MASK   0x7fffffffULL
#define FDU_SERIAL_SHIFT 41		/* 31 bits of union index below */
static _Atomic uint64_t fd_union[FD_PAGE * FD_PAGES];
/* Above every fd whose word was ever set: a close_range() to ~0U looks no further. */
static _Atomic unsigned fd_union_end;

bool aufs_fd_is_lower(int fd)
{
	if (fd < 0 || (unsigned)fd >= FD_PAGE * FD_PAGES)
		return false;
	return atomic_load_explicit(&fd_union[fd], memory_order_relaxed) & FDU_LOWER;
}

static inline void fd_union_store(int fd, uint64_t word)
{
	unsigned end;

	if (fd < 0 || (unsigned)fd >= FD_PAGE * FD_PAGES ||
	    atomic_load_explicit(&fd_union[fd], memory_order_relaxed) == word)
		return;	/* a close of a descriptor no union opened writes nothing */
	atomic_store_explicit(&fd_union[fd], word, memory_order_relaxed);
	if (!word)
		return;
	end = atomic_load_explicit(&fd_union_end, memory_order_relaxed);
	while ((unsigned)fd >= end &&
	       !atomic_compare_exchange_weak(&fd_union_end, &end, (unsigned)fd + 1))
		;
}

void aufs_fd_mark_union(int fd, bool in_union)
{
	fd_union_store(fd, in_union ? FDU_ANY : 0);
}

void aufs_fd_mark_lower(int fd, bool lower)
{
	uint64_t word;

	if (fd < 0 || (unsigned)fd >= FD_PAGE * FD_PAGES)
		return;
	word = atomic_load_explicit(&fd_union[fd], memory_order_relaxed);
	fd_union_store(fd, lower ? word | FDU_ANY | FDU_LOWER : word & ~FDU_LOWER);
}

void fd_mark_union_at(int fd, const struct aufs_union *u, int b, uint64_t serial, bool lower)
{
	uint64_t word = FDU_ANY | (lower ? FDU_LOWER : 0);

	/* (no lookup of the configuration: an open pays a store, fstat checks) */
	if (b >= 0 && b < u->nbranch && serial && u->index <= FDU_INDEX_MASK)
		word |= FDU_AT | (uint64_t)b << FDU_BRANCH_SHIFT |
			(uint64_t)u->index << FDU_INDEX_SHIFT | serial << FDU_SERIAL_SHIFT;
	fd_union_store(fd, word);
}

struct aufs_union *fd_union_at(int fd, const struct aufs_config *cfg, int *ret_branch)
{
	uint64_t word, index;
	struct aufs_union *u;
	int b;

	if (fd < 0 || (unsigned)fd >= FD_PAGE * FD_PAGES || !cfg)
		return NULL;
	word = atomic_load_explicit(&fd_union[fd], memory_order_relaxed);
	if (!(word & FDU_AT) || word >> FDU_SERIAL_SHIFT != cfg->serial << FDU_SERIAL_SHIFT >>
							    FDU_SERIAL_SHIFT)
		return NULL;
	index = word >> FDU_INDEX_SHIFT & FDU_INDEX_MASK;
	b = (int)(word >> FDU_BRANCH_SHIFT & 0x7f);
	if (index >= (uint64_t)cfg->nunion)
		return NULL;
	u = aufs_config_union(cfg, (int)index);
	if (!u || b >= u->nbranch || u->index != index)
		return NULL;
	*ret_branch = b;
	return u;
}

bool aufs_fd_is_union(int fd)
{
	if (fd < 0 || (unsigned)fd >= FD_PAGE * FD_PAGES)
		return false;
	return atomic_load_explicit(&fd_union[fd], memory_order_relaxed) != 0;
}

static struct fdpath *_Atomic *fd_slot(int fd, bool create)
{
	unsigned p, i;
	struct fdpath *_Atomic *page, *_Atomic *fresh = NULL;

	if (fd < 0 || (unsigned)fd >= FD_PAGE * FD_PAGES)
		return NULL;
	p = (unsigned)fd >> FD_PAGE_BITS;
	i = (unsigned)fd & (FD_PAGE - 1);
	page = atomic_load_explicit(&fd_pages[p], memory_order_acquire);
	if (!page) {
		if (!create)
			return NULL;
		fresh = calloc(FD_PAGE, sizeof(*fresh));
		if (!fresh)
			return NULL;
		if (!atomic_compare_exchange_strong(&fd_pages[p], &page, fresh))
			free(fresh);	/* another thread's page won; nobody saw ours */
		else
			page = fresh;
	}
	return &page[i];
}

/* Put the chain FIRST..LAST on the retire list. */
static void fd_retire(struct fdpath *first, struct fdpath *last)
{
	struct fdpath *head = atomic_load(&fd_retired);

	do
		last->next = head;
	while (!atomic_compare_exchange_weak(&fd_retired, &head, first));
}

/* Free what was retired, if no reader is copying now (the header says why). */
static void fd_reclaim(void)
{
	struct fdpath *list = atomic_exchange(&fd_retired, NULL), *last;

	if (!list)
		return;
	if (atomic_load(&fd_readers) == 0) {
		while (list) {
			struct fdpath *next = list->next;

			free(list);
			list = next;
		}
		return;
	}
	for (last = list; last->next; last = last->next)
		;
	fd_retire(list, last);
}

static void fd_store(int fd, struct fdpath *value, bool create)
{
	struct fdpath *_Atomic *slot = fd_slot(fd, create);
	struct fdpath *old;

	if (!slot) {
		if (value != &outside_mark)
			free(value);	/* never published */
		return;
	}
	old = atomic_exchange(slot, value);
	if (old && old != &outside_mark) {
		fd_retire(old, old);
		fd_reclaim();	/* a list pushed back waits for the next retirement */
	}
}

void aufs_fd_set(int fd, const char *path)
{
	struct fdpath *v = NULL;

	if (path) {
		size_t n = strlen(path);

		v = malloc(sizeof(*v) + n + 1);
		if (v)
			memcpy(v->path, path, n + 1);
	}
	fd_store(fd, v, v != NULL);
}

void aufs_fd_mark_outside(int fd)
{
	fd_store(fd, &outside_mark, true);
}

int aufs_fd_get(int fd, char *buf, size_t size)
{
	struct fdpath *_Atomic *slot = fd_slot(fd, false);
	const struct fdpath *p;
	int r;

	if (!slot)
		return -ENOENT;
	atomic_fetch_add(&fd_readers, 1);
	p = atomic_load(slot);
	if (!p) {
		r = -ENOENT;
	} else if (p == &outside_mark) {
		r = -EXDEV;
	} else {
		size_t n = strlen(p->path);

		if (n + 1 > size) {
			r = -ENAMETOOLONG;
		} else {
			memcpy(buf, p->path, n + 1);
			r = (int)n;
		}
	}
	atomic_fetch_sub(&fd_readers, 1);
	return r;
}

void aufs_fd_after_fork(void)
{
	/*
	 * The forking thread is the only one left and it is not reading (unless
	 * fork ran in a signal handler that interrupted its own read: not
	 * supported); a count of a reader of another thread would stick.
	 */
	atomic_store(&fd_readers, 0);
}

/*
 * An fd this process did not open through us (inherited across exec, opened
 * before the library started): ask the kernel once what it is, map a branch
 * path back to its union path, and remember the answer in the fd table unless
 * !REMEMBER (a vfork child: it must not allocate).
 */
static int fd_recover(const struct aufs_config *cfg, int fd, char *buf, bool remember)
{
	char proc[32], real[PATH_MAX];
	size_t rel;
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = sys_readlinkat(AT_FDCWD, proc, real, sizeof(real) - 1);
	if (n == -EBADF || n == -ENOENT)
		return -ENOENT;	/* not open: the kernel will say EBADF */
	if (n > 0 && real[0] == '/') {
		real[n] = 0;
		if (aufs_config_match(cfg, real, (size_t)n, &rel) ||
		    aufs_config_is_ancestor(cfg, real, (size_t)n)) {
			memcpy(buf, real, (size_t)n + 1);
			if (remember)
				aufs_fd_set(fd, buf);
			return (int)n;
		}
		if (aufs_real_to_virtual(cfg, real, buf) == 0) {
			if (remember)
				aufs_fd_set(fd, buf);
			return (int)strlen(buf);
		}
	}
	if (remember)
		aufs_fd_mark_outside(fd);
	return -EXDEV;
}

int aufs_fd_resolve(const struct aufs_config *cfg, int fd, char *buf, bool remember)
{
	int n = aufs_fd_get(fd, buf, PATH_MAX);

	return n == -ENOENT ? fd_recover(cfg, fd, buf, remember) : n;
}

void aufs_fd_forget(int fd)
{
	struct fdpath *_Atomic *slot = fd_slot(fd, false);

	if (slot && atomic_load_explicit(slot, memory_order_relaxed))
		aufs_fd_set(fd, NULL);
	aufs_fd_mark_union(fd, false);	/* and whether it is a lower file's */
}

bool aufs_fd_known(int fd)
{
	struct fdpath *_Atomic *slot = fd_slot(fd, false);
	const struct fdpath *p = slot ? atomic_load_explicit(slot, memory_order_relaxed) : NULL;

	return p && p != &outside_mark;	/* compared only, never read: no reader count */
}

void aufs_fd_dup(int oldfd, int newfd)
{
	char buf[PATH_MAX];

	if (oldfd == newfd)
		return;
	fd_union_store(newfd, (oldfd >= 0 && (unsigned)oldfd < FD_PAGE * FD_PAGES)
				      ? atomic_load_explicit(&fd_union[oldfd], memory_order_relaxed)
				      : 0);
	switch (aufs_fd_get(oldfd, buf, sizeof(buf))) {
	case -EXDEV:
		aufs_fd_mark_outside(newfd);
		break;
	case -ENOENT:
	case -ENAMETOOLONG:
		aufs_fd_set(newfd, NULL);
		break;
	default:
		aufs_fd_set(newfd, buf);
	}
}

void aufs_fd_close_range(unsigned first, unsigned last)
{
	unsigned max = FD_PAGE * FD_PAGES - 1;

	if (last > max)
		last = max;
	for (unsigned fd = first, end = atomic_load(&fd_union_end); fd <= last && fd < end; fd++)
		aufs_fd_mark_union((int)fd, false);
	for (unsigned fd = first; fd <= last && fd >= first; fd++) {
		if (!atomic_load_explicit(&fd_pages[fd >> FD_PAGE_BITS], memory_order_relaxed)) {
			fd |= FD_PAGE - 1;	/* skip the whole empty page */
			continue;
		}
		aufs_fd_set((int)fd, NULL);
	}
}

/* ---------------------------------------------------------------- start-up */

/*
 * The virtual cwd of a new process: AUFS_CWD ("DEV:INO:PATH", set by the exec
 * shim of the parent) when "." is still that directory, else the kernel cwd
 * itself when it lies inside a union (a union mounted on its top branch) or on
 * an ancestor of a mount point, else the one union path whose branch holds the
 * kernel cwd, else none.
 */
void aufs_cwd_init(const char *env)
{
	const struct aufs_config *cfg = aufs_state_config();
	char real[PATH_MAX], cand[PATH_MAX];
	unsigned long long dev, ino;
	struct stat st;
	size_t len, rel;
	int pos = 0;
	long n;

	aufs_cwd_set(NULL);
	if (!cfg || !cfg->nunion)
		return;
	if (env && sscanf(env, "%llu:%llu:%n", &dev, &ino, &pos) == 2 && pos > 0 &&
	    env[pos] == '/' && sys_stat(".", &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
		aufs_cwd_set(env + pos);
		return;
	}
	n = sys_getcwd(real, sizeof(real));
	if (n < 0 || real[0] != '/')
		return;
	len = strlen(real);
	if (aufs_config_match(cfg, real, len, &rel) || aufs_config_is_ancestor(cfg, real, len)) {
		aufs_cwd_set(real);
		return;
	}
	if (aufs_real_to_virtual(cfg, real, cand) == 0)
		aufs_cwd_set(cand);
}

/*
 * The kernel cwd's name in the unions' namespace, for a vfork child (it may run
 * in a vfork child: no allocation, raw calls only).
 */
int aufs_exec_kernel_cwd(char *buf, size_t size, bool *ret_virtual)
{
	const struct aufs_config *cfg = aufs_state_config();
	char real[PATH_MAX], virt[PATH_MAX];
	size_t len, rel;
	long r;
	int n;

	*ret_virtual = false;
	r = sys_getcwd(real, sizeof(real));
	if (r < 0)
		return (int)r;
	if (real[0] != '/')
		return -ENOENT;	/* unreachable cwd ("(unreachable)/...") */
	len = strlen(real);
	if (cfg && (aufs_config_match(cfg, real, len, &rel) ||
		    aufs_config_is_ancestor(cfg, real, len))) {
		*ret_virtual = true;
	} else if (cfg && aufs_real_to_virtual(cfg, real, virt) == 0) {
		*ret_virtual = true;
		memcpy(real, virt, strlen(virt) + 1);
	}
	n = snprintf(buf, size, "%s", real);
	if (n < 0 || (size_t)n >= size) {
		*ret_virtual = false;
		return -ENAMETOOLONG;
	}
	return n;
}
