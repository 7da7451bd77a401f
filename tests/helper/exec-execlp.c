/* SPDX-License-Identifier: MIT */
/*
 * exec-execlp - execlp(3) only: exec-execlp FILE [ARG] searches PATH for FILE
 * and runs it with argv [FILE, ARG].
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: exec-execlp FILE [ARG]\n");
		return 2;
	}
	execlp(argv[1], argv[1], argc > 2 ? argv[2] : NULL, (char *)NULL);
	fprintf(stderr, "exec-execlp: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
