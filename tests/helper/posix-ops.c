/* SPDX-License-Identifier: MIT */
/*
 * posix-ops - run namespace calls read from stdin, one a line, and print each
 * line followed by what the kernel (or the union) answered: "-> OK" or "-> ENAME".
 * The same script run on a plain tree, on a kernel overlay and through the union
 * gives outputs that can be compared line by line.
 *
 *   rmdir P | unlink P | mkdir P | mkfifo P | stat P | lstat P
 *   rename OLD NEW [noreplace|exchange]     renameat2(2)
 *   link OLD NEW | symlink TARGET P
 *   open P FLAG,FLAG,...    rdonly wronly rdwr creat excl trunc directory nofollow path
 *   write P TEXT            open O_WRONLY|O_CREAT|O_TRUNC, write TEXT and a newline
 *   setenv NAME VALUE       setenv(3), as php-fpm applies a pool's env[NAME]
 *
 * The word '' stands for an empty path, LONG for a path longer than PATH_MAX.
 * stat and lstat print the type on success ("-> dir"). Empty lines and lines
 * starting with '#' are copied through. The exit status is 0 unless a line is
 * malformed (2): an error of a call is an answer, not a failure.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_flags(const char *spec)
{
	static const struct {
		const char *name;
		int flag;
	} table[] = {
		{ "rdonly", O_RDONLY },	    { "wronly", O_WRONLY },	{ "rdwr", O_RDWR },
		{ "creat", O_CREAT },	    { "excl", O_EXCL },		{ "trunc", O_TRUNC },
		{ "directory", O_DIRECTORY }, { "nofollow", O_NOFOLLOW }, { "path", O_PATH },
	};
	char buf[256], *save = NULL;
	int flags = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			if (!strcmp(w, table[i].name))
				break;
		if (i == sizeof(table) / sizeof(table[0]))
			return -1;
		flags |= table[i].flag;
	}
	return flags | O_CLOEXEC;
}

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFIFO: return "fifo";
	default: return "other";
	}
}

/* One call; returns 0 (with *WHAT set for stat), -1 with errno, or -2 (malformed). */
static int run(char **av, int ac, const char **what)
{
	const char *op = av[0];
	struct stat st;
	int fd, r;

	if (ac == 2 && !strcmp(op, "rmdir"))
		return rmdir(av[1]);
	if (ac == 2 && !strcmp(op, "unlink"))
		return unlink(av[1]);
	if (ac == 2 && !strcmp(op, "mkdir"))
		return mkdir(av[1], 0755);
	if (ac == 2 && !strcmp(op, "mkfifo"))
		return mknod(av[1], S_IFIFO | 0644, 0);
	if (ac == 2 && (!strcmp(op, "stat") || !strcmp(op, "lstat"))) {
		r = op[0] == 'l' ? lstat(av[1], &st) : stat(av[1], &st);
		if (r == 0)
			*what = type_name(st.st_mode);
		return r;
	}
	if ((ac == 3 || ac == 4) && !strcmp(op, "rename")) {
		unsigned flags = 0;

		if (ac == 4 && !strcmp(av[3], "noreplace"))
			flags = RENAME_NOREPLACE;
		else if (ac == 4 && !strcmp(av[3], "exchange"))
			flags = RENAME_EXCHANGE;
		else if (ac == 4)
			return -2;
		return renameat2(AT_FDCWD, av[1], AT_FDCWD, av[2], flags);
	}
	if (ac == 3 && !strcmp(op, "link"))
		return link(av[1], av[2]);
	if (ac == 3 && !strcmp(op, "symlink"))
		return symlink(av[1], av[2]);
	if (ac == 3 && !strcmp(op, "open")) {
		int flags = open_flags(av[2]);

		if (flags < 0)
			return -2;
		fd = open(av[1], flags, 0644);
		if (fd < 0)
			return -1;
		close(fd);
		return 0;
	}
	if (ac == 3 && !strcmp(op, "setenv"))
		return setenv(av[1], av[2], 1);
	if (ac == 3 && !strcmp(op, "write")) {
		size_t n = strlen(av[2]);

		fd = open(av[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		r = write(fd, av[2], n) == (ssize_t)n && write(fd, "\n", 1) == 1 ? 0 : -1;
		close(fd);
		return r;
	}
	return -2;
}

/* A path the kernel refuses for its length alone (ENAMETOOLONG). */
static char *long_path(void)
{
	static char p[PATH_MAX + 64];

	memset(p, 'a', sizeof(p) - 1);
	p[sizeof(p) - 1] = 0;
	return p;
}

int main(void)
{
	char line[4096];

	while (fgets(line, sizeof(line), stdin)) {
		char copy[4096], *av[8], *save = NULL;
		const char *what = "OK";
		int ac = 0, r;

		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#') {
			puts(line);
			continue;
		}
		snprintf(copy, sizeof(copy), "%s", line);
		for (char *w = strtok_r(copy, " \t", &save); w && ac < 8;
		     w = strtok_r(NULL, " \t", &save))
			av[ac++] = !strcmp(w, "''") ? "" : !strcmp(w, "LONG") ? long_path() : w;
		errno = 0;
		r = run(av, ac, &what);
		if (r == -2) {
			fprintf(stderr, "posix-ops: cannot read the line: %s\n", line);
			return 2;
		}
		if (r < 0) {
			const char *n = strerrorname_np(errno);

			what = n ? n : "E?";
		}
		printf("%s -> %s\n", line, what);
		fflush(stdout);
	}
	return 0;
}
