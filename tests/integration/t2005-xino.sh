#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='xino: one st_dev per union, inode numbers the same in every process and kept by a copy-up; a table that may not be trusted is refused'
. "$(dirname "$0")/lib.sh"

# A union br:top=rw:base=ro. Programs that trust inode numbers run inside it: find,
# du, tar, git, python's scandir. The table of numbers is a file of AUFS_XINO_DIR
# (lib.sh points it into this test's directory); xino=FILE names another.
host_users_ready
have_cmd python3 && test_set_prereq PYTHON
have_cmd git && test_set_prereq GIT
have_cmd tar && test_set_prereq TAR
overlay_ready

setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/mnt
mkdir -p "$BASE/d/sub" "$BASE/links" "$BASE/repo/src" "$BASE/other" "$M"
seq 10 >"$BASE/d/f"
echo g >"$BASE/d/g"
echo deep >"$BASE/d/sub/deep"
head -c 65536 /dev/zero >"$BASE/links/a"
ln "$BASE/links/a" "$BASE/links/b"
echo 'int main(void) { return 0; }' >"$BASE/repo/src/main.c"
echo 'all: main' >"$BASE/repo/Makefile"
echo unrelated >"$BASE/other/log"
chmod -R a+rX "$BASE"
snapshot_branch "$BASE"
OPTS="br:$T=rw:$BASE=ro"

# u SCRIPT: SCRIPT (sh -c) in the union, in M.
u() {
	aufs_run -o "$OPTS" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}

test_expect_success 'a base file keeps its number through a copy-up, in every process' '
	u "stat -c %i d/f" >before &&
	u "stat -c %i d/f" >again &&
	test_cmp before again &&
	u "echo more >>d/f && stat -c %i d/f" >after &&
	test_path_is_file "$T/d/f" &&
	test_cmp before after &&
	u "stat -c %i d/f" >later &&
	test_cmp before later &&
	test "$(cat before)" != "$(stat -c %i "$T/d/f")"
'

test_expect_success 'two processes of the union at once agree, before and after a copy-up' '
	u "stat -c %i d/g; sleep 1; stat -c %i d/g" >first &
	pid=$! &&
	sleep 0.3 &&
	u "stat -c %i d/g; echo x >>d/g; stat -c %i d/g" >second &&
	wait $pid &&
	sort -u first second >all &&
	test_line_count = 1 all
'

test_expect_success 'a copied-up directory keeps its number, and so do the names in it' '
	u "stat -c %i d/sub d/sub/deep" >before &&
	u "touch d/sub/new && stat -c %i d/sub d/sub/deep" >after &&
	test -d "$T/d/sub" &&
	test_cmp before after
'

test_expect_success 'one st_dev for the whole union, the mount point too, and not a real device' '
	u "stat -c %d . d d/f links/a other/log" | sort -u >devs &&
	test_line_count = 1 devs &&
	test "$(cat devs)" != "$(stat -c %d "$BASE")" &&
	test "$(cat devs)" != "$(stat -c %d "$T")"
'

test_expect_success 'find -xdev sees the base files, find -inum finds a file by its number' '
	u "find . -xdev -name deep" >found &&
	echo ./d/sub/deep >expect &&
	test_cmp expect found &&
	u "find . -inum \$(stat -c %i d/sub/deep)" >found &&
	test_cmp expect found
'

test_expect_success 'ls -i (readdir d_ino) gives what stat gives' '
	u "ls -i1 d | sort" >listed &&
	u "for n in f g sub; do echo \"\$(stat -c %i d/\$n) \$n\"; done | sort" >stated &&
	sed "s/^ *//" listed >listed.trim &&
	test_cmp stated listed.trim
'

cat >"$TRASH/scan.py" <<\EOF
import os
for base in (".", "d", "links"):
    for e in os.scandir(base):
        st = os.stat(e.path, follow_symlinks=False)
        print(e.path, e.inode() == st.st_ino)
EOF

test_expect_success PYTHON 'python: os.scandir inode() equals os.stat().st_ino' '
	u "python3 \"\$TRASH/scan.py\"" >scandir &&
	! grep False scandir &&
	grep "d/f True" scandir
'

test_expect_success 'fstat of a descriptor the union opened: the union numbers, a dup too' '
	for args in "$M/d/f" "$M/links/a" "$M/d dir" "$M dir" "$M/other/log dup"; do
		aufs_run -o "$OPTS" "$M" -- "$AUFS_BUILD/helper/probe-fstat" $args >out &&
		aufs_run -o "$OPTS" "$M" -- "$AUFS_BUILD/helper-lfs/probe-fstat" $args >out.lfs &&
		test_cmp out out.lfs &&
		test "$(sed -n 1p out)" = "$(sed -n 2p out)" || return 1
	done &&
	"$AUFS_BUILD/helper/probe-fstat" "$BASE/d/g" >out &&
	test "$(sed -n 1p out)" = "$(sed -n 2p out)"
'

test_expect_success PYTHON 'python: os.fstat of an open file equals os.stat' '
	u "python3 -c \"import os; fd = os.open(\\\"d/sub/deep\\\", os.O_RDONLY); a = os.fstat(fd); b = os.stat(\\\"d/sub/deep\\\"); print(a.st_ino == b.st_ino and a.st_dev == b.st_dev)\"" >out &&
	echo True >expect &&
	test_cmp expect out
'

test_expect_success 'find walks a wide and deep tree whole (fts climbs with .. and compares fstat)' '
	W=$TRASH/wide && mkdir -p "$W/b" "$W/t/d1/e1" "$W/m" &&
	for i in $(seq 10); do
		for j in $(seq 10); do mkdir -p "$W/b/d$i/e$j/f"; echo >"$W/b/d$i/e$j/f/x"; done
	done &&
	deep=$W/b/$(seq -s / 60 | sed "s/\([0-9]*\)/n\1/g") &&
	mkdir -p "$deep" && echo bottom >"$deep/file" &&
	(cd "$W/b" && find . -printf "%y %P\n" | sort) >native &&
	aufs_run -o "br:$W/t=rw:$W/b=ro" "$W/m" -- sh -c "cd $W/m && find . -printf \"%y %P\\n\"" 2>&1 |
		sort >union &&
	test_cmp native union
'

test_expect_success 'du counts a hard-linked pair once' '
	u "du -sk links" >both &&
	u "du -sk links/a" >one &&
	test "$(cut -f1 both)" -lt $(( $(cut -f1 one) + 8 ))
'

test_expect_success TAR 'tar stores the second name of a hard-linked pair as a link' '
	u "tar cf \"\$TRASH/pair.tar\" links" &&
	tar tvf "$TRASH/pair.tar" >listing &&
	grep "links/b link to links/a" listing ||
	grep "links/a link to links/b" listing
'

test_expect_success GIT 'git status is clean after a commit and a copy-up of an unrelated file' '
	u "cd repo && git init -q && git add -A &&
	   git -c user.name=t -c user.email=t@t commit -qm init &&
	   echo more >>../other/log && git status --porcelain" >status &&
	test_must_be_empty status &&
	test_path_is_file "$T/other/log" &&
	u "cd repo && git status --porcelain && git diff-files --quiet" >status &&
	test_must_be_empty status
'

test_expect_success HOST_USERS 'a second user of the union sees the numbers the tenant sees' '
	TB=$TRASH/t1base T1=$TRASH/tenant1 M1=$TRASH/www1 &&
	mkdir -p "$TB/site" "$T1/site" "$M1" &&
	echo page >"$TB/site/index.html" &&
	echo other >"$TB/site/other.html" &&
	chmod -R a+rX "$TB" &&
	chmod 0666 "$TB/site/index.html" &&
	chown -R "$AUFS_TENANT1:" "$T1" && chmod 0755 "$T1" "$T1/site" &&
	o="br:$T1=rw:$TB=ro,nowarn_perm" &&
	user_aufs_run "$AUFS_TENANT1" -o "$o" "$M1" -- stat -c %i "$M1/site/index.html" >t1 &&
	user_aufs_run "$AUFS_WWW" -o "$o" "$M1" -- stat -c %i "$M1/site/index.html" >www &&
	test_cmp t1 www &&
	user_aufs_run "$AUFS_TENANT1" -o "$o" "$M1" -- sh -c "echo more >>$M1/site/index.html" &&
	test_path_is_file "$T1/site/index.html" &&
	user_aufs_run "$AUFS_WWW" -o "$o" "$M1" -- stat -c %i "$M1/site/index.html" >www &&
	test_cmp t1 www &&
	user_aufs_run "$AUFS_WWW" -o "$o" "$M1" -- stat -c %i "$M1/site/other.html" >www2 &&
	user_aufs_run "$AUFS_TENANT1" -o "$o" "$M1" -- stat -c %i "$M1/site/other.html" >t12 &&
	test_cmp www2 t12 &&
	ls -l "$AUFS_XINO_DIR" >files &&
	grep "$AUFS_TENANT1" files &&
	# the branch made again (restored): the web server runs on, composing numbers
	mv "$T1" "$T1.old" && cp -a "$T1.old" "$T1" &&
	aufsctl status -o "$o" "$M1" >out &&
	test_grep "inode numbers: stale" out &&
	user_aufs_run "$AUFS_WWW" -o "$o" "$M1" -- stat -c %i "$M1/site/other.html" >www3 &&
	test_cmp www2 www3 &&
	user_aufs_run "$AUFS_TENANT1" -o "$o" "$M1" -- true &&
	aufsctl status -o "$o" "$M1" >out &&
	test_grep "inode numbers: .*, entries 0, kept 0, full 0" out
'

test_expect_success 'xino=FILE: the table is that file' '
	M2=$TRASH/mnt2 && mkdir -p "$M2" "$TRASH/top2" &&
	aufs_run -o "br:$TRASH/top2=rw:$BASE=ro,xino=$TRASH/my.xino" "$M2" -- \
		sh -c "echo x >>$M2/d/g" &&
	test_path_is_file "$TRASH/my.xino" &&
	test "$(stat -c %a "$TRASH/my.xino")" = 644
'

test_expect_success 'noxino: numbers composed of the branch index and the real number' '
	M3=$TRASH/mnt3 && mkdir -p "$M3" "$TRASH/top3" &&
	real=$(stat -c %i "$BASE/d/sub/deep") &&
	aufs_run -o "br:$TRASH/top3=rw:$BASE=ro,noxino" "$M3" -- stat -c %i "$M3/d/sub/deep" >got &&
	echo $(( (1 << 56) + real )) >expect &&
	test_cmp expect got
'

# bad_table WHAT CMD: the table spoiled by CMD is refused, exit 2 and one line naming it.
M4=$TRASH/mnt4
bad_table() {
	mkdir -p "$M4" "$TRASH/top4" &&
	o="br:$TRASH/top4=rw:$BASE=ro,xino=$TRASH/bad.xino" &&
	rm -f "$TRASH/bad.xino" &&
	aufs_run -o "$o" "$M4" -- true &&
	test_path_is_file "$TRASH/bad.xino" &&
	eval "$2" &&
	test_expect_code 2 aufs_run -o "$o" "$M4" -- true 2>err &&
	test_grep "xino file $TRASH/bad.xino of $M4: $1" err &&
	test_line_count = 1 err
}

test_expect_success 'a truncated table is refused: aufs-run exits 2' '
	bad_table "100 bytes, not" "truncate -s 100 \"\$TRASH/bad.xino\""
'

test_expect_success 'a table with a wrong magic number is refused' '
	bad_table "bad magic number" "printf XXXXXXXX | dd of=\"\$TRASH/bad.xino\" conv=notrunc 2>/dev/null"
'

test_expect_success 'a table others may write is refused' '
	bad_table "group or others may write it (mode 0666)" "chmod 0666 \"\$TRASH/bad.xino\""
'

test_expect_success ROOT 'a table of a foreign owner is refused' '
	bad_table "owned by uid 12345" "chown 12345 \"\$TRASH/bad.xino\""
'

test_expect_success 'a refused table: programs still run, numbers composed, said once' '
	aufs_run -o "br:$TRASH/top4=rw:$BASE=ro" "$M4" -- true &&
	AUFS_MOUNTS="none $M4 aufs br:$TRASH/top4=rw:$BASE=ro,xino=$TRASH/bad.xino" \
		LD_PRELOAD=$(aufs_preload) sh -c "stat -c %i $M4 $M4/d/f" >out 2>err &&
	test_line_count = 2 out &&
	test_grep "not trusted: numbers are composed" err &&
	test_line_count = 1 err
'

test_expect_success 'aufsctl status: the table, the slots taken, the numbers kept' '
	aufsctl status -o "$OPTS" "$M" >out &&
	test_grep "^  inode numbers: $AUFS_XINO_DIR/aufs.xino.[0-9a-f]*, entries [1-9][0-9]*, kept [1-9][0-9]*, full 0, freed 0\$" out &&
	aufsctl status -o "br:$TRASH/top3=rw:$BASE=ro,noxino" "$TRASH/mnt3" >out &&
	test_grep "^  inode numbers: composed (noxino" out &&
	aufsctl status -o "br:$TRASH/top4=rw:$BASE=ro,xino=$TRASH/bad.xino" "$M4" >out &&
	test_grep "^  inode numbers: xino file $TRASH/bad.xino of $M4: " out
'

# stability.sh: whether a file's and a directory's numbers stay through a copy-up,
# and whether the mount point, a base file and a new file share one st_dev.
cat >"$TRASH/stability.sh" <<\EOF
f0=$(stat -c %i s/file) d0=$(stat -c %i s/dir)
echo more >>s/file && touch s/dir/new
[ "$(stat -c %i s/file)" = "$f0" ] && echo "file number kept" || echo "file number changed"
[ "$(stat -c %i s/dir)" = "$d0" ] && echo "dir number kept" || echo "dir number changed"
stat -c %d . s/file s/dir/new | sort -u | wc -l | sed "s/\$/ device(s)/"
EOF

test_expect_success ROOT,OVERLAY 'as stable as the kernel overlay with xino=on and index=on' '
	O=$TRASH/ovlx && mkdir -p "$O/lower/s/dir" "$O/upper" "$O/work" "$O/merged" "$TRASH/topx" "$TRASH/mntx" &&
	echo f >"$O/lower/s/file" &&
	cp -a "$O/lower" "$TRASH/basex" &&
	unshare -m --propagation private sh -c "
		mount -t overlay overlay \
			-o lowerdir=$O/lower,upperdir=$O/upper,workdir=$O/work,xino=on,index=on $O/merged &&
		cd $O/merged && sh $TRASH/stability.sh" >ovl.out &&
	aufs_run -o "br:$TRASH/topx=rw:$TRASH/basex=ro" "$TRASH/mntx" -- \
		sh -c "cd $TRASH/mntx && sh $TRASH/stability.sh" >aufs.out &&
	cat ovl.out &&
	test_cmp ovl.out aufs.out
'

test_expect_success 'the base was never written' '
	branch_untouched "$BASE"
'

test_done
