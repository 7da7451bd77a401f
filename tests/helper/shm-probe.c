/* SPDX-License-Identifier: MIT */
/*
 * shm-probe.c - the System V segments of the unions' shared state, from outside
 * the library, for the integration tests (t1006-shared-view.sh, lib.sh):
 *
 *   shm-probe id LINK           the segment a link names (BRANCH/.wh..wh.aufs.shm.*)
 *   shm-probe info ID           uid cuid mode size nattch of segment ID, and the
 *                               mount point its header names
 *   shm-probe gen ID            its global generation (read-only attach)
 *   shm-probe watcher ID        udba=inotify: "PID DIRS", the watcher's process id
 *                               (0 while none watches) and how many directories it
 *                               watches
 *   shm-probe sum ID            the sum of its generations, counters and the
 *                               sequence words of udba=none's lookup cache:
 *                               changes whenever a process writes the state
 *   shm-probe cache ID          udba=none: how many slots of the shared lookup
 *                               cache hold an entry (written at least once and
 *                               not being written)
 *   shm-probe write ID          attach read-write and bump its generation
 *   shm-probe chmod ID MODE     IPC_SET the mode
 *   shm-probe rmid ID           IPC_RMID
 *   shm-probe copy ID [magic|size=N|mode=M]...
 *                               a new segment of the caller with ID's contents, bent
 *                               as asked (bad magic, another size, another mode);
 *                               prints its number
 *   shm-probe remove LINK...    remove each link and the segment it names, if that
 *                               segment is the state of the link's branch (never a
 *                               segment whose number was reused by something else)
 *   shm-probe sweep DIR         remove every state (of this user; root: of anyone)
 *                               whose mount point is DIR or below: also those whose
 *                               link went with a branch a test removed
 *
 * A failed call prints "CALL: ERRNO-NAME" on stdout and exits 1; bad usage exits 2.
 * The layout constants are those of src/core/internal.h (struct aufs_shm).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#define OFF_SHC (128 * 1024)
#define SHC_SLOTS 16384
#define SHC_WORDS 12
#define SHM_SIZE (OFF_SHC + SHC_SLOTS * SHC_WORDS * 8)
#define SHM_MAGIC 0x31666d6873667561ULL
#define OFF_GEN 32
#define OFF_BR_DEV 168
#define OFF_BR_INO 176
#define OFF_MNT 184
#define OFF_COUNTERS 40
#define NCOUNTERS 16
#define OFF_DIRGEN 8192
#define OFF_WATCH_PID (196 + 4096)
#define OFF_WATCH_DIRS (200 + 4096)
#define NDIRGEN 16384

static int fail(const char *call)
{
	printf("%s: %s\n", call, strerrorname_np(errno));
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: shm-probe id LINK | info ID | gen ID | watcher ID | sum ID | cache ID | write ID | chmod ID MODE |"
			" rmid ID | copy ID [magic|size=N|mode=M]... | remove LINK... | sweep DIR\n");
	return 2;
}

static int link_id(const char *link)
{
	char t[64];
	ssize_t n = readlink(link, t, sizeof(t) - 1);

	if (n < 0)
		return -1;
	t[n] = 0;
	if (strncmp(t, "shmid:", 6) != 0) {
		errno = EINVAL;
		return -1;
	}
	return atoi(t + 6);
}

/* Is segment ID the state of the branch that holds LINK? */
static int belongs(int id, const char *link)
{
	char dir[4096];
	struct shmid_ds ds;
	struct stat st;
	const char *p;
	int ok;

	snprintf(dir, sizeof(dir), "%s", link);
	if (stat(dirname(dir), &st) < 0 || shmctl(id, IPC_STAT, &ds) < 0 ||
	    ds.shm_segsz != SHM_SIZE)
		return 0;
	p = shmat(id, NULL, SHM_RDONLY);
	if (p == (void *)-1)
		return 0;
	ok = *(const uint64_t *)p == SHM_MAGIC &&
	     *(const uint64_t *)(p + OFF_BR_DEV) == (uint64_t)st.st_dev &&
	     *(const uint64_t *)(p + OFF_BR_INO) == (uint64_t)st.st_ino;
	shmdt(p);
	return ok;
}

static void sweep(const char *dir)
{
	size_t len = strlen(dir);
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);

	for (int i = 0; i <= max; i++) {
		struct shmid_ds ds;
		int id = shmctl(i, SHM_STAT, &ds);
		const char *p, *mnt;

		if (id < 0 || ds.shm_segsz != SHM_SIZE)
			continue;
		p = shmat(id, NULL, SHM_RDONLY);
		if (p == (void *)-1)
			continue;
		mnt = p + OFF_MNT;
		if (*(const uint64_t *)p == SHM_MAGIC && strncmp(mnt, dir, len) == 0 &&
		    (mnt[len] == '/' || mnt[len] == 0))
			shmctl(id, IPC_RMID, NULL);
		shmdt(p);
	}
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct shmid_ds ds;
	int id;

	if (!strcmp(cmd, "remove")) {
		for (int i = 2; i < argc; i++) {
			id = link_id(argv[i]);
			if (id >= 0 && belongs(id, argv[i]))
				shmctl(id, IPC_RMID, NULL);
			unlink(argv[i]);
		}
		return 0;
	}
	if (argc < 3)
		return usage();
	if (!strcmp(cmd, "sweep")) {
		sweep(argv[2]);
		return 0;
	}
	if (!strcmp(cmd, "id")) {
		id = link_id(argv[2]);
		if (id < 0)
			return fail("readlink");
		printf("%d\n", id);
		return 0;
	}
	id = atoi(argv[2]);
	if (!strcmp(cmd, "info")) {
		if (shmctl(id, IPC_STAT, &ds) < 0)
			return fail("shmctl");
		const char *p = shmat(id, NULL, SHM_RDONLY);

		printf("uid=%u cuid=%u mode=%04o size=%zu nattch=%lu mnt=%.*s\n",
		       (unsigned)ds.shm_perm.uid, (unsigned)ds.shm_perm.cuid,
		       (unsigned)(ds.shm_perm.mode & 0777), (size_t)ds.shm_segsz,
		       (unsigned long)ds.shm_nattch, p == (void *)-1 || ds.shm_segsz < 4096 ? 1 : 256,
		       p == (void *)-1 || ds.shm_segsz < 4096 ? "?" : p + OFF_MNT);
		if (p != (void *)-1)
			shmdt(p);
		return 0;
	}
	if (!strcmp(cmd, "gen") || !strcmp(cmd, "write")) {
		int rw = !strcmp(cmd, "write");
		char *p = shmat(id, NULL, rw ? 0 : SHM_RDONLY);

		if (p == (void *)-1)
			return fail("shmat");
		if (rw)
			__atomic_fetch_add((uint64_t *)(p + OFF_GEN), 1, __ATOMIC_SEQ_CST);
		printf("%llu\n", (unsigned long long)__atomic_load_n((uint64_t *)(p + OFF_GEN),
								   __ATOMIC_SEQ_CST));
		shmdt(p);
		return 0;
	}
	if (!strcmp(cmd, "watcher")) {
		const char *p = shmat(id, NULL, SHM_RDONLY);

		if (p == (void *)-1)
			return fail("shmat");
		printf("%u %u\n", __atomic_load_n((const uint32_t *)(p + OFF_WATCH_PID), __ATOMIC_SEQ_CST),
		       __atomic_load_n((const uint32_t *)(p + OFF_WATCH_DIRS), __ATOMIC_SEQ_CST));
		shmdt(p);
		return 0;
	}
	if (!strcmp(cmd, "sum")) {
		const char *p = shmat(id, NULL, SHM_RDONLY);
		unsigned long long sum;

		if (p == (void *)-1)
			return fail("shmat");
		sum = __atomic_load_n((const uint64_t *)(p + OFF_GEN), __ATOMIC_SEQ_CST);
		for (int i = 0; i < NCOUNTERS; i++)
			sum += __atomic_load_n((const uint64_t *)(p + OFF_COUNTERS) + i,
					       __ATOMIC_SEQ_CST);
		for (int i = 0; i < NDIRGEN; i++)
			sum += __atomic_load_n((const uint32_t *)(p + OFF_DIRGEN) + i,
					       __ATOMIC_SEQ_CST);
		for (int i = 0; i < SHC_SLOTS; i++)
			sum += __atomic_load_n((const uint64_t *)(p + OFF_SHC) + i * SHC_WORDS,
					       __ATOMIC_SEQ_CST);
		printf("%llu\n", sum);
		shmdt(p);
		return 0;
	}
	if (!strcmp(cmd, "cache")) {
		const char *p = shmat(id, NULL, SHM_RDONLY);
		unsigned n = 0;

		if (p == (void *)-1)
			return fail("shmat");
		for (int i = 0; i < SHC_SLOTS; i++) {
			uint64_t seq = __atomic_load_n((const uint64_t *)(p + OFF_SHC) +
							       i * SHC_WORDS, __ATOMIC_SEQ_CST);

			n += seq && !(seq & 1);
		}
		printf("%u\n", n);
		shmdt(p);
		return 0;
	}
	if (!strcmp(cmd, "chmod") && argc == 4) {
		if (shmctl(id, IPC_STAT, &ds) < 0)
			return fail("shmctl");
		ds.shm_perm.mode = (unsigned short)strtoul(argv[3], NULL, 8);
		if (shmctl(id, IPC_SET, &ds) < 0)
			return fail("shmctl");
		return 0;
	}
	if (!strcmp(cmd, "rmid")) {
		if (shmctl(id, IPC_RMID, NULL) < 0)
			return fail("shmctl");
		return 0;
	}
	if (!strcmp(cmd, "copy")) {
		size_t size = SHM_SIZE;
		int mode = 0644, magic = 0, nid;
		const char *src;
		char *dst;

		for (int i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "magic"))
				magic = 1;
			else if (!strncmp(argv[i], "size=", 5))
				size = strtoul(argv[i] + 5, NULL, 0);
			else if (!strncmp(argv[i], "mode=", 5))
				mode = (int)strtoul(argv[i] + 5, NULL, 8);
			else
				return usage();
		}
		src = shmat(id, NULL, SHM_RDONLY);
		if (src == (void *)-1)
			return fail("shmat");
		nid = shmget(IPC_PRIVATE, size, IPC_CREAT | IPC_EXCL | mode);
		if (nid < 0)
			return fail("shmget");
		dst = shmat(nid, NULL, 0);	/* the owner may, whatever the mode */
		if (dst == (void *)-1)
			return fail("shmat");
		memcpy(dst, src, size < SHM_SIZE ? size : SHM_SIZE);
		if (magic)
			dst[0] ^= 1;
		printf("%d\n", nid);
		return 0;
	}
	return usage();
}
