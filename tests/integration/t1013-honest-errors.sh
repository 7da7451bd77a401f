#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='errors are the kernel'"'"'s: trailing slashes and empty or over-long paths as on a plain directory, unlink and rename at the descriptor limit, a full disk during copy-up; a bad fstab line fails closed, said once'
. "$(dirname "$0")/lib.sh"

POSIX_OPS=$AUFS_BUILD/helper/posix-ops
FD_LIMIT=$AUFS_BUILD/helper/fd-limit
[ -x "$POSIX_OPS" ] && [ -x "$FD_LIMIT" ] || skip_all "helpers missing (run make)"
host_users_ready || true

# -------------------------------------------------------------- against a plain directory
# Each call in its own process, on a fresh tree made three ways: a plain directory
# (the kernel's answer, found now) and the union br:top=rw:base=ro with the names
# in the base, in the top, or in the base under whiteouts (where the plain tree
# lacks them). M/ stands for the tree's root.
cat >calls <<\EOF
mkdir M/file/
mkdir M/missing/
mkdir M/dir/
open M/file/ creat,wronly
open M/missing/ creat,wronly
open M/dir/ creat,wronly
open M/file/ rdonly
symlink x M/file/
symlink x M/missing/
symlink x M/dir/
mkfifo M/file/
mkfifo M/missing/
mkfifo M/dir/
link M/file M/new/
link M/file/ M/new
link M/file M/dir/
link M/file M/file/
link M/dir/ M/new
link M/missing/ M/new
rename M/file M/new/
rename M/file/ M/new
rename M/file M/dir/
rename M/dir/ M/file
rename M/missing/ M/x
rename M/file M/missing/
unlink M/file/
unlink M/missing/
unlink M/dir/
rmdir M/file/
rmdir M/missing/
rmdir M/dir/
stat M/file/
rename '' M/file
rename M/file ''
rename LONG M/file
rename M/file LONG
rename '' LONG
rename LONG ''
rename M/missing/x ''
link '' M/new
link M/file ''
link LONG M/new
link M/file LONG
EOF
# a directory of the top branch alone is renamed (one in the base is EXDEV, as aufs)
cat >top-calls <<\EOF
rename M/dir/ M/dir2/
rename M/dir M/dir2/
rename M/dir/ M/dir2
EOF

# compare LAYOUT CALLS: every call's answer in the union equals the plain tree's.
compare() {
	_layout=$1
	: >answers
	while IFS= read -r _call; do
		rm -rf plain top base mnt && mkdir -p plain/dir top base/dir mnt &&
		echo f >plain/file && echo f >base/file || return 1
		case $_layout in
		top) mv base/file base/dir top/ ;;
		whiteout)
			rm -r plain/file plain/dir && : >top/.wh.file && : >top/.wh.dir ;;
		esac
		_k=$(printf '%s\n' "$_call" | sed 's#M/#plain/#g' | "$POSIX_OPS" | sed 's/.* -> //')
		_u=$(printf '%s\n' "$_call" | sed "s#M/#$TRASH/mnt/#g" |
			aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$TRASH/mnt" -- "$POSIX_OPS" |
			sed 's/.* -> //')
		printf '%s: kernel %s, union %s\n' "$_call" "$_k" "$_u" >>answers
		[ -n "$_k" ] && [ "$_k" = "$_u" ] || echo "$_layout: $_call: kernel $_k, union $_u" >>mismatch
	done <"$2"
}

for layout in base top whiteout; do
	test_expect_success "trailing slashes, empty and over-long paths answer as the kernel (names in the $layout)" "
		rm -f mismatch &&
		compare $layout calls &&
		{ [ $layout != top ] || compare top top-calls; } &&
		cat answers &&
		! test -e mismatch || { cat mismatch; false; }
	"
done

# As root, the same calls on a kernel overlay mount of the same layers (a
# private mount namespace, one mount per call): the union answers as overlayfs
# does too (a whiteout there is a 0/0 character device).
overlay_ready
cat >overlay.sh <<\EOF
# overlay.sh LAYOUT CALLS: "CALL: ANSWER" for every call on a fresh overlay
while IFS= read -r call; do
	rm -rf ov && mkdir -p ov/l/dir ov/u ov/w ov/m && echo f >ov/l/file || exit 1
	case $1 in
	top) mv ov/l/file ov/l/dir ov/u/ ;;
	whiteout) mknod ov/u/file c 0 0 && mknod ov/u/dir c 0 0 || exit 1 ;;
	esac
	mount -t overlay overlay -o lowerdir=ov/l,upperdir=ov/u,workdir=ov/w ov/m || exit 1
	printf '%s: %s\n' "$call" "$(printf '%s\n' "$call" | sed 's#M/#ov/m/#g' | "$POSIX_OPS" | sed 's/.* -> //')"
	umount ov/m || exit 1
done <"$2"
EOF
for layout in base top whiteout; do
	test_expect_success OVERLAY "the same calls answer as on a kernel overlay (names in the $layout)" "
		rm -f mismatch &&
		POSIX_OPS=\$POSIX_OPS unshare -m --propagation private sh overlay.sh $layout calls >overlay.out &&
		compare $layout calls &&
		sed 's/: kernel [A-Z]*, union /: /' answers >union.out &&
		test_cmp overlay.out union.out
	"
done

test_expect_success 'the kernel answers above are not all the same (the comparison says something)' '
	sed -n "s/.*: kernel \([A-Z]*\), union.*/\1/p" answers | sort -u >kinds &&
	cat kinds &&
	test_line_count -ge 4 kinds
'

# -------------------------------------------------------------- at the descriptor limit
# fd-limit FREE CMD: every descriptor below a soft limit of 64 taken but FREE.
# The kernel's unlink and rename need none; the union's neither, but for a
# copy-up (two: the file and its copy, aufs-preload(7)).
setup_limit() {
	rm -rf plain top base mnt && mkdir -p plain/d plain/sub top/sub base/d mnt &&
	for d in plain base; do
		echo 1 >$d/d/f && echo 2 >$d/d/g && echo a >$d/a && echo b >$d/b || return 1
	done &&
	echo a >top/a
}
in_union() {
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$TRASH/mnt" -- "$@"
}
# least FREE (up to 4) with which CMD (M/ for the tree) succeeds on the plain tree
least_free() {
	for _n in 0 1 2 3 4; do
		setup_limit || return 1
		if "$FD_LIMIT" $_n $(echo "$*" | sed 's#M/#plain/#g') 2>/dev/null; then
			echo $_n
			return 0
		fi
	done
	return 1
}

test_expect_success 'mv -t at the limit: a name over a base name leaves its whiteout (no EMFILE)' '
	n=$(least_free mv -t M/sub M/a) &&
	setup_limit &&
	in_union "$FD_LIMIT" $n mv -t "$TRASH/mnt/sub" "$TRASH/mnt/a" &&
	test -f top/sub/a && test -e top/.wh.a &&
	echo b >expect && in_union cat "$TRASH/mnt/b" >out && test_cmp expect out &&
	test_must_fail in_union test -e "$TRASH/mnt/a"
'

test_expect_success 'rm -r of a base directory with the descriptors the kernel needs' '
	n=$(least_free rm -r M/d) &&
	setup_limit &&
	in_union "$FD_LIMIT" $n rm -r "$TRASH/mnt/d" &&
	test -e top/.wh.d &&
	test_must_fail in_union test -e "$TRASH/mnt/d" &&
	test -f base/d/f
'

test_expect_success 'unlink and rename with no descriptor left: as the kernel' '
	setup_limit &&
	"$FD_LIMIT" 0 -- unlink plain/b >expect &&
	"$FD_LIMIT" 0 -- rename plain/a plain/c >>expect &&
	in_union "$FD_LIMIT" 0 -- unlink "$TRASH/mnt/b" >out &&
	in_union "$FD_LIMIT" 0 -- rename "$TRASH/mnt/a" "$TRASH/mnt/c" >>out &&
	test_cmp expect out &&
	test -e top/.wh.b && test -e top/.wh.a && test -f top/c && test -f base/b
'

# The kernel's rename needs no descriptor; the union's copy-up needs two: below a hard
# limit with room, the copy-up raises the soft one for them and puts it back
# (aufs-preload(7), "Writes stay inside the branches"). With none (t9003) it is EMFILE.
test_expect_success 'a rename that must copy a file up, with no descriptor left under the soft limit, is made' '
	setup_limit &&
	snapshot_branch "$TRASH/base" &&
	echo "rename -> OK" >expect &&
	in_union "$FD_LIMIT" 0 -- rename "$TRASH/mnt/b" "$TRASH/mnt/c" >out &&
	test_cmp expect out &&
	in_union cat "$TRASH/mnt/c" >out && echo b >expect && test_cmp expect out &&
	test_must_fail in_union test -e "$TRASH/mnt/b" &&
	branch_untouched "$TRASH/base"
'

# -------------------------------------------------------------- a full disk
# A writable branch on a 1 MiB tmpfs (a private mount namespace) and a 2 MiB base
# file: appending to it copies it up (tmpfs from the disk: copy_file_range says
# EXDEV, the data goes by read and write) and runs out of space. The error is
# the one the kernel gives when the same data is written to that tmpfs.
test_have_prereq ROOT && have_cmd unshare && have_cmd perl && test_set_prereq SMALL_TMPFS
cat >append.pl <<\EOF
# append.pl FILE N: append N bytes to FILE; the error, if any, on stderr
open(F, ">>", $ARGV[0]) or die "$!\n";
print F ("x" x $ARGV[1]);
close(F) or die "$!\n";
EOF
test_expect_success SMALL_TMPFS 'a copy-up on a full file system says ENOSPC, as a plain write there, and leaves nothing' '
	rm -rf top base mnt small && mkdir -p small base mnt &&
	dd if=/dev/urandom of=base/big bs=64k count=32 2>/dev/null &&
	snapshot_branch "$TRASH/base" &&
	cat >full.sh <<-EOF &&
	mount -t tmpfs -o size=1m tmpfs small || exit 1
	mkdir small/plain small/top || exit 1
	perl append.pl small/plain/big 2097152 2>kernel.err
	rm -f small/plain/big
	AUFS_MOUNTS="none $TRASH/mnt aufs br:$TRASH/small/top=rw:$TRASH/base=ro 0 0" \\
		LD_PRELOAD="$(aufs_preload)" perl append.pl "$TRASH/mnt/big" 1 2>union.err
	ls -A small/top | grep -v "^\.wh\.\.wh\.aufs" >left
	exit 0
	EOF
	unshare -m --propagation private sh full.sh &&
	cat kernel.err union.err left &&
	echo "No space left on device" >expect &&
	test_cmp expect kernel.err &&
	test_cmp kernel.err union.err &&
	test_must_be_empty left &&
	branch_untouched "$TRASH/base"
'

# -------------------------------------------------------------- a bad fstab line
# A host table of two tenants whose second line is refused (an unknown option).
# A php-fpm-like process (the library loaded, AUFS_FSTAB set by the program
# itself, twice, as a pool's env[] after each fork) must never write into the
# refused line's mount point directory, which its user may write; the first
# tenant's union works; the message comes once.
make_host() {
	rm -rf host && mkdir -p host/base host/t1 host/t2 host/www/t1 host/www/t2 &&
	echo page >host/base/index.php &&
	cat >host/fstab <<-EOF
	none $TRASH/host/www/t1 aufs br:$TRASH/host/t1=rw:$TRASH/host/base=ro 0 0
	none $TRASH/host/www/t2 aufs br:$TRASH/host/t2=rw:$TRASH/host/base=ro,bogus 0 0
	EOF
}
cat >pool.calls <<EOF
setenv AUFS_FSTAB $TRASH/host/fstab
write $TRASH/host/www/t2/upload.txt data
stat $TRASH/host/www/t2
stat $TRASH/host/www/t2/index.php
mkdir $TRASH/host/www/t2/cache
setenv AUFS_FSTAB $TRASH/host/fstab
write $TRASH/host/www/t2/again.txt data
stat $TRASH/host/www/t1/index.php
write $TRASH/host/www/t1/upload.txt data
EOF
cat >pool.expect <<EOF
setenv AUFS_FSTAB $TRASH/host/fstab -> OK
write $TRASH/host/www/t2/upload.txt data -> EIO
stat $TRASH/host/www/t2 -> EIO
stat $TRASH/host/www/t2/index.php -> EIO
mkdir $TRASH/host/www/t2/cache -> EIO
setenv AUFS_FSTAB $TRASH/host/fstab -> OK
write $TRASH/host/www/t2/again.txt data -> EIO
stat $TRASH/host/www/t1/index.php -> file
write $TRASH/host/www/t1/upload.txt data -> OK
EOF

check_pool() {
	test_cmp pool.expect out &&
	test_line_count = 1 err &&
	test_grep "^aufs-preload: AUFS_FSTAB: $TRASH/host/fstab:2: unknown option \"bogus\" in .*; the other unions work; paths under the refused mount point fail with EIO\$" err &&
	# nothing reached the real directory, nor the refused line'"'"'s branch
	test_must_be_empty_dir host/www/t2 &&
	test_must_be_empty_dir host/t2 &&
	test -f host/t1/upload.txt
}
test_must_be_empty_dir() {
	if [ -n "$(ls -A "$1")" ]; then
		echo "$1 is not empty:" && ls -lA "$1"
		return 1
	fi
}

test_expect_success 'a bad line fails closed in a process that sets AUFS_FSTAB itself; said once' '
	make_host &&
	aufs_run -- "$POSIX_OPS" <pool.calls >out 2>err &&
	check_pool
'

test_expect_success HOST_USERS 'the same as the tenant user whose mount point it is (php-fpm pool), with the host as it runs' '
	make_host &&
	chown "$AUFS_TENANT1" host/t1 host/www/t1 &&
	chown "$AUFS_TENANT2" host/t2 host/www/t2 &&
	chmod 0755 host host/base &&
	user_aufs_run "$AUFS_TENANT2" -- "$POSIX_OPS" <pool.calls >out 2>err &&
	sed -e "/t1\/upload.txt/s/OK\$/EACCES/" pool.expect >pool.expect.t2 &&
	mv pool.expect.t2 pool.expect &&
	test_cmp pool.expect out &&
	test_line_count = 1 err &&
	test_must_be_empty_dir host/www/t2 &&
	test_must_be_empty_dir host/t2 &&
	as_user "$AUFS_TENANT2" sh -c "echo direct >$TRASH/host/www/t2/probe" &&
	rm host/www/t2/probe
'

test_expect_success 'a child started by that process fails closed too, and says it once itself' '
	make_host &&
	AUFS_FSTAB=$TRASH/host/fstab LD_PRELOAD=$(aufs_preload) \
		sh -c "echo x >\"$TRASH/host/www/t2/leak\" || echo refused" >out 2>err &&
	echo refused >expect &&
	test_cmp expect out &&
	test_grep "Input/output error" err &&
	test "$(grep -c "^aufs-preload:" err)" = 1 &&
	test_must_be_empty_dir host/www/t2
'

test_expect_success 'a line with no mount point fences nothing; the other unions work, and it says so' '
	make_host &&
	cat >host/fstab <<-EOF &&
	none $TRASH/host/www/t1 aufs br:$TRASH/host/t1=rw:$TRASH/host/base=ro 0 0
	none
	EOF
	AUFS_FSTAB=$TRASH/host/fstab LD_PRELOAD=$(aufs_preload) cat "$TRASH/host/www/t1/index.php" >out 2>err &&
	echo page >expect &&
	test_cmp expect out &&
	test_line_count = 1 err &&
	test_grep "fstab:2: .*; the other unions work; the refused line names no mount point to fence\$" err
'

test_expect_success 'aufs-run refuses an inherited AUFS_FSTAB with a bad line: one message, exit 2, nothing runs' '
	make_host &&
	AUFS_FSTAB=$TRASH/host/fstab test_expect_code 2 aufs_run -- sh -c "echo ran" >out 2>err &&
	test_must_be_empty out &&
	test_line_count = 1 err &&
	test_grep "^aufs-run: $TRASH/host/fstab:2: unknown option \"bogus\"" err
'

# The system log: /dev/log of a private mount namespace is a socket of this test.
test_have_prereq ROOT && have_cmd unshare && have_cmd perl && test_set_prereq LOGNS
test_expect_success LOGNS 'the refusal goes to syslog too (daemon.err, once)' '
	make_host &&
	mkdir -p fakedev &&
	for f in null zero urandom; do : >fakedev/$f || return 1; done &&
	cat >listen.pl <<-\EOF &&
	use IO::Socket::UNIX;
	my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => "/dev/log") or die "$!\n";
	open(my $ready, ">", $ARGV[0]) or die; close($ready);
	$SIG{ALRM} = sub { exit 0 };
	alarm 3;
	$| = 1;
	while (defined $s->recv(my $m, 4096)) { print "$m\n"; }
	EOF
	unshare -m --propagation private sh -c "
		for f in null zero urandom; do mount --bind /dev/\$f fakedev/\$f || exit 1; done
		mount --bind fakedev /dev || exit 1
		perl listen.pl $TRASH/ready >log &
		while ! test -e ready; do sleep 0.05; done
		printf \"%s\\n\" \"setenv AUFS_FSTAB $TRASH/host/fstab\" \"stat $TRASH/host/www/t2\" \
			\"setenv AUFS_FSTAB $TRASH/host/fstab\" |
			LD_PRELOAD=\"$(aufs_preload)\" \"$POSIX_OPS\" >/dev/null 2>err
		wait
	" &&
	cat log &&
	test_line_count = 1 log &&
	test_grep "^<27>aufs-preload\[[0-9]*\]: posix-ops: AUFS_FSTAB: $TRASH/host/fstab:2: unknown option" log &&
	test_line_count = 1 err
'

test_done
