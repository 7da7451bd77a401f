/* SPDX-License-Identifier: MIT */
/*
 * aufsctl - administer a host table of unions and the unions while their
 * processes run. This file reads the command line and dispatches; the commands on
 * unions are in aufsctl_union.c (status, reval) and aufsctl_tree.c (diff, check).
 *
 *   aufsctl load   [--image PATH] FILE     compile FILE into its shared image
 *   aufsctl reload [--image PATH] [FILE]   the same, and every running process of
 *                                          the old image adopts the new one
 *   aufsctl image  [--image PATH] FILE     print the image's path
 *   aufsctl check  [--image PATH] FILE     is the image trusted, whole and current?
 *   aufsctl remount [--fstab FILE] -o ITEMS (MNT...|--all)
 *                                          change unions of the table (or of
 *                                          aufs-run -o sessions) live
 *   aufsctl status [UNION] [MNT]           unions, branches, processes, counters
 *   aufsctl reval  UNION MNT [PATH]        running processes drop what they cached
 *   aufsctl diff   UNION MNT               the top writable branch's changes
 *   aufsctl check  [--repair] UNION MNT    leftovers and useless markers
 *
 * UNION: -o OPTIONS (as for aufs-run) or --fstab FILE (default $AUFS_FSTAB); --json
 * for machines. FILE defaults to $AUFS_FSTAB for reload; PATH to $AUFS_TABLE, then
 * to the default image of FILE (/dev/shm/aufs-table.OWNER.HASH). See aufsctl(8).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aufsctl.h"

#define EXIT_UNUSABLE EXIT_FOUND	/* check FILE: the image is missing, stale, foreign... */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aufsctl load   [--image PATH] FILE\n"
		"       aufsctl reload [--image PATH] [FILE]\n"
		"       aufsctl image  [--image PATH] FILE\n"
		"       aufsctl check  [--image PATH] FILE\n"
		"       aufsctl remount [--fstab FILE] [--image PATH] -o ITEMS (MNT...|--all)\n"
		"       aufsctl status [--json] [-o OPTIONS | --fstab FILE] [MNT]\n"
		"       aufsctl reval  [-o OPTIONS | --fstab FILE] MNT [PATH]\n"
		"       aufsctl diff   [--json] [-o OPTIONS | --fstab FILE] MNT\n"
		"       aufsctl check  [--repair] [--json] [-o OPTIONS | --fstab FILE] MNT\n"
		"       aufsctl check  --xino [--repair] [DIR]\n"
		"       aufsctl flush  [-o OPTIONS | --fstab FILE] MNT\n"
		"Administer the host table FILE (fstab form: none MNT aufs OPTIONS 0 0) that\n"
		"processes started with AUFS_FSTAB=FILE map from its compiled image, and the\n"
		"unions while their processes run.\n"
		"\n"
		"  load    compile FILE and write its image\n"
		"  reload  the same; running processes of the old image adopt the new one at\n"
		"          their next call (FILE defaults to $AUFS_FSTAB)\n"
		"  image   print the path of FILE's image\n"
		"  check FILE  exit 0 when the image is trusted, whole and describes FILE\n"
		"  remount apply aufs remount ITEMS (add:I:BR, ins:I:BR, append:BR, prepend:BR,\n"
		"          del:BR, mod:BR=PERM, options) to unions of the host table FILE\n"
		"          (default $AUFS_FSTAB), then reload it; without --fstab, when\n"
		"          AUFS_FSTAB has no union at MNT, to the running aufs-run -o\n"
		"          sessions that have one\n"
		"  status  the unions (or the one at MNT): branches, options, processes\n"
		"          attached to the shared state, generation and counters\n"
		"  reval   every process of the union drops what it cached (about the\n"
		"          directory PATH only, when given) at its next call\n"
		"  diff    the top writable branch against the view below it: A added,\n"
		"          M changed, D deleted, O opaque directory, one path a line\n"
		"  check MNT  interrupted copy-ups, leftover temporaries, whiteouts and opaque\n"
		"          markers that hide nothing, warn_perm; --repair removes them\n"
		"  check --xino  tables of inode numbers in DIR (default $AUFS_XINO_DIR, else\n"
		"          /dev/shm) that no process maps; --repair removes them\n"
		"  flush   make the union's pseudo-links real hard links in its writable\n"
		"          branch (auplink): before removing a branch, before backing up\n"
		"          the writable branch alone\n"
		"\n"
		"  --image PATH    the image (default $AUFS_TABLE, else /dev/shm/aufs-table.*)\n"
		"  -o OPTIONS      the union at MNT has these aufs options (as for aufs-run)\n"
		"  --fstab FILE    find the union at MNT in the host table FILE\n"
		"                  (default $AUFS_FSTAB)\n"
		"  --json          one JSON object on standard output\n"
		"\n"
		"Exit status: 0 done; 1 failed (no right to, I/O); 2 bad usage or input (a bad\n"
		"fstab line, no union at MNT, a missing branch); 3 check found something.\n"
		"See aufsctl(8) and aufs-preload(7).\n");
}

static int fail(int code, const char *fmt, const char *a, const char *b)
{
	return ctl_fail(code, fmt, a, b);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int do_load(const char *fstab, const char *image, bool reload)
{
	struct aufs_err err = { 0 }, notice = { 0 };
	struct aufs_config *cfg = NULL;
	char path[PATH_MAX];
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = aufs_table_open(fstab, image,
			    AUFS_TABLE_MAY_WRITE | AUFS_TABLE_FORCE | AUFS_TABLE_MUST_WRITE, &cfg,
			    &err, &notice);
	if (r < 0)
		/* the fstab's own faults (a bad line, no such file) are the user's to fix */
		return fail(notice.code != -EROFS && (r == -EINVAL || r == -ENOENT ||
						      r == -ENOTDIR || r == -EFBIG || r == -EISDIR) ?
			    EXIT_USAGE : EXIT_FAILED, "%s%s", err.msg, "");
	if (notice.code)
		fprintf(stderr, "aufsctl: %s\n", notice.msg);
	/* where it went: beside its name when another user holds that */
	(void)aufs_table_image_in_use(cfg->image, cfg->fstab_owner, path, sizeof(path));
	printf("%s: %d union%s, image %s, %zu bytes, %.0f ms\n", cfg->fstab, cfg->nunion,
	       cfg->nunion == 1 ? "" : "s", path, cfg->table_size, ms_since(&t0));
	if (reload)
		printf("%s: the processes of the image it replaced adopt it at their next call\n",
		       path);
	return 0;
}

static int do_image(const char *fstab, const char *image)
{
	char abs[PATH_MAX], buf[PATH_MAX], in_use[PATH_MAX];
	struct stat st;

	if (aufs_table_fstab_path(fstab, abs, sizeof(abs)) < 0)
		return fail(EXIT_USAGE, "%s: %s", fstab, strerror(ENAMETOOLONG));
	if (stat(abs, &st) < 0) {
		if (image && *image) {
			puts(image);	/* the name given: nothing tells whose it is */
			return 0;
		}
		return fail(EXIT_USAGE, "%s: %s", fstab, strerror(errno));
	}
	if (image && *image)
		snprintf(buf, sizeof(buf), "%s", image);
	else if (aufs_table_default_image(abs, st.st_uid, buf, sizeof(buf)) < 0)
		return fail(EXIT_USAGE, "%s: %s", fstab, strerror(ENAMETOOLONG));
	/* the fallback beside it when another user holds the name */
	(void)aufs_table_image_in_use(buf, st.st_uid, in_use, sizeof(in_use));
	puts(in_use);
	return 0;
}

static int do_check(const char *fstab, const char *image)
{
	struct aufs_err err = { 0 };
	char path[PATH_MAX];
	unsigned n = 0;
	int r;

	r = aufs_table_check(fstab, image, path, sizeof(path), &n, &err);
	if (r == -ENODEV)
		return fail(EXIT_USAGE, "%s%s", err.msg, "");
	if (r == -ENOENT)
		return fail(EXIT_UNUSABLE, "%s: missing (aufsctl load %s makes it)", path, fstab);
	if (r < 0)
		return fail(EXIT_UNUSABLE, "%s%s", err.msg[0] ? err.msg : strerror(-r), "");
	printf("%s: ok, %u union%s, describes %s\n", path, n, n == 1 ? "" : "s", fstab);
	return 0;
}

static bool is_table_cmd(const char *cmd)
{
	return !strcmp(cmd, "load") || !strcmp(cmd, "reload") || !strcmp(cmd, "image");
}

/*
 * check FILE or check MNT? The union's options (-o, --fstab, --repair, --json)
 * say MNT, --image says FILE; otherwise a regular file is an fstab (a mount point
 * is a directory).
 */
static bool check_is_image(const struct ctl_args *u, bool image_given, const char *arg)
{
	struct stat st;

	if (image_given)
		return true;
	if (u->options || u->fstab || u->repair || u->json)
		return false;
	return arg && stat(arg, &st) == 0 && S_ISREG(st.st_mode);
}

const char *ctl_env_image(const char *file)
{
	const char *image = getenv("AUFS_TABLE"), *env_fstab = getenv("AUFS_FSTAB");
	char a[PATH_MAX], b[PATH_MAX];

	if (!image || !*image || !env_fstab || !*env_fstab)
		return image;
	/* inside an aufs-run session both name the session's files, not FILE's */
	if (!file || aufs_table_fstab_path(file, a, sizeof(a)) < 0 ||
	    aufs_table_fstab_path(env_fstab, b, sizeof(b)) < 0 || strcmp(a, b))
		return NULL;
	return image;
}

int main(int argc, char **argv)
{
	const char *cmd, *image = getenv("AUFS_TABLE"), *file = NULL, *arg[2] = { NULL, NULL };
	struct ctl_args u = { 0 };
	bool image_given = false;
	int i, nargs = 0;

	if (argc < 2)
		return usage(stderr), EXIT_USAGE;
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("aufsctl (aufs-preload) %s\n", AUFS_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "remount"))
		return aufsctl_remount(argc - 2, argv + 2);
	if (!is_table_cmd(cmd) && strcmp(cmd, "check") && strcmp(cmd, "status") &&
	    strcmp(cmd, "reval") && strcmp(cmd, "diff") && strcmp(cmd, "flush"))
		return fail(EXIT_USAGE, "unknown command \"%s\" (try --help)%s", cmd, "");
	u.cmd = cmd;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		bool table = is_table_cmd(cmd) || !strcmp(cmd, "check");
		bool unions = !is_table_cmd(cmd);

		if (table && (!strcmp(a, "--image") || !strncmp(a, "--image=", 8))) {
			image = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
			if (!image || !*image)
				return fail(EXIT_USAGE, "--image needs a PATH%s%s", "", "");
			image_given = true;
			continue;
		}
		if (unions && !strcmp(a, "-o")) {
			if (i + 1 >= argc || !*argv[i + 1])
				return fail(EXIT_USAGE, "-o needs OPTIONS%s%s", "", "");
			if (u.options)
				return fail(EXIT_USAGE, "one -o only (one union)%s%s", "", "");
			u.options = argv[++i];
			continue;
		}
		if (unions && (!strcmp(a, "--fstab") || !strncmp(a, "--fstab=", 8))) {
			u.fstab = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
			if (!u.fstab || !*u.fstab)
				return fail(EXIT_USAGE, "--fstab needs a FILE%s%s", "", "");
			continue;
		}
		if (unions && !strcmp(a, "--json")) {
			u.json = true;
			continue;
		}
		if (!strcmp(cmd, "check") && !strcmp(a, "--repair")) {
			u.repair = true;
			continue;
		}
		if (!strcmp(cmd, "check") && !strcmp(a, "--xino")) {
			u.xino = true;
			continue;
		}
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] == '-' && a[1])
			return fail(EXIT_USAGE, "%s: unknown option \"%s\" (try --help)", cmd, a);
		if (nargs == 2)
			return fail(EXIT_USAGE, "%s: too many arguments (\"%s\" is extra)", cmd, a);
		arg[nargs++] = a;
	}
	for (; i < argc; i++) {
		if (nargs == 2)
			return fail(EXIT_USAGE, "%s: too many arguments (\"%s\" is extra)", cmd,
				    argv[i]);
		arg[nargs++] = argv[i];
	}
	if (u.options && u.fstab)
		return fail(EXIT_USAGE, "%s: -o and --fstab name the union twice: give one", cmd, "");
	if (u.xino) {
		if (u.options || u.fstab || image_given || u.json || nargs > 1)
			return fail(EXIT_USAGE, "check --xino takes [--repair] and one DIR only%s%s",
				    "", "");
		return ctl_check_xino(&u, arg[0]);
	}
	if (!is_table_cmd(cmd) && !(!strcmp(cmd, "check") && check_is_image(&u, image_given, arg[0]))) {
		if (image_given)
			return fail(EXIT_USAGE, "%s: --image is for the host table's image%s", cmd, "");
		if (!u.options && !u.fstab)
			u.fstab = getenv("AUFS_FSTAB");
		u.mnt = arg[0];
		u.path = arg[1];
		if (arg[1] && strcmp(cmd, "reval"))
			return fail(EXIT_USAGE, "%s: one MNT only (\"%s\" is extra)", cmd, arg[1]);
		if (!u.mnt && strcmp(cmd, "status"))
			return fail(EXIT_USAGE, "%s needs the union's mount point MNT%s", cmd, "");
		if (!strcmp(cmd, "status"))
			return ctl_status(&u);
		if (!strcmp(cmd, "reval"))
			return ctl_reval(&u);
		if (!strcmp(cmd, "diff"))
			return ctl_diff(&u);
		if (!strcmp(cmd, "flush"))
			return ctl_flush(&u);
		return ctl_check_union(&u);
	}
	if (nargs > 1)
		return fail(EXIT_USAGE, "%s: one FILE only (\"%s\" is extra)", cmd, arg[1]);
	file = arg[0];
	if (!file && !strcmp(cmd, "reload"))
		file = getenv("AUFS_FSTAB");
	if (!file || !*file)
		return fail(EXIT_USAGE, "%s needs an fstab FILE%s", cmd,
			    strcmp(cmd, "reload") ? "" : " (or AUFS_FSTAB)");
	if (!image_given)
		image = ctl_env_image(file);
	if (!strcmp(cmd, "image"))
		return do_image(file, image);
	if (!strcmp(cmd, "check"))
		return do_check(file, image);
	return do_load(file, image, !strcmp(cmd, "reload"));
}
