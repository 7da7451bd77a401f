#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='shared state that no other user can block, and that does not pile up: objects planted at every predictable name are never followed nor trusted and never stop the owner; unions that ended leave no segment behind'
. "$(dirname "$0")/lib.sh"

# The host: a base owned by root (0755), the tenant's branch and fstab owned by
# aufs-tenant1, aufs-tenant2 the other local user who plants things, aufs-www the
# web server. The host table's image goes to AUFS_TABLE_DIR (lib.sh: sticky and
# open to all, as /dev/shm). The predictable names are the image's,
# DIR/aufs-table.UID.HASH, and the state's link, BRANCH/.wh..wh.aufs.shm.HASH
# (aufs-preload(7), SHARED STATE; aufsctl(8), TRUST). What needs the host's users
# is skipped unprivileged (pass 2): only root can be three users.
host_users_ready || true
SHM_PROBE=$AUFS_BUILD/helper/shm-probe
if [ "$AUFS_BUILD" = "$AUFS_ROOT/build" ]; then
	AUFSCTL=$AUFS_ROOT/bin/aufsctl
else
	AUFSCTL=$AUFS_BUILD/aufsctl
fi
if test_have_prereq HOST_USERS; then
	TENANT=$AUFS_TENANT1 OTHER=$AUFS_TENANT2 WWW=$AUFS_WWW
else
	TENANT=$ME OTHER=$ME WWW=$ME
fi

setup_branches base t1 etc
BASE=$TRASH/base T1=$TRASH/t1 M=$TRASH/m M2=$TRASH/m2 FSTAB=$TRASH/etc/fstab
mkdir "$M" "$M2" "$BASE/w" "$TRASH/other"
echo base-f >"$BASE/f"
echo base-g >"$BASE/w/g"
chmod -R a+rX,go-w "$BASE"
U="br:$T1=rw:$BASE=ro,nowarn_perm"
echo "none $M aufs $U 0 0" >"$FSTAB"
if test_have_prereq HOST_USERS; then
	chown -R "$TENANT:" "$T1" "$BASE/w" "$TRASH/etc"
	chown "$OTHER:" "$TRASH/other"
fi
IMG=$(as "$TENANT" "$AUFSCTL" image "$FSTAB")
reader_script

# plant KIND PATH: another user's KIND (file, link, fifo, dir) at PATH. The link
# points to a file of that user: following it would show in its contents.
plant() {
	case $1 in
	file) as "$OTHER" sh -c 'echo planted >"$0"' "$2" ;;
	link) as "$OTHER" sh -c 'echo planted >"$0" && ln -s "$0" "$1"' "$TRASH/other/bait" "$2" ;;
	fifo) as "$OTHER" mkfifo "$2" ;;
	dir) as "$OTHER" mkdir "$2" ;;
	esac
}

# planted_untouched KIND PATH: still the other user's KIND, never written through.
planted_untouched() {
	test "$(stat -c %U "$2")" = "$OTHER" || return 1
	case $1 in
	file) test -f "$2" && ! test -L "$2" && test "$(cat "$2")" = planted ;;
	link) test -L "$2" && test "$(cat "$TRASH/other/bait")" = planted ;;
	fifo) test -p "$2" ;;
	dir) test -d "$2" && ! test -L "$2" && test_must_be_empty_dir "$2" ;;
	esac
}

test_must_be_empty_dir() {
	test -z "$(ls -A "$1")"
}

# fallbacks: the images beside IMG.
fallbacks() {
	ls -d "$IMG".* 2>/dev/null | grep -v '\.tmp\.'
}

# clean_images: as a fresh host (the images of this file only).
clean_images() {
	rm -rf "$IMG" "$IMG".* "$TRASH/other/bait"
}

for kind in file link fifo dir; do
	test_expect_success HOST_USERS "another user's $kind at the image's name: the tenant's union works, the image goes beside it, the $kind is never followed" '
		clean_images &&
		plant $kind "$IMG" &&
		run_as "$TENANT" --fstab "$FSTAB" -- cat "$M/f" >out 2>err &&
		echo base-f >expect &&
		test_cmp expect out &&
		cat err &&
		test_line_count = 1 err &&
		test_grep "^aufs-run: $IMG: .* of uid $(id -u "$OTHER"), which this user cannot replace; the image is $IMG\.[0-9a-f]\{16\}\$" err &&
		fallbacks >fb &&
		test_line_count = 1 fb &&
		test "$(stat -c "%U %a" "$(cat fb)")" = "$TENANT 644" &&
		# the next runs use it, silently, whoever runs them
		run_as "$TENANT" --fstab "$FSTAB" -- cat "$M/f" >out 2>err &&
		test_cmp expect out && test_must_be_empty err &&
		run_as "$WWW" --fstab "$FSTAB" -- cat "$M/f" >out 2>err &&
		test_cmp expect out && test_must_be_empty err &&
		as "$WWW" "$AUFSCTL" check "$FSTAB" >out &&
		test_grep "^$(cat fb): ok, 1 union, describes $FSTAB\$" out &&
		as "$WWW" "$AUFSCTL" image "$FSTAB" >out &&
		test "$(cat out)" = "$(cat fb)" &&
		# aufsctl load writes over the same fallback: never a second one
		as "$TENANT" "$AUFSCTL" load "$FSTAB" >out 2>err &&
		test_grep "image $(cat fb)," out &&
		fallbacks >fb2 && test_cmp fb fb2 &&
		planted_untouched $kind "$IMG"
	'
done

test_expect_success HOST_USERS 'a fallback planted by another user is refused: never trusted, never in the way' '
	clean_images &&
	plant file "$IMG" &&
	# a whole, valid image of the other user, at a fallback name
	cp "$FSTAB" "$TRASH/other/fstab" && chown "$OTHER:" "$TRASH/other/fstab" &&
	as "$OTHER" "$AUFSCTL" load --image "$TRASH/other/img" "$TRASH/other/fstab" >/dev/null &&
	as "$OTHER" cp "$TRASH/other/img" "$IMG.0123456789abcdef" &&
	as "$OTHER" mkfifo "$IMG.fedcba9876543210" &&
	run_as "$WWW" --fstab "$FSTAB" -- cat "$M/f" >out 2>err &&
	echo base-f >expect && test_cmp expect out &&
	# refused: the web server compiled the table itself, and said so
	test_grep "compiled privately" err &&
	! as "$WWW" "$AUFSCTL" check "$FSTAB" >/dev/null 2>&1 &&
	run_as "$TENANT" --fstab "$FSTAB" -- cat "$M/f" >out 2>err &&
	test_cmp expect out &&
	fallbacks | xargs -n1 stat -c %U | sort | uniq -c >owners &&
	test_grep "1 $TENANT\$" owners &&
	as "$WWW" "$AUFSCTL" check "$FSTAB" >out &&
	test_grep "ok, 1 union" out &&
	as "$OTHER" rm -f "$IMG.0123456789abcdef" "$IMG.fedcba9876543210"
'

test_expect_success HOST_USERS 'through the fallback image, the web server sees what the tenant writes at its next call' '
	state_hold pool "$TENANT" "$M" --fstab "$FSTAB" &&
	reader_start "$WWW" r-www --fstab "$FSTAB" &&
	expect r-www base-f read "$M/f" &&
	expect r-www missing stat "$M/w/new" &&
	expect r-www missing stat "$M/w/new" &&
	run_as "$TENANT" --fstab "$FSTAB" -- sh -c "echo from-tenant >\"\$0\"" "$M/w/new" &&
	expect r-www from-tenant read "$M/w/new" &&
	run_as "$TENANT" --fstab "$FSTAB" -- rm "$M/w/g" &&
	expect r-www missing stat "$M/w/g" &&
	reader_stop r-www &&
	test_must_be_empty r-www/err &&
	# one state, the tenant'"'"'s, that both mapped
	id=$("$SHM_PROBE" id "$T1"/.wh..wh.aufs.shm.*) &&
	"$SHM_PROBE" info "$id" >info &&
	test_grep "^uid=$(id -u "$TENANT") cuid=$(id -u "$TENANT") mode=0644 " info &&
	state_release pool
'

# (the reader: the shell that aufs-run became)
test_expect_success HOST_USERS 'once the name is free, the next write puts the image there; the fallback goes, running processes follow' '
	reader_start "$WWW" r-follow --fstab "$FSTAB" &&
	expect r-follow base-f read "$M/f" &&
	sh=$(pgrep -u "$WWW" -xf "sh $TRASH/reader.sh $TRASH/r-follow") &&
	old=$(fallbacks) &&
	test -n "$old" &&
	grep -F " $old" "/proc/$sh/maps" &&
	! grep " $IMG\$" "/proc/$sh/maps" &&
	as "$OTHER" rm -rf "$IMG" &&
	as "$TENANT" "$AUFSCTL" reload "$FSTAB" >out 2>err &&
	test_must_be_empty err &&
	test_grep "image $IMG," out &&
	test "$(stat -c %U "$IMG")" = "$TENANT" &&
	test -z "$(fallbacks)" &&
	test_path_is_missing "$old" &&
	# told the fallback was superseded, the reader maps the image at its name
	expect r-follow base-f read "$M/f" &&
	grep " $IMG\$" "/proc/$sh/maps" &&
	reader_stop r-follow &&
	test_must_be_empty r-follow/err
'

test_expect_success HOST_USERS 'no other user can make anything at the name of the state'"'"'s link' '
	state_hold pool "$TENANT" "$M" -o "$U" "$M" &&
	link=$(echo "$T1"/.wh..wh.aufs.shm.*) &&
	target=$(readlink "$link") &&
	state_release pool &&
	as "$TENANT" rm "$link" &&
	! as "$OTHER" ln -s shmid:1 "$link" 2>/dev/null &&
	! as "$OTHER" mkfifo "$link" 2>/dev/null &&
	! as "$OTHER" sh -c "echo x >\"\$0\"" "$link" 2>/dev/null &&
	! as "$WWW" ln -s shmid:1 "$link" 2>/dev/null &&
	test_path_is_missing "$link" &&
	# nor through the union: its .wh. names are the union'"'"'s own
	! run_as "$OTHER" -o "$U" "$M" -- ln -s shmid:1 "$M/${link##*/}" 2>/dev/null &&
	! run_as "$OTHER" -o "$U" "$M" -- mkfifo "$M/${link##*/}" 2>/dev/null &&
	test_path_is_missing "$link" &&
	test -n "$target"
'

# A union's state lives while a process maps it. Each run below records the segment
# its process mapped (from inside); once the run ended that segment is gone.
test_expect_success 'running and ending 20 unions leaves no segment behind' '
	: >ids &&
	for k in $(seq 1 20); do
		mkdir -p "$TRASH/n$k/top" "$TRASH/n$k/m" &&
		echo "n$k" >"$TRASH/n$k/top/f" &&
		aufs_run -o "br:$TRASH/n$k/top=rw:$BASE=ro,nowarn_perm" "$TRASH/n$k/m" -- \
			sh -c "read -r x <\"\$0/f\" && echo \$x >\"\$0/copy\" &&
				\"\$1\" id \"\$2\"/.wh..wh.aufs.shm.* &&
				\"\$1\" info \"\$(\"\$1\" id \"\$2\"/.wh..wh.aufs.shm.*)\" >/dev/null" \
			"$TRASH/n$k/m" "$SHM_PROBE" "$TRASH/n$k/top" >>ids || return 1
	done &&
	test_line_count = 20 ids &&
	test "$(sort -u ids | wc -l)" = 20 &&
	while read -r id; do
		if "$SHM_PROBE" info "$id" >/dev/null; then
			echo "segment $id outlived its union"
			return 1
		fi
	done <ids &&
	test "$(cat "$TRASH/n20/top/copy")" = n20
'

test_expect_success 'a host table run 20 times keeps one image and no temporary' '
	echo "none $M aufs $U 0 0" >"$TRASH/own-fstab" &&
	own=$("$AUFSCTL" image "$TRASH/own-fstab") &&
	for k in $(seq 1 20); do
		aufs_run --fstab "$TRASH/own-fstab" -- cat "$M/f" >/dev/null || return 1
		# a change of the fstab every fifth run: a new image replaces the old
		if [ $((k % 5)) = 0 ]; then echo "# $k" >>"$TRASH/own-fstab"; fi
	done &&
	ls -d "$own"* >images &&
	cat images &&
	echo "$own" >expect &&
	test_cmp expect images
'

test_done
