/* SPDX-License-Identifier: MIT */
/*
 * socket.c - AF_UNIX pathname addresses. Canonical: bind, connect, sendto,
 * sendmsg (an address in), getsockname, getpeername, accept, accept4, recvfrom,
 * recvmsg (an address out). No forwarders. Abstract names, autobind and every other
 * address family pass straight through; the parameter types are glibc's
 * transparent unions (__CONST_SOCKADDR_ARG), so the pointer is .__sockaddr__.
 * An address that comes back naming a branch is given its union name.
 * The prologue is gen.c's (kind FD).
 */
#include <stddef.h>
#include <string.h>

#include "shim.h"

/* Can the N bytes at P be read? A hostile pointer goes to the kernel: EFAULT. */
static inline bool readable(const void *p, size_t n)
{
	return aufs_guard_mem(AUFS_LAUNDER(p), n) == 0;
}

/*
 * Could ADDR be a pathname address? Only then is the core asked (cheap test
 * first). An address the kernel would refuse unread (too long: EINVAL) or
 * cannot read (EFAULT) is the kernel's to answer.
 */
static inline bool maybe_path(const struct sockaddr *addr, socklen_t len)
{
	addr = AUFS_LAUNDER(addr);
	return addr && len > offsetof(struct sockaddr_un, sun_path) &&
	       len <= sizeof(struct sockaddr_storage) && readable(addr, len) &&
	       addr->sa_family == AF_UNIX && ((const struct sockaddr_un *)addr)->sun_path[0];
}

/* The arguments of one call that carries an address in, but the address. */
struct sock_args {
	int fd;
	const void *buf;
	size_t n;
	int flags;
	const struct msghdr *msg;
};

/* The real call of A with the address ADDR of LEN bytes (-1 and errno on failure). */
typedef long (*sock_call)(const struct sock_args *a, const struct sockaddr *addr, socklen_t len);

/*
 * The union side of bind, connect, sendto and sendmsg, in a function of its own
 * (noinline: the translation's buffers stay off the stack of every TCP send):
 * translate ADDR, make CALL with the translation, then give it back. A socket
 * found through the lookup cache that the kernel no longer finds (ENOENT) is
 * looked up once more: the call itself is the udba=reval re-test, as in ops.c.
 * Returns what a verb returns.
 */
__attribute__((noinline)) static long sock_in_union(const struct sock_args *a, bool bind,
						    const struct sockaddr *addr, socklen_t len,
						    sock_call call)
{
	struct aufs_sock s;
	int r, tries = 0;
	long ret;

	for (;;) {
		r = aufs_sock_prepare(addr, len, bind, &s);
		if (r == AUFS_PASS || r < 0)
			return r;
		ret = call(a, (const struct sockaddr *)&s.sun, s.len);
		aufs_sock_done(&s, a->fd, ret >= 0);	/* raw calls: errno stays */
		if (ret < 0 && errno == ENOENT && !tries++ && aufs_sock_stale(&s))
			continue;
		return verb_real(ret);
	}
}

static long bind_call(const struct sock_args *a, const struct sockaddr *addr, socklen_t len)
{
	return REAL(bind)(a->fd, addr, len);
}

long verb_bind(int fd, __CONST_SOCKADDR_ARG a, socklen_t len)
{
	struct sock_args args = { .fd = fd };

	if (!maybe_path(a.__sockaddr__, len))
		return AUFS_PASS;
	return sock_in_union(&args, true, a.__sockaddr__, len, bind_call);
}

static long connect_call(const struct sock_args *a, const struct sockaddr *addr, socklen_t len)
{
	return REAL(connect)(a->fd, addr, len);
}

long verb_connect(int fd, __CONST_SOCKADDR_ARG a, socklen_t len)
{
	struct sock_args args = { .fd = fd };

	if (!maybe_path(a.__sockaddr__, len))
		return AUFS_PASS;
	return sock_in_union(&args, false, a.__sockaddr__, len, connect_call);
}

static long sendto_call(const struct sock_args *a, const struct sockaddr *addr, socklen_t len)
{
	return REAL(sendto)(a->fd, a->buf, a->n, a->flags, addr, len);
}

long verb_sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG a,
		 socklen_t len)
{
	struct sock_args args = { .fd = fd, .buf = buf, .n = n, .flags = flags };

	if (!maybe_path(a.__sockaddr__, len))
		return AUFS_PASS;
	return sock_in_union(&args, false, a.__sockaddr__, len, sendto_call);
}

static long sendmsg_call(const struct sock_args *a, const struct sockaddr *addr, socklen_t len)
{
	struct msghdr copy = *a->msg;

	copy.msg_name = (void *)addr;
	copy.msg_namelen = len;
	return REAL(sendmsg)(a->fd, &copy, a->flags);
}

long verb_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct sock_args args = { .fd = fd, .flags = flags };
	struct msghdr copy;

	/* a NULL or hostile msg: EFAULT, from the kernel; read once, at any alignment */
	msg = AUFS_LAUNDER(msg);
	if (!msg || aufs_guard_copy(&copy, msg, sizeof(copy)) < 0 ||
	    !maybe_path(copy.msg_name, copy.msg_namelen))
		return AUFS_PASS;
	args.msg = &copy;
	return sock_in_union(&args, false, copy.msg_name, copy.msg_namelen, sendmsg_call);
}

/*
 * The kernel put an address of *LEN bytes into ADDR (CAP bytes): when it names a
 * branch, give the union's name instead, truncated to CAP as the kernel would.
 * A truncated pathname is asked for again in full (ASK: getsockname or
 * getpeername of FD; NULL when it cannot be asked again, as for recvfrom). OWN:
 * ADDR is FD's own name (getsockname). Only the verbs call it: the library is active.
 */
static void unname(int fd, struct sockaddr *addr, socklen_t cap, socklen_t *len,
		   int (*ask)(int, __SOCKADDR_ARG, socklen_t *), bool own)
{
	struct sockaddr_un full, out;
	const struct sockaddr *src = addr;
	socklen_t n = *len, outlen;

	if (!addr || cap <= offsetof(struct sockaddr_un, sun_path) || addr->sa_family != AF_UNIX ||
	    n <= offsetof(struct sockaddr_un, sun_path))
		return;
	if (n > cap) {
		if (!ask)
			return;
		n = sizeof(full);
		if (ask(fd, (struct sockaddr *)&full, &n) < 0 || n > sizeof(full))
			return;
		src = (struct sockaddr *)&full;
	}
	if (aufs_sock_unname(own ? fd : -1, src, n, &out, &outlen) != 0)
		return;
	memcpy(addr, &out, outlen < cap ? outlen : cap);
	*len = outlen;
}

/* getsockname and getpeername: the kernel's answer, with a branch name given back. */
static long named(int (*call)(int, __SOCKADDR_ARG, socklen_t *), int fd, __SOCKADDR_ARG a,
		  socklen_t *len, bool own)
{
	socklen_t cap = len && readable(len, sizeof(*len)) ? *len : 0;
	int r = call(fd, a, len);

	if (r == 0)
		unname(fd, a.__sockaddr__, cap, len, call, own);
	return verb_real(r);
}

long verb_getsockname(int fd, __SOCKADDR_ARG a, socklen_t *len)
{
	return named(REAL(getsockname), fd, a, len, true);
}

long verb_getpeername(int fd, __SOCKADDR_ARG a, socklen_t *len)
{
	return named(REAL(getpeername), fd, a, len, false);
}

long verb_accept4(int fd, __SOCKADDR_ARG a, socklen_t *len, int flags)
{
	socklen_t cap = a.__sockaddr__ && len && readable(len, sizeof(*len)) ? *len : 0;
	int r = REAL(accept4)(fd, a, len, flags);

	if (r >= 0 && cap)
		unname(r, a.__sockaddr__, cap, len, REAL(getpeername), false);
	return verb_real(r);
}

long verb_accept(int fd, __SOCKADDR_ARG a, socklen_t *len)
{
	socklen_t cap = a.__sockaddr__ && len && readable(len, sizeof(*len)) ? *len : 0;
	int r = REAL(accept)(fd, a, len);

	if (r >= 0 && cap)
		unname(r, a.__sockaddr__, cap, len, REAL(getpeername), false);
	return verb_real(r);
}

long verb_recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG a, socklen_t *len)
{
	socklen_t cap = a.__sockaddr__ && len && readable(len, sizeof(*len)) ? *len : 0;
	ssize_t r = REAL(recvfrom)(fd, buf, n, flags, a, len);

	if (r >= 0 && cap)
		unname(fd, a.__sockaddr__, cap, len, NULL, false);
	return verb_real(r);
}

long verb_recvmsg(int fd, struct msghdr *msg, int flags)
{
	socklen_t cap;
	ssize_t r;

	msg = AUFS_LAUNDER(msg);
	if (!msg || !readable(msg, sizeof(*msg)))
		return AUFS_PASS;	/* EFAULT, from the kernel */
	cap = msg->msg_name ? msg->msg_namelen : 0;
	r = REAL(recvmsg)(fd, msg, flags);
	if (r >= 0 && cap)
		unname(fd, msg->msg_name, cap, &msg->msg_namelen, NULL, false);
	return verb_real(r);
}
