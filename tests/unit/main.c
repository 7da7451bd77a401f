/* SPDX-License-Identifier: MIT */
/*
 * main.c - the one runner of the libcheck unit suites (doc/HACKING.md): one suite
 * per core module, each in its own check_<module>.c.
 *
 * libcheck's fork mode stays on (the default; CK_FORK=no in the environment turns
 * it off for a debugger), so that a crash fails one test and not the run.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

Suite *config_suite(void);
Suite *lookup_suite(void);
Suite *readdir_suite(void);
Suite *copyup_suite(void);
Suite *rename_suite(void);
Suite *whiteout_suite(void);
Suite *policy_suite(void);
Suite *shm_suite(void);
Suite *shebang_suite(void);
Suite *fdtable_suite(void);
Suite *namespace_suite(void);
Suite *perm_suite(void);
Suite *longpath_suite(void);
Suite *table_suite(void);
Suite *shcache_suite(void);
Suite *xino_suite(void);
Suite *plink_suite(void);
Suite *beneath_suite(void);

/* One constructor per suite, NULL-terminated. A new module's suite goes here. */
static Suite *(*const suites[])(void) = {
	config_suite,
	lookup_suite,
	readdir_suite,
	copyup_suite,
	rename_suite,
	whiteout_suite,
	policy_suite,
	shm_suite,
	shebang_suite,
	fdtable_suite,
	namespace_suite,
	perm_suite,
	longpath_suite,
	table_suite,
	shcache_suite,
	xino_suite,
	plink_suite,
	beneath_suite,
	NULL,
};

/*
 * The unions' tables of inode numbers (state_xino.c) go to a directory of the
 * run, not to /dev/shm, and go with it.
 */
static char xino_dir[] = "/tmp/aufs-check-xino-XXXXXX";
static pid_t runner;

/* at the runner's exit, not at a forked test's */
static void xino_dir_remove(void)
{
	DIR *d = getpid() == runner ? opendir(xino_dir) : NULL;
	struct dirent *e;
	char p[sizeof(xino_dir) + 256 + 2];

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", xino_dir, e->d_name);
			unlink(p);
		}
	if (!d)
		return;
	closedir(d);
	rmdir(xino_dir);
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (!getenv("AUFS_XINO_DIR") && mkdtemp(xino_dir)) {
		setenv("AUFS_XINO_DIR", xino_dir, 1);
		runner = getpid();
		atexit(xino_dir_remove);
	}
	sr = srunner_create(NULL);

	for (size_t i = 0; suites[i]; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
