/* SPDX-License-Identifier: MIT */
/*
 * state_shm.c - the small shared mapping of each union: generations and counters.
 *
 * Every process of a union (same mount point, same user) maps the same file, so a
 * change one of them makes through the union is seen by all others at their next
 * call: their caches compare a generation here with the one they cached, which is
 * one atomic load. The file is created complete under a temporary name and then
 * linked into place without replacing anything, so no process ever maps a half
 * initialised header, and an existing file is validated before it is trusted.
 * No fd is kept open (programs close or dup2 over fds they do not know).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

int aufs_shm_path(const struct aufs_union *u, char *buf, size_t size)
{
	uint64_t h = fnv1a(FNV_INIT, u->mnt, u->mnt_len);
	int n = snprintf(buf, size, "/dev/shm/aufs-%u-%016llx", (unsigned)sys_geteuid(),
			 (unsigned long long)h);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static int validate(struct aufs_shm *shm, const struct aufs_union *u, const char *path,
		    struct aufs_err *err)
{
	const char *why = NULL;

	if (shm->magic != AUFS_SHM_MAGIC)
		why = "bad magic number";
	else if (shm->version != AUFS_SHM_VERSION)
		why = "unsupported version";
	else if (shm->hdr_size != AUFS_SHM_HDR_SIZE || shm->ndirgen != AUFS_SHM_NDIRGEN ||
		 shm->size != AUFS_SHM_SIZE)
		why = "bad layout";
	else if (shm->uid != sys_geteuid())
		why = "owned by another user";
	else if (strncmp(shm->mnt, u->mnt, sizeof(shm->mnt)) != 0)
		why = "belongs to another mount point";
	if (!why)
		return 0;
	if (err) {
		err->code = -EUCLEAN;
		snprintf(err->msg, sizeof(err->msg),
			 "shared state %s of %s: %s (remove it to start afresh)", path, u->mnt, why);
	}
	return -EUCLEAN;
}

static int map_existing(struct aufs_union *u, const char *path, struct aufs_shm **ret,
			struct aufs_err *err)
{
	struct stat st;
	void *p;
	int fd, r;

	fd = sys_openat(AT_FDCWD, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	r = sys_fstat(fd, &st);
	if (r < 0)
		goto out_close;
	if (!S_ISREG(st.st_mode) || st.st_uid != sys_geteuid() || (st.st_mode & 077) ||
	    st.st_size < AUFS_SHM_SIZE) {
		r = -EUCLEAN;
		if (err) {
			err->code = r;
			snprintf(err->msg, sizeof(err->msg),
				 "shared state %s of %s: not a private regular file of size %d "
				 "owned by uid %u (remove it to start afresh)",
				 path, u->mnt, AUFS_SHM_SIZE, (unsigned)sys_geteuid());
		}
		goto out_close;
	}
	p = sys_mmap(NULL, AUFS_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sys_mmap_failed(p)) {
		r = (int)(long)p;
		goto out_close;
	}
	r = validate(p, u, path, err);
	if (r < 0) {
		sys_munmap(p, AUFS_SHM_SIZE);
		goto out_close;
	}
	*ret = p;
out_close:
	sys_close(fd);
	return r;
}

static int create_new(struct aufs_union *u, const char *path, struct aufs_err *err)
{
	char tmp[PATH_MAX];
	struct aufs_shm *shm;
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)sys_getpid());
	fd = sys_openat(AT_FDCWD, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fd;
	r = sys_ftruncate(fd, AUFS_SHM_SIZE);
	if (r < 0)
		goto out_unlink;
	shm = sys_mmap(NULL, AUFS_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sys_mmap_failed(shm)) {
		r = (int)(long)shm;
		goto out_unlink;
	}
	shm->version = AUFS_SHM_VERSION;
	shm->hdr_size = AUFS_SHM_HDR_SIZE;
	shm->size = AUFS_SHM_SIZE;
	shm->uid = sys_geteuid();
	shm->ndirgen = AUFS_SHM_NDIRGEN;
	atomic_store(&shm->gen, 1);
	snprintf(shm->mnt, sizeof(shm->mnt), "%s", u->mnt);
	atomic_thread_fence(memory_order_release);
	shm->magic = AUFS_SHM_MAGIC;
	sys_munmap(shm, AUFS_SHM_SIZE);
	/* No-replace publication: whoever links first wins, the others map that one. */
	r = sys_linkat(AT_FDCWD, tmp, AT_FDCWD, path, 0);
	if (r == -EEXIST)
		r = 0;
out_unlink:
	(void)sys_unlinkat(AT_FDCWD, tmp, 0);	/* the temporary is never needed again */
	sys_close(fd);
	(void)err;
	return r;
}

int aufs_shm_attach(struct aufs_union *u, struct aufs_err *err)
{
	struct aufs_shm *shm = NULL, *expected = NULL;
	char path[PATH_MAX];
	int r;

	r = aufs_shm_path(u, path, sizeof(path));
	if (r < 0)
		return r;
	r = map_existing(u, path, &shm, err);
	if (r == -ENOENT) {
		r = create_new(u, path, err);
		if (r == 0)
			r = map_existing(u, path, &shm, err);
	}
	if (r < 0)
		return r;
	if (!atomic_compare_exchange_strong(&u->shm, &expected, shm))
		sys_munmap(shm, AUFS_SHM_SIZE);	/* another thread attached first */
	return 0;
}

struct aufs_shm *aufs_union_shm(struct aufs_union *u)
{
	struct aufs_shm *shm = atomic_load_explicit(&u->shm, memory_order_acquire);
	int r;

	if (shm || u->shm_state < 0)
		return shm;
	r = aufs_shm_attach(u, NULL);
	if (r < 0) {
		/* Without shared state the union still works, only uncached. */
		u->shm_state = r;
		return NULL;
	}
	u->shm_state = 1;
	return atomic_load_explicit(&u->shm, memory_order_acquire);
}

/* ---------------------------------------------------------------- invalidation */

/*
 * Changes made through the union bump generations in the union's shared state,
 * which every process of it checks before trusting a cached lookup. Without a
 * shared state only this process can be told: its caches are emptied.
 *
 * Every bump is followed by one of shm->changes: a reader that loads changes
 * first and finds it as it was when it last checked an answer's buckets may
 * skip them; one that finds it moved checks them, and a bump it could miss
 * there moved changes after, so its next call looks again.
 */
static void bump(struct aufs_shm *shm, _Atomic uint32_t *bucket)
{
	atomic_fetch_add_explicit(bucket, 1, memory_order_seq_cst);
	atomic_fetch_add_explicit(&shm->changes, 1, memory_order_seq_cst);
}

void aufs_dir_changed(struct aufs_union *u, const char *rel, size_t len)
{
	struct aufs_shm *shm = aufs_union_shm(u);

	if (shm)
		bump(shm, &shm_dirgen(shm)[shm_bucket(rel, len)]);
	else
		aufs_state_local_change();
}

void lookup_dir_gained_branch(struct aufs_union *u, const char *rel, size_t len)
{
	struct aufs_shm *shm = aufs_union_shm(u);

	aufs_dir_changed(u, rel, len);	/* its names were probed without that branch */
	if (shm)
		bump(shm, &shm_dirgen(shm)[shm_bucket_self(rel, len)]);
}

void lookup_name_changed(struct aufs_union *u, const char *rel, size_t len)
{
	struct aufs_shm *shm = aufs_union_shm(u);

	if (shm)
		bump(shm, &shm_dirgen(shm)[shm_bucket_self(rel, len)]);
	else
		aufs_state_local_change();
}

void aufs_union_changed(struct aufs_union *u)
{
	struct aufs_shm *shm = aufs_union_shm(u);

	if (shm) {
		atomic_fetch_add_explicit(&shm->gen, 1, memory_order_seq_cst);
		atomic_fetch_add_explicit(&shm->changes, 1, memory_order_seq_cst);
	} else {
		aufs_state_local_change();
	}
}
