/* SPDX-License-Identifier: MIT */
/*
 * main.c - the one runner of the libcheck unit suites (doc/HACKING.md): one suite
 * per core module, each in its own check_<module>.c.
 *
 * libcheck's fork mode stays on (the default; CK_FORK=no in the environment turns
 * it off for a debugger), so that a crash fails one test and not the run.
 */
#include <check.h>
#include <stdlib.h>

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
	NULL,
};

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

	for (size_t i = 0; suites[i]; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
