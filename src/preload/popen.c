/* SPDX-License-Identifier: MIT */
/*
 * popen.c - the shell doors. Canonical: system, popen. glibc starts /bin/sh with
 * its own posix_spawn and the program's environ, out of our reach: the library
 * and its configuration are put back into environ first when the program
 * dropped them (env.c), so that the shell and what it runs see the unions.
 */
#include "exec.h"

int shim_system(const char *command)
{
	if (command && shim_enter(NULL))
		env_ensure();
	return REAL(system)(command);
}

FILE *shim_popen(const char *command, const char *mode)
{
	if (shim_enter(NULL))
		env_ensure();
	return REAL(popen)(command, mode);
}
