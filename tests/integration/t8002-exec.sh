#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='running programs that live in the union (exec family, PATH search, #!)'
. "$(dirname "$0")/lib.sh"

# base: bin/bscript (a #!/bin/sh script), bin/becho (a copy of echo, an ELF
#       binary), bin/viaunion (#! names an interpreter inside the union),
#       bin/noexec (mode 0644)
# top:  bin/tscript, bin/.wh.gone, and base has bin/gone
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/mnt
mkdir -p "$T/bin" "$BASE/bin" "$BASE/work"
printf '%s\n' '#!/bin/sh' 'echo "bscript $*"' >"$BASE/bin/bscript"
printf '%s\n' '#!/bin/sh' 'echo "tscript $*"' >"$T/bin/tscript"
printf '%s\n' '#!/bin/sh' 'echo "gone $*"' >"$BASE/bin/gone"
printf '%s\n' "#!$M/bin/becho via-union-interpreter" >"$BASE/bin/viaunion"
printf '%s\n' '#!/bin/sh' 'echo "noexec"' >"$BASE/bin/noexec"
for echo in /bin/echo /usr/bin/echo; do
	[ -x "$echo" ] && cp "$echo" "$BASE/bin/becho" && break
done
chmod 0755 "$BASE/bin/bscript" "$T/bin/tscript" "$BASE/bin/gone" "$BASE/bin/viaunion" "$BASE/bin/becho"
chmod 0644 "$BASE/bin/noexec"
mk_whiteout "$T/bin" gone
echo "work file" >"$BASE/work/file"
snapshot_branch "$T"
snapshot_branch "$BASE"
build_libc_probe

in_m() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- sh -c 'cd "$1" && eval "$2"' sh "$M" "$1"
}
UPATH=$M/bin:/usr/bin:/bin

test_expect_success 'the shell runs a base script and a base ELF binary by path' '
	in_m "\"$M/bin/bscript\" abs; bin/bscript rel; \"$M/bin/becho\" elf; cd bin && ./becho relelf && ./tscript top" >actual &&
	printf "%s\n" "bscript abs" "bscript rel" elf relelf "tscript top" >expect &&
	test_cmp expect actual
'

test_expect_success 'the shell finds base and top programs through PATH' '
	in_m "PATH=\"$UPATH\"; bscript a; becho b; tscript c; command -v bscript" >actual &&
	printf "%s\n" "bscript a" b "tscript c" "$M/bin/bscript" >expect &&
	test_cmp expect actual
'

test_expect_success 'whited-out and non-executable programs do not run' '
	in_m "PATH=\"$UPATH\"; gone; echo \$?; \"$M/bin/gone\"; echo \$?; \"$M/bin/noexec\"; echo \$?" >actual 2>err &&
	printf "%s\n" 127 127 126 >expect &&
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'system(3) and popen(3) run union programs (through /bin/sh)' '
	in_m "PATH=\"$UPATH\" \"$LIBC_PROBE\" system \"bscript sys\"; PATH=\"$UPATH\" \"$LIBC_PROBE\" popen \"becho pop\"" >actual &&
	printf "%s\n" "bscript sys" pop >expect &&
	test_cmp expect actual
'

# Known bug: only execve(2) is wrapped; glibc's execv, execl, execvp, execvpe,
# posix_spawn(p) call the kernel directly with the virtual path -> ENOENT for a
# program that lives in the union (even with an absolute path).
test_expect_success LIBC_PROBE 'execv(3) of a base program by absolute path' '
	in_m "\"$LIBC_PROBE\" execv \"$M/bin/bscript\" x" >actual &&
	echo "bscript x" >expect &&
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'execl(3) of a base program by absolute path' '
	in_m "\"$LIBC_PROBE\" execl \"$M/bin/becho\" x" >actual &&
	echo x >expect &&
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'execvp(3) finds a base program through PATH' '
	in_m "PATH=\"$UPATH\" \"$LIBC_PROBE\" execvp bscript y" >actual &&
	echo "bscript y" >expect &&
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'posix_spawnp(3) of a base program' '
	in_m "PATH=\"$UPATH\" \"$LIBC_PROBE\" posix_spawnp becho z" >actual &&
	echo z >expect &&
	test_cmp expect actual
'

test_expect_success 'env(1), xargs(1) and find -exec run base programs' '
	in_m "PATH=\"$UPATH\"; env bscript env; echo x | xargs bscript; find bin -name becho -exec {} find \\;" >actual &&
	printf "%s\n" "bscript env" "bscript x" "find" >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'python3 subprocess and os.execv run base programs' '
	in_m "PATH=\"$UPATH\" python3 -c \"
import os, subprocess, sys
sys.stdout.flush()
subprocess.run([\\\"bscript\\\", \\\"sub\\\"], check=True)
subprocess.run([\\\"$M/bin/becho\\\", \\\"abs\\\"], check=True)
os.execv(\\\"$M/bin/bscript\\\", [\\\"bscript\\\", \\\"execv\\\"])
\"" >actual &&
	printf "%s\n" "bscript sub" abs "bscript execv" >expect &&
	test_cmp expect actual
'

test_expect_success LIBC_PROBE 'the exec probes work outside the union (control)' '
	in_m "\"$LIBC_PROBE\" execv \"$BASE/bin/bscript\" x; PATH=\"$BASE/bin:/usr/bin:/bin\" \"$LIBC_PROBE\" execvp becho y; PATH=\"$BASE/bin:/usr/bin:/bin\" \"$LIBC_PROBE\" posix_spawnp bscript z" >actual &&
	printf "%s\n" "bscript x" y "bscript z" >expect &&
	test_cmp expect actual
'

# Known limitation: the kernel reads the #! line and looks the interpreter up
# itself, so an interpreter that exists only in the union is not found.
test_expect_success 'a #! interpreter that lives in the union' '
	in_m "\"$M/bin/viaunion\"" >actual &&
	echo "via-union-interpreter $M/bin/viaunion" >expect &&
	test_cmp expect actual
'

test_expect_success 'the virtual cwd survives exec (relative paths in the new program)' '
	in_m "cd work && sh -c \"pwd; cat file\" && perl -e \"print -e q(file) ? qq(yes\n) : qq(no\n)\"" >actual &&
	printf "%s\n" "$M/work" "work file" yes >expect &&
	test_cmp expect actual
'

test_expect_success 'the branches are untouched' '
	branch_untouched "$T" &&
	branch_untouched "$BASE"
'

test_done
