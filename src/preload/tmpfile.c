/* SPDX-License-Identifier: MIT */
/*
 * tmpfile.c - temporary names. Canonical: mkostemps, mkdtemp, mktemp, tempnam,
 * tmpnam, tmpnam_r. Forwarders: mkstemp, mkostemp, mkstemps and their *64
 * names. glibc's versions never reach open, mkdir or stat, so inside a union
 * they are rebuilt on the union's own open and mkdir: the name is unique in the
 * union's view (a name that exists only in a lower branch counts as taken) and
 * the file lands in the writable branch. The name-only forms (mktemp, tempnam,
 * tmpnam) pick a name that no branch has at all, visible, hidden or whited out.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "shim.h"
#include "aufs/sys.h"

#define TRIES 238328	/* 62^3, as glibc */

/* Is TEMPLATE (with its XXXXXX) inside a union? Then we make the name ourselves. */
static bool in_union(const char *tmpl)
{
	struct aufs_object obj;

	return aufs_lookup(AT_FDCWD, tmpl, AUFS_RESOLVE_NOFOLLOW, &obj) != AUFS_PASS;
}

static void fill(char *x)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[6];

	if (AUFS_SYS(SYS_getrandom, rnd, sizeof(rnd), GRND_NONBLOCK, 0, 0, 0) != sizeof(rnd)) {
		unsigned long v = (unsigned long)__builtin_ia32_rdtsc() ^ (unsigned long)sys_getpid();

		for (int i = 0; i < 6; i++, v >>= 7)
			rnd[i] = (unsigned char)v;
	}
	for (int i = 0; i < 6; i++)
		x[i] = chars[rnd[i] % 62];
}

/* The XXXXXX of TEMPLATE, before a suffix of SUFFIXLEN bytes; NULL if malformed. */
static char *placeholder(char *tmpl, int suffixlen)
{
	size_t len = strlen(tmpl);

	if (suffixlen < 0 || len < 6 + (size_t)suffixlen)
		return NULL;
	tmpl += len - 6 - (size_t)suffixlen;
	return strncmp(tmpl, "XXXXXX", 6) ? NULL : tmpl;
}

long verb_mkostemps(char *tmpl, int suffixlen, int flags)
{
	char *x;

	tmpl = AUFS_LAUNDER(tmpl);
	if (!tmpl || !in_union(tmpl))
		return AUFS_PASS;
	x = placeholder(tmpl, suffixlen);
	if (!x)
		return -EINVAL;
	for (int i = 0; i < TRIES; i++) {
		int fd;

		fill(x);
		fd = shim_openat(AT_FDCWD, tmpl,
				 (flags & ~O_ACCMODE) | O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

char *shim_mkdtemp(char *tmpl)
{
	char *x;

	if (!shim_enter(NULL) || !aufs_path_ok(tmpl) || !in_union(tmpl))
		return REAL(mkdtemp)(tmpl);
	x = placeholder(tmpl, 0);
	if (!x) {
		errno = EINVAL;
		return NULL;
	}
	for (int i = 0; i < TRIES; i++) {
		fill(x);
		if (shim_mkdirat(AT_FDCWD, tmpl, 0700) == 0)
			return tmpl;
		if (errno != EEXIST)
			return NULL;
	}
	return NULL;
}

/* Fill the XXXXXX at X until PATH is free in the union's view; -errno if none is. */
static int pick_name(char *path, char *x)
{
	for (int i = 0; i < TRIES; i++) {
		int r;

		fill(x);
		r = aufs_name_unused(path);
		if (r == AUFS_PASS) {
			struct stat st;

			r = REAL(fstatat)(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 ? -EEXIST
			    : errno == ENOENT ? 0 : -errno;
		}
		if (r != -EEXIST)
			return r;
	}
	return -EEXIST;
}

char *shim_mktemp(char *tmpl)
{
	int saved, r;
	char *x;

	if (!shim_enter(&saved) || !aufs_path_ok(tmpl) || !in_union(tmpl))
		return REAL(mktemp)(tmpl);
	x = placeholder(tmpl, 0);
	if (!x) {
		tmpl[0] = 0;	/* as glibc: an empty name and EINVAL */
		errno = EINVAL;
		return tmpl;
	}
	r = pick_name(tmpl, x);
	if (r < 0) {
		tmpl[0] = 0;
		errno = -r;
		return tmpl;
	}
	errno = saved;
	return tmpl;
}

/* Is DIR an existing directory in the union's view (glibc's direxists)? */
static bool dir_exists(const char *dir)
{
	struct stat st;
	int saved = errno;
	bool ok = shim_fstatat(AT_FDCWD, dir, &st, 0) == 0 && S_ISDIR(st.st_mode);

	errno = saved;
	return ok;
}

/*
 * glibc's __path_search: DIR/PFXXXXXXX into BUF, DIR from $TMPDIR (TRY_TMPDIR),
 * then DIR, then P_tmpdir, then /tmp, the first that is a directory in the
 * union's view; PFX at most 5 bytes, "file" when empty. Returns 0 or -errno.
 */
static int path_search(char *buf, size_t size, const char *dir, const char *pfx, bool try_tmpdir)
{
	size_t dlen, plen;
	int n;

	if (try_tmpdir) {
		const char *d = secure_getenv("TMPDIR");

		if (d && dir_exists(d))
			dir = d;
		else if (!dir || !dir_exists(dir))
			dir = NULL;
	}
	if (!dir) {
		if (dir_exists(P_tmpdir))
			dir = P_tmpdir;
		else if (strcmp(P_tmpdir, "/tmp") && dir_exists("/tmp"))
			dir = "/tmp";
		else
			return -ENOENT;
	}
	dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (!pfx || !*pfx)
		pfx = "file";
	plen = strlen(pfx);
	if (plen > 5)
		plen = 5;
	n = snprintf(buf, size, "%.*s/%.*sXXXXXX", (int)dlen, dir, (int)plen, pfx);
	return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}

/* Would glibc's own search for these arguments stay outside every union? */
static bool search_outside(const char *dir, bool try_tmpdir)
{
	const char *d = try_tmpdir ? secure_getenv("TMPDIR") : NULL;

	return !(d && in_union(d)) && !(dir && in_union(dir)) && !in_union(P_tmpdir) &&
	       !in_union("/tmp");
}

char *shim_tempnam(const char *dir, const char *pfx)
{
	char buf[PATH_MAX];
	int saved, r;
	char *out;

	dir = AUFS_LAUNDER(dir);
	pfx = AUFS_LAUNDER(pfx);
	/* unreadable names are glibc's to read (and crash on) */
	if (!shim_enter(&saved) || (dir && !aufs_path_ok(dir)) ||
	    (pfx && aufs_guard_strnlen(pfx, 1) == (size_t)-1) || search_outside(dir, true))
		return REAL(tempnam)(dir, pfx);
	r = path_search(buf, sizeof(buf), dir, pfx, true);
	if (r == 0)
		r = pick_name(buf, buf + strlen(buf) - 6);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	out = strdup(buf);
	if (out)
		errno = saved;
	return out;
}

char *shim_tmpnam_r(char s[L_tmpnam])
{
	char buf[L_tmpnam];
	int saved, r;

	if (!shim_enter(&saved) || !s || search_outside(NULL, false))
		return REAL(tmpnam_r)(s);
	r = path_search(buf, sizeof(buf), NULL, NULL, false);
	if (r == 0)
		r = pick_name(buf, buf + strlen(buf) - 6);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	memcpy(s, buf, strlen(buf) + 1);
	errno = saved;
	return s;
}

char *shim_tmpnam(char s[L_tmpnam])
{
	/* tmpnam(NULL) answers in a static buffer: the interface's, as glibc's own */
	static char result[L_tmpnam];
	char buf[L_tmpnam];

	if (!shim_enter(NULL) || search_outside(NULL, false))
		return REAL(tmpnam)(s);
	if (!shim_tmpnam_r(buf))
		return NULL;
	memcpy(s ? s : result, buf, strlen(buf) + 1);
	return s ? s : result;
}
