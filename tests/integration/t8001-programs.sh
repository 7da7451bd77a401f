#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='real programs read the union: coreutils, grep, tar, cp -a, php, python, perl, sqlite3'
. "$(dirname "$0")/lib.sh"

# base (ro): index.php readme.txt old.txt app/config.php app/lib/helper.php
#            data/db.sqlite img/logo.bin docs/a.txt docs/b.txt
# top (rw):  index.php app/inc.php app/config.php uploads/cat.txt
#            .wh.old.txt docs/.wh.b.txt docs/c.txt
# ref/ is the merged tree built by hand, for comparisons.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
mkdir -p "$BASE/app/lib" "$BASE/data" "$BASE/img" "$BASE/docs" "$T/app" "$T/uploads" "$T/docs"
printf '%s\n' '<?php echo "base index\n";' >"$BASE/index.php"
printf '%s\n' "line one" "line two" "line three" >"$BASE/readme.txt"
echo "old" >"$BASE/old.txt"
echo '<?php $who = "base";' >"$BASE/app/config.php"
printf '%s\n' '<?php' 'function helper() { return "helper from base"; }' >"$BASE/app/lib/helper.php"
head -c 12000 /dev/urandom >"$BASE/img/logo.bin"
echo "doc a" >"$BASE/docs/a.txt"
echo "doc b" >"$BASE/docs/b.txt"
printf '%s\n' '<?php echo "top index\n";' >"$T/index.php"
printf '%s\n' '<?php' 'include "lib/helper.php";' 'include "config.php";' \
	'echo helper(), " / ", $who, "\n";' >"$T/app/inc.php"
echo '<?php $who = "top";' >"$T/app/config.php"
echo "meow" >"$T/uploads/cat.txt"
echo "doc c" >"$T/docs/c.txt"
mk_whiteout "$T" old.txt
mk_whiteout "$T/docs" b.txt
if have_cmd sqlite3; then
	sqlite3 "$BASE/data/db.sqlite" \
		"create table t(a integer, b text); insert into t values (1, 'one'), (2, 'two'), (3, 'three');" ||
		exit 1
else
	echo "not a database" >"$BASE/data/db.sqlite"
fi
touch -d "2001-02-03 04:05:06" "$BASE/readme.txt" "$BASE/img/logo.bin"
touch -d "2011-12-13 14:15:16" "$T/index.php"
chmod 0600 "$T/uploads/cat.txt"
chmod 0755 "$BASE/data"

mkdir ref
cp -a "$BASE/." ref/ && cp -a "$T/." ref/ &&
	rm -f ref/.wh..wh.aufs ref/.wh.old.txt ref/docs/.wh.b.txt ref/old.txt ref/docs/b.txt || exit 1
(cd ref && find . | sort) >expect.find
snapshot_branch "$T"
snapshot_branch "$BASE"

M=$TRASH/mnt
in_m() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

test_expect_success 'the reference tree is what the union should show' '
	in_m "find . | sort" >actual &&
	test_cmp expect.find actual
'

test_expect_success 'cat, head, tail, wc' '
	in_m "cat index.php docs/a.txt; head -n 2 readme.txt; tail -n 1 readme.txt; wc -l readme.txt; wc -c img/logo.bin" >actual &&
	cat >expect <<-\EOF &&
	<?php echo "top index\n";
	doc a
	line one
	line two
	line three
	3 readme.txt
	12000 img/logo.bin
	EOF
	test_cmp expect actual
'

test_expect_success 'cmp, md5sum, sort, sed, awk on base files (stdio readers)' '
	in_m "cmp img/logo.bin \"$TRASH/ref/img/logo.bin\" && echo same; md5sum img/logo.bin readme.txt; sort -r readme.txt; sed -n 2p readme.txt; awk \"END { print NR }\" readme.txt" >actual &&
	{
		echo same &&
		(cd ref && md5sum img/logo.bin readme.txt) &&
		printf "%s\n" "line two" "line three" "line one" "line two" 3
	} >expect &&
	test_cmp expect actual
'

test_expect_success 'grep -r over the merged tree' '
	in_m "grep -r -I -n doc . | sort; grep -r -l -I \"<?php\" . | sort" >actual &&
	cat >expect <<-\EOF &&
	./docs/a.txt:1:doc a
	./docs/c.txt:1:doc c
	./app/config.php
	./app/inc.php
	./app/lib/helper.php
	./index.php
	EOF
	test_cmp expect actual
'

test_expect_success 'diff -r of the union against the reference tree' '
	in_m "diff -r . \"$TRASH/ref\" && echo identical" >actual &&
	echo identical >expect &&
	test_cmp expect actual
'

test_expect_success TAR 'tar -cf - -C MNT . | tar -tf - lists the merged set' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- tar -cf - -C "$M" . >union.tar &&
	tar -tf union.tar | sed -e "s|/\$||" | sort >actual &&
	sed -e "s|^\.\$|./|; s|/\$||" expect.find | sort >expect &&
	test_cmp expect actual
'

test_expect_success TAR 'the tar archive extracts to the reference tree' '
	mkdir untar &&
	tar -xf union.tar -C untar &&
	diff -r ref untar &&
	(cd ref && find . -type f -exec stat -c "%n %a %s %Y" {} + | sort) >expect &&
	(cd untar && find . -type f -exec stat -c "%n %a %s %Y" {} + | sort) >actual &&
	test_cmp expect actual
'

test_expect_success 'cp -a out of the union copies the merged tree, modes and times' '
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- cp -a "$M/." "$TRASH/copy" &&
	(cd ref && find . | sort) >expect &&
	(cd copy && find . | sort) >actual &&
	test_cmp expect actual &&
	diff -r ref copy &&
	(cd ref && find . -printf "%p %y %m %s\n" | grep -v "^\. " | sort) >expect &&
	(cd copy && find . -printf "%p %y %m %s\n" | grep -v "^\. " | sort) >actual &&
	test_cmp expect actual &&
	(cd ref && find . -type f -printf "%p %T@\n" | sort) >expect &&
	(cd copy && find . -type f -printf "%p %T@\n" | sort) >actual &&
	test_cmp expect actual &&
	test "$(stat -c %a copy)" = "$(stat -c %a "$T")"
'

test_expect_success PHP 'php include of a top file that includes base files relatively' '
	in_m "$PHP -r '"'"'include \"app/inc.php\";'"'"'; $PHP app/inc.php; cd app && $PHP -r '"'"'include \"inc.php\";'"'"'; $PHP -r '"'"'include \"$M/app/inc.php\";'"'"'" >actual &&
	for i in 1 2 3 4; do echo "helper from base / top"; done >expect &&
	test_cmp expect actual
'

test_expect_success PHP 'php file functions: file_exists, is_dir, file_get_contents, filesize' '
	in_m "$PHP -r '"'"'
		var_dump(file_exists(\"readme.txt\"), file_exists(\"old.txt\"), is_dir(\"app/lib\"), is_file(\"docs/b.txt\"));
		echo file_get_contents(\"docs/a.txt\"), filesize(\"img/logo.bin\"), \"\n\";
		echo implode(\",\", file(\"readme.txt\", FILE_IGNORE_NEW_LINES)), \"\n\";
		echo realpath(\"app/lib/../config.php\"), \"\n\";
	'"'"'" >actual &&
	cat >expect <<-EOF &&
	bool(true)
	bool(false)
	bool(true)
	bool(false)
	doc a
	12000
	line one,line two,line three
	$M/app/config.php
	EOF
	test_cmp expect actual
'

test_expect_success PYTHON 'python3 open().read(), os.path, hashlib' '
	in_m "python3 -c \"
import hashlib, os
print(open(\\\"readme.txt\\\").read().splitlines())
print(os.path.exists(\\\"old.txt\\\"), os.path.isfile(\\\"docs/a.txt\\\"), os.path.getsize(\\\"img/logo.bin\\\"))
print(hashlib.md5(open(\\\"img/logo.bin\\\", \\\"rb\\\").read()).hexdigest())
\"" >actual &&
	{
		echo "['"'"'line one'"'"', '"'"'line two'"'"', '"'"'line three'"'"']" &&
		echo "False True 12000" &&
		md5sum <ref/img/logo.bin | cut -d" " -f1
	} >expect &&
	test_cmp expect actual
'

test_expect_success 'perl reads files and stats them' '
	in_m "perl -e '"'"'open(my \$f, \"<\", \"docs/a.txt\") or die; print <\$f>; print -e \"old.txt\" ? \"yes\" : \"no\", \" \", -s \"img/logo.bin\", \"\n\";'"'"'" >actual &&
	printf "%s\n" "doc a" "no 12000" >expect &&
	test_cmp expect actual
'

# Opening a base file for writing may copy it up (as aufs does); reading stays right.
test_expect_success SQLITE 'sqlite3 -readonly reads a database that lives in the base' '
	in_m "sqlite3 -readonly data/db.sqlite \"select sum(a), group_concat(b) from t\"" >actual &&
	echo "6|one,two,three" >expect &&
	test_cmp expect actual
'

test_expect_success 'xargs and find -print0 pipelines' '
	in_m "find docs -type f -print0 | sort -z | xargs -0 cat" >actual &&
	printf "%s\n" "doc a" "doc c" >expect &&
	test_cmp expect actual
'

test_expect_success 'a child process inherits the virtual cwd (sh -c, perl)' '
	in_m "cd app/lib && sh -c \"pwd; cat helper.php | wc -l\" && cd ../../docs && perl -e '"'"'use Cwd; print getcwd(), \"\n\"; print -e \"a.txt\" ? \"a\n\" : \"no a\n\"'"'"'" >actual &&
	printf "%s\n" "$M/app/lib" 2 "$M/docs" a >expect &&
	test_cmp expect actual
'

test_expect_success 'the branches are untouched' '
	branch_untouched "$T" &&
	branch_untouched "$BASE"
'

test_expect_success SQLITE 'sqlite3 (a read-write open) reads it too; base untouched, a copy-up is exact' '
	in_m "sqlite3 data/db.sqlite \"select sum(a), group_concat(b) from t\"; sqlite3 data/db.sqlite \"select count(*) from t\"" >actual &&
	printf "%s\n" "6|one,two,three" 3 >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE" &&
	if test -e "$T/data/db.sqlite"; then
		echo "copied up" &&
		cmp "$BASE/data/db.sqlite" "$T/data/db.sqlite" &&
		test "$(stat -c %a "$T/data")" = 755
	fi
'

test_expect_success 'cp of a base file into the top branch through the union (a create in top)' '
	in_m "cp readme.txt uploads/readme-copy.txt && cat uploads/readme-copy.txt" >actual &&
	test_cmp ref/readme.txt actual &&
	test_cmp ref/readme.txt "$T/uploads/readme-copy.txt" &&
	rm "$T/uploads/readme-copy.txt"
'

test_done
