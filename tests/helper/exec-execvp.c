/* SPDX-License-Identifier: MIT */
/*
 * exec-execvp - execvp(3) only: exec-execvp FILE [ARG...] searches PATH for FILE
 * and runs it with argv [FILE, ARG...].
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: exec-execvp FILE [ARG...]\n");
		return 2;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "exec-execvp: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
