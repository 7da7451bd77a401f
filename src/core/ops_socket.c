/* SPDX-License-Identifier: MIT */
/*
 * ops_socket.c - the names of AF_UNIX sockets. A pathname address inside a union is
 * turned into the real path of the branch that holds it (connect, sendto) or of
 * the branch a new name goes to (bind creates a node, like mknod: parents copied
 * up, whiteout dropped); an address the kernel hands back (getsockname, accept...)
 * that names a branch is turned back into the union's name.
 * The socket calls themselves stay in the shims (connect and sendto block and are
 * cancellation points); this file only rewrites addresses, with raw calls.
 * Relies on resolve_walk.c (resolve), mutate_create.c (create_prepare/create_done),
 * state_mount.c (aufs_real_to_virtual).
 */
#include <stddef.h>
#include <stdio.h>

#include "internal.h"

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)
#define SUN_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/*
 * Names bound through /proc/self/fd (a real path longer than sun_path). The
 * kernel keeps that string and answers it to getsockname, a name that means
 * nothing once the directory fd is closed (python's socketserver unlinks it at
 * shutdown). So the process remembers the union name by the socket's inode.
 * bound.lock guards the table; every taker only tries it a bounded number of
 * times (a signal handler on the holding thread, a fork child of a holder), and
 * goes without the entry when it cannot have it.
 */
#define BOUND_MAX 64
static struct {
	_Atomic int lock;
	unsigned next;				/* round-robin victim when full */
	struct {
		dev_t dev;			/* of the socket inode; 0: free */
		ino_t ino;
		char virt[SUN_MAX];		/* the union name, NUL-terminated */
	} e[BOUND_MAX];
} bound;

static bool bound_lock(void)
{
	for (int i = 0; i < 100000; i++) {
		int expected = 0;

		if (atomic_compare_exchange_weak(&bound.lock, &expected, 1))
			return true;
		__builtin_ia32_pause();
	}
	return false;
}

static void bound_unlock(void)
{
	atomic_store(&bound.lock, 0);
}

/* Socket FD was bound through /proc/self/fd under the union name VIRT. */
static void bound_remember(int fd, const char *virt)
{
	size_t n = strlen(virt);
	struct stat st;
	int slot = -1;

	if (n >= SUN_MAX || sys_fstat(fd, &st) < 0 || !bound_lock())
		return;
	for (int i = 0; i < BOUND_MAX && slot < 0; i++)
		if (bound.e[i].ino == st.st_ino && bound.e[i].dev == st.st_dev)
			slot = i;	/* an inode reused: the old socket is gone */
	for (int i = 0; i < BOUND_MAX && slot < 0; i++)
		if (!bound.e[i].dev)
			slot = i;
	if (slot < 0)
		slot = (int)(bound.next++ % BOUND_MAX);
	bound.e[slot].dev = st.st_dev;
	bound.e[slot].ino = st.st_ino;
	memcpy(bound.e[slot].virt, virt, n + 1);
	bound_unlock();
}

/* The union name socket FD was bound under, into OUT (SUN_MAX bytes); false if none. */
static bool bound_lookup(int fd, char *out)
{
	struct stat st;
	bool found = false;

	if (sys_fstat(fd, &st) < 0 || !bound_lock())
		return false;
	for (int i = 0; i < BOUND_MAX && !found; i++) {
		if (bound.e[i].dev == st.st_dev && bound.e[i].ino == st.st_ino) {
			memcpy(out, bound.e[i].virt, strlen(bound.e[i].virt) + 1);
			found = true;
		}
	}
	bound_unlock();
	return found;
}

/* The pathname in ADDR (LEN bytes) into BUF, or false: not a pathname address. */
static bool sun_pathname(const struct sockaddr *addr, socklen_t len, char *buf, size_t size)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)addr;
	size_t n;

	if (!addr || len <= SUN_OFF || len > sizeof(*sun) || addr->sa_family != AF_UNIX ||
	    !sun->sun_path[0])
		return false;	/* autobind, abstract, another family or EINVAL */
	n = strnlen(sun->sun_path, len - SUN_OFF);
	if (n >= size)
		return false;
	memcpy(buf, sun->sun_path, n);
	buf[n] = 0;
	return true;
}

/*
 * REAL into s->sun. A real path longer than sun_path goes through an O_PATH
 * descriptor of its directory: "/proc/self/fd/N/NAME" (thread-safe, unlike a
 * chdir to the directory and a relative name).
 */
static int fill(struct aufs_sock *s, const char *real)
{
	size_t n = strlen(real);
	const char *slash;
	char dir[PATH_MAX];
	int fd, w;

	s->sun.sun_family = AF_UNIX;
	if (n < sizeof(s->sun.sun_path)) {
		memcpy(s->sun.sun_path, real, n + 1);
		s->len = (socklen_t)(SUN_OFF + n + 1);
		return 0;
	}
	slash = strrchr(real, '/');
	if (!slash || slash == real)
		return -ENAMETOOLONG;
	memcpy(dir, real, (size_t)(slash - real));
	dir[slash - real] = 0;
	fd = beneath_open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	w = snprintf(s->sun.sun_path, sizeof(s->sun.sun_path), "/proc/self/fd/%d/%s", fd,
		     slash + 1);
	if (w < 0 || (size_t)w >= sizeof(s->sun.sun_path)) {
		(void)sys_close(fd);	/* nothing was done with it */
		return -ENAMETOOLONG;
	}
	s->dirfd = fd;
	s->len = (socklen_t)(SUN_OFF + (size_t)w + 1);
	return 0;
}

/* The lookup of S's name, kept in the storage the shim's aufs_sock provides. */
static struct aufs_loc *sock_loc(struct aufs_sock *s)
{
	_Static_assert(sizeof(((struct aufs_sock *)0)->priv) >= sizeof(struct aufs_loc),
		       "struct aufs_sock has no room for a struct aufs_loc");
	return (struct aufs_loc *)(void *)s->priv;
}

int aufs_sock_prepare(const struct sockaddr *addr, socklen_t len, bool bind,
		      struct aufs_sock *s)
{
	char path[sizeof(s->sun.sun_path) + 1];
	struct aufs_loc *loc = sock_loc(s);
	int r;

	s->dirfd = -1;
	s->t = -1;
	s->bind = bind;
	if (!sun_pathname(addr, len, path, sizeof(path)))
		return AUFS_PASS;
	/* bind(2) never follows a final symlink: an existing name is EADDRINUSE */
	r = aufs_resolve(AT_FDCWD, path, bind ? AUFS_RESOLVE_NOFOLLOW : 0, loc);
	if (r == AUFS_PASS_HOST)
		return fill(s, loc->real);	/* left the union again: a host path */
	if (r)
		return r;
	if (bind) {
		if (loc->branch >= 0)
			return -EADDRINUSE;
		if (loc->flags & AUFS_LOC_TRAILING)
			return -EINVAL;
		r = create_prepare(loc, false);
		if (r < 0)
			return r;
		s->t = r;
	} else if (loc->branch < 0) {
		return -ENOENT;
	}
	return fill(s, loc->real);
}

bool aufs_sock_stale(struct aufs_sock *s)
{
	return !s->bind && aufs_loc_stale(sock_loc(s));
}

void aufs_sock_done(struct aufs_sock *s, int fd, bool ok)
{
	if (s->t >= 0 && ok)
		create_done(sock_loc(s), s->t);
	if (s->dirfd >= 0 && s->bind && ok && sock_loc(s)->u)
		bound_remember(fd, sock_loc(s)->virt);
	if (s->dirfd >= 0)
		(void)sys_close(s->dirfd);	/* only named the directory */
	s->dirfd = -1;
	s->t = -1;
}

int aufs_sock_unname(int fd, const struct sockaddr *addr, socklen_t len,
		     struct sockaddr_un *out, socklen_t *ret_len)
{
	const struct aufs_config *cfg = aufs_state_config();
	char path[sizeof(out->sun_path) + 1], virt[PATH_MAX];
	size_t n;

	if (!cfg || !cfg->nunion || !sun_pathname(addr, len, path, sizeof(path)) ||
	    path[0] != '/')
		return AUFS_PASS;
	if (!strncmp(path, "/proc/self/fd/", 14)) {
		if (fd < 0 || !bound_lookup(fd, virt))
			return AUFS_PASS;
	} else if (aufs_real_to_virtual(cfg, path, virt) < 0) {
		return AUFS_PASS;
	}
	n = strlen(virt);
	if (n >= sizeof(out->sun_path))
		return AUFS_PASS;	/* the union's name does not fit: the kernel's stays */
	out->sun_family = AF_UNIX;
	memcpy(out->sun_path, virt, n + 1);
	*ret_len = (socklen_t)(SUN_OFF + n + 1);
	return 0;
}
