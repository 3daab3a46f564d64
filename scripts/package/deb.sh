#!/usr/bin/env bash
# Builds the Debian package: target/package/pivot_VERSION_amd64.deb with
# the static binary in /usr/bin, the man pages, bash/zsh/fish completions,
# the README's containerd and CRI-O snippets as examples and the changelog
# under /usr/share/doc/pivot (scripts/package/stage.sh). Needs only dpkg.
#
# usage: scripts/package/deb.sh      (prints the .deb's path last)
#   PIVOT_MAINTAINER   the Maintainer field (default "pivot maintainers <root@localhost>")
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=stage.sh
. scripts/package/stage.sh

version=$(pivot_version)
out=target/package
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/pivot
stage "$root"

date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
maintainer=${PIVOT_MAINTAINER:-pivot maintainers <root@localhost>}
{
    echo "pivot ($version) unstable; urgency=medium"
    echo
    echo "  * pivot $version; its changes are in /usr/share/doc/pivot/changelog.gz."
    echo
    echo " -- $maintainer  $date"
} | gzip -9n >"$root/usr/share/doc/pivot/changelog.Debian.gz"
chmod 0644 "$root/usr/share/doc/pivot/changelog.Debian.gz"

install -d -m 0755 "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: pivot
Version: $version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $size
Section: admin
Priority: optional
Suggests: criu
Description: OCI container runtime with runc's command line
 pivot creates and runs containers from OCI bundles. It takes runc's
 commands, flags, state JSON, log format and exit codes, so containerd's
 runc shim, CRI-O and podman run it as they run runc. One static binary.
CONTROL
mkdir -p "$out"
deb=$out/pivot_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
