/* SPDX-License-Identifier: MIT */
/*
 * mount.c - the root and the mount table: chroot, mount, umount, umount2.
 * Canonical: all four; no forwarders. They need privilege (EPERM otherwise, as
 * the kernel says); a union path is turned into the real path of the top-most
 * copy and the call passes through. chroot does not emulate anything: the new
 * root is a branch directory, and the union view is left (the unions' mount
 * points name host paths that are outside the new root). The prologue is gen.c's.
 */
#include <sys/mount.h>

#include "shim.h"

long verb_chroot(const char *path)
{
	char real[PATH_MAX];
	long r = verb_real_path(AT_FDCWD, path, 0, real);

	return r ? r : verb_real(REAL(chroot)(real));
}

/*
 * The source of a bind or move mount is a path too; other sources ("none",
 * "tmpfs", a device outside every union) are given as they are. The verb makes
 * the real call itself: a translated source goes with a target outside too.
 */
long verb_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
		const void *data)
{
	char src[PATH_MAX], real[PATH_MAX];
	long r;

	if (!aufs_path_ok(target))
		return AUFS_PASS;	/* the kernel copies every name first: EFAULT */
	source = AUFS_LAUNDER(source);
	if (source && aufs_real_path(AT_FDCWD, source, 0, src) == 0)
		source = src;
	r = verb_real_path(AT_FDCWD, target, 0, real);
	if (r == AUFS_PASS)
		return verb_real(REAL(mount)(source, target, fstype, flags, data));
	return r ? r : verb_real(REAL(mount)(source, real, fstype, flags, data));
}

long verb_umount2(const char *target, int flags)
{
	int at = (flags & UMOUNT_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;
	char real[PATH_MAX];
	long r = verb_real_path(AT_FDCWD, target, at, real);

	return r ? r : verb_real(REAL(umount2)(real, flags));
}

long verb_umount(const char *target)
{
	char real[PATH_MAX];
	long r = verb_real_path(AT_FDCWD, target, 0, real);

	return r ? r : verb_real(REAL(umount)(real));
}
