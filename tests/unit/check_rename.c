/* SPDX-License-Identifier: MIT */
/*
 * check_rename.c - unit tests of the renames and removals of src/core/ops_namespace.c under
 * injected faults (include/aufs/fault.h): rename of a file of the read-only
 * branch (copy-up, then a whiteout of the old name, then the rename, whose
 * failure takes the whiteout back), within a directory, into another one and
 * over a lower file; rmdir of a directory that is logically empty because
 * whiteouts hide everything its lower copy holds, of one that hides a lower
 * copy of its name (opaque, or over a file), and of one holding the temporary
 * of an earlier rmdir; a directory renamed onto one the union shows empty,
 * RENAME_EXCHANGE with a lower file; mkdir over a whiteout (a temporary
 * directory with its opaque marker, renamed into place) and a directory renamed
 * onto a whited-out name (made opaque before it moves).
 *
 * For N = 1, 2, ... the Nth raw call fails until the operation runs without
 * meeting the fault. After every round the union shows exactly what it showed
 * before or exactly what a fault-free run shows, never a mixture; the read-only
 * branch is byte-for-byte untouched; the writable branch holds nothing beyond
 * the end state it shows but exact copies of lower objects (a copy-up that
 * succeeded before the failure, as aufs keeps it too) and the leftovers
 * documented at documented_leftover(); no copy-up temporary is left; no
 * descriptor leaked; and an operation that reports success is done.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aufs/fault.h"
#include "fixture.h"

Suite *rename_suite(void);

static const char *const ignore[] = { ".wh..wh.aufs", NULL };

/* The TO of a case that makes FROM with mkdir. */
static const char MKDIR[] = "mkdir";

struct rcase {
	const char *name;
	const char *layout;
	const char *from;
	const char *to;		/* NULL: rmdir FROM; "": unlink it; MKDIR: mkdir it */
	unsigned flags;		/* of renameat2 */
};

static const struct rcase cases[] = {
	{ "rename base file in its dir", "b/d/f b/d/g t/x", "@/mnt/d/f", "@/mnt/d/h", 0 },
	{ "rename base file to another dir", "b/d/f b/e/g", "@/mnt/d/f", "@/mnt/e/h", 0 },
	{ "rename base file over a base file", "b/d/f b/d/g", "@/mnt/d/f", "@/mnt/d/g", 0 },
	{ "rename base file, noreplace", "b/d/f", "@/mnt/d/f", "@/mnt/d/h", 1 /* NOREPLACE */ },
	{ "rename base file onto a whiteout", "b/d/f b/d/h t/d/.wh.h", "@/mnt/d/f", "@/mnt/d/h",
	  0 },
	{ "rename top file over a base file", "t/d/f b/d/f b/d/g", "@/mnt/d/f", "@/mnt/d/g", 0 },
	/* the new name's top copy left to the rename there (AUFS_RESOLVE_REPLACE) */
	{ "rename base file over a top file", "b/d/f t/d/g", "@/mnt/d/f", "@/mnt/d/g", 0 },
	{ "rename base file onto a stale whiteout", "b/d/f t/d/.wh.g", "@/mnt/d/f", "@/mnt/d/g",
	  0 },
	{ "rename base file over a top file over a base file", "b/d/f b/d/g t/d/g", "@/mnt/d/f",
	  "@/mnt/d/g", 0 },
	{ "rmdir of a dir of whiteouts",
	  "b/d/a b/d/b b/d/c t/d/.wh.a t/d/.wh.b t/d/.wh.c t/x", "@/mnt/d", NULL, 0 },
	{ "rmdir of an opaque dir", "b/d/a b/d/b t/d/.wh..wh..opq", "@/mnt/d", NULL, 0 },
	{ "rmdir of a base-only empty dir", "b/d/ b/e", "@/mnt/d", NULL, 0 },
	{ "unlink of a base file", "b/d/f b/d/g", "@/mnt/d/f", "", 0 },
	{ "rmdir of a top dir over a base file", "b/x b/k t/x/", "@/mnt/x", NULL, 0 },
	{ "rmdir of an opaque dir over an empty base dir", "b/e/ b/k t/e/.wh..wh..opq", "@/mnt/e",
	  NULL, 0 },
	{ "rmdir of a dir holding an old rmdir temporary",
	  "b/d/a t/d/.wh.a t/d/.wh..wh.rmdir.1.0/.wh.x t/d/.wh..wh.rmdir.1.0/.wh..wh..opq",
	  "@/mnt/d", NULL, 0 },
	{ "rename a top dir onto an emptied base dir",
	  "b/d/a b/d/b t/d/.wh.a t/d/.wh.b t/n/x", "@/mnt/n", "@/mnt/d", 0 },
	{ "rename a top dir onto a base-only empty dir", "b/d/ b/k t/n/x", "@/mnt/n", "@/mnt/d",
	  0 },
	{ "exchange a top dir and a base file", "b/f t/n/x", "@/mnt/n", "@/mnt/f",
	  2 /* EXCHANGE */ },
	/* made under a temporary name with its opaque marker, then renamed into place */
	{ "mkdir over a whiteout", "b/d/a b/d/s/b t/.wh.d t/x", "@/mnt/d", MKDIR, 0 },
	{ "mkdir over a whiteout in a merged dir", "b/p/d/a t/p/.wh.d t/p/y", "@/mnt/p/d", MKDIR,
	  0 },
	{ "rename a top dir onto a whited-out name", "b/d/a t/.wh.d t/n/x", "@/mnt/n", "@/mnt/d",
	  0 },
};
#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

struct fault {
	int sysno;
	int err;
};

static const struct fault faults[] = {
	{ AUFS_FAULT_ANY, EIO },
	{ AUFS_FAULT_ANY, ENOSPC },
	{ SYS_renameat2, EXDEV },	/* the copy-up's publication, then the rename itself */
	{ SYS_linkat, EMLINK },		/* whiteouts fall back to plain files */
	{ SYS_unlinkat, EIO },		/* the undo paths and the emptying of a directory */
	{ SYS_renameat2, EINVAL },	/* no RENAME_NOREPLACE: the fallbacks */
	{ SYS_mkdirat, EEXIST },	/* a temporary's name taken */
};
#define NFAULTS ((int)(sizeof(faults) / sizeof(faults[0])))

static int run(const struct rcase *c)
{
	if (!c->to)
		return aufs_unlinkat(AT_FDCWD, fx_ex(c->from), AT_REMOVEDIR);
	if (!*c->to)
		return aufs_unlinkat(AT_FDCWD, fx_ex(c->from), 0);
	if (c->to == MKDIR)
		return aufs_mkdirat(AT_FDCWD, fx_ex(c->from), 0750);
	return aufs_renameat2(AT_FDCWD, fx_ex(c->from), AT_FDCWD, fx_ex(c->to), c->flags);
}

static void setup_case(const struct rcase *c)
{
	fx_start(c->layout, "br:@/t=rw:@/b=ro");
}

/* Every line of EXTRA is an exact copy of an object of the read-only branch. */
static void assert_copies(const struct rcase *c, unsigned n, const char *extra, const char *b)
{
	char *bad = fx_minus(extra, b);

	ck_assert_msg(!*bad, "%s, round %u: the rw branch holds more than copies:\n%s", c->name,
		      n, bad);
	free(bad);
}

/* Has the snapshot S a line starting with WANT ("\nPATH ...")? */
static bool has_line(const char *s, const char *want)
{
	return !strncmp(s, want + 1, strlen(want + 1)) || strstr(s, want);
}

/*
 * Is LINE (of the rw branch T) one of the documented leftovers a fault may leave
 * in the new state? A directory an rmdir moved aside but could not empty (its
 * ".wh..wh.rmdir." name is never listed); the whiteout of a name the same
 * branch holds (its removal failed; it only hides lower copies of that name,
 * which the branch's own entry hides anyway); a marker that hides nothing,
 * made because a probe of the read-only branch B failed and a failed probe
 * counts as "it is there": the whiteout of a name B does not hold, the opaque
 * marker of a directory B does not hold.
 */
static bool documented_leftover(const char *line, size_t len, const char *t, const char *b)
{
	char *l = strndup(line, len), *sp = strchr(l, ' '), *base, want[PATH_MAX + 2];
	bool ok = false;

	*sp = 0;
	base = strrchr(l, '/') ? strrchr(l, '/') + 1 : l;
	if (strstr(l, ".wh..wh.rmdir.")) {
		ok = true;
	} else if (!strcmp(base, ".wh..wh..opq")) {
		fx_fmt(want, sizeof(want), "\n%.*s d ", base > l ? (int)(base - l) - 1 : 0, l);
		ok = base > l && !has_line(b, want);
	} else if (!strncmp(base, ".wh.", 4)) {
		/* a line of T (or not of B) starting with "DIR/NAME " */
		fx_fmt(want, sizeof(want), "\n%.*s%s ", (int)(base - l), l, base + 4);
		ok = has_line(t, want) || !has_line(b, want);
	}
	free(l);
	return ok;
}

/* EXTRA without its documented leftovers, in place. */
static void drop_leftovers(char *extra, const char *t, const char *b)
{
	char *q = extra;

	for (char *p = extra; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = (size_t)(nl - p) + 1;

		if (!documented_leftover(p, n - 1, t, b)) {
			memmove(q, p, n);
			q += n;
		}
		p += n;
	}
	*q = 0;
}

static void sweep(const struct rcase *c, const struct fault *f)
{
	char *old_t, *old_b, *old_v, *new_t, *new_v, *t, *b, *v;
	unsigned n, failed_runs = 0;
	int r, fds;

	setup_case(c);
	old_t = fx_snapshot("t", ignore);
	old_b = fx_snapshot("b", NULL);
	old_v = fx_view();
	r = run(c);
	ck_assert_msg(r == 0, "%s without faults: %d", c->name, r);
	new_t = fx_snapshot("t", ignore);
	new_v = fx_view();
	ck_assert_msg(strcmp(old_v, new_v), "%s: the union did not change", c->name);

	for (n = 1;; n++) {
		unsigned long fired;

		ck_assert_msg(n < 2000, "%s: the sweep does not end", c->name);
		fx_fresh();
		setup_case(c);
		fds = fx_count_fds();
		aufs_fault_set(f->sysno, n, f->err);
		r = run(c);
		fired = aufs_fault_fired();
		aufs_fault_clear();

		ck_assert_msg(fx_count_fds() == fds, "%s, round %u: %d fds leaked (r = %d)",
			      c->name, n, fx_count_fds() - fds, r);
		t = fx_snapshot("t", ignore);
		b = fx_snapshot("b", NULL);
		v = fx_view();
		ck_assert_msg(!strcmp(b, old_b), "%s, round %u: the ro branch changed", c->name, n);
		ck_assert_msg(!strstr(t, ".wh..wh.cpup") && !strstr(t, ".wh..wh.mkdir"),
			      "%s, round %u: a temporary is left:\n%s", c->name, n, t);
		if (!fired) {
			ck_assert_msg(r == 0, "%s: no fault met, yet %d", c->name, r);
			ck_assert_str_eq(t, new_t);
			ck_assert_str_eq(v, new_v);
			free(t), free(b), free(v);
			break;
		}
		failed_runs++;
		if (!strcmp(v, new_v)) {
			char *extra = fx_minus(t, new_t), *gone = fx_minus(new_t, t);

			ck_assert_msg(!*gone, "%s, round %u: new view, the rw branch lacks:\n%s",
				      c->name, n, gone);
			drop_leftovers(extra, t, b);
			assert_copies(c, n, extra, b);
			free(extra), free(gone);
		} else {
			char *extra = fx_minus(t, old_t), *gone = fx_minus(old_t, t);

			ck_assert_msg(!strcmp(v, old_v),
				      "%s, round %u (r = %d): the union shows a mixture; new:\n%s"
				      "missing:\n%s", c->name, n, r, fx_minus(v, old_v),
				      fx_minus(old_v, v));
			ck_assert_msg(r < 0, "%s, round %u: success, but nothing changed", c->name,
				      n);
			ck_assert_msg(!*gone, "%s, round %u: old view, the rw branch lacks:\n%s",
				      c->name, n, gone);
			assert_copies(c, n, extra, b);
			free(extra), free(gone);
		}
		free(t), free(b), free(v);
	}
	ck_assert_msg(failed_runs > 0 || f->sysno != AUFS_FAULT_ANY, "%s: no round failed",
		      c->name);
	free(old_t), free(old_b), free(old_v), free(new_t), free(new_v);
}

START_TEST(test_sweep)
{
	sweep(&cases[_i / NFAULTS], &faults[_i % NFAULTS]);
}
END_TEST

Suite *rename_suite(void)
{
	Suite *s = suite_create("rename");
	TCase *tc = tcase_create("faults");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_loop_test(tc, test_sweep, 0, NCASES * NFAULTS);
	suite_add_tcase(s, tc);
	return s;
}
