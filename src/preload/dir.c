/* SPDX-License-Identifier: MIT */
/*
 * dir.c - directory streams. A directory inside a union gets our own DIR
 * (struct aufs_dir, whose first word is AUFS_DIR_MAGIC; glibc's DIR starts with
 * an fd and a lock word, which can never equal it), so every DIR function is
 * wrapped: opendir, fdopendir, readdir, readdir_r, rewinddir, seekdir, telldir,
 * dirfd, closedir, scandirat. Forwarders: readdir64, readdir64_r, scandir,
 * scandir64, scandirat64. glibc's scandir uses its internal readdir, so it is
 * rebuilt here on the merged stream (its prologue is gen.c's).
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

static struct aufs_dir *ours(DIR *d)
{
	return d && *(const uint64_t *)(const void *)d == AUFS_DIR_MAGIC ? (struct aufs_dir *)d
									   : NULL;
}

/*
 * The core's aufs_opendir() in the shape the DIR shims use: *RET_PASS when
 * outside every union; then HOST (PATH_MAX bytes) holds the host path if the path
 * left a union, else "".
 */
static int open_merged(int dirfd, const char *path, int fd, struct aufs_dir **ret, bool *ret_pass,
		       char *host)
{
	int r = aufs_opendir(dirfd, path, fd, ret, host);

	*ret_pass = r == AUFS_PASS || r == AUFS_PASS_HOST;
	if (r != AUFS_PASS_HOST)
		host[0] = 0;
	return *ret_pass ? 0 : r;
}

DIR *shim_opendir(const char *path)
{
	char host[PATH_MAX];
	struct aufs_dir *d;
	int saved, r;
	bool pass;
	DIR *dp;

	if (!shim_enter(&saved))
		return REAL(opendir)(path);
	if (!aufs_path_ok(path) || !*path)
		return REAL(opendir)(path);
	r = open_merged(AT_FDCWD, path, -1, &d, &pass, host);
	if (pass) {
		dp = REAL(opendir)(host[0] ? host : path);
		if (dp)
			aufs_note_outside_open(REAL(dirfd)(dp), AT_FDCWD, host[0] ? host : path);
		return dp;
	}
	if (r < 0) {
		aufs_ret(r, saved);
		return NULL;
	}
	errno = saved;
	return (DIR *)d;
}

DIR *shim_fdopendir(int fd)
{
	char host[PATH_MAX];
	struct aufs_dir *d;
	int saved, r;
	bool pass;

	if (!shim_enter(&saved) || !aufs_fd_known(fd))
		return REAL(fdopendir)(fd);
	r = open_merged(fd, "", fd, &d, &pass, host);
	if (pass)
		return REAL(fdopendir)(fd);
	if (r < 0) {
		aufs_ret(r, saved);
		return NULL;
	}
	errno = saved;
	return (DIR *)d;
}

struct dirent *shim_readdir(DIR *dp)
{
	struct aufs_dir *d = ours(dp);

	if (!d)
		return REAL(readdir)(dp);
	return (struct dirent *)aufs_dir_read(d);
}

int shim_readdir_r(DIR *dp, struct dirent *entry, struct dirent **result)
{
	struct aufs_dir *d = ours(dp);
	struct dirent64 *e;

	if (!d)
		return REAL(readdir_r)(dp, entry, result);
	e = aufs_dir_read(d);
	if (!e) {
		*result = NULL;
		return 0;
	}
	memcpy(entry, e, e->d_reclen < sizeof(*entry) ? e->d_reclen : sizeof(*entry));
	*result = entry;
	return 0;
}

void shim_rewinddir(DIR *dp)
{
	struct aufs_dir *d = ours(dp);

	if (!d)
		REAL(rewinddir)(dp);
	else
		aufs_dir_rewind(d);
}

void shim_seekdir(DIR *dp, long pos)
{
	struct aufs_dir *d = ours(dp);

	if (!d)
		REAL(seekdir)(dp, pos);
	else
		aufs_dir_seek(d, pos);
}

long shim_telldir(DIR *dp)
{
	struct aufs_dir *d = ours(dp);

	return d ? aufs_dir_tell(d) : REAL(telldir)(dp);
}

int shim_dirfd(DIR *dp)
{
	struct aufs_dir *d = ours(dp);

	return d ? aufs_dir_fd(d) : REAL(dirfd)(dp);
}

int shim_closedir(DIR *dp)
{
	struct aufs_dir *d = ours(dp);
	int saved;
	bool active = shim_enter(&saved);

	if (!d) {
		if (active && dp)
			aufs_fd_forget(REAL(dirfd)(dp));
		return REAL(closedir)(dp);
	}
	aufs_fd_set(aufs_dir_fd(d), NULL);
	return (int)aufs_ret(aufs_dir_close(d), saved);
}

/*
 * The entries of the merged stream D that SELECT keeps, sorted with CMP, into
 * *LIST; closes D. Returns their number or -ENOMEM.
 */
static long scan_merged(struct aufs_dir *d, struct dirent ***list,
			int (*select)(const struct dirent *),
			int (*cmp)(const struct dirent **, const struct dirent **))
{
	struct dirent **v = NULL, **nv, *copy;
	size_t n = 0, cap = 0;
	struct dirent64 *e;

	while ((e = aufs_dir_read(d))) {
		if (select && !select((struct dirent *)e))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto out_nomem;
			v = nv;
		}
		copy = malloc(e->d_reclen);
		if (!copy)
			goto out_nomem;
		memcpy(copy, e, e->d_reclen);
		v[n++] = copy;
	}
	aufs_fd_set(aufs_dir_fd(d), NULL);
	aufs_dir_close(d);
	if (cmp && n > 1)
		qsort(v, n, sizeof(*v), (int (*)(const void *, const void *))cmp);
	*list = v;
	return (long)n;
out_nomem:
	while (n)
		free(v[--n]);
	free(v);
	aufs_fd_set(aufs_dir_fd(d), NULL);
	aufs_dir_close(d);
	return -ENOMEM;
}

long verb_scandirat(int dirfd, const char *path, struct dirent ***list,
		    int (*select)(const struct dirent *),
		    int (*cmp)(const struct dirent **, const struct dirent **))
{
	char host[PATH_MAX];
	struct aufs_dir *d;
	bool pass;
	int r;

	path = AUFS_LAUNDER(path);
	if (!path || !*path)
		return AUFS_PASS;
	r = open_merged(dirfd, path, -1, &d, &pass, host);
	if (pass && host[0])	/* the path left the union: the host directory */
		return verb_real(REAL(scandirat)(AT_FDCWD, host, list, select, cmp));
	if (pass)
		return AUFS_PASS;
	return r < 0 ? r : scan_merged(d, list, select, cmp);
}
