/* SPDX-License-Identifier: MIT */
/*
 * aufsctl_plink.c - aufsctl flush (pseudo-links made real hard links, what aufs's
 * auplink does) and aufsctl check --xino (tables of inode numbers no process
 * maps any more).
 *
 * flush: the pseudo-links of a union are read from its xino file; each names the
 * union inode number of a file of a lower branch. That branch is walked for the
 * file's names (its real inode number: find -inum, as auplink), and each name the
 * union shows through the pseudo-link is linked to the copy in the copy's branch,
 * its directories copied up first (the core does that, looking each name up as a
 * process of the union would). A pseudo-link all of whose names were linked is
 * dropped: its entry, then its name in .wh..wh.plnk.
 *
 * check --xino: a table lives as long as some process of its union maps it, as
 * the union's System V segment does; nothing tells a file that its last process
 * is gone, so this finds the tables in the xino directory no process maps
 * (/proc/PID/maps) and, with --repair, removes them. Only root sees every
 * process's maps: another user's check says what it cannot tell, removes nothing
 * of which it cannot tell. A process whose maps root cannot read either (the init
 * of a container without ptrace rights) is said in a note and taken for none of
 * a union. A process that maps a table in the moment between the scan and the
 * removal keeps the removed file, and its union's next process makes another:
 * numbers kept for copies then differ between the two until the first ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "aufsctl.h"

/* ---------------------------------------------------------------- flush */

/* The walk's state: nftw's callback has no argument. */
static struct {
	struct aufs_union *u;
	struct aufs_plink *links;
	bool *failed;		/* per pseudo-link: a name of it could not be linked */
	int nlinks, branch;
	size_t root_len;
	unsigned linked, errors;
} fl;

static int by_num(const void *a, const void *b)
{
	const struct aufs_plink *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

static int flush_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *name = path + ftw->base;
	struct aufs_plink key, *hit;
	char virt[PATH_MAX];
	int r;

	if (!strncmp(name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN))
		return type == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;	/* the union's own */
	if (type != FTW_F && type != FTW_SL)
		return FTW_CONTINUE;
	if (st->st_nlink < 2)
		return FTW_CONTINUE;	/* a file of one name was never pseudo-linked */
	key.num = aufs_plink_key(fl.u, fl.branch, st);
	hit = bsearch(&key, fl.links, (size_t)fl.nlinks, sizeof(key), by_num);
	if (!hit || hit->branch >= fl.branch)
		return FTW_CONTINUE;
	if ((size_t)snprintf(virt, sizeof(virt), "%s%s", strcmp(fl.u->mnt, "/") ? fl.u->mnt : "",
			     path + fl.root_len) >= sizeof(virt)) {
		fprintf(stderr, "aufsctl: flush: %s: %s\n", path, strerror(ENAMETOOLONG));
		fl.failed[hit - fl.links] = true;
		fl.errors++;
		return FTW_CONTINUE;
	}
	r = aufs_plink_flush_name(virt, key.num);
	if (r > 0) {
		printf("linked %s\n", virt);
		fl.linked++;
	} else if (r < 0) {
		fprintf(stderr, "aufsctl: flush: %s: %s\n", virt, strerror(-r));
		fl.failed[hit - fl.links] = true;
		fl.errors++;
	}
	return FTW_CONTINUE;
}

int ctl_flush(const struct ctl_args *a)
{
	struct aufs_config cfg;
	struct aufs_err err = { 0 };
	int r = ctl_load(a, &cfg, &fl.u), n, dropped = 0;

	if (r)
		return r;
	if (!(fl.u->opts.flags & AUFS_OPT_PLINK)) {
		printf("%s: noplink: no pseudo-links to flush\n", fl.u->mnt);
		return 0;
	}
	n = aufs_plink_list(fl.u, NULL, 0);
	if (n > 0 && aufs_plink_may_change(fl.u, &err) < 0)
		return ctl_fail(EXIT_FAILED, "flush: %s", err.msg);
	if (n <= 0) {
		printf("%s: no pseudo-links\n", fl.u->mnt);
		return 0;
	}
	fl.links = calloc((size_t)n, sizeof(*fl.links));
	fl.failed = calloc((size_t)n, sizeof(bool));
	if (!fl.links || !fl.failed)
		return ctl_fail(EXIT_FAILED, "out of memory");
	fl.nlinks = aufs_plink_list(fl.u, fl.links, (size_t)n);
	if (fl.nlinks > n)
		fl.nlinks = n;	/* made meanwhile: the next flush takes them */
	qsort(fl.links, (size_t)fl.nlinks, sizeof(*fl.links), by_num);
	/* the names are looked up as the union's processes see them: this union, published */
	aufs_state_publish(&cfg);
	for (fl.branch = 1; fl.branch < fl.u->nbranch; fl.branch++) {
		const char *root = fl.u->branch[fl.branch].path;

		fl.root_len = strcmp(root, "/") ? strlen(root) : 0;
		if (nftw(root, flush_one, 32, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL) < 0) {
			fprintf(stderr, "aufsctl: flush: %s: %s\n", root, strerror(errno));
			fl.errors++;
			memset(fl.failed, 1, (size_t)fl.nlinks * sizeof(bool));
		}
	}
	for (int i = 0; i < fl.nlinks; i++) {
		if (fl.failed[i])
			continue;	/* a name still needs it: kept */
		r = aufs_plink_drop(fl.u, fl.links[i].num, &err);
		if (r < 0)
			return ctl_fail(EXIT_FAILED, "flush: %s",
					err.msg[0] ? err.msg : strerror(-r));
		dropped++;
	}
	aufs_plink_flushed(fl.u, fl.linked);
	free(fl.links);
	free(fl.failed);
	printf("%s: %u name%s linked, %d pseudo-link%s flushed%s\n", fl.u->mnt, fl.linked,
	       fl.linked == 1 ? "" : "s", dropped, dropped == 1 ? "" : "s",
	       fl.errors ? ", some kept (see above)" : "");
	if (fflush(stdout))
		return ctl_fail(EXIT_FAILED, "standard output: %s", strerror(errno));
	return fl.errors ? EXIT_FAILED : 0;
}

/* ---------------------------------------------------------------- check --xino */

#define XINO_PREFIX "aufs.xino."
#define XINO_MAGIC "afsxino1"	/* AUFS_XINO_MAGIC's bytes (aufs-preload(7), ON-DISK FORMAT) */
#define XINO_MNT_OFFSET 128

struct table {
	char name[NAME_MAX + 1];
	dev_t dev;
	ino_t ino;
	uid_t uid;
	bool mapped;
	char mnt[PATH_MAX];
};

/* Which of T[0..N) some process maps; *UNKNOWN: processes whose maps could not be read. */
static void scan_maps(struct table *t, size_t n, unsigned *unknown)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;

	*unknown = 0;
	if (!proc) {
		*unknown = 1;
		return;
	}
	while ((e = readdir(proc))) {
		char path[64], line[PATH_MAX + 128];
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/maps", e->d_name);
		f = fopen(path, "re");
		if (!f) {
			if (errno != ENOENT && errno != ESRCH)
				(*unknown)++;
			continue;
		}
		while (fgets(line, sizeof(line), f)) {
			unsigned maj, min;
			unsigned long long ino;

			if (sscanf(line, "%*x-%*x %*4s %*x %x:%x %llu", &maj, &min, &ino) != 3 ||
			    ino == 0)
				continue;
			for (size_t i = 0; i < n; i++)
				if (t[i].ino == (ino_t)ino && major(t[i].dev) == maj &&
				    minor(t[i].dev) == min)
					t[i].mapped = true;
		}
		if (ferror(f))
			(*unknown)++;
		fclose(f);
	}
	closedir(proc);
}

/* A leftover temporary NAME.tmp.PID of a maker that is gone? */
static bool dead_temp(const char *name)
{
	const char *p = strstr(name, ".tmp.");
	char *end;
	long pid;

	if (!p)
		return false;
	pid = strtol(p + 5, &end, 10);
	return *end == 0 && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int ctl_check_xino(const struct ctl_args *a, const char *dir_arg)
{
	const char *dir = dir_arg ? dir_arg : getenv("AUFS_XINO_DIR");
	struct table *t = NULL;
	size_t n = 0;
	unsigned unknown, found = 0, repaired = 0, failed = 0;
	uid_t me = geteuid();
	struct dirent *e;
	DIR *d;

	if (!dir || !*dir)
		dir = "/dev/shm";
	d = opendir(dir);
	if (!d)
		return ctl_fail(errno == ENOENT ? EXIT_USAGE : EXIT_FAILED, "check --xino: %s: %s",
				dir, strerror(errno));
	while ((e = readdir(d))) {
		char path[PATH_MAX], head[XINO_MNT_OFFSET + PATH_MAX];
		struct stat st;
		ssize_t got;
		int fd;

		if (strncmp(e->d_name, XINO_PREFIX, sizeof(XINO_PREFIX) - 1))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (dead_temp(e->d_name) && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			found++;
			printf("xino-temporary %s: left by a process that is gone\n", path);
			if (a->repair && (me == 0 || st.st_uid == me) && unlink(path) == 0) {
				printf("removed %s\n", path);
				repaired++;
			}
			continue;
		}
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;	/* not ours to read: not ours to judge */
		got = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? pread(fd, head, sizeof(head), 0)
								  : -1;
		close(fd);
		if (got < XINO_MNT_OFFSET + 1 || memcmp(head, XINO_MAGIC, 8))
			continue;	/* not a table of aufs-preload: left alone */
		t = realloc(t, (n + 1) * sizeof(*t));
		if (!t)
			return ctl_fail(EXIT_FAILED, "out of memory");
		memset(&t[n], 0, sizeof(t[n]));
		snprintf(t[n].name, sizeof(t[n].name), "%s", e->d_name);
		t[n].dev = st.st_dev;
		t[n].ino = st.st_ino;
		t[n].uid = st.st_uid;
		snprintf(t[n].mnt, sizeof(t[n].mnt), "%.*s", (int)strnlen(head + XINO_MNT_OFFSET,
			 (size_t)got - XINO_MNT_OFFSET), head + XINO_MNT_OFFSET);
		n++;
	}
	closedir(d);
	scan_maps(t, n, &unknown);
	if (unknown && me == 0 && n)
		/* beyond root's reach (another namespace's init without ptrace rights) */
		printf("note: the maps of %u process%s could not be read, even as root: taken "
		       "for no process of a union\n", unknown, unknown == 1 ? "" : "es");
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];

		if (t[i].mapped)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, t[i].name);
		if (unknown && me != 0) {
			printf("idle-xino? %s (union %s): no process this user may see maps it; "
			       "%u processes could not be read (root can tell)\n", path, t[i].mnt,
			       unknown);
			continue;
		}
		found++;
		printf("idle-xino %s (union %s): no process of the union maps it; the numbers "
		       "its copies kept go with it\n", path, t[i].mnt);
		if (!a->repair)
			continue;
		if ((me == 0 || t[i].uid == me) && unlink(path) == 0) {
			printf("removed %s\n", path);
			repaired++;
		} else {
			failed++;
			fprintf(stderr, "aufsctl: check --xino: cannot remove %s: %s\n", path,
				me == 0 || t[i].uid == me ? strerror(errno) : "not yours");
		}
	}
	free(t);
	if (!found)
		printf("%s: no idle table of inode numbers\n", dir);
	if (fflush(stdout))
		return ctl_fail(EXIT_FAILED, "standard output: %s", strerror(errno));
	if (failed)
		return EXIT_FAILED;
	return found > repaired ? EXIT_FOUND : 0;
}
