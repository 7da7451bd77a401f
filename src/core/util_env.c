/* SPDX-License-Identifier: MIT */
/*
 * util_env.c - the scratch directories (AUFS_TABLE_DIR, AUFS_XINO_DIR) as the
 * process started with them. A union's table of inode numbers, and a host table's
 * default image, are named when first needed, which in a php-fpm worker is after
 * clear_env emptied the environment: read then, the worker would use /dev/shm
 * while nginx and the master use the host's directory, and each side would keep
 * its own inode numbers. The library captures them from its constructor; a program
 * that never calls aufs_env_capture() (aufs-run, aufsctl) reads the environment.
 */
#include <stdlib.h>

#include "internal.h"

static struct {
	_Atomic bool done;
	bool set[AUFS_ENV_DIRS];
	char value[AUFS_ENV_DIRS][PATH_MAX];
} start;

static const char *const name[AUFS_ENV_DIRS] = { "AUFS_TABLE_DIR", "AUFS_XINO_DIR" };

void aufs_env_capture(void)
{
	if (atomic_load(&start.done))
		return;
	for (int i = 0; i < AUFS_ENV_DIRS; i++) {
		const char *v = getenv(name[i]);
		size_t n = v ? strlen(v) : 0;

		/* a value too long for a path names no directory: as if unset */
		start.set[i] = n > 0 && n < PATH_MAX;
		if (start.set[i])
			memcpy(start.value[i], v, n + 1);
	}
	atomic_store(&start.done, true);
}

const char *aufs_env_dir(enum aufs_env_dir which)
{
	if (atomic_load(&start.done))
		return start.set[which] ? start.value[which] : NULL;
	return getenv(name[which]);
}
