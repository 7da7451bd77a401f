/* SPDX-License-Identifier: MIT */
/*
 * fd-limit - run at the descriptor limit (RLIMIT_NOFILE), as a busy server does.
 *
 *   fd-limit FREE CMD [ARG...]    fill every descriptor below a soft limit of 64
 *                                 but FREE of them, then execute CMD, which
 *                                 inherits them (the dynamic loader needs one
 *                                 while it loads, so FREE >= 1 there)
 *   fd-limit FREE -- OP P [Q]     the same, then OP in this process (under the
 *                                 library when it is preloaded) and print
 *                                 "OP -> OK" or "OP -> ENAME": unlink P,
 *                                 rmdir P, rename P Q, link P Q
 *
 * The descriptors left free are the highest ones below the limit, so that
 * nothing the command opens lands above them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define LIMIT 64

static int op(const char *name, char **av, int ac)
{
	if (!strcmp(name, "unlink") && ac == 1)
		return unlink(av[0]);
	if (!strcmp(name, "rmdir") && ac == 1)
		return rmdir(av[0]);
	if (!strcmp(name, "rename") && ac == 2)
		return rename(av[0], av[1]);
	if (!strcmp(name, "link") && ac == 2)
		return link(av[0], av[1]);
	fprintf(stderr, "fd-limit: unknown operation %s\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	int free_fds, fd, top = -1, r;

	if (argc < 3) {
		fprintf(stderr, "usage: fd-limit FREE CMD [ARG...] | fd-limit FREE -- OP P [Q]\n");
		return 2;
	}
	free_fds = atoi(argv[1]);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max < LIMIT) {
		perror("fd-limit: getrlimit");
		return 2;
	}
	rl.rlim_cur = LIMIT;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		perror("fd-limit: setrlimit");
		return 2;
	}
	/* every number below the limit taken: what is left is what we give back */
	while ((fd = open("/dev/null", O_RDONLY)) >= 0)
		top = fd > top ? fd : top;
	if (errno != EMFILE || top != LIMIT - 1) {
		fprintf(stderr, "fd-limit: filled up to %d: %s\n", top, strerror(errno));
		return 2;
	}
	for (int i = 0; i < free_fds; i++)
		close(LIMIT - 1 - i);
	if (strcmp(argv[2], "--")) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "fd-limit: %s: %s\n", argv[2], strerror(errno));
		return 127;
	}
	if (argc < 5)
		return 2;
	errno = 0;
	r = op(argv[3], argv + 4, argc - 4);
	printf("%s -> %s\n", argv[3], r == 0 ? "OK" : strerrorname_np(errno));
	return 0;
}
