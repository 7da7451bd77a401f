#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='stress: crash consistency under SIGKILL, concurrency against a model, the branch symlink race, resource limits'
. "$(dirname "$0")/lib.sh"

# The short form of make stress (a few seconds, in make check). make stress runs
# this file with STRESS=full: 1,000 crash rounds, 60 s of 16 processes x 8 threads.
# The programs are tests/stress/*.c; their summaries are printed as TAP comments.
if [ "${STRESS:-}" = full ]; then
	ROUNDS=${STRESS_ROUNDS:-1000}
	SECONDS_CONC=${STRESS_SECONDS:-60}
	SECONDS_RACE=${STRESS_RACE_SECONDS:-20}
else
	ROUNDS=${STRESS_ROUNDS:-50}
	SECONDS_CONC=${STRESS_SECONDS:-5}
	SECONDS_RACE=${STRESS_RACE_SECONDS:-2}
fi
S=$AUFS_BUILD/stress
STRESS_PRELOAD=$(aufs_preload)
export STRESS_PRELOAD S TEST_TMP
host_users_ready || true

# show FILE: its lines as comments of the TAP stream (the counts make stress reports).
show() {
	[ -f "$TEST_TMP/$1" ] && comment <"$TEST_TMP/$1"
	return 0
}

# ---------------------------------------------------------------- crash consistency
# tests/stress/crash.c: each round one operation in a child killed by SIGKILL at a
# random moment inside it (a kernel timer; the window is the operation's measured
# duration); the view must then be the old one or the new one, the base unchanged.
test_expect_success 'crash: copy-up, rewrite, rename, truncate, unlink, rmdir killed at random: old or new, never partial' '
	mkdir crash &&
	"$S/crash" run "$TRASH/crash" "$ROUNDS" append,rewrite,rename,truncate,unlink,rmdir \
		>"$TEST_TMP/crash.out" &&
	grep "^crash: .* 0 violations; base byte-identical$" "$TEST_TMP/crash.out"
'
show crash.out

# Issue 16 item 1: mkdir over a whiteout builds the directory under a hidden
# temporary name with its opaque marker and renames it into place: a kill at any
# moment shows either no directory or an empty one.
test_expect_success 'crash: mkdir over the whiteout of a base directory killed at random: no deleted content back' '
	mkdir crash-mkdir &&
	"$S/crash" run "$TRASH/crash-mkdir" $((ROUNDS / 5 + 20)) mkdir >"$TEST_TMP/crash-mkdir.out" &&
	grep "^crash: .* 0 violations; base byte-identical$" "$TEST_TMP/crash-mkdir.out"
'
show crash-mkdir.out

# ---------------------------------------------------------------- concurrency
# tests/stress/conc.c: 16 processes x 8 threads of create/append/rename/unlink/
# mkdir/rmdir/readdir on one union directory, each thread against a model of its
# own names; four shared logs in the base take concurrent appends (and copy-ups).
setup_branches conc-base conc-top conc-m
test_expect_success 'concurrency: 16 processes x 8 threads against a model: no lost or torn append, no .wh. name, no unexpected errno' '
	"$S/conc" setup "$TRASH/conc-base" 16 8 &&
	snapshot_branch "$TRASH/conc-base" &&
	aufs_run -o "br:$TRASH/conc-top=rw:$TRASH/conc-base=ro" "$TRASH/conc-m" -- \
		"$S/conc" run "$TRASH/conc-m" "$TRASH/conc-top" 16 8 "$SECONDS_CONC" \
		>"$TEST_TMP/conc.out" &&
	grep "^conc: .* 0 errors$" "$TEST_TMP/conc.out" &&
	branch_untouched "$TRASH/conc-base"
'
show conc.out

# ---------------------------------------------------------------- the symlink race
# Issue 16 item 2. A tenant exchanges a directory of its branch with a symlink
# "../secret" (renameat2 RENAME_EXCHANGE, in a loop) while another process writes
# through the union in that directory: creates, copy-ups, whiteouts, mkdir,
# rename, chmod, truncate and symlink in turn (tests/stress/symrace.c). Through the union the symlink leads
# to www/secret, which does not exist; the kernel, walking the real path the union
# resolved, follows it to tenants/secret: a directory of root's beside the branch,
# which the tenant cannot write. Every file there is a write of the victim's
# landing outside every branch. The union makes every write through directories
# opened from the branch root without following a symlink (src/core/mutate_beneath.c):
# the swapped-in symlink makes that create fail with ELOOP instead.
#
# symrace_run ATTACKER...: the attacker's command prefix (as_user USER, or nothing).
# R (race): the scratch tree; SUB (d): the directory of the branch the attacker
# swaps and the writer writes in; OWN: what the attacker owns (the whole branch by
# default; "d" with SUB=d/e: a tenant's directory in a branch root of root's).
symrace_run() {
	R=${R:-race} SUB=${SUB:-d}
	up=$(echo "$SUB" | sed 's|[^/]*|..|g')
	mkdir -p $R/cms/$SUB $R/tenants/t1/$SUB $R/tenants/secret $R/www/t1 &&
	ln -s "$up/secret" $R/tenants/t1/$SUB.lnk &&
	# the base files the writer copies up, whites out, renames, chmods, truncates
	(cd $R/cms/$SUB && for k in $(seq 0 999); do
		for p in b u r c t; do echo base >$p.$k; done
	done) || return 1
	base_sum=$(cd $R/cms && find . -type f -exec md5sum {} + | sort | md5sum)
	if [ $# -gt 0 ]; then
		chown -R "$2" $R/tenants/t1/${OWN:-} || return 1
	else
		# One user alone races only itself, which gains it nothing, and the union
		# then names paths (src/core/mutate_beneath.c, closed directories): a
		# branch its group may write stands for another user who can swap.
		chmod g+w $R/tenants/t1/${OWN:-} || return 1
	fi
	# only the tenant's loop in the background: the layout is made first
	"$@" "$S/symrace" swap $R/tenants/t1/$SUB $R/tenants/t1/$SUB.lnk "$SECONDS_RACE" \
		>"$TEST_TMP/swap.out" &
	aufs_run -o "br:$TRASH/$R/tenants/t1=rw:$TRASH/$R/cms=ro" "$TRASH/$R/www/t1" -- \
		"$S/symrace" write "$TRASH/$R/www/t1/$SUB" "$SECONDS_RACE" >"$TEST_TMP/write.out" \
		2>"$TEST_TMP/write.err"
	echo $? >"$TEST_TMP/write.rc"
	wait
	cat "$TEST_TMP/write.err"
	n=$(ls -A $R/tenants/secret | wc -l)
	test "$(cd $R/cms && find . -type f -exec md5sum {} + | sort | md5sum)" = "$base_sum" ||
		{ echo "symlink race: the base changed"; return 1; }
	echo "symlink race: $(cat "$TEST_TMP/write.out") through the union in ${SECONDS_RACE} s," \
		"$(cat "$TEST_TMP/swap.out") by the tenant; $n entries outside the branches" \
		>"$TEST_TMP/race.out"
	cat "$TEST_TMP/race.out"
	test "$n" = 0
}

# The writer itself must come through the race whole (exit 0, no sanitizer
# report, files made): else the count above would prove nothing.
writer_survived() {
	cat "$TEST_TMP/write.err" &&
	test "$(cat "$TEST_TMP/write.rc")" = 0 &&
	grep "^[1-9][0-9]* writes made" "$TEST_TMP/write.out"
}

test_expect_success HOST_USERS 'symlink race: a tenant swapping a directory for a symlink never makes root write outside the branches' '
	symrace_run as_user "$AUFS_TENANT1"
'
show race.out
test_expect_success HOST_USERS 'symlink race: root'"'"'s writer comes through the race whole' '
	writer_survived
'
rm -f "$TEST_TMP/race.out" "$TEST_TMP/write.out" "$TEST_TMP/write.rc"

test_expect_success !HOST_USERS 'symlink race: a directory swapped for a symlink never makes a write land outside the branches' '
	symrace_run
'
show race.out
test_expect_success !HOST_USERS 'symlink race: the writer comes through the race whole' '
	writer_survived
'
rm -f "$TEST_TMP/race.out" "$TEST_TMP/write.out" "$TEST_TMP/write.rc"

# A tenant's directory in a branch root of root's: root's writes in d name their
# paths (nobody else can move d), but those in d/e, whose parent the tenant may
# write, still go through descriptors: the swap of d/e must not redirect them.
test_expect_success HOST_USERS 'symlink race: a tenant directory in a root branch root, its subdirectory swapped: root never writes outside' '
	R=race2 SUB=d/e OWN=d symrace_run as_user "$AUFS_TENANT1"
'
show race.out
test_expect_success HOST_USERS 'symlink race: root'"'"'s writer comes through that race whole' '
	writer_survived
'

# ---------------------------------------------------------------- resource limits
# A small tmpfs as the top branch (a private mount namespace, root): a copy-up that
# does not fit fails as the kernel does, and leaves the view and the base as they were.
enospc_run() {
	mkdir enospc &&
	"$S/crash" setup "$TRASH/enospc" &&
	mkdir -p enospc/base/deep/er &&
	head -c 400000 /dev/zero >enospc/base/deep/er/big &&
	snapshot_branch "$TRASH/enospc/base" &&
	unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=256k tmpfs enospc/top || exit 3
		AUFS_MOUNTS="none $TRASH/enospc/m aufs br:$TRASH/enospc/top=rw:$TRASH/enospc/base=ro 0 0" \
			LD_PRELOAD="$STRESS_PRELOAD" "$S/crash" op append "$TRASH/enospc/m" -1 \
			>/dev/null 2>"$TEST_TMP/enospc.err"
		echo $? >"$TEST_TMP/enospc.rc"
		AUFS_MOUNTS="none $TRASH/enospc/m aufs br:$TRASH/enospc/top=rw:$TRASH/enospc/base=ro 0 0" \
			LD_PRELOAD="$STRESS_PRELOAD" cmp "$TRASH/enospc/m/app" "$TRASH/enospc/base/app" \
			>"$TEST_TMP/enospc.cmp" 2>&1
		echo $? >>"$TEST_TMP/enospc.rc"
		ls -A enospc/top >"$TEST_TMP/enospc.top"
		# a copy-up that had to make its directories first
		AUFS_MOUNTS="none $TRASH/enospc/m aufs br:$TRASH/enospc/top=rw:$TRASH/enospc/base=ro 0 0" \
			LD_PRELOAD="$STRESS_PRELOAD" sh -c "echo x >>\"\$1\"" sh \
			"$TRASH/enospc/m/deep/er/big" 2>"$TEST_TMP/enospc.deep.err"
		echo $? >"$TEST_TMP/enospc.deep.rc"
		(cd enospc/top && find . -mindepth 1 -name ".wh..wh.aufs*" -prune -o -print) \
			>"$TEST_TMP/enospc.deep.top"
	'
}

unshare_ready() {
	test_have_prereq ROOT && have_cmd unshare &&
		unshare -m --propagation private sh -c 'mkdir -p probe && mount -t tmpfs tmpfs probe' \
			2>/dev/null && test_set_prereq TMPFS_MOUNT
	rmdir probe 2>/dev/null
	return 0
}
unshare_ready

test_expect_success ROOT,TMPFS_MOUNT 'ENOSPC: a copy-up that does not fit a small tmpfs fails, the view and the base unchanged' '
	enospc_run &&
	cat "$TEST_TMP/enospc.err" &&
	printf "1\n0\n" >expect &&
	test_cmp expect "$TEST_TMP/enospc.rc" &&
	branch_untouched "$TRASH/enospc/base"
'

# Issue 16 item 3: the copy-up reports what the kernel says (ENOSPC), not EIO.
test_expect_success ROOT,TMPFS_MOUNT 'ENOSPC: the error of a copy-up on a full branch is ENOSPC, as the kernel says' '
	test_grep "No space left on device" "$TEST_TMP/enospc.err"
'

# A failed copy-up removes its temporary (a killed one cannot: crash.c counts those).
test_expect_success ROOT,TMPFS_MOUNT 'ENOSPC: the failed copy-up leaves no temporary in the branch' '
	cat "$TEST_TMP/enospc.top" &&
	! grep "^\.wh\.\.wh\.cpup" "$TEST_TMP/enospc.top"
'

# Issue 16 item 4: the directories a failed copy-up made for it go with it.
test_expect_success ROOT,TMPFS_MOUNT 'ENOSPC: a failed copy-up takes away the directories it made' '
	cat "$TEST_TMP/enospc.deep.err" "$TEST_TMP/enospc.deep.top" &&
	test "$(cat "$TEST_TMP/enospc.deep.rc")" != 0 &&
	test_grep "No space left on device" "$TEST_TMP/enospc.deep.err" &&
	test_must_be_empty "$TEST_TMP/enospc.deep.top" &&
	branch_untouched "$TRASH/enospc/base"
'

# RLIMIT_NOFILE of 20, every descriptor taken but FREE: an operation the kernel
# does without a descriptor (FREE 0), or with the one open() gives back (FREE 1),
# must not fail with EMFILE. nofile_op OP FREE: run it on a fresh layout.
# nofile_op OP FREE [HARD]: HARD, the hard limit (the soft one is 20).
nofile_op() {
	_d=nofile-$1${3:+-hard$3}	# its own layout: the base of one is read-only to the next
	rm -rf "$_d" && mkdir "$_d" &&
	"$S/crash" setup "$TRASH/$_d" &&
	STRESS_NOFILE=20 STRESS_NOFILE_HARD=${3:-20} STRESS_FREE_FDS=$2 \
		AUFS_MOUNTS="none $TRASH/$_d/m aufs br:$TRASH/$_d/top=rw:$TRASH/$_d/base=ro 0 0" \
		LD_PRELOAD="$STRESS_PRELOAD" "$S/crash" op "$1" "$TRASH/$_d/m" -1 >/dev/null
}

test_expect_success 'RLIMIT_NOFILE 20: unlink of a base file with no descriptor free' '
	nofile_op unlink 0
'
# mkdir makes its opaque marker with mknodat: no descriptor. The others need
# descriptors the kernel does not: a copy-up reads one file and writes another
# (rename and truncate of a base file), rmdir lists the directory to know it is
# empty in the union (aufs-preload(7), LIMITATIONS). Known breakages.
test_expect_success "RLIMIT_NOFILE 20: mkdir with no descriptor free" "
	nofile_op mkdir 0
"
for op in rename truncate rmdir; do
	test_expect_failure "RLIMIT_NOFILE 20: $op with no descriptor free" "
		nofile_op $op 0
	"
done
for op in append rewrite; do
	test_expect_failure "RLIMIT_NOFILE 20: $op of a base file (a copy-up) with one descriptor free" "
		nofile_op $op 1
	"
done
# Below a hard limit that leaves room (a server's soft 1024 under a hard 524288), the
# copy-up raises the soft limit for its own descriptors and puts it back.
for op in rename truncate append rewrite; do
	test_expect_success "RLIMIT_NOFILE 20 of a hard 64: $op of a base file with no descriptor free" "
		nofile_op $op 0 64
	"
done

test_done
