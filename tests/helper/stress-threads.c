/* SPDX-License-Identifier: MIT */
/*
 * stress-threads - THREADS threads (default 8) look up, read and list one union
 * directory at the same time, ROUNDS rounds each, with no chdir (dirfds only):
 *   stress-threads DIR [ROUNDS [THREADS]]
 * The program makes no file call before the threads start: their first calls,
 * all at once, race the library's lazy start-up too.
 * DIR (inside a union) must hold the files f0..f(N-1) (N = FILES below), each
 * containing its own name and a newline, and a whited-out name "gone". Each round a
 * thread: stat()s a file, open()s and read()s it, fstatat()s and openat()s one
 * through a dirfd of its own and one through a dirfd shared by every thread,
 * checks that "gone" is ENOENT, lists DIR with opendir/readdir, and (every 16th
 * round) writes, copies up and removes files of its own (wK, cK), so lookups race
 * with changes to the directory. Prints "ok" or one line per wrong answer; exit 1
 * on any. Built plain and with -fsanitize=thread (make tsan) to find data races
 * in the library.
 */
#include <dirent.h>
#include <pthread.h>

#include "probe.h"

#define FILES 16
#define MAXT 64

static const char *dir;
static int shared_fd = -1, rounds = 200;
static pthread_barrier_t start;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static int errors;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void bad(int t, const char *what, const char *name, int err)
{
	pthread_mutex_lock(&out_lock);
	if (errors++ < 20)
		printf("thread %d: %s %s: %s\n", t, what, name, err ? strerrorname_np(err) : "wrong");
	pthread_mutex_unlock(&out_lock);
}

/* fd holds exactly NAME and a newline? (closes fd) */
static void check_content(int t, const char *what, int fd, const char *name)
{
	char buf[64], want[40];
	ssize_t n;

	if (fd < 0) {
		bad(t, what, name, errno);
		return;
	}
	snprintf(want, sizeof(want), "%s\n", name);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		bad(t, "read", name, errno);
	else if ((buf[n] = 0, strcmp(buf, want)))
		bad(t, what, name, 0);
	close(fd);
}

static void open_shared(void)
{
	shared_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void *worker(void *arg)
{
	int t = (int)(long)arg, own_fd;
	char path[4096], name[32], wname[32], cname[32];
	struct stat st;

	/* every thread's first file call at once: the library's lazy start races too */
	pthread_barrier_wait(&start);
	own_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pthread_once(&shared_once, open_shared);
	if (shared_fd < 0) {
		bad(t, "open shared dir", dir, errno);
		return NULL;
	}
	if (own_fd < 0) {
		bad(t, "open dir", dir, errno);
		return NULL;
	}
	snprintf(wname, sizeof(wname), "w%d", t);
	snprintf(cname, sizeof(cname), "f%d", t % FILES);
	for (int r = 0; r < rounds; r++) {
		int k = (t * 7 + r) % FILES, n = 0, fd;
		DIR *d;
		struct dirent *e;

		snprintf(name, sizeof(name), "f%d", k);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			bad(t, "stat", path, errno);
		check_content(t, "open", open(path, O_RDONLY | O_CLOEXEC), name);
		if (fstatat(own_fd, name, &st, 0) < 0)
			bad(t, "fstatat own", name, errno);
		if (fstatat(shared_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			bad(t, "fstatat shared", name, errno);
		check_content(t, "openat own", openat(own_fd, name, O_RDONLY | O_CLOEXEC), name);
		check_content(t, "openat shared", openat(shared_fd, name, O_RDONLY | O_CLOEXEC), name);
		if (fstatat(own_fd, "gone", &st, 0) == 0 || errno != ENOENT)
			bad(t, "fstatat (whiteout)", "gone", errno == ENOENT ? 0 : errno);
		d = opendir(dir);
		if (!d) {
			bad(t, "opendir", dir, errno);
		} else {
			while ((e = readdir(d)))
				n += e->d_name[0] == 'f';
			closedir(d);
			if (n != FILES)
				bad(t, "readdir count of f*", dir, 0);
		}
		if (r % 16 == 0) {
			/* a file of its own: create, write, remove (changes the dir) */
			fd = openat(own_fd, wname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0 || write(fd, "w\n", 2) != 2)
				bad(t, "create", wname, errno);
			if (fd >= 0)
				close(fd);
			if (unlinkat(shared_fd, wname, 0) < 0)
				bad(t, "unlinkat", wname, errno);
			/* an append to a shared base file: copy-up races other threads' reads */
			if (t < FILES && r == 32) {
				fd = openat(shared_fd, cname, O_RDONLY | O_CLOEXEC);
				check_content(t, "before copy-up", fd, cname);
				fd = openat(own_fd, cname, O_WRONLY | O_APPEND | O_CLOEXEC);
				if (fd < 0)
					bad(t, "open for append", cname, errno);
				else
					close(fd);
			}
		}
	}
	close(own_fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[MAXT];
	int nthreads = 8;

	if (argc < 2) {
		fprintf(stderr, "usage: stress-threads DIR [ROUNDS [THREADS]]\n");
		return 2;
	}
	dir = argv[1];
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		nthreads = atoi(argv[3]);
	if (nthreads < 1 || nthreads > MAXT)
		nthreads = 8;
	pthread_barrier_init(&start, NULL, (unsigned)nthreads);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(long)i))
			return probe_fail("pthread_create", EAGAIN);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	if (!errors)
		puts("ok");
	return errors != 0;
}
