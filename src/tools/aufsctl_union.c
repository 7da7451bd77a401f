/* SPDX-License-Identifier: MIT */
/*
 * aufsctl_union.c - find a union by its mount point, and the commands that act
 * on its shared state: status (read-only) and reval (bumps its generations).
 *
 * A union is named by its mount point; its configuration comes from -o OPTIONS
 * (as for aufs-run) or from the host table (--fstab FILE, $AUFS_FSTAB). The
 * running processes are reached only through the union's shared state
 * (aufs-preload(7), SHARED STATE), which the core reads and bumps for us.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aufsctl.h"

int ctl_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("aufsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);	/* UTF-8 passes; other bytes are the file system's */
	}
	fputc('"', f);
}

int ctl_load(const struct ctl_args *a, struct aufs_config *cfg, struct aufs_union **ret)
{
	struct aufs_err err = { 0 };
	char mnt[PATH_MAX];
	int r;

	aufs_config_init(cfg);
	*ret = NULL;
	if (a->mnt && aufs_table_fstab_path(a->mnt, mnt, sizeof(mnt)) < 0)
		return ctl_fail(EXIT_USAGE, "%s: %s", a->mnt, strerror(ENAMETOOLONG));
	if (a->options) {
		struct aufs_union *u = NULL;

		if (!a->mnt)
			return ctl_fail(EXIT_USAGE, "-o OPTIONS needs the union's mount point MNT");
		r = aufs_union_parse(a->options, mnt, &u, &err);
		if (r < 0)
			return ctl_fail(EXIT_USAGE, "%s", err.msg);
		r = aufs_config_add(cfg, u, &err);
		if (r < 0)
			return ctl_fail(EXIT_USAGE, "%s", err.msg);
		*ret = u;
		return 0;
	}
	if (!a->fstab || !*a->fstab) {
		if (a->mnt)
			return ctl_fail(EXIT_USAGE, "no union at %s (give -o OPTIONS or --fstab FILE)",
					mnt);
		return ctl_fail(EXIT_USAGE, "%s: which unions? (give -o OPTIONS MNT or --fstab FILE)",
				a->cmd);
	}
	r = aufs_config_load_fstab(cfg, a->fstab, &err);
	if (r < 0)
		return ctl_fail(r == -ENOMEM || r == -EIO ? EXIT_FAILED : EXIT_USAGE, "%s",
				err.msg[0] ? err.msg : strerror(-r));
	if (!a->mnt)
		return 0;
	for (int i = 0; i < cfg->nunion; i++) {
		struct aufs_union *u = aufs_config_union(cfg, i);

		if (u && !strcmp(u->mnt, mnt)) {
			*ret = u;
			return 0;
		}
	}
	return ctl_fail(EXIT_USAGE, "no union at %s in %s (give -o OPTIONS or --fstab FILE)", mnt,
			a->fstab);
}

/* ---------------------------------------------------------------- status */

static const char *perm_name(enum aufs_perm p)
{
	return p == AUFS_PERM_RW ? "rw" : p == AUFS_PERM_RR ? "rr" : "ro";
}

static const char *udba_name(enum aufs_udba u)
{
	return u == AUFS_UDBA_NONE ? "none" : u == AUFS_UDBA_INOTIFY ? "inotify" : "reval";
}

static const char *cpup_name(enum aufs_cpup_policy c)
{
	return c == AUFS_CPUP_BUP ? "bup" : c == AUFS_CPUP_BU ? "bu" : "tdp";
}

/* create=POLICY[:ARGS] as the option says it */
static void create_name(const struct aufs_opts *o, char *buf, size_t size)
{
	switch (o->create) {
	case AUFS_CREATE_RR:
		snprintf(buf, size, "rr");
		break;
	case AUFS_CREATE_MFS:
		snprintf(buf, size, "mfs:%u", o->create_sec);
		break;
	case AUFS_CREATE_MFSRR:
		snprintf(buf, size, "mfsrr:%llu:%u", o->create_low, o->create_sec);
		break;
	case AUFS_CREATE_PMFS:
		snprintf(buf, size, "pmfs:%u", o->create_sec);
		break;
	default:
		snprintf(buf, size, "tdp");
	}
}

/* What a union's shared state is, for both outputs. */
struct state_view {
	const char *status;	/* present, none, private, stale, refused, unreadable */
	const char *why;	/* for people */
	struct aufs_shm_status st;
	char link[PATH_MAX];
	struct aufs_err err;
};

static void state_view(const struct aufs_union *u, struct state_view *v)
{
	int r;

	memset(v, 0, sizeof(*v));
	if (aufs_shm_path(u, v->link, sizeof(v->link)) < 0)
		v->link[0] = 0;
	r = aufs_shm_status(u, &v->st, &v->err);
	switch (r) {
	case 0:
		v->status = "present";
		break;
	case -EROFS:
		v->status = "private";
		v->why = "no writable branch: each process keeps a state of its own";
		break;
	case -ENOENT:
		v->status = "none";
		v->why = "none: no process of the union maps one (a state goes with the last "
			 "that does); the next process of root or the branch owner makes it, until "
			 "then the processes of other users run uncached";
		break;
	case -ESTALE:
		v->status = "stale";
		v->why = "stale: the link names another union's segment; the next process of "
			 "root or the branch owner replaces it";
		break;
	case -EUCLEAN:
		v->status = "refused";
		v->why = v->err.msg;
		break;
	default:
		v->status = "unreadable";
		v->why = strerror(-r);
	}
}

/* What a union's table of inode numbers is, for both outputs. */
struct xino_view {
	const char *status;	/* present, composed, none, refused, unreadable */
	const char *why;
	struct aufs_xino_status st;
	char file[PATH_MAX];
	struct aufs_err err;
};

static void xino_view(const struct aufs_union *u, struct xino_view *v)
{
	int r;

	memset(v, 0, sizeof(*v));
	if (aufs_xino_path(u, v->file, sizeof(v->file)) < 0)
		v->file[0] = 0;
	r = aufs_xino_status(u, &v->st, &v->err);
	switch (r) {
	case 0:
		v->status = "present";
		break;
	case -EROFS:
		v->status = "composed";
		v->why = "composed (noxino, or no writable branch): a copy-up changes a number";
		break;
	case -ENOENT:
		v->status = "none";
		v->why = "none yet: root or the branch owner makes it when it first runs the union";
		break;
	case -ESTALE:
		v->status = "stale";
		v->why = "stale: made for another root of the branch; the next process of root or "
			 "the branch owner replaces it";
		break;
	case -EUCLEAN:
		v->status = "refused";
		v->why = v->err.msg;
		break;
	default:
		v->status = "unreadable";
		v->why = strerror(-r);
	}
}

static void xino_human(const struct aufs_union *u)
{
	struct xino_view v;

	xino_view(u, &v);
	if (strcmp(v.status, "present"))
		printf("  inode numbers: %s\n", v.why);
	else
		printf("  inode numbers: %s, entries %llu, kept %llu, full %llu, freed %llu\n",
		       v.file, (unsigned long long)v.st.entries, (unsigned long long)v.st.records,
		       (unsigned long long)v.st.full, (unsigned long long)v.st.freed);
	if (!(u->opts.flags & AUFS_OPT_PLINK))
		printf("  pseudo-links: off (noplink)\n");
	else if (!strcmp(v.status, "present"))
		printf("  pseudo-links: %llu live (made %llu, flushed %llu names, cleaned %llu)\n",
		       (unsigned long long)v.st.plinks, (unsigned long long)v.st.plinks_made,
		       (unsigned long long)v.st.plinks_flushed,
		       (unsigned long long)v.st.plinks_cleaned);
	else
		printf("  pseudo-links: none (they live in the table of inode numbers)\n");
}

static void xino_json(const struct aufs_union *u)
{
	struct xino_view v;

	xino_view(u, &v);
	printf(",\"xino\":{\"status\":\"%s\"", v.status);
	if (v.file[0]) {
		fputs(",\"file\":", stdout);
		json_string(stdout, v.file);
	}
	if (!strcmp(v.status, "present")) {
		printf(",\"entries\":%llu,\"kept\":%llu,\"full\":%llu,\"freed\":%llu,"
		       "\"plink\":%s,\"plinks\":{\"live\":%llu,\"made\":%llu,"
		       "\"flushed\":%llu,\"cleaned\":%llu}}",
		       (unsigned long long)v.st.entries, (unsigned long long)v.st.records,
		       (unsigned long long)v.st.full, (unsigned long long)v.st.freed,
		       u->opts.flags & AUFS_OPT_PLINK ? "true" : "false",
		       (unsigned long long)v.st.plinks, (unsigned long long)v.st.plinks_made,
		       (unsigned long long)v.st.plinks_flushed,
		       (unsigned long long)v.st.plinks_cleaned);
	} else {
		fputs(",\"reason\":", stdout);
		json_string(stdout, v.why);
		fputs("}", stdout);
	}
}

static void status_human(const struct aufs_union *u)
{
	char create[64];
	struct state_view v;

	printf("%s\n", u->mnt);
	for (int b = 0; b < u->nbranch; b++) {
		const struct aufs_branch *br = &u->branch[b];

		printf("  branch %d: %s %s%s%s\n", b, br->path, perm_name(br->perm),
		       br->attr & AUFS_BRATTR_WH ? "+wh" : "",
		       br->attr & AUFS_BRATTR_NOLWH ? "+nolwh" : "");
	}
	create_name(&u->opts, create, sizeof(create));
	printf("  udba=%s create=%s cpup=%s\n", udba_name(u->opts.udba), create,
	       cpup_name(u->opts.cpup));
	xino_human(u);
	state_view(u, &v);
	if (strcmp(v.status, "present")) {
		printf("  shared state: %s\n", v.why);
		return;
	}
	printf("  shared state: segment %d (%s), %lu process%s attached\n", v.st.id, v.link,
	       v.st.nattch, v.st.nattch == 1 ? "" : "es");
	printf("  generation %llu, lookups %llu, copy-ups %llu, whiteouts %llu\n",
	       (unsigned long long)v.st.gen, (unsigned long long)v.st.lookups,
	       (unsigned long long)v.st.copyups, (unsigned long long)v.st.whiteouts);
	if (u->opts.udba == AUFS_UDBA_NONE)
		printf("  shared lookup cache: %u of %u entries\n", v.st.shared_entries,
		       v.st.shared_slots);
}

static void status_json(const struct aufs_union *u)
{
	char create[64];
	struct state_view v;

	fputs("{\"mount\":", stdout);
	json_string(stdout, u->mnt);
	fputs(",\"branches\":[", stdout);
	for (int b = 0; b < u->nbranch; b++) {
		const struct aufs_branch *br = &u->branch[b];

		printf("%s{\"index\":%d,\"path\":", b ? "," : "", b);
		json_string(stdout, br->path);
		printf(",\"perm\":\"%s\",\"attributes\":[%s%s%s]}", perm_name(br->perm),
		       br->attr & AUFS_BRATTR_WH ? "\"wh\"" : "",
		       (br->attr & AUFS_BRATTR_WH) && (br->attr & AUFS_BRATTR_NOLWH) ? "," : "",
		       br->attr & AUFS_BRATTR_NOLWH ? "\"nolwh\"" : "");
	}
	create_name(&u->opts, create, sizeof(create));
	printf("],\"udba\":\"%s\",\"create\":\"%s\",\"cpup\":\"%s\",\"state\":{\"status\":\"%s\"",
	       udba_name(u->opts.udba), create, cpup_name(u->opts.cpup), (state_view(u, &v),
									 v.status));
	if (v.link[0]) {
		fputs(",\"link\":", stdout);
		json_string(stdout, v.link);
	}
	if (!strcmp(v.status, "present")) {
		printf(",\"segment\":%d,\"attached\":%lu,\"generation\":%llu,\"lookups\":%llu,"
		       "\"copyups\":%llu,\"whiteouts\":%llu",
		       v.st.id, v.st.nattch, (unsigned long long)v.st.gen,
		       (unsigned long long)v.st.lookups, (unsigned long long)v.st.copyups,
		       (unsigned long long)v.st.whiteouts);
		if (u->opts.udba == AUFS_UDBA_NONE)
			printf(",\"shared_entries\":%u,\"shared_slots\":%u",
			       v.st.shared_entries, v.st.shared_slots);
	} else {
		fputs(",\"reason\":", stdout);
		json_string(stdout, v.why);
	}
	fputs("}", stdout);
	xino_json(u);
	fputs("}", stdout);
}

int ctl_status(const struct ctl_args *a)
{
	struct aufs_config cfg;
	struct aufs_union *one;
	int r = ctl_load(a, &cfg, &one), n = 0;

	if (r)
		return r;
	if (a->json)
		fputs("{\"unions\":[", stdout);
	for (int i = 0; i < cfg.nunion; i++) {
		struct aufs_union *u = one ? one : aufs_config_union(&cfg, i);

		if (!u)
			continue;
		if (a->json) {
			if (n)
				fputc(',', stdout);
			status_json(u);
		} else {
			status_human(u);
		}
		n++;
		if (one)
			break;
	}
	if (a->json)
		fputs("]}\n", stdout);
	aufs_config_release(&cfg);
	return fflush(stdout) ? ctl_fail(EXIT_FAILED, "standard output: %s", strerror(errno)) : 0;
}

/* ---------------------------------------------------------------- reval */

/*
 * PATH (absolute, or relative to the mount point) as the union-relative name of
 * one of its directories into REL: one branch at least has it as a directory.
 */
static int reval_dir(const struct aufs_union *u, const char *path, char *rel, size_t size)
{
	char abs[PATH_MAX], real[PATH_MAX];
	size_t m = u->mnt_len == 1 ? 0 : u->mnt_len;
	const char *r;
	struct stat st;
	int n;

	if (path[0] == '/')
		n = aufs_table_fstab_path(path, abs, sizeof(abs));
	else
		n = snprintf(abs, sizeof(abs), "%s/%s", u->mnt, path) >= (int)sizeof(abs)
			    ? -ENAMETOOLONG
			    : aufs_table_fstab_path(strcpy(real, abs), abs, sizeof(abs));
	if (n < 0)
		return ctl_fail(EXIT_USAGE, "%s: %s", path, strerror(-n));
	if (strncmp(abs, u->mnt, m) || (abs[m] != '/' && abs[m] != 0))
		return ctl_fail(EXIT_USAGE, "%s is not in the union at %s", path, u->mnt);
	r = abs + m + (abs[m] == '/');
	snprintf(rel, size, "%s", r);
	for (int b = 0; b < u->nbranch; b++) {
		const char *root = u->branch[b].path;

		if (snprintf(real, sizeof(real), "%s/%s", strcmp(root, "/") ? root : "", r) <
			    (int)sizeof(real) &&
		    stat(real, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
	}
	return ctl_fail(EXIT_USAGE, "%s: no branch of the union at %s has this directory", path,
			u->mnt);
}

int ctl_reval(const struct ctl_args *a)
{
	struct aufs_err err = { 0 };
	struct aufs_config cfg;
	struct aufs_union *u;
	char rel[PATH_MAX];
	int r = ctl_load(a, &cfg, &u);

	if (r)
		return r;
	if (a->path && (r = reval_dir(u, a->path, rel, sizeof(rel))) != 0)
		goto out;
	r = aufs_shm_reval(u, a->path ? rel : NULL, a->path ? strlen(rel) : 0, &err);
	switch (r) {
	case 0:
		if (a->path)
			printf("%s: every process drops what it cached in /%s at its next call\n",
			       u->mnt, rel);
		else
			printf("%s: every process drops what it cached at its next call\n", u->mnt);
		break;
	case -EPERM:
		r = ctl_fail(EXIT_FAILED, "%s", err.msg);
		break;
	case -EROFS:
		r = ctl_fail(EXIT_FAILED, "%s has no writable branch: each of its processes keeps "
			     "a state of its own that no other process reaches (restart them)",
			     u->mnt);
		break;
	case -ENOENT:
	case -ESTALE:
		/* no process of the union caches anything without a state: nothing to drop */
		printf("%s: no shared state: its processes run uncached, nothing to drop\n", u->mnt);
		r = 0;
		break;
	case -EUCLEAN:
		printf("%s: %s; its processes run uncached, nothing to drop\n", u->mnt, err.msg);
		r = 0;
		break;
	default:
		r = ctl_fail(EXIT_FAILED, "%s: shared state: %s", u->mnt, strerror(-r));
	}
out:
	aufs_config_release(&cfg);
	return r;
}
