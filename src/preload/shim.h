/* SPDX-License-Identifier: MIT */
/*
 * shim.h - what the family files of src/preload/ share: the real_* pointers, the
 * shim_* and verb_* prototypes (generated from wrapfuncs.def), the one prologue
 * of the hand-written shims (shim_enter) and the verbs' conventions.
 *
 * Every shim has one shape: if the library is not active (no union configured,
 * or still initialising on this thread) call the real function; else save errno,
 * make one core call, and convert its -errno result at the boundary only.
 */
#ifndef AUFS_SHIM_H
#define AUFS_SHIM_H

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "aufs/core.h"

#define AUFS_EXPORT __attribute__((visibility("default")))

#define SHIM(kind, ret, name, params, args) \
	extern ret (*real_##name) params; ret shim_##name params; AUFS_VERB_##kind(name, params)
#define HAND(ret, name, params) extern ret (*real_##name) params;
#define AUFS_VERB_PATH(name, params) long verb_##name params;
#define AUFS_VERB_PATHAT(name, params) long verb_##name params;
#define AUFS_VERB_FD(name, params) long verb_##name params;
#define AUFS_VERB_HAND(name, params)
#define AUFS_VERB_CREDS(name, params)
#include "aufs/wrapfuncs.def"

/* The canonical open behind the variadic open* exports (open.c). */
int shim_openat(int dirfd, const char *path, int flags, mode_t mode);

/* Is NAME one of the library's exports (gen.c)? */
bool aufs_exports_has(const char *name);

/* Resolve one real function on demand (calls that arrive before the constructor). */
void *aufs_real_lazy(const char *name, void **slot);
#define REAL(name) \
	(__builtin_expect(real_##name != NULL, 1) ? real_##name \
	 : (__typeof__(real_##name))aufs_real_lazy(#name, (void **)&real_##name))

/* init.c */
enum { AUFS_INIT_NONE = 0, AUFS_INIT_BUSY = 1, AUFS_INIT_READY = 2 };
extern _Atomic int aufs_init_state;
extern pid_t aufs_pid;			/* of this process; a vfork child differs */
void aufs_preload_init(void);

/* Is a union configured, so that this call must look at its path? */
static inline bool aufs_active(void)
{
	if (__builtin_expect(atomic_load_explicit(&aufs_init_state, memory_order_acquire) !=
			     AUFS_INIT_READY, 0)) {
		aufs_preload_init();
		if (atomic_load(&aufs_init_state) != AUFS_INIT_READY)
			return false;	/* initialising on this thread: pass through */
	}
	return aufs_state_published();
}

/* -errno -> -1 with errno; otherwise restore the caller's errno and return R. */
static inline long aufs_ret(long r, int saved_errno)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	errno = saved_errno;
	return r;
}

/* Launder a pointer so that glibc's nonnull attributes cannot delete a NULL test. */
#define AUFS_LAUNDER(p) ({ __typeof__(p) _p = (p); __asm__("" : "+r"(_p)); _p; })

/*
 * guard.c: reading a caller's pointer without crashing on a hostile one (the
 * probes resume at a fixup when the kernel reports a fault; guard.c says why
 * this costs no system call). aufs_guard_install() runs before the first union
 * is published, so every shim that consults a union can probe.
 */
void aufs_guard_install(void);
extern _Atomic bool aufs_guard_installed;	/* for a door that reads before shim_enter() */
size_t aufs_guard_strnlen(const char *s, size_t max);	/* (size_t)-1: unreadable */
long aufs_guard_mem(const void *p, size_t n);		/* 0 or -1: unreadable */
long aufs_guard_copy(void *dst, const void *src, size_t n);	/* 0 or -1: unwritable */

/*
 * May the union read the path P? True for a readable C string shorter than
 * PATH_MAX. False for NULL, for a pointer that cannot be read and for a string
 * the kernel refuses unread (ENAMETOOLONG): the door then makes the real call
 * with the caller's pointer, so the answer is the kernel's (EFAULT) or glibc's.
 */
static inline bool aufs_path_ok(const char *p)
{
	p = AUFS_LAUNDER(p);
	return p && aufs_guard_strnlen(p, PATH_MAX) < PATH_MAX;
}

/* aufs_path_ok() for a generated prologue's path: its length for the resolver too. */
static inline bool aufs_path_ok_hint(const char *p)
{
	size_t n;

	p = AUFS_LAUNDER(p);
	if (!p || (n = aufs_guard_strnlen(p, PATH_MAX)) >= PATH_MAX)
		return false;
	aufs_path_hint = p;
	aufs_path_hint_len = n;
	return true;
}

/*
 * The one prologue of a hand-written shim (kind HAND in wrapfuncs.def): saves
 * the caller's errno in *SAVED_ERRNO (unless NULL) before anything can change it
 * (the first call initialises the library), and says whether the union must be
 * consulted; false: make the real call with the caller's own arguments.
 */
static inline bool shim_enter(int *saved_errno)
{
	if (saved_errno)
		*saved_errno = errno;
	return aufs_active();
}

/*
 * The verbs. Every row of wrapfuncs.def whose kind is PATH, PATHAT or FD gets its
 * shim_<name> from gen.c: shim_enter(), then the family file's
 *
 *	long verb_<name>(the row's parameters);
 *
 * which returns a value >= 0 (the result), -errno, or AUFS_PASS: make the real
 * call with the caller's own arguments (core.h's encoding, which every core verb
 * answers in). gen.c converts the rest with aufs_ret().
 */

/* A real function's answer (-1 with errno on failure) as a verb's. */
static inline long verb_real(long r)
{
	return r < 0 ? -errno : r;
}

/*
 * For a verb that acts on an existing object named by PATH (relative to DIRFD;
 * AT_FLAGS: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH): 0 with the real path of its
 * top-most copy in REAL (PATH_MAX bytes), AUFS_PASS (outside every union, or a
 * NULL or unreadable path: the real function's own answer) or -errno (-ENOENT
 * for a name the union does not have).
 */
static inline long verb_real_path(int dirfd, const char *path, int at_flags, char *real)
{
	char held[PATH_MAX];
	const char *p;
	long r;
	int err;

	if (!aufs_path_ok(path))
		return AUFS_PASS;
	r = aufs_real_path(dirfd, path, at_flags, real);
	if (r != 0)
		return r;
	/* below a branch root this process holds: through its descriptor (core.h) */
	p = aufs_root_proc(real, held, &err);
	if (err)
		return err;
	if (p == held)
		memcpy(real, held, strlen(held) + 1);
	return 0;
}

/* exec.c */
bool aufs_in_vfork_child(void);

#endif /* AUFS_SHIM_H */
