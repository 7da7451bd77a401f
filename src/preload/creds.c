/* SPDX-License-Identifier: MIT */
/*
 * creds.c - credential changes. The core keeps the caller's euid, egid and groups
 * (src/core/state_creds.c) instead of asking the kernel at every permission check;
 * every call that may change them tells it afterwards, whatever the result
 * (a php-fpm worker drops its privileges after fork this way).
 */
#include <grp.h>
#include <sys/fsuid.h>

#include "shim.h"

#define CREDS_SHIM(ret, name, params, args)		\
	ret shim_##name params				\
	{						\
		ret res_ = REAL(name) args;		\
							\
		aufs_creds_changed();			\
		return res_;				\
	}

CREDS_SHIM(int, setuid, (uid_t u), (u))
CREDS_SHIM(int, seteuid, (uid_t u), (u))
CREDS_SHIM(int, setreuid, (uid_t r, uid_t e), (r, e))
CREDS_SHIM(int, setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
CREDS_SHIM(int, setgid, (gid_t g), (g))
CREDS_SHIM(int, setegid, (gid_t g), (g))
CREDS_SHIM(int, setregid, (gid_t r, gid_t e), (r, e))
CREDS_SHIM(int, setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))
CREDS_SHIM(int, setgroups, (size_t n, const gid_t *l), (n, l))
CREDS_SHIM(int, initgroups, (const char *user, gid_t g), (user, g))
CREDS_SHIM(int, setfsuid, (uid_t u), (u))
CREDS_SHIM(int, setfsgid, (gid_t g), (g))
