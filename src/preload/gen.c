/* SPDX-License-Identifier: MIT */
/*
 * gen.c - everything generated from wrapfuncs.def: the real_* pointers and the
 * table that resolves them, the shim_<name> prologue of every row whose kind is
 * PATH, PATHAT or FD, the whole shim of a CREDS row, the exported one-line
 * forwarders, and the list of names the library exports (for `make check`).
 */
#include <dlfcn.h>
#include <grp.h>
#include <sys/fsuid.h>
#include <string.h>

#include "shim.h"

#define SHIM(kind, ret, name, params, args) ret (*real_##name) params;
#define HAND(ret, name, params) ret (*real_##name) params;
#include "aufs/wrapfuncs.def"

static const struct {
	const char *name;
	void **slot;
} real_table[] = {
#define SHIM(kind, ret, name, params, args) { #name, (void **)&real_##name },
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

/*
 * The kind of a row says what its first arguments are; the prologue checks it
 * at compile time, so that the table cannot drift from the signatures.
 */
#define ARG1_(a, ...) a
#define ARG2_(a, b, ...) b
#define IS_STRING_(x) _Generic((x), const char *: 1, char *: 1, default: 0)
#define IS_INT_(x) _Generic((x), int: 1, default: 0)
#define KIND_PATH(args) IS_STRING_(ARG1_ args)
#define KIND_PATHAT(args) (IS_INT_(ARG1_ args) && IS_STRING_(ARG2_ args))
#define KIND_FD(args) IS_INT_(ARG1_ args)

/*
 * The prologue (shim.h, "The verbs"): the real function when the library is
 * inactive or the verb says AUFS_PASS, else the verb's answer with errno set on
 * failure and the caller's errno kept on success. The verb runs in a call scope
 * (core.h): a real path it named through a descriptor is released after it, and
 * after the real call it made with that path.
 */
#define PROLOGUE_(kind, ret, name, params, args)                                        \
	ret shim_##name params                                                          \
	{                                                                               \
		int saved_;                                                             \
		long r_;                                                                \
                                                                                        \
		_Static_assert(KIND_##kind(args), #name ": not of kind " #kind);          \
		if (!shim_enter(&saved_))                                               \
			return REAL(name) args;                                         \
		aufs_call_begin();                                                      \
		r_ = verb_##name args;                                                  \
		aufs_call_end();                                                        \
		if (r_ == AUFS_PASS)                                                    \
			return REAL(name) args;                                         \
		return (ret)aufs_ret(r_, saved_);                                       \
	}
#define BODY_PATH(ret, name, params, args) PROLOGUE_(PATH, ret, name, params, args)
#define BODY_PATHAT(ret, name, params, args) PROLOGUE_(PATHAT, ret, name, params, args)
#define BODY_FD(ret, name, params, args) PROLOGUE_(FD, ret, name, params, args)
#define BODY_HAND(ret, name, params, args)	/* the family file's own */
/*
 * A credential change: the core keeps the caller's euid, egid and groups
 * (state_creds.c) instead of asking the kernel at every permission check, so
 * every call that may change them tells it, whatever the result (a php-fpm
 * worker drops its privileges after fork this way).
 */
#define BODY_CREDS(ret, name, params, args)                                             \
	ret shim_##name params                                                          \
	{                                                                               \
		ret res_ = REAL(name) args;                                             \
                                                                                        \
		aufs_creds_changed();                                                   \
		return res_;                                                            \
	}
#define SHIM(kind, ret, name, params, args) BODY_##kind(ret, name, params, args)
#include "aufs/wrapfuncs.def"

/* The exported forwarders. Prototypes first: some names have none in glibc's headers. */
#define SHIM(kind, ret, name, params, args) AUFS_EXPORT ret name params;
#define ALIAS(ret, name, params, call) AUFS_EXPORT ret name params;
#include "aufs/wrapfuncs.def"

#define SHIM(kind, ret, name, params, args) ret name params { return shim_##name args; }
#define ALIAS(ret, name, params, call) ret name params { return call; }
#include "aufs/wrapfuncs.def"
