/* SPDX-License-Identifier: MIT */
/*
 * sys-x86_64.h - the x86-64 half of include/aufs/sys.h: how one raw system call
 * is issued on this architecture. Everything above it (the sys_* helpers, the
 * fault-injection seam of include/aufs/fault.h) is architecture-neutral, so a
 * port is one more file like this one, chosen in sys.h.
 */
#ifndef AUFS_SYS_X86_64_H
#define AUFS_SYS_X86_64_H

#if !defined(__x86_64__)
#error "include/aufs/sys-x86_64.h is for x86-64 only"
#endif

/* The kernel's calling convention: number in rax, arguments in rdi rsi rdx r10 r8 r9. */
static inline long aufs_arch_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

#endif /* AUFS_SYS_X86_64_H */
