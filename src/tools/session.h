/* SPDX-License-Identifier: MIT */
/*
 * session.h - the session fstab of `aufs-run -o`: its unions written to a file of
 * their own, so that every process of the run (any uid) maps one compiled image and
 * follows it when `aufsctl remount` replaces it, as the processes of a host table do.
 *
 * A session is two files in AUFS_TABLE_DIR (default /dev/shm):
 *   aufs-run.UID.PID[.N].fstab  its first line "# aufs-run session: pid PID start TICKS",
 *                               then one fstab line per union;
 *   aufs-run.UID.PID[.N].image  the compiled image (AUFS_TABLE of the command).
 * PID is the command's (aufs-run execs it), TICKS its start time (/proc/PID/stat), so
 * that a reused PID is told from the command. Both are created O_EXCL|O_NOFOLLOW by
 * their owner: a name that is taken (a planted file) is passed over for the next N.
 * A session is in use while its command runs or any process maps its image (a
 * daemon's children after the command exited); the next aufs-run removes the others.
 */
#ifndef AUFS_SESSION_H
#define AUFS_SESSION_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct session {
	char fstab[PATH_MAX];
	char image[PATH_MAX];
	uid_t uid;		/* from the name; the files' owner */
	pid_t pid;		/* the command's, from the first line */
	unsigned long long start;	/* its start time in clock ticks after boot */
	bool in_use;		/* the command runs, or a process maps the image */
};

/* The directory of sessions, resolved (AUFS_TABLE_DIR, else /dev/shm) into BUF. */
int session_dir(char *buf, size_t size);

/*
 * The trusted sessions of DIR (regular files owned by the uid their name says, not
 * writable by group or others, with a well-formed first line), whether each is in
 * use, into a malloc'd array *RET of *RET_N. Files the caller cannot read are left out.
 */
int session_list(const char *dir, struct session **ret, size_t *ret_n);

/*
 * Remove the sessions of DIR that nobody uses and that the caller may remove (its
 * own; any as root), with their images. Returns how many were removed.
 */
int session_sweep(const char *dir);

/*
 * Create a session of LINES (fstab lines, newline-terminated) for this process in
 * DIR and compile its image; the paths into FSTAB and IMAGE (PATH_MAX each). 0, or
 * -errno with a line into WHY (WHY_SIZE bytes).
 */
int session_create(const char *dir, const char *lines, char *fstab, char *image, char *why,
		   size_t why_size);

/*
 * Is FILE a session fstab (its name and its first line)? Then LINES (malloc'd) is
 * its text without the first line, for an aufs-run started inside the session.
 */
bool session_read_lines(const char *file, char **lines);

#endif /* AUFS_SESSION_H */
