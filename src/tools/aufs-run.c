/* SPDX-License-Identifier: MIT */
/*
 * aufs-run - run a command with unions mounted inside it.
 *
 *   aufs-run [-o OPTIONS MOUNTPOINT]... [--fstab FILE [--image PATH]] -- COMMAND [ARG...]
 *
 * Everything is validated before the command runs (exit 2 with one precise line
 * on bad input); then the configuration goes to the library through the
 * environment (AUFS_FSTAB: the file, whose compiled image is made or refreshed
 * here; AUFS_TABLE: that image's path) and LD_PRELOAD, and the command is executed
 * in place, so its exit status is ours. The unions of -o are written to a session
 * fstab of their own (session.h), which `aufsctl remount` edits; AUFS_MOUNTS (one
 * fstab line per union) carries them only beside a --fstab table or an inherited
 * host table, or when no session file can be made.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aufs/core.h"
#include "session.h"

/* Exit codes, as env(1) and the shells use them. */
enum {
	EXIT_USAGE = 2,		/* bad option, bad configuration */
	EXIT_INTERNAL = 125,	/* aufs-run itself failed */
	EXIT_CANNOT_RUN = 126,	/* the command exists but cannot be executed */
	EXIT_NOT_FOUND = 127,	/* the command was not found */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aufs-run [-o OPTIONS MOUNTPOINT]... [--fstab FILE [--image PATH]] --\n"
		"                COMMAND [ARG...]\n"
		"Run COMMAND with aufs unions mounted inside the process (LD_PRELOAD).\n"
		"\n"
		"  -o OPTIONS MOUNTPOINT  an aufs mount option string, e.g.\n"
		"                         br:/srv/t1=rw:/srv/cms=ro,udba=reval\n"
		"  --fstab FILE           unions in fstab form: none MNT aufs OPTIONS 0 0,\n"
		"                         a host table compiled into a shared image\n"
		"  --image PATH           where FILE's image is (default /dev/shm/aufs-table.*)\n"
		"  --help, --version\n"
		"\n"
		"Exit status: the command's; 2 bad usage or configuration, 125 internal\n"
		"error, 126 command not executable, 127 command not found.\n"
		"See aufs-run(1) and aufs-preload(7).\n");
}

static void die(int code, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "aufs-run: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(code);
}

/* The library sits next to this program, in the tree and when installed. */
static int find_library(char *buf, size_t size)
{
	const char *env = getenv("AUFS_LIBRARY");
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return access(buf, R_OK);
	}
	n = readlink("/proc/self/exe", buf, size - 32);
	if (n < 0)
		return -1;
	buf[n] = 0;
	slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	strcpy(slash + 1, "libaufs-preload.so");
	return access(buf, R_OK);
}

/*
 * COMMAND itself may exist only in a union (a tool inside a document root): it is
 * executed through the library's own execvp, which searches PATH and reads #!
 * lines through the unions as it does for every program started inside them.
 * Loading the library reads the configuration just put into the environment.
 * Without the library, the plain execvp (which sees no union).
 */
static void exec_command(const char *lib, char **argv)
{
	int (*union_execvp)(const char *, char *const[]) = NULL;
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);

	if (h)
		union_execvp = (int (*)(const char *, char *const[]))dlsym(h, "execvp");
	if (union_execvp)
		union_execvp(argv[0], argv);
	else
		execvp(argv[0], argv);
}

/* dlgt/nodlgt are accepted for compatibility; say that they change nothing here. */
static void note_ignored(const char *options, const char *mnt)
{
	const char *p = options;

	while (p && *p) {
		size_t n = strcspn(p, ",");

		if ((n == 4 && !strncmp(p, "dlgt", 4)) || (n == 6 && !strncmp(p, "nodlgt", 6)))
			fprintf(stderr, "aufs-run: note: %.*s ignored for %s (aufs-preload has no "
				"kernel threads to delegate to)\n", (int)n, p, mnt);
		p += n + (p[n] == ',');
	}
}

static void print_warning(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "aufs-run: %s\n", line);
}

/*
 * warn_perm for a host table: a host's thousands of tenant branches, each owned by
 * its tenant, would give a line each; the first few are said, then how many more.
 */
#define TABLE_WARN_MAX 5

struct warn_count {
	int lines;
};

static void count_warning(void *arg, const char *line)
{
	struct warn_count *c = arg;

	if (c->lines++ < TABLE_WARN_MAX)
		fprintf(stderr, "aufs-run: %s\n", line);
}

static void warn_table(const struct aufs_config *table)
{
	struct warn_count c = { 0 };

	for (int k = 0; k < table->nunion; k++) {
		const struct aufs_union *u = aufs_config_union(table, k);

		if (u)
			aufs_union_warn_perm(u, geteuid(), count_warning, &c);
	}
	if (c.lines > TABLE_WARN_MAX)
		fprintf(stderr, "aufs-run: ... and %d more warnings of the same kind (nowarn_perm "
			"in a line silences its own)\n", c.lines - TABLE_WARN_MAX);
}

static char *append(char *s, const char *line)
{
	size_t a = s ? strlen(s) : 0, b = strlen(line);
	char *r = realloc(s, a + b + 2);

	if (!r)
		die(EXIT_INTERNAL, "%s%s", "out of memory", "");
	memcpy(r + a, line, b);
	r[a + b] = '\n';
	r[a + b + 1] = 0;
	return r;
}

/* A + B, both newline-terminated fstab texts (B may be NULL); A is consumed. */
static char *prepend(char *a, char *b)
{
	return b ? append(a, b) : a;
}

/*
 * The unions of -o (with those inherited) go to a session fstab, so that
 * `aufsctl remount` reaches every process of the command (session.h): the command
 * gets AUFS_FSTAB and AUFS_TABLE, and no AUFS_MOUNTS. The sessions nobody uses any
 * more are removed first. When no session can be made (no writable directory),
 * the unions go in AUFS_MOUNTS as they always did, and cannot be remounted: said.
 */
static void set_session(char *inherited_lines, char *mounts)
{
	char dir[PATH_MAX], fstab[PATH_MAX], image[PATH_MAX], why[PATH_MAX + 256];
	char *lines = inherited_lines ? prepend(inherited_lines, mounts) : mounts;
	int r = session_dir(dir, sizeof(dir));

	if (r < 0) {
		snprintf(why, sizeof(why), "%s: %s",
			 getenv("AUFS_TABLE_DIR") && *getenv("AUFS_TABLE_DIR") ?
			 getenv("AUFS_TABLE_DIR") : "/dev/shm", strerror(-r));
	} else {
		(void)session_sweep(dir);
		r = session_create(dir, lines, fstab, image, why, sizeof(why));
	}
	if (r == 0) {
		if (setenv("AUFS_FSTAB", fstab, 1) < 0 || setenv("AUFS_TABLE", image, 1) < 0 ||
		    unsetenv("AUFS_MOUNTS") < 0)
			die(EXIT_INTERNAL, "cannot set the environment: %s%s", strerror(errno), "");
		return;
	}
	fprintf(stderr, "aufs-run: note: no session file (%s); the unions are in AUFS_MOUNTS "
		"and cannot be remounted\n", why);
	if (setenv("AUFS_MOUNTS", lines, 1) < 0 || unsetenv("AUFS_FSTAB") < 0 ||
	    unsetenv("AUFS_TABLE") < 0)
		die(EXIT_INTERNAL, "cannot set the environment: %s%s", strerror(errno), "");
}

/*
 * trunc_xib in a union's options: its table gives back the slots of entries no
 * branch of the union holds any more (aufs(5): truncate it at any time), said
 * when there were some. Not fatal: the numbers are right either way.
 */
static void trunc_xib(const struct aufs_union *u)
{
	struct aufs_err err = { 0 };
	uint64_t freed = 0;
	int r = aufs_xino_trunc(u, NULL, 0, true, &freed, &err);

	if (r < 0)
		fprintf(stderr, "aufs-run: note: %s: trunc_xib: %s\n", u->mnt,
			err.msg[0] ? err.msg : strerror(-r));
	else if (freed)
		fprintf(stderr, "aufs-run: %s: %llu inode number entr%s freed (trunc_xib)\n", u->mnt,
			(unsigned long long)freed, freed == 1 ? "y" : "ies");
}

int main(int argc, char **argv)
{
	struct aufs_config cfg;
	struct aufs_err err = { 0 };
	char lib[PATH_MAX], line[3 * PATH_MAX * 2], fstab_abs[PATH_MAX];
	const char *fstab = NULL, *image = NULL, *old_mounts = getenv("AUFS_MOUNTS");
	const char *old_fstab = getenv("AUFS_FSTAB");
	struct aufs_config *table = NULL;
	char *mounts = NULL, *preload, *session_lines = NULL;
	int i, r, inherited, count_o = 0;

	aufs_config_init(&cfg);
	/* unions inherited from an enclosing aufs-run stay, and are checked with ours */
	if (old_mounts && *old_mounts) {
		r = aufs_config_parse_fstab(&cfg, old_mounts, "AUFS_MOUNTS", &err);
		if (r < 0)
			die(EXIT_USAGE, "%s%s", err.msg, "");
	}
	/* an enclosing aufs-run's session: its unions are inherited the same way */
	if (old_fstab && *old_fstab && session_read_lines(old_fstab, &session_lines)) {
		r = aufs_config_parse_fstab(&cfg, session_lines, old_fstab, &err);
		if (r < 0)
			die(EXIT_USAGE, "%s%s", err.msg, "");
	}
	if (old_mounts && *old_mounts)
		mounts = append(mounts, old_mounts);
	inherited = cfg.nunion;	/* the enclosing aufs-run warned about those */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--version")) {
			printf("aufs-run (aufs-preload) %s\n", AUFS_VERSION);
			return 0;
		}
		if (!strcmp(a, "-o")) {
			struct aufs_union *u;

			if (i + 2 >= argc || !strncmp(argv[i + 2], "-", 1))
				die(EXIT_USAGE, "-o needs OPTIONS and a MOUNTPOINT%s%s", "", "");
			r = aufs_union_parse(argv[i + 1], argv[i + 2], &u, &err);
			if (r < 0)
				die(EXIT_USAGE, "%s%s", err.msg, "");
			note_ignored(argv[i + 1], argv[i + 2]);
			if (aufs_union_format(u, line, sizeof(line)) < 0)
				die(EXIT_USAGE, "mount point %s: configuration too long%s", u->mnt, "");
			mounts = append(mounts, line);
			r = aufs_config_add(&cfg, u, &err);
			if (r < 0)
				die(EXIT_USAGE, "%s%s", err.msg, "");
			count_o++;
			i += 2;
			continue;
		}
		if (!strcmp(a, "--fstab") || !strncmp(a, "--fstab=", 8)) {
			const char *f = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);

			if (!f || !*f || !strcmp(f, "--"))
				die(EXIT_USAGE, "--fstab needs a FILE%s%s", "", "");
			if (fstab)
				die(EXIT_USAGE, "only one --fstab may be given (%s, %s)", fstab, f);
			/* lexically absolute, as the library and aufsctl name its image */
			if (aufs_table_fstab_path(f, fstab_abs, sizeof(fstab_abs)) < 0)
				die(EXIT_USAGE, "fstab %s: %s", f, strerror(ENAMETOOLONG));
			fstab = fstab_abs;
			continue;
		}
		if (!strcmp(a, "--image") || !strncmp(a, "--image=", 8)) {
			const char *f = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);

			if (!f || !*f || !strcmp(f, "--"))
				die(EXIT_USAGE, "--image needs a PATH%s%s", "", "");
			image = f;
			continue;
		}
		if (a[0] == '-')
			die(EXIT_USAGE, "unknown option \"%s\" (try --help)%s", a, "");
		break;	/* the command, without "--" */
	}
	if (i >= argc)
		die(EXIT_USAGE, "no command given (try --help)%s%s", "", "");

	if (image && !fstab)
		die(EXIT_USAGE, "--image needs --fstab%s%s", "", "");
	if (!fstab && !session_lines && getenv("AUFS_FSTAB") && *getenv("AUFS_FSTAB")) {
		/*
		 * An inherited AUFS_FSTAB is checked as --fstab is: a bad line stops the
		 * start here, said once, instead of by the library in this process (which
		 * loads it for execvp) and again in the command. An enclosing aufs-run's
		 * session was read and checked above, with the inherited unions.
		 */
		if (aufs_table_fstab_path(getenv("AUFS_FSTAB"), fstab_abs, sizeof(fstab_abs)) < 0)
			die(EXIT_USAGE, "AUFS_FSTAB %s: %s", getenv("AUFS_FSTAB"), strerror(ENAMETOOLONG));
		fstab = fstab_abs;
		if (getenv("AUFS_TABLE") && *getenv("AUFS_TABLE"))
			image = getenv("AUFS_TABLE");
	}
	if (fstab) {
		struct aufs_err notice = { 0 };

		/*
		 * Here the whole image is checked, once per start of a host; its processes
		 * check each record as they read it (a checksum of a host's image at every
		 * exec would cost more than the exec).
		 */
		r = aufs_table_open(fstab, image, AUFS_TABLE_MAY_WRITE | AUFS_TABLE_VERIFY, &table,
				    &err, &notice);
		if (r < 0)
			die(r == -EINVAL || r == -ENOENT || r == -EACCES ? EXIT_USAGE : EXIT_INTERNAL,
			    "%s%s", err.msg, "");
		if (notice.code)
			fprintf(stderr, "aufs-run: %s\n", notice.msg);
		/* unions of -o (and inherited) with the table: checked together, once */
		if (cfg.nunion) {
			r = aufs_config_load_fstab(&cfg, fstab, &err);
			if (r < 0)
				die(EXIT_USAGE, "%s%s", err.msg, "");
		}
	}
	r = aufs_config_index(&cfg);
	if (r < 0)
		die(EXIT_INTERNAL, "%s%s", strerror(-r), "");
	/*
	 * warn_perm: here, once per start of aufs-run, and never in the library,
	 * which every process of a host loads (and would print in each of them).
	 */
	for (int k = inherited; k < cfg.nunion; k++)
		if (!table || k < inherited + count_o)
			aufs_union_warn_perm(cfg.unions[k], geteuid(), print_warning, NULL);
	if (table)
		warn_table(table);
	for (int k = inherited; k < inherited + count_o; k++) {
		struct aufs_union *u = cfg.unions[k];

		/*
		 * Make the union's shared state if this user may (root or the branch owner),
		 * so that processes of other users find it. A bad one is not fatal: it is
		 * never trusted, the union runs uncached, and the command's processes say
		 * so; what is said here is that this run replaced it. The unions of a host
		 * table make theirs at first use, never all up front.
		 */
		err.code = 0;
		r = aufs_shm_attach(u, &err);
		if (r == 0 && err.code == -EUCLEAN)
			fprintf(stderr, "aufs-run: %s\n", err.msg);
		/*
		 * Its table of inode numbers likewise; one that may not be trusted is an
		 * error here: numbers would change under the command's feet.
		 */
		err.code = 0;
		r = aufs_xino_attach(u, &err);
		if (r == -EUCLEAN)
			die(EXIT_USAGE, "%s%s", err.msg, "; remove it or give another xino=");
		if (r < 0) {
			char path[PATH_MAX];

			if (aufs_xino_path(u, path, sizeof(path)) < 0)
				path[0] = 0;
			die(EXIT_USAGE, "xino file %s: %s", path, strerror(-r));
		}
		if (u->opts.flags & AUFS_OPT_TRUNC_XIB)
			trunc_xib(u);
	}
	if (find_library(lib, sizeof(lib)) < 0)
		die(EXIT_INTERNAL, "cannot find libaufs-preload.so next to aufs-run (%s)", lib, "");
	{
		const char *old = getenv("LD_PRELOAD");

		if (old && *old) {
			preload = malloc(strlen(lib) + strlen(old) + 2);
			if (!preload)
				die(EXIT_INTERNAL, "%s%s", "out of memory", "");
			/* a sanitizer runtime must stay first in the list */
			if (strstr(old, "libasan") || strstr(old, "libubsan"))
				sprintf(preload, "%s:%s", old, lib);
			else
				sprintf(preload, "%s:%s", lib, old);
		} else {
			preload = lib;
		}
	}
	if (setenv("LD_PRELOAD", preload, 1) < 0)
		die(EXIT_INTERNAL, "cannot set the environment: %s%s", strerror(errno), "");
	if (!fstab && count_o && (!old_fstab || !*old_fstab || session_lines))
		set_session(session_lines, mounts);
	else if ((fstab && session_lines && !(mounts = prepend(session_lines, mounts))) ||
		 (mounts ? setenv("AUFS_MOUNTS", mounts, 1) : unsetenv("AUFS_MOUNTS")) < 0 ||
		 (fstab && setenv("AUFS_FSTAB", fstab, 1) < 0) ||
		 /* an inherited AUFS_TABLE is another table's image, never FILE's */
		 (fstab && (image ? setenv("AUFS_TABLE", image, 1) : unsetenv("AUFS_TABLE")) < 0))
		die(EXIT_INTERNAL, "cannot set the environment: %s%s", strerror(errno), "");
	exec_command(lib, argv + i);
	r = errno;
	fprintf(stderr, "aufs-run: %s: %s\n", argv[i], strerror(r));
	return r == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}
