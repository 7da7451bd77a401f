/* SPDX-License-Identifier: MIT */
/*
 * state_watch.c - udba=inotify: one watcher per union and host turns direct
 * changes of the branches' directories into bumps of the union's shared
 * generations, so that every process of the union, whatever its user, sees them
 * at its next call, as it sees a change made through the union.
 *
 * Who watches. Every process that maps the union's shared state read-write
 * (root, the owner of the top writable branch) starts one thread for the union,
 * signals blocked, that waits for the union's lock: a PI futex in the shared
 * state (shm->watch_owner) holding the thread id of the watcher. The kernel
 * keeps no user-space pointer for it and needs no file descriptor: a waiter
 * blocked in FUTEX_LOCK_PI gets the lock when the owner thread exits (its
 * process exits, dies, or execs), and a waiter that comes after an owner died
 * unseen gets ESRCH and takes the word. So exactly one process watches while
 * any eligible one runs, and when it goes, a waiting one takes over at once.
 * A process that maps the state read-only (the web server) never watches.
 * After fork the child has no thread: an atfork handler starts its own waiter
 * (the parent's lock belongs to the parent's thread, never to the child). A
 * vfork child starts nothing (it may not allocate).
 *
 * What is watched: every directory of every branch that may change (not rr),
 * up to AUFS_WATCH_MAX_DIRS per union, added when the watcher starts and for
 * each directory that appears later. Once the watches are in place the global
 * generation is bumped (whatever changed while nobody watched is looked up
 * again). Each event bumps the generation of the directory's bucket and of the
 * name's own, as a change through the union does (state_shm.c).
 *
 * The descriptor. The watcher holds one inotify descriptor (close-on-exec, moved
 * above the program's usual numbers). A program that closes it (closefrom) or
 * reuses its number is noticed at the next wakeup (at least once a second):
 * the watcher then stops and hands the lock over.
 */
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <time.h>

#include "internal.h"

/* Directories one union's watcher watches at most; the rest are seen as under reval. */
#define AUFS_WATCH_MAX_DIRS 65536
/* How long a process uses a union before it may become its watcher. */
#define AUFS_WATCH_DELAY_MS 1000
/* Unions one process may wait for or watch. */
#define AUFS_WATCH_MAX_UNIONS 64

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | \
		    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

/* ---------------------------------------------------------------- bumps */

/* As state_shm.c's bump(): the bucket, then the change counter readers look at first. */
static void bump_bucket(struct aufs_shm *shm, uint32_t bucket)
{
	atomic_fetch_add_explicit(&shm_dirgen(shm)[bucket], 1, memory_order_seq_cst);
	atomic_fetch_add_explicit(&shm->changes, 1, memory_order_seq_cst);
}

/* The names inside directory REL. */
static void bump_names(struct aufs_shm *shm, const char *rel, size_t len)
{
	bump_bucket(shm, shm_bucket(rel, len));
}

/* REL's own entry: which branches hold it, its type, a directory's attributes. */
static void bump_self(struct aufs_shm *shm, const char *rel, size_t len)
{
	bump_bucket(shm, shm_bucket_self(rel, len));
}

static void bump_all(struct aufs_shm *shm)
{
	atomic_fetch_add_explicit(&shm->gen, 1, memory_order_seq_cst);
	atomic_fetch_add_explicit(&shm->changes, 1, memory_order_seq_cst);
}

/* ---------------------------------------------------------------- the watches */

struct watcher {
	struct aufs_union *u;
	struct aufs_shm *shm;
	int fd;
	int ndirs;
	bool full;			/* AUFS_WATCH_MAX_DIRS or the kernel's limit reached */
	char **rel;			/* [wd]: the union-relative directory, NULL when none */
	int nrel;
};

/* One line on stderr, once per process: the union keeps working, partly as reval. */
static void report_once(const struct aufs_union *u, const char *what, int err)
{
	static _Atomic bool reported;

	aufs_say(&reported,
		 "udba=inotify of %s: %s (%s); changes made directly in the branches are seen "
		 "as under udba=reval",
		 u->mnt, what, strerror(-err));
}

static void rel_set(struct watcher *w, int wd, const char *rel, size_t len)
{
	char *copy;

	if (wd >= w->nrel) {
		int n = w->nrel ? w->nrel : 256;
		char **p;

		while (n <= wd)
			n *= 2;
		p = realloc(w->rel, (size_t)n * sizeof(*p));
		if (!p)
			return;
		memset(p + w->nrel, 0, (size_t)(n - w->nrel) * sizeof(*p));
		w->rel = p;
		w->nrel = n;
	}
	copy = malloc(len + 1);
	if (!copy)
		return;
	memcpy(copy, rel, len);
	copy[len] = 0;
	if (w->rel[wd])
		free(w->rel[wd]);	/* the same directory again, maybe by a new name */
	else
		w->ndirs++;
	w->rel[wd] = copy;
}

static void rel_drop(struct watcher *w, int wd)
{
	if (wd >= 0 && wd < w->nrel && w->rel[wd]) {
		free(w->rel[wd]);
		w->rel[wd] = NULL;
		w->ndirs--;
	}
}

/* REL "/" NAME (NAME alone below the root) into BUF (PATH_MAX); its length, or -1. */
static int rel_join(char *buf, const char *rel, size_t len, const char *name, size_t nlen)
{
	size_t n = len ? len + 1 + nlen : nlen;

	if (n >= PATH_MAX)
		return -1;
	if (len) {
		memcpy(buf, rel, len);
		buf[len] = '/';
		memcpy(buf + len + 1, name, nlen);
	} else {
		memcpy(buf, name, nlen);
	}
	buf[n] = 0;
	return (int)n;
}

/* A pending directory of the walk: union-relative, malloc'd. */
struct pending {
	char **v;
	size_t n, cap;
};

static bool push(struct pending *p, const char *rel, size_t len)
{
	char *copy;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		char **v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return false;
		p->v = v;
		p->cap = cap;
	}
	copy = malloc(len + 1);
	if (!copy)
		return false;
	memcpy(copy, rel, len);
	copy[len] = 0;
	p->v[p->n++] = copy;
	return true;
}

/* Watch directory REL of branch B and queue its subdirectories. */
static void watch_dir(struct watcher *w, const struct aufs_branch *br, const char *rel,
		      size_t len, bool bump_each, struct pending *todo)
{
	char real[PATH_MAX], sub[PATH_MAX];
	char buf[4096];
	ssize_t n;
	int wd, dfd;

	if (w->full || branch_path(br, rel, len, real) < 0)
		return;
	if (w->ndirs >= AUFS_WATCH_MAX_DIRS) {
		w->full = true;
		report_once(w->u, "too many directories to watch", -ENOSPC);
		return;
	}
	wd = sys_inotify_add_watch(w->fd, real, WATCH_MASK);
	if (wd == -ENOSPC) {
		w->full = true;
		report_once(w->u, "fs.inotify.max_user_watches reached", wd);
		return;
	}
	if (wd < 0)
		return;		/* gone meanwhile, or not ours to read */
	rel_set(w, wd, rel, len);
	if (bump_each)
		bump_names(w->shm, rel, len);	/* what was looked up there before the watch */
	dfd = sys_openat(AT_FDCWD, real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (dfd < 0)
		return;
	while ((n = sys_getdents64(dfd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 {
				uint64_t d_ino;
				int64_t d_off;
				unsigned short d_reclen;
				unsigned char d_type;
				char d_name[];
			} *d = (struct dirent64 *)(buf + off);
			size_t nlen = strlen(d->d_name);
			struct stat st;
			int sl;

			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..") ||
			    !strncmp(d->d_name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN))
				continue;	/* whiteouts and aufs's own directories */
			if (d->d_type != DT_DIR &&
			    (d->d_type != DT_UNKNOWN ||
			     sys_fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			     !S_ISDIR(st.st_mode)))
				continue;
			sl = rel_join(sub, rel, len, d->d_name, nlen);
			if (sl >= 0)
				(void)push(todo, sub, (size_t)sl);
		}
	}
	sys_close(dfd);
}

/* Watch REL and every directory below it, in every branch that may change. */
static void watch_tree(struct watcher *w, const char *rel, size_t len, bool bump_each)
{
	for (int b = 0; b < w->u->nbranch; b++) {
		const struct aufs_branch *br = &w->u->branch[b];
		struct pending todo = { 0 };

		if (br->perm == AUFS_PERM_RR)
			continue;	/* never changes */
		if (push(&todo, rel, len)) {
			while (todo.n) {
				char *d = todo.v[--todo.n];

				watch_dir(w, br, d, strlen(d), bump_each, &todo);
				free(d);
			}
		}
		free(todo.v);
	}
}

/* One event: the buckets a change through the union would have bumped. */
static void handle(struct watcher *w, const struct inotify_event *ev)
{
	const char *rel, *name = ev->name;
	char child[PATH_MAX];
	size_t len, nlen;
	int cl;

	if (ev->mask & IN_Q_OVERFLOW) {
		bump_all(w->shm);	/* events were lost: everything is looked up again */
		return;
	}
	if (ev->wd < 0 || ev->wd >= w->nrel || !(rel = w->rel[ev->wd]))
		return;
	len = strlen(rel);
	if (ev->mask & IN_IGNORED) {
		rel_drop(w, ev->wd);
		return;
	}
	if (!ev->len || !name[0]) {
		/* the directory itself: its attributes, or it went away */
		bump_self(w->shm, rel, len);
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
			bump_names(w->shm, rel, len);
		if (ev->mask & IN_MOVE_SELF)
			(void)sys_inotify_rm_watch(w->fd, ev->wd);	/* its name is stale now */
		return;
	}
	nlen = strlen(name);
	if (!strncmp(name, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN)) {
		if (!strcmp(name, AUFS_WH_OPQ)) {
			/* made or removed opaque: what the directory shows from below */
			bump_self(w->shm, rel, len);
			bump_names(w->shm, rel, len);
			return;
		}
		if (!strncmp(name + AUFS_WH_PREFIX_LEN, AUFS_WH_PREFIX, AUFS_WH_PREFIX_LEN))
			return;	/* the union's own files (shared state, copy-up temporaries) */
		name += AUFS_WH_PREFIX_LEN;	/* a whiteout hides or uncovers NAME */
		nlen -= AUFS_WH_PREFIX_LEN;
	}
	cl = rel_join(child, rel, len, name, nlen);
	if (cl < 0) {
		bump_all(w->shm);
		return;
	}
	bump_self(w->shm, child, (size_t)cl);
	if (ev->mask & IN_ATTRIB)
		return;		/* the name stays where it was */
	bump_names(w->shm, rel, len);
	if (!(ev->mask & IN_ISDIR))
		return;
	bump_names(w->shm, child, (size_t)cl);	/* a directory gained or lost a copy */
	if (ev->mask & IN_MOVED_FROM)
		bump_all(w->shm);	/* every path cached below it moved */
	if (ev->mask & (IN_CREATE | IN_MOVED_TO))
		watch_tree(w, child, (size_t)cl, true);
}

/* Is FD still the inotify descriptor this watcher opened (the program may close fds)? */
static bool fd_is_ours(int fd)
{
	static const char want[] = "anon_inode:inotify";
	char path[64], target[64];
	ssize_t n;

	if (sys_fcntl(fd, F_GETFD, 0) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", fd);
	n = sys_readlinkat(AT_FDCWD, path, target, sizeof(target));
	if (n < 0)
		return n == -ENOENT && sys_fcntl(fd, F_GETFD, 0) >= 0;	/* no /proc */
	return (size_t)n == sizeof(want) - 1 && !memcmp(target, want, (size_t)n);
}

/* Watch until the descriptor is lost. Returns -errno when no watch could be made. */
static int watch(struct aufs_union *u, struct aufs_shm *shm)
{
	struct watcher w = { .u = u, .shm = shm };
	char *buf;
	int fd, r = 0;

	fd = sys_inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0) {
		report_once(u, "no inotify instance", fd);
		return fd;
	}
	/* above the numbers a program hands out first, which it may dup2 over */
	w.fd = sys_fcntl(fd, F_DUPFD_CLOEXEC, 768);
	if (w.fd < 0)
		w.fd = fd;
	else
		sys_close(fd);
	buf = malloc(64 * 1024);
	if (!buf) {
		sys_close(w.fd);
		return -ENOMEM;
	}
	watch_tree(&w, "", 0, false);
	/* whatever changed while nobody watched: every process looks up again, once */
	bump_all(shm);
	atomic_store(&shm->watch_dirs, (uint32_t)w.ndirs);
	atomic_store(&shm->watch_pid, (uint32_t)sys_getpid());
	for (;;) {
		struct pollfd p = { .fd = w.fd, .events = POLLIN };
		struct timespec second = { .tv_sec = 1 };	/* the kernel writes what is left */
		ssize_t n;

		r = sys_ppoll(&p, 1, &second);
		if (r < 0 && r != -EINTR) {
			report_once(u, "the watcher stopped: poll failed", r);
			break;
		}
		if (!fd_is_ours(w.fd)) {
			report_once(u, "the watcher stopped: the program closed its descriptor", -EBADF);
			w.fd = -1;	/* closed by the program: that number is not ours to close */
			break;
		}
		while ((n = sys_read(w.fd, buf, 64 * 1024)) > 0) {
			for (ssize_t off = 0; off < n;) {
				const struct inotify_event *ev = (const void *)(buf + off);

				off += (ssize_t)(sizeof(*ev) + ev->len);
				handle(&w, ev);
			}
		}
		if (n < 0 && n != -EAGAIN && n != -EINTR) {
			report_once(u, "the watcher stopped: read failed", (int)n);
			break;
		}
		atomic_store(&shm->watch_dirs, (uint32_t)w.ndirs);
	}
	atomic_store(&shm->watch_pid, 0);
	atomic_store(&shm->watch_dirs, 0);
	if (w.fd >= 0)
		sys_close(w.fd);
	for (int i = 0; i < w.nrel; i++)
		free(w.rel[i]);
	free(w.rel);
	free(buf);
	return 0;
}

/* ---------------------------------------------------------------- the lock */

/* Wait until this thread holds W: 0, or -errno when the kernel cannot tell (no PI futexes). */
static int lock(_Atomic uint32_t *word, uint32_t tid)
{
	for (;;) {
		uint32_t cur = 0;
		int r;

		if (atomic_compare_exchange_strong(word, &cur, tid))
			return 0;
		if ((cur & FUTEX_TID_MASK) == tid)
			return 0;	/* ours already */
		r = sys_futex((void *)word, FUTEX_LOCK_PI, 0, NULL);
		if (r == 0 || r == -EDEADLK)
			return 0;
		if (r == -ESRCH) {
			/* its owner is gone and told nobody (no waiter then): take the word */
			if (atomic_compare_exchange_strong(word, &cur, tid))
				return 0;
			continue;
		}
		if (r != -EINTR && r != -EAGAIN)
			return r;
	}
}

static void unlock(_Atomic uint32_t *word, uint32_t tid)
{
	uint32_t cur = tid;

	/* a waiter set FUTEX_WAITERS: the kernel hands the lock over */
	if (!atomic_compare_exchange_strong(word, &cur, 0))
		(void)sys_futex((void *)word, FUTEX_UNLOCK_PI, 0, NULL);
}

static void *watch_main(void *arg)
{
	struct aufs_union *u = arg;
	struct aufs_shm *shm = shm_writable(u);
	uint32_t tid = (uint32_t)sys_gettid();
	struct timespec delay = { .tv_sec = AUFS_WATCH_DELAY_MS / 1000,
				  .tv_nsec = AUFS_WATCH_DELAY_MS % 1000 * 1000000L };
	int r;

	if (!shm)
		return NULL;
	/* a process that lives less than this (a fork child about to exec, a cron job's
	 * command) never walks the branches: it would watch them for nothing */
	while (sys_ppoll(NULL, 0, &delay) == -EINTR)
		;	/* (setxid's signal) the kernel left the rest in DELAY */
	r = lock(&shm->watch_owner, tid);
	if (r < 0) {
		report_once(u, "the watcher's lock is not available", r);
		return NULL;
	}
	(void)watch(u, shm);
	/* the descriptor is lost or none could be made: another process may do better */
	unlock(&shm->watch_owner, tid);
	return NULL;
}

/* ---------------------------------------------------------------- starting */

static pthread_mutex_t started_lock = PTHREAD_MUTEX_INITIALIZER;
static struct aufs_union *started[AUFS_WATCH_MAX_UNIONS];
static int nstarted;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void spawn(struct aufs_union *u)
{
	/* every signal but glibc's own (32, 33: setxid must still reach the thread) */
	uint64_t all = ~(uint64_t)0 & ~((uint64_t)1 << 31) & ~((uint64_t)1 << 32), old;
	pthread_attr_t attr;
	pthread_t t;

	if (pthread_attr_init(&attr))
		return;
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	(void)pthread_attr_setstacksize(&attr, 128 * 1024);
	/* the thread inherits the mask: no handler of the program ever runs on it */
	if (sys_rt_sigprocmask(SIG_BLOCK, &all, &old) == 0) {
		(void)pthread_create(&t, &attr, watch_main, u);
		(void)sys_rt_sigprocmask(SIG_SETMASK, &old, NULL);
	}
	(void)pthread_attr_destroy(&attr);
}

/* A fork child has none of its parent's threads: it waits for the lock itself. */
static void after_fork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	started_lock = fresh;	/* maybe taken by a thread that is not in the child */
	for (int i = 0; i < nstarted; i++)
		if (shm_writable(started[i]))
			spawn(started[i]);
}

static void atfork_register(void)
{
	(void)pthread_atfork(NULL, NULL, after_fork_child);
}

void aufs_watch_start(struct aufs_union *u)
{
	bool known = false;

	if (!aufs_state_may_allocate())
		return;		/* a vfork child: its parent or the program it runs will */
	(void)pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&started_lock);
	for (int i = 0; i < nstarted; i++)
		known |= started[i] == u;
	if (!known && nstarted < AUFS_WATCH_MAX_UNIONS)
		started[nstarted++] = u;
	else
		known = true;
	pthread_mutex_unlock(&started_lock);
	if (!known)
		spawn(u);
}
