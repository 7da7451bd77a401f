/* SPDX-License-Identifier: MIT */
/*
 * exec.h - what the files that start programs share (private to src/preload/):
 * env.c (the environment the new program gets), exec.c (the "#!" chain and the
 * exec doors), spawn.c (posix_spawn and its file actions), popen.c (system,
 * popen). All of it may run in a vfork child: see exec.c.
 */
#ifndef AUFS_PRELOAD_EXEC_H
#define AUFS_PRELOAD_EXEC_H

#include <spawn.h>

#include "shim.h"

#define XDEPTH AUFS_SHEBANG_DEPTH
#define XSTACK_PTRS 8192	/* argv and envp copies on the stack up to this many entries */
#define XPRELOAD_MAX 8192	/* longest LD_PRELOAD entry that is rewritten */
/* Room for a rewritten argv: interpreters and their arguments, /bin/sh's FILE, NULL. */
#define XARGS(argc) (((argc) > 2 ? (argc) : 2) + 2 * XDEPTH + 2)

/* ---------------------------------------------------------------- env.c */

/*
 * The virtual cwd the new program should start in, as an AUFS_CWD entry, and
 * (in a vfork child) the union name of the kernel's cwd for relative paths.
 */
struct xctx {
	bool vfork;		/* in a vfork child: write nothing of the parent's */
	bool cwd_env;		/* cwdenv is an AUFS_CWD entry for the child */
	bool cwd_known;		/* vfork child: vcwd names the kernel's cwd */
	bool loads;		/* the child's environment loads the library */
	char *vcwd;		/* inside cwdenv, after "AUFS_CWD=DEV:INO:" */
	char cwdenv[PATH_MAX + 64];
};

/* Fill X's cwd fields. */
void xctx_cwd(struct xctx *x);
/* An exec from a constructor that ran before env.c's: capture the start-up state now. */
void env_capture_early(void);
/* Entries of ENVP, and the room a rewritten LD_PRELOAD entry needs (at least 1). */
size_t env_count(char *const envp[], size_t *ret_room);
/* The child's environment into OUT (N + 8 pointers); PRE (ROOM bytes) for LD_PRELOAD. */
char *const *env_build(struct xctx *x, char *const envp[], size_t n, char **out, char *pre,
		       size_t room);
/* system and popen: put the library back into environ when the program dropped it. */
void env_ensure(void);

/* ---------------------------------------------------------------- exec.c */

/* One program to start: the "#!" chain followed so far. */
/* One program to start: the "#!" chain followed so far. */
struct xbuf {
	struct aufs_object obj;
	char abs[PATH_MAX];		/* vfork child: a relative path made absolute */
	char line[XDEPTH][AUFS_SHEBANG_MAX + 1];
	const char *name[XDEPTH];	/* interpreter of level d (as the "#!" line says) */
	const char *arg[XDEPTH];	/* its optional argument, or NULL */
	int depth;			/* "#!" levels followed */
	bool any;			/* some level lives in, or passed through, a union */
	char *vname;			/* execveat: the script's virtual name (PATH_MAX) */
};

enum xkind { X_EXECVE, X_EXECVEAT, X_FEXECVE, X_EXECVPE, X_SPAWN, X_SPAWNP };

struct xreq {
	enum xkind kind;
	int dirfd;			/* execveat, fexecve */
	const char *path;
	int flags;			/* execveat's AT_* flags */
	char *const *argv;
	char *const *envp;
	pid_t *pid;			/* posix_spawn* */
	const posix_spawn_file_actions_t *fa;
	const posix_spawnattr_t *attr;
	const char *cdir;		/* virtual dir of the file actions' chdir, or NULL */
};

/* What the kernel gets, once the environment is built. */
struct xrun {
	struct xctx *x;
	struct xbuf *b;
	const struct xreq *q;
	char *const *env;
	size_t argc;
	char **args;			/* XARGS(argc) pointers */
};

int xresolve(struct xctx *x, struct xbuf *b, int dirfd, const char *path, unsigned flags,
	     const char **ret_real);
int ximage(struct xctx *x, struct xbuf *b, int dirfd, const char *path, unsigned flags,
	   const char **ret_real);
char *const *xargv(const struct xbuf *b, const char *sname, char *const argv[], size_t argc,
		   char **out);
/* Every door ends here. Returns -errno (exec: only on failure) or 0 (spawn). */
int xcall(const struct xreq *q);

/* ---------------------------------------------------------------- spawn.c */

int run_spawn(struct xrun *w, const char *path);
int run_spawnp(struct xrun *w);

#endif /* AUFS_PRELOAD_EXEC_H */
