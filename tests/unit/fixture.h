/* SPDX-License-Identifier: MIT */
/*
 * fixture.h - the fixture the fault-injection suites share (check_copyup.c,
 * check_rename.c, check_whiteout.c, check_policy.c, check_shm.c): the tree
 * layout of check_lookup.c (a mkdtemp() directory per test case, removed by an
 * unchecked fixture even when a forked test crashes, a directory per test,
 * layouts of space-separated entries - "p/" a directory, "p->target" a symlink,
 * anything else a file holding its own entry text - and '@' for the test's
 * directory), plus what a fault sweep compares: snapshots of a real tree and of
 * the union's view, and the count of open descriptors.
 */
#ifndef AUFS_TEST_FIXTURE_H
#define AUFS_TEST_FIXTURE_H

#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "aufs/core.h"
#include "internal.h"

extern char fx_root[PATH_MAX];	/* of the test case */
extern char fx_dir[PATH_MAX];	/* of the test (or of one round of a sweep) */
extern struct aufs_config fx_cfg;

/* tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown) */
void fx_case_setup(void);
void fx_case_teardown(void);
/* tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown) */
void fx_test_setup(void);
void fx_test_teardown(void);
/* A new test directory and an empty configuration (a sweep's next round). */
void fx_fresh(void);
/* Remove the shared states whose mount point is DIR or below. */
void fx_remove_states(const char *dir);

/* snprintf that fails the test instead of truncating. */
__attribute__((format(printf, 3, 4))) void fx_fmt(char *buf, size_t size, const char *f, ...);
/* '@' expanded to fx_dir (rotating buffers). */
const char *fx_ex(const char *t);
/* fx_dir/REL (rotating buffers). */
const char *fx_at(const char *rel);
void fx_build(const char *layout);
void fx_put(const char *rel, const char *content, unsigned mode);
/* Parse OPTS at MNT (templates), add it to fx_cfg; the union. */
struct aufs_union *fx_add_union(const char *opts, const char *mnt);
/* fx_build(LAYOUT), the union OPTS at @/mnt, published. */
struct aufs_union *fx_start(const char *layout, const char *opts);

/* Entries of /proc/self/fd. */
int fx_count_fds(void);
/*
 * The real tree under fx_dir/REL as sorted lines "path type mode uid gid size
 * content" (no times, no link counts, no inode numbers: what a sweep compares).
 * Names listed in IGNORE (NULL-terminated base names) are left out, and so are the
 * links to shared states (AUFS_SHM_LINK_PREFIX). Allocated.
 */
char *fx_snapshot(const char *rel, const char *const *ignore);
/* The union's view of fx_dir/mnt, read through the core, in the same form. */
char *fx_view(void);
/* The lines of A missing from B, for messages (allocated, maybe ""). */
char *fx_minus(const char *a, const char *b);
/* Is every line of A in B? */
bool fx_subset(const char *a, const char *b);

#endif /* AUFS_TEST_FIXTURE_H */
