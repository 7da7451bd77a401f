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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/xattr.h>

#include "internal.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

bool may_write(const struct stat *st)
{
	return creds_mode_allows(st, W_OK, false);
}

static void copy_times(const char *path, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	(void)beneath_utimensat(path, ts);	/* best effort, as cp -p */
}

static void copy_times_fd(int fd, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	(void)sys_utimensat(fd, NULL, ts, 0);
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
				(void)beneath_fchmodat(dst, copy_mode(&sst));
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
static int copy_owner_mode(int fd, const char *path, const struct stat *st, bool mode_set)
{
	int r;

	if (fd >= 0)
		r = sys_fchown(fd, st->st_uid, st->st_gid);
	else
		r = beneath_fchownat(path, st->st_uid, st->st_gid);
	if (r < 0 && r != -EPERM && r != -EINVAL)
		return r;
	/* a chown clears the set-id bits only, which a mode set at the create lacks */
	return fd >= 0 && !mode_set ? sys_fchmod(fd, copy_mode(st)) : 0;
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
	bool by_hand = false;	/* the kernel said once it cannot copy these */

	while (ioff < to) {
		ssize_t n = by_hand ? -EXDEV
				    : sys_copy_file_range(in, &ioff, out, &ooff,
							  (size_t)(to - ioff), 0);

		if (n == 0)
			break;	/* the source shrank meanwhile */
		if (n > 0)
			continue;
		if (n != -EXDEV && n != -EINVAL && n != -ENOSYS && n != -EOPNOTSUPP)
			return (int)n;
		/* no in-kernel copy between these file systems: read and write */
		by_hand = true;
		{
			char buf[65536];
			ssize_t got = AUFS_SYS(SYS_pread64, in, buf,
					       (size_t)(to - ioff) < sizeof(buf) ? (size_t)(to - ioff)
										 : sizeof(buf), ioff, 0, 0);

			if (got <= 0)
				return got < 0 ? (int)got : 0;
			ioff += got;
			/* a short write is retried: the next one says why (ENOSPC, EDQUOT, EFBIG) */
			for (ssize_t done = 0; done < got;) {
				ssize_t w = AUFS_SYS(SYS_pwrite64, out, buf + done, got - done, ooff, 0, 0);

				if (w == -EINTR)
					continue;
				if (w <= 0)
					return w < 0 ? (int)w : -EIO;
				done += w;
				ooff += w;
			}
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

/*
 * The mode a directory copy is made with by mkdir itself, saving the fchmod:
 * when the umask keeps every bit of WANT and it has no set-id or sticky bit.
 * Only for a copy that is stat'ed anyway (xino), which tells whether a default
 * ACL of the parent made it otherwise. 0700 else, until the fchmod.
 */
static mode_t dir_create_mode(struct aufs_union *u, const struct stat *sst, mode_t want)
{
	int um = creds_umask();

	return !(want & 07000) && um >= 0 && !(want & (mode_t)um) && xino_keeps(u, sst) ? want
										 : 0700;
}

/*
 * Make directory REL[0..END) in branch T, whose parent is there, as the top-most
 * other branch has it: mode (widened to u+wx when *WIDEN says so), owner, times
 * (unless TIMES_LATER: the caller sets them after writing in it); its parent's
 * times are put back. PST: the parent's lstat, or what it was made as (NULL:
 * asked here). 0 (*MADE: what the directory was made as), 1 (another process
 * made it first) or -errno.
 */
static int make_dir_copy(struct aufs_union *u, const char *rel, size_t end, int t, bool *widen,
			 const struct stat *pst, struct stat *made, bool times_later)
{
	char dst[PATH_MAX], src[PATH_MAX], pdst[PATH_MAX];
	const struct aufs_creds *c = creds_get();
	struct stat sst, pst_here, copy;
	bool found = false, have_parent, have_copy = false;
	size_t pl = end;
	mode_t want, create_mode;
	int r, src_b = 0;

	for (int b = 0; b < u->nbranch && !found; b++) {
		found = b != t && branch_path(&u->branch[b], rel, end, src) == 0 &&
			sys_lstat(src, &sst) == 0 && S_ISDIR(sst.st_mode);
		src_b = b;
	}
	if (!found)
		return -ENOENT;
	while (pl > 0 && rel[pl - 1] != '/')
		pl--;
	have_parent = branch_path(&u->branch[t], rel, pl ? pl - 1 : 0, pdst) == 0 &&
		      (pst || sys_lstat(pdst, &pst_here) == 0);
	if (have_parent && !pst)
		pst = &pst_here;
	want = widened(&sst, widen);
	create_mode = dir_create_mode(u, &sst, want);
	r = branch_path(&u->branch[t], rel, end, dst);
	if (r == 0)
		r = beneath_mkdirat(dst, create_mode);
	if (r == -EEXIST)
		return 1;
	if (r < 0)
		return r;
	*made = sst;
	made->st_mode = S_IFDIR | want;
	/*
	 * as copy_owner_mode(): a directory of another mode would show in the union. A
	 * new directory is the caller's, of its parent's group when set-group-ID.
	 */
	if (!have_parent || sst.st_uid != c->euid ||
	    sst.st_gid != (pst->st_mode & S_ISGID ? pst->st_gid : c->egid))
		r = beneath_fchownat(dst, sst.st_uid, sst.st_gid);
	if (r == -EPERM || r == -EINVAL) {
		made->st_uid = c->euid;	/* ours, then: what its children are compared with */
		made->st_gid = have_parent && (pst->st_mode & S_ISGID) ? pst->st_gid : c->egid;
		if (!have_parent)
			made->st_mode &= ~(mode_t)S_ISGID;	/* unknown: never skip a chown below */
	}
	if (r == -EPERM || r == -EINVAL)
		r = 0;
	if (r == 0 && xino_keeps(u, &sst))
		have_copy = sys_lstat(dst, &copy) == 0;	/* for its number, and its mode */
	if (r == 0 && (create_mode != want || !have_copy || (copy.st_mode & 07777) != want))
		r = beneath_fchmodat(dst, want);
	if (r < 0) {
		(void)beneath_unlinkat(dst, AT_REMOVEDIR);
		return r;
	}
	if (!times_later)
		copy_times(dst, &sst);
	if (have_parent)
		copy_times(pdst, pst);	/* its parent looks untouched */
	/* the source is the branch the loop above stopped after */
	if (have_copy)
		(void)xino_copied(u, src_b, &sst, (uint64_t)copy.st_dev, (uint64_t)copy.st_ino);
	/*
	 * Its parent's names hold, and so do its own: the copy is empty. Its own state
	 * does not, unless the mode was widened (sealed again later: asked then).
	 */
	if ((made->st_mode & 07777) == copy_mode(&sst))
		lookup_dir_copied(u, rel, end, t, made, sst.st_mode);
	else
		lookup_name_changed(u, rel, end);
	return 0;
}

/* An earlier copy sealed to u-w: open it up again until cpup_seal(). */
static bool unseal(const char *dst, const struct stat *st)
{
	return (st->st_mode & 0300) != 0300 && creds_get()->euid != 0 &&
	       st->st_uid == creds_get()->euid &&
	       beneath_fchmodat(dst, (st->st_mode & 07777) | 0300) == 0;
}

/* Put ST's times on directory REL[0..END) of branch T. */
static void put_times(struct aufs_union *u, const char *rel, size_t end, int t,
		      const struct stat *st)
{
	char path[PATH_MAX];

	if (branch_path(&u->branch[t], rel, end, path) == 0)
		copy_times(path, st);
}

/* The end of REL[0..END)'s parent in REL (0: the root). */
static size_t parent_end(const char *rel, size_t end)
{
	while (end > 0 && rel[end - 1] != '/')
		end--;
	return end ? end - 1 : 0;
}

/*
 * cpup_dirs(); *DIRST gets the lstat of the directory when it was there already,
 * or what the copy made of it. MISSING: the lookup says branch T lacks it.
 * TIMES_LATER: the caller puts the times of *DIRST on the directory when done.
 *
 * Mostly the whole directory is there already: one lstat. Else the search goes
 * up, one lstat per missing level, to the deepest directory T has (a copy-up
 * mostly lacks one level: two lstats, not one per component), then makes the
 * missing ones down from it. Anything else on the way up (a search permission
 * missing, a sealed copy in between) walks down from the root, unsealing.
 */
static int cpup_dirs_st(struct aufs_union *u, const char *rel, size_t len, int t,
			struct stat *dirst, bool *have_dirst, bool missing, size_t *made_from,
			bool times_later)
{
	char dst[PATH_MAX];
	struct stat st, pst;
	bool widen = false, have_pst = false, absent = false;
	size_t end = len, from, untimed = 0;	/* a copy made without its times, whose
						 * child's making puts them back */
	int r;

	if (len > 0 && missing) {
		end = parent_end(rel, len);	/* the lookup saw this level missing */
		absent = true;
	}
	for (;;) {
		/*
		 * The branch's root: there, and never sealed or copied. Only a caller
		 * that wants *DIRST of the root itself needs its lstat (st is unset else).
		 */
		if (end == 0 && (absent || !dirst)) {
			r = 0;
			break;
		}
		if ((r = branch_path(&u->branch[t], rel, end, dst)) < 0)
			return r;
		r = sys_lstat(dst, &st);
		if (r != -ENOENT)
			break;
		end = parent_end(rel, end);
		absent = true;
	}
	if (r == 0 && end > 0 &&
	    (!S_ISDIR(st.st_mode) ||
	     ((st.st_mode & 0300) != 0300 && creds_get()->euid != 0 &&
	      st.st_uid == creds_get()->euid)))
		r = -EAGAIN;	/* not a directory, or sealed: the walk from the root says */
	if (r == 0 && !absent) {
		if (dirst) {
			*dirst = st;
			*have_dirst = true;
		}
		return 0;
	}
	from = end;
	if (r < 0) {
		from = 0;	/* the walk from the root: lstat each component */
		absent = false;
	} else if (end > 0) {
		pst = st;
		have_pst = true;
	}
	for (end = from; end < len;) {
		end++;
		while (end < len && rel[end] != '/')
			end++;
		r = branch_path(&u->branch[t], rel, end, dst);
		if (r < 0)
			return r;
		/* below the deepest directory found, or one just made, nothing is there */
		r = absent ? -ENOENT : sys_lstat(dst, &st);
		if (r == 0 && !S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (r == 0) {
			widen |= unseal(dst, &st);
			pst = st;
			have_pst = true;
			continue;
		}
		if (r != -ENOENT)
			return r;
		r = make_dir_copy(u, rel, end, t, &widen, have_pst ? &pst : NULL, &st,
				  end < len || times_later);
		if (r != 0 && untimed)
			put_times(u, rel, untimed, t, &pst);	/* its child was not made here */
		untimed = r == 0 && end < len ? end : 0;
		if (r < 0)
			return r;
		if (r == 0 && made_from && !*made_from)
			*made_from = end;	/* the shallowest this call made */
		/* 1: another process made it first, as it likes: ask it */
		have_pst = r == 0 || sys_lstat(dst, &st) == 0;
		absent = r == 0;
		pst = st;
	}
	if (dirst && have_pst && len > 0) {
		*dirst = pst;	/* the last one: found, made (as made), or asked */
		*have_dirst = true;
	}
	return widen ? 1 : 0;
}

int cpup_dirs(struct aufs_union *u, const char *rel, size_t len, int t)
{
	return cpup_dirs_st(u, rel, len, t, NULL, NULL, false, NULL, false);
}

int cpup_dirs_missing(struct aufs_union *u, const char *rel, size_t len, int t)
{
	return cpup_dirs_st(u, rel, len, t, NULL, NULL, true, NULL, false);
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

/* One copy-up of a non-directory: where it goes and what it holds open. */
struct cpup_job {
	struct aufs_union *u;
	const char *rel;
	size_t rlen, dlen;	/* REL and its directory part */
	int t;			/* the target branch */
	const struct stat *st;	/* the object's lstat in the source branch */
	struct stat dst;	/* the target directory's: mode and owner when have_dst,
				 * and its times when have_dtime (an lstat) */
	bool have_dst, have_dtime;
	bool dir_changes;	/* the caller's op changes the directory: keep its times */
	bool dir_known;		/* dst is the lookup's (struct dinfo), not an lstat */
	bool dir_noacl;		/* the lookup knows: no default ACL there */
	size_t made_from;	/* REL[0..made_from) is the shallowest directory this copy-up
				 * made in T (0: none), taken away again if the copy fails */
	struct stat tmp_st;	/* the temporary's fstat, when have_tmp_st (keep_number()) */
	bool have_tmp_st;
	int in, out;
	char from[PATH_MAX], tmp[PATH_MAX], to[PATH_MAX];
};

/*
 * May the temporary be created with the copy's final mode, saving the fchmod?
 * When the umask keeps every bit of it and it has no set-id or sticky bit (which
 * a create does not set): unless the directory has a default ACL, which the
 * kernel applies in place of the umask (no_default_acl()).
 */
static bool exact_mode_wanted(const struct cpup_job *j)
{
	mode_t want = copy_mode(j->st);
	int um;

	if (!S_ISREG(j->st->st_mode) || (want & 07000))
		return false;
	um = creds_umask();
	return um >= 0 && !(want & (mode_t)um);
}

/*
 * Has the target directory (its path in j->to) no default ACL? Asked once per
 * directory and remembered with the lookup's entry of it, when the lookup's
 * top-most copy of it is the target's; ENODATA and EOPNOTSUPP mean none.
 */
static bool no_default_acl(struct cpup_job *j)
{
	ssize_t r = sys_getxattr(j->to, "system.posix_acl_default", NULL, 0, true);

	if (r != -ENODATA && r != -EOPNOTSUPP)
		return false;
	if (j->dir_known)
		lookup_note_dir_noacl(j->u, j->rel, j->dlen);
	return true;
}

/* The job's paths: the source, the target and a hidden temporary beside it. */
static int job_paths(struct cpup_job *j, int src)
{
	static _Atomic unsigned long seq;
	char name[64];
	int r;

	/*
	 * A copy-up changes no directory of the union: the target directory's times
	 * are put back afterwards, as aufs does (au_dtime_store/revert).
	 */
	if ((r = branch_path(&j->u->branch[j->t], j->rel, j->dlen, j->to)) < 0)
		return r;
	if (!j->have_dst || (!j->have_dtime && !j->dir_changes))
		j->have_dst = j->have_dtime = sys_lstat(j->to, &j->dst) == 0;
	/* (a copy that keeps its number is fstat'ed anyway: its mode tells, copy_regular()) */
	if (j->have_dst && !j->dir_noacl && exact_mode_wanted(j) && !xino_keeps(j->u, j->st))
		j->dir_noacl = no_default_acl(j);
	snprintf(name, sizeof(name), AUFS_WH_PREFIX "cpup.%d.%lu", (int)creds_pid(),
		 atomic_fetch_add(&seq, 1));
	if ((r = branch_path(&j->u->branch[src], j->rel, j->rlen, j->from)) < 0 ||
	    (r = branch_path(&j->u->branch[j->t], j->rel, j->rlen, j->to)) < 0 ||
	    (r = branch_path_name(&j->u->branch[j->t], j->rel, j->dlen, AUFS_WH_PREFIX, name,
				  strlen(name), j->tmp)) < 0)
		return r;
	return 0;
}

/* The copy-up's source, read through j->in: 0 or -errno. */
static int open_source(struct cpup_job *j)
{
	j->in = beneath_open_spare(j->from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	return j->in < 0 ? j->in : 0;
}

/*
 * The copy-up's two descriptors (-1: none), closed: in one close_range() when
 * their numbers are adjacent, as two opened one after the other mostly are.
 */
static void close_pair(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo >= 0 && hi == lo + 1 && sys_close_range((unsigned)lo, (unsigned)hi, 0) == 0)
		return;
	if (a >= 0)
		sys_close(a);
	if (b >= 0)
		sys_close(b);
}

/*
 * A regular file into the temporary, LEN bytes of it (< 0: all), with its mode,
 * owner, extended attributes and times. KEEP: the temporary is opened as the
 * caller's open with OFLAGS will want it. 0 or -errno; j->out >= 0 then says
 * that the temporary exists, to be removed.
 */
static int copy_regular(struct cpup_job *j, off_t len, bool keep, int oflags)
{
	const struct stat *st = j->st;
	/*
	 * A copy that keeps its number is fstat'ed for it: done at once, it also
	 * says whether the create gave the exact mode (no default ACL of the
	 * directory changed it), in place of asking the directory for its ACL.
	 */
	bool verify = !j->dir_noacl && xino_keeps(j->u, st);
	bool exact = (j->dir_noacl || verify) && exact_mode_wanted(j);
	int r;

	j->have_tmp_st = false;
	/*
	 * The temporary first (in its directory, which the scope may hold open for
	 * the publish and the directory's times), then the source: a kept temporary
	 * becomes the caller's descriptor and has the lowest free number, as open(2)
	 * gives one, and the two are adjacent for close_pair().
	 */
	j->out = beneath_create_in(j->tmp,
				   (keep && (oflags & O_ACCMODE) == O_RDWR ? O_RDWR : O_WRONLY) |
				   O_CREAT | O_EXCL | (keep ? oflags & O_CLOEXEC : O_CLOEXEC),
				   exact ? copy_mode(st) : 0600);
	if (j->out < 0)
		return j->out;
	if ((r = open_source(j)) < 0)
		return r;
	if (xino_keeps(j->u, st)) {
		j->have_tmp_st = sys_fstat(j->out, &j->tmp_st) == 0;
		if (exact && verify && (!j->have_tmp_st ||
					(j->tmp_st.st_mode & 07777) != copy_mode(st)))
			exact = false;	/* a default ACL's mode: set it below */
	}
	r = copy_data(j->in, j->out, len < 0 || len > st->st_size ? st->st_size : len,
		      (off_t)st->st_blocks * 512 >= st->st_size);
	if (r == 0 && len > st->st_size)
		r = sys_ftruncate(j->out, len);
	if (r < 0)
		return r;
	/* a new file is the caller's, of the directory's group when set-group-ID */
	if (j->have_dst && st->st_uid == creds_get()->euid &&
	    st->st_gid == (j->dst.st_mode & S_ISGID ? j->dst.st_gid : creds_get()->egid))
		r = exact ? 0 : sys_fchmod(j->out, copy_mode(st));
	else
		r = copy_owner_mode(j->out, j->tmp, st, exact);
	if (r < 0)
		return r;
	copy_xattrs(j->in, j->out);
	copy_times_fd(j->out, st);
	return 0;
}

/* A symlink, a device, a fifo or a socket into the temporary, as copy_regular(). */
static int copy_other(struct cpup_job *j)
{
	const struct stat *st = j->st;
	int r;

	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = sys_readlinkat(AT_FDCWD, j->from, target, sizeof(target) - 1);

		if (n < 0)
			return (int)n;
		target[n] = 0;
		r = beneath_symlinkat(target, j->tmp);
	} else {
		r = beneath_mknodat(j->tmp, st->st_mode, st->st_rdev);
	}
	if (r < 0)
		return r;
	r = copy_owner_mode(-1, j->tmp, st, false);
	if (r == 0 && !S_ISLNK(st->st_mode))
		r = beneath_fchmodat(j->tmp, copy_mode(st));	/* mknod obeyed the umask */
	if (r < 0) {
		(void)beneath_unlinkat(j->tmp, 0);
		return r;
	}
	copy_times(j->tmp, st);
	return 0;
}

/*
 * The copy keeps the union inode number of what it copies (state_xino.c), told
 * before the copy is published, so that no process sees it with another one.
 */
static bool keep_number(struct cpup_job *j, int src, struct stat *st)
{
	if (j->out >= 0 && j->have_tmp_st)
		*st = j->tmp_st;	/* copy_regular() asked already */
	return xino_keeps(j->u, j->st) &&
	       ((j->out >= 0 && j->have_tmp_st) ||
		(j->out >= 0 ? sys_fstat(j->out, st) : sys_lstat(j->tmp, st)) == 0) &&
	       xino_copied(j->u, src, j->st, (uint64_t)st->st_dev, (uint64_t)st->st_ino) == 0;
}

/*
 * Publish the temporary under the real name without replacing: a racing copy
 * that landed first wins. Returns 1 (ours is in place), 0 (the winner's is) or
 * -errno; the temporary is gone afterwards.
 */
static int publish(struct cpup_job *j)
{
	int r = beneath_renameat2(j->tmp, j->to, RENAME_NOREPLACE | BENEATH_NOT_DIRS);

	if (r == -EINVAL || r == -ENOSYS) {
		r = beneath_linkat(j->tmp, j->to);
		(void)beneath_unlinkat(j->tmp, 0);	/* the name in place keeps the inode */
	} else if (r < 0) {
		(void)beneath_unlinkat(j->tmp, 0);
	}
	return r == 0 ? 1 : r == -EEXIST ? 0 : r;
}

/* The copy is in place: seal, put the directory's times back, tell every process. */
static void published(struct cpup_job *j, bool seal)
{
	if (seal)
		cpup_seal(j->u, j->rel, j->dlen, j->t);
	if (j->have_dtime && !j->dir_changes &&
	    branch_path(&j->u->branch[j->t], j->rel, j->dlen, j->tmp) == 0)
		copy_times(j->tmp, &j->dst);
	/*
	 * The directory keeps its names: only what was cached about this one (its
	 * branch) is stale, in every process (lent_valid() checks it).
	 */
	lookup_name_changed(j->u, j->rel, j->rlen);
	shm_count(j->u, AUFS_CNT_COPYUPS);
}

/*
 * A copy-up failed (a full branch, most often) after making the directories
 * REL[0..FROM) to REL[0..LEN) in T: take them away again, deepest first, so that
 * a failed copy-up leaves nothing. One that is not empty (another process's copy
 * went in meanwhile) stays, and so do those above it. The union's view never
 * depended on them: each is the copy of a lower directory.
 */
static void undo_dirs(struct aufs_union *u, const char *rel, size_t len, size_t from, int t)
{
	char dst[PATH_MAX];

	for (size_t end = len; end >= from && end > 0; end = parent_end(rel, end)) {
		if (branch_path(&u->branch[t], rel, end, dst) < 0 ||
		    beneath_unlinkat(dst, AT_REMOVEDIR) < 0)
			break;
		lookup_name_changed(u, rel, end);
		if (end == from)
			break;
	}
}

/* Can the copy go into the directory TDI describes without walking down to it? */
static bool dinfo_usable(const struct dinfo *tdi)
{
	uid_t euid = creds_get()->euid;

	/* as cpup_dirs_st(): a copy sealed to u-w is opened up first */
	return tdi && (tdi->flags & DINFO_STAT) &&
	       ((tdi->mode & 0300) == 0300 || euid == 0 || tdi->uid != euid);
}

/*
 * The copy failed with R before it was published (the temporary is gone): the
 * temporary's name was taken (EEXIST: a dead process of the same number left it),
 * or the branch is full (maybe of such leftovers). Remove the leftovers of the
 * directory and say whether to try again, under a new name.
 */
static bool temp_retry(struct cpup_job *j, int r, int attempt)
{
	int reaped;

	if ((r != -EEXIST && r != -ENOSPC && r != -EDQUOT) || attempt > 1)
		return false;
	reaped = wh_reap_temps(j->u, j->t, j->rel, j->dlen);
	if (r != -EEXIST && reaped <= 0)
		return false;
	close_pair(j->in, j->out);
	j->in = j->out = -1;
	return true;
}

/* The copy itself into the temporary, published: 0 or -errno (*SEAL as it was). */
static int cpup_copy(struct cpup_job *j, int src, off_t len, int oflags, int *ret_fd,
		     bool *seal)
{
	const struct stat *st = j->st;
	bool keep = ret_fd && S_ISREG(st->st_mode) && may_keep(st, oflags), kept;
	struct stat copy;
	int r;

	for (int attempt = 0;; attempt++) {
		r = job_paths(j, src);
		if (r < 0)
			return r;
		if (S_ISREG(st->st_mode)) {
			r = copy_regular(j, len, keep, oflags);
			if (r < 0 && j->out >= 0)
				(void)beneath_unlinkat(j->tmp, 0);
		} else {
			r = copy_other(j);
		}
		if (temp_retry(j, r, attempt))
			continue;
		if (r != -ENOENT || !j->dir_known || attempt > 0)
			break;
		/* the directory the lookup had in T is gone: make it, as without the lookup */
		close_pair(j->in, j->out);
		j->in = j->out = -1;
		j->dir_known = j->have_dst = j->have_dtime = j->dir_noacl = false;
		r = cpup_dirs_st(j->u, j->rel, j->dlen, j->t, &j->dst, &j->have_dtime, false,
				 &j->made_from, !j->dir_changes);
		if (r < 0)
			return r;
		*seal = r > 0;
		j->have_dst = j->have_dtime;
	}
	if (r < 0)
		return r;
	plink_copied(j->u, src, j->st, j->t, j->tmp, &j->out);
	kept = keep_number(j, src, &copy);
	r = publish(j);
	if (r != 1 && kept)	/* the inode is gone: its number may not go to the next one */
		xino_forget(j->u, (uint64_t)copy.st_dev, (uint64_t)copy.st_ino);
	if (r == 1 && keep &&
	    (!(oflags & KEEP_SETFL) || sys_fcntl(j->out, F_SETFL, oflags & KEEP_SETFL) == 0)) {
		*ret_fd = j->out;	/* ours is the copy in place: it is open already */
		j->out = -1;
	}
	if (r >= 0) {
		published(j, *seal);
		r = 0;
	}
	return r;
}

/*
 * cpup_object(); RET_FD non-NULL: a regular file's copy may be given back open
 * as by open(OFLAGS) of it in *RET_FD (else -1), saving the caller that open.
 * TDI: what the lookup knows of the directory's copy in T, the top-most one
 * (NULL: nothing), which saves walking down to it when the caller's operation
 * changes the directory anyway (its times need no putting back). DIR_MISSING: the
 * lookup says T has no copy of the directory.
 */
static int cpup_object_fd(struct aufs_union *u, const char *rel, int src, int t,
			  const struct stat *st, off_t len, int oflags, int *ret_fd,
			  bool dir_changes, const struct dinfo *tdi, bool dir_missing)
{
	struct cpup_job *j;
	const char *name;
	bool seal = false;
	int r;

	if (S_ISDIR(st->st_mode))
		return cpup_dirs(u, rel, strlen(rel), t);
	j = scratch_get(sizeof(*j));	/* three paths: too much for a shim's stack on top */
	if (!j)
		return -ENOMEM;
	/* the fields, not the three path buffers (12 KiB that job_paths() writes) */
	memset(j, 0, offsetof(struct cpup_job, from));
	j->u = u;
	j->rel = rel;
	j->rlen = strlen(rel);
	j->t = t;
	j->st = st;
	j->in = j->out = -1;
	j->dir_changes = dir_changes;
	j->from[0] = j->tmp[0] = j->to[0] = 0;
	split(rel, j->rlen, &j->dlen, &name);
	if (dinfo_usable(tdi)) {
		j->dst = (struct stat){ .st_mode = S_IFDIR | tdi->mode, .st_uid = tdi->uid,
					.st_gid = tdi->gid };
		j->have_dst = j->dir_known = true;
		j->dir_noacl = tdi->flags & DINFO_NOACL;
	} else {
		r = cpup_dirs_st(u, rel, j->dlen, t, &j->dst, &j->have_dtime, dir_missing,
				 &j->made_from, !j->dir_changes);
		if (r < 0)
			goto out_free;
		seal = r > 0;
		j->have_dst = j->have_dtime;
	}
	r = cpup_copy(j, src, len, oflags, ret_fd, &seal);
	close_pair(j->in, j->out);
	if (r < 0 && j->made_from)
		undo_dirs(u, rel, j->dlen, j->made_from, t);
out_free:
	scratch_put(j);
	return r;
}

int cpup_object(struct aufs_union *u, const char *rel, int src, int t, const struct stat *st,
		off_t len)
{
	return cpup_object_fd(u, rel, src, t, st, len, 0, NULL, false, NULL, false);
}

/*
 * The branch LOC's object would be copied up to, by the copy-up policy over the
 * branches of its directory; DIR gets that directory (*DLEN bytes). Or -errno.
 */
/*
 * copyup_target(); *DI: what the lookup knows of the directory's copy in the
 * branch returned, when that is its top-most copy (else flags 0).
 */
static int copyup_target_di(const struct aufs_loc *loc, char *dir, size_t *dlen,
			    struct dinfo *di, bool *missing)
{
	const char *rel = loc->virt + loc->rel, *name;
	aufs_mask pmask;
	int r, t;

	split(rel, strlen(rel), dlen, &name);
	memcpy(dir, rel, *dlen);
	dir[*dlen] = 0;
	r = lookup_dir(loc->u, dir, &pmask, di);
	if (r < 0)
		return r;
	t = policy_copyup(loc->u, pmask, loc->branch);
	if (t < 0 || !(pmask & MASK_BIT(t)) || t != mask_lowest_bit(pmask))
		di->flags = 0;
	*missing = t >= 0 && !(pmask & MASK_BIT(t));
	return t;
}

static int copyup_target(const struct aufs_loc *loc, char *dir, size_t *dlen)
{
	struct dinfo di;
	bool missing;

	return copyup_target_di(loc, dir, dlen, &di, &missing);
}

int perm_check_copyup(const struct aufs_loc *loc)
{
	struct aufs_union *u = loc->u;
	char dir[PATH_MAX], path[PATH_MAX];
	size_t dlen;
	int t, r;

	if (u->branch[loc->branch].perm == AUFS_PERM_RW || !loc->virt[loc->rel])
		return 0;	/* changed in place */
	t = copyup_target(loc, dir, &dlen);
	if (t < 0 || creds_get()->euid == 0)
		return t < 0 ? t : 0;
	/* the copy starts in the deepest directory of the path that branch T has */
	for (;;) {
		if (branch_path(&u->branch[t], dir, dlen, path) < 0)
			return 0;	/* the copy-up will tell */
		r = sys_faccessat2(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS);
		if ((r != -ENOENT && r != -ENOTDIR) || dlen == 0)
			break;
		while (dlen > 0 && dir[dlen - 1] != '/')
			dlen--;
		dlen = dlen ? dlen - 1 : 0;
		dir[dlen] = 0;
	}
	return r == -EACCES ? -EACCES : 0;
}

int cpup_loc(struct aufs_loc *loc, off_t len, bool check_write)
{
	return cpup_loc_fd(loc, len, check_write, 0, NULL);
}

int cpup_loc_fd(struct aufs_loc *loc, off_t len, bool check_write, int oflags, int *ret_fd)
{
	struct aufs_union *u = loc->u;
	const char *rel = loc->virt + loc->rel;
	size_t rlen = strlen(rel);
	struct dinfo di;
	struct stat st;
	bool missing;
	int t, r;

	if (u->branch[loc->branch].perm == AUFS_PERM_RW)
		return 0;
	if (loc->flags & AUFS_LOC_HAVE_STAT)
		st = loc->st;	/* the lookup's own probe */
	else if ((r = sys_lstat(loc->real, &st)) < 0)
		return r;
	if (check_write && !S_ISDIR(st.st_mode) && !may_write(&st))
		return -EACCES;
	{
		char dir[PATH_MAX];
		size_t dlen;

		t = copyup_target_di(loc, dir, &dlen, &di, &missing);
		if (t < 0)
			return t;
	}
	r = cpup_object_fd(u, rel, loc->branch, t, &st, len, oflags, ret_fd,
			   loc->flags & AUFS_LOC_DIR_CHANGES, &di, missing);
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
