/* SPDX-License-Identifier: MIT */
/*
 * exec-execv - execv(3) only: exec-execv PATH [ARG...] runs PATH with argv
 * [PATH, ARG...] and the caller's environment.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: exec-execv PATH [ARG...]\n");
		return 2;
	}
	execv(argv[1], argv + 1);
	fprintf(stderr, "exec-execv: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
