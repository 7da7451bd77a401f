/* SPDX-License-Identifier: MIT */
/*
 * aufsctl_tree.c - diff and check: walks of a union's branches on disk.
 *
 * Both read a branch against "the view below it": the branches after it, merged
 * as a lookup merges them (aufs-preload(7), Lookup): the first branch that has a
 * name decides its type; a directory merges the copies below it until a branch
 * whose copy is opaque (.wh..wh..opq) or that has a non-directory of that name;
 * a whiteout .wh.NAME in a branch that honours whiteouts (rw, ro+wh) hides NAME
 * in every branch below it. The walks use plain paths (a branch path plus the
 * union path): a path longer than PATH_MAX is reported, not walked.
 *
 * diff lists what the top writable branch changes in that view. check looks in
 * every branch for what the union leaves behind or no longer needs, and with
 * --repair removes it, in writable branches only, never a temporary whose process
 * still runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aufsctl.h"

typedef unsigned __int128 brmask;
#define BIT(b) ((brmask)1 << (b))

#define OPQ_LEN (sizeof(AUFS_WH_OPQ) - 1)
#define CPUP_PREFIX AUFS_WH_PREFIX AUFS_WH_PREFIX "cpup."
#define RMDIR_PREFIX AUFS_WH_PREFIX AUFS_WH_PREFIX "rmdir."
#define MKDIR_PREFIX AUFS_WH_PREFIX AUFS_WH_PREFIX "mkdir."
#define SHM_PREFIX AUFS_WH_PREFIX AUFS_WH_PREFIX "aufs.shm."

static bool honours_whiteouts(const struct aufs_branch *br)
{
	return br->perm == AUFS_PERM_RW || (br->attr & AUFS_BRATTR_WH);
}

/* BRANCH/REL[/NAME] into BUF (PATH_MAX); false when it does not fit. */
static bool join(char *buf, const struct aufs_branch *br, const char *rel, const char *name)
{
	const char *root = strcmp(br->path, "/") ? br->path : "";
	int n = snprintf(buf, PATH_MAX, "%s%s%s%s%s", root, *rel ? "/" : "", rel,
			 name ? "/" : "", name ? name : "");

	return n >= 0 && n < PATH_MAX;
}

/* REL/NAME, the union path of a child ("" is the mount point) into BUF. */
static bool child_rel(char *buf, const char *rel, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s%s%s", rel, *rel ? "/" : "", name);

	return n >= 0 && n < PATH_MAX;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The first lower copy of a name: where, and its stat. */
struct below {
	int branch;		/* -1: the view below has no NAME */
	struct stat st;
	brmask dirs;		/* the branches whose copies of it merge (a directory) */
};

/*
 * NAME in directory REL of the branches of MASK (those whose copies of REL merge),
 * as a lookup finds it.
 */
static void look_below(const struct aufs_union *u, brmask mask, const char *rel,
		       const char *name, struct below *ret)
{
	char path[PATH_MAX], wh[NAME_MAX + 8];
	struct stat st;

	ret->branch = -1;
	ret->dirs = 0;
	snprintf(wh, sizeof(wh), AUFS_WH_PREFIX "%s", name);
	for (int b = 0; b < u->nbranch; b++) {
		const struct aufs_branch *br = &u->branch[b];

		if (!(mask & BIT(b)) || !join(path, br, rel, name))
			continue;
		if (lstat(path, &st) == 0) {
			bool dir = S_ISDIR(st.st_mode);

			if (ret->branch < 0) {
				ret->branch = b;
				ret->st = st;
			} else if (!dir || !S_ISDIR(ret->st.st_mode)) {
				break;	/* a non-directory cuts the merge off */
			}
			if (!dir)
				break;
			ret->dirs |= BIT(b);
			if (honours_whiteouts(br) && strlen(path) + 1 + OPQ_LEN < PATH_MAX) {
				strcat(path, "/" AUFS_WH_OPQ);
				if (exists(path))
					break;	/* opaque: nothing below shows through */
			}
			continue;
		}
		if (honours_whiteouts(br) && join(path, br, rel, wh) && exists(path))
			break;	/* whited out here: hidden in every lower branch */
	}
	if (ret->branch >= 0 && !S_ISDIR(ret->st.st_mode))
		ret->dirs = 0;
}

/* The branches below B whose roots exist: the view below B's root. */
static brmask roots_below(const struct aufs_union *u, int b)
{
	brmask m = 0;
	struct stat st;

	for (int i = b + 1; i < u->nbranch; i++)
		if (stat(u->branch[i].path, &st) == 0 && S_ISDIR(st.st_mode))
			m |= BIT(i);
	return m;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of directory PATH, sorted (C locale), without . and ..; NULL: errno. */
static char **list_dir(const char *path, size_t *ret_n)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return NULL;
	while ((errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 32) * sizeof(*v));

			if (!nv)
				goto fail;
			v = nv;
		}
		if (!(v[n] = strdup(e->d_name)))
			goto fail;
		n++;
	}
	if (errno)
		goto fail;
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_name);
	*ret_n = n;
	return v ? v : calloc(1, sizeof(*v));
fail:
	{
		int e2 = errno;

		while (n)
			free(v[--n]);
		free(v);
		closedir(d);
		errno = e2;
		return NULL;
	}
}

static void free_list(char **v, size_t n)
{
	while (n)
		free(v[--n]);
	free(v);
}

/* ---------------------------------------------------------------- diff */

struct change {
	char kind;		/* A, M, D, O */
	char *path;		/* union-relative */
};

struct diff {
	const struct aufs_union *u;
	int top;
	struct change *v;
	size_t n, cap;
	int errors;
};

static void add_change(struct diff *d, char kind, const char *rel)
{
	if (d->n == d->cap) {
		struct change *nv = realloc(d->v, (d->cap = d->cap ? d->cap * 2 : 64) * sizeof(*nv));

		if (!nv) {
			d->errors++;
			return;
		}
		d->v = nv;
	}
	d->v[d->n].kind = kind;
	if (!(d->v[d->n].path = strdup(rel))) {
		d->errors++;
		return;
	}
	d->n++;
}

static int walk_error(int *errors, const char *what, const char *path)
{
	(*errors)++;
	return ctl_fail(EXIT_FAILED, "%s: %s", path, what), -1;
}

/*
 * Directory REL of the top branch, against the view below it: the branches of
 * LOW whose copies of REL merge (none when the top's copy is opaque or new).
 */
static void diff_dir(struct diff *d, const char *rel, brmask low)
{
	const struct aufs_branch *top = &d->u->branch[d->top];
	char path[PATH_MAX], crel[PATH_MAX];
	struct below bl;
	struct stat st;
	size_t n;
	char **names;

	if (!join(path, top, rel, NULL)) {
		walk_error(&d->errors, "path too long, not compared", rel);
		return;
	}
	if (!(names = list_dir(path, &n))) {
		walk_error(&d->errors, strerror(errno), path);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];

		if (!child_rel(crel, rel, name) || !join(path, top, rel, name)) {
			walk_error(&d->errors, "path too long, not compared", crel);
			continue;
		}
		if (!strncmp(name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN)) {
			const char *target = name + AUFS_WH_PREFIX_LEN;

			/* markers and the union's own files (.wh..wh.*) are no change */
			if (!strncmp(target, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN) || !*target)
				continue;
			if (!child_rel(crel, rel, target) || !join(path, top, rel, target))
				continue;
			if (exists(path))
				continue;	/* the name shows from the top: no deletion */
			look_below(d->u, low, rel, target, &bl);
			if (bl.branch >= 0)
				add_change(d, 'D', crel);
			continue;
		}
		if (lstat(path, &st) < 0) {
			if (errno != ENOENT)
				walk_error(&d->errors, strerror(errno), path);
			continue;
		}
		look_below(d->u, low, rel, name, &bl);
		if (!S_ISDIR(st.st_mode)) {
			add_change(d, bl.branch < 0 ? 'A' : 'M', crel);
			continue;
		}
		if (bl.branch < 0) {
			add_change(d, 'A', crel);
			bl.dirs = 0;
		} else if (!S_ISDIR(bl.st.st_mode)) {
			add_change(d, 'M', crel);	/* a directory in place of a file */
			bl.dirs = 0;
		} else if (strlen(path) + 1 + OPQ_LEN < PATH_MAX &&
			   (strcat(path, "/" AUFS_WH_OPQ), exists(path))) {
			add_change(d, 'O', crel);	/* what was below is gone */
			bl.dirs = 0;
		} else if ((st.st_mode & 07777) != (bl.st.st_mode & 07777)) {
			add_change(d, 'M', crel);	/* chmod of a lower directory */
		}
		diff_dir(d, crel, bl.dirs);
	}
	free_list(names, n);
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

static const char *kind_word(char k)
{
	return k == 'A' ? "added" : k == 'M' ? "changed" : k == 'D' ? "deleted" : "opaque";
}

int ctl_diff(const struct ctl_args *a)
{
	struct aufs_config cfg;
	struct diff d = { 0 };
	struct stat st;
	int r = ctl_load(a, &cfg, (struct aufs_union **)&d.u);

	if (r)
		return r;
	d.top = -1;
	for (int b = 0; b < d.u->nbranch && d.top < 0; b++)
		if (d.u->branch[b].perm == AUFS_PERM_RW)
			d.top = b;
	if (d.top < 0) {
		r = ctl_fail(EXIT_USAGE, "%s has no writable branch: nothing to compare", d.u->mnt);
		goto out;
	}
	if (stat(d.u->branch[d.top].path, &st) < 0) {
		r = ctl_fail(EXIT_USAGE, "%s: %s", d.u->branch[d.top].path, strerror(errno));
		goto out;
	}
	diff_dir(&d, "", roots_below(d.u, d.top));
	qsort(d.v, d.n, sizeof(*d.v), cmp_change);
	if (a->json) {
		fputs("{\"mount\":", stdout);
		json_string(stdout, d.u->mnt);
		fputs(",\"branch\":", stdout);
		json_string(stdout, d.u->branch[d.top].path);
		fputs(",\"changes\":[", stdout);
	}
	for (size_t i = 0; i < d.n; i++) {
		if (a->json) {
			printf("%s{\"change\":\"%s\",\"path\":", i ? "," : "", kind_word(d.v[i].kind));
			json_string(stdout, d.v[i].path);
			fputc('}', stdout);
		} else {
			printf("%c %s\n", d.v[i].kind, d.v[i].path);
		}
	}
	if (a->json)
		printf("],\"complete\":%s}\n", d.errors ? "false" : "true");
	r = d.errors ? EXIT_FAILED : 0;
	if (fflush(stdout))
		r = ctl_fail(EXIT_FAILED, "standard output: %s", strerror(errno));
out:
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i].path);
	free(d.v);
	aufs_config_release(&cfg);
	return r;
}

/* ---------------------------------------------------------------- check */

struct check {
	const struct ctl_args *a;
	const struct aufs_union *u;
	int found, repaired, errors;
	bool first_json;
};

/* Does process PID run (here: in this PID namespace)? Unsure counts as yes. */
static bool process_runs(long pid)
{
	if (pid <= 0 || pid > 0x3fffffff)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* The PID of a temporary PREFIX PID [. or end], or -1 when the name is not one. */
static long temp_pid(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long pid;

	if (strncmp(name, prefix, n) || name[n] < '0' || name[n] > '9')
		return -1;
	errno = 0;
	pid = strtol(name + n, &end, 10);
	return errno || (*end && *end != '.') ? -1 : pid;
}

/* Remove PATH, a directory's whole tree with it (no symbolic link followed). */
static int remove_tree(int dirfd, const char *name)
{
	int fd, r = 0;
	DIR *d;
	struct dirent *e;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while (r == 0 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			r = remove_tree(fd, e->d_name);
			/* a leftover of a directory made without u+w (mkdir -m 0555) */
			if (r == -EACCES && fchmod(fd, S_IRWXU) == 0)
				r = remove_tree(fd, e->d_name);
		}
	closedir(d);
	if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

/* One finding: said, and with --repair removed where that is allowed. */
static void finding(struct check *c, const char *kind, const char *path, const char *why,
		    const struct aufs_branch *br, bool tree)
{
	const char *left = NULL;
	char errbuf[128];
	bool repaired = false;

	c->found++;
	if (c->a->repair && br) {
		if (br->perm != AUFS_PERM_RW) {
			left = "read-only branch";
		} else {
			int r = tree ? remove_tree(AT_FDCWD, path)
				     : unlink(path) == 0 || errno == ENOENT ? 0 : -errno;

			if (r == 0) {
				repaired = true;
				c->repaired++;
			} else {
				snprintf(errbuf, sizeof(errbuf), "%s", strerror(-r));
				left = errbuf;
			}
		}
	} else if (c->a->repair) {
		left = "not repairable";
	}
	if (c->a->json) {
		printf("%s{\"kind\":\"%s\"", c->first_json ? "" : ",", kind);
		if (path) {
			fputs(",\"path\":", stdout);
			json_string(stdout, path);
		}
		fputs(",\"why\":", stdout);
		json_string(stdout, why);
		if (c->a->repair) {
			printf(",\"repaired\":%s", repaired ? "true" : "false");
			if (left) {
				fputs(",\"left\":", stdout);
				json_string(stdout, left);
			}
		}
		fputc('}', stdout);
		c->first_json = false;
		return;
	}
	/* a warn_perm line names its union and branch itself */
	printf("%s%s%s%s%s\n", path ? path : "", path ? ": " : "", why, repaired ? "; removed" : left ? "; left: " : "",
	       left ? left : "");
}

static void check_temp(struct check *c, const struct aufs_branch *br, const char *path,
		       const char *name, const char *prefix, const char *kind, const char *what,
		       bool tree)
{
	long pid = temp_pid(name, prefix);
	char why[192];

	if (pid < 0 || process_runs(pid))
		return;	/* not one of ours, or its process is still at it */
	snprintf(why, sizeof(why), "%s (process %ld no longer runs)", what, pid);
	finding(c, kind, path, why, br, tree);
}

/*
 * Is TPATH (NAME of directory REL, beside its own whiteout) a directory without the
 * opaque marker over a lower copy it merges with? What a process stopped between an
 * mkdir over the whiteout and its marker left with an older release: its whiteout
 * said that the lower copy is deleted, which the lookup no longer sees (the
 * branch's own entry wins).
 */
static bool unsealed_dir(const struct check *c, const char *rel, const char *name,
			 const char *tpath, brmask low)
{
	char opq[PATH_MAX];
	struct stat st;
	struct below bl;

	if (lstat(tpath, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    snprintf(opq, sizeof(opq), "%s/%s", tpath, AUFS_WH_OPQ) >= (int)sizeof(opq) ||
	    exists(opq))
		return false;
	look_below(c->u, low, rel, name, &bl);
	return bl.branch >= 0 && S_ISDIR(bl.st.st_mode);
}

/*
 * The repair of unsealed_dir(): the marker first, then the whiteout, so that what
 * was deleted below never shows.
 */
static void seal_dir(struct check *c, const struct aufs_branch *br, const char *tpath,
		     const char *whpath)
{
	const char *why = "directory beside its own whiteout without the opaque marker "
			  "(an interrupted mkdir): the deleted lower directory shows through";
	char opq[PATH_MAX];
	int fd;

	if (!c->a->repair || br->perm != AUFS_PERM_RW) {
		finding(c, "unsealed-directory", tpath, why, br, false);
		return;
	}
	snprintf(opq, sizeof(opq), "%s/%s", tpath, AUFS_WH_OPQ);
	fd = open(opq, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd >= 0)
		close(fd);
	if (fd < 0 && errno != EEXIST) {
		char failed[320];

		snprintf(failed, sizeof(failed), "%s (making its marker: %s)", why,
			 strerror(errno));
		finding(c, "unsealed-directory", tpath, failed, NULL, false);
		return;
	}
	/* made opaque: the whiteout beside it is now one that hides nothing */
	finding(c, "unsealed-directory", whpath, why, br, false);
}

/*
 * Directory REL of branch B, whose copies below it that merge are LOW (every
 * branch below for the root). The branch root's own files are skipped by name.
 */
static void check_dir(struct check *c, int b, const char *rel, brmask low)
{
	const struct aufs_union *u = c->u;
	const struct aufs_branch *br = &u->branch[b];
	bool wh = honours_whiteouts(br), opaque;
	char path[PATH_MAX], crel[PATH_MAX];
	struct below bl;
	struct stat st;
	size_t n;
	char **names;

	if (!join(path, br, rel, NULL)) {
		walk_error(&c->errors, "path too long, not checked", rel);
		return;
	}
	if (!(names = list_dir(path, &n))) {
		walk_error(&c->errors, strerror(errno), path);
		return;
	}
	opaque = false;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], AUFS_WH_OPQ))
			opaque = wh;
	if (opaque && !low && *rel && !(u->opts.flags & AUFS_OPT_DIROPQ_A) &&
	    join(path, br, rel, AUFS_WH_OPQ))
		finding(c, "stray-opaque", path,
			"opaque marker in a directory that no lower branch has", br, false);
	if (opaque)
		low = 0;	/* nothing below shows through: no whiteout there hides anything */
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];

		if (!child_rel(crel, rel, name) || !join(path, br, rel, name)) {
			walk_error(&c->errors, "path too long, not checked", crel);
			continue;
		}
		if (!strncmp(name, CPUP_PREFIX, sizeof(CPUP_PREFIX) - 1)) {
			check_temp(c, br, path, name, CPUP_PREFIX, "copyup-temporary",
				   "interrupted copy-up", false);
			continue;
		}
		if (!strncmp(name, MKDIR_PREFIX, sizeof(MKDIR_PREFIX) - 1)) {
			check_temp(c, br, path, name, MKDIR_PREFIX, "mkdir-temporary",
				   "directory of an interrupted mkdir, never renamed into place",
				   true);
			continue;
		}
		if (!strncmp(name, RMDIR_PREFIX, sizeof(RMDIR_PREFIX) - 1)) {
			check_temp(c, br, path, name, RMDIR_PREFIX, "rmdir-temporary",
				   "removed directory left behind by an interrupted rmdir", true);
			continue;
		}
		if (!*rel && !strncmp(name, SHM_PREFIX, sizeof(SHM_PREFIX) - 1)) {
			const char *tmp = strstr(name, ".tmp.");

			if (tmp)
				check_temp(c, br, path, tmp, ".tmp.", "state-link-temporary",
					   "temporary link of an interrupted shared-state making",
					   false);
			continue;
		}
		if (!strncmp(name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN)) {
			const char *target = name + AUFS_WH_PREFIX_LEN;
			char tpath[PATH_MAX];

			if (!wh || !strncmp(target, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN) || !*target)
				continue;	/* markers, the union's own files */
			if (join(tpath, br, rel, target) && exists(tpath)) {
				if (unsealed_dir(c, rel, target, tpath, low))
					seal_dir(c, br, tpath, path);
				else
					finding(c, "useless-whiteout", path,
						"whiteout of a name its own branch has (it hides "
						"nothing)", br, false);
				continue;
			}
			look_below(u, low, rel, target, &bl);
			if (bl.branch < 0)
				finding(c, "useless-whiteout", path,
					"whiteout with no target: no lower branch has the name", br,
					false);
			continue;
		}
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		look_below(u, low, rel, name, &bl);
		check_dir(c, b, crel, bl.branch >= 0 && S_ISDIR(bl.st.st_mode) ? bl.dirs : 0);
	}
	free_list(names, n);
}

static void warn_perm_line(void *arg, const char *line)
{
	struct check *c = arg;

	finding(c, "warn-perm", NULL, line, NULL, false);
}

int ctl_check_union(const struct ctl_args *a)
{
	struct aufs_config cfg;
	struct check c = { .a = a, .first_json = true };
	struct stat st;
	int r = ctl_load(a, &cfg, (struct aufs_union **)&c.u);

	if (r)
		return r;
	if (a->json) {
		fputs("{\"mount\":", stdout);
		json_string(stdout, c.u->mnt);
		fputs(",\"findings\":[", stdout);
	}
	for (int b = 0; b < c.u->nbranch; b++) {
		if (stat(c.u->branch[b].path, &st) < 0) {
			walk_error(&c.errors, strerror(errno), c.u->branch[b].path);
			continue;
		}
		check_dir(&c, b, "", roots_below(c.u, b));
	}
	aufs_union_warn_perm(c.u, geteuid(), warn_perm_line, &c);
	if (a->json)
		printf("],\"found\":%d,\"repaired\":%d,\"complete\":%s}\n", c.found, c.repaired,
		       c.errors ? "false" : "true");
	else if (!c.found && !c.errors)
		printf("%s: clean\n", c.u->mnt);
	if (fflush(stdout))
		r = ctl_fail(EXIT_FAILED, "standard output: %s", strerror(errno));
	else if (c.found > c.repaired)
		r = EXIT_FOUND;
	else if (c.errors)
		r = EXIT_FAILED;
	aufs_config_release(&cfg);
	return r;
}
