/* SPDX-License-Identifier: MIT */
/*
 * crash - crash consistency of the union's write operations under SIGKILL.
 *
 *   crash run DIR ROUNDS [OP,OP...]   the driver (not preloaded)
 *   crash op OP MNT DELAY_NS          one operation, under the library (internal)
 *   crash view ROOT                   the union's view of ROOT, under the library
 *
 * The driver makes DIR/base (read-only branch), DIR/top (writable branch, reset
 * from a template before every round) and the mount point DIR/m, and runs each
 * round one operation in a child started with LD_PRELOAD=$STRESS_PRELOAD and
 * AUFS_MOUNTS. The child arms a POSIX timer that sends it SIGKILL DELAY_NS after
 * the operation starts: a timer of the kernel's, so the kill lands within
 * microseconds of the chosen moment (a signal sent by the driver would land a
 * scheduler wake-up later, after most short operations are over). DELAY_NS is
 * drawn uniformly in [0, duration], the duration measured first by running the
 * operation to its end 7 times (the median).
 *
 * After each round the union's view (read by a fresh "crash view" process:
 * names, types, modes, sizes and a hash of each file's content) must be exactly
 * the view before the operation or the view after a complete one: never a
 * partial copy, never a deleted name or content back, never a ".wh." name. The
 * base is compared with its first state (inode, size, times and content) after
 * every round. A kill counts as mid-operation on disk when the top branch is
 * neither its state before nor its state after a complete operation (a copy-up
 * temporary, a copied file not yet written...), and as within the window when
 * the child died of the signal; both counts are printed. Exit status 0 when no
 * round broke the rule, 1 when one did, 2 on a usage or setup error.
 *
 * Operations (OP): append (copy-up of a 1 MiB base file and an append), rewrite
 * (copy-up and a pwrite in the middle), rename (a base file to a new name),
 * truncate (a base file to 300,000 bytes), unlink (a base file), mkdir (over the
 * whiteout of a base directory with content), rmdir (an opaque empty directory
 * over a base directory with content).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIG (1024 * 1024)

static const char *const all_ops[] = {
	"append", "rewrite", "rename", "truncate", "unlink", "mkdir", "rmdir",
};
#define NOPS (sizeof(all_ops) / sizeof(all_ops[0]))

static void die(const char *what)
{
	fprintf(stderr, "crash: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- listings */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (b->p && (size_t)n < b->cap - b->len)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("realloc");
		if (b->len == 0)
			b->p[0] = 0;
	}
	b->len += (size_t)n;
}

static uint64_t hash_file(const char *path, bool *ok)
{
	static char data[65536];
	uint64_t h = 0xcbf29ce484222325ULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*ok = fd >= 0;
	if (fd < 0)
		return 0;
	while ((n = read(fd, data, sizeof(data))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)data[i]) * 0x100000001b3ULL;
	if (n < 0)
		*ok = false;
	close(fd);
	return h;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Sorted lines "REL TYPE MODE SIZE HASH" of the tree under ROOT; with META also
 * the inode, link count and times (the base's check). Names of the shared
 * state's link are left out (they are the union's, made at its first use).
 */
static void walk(const char *root, const char *rel, bool meta, struct buf *out)
{
	char path[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	dir = opendir(path);
	if (!dir) {
		buf_add(out, "%s/ opendir %s\n", rel, strerrorname_np(errno));
		return;
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (!strncmp(d->d_name, ".wh..wh.aufs.shm.", 17))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				die("realloc");
		}
		names[n++] = strdup(d->d_name);
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char r[PATH_MAX], p[PATH_MAX];
		struct stat st;

		snprintf(r, sizeof(r), "%s/%s", rel, names[i]);
		snprintf(p, sizeof(p), "%s%s", root, r);
		if (lstat(p, &st) < 0) {
			buf_add(out, "%s lstat %s\n", r, strerrorname_np(errno));
		} else if (S_ISDIR(st.st_mode)) {
			buf_add(out, "%s d %o", r, st.st_mode & 07777);
			if (meta)
				buf_add(out, " %lu %ld.%09ld", (unsigned long)st.st_ino,
					(long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
			buf_add(out, "\n");
			walk(root, r, meta, out);
		} else if (S_ISREG(st.st_mode)) {
			bool ok;
			uint64_t h = hash_file(p, &ok);

			buf_add(out, "%s f %o %lld %016llx%s", r, st.st_mode & 07777,
				(long long)st.st_size, (unsigned long long)h, ok ? "" : " unreadable");
			if (meta)
				buf_add(out, " %lu %lu %ld.%09ld %ld.%09ld", (unsigned long)st.st_ino,
					(unsigned long)st.st_nlink, (long)st.st_mtim.tv_sec,
					st.st_mtim.tv_nsec, (long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
			buf_add(out, "\n");
		} else {
			buf_add(out, "%s other %o\n", r, st.st_mode);
		}
		free(names[i]);
	}
	free(names);
}

static char *listing(const char *root, bool meta)
{
	struct buf b = {0};

	buf_add(&b, "%s", "");
	walk(root, "", meta, &b);
	return b.p;
}

/* ---------------------------------------------------------------- the child */

static int do_op(const char *op, const char *m)
{
	char p[PATH_MAX], q[PATH_MAX];
	int fd;

	if (!strcmp(op, "append")) {
		snprintf(p, sizeof(p), "%s/app", m);
		fd = open(p, O_WRONLY | O_APPEND);
		if (fd < 0 || write(fd, "appended\n", 9) != 9 || close(fd) < 0)
			return -1;
	} else if (!strcmp(op, "rewrite")) {
		snprintf(p, sizeof(p), "%s/rw", m);
		fd = open(p, O_RDWR);
		if (fd < 0 || pwrite(fd, "REWRITTEN", 9, BIG / 2) != 9 || close(fd) < 0)
			return -1;
	} else if (!strcmp(op, "rename")) {
		snprintf(p, sizeof(p), "%s/ren", m);
		snprintf(q, sizeof(q), "%s/ren.new", m);
		return rename(p, q);
	} else if (!strcmp(op, "truncate")) {
		snprintf(p, sizeof(p), "%s/trunc", m);
		return truncate(p, 300000);
	} else if (!strcmp(op, "unlink")) {
		snprintf(p, sizeof(p), "%s/unl", m);
		return unlink(p);
	} else if (!strcmp(op, "mkdir")) {
		snprintf(p, sizeof(p), "%s/wd", m);
		return mkdir(p, 0755);
	} else if (!strcmp(op, "rmdir")) {
		snprintf(p, sizeof(p), "%s/wd2", m);
		return rmdir(p);
	} else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* The names the operation touches, looked up first: the kill window is the change. */
static void warm(const char *m)
{
	static const char *const names[] = {"", "app", "rw", "ren", "ren.new", "trunc", "unl",
					    "wd", "wd2"};
	char p[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", m, names[i]);
		(void)lstat(p, &st);
	}
}

/*
 * RLIMIT_NOFILE at LIMIT (its hard limit HARD, or LIMIT), and every descriptor but
 * FREE taken (STRESS_NOFILE, STRESS_NOFILE_HARD, STRESS_FREE_FDS): what the kernel
 * needs no descriptor for must not fail with EMFILE.
 */
static int fill_fds(int limit, int hard, int free_fds)
{
	struct rlimit rl = {.rlim_cur = (rlim_t)limit,
			    .rlim_max = (rlim_t)(hard > limit ? hard : limit)};
	int fds[1024], n = 0;

	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	while (n < 1024 && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	while (free_fds-- > 0 && n > 0)
		close(fds[--n]);
	return 0;
}

/* Writes the operation's duration in ns to stdout (a pipe to the driver). */
static int child_op(const char *op, const char *m, const char *delay_s)
{
	long long delay = atoll(delay_s);
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGKILL};
	struct itimerspec its = {0};
	timer_t timer;
	uint64_t t0, t1;
	int r;

	warm(m);
	if (getenv("STRESS_NOFILE") && fill_fds(atoi(getenv("STRESS_NOFILE")),
						 atoi(getenv("STRESS_NOFILE_HARD") ?: "0"),
						 atoi(getenv("STRESS_FREE_FDS") ?: "0")) < 0)
		die("setrlimit");
	if (delay >= 0) {
		if (timer_create(CLOCK_MONOTONIC, &sev, &timer) < 0)
			die("timer_create");
		its.it_value.tv_sec = delay / 1000000000;
		its.it_value.tv_nsec = delay % 1000000000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	t0 = now_ns();
	if (delay >= 0 && timer_settime(timer, 0, &its, NULL) < 0)
		die("timer_settime");
	r = do_op(op, m);
	t1 = now_ns();
	if (r < 0) {
		fprintf(stderr, "crash: %s: %s\n", op, strerror(errno));
		return 1;
	}
	printf("%llu\n", (unsigned long long)(t1 - t0));
	return 0;
}

/* ---------------------------------------------------------------- the driver */

static char dir_base[PATH_MAX], dir_top[PATH_MAX], dir_mnt[PATH_MAX];
static char self[PATH_MAX];
static char **child_env;

static void put_file(const char *dir, const char *name, size_t size, unsigned seed)
{
	char p[PATH_MAX];
	char *data = malloc(size + 1);
	int fd;

	if (!data)
		die("malloc");
	for (size_t i = 0; i < size; i++)
		data[i] = (char)('a' + (i * 7 + seed + i / 4096) % 26);
	if (size)
		data[size - 1] = '\n';
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) < 0)
		die(p);
	free(data);
}

static void mkdir_or_die(const char *dir, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die(p);
}

static void link_or_die(const char *from, const char *to)
{
	if (link(from, to) < 0)
		die(to);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	if (ftw->level == 0)
		return 0;
	if (ftw->level == 1 && !strncmp(p + ftw->base, ".wh..wh.aufs.shm.", 17))
		return 0;
	if (remove(p) < 0)
		die(p);
	return 0;
}

/* The top branch as every round starts: the template's entries, the shared state's link kept. */
static void reset_top(void)
{
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX];
	int fd;

	if (nftw(dir_top, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		die("nftw top");
	snprintf(a, sizeof(a), "%s/.wh..wh.aufs", dir_top);
	fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0444);
	if (fd < 0 || close(fd) < 0)
		die(a);
	snprintf(b, sizeof(b), "%s/.wh.wd", dir_top);
	link_or_die(a, b);
	mkdir_or_die(dir_top, "wd2");
	snprintf(c, sizeof(c), "%s/wd2/.wh..wh..opq", dir_top);
	link_or_die(a, c);
}

static void setup(const char *dir)
{
	snprintf(dir_base, sizeof(dir_base), "%s/base", dir);
	snprintf(dir_top, sizeof(dir_top), "%s/top", dir);
	snprintf(dir_mnt, sizeof(dir_mnt), "%s/m", dir);
	if (mkdir(dir_base, 0755) < 0 || mkdir(dir_top, 0755) < 0 || mkdir(dir_mnt, 0755) < 0)
		die("mkdir base/top/m (DIR must be empty)");
	put_file(dir_base, "app", BIG, 1);
	put_file(dir_base, "rw", BIG, 2);
	put_file(dir_base, "ren", BIG, 3);
	put_file(dir_base, "trunc", BIG, 4);
	put_file(dir_base, "unl", 4000, 5);
	put_file(dir_base, "keep", 100, 6);
	mkdir_or_die(dir_base, "wd");
	mkdir_or_die(dir_base, "wd2");
	put_file(dir_base, "wd/old1", 10, 7);
	put_file(dir_base, "wd/old2", 10, 8);
	put_file(dir_base, "wd2/old3", 10, 9);
	put_file(dir_base, "wd2/old4", 10, 10);
	if (chmod(dir_base, 0555) < 0)
		die("chmod base");
}

extern char **environ;

static void make_env(void)
{
	const char *pre = getenv("STRESS_PRELOAD");
	size_t n = 0, k = 0;
	char *mounts;

	if (!pre || !*pre) {
		fprintf(stderr, "crash: STRESS_PRELOAD (the library to preload) is not set\n");
		exit(2);
	}
	while (environ[n])
		n++;
	child_env = calloc(n + 3, sizeof(char *));
	if (!child_env || asprintf(&mounts, "AUFS_MOUNTS=none %s aufs br:%s=rw:%s=ro 0 0", dir_mnt,
				   dir_top, dir_base) < 0)
		die("alloc");
	/* the union is ours alone; where its state files go (the test's directory) stays */
	for (size_t i = 0; i < n; i++)
		if ((strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "AUFS_", 5)) ||
		    !strncmp(environ[i], "AUFS_XINO_DIR=", 14) ||
		    !strncmp(environ[i], "AUFS_TABLE_DIR=", 15))
			child_env[k++] = environ[i];
	child_env[k++] = mounts;
	if (asprintf(&child_env[k++], "LD_PRELOAD=%s", pre) < 0)
		die("alloc");
	child_env[k] = NULL;
}

/* Run self with ARGV under the library; its stdout into *OUT (allocated). Returns the wait status. */
static int spawn(char *const argv[], char **out)
{
	struct buf b = {0};
	char chunk[4096];
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(pfd[1], 1);
		execve(self, argv, child_env);
		_exit(127);
	}
	close(pfd[1]);
	buf_add(&b, "%s", "");
	while ((n = read(pfd[0], chunk, sizeof(chunk))) > 0)
		buf_add(&b, "%.*s", (int)n, chunk);
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	*out = b.p;
	return status;
}

static char *view(void)
{
	char *argv[] = {"crash", "view", dir_mnt, NULL};
	char *out;
	int st = spawn(argv, &out);

	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "crash: the view process failed (status %#x)\n", st);
		exit(2);
	}
	return out;
}

static int run_op(const char *op, long long delay, char **out)
{
	char d[32];
	char *argv[] = {"crash", "op", (char *)op, dir_mnt, d, NULL};

	snprintf(d, sizeof(d), "%lld", delay);
	return spawn(argv, out);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct opstate {
	const char *name;
	char *view_old, *view_new, *top_old, *top_new;
	uint64_t dur;
	unsigned rounds, killed, mid_disk, finished, bad, leftovers;
};

/* Print the lines of A that are not in B, prefixed. */
static void print_minus(const char *pfx, const char *a, const char *b)
{
	const char *s = a;

	while (*s) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		const char *f = b;
		bool found = false;

		while (f && *f) {
			const char *fe = strchr(f, '\n');
			size_t fl = fe ? (size_t)(fe - f) : strlen(f);

			if (fl == len && !memcmp(f, s, len)) {
				found = true;
				break;
			}
			f = fe ? fe + 1 : NULL;
		}
		if (!found)
			fprintf(stderr, "    %s %.*s\n", pfx, (int)len, s);
		s = e ? e + 1 : s + len;
	}
}

static void prepare(struct opstate *o)
{
	uint64_t d[7];
	char *out;

	reset_top();
	o->view_old = view();
	o->top_old = listing(dir_top, false);
	for (int i = 0; i < 7; i++) {
		int st;

		reset_top();
		st = run_op(o->name, -1, &out);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "crash: %s does not complete without a kill (status %#x)\n",
				o->name, st);
			exit(2);
		}
		d[i] = strtoull(out, NULL, 10);
		free(out);
	}
	qsort(d, 7, sizeof(d[0]), cmp_u64);
	o->dur = d[3];
	o->view_new = view();
	o->top_new = listing(dir_top, false);
	if (!strcmp(o->view_old, o->view_new)) {
		fprintf(stderr, "crash: %s changes nothing in the view\n", o->name);
		exit(2);
	}
}

/* Lines of a top-branch listing that name a temporary (".wh..wh." but not the base link). */
static unsigned count_temporaries(const char *t)
{
	unsigned n = 0;

	for (const char *s = t; (s = strstr(s, "/.wh..wh.")); s++)
		if (strncmp(s, "/.wh..wh.aufs ", 14) && strncmp(s, "/.wh..wh..opq ", 14))
			n++;
	return n;
}

static int driver(const char *dir, unsigned rounds, const char *opnames)
{
	struct opstate ops[NOPS];
	size_t nops = 0;
	char *base0, *base_now, *list, *tok, *save;
	unsigned violations = 0, killed = 0, mid = 0, finished = 0, base_bad = 0, leftovers = 0;
	uint64_t seed = now_ns() ^ (uint64_t)getpid();
	uint64_t t_start = now_ns();

	if (realpath("/proc/self/exe", self) == NULL)
		die("/proc/self/exe");
	setup(dir);
	make_env();
	list = strdup(opnames ? opnames : "append,rewrite,rename,truncate,unlink,mkdir,rmdir");
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < NOPS && strcmp(all_ops[i], tok); i++)
			;
		if (i == NOPS || nops == NOPS) {
			fprintf(stderr, "crash: unknown operation %s\n", tok);
			return 2;
		}
		memset(&ops[nops], 0, sizeof(ops[nops]));
		ops[nops++].name = all_ops[i];
	}
	base0 = listing(dir_base, true);
	for (size_t i = 0; i < nops; i++) {
		prepare(&ops[i]);
		printf("# %-8s takes %llu us (median of 7); the kill lands in [0, %llu us]\n",
		       ops[i].name, (unsigned long long)ops[i].dur / 1000,
		       (unsigned long long)ops[i].dur / 1000);
	}
	fflush(stdout);
	for (unsigned r = 0; r < rounds; r++) {
		struct opstate *o = &ops[r % nops];
		long long delay;
		char *out, *v, *t;
		int st;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		delay = (long long)((seed >> 33) % (o->dur + 1));
		reset_top();
		st = run_op(o->name, delay, &out);
		free(out);
		o->rounds++;
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
			o->killed++;
			killed++;
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			o->finished++;
			finished++;
		} else {
			fprintf(stderr, "round %u: %s: the child ended with status %#x\n", r, o->name,
				st);
			o->bad++;
			violations++;
		}
		v = view();
		t = listing(dir_top, false);
		if (WIFSIGNALED(st) && strcmp(t, o->top_old) && strcmp(t, o->top_new)) {
			o->mid_disk++;
			mid++;
		}
		/* A temporary of the union's (a copy-up's, an rmdir's) left by the kill. */
		if (count_temporaries(t)) {
			o->leftovers++;
			leftovers++;
		}
		if (strcmp(v, o->view_old) && strcmp(v, o->view_new)) {
			if (o->bad++ < 3) {
				fprintf(stderr,
					"round %u: %s killed %lld us in: the view is neither the old "
					"one nor the new one\n",
					r, o->name, delay / 1000);
				print_minus("extra:  ", v, o->view_old);
				print_minus("missing:", o->view_old, v);
				fprintf(stderr, "  top branch:\n");
				print_minus("", t, "");
			}
			violations++;
		}
		free(v);
		free(t);
		base_now = listing(dir_base, true);
		if (strcmp(base0, base_now)) {
			if (base_bad++ < 3) {
				fprintf(stderr, "round %u: %s: the base changed\n", r, o->name);
				print_minus("now:", base_now, base0);
			}
			violations++;
		}
		free(base_now);
	}
	for (size_t i = 0; i < nops; i++)
		printf("# %-8s %4u rounds, %4u killed (%4u mid-operation on disk), %4u finished, "
		       "%u broken, %u left a temporary\n",
		       ops[i].name, ops[i].rounds, ops[i].killed, ops[i].mid_disk, ops[i].finished,
		       ops[i].bad, ops[i].leftovers);
	printf("crash: %u rounds in %.1f s, %u killed by SIGKILL inside the measured window "
	       "(%u of them mid-operation on disk, %u leaving a temporary), %u finished first; "
	       "%u violations; base %s\n",
	       rounds, (double)(now_ns() - t_start) / 1e9, killed, mid, leftovers, finished,
	       violations, base_bad ? "CHANGED" : "byte-identical");
	return violations ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "run"))
		return driver(argv[2], (unsigned)atoi(argv[3]), argc > 4 ? argv[4] : NULL);
	if (argc == 5 && !strcmp(argv[1], "op"))
		return child_op(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "view")) {
		char *l = listing(argv[2], false);

		fputs(l, stdout);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "setup")) {
		/* The layout of a run in DIR (base, top, m), for other tests. */
		setup(argv[2]);
		reset_top();
		return 0;
	}
	fprintf(stderr, "usage: crash run DIR ROUNDS [OP,...] | crash op OP MNT -1 | "
			"crash view ROOT | crash setup DIR\n");
	return 2;
}
