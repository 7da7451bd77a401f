#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='permissions across the host'"'"'s users: write permission on a directory follows its top-most copy; read and search follow nodirperm1 or dirperm1'
. "$(dirname "$0")/lib.sh"

# The host (lib.sh): a base owned by root, 0755; each tenant's writable branch
# owned by the tenant's user, with its own copies of the directories it must
# write (d, uploads), made when the tenant was created; a web server user. As
# aufs decides (aufs_permission(), and the kernel overlay with its upper inode):
# write permission on a directory is the top-most copy's; read and search
# permission every copy's (nodirperm1, the default) or the top-most copy's
# (dirperm1). Every run is as the user it names, through user_aufs_run.
host_users_ready
have_cmd python3 && test_set_prereq PYTHON

B=$TRASH/base
T1=$TRASH/tenant1
T2=$TRASH/tenant2
M1=$TRASH/www/t1
M2=$TRASH/www/t2
mkdir -p "$B/d" "$B/only" "$B/uploads" "$B/sticky" "$B/priv" "$T1/d" "$T1/uploads" \
	"$T1/priv" "$T2/d"
for dir in "$B" "$B/d" "$B/only" "$B/uploads" "$B/sticky"; do
	echo f >"$dir/f"
	echo g >"$dir/g"
done
echo secret >"$B/priv/secret"
echo mine >"$T1/priv/mine"
echo mine >"$T1/d/mine"
chmod 0755 "$B" "$B/d" "$B/only" "$B/uploads" "$T1" "$T1/d" "$T1/uploads" "$T1/priv" "$T2" "$T2/d"
chmod 1777 "$B/sticky"
chmod 0700 "$B/priv"
if test_have_prereq HOST_USERS; then
	chown -R "$AUFS_TENANT1:" "$T1"
	chown -R "$AUFS_TENANT2:" "$T2"
fi
snapshot_branch "$B"
# every run starts from this tenant branch: the operations change it
cp -a "$T1" "$TRASH/tenant1.pristine"

# fresh_t1: the tenant's branch as it was made (the previous test changed it).
fresh_t1() {
	rm -rf "$T1" && cp -a "$TRASH/tenant1.pristine" "$T1"
}

# as USER OPTS SCRIPT...: SCRIPT (sh -c) as USER in the union br:T1=rw:B=ro OPTS at M1.
as() {
	_user=$1 _opts=$2
	shift 2
	user_aufs_run "$_user" -o "br:$T1=rw:$B=ro,nowarn_perm$_opts" "$M1" -- \
		sh -c 'cd "$1" && eval "$2"' sh "$M1" "$@"
}

# writes.py ROOT: for each directory, what access(W_OK) says, then what each
# change does (ok or the errno's name), in a fixed order: the sticky dir's
# removals come before anything is made in it.
cat >writes.py <<\EOF
import errno, os, sys
os.chdir(sys.argv[1])
def attempt(what, fn):
    try:
        fn()
        print(what, "ok")
    except OSError as e:
        print(what, errno.errorcode[e.errno])
for d in (".", "d", "only", "uploads", "sticky"):
    p = lambda name: os.path.join(d, name)
    print(d, "W_OK", os.access(d, os.W_OK))
    attempt(d + " rename", lambda: os.rename(p("f"), p("f.moved")))
    attempt(d + " unlink", lambda: os.unlink(p("g")))
    attempt(d + " create", lambda: os.close(os.open(p("new"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)))
    attempt(d + " mkdir", lambda: os.mkdir(p("newdir")))
    attempt(d + " rmdir", lambda: os.rmdir(p("newdir")))
EOF

# reads.py ROOT: for each directory, what access(R_OK) and access(X_OK) say, then
# what listing it, entering it and reading a file in it do.
cat >reads.py <<\EOF
import errno, os, sys
root = sys.argv[1]
os.chdir(root)
def attempt(what, fn):
    try:
        print(what, fn())
    except OSError as e:
        print(what, errno.errorcode[e.errno])
def enter(d):
    os.chdir(d)
    os.chdir(root)
    return "ok"
for d in ("d", "priv"):
    print(d, "R_OK", os.access(d, os.R_OK), "X_OK", os.access(d, os.X_OK))
    attempt(d + " stat", lambda: "%o" % (os.stat(d).st_mode & 0o7777))
    attempt(d + " list", lambda: " ".join(sorted(os.listdir(d))))
    attempt(d + " chdir", lambda: enter(d))
    attempt(d + " read", lambda: open(os.path.join(d, "mine")).read().strip())
    attempt(d + " create", lambda: os.close(os.open(os.path.join(d, "new"), os.O_CREAT | os.O_WRONLY)))
EOF

# What the tenant may change: everything in its own copies (the root, d,
# uploads); nothing in a directory only the base has; in the sticky base
# directory (root's, 1777) it may add names but not remove root's.
cat >tenant-writes.expect <<\EOF
. W_OK True
. rename ok
. unlink ok
. create ok
. mkdir ok
. rmdir ok
d W_OK True
d rename ok
d unlink ok
d create ok
d mkdir ok
d rmdir ok
only W_OK False
only rename EACCES
only unlink EACCES
only create EACCES
only mkdir EACCES
only rmdir ENOENT
uploads W_OK True
uploads rename ok
uploads unlink ok
uploads create ok
uploads mkdir ok
uploads rmdir ok
sticky W_OK True
sticky rename EPERM
sticky unlink EPERM
sticky create ok
sticky mkdir ok
sticky rmdir ok
EOF

# The web server, a user that owns nothing here, may change nothing. Not even add
# a name to the sticky base directory, which anyone may write: the name goes to
# the tenant's branch, where the directory must be copied up first, into the
# tenant's 0755 root. aufs and the kernel overlay copy up with their own
# privileges; a process has only the caller's (aufs-preload(7), LIMITATIONS).
cat >www-writes.expect <<\EOF
. W_OK False
. rename EACCES
. unlink EACCES
. create EACCES
. mkdir EACCES
. rmdir ENOENT
d W_OK False
d rename EACCES
d unlink EACCES
d create EACCES
d mkdir EACCES
d rmdir ENOENT
only W_OK False
only rename EACCES
only unlink EACCES
only create EACCES
only mkdir EACCES
only rmdir ENOENT
uploads W_OK False
uploads rename EACCES
uploads unlink EACCES
uploads create EACCES
uploads mkdir EACCES
uploads rmdir ENOENT
sticky W_OK False
sticky rename EPERM
sticky unlink EPERM
sticky create EACCES
sticky mkdir EACCES
sticky rmdir ENOENT
EOF

test_expect_success HOST_USERS 'the issue: the tenant creates, makes dirs, removes in dirs whose top-most copy it owns' '
	fresh_t1 &&
	as "$AUFS_TENANT1" "" "touch new && mkdir x && touch d/new && rm d/f && stat -c \"%U %a\" . d" >actual &&
	printf "%s\n" "$AUFS_TENANT1 755" "$AUFS_TENANT1 755" >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T1/new" &&
	test_path_is_dir "$T1/x" &&
	test_path_is_file "$T1/d/new" &&
	test_path_is_file "$T1/d/.wh.f" &&
	stat -c %U "$T1/new" "$T1/x" "$T1/d/new" >actual &&
	printf "%s\n" "$AUFS_TENANT1" "$AUFS_TENANT1" "$AUFS_TENANT1" >expect &&
	test_cmp expect actual &&
	branch_untouched "$B"
'

test_expect_success HOST_USERS 'but nothing in a dir only the base has (root 0755): EACCES, nothing copied up' '
	fresh_t1 &&
	for op in "touch only/new" "mkdir only/x" "rm -f only/f" "mv only/f only/f2" "mv d/mine only/"; do
		as "$AUFS_TENANT1" "" "$op" >out 2>&1
		st=$? &&
		cat out &&
		test $st != 0 &&
		test_grep "Permission denied" out || return 1
	done &&
	test_path_is_missing "$T1/only" &&
	test_path_is_file "$T1/d/mine" &&
	branch_untouched "$B"
'

test_expect_success HOST_USERS,PYTHON 'the tenant: access(W_OK) says what each change then does' '
	fresh_t1 &&
	as "$AUFS_TENANT1" "" "python3 \"$TRASH/writes.py\" ." >actual &&
	test_cmp tenant-writes.expect actual &&
	test_path_is_missing "$T1/only" &&
	branch_untouched "$B"
'

test_expect_success HOST_USERS,PYTHON 'the web server (owner of nothing) cannot write in the tenant'"'"'s dirs, and access(W_OK) says so' '
	fresh_t1 &&
	as "$AUFS_WWW" "" "python3 \"$TRASH/writes.py\" ." >actual &&
	test_cmp www-writes.expect actual &&
	as "$AUFS_WWW" "" "cat d/mine d/f" >actual &&
	printf "%s\n" mine f >expect &&
	test_cmp expect actual &&
	branch_untouched "$B"
'

# tenant2's branch has its own copy of d, made when the tenant was created, but
# not of uploads: the host makes the directories a tenant must write.
test_expect_success HOST_USERS,PYTHON 'the second tenant can write in its own union only, in the dirs it has a copy of' '
	fresh_t1 &&
	as "$AUFS_TENANT2" "" "python3 \"$TRASH/writes.py\" ." >actual &&
	test_cmp www-writes.expect actual &&
	user_aufs_run "$AUFS_TENANT2" -o "br:$T2=rw:$B=ro,nowarn_perm" "$M2" -- \
		sh -c "cd \"$M2\" && mkdir d/x && echo t2 >d/x/f && rm d/g && ls d" >actual &&
	printf "%s\n" f x >expect &&
	test_cmp expect actual &&
	stat -c %U "$T2/d/x" "$T2/d/x/f" >actual &&
	printf "%s\n" "$AUFS_TENANT2" "$AUFS_TENANT2" >expect &&
	test_cmp expect actual &&
	test_must_fail user_aufs_run "$AUFS_TENANT2" -o "br:$T2=rw:$B=ro,nowarn_perm" "$M2" -- \
		mkdir "$M2/uploads/x" 2>err &&
	test_grep "Permission denied" err &&
	rm -rf "$T2/d/x" "$T2/d/.wh.g" "$T2/.wh..wh.aufs" &&
	branch_untouched "$B"
'

# priv: the base's copy is root's 0700, the tenant's copy its own 0755.
test_expect_success HOST_USERS,PYTHON 'nodirperm1 (default): a base copy that refuses reading and search refuses them, whatever the tenant'"'"'s copy says' '
	fresh_t1 &&
	as "$AUFS_TENANT1" "" "python3 \"$TRASH/reads.py\" \"$M1\"" >actual &&
	cat >expect <<-\EOF &&
	d R_OK True X_OK True
	d stat 755
	d list f g mine
	d chdir ok
	d read mine
	d create None
	priv R_OK False X_OK False
	priv stat 755
	priv list EACCES
	priv chdir EACCES
	priv read EACCES
	priv create EACCES
	EOF
	test_cmp expect actual &&
	test_path_is_missing "$T1/priv/new" &&
	branch_untouched "$B"
'

test_expect_success HOST_USERS,PYTHON 'dirperm1: the top-most copy decides; the base copy the tenant cannot read adds nothing' '
	fresh_t1 &&
	as "$AUFS_TENANT1" ",dirperm1" "python3 \"$TRASH/reads.py\" \"$M1\"" >actual &&
	cat >expect <<-\EOF &&
	d R_OK True X_OK True
	d stat 755
	d list f g mine
	d chdir ok
	d read mine
	d create None
	priv R_OK True X_OK True
	priv stat 755
	priv list mine
	priv chdir ok
	priv read mine
	priv create None
	EOF
	test_cmp expect actual &&
	test_must_fail as "$AUFS_TENANT1" ",dirperm1" "cat priv/secret" 2>err &&
	test_grep "priv/secret: No such file or directory" err &&
	test_path_is_file "$T1/priv/new" &&
	branch_untouched "$B"
'

test_expect_success HOST_USERS 'root, who may read every copy, lists the merged dir either way' '
	fresh_t1 &&
	for o in "" ",dirperm1"; do
		aufs_run -o "br:$T1=rw:$B=ro,nowarn_perm$o" "$M1" -- ls "$M1/priv" >actual &&
		printf "%s\n" mine secret >expect &&
		test_cmp expect actual || return 1
	done &&
	branch_untouched "$B"
'

test_expect_success HOST_USERS 'stat shows the top-most copy'"'"'s owner and mode of a merged dir, for every user' '
	fresh_t1 &&
	for u in "$AUFS_TENANT1" "$AUFS_WWW"; do
		as "$u" "" "stat -c \"%U %a\" . d uploads only" >actual &&
		printf "%s\n" "$AUFS_TENANT1 755" "$AUFS_TENANT1 755" "$AUFS_TENANT1 755" "root 755" >expect &&
		test_cmp expect actual || return 1
	done
'

# ---------------------------------------------------------------- the kernel overlay
# The same layers as a kernel overlay (lowerdir a copy of the base, upperdir a copy
# of the tenant's branch, mounted by root in a private mount namespace), the same
# changes as the same users: overlay decides write permission by the overlay
# inode, the upper copy's attributes for a merged dir, as aufs does. (Reading and
# searching differ on purpose: overlay reads the lower layers with the mounter's
# rights, which a process cannot, so priv is not compared.)
overlay_ready HOST_USERS
prereq_reason() {
	case $1 in
	OVERLAY) echo "${OVERLAY_WHY:-no overlay}" ;;
	HOST_USERS) echo "needs root and the users $AUFS_HOST_USERS (made by run.sh)" ;;
	PYTHON) echo "python3 is not installed" ;;
	!ROOT) echo "must not run as root" ;;
	*) echo "missing $1" ;;
	esac
}

# overlay_as USER: writes.py as USER in a fresh overlay of the base and the tenant's branch.
overlay_as() {
	rm -rf ovl && mkdir -p ovl/work ovl/merged &&
	cp -a "$B" ovl/lower && cp -a "$TRASH/tenant1.pristine" ovl/upper &&
	chmod 0755 ovl ovl/merged &&
	unshare -m --propagation private sh -c "
		mount -t overlay overlay \
			-o lowerdir=\"$TRASH/ovl/lower\",upperdir=\"$TRASH/ovl/upper\",workdir=\"$TRASH/ovl/work\" \
			\"$TRASH/ovl/merged\" &&
		runuser -u \"$1\" -- python3 \"$TRASH/writes.py\" \"$TRASH/ovl/merged\"
	"
}

test_expect_success HOST_USERS,OVERLAY,PYTHON 'the kernel overlay gives the tenant the same write permissions' '
	overlay_as "$AUFS_TENANT1" >ovl.tenant &&
	test_cmp tenant-writes.expect ovl.tenant &&
	branch_untouched "$B"
'

# The one difference, on purpose: overlay copies the sticky directory up with the
# mounter's rights, so the web server may add names to it there.
test_expect_success HOST_USERS,OVERLAY,PYTHON 'and the web server the same refusals, but for the copy-up overlay makes as root' '
	overlay_as "$AUFS_WWW" >ovl.www &&
	grep -v "^sticky" www-writes.expect >expect &&
	grep -v "^sticky" ovl.www >actual &&
	test_cmp expect actual &&
	grep "^sticky" ovl.www >actual &&
	printf "%s\n" "sticky W_OK True" "sticky rename EPERM" "sticky unlink EPERM" \
		"sticky create ok" "sticky mkdir ok" "sticky rmdir ok" >expect &&
	test_cmp expect actual &&
	branch_untouched "$B"
'

# ---------------------------------------------------------------- without root
# The same rule for one unprivileged user, the modes standing in for the owners:
# the base's copies are 0555 (the owner may not write them), the top branch's
# copy of d is 0755; noread's base copy may not be read (0300), nosearch's not
# searched (0600), each with a top copy of 0755 holding "mine".
UB=$TRASH/ubase
UT=$TRASH/utop
UM=$TRASH/umnt
mkdir -p "$UB/d" "$UB/only" "$UB/noread" "$UB/nosearch" "$UT/d" "$UT/noread" "$UT/nosearch"
echo f >"$UB/d/f"
echo f >"$UB/only/f"
echo mine >"$UT/noread/mine"
echo mine >"$UT/nosearch/mine"
chmod 0555 "$UB/d" "$UB/only"
# ub_modes: the modes of the test; the snapshot reads the base with u+rx, and only it
ub_modes() {
	chmod 0300 "$UB/noread" && chmod 0600 "$UB/nosearch"
}
ub_untouched() {
	chmod 0700 "$UB/noread" "$UB/nosearch" &&
	branch_untouched "$UB"
	_st=$?
	ub_modes
	return $_st
}
chmod 0700 "$UB/noread" "$UB/nosearch"
snapshot_branch "$UB"
ub_modes

in_u() {
	aufs_run -o "br:$UT=rw:$UB=ro,nowarn_perm$1" "$UM" -- sh -c 'cd "$1" && eval "$2"' sh "$UM" "$2"
}

test_expect_success !ROOT 'unprivileged: create and remove in a dir whose top-most copy is writable, not in a 0555 base-only dir' '
	in_u "" "touch d/new && rm d/f && ls d" >actual &&
	echo new >expect &&
	test_cmp expect actual &&
	in_u "" "touch only/new" >out 2>&1
	st=$? &&
	test $st != 0 &&
	test_grep "Permission denied" out &&
	test_path_is_missing "$UT/only" &&
	rm "$UT/d/new" "$UT/d/.wh.f"
'

test_expect_success !ROOT 'unprivileged: nodirperm1 refuses listing noread and entering nosearch; dirperm1 allows both' '
	in_u "" "ls noread" >out 2>&1
	st=$? &&
	test $st != 0 && test_grep "Permission denied" out &&
	in_u "" "cat nosearch/mine" >out 2>&1
	st=$? &&
	test $st != 0 && test_grep "Permission denied" out &&
	in_u "" "test -r noread || echo no-r; test -x nosearch || echo no-x" >actual &&
	printf "%s\n" no-r no-x >expect &&
	test_cmp expect actual &&
	in_u ",dirperm1" "ls noread; cat nosearch/mine; test -r noread && test -x nosearch && echo both" >actual &&
	printf "%s\n" mine mine both >expect &&
	test_cmp expect actual
'

test_expect_success !ROOT 'unprivileged: the base is untouched' '
	ub_untouched
'

test_done
