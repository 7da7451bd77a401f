#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='merged readdir: every name once, whiteouts filtered, through many readers'
. "$(dirname "$0")/lib.sh"

# small: top {a, c, d/, .wh.b, .wh.e}, base {a, b, d/, e/, f, g/}: merged a c d f g
# big:   base f1..f1200, top f1001..f2000 and whiteouts .wh.f1..f500
#        merged: f501..f2000 (1500 names)
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
mkdir -p "$T/small/d" "$BASE/small/d" "$BASE/small/e" "$BASE/small/g" "$T/big" "$BASE/big"
for n in a c; do echo "$n" >"$T/small/$n"; done
for n in a b f; do echo "$n" >"$BASE/small/$n"; done
echo "in e" >"$BASE/small/e/x"
echo "in d" >"$T/small/d/y"
echo "in d" >"$BASE/small/d/z"
mk_whiteout "$T/small" b
mk_whiteout "$T/small" e
(
	cd "$BASE/big" || exit 1
	i=1
	while [ $i -le 1200 ]; do
		: >"f$i"
		i=$((i + 1))
	done
	cd "$T/big" || exit 1
	while [ $i -le 2000 ]; do
		: >"f$i"
		i=$((i + 1))
	done
) || exit 1
i=1
while [ $i -le 500 ]; do
	mk_whiteout "$T/big" "f$i" || exit 1
	i=$((i + 1))
done
i=501
while [ $i -le 2000 ]; do
	echo "f$i"
	i=$((i + 1))
done | sort >expect.big
setup_branches ltop lbase
(
	long=$(printf "%0200d" 0)
	mkdir "$TRASH/ltop/long" "$TRASH/lbase/long" || exit 1
	i=1
	while [ $i -le 1300 ]; do
		echo "$long.$i"
		if [ $i -le 700 ]; then : >"$TRASH/lbase/long/$long.$i"; else : >"$TRASH/ltop/long/$long.$i"; fi || exit 1
		i=$((i + 1))
	done | sort >expect.long
	: >"$TRASH/ltop/long/$long.1"
) || exit 1
snapshot_branch "$T"
snapshot_branch "$BASE"

M=$TRASH/mnt
in_m() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

test_expect_success 'ls -f (unsorted, with . and ..) lists each name once' '
	in_m "ls -f small" | sort >actual &&
	printf "%s\n" . .. a c d f g >expect &&
	test_cmp expect actual
'

test_expect_success 'ls -f count equals the number of unique names (big dir)' '
	in_m "ls -f big" >raw &&
	sort raw >sorted &&
	sort -u raw >unique &&
	test_cmp unique sorted &&
	test_line_count = 1502 raw &&
	grep -v "^\.\.\?\$" sorted >actual &&
	test_cmp expect.big actual
'

test_expect_success 'no .wh. name in any listing' '
	in_m "ls -a small big; find . -name \".wh*\"" >actual &&
	! grep "\.wh\." actual
'

test_expect_success 'find -type d / -type f counts' '
	in_m "find . -type d | sort; find . -type f | wc -l" >actual &&
	cat >expect <<-\EOF &&
	.
	./big
	./small
	./small/d
	./small/g
	1505
	EOF
	test_cmp expect actual
'

test_expect_success 'find -type f lists exactly the expected files' '
	in_m "find . -type f | sort" >actual &&
	{
		printf "%s\n" ./small/a ./small/c ./small/d/y ./small/d/z ./small/f &&
		sed -e "s|^|./big/|" expect.big
	} | sort >expect &&
	test_cmp expect actual
'

test_expect_success 'd_type from readdir: find -type uses it without stat' '
	in_m "find small -maxdepth 1 -mindepth 1 -printf \"%f %y\\n\" | sort" >actual &&
	printf "%s\n" "a f" "c f" "d d" "f f" "g d" >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'python3 os.scandir and os.walk' '
	in_m "python3 -c \"
import os
print(sorted((e.name, e.is_dir(), e.is_file()) for e in os.scandir(\\\"small\\\")))
for root, dirs, files in sorted(os.walk(\\\"small\\\")):
    print(root, sorted(dirs), sorted(files))
names = sorted(e.name for e in os.scandir(\\\"big\\\"))
print(len(names), len(set(names)))
\"" >actual &&
	cat >expect <<-\EOF &&
	[('"'"'a'"'"', False, True), ('"'"'c'"'"', False, True), ('"'"'d'"'"', True, False), ('"'"'f'"'"', False, True), ('"'"'g'"'"', True, False)]
	small ['"'"'d'"'"', '"'"'g'"'"'] ['"'"'a'"'"', '"'"'c'"'"', '"'"'f'"'"']
	small/d [] ['"'"'y'"'"', '"'"'z'"'"']
	small/g [] []
	1500 1500
	EOF
	test_cmp expect actual
'

test_expect_success PYTHON 'python3 os.listdir of the big dir is exactly the expected set' '
	in_m "python3 -c \"import os; print(chr(10).join(sorted(os.listdir(\\\"big\\\"))))\"" >actual &&
	test_cmp expect.big actual
'

test_expect_success PYTHON 'python3 os.listdir on an fd (fdopendir) of a merged dir' '
	in_m "python3 -c \"
import os
fd = os.open(\\\"small\\\", os.O_RDONLY | os.O_DIRECTORY)
print(sorted(os.listdir(fd)))
print(sorted(os.listdir(fd)))
\"" >actual &&
	cat >expect <<-\EOF &&
	['"'"'a'"'"', '"'"'c'"'"', '"'"'d'"'"', '"'"'f'"'"', '"'"'g'"'"']
	['"'"'a'"'"', '"'"'c'"'"', '"'"'d'"'"', '"'"'f'"'"', '"'"'g'"'"']
	EOF
	test_cmp expect actual
'

test_expect_success PHP 'php scandir' '
	in_m "$PHP -r '"'"'print_r(scandir(\"small\")); echo count(scandir(\"big\")), \"\n\";'"'"'" >actual &&
	cat >expect <<-\EOF &&
	Array
	(
	    [0] => .
	    [1] => ..
	    [2] => a
	    [3] => c
	    [4] => d
	    [5] => f
	    [6] => g
	)
	1502
	EOF
	test_cmp expect actual
'

test_expect_success PHP 'php opendir/readdir' '
	in_m "$PHP -r '"'"'\$d = opendir(\"small\"); \$n = []; while ((\$e = readdir(\$d)) !== false) \$n[] = \$e; sort(\$n); echo implode(\" \", \$n), \"\n\";'"'"'" >actual &&
	echo ". .. a c d f g" >expect &&
	test_cmp expect actual
'

# php glob() is glibc glob(3), which the library must wrap itself (see t5002);
# it once listed the top branch only.
test_expect_success PHP 'php glob' '
	in_m "$PHP -r '"'"'print_r(glob(\"small/*\"));'"'"'" >actual &&
	cat >expect <<-\EOF &&
	Array
	(
	    [0] => small/a
	    [1] => small/c
	    [2] => small/d
	    [3] => small/f
	    [4] => small/g
	)
	EOF
	test_cmp expect actual
'

test_expect_success 'shell glob (the shell opendir) and ls -U' '
	in_m "echo small/* small/d/*; ls -U small | sort | tr \"\\n\" \" \"; echo" >actual &&
	printf "%s\n" "small/a small/c small/d small/f small/g small/d/y small/d/z" "a c d f g " >expect &&
	test_cmp expect actual
'

test_expect_success 'telldir/seekdir (perl): resume in the middle of the big merged dir' '
	in_m "perl -e '"'"'
		opendir(my \$d, \"big\") or die \"opendir: \$!\";
		my (@all, \$pos, @rest);
		while (defined(my \$e = readdir \$d)) {
			push @all, \$e;
			\$pos = telldir \$d if @all == 700;
		}
		seekdir \$d, \$pos;
		while (defined(my \$e = readdir \$d)) { push @rest, \$e; }
		my @tail = @all[700 .. \$#all];
		print scalar(@all), \" \", scalar(@rest), \" \", (\"@rest\" eq \"@tail\" ? \"same\" : \"different\"), \"\n\";
		rewinddir \$d;
		my \$n = 0; \$n++ while defined(readdir \$d);
		print \"\$n\n\";
	'"'"'" >actual &&
	printf "%s\n" "1502 802 same" 1502 >expect &&
	test_cmp expect actual
'

test_expect_success 'readdir of an empty merged dir and of a base-only dir' '
	in_m "ls -a small/g; echo --; ls -a small/d" >actual &&
	printf "%s\n" . .. -- . .. y z >expect &&
	test_cmp expect actual
'

test_expect_success 'du and tar walk the big dir completely' '
	in_m "tar -cf - big | tar -tf - | sort" >actual &&
	{ echo big/ && sed -e "s|^|big/|" expect.big; } | sort >expect &&
	test_cmp expect actual
'

# A read of a branch copy that leaves room for another entry ends the listing of that
# copy on file systems that fill the buffer (src/core/ops_readdir.c): names of 200 bytes
# (dir long/) make each copy span several reads.
test_expect_success 'listings of several read buffers each, long names: every name, once' '
	aufs_run -o "br:$TRASH/ltop=rw:$TRASH/lbase=ro" "$M" -- ls -U "$M/long" >list &&
	sort -u list >actual &&
	test_line_count = 1300 list &&
	test_cmp expect.long actual
'

test_expect_success 'the branches are untouched' '
	branch_untouched "$T" &&
	branch_untouched "$BASE"
'

test_done
