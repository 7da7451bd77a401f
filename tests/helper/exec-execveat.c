/* SPDX-License-Identifier: MIT */
/*
 * exec-execveat - execveat(2)'s libc wrapper only: exec-execveat DIR NAME
 * [ARG...] opens the directory DIR and runs NAME relative to it with argv
 * [NAME, ARG...] and the caller's environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	int dfd;

	if (argc < 3) {
		fprintf(stderr, "usage: exec-execveat DIR NAME [ARG...]\n");
		return 2;
	}
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		fprintf(stderr, "exec-execveat: open %s: %s\n", argv[1], strerror(errno));
		return 126;
	}
	execveat(dfd, argv[2], argv + 2, environ, 0);
	fprintf(stderr, "exec-execveat: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
