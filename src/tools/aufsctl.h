/* SPDX-License-Identifier: MIT */
/*
 * aufsctl.h - what the files of aufsctl share: aufsctl.c parses the command line
 * and dispatches; aufsctl_union.c finds a union and runs status and reval;
 * aufsctl_tree.c walks branches for diff and check; aufsctl_remount.c changes
 * unions of the host table live.
 */
#ifndef AUFSCTL_H
#define AUFSCTL_H

#include <stdbool.h>
#include <stdio.h>

#include "aufs/core.h"

enum {
	EXIT_FAILED = 1,	/* could not do it: no right to, I/O */
	EXIT_USAGE = 2,		/* bad usage or input: a bad fstab line, no such union */
	EXIT_FOUND = 3,		/* check: the image is not usable / the union needs care */
};

/* The command line of a command that acts on unions (status, reval, diff, check). */
struct ctl_args {
	const char *cmd;
	const char *options;	/* -o OPTIONS: the union is given on the command line */
	const char *fstab;	/* --fstab FILE, else $AUFS_FSTAB */
	const char *mnt;	/* the union's mount point (status: optional) */
	const char *path;	/* reval: a directory of the union */
	bool json;
	bool repair;		/* check --repair */
	bool xino;		/* check --xino [DIR] */
};

/* "aufsctl: " FMT "\n" on stderr; returns CODE. */
int ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* S as a JSON string (quotes included) on F. */
void json_string(FILE *f, const char *s);

/*
 * The unions A names into CFG (initialised here; the caller releases it): the one
 * of -o, or those of the host table. With A->mnt, *RET is that union (exit 2 and
 * one line when no union has that mount point); without, NULL. Returns 0 or the
 * exit status of a failure, already said.
 */
int ctl_load(const struct ctl_args *a, struct aufs_config *cfg, struct aufs_union **ret);

int ctl_status(const struct ctl_args *a);
int ctl_reval(const struct ctl_args *a);
int ctl_diff(const struct ctl_args *a);
int ctl_check_union(const struct ctl_args *a);
/* aufsctl flush MNT: pseudo-links made real hard links in the writable branch. */
int ctl_flush(const struct ctl_args *a);
/* aufsctl check --xino [DIR]: the tables of inode numbers no process maps. */
int ctl_check_xino(const struct ctl_args *a, const char *dir);

/* aufsctl remount ARGV... (after the command's name). */
int aufsctl_remount(int argc, char **argv);

/* $AUFS_TABLE when it is FILE's image: when AUFS_FSTAB is unset or names FILE. */
const char *ctl_env_image(const char *file);

#endif /* AUFSCTL_H */
