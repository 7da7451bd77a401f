/* SPDX-License-Identifier: MIT */
/*
 * exec-posix_spawn - posix_spawn(3) only: exec-posix_spawn [-C DIR] PATH
 * [ARG...] spawns PATH with argv [PATH, ARG...] and an environment of nothing
 * but PROBE=posix_spawn, waits for it and exits with its status. -C adds a
 * posix_spawn_file_actions_addchdir_np(DIR) action.
 */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	char *envp[] = { "PROBE=posix_spawn", NULL };
	posix_spawn_file_actions_t fa;
	int i = 1, r, st;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (argc > 3 && !strcmp(argv[1], "-C")) {
		r = posix_spawn_file_actions_addchdir_np(&fa, argv[2]);
		if (r) {
			fprintf(stderr, "exec-posix_spawn: addchdir_np %s: %s\n", argv[2],
				strerror(r));
			return 126;
		}
		i = 3;
	}
	if (argc <= i) {
		fprintf(stderr, "usage: exec-posix_spawn [-C DIR] PATH [ARG...]\n");
		return 2;
	}
	r = posix_spawn(&pid, argv[i], &fa, NULL, argv + i, envp);
	posix_spawn_file_actions_destroy(&fa);	/* its copies of the paths (memcheck) */
	if (r) {
		fprintf(stderr, "exec-posix_spawn: %s: %s\n", argv[i], strerror(r));
		return 127;
	}
	if (waitpid(pid, &st, 0) < 0)
		return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
