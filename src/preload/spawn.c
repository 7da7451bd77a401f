/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - posix_spawn and posix_spawnp, and the file actions that name paths.
 * Hand-written: posix_spawn, posix_spawnp, posix_spawn_file_actions_init,
 * _destroy, _addopen, _addchdir_np, _addfchdir_np. glibc's child runs no shim,
 * so everything is decided here, in the parent: the image and its "#!" chain
 * (exec.c), the PATH search of posix_spawnp, the child's environment (env.c),
 * and the branch files the file actions will open or enter.
 */
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "aufs/sys.h"

/* ---------------------------------------------------------------- the image */

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

/*
 * posix_spawn of REAL, through the descriptor of the branch root it is below when
 * this process holds one (as exec, exec.c): the branch's own program, never the
 * new occupant of its path. The child runs the program's file actions first; one
 * that closed or replaced the root's number leaves the /proc name empty, and the
 * spawn is made again by the path. Returns -errno.
 */
static int spawn_held(const struct xreq *q, const char *real, char *const av[],
		      char *const env[])
{
	char held[PATH_MAX];
	int err, e;
	const char *p = aufs_root_proc(real, held, &err);

	if (err)
		return err;
	e = REAL(posix_spawn)(q->pid, p, q->fa, q->attr, av, env);
	if (p == held && (e == ENOENT || e == ENOTDIR || e == EBADF))
		e = REAL(posix_spawn)(q->pid, real, q->fa, q->attr, av, env);
	return -e;
}

/* posix_spawn of PATH: the image is decided here, in the parent; the child runs no shim. */
int run_spawn(struct xrun *w, const char *path)
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
	return spawn_held(q, real, av, w->env);
}

/*
 * posix_spawnp: the search glibc's child would make (PATH of the caller's
 * environ), made here against the union: the first candidate that is an
 * executable regular file.
 */
int run_spawnp(struct xrun *w)
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

/* ---------------------------------------------------------------- file actions */

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

/* posix_spawn and posix_spawnp of PATH through the union: an errno value, as they return. */
static int spawn_through_union(struct xreq *q, const char *path, int saved)
{
	char cdir[PATH_MAX];
	int r;

	q->path = path;
	q->cdir = fa_dir(q->fa, cdir);
	r = xcall(q);
	errno = saved;
	return -r;
}

AUFS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct xreq q = { .kind = X_SPAWN, .dirfd = AT_FDCWD, .argv = argv, .envp = envp,
			  .pid = pid, .fa = fa, .attr = attr };
	int saved;

	if (!shim_enter(&saved) || !aufs_path_ok(path))
		return REAL(posix_spawn)(pid, path, fa, attr, argv, envp);
	return spawn_through_union(&q, path, saved);
}

AUFS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct xreq q = { .kind = X_SPAWNP, .dirfd = AT_FDCWD, .argv = argv, .envp = envp,
			  .pid = pid, .fa = fa, .attr = attr };
	int saved;

	if (!shim_enter(&saved) || !aufs_path_ok(file))
		return REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
	return spawn_through_union(&q, file, saved);
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
	char full[PATH_MAX], real[PATH_MAX];
	int saved, r;

	/* glibc copies the path: an unreadable one is its own to read */
	if (!shim_enter(&saved) || !aufs_path_ok(path))
		return REAL(posix_spawn_file_actions_addopen)(fa, fd, path, oflag, mode);
	/* the child opens it with glibc's internal open, which no shim sees: resolve now */
	r = aufs_spawn_open(fa_path(fa, path, full), &oflag, mode, real);
	errno = saved;
	if (r < 0)
		return -r;
	return REAL(posix_spawn_file_actions_addopen)(fa, fd, r == 0 ? real : path, oflag, mode);
}

AUFS_EXPORT int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *fa,
						     const char *path)
{
	struct aufs_object obj;
	char full[PATH_MAX];
	const char *name;
	int saved, r;

	if (!shim_enter(&saved) || !aufs_path_ok(path))
		return REAL(posix_spawn_file_actions_addchdir_np)(fa, path);
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
	r = aufs_lookup(AT_FDCWD, name, AUFS_RESOLVE_DIRECTORY, &obj);
	errno = saved;
	if (r == 0) {
		/* the top-most copy, as chdir(2) through the union */
		r = REAL(posix_spawn_file_actions_addchdir_np)(fa, obj.real);
		if (r == 0)
			fa_set(fa, obj.virt);
		return r;
	}
	if (r == AUFS_PASS_HOST)
		name = path = obj.real;	/* left the union again: the host path */
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
