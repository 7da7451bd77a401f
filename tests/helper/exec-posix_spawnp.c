/* SPDX-License-Identifier: MIT */
/*
 * exec-posix_spawnp - posix_spawnp(3) only: exec-posix_spawnp [-o FILE] NAME
 * [ARG...] searches PATH for NAME and spawns it with argv [NAME, ARG...] and the
 * caller's environment, waits for it and exits with its status. -o adds a
 * posix_spawn_file_actions_addopen(1, FILE, O_WRONLY|O_CREAT|O_TRUNC, 0644)
 * action: the child's stdout goes to FILE.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	int i = 1, r, st;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (argc > 3 && !strcmp(argv[1], "-o")) {
		r = posix_spawn_file_actions_addopen(&fa, 1, argv[2], O_WRONLY | O_CREAT | O_TRUNC,
						     0644);
		if (r) {
			fprintf(stderr, "exec-posix_spawnp: addopen %s: %s\n", argv[2], strerror(r));
			return 126;
		}
		i = 3;
	}
	if (argc <= i) {
		fprintf(stderr, "usage: exec-posix_spawnp [-o FILE] NAME [ARG...]\n");
		return 2;
	}
	r = posix_spawnp(&pid, argv[i], &fa, NULL, argv + i, environ);
	posix_spawn_file_actions_destroy(&fa);	/* its copies of the paths (memcheck) */
	if (r) {
		fprintf(stderr, "exec-posix_spawnp: %s: %s\n", argv[i], strerror(r));
		return 127;
	}
	if (waitpid(pid, &st, 0) < 0)
		return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
