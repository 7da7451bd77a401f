/* SPDX-License-Identifier: MIT */
/*
 * guard.c - hostile pointers: a path door answers for a pointer that cannot be
 * read what the C library answers without aufs-preload (the kernel's EFAULT,
 * or glibc's own crash where glibc itself reads the string), never a crash of
 * the library's own making.
 *
 * Why a fault handler. There is no instruction that reads user memory without
 * faulting, and every system call that would test a pointer (write to a pipe,
 * process_vm_readv, mincore) costs one call more on every path, on a hot path
 * whose cached stat makes exactly the one call native makes. A stack pointer could
 * be proved mapped, a heap pointer cannot: memory is unmapped by calls that are
 * not interposed (glibc's internal munmap). So the first read of a path is done
 * by the probes below, whose loads the kernel reports to the SIGSEGV/SIGBUS
 * handler installed here, which recognises the faulting instruction by its
 * address (as the kernel's own exception tables do) and resumes at the fixup
 * that returns "unreadable"; the door then makes the real call with the
 * caller's own pointer, and the kernel or glibc answers. A probe costs one
 * 16-byte load per 16 bytes of path (about 30 instructions for a typical
 * path), no system call, no per-call state: nothing is set up or torn down
 * around the read.
 *
 * The program keeps its own handlers. The one installed here is invisible:
 * sigaction, signal and the rest are interposed for SIGSEGV and SIGBUS, the
 * program's action is stored here (and reported back), and every fault that is
 * not a probe's goes to it as the kernel would have delivered it: a handler is
 * called with its own flags and mask, the default action is restored and the
 * fault happens again (core dump and exit status as native), an ignored fault
 * kills as the kernel does. A program that replaces the handler behind our back
 * (a raw rt_sigaction system call) gets its faults directly and the probes'
 * with them: hostile pointers then crash as they did before, nothing else
 * changes. The handler is installed when a union is first configured: a
 * process without one keeps the kernel's dispositions untouched.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include "shim.h"

/*
 * The probes. Loads between aufs_guard_begin and aufs_guard_fixup may fault;
 * the handler then resumes at aufs_guard_fixup, which returns -1. They touch
 * only what a reader of the same bytes would (aligned 16-byte blocks never
 * cross a page), and they are not instrumented (a sanitizer would read first).
 *
 * size_t aufs_guard_strnlen(const char *s, size_t max): the length of S if its
 *   NUL comes within MAX bytes, MAX if not, (size_t)-1 if a byte before either
 *   cannot be read.
 * long aufs_guard_mem(const void *p, size_t n): 0 if the N bytes at P can be
 *   read, -1 if not (one load per page, and the last byte).
 * long aufs_guard_copy(void *dst, const void *src, size_t n): memcpy, 0; -1 if
 *   DST (a caller's buffer) cannot be written (a part may have been, as by the
 *   kernel's copy_to_user).
 */
__asm__(".text\n"
	".p2align 4\n"
	".globl aufs_guard_strnlen\n"
	".hidden aufs_guard_strnlen\n"
	".type aufs_guard_strnlen, @function\n"
	"aufs_guard_begin:\n"
	"aufs_guard_strnlen:\n"
	"	mov %rdi, %rax\n"
	"	and $-16, %rax\n"
	"	mov %edi, %ecx\n"
	"	and $15, %ecx\n"
	"	pxor %xmm0, %xmm0\n"
	"	movdqa (%rax), %xmm1\n"
	"	pcmpeqb %xmm0, %xmm1\n"
	"	pmovmskb %xmm1, %edx\n"
	"	shr %cl, %edx\n"
	"	test %edx, %edx\n"
	"	jnz 3f\n"
	"	lea (%rdi,%rsi), %r8\n"
	"1:	add $16, %rax\n"
	"	cmp %r8, %rax\n"
	"	jae 2f\n"
	"	movdqa (%rax), %xmm1\n"
	"	pcmpeqb %xmm0, %xmm1\n"
	"	pmovmskb %xmm1, %edx\n"
	"	test %edx, %edx\n"
	"	jz 1b\n"
	"	bsf %edx, %edx\n"
	"	add %rdx, %rax\n"
	"	sub %rdi, %rax\n"
	"	cmp %rsi, %rax\n"
	"	cmova %rsi, %rax\n"
	"	ret\n"
	"2:	mov %rsi, %rax\n"
	"	ret\n"
	"3:	bsf %edx, %eax\n"
	"	cmp %rsi, %rax\n"
	"	cmova %rsi, %rax\n"
	"	ret\n"
	".size aufs_guard_strnlen, .-aufs_guard_strnlen\n"
	".p2align 4\n"
	".globl aufs_guard_mem\n"
	".hidden aufs_guard_mem\n"
	".type aufs_guard_mem, @function\n"
	"aufs_guard_mem:\n"
	"	xor %eax, %eax\n"
	"	test %rsi, %rsi\n"
	"	jz 2f\n"
	"	lea -1(%rdi,%rsi), %rdx\n"
	"	movzbl (%rdi), %ecx\n"
	"	mov %rdi, %rcx\n"
	"	and $-4096, %rcx\n"
	"1:	add $4096, %rcx\n"
	"	cmp %rdx, %rcx\n"
	"	ja 3f\n"
	"	movzbl (%rcx), %r8d\n"
	"	jmp 1b\n"
	"3:	movzbl (%rdx), %ecx\n"
	"2:	ret\n"
	".size aufs_guard_mem, .-aufs_guard_mem\n"
	".p2align 4\n"
	".globl aufs_guard_copy\n"
	".hidden aufs_guard_copy\n"
	".type aufs_guard_copy, @function\n"
	"aufs_guard_copy:\n"
	"	mov %rdx, %rcx\n"
	"	shr $3, %rcx\n"
	"	rep movsq\n"
	"	mov %edx, %ecx\n"
	"	and $7, %ecx\n"
	"	rep movsb\n"
	"	xor %eax, %eax\n"
	"	ret\n"
	".size aufs_guard_copy, .-aufs_guard_copy\n"
	"aufs_guard_fixup:\n"
	"	mov $-1, %rax\n"
	"	ret\n");

extern const char aufs_guard_begin[], aufs_guard_fixup[];

/* SIGSEGV and SIGBUS: the program's actions, as it set them (or found them). */
static struct sigaction program_action[2];
/*
 * The C library's own sigaction for the handler itself: a sanitizer runtime
 * loaded after us (TSan as our dependency) interposes sigaction too, and would
 * be called before it has started.
 */
static int (*libc_sigaction)(int, const struct sigaction *, struct sigaction *);
_Atomic bool aufs_guard_installed;
static atomic_flag action_lock = ATOMIC_FLAG_INIT;

static int slot(int sig)
{
	return sig == SIGSEGV ? 0 : sig == SIGBUS ? 1 : -1;
}

static void lock(void)
{
	while (atomic_flag_test_and_set_explicit(&action_lock, memory_order_acquire))
		__builtin_ia32_pause();
}

static void unlock(void)
{
	atomic_flag_clear_explicit(&action_lock, memory_order_release);
}

/* Deliver SIG to the program's action, as the kernel would have without us. */
static void deliver(int sig, siginfo_t *si, ucontext_t *uc)
{
	int i = slot(sig);
	struct sigaction a = program_action[i];	/* a copy: the handler may change it */
	bool from_kernel = si->si_code > 0;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (a.sa_handler == SIG_IGN && !from_kernel)
		return;
	if (a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN) {
		/*
		 * The default action: restore it and let the fault happen again (a
		 * synchronous fault re-executes the instruction), or send the signal
		 * again (it stays pending until this handler returns), so that the
		 * process dies by SIG with its core, as without us. An ignored fault
		 * kills too: the kernel does that for a fault it cannot deliver.
		 */
		sigemptyset(&dfl.sa_mask);
		libc_sigaction(sig, &dfl, NULL);
		program_action[i] = dfl;
		if (!from_kernel)
			raise(sig);
		return;
	}
	if (a.sa_flags & SA_RESETHAND)
		program_action[i] = dfl;
	/* the program's mask for its handler; the kernel restores uc_sigmask after */
	{
		sigset_t want = uc->uc_sigmask, now = uc->uc_sigmask;

		sigaddset(&now, sig);
		for (int s = 1; s < NSIG; s++)
			if (sigismember(&a.sa_mask, s) == 1)
				sigaddset(&want, s);
		if (!(a.sa_flags & SA_NODEFER))
			sigaddset(&want, sig);
		if (memcmp(&want, &now, sizeof(want)) != 0)
			pthread_sigmask(SIG_SETMASK, &want, NULL);
	}
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, uc);
	else
		a.sa_handler(sig);
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];

	if (si->si_code > 0 && ip >= (uintptr_t)aufs_guard_begin &&
	    ip < (uintptr_t)aufs_guard_fixup) {
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)aufs_guard_fixup;
		return;
	}
	deliver(sig, si, uc);
}

void aufs_guard_install(void)
{
	struct sigaction ours = { .sa_sigaction = on_fault,
				  .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART };
	static const int sigs[2] = { SIGSEGV, SIGBUS };

	if (atomic_load(&aufs_guard_installed))
		return;
#ifdef __SANITIZE_THREAD__
	/*
	 * The ThreadSanitizer build (make tsan, for the thread tests) leaves the
	 * signal actions to the TSan runtime, which breaks under a handler of ours
	 * in the programs it did not instrument: there a hostile pointer crashes.
	 */
	return;
#endif
	sigemptyset(&ours.sa_mask);
	lock();
	if (!atomic_load(&aufs_guard_installed)) {
		void *libc = REAL(dlopen)("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);

		if (libc) {
			*(void **)&libc_sigaction = dlsym(libc, "sigaction");
			dlclose(libc);
		}
		if (!libc_sigaction)
			libc_sigaction = REAL(sigaction);
		/* one call each: ours in, the program's (or the default) out */
		for (int i = 0; i < 2; i++)
			libc_sigaction(sigs[i], &ours, &program_action[i]);
		atomic_store(&aufs_guard_installed, true);
	}
	unlock();
}

#ifndef __SANITIZE_THREAD__	/* the TSan build: no handler, the runtime's own actions */
/*
 * The program's view of SIGSEGV and SIGBUS. 1: answered here (the action
 * stored, the old one reported); 0: not ours, make the real call.
 */
static int program_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int i = slot(sig);

	if (i < 0 || !atomic_load(&aufs_guard_installed))
		return 0;
	lock();
	if (old)
		*old = program_action[i];
	if (act)
		program_action[i] = *act;
	unlock();
	return 1;
}

AUFS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (program_sigaction(sig, act, old))
		return 0;
	return REAL(sigaction)(sig, act, old);
}

AUFS_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
AUFS_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (program_sigaction(sig, act, old))
		return 0;
	return REAL(__sigaction)(sig, act, old);
}

/* signal(2) with FLAGS, as glibc builds it; SIG_ERR/EINVAL as glibc says. */
static __sighandler_t set_handler(int sig, __sighandler_t h, int flags)
{
	struct sigaction act = { .sa_handler = h, .sa_flags = flags }, old;

	if (h == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&act.sa_mask);
	if (!(flags & SA_NODEFER))
		sigaddset(&act.sa_mask, sig);
	program_sigaction(sig, &act, &old);
	return old.sa_handler;
}

AUFS_EXPORT __sighandler_t signal(int sig, __sighandler_t h)
{
	if (slot(sig) < 0 || !atomic_load(&aufs_guard_installed))
		return REAL(signal)(sig, h);
	return set_handler(sig, h, SA_RESTART);
}

AUFS_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t h);
AUFS_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t h)
{
	if (slot(sig) < 0 || !atomic_load(&aufs_guard_installed))
		return REAL(bsd_signal)(sig, h);
	return set_handler(sig, h, SA_RESTART);
}

AUFS_EXPORT __sighandler_t ssignal(int sig, __sighandler_t h);
AUFS_EXPORT __sighandler_t ssignal(int sig, __sighandler_t h)
{
	if (slot(sig) < 0 || !atomic_load(&aufs_guard_installed))
		return REAL(ssignal)(sig, h);
	return set_handler(sig, h, SA_RESTART);
}

AUFS_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t h)
{
	if (slot(sig) < 0 || !atomic_load(&aufs_guard_installed))
		return REAL(sysv_signal)(sig, h);
	return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}

AUFS_EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t h);
AUFS_EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t h)
{
	if (slot(sig) < 0 || !atomic_load(&aufs_guard_installed))
		return REAL(__sysv_signal)(sig, h);
	return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}

/* sigset(3): SIG_HOLD blocks; any other disposition is set and unblocks. */
AUFS_EXPORT __sighandler_t sigset(int sig, __sighandler_t h)
{
	sigset_t one, was;
	struct sigaction act = { .sa_handler = h }, old;

	if (slot(sig) < 0 || !atomic_load(&aufs_guard_installed))
		return REAL(sigset)(sig, h);
	if (h == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (h == SIG_HOLD) {
		if (pthread_sigmask(SIG_BLOCK, &one, &was) != 0)
			return SIG_ERR;
		program_sigaction(sig, NULL, &old);
		return sigismember(&was, sig) ? SIG_HOLD : old.sa_handler;
	}
	sigemptyset(&act.sa_mask);
	program_sigaction(sig, &act, &old);
	if (pthread_sigmask(SIG_UNBLOCK, &one, &was) != 0)
		return SIG_ERR;
	return sigismember(&was, sig) ? SIG_HOLD : old.sa_handler;
}
#endif /* __SANITIZE_THREAD__ */
