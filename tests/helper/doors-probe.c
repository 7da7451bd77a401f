/* SPDX-License-Identifier: MIT */
/*
 * doors-probe - one libc door per subcommand, printing what it answered:
 *   dlopen PATH SYM      dlopen(3) + dlsym(3), calls int SYM(void)
 *   dlmopen PATH SYM     the same in a new link-map namespace (dlmopen(3))
 *   pathconf PATH        pathconf(3) _PC_NAME_MAX
 *   inotify DIR NAME     inotify_add_watch(2) on DIR, then creates DIR/NAME
 *   handle PATH          name_to_handle_at(2): the handle bytes in hex
 *   chroot DIR FILE      chroot(2), then reads /FILE
 *   mktemp TEMPLATE      mktemp(3)
 *   tempnam DIR PFX      tempnam(3) (DIR "-" = NULL)
 *   tmpnam               tmpnam(3) and tmpnam_r(3)
 *   umount PATH          umount(2)
 *   mount-private PATH   mount(2) of "none" on PATH with MS_PRIVATE
 *   readlink PATH        readlink(2)
 *   exe                  readlink of /proc/self/exe and /proc/PID/exe
 *   fdlink PATH          open(2) PATH, readlink of /dev/fd/N and /proc/self/fd/N
 * Failures print "NAME ERRNO" (the errno's name) and exit 1.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <unistd.h>

static int fail(const char *what)
{
	printf("%s %s\n", what, strerrorname_np(errno));
	return 1;
}

static int print_link(const char *path)
{
	char buf[4096];
	ssize_t n = readlink(path, buf, sizeof(buf));

	if (n < 0)
		return fail("readlink");
	printf("%.*s\n", (int)n, buf);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	char buf[4096];

	if ((!strcmp(cmd, "dlopen") || !strcmp(cmd, "dlmopen")) && argc > 3) {
		void *h = cmd[2] == 'm' ? dlmopen(LM_ID_NEWLM, argv[2], RTLD_NOW)
					: dlopen(argv[2], RTLD_NOW);
		int (*f)(void);

		if (!h) {
			printf("dlopen failed\n");
			return 1;
		}
		f = (int (*)(void))dlsym(h, argv[3]);
		if (!f) {
			printf("dlsym failed\n");
			return 1;
		}
		printf("%s=%d\n", argv[3], f());
		return 0;
	}
	if (!strcmp(cmd, "pathconf") && argc > 2) {
		long v;

		errno = 0;
		v = pathconf(argv[2], _PC_NAME_MAX);
		if (v < 0)
			return fail("pathconf");
		printf("%ld\n", v);
		return 0;
	}
	if (!strcmp(cmd, "inotify") && argc > 3) {
		int in = inotify_init1(IN_CLOEXEC), fd;
		char ev[sizeof(struct inotify_event) + 256];
		const struct inotify_event *e = (const void *)ev;

		if (inotify_add_watch(in, argv[2], IN_CREATE) < 0)
			return fail("inotify_add_watch");
		snprintf(buf, sizeof(buf), "%s/%s", argv[2], argv[3]);
		fd = open(buf, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			return fail("open");
		close(fd);
		if (read(in, ev, sizeof(ev)) <= 0)
			return fail("read");
		printf("event %s\n", e->len ? e->name : "");
		return 0;
	}
	if (!strcmp(cmd, "handle") && argc > 2) {
		struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
		int mnt;

		h->handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, argv[2], h, &mnt, 0) < 0) {
			free(h);
			return fail("name_to_handle_at");
		}
		for (unsigned i = 0; i < h->handle_bytes; i++)
			printf("%02x", h->f_handle[i]);
		printf("\n");
		free(h);	/* freed, so that memcheck sees the library's leaks only */
		return 0;
	}
	if (!strcmp(cmd, "chroot") && argc > 3) {
		FILE *f;

		if (chroot(argv[2]) < 0)
			return fail("chroot");
		snprintf(buf, sizeof(buf), "/%s", argv[3]);
		f = fopen(buf, "r");
		if (!f)
			return fail("fopen");
		if (fgets(buf, sizeof(buf), f))
			fputs(buf, stdout);
		return 0;
	}
	if (!strcmp(cmd, "mktemp") && argc > 2) {
		char *r = mktemp(argv[2]);

		if (!r[0])
			return fail("mktemp");
		printf("%s\n", r);
		return 0;
	}
	if (!strcmp(cmd, "tempnam") && argc > 3) {
		char *r = tempnam(strcmp(argv[2], "-") ? argv[2] : NULL, argv[3]);

		if (!r)
			return fail("tempnam");
		printf("%s\n", r);
		free(r);
		return 0;
	}
	if (!strcmp(cmd, "tmpnam")) {
		char b[L_tmpnam];
		char *r = tmpnam(NULL);

		if (!r)
			return fail("tmpnam");
		printf("%s\n", r);
		if (!tmpnam_r(b))
			return fail("tmpnam_r");
		printf("%s\n", b);
		return 0;
	}
	if (!strcmp(cmd, "umount") && argc > 2)
		return umount(argv[2]) < 0 ? fail("umount") : (printf("umounted\n"), 0);
	if (!strcmp(cmd, "mount-private") && argc > 2)
		return mount("none", argv[2], NULL, MS_PRIVATE, NULL) < 0 ? fail("mount")
									 : (printf("mounted\n"), 0);
	if (!strcmp(cmd, "readlink") && argc > 2)
		return print_link(argv[2]);
	if (!strcmp(cmd, "exe")) {
		snprintf(buf, sizeof(buf), "/proc/%d/exe", (int)getpid());
		return print_link("/proc/self/exe") | print_link(buf);
	}
	if (!strcmp(cmd, "fdlink") && argc > 2) {
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0)
			return fail("open");
		snprintf(buf, sizeof(buf), "/dev/fd/%d", fd);
		if (print_link(buf))
			return 1;
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
		return print_link(buf);
	}
	return 2;
}
