/* SPDX-License-Identifier: MIT */
/*
 * mutate_whiteout.c - the aufs on-disk markers in a writable branch: ".wh.NAME" hides
 * NAME in every lower branch, ".wh..wh..opq" makes a directory opaque, and
 * ".wh..wh.aufs" in the branch root is the inode every whiteout is a hard link
 * of (so thousands of whiteouts cost one inode), unless the branch is +nolwh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

static int marker_path(const struct aufs_union *u, int b, const char *dir, size_t dlen,
		       const char *pfx, const char *name, char *buf)
{
	return branch_path_name(&u->branch[b], dir, dlen, pfx, name, strlen(name), buf);
}

/*
 * An empty regular file, made without a descriptor (mknod of S_IFREG needs no
 * privilege): the kernel's unlink and rename need none, so a process at its
 * descriptor limit must not get EMFILE from a whiteout. Like O_CREAT|O_EXCL it
 * fails with EEXIST on any name there, a dangling symlink too.
 */
static int create_empty(const char *path)
{
	return beneath_mknodat(path, S_IFREG | 0444, 0);
}

int wh_create(const struct aufs_union *u, int b, const char *dir, size_t dlen, const char *name)
{
	const struct aufs_branch *br = &u->branch[b];
	char path[PATH_MAX], base[PATH_MAX];
	int r;

	r = marker_path(u, b, dir, dlen, AUFS_WH_PREFIX, name, path);
	if (r < 0)
		return r;
	if (!(br->attr & AUFS_BRATTR_NOLWH) && br->len + sizeof(AUFS_WH_BASE) + 1 < PATH_MAX) {
		snprintf(base, sizeof(base), "%s/%s", br->path, AUFS_WH_BASE);
		/*
		 * The base inode is there but for the first whiteout of the branch. It is
		 * named by its path: the branch root's path is canonical and not the
		 * tenant's to change, and a link does not follow a last symlink.
		 */
		r = beneath_link_into(AT_FDCWD, base, 0, path);
		if (r == 0 || r == -EEXIST)
			goto out;
		r = r == -ENOENT ? create_empty(base) : r;
		if (r == 0 || r == -EEXIST) {
			r = beneath_link_into(AT_FDCWD, base, 0, path);
			if (r == 0 || r == -EEXIST)
				goto out;
		}
		/* EMLINK, a file system without hard links...: a plain whiteout then */
	}
	r = create_empty(path);
	if (r == -EEXIST)
		r = 0;
out:
	if (r == 0)
		shm_count(u, AUFS_CNT_WHITEOUTS);
	return r == -EEXIST ? 0 : r;
}

int wh_remove(const struct aufs_union *u, int b, const char *dir, size_t dlen, const char *name)
{
	char path[PATH_MAX];
	int r = marker_path(u, b, dir, dlen, AUFS_WH_PREFIX, name, path);

	if (r < 0)
		return r;
	r = beneath_unlinkat(path, 0);
	return r == -ENOENT ? 0 : r;
}

int wh_exists(const struct aufs_union *u, int b, const char *dir, size_t dlen, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int r = marker_path(u, b, dir, dlen, AUFS_WH_PREFIX, name, path);

	if (r == -ENAMETOOLONG)
		return 0;	/* the whiteout of a name this long cannot exist */
	if (r == 0)
		r = sys_lstat(path, &st);
	return r == 0 ? 1 : r == -ENOENT || r == -ENOTDIR || r == -EACCES ? 0 : r;
}

int wh_make_opaque(const struct aufs_union *u, int b, const char *dir, size_t dlen)
{
	char path[PATH_MAX];
	int r = marker_path(u, b, dir, dlen, "", AUFS_WH_OPQ, path);

	if (r < 0)
		return r;
	r = create_empty(path);
	return r == -EEXIST ? 0 : r;
}

/*
 * Levels of leftover directories wh_clear_dir() empties: a temporary of
 * rmdir_aside() inside another is two; the bound keeps a hostile tree from
 * exhausting the stack.
 */
#define WH_CLEAR_DEPTH 8

/*
 * Remove every name with the whiteout prefix in the directory open at FD. Such
 * a name that is a directory is the temporary of an rmdir whose emptying failed
 * before (".wh..wh.rmdir.PID.N": a removed directory, out of sight): it is
 * emptied the same way and removed, or the rmdir of its parent would fail with
 * EISDIR for good.
 */
static int clear_markers(int fd, int depth)
{
	char *buf = malloc(32768);
	ssize_t got = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	/* unlinking while reading is fine: names already returned are not returned again */
	while (r == 0 && (got = sys_getdents64(fd, buf, 32768)) > 0) {
		for (ssize_t off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);

			off += de->d_reclen;
			if (strncmp(de->d_name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN))
				continue;
			r = sys_unlinkat(fd, de->d_name, 0);
			if (r == -EISDIR && depth < WH_CLEAR_DEPTH) {
				int sub = sys_openat(fd, de->d_name,
						     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);

				r = sub < 0 ? sub : clear_markers(sub, depth + 1);
				if (sub >= 0)
					sys_close(sub);
				if (r == 0)
					r = sys_unlinkat(fd, de->d_name, AT_REMOVEDIR);
			}
			if (r == -ENOENT)
				r = 0;
			if (r < 0)
				break;
		}
	}
	if (r == 0 && got < 0)
		r = (int)got;	/* a listing that failed did not show every marker */
	free(buf);
	return r;
}

/*
 * The process number of a temporary AUFS_WH_PREFIX AUFS_WH_PREFIX KIND "." PID "." N
 * (KIND: cpup, mkdir, rmdir), or -1 when NAME is not one.
 */
static long temp_pid(const char *name)
{
	static const char *const kinds[] = { "cpup.", "mkdir.", "rmdir." };
	const char *p = name + 2 * AUFS_WH_PREFIX_LEN;
	long pid = 0;
	size_t i;

	if (strncmp(name, AUFS_WH_PREFIX AUFS_WH_PREFIX, 2 * AUFS_WH_PREFIX_LEN))
		return -1;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strncmp(p, kinds[i], strlen(kinds[i])))
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return -1;
	p += strlen(kinds[i]);
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9' && pid < 0x40000000L; p++)
		pid = pid * 10 + (*p - '0');
	return *p == '.' && pid > 0 && pid < 0x40000000L ? pid : -1;
}

static long temp_min_age = AUFS_TEMP_MIN_AGE;

void wh_set_temp_min_age(long seconds)
{
	temp_min_age = seconds < 0 ? AUFS_TEMP_MIN_AGE : seconds;
}

/* Is the temporary NAME of directory FD a leftover: its process gone, itself not new? */
static bool temp_is_leftover(int fd, const char *name, const struct timespec *now)
{
	long pid = temp_pid(name);
	struct stat st;

	if (pid < 0 || pid == (long)creds_pid() || sys_kill((pid_t)pid, 0) != -ESRCH)
		return false;	/* not a temporary, or its process (or a namesake) runs */
	/*
	 * The change time, which nobody can set back: a process of another PID
	 * namespace may hold the same number and be writing its temporary now.
	 */
	return sys_fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       now->tv_sec - st.st_ctim.tv_sec >= temp_min_age;
}

int wh_reap_temps(const struct aufs_union *u, int b, const char *dir, size_t dlen)
{
	char path[PATH_MAX], *buf;
	struct timespec now;
	ssize_t got;
	int fd, r, reaped = 0;

	r = branch_path(&u->branch[b], dir, dlen, path);
	if (r < 0)
		return r;
	if (clock_gettime(CLOCK_REALTIME, &now) != 0)
		return -EINVAL;
	fd = beneath_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	buf = malloc(32768);
	if (!buf) {
		sys_close(fd);
		return -ENOMEM;
	}
	while ((got = sys_getdents64(fd, buf, 32768)) > 0) {
		for (ssize_t off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);

			off += de->d_reclen;
			if (!temp_is_leftover(fd, de->d_name, &now))
				continue;
			r = sys_unlinkat(fd, de->d_name, 0);
			if (r == -EISDIR) {
				/* an mkdir's (its marker) or an rmdir's (whiteouts): markers only */
				int sub = sys_openat(fd, de->d_name,
						     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);

				r = sub < 0 ? sub : clear_markers(sub, 1);
				/* made without u+w (mkdir -m 0555): out of sight, its mode is ours */
				if (r == -EACCES && sys_fchmod(sub, S_IRWXU) == 0 &&
				    sys_lseek(sub, 0, SEEK_SET) == 0)
					r = clear_markers(sub, 1);
				if (sub >= 0)
					sys_close(sub);
				if (r == 0)
					r = sys_unlinkat(fd, de->d_name, AT_REMOVEDIR);
			}
			reaped += r == 0;
		}
	}
	free(buf);
	sys_close(fd);
	return got < 0 ? (int)got : reaped;
}

int wh_clear_dir(const struct aufs_union *u, int b, const char *dir, size_t dlen)
{
	char path[PATH_MAX];
	int fd, r;

	r = branch_path(&u->branch[b], dir, dlen, path);
	if (r < 0)
		return r;
	fd = beneath_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	r = clear_markers(fd, 0);
	sys_close(fd);
	return r;
}
