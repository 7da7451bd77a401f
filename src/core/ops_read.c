/* SPDX-License-Identifier: MIT */
/*
 * ops_read.c - the union operations the shims call: stat, access, readlink, open,
 * chdir, realpath. Each resolves its path through resolve_walk.c, then acts on the
 * real path of the branch that holds the object with one raw system call - the
 * same call a native program would make - and, for a result taken from the
 * cache, treats that call as the udba=reval re-test (ENOENT: look up again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>

#include "internal.h"

static unsigned resolve_flags(int at_flags)
{
	unsigned f = 0;

	if (at_flags & AT_SYMLINK_NOFOLLOW)
		f |= AUFS_RESOLVE_NOFOLLOW;
	if (at_flags & AT_EMPTY_PATH)
		f |= AUFS_RESOLVE_EMPTY_PATH;
	return f;
}

static bool retry_stale(int r, struct aufs_loc *loc, int *tries)
{
	return (r == -ENOENT || r == -ENOTDIR) && (*tries)++ == 0 && aufs_loc_stale(loc);
}

static int popcount_mask(aufs_mask m)
{
	return __builtin_popcountll((uint64_t)m) + __builtin_popcountll((uint64_t)(m >> 64));
}

/*
 * A merged directory's link count, as aufs computes it: the top copy's, plus the
 * subdirectories of every lower copy (each lower nlink minus its "." and "..").
 * Tree walkers use nlink to count subdirectories; too small a count would make
 * them skip some.
 */
static nlink_t merged_nlink(const struct aufs_loc *loc, nlink_t top)
{
	char path[PATH_MAX];
	aufs_mask m;
	nlink_t n = top;
	const char *rel = loc->virt + loc->rel;
	size_t rl = strlen(rel);

	if (aufs_loc_dirmask(loc, &m) < 0 || popcount_mask(m) < 2)
		return top;
	for (int b = loc->branch + 1; b < loc->u->nbranch; b++) {
		const struct aufs_branch *br = &loc->u->branch[b];
		struct stat st;

		if (!(m & MASK_BIT(b)) || branch_path(br, rel, rl, path) < 0)
			continue;
		if (sys_lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink >= 2)
			n += st.st_nlink - 2;
	}
	return n;
}

int aufs_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct aufs_loc loc;
	int r, tries = 0;

again:
	r = aufs_resolve(dirfd, path, resolve_flags(flags), &loc);
	if (r == AUFS_PASS_HOST)
		return sys_fstatat(AT_FDCWD, loc.real, st, flags & AT_SYMLINK_NOFOLLOW);
	if (r)
		return r;
	if (loc.branch < 0)
		return -ENOENT;
	if (loc.flags & AUFS_LOC_HAVE_STAT) {
		*st = loc.st;
	} else {
		/* the final symlink, if any, was followed already: stat the object itself */
		const char *rel;
		int at = root_at(&loc.u->branch[loc.branch], loc.real, &rel);

		r = at == -ESTALE ? at : sys_fstatat(at, rel, st, AT_SYMLINK_NOFOLLOW);
		if (retry_stale(r, &loc, &tries))
			goto again;
		if (r < 0)
			return r;
	}
	if (S_ISDIR(st->st_mode))
		st->st_nlink = merged_nlink(&loc, st->st_nlink);
	xino_stat(loc.u, loc.branch, st);
	return 0;
}

int aufs_fstat(int fd, struct stat *st)
{
	const struct aufs_config *cfg;
	struct aufs_union *u;
	char link[40], real[PATH_MAX];
	size_t brlen;
	ssize_t n;
	int r, id, b;

	if (!aufs_fd_is_union(fd) && !aufs_fd_known(fd))
		return AUFS_PASS;
	cfg = aufs_state_config();
	if (!cfg)
		return AUFS_PASS;
	r = sys_fstat(fd, st);
	if (r < 0)
		return r;
	u = fd_union_at(fd, cfg, &b);
	if (u) {
		xino_stat(u, b, st);	/* the branch the union opened it on */
		return 0;
	}
	/* which branch: the kernel's name of the descriptor (" (deleted)" after it) */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = sys_readlinkat(AT_FDCWD, link, real, sizeof(real) - 1);
	if (n <= 0)
		return 0;	/* no /proc: the branch file's own numbers */
	real[n] = 0;
	id = aufs_table_real_to_union(cfg, real, (size_t)n, &brlen);
	u = id < 0 ? NULL : aufs_config_union(cfg, id);
	for (b = 0; u && b < u->nbranch; b++)
		if (u->branch[b].len == brlen && !memcmp(u->branch[b].path, real, brlen)) {
			xino_stat(u, b, st);
			break;
		}
	return 0;
}

int aufs_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	struct aufs_loc loc;
	int r, tries = 0;

again:
	r = aufs_resolve(dirfd, path, resolve_flags(flags), &loc);
	if (r == AUFS_PASS_HOST)
		return sys_statx(AT_FDCWD, loc.real, flags & ~AT_EMPTY_PATH, mask, stx);
	if (r)
		return r;
	if (loc.branch < 0)
		return -ENOENT;
	{
		const char *rel;
		int at = root_at(&loc.u->branch[loc.branch], loc.real, &rel);

		r = at == -ESTALE ? at
				  : sys_statx(at, rel, (flags & ~AT_EMPTY_PATH) | AT_SYMLINK_NOFOLLOW,
					      mask, stx);
	}
	if (retry_stale(r, &loc, &tries))
		goto again;
	if (r < 0)
		return r;
	if ((stx->stx_mask & STATX_TYPE) && S_ISDIR(stx->stx_mode))
		stx->stx_nlink = (uint32_t)merged_nlink(&loc, stx->stx_nlink);
	if (stx->stx_mask & STATX_INO)
		stx->stx_ino = xino_number(loc.u, loc.branch,
					   makedev(stx->stx_dev_major, stx->stx_dev_minor),
					   stx->stx_ino);
	{
		uint64_t dev = xino_dev(loc.u);

		/* always there, whatever the mask: the kernel fills them for every statx */
		stx->stx_dev_major = major(dev);
		stx->stx_dev_minor = minor(dev);
	}
	return 0;
}

int aufs_faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct aufs_loc loc;
	int r, tries = 0;

again:
	r = aufs_resolve(dirfd, path, resolve_flags(flags), &loc);
	if (r == AUFS_PASS_HOST)
		return sys_faccessat2(AT_FDCWD, loc.real, mode, flags & ~AT_EMPTY_PATH);
	if (r)
		return r;
	if (loc.branch < 0)
		return -ENOENT;
	/* as the operations decide it afterwards (mutate_create.c) */
	r = perm_check_access(&loc, mode, flags);
	if (retry_stale(r, &loc, &tries))
		goto again;
	return r;
}

/*
 * The kernel's target of a /proc link (exe, cwd, fd/N) into TMP, given the
 * union's name when it names a branch of exactly one union. Returns the length,
 * or -1 when the kernel refused (the caller asks again, for its errno).
 */
static int proc_kernel_link(const struct aufs_config *cfg, const char *path, char *tmp)
{
	char virt[PATH_MAX];
	ssize_t n = sys_readlinkat(AT_FDCWD, path, tmp, PATH_MAX - 1);

	if (n < 0)
		return -1;
	tmp[n] = 0;
	if (tmp[0] != '/' || aufs_real_to_virtual(cfg, tmp, virt) < 0)
		return (int)n;	/* socket:[...], pipe:[...], a host path: as the kernel said */
	n = (ssize_t)strlen(virt);
	memcpy(tmp, virt, (size_t)n + 1);
	return (int)n;
}

/* "fd/N" itself ("fd/N/NAME" is a name inside that directory, not the link) */
static bool is_fd_link(const char *rest)
{
	return !strncmp(rest, "fd/", 3) && rest[3] && !rest[3 + strspn(rest + 3, "0123456789")];
}

/*
 * readlink of /proc/self/{cwd,exe,fd/N}, /proc/PID/..., /dev/fd/N: give the
 * union's name back, from the virtual cwd and the fd table for this process,
 * else by translating the kernel's answer when it names a branch (a program
 * started from a union, a file opened through one, another process's cwd).
 * Returns AUFS_PASS when PATH is not such a link of a union object.
 */
static ssize_t proc_link(const char *path, char *buf, size_t size)
{
	const struct aufs_config *cfg = aufs_state_config();
	char tmp[PATH_MAX];
	size_t rel;
	const char *rest;
	char self[32];
	bool mine = true;
	int n = -1;

	if (!strncmp(path, "/proc/self/", 11)) {
		rest = path + 11;
	} else if (!strncmp(path, "/dev/fd/", 8)) {
		rest = path + 5;
	} else {
		if (strncmp(path, "/proc/", 6) || path[6] < '1' || path[6] > '9')
			return AUFS_PASS;	/* the common case: no system call spent */
		rest = path + 6;
		while (*rest >= '0' && *rest <= '9')
			rest++;
		if (*rest++ != '/')
			return AUFS_PASS;
		snprintf(self, sizeof(self), "/proc/%d/", (int)creds_pid());
		mine = !strncmp(path, self, strlen(self));
	}
	if (!cfg || !cfg->nunion || !size)
		return AUFS_PASS;	/* size 0: EINVAL, from the kernel */
	if (!strcmp(rest, "cwd")) {
		if (mine)
			n = aufs_cwd_get(tmp, sizeof(tmp));
	} else if (is_fd_link(rest)) {
		if (mine)
			n = aufs_fd_get(atoi(rest + 3), tmp, sizeof(tmp));
		if (n == -EXDEV)
			return AUFS_PASS;	/* known to be outside every union */
	} else if (strcmp(rest, "exe")) {
		return AUFS_PASS;
	}
	/* above a mount point (an ancestor's fd or cwd) the kernel's name is the truth */
	if (n >= 0 && !aufs_config_match(cfg, tmp, (size_t)n, &rel))
		return AUFS_PASS;
	if (n < 0)
		n = proc_kernel_link(cfg, path, tmp);
	if (n < 0)
		return AUFS_PASS;
	if ((size_t)n > size)
		n = (int)size;	/* readlink truncates silently */
	memcpy(buf, tmp, (size_t)n);
	return n;
}

ssize_t aufs_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	struct aufs_loc loc;
	int r, tries = 0;
	ssize_t n;

	if (path && path[0] == '/') {
		n = proc_link(path, buf, size);
		if (n != AUFS_PASS)
			return n;
	}
again:
	r = aufs_resolve(dirfd, path, AUFS_RESOLVE_NOFOLLOW, &loc);
	if (r == AUFS_PASS_HOST)
		return sys_readlinkat(AT_FDCWD, loc.real, buf, size);
	if (r)
		return r;
	if (loc.branch < 0)
		return -ENOENT;
	if (loc.type != DT_LNK)
		return -EINVAL;
	n = sys_readlinkat(AT_FDCWD, loc.real, buf, size);
	if (retry_stale((int)n, &loc, &tries))
		goto again;
	return n;
}

int aufs_real_path(int dirfd, const char *path, int at_flags, char *real)
{
	struct aufs_loc loc;
	int r;

	r = aufs_resolve(dirfd, path, resolve_flags(at_flags), &loc);
	if (r && r != AUFS_PASS_HOST)
		return r;
	if (r == 0 && loc.branch < 0)
		return -ENOENT;
	memcpy(real, loc.real, strlen(loc.real) + 1);
	return 0;
}

static bool wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* "/proc/self/fd/N" or "/dev/fd/N" naming an fd opened on a read-only branch's file. */
static bool reopens_lower(const char *path)
{
	const char *n;

	if (!strncmp(path, "/proc/self/fd/", 14))
		n = path + 14;
	else if (!strncmp(path, "/dev/fd/", 8))
		n = path + 8;
	else
		return false;
	return *n >= '0' && *n <= '9' && aufs_fd_is_lower(atoi(n));
}

/*
 * Does this kernel refuse O_DIRECTORY | O_CREAT (EINVAL, Linux 6.4 on), whatever
 * the path? Asked once, with a path that can create nothing. AT_FDCWD, not -1:
 * the kernel checks the flags first either way, but valgrind answers a bad dirfd
 * itself (EBADF) without asking it.
 */
static bool kernel_refuses_dir_creat(void)
{
	static _Atomic int answer;	/* 0: not asked yet, 1: yes, 2: no */
	int a = atomic_load_explicit(&answer, memory_order_relaxed);

	if (!a) {
		int fd = sys_openat(AT_FDCWD, "", O_RDONLY | O_DIRECTORY | O_CREAT | O_CLOEXEC, 0);

		if (fd >= 0)
			sys_close(fd);
		a = fd == -EINVAL ? 1 : 2;
		atomic_store_explicit(&answer, a, memory_order_relaxed);
	}
	return a == 1;
}

/*
 * What open(2) with O_CREAT refuses on the name of LOC before it creates or
 * opens anything, as the kernel's open_last_lookups()/do_open(): a trailing '/'
 * after a name (not "." or "..") is EISDIR whatever exists; an existing name
 * is EEXIST under O_EXCL, and EISDIR when it is a directory.
 */
static int creat_refused(const struct aufs_loc *loc, int flags)
{
	if ((loc->flags & AUFS_LOC_TRAILING) && !(loc->flags & AUFS_LOC_DOTS))
		return -EISDIR;
	if (loc->branch < 0)
		return 0;
	if (flags & O_EXCL)
		return -EEXIST;
	return loc->type == DT_DIR ? -EISDIR : 0;
}

int aufs_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	bool tmpfile, creat;
	unsigned rf = 0;
	struct aufs_loc loc;
	int r, fd, t, tries = 0;
	LONG_SCOPE();	/* open is hand-written: no prologue's scope */

	if (flags & O_PATH)	/* the kernel ignores every other flag of O_PATH */
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
	creat = (flags & O_CREAT) && !tmpfile;
	if ((flags & O_NOFOLLOW) || (creat && (flags & O_EXCL)))
		rf |= AUFS_RESOLVE_NOFOLLOW;
	if (creat && (flags & O_EXCL))
		rf |= AUFS_RESOLVE_EXCL;	/* the create itself tests the top-most copy */
	if (creat)
		rf |= AUFS_RESOLVE_LAST_AS_IS;	/* "name/" is EISDIR, not ENOTDIR */
	if (wants_write(flags) && reopens_lower(path))
		return -EROFS;	/* /proc/self/fd/N of a lower file would write the branch */
again:
	r = aufs_resolve(dirfd, path, rf, &loc);
	if (r == AUFS_PASS_HOST)	/* "name/" must not create "name" */
		return (r = loc_host_tail(&loc)) ? r : sys_openat(AT_FDCWD, loc.real, flags, mode);
	if (r != AUFS_PASS && creat && (flags & O_DIRECTORY) && kernel_refuses_dir_creat())
		return -EINVAL;	/* before the path, as the kernel checks its flags */
	if (r)
		return r;
	if (creat && (r = creat_refused(&loc, flags)) < 0)
		return r;
	if (loc.branch >= 0) {
		bool lower;

		if (loc.type != DT_DIR && (flags & O_DIRECTORY))
			return -ENOTDIR;
		if (loc.type == DT_DIR && wants_write(flags) && !(flags & O_PATH) && !tmpfile)
			return -EISDIR;
		if (loc.type == DT_DIR && !(flags & O_PATH) && perm_check_dir(&loc, R_OK, AT_EACCESS))
			return -EACCES;	/* a lower copy refuses reading it: nodirperm1 */
		fd = -1;
		if ((wants_write(flags) || tmpfile) && !(flags & O_PATH)) {
			BENEATH_SCOPE();	/* the copy-up's directories, opened once */

			/* a lower file is copied up first (only its first LEN bytes for O_TRUNC) */
			r = cpup_loc_fd(&loc, (flags & O_TRUNC) ? 0 : -1, true, tmpfile ? 0 : flags,
					&fd);
			if (r < 0)
				return r;
			if (fd >= 0)	/* the copy's own descriptor, kept */
				fd = beneath_scope_settle(fd, flags);
		}
		lower = loc.u->branch[loc.branch].perm != AUFS_PERM_RW;
		if (fd < 0) {
			/* an object found in a lower branch is never created there */
			fd = beneath_open_in(&loc.u->branch[loc.branch], loc.real,
					     lower ? flags & ~(O_CREAT | O_EXCL) : flags, mode);
			if (retry_stale(fd, &loc, &tries))
				goto again;
		}
		if (fd >= 0) {
			if (loc.type == DT_DIR || (flags & O_PATH))
				aufs_fd_set(fd, loc.virt);
			else if (aufs_fd_known(fd))
				aufs_fd_set(fd, NULL);
			fd_mark_union_at(fd, loc.u, loc.branch, loc.serial,
					 lower && loc.type != DT_DIR);
		}
		return fd;
	}
	if (!creat)
		return -ENOENT;
	BENEATH_SCOPE();	/* the directories the create writes in, opened once */
	t = create_prepare(&loc, false);
	if (create_unprobed_exists(&loc, t))
		return -EEXIST;	/* as the kernel: an existing name first */
	if (t < 0)
		return t;
	fd = beneath_open(loc.real, flags, mode);
	if (fd >= 0) {
		fd = beneath_scope_settle(fd, flags);
		loc.type = DT_REG;	/* create_done() remembers what was made */
		create_done(&loc, t);
		if (aufs_fd_known(fd))
			aufs_fd_set(fd, NULL);
		fd_mark_union_at(fd, loc.u, t, loc.serial, false);
	}
	return fd;
}

static int canonical_outside(int dirfd, const char *path, char *buf, size_t *len)
{
	int n;

	if (path[0] == '/') {
		buf[0] = '/';
		buf[1] = 0;
		*len = 1;
	} else {
		n = dirfd == AT_FDCWD ? aufs_cwd_get(buf, PATH_MAX) : aufs_fd_get(dirfd, buf, PATH_MAX);
		if (n < 0)
			return n;
		*len = (size_t)n;
	}
	return path_append_lexical(buf, len, PATH_MAX, path);
}

void aufs_note_outside_open(int fd, int dirfd, const char *path)
{
	const struct aufs_config *cfg = aufs_state_config();
	char buf[PATH_MAX];
	size_t len;

	if (fd < 0 || !cfg || !cfg->nunion || !path)
		return;
	if (canonical_outside(dirfd, path, buf, &len) < 0 ||
	    !aufs_config_is_ancestor(cfg, buf, len)) {
		aufs_fd_mark_outside(fd);
		return;
	}
	aufs_fd_set(fd, buf);
}

int aufs_chdir(const char *path, bool record)
{
	struct aufs_loc loc;
	int r, tries = 0;
	LONG_SCOPE();

again:
	r = aufs_resolve(AT_FDCWD, path, 0, &loc);
	if (r == AUFS_PASS_HOST) {
		r = sys_chdir(loc.real);
		if (r == 0 && record)
			aufs_note_outside_chdir(loc.real);
		return r;
	}
	if (r)
		return r;
	if (loc.branch < 0)
		return -ENOENT;
	if (loc.type != DT_DIR)
		return -ENOTDIR;
	r = perm_check_dir(&loc, X_OK, AT_EACCESS);	/* the lower copies: nodirperm1 */
	if (r == 0)
		r = sys_chdir(loc.real);
	if (retry_stale(r, &loc, &tries))
		goto again;
	if (r == 0 && record)
		aufs_cwd_set(loc.virt);
	return r;
}

void aufs_note_outside_chdir(const char *path)
{
	const struct aufs_config *cfg = aufs_state_config();
	char buf[PATH_MAX];
	size_t len;

	if (!cfg)
		return;
	/* Relative names stay virtual only below an ancestor of a mount point. */
	if (canonical_outside(AT_FDCWD, path, buf, &len) < 0) {
		/* the old cwd was outside: ask the kernel where we are now */
		if (sys_getcwd(buf, sizeof(buf)) < 0 || buf[0] != '/') {
			aufs_cwd_set(NULL);
			return;
		}
		len = strlen(buf);
	}
	if (aufs_config_is_ancestor(cfg, buf, len))
		aufs_cwd_set(buf);
	else
		aufs_cwd_set(NULL);
}

int aufs_fchdir(int fd)
{
	char buf[PATH_MAX];
	int r;

	if (aufs_fd_get(fd, buf, sizeof(buf)) < 0)
		return AUFS_PASS;
	r = sys_fchdir(fd);
	if (r == 0)
		aufs_cwd_set(buf);
	return r;
}

int aufs_realpath(const char *path, char *buf)
{
	struct aufs_loc loc;
	int r;
	LONG_SCOPE();	/* BUF gets the union's name, or a host path */

	r = aufs_resolve(AT_FDCWD, path, 0, &loc);
	if (r == AUFS_PASS_HOST)
		memcpy(buf, loc.real, strlen(loc.real) + 1);
	if (r)
		return r;
	if (loc.branch < 0)
		return -ENOENT;
	memcpy(buf, loc.virt, strlen(loc.virt) + 1);
	return 0;
}

/* ---------------------------------------------------------------- objects */

int aufs_lookup(int dirfd, const char *path, unsigned flags, struct aufs_object *ret)
{
	struct aufs_loc loc;
	int r = aufs_resolve(dirfd, path, flags, &loc);

	if (r && r != AUFS_PASS_HOST)
		return r;
	if (r == 0 && loc.branch < 0)
		return -ENOENT;
	ret->union_id = loc.u;
	ret->have_stat = r == 0 && (loc.flags & AUFS_LOC_HAVE_STAT);
	if (ret->have_stat)
		ret->st = loc.st;
	memcpy(ret->real, loc.real, strlen(loc.real) + 1);
	memcpy(ret->virt, loc.virt, strlen(loc.virt) + 1);
	return r;
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

bool aufs_dir_is_copy(const char *path, const struct stat *dir)
{
	struct aufs_loc loc;
	struct stat st;
	const char *rel;
	int r;
	LONG_SCOPE();

	r = aufs_resolve(AT_FDCWD, path, AUFS_RESOLVE_NOALLOC, &loc);
	if (r == AUFS_PASS || r == AUFS_PASS_HOST)
		return sys_stat(r == AUFS_PASS ? path : loc.real, &st) == 0 && same_inode(&st, dir);
	if (r || loc.branch < 0 || loc.type != DT_DIR)
		return false;
	rel = loc.virt + loc.rel;
	for (int b = 0; b < loc.u->nbranch; b++)
		if (((loc.pmask | MASK_BIT(loc.branch)) & MASK_BIT(b)) &&
		    branch_path(&loc.u->branch[b], rel, strlen(rel), loc.real) == 0 &&
		    sys_stat(loc.real, &st) == 0 && same_inode(&st, dir))
			return true;
	return false;
}

const void *aufs_union_of(const char *path, bool follow)
{
	struct aufs_loc loc;
	LONG_SCOPE();

	if (aufs_resolve(AT_FDCWD, path, follow ? 0 : AUFS_RESOLVE_NOFOLLOW, &loc) == 0)
		return loc.u;
	return NULL;
}

/*
 * Is PATH, taken lexically against the virtual cwd, a strict ancestor of some
 * union's mount point? A ".." answers yes: the walk then takes the union's route,
 * which is right everywhere, only slower.
 */
static bool above_mount(const struct aufs_config *cfg, const char *path)
{
	char buf[PATH_MAX];
	size_t len = 1;
	int n;

	if (path_has_dotdot(path))
		return true;
	buf[0] = '/';
	buf[1] = 0;
	if (path[0] != '/') {
		n = aufs_cwd_get(buf, sizeof(buf));
		if (n < 0)
			n = (int)sys_getcwd(buf, sizeof(buf)) < 0 ? -1 : (int)strlen(buf);
		if (n <= 0 || buf[0] != '/')
			return true;
		len = (size_t)n;
	}
	if (path_append_lexical(buf, &len, sizeof(buf), path) < 0)
		return true;
	return aufs_config_is_ancestor(cfg, buf, len);
}

bool aufs_walk_touches_union(const char *path)
{
	const struct aufs_config *cfg = aufs_state_config();
	struct aufs_loc loc;
	LONG_SCOPE();

	if (!cfg || !cfg->nunion)
		return false;
	if (aufs_resolve(AT_FDCWD, path, 0, &loc) != AUFS_PASS)
		return true;
	return above_mount(cfg, path);
}

