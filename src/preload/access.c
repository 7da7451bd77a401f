/* SPDX-License-Identifier: MIT */
/*
 * access.c - access checks. Canonical: faccessat. Forwarders: access,
 * euidaccess, eaccess (faccessat with AT_EACCESS). The prologue is gen.c's.
 */
#include "shim.h"

long verb_faccessat(int dirfd, const char *path, int mode, int flags)
{
	return aufs_faccessat(dirfd, AUFS_LAUNDER(path), mode, flags);
}
