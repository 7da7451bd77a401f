/* SPDX-License-Identifier: MIT */
/*
 * fault.c - the choke point of the unit tests' build of the core: every raw
 * system call of an object compiled with -DAUFS_FAULT_INJECT comes here
 * (include/aufs/sys.h), is counted per system call number, and is failed when the
 * one rule of include/aufs/fault.h matches it. Built only into
 * build/libaufs-core-fault.a: the preload library never pays for it.
 *
 * Counters are atomics: the tests of the lookup cache run the core on several
 * threads at once. A rule is changed only while the test runs single-threaded.
 */
#include <stdatomic.h>

#include "aufs/fault.h"
#include "aufs/sys.h"

#define NSYS 1024	/* above every x86-64 system call number in use */

static _Atomic unsigned long calls[NSYS];
static _Atomic unsigned long calls_any;

static struct {
	_Atomic bool armed;
	int sysno;		/* or AUFS_FAULT_ANY */
	unsigned long nth;
	int err;
	bool persist;
	_Atomic unsigned long seen;	/* matching calls since the rule was set */
	_Atomic unsigned long fired;
	_Atomic int last;		/* the number of the call failed last */
} rule = { .last = -1 };

/* The calls that cannot fail with valid arguments: AUFS_FAULT_ANY leaves them alone. */
static bool never_fails(long n)
{
	switch (n) {
	case SYS_getpid:
	case SYS_gettid:
	case SYS_getuid:
	case SYS_geteuid:
	case SYS_getgid:
	case SYS_getegid:
	case SYS_clock_gettime:
		return true;
	default:
		return false;
	}
}

static void reset_counts(void)
{
	for (int i = 0; i < NSYS; i++)
		atomic_store_explicit(&calls[i], 0, memory_order_relaxed);
	atomic_store(&calls_any, 0);
	atomic_store(&rule.seen, 0);
	atomic_store(&rule.fired, 0);
	atomic_store(&rule.last, -1);
}

static void set_rule(int sysno, unsigned nth, int err, bool persist)
{
	atomic_store(&rule.armed, false);
	reset_counts();
	rule.sysno = sysno;
	rule.nth = nth;
	rule.err = err > 0 ? err : -err;
	rule.persist = persist;
	atomic_store(&rule.armed, nth > 0 && rule.err > 0);
}

void aufs_fault_set(int sysno, unsigned nth, int err)
{
	set_rule(sysno, nth, err, false);
}

void aufs_fault_set_persist(int sysno, unsigned nth, int err)
{
	set_rule(sysno, nth, err, true);
}

void aufs_fault_clear(void)
{
	atomic_store(&rule.armed, false);
	reset_counts();
}

unsigned long aufs_fault_count(int sysno)
{
	if (sysno == AUFS_FAULT_ANY)
		return atomic_load(&calls_any);
	if (sysno < 0 || sysno >= NSYS)
		return 0;
	return atomic_load(&calls[sysno]);
}

unsigned long aufs_fault_fired(void)
{
	return atomic_load(&rule.fired);
}

int aufs_fault_last(void)
{
	return atomic_load(&rule.last);
}

/* Does the rule fail this call? Counts it among the rule's matches. */
static bool hit(long n)
{
	unsigned long k;

	if (!atomic_load_explicit(&rule.armed, memory_order_acquire))
		return false;
	if (rule.sysno == AUFS_FAULT_ANY ? never_fails(n) : n != rule.sysno)
		return false;
	k = atomic_fetch_add(&rule.seen, 1) + 1;
	if (k == rule.nth || (rule.persist && k > rule.nth)) {
		atomic_fetch_add(&rule.fired, 1);
		atomic_store(&rule.last, (int)n);
		return true;
	}
	return false;
}

long aufs_fault_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	if (n >= 0 && n < NSYS)
		atomic_fetch_add_explicit(&calls[n], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&calls_any, 1, memory_order_relaxed);
	if (hit(n)) {
		/* close(2) releases the fd whatever it reports (include/aufs/fault.h) */
		if (n == SYS_close)
			(void)aufs_arch_syscall6(n, a, b, c, d, e, f);
		return -(long)rule.err;
	}
	return aufs_arch_syscall6(n, a, b, c, d, e, f);
}
