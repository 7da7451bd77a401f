/* SPDX-License-Identifier: MIT */
/*
 * exec.c - program execution. Canonical: execve. The executable's path is
 * resolved through the union, and the virtual cwd travels to the new image in
 * AUFS_CWD ("DEV:INO:PATH": the new process trusts it only while "." is still
 * that directory). This code may run in a vfork child, which shares its
 * parent's memory and stack: no malloc, no locks, stack buffers only.
 */
#include <string.h>

#include "shim.h"
#include "aufs/sys.h"

bool aufs_in_vfork_child(void)
{
	/* fork children update aufs_pid in an atfork handler; vfork runs none */
	return (pid_t)sys_getpid() != aufs_pid;
}

int shim_execve(const char *path, char *const argv[], char *const envp[])
{
	int saved = errno;
	struct aufs_loc loc;
	char cwd[PATH_MAX + 64];
	size_t n = 0, k = 0;
	struct stat st;
	int r, len;

	if (!aufs_active())
		return REAL(execve)(path, argv, envp);
	path = AUFS_LAUNDER(path);
	if (!path) {
		errno = EFAULT;
		return -1;
	}
	r = aufs_resolve(AT_FDCWD, path, 0, &loc);
	if (r < 0)
		return (int)aufs_ret(r, saved);
	if (r == 0) {
		if (loc.u && loc.branch < 0)
			return (int)aufs_ret(-ENOENT, saved);
		path = loc.real;
	}
	while (envp && envp[n])
		n++;
	{
		char *env[n + 2];

		for (size_t i = 0; i < n; i++)
			if (strncmp(envp[i], "AUFS_CWD=", 9))
				env[k++] = envp[i];
		len = snprintf(cwd, sizeof(cwd), "AUFS_CWD=");
		if (!aufs_in_vfork_child() &&
		    aufs_cwd_get(cwd + len + 48, sizeof(cwd) - (size_t)len - 48) >= 0 &&
		    sys_stat(".", &st) == 0) {
			int m = snprintf(cwd + len, 48, "%llu:%llu:", (unsigned long long)st.st_dev,
					 (unsigned long long)st.st_ino);

			memmove(cwd + len + m, cwd + len + 48, strlen(cwd + len + 48) + 1);
			env[k++] = cwd;
		}
		env[k] = NULL;
		return REAL(execve)(path, argv, env);
	}
}
