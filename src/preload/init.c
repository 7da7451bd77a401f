/* SPDX-License-Identifier: MIT */
/*
 * init.c - start-up and configuration of the preload library.
 *
 * Other libraries' constructors run before ours and already call file functions
 * (libselinux: statfs, fopen, access), so every shim initialises on first use:
 * an atomic state (none -> busy -> ready); a call that arrives on the thread
 * that is initialising passes straight through. The configuration is read from
 * the environment once (AUFS_MOUNTS: fstab lines; AUFS_FSTAB: a file), never on
 * the hot path - `env -i` and php-fpm's clearenv replace the environment
 * wholesale - and read again only when the program itself sets AUFS_FSTAB or
 * AUFS_MOUNTS (php-fpm's env[AUFS_FSTAB] for one pool, applied after fork).
 * A clearenv alone keeps the unions the process already has.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>

#include "shim.h"
#include "aufs/sys.h"

_Atomic int aufs_init_state;
pid_t aufs_pid;
static __thread bool initialising;

void aufs_resolve_reals(void);

/*
 * A configuration error goes to syslog as well as to stderr: a daemon's stderr
 * (php-fpm's workers, a cron job's) is often /dev/null. Written to /dev/log with
 * raw calls (facility daemon, level err), never through syslog(3): openlog and
 * closelog are the program's, and its ident and connection stay as they were.
 * No /dev/log (a container): stderr alone.
 */
static void to_syslog(const char *msg)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	char line[1200];
	long fd;
	int n;

	n = snprintf(line, sizeof(line), "<%d>aufs-preload[%d]: %s: %s", LOG_DAEMON | LOG_ERR,
		     (int)aufs_pid, program_invocation_short_name, msg);
	if (n <= 0)
		return;
	fd = AUFS_SYS(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, 0, 0, 0);
	if (fd < 0)
		return;
	if (AUFS_SYS(SYS_connect, fd, &addr, sizeof(addr), 0, 0, 0) == 0)
		(void)AUFS_SYS(SYS_sendto, fd, line,
			       (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1, MSG_NOSIGNAL,
			       NULL, 0);
	(void)sys_close((int)fd);
}

/* What a process runs with after a refusal (the end of its message). */
enum outcome {
	NO_UNION,		/* nothing to fence: the plain file system */
	FENCED_ONLY,		/* no union works; the refused mount points fail */
	FENCED,			/* the other unions work; the refused mount points fail */
	UNFENCED,		/* the other unions work; the refused line named no mount point */
};

static enum outcome outcome_of(const struct aufs_config *cfg)
{
	int fences = 0;

	for (int i = 0; cfg && i < cfg->nunion; i++) {
		const struct aufs_union *u = aufs_config_union(cfg, i);

		fences += u && (u->opts.flags & AUFS_OPT_FENCED);
	}
	return !cfg || !cfg->nunion ? NO_UNION : fences == cfg->nunion ? FENCED_ONLY :
	       fences ? FENCED : UNFENCED;
}

/*
 * A refused configuration, said once per process: a program that sets the same
 * AUFS_FSTAB again (each php-fpm worker after fork, a reload) does not repeat it.
 */
static void warn(const char *what, const char *msg, enum outcome how)
{
	static const char *const end[] = {
		[NO_UNION] = "no union is active",
		[FENCED_ONLY] = "no union is active; paths under the refused mount point fail with EIO",
		[FENCED] = "the other unions work; paths under the refused mount point fail with EIO",
		[UNFENCED] = "the other unions work; the refused line names no mount point to fence",
	};
	static uint64_t said;
	char line[1024];
	uint64_t h = 14695981039346656037ull;
	int n;

	n = snprintf(line, sizeof(line), "%s: %s; %s", what, msg, end[how]);
	if (n <= 0)
		return;
	for (const char *p = line; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	if (h == said)
		return;
	said = h;
	{
		char out[1100];
		int m = snprintf(out, sizeof(out), "aufs-preload: %s\n", line);

		if (m > 0)
			(void)sys_write(2, out, (size_t)m < sizeof(out) ? (size_t)m : sizeof(out) - 1);
	}
	to_syslog(line);
}

static void say(const char *msg)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "aufs-preload: %s\n", msg);

	if (n > 0)
		(void)sys_write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/*
 * Build and publish the configuration the environment describes (NULL if none).
 * AUFS_FSTAB alone is a host table: its compiled image is mapped, shared by every
 * process of the host, and followed when it is replaced. With AUFS_MOUNTS as well
 * both are compiled together in this process.
 *
 * A refused line fails closed (aufs-preload(7), "A bad configuration"): the other
 * lines' unions are published with a fence at its mount point, so that nothing
 * this process writes there lands in the directory under it.
 */
static void load_config(void)
{
	const char *mounts = getenv("AUFS_MOUNTS"), *fstab = getenv("AUFS_FSTAB");
	struct aufs_config *cfg = NULL;
	struct aufs_err err = { 0 }, notice = { 0 };
	const char *what = "AUFS_FSTAB";
	int r = 0;

	if ((!mounts || !*mounts) && (!fstab || !*fstab)) {
		aufs_state_publish(NULL);
		return;
	}
	if (!mounts || !*mounts) {
		r = aufs_table_open(fstab, getenv("AUFS_TABLE"),
				    AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FENCE, &cfg, &err, &notice);
		if (r < 0) {
			warn("AUFS_FSTAB", err.msg, NO_UNION);
			aufs_state_publish(NULL);
			return;
		}
		if (notice.code)
			say(notice.msg);
		goto publish;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return;
	aufs_config_init(cfg);
	what = "AUFS_MOUNTS";
	r = aufs_config_parse_fstab(cfg, mounts, "AUFS_MOUNTS", &err);
	if (r != -ENOMEM && fstab && *fstab) {
		struct aufs_err ferr = { 0 };
		int rf = aufs_config_load_fstab(cfg, fstab, &ferr);

		/* the first refusal is said: AUFS_MOUNTS's, else AUFS_FSTAB's */
		if (rf < 0 && r == 0) {
			r = rf;
			err = ferr;
			what = "AUFS_FSTAB";
		}
	}
	if (cfg->nunion)
		(void)aufs_config_index(cfg);
	if (r < 0 && (r == -ENOMEM || !cfg->nunion)) {
		warn(what, err.msg, NO_UNION);
		aufs_config_release(cfg);
		free(cfg);
		aufs_state_publish(NULL);
		return;
	}
	if (r < 0)
		err.code = r;
publish:
	if (err.code)
		warn(what, err.msg, outcome_of(cfg));
	if (!cfg->nunion) {
		aufs_state_publish(NULL);
		return;
	}
	aufs_guard_install();	/* before any thread can see a union and probe */
	aufs_state_publish(cfg);
}

static bool may_allocate(void)
{
	return !aufs_in_vfork_child();
}

static void after_fork_child(void)
{
	aufs_pid = (pid_t)sys_getpid();
	aufs_fd_after_fork();
}

void aufs_preload_init(void)
{
	int expected = AUFS_INIT_NONE;

	if (initialising)
		return;
	if (!atomic_compare_exchange_strong(&aufs_init_state, &expected, AUFS_INIT_BUSY)) {
		/* another thread is initialising: wait for it (microseconds) */
		while (atomic_load(&aufs_init_state) != AUFS_INIT_READY)
			__builtin_ia32_pause();
		return;
	}
	initialising = true;
	aufs_pid = (pid_t)sys_getpid();
	aufs_resolve_reals();
	aufs_state_set_alloc_check(may_allocate);
	load_config();
	aufs_cwd_init(getenv("AUFS_CWD"));
	(void)pthread_atfork(NULL, NULL, after_fork_child);
	initialising = false;
	atomic_store(&aufs_init_state, AUFS_INIT_READY);
}

__attribute__((constructor)) static void aufs_constructor(void)
{
	aufs_preload_init();
}

static bool is_config_var(const char *name, size_t len)
{
	return (len == 11 && !strncmp(name, "AUFS_MOUNTS", 11)) ||
	       (len == 10 && !strncmp(name, "AUFS_FSTAB", 10));
}

static void reload(void)
{
	char cwd[PATH_MAX];

	load_config();
	/* keep the virtual cwd if the new unions still cover it */
	if (aufs_cwd_get(cwd, sizeof(cwd)) < 0)
		aufs_cwd_init(NULL);
}

int shim_setenv(const char *name, const char *value, int overwrite)
{
	int r;

	aufs_active();
	r = REAL(setenv)(name, value, overwrite);
	if (r == 0 && name && is_config_var(name, strlen(name)))
		reload();
	return r;
}

int shim_unsetenv(const char *name)
{
	aufs_active();
	return REAL(unsetenv)(name);
}

int shim_putenv(char *s)
{
	const char *eq = s ? strchr(s, '=') : NULL;
	int r;

	aufs_active();
	r = REAL(putenv)(s);
	if (r == 0 && eq && is_config_var(s, (size_t)(eq - s)))
		reload();
	return r;
}

int shim_clearenv(void)
{
	aufs_active();
	return REAL(clearenv)();
}
