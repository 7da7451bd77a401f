/* SPDX-License-Identifier: MIT */
/*
 * state_config.c - from text to union table: the aufs mount option string, fstab
 * lines and files, and the checks between the unions of one configuration.
 *
 * The syntax is aufs(5)'s ("br:DIR[=PERM[+ATTR]]:...,flag,..."). Where the
 * manual lets aufs silently fall back (an unknown permission becomes "ro"), we
 * refuse with one precise line instead: a typo in a tenant's configuration
 * should stop the program before it runs, not show it the wrong files.
 *
 * Configurations are built at start-up and on AUFS_FSTAB changes, possibly in a
 * program that has the library preloaded, so every file access here is a raw
 * system call (include/aufs/sys.h) and errno is never read.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/vfs.h>

#include "internal.h"

/* statfs(2) magics of natively read-only file systems: their branches default to rr. */
#define MAGIC_SQUASHFS   0x73717368u
#define MAGIC_ISOFS      0x9660u
#define MAGIC_CRAMFS     0x28cd3d45u
#define MAGIC_CRAMFS_WE  0x453dcd28u	/* cramfs of the other endianness */
#define MAGIC_ROMFS      0x7275u
#define MAGIC_EROFS      0xe0f5e1e2u

#define DEFAULT_DIRWH      3
#define DEFAULT_CREATE_SEC 30
#define FSTAB_MAX          (64u << 20)	/* 100,000 tenants with long paths: 20 MiB */

/* ---------------------------------------------------------------- helpers */

static int fail(struct aufs_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Record CODE and one line of message. Paths may hold any byte (a decoded \012
 * is a newline), and the caller prints the message as one line on stderr, so
 * control characters are replaced.
 */
static int fail(struct aufs_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	err->code = code;
	return code;
}

static void err_clear(struct aufs_err *err)
{
	err->code = 0;
	err->msg[0] = 0;
}

static const char *errstr(int code)
{
	/* strerror() is not interposed; it only formats. */
	return strerror(-code);
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/*
 * Copy S to OUT decoding the \NNN octal escapes of fstab(5), which our own
 * aufs_union_format() also uses for ':' ',' '=' in branch paths. A backslash
 * not followed by three octal digits of a non-zero byte stays literal, so a
 * path typed on a command line is taken as it is. Returns the length or
 * -ENAMETOOLONG.
 */
static int decode(const char *s, char *out, size_t size)
{
	size_t n = 0;

	while (*s) {
		char c = *s++;

		if (c == '\\' && is_octal(s[0]) && is_octal(s[1]) && is_octal(s[2])) {
			unsigned v = (unsigned)(s[0] - '0') * 64 + (unsigned)(s[1] - '0') * 8 +
				     (unsigned)(s[2] - '0');

			if (v > 0 && v < 256) {
				c = (char)v;
				s += 3;
			}
		}
		if (n + 1 >= size)
			return -ENAMETOOLONG;
		out[n++] = c;
	}
	out[n] = 0;
	return (int)n;
}

/*
 * Lexical normalisation of the absolute path IN into OUT: "//" collapsed, "."
 * dropped, ".." pops (and stays at "/"), no trailing '/'. No file system
 * access: a mount point need not exist. Returns the length or -ENAMETOOLONG.
 */
static int normalise(const char *in, char *out, size_t size)
{
	size_t n = 1;
	int r;

	if (size < 2)
		return -ENAMETOOLONG;
	out[0] = '/';
	out[1] = 0;
	r = path_append_lexical(out, &n, size, in);
	return r < 0 ? r : (int)n;
}

/* Is P (length PLEN) equal to or below directory D (length DLEN), by component? */
static bool path_within(const char *p, size_t plen, const char *d, size_t dlen)
{
	if (dlen == 1 && d[0] == '/')
		return p[0] == '/';
	return plen >= dlen && memcmp(p, d, dlen) == 0 && (plen == dlen || p[dlen] == '/');
}

/* A decimal number without sign, no larger than MAX. */
static bool parse_ull(const char *s, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret = v;
	return true;
}

/* negttl= not given (yet): a value no option can set */
#define NEGTTL_UNSET (AUFS_TTL_NEVER - 1)

static bool parse_uint(const char *s, unsigned *ret)
{
	unsigned long long v;

	if (!parse_ull(s, UINT_MAX, &v))
		return false;
	*ret = (unsigned)v;
	return true;
}

/* A byte count with an optional k/m/g suffix (powers of 1024), as mfsrr's LOW. */
static bool parse_size(const char *s, unsigned long long *ret)
{
	size_t n = strlen(s);
	unsigned shift = 0;
	char num[32];
	unsigned long long v;

	if (n == 0 || n >= sizeof(num))
		return false;
	switch (s[n - 1]) {
	case 'k': case 'K': shift = 10; n--; break;
	case 'm': case 'M': shift = 20; n--; break;
	case 'g': case 'G': shift = 30; n--; break;
	}
	memcpy(num, s, n);
	num[n] = 0;
	if (!parse_ull(num, ~0ULL >> shift, &v))
		return false;
	*ret = v << shift;
	return true;
}

/* ---------------------------------------------------------------- branches */

/*
 * A branch that no user but root may read or search (chmod 000, a tenant's branch
 * locked away) would serve root's processes and fail every other one file by
 * file: refused whole, so that a host table names the line (aufsctl reload).
 */
static int branch_unreadable(const struct stat *st, const char *given, struct aufs_err *err)
{
	if ((st->st_mode & 0444) && (st->st_mode & 0111))
		return 0;
	return fail(err, -EINVAL, "branch %s is unreadable (mode %04o): no user but root may read and search it",
		    given, (unsigned)(st->st_mode & 07777));
}

/*
 * Open branch directory GIVEN and fill BR's canonical path, dev and ino. The
 * kernel's own name of the opened directory (/proc/self/fd) resolves every
 * symlink without calling the interposed realpath(); without /proc the name is
 * normalised lexically instead.
 */
static int branch_open(struct aufs_branch *br, const char *given, bool *ret_rr,
		       struct aufs_err *err)
{
	char buf[PATH_MAX], proc[32];
	struct statfs sfs;
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = sys_openat(AT_FDCWD, given, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, fd, "branch %s: %s", given, errstr(fd));
	r = sys_fstat(fd, &st);
	if (r < 0) {
		fail(err, r, "branch %s: %s", given, errstr(r));
		goto out_close;
	}
	r = branch_unreadable(&st, given, err);
	if (r < 0)
		goto out_close;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	r = 0;
	n = sys_readlinkat(AT_FDCWD, proc, buf, sizeof(buf));
	if (n > 0 && (size_t)n < sizeof(buf) && buf[0] == '/') {
		buf[n] = 0;
	} else if (given[0] == '/') {
		r = normalise(given, buf, sizeof(buf));
	} else {
		char cwd[PATH_MAX];
		long c = sys_getcwd(cwd, sizeof(cwd));
		size_t clen;

		r = (int)c;
		if (c > 0) {
			clen = strlen(cwd);
			r = -ENAMETOOLONG;
			if (clen + 1 + strlen(given) < sizeof(cwd)) {
				cwd[clen] = '/';
				memcpy(cwd + clen + 1, given, strlen(given) + 1);
				r = normalise(cwd, buf, sizeof(buf));
			}
		}
	}
	if (r < 0) {
		fail(err, r, "branch %s: %s", given, errstr(r));
		goto out_close;
	}
	br->path = strdup(buf);
	if (!br->path) {
		r = fail(err, -ENOMEM, "out of memory");
		goto out_close;
	}
	br->len = strlen(buf);
	br->dev = st.st_dev;
	br->ino = st.st_ino;
	/*
	 * statfs through the fd's /proc name looks at the very directory opened;
	 * without statfs at all the branch simply keeps the ro/rw default.
	 */
	*ret_rr = false;
	if (sys_statfs(proc, &sfs) == 0 || sys_statfs(buf, &sfs) == 0) {
		switch ((uint32_t)sfs.f_type) {
		case MAGIC_SQUASHFS:
		case MAGIC_ISOFS:
		case MAGIC_CRAMFS:
		case MAGIC_CRAMFS_WE:
		case MAGIC_ROMFS:
		case MAGIC_EROFS:
			*ret_rr = true;
		}
	}
	r = 0;
out_close:
	(void)sys_close(fd);	/* an O_PATH fd has nothing to flush */
	return r;
}

/*
 * A host table names its base in every line: while one fstab is parsed, a branch
 * directory given again is not opened again (5 system calls each).
 */
struct branch_memo {
	uint32_t mask, count;
	struct memo_entry {
		char *given;		/* NULL: empty */
		struct aufs_branch br;	/* path owned by the memo */
		bool rr;
	} *slot;
};

static __thread struct branch_memo *memo;

static struct memo_entry *memo_slot(const char *given)
{
	uint64_t h = fnv1a(FNV_INIT, given, strlen(given));

	for (uint32_t i = (uint32_t)h & memo->mask;; i = (i + 1) & memo->mask)
		if (!memo->slot[i].given || !strcmp(memo->slot[i].given, given))
			return &memo->slot[i];
}

static bool memo_grow(void)
{
	struct branch_memo old = *memo;
	uint32_t n = old.mask ? (old.mask + 1) * 2 : 256;

	memo->slot = calloc(n, sizeof(*memo->slot));
	if (!memo->slot) {
		*memo = old;
		return false;
	}
	memo->mask = n - 1;
	for (uint32_t i = 0; old.slot && i <= old.mask; i++)
		if (old.slot[i].given)
			*memo_slot(old.slot[i].given) = old.slot[i];
	free(old.slot);
	return true;
}

static void memo_release(struct branch_memo *m)
{
	for (uint32_t i = 0; m->slot && i <= m->mask; i++) {
		free(m->slot[i].given);
		free(m->slot[i].br.path);
	}
	free(m->slot);
}

static int branch_open_memo(struct aufs_branch *br, const char *given, bool *ret_rr,
			    struct aufs_err *err)
{
	struct memo_entry *e;
	char *path;
	int r;

	if (!memo || given[0] != '/')
		return branch_open(br, given, ret_rr, err);
	if ((memo->count + 1) * 2 > memo->mask && !memo_grow())
		return branch_open(br, given, ret_rr, err);
	e = memo_slot(given);
	if (e->given) {
		path = strdup(e->br.path);
		if (!path)
			return fail(err, -ENOMEM, "out of memory");
		br->path = path;
		br->len = e->br.len;
		br->dev = e->br.dev;
		br->ino = e->br.ino;
		*ret_rr = e->rr;
		return 0;
	}
	r = branch_open(br, given, ret_rr, err);
	if (r < 0)
		return r;
	e->given = strdup(given);
	e->br = *br;
	e->br.path = strdup(br->path);
	e->rr = *ret_rr;
	if (!e->given || !e->br.path) {
		free(e->given);
		free(e->br.path);
		e->given = NULL;	/* remembered or not, the branch itself is fine */
	} else {
		memo->count++;
	}
	return 0;
}

/* One "DIR[=PERM[+ATTR]]" entry (modified in place) becomes branch IDX of U. */
static int parse_branch(struct aufs_union *u, int idx, char *entry, const char *options,
			struct aufs_err *err)
{
	struct aufs_branch *br = &u->branch[idx];
	char *eq = strrchr(entry, '='), *perm = NULL, *attr = NULL;
	char path[PATH_MAX];
	bool rr = false;
	int r;

	/* The last '=' splits: a path can only hold a raw '=' if PERM follows. */
	if (eq) {
		*eq = 0;
		perm = eq + 1;
		attr = strchr(perm, '+');
		if (attr)
			*attr++ = 0;
	}
	r = decode(entry, path, sizeof(path));
	if (r < 0)
		return fail(err, r, "branch %.64s...: %s", entry, errstr(r));
	if (r == 0)
		return fail(err, -EINVAL, "branch %d has an empty path in \"%s\"", idx + 1,
			    options);
	if (perm) {
		if (strcmp(perm, "rw") == 0)
			br->perm = AUFS_PERM_RW;
		else if (strcmp(perm, "ro") == 0)
			br->perm = AUFS_PERM_RO;
		else if (strcmp(perm, "rr") == 0)
			br->perm = AUFS_PERM_RR;
		else
			return fail(err, -EINVAL, "unknown permission \"%s\" for branch %s",
				    perm, path);
	}
	if (attr) {
		if (strcmp(attr, "wh") == 0) {
			if (br->perm == AUFS_PERM_RW)
				return fail(err, -EINVAL,
					    "attribute \"wh\" needs permission ro or rr for branch %s",
					    path);
			br->attr = AUFS_BRATTR_WH;
		} else if (strcmp(attr, "nolwh") == 0) {
			if (br->perm != AUFS_PERM_RW)
				return fail(err, -EINVAL,
					    "attribute \"nolwh\" needs permission rw for branch %s",
					    path);
			br->attr = AUFS_BRATTR_NOLWH;
		} else {
			return fail(err, -EINVAL, "unknown attribute \"%s\" for branch %s", attr,
				    path);
		}
	}
	r = branch_open_memo(br, path, &rr, err);
	if (r < 0)
		return r;
	/* aufs(5): the first branch defaults to rw, the others to ro; rr on read-only fs. */
	if (!perm)
		br->perm = rr ? AUFS_PERM_RR : idx == 0 ? AUFS_PERM_RW : AUFS_PERM_RO;
	return 0;
}

/* The branch list of "br:" / "dirs=", split on ':' in place. */
static int parse_branches(struct aufs_union *u, char *list, const char *options,
			  struct aufs_err *err)
{
	int count = 1, r;
	char *entry = list;

	for (const char *p = list; *p; p++)
		count += *p == ':';
	if (count > AUFS_BRANCH_MAX)
		return fail(err, -EINVAL, "too many branches (%d, at most %d)", count,
			    AUFS_BRANCH_MAX);
	for (int i = 0; i < count; i++) {
		char *next = strchr(entry, ':');

		if (next)
			*next++ = 0;
		r = parse_branch(u, i, entry, options, err);
		if (r < 0)
			return r;
		u->nbranch = i + 1;
		entry = next;
	}
	/*
	 * aufs(5) rejects a branch that is an ancestor or a descendant of another:
	 * a lookup would see the same files twice, and a whiteout in one would
	 * hide or show files of the other. Bind mounts of one directory give the
	 * same dev/ino under two names.
	 */
	for (int i = 0; i < u->nbranch; i++) {
		const struct aufs_branch *a = &u->branch[i];

		for (int j = i + 1; j < u->nbranch; j++) {
			const struct aufs_branch *b = &u->branch[j];

			if (a->len == b->len && strcmp(a->path, b->path) == 0)
				return fail(err, -EINVAL, "branch %s is given twice", a->path);
			if (path_within(a->path, a->len, b->path, b->len) ||
			    path_within(b->path, b->len, a->path, a->len))
				return fail(err, -EINVAL, "branches %s and %s overlap", a->path,
					    b->path);
			if (a->dev == b->dev && a->ino == b->ino)
				return fail(err, -EINVAL,
					    "branches %s and %s are the same directory", a->path,
					    b->path);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- options */

static int bad_value(struct aufs_err *err, const char *name, const char *val)
{
	return fail(err, -EINVAL, "unknown value \"%s\" in \"%s=%s\"", val, name, val);
}

/* The optional ":SEC" of mfs/pmfs/mfsrr; ARG is NULL when absent. */
static bool parse_sec(const char *arg, unsigned *ret)
{
	if (!arg) {
		*ret = DEFAULT_CREATE_SEC;
		return true;
	}
	return parse_uint(arg, ret);
}

/* create=tdp|rr|mfs[:SEC]|mfsrr:LOW[:SEC]|pmfs[:SEC], and the long names of aufs(5). */
static int parse_create(struct aufs_opts *o, const char *name, char *val, struct aufs_err *err)
{
	char *arg = strchr(val, ':'), *sec;
	size_t vlen = strlen(val);
	char orig[128];
	bool ok;

	/* For the message: VAL is cut at its ':'s below. */
	if (vlen >= sizeof(orig))
		vlen = sizeof(orig) - 1;
	memcpy(orig, val, vlen);
	orig[vlen] = 0;
	if (arg)
		*arg++ = 0;
	o->create_low = 0;
	o->create_sec = DEFAULT_CREATE_SEC;
	if (strcmp(val, "tdp") == 0 || strcmp(val, "top-down-parent") == 0) {
		o->create = AUFS_CREATE_TDP;
		ok = !arg;
	} else if (strcmp(val, "rr") == 0 || strcmp(val, "round-robin") == 0) {
		o->create = AUFS_CREATE_RR;
		ok = !arg;
	} else if (strcmp(val, "mfs") == 0 || strcmp(val, "most-free-space") == 0) {
		o->create = AUFS_CREATE_MFS;
		ok = parse_sec(arg, &o->create_sec);
	} else if (strcmp(val, "pmfs") == 0 || strcmp(val, "parent-most-free-space") == 0) {
		o->create = AUFS_CREATE_PMFS;
		ok = parse_sec(arg, &o->create_sec);
	} else if (strcmp(val, "mfsrr") == 0 ||
		   strcmp(val, "most-free-space-round-robin") == 0) {
		o->create = AUFS_CREATE_MFSRR;
		if (!arg)
			return fail(err, -EINVAL, "create=%s needs a low watermark (%s:LOW[:SEC])",
				    val, val);
		sec = strchr(arg, ':');
		if (sec)
			*sec++ = 0;
		ok = parse_size(arg, &o->create_low) && parse_sec(sec, &o->create_sec);
	} else {
		ok = false;
	}
	return ok ? 0 : bad_value(err, name, orig);
}

static int parse_cpup(struct aufs_opts *o, const char *name, const char *val,
		      struct aufs_err *err)
{
	if (strcmp(val, "tdp") == 0 || strcmp(val, "top-down-parent") == 0)
		o->cpup = AUFS_CPUP_TDP;
	else if (strcmp(val, "bup") == 0 || strcmp(val, "bottom-up-parent") == 0)
		o->cpup = AUFS_CPUP_BUP;
	else if (strcmp(val, "bu") == 0 || strcmp(val, "bottom-up") == 0)
		o->cpup = AUFS_CPUP_BU;
	else
		return bad_value(err, name, val);
	return 0;
}

static int parse_xino(struct aufs_opts *o, const char *val, struct aufs_err *err)
{
	char path[PATH_MAX], norm[PATH_MAX];
	int r;
	char *s;

	r = decode(val, path, sizeof(path));
	if (r >= 0 && path[0] != '/')
		return fail(err, -EINVAL, "xino file \"%s\" is not an absolute path", val);
	if (r >= 0)
		r = normalise(path, norm, sizeof(norm));
	if (r < 0)
		return fail(err, r, "xino file %.64s...: %s", val, errstr(r));
	s = strdup(norm);
	if (!s)
		return fail(err, -ENOMEM, "out of memory");
	free(o->xino);
	o->xino = s;
	o->flags &= ~(unsigned)AUFS_OPT_NOXINO;
	return 0;
}

/* Options that take "=VALUE". Returns 1 when NAME is not one of them. */
static int parse_valued(struct aufs_opts *o, const char *name, char *val, struct aufs_err *err)
{
	if (strcmp(name, "xino") == 0)
		return parse_xino(o, val, err);
	if (strcmp(name, "create") == 0 || strcmp(name, "create_policy") == 0)
		return parse_create(o, name, val, err);
	if (strcmp(name, "cpup") == 0 || strcmp(name, "copyup") == 0 ||
	    strcmp(name, "copyup_policy") == 0)
		return parse_cpup(o, name, val, err);
	if (strcmp(name, "udba") == 0) {
		if (strcmp(val, "none") == 0)
			o->udba = AUFS_UDBA_NONE;
		else if (strcmp(val, "reval") == 0)
			o->udba = AUFS_UDBA_REVAL;
		else if (strcmp(val, "inotify") == 0)
			o->udba = AUFS_UDBA_INOTIFY;
		else
			return bad_value(err, name, val);
		return 0;
	}
	if (strcmp(name, "negttl") == 0 || strcmp(name, "posttl") == 0) {
		unsigned *ttl = name[0] == 'n' ? &o->negttl : &o->posttl;

		if (strcmp(val, "never") == 0)
			*ttl = AUFS_TTL_NEVER;
		else if (!parse_uint(val, ttl) || *ttl >= NEGTTL_UNSET)
			return fail(err, -EINVAL,
				    "\"%s=%s\": the value is milliseconds or \"never\"", name, val);
		return 0;
	}
	if (strcmp(name, "dirwh") == 0) {
		if (!parse_uint(val, &o->dirwh))
			return bad_value(err, name, val);
		return 0;
	}
	if (strcmp(name, "diropq") == 0) {
		if (strcmp(val, "w") == 0 || strcmp(val, "whiteouted") == 0)
			o->flags &= ~(unsigned)AUFS_OPT_DIROPQ_A;
		else if (strcmp(val, "a") == 0 || strcmp(val, "always") == 0)
			o->flags |= AUFS_OPT_DIROPQ_A;
		else
			return bad_value(err, name, val);
		return 0;
	}
	if (strcmp(name, "coo") == 0) {
		if (strcmp(val, "none") == 0)
			o->coo = AUFS_COO_NONE;
		else if (strcmp(val, "leaf") == 0)
			o->coo = AUFS_COO_LEAF;
		else if (strcmp(val, "all") == 0)
			o->coo = AUFS_COO_ALL;
		else
			return bad_value(err, name, val);
		return 0;
	}
	return 1;
}

struct flag_opt {
	const char *name;
	unsigned set, clear;
};

/* Flags without a value; later ones win, as at aufs mount time. */
static const struct flag_opt flag_opts[] = {
	{ "noxino",      AUFS_OPT_NOXINO,      0 },
	{ "trunc_xib",   AUFS_OPT_TRUNC_XIB,   0 },
	{ "notrunc_xib", 0,                    AUFS_OPT_TRUNC_XIB },
	{ "plink",       AUFS_OPT_PLINK,       0 },
	{ "noplink",     0,                    AUFS_OPT_PLINK },
	{ "clean_plink", AUFS_OPT_CLEAN_PLINK, 0 },
	{ "shwh",        AUFS_OPT_SHWH,        0 },
	{ "noshwh",      0,                    AUFS_OPT_SHWH },
	{ "warn_perm",   AUFS_OPT_WARN_PERM,   0 },
	{ "nowarn_perm", 0,                    AUFS_OPT_WARN_PERM },
	{ "dirperm1",    AUFS_OPT_DIRPERM1,    0 },
	{ "nodirperm1",  0,                    AUFS_OPT_DIRPERM1 },
	{ "verbose",     AUFS_OPT_VERBOSE,     AUFS_OPT_QUIET },
	{ "v",           AUFS_OPT_VERBOSE,     AUFS_OPT_QUIET },
	{ "noverbose",   AUFS_OPT_QUIET,       AUFS_OPT_VERBOSE },
	{ "quiet",       AUFS_OPT_QUIET,       AUFS_OPT_VERBOSE },
	{ "q",           AUFS_OPT_QUIET,       AUFS_OPT_VERBOSE },
	{ "silent",      AUFS_OPT_QUIET,       AUFS_OPT_VERBOSE },
	/* Delegation to kernel threads has no meaning in a process: accepted, ignored. */
	{ "dlgt",        0,                    0 },
	{ "nodlgt",      0,                    0 },
};

/* The names parse_valued() knows, to tell "udba" from an unknown word. */
static const char *const valued_opts[] = {
	"xino", "create", "create_policy", "cpup", "copyup", "copyup_policy", "udba",
	"dirwh", "diropq", "coo", "negttl", "posttl",
};

/* Branch-table edits of aufs(5) that only make sense on a live union. */
static const char *const remount_opts[] = {
	"remount", "add", "ins", "append", "prepend", "del", "mod", "imod",
};

/*
 * One comma-separated option TOK (modified in place). A branch list is only
 * remembered in *BRS: the branches are opened after all flags parsed cleanly.
 */
static int parse_option(struct aufs_opts *o, char *tok, const char *options, char **brs,
			struct aufs_err *err)
{
	size_t nlen = strcspn(tok, "=:");
	int r;

	if (strncmp(tok, "br:", 3) == 0 || strncmp(tok, "br=", 3) == 0 ||
	    strncmp(tok, "dirs=", 5) == 0) {
		if (*brs)
			return fail(err, -EINVAL, "more than one branch list (\"%s\") in \"%s\"",
				    tok, options);
		*brs = tok + (tok[0] == 'b' ? 3 : 5);
		return 0;
	}
	for (size_t i = 0; i < sizeof(remount_opts) / sizeof(remount_opts[0]); i++)
		if (strlen(remount_opts[i]) == nlen && memcmp(tok, remount_opts[i], nlen) == 0)
			return fail(err, -EINVAL, "option \"%s\" is only valid with remount", tok);
	if (tok[nlen] == '=') {
		tok[nlen] = 0;
		r = parse_valued(o, tok, tok + nlen + 1, err);
		if (r <= 0)
			return r;
		tok[nlen] = '=';
	} else if (!tok[nlen]) {
		for (size_t i = 0; i < sizeof(flag_opts) / sizeof(flag_opts[0]); i++) {
			if (strcmp(tok, flag_opts[i].name) == 0) {
				o->flags = (o->flags & ~flag_opts[i].clear) | flag_opts[i].set;
				if (flag_opts[i].set & AUFS_OPT_NOXINO) {
					free(o->xino);
					o->xino = NULL;
				}
				return 0;
			}
		}
		for (size_t i = 0; i < sizeof(valued_opts) / sizeof(valued_opts[0]); i++)
			if (strcmp(tok, valued_opts[i]) == 0)
				return fail(err, -EINVAL, "option \"%s\" needs a value (%s=...)",
					    tok, tok);
	}
	return fail(err, -EINVAL, "unknown option \"%s\" in \"%s\"", tok, options);
}

static void opts_init(struct aufs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->flags = AUFS_OPT_PLINK | AUFS_OPT_WARN_PERM;
	o->udba = AUFS_UDBA_REVAL;
	o->create = AUFS_CREATE_TDP;
	o->create_sec = DEFAULT_CREATE_SEC;
	o->cpup = AUFS_CPUP_TDP;
	o->coo = AUFS_COO_NONE;
	o->dirwh = DEFAULT_DIRWH;
	o->negttl = NEGTTL_UNSET;	/* the default depends on udba= (aufs_union_parse()) */
	o->posttl = AUFS_TTL_NEVER;
}

int aufs_union_parse(const char *options, const char *mnt, struct aufs_union **ret,
		     struct aufs_err *err)
{
	char path[PATH_MAX], norm[PATH_MAX];
	struct aufs_err dummy;
	struct aufs_union *u;
	char *copy, *tok, *brs = NULL;
	int r;

	if (!err)
		err = &dummy;
	err_clear(err);
	if (!options || !mnt)
		return fail(err, -EINVAL, "no %s given", options ? "mount point" : "options");
	r = decode(mnt, path, sizeof(path));
	if (r >= 0 && path[0] != '/')
		return fail(err, -EINVAL, "mount point \"%s\" is not an absolute path", mnt);
	if (r >= 0)
		r = normalise(path, norm, sizeof(norm));
	if (r < 0)
		return fail(err, r, "mount point %.64s...: %s", mnt, errstr(r));

	u = calloc(1, sizeof(*u) + AUFS_BRANCH_MAX * sizeof(u->branch[0]));
	copy = strdup(options);
	if (!u || !copy) {
		r = fail(err, -ENOMEM, "out of memory");
		goto out_free;
	}
	opts_init(&u->opts);
	u->mnt = strdup(norm);
	if (!u->mnt) {
		r = fail(err, -ENOMEM, "out of memory");
		goto out_free;
	}
	u->mnt_len = strlen(norm);

	/* Empty items ("a,,b", a trailing comma) are skipped, as mount(8) does. */
	for (tok = copy; tok; ) {
		char *next = strchr(tok, ',');

		if (next)
			*next++ = 0;
		if (*tok) {
			r = parse_option(&u->opts, tok, options, &brs, err);
			if (r < 0)
				goto out_free;
		}
		tok = next;
	}
	/*
	 * udba=none trusts what it looked up for good, as aufs(5)'s none does: a miss
	 * too, until a change through the union or aufsctl reval, unless negttl= says
	 */
	if (u->opts.negttl == NEGTTL_UNSET)
		u->opts.negttl = u->opts.udba == AUFS_UDBA_NONE ? AUFS_TTL_NEVER
								: AUFS_DEFAULT_NEGTTL;
	if (!brs) {
		r = fail(err, -EINVAL, "no branches (br:DIR[:DIR...]) in \"%s\"", options);
		goto out_free;
	}
	r = parse_branches(u, brs, options, err);
	if (r < 0)
		goto out_free;
	free(copy);
	/* a host table holds thousands of unions: keep only the branches given */
	{
		struct aufs_union *small = realloc(u, sizeof(*u) +
						   (size_t)u->nbranch * sizeof(u->branch[0]));

		if (small)
			u = small;
	}
	*ret = u;
	return 0;

out_free:
	free(copy);
	aufs_union_free(u);
	return r;
}

void aufs_union_free(struct aufs_union *u)
{
	if (!u || u->from_table)
		return;
	/*
	 * NEEDSWORK: u->shm is not detached: state_shm.c has no detach, and a union is only
	 * freed before it was published (a published table is never freed).
	 */
	for (int i = 0; i < u->nbranch; i++)
		free(u->branch[i].path);
	free(u->opts.xino);
	free(u->mnt);
	free(u);
}

/* ---------------------------------------------------------------- format */

struct out {
	char *buf;
	size_t size, len;	/* len keeps counting past size: the length needed */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n < o->size)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/*
 * Write S with fstab(5)'s octal escapes for blanks, backslash and control
 * characters, plus those of SPECIAL (the separators of the option syntax), so
 * that decode() gives S back.
 */
static void put_escaped(struct out *o, const char *s, const char *special)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == '\\' || c == 0x7f || strchr(special, c)) {
			char e[5] = { '\\', (char)('0' + (c >> 6)), (char)('0' + ((c >> 3) & 7)),
				      (char)('0' + (c & 7)), 0 };

			put(o, e, 4);
		} else {
			put(o, s, 1);
		}
	}
}

static const char *const perm_names[] = { "rw", "ro", "rr" };
static const char *const udba_names[] = { "reval", "none", "inotify" };
static const char *const create_names[] = { "tdp", "rr", "mfs", "mfsrr", "pmfs" };
static const char *const cpup_names[] = { "tdp", "bup", "bu" };
static const char *const coo_names[] = { "none", "leaf", "all" };

#define NAME(tab, v) ((unsigned)(v) < sizeof(tab) / sizeof(tab[0]) ? tab[v] : "?")

int aufs_union_format(const struct aufs_union *u, char *buf, size_t size)
{
	const struct aufs_opts *o = &u->opts;
	struct out out = { buf, size, 0 };

	puts_(&out, "none ");
	put_escaped(&out, u->mnt, "");
	puts_(&out, " aufs br:");
	/* Every permission is written out: the rr default depends on the file system. */
	for (int i = 0; i < u->nbranch; i++) {
		const struct aufs_branch *br = &u->branch[i];

		if (i)
			puts_(&out, ":");
		put_escaped(&out, br->path, ":,=#");
		puts_(&out, "=");
		puts_(&out, NAME(perm_names, br->perm));
		if (br->attr & AUFS_BRATTR_WH)
			puts_(&out, "+wh");
		else if (br->attr & AUFS_BRATTR_NOLWH)
			puts_(&out, "+nolwh");
	}
	/* Only what differs from the defaults, in a fixed order. */
	if (o->xino) {
		puts_(&out, ",xino=");
		put_escaped(&out, o->xino, ":,=#");
	}
	if (o->flags & AUFS_OPT_NOXINO)
		puts_(&out, ",noxino");
	if (o->flags & AUFS_OPT_TRUNC_XIB)
		puts_(&out, ",trunc_xib");
	if (o->udba != AUFS_UDBA_REVAL)
		putf(&out, ",udba=%s", NAME(udba_names, o->udba));
	switch (o->create) {
	case AUFS_CREATE_TDP:
		break;
	case AUFS_CREATE_RR:
		puts_(&out, ",create=rr");
		break;
	case AUFS_CREATE_MFSRR:
		putf(&out, ",create=mfsrr:%llu:%u", o->create_low, o->create_sec);
		break;
	default:
		putf(&out, ",create=%s:%u", NAME(create_names, o->create), o->create_sec);
		break;
	}
	if (o->cpup != AUFS_CPUP_TDP)
		putf(&out, ",cpup=%s", NAME(cpup_names, o->cpup));
	if (!(o->flags & AUFS_OPT_PLINK))
		puts_(&out, ",noplink");
	if (o->flags & AUFS_OPT_CLEAN_PLINK)
		puts_(&out, ",clean_plink");
	if (o->dirwh != DEFAULT_DIRWH)
		putf(&out, ",dirwh=%u", o->dirwh);
	if (o->flags & AUFS_OPT_DIROPQ_A)
		puts_(&out, ",diropq=a");
	/* the default is udba='s: never for none, AUFS_DEFAULT_NEGTTL otherwise */
	if (o->negttl == (o->udba == AUFS_UDBA_NONE ? AUFS_TTL_NEVER : AUFS_DEFAULT_NEGTTL))
		;
	else if (o->negttl == AUFS_TTL_NEVER)
		puts_(&out, ",negttl=never");
	else
		putf(&out, ",negttl=%u", o->negttl);
	if (o->posttl != AUFS_TTL_NEVER)
		putf(&out, ",posttl=%u", o->posttl);
	if (o->coo != AUFS_COO_NONE)
		putf(&out, ",coo=%s", NAME(coo_names, o->coo));
	if (o->flags & AUFS_OPT_SHWH)
		puts_(&out, ",shwh");
	if (!(o->flags & AUFS_OPT_WARN_PERM))
		puts_(&out, ",nowarn_perm");
	if (o->flags & AUFS_OPT_DIRPERM1)
		puts_(&out, ",dirperm1");
	if (o->flags & AUFS_OPT_VERBOSE)
		puts_(&out, ",verbose");
	if (o->flags & AUFS_OPT_QUIET)
		puts_(&out, ",quiet");
	puts_(&out, " 0 0");
	if (out.len >= size || out.len > INT_MAX)
		return -ENAMETOOLONG;
	buf[out.len] = 0;
	return (int)out.len;
}

/* ---------------------------------------------------------------- remount */

/*
 * The option string of a union after a remount: aufs(5) applies remount options
 * from left to right, to the branch list and to the flags. Works on the text of
 * the options as an fstab holds it (escapes kept), so that the result is a line
 * that aufs_union_parse() checks like any other; branches given here (raw paths)
 * are escaped on the way in.
 */
#define REMOUNT_MAX_ITEMS (AUFS_BRANCH_MAX + 1)

/* The options other than the branch list, in their order. */
struct tok_list {
	char **tok;
	size_t n;
};

static int tok_add(struct tok_list *t, const char *tok)
{
	char **nt = realloc(t->tok, (t->n + 1) * sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	t->tok = nt;
	t->tok[t->n] = strdup(tok);
	if (!t->tok[t->n])
		return -ENOMEM;
	t->n++;
	return 0;
}

static void tok_free(struct tok_list *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->tok[i]);
	free(t->tok);
}

struct rm_list {
	char *br[REMOUNT_MAX_ITEMS];	/* "PATH[=PERM[+ATTR]]", escaped */
	/*
	 * The branch had no permission in the line: it got the default of its place
	 * (rw first, ro after), which it keeps wherever the remount moves it.
	 */
	signed char implicit[REMOUNT_MAX_ITEMS];	/* 0 explicit, 1 was first, -1 was not */
	int n;
};

/* The decoded, normalised path of branch entry E (up to its last '='). */
static int entry_path(const char *e, char *out, size_t size)
{
	char raw[PATH_MAX], dec[PATH_MAX];
	const char *eq = strrchr(e, '=');
	size_t len = eq ? (size_t)(eq - e) : strlen(e);
	int r;

	if (len >= sizeof(raw))
		return -ENAMETOOLONG;
	memcpy(raw, e, len);
	raw[len] = 0;
	r = decode(raw, dec, sizeof(dec));
	if (r <= 0)
		return r < 0 ? r : -EINVAL;
	if (dec[0] != '/') {
		snprintf(out, size, "%s", dec);
		return 0;
	}
	return normalise(dec, out, size) < 0 ? -ENAMETOOLONG : 0;
}

/* BR given to a remount (raw) as a list entry, with fstab's escapes. */
static char *escape_entry(const char *br)
{
	struct out o = { NULL, 0, 0 };
	char *buf;

	put_escaped(&o, br, ",:");
	buf = malloc(o.len + 1);
	if (!buf)
		return NULL;
	o.buf = buf;
	o.size = o.len + 1;
	o.len = 0;
	put_escaped(&o, br, ",:");
	buf[o.len] = 0;
	return buf;
}

static int rm_find(const struct rm_list *l, const char *dir, struct aufs_err *err)
{
	char want[PATH_MAX], have[PATH_MAX];

	if (normalise(dir, want, sizeof(want)) < 0 && dir[0] == '/')
		return fail(err, -ENAMETOOLONG, "branch %.64s...: too long", dir);
	if (dir[0] != '/')
		snprintf(want, sizeof(want), "%s", dir);
	for (int i = 0; i < l->n; i++)
		if (entry_path(l->br[i], have, sizeof(have)) == 0 && !strcmp(have, want))
			return i;
	return fail(err, -ENOENT, "no branch %s", dir);
}

static int rm_insert(struct rm_list *l, int at, const char *raw, struct aufs_err *err)
{
	char *e;

	if (at < 0 || at > l->n)
		return fail(err, -EINVAL, "branch index %d out of range (0 to %d)", at, l->n);
	if (l->n >= AUFS_BRANCH_MAX)
		return fail(err, -EINVAL, "too many branches (at most %d)", AUFS_BRANCH_MAX);
	if (!*raw)
		return fail(err, -EINVAL, "an empty branch");
	e = escape_entry(raw);
	if (!e)
		return fail(err, -ENOMEM, "out of memory");
	/* aufs(5): without a permission, the first branch is rw and the others ro */
	if (!strchr(raw, '=')) {
		char *p = malloc(strlen(e) + 4);

		if (!p) {
			free(e);
			return fail(err, -ENOMEM, "out of memory");
		}
		sprintf(p, "%s=%s", e, at == 0 ? "rw" : "ro");
		free(e);
		e = p;
	}
	memmove(&l->br[at + 1], &l->br[at], (size_t)(l->n - at) * sizeof(l->br[0]));
	memmove(&l->implicit[at + 1], &l->implicit[at], (size_t)(l->n - at));
	l->br[at] = e;
	l->implicit[at] = 0;
	l->n++;
	return 0;
}

static int rm_action(struct rm_list *l, char *tok, struct tok_list *other,
		     struct aufs_err *err);

int aufs_remount_apply(const char *options, const char *actions, char **ret,
		       struct aufs_err *err)
{
	struct rm_list l = { .n = 0 };
	struct tok_list other = { NULL, 0 };
	struct aufs_err dummy;
	char *copy = NULL, *acts = NULL, *tok, *next;
	struct out o = { NULL, 0, 0 };
	int r = 0, writable = 0;

	if (!err)
		err = &dummy;
	err_clear(err);
	copy = strdup(options ? options : "");
	acts = strdup(actions ? actions : "");
	if (!copy || !acts) {
		r = fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* the union as it is: its branch list, and its other options in order */
	for (tok = copy; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = 0;
		if (!*tok)
			continue;
		if (!strncmp(tok, "br:", 3) || !strncmp(tok, "br=", 3) || !strncmp(tok, "dirs=", 5)) {
			char *e = tok + (tok[0] == 'b' ? 3 : 5), *colon;

			for (; e; e = colon) {
				colon = strchr(e, ':');
				if (colon)
					*colon++ = 0;
				if (l.n >= AUFS_BRANCH_MAX) {
					r = fail(err, -EINVAL, "too many branches");
					goto out;
				}
				if (!*e)
					continue;
				l.implicit[l.n] = strrchr(e, '=') ? 0 : l.n == 0 ? 1 : -1;
				if (!(l.br[l.n++] = strdup(e))) {
					r = fail(err, -ENOMEM, "out of memory");
					goto out;
				}
			}
			continue;
		}
		r = tok_add(&other, tok);
		if (r < 0) {
			fail(err, r, "out of memory");
			goto out;
		}
	}
	for (tok = acts; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = 0;
		if (!*tok || !strcmp(tok, "remount"))
			continue;
		r = rm_action(&l, tok, &other, err);
		if (r < 0)
			goto out;
	}
	for (int i = 0; i < l.n; i++) {
		const char *eq;

		/* a default permission stays what it was where the branch stood */
		if ((l.implicit[i] == 1 && i != 0) || (l.implicit[i] == -1 && i == 0)) {
			char *e = malloc(strlen(l.br[i]) + 4);

			if (!e) {
				r = fail(err, -ENOMEM, "out of memory");
				goto out;
			}
			sprintf(e, "%s=%s", l.br[i], l.implicit[i] == 1 ? "rw" : "ro");
			free(l.br[i]);
			l.br[i] = e;
		}
		eq = strrchr(l.br[i], '=');
		writable += (eq && !strncmp(eq + 1, "rw", 2)) || (!eq && i == 0);
	}
	if (!l.n) {
		r = fail(err, -EINVAL, "no branch left");
		goto out;
	}
	if (!writable && strstr(actions, "del:")) {
		r = fail(err, -EINVAL, "no writable branch left (del of the last one)");
		goto out;
	}
	/* the new option string: the branch list first, then the other options */
	for (int pass = 0; pass < 2; pass++) {
		o.len = 0;
		put(&o, "br:", 3);
		for (int i = 0; i < l.n; i++) {
			if (i)
				put(&o, ":", 1);
			puts_(&o, l.br[i]);
		}
		for (size_t i = 0; i < other.n; i++) {
			put(&o, ",", 1);
			puts_(&o, other.tok[i]);
		}
		if (pass == 0) {
			o.buf = malloc(o.len + 1);
			o.size = o.len + 1;
			if (!o.buf) {
				r = fail(err, -ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	o.buf[o.len] = 0;
	*ret = o.buf;
	r = 0;
out:
	for (int i = 0; i < l.n; i++)
		free(l.br[i]);
	tok_free(&other);
	free(copy);
	free(acts);
	return r;
}

/* ERR's message prefixed with the item it is about (a copy: fail() writes err->msg). */
static int prefix_fail(struct aufs_err *err, int code, const char *tok)
{
	char msg[sizeof(err->msg)];

	memcpy(msg, err->msg, sizeof(msg));
	return fail(err, code, "\"%s\": %s", tok, msg);
}

/* One remount item: a change of the branch list, or an option that replaces its kind. */
static int rm_action(struct rm_list *l, char *tok, struct tok_list *other,
		     struct aufs_err *err)
{
	char *arg;
	int i, r;

	if (!strncmp(tok, "add:", 4) || !strncmp(tok, "ins:", 4)) {
		char *end;
		long at = strtol(tok + 4, &end, 10);

		if (end == tok + 4 || *end != ':' || at < 0 || at > INT_MAX)
			return fail(err, -EINVAL, "\"%s\": expected %.3s:INDEX:BRANCH", tok, tok);
		r = rm_insert(l, (int)at, end + 1, err);
		return r < 0 ? prefix_fail(err, r, tok) : 0;
	}
	if (!strncmp(tok, "append:", 7) || !strncmp(tok, "prepend:", 8)) {
		bool pre = tok[0] == 'p';

		r = rm_insert(l, pre ? 0 : l->n, tok + (pre ? 8 : 7), err);
		return r < 0 ? prefix_fail(err, r, tok) : 0;
	}
	if (!strncmp(tok, "del:", 4)) {
		i = rm_find(l, tok + 4, err);
		if (i < 0)
			return prefix_fail(err, i, tok);
		free(l->br[i]);
		memmove(&l->br[i], &l->br[i + 1], (size_t)(l->n - i - 1) * sizeof(l->br[0]));
		memmove(&l->implicit[i], &l->implicit[i + 1], (size_t)(l->n - i - 1));
		l->n--;
		return 0;
	}
	if (!strncmp(tok, "mod:", 4) || !strncmp(tok, "imod:", 5)) {
		char *dir = tok + (tok[0] == 'i' ? 5 : 4), *e;

		arg = strrchr(dir, '=');
		if (!arg || !arg[1])
			return fail(err, -EINVAL, "\"%s\": expected mod:BRANCH=PERM", tok);
		*arg++ = 0;
		i = rm_find(l, dir, err);
		if (i < 0)
			return arg[-1] = '=', prefix_fail(err, i, tok);
		{
			const char *eq = strrchr(l->br[i], '=');
			size_t plen = eq ? (size_t)(eq - l->br[i]) : strlen(l->br[i]);

			e = malloc(plen + strlen(arg) + 2);
			if (!e)
				return fail(err, -ENOMEM, "out of memory");
			memcpy(e, l->br[i], plen);
			sprintf(e + plen, "=%s", arg);
		}
		free(l->br[i]);
		l->br[i] = e;
		l->implicit[i] = 0;
		return 0;
	}
	if (!strncmp(tok, "br:", 3) || !strncmp(tok, "br=", 3) || !strncmp(tok, "dirs=", 5)) {
		char *e = tok + (tok[0] == 'b' ? 3 : 5), *colon;

		for (int k = 0; k < l->n; k++)
			free(l->br[k]);
		l->n = 0;
		for (; e; e = colon) {
			colon = strchr(e, ':');
			if (colon)
				*colon++ = 0;
			if (*e && rm_insert(l, l->n, e, err) < 0)
				return prefix_fail(err, -EINVAL, tok);
		}
		return 0;
	}
	/* any other option: kept after the ones before it, which it overrides */
	r = tok_add(other, tok);
	return r < 0 ? fail(err, r, "out of memory") : 0;
}

/* ---------------------------------------------------------------- config */

void aufs_config_init(struct aufs_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}


/*
 * Is branch BR of union OWNER at or under the mount point of V? Inside the
 * library a branch below a mount point would be reached through the union
 * itself (aufs(5) calls that nested); the one exception is a union mounted on
 * one of its own branches, the manual's "br:/br1=rw:/base=rr none /br1", where
 * the branch is always reached underneath the union.
 */
static int check_branch(const struct aufs_union *owner, const struct aufs_branch *br,
			const struct aufs_union *v, struct aufs_err *err)
{
	if (!path_within(br->path, br->len, v->mnt, v->mnt_len))
		return 0;
	if (v == owner) {
		if (br->len == v->mnt_len)
			return 0;
		return fail(err, -EINVAL, "branch %s is inside its own mount point %s", br->path,
			    v->mnt);
	}
	if (br->len == v->mnt_len)
		return fail(err, -EINVAL, "branch %s is the mount point of another union",
			    br->path);
	return fail(err, -EINVAL, "branch %s is inside the mount point %s of another union",
		    br->path, v->mnt);
}

/*
 * aufs(5): "A branch should not be shared as the writable branch between
 * multiple aufs. A readonly branch can be shared." Two unions writing one
 * directory would change each other's view behind its back (a whiteout, a copy,
 * a removal of one is a direct branch change for the other). The same directory
 * under two names (a bind mount: the same dev/ino) and a writable branch inside
 * another union's writable branch are sharing too.
 */
static int check_shared_rw(const struct aufs_union *u, const struct aufs_union *v,
			   struct aufs_err *err)
{
	for (int i = 0; i < u->nbranch; i++) {
		const struct aufs_branch *a = &u->branch[i];

		if (a->perm != AUFS_PERM_RW)
			continue;
		for (int j = 0; j < v->nbranch; j++) {
			const struct aufs_branch *b = &v->branch[j];

			if (b->perm != AUFS_PERM_RW)
				continue;
			if ((a->dev == b->dev && a->ino == b->ino) ||
			    (a->len == b->len && strcmp(a->path, b->path) == 0))
				return fail(err, -EINVAL,
					    "writable branch %s of %s is also a writable branch of %s "
					    "(a writable branch must not be shared between unions)",
					    a->path, u->mnt, v->mnt);
			if (path_within(a->path, a->len, b->path, b->len) ||
			    path_within(b->path, b->len, a->path, a->len))
				return fail(err, -EINVAL,
					    "writable branch %s of %s and writable branch %s of %s "
					    "overlap (a writable branch must not be shared between "
					    "unions)", a->path, u->mnt, b->path, v->mnt);
		}
	}
	return 0;
}

/*
 * Check U against the N unions before it (and its branches against its own mount
 * point): what adding U after them would refuse. 0 or -EINVAL with ERR set.
 */
static int check_union(struct aufs_union *_Atomic const *unions, int n, const struct aufs_union *u,
		       struct aufs_err *err)
{
	int r;

	for (int i = 0; i < n; i++) {
		const struct aufs_union *v = unions[i];

		if (v->mnt_len == u->mnt_len && strcmp(v->mnt, u->mnt) == 0)
			return fail(err, -EINVAL, "mount point %s is used twice", u->mnt);
	}
	for (int b = 0; b < u->nbranch; b++) {
		r = check_branch(u, &u->branch[b], u, err);
		for (int i = 0; r == 0 && i < n; i++)
			r = check_branch(u, &u->branch[b], unions[i], err);
		if (r < 0)
			return r;
	}
	/* And the branches already there against the new mount point. */
	for (int i = 0; i < n; i++) {
		const struct aufs_union *v = unions[i];

		for (int b = 0; b < v->nbranch; b++) {
			r = check_branch(v, &v->branch[b], u, err);
			if (r < 0)
				return r;
		}
	}
	for (int i = 0; i < n; i++) {
		r = check_shared_rw(u, unions[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Room for N more unions in CFG. */
static int config_reserve(struct aufs_config *cfg, size_t n)
{
	struct aufs_union *_Atomic *unions;

	if ((size_t)cfg->nunion + n > INT_MAX / 2)
		return -EINVAL;
	unions = realloc(cfg->unions, sizeof(*unions) * ((size_t)cfg->nunion + n));
	if (!unions)
		return -ENOMEM;
	cfg->unions = unions;
	return 0;
}

int aufs_config_add(struct aufs_config *cfg, struct aufs_union *u, struct aufs_err *err)
{
	struct aufs_err dummy;
	int r;

	if (!err)
		err = &dummy;
	err_clear(err);
	if (!u)
		return fail(err, -EINVAL, "no union given");
	if (cfg->table_kind == AUFS_TABLE_MAPPED) {
		r = fail(err, -EINVAL, "a configuration mapped from a host table is not extended");
		goto out_free;
	}
	r = check_union(cfg->unions, cfg->nunion, u, err);
	if (r < 0)
		goto out_free;
	r = config_reserve(cfg, 1);
	if (r < 0) {
		fail(err, r, r == -ENOMEM ? "out of memory" : "too many unions");
		goto out_free;
	}
	u->index = (unsigned)cfg->nunion;
	cfg->unions[cfg->nunion++] = u;
	/*
	 * Keep the compiled table in step, so that any configuration built here can be
	 * published as it is. On failure the old table still describes the old
	 * unions, which are untouched.
	 */
	r = aufs_config_index(cfg);
	if (r < 0) {
		cfg->nunion--;
		fail(err, r, "out of memory");
		goto out_free;
	}
	cfg->serial = aufs_config_next_serial();
	return 0;

out_free:
	aufs_union_free(u);
	return r;
}

/* ---------------------------------------------------------------- warn_perm */

/* One warning line, control characters replaced as in fail(), to EMIT. */
static void warn_line(void (*emit)(void *arg, const char *line), void *arg, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

static void warn_line(void (*emit)(void *arg, const char *line), void *arg, const char *fmt,
		      ...)
{
	char line[3 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	emit(arg, line);
}

#define MODE_BITS 07777	/* aufs compares S_IALLUGO: permissions, set-id, sticky */

int aufs_union_warn_perm(const struct aufs_union *u, uid_t caller,
			 void (*emit)(void *arg, const char *line), void *arg)
{
	struct stat first, st;
	int n = 0;

	if (!(u->opts.flags & AUFS_OPT_WARN_PERM) || u->nbranch < 1 ||
	    sys_stat(u->branch[0].path, &first) < 0)
		return 0;
	for (int i = 0; i < u->nbranch; i++) {
		const struct aufs_branch *br = &u->branch[i];

		if (sys_stat(br->path, &st) < 0)
			continue;	/* gone since it was opened: the union will say */
		/* DIAGNOSTICS: anyone may change a world-writable writable branch directly */
		if (br->perm == AUFS_PERM_RW && (st.st_mode & S_IWOTH)) {
			warn_line(emit, arg, "warning: %s: writable branch %s is writable by every "
				  "user (mode %04o): anyone can change what the union shows",
				  u->mnt, br->path, (unsigned)(st.st_mode & MODE_BITS));
			n++;
		} else if (br->perm == AUFS_PERM_RW && st.st_uid != caller && st.st_uid != 0) {
			warn_line(emit, arg, "warning: %s: writable branch %s belongs to uid %u, "
				  "neither you (uid %u) nor root: that user can change what the "
				  "union shows", u->mnt, br->path, (unsigned)st.st_uid,
				  (unsigned)caller);
			n++;
		} else if (i > 0 && (st.st_uid != first.st_uid || st.st_gid != first.st_gid ||
				     (st.st_mode & MODE_BITS) != (first.st_mode & MODE_BITS))) {
			/* warn_perm: an added branch's uid/gid/permission differ from the first's */
			warn_line(emit, arg, "warning: %s: branch %s has uid/gid/mode %u/%u/%04o, "
				  "the first branch %s %u/%u/%04o", u->mnt, br->path,
				  (unsigned)st.st_uid, (unsigned)st.st_gid,
				  (unsigned)(st.st_mode & MODE_BITS), u->branch[0].path,
				  (unsigned)first.st_uid, (unsigned)first.st_gid,
				  (unsigned)(first.st_mode & MODE_BITS));
			n++;
		}
	}
	return n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A union of no branch at MNT (already normalised) that fails every path: a fence. */
static struct aufs_union *fence_at(const char *mnt)
{
	struct aufs_union *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	opts_init(&u->opts);
	u->opts.flags |= AUFS_OPT_FENCED;
	u->opts.negttl = AUFS_DEFAULT_NEGTTL;	/* as aufs_union_parse() settles it: status shows it */
	u->mnt = strdup(mnt);
	if (!u->mnt) {
		free(u);
		return NULL;
	}
	u->mnt_len = strlen(mnt);
	return u;
}

/* The fence of a refused line whose mount point field MNT can be read, else NULL. */
static struct aufs_union *fence_of_field(const char *mnt)
{
	char path[PATH_MAX], norm[PATH_MAX];

	if (!mnt || decode(mnt, path, sizeof(path)) < 0 || path[0] != '/' ||
	    normalise(path, norm, sizeof(norm)) < 0)
		return NULL;
	return fence_at(norm);
}

/*
 * One fstab line (modified in place) into *RET. Returns 0, 1 for a comment or
 * blank line, -errno; *MNT is the line's mount point field when it has one.
 */
static int parse_line(char *line, struct aufs_union **ret, const char **mnt,
		      struct aufs_err *err)
{
	char *field[7];
	int n = 0;

	while (*line) {
		while (is_blank(*line))
			*line++ = 0;
		if (!*line)
			break;
		if (n == 0 && *line == '#')
			return 1;
		if (n == 7)
			break;
		field[n++] = line;
		while (*line && !is_blank(*line))
			line++;
	}
	if (n == 0)
		return 1;
	*mnt = n >= 2 ? field[1] : NULL;
	if (n < 4)
		return fail(err, -EINVAL,
			    "expected \"SPEC MOUNTPOINT aufs OPTIONS [0 0]\", got %d field%s", n,
			    n == 1 ? "" : "s");
	if (n > 6)
		return fail(err, -EINVAL, "too many fields (more than 6)");
	if (strcmp(field[2], "aufs") != 0)
		return fail(err, -EINVAL, "file system type \"%s\" is not aufs", field[2]);
	/* Escapes in MOUNTPOINT and in the branch paths are decoded by the option parser. */
	return aufs_union_parse(field[3], field[1], ret, err);
}

/*
 * A map from a string (or a dev/ino pair) to the first union that has it, for
 * checking thousands of unions against each other in one pass.
 */
struct first_map {
	uint32_t mask;
	struct first_slot {
		uint64_t hash;
		const char *s;		/* NULL: empty slot; for a dev/ino key, not a string */
		size_t len;
		int index;
	} *slot;
};

static int first_map_init(struct first_map *m, size_t keys)
{
	size_t cap = 16;

	while (cap < keys * 2)
		cap <<= 1;
	m->slot = calloc(cap, sizeof(*m->slot));
	m->mask = (uint32_t)cap - 1;
	return m->slot ? 0 : -ENOMEM;
}

/* The first union with key (H, S, LEN); INDEX is recorded when the key is new. */
static int first_map_put(struct first_map *m, uint64_t h, const char *s, size_t len, int index)
{
	for (uint32_t i = (uint32_t)h & m->mask;; i = (i + 1) & m->mask) {
		struct first_slot *e = &m->slot[i];

		if (!e->s) {
			if (index < 0)
				return -1;
			*e = (struct first_slot){ h, s, len, index };
			return index;
		}
		if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0)
			return e->index;
	}
}

static int first_map_get(struct first_map *m, uint64_t h, const char *s, size_t len)
{
	return first_map_put(m, h, s, len, -1);
}

/* A branch's dev and ino, side by side: one key. */
#define DEV_INO_LEN (sizeof(dev_t) + sizeof(ino_t))
_Static_assert(offsetof(struct aufs_branch, ino) == offsetof(struct aufs_branch, dev) +
	       sizeof(dev_t), "dev and ino are one key");

/* The later of two unions, or the one already found if it is earlier. */
static int earliest(int found, int a, int b)
{
	int later = a > b ? a : b;

	return found < 0 || later < found ? later : found;
}

/*
 * FOUND, or the later of SELF and the first owner of a directory P (LEN bytes, at
 * and under "/") lies in, in M, if that is earlier: the prefixes of P at component
 * boundaries, "/" first, and P itself when WHOLE. SELF's own entry counts only for
 * a strict prefix (a branch may be its union's mount point, never lie inside it).
 */
static int earliest_prefix(struct first_map *m, const char *p, size_t len, bool whole,
			   int self, int found)
{
	uint64_t h = fnv1a(FNV_INIT, p, 1);
	size_t end = whole ? len : len - 1;

	for (size_t k = 1, last = 1; k <= end; k++) {
		int f;

		if (k > 1) {
			if (k < len && p[k] != '/')
				continue;
			h = fnv1a(h, p + last, k - last);
			last = k;
		}
		f = first_map_get(m, h, p, k);
		if (f >= 0 && (f != self || k != len))
			found = earliest(found, f, self);
	}
	return found;
}

/*
 * The first of UNIONS[0..N) that check_union() would refuse against the ones before
 * it, or -1: the checks of N additions in O(N) hash probes instead of N^2 pairs.
 * Each conflict found is real and involves the union it names, and every conflict
 * of a pair is found from one side or the other, so the earliest is exact.
 */
static int first_conflict(struct aufs_union *_Atomic const *unions, int n)
{
	struct first_map mnts = { 0 }, rws = { 0 }, devs = { 0 };
	size_t nbr = 0;
	int found = -1;

	for (int i = 0; i < n; i++)
		nbr += (size_t)unions[i]->nbranch;
	if (first_map_init(&mnts, (size_t)n) < 0 || first_map_init(&rws, nbr) < 0 ||
	    first_map_init(&devs, nbr) < 0) {
		found = -2;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct aufs_union *u = unions[i];
		int f = first_map_put(&mnts, fnv1a(FNV_INIT, u->mnt, u->mnt_len), u->mnt,
				      u->mnt_len, i);

		if (f != i)
			found = earliest(found, f, i);
	}
	for (int i = 0; i < n; i++) {
		const struct aufs_union *u = unions[i];

		for (int b = 0; b < u->nbranch; b++) {
			const struct aufs_branch *br = &u->branch[b];
			int f;

			/* every mount point the branch lies at or under (its own: only at) */
			found = earliest_prefix(&mnts, br->path, br->len, true, i, found);
			if (br->perm != AUFS_PERM_RW)
				continue;
			/* writable branches: the same path or directory, or one inside another */
			f = first_map_put(&devs, fnv1a(FNV_INIT, &br->dev, DEV_INO_LEN),
					  (const char *)&br->dev, DEV_INO_LEN, i);
			if (f != i)
				found = earliest(found, f, i);
			f = first_map_put(&rws, fnv1a(FNV_INIT, br->path, br->len), br->path, br->len, i);
			if (f != i)
				found = earliest(found, f, i);
		}
	}
	/* with every writable branch known: one that lies inside another union's */
	for (int i = 0; i < n; i++) {
		const struct aufs_union *u = unions[i];

		for (int b = 0; b < u->nbranch; b++) {
			const struct aufs_branch *br = &u->branch[b];

			if (br->perm == AUFS_PERM_RW)
				found = earliest_prefix(&rws, br->path, br->len, false, i, found);
		}
	}
out:
	free(mnts.slot);
	free(rws.slot);
	free(devs.slot);
	return found;
}

/* Take union I out of CFG (its line number out of LINES, which starts at union FIRST). */
static void config_drop(struct aufs_config *cfg, unsigned *lines, int first, int i)
{
	aufs_union_free(cfg->unions[i]);
	memmove(&cfg->unions[i], &cfg->unions[i + 1],
		(size_t)(cfg->nunion - i - 1) * sizeof(cfg->unions[0]));
	memmove(&lines[i - first], &lines[i - first + 1],
		(size_t)(cfg->nunion - i - 1) * sizeof(lines[0]));
	cfg->nunion--;
}

/*
 * Every line is parsed, a refused one too: a host of a thousand tenants does not
 * lose 999 of them to one bad line. A refused line (its syntax, its options, its
 * branches, a conflict with an earlier line) becomes a fence at its mount point
 * when that field can be read (a union of no branch that fails every path, so
 * that nothing reaches the directory under it), and the first refusal is the
 * error returned; the unions of the other lines are added. Callers that must not
 * run with a refused line (aufs-run, aufsctl) stop at the error as before.
 */
int aufs_config_parse_fstab(struct aufs_config *cfg, const char *text, const char *origin,
			    struct aufs_err *err)
{
	struct aufs_err dummy, e;
	unsigned lineno = 0, *lines = NULL, nbad = 0, refused_line = 0;
	int first = cfg->nunion, r = 0, refused = 0, bad;
	size_t cap = 0;
	char *copy, *line;

	if (!err)
		err = &dummy;
	err_clear(err);
	if (!origin)
		origin = "fstab";
	if (cfg->table_kind == AUFS_TABLE_MAPPED)
		return fail(err, -EINVAL, "a configuration mapped from a host table is not extended");
	copy = strdup(text ? text : "");
	if (!copy)
		return fail(err, -ENOMEM, "%s: out of memory", origin);
	/* Parse every line first; the unions are checked against each other at once. */
	memo = &(struct branch_memo){ 0 };
	for (line = copy; line; ) {
		char *next = strchr(line, '\n');
		struct aufs_union *u = NULL;
		const char *mnt = NULL;

		if (next)
			*next++ = 0;
		lineno++;
		err_clear(&e);
		r = parse_line(line, &u, &mnt, &e);
		line = next;
		if (r < 0) {
			if (!nbad++) {
				refused = fail(err, r, "%s:%u: %s", origin, lineno, e.msg);
				refused_line = lineno;
			}
			u = fence_of_field(mnt);
			r = 0;
			if (!u)
				continue;	/* no mount point known: nothing to fence */
		}
		if (r == 1) {
			r = 0;
			continue;
		}
		if ((size_t)(cfg->nunion - first) == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			unsigned *nl = realloc(lines, ncap * sizeof(*lines));
			int rr = nl ? config_reserve(cfg, ncap - cap) : -ENOMEM;

			if (nl)
				lines = nl;
			if (rr < 0) {
				aufs_union_free(u);
				r = fail(err, rr, "%s:%u: %s", origin, lineno,
					 rr == -ENOMEM ? "out of memory" : "too many unions");
				break;
			}
			cap = ncap;
		}
		lines[cfg->nunion - first] = lineno;
		cfg->unions[cfg->nunion++] = u;
	}
	memo_release(memo);
	memo = NULL;
	free(copy);
	/*
	 * A line that conflicts with an earlier one is refused the same way, one at a
	 * time from the first: its fence conflicts with nothing but an earlier union
	 * at the same mount point, which then stands alone.
	 */
	while (r == 0 && (bad = first_conflict(cfg->unions, cfg->nunion)) != -1) {
		struct aufs_union *u, *fence;

		if (bad == -2) {
			r = fail(err, -ENOMEM, "%s: out of memory", origin);
			break;
		}
		if (bad < first)
			break;	/* among the unions given before: not this text's to judge */
		u = cfg->unions[bad];
		/* a fence is of a line refused already; the message is of the first line */
		if (!(u->opts.flags & AUFS_OPT_FENCED) &&
		    (!nbad++ || lines[bad - first] < refused_line)) {
			err_clear(&e);
			if (check_union(cfg->unions, bad, u, &e) == 0)
				fail(&e, -EINVAL, "conflicts with an earlier union");
			refused = fail(err, -EINVAL, "%s:%u: %s", origin, lines[bad - first], e.msg);
			refused_line = lines[bad - first];
		}
		fence = u->opts.flags & AUFS_OPT_FENCED ? NULL : fence_at(u->mnt);
		if (!fence) {
			config_drop(cfg, lines, first, bad);
		} else {
			cfg->unions[bad] = fence;
			aufs_union_free(u);
		}
	}
	if (r < 0) {
		/* out of memory: nothing of this text is added */
		for (int i = first; i < cfg->nunion; i++)
			aufs_union_free(cfg->unions[i]);
		cfg->nunion = first;
	}
	for (int i = first; i < cfg->nunion; i++)
		cfg->unions[i]->index = (unsigned)i;
	free(lines);
	if (r == 0 && nbad > 1) {
		size_t l = strlen(err->msg);

		snprintf(err->msg + l, sizeof(err->msg) - l, " (and %u more line%s refused)",
			 nbad - 1, nbad > 2 ? "s" : "");
	}
	if (r == 0)
		r = refused;
	if (cfg->nunion > first || r == 0) {
		int ri = aufs_config_index(cfg);

		if (ri < 0 && r == 0)
			r = fail(err, ri, "%s: out of memory", origin);
		cfg->serial = aufs_config_next_serial();
	}
	return r;
}

int aufs_fstab_read(const char *file, char **ret, size_t *ret_len, struct stat *ret_st,
		    struct aufs_err *err)
{
	size_t len = 0, cap = 4096;
	char *buf, *bigger;
	struct stat st;
	ssize_t n;
	int fd, r;

	if (!file)
		return fail(err, -EINVAL, "no fstab file given");
	fd = sys_openat(AT_FDCWD, file, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, fd, "%s: %s", file, errstr(fd));
	r = sys_fstat(fd, &st);
	if (r < 0) {
		r = fail(err, r, "%s: %s", file, errstr(r));
		goto out_close;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (unsigned long long)st.st_size < FSTAB_MAX)
		cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		r = fail(err, -ENOMEM, "%s: out of memory", file);
		goto out_close;
	}
	/* Read one byte past the cap, to tell a file of exactly FSTAB_MAX bytes from a larger one. */
	for (;;) {
		if (len + 1 >= cap) {
			size_t ncap = cap * 2 > FSTAB_MAX + 2 ? FSTAB_MAX + 2 : cap * 2;

			if (ncap <= cap)
				break;
			bigger = realloc(buf, ncap);
			if (!bigger) {
				r = fail(err, -ENOMEM, "%s: out of memory", file);
				goto out_free;
			}
			buf = bigger;
			cap = ncap;
		}
		n = sys_read(fd, buf + len, cap - len - 1);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			r = fail(err, (int)n, "%s: %s", file, errstr((int)n));
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > FSTAB_MAX) {
		r = fail(err, -EFBIG, "%s: larger than %u MiB", file, FSTAB_MAX >> 20);
		goto out_free;
	}
	buf[len] = 0;
	if (memchr(buf, 0, len)) {
		r = fail(err, -EINVAL, "%s: not a text file (it holds a NUL byte)", file);
		goto out_free;
	}
	*ret = buf;
	*ret_len = len;
	if (ret_st)
		*ret_st = st;
	r = 0;
	goto out_close;
out_free:
	free(buf);
out_close:
	(void)sys_close(fd);	/* read-only: nothing to lose */
	return r;
}

int aufs_config_load_fstab(struct aufs_config *cfg, const char *file, struct aufs_err *err)
{
	struct aufs_err dummy;
	size_t len = 0;
	char *buf = NULL;
	int r;

	if (!err)
		err = &dummy;
	err_clear(err);
	r = aufs_fstab_read(file, &buf, &len, NULL, err);
	if (r < 0)
		return r;
	r = aufs_config_parse_fstab(cfg, buf, file, err);
	free(buf);
	return r;
}

int aufs_config_index(struct aufs_config *cfg)
{
	void *img = NULL;
	size_t size = 0;
	int r;

	if (cfg->table_kind == AUFS_TABLE_MAPPED)
		return 0;
	r = aufs_table_build(cfg->unions, cfg->nunion, NULL, &img, &size);
	if (r < 0)
		return r;
	free(cfg->table);
	cfg->table = img;
	cfg->table_size = size;
	cfg->table_kind = AUFS_TABLE_PRIVATE;
	if (!cfg->serial)
		cfg->serial = aufs_config_next_serial();
	return 0;
}

void aufs_config_release(struct aufs_config *cfg)
{
	if (!cfg)
		return;
	if (cfg->table_kind == AUFS_TABLE_MAPPED) {
		/* its unions and arrays live in the never-freed arena: only the mapping goes */
		aufs_table_unmap(cfg);
		aufs_config_init(cfg);
		return;
	}
	for (int i = 0; i < cfg->nunion; i++)
		aufs_union_free(cfg->unions[i]);
	free(cfg->unions);
	free(cfg->table);	/* a private table: one malloc'd block */
	aufs_config_init(cfg);
}
