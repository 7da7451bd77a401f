/* SPDX-License-Identifier: MIT */
/*
 * exec-execvpe - execvpe(3) only: exec-execvpe FILE [ARG...] searches the
 * caller's PATH for FILE and runs it with argv [FILE, ARG...] and an environment
 * of nothing but PROBE=execvpe (a scrubbed environment, as env -i makes).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *envp[] = { "PROBE=execvpe", NULL };

	if (argc < 2) {
		fprintf(stderr, "usage: exec-execvpe FILE [ARG...]\n");
		return 2;
	}
	execvpe(argv[1], argv + 1, envp);
	fprintf(stderr, "exec-execvpe: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
