/* SPDX-License-Identifier: MIT */
/*
 * exec-execl - execl(3) only: exec-execl PATH [ARG [ARG2]] runs PATH with argv
 * [PATH, ARG, ARG2] (up to two arguments, as varargs).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: exec-execl PATH [ARG [ARG2]]\n");
		return 2;
	}
	execl(argv[1], argv[1], argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL,
	      (char *)NULL);
	fprintf(stderr, "exec-execl: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
