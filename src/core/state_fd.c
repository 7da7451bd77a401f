/* SPDX-License-Identifier: MIT */
/*
 * state_fd.c - the process state that gives relative paths their meaning: the
 * virtual current directory and the fd -> virtual path table. The one owner of
 * both: nothing else in the core stores into them.
 *
 * Inside a union the kernel's cwd is a branch directory, whose ".." and whose
 * neighbours are not the union's. So relative names are resolved against the
 * virtual cwd and the virtual path of the directory fd, never by the kernel.
 * Readers never lock: the cwd is a seqlock over two buffers, the fd table a
 * two-level array of atomic pointers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* ---------------------------------------------------------------- cwd */

/*
 * Seqlock: writers (chdir, rare) bump seq to odd, write the inactive buffer,
 * flip, bump to even. Readers copy and retry if seq moved. A vfork child that
 * calls chdir writes the parent's memory; the shim only lets the parent write.
 */
static struct {
	_Atomic unsigned seq;
	_Atomic int lock;
	int active;		/* which of buf[] is current, -1 = unknown */
	size_t len[2];
	char buf[2][PATH_MAX];
} cwd = { .active = -1 };

int aufs_cwd_get(char *out, size_t size)
{
	for (;;) {
		unsigned s = atomic_load_explicit(&cwd.seq, memory_order_acquire);
		int a;
		size_t n;

		if (s & 1)
			continue;
		a = cwd.active;
		if (a < 0)
			n = 0;
		else {
			n = cwd.len[a];
			if (n + 1 > size)
				return -ERANGE;
			memcpy(out, cwd.buf[a], n + 1);
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&cwd.seq, memory_order_relaxed) != s)
			continue;
		return a < 0 ? -ENOENT : (int)n;
	}
}

void aufs_cwd_set(const char *path)
{
	int expected = 0;

	while (!atomic_compare_exchange_weak(&cwd.lock, &expected, 1))
		expected = 0;
	atomic_fetch_add_explicit(&cwd.seq, 1, memory_order_acq_rel);
	if (!path) {
		cwd.active = -1;
	} else {
		int next = cwd.active == 0 ? 1 : 0;
		size_t n = strnlen(path, PATH_MAX - 1);

		memcpy(cwd.buf[next], path, n);
		cwd.buf[next][n] = 0;
		cwd.len[next] = n;
		cwd.active = next;
	}
	atomic_fetch_add_explicit(&cwd.seq, 1, memory_order_release);
	atomic_store(&cwd.lock, 0);
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

static char *_Atomic *_Atomic fd_pages[FD_PAGES];
/* one bit per fd: opened through a union on a read-only branch's file */
static _Atomic uint64_t fd_lower[FD_PAGE * FD_PAGES / 64];

void aufs_fd_mark_lower(int fd, bool lower)
{
	if (fd < 0 || (unsigned)fd >= FD_PAGE * FD_PAGES)
		return;
	if (lower)
		atomic_fetch_or(&fd_lower[fd / 64], 1ULL << (fd % 64));
	else if (atomic_load_explicit(&fd_lower[fd / 64], memory_order_relaxed) &
		 (1ULL << (fd % 64)))
		atomic_fetch_and(&fd_lower[fd / 64], ~(1ULL << (fd % 64)));
}

bool aufs_fd_is_lower(int fd)
{
	if (fd < 0 || (unsigned)fd >= FD_PAGE * FD_PAGES)
		return false;
	return atomic_load_explicit(&fd_lower[fd / 64], memory_order_relaxed) & (1ULL << (fd % 64));
}

static char *_Atomic *fd_slot(int fd, bool create)
{
	unsigned p, i;
	char *_Atomic *page, *_Atomic *fresh = NULL;

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
			free(fresh);
		else
			page = fresh;
	}
	return &page[i];
}

/* The slot value of an fd known to be outside every union (no path kept). */
static char outside_mark[1];

static void fd_store(int fd, char *value, bool create)
{
	char *_Atomic *slot = fd_slot(fd, create);
	char *old;

	if (!slot) {
		if (value != outside_mark)
			free(value);
		return;
	}
	old = atomic_exchange(slot, value);
	if (old != outside_mark)
		free(old);
}

void aufs_fd_set(int fd, const char *path)
{
	fd_store(fd, path ? strdup(path) : NULL, path != NULL);
}

void aufs_fd_mark_outside(int fd)
{
	fd_store(fd, outside_mark, true);
}

int aufs_fd_get(int fd, char *buf, size_t size)
{
	char *_Atomic *slot = fd_slot(fd, false);
	const char *p;
	size_t n;

	if (!slot)
		return -ENOENT;
	p = atomic_load_explicit(slot, memory_order_acquire);
	if (!p)
		return -ENOENT;
	if (p == outside_mark)
		return -EXDEV;
	n = strlen(p);
	if (n + 1 > size)
		return -ENAMETOOLONG;
	memcpy(buf, p, n + 1);
	return (int)n;
}

/*
 * An fd this process did not open through us (inherited across exec, opened
 * before the library started): ask the kernel once what it is, map a branch
 * path back to its union path, and remember the answer in the fd table.
 */
static int fd_recover(const struct aufs_config *cfg, int fd, char *buf)
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
			aufs_fd_set(fd, buf);
			return (int)n;
		}
		if (aufs_real_to_virtual(cfg, real, buf) == 0) {
			aufs_fd_set(fd, buf);
			return (int)strlen(buf);
		}
	}
	aufs_fd_mark_outside(fd);
	return -EXDEV;
}

int aufs_fd_resolve(const struct aufs_config *cfg, int fd, char *buf)
{
	int n = aufs_fd_get(fd, buf, PATH_MAX);

	return n == -ENOENT ? fd_recover(cfg, fd, buf) : n;
}

void aufs_fd_forget(int fd)
{
	char *_Atomic *slot = fd_slot(fd, false);

	if (slot && atomic_load_explicit(slot, memory_order_relaxed))
		aufs_fd_set(fd, NULL);
	aufs_fd_mark_lower(fd, false);
}

bool aufs_fd_known(int fd)
{
	char *_Atomic *slot = fd_slot(fd, false);
	const char *p = slot ? atomic_load_explicit(slot, memory_order_relaxed) : NULL;

	return p && p != outside_mark;
}

void aufs_fd_dup(int oldfd, int newfd)
{
	char buf[PATH_MAX];

	if (oldfd == newfd)
		return;
	aufs_fd_mark_lower(newfd, aufs_fd_is_lower(oldfd));
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
	for (unsigned fd = first; fd <= last && fd >= first; fd++)
		aufs_fd_mark_lower((int)fd, false);
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
