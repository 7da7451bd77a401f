/* SPDX-License-Identifier: MIT */
/*
 * mutate_copyup.c - bring an object of a lower branch up into a writable one before it
 * is changed, as aufs does: parents first (mode, owner when permitted, times),
 * then the object itself - data with copy_file_range, holes kept - then its
 * owner, mode, extended attributes and times. The copy is built under a
 * whiteout-prefixed temporary name in the target directory (never listed, never
 * half-visible) and renamed into place with RENAME_NOREPLACE: when two
 * processes copy the same file at once, the first rename wins and the other
 * process drops its copy and uses the winner's, so no write is lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/xattr.h>

#include "internal.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

bool may_write(const struct stat *st)
{
	uid_t uid = creds_get()->euid;

	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return st->st_mode & S_IWUSR;
	if (creds_in_group(st->st_gid))
		return st->st_mode & S_IWGRP;
	return st->st_mode & S_IWOTH;
}

static void copy_times(int dirfd, const char *path, const struct stat *st, int flags)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	(void)sys_utimensat(dirfd, path, ts, flags);	/* best effort, as cp -p */
}

/*
 * The mode a copy gets: never the set-id bits. A copy made by a process of the
 * union must not turn a set-id file of a (maybe nosuid) lower branch into one the
 * writable branch honours (the CVE-2023-0386 class of overlay bugs).
 */
static mode_t copy_mode(const struct stat *st)
{
	/* a directory keeps set-group-ID: it only decides the group of new entries */
	return st->st_mode & (S_ISDIR(st->st_mode) ? 03777 : 01777);
}

/*
 * A directory copied up for a caller who will not own it with write access
 * (not root, and the mode lacks u+wx) is made with u+wx so that the object can be
 * created inside it; cpup_seal() gives it its real mode afterwards.
 */
static mode_t widened(const struct stat *st, bool *widen)
{
	mode_t m = copy_mode(st);

	if ((m & 0300) != 0300 && creds_get()->euid != 0) {
		*widen = true;
		return m | 0300;
	}
	return m;
}

void cpup_seal(struct aufs_union *u, const char *rel, size_t len, int t)
{
	char dst[PATH_MAX], src[PATH_MAX];
	struct stat st, sst;

	for (size_t end = 0; end < len;) {
		end++;
		while (end < len && rel[end] != '/')
			end++;
		if (branch_path(&u->branch[t], rel, end, dst) < 0 || sys_lstat(dst, &st) < 0)
			return;
		for (int b = 0; b < u->nbranch; b++) {
			if (b == t || branch_path(&u->branch[b], rel, end, src) < 0 ||
			    sys_lstat(src, &sst) < 0 || !S_ISDIR(sst.st_mode))
				continue;
			if ((st.st_mode & 07777) == (copy_mode(&sst) | 0300) &&
			    (st.st_mode & 07777) != copy_mode(&sst))
				(void)sys_fchmodat(AT_FDCWD, dst, copy_mode(&sst));
			break;
		}
	}
}

/*
 * Owner first (chown clears set-id bits), then the mode. A chown the caller may
 * not make (EPERM, or EINVAL for an owner its namespace cannot map) keeps ours;
 * any other failure is returned: published, the copy would show another owner or
 * mode than the object it replaces in the union.
 */
static int copy_owner_mode(int fd, const char *path, const struct stat *st)
{
	int r;

	if (fd >= 0)
		r = sys_fchown(fd, st->st_uid, st->st_gid);
	else
		r = sys_fchownat(AT_FDCWD, path, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0 && r != -EPERM && r != -EINVAL)
		return r;
	return fd >= 0 ? sys_fchmod(fd, copy_mode(st)) : 0;
}

static void copy_xattrs(int in, int out)
{
	char list[4096], value[65536];
	ssize_t n = sys_flistxattr(in, list, sizeof(list));

	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
		const char *name = list + off;
		ssize_t v;

		/* security.* (capabilities, labels) and trusted.* are never copied blindly */
		if (!strncmp(name, "security.", 9) || !strncmp(name, "trusted.", 8))
			continue;
		v = sys_fgetxattr(in, name, value, sizeof(value));
		if (v >= 0)
			(void)sys_fsetxattr(out, name, value, (size_t)v, 0);
	}
}

static int copy_range(int in, int out, off_t from, off_t to)
{
	loff_t ioff = from, ooff = from;

	while (ioff < to) {
		ssize_t n = sys_copy_file_range(in, &ioff, out, &ooff, (size_t)(to - ioff), 0);

		if (n == 0)
			break;	/* the source shrank meanwhile */
		if (n > 0)
			continue;
		if (n != -EXDEV && n != -EINVAL && n != -ENOSYS && n != -EOPNOTSUPP)
			return (int)n;
		/* no in-kernel copy between these file systems: read and write */
		{
			char buf[65536];
			ssize_t got = AUFS_SYS(SYS_pread64, in, buf,
					       (size_t)(to - ioff) < sizeof(buf) ? (size_t)(to - ioff)
										 : sizeof(buf), ioff, 0, 0);

			if (got <= 0)
				return got < 0 ? (int)got : 0;
			if (AUFS_SYS(SYS_pwrite64, out, buf, got, ooff, 0, 0) != got)
				return -EIO;
			ioff += got;
			ooff += got;
		}
	}
	return 0;
}

/* Copy LEN bytes of data, skipping holes (SEEK_DATA/SEEK_HOLE) so sparse files stay sparse. */
static int copy_data(int in, int out, off_t len, bool dense)
{
	off_t off = 0, written = 0;
	int r;

	if (dense)
		return copy_range(in, out, 0, len);	/* as many blocks as bytes: no hole */
	while (off < len) {
		off_t data = sys_lseek(in, off, SEEK_DATA), hole;

		if (data == -ENXIO)
			break;	/* only a hole remains */
		if (data < 0) {
			/* no SEEK_DATA here: copy everything */
			return copy_range(in, out, off, len);
		}
		if (data >= len)
			break;
		hole = sys_lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > len)
			hole = len;
		r = copy_range(in, out, data, hole);
		if (r < 0)
			return r;
		off = written = hole;
	}
	/* a trailing hole (or an empty file made longer) needs the size set */
	return written == len ? 0 : sys_ftruncate(out, len);
}

static void split(const char *rel, size_t len, size_t *dlen, const char **name)
{
	size_t i = len;

	while (i > 0 && rel[i - 1] != '/')
		i--;
	*name = rel + i;
	*dlen = i ? i - 1 : 0;
}

/* cpup_dirs(); *DIRST gets the lstat of the directory when it was there already. */
static int cpup_dirs_st(struct aufs_union *u, const char *rel, size_t len, int t,
			struct stat *dirst, bool *have_dirst)
{
	char dst[PATH_MAX], src[PATH_MAX], pdst[PATH_MAX];
	struct stat st, sst, pst;
	bool have_parent, widen = false;
	size_t end = 0;
	int r;

	/*
	 * Mostly the whole directory is there already: one lstat, not one per
	 * component. Anything else (missing, sealed, not a directory) walks down.
	 */
	if (len > 0) {
		r = branch_path(&u->branch[t], rel, len, dst);
		if (r < 0)
			return r;
		if (sys_lstat(dst, &st) == 0 && S_ISDIR(st.st_mode) &&
		    ((st.st_mode & 0300) == 0300 || creds_get()->euid == 0 ||
		     st.st_uid != creds_get()->euid)) {
			if (dirst) {
				*dirst = st;
				*have_dirst = true;
			}
			return 0;
		}
	}
	while (end < len) {
		bool made = false;

		end++;
		while (end < len && rel[end] != '/')
			end++;
		r = branch_path(&u->branch[t], rel, end, dst);
		if (r < 0)
			return r;
		r = sys_lstat(dst, &st);
		if (r == 0) {
			if (!S_ISDIR(st.st_mode))
				return -ENOTDIR;
			/* an earlier copy sealed to u-w: open it up again until cpup_seal() */
			if ((st.st_mode & 0300) != 0300 && creds_get()->euid != 0 &&
			    st.st_uid == creds_get()->euid &&
			    sys_fchmodat(AT_FDCWD, dst, (st.st_mode & 07777) | 0300) == 0)
				widen = true;
			continue;
		}
		if (r != -ENOENT)
			return r;
		/* the top-most other branch that has it gives mode, owner and times */
		for (int b = 0; b < u->nbranch; b++) {
			if (b == t || branch_path(&u->branch[b], rel, end, src) < 0)
				continue;
			if (sys_lstat(src, &sst) == 0 && S_ISDIR(sst.st_mode)) {
				made = true;
				break;
			}
		}
		if (!made)
			return -ENOENT;
		{
			size_t pl = end;

			while (pl > 0 && rel[pl - 1] != '/')
				pl--;
			have_parent = branch_path(&u->branch[t], rel, pl ? pl - 1 : 0, pdst) == 0 &&
				      sys_lstat(pdst, &pst) == 0;
		}
		r = sys_mkdirat(AT_FDCWD, dst, 0700);
		if (r == -EEXIST)
			continue;	/* another process made it first */
		if (r < 0)
			return r;
		/* as copy_owner_mode(): a directory of another mode would show in the union */
		r = sys_fchownat(AT_FDCWD, dst, sst.st_uid, sst.st_gid, 0);
		if (r == 0 || r == -EPERM || r == -EINVAL)
			r = sys_fchmodat(AT_FDCWD, dst, widened(&sst, &widen));
		if (r < 0) {
			(void)sys_unlinkat(AT_FDCWD, dst, AT_REMOVEDIR);
			return r;
		}
		copy_times(AT_FDCWD, dst, &sst, 0);
		if (have_parent)
			copy_times(AT_FDCWD, pdst, &pst, 0);	/* its parent looks untouched */
		{
			size_t dl;
			const char *nm;

			split(rel, end, &dl, &nm);
			aufs_dir_changed(u, rel, dl);	/* the parent gained a copy */
			lookup_dir_gained_branch(u, rel, end);	/* and the directory a branch */
		}
	}
	return widen ? 1 : 0;
}

int cpup_dirs(struct aufs_union *u, const char *rel, size_t len, int t)
{
	return cpup_dirs_st(u, rel, len, t, NULL, NULL);
}

/* The open flags F_SETFL gives a kept copy-up descriptor afterwards. */
#define KEEP_SETFL (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_ASYNC)

/*
 * May the descriptor the copy was written through serve an open with OFLAGS of
 * the copy? Only when the kernel would let the caller open it so (root, or the
 * owner with the mode's bits) and every flag can still be given to it.
 */
static bool may_keep(const struct stat *st, int oflags)
{
	int acc = oflags & O_ACCMODE;
	uid_t uid = creds_get()->euid;

	if ((acc != O_WRONLY && acc != O_RDWR) || (oflags & (O_SYNC | O_PATH)))
		return false;
	return uid == 0 || (st->st_uid == uid && (st->st_mode & S_IWUSR) &&
			    (acc == O_WRONLY || (st->st_mode & S_IRUSR)));
}

/*
 * cpup_object(); RET_FD non-NULL: a regular file's copy may be given back open
 * as by open(OFLAGS) of it in *RET_FD (else -1), saving the caller that open.
 */
static int cpup_object_fd(struct aufs_union *u, const char *rel, int src, int t,
			  const struct stat *st, off_t len, int oflags, int *ret_fd)
{
	static _Atomic unsigned long seq;
	char from[PATH_MAX], tmp[PATH_MAX], to[PATH_MAX];
	size_t rlen = strlen(rel), dlen;
	const char *name;
	int in = -1, out = -1, r;
	bool have_dtime = false, seal, keep = false, won;
	struct stat dst;

	if (S_ISDIR(st->st_mode))
		return cpup_dirs(u, rel, rlen, t);
	split(rel, rlen, &dlen, &name);
	r = cpup_dirs_st(u, rel, dlen, t, &dst, &have_dtime);
	if (r < 0)
		return r;
	seal = r > 0;
	/*
	 * A copy-up changes no directory of the union: the target directory's times
	 * are put back afterwards, as aufs does (au_dtime_store/revert).
	 */
	if ((r = branch_path(&u->branch[t], rel, dlen, to)) < 0)
		return r;
	if (!have_dtime)
		have_dtime = sys_lstat(to, &dst) == 0;
	if ((r = branch_path(&u->branch[src], rel, rlen, from)) < 0 ||
	    (r = branch_path(&u->branch[t], rel, rlen, to)) < 0 ||
	    (r = branch_path(&u->branch[t], rel, dlen, tmp)) < 0)
		return r;
	if (strlen(tmp) + 64 > PATH_MAX)
		return -ENAMETOOLONG;
	snprintf(tmp + strlen(tmp), 64, "/" AUFS_WH_PREFIX AUFS_WH_PREFIX "cpup.%d.%lu",
		 (int)creds_pid(), atomic_fetch_add(&seq, 1));

	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		in = sys_openat(AT_FDCWD, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (in < 0)
			return in;
		keep = ret_fd && may_keep(st, oflags);
		out = sys_openat(AT_FDCWD, tmp,
				 (keep && (oflags & O_ACCMODE) == O_RDWR ? O_RDWR : O_WRONLY) |
				 O_CREAT | O_EXCL | (keep ? oflags & O_CLOEXEC : O_CLOEXEC), 0600);
		if (out < 0) {
			r = out;
			goto out_close;
		}
		r = copy_data(in, out, len < 0 || len > st->st_size ? st->st_size : len,
			      (off_t)st->st_blocks * 512 >= st->st_size);
		if (r == 0 && len > st->st_size)
			r = sys_ftruncate(out, len);
		if (r < 0)
			goto out_unlink;
		/* a new file is the caller's, of the directory's group when set-group-ID */
		if (have_dtime && st->st_uid == creds_get()->euid &&
		    st->st_gid == (dst.st_mode & S_ISGID ? dst.st_gid : creds_get()->egid))
			r = sys_fchmod(out, copy_mode(st));
		else
			r = copy_owner_mode(out, tmp, st);
		if (r < 0)
			goto out_unlink;
		copy_xattrs(in, out);
		copy_times(out, NULL, st, 0);
		break;
	case S_IFLNK: {
		char target[PATH_MAX];
		ssize_t n = sys_readlinkat(AT_FDCWD, from, target, sizeof(target) - 1);

		if (n < 0)
			return (int)n;
		target[n] = 0;
		r = sys_symlinkat(target, AT_FDCWD, tmp);
		if (r < 0)
			return r;
		r = copy_owner_mode(-1, tmp, st);
		if (r < 0)
			goto out_unlink;
		copy_times(AT_FDCWD, tmp, st, AT_SYMLINK_NOFOLLOW);
		break;
	}
	default:
		r = sys_mknodat(AT_FDCWD, tmp, st->st_mode, st->st_rdev);
		if (r < 0)
			return r;
		r = copy_owner_mode(-1, tmp, st);
		if (r == 0)
			r = sys_fchmodat(AT_FDCWD, tmp, copy_mode(st));	/* mknod obeyed the umask */
		if (r < 0)
			goto out_unlink;
		copy_times(AT_FDCWD, tmp, st, 0);
		break;
	}
	/* publish without replacing: a racing copy that landed first wins */
	r = sys_renameat2(AT_FDCWD, tmp, AT_FDCWD, to, RENAME_NOREPLACE);
	if (r == -EINVAL || r == -ENOSYS) {
		r = sys_linkat(AT_FDCWD, tmp, AT_FDCWD, to, 0);
		(void)sys_unlinkat(AT_FDCWD, tmp, 0);	/* the name in place keeps the inode */
	} else if (r < 0) {
		(void)sys_unlinkat(AT_FDCWD, tmp, 0);
	}
	won = r == 0;
	if (r == -EEXIST)
		r = 0;	/* lost the race: the winner's copy is in place */
	if (won && keep && out >= 0 &&
	    (!(oflags & KEEP_SETFL) || sys_fcntl(out, F_SETFL, oflags & KEEP_SETFL) == 0)) {
		*ret_fd = out;	/* ours is the copy in place: it is open already */
		out = -1;
	}
	if (r == 0) {
		if (seal)
			cpup_seal(u, rel, dlen, t);
		if (have_dtime) {
			branch_path(&u->branch[t], rel, dlen, tmp);
			copy_times(AT_FDCWD, tmp, &dst, 0);
		}
		/*
		 * The directory keeps its names: only what was cached about this one
		 * (its branch) is stale, in every process (lent_valid() checks it).
		 */
		lookup_name_changed(u, rel, rlen);
		if (u->shm)
			atomic_fetch_add_explicit(&u->shm->counter[AUFS_CNT_COPYUPS], 1,
						  memory_order_relaxed);
	}
	goto out_close;
out_unlink:
	(void)sys_unlinkat(AT_FDCWD, tmp, 0);
out_close:
	if (out >= 0)
		sys_close(out);
	if (in >= 0)
		sys_close(in);
	return r;
}

int cpup_object(struct aufs_union *u, const char *rel, int src, int t, const struct stat *st,
		off_t len)
{
	return cpup_object_fd(u, rel, src, t, st, len, 0, NULL);
}

int cpup_loc(struct aufs_loc *loc, off_t len, bool check_write)
{
	return cpup_loc_fd(loc, len, check_write, 0, NULL);
}

int cpup_loc_fd(struct aufs_loc *loc, off_t len, bool check_write, int oflags, int *ret_fd)
{
	struct aufs_union *u = loc->u;
	const char *rel = loc->virt + loc->rel;
	size_t rlen = strlen(rel), dlen;
	const char *name;
	aufs_mask pmask;
	struct stat st;
	int t, r;

	if (u->branch[loc->branch].perm == AUFS_PERM_RW)
		return 0;
	if (loc->flags & AUFS_LOC_HAVE_STAT)
		st = loc->st;	/* the lookup's own probe */
	else if ((r = sys_lstat(loc->real, &st)) < 0)
		return r;
	if (check_write && !S_ISDIR(st.st_mode) && !may_write(&st))
		return -EACCES;
	split(rel, rlen, &dlen, &name);
	{
		char dir[PATH_MAX];

		memcpy(dir, rel, dlen);
		dir[dlen] = 0;
		r = lookup_dirmask(u, dir, &pmask);
		if (r < 0)
			return r;
	}
	t = policy_copyup(u, pmask, loc->branch);
	if (t < 0)
		return t;
	r = cpup_object_fd(u, rel, loc->branch, t, &st, len, oflags, ret_fd);
	if (r < 0)
		return r;
	if (r > 0)
		cpup_seal(u, rel, rlen, t);	/* a directory copied up widened */
	loc->branch = t;
	loc->flags &= ~(AUFS_LOC_HAVE_STAT | AUFS_LOC_CACHED | AUFS_LOC_ALONE);
	if (!S_ISDIR(st.st_mode))	/* the next call on it need not probe */
		lookup_note_made(u, rel, rlen, t, IFTODT(st.st_mode), false);
	return branch_path(&u->branch[t], rel, rlen, loc->real);
}
