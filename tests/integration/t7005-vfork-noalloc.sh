#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='a vfork child on its way to a new program (exec*, posix_spawn*) allocates nothing'
. "$(dirname "$0")/lib.sh"

# A vfork child shares its parent's heap while the parent's other threads run:
# the exec shims must not malloc there, and the lookup cache (which mallocs)
# is only read. tests/helper/vfork-noalloc.c defines malloc, calloc, realloc
# and free, counts the calls the vfork child makes, and starts bin/utrue (a
# copy of true that exists only in the base branch, so only the union can run
# it) from the child by each door. "child allocations: 0" is the test.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/m
H=$AUFS_BUILD/helper
mkdir -p "$T" "$BASE/bin" "$BASE/d"
cp /bin/true "$BASE/bin/utrue"
echo x >"$BASE/d/x"
[ -x "$H/vfork-noalloc" ] || skip_all "the probe $H/vfork-noalloc is missing (run make)"

# noalloc ARGS: the probe in the union, with $M/bin first in PATH.
noalloc() {
	PATH=$M/bin:$PATH aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- "$H/vfork-noalloc" "$@"
}

expect_none() {
	printf '%s\n' 'child allocations: 0' 'child status: 0' >expect &&
	test_cmp expect actual
}

for mode in execve execvp posix_spawn posix_spawnp execveat; do
	case $mode in
	execve | posix_spawn) prog=$M/bin/utrue ;;
	*) prog=utrue ;;
	esac
	test_expect_success "vfork + $mode, cold cache: no allocation in the child" "
		noalloc $mode '$prog' '$BASE/bin' >actual &&
		expect_none
	"
	test_expect_success "vfork + $mode, warm cache: no allocation in the child" "
		noalloc -w '$M/d/x' $mode '$prog' '$BASE/bin' >actual &&
		expect_none
	"
done

# The kernel cwd in the top branch: the virtual cwd is $M, checked in the child.
test_expect_success 'vfork + execve of a relative name from a cwd in the union' '
	(cd "$T" && noalloc execve bin/utrue) >actual &&
	expect_none
'

test_done
