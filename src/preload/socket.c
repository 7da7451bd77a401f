/* SPDX-License-Identifier: MIT */
/*
 * socket.c - AF_UNIX pathname addresses. Canonical: bind, connect, sendto,
 * sendmsg (an address in), getsockname, getpeername, accept, accept4, recvfrom,
 * recvmsg (an address out). No forwarders. Abstract names, autobind and every other
 * address family pass straight through; the parameter types are glibc's
 * transparent unions (__CONST_SOCKADDR_ARG), so the pointer is .__sockaddr__.
 * An address that comes back naming a branch is given its union name.
 */
#include <stddef.h>
#include <string.h>

#include "shim.h"

/* Could ADDR be a pathname address? Only then is the core asked (cheap test first). */
static inline bool maybe_path(const struct sockaddr *addr, socklen_t len)
{
	addr = AUFS_LAUNDER(addr);
	return addr && len > offsetof(struct sockaddr_un, sun_path) &&
	       addr->sa_family == AF_UNIX && ((const struct sockaddr_un *)addr)->sun_path[0];
}

/*
 * The union side of bind, connect, sendto and sendmsg, in a function of its own
 * (noinline: the translation's buffers stay off the stack of every TCP send):
 * translate, make REAL_CALL with the address addr_ and length len_ (the
 * caller's, or the translation), then give the translation back. A socket found
 * through the lookup cache that the kernel no longer finds (ENOENT) is looked up
 * once more: the call itself is the udba=reval re-test, as in ops.c.
 */
#define SOCK_IN_UNION(RET_TYPE, FD, BIND, ADDR, LEN, REAL_CALL)             \
	do {                                                                \
		struct aufs_sock s;                                         \
		const struct sockaddr *addr_;                               \
		socklen_t len_;                                             \
		int saved = errno, r, tries = 0;                            \
		RET_TYPE ret;                                               \
                                                                            \
	again:                                                              \
		addr_ = (ADDR);                                             \
		len_ = (LEN);                                               \
		r = aufs_sock_prepare(addr_, len_, BIND, &s);               \
		if (r == AUFS_PASS)                                         \
			return REAL_CALL;                                   \
		if (r < 0)                                                  \
			return (RET_TYPE)aufs_ret(r, saved);                \
		addr_ = (const struct sockaddr *)&s.sun;                    \
		len_ = s.len;                                               \
		ret = REAL_CALL;                                            \
		aufs_sock_done(&s, FD, ret >= 0); /* raw calls: errno stays */ \
		if (ret < 0 && errno == ENOENT && !(BIND) && !tries++ &&    \
		    aufs_loc_stale(&s.loc))                                 \
			goto again;                                         \
		if (ret >= 0)                                               \
			errno = saved;                                      \
		return ret;                                                 \
	} while (0)

__attribute__((noinline)) static int bind_union(int fd, const struct sockaddr *a, socklen_t len)
{
	SOCK_IN_UNION(int, fd, true, a, len, REAL(bind)(fd, addr_, len_));
}

int shim_bind(int fd, __CONST_SOCKADDR_ARG a, socklen_t len)
{
	if (!maybe_path(a.__sockaddr__, len) || !aufs_active())
		return REAL(bind)(fd, a, len);
	return bind_union(fd, a.__sockaddr__, len);
}

__attribute__((noinline)) static int connect_union(int fd, const struct sockaddr *a,
						   socklen_t len)
{
	SOCK_IN_UNION(int, fd, false, a, len, REAL(connect)(fd, addr_, len_));
}

int shim_connect(int fd, __CONST_SOCKADDR_ARG a, socklen_t len)
{
	if (!maybe_path(a.__sockaddr__, len) || !aufs_active())
		return REAL(connect)(fd, a, len);
	return connect_union(fd, a.__sockaddr__, len);
}

__attribute__((noinline)) static ssize_t sendto_union(int fd, const void *buf, size_t n,
						      int flags, const struct sockaddr *a,
						      socklen_t len)
{
	SOCK_IN_UNION(ssize_t, fd, false, a, len, REAL(sendto)(fd, buf, n, flags, addr_, len_));
}

ssize_t shim_sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG a,
		    socklen_t len)
{
	if (!maybe_path(a.__sockaddr__, len) || !aufs_active())
		return REAL(sendto)(fd, buf, n, flags, a, len);
	return sendto_union(fd, buf, n, flags, a.__sockaddr__, len);
}

__attribute__((noinline)) static ssize_t sendmsg_union(int fd, const struct msghdr *msg,
						       int flags)
{
	struct msghdr copy = *msg;

	SOCK_IN_UNION(ssize_t, fd, false, (const struct sockaddr *)msg->msg_name,
		      msg->msg_namelen,
		      (copy.msg_name = (void *)addr_, copy.msg_namelen = len_,
		       REAL(sendmsg)(fd, &copy, flags)));
}

ssize_t shim_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	msg = AUFS_LAUNDER(msg);
	if (!msg || !maybe_path(msg->msg_name, msg->msg_namelen) || !aufs_active())
		return REAL(sendmsg)(fd, msg, flags);	/* a NULL msg: EFAULT, from the kernel */
	return sendmsg_union(fd, msg, flags);
}

/*
 * The kernel put an address of *LEN bytes into ADDR (CAP bytes): when it names a
 * branch, give the union's name instead, truncated to CAP as the kernel would.
 * A truncated pathname is asked for again in full (ASK: getsockname or
 * getpeername of FD; NULL when it cannot be asked again, as for recvfrom). OWN:
 * ADDR is FD's own name (getsockname).
 */
static void unname(int fd, struct sockaddr *addr, socklen_t cap, socklen_t *len,
		   int (*ask)(int, __SOCKADDR_ARG, socklen_t *), bool own)
{
	struct sockaddr_un full, out;
	const struct sockaddr *src = addr;
	socklen_t n = *len, outlen;

	if (!addr || cap <= offsetof(struct sockaddr_un, sun_path) || addr->sa_family != AF_UNIX ||
	    n <= offsetof(struct sockaddr_un, sun_path) || !aufs_active())
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
static int named(int (*call)(int, __SOCKADDR_ARG, socklen_t *), int fd, __SOCKADDR_ARG a,
		 socklen_t *len, bool own)
{
	int saved = errno;
	socklen_t cap = len ? *len : 0;
	int r = call(fd, a, len);

	if (r == 0) {
		unname(fd, a.__sockaddr__, cap, len, call, own);
		errno = saved;
	}
	return r;
}

int shim_getsockname(int fd, __SOCKADDR_ARG a, socklen_t *len)
{
	return named(REAL(getsockname), fd, a, len, true);
}

int shim_getpeername(int fd, __SOCKADDR_ARG a, socklen_t *len)
{
	return named(REAL(getpeername), fd, a, len, false);
}

int shim_accept4(int fd, __SOCKADDR_ARG a, socklen_t *len, int flags)
{
	int saved = errno;
	socklen_t cap = a.__sockaddr__ && len ? *len : 0;
	int r = REAL(accept4)(fd, a, len, flags);

	if (r >= 0 && cap) {
		unname(r, a.__sockaddr__, cap, len, REAL(getpeername), false);
		errno = saved;
	}
	return r;
}

int shim_accept(int fd, __SOCKADDR_ARG a, socklen_t *len)
{
	int saved = errno;
	socklen_t cap = a.__sockaddr__ && len ? *len : 0;
	int r = REAL(accept)(fd, a, len);

	if (r >= 0 && cap) {
		unname(r, a.__sockaddr__, cap, len, REAL(getpeername), false);
		errno = saved;
	}
	return r;
}

ssize_t shim_recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG a, socklen_t *len)
{
	int saved = errno;
	socklen_t cap = a.__sockaddr__ && len ? *len : 0;
	ssize_t r = REAL(recvfrom)(fd, buf, n, flags, a, len);

	if (r >= 0 && cap) {
		unname(fd, a.__sockaddr__, cap, len, NULL, false);
		errno = saved;
	}
	return r;
}

ssize_t shim_recvmsg(int fd, struct msghdr *msg, int flags)
{
	int saved = errno;
	socklen_t cap;
	ssize_t r;

	msg = AUFS_LAUNDER(msg);
	if (!msg)
		return REAL(recvmsg)(fd, msg, flags);	/* EFAULT, from the kernel */
	cap = msg->msg_name ? msg->msg_namelen : 0;
	r = REAL(recvmsg)(fd, msg, flags);
	if (r >= 0 && cap) {
		unname(fd, msg->msg_name, cap, &msg->msg_namelen, NULL, false);
		errno = saved;
	}
	return r;
}
