/* SPDX-License-Identifier: MIT */
/*
 * conc - many processes and threads change one union directory at once, each
 * thread checked against a model of the names it owns.
 *
 *   conc setup BASEDIR PROCS THREADS      the base's content (not preloaded)
 *   conc run DIR TOPDIR PROCS THREADS SECONDS   under the library
 *
 * DIR is the union's view of BASEDIR, TOPDIR the same directory in the top
 * branch. PROCS processes (forked after the library started) of THREADS threads
 * each, for SECONDS, pick at random among: create (O_EXCL) of one of their own
 * names, append to one, rename one over another, unlink (also of their own base
 * file, which needs a whiteout, and its create again over the whiteout), stat,
 * mkdir and rmdir of their own directories, a listing of DIR, and appends of
 * fixed 32-byte records to four shared logs that start in the base (so that the
 * first appends of all processes race to copy them up). Each result is compared
 * with the thread's model: a success where the model expects one, the model's
 * errno otherwise (EEXIST, ENOENT); anything else is an unexpected errno. A
 * listing must show no ".wh." name, no name twice, and the thread's own names as
 * its model has them. At the end every file of the model is read back, each log is
 * parsed (no torn record, every record whose write returned 32 present exactly
 * once: no lost append), and TOPDIR is searched for a name that is there beside
 * its own whiteout. Prints one summary line; exit 1 on any error, 2 on a setup
 * error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NLOG 4
#define NSLOT 6		/* own files f.P.T.K; slot NSLOT is the base file b.P.T */
#define NDIRS 3		/* own directories d.P.T.K */
#define REC 32
#define MAXP 32
#define MAXT 16
#define MAXSEQ 4096	/* appends of one thread to one log */
#define CONTENT 256

struct shared {
	_Atomic unsigned long ops, errors, appends[MAXP][MAXT][NLOG];
	_Atomic int stop;
};

static struct shared *sh;
static const char *dir, *top;
static int procs, threads;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void bad(int p, int t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void bad(int p, int t, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&sh->errors, 1) >= 30)
		return;
	pthread_mutex_lock(&out_lock);
	fprintf(stderr, "conc: process %d thread %d: ", p, t);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&out_lock);
}

static const char *ename(int e)
{
	return e ? strerrorname_np(e) : "success";
}

struct model {
	int p, t;
	uint64_t rng;
	bool file[NSLOT + 1];
	char content[NSLOT + 1][CONTENT];
	bool dirp[NDIRS];
	unsigned long seq[NLOG];
	unsigned gen;
};

static unsigned rnd(struct model *m, unsigned n)
{
	m->rng = m->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(m->rng >> 33) % n;
}

static void slot_name(const struct model *m, int k, char *buf, size_t size)
{
	if (k == NSLOT)
		snprintf(buf, size, "b.%d.%d", m->p, m->t);
	else
		snprintf(buf, size, "f.%d.%d.%d", m->p, m->t, k);
}

static void slot_path(const struct model *m, int k, char *buf, size_t size)
{
	char n[64];

	slot_name(m, k, n, sizeof(n));
	snprintf(buf, size, "%s/%s", dir, n);
}

static void dir_path(const struct model *m, int k, char *buf, size_t size)
{
	snprintf(buf, size, "%s/d.%d.%d.%d", dir, m->p, m->t, k);
}

/* The result R (0 or -1 with errno) against the expected errno WANT (0: success). */
static void expect(struct model *m, const char *op, const char *path, int r, int want)
{
	int got = r < 0 ? errno : 0;

	atomic_fetch_add(&sh->ops, 1);
	if (got != want)
		bad(m->p, m->t, "%s %s: %s, the model expects %s", op, path, ename(got),
		    ename(want));
}

static void check_file(struct model *m, int k, const char *why)
{
	char path[512], buf[CONTENT + 8];
	ssize_t n;
	int fd;

	slot_path(m, k, path, sizeof(path));
	fd = open(path, O_RDONLY);
	if (!m->file[k]) {
		if (fd >= 0 || errno != ENOENT)
			bad(m->p, m->t, "%s: open %s: %s, the model has no such file", why, path,
			    fd >= 0 ? "success" : ename(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fd < 0) {
		bad(m->p, m->t, "%s: open %s: %s", why, path, ename(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || (buf[n] = 0, strcmp(buf, m->content[k])))
		bad(m->p, m->t, "%s: %s holds \"%.*s\", the model \"%s\"", why, path,
		    n < 0 ? 0 : (int)n, buf, m->content[k]);
}

static void op_create(struct model *m)
{
	int k = (int)rnd(m, NSLOT + 1);
	char path[512];
	int fd;

	slot_path(m, k, path, sizeof(path));
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	expect(m, "create", path, fd, m->file[k] ? EEXIST : 0);
	if (fd >= 0) {
		snprintf(m->content[k], CONTENT, "%d.%d.%d.%u\n", m->p, m->t, k, m->gen++);
		if (write(fd, m->content[k], strlen(m->content[k])) != (ssize_t)strlen(m->content[k]))
			bad(m->p, m->t, "write %s: %s", path, ename(errno));
		close(fd);
		m->file[k] = true;
	}
}

static void op_append(struct model *m)
{
	int k = (int)rnd(m, NSLOT + 1);
	char path[512], rec[16];
	int fd;
	size_t len = strlen(m->content[k]);

	if (!m->file[k] || len + 8 >= CONTENT)
		return;
	slot_path(m, k, path, sizeof(path));
	fd = open(path, O_WRONLY | O_APPEND);
	expect(m, "open O_APPEND", path, fd, 0);
	if (fd < 0)
		return;
	snprintf(rec, sizeof(rec), "+%05u\n", m->gen++ % 100000);
	if (write(fd, rec, 7) != 7)
		bad(m->p, m->t, "append %s: %s", path, ename(errno));
	else
		strcat(m->content[k], rec);
	close(fd);
}

static void op_rename(struct model *m)
{
	int a = (int)rnd(m, NSLOT + 1), b = (int)rnd(m, NSLOT + 1);
	char pa[512], pb[512];
	int r;

	if (a == b)
		return;
	slot_path(m, a, pa, sizeof(pa));
	slot_path(m, b, pb, sizeof(pb));
	r = rename(pa, pb);
	expect(m, "rename", pa, r, m->file[a] ? 0 : ENOENT);
	if (r == 0) {
		memcpy(m->content[b], m->content[a], CONTENT);
		m->file[b] = true;
		m->file[a] = false;
	}
}

static void op_unlink(struct model *m)
{
	int k = (int)rnd(m, NSLOT + 1);
	char path[512];
	int r;

	slot_path(m, k, path, sizeof(path));
	r = unlink(path);
	expect(m, "unlink", path, r, m->file[k] ? 0 : ENOENT);
	if (r == 0)
		m->file[k] = false;
}

static void op_stat(struct model *m)
{
	int k = (int)rnd(m, NSLOT + 1);
	char path[512];
	struct stat st;
	int r;

	slot_path(m, k, path, sizeof(path));
	r = stat(path, &st);
	expect(m, "stat", path, r, m->file[k] ? 0 : ENOENT);
	if (r == 0 && m->file[k] && st.st_size != (off_t)strlen(m->content[k]))
		bad(m->p, m->t, "stat %s: size %lld, the model %zu", path, (long long)st.st_size,
		    strlen(m->content[k]));
}

static void op_mkdir(struct model *m)
{
	int k = (int)rnd(m, NDIRS);
	char path[512];
	int r;

	dir_path(m, k, path, sizeof(path));
	r = mkdir(path, 0755);
	expect(m, "mkdir", path, r, m->dirp[k] ? EEXIST : 0);
	if (r == 0)
		m->dirp[k] = true;
}

static void op_rmdir(struct model *m)
{
	int k = (int)rnd(m, NDIRS);
	char path[512];
	int r;

	dir_path(m, k, path, sizeof(path));
	r = rmdir(path);
	expect(m, "rmdir", path, r, m->dirp[k] ? 0 : ENOENT);
	if (r == 0)
		m->dirp[k] = false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void op_list(struct model *m)
{
	char *names[4096];
	size_t n = 0;
	struct dirent *d;
	char own[64];
	DIR *dp = opendir(dir);

	atomic_fetch_add(&sh->ops, 1);
	if (!dp) {
		bad(m->p, m->t, "opendir %s: %s", dir, ename(errno));
		return;
	}
	while ((d = readdir(dp)) && n < 4096) {
		if (!strncmp(d->d_name, ".wh.", 4))
			bad(m->p, m->t, "the listing shows %s", d->d_name);
		names[n++] = strdup(d->d_name);
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(names[i - 1], names[i]))
			bad(m->p, m->t, "the listing shows %s twice", names[i]);
	for (int k = 0; k <= NSLOT + NDIRS; k++) {
		const char *key = own;
		bool want, seen;

		if (k <= NSLOT) {
			slot_name(m, k, own, sizeof(own));
			want = m->file[k];
		} else {
			snprintf(own, sizeof(own), "d.%d.%d.%d", m->p, m->t, k - NSLOT - 1);
			want = m->dirp[k - NSLOT - 1];
		}
		seen = bsearch(&key, names, n, sizeof(names[0]), cmp_str) != NULL;
		if (seen != want)
			bad(m->p, m->t, "the listing %s %s, the model %s", seen ? "shows" : "lacks",
			    own, want ? "has it" : "has not");
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

static void op_log(struct model *m)
{
	int i = (int)rnd(m, NLOG);
	char path[512], rec[REC + 1];
	int fd;
	ssize_t w;

	if (m->seq[i] >= MAXSEQ)
		return;
	snprintf(path, sizeof(path), "%s/log%d", dir, i);
	fd = open(path, O_WRONLY | O_APPEND);
	expect(m, "open O_APPEND", path, fd, 0);
	if (fd < 0)
		return;
	snprintf(rec, sizeof(rec), "R %03d %03d %012lu xxxxxxxx\n", m->p, m->t, m->seq[i]);
	w = write(fd, rec, REC);
	if (w == REC)
		atomic_store(&sh->appends[m->p][m->t][i], ++m->seq[i]);
	else
		bad(m->p, m->t, "append to %s: %zd (%s)", path, w, ename(errno));
	close(fd);
}

static void *thread_main(void *arg)
{
	struct model *m = arg;

	while (!atomic_load(&sh->stop)) {
		switch (rnd(m, 12)) {
		case 0: case 1: op_create(m); break;
		case 2: op_append(m); break;
		case 3: op_rename(m); break;
		case 4: op_unlink(m); break;
		case 5: op_stat(m); break;
		case 6: op_mkdir(m); break;
		case 7: op_rmdir(m); break;
		case 8: op_list(m); break;
		default: op_log(m); break;
		}
	}
	for (int k = 0; k <= NSLOT; k++)
		check_file(m, k, "at the end");
	return NULL;
}

static int process_main(int p)
{
	pthread_t th[MAXT];
	struct model *m = calloc((size_t)threads, sizeof(*m));

	if (!m)
		return 2;
	for (int t = 0; t < threads; t++) {
		m[t].p = p;
		m[t].t = t;
		m[t].rng = ((uint64_t)p << 32 | (uint64_t)t) ^ (uint64_t)time(NULL) * 2654435761u;
		m[t].file[NSLOT] = true;	/* the base file */
		snprintf(m[t].content[NSLOT], CONTENT, "b.%d.%d\n", p, t);
		if (pthread_create(&th[t], NULL, thread_main, &m[t]))
			return 2;
	}
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	return 0;
}

/* Every record well-formed, none twice, every acknowledged one present. */
static void check_logs(void)
{
	static unsigned char seen[MAXP][MAXT][MAXSEQ];
	unsigned long records = 0;

	for (int i = 0; i < NLOG; i++) {
		char path[512], rec[REC + 1], head[64];
		ssize_t n;
		int fd;

		memset(seen, 0, sizeof(seen));
		snprintf(path, sizeof(path), "%s/log%d", dir, i);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			bad(-1, -1, "open %s: %s", path, ename(errno));
			continue;
		}
		/* The base's first line: "base logN" padded to a record. */
		snprintf(head, sizeof(head), "base log%d%*s\n", i, REC - 10, "");
		n = read(fd, rec, REC);
		if (n != REC || memcmp(rec, head, REC))
			bad(-1, -1, "%s does not start with its base line", path);
		while ((n = read(fd, rec, REC)) == REC) {
			int p, t;
			unsigned long s;
			char tail[16];

			rec[REC] = 0;
			if (sscanf(rec, "R %3d %3d %12lu %8s", &p, &t, &s, tail) != 4 || p < 0 ||
			    p >= procs || t < 0 || t >= threads || rec[REC - 1] != '\n' ||
			    strcmp(tail, "xxxxxxxx") || s >= MAXSEQ) {
				bad(-1, -1, "%s: a torn or foreign record at %lld: \"%.31s\"", path,
				    (long long)lseek(fd, 0, SEEK_CUR) - REC, rec);
				continue;
			}
			if (seen[p][t][s]++)
				bad(-1, -1, "%s: record %d/%d/%lu twice", path, p, t, s);
			records++;
		}
		if (n != 0)
			bad(-1, -1, "%s: a short record at the end (%zd bytes)", path, n);
		close(fd);
		for (int p = 0; p < procs; p++)
			for (int t = 0; t < threads; t++) {
				unsigned long want = atomic_load(&sh->appends[p][t][i]);

				for (unsigned long s = 0; s < want; s++)
					if (!seen[p][t][s])
						bad(-1, -1, "%s: lost append %d/%d/%lu (of %lu)", path, p,
						    t, s, want);
			}
	}
	printf("# %lu log records read back\n", records);
}

/* A name in TOPDIR beside its own whiteout (the union would show it and hide it at once). */
static void check_top(void)
{
	DIR *dp = opendir(top);
	struct dirent *d;
	char p[1024];
	struct stat st;

	if (!dp) {
		bad(-1, -1, "opendir %s: %s", top, ename(errno));
		return;
	}
	while ((d = readdir(dp))) {
		if (strncmp(d->d_name, ".wh.", 4) || !strncmp(d->d_name, ".wh..wh.", 8))
			continue;
		snprintf(p, sizeof(p), "%s/%s", top, d->d_name + 4);
		if (lstat(p, &st) == 0)
			bad(-1, -1, "%s is in the top branch beside its whiteout %s", d->d_name + 4,
			    d->d_name);
	}
	closedir(dp);
}

static int setup(const char *base, int np, int nt)
{
	char p[1024], line[64];
	int fd;

	for (int i = 0; i < NLOG; i++) {
		snprintf(p, sizeof(p), "%s/log%d", base, i);
		snprintf(line, sizeof(line), "base log%d%*s\n", i, REC - 10, "");
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (fd < 0 || write(fd, line, REC) != REC || close(fd) < 0)
			return 2;
	}
	for (int a = 0; a < np; a++)
		for (int b = 0; b < nt; b++) {
			snprintf(p, sizeof(p), "%s/b.%d.%d", base, a, b);
			snprintf(line, sizeof(line), "b.%d.%d\n", a, b);
			fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0666);
			if (fd < 0 || write(fd, line, strlen(line)) < 0 || close(fd) < 0)
				return 2;
		}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pids[MAXP];
	int seconds, st, failed = 0;
	struct timespec t0, t1;

	if (argc == 5 && !strcmp(argv[1], "setup"))
		return setup(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc != 7 || strcmp(argv[1], "run")) {
		fprintf(stderr, "usage: conc setup BASEDIR PROCS THREADS | "
				"conc run DIR TOPDIR PROCS THREADS SECONDS\n");
		return 2;
	}
	dir = argv[2];
	top = argv[3];
	procs = atoi(argv[4]);
	threads = atoi(argv[5]);
	seconds = atoi(argv[6]);
	if (procs < 1 || procs > MAXP || threads < 1 || threads > MAXT || seconds < 1) {
		fprintf(stderr, "conc: at most %d processes of %d threads\n", MAXP, MAXT);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int p = 0; p < procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0)
			return 2;
		if (pids[p] == 0)
			_exit(process_main(p));
	}
	sleep((unsigned)seconds);
	atomic_store(&sh->stop, 1);
	for (int p = 0; p < procs; p++) {
		if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "conc: process %d ended with status %#x\n", p, st);
			failed = 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check_logs();
	check_top();
	printf("conc: %d processes x %d threads, %.1f s: %lu operations, %lu errors%s\n", procs,
	       threads,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       atomic_load(&sh->ops), atomic_load(&sh->errors),
	       failed ? ", a process died" : "");
	return atomic_load(&sh->errors) || failed ? 1 : 0;
}
