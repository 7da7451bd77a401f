/* SPDX-License-Identifier: MIT */
/*
 * util_say.c - the core's one way to tell a person something: one line on stderr,
 * "aufs-preload: " first, written with the raw call (never stdio: the program's
 * own buffers and locks are not ours, and this may run in a vfork child).
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

void aufs_say(_Atomic bool *once, const char *fmt, ...)
{
	char line[2 * PATH_MAX + 256];
	size_t p = sizeof("aufs-preload: ") - 1;
	va_list ap;
	int n;

	if (once && atomic_exchange(once, true))
		return;
	memcpy(line, "aufs-preload: ", p);
	va_start(ap, fmt);
	n = vsnprintf(line + p, sizeof(line) - p - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	p += (size_t)n < sizeof(line) - p - 1 ? (size_t)n : sizeof(line) - p - 2;
	line[p++] = '\n';
	(void)sys_write(2, line, p);
}
