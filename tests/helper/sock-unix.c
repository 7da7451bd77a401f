/* SPDX-License-Identifier: MIT */
/*
 * sock-unix - AF_UNIX pathname sockets through bind, connect, accept, sendto,
 * sendmsg, recvfrom, getsockname and getpeername. Prints one line per step:
 *   sock-unix bind PATH          bind a stream socket; "bound NAME" or "bind ERRNO"
 *   sock-unix connect PATH       "connected PEERNAME" or "connect ERRNO"
 *   sock-unix stream PATH        server bound at PATH, a client connects by PATH
 *   sock-unix dgram PATH CPATH   server at PATH, client bound at CPATH sends by
 *                                sendto and sendmsg; recvfrom and recvmsg name
 *                                the sender
 * NAME is what getsockname/getpeername/accept/recvfrom answered.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t mkaddr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	strncpy(sun->sun_path, path, sizeof(sun->sun_path) - 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sun->sun_path) + 1);
}

static const char *name(const struct sockaddr_un *sun, socklen_t len)
{
	static char buf[256];

	if (len <= offsetof(struct sockaddr_un, sun_path))
		return "(unnamed)";
	snprintf(buf, sizeof(buf), "%.*s",
		 (int)(len - offsetof(struct sockaddr_un, sun_path)), sun->sun_path);
	return buf;
}

static int fail(const char *what)
{
	printf("%s %s\n", what, strerrorname_np(errno));
	return 1;
}

static int do_stream(const char *path)
{
	struct sockaddr_un a, b;
	socklen_t l = mkaddr(&a, path), bl;
	int s = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0), x;
	char ch = 0;

	if (bind(s, (struct sockaddr *)&a, l) < 0)
		return fail("bind");
	if (listen(s, 1) < 0)
		return fail("listen");
	if (connect(c, (struct sockaddr *)&a, l) < 0)
		return fail("connect");
	bl = sizeof(b);
	x = accept(s, (struct sockaddr *)&b, &bl);
	if (x < 0)
		return fail("accept");
	printf("accept %s\n", name(&b, bl));
	bl = sizeof(b);
	if (getsockname(s, (struct sockaddr *)&b, &bl) < 0)
		return fail("getsockname");
	printf("getsockname %s\n", name(&b, bl));
	bl = sizeof(b);
	if (getpeername(c, (struct sockaddr *)&b, &bl) < 0)
		return fail("getpeername");
	printf("getpeername %s\n", name(&b, bl));
	/* a buffer too small for the name: truncated, with the full length */
	bl = offsetof(struct sockaddr_un, sun_path) + 4;
	memset(&b, 0, sizeof(b));
	if (getsockname(s, (struct sockaddr *)&b, &bl) < 0)
		return fail("getsockname");
	printf("short %.4s %d\n", b.sun_path,
	       (int)(bl - offsetof(struct sockaddr_un, sun_path)) == (int)strlen(path) + 1);
	if (write(c, "x", 1) != 1 || read(x, &ch, 1) != 1 || ch != 'x')
		return fail("transfer");
	printf("transfer ok\n");
	return 0;
}

static int do_dgram(const char *path, const char *cpath)
{
	struct sockaddr_un a, ca, b;
	socklen_t l = mkaddr(&a, path), cl = mkaddr(&ca, cpath), bl;
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), c = socket(AF_UNIX, SOCK_DGRAM, 0);
	char buf[16];
	struct iovec iov = { .iov_base = "msg", .iov_len = 3 };
	struct msghdr m = { .msg_name = &a, .msg_namelen = l, .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (bind(s, (struct sockaddr *)&a, l) < 0)
		return fail("bind");
	if (bind(c, (struct sockaddr *)&ca, cl) < 0)
		return fail("bind-client");
	if (sendto(c, "to", 2, 0, (struct sockaddr *)&a, l) != 2)
		return fail("sendto");
	bl = sizeof(b);
	n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&b, &bl);
	if (n < 0)
		return fail("recvfrom");
	printf("recvfrom %.*s %s\n", (int)n, buf, name(&b, bl));
	if (sendmsg(c, &m, 0) != 3)
		return fail("sendmsg");
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	m.msg_name = &b;
	m.msg_namelen = sizeof(b);
	n = recvmsg(s, &m, 0);
	if (n < 0)
		return fail("recvmsg");
	printf("sendmsg %.*s %s\n", (int)n, buf, name(&b, m.msg_namelen));
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a, b;
	socklen_t l, bl = sizeof(b);
	int s;

	if (argc < 3)
		return 2;
	if (!strcmp(argv[1], "stream"))
		return do_stream(argv[2]);
	if (!strcmp(argv[1], "dgram") && argc > 3)
		return do_dgram(argv[2], argv[3]);
	l = mkaddr(&a, argv[2]);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (!strcmp(argv[1], "bind")) {
		if (bind(s, (struct sockaddr *)&a, l) < 0)
			return fail("bind");
		if (getsockname(s, (struct sockaddr *)&b, &bl) < 0)
			return fail("getsockname");
		printf("bound %s\n", name(&b, bl));
		return 0;
	}
	if (!strcmp(argv[1], "connect")) {
		if (connect(s, (struct sockaddr *)&a, l) < 0)
			return fail("connect");
		if (getpeername(s, (struct sockaddr *)&b, &bl) < 0)
			return fail("getpeername");
		printf("connected %s\n", name(&b, bl));
		return 0;
	}
	return 2;
}
