/* SPDX-License-Identifier: MIT */
/*
 * check_shebang.c - unit tests of the "#!" parser of src/core/exec.c against
 * load_script() of the kernel's fs/binfmt_script.c (Linux 5.1 and later): the
 * interpreter name ends at the first blank or NUL, the rest of the line, trimmed,
 * is one optional argument (inner blanks kept), only the first 256 bytes count,
 * and a line cut there is accepted only when the name ends inside it. Also the
 * readers on files and descriptors, under injected faults (include/aufs/fault.h).
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

Suite *shebang_suite(void);

struct sbcase {
	const char *name;
	const char *text;
	size_t len;		/* 0: strlen(text) */
	int ret;
	const char *interp;
	const char *arg;	/* NULL: none */
};

static const struct sbcase cases[] = {
	{ "plain", "#!/bin/sh\necho hi\n", 0, 0, "/bin/sh", NULL },
	{ "one argument", "#!/bin/sh -e\n", 0, 0, "/bin/sh", "-e" },
	{ "blank after #!", "#! /bin/sh\n", 0, 0, "/bin/sh", NULL },
	{ "tabs around", "#!\t/bin/sh\t-e\t\n", 0, 0, "/bin/sh", "-e" },
	{ "trailing blanks trimmed", "#!/bin/sh   \t \n", 0, 0, "/bin/sh", NULL },
	{ "argument keeps inner blanks", "#!/usr/bin/env  python3  -u  \n", 0, 0, "/usr/bin/env",
	  "python3  -u" },
	{ "argument with a tab inside", "#!/bin/awk -f\t-x\n", 0, 0, "/bin/awk", "-f\t-x" },
	{ "no newline, whole file", "#!/bin/sh", 0, 0, "/bin/sh", NULL },
	{ "no newline, argument", "#!/bin/sh -x", 0, 0, "/bin/sh", "-x" },
	{ "carriage return is part of the name", "#!/bin/sh\r\n", 0, 0, "/bin/sh\r", NULL },
	{ "carriage return is the argument", "#!/bin/sh -e\r\n", 0, 0, "/bin/sh", "-e\r" },
	{ "NUL ends the name, no argument", "#!/bin/sh\0-x\n", 13, 0, "/bin/sh", NULL },
	{ "empty line", "#!\n", 0, -ENOEXEC, NULL, NULL },
	{ "blanks only", "#!  \t \n", 0, -ENOEXEC, NULL, NULL },
	/*
	 * Without a newline the kernel pads with NULs and takes the NUL after the
	 * blanks as an empty name (exec then fails with ENOENT, not ENOEXEC).
	 */
	{ "blanks only, no newline", "#!   ", 0, 0, "", NULL },
	{ "just #!", "#!", 0, 0, "", NULL },
	{ "not a script", "\177ELF\2\1\1", 0, 1, NULL, NULL },
	{ "one #", "#/bin/sh\n", 0, 1, NULL, NULL },
	{ "empty file", "", 0, 1, NULL, NULL },
	{ "blank before #!", " #!/bin/sh\n", 0, 1, NULL, NULL },
};
#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

static int parse(const char *text, size_t len, char *buf, char **name, char **arg)
{
	memset(buf, 'Z', AUFS_SHEBANG_MAX + 1);	/* the parser pads with NULs itself */
	memcpy(buf, text, len < AUFS_SHEBANG_MAX + 1 ? len : AUFS_SHEBANG_MAX + 1);
	*name = *arg = (char *)"unset";
	return aufs_shebang_parse(buf, len, name, arg);
}

START_TEST(test_case)
{
	const struct sbcase *c = &cases[_i];
	char buf[AUFS_SHEBANG_MAX + 1], *name, *arg;
	int r = parse(c->text, c->len ? c->len : strlen(c->text), buf, &name, &arg);

	ck_assert_msg(r == c->ret, "%s: %d, expected %d", c->name, r, c->ret);
	if (r != 0)
		return;
	ck_assert_msg(!strcmp(name, c->interp), "%s: name \"%s\"", c->name, name);
	if (c->arg)
		ck_assert_msg(arg && !strcmp(arg, c->arg), "%s: arg \"%s\"", c->name,
			      arg ? arg : "(none)");
	else
		ck_assert_msg(!arg, "%s: arg \"%s\"", c->name, arg);
}
END_TEST

/* A line longer than the buffer: the argument is cut at byte 255. */
START_TEST(test_long_argument_truncated)
{
	char text[400], buf[AUFS_SHEBANG_MAX + 1], *name, *arg;

	strcpy(text, "#!/bin/sh ");
	memset(text + 10, 'a', 300);
	strcpy(text + 310, "\n");
	ck_assert_int_eq(parse(text, strlen(text), buf, &name, &arg), 0);
	ck_assert_str_eq(name, "/bin/sh");
	ck_assert_ptr_nonnull(arg);
	ck_assert_uint_eq(strlen(arg), AUFS_SHEBANG_MAX - 1 - 10);
	ck_assert(arg[0] == 'a' && arg[strlen(arg) - 1] == 'a');
}
END_TEST

/* The name runs past the buffer: it may be cut, so the kernel refuses. */
START_TEST(test_long_name_refused)
{
	char text[400], buf[AUFS_SHEBANG_MAX + 1], *name, *arg;

	strcpy(text, "#!/");
	memset(text + 3, 'x', 300);
	strcpy(text + 303, " -e\n");
	ck_assert_int_eq(parse(text, strlen(text), buf, &name, &arg), -ENOEXEC);
}
END_TEST

/* The name ends on the last byte of the buffer: accepted, without argument. */
START_TEST(test_name_ends_at_the_edge)
{
	char text[400], buf[AUFS_SHEBANG_MAX + 1], *name, *arg;
	size_t nlen = AUFS_SHEBANG_MAX - 3;	/* "#!" + name + " " = 256 bytes */

	memcpy(text, "#!/", 3);
	memset(text + 3, 'x', nlen - 1);
	strcpy(text + 2 + nlen, " -e -x\n");
	ck_assert_int_eq(parse(text, strlen(text), buf, &name, &arg), 0);
	ck_assert_uint_eq(strlen(name), nlen);
	ck_assert_ptr_null(arg);
	/* one byte longer and the name has no end inside the buffer */
	memcpy(text, "#!/", 3);
	memset(text + 3, 'x', nlen);
	strcpy(text + 3 + nlen, " -e\n");
	ck_assert_int_eq(parse(text, strlen(text), buf, &name, &arg), -ENOEXEC);
}
END_TEST

/* A newline within the buffer after a long but complete line. */
START_TEST(test_newline_at_the_edge)
{
	char text[AUFS_SHEBANG_MAX + 1], buf[AUFS_SHEBANG_MAX + 1], *name, *arg;

	memcpy(text, "#!/bin/sh ", 10);
	memset(text + 10, 'b', AUFS_SHEBANG_MAX - 11);
	text[AUFS_SHEBANG_MAX - 1] = '\n';
	text[AUFS_SHEBANG_MAX] = 0;
	ck_assert_int_eq(parse(text, AUFS_SHEBANG_MAX, buf, &name, &arg), 0);
	ck_assert_uint_eq(strlen(arg), AUFS_SHEBANG_MAX - 11);
}
END_TEST

/* A whole buffer of blanks: refused. */
START_TEST(test_all_blanks)
{
	char text[AUFS_SHEBANG_MAX + 1], buf[AUFS_SHEBANG_MAX + 1], *name, *arg;

	memset(text, ' ', sizeof(text));
	memcpy(text, "#!", 2);
	ck_assert_int_eq(parse(text, AUFS_SHEBANG_MAX, buf, &name, &arg), -ENOEXEC);
	text[7] = '\t';
	ck_assert_int_eq(parse(text, AUFS_SHEBANG_MAX, buf, &name, &arg), -ENOEXEC);
}
END_TEST

/* LEN beyond the buffer counts as the buffer: bytes past it never matter. */
START_TEST(test_len_clamped)
{
	char buf[AUFS_SHEBANG_MAX + 1], *name, *arg;

	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "#!/bin/sh -x\n", 13);
	ck_assert_int_eq(aufs_shebang_parse(buf, 100000, &name, &arg), 0);
	ck_assert_str_eq(name, "/bin/sh");
	ck_assert_str_eq(arg, "-x");
}
END_TEST

static void put_script(const char *rel, const char *text, mode_t mode)
{
	fx_put(rel, text, mode);
}

START_TEST(test_read_file)
{
	char buf[AUFS_SHEBANG_MAX + 1], *name, *arg;
	struct stat st;
	int fds = fx_count_fds();

	put_script("out/s", "#!/bin/sh -u\nexit 0\n", 0755);
	ck_assert_int_eq(aufs_shebang_read(fx_at("out/s"), NULL, buf, &name, &arg), 0);
	ck_assert_str_eq(name, "/bin/sh");
	ck_assert_str_eq(arg, "-u");
	/* no execute bit: exec would refuse, nothing is opened */
	put_script("out/n", "#!/bin/sh\n", 0644);
	aufs_fault_clear();
	ck_assert_int_eq(aufs_shebang_read(fx_at("out/n"), NULL, buf, &name, &arg), 1);
	ck_assert_uint_eq(aufs_fault_count(SYS_openat), 0);
	/* not a regular file */
	ck_assert_int_eq(mkfifo(fx_at("out/p"), 0755), 0);
	ck_assert_int_eq(stat(fx_at("out/p"), &st), 0);
	ck_assert_int_eq(aufs_shebang_read(fx_at("out/p"), &st, buf, &name, &arg), 1);
	ck_assert_int_eq(aufs_shebang_read(fx_at("out/missing"), NULL, buf, &name, &arg),
			 -ENOENT);
	ck_assert_int_eq(fx_count_fds(), fds);
}
END_TEST

START_TEST(test_read_fd_keeps_offset)
{
	char buf[AUFS_SHEBANG_MAX + 1], *name, *arg;
	int fd;

	put_script("out/s", "#!/bin/sh\n", 0755);
	fd = open(fx_at("out/s"), O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(lseek(fd, 3, SEEK_SET), 3);
	ck_assert_int_eq(aufs_shebang_read_fd(fd, buf, &name, &arg), 0);
	ck_assert_str_eq(name, "/bin/sh");
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 3);
	close(fd);
}
END_TEST

/* Each raw call of aufs_shebang_read() failing: its error, and no descriptor left. */
START_TEST(test_read_faults)
{
	char buf[AUFS_SHEBANG_MAX + 1], *name, *arg;

	put_script("out/s", "#!/bin/sh -u\n", 0755);
	for (unsigned n = 1;; n++) {
		int fds = fx_count_fds(), r, last;
		unsigned long fired;

		ck_assert_uint_lt(n, 20);
		aufs_fault_set(AUFS_FAULT_ANY, n, EIO);
		r = aufs_shebang_read(fx_at("out/s"), NULL, buf, &name, &arg);
		fired = aufs_fault_fired();
		last = aufs_fault_last();
		aufs_fault_clear();
		ck_assert_int_eq(fx_count_fds(), fds);
		if (!fired) {
			ck_assert_int_eq(r, 0);
			break;
		}
		/* the close of a read-only file may fail harmlessly */
		ck_assert(r == -EIO || (r == 0 && last == SYS_close));
	}
}
END_TEST

Suite *shebang_suite(void)
{
	Suite *s = suite_create("shebang");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_case, 0, NCASES);
	tcase_add_test(tc, test_long_argument_truncated);
	tcase_add_test(tc, test_long_name_refused);
	tcase_add_test(tc, test_name_ends_at_the_edge);
	tcase_add_test(tc, test_newline_at_the_edge);
	tcase_add_test(tc, test_len_clamped);
	tcase_add_test(tc, test_all_blanks);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_unchecked_fixture(tc, fx_case_setup, fx_case_teardown);
	tcase_add_checked_fixture(tc, fx_test_setup, fx_test_teardown);
	tcase_add_test(tc, test_read_file);
	tcase_add_test(tc, test_read_fd_keeps_offset);
	tcase_add_test(tc, test_read_faults);
	suite_add_tcase(s, tc);
	return s;
}
