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
#include <stdlib.h>
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
 * The path a row's kind names must be readable before the verb reads it
 * (aufs_path_ok): else the real call answers with the caller's pointer. A row
 * whose path may be NULL with a meaning of its own (utimensat and futimesat: the
 * fd itself; mount: a source-less file system) is listed here, and its verb
 * handles NULL; any other NULL goes to the real call (EFAULT).
 */
#define NULL_PATH_OK_utimensat ~, 1
#define NULL_PATH_OK_futimesat ~, 1
#define NULL_PATH_OK_mount ~, 1
#define SECOND_(a, b, ...) b
#define SECOND(...) SECOND_(__VA_ARGS__)
#define NULL_OK_(name) SECOND(NULL_PATH_OK_##name, 0, ~)
#define PATH_READY_(p, null_ok) ((null_ok) && !AUFS_LAUNDER(p) ? true : aufs_path_ok_hint(p))
#define READY_PATH(name, args) PATH_READY_(ARG1_ args, NULL_OK_(name))
#define READY_PATHAT(name, args) PATH_READY_(ARG2_ args, NULL_OK_(name))
#define READY_FD(name, args) true

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
		if (!shim_enter(&saved_) || !READY_##kind(name, args))                  \
			return REAL(name) args;                                         \
		aufs_call_begin();                                                      \
		r_ = verb_##name args;                                                  \
		aufs_call_end();                                                        \
		aufs_path_hint = NULL;                                                  \
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

/* Every name the library exports, sorted once (strcmp order) for aufs_exports_has(). */
static const char *export_names[] = {
#define SHIM(kind, ret, name, params, args) #name,
#define ALIAS(ret, name, params, call) #name,
#define HAND(ret, name, params) #name,
#include "aufs/wrapfuncs.def"
};
#define NEXPORTS (sizeof(export_names) / sizeof(export_names[0]))

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool aufs_exports_has(const char *name)
{
	static _Atomic int sorted;	/* 0, 1 sorting, 2 sorted */
	int expected = 0;

	if (atomic_load(&sorted) != 2) {
		if (atomic_compare_exchange_strong(&sorted, &expected, 1)) {
			qsort(export_names, NEXPORTS, sizeof(export_names[0]), cmp_name);
			atomic_store(&sorted, 2);
		} else {
			while (atomic_load(&sorted) != 2)
				__builtin_ia32_pause();
		}
	}
	return bsearch(&name, export_names, NEXPORTS, sizeof(export_names[0]), cmp_name) != NULL;
}

/* The exported forwarders. Prototypes first: some names have none in glibc's headers. */
#define SHIM(kind, ret, name, params, args) AUFS_EXPORT ret name params;
#define ALIAS(ret, name, params, call) AUFS_EXPORT ret name params;
#include "aufs/wrapfuncs.def"

#define SHIM(kind, ret, name, params, args) ret name params { return shim_##name args; }
#define ALIAS(ret, name, params, call) ret name params { return call; }
#include "aufs/wrapfuncs.def"
