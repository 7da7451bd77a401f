/* SPDX-License-Identifier: MIT */
/*
 * fault.h - the fault-injection seam of the raw system calls, for the unit tests
 * (the aSyscall idea of SQLite's os_unix.c, at the level of the system call).
 *
 * Only the core objects compiled with -DAUFS_FAULT_INJECT (the Makefile's
 * build/libaufs-core-fault.a, linked into the unit test binary) use it: their
 * include/aufs/sys.h sends every raw call through aufs_fault_syscall6(), which
 * counts it and, when a rule says so, fails it with -ERR instead of entering the
 * kernel. The preload library and aufs-run keep the inline calls and never link
 * src/fault/fault.c.
 *
 * A failed call has no effect, as most kernel errors are reported before any
 * change, with one exception: close(2) releases the descriptor even when it
 * reports an error (Linux does so for EIO and EINTR alike), so an injected close
 * failure closes it too and the seam never fakes a descriptor leak.
 */
#ifndef AUFS_FAULT_H
#define AUFS_FAULT_H

#include <stdbool.h>

/* The choke point itself (src/fault/fault.c); include/aufs/sys.h calls it. */
long aufs_fault_syscall6(long n, long a, long b, long c, long d, long e, long f);

/* AUFS_FAULT_ANY as SYSNO: every raw call that can fail (see aufs_fault_set()). */
#define AUFS_FAULT_ANY (-1)

/*
 * Fail the NTH (1 = the next) raw call of system call SYSNO (SYS_openat...), or
 * of any call with AUFS_FAULT_ANY, with -ERR; the calls before and after it run.
 * AUFS_FAULT_ANY skips the calls the kernel cannot fail given valid arguments
 * (getpid, gettid, the get*id calls, clock_gettime): no caller checks them and a
 * sweep over "the Nth call" is about the calls that can fail. Replaces the
 * previous rule and restarts the counts of aufs_fault_count().
 */
void aufs_fault_set(int sysno, unsigned nth, int err);
/* The same, but the NTH call and every later matching call fail (a full disk). */
void aufs_fault_set_persist(int sysno, unsigned nth, int err);
/*
 * One more rule beside those set (at most 4 in all), without restarting the
 * counts: e.g. copy_file_range failing with EXDEV, then the pwrite of the
 * fallback with ENOSPC. NTH counts the calls matching this rule from now on; a
 * call the first rule fails is not offered to the later ones.
 */
void aufs_fault_add(int sysno, unsigned nth, int err, bool persist);
/* No rule any more; the counts restart. */
void aufs_fault_clear(void);
/* Raw calls of SYSNO (AUFS_FAULT_ANY: of every kind) since the last set or clear. */
unsigned long aufs_fault_count(int sysno);
/* How many calls the rules have failed (0: no rule's call came). */
unsigned long aufs_fault_fired(void);
/* The system call number a rule failed last, or -1. */
int aufs_fault_last(void);

#endif /* AUFS_FAULT_H */
