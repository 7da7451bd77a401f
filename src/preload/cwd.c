/* SPDX-License-Identifier: MIT */
/*
 * cwd.c - the current directory. Canonical: chdir, fchdir, getcwd,
 * get_current_dir_name. Forwarders: __getcwd_chk, getwd, __getwd_chk.
 * Inside a union the kernel's cwd is the top-most branch copy of the directory;
 * the name the program sees is the virtual one kept in path.c.
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "aufs/sys.h"

int shim_chdir(const char *path)
{
	int saved, r;
	bool record;

	if (!shim_enter(&saved))
		return REAL(chdir)(path);
	if (!aufs_path_ok(path))
		return REAL(chdir)(path);
	record = !aufs_in_vfork_child();
	r = aufs_chdir(path, record);
	if (r == AUFS_PASS) {
		r = REAL(chdir)(path);
		if (r == 0 && record)
			aufs_note_outside_chdir(path);
		return r;
	}
	return (int)aufs_ret(r, saved);
}

int shim_fchdir(int fd)
{
	int saved, r;

	if (!shim_enter(&saved) || aufs_in_vfork_child())
		return REAL(fchdir)(fd);
	r = aufs_fchdir(fd);
	if (r == AUFS_PASS) {
		r = REAL(fchdir)(fd);
		if (r == 0)
			aufs_cwd_set(NULL);	/* an fd we do not know is outside every union */
		return r;
	}
	return (int)aufs_ret(r, saved);
}

/* The virtual cwd when it lies inside a union (aufs_cwd_virtual()), else -1. */
static int virtual_cwd(char *buf, size_t size)
{
	int n = aufs_cwd_virtual(buf, size);

	return n < 0 || n == AUFS_PASS ? -1 : n;
}

char *shim_getcwd(char *buf, size_t size)
{
	char tmp[PATH_MAX];
	int n;

	if (!shim_enter(NULL))
		return REAL(getcwd)(buf, size);
	n = virtual_cwd(tmp, sizeof(tmp));
	if (n < 0)
		return REAL(getcwd)(buf, size);
	if (buf && size == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (!buf) {
		/* glibc extension: allocate SIZE bytes, or exactly enough when 0 */
		size_t want = size ? size : (size_t)n + 1;

		if (want < (size_t)n + 1) {
			errno = ERANGE;
			return NULL;
		}
		buf = malloc(want);
		if (!buf)
			return NULL;
	} else if (size < (size_t)n + 1) {
		errno = ERANGE;
		return NULL;
	}
	if (aufs_guard_copy(buf, tmp, (size_t)n + 1) < 0) {
		errno = EFAULT;	/* the kernel's getcwd into a hostile buffer */
		return NULL;
	}
	return buf;
}

char *shim_get_current_dir_name(void)
{
	char tmp[PATH_MAX];

	if (!shim_enter(NULL) || virtual_cwd(tmp, sizeof(tmp)) < 0)
		return REAL(get_current_dir_name)();
	return strdup(tmp);
}
