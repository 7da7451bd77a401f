/* SPDX-License-Identifier: MIT */
/*
 * session.c - the session fstab of `aufs-run -o` (see session.h): create one, list
 * the trusted ones, tell which are in use, remove the others.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aufs/core.h"
#include "session.h"

#define PREFIX "aufs-run."
#define FSTAB_SUFFIX ".fstab"
#define IMAGE_SUFFIX ".image"
#define HEADER "# aufs-run session: pid "
/* names tried per start: a planted file takes one; past this many, something is wrong */
#define NAME_TRIES 32

int session_dir(char *buf, size_t size)
{
	const char *d = getenv("AUFS_TABLE_DIR");
	char real[PATH_MAX];

	if (!d || !*d)
		d = "/dev/shm";
	/* resolved: /proc/PID/maps names the image by its resolved path */
	if (!realpath(d, real))
		return -errno;
	if (snprintf(buf, size, "%s", real) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* Digits, at least one, into *V; the rest after them into *END. */
static bool number(const char *s, unsigned long long *v, const char **end)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &e, 10);
	*end = e;
	return errno == 0;
}

/* aufs-run.UID.PID.fstab or aufs-run.UID.PID.N.fstab: the UID. */
static bool session_name(const char *name, uid_t *uid)
{
	unsigned long long u, p, n;
	const char *s;

	if (strncmp(name, PREFIX, strlen(PREFIX)))
		return false;
	s = name + strlen(PREFIX);
	if (!number(s, &u, &s) || *s++ != '.' || !number(s, &p, &s) || u > (uid_t)-1)
		return false;
	if (*s == '.' && isdigit((unsigned char)s[1]) && !number(s + 1, &n, &s))
		return false;
	if (strcmp(s, FSTAB_SUFFIX))
		return false;
	*uid = (uid_t)u;
	return true;
}

/* The start time of PID (field 22 of /proc/PID/stat), or 0 when it runs no more. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* the command name (field 2) may hold spaces and parentheses: after its last ')' */
	p = strrchr(buf, ')');
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

/* The first line of the file at FD: pid and start; false when it is not ours. */
static bool read_header(int fd, pid_t *pid, unsigned long long *start)
{
	char buf[128];
	unsigned long long p, s;
	const char *e;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = 0;
	if (strncmp(buf, HEADER, strlen(HEADER)))
		return false;
	e = buf + strlen(HEADER);
	if (!number(e, &p, &e) || strncmp(e, " start ", 7) || !number(e + 7, &s, &e) ||
	    *e != '\n' || p == 0 || p > 0x7fffffff || s == 0)
		return false;
	*pid = (pid_t)p;
	*start = s;
	return true;
}

/* The image beside FSTAB: its name with .image for .fstab. */
static void image_of(const char *fstab, char *image, size_t size)
{
	size_t n = strlen(fstab) - strlen(FSTAB_SUFFIX);

	snprintf(image, size, "%.*s%s", (int)n, fstab, IMAGE_SUFFIX);
}

/*
 * Mark the sessions of S whose command ran out as in use when a process maps their
 * image (its path, or "PATH (deleted)" when a remount replaced it since): one pass
 * over /proc/ * /maps for all of them. Processes whose map the caller may not read
 * are not the caller's (a session's processes are its owner's, or root's). A
 * process started before the earliest of those commands is none of theirs: its
 * start time (a short read) spares reading its map (the long one), so that a host's
 * long-running processes cost little.
 */
static void mark_mapped(struct session *s, size_t n)
{
	unsigned long long earliest = ~0ull;
	size_t pending = 0;
	char path[64], *line = NULL;
	size_t cap = 0;
	struct dirent *e;
	DIR *d;

	for (size_t i = 0; i < n; i++)
		if (!s[i].in_use) {
			pending++;
			earliest = s[i].start < earliest ? s[i].start : earliest;
		}
	if (!pending || !(d = opendir("/proc")))
		return;
	while (pending && (e = readdir(d))) {
		FILE *f;
		ssize_t len;

		if (!isdigit((unsigned char)e->d_name[0]) ||
		    proc_start((pid_t)atoi(e->d_name)) < earliest)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/maps", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (pending && (len = getline(&line, &cap, f)) > 0) {
			char *p = strchr(line, '/');

			if (!p)
				continue;
			if (line[len - 1] == '\n')
				line[--len] = 0;
			for (size_t i = 0; i < n; i++) {
				size_t il = strlen(s[i].image);

				if (!s[i].in_use && !strncmp(p, s[i].image, il) &&
				    (!p[il] || !strcmp(p + il, " (deleted)"))) {
					s[i].in_use = true;
					pending--;
				}
			}
		}
		fclose(f);
	}
	free(line);
	closedir(d);
}

int session_list(const char *dir, struct session **ret, size_t *ret_n)
{
	struct session *s = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	*ret = NULL;
	*ret_n = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct session one = { 0 };
		struct stat st;
		int fd;

		if (!session_name(e->d_name, &one.uid) ||
		    snprintf(one.fstab, sizeof(one.fstab), "%s/%s", dir, e->d_name) >=
			    (int)sizeof(one.fstab))
			continue;
		/* never a link, never a file its name does not describe, never a shared one */
		fd = open(one.fstab, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != one.uid ||
		    (st.st_mode & (S_IWGRP | S_IWOTH)) || !read_header(fd, &one.pid, &one.start)) {
			close(fd);
			continue;
		}
		close(fd);
		image_of(one.fstab, one.image, sizeof(one.image));
		one.in_use = proc_start(one.pid) == one.start;
		struct session *t = realloc(s, (n + 1) * sizeof(*s));

		if (!t) {
			free(s);
			closedir(d);
			return -ENOMEM;
		}
		s = t;
		s[n++] = one;
	}
	closedir(d);
	mark_mapped(s, n);
	*ret = s;
	*ret_n = n;
	return 0;
}

/* Unlink PATH if it is a regular file of UID (or root's): never a stranger's file. */
static void unlink_owned(const char *path, uid_t uid)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_uid == uid || st.st_uid == 0))
		(void)unlink(path);
}

int session_sweep(const char *dir)
{
	struct session *s;
	size_t n;
	uid_t me = geteuid();
	int removed = 0;

	if (session_list(dir, &s, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i].in_use || (me != 0 && me != s[i].uid))
			continue;
		/* the fstab first: a session without it is no session, whatever its image */
		if (unlink(s[i].fstab) == 0 || errno == ENOENT) {
			unlink_owned(s[i].image, s[i].uid);
			removed++;
		}
	}
	free(s);
	return removed;
}

/* Create PATH for this user alone to have made: 0644, not over anything. */
static int create_excl(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0) {	/* whatever the umask: other users' processes read it */
		int e = errno;

		close(fd);
		unlink(path);
		return -e;
	}
	return fd;
}

int session_create(const char *dir, const char *lines, char *fstab, char *image, char *why,
		   size_t why_size)
{
	pid_t pid = getpid();
	unsigned long long start = proc_start(pid);
	unsigned uid = (unsigned)geteuid();
	int r = -EEXIST;

	if (!start) {
		snprintf(why, why_size, "cannot read /proc/%d/stat", (int)pid);
		return -ENOENT;
	}
	for (int k = 0; k < NAME_TRIES; k++) {
		struct aufs_err err = { 0 }, notice = { 0 };
		struct aufs_config *cfg = NULL;
		char head[96];
		int fd, img;
		size_t len = strlen(lines);

		if ((k ? snprintf(fstab, PATH_MAX, "%s/" PREFIX "%u.%d.%d" FSTAB_SUFFIX, dir, uid,
				  (int)pid, k) :
			 snprintf(fstab, PATH_MAX, "%s/" PREFIX "%u.%d" FSTAB_SUFFIX, dir, uid,
				  (int)pid)) >= PATH_MAX) {
			snprintf(why, why_size, "%s: %s", dir, strerror(ENAMETOOLONG));
			return -ENAMETOOLONG;
		}
		image_of(fstab, image, PATH_MAX);
		fd = create_excl(fstab);
		if (fd == -EEXIST)
			continue;	/* planted, or left by a session still in use */
		if (fd < 0) {
			snprintf(why, why_size, "cannot create %s: %s", fstab, strerror(-fd));
			return fd;
		}
		/* the image's name too is ours before anything is compiled into it */
		img = create_excl(image);
		if (img < 0) {
			close(fd);
			unlink(fstab);
			if (img == -EEXIST)
				continue;
			snprintf(why, why_size, "cannot create %s: %s", image, strerror(-img));
			return img;
		}
		close(img);
		snprintf(head, sizeof(head), HEADER "%d start %llu\n", (int)pid, start);
		if (write(fd, head, strlen(head)) != (ssize_t)strlen(head) ||
		    write(fd, lines, len) != (ssize_t)len || close(fd) < 0) {
			r = -errno;
			snprintf(why, why_size, "cannot write %s: %s", fstab, strerror(errno));
			unlink(fstab);
			unlink(image);
			return r;
		}
		r = aufs_table_open(fstab, image,
				    AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FORCE | AUFS_TABLE_MUST_WRITE,
				    &cfg, &err, &notice);
		if (r == 0)
			return 0;	/* cfg stays mapped: aufs-run execs its command */
		unlink(fstab);
		unlink(image);
		snprintf(why, why_size, "%s", err.msg);
		if (notice.code != -EROFS)
			return r;	/* the lines themselves: no other name helps */
		/* a temporary of the image's name was taken: try the next name */
	}
	if (r == -EEXIST)
		snprintf(why, why_size, "%d names of %s/" PREFIX "%u.%d.* are taken", NAME_TRIES, dir,
			 uid, (int)pid);
	return r;
}

bool session_read_lines(const char *file, char **lines)
{
	const char *base = strrchr(file, '/');
	struct aufs_err err = { 0 };
	char *text = NULL, *nl;
	size_t len;
	uid_t uid;
	pid_t pid;
	unsigned long long start;
	int fd;

	if (!session_name(base ? base + 1 : file, &uid))
		return false;
	fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (!read_header(fd, &pid, &start)) {
		close(fd);
		return false;
	}
	close(fd);
	if (aufs_fstab_read(file, &text, &len, NULL, &err) < 0)
		return false;
	nl = strchr(text, '\n');
	if (strncmp(text, HEADER, strlen(HEADER)) || !nl) {	/* replaced since */
		free(text);
		return false;
	}
	memmove(text, nl + 1, strlen(nl + 1) + 1);
	*lines = text;
	return true;
}
