/* SPDX-License-Identifier: MIT */
/*
 * check_config.c - unit tests of src/core/state_config.c: the aufs option string,
 * the checks between unions of one configuration, fstab text and files, and
 * the format -> parse round trip.
 *
 * Branch directories live under a mkdtemp() tree made once per test case (an
 * unchecked fixture, so that it is built and removed in the runner's process
 * even when a forked test crashes). In option templates '@' stands for that
 * tree's root followed by '/'.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* mkdtemp, dprintf, strtok_r: the Makefile passes it too */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aufs/core.h"

/* ---------------------------------------------------------------- fixture */

static char root[256];	/* a mkdtemp() name: short, and the format checks know it */

static void mk(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_msg(mkdir(p, 0755) == 0, "mkdir %s: %s", p, strerror(errno));
}

static void write_file(const char *rel, const char *text, size_t len)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "open %s: %s", p, strerror(errno));
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Branch names with every character the option syntax or fstab gives a meaning. */
static const char *const odd_names[] = {
	"sp ace", "co,mma", "co:lon", "eq=ual", "back\\slash", "tab\tx", "nl\nx", "hash#x",
	"pl+us", "oct\\040al",
};

static void setup(void)
{
	char tmpl[] = "/tmp/aufs-check-config-XXXXXX";
	char p[PATH_MAX], *canon;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	/* Canonical, so that expected branch paths match even if /tmp is a symlink. */
	canon = realpath(tmpl, NULL);
	ck_assert_ptr_nonnull(canon);
	ck_assert_uint_lt(strlen(canon), sizeof(root));
	strcpy(root, canon);
	free(canon);
	mk("a");
	mk("a/sub");
	mk("b");
	mk("c");
	mk("m");
	mk("m/x");
	write_file("f", "", 0);
	snprintf(p, sizeof(p), "%s/link", root);
	ck_assert_int_eq(symlink("a", p), 0);
	for (size_t i = 0; i < sizeof(odd_names) / sizeof(odd_names[0]); i++)
		mk(odd_names[i]);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

static void teardown(void)
{
	if (root[0])
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	root[0] = 0;
}

/* Expand '@' to "ROOT/"; a few rotating buffers so that calls can be nested in one expression. */
static const char *ex(const char *t)
{
	static char buf[8][16384];
	static int next;
	char *out = buf[next++ % 8];
	size_t n = 0, rl = strlen(root);

	for (; *t; t++) {
		if (*t == '@') {
			ck_assert(n + rl + 2 < sizeof(buf[0]));
			memcpy(out + n, root, rl);
			n += rl;
			out[n++] = '/';
		} else {
			ck_assert(n + 2 < sizeof(buf[0]));
			out[n++] = *t;
		}
	}
	out[n] = 0;
	return out;
}

/* ROOT/rel */
static const char *under(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *out = buf[next++ % 4];

	snprintf(out, PATH_MAX, "%s/%s", root, rel);
	return out;
}

static struct aufs_union *parse_ok(const char *tmpl, const char *mnt)
{
	struct aufs_union *u = NULL;
	struct aufs_err err;
	int r = aufs_union_parse(ex(tmpl), mnt, &u, &err);

	ck_assert_msg(r == 0, "parse \"%s\": %d %s", ex(tmpl), r, err.msg);
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(err.code, 0);
	return u;
}

/* Every field that parsing sets; dev/ino included, they are read again. */
static void assert_same_union(const struct aufs_union *a, const struct aufs_union *b)
{
	ck_assert_str_eq(a->mnt, b->mnt);
	ck_assert_uint_eq(a->mnt_len, b->mnt_len);
	ck_assert_int_eq(a->nbranch, b->nbranch);
	for (int i = 0; i < a->nbranch; i++) {
		ck_assert_str_eq(a->branch[i].path, b->branch[i].path);
		ck_assert_uint_eq(a->branch[i].len, b->branch[i].len);
		ck_assert_int_eq(a->branch[i].perm, b->branch[i].perm);
		ck_assert_uint_eq(a->branch[i].attr, b->branch[i].attr);
		ck_assert_uint_eq(a->branch[i].dev, b->branch[i].dev);
		ck_assert_uint_eq(a->branch[i].ino, b->branch[i].ino);
	}
	ck_assert_uint_eq(a->opts.flags, b->opts.flags);
	ck_assert_int_eq(a->opts.udba, b->opts.udba);
	ck_assert_int_eq(a->opts.create, b->opts.create);
	ck_assert_uint_eq(a->opts.create_sec, b->opts.create_sec);
	ck_assert_uint_eq(a->opts.create_low, b->opts.create_low);
	ck_assert_int_eq(a->opts.cpup, b->opts.cpup);
	ck_assert_int_eq(a->opts.coo, b->opts.coo);
	ck_assert_uint_eq(a->opts.dirwh, b->opts.dirwh);
	ck_assert_pstr_eq(a->opts.xino, b->opts.xino);
}

/* Format U, read the line back through the fstab parser, compare. */
static void assert_round_trip(const struct aufs_union *u)
{
	struct aufs_config cfg;
	struct aufs_err err;
	char line[16384];
	int n, r;

	n = aufs_union_format(u, line, sizeof(line));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(line), (size_t)n);
	ck_assert_ptr_null(strchr(line, '\n'));
	aufs_config_init(&cfg);
	r = aufs_config_parse_fstab(&cfg, line, "roundtrip", &err);
	ck_assert_msg(r == 0, "\"%s\": %d %s", line, r, err.msg);
	ck_assert_int_eq(cfg.nunion, 1);
	assert_same_union(u, cfg.unions[0]);
	aufs_config_release(&cfg);
}

/* ---------------------------------------------------------------- valid option strings */

#define D  (AUFS_OPT_PLINK | AUFS_OPT_WARN_PERM)
#define TD AUFS_CREATE_TDP
#define RV AUFS_UDBA_REVAL

struct valid_case {
	const char *opts;
	const char *perms;	/* per branch; the branches are @a, @b, @c in that order */
	unsigned flags;
	enum aufs_udba udba;
	enum aufs_create_policy create;
	unsigned sec;
	unsigned long long low;
	enum aufs_cpup_policy cpup;
	enum aufs_coo coo;
	unsigned dirwh;
	const char *xino;
};

#define V(o, p, fl, ud, cr, sec, low, cp, coo, dw, x) \
	{ o, p, fl, ud, cr, sec, low, cp, coo, dw, x }
#define DEF(o, p) V(o, p, D, RV, TD, 30, 0, AUFS_CPUP_TDP, AUFS_COO_NONE, 3, NULL)
#define FL(o, fl) V(o, "rw", fl, RV, TD, 30, 0, AUFS_CPUP_TDP, AUFS_COO_NONE, 3, NULL)
#define UD(o, ud) V(o, "rw", D, ud, TD, 30, 0, AUFS_CPUP_TDP, AUFS_COO_NONE, 3, NULL)
#define CR(o, cr, sec, low) V(o, "rw", D, RV, cr, sec, low, AUFS_CPUP_TDP, AUFS_COO_NONE, 3, NULL)
#define CP(o, cp) V(o, "rw", D, RV, TD, 30, 0, cp, AUFS_COO_NONE, 3, NULL)
#define CO(o, coo) V(o, "rw", D, RV, TD, 30, 0, AUFS_CPUP_TDP, coo, 3, NULL)
#define DW(o, dw) V(o, "rw", D, RV, TD, 30, 0, AUFS_CPUP_TDP, AUFS_COO_NONE, dw, NULL)
#define XI(o, fl, x) V(o, "rw", fl, RV, TD, 30, 0, AUFS_CPUP_TDP, AUFS_COO_NONE, 3, x)

static const struct valid_case valid_cases[] = {
	/* Branch lists, permissions, attributes and their defaults. */
	DEF("br:@a", "rw"),
	DEF("br:@a:@b", "rw,ro"),
	DEF("br:@a:@b:@c", "rw,ro,ro"),
	DEF("dirs=@a:@b", "rw,ro"),
	DEF("br=@a:@b", "rw,ro"),
	DEF("br:@a=ro:@b=rw", "ro,rw"),
	DEF("br:@a=rw:@b=rw:@c=rw", "rw,rw,rw"),
	DEF("br:@a=rr", "rr"),
	DEF("br:@a=rw+nolwh:@b=ro+wh:@c=rr+wh", "rw+nolwh,ro+wh,rr+wh"),
	DEF("br:@a:@b=ro+wh", "rw,ro+wh"),
	DEF("br:@a/:@b//:@c/.", "rw,ro,ro"),
	DEF("br:@a/sub/..:@b", "rw,ro"),
	DEF("br:@link:@b", "rw,ro"),		/* the symlink resolves to @a */
	DEF("br:@a,", "rw"),			/* empty items are skipped */
	DEF(",,br:@a,,", "rw"),
	DEF("br:@a,dlgt,nodlgt", "rw"),		/* accepted and ignored */
	/* udba */
	UD("udba=none,br:@a", AUFS_UDBA_NONE),
	UD("br:@a,udba=inotify", AUFS_UDBA_INOTIFY),
	UD("br:@a,udba=reval", AUFS_UDBA_REVAL),
	UD("br:@a,udba=none,udba=reval", AUFS_UDBA_REVAL),
	/* create policies */
	CR("br:@a,create=tdp", TD, 30, 0),
	CR("br:@a,create=top-down-parent", TD, 30, 0),
	CR("br:@a,create=rr", AUFS_CREATE_RR, 30, 0),
	CR("br:@a,create=round-robin", AUFS_CREATE_RR, 30, 0),
	CR("br:@a,create=mfs", AUFS_CREATE_MFS, 30, 0),
	CR("br:@a,create=mfs:5", AUFS_CREATE_MFS, 5, 0),
	CR("br:@a,create=most-free-space:7", AUFS_CREATE_MFS, 7, 0),
	CR("br:@a,create=mfsrr:1024", AUFS_CREATE_MFSRR, 30, 1024),
	CR("br:@a,create=mfsrr:10m:60", AUFS_CREATE_MFSRR, 60, 10ULL << 20),
	CR("br:@a,create=mfsrr:2k", AUFS_CREATE_MFSRR, 30, 2048),
	CR("br:@a,create=mfsrr:1G:0", AUFS_CREATE_MFSRR, 0, 1ULL << 30),
	CR("br:@a,create=most-free-space-round-robin:3K:9", AUFS_CREATE_MFSRR, 9, 3072),
	CR("br:@a,create=pmfs", AUFS_CREATE_PMFS, 30, 0),
	CR("br:@a,create=pmfs:12", AUFS_CREATE_PMFS, 12, 0),
	CR("br:@a,create=parent-most-free-space:9", AUFS_CREATE_PMFS, 9, 0),
	CR("br:@a,create=mfsrr:5m:5,create=tdp", TD, 30, 0),	/* the last one wins whole */
	CR("br:@a,create_policy=rr", AUFS_CREATE_RR, 30, 0),
	/* copy-up policies */
	CP("br:@a,cpup=tdp", AUFS_CPUP_TDP),
	CP("br:@a,cpup=top-down-parent", AUFS_CPUP_TDP),
	CP("br:@a,cpup=bup", AUFS_CPUP_BUP),
	CP("br:@a,cpup=bottom-up-parent", AUFS_CPUP_BUP),
	CP("br:@a,cpup=bu", AUFS_CPUP_BU),
	CP("br:@a,cpup=bottom-up", AUFS_CPUP_BU),
	CP("br:@a,copyup=bu", AUFS_CPUP_BU),
	CP("br:@a,copyup_policy=bup", AUFS_CPUP_BUP),
	/* coo, dirwh */
	CO("br:@a,coo=none", AUFS_COO_NONE),
	CO("br:@a,coo=leaf", AUFS_COO_LEAF),
	CO("br:@a,coo=all", AUFS_COO_ALL),
	DW("br:@a,dirwh=0", 0),
	DW("br:@a,dirwh=100", 100),
	DW("br:@a,dirwh=4294967295", 4294967295u),
	/* flags */
	FL("br:@a,noplink", AUFS_OPT_WARN_PERM),
	FL("br:@a,noplink,plink", D),
	FL("br:@a,clean_plink", D | AUFS_OPT_CLEAN_PLINK),
	FL("br:@a,diropq=a", D | AUFS_OPT_DIROPQ_A),
	FL("br:@a,diropq=always", D | AUFS_OPT_DIROPQ_A),
	FL("br:@a,diropq=a,diropq=w", D),
	FL("br:@a,diropq=whiteouted", D),
	FL("br:@a,shwh", D | AUFS_OPT_SHWH),
	FL("br:@a,shwh,noshwh", D),
	FL("br:@a,nowarn_perm", AUFS_OPT_PLINK),
	FL("br:@a,nowarn_perm,warn_perm", D),
	FL("br:@a,dirperm1", D | AUFS_OPT_DIRPERM1),
	FL("br:@a,dirperm1,nodirperm1", D),
	FL("br:@a,nodirperm1", D),
	FL("br:@a,verbose", D | AUFS_OPT_VERBOSE),
	FL("br:@a,v", D | AUFS_OPT_VERBOSE),
	FL("br:@a,verbose,quiet", D | AUFS_OPT_QUIET),
	FL("br:@a,q", D | AUFS_OPT_QUIET),
	FL("br:@a,silent", D | AUFS_OPT_QUIET),
	FL("br:@a,noverbose", D | AUFS_OPT_QUIET),
	FL("br:@a,quiet,v", D | AUFS_OPT_VERBOSE),
	FL("br:@a,trunc_xib", D | AUFS_OPT_TRUNC_XIB),
	FL("br:@a,trunc_xib,notrunc_xib", D),
	/* xino */
	XI("br:@a,xino=/tmp/x.xino", D, "/tmp/x.xino"),
	XI("br:@a,xino=/tmp//y/../x/", D, "/tmp/x"),
	XI("br:@a,xino=/tmp/sp\\040ace", D, "/tmp/sp ace"),
	XI("br:@a,noxino", D | AUFS_OPT_NOXINO, NULL),
	XI("br:@a,xino=/x,noxino", D | AUFS_OPT_NOXINO, NULL),
	XI("br:@a,noxino,xino=/x", D, "/x"),
	/* everything at once, options on both sides of the branch list */
	V("udba=none,create=mfsrr:1k:10,br:@a=rw:@b=ro+wh:@c,cpup=bu,noplink,dirwh=7,"
	  "diropq=a,coo=all,shwh,nowarn_perm,verbose,xino=/dev/shm/x,trunc_xib,clean_plink,"
	  "dirperm1",
	  "rw,ro+wh,ro",
	  AUFS_OPT_DIROPQ_A | AUFS_OPT_SHWH | AUFS_OPT_VERBOSE | AUFS_OPT_TRUNC_XIB |
		  AUFS_OPT_CLEAN_PLINK | AUFS_OPT_DIRPERM1,
	  AUFS_UDBA_NONE, AUFS_CREATE_MFSRR, 10, 1024, AUFS_CPUP_BU, AUFS_COO_ALL, 7,
	  "/dev/shm/x"),
};

#define NVALID ((int)(sizeof(valid_cases) / sizeof(valid_cases[0])))

static void check_perms(const struct aufs_union *u, const char *perms)
{
	static const char *const names[] = { "a", "b", "c" };
	char copy[128], *save = NULL;
	int i = 0;

	snprintf(copy, sizeof(copy), "%s", perms);
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save), i++) {
		const struct aufs_branch *br = &u->branch[i];
		char *attr = strchr(p, '+');
		unsigned want_attr = 0;
		enum aufs_perm want_perm;

		ck_assert_int_lt(i, 3);
		if (attr) {
			*attr++ = 0;
			want_attr = strcmp(attr, "wh") == 0 ? AUFS_BRATTR_WH : AUFS_BRATTR_NOLWH;
		}
		want_perm = strcmp(p, "rw") == 0 ? AUFS_PERM_RW :
			    strcmp(p, "ro") == 0 ? AUFS_PERM_RO : AUFS_PERM_RR;
		ck_assert_str_eq(br->path, under(names[i]));
		ck_assert_uint_eq(br->len, strlen(br->path));
		ck_assert_int_eq(br->perm, want_perm);
		ck_assert_uint_eq(br->attr, want_attr);
	}
	ck_assert_int_eq(u->nbranch, i);
}

START_TEST(test_valid_options)
{
	const struct valid_case *c = &valid_cases[_i];
	struct aufs_union *u = parse_ok(c->opts, "/mnt/u");

	ck_assert_str_eq(u->mnt, "/mnt/u");
	ck_assert_uint_eq(u->mnt_len, 6);
	check_perms(u, c->perms);
	ck_assert_uint_eq(u->opts.flags, c->flags);
	ck_assert_int_eq(u->opts.udba, c->udba);
	ck_assert_int_eq(u->opts.create, c->create);
	ck_assert_uint_eq(u->opts.create_sec, c->sec);
	ck_assert_uint_eq(u->opts.create_low, c->low);
	ck_assert_int_eq(u->opts.cpup, c->cpup);
	ck_assert_int_eq(u->opts.coo, c->coo);
	ck_assert_uint_eq(u->opts.dirwh, c->dirwh);
	ck_assert_pstr_eq(u->opts.xino, c->xino);
	ck_assert_uint_eq(u->shm, 0);
	aufs_union_free(u);
}
END_TEST

/* The same table, through aufs_union_format() and the fstab parser again. */
START_TEST(test_valid_round_trip)
{
	struct aufs_union *u = parse_ok(valid_cases[_i].opts, "/mnt/u");

	assert_round_trip(u);
	aufs_union_free(u);
}
END_TEST

/* ---------------------------------------------------------------- invalid option strings */

struct invalid_case {
	const char *opts;
	int code;
	const char *token;	/* must appear in err.msg ('@' expanded) */
};

static const struct invalid_case invalid_cases[] = {
	{ "br:@a,foo", -EINVAL, "unknown option \"foo\"" },
	{ "br:@a,BR:@b", -EINVAL, "\"BR:" },
	{ "br:@a,ro", -EINVAL, "\"ro\"" },
	{ "br:@a, udba=none", -EINVAL, "\" udba=none\"" },
	{ "", -EINVAL, "no branches" },
	{ "udba=none", -EINVAL, "no branches" },
	{ "dirs:@a", -EINVAL, "dirs:" },
	{ "br:@a,br:@b", -EINVAL, "more than one" },
	{ "br:@a,dirs=@b", -EINVAL, "dirs=" },
	{ "br:", -EINVAL, "empty path" },
	{ "br:@a::@b", -EINVAL, "branch 2 has an empty path" },
	{ "br:@a:", -EINVAL, "empty path" },
	{ "br:=rw", -EINVAL, "empty path" },
	{ "br:@a=rx", -EINVAL, "unknown permission \"rx\" for branch @a" },
	{ "br:@a=", -EINVAL, "unknown permission \"\"" },
	{ "br:@a=RW", -EINVAL, "\"RW\"" },
	{ "br:@a:@b=nfsro", -EINVAL, "\"nfsro\"" },
	{ "br:@a=rw+wh", -EINVAL, "\"wh\" needs permission ro or rr" },
	{ "br:@a=ro+nolwh", -EINVAL, "\"nolwh\" needs permission rw" },
	{ "br:@a=rr+nolwh", -EINVAL, "nolwh" },
	{ "br:@a=ro+foo", -EINVAL, "unknown attribute \"foo\"" },
	{ "br:@a=ro+wh+nolwh", -EINVAL, "\"wh+nolwh\"" },
	{ "br:@a=ro+", -EINVAL, "unknown attribute \"\"" },
	{ "br:@a,udba=foo", -EINVAL, "\"foo\"" },
	{ "br:@a,udba", -EINVAL, "\"udba\" needs a value" },
	{ "br:@a,udba:none", -EINVAL, "\"udba:none\"" },
	{ "br:@a,udba=", -EINVAL, "udba=" },
	{ "br:@a,create=xyz", -EINVAL, "\"xyz\"" },
	{ "br:@a,create=mfsrr", -EINVAL, "mfsrr needs a low watermark" },
	{ "br:@a,create=mfsrr:abc", -EINVAL, "mfsrr:abc" },
	{ "br:@a,create=mfsrr:10x", -EINVAL, "mfsrr:10x" },
	{ "br:@a,create=mfsrr:k", -EINVAL, "mfsrr:k" },
	{ "br:@a,create=mfsrr:99999999999g", -EINVAL, "99999999999g" },
	{ "br:@a,create=mfsrr:1m:x", -EINVAL, "mfsrr:1m:x" },
	{ "br:@a,create=mfs:abc", -EINVAL, "mfs:abc" },
	{ "br:@a,create=mfs:-1", -EINVAL, "mfs:-1" },
	{ "br:@a,create=mfs:", -EINVAL, "mfs:" },
	{ "br:@a,create=mfs:4294967296", -EINVAL, "4294967296" },
	{ "br:@a,create=tdp:5", -EINVAL, "tdp:5" },
	{ "br:@a,create=rr:5", -EINVAL, "rr:5" },
	{ "br:@a,cpup=mfs", -EINVAL, "cpup=mfs" },
	{ "br:@a,cpup", -EINVAL, "\"cpup\"" },
	{ "br:@a,dirwh=-1", -EINVAL, "dirwh=-1" },
	{ "br:@a,dirwh=abc", -EINVAL, "dirwh=abc" },
	{ "br:@a,dirwh=", -EINVAL, "dirwh=" },
	{ "br:@a,dirwh=4294967296", -EINVAL, "4294967296" },
	{ "br:@a,diropq=x", -EINVAL, "diropq=x" },
	{ "br:@a,coo=some", -EINVAL, "coo=some" },
	{ "br:@a,xino=rel/x", -EINVAL, "rel/x" },
	{ "br:@a,xino=", -EINVAL, "xino" },
	{ "br:@a,plink=1", -EINVAL, "\"plink=1\"" },
	{ "br:@a,noxino=1", -EINVAL, "noxino=1" },
	/* branch-table edits belong to remount */
	{ "br:@a,add:1:@b", -EINVAL, "option \"add:1:@b\" is only valid with remount" },
	{ "br:@a,ins:1:@b", -EINVAL, "\"ins:1:@b\" is only valid with remount" },
	{ "br:@a,append:@b", -EINVAL, "\"append:@b\" is only valid with remount" },
	{ "br:@a,prepend:@b", -EINVAL, "\"prepend:@b\" is only valid with remount" },
	{ "br:@a,del:@b", -EINVAL, "\"del:@b\" is only valid with remount" },
	{ "br:@a,mod:@b=ro", -EINVAL, "\"mod:@b=ro\" is only valid with remount" },
	{ "br:@a,imod:@b=ro", -EINVAL, "\"imod:@b=ro\" is only valid with remount" },
	{ "remount,br:@a", -EINVAL, "\"remount\" is only valid with remount" },
	/* the file system */
	{ "br:@nope", -ENOENT, "branch @nope: No such file or directory" },
	{ "br:@a:@nope=ro", -ENOENT, "@nope" },
	{ "br:@f", -ENOTDIR, "branch @f: Not a directory" },
	{ "br:@a:@f/x", -ENOTDIR, "@f/x" },
	{ "br:@a:@a/sub", -EINVAL, "branches @a and @a/sub overlap" },
	{ "br:@a/sub:@b:@a", -EINVAL, "branches @a/sub and @a overlap" },
	{ "br:/:@a", -EINVAL, "branches / and @a overlap" },
	{ "br:@a:@a", -EINVAL, "branch @a is given twice" },
	{ "br:@a:@b/../a", -EINVAL, "given twice" },
	{ "br:@a:@link", -EINVAL, "branch @a is given twice" },
	{ "br:@link/sub:@b:@a", -EINVAL, "branches @a/sub and @a overlap" },
};

#define NINVALID ((int)(sizeof(invalid_cases) / sizeof(invalid_cases[0])))

START_TEST(test_invalid_options)
{
	const struct invalid_case *c = &invalid_cases[_i];
	struct aufs_union *u = (struct aufs_union *)&u;	/* must stay untouched */
	struct aufs_union *const sentinel = u;
	const char *opts = ex(c->opts);
	const char *token = ex(c->token);
	struct aufs_err err;
	int r;

	r = aufs_union_parse(opts, "/mnt/u", &u, &err);
	ck_assert_msg(r == c->code, "\"%s\": got %d (%s), want %d", opts, r, err.msg, c->code);
	ck_assert_int_eq(err.code, r);
	ck_assert_ptr_eq(u, sentinel);
	ck_assert_msg(strstr(err.msg, token), "\"%s\": message \"%s\" lacks \"%s\"", opts,
		      err.msg, token);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
}
END_TEST

/* A NULL err is allowed; the result is the same. */
START_TEST(test_null_err)
{
	struct aufs_union *u = NULL;

	ck_assert_int_eq(aufs_union_parse(ex("br:@a,foo"), "/m", &u, NULL), -EINVAL);
	ck_assert_ptr_null(u);
	ck_assert_int_eq(aufs_union_parse(ex("br:@a"), "/m", &u, NULL), 0);
	ck_assert_ptr_nonnull(u);
	aufs_union_free(u);
	aufs_union_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------- branches */

START_TEST(test_branch_defaults)
{
	struct aufs_union *u = parse_ok("br:@link:@b:@c=rr:@m", "/u");
	struct stat st;

	ck_assert_int_eq(u->nbranch, 4);
	/* canonical: the symlink is resolved, no trailing slash */
	ck_assert_str_eq(u->branch[0].path, under("a"));
	ck_assert_str_eq(u->branch[3].path, under("m"));
	ck_assert_int_eq(u->branch[0].perm, AUFS_PERM_RW);
	ck_assert_int_eq(u->branch[1].perm, AUFS_PERM_RO);
	ck_assert_int_eq(u->branch[2].perm, AUFS_PERM_RR);
	ck_assert_int_eq(u->branch[3].perm, AUFS_PERM_RO);
	for (int i = 0; i < u->nbranch; i++) {
		ck_assert_int_eq(stat(u->branch[i].path, &st), 0);
		ck_assert_uint_eq(u->branch[i].dev, st.st_dev);
		ck_assert_uint_eq(u->branch[i].ino, st.st_ino);
		ck_assert_uint_eq(u->branch[i].len, strlen(u->branch[i].path));
		ck_assert_uint_eq(u->branch[i].attr, 0);
	}
	aufs_union_free(u);
}
END_TEST

/* A relative branch is taken relative to the kernel's cwd, and stored absolute. */
START_TEST(test_branch_relative)
{
	int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct aufs_union *u;

	ck_assert_int_ge(here, 0);
	ck_assert_int_eq(chdir(root), 0);
	u = parse_ok("br:a:./b=ro:c/../c", "/u");
	ck_assert_str_eq(u->branch[0].path, under("a"));
	ck_assert_str_eq(u->branch[1].path, under("b"));
	ck_assert_str_eq(u->branch[2].path, under("c"));
	aufs_union_free(u);
	/* CK_FORK=no runs every test in one process: give the cwd back. */
	ck_assert_int_eq(fchdir(here), 0);
	close(here);
}
END_TEST

/* Escaped separators in branch paths, and the raw '=' that the last '=' rule allows. */
START_TEST(test_branch_escapes)
{
	struct aufs_union *u;

	u = parse_ok("br:@sp\\040ace:@co\\054mma=ro+wh:@co\\072lon:@eq\\075ual:"
		     "@back\\134slash:@tab\\011x:@nl\\012x:@hash#x:@pl+us=rr",
		     "/u");
	ck_assert_int_eq(u->nbranch, 9);
	ck_assert_str_eq(u->branch[0].path, under("sp ace"));
	ck_assert_str_eq(u->branch[1].path, under("co,mma"));
	ck_assert_int_eq(u->branch[1].perm, AUFS_PERM_RO);
	ck_assert_uint_eq(u->branch[1].attr, AUFS_BRATTR_WH);
	ck_assert_str_eq(u->branch[2].path, under("co:lon"));
	ck_assert_str_eq(u->branch[3].path, under("eq=ual"));
	ck_assert_str_eq(u->branch[4].path, under("back\\slash"));
	ck_assert_str_eq(u->branch[5].path, under("tab\tx"));
	ck_assert_str_eq(u->branch[6].path, under("nl\nx"));
	ck_assert_str_eq(u->branch[7].path, under("hash#x"));
	ck_assert_str_eq(u->branch[8].path, under("pl+us"));
	ck_assert_int_eq(u->branch[8].perm, AUFS_PERM_RR);
	aufs_union_free(u);

	/* unescaped: a space needs nothing, '=' splits at the last one */
	u = parse_ok("br:@sp ace:@eq=ual=ro", "/u");
	ck_assert_str_eq(u->branch[0].path, under("sp ace"));
	ck_assert_str_eq(u->branch[1].path, under("eq=ual"));
	ck_assert_int_eq(u->branch[1].perm, AUFS_PERM_RO);
	aufs_union_free(u);

	/* a backslash that is no escape stays: \040 literally is "oct\040al" */
	u = parse_ok("br:@oct\\134040al:@a", "/u");
	ck_assert_str_eq(u->branch[0].path, under("oct\\040al"));
	aufs_union_free(u);
}
END_TEST

/* A control character in a path does not make the message two lines. */
START_TEST(test_message_one_line)
{
	struct aufs_union *u = NULL;
	struct aufs_err err;

	ck_assert_int_eq(aufs_union_parse(ex("br:@nl\\012x=bad"), "/u", &u, &err), -EINVAL);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	ck_assert_ptr_nonnull(strstr(err.msg, "\"bad\""));
}
END_TEST

static void make_dirs(int n)
{
	char name[32];

	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "many/d%03d", i);
		mk(name);
	}
}

static const char *many_opts(int n)
{
	static char buf[128 * (PATH_MAX / 8)];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "br:");

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s/many/d%03d",
					i ? ":" : "", root, i);
	ck_assert_uint_lt(len, sizeof(buf));
	return buf;
}

START_TEST(test_branch_max)
{
	struct aufs_union *u = NULL;
	struct aufs_err err;
	int r;

	mk("many");
	make_dirs(128);
	r = aufs_union_parse(many_opts(AUFS_BRANCH_MAX), "/u", &u, &err);
	ck_assert_msg(r == 0, "%s", err.msg);
	ck_assert_int_eq(u->nbranch, AUFS_BRANCH_MAX);
	ck_assert_int_eq(u->branch[0].perm, AUFS_PERM_RW);
	ck_assert_int_eq(u->branch[AUFS_BRANCH_MAX - 1].perm, AUFS_PERM_RO);
	ck_assert_str_eq(u->branch[126].path, under("many/d126"));
	assert_round_trip(u);
	aufs_union_free(u);

	u = NULL;
	r = aufs_union_parse(many_opts(128), "/u", &u, &err);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_null(u);
	ck_assert_str_eq(err.msg, "too many branches (128, at most 127)");
}
END_TEST

/*
 * rr by default needs a branch on squashfs/iso9660/cramfs/romfs/erofs, which
 * only root can mount. Use one that happens to be mounted (snaps, live media);
 * otherwise there is nothing to test here.
 */
START_TEST(test_branch_rr_by_fstype)
{
	static const char *const types[] = { "squashfs", "iso9660", "cramfs", "romfs", "erofs" };
	FILE *f = setmntent("/proc/self/mounts", "r");
	char dir[PATH_MAX] = "";
	struct mntent *m;

	while (f && !dir[0] && (m = getmntent(f))) {
		struct stat st;

		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(m->mnt_type, types[i]) == 0 &&
			    !strpbrk(m->mnt_dir, ":,=\\") && stat(m->mnt_dir, &st) == 0 &&
			    S_ISDIR(st.st_mode) && strlen(m->mnt_dir) < sizeof(dir))
				strcpy(dir, m->mnt_dir);
	}
	if (f)
		endmntent(f);
	if (dir[0]) {
		char opts[PATH_MAX + 16];
		struct aufs_union *u;

		snprintf(opts, sizeof(opts), "br:%s", dir);
		u = parse_ok(opts, "/u");
		ck_assert_int_eq(u->branch[0].perm, AUFS_PERM_RR);
		aufs_union_free(u);
	}
}
END_TEST

/* ---------------------------------------------------------------- mount points */

static const struct {
	const char *in, *out;
} mnt_cases[] = {
	{ "/m", "/m" },
	{ "/m/", "/m" },
	{ "//m//x/./y/..", "/m/x" },
	{ "/var/www/html", "/var/www/html" },
	{ "/", "/" },
	{ "//", "/" },
	{ "/..", "/" },
	{ "/a/../..", "/" },
	{ "/.", "/" },
	{ "/a\\040b", "/a b" },
	{ "/a\\011b", "/a\tb" },
	{ "/a\\134b", "/a\\b" },
	{ "/a\\1b", "/a\\1b" },
	{ "/a\\000b", "/a\\000b" },
	{ "/a b/c,d:e=f", "/a b/c,d:e=f" },
};

START_TEST(test_mount_point)
{
	struct aufs_union *u = parse_ok("br:@a", mnt_cases[_i].in);

	ck_assert_str_eq(u->mnt, mnt_cases[_i].out);
	ck_assert_uint_eq(u->mnt_len, strlen(mnt_cases[_i].out));
	/* A union on "/" holds its own branches: aufs_config_add() refuses it. */
	if (u->mnt_len > 1)
		assert_round_trip(u);
	aufs_union_free(u);
}
END_TEST

START_TEST(test_mount_point_invalid)
{
	static const char *const bad[] = { "m", "", "./m" };
	struct aufs_union *u = NULL;
	struct aufs_err err;

	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(aufs_union_parse(ex("br:@a"), bad[i], &u, &err), -EINVAL);
		ck_assert_ptr_null(u);
		ck_assert_ptr_nonnull(strstr(err.msg, "not an absolute path"));
	}
	/* An escaped first slash (\057) is still a slash. */
	u = parse_ok("br:@a", "\\057m");
	ck_assert_str_eq(u->mnt, "/m");
	aufs_union_free(u);
	u = NULL;
	ck_assert_int_eq(aufs_union_parse(ex("br:@a"), NULL, &u, &err), -EINVAL);
	ck_assert_int_eq(aufs_union_parse(NULL, "/m", &u, &err), -EINVAL);
	ck_assert_ptr_null(u);
}
END_TEST

/* ---------------------------------------------------------------- format */

START_TEST(test_format_exact)
{
	struct aufs_union *u = parse_ok("br:@a:@b=ro+wh:@c=rw+nolwh,udba=none,create=mfsrr:2k",
					"/m n/x");
	char want[2 * PATH_MAX], buf[2 * PATH_MAX];
	int n;

	snprintf(want, sizeof(want),
		 "none /m\\040n/x aufs br:%s/a=rw:%s/b=ro+wh:%s/c=rw+nolwh,udba=none,"
		 "create=mfsrr:2048:30 0 0",
		 root, root, root);
	n = aufs_union_format(u, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(n, (int)strlen(want));

	/* The buffer must hold the terminating NUL too. */
	for (size_t size = 0; size <= (size_t)n; size++)
		ck_assert_int_eq(aufs_union_format(u, buf, size), -ENAMETOOLONG);
	ck_assert_int_eq(aufs_union_format(u, buf, (size_t)n + 1), n);
	ck_assert_str_eq(buf, want);
	aufs_union_free(u);
}
END_TEST

/* Every non-default option is written, and defaults are not. */
START_TEST(test_format_defaults)
{
	struct aufs_union *u = parse_ok("br:@a:@b", "/u");
	char want[PATH_MAX], buf[PATH_MAX];

	snprintf(want, sizeof(want), "none /u aufs br:%s/a=rw:%s/b=ro 0 0", root, root);
	ck_assert_int_gt(aufs_union_format(u, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, want);
	aufs_union_free(u);
}
END_TEST

/* Paths holding blanks, separators, backslashes and control characters survive. */
START_TEST(test_format_odd_paths)
{
	char opts[8192] = "br:", buf[16384];
	struct aufs_union *u = NULL;
	struct aufs_err err;
	size_t len = 3;
	int r;

	for (size_t i = 0; i < sizeof(odd_names) / sizeof(odd_names[0]); i++) {
		/* escape the parser's separators and the backslash, as a user would */
		const char *s = under(odd_names[i]);

		if (i)
			opts[len++] = ':';
		for (; *s; s++) {
			if (strchr(":,=\\", *s))
				len += (size_t)sprintf(opts + len, "\\%03o", (unsigned char)*s);
			else
				opts[len++] = *s;
		}
	}
	/* xino takes the same escapes */
	strcpy(opts + len, ",xino=/tmp/x\\054y\\072z\\075w\\040v");
	r = aufs_union_parse(opts, "/mnt/with space,comma:colon=eq\\134back\ttab\nnl#", &u, &err);
	ck_assert_msg(r == 0, "%s", err.msg);
	ck_assert_str_eq(u->mnt, "/mnt/with space,comma:colon=eq\\back\ttab\nnl#");
	ck_assert_str_eq(u->branch[0].path, under("sp ace"));
	ck_assert_str_eq(u->opts.xino, "/tmp/x,y:z=w v");
	ck_assert_int_gt(aufs_union_format(u, buf, sizeof(buf)), 0);
	/* one line of four-plus fields: no raw blank inside a field */
	ck_assert_ptr_null(strchr(buf, '\n'));
	ck_assert_ptr_null(strchr(buf, '\t'));
	assert_round_trip(u);
	aufs_union_free(u);
}
END_TEST

/* ---------------------------------------------------------------- aufs_config_add */

/* Add the union of TMPL at MNT ('@' expanded in both); returns the result. */
static int add(struct aufs_config *cfg, const char *tmpl, const char *mnt, struct aufs_err *err)
{
	struct aufs_union *u = parse_ok(tmpl, ex(mnt));

	return aufs_config_add(cfg, u, err);
}

static void add_ok(struct aufs_config *cfg, const char *tmpl, const char *mnt)
{
	struct aufs_err err;
	int r = add(cfg, tmpl, mnt, &err);

	ck_assert_msg(r == 0, "add %s at %s: %s", ex(tmpl), ex(mnt), err.msg);
}

static void add_fails(struct aufs_config *cfg, const char *tmpl, const char *mnt,
		      const char *token)
{
	int before = cfg->nunion;
	uint64_t serial = cfg->serial;
	struct aufs_err err;
	int r = add(cfg, tmpl, mnt, &err);

	ck_assert_msg(r == -EINVAL, "add %s at %s: %d", ex(tmpl), ex(mnt), r);
	ck_assert_int_eq(err.code, -EINVAL);
	ck_assert_msg(strstr(err.msg, ex(token)), "message \"%s\" lacks \"%s\"", err.msg,
		      ex(token));
	ck_assert_int_eq(cfg->nunion, before);
	ck_assert_uint_eq(cfg->serial, serial);
}

START_TEST(test_add_basic)
{
	struct aufs_config cfg;
	uint64_t s1, s2;
	size_t rel = 99;

	aufs_config_init(&cfg);
	ck_assert_int_eq(cfg.nunion, 0);
	ck_assert_ptr_null(cfg.unions);
	ck_assert_ptr_null(cfg.table);
	add_ok(&cfg, "br:@a:@b", "/srv/www/t1");
	s1 = cfg.serial;
	ck_assert_uint_ne(s1, 0);
	add_ok(&cfg, "br:@c:@b", "/srv/www/t2");
	s2 = cfg.serial;
	ck_assert_uint_ne(s2, s1);
	ck_assert_int_eq(cfg.nunion, 2);
	ck_assert_uint_eq(cfg.unions[0]->index, 0);
	ck_assert_uint_eq(cfg.unions[1]->index, 1);
	ck_assert_str_eq(cfg.unions[1]->mnt, "/srv/www/t2");
	/* the index is kept in step, so the table can be published as it is */
	ck_assert_ptr_nonnull(cfg.table);
	ck_assert_ptr_eq(aufs_config_match(&cfg, "/srv/www/t2/x", 13, &rel), cfg.unions[1]);
	ck_assert_uint_eq(rel, 12);
	ck_assert_ptr_eq(aufs_config_match(&cfg, "/srv/www/t1", 11, &rel), cfg.unions[0]);
	ck_assert_ptr_null(aufs_config_match(&cfg, "/srv/www/t3", 11, &rel));
	aufs_config_release(&cfg);
	ck_assert_int_eq(cfg.nunion, 0);
	ck_assert_ptr_null(cfg.unions);
	ck_assert_ptr_null(cfg.table);
	ck_assert_uint_eq(cfg.serial, 0);
	aufs_config_release(&cfg);	/* twice is fine */
	aufs_config_release(NULL);
}
END_TEST

START_TEST(test_add_duplicate_mount_point)
{
	struct aufs_config cfg;

	aufs_config_init(&cfg);
	add_ok(&cfg, "br:@a", "/var/www/html");
	add_fails(&cfg, "br:@b", "/var/www/html", "mount point /var/www/html is used twice");
	add_fails(&cfg, "br:@b", "/var//www/./html/", "mount point /var/www/html is used twice");
	add_ok(&cfg, "br:@b", "/var/www/html2");
	add_ok(&cfg, "br:@c", "/var/www");	/* an ancestor of another one is fine */
	ck_assert_int_eq(cfg.nunion, 3);
	aufs_config_release(&cfg);
}
END_TEST

/* A branch below a mount point would be reached through the union: nested. */
START_TEST(test_add_nested)
{
	struct aufs_config cfg;

	/* the mount point first, then the branch under it */
	aufs_config_init(&cfg);
	add_ok(&cfg, "br:@a", "@m");
	add_fails(&cfg, "br:@m/x", "/u2",
		  "branch @m/x is inside the mount point @m of another union");
	add_fails(&cfg, "br:@b:@m/x", "/u2", "@m/x");
	aufs_config_release(&cfg);

	/* the branch first, then a mount point above it */
	aufs_config_init(&cfg);
	add_ok(&cfg, "br:@a:@m/x", "/u1");
	add_fails(&cfg, "br:@b", "@m", "branch @m/x is inside the mount point @m of another union");
	ck_assert_int_eq(cfg.nunion, 1);
	aufs_config_release(&cfg);

	/* a branch that is another union's mount point, in both orders */
	aufs_config_init(&cfg);
	add_ok(&cfg, "br:@a", "@b");
	add_fails(&cfg, "br:@c:@b", "/u2", "branch @b is the mount point of another union");
	aufs_config_release(&cfg);
	aufs_config_init(&cfg);
	add_ok(&cfg, "br:@c:@b", "/u2");
	add_fails(&cfg, "br:@a", "@b", "branch @b is the mount point of another union");
	aufs_config_release(&cfg);

	/* a mount point of "/" holds every branch */
	aufs_config_init(&cfg);
	add_fails(&cfg, "br:@a", "/", "branch @a is inside its own mount point /");
	add_ok(&cfg, "br:@a", "/u");
	add_fails(&cfg, "br:@b", "/", "branch @b is inside its own mount point /");
	aufs_config_release(&cfg);
}
END_TEST

/* aufs(5)'s "br:/br1=rw:/base=rr none /br1": a union on its own branch. */
START_TEST(test_add_own_branch_as_mount_point)
{
	struct aufs_config cfg;

	aufs_config_init(&cfg);
	add_ok(&cfg, "br:@a=rw:@b=rr", "@a");
	add_ok(&cfg, "br:@c:@m", "@m");		/* a lower branch works the same way */
	/* ...but not a branch inside its own mount point */
	add_fails(&cfg, "br:@a/sub", "@a/..", "branch @a/sub is inside its own mount point");
	add_fails(&cfg, "br:@m/x:@c", "/u", "@m/x");
	ck_assert_int_eq(cfg.nunion, 2);
	ck_assert_str_eq(cfg.unions[0]->mnt, under("a"));
	aufs_config_release(&cfg);
}
END_TEST

/* A mount point inside another union's branch is fine: the branch is reached raw. */
START_TEST(test_add_mount_point_in_branch)
{
	struct aufs_config cfg;

	aufs_config_init(&cfg);
	add_ok(&cfg, "br:@a:@b", "/u1");
	add_ok(&cfg, "br:@c", "@a/sub");
	add_ok(&cfg, "br:@m", "@b/not/there");
	ck_assert_int_eq(cfg.nunion, 3);
	aufs_config_release(&cfg);
}
END_TEST

START_TEST(test_add_null)
{
	struct aufs_config cfg;
	struct aufs_err err;

	aufs_config_init(&cfg);
	ck_assert_int_eq(aufs_config_add(&cfg, NULL, &err), -EINVAL);
	ck_assert_int_eq(cfg.nunion, 0);
	aufs_config_release(&cfg);
}
END_TEST

START_TEST(test_add_many)
{
	struct aufs_config cfg;
	char mnt[64];

	aufs_config_init(&cfg);
	for (int i = 0; i < 300; i++) {
		snprintf(mnt, sizeof(mnt), "/srv/www/t%d", i);
		/* read-only: a writable branch may not be shared (test_add_shared_rw) */
		add_ok(&cfg, i % 2 ? "br:@a=ro:@c" : "br:@b=ro:@c", mnt);
	}
	ck_assert_int_eq(cfg.nunion, 300);
	for (int i = 0; i < 300; i++)
		ck_assert_uint_eq(cfg.unions[i]->index, (unsigned)i);
	ck_assert_ptr_eq(aufs_config_match(&cfg, "/srv/www/t299/index.php", 23, NULL),
			 cfg.unions[299]);
	aufs_config_release(&cfg);
}
END_TEST

/* aufs(5): a branch must not be the writable branch of two unions; read-only is fine. */
START_TEST(test_add_shared_rw)
{
	struct aufs_config cfg;

	aufs_config_init(&cfg);
	add_ok(&cfg, "br:@a=rw:@c=ro", "/u1");
	add_fails(&cfg, "br:@a=rw:@b=ro", "/u2",
		  "writable branch @a of /u2 is also a writable branch of /u1 (a writable "
		  "branch must not be shared between unions)");
	/* the same directory under another name (a symlink) */
	add_fails(&cfg, "br:@link", "/u2", "writable branch @a of /u2 is also a writable branch");
	/* a writable branch inside another's, and around another's */
	add_fails(&cfg, "br:@a/sub", "/u2",
		  "writable branch @a/sub of /u2 and writable branch @a of /u1 overlap");
	add_ok(&cfg, "br:@b=rw:@c=ro", "/u2");	/* the shared base is read-only */
	add_ok(&cfg, "br:@m=rw:@a=ro", "/u3");	/* another's writable branch, read here */
	add_ok(&cfg, "br:@m/x=ro", "/u4");	/* inside it: only read */
	ck_assert_int_eq(cfg.nunion, 4);
	aufs_config_release(&cfg);

	/* the order does not matter: the outer branch second */
	aufs_config_init(&cfg);
	add_ok(&cfg, "br:@a/sub=rw", "/u1");
	add_fails(&cfg, "br:@a=rw", "/u2",
		  "writable branch @a of /u2 and writable branch @a/sub of /u1 overlap");
	aufs_config_release(&cfg);
}
END_TEST

/* ---------------------------------------------------------------- warn_perm */

struct lines {
	int n;
	char line[8][1024];
};

static void collect(void *arg, const char *line)
{
	struct lines *l = arg;

	ck_assert_int_lt(l->n, 8);
	snprintf(l->line[l->n++], sizeof(l->line[0]), "%s", line);
}

static void chmod_at(const char *rel, mode_t mode)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(chmod(p, mode), 0);
}

START_TEST(test_warn_perm)
{
	struct aufs_union *u;
	struct lines l = { 0 };
	char want[1024];
	uid_t me = geteuid();
	struct stat st;

	/* the same owner, group and mode: silent */
	chmod_at("a", 0755);
	chmod_at("b", 0755);
	u = parse_ok("br:@a=rw:@b=ro", "/u");
	ck_assert_int_eq(aufs_union_warn_perm(u, me, collect, &l), 0);
	aufs_union_free(u);

	/* a lower branch that differs from the first: aufs's warn_perm line */
	chmod_at("b", 0750);
	ck_assert_int_eq(stat(ex("@b"), &st), 0);
	u = parse_ok("br:@a=rw:@b=ro", "/u");
	ck_assert_int_eq(aufs_union_warn_perm(u, me, collect, &l), 1);
	snprintf(want, sizeof(want),
		 "warning: /u: branch %s/b has uid/gid/mode %u/%u/0750, the first branch %s/a "
		 "%u/%u/0755", root, (unsigned)st.st_uid, (unsigned)st.st_gid, root,
		 (unsigned)st.st_uid, (unsigned)st.st_gid);
	ck_assert_str_eq(l.line[0], want);
	aufs_union_free(u);

	/* nowarn_perm silences it */
	u = parse_ok("br:@a=rw:@b=ro,nowarn_perm", "/u");
	ck_assert_int_eq(aufs_union_warn_perm(u, me, collect, &l), 0);
	aufs_union_free(u);

	/* a world-writable writable branch (aufs(5) DIAGNOSTICS) */
	chmod_at("c", 01777);
	u = parse_ok("br:@c=rw", "/u");
	l.n = 0;
	ck_assert_int_eq(aufs_union_warn_perm(u, me, collect, &l), 1);
	snprintf(want, sizeof(want), "warning: /u: writable branch %s/c is writable by every user "
		 "(mode 1777): anyone can change what the union shows", root);
	ck_assert_str_eq(l.line[0], want);
	aufs_union_free(u);
	/* ...and not when it is read-only here */
	u = parse_ok("br:@a=rw:@c=ro,nowarn_perm", "/u");
	ck_assert_int_eq(aufs_union_warn_perm(u, me, collect, &l), 0);
	aufs_union_free(u);

	/* a writable branch owned by someone else than the caller and root */
	u = parse_ok("br:@a=rw", "/u");
	l.n = 0;
	ck_assert_int_eq(aufs_union_warn_perm(u, 4242, collect, &l), me == 0 ? 0 : 1);
	if (me != 0) {
		snprintf(want, sizeof(want), "warning: /u: writable branch %s/a belongs to uid %u, "
			 "neither you (uid 4242) nor root: that user can change what the union "
			 "shows", root, (unsigned)me);
		ck_assert_str_eq(l.line[0], want);
	}
	aufs_union_free(u);
	chmod_at("b", 0755);
	chmod_at("c", 0755);
}
END_TEST

/* ---------------------------------------------------------------- fstab */

START_TEST(test_fstab_ok)
{
	struct aufs_config cfg;
	struct aufs_err err;
	const char *text = ex(
		"# tenants of this host\n"
		"\n"
		"   \t\n"
		"none /srv/www/t1 aufs br:@a=rw:@c=ro,udba=none 0 0\n"
		"  # indented comment\n"
		"tenant2\t/srv/www/with\\040space\taufs\tbr:@sp\\040ace:@c\r\n"
		"none /srv/www/t3 aufs dirs=@b:@c,noplink 0\n"
		"none /srv/www/t4 aufs br:@co\\054mma=ro+wh:@m,create=mfs:5");
	int r;

	aufs_config_init(&cfg);
	r = aufs_config_parse_fstab(&cfg, text, "/etc/aufs/fstab", &err);
	ck_assert_msg(r == 0, "%s", err.msg);
	ck_assert_int_eq(cfg.nunion, 4);
	ck_assert_str_eq(cfg.unions[0]->mnt, "/srv/www/t1");
	ck_assert_int_eq(cfg.unions[0]->opts.udba, AUFS_UDBA_NONE);
	ck_assert_str_eq(cfg.unions[0]->branch[0].path, under("a"));
	ck_assert_str_eq(cfg.unions[1]->mnt, "/srv/www/with space");
	ck_assert_str_eq(cfg.unions[1]->branch[0].path, under("sp ace"));
	ck_assert_int_eq(cfg.unions[1]->branch[1].perm, AUFS_PERM_RO);
	ck_assert_uint_eq(cfg.unions[2]->opts.flags, AUFS_OPT_WARN_PERM);
	ck_assert_str_eq(cfg.unions[3]->branch[0].path, under("co,mma"));
	ck_assert_uint_eq(cfg.unions[3]->branch[0].attr, AUFS_BRATTR_WH);
	ck_assert_int_eq(cfg.unions[3]->opts.create, AUFS_CREATE_MFS);
	ck_assert_ptr_nonnull(cfg.table);
	aufs_config_release(&cfg);

	/* empty text, only comments: an empty configuration */
	aufs_config_init(&cfg);
	ck_assert_int_eq(aufs_config_parse_fstab(&cfg, "", "x", &err), 0);
	ck_assert_int_eq(aufs_config_parse_fstab(&cfg, "# nothing\n\n", "x", &err), 0);
	ck_assert_int_eq(cfg.nunion, 0);
	aufs_config_release(&cfg);
}
END_TEST

static const struct {
	const char *text;
	int code;
	const char *msg;	/* must appear in err.msg */
} fstab_bad[] = {
	{ "none /u ext4 br:@a 0 0\n", -EINVAL, "F:1: file system type \"ext4\" is not aufs" },
	{ "# c\nnone /u aufs\n", -EINVAL,
	  "F:2: expected \"SPEC MOUNTPOINT aufs OPTIONS [0 0]\", got 3 fields" },
	{ "none\n", -EINVAL, "F:1: expected" },
	{ "none /u aufs br:@a 0 0 extra\n", -EINVAL, "F:1: too many fields" },
	{ "\n\nnone /u aufs br:@a,bogus 0 0\n", -EINVAL, "F:3: unknown option \"bogus\"" },
	{ "none /u aufs br:@nope\n", -ENOENT, "F:1: branch @nope: No such file or directory" },
	{ "none /u aufs br:@a\nnone /u/ aufs br:@b\n", -EINVAL,
	  "F:2: mount point /u is used twice" },
	{ "none u aufs br:@a\n", -EINVAL, "F:1: mount point \"u\" is not an absolute path" },
	{ "none /u aufs br:@a=rx\n", -EINVAL, "F:1: unknown permission \"rx\"" },
	{ "none /u aufs remount,br:@a\n", -EINVAL, "F:1: option \"remount\"" },
	/* fields are split on blanks: an unescaped space splits a path */
	{ "none /u aufs br:@sp ace\n", -ENOENT, "F:1: branch @sp:" },
};

START_TEST(test_fstab_bad)
{
	struct aufs_config cfg;
	struct aufs_err err;
	int r;

	aufs_config_init(&cfg);
	r = aufs_config_parse_fstab(&cfg, ex(fstab_bad[_i].text), "F", &err);
	ck_assert_msg(r == fstab_bad[_i].code, "%d: %s", r, err.msg);
	ck_assert_int_eq(err.code, r);
	ck_assert_msg(strncmp(err.msg, "F:", 2) == 0 && strstr(err.msg, ex(fstab_bad[_i].msg)),
		      "message \"%s\" lacks \"%s\"", err.msg, ex(fstab_bad[_i].msg));
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	aufs_config_release(&cfg);
}
END_TEST

START_TEST(test_fstab_origin)
{
	struct aufs_config cfg;
	struct aufs_err err;

	aufs_config_init(&cfg);
	ck_assert_int_eq(aufs_config_parse_fstab(&cfg, "none /u nfs x", NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, ":1: "));
	ck_assert_int_eq(aufs_config_parse_fstab(&cfg, NULL, "F", NULL), 0);
	aufs_config_release(&cfg);
}
END_TEST

START_TEST(test_load_fstab)
{
	const char *text = ex("# one tenant\nnone /srv/www/t1 aufs br:@a:@b 0 0\n");
	struct aufs_config cfg;
	struct aufs_err err;
	char path[PATH_MAX];
	int r, fd;

	write_file("fstab", text, strlen(text));
	aufs_config_init(&cfg);
	r = aufs_config_load_fstab(&cfg, under("fstab"), &err);
	ck_assert_msg(r == 0, "%s", err.msg);
	ck_assert_int_eq(cfg.nunion, 1);
	ck_assert_str_eq(cfg.unions[0]->branch[1].path, under("b"));
	aufs_config_release(&cfg);

	/* the file name is the origin of messages */
	text = ex("none /u aufs br:@a\nnone /v aufs br:@a,what\n");
	write_file("bad", text, strlen(text));
	aufs_config_init(&cfg);
	ck_assert_int_eq(aufs_config_load_fstab(&cfg, under("bad"), &err), -EINVAL);
	snprintf(path, sizeof(path), "%s:2: unknown option \"what\"", under("bad"));
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	aufs_config_release(&cfg);

	aufs_config_init(&cfg);
	ck_assert_int_eq(aufs_config_load_fstab(&cfg, under("missing"), &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, under("missing")));
	ck_assert_ptr_nonnull(strstr(err.msg, "No such file or directory"));
	ck_assert_int_eq(aufs_config_load_fstab(&cfg, under("a"), &err), -EISDIR);
	ck_assert_int_eq(aufs_config_load_fstab(&cfg, NULL, &err), -EINVAL);

	/* binary data */
	write_file("nul", "none /u aufs br:/\0x\n", 20);
	ck_assert_int_eq(aufs_config_load_fstab(&cfg, under("nul"), &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "NUL"));

	/* over the 64 MiB cap (a sparse file costs nothing); exactly 64 MiB is read */
	write_file("big", "", 0);
	ck_assert_int_eq(truncate(under("big"), (64 << 20) + 1), 0);
	ck_assert_int_eq(aufs_config_load_fstab(&cfg, under("big"), &err), -EFBIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "64 MiB"));
	ck_assert_int_eq(truncate(under("big"), 64 << 20), 0);
	ck_assert_int_eq(aufs_config_load_fstab(&cfg, under("big"), &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "NUL"));

	/* a large valid file, read in many pieces */
	fd = open(under("large"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 20000; i++)
		ck_assert_int_gt(dprintf(fd, "# padding comment line %d\n", i), 0);
	ck_assert_int_gt(dprintf(fd, "%s", text), 0);
	close(fd);
	ck_assert_int_eq(aufs_config_load_fstab(&cfg, under("large"), &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, ":20002: unknown option \"what\""));
	/* the union before it stays, and the refused line's mount point is fenced */
	ck_assert_int_eq(cfg.nunion, 2);
	ck_assert(!(cfg.unions[0]->opts.flags & AUFS_OPT_FENCED));
	ck_assert(cfg.unions[1]->opts.flags & AUFS_OPT_FENCED);
	ck_assert_str_eq(cfg.unions[1]->mnt, "/v");
	ck_assert_int_eq(cfg.unions[1]->nbranch, 0);
	aufs_config_release(&cfg);

	/* not a regular file: st_size says nothing */
	aufs_config_init(&cfg);
	ck_assert_int_eq(aufs_config_load_fstab(&cfg, "/dev/null", &err), 0);
	ck_assert_int_eq(cfg.nunion, 0);
	aufs_config_release(&cfg);
}
END_TEST

/* ---------------------------------------------------------------- suite */

/* ---------------------------------------------------------------- remount */

static const struct {
	const char *options, *actions, *expect;	/* expect NULL: refused */
} remount_cases[] = {
	/* aufs(5) EXAMPLES: day0 -> day1 */
	{ "br:/day0:/base", "prepend:/day1,xino=/day1/xino,mod:/day0=ro,del:/day0",
	  "br:/day1=rw:/base,xino=/day1/xino" },
	{ "br:/rw", "append:/ro", "br:/rw:/ro=ro" },
	{ "br:/rw=rw:/ro=ro", "remount,del:/ro", "br:/rw=rw" },
	{ "br:/rw=rw:/ro=ro", "nowarn_perm,append:/ro2", "br:/rw=rw:/ro=ro:/ro2=ro,nowarn_perm" },
	/* the commented example of the manual */
	{ "br:/rw=rw:/ro=ro", "add:1:/new/b=rw,prepend:/new/a,mod:/rw=ro",
	  "br:/new/a=rw:/rw=ro:/new/b=rw:/ro=ro" },
	{ "br:/a=rw:/b=ro,udba=reval", "udba=none,ins:2:/c", "br:/a=rw:/b=ro:/c=ro,udba=reval,udba=none" },
	{ "br:/a=rw:/b=ro", "imod:/b=rr+wh", "br:/a=rw:/b=rr+wh" },
	{ "br:/a=rw:/b=ro", "del:/b/", "br:/a=rw" },
	{ "br:/a=rw:/b=ro", "br:/x=rw:/y", "br:/x=rw:/y=ro" },
	{ "br:/s\\040p=rw:/b=ro", "del:/s p,prepend:/n e", "br:/n\\040e=rw:/b=ro" },
	/* a default permission is kept where the branch moves */
	{ "br:/a:/b", "prepend:/n", "br:/n=rw:/a=rw:/b" },
	{ "br:/a:/b:/c", "del:/a,prepend:/n", "br:/n=rw:/b:/c" },
	/* refused */
	{ "br:/a:/b", "del:/a", NULL },
	{ "br:/a=rw:/b=ro", "add:3:/c", NULL },
	{ "br:/a=rw:/b=ro", "add:x:/c", NULL },
	{ "br:/a=rw:/b=ro", "del:/nonexistent", NULL },
	{ "br:/a=rw:/b=ro", "del:/a", NULL },
	{ "br:/a=rw", "del:/a", NULL },
	{ "br:/a=rw:/b=ro", "mod:/b", NULL },
};

START_TEST(test_remount_apply)
{
	struct aufs_err err = { 0 };
	char *out = NULL;
	int r = aufs_remount_apply(remount_cases[_i].options, remount_cases[_i].actions, &out, &err);

	if (remount_cases[_i].expect) {
		ck_assert_msg(r == 0, "%s + %s: %s", remount_cases[_i].options,
			      remount_cases[_i].actions, err.msg);
		ck_assert_str_eq(out, remount_cases[_i].expect);
		free(out);
	} else {
		ck_assert_msg(r < 0, "%s + %s: accepted as %s", remount_cases[_i].options,
			      remount_cases[_i].actions, out ? out : "");
		ck_assert_uint_gt(strlen(err.msg), 0);
		ck_assert_ptr_null(strchr(err.msg, '\n'));
	}
}
END_TEST

Suite *config_suite(void);

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("options");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_valid_options, 0, NVALID);
	tcase_add_loop_test(tc, test_valid_round_trip, 0, NVALID);
	tcase_add_loop_test(tc, test_invalid_options, 0, NINVALID);
	tcase_add_test(tc, test_null_err);
	suite_add_tcase(s, tc);

	tc = tcase_create("remount");
	tcase_add_loop_test(tc, test_remount_apply, 0,
			    (int)(sizeof(remount_cases) / sizeof(remount_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("branches");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_branch_defaults);
	tcase_add_test(tc, test_branch_relative);
	tcase_add_test(tc, test_branch_escapes);
	tcase_add_test(tc, test_message_one_line);
	tcase_add_test(tc, test_branch_max);
	tcase_add_test(tc, test_branch_rr_by_fstype);
	suite_add_tcase(s, tc);

	tc = tcase_create("mount point and format");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_mount_point, 0,
			    (int)(sizeof(mnt_cases) / sizeof(mnt_cases[0])));
	tcase_add_test(tc, test_mount_point_invalid);
	tcase_add_test(tc, test_format_exact);
	tcase_add_test(tc, test_format_defaults);
	tcase_add_test(tc, test_format_odd_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_add_basic);
	tcase_add_test(tc, test_add_duplicate_mount_point);
	tcase_add_test(tc, test_add_nested);
	tcase_add_test(tc, test_add_own_branch_as_mount_point);
	tcase_add_test(tc, test_add_mount_point_in_branch);
	tcase_add_test(tc, test_add_null);
	tcase_add_test(tc, test_add_many);
	tcase_add_test(tc, test_add_shared_rw);
	tcase_add_test(tc, test_warn_perm);
	suite_add_tcase(s, tc);

	tc = tcase_create("fstab");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fstab_ok);
	tcase_add_loop_test(tc, test_fstab_bad, 0, (int)(sizeof(fstab_bad) / sizeof(fstab_bad[0])));
	tcase_add_test(tc, test_fstab_origin);
	tcase_add_test(tc, test_load_fstab);
	suite_add_tcase(s, tc);
	return s;
}
