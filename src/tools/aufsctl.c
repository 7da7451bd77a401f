/* SPDX-License-Identifier: MIT */
/*
 * aufsctl - administer a host table of unions while its processes run.
 *
 *   aufsctl load   [--image PATH] FILE     compile FILE into its shared image
 *   aufsctl reload [--image PATH] [FILE]   the same, and every running process of
 *                                          the old image adopts the new one
 *   aufsctl image  [--image PATH] FILE     print the image's path
 *   aufsctl check  [--image PATH] FILE     is the image trusted, whole and current?
 *   aufsctl remount [--fstab FILE] -o ITEMS (MNT...|--all)
 *                                          change unions of the table live
 *
 * FILE defaults to $AUFS_FSTAB for reload; PATH to $AUFS_TABLE, then to the default
 * image of FILE (/dev/shm/aufs-table.OWNER.HASH). See aufsctl(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>

#include "aufs/core.h"
#include "aufsctl.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aufsctl load   [--image PATH] FILE\n"
		"       aufsctl reload [--image PATH] [FILE]\n"
		"       aufsctl image  [--image PATH] FILE\n"
		"       aufsctl check  [--image PATH] FILE\n"
		"       aufsctl remount [--fstab FILE] [--image PATH] -o ITEMS (MNT...|--all)\n"
		"Administer the host table FILE (fstab form: none MNT aufs OPTIONS 0 0) that\n"
		"processes started with AUFS_FSTAB=FILE map from its compiled image.\n"
		"\n"
		"  load    compile FILE and write its image\n"
		"  reload  the same; running processes of the old image adopt the new one at\n"
		"          their next call (FILE defaults to $AUFS_FSTAB)\n"
		"  image   print the path of FILE's image\n"
		"  check   exit 0 when the image is trusted, whole and describes FILE\n"
		"  remount apply aufs remount ITEMS (add:I:BR, ins:I:BR, append:BR, prepend:BR,\n"
		"          del:BR, mod:BR=PERM, options) to unions of the host table FILE\n"
		"          (default $AUFS_FSTAB), then reload it\n"
		"\n"
		"  --image PATH  the image (default $AUFS_TABLE, else /dev/shm/aufs-table.*)\n"
		"\n"
		"Exit status: 0 done; 1 failed (the image cannot be written); 2 bad usage or a\n"
		"bad fstab (the message names the line); 3 (check) the image is not usable.\n"
		"See aufsctl(8) and aufs-preload(7).\n");
}

static int fail(int code, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "aufsctl: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return code;
}

int fail_exit(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aufsctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
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
	printf("%s: %d union%s, image %s, %zu bytes, %.0f ms\n", cfg->fstab, cfg->nunion,
	       cfg->nunion == 1 ? "" : "s", cfg->image, cfg->table_size, ms_since(&t0));
	if (reload)
		printf("%s: the processes of the image it replaced adopt it at their next call\n",
		       cfg->image);
	return 0;
}

static int do_image(const char *fstab, const char *image)
{
	char abs[PATH_MAX], buf[PATH_MAX];
	struct stat st;

	if (image && *image) {
		puts(image);
		return 0;
	}
	if (aufs_table_fstab_path(fstab, abs, sizeof(abs)) < 0)
		return fail(EXIT_USAGE, "%s: %s", fstab, strerror(ENAMETOOLONG));
	if (stat(abs, &st) < 0)
		return fail(EXIT_USAGE, "%s: %s", fstab, strerror(errno));
	if (aufs_table_default_image(abs, st.st_uid, buf, sizeof(buf)) < 0)
		return fail(EXIT_USAGE, "%s: %s", fstab, strerror(ENAMETOOLONG));
	puts(buf);
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

int main(int argc, char **argv)
{
	const char *cmd, *image = getenv("AUFS_TABLE"), *file = NULL;
	int i;

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
		return aufsctl_remount(argc - 2, argv + 2, image);
	if (strcmp(cmd, "load") && strcmp(cmd, "reload") && strcmp(cmd, "image") &&
	    strcmp(cmd, "check"))
		return fail(EXIT_USAGE, "unknown command \"%s\" (try --help)%s", cmd, "");
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--image") || !strncmp(a, "--image=", 8)) {
			image = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
			if (!image || !*image)
				return fail(EXIT_USAGE, "--image needs a PATH%s%s", "", "");
			continue;
		}
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] == '-' && a[1])
			return fail(EXIT_USAGE, "unknown option \"%s\" (try --help)%s", a, "");
		break;
	}
	if (i < argc)
		file = argv[i++];
	if (i < argc)
		return fail(EXIT_USAGE, "%s: one FILE only (\"%s\" is extra)", cmd, argv[i]);
	if (!file && !strcmp(cmd, "reload"))
		file = getenv("AUFS_FSTAB");
	if (!file || !*file)
		return fail(EXIT_USAGE, "%s needs an fstab FILE%s", cmd,
			    strcmp(cmd, "reload") ? "" : " (or AUFS_FSTAB)");
	if (!strcmp(cmd, "image"))
		return do_image(file, image);
	if (!strcmp(cmd, "check"))
		return do_check(file, image);
	return do_load(file, image, !strcmp(cmd, "reload"));
}
