/* SPDX-License-Identifier: MIT */
/*
 * table-reader - one long-running process of a host table, for the reload test
 * (t1011-host-table-reload.sh): it stays the same process across every
 * `aufsctl reload`, so what it sees is what a running php-fpm worker sees.
 *
 *   table-reader CTL K MNT loop|forked|hold SECONDS
 *
 * loop: reads MNT/tK/own.txt ("tenant K", the tenant's branch) and
 *   MNT/tK/index.php ("cms index", the base) every 3 ms and counts every
 *   failed or wrong read (each is printed on stderr).
 * forked: reads them once, then forks and lets the child loop, as a php-fpm
 *   master forks its workers (without exec) after it has used the table.
 * hold: opens MNT/tK/own.txt for reading and MNT/tK/log.txt for appending at
 *   the start and keeps them open (its tenant's line is removed while it runs).
 *
 * The test drives it through the directory CTL, outside every union:
 *   CTL/ready.K      written once it has read its files (loop) or opened them (hold)
 *   CTL/ask.R        R = 1, 2, ...: one request a line; the answers, one a line,
 *                    go to CTL/ans.K.R (made complete, then renamed):
 *                      read PATH    "read PATH: FIRST-LINE" or "read PATH: ENOENT"
 *                      ls PATH      "ls PATH: NAME NAME..." (sorted, without . and ..)
 *                      fdread       "fdread: FIRST-LINE" of the file held open, from 0
 *                      fdwrite TEXT "fdwrite: ok" once TEXT and a newline went to the
 *                                   file held open for appending
 *   CTL/stop         ends it: CTL/done.K gets "iterations N errors E after-last-ask M"
 *                    (M: loop iterations after the last answer) and it exits 0 when E
 *                    is 0. It also ends after SECONDS, or when CTL disappears, with 3.
 * Every file it writes is made by rename, so the test never reads half of one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *ctl;
static int self;

/* put_file NAME TEXT: CTL/NAME, complete or not at all. */
static void put_file(const char *name, const char *text)
{
	char tmp[4096], dst[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", ctl, name);
	snprintf(dst, sizeof(dst), "%s/%s", ctl, name);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0 || rename(tmp, dst) != 0) {
		fprintf(stderr, "table-reader %d: cannot write %s: %s\n", self, dst, strerror(errno));
		exit(4);
	}
}

/* first_line FD PATH BUF: the first line of FD (from offset 0), or of PATH when FD
 * is -1, or the errno's name. 0 when read. */
static int first_line(int fd, const char *path, char *buf, size_t size)
{
	ssize_t n;
	int own = fd < 0;

	if (own)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(buf, size, "%s", strerrorname_np(errno));
		return -1;
	}
	n = pread(fd, buf, size - 1, 0);
	if (n < 0)
		snprintf(buf, size, "%s", strerrorname_np(errno));
	else
		buf[n] = 0;
	if (own)
		close(fd);
	if (n < 0)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *path, char *out, size_t size)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char *names[256];
	size_t n = 0, len = 0;

	out[0] = 0;
	if (!d) {
		snprintf(out, size, "%s", strerrorname_np(errno));
		return;
	}
	while ((e = readdir(d)) && n < 256)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(out + len, len < size ? size - len : 0, "%s%s", i ? " " : "",
				       names[i]);
		free(names[i]);
	}
}

/* answer R: the answers to CTL/ask.R, in CTL/ans.K.R. */
static void answer(int round, int rfd, int wfd)
{
	char path[4096], line[4096], got[8192], *out = NULL;
	size_t outlen = 0;
	FILE *ask, *ans = open_memstream(&out, &outlen);

	snprintf(path, sizeof(path), "%s/ask.%d", ctl, round);
	ask = fopen(path, "r");
	if (!ask || !ans) {
		fprintf(stderr, "table-reader %d: cannot read %s: %s\n", self, path, strerror(errno));
		exit(4);
	}
	while (fgets(line, sizeof(line), ask)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "read ", 5)) {
			first_line(-1, line + 5, got, sizeof(got));
			fprintf(ans, "%s: %s\n", line, got);
		} else if (!strncmp(line, "ls ", 3)) {
			list_dir(line + 3, got, sizeof(got));
			fprintf(ans, "%s: %s\n", line, got);
		} else if (!strcmp(line, "fdread")) {
			if (rfd < 0)
				snprintf(got, sizeof(got), "no descriptor");
			else
				first_line(rfd, NULL, got, sizeof(got));
			fprintf(ans, "fdread: %s\n", got);
		} else if (!strncmp(line, "fdwrite ", 8)) {
			size_t n = strlen(line + 8);

			line[8 + n] = '\n';
			if (wfd < 0)
				fprintf(ans, "fdwrite: no descriptor\n");
			else if (write(wfd, line + 8, n + 1) != (ssize_t)(n + 1))
				fprintf(ans, "fdwrite: %s\n", strerrorname_np(errno));
			else
				fprintf(ans, "fdwrite: ok\n");
		} else {
			fprintf(ans, "%s: unknown request\n", line);
		}
	}
	fclose(ask);
	fclose(ans);
	snprintf(path, sizeof(path), "ans.%d.%d", self, round);
	put_file(path, out);
	free(out);
}

static int exists(const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", ctl, name);
	return access(path, F_OK) == 0;
}

int main(int argc, char **argv)
{
	char own[4096], base[4096], want_own[64], got[4096], name[64], text[128];
	long iterations = 0, errors = 0, after_ask = 0;
	int hold, rfd = -1, wfd = -1, round = 0, ready = 0;
	struct timespec pause = {0, 3 * 1000 * 1000};
	time_t deadline;

	if (argc != 6 || (strcmp(argv[4], "loop") && strcmp(argv[4], "forked") && strcmp(argv[4], "hold"))) {
		fprintf(stderr, "usage: table-reader CTL K MNT loop|forked|hold SECONDS\n");
		return 2;
	}
	ctl = argv[1];
	self = atoi(argv[2]);
	hold = !strcmp(argv[4], "hold");
	deadline = time(NULL) + atoi(argv[5]);
	snprintf(own, sizeof(own), "%s/t%d/own.txt", argv[3], self);
	snprintf(base, sizeof(base), "%s/t%d/index.php", argv[3], self);
	snprintf(want_own, sizeof(want_own), "tenant %d", self);

	if (!strcmp(argv[4], "forked")) {
		int st;
		pid_t pid;

		if (first_line(-1, own, got, sizeof(got)) || strcmp(got, want_own))
			fprintf(stderr, "table-reader %d: before the fork: %s: %s\n", self, own, got);
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "table-reader %d: fork: %s\n", self, strerror(errno));
			return 1;
		}
		if (pid > 0)
			return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	if (hold) {
		char logpath[4096];

		snprintf(logpath, sizeof(logpath), "%s/t%d/log.txt", argv[3], self);
		rfd = open(own, O_RDONLY);
		wfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0644);
		if (rfd < 0 || wfd < 0) {
			fprintf(stderr, "table-reader %d: cannot open %s or %s: %s\n", self, own, logpath,
				strerror(errno));
			return 1;
		}
	}
	for (;;) {
		if (!hold) {
			int bad_own = first_line(-1, own, got, sizeof(got)) || strcmp(got, want_own);

			if (bad_own)
				fprintf(stderr, "table-reader %d: %s: %s\n", self, own, got);
			int bad_base = first_line(-1, base, got, sizeof(got)) || strcmp(got, "cms index");

			if (bad_base)
				fprintf(stderr, "table-reader %d: %s: %s\n", self, base, got);
			errors += bad_own + bad_base;
			iterations++;
			after_ask++;
		}
		if (!ready) {
			snprintf(name, sizeof(name), "ready.%d", self);
			put_file(name, "ready\n");
			ready = 1;
		}
		snprintf(name, sizeof(name), "ask.%d", round + 1);
		if (exists(name)) {
			answer(++round, rfd, wfd);
			after_ask = 0;
		}
		if (exists("stop")) {
			snprintf(name, sizeof(name), "done.%d", self);
			snprintf(text, sizeof(text), "iterations %ld errors %ld after-last-ask %ld\n",
				 iterations, errors, after_ask);
			put_file(name, text);
			return errors ? 1 : 0;
		}
		if (time(NULL) > deadline || access(ctl, F_OK) != 0) {
			fprintf(stderr, "table-reader %d: no stop after %s s\n", self, argv[5]);
			return 3;
		}
		nanosleep(&pause, NULL);
	}
}
