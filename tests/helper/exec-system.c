/* SPDX-License-Identifier: MIT */
/*
 * exec-system - system(3) only: exec-system [-c] COMMAND runs COMMAND through
 * /bin/sh and exits with its status. -c clears the environment first (as
 * php-fpm's clear_env does) and keeps only PROBE=system.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	int i = 1, st;

	if (argc > 2 && !strcmp(argv[1], "-c")) {
		clearenv();
		setenv("PROBE", "system", 1);
		i = 2;
	}
	if (argc != i + 1) {
		fprintf(stderr, "usage: exec-system [-c] COMMAND\n");
		return 2;
	}
	st = system(argv[i]);
	if (st < 0) {
		perror("exec-system");
		return 127;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
