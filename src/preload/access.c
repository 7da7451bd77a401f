/* SPDX-License-Identifier: MIT */
/*
 * access.c - access checks. Canonical: faccessat. Forwarders: access,
 * euidaccess, eaccess (faccessat with AT_EACCESS).
 */
#include "shim.h"

int shim_faccessat(int dirfd, const char *path, int mode, int flags)
{
	int saved = errno;
	int r;

	if (!aufs_active())
		return REAL(faccessat)(dirfd, path, mode, flags);
	path = AUFS_LAUNDER(path);
	r = aufs_faccessat(dirfd, path, mode, flags);
	if (r == AUFS_PASS)
		return REAL(faccessat)(dirfd, path, mode, flags);
	return (int)aufs_ret(r, saved);
}
