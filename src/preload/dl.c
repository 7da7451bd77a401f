/* SPDX-License-Identifier: MIT */
/*
 * dl.c - loading shared objects by name. Hand-written: dlopen, dlmopen. The
 * dynamic loader opens files itself, so a path inside a union is given the real
 * path of the branch that holds it; a name without '/' is searched by ld.so
 * (LD_LIBRARY_PATH, RUNPATH, the cache) and passes through unchanged, as does
 * every path outside the unions. ld.so takes the caller's return address to pick
 * the RPATH/RUNPATH and the namespace of a search, so the pass-through is a tail
 * call (a jmp at -O2: the program's own return address reaches ld.so).
 * Libraries a loaded object needs (DT_NEEDED) are found by ld.so alone.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>

#include "shim.h"
#include "aufs/sys.h"

/*
 * Might FILE name a path in a union? Read before shim_enter() (the tail call
 * below), so a pointer is probed only once the probes' handler is there (and
 * read as before otherwise); an unreadable FILE is ld.so's to read, as without us.
 */
static inline bool maybe_union_file(const char *file)
{
	file = AUFS_LAUNDER(file);
	return file &&
	       (!atomic_load_explicit(&aufs_guard_installed, memory_order_relaxed) ||
		aufs_path_ok(file)) && strchr(file, '/');
}

/* FILE's real path into REAL, or false: load FILE as given. */
static bool union_file(const char *file, char *real)
{
	if (!maybe_union_file(file))
		return false;
	/* a missing or hidden name: ld.so fails on the caller's name, with its own dlerror() */
	return aufs_real_path(AT_FDCWD, file, 0, real) == 0;
}

__attribute__((noinline)) static void *dlopen_union(const char *file, int mode)
{
	char real[PATH_MAX];
	void *h;
	int saved;

	if (!shim_enter(&saved) || !union_file(file, real))
		return REAL(dlopen)(file, mode);
	h = REAL(dlopen)(real, mode);
	if (h)
		errno = saved;
	return h;
}


/* ------------------------------------------------------------ RTLD_DEEPBIND */

/*
 * An object loaded with RTLD_DEEPBIND (PHP's extensions, and what they bring:
 * ImageMagick, libzip) looks its symbols up in its own dependencies first, so
 * its calls to open or stat bind to the C library's, past the union. The rest of
 * DEEPBIND's meaning must stay: after the load, only the bindings of the objects
 * it brought that went to the C library's own definition of a name this
 * library exports are redirected to the global scope's (this library's, as an
 * object loaded without DEEPBIND gets). A name the objects define themselves, or
 * take from another library, keeps its deep binding. The GOT entries
 * (GLOB_DAT, JUMP_SLOT, and R_X86_64_64 pointers to functions) are rewritten in
 * place, the RELRO pages writable for the moment it takes.
 */

struct relro {
	ElfW(Addr) base;
	const char *name;
	uintptr_t lo, hi;
};

static int relro_of(struct dl_phdr_info *info, size_t size, void *data)
{
	struct relro *r = data;

	(void)size;
	if (info->dlpi_addr != r->base || strcmp(info->dlpi_name, r->name))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
			r->lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
			r->hi = r->lo + info->dlpi_phdr[i].p_memsz;
		}
	return 1;
}

/* A .dynamic address: ld.so relocates most in place, not all (a read-only .dynamic). */
static uintptr_t dyn_addr(const struct link_map *lm, ElfW(Addr) v)
{
	return v < lm->l_addr ? lm->l_addr + v : v;
}

/* Point SLOT at WANT; a slot in RELRO is made writable for the moment. */
static void set_slot(void **slot, void *want, const struct relro *rr)
{
	uintptr_t a = (uintptr_t)slot, pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = a & ~(pg - 1);
	bool ro = a >= rr->lo && a < rr->hi;

	if (ro && mprotect((void *)start, pg, PROT_READ | PROT_WRITE) < 0)
		return;
	__atomic_store_n(slot, want, __ATOMIC_RELAXED);
	if (ro)
		(void)mprotect((void *)start, pg, PROT_READ);
}

static void rebind_relocs(const struct link_map *lm, void *deep_scope, const ElfW(Rela) *rel,
			  size_t size, const ElfW(Sym) *symtab, const char *strtab,
			  const struct relro *rr)
{
	for (size_t i = 0; rel && i < size / sizeof(*rel); i++) {
		unsigned type = ELF64_R_TYPE(rel[i].r_info);
		const ElfW(Sym) *sym = &symtab[ELF64_R_SYM(rel[i].r_info)];
		ElfW(Sxword) addend = type == R_X86_64_64 ? rel[i].r_addend : 0;
		void **slot = (void **)(lm->l_addr + rel[i].r_offset);
		const char *name;
		char *global, *next;

		if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT &&
		     type != R_X86_64_64) || !ELF64_R_SYM(rel[i].r_info) ||
		    sym->st_shndx != SHN_UNDEF || ELF64_ST_TYPE(sym->st_info) == STT_OBJECT)
			continue;
		name = strtab + sym->st_name;
		if (!aufs_exports_has(name))
			continue;
		next = dlsym(RTLD_NEXT, name);		/* the C library's */
		global = dlsym(RTLD_DEFAULT, name);	/* what a plain load binds to */
		if (!next || !global || global == next || dlsym(deep_scope, name) != next)
			continue;	/* not bound past us: the object's own meaning */
		if (*slot == global + addend)
			continue;
		if (type == R_X86_64_64 && *slot != next + addend)
			continue;
		set_slot(slot, global + addend, rr);
	}
}

/* Rebind LM, one of the objects the DEEPBIND load of HANDLE brought. */
static void rebind_object(struct link_map *lm, void *handle)
{
	const ElfW(Rela) *rela = NULL, *jmprel = NULL;
	size_t relasz = 0, pltsz = 0;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	struct relro rr = { .base = lm->l_addr, .name = lm->l_name };
	bool plt_rela = true;

	for (const ElfW(Dyn) *d = lm->l_ld; d && d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const void *)dyn_addr(lm, d->d_un.d_ptr); break;
		case DT_STRTAB: strtab = (const void *)dyn_addr(lm, d->d_un.d_ptr); break;
		case DT_RELA: rela = (const void *)dyn_addr(lm, d->d_un.d_ptr); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		case DT_JMPREL: jmprel = (const void *)dyn_addr(lm, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltsz = d->d_un.d_val; break;
		case DT_PLTREL: plt_rela = d->d_un.d_val == DT_RELA; break;
		}
	}
	if (!symtab || !strtab || !plt_rela)
		return;
	dl_iterate_phdr(relro_of, &rr);
	rebind_relocs(lm, handle, rela, relasz, symtab, strtab, &rr);
	rebind_relocs(lm, handle, jmprel, pltsz, symtab, strtab, &rr);
}

/* The last object of the base namespace's list (new ones are appended). */
static struct link_map *last_object(void)
{
	struct link_map *lm = _r_debug.r_map;

	while (lm && lm->l_next)
		lm = lm->l_next;
	return lm;
}

/*
 * For a name without '/', ld.so searches the caller's RPATH/RUNPATH first; a
 * DEEPBIND load is not a tail call (the rebinding follows it), so the search
 * is made here with the caller's directories (dlinfo RTLD_DI_SERINFO), and
 * what it does not find is left to ld.so's own (its cache, the system
 * directories). FOUND gets the first existing DIR/FILE.
 */
static bool caller_search(const void *caller, const char *file, char *found)
{
	struct link_map *lm = NULL;
	Dl_info info;
	Dl_serinfo size;

	if (!dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm ||
	    dlinfo(lm, RTLD_DI_SERINFOSIZE, &size) != 0 || size.dls_size > 65536)
		return false;
	{
		union {
			Dl_serinfo si;
			char room[65536];
		} u;

		u.si = size;
		if (dlinfo(lm, RTLD_DI_SERINFO, &u.si) != 0)
			return false;
		for (unsigned i = 0; i < u.si.dls_cnt; i++) {
			int n = snprintf(found, PATH_MAX, "%s/%s", u.si.dls_serpath[i].dls_name, file);

			if (n > 0 && n < PATH_MAX && sys_faccessat2(AT_FDCWD, found, F_OK, 0) == 0)
				return true;
		}
	}
	return false;
}

/* dlopen(FILE, MODE) with RTLD_DEEPBIND, for CALLER: load, then rebind what came. */
__attribute__((noinline)) static void *dlopen_deep(const char *file, int mode, const void *caller)
{
	char real[PATH_MAX], found[PATH_MAX];
	struct link_map *tail, *lm;
	const char *load = file;
	void *h;
	int saved;

	saved = errno;
	if (union_file(file, real))
		load = real;
	else if (file && !strchr(file, '/') && !(mode & RTLD_NOLOAD) &&
		 caller_search(caller, file, found))
		load = union_file(found, real) ? real : found;
	tail = last_object();
	h = REAL(dlopen)(load, mode);
	if (!h)
		return NULL;
	for (lm = tail ? tail->l_next : NULL; lm; lm = lm->l_next)
		rebind_object(lm, h);
	errno = saved;
	return h;
}

AUFS_EXPORT void *dlopen(const char *file, int mode)
{
	/* with no union, a tail call as below: ld.so sees the caller */
	if ((mode & RTLD_DEEPBIND) && shim_enter(NULL))
		return dlopen_deep(file, mode, __builtin_return_address(0));
	if (!maybe_union_file(file))
		return REAL(dlopen)(file, mode);
	return dlopen_union(file, mode);
}

__attribute__((noinline)) static void *dlmopen_union(Lmid_t lmid, const char *file, int mode)
{
	char real[PATH_MAX];
	void *h;
	int saved;

	if (!shim_enter(&saved) || !union_file(file, real))
		return REAL(dlmopen)(lmid, file, mode);
	h = REAL(dlmopen)(lmid, real, mode);
	if (h)
		errno = saved;
	return h;
}

AUFS_EXPORT void *dlmopen(Lmid_t lmid, const char *file, int mode)
{
	if (!maybe_union_file(file))
		return REAL(dlmopen)(lmid, file, mode);
	return dlmopen_union(lmid, file, mode);
}
