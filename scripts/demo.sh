#!/bin/sh
# SPDX-License-Identifier: MIT
# The demo of `make demo`: one read-only base install shared by a tenant whose
# writable branch adds an upload and a theme, overrides one file and deletes
# another (a whiteout). The tenant sees the merged tree; the base is untouched.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/aufs-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
# the union's table of inode numbers and aufs-run's session file go with the demo's files
export AUFS_XINO_DIR="$dir/state" AUFS_TABLE_DIR="$dir/state"
mkdir -m 1777 "$dir/state"
base=$dir/cms-base tenant=$dir/tenant1 mnt=$dir/www/tenant1
mkdir -p "$dir/www" "$base/wp-content/themes/default" "$base/wp-admin" "$tenant/wp-content/uploads" \
	"$tenant/wp-content/themes/custom"
printf '%s\n' '<?php echo "base index";' >"$base/index.php"
echo '<?php // sample config' >"$base/wp-config-sample.php"
echo 'body { color: black }' >"$base/wp-content/themes/default/style.css"
echo 'admin' >"$base/wp-admin/index.php"
echo 'readme of the base' >"$base/readme.html"
echo '<?php $db = "tenant1";' >"$tenant/wp-config.php"
echo 'body { color: teal }' >"$tenant/wp-content/themes/custom/style.css"
echo 'an uploaded picture' >"$tenant/wp-content/uploads/cat.jpg"
printf '%s\n' '<?php echo "tenant index";' >"$tenant/index.php"
: >"$tenant/.wh..wh.aufs"
ln "$tenant/.wh..wh.aufs" "$tenant/.wh.readme.html"	# the tenant deleted readme.html
before=$(find "$base" -type f -exec md5sum {} + | sort)

echo "== base:   $base (read-only branch)"
echo "== tenant: $tenant (writable branch)"
echo "== union:  $mnt = br:$tenant=rw:$base=ro"
echo
set -x
"$root/bin/aufs-run" -o "br:$tenant=rw:$base=ro" "$mnt" -- sh -c "
	cd '$mnt' && ls -la && find . -type f | sort && cat index.php &&
	test ! -e readme.html && echo 'readme.html is whited out' &&
	echo 'a new upload' > wp-content/uploads/new.txt && cat wp-content/uploads/new.txt"
set +x
echo
echo "== on disk, the new upload landed in the tenant branch:"
ls "$tenant/wp-content/uploads"
after=$(find "$base" -type f -exec md5sum {} + | sort)
[ "$before" = "$after" ] && echo "== the base branch is byte-for-byte untouched"
