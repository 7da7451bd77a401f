/* SPDX-License-Identifier: MIT */
/*
 * efault-doors - every path door of the library called with hostile pointers:
 * (char *)0xdeadc0de, NULL, and a string that runs into an unmapped page (and
 * one into a truncated file mapping: SIGBUS), each call in a child of its own,
 * one line per call: "door(pointer): RESULT", RESULT being "-1 ENAME", "0",
 * "ok" (a pointer or a count), "= ENAME" (an errno value returned, as
 * posix_spawn does) or "killed by SIGNAME" / "exit N". The valid arguments
 * name objects of DIR (argv[1]): f (a file), d (a directory holding d/x), run
 * (a directory), true (an executable), l (a symlink to f). Run natively on a plain tree and under a
 * union with the same view: the outputs must be equal.
 *
 *   efault-doors DIR            every door
 *   efault-doors DIR signals    the program's own SIGSEGV/SIGBUS handlers still work
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

extern char **environ;

static char dir[4096];
static char buf[4096];
/* the pointer under test; volatile so that no nonnull attribute can fold a test */
static const char *volatile hp;

/* DIR/NAME in a buffer of its own (a door may take two). */
static const char *in(const char *name)
{
	static char b[4][4096];
	static int i;
	char *o = b[i++ & 3];

	snprintf(o, sizeof(b[0]), "%s/%s", dir, name);
	return o;
}

static void say(const char *door, const char *ptr, const char *what)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s(%s): %s\n", door, ptr, what);

	if (write(1, line, (size_t)n) != n)
		_exit(99);
}

static void say_ret(const char *door, const char *ptr, long r, int err)
{
	char what[64];

	if (r < 0)
		snprintf(what, sizeof(what), "-1 %s", strerrorname_np(err) ?: "E?");
	else
		snprintf(what, sizeof(what), "%s", r == 0 ? "0" : "ok");
	say(door, ptr, what);
}

/* The kinds of result: a -1/errno call, a NULL/errno pointer, an errno value. */
#define INT(expr) (r = (long)(expr), e = errno, say_ret(name, ptr, r, e))
#define PTR(expr) (r = (expr) ? 1 : -1, e = errno, say_ret(name, ptr, r, e))
#define ERR(expr)                                                                   \
	(e = (expr), snprintf(what, sizeof(what), "= %s", e ? strerrorname_np(e) : "0"), \
	 say(name, ptr, what))

static int ftw_cb(const char *p, const struct stat *st, int f)
{
	(void)p, (void)st, (void)f;
	return 0;
}

static int nftw_cb(const char *p, const struct stat *st, int f, struct FTW *w)
{
	(void)p, (void)st, (void)f, (void)w;
	return 0;
}

static const char *door_name;
static const char *only;	/* $EFAULT_DOOR: this door alone (to look at one) */

/*
 * Door number I with the hostile pointer: names it in door_name and, if CALL,
 * calls it and says the result. False past the last door.
 */
/* not instrumented by UBSan: passing NULL to a nonnull parameter is the point */
__attribute__((no_sanitize_undefined)) static bool door(int i, const char *ptr, bool call)
{
	const char *p = hp;
	char *const argv_ok[] = { (char *)"true", NULL };
	char *const hv[] = { (char *)p, NULL };	/* a vector holding the pointer */
	char *const *hvec = (char *const *)p;	/* the vector itself hostile */
	char what[64];
	const char *name;
	struct stat st;
	long r;
	int e, n = 0;

#define D(nm) if (i == n++ && (door_name = name = nm) && call)
	D("open") INT(open(p, O_RDONLY));
	D("open-creat") INT(open(p, O_WRONLY | O_CREAT, 0644));
	D("openat") INT(openat(AT_FDCWD, p, O_RDONLY));
	D("creat") INT(creat(p, 0644));
	D("fopen") PTR(fopen(p, "r"));
	D("freopen") PTR(freopen(p, "r", fopen("/dev/null", "r")));
	D("stat") INT(stat(p, &st));
	D("lstat") INT(lstat(p, &st));
	D("fstatat") INT(fstatat(AT_FDCWD, p, &st, 0));
	D("statx") INT(statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, (struct statx *)buf));
	D("stat-buf") INT(stat(in("f"), (struct stat *)p));
	D("access") INT(access(p, F_OK));
	D("faccessat") INT(faccessat(AT_FDCWD, p, R_OK, AT_EACCESS));
	D("euidaccess") INT(euidaccess(p, F_OK));
	D("readlink") INT(readlink(p, buf, sizeof(buf)));
	D("readlinkat") INT(readlinkat(AT_FDCWD, p, buf, sizeof(buf)));
	D("readlink-buf") INT(readlink(in("l"), (char *)p, 100));
	D("statx-buf") INT(statx(AT_FDCWD, in("f"), 0, STATX_BASIC_STATS, (struct statx *)p));
	D("stat-missing-buf") INT(stat(in("missing"), (struct stat *)p));
	D("realpath") PTR(realpath(p, buf));
	D("canonicalize_file_name") PTR(canonicalize_file_name(p));
	D("getxattr") INT(getxattr(p, "user.x", buf, sizeof(buf)));
	D("lgetxattr") INT(lgetxattr(p, "user.x", buf, sizeof(buf)));
	D("listxattr") INT(listxattr(p, buf, sizeof(buf)));
	D("llistxattr") INT(llistxattr(p, buf, sizeof(buf)));
	D("getxattr-name") INT(getxattr(in("f"), p, buf, sizeof(buf)));
	D("setxattr") INT(setxattr(p, "user.x", "1", 1, 0));
	D("setxattr-name") INT(setxattr(in("f"), p, "1", 1, 0));
	D("setxattr-value") INT(setxattr(in("f"), "user.x", p, 1, 0));
	D("lsetxattr") INT(lsetxattr(p, "user.x", "1", 1, 0));
	D("removexattr") INT(removexattr(p, "user.x"));
	D("removexattr-name") INT(removexattr(in("f"), p));
	D("lremovexattr") INT(lremovexattr(p, "user.x"));
	D("mkdir") INT(mkdir(p, 0755));
	D("mkdirat") INT(mkdirat(AT_FDCWD, p, 0755));
	D("mknod") INT(mknod(p, S_IFREG | 0644, 0));
	D("mknodat") INT(mknodat(AT_FDCWD, p, S_IFIFO | 0644, 0));
	D("mkfifo") INT(mkfifo(p, 0644));
	D("mkfifoat") INT(mkfifoat(AT_FDCWD, p, 0644));
	D("symlink-target") INT(symlink(p, in("newlink")));
	D("symlink-path") INT(symlink("target", p));
	D("symlinkat-path") INT(symlinkat("target", AT_FDCWD, p));
	D("link-old") INT(link(p, in("newlink")));
	D("link-new") INT(link(in("f"), p));
	D("linkat-new") INT(linkat(AT_FDCWD, in("f"), AT_FDCWD, p, 0));
	D("unlink") INT(unlink(p));
	D("unlinkat") INT(unlinkat(AT_FDCWD, p, 0));
	D("rmdir") INT(rmdir(p));
	D("remove") INT(remove(p));
	D("rename-old") INT(rename(p, in("new")));
	D("rename-new") INT(rename(in("f"), p));
	D("rename-new-missing") INT(rename(in("missing"), p));
	D("rename-new-noparent") INT(rename(in("missing/x"), p));
	D("link-new-missing") INT(link(in("missing"), p));
	D("renameat-new") INT(renameat(AT_FDCWD, in("f"), AT_FDCWD, p));
	D("renameat2-old") INT(renameat2(AT_FDCWD, p, AT_FDCWD, in("new"), RENAME_NOREPLACE));
	D("chmod") INT(chmod(p, 0600));
	D("fchmodat") INT(fchmodat(AT_FDCWD, p, 0600, 0));
	D("chown") INT(chown(p, (uid_t)-1, (gid_t)-1));
	D("lchown") INT(lchown(p, (uid_t)-1, (gid_t)-1));
	D("fchownat") INT(fchownat(AT_FDCWD, p, (uid_t)-1, (gid_t)-1, 0));
	D("utimensat") INT(utimensat(AT_FDCWD, p, NULL, 0));
	D("utimensat-times") INT(utimensat(AT_FDCWD, in("f"), (const struct timespec *)p, 0));
	D("utimes") INT(utimes(p, NULL));
	D("lutimes") INT(lutimes(p, NULL));
	D("utime") INT(utime(p, NULL));
	D("truncate") INT(truncate(p, 0));
	D("statfs") INT(statfs(p, (struct statfs *)buf));
	D("statvfs") INT(statvfs(p, (struct statvfs *)buf));
	D("pathconf") INT(pathconf(p, _PC_NAME_MAX));
	D("chroot") INT(chroot(p));
	/* never NULL as a source: a source-less mount is valid (and root may mount) */
	D("mount-target") INT(mount("none", p, "tmpfs", 0, NULL));
	D("umount") INT(umount(p));
	D("umount2") INT(umount2(p, 0));
	D("inotify_add_watch") INT(inotify_add_watch(inotify_init(), p, IN_ALL_EVENTS));
	D("name_to_handle_at") {
		struct file_handle *h = (struct file_handle *)buf;
		int mid;

		h->handle_bytes = 128;
		INT(name_to_handle_at(AT_FDCWD, p, h, &mid, 0));
	}
	D("opendir") PTR(opendir(p));
	D("scandir") {
		struct dirent **l;

		INT(scandir(p, &l, NULL, NULL));
	}
	D("chdir") INT(chdir(p));
	D("getcwd-buf") {
		if (chdir(dir) == 0)
			PTR(getcwd((char *)p, 4096));
	}
	D("execve") INT(execve(p, argv_ok, environ));
	D("execve-argv") INT(execve(in("true"), hvec, environ));
	D("execve-argv0") INT(execve(in("true"), hv, environ));
	D("execve-envp") INT(execve(in("true"), argv_ok, hvec));
	D("execv") INT(execv(p, argv_ok));
	D("execvp") INT(execvp(p, argv_ok));
	D("execl") INT(execl(p, "true", (char *)NULL));
	D("posix_spawn") {
		pid_t pid;

		ERR(posix_spawn(&pid, p, NULL, NULL, argv_ok, environ));
	}
	D("posix_spawn-argv") {
		pid_t pid;
		int status;

		ERR(posix_spawn(&pid, in("true"), NULL, NULL, hvec, environ));
		if (!e)
			waitpid(pid, &status, 0);
	}
	D("glob") {
		glob_t g;

		INT(glob(p, 0, NULL, &g));
	}
	D("ftw") INT(ftw(p, ftw_cb, 4));
	D("nftw") INT(nftw(p, nftw_cb, 4, FTW_PHYS));
	D("fts_open") PTR(fts_open(hv, FTS_PHYSICAL, NULL));
	D("mkdtemp") PTR(mkdtemp((char *)p));
	D("tempnam") PTR(tempnam(p, "x"));
	D("dlopen") PTR(dlopen(p, RTLD_NOW));
	D("connect") {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		INT(connect(fd, (const struct sockaddr *)p, sizeof(struct sockaddr_un)));
	}
	D("bind") {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		INT(bind(fd, (const struct sockaddr *)p, sizeof(struct sockaddr_un)));
	}
	D("sendto") {
		int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

		INT(sendto(fd, "x", 1, 0, (const struct sockaddr *)p, sizeof(struct sockaddr_un)));
	}
	D("sendmsg") {
		int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

		INT(sendmsg(fd, (const struct msghdr *)p, 0));
	}
	D("getsockname-len") {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un a;

		INT(getsockname(fd, (struct sockaddr *)&a, (socklen_t *)p));
	}
	return i < n;
#undef D
}

static void report(const char *which, const char *ptr, int status)
{
	char what[64];

	if (WIFSIGNALED(status))
		snprintf(what, sizeof(what), "killed by %s", sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		snprintf(what, sizeof(what), "exit %d", WEXITSTATUS(status));
	say(which, ptr, what);
}

/* Run door I in a child; a child that says nothing is reported by its status. */
static bool run(int i, const char *ptr)
{
	int fds[2], status;
	char out[512];
	ssize_t n;
	pid_t pid;

	if (!door(i, ptr, false))
		return false;	/* past the last door */
	if (only && strcmp(only, door_name))
		return true;
	if (pipe(fds) < 0)
		exit(2);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		door(i, ptr, true);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof(out));
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (n > 0 && write(1, out, (size_t)n) != n)
		exit(99);
	if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		report(door_name, ptr, status);
	return true;
}

/*
 * A string that runs into a page that cannot be read: no NUL the kernel can
 * reach. Relative and made of one name, so that glibc's realpath, which reads
 * it component by component itself, reaches the hole as it does natively.
 */
static const char *torn_string(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (m == MAP_FAILED)
		exit(2);
	mprotect(m + pg, (size_t)pg, PROT_NONE);	/* a hole nothing else can fill */
	memset(m, 'x', (size_t)pg);
	return m + pg - 100;
}

/* A pointer into a file mapping past the file's end: reading it is SIGBUS. */
static const char *bus_string(void)
{
	char tmp[] = "/tmp/efault-bus.XXXXXX";
	int fd = mkstemp(tmp);
	char *m;

	if (fd < 0)
		exit(2);
	unlink(tmp);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);	/* the file is empty */
	close(fd);
	if (m == MAP_FAILED)
		exit(2);
	return m;
}

/* ---------------------------------------------------------------- signals */

static sigjmp_buf jb;
static volatile sig_atomic_t calls, last_code;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	calls++;
	last_code = si->si_code;
	if (si->si_code > 0)	/* a fault: out of the faulting code; a raise returns */
		siglongjmp(jb, 1);
	(void)sig;
}

static void plain_handler(int sig)
{
	(void)sig;
	calls++;
	siglongjmp(jb, 1);
}

static void fault(void)
{
	*(volatile char *)(uintptr_t)0xdeadc0de;
}

/* Each case in a child; prints what the program saw of its own handlers. */
static void signals_case(int c)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO }, old;
	int fd;

	sigemptyset(&sa.sa_mask);
	switch (c) {
	case 0:	/* the program's handler: not called by a probe, called by its own fault */
		sigaction(SIGSEGV, NULL, &old);
		printf("initial handler %s\n", old.sa_handler == SIG_DFL ? "SIG_DFL" : "other");
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGSEGV, NULL, &old);
		printf("query gives ours %d\n", old.sa_sigaction == on_segv);
		fd = open((const char *)hp, O_RDONLY);
		printf("open -> %d %s, handler calls %d\n", fd, strerrorname_np(errno),
		       (int)calls);
		if (sigsetjmp(jb, 1) == 0)
			fault();
		printf("after own fault: handler calls %d code %s\n", (int)calls,
		       last_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other");
		raise(SIGSEGV);
		printf("after raise: handler calls %d code %s\n", (int)calls,
		       last_code == SI_TKILL ? "SI_TKILL" : "other");
		break;
	case 1:	/* signal(): the old handler comes back; SIG_DFL first */
		printf("signal first %s\n",
		       signal(SIGSEGV, plain_handler) == SIG_DFL ? "SIG_DFL" : "other");
		printf("signal second %s\n",
		       signal(SIGSEGV, SIG_DFL) == plain_handler ? "plain_handler" : "other");
		signal(SIGSEGV, plain_handler);
		if (sigsetjmp(jb, 1) == 0)
			fault();
		printf("plain handler calls %d\n", (int)calls);
		break;
	case 2:	/* SA_RESETHAND: once, then the default */
		sa.sa_flags |= SA_RESETHAND;
		sigaction(SIGSEGV, &sa, NULL);
		if (sigsetjmp(jb, 1) == 0)
			fault();
		sigaction(SIGSEGV, NULL, &old);
		printf("after reset %s\n", old.sa_handler == SIG_DFL ? "SIG_DFL" : "other");
		fflush(stdout);
		fault();
		break;
	case 3:	/* no handler: the fault kills (with its core) */
		fflush(stdout);
		fault();
		break;
	case 4:	/* an ignored fault kills too */
		signal(SIGSEGV, SIG_IGN);
		fflush(stdout);
		fault();
		break;
	case 5:	/* an ignored SIGSEGV sent by kill is ignored */
		signal(SIGSEGV, SIG_IGN);
		raise(SIGSEGV);
		printf("survived raise\n");
		break;
	case 6:	/* SIGBUS: the program's handler gets its own */
		sigaction(SIGBUS, &sa, NULL);
		if (sigsetjmp(jb, 1) == 0)
			(void)*(volatile const char *)bus_string();
		printf("bus handler calls %d\n", (int)calls);
		break;
	case 7:	/* sigset(SIG_HOLD), then a handler (System V's, deprecated) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		printf("sigset hold %s\n", sigset(SIGSEGV, SIG_HOLD) == SIG_DFL ? "SIG_DFL" : "other");
		printf("sigset again %s\n",
		       sigset(SIGSEGV, plain_handler) == SIG_HOLD ? "SIG_HOLD" : "other");
		if (sigsetjmp(jb, 1) == 0)
			fault();
		printf("sigset handler calls %d\n", (int)calls);
		break;
#pragma GCC diagnostic pop
	default:
		exit(3);
	}
	fflush(stdout);
	exit(0);
}

static int signals_main(void)
{
	for (int c = 0;; c++) {
		int status;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0)
			signals_case(c);
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
			return 0;
		if (WIFSIGNALED(status))
			printf("case %d: killed by %s\n", c, sigabbrev_np(WTERMSIG(status)));
		else
			printf("case %d: exit %d\n", c, WEXITSTATUS(status));
	}
}

int main(int argc, char **argv)
{
	const struct {
		const char *name;
		const char *p;
	} ptrs[] = {
		{ "0xdeadc0de", (const char *)(uintptr_t)0xdeadc0de },
		{ "NULL", NULL },
		{ "torn", NULL },
		{ "bus", NULL },
	};
	const char *torn, *bus;

	if (argc < 2) {
		fprintf(stderr, "usage: efault-doors DIR [signals]\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	hp = (const char *)(uintptr_t)0xdeadc0de;
	only = getenv("EFAULT_DOOR");
	if (argc > 2 && !strcmp(argv[2], "signals"))
		return signals_main();
	torn = torn_string();
	bus = bus_string();
	for (size_t k = 0; k < sizeof(ptrs) / sizeof(ptrs[0]); k++) {
		/* $EFAULT_PTRS: the pointers to try (names, comma-separated), else all */
		const char *want = getenv("EFAULT_PTRS");

		if (want && !strstr(want, ptrs[k].name))
			continue;
		hp = k == 2 ? torn : k == 3 ? bus : ptrs[k].p;
		for (int i = 0; run(i, ptrs[k].name); i++)
			;
	}
	return 0;
}
