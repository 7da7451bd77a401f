/* SPDX-License-Identifier: MIT */
/*
 * check_shm.c - unit tests of src/core/state_shm.c: the shared state of a union,
 * a System V segment named by the link @/t/.wh..wh.aufs.shm.HASH in its top
 * writable branch.
 *
 * A fresh state is made complete (mode 0644, the whole size, a valid header naming
 * the mount point and the branch) and published by its link without a window; an
 * existing one is shared by every process of the union. What is refused, and never
 * mapped for use: a segment owned or made by anyone but root or the branch owner,
 * one that group or others may write, one of another size, a bad header (magic,
 * version, layout), a link that is not one or says nothing sensible. One that names
 * another union or branch is stale. The branch owner replaces a refused or stale
 * state, saying so for a refused one; any other user (here: geteuid() failed by the
 * fault seam, which makes it answer a uid nobody has) keeps the union uncached,
 * maps a good state read-only and never writes it. A union without a writable
 * branch gets a private state. Under injected faults an attach fails cleanly: an
 * error, no descriptor, no temporary link, no segment left behind (unless the
 * failed call was the removal of the new segment itself).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aufs/fault.h"
#include "fixture.h"
#include "internal.h"

Suite *shm_suite(void);

static struct aufs_union *u;
static char link_path[PATH_MAX];
static int planted[16];
static int nplanted;

static struct aufs_shm *mapping(const struct aufs_union *v)
{
	return (struct aufs_shm *)(v->shm & ~AUFS_SHM_RDONLY);
}

static void setup(void)
{
	u = fx_add_union("br:@/t=rw:@/b=ro", "@/mnt");
	ck_assert_int_gt(aufs_shm_path(u, link_path, sizeof(link_path)), 0);
	nplanted = 0;
}

static void teardown(void)
{
	for (int i = 0; i < nplanted; i++)
		shmctl(planted[i], IPC_RMID, NULL);
	aufs_fault_clear();
}

/* Another union of the same mount point, as another process of it would have. */
static struct aufs_union *twin(const char *opts)
{
	struct aufs_union *v = NULL;
	struct aufs_err err;

	ck_assert_int_eq(aufs_union_parse(fx_ex(opts ? opts : "br:@/t=rw:@/b=ro"), fx_ex("@/mnt"),
					  &v, &err),
			 0);
	return v;	/* aufs_union_free() leaves its mapping, as a process would keep it */
}

/* The segment the link names, -1 without a link. */
static int link_id(void)
{
	char t[64];
	ssize_t n = readlink(link_path, t, sizeof(t) - 1);

	if (n < 0)
		return -1;
	t[n] = 0;
	ck_assert_msg(!strncmp(t, "shmid:", 6), "link says %s", t);
	return atoi(t + 6);
}

static struct shmid_ds seg_stat(int id)
{
	struct shmid_ds ds;

	ck_assert_int_eq(shmctl(id, IPC_STAT, &ds), 0);
	return ds;
}

/* Point the link at ID, as a process that may write the branch root can. */
static void set_link(int id)
{
	char t[64];

	unlink(link_path);
	fx_fmt(t, sizeof(t), "shmid:%d", id);
	ck_assert_int_eq(symlink(t, link_path), 0);
}

/*
 * A segment of SIZE bytes and MODE with a valid header for U (its mount point and
 * branch), then changed by MUTATE, named by the link; removed at teardown.
 */
static int plant(void (*mutate)(struct aufs_shm *), size_t size, int mode)
{
	struct aufs_shm *shm;
	struct stat st;
	int id;

	ck_assert_int_lt(nplanted, (int)(sizeof(planted) / sizeof(planted[0])));
	ck_assert_int_eq(stat(fx_at("t"), &st), 0);
	id = shmget(IPC_PRIVATE, size, IPC_CREAT | IPC_EXCL | mode);
	ck_assert_int_ge(id, 0);
	planted[nplanted++] = id;
	shm = shmat(id, NULL, 0);
	ck_assert_ptr_ne(shm, (void *)-1);
	if (size >= sizeof(*shm)) {
		shm->magic = AUFS_SHM_MAGIC;
		shm->version = AUFS_SHM_VERSION;
		shm->hdr_size = AUFS_SHM_HDR_SIZE;
		shm->size = AUFS_SHM_SIZE;
		shm->owner = geteuid();
		shm->ndirgen = AUFS_SHM_NDIRGEN;
		shm->shc_offset = AUFS_SHC_OFFSET;
		shm->shc_slots = AUFS_SHC_SLOTS;
		shm->gen = 41;
		shm->br_dev = st.st_dev;
		shm->br_ino = st.st_ino;
		fx_fmt(shm->mnt, sizeof(shm->mnt), "%s", u->mnt);
		if (mutate)
			mutate(shm);
	}
	shmdt(shm);
	set_link(id);
	return id;
}

/* This process stands for another user: neither root nor the branch owner. */
static void be_stranger(void)
{
	aufs_fault_set_persist(SYS_geteuid, 1, EPERM);	/* geteuid() answers (uid_t)-1 */
}

/* Entries of @/t whose name holds PART. */
static int count_in_t(const char *part)
{
	DIR *d = opendir(fx_at("t"));
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strstr(e->d_name, part) != NULL;
	closedir(d);
	return n;
}

/* What the link says now ("-" for none, "not a link" for something else). */
static const char *link_text(void)
{
	static char t[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(link_path, &st) < 0)
		return "-";
	if (!S_ISLNK(st.st_mode))
		return "not a link";
	n = readlink(link_path, t, sizeof(t) - 1);
	ck_assert_int_ge(n, 0);
	t[n] = 0;
	return t;
}

/* Run aufs_union_shm(U) with stderr in a file: what the library said. */
static char *said_by_lazy_attach(void)
{
	static char out[4096];
	char tmpl[PATH_MAX];
	int fd, saved;
	ssize_t n;

	fx_fmt(tmpl, sizeof(tmpl), "%s/stderr.XXXXXX", fx_dir);
	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	ck_assert_ptr_null(aufs_union_shm(u));
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	ck_assert_int_ge(n, 0);
	out[n] = 0;
	close(fd);
	unlink(tmpl);
	return out;
}

/*
 * A stranger's attach is refused with WHY and leaves everything as it was: the
 * link, and the segment it names (ID, or -1) never kept mapped.
 */
static void refused(const char *why, int id)
{
	struct aufs_err err = { 0 };
	int fds = fx_count_fds();
	char before[PATH_MAX];
	const char *said;

	fx_fmt(before, sizeof(before), "%s", link_text());
	be_stranger();
	ck_assert_int_eq(aufs_shm_attach(u, &err), -EUCLEAN);
	ck_assert_uint_eq(u->shm, 0);
	ck_assert_int_eq(fx_count_fds(), fds);
	ck_assert_int_eq(err.code, -EUCLEAN);
	ck_assert_msg(strstr(err.msg, why) && strstr(err.msg, link_path) &&
			      strstr(err.msg, "; not trusted: the union runs uncached in this process"),
		      "message: %s", err.msg);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	ck_assert_str_eq(link_text(), before);	/* a stranger cannot replace it */
	if (id >= 0)
		ck_assert_uint_eq(seg_stat(id).shm_nattch, 0);
	/* the lazy path says it in one line, once per process, and remembers the failure */
	said = said_by_lazy_attach();
	if (*said) {
		ck_assert_msg(!strncmp(said, "aufs-preload: shared state of ", 30) &&
				      strstr(said, why) && strchr(said, '\n') == said + strlen(said) - 1,
			      "said: %s", said);
	}
	ck_assert_int_eq(u->shm_state, -EUCLEAN);
	ck_assert_str_eq(said_by_lazy_attach(), "");
	aufs_fault_clear();
}

/* The owner's attach replaces it: a new state, saying WHY (NULL: silently). */
static void replaced(const char *why, int old)
{
	struct aufs_err err = { 0 };
	struct shmid_ds ds;
	int fds = fx_count_fds();

	ck_assert_int_eq(aufs_shm_attach(u, &err), 0);
	ck_assert_uint_ne(u->shm, 0);
	ck_assert_uint_eq(u->shm & AUFS_SHM_RDONLY, 0);
	ck_assert_int_eq(fx_count_fds(), fds);
	ck_assert_int_ge(link_id(), 0);
	ck_assert_int_ne(link_id(), old);
	ck_assert_uint_eq(mapping(u)->gen, 1);	/* a new one */
	if (why) {
		ck_assert_int_eq(err.code, -EUCLEAN);
		ck_assert_msg(strstr(err.msg, why) &&
				      strstr(err.msg, "; not trusted: replaced by a new state"),
			      "message: %s", err.msg);
	} else {
		ck_assert_int_eq(err.code, 0);
	}
	if (old >= 0 && shmctl(old, IPC_STAT, &ds) == 0)
		ck_assert_uint_eq(ds.shm_nattch, 0);
}

START_TEST(test_fresh)
{
	struct aufs_err err = { 0 };
	struct shmid_ds ds;
	struct aufs_shm *shm;
	struct stat st, br;
	int fds = fx_count_fds();

	ck_assert_int_eq(aufs_shm_attach(u, &err), 0);
	ck_assert_int_eq(err.code, 0);
	ck_assert_int_eq(fx_count_fds(), fds);
	ck_assert_uint_eq(u->shm & AUFS_SHM_RDONLY, 0);
	shm = mapping(u);
	ck_assert_int_eq(lstat(link_path, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ds = seg_stat(link_id());
	ck_assert_uint_eq(ds.shm_perm.mode & 0777, 0644);
	ck_assert_uint_eq(ds.shm_perm.uid, geteuid());
	ck_assert_uint_eq(ds.shm_perm.cuid, geteuid());
	ck_assert_uint_eq(ds.shm_segsz, AUFS_SHM_SIZE);
	ck_assert_uint_eq(ds.shm_nattch, 1);
	ck_assert_int_eq(stat(fx_at("t"), &br), 0);
	ck_assert_uint_eq(shm->magic, AUFS_SHM_MAGIC);
	ck_assert_uint_eq(shm->version, AUFS_SHM_VERSION);
	ck_assert_uint_eq(shm->hdr_size, AUFS_SHM_HDR_SIZE);
	ck_assert_uint_eq(shm->size, AUFS_SHM_SIZE);
	ck_assert_uint_eq(shm->ndirgen, AUFS_SHM_NDIRGEN);
	ck_assert_uint_eq(shm->owner, br.st_uid);
	ck_assert_uint_eq(shm->br_dev, br.st_dev);
	ck_assert_uint_eq(shm->br_ino, br.st_ino);
	ck_assert_uint_eq(shm->gen, 1);
	ck_assert_str_eq(shm->mnt, u->mnt);
	ck_assert_ptr_eq(aufs_union_shm(u), shm);
	/* the link and nothing else in the branch */
	ck_assert_int_eq(count_in_t(AUFS_SHM_LINK_PREFIX), 1);
	ck_assert_int_eq(count_in_t(".tmp."), 0);
}
END_TEST

START_TEST(test_link_path)
{
	char want[PATH_MAX], buf[PATH_MAX];
	struct aufs_union *ro = twin("br:@/b=ro:@/w=ro");

	fx_fmt(want, sizeof(want), "%s/.wh..wh.aufs.shm.%016llx", fx_at("t"),
	       (unsigned long long)fnv1a(FNV_INIT, u->mnt, u->mnt_len));
	ck_assert_str_eq(link_path, want);
	/* the top writable branch, wherever it is */
	{
		struct aufs_union *v = twin("br:@/b=ro:@/t=rw");

		ck_assert_int_gt(aufs_shm_path(v, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, want);
		aufs_union_free(v);
	}
	ck_assert_int_eq(aufs_shm_path(ro, buf, sizeof(buf)), -EROFS);
	ck_assert_int_eq(aufs_shm_path(u, buf, 20), -ENAMETOOLONG);
	aufs_union_free(ro);
}
END_TEST

/* Two unions of one mount point (two processes, in effect) share one state. */
START_TEST(test_shared)
{
	struct aufs_union *v = twin(NULL);
	int id;

	ck_assert_int_eq(aufs_shm_attach(u, NULL), 0);
	id = link_id();
	ck_assert_int_eq(aufs_shm_attach(v, NULL), 0);
	ck_assert_int_eq(link_id(), id);
	ck_assert_ptr_ne(mapping(u), mapping(v));
	ck_assert_uint_eq(seg_stat(id).shm_nattch, 2);
	aufs_union_changed(u);
	ck_assert_uint_eq(mapping(v)->gen, 2);
	aufs_dir_changed(v, "d", 1);
	ck_assert_uint_eq(shm_dirgen(mapping(u))[shm_bucket("d", 1)], 1);
	/* attaching again keeps the first mapping */
	{
		struct aufs_shm *first = mapping(u);

		ck_assert_int_eq(aufs_shm_attach(u, NULL), 0);
		ck_assert_ptr_eq(mapping(u), first);
		ck_assert_uint_eq(seg_stat(id).shm_nattch, 2);
	}
	aufs_union_free(v);
}
END_TEST

/* Another user maps the owner's state read-only and never writes it. */
START_TEST(test_stranger_reads_only)
{
	struct aufs_union *v = twin(NULL);
	struct aufs_shm *shm;
	uint64_t gen;
	uint32_t dg;

	ck_assert_int_eq(aufs_shm_attach(u, NULL), 0);
	be_stranger();
	ck_assert_int_eq(aufs_shm_attach(v, NULL), 0);
	ck_assert_uint_ne(v->shm & AUFS_SHM_RDONLY, 0);
	ck_assert_ptr_null(shm_writable(v));
	shm = mapping(u);
	gen = shm->gen;
	dg = shm_dirgen(shm)[shm_bucket("d", 1)];
	/* a write through the mapping would kill the test: none is made */
	aufs_union_changed(v);
	aufs_dir_changed(v, "d", 1);
	lookup_name_changed(v, "d/x", 3);
	lookup_dir_gained_branch(v, "d", 1);
	shm_count(v, AUFS_CNT_LOOKUPS);
	ck_assert_uint_eq(shm->gen, gen);
	ck_assert_uint_eq(shm_dirgen(shm)[shm_bucket("d", 1)], dg);
	/* and sees what the owner changes */
	aufs_union_changed(u);
	ck_assert_uint_eq(mapping(v)->gen, gen + 1);
	aufs_fault_clear();
	aufs_union_free(v);
}
END_TEST

/* A stranger finds no state: none is made, the union is uncached, tried again later. */
START_TEST(test_stranger_without_state)
{
	be_stranger();
	ck_assert_int_eq(aufs_shm_attach(u, NULL), -ENOENT);
	ck_assert_int_eq(link_id(), -1);
	ck_assert_ptr_null(aufs_union_shm(u));
	ck_assert_int_eq(u->shm_state, -ENOENT);
	aufs_fault_clear();
	/* the owner makes it; the stranger's next tries cost nothing until the retry */
	{
		struct aufs_union *v = twin(NULL);

		ck_assert_int_eq(aufs_shm_attach(v, NULL), 0);
		aufs_union_free(v);
	}
	be_stranger();
	for (int i = 0; i < AUFS_SHM_RETRY - 1; i++)
		ck_assert_ptr_null(aufs_union_shm(u));
	ck_assert_uint_eq(aufs_fault_count(SYS_readlinkat), 0);
	ck_assert_uint_eq(aufs_fault_count(SYS_shmat), 0);
	ck_assert_ptr_nonnull(aufs_union_shm(u));
	ck_assert_uint_ne(u->shm & AUFS_SHM_RDONLY, 0);
	ck_assert_int_eq(u->shm_state, 1);
}
END_TEST

/* aufsctl status: what the state says, read-only, the reader not counted; none is made. */
START_TEST(test_status)
{
	struct aufs_union *v = twin(NULL);
	struct aufs_shm_status st;
	struct aufs_err err = { 0 };
	uint64_t sum;

	ck_assert_int_eq(aufs_shm_status(v, &st, &err), -ENOENT);
	ck_assert_int_eq(link_id(), -1);	/* looking made nothing */
	ck_assert_int_eq(aufs_shm_attach(u, NULL), 0);
	aufs_union_changed(u);
	shm_count(u, AUFS_CNT_COPYUPS);
	shm_count(u, AUFS_CNT_WHITEOUTS);
	shm_count(u, AUFS_CNT_WHITEOUTS);
	sum = mapping(u)->changes;
	ck_assert_int_eq(aufs_shm_status(v, &st, &err), 0);
	ck_assert_int_eq(st.id, link_id());
	ck_assert_uint_eq(st.gen, 2);
	ck_assert_uint_eq(st.changes, sum);
	ck_assert_uint_eq(st.copyups, 1);
	ck_assert_uint_eq(st.whiteouts, 2);
	ck_assert_uint_eq(st.nattch, 1);	/* u's; not the status's own */
	ck_assert_uint_eq(st.uid, geteuid());
	ck_assert_uint_eq(st.mode, 0644);
	ck_assert(st.may_write);
	ck_assert_uint_eq(v->shm, 0);		/* nothing left attached */
	ck_assert_uint_eq(seg_stat(st.id).shm_nattch, 1);
	/* a stranger reads it too, and may not write it */
	be_stranger();
	ck_assert_int_eq(aufs_shm_status(v, &st, &err), 0);
	ck_assert(!st.may_write);
	aufs_fault_clear();
	aufs_union_free(v);
}
END_TEST

/* A refused state is said, not read. */
START_TEST(test_status_refused)
{
	struct aufs_shm_status st;
	struct aufs_err err = { 0 };

	plant(NULL, AUFS_SHM_SIZE, 0666);
	ck_assert_int_eq(aufs_shm_status(u, &st, &err), -EUCLEAN);
	ck_assert_msg(strstr(err.msg, "group or others may write it"), "%s", err.msg);
}
END_TEST

/* aufsctl reval: the bumps of a change through the union, in the state the others map. */
/*
 * The thread's own bumps (shm_steps_own()): a bucket moved by them for another
 * name leaves an entry of its own name and directory true; a bump of anybody
 * else's in between, or one for the entry's own name, does not.
 */
START_TEST(test_own_steps)
{
	struct aufs_shm *shm;
	_Atomic uint32_t *b;
	uint32_t bucket, g0;

	ck_assert_int_eq(aufs_shm_attach(u, NULL), 0);
	shm = mapping(u);
	bucket = shm_bucket_self("d/x", 3);
	b = &shm_dirgen(shm)[bucket];
	g0 = *b;
	lookup_name_changed(u, "d/x", 3);
	ck_assert_uint_eq(*b, g0 + 1);
	/* an entry of d/y (directory d) is still true; one of d/x, or of d/x/z, is not */
	ck_assert(shm_steps_own(shm, bucket, g0, g0 + 1, "d/y", 3, 1));
	ck_assert(!shm_steps_own(shm, bucket, g0, g0 + 1, "d/x", 3, 1));
	ck_assert(!shm_steps_own(shm, bucket, g0, g0 + 1, "d/x/z", 5, 3));
	ck_assert(!shm_steps_own(shm, bucket + 1, g0, g0 + 1, "d/y", 3, 1));
	/* the run goes on with the next one of ours */
	lookup_name_changed(u, "d/x", 3);
	ck_assert(shm_steps_own(shm, bucket, g0, g0 + 2, "d/y", 3, 1));
	/* another process's bump in between: nothing before it is known */
	atomic_fetch_add(b, 1);
	ck_assert(!shm_steps_own(shm, bucket, g0, g0 + 3, "d/y", 3, 1));
	lookup_name_changed(u, "d/x", 3);
	ck_assert(!shm_steps_own(shm, bucket, g0, g0 + 4, "d/y", 3, 1));
	ck_assert(shm_steps_own(shm, bucket, g0 + 3, g0 + 4, "d/y", 3, 1));
}
END_TEST

START_TEST(test_reval)
{
	struct aufs_union *v = twin(NULL), *w = twin(NULL);
	struct aufs_err err = { 0 };
	struct aufs_shm *shm;
	uint32_t dg, sg, other;

	ck_assert_int_eq(aufs_shm_reval(v, NULL, 0, &err), -ENOENT);
	ck_assert_int_eq(link_id(), -1);	/* no state is made for nobody */
	ck_assert_int_eq(aufs_shm_attach(u, NULL), 0);
	shm = mapping(u);
	dg = shm_dirgen(shm)[shm_bucket("d", 1)];
	sg = shm_dirgen(shm)[shm_bucket_self("d", 1)];
	other = shm_dirgen(shm)[shm_bucket("e", 1)];
	ck_assert_int_eq(aufs_shm_reval(v, "d", 1, &err), 0);
	ck_assert_uint_eq(shm->gen, 1);
	ck_assert_uint_eq(shm_dirgen(shm)[shm_bucket("d", 1)], dg + 1);
	ck_assert_uint_eq(shm_dirgen(shm)[shm_bucket_self("d", 1)], sg + 1);
	ck_assert_uint_eq(shm_dirgen(shm)[shm_bucket("e", 1)], other);
	ck_assert_int_eq(aufs_shm_reval(v, NULL, 0, &err), 0);
	ck_assert_uint_eq(shm->gen, 2);
	/* a stranger may not: the state is untouched */
	be_stranger();
	ck_assert_int_eq(aufs_shm_reval(w, NULL, 0, &err), -EPERM);
	ck_assert_msg(strstr(err.msg, "only root or the owner of"), "%s", err.msg);
	ck_assert_uint_eq(shm->gen, 2);
	ck_assert_uint_eq(w->shm, 0);
	aufs_fault_clear();
	aufs_union_free(v);
	aufs_union_free(w);
}
END_TEST

START_TEST(test_no_writable_branch)
{
	struct aufs_union *ro = twin("br:@/b=ro:@/w=rr");
	struct aufs_union *ro2 = twin("br:@/b=ro:@/w=rr");
	char *before = fx_snapshot(".", NULL), *after;

	ck_assert_int_eq(aufs_shm_attach(ro, NULL), 0);
	ck_assert_int_eq(aufs_shm_attach(ro2, NULL), 0);
	ck_assert_uint_eq(ro->shm & AUFS_SHM_RDONLY, 0);
	ck_assert_ptr_ne(mapping(ro), mapping(ro2));
	aufs_union_changed(ro);
	ck_assert_uint_eq(mapping(ro)->gen, 2);
	ck_assert_uint_eq(mapping(ro2)->gen, 1);	/* private to each process */
	after = fx_snapshot(".", NULL);
	ck_assert_str_eq(before, after);	/* no link anywhere */
	free(before);
	free(after);
	aufs_union_free(ro);
	aufs_union_free(ro2);
}
END_TEST

static void bad_magic(struct aufs_shm *s)
{
	s->magic ^= 1;
}

static void no_magic(struct aufs_shm *s)
{
	s->magic = 0;
}

static void bad_version(struct aufs_shm *s)
{
	s->version = AUFS_SHM_VERSION + 1;
}

static void old_version(struct aufs_shm *s)
{
	s->version = 1;	/* the per-user file of before */
}

static void bad_hdr(struct aufs_shm *s)
{
	s->hdr_size = 4096;
}

static void bad_ndirgen(struct aufs_shm *s)
{
	s->ndirgen = AUFS_SHM_NDIRGEN * 2;	/* would index past the mapping */
}

static void bad_size(struct aufs_shm *s)
{
	s->size = AUFS_SHM_SIZE * 4;
}

static void bad_shc_offset(struct aufs_shm *s)
{
	s->shc_offset = AUFS_SHM_SIZE;	/* the shared lookup cache past the mapping */
}

static void bad_shc_slots(struct aufs_shm *s)
{
	s->shc_slots = AUFS_SHC_SLOTS * 2;
}

static const struct {
	const char *name;
	void (*mutate)(struct aufs_shm *);
	const char *why;
} corrupt[] = {
	{ "bad magic", bad_magic, "bad magic number" },
	{ "no magic", no_magic, "bad magic number" },
	{ "another version", bad_version, "unsupported version 4" },
	{ "the old version", old_version, "unsupported version 1" },
	{ "another header size", bad_hdr, "bad layout" },
	{ "another dirgen count", bad_ndirgen, "bad layout" },
	{ "another size field", bad_size, "bad layout" },
	{ "the lookup cache elsewhere", bad_shc_offset, "bad layout" },
	{ "another lookup cache size", bad_shc_slots, "bad layout" },
};
#define NCORRUPT ((int)(sizeof(corrupt) / sizeof(corrupt[0])))

START_TEST(test_corrupt_header)
{
	int id = plant(corrupt[_i].mutate, AUFS_SHM_SIZE, 0644);

	refused(corrupt[_i].why, id);
	replaced(corrupt[_i].why, id);
}
END_TEST

START_TEST(test_wrong_size)
{
	int id = plant(NULL, AUFS_SHM_SIZE / 2, 0644);

	refused("851968 bytes, not 1703936", id);
	replaced("851968 bytes, not 1703936", id);
}
END_TEST

START_TEST(test_group_writable)
{
	int id = plant(NULL, AUFS_SHM_SIZE, 0664);

	refused("group or others may write it (mode 0664)", id);
	replaced("group or others may write it", id);
}
END_TEST

START_TEST(test_world_writable)
{
	int id = plant(NULL, AUFS_SHM_SIZE, 0646);

	refused("group or others may write it (mode 0646)", id);
	replaced("group or others may write it", id);
}
END_TEST

static void foreign(int id, uid_t uid)
{
	struct shmid_ds ds = seg_stat(id);

	ds.shm_perm.uid = uid;
	ck_assert_int_eq(shmctl(id, IPC_SET, &ds), 0);
}

START_TEST(test_foreign_owner)
{
	int id;
	char why[128];

	if (geteuid() != 0)
		return;	/* only root can give a segment away */
	id = plant(NULL, AUFS_SHM_SIZE, 0644);
	foreign(id, 12345);
	fx_fmt(why, sizeof(why), "owned by uid 12345, made by uid 0: only root or the branch owner (uid %u)",
	       (unsigned)geteuid());
	refused(why, id);
	replaced("owned by uid 12345", id);
}
END_TEST

/* Root makes the state of a branch someone else owns: it is given to that owner. */
START_TEST(test_root_gives_it_to_the_owner)
{
	struct shmid_ds ds;

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(chown(fx_at("t"), 12345, 54321), 0);
	ck_assert_int_eq(aufs_shm_attach(u, NULL), 0);
	ds = seg_stat(link_id());
	ck_assert_uint_eq(ds.shm_perm.uid, 12345);
	ck_assert_uint_eq(ds.shm_perm.gid, 54321);
	ck_assert_uint_eq(ds.shm_perm.cuid, 0);
	ck_assert_uint_eq(ds.shm_perm.mode & 0777, 0644);
	ck_assert_uint_eq(u->shm & AUFS_SHM_RDONLY, 0);	/* root writes anything */
	ck_assert_uint_eq(mapping(u)->owner, 12345);
	ck_assert_int_eq(shmctl(link_id(), IPC_RMID, NULL), 0);
}
END_TEST

static void other_mnt(struct aufs_shm *s)
{
	s->mnt[strlen(s->mnt) - 1] ^= 1;
}

static void other_branch(struct aufs_shm *s)
{
	s->br_ino++;
}

/* Another union's segment (a number reused after a reboot): stale, never refused. */
START_TEST(test_stale)
{
	struct aufs_err err = { 0 };
	int id = plant(_i ? other_branch : other_mnt, AUFS_SHM_SIZE, 0644);

	be_stranger();
	ck_assert_int_eq(aufs_shm_attach(u, &err), -ESTALE);
	ck_assert_int_eq(err.code, 0);
	ck_assert_uint_eq(u->shm, 0);
	aufs_fault_clear();
	replaced(NULL, id);
}
END_TEST

START_TEST(test_link_to_nothing)
{
	struct aufs_err err = { 0 };
	int id = plant(NULL, AUFS_SHM_SIZE, 0644);

	ck_assert_int_eq(shmctl(id, IPC_RMID, NULL), 0);
	nplanted--;
	be_stranger();
	ck_assert_int_eq(aufs_shm_attach(u, &err), -ENOENT);
	ck_assert_int_eq(err.code, 0);
	ck_assert_int_eq(link_id(), id);
	aufs_fault_clear();
	replaced(NULL, id);
}
END_TEST

START_TEST(test_bad_link)
{
	static const char *const targets[] = { "shmid:", "shmid:x1", "shmid:-1", "shm:1",
					       "shmid:99999999999", "/dev/shm/aufs-0-x" };

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		unlink(link_path);
		ck_assert_int_eq(symlink(targets[i], link_path), 0);
		refused("does not say shmid:ID", -1);
		replaced("does not say shmid:ID", -1);
		fx_remove_states(fx_dir);
		u->shm = 0;
		u->shm_state = 0;
	}
}
END_TEST

START_TEST(test_not_a_link)
{
	int fd = open(link_path, O_WRONLY | O_CREAT | O_EXCL, 0644);

	ck_assert_int_ge(fd, 0);
	close(fd);
	refused("not a symbolic link", -1);
	replaced("not a symbolic link", -1);
}
END_TEST

/* Every raw call of a fresh attach failing in turn. */
START_TEST(test_fault_sweep)
{
	static const int errs[] = { EIO, ENOSPC, ENOMEM, EEXIST, EACCES };

	for (size_t e = 0; e < sizeof(errs) / sizeof(errs[0]); e++) {
		for (unsigned n = 1;; n++) {
			struct aufs_err err = { 0 };
			unsigned long fired;
			int r, fds, last;

			ck_assert_uint_lt(n, 200);
			fx_fresh();
			setup();
			fds = fx_count_fds();
			aufs_fault_set(AUFS_FAULT_ANY, n, errs[e]);
			r = aufs_shm_attach(u, &err);
			fired = aufs_fault_fired();
			last = aufs_fault_last();
			aufs_fault_clear();
			ck_assert_int_eq(fx_count_fds(), fds);
			ck_assert_int_eq(count_in_t(".tmp."), 0);
			if (r == 0) {
				ck_assert_uint_ne(u->shm, 0);
				ck_assert_uint_eq(mapping(u)->magic, AUFS_SHM_MAGIC);
				ck_assert_int_ge(link_id(), 0);
			} else {
				ck_assert_uint_eq(u->shm, 0);
				ck_assert_msg(r == -errs[e] || r == -ENOENT,
					      "%s, round %u: %d", strerrorname_np(errs[e]), n, r);
				/* no segment but the one whose own removal failed */
				if (last != SYS_shmctl && link_id() < 0) {
					struct shm_info info;
					int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);

					for (int i = 0; i <= max; i++) {
						struct shmid_ds ds;

						if (shmctl(i, SHM_STAT, &ds) >= 0 &&
						    !(ds.shm_perm.mode & SHM_DEST))
							ck_assert_int_ne(ds.shm_cpid, getpid());
					}
				}
			}
			/* what the link names is complete: the next attach takes it */
			if (link_id() >= 0) {
				struct aufs_union *v = twin(NULL);
				int id = link_id();

				ck_assert_int_eq(aufs_shm_attach(v, NULL), 0);
				ck_assert_int_eq(link_id(), id);
				aufs_union_free(v);
			}
			if (!fired) {
				ck_assert_int_eq(r, 0);
				break;
			}
		}
	}
}
END_TEST

Suite *shm_suite(void)
{
	Suite *s = suite_create("shm");
	TCase *tc = tcase_create("attach");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fresh);
	tcase_add_test(tc, test_link_path);
	tcase_add_test(tc, test_shared);
	tcase_add_test(tc, test_stranger_reads_only);
	tcase_add_test(tc, test_stranger_without_state);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_status_refused);
	tcase_add_test(tc, test_reval);
	tcase_add_test(tc, test_own_steps);
	tcase_add_test(tc, test_no_writable_branch);
	tcase_add_loop_test(tc, test_corrupt_header, 0, NCORRUPT);
	tcase_add_test(tc, test_wrong_size);
	tcase_add_test(tc, test_group_writable);
	tcase_add_test(tc, test_world_writable);
	tcase_add_test(tc, test_foreign_owner);
	tcase_add_test(tc, test_root_gives_it_to_the_owner);
	tcase_add_loop_test(tc, test_stale, 0, 2);
	tcase_add_test(tc, test_link_to_nothing);
	tcase_add_test(tc, test_bad_link);
	tcase_add_test(tc, test_not_a_link);
	tcase_add_test(tc, test_fault_sweep);
	suite_add_tcase(s, tc);
	return s;
}
