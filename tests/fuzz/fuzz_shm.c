/* SPDX-License-Identifier: MIT */
/*
 * fuzz_shm - the readers of a union's shared state (src/core/state_shm.c) on
 * arbitrary bytes: the link that names the segment and the segment itself, both
 * of which another process may have written.
 *
 * Input: a mode byte, then (bit 0 set) the link's text up to a NUL, then the
 * segment's bytes (its header and the start of its generations). Without bit 0
 * the link names this input's segment correctly. Bit 1 stamps the header's
 * magic, version, layout, branch identity and mount point, so that the readers
 * behind validate() (the counters, the generations) see the fuzzed rest; bits
 * 2-3 choose the segment's mode (0644, 0600, 0664, 0666: the last two are not to
 * be trusted). Each input attaches a fresh union (aufs_shm_attach), reads its
 * status (aufs_shm_status), revalidates a directory (aufs_shm_reval) and bumps
 * one as a change through the union would (aufs_dir_changed). What must hold: no
 * crash, no sanitizer report, a refusal with a message, a segment with a bad
 * header or an untrusted mode is never the one attached, and a good one that the
 * link names is the one attached.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aufs/core.h"
#include "internal.h"

static char root[PATH_MAX], top[PATH_MAX], base[PATH_MAX], mnt[PATH_MAX], opts[3 * PATH_MAX];
static struct stat top_st;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_shm: %s: %s\n", what, strerror(errno));
	abort();
}

static void cleanup(void)
{
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);

	for (int i = 0; i <= max; i++) {
		struct shmid_ds ds;
		int id = shmctl(i, SHM_STAT, &ds);

		if (id >= 0 && ds.shm_cpid == getpid())
			shmctl(id, IPC_RMID, NULL);
	}
	if (root[0]) {
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz_shm: could not remove %s\n", root);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(root, sizeof(root), "%s/aufs-fuzz-shm.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		die("mkdtemp");
	atexit(cleanup);
	snprintf(top, sizeof(top), "%s/top", root);
	snprintf(base, sizeof(base), "%s/base", root);
	snprintf(mnt, sizeof(mnt), "%s/m", root);
	if (mkdir(top, 0755) < 0 || mkdir(base, 0755) < 0 || mkdir(mnt, 0755) < 0 ||
	    stat(top, &top_st) < 0)
		die("mkdir");
	snprintf(opts, sizeof(opts), "br:%s=rw:%s=ro", top, base);
	return 0;
}

/* The segment a link names, or -1. */
static int link_id(const char *link)
{
	char t[64];
	ssize_t n = readlink(link, t, sizeof(t) - 1);

	if (n <= 6 || strncmp(t, "shmid:", 6))
		return -1;
	t[n] = 0;
	return atoi(t + 6);
}

/*
 * The System V segment mapped at P (the inode of its line in /proc/self/maps is
 * the segment's id), or -1. Not shm_nattch: other processes of the host (a unit
 * suite's sweep of stale states) attach any segment of the right size for a moment.
 */
static long segment_at(const void *p)
{
	char line[512];
	long found = -1;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, ino;

		if (sscanf(line, "%lx-%*x %*s %*s %*s %lu", &start, &ino) == 2 &&
		    start == (unsigned long)p && strstr(line, "/SYSV")) {
			found = (long)ino;
			break;
		}
	}
	fclose(f);
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mode_t modes[] = {0644, 0600, 0664, 0666};
	struct aufs_union *u = NULL;
	struct aufs_shm_status st;
	struct aufs_err err = {0};
	char link[PATH_MAX], target[64];
	const uint8_t *seg_data = data + 1;
	size_t seg_len;
	int mode, id, made;
	struct aufs_shm *shm;
	uintptr_t v;

	if (size < 1)
		return 0;
	mode = data[0];
	seg_len = size - 1;
	if (aufs_union_parse(opts, mnt, &u, &err) < 0) {
		fprintf(stderr, "fuzz_shm: %s\n", err.msg);
		abort();
	}
	if (aufs_shm_path(u, link, sizeof(link)) < 0)
		abort();
	id = shmget(IPC_PRIVATE, AUFS_SHM_SIZE, IPC_CREAT | IPC_EXCL | modes[(mode >> 2) & 3]);
	if (id < 0)
		die("shmget");
	shm = shmat(id, NULL, 0);
	if (shm == (void *)-1)
		die("shmat");
	(void)unlink(link);
	if (mode & 1) {
		const uint8_t *z = memchr(data + 1, 0, size - 1);
		size_t tl = z ? (size_t)(z - (data + 1)) : size - 1;
		char t[PATH_MAX];

		if (tl >= sizeof(t))
			tl = sizeof(t) - 1;
		memcpy(t, data + 1, tl);
		t[tl] = 0;
		/* a number names this input's segment: another of this host's is not ours */
		if (!strncmp(t, "shmid:", 6)) {
			char *end;

			(void)strtol(t + 6, &end, 10);
			if (end != t + 6 && *end == 0)
				snprintf(t, sizeof(t), "shmid:%d", id);
		}
		if (tl > 0)
			(void)symlink(t, link);
		seg_data = z ? z + 1 : data + size;
		seg_len = (size_t)(data + size - seg_data);
	} else {
		snprintf(target, sizeof(target), "shmid:%d", id);
		if (symlink(target, link) < 0)
			die("symlink");
	}
	memcpy(shm, seg_data, seg_len < AUFS_SHM_SIZE ? seg_len : AUFS_SHM_SIZE);
	if (mode & 2) {
		shm->magic = AUFS_SHM_MAGIC;
		shm->version = AUFS_SHM_VERSION;
		shm->hdr_size = AUFS_SHM_HDR_SIZE;
		shm->ndirgen = AUFS_SHM_NDIRGEN;
		shm->size = AUFS_SHM_SIZE;
		shm->shc_offset = AUFS_SHC_OFFSET;	/* udba=none's cache, format 3 */
		shm->shc_slots = AUFS_SHC_SLOTS;
		shm->br_dev = (uint64_t)top_st.st_dev;
		shm->br_ino = (uint64_t)top_st.st_ino;
		snprintf(shm->mnt, sizeof(shm->mnt), "%s", mnt);
	}
	if (aufs_shm_status(u, &st, &err) < 0 && err.code && !memchr(err.msg, 0, sizeof(err.msg)))
		abort();
	memset(&err, 0, sizeof(err));
	made = aufs_shm_attach(u, &err);
	v = atomic_load(&u->shm);
	if (made == 0 && v) {
		struct aufs_shm *got = (struct aufs_shm *)(v & ~AUFS_SHM_RDONLY);
		bool ours_bad = shm->magic != AUFS_SHM_MAGIC || shm->version != AUFS_SHM_VERSION ||
				shm->hdr_size != AUFS_SHM_HDR_SIZE || shm->size != AUFS_SHM_SIZE ||
				shm->ndirgen != AUFS_SHM_NDIRGEN || shm->shc_offset != AUFS_SHC_OFFSET ||
				shm->shc_slots != AUFS_SHC_SLOTS || (modes[(mode >> 2) & 3] & 022);
		/* the attached segment is ours only when ours deserved trust */
		if (segment_at(got) == id && ours_bad) {
			fprintf(stderr, "fuzz_shm: segment %d, with a bad header or mode %04o, was "
					"attached\n", id, (unsigned)modes[(mode >> 2) & 3]);
			abort();
		}
		/* and a good one that the link names is shared, not replaced */
		if (!(mode & 1) && !ours_bad && segment_at(got) != id) {
			fprintf(stderr, "fuzz_shm: segment %d, good and named by the link, was not "
					"attached\n", id);
			abort();
		}
		aufs_dir_changed(u, "d", 1);
		(void)aufs_shm_reval(u, "d", 1, &err);
		(void)got;
	}
	/* detach what the union attached, remove what it made in place of ours */
	v = atomic_load(&u->shm);
	if (v)
		(void)shmdt((void *)(v & ~AUFS_SHM_RDONLY));
	made = link_id(link);
	if (made >= 0 && made != id) {
		struct shmid_ds ds;

		if (shmctl(made, IPC_STAT, &ds) == 0 && ds.shm_cpid == getpid())
			shmctl(made, IPC_RMID, NULL);
	}
	shmdt(shm);
	shmctl(id, IPC_RMID, NULL);
	(void)unlink(link);
	atomic_store(&u->shm, 0);
	aufs_union_free(u);
	return 0;
}
