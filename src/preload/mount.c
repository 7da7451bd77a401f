/* SPDX-License-Identifier: MIT */
/*
 * mount.c - the root and the mount table: chroot, mount, umount, umount2.
 * Canonical: all four; no forwarders. They need privilege (EPERM otherwise, as
 * the kernel says); a union path is turned into the real path of the top-most
 * copy and the call passes through. chroot does not emulate anything: the new
 * root is a branch directory, and the union view is left (the unions' mount
 * points name host paths that are outside the new root).
 */
#include <sys/mount.h>

#include "shim.h"

int shim_chroot(const char *path)
{
	AUFS_REAL_PATH_SHIM(int, AT_FDCWD, path, 0, REAL(chroot)(p_));
}

/*
 * The source of a bind or move mount is a path too; other sources ("none",
 * "tmpfs", a device outside every union) are given as they are.
 */
int shim_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
	       const void *data)
{
	char src[PATH_MAX];

	source = AUFS_LAUNDER(source);
	if (source && aufs_active() && aufs_real_path(AT_FDCWD, source, 0, src) == 0)
		source = src;
	AUFS_REAL_PATH_SHIM(int, AT_FDCWD, target, 0, REAL(mount)(source, p_, fstype, flags, data));
}

int shim_umount2(const char *target, int flags)
{
	int at = (flags & UMOUNT_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;

	AUFS_REAL_PATH_SHIM(int, AT_FDCWD, target, at, REAL(umount2)(p_, flags));
}

int shim_umount(const char *target)
{
	AUFS_REAL_PATH_SHIM(int, AT_FDCWD, target, 0, REAL(umount)(p_));
}
