/* SPDX-License-Identifier: MIT */
/*
 * kill-mkdir - kill an mkdir or an rmdir of the union at random moments:
 *   kill-mkdir mkdir|rmdir DIR ROUNDS MAXDELAY_US [SEED]
 *   kill-mkdir view mkdir|rmdir DIR   (one round's look and reset, exec'd by it)
 * Run in the union (aufs-run). Each round forks a child that makes (mkdir) or
 * removes (rmdir) DIR, and kills it with SIGKILL after a random busy wait of 0 to
 * MAXDELAY_US microseconds (the bound itself halved 0 to 7 times at random) once the
 * child says it starts. Then a fresh process
 * (this program again, exec'd: caches of its own) looks at DIR: it must be
 * missing or an empty directory, never a directory showing names (those of the
 * lower directory a whiteout hides), and puts DIR back for the next round: removes
 * it for mkdir rounds, makes it for rmdir rounds (the killed child may have left
 * a change the caches of this process were not told of). Prints one line per
 * wrong view, then "rounds R killed K done D bad N"; exit 1 on a wrong view or a
 * failed call.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/*
 * Print "missing", "empty" or "shows NAME"; exit 2 when DIR cannot be looked at or
 * put back for the next round of OP.
 */
static int view(const char *op, const char *dir)
{
	bool mk = !strcmp(op, "mkdir");
	struct stat st;
	struct dirent *e;
	DIR *d;

	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT) {
			printf("lstat: %s\n", strerror(errno));
			return 2;
		}
		puts("missing");
		if (!mk && mkdir(dir, 0755) != 0) {
			printf("mkdir: %s\n", strerror(errno));
			return 2;
		}
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		puts("not a directory");
		return 0;
	}
	d = opendir(dir);
	if (!d) {
		printf("opendir: %s\n", strerror(errno));
		return 2;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			printf("shows %s\n", e->d_name);
			closedir(d);
			return 0;
		}
	closedir(d);
	puts("empty");
	if (mk && rmdir(dir) != 0) {
		printf("rmdir: %s\n", strerror(errno));
		return 2;
	}
	return 0;
}

/* The view of DIR from a fresh process, into BUF. */
static int fresh_view(const char *self, const char *op, const char *dir, char *buf,
		      size_t size)
{
	int p[2];
	pid_t pid;
	ssize_t n;
	int st;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl(self, self, "view", op, dir, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], buf, size - 1);
	close(p[0]);
	waitpid(pid, &st, 0);
	buf[n > 0 ? n : 0] = 0;
	if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int main(int argc, char **argv)
{
	const char *op, *dir;
	long rounds, maxdelay, killed = 0, done = 0, bad = 0;
	char self[4096], seen[512];
	ssize_t sl;

	if (argc == 4 && !strcmp(argv[1], "view"))
		return view(argv[2], argv[3]);
	if (argc < 5 || argc > 6 || (strcmp(argv[1], "mkdir") && strcmp(argv[1], "rmdir"))) {
		fputs("usage: kill-mkdir mkdir|rmdir DIR ROUNDS MAXDELAY_US [SEED]\n", stderr);
		return 2;
	}
	op = argv[1];
	dir = argv[2];
	rounds = atol(argv[3]);
	maxdelay = atol(argv[4]);
	srandom(argc == 6 ? (unsigned)atol(argv[5]) : (unsigned)getpid());
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return 2;
	self[sl] = 0;
	for (long i = 0; i < rounds; i++) {
		bool mk = !strcmp(op, "mkdir");
		/* spread over the scales of one call and of a slow scheduler alike */
		long delay = random() % ((maxdelay * 1000 >> random() % 8) + 1), until;
		int ready[2], st;
		char c;
		pid_t pid;

		if (pipe(ready))
			return 2;
		pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			close(ready[0]);
			if (write(ready[1], "x", 1) != 1)
				_exit(3);
			_exit((mk ? mkdir(dir, 0755) : rmdir(dir)) ? 1 : 0);
		}
		close(ready[1]);
		if (read(ready[0], &c, 1) != 1)
			c = 0;	/* the child is gone already: killed below all the same */
		close(ready[0]);
		until = now_ns() + delay;
		while (now_ns() < until)
			;
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		if (WIFSIGNALED(st))
			killed++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			done++;
		else
			printf("round %ld: %s failed\n", i, op), bad++;
		if (fresh_view(self, op, dir, seen, sizeof(seen)) < 0) {
			printf("round %ld: no view or no reset: %s\n", i, seen);
			return 1;
		}
		if (strcmp(seen, "missing") && strcmp(seen, "empty")) {
			printf("round %ld: %s %s\n", i, dir, seen);
			bad++;
		}
	}
	printf("rounds %ld killed %ld done %ld bad %ld\n", rounds, killed, done, bad);
	return bad ? 1 : 0;
}
