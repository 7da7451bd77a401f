/* SPDX-License-Identifier: MIT */
/*
 * fuzz_resolve - the path resolver (aufs_resolve) on arbitrary bytes.
 *
 * The input is split at NUL bytes: the first part is a path (relative to the
 * mount point, or absolute when it starts with '/'), the next four are the
 * targets of the symlinks top/l0, top/d/l1, base/d/l2 and base/l3 of a layout
 * made once in a temporary directory (an empty part: no symlink there). A last
 * byte after them chooses the resolver's flags. What must hold for every input:
 * the call returns (a loop is ELOOP, never a hang: libFuzzer's -timeout), and an
 * answer inside the union (0, loc.u set) has a real path that lies inside one of
 * the branches, lexically and physically: its directory, and the object itself
 * unless it is a symlink the caller asked not to follow, resolve (realpath) to
 * that branch's root or below it.
 *
 * Layout: base (ro): d/ d/f d/sub/ f dd/x; top (rw): d/ d/g .wh.f dd/ (opaque) e/.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aufs/core.h"
#include "internal.h"

static char root[PATH_MAX], mnt[PATH_MAX], top[PATH_MAX], base[PATH_MAX];
static char real_top[PATH_MAX], real_base[PATH_MAX];
static struct aufs_config cfg;
static const char *const links[] = {"top/l0", "top/d/l1", "base/d/l2", "base/l3"};

static void die(const char *what)
{
	fprintf(stderr, "fuzz_resolve: %s: %s\n", what, strerror(errno));
	abort();
}

static void make(const char *rel, int dir)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (dir) {
		if (mkdir(p, 0755) < 0)
			die(p);
		return;
	}
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, rel, strlen(rel)) < 0 || close(fd) < 0)
		die(p);
}

/* The shared state the union made in top (a System V segment): gone with the fuzzer. */
static void remove_state(void)
{
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);

	for (int i = 0; i <= max; i++) {
		struct shmid_ds ds;
		int id = shmctl(i, SHM_STAT, &ds);

		if (id >= 0 && ds.shm_cpid == getpid())
			shmctl(id, IPC_RMID, NULL);
	}
	if (root[0]) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz_resolve: could not remove %s\n", root);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct aufs_union *u = NULL;
	struct aufs_err err;
	char opts[3 * PATH_MAX];
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(root, sizeof(root), "%s/aufs-fuzz-resolve.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		die("mkdtemp");
	atexit(remove_state);
	static const char *const dirs[] = {"base", "top", "m", "base/d", "base/d/sub", "base/dd",
					   "top/d", "top/dd", "top/e"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		make(dirs[i], 1);
	make("base/d/f", 0);
	make("base/f", 0);
	make("base/dd/x", 0);
	make("top/d/g", 0);
	make("top/.wh..wh.aufs", 0);
	snprintf(top, sizeof(top), "%s/top/.wh..wh.aufs", root);
	snprintf(base, sizeof(base), "%s/top/.wh.f", root);
	if (link(top, base) < 0)
		die("link .wh.f");
	snprintf(base, sizeof(base), "%s/top/dd/.wh..wh..opq", root);
	if (link(top, base) < 0)
		die("link .wh..wh..opq");
	snprintf(mnt, sizeof(mnt), "%s/m", root);
	snprintf(top, sizeof(top), "%s/top", root);
	snprintf(base, sizeof(base), "%s/base", root);
	if (!realpath(top, real_top) || !realpath(base, real_base))
		die("realpath");
	snprintf(opts, sizeof(opts), "br:%s=rw:%s=ro", top, base);
	aufs_config_init(&cfg);
	if (aufs_union_parse(opts, mnt, &u, &err) < 0 || aufs_config_add(&cfg, u, &err) < 0) {
		fprintf(stderr, "fuzz_resolve: %s\n", err.msg);
		abort();
	}
	aufs_state_publish(&cfg);
	return 0;
}

static int inside(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

static void check_inside(const char *what, const char *p, const char *input_path)
{
	char rp[PATH_MAX];

	if (!realpath(p, rp))
		return;	/* removed or not there: nothing for the kernel to follow */
	if (!inside(rp, real_top) && !inside(rp, real_base)) {
		fprintf(stderr, "fuzz_resolve: \"%s\" resolved in the union to a real path whose "
				"%s %s is %s: outside every branch\n",
			input_path, what, p, rp);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct aufs_loc loc;
	char path[PATH_MAX + 64], part[PATH_MAX];
	const char *parts[6] = {0};
	size_t lens[6] = {0}, np = 0, pos = 0;
	unsigned flags = 0;
	int r;

	while (np < 6 && pos <= size) {
		const uint8_t *z = memchr(data + pos, 0, size - pos);
		size_t end = z ? (size_t)(z - data) : size;

		parts[np] = (const char *)data + pos;
		lens[np++] = end - pos;
		pos = end + 1;
		if (!z)
			break;
	}
	for (size_t i = 0; i < 4; i++) {
		char lp[PATH_MAX];

		snprintf(lp, sizeof(lp), "%s/%s", root, links[i]);
		(void)unlink(lp);
		if (i + 1 < np && lens[i + 1] > 0 && lens[i + 1] < PATH_MAX) {
			memcpy(part, parts[i + 1], lens[i + 1]);
			part[lens[i + 1]] = 0;
			(void)symlink(part, lp);
		}
	}
	if (np == 6 && lens[5] > 0)
		flags = (unsigned)parts[5][0] &
			(AUFS_RESOLVE_NOFOLLOW | AUFS_RESOLVE_DIRECTORY | AUFS_RESOLVE_EXCL);
	if (lens[0] >= PATH_MAX)
		return 0;
	if (lens[0] > 0 && parts[0][0] == '/')
		snprintf(path, sizeof(path), "%.*s", (int)lens[0], parts[0]);
	else
		snprintf(path, sizeof(path), "%s/%.*s", mnt, (int)lens[0], parts[0]);
	/* The links changed behind the union's back, as udba=reval allows: start afresh. */
	aufs_lookup_flush();
	r = aufs_resolve(AT_FDCWD, path, flags, &loc);
	if (r == 0 && loc.u) {
		char dir[PATH_MAX], *slash;

		if (!inside(loc.real, top) && !inside(loc.real, base)) {
			fprintf(stderr, "fuzz_resolve: \"%s\" resolved in the union to %s: "
					"not under a branch\n", path, loc.real);
			abort();
		}
		snprintf(dir, sizeof(dir), "%s", loc.real);
		slash = strrchr(dir, '/');
		/* a branch root itself: its directory is the host's */
		if (slash && strcmp(loc.real, top) && strcmp(loc.real, base)) {
			*slash = 0;
			check_inside("directory", dir, path);
		}
		if (loc.branch >= 0 && loc.type != DT_LNK)
			check_inside("object", loc.real, path);
	}
	return 0;
}
