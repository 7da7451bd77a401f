/* SPDX-License-Identifier: MIT */
/*
 * dl.c - loading shared objects by name. Hand-written: dlopen, dlmopen. The
 * dynamic loader opens files itself, so a path inside a union is given the real
 * path of the branch that holds it; a name without '/' is searched by ld.so
 * (LD_LIBRARY_PATH, RUNPATH, the cache) and passes through unchanged, as does
 * every path outside the unions. ld.so takes the caller's return address to pick
 * the RPATH/RUNPATH and the namespace of a search, so the pass-through is a tail
 * call (a jmp at -O2: the program's own return address reaches ld.so).
 * Libraries a loaded object needs (DT_NEEDED) are found by ld.so alone.
 */
#include <dlfcn.h>
#include <string.h>

#include "shim.h"

/*
 * Might FILE name a path in a union? Read before shim_enter() (the tail call
 * below), so a pointer is probed only once the probes' handler is there; an
 * unreadable FILE is ld.so's to read, as without us.
 */
static inline bool maybe_union_file(const char *file)
{
	file = AUFS_LAUNDER(file);
	return file && atomic_load_explicit(&aufs_guard_installed, memory_order_relaxed) &&
	       aufs_path_ok(file) && strchr(file, '/');
}

/* FILE's real path into REAL, or false: load FILE as given. */
static bool union_file(const char *file, char *real)
{
	if (!maybe_union_file(file))
		return false;
	/* a missing or hidden name: ld.so fails on the caller's name, with its own dlerror() */
	return aufs_real_path(AT_FDCWD, file, 0, real) == 0;
}

__attribute__((noinline)) static void *dlopen_union(const char *file, int mode)
{
	char real[PATH_MAX];
	void *h;
	int saved;

	if (!shim_enter(&saved) || !union_file(file, real))
		return REAL(dlopen)(file, mode);
	h = REAL(dlopen)(real, mode);
	if (h)
		errno = saved;
	return h;
}

AUFS_EXPORT void *dlopen(const char *file, int mode)
{
	if (!maybe_union_file(file))
		return REAL(dlopen)(file, mode);
	return dlopen_union(file, mode);
}

__attribute__((noinline)) static void *dlmopen_union(Lmid_t lmid, const char *file, int mode)
{
	char real[PATH_MAX];
	void *h;
	int saved;

	if (!shim_enter(&saved) || !union_file(file, real))
		return REAL(dlmopen)(lmid, file, mode);
	h = REAL(dlmopen)(lmid, real, mode);
	if (h)
		errno = saved;
	return h;
}

AUFS_EXPORT void *dlmopen(Lmid_t lmid, const char *file, int mode)
{
	if (!maybe_union_file(file))
		return REAL(dlmopen)(lmid, file, mode);
	return dlmopen_union(lmid, file, mode);
}
