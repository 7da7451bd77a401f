/* SPDX-License-Identifier: MIT */
/*
 * env.c - the environment a new program gets: the library and its configuration
 * as this process started with them, captured once by a constructor; the
 * child's envp built on the caller's stack, with
 * LD_PRELOAD and the AUFS_MOUNTS / AUFS_FSTAB (with its AUFS_TABLE, and the scratch
 * directories AUFS_TABLE_DIR and AUFS_XINO_DIR) the library
 * started with put back when the program dropped them (env -i, clearenv), unless
 * it set AUFS_MOUNTS or AUFS_FSTAB itself or asked for AUFS_UNLOAD=1; and AUFS_CWD ("DEV:INO:PATH"),
 * which carries the virtual cwd. Everything but the capture may run in a vfork
 * child (exec.c): no allocation, no locks, nothing of the parent's written.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "aufs/sys.h"

/*
 * The library and its configuration as this process started with them, for
 * children whose environment lost them. Filled once by a constructor (getenv
 * then is the truth: P9), never changed afterwards, read lock-free.
 * NEEDSWORK: a process that changed its unions with setenv(AUFS_FSTAB) and then
 * scrubbed its environment again hands its children the start-up unions.
 */
static struct {
	_Atomic int state;	/* 0 not yet, 1 filling, 2 done */
	char *lib;		/* this library's file, absolute */
	char *preload;		/* "LD_PRELOAD=..." for a child that has none */
	char *mounts;		/* "AUFS_MOUNTS=..." or NULL */
	char *fstab;		/* "AUFS_FSTAB=..." or NULL */
	char *table;		/* "AUFS_TABLE=..." (the image of fstab) or NULL */
	/*
	 * Where the unions' shared files are, with the fstab: a child without them
	 * would look for the host table's image and the xino tables in /dev/shm,
	 * write a second image there (root), or compile the table privately on
	 * every exec and give other inode numbers (any other user).
	 */
	char *dirs[2];		/* "AUFS_TABLE_DIR=...", "AUFS_XINO_DIR=..." or NULL */
} start;

static const char *const start_dir_vars[2] = { "AUFS_TABLE_DIR", "AUFS_XINO_DIR" };

static char *env_entry(const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	char *s = malloc(nl + 1 + vl + 1);

	if (!s)
		return NULL;
	memcpy(s, name, nl);
	s[nl] = '=';
	memcpy(s + nl + 1, value, vl + 1);
	return s;
}

/* This library's file, absolute (ld.so opened a relative LD_PRELOAD entry from this cwd). */
static int own_path(char *buf, size_t size)
{
	Dl_info info;
	size_t l;
	int n;

	if (!dladdr((void *)own_path, &info) || !info.dli_fname || !*info.dli_fname)
		return -ENOENT;
	if (info.dli_fname[0] == '/') {
		n = snprintf(buf, size, "%s", info.dli_fname);
	} else {
		if (sys_getcwd(buf, size) <= 0 || buf[0] != '/')
			return -ENOENT;
		l = strlen(buf);
		n = snprintf(buf + l, size - l, "/%s", info.dli_fname);
		n = n < 0 ? n : n + (int)l;
	}
	return n > 0 && (size_t)n < size ? n : -ENAMETOOLONG;
}

static void start_capture(void)
{
	int expected = 0;
	const char *v;
	char buf[2 * PATH_MAX];

	if (!atomic_compare_exchange_strong(&start.state, &expected, 1))
		return;
	if (own_path(buf, PATH_MAX) > 0)
		start.lib = strdup(buf);
	if (start.lib) {
		/*
		 * A child without LD_PRELOAD gets the entries that came before ours
		 * (a sanitizer runtime must stay first) and our absolute path.
		 */
		long end;
		size_t pl = 0;
		int n;

		v = getenv("LD_PRELOAD");
		end = v ? aufs_preload_find(v, start.lib) : -1;
		if (end > 0) {
			pl = (size_t)end;
			while (pl > 0 && v[pl - 1] != ':' && v[pl - 1] != ' ')
				pl--;
			while (pl > 0 && (v[pl - 1] == ':' || v[pl - 1] == ' '))
				pl--;
		}
		n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)pl, pl ? v : "", pl ? ":" : "",
			     start.lib);
		if (n < 0 || (size_t)n >= sizeof(buf))
			snprintf(buf, sizeof(buf), "%s", start.lib);
		start.preload = env_entry("LD_PRELOAD", buf);
	}
	v = getenv("AUFS_MOUNTS");
	if (v && *v)
		start.mounts = env_entry("AUFS_MOUNTS", v);
	v = getenv("AUFS_FSTAB");
	if (v && *v)
		start.fstab = env_entry("AUFS_FSTAB", v);
	v = getenv("AUFS_TABLE");
	if (start.fstab && v && *v)
		start.table = env_entry("AUFS_TABLE", v);
	for (size_t i = 0; i < 2; i++) {
		v = getenv(start_dir_vars[i]);
		if ((start.fstab || start.mounts) && v && *v)
			start.dirs[i] = env_entry(start_dir_vars[i], v);
	}
	aufs_env_capture();	/* the core's own copy, for the files it names later */
	atomic_store(&start.state, 2);
}

__attribute__((constructor)) static void exec_constructor(void)
{
	start_capture();
}

void env_capture_early(void)
{
	if (atomic_load(&start.state) == 0)
		start_capture();
}

static bool start_ready(void)
{
	return atomic_load_explicit(&start.state, memory_order_acquire) == 2 && start.lib &&
	       start.preload;
}

static bool is_var(const char *e, const char *name, size_t len)
{
	return !strncmp(e, name, len) && e[len] == '=';
}
#define IS_VAR(e, lit) is_var((e), (lit), sizeof(lit) - 1)

static bool unload_value(const char *v)
{
	return v && *v && strcmp(v, "0");
}

/* Does the first entry of an LD_PRELOAD value name a sanitizer runtime (it must stay first)? */
static bool sanitizer_first(const char *v)
{
	static const char *const rt[] = { "libasan", "libubsan", "libtsan", "liblsan",
					  "libhwasan" };
	size_t n = strcspn(v, ": ");

	for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++)
		if (memmem(v, n, rt[i], strlen(rt[i])))
			return true;
	return false;
}

/* Room preload_compose() needs for VALUE. */
static size_t preload_room(const char *value)
{
	size_t a = 11 + strlen(value) + 1 + strlen(start.lib) + 1, b = strlen(start.preload) + 1;

	return a > b ? a : b;
}

/* "LD_PRELOAD=" + VALUE with this library added, into OUT (SIZE bytes). */
static bool preload_compose(char *out, size_t size, const char *value)
{
	int n;

	if (!*value)
		n = snprintf(out, size, "%s", start.preload);
	else if (sanitizer_first(value))
		n = snprintf(out, size, "LD_PRELOAD=%s:%s", value, start.lib);
	else
		n = snprintf(out, size, "LD_PRELOAD=%s:%s", start.lib, value);
	return n > 0 && (size_t)n < size;
}

void xctx_cwd(struct xctx *x)
{
	struct stat dot;
	size_t room;
	bool virt;
	int p, n;

	x->cwd_env = x->cwd_known = false;
	x->vcwd = x->cwdenv;
	if (sys_stat(".", &dot) < 0)
		return;
	p = snprintf(x->cwdenv, 64, "AUFS_CWD=%llu:%llu:", (unsigned long long)dot.st_dev,
		     (unsigned long long)dot.st_ino);
	x->vcwd = x->cwdenv + p;
	room = sizeof(x->cwdenv) - (size_t)p;
	n = aufs_cwd_get(x->vcwd, room);
	if (!x->vfork) {
		x->cwd_env = n >= 0;
		return;
	}
	/*
	 * A vfork child may have changed directory (python's subprocess with
	 * cwd=) without the parent's table knowing (cwd.c): trust the parent's
	 * virtual cwd only while "." is still its directory.
	 */
	if (n >= 0 && aufs_dir_is_copy(x->vcwd, &dot)) {
		x->cwd_env = x->cwd_known = true;
		return;
	}
	n = aufs_exec_kernel_cwd(x->vcwd, room, &virt);
	if (n < 0)
		return;
	x->cwd_known = true;
	x->cwd_env = virt;
}

/* Entries of ENVP, and the room a rewritten LD_PRELOAD entry needs (at least 1). */
size_t env_count(char *const envp[], size_t *ret_room)
{
	size_t n = 0, room = 1;

	for (; envp && envp[n]; n++)
		if (room == 1 && IS_VAR(envp[n], "LD_PRELOAD") && start_ready()) {
			size_t need = preload_room(envp[n] + 11);

			if (need <= XPRELOAD_MAX)
				room = need;
		}
	*ret_room = room;
	return n;
}

/*
 * The child's environment into OUT (N + 8 pointers): ENVP without AUFS_CWD; with
 * LD_PRELOAD naming this library and, when the program set neither, the
 * AUFS_MOUNTS and AUFS_FSTAB (and AUFS_TABLE) the library started with (unless
 * AUFS_UNLOAD), and the scratch directories it started with that ENVP lacks
 * (where the images of any table go, the program's own AUFS_FSTAB's too);
 * then the AUFS_CWD entry. PRE (ROOM bytes) holds a rewritten LD_PRELOAD.
 */
char *const *env_build(struct xctx *x, char *const envp[], size_t n, char **out, char *pre,
		       size_t room)
{
	const char *ldp = NULL, *add = NULL;
	bool unload = false, own = false, start_fstab = false, table = false, dir[2] = { false, false };
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e = envp[i];

		if (IS_VAR(e, "LD_PRELOAD")) {
			if (!ldp)
				ldp = e;
		} else if (IS_VAR(e, "AUFS_MOUNTS") || IS_VAR(e, "AUFS_FSTAB")) {
			own = true;
			start_fstab |= start_ready() && start.fstab && !strcmp(e, start.fstab);
		} else if (IS_VAR(e, "AUFS_TABLE")) {
			table = true;
		} else if (IS_VAR(e, "AUFS_TABLE_DIR")) {
			dir[0] = true;
		} else if (IS_VAR(e, "AUFS_XINO_DIR")) {
			dir[1] = true;
		} else if (IS_VAR(e, "AUFS_UNLOAD")) {
			unload = unload_value(e + 12);
		}
	}
	if (!start_ready()) {
		x->loads = ldp != NULL;	/* called before our constructor: a guess */
		pre = NULL;
	} else {
		x->loads = ldp && aufs_preload_find(ldp + 11, start.lib) >= 0;
		if (!unload && !x->loads) {
			if (!ldp) {
				add = start.preload;
				x->loads = true;
			} else if (preload_compose(pre, room, ldp + 11)) {
				x->loads = true;
			} else {
				pre = NULL;
			}
		} else {
			pre = NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (IS_VAR(envp[i], "AUFS_CWD"))
			continue;
		out[k++] = envp[i] == ldp && pre ? pre : envp[i];
	}
	if (add)
		out[k++] = (char *)add;
	if (start_ready() && !unload && !own) {
		if (start.mounts)
			out[k++] = start.mounts;
		if (start.fstab)
			out[k++] = start.fstab;
	}
	/*
	 * The image goes with the fstab it was compiled from (an aufs-run session's is
	 * not at the default name): with the fstab put back, or kept without it
	 * (php-fpm's clear_env with env[AUFS_FSTAB] = $AUFS_FSTAB).
	 */
	if (start_ready() && !unload && start.table && !table && (!own || start_fstab))
		out[k++] = start.table;
	for (size_t i = 0; i < 2; i++)
		if (start_ready() && !unload && start.dirs[i] && !dir[i])
			out[k++] = start.dirs[i];
	if (x->cwd_env)
		out[k++] = x->cwdenv;
	out[k] = NULL;
	return out;
}

/*
 * system(3) and popen(3) start /bin/sh with glibc's own posix_spawn and the
 * program's environ, out of our reach. If the program cleared LD_PRELOAD or the
 * AUFS_* variables from environ, put them back there (REAL setenv: this is not
 * a configuration change of ours). NEEDSWORK: setenv is not safe against other
 * threads reading environ at the same time; only programs that scrubbed their
 * own environment take this path.
 */
void env_ensure(void)
{
	const char *v;

	if (!start_ready() || unload_value(getenv("AUFS_UNLOAD")))
		return;
	v = getenv("LD_PRELOAD");
	if (!v || aufs_preload_find(v, start.lib) < 0) {
		size_t room = preload_room(v ? v : "");

		if (room <= XPRELOAD_MAX) {
			char pre[room];

			if (preload_compose(pre, room, v ? v : ""))
				(void)REAL(setenv)("LD_PRELOAD", pre + 11, 1);	/* best effort */
		}
	}
	if (!getenv("AUFS_MOUNTS") && !getenv("AUFS_FSTAB")) {
		if (start.mounts)
			(void)REAL(setenv)("AUFS_MOUNTS", start.mounts + 12, 1);
		if (start.fstab)
			(void)REAL(setenv)("AUFS_FSTAB", start.fstab + 11, 1);
		if (start.table && !getenv("AUFS_TABLE"))
			(void)REAL(setenv)("AUFS_TABLE", start.table + 11, 1);
	}
	for (size_t i = 0; i < 2; i++)
		if (start.dirs[i] && !getenv(start_dir_vars[i]))
			(void)REAL(setenv)(start_dir_vars[i], start.dirs[i] + strlen(start_dir_vars[i]) + 1, 1);
}
