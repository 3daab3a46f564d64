#!/usr/bin/env bash
# Builds the release tarball: target/package/pivot-VERSION-x86_64-linux.tar.gz
# holding pivot-VERSION/usr/... with what the Debian package installs
# (scripts/package/stage.sh). Install with
#   tar -xzf pivot-VERSION-x86_64-linux.tar.gz --strip-components=1 -C /
# or under /usr/local: ... --strip-components=2 -C /usr/local
#
# usage: scripts/package/tarball.sh   (prints the tarball's path last)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=stage.sh
. scripts/package/stage.sh

version=$(pivot_version)
out=target/package
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage "$work/pivot-$version"
mkdir -p "$out"
tarball=$out/pivot-$version-x86_64-linux.tar.gz
mtime=@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" \
    -czf "$tarball" "pivot-$version"
echo "$tarball"
