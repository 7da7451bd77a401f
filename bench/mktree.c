/* SPDX-License-Identifier: MIT */
/*
 * mktree: writes a synthetic CMS-like tree (nested directories of .php, .css and .js files, a
 * WordPress-shaped skeleton) for bench/run.sh. The tree depends only on the file count and
 * the seed, so the same command with one directory writes the merged tree that the same
 * command with several directories spreads over branches.
 *
 *   mktree [-s SEED] [-z MAXSIZE] [-u] NFILES DIR [DIR...]
 *
 * With several directories, every directory of the tree is made in each of them and each file
 * goes to one: the first (the top branch) gets about 5% of the files, the others share the
 * rest round-robin; -u spreads all the files round-robin over every directory. One file in
 * 97 contains the string aufs_bench_needle (for grep -r).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: deterministic, independent of libc */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rndn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *const words[] = {
	"admin", "ajax", "api", "assets", "block", "cache", "class", "comment", "core", "cron",
	"customize", "editor", "embed", "feed", "form", "gallery", "hooks", "http", "i18n", "image",
	"import", "includes", "lib", "link", "media", "menu", "meta", "nav", "network", "option",
	"page", "plugin", "post", "query", "rest", "rewrite", "role", "search", "session", "shortcode",
	"sitemap", "style", "taxonomy", "template", "theme", "user", "util", "vendor", "widget", "xml",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const skeleton[] = {
	"wp-admin", "wp-admin/css", "wp-admin/js", "wp-admin/includes", "wp-admin/images",
	"wp-admin/network", "wp-admin/user", "wp-includes", "wp-includes/js", "wp-includes/css",
	"wp-includes/blocks", "wp-includes/rest-api", "wp-includes/SimplePie", "wp-content",
	"wp-content/plugins", "wp-content/themes", "wp-content/languages",
};
#define NSKEL (sizeof(skeleton) / sizeof(skeleton[0]))

struct dir {
	char path[512];
	int depth;
	int kind; /* 0 mixed, 1 css, 2 js */
};

static struct dir *dirs;
static size_t ndirs, capdirs;
static char **roots;
static int nroots;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "mktree: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void mkdir_all(const char *rel)
{
	char p[4096];
	for (int r = 0; r < nroots; r++) {
		snprintf(p, sizeof(p), "%s/%s", roots[r], rel);
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			die("mkdir", p);
	}
}

static void add_dir(const char *path, int depth)
{
	if (ndirs == capdirs) {
		capdirs = capdirs ? capdirs * 2 : 256;
		dirs = realloc(dirs, capdirs * sizeof(*dirs));
		if (!dirs)
			die("realloc", "");
	}
	struct dir *d = &dirs[ndirs++];
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->depth = depth;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	d->kind = strncmp(base, "css", 3) == 0 ? 1 : strncmp(base, "js", 2) == 0 ? 2 : 0;
	if (*path)
		mkdir_all(path);
}

static size_t fill(char *buf, size_t size, const char *ext, unsigned long id, int needle)
{
	size_t n = 0;
	if (size == 0)
		return 0;	/* -z 0: empty files, for trees of a million names */
	if (strcmp(ext, "php") == 0)
		n += (size_t)snprintf(buf + n, size - n, "<?php\n/**\n * %s %lu\n */\n", words[id % NWORDS], id);
	else
		n += (size_t)snprintf(buf + n, size - n, "/* %s %lu */\n", words[id % NWORDS], id);
	if (needle)
		n += (size_t)snprintf(buf + n, size - n, "/* aufs_bench_needle */\n");
	unsigned long line = 0;
	while (n + 160 < size) {
		const char *a = words[rndn(NWORDS)], *b = words[rndn(NWORDS)];
		if (strcmp(ext, "php") == 0)
			n += (size_t)snprintf(buf + n, size - n,
				"function %s_%s_%lu_%lu( $arg ) {\n\treturn apply_filters( '%s_%s', $arg . '%lu' );\n}\n",
				a, b, id, line, a, b, line);
		else if (strcmp(ext, "css") == 0)
			n += (size_t)snprintf(buf + n, size - n,
				".%s-%s-%lu { margin: %lupx; color: #%06lx; }\n", a, b, line, line % 17,
				(unsigned long)(rnd() & 0xffffff));
		else
			n += (size_t)snprintf(buf + n, size - n,
				"function %s%s%lu(e){return e&&e.%s?e.%s(%lu):null}\n", a, b, line, a, b, line);
		line++;
	}
	while (n < size - 1)
		buf[n++] = '\n';
	return n;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	size_t maxsize = 16384;
	int uniform = 0, opt;
	while ((opt = getopt(argc, argv, "s:z:u")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'z': maxsize = strtoul(optarg, NULL, 0); break;
		case 'u': uniform = 1; break;
		default: goto usage;
		}
	}
	if (argc - optind < 2) {
usage:
		fprintf(stderr, "usage: mktree [-s SEED] [-z MAXSIZE] [-u] NFILES DIR [DIR...]\n");
		return 2;
	}
	unsigned long nfiles = strtoul(argv[optind], NULL, 0);
	roots = argv + optind + 1;
	nroots = argc - optind - 1;
	for (int r = 0; r < nroots; r++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/", roots[r]);
		for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
			*s = 0;
			if (mkdir(p, 0755) != 0 && errno != EEXIST)
				die("mkdir", p);
			*s = '/';
		}
	}
	rng_state = seed;

	add_dir("", 0);
	for (size_t i = 0; i < NSKEL; i++)
		add_dir(skeleton[i], strchr(skeleton[i], '/') ? 2 : 1);
	/* The deep chain for the depth benchmarks: files at depth 1, 4 and 8. */
	const char *chain = "wp-content/plugins/deep-plugin/src/Vendor/Package/Module";
	char part[512];
	for (const char *s = strchr(chain + strlen("wp-content/plugins/"), '/'); ; s = strchr(s + 1, '/')) {
		size_t len = s ? (size_t)(s - chain) : strlen(chain);
		snprintf(part, sizeof(part), "%.*s", (int)len, chain);
		int depth = 1;
		for (size_t k = 0; k < len; k++)
			depth += part[k] == '/';
		add_dir(part, depth);
		if (!s)
			break;
	}
	size_t fixed_dirs = ndirs;
	/* Plugins and themes, each a small nested tree: about 12 files a directory. */
	size_t want = nfiles / 12 + NSKEL + 1;
	unsigned long nplug = 0;
	while (ndirs < want) {
		char p[512];
		unsigned r = rndn(100);
		if (r < 6 || ndirs < fixed_dirs + 4) {
			const char *parent = rndn(4) ? "wp-content/plugins" : "wp-content/themes";
			snprintf(p, sizeof(p), "%s/%s-%s-%lu", parent, words[rndn(NWORDS)], words[rndn(NWORDS)], nplug++);
			add_dir(p, 3);
			continue;
		}
		/* a child of a random directory below the skeleton, at most depth 7 */
		struct dir *par = &dirs[1 + rndn((unsigned)(ndirs - 1))];
		if (par->depth >= 7 || strncmp(par->path, "wp-content/plugins/deep-plugin", 30) == 0)
			continue;
		const char *w = rndn(5) == 0 ? (rndn(2) ? "css" : "js") : words[rndn(NWORDS)];
		snprintf(p, sizeof(p), "%s/%s%zu", par->path, w, ndirs);
		add_dir(p, par->depth + 1);
	}

	char *buf = malloc(maxsize + 256);
	if (!buf)
		die("malloc", "");
	for (unsigned long i = 0; i < nfiles; i++) {
		struct dir *d;
		char name[128], rel[768], path[4096];
		const char *ext;
		if (i < 24) { /* the deep chain: 8 files at depth 1, 4 and 8 */
			static const char *const at[3] = { "", "wp-content/plugins/deep-plugin",
				"wp-content/plugins/deep-plugin/src/Vendor/Package/Module" };
			d = NULL;
			for (size_t k = 0; k < ndirs; k++)
				if (strcmp(dirs[k].path, at[i / 8]) == 0)
					d = &dirs[k];
			ext = "php";
			snprintf(name, sizeof(name), "%s-%lu.php", i < 8 ? "wp-load" : "loader", i % 8);
		} else {
			d = &dirs[1 + rndn((unsigned)(ndirs - 1))];
			unsigned e = rndn(100);
			ext = d->kind == 1 ? "css" : d->kind == 2 ? "js" : e < 72 ? "php" : e < 86 ? "js" : e < 96 ? "css" : "json";
			snprintf(name, sizeof(name), "%s%s-%s-%lu.%s", e % 3 ? "class-" : "", words[rndn(NWORDS)],
				words[rndn(NWORDS)], i, rndn(8) == 0 && strcmp(ext, "js") == 0 ? "min.js" : ext);
		}
		snprintf(rel, sizeof(rel), "%s%s%s", d->path, *d->path ? "/" : "", name);
		/* size: log-uniform between 128 bytes and maxsize; small maxsize: just that */
		double f = (double)(rnd() % 1000000) / 1000000.0;
		size_t size = maxsize <= 128 ? maxsize
					     : (size_t)(128.0 * exp(f * log((double)maxsize / 128.0)));
		if (size && size < 64)
			size = 64;
		size_t n = fill(buf, size, ext, i, i % 97 == 13);
		int r;
		if (nroots == 1)
			r = 0;
		else if (uniform)
			r = (int)(i % (unsigned long)nroots);
		else
			r = (i * 2654435761UL >> 7) % 20 == 0 ? 0 : 1 + (int)(i % (unsigned long)(nroots - 1));
		snprintf(path, sizeof(path), "%s/%s", roots[r], rel);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die("open", path);
		if (write(fd, buf, n) != (ssize_t)n)
			die("write", path);
		close(fd);
	}
	free(buf);
	printf("%lu files, %zu directories\n", nfiles, ndirs);
	return 0;
}
