#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='configuration: every documented option, fstab files, the environment, several unions'
. "$(dirname "$0")/lib.sh"

setup_branches top base t2 b2 "sp ace"
echo base-f >base/f
echo top-g >top/g
echo b2-h >b2/h
echo t2-i >t2/i
echo spaced >"sp ace/s"
snapshot_branch "$TRASH/base"
snapshot_branch "$TRASH/b2"
M=$TRASH/mnt
M2=$TRASH/mnt2
U1="none $M aufs br:$TRASH/top=rw:$TRASH/base=ro 0 0"
U2="none $M2 aufs br:$TRASH/t2=rw:$TRASH/b2=ro 0 0"

test_expect_success 'every documented mount option is accepted' '
	for o in "xino=$TRASH/xino" noxino trunc_xib notrunc_xib \
		create=tdp create=top-down-parent create=rr create=round-robin create=mfs create=mfs:60 \
		create=most-free-space create=mfsrr:10 create=mfsrr:10:60 create=pmfs create=pmfs:60 \
		cpup=tdp cpup=top-down-parent cpup=bup cpup=bottom-up-parent cpup=bu cpup=bottom-up \
		udba=none udba=reval udba=inotify plink noplink clean_plink dirwh=5 \
		diropq=w diropq=whiteouted diropq=a diropq=always coo=none coo=leaf coo=all \
		shwh noshwh warn_perm nowarn_perm dirperm1 nodirperm1 verbose v quiet q silent dlgt nodlgt \
		"udba=none,noplink,dirwh=3"; do
		aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro,$o" "$M" -- cat "$M/f" >out 2>err ||
			{ echo "option $o refused:"; cat err; return 1; }
		echo base-f >expect && test_cmp expect out || return 1
	done
'

test_expect_success 'branch syntax: dirs=, permissions, attributes, default permissions' '
	for br in "dirs=$TRASH/top:$TRASH/base" "br:$TRASH/top=rw:$TRASH/base=rr" \
		"br:$TRASH/top=rw+nolwh:$TRASH/base=ro+wh" "br:$TRASH/top=rw:$TRASH/base=rr+wh" \
		"br:$TRASH/top/:$TRASH/./base/" "br=$TRASH/top:$TRASH/base"; do
		aufs_run -o "$br" "$M" -- cat "$M/f" "$M/g" >out 2>err ||
			{ echo "$br refused:"; cat err; return 1; }
		printf "%s\n" base-f top-g >expect && test_cmp expect out || return 1
	done
'

test_expect_success 'a wh attribute on a rw branch is refused' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=rw+wh" "$M" -- true 2>err
	test $? = 2 &&
	test_line_count = 1 err &&
	test_grep "attribute \"wh\"" err
'

test_expect_success 'a branch given through a symlink is the directory it names' '
	ln -s base baselink &&
	aufs_run -o "br:$TRASH/top:$TRASH/baselink" "$M" -- sh -c "cat \"$M/f\"; grep -v \"^#\" \"\$AUFS_FSTAB\"" >out &&
	printf "%s\n" base-f "$U1" >expect &&
	test_cmp expect out
'

test_expect_success 'AUFS_MOUNTS and LD_PRELOAD without aufs-run' '
	aufs_env "$U1" cat "$M/f" "$M/g" >out &&
	printf "%s\n" base-f top-g >expect &&
	test_cmp expect out
'

test_expect_success 'AUFS_FSTAB: comments, blank lines, \040 in paths, several unions' '
	cat >fstab <<-EOF &&
	# unions for the test

	none $M aufs br:$TRASH/top=rw:$TRASH/base=ro,udba=reval 0 0
	none	$M2	aufs	br:$TRASH/t2=rw:$TRASH/b2=ro	0	0
	none $TRASH/sp\\040mnt aufs br:$TRASH/sp\\040ace
	EOF
	AUFS_FSTAB=$TRASH/fstab LD_PRELOAD=$(aufs_preload) sh -c "cat \"$M/f\" \"$M2/h\" \"$M2/i\" \"$TRASH/sp mnt/s\"" >out &&
	printf "%s\n" base-f b2-h t2-i spaced >expect &&
	test_cmp expect out &&
	aufs_run --fstab fstab -- cat "$TRASH/sp mnt/s" "$M2/h" >out &&
	printf "%s\n" spaced b2-h >expect &&
	test_cmp expect out
'

test_expect_success 'a bad AUFS_MOUNTS without aufs-run: one warning, its mount point fails closed' '
	aufs_env "none $M aufs br:$TRASH/top=bogus 0 0" sh -c "cat \"$M/f\" 2>&1 || echo refused" >out 2>err &&
	grep -q "Input/output error" out &&
	test_grep "^refused\$" out &&
	test_line_count = 1 err &&
	test_grep "^aufs-preload: AUFS_MOUNTS: .*unknown permission \"bogus\".*no union is active; paths under the refused mount point fail with EIO" err
'

test_expect_success 'several unions in one process, each with its own content' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -o "br:$TRASH/t2=rw:$TRASH/b2=ro" "$M2" -- \
		sh -c "ls \"$M\" \"$M2\"; cat \"$M2/h\"; test -e \"$M/h\" || echo no h in mnt" >out &&
	cat >expect <<-EOF &&
	$M:
	f
	g

	$M2:
	h
	i
	b2-h
	no h in mnt
	EOF
	test_cmp expect out
'

test_expect_success 'two unions sharing a ro base branch' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -o "br:$TRASH/t2=rw:$TRASH/base=ro" "$M2" -- \
		sh -c "ls \"$M\" \"$M2\"" >out &&
	printf "%s\n" "$M:" f g "" "$M2:" f i >expect &&
	test_cmp expect out
'

# A union whose mount point lies inside another union's mount point: the longest
# matching mount point wins (man/aufs-run.1).
test_expect_success 'nested mount points: the longest match wins' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -o "br:$TRASH/t2=rw:$TRASH/b2=ro" "$M/inner" -- \
		sh -c "cat \"$M/inner/h\"; ls \"$M/inner\"; cat \"$M/f\"" >out &&
	printf "%s\n" b2-h h i base-f >expect &&
	test_cmp expect out
'

test_expect_success 'unions reach child processes across exec (sh, sh -c, perl)' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -- \
		sh -c "sh -c \"cat $M/f\"; perl -e \"print -e q($M/g) ? qq(g\\n) : qq(no g\\n)\"" >out &&
	printf "%s\n" base-f g >expect &&
	test_cmp expect out
'

test_expect_success 'env -i keeps the union: the library re-injects itself and its configuration' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -- \
		env -i /bin/sh -c "cat \"$M/f\"" >out &&
	echo base-f >expect &&
	test_cmp expect out
'

test_expect_success 'env -i AUFS_UNLOAD=1 scrubs the environment, and with it the union' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -- \
		env -i AUFS_UNLOAD=1 /bin/sh -c "test -e \"$M/f\" || echo gone" >out &&
	echo gone >expect &&
	test_cmp expect out
'

test_expect_success 'an aufs-run inside aufs-run adds unions to the inherited ones' '
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -- \
		"$AUFS_BUILD/aufs-run" -o "br:$TRASH/t2=rw:$TRASH/b2=ro" "$M2" -- cat "$M/f" "$M2/h" >out &&
	printf "%s\n" base-f b2-h >expect &&
	test_cmp expect out
'

test_expect_success 'an inner aufs-run may not reuse an inherited mount point' '
	rm -f marker &&
	aufs_run -o "br:$TRASH/top=rw:$TRASH/base=ro" "$M" -- \
		"$AUFS_BUILD/aufs-run" -o "br:$TRASH/t2=rw:$TRASH/b2=ro" "$M" -- touch "$TRASH/marker" 2>err
	test $? = 2 &&
	test_path_is_missing marker &&
	test_grep "mount point $M is used twice" err
'

test_expect_success PYTHON 'setenv of AUFS_MOUNTS / AUFS_FSTAB inside a process switches its unions' '
	printf "%s\n" "$U1" >one.fstab &&
	aufs_env "$U1" python3 -c "
import os
print(os.path.exists(\"$M/f\"), os.path.exists(\"$M2/h\"))
os.environ[\"AUFS_MOUNTS\"] = \"$U2\"
print(os.path.exists(\"$M/f\"), os.path.exists(\"$M2/h\"))
del os.environ[\"AUFS_MOUNTS\"]
os.environ[\"AUFS_FSTAB\"] = \"$TRASH/one.fstab\"
print(os.path.exists(\"$M/f\"), os.path.exists(\"$M2/h\"))
" >out &&
	printf "%s\n" "True False" "False True" "True False" >expect &&
	test_cmp expect out
'

# ---------------------------------------------------------------- warn_perm
# aufs(5) DIAGNOSTICS and warn_perm (the default): aufs-run warns, on stderr, once
# per start, about a writable branch anyone may write, a writable branch owned by
# neither the caller nor root, and a branch whose owner, group or mode differ from
# the first branch's. The command still runs. The library itself never warns: it
# is loaded in every process.
setup_branches ww lo hi
chmod 0777 ww
chmod 0755 hi
chmod 0750 lo
M3=$TRASH/mnt3
me=$(id -u) mygid=$(id -g)

test_expect_success 'a world-writable writable branch: exactly one warning line, and the command runs' '
	aufs_run -o "br:$TRASH/ww=rw" "$M3" -- sh -c "echo ran" >out 2>err &&
	echo ran >expect &&
	test_cmp expect out &&
	echo "aufs-run: warning: $M3: writable branch $TRASH/ww is writable by every user (mode 0777): anyone can change what the union shows" >expect &&
	test_cmp expect err
'

test_expect_success 'a branch whose owner, group or mode differ from the first branch'"'"'s: one line' '
	aufs_run -o "br:$TRASH/hi=rw:$TRASH/lo=ro" "$M3" -- true 2>err &&
	echo "aufs-run: warning: $M3: branch $TRASH/lo has uid/gid/mode $me/$mygid/0750, the first branch $TRASH/hi $me/$mygid/0755" >expect &&
	test_cmp expect err
'

test_expect_success 'nowarn_perm silences them; a world-writable read-only branch is no warning' '
	aufs_run -o "br:$TRASH/ww=rw,nowarn_perm" "$M3" -- true 2>err &&
	test_must_be_empty err &&
	aufs_run -o "br:$TRASH/hi=rw:$TRASH/lo=ro,nowarn_perm" "$M3" -- true 2>err &&
	test_must_be_empty err &&
	aufs_run -o "br:$TRASH/ww=ro" "$M3" -- true 2>err &&
	test_must_be_empty err
'

test_expect_success ROOT 'a writable branch owned by another user than the caller and root' '
	chown 4242 hi &&
	aufs_run -o "br:$TRASH/hi=rw" "$M3" -- true 2>err;
	st=$?
	chown 0 hi &&
	test $st = 0 &&
	echo "aufs-run: warning: $M3: writable branch $TRASH/hi belongs to uid 4242, neither you (uid 0) nor root: that user can change what the union shows" >expect &&
	test_cmp expect err
'

test_expect_success 'once: not again in the processes of the command, nor by an inner aufs-run' '
	aufs_run -o "br:$TRASH/ww=rw" "$M3" -- sh -c "
		ls \"$M3\" >/dev/null; sh -c \"ls $M3 >/dev/null\";
		\"$AUFS_BUILD/aufs-run\" -o \"br:$TRASH/t2=rw:$TRASH/b2=ro\" \"$M2\" -- cat \"$M2/h\"" >out 2>err &&
	echo b2-h >expect &&
	test_cmp expect out &&
	test_line_count = 1 err &&
	test_grep "^aufs-run: warning: $M3: writable branch $TRASH/ww is writable by every user" err
'

test_expect_success 'the library alone (AUFS_MOUNTS without aufs-run) does not warn' '
	aufs_env "none $M3 aufs br:$TRASH/ww=rw 0 0" sh -c "ls -a \"$M3\"" >out 2>err &&
	test_must_be_empty err
'

test_expect_success 'the library refuses the second of two unions sharing a writable branch: one line, it is fenced' '
	aufs_env "none $M aufs br:$TRASH/top=rw:$TRASH/base=ro 0 0
none $M2 aufs br:$TRASH/top=rw:$TRASH/b2=ro 0 0" sh -c "test -e \"$M/f\" && echo union; { echo x >\"$M2/leak\"; } 2>/dev/null || echo fenced" >out 2>err &&
	printf "%s\n" union fenced >expect &&
	test_cmp expect out &&
	test_path_is_missing "$M2/leak" &&
	echo "aufs-preload: AUFS_MOUNTS: AUFS_MOUNTS:2: writable branch $TRASH/top of $M2 is also a writable branch of $M (a writable branch must not be shared between unions); the other unions work; paths under the refused mount point fail with EIO" >expect &&
	test_cmp expect err
'

test_expect_success 'the ro branches are untouched' '
	branch_untouched "$TRASH/base" &&
	branch_untouched "$TRASH/b2"
'

test_done
