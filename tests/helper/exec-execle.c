/* SPDX-License-Identifier: MIT */
/*
 * exec-execle - execle(3) only: exec-execle PATH [ARG] runs PATH with argv
 * [PATH, ARG] and an environment of nothing but PROBE=execle.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *envp[] = { "PROBE=execle", NULL };

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: exec-execle PATH [ARG]\n");
		return 2;
	}
	execle(argv[1], argv[1], argc > 2 ? argv[2] : NULL, (char *)NULL, envp);
	fprintf(stderr, "exec-execle: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
