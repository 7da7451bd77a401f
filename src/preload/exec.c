/* SPDX-License-Identifier: MIT */
/*
 * exec.c - running programs. Canonical: execve, execveat, fexecve, execvpe,
 * posix_spawn, posix_spawnp, system, popen; hand-written (variadic) execl,
 * execle, execlp; the spawn file actions addopen, addchdir_np, addfchdir_np.
 * Forwarders: execv -> execve(environ), execvp -> execvpe(environ),
 * execl/execle -> execve, execlp -> execvpe. glibc reaches none of these
 * through another (interposition.md 1.13), so each door is wrapped.
 *
 * What every door does (interposition.md P5, P9, P10, P17):
 *  - the program's path, and each PATH candidate, is resolved through the union
 *    and the kernel is given the branch file;
 *  - a "#!" script in a union, or one whose interpreter lives in a union, is run
 *    the kernel's way by hand: the interpreter (resolved through the union) with
 *    [interp, optional-arg, VIRTUAL-script-path, argv[1..]], so that the new
 *    process opens the script through the library and $0 shows no branch path;
 *  - the child's environment keeps the library: LD_PRELOAD and the AUFS_MOUNTS /
 *    AUFS_FSTAB the library started with are put back when the program dropped
 *    them (env -i, clearenv), unless it set AUFS_MOUNTS or AUFS_FSTAB itself or
 *    asked for AUFS_UNLOAD=1; AUFS_CWD ("DEV:INO:PATH") carries the virtual cwd.
 * This code may run in a vfork child (dash, python's subprocess), which shares
 * its parent's memory and stack: no malloc, no locks, nothing of the parent's
 * written, stack buffers only (about 22 KiB for execve, 30 KiB for posix_spawnp;
 * argv and envp copies are bounded, past the bound the call degrades to the
 * plain branch path and the program's own envp). aufs_resolve() is told so
 * (AUFS_RESOLVE_NOALLOC): it reads the lookup cache but never fills it.
 */
#include <dlfcn.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shim.h"
#include "aufs/sys.h"

#define XDEPTH AUFS_SHEBANG_DEPTH
#define XSTACK_PTRS 8192	/* argv and envp copies on the stack up to this many entries */
#define XPRELOAD_MAX 8192	/* longest LD_PRELOAD entry that is rewritten */
/* Room for a rewritten argv: interpreters and their arguments, /bin/sh's FILE, NULL. */
#define XARGS(argc) (((argc) > 2 ? (argc) : 2) + 2 * XDEPTH + 2)

bool aufs_in_vfork_child(void)
{
	/* fork children update aufs_pid in an atfork handler; vfork runs none */
	return (pid_t)sys_getpid() != aufs_pid;
}

/* ---------------------------------------------------------------- start-up */

/*
 * The library and its configuration as this process started with them, for
 * children whose environment lost them. Filled once by a constructor (getenv
 * then is the truth: P9), never changed afterwards, read lock-free.
 * NEEDSWORK: a process that changed its unions with setenv(AUFS_FSTAB) and then
 * scrubbed its environment again hands its children the start-up unions.
 */
static struct {
	_Atomic int state;	/* 0 not yet, 1 filling, 2 done */
	char *lib;		/* this library's file, absolute */
	char *preload;		/* "LD_PRELOAD=..." for a child that has none */
	char *mounts;		/* "AUFS_MOUNTS=..." or NULL */
	char *fstab;		/* "AUFS_FSTAB=..." or NULL */
} start;

static char *env_entry(const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	char *s = malloc(nl + 1 + vl + 1);

	if (!s)
		return NULL;
	memcpy(s, name, nl);
	s[nl] = '=';
	memcpy(s + nl + 1, value, vl + 1);
	return s;
}

/* This library's file, absolute (ld.so opened a relative LD_PRELOAD entry from this cwd). */
static int own_path(char *buf, size_t size)
{
	Dl_info info;
	size_t l;
	int n;

	if (!dladdr((void *)own_path, &info) || !info.dli_fname || !*info.dli_fname)
		return -ENOENT;
	if (info.dli_fname[0] == '/') {
		n = snprintf(buf, size, "%s", info.dli_fname);
	} else {
		if (sys_getcwd(buf, size) <= 0 || buf[0] != '/')
			return -ENOENT;
		l = strlen(buf);
		n = snprintf(buf + l, size - l, "/%s", info.dli_fname);
		n = n < 0 ? n : n + (int)l;
	}
	return n > 0 && (size_t)n < size ? n : -ENAMETOOLONG;
}

static void start_capture(void)
{
	int expected = 0;
	const char *v;
	char buf[2 * PATH_MAX];

	if (!atomic_compare_exchange_strong(&start.state, &expected, 1))
		return;
	if (own_path(buf, PATH_MAX) > 0)
		start.lib = strdup(buf);
	if (start.lib) {
		/*
		 * A child without LD_PRELOAD gets the entries that came before ours
		 * (a sanitizer runtime must stay first) and our absolute path.
		 */
		long end;
		size_t pl = 0;
		int n;

		v = getenv("LD_PRELOAD");
		end = v ? aufs_preload_find(v, start.lib) : -1;
		if (end > 0) {
			pl = (size_t)end;
			while (pl > 0 && v[pl - 1] != ':' && v[pl - 1] != ' ')
				pl--;
			while (pl > 0 && (v[pl - 1] == ':' || v[pl - 1] == ' '))
				pl--;
		}
		n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)pl, pl ? v : "", pl ? ":" : "",
			     start.lib);
		if (n < 0 || (size_t)n >= sizeof(buf))
			snprintf(buf, sizeof(buf), "%s", start.lib);
		start.preload = env_entry("LD_PRELOAD", buf);
	}
	v = getenv("AUFS_MOUNTS");
	if (v && *v)
		start.mounts = env_entry("AUFS_MOUNTS", v);
	v = getenv("AUFS_FSTAB");
	if (v && *v)
		start.fstab = env_entry("AUFS_FSTAB", v);
	atomic_store(&start.state, 2);
}

__attribute__((constructor)) static void exec_constructor(void)
{
	start_capture();
}

static bool start_ready(void)
{
	return atomic_load_explicit(&start.state, memory_order_acquire) == 2 && start.lib &&
	       start.preload;
}

/* ---------------------------------------------------------------- environment */

static bool is_var(const char *e, const char *name, size_t len)
{
	return !strncmp(e, name, len) && e[len] == '=';
}
#define IS_VAR(e, lit) is_var((e), (lit), sizeof(lit) - 1)

static bool unload_value(const char *v)
{
	return v && *v && strcmp(v, "0");
}

/* Does the first entry of an LD_PRELOAD value name a sanitizer runtime (it must stay first)? */
static bool sanitizer_first(const char *v)
{
	static const char *const rt[] = { "libasan", "libubsan", "libtsan", "liblsan", "libhwasan" };
	size_t n = strcspn(v, ": ");

	for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++)
		if (memmem(v, n, rt[i], strlen(rt[i])))
			return true;
	return false;
}

/* Room preload_compose() needs for VALUE. */
static size_t preload_room(const char *value)
{
	size_t a = 11 + strlen(value) + 1 + strlen(start.lib) + 1, b = strlen(start.preload) + 1;

	return a > b ? a : b;
}

/* "LD_PRELOAD=" + VALUE with this library added, into OUT (SIZE bytes). */
static bool preload_compose(char *out, size_t size, const char *value)
{
	int n;

	if (!*value)
		n = snprintf(out, size, "%s", start.preload);
	else if (sanitizer_first(value))
		n = snprintf(out, size, "LD_PRELOAD=%s:%s", value, start.lib);
	else
		n = snprintf(out, size, "LD_PRELOAD=%s:%s", start.lib, value);
	return n > 0 && (size_t)n < size;
}

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

static void xctx_cwd(struct xctx *x, struct aufs_loc *scratch)
{
	struct stat dot, st;
	size_t room;
	bool virt;
	int p, n;

	x->cwd_env = x->cwd_known = false;
	x->vcwd = x->cwdenv;
	if (sys_stat(".", &dot) < 0)
		return;
	p = snprintf(x->cwdenv, 64, "AUFS_CWD=%llu:%llu:", (unsigned long long)dot.st_dev,
		     (unsigned long long)dot.st_ino);
	x->vcwd = x->cwdenv + p;
	room = sizeof(x->cwdenv) - (size_t)p;
	n = aufs_cwd_get(x->vcwd, room);
	if (!x->vfork) {
		x->cwd_env = n >= 0;
		return;
	}
	/*
	 * A vfork child may have changed directory (python's subprocess with
	 * cwd=) without the parent's table knowing (cwd.c): trust the parent's
	 * virtual cwd only while "." is still its directory.
	 */
	if (n >= 0) {
		int r = aufs_resolve(AT_FDCWD, x->vcwd, AUFS_RESOLVE_NOALLOC, scratch);
		const char *real = r == AUFS_PASS ? x->vcwd
				 : r == 0 && (!scratch->u || scratch->branch >= 0) ? scratch->real
				 : NULL;

		if (real && sys_stat(real, &st) == 0 && st.st_dev == dot.st_dev &&
		    st.st_ino == dot.st_ino) {
			x->cwd_env = x->cwd_known = true;
			return;
		}
	}
	n = aufs_exec_kernel_cwd(x->vcwd, room, &virt);
	if (n < 0)
		return;
	x->cwd_known = true;
	x->cwd_env = virt;
}

/* Entries of ENVP, and the room a rewritten LD_PRELOAD entry needs (at least 1). */
static size_t env_count(char *const envp[], size_t *ret_room)
{
	size_t n = 0, room = 1;

	for (; envp && envp[n]; n++)
		if (room == 1 && IS_VAR(envp[n], "LD_PRELOAD") && start_ready()) {
			size_t need = preload_room(envp[n] + 11);

			if (need <= XPRELOAD_MAX)
				room = need;
		}
	*ret_room = room;
	return n;
}

/*
 * The child's environment into OUT (N + 5 pointers): ENVP without AUFS_CWD; with
 * LD_PRELOAD naming this library and, when the program set neither, the
 * AUFS_MOUNTS and AUFS_FSTAB the library started with (unless AUFS_UNLOAD);
 * then the AUFS_CWD entry. PRE (ROOM bytes) holds a rewritten LD_PRELOAD.
 */
static char *const *env_build(struct xctx *x, char *const envp[], size_t n, char **out,
			      char *pre, size_t room)
{
	const char *ldp = NULL, *add = NULL;
	bool unload = false, own = false;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e = envp[i];

		if (IS_VAR(e, "LD_PRELOAD")) {
			if (!ldp)
				ldp = e;
		} else if (IS_VAR(e, "AUFS_MOUNTS") || IS_VAR(e, "AUFS_FSTAB")) {
			own = true;
		} else if (IS_VAR(e, "AUFS_UNLOAD")) {
			unload = unload_value(e + 12);
		}
	}
	if (!start_ready()) {
		x->loads = ldp != NULL;	/* called before our constructor: a guess */
		pre = NULL;
	} else {
		x->loads = ldp && aufs_preload_find(ldp + 11, start.lib) >= 0;
		if (!unload && !x->loads) {
			if (!ldp) {
				add = start.preload;
				x->loads = true;
			} else if (preload_compose(pre, room, ldp + 11)) {
				x->loads = true;
			} else {
				pre = NULL;
			}
		} else {
			pre = NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (IS_VAR(envp[i], "AUFS_CWD"))
			continue;
		out[k++] = envp[i] == ldp && pre ? pre : envp[i];
	}
	if (add)
		out[k++] = (char *)add;
	if (start_ready() && !unload && !own) {
		if (start.mounts)
			out[k++] = start.mounts;
		if (start.fstab)
			out[k++] = start.fstab;
	}
	if (x->cwd_env)
		out[k++] = x->cwdenv;
	out[k] = NULL;
	return out;
}

/*
 * system(3) and popen(3) start /bin/sh with glibc's own posix_spawn and the
 * program's environ, out of our reach. If the program cleared LD_PRELOAD or the
 * AUFS_* variables from environ, put them back there (REAL setenv: this is not
 * a configuration change of ours). NEEDSWORK: setenv is not safe against other
 * threads reading environ at the same time; only programs that scrubbed their
 * own environment take this path.
 */
static void env_ensure(void)
{
	const char *v;

	if (!start_ready() || unload_value(getenv("AUFS_UNLOAD")))
		return;
	v = getenv("LD_PRELOAD");
	if (!v || aufs_preload_find(v, start.lib) < 0) {
		size_t room = preload_room(v ? v : "");

		if (room <= XPRELOAD_MAX) {
			char pre[room];

			if (preload_compose(pre, room, v ? v : ""))
				(void)REAL(setenv)("LD_PRELOAD", pre + 11, 1);	/* best effort */
		}
	}
	if (!getenv("AUFS_MOUNTS") && !getenv("AUFS_FSTAB")) {
		if (start.mounts)
			(void)REAL(setenv)("AUFS_MOUNTS", start.mounts + 12, 1);
		if (start.fstab)
			(void)REAL(setenv)("AUFS_FSTAB", start.fstab + 11, 1);
	}
}

/* ---------------------------------------------------------------- the image */

/* One program to start: the "#!" chain followed so far. */
struct xbuf {
	struct aufs_loc loc;
	char abs[PATH_MAX];		/* vfork child: a relative path made absolute */
	char line[XDEPTH][AUFS_SHEBANG_MAX + 1];
	const char *name[XDEPTH];	/* interpreter of level d (as the "#!" line says) */
	const char *arg[XDEPTH];	/* its optional argument, or NULL */
	int depth;			/* "#!" levels followed */
	bool any;			/* some level lives in, or passed through, a union */
	char *vname;			/* execveat: the script's virtual name (PATH_MAX) */
};

/*
 * Resolve PATH for the kernel. Returns 0 with *RET_REAL the branch (or host)
 * file, AUFS_PASS (*RET_REAL = PATH) or -errno (-ENOENT for a name the union
 * does not have).
 */
static int xresolve(struct xctx *x, struct xbuf *b, int dirfd, const char *path, unsigned flags,
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
	r = aufs_resolve(dirfd, p, flags | (x->vfork ? AUFS_RESOLVE_NOALLOC : 0), &b->loc);
	if (r == AUFS_PASS || r < 0)
		return r;
	if (b->loc.u && b->loc.branch < 0)
		return -ENOENT;
	*ret_real = b->loc.real;
	return 0;
}

/*
 * Follow the "#!" chain of PATH from level B->depth, each level resolved through
 * the union, up to the first level that is no script (or that the kernel should
 * refuse by itself: not executable, unreadable, malformed, too deep). *RET_REAL:
 * the file to give the kernel. Returns 0, AUFS_PASS when no level touched a
 * union (the caller makes the program's own call), or -errno.
 */
static int ximage(struct xctx *x, struct xbuf *b, int dirfd, const char *path, unsigned flags,
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
			if ((b->loc.flags & AUFS_LOC_HAVE_STAT) && !S_ISLNK(b->loc.st.st_mode))
				st = &b->loc.st;
		}
		if (b->depth == 0 && b->vname) {
			/* execveat(dirfd, "rel"): the kernel would say /dev/fd/N/rel */
			if (r == 0 && b->loc.u)
				snprintf(b->vname, PATH_MAX, "%s", b->loc.virt);
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
static char *const *xargv(const struct xbuf *b, const char *sname, char *const argv[],
			  size_t argc, char **out)
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

/* execve/execveat of PATH with ARGV. Returns -errno (only on failure). */
static int run_exec(struct xrun *w, int dirfd, const char *path, int atflags,
		    char *const argv[], size_t argc)
{
	struct xbuf *b = w->b;
	char *const *av;
	const char *real;
	int r;

	b->depth = 0;
	b->any = false;
	r = ximage(w->x, b, dirfd, path, (atflags & AT_SYMLINK_NOFOLLOW) ? AUFS_RESOLVE_NOFOLLOW : 0,
		   &real);
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
	char *name, *arg, fdname[32];
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
 * A relative PATH of a spawn whose file actions change directory names a file
 * of that directory: its union name into BUF (PATH_MAX bytes; B->abs, which
 * xresolve() only writes for relative names).
 */
static const char *spawn_name(const struct xreq *q, const char *path, char *buf)
{
	int n;

	if (!q->cdir || path[0] == '/')
		return path;
	n = snprintf(buf, PATH_MAX, "%s/%s", q->cdir, path);
	return n > 0 && n < PATH_MAX ? buf : path;
}

/* posix_spawn of PATH: the image is decided here, in the parent; the child runs no shim. */
static __attribute__((noinline)) int run_spawn(struct xrun *w, const char *path)
{
	const struct xreq *q = w->q;
	struct xbuf *b = w->b;
	char *const *av = q->argv;
	const char *real = path;
	int r;

	b->depth = 0;
	b->any = false;
	r = ximage(w->x, b, AT_FDCWD, spawn_name(q, path, b->abs), 0, &real);
	if (r < 0)
		return r;
	if (r == 0)
		av = xargv(b, path, q->argv, w->argc, w->args);
	else
		real = path;
	return -REAL(posix_spawn)(q->pid, real, q->fa, q->attr, av, w->env);
}

/*
 * posix_spawnp: the search glibc's child would make (PATH of the caller's
 * environ), made here against the union: the first candidate that is an
 * executable regular file.
 */
static __attribute__((noinline)) int run_spawnp(struct xrun *w)
{
	const char *file = w->q->path, *cur, *real;
	char cand[PATH_MAX];
	bool eacces = false;
	struct stat st;

	if (!*file)
		return -ENOENT;
	if (strchr(file, '/'))
		return run_spawn(w, file);
	if (strnlen(file, NAME_MAX + 1) > NAME_MAX)
		return -ENAMETOOLONG;
	cur = getenv("PATH");
	if (!cur)
		cur = "/bin:/usr/bin";
	while (aufs_path_next(&cur, file, cand, sizeof(cand))) {
		int r = xresolve(w->x, w->b, AT_FDCWD, spawn_name(w->q, cand, w->b->abs), 0, &real);

		if (r < 0 || sys_stat(real, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode) && sys_faccessat2(AT_FDCWD, real, X_OK, AT_EACCESS) == 0)
			return run_spawn(w, cand);
		eacces = true;
	}
	return eacces ? -EACCES : -ENOENT;
}

/*
 * Every door ends here: build the child's environment on this stack, then run.
 * Returns -errno (exec: only on failure) or 0 (spawn).
 */
static int xcall(const struct xreq *q)
{
	struct xctx x = { .vfork = aufs_in_vfork_child() };
	bool vname = q->kind == X_EXECVEAT && q->dirfd != AT_FDCWD && q->path[0] &&
		     q->path[0] != '/';
	struct xrun w = { .x = &x, .q = q };
	size_t room, n, argc = 0;
	struct xbuf b;

	if (atomic_load(&start.state) == 0 && !x.vfork)
		start_capture();	/* an exec from a constructor that ran before ours */
	n = env_count(q->envp, &room);
	while (q->argv && q->argv[argc])
		argc++;
	w.b = &b;
	{
		char *env[n <= XSTACK_PTRS ? n + 5 : 1];
		char *args[argc <= XSTACK_PTRS ? XARGS(argc) : 1];
		char pre[room], vbuf[vname ? PATH_MAX : 1];
		size_t big = 0;
		int r = -ENOSYS;

		b.vname = vname ? vbuf : NULL;
		xctx_cwd(&x, &b.loc);
		if (n <= XSTACK_PTRS) {
			w.env = env_build(&x, q->envp, n, env, pre, room);
		} else {
			w.env = q->envp;	/* too big to copy: as the program gave it */
			x.loads = false;
		}
		w.argc = argc;
		w.args = args;
		if (argc > XSTACK_PTRS) {
			/*
			 * xargs and find -exec + pass tens of thousands of names: their
			 * argv copy goes to a mapping, dropped with the old image or
			 * unmapped below. Not in a vfork child (the mapping would stay in
			 * the parent): there such a script runs by its branch path.
			 */
			void *p = MAP_FAILED;

			big = XARGS(argc) * sizeof(char *);
			if (!x.vfork)
				p = sys_mmap(NULL, big, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (sys_mmap_failed(p)) {
				big = 0;
				x.loads = false;	/* no "#!" by hand without room */
			} else {
				w.args = p;
			}
		}
		switch (q->kind) {
		case X_EXECVE:
			r = run_exec(&w, AT_FDCWD, q->path, 0, q->argv, argc);
			break;
		case X_EXECVEAT:
			if (!q->path[0] && (q->flags & AT_EMPTY_PATH))
				r = run_fexec(&w);	/* the fd itself */
			else
				r = run_exec(&w, q->dirfd, q->path, q->flags & AT_SYMLINK_NOFOLLOW,
					     q->argv, argc);
			break;
		case X_FEXECVE:
			r = run_fexec(&w);
			break;
		case X_EXECVPE:
			r = run_execvp(&w, q->path);
			break;
		case X_SPAWN:
			r = run_spawn(&w, q->path);
			break;
		case X_SPAWNP:
			r = run_spawnp(&w);
			break;
		}
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

	if (!aufs_active())
		return REAL(execve)(path, argv, envp);
	q.path = AUFS_LAUNDER(path);
	if (!q.path)
		return exec_ret(-EFAULT);
	return exec_ret(xcall(&q));
}

int shim_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	struct xreq q = { .kind = X_EXECVEAT, .dirfd = dirfd, .flags = flags, .argv = argv,
			  .envp = envp };

	if (!aufs_active())
		return REAL(execveat)(dirfd, path, argv, envp, flags);
	q.path = AUFS_LAUNDER(path);
	if (!q.path)
		return exec_ret(-EFAULT);
	return exec_ret(xcall(&q));
}

int shim_fexecve(int fd, char *const argv[], char *const envp[])
{
	struct xreq q = { .kind = X_FEXECVE, .dirfd = fd, .path = "", .flags = AT_EMPTY_PATH,
			  .argv = argv, .envp = envp };

	if (!aufs_active())
		return REAL(fexecve)(fd, argv, envp);
	if (fd < 0)
		return exec_ret(-EBADF);
	return exec_ret(xcall(&q));
}

int shim_execvpe(const char *file, char *const argv[], char *const envp[])
{
	struct xreq q = { .kind = X_EXECVPE, .dirfd = AT_FDCWD, .argv = argv, .envp = envp };

	if (!aufs_active())
		return REAL(execvpe)(file, argv, envp);
	q.path = AUFS_LAUNDER(file);
	if (!q.path)
		return exec_ret(-EFAULT);
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

/* ---------------------------------------------------------------- spawn */

/*
 * The directory a file-actions object's addchdir_np/addfchdir_np moves the
 * child to, by its union name: relative paths of later actions and of the
 * spawn itself are resolved there. A few slots keyed by the object's address,
 * claimed lock-free; init and destroy free them, so a reused address never
 * inherits a stale directory. When all are taken, relative paths resolve
 * against the caller's cwd (NEEDSWORK: as before the chdir action).
 */
#define FA_SLOTS 8
static struct {
	const void *_Atomic key;
	char dir[PATH_MAX];
} fa_slot[FA_SLOTS];

static void fa_forget(const void *fa)
{
	for (int i = 0; i < FA_SLOTS; i++) {
		const void *k = fa;

		atomic_compare_exchange_strong(&fa_slot[i].key, &k, NULL);
	}
}

static void fa_set(const void *fa, const char *dir)
{
	for (int i = 0; i < FA_SLOTS; i++)
		if (atomic_load(&fa_slot[i].key) == fa) {
			snprintf(fa_slot[i].dir, PATH_MAX, "%s", dir);
			return;
		}
	for (int i = 0; i < FA_SLOTS; i++) {
		const void *k = NULL;

		if (atomic_compare_exchange_strong(&fa_slot[i].key, &k, fa)) {
			snprintf(fa_slot[i].dir, PATH_MAX, "%s", dir);
			return;
		}
	}
}

/* The union name of FA's directory into BUF (PATH_MAX bytes), or NULL. */
static const char *fa_dir(const void *fa, char *buf)
{
	if (!fa)
		return NULL;
	for (int i = 0; i < FA_SLOTS; i++)
		if (atomic_load(&fa_slot[i].key) == fa) {
			memcpy(buf, fa_slot[i].dir, PATH_MAX);
			return buf;
		}
	return NULL;
}

AUFS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct xreq q = { .kind = X_SPAWN, .dirfd = AT_FDCWD, .argv = argv, .envp = envp,
			  .pid = pid, .fa = fa, .attr = attr };
	char cdir[PATH_MAX];
	int saved = errno, r;

	if (!aufs_active())
		return REAL(posix_spawn)(pid, path, fa, attr, argv, envp);
	q.path = AUFS_LAUNDER(path);
	if (!q.path)
		return EFAULT;
	q.cdir = fa_dir(fa, cdir);
	r = xcall(&q);
	errno = saved;
	return -r;
}

AUFS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct xreq q = { .kind = X_SPAWNP, .dirfd = AT_FDCWD, .argv = argv, .envp = envp,
			  .pid = pid, .fa = fa, .attr = attr };
	char cdir[PATH_MAX];
	int saved = errno, r;

	if (!aufs_active())
		return REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
	q.path = AUFS_LAUNDER(file);
	if (!q.path)
		return EFAULT;
	q.cdir = fa_dir(fa, cdir);
	r = xcall(&q);
	errno = saved;
	return -r;
}

AUFS_EXPORT int posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa)
{
	fa_forget(fa);
	return REAL(posix_spawn_file_actions_init)(fa);
}

AUFS_EXPORT int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	fa_forget(fa);
	return REAL(posix_spawn_file_actions_destroy)(fa);
}

/*
 * The child opens a file-action path with glibc's internal open, so the path is
 * resolved now, when the action is added (relative to the object's chdir, if
 * any). A write needs the union's rules too: a lower file is copied up and a
 * new one created in a writable branch here, so that the child opens the branch
 * file (and never writes a read-only branch).
 * Returns 0 with LOC->real to store, AUFS_PASS (store PATH), or -errno.
 */
static int spawn_open_prepare(const char *path, int *oflag, mode_t mode, struct aufs_loc *loc)
{
	bool write = (*oflag & O_ACCMODE) != O_RDONLY || (*oflag & (O_CREAT | O_TRUNC));
	unsigned rf = 0;
	bool pass;
	int r, fd;

	if ((*oflag & O_NOFOLLOW) || ((*oflag & O_CREAT) && (*oflag & O_EXCL)))
		rf |= AUFS_RESOLVE_NOFOLLOW;
	r = aufs_resolve(AT_FDCWD, path, rf, loc);
	if (r != 0)
		return AUFS_PASS;	/* outside, or an error the child's open reports */
	if (!loc->u || !write)
		return 0;
	if (loc->branch >= 0 &&
	    (loc->type != DT_REG || loc->u->branch[loc->branch].perm == AUFS_PERM_RW))
		return 0;	/* already writable in place (or not a file to copy) */
	if (loc->branch < 0 && !(*oflag & O_CREAT))
		return 0;	/* the child's open fails with ENOENT */
	fd = aufs_openat(AT_FDCWD, path, *oflag | O_CLOEXEC | O_NOCTTY, mode, &pass);
	if (fd == -EEXIST)
		return 0;	/* O_EXCL: the child's open fails the same way */
	if (fd < 0)
		return fd;
	aufs_fd_forget(fd);
	(void)sys_close(fd);	/* opened only for its side effect */
	*oflag &= ~O_EXCL;	/* created just now, for the child */
	r = aufs_resolve(AT_FDCWD, path, rf, loc);
	if (r < 0)
		return r;
	if (r == AUFS_PASS || (loc->u && loc->branch < 0))
		return AUFS_PASS;
	return 0;
}

/* PATH of a file action as an absolute union name into BUF when FA changes directory. */
static const char *fa_path(const void *fa, const char *path, char *buf)
{
	char dir[PATH_MAX];
	int n;

	if (path[0] == '/' || !fa_dir(fa, dir))
		return path;
	n = snprintf(buf, PATH_MAX, "%s/%s", dir, path);
	return n > 0 && n < PATH_MAX ? buf : path;
}

AUFS_EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd,
						 const char *path, int oflag, mode_t mode)
{
	struct aufs_loc loc;
	char full[PATH_MAX];
	int saved = errno, r;

	if (!aufs_active())
		return REAL(posix_spawn_file_actions_addopen)(fa, fd, path, oflag, mode);
	path = AUFS_LAUNDER(path);
	if (!path)
		return EFAULT;
	r = spawn_open_prepare(fa_path(fa, path, full), &oflag, mode, &loc);
	errno = saved;
	if (r < 0)
		return -r;
	return REAL(posix_spawn_file_actions_addopen)(fa, fd, r == 0 ? loc.real : path, oflag,
						      mode);
}

AUFS_EXPORT int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *fa,
						     const char *path)
{
	struct aufs_loc loc;
	char full[PATH_MAX];
	const char *name;
	int saved = errno, r;

	if (!aufs_active())
		return REAL(posix_spawn_file_actions_addchdir_np)(fa, path);
	path = AUFS_LAUNDER(path);
	if (!path)
		return EFAULT;
	name = fa_path(fa, path, full);
	if (name[0] != '/') {
		/* relative to the caller's cwd: its union name, or the kernel's */
		int n = aufs_cwd_get(full, sizeof(full));

		if (n < 0)
			n = (int)sys_getcwd(full, sizeof(full)) > 0 ? (int)strlen(full) : -1;
		if (n > 0 && snprintf(full + n, sizeof(full) - (size_t)n, "/%s", path) <
				     (int)sizeof(full) - n)
			name = full;
	}
	r = aufs_resolve(AT_FDCWD, name, AUFS_RESOLVE_DIRECTORY, &loc);
	errno = saved;
	if (r == 0 && loc.u && loc.branch >= 0) {
		/* the top-most copy, as chdir(2) through the union */
		r = REAL(posix_spawn_file_actions_addchdir_np)(fa, loc.real);
		if (r == 0)
			fa_set(fa, loc.virt);
		return r;
	}
	if (r == 0 && !loc.u)
		name = path = loc.real;	/* left the union again: the host path */
	r = REAL(posix_spawn_file_actions_addchdir_np)(fa, path);
	if (r == 0) {
		if (name[0] == '/')
			fa_set(fa, name);
		else
			fa_forget(fa);
	}
	return r;
}

/*
 * A directory fd opened through the union already refers to a branch copy: the
 * action itself needs nothing, but what follows is relative to the fd's union
 * name (or, outside every union, its host path).
 */
AUFS_EXPORT int posix_spawn_file_actions_addfchdir_np(posix_spawn_file_actions_t *fa, int fd)
{
	char dir[PATH_MAX], proc[32];
	int r = REAL(posix_spawn_file_actions_addfchdir_np)(fa, fd);
	ssize_t n;

	if (r != 0 || !aufs_active())
		return r;
	if (aufs_fd_get(fd, dir, sizeof(dir)) >= 0) {
		fa_set(fa, dir);
		return r;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = sys_readlinkat(AT_FDCWD, proc, dir, sizeof(dir) - 1);
	if (n > 0 && dir[0] == '/') {
		dir[n] = 0;
		fa_set(fa, dir);
	} else {
		fa_forget(fa);
	}
	return r;
}

/* ---------------------------------------------------------------- shell */

int shim_system(const char *command)
{
	if (command && aufs_active())
		env_ensure();
	return REAL(system)(command);
}

FILE *shim_popen(const char *command, const char *mode)
{
	if (aufs_active())
		env_ensure();
	return REAL(popen)(command, mode);
}
