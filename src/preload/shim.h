/* SPDX-License-Identifier: MIT */
/*
 * shim.h - what the family files of src/preload/ share: the real_* pointers, the
 * shim_* prototypes (both generated from wrapfuncs.def) and the common prologue.
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

#define SHIM(ret, name, params, args) extern ret (*real_##name) params; ret shim_##name params;
#define HAND(ret, name, params) extern ret (*real_##name) params;
#include "aufs/wrapfuncs.def"

/* The canonical open behind the variadic open* exports (open.c). */
int shim_openat(int dirfd, const char *path, int flags, mode_t mode);

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
	return aufs_state_config() != NULL;
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
 * The body of a shim whose core call returns 0, AUFS_PASS or -errno: REAL_CALL
 * when inactive or outside every union, else the core's answer.
 */
#define AUFS_PATH_SHIM(real_call, core_call)                  \
	do {                                                  \
		int saved_ = errno;                           \
		int r_;                                       \
                                                              \
		if (!aufs_active())                           \
			return real_call;                     \
		r_ = core_call;                               \
		if (r_ == AUFS_PASS)                          \
			return real_call;                     \
		return (int)aufs_ret(r_, saved_);             \
	} while (0)

/*
 * The body of a shim that acts on an existing object named by PATH (relative to
 * DIRFD; AT_FLAGS: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH): REAL_CALL uses p_, which
 * is the caller's PATH outside every union and the real path of the top-most
 * copy inside one (-ENOENT for a name the union does not have).
 */
#define AUFS_REAL_PATH_SHIM(RET, DIRFD, PATH, AT_FLAGS, REAL_CALL)          \
	do {                                                                \
		char real_[PATH_MAX];                                       \
		const char *p_ = AUFS_LAUNDER(PATH);                        \
		int saved_ = errno, r_;                                     \
                                                                            \
		if (!aufs_active() || !p_)                                  \
			return REAL_CALL;                                   \
		r_ = aufs_real_path(DIRFD, p_, AT_FLAGS, real_);            \
		if (r_ == AUFS_PASS)                                        \
			return REAL_CALL;                                   \
		if (r_ < 0)                                                 \
			return (RET)aufs_ret(r_, saved_);                   \
		p_ = real_;                                                 \
		return REAL_CALL;                                           \
	} while (0)

/* exec.c */
bool aufs_in_vfork_child(void);

#endif /* AUFS_SHIM_H */
