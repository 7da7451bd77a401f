/* SPDX-License-Identifier: MIT */
/*
 * exec-fexecve - fexecve(3) only: exec-fexecve PATH [ARG...] opens PATH
 * read-only (through the union: the fd is the branch file's) and runs the fd
 * with argv [PATH, ARG...] and the caller's environment. The fd is left open
 * across exec, so a "#!" script can be handed to its interpreter as /dev/fd/N.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: exec-fexecve PATH [ARG...]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "exec-fexecve: open %s: %s\n", argv[1], strerror(errno));
		return 126;
	}
	fexecve(fd, argv + 1, environ);
	fprintf(stderr, "exec-fexecve: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
