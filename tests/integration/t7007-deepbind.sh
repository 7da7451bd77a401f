#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='objects loaded with RTLD_DEEPBIND see the union, and keep their own symbols'
. "$(dirname "$0")/lib.sh"

# PHP loads its extensions with dlopen(RTLD_DEEPBIND): the extension and the
# libraries it brings look symbols up in their own dependencies first, so their
# open and stat went to the C library, past the union. The C reproduction: a
# shared object (libdeep.so, which needs libdep.so) calls stat, open, opendir
# and fopen on union paths, itself and through libdep.so, loaded by a program
# with and without RTLD_DEEPBIND. What DEEPBIND means otherwise must stay: the
# object's own access() and which() are the ones it calls (with plain dlopen,
# the program's which() and the library's access() win).
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/m
mkdir -p "$BASE/uploads" "$T"
echo base >"$BASE/uploads/a.txt"

if test_have_prereq CC; then
	mkdir -p lib &&
	cat >lib/dep.c <<-\EOF &&
	#include <errno.h>
	#include <sys/stat.h>
	int dep_stat(const char *p)
	{
		struct stat st;

		return stat(p, &st) == 0 ? 0 : errno;
	}
	EOF
	cat >lib/deep.c <<-\EOF &&
	#include <dirent.h>
	#include <errno.h>
	#include <fcntl.h>
	#include <stdio.h>
	#include <string.h>
	#include <sys/stat.h>
	#include <unistd.h>
	int dep_stat(const char *p);
	int which(void) { return 1; }
	int access(const char *p, int m) { (void)p; (void)m; return 4242; }
	static const char *res(int ok) { return ok ? "ok" : strerrorname_np(errno); }
	void probe(const char *file, const char *dir)
	{
		struct stat st;
		int fd = open(file, O_RDONLY);
		DIR *d = opendir(dir);
		FILE *f = fopen(file, "r");

		printf("stat %s\n", res(stat(file, &st) == 0));
		printf("open %s\n", res(fd >= 0));
		printf("opendir %s\n", res(d != NULL));
		printf("fopen %s\n", res(f != NULL));
		printf("dep stat %s\n", dep_stat(file) ? strerrorname_np(dep_stat(file)) : "ok");
		printf("which %s\n", which() ? "own" : "program");
		printf("access %s\n", access(file, F_OK) == 4242 ? "own" : "global");
	}
	EOF
	cat >lib/main.c <<-\EOF &&
	#include <dlfcn.h>
	#include <stdio.h>
	#include <string.h>
	int which(void) { return 0; }
	int main(int argc, char **argv)
	{
		int mode = (strstr(argv[1], "lazy") ? RTLD_LAZY : RTLD_NOW) |
			   (strstr(argv[1], "deep") ? RTLD_DEEPBIND : 0);
		void *h = dlopen(argv[2], mode);
		void (*probe)(const char *, const char *);

		if (!h) {
			printf("dlopen: %s\n", dlerror());
			return 1;
		}
		*(void **)&probe = dlsym(h, "probe");
		probe(argv[3], argv[4]);
		return 0;
	}
	EOF
	"${CC:-cc}" -shared -fPIC -o lib/libdep.so lib/dep.c >cc.log 2>&1 &&
	"${CC:-cc}" -shared -fPIC -o lib/libdeep.so lib/deep.c -Llib -ldep \
		-Wl,-rpath,"$TRASH/lib" >>cc.log 2>&1 &&
	"${CC:-cc}" -rdynamic -o lib/main lib/main.c >>cc.log 2>&1 &&
	test_set_prereq DEEP_SO
fi
# The ASan runtime refuses RTLD_DEEPBIND outright (it would abort the program
# before the library is reached): the sanitized run cannot load such an object.
[ "$SANITIZE" = 1 ] || test_set_prereq NOSAN
prereq_reason() {
	case $1 in
	DEEP_SO) echo "the test objects did not compile (cc.log)" ;;
	NOSAN) echo "the ASan runtime refuses RTLD_DEEPBIND (a sanitized build)" ;;
	PHP_IMAGICK | PHP_ZIP) echo "php's ${1#PHP_} extension is not installed (apt-get install php-${1#PHP_} | tr)" ;;
	*) echo "missing $1" ;;
	esac
}

in_union() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- "$@"
}

union_ok() {
	printf '%s\n' "stat ok" "open ok" "opendir ok" "fopen ok" "dep stat ok" >expect &&
	printf '%s\n' "which $1" "access $2" >>expect
}

for how in now lazy; do
	test_expect_success DEEP_SO "plain dlopen ($how): the object sees the union" "
		in_union lib/main plain-$how \"\$TRASH/lib/libdeep.so\" \"\$M/uploads/a.txt\" \"\$M/uploads\" >actual &&
		union_ok program global &&
		test_cmp expect actual
	"

	test_expect_success DEEP_SO,NOSAN "RTLD_DEEPBIND ($how): the object and what it brings see the union" "
		in_union lib/main deep-$how \"\$TRASH/lib/libdeep.so\" \"\$M/uploads/a.txt\" \"\$M/uploads\" >actual &&
		union_ok own own &&
		test_cmp expect actual
	"

	test_expect_success DEEP_SO,NOSAN "RTLD_DEEPBIND ($how), bound at start (LD_BIND_NOW): the same" "
		LD_BIND_NOW=1 in_union lib/main deep-$how \"\$TRASH/lib/libdeep.so\" \"\$M/uploads/a.txt\" \"\$M/uploads\" >actual &&
		union_ok own own &&
		test_cmp expect actual
	"
done

test_expect_success DEEP_SO,NOSAN 'RTLD_DEEPBIND natively: the same meaning of the object own symbols' '
	lib/main deep-now "$TRASH/lib/libdeep.so" "$BASE/uploads/a.txt" "$BASE/uploads" >actual &&
	union_ok own own &&
	test_cmp expect actual &&
	lib/main plain-now "$TRASH/lib/libdeep.so" "$BASE/uploads/a.txt" "$BASE/uploads" >actual &&
	union_ok program global &&
	test_cmp expect actual
'

test_expect_success DEEP_SO,NOSAN 'RTLD_DEEPBIND of an object by a name without a slash: its RPATH search' '
	in_union env LD_LIBRARY_PATH="$TRASH/lib" lib/main deep-now libdeep.so "$M/uploads/a.txt" "$M/uploads" >actual &&
	union_ok own own &&
	test_cmp expect actual
'

test_expect_success DEEP_SO,NOSAN 'RTLD_DEEPBIND of an object that lives in the union' '
	cp lib/libdeep.so lib/libdep.so "$BASE/" &&
	in_union env LD_LIBRARY_PATH="$TRASH/lib" lib/main deep-now "$M/libdeep.so" "$M/uploads/a.txt" "$M/uploads" >actual &&
	union_ok own own &&
	test_cmp expect actual
'

# PHP: its extensions are DEEPBIND loads. imagick (ImageMagick reads the image)
# and zip (libzip opens the archive) on union paths, the files in the base only.
PHP_INI=
if have_cmd php && [ "$SANITIZE" != 1 ]; then
	php -m 2>/dev/null | grep -qx imagick && test_set_prereq PHP_IMAGICK
	php -m 2>/dev/null | grep -qx zip && test_set_prereq PHP_ZIP
fi
if test_have_prereq PHP_IMAGICK; then
	# a 2x3 PNG made by ImageMagick itself, natively, into the base
	php -r '$i = new Imagick(); $i->newImage(2, 3, "red"); $i->setImageFormat("png");
		$i->writeImage($argv[1]);' "$BASE/uploads/img.png"
fi
if test_have_prereq PHP_ZIP; then
	php -r '$z = new ZipArchive(); $z->open($argv[1], ZipArchive::CREATE);
		$z->addFromString("readme.txt", "hello from the zip"); $z->close();' "$BASE/uploads/plugin.zip"
fi
snapshot_branch "$BASE"

test_expect_success PHP_IMAGICK 'php imagick reads an image that is only in the base, by its union path' '
	in_union php -r "\$i = new Imagick(\$argv[1]); echo \$i->getImageWidth(), \"x\", \$i->getImageHeight(), PHP_EOL;" \
		"$M/uploads/img.png" >actual &&
	echo 2x3 >expect &&
	test_cmp expect actual
'

test_expect_success PHP_IMAGICK 'php imagick writes a thumbnail through the union: into the top branch' '
	in_union php -r "\$i = new Imagick(\$argv[1]); \$i->thumbnailImage(1, 1); \$i->writeImage(\$argv[2]); echo filesize(\$argv[2]) > 0 ? \"written\" : \"empty\", PHP_EOL;" \
		"$M/uploads/img.png" "$M/uploads/img-1x1.png" >actual &&
	echo written >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/uploads/img-1x1.png" &&
	branch_untouched "$BASE"
'

test_expect_success PHP_ZIP 'php ZipArchive opens an archive that is only in the base, by its union path' '
	in_union php -r "\$z = new ZipArchive(); var_dump(\$z->open(\$argv[1], ZipArchive::RDONLY)); echo \$z->getFromName(\"readme.txt\"), PHP_EOL;" \
		"$M/uploads/plugin.zip" >actual &&
	printf "%s\n" "bool(true)" "hello from the zip" >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_done
