/* SPDX-License-Identifier: MIT */
/*
 * check_shcache.c - udba=none's shared lookup cache (src/core/state_shcache.c) on a
 * mapping of the shared state's size made here: what one process publishes another
 * reads back whole; a slot a writer left half written (killed), a torn slot and a
 * forged one are never trusted; a full table overwrites and never answers for another
 * name; a read-only mapping is never written; concurrent writers and readers never
 * show a torn entry.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "fixture.h"

Suite *shcache_suite(void);

static struct aufs_union *un, *other;
static struct aufs_shm *shm;

static struct aufs_union *parse(const char *opts)
{
	struct aufs_union *u = NULL;
	struct aufs_err err;

	ck_assert_msg(aufs_union_parse(opts, "/mnt", &u, &err) == 0, "%s", err.msg);
	return u;
}

static void setup(void)
{
	shm = mmap(NULL, AUFS_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	ck_assert_ptr_ne(shm, MAP_FAILED);
	un = parse("br:/tmp=rw:/usr=ro,udba=none");
	other = parse("br:/var/tmp=rw:/tmp=rw:/usr=ro,udba=none");	/* same mount, another list */
	atomic_store(&un->shm, (uintptr_t)shm);
	atomic_store(&other->shm, (uintptr_t)shm);
}

static void teardown(void)
{
	atomic_store(&un->shm, 0);
	atomic_store(&other->shm, 0);
	aufs_union_free(un);
	aufs_union_free(other);
	munmap(shm, AUFS_SHM_SIZE);
}

static struct shc_entry file_in(int branch, uint32_t tag)
{
	return (struct shc_entry){ .gen = 7, .pgen = tag, .sgen = tag + 1, .until = UINT64_MAX,
				   .branch = branch, .cut = -1, .type = DT_REG,
				   .diuid = tag, .digid = tag };
}

/* The one slot in use: its words. */
static _Atomic uint64_t *used_slot(void)
{
	_Atomic uint64_t *t = (_Atomic uint64_t *)((char *)shm + AUFS_SHC_OFFSET), *found = NULL;

	for (int i = 0; i < AUFS_SHC_SLOTS; i++) {
		if (atomic_load(&t[(size_t)i * AUFS_SHC_WORDS])) {
			ck_assert_ptr_null(found);
			found = &t[(size_t)i * AUFS_SHC_WORDS];
		}
	}
	ck_assert_ptr_nonnull(found);
	return found;
}

START_TEST(test_roundtrip)
{
	struct shc_entry e = { .gen = 9, .pgen = 3, .sgen = 4, .until = 123456789, .branch = 1,
			       .cut = -1, .type = DT_DIR, .restricted = true, .diflags = 3,
			       .dimode = 0755, .diuid = 1000, .digid = 33,
			       .mask = MASK_BIT(1) }, got;
	struct shc_entry miss = { .gen = 9, .branch = -1, .cut = 0, .type = DT_UNKNOWN };

	ck_assert(!shcache_get(shm, un, "a/b", 3, &got));
	shcache_put(un, "a/b", 3, &e);
	ck_assert(shcache_get(shm, un, "a/b", 3, &got));
	/* field by field: a memcmp would read the padding, which a get leaves unset */
	ck_assert(got.gen == 9 && got.pgen == 3 &&
		  got.sgen == 4 && got.until == 123456789 && got.branch == 1 && got.cut == -1 &&
		  got.type == DT_DIR && got.restricted && !got.alone && got.diflags == 3 &&
		  got.dimode == 0755 && got.diuid == 1000 && got.digid == 33 &&
		  got.mask == MASK_BIT(1));
	/* another name, a prefix of it, another branch list of the same mount point */
	ck_assert(!shcache_get(shm, un, "a/c", 3, &got));
	ck_assert(!shcache_get(shm, un, "a/b", 1, &got));
	ck_assert(!shcache_get(shm, other, "a/b", 3, &got));
	/* a miss with the whiteout that cuts it, and the same name overwritten in place */
	shcache_put(un, "a/n", 3, &miss);
	ck_assert(shcache_get(shm, un, "a/n", 3, &got));
	ck_assert_int_eq(got.branch, -1);
	ck_assert_int_eq(got.cut, 0);
	e.gen = 10;
	shcache_put(un, "a/b", 3, &e);
	ck_assert(shcache_get(shm, un, "a/b", 3, &got));
	ck_assert_uint_eq(got.gen, 10);
}
END_TEST

/* A writer killed between its words: the slot is odd for good, and taken over. */
START_TEST(test_killed_writer)
{
	struct shc_entry e = file_in(1, 5), got;
	_Atomic uint64_t *s;

	shcache_put(un, "f", 1, &e);
	s = used_slot();
	atomic_fetch_add(&s[0], 1);	/* odd: as left by a writer that died */
	ck_assert(!shcache_get(shm, un, "f", 1, &got));
	e = file_in(0, 6);
	shcache_put(un, "f", 1, &e);
	ck_assert(shcache_get(shm, un, "f", 1, &got));
	ck_assert_int_eq(got.branch, 0);
	ck_assert_uint_eq(got.diuid, 6);
}
END_TEST

/* Words of another writer over a whole slot (seq unchanged): the check refuses it. */
START_TEST(test_torn_slot)
{
	struct shc_entry e = file_in(1, 5), got;
	_Atomic uint64_t *s;

	for (int w = 2; w < AUFS_SHC_WORDS; w++) {
		shcache_put(un, "f", 1, &e);
		s = used_slot();
		ck_assert(shcache_get(shm, un, "f", 1, &got));
		atomic_fetch_xor(&s[w], 1ull << (w * 5 % 64));
		ck_assert_msg(!shcache_get(shm, un, "f", 1, &got), "word %d", w);
		memset((void *)s, 0, AUFS_SHC_WORDS * 8);
	}
}
END_TEST

/* The segment's owner may write anything: what makes no sense for the union is no answer. */
START_TEST(test_forged_entries)
{
	struct shc_entry bad[] = {
		file_in(2, 1),					/* a third branch of two */
		{ .branch = 0, .cut = -1, .type = 99 },		/* no such type */
		{ .branch = 0, .cut = -1, .type = DT_REG, .mask = MASK_BIT(0) },
		{ .branch = 1, .cut = -1, .type = DT_DIR, .mask = MASK_BIT(0) },
		{ .branch = 0, .cut = -1, .type = DT_DIR, .mask = MASK_BIT(0) | MASK_BIT(5) },
		{ .branch = -1, .cut = -1, .type = DT_UNKNOWN, .mask = MASK_BIT(1) },
		{ .branch = -1, .cut = 4, .type = DT_UNKNOWN },
		{ .branch = 0, .cut = 1, .type = DT_REG },
	};
	struct shc_entry got;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		shcache_put(un, "x", 1, &bad[i]);
		ck_assert_msg(!shcache_get(shm, un, "x", 1, &got), "case %zu", i);
	}
}
END_TEST

/* Three times more names than slots: a name is answered for by its own entry or not at all. */
START_TEST(test_full_table)
{
	char name[32];
	unsigned hits = 0, n = 3 * AUFS_SHC_SLOTS;
	struct shc_entry e, got;

	for (unsigned i = 0; i < n; i++) {
		e = file_in((int)(i & 1), i);
		shcache_put(un, name, (size_t)snprintf(name, sizeof(name), "d/%u", i), &e);
	}
	for (unsigned i = 0; i < n; i++) {
		if (!shcache_get(shm, un, name, (size_t)snprintf(name, sizeof(name), "d/%u", i),
				 &got))
			continue;
		ck_assert_uint_eq(got.diuid, i);
		ck_assert_int_eq(got.branch, (int)(i & 1));
		hits++;
	}
	ck_assert_uint_le(hits, AUFS_SHC_SLOTS);
	ck_assert_uint_ge(hits, AUFS_SHC_SLOTS / 2);	/* most slots keep some name */
}
END_TEST

/* A process that maps the state read-only never writes it (a write would fault here). */
START_TEST(test_read_only)
{
	struct shc_entry e = file_in(1, 5), got;

	shcache_put(un, "f", 1, &e);
	ck_assert_int_eq(mprotect(shm, AUFS_SHM_SIZE, PROT_READ), 0);
	atomic_store(&un->shm, (uintptr_t)shm | AUFS_SHM_RDONLY);
	e = file_in(0, 6);
	shcache_put(un, "f", 1, &e);
	shcache_put(un, "g", 1, &e);
	ck_assert(shcache_get(shm, un, "f", 1, &got));
	ck_assert_uint_eq(got.diuid, 5);
	ck_assert(!shcache_get(shm, un, "g", 1, &got));
	ck_assert_int_eq(mprotect(shm, AUFS_SHM_SIZE, PROT_READ | PROT_WRITE), 0);
}
END_TEST

/* Writers racing on a few names, readers checking that every hit is one writer's entry. */
static _Atomic bool stop;

static void *writer(void *arg)
{
	uint32_t t = (uint32_t)(uintptr_t)arg, v = 0;

	while (!atomic_load(&stop)) {
		struct shc_entry e = file_in((int)(v & 1), (t << 24) | v);

		e.until = (uint64_t)e.diuid * 3;
		shcache_put(un, (v & 2) ? "p" : "q", 1, &e);
		v = (v + 1) & 0xffffff;
	}
	return NULL;
}

static void *reader(void *arg)
{
	unsigned long *hits = arg;
	struct shc_entry got;

	for (int i = 0; i < 100000; i++) {
		if (!shcache_get(shm, un, (i & 1) ? "p" : "q", 1, &got))
			continue;
		ck_assert_uint_eq(got.digid, got.diuid);
		ck_assert_uint_eq(got.pgen, got.diuid);
		ck_assert_uint_eq(got.until, (uint64_t)got.diuid * 3);
		ck_assert_int_eq(got.branch, (int)(got.diuid & 1));
		(*hits)++;
	}
	return NULL;
}

START_TEST(test_concurrent)
{
	pthread_t w[2], r[2];
	unsigned long hits[2] = { 0, 0 };

	atomic_store(&stop, false);
	for (uintptr_t i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&w[i], NULL, writer, (void *)(i + 1)), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&r[i], NULL, reader, &hits[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	ck_assert_uint_gt(hits[0] + hits[1], 0);
}
END_TEST

Suite *shcache_suite(void)
{
	Suite *s = suite_create("shcache");
	TCase *tc = tcase_create("shared lookup cache");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_killed_writer);
	tcase_add_test(tc, test_torn_slot);
	tcase_add_test(tc, test_forged_entries);
	tcase_add_test(tc, test_full_table);
	tcase_add_test(tc, test_read_only);
	tcase_add_test(tc, test_concurrent);
	suite_add_tcase(s, tc);
	return s;
}
