/* SPDX-License-Identifier: MIT */
/*
 * aufsctl.h - what the files of aufsctl share: exit codes, the one-line failure,
 * and the commands that live in their own file.
 */
#ifndef AUFSCTL_H
#define AUFSCTL_H

enum {
	EXIT_FAILED = 1,	/* could not do it: the image cannot be written, I/O */
	EXIT_USAGE = 2,		/* bad usage, a bad fstab line, a missing fstab */
	EXIT_UNUSABLE = 3,	/* check: the image is missing, stale, foreign or corrupt */
};

/* "aufsctl: ", FMT with its arguments and a newline on stderr; returns CODE. */
int fail_exit(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* aufsctl remount ARGV...: the host table's unions changed live (aufsctl_remount.c). */
int aufsctl_remount(int argc, char **argv, const char *image);

#endif /* AUFSCTL_H */
