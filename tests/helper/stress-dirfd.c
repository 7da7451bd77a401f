/* SPDX-License-Identifier: MIT */
/*
 * stress-dirfd - THREADS threads (default 16) make their first call through ONE
 * directory fd that the library has never seen, all at once, ROUNDS rounds:
 *   stress-dirfd DIR [ROUNDS [THREADS [cwd]]]
 * Each round the main thread opens DIR's branch directory (what an open of DIR
 * through the library gives the kernel) with a raw syscall(SYS_openat), as an
 * fd opened through the union and inherited across exec would be: the fd table
 * does not know it, so every thread's first *at() call asks the kernel what it
 * is and enters the answer in the table, racing the others' lookups of the same
 * slot (src/core/state_fd.c). The threads then fstatat() and openat() files
 * relative to it, check "gone" is ENOENT, and the main thread closes it (through
 * libc: the table forgets it) for the next round. Two more threads churn the
 * table all along: open DIR, dup, dup2 to a fixed number, dup2 onto the shared
 * fd during a round (the same directory again: the workers' answers stay the
 * same, but its slot is replaced under them), close, so that entries are
 * replaced and retired while the table is read. With "cwd", one of
 * them also changes directory between DIR and its parent, and the other reads
 * the (virtual) cwd with getcwd(), which must always be one of the two.
 * DIR must hold f0..f(N-1) (N = FILES below), each containing its own name and a
 * newline, and a whited-out name "gone" (the t7004 tree). Prints "ok" or one
 * line per wrong answer; exit 1 on any. Built plain, with ASan (SANITIZE=1) and
 * with TSan (make tsan): the use-after-free of a slot's string read on one
 * thread and replaced on another is what the sanitizers look for.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>

#include "probe.h"

#define FILES  16
#define MAXT   64
#define CHURN  2

static const char *dir;
static char real[4096];		/* the branch directory an open of DIR gives the kernel */
static char parent[4096];		/* DIR's parent, also in the union */
static int rounds = 300, nthreads = 16;
static bool cwd_churn;
static _Atomic int shared_fd = -1;
static bool in_round;			/* under round_lock: shared_fd may be replaced */
static pthread_rwlock_t round_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t go, done;
static atomic_bool stop;
static int errors;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void bad(int t, const char *what, const char *name, int err)
{
	pthread_mutex_lock(&out_lock);
	if (errors++ < 20)
		printf("thread %d: %s %s: %s\n", t, what, name,
		       err ? strerrorname_np(err) : "wrong");
	pthread_mutex_unlock(&out_lock);
}

static void check_content(int t, int fd, const char *name)
{
	char buf[64], want[40];
	ssize_t n;

	if (fd < 0) {
		bad(t, "openat", name, errno);
		return;
	}
	snprintf(want, sizeof(want), "%s\n", name);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		bad(t, "read", name, errno);
	else if ((buf[n] = 0, strcmp(buf, want)))
		bad(t, "openat", name, 0);
	close(fd);
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	char name[32];
	struct stat st;

	for (int r = 0; r < rounds; r++) {
		int k = (t * 7 + r) % FILES;

		pthread_barrier_wait(&go);
		snprintf(name, sizeof(name), "f%d", k);
		/* the first call of every thread on an fd the table does not know */
		if (fstatat(shared_fd, name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			bad(t, "fstatat", name, errno);
		check_content(t, openat(shared_fd, name, O_RDONLY | O_CLOEXEC), name);
		if (fstatat(shared_fd, "gone", &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
			bad(t, "fstatat (whiteout)", "gone", errno == ENOENT ? 0 : errno);
		pthread_barrier_wait(&done);
	}
	return NULL;
}

/* Other slots replaced and cleared all the time: set, dup, dup2, close. */
static void *churn(void *arg)
{
	int t = (int)(long)arg, high = 900 + t, c = 0;
	char cwd[4096];
	struct stat st;

	while (!atomic_load(&stop)) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), d;

		if (fd < 0) {
			bad(t, "open dir", dir, errno);
			return NULL;
		}
		d = dup(fd);
		if (dup2(fd, high) != high)
			bad(t, "dup2", dir, errno);
		if (fstatat(high, "f1", &st, 0) < 0)
			bad(t, "fstatat dup2", "f1", errno);
		pthread_rwlock_rdlock(&round_lock);
		if (in_round) {
			int s = atomic_load(&shared_fd);

			if (dup2(fd, s) != s)
				bad(t, "dup2 shared", dir, errno);
		}
		pthread_rwlock_unlock(&round_lock);
		if (d >= 0)
			close(d);
		close(fd);
		close(high);
		if (!cwd_churn) {
			continue;
		} else if (t == nthreads) {
			if (chdir(c++ % 2 ? dir : parent) < 0)
				bad(t, "chdir", c % 2 ? parent : dir, errno);
		} else if (!getcwd(cwd, sizeof(cwd))) {
			bad(t, "getcwd", "", errno);
		} else if (strcmp(cwd, dir) && strcmp(cwd, parent)) {
			bad(t, "getcwd", cwd, 0);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[MAXT + CHURN];

	if (argc < 2) {
		fprintf(stderr, "usage: stress-dirfd DIR [ROUNDS [THREADS [cwd]]]\n");
		return 2;
	}
	dir = argv[1];
	snprintf(parent, sizeof(parent), "%s", dir);
	if (!strrchr(parent, '/') || strrchr(parent, '/') == parent) {
		fprintf(stderr, "stress-dirfd: DIR must be absolute, below a directory\n");
		return 2;
	}
	*strrchr(parent, '/') = 0;
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		nthreads = atoi(argv[3]);
	if (nthreads < 1 || nthreads > MAXT)
		nthreads = 16;
	cwd_churn = argc > 4 && !strcmp(argv[4], "cwd");
	if (chdir(parent) < 0)
		return probe_fail("chdir", errno);
	pthread_barrier_init(&go, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&done, NULL, (unsigned)nthreads + 1);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(long)i))
			return probe_fail("pthread_create", EAGAIN);
	for (int i = 0; i < CHURN; i++)
		if (pthread_create(&th[nthreads + i], NULL, churn, (void *)(long)(nthreads + i)))
			return probe_fail("pthread_create", EAGAIN);
	{
		char proc[64];
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ssize_t n;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		/* raw too: the library shows /proc/self/fd/N links by their union name */
		n = fd < 0 ? -1 : syscall(SYS_readlinkat, AT_FDCWD, proc, real, sizeof(real) - 1);
		if (n <= 0)
			return probe_fail("open dir", errno);
		real[n] = 0;
		close(fd);
	}
	for (int r = 0; r < rounds; r++) {
		/* behind the library's back: the fd table has never heard of it */
		shared_fd = (int)syscall(SYS_openat, AT_FDCWD, real,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (shared_fd < 0) {
			bad(-1, "SYS_openat", real, errno);
			exit(1);	/* the workers wait at the barrier */
		}
		pthread_rwlock_wrlock(&round_lock);
		in_round = true;
		pthread_rwlock_unlock(&round_lock);
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		pthread_rwlock_wrlock(&round_lock);
		in_round = false;
		pthread_rwlock_unlock(&round_lock);
		close(shared_fd);	/* through libc: the table forgets it */
	}
	atomic_store(&stop, true);
	for (int i = 0; i < nthreads + CHURN; i++)
		pthread_join(th[i], NULL);
	if (!errors)
		puts("ok");
	return errors != 0;
}
