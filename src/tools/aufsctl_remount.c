/* SPDX-License-Identifier: MIT */
/*
 * aufsctl_remount.c - aufsctl remount: change the branches and options of unions
 * of a host table, or of the sessions of `aufs-run -o`, while their processes run.
 *
 *   aufsctl remount [--fstab FILE] [--image PATH] -o ITEMS (MNT... | --all)
 *
 * The host table is the truth every process of the host maps (its image), so a
 * remount is an edit of the unions' lines in FILE followed by a reload: every
 * process, whatever its user, adopts the new branches at its next call. Without
 * --fstab, and when AUFS_FSTAB has no union at MNT, the same is done to every
 * session fstab of aufs-run in use that has one (session.h). ITEMS
 * are aufs(5)'s remount options, applied left to right (aufs_remount_apply()).
 * The new file is checked whole before it replaces the old one; a bad result
 * leaves both the file and the running table as they were.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aufs/core.h"
#include "aufsctl.h"
#include "session.h"

struct line {
	char *text;		/* the line as it was, without its newline */
	char *new_text;		/* the line after the remount, or NULL: unchanged */
};

/* Fields of an fstab line: start and length of field I (0..3), or false. */
static bool fields(const char *l, const char **f, size_t *flen)
{
	int n = 0;

	while (*l && n < 4) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l || (n == 0 && *l == '#'))
			break;
		f[n] = l;
		while (*l && *l != ' ' && *l != '\t')
			l++;
		flen[n] = (size_t)(l - f[n]);
		n++;
	}
	return n == 4;
}

/* Decode an fstab field's \NNN escapes and normalise it as a mount point. */
static void mount_point(const char *f, size_t len, char *out, size_t size)
{
	char raw[PATH_MAX], *o = raw;

	for (size_t i = 0; i < len && o < raw + sizeof(raw) - 1; i++) {
		if (f[i] == '\\' && i + 3 < len + 1 && f[i + 1] >= '0' && f[i + 1] <= '3') {
			*o++ = (char)((f[i + 1] - '0') << 6 | (f[i + 2] - '0') << 3 | (f[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = f[i];
		}
	}
	*o = 0;
	if (aufs_table_fstab_path(raw, out, size) < 0)
		snprintf(out, size, "%s", raw);
}

/* Is REAL (a resolved path) DIR or below it? */
static bool within(const char *real, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(real, dir, n) && (real[n] == 0 || real[n] == '/' || n == 1);
}

/*
 * aufs(5): del of a branch a process is using fails with EBUSY. This process's
 * current directory and descriptors are checked; other processes keep theirs
 * (the kernel's descriptors stay valid), which is said, not refused.
 */
static int busy(const char *items)
{
	char *copy = strdup(items), *tok, *next;
	int r = 0;

	for (tok = copy; tok && r == 0; tok = next) {
		char real[PATH_MAX], link[PATH_MAX], name[64];
		DIR *d;
		struct dirent *e;
		ssize_t n;
		int others = 0;

		next = strchr(tok, ',');
		if (next)
			*next++ = 0;
		if (strncmp(tok, "del:", 4) || !realpath(tok + 4, real))
			continue;
		n = readlink("/proc/self/cwd", link, sizeof(link) - 1);
		if (n > 0 && (link[n] = 0, within(link, real))) {
			fprintf(stderr, "aufsctl: %s: %s (the current directory of aufsctl is in it)\n",
				tok, strerror(EBUSY));
			r = -EBUSY;
			break;
		}
		d = opendir("/proc/self/fd");
		while (d && (e = readdir(d))) {
			snprintf(name, sizeof(name), "/proc/self/fd/%s", e->d_name);
			n = readlink(name, link, sizeof(link) - 1);
			if (n > 0 && (link[n] = 0, within(link, real)) && atoi(e->d_name) != dirfd(d)) {
				fprintf(stderr, "aufsctl: %s: %s (aufsctl holds %s open)\n", tok,
					strerror(EBUSY), link);
				r = -EBUSY;
				break;
			}
		}
		if (d)
			closedir(d);
		/* the others: their open files stay theirs; what they look up next changes */
		d = r == 0 ? opendir("/proc") : NULL;
		while (d && (e = readdir(d)) && others < 5) {
			if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
				continue;
			snprintf(name, sizeof(name), "/proc/%s/cwd", e->d_name);
			n = readlink(name, link, sizeof(link) - 1);
			if (n > 0 && (link[n] = 0, within(link, real))) {
				fprintf(stderr, "aufsctl: note: %s: process %s has its current directory "
					"there; it keeps it, its lookups follow the new branches\n", tok,
					e->d_name);
				others++;
			}
		}
		if (d)
			closedir(d);
	}
	free(copy);
	return r;
}

/* Write TEXT to FILE in place of it: a temporary beside it, same owner and mode, renamed. */
static int replace_file(const char *file, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	struct stat st;
	FILE *f;
	int fd;

	if (stat(file, &st) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.aufsctl.%d", file, (int)getpid()) >= (int)sizeof(tmp))
		return -errno ? -errno : -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f || fwrite(text, 1, len, f) != len || fflush(f) || fsync(fd) ||
	    fchmod(fd, st.st_mode & 07777) || (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid))) {
		int e = errno ? errno : EIO;

		if (f)
			fclose(f);
		else
			close(fd);
		unlink(tmp);
		return -e;
	}
	fclose(f);
	if (rename(tmp, file) < 0) {
		int e = errno;

		unlink(tmp);
		return -e;
	}
	return 0;
}

/* What a remount does once, besides the new line (take_acts()). */
struct acts {
	bool clean_plink;
	bool trunc;		/* truncate the xino file: a del, or trunc_xib, not undone */
	bool trunc_all;		/* trunc_xib: also entries without a number, of no branch */
};

/*
 * clean_plink, trunc_xib and notrunc_xib are acts, not states to keep in the line
 * (each new process would do them again): ITEMS without them into a new string
 * (*RET), and what they ask. As aufs(5): a del truncates unless notrunc_xib
 * follows it; trunc_xib truncates whatever was deleted (aufs: "any time").
 */
static void take_acts(const char *items, char **ret, struct acts *acts)
{
	char *copy = strdup(items), *out = calloc(1, strlen(items) + 1), *tok, *next;

	memset(acts, 0, sizeof(*acts));
	if (!copy || !out) {
		free(copy);
		free(out);
		*ret = NULL;
		return;
	}
	for (tok = copy; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = 0;
		if (!strcmp(tok, "clean_plink")) {
			acts->clean_plink = true;
			continue;
		}
		if (!strcmp(tok, "trunc_xib") || !strcmp(tok, "notrunc_xib")) {
			acts->trunc = acts->trunc_all = tok[0] == 't';
			continue;
		}
		if (!strncmp(tok, "del:", 4))
			acts->trunc = true;
		if (*tok)
			strcat(strcat(out, *out ? "," : ""), tok);
	}
	free(copy);
	*ret = out;
}

/* clean_plink for the union at MNT with OPTIONS (after the remount). 0 or an exit status. */
static int clean_plink(const char *mnt, const char *options, const char *label)
{
	struct aufs_err err = { 0 };
	struct aufs_union *u = NULL;
	int r = aufs_union_parse(options, mnt, &u, &err);

	if (r < 0)
		return ctl_fail(EXIT_USAGE, "%s: %s", mnt, err.msg);
	r = aufs_plink_clean(u, &err);
	if (r < 0)
		r = ctl_fail(EXIT_FAILED, "%sclean_plink %s: %s", label, mnt,
			     err.msg[0] ? err.msg : strerror(-r));
	else
		printf("%s%s: %d pseudo-link%s dropped (clean_plink)\n", label, mnt, r,
		       r == 1 ? "" : "s");
	aufs_union_free(u);
	return r < 0 ? r : 0;
}

/* A union a remount changed: what it was, what it is, what is done to it after. */
struct done {
	char *mnt;
	char *opts;		/* the new options */
	dev_t *gone;		/* st_dev of the deleted branches */
	int ngone;
	int kept;		/* writable ones on the device of a remaining branch */
};

/* The devices of the branches of OLD that NEW has not (deleted), into D. */
static int deleted_devs(const char *mnt, const char *old, const char *new, struct done *d)
{
	struct aufs_err err = { 0 };
	struct aufs_union *o = NULL, *n = NULL;
	int r = aufs_union_parse(old, mnt, &o, &err);

	if (r < 0) {
		/* (a branch of the old line gone from the disk): not the remount's failure */
		fprintf(stderr, "aufsctl: note: %s: the deleted branches' devices are unknown (%s): "
			"their inode number entries stay until a remount -o trunc_xib\n", mnt,
			err.msg);
		return 0;
	}
	if (aufs_union_parse(new, mnt, &n, &err) < 0) {
		aufs_union_free(o);
		return 0;	/* the whole new table's check says why */
	}
	d->gone = calloc((size_t)o->nbranch, sizeof(*d->gone));
	if (!d->gone) {
		aufs_union_free(o);
		aufs_union_free(n);
		return ctl_fail(EXIT_FAILED, "out of memory%s", "");
	}
	for (int i = 0; i < o->nbranch; i++) {
		bool stays = false, dev_stays = false, seen = false;

		for (int j = 0; j < n->nbranch; j++) {
			stays |= !strcmp(o->branch[i].path, n->branch[j].path);
			dev_stays |= o->branch[i].dev == n->branch[j].dev;
		}
		for (int k = 0; k < d->ngone; k++)
			seen |= d->gone[k] == o->branch[i].dev;
		if (stays || seen)
			continue;
		d->gone[d->ngone++] = o->branch[i].dev;
		/* only copies are recorded: a read-only branch had no entries (or dead ones) */
		d->kept += dev_stays && o->branch[i].perm == AUFS_PERM_RW;
	}
	aufs_union_free(o);
	aufs_union_free(n);
	return 0;
}

/*
 * Truncation of the xino file of the union D after the remount (ACTS). Only root
 * and the table's owner may write it: for anyone else the entries stay, said.
 * 0 or an exit status.
 */
static int truncate_xino(const struct done *d, const struct acts *acts, const char *label)
{
	struct aufs_err err = { 0 };
	struct aufs_union *u = NULL;
	uint64_t freed = 0;
	int r;

	if (!acts->trunc || (!d->ngone && !acts->trunc_all))
		return 0;
	r = aufs_union_parse(d->opts, d->mnt, &u, &err);
	if (r < 0)
		return ctl_fail(EXIT_USAGE, "%s: %s", d->mnt, err.msg);
	r = aufs_xino_trunc(u, d->gone, d->ngone, acts->trunc_all, &freed, &err);
	aufs_union_free(u);
	if (r == -EPERM) {
		fprintf(stderr, "aufsctl: note: %s%s: %s; its entries stay\n", label, d->mnt,
			err.msg);
		return 0;
	}
	if (r < 0)
		return ctl_fail(EXIT_FAILED, "%strunc_xib %s: %s", label, d->mnt,
				 err.msg[0] ? err.msg : strerror(-r));
	/* a del of a read-only base (the usual remount) has nothing to say */
	if (!freed && !d->kept && !acts->trunc_all)
		return 0;
	printf("%s%s: %llu inode number entr%s freed (%s)", label, d->mnt,
	       (unsigned long long)freed, freed == 1 ? "y" : "ies",
	       acts->trunc_all ? "trunc_xib" : "the deleted branches'");
	if (d->kept)
		printf("; %d deleted branch%s on the file system of a remaining one: its entries "
		       "stay", d->kept, d->kept == 1 ? " is" : "es are");
	putchar('\n');
	return 0;
}

/*
 * Apply ITEMS to the unions of FSTAB at TARGETS (all of them with ALL) and replace
 * IMAGE. Each target found is set to NULL. Returns 0 or an exit status, said.
 */
static int remount_file(const char *fstab, const char *image, const char *items,
			const char **targets, int ntarget, bool all, const char *label)
{
	struct aufs_err err = { 0 }, notice = { 0 };
	struct aufs_config check, *cfg = NULL;
	struct line *lines = NULL;
	size_t nlines = 0, len = 0, out_len = 0;
	char *text = NULL, *out = NULL, *kept_items = NULL;
	struct acts acts;
	struct done *dones = NULL;
	int changed = 0, ndones = 0, r;

	take_acts(items, &kept_items, &acts);

	if (!kept_items)
		return ctl_fail(EXIT_FAILED, "out of memory%s", "");

	if (aufs_fstab_read(fstab, &text, &len, NULL, &err) < 0)
		return ctl_fail(EXIT_USAGE, "%s", err.msg);
	/* the lines, each kept as it is unless it is a target */
	for (char *l = text, *nl; l && *l; l = nl) {
		const char *f[4];
		size_t flen[4];

		nl = strchr(l, '\n');
		if (nl)
			*nl++ = 0;
		lines = realloc(lines, (nlines + 1) * sizeof(*lines));
		if (!lines)
			return ctl_fail(EXIT_FAILED, "out of memory%s", "");
		lines[nlines] = (struct line){ l, NULL };
		if (fields(l, f, flen)) {
			char mnt[PATH_MAX], opts[8192];
			bool hit = all;

			mount_point(f[1], flen[1], mnt, sizeof(mnt));
			for (int t = 0; t < ntarget && !hit; t++) {
				char want[PATH_MAX];

				if (!targets[t])
					continue;
				if (aufs_table_fstab_path(targets[t], want, sizeof(want)) >= 0 &&
				    !strcmp(want, mnt)) {
					hit = true;
					targets[t] = NULL;	/* found */
				}
			}
			if (hit && flen[3] < sizeof(opts)) {
				char *nopts = NULL;
				size_t pre = (size_t)(f[3] - l), post = strlen(f[3] + flen[3]);

				memcpy(opts, f[3], flen[3]);
				opts[flen[3]] = 0;
				if (aufs_remount_apply(opts, kept_items, &nopts, &err) < 0)
					return ctl_fail(EXIT_USAGE, "%s: %s", mnt, err.msg);
				if (acts.clean_plink || acts.trunc) {
					struct done *d;

					dones = realloc(dones, (size_t)(ndones + 1) * sizeof(*dones));
					if (!dones)
						return ctl_fail(EXIT_FAILED, "out of memory%s", "");
					d = &dones[ndones++];
					*d = (struct done){ strdup(mnt), strdup(nopts), NULL, 0, 0 };
					if (!d->mnt || !d->opts)
						return ctl_fail(EXIT_FAILED, "out of memory%s", "");
					/* the deleted branches' devices, while the old line is the truth */
					if (acts.trunc && (r = deleted_devs(mnt, opts, nopts, d)) != 0)
						return r;
				}
				lines[nlines].new_text = malloc(pre + strlen(nopts) + post + 1);
				if (!lines[nlines].new_text)
					return ctl_fail(EXIT_FAILED, "out of memory%s", "");
				sprintf(lines[nlines].new_text, "%.*s%s%s", (int)pre, l, nopts,
					f[3] + flen[3]);
				free(nopts);
				changed++;
			}
		}
		nlines++;
	}
	for (int t = 0; t < ntarget; t++)
		if (targets[t])
			return ctl_fail(EXIT_USAGE, "no union at %s in %s", targets[t], fstab);
	if (!changed)
		return ctl_fail(EXIT_USAGE, "no union in %s%s", fstab, "");
	for (size_t i = 0; i < nlines; i++)
		out_len += strlen(lines[i].new_text ? lines[i].new_text : lines[i].text) + 1;
	out = malloc(out_len + 1);
	if (!out)
		return ctl_fail(EXIT_FAILED, "out of memory%s", "");
	out[0] = 0;
	for (size_t i = 0, o = 0; i < nlines; i++)
		o += (size_t)sprintf(out + o, "%s\n", lines[i].new_text ? lines[i].new_text :
				     lines[i].text);
	/* the whole new table is checked before anything is replaced */
	aufs_config_init(&check);
	r = aufs_config_parse_fstab(&check, out, fstab, &err);
	aufs_config_release(&check);
	if (r < 0)
		return ctl_fail(EXIT_USAGE, "remount refused, nothing changed: %s", err.msg);
	r = replace_file(fstab, out, strlen(out));
	if (r < 0)
		return ctl_fail(EXIT_FAILED, "cannot write %s: %s", fstab, strerror(-r));
	r = aufs_table_open(fstab, image,
			    AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FORCE | AUFS_TABLE_MUST_WRITE, &cfg,
			    &err, &notice);
	if (r < 0)
		return ctl_fail(EXIT_FAILED, "%s (the fstab was changed: aufsctl reload retries)",
				 err.msg);
	printf("%s%s: %d union%s remounted (%s); image %s: their processes adopt it at their next "
	       "call\n", label, fstab, changed, changed == 1 ? "" : "s", items, cfg->image);
	/* the acts come after the new line is in place, which no longer asks for them */
	for (int i = 0; i < ndones; i++) {
		if (acts.clean_plink && (r = clean_plink(dones[i].mnt, dones[i].opts, label)) != 0)
			return r;
		if ((r = truncate_xino(&dones[i], &acts, label)) != 0)
			return r;
	}
	return 0;
}

/* Does FSTAB have a union at MNT (as given on the command line)? */
static bool has_union(const char *fstab, const char *mnt)
{
	struct aufs_err err = { 0 };
	char want[PATH_MAX], *text = NULL;
	size_t len;
	bool found = false;

	if (aufs_table_fstab_path(mnt, want, sizeof(want)) < 0 ||
	    aufs_fstab_read(fstab, &text, &len, NULL, &err) < 0)
		return false;
	for (char *l = text, *nl; l && *l && !found; l = nl) {
		const char *f[4];
		size_t flen[4];
		char have[PATH_MAX];

		nl = strchr(l, '\n');
		if (nl)
			*nl++ = 0;
		if (fields(l, f, flen)) {
			mount_point(f[1], flen[1], have, sizeof(have));
			found = !strcmp(have, want);
		}
	}
	free(text);
	return found;
}

/*
 * The image root just wrote for another user's session goes to that user, who must
 * be able to replace it in a sticky directory (its own remount, its processes).
 */
static void give_image(const char *image, uid_t uid)
{
	struct stat st;
	int fd = open(image, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
	    fchown(fd, uid, (gid_t)-1) < 0)
		fprintf(stderr, "aufsctl: note: %s stays root's (%s): only root may remount the "
			"session again\n", image, strerror(errno));
	close(fd);
}

/*
 * Without a host table that has the union: the sessions of `aufs-run -o` (session.h)
 * in use that hold a union at one of TARGETS, the caller's own (any as root). Each
 * is remounted on its own; the first failure stops, after what was done is said.
 */
static int remount_sessions(const char *items, const char **targets, int ntarget)
{
	char dir[PATH_MAX], label[64];
	struct session *s;
	size_t n;
	uid_t me = geteuid();
	int r, done = 0, foreign = 0;
	bool *found = calloc((size_t)ntarget, sizeof(bool));

	if (!found)
		return ctl_fail(EXIT_FAILED, "out of memory%s", "");
	r = session_dir(dir, sizeof(dir));
	if (r == 0)
		r = session_list(dir, &s, &n);
	if (r < 0)
		return ctl_fail(EXIT_USAGE, "no host table has %s (give --fstab FILE, or AUFS_FSTAB) "
				 "and the sessions of aufs-run cannot be listed: %s", targets[0],
				 strerror(-r));
	for (size_t i = 0; i < n; i++) {
		const char *mine[ntarget + 1];
		int k = 0;

		if (!s[i].in_use)
			continue;	/* nobody would follow; the next aufs-run removes it */
		for (int t = 0; t < ntarget; t++) {
			if (!has_union(s[i].fstab, targets[t]))
				continue;
			if (me != 0 && me != s[i].uid) {
				fprintf(stderr, "aufsctl: note: %s (uid %u) has a union at %s: only its "
					"owner or root may remount it\n", s[i].fstab,
					(unsigned)s[i].uid, targets[t]);
				foreign++;
				continue;
			}
			found[t] = true;
			mine[k++] = targets[t];
		}
		if (!k)
			continue;
		snprintf(label, sizeof(label), "session of pid %d (uid %u): ", (int)s[i].pid,
			 (unsigned)s[i].uid);
		r = remount_file(s[i].fstab, s[i].image, items, mine, k, false, label);
		if (r == 0 && me == 0 && s[i].uid != 0)
			give_image(s[i].image, s[i].uid);
		if (r) {
			if (done)
				fprintf(stderr, "aufsctl: %d session%s had been remounted before this "
					"failure\n", done, done == 1 ? "" : "s");
			return r;
		}
		done++;
	}
	for (int t = 0; t < ntarget; t++)
		if (!found[t])
			return foreign ? EXIT_FAILED :
			       ctl_fail(EXIT_USAGE, "no union at %s: not in AUFS_FSTAB, nor in a "
					"running aufs-run session (%s)", targets[t], dir);
	return 0;
}

int aufsctl_remount(int argc, char **argv)
{
	const char *fstab = getenv("AUFS_FSTAB"), *items = NULL, *image = NULL;
	const char **targets = calloc((size_t)argc + 1, sizeof(char *));
	int ntarget = 0;
	bool all = false, given = false;

	if (!targets)
		return ctl_fail(EXIT_FAILED, "out of memory");
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-o") && i + 1 < argc)
			items = argv[++i];
		else if (!strncmp(a, "-o", 2) && a[2])
			items = a + 2;
		else if (!strcmp(a, "--fstab") && i + 1 < argc)
			fstab = argv[++i], given = true;
		else if (!strncmp(a, "--fstab=", 8))
			fstab = a + 8, given = true;
		else if (!strcmp(a, "--image") && i + 1 < argc)
			image = argv[++i];
		else if (!strncmp(a, "--image=", 8))
			image = a + 8;
		else if (!strcmp(a, "--all"))
			all = true;
		else if (a[0] == '-')
			return ctl_fail(EXIT_USAGE, "remount: unknown option \"%s\"", a);
		else
			targets[ntarget++] = argv[i];
	}
	if (!items || !*items)
		return ctl_fail(EXIT_USAGE, "remount needs -o ITEMS (e.g. %s)",
				 "prepend:/day1,mod:/day0=ro,del:/day0");
	if (!all && !ntarget)
		return ctl_fail(EXIT_USAGE, "remount needs a MOUNTPOINT or --all%s", "");
	if (fstab && !*fstab)
		fstab = NULL;
	if (!given && fstab && !all) {
		/* AUFS_FSTAB when it has the unions; else the sessions of aufs-run */
		for (int t = 0; t < ntarget && fstab; t++)
			if (!has_union(fstab, targets[t]))
				fstab = NULL;
	}
	if (!fstab && all)
		return ctl_fail(EXIT_USAGE, "remount --all works on a host table: give --fstab FILE "
				 "(or AUFS_FSTAB)%s", "");
	if (busy(items) < 0)
		return EXIT_FAILED;
	if (!fstab) {
		if (image)
			return ctl_fail(EXIT_USAGE, "--image needs --fstab: a session's image is "
					 "beside its fstab%s", "");
		return remount_sessions(items, targets, ntarget);
	}
	return remount_file(fstab, image ? image : ctl_env_image(fstab), items, targets, ntarget,
			    all, "");
}
