#!/usr/bin/env bash
# Installs what scripts/containerd/run.sh needs, with apt-get: containerd
# (Debian 12: 1.6.x, with ctr and containerd-shim-runc-v2), busybox-static
# for the image, util-linux's script(1) for the tty case, gcc for the
# subreaper. Idempotent: a second call only checks. Starts no service:
# run.sh starts its own containerd on a private socket.
#
# usage: scripts/containerd/setup.sh        (as root)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { printf 'containerd setup: %s\n' "$*" >&2; }
if [ "$(id -u)" != 0 ]; then
    echo "containerd setup: must run as root" >&2
    exit 1
fi

# shellcheck source=../lib/apt.sh
. "$(dirname "$0")/../lib/apt.sh"
apt_install_missing "containerd setup" containerd busybox-static util-linux bsdutils gcc libc6-dev tar coreutils

# The containerd package must bring these three.
for b in containerd ctr containerd-shim-runc-v2; do
    if ! command -v "$b" >/dev/null; then
        echo "containerd setup: $b: not installed (package containerd: $(dpkg-query -W -f='${Version}' containerd 2>/dev/null || echo missing))" >&2
        exit 1
    fi
done
for b in busybox script gcc sha256sum tar; do
    command -v "$b" >/dev/null || { echo "containerd setup: $b: not installed" >&2; exit 1; }
done
if ! busybox --list >/dev/null 2>&1 ||
    ! (LC_ALL=C ldd "$(command -v busybox)" 2>&1 || true) | grep -qE "not a dynamic|statically linked"; then
    echo "containerd setup: $(command -v busybox) is not the static busybox (package busybox-static)" >&2
    exit 1
fi
