/* SPDX-License-Identifier: MIT */
/*
 * exec.c - running programs: the exec doors and the "#!" chain. Canonical:
 * execve, execveat, fexecve, execvpe; hand-written (variadic) execl, execle,
 * execlp. Forwarders: execv -> execve(environ), execvp -> execvpe(environ),
 * execl/execle -> execve, execlp -> execvpe. glibc reaches none of these
 * through another (each calls the execve system call itself), so each door is
 * wrapped; spawn.c
 * has posix_spawn, popen.c system and popen, env.c the child's environment.
 *
 * What every door does:
 *  - the program's path, and each PATH candidate, is resolved through the union
 *    and the kernel is given the branch file;
 *  - a "#!" script in a union, or one whose interpreter lives in a union, is run
 *    the kernel's way by hand: the interpreter (resolved through the union) with
 *    [interp, optional-arg, VIRTUAL-script-path, argv[1..]], so that the new
 *    process opens the script through the library and $0 shows no branch path;
 *  - the child's environment keeps the library (env.c).
 * This code may run in a vfork child (dash, python's subprocess), which shares
 * its parent's memory and stack: no malloc, no locks, nothing of the parent's
 * written, stack buffers only (about 22 KiB for execve, 30 KiB for posix_spawnp;
 * argv and envp copies are bounded, past the bound the call degrades to the
 * plain branch path and the program's own envp). The core is told so
 * (AUFS_RESOLVE_NOALLOC): it reads the lookup cache but never fills it.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "exec.h"
#include "aufs/sys.h"

bool aufs_in_vfork_child(void)
{
	/* fork children update aufs_pid in an atfork handler; vfork runs none */
	return (pid_t)sys_getpid() != aufs_pid;
}

/* ---------------------------------------------------------------- the image */

/*
 * Resolve PATH for the kernel. Returns 0 with *RET_REAL the branch (or host)
 * file, AUFS_PASS (*RET_REAL = PATH) or -errno (-ENOENT for a name the union
 * does not have).
 */
int xresolve(struct xctx *x, struct xbuf *b, int dirfd, const char *path, unsigned flags,
	     const char **ret_real)
{
	const char *p = path;
	int r;

	*ret_real = path;
	if (x->vfork && dirfd == AT_FDCWD && path[0] && path[0] != '/') {
		/* the parent's virtual cwd may not be this child's: use the kernel's */
		if (!x->cwd_known)
			return AUFS_PASS;
		r = snprintf(b->abs, sizeof(b->abs), "%s/%s", x->vcwd, path);
		if (r < 0 || (size_t)r >= sizeof(b->abs))
			return -ENAMETOOLONG;
		p = b->abs;
	}
	r = aufs_lookup(dirfd, p, flags | (x->vfork ? AUFS_RESOLVE_NOALLOC : 0), &b->obj);
	if (r == AUFS_PASS || r < 0)
		return r;
	*ret_real = b->obj.real;	/* a branch file, or the host path the name led to */
	return 0;
}

/*
 * Follow the "#!" chain of PATH from level B->depth, each level resolved through
 * the union, up to the first level that is no script (or that the kernel should
 * refuse by itself: not executable, unreadable, malformed, too deep). *RET_REAL:
 * the file to give the kernel. Returns 0, AUFS_PASS when no level touched a
 * union (the caller makes the program's own call), or -errno.
 */
int ximage(struct xctx *x, struct xbuf *b, int dirfd, const char *path, unsigned flags,
	   const char **ret_real)
{
	const char *real;

	for (;;) {
		const struct stat *st = NULL;
		char *name, *arg;
		int r = xresolve(x, b, dirfd, path, flags, &real);

		if (r < 0)
			return r;
		if (r == 0) {
			b->any = true;
			if (b->obj.have_stat && !S_ISLNK(b->obj.st.st_mode))
				st = &b->obj.st;
		}
		if (b->depth == 0 && b->vname) {
			/* execveat(dirfd, "rel"): the kernel would say /dev/fd/N/rel */
			if (r == 0 && b->obj.union_id)
				snprintf(b->vname, PATH_MAX, "%s", b->obj.virt);
			else
				snprintf(b->vname, PATH_MAX, "/dev/fd/%d/%s", dirfd, path);
		}
		/* without the library in the child, the kernel runs the branch file */
		if (!x->loads || b->depth == XDEPTH)
			break;
		if (flags & AUFS_RESOLVE_NOFOLLOW) {
			struct stat lst;

			/* execveat(AT_SYMLINK_NOFOLLOW) of a symlink: ELOOP is the kernel's */
			if (sys_lstat(real, &lst) < 0 || S_ISLNK(lst.st_mode))
				break;
		}
		if (aufs_shebang_read(real, st, b->line[b->depth], &name, &arg) != 0)
			break;
		/* the kernel runs a script only when the caller may execute it */
		if (sys_faccessat2(AT_FDCWD, real, X_OK, AT_EACCESS) < 0)
			break;
		b->name[b->depth] = name;
		b->arg[b->depth] = arg;
		b->depth++;
		path = name;
		dirfd = AT_FDCWD;
		flags = 0;
	}
	if (!b->any)
		return AUFS_PASS;
	*ret_real = real;
	return 0;
}

/* [name, arg, ..., name0, arg0, SNAME, argv[1..]] into OUT (XARGS(argc) pointers). */
char *const *xargv(const struct xbuf *b, const char *sname, char *const argv[], size_t argc,
		   char **out)
{
	size_t k = 0;

	if (!b->depth)
		return argv;
	for (int d = b->depth - 1; d >= 0; d--) {
		out[k++] = (char *)b->name[d];
		if (b->arg[d])
			out[k++] = (char *)b->arg[d];
	}
	out[k++] = (char *)sname;
	for (size_t i = 1; i < argc; i++)
		out[k++] = argv[i];
	out[k] = NULL;
	return out;
}

/* ---------------------------------------------------------------- the calls */

/*
 * REAL below a branch root this process holds, as the kernel is to open it: the
 * root's /proc/thread-self/fd entry (core.h), so that a branch renamed or replaced
 * on disk runs its own program, never the new occupant's. The descriptor is
 * close-on-exec; the kernel opens the image before it closes any. NULL with
 * -ESTALE in *ERR for a stale root.
 */
static const char *exec_real(const char *real, char *buf, int *err)
{
	const char *p = aufs_root_proc(real, buf, err);

	return *err ? NULL : p;
}

/* execve/execveat of PATH with ARGV. Returns -errno (only on failure). */
static int run_exec(struct xrun *w, int dirfd, const char *path, int atflags,
		    char *const argv[], size_t argc)
{
	struct xbuf *b = w->b;
	char *const *av, held[PATH_MAX];
	const char *real;
	int r;

	b->depth = 0;
	b->any = false;
	r = ximage(w->x, b, dirfd, path,
		   (atflags & AT_SYMLINK_NOFOLLOW) ? AUFS_RESOLVE_NOFOLLOW : 0, &real);
	if (r < 0)
		return r;
	if (r == AUFS_PASS) {
		if (dirfd == AT_FDCWD && !atflags)
			REAL(execve)(path, argv, w->env);
		else
			REAL(execveat)(dirfd, path, argv, w->env, atflags);
		return -errno;
	}
	av = xargv(b, b->vname ? b->vname : path, argv, argc, w->args);
	real = exec_real(real, held, &r);
	if (!real)
		return r;
	if ((atflags & AT_SYMLINK_NOFOLLOW) && !b->depth)
		REAL(execveat)(AT_FDCWD, real, av, w->env, AT_SYMLINK_NOFOLLOW);
	else
		REAL(execve)(real, av, w->env);
	return -errno;
}

/* glibc's execvp on ENOEXEC: FILE is a script without "#!", run /bin/sh on it. */
static __attribute__((noinline)) int run_sh(struct xrun *w, const char *file,
					    char *const argv[], size_t argc)
{
	size_t n = argc > 1 ? argc + 1 : 2;	/* [sh, FILE, argv[1..]] */
	char *sh[n + 1];

	sh[0] = (char *)"/bin/sh";
	sh[1] = (char *)file;
	for (size_t i = 1; i < argc; i++)
		sh[i + 1] = argv[i];
	sh[n] = NULL;
	return run_exec(w, AT_FDCWD, "/bin/sh", 0, sh, n);
}

/* execvpe: glibc's search (posix/execvpe.c), each candidate through the union. */
static __attribute__((noinline)) int run_execvp(struct xrun *w, const char *file)
{
	char *const *argv = w->q->argv;
	const char *cur;
	char cand[PATH_MAX];
	bool eacces = false;
	int r = -ENOENT;

	if (!*file)
		return -ENOENT;
	if (strchr(file, '/')) {
		r = run_exec(w, AT_FDCWD, file, 0, argv, w->argc);
		return r == -ENOEXEC ? run_sh(w, file, argv, w->argc) : r;
	}
	if (strnlen(file, NAME_MAX + 1) > NAME_MAX)
		return -ENAMETOOLONG;
	cur = getenv("PATH");
	if (!cur)
		cur = "/bin:/usr/bin";
	while (aufs_path_next(&cur, file, cand, sizeof(cand))) {
		r = run_exec(w, AT_FDCWD, cand, 0, argv, w->argc);
		if (r == -ENOEXEC)
			r = run_sh(w, cand, argv, w->argc);
		switch (-r) {
		case EACCES:
			eacces = true;
			/* fallthrough */
		case ENOENT:
		case ESTALE:
		case ENOTDIR:
		case ENODEV:
		case ETIMEDOUT:
			continue;	/* missing or not ours to run: the next directory */
		default:
			return r;
		}
	}
	return eacces ? -EACCES : r;
}

/* fexecve, execveat(fd, "", AT_EMPTY_PATH): only an interpreter in a union needs us. */
static __attribute__((noinline)) int run_fexec(struct xrun *w)
{
	const struct xreq *q = w->q;
	struct xbuf *b = w->b;
	const char *real;
	char *name, *arg, fdname[32], held[PATH_MAX];
	struct stat st;
	int r;

	b->depth = 0;
	b->any = false;
	if (w->x->loads && sys_fstat(q->dirfd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 0111) && aufs_shebang_read_fd(q->dirfd, b->line[0], &name, &arg) == 0 &&
	    sys_faccessat2(q->dirfd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH) == 0) {
		b->name[0] = name;
		b->arg[0] = arg;
		b->depth = 1;
		r = ximage(w->x, b, AT_FDCWD, name, 0, &real);
		if (r < 0)
			return r;
		if (r == 0) {
			/* the kernel hands a script fd to its interpreter as /dev/fd/N */
			if (sys_fcntl(q->dirfd, F_GETFD, 0) & FD_CLOEXEC)
				return -ENOENT;
			snprintf(fdname, sizeof(fdname), "/dev/fd/%d", q->dirfd);
			real = exec_real(real, held, &r);
			if (!real)
				return r;
			REAL(execve)(real, xargv(b, fdname, q->argv, w->argc, w->args), w->env);
			return -errno;
		}
	}
	if (q->kind == X_FEXECVE)
		REAL(fexecve)(q->dirfd, q->argv, w->env);
	else
		REAL(execveat)(q->dirfd, "", q->argv, w->env, q->flags);
	return -errno;
}

/*
 * The argv copy of W for ARGC arguments when it is too big for the stack: xargs
 * and find -exec + pass tens of thousands of names, so it goes to a mapping,
 * dropped with the old image or unmapped by the caller. Not in a vfork child
 * (the mapping would stay in the parent): there such a script runs by its
 * branch path. Returns the mapping's size, 0 when there is none.
 */
static size_t xargs_map(struct xrun *w, size_t argc)
{
	size_t big = XARGS(argc) * sizeof(char *);
	void *p = MAP_FAILED;

	if (!w->x->vfork)
		p = sys_mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sys_mmap_failed(p)) {
		w->x->loads = false;	/* no "#!" by hand without room */
		return 0;
	}
	w->args = p;
	return big;
}

/* The door of W's request, once the environment is built. */
static int xdispatch(struct xrun *w)
{
	const struct xreq *q = w->q;

	switch (q->kind) {
	case X_EXECVE:
		return run_exec(w, AT_FDCWD, q->path, 0, q->argv, w->argc);
	case X_EXECVEAT:
		if (!q->path[0] && (q->flags & AT_EMPTY_PATH))
			return run_fexec(w);	/* the fd itself */
		return run_exec(w, q->dirfd, q->path, q->flags & AT_SYMLINK_NOFOLLOW, q->argv,
				w->argc);
	case X_FEXECVE:
		return run_fexec(w);
	case X_EXECVPE:
		return run_execvp(w, q->path);
	case X_SPAWN:
		return run_spawn(w, q->path);
	case X_SPAWNP:
		return run_spawnp(w);
	}
	return -ENOSYS;
}

/* Can the vector V (NULL allowed, as Linux allows it) and its strings be read? */
static bool strv_readable(char *const *v)
{
	v = AUFS_LAUNDER(v);
	if (!v)
		return true;
	for (;; v++) {
		const char *s;

		if (aufs_guard_copy(&s, v, sizeof(s)) < 0)	/* any alignment, as the kernel */
			return false;
		if (!s)
			return true;
		/* the kernel's bound for one string (MAX_ARG_STRLEN): E2BIG past it */
		if (aufs_guard_strnlen(s, 32 * 4096) == (size_t)-1)
			return false;
	}
}

/*
 * Every door ends here: build the child's environment on this stack, then run.
 * Returns -errno (exec: only on failure) or 0 (spawn).
 */
int xcall(const struct xreq *q)
{
	struct xctx x = { .vfork = aufs_in_vfork_child() };
	bool vname = q->kind == X_EXECVEAT && q->dirfd != AT_FDCWD && q->path[0] &&
		     q->path[0] != '/';
	struct xrun w = { .x = &x, .q = q };
	size_t room, n, argc = 0;
	struct xbuf b;

	/*
	 * Hostile argv or envp: the kernel opens the image first, then copies the
	 * strings (EFAULT). So the image is resolved as usual and given the
	 * caller's own vectors, unread: no "#!" by hand, no environment of ours.
	 */
	bool hostile = !strv_readable(q->argv) || !strv_readable(q->envp);

	if (!x.vfork)
		env_capture_early();	/* an exec from a constructor that ran before ours */
	n = hostile ? 0 : env_count(q->envp, &room);
	if (hostile)
		room = 1;
	while (!hostile && q->argv && q->argv[argc])
		argc++;
	w.b = &b;
	{
		char *env[n <= XSTACK_PTRS ? n + 8 : 1];
		char *args[argc <= XSTACK_PTRS ? XARGS(argc) : 1];
		char pre[room], vbuf[vname ? PATH_MAX : 1];
		size_t big = 0;
		int r;

		b.vname = vname ? vbuf : NULL;
		xctx_cwd(&x);
		if (hostile) {
			w.env = q->envp;
			x.loads = false;
		} else if (n <= XSTACK_PTRS) {
			w.env = env_build(&x, q->envp, n, env, pre, room);
		} else {
			w.env = q->envp;	/* too big to copy: as the program gave it */
			x.loads = false;
		}
		w.argc = argc;
		w.args = args;
		if (argc > XSTACK_PTRS)
			big = xargs_map(&w, argc);
		r = xdispatch(&w);
		if (big)
			(void)sys_munmap(w.args, big);	/* ours alone: cannot fail */
		return r;
	}
}

/* ---------------------------------------------------------------- exec */

static int exec_ret(int r)
{
	errno = -r;
	return -1;
}

int shim_execve(const char *path, char *const argv[], char *const envp[])
{
	struct xreq q = { .kind = X_EXECVE, .dirfd = AT_FDCWD, .argv = argv, .envp = envp };

	if (!shim_enter(NULL) || !aufs_path_ok(path))
		return REAL(execve)(path, argv, envp);
	q.path = path;
	return exec_ret(xcall(&q));
}

int shim_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	struct xreq q = { .kind = X_EXECVEAT, .dirfd = dirfd, .flags = flags, .argv = argv,
			  .envp = envp };

	if (!shim_enter(NULL) || !aufs_path_ok(path))
		return REAL(execveat)(dirfd, path, argv, envp, flags);
	q.path = path;
	return exec_ret(xcall(&q));
}

int shim_fexecve(int fd, char *const argv[], char *const envp[])
{
	struct xreq q = { .kind = X_FEXECVE, .dirfd = fd, .path = "", .flags = AT_EMPTY_PATH,
			  .argv = argv, .envp = envp };

	if (!shim_enter(NULL))
		return REAL(fexecve)(fd, argv, envp);
	if (fd < 0)
		return exec_ret(-EBADF);
	return exec_ret(xcall(&q));
}

int shim_execvpe(const char *file, char *const argv[], char *const envp[])
{
	struct xreq q = { .kind = X_EXECVPE, .dirfd = AT_FDCWD, .argv = argv, .envp = envp };

	if (!shim_enter(NULL) || !aufs_path_ok(file))
		return REAL(execvpe)(file, argv, envp);
	q.path = file;
	return exec_ret(xcall(&q));
}

/*
 * The execl family: the arguments up to the NULL into a stack array, as glibc
 * does, then the canonical call. ARG0 NULL means an empty argv.
 */
static size_t execl_count(const char *arg0, va_list *ap)
{
	size_t argc = 0;

	if (arg0)
		for (argc = 1; va_arg(*ap, const char *); argc++)
			;
	return argc;
}

/* ARGV gets ARGC + 1 entries; AP is left after the terminating NULL. */
static void execl_collect(const char *arg0, va_list *ap, char **argv, size_t argc)
{
	argv[0] = (char *)arg0;
	for (size_t i = 1; i <= argc; i++)
		argv[i] = va_arg(*ap, char *);
}

AUFS_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t argc;

	va_start(ap, arg);
	argc = execl_count(arg, &ap);
	va_end(ap);
	{
		char *argv[argc + 1];

		va_start(ap, arg);
		execl_collect(arg, &ap, argv, argc);
		va_end(ap);
		return shim_execve(path, argv, environ);
	}
}

AUFS_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t argc;

	va_start(ap, arg);
	argc = execl_count(arg, &ap);
	va_end(ap);
	{
		char *argv[argc + 1];
		char *const *envp;

		va_start(ap, arg);
		execl_collect(arg, &ap, argv, argc);
		envp = va_arg(ap, char *const *);	/* after the NULL that ends the arguments */
		va_end(ap);
		return shim_execve(path, argv, envp);
	}
}

AUFS_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	size_t argc;

	va_start(ap, arg);
	argc = execl_count(arg, &ap);
	va_end(ap);
	{
		char *argv[argc + 1];

		va_start(ap, arg);
		execl_collect(arg, &ap, argv, argc);
		va_end(ap);
		return shim_execvpe(file, argv, environ);
	}
}
