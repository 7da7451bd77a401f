/* SPDX-License-Identifier: MIT */
/*
 * state_host.c - a host table's image file: where it is, whether it describes the
 * fstab as the file is now, compiling and writing it, and checking it whole.
 *
 * A host's fstab holds a union per tenant; every process started with
 * AUFS_FSTAB=FILE maps FILE's image (state_table.c) instead of parsing FILE. The
 * image is named from FILE's absolute, lexically normalised path and its owner,
 * so that aufs-run, aufsctl and every process find the same one. A process that
 * finds it missing, stale or refused compiles FILE and writes the image when it
 * runs as root or as FILE's owner; any other process keeps its compiled table to
 * itself. Writing an image replaces the old file by rename and marks the old one
 * superseded: its processes follow at their next call (state_mount.c).
 *
 * The image's directory is open to every user (/dev/shm): a name another user
 * took first is never trusted (table_map_image()) and never blocks the owner,
 * whose image then goes to a fallback beside it (aufs_table_write()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "state_table.h"

static char *why_line(struct aufs_err *err, const char *image, const char *why, const char *then)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %s; %s", image, why, then);
	return err->msg;
}

/* ---------------------------------------------------------------- the host table's image */

int aufs_table_default_image(const char *fstab, uid_t owner, char *buf, size_t size)
{
	/* read when a table is opened, never on a call's path */
	const char *dir = aufs_env_dir(AUFS_ENV_TABLE_DIR);
	int n = snprintf(buf, size, "%s/aufs-table.%u.%016llx", dir && *dir ? dir : "/dev/shm",
			 (unsigned)owner, (unsigned long long)fnv1a(FNV_INIT, fstab, strlen(fstab)));

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

int aufs_table_fstab_path(const char *given, char *buf, size_t size)
{
	size_t n = 1;
	int r;

	if (!given || !*given)
		return -EINVAL;
	if (size < 2)
		return -ENAMETOOLONG;
	buf[0] = '/';
	buf[1] = 0;
	if (given[0] != '/') {
		long c = sys_getcwd(buf, size);

		if (c < 0)
			return (int)c;
		n = strlen(buf);
	}
	r = path_append_lexical(buf, &n, size, given);
	return r < 0 ? r : (int)n;
}

/*
 * aufsctl reload/remount renames the new fstab into place, then compiles and
 * writes its image: a process that starts in between finds the image stale. If it
 * may not write the image, it would compile a private table that never follows a
 * later replacement; when the fstab changed this recently, its writer is at work,
 * and the process waits for the image a little instead (WAIT_STEPS x WAIT_STEP_NS).
 */
#define JUST_CHANGED_NS (2LL * 1000000000)
#define WAIT_STEP_NS 5000000
#define WAIT_STEPS 40

static bool fstab_just_changed(const struct stat *st)
{
	struct timespec now;
	long long t, m, c;

	if (sys_clock_gettime(CLOCK_REALTIME, &now) < 0)
		return false;
	t = (long long)now.tv_sec * 1000000000 + now.tv_nsec;
	m = (long long)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	c = (long long)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	return t - (m > c ? m : c) < JUST_CHANGED_NS;
}

static void wait_step(void)
{
	struct timespec ts = { 0, WAIT_STEP_NS };

	(void)sys_ppoll(NULL, 0, &ts);
}

/* Does the image describe FSTAB as it is now (its identity, else its text)? */
static bool image_matches(const struct tbl_hdr *h, const struct stat *st, const char *text,
			  size_t len)
{
	if (h->src_dev == (uint64_t)st->st_dev && h->src_ino == (uint64_t)st->st_ino &&
	    h->src_size == (uint64_t)st->st_size && h->src_mtime == st->st_mtim.tv_sec &&
	    h->src_mtime_ns == st->st_mtim.tv_nsec && h->src_ctime == st->st_ctim.tv_sec &&
	    h->src_ctime_ns == st->st_ctim.tv_nsec)
		return true;
	return text && h->src_size == len && h->src_hash == tbl_sum(text, len);
}

/* 16 hexadecimal digits that no other user can guess and make first. */
static void random_hex(char out[17])
{
	static _Atomic uint64_t counter;
	uint64_t v;

	if (sys_getrandom(&v, sizeof(v), 0x0001 /* GRND_NONBLOCK */) != (ssize_t)sizeof(v)) {
		/* no entropy yet (early boot): unique still, and O_EXCL says if it was taken */
		uint64_t seed[3] = { (uint64_t)sys_getpid(), atomic_fetch_add(&counter, 1),
				     __builtin_ia32_rdtsc() };

		v = fnv1a(FNV_INIT, (const char *)seed, sizeof(seed));
	}
	snprintf(out, 17, "%016llx", (unsigned long long)v);
}

/* Tell the processes that map the image at PATH (if it is an image) that it was replaced. */
static void supersede(int fd)
{
	struct tbl_hdr oh;
	uint32_t one = 1;

	/* only an image of ours is marked: a stray file there is left as it was */
	if (fd >= 0 && sys_pread(fd, &oh, sizeof(oh), 0) == (ssize_t)sizeof(oh) &&
	    !memcmp(oh.magic, TBL_MAGIC, sizeof(oh.magic)))
		(void)sys_pwrite(fd, &one, sizeof(one), offsetof(struct tbl_hdr, superseded));
}

static int open_old(const char *path)
{
	return sys_openat(AT_FDCWD, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
}

/* A fallback this process may replace and remove: a regular file of its own user. */
static bool own_fallback(const char *path)
{
	struct stat st;

	return sys_lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == sys_geteuid();
}

struct fallbacks {
	const char *keep;	/* the one written now */
	char found[PATH_MAX];	/* one of ours, to write over */
};

static int find_own(const char *path, void *ctx)
{
	struct fallbacks *f = ctx;

	if (!own_fallback(path))
		return 0;
	snprintf(f->found, sizeof(f->found), "%s", path);
	return 1;
}

/* Every fallback of ours but the one written now: superseded (its processes follow), removed. */
static int drop_own(const char *path, void *ctx)
{
	struct fallbacks *f = ctx;
	int fd;

	if ((f->keep && !strcmp(path, f->keep)) || !own_fallback(path))
		return 0;
	fd = open_old(path);
	supersede(fd);
	if (fd >= 0)
		(void)sys_close(fd);
	(void)sys_unlinkat(AT_FDCWD, path, 0);
	return 0;
}

/* Can another user's object at the name be what stopped the rename? */
static bool name_held(int r)
{
	return r == -EPERM || r == -EACCES || r == -EISDIR || r == -ENOTDIR || r == -ENOTEMPTY ||
	       r == -EEXIST || r == -EBUSY;
}

/* What is at PATH, for the notice: a planted link, FIFO, directory or another's file. */
static void describe(const char *path, char *buf, size_t size)
{
	struct stat st;

	const char *kind;

	if (sys_lstat(path, &st) < 0) {
		snprintf(buf, size, "something");
		return;
	}
	kind = S_ISREG(st.st_mode) ? "a file" : S_ISLNK(st.st_mode) ? "a symbolic link" :
	       S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" :
	       "a special file";
	snprintf(buf, size, "%s of uid %u", kind, (unsigned)st.st_uid);
}

/*
 * Write IMG to IMAGE: a temporary beside it, then a rename over it, so that a
 * reader maps either the old image or the new one, whole. The image replaced is
 * told (superseded) so that its processes follow.
 *
 * The names are in a directory every user may write (/dev/shm): another user can
 * take IMAGE first, and this user cannot replace what it put there (the sticky
 * bit). Then the image goes to a fallback, IMAGE.HEX, a name nobody can guess:
 * the one of ours already there, else a new one made with RENAME_NOREPLACE.
 * Readers find it by the same trust rules (table_map_image()): a regular file of
 * root or the fstab's owner that nobody else may write, which no other user can
 * make. When IMAGE is ours again, the fallbacks go. ERR->msg says where the image
 * went when it is not IMAGE (ERR->code stays 0).
 *
 * OWNER ((uid_t)-1: the writer keeps it): root writing the image of another
 * user's fstab (a remount of a tenant's session) gives the temporary to that
 * user before the rename, so that the image is never root's at its name, where
 * that user's own processes, compiling it again at the same moment, could not
 * replace it and would write a fallback.
 */
int aufs_table_write(const char *image, const void *img, size_t size, uid_t owner,
		     struct aufs_err *err)
{
	char tmp[PATH_MAX], hex[17], held[96];
	struct fallbacks fb = { 0 };
	const char *dest = image;
	size_t done = 0;
	int fd = -EEXIST, old, r;

	for (int i = 0; i < 8 && fd == -EEXIST; i++) {
		random_hex(hex);
		if (snprintf(tmp, sizeof(tmp), "%s.tmp.%s", image, hex) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		fd = sys_openat(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0644);
	}
	if (fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot create %s: %s", tmp, strerror(-fd));
		return fd;
	}
	while (done < size) {
		ssize_t n = sys_write(fd, (const char *)img + done, size - done);

		if (n == -EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? (int)n : -EIO;
			snprintf(err->msg, sizeof(err->msg), "cannot write %s: %s", tmp, strerror(-r));
			goto out_unlink;
		}
		done += (size_t)n;
	}
	/* mode 0644 whatever the umask: other users' processes must read it */
	r = sys_fchmod(fd, 0644);
	if (r == 0 && owner != (uid_t)-1)
		(void)sys_fchown(fd, owner, (gid_t)-1);	/* else root's, as the caller notes */
	if (r == 0)
		r = sys_fsync(fd);
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot write %s: %s", tmp, strerror(-r));
		goto out_unlink;
	}
	old = open_old(image);
	r = sys_renameat2(AT_FDCWD, tmp, AT_FDCWD, image, 0);
	if (r < 0 && name_held(r)) {
		if (old >= 0)
			(void)sys_close(old);
		describe(image, held, sizeof(held));
		/* ours from an earlier write: written over, so that its processes follow */
		if (table_each_fallback(image, find_own, &fb) == 1) {
			dest = fb.found;
			old = open_old(dest);
			r = sys_renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, 0);
		} else {
			old = -1;
			dest = fb.found;
			r = -EEXIST;
			for (int i = 0; i < 8 && r == -EEXIST; i++) {
				random_hex(hex);
				snprintf(fb.found, sizeof(fb.found), "%s.%s", image, hex);
				r = sys_renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, 1 /* RENAME_NOREPLACE */);
			}
		}
	}
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot rename %s to %s: %s", tmp, dest,
			 strerror(-r));
		if (old >= 0)
			(void)sys_close(old);
		goto out_unlink;
	}
	if (old >= 0) {
		supersede(old);
		(void)sys_close(old);
	}
	(void)sys_close(fd);
	/* the other fallbacks of ours, or all of them once IMAGE is ours again */
	fb.keep = dest == image ? NULL : dest;
	(void)table_each_fallback(image, drop_own, &fb);
	if (dest != image)
		snprintf(err->msg, sizeof(err->msg), "%s: %s, which this user cannot replace; "
			 "the image is %s", image, held, dest);
	return 0;
out_unlink:
	(void)sys_close(fd);
	(void)sys_unlinkat(AT_FDCWD, tmp, 0);
	return r;
}

int aufs_table_open(const char *fstab_given, const char *image_given, unsigned flags,
		    struct aufs_config **ret, struct aufs_err *err, struct aufs_err *notice)
{
	char fstab[PATH_MAX], image[PATH_MAX];
	struct aufs_table_source src = { 0 };
	struct aufs_config builder, *cfg;
	const struct tbl_hdr *h = NULL;
	const char *why = NULL;
	char *text = NULL;
	size_t len = 0, size = 0;
	void *img = NULL;
	uid_t euid;
	int r;

	notice->code = 0;
	notice->msg[0] = 0;
	r = aufs_table_fstab_path(fstab_given, fstab, sizeof(fstab));
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "fstab %s: %s", fstab_given ? fstab_given : "",
			 strerror(-r));
		return err->code = r;
	}
	/* the identity first: a matching image spares reading the text */
	r = sys_stat(fstab, &src.st);
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "fstab %s: %s", fstab, strerror(-r));
		return err->code = r;
	}
	if (image_given && *image_given)
		r = snprintf(image, sizeof(image), "%s", image_given) >= (int)sizeof(image) ?
			-ENAMETOOLONG : 0;
	else
		r = aufs_table_default_image(fstab, src.st.st_uid, image, sizeof(image));
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "image of %s: %s", fstab, strerror(-r));
		goto out;
	}
	euid = sys_geteuid();
	for (int wait = 0; !(flags & AUFS_TABLE_FORCE); wait++) {
		r = table_map_image(image, src.st.st_uid, &h, &size, &why);
		/* once per start of a host (aufs-run): the whole image, every byte */
		if (r == 0 && (flags & AUFS_TABLE_VERIFY) && aufs_table_verify(h, size, true, &why) < 0) {
			(void)sys_munmap((void *)h, size);
			r = -EBADMSG;
		}
		if (r == 0 && !text && !image_matches(h, &src.st, NULL, 0)) {
			/* touched or replaced: the same text still matches */
			r = aufs_fstab_read(fstab, &text, &len, &src.st, err);
			if (r < 0) {
				(void)sys_munmap((void *)h, size);
				goto out;
			}
		}
		if (r == 0 && image_matches(h, &src.st, text, len)) {
			cfg = table_config_of_image(h, size, image, fstab, src.st.st_uid);
			if (!cfg) {
				r = -ENOMEM;
				snprintf(err->msg, sizeof(err->msg), "out of memory");
				(void)sys_munmap((void *)h, size);
				goto out;
			}
			*ret = cfg;
			goto out;
		}
		if (r == 0) {
			(void)sys_munmap((void *)h, size);
			why = "stale (the fstab changed)";
			if (!((flags & AUFS_TABLE_MAY_WRITE) && (euid == 0 || euid == src.st.st_uid)) &&
			    wait < WAIT_STEPS && fstab_just_changed(&src.st)) {
				wait_step();
				continue;
			}
		}
		break;
	}
	/* compile: the checks of every line against the others, then the image */
	if (!text) {
		r = aufs_fstab_read(fstab, &text, &len, &src.st, err);
		if (r < 0)
			goto out;
	}
	aufs_config_init(&builder);
	r = aufs_config_parse_fstab(&builder, text, fstab, err);
	if (r < 0 && (!(flags & AUFS_TABLE_FENCE) || r == -ENOMEM)) {
		aufs_config_release(&builder);
		goto out;
	}
	if (r < 0)
		flags &= ~(unsigned)AUFS_TABLE_MAY_WRITE;	/* the image is of a good fstab only */
	/* the image this one replaces: what it recorded of each branch still listed stays */
	{
		const struct tbl_hdr *old;
		const char *owhy;
		size_t osize;

		if (table_map_image(image, src.st.st_uid, &old, &osize, &owhy) == 0) {
			if (aufs_table_verify(old, osize, true, &owhy) == 0)
				table_keep_identities(old, builder.unions, builder.nunion);
			(void)sys_munmap((void *)old, osize);
		}
	}
	src.fstab = fstab;
	src.text_hash = tbl_sum(text, len);
	src.serial = aufs_config_next_serial() ^ ((uint64_t)sys_getpid() << 40);
	r = aufs_table_build(builder.unions, builder.nunion, &src, &img, &size);
	if (r < 0) {
		aufs_config_release(&builder);
		snprintf(err->msg, sizeof(err->msg), "%s: cannot compile: %s", fstab, strerror(-r));
		goto out;
	}
	if ((flags & AUFS_TABLE_MAY_WRITE) && (euid == 0 || euid == src.st.st_uid)) {
		struct aufs_err werr = { 0 };

		r = aufs_table_write(image, img, size,
				     euid == 0 && src.st.st_uid != 0 ? src.st.st_uid : (uid_t)-1, &werr);
		if (r == 0)
			r = table_map_image(image, src.st.st_uid, &h, &size, &why);
		if (r == 0 && (cfg = table_config_of_image(h, size, image, fstab, src.st.st_uid))) {
			aufs_config_release(&builder);
			*ret = cfg;
			if (werr.msg[0]) {
				/* another user holds the name: said, the image is beside it */
				snprintf(notice->msg, sizeof(notice->msg), "%s", werr.msg);
				notice->code = -EUCLEAN;
				r = 0;
				goto out;
			}
			goto out_notice_rebuilt;
		}
		if (flags & AUFS_TABLE_MUST_WRITE) {
			snprintf(err->msg, sizeof(err->msg), "%s", werr.msg[0] ? werr.msg :
				 "cannot map the image written");
			aufs_config_release(&builder);
			r = r < 0 ? r : -EIO;
			notice->code = -EROFS;	/* the image's fault, not the fstab's */
			goto out;
		}
		why = werr.msg[0] ? werr.msg : why;
	} else if (flags & AUFS_TABLE_MUST_WRITE) {
		snprintf(err->msg, sizeof(err->msg),
			 "%s: only root or the fstab's owner (uid %u) may write its image",
			 image, (unsigned)src.st.st_uid);
		aufs_config_release(&builder);
		r = -EPERM;
		notice->code = -EROFS;
		goto out;
	}
	/* private: the builder's unions and the image in this process's memory */
	cfg = malloc(sizeof(*cfg));
	if (!cfg) {
		aufs_config_release(&builder);
		r = -ENOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		goto out;
	}
	free(builder.table);
	builder.table = img;
	builder.table_size = size;
	builder.table_kind = AUFS_TABLE_PRIVATE;
	img = NULL;
	*cfg = builder;
	*ret = cfg;
	r = 0;
	if (err->code)
		goto out;	/* refused lines: err says it, not the image's state */
	why_line(notice, image, why ? why : "missing", "compiled privately");
	notice->code = -EUCLEAN;
	goto out;
out_notice_rebuilt:
	/* a missing or stale image is simply made; a bad one is said to be replaced */
	r = 0;
	if (why && strcmp(why, "missing") && strncmp(why, "stale", 5)) {
		why_line(notice, image, why, "rebuilt");
		notice->code = -EUCLEAN;
	}
out:
	free(img);
	free(text);
	if (r < 0 && !err->code)
		err->code = r;
	return r;
}

int aufs_table_check(const char *fstab_given, const char *image_given, char *image, size_t isize,
		     unsigned *ret_nunion, struct aufs_err *err)
{
	char fstab[PATH_MAX], named[PATH_MAX];
	const struct tbl_hdr *h;
	const char *why = NULL;
	struct stat st;
	char *text = NULL;
	size_t size, len = 0;
	bool mapped;
	int r;

	r = aufs_table_fstab_path(fstab_given, fstab, sizeof(fstab));
	if (r >= 0)
		r = sys_stat(fstab, &st);
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", fstab_given, strerror(-r));
		return err->code = r == -ENOENT ? -ENODEV : r;	/* the fstab, not the image */
	}
	if (image_given && *image_given)
		r = snprintf(image, isize, "%s", image_given) >= (int)isize ? -ENAMETOOLONG : 0;
	else
		r = aufs_table_default_image(fstab, st.st_uid, image, isize);
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "image of %s: %s", fstab, strerror(-r));
		return err->code = r;
	}
	/* the name given or made, then where the image is (beside it: a fallback) */
	snprintf(named, sizeof(named), "%s", image);
	r = table_map_image_at(named, st.st_uid, &h, &size, &why, image, isize);
	/* H and SIZE are set only when mapped: an image refused by the mapping is not */
	mapped = r == 0;
	if (r == 0 && aufs_table_verify(h, size, true, &why) < 0)
		r = -EBADMSG;
	if (r == 0 && !image_matches(h, &st, NULL, 0)) {
		r = aufs_fstab_read(fstab, &text, &len, &st, err);
		if (r == 0 && !image_matches(h, &st, text, len)) {
			why = "stale (the fstab changed since it was compiled)";
			r = -ESTALE;
		}
		free(text);
	}
	if (r == 0 && atomic_load(&h->superseded)) {
		why = "superseded by a newer image (its processes follow it)";
		r = -ESTALE;
	}
	if (r == 0)
		*ret_nunion = h->nunion;
	if (mapped)
		(void)sys_munmap((void *)h, size);
	if (r < 0 && why)
		snprintf(err->msg, sizeof(err->msg), "%s: %s", image, why);
	return r < 0 ? (err->code = r) : 0;
}

int aufs_table_image_in_use(const char *image, uid_t owner, char *buf, size_t size)
{
	const struct tbl_hdr *h;
	const char *why;
	size_t len;

	if (table_map_image_at(image, owner, &h, &len, &why, buf, size) == 0)
		(void)sys_munmap((void *)h, len);
	else
		snprintf(buf, size, "%s", image);
	return strlen(buf) >= size - 1 ? -ENAMETOOLONG : 0;
}
