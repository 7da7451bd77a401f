#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what `make check` needs on Debian 12: with apt-get when root, otherwise
# say exactly what to install and fail.
set -e
need=""
have_cmd() { command -v "$1" >/dev/null 2>&1; }
pkg-config --exists check 2>/dev/null || need="$need check"
have_cmd pkg-config || need="$need pkg-config"
have_cmd strace || need="$need strace"
have_cmd gcc || need="$need gcc"
have_cmd make || need="$need make"
have_cmd python3 || need="$need python3"
have_cmd php || need="$need php-cli"
# the extensions PHP loads with RTLD_DEEPBIND that t7007 runs on union paths
have_cmd php && { php -m 2>/dev/null | grep -qx imagick || need="$need php-imagick"; }
have_cmd php && { php -m 2>/dev/null | grep -qx zip || need="$need php-zip"; }
have_cmd sqlite3 || need="$need sqlite3"
have_cmd git || need="$need git"
have_cmd tar || need="$need tar"
have_cmd valgrind || need="$need valgrind"
have_cmd setfattr || need="$need attr"
have_cmd runuser || need="$need util-linux"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && have_cmd apt-get; then
	echo "deps: installing:$need"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null; }
	exit 0
fi
echo "deps: missing:$need" >&2
echo "deps: install them with: sudo apt-get install$need" >&2
exit 1
