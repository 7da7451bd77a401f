#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='paths the kernel accepts work when their real path in a branch is longer than PATH_MAX (a 300-byte branch path under a 21-byte mount point, 16 levels of 250-byte names), and names longer than the union NAME_MAX (251) are refused on creation'
. "$(dirname "$0")/lib.sh"

# The branch directories are exactly 300 bytes long (nested directories of
# fitting names under the trash directory); the mount points lie in a short
# directory made with mktemp -d under /tmp, removed at the end. A union path at
# the bottom of the deep tree is about 4040 bytes, its real path about 4320:
# the library names it through a descriptor of the branch root.
host_users_ready

SHORT=$(mktemp -d /tmp/aufsXXXXXXXXXX) || {
	echo "Bail out! mktemp -d /tmp/aufsXXXXXXXXXX failed"
	exit 1
}
chmod 0755 "$SHORT"
trap 'rm -rf "$SHORT"; cleanup' EXIT
M=$SHORT/m
MT=$SHORT/t

# python3 itself, not a version manager's shell wrapper (which chdirs to its cwd)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# PAD/<name> is 300 bytes for a one-byte name
PAD=$TRASH
while [ $((${#PAD} + 100 + 1)) -lt 298 ]; do
	PAD=$PAD/$(printf '%0100d' 0 | tr 0 p)
done
PAD=$PAD/$(printf "%0$((298 - ${#PAD} - 1))d" 0 | tr 0 q)
T=$PAD/t
B=$PAD/b
TT=$PAD/u
mkdir -p "$T" "$B" "$TT"
setup_branches "$T" "$B" "$TT"

N=$(printf '%0250d' 0 | tr 0 n)	# the base tree's levels
F=$(printf '%0250d' 0 | tr 0 m)	# the levels made through the union
DEEP=
FRESH=
i=0
while [ $i -lt 16 ]; do
	DEEP=$DEEP/$N
	FRESH=$FRESH/$F
	i=$((i + 1))
done
DEEP=${DEEP#/}
FRESH=${FRESH#/}

# cd_deep DIR NAME: cd into the 16 levels NAME below DIR, one at a time (a
# path that long does not fit in one chdir outside the union); sourced by the
# scripts that run under the union too.
cat >cd_deep.sh <<\EOF
cd_deep() {
	cd "$1" || return 1
	_i=0
	while [ $_i -lt 16 ]; do
		cd -P "$2" || return 1
		_i=$((_i + 1))
	done
}
EOF
. ./cd_deep.sh

# the base: the deep tree, with files and a directory at the bottom
(
	cd "$B" && i=0 && while [ $i -lt 16 ]; do mkdir "$N" && cd -P "$N" || exit 1; i=$((i + 1)); done &&
	echo base >cpf && echo gone >gone && echo move >mvf && echo keep >keep &&
	mkdir gdir && echo x >gdir/x && mkdir empty
) || { echo "Bail out! cannot build the base tree"; exit 1; }
snapshot_branch "$B"

test_expect_success 'the branches are 300 bytes, the mount point about 20, the paths longer than PATH_MAX' '
	test ${#T} -eq 300 && test ${#B} -eq 300 &&
	test ${#M} -le 22 &&
	test $((${#M} + 1 + ${#FRESH} + 2)) -lt 4096 &&
	test $((${#T} + 1 + ${#FRESH})) -gt 4096
'

# The reproduction of the issue: mkdir -p, then the changes at the bottom.
test_expect_success 'mkdir -p of 16 levels of 250-byte names through the union' '
	aufs_run -o "br:$T=rw:$B=ro" "$M" -- mkdir -p "$M/$FRESH" &&
	aufs_run -o "br:$T=rw:$B=ro" "$M" -- test -d "$M/$FRESH" &&
	(cd_deep "$T" "$F" && test "$(ls -A)" = "") &&
	branch_untouched "$B"
'

test_expect_success 'create, stat, rename, link, unlink and rmdir at the bottom (coreutils)' '
	D=$M/$FRESH &&
	aufs_run -o "br:$T=rw:$B=ro" "$M" -- sh -c "
		touch \"\$1/f\" && test \"\$(stat -c %s \"\$1/f\")\" = 0 &&
		echo data >\"\$1/f\" && test \"\$(stat -c %s \"\$1/f\")\" = 5 &&
		mv \"\$1/f\" \"\$1/g\" && ! test -e \"\$1/f\" &&
		ln \"\$1/g\" \"\$1/h\" && test \"\$(stat -c %h \"\$1/h\")\" = 2 &&
		rm \"\$1/g\" && test \"\$(stat -c %h \"\$1/h\")\" = 1 &&
		mkdir \"\$1/sub\" && rmdir \"\$1/sub\" && ! test -e \"\$1/sub\" &&
		ls -A \"\$1\"
	" sh "$D" >out &&
	echo h >expect &&
	test_cmp expect out &&
	(cd_deep "$T" "$F" && ls -A >"$TRASH/real" && cat h >"$TRASH/content") &&
	test_cmp expect real &&
	echo data >expect && test_cmp expect content &&
	branch_untouched "$B"
'

cat >errno.py <<\EOF
import errno, os, sys

d = sys.argv[1]
os.stat(os.path.dirname(d))	# the union's branch roots are held from its first use on
fds = sorted(os.listdir("/proc/self/fd"))


def expect(err, f, *args):
    try:
        f(*args)
    except OSError as e:
        if e.errno != err:
            sys.exit("%s%r: %s, expected %s" % (f.__name__, args[:1], errno.errorcode[e.errno],
                                                errno.errorcode[err]))
        return
    sys.exit("%s: succeeded, expected %s" % (f.__name__, errno.errorcode[err]))


os.mkdir(d + "/p")
expect(errno.EEXIST, os.mkdir, d + "/p")
fd = os.open(d + "/p/f", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, b"abc")
os.close(fd)
expect(errno.EEXIST, os.open, d + "/p/f", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
assert os.stat(d + "/p/f").st_size == 3
expect(errno.ENOTEMPTY, os.rmdir, d + "/p")
expect(errno.ENOTDIR, os.rmdir, d + "/p/f")
expect(errno.EISDIR, os.unlink, d + "/p")
os.rename(d + "/p/f", d + "/p/g")
expect(errno.ENOENT, os.stat, d + "/p/f")
os.link(d + "/p/g", d + "/p/h")
expect(errno.EEXIST, os.link, d + "/p/g", d + "/p/h")
assert os.stat(d + "/p/h").st_nlink == 2
assert sorted(os.listdir(d + "/p")) == ["g", "h"]
# attributes, size, links and extended attributes of a deep name
os.chmod(d + "/p/h", 0o600)
assert os.stat(d + "/p/g").st_mode & 0o777 == 0o600
os.utime(d + "/p/h", (1000000000, 1000000000))
assert os.stat(d + "/p/g").st_mtime == 1000000000
os.truncate(d + "/p/h", 1)
assert os.stat(d + "/p/g").st_size == 1
os.symlink("g", d + "/p/s")
assert os.readlink(d + "/p/s") == "g"
assert open(d + "/p/s").read() == "a"
try:
    os.setxattr(d + "/p/g", "user.t", b"v")
    assert os.getxattr(d + "/p/h", "user.t") == b"v"
    assert "user.t" in os.listxattr(d + "/p/g")
except OSError as e:
    if e.errno != errno.ENOTSUP:
        raise
os.unlink(d + "/p/s")
os.unlink(d + "/p/g")
os.unlink(d + "/p/h")
expect(errno.ENOENT, os.unlink, d + "/p/h")
os.rmdir(d + "/p")
expect(errno.ENOENT, os.rmdir, d + "/p")
assert os.pathconf(d, "PC_NAME_MAX") == 251
assert os.statvfs(d).f_namemax == 251
# one level more is more than the kernel takes: its own ENAMETOOLONG
expect(errno.ENAMETOOLONG, os.stat, d + "/" + "x" * 100)
# relative names from the deep cwd: up to a union path of PATH_MAX - 1 bytes
os.chdir(d)
k = 4095 - len(d) - 1
os.mkdir("x" * k)
expect(errno.ENAMETOOLONG, os.mkdir, "y" * (k + 1))
os.rmdir("x" * k)
os.chdir("/")
# no descriptor of the library is left between calls
now = sorted(os.listdir("/proc/self/fd"))
assert now == fds, (fds, now)
print("ok")
EOF

cat >threads.py <<\EOF
import os, sys, threading

d = sys.argv[1]
os.stat(os.path.dirname(d))	# the union's branch roots are held from its first use on
fds = sorted(os.listdir("/proc/self/fd"))
errors = []


def work(t):
    try:
        for i in range(100):
            p = "%s/t%d.%d" % (d, t, i)
            os.mkdir(p)
            fd = os.open(p + "/f", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, b"%d" % i)
            os.close(fd)
            assert os.stat(p + "/f").st_size == len(b"%d" % i)
            os.rename(p + "/f", p + "/g")
            os.unlink(p + "/g")
            os.rmdir(p)
    except Exception as e:
        errors.append(repr(e))


threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors
now = sorted(os.listdir("/proc/self/fd"))
assert now == fds, (fds, now)
assert not [n for n in os.listdir(d) if n.startswith("t")]
print("ok")
EOF

test_expect_success PYTHON 'the same calls and their errno at the bottom (python3)' '
	aufs_run -o "br:$T=rw:$B=ro" "$M" -- "$PY" errno.py "$M/$FRESH" >out &&
	echo ok >expect &&
	test_cmp expect out &&
	branch_untouched "$B"
'

test_expect_success PYTHON 'eight threads at the bottom at once, no descriptor left behind' '
	aufs_run -o "br:$T=rw:$B=ro" "$M" -- "$PY" threads.py "$M/$FRESH" >out &&
	echo ok >expect &&
	test_cmp expect out &&
	branch_untouched "$B"
'

test_expect_success 'a deep base file is copied up on write, the base untouched' '
	aufs_run -o "br:$T=rw:$B=ro" "$M" -- sh -c "
		echo more >>\"\$1/cpf\" && cat \"\$1/cpf\"
	" sh "$M/$DEEP" >out &&
	printf "base\nmore\n" >expect &&
	test_cmp expect out &&
	(cd_deep "$T" "$N" && cat cpf) >real &&
	test_cmp expect real &&
	branch_untouched "$B"
'

test_expect_success 'deep base entries are whited out, renamed and listed' '
	aufs_run -o "br:$T=rw:$B=ro" "$M" -- sh -c "
		rm \"\$1/gone\" && rm -r \"\$1/gdir\" && rmdir \"\$1/empty\" &&
		mv \"\$1/mvf\" \"\$1/moved\" && cat \"\$1/moved\" &&
		ls -a \"\$1\"
	" sh "$M/$DEEP" >out &&
	printf "%s\n" move . .. cpf keep moved >expect &&
	test_cmp expect out &&
	(cd_deep "$T" "$N" && ls -A) >real &&
	printf "%s\n" .wh.empty .wh.gdir .wh.gone .wh.mvf cpf moved >expect &&
	test_cmp expect real &&
	branch_untouched "$B"
'

test_expect_success 'the changes persist: a second process sees the same deep view' '
	aufs_run -o "br:$T=rw:$B=ro" "$M" -- sh -c "
		. \"$TRASH/cd_deep.sh\" && cd_deep \"\$1\" \"\$2\" && ls -a && cat cpf moved && pwd | wc -c
	" sh "$M" "$N" >out &&
	printf "%s\n" . .. cpf keep moved base more move $((${#M} + 1 + ${#DEEP} + 1)) >expect &&
	test_cmp expect out &&
	branch_untouched "$B"
'

test_expect_success 'relative calls from a deep cwd, and in the programs it starts' '
	aufs_run -o "br:$T=rw:$B=ro" "$M" -- sh -c "
		. \"$TRASH/cd_deep.sh\" && cd_deep \"\$1\" \"\$2\" &&
		echo rel >rel && ln rel rel2 && mv rel2 rel3 && rm rel && cat rel3 &&
		echo again >>keep && rm rel3 && ls
	" sh "$M" "$N" >out &&
	printf "%s\n" rel cpf keep moved >expect &&
	test_cmp expect out &&
	(cd_deep "$T" "$N" && cat keep && ls -A) >real &&
	printf "%s\n" keep again .wh.empty .wh.gdir .wh.gone .wh.mvf cpf keep moved >expect &&
	test_cmp expect real &&
	branch_untouched "$B"
'

# A tenant's branch (owned by the tenant) over the root-owned base, as the host
# runs it: the tenant's own directory (made for it in its branch) takes the deep
# tree; the base's deep tree is read.
test_expect_success HOST_USERS 'as a tenant: a deep tree in its own directory, the deep base read' '
	mkdir "$TT/own" &&
	chown "$AUFS_TENANT1" "$TT" "$TT/own" &&
	user_aufs_run "$AUFS_TENANT1" -o "br:$TT=rw:$B=ro" "$MT" -- sh -c "
		D=\$1/own/\$3 &&
		mkdir -p \"\$D\" && touch \"\$D/f\" && stat -c %s \"\$D/f\" && mv \"\$D/f\" \"\$D/g\" &&
		ln \"\$D/g\" \"\$D/h\" && rm \"\$D/g\" && mkdir \"\$D/d\" && rmdir \"\$D/d\" &&
		ls \"\$D\" && ls \"\$1/\$2\" && cat \"\$1/\$2/keep\"
	" sh "$MT" "$DEEP" "$FRESH" >out &&
	printf "%s\n" 0 h cpf empty gdir gone keep mvf keep >expect &&
	test_cmp expect out &&
	find "$TT" -mindepth 1 ! -user "$AUFS_TENANT1" >foreign &&
	test_must_be_empty foreign &&
	(cd_deep "$TT/own" "$F" && ls -A) >real &&
	echo h >expect &&
	test_cmp expect real &&
	branch_untouched "$B"
'

# The aufs rule (write permission by a directory's top-most copy, a file's own bits):
# the deep base directories are root's 0755 and its files 0644, so the tenant may
# change none of them, and nothing is copied up or whited out.
test_expect_success HOST_USERS 'as a tenant: root'"'"'s deep base entries are refused, nothing copied up' '
	user_aufs_run "$AUFS_TENANT1" -o "br:$TT=rw:$B=ro,nowarn_perm" "$MT" -- sh -c "
		for c in \"echo tenant >>cpf\" \"rm gone\" \"mv mvf moved\"; do
			(cd \"\$1/\$2\" && eval \"\$c\") 2>/dev/null && echo \"\$c: done\" ||
				echo \"\$c: refused\"
		done
		cd \"\$1/\$2\" && ls && cat cpf
	" sh "$MT" "$DEEP" >out &&
	printf "%s\n" "echo tenant >>cpf: refused" "rm gone: refused" "mv mvf moved: refused" \
		cpf empty gdir gone keep mvf base >expect &&
	test_cmp expect out &&
	find "$TT" -mindepth 1 ! -user "$AUFS_TENANT1" >foreign &&
	test_must_be_empty foreign &&
	branch_untouched "$B"
'

test_expect_success HOST_USERS 'as another tenant: the deep trees read through its own union' '
	user_aufs_run "$AUFS_TENANT2" -o "br:$TT=ro+wh:$B=ro" "$SHORT/w" -- sh -c "
		ls \"\$1/own/\$3\" && cat \"\$1/\$2/keep\" && ! touch \"\$1/\$2/x\" 2>/dev/null
	" sh "$SHORT/w" "$DEEP" "$FRESH" >out &&
	printf "%s\n" h keep >expect &&
	test_cmp expect out &&
	branch_untouched "$B"
'

# ---------------------------------------------------------------- names
# The union's NAME_MAX is 251: a whiteout ".wh.NAME" must fit in a branch's 255.
# (bind(2) cannot be asked: a sun_path holds 107 bytes.)
setup_branches nt nb
L255=$(printf '%0255d' 0 | tr 0 a)
echo long >"nb/$L255"
mkdir nb/d
snapshot_branch "$TRASH/nb"

cat >names.py <<\EOF
import errno, os, stat, sys

m = sys.argv[1]


def expect(err, f, *args):
    try:
        f(*args)
    except OSError as e:
        if e.errno != err:
            sys.exit("%s: %s, expected %s" % (f.__name__, errno.errorcode[e.errno],
                                              errno.errorcode[err]))
        return
    sys.exit("%s: succeeded, expected %s" % (f.__name__, errno.errorcode[err]))


def n(c, k):
    return m + "/d/" + c * k


# 251 bytes: every door takes it
os.close(os.open(n("o", 251), os.O_WRONLY | os.O_CREAT, 0o644))
os.mkdir(n("d", 251))
os.mknod(n("k", 251), stat.S_IFREG | 0o644)
os.mkfifo(n("f", 251))
os.symlink("o", n("s", 251))
os.link(n("o", 251), n("l", 251))
os.rename(n("l", 251), n("r", 251))
# 252 bytes: ENAMETOOLONG from each, nothing made
expect(errno.ENAMETOOLONG, os.open, n("O", 252), os.O_WRONLY | os.O_CREAT, 0o644)
expect(errno.ENAMETOOLONG, os.open, n("X", 252), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
expect(errno.ENAMETOOLONG, os.mkdir, n("D", 252))
expect(errno.ENAMETOOLONG, os.mknod, n("K", 252), stat.S_IFREG | 0o644)
expect(errno.ENAMETOOLONG, os.mkfifo, n("F", 252))
expect(errno.ENAMETOOLONG, os.symlink, "o", n("S", 252))
expect(errno.ENAMETOOLONG, os.link, n("o", 251), n("L", 252))
expect(errno.ENAMETOOLONG, os.rename, n("r", 251), n("R", 252))
# what statfs and pathconf say
assert os.statvfs(m).f_namemax == 251, os.statvfs(m).f_namemax
assert os.pathconf(m, "PC_NAME_MAX") == 251
# a lower name of 255 bytes: found, listed, read; removing it would need a whiteout
a = m + "/" + "a" * 255
assert os.stat(a).st_size == 5
assert "a" * 255 in os.listdir(m)
assert open(a).read() == "long\n"
expect(errno.ENAMETOOLONG, os.unlink, a)
expect(errno.ENAMETOOLONG, os.rename, a, m + "/short")
assert open(a).read() == "long\n"
print(len([x for x in os.listdir(m + "/d")]))
EOF

test_expect_success PYTHON 'names: 251 bytes for every create door, 252 is ENAMETOOLONG, statfs and pathconf say 251' '
	aufs_run -o "br:$TRASH/nt=rw:$TRASH/nb=ro" "$SHORT/n" -- "$PY" names.py "$SHORT/n" >out &&
	echo 6 >expect &&
	test_cmp expect out &&
	ls nt/d | awk "{ print length(\$0) }" | sort -u >lens &&
	echo 251 >expect &&
	test_cmp expect lens &&
	branch_untouched "$TRASH/nb"
'

test_expect_success 'names: a 255-byte base name is read by cat, rm refuses it and changes nothing' '
	ls -A nt >before &&
	aufs_run -o "br:$TRASH/nt=rw:$TRASH/nb=ro" "$SHORT/n" -- sh -c "
		cat \"\$1/\$2\" && ! rm -f \"\$1/\$2\" 2>err && cat err >&2 &&
		grep -q \"File name too long\" err && cat \"\$1/\$2\"
	" sh "$SHORT/n" "$L255" >out &&
	printf "long\nlong\n" >expect &&
	test_cmp expect out &&
	ls -A nt >after &&
	test_cmp before after &&
	branch_untouched "$TRASH/nb"
'

test_expect_success 'names: once copied up it stays readable and still cannot be removed' '
	aufs_run -o "br:$TRASH/nt=rw:$TRASH/nb=ro" "$SHORT/n" -- sh -c "
		echo more >>\"\$1/\$2\" && cat \"\$1/\$2\" && ! rm -f \"\$1/\$2\" 2>/dev/null
	" sh "$SHORT/n" "$L255" >out &&
	printf "long\nmore\n" >expect &&
	test_cmp expect out &&
	test_path_is_file "nt/$L255" &&
	branch_untouched "$TRASH/nb"
'

test_expect_success 'names: a long name only in the writable branch is removed (no whiteout needed)' '
	L254=$(printf "%0254d" 0 | tr 0 c) &&
	echo top >"nt/$L254" &&
	aufs_run -o "br:$TRASH/nt=rw:$TRASH/nb=ro" "$SHORT/n" -- rm "$SHORT/n/$L254" &&
	test_path_is_missing "nt/$L254" &&
	branch_untouched "$TRASH/nb"
'

# ---------------------------------------------------------------- the kernel overlay
overlay_ready

prereq_reason() {
	case $1 in
	OVERLAY) echo "${OVERLAY_WHY:-no overlay}" ;;
	HOST_USERS) echo "needs root and the users $AUFS_HOST_USERS (made by run.sh)" ;;
	PYTHON) echo "python3 is not installed" ;;
	*) echo "missing $1" ;;
	esac
}

# The same changes, from the merged root, through a kernel overlay of the same
# base (its upper layer as long as the union's) and through a new union; the
# merged views must be the same.
cat >changes.sh <<EOF
set -e
mkdir -p "$FRESH"
. "$TRASH/cd_deep.sh"
cd_deep . "$F"
touch f && mv f g && ln g h && rm g && mkdir d && rmdir d && echo new >n
cd "\$1"
cd_deep . "$N"
echo more >>cpf
rm gone
rm -r gdir
rmdir empty
mv mvf moved
ln keep keep2
EOF
# (an overlay reports 1 link for a merged directory, as t6001 notes: links of
# non-directories only)
cat >dump.sh <<\EOF
find . -printf '%p %y %m %l\n' | sort
find . ! -type d -printf '%p %s %n\n' | sort
find . -type f -exec md5sum {} + | sort -k 2
EOF

test_expect_success ROOT,OVERLAY 'the deep changes through the kernel overlay' '
	O=$PAD/o && mkdir -p "$O/upper" "$O/work" "$SHORT/o" &&
	unshare -m --propagation private sh -c "
		mount -t overlay overlay \
			-o lowerdir=\"$B\",upperdir=\"$O/upper\",workdir=\"$O/work\" \"$SHORT/o\" &&
		cd \"$SHORT/o\" && sh \"$TRASH/changes.sh\" \"$SHORT/o\" &&
		cd \"$SHORT/o\" && sh \"$TRASH/dump.sh\" >\"$TRASH/ovl.view\"
	" &&
	test_grep "^\./$DEEP/moved f 644 \$" ovl.view &&
	branch_untouched "$B"
'

test_expect_success ROOT,OVERLAY 'the same deep changes through the union: the same view' '
	mkdir "$PAD/v" &&
	aufs_run -o "br:$PAD/v=rw:$B=ro" "$SHORT/v" -- sh -c "
		cd \"\$1\" && sh \"$TRASH/changes.sh\" \"\$1\" && cd \"\$1\" && sh \"$TRASH/dump.sh\"
	" sh "$SHORT/v" >aufs.view &&
	test_line_count -gt 40 aufs.view &&
	test_cmp ovl.view aufs.view &&
	branch_untouched "$B"
'

test_done
