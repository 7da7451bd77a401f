#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='real programs write into the union: git, sqlite3, php, mkdir -p, cp -a'
. "$(dirname "$0")/lib.sh"

# One union br:top=rw:base=ro on a separate mount point; every test ends by
# checking that the base did not change.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/mnt

have_cmd git && test_set_prereq GIT

mkdir -p "$BASE/proj/src" "$BASE/db" "$BASE/www/uploads" "$BASE/deep/a" "$BASE/tree/keep"
printf '%s\n' '# project' 'line two' >"$BASE/proj/README"
printf '%s\n' 'int main(void) { return 0; }' >"$BASE/proj/src/main.c"
echo "ignored" >"$BASE/proj/build.log"
echo "*.log" >"$BASE/proj/.gitignore"
echo "<?php echo 1;" >"$BASE/www/index.php"
echo "base upload" >"$BASE/www/uploads/old.txt"
echo "base keep" >"$BASE/tree/keep/k"
echo "base over" >"$BASE/tree/over"
if test_have_prereq SQLITE; then
	sqlite3 "$BASE/db/base.db" \
		"create table t(id integer primary key, v text); insert into t(v) values ('b1'), ('b2');" || exit 1
fi
snapshot_branch "$BASE"

mkdir sql
echo "create table t(v text); insert into t values ('one');" >sql/create
echo "insert into t values ('two'); update t set v = 'uno' where v = 'one';" >sql/update
echo "select v from t order by rowid; pragma integrity_check;" >sql/select
echo "insert into t(v) values ('t3'); update t set v = 'B1' where id = 1;" >sql/update-base
echo "select v from t order by id; pragma integrity_check;" >sql/select-base
echo "pragma journal_mode=wal; insert into t(v) values ('w');" >sql/wal

# in_u SCRIPT: run the shell SCRIPT in the union, cwd the mount point.
in_u() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

# git without the caller's or the system's configuration
GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$TRASH \
GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com \
GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
export GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL HOME GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_DATE

test_expect_success GIT 'git init, add, commit in a dir whose files are in the base' '
	in_u "cd proj && git init -q && git add . && git commit -q -m initial && git log --format=%s && git ls-files" >actual &&
	printf "%s\n" initial .gitignore README src/main.c >expect &&
	test_cmp expect actual &&
	test_path_is_dir "$T/proj/.git" &&
	test_path_is_missing "$T/proj/README" &&
	branch_untouched "$BASE"
'

test_expect_success GIT 'git status sees a change to a base file, a new file, a deletion' '
	in_u "cd proj && echo change >>README && echo new >new.txt && rm src/main.c && git status --porcelain" >actual &&
	printf "%s\n" " M README" " D src/main.c" "?? new.txt" >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/proj/src/.wh.main.c" &&
	branch_untouched "$BASE"
'

test_expect_success GIT 'git commit -a, git fsck, git checkout of the old commit' '
	in_u "cd proj && git add -A && git commit -q -m second && git fsck --no-progress 2>&1 && git log --format=%s && git checkout -q HEAD~1 && cat README && ls src && git checkout -q - && test ! -e src && echo src-gone" >actual &&
	printf "%s\n" second initial "# project" "line two" main.c src-gone >expect &&
	test_path_is_file "$T/proj/.wh.src" &&
	test_path_is_missing "$T/proj/src" &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success GIT 'git status in a new process: clean' '
	in_u "cd proj && git status --porcelain && git rev-list --count HEAD" >actual &&
	echo 2 >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success SQLITE 'sqlite3 creates a db in the union, then updates it in another process' '
	in_u "sqlite3 db/new.db <\"$TRASH/sql/create\"" &&
	in_u "sqlite3 db/new.db <\"$TRASH/sql/update\" && sqlite3 db/new.db <\"$TRASH/sql/select\"" >actual &&
	printf "%s\n" uno two ok >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/db/new.db" &&
	sqlite3 "$T/db/new.db" "select count(*) from t" >actual &&
	echo 2 >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success SQLITE 'sqlite3 updates a db that lives in the base: copied up, base db unchanged' '
	in_u "sqlite3 db/base.db <\"$TRASH/sql/update-base\" && sqlite3 db/base.db <\"$TRASH/sql/select-base\"" >actual &&
	printf "%s\n" B1 b2 t3 ok >expect &&
	test_cmp expect actual &&
	sqlite3 "$T/db/base.db" "select v from t order by id" >actual &&
	printf "%s\n" B1 b2 t3 >expect &&
	test_cmp expect actual &&
	sqlite3 "$BASE/db/base.db" "select v from t order by id" >actual &&
	printf "%s\n" b1 b2 >expect &&
	test_cmp expect actual &&
	(cd "$T/db" && ls -A) >actual &&
	printf "%s\n" base.db new.db >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success SQLITE 'sqlite3 in WAL mode on a base db' '
	in_u "sqlite3 db/base.db <\"$TRASH/sql/wal\" >/dev/null && sqlite3 db/base.db \"select count(*) from t;\"" >actual &&
	echo 4 >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

cat >php-script.php <<\PHP
<?php
$d = getcwd();
var_dump(file_put_contents("$d/www/new.txt", "hello\n"));
var_dump(file_put_contents("$d/www/index.php", "<?php echo 2;\n"));
var_dump(file_put_contents("$d/www/uploads/old.txt", "appended\n", FILE_APPEND));
var_dump(rename("$d/www/new.txt", "$d/www/uploads/moved.txt"));
var_dump(mkdir("$d/www/cache/a/b", 0750, true));
$t = tempnam("$d/www/cache", "tmp");
var_dump(strpos($t, "$d/www/cache/tmp") === 0, file_exists($t));
var_dump(file_put_contents($t, "x"), unlink($t), file_exists($t));
var_dump(unlink("$d/www/index.php"), file_exists("$d/www/index.php"));
clearstatcache();
$l = scandir("$d/www");
echo implode(" ", $l), "\n";
echo implode(" ", scandir("$d/www/uploads")), "\n";
echo file_get_contents("$d/www/uploads/old.txt");
echo decoct(fileperms("$d/www/cache/a") & 0777), "\n";
PHP

test_expect_success PHP 'php: file_put_contents, FILE_APPEND, rename, mkdir -p, tempnam, unlink, scandir' '
	in_u "php -n \"$TRASH/php-script.php\"" >actual &&
	cat >expect <<-\EOF &&
	int(6)
	int(14)
	int(9)
	bool(true)
	bool(true)
	bool(true)
	bool(true)
	int(1)
	bool(true)
	bool(false)
	bool(true)
	bool(false)
	. .. cache uploads
	. .. moved.txt old.txt
	base upload
	appended
	750
	EOF
	test_cmp expect actual &&
	test_path_is_file "$T/www/.wh.index.php" &&
	test_path_is_file "$T/www/uploads/moved.txt" &&
	(cd "$T/www/cache" && find . | sort) >actual &&
	printf "%s\n" . ./a ./a/b >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_expect_success 'mkdir -p a/b/c over a base dir and beside it' '
	in_u "mkdir -p deep/a/b/c new/x/y && find deep new | sort" >actual &&
	printf "%s\n" deep deep/a deep/a/b deep/a/b/c new new/x new/x/y >expect &&
	test_cmp expect actual &&
	test_path_is_dir "$T/deep/a/b/c" &&
	test_path_is_dir "$T/new/x/y" &&
	test_path_is_missing "$T/deep/a/b/.wh..wh..opq" &&
	branch_untouched "$BASE"
'

test_expect_success 'cp -a of a tree into the union (new dir, and over a base dir)' '
	mkdir -p src/sub/deeper &&
	echo one >src/one &&
	echo two >src/sub/two &&
	echo over >src/over &&
	ln -s one src/link &&
	chmod 0700 src/sub &&
	touch -d "2004-05-06 07:08:09" src/one src/sub/two &&
	in_u "cp -a \"$TRASH/src\" copy && cp -a \"$TRASH/src/.\" tree/ && find copy tree -printf \"%p %y %m %l\n\" | sort && cat tree/over tree/keep/k && stat -c %Y copy/one tree/sub/two" >actual &&
	t=$(date -d "2004-05-06 07:08:09" +%s) &&
	cat >expect <<-EOF &&
	copy d 755 
	copy/link l 777 one
	copy/one f 644 
	copy/over f 644 
	copy/sub d 700 
	copy/sub/deeper d 755 
	copy/sub/two f 644 
	tree d 755 
	tree/keep d 755 
	tree/keep/k f 644 
	tree/link l 777 one
	tree/one f 644 
	tree/over f 644 
	tree/sub d 700 
	tree/sub/deeper d 755 
	tree/sub/two f 644 
	over
	base keep
	$t
	$t
	EOF
	test_cmp expect actual &&
	test_path_is_missing "$T/tree/keep" &&
	branch_untouched "$BASE"
'

test_expect_success 'the top branch holds only what was written, and no leftovers' '
	(cd "$T" && find . -name ".wh.*" ! -name ".wh..wh.aufs" ! -name ".wh..wh.aufs.shm.*" | sort) >actual &&
	{
		if test_have_prereq GIT; then echo ./proj/.wh.src; fi
		echo ./www/.wh.index.php
	} | sort >expect &&
	test_cmp expect actual &&
	branch_untouched "$BASE"
'

test_done
