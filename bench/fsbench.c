/* SPDX-License-Identifier: MIT */
/*
 * fsbench: file system micro-benchmark for bench/run.sh.
 *
 *   fsbench [-o OP,...] [-n MULT] [-c COUNT] [-t SECS] [-e EXPECT] [-v] ROOT MANIFEST
 *   fsbench -E ROOT MANIFEST > EXPECT
 *
 * ROOT is the tree to measure (a plain directory or a union's mount point), MANIFEST a
 * directory of lists of paths relative to ROOT, one a line (top.lst, base.lst, missing.lst,
 * whiteout.lst, read.lst, dirs.lst, copyup.lst, rename.lst, depth1.lst, depth4.lst,
 * depth8.lst, files.lst; a missing list disables the operations that use it).
 *
 * Every operation runs a fixed count (its default times MULT, or exactly COUNT with -c),
 * after an untimed warm-up pass, timed with CLOCK_MONOTONIC. An operation over a list runs
 * whole passes over it; one whose passes take longer than SECS (default 0.5) stops at the end
 * of the pass that crosses it (not with -c). The results are checked against EXPECT, which
 * -E computes on the plain tree: the sum of st_size of every stat pass, ENOENT for every
 * missing name, the bytes read, the number of entries of every readdir pass, the sizes after
 * the appends and renames. Output, one line per operation:
 *
 *   op ops_per_sec          or          op WRONG      (the reason on stderr)
 *
 * -v prints each operation's count and time on stderr.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct list {
	const char *name;
	char **path;
	size_t n;
	int loaded;
};

enum { L_TOP, L_BASE, L_MISSING, L_WHITEOUT, L_READ, L_DIRS, L_COPYUP, L_RENAME, L_D1, L_D4,
	L_D8, L_FILES, L_COUNT };

static struct list lists[L_COUNT] = {
	[L_TOP] = { "top" }, [L_BASE] = { "base" }, [L_MISSING] = { "missing" },
	[L_WHITEOUT] = { "whiteout" }, [L_READ] = { "read" }, [L_DIRS] = { "dirs" },
	[L_COPYUP] = { "copyup" }, [L_RENAME] = { "rename" }, [L_D1] = { "depth1" },
	[L_D4] = { "depth4" }, [L_D8] = { "depth8" }, [L_FILES] = { "files" },
};

enum kind { K_STAT, K_STAT_ENOENT, K_STAT_COLD, K_READ, K_READDIR, K_COPYUP, K_APPEND,
	K_CREATE, K_RENAME, K_MKDIR };

struct op {
	const char *name;
	enum kind kind;
	int list;
	double count; /* default operation count; 0: once per list entry */
	int dflt;     /* part of the default set */
};

static const struct op ops[] = {
	{ "stat_cold", K_STAT_COLD, L_FILES, 0, 0 },
	{ "stat_all", K_STAT, L_FILES, 200000, 0 },
	{ "stat_top", K_STAT, L_TOP, 200000, 1 },
	{ "stat_base", K_STAT, L_BASE, 200000, 1 },
	{ "stat_missing", K_STAT_ENOENT, L_MISSING, 200000, 1 },
	{ "stat_whiteout", K_STAT_ENOENT, L_WHITEOUT, 200000, 1 },
	{ "stat_d1", K_STAT, L_D1, 200000, 1 },
	{ "stat_d4", K_STAT, L_D4, 200000, 1 },
	{ "stat_d8", K_STAT, L_D8, 200000, 1 },
	{ "open_read", K_READ, L_READ, 50000, 1 },
	{ "readdir", K_READDIR, L_DIRS, 3000, 1 },
	{ "copyup", K_COPYUP, L_COPYUP, 0, 1 },
	{ "append", K_APPEND, L_COPYUP, 0, 1 },
	{ "create_unlink", K_CREATE, L_DIRS, 20000, 1 },
	{ "rename", K_RENAME, L_RENAME, 0, 1 },
	{ "mkdir_rmdir", K_MKDIR, L_DIRS, 20000, 1 },
	{ "readdir_dirty", K_READDIR, L_DIRS, 3000, 1 },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static const char *root;
static double mult = 1.0, cap = 0.5;
static long exact = -1;
static int verbose;
static int wrong_any;

/* expectations */
#define NEXP 64
static struct { char key[64]; long long val; } expect[NEXP];
static int nexpect;

static int get_expect(const char *key, long long *val)
{
	for (int i = 0; i < nexpect; i++)
		if (strcmp(expect[i].key, key) == 0) {
			*val = expect[i].val;
			return 1;
		}
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void load_list(const char *manifest, struct list *l)
{
	char p[4096], line[4096];
	snprintf(p, sizeof(p), "%s/%s.lst", manifest, l->name);
	FILE *f = fopen(p, "r");
	if (!f)
		return;
	size_t cap_n = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\n");
		line[len] = 0;
		if (!len)
			continue;
		if (l->n == cap_n) {
			cap_n = cap_n ? cap_n * 2 : 1024;
			l->path = realloc(l->path, cap_n * sizeof(char *));
			if (!l->path) {
				perror("fsbench: realloc");
				exit(2);
			}
		}
		const char *rel = line;
		while (rel[0] == '.' && rel[1] == '/')
			rel += 2;
		if (strcmp(rel, ".") == 0 || !*rel)
			l->path[l->n] = strdup(root);
		else if (asprintf(&l->path[l->n], "%s/%s", root, rel) < 0)
			l->path[l->n] = NULL;
		if (!l->path[l->n]) {
			perror("fsbench: strdup");
			exit(2);
		}
		l->n++;
	}
	fclose(f);
	l->loaded = 1;
}

static void fail(const char *op, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fsbench: %s: ", op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------------ the operations */

/*
 * The operations themselves, never inlined: make bench's callgrind counts only
 * inside these (--toggle-collect), not the loading and checking around them,
 * whose string functions' instructions vary with the alignment of the list's
 * strings from one run to the next.
 */
#define PASS static __attribute__((noinline))

/* One stat pass over a list: returns the sum of st_size; *bad counts unexpected results. */
PASS long long stat_pass(struct list *l, size_t n, int want_enoent, long *bad)
{
	long long sum = 0;
	struct stat st;
	for (size_t i = 0; i < n; i++) {
		const char *p = l->path[i % l->n];
		if (stat(p, &st) == 0) {
			sum += st.st_size;
			if (want_enoent)
				(*bad)++;
		} else if (!want_enoent || errno != ENOENT) {
			(*bad)++;
		}
	}
	return sum;
}

static char rbuf[4096];

PASS long long read_pass(struct list *l, size_t n, long *bad)
{
	long long sum = 0;
	for (size_t i = 0; i < n; i++) {
		int fd = open(l->path[i % l->n], O_RDONLY);
		if (fd < 0) {
			(*bad)++;
			continue;
		}
		ssize_t r = read(fd, rbuf, sizeof(rbuf));
		if (r < 0)
			(*bad)++;
		else
			sum += r;
		close(fd);
	}
	return sum;
}

PASS long long readdir_pass(struct list *l, size_t n, long *bad)
{
	long long entries = 0;
	for (size_t i = 0; i < n; i++) {
		DIR *d = opendir(l->path[i % l->n]);
		if (!d) {
			(*bad)++;
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (!(e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))))
				entries++;
		closedir(d);
	}
	return entries;
}

static const char tag[16] = "0123456789abcde\n";

PASS void append_pass(struct list *l, size_t n, long *bad)
{
	for (size_t i = 0; i < n; i++) {
		int fd = open(l->path[i], O_WRONLY | O_APPEND);
		if (fd < 0) {
			(*bad)++;
			continue;
		}
		if (write(fd, tag, sizeof(tag)) != (ssize_t)sizeof(tag))
			(*bad)++;
		close(fd);
	}
}

static unsigned long serial;

PASS void create_pass(struct list *l, size_t n, long *bad)
{
	char p[4200];
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/bench-new-%lu.tmp", l->path[serial % l->n], serial);
		serial++;
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			(*bad)++;
			continue;
		}
		close(fd);
		if (unlink(p) != 0)
			(*bad)++;
	}
}

PASS void mkdir_pass(struct list *l, size_t n, long *bad)
{
	char p[4200];
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/bench-dir-%lu", l->path[serial % l->n], serial);
		serial++;
		if (mkdir(p, 0755) != 0 || rmdir(p) != 0)
			(*bad)++;
	}
}

static char **renamed;

PASS void rename_pass(struct list *l, size_t n, long *bad)
{
	for (size_t i = 0; i < n; i++)
		if (rename(l->path[i], renamed[i]) != 0)
			(*bad)++;
}

/* ------------------------------------------------------------------ running one */

static long appends_done; /* appends made to the copy-up list, 16 bytes each */

static void run_op(const struct op *op)
{
	struct list *l = &lists[op->list];
	long long exp = 0, got = 0;
	char key[80];
	long bad = 0;
	int have_exp = 0, check = 1;
	size_t n, pass;
	double t0, t1;

	if (!l->loaded || l->n == 0) {
		fprintf(stderr, "fsbench: %s: no %s.lst, skipped\n", op->name, l->name);
		return;
	}
	pass = l->n;
	if (exact >= 0)
		n = (size_t)exact;
	else if (op->count == 0)
		n = l->n;
	else
		n = (size_t)(op->count * mult + 0.5);
	if (n < 1)
		n = 1;
	if (op->count == 0 && n > l->n)
		n = l->n;
	/* whole passes unless the count is exact */
	if (op->count != 0 && exact < 0 && op->kind != K_CREATE && op->kind != K_MKDIR)
		n = (n + pass - 1) / pass * pass;
	if (op->kind == K_STAT_COLD && exact < 0)
		n = pass;

	size_t done = 0;
	switch (op->kind) {
	case K_STAT:
	case K_STAT_ENOENT:
	case K_STAT_COLD:
	case K_READ:
	case K_READDIR: {
		int enoent = op->kind == K_STAT_ENOENT;
		long long (*fn)(struct list *, size_t, long *) = NULL;
		if (op->kind == K_READ) {
			snprintf(key, sizeof(key), "read_%s", l->name);
		} else if (op->kind == K_READDIR) {
			snprintf(key, sizeof(key), "entries_%s", l->name);
		} else {
			snprintf(key, sizeof(key), enoent ? "exist_%s" : "sum_%s", l->name);
		}
		have_exp = get_expect(key, &exp);
		if (op->kind == K_STAT_COLD) {
			t0 = now();
			got = stat_pass(l, n, 0, &bad);
			t1 = now();
			done = n;
			if (done % pass != 0)
				check = 0;
			else
				exp *= (long long)(done / pass);
			break;
		}
		/* warm-up: one pass */
		long wbad = 0;
		if (op->kind == K_READ)
			fn = read_pass;
		else if (op->kind == K_READDIR)
			fn = readdir_pass;
		if (fn)
			fn(l, pass, &wbad);
		else
			stat_pass(l, pass, enoent, &wbad);
		t0 = now();
		t1 = t0;
		while (done < n) {
			size_t chunk = n - done < pass ? n - done : pass;
			if (fn)
				got += fn(l, chunk, &bad);
			else
				got += stat_pass(l, chunk, enoent, &bad);
			done += chunk;
			t1 = now();
			if (exact < 0 && t1 - t0 > cap)
				break;
		}
		if (enoent) {
			got = bad; /* names that exist are counted as bad */
			exp = 0;
		}
		if (done % pass != 0)
			check = 0;
		else
			exp *= (long long)(done / pass);
		break;
	}
	case K_COPYUP:
	case K_APPEND: {
		struct stat st;
		long wbad = 0;
		/* warm-up: look up the whole list (a constant cost, whatever the count) */
		if (op->kind == K_COPYUP || appends_done == 0) {
			for (size_t i = 0; i < l->n; i++)
				if (stat(l->path[i], &st) != 0)
					wbad++;
		}
		if (op->kind == K_APPEND && appends_done == 0) {
			append_pass(l, l->n, &wbad); /* the copy-up of the whole list, untimed */
			appends_done += (long)l->n;
		}
		t0 = now();
		append_pass(l, n, &bad);
		t1 = now();
		done = n;
		appends_done += (long)n;
		bad += wbad;
		/* verify: sizes of the whole list = original + 16 per append */
		have_exp = get_expect("sum_copyup", &exp);
		exp += (long long)sizeof(tag) * appends_done;
		for (size_t i = 0; i < l->n; i++)
			if (stat(l->path[i], &st) == 0)
				got += st.st_size;
		break;
	}
	case K_RENAME: {
		struct stat st;
		/* warm-up and checks over the whole list: a constant cost, whatever the count */
		renamed = calloc(l->n, sizeof(char *));
		for (size_t i = 0; i < l->n; i++) {
			if (asprintf(&renamed[i], "%s.renamed", l->path[i]) < 0)
				exit(2);
			if (stat(l->path[i], &st) != 0)
				bad++;
		}
		t0 = now();
		rename_pass(l, n, &bad);
		t1 = now();
		done = n;
		/* verify: the old names are gone, the new ones have the sizes */
		for (size_t i = 0; i < l->n; i++) {
			int old_there = stat(l->path[i], &st) == 0;
			if (!old_there && errno != ENOENT)
				bad++;
			if (stat(renamed[i], &st) == 0) {
				got += st.st_size;
				bad += old_there || i >= n;
			} else {
				bad += errno != ENOENT || i < n;
			}
		}
		/* the expectation is for the whole list; only check it when all were renamed */
		if (n != l->n)
			check = 0;
		have_exp = get_expect("sum_rename", &exp);
		break;
	}
	case K_CREATE:
	case K_MKDIR: {
		long wbad = 0;
		void (*fn)(struct list *, size_t, long *) = op->kind == K_CREATE ? create_pass : mkdir_pass;
		/* warm-up: one pass over the directories (each one is copied up by then) */
		fn(l, l->n > 64 ? l->n : 64, &wbad);
		t0 = now();
		t1 = t0;
		while (done < n) {
			size_t chunk = n - done < 256 ? n - done : 256;
			fn(l, chunk, &bad);
			done += chunk;
			t1 = now();
			if (exact < 0 && t1 - t0 > cap)
				break;
		}
		bad += wbad;
		check = 0;
		break;
	}
	default:
		return;
	}

	int wrong = 0;
	if (bad) {
		fail(op->name, "%ld operations failed or gave an unexpected result", bad);
		wrong = 1;
	}
	if (have_exp && check && got != exp) {
		fail(op->name, "result %lld, expected %lld", got, exp);
		wrong = 1;
	}
	if (!have_exp && check && nexpect > 0 && op->kind != K_CREATE && op->kind != K_MKDIR)
		fprintf(stderr, "fsbench: %s: no expectation to check\n", op->name);
	double secs = t1 - t0;
	if (verbose)
		fprintf(stderr, "# %s ops=%zu secs=%.6f%s\n", op->name, done, secs, wrong ? " WRONG" : "");
	if (wrong) {
		printf("%s WRONG\n", op->name);
		wrong_any = 1;
	} else {
		printf("%s %.0f\n", op->name, secs > 0 ? (double)done / secs : 0.0);
	}
	fflush(stdout);
}

/* ------------------------------------------------------------------ -E */

static void compute_expect(void)
{
	struct stat st;
	for (int i = 0; i < L_COUNT; i++) {
		struct list *l = &lists[i];
		if (!l->loaded)
			continue;
		if (i == L_DIRS) {
			long bad = 0;
			printf("entries_%s %lld\n", l->name, readdir_pass(l, l->n, &bad));
			if (bad)
				fprintf(stderr, "fsbench: -E: %ld directories failed\n", bad);
			continue;
		}
		long long sum = 0, exist = 0;
		for (size_t k = 0; k < l->n; k++) {
			if (stat(l->path[k], &st) != 0)
				continue;
			exist++;
			sum += st.st_size;
		}
		printf("sum_%s %lld\nexist_%s %lld\n", l->name, sum, l->name, exist);
		if (i == L_READ) {
			long bad = 0;
			printf("read_%s %lld\n", l->name, read_pass(l, l->n, &bad));
		}
		if ((i == L_MISSING || i == L_WHITEOUT) && exist)
			fprintf(stderr, "fsbench: -E: %lld names of %s.lst exist\n", exist, l->name);
		if (i != L_MISSING && i != L_WHITEOUT && exist != (long long)l->n)
			fprintf(stderr, "fsbench: -E: %lld of %zu names of %s.lst are missing\n",
				(long long)l->n - exist, l->n, l->name);
	}
}

static void load_expect(const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		exit(2);
	}
	char key[64];
	long long val;
	while (nexpect < NEXP && fscanf(f, "%63s %lld", key, &val) == 2) {
		snprintf(expect[nexpect].key, sizeof(expect[nexpect].key), "%s", key);
		expect[nexpect++].val = val;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *sel = NULL, *expfile = NULL;
	int opt, do_expect = 0;
	while ((opt = getopt(argc, argv, "o:n:c:t:e:Ev")) != -1) {
		switch (opt) {
		case 'o': sel = optarg; break;
		case 'n': mult = atof(optarg); break;
		case 'c': exact = atol(optarg); break;
		case 't': cap = atof(optarg); break;
		case 'e': expfile = optarg; break;
		case 'E': do_expect = 1; break;
		case 'v': verbose = 1; break;
		default: goto usage;
		}
	}
	if (argc - optind != 2) {
usage:
		fprintf(stderr, "usage: fsbench [-o OP,...] [-n MULT] [-c COUNT] [-t SECS] [-e EXPECT] [-v] ROOT MANIFEST\n"
			"       fsbench -E ROOT MANIFEST\noperations:");
		for (size_t i = 0; i < NOPS; i++)
			fprintf(stderr, " %s", ops[i].name);
		fputc('\n', stderr);
		return 2;
	}
	root = argv[optind];
	for (int i = 0; i < L_COUNT; i++)
		load_list(argv[optind + 1], &lists[i]);
	if (do_expect) {
		compute_expect();
		return 0;
	}
	if (expfile)
		load_expect(expfile);

	for (size_t i = 0; i < NOPS; i++) {
		int on = ops[i].dflt;
		if (sel) {
			on = 0;
			size_t len = strlen(ops[i].name);
			for (const char *s = sel; *s; ) {
				size_t w = strcspn(s, ",");
				if (w == len && strncmp(s, ops[i].name, len) == 0)
					on = 1;
				s += w + (s[w] == ',');
			}
		}
		if (on)
			run_op(&ops[i]);
	}
	return wrong_any ? 1 : 0;
}
