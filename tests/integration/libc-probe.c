/* SPDX-License-Identifier: MIT */
/*
 * libc-probe - call one libc function the way programs do, for the integration
 * tests (compiled by them into their temp dir). The functions are the ones whose
 * glibc implementation calls other libc functions internally, so an LD_PRELOAD
 * library must wrap them itself.
 *
 *   libc-probe glob PATTERN          matches, one a line (GLOB_NOSORT off)
 *   libc-probe nftw DIR              "TYPE PATH" for every entry (FTW_PHYS)
 *   libc-probe ftw DIR               "TYPE PATH" for every entry
 *   libc-probe fts DIR               "TYPE PATH" for every entry (FTS_PHYSICAL)
 *   libc-probe scandir DIR           names, sorted by alphasort
 *   libc-probe readdir DIR           names, in readdir order
 *   libc-probe fdopendir DIR         names, through open(O_DIRECTORY) + fdopendir
 *   libc-probe fopen FILE            the first line of FILE
 *   libc-probe realpath PATH         realpath(3)
 *   libc-probe execv PATH ARG...     execv(3)
 *   libc-probe execvp FILE ARG...    execvp(3)
 *   libc-probe execl PATH ARG        execl(3), one argument
 *   libc-probe posix_spawnp FILE ARG...   posix_spawnp(3), then waits
 *   libc-probe system COMMAND        system(3)
 *   libc-probe popen COMMAND         popen(3), copies its output
 * Errors: "FUNCTION: strerror" on stdout, exit 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int fail(const char *what, int err)
{
	printf("%s: %s\n", what, strerror(err));
	return 1;
}

static const char *type_of(int flag)
{
	switch (flag) {
	case FTW_F: return "f";
	case FTW_D: return "d";
	case FTW_DNR: return "dnr";
	case FTW_NS: return "ns";
	case FTW_SL: return "l";
	case FTW_SLN: return "sln";
	default: return "?";
	}
}

static int walk_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	printf("%s %s\n", type_of(flag), path);
	return 0;
}

static int ftw_cb(const char *path, const struct stat *st, int flag)
{
	(void)st;
	printf("%s %s\n", type_of(flag), path);
	return 0;
}

static int list(DIR *d, const char *what)
{
	struct dirent *e;

	if (!d)
		return fail(what, errno);
	errno = 0;
	while ((e = readdir(d)))
		printf("%s\n", e->d_name);
	if (errno)
		return fail("readdir", errno);
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	const char *arg = argc > 2 ? argv[2] : NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!arg) {
		fprintf(stderr, "usage: libc-probe OP ARG...\n");
		return 2;
	}
	if (!strcmp(op, "glob")) {
		glob_t g;
		int r = glob(arg, 0, NULL, &g);

		if (r == GLOB_NOMATCH) {
			printf("glob: no match\n");
			return 1;
		}
		if (r)
			return fail("glob", errno);
		for (size_t i = 0; i < g.gl_pathc; i++)
			printf("%s\n", g.gl_pathv[i]);
		globfree(&g);
		return 0;
	}
	if (!strcmp(op, "nftw"))
		return nftw(arg, walk_cb, 16, FTW_PHYS) ? fail("nftw", errno) : 0;
	if (!strcmp(op, "ftw"))
		return ftw(arg, ftw_cb, 16) ? fail("ftw", errno) : 0;
	if (!strcmp(op, "fts")) {
		char *paths[] = { (char *)arg, NULL };
		FTS *f = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
		FTSENT *e;

		if (!f)
			return fail("fts_open", errno);
		while ((e = fts_read(f))) {
			const char *t = "?";

			switch (e->fts_info) {
			case FTS_D: t = "d"; break;
			case FTS_DP: continue;
			case FTS_F: t = "f"; break;
			case FTS_SL: case FTS_SLNONE: t = "l"; break;
			case FTS_NS: t = "ns"; break;
			case FTS_DNR: t = "dnr"; break;
			case FTS_ERR: t = "err"; break;
			}
			printf("%s %s\n", t, e->fts_path);
		}
		fts_close(f);
		return 0;
	}
	if (!strcmp(op, "scandir")) {
		struct dirent **v;
		int n = scandir(arg, &v, NULL, alphasort);

		if (n < 0)
			return fail("scandir", errno);
		for (int i = 0; i < n; i++) {
			printf("%s\n", v[i]->d_name);
			free(v[i]);
		}
		free(v);
		return 0;
	}
	if (!strcmp(op, "readdir"))
		return list(opendir(arg), "opendir");
	if (!strcmp(op, "fdopendir")) {
		int fd = open(arg, O_RDONLY | O_DIRECTORY);

		if (fd < 0)
			return fail("open", errno);
		return list(fdopendir(fd), "fdopendir");
	}
	if (!strcmp(op, "fopen")) {
		char line[4096];
		FILE *f = fopen(arg, "r");

		if (!f)
			return fail("fopen", errno);
		if (fgets(line, sizeof(line), f))
			fputs(line, stdout);
		fclose(f);
		return 0;
	}
	if (!strcmp(op, "realpath")) {
		char buf[PATH_MAX];

		if (!realpath(arg, buf))
			return fail("realpath", errno);
		printf("%s\n", buf);
		return 0;
	}
	if (!strcmp(op, "execv")) {
		execv(arg, argv + 2);
		return fail("execv", errno);
	}
	if (!strcmp(op, "execvp")) {
		execvp(arg, argv + 2);
		return fail("execvp", errno);
	}
	if (!strcmp(op, "execl")) {
		execl(arg, arg, argc > 3 ? argv[3] : NULL, (char *)NULL);
		return fail("execl", errno);
	}
	if (!strcmp(op, "posix_spawnp")) {
		pid_t pid;
		int st, r = posix_spawnp(&pid, arg, NULL, NULL, argv + 2, environ);

		if (r)
			return fail("posix_spawnp", r);
		if (waitpid(pid, &st, 0) < 0)
			return fail("waitpid", errno);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	if (!strcmp(op, "system")) {
		int st = system(arg);

		return st < 0 ? fail("system", errno) : WEXITSTATUS(st);
	}
	if (!strcmp(op, "popen")) {
		char line[4096];
		FILE *p = popen(arg, "r");

		if (!p)
			return fail("popen", errno);
		while (fgets(line, sizeof(line), p))
			fputs(line, stdout);
		return WEXITSTATUS(pclose(p));
	}
	fprintf(stderr, "libc-probe: unknown operation %s\n", op);
	return 2;
}
