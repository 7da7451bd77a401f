/* SPDX-License-Identifier: MIT */
/*
 * tenants.c - the probes of the tenants scale step (bench/tenants.sh):
 *
 *   tenants spawn [-n N] [-e NAME=VALUE]... PROG
 *       N times (default 500), interleaved: posix_spawn+waitpid of PROG with this
 *       process's environment less LD_PRELOAD and AUFS_* (native), then with that
 *       environment plus every -e (through the library). Prints
 *       "native_median_us native_mean_us lib_median_us lib_mean_us". Run it without
 *       the library: it measures its children, not itself.
 *   tenants mem PATH
 *       stat(PATH), then prints "private_kb private_dirty_kb anonymous_kb" of this
 *       process from /proc/self/smaps_rollup (Private_Clean + Private_Dirty, the
 *       latter alone, and Anonymous: the memory the process itself allocated).
 *   tenants stat COUNT PATH
 *       COUNT stats of PATH after one untimed stat; prints "ns_per_stat". Under
 *       callgrind two COUNTs give the instructions of one stat by difference.
 * Exit 1 when a call fails (the failure is printed), 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double mean(const double *v, int n)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return s / n;
}

/* one spawn+wait of PROG with ENV; its duration in microseconds, or -1. */
static double spawn_once(char *prog, char **env)
{
	char *argv[] = {prog, NULL};
	pid_t pid;
	int st, err;
	double t0 = now_us();

	err = posix_spawn(&pid, prog, NULL, NULL, argv, env);
	if (err) {
		fprintf(stderr, "tenants: posix_spawn %s: %s\n", prog, strerror(err));
		return -1;
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "tenants: %s did not exit 0 (status 0x%x)\n", prog, st);
		return -1;
	}
	return now_us() - t0;
}

static int cmd_spawn(int argc, char **argv)
{
	int n = 500, nextra = 0, i, k;
	char **extra = calloc((size_t)argc, sizeof(char *));
	char **native, **lib;
	double *tn, *tl;
	size_t nenv = 0;

	for (i = 2; i < argc - 1; i++) {
		if (!strcmp(argv[i], "-n"))
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-e"))
			extra[nextra++] = argv[++i];
		else
			break;
	}
	if (i != argc - 1 || n < 1) {
		fprintf(stderr, "usage: tenants spawn [-n N] [-e NAME=VALUE]... PROG\n");
		return 2;
	}
	while (environ[nenv])
		nenv++;
	native = calloc(nenv + 1, sizeof(char *));
	lib = calloc(nenv + (size_t)nextra + 1, sizeof(char *));
	tn = calloc((size_t)n, sizeof(double));
	tl = calloc((size_t)n, sizeof(double));
	if (!extra || !native || !lib || !tn || !tl)
		return 1;
	for (size_t e = 0, j = 0; e < nenv; e++)
		if (strncmp(environ[e], "LD_PRELOAD=", 11) && strncmp(environ[e], "AUFS_", 5))
			native[j++] = environ[e];
	for (k = 0; native[k]; k++)
		lib[k] = native[k];
	for (i = 0; i < nextra; i++)
		lib[k++] = extra[i];
	/* a warm-up of each: page cache, the dynamic loader's caches */
	if (spawn_once(argv[argc - 1], native) < 0 || spawn_once(argv[argc - 1], lib) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		tn[i] = spawn_once(argv[argc - 1], native);
		tl[i] = spawn_once(argv[argc - 1], lib);
		if (tn[i] < 0 || tl[i] < 0)
			return 1;
	}
	printf("%.1f %.1f ", median(tn, n), mean(tn, n));
	printf("%.1f %.1f\n", median(tl, n), mean(tl, n));
	return 0;
}

static int cmd_mem(int argc, char **argv)
{
	struct stat st;
	char line[256];
	long clean = -1, dirty = -1, anon = -1, v;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: tenants mem PATH\n");
		return 2;
	}
	if (stat(argv[2], &st) != 0) {
		fprintf(stderr, "tenants: stat %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	f = fopen("/proc/self/smaps_rollup", "r");
	if (!f) {
		fprintf(stderr, "tenants: /proc/self/smaps_rollup: %s\n", strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Private_Clean: %ld kB", &v) == 1)
			clean = v;
		else if (sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
			dirty = v;
		else if (sscanf(line, "Anonymous: %ld kB", &v) == 1)
			anon = v;
	}
	fclose(f);
	if (clean < 0 || dirty < 0 || anon < 0) {
		fprintf(stderr, "tenants: no Private_Clean, Private_Dirty or Anonymous in /proc/self/smaps_rollup\n");
		return 1;
	}
	printf("%ld %ld %ld\n", clean + dirty, dirty, anon);
	return 0;
}

static int cmd_stat(int argc, char **argv)
{
	struct stat st;
	long count;
	double t0, t1;

	if (argc != 4 || (count = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: tenants stat COUNT PATH\n");
		return 2;
	}
	if (stat(argv[3], &st) != 0) {
		fprintf(stderr, "tenants: stat %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	t0 = now_us();
	for (long i = 0; i < count; i++)
		if (stat(argv[3], &st) != 0) {
			fprintf(stderr, "tenants: stat %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
	t1 = now_us();
	printf("%.1f\n", (t1 - t0) * 1e3 / (double)count);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "spawn"))
		return cmd_spawn(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "mem"))
		return cmd_mem(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "stat"))
		return cmd_stat(argc, argv);
	fprintf(stderr, "usage: tenants spawn|mem|stat ... (see bench/tenants.c)\n");
	return 2;
}
