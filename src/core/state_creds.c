/* SPDX-License-Identifier: MIT */
/*
 * state_creds.c - the caller's credentials (effective uid and gid, supplementary
 * groups) and process id, asked of the kernel once and kept: the permission
 * checks of every change through the union need them, and a system call per
 * check would cost more than the change itself.
 *
 * The copy is per thread and tagged with a process-wide generation, which
 * aufs_creds_changed() bumps after every credential change the preload sees
 * (the CREDS rows of include/aufs/wrapfuncs.def wrap the set*id family). A
 * thread whose copy is older asks the kernel again. A fork child inherits correct
 * credentials with the memory; its process id is refreshed by an atfork handler.
 *
 * A credential change also empties every cached lookup of the process: what a
 * lookup found depends on who looked (a directory the old user could search and
 * the new one cannot), and a php-fpm worker drops root after fork with the
 * master's caches in its memory.
 */
#include <pthread.h>

#include "internal.h"

static _Atomic uint64_t creds_gen = 1;
static __thread struct aufs_creds tcreds;

static _Atomic pid_t cached_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

void aufs_creds_changed(void)
{
	atomic_fetch_add_explicit(&creds_gen, 1, memory_order_acq_rel);
	aufs_state_local_change();
}

const struct aufs_creds *creds_get(void)
{
	struct aufs_creds *c = &tcreds;
	uint64_t g = atomic_load_explicit(&creds_gen, memory_order_acquire);
	int n;

	if (__builtin_expect(c->gen == g, 1))
		return c;
	/* the generation first: a change racing these calls is seen at the next check */
	c->euid = sys_geteuid();
	c->egid = sys_getegid();
	n = c->euid == 0 ? 0 : sys_getgroups(AUFS_CREDS_NGROUPS, c->groups);
	c->ngroups = n < 0 ? -1 : n;	/* EINVAL: more than fit, asked for each check */
	c->gen = g;
	return c;
}

bool creds_in_group(gid_t gid)
{
	const struct aufs_creds *c = creds_get();
	gid_t big[1024];
	int n;

	if (gid == c->egid)
		return true;
	if (c->ngroups >= 0) {
		for (int i = 0; i < c->ngroups; i++)
			if (c->groups[i] == gid)
				return true;
		return false;
	}
	n = sys_getgroups(1024, big);
	for (int i = 0; i < n; i++)
		if (big[i] == gid)
			return true;
	return false;
}

bool creds_mode_allows(const struct stat *st, int mask, bool real)
{
	const struct aufs_creds *c = creds_get();
	uid_t uid = real ? sys_getuid() : c->euid;
	gid_t gid = real ? sys_getgid() : c->egid;
	unsigned bits;

	if (uid == 0) {
		/* CAP_DAC_OVERRIDE: everything but running a file that nobody may run */
		return !(mask & X_OK) || S_ISDIR(st->st_mode) || (st->st_mode & 0111);
	}
	if (st->st_uid == uid)
		bits = (st->st_mode >> 6) & 7;
	else if (st->st_gid == gid || creds_in_group(st->st_gid))
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return ((unsigned)mask & 7 & ~bits) == 0;
}

/*
 * The process umask, which decides the mode of what a copy-up creates: -1 until
 * asked, then kept. Asked of /proc/self/status ("Umask:"), which reads it without
 * changing it: umask() itself would leave a window with another umask, in which
 * another thread's create would get the wrong mode. The umask() shim tells every
 * change (aufs_umask_changed()).
 */
static _Atomic int cached_umask = -1;	/* -2: /proc could not say */

void aufs_umask_changed(int mask)
{
	atomic_store_explicit(&cached_umask, mask, memory_order_release);
}

static int read_umask(void)
{
	char buf[512];
	const char *p;
	int fd = sys_openat(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0), m = 0;
	ssize_t n;

	if (fd < 0)
		return -1;	/* no /proc: unknown */
	n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "\nUmask:\t");
	if (!p)
		return -1;	/* before Linux 4.7, or a name that filled the buffer */
	for (p += 8; *p >= '0' && *p <= '7'; p++)
		m = m * 8 + (*p - '0');
	return *p == '\n' ? m & 0777 : -1;
}

int creds_umask(void)
{
	int m = atomic_load_explicit(&cached_umask, memory_order_acquire), unknown = -1;

	if (__builtin_expect(m >= 0, 1))
		return m;
	if (m == -2)
		return -1;	/* unreadable: not asked again until a umask() says it */
	m = read_umask();
	/* a umask() since the read wins */
	if (!atomic_compare_exchange_strong(&cached_umask, &unknown, m >= 0 ? m : -2))
		m = atomic_load_explicit(&cached_umask, memory_order_acquire);
	return m >= 0 ? m : -1;
}

static void pid_forget(void)
{
	atomic_store_explicit(&cached_pid, 0, memory_order_relaxed);
}

static void pid_register(void)
{
	(void)pthread_atfork(NULL, NULL, pid_forget);
}

pid_t creds_pid(void)
{
	pid_t p = atomic_load_explicit(&cached_pid, memory_order_relaxed);

	if (__builtin_expect(p > 0, 1))
		return p;
	(void)pthread_once(&pid_once, pid_register);
	p = sys_getpid();
	atomic_store_explicit(&cached_pid, p, memory_order_relaxed);
	return p;
}
