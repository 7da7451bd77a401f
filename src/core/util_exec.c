/* SPDX-License-Identifier: MIT */
/*
 * util_exec.c - the pure parts of running a program through the union, for the
 * exec and posix_spawn shims: the kernel's "#!" parsing, the PATH walk of
 * execvp(3) and the LD_PRELOAD list. Everything here may run in a vfork child:
 * no malloc, no locks, raw system calls only, caller-owned buffers.
 */
#include <stdio.h>

#include "internal.h"

/* ---------------------------------------------------------------- "#!" */

static bool spacetab(char c)
{
	return c == ' ' || c == '\t';
}

static bool terminator(char c)
{
	return c == ' ' || c == '\t' || c == '\0';
}

static char *next_non_spacetab(char *first, const char *last)
{
	for (; first <= last; first++)
		if (!spacetab(*first))
			return first;
	return NULL;
}

static char *next_terminator(char *first, const char *last)
{
	for (; first <= last; first++)
		if (terminator(*first))
			return first;
	return NULL;
}

/*
 * load_script() of fs/binfmt_script.c (Linux 5.1 and later), step for step, on
 * the same zero-padded buffer: the name ends at the first blank or NUL, the rest
 * of the line (trimmed) is one optional argument, and a line without a newline
 * in the buffer is accepted only when the name ends inside it.
 */
int aufs_shebang_parse(char *buf, size_t len, char **ret_name, char **ret_arg)
{
	char *buf_end = buf + AUFS_SHEBANG_MAX - 1, *i_end, *i_name, *i_sep, *i_arg = NULL;

	if (len > AUFS_SHEBANG_MAX)
		len = AUFS_SHEBANG_MAX;
	memset(buf + len, 0, AUFS_SHEBANG_MAX + 1 - len);
	if (buf[0] != '#' || buf[1] != '!')
		return 1;
	i_end = memchr(buf, '\n', AUFS_SHEBANG_MAX);
	if (!i_end) {
		i_end = next_non_spacetab(buf + 2, buf_end);
		if (!i_end)
			return -ENOEXEC;	/* blanks only */
		if (!next_terminator(i_end, buf_end))
			return -ENOEXEC;	/* the name may be cut off */
		i_end = buf_end;
	}
	while (spacetab(i_end[-1]))
		i_end--;
	i_name = next_non_spacetab(buf + 2, i_end);
	if (!i_name || i_name == i_end)
		return -ENOEXEC;
	i_sep = next_terminator(i_name, i_end);
	if (i_sep && *i_sep)
		i_arg = next_non_spacetab(i_sep, i_end);
	*i_end = 0;
	if (i_arg)
		*i_sep = 0;
	*ret_name = i_name;
	*ret_arg = i_arg;
	return 0;
}

int aufs_shebang_read_fd(int fd, char *buf, char **ret_name, char **ret_arg)
{
	ssize_t n = AUFS_SYS(SYS_pread64, fd, buf, AUFS_SHEBANG_MAX, 0, 0, 0);

	if (n < 0)
		return (int)n;
	return aufs_shebang_parse(buf, (size_t)n, ret_name, ret_arg);
}

int aufs_shebang_read(const char *path, const struct stat *st, char *buf, char **ret_name,
		      char **ret_arg)
{
	struct stat own;
	int fd, r;

	if (!st) {
		r = sys_stat(path, &own);
		if (r < 0)
			return r;
		st = &own;
	}
	/* never open what exec would refuse anyway: a FIFO would block, a device may act */
	if (!S_ISREG(st->st_mode) || !(st->st_mode & 0111))
		return 1;
	fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	r = aufs_shebang_read_fd(fd, buf, ret_name, ret_arg);
	(void)sys_close(fd);	/* read-only: nothing to lose */
	return r;
}

/* ---------------------------------------------------------------- PATH */

int aufs_path_next(const char **cursor, const char *file, char *buf, size_t size)
{
	size_t flen = strlen(file);

	while (*cursor) {
		const char *p = *cursor, *e = strchr(p, ':');
		size_t dlen = e ? (size_t)(e - p) : strlen(p);

		*cursor = e ? e + 1 : NULL;
		/* an entry too long for BUF cannot name a file: skip it, as glibc does */
		if (dlen + 1 + flen + 1 > size)
			continue;
		memcpy(buf, p, dlen);
		if (dlen)
			buf[dlen++] = '/';
		memcpy(buf + dlen, file, flen + 1);
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- LD_PRELOAD */

static const char *base_name(const char *p, size_t len, size_t *ret_len)
{
	size_t i = len;

	while (i > 0 && p[i - 1] != '/')
		i--;
	*ret_len = len - i;
	return p + i;
}

long aufs_preload_find(const char *value, const char *lib)
{
	size_t llen = strlen(lib), lblen;
	const char *lb = base_name(lib, llen, &lblen);
	const char *p = value;

	while (*p) {
		size_t n, bl;
		const char *b;

		while (*p == ':' || *p == ' ')
			p++;
		for (n = 0; p[n] && p[n] != ':' && p[n] != ' '; n++)
			;
		if (!n)
			break;
		b = base_name(p, n, &bl);
		if ((n == llen && !memcmp(p, lib, n)) ||
		    (lblen && bl == lblen && !memcmp(b, lb, bl)))
			return (long)(p + n - value);
		p += n;
	}
	return -1;
}
