/* SPDX-License-Identifier: MIT */
/*
 * util_path.c - lexical path helpers and the one builder of branch paths and
 * whiteout names. The bottom layer of the core: pure string work, no system
 * call, no state; every other layer may call it. A real path longer than
 * PATH_MAX is named by util_long.c instead (through a branch directory's fd).
 */
#include "internal.h"

/* ---------------------------------------------------------------- lexical */

int path_append_lexical(char *buf, size_t *len, size_t size, const char *src)
{
	size_t n = *len;

	while (*src) {
		const char *c = src;
		size_t clen;

		while (*c == '/')
			c++;
		if (!*c)
			break;
		for (clen = 0; c[clen] && c[clen] != '/'; clen++)
			;
		src = c + clen;
		if (clen == 1 && c[0] == '.')
			continue;
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			while (n > 1 && buf[n - 1] != '/')
				n--;
			if (n > 1)
				n--;
			buf[n] = 0;
			continue;
		}
		if (n + (n > 1) + clen + 1 > size)
			return -ENAMETOOLONG;
		if (n > 1)
			buf[n++] = '/';
		memcpy(buf + n, c, clen);
		n += clen;
		buf[n] = 0;
	}
	*len = n;
	return 0;
}

bool path_has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
			return true;
	return false;
}

/* ---------------------------------------------------------------- branch paths */

int branch_path(const struct aufs_branch *br, const char *rel, size_t len, char *buf)
{
	size_t n = br->len;

	if (__builtin_expect(n + 1 + len + 1 > PATH_MAX, 0))
		return long_path(br, rel, len, NULL, NULL, 0, buf);
	memcpy(buf, br->path, n);
	if (len) {
		buf[n++] = '/';
		memcpy(buf + n, rel, len);
		n += len;
	}
	buf[n] = 0;
	return 0;
}

int branch_path_name(const struct aufs_branch *br, const char *dir, size_t dlen,
		     const char *pfx, const char *name, size_t nlen, char *buf)
{
	size_t plen = strlen(pfx);
	size_t n = br->len + (dlen ? 1 + dlen : 0);

	if (__builtin_expect(n + 1 + plen + nlen + 1 > PATH_MAX, 0))
		return long_path(br, dir, dlen, pfx, name, nlen, buf);
	(void)branch_path(br, dir, dlen, buf);
	buf[n++] = '/';
	memcpy(buf + n, pfx, plen);
	memcpy(buf + n + plen, name, nlen);
	buf[n + plen + nlen] = 0;
	return 0;
}
