/* SPDX-License-Identifier: MIT */
/*
 * gen.c - everything generated from wrapfuncs.def: the real_* pointers and the
 * table that resolves them, the exported one-line forwarders, and the list of
 * names the library exports (for `make check`).
 */
#include <dlfcn.h>
#include <string.h>

#include "shim.h"

#define SHIM(ret, name, params, args) ret (*real_##name) params;
#define HAND(ret, name, params) ret (*real_##name) params;
#include "aufs/wrapfuncs.def"

static const struct {
	const char *name;
	void **slot;
} real_table[] = {
#define SHIM(ret, name, params, args) { #name, (void **)&real_##name },
#define HAND(ret, name, params) { #name, (void **)&real_##name },
#include "aufs/wrapfuncs.def"
};

void aufs_resolve_reals(void);
void aufs_resolve_reals(void)
{
	for (size_t i = 0; i < sizeof(real_table) / sizeof(real_table[0]); i++)
		if (!*real_table[i].slot)
			*real_table[i].slot = dlsym(RTLD_NEXT, real_table[i].name);
}

void *aufs_real_lazy(const char *name, void **slot)
{
	void *p = dlsym(RTLD_NEXT, name);

	*slot = p;
	return p;
}

/* The exported forwarders. Prototypes first: some names have none in glibc's headers. */
#define SHIM(ret, name, params, args) AUFS_EXPORT ret name params;
#define ALIAS(ret, name, params, call) AUFS_EXPORT ret name params;
#include "aufs/wrapfuncs.def"

#define SHIM(ret, name, params, args) ret name params { return shim_##name args; }
#define ALIAS(ret, name, params, call) ret name params { return call; }
#include "aufs/wrapfuncs.def"
