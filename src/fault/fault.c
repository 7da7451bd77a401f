/* SPDX-License-Identifier: MIT */
/*
 * fault.c - the choke point of the unit tests' build of the core: every raw
 * system call of an object compiled with -DAUFS_FAULT_INJECT comes here
 * (include/aufs/sys.h), is counted per system call number, and is failed when a
 * rule of include/aufs/fault.h matches it. Built only into
 * build/libaufs-core-fault.a: the preload library never pays for it.
 *
 * Counters are atomics: the tests of the lookup cache run the core on several
 * threads at once. Rules are changed only while the test runs single-threaded.
 */
#include <stdatomic.h>

#include "aufs/fault.h"
#include "aufs/sys.h"

#define NSYS 1024	/* above every x86-64 system call number in use */

static _Atomic unsigned long calls[NSYS];
static _Atomic unsigned long calls_any;

/* Up to RULES_MAX rules at once (aufs_fault_add()); set/clear replace them all. */
#define RULES_MAX 4

struct rule {
	_Atomic bool armed;
	int sysno;		/* or AUFS_FAULT_ANY */
	unsigned long nth;
	int err;
	bool persist;
	_Atomic unsigned long seen;	/* matching calls since the rule was set */
};

static struct rule rules[RULES_MAX];
static _Atomic int nrules;
static _Atomic unsigned long fired;	/* calls failed by any rule */
static _Atomic int last = -1;		/* the number of the call failed last */

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

static void disarm_all(void)
{
	for (int i = 0; i < RULES_MAX; i++)
		atomic_store(&rules[i].armed, false);
	atomic_store(&nrules, 0);
}

static void reset_counts(void)
{
	for (int i = 0; i < NSYS; i++)
		atomic_store_explicit(&calls[i], 0, memory_order_relaxed);
	atomic_store(&calls_any, 0);
	for (int i = 0; i < RULES_MAX; i++)
		atomic_store(&rules[i].seen, 0);
	atomic_store(&fired, 0);
	atomic_store(&last, -1);
}

static void add_rule(int sysno, unsigned nth, int err, bool persist)
{
	int i = atomic_load(&nrules);
	struct rule *r;

	if (i >= RULES_MAX)
		return;		/* a test asking for more is wrong: aufs_fault_fired() tells */
	r = &rules[i];
	atomic_store(&r->seen, 0);
	r->sysno = sysno;
	r->nth = nth;
	r->err = err > 0 ? err : -err;
	r->persist = persist;
	atomic_store(&nrules, i + 1);
	atomic_store(&r->armed, nth > 0 && r->err > 0);
}

static void set_rule(int sysno, unsigned nth, int err, bool persist)
{
	disarm_all();
	reset_counts();
	add_rule(sysno, nth, err, persist);
}

void aufs_fault_set(int sysno, unsigned nth, int err)
{
	set_rule(sysno, nth, err, false);
}

void aufs_fault_set_persist(int sysno, unsigned nth, int err)
{
	set_rule(sysno, nth, err, true);
}

void aufs_fault_add(int sysno, unsigned nth, int err, bool persist)
{
	add_rule(sysno, nth, err, persist);
}

void aufs_fault_clear(void)
{
	disarm_all();
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
	return atomic_load(&fired);
}

int aufs_fault_last(void)
{
	return atomic_load(&last);
}

/* Does a rule fail this call (the first rule that does, in the order they were set)? */
static int hit(long n)
{
	int nr = atomic_load_explicit(&nrules, memory_order_acquire);

	for (int i = 0; i < nr; i++) {
		struct rule *r = &rules[i];
		unsigned long k;

		if (!atomic_load_explicit(&r->armed, memory_order_acquire))
			continue;
		if (r->sysno == AUFS_FAULT_ANY ? never_fails(n) : n != r->sysno)
			continue;
		k = atomic_fetch_add(&r->seen, 1) + 1;
		if (k == r->nth || (r->persist && k > r->nth)) {
			atomic_fetch_add(&fired, 1);
			atomic_store(&last, (int)n);
			return r->err;
		}
	}
	return 0;
}

long aufs_fault_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	int err;

	if (n >= 0 && n < NSYS)
		atomic_fetch_add_explicit(&calls[n], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&calls_any, 1, memory_order_relaxed);
	err = hit(n);
	if (err) {
		/* close(2) releases the fd whatever it reports (include/aufs/fault.h) */
		if (n == SYS_close)
			(void)aufs_arch_syscall6(n, a, b, c, d, e, f);
		return -(long)err;
	}
	return aufs_arch_syscall6(n, a, b, c, d, e, f);
}
