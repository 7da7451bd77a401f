/* SPDX-License-Identifier: MIT */
/*
 * vfork-noalloc - does anything allocate in a vfork child on its way to a new
 * program? A vfork child shares its parent's heap while the parent's other
 * threads run on, so the exec shims must not malloc there (src/preload/exec.c).
 *   vfork-noalloc [-w PATH] MODE PROG [DIR]
 * vfork()s, and the child starts PROG (argv [PROG]) by MODE:
 *   execve        execve(PROG)
 *   execvp        execvp(PROG): a name looked up in $PATH
 *   posix_spawn   posix_spawn(PROG), waited for in the child
 *   posix_spawnp  posix_spawnp(PROG), the same with a $PATH lookup
 *   execveat      execveat(FD, PROG), FD a directory fd on DIR opened with a
 *                 raw system call (the library never saw it, as if inherited)
 * This program defines malloc, calloc, realloc and free (the executable comes
 * first in the symbol lookup order, before the preloaded library and libc, so
 * the library's calls land here too); each counts the calls made by a process
 * other than this one, i.e. by the vfork child, in memory the child shares with
 * it. Before the vfork the program makes no file call, so the library's lookup
 * caches are cold; with -w it stat()s PATH first, so they exist (warm for
 * PATH's directories, without PROG). Prints "child allocations: N" and the child's exit status;
 * exits 1 when N > 0 or the child failed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

extern char **environ;

static pid_t main_pid;			/* 0 until main starts: start-up is not counted */
static _Atomic int child_calls;
static _Atomic int child_which;		/* 1 malloc, 2 calloc, 4 realloc, 8 free */

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);

/* dlsym may allocate before the real functions are known: a small static arena */
static _Alignas(16) char boot[64 * 1024];
static size_t boot_used;
static int resolving;

static void note(int which)
{
	if (main_pid && (pid_t)syscall(SYS_getpid) != main_pid) {
		atomic_fetch_add(&child_calls, 1);
		atomic_fetch_or(&child_which, which);
	}
}

static void *boot_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (boot_used + n > sizeof(boot))
		return NULL;
	p = boot + boot_used;
	boot_used += n;
	return p;	/* static storage: already zero */
}

static int in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

static void resolve_next(void)
{
	if (next_free || resolving)
		return;
	resolving = 1;
	next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	resolving = 0;
}

EXPORT void *malloc(size_t n)
{
	note(1);
	resolve_next();
	return next_malloc ? next_malloc(n) : boot_alloc(n);
}

EXPORT void *calloc(size_t n, size_t size)
{
	note(2);
	resolve_next();
	if (!next_calloc)
		return size && n > SIZE_MAX / size ? NULL : boot_alloc(n * size);
	return next_calloc(n, size);
}

EXPORT void *realloc(void *p, size_t n)
{
	note(4);
	resolve_next();
	if (in_boot(p) || !next_realloc) {
		void *q = malloc(n);

		if (q && p)
			memcpy(q, p, n < (size_t)(boot + sizeof(boot) - (char *)p) ?
					     n : (size_t)(boot + sizeof(boot) - (char *)p));
		return q;
	}
	return next_realloc(p, n);
}

EXPORT void free(void *p)
{
	note(8);
	if (!p || in_boot(p))
		return;
	resolve_next();
	if (next_free)
		next_free(p);
}

static int spawn_wait(int (*spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
				   const posix_spawnattr_t *, char *const[], char *const[]),
		      const char *prog, char **argv)
{
	pid_t pid;
	int st;

	if (spawn(&pid, prog, NULL, NULL, argv, environ))
		return 127;
	if (waitpid(pid, &st, 0) < 0)
		return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* What the child needs, in static storage (the vfork child runs on main's frame). */
static const char *mode, *prog;
static char *cargv[2];
static int dirfd = -1;

static int parse(int argc, char **argv)
{
	int a = 1;

	if (argc > 2 && !strcmp(argv[1], "-w")) {
		struct stat wst;

		if (stat(argv[2], &wst) < 0) {
			printf("stat %s: %s\n", argv[2], strerrorname_np(errno));
			return 1;
		}
		a = 3;
	}
	if (argc < a + 2 || (!strcmp(argv[a], "execveat") && argc < a + 3)) {
		fprintf(stderr, "usage: vfork-noalloc [-w PATH] MODE PROG [DIR]\n");
		return 2;
	}
	mode = argv[a];
	prog = cargv[0] = argv[a + 1];
	if (!strcmp(mode, "execveat")) {
		dirfd = (int)syscall(SYS_openat, AT_FDCWD, argv[a + 2], O_RDONLY | O_DIRECTORY, 0);
		if (dirfd < 0) {
			printf("open %s: %s\n", argv[a + 2], strerrorname_np(errno));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int st, r = parse(argc, argv);
	pid_t pid;

	if (r)
		return r;
	main_pid = getpid();
	pid = vfork();
	if (pid == 0) {
		if (!strcmp(mode, "execve"))
			execve(prog, cargv, environ);
		else if (!strcmp(mode, "execvp"))
			execvp(prog, cargv);
		else if (!strcmp(mode, "execveat"))
			execveat(dirfd, prog, cargv, environ, 0);
		else if (!strcmp(mode, "posix_spawn"))
			_exit(spawn_wait(posix_spawn, prog, cargv));
		else if (!strcmp(mode, "posix_spawnp"))
			_exit(spawn_wait(posix_spawnp, prog, cargv));
		_exit(127);
	}
	if (pid < 0) {
		printf("vfork: %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("child allocations: %d", atomic_load(&child_calls));
	if (atomic_load(&child_which)) {
		int w = atomic_load(&child_which);

		printf(" (%s%s%s%s)", w & 1 ? " malloc" : "", w & 2 ? " calloc" : "",
		       w & 4 ? " realloc" : "", w & 8 ? " free" : "");
	}
	putchar('\n');
	if (waitpid(pid, &st, 0) < 0)
		return 1;
	printf("child status: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return atomic_load(&child_calls) || !WIFEXITED(st) || WEXITSTATUS(st);
}
