#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the documented leaks (aufs-preload(7), DELIBERATE LEAKS): static binaries, raw syscall(), set-user-ID programs see the real tree'
. "$(dirname "$0")/lib.sh"

# Union 1 at $M, a mount point that does not exist on disk:
#   top: t ; base: f, d/x
# Union 2 at $R, a real directory holding "hostfile", over the branch base2
# holding "unionfile": a program the library misses sees hostfile only.
setup_branches top base top2 base2
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/m
R=$TRASH/real
mkdir -p "$BASE/d" "$R"
echo "base f" >"$BASE/f"
echo x >"$BASE/d/x"
echo t >"$T/t"
echo host >"$R/hostfile"
echo union >"$TRASH/base2/unionfile"
snapshot_branch "$BASE"
snapshot_branch "$TRASH/base2"
snapshot_branch "$T"
snapshot_branch "$TRASH/top2"

# leak-probe CMD PATH: stat (libc stat), ls (opendir/readdir, sorted), cat (libc
# open), raw-cat (syscall(SYS_openat)), raw-create (syscall(SYS_openat, O_CREAT)),
# ids ("secure" when the real and effective uids or gids differ).
cat >"$TEST_TMP/leak-probe.c" <<-\EOF
	#define _GNU_SOURCE
	#include <dirent.h>
	#include <errno.h>
	#include <fcntl.h>
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include <sys/stat.h>
	#include <sys/syscall.h>
	#include <unistd.h>
	static int fail(const char *w)
	{
		printf("%s: %s\n", w, strerrorname_np(errno));
		return 1;
	}
	static int cmp(const void *a, const void *b)
	{
		return strcmp(*(char *const *)a, *(char *const *)b);
	}
	static int cat(int fd)
	{
		char b[256];
		ssize_t n;
		if (fd < 0)
			return fail("open");
		while ((n = read(fd, b, sizeof(b))) > 0)
			fwrite(b, 1, (size_t)n, stdout);
		return 0;
	}
	int main(int argc, char **argv)
	{
		struct stat st;
		if (argc == 2 && !strcmp(argv[1], "ids")) {
			puts(getuid() != geteuid() || getgid() != getegid() ? "secure" : "plain");
			return 0;
		}
		if (argc != 3)
			return 2;
		if (!strcmp(argv[1], "stat")) {
			if (stat(argv[2], &st) < 0)
				return fail("stat");
			puts(S_ISDIR(st.st_mode) ? "dir" : "file");
		} else if (!strcmp(argv[1], "ls")) {
			char *n[256];
			int k = 0;
			struct dirent *e;
			DIR *d = opendir(argv[2]);
			if (!d)
				return fail("opendir");
			while ((e = readdir(d)) && k < 256)
				if (e->d_name[0] != '.')
					n[k++] = strdup(e->d_name);
			qsort(n, (size_t)k, sizeof(*n), cmp);
			for (int i = 0; i < k; i++)
				puts(n[i]);
		} else if (!strcmp(argv[1], "cat")) {
			return cat(open(argv[2], O_RDONLY));
		} else if (!strcmp(argv[1], "raw-cat")) {
			return cat((int)syscall(SYS_openat, AT_FDCWD, argv[2], O_RDONLY));
		} else if (!strcmp(argv[1], "raw-create")) {
			int fd = (int)syscall(SYS_openat, AT_FDCWD, argv[2],
					      O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0)
				return fail("openat");
			puts("created");
		}
		return 0;
	}
EOF
DYN=$TEST_TMP/leak-probe
STATIC=$TEST_TMP/leak-probe-static
if test_have_prereq CC; then
	if "${CC:-cc}" -O1 -o "$DYN" "$TEST_TMP/leak-probe.c" >"$TEST_TMP/cc.log" 2>&1; then
		test_set_prereq PROBE
	else
		comment <"$TEST_TMP/cc.log"
	fi
	if "${CC:-cc}" -O1 -static -o "$STATIC" "$TEST_TMP/leak-probe.c" >"$TEST_TMP/cc.log" 2>&1; then
		test_set_prereq STATIC
	else
		comment <"$TEST_TMP/cc.log"
	fi
fi

in_u() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -o "br:$TRASH/top2=rw:$TRASH/base2=ro" "$R" -- "$@"
}

test_expect_success PROBE 'control: a dynamic program sees both unions' '
	in_u "$DYN" stat "$M/f" >actual &&
	in_u "$DYN" ls "$M" >>actual &&
	in_u "$DYN" ls "$R" >>actual &&
	printf "%s\n" file d f t unionfile >expect &&
	test_cmp expect actual
'

test_expect_success STATIC 'a statically linked program sees the real tree' '
	test_must_fail in_u "$STATIC" stat "$M/f" >actual &&
	test_must_fail in_u "$STATIC" ls "$M" >>actual &&
	in_u "$STATIC" ls "$R" >>actual &&
	in_u "$STATIC" cat "$R/hostfile" >>actual &&
	printf "%s\n" "stat: ENOENT" "opendir: ENOENT" hostfile host >expect &&
	test_cmp expect actual
'

test_expect_success STATIC 'a static program started by a union shell still sees the real tree' '
	test_must_fail in_u sh -c "cd \"$M\" && cat f && exec \"$STATIC\" stat \"$M/f\"" >actual &&
	printf "%s\n" "base f" "stat: ENOENT" >expect &&
	test_cmp expect actual
'

test_expect_success PROBE 'raw syscall(SYS_openat) bypasses the union; libc open does not' '
	in_u "$DYN" cat "$M/f" >actual &&
	test_must_fail in_u "$DYN" raw-cat "$M/f" >>actual &&
	in_u "$DYN" cat "$R/unionfile" >>actual &&
	test_must_fail in_u "$DYN" raw-cat "$R/unionfile" >>actual &&
	in_u "$DYN" raw-cat "$R/hostfile" >>actual &&
	printf "%s\n" "base f" "open: ENOENT" union "open: ENOENT" host >expect &&
	test_cmp expect actual
'

test_expect_success PROBE 'a raw O_CREAT lands in the host directory, not in the top branch' '
	in_u "$DYN" raw-create "$R/rawnew" >actual &&
	echo created >expect &&
	test_cmp expect actual &&
	test_path_is_file "$R/rawnew" &&
	test_path_is_missing "$TRASH/top2/rawnew" &&
	test_must_fail in_u "$DYN" stat "$R/rawnew" >actual &&
	echo "stat: ENOENT" >expect &&
	test_cmp expect actual &&
	rm "$R/rawnew"
'

# Root runs a copy of the probe that is set-group-ID to the group of nobody: real
# and effective gids differ, so ld.so runs it in secure-execution mode and drops
# the LD_PRELOAD entry (it contains a slash); set-user-ID programs are treated
# the same. (Set-group-ID keeps root's uid, which can read the 0700 test dir.) An
# unprivileged user cannot make such a file for another group: root only.
SUID=$TRASH/suid-probe
if test_have_prereq ROOT,PROBE && id -g nobody >/dev/null 2>&1 &&
	[ "$(id -g nobody)" != 0 ]; then
	cp "$DYN" "$SUID" && chgrp "$(id -g nobody)" "$SUID" && chmod 2755 "$SUID" &&
		[ "$("$SUID" ids 2>/dev/null)" = secure ] && test_set_prereq SUID
fi

test_expect_success ROOT,PROBE,SUID 'a set-group-ID program runs without the library' '
	test_must_fail in_u "$SUID" stat "$M/f" >actual &&
	in_u "$SUID" ls "$R" >>actual &&
	printf "%s\n" "stat: ENOENT" hostfile >expect &&
	test_cmp expect actual &&
	chmod g-s "$SUID" &&
	in_u "$SUID" stat "$M/f" >actual &&
	echo file >expect &&
	test_cmp expect actual
'

test_expect_success 'the branches are untouched' '
	branch_untouched "$BASE" &&
	branch_untouched "$TRASH/base2" &&
	branch_untouched "$T" &&
	branch_untouched "$TRASH/top2"
'

test_done
