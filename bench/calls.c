/* SPDX-License-Identifier: MIT */
/*
 * calls: the loops of bench/calls.sh, which runs each one twice under strace -c -f with
 * two counts and divides the difference of the system calls by the difference of the
 * counts (start-up and warm-up cancel out).
 *
 *   calls OP COUNT DIR
 *
 * DIR is a directory of the tree (in a union: a directory of both branches) holding
 * the base files f0..f999 (4 KiB each). Every OP first looks up DIR and every base file
 * (a constant cost, whatever COUNT), then runs COUNT times:
 *
 *   create   open(DIR/new-I, O_WRONLY|O_CREAT|O_EXCL) + close + unlink
 *   mkdir    mkdir(DIR/dir-I) + rmdir
 *   rename   rename(DIR/fI, DIR/fI.renamed)
 *   append   open(DIR/fI, O_WRONLY|O_APPEND) + write 16 bytes + close (the first: a copy-up)
 *   readdir  opendir(DIR/sub) + readdir to the end + closedir (20 names, 10 per branch)
 *   stat     stat(DIR/fI)
 *   miss     stat(DIR/missing-J), J = I % 10: ENOENT (a name cached as missing; negttl=)
 *   read     open(DIR/fI) + read 4 KiB + close
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFILES 1000

int main(int argc, char **argv)
{
	char p[4200], q[4300], buf[4096];
	struct stat st;
	long n, bad = 0;
	const char *op, *dir;

	if (argc != 4) {
		fprintf(stderr, "usage: calls OP COUNT DIR\n");
		return 2;
	}
	op = argv[1];
	n = atol(argv[2]);
	dir = argv[3];
	if (stat(dir, &st) != 0)
		bad++;
	for (int i = 0; i < NFILES; i++) {
		snprintf(p, sizeof(p), "%s/f%d", dir, i);
		if (stat(p, &st) != 0)
			bad++;
	}
	/* one of each outside the counted loop: the first create copies nothing up */
	for (long i = 0; i < n; i++) {
		if (!strcmp(op, "create")) {
			snprintf(p, sizeof(p), "%s/new-%ld", dir, i);
			int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);

			if (fd < 0 || close(fd) != 0 || unlink(p) != 0)
				bad++;
		} else if (!strcmp(op, "mkdir")) {
			snprintf(p, sizeof(p), "%s/dir-%ld", dir, i);
			if (mkdir(p, 0755) != 0 || rmdir(p) != 0)
				bad++;
		} else if (!strcmp(op, "rename")) {
			snprintf(p, sizeof(p), "%s/f%ld", dir, i % NFILES);
			snprintf(q, sizeof(q), "%s.renamed", p);
			if (rename(p, q) != 0)
				bad++;
		} else if (!strcmp(op, "append")) {
			snprintf(p, sizeof(p), "%s/f%ld", dir, i % NFILES);
			int fd = open(p, O_WRONLY | O_APPEND);

			if (fd < 0 || write(fd, "0123456789abcdef", 16) != 16 || close(fd) != 0)
				bad++;
		} else if (!strcmp(op, "readdir")) {
			DIR *d;
			struct dirent *e;
			long k = 0;

			snprintf(p, sizeof(p), "%s/sub", dir);
			d = opendir(p);
			if (!d) {
				bad++;
				continue;
			}
			while ((e = readdir(d)))
				k++;
			if (k != 22)
				bad++;
			closedir(d);
		} else if (!strcmp(op, "stat")) {
			snprintf(p, sizeof(p), "%s/f%ld", dir, i % NFILES);
			if (stat(p, &st) != 0)
				bad++;
		} else if (!strcmp(op, "miss")) {
			snprintf(p, sizeof(p), "%s/missing-%ld", dir, i % 10);
			if (stat(p, &st) == 0)
				bad++;
		} else if (!strcmp(op, "read")) {
			snprintf(p, sizeof(p), "%s/f%ld", dir, i % NFILES);
			int fd = open(p, O_RDONLY);

			if (fd < 0 || read(fd, buf, sizeof(buf)) != sizeof(buf) || close(fd) != 0)
				bad++;
		} else {
			fprintf(stderr, "calls: unknown op %s\n", op);
			return 2;
		}
	}
	if (bad) {
		fprintf(stderr, "calls: %s: %ld operations failed\n", op, bad);
		return 1;
	}
	return 0;
}
