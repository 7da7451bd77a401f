#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the host table reloaded live: 20 running processes of several users adopt each aufsctl reload at their next call'
. "$(dirname "$0")/lib.sh"

# The host (lib.sh): the CMS base owned by root, 0755; tenant K's branch owned by
# aufs-tenant1 (K odd) or aufs-tenant2 (K even); aufs-www reads. Every tenant's
# mount point exists on disk, holding only the file "plain": when its line is
# removed, the running processes must see that ordinary directory again.
#
# 20 processes (tests/helper/table-reader.c) run under one table for the whole
# file, as the tenants and the web server when root: readers 1 to 18 read their
# tenant's own file and a base file every 3 ms and count every error (their lines
# always stay; 17 and 18 are children forked after their parent read, as php-fpm
# workers are); readers 19 and 20 hold their tenant's files open (their lines are
# removed). After each change the test asks every one of them, through files in
# $CTL, what it sees now; each answers from the same process it started as.
host_users_ready

CMS=$TRASH/cms
TEN=$TRASH/tenants
WWW=$TRASH/www
IMG=$TRASH/table.img
CTL=$TRASH/ctl
READER=$AUFS_BUILD/helper/table-reader
READERS=20
mkdir -p "$CMS/lib" "$CTL"
echo "cms index" >"$CMS/index.php"
echo "cms common" >"$CMS/lib/common.php"
chmod -R 0755 "$CMS"
chmod 1777 "$CTL"
for k in $(seq 1 60); do
	mkdir -p "$TEN/t$k" "$WWW/t$k"
	echo "tenant $k" >"$TEN/t$k/own.txt"
	: >"$WWW/t$k/plain"
done
chmod -R a+rX "$TEN" "$WWW"
if test_have_prereq HOST_USERS; then
	for k in $(seq 1 60); do
		if [ $((k % 2)) = 1 ]; then
			chown -R "$AUFS_TENANT1:" "$TEN/t$k"
		else
			chown -R "$AUFS_TENANT2:" "$TEN/t$k"
		fi
	done
fi

# install_fstab K...: the fstab with one line per tenant K, replaced by rename
# (as an editor saves it).
install_fstab() {
	for _k in "$@"; do
		printf 'none %s/t%s aufs br:%s/t%s=rw:%s=ro,nowarn_perm 0 0\n' "$WWW" "$_k" "$TEN" "$_k" "$CMS"
	done >fstab.new && mv fstab.new fstab
}

# reader_user K: who runs reader K: with the host's users, the web server for every
# third one and the tenant who owns the branch for the others; else the caller.
reader_user() {
	if ! test_have_prereq HOST_USERS; then
		id -un
	elif [ $(($1 % 3)) = 0 ]; then
		echo "$AUFS_WWW"
	elif [ $(($1 % 2)) = 1 ]; then
		echo "$AUFS_TENANT1"
	else
		echo "$AUFS_TENANT2"
	fi
}

# wait_ctl N REGEX: until N files of $CTL match REGEX (30 s at most).
wait_ctl() {
	_i=0
	while [ "$(ls "$CTL" | grep -c -E "$2")" -lt "$1" ]; do
		_i=$((_i + 1))
		if [ $_i -gt 300 ]; then
			echo "wait_ctl: $(ls "$CTL" | grep -c -E "$2") of $1 files $2 after 30 s:"
			ls "$CTL"
			return 1
		fi
		sleep 0.1
	done
}

# ask R: stdin's requests to every reader as round R; waits for all answers.
ask() {
	cat >"$CTL/.ask.tmp" && mv "$CTL/.ask.tmp" "$CTL/ask.$1" &&
		wait_ctl $READERS "^ans\.[0-9]+\.$1\$"
}

# answers_are R: every reader's answers of round R are answers.R (reader K's:
# answers.R.K when there is such a file).
answers_are() {
	for _k in $(seq 1 $READERS); do
		_exp=answers.$1
		[ -f "answers.$1.$_k" ] && _exp=answers.$1.$_k
		test_cmp "$_exp" "$CTL/ans.$_k.$1" || {
			echo "reader $_k (user $(reader_user "$_k")), round $1"
			return 1
		}
	done
}

test_expect_success 'aufsctl load, then 20 processes of three users under one table' '
	install_fstab $(seq 1 50) &&
	aufsctl load --image "$IMG" fstab >out &&
	for k in $(seq 1 $READERS); do
		mode=loop
		[ "$k" -ge 17 ] && mode=forked
		[ "$k" -ge 19 ] && mode=hold
		# exec: no copy of the test'"'"'s output stays open in the background (-v pipes it)
		(
			exec >"$TRASH/out.$k" 2>"$TRASH/err.$k"
			if test_have_prereq HOST_USERS; then
				user_aufs_run "$(reader_user $k)" --fstab "$TRASH/fstab" --image "$IMG" -- \
					"$READER" "$CTL" "$k" "$WWW" $mode 80
			else
				aufs_run --fstab "$TRASH/fstab" --image "$IMG" -- "$READER" "$CTL" "$k" "$WWW" $mode 80
			fi
		) &
	done &&
	wait_ctl $READERS "^ready\.[0-9]+\$"
'

test_expect_success 'before any reload: tenant 51 has no line (its plain directory), tenant 41 is served' '
	cat >answers.1 <<-EOF &&
	read $WWW/t51/own.txt: ENOENT
	ls $WWW/t51: plain
	read $WWW/t41/own.txt: tenant 41
	ls $WWW/t41: index.php lib own.txt
	EOF
	cut -d: -f1 answers.1 | ask 1 &&
	answers_are 1
'

test_expect_success 'new lines (tenants 51 to 53) and aufsctl reload: every running process serves them' '
	install_fstab $(seq 1 53) &&
	aufsctl reload --image "$IMG" fstab &&
	cat >answers.2 <<-EOF &&
	read $WWW/t51/own.txt: tenant 51
	read $WWW/t53/index.php: cms index
	ls $WWW/t52: index.php lib own.txt
	read $WWW/t10/own.txt: tenant 10
	EOF
	cut -d: -f1 answers.2 | ask 2 &&
	answers_are 2
'

test_expect_success 'lines removed (tenants 19, 20, 41): their mount points are plain directories; open descriptors keep working' '
	install_fstab $(seq 1 18) $(seq 21 40) $(seq 42 53) &&
	aufsctl reload --image "$IMG" fstab &&
	cat >answers.3 <<-EOF &&
	read $WWW/t41/own.txt: ENOENT
	ls $WWW/t41: plain
	read $WWW/t19/index.php: ENOENT
	ls $WWW/t20: plain
	read $WWW/t51/own.txt: tenant 51
	fdread: no descriptor
	fdwrite: no descriptor
	EOF
	for k in 19 20; do
		sed -e "s/^fdread: .*/fdread: tenant $k/" -e "s/^fdwrite: .*/fdwrite: ok/" \
			answers.3 >answers.3.$k || return 1
	done &&
	{
		grep -v "^fdwrite" answers.3 | cut -d: -f1 &&
		echo "fdwrite written after the removal"
	} | ask 3 &&
	answers_are 3 &&
	for k in 19 20; do
		echo "written after the removal" >expect &&
		test_cmp expect "$TEN/t$k/log.txt" || return 1
	done &&
	test_path_is_missing "$WWW/t19/log.txt"
'

test_expect_success 'a reload with a bad line 7: exit 2 naming line 7; the running table stays in force' '
	cp fstab fstab.good &&
	sed "7s|=rw:|=bogus:|" fstab.good >fstab.new && mv fstab.new fstab &&
	test_expect_code 2 aufsctl reload --image "$IMG" fstab >out 2>err &&
	test_line_count = 1 err &&
	test_grep "^aufsctl: \(.*/\)\{0,1\}fstab:7: .*bogus" err &&
	test_expect_code 3 aufsctl check --image "$IMG" fstab >check.out 2>&1 &&
	test_grep stale check.out &&
	cat >answers.4 <<-EOF &&
	read $WWW/t51/own.txt: tenant 51
	read $WWW/t7/own.txt: tenant 7
	ls $WWW/t41: plain
	EOF
	cut -d: -f1 answers.4 | ask 4 &&
	answers_are 4 &&
	mv fstab.good fstab
'

test_expect_success 'reload again (tenant 41 back, tenant 51 gone, FILE from AUFS_FSTAB): the running processes follow' '
	install_fstab $(seq 1 18) $(seq 21 50) 52 53 &&
	AUFS_FSTAB=$TRASH/fstab aufsctl reload --image "$IMG" &&
	cat >answers.5 <<-EOF &&
	read $WWW/t41/own.txt: tenant 41
	ls $WWW/t41: index.php lib own.txt
	read $WWW/t51/own.txt: ENOENT
	ls $WWW/t51: plain
	read $WWW/t53/own.txt: tenant 53
	EOF
	cut -d: -f1 answers.5 | ask 5 &&
	answers_are 5
'

test_expect_success 'a new process sees the reloaded table from the image, without compiling it' '
	cp -p "$IMG" img.before &&
	aufs_run --fstab fstab --image "$IMG" -- \
		sh -c "cat $WWW/t41/own.txt; ls $WWW/t51; test -e $WWW/t20/own.txt || echo no t20" >out 2>err &&
	printf "%s\n" "tenant 41" plain "no t20" >expect &&
	test_cmp expect out &&
	test_must_be_empty err &&
	cmp img.before "$IMG" &&
	aufsctl check --image "$IMG" fstab
'

test_expect_success 'every reader stops: none erred on a line that stays, each kept reading after the last reload, and none wrote a line to stderr' '
	: >"$CTL/stop" &&
	wait_ctl $READERS "^done\.[0-9]+\$" &&
	for k in $(seq 1 $READERS); do
		read -r _ n _ errs _ after <"$CTL/done.$k" &&
		if [ "$k" -le 18 ]; then
			test "$errs" = 0 && test "$n" -gt 0 && test "$after" -gt 0
		fi &&
		test_must_be_empty "$TRASH/err.$k" || {
			echo "reader $k (user $(reader_user $k)): $(cat "$CTL/done.$k")"
			cat "$TRASH/err.$k"
			return 1
		}
	done
'

test_done
