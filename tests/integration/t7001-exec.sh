#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='every libc door to a new program: exec*, posix_spawn*, system, popen'
. "$(dirname "$0")/lib.sh"

# Everything runnable lives only in the base branch:
#   bin/bscript    #!/bin/sh; prints $0, its arguments and $PROBE, then reads the union
#   bin/becho      a copy of echo (ELF)
#   bin/mysh       a copy of /bin/sh, an interpreter that exists only in the union
#   bin/noshebang  a shell script without "#!" (ENOEXEC: execvp falls back to /bin/sh)
#   bin/argscript  #!$M/bin/becho hello   (an interpreter argument)
#   bin/nested     #!$M/bin/argscript     (an interpreter that is itself a script)
#   bin/plain      mode 0644
#   notx/bscript   mode 0644 (a PATH entry to skip with EACCES)
#   sub/script.sh  #!$M/bin/mysh; reads "data" relative to its cwd
# and outside/ext.sh (outside every union) names $M/bin/mysh as its interpreter.
setup_branches top base
T=$TRASH/top
BASE=$TRASH/base
M=$TRASH/m
H=$AUFS_BUILD/helper
UPATH=$M/bin:/usr/bin:/bin
mkdir -p "$BASE/bin" "$BASE/notx" "$BASE/sub" "$TRASH/outside"
cp /bin/sh "$BASE/bin/mysh"
for echo in /bin/echo /usr/bin/echo; do
	[ -x "$echo" ] && cp "$echo" "$BASE/bin/becho" && break
done
printf '%s\n' '#!/bin/sh' 'echo "bscript $0 $* [${PROBE-}]"' "cat \"$M/f\"" >"$BASE/bin/bscript"
printf '%s\n' 'echo "noshebang $0 $*"' >"$BASE/bin/noshebang"
printf '%s\n' "#!$M/bin/becho hello" >"$BASE/bin/argscript"
printf '%s\n' "#!$M/bin/argscript" >"$BASE/bin/nested"
printf '%s\n' '#!/bin/sh' 'echo plain' >"$BASE/bin/plain"
printf '%s\n' '#!/bin/sh' 'echo "notx"' >"$BASE/notx/bscript"
printf '%s\n' "#!$M/bin/mysh" 'echo "script $0 $*"' 'cat data' >"$BASE/sub/script.sh"
printf '%s\n' "#!$M/bin/mysh" 'echo "ext $*"' >"$TRASH/outside/ext.sh"
echo "union file" >"$BASE/f"
echo "sub data" >"$BASE/sub/data"
echo "base victim" >"$BASE/sub/victim"
chmod 0755 "$BASE/bin/bscript" "$BASE/bin/becho" "$BASE/bin/mysh" "$BASE/bin/noshebang" \
	"$BASE/bin/argscript" "$BASE/bin/nested" "$BASE/sub/script.sh" "$TRASH/outside/ext.sh"
chmod 0644 "$BASE/bin/plain" "$BASE/notx/bscript"
snapshot_branch "$BASE"
for p in execv execvp execvpe execl execle execlp fexecve execveat posix_spawn posix_spawnp \
	system popen; do
	[ -x "$H/exec-$p" ] || skip_all "the probe $H/exec-$p is missing (run make)"
done
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

in_m() {
	aufs_run -o "br:$T=rw:$BASE=ro" "$M" -- "$@"
}

# expect_code N CMD...: CMD exits with status N.
expect_code() {
	_want=$1
	shift
	"$@"
	_st=$?
	if [ "$_st" != "$_want" ]; then
		echo "expect_code: exit status $_st, expected $_want: $*"
		return 1
	fi
}

test_expect_success 'execv(3): a base script by absolute path, $0 is its union name' '
	in_m "$H/exec-execv" "$M/bin/bscript" a b >actual &&
	printf "%s\n" "bscript $M/bin/bscript a b []" "union file" >expect &&
	test_cmp expect actual
'

test_expect_success 'execl(3): a base ELF binary' '
	in_m "$H/exec-execl" "$M/bin/becho" x y >actual &&
	echo "x y" >expect &&
	test_cmp expect actual
'

test_expect_success 'execle(3) with a scrubbed environment: the child still has the union' '
	in_m "$H/exec-execle" "$M/bin/bscript" e >actual &&
	printf "%s\n" "bscript $M/bin/bscript e [execle]" "union file" >expect &&
	test_cmp expect actual
'

test_expect_success 'execvp(3) searches PATH through the union, past ENOENT and EACCES' '
	in_m env "PATH=$M/nowhere:$M/sub:$M/notx:$UPATH" "$H/exec-execvp" bscript p >actual &&
	printf "%s\n" "bscript $M/bin/bscript p []" "union file" >expect &&
	test_cmp expect actual
'

test_expect_success 'execvpe(3): the PATH search with a scrubbed environment' '
	in_m env "PATH=$UPATH" "$H/exec-execvpe" bscript pe >actual &&
	printf "%s\n" "bscript $M/bin/bscript pe [execvpe]" "union file" >expect &&
	test_cmp expect actual
'

test_expect_success 'execlp(3): a script without #! runs through /bin/sh (ENOEXEC)' '
	in_m env "PATH=$UPATH" "$H/exec-execlp" noshebang lp >actual &&
	echo "noshebang $M/bin/noshebang lp" >expect &&
	test_cmp expect actual
'

test_expect_success 'missing and non-executable programs fail as natively' '
	expect_code 127 in_m env "PATH=$UPATH" "$H/exec-execvp" nosuch 2>err &&
	test_grep "No such file or directory" err &&
	expect_code 127 in_m env "PATH=$M/notx" "$H/exec-execvp" bscript 2>err &&
	test_grep "Permission denied" err &&
	expect_code 127 in_m "$H/exec-execv" "$M/bin/plain" 2>err &&
	test_grep "Permission denied" err &&
	expect_code 127 in_m "$H/exec-execv" "$M/bin/nosuch" 2>err &&
	test_grep "No such file or directory" err
'

test_expect_success '#! with an argument, and an interpreter that is itself a script' '
	in_m "$H/exec-execv" "$M/bin/argscript" x >actual &&
	in_m "$H/exec-execv" "$M/bin/nested" y >>actual &&
	printf "%s\n" "hello $M/bin/argscript x" "hello $M/bin/argscript $M/bin/nested y" >expect &&
	test_cmp expect actual
'

test_expect_success 'fexecve(3): a base ELF binary; a script whose interpreter is in the union' '
	in_m "$H/exec-fexecve" "$M/bin/becho" fx >actual &&
	in_m "$H/exec-fexecve" "$M/bin/argscript" fx2 >out &&
	sed "s|/dev/fd/[0-9]*|/dev/fd/N|" out >>actual &&
	printf "%s\n" fx "hello /dev/fd/N fx2" >expect &&
	test_cmp expect actual
'

test_expect_success 'execveat(2): a name relative to a union directory fd' '
	in_m "$H/exec-execveat" "$M/bin" bscript at >actual &&
	printf "%s\n" "bscript $M/bin/bscript at []" "union file" >expect &&
	test_cmp expect actual
'

test_expect_success 'posix_spawn(3) with a scrubbed environment, and after addchdir_np' '
	in_m "$H/exec-posix_spawn" "$M/bin/bscript" sp >actual &&
	in_m "$H/exec-posix_spawn" -C "$M/sub" ./script.sh chd >>actual &&
	printf "%s\n" "bscript $M/bin/bscript sp [posix_spawn]" "union file" \
		"script ./script.sh chd" "sub data" >expect &&
	test_cmp expect actual
'

test_expect_success 'posix_spawnp(3) with addopen: new and copied-up files land in the top branch' '
	in_m env "PATH=$UPATH" "$H/exec-posix_spawnp" -o "$M/sub/out" becho spawned &&
	in_m env "PATH=$UPATH" "$H/exec-posix_spawnp" -o "$M/sub/victim" becho over &&
	in_m cat "$M/sub/out" "$M/sub/victim" >actual &&
	printf "%s\n" spawned over >expect &&
	test_cmp expect actual &&
	test_path_is_file "$T/sub/out" &&
	test_path_is_missing "$BASE/sub/out" &&
	echo over >expect &&
	test_cmp expect "$T/sub/victim" &&
	echo "base victim" >expect &&
	test_cmp expect "$BASE/sub/victim"
'

test_expect_success 'system(3) and popen(3) after clearenv(): the shell still sees the union' '
	in_m "$H/exec-system" -c "echo \$PROBE; cat m/f" >actual &&
	in_m "$H/exec-popen" -c "echo \$PROBE; cat m/sub/data" >>actual &&
	printf "%s\n" system "union file" popen "sub data" >expect &&
	test_cmp expect actual
'

test_expect_success BASH 'bash: cd into the union and run a base script with a base interpreter' '
	in_m bash -c "cd \"$M/sub\" && ./script.sh bash" >actual &&
	printf "%s\n" "script ./script.sh bash" "sub data" >expect &&
	test_cmp expect actual
'

test_expect_success 'a script outside the union whose interpreter lives in the union' '
	in_m sh -c "\"$TRASH/outside/ext.sh\" o" >actual &&
	echo "ext o" >expect &&
	test_cmp expect actual
'

test_expect_success 'env -i: the library and the unions survive a scrubbed environment' '
	in_m env -i PATH=/usr/bin:/bin sh -c "cat m/f; cd m/sub && cat data" >actual &&
	printf "%s\n" "union file" "sub data" >expect &&
	test_cmp expect actual
'

test_expect_success 'AUFS_UNLOAD=1 opts out; a program that sets AUFS_MOUNTS keeps its own' '
	test_must_fail in_m env -i AUFS_UNLOAD=1 PATH=/usr/bin:/bin sh -c "cat m/f" &&
	in_m env -i "AUFS_MOUNTS=none $TRASH/m2 aufs br:$BASE/sub=ro 0 0" PATH=/usr/bin:/bin \
		sh -c "cat m2/data; test -e m/f || echo no m" >actual &&
	printf "%s\n" "sub data" "no m" >expect &&
	test_cmp expect actual
'

test_expect_success PYTHON 'python3: subprocess (vfork) with cwd= in the union, posix_spawn' '
	in_m env "PATH=$UPATH" $PY -c "
import os, subprocess, sys
subprocess.run([\"./script.sh\", \"py\"], cwd=\"$M/sub\", check=True)
subprocess.run([\"bscript\", \"sub\"], check=True)
pid = os.posix_spawn(\"$M/bin/bscript\", [\"bscript\", \"ps\"], {\"PROBE\": \"ps\"})
assert os.waitpid(pid, 0)[1] == 0
pid = os.posix_spawnp(\"becho\", [\"becho\", \"psp\"], os.environ, file_actions=[
    (os.POSIX_SPAWN_OPEN, 1, \"$M/sub/pyout\", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)])
assert os.waitpid(pid, 0)[1] == 0
print(open(\"$M/sub/pyout\").read().strip())
sys.stdout.flush()
os.execv(\"$M/bin/bscript\", [\"bscript\", \"execv\"])
" >actual &&
	printf "%s\n" "script ./script.sh py" "sub data" "bscript $M/bin/bscript sub []" \
		"union file" "bscript $M/bin/bscript ps [ps]" "union file" psp \
		"bscript $M/bin/bscript execv []" "union file" >expect &&
	test_cmp expect actual
'

test_expect_success 'find -exec {} +, find -execdir and xargs run union programs' '
	in_m sh -c "cd \"$M\" && PATH=\"$UPATH\" && export PATH &&
		find bin -type f -name \"b*\" -exec ls {} + &&
		echo x | xargs bscript &&
		find sub -name script.sh -execdir {} find \\;" >actual &&
	printf "%s\n" bin/becho bin/bscript "bscript $M/bin/bscript x []" "union file" \
		"script ./script.sh find" "sub data" >expect &&
	test_cmp expect actual
'

test_expect_success 'xargs with 20000 arguments: a base script still gets its union name' '
	seq 1 20000 >nums &&
	in_m sh -c "xargs -s 1000000 \"$M/bin/bscript\" <nums" >out &&
	head -n 1 out | cut -d " " -f 1-3 >actual &&
	echo "bscript $M/bin/bscript 1" >expect &&
	test_cmp expect actual &&
	head -n 1 out | grep -q " 20000 \[\]$"
'

test_expect_success 'the base branch is untouched' '
	branch_untouched "$BASE"
'

test_done
