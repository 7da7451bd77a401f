#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='glob, ftw/nftw and fts on the union: every flag against glibc on a plain copy'
. "$(dirname "$0")/lib.sh"

# The union (top over base):
#   top:  d/t1  d/.wh.b2  d/sub/ts  d/sub/up -> ..  d/opq/ (opaque) d/opq/o1
#         d/dangle -> nowhere  d/lext -> ../e  d/.tdot
#   base: d/b1  d/b2  d/sub/bs  d/bdir/x  d/bdir/deep/y  d/opq/hidden  d/.bdot  e/f
# merged d: .bdot .tdot b1 bdir/{x,deep/y} dangle lext opq/o1 sub/{bs,ts,up} t1
# ref/ is a plain directory with exactly that merged content: glibc walks it,
# the library walks the union, and the two outputs must be equal.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
mkdir -p "$T/d/sub" "$T/d/opq" "$BASE/d/sub" "$BASE/d/bdir/deep" "$BASE/d/opq" "$BASE/e"
echo t1 >"$T/d/t1"
echo ts >"$T/d/sub/ts"
echo o1 >"$T/d/opq/o1"
echo tdot >"$T/d/.tdot"
ln -s .. "$T/d/sub/up"
ln -s nowhere "$T/d/dangle"
ln -s ../e "$T/d/lext"
echo b1 >"$BASE/d/b1"
echo b2 >"$BASE/d/b2"
echo bs-longer >"$BASE/d/sub/bs"
echo x >"$BASE/d/bdir/x"
echo yy >"$BASE/d/bdir/deep/y"
echo hidden >"$BASE/d/opq/hidden"
echo bdot >"$BASE/d/.bdot"
echo f >"$BASE/e/f"
mk_whiteout "$T/d" b2
mk_opaque "$T/d/opq"

R=$TRASH/ref
mkdir -p "$R/d/sub" "$R/d/opq" "$R/d/bdir/deep" "$R/e"
echo t1 >"$R/d/t1"
echo ts >"$R/d/sub/ts"
echo o1 >"$R/d/opq/o1"
echo tdot >"$R/d/.tdot"
ln -s .. "$R/d/sub/up"
ln -s nowhere "$R/d/dangle"
ln -s ../e "$R/d/lext"
echo b1 >"$R/d/b1"
echo bs-longer >"$R/d/sub/bs"
echo x >"$R/d/bdir/x"
echo yy >"$R/d/bdir/deep/y"
echo bdot >"$R/d/.bdot"
echo f >"$R/e/f"
snapshot_branch "$T"
snapshot_branch "$BASE"

# The union's mount point has a (empty) host directory below up/: a walk of up/
# must descend into the union, where glibc would read the empty host directory.
mkdir -p "$TRASH/up/mnt"
M=$TRASH/up/mnt
OPTS="br:$T=rw:$BASE=ro"

# in_m CMD: CMD in the union's d/ parent (cwd $M); in_r CMD: the same in ref/
# (under the library too: outside every union it must change nothing).
in_m() {
	aufs_run -o "$OPTS" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}
in_r() {
	aufs_run -o "$OPTS" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$R" "$1"
}

PROBE=$TEST_TMP/walk-probe
PROBE64=$TEST_TMP/walk-probe64
cat >"$TEST_TMP/walk-probe.c" <<\EOF
/* walk-probe OP PATH [OPTION...]: glob, nftw, ftw or fts the way programs do */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int nopt;
static char **opts;

static const char *opt(const char *key)
{
	size_t n = strlen(key);

	for (int i = 0; i < nopt; i++) {
		if (!strcmp(opts[i], key))
			return "";
		if (!strncmp(opts[i], key, n) && opts[i][n] == '=')
			return opts[i] + n + 1;
	}
	return NULL;
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s && s[1] ? s + 1 : p;
}

/* ---- glob */
static void *alt_opendir(const char *p) { return opendir(p); }
static void *alt_readdir(void *d) { return readdir(d); }
static void alt_closedir(void *d) { closedir(d); }
static int alt_stat(const char *p, struct stat *st) { return stat(p, st); }
static int alt_lstat(const char *p, struct stat *st) { return lstat(p, st); }

static int do_glob(const char *pat)
{
	int flags = 0, r;
	glob_t g;

	memset(&g, 0, sizeof(g));
	if (opt("mark")) flags |= GLOB_MARK;
	if (opt("onlydir")) flags |= GLOB_ONLYDIR;
	if (opt("nocheck")) flags |= GLOB_NOCHECK;
	if (opt("period")) flags |= GLOB_PERIOD;
	if (opt("err")) flags |= GLOB_ERR;
	if (opt("alt")) {
		flags |= GLOB_ALTDIRFUNC;
		g.gl_opendir = alt_opendir;
		g.gl_readdir = (struct dirent *(*)(void *))alt_readdir;
		g.gl_closedir = alt_closedir;
		g.gl_stat = alt_stat;
		g.gl_lstat = alt_lstat;
	}
	r = glob(pat, flags, NULL, &g);
	if (r == 0 && opt("append"))
		r = glob(opt("append"), flags | GLOB_APPEND, NULL, &g);
	if (r == GLOB_NOMATCH) {
		printf("no match\n");
		return 1;
	}
	if (r) {
		printf("glob: %d %s\n", r, strerror(errno));
		return 1;
	}
	if ((g.gl_flags & GLOB_ALTDIRFUNC) && !opt("alt"))
		printf("gl_flags has GLOB_ALTDIRFUNC\n");
	for (size_t i = 0; i < g.gl_pathc; i++)
		printf("%s\n", g.gl_pathv[i]);
	globfree(&g);
	return 0;
}

/* ---- nftw, ftw */
static const char *ftw_type(int f)
{
	switch (f) {
	case FTW_F: return "f";
	case FTW_D: return "d";
	case FTW_DNR: return "dnr";
	case FTW_NS: return "ns";
	case FTW_SL: return "sl";
	case FTW_DP: return "dp";
	case FTW_SLN: return "sln";
	}
	return "?";
}

static void show(const char *type, const char *path, const struct stat *st, int level,
		 const char *name)
{
	char cwd[PATH_MAX];

	printf("%s %d %s %s", type, level, name, path);
	if (st && S_ISREG(st->st_mode))
		printf(" size=%lld", (long long)st->st_size);
	if (opt("chdir"))
		printf(" cwd=%s", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	printf("\n");
}

static int nftw_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	const char *o;
	const char *parent_end = path + f->base - 1;

	if (f->base > 0 && path[f->base - 1] != '/')
		printf("bad base %d for %s\n", f->base, path);
	show(ftw_type(flag), path, flag == FTW_NS ? NULL : st, f->level, path + f->base);
	if ((o = opt("stop")) && !strcmp(path + f->base, o))
		return FTW_STOP;
	if ((o = opt("skipsub")) && flag == FTW_D && !strcmp(path + f->base, o))
		return FTW_SKIP_SUBTREE;
	/* skipsib=NAME: every entry of a directory NAME ends its siblings */
	if ((o = opt("skipsib")) && f->base > (int)strlen(o) + 1 &&
	    !strncmp(parent_end - strlen(o), o, strlen(o)) &&
	    parent_end[-(int)strlen(o) - 1] == '/')
		return FTW_SKIP_SIBLINGS;
	if ((o = opt("fail")) && !strcmp(path + f->base, o))
		return 42;
	return 0;
}

static int ftw_cb(const char *path, const struct stat *st, int flag)
{
	show(ftw_type(flag), path, flag == FTW_NS ? NULL : st, -1, base_of(path));
	return 0;
}

static int do_nftw(const char *path)
{
	int flags = 0, r;

	if (opt("phys")) flags |= FTW_PHYS;
	if (opt("mount")) flags |= FTW_MOUNT;
	if (opt("depth")) flags |= FTW_DEPTH;
	if (opt("chdir")) flags |= FTW_CHDIR;
	if (opt("actionretval")) flags |= FTW_ACTIONRETVAL;
	if (opt("badflag")) flags |= 0x4000;
	errno = 0;
	r = nftw(path, nftw_cb, 4, flags);
	printf("ret=%d%s%s\n", r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
	return 0;
}

/* ---- fts */
static const char *fts_type(int i)
{
	static const char *n[] = { "?", "D", "DC", "DEFAULT", "DNR", "DOT", "DP", "ERR", "F",
				   "INIT", "NS", "NSOK", "SL", "SLNONE", "W" };

	return i >= 0 && i <= 14 ? n[i] : "?";
}

static int by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

static void fts_show(const char *tag, FTSENT *e)
{
	struct stat st;
	int acc = lstat(e->fts_accpath, &st) == 0;

	printf("%s%s %d %s %s acc=%d", tag, fts_type(e->fts_info), e->fts_level, e->fts_name,
	       e->fts_path, acc);
	if ((e->fts_info == FTS_F) && e->fts_statp)
		printf(" size=%lld", (long long)e->fts_statp->st_size);
	if (e->fts_info == FTS_DC)
		printf(" cycle=%d", e->fts_cycle->fts_level);
	if (e->fts_info == FTS_NS || e->fts_info == FTS_DNR)
		printf(" errno=%d", e->fts_errno);
	printf("\n");
}

static FTS *fts_start(char *roots)
{
	char *argv[16];
	int n = 0, flags = 0;

	for (char *s = strtok(roots, ","); s && n < 15; s = strtok(NULL, ","))
		argv[n++] = s;
	argv[n] = NULL;
	if (opt("physical")) flags |= FTS_PHYSICAL;
	if (opt("logical")) flags |= FTS_LOGICAL;
	if (opt("nochdir")) flags |= FTS_NOCHDIR;
	if (opt("nostat")) flags |= FTS_NOSTAT;
	if (opt("seedot")) flags |= FTS_SEEDOT;
	if (opt("comfollow")) flags |= FTS_COMFOLLOW;
	if (opt("xdev")) flags |= FTS_XDEV;
	return fts_open(argv, flags, opt("sort") ? by_name : NULL);
}

static int do_fts(char *roots)
{
	FTS *f = fts_start(roots);
	const char *o;
	int again = 0;
	FTSENT *e;

	if (!f) {
		printf("fts_open: %s\n", strerror(errno));
		return 1;
	}
	if (opt("rootlist"))	/* (glibc has not loaded the roots' fts_path yet) */
		for (e = fts_children(f, 0); e; e = e->fts_link)
			printf("root %s %d %s\n", fts_type(e->fts_info), e->fts_level, e->fts_name);
	while ((e = fts_read(f))) {
		fts_show("", e);
		if ((o = opt("skip")) && e->fts_info == FTS_D && !strcmp(e->fts_name, o))
			fts_set(f, e, FTS_SKIP);
		if ((o = opt("again")) && !again && !strcmp(e->fts_name, o)) {
			again = 1;
			fts_set(f, e, FTS_AGAIN);
		}
		if ((o = opt("follow")) && e->fts_info == FTS_SL && !strcmp(e->fts_name, o))
			fts_set(f, e, FTS_FOLLOW);
		if (e->fts_info == FTS_D && (opt("children") || opt("nameonly"))) {
			FTSENT *c = fts_children(f, opt("nameonly") ? FTS_NAMEONLY : 0);

			if (!c && errno)
				printf("  fts_children: %s\n", strerror(errno));
			for (; c; c = c->fts_link) {
				printf("  child %s %s", c->fts_name, fts_type(c->fts_info));
				if ((o = opt("skipchild")) && !strcmp(c->fts_name, o)) {
					fts_set(f, c, FTS_SKIP);
					printf(" (skipped)");
				}
				printf("\n");
			}
		}
	}
	printf("end errno=%d\n", errno);
	return fts_close(f) ? printf("fts_close: %s\n", strerror(errno)), 1 : 0;
}

/* two walks at once, glibc's and ours: each FTS must reach its own fts_read */
static int do_fts2(char *a, char *b)
{
	FTS *fa = fts_start(a), *fb = fts_start(b);
	FTSENT *ea = (FTSENT *)1, *eb = (FTSENT *)1;

	if (!fa || !fb) {
		printf("fts_open: %s\n", strerror(errno));
		return 1;
	}
	while (ea || eb) {
		if (ea && (ea = fts_read(fa)))
			fts_show("A ", ea);
		if (eb && (eb = fts_read(fb)))
			fts_show("B ", eb);
	}
	return fts_close(fa) | fts_close(fb);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: walk-probe OP PATH [OPTION...]\n");
		return 2;
	}
	nopt = argc - 3;
	opts = argv + 3;
	if (!strcmp(argv[1], "glob"))
		return do_glob(argv[2]);
	if (!strcmp(argv[1], "nftw"))
		return do_nftw(argv[2]);
	if (!strcmp(argv[1], "ftw")) {
		int r = ftw(argv[2], ftw_cb, 4);

		printf("ret=%d\n", r);
		return 0;
	}
	if (!strcmp(argv[1], "fts"))
		return do_fts(argv[2]);
	if (!strcmp(argv[1], "fts2") && argc > 3) {
		nopt = argc - 4;
		opts = argv + 4;
		return do_fts2(argv[2], argv[3]);
	}
	fprintf(stderr, "walk-probe: unknown operation %s\n", argv[1]);
	return 2;
}
EOF
if test_have_prereq CC &&
	${CC:-cc} -O1 -Wall -o "$PROBE" "$TEST_TMP/walk-probe.c" >"$TEST_TMP/cc.log" 2>&1 &&
	${CC:-cc} -O1 -Wall -D_FILE_OFFSET_BITS=64 -o "$PROBE64" "$TEST_TMP/walk-probe.c" \
		>>"$TEST_TMP/cc.log" 2>&1; then
	test_set_prereq PROBE
else
	comment <"$TEST_TMP/cc.log"
fi

# same PROBE-ARGS...: the probe on the union (in $M) and on ref/ (in $R, with $M
# in the arguments replaced by $R) prints the same lines and exits alike; sorted
# first when the walk order follows readdir order (SORTED=1). Both outputs are
# left in actual and expect.
same() {
	in_m "\"$PROBE\" $*; echo exit=\$?" >actual.raw &&
	in_r "\"$PROBE\" $(printf '%s' "$*" | sed -e "s|$M|$R|g"); echo exit=\$?" >expect.raw &&
	sed -e "s|$M|@|g" actual.raw >actual &&
	sed -e "s|$R|@|g" expect.raw >expect &&
	if [ "${SORTED:-0}" = 1 ]; then
		sort actual >actual.s && mv actual.s actual &&
		sort expect >expect.s && mv expect.s expect
	fi &&
	test_cmp expect actual
}

test_expect_success PROBE 'the probe compiles (with and without _FILE_OFFSET_BITS=64)' '
	test -x "$PROBE" && test -x "$PROBE64" &&
	nm "$PROBE64" | grep -q "U nftw64" &&
	nm "$PROBE64" | grep -q "U glob64" &&
	nm "$PROBE64" | grep -q "U fts64_read"
'

test_expect_success PROBE 'outside every union the library changes nothing' '
	(cd "$R" && "$PROBE" nftw d phys) | sort >expect &&
	in_r "\"$PROBE\" nftw d phys" | sort >actual &&
	test_cmp expect actual &&
	(cd "$R" && "$PROBE" fts d physical sort) >expect &&
	in_r "\"$PROBE\" fts d physical sort" >actual &&
	test_cmp expect actual &&
	(cd "$R" && "$PROBE" glob "d/*") >expect &&
	in_r "\"$PROBE\" glob \"d/*\"" >actual &&
	test_cmp expect actual
'

# ---------------------------------------------------------------- glob
test_expect_success PROBE 'glob * lists every branch once, no whiteout, no hidden name' '
	in_m "\"$PROBE\" glob \"d/*\"" >actual &&
	printf "d/%s\n" b1 bdir dangle lext opq sub t1 >expect &&
	test_cmp expect actual &&
	in_m "\"$PROBE\" glob \"d/opq/*\"" >actual &&
	echo d/opq/o1 >expect &&
	test_cmp expect actual
'

test_expect_success PROBE 'glob ?, [..], several levels, absolute, like glibc on the copy' '
	for p in "d/?1" "d/[bt]*" "d/[!b]*" "d/*/*" "*/s*/*" "d/*/?" "e/*" "d/sub/up/*" \
		"d/b2" "d/.wh.*" "d/*/.wh*" "d/bdir/deep/y" "d/nosuch/*"; do
		same glob "\"$p\"" || return 1
	done &&
	same glob "\"$M/d/*/*\"" &&
	same glob "\"$M/*\""
'

test_expect_success PROBE 'glob flags: MARK, ONLYDIR, PERIOD, NOCHECK, ERR, APPEND' '
	same glob "\"d/*\"" mark &&
	same glob "\"d/*\"" onlydir &&
	same glob "\"d/*\"" period &&
	same glob "\"d/.*\"" &&
	same glob "\"d/b2*\"" nocheck &&
	same glob "\"d/*/*\"" err &&
	same glob "\"d/s*\"" append="e/*" &&
	in_m "\"$PROBE\" glob \"d/.*\" period" >actual &&
	printf "d/%s\n" . .. .bdot .tdot >expect &&
	test_cmp expect actual
'

test_expect_success PROBE 'glob with the caller'"'"'s own GLOB_ALTDIRFUNC (through our opendir)' '
	same glob "\"d/*/*\"" alt &&
	same glob "\"d/*\"" alt mark
'

test_expect_success PROBE 'glob64 (_FILE_OFFSET_BITS=64)' '
	in_m "\"$PROBE64\" glob \"d/*/*\" mark" >actual &&
	in_m "\"$PROBE\" glob \"d/*/*\" mark" >expect &&
	test_cmp expect actual &&
	grep -q "^d/sub/bs$" actual
'

test_expect_success PROBE 'glob from above the mount point descends into the union' '
	in_m "\"$PROBE\" glob \"$TRASH/up/*/d/b*\"" >actual &&
	printf "$M/d/%s\n" b1 bdir >expect &&
	test_cmp expect actual &&
	in_m "cd .. && \"$PROBE\" glob \"*/d/t*\"" >actual &&
	echo mnt/d/t1 >expect &&
	test_cmp expect actual
'

cat >"$TEST_TMP/php-walk-glob.php" <<\EOF
<?php
foreach (glob("d/*") as $f) echo $f, "\n";
foreach (glob("d/*", GLOB_ONLYDIR) as $f) echo $f, "\n";
EOF
cat >"$TEST_TMP/py-walk-glob.py" <<\EOF
import glob
print("\n".join(sorted(glob.glob("d/*/*"))))
EOF

test_expect_success PHP 'php glob()' '
	in_m "$PHP \"$TEST_TMP/php-walk-glob.php\"" >actual &&
	printf "d/%s\n" b1 bdir dangle lext opq sub t1 bdir lext opq sub >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'python glob.glob (its own scandir)' '
	in_m "python3 \"$TEST_TMP/py-walk-glob.py\"" >actual &&
	(cd "$R" && python3 "$TEST_TMP/py-walk-glob.py") >expect &&
	test_cmp expect actual &&
	grep -q "^d/sub/bs\$" actual
'

# ---------------------------------------------------------------- nftw, ftw
test_expect_success PROBE 'nftw FTW_PHYS: the merged tree, links as sl, sizes from their branch' '
	in_m "\"$PROBE\" nftw d phys" | sort >actual &&
	cat >expect <<-\EOF &&
	d 0 d d
	d 1 bdir d/bdir
	d 1 opq d/opq
	d 1 sub d/sub
	d 2 deep d/bdir/deep
	f 1 .bdot d/.bdot size=5
	f 1 .tdot d/.tdot size=5
	f 1 b1 d/b1 size=3
	f 1 t1 d/t1 size=3
	f 2 bs d/sub/bs size=10
	f 2 o1 d/opq/o1 size=3
	f 2 ts d/sub/ts size=3
	f 2 x d/bdir/x size=2
	f 3 y d/bdir/deep/y size=3
	ret=0
	sl 1 dangle d/dangle
	sl 1 lext d/lext
	sl 2 up d/sub/up
	EOF
	test_cmp expect actual
'

test_expect_success PROBE 'nftw, each flag and combination, like glibc on the copy' '
	for f in "" phys depth "phys depth" mount "phys mount" "depth mount"; do
		SORTED=1 same nftw d $f || return 1
	done &&
	SORTED=1 same nftw "$M/d/" phys &&
	SORTED=1 same nftw d/sub/up &&
	SORTED=1 same nftw d/sub/up phys &&
	SORTED=1 same nftw d/dangle &&
	SORTED=1 same nftw d/dangle phys &&
	SORTED=1 same nftw d/t1 &&
	SORTED=1 same nftw d/nosuch &&
	SORTED=1 same nftw d badflag
'

test_expect_success PROBE 'nftw FTW_DEPTH: every directory after its entries' '
	in_m "\"$PROBE\" nftw d phys depth" >out &&
	grep -n "" out >numbered &&
	for dir in d/sub d/bdir d/bdir/deep d/opq d; do
		last_child=$(grep " $dir/" numbered | tail -n 1 | cut -d: -f1) &&
		self=$(grep "^[0-9]*:dp [0-9]* [^ ]* $dir\$" numbered | cut -d: -f1) &&
		test -n "$self" && test "$self" -gt "$last_child" || return 1
	done &&
	! grep "^d " out
'

test_expect_success PROBE 'nftw FTW_CHDIR: the callback runs in the directory of its entry' '
	SORTED=1 same nftw d chdir &&
	SORTED=1 same nftw d chdir phys depth &&
	SORTED=1 same nftw "$M/d" chdir &&
	in_m "\"$PROBE\" nftw d/sub chdir phys" >actual &&
	grep "^f 1 bs d/sub/bs size=10 cwd=$M/d/sub\$" actual &&
	grep "^d 0 sub d/sub cwd=$M/d\$" actual &&
	in_m "\"$PROBE\" nftw d/sub chdir phys >/dev/null; pwd; cat d/sub/bs" >actual &&
	printf "%s\n" "$M" bs-longer >expect &&
	test_cmp expect actual
'

test_expect_success PROBE 'nftw FTW_ACTIONRETVAL: SKIP_SUBTREE, SKIP_SIBLINGS, STOP' '
	SORTED=1 same nftw d actionretval skipsub=bdir &&
	in_m "\"$PROBE\" nftw d phys actionretval skipsub=bdir" >actual &&
	grep "^d 1 bdir d/bdir" actual &&
	! grep "d/bdir/" actual &&
	in_m "\"$PROBE\" nftw d phys depth actionretval skipsib=sub" >actual &&
	test $(grep -c " d/sub/" actual) = 1 &&
	grep "^dp 1 sub d/sub\$" actual &&
	grep "^dp 0 d d\$" actual &&
	grep -q "^f 1 t1 d/t1" actual &&
	in_m "\"$PROBE\" nftw d phys actionretval stop=sub" >actual &&
	tail -n 1 actual >last &&
	echo ret=1 >expect &&
	test_cmp expect last &&
	! grep " d/sub/" actual &&
	in_m "\"$PROBE\" nftw d phys fail=t1" >actual &&
	tail -n 1 actual >last &&
	echo ret=42 >expect &&
	test_cmp expect last
'

test_expect_success PROBE 'nftw FTW_MOUNT counts the union as one file system' '
	rm -rf /dev/shm/aufs-t5003-$$ &&
	mkdir /dev/shm/aufs-t5003-$$ &&
	trap "rm -rf /dev/shm/aufs-t5003-$$" EXIT &&
	mkdir /dev/shm/aufs-t5003-$$/d &&
	echo s >/dev/shm/aufs-t5003-$$/d/shm-file &&
	aufs_run -o "br:/dev/shm/aufs-t5003-$$=rw:$T=ro+wh:$BASE=ro" "$M" -- \
		sh -c "cd \"$M\" && \"$PROBE\" nftw d phys mount" | sort >actual &&
	in_m "\"$PROBE\" nftw d phys" >expect.raw &&
	{ cat expect.raw && echo "f 1 shm-file d/shm-file size=2"; } | sort >expect &&
	test_cmp expect actual
'

test_expect_success PROBE 'nftw and ftw from above the mount point walk into the union' '
	in_m "\"$PROBE\" nftw \"$TRASH/up\" phys" | sort >actual &&
	grep "^f 3 b1 $M/d/b1 size=3\$" actual &&
	grep "^f 4 bs $M/d/sub/bs size=10\$" actual &&
	! grep hidden actual &&
	in_m "\"$PROBE\" ftw \"$TRASH/up\"" >actual &&
	grep "^f -1 x $M/d/bdir/x size=2\$" actual
'

test_expect_success PROBE 'ftw: old type flags (no sl, dp, sln), symlinks followed' '
	SORTED=1 same ftw d &&
	in_m "\"$PROBE\" ftw d" >actual &&
	grep "^ns -1 dangle d/dangle\$" actual &&
	grep "^f -1 f d/lext/f size=2\$" actual &&
	! grep -e "^sl" -e "^dp" -e "^sln" -e " d/sub/up" actual
'

test_expect_success PROBE 'nftw64 and ftw64 (_FILE_OFFSET_BITS=64) see the same tree' '
	in_m "\"$PROBE64\" nftw d depth" | sort >actual &&
	in_m "\"$PROBE\" nftw d depth" | sort >expect &&
	test_cmp expect actual &&
	in_m "\"$PROBE64\" ftw d" | sort >actual &&
	in_m "\"$PROBE\" ftw d" | sort >expect &&
	test_cmp expect actual
'

# ---------------------------------------------------------------- fts
test_expect_success PROBE 'fts FTS_PHYSICAL with a comparator: order and info like glibc' '
	same fts d physical sort &&
	same fts d physical nochdir sort &&
	in_m "\"$PROBE\" fts d physical sort" >actual &&
	grep "^F 1 b1 d/b1 acc=1 size=3\$" actual &&
	grep "^SLNONE\|^SL 1 dangle d/dangle acc=1\$" actual &&
	grep "^DP 0 d d acc=1\$" actual &&
	! grep -e hidden -e "\.wh\." -e b2 actual
'

test_expect_success PROBE 'fts FTS_LOGICAL: links followed, the cycle is FTS_DC' '
	same fts d logical sort &&
	in_m "\"$PROBE\" fts d logical sort" >actual &&
	grep "^DC 2 up d/sub/up acc=1 cycle=0\$" actual &&
	grep "^SLNONE 1 dangle d/dangle" actual &&
	grep "^F 2 f d/lext/f acc=1 size=2\$" actual
'

test_expect_success PROBE 'fts NOSTAT, SEEDOT, COMFOLLOW, XDEV, several roots' '
	same fts d physical nostat sort &&
	same fts d physical seedot sort &&
	same fts d/lext physical comfollow sort &&
	same fts d/lext physical sort &&
	same fts d physical xdev sort &&
	same fts d/sub,e,d/nosuch,d/t1 physical sort &&
	same fts d/t1,e/f,d/b1,d/.bdot physical &&
	same fts d/sub,e physical sort rootlist
'

test_expect_success PROBE 'fts_set: FTS_SKIP, FTS_AGAIN, FTS_FOLLOW; fts_children' '
	same fts d physical sort skip=sub &&
	in_m "\"$PROBE\" fts d physical sort skip=sub" >actual &&
	grep "^DP 1 sub d/sub acc=1\$" actual &&
	! grep " d/sub/" actual &&
	same fts d physical sort again=t1 &&
	test $(in_m "\"$PROBE\" fts d physical sort again=t1" | grep -c " d/t1 ") = 2 &&
	same fts d physical sort follow=lext &&
	in_m "\"$PROBE\" fts d physical sort follow=lext" >actual &&
	grep "^F 2 f d/lext/f" actual &&
	same fts d physical sort children &&
	same fts d physical sort nameonly &&
	same fts d physical sort children skipchild=bdir &&
	in_m "\"$PROBE\" fts d physical sort children skipchild=bdir" >actual &&
	! grep " d/bdir" actual
'

test_expect_success PROBE 'fts64 (_FILE_OFFSET_BITS=64)' '
	in_m "\"$PROBE64\" fts d logical sort children" >actual &&
	in_m "\"$PROBE\" fts d logical sort children" >expect &&
	test_cmp expect actual
'

test_expect_success PROBE 'glibc'"'"'s FTS and ours at the same time' '
	in_m "\"$PROBE\" fts2 \"$R/d\" d physical nochdir sort" >actual &&
	grep "^A F 1 b1 $R/d/b1 acc=1 size=3\$" actual &&
	grep "^B F 1 b1 d/b1 acc=1 size=3\$" actual &&
	grep "^B F 2 bs d/sub/bs acc=1 size=10\$" actual &&
	sed -n "s/^A //p" actual | sed "s|$R/||" >a &&
	sed -n "s/^B //p" actual >b &&
	test_cmp a b
'

test_expect_success PROBE 'fts from above the mount point walks into the union' '
	in_m "\"$PROBE\" fts \"$TRASH/up\" physical sort" >actual &&
	grep "^F 3 t1 $M/d/t1 acc=1 size=3\$" actual &&
	grep "^D 1 mnt $M acc=1\$" actual &&
	! grep hidden actual
'

test_expect_success UNPRIV,PROBE 'unreadable directories: FTW_DNR and FTS_DNR' '
	chmod 0 "$BASE/d/bdir/deep" "$R/d/bdir/deep" &&
	SORTED=1 same nftw d phys; st=$? &&
	{ [ $st != 0 ] || SORTED=1 same nftw d phys depth; st=$?; } &&
	{ [ $st != 0 ] || same fts d physical sort; st=$?; } &&
	chmod 755 "$BASE/d/bdir/deep" "$R/d/bdir/deep" &&
	[ $st = 0 ] &&
	grep "^DNR 2 deep d/bdir/deep acc=1 errno=13\$" actual
'

test_expect_success 'the branches are untouched' '
	branch_untouched "$T" &&
	branch_untouched "$BASE"
'

test_done
