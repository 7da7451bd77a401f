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

#include "shim.h"
#include "aufs/sys.h"

_Atomic int aufs_init_state;
pid_t aufs_pid;
static __thread bool initialising;

void aufs_resolve_reals(void);

static void warn(const char *what, const char *msg)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "aufs-preload: %s: %s; no union is active\n", what, msg);

	if (n > 0)
		(void)sys_write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
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
 */
static void load_config(void)
{
	const char *mounts = getenv("AUFS_MOUNTS"), *fstab = getenv("AUFS_FSTAB");
	struct aufs_config *cfg = NULL;
	struct aufs_err err = { 0 }, notice = { 0 };
	int r = 0;

	if ((!mounts || !*mounts) && (!fstab || !*fstab)) {
		aufs_state_publish(NULL);
		return;
	}
	if (!mounts || !*mounts) {
		r = aufs_table_open(fstab, getenv("AUFS_TABLE"), AUFS_TABLE_MAY_WRITE, &cfg, &err,
				    &notice);
		if (r < 0) {
			warn("AUFS_FSTAB", err.msg);
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
	r = aufs_config_parse_fstab(cfg, mounts, "AUFS_MOUNTS", &err);
	if (r < 0)
		warn("AUFS_MOUNTS", err.msg);
	if (r == 0 && fstab && *fstab) {
		r = aufs_config_load_fstab(cfg, fstab, &err);
		if (r < 0)
			warn("AUFS_FSTAB", err.msg);
	}
	if (r == 0)
		r = aufs_config_index(cfg);
	if (r < 0) {
		aufs_config_release(cfg);
		free(cfg);
		aufs_state_publish(NULL);
		return;
	}
publish:
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
