/* SPDX-License-Identifier: MIT */
/*
 * exec-popen - popen(3) only: exec-popen [-c] COMMAND runs COMMAND through
 * /bin/sh, copies its output to stdout and exits with its status. -c clears
 * the environment first and keeps only PROBE=popen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	char buf[4096];
	size_t n;
	FILE *p;
	int i = 1, st;

	if (argc > 2 && !strcmp(argv[1], "-c")) {
		clearenv();
		setenv("PROBE", "popen", 1);
		i = 2;
	}
	if (argc != i + 1) {
		fprintf(stderr, "usage: exec-popen [-c] COMMAND\n");
		return 2;
	}
	p = popen(argv[i], "r");
	if (!p) {
		perror("exec-popen");
		return 127;
	}
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, stdout);
	st = pclose(p);
	if (st < 0)
		return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
