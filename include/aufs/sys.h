/* SPDX-License-Identifier: MIT */
/*
 * sys.h - the one choke point through which the core reaches the kernel.
 *
 * The core never calls an interposed libc symbol (doc/HACKING.md): it issues raw
 * system calls through the inline helpers below, which return -errno like the
 * kernel does and never touch errno. This also keeps the core usable before the
 * preload library's constructor has run and inside vfork children.
 *
 * Three layers: include/aufs/sys-ARCH.h issues one call on its architecture;
 * aufs_syscall6() below is the single place every call passes (inline in normal
 * builds; the fault-injection seam of include/aufs/fault.h in the unit tests'
 * build); the sys_* helpers give each call its types.
 */
#ifndef AUFS_SYS_H
#define AUFS_SYS_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__x86_64__)
#include "aufs/sys-x86_64.h"
#else
#error "aufs-preload issues raw system calls for x86-64 only (a port adds include/aufs/sys-ARCH.h)"
#endif

#ifdef AUFS_FAULT_INJECT
/*
 * The unit tests' build of the core (build/libaufs-core-fault.a): every raw call
 * goes through one out-of-line function that may fail it on request
 * (include/aufs/fault.h). The preload library is never built this way.
 */
#include "aufs/fault.h"

static inline long aufs_raw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	return aufs_fault_syscall6(n, a, b, c, d, e, f);
}
#else
/* Every other build: the instruction itself, inline, nothing in between. */
static inline long aufs_raw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	return aufs_arch_syscall6(n, a, b, c, d, e, f);
}
#endif

/*
 * Branch roots held as descriptors (src/core/util_root.c). A call on an absolute
 * path below a held root is made relative to the root's descriptor, so that a
 * branch renamed or replaced on disk stays the branch; a call below a root found
 * stale is -ESTALE. Which argument is a path is known per call number, which is
 * a constant here: a call without one costs nothing, one with a relative path
 * (the hot verbs name their branch's descriptor themselves) a test of one byte.
 */
#define AUFS_ROOT_FD_MIN 768	/* above the numbers a program hands out first */
#define AUFS_ROOT_STALE  (-2)	/* a root's descriptor: not the union's directory */
extern _Atomic unsigned aufs_roots_held;
long aufs_root_syscall6(long n, long a, long b, long c, long d, long e, long f);

static inline bool aufs_root_path_abs(long p)
{
	return p && ((const char *)p)[0] == '/';
}

/*
 * Which argument of call N is the path a root may be under: 1 to 3 (the second
 * name of linkat and renameat2 too: 4), 0 none. N is a constant at every call site.
 */
static inline int aufs_root_arg(long n)
{
	switch (n) {
	case SYS_openat:
	case SYS_openat2:
	case SYS_newfstatat:
	case SYS_statx:
	case SYS_readlinkat:
	case SYS_faccessat2:
	case SYS_unlinkat:
	case SYS_mkdirat:
	case SYS_utimensat:
	case SYS_fchownat:
	case SYS_fchmodat:
	case SYS_mknodat:
		return 2;
	case SYS_linkat:
	case SYS_renameat2:
		return 4;
	case SYS_symlinkat:
		return 3;
	case SYS_chdir:
	case SYS_statfs:
	case SYS_truncate:
	case SYS_setxattr:
	case SYS_lsetxattr:
	case SYS_getxattr:
	case SYS_lgetxattr:
	case SYS_removexattr:
	case SYS_lremovexattr:
	case SYS_listxattr:
	case SYS_llistxattr:
		return 1;
	default:
		return 0;
	}
}

static inline long aufs_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	int arg = aufs_root_arg(n);

	if (arg && __builtin_expect(atomic_load_explicit(&aufs_roots_held, memory_order_relaxed) != 0, 0) &&
	    (arg == 1   ? aufs_root_path_abs(a)
	     : arg == 2 ? aufs_root_path_abs(b)
	     : arg == 3 ? aufs_root_path_abs(c)
			: aufs_root_path_abs(b) || aufs_root_path_abs(d)))
		return aufs_root_syscall6(n, a, b, c, d, e, f);
	return aufs_raw_syscall6(n, a, b, c, d, e, f);
}

#define AUFS_SYS(n, a, b, c, d, e, f) \
	aufs_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
/* A call that is never redirected through a root (util_root.c's own). */
#define AUFS_RAW_SYS(n, a, b, c, d, e, f) \
	aufs_raw_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* Turn a libc-style result (-1 + errno) into -errno; for the few libc calls kept. */
#define AUFS_NERRNO(expr) ({ long _r = (long)(expr); _r < 0 ? -errno : _r; })

static inline int sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)AUFS_SYS(SYS_openat, dirfd, path, flags | O_LARGEFILE, mode, 0, 0);
}

/* The flags openat(2) honours (the kernel's VALID_OPEN_FLAGS). */
#define AUFS_OPEN_FLAGS                                                                    \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | \
	 O_SYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME |     \
	 O_CLOEXEC | O_PATH | O_TMPFILE)

/*
 * openat2(2) with only the resolve flags (the writes into branches: mutate_beneath.c).
 * -ENOSYS on a kernel before 5.6 or under a filter that refuses it.
 */
static inline int sys_openat2(int dirfd, const char *path, int flags, mode_t mode,
			      unsigned long long resolve)
{
	struct {
		unsigned long long flags, mode, resolve;
	} how = { 0, 0, resolve };

	/* openat2 refuses what openat ignores: flags it does not know, flags beside
	 * O_PATH, a mode it would not use or with more than permission bits */
	flags &= AUFS_OPEN_FLAGS;
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	else
		flags |= O_LARGEFILE;
	how.flags = (unsigned)flags;
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = mode & 07777;

	return (int)AUFS_SYS(SYS_openat2, dirfd, path, &how, sizeof(how), 0, 0);
}

struct rlimit64;
static inline int sys_prlimit64(int resource, const struct rlimit64 *set, struct rlimit64 *old)
{
	return (int)AUFS_SYS(SYS_prlimit64, 0, resource, set, old, 0, 0);
}

static inline int sys_close(int fd)
{
	return (int)AUFS_SYS(SYS_close, fd, 0, 0, 0, 0, 0);
}

/* Linux 5.9; flags 0 fails only before closing anything (EINVAL, ENOSYS) */
static inline int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
	return (int)AUFS_SYS(SYS_close_range, first, last, flags, 0, 0, 0);
}

static inline int sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return (int)AUFS_SYS(SYS_newfstatat, dirfd, path, st, flags, 0, 0);
}

static inline int sys_lstat(const char *path, struct stat *st)
{
	return sys_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

static inline int sys_stat(const char *path, struct stat *st)
{
	return sys_fstatat(AT_FDCWD, path, st, 0);
}

static inline int sys_fstat(int fd, struct stat *st)
{
	return sys_fstatat(fd, "", st, AT_EMPTY_PATH);
}

struct statx;
static inline int sys_statx(int dirfd, const char *path, int flags, unsigned mask,
			    struct statx *stx)
{
	return (int)AUFS_SYS(SYS_statx, dirfd, path, flags, mask, stx, 0);
}

static inline ssize_t sys_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	return AUFS_SYS(SYS_readlinkat, dirfd, path, buf, size, 0, 0);
}

static inline int sys_faccessat2(int dirfd, const char *path, int mode, int flags)
{
	return (int)AUFS_SYS(SYS_faccessat2, dirfd, path, mode, flags, 0, 0);
}

static inline ssize_t sys_getdents64(int fd, void *buf, size_t size)
{
	return AUFS_SYS(SYS_getdents64, fd, buf, size, 0, 0, 0);
}

static inline ssize_t sys_read(int fd, void *buf, size_t size)
{
	return AUFS_SYS(SYS_read, fd, buf, size, 0, 0, 0);
}

static inline ssize_t sys_write(int fd, const void *buf, size_t size)
{
	return AUFS_SYS(SYS_write, fd, buf, size, 0, 0, 0);
}

static inline ssize_t sys_pread(int fd, void *buf, size_t size, off_t off)
{
	return AUFS_SYS(SYS_pread64, fd, buf, size, off, 0, 0);
}

static inline ssize_t sys_pwrite(int fd, const void *buf, size_t size, off_t off)
{
	return AUFS_SYS(SYS_pwrite64, fd, buf, size, off, 0, 0);
}

static inline int sys_fsync(int fd)
{
	return (int)AUFS_SYS(SYS_fsync, fd, 0, 0, 0, 0, 0);
}

static inline off_t sys_lseek(int fd, off_t off, int whence)
{
	return AUFS_SYS(SYS_lseek, fd, off, whence, 0, 0, 0);
}

static inline int sys_ftruncate(int fd, off_t len)
{
	return (int)AUFS_SYS(SYS_ftruncate, fd, len, 0, 0, 0, 0);
}

static inline int sys_linkat(int olddir, const char *oldp, int newdir, const char *newp, int fl)
{
	return (int)AUFS_SYS(SYS_linkat, olddir, oldp, newdir, newp, fl, 0);
}

static inline int sys_unlinkat(int dirfd, const char *path, int flags)
{
	return (int)AUFS_SYS(SYS_unlinkat, dirfd, path, flags, 0, 0, 0);
}

static inline int sys_mkdirat(int dirfd, const char *path, mode_t mode)
{
	return (int)AUFS_SYS(SYS_mkdirat, dirfd, path, mode, 0, 0, 0);
}

static inline int sys_fchmod(int fd, mode_t mode)
{
	return (int)AUFS_SYS(SYS_fchmod, fd, mode, 0, 0, 0, 0);
}

static inline int sys_chdir(const char *path)
{
	return (int)AUFS_SYS(SYS_chdir, path, 0, 0, 0, 0, 0);
}

static inline int sys_fchdir(int fd)
{
	return (int)AUFS_SYS(SYS_fchdir, fd, 0, 0, 0, 0, 0);
}

static inline long sys_getcwd(char *buf, size_t size)
{
	return AUFS_SYS(SYS_getcwd, buf, size, 0, 0, 0, 0);
}

struct statfs;
static inline int sys_statfs(const char *path, struct statfs *buf)
{
	return (int)AUFS_SYS(SYS_statfs, path, buf, 0, 0, 0, 0);
}

static inline uid_t sys_geteuid(void)
{
	return (uid_t)AUFS_SYS(SYS_geteuid, 0, 0, 0, 0, 0, 0);
}

static inline uid_t sys_getuid(void)
{
	return (uid_t)AUFS_SYS(SYS_getuid, 0, 0, 0, 0, 0, 0);
}

static inline gid_t sys_getgid(void)
{
	return (gid_t)AUFS_SYS(SYS_getgid, 0, 0, 0, 0, 0, 0);
}

static inline pid_t sys_getpid(void)
{
	return (pid_t)AUFS_SYS(SYS_getpid, 0, 0, 0, 0, 0, 0);
}

static inline int sys_kill(pid_t pid, int sig)
{
	return (int)AUFS_SYS(SYS_kill, pid, sig, 0, 0, 0, 0);
}

static inline void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long r = AUFS_SYS(SYS_mmap, addr, len, prot, flags, fd, off);
	return (void *)r;	/* MAP_FAILED-like values are -4095..-1 */
}

#ifdef __SANITIZE_THREAD__
/*
 * ThreadSanitizer keeps a shadow of every address and forgets it only when it sees
 * the munmap: a raw one would leave the accesses of a thread that unmapped a shared
 * state file attached to the next mapping placed at that address (a false race
 * between create_new() and validate() in state_shm.c). So the TSan build unmaps through
 * the C library, whose munmap TSan intercepts (the library does not wrap it). mmap
 * stays raw: TSan's mmap would track the fd, whose raw open and close it never saw.
 */
#include <sys/mman.h>

static inline int sys_munmap(void *addr, size_t len)
{
	return munmap(addr, len) < 0 ? -errno : 0;
}
#else
static inline int sys_munmap(void *addr, size_t len)
{
	return (int)AUFS_SYS(SYS_munmap, addr, len, 0, 0, 0, 0);
}
#endif

static inline int sys_mmap_failed(const void *p)
{
	return (unsigned long)p > -4096UL;
}

static inline int sys_renameat2(int od, const char *o, int nd, const char *n, unsigned flags)
{
	return (int)AUFS_SYS(SYS_renameat2, od, o, nd, n, flags, 0);
}

static inline ssize_t sys_copy_file_range(int in, loff_t *inoff, int out, loff_t *outoff,
					  size_t len, unsigned flags)
{
	return AUFS_SYS(SYS_copy_file_range, in, inoff, out, outoff, len, flags);
}

struct timespec;
static inline int sys_utimensat(int dirfd, const char *path, const struct timespec *ts, int fl)
{
	return (int)AUFS_SYS(SYS_utimensat, dirfd, path, ts, fl, 0, 0);
}

static inline int sys_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int fl)
{
	return (int)AUFS_SYS(SYS_fchownat, dirfd, path, uid, gid, fl, 0);
}

static inline int sys_fchown(int fd, uid_t uid, gid_t gid)
{
	return (int)AUFS_SYS(SYS_fchown, fd, uid, gid, 0, 0, 0);
}

static inline int sys_fchmodat(int dirfd, const char *path, mode_t mode)
{
	return (int)AUFS_SYS(SYS_fchmodat, dirfd, path, mode, 0, 0, 0);
}

static inline int sys_symlinkat(const char *target, int dirfd, const char *path)
{
	return (int)AUFS_SYS(SYS_symlinkat, target, dirfd, path, 0, 0, 0);
}

static inline int sys_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	return (int)AUFS_SYS(SYS_mknodat, dirfd, path, mode, dev, 0, 0);
}

static inline int sys_truncate(const char *path, off_t len)
{
	return (int)AUFS_SYS(SYS_truncate, path, len, 0, 0, 0, 0);
}

static inline int sys_fstatfs(int fd, struct statfs *buf)
{
	return (int)AUFS_SYS(SYS_fstatfs, fd, buf, 0, 0, 0, 0);
}

static inline ssize_t sys_flistxattr(int fd, char *list, size_t size)
{
	return AUFS_SYS(SYS_flistxattr, fd, list, size, 0, 0, 0);
}

static inline ssize_t sys_fgetxattr(int fd, const char *name, void *v, size_t size)
{
	return AUFS_SYS(SYS_fgetxattr, fd, name, v, size, 0, 0);
}

static inline int sys_fsetxattr(int fd, const char *name, const void *v, size_t size, int fl)
{
	return (int)AUFS_SYS(SYS_fsetxattr, fd, name, v, size, fl, 0);
}

static inline int sys_setxattr(const char *path, const char *name, const void *v, size_t size,
			       int fl, bool nofollow)
{
	return (int)AUFS_SYS(nofollow ? SYS_lsetxattr : SYS_setxattr, path, name, v, size, fl, 0);
}

static inline ssize_t sys_getxattr(const char *path, const char *name, void *v, size_t size,
				   bool nofollow)
{
	return AUFS_SYS(nofollow ? SYS_lgetxattr : SYS_getxattr, path, name, v, size, 0, 0);
}

static inline int sys_removexattr(const char *path, const char *name, bool nofollow)
{
	return (int)AUFS_SYS(nofollow ? SYS_lremovexattr : SYS_removexattr, path, name, 0, 0, 0,
			     0);
}

static inline int sys_dup3(int oldfd, int newfd, int flags)
{
	return (int)AUFS_SYS(SYS_dup3, oldfd, newfd, flags, 0, 0, 0);
}

static inline int sys_fcntl(int fd, int cmd, long arg)
{
	return (int)AUFS_SYS(SYS_fcntl, fd, cmd, arg, 0, 0, 0);
}

static inline gid_t sys_getegid(void)
{
	return (gid_t)AUFS_SYS(SYS_getegid, 0, 0, 0, 0, 0, 0);
}

static inline int sys_getgroups(int n, gid_t *list)
{
	return (int)AUFS_SYS(SYS_getgroups, n, list, 0, 0, 0, 0);
}

static inline int sys_flock(int fd, int op)
{
	return (int)AUFS_SYS(SYS_flock, fd, op, 0, 0, 0, 0);
}

/* Names no other user can guess first (the host table's temporaries and fallbacks). */
static inline ssize_t sys_getrandom(void *buf, size_t len, unsigned flags)
{
	return AUFS_SYS(SYS_getrandom, buf, len, flags, 0, 0, 0);
}

/*
 * The watcher of udba=inotify (src/core/state_watch.c): its thread, its lock (a
 * PI futex in the shared state: the kernel says when its owner is gone) and its
 * events. inotify_add_watch is interposed: the core calls the kernel itself.
 */
static inline pid_t sys_gettid(void)
{
	return (pid_t)AUFS_SYS(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

static inline int sys_futex(void *uaddr, int op, uint32_t val, const void *timeout)
{
	return (int)AUFS_SYS(SYS_futex, uaddr, op, val, timeout, 0, 0);
}

static inline int sys_inotify_init1(int flags)
{
	return (int)AUFS_SYS(SYS_inotify_init1, flags, 0, 0, 0, 0, 0);
}

static inline int sys_inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	return (int)AUFS_SYS(SYS_inotify_add_watch, fd, path, mask, 0, 0, 0);
}

static inline int sys_inotify_rm_watch(int fd, int wd)
{
	return (int)AUFS_SYS(SYS_inotify_rm_watch, fd, wd, 0, 0, 0, 0);
}

/* SET of the kernel's size (8 bytes), not the C library's sigset_t. */
static inline int sys_rt_sigprocmask(int how, const uint64_t *set, uint64_t *old)
{
	return (int)AUFS_SYS(SYS_rt_sigprocmask, how, set, old, sizeof(*set), 0, 0);
}

struct pollfd;
struct timespec;

static inline int sys_ppoll(struct pollfd *fds, unsigned long n, const struct timespec *timeout)
{
	return (int)AUFS_SYS(SYS_ppoll, fds, n, timeout, 0, 0, 0);
}

/* The raw call, not the vDSO: for the rare waits of state_host.c, never on a call's path. */
static inline int sys_clock_gettime(int clock, struct timespec *ts)
{
	return (int)AUFS_SYS(SYS_clock_gettime, clock, ts, 0, 0, 0, 0);
}

/*
 * System V shared memory, the union's shared state (src/core/state_shm.c). On
 * x86-64 the kernel's shmid64_ds is the C library's struct shmid_ds, and shmat
 * returns the address itself (-4095..-1 on failure, as mmap).
 */
struct shmid_ds;

static inline int sys_shmget(key_t key, size_t size, int flags)
{
	return (int)AUFS_SYS(SYS_shmget, key, size, flags, 0, 0, 0);
}

static inline void *sys_shmat(int id, int flags)
{
	return (void *)AUFS_SYS(SYS_shmat, id, NULL, flags, 0, 0, 0);
}

static inline int sys_shmctl(int id, int cmd, struct shmid_ds *ds)
{
	return (int)AUFS_SYS(SYS_shmctl, id, cmd, ds, 0, 0, 0);
}

#ifdef __SANITIZE_THREAD__
/*
 * ThreadSanitizer does not see shmdt (nor shmat): an address given back and
 * mapped again would keep the shadow of the old mapping's accesses (see
 * sys_munmap above). The TSan build keeps every attachment instead; the
 * kernel detaches them at exit.
 */
static inline int sys_shmdt(const void *addr)
{
	(void)addr;
	return 0;
}
#else
static inline int sys_shmdt(const void *addr)
{
	return (int)AUFS_SYS(SYS_shmdt, addr, 0, 0, 0, 0, 0);
}
#endif

#endif /* AUFS_SYS_H */
